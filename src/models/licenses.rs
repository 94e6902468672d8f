use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::licenses;

stored_text_enum! {
    pub enum LicenseKind {
        /// Seats for license users, who activate with e-mail and password.
        UserBased = "user_based",
        /// Seats for computers, which activate with the license key.
        ComputerBased = "computer_based",
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = licenses)]
pub struct License {
    pub id: String,
    pub license_key: String,
    pub order_id: String,
    pub product_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: LicenseKind,
    pub seats: i32,
    pub suspended: bool,
    pub offline_allowed: bool,
    pub lease_seconds: i32,
    pub starts_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Users (user-based) or active devices (computer-based): see
    /// `licensing::seats`. Changed only by the use cases that change those.
    pub seats_held: i32,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = licenses)]
pub struct LicenseChangeset {
    pub seats: Option<i32>,
    /// `Some(None)` makes the license perpetual.
    pub expires_at: Option<Option<NaiveDateTime>>,
    pub suspended: Option<bool>,
    pub offline_allowed: Option<bool>,
    pub lease_seconds: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}
