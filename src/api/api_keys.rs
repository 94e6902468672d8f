//! API keys for the vendor's shop: shown once, stored as a SHA-256 digest,
//! revocable at once.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{Query, ValidJson};
use super::{Created, ListParams, Page, audit_ctx, utc};
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::ids::ApiKeyId;
use crate::licensing::accounts;
use crate::models::api_keys::ApiKey;
use crate::repositories::api_keys;
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_api_keys).service(create_api_key).service(revoke_api_key);
}

/// An API key; `key` appears only in the answer to its creation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
    /// The key itself (`lsk_…`): shown once, at creation; null afterwards.
    #[schema(min_length = 56, max_length = 56, pattern = r"^lsk_[0-9a-hjkmnp-tv-z]{52}$")]
    pub key: Option<String>,
    /// The key's first characters, to tell keys apart.
    #[schema(example = "lsk_3s04cdkq", min_length = 12, max_length = 12, pattern = r"^lsk_[0-9a-hjkmnp-tv-z]{8}$")]
    pub prefix: String,
    #[schema(example = "shop", max_length = 4, pattern = r"^shop$")]
    pub scope: String,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyView {
    fn new(k: ApiKey, key: Option<String>) -> Self {
        Self {
            id: k.id,
            name: k.name,
            key,
            prefix: k.key_prefix,
            scope: k.scope,
            created_at: utc(k.created_at),
            last_used_at: k.last_used_at.map(utc),
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateApiKey {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(example = "web shop")]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
}

/// The api keys collection: newest first, no other order, `q` over name and prefix.
pub struct ApiKeys;

impl super::Collection for ApiKeys {
    type Field = ();
    const SORTS: &'static [(&'static str, ())] = &[("created_at", ())];
    const DEFAULT: Sort<()> = Sort { field: (), descending: true };
    const SEARCH: Option<&'static str> = Some("name and prefix");
}

/// The API keys in use.
///
/// Admins only. Revoked keys are not listed; the secret is never shown again
/// (`key` is null), so `name` and `prefix` tell the keys apart; `q` searches
/// both (a substring, ignoring case). Newest first; `sort=created_at` for
/// oldest first.
#[utoipa::path(
    tag = "api-keys",
    params(ListParams<ApiKeys>),
    responses((status = 200, description = "Active keys, without their secrets", body = Page<ApiKeyView>)),
    security(("bearer" = []))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    _admin: Admin,
    params: Query<ListParams<ApiKeys>>,
) -> ApiResult<web::Json<Page<ApiKeyView>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let keys = state
        .db
        .run(move |conn| ApiResult::Ok(api_keys::list_active(conn, q.as_deref(), sort.descending, page)?))
        .await?;
    Ok(web::Json(Page::new(keys, page, |k| ApiKeyView::new(k, None))))
}

/// Create a shop key. The answer holds the key; it is not shown again.
///
/// Admins only. With the key (`lsk_…`, scope `shop`, sent as
/// `Authorization: Bearer lsk_…`) the vendor's web shop creates, reads and
/// updates customers, creates and reads orders and licenses, and reads
/// products. Only its digest is stored: copy `key` from this answer into the
/// shop's configuration.
#[utoipa::path(
    tag = "api-keys",
    request_body(
        content = CreateApiKey,
        example = json!({ "name": "CRE-DO web shop" })
    ),
    responses((status = 201, description = "Created; `key` is shown only now", body = ApiKeyView)),
    security(("bearer" = []))
)]
#[post("/api-keys")]
pub async fn create_api_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<CreateApiKey>,
) -> ApiResult<Created<ApiKeyView>> {
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let name = body.value.name.trim().to_owned();
    let created_by = Some(admin.account().id.clone());
    let (row, secret) = state.db.write(move |tx| accounts::create_api_key(tx, &ctx, name, created_by, now)).await?;
    Ok(Created(ApiKeyView::new(row, Some(secret))))
}

/// Revoke a key; it is refused (401) from now on.
///
/// Admins only. The shop's next request with the key gets 401
/// `INVALID_TOKEN`; create a new key first to replace it without a gap. An
/// unknown or already revoked key is 404.
#[utoipa::path(
    tag = "api-keys",
    params(("api_key_id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")),
    security(("bearer" = []))
)]
#[delete("/api-keys/{api_key_id}")]
pub async fn revoke_api_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<ApiKeyId>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    state.db.write(move |tx| accounts::revoke_api_key(tx, &ctx, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
