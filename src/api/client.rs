//! The client API for the desktop software: activate, validate, heartbeat,
//! deactivate, offline activation. No JWT: the software proves itself with a
//! license key, or a license user's e-mail and password, and then with an
//! activation token. Every answer is signed (see `client_sign`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::client_sign::{ClientEcho, CompleteBody};
use super::devices::DeviceView;
use super::extract::{parse_json, refused_char, required_json};
use super::licenses::{LicenseKind, LicenseStatus};
use super::{client_ip, normalize_email, utc};
use crate::crypto::{random_token, sha256_hex};
use crate::db::{AnyConnection, LockableTable, lock_row_for_update};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids;
use crate::licensing::devices::{OfflineDeparture, kept};
use crate::licensing::{self, keys, offline};
use crate::models::licenses::{COMPUTER_BASED, License, USER_BASED};
use crate::models::seats::{DEVICE_ACTIVE, Device, LicenseFile, UserActivation};
use crate::ratelimit::RateLimiter;
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::client::{self as repo, DeviceActivation, holds_seat};
use crate::repositories::licenses::{self, LicenseRow, Status};
use crate::repositories::scope::Scope;
use crate::repositories::{devices, license_users, orders};
use crate::state::AppState;
use crate::telemetry::current_request_id;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(public_key)
        .service(activate)
        .service(validate)
        .service(heartbeat)
        .service(deactivate)
        .service(offline_activate)
        .service(offline_deactivate);
}

pub const TOKEN_PREFIX: &str = "lat_";
/// The licenses one e-mail + password is tried against without a key. Every
/// key-less attempt costs exactly this many password checks (padded with the
/// dummy hash), so its time tells nothing about how many licenses the e-mail
/// has; a user of more licenses sends the key.
const MAX_CANDIDATES: usize = 3;

// ---------------------------------------------------------------- input rules

fn valid_nonce(value: &str) -> bool {
    super::rules::nonce(value).is_ok()
}

/// A client request body: JSON, validated, with its nonce kept for the echo
/// (also when the rest of the body is refused).
pub struct ClientJson<T>(pub T);

/// The fields of a client request that its answer echoes.
pub trait HasNonce {
    fn nonce(&self) -> Option<&str>;
    fn hardware_id(&self) -> Option<&str> {
        None
    }
}

impl<T: DeserializeOwned + Validate + HasNonce + utoipa::PartialSchema + 'static> FromRequest for ClientJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let raw = required_json(&req, &mut payload).await?;
            match parse_json::<T>(&raw) {
                Ok(value) => {
                    let echo = ClientEcho {
                        nonce: value.nonce().map(str::to_owned),
                        hardware_id: value.hardware_id().map(str::to_owned),
                    };
                    req.extensions_mut().insert(echo);
                    Ok(Self(value))
                }
                Err(e) => {
                    let nonce = serde_json::from_slice::<serde_json::Value>(&raw)
                        .ok()
                        .and_then(|v| v.get("nonce").and_then(|n| n.as_str()).map(str::to_owned))
                        .filter(|n| valid_nonce(n));
                    req.extensions_mut().insert(ClientEcho { nonce, hardware_id: None });
                    Err(e)
                }
            }
        })
    }
}

macro_rules! has_nonce {
    ($($t:ty),*) => {$(
        impl HasNonce for $t {
            fn nonce(&self) -> Option<&str> {
                self.nonce.as_deref()
            }
            fn hardware_id(&self) -> Option<&str> {
                Some(&self.hardware_id)
            }
        }
    )*};
}

// ------------------------------------------------------------------- answers

/// What every client answer carries, so a signed answer can't be replayed for
/// another machine or request.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Echo {
    /// Server time.
    #[schema(min_length = 20, max_length = 30)]
    pub issued_at: DateTime<Utc>,
    /// `activate`, `validate`, `heartbeat`, `deactivate`, `offline/activate`,
    /// `offline/deactivate` or `public-key`.
    #[schema(
        max_length = 18,
        pattern = r"^(activate|validate|heartbeat|deactivate|offline/activate|offline/deactivate|public-key)$"
    )]
    pub endpoint: &'static str,
    /// The request's nonce, echoed.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub license_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]+$")]
    pub hardware_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub user_id: Option<String>,
}

impl Echo {
    /// The echo of a request to `endpoint` answered at `now`; identities are
    /// added with struct-update syntax.
    fn new(endpoint: &'static str, now: NaiveDateTime, nonce: Option<String>) -> Self {
        Self { issued_at: utc(now), endpoint, nonce, ..Self::default() }
    }
}

/// A complete client answer (the signing middleware only signs it).
fn answer(body: &impl Serialize) -> HttpResponse {
    let mut res = HttpResponse::Ok().json(body);
    res.extensions_mut().insert(CompleteBody);
    res
}

/// The codes of `/client/validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidationCode {
    Valid,
    NotFound,
    NotActivated,
    Suspended,
    Expired,
    LeaseExpired,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductInfo {
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
}

/// The license as the software sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientLicense {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 35, max_length = 35, pattern = r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$")]
    pub key: String,
    pub kind: LicenseKind,
    pub status: LicenseStatus,
    #[schema(minimum = 1, maximum = 1000000)]
    pub seats: i32,
    #[schema(min_length = 20, max_length = 30)]
    pub expires_at: Option<DateTime<Utc>>,
    pub offline_allowed: bool,
    #[schema(minimum = 60, maximum = 604800)]
    pub lease_seconds: i32,
    pub product: ProductInfo,
    /// The owner shown in the software.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub company: String,
}

