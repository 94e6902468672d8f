//! Seat accounting. A user-based license's seats are its users; a
//! computer-based license's seats are the devices that hold one: active ones,
//! and deactivated ones whose offline license file still runs
//! (`seat_released_at` in the future).
//!
//! Counting them must not grow with the license: the license row carries
//! `seats_held` (its users, or its active devices), moved by [`taken`] and
//! [`freed`] in the transaction that adds or removes the user or activates or
//! deactivates the device, under the license's row lock. The deactivated
//! devices still holding a seat are counted through an index that reaches only
//! them (`repositories::licenses::seats_used`; `devices::held_after_deactivation`
//! is the SQL form of [`holds_seat`] for them, and `tests/api/rules_in_sql.rs`
//! holds the two equal). Every API test recounts the counters when its
//! server stops (`tests/api/helpers.rs`).

use chrono::NaiveDateTime;

use super::error::{Contact, Error, Result, SeatsExhausted};
use crate::db::AnyConnection;
use crate::models::licenses::License;
use crate::models::seats::{Device, DeviceStatus};
use crate::repositories::{licenses, orders};

/// Whether a device row holds a seat at `now`.
pub fn holds_seat(device: &Device, now: NaiveDateTime) -> bool {
    device.status == DeviceStatus::Active || device.seat_released_at.is_some_and(|t| t > now)
}

/// One more seat on `license`, with `used` taken: refused when all are taken,
/// naming who can free one.
pub fn take_one(license: &License, used: i64, managers: impl FnOnce() -> Vec<Contact>) -> Result<()> {
    if used < i64::from(license.seats) {
        return Ok(());
    }
    Err(Error::SeatsExhausted(Box::new(SeatsExhausted {
        license_id: license.id.clone(),
        seats: license.seats,
        used,
        managers: managers(),
    })))
}

/// A seat of `license_id` was taken: a user added, a device activated that was not active.
pub fn taken(conn: &mut AnyConnection, license_id: &str) -> Result<()> {
    Ok(licenses::add_seats_held(conn, license_id, 1)?)
}

/// A seat of `license_id` held by a user or an active device was freed (a
/// deactivated device's offline file may keep holding it until it runs out).
pub fn freed(conn: &mut AnyConnection, license_id: &str) -> Result<()> {
    Ok(licenses::add_seats_held(conn, license_id, -1)?)
}

/// Seats in use on a locked `license` at `now`.
pub fn used(conn: &mut AnyConnection, license: &License, now: NaiveDateTime) -> Result<i64> {
    Ok(licenses::seats_used_one(conn, license, now)?)
}

/// Who can free a seat of `license`: the enabled managers of its order.
pub fn contacts(conn: &mut AnyConnection, license: &License) -> Vec<Contact> {
    orders::managers(conn, &license.order_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.disabled)
        .map(|a| Contact { name: a.name, email: a.email })
        .collect()
}

/// A new seat count for a license with `used` taken: never below what is in use.
pub fn resize(wanted: i32, used: i64) -> Result<()> {
    if i64::from(wanted) < used { Err(Error::SeatsInUse { used, wanted }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn license(seats: i32) -> License {
        License { seats, ..crate::licensing::test_license(crate::models::licenses::LicenseKind::ComputerBased) }
    }

    #[test]
    fn the_last_seat_is_taken_and_then_none_is_left() {
        assert!(take_one(&license(2), 1, Vec::new).is_ok());
        let Err(Error::SeatsExhausted(full)) =
            take_one(&license(2), 2, || vec![Contact { name: "M".into(), email: "m@x.example".into() }])
        else {
            panic!("refused")
        };
        assert_eq!((full.seats, full.used, full.managers.len()), (2, 2, 1));
    }

    #[test]
    fn seats_never_shrink_below_use() {
        assert!(resize(3, 3).is_ok());
        assert!(matches!(resize(2, 3), Err(Error::SeatsInUse { used: 3, wanted: 2 })));
    }
}
