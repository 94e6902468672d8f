//! Devices of computer-based licenses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::devices;
use crate::models::seats::{DEVICE_ACTIVE, DEVICE_DEACTIVATED, Device};

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
            StatusFilter::Active => query.filter(devices::status.eq(DEVICE_ACTIVE)),
            StatusFilter::Deactivated => query.filter(devices::status.eq(DEVICE_DEACTIVATED)),
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
    diesel::insert_into(devices::table).values(device).execute(conn).map(|_| ())
}

/// Deactivates a device. An online device's seat is free at once; a device
/// that was given an offline license file keeps its seat until its last file
/// runs out (`valid_until`) — the file keeps working offline — unless `force`.
/// Deactivating twice changes nothing, except that `force` frees a seat still
/// held by a file. The activation token is kept, so it answers `NOT_ACTIVATED`.
pub fn deactivate(conn: &mut AnyConnection, device: &Device, force: bool, now: NaiveDateTime) -> QueryResult<Device> {
    let release_at = match device.valid_until {
        Some(until) if !force && until > now => until,
        _ => now,
    };
    if device.status == DEVICE_DEACTIVATED {
        let still_held = device.seat_released_at.is_some_and(|t| t > now);
        if force && still_held {
            diesel::update(devices::table.find(&device.id))
                .set((devices::seat_released_at.eq(now), devices::updated_at.eq(now)))
                .execute(conn)?;
        }
    } else {
        diesel::update(devices::table.find(&device.id))
            .set((
                devices::status.eq(DEVICE_DEACTIVATED),
                devices::deactivated_at.eq(now),
                devices::seat_released_at.eq(release_at),
                devices::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    devices::table.find(&device.id).select(Device::as_select()).first(conn)
}
