//! The software's use cases: activate a computer or a license user,
//! heartbeat, deactivate; offline activation and deactivation by request file.
//! Each runs inside one write transaction (`conn`), at `now`, and locks the
//! license row before it counts seats.

use chrono::NaiveDateTime;
use serde_json::json;

use super::error::{About, Error, KindMismatch, Result};
use super::leases::{self, Windows};
use super::seats;
use super::signing::LicenseSigner;
use super::status::gate;
use super::tokens::{self, Token};
use super::{keys, offline};
use crate::db::{AnyConnection, LockableTable, lock_row_for_update};
use crate::ids;
use crate::models::licenses::{License, LicenseKind};
use crate::models::seats::{Device, DeviceStatus, LicenseFile, LicenseUser, UserActivation};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::devices::{self as device_rows, DeviceActivation};
use crate::repositories::licenses::{self, LicenseRow};
use crate::repositories::scope::Scope;
use crate::repositories::{activations, license_files, license_users};

/// The computer's identity and description, as the software sent them.
#[derive(Clone, Debug)]
pub struct Machine {
    pub hardware_id: String,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub app_version: Option<String>,
}

/// A description field of a re-activation: what the software sent, or, when
/// it left the field out, what was stored before.
pub fn kept<'a>(sent: Option<&'a str>, stored: Option<&'a str>) -> Option<&'a str> {
    sent.or(stored)
}

/// A started (or renewed) activation: the token to hand out once, and what the answer shows.
pub struct Activated {
    pub token: String,
    pub license: LicenseRow,
    pub device: Option<Device>,
    pub user: Option<(LicenseUser, UserActivation)>,
    /// How long the software may trust this answer offline.
    pub valid_until: NaiveDateTime,
}

/// Locks the license and re-reads it (the row may have changed meanwhile).
fn lock_license(conn: &mut AnyConnection, id: &str) -> Result<License> {
    lock_row_for_update(conn, LockableTable::Licenses, id)?;
    licenses::find_row(conn, id)?.ok_or(Error::InvalidCredentials)
}

