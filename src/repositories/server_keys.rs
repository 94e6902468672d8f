//! Key material shared by every instance, stored once by whichever instance
//! starts first. This module only stores: the candidate keys are made in
//! [`crate::state`].

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::server_keys;
use crate::models::tokens::ServerKey;

/// The `purpose` of the HMAC secret for access tokens.
pub const JWT: &str = "jwt";
/// The `purpose` of the Ed25519 license-signing key.
pub const LICENSE: &str = "license";

pub fn find(conn: &mut AnyConnection, purpose: &str) -> QueryResult<Option<ServerKey>> {
    server_keys::table.find(purpose).select(ServerKey::as_select()).first(conn).optional()
}

/// Inserts `candidate` unless a key for its purpose exists; either way returns
/// the stored key (two instances starting at once agree on one).
pub fn get_or_insert(conn: &mut AnyConnection, candidate: ServerKey) -> QueryResult<ServerKey> {
    if let Some(existing) = find(conn, &candidate.purpose)? {
        return Ok(existing);
    }
    let purpose = candidate.purpose.clone();
    match diesel::insert_into(server_keys::table).values(&candidate).execute(conn) {
        Ok(_) => Ok(candidate),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            find(conn, &purpose)?.ok_or(diesel::result::Error::NotFound)
        }
        Err(e) => Err(e),
    }
}
