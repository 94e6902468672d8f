//! The `devices` table: the computers of computer-based licenses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::{devices, licenses};
use crate::models::licenses::License;
use crate::models::seats::{Device, DeviceStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSort {
    ActivatedAt,
    LastSeenAt,
    Hostname,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Deactivated,
    All,
}

/// The devices of a license; `q` over hardware id and hostname.
#[allow(clippy::too_many_arguments)]
pub fn list(
    conn: &mut AnyConnection,
    license_id: &str,
    status: StatusFilter,
    offline: Option<bool>,
    q: Option<&str>,
    sort: Sort<DeviceSort>,
    page: PageRequest,
) -> QueryResult<Page<Device>> {
    let filtered = || {
        let mut query = devices::table.filter(devices::license_id.eq(license_id.to_owned())).into_boxed();
        query = match status {
            StatusFilter::Active => query.filter(devices::status.eq(DeviceStatus::Active.as_str())),
            StatusFilter::Deactivated => query.filter(devices::status.eq(DeviceStatus::Deactivated.as_str())),
            StatusFilter::All => query,
        };
        if let Some(offline) = offline {
            query = query.filter(devices::offline.eq(offline));
        }
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(devices::hardware_id).like(pattern.clone()).escape('\\').or(lower(
                    devices::hostname.assume_not_null(),
                )
                .like(pattern)
                .escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select(Device::as_select());
    // Never-seen devices and missing hostnames sort last ascending, first descending.
    let query = match (sort.field, sort.descending) {
        (DeviceSort::ActivatedAt, false) => query.order((devices::activated_at.asc(), devices::id.asc())),
        (DeviceSort::ActivatedAt, true) => query.order((devices::activated_at.desc(), devices::id.desc())),
        (DeviceSort::LastSeenAt, false) => {
            query.order((devices::last_seen_at.is_null().asc(), devices::last_seen_at.asc(), devices::id.asc()))
        }
        (DeviceSort::LastSeenAt, true) => {
            query.order((devices::last_seen_at.is_null().desc(), devices::last_seen_at.desc(), devices::id.desc()))
        }
        (DeviceSort::Hostname, false) => query.order((
            devices::hostname.is_null().asc(),
            lower(devices::hostname.assume_not_null()).asc(),
            devices::id.asc(),
        )),
        (DeviceSort::Hostname, true) => query.order((
            devices::hostname.is_null().desc(),
            lower(devices::hostname.assume_not_null()).desc(),
            devices::id.desc(),
        )),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}

pub fn find(conn: &mut AnyConnection, license_id: &str, device_id: &str) -> QueryResult<Option<Device>> {
    devices::table
        .filter(devices::license_id.eq(license_id))
        .filter(devices::id.eq(device_id))
        .select(Device::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut AnyConnection, device: &Device) -> QueryResult<()> {
    diesel::insert_into(devices::table).values(device.clone()).execute(conn).map(|_| ())
}

/// The SQL form of the second half of `licensing::seats::holds_seat`: a
/// deactivated device whose seat is released only after `now` (its offline
/// license file still runs). Reached through `devices_license_seat_release`.
#[diesel::dsl::auto_type]
pub fn held_after_deactivation(now: NaiveDateTime) -> _ {
    let active: &'static str = DeviceStatus::Active.as_str();
    devices::status.ne(active).and(devices::seat_released_at.gt(now))
}

/// The device stored under this token digest, with its license.
/// (The hot path's lookups by a unique key read with `get_result`, not
/// `first`: SQLite plans with a bound LIMIT's value and so re-prepares the
/// statement each time it is rebound — a parse per validation.)
pub fn by_token(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<(Device, License)>> {
    devices::table
        .inner_join(licenses::table)
        .filter(devices::token_hash.eq(token_hash))
        .select((Device::as_select(), License::as_select()))
        .get_result(conn)
        .optional()
}

/// The device with `hardware_id` on the license with this (normalized) key, with the license.
pub fn by_key(conn: &mut AnyConnection, key: &str, hardware_id: &str) -> QueryResult<Option<(Device, License)>> {
    devices::table
        .inner_join(licenses::table)
        .filter(licenses::license_key.eq(key))
        .filter(devices::hardware_id.eq(hardware_id))
        .select((Device::as_select(), License::as_select()))
        .get_result(conn)
        .optional()
}

/// The license's device with this hardware id.
pub fn by_hardware_id(conn: &mut AnyConnection, license_id: &str, hardware_id: &str) -> QueryResult<Option<Device>> {
    devices::table
        .filter(devices::license_id.eq(license_id))
        .filter(devices::hardware_id.eq(hardware_id))
        .select(Device::as_select())
        .first(conn)
        .optional()
}

pub fn set_last_seen(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(devices::table.find(id)).set(devices::last_seen_at.eq(now)).execute(conn).map(|_| ())
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

pub fn update(conn: &mut AnyConnection, id: &str, changes: &DeviceActivation<'_>) -> QueryResult<Device> {
    diesel::update(devices::table.find(id)).set(changes).execute(conn)?;
    devices::table.find(id).select(Device::as_select()).first(conn)
}

/// Marks a device deactivated at `now`, its seat free at `seat_released_at`.
pub fn mark_deactivated(
    conn: &mut AnyConnection,
    id: &str,
    seat_released_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Device> {
    diesel::update(devices::table.find(id))
        .set((
            devices::status.eq(DeviceStatus::Deactivated.as_str()),
            devices::deactivated_at.eq(now),
            devices::seat_released_at.eq(seat_released_at),
            devices::updated_at.eq(now),
        ))
        .execute(conn)?;
    devices::table.find(id).select(Device::as_select()).first(conn)
}

/// Frees the seat a deactivated device still holds, at `now`.
pub fn release_seat(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> QueryResult<Device> {
    diesel::update(devices::table.find(id))
        .set((devices::seat_released_at.eq(now), devices::updated_at.eq(now)))
        .execute(conn)?;
    devices::table.find(id).select(Device::as_select()).first(conn)
}