impl ClientLicense {
    fn new(row: LicenseRow, now: NaiveDateTime) -> Self {
        let l = row.license;
        Self {
            status: Status::of(&l, now).into(),
            key: keys::display(&l.license_key),
            kind: if l.kind == USER_BASED { LicenseKind::UserBased } else { LicenseKind::ComputerBased },
            id: l.id,
            seats: l.seats,
            expires_at: l.expires_at.map(utc),
            offline_allowed: l.offline_allowed,
            lease_seconds: l.lease_seconds,
            product: ProductInfo { code: row.product.code, name: row.product.name },
            company: row.customer.company,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientUser {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivateResponse {
    #[schema(example = "VALID")]
    pub code: ValidationCode,
    pub valid: bool,
    /// `lat_…`: names this activation in validate, heartbeat and deactivate.
    #[schema(min_length = 57, max_length = 57, pattern = r"^lat_[du][0-9a-hjkmnp-tv-z]{52}$")]
    pub activation_token: String,
    pub license: ClientLicense,
    /// Computer-based licenses: the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceView>,
    /// User-based licenses: the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ClientUser>,
    /// User-based licenses: the activation ends then unless heartbeats extend it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// How long the software may trust this answer offline.
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    pub code: ValidationCode,
    /// How long the software may trust a VALID offline; null otherwise.
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatResponse {
    #[schema(example = "VALID")]
    pub code: ValidationCode,
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    /// User-based: the new end of the lease (now + `lease_seconds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeactivateResponse {
    #[schema(example = "DEACTIVATED", max_length = 11, pattern = r"^DEACTIVATED$")]
    pub code: &'static str,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineActivateResponse {
    /// The license file, as text (see the README's verification steps).
    // The longest file the server writes: `offline::tests::the_longest_file_fits_the_declared_bound`.
    #[schema(
        max_length = 4574,
        pattern = r"^-----BEGIN LICENSE FILE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END LICENSE FILE-----\n$"
    )]
    pub license_file: String,
    pub device: DeviceView,
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineDeactivateResponse {
    #[schema(example = "DEACTIVATED", max_length = 11, pattern = r"^DEACTIVATED$")]
    pub code: &'static str,
    /// `seat_released_at` says when the seat is free: when the last file runs out.
    pub device: DeviceView,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyResponse {
    #[schema(example = "ed25519", max_length = 7, pattern = r"^ed25519$")]
    pub algorithm: &'static str,
    /// Hex of the first 8 bytes of the SHA-256 of the raw public key.
    #[schema(min_length = 16, max_length = 16, pattern = r"^[0-9a-f]{16}$")]
    pub key_id: String,
    /// Base64 of the raw 32-byte public key.
    #[schema(min_length = 44, max_length = 44, pattern = r"^[A-Za-z0-9+/]{43}=$")]
    pub public_key: String,
    #[serde(flatten)]
    pub echo: Echo,
}

// ------------------------------------------------------------------ helpers

fn software_ctx(req: &HttpRequest, email: Option<String>) -> AuditCtx {
    AuditCtx {
        actor_kind: "software",
        actor_id: None,
        actor_email: email,
        ip: client_ip(req),
        request_id: current_request_id(),
    }
}

/// 403 for a suspended or expired license.
fn gate(license: &License, now: NaiveDateTime) -> ApiResult<()> {
    let error = match Status::of(license, now) {
        Status::Active => return Ok(()),
        Status::Suspended => ApiError::new(ErrorCode::Suspended, "This license is suspended."),
        Status::Expired => ApiError::new(ErrorCode::Expired, "This license has expired."),
    };
    Err(error.with_extra("license_id", &license.id))
}

/// How long a VALID may be trusted offline: the earlier of the license's
/// expiry and now + the cache window.
fn trust_until(state: &AppState, license: &License, now: NaiveDateTime) -> NaiveDateTime {
    let window = now + TimeDelta::seconds(state.config.validation_cache_seconds);
    license.expires_at.map_or(window, |e| e.min(window))
}

/// `lat_d…` names a device, `lat_u…` a user's activation.
fn new_token(kind: char) -> String {
    random_token(&format!("{TOKEN_PREFIX}{kind}"))
}

enum Token {
    Device(String),
    User(String),
}

fn parse_token(token: &str) -> Option<Token> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    if token.len() > 200 {
        return None;
    }
    match rest.chars().next()? {
        'd' => Some(Token::Device(sha256_hex(token))),
        'u' => Some(Token::User(sha256_hex(token))),
        _ => None,
    }
}

/// The 409 of an activation as the spec shows it: a problem with the members
/// its code adds (built by [`seats_exhausted`] and the user-lease check; this
/// type only documents them).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActivationConflict {
    #[serde(flatten)]
    problem: crate::error::Problem,
    /// `SEATS_EXHAUSTED`: the license's seats …
    #[schema(minimum = 1, maximum = 1_000_000)]
    seats: Option<i32>,
    /// … and how many are taken.
    #[schema(minimum = 0, maximum = 1_000_000)]
    seats_used: Option<i64>,
    /// `SEATS_EXHAUSTED`: who can free a seat (the order's enabled managers).
    #[schema(max_items = 50)]
    managers: Option<Vec<SeatContact>>,
    /// `SEATS_EXHAUSTED`: the license.
    #[schema(value_type = Option<crate::ids::Id>)]
    license_id: Option<String>,
    /// `USER_ALREADY_ACTIVE`: when the other activation's lease runs out.
    #[schema(max_length = 35)]
    lease_expires_at: Option<DateTime<Utc>>,
}

/// A license manager the software can show in its "all seats taken" dialog.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SeatContact {
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    name: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    email: String,
}

fn seats_exhausted(conn: &mut AnyConnection, license: &License, used: i64) -> ApiError {
    let managers: Vec<serde_json::Value> = orders::managers(conn, &license.order_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.disabled)
        .map(|a| json!({ "name": a.name, "email": a.email }))
        .collect();
    ApiError::new(
        ErrorCode::SeatsExhausted,
        format!("All {} seats of this license are in use. A license manager can free one.", license.seats),
    )
    .with_extra("seats", license.seats)
    .with_extra("seats_used", used)
    .with_extra("managers", managers)
    .with_extra("license_id", &license.id)
}

fn not_activated() -> ApiError {
    ApiError::new(ErrorCode::NotActivated, "This activation has ended; activate again.")
}

/// Names the activation a problem is about (license, device or user), so a
/// signed problem can't be replayed for another activation.
fn about(error: ApiError, license_id: &str, device_id: Option<&str>, user_id: Option<&str>) -> ApiError {
    let error = error.with_extra("license_id", license_id);
    let error = match device_id {
        Some(id) => error.with_extra("device_id", id),
        None => error,
    };
    match user_id {
        Some(id) => error.with_extra("user_id", id),
        None => error,
    }
}

/// The computer's identity and description from a request.
struct Machine<'a> {
    hardware_id: &'a str,
    hostname: Option<&'a str>,
    platform: Option<&'a str>,
    app_version: Option<&'a str>,
}

/// Takes (or keeps) a seat for `machine` on a locked computer-based license:
/// the same hardware id keeps its seat; a new one needs a free seat.
fn take_device_seat(
    conn: &mut AnyConnection,
    license: &License,
    machine: &Machine<'_>,
    offline: bool,
    token_hash: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<(Device, bool)> {
    let existing = repo::device(conn, &license.id, machine.hardware_id)?;
    let keeps_seat = existing.as_ref().is_some_and(|d| holds_seat(d, now));
    if !keeps_seat {
        let used = licenses::seats_used_one(conn, &license.id, now)?;
        if used >= i64::from(license.seats) {
            return Err(seats_exhausted(conn, license, used));
        }
    }
    let was_active = existing.as_ref().is_some_and(|d| d.status == DEVICE_ACTIVE);
    let changes = DeviceActivation {
        hostname: kept(machine.hostname, existing.as_ref().and_then(|d| d.hostname.as_deref())),
        platform: kept(machine.platform, existing.as_ref().and_then(|d| d.platform.as_deref())),
        app_version: kept(machine.app_version, existing.as_ref().and_then(|d| d.app_version.as_deref())),
        offline,
        status: DEVICE_ACTIVE,
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
        Some(d) => repo::update_device(conn, &d.id, &changes)?,
        None => {
            let device = Device {
                id: ids::new_id(),
                license_id: license.id.clone(),
                hardware_id: machine.hardware_id.to_owned(),
                hostname: machine.hostname.map(str::to_owned),
                platform: machine.platform.map(str::to_owned),
                app_version: machine.app_version.map(str::to_owned),
                offline,
                status: DEVICE_ACTIVE.to_owned(),
                token_hash: token_hash.map(str::to_owned),
                activated_at: now,
                last_seen_at: Some(now),
                deactivated_at: None,
                valid_until: None,
                seat_released_at: None,
                created_at: now,
                updated_at: now,
            };
            devices::insert(conn, &device)?;
            device
        }
    };
    Ok((device, !was_active))
}

/// Locks the license and re-reads it (the row may have changed meanwhile).
fn lock_license(conn: &mut AnyConnection, id: &str) -> ApiResult<License> {
    lock_row_for_update(conn, LockableTable::Licenses, id)?;
    licenses::find_row(conn, id)?.ok_or_else(ApiError::invalid_credentials)
}

fn license_row(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> ApiResult<LicenseRow> {
    licenses::find(conn, &Scope::All, id, now)?.ok_or_else(|| ApiError::internal("license vanished"))
}

fn record_device(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    license: &License,
    device: &Device,
    action: &str,
    now: NaiveDateTime,
    details: serde_json::Value,
) -> ApiResult<()> {
    let target = Target {
        order_id: Some(&license.order_id),
        license_id: Some(&license.id),
        subject_id: Some(&device.id),
        hardware_id: Some(&device.hardware_id),
    };
    Ok(audit::record(conn, ctx, now, action, target, details)?)
}

// ----------------------------------------------------------------- handlers

/// The server's license-signing public key.
///
/// No authentication. Answers the Ed25519 key (base64 of the raw 32 bytes) and
/// its `key_id`, which every `License-Signature` names. The software builds
/// the key in and never trusts this endpoint at run time: it is here for
/// set-up and checks.
#[utoipa::path(tag = "client", responses((status = 200, body = PublicKeyResponse)), security(()))]
#[get("/client/public-key")]
pub async fn public_key(state: web::Data<AppState>) -> HttpResponse {
    answer(&PublicKeyResponse {
        algorithm: "ed25519",
        key_id: state.signer.key_id().to_owned(),
        public_key: state.signer.public_key_base64().to_owned(),
        echo: Echo { issued_at: state.clock.now_utc(), endpoint: "public-key", ..Echo::default() },
    })
}

/// Activation by license key (computer-based) or by a license user's e-mail
/// and password (user-based).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ActivateRequest {
    /// Computer-based: required. User-based: optional, picks the license when
    /// the e-mail is a user of several.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[schema(max_length = 64)]
    pub license_key: Option<String>,
    /// User-based: the license user's e-mail.
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// User-based: the license password.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(max_length = 1024)]
    pub password: Option<String>,
    /// 1–128 printable ASCII characters; send a salted SHA-256 of machine identifiers.
    #[validate(custom(function = "super::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub hostname: Option<String>,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub platform: Option<String>,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub app_version: Option<String>,
    /// 1–64 of `[A-Za-z0-9_-]`, fresh per request; echoed in the answer.
    #[validate(custom(function = "super::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// `activation_token` + `hardware_id` (heartbeat, deactivate).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct TokenRequest {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub activation_token: String,
    #[validate(custom(function = "super::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(custom(function = "super::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// `activation_token` + `hardware_id`, or for computer-based licenses `license_key` + `hardware_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ValidateRequest {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub activation_token: Option<String>,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64)]
    pub license_key: Option<String>,
    #[validate(custom(function = "super::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(custom(function = "super::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// An offline request file (base64 of its JSON), as the software wrote it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct OfflineRequest {
    #[validate(length(min = 1, max = 8192, message = "must be 1 to 8192 characters"))]
    /// The request file, base64 (its contents are the software's: see the contract).
    #[schema(
        min_length = 1,
        max_length = 8192,
        pattern = r"^\uFEFF*[A-Za-z0-9+/= \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$"
    )]
    pub request: String,
    #[validate(custom(function = "super::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

has_nonce!(ActivateRequest, TokenRequest, ValidateRequest);

impl HasNonce for OfflineRequest {
    fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
}

/// Records the hardware id of an offline request file for the echo of problems.
fn echo_hardware_id(req: &HttpRequest, hardware_id: &str) {
    if let Some(echo) = req.extensions_mut().get_mut::<ClientEcho>() {
        echo.hardware_id = Some(hardware_id.to_owned());
    }
}

/// Activate this computer, or this license user on it.
///
/// Called by the desktop software; no token. Computer-based: `license_key` and
/// `hardware_id` take a seat (the same hardware id again keeps its seat; a new
/// one on a full license is 409 `SEATS_EXHAUSTED` naming who can free one).
/// User-based: the user's `email` and `password` (and `license_key` if they
/// open several licenses, else 409 `LICENSE_AMBIGUOUS`) start a temporary
/// activation, refused with 409 `USER_ALREADY_ACTIVE` while the user is active
/// elsewhere. The answer's `activation_token` is for validate, heartbeat and
/// deactivate; a wrong key or password is 401 `INVALID_CREDENTIALS`.
#[utoipa::path(
    tag = "client",
    request_body(
        content = ActivateRequest,
        examples(
            ("computer" = (
                summary = "A computer-based license: the key and this computer",
                value = json!({
                    "license_key": "7XK2M-Q9D4R-T1V8W-3HJ6N-P5B0C-Y2Z4A",
                    "hardware_id": "d18fa711654b3123a6d581f5cfa3723355c635878c3140843375fb78fbeab43e",
                    "hostname": "CAD-WS-07",
                    "platform": "windows-x86_64",
                    "app_version": "2026.2.1",
                    "nonce": "f3b9c2d4-7a1e-4c8b-9e5f-0a6d2b7c1e93"
                })
            )),
            ("user" = (
                summary = "A user-based license: the license user's e-mail and password",
                value = json!({
                    "email": "erika.musterfrau@muster-bau.example",
                    "password": "Sommer-Regen-Wald-42",
                    "hardware_id": "d208abdf6f5800a35e39a25c0e8fcab26ab28b94a20851156a3d5bf88419a4df",
                    "hostname": "LAPTOP-EM",
                    "platform": "macos-aarch64",
                    "app_version": "2026.2.1",
                    "nonce": "8e2a6f0c-3d9b-4b71-a5c4-d17e9f2b6a08"
                })
            )),
        )
    ),
    responses(
        (status = 200, description = "Activated", body = ActivateResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong key, e-mail or password (no hint which)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`SEATS_EXHAUSTED` (with `seats`, `seats_used`, `managers`), `USER_ALREADY_ACTIVE` (with `lease_expires_at`), `LICENSE_AMBIGUOUS`", body = ActivationConflict, content_type = "application/problem+json"),
        (status = 429, description = "`RATE_LIMITED`: too many failed attempts; see `Retry-After`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/client/activate")]
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<ActivateRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    // Failed attempts per license key or e-mail meet a growing back-off.
    let identity = match (&request.email, &request.license_key) {
        (Some(email), _) => normalize_email(email),
        (None, Some(key)) => keys::normalize(key).unwrap_or_else(|| key.clone()),
        (None, None) => String::new(),
    };
    let limiter = state.limiter.clone();
    let ip = super::client_addr(&req);
    let attempt = async move {
        if request.email.is_some() || request.password.is_some() {
            activate_user(req, state, request).await
        } else {
            activate_device(req, state, request).await
        }
    };
    with_backoff(&limiter, ip, &identity, attempt).await
}

/// Runs an attempt with a guessable credential (a password, a license key)
/// under the back-off of its address and (address, `identity`) pair: refused
/// while backing off, counted when the credential was wrong, cleared when right.
async fn with_backoff<T>(
    limiter: &RateLimiter,
    ip: Option<std::net::IpAddr>,
    identity: &str,
    attempt: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    let started = std::time::Instant::now();
    limiter.check_credentials(ip, identity, started)?;
    let result = attempt.await;
    match &result {
        Err(e) if e.code() == ErrorCode::InvalidCredentials => limiter.record_failure(ip, Some(identity), started),
        Ok(_) => limiter.record_success(ip, identity),
        Err(_) => {}
    }
    result
}

/// An activation token that matched nothing counts toward its address's
/// back-off (and is answered 429 while that lasts); a valid one never is.
fn count_token_failure<T>(state: &AppState, req: &HttpRequest, result: ApiResult<T>) -> ApiResult<T> {
    if matches!(&result, Err(e) if e.code() == ErrorCode::InvalidCredentials) {
        state.limiter.token_failed(super::client_addr(req), std::time::Instant::now())?;
    }
    result
}

async fn activate_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    request: ActivateRequest,
) -> ApiResult<HttpResponse> {
    let key = request
        .license_key
        .as_deref()
        .ok_or_else(|| ApiError::field("license_key", "give license_key, or email and password"))?;
    let Some(key) = keys::normalize(key) else { return Err(ApiError::invalid_credentials()) };
    let ctx = software_ctx(&req, None);
    let token = new_token('d');
    let token_hash = sha256_hex(&token);
    let now = state.clock.now();
    let state2 = state.clone();
    let (license, device) = state
        .db
        .write(move |conn| {
            let found = repo::license_by_key(conn, &key)?.ok_or_else(ApiError::invalid_credentials)?;
            if found.kind != COMPUTER_BASED {
                return Err(ApiError::field("email", "a user-based license activates with email and password"));
            }
            let license = lock_license(conn, &found.id)?;
            gate(&license, now)?;
            let machine = Machine {
                hardware_id: &request.hardware_id,
                hostname: request.hostname.as_deref(),
                platform: request.platform.as_deref(),
                app_version: request.app_version.as_deref(),
            };
            let (device, newly) = take_device_seat(conn, &license, &machine, false, Some(&token_hash), now)?;
            record_device(
                conn,
                &ctx,
                &license,
                &device,
                "device.activated",
                now,
                json!({ "offline": false, "reactivation": !newly }),
            )?;
            Ok((license_row(conn, &license.id, now)?, device))
        })
        .await?;
    let valid_until = trust_until(&state2, &license.license, now);
    let echo = Echo {
        license_id: Some(license.license.id.clone()),
        hardware_id: Some(device.hardware_id.clone()),
        device_id: Some(device.id.clone()),
        ..Echo::new("activate", now, request.nonce)
    };
    Ok(answer(&ActivateResponse {
        code: ValidationCode::Valid,
        valid: true,
        activation_token: token,
        license: ClientLicense::new(license, now),
        device: Some(device.into()),
        user: None,
        lease_expires_at: None,
        valid_until: utc(valid_until),
        echo,
    }))
}

