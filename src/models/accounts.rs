use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::accounts;

stored_text_enum! {
    pub enum Role {
        /// Vendor staff.
        Admin = "admin",
        /// A license manager on the customer's side.
        Manager = "manager",
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The customer an account created through a manager is bound to: it can
    /// be linked only to that customer's orders (see `licensing::linking`).
    pub bound_customer_id: Option<String>,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    /// `Role::as_str` of the account's role.
    pub role: &'a str,
    pub password_hash: &'a str,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub bound_customer_id: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = accounts)]
pub struct AccountChangeset {
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
    /// `Some(None)` releases the binding.
    pub bound_customer_id: Option<Option<String>>,
}
