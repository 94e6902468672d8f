//! `/auth/login`, `/auth/refresh`, `/auth/logout`: access tokens (JWT) and
//! rotating refresh tokens whose re-use revokes their whole family.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::ValidJson;
use super::me::AccountView;
use crate::auth::sessions::{self, Issued};
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(refresh).service(logout);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(example = "admin@cre-do.example")]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    // HS256 JWT: fixed header, claims of two ids and two i64 times (≤ 20 characters each), 32-byte MAC.
    #[schema(max_length = 341, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$")]
    pub access_token: String,
    #[schema(example = "Bearer", max_length = 6, pattern = r"^Bearer$")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    // `Config` takes 60..=MAX_ACCESS_TOKEN_SECONDS.
    #[schema(minimum = 60, maximum = 900)]
    pub expires_in: i64,
    /// Opaque; presented once to `/auth/refresh`.
    #[schema(min_length = 56, max_length = 56, pattern = r"^lrt_[0-9a-hjkmnp-tv-z]{52}$")]
    pub refresh_token: String,
    /// Seconds until the refresh-token family ends (absolute lifetime).
    // At most the family's lifetime, which `Config` caps at 366 days.
    #[schema(minimum = 0, maximum = 31622400)]
    pub refresh_expires_in: i64,
    pub account: AccountView,
}

impl TokenResponse {
    /// The answer to a login or refresh: a new access token (a JWT of the
    /// account and its sign-in family) with the refresh token just issued.
    fn new(state: &AppState, issued: Issued) -> Self {
        let lifetime = state.config.access_token_seconds;
        let access_token =
            state.jwt.issue(&issued.account.id, &issued.family, issued.issued_at.and_utc().timestamp(), lifetime);
        Self {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime,
            refresh_expires_in: issued.refresh_expires_in(),
            refresh_token: issued.refresh_token,
            account: AccountView::from(issued.account),
        }
    }
}

/// Sign in with e-mail and password.
///
/// For admins and license managers (the portal); needs no access token. The
/// answer holds an access token (a JWT for `Authorization: Bearer`, valid for
/// `expires_in` seconds, at most 900), a refresh token for `POST /auth/refresh`
/// and the account in the `GET /me` shape; the e-mail is compared
/// case-insensitively. A wrong e-mail or password is the same 401
/// `INVALID_CREDENTIALS`, a disabled account with the right password 403
/// `ACCOUNT_DISABLED`, and repeated failures meet a growing back-off (429
/// `RATE_LIMITED` with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body(
        content = LoginRequest,
        example = json!({ "email": "max.mustermann@muster-bau.example", "password": "Gruenes-Fenster-2026" })
    ),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong e-mail or password (the same for both)"),
        (status = 403, description = "`ACCOUNT_DISABLED`: right password, disabled account"),
        (status = 429, description = "`RATE_LIMITED`: too many failed attempts for this e-mail or address; see `Retry-After`"),
    ),
    security(())
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<LoginRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    let LoginRequest { email, password } = body.value;
    let email = super::normalize_email(&email);
    let started = std::time::Instant::now();
    let ip = super::client_addr(&req);
    state.limiter.check_credentials(ip, &email, started)?;
    let lookup = email.clone();
    let account = state.db.run(move |conn| sessions::account_by_email(conn, &lookup)).await?;
    let ok = state.hasher.verify(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let account =
        sessions::credentials(account, ok).inspect_err(|_| state.limiter.record_failure(ip, Some(&email), started))?;
    // The right password, even of a disabled account, ends the back-off.
    state.limiter.record_success(ip, &email);
    let lifetime = TimeDelta::seconds(state.config.refresh_token_seconds);
    let now = state.clock.now();
    let issued = state.db.write(move |tx| sessions::login(tx, account, lifetime, now)).await?;
    Ok(web::Json(TokenResponse::new(&state, issued)))
}

/// Trade a refresh token for new tokens; the presented one stops working.
///
/// Needs no access token: send the refresh token of the last login or
/// refresh, typically when a call answered 401 `TOKEN_EXPIRED`. The answer has
/// the login shape, with a new refresh token; presenting a used one again
/// revokes the whole sign-in it belongs to. Unknown, expired, revoked or
/// re-used tokens, and tokens of a disabled account, get 401
/// `INVALID_REFRESH_TOKEN`; a portal refreshes one at a time (serialized
/// across browser tabs).
#[utoipa::path(
    tag = "auth",
    request_body(
        content = RefreshRequest,
        example = json!({ "refresh_token": "lrt_d0ejybvw3v98bsf85h3c9n6xx88x6gbbvec83r0m5xw26f6mfbh0" })
    ),
    responses(
        (status = 200, description = "New tokens; the presented refresh token is used up", body = TokenResponse),
        (status = 401, description = "`INVALID_REFRESH_TOKEN`: unknown, expired, revoked or re-used (re-use revokes the family)"),
    ),
    security(())
)]
#[post("/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<RefreshRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    let presented = body.value.refresh_token;
    let now = state.clock.now();
    let rotation = state.db.write(move |tx| sessions::refresh(tx, &presented, now)).await?;
    if rotation.is_refused() {
        state.limiter.token_failed(super::client_addr(&req), std::time::Instant::now())?;
    }
    Ok(web::Json(TokenResponse::new(&state, rotation.into_issued()?)))
}

/// Sign out: revokes the refresh token's family. Always 204.
///
/// Needs no access token. The refresh token, and every token rotated from it,
/// stops refreshing; access tokens already issued stay valid until they
/// expire (at most 15 minutes), so the portal also drops its own. An unknown
/// or already revoked token is answered 204 too.
#[utoipa::path(
    tag = "auth",
    request_body(
        content = RefreshRequest,
        example = json!({ "refresh_token": "lrt_d0ejybvw3v98bsf85h3c9n6xx88x6gbbvec83r0m5xw26f6mfbh0" })
    ),
    responses((status = 204, description = "Signed out (also for an unknown token)")),
    security(())
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, body: ValidJson<RefreshRequest>) -> ApiResult<HttpResponse> {
    let presented = body.value.refresh_token;
    let now = state.clock.now();
    state.db.write(move |tx| sessions::logout(tx, &presented, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
