//! The client API for the desktop software: activate, validate, heartbeat,
//! deactivate, offline activation. No JWT: the software proves itself with a
//! license key, or a license user's e-mail and password, and then with an
//! activation token. Every answer is signed (see `client_sign`). The handlers
//! parse, call `licensing::activation`/`validation` and render; the wire
//! types are in [`wire`].

pub mod wire;

use std::future::Future;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use self::wire::*;
use super::client_sign::ClientEcho;
use super::extract::refused_char;
use super::{client_ip, normalize_email, utc};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::licensing::activation::{self, Activated, Machine};
use crate::licensing::error::About;
use crate::licensing::tokens::{self, Token};
use crate::licensing::validation::{self, Credential};
use crate::licensing::{self, keys, offline};
use crate::ratelimit::RateLimiter;
use crate::repositories::audit::AuditCtx;
use crate::repositories::license_users;
use crate::state::AppState;
use crate::telemetry::current_request_id;

pub use crate::licensing::tokens::TOKEN_PREFIX;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(public_key)
        .service(activate)
        .service(validate)
        .service(heartbeat)
        .service(deactivate)
        .service(offline_activate)
        .service(offline_deactivate);
}

/// The licenses one e-mail + password is tried against without a key. Every
/// key-less attempt costs exactly this many password checks (padded with the
/// dummy hash), so its time tells nothing about how many licenses the e-mail
/// has; a user of more licenses sends the key.
const MAX_CANDIDATES: usize = 3;

fn software_ctx(req: &HttpRequest, email: Option<String>) -> AuditCtx {
    AuditCtx {
        actor_kind: "software",
        actor_id: None,
        actor_email: email,
        ip: client_ip(req),
        request_id: current_request_id(),
    }
}

impl Echo {
    /// The echo naming what `about` names.
    fn about(endpoint: &'static str, now: chrono::NaiveDateTime, nonce: Option<String>, about: About) -> Self {
        Self {
            license_id: about.license_id,
            device_id: about.device_id,
            user_id: about.user_id,
            ..Self::new(endpoint, now, nonce)
        }
    }
}

fn machine(request: &ActivateRequest) -> Machine {
    Machine {
        hardware_id: request.hardware_id.clone(),
        hostname: request.hostname.clone(),
        platform: request.platform.clone(),
        app_version: request.app_version.clone(),
    }
}

/// The answer of a started activation.
fn activated(done: Activated, now: chrono::NaiveDateTime, nonce: Option<String>) -> HttpResponse {
    let Activated { token, license, device, user, valid_until } = done;
    let about = About {
        license_id: Some(license.license.id.clone()),
        device_id: device.as_ref().map(|d| d.id.clone()),
        user_id: user.as_ref().map(|(u, _)| u.id.clone()),
    };
    let hardware_id =
        device.as_ref().map(|d| d.hardware_id.clone()).or(user.as_ref().map(|(_, a)| a.hardware_id.clone()));
    let lease_expires_at = user.as_ref().map(|(_, a)| utc(a.lease_expires_at));
    answer(&ActivateResponse {
        code: ValidationCode::Valid,
        valid: true,
        activation_token: token,
        license: ClientLicense::new(license, now),
        device: device.map(Into::into),
        user: user.map(|(u, _)| ClientUser { id: u.id, email: u.email, name: u.name }),
        lease_expires_at,
        valid_until: utc(valid_until),
        echo: Echo { hardware_id, ..Echo::about("activate", now, nonce, about) },
    })
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
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong key, e-mail or password (no hint which)"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`"),
        (status = 409, description = "`SEATS_EXHAUSTED` (with `seats`, `seats_used`, `managers`), `USER_ALREADY_ACTIVE` (with `lease_expires_at`), `LICENSE_AMBIGUOUS`", body = ActivationConflict, content_type = "application/problem+json"),
        (status = 429, description = "`RATE_LIMITED`: too many failed attempts; see `Retry-After`"),
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