async fn activate_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    request: ActivateRequest,
) -> ApiResult<HttpResponse> {
    let (Some(email), Some(password)) = (request.email.as_deref(), request.password.clone()) else {
        return Err(ApiError::field("password", "email and password go together"));
    };
    let email = normalize_email(email);
    let key = match request.license_key.as_deref() {
        None => None,
        Some(k) => Some(keys::normalize(k).ok_or_else(ApiError::invalid_credentials)?),
    };
    let (lookup_email, lookup_key) = (email.clone(), key.clone());
    // With a key at most one user matches; without, at most MAX_CANDIDATES.
    let checks = if key.is_some() { 1 } else { MAX_CANDIDATES };
    let mut candidates = state
        .db
        .run(move |conn| Ok(repo::users_by_email(conn, &lookup_email, lookup_key.as_deref(), checks as i64)?))
        .await?
        .into_iter();
    let mut matched = Vec::new();
    for _ in 0..checks {
        match candidates.next() {
            Some((user, license)) => {
                if state.hasher.verify(password.clone(), Some(user.password_hash.clone())).await? {
                    matched.push((user, license));
                }
            }
            None => {
                state.hasher.verify(password.clone(), None).await?;
            }
        }
    }
    let (user, license) = match matched.len() {
        0 => return Err(ApiError::invalid_credentials()),
        1 => matched.pop().expect("one match"),
        _ => {
            return Err(ApiError::new(
                ErrorCode::LicenseAmbiguous,
                "This e-mail and password open several licenses; send the license_key of the one to activate.",
            ));
        }
    };
    let ctx = software_ctx(&req, Some(email));
    let token = new_token('u');
    let token_hash = sha256_hex(&token);
    let now = state.clock.now();
    let hardware_id = request.hardware_id.clone();
    let (row, activation) = state
        .db
        .write(move |conn| {
            let license = lock_license(conn, &license.id)?;
            // The user may have been removed since the password was checked.
            license_users::find(conn, &license.id, &user.id)?.ok_or_else(ApiError::invalid_credentials)?;
            gate(&license, now)?;
            let lease_until = now + TimeDelta::seconds(i64::from(license.lease_seconds));
            let activation = match repo::open_activation(conn, &user.id)? {
                Some(open) if open.lease_expires_at > now && open.hardware_id != request.hardware_id => {
                    return Err(ApiError::new(
                        ErrorCode::UserAlreadyActive,
                        "This user is active on another computer. It ends when the software there deactivates, \
                         its lease runs out, or a license manager resets the activation.",
                    )
                    .with_extra("lease_expires_at", utc(open.lease_expires_at))
                    .with_extra("license_id", &license.id)
                    .with_extra("user_id", &user.id));
                }
                Some(open) if open.lease_expires_at > now => repo::renew_activation(
                    conn,
                    &open.id,
                    &token_hash,
                    kept(request.hostname.as_deref(), open.hostname.as_deref()),
                    kept(request.platform.as_deref(), open.platform.as_deref()),
                    kept(request.app_version.as_deref(), open.app_version.as_deref()),
                    lease_until,
                    now,
                )?,
                stale => {
                    if let Some(stale) = stale {
                        repo::end_activation(conn, &stale.id, now, "lease_expired")?;
                    }
                    let activation = UserActivation {
                        id: ids::new_id(),
                        license_user_id: user.id.clone(),
                        license_id: license.id.clone(),
                        hardware_id: request.hardware_id.clone(),
                        hostname: request.hostname.clone(),
                        platform: request.platform.clone(),
                        app_version: request.app_version.clone(),
                        token_hash,
                        activated_at: now,
                        last_seen_at: now,
                        lease_expires_at: lease_until,
                        ended_at: None,
                        end_reason: None,
                    };
                    repo::insert_activation(conn, &activation)?;
                    activation
                }
            };
            let target = Target {
                order_id: Some(&license.order_id),
                license_id: Some(&license.id),
                subject_id: Some(&user.id),
                hardware_id: Some(&activation.hardware_id),
            };
            audit::record(
                conn,
                &ctx,
                now,
                "license_user.activated",
                target,
                json!({ "lease_expires_at": utc(activation.lease_expires_at) }),
            )?;
            Ok((license_row(conn, &license.id, now)?, (activation, user)))
        })
        .await?;
    let (activation, user) = activation;
    let valid_until = trust_until(&state, &row.license, now).min(activation.lease_expires_at.max(now));
    let echo = Echo {
        license_id: Some(row.license.id.clone()),
        hardware_id: Some(hardware_id),
        user_id: Some(user.id.clone()),
        ..Echo::new("activate", now, request.nonce)
    };
    Ok(answer(&ActivateResponse {
        code: ValidationCode::Valid,
        valid: true,
        activation_token: token,
        license: ClientLicense::new(row, now),
        device: None,
        user: Some(ClientUser { id: user.id, email: user.email, name: user.name }),
        lease_expires_at: Some(utc(activation.lease_expires_at)),
        valid_until: utc(valid_until),
        echo,
    }))
}

