//! License-manager accounts as the vendor's admins see them: list, view,
//! rename, disable, bind to a customer or release, issue a new password.

use actix_web::{HttpRequest, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{Query, ValidJson};
use super::licenses::OrderRef;
use super::{ListParams, Page, audit_ctx, utc};
use crate::auth::{Admin, password};
use crate::error::ApiResult;
use crate::ids::AccountId;
use crate::licensing::accounts::{self, Binding, Manager, ManagerUpdate};
use crate::repositories::accounts::ManagerSort;
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_managers).service(get_manager).service(update_manager).service(reset_manager_password);
}

/// A license-manager account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
    /// A disabled account can't sign in; its tokens stopped working when it was disabled.
    pub disabled: bool,
    /// The customer the account is bound to: an account created through a
    /// manager may be linked only to orders of that customer. `null`: unbound.
    #[schema(value_type = Option<crate::ids::Id>)]
    pub bound_customer_id: Option<String>,
    /// The orders it manages, by number: the first 100 (`order_count` tells
    /// how many there are).
    #[schema(max_items = 100)]
    pub orders: Vec<OrderRef>,
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub order_count: i64,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub updated_at: DateTime<Utc>,
}

impl From<Manager> for ManagerView {
    fn from(Manager { account: a, orders }: Manager) -> Self {
        Self {
            order_count: orders.len() as i64,
            orders: orders
                .into_iter()
                .take(crate::licensing::orders::MAX_ORDER_REFS)
                .map(|(id, number)| OrderRef { id, number })
                .collect(),
            id: a.id,
            email: a.email,
            name: a.name,
            disabled: a.disabled,
            bound_customer_id: a.bound_customer_id,
            created_at: utc(a.created_at),
            updated_at: utc(a.updated_at),
        }
    }
}

/// The managers collection: sort fields, default order, search.
pub struct Managers;

impl super::Collection for Managers {
    type Field = ManagerSort;
    const SORTS: &'static [(&'static str, ManagerSort)] =
        &[("created_at", ManagerSort::CreatedAt), ("email", ManagerSort::Email), ("name", ManagerSort::Name)];
    const DEFAULT: Sort<ManagerSort> = Sort { field: ManagerSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("e-mail and name");
}

/// List license-manager accounts.
///
/// Admins only. Each account comes with the orders it manages, whether it is
/// `disabled`, and the customer it is bound to (`bound_customer_id`); admin
/// accounts are not listed. `q` searches e-mail and name; `sort` takes
/// `created_at` (default, newest first), `email` or `name`.
#[utoipa::path(
    tag = "managers",
    params(ListParams<Managers>),
    responses((status = 200, description = "A page of manager accounts", body = Page<ManagerView>)),
    security(("bearer" = []))
)]
#[get("/managers")]
pub async fn list_managers(
    state: web::Data<AppState>,
    _admin: Admin,
    params: Query<ListParams<Managers>>,
) -> ApiResult<web::Json<Page<ManagerView>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let rows = state.db.run(move |conn| accounts::list_managers(conn, q.as_deref(), sort, page)).await?;
    Ok(web::Json(Page::new(rows, page, ManagerView::from)))
}

/// One manager account.
///
/// Admins only, with the orders it manages and its binding. An admin
/// account's id, like an unknown one, is 404 here.
#[utoipa::path(
    tag = "managers",
    params(("manager_id" = String, Path, description = "The manager's account id")),
    responses((status = 200, body = ManagerView)),
    security(("bearer" = []))
)]
#[get("/managers/{manager_id}")]
pub async fn get_manager(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<AccountId>,
) -> ApiResult<web::Json<ManagerView>> {
    let id = path.into_inner();
    let manager = state.db.run(move |conn| accounts::manager(conn, &id)).await?;
    Ok(web::Json(manager.into()))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateManager {
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// `true` signs the account out everywhere and stops its access tokens at once.
    pub disabled: Option<bool>,
    /// `null` releases the binding: the account is signed out everywhere and
    /// can't sign in until `POST /managers/{id}/password` issues a new
    /// password. A customer id binds the account to that customer (it must
    /// manage no other customer's orders).
    #[serde(default, deserialize_with = "super::licenses::double_option")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub bound_customer_id: Option<Option<String>>,
}

/// Rename, disable or re-enable a manager account, or change its binding.
///
/// Admins only; absent fields stay. `disabled: true` revokes the account's
/// refresh tokens and stops its access tokens at once; `false` lets it sign
/// in again. `bound_customer_id: null` releases the binding, signs the account
/// out and locks it until `POST /managers/{manager_id}/password` issues a new
/// password; a customer id binds it (404 when there is no such customer, 422
/// when the account manages another customer's orders).
#[utoipa::path(
    tag = "managers",
    params(("manager_id" = String, Path, description = "The manager's account id")),
    request_body(
        content = UpdateManager,
        example = json!({ "name": "Max Mustermann", "disabled": false })
    ),
    responses(
        (status = 200, body = ManagerView),
        (status = 422, description = "`VALIDATION_FAILED`, also for an unknown `bound_customer_id` or a binding that the account's orders of other customers contradict"),
    ),
    security(("bearer" = []))
)]
#[patch("/managers/{manager_id}")]
pub async fn update_manager(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<AccountId>,
    body: ValidJson<UpdateManager>,
) -> ApiResult<web::Json<ManagerView>> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let UpdateManager { name, disabled, bound_customer_id } = body.value;
    // Releasing replaces the password with the hash of a secret nobody knows
    // (slow: hashed before the transaction, once the account is known to exist).
    let binding = match bound_customer_id {
        None => Binding::Keep,
        Some(None) => {
            let check = id.clone();
            state.db.run(move |conn| accounts::find_manager(conn, &check).map(|_| ())).await?;
            Binding::Release { unusable_hash: state.hasher.hash(password::generate()).await? }
        }
        Some(Some(customer)) => Binding::BindTo(customer),
    };
    let update = ManagerUpdate { name: name.map(|n| n.trim().to_owned()), disabled, binding };
    let manager = state.db.write(move |tx| accounts::update_manager(tx, &ctx, &id, update, now)).await?;
    Ok(web::Json(manager.into()))
}

/// A generated password, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedPassword {
    #[schema(min_length = 20, max_length = 20, pattern = r"^[a-hjkmnp-zA-HJKMNP-Z2-9]{20}$")]
    pub password: String,
}

/// Give a manager a new generated password (shown once); signs it out everywhere.
///
/// Admins only, e.g. when a manager lost its password or after a binding was
/// released. The old password stops working and every refresh token of the
/// account is revoked; pass the new password to the manager, it is not shown
/// again.
#[utoipa::path(
    tag = "managers",
    params(("manager_id" = String, Path, description = "The manager's account id")),
    responses((status = 200, body = GeneratedPassword)),
    security(("bearer" = []))
)]
#[post("/managers/{manager_id}/password")]
pub async fn reset_manager_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<AccountId>,
) -> ApiResult<web::Json<GeneratedPassword>> {
    let id = path.into_inner();
    let check = id.clone();
    state.db.run(move |conn| accounts::find_manager(conn, &check).map(|_| ())).await?;
    let ctx = audit_ctx(&req, &admin.0);
    let generated = password::generate();
    let hash = state.hasher.hash(generated.clone()).await?;
    let now = state.clock.now();
    state.db.write(move |tx| accounts::reset_manager_password(tx, &ctx, &id, hash, now)).await?;
    Ok(web::Json(GeneratedPassword { password: generated }))
}