fn license_row(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> Result<LicenseRow> {
    licenses::find(conn, &Scope::All, id, now)?.ok_or(Error::Storage(crate::db::DbError::NotFound))
}

fn record_device(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    license: &License,
    device: &Device,
    action: &str,
    now: NaiveDateTime,
    details: serde_json::Value,
) -> Result<()> {
    let target = Target {
        order_id: Some(&license.order_id),
        license_id: Some(&license.id),
        subject_id: Some(&device.id),
        hardware_id: Some(&device.hardware_id),
    };
    Ok(audit::record(conn, ctx, now, action, target, details)?)
}

/// Takes (or keeps) a seat for `machine` on a locked computer-based license:
/// the same hardware id keeps its seat; a new one needs a free seat.
/// Answers the device and whether it was not active before.
fn take_device_seat(
    conn: &mut AnyConnection,
    license: &License,
    machine: &Machine,
    offline: bool,
    token_hash: Option<&str>,
    now: NaiveDateTime,
) -> Result<(Device, bool)> {
    let existing = device_rows::by_hardware_id(conn, &license.id, &machine.hardware_id)?;
    if !existing.as_ref().is_some_and(|d| seats::holds_seat(d, now)) {
        let used = seats::used(conn, license, now)?;
        seats::take_one(license, used, || seats::contacts(conn, license))?;
    }
    let was_active = existing.as_ref().is_some_and(|d| d.status == DeviceStatus::Active);
    if !was_active {
        seats::taken(conn, &license.id)?;
    }
    let stored = |f: fn(&Device) -> Option<&str>| existing.as_ref().and_then(f);
    let changes = DeviceActivation {
        hostname: kept(machine.hostname.as_deref(), stored(|d| d.hostname.as_deref())),
        platform: kept(machine.platform.as_deref(), stored(|d| d.platform.as_deref())),
        app_version: kept(machine.app_version.as_deref(), stored(|d| d.app_version.as_deref())),
        offline,
        status: DeviceStatus::Active.as_str(),
        // A new token replaces the old; an ended activation's token never comes back.
        token_hash: token_hash.or(existing.as_ref().filter(|_| was_active).and_then(|d| d.token_hash.as_deref())),
        activated_at: existing.as_ref().filter(|_| was_active).map_or(now, |d| d.activated_at),
        last_seen_at: Some(now),
        deactivated_at: None,
        valid_until: existing.as_ref().and_then(|d| d.valid_until),
        seat_released_at: None,
        updated_at: now,
    };
    let device = match &existing {
        Some(d) => device_rows::update(conn, &d.id, &changes)?,
        None => {
            let device = Device {
                id: ids::new_id(),
                license_id: license.id.clone(),
                hardware_id: machine.hardware_id.clone(),
                hostname: machine.hostname.clone(),
                platform: machine.platform.clone(),
                app_version: machine.app_version.clone(),
                offline,
                status: DeviceStatus::Active,
                token_hash: token_hash.map(str::to_owned),
                activated_at: now,
                last_seen_at: Some(now),
                deactivated_at: None,
                valid_until: None,
                seat_released_at: None,
                created_at: now,
                updated_at: now,
            };
            device_rows::insert(conn, &device)?;
            device
        }
    };
    Ok((device, !was_active))
}

/// Deactivates a device. An online device's seat is free at once; a device
/// that was given an offline license file keeps its seat until its last file
/// runs out (`valid_until`) — the file keeps working offline — unless `force`.
/// Deactivating twice changes nothing, except that `force` frees a seat still
/// held by a file. The activation token is kept, so it answers `NOT_ACTIVATED`.
/// The caller holds the license's row lock and read `device` under it.
pub fn deactivate_device(conn: &mut AnyConnection, device: &Device, force: bool, now: NaiveDateTime) -> Result<Device> {
    if device.status != DeviceStatus::Active {
        let still_held = device.seat_released_at.is_some_and(|t| t > now);
        if force && still_held {
            return Ok(device_rows::release_seat(conn, &device.id, now)?);
        }
        return Ok(device.clone());
    }
    let release_at = match device.valid_until {
        Some(until) if !force && until > now => until,
        _ => now,
    };
    seats::freed(conn, &device.license_id)?;
    Ok(device_rows::mark_deactivated(conn, &device.id, release_at, now)?)
}

/// Activates `machine` on the computer-based license with `key` (normalized).
pub fn activate_device(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    windows: Windows,
    key: &str,
    machine: &Machine,
    now: NaiveDateTime,
) -> Result<Activated> {
    let found = licenses::by_key(conn, key)?.ok_or(Error::InvalidCredentials)?;
    if found.kind != LicenseKind::ComputerBased {
        return Err(Error::invalid("email", "a user-based license activates with email and password"));
    }
    let license = lock_license(conn, &found.id)?;
    gate(&license, now, About::license(&license.id))?;
    let (token, token_hash) = tokens::issue('d');
    let (device, newly) = take_device_seat(conn, &license, machine, false, Some(&token_hash), now)?;
    let details = json!({ "offline": false, "reactivation": !newly });
    record_device(conn, ctx, &license, &device, "device.activated", now, details)?;
    Ok(Activated {
        token,
        valid_until: leases::trust_until(windows, &license, now),
        license: license_row(conn, &license.id, now)?,
        device: Some(device),
        user: None,
    })
}

/// Starts (or renews, on the same computer) the activation of `user`, whose
/// password was checked, on `machine`.
pub fn activate_user(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    windows: Windows,
    user: &LicenseUser,
    machine: &Machine,
    now: NaiveDateTime,
) -> Result<Activated> {
    let license = lock_license(conn, &user.license_id)?;
    // The user may have been removed since the password was checked.
    license_users::find(conn, &license.id, &user.id)?.ok_or(Error::InvalidCredentials)?;
    gate(&license, now, About::license(&license.id))?;
    let (token, token_hash) = tokens::issue('u');
    let lease_until = leases::lease_end(&license, now);
    let activation = match activations::open_for_user(conn, &user.id)? {
        Some(open) if leases::is_live(&open, now) && open.hardware_id != machine.hardware_id => {
            return Err(Error::UserAlreadyActive {
                about: About::user(&license.id, &user.id),
                lease_expires_at: open.lease_expires_at,
            });
        }
        Some(open) if leases::is_live(&open, now) => {
            let renewal = activations::Renewal {
                token_hash: &token_hash,
                hostname: kept(machine.hostname.as_deref(), open.hostname.as_deref()),
                platform: kept(machine.platform.as_deref(), open.platform.as_deref()),
                app_version: kept(machine.app_version.as_deref(), open.app_version.as_deref()),
                lease_expires_at: lease_until,
                last_seen_at: now,
            };
            activations::renew(conn, &open.id, &renewal)?
        }
        stale => {
            if let Some(stale) = stale {
                activations::end(conn, &stale.id, now, "lease_expired")?;
            }
            let activation = UserActivation {
                id: ids::new_id(),
                license_user_id: user.id.clone(),
                license_id: license.id.clone(),
                hardware_id: machine.hardware_id.clone(),
                hostname: machine.hostname.clone(),
                platform: machine.platform.clone(),
                app_version: machine.app_version.clone(),
                token_hash,
                activated_at: now,
                last_seen_at: now,
                lease_expires_at: lease_until,
                ended_at: None,
                end_reason: None,
            };
            activations::insert(conn, &activation)?;
            activation
        }
    };
    let target = Target {
        order_id: Some(&license.order_id),
        license_id: Some(&license.id),
        subject_id: Some(&user.id),
        hardware_id: Some(&activation.hardware_id),
    };
    let details = json!({ "lease_expires_at": crate::clock::utc(activation.lease_expires_at) });
    audit::record(conn, ctx, now, "license_user.activated", target, details)?;
    let valid_until = leases::trust_until(windows, &license, now).min(activation.lease_expires_at.max(now));
    Ok(Activated {
        token,
        valid_until,
        license: license_row(conn, &license.id, now)?,
        device: None,
        user: Some((user.clone(), activation)),
    })
}

/// A kept-alive activation.
pub struct Beat {
    pub about: About,
    /// User-based: the new end of the lease.
    pub lease_expires_at: Option<NaiveDateTime>,
    pub valid_until: NaiveDateTime,
}

/// Keeps the activation `token` names alive on `hardware_id`.
pub fn heartbeat(
    conn: &mut AnyConnection,
    windows: Windows,
    token: &Token,
    hardware_id: &str,
    now: NaiveDateTime,
) -> Result<Beat> {
    match token {
        Token::Device(hash) => {
            let (device, license) = device_rows::by_token(conn, hash)?.ok_or(Error::InvalidCredentials)?;
            if device.hardware_id != hardware_id || device.status != DeviceStatus::Active {
                return Err(Error::NotActivated(About::default()));
            }
            gate(&license, now, About::license(&license.id))?;
            device_rows::set_last_seen(conn, &device.id, now)?;
            Ok(Beat {
                about: About::device(&license.id, Some(&device.id)),
                lease_expires_at: None,
                valid_until: leases::trust_until(windows, &license, now),
            })
        }
        Token::User(hash) => {
            let (activation, license) = activations::by_token(conn, hash)?.ok_or(Error::InvalidCredentials)?;
            let about = About::user(&license.id, &activation.license_user_id);
            if activation.hardware_id != hardware_id || activation.ended_at.is_some() {
                return Err(Error::NotActivated(about));
            }
            gate(&license, now, about.clone())?;
            let until = leases::lease_end(&license, now);
            if !activations::extend_lease(conn, &activation.id, until, now)? {
                return Err(Error::LeaseExpired(about));
            }
            Ok(Beat {
                about,
                lease_expires_at: Some(until),
                valid_until: leases::trust_until(windows, &license, now).min(until),
            })
        }
    }
}

/// Ends the activation `token` names on `hardware_id`; its seat is free at once.
pub fn deactivate(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    token: &Token,
    hardware_id: &str,
    now: NaiveDateTime,
) -> Result<About> {
    match token {
        Token::Device(hash) => {
            let (found, license) = device_rows::by_token(conn, hash)?.ok_or(Error::InvalidCredentials)?;
            // Under the license's lock, the device as it is now (another
            // request may have deactivated it since the lookup).
            lock_row_for_update(conn, LockableTable::Licenses, &license.id)?;
            let device = device_rows::find(conn, &license.id, &found.id)?.ok_or(Error::InvalidCredentials)?;
            if device.hardware_id != hardware_id || device.status != DeviceStatus::Active {
                return Err(Error::NotActivated(About::default()));
            }
            let after = deactivate_device(conn, &device, false, now)?;
            let details =
                json!({ "by": "software", "seat_released_at": after.seat_released_at.map(crate::clock::utc) });
            record_device(conn, ctx, &license, &after, "device.deactivated", now, details)?;
            Ok(About::device(&license.id, Some(&device.id)))
        }
        Token::User(hash) => {
            let (activation, license) = activations::by_token(conn, hash)?.ok_or(Error::InvalidCredentials)?;
            if activation.hardware_id != hardware_id || !activations::end(conn, &activation.id, now, "deactivated")? {
                return Err(Error::NotActivated(About::default()));
            }
            let target = Target {
                order_id: Some(&license.order_id),
                license_id: Some(&license.id),
                subject_id: Some(&activation.license_user_id),
                hardware_id: Some(&activation.hardware_id),
            };
            audit::record(conn, ctx, now, "license_user.deactivated", target, json!({}))?;
            Ok(About::user(&license.id, &activation.license_user_id))
        }
    }
}

/// An offline activation: the signed file and the device it was issued to.
pub struct OfflineActivated {
    pub license_id: String,
    pub device: Device,
    pub license_file: String,
    pub valid_until: NaiveDateTime,
}

/// Registers the computer of an offline request file and issues it a signed license file.
pub fn activate_offline(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    windows: Windows,
    signer: &LicenseSigner,
    request: &offline::RequestFile,
    now: NaiveDateTime,
) -> Result<OfflineActivated> {
    let key = keys::normalize(&request.license_key).ok_or(Error::InvalidCredentials)?;
    let found = licenses::by_key(conn, &key)?.ok_or(Error::InvalidCredentials)?;
    if found.kind != LicenseKind::ComputerBased {
        return Err(Error::WrongLicenseKind(KindMismatch::OfflineNeedsComputerBased));
    }
    let license = lock_license(conn, &found.id)?;
    if !license.offline_allowed {
        return Err(Error::OfflineNotAllowed(About::license(&license.id)));
    }
    gate(&license, now, About::license(&license.id))?;
    let machine = Machine {
        hardware_id: request.hardware_id.clone(),
        hostname: request.hostname.clone(),
        platform: request.platform.clone(),
        app_version: request.app_version.clone(),
    };
    let (device, _) = take_device_seat(conn, &license, &machine, true, None, now)?;
    let valid_until = leases::file_valid_until(windows, &license, now);
    let file = LicenseFile { id: ids::new_id(), device_id: device.id.clone(), issued_at: now, valid_until };
    license_files::insert(conn, &file)?;
    let newest = device.valid_until.map_or(valid_until, |v| v.max(valid_until));
    let changes = DeviceActivation {
        hostname: device.hostname.as_deref(),
        platform: device.platform.as_deref(),
        app_version: device.app_version.as_deref(),
        offline: true,
        status: DeviceStatus::Active.as_str(),
        token_hash: device.token_hash.as_deref(),
        activated_at: device.activated_at,
        last_seen_at: device.last_seen_at,
        deactivated_at: None,
        valid_until: Some(newest),
        seat_released_at: None,
        updated_at: now,
    };
    let device = device_rows::update(conn, &device.id, &changes)?;
    let row = license_row(conn, &license.id, now)?;
    let utc = crate::clock::utc;
    let payload = offline::Payload {
        format: offline::FORMAT,
        file_id: file.id.clone(),
        license_id: license.id.clone(),
        license_key: keys::display(&license.license_key),
        kind: license.kind.as_str().to_owned(),
        device_id: device.id.clone(),
        hardware_id: device.hardware_id.clone(),
        company: row.customer.company,
        product: offline::PayloadProduct { code: row.product.code, name: row.product.name },
        seats: license.seats,
        expires_at: license.expires_at.map(utc),
        issued_at: utc(now),
        valid_until: utc(valid_until),
    };
    let details = json!({ "offline": true, "file_id": file.id, "valid_until": utc(valid_until) });
    record_device(conn, ctx, &license, &device, "device.activated", now, details)?;
    Ok(OfflineActivated {
        license_file: offline::encode_file(signer, &payload),
        license_id: license.id,
        device,
        valid_until,
    })
}

/// Why an offline deactivation request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflineDeparture {
    /// No device with this hardware id holds an activation.
    NotActivated,
    /// The device activated online: an unsigned request file must never end
    /// another machine's activation (anyone who knows the license key and a
    /// hardware id could write one).
    NotOfflineDevice,
}

