//! What takes a seat: license users (user-based), their temporary activations,
//! and devices (computer-based).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{devices, license_files, license_users, user_activations};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = license_users)]
pub struct LicenseUser {
    pub id: String,
    pub license_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = license_users)]
pub struct LicenseUserChangeset {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_activations)]
pub struct UserActivation {
    pub id: String,
    pub license_user_id: String,
    pub license_id: String,
    pub hardware_id: String,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub app_version: Option<String>,
    pub token_hash: String,
    pub activated_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub lease_expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
}

stored_text_enum! {
    pub enum DeviceStatus {
        /// Holds a seat and validates.
        Active = "active",
        /// Ended; may still hold its seat until its last offline file runs out.
        Deactivated = "deactivated",
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: String,
    pub license_id: String,
    pub hardware_id: String,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub app_version: Option<String>,
    pub offline: bool,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: DeviceStatus,
    pub token_hash: Option<String>,
    pub activated_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub deactivated_at: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub seat_released_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = license_files)]
pub struct LicenseFile {
    pub id: String,
    pub device_id: String,
    pub issued_at: NaiveDateTime,
    pub valid_until: NaiveDateTime,
}
