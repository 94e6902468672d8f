//! Key material shared by every instance, created once by whichever instance
//! starts first.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::{random_bytes, sha256_hex};
use crate::db::AnyConnection;
use crate::db::schema::server_keys;
use crate::models::tokens::ServerKey;

pub const JWT: &str = "jwt";
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

/// The HMAC secret for access tokens: 32 random bytes.
pub fn get_or_create_jwt_secret(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<ServerKey> {
    let secret = random_bytes::<32>();
    get_or_insert(
        conn,
        ServerKey {
            purpose: JWT.to_owned(),
            key_id: sha256_hex(secret)[..16].to_owned(),
            secret: B64.encode(secret),
            public_key: None,
            created_at: now,
        },
    )
}

/// The Ed25519 license-signing key: a 32-byte seed, with its public key and key id.
pub fn get_or_create_license_key(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<ServerKey> {
    let seed = random_bytes::<32>();
    let signer = crate::licensing::signing::LicenseSigner::from_seed(&seed);
    get_or_insert(
        conn,
        ServerKey {
            purpose: LICENSE.to_owned(),
            key_id: signer.key_id().to_owned(),
            secret: B64.encode(seed),
            public_key: Some(signer.public_key_base64().to_owned()),
            created_at: now,
        },
    )
}