/// May `device` leave through an offline deactivation request? Only a device
/// whose current activation was made offline.
pub fn may_leave_offline(device: Option<&Device>) -> std::result::Result<&Device, OfflineDeparture> {
    let device = device.filter(|d| d.status == DeviceStatus::Active).ok_or(OfflineDeparture::NotActivated)?;
    if device.offline { Ok(device) } else { Err(OfflineDeparture::NotOfflineDevice) }
}

/// Deactivates the computer of an offline deactivation request; its seat is
/// free when its last license file runs out.
pub fn deactivate_offline(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    request: &offline::RequestFile,
    now: NaiveDateTime,
) -> Result<(String, Device)> {
    let key = keys::normalize(&request.license_key).ok_or(Error::InvalidCredentials)?;
    let found = licenses::by_key(conn, &key)?.ok_or(Error::InvalidCredentials)?;
    let license = lock_license(conn, &found.id)?;
    let found = device_rows::by_hardware_id(conn, &license.id, &request.hardware_id)?;
    let device = match may_leave_offline(found.as_ref()) {
        Ok(device) => device,
        Err(OfflineDeparture::NotActivated) => return Err(Error::NotActivated(About::license(&license.id))),
        Err(OfflineDeparture::NotOfflineDevice) => {
            let about = About::device(&license.id, found.as_ref().map(|d| d.id.as_str()));
            return Err(Error::NotOfflineDevice(about));
        }
    };
    let after = deactivate_device(conn, device, false, now)?;
    let details =
        json!({ "by": "software", "offline": true, "seat_released_at": after.seat_released_at.map(crate::clock::utc) });
    record_device(conn, ctx, &license, &after, "device.deactivated", now, details)?;
    Ok((license.id, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(offline: bool, status: DeviceStatus) -> Device {
        let at = NaiveDateTime::default();
        Device {
            id: "d".into(),
            license_id: "l".into(),
            hardware_id: "hw".into(),
            hostname: None,
            platform: None,
            app_version: None,
            offline,
            status,
            token_hash: None,
            activated_at: at,
            last_seen_at: None,
            deactivated_at: None,
            valid_until: None,
            seat_released_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn only_an_active_offline_device_leaves_offline() {
        assert!(may_leave_offline(Some(&device(true, DeviceStatus::Active))).is_ok());
        assert_eq!(
            may_leave_offline(Some(&device(false, DeviceStatus::Active))).unwrap_err(),
            OfflineDeparture::NotOfflineDevice
        );
        assert_eq!(
            may_leave_offline(Some(&device(true, DeviceStatus::Deactivated))).unwrap_err(),
            OfflineDeparture::NotActivated
        );
        assert_eq!(may_leave_offline(None).unwrap_err(), OfflineDeparture::NotActivated);
    }

    #[test]
    fn omitted_fields_keep_their_stored_values() {
        assert_eq!(kept(None, Some("pc-1")), Some("pc-1"));
        assert_eq!(kept(Some("pc-2"), Some("pc-1")), Some("pc-2"));
        assert_eq!(kept(None, None), None);
    }
}
