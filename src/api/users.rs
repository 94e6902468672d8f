//! Users of a user-based license: managers add them by e-mail (the server
//! suggests a password, shown once), rename them, set passwords, reset their
//! temporary activation after a crash, and remove them.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{OptionalJson, Query, ValidJson};
use super::me::chosen_password;
use super::{Created, ListParams, Page, audit_ctx, normalize_email, scope_of, utc};
use crate::auth::{Person, password};
use crate::error::ApiResult;
use crate::ids::{LicenseId, UserId};
use crate::licensing::users;
use crate::models::seats::{LicenseUser, UserActivation};
use crate::repositories::license_users::{self, UserSort};
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(add_user)
        .service(get_user)
        .service(update_user)
        .service(set_user_password)
        .service(reset_user_activation)
        .service(remove_user);
}

/// The temporary activation a user holds while working.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationView {
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]+$")]
    pub hardware_id: String,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub hostname: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub platform: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub app_version: Option<String>,
    #[schema(min_length = 20, max_length = 30)]
    pub activated_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub last_seen_at: DateTime<Utc>,
    /// The activation ends then unless the software sends a heartbeat.
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: DateTime<Utc>,
}

/// A user of a user-based license.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
    /// Null when the user holds no activation.
    pub activation: Option<ActivationView>,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub updated_at: DateTime<Utc>,
}

impl UserView {
    fn new(u: LicenseUser, activation: Option<UserActivation>) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            activation: activation.map(|a| ActivationView {
                hardware_id: a.hardware_id,
                hostname: a.hostname,
                platform: a.platform,
                app_version: a.app_version,
                activated_at: utc(a.activated_at),
                last_seen_at: utc(a.last_seen_at),
                lease_expires_at: utc(a.lease_expires_at),
            }),
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

/// Filters of the user list.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilters {
    /// Only users that hold (`true`) or don't hold (`false`) an activation.
    pub active: Option<bool>,
}

/// The users collection: sort fields, default order, search.
pub struct Users;

impl super::Collection for Users {
    type Field = UserSort;
    const SORTS: &'static [(&'static str, UserSort)] =
        &[("created_at", UserSort::CreatedAt), ("email", UserSort::Email), ("name", UserSort::Name)];
    const DEFAULT: Sort<UserSort> = Sort { field: UserSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("e-mail and name");
}

