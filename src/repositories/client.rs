//! The queries of the client API. The validate path uses exactly one indexed
//! lookup (token digest, or key + hardware id) joined to its license.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::{devices, license_files, license_users, licenses, user_activations};
use crate::models::licenses::License;
use crate::models::seats::{DEVICE_ACTIVE, Device, LicenseFile, LicenseUser, UserActivation};

/// How stale `last_seen_at` may get before a validation refreshes it; keeps
/// the hot path read-only almost always.
pub const TOUCH_AFTER_SECONDS: i64 = 300;

pub fn license_by_key(conn: &mut AnyConnection, key: &str) -> QueryResult<Option<License>> {
    licenses::table.filter(licenses::license_key.eq(key)).select(License::as_select()).first(conn).optional()
}

pub fn device_by_token(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<(Device, License)>> {
    devices::table
        .inner_join(licenses::table)
        .filter(devices::token_hash.eq(token_hash))
        .select((Device::as_select(), License::as_select()))
        .first(conn)
        .optional()
}

pub fn device_by_key(conn: &mut AnyConnection, key: &str, hardware_id: &str) -> QueryResult<Option<(Device, License)>> {
    devices::table
        .inner_join(licenses::table)
        .filter(licenses::license_key.eq(key))
        .filter(devices::hardware_id.eq(hardware_id))
        .select((Device::as_select(), License::as_select()))
        .first(conn)
        .optional()
}

pub fn activation_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> QueryResult<Option<(UserActivation, License)>> {
    user_activations::table
        .inner_join(licenses::table)
        .filter(user_activations::token_hash.eq(token_hash))
        .select((UserActivation::as_select(), License::as_select()))
        .first(conn)
        .optional()
}

pub fn device(conn: &mut AnyConnection, license_id: &str, hardware_id: &str) -> QueryResult<Option<Device>> {
    devices::table
        .filter(devices::license_id.eq(license_id))
        .filter(devices::hardware_id.eq(hardware_id))
        .select(Device::as_select())
        .first(conn)
        .optional()
}

/// Refreshes `last_seen_at` when it is older than [`TOUCH_AFTER_SECONDS`].
pub fn touch_device(conn: &mut AnyConnection, device: &Device, now: NaiveDateTime) -> QueryResult<()> {
    if device.last_seen_at.is_none_or(|t| now - t > TimeDelta::seconds(TOUCH_AFTER_SECONDS)) {
        diesel::update(devices::table.find(&device.id)).set(devices::last_seen_at.eq(now)).execute(conn)?;
    }
    Ok(())
}

/// The fields an activation (re)writes on a device row.
#[derive(AsChangeset)]
#[diesel(table_name = devices, treat_none_as_null = true)]
pub struct DeviceActivation<'a> {
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub app_version: Option<&'a str>,
    pub offline: bool,
    pub status: &'a str,
    pub token_hash: Option<&'a str>,
    pub activated_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub deactivated_at: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub seat_released_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub fn update_device(conn: &mut AnyConnection, id: &str, changes: &DeviceActivation<'_>) -> QueryResult<Device> {
    diesel::update(devices::table.find(id)).set(changes).execute(conn)?;
    devices::table.find(id).select(Device::as_select()).first(conn)
}

pub fn insert_license_file(conn: &mut AnyConnection, file: &LicenseFile) -> QueryResult<()> {
    diesel::insert_into(license_files::table).values(file).execute(conn).map(|_| ())
}

/// Users with this (lower-case) e-mail, with their licenses; only of the
/// license with `key` when given. At most `limit`.
pub fn users_by_email(
    conn: &mut AnyConnection,
    email: &str,
    key: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(LicenseUser, License)>> {
    let mut query =
        license_users::table.inner_join(licenses::table).filter(license_users::email.eq(email.to_owned())).into_boxed();
    if let Some(key) = key {
        query = query.filter(licenses::license_key.eq(key.to_owned()));
    }
    query
        .order(license_users::created_at.asc())
        .limit(limit)
        .select((LicenseUser::as_select(), License::as_select()))
        .load(conn)
}

/// The user's open activation (its lease may have run out).
pub fn open_activation(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<UserActivation>> {
    user_activations::table
        .filter(user_activations::license_user_id.eq(user_id))
        .filter(user_activations::ended_at.is_null())
        .select(UserActivation::as_select())
        .first(conn)
        .optional()
}

pub fn insert_activation(conn: &mut AnyConnection, activation: &UserActivation) -> QueryResult<()> {
    diesel::insert_into(user_activations::table).values(activation).execute(conn).map(|_| ())
}

/// Ends an open activation; false when it had ended already.
pub fn end_activation(conn: &mut AnyConnection, id: &str, now: NaiveDateTime, reason: &str) -> QueryResult<bool> {
    let n = diesel::update(user_activations::table.find(id).filter(user_activations::ended_at.is_null()))
        .set((user_activations::ended_at.eq(now), user_activations::end_reason.eq(reason)))
        .execute(conn)?;
    Ok(n == 1)
}

/// A new token and lease for a live activation (re-activation on the same machine).
#[allow(clippy::too_many_arguments)]
pub fn renew_activation(
    conn: &mut AnyConnection,
    id: &str,
    token_hash: &str,
    hostname: Option<&str>,
    platform: Option<&str>,
    app_version: Option<&str>,
    lease_expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<UserActivation> {
    diesel::update(user_activations::table.find(id).filter(user_activations::ended_at.is_null()))
        .set((
            user_activations::token_hash.eq(token_hash),
            user_activations::hostname.eq(hostname),
            user_activations::platform.eq(platform),
            user_activations::app_version.eq(app_version),
            user_activations::lease_expires_at.eq(lease_expires_at),
            user_activations::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    user_activations::table.find(id).select(UserActivation::as_select()).first(conn)
}

/// Extends an open, unexpired lease; false when the activation ended or ran
/// out meanwhile.
pub fn extend_lease(conn: &mut AnyConnection, id: &str, until: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        user_activations::table
            .find(id)
            .filter(user_activations::ended_at.is_null())
            .filter(user_activations::lease_expires_at.gt(now)),
    )
    .set((user_activations::lease_expires_at.eq(until), user_activations::last_seen_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether a device row holds a seat now.
pub fn holds_seat(device: &Device, now: NaiveDateTime) -> bool {
    device.status == DEVICE_ACTIVE || device.seat_released_at.is_some_and(|t| t > now)
}