/// The outcome of a validation, before it is answered.
struct Verdict {
    code: ValidationCode,
    license: Option<License>,
    device_id: Option<String>,
    user_id: Option<String>,
    lease_expires_at: Option<NaiveDateTime>,
}

impl Verdict {
    fn code(code: ValidationCode) -> Self {
        Self { code, license: None, device_id: None, user_id: None, lease_expires_at: None }
    }
}

fn judge_license(license: &License, now: NaiveDateTime) -> ValidationCode {
    match Status::of(license, now) {
        Status::Active => ValidationCode::Valid,
        Status::Suspended => ValidationCode::Suspended,
        Status::Expired => ValidationCode::Expired,
    }
}

fn judge_device(
    conn: &mut AnyConnection,
    device: Device,
    license: License,
    hardware_id: &str,
    now: NaiveDateTime,
) -> ApiResult<Verdict> {
    let code = if device.hardware_id != hardware_id || device.status != DEVICE_ACTIVE {
        ValidationCode::NotActivated
    } else {
        judge_license(&license, now)
    };
    if code == ValidationCode::Valid {
        repo::touch_device(conn, &device, now)?;
    }
    Ok(Verdict { code, device_id: Some(device.id), license: Some(license), user_id: None, lease_expires_at: None })
}

/// Validate: is this activation (or this computer on this key) good now?
///
/// Called by the desktop software; no token. Send `activation_token` and
/// `hardware_id`, or for a computer-based license `license_key` and
/// `hardware_id` (exactly one of token and key). Every well-formed request is
/// answered 200: `valid`, and `code` `VALID`, `NOT_FOUND`, `NOT_ACTIVATED`,
/// `SUSPENDED`, `EXPIRED` or `LEASE_EXPIRED`; `valid_until` says how long a
/// VALID may be trusted offline (null otherwise).
#[utoipa::path(
    tag = "client",
    request_body(
        content = ValidateRequest,
        examples(
            ("activation token" = (
                summary = "The activation token from activate",
                value = json!({
                    "activation_token": "lat_dz688qb4sx3vevdagy2dj4hr56fefj8wcx9rb2xpf80qzms9pdkp1",
                    "hardware_id": "d18fa711654b3123a6d581f5cfa3723355c635878c3140843375fb78fbeab43e",
                    "nonce": "2c7d1e9a-6b4f-4a30-8d5e-b9f3a0c7e264"
                })
            )),
            ("license key" = (
                summary = "A computer-based license's key and this computer",
                value = json!({
                    "license_key": "7XK2M-Q9D4R-T1V8W-3HJ6N-P5B0C-Y2Z4A",
                    "hardware_id": "d18fa711654b3123a6d581f5cfa3723355c635878c3140843375fb78fbeab43e",
                    "nonce": "5a0e8b3f-1c6d-4e92-b7a4-6f2d9c1e8b07"
                })
            )),
        )
    ),
    responses((status = 200, description = "`valid`, `code` and `valid_until`", body = ValidateResponse)),
    security(())
)]
#[post("/client/validate")]
pub async fn validate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<ValidateRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let now = state.clock.now();
    let (token, key) = match (request.activation_token.as_deref(), request.license_key.as_deref()) {
        (Some(t), None) => (Some(t.to_owned()), None),
        (None, Some(k)) => (None, Some(k.to_owned())),
        _ => return Err(ApiError::field("activation_token", "give activation_token or license_key (not both)")),
    };
    let ip = super::client_addr(&req);
    // A key is a guessable credential: the back-off applies before it is
    // looked up. A token is looked up first: a valid one is never refused.
    // The key as tried: normalized, or as sent when it is no key at all.
    let tried: Option<Result<String, String>> = key.map(|raw| keys::normalize(&raw).ok_or(raw));
    let identity = tried.as_ref().map(|k| match k {
        Ok(text) | Err(text) => text.as_str(),
    });
    if let Some(identity) = identity {
        state.limiter.check_credentials(ip, identity, std::time::Instant::now())?;
    }
    let key = tried.as_ref().and_then(|k| k.as_ref().ok().cloned());
    let by_token = token.is_some();
    let hardware_id = request.hardware_id.clone();
    let verdict = state
        .db
        .run(move |conn| {
            if let Some(token) = token {
                return match parse_token(&token) {
                    None => Ok(Verdict::code(ValidationCode::NotFound)),
                    Some(Token::Device(hash)) => match repo::device_by_token(conn, &hash)? {
                        None => Ok(Verdict::code(ValidationCode::NotFound)),
                        Some((device, license)) => judge_device(conn, device, license, &hardware_id, now),
                    },
                    Some(Token::User(hash)) => match repo::activation_by_token(conn, &hash)? {
                        None => Ok(Verdict::code(ValidationCode::NotFound)),
                        Some((activation, license)) => {
                            let code = if activation.hardware_id != hardware_id || activation.ended_at.is_some() {
                                ValidationCode::NotActivated
                            } else {
                                match judge_license(&license, now) {
                                    ValidationCode::Valid if activation.lease_expires_at <= now => {
                                        ValidationCode::LeaseExpired
                                    }
                                    other => other,
                                }
                            };
                            Ok(Verdict {
                                code,
                                lease_expires_at: Some(activation.lease_expires_at),
                                license: Some(license),
                                device_id: None,
                                user_id: Some(activation.license_user_id),
                            })
                        }
                    },
                };
            }
            let Some(key) = key else { return Ok(Verdict::code(ValidationCode::NotFound)) };
            match repo::device_by_key(conn, &key, &hardware_id)? {
                Some((device, license)) => judge_device(conn, device, license, &hardware_id, now),
                None => match repo::license_by_key(conn, &key)? {
                    None => Ok(Verdict::code(ValidationCode::NotFound)),
                    Some(license) => Ok(Verdict {
                        code: ValidationCode::NotActivated,
                        license: Some(license),
                        ..Verdict::code(ValidationCode::NotActivated)
                    }),
                },
            }
        })
        .await?;
    if verdict.code == ValidationCode::NotFound {
        // An unknown token or key is a failed credential: it counts toward the back-off.
        let now = std::time::Instant::now();
        if by_token {
            state.limiter.token_failed(ip, now)?;
        } else {
            state.limiter.record_failure(ip, identity, now);
        }
    }
    let valid = verdict.code == ValidationCode::Valid;
    let valid_until = match (&verdict.license, valid) {
        (Some(license), true) => {
            let until = trust_until(&state, license, now);
            Some(utc(verdict.lease_expires_at.map_or(until, |lease| until.min(lease))))
        }
        _ => None,
    };
    Ok(answer(&ValidateResponse {
        valid,
        code: verdict.code,
        valid_until,
        lease_expires_at: verdict.lease_expires_at.filter(|_| valid).map(utc),
        echo: Echo {
            license_id: verdict.license.map(|l| l.id),
            hardware_id: Some(request.hardware_id),
            device_id: verdict.device_id,
            user_id: verdict.user_id,
            ..Echo::new("validate", now, request.nonce)
        },
    }))
}