/// The users of a user-based license, each with its activation.
///
/// For admins and the license managers of the license's order (another
/// license is 404 to a manager); a shop API key gets 403 `FORBIDDEN` and a
/// computer-based license 409 `WRONG_LICENSE_KIND`. `active=true|false`
/// filters by whether a user holds an activation; `q` searches e-mail and
/// name; `sort` takes `created_at` (default, newest first), `email` or `name`.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ListParams<Users>, UserFilters),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>),
        (status = 409, description = "`WRONG_LICENSE_KIND`: a computer-based license"),
    ),
    security(("bearer" = []))
)]
#[get("/licenses/{license_id}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<LicenseId>,
    params: Query<ListParams<Users>>,
    filters: Query<UserFilters>,
) -> ApiResult<web::Json<Page<UserView>>> {
    let id = path.into_inner();
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let active = filters.active;
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let rows = state
        .db
        .run(move |conn| {
            users::license_of(conn, &scope, &id)?;
            ApiResult::Ok(license_users::list(conn, &id, q.as_deref(), active, sort, page, now)?)
        })
        .await?;
    Ok(web::Json(Page::new(rows, page, |(u, a)| UserView::new(u, a))))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct NewUser {
    #[validate(
        custom(function = "super::rules::email"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: String,
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// A chosen license password (12–128 characters); without it the server generates one.
    #[validate(custom(function = "chosen_password"))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: Option<String>,
}

/// A new user and, when the server chose the password, that password (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedUser {
    pub user: UserView,
    /// The generated password; null when the request chose one.
    #[schema(min_length = 20, max_length = 20, pattern = r"^[a-hjkmnp-zA-HJKMNP-Z2-9]{20}$")]
    pub initial_password: Option<String>,
}

/// Add a user by e-mail; it takes a seat.
///
/// For admins and the license managers of the license's order. Without
/// `password` the server generates one and answers it once as
/// `initial_password` (pass it to the user); with a chosen `password` (12–128
/// characters) `initial_password` is null. All seats taken is 409
/// `SEATS_EXHAUSTED`, an e-mail that is already a user of this license
/// (compared case-insensitively) 409 `EMAIL_TAKEN`, and a computer-based
/// license 409 `WRONG_LICENSE_KIND`.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id")),
    request_body(
        content = NewUser,
        example = json!({ "email": "erika.musterfrau@muster-bau.example", "name": "Erika Musterfrau" })
    ),
    responses(
        (status = 201, body = AddedUser),
        (status = 409, description = "`SEATS_EXHAUSTED`, `EMAIL_TAKEN` or `WRONG_LICENSE_KIND`"),
    ),
    security(("bearer" = []))
)]
#[post("/licenses/{license_id}/users")]
pub async fn add_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<LicenseId>,
    body: ValidJson<NewUser>,
) -> ApiResult<Created<AddedUser>> {
    let license_id = path.into_inner();
    let scope = scope_of(&caller.0);
    let ctx = audit_ctx(&req, &caller.0);
    let NewUser { email, name, password: chosen } = body.value;
    let email = normalize_email(&email);
    // Look before the slow hash: an outsider learns nothing and costs nothing.
    let (check_scope, check_id) = (scope.clone(), license_id.clone());
    state.db.run(move |conn| users::license_of(conn, &check_scope, &check_id).map(|_| ())).await?;
    let generated = chosen.is_none().then(password::generate);
    let password_hash = state.hasher.hash(chosen.or_else(|| generated.clone()).expect("one of them")).await?;
    let now = state.clock.now();
    let new = users::NewUser {
        email,
        name: name.unwrap_or_default().trim().to_owned(),
        password_hash,
        password: if generated.is_some() { "generated" } else { "chosen" },
    };
    let user = state.db.write(move |tx| users::add(tx, &ctx, &scope, &license_id, new, now)).await?;
    Ok(Created(AddedUser { user: UserView::new(user, None), initial_password: generated }))
}

