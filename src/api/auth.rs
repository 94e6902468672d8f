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
use crate::crypto::{random_token, sha256_hex};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids::new_id;
use crate::models::accounts::Account;
use crate::models::tokens::NewRefreshToken;
use crate::repositories::{accounts, refresh_tokens};
use crate::state::AppState;

pub const REFRESH_TOKEN_PREFIX: &str = "lrt_";

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

fn invalid_refresh() -> ApiError {
    ApiError::new(ErrorCode::InvalidRefreshToken, "The refresh token is not valid; sign in again.")
}

/// Stores a new refresh token of `family` and answers both tokens.
fn issue(
    conn: &mut AnyConnection,
    state: &AppState,
    account: Account,
    family: &str,
    family_expires_at: chrono::NaiveDateTime,
) -> ApiResult<TokenResponse> {
    let now = state.clock.now();
    let token = random_token(REFRESH_TOKEN_PREFIX);
    refresh_tokens::insert(
        conn,
        &NewRefreshToken {
            id: &new_id(),
            account_id: &account.id,
            family_id: family,
            token_hash: &sha256_hex(&token),
            created_at: now,
            expires_at: family_expires_at,
        },
    )?;
    let lifetime = state.config.access_token_seconds;
    Ok(TokenResponse {
        access_token: state.jwt.issue(&account.id, family, now.and_utc().timestamp(), lifetime),
        token_type: "Bearer",
        expires_in: lifetime,
        refresh_token: token,
        refresh_expires_in: (family_expires_at - now).num_seconds().max(0),
        account: AccountView::from(account),
    })
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
    let account = state.db.run(move |conn| ApiResult::Ok(accounts::find_by_email(conn, &lookup)?)).await?;
    let ok = state.hasher.verify(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let account = match account {
        Some(account) if ok => account,
        _ => {
            state.limiter.record_failure(ip, Some(&email), started);
            return Err(ApiError::invalid_credentials());
        }
    };
    state.limiter.record_success(ip, &email);
    if account.disabled {
        return Err(ApiError::new(ErrorCode::AccountDisabled, "This account is disabled."));
    }
    let state2 = state.clone();
    let tokens = state
        .db
        .write(move |conn| {
            let now = state2.clock.now();
            let expires = now + TimeDelta::seconds(state2.config.refresh_token_seconds);
            issue(conn, &state2, account, &new_id(), expires)
        })
        .await?;
    Ok(web::Json(tokens))
}

enum Rotation {
    Issued(Box<TokenResponse>),
    Refused,
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
    let digest = sha256_hex(body.value.refresh_token.trim());
    let state2 = state.clone();
    // Re-use must revoke the family *and* commit, so the refusal is a value here.
    let outcome = state
        .db
        .write(move |conn| {
            let now = state2.clock.now();
            let Some(token) = refresh_tokens::find_by_hash(conn, &digest)? else {
                return Ok(Rotation::Refused);
            };
            if token.revoked_at.is_some() || token.expires_at <= now {
                return Ok(Rotation::Refused);
            }
            if token.used_at.is_some() || !refresh_tokens::mark_used(conn, &token.id, now)? {
                tracing::warn!(family = %token.family_id, "refresh token re-used; revoking its family");
                refresh_tokens::revoke_family(conn, &token.family_id, now)?;
                return Ok(Rotation::Refused);
            }
            match accounts::find(conn, &token.account_id)? {
                Some(account) if !account.disabled => issue(conn, &state2, account, &token.family_id, token.expires_at)
                    .map(|t| Rotation::Issued(Box::new(t))),
                _ => Ok(Rotation::Refused),
            }
        })
        .await?;
    match outcome {
        Rotation::Issued(tokens) => Ok(web::Json(*tokens)),
        Rotation::Refused => {
            state.limiter.token_failed(super::client_addr(&req), std::time::Instant::now())?;
            Err(invalid_refresh())
        }
    }
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
    let digest = sha256_hex(body.value.refresh_token.trim());
    let state2 = state.clone();
    state
        .db
        .write(move |conn| {
            if let Some(token) = refresh_tokens::find_by_hash(conn, &digest)? {
                refresh_tokens::revoke_family(conn, &token.family_id, state2.clock.now())?;
            }
            ApiResult::Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
