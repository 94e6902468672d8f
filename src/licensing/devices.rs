//! The portal's use cases on the computers of computer-based licenses.

use chrono::NaiveDateTime;
use serde_json::json;

use super::activation::deactivate_device;
use super::error::{Error, KindMismatch, Result};
use crate::db::{AnyConnection, LockableTable, lock_row_for_update};
use crate::models::licenses::{License, LicenseKind};
use crate::models::seats::{Device, DeviceStatus};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::scope::Scope;
use crate::repositories::{devices, licenses};

/// The computer-based license `id`, if `scope` sees it.
pub fn license_of(conn: &mut AnyConnection, scope: &Scope, id: &str) -> Result<License> {
    let license = licenses::find_in_scope(conn, scope, id)?.ok_or(Error::NotFound)?;
    if license.kind != LicenseKind::ComputerBased {
        return Err(Error::WrongLicenseKind(KindMismatch::DevicesNeedComputerBased));
    }
    Ok(license)
}

/// One device of a computer-based license `scope` sees.
pub fn find(conn: &mut AnyConnection, scope: &Scope, license_id: &str, device_id: &str) -> Result<Device> {
    license_of(conn, scope, license_id)?;
    devices::find(conn, license_id, device_id)?.ok_or(Error::NotFound)
}

/// A manager or admin deactivates an orphaned device so its seat can be
/// used elsewhere; only an admin may `force` an offline device's seat free
/// before its license file runs out. Recorded when something changed.
pub fn deactivate(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    is_admin: bool,
    (license_id, device_id): (&str, &str),
    force: bool,
    now: NaiveDateTime,
) -> Result<Device> {
    lock_row_for_update(conn, LockableTable::Licenses, license_id)?;
    let license = license_of(conn, scope, license_id)?;
    let device = devices::find(conn, license_id, device_id)?.ok_or(Error::NotFound)?;
    if force && !is_admin {
        return Err(Error::ForceNeedsAdmin);
    }
    let was_active = device.status == DeviceStatus::Active;
    let held_before = device.seat_released_at.is_some_and(|t| t > now);
    let after = deactivate_device(conn, &device, force, now)?;
    let released_now = after.seat_released_at.is_some_and(|t| t <= now);
    if was_active || (held_before && released_now) {
        let target = Target {
            order_id: Some(&license.order_id),
            license_id: Some(license_id),
            subject_id: Some(device_id),
            hardware_id: Some(&after.hardware_id),
        };
        let details = json!({ "offline": after.offline, "force": force, "seat_released_at": after.seat_released_at.map(crate::clock::utc) });
        audit::record(conn, ctx, now, "device.deactivated", target, details)?;
    }
    Ok(after)
}