/// One user with its activation.
///
/// For admins and the license managers of the license's order. `activation`
/// names the computer the user is active on and when its lease ends, or is
/// null. A computer-based license is 409 `WRONG_LICENSE_KIND`.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 409, description = "`WRONG_LICENSE_KIND`")),
    security(("bearer" = []))
)]
#[get("/licenses/{license_id}/users/{user_id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, UserId)>,
) -> ApiResult<web::Json<UserView>> {
    let (license_id, user_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let view = state
        .db
        .run(move |conn| {
            let (_, user) = users::find(conn, &scope, &license_id, &user_id)?;
            users::with_activation(conn, user, now)
        })
        .await?;
    Ok(web::Json(UserView::new(view.0, view.1)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateUser {
    /// Names help people tell users apart; they need not be unique.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[validate(
        custom(function = "super::rules::email"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: Option<String>,
}

/// Rename a user or change its e-mail.
///
/// For admins and the license managers of the license's order; absent fields
/// stay, and the password and activation are kept. An e-mail another user of
/// this license has is 409 `EMAIL_TAKEN`; names need not be unique.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ("user_id" = String, Path, description = "User id")),
    request_body(
        content = UpdateUser,
        example = json!({ "name": "Erika Musterfrau (Konstruktion)" })
    ),
    responses((status = 200, body = UserView), (status = 409, description = "`EMAIL_TAKEN` or `WRONG_LICENSE_KIND`")),
    security(("bearer" = []))
)]
#[patch("/licenses/{license_id}/users/{user_id}")]
pub async fn update_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, UserId)>,
    body: ValidJson<UpdateUser>,
) -> ApiResult<web::Json<UserView>> {
    let (license_id, user_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let UpdateUser { name, email } = body.value;
    let email = email.map(|e| normalize_email(&e));
    let name = name.map(|n| n.trim().to_owned());
    let (user, activation) =
        state.db.write(move |tx| users::update(tx, &ctx, &scope, (&license_id, &user_id), email, name, now)).await?;
    Ok(web::Json(UserView::new(user, activation)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct SetPassword {
    /// 12–128 characters.
    #[validate(custom(function = "chosen_password"))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

/// A generated password, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedUserPassword {
    #[schema(min_length = 20, max_length = 20, pattern = r"^[a-hjkmnp-zA-HJKMNP-Z2-9]{20}$")]
    pub password: String,
}

/// Set a user's license password, or have one generated.
///
/// For admins and the license managers of the license's order. With
/// `{"password": …}` (12–128 characters) the answer is 204; with no body the
/// server generates a password and answers it once (200). The user's current
/// activation stays; the new password counts from its next activation.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ("user_id" = String, Path, description = "User id")),
    request_body(
        content = Option<SetPassword>,
        description = "Omit the body to have a password generated",
        example = json!({ "password": "Sommer-Regen-Wald-42" })
    ),
    responses(
        (status = 200, description = "Generated (no body sent)", body = GeneratedUserPassword),
        (status = 204, description = "Set to the chosen password"),
        (status = 409, description = "`WRONG_LICENSE_KIND`"),
    ),
    security(("bearer" = []))
)]
#[post("/licenses/{license_id}/users/{user_id}/password")]
pub async fn set_user_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, UserId)>,
    body: OptionalJson<SetPassword>,
) -> ApiResult<HttpResponse> {
    let (license_id, user_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let ctx = audit_ctx(&req, &caller.0);
    let (check_scope, check_license, check_user) = (scope.clone(), license_id.clone(), user_id.clone());
    state.db.run(move |conn| users::find(conn, &check_scope, &check_license, &check_user).map(|_| ())).await?;
    let generated = body.0.is_none().then(password::generate);
    let chosen = body.0.map(|b| b.password);
    let hash = state.hasher.hash(chosen.or_else(|| generated.clone()).expect("one of them")).await?;
    let now = state.clock.now();
    let how = if generated.is_some() { "generated" } else { "chosen" };
    state.db.write(move |tx| users::set_password(tx, &ctx, &scope, (&license_id, &user_id), hash, how, now)).await?;
    Ok(match generated {
        Some(password) => HttpResponse::Ok().json(GeneratedUserPassword { password }),
        None => HttpResponse::NoContent().finish(),
    })
}

/// End the user's temporary activation so it can activate again at once.
///
/// For admins and the license managers of the license's order, typically
/// after the software crashed and the user is refused with
/// `USER_ALREADY_ACTIVE` on another computer. The old activation token stops
/// working. Answers the user with `activation: null`, also when it held none.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user, with `activation: null`", body = UserView), (status = 409, description = "`WRONG_LICENSE_KIND`")),
    security(("bearer" = []))
)]
#[post("/licenses/{license_id}/users/{user_id}/reset-activation")]
pub async fn reset_user_activation(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, UserId)>,
) -> ApiResult<web::Json<UserView>> {
    let (license_id, user_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let user =
        state.db.write(move |tx| users::reset_activation(tx, &ctx, &scope, (&license_id, &user_id), now)).await?;
    Ok(web::Json(UserView::new(user, None)))
}

/// Remove a user: ends its activation and frees its seat.
///
/// For admins and the license managers of the license's order. The user's
/// activation token stops working at once and its e-mail and password no
/// longer activate this license.
#[utoipa::path(
    tag = "users",
    params(("license_id" = String, Path, description = "License id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 409, description = "`WRONG_LICENSE_KIND`")),
    security(("bearer" = []))
)]
#[delete("/licenses/{license_id}/users/{user_id}")]
pub async fn remove_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (license_id, user_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    state.db.write(move |tx| users::remove(tx, &ctx, &scope, (&license_id, &user_id), now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
