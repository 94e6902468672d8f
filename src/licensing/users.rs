//! The portal's use cases on the users of user-based licenses: a user takes
//! a seat; its e-mail is unique per license; its one temporary activation can
//! be reset by a manager (after a crash) and ends when the user is removed.

use chrono::NaiveDateTime;
use serde_json::json;

use super::error::{Error, KindMismatch, Result};
use super::seats;
use crate::db::{AnyConnection, LockableTable, lock_row_for_update};
use crate::ids;
use crate::models::licenses::{License, LicenseKind};
use crate::models::seats::{LicenseUser, LicenseUserChangeset, UserActivation};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::scope::Scope;
use crate::repositories::{activations, license_users, licenses};

/// The user-based license `id`, if `scope` sees it.
pub fn license_of(conn: &mut AnyConnection, scope: &Scope, id: &str) -> Result<License> {
    let license = licenses::find_in_scope(conn, scope, id)?.ok_or(Error::NotFound)?;
    if license.kind != LicenseKind::UserBased {
        return Err(Error::WrongLicenseKind(KindMismatch::UsersNeedUserBased));
    }
    Ok(license)
}

/// A user of a user-based license `scope` sees, with the license.
pub fn find(
    conn: &mut AnyConnection,
    scope: &Scope,
    license_id: &str,
    user_id: &str,
) -> Result<(License, LicenseUser)> {
    let license = license_of(conn, scope, license_id)?;
    let user = license_users::find(conn, license_id, user_id)?.ok_or(Error::NotFound)?;
    Ok((license, user))
}

/// A user with its live activation, if it holds one.
pub fn with_activation(
    conn: &mut AnyConnection,
    user: LicenseUser,
    now: NaiveDateTime,
) -> Result<(LicenseUser, Option<UserActivation>)> {
    let mut live = activations::live_for_users(conn, std::slice::from_ref(&user.id), now)?;
    let activation = live.remove(&user.id);
    Ok((user, activation))
}

/// A user to add: its (normalized) e-mail, name and password hash.
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// `generated` or `chosen`, for the record.
    pub password: &'static str,
}

/// Adds a user to a user-based license; it takes a seat.
pub fn add(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    license_id: &str,
    new: NewUser,
    now: NaiveDateTime,
) -> Result<LicenseUser> {
    lock_row_for_update(conn, LockableTable::Licenses, license_id)?;
    let license = license_of(conn, scope, license_id)?;
    if license_users::email_taken(conn, license_id, &new.email, None)? {
        return Err(Error::EmailTaken);
    }
    let used = seats::used(conn, &license, now)?;
    seats::take_one(&license, used, || seats::contacts(conn, &license))?;
    seats::taken(conn, license_id)?;
    let user = LicenseUser {
        id: ids::new_id(),
        license_id: license_id.to_owned(),
        email: new.email,
        name: new.name,
        password_hash: new.password_hash,
        created_at: now,
        updated_at: now,
    };
    license_users::insert(conn, &user)?;
    let target = Target::order(&license.order_id).with_license(license_id).with_subject(&user.id);
    let details = json!({ "email": user.email, "name": user.name, "password": new.password });
    audit::record(conn, ctx, now, "license_user.created", target, details)?;
    Ok(user)
}

/// Renames a user or changes its (normalized) e-mail; absent fields stay.
#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    (license_id, user_id): (&str, &str),
    email: Option<String>,
    name: Option<String>,
    now: NaiveDateTime,
) -> Result<(LicenseUser, Option<UserActivation>)> {
    lock_row_for_update(conn, LockableTable::Licenses, license_id)?;
    let (license, _) = find(conn, scope, license_id, user_id)?;
    if let Some(email) = &email {
        if license_users::email_taken(conn, license_id, email, Some(user_id))? {
            return Err(Error::EmailTaken);
        }
    }
    let changes =
        LicenseUserChangeset { email: email.clone(), name: name.clone(), password_hash: None, updated_at: Some(now) };
    let user = license_users::update(conn, user_id, &changes)?;
    let target = Target::order(&license.order_id).with_license(license_id).with_subject(user_id);
    audit::record(conn, ctx, now, "license_user.updated", target, json!({ "email": email, "name": name }))?;
    with_activation(conn, user, now)
}

/// Sets a user's password hash; `how` is `generated` or `chosen`, for the record.
pub fn set_password(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    (license_id, user_id): (&str, &str),
    password_hash: String,
    how: &'static str,
    now: NaiveDateTime,
) -> Result<()> {
    let (license, _) = find(conn, scope, license_id, user_id)?;
    let changes =
        LicenseUserChangeset { password_hash: Some(password_hash), updated_at: Some(now), ..Default::default() };
    license_users::update(conn, user_id, &changes)?;
    let target = Target::order(&license.order_id).with_license(license_id).with_subject(user_id);
    audit::record(conn, ctx, now, "license_user.password_set", target, json!({ "password": how }))?;
    Ok(())
}

/// Ends the user's open activation, whatever its lease, and records it when
/// the lease was still held (one that had run out held nothing).
fn end_activation(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    license: &License,
    user_id: &str,
    now: NaiveDateTime,
    reason: &str,
) -> Result<()> {
    let Some(open) = activations::open_for_user(conn, user_id)? else { return Ok(()) };
    activations::end(conn, &open.id, now, reason)?;
    if super::leases::is_live(&open, now) {
        let target = Target {
            order_id: Some(&license.order_id),
            license_id: Some(&license.id),
            subject_id: Some(user_id),
            hardware_id: Some(&open.hardware_id),
        };
        audit::record(conn, ctx, now, "license_user.activation_reset", target, json!({ "reason": reason }))?;
    }
    Ok(())
}

/// Ends the user's temporary activation so it can activate again at once.
pub fn reset_activation(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    (license_id, user_id): (&str, &str),
    now: NaiveDateTime,
) -> Result<LicenseUser> {
    lock_row_for_update(conn, LockableTable::Licenses, license_id)?;
    let (license, user) = find(conn, scope, license_id, user_id)?;
    end_activation(conn, ctx, &license, user_id, now, "reset")?;
    Ok(user)
}

/// Removes a user: ends its activation and frees its seat.
pub fn remove(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    (license_id, user_id): (&str, &str),
    now: NaiveDateTime,
) -> Result<()> {
    lock_row_for_update(conn, LockableTable::Licenses, license_id)?;
    let (license, user) = find(conn, scope, license_id, user_id)?;
    end_activation(conn, ctx, &license, user_id, now, "user_removed")?;
    license_users::delete(conn, user_id)?;
    seats::freed(conn, license_id)?;
    let target = Target::order(&license.order_id).with_license(license_id).with_subject(user_id);
    audit::record(conn, ctx, now, "license_user.deleted", target, json!({ "email": user.email }))?;
    Ok(())
}
