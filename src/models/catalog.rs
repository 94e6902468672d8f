use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{customers, products};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: String,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChangeset {
    pub code: Option<String>,
    pub name: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: String,
    pub company: String,
    pub contact_name: String,
    pub email: String,
    pub address: String,
    pub country: String,
    pub vat_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct CustomerChangeset {
    pub company: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub vat_id: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}
