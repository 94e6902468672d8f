//! The `user_activations` table: a license user's temporary activation on one
//! computer. At most one is open (`ended_at` null) per user.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::{licenses, user_activations};
use crate::models::licenses::License;
use crate::models::seats::UserActivation;

/// The activation stored under this token digest, with its license.
pub fn by_token(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<(UserActivation, License)>> {
    user_activations::table
        .inner_join(licenses::table)
        .filter(user_activations::token_hash.eq(token_hash))
        .select((UserActivation::as_select(), License::as_select()))
        .get_result(conn)
        .optional()
}

/// The user's open activation (its lease may have run out).
pub fn open_for_user(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<UserActivation>> {
    user_activations::table
        .filter(user_activations::license_user_id.eq(user_id))
        .filter(user_activations::ended_at.is_null())
        .select(UserActivation::as_select())
        .first(conn)
        .optional()
}

/// An activation is live at `now` while it is open and its lease runs past
/// `now` (the SQL form of `licensing::leases`' lease rule, used wherever a
/// list asks who holds one).
#[diesel::dsl::auto_type]
pub fn live(now: NaiveDateTime) -> _ {
    user_activations::ended_at.is_null().and(user_activations::lease_expires_at.gt(now))
}

/// The open activation of each of these users whose lease runs past `now`.
pub fn live_for_users(
    conn: &mut AnyConnection,
    user_ids: &[String],
    now: NaiveDateTime,
) -> QueryResult<HashMap<String, UserActivation>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<UserActivation> = user_activations::table
        .filter(user_activations::license_user_id.eq_any(user_ids))
        .filter(live(now))
        .select(UserActivation::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|a| (a.license_user_id.clone(), a)).collect())
}

pub fn insert(conn: &mut AnyConnection, activation: &UserActivation) -> QueryResult<()> {
    diesel::insert_into(user_activations::table).values(activation).execute(conn).map(|_| ())
}

/// Ends an open activation; false when it had ended already.
pub fn end(conn: &mut AnyConnection, id: &str, now: NaiveDateTime, reason: &str) -> QueryResult<bool> {
    let n = diesel::update(user_activations::table.find(id).filter(user_activations::ended_at.is_null()))
        .set((user_activations::ended_at.eq(now), user_activations::end_reason.eq(reason)))
        .execute(conn)?;
    Ok(n == 1)
}

/// What a renewal writes on an open activation.
pub struct Renewal<'a> {
    pub token_hash: &'a str,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub app_version: Option<&'a str>,
    pub lease_expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// A new token and lease for an open activation.
pub fn renew(conn: &mut AnyConnection, id: &str, renewal: &Renewal<'_>) -> QueryResult<UserActivation> {
    diesel::update(user_activations::table.find(id).filter(user_activations::ended_at.is_null()))
        .set((
            user_activations::token_hash.eq(renewal.token_hash),
            user_activations::hostname.eq(renewal.hostname),
            user_activations::platform.eq(renewal.platform),
            user_activations::app_version.eq(renewal.app_version),
            user_activations::lease_expires_at.eq(renewal.lease_expires_at),
            user_activations::last_seen_at.eq(renewal.last_seen_at),
        ))
        .execute(conn)?;
    user_activations::table.find(id).select(UserActivation::as_select()).first(conn)
}

/// Moves the lease of an open activation whose lease runs past `now` to
/// `until`; false when it ended or ran out meanwhile.
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