/// The activation a token request names; a string that can't be a token
/// counts toward the back-off like a wrong one.
fn token_of(state: &AppState, req: &HttpRequest, request: &TokenRequest) -> ApiResult<Token> {
    let token = tokens::parse(&request.activation_token).ok_or_else(ApiError::invalid_credentials);
    count_token_failure(state, req, token)
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
    let now = state.clock.now();
    let windows = state.windows();
    let machine = machine(&request);
    let done = state.db.write(move |tx| activation::activate_device(tx, &ctx, windows, &key, &machine, now)).await?;
    Ok(activated(done, now, request.nonce))
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
        .run(move |conn| {
            Ok::<_, ApiError>(license_users::by_email(conn, &lookup_email, lookup_key.as_deref(), checks as i64)?)
        })
        .await?
        .into_iter();
    let mut matched = Vec::new();
    for _ in 0..checks {
        match candidates.next() {
            Some((user, _)) => {
                if state.hasher.verify(password.clone(), Some(user.password_hash.clone())).await? {
                    matched.push(user);
                }
            }
            None => {
                state.hasher.verify(password.clone(), None).await?;
            }
        }
    }
    let user = match matched.len() {
        0 => return Err(ApiError::invalid_credentials()),
        1 => matched.pop().expect("one match"),
        _ => return Err(licensing::Error::LicenseAmbiguous.into()),
    };
    let ctx = software_ctx(&req, Some(email));
    let now = state.clock.now();
    let windows = state.windows();
    let machine = machine(&request);
    let done = state.db.write(move |tx| activation::activate_user(tx, &ctx, windows, &user, &machine, now)).await?;
    Ok(activated(done, now, request.nonce))
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
    let (token, key) = match (request.activation_token, request.license_key) {
        (Some(t), None) => (Some(t), None),
        (None, Some(k)) => (None, Some(k)),
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
    let windows = state.windows();
    // On SQLite this read runs right here, on this worker's connection.
    let verdict = state
        .db
        .read(move |conn| {
            let credential = match &token {
                Some(token) => Credential::Token(token),
                None => Credential::Key(key.as_deref()),
            };
            validation::validate(conn, windows, credential, &hardware_id, now)
        })
        .await
        .map_err(ApiError::from)?;
    if verdict.touch {
        // At most once per TOUCH_AFTER_SECONDS per device: through the pool, as a write.
        let device_id = verdict.about.device_id.clone().unwrap_or_default();
        state.db.run(move |conn| validation::touch(conn, &device_id, now)).await.map_err(ApiError::from)?;
    }
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
    Ok(answer(&ValidateResponse {
        valid,
        code: verdict.code,
        valid_until: verdict.valid_until.map(utc),
        lease_expires_at: verdict.lease_expires_at.filter(|_| valid).map(utc),
        echo: Echo {
            hardware_id: Some(request.hardware_id),
            ..Echo::about("validate", now, request.nonce, verdict.about)
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
        (status = 401, description = "`INVALID_CREDENTIALS`: unknown or garbage token"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`"),
        (status = 409, description = "`LEASE_EXPIRED` (activate again) or `NOT_ACTIVATED` (the activation ended)"),
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
    let token = token_of(&state, &req, &request)?;
    let now = state.clock.now();
    let hardware_id = request.hardware_id.clone();
    let windows = state.windows();
    let beat = state.db.write(move |tx| activation::heartbeat(tx, windows, &token, &hardware_id, now)).await;
    let beat = count_token_failure(&state, &req, beat.map_err(ApiError::from))?;
    Ok(answer(&HeartbeatResponse {
        code: ValidationCode::Valid,
        valid_until: utc(beat.valid_until),
        lease_expires_at: beat.lease_expires_at.map(utc),
        echo: Echo {
            hardware_id: Some(request.hardware_id),
            ..Echo::about("heartbeat", now, request.nonce, beat.about)
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
        (status = 401, description = "`INVALID_CREDENTIALS`: unknown or garbage token"),
        (status = 409, description = "`NOT_ACTIVATED`: the activation had ended; nothing changed"),
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
    let token = token_of(&state, &req, &request)?;
    let now = state.clock.now();
    let ctx = software_ctx(&req, None);
    let hardware_id = request.hardware_id.clone();
    let ended = state.db.write(move |tx| activation::deactivate(tx, &ctx, &token, &hardware_id, now)).await;
    let about = count_token_failure(&state, &req, ended.map_err(ApiError::from))?;
    Ok(answer(&DeactivateResponse {
        code: "DEACTIVATED",
        echo: Echo { hardware_id: Some(request.hardware_id), ..Echo::about("deactivate", now, request.nonce, about) },
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
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong license key"),
        (status = 403, description = "`SUSPENDED` or `EXPIRED`"),
        (status = 409, description = "`OFFLINE_NOT_ALLOWED`, `WRONG_LICENSE_KIND` (user-based), `SEATS_EXHAUSTED`"),
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
    let ctx = software_ctx(&req, None);
    let now = state.clock.now();
    let windows = state.windows();
    let signer = state.signer.clone();
    let done =
        state.db.write(move |tx| activation::activate_offline(tx, &ctx, windows, &signer, &request, now)).await?;
    let echo = Echo {
        license_id: Some(done.license_id),
        hardware_id: Some(done.device.hardware_id.clone()),
        device_id: Some(done.device.id.clone()),
        ..Echo::new("offline/activate", now, nonce)
    };
    Ok(answer(&OfflineActivateResponse {
        license_file: done.license_file,
        device: done.device.into(),
        valid_until: utc(done.valid_until),
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
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong license key"),
        (status = 409, description = "`NOT_ACTIVATED`: no active device with this hardware id (also a replayed deactivation); `NOT_OFFLINE_DEVICE`: the device activated online, so an unsigned request file can't end its activation. Nothing changed"),
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
    let ctx = software_ctx(&req, None);
    let now = state.clock.now();
    let (license_id, device) =
        state.db.write(move |tx| activation::deactivate_offline(tx, &ctx, &request, now)).await?;
    let echo = Echo {
        license_id: Some(license_id),
        hardware_id: Some(device.hardware_id.clone()),
        device_id: Some(device.id.clone()),
        ..Echo::new("offline/deactivate", now, nonce)
    };
    Ok(answer(&OfflineDeactivateResponse { code: "DEACTIVATED", device: device.into(), echo }))
}