/// Heartbeat: keep an activation alive.
///
/// Called by the desktop software while it runs, with the activation token and
/// hardware id. A user's lease then ends at now + `lease_seconds` (it never
/// accumulates); a device's `last_seen_at` is updated. An ended lease is 409
/// `LEASE_EXPIRED` (activate again), an ended activation 409 `NOT_ACTIVATED`,
/// a suspended or expired license 403 `SUSPENDED` / `EXPIRED`.
#[utoipa::path(
    tag = "client",
    request_body(
        content = TokenRequest,
        example = json!({
            "activation_token": "lat_uyyc8nasnwvasrdne148kn7tz1r82w8hwvrnvw4thxphq75zwcxxe",
            "hardware_id": "d208abdf6f5800a35e39a25c0e8fcab26ab28b94a20851156a3d5bf88419a4df",
            "nonce": "9d4b7e2a-0f5c-4a18-b6e3-c8a1f7d2e590"
        })
    ),
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: unknown or garbage token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`LEASE_EXPIRED` (activate again) or `NOT_ACTIVATED` (the activation ended)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/client/heartbeat")]
pub async fn heartbeat(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let token = parse_token(&request.activation_token).ok_or_else(ApiError::invalid_credentials);
    let token = count_token_failure(&state, &req, token)?;
    let now = state.clock.now();
    let hardware_id = request.hardware_id.clone();
    let beat = state
        .db
        .write(move |conn| match token {
            Token::Device(hash) => {
                let (device, license) =
                    repo::device_by_token(conn, &hash)?.ok_or_else(ApiError::invalid_credentials)?;
                if device.hardware_id != hardware_id || device.status != DEVICE_ACTIVE {
                    return Err(not_activated());
                }
                gate(&license, now)?;
                repo::touch_device(conn, &Device { last_seen_at: None, ..device.clone() }, now)?;
                Ok((license, Some(device.id), None, None))
            }
            Token::User(hash) => {
                let (activation, license) =
                    repo::activation_by_token(conn, &hash)?.ok_or_else(ApiError::invalid_credentials)?;
                let user = Some(activation.license_user_id.as_str());
                if activation.hardware_id != hardware_id || activation.ended_at.is_some() {
                    return Err(about(not_activated(), &license.id, None, user));
                }
                gate(&license, now).map_err(|e| about(e, &license.id, None, user))?;
                let until = now + TimeDelta::seconds(i64::from(license.lease_seconds));
                if !repo::extend_lease(conn, &activation.id, until, now)? {
                    let expired = ApiError::new(ErrorCode::LeaseExpired, "The lease ran out; activate again.");
                    return Err(about(expired, &license.id, None, user));
                }
                Ok((license, None, Some(activation.license_user_id), Some(until)))
            }
        })
        .await;
    let (license, device_id, user_id, lease) = count_token_failure(&state, &req, beat)?;
    let valid_until = trust_until(&state, &license, now);
    Ok(answer(&HeartbeatResponse {
        code: ValidationCode::Valid,
        valid_until: utc(lease.map_or(valid_until, |l| valid_until.min(l))),
        lease_expires_at: lease.map(utc),
        echo: Echo {
            license_id: Some(license.id),
            hardware_id: Some(request.hardware_id),
            device_id,
            user_id,
            ..Echo::new("heartbeat", now, request.nonce)
        },
    }))
}

