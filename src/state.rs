//! What every handler shares: the database, the configuration, the token keys,
//! the password hasher and the clock. Built once at start.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDateTime;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{random_bytes, sha256_hex};
use crate::db::{self, Db};
use crate::licensing::signing::LicenseSigner;
use crate::models::tokens::ServerKey;
use crate::ratelimit::RateLimiter;
use crate::repositories::server_keys;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub hasher: Hasher,
    pub clock: Clock,
    pub signer: LicenseSigner,
    pub limiter: Arc<RateLimiter>,
}

impl AppState {
    /// Opens the database, applies pending migrations and loads (or creates
    /// on first start) the key material every instance shares.
    pub fn init(config: Config) -> Result<Self, String> {
        let pool = db::connect_with_wait(&config.database, config.db_pool_size, config.db_pool_timeout)?;
        let mut conn =
            pool.get().map_err(|e| format!("cannot connect to the database {}: {e}", config.database.redacted()))?;
        let applied = db::run_migrations(&mut conn)?;
        if applied > 0 {
            tracing::info!(applied, "applied database migrations");
        }
        let clock = Clock::default();
        let jwt_secret = match &config.jwt_key_file {
            Some(path) => read_key_file(path)?,
            None => {
                let key = server_keys::get_or_insert(&mut conn, jwt_secret_row(&random_bytes(), clock.now()))
                    .map_err(|e| format!("cannot load the JWT key: {e}"))?;
                B64.decode(key.secret).map_err(|_| "the stored JWT key is not base64".to_owned())?
            }
        };
        let signer = match &config.signing_key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                LicenseSigner::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => {
                let key = server_keys::get_or_insert(&mut conn, license_key_row(&random_bytes(), clock.now()))
                    .map_err(|e| format!("cannot load the license-signing key: {e}"))?;
                LicenseSigner::from_base64(&key.secret).map_err(|e| format!("the stored license-signing key: {e}"))?
            }
        };
        tracing::info!(key_id = %signer.key_id(), "license-signing key loaded");
        drop(conn);
        let config_rate = config.rate_limit_per_ip;
        let hashers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(Self {
            db: Db::new(pool).with_local_reads(&config.database),
            jwt: JwtKeys::new(&jwt_secret),
            hasher: Hasher::new(hashers),
            config: Arc::new(config),
            clock,
            signer,
            limiter: Arc::new(RateLimiter::new(config_rate)),
        })
    }
}

impl AppState {
    /// The time windows the licensing rules apply, as configured.
    pub fn windows(&self) -> crate::licensing::leases::Windows {
        crate::licensing::leases::Windows {
            trust_seconds: self.config.validation_cache_seconds,
            offline_file_seconds: self.config.offline_file_seconds,
        }
    }
}

/// The row to store when no JWT key exists yet: the HMAC secret for access
/// tokens, keyed by the first 16 hex characters of its SHA-256.
fn jwt_secret_row(secret: &[u8; 32], now: NaiveDateTime) -> ServerKey {
    ServerKey {
        purpose: server_keys::JWT.to_owned(),
        key_id: sha256_hex(secret)[..16].to_owned(),
        secret: B64.encode(secret),
        public_key: None,
        created_at: now,
    }
}

/// The row to store when no license-signing key exists yet: the Ed25519 seed,
/// with the public key and key id of the signer it makes.
fn license_key_row(seed: &[u8; 32], now: NaiveDateTime) -> ServerKey {
    let signer = LicenseSigner::from_seed(seed);
    ServerKey {
        purpose: server_keys::LICENSE.to_owned(),
        key_id: signer.key_id().to_owned(),
        secret: B64.encode(seed),
        public_key: Some(signer.public_key_base64().to_owned()),
        created_at: now,
    }
}

fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let secret = B64.decode(text.trim()).unwrap_or(bytes.clone());
    if secret.len() < 32 {
        return Err(format!("{} must hold at least 32 bytes (raw or base64)", path.display()));
    }
    Ok(secret)
}
