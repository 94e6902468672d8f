//! The caller's own account: `/me`, `PATCH /me`, `PUT /me/password`.

use actix_web::{HttpRequest, HttpResponse, get, patch, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::ValidJson;
use super::{audit_ctx, utc};
use crate::auth::Person;
use crate::auth::password;
use crate::error::ApiResult;
use crate::licensing::accounts;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me).service(update_me).service(change_password);
}

pub use crate::models::accounts::Role;

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    // Accounts made before `rules::email` may hold e-mails it now refuses
    // (an internationalised domain, say): hence the looser pattern and length
    // (see `ManagerSummary`). An admin's name is checked by `admin create`
    // as a manager's is by the API.
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
    pub role: Role,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
}

impl From<crate::models::accounts::Account> for AccountView {
    fn from(a: crate::models::accounts::Account) -> Self {
        Self { role: a.role, id: a.id, email: a.email, name: a.name, created_at: utc(a.created_at) }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateMe {
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePassword {
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
    /// 12–128 characters.
    #[validate(custom(function = "chosen_password"))]
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

/// The validator rule for a password a person chooses.
pub fn chosen_password(p: &str) -> Result<(), validator::ValidationError> {
    password::check_chosen(p).map_err(|m| validator::ValidationError::new("password").with_message(m.into()))
}

/// The signed-in account.
///
/// For admins and license managers: the account the access token belongs to,
/// with its `role` (`admin` or `manager`), which tells the portal what to
/// show. A shop API key has no account and gets 403 `FORBIDDEN`.
#[utoipa::path(
    tag = "me",
    responses((status = 200, description = "The caller's account", body = AccountView)),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Person) -> ApiResult<web::Json<AccountView>> {
    let id = caller.1.id;
    let account = state.db.run(move |conn| accounts::account(conn, &id)).await?;
    Ok(web::Json(account.into()))
}

/// Change the caller's display name.
///
/// For admins and license managers, on their own account (up to 200
/// characters, trimmed); a shop API key gets 403 `FORBIDDEN`. Answers the
/// account in the `GET /me` shape.
#[utoipa::path(
    tag = "me",
    request_body(
        content = UpdateMe,
        example = json!({ "name": "Max Mustermann" })
    ),
    responses((status = 200, description = "The updated account", body = AccountView)),
    security(("bearer" = []))
)]
#[patch("/me")]
pub async fn update_me(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    body: ValidJson<UpdateMe>,
) -> ApiResult<web::Json<AccountView>> {
    let Person(principal, me) = caller;
    let ctx = audit_ctx(&req, &principal);
    let name = body.value.name.trim().to_owned();
    let now = state.clock.now();
    let account = state.db.write(move |tx| accounts::update_profile(tx, &ctx, &me.id, name, now)).await?;
    Ok(web::Json(account.into()))
}

/// Change the caller's password.
///
/// For admins and license managers, on their own account; a shop API key gets
/// 403 `FORBIDDEN`. `current_password` must be the account's password (else
/// 422 `WRONG_CURRENT_PASSWORD` with `errors.current_password`) and
/// `new_password` 12–128 characters. The caller stays signed in, while every
/// other sign-in of the account can no longer refresh (their access tokens
/// run out within 15 minutes).
#[utoipa::path(
    tag = "me",
    request_body(
        content = ChangePassword,
        example = json!({ "current_password": "Gruenes-Fenster-2026", "new_password": "Blaue-Bruecke-am-Fluss-7" })
    ),
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "`WRONG_CURRENT_PASSWORD` (with `errors.current_password`) or `VALIDATION_FAILED`"),
    ),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    body: ValidJson<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let Person(principal, me) = caller;
    let ChangePassword { current_password, new_password } = body.value;
    let id = me.id.clone();
    let account = state.db.run(move |conn| accounts::account(conn, &id)).await?;
    // Both hashes are slow (the hasher pool): checked and made before the transaction.
    let verified = state.hasher.verify(current_password, Some(account.password_hash)).await?;
    accounts::require_current_password(verified)?;
    let hash = state.hasher.hash(new_password).await?;
    let ctx = audit_ctx(&req, &principal);
    let now = state.clock.now();
    state.db.write(move |tx| accounts::change_password(tx, &ctx, (&me.id, &me.family), hash, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