/// Deactivate: ends this activation and frees its seat at once.
///
/// Called by the desktop software when it gives its seat back, with the
/// activation token and hardware id; the token stops working. An activation
/// that has ended (or another hardware id) is 409 `NOT_ACTIVATED` and nothing
/// changes. Offline devices have no token: they leave through
/// `offline/deactivate` or the portal.
#[utoipa::path(
    tag = "client",
    request_body(
        content = TokenRequest,
        example = json!({
            "activation_token": "lat_dz688qb4sx3vevdagy2dj4hr56fefj8wcx9rb2xpf80qzms9pdkp1",
            "hardware_id": "d18fa711654b3123a6d581f5cfa3723355c635878c3140843375fb78fbeab43e",
            "nonce": "e6a1c9f4-8b2d-4d07-93e5-7f0b4a2c6d18"
        })
    ),
    responses(
        (status = 200, body = DeactivateResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: unknown or garbage token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`NOT_ACTIVATED`: the activation had ended; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/client/deactivate")]
pub async fn deactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let request = body.0;
    let token = parse_token(&request.activation_token).ok_or_else(ApiError::invalid_credentials);
    let token = count_token_failure(&state, &req, token)?;
    let now = state.clock.now();
    let ctx = software_ctx(&req, None);
    let hardware_id = request.hardware_id.clone();
    let ended = state
        .db
        .write(move |conn| match token {
            Token::Device(hash) => {
                let (device, license) =
                    repo::device_by_token(conn, &hash)?.ok_or_else(ApiError::invalid_credentials)?;
                if device.hardware_id != hardware_id || device.status != DEVICE_ACTIVE {
                    return Err(not_activated());
                }
                let after = devices::deactivate(conn, &device, false, now)?;
                let details = json!({ "by": "software", "seat_released_at": after.seat_released_at.map(utc) });
                record_device(conn, &ctx, &license, &after, "device.deactivated", now, details)?;
                Ok((license.id, Some(device.id), None))
            }
            Token::User(hash) => {
                let (activation, license) =
                    repo::activation_by_token(conn, &hash)?.ok_or_else(ApiError::invalid_credentials)?;
                if activation.hardware_id != hardware_id
                    || !repo::end_activation(conn, &activation.id, now, "deactivated")?
                {
                    return Err(not_activated());
                }
                let target = Target {
                    order_id: Some(&license.order_id),
                    license_id: Some(&license.id),
                    subject_id: Some(&activation.license_user_id),
                    hardware_id: Some(&activation.hardware_id),
                };
                audit::record(conn, &ctx, now, "license_user.deactivated", target, json!({}))?;
                Ok((license.id, None, Some(activation.license_user_id)))
            }
        })
        .await;
    let (license_id, device_id, user_id) = count_token_failure(&state, &req, ended)?;
    Ok(answer(&DeactivateResponse {
        code: "DEACTIVATED",
        echo: Echo {
            license_id: Some(license_id),
            hardware_id: Some(request.hardware_id),
            device_id,
            user_id,
            ..Echo::new("deactivate", now, request.nonce)
        },
    }))
}

/// Decodes and checks an offline request file.
fn read_request(text: &str, deactivation: bool) -> ApiResult<offline::RequestFile> {
    let request = offline::decode_request(text).map_err(|m| ApiError::field("request", &m))?;
    super::rules::hardware_id(&request.hardware_id)
        .map_err(|_| ApiError::field("request.hardware_id", "must be 1 to 128 printable ASCII characters"))?;
    for (name, value) in
        [("hostname", &request.hostname), ("platform", &request.platform), ("app_version", &request.app_version)]
    {
        if value.as_ref().is_some_and(|v| v.chars().count() > 255) {
            return Err(ApiError::field(&format!("request.{name}"), "must be at most 255 characters"));
        }
        if value.as_ref().is_some_and(|v| v.chars().any(|c| refused_char(c, false))) {
            return Err(ApiError::field(&format!("request.{name}"), "must not contain control characters"));
        }
    }
    super::time_in_range(&request.created_at).map_err(|_| {
        ApiError::field("request.created_at", "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    })?;
    if request.deactivate != deactivation {
        let message = if deactivation { "is not a deactivation request" } else { "is a deactivation request" };
        return Err(ApiError::field("request", message));
    }
    Ok(request)
}

/// Reads an offline request file and runs `attempt` under the back-off of the
/// license key it names (a key is a guessable credential).
async fn offline_attempt<F, Fut>(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OfflineRequest,
    deactivation: bool,
    attempt: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(HttpRequest, web::Data<AppState>, offline::RequestFile, Option<String>) -> Fut,
    Fut: Future<Output = ApiResult<HttpResponse>>,
{
    let request = read_request(&body.request, deactivation)?;
    echo_hardware_id(&req, &request.hardware_id);
    let limiter = state.limiter.clone();
    let ip = super::client_addr(&req);
    let identity = keys::normalize(&request.license_key).unwrap_or_else(|| request.license_key.clone());
    with_backoff(&limiter, ip, &identity, attempt(req, state, request, body.nonce)).await
}

/// Offline activation: a signed license file for a computer without internet.
///
/// No token: `request` is the request file the software wrote (base64 of its
/// JSON `{license_key, hardware_id, hostname?, platform?, app_version?,
/// created_at}`). The device is registered as `offline: true` and takes a
/// seat like an online activation; the file is valid until `valid_until` (at
/// most the license's expiry). A user-based
/// license is 409 `WRONG_LICENSE_KIND`, `offline_allowed: false` 409
/// `OFFLINE_NOT_ALLOWED`, a full license 409 `SEATS_EXHAUSTED`.
#[utoipa::path(
    tag = "client",
    request_body(
        content = OfflineRequest,
        example = json!({
            "request": "eyJsaWNlbnNlX2tleSI6IjdYSzJNLVE5RDRSLVQxVjhXLTNISjZOLVA1QjBDLVkyWjRBIiwiaGFyZHdhcmVfaWQiOiI1YzY1NmIwMTU4MGMwNzAxMmMxYzEyMjRlZDQ2NWM1MDk4Y2MwZTU0YTBhZTNhMGM2Mjg0YjU0OWU0MzU0Njg0IiwiaG9zdG5hbWUiOiJDQUQtV1MtMTIiLCJwbGF0Zm9ybSI6IndpbmRvd3MteDg2XzY0IiwiYXBwX3ZlcnNpb24iOiIyMDI2LjIuMSIsImNyZWF0ZWRfYXQiOiIyMDI2LTEyLTAxVDA5OjMwOjAwWiJ9",
            "nonce": "4f8c2e6a-9d1b-4b53-a0e7-3c5d8f1a9b26"
        })
    ),
    responses(
        (status = 200, body = OfflineActivateResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong license key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`OFFLINE_NOT_ALLOWED`, `WRONG_LICENSE_KIND` (user-based), `SEATS_EXHAUSTED`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/client/offline/activate")]
pub async fn offline_activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<OfflineRequest>,
) -> ApiResult<HttpResponse> {
    offline_attempt(req, state, body.0, false, offline_activate_now).await
}

async fn offline_activate_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    request: offline::RequestFile,
    nonce: Option<String>,
) -> ApiResult<HttpResponse> {
    let key = keys::normalize(&request.license_key).ok_or_else(ApiError::invalid_credentials)?;
    let ctx = software_ctx(&req, None);
    let now = state.clock.now();
    let state2 = state.clone();
    let (device, file, valid_until, license_id) = state
        .db
        .write(move |conn| {
            let found = repo::license_by_key(conn, &key)?.ok_or_else(ApiError::invalid_credentials)?;
            if found.kind != COMPUTER_BASED {
                return Err(ApiError::new(
                    ErrorCode::WrongLicenseKind,
                    "A user-based license can't be activated offline.",
                ));
            }
            let license = lock_license(conn, &found.id)?;
            if !license.offline_allowed {
                let error = ApiError::new(ErrorCode::OfflineNotAllowed, "This license may not be activated offline.");
                return Err(error.with_extra("license_id", &license.id));
            }
            gate(&license, now)?;
            let machine = Machine {
                hardware_id: &request.hardware_id,
                hostname: request.hostname.as_deref(),
                platform: request.platform.as_deref(),
                app_version: request.app_version.as_deref(),
            };
            let (device, _) = take_device_seat(conn, &license, &machine, true, None, now)?;
            let lifetime = now + TimeDelta::seconds(state2.config.offline_file_seconds);
            let valid_until = license.expires_at.map_or(lifetime, |e| e.min(lifetime));
            let file = LicenseFile { id: ids::new_id(), device_id: device.id.clone(), issued_at: now, valid_until };
            repo::insert_license_file(conn, &file)?;
            let newest = device.valid_until.map_or(valid_until, |v| v.max(valid_until));
            let changes = DeviceActivation {
                hostname: device.hostname.as_deref(),
                platform: device.platform.as_deref(),
                app_version: device.app_version.as_deref(),
                offline: true,
                status: DEVICE_ACTIVE,
                token_hash: device.token_hash.as_deref(),
                activated_at: device.activated_at,
                last_seen_at: device.last_seen_at,
                deactivated_at: None,
                valid_until: Some(newest),
                seat_released_at: None,
                updated_at: now,
            };
            let device = repo::update_device(conn, &device.id, &changes)?;
            let row = license_row(conn, &license.id, now)?;
            let payload = offline::Payload {
                format: offline::FORMAT,
                file_id: file.id.clone(),
                license_id: license.id.clone(),
                license_key: keys::display(&license.license_key),
                kind: license.kind.clone(),
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
            record_device(conn, &ctx, &license, &device, "device.activated", now, details)?;
            Ok((device, offline::encode_file(&state2.signer, &payload), valid_until, license.id))
        })
        .await?;
    let echo = Echo {
        license_id: Some(license_id),
        hardware_id: Some(device.hardware_id.clone()),
        device_id: Some(device.id.clone()),
        ..Echo::new("offline/activate", now, nonce)
    };
    Ok(answer(&OfflineActivateResponse {
        license_file: file,
        device: device.into(),
        valid_until: utc(valid_until),
        echo,
    }))
}

/// Offline deactivation: marks the device deactivated.
///
/// No token: `request` is the software's deactivation request file (the JSON
/// of an activation request plus `"deactivate": true`, base64). The seat is
/// free when the device's last license file runs out (`seat_released_at`):
/// an offline deactivation proves nothing, so the file's lifetime bounds it.
/// Only devices registered offline leave this way: an online device is 409
/// `NOT_OFFLINE_DEVICE`, no active device 409 `NOT_ACTIVATED`.
#[utoipa::path(
    tag = "client",
    request_body(
        content = OfflineRequest,
        example = json!({
            "request": "eyJsaWNlbnNlX2tleSI6IjdYSzJNLVE5RDRSLVQxVjhXLTNISjZOLVA1QjBDLVkyWjRBIiwiaGFyZHdhcmVfaWQiOiI1YzY1NmIwMTU4MGMwNzAxMmMxYzEyMjRlZDQ2NWM1MDk4Y2MwZTU0YTBhZTNhMGM2Mjg0YjU0OWU0MzU0Njg0IiwiaG9zdG5hbWUiOiJDQUQtV1MtMTIiLCJwbGF0Zm9ybSI6IndpbmRvd3MteDg2XzY0IiwiYXBwX3ZlcnNpb24iOiIyMDI2LjIuMSIsImNyZWF0ZWRfYXQiOiIyMDI2LTEyLTIwVDE2OjQ1OjAwWiIsImRlYWN0aXZhdGUiOnRydWV9",
            "nonce": "b1e7d3a9-5c0f-4e86-9b2a-8d4f6c0e3a75"
        })
    ),
    responses(
        (status = 200, body = OfflineDeactivateResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong license key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`NOT_ACTIVATED`: no active device with this hardware id (also a replayed deactivation); `NOT_OFFLINE_DEVICE`: the device activated online, so an unsigned request file can't end its activation. Nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/client/offline/deactivate")]
pub async fn offline_deactivate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ClientJson<OfflineRequest>,
) -> ApiResult<HttpResponse> {
    offline_attempt(req, state, body.0, true, offline_deactivate_now).await
}

async fn offline_deactivate_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    request: offline::RequestFile,
    nonce: Option<String>,
) -> ApiResult<HttpResponse> {
    let key = keys::normalize(&request.license_key).ok_or_else(ApiError::invalid_credentials)?;
    let ctx = software_ctx(&req, None);
    let now = state.clock.now();
    let (device, license_id) = state
        .db
        .write(move |conn| {
            let found = repo::license_by_key(conn, &key)?.ok_or_else(ApiError::invalid_credentials)?;
            let license = lock_license(conn, &found.id)?;
            let found = repo::device(conn, &license.id, &request.hardware_id)?;
            let device = match licensing::devices::may_leave_offline(found.as_ref()) {
                Ok(device) => device,
                Err(OfflineDeparture::NotActivated) => {
                    return Err(not_activated().with_extra("license_id", &license.id));
                }
                Err(OfflineDeparture::NotOfflineDevice) => {
                    let error = ApiError::new(
                        ErrorCode::NotOfflineDevice,
                        "This computer activated online; it deactivates from the software or the portal.",
                    );
                    return Err(about(error, &license.id, found.as_ref().map(|d| d.id.as_str()), None));
                }
            };
            let after = devices::deactivate(conn, device, false, now)?;
            let details =
                json!({ "by": "software", "offline": true, "seat_released_at": after.seat_released_at.map(utc) });
            record_device(conn, &ctx, &license, &after, "device.deactivated", now, details)?;
            Ok((after, license.id))
        })
        .await?;
    let echo = Echo {
        license_id: Some(license_id),
        hardware_id: Some(device.hardware_id.clone()),
        device_id: Some(device.id.clone()),
        ..Echo::new("offline/deactivate", now, nonce)
    };
    Ok(answer(&OfflineDeactivateResponse { code: "DEACTIVATED", device: device.into(), echo }))
}
