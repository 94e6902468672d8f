//! Licenses: listed and read by admins, managers (their orders') and the shop;
//! issued by admins and the shop; changed by admins.

use actix_web::{HttpRequest, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{Query, ValidJson};
use super::{Created, ListParams, Page, audit_ctx, scope_of, utc};
use crate::auth::{Admin, AdminOrShop, Caller};
use crate::error::{ApiError, ApiResult, Checks};
use crate::ids;
use crate::ids::LicenseId;
use crate::licensing::licenses::{ProductBy, Terms};
pub use crate::licensing::status::Status as LicenseStatus;
use crate::licensing::{self, keys};
pub use crate::models::licenses::LicenseKind;
use crate::repositories::licenses::{self, LicenseFilter, LicenseRow, LicenseSort};
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_licenses).service(create_license).service(get_license).service(update_license);
}

pub const MIN_LEASE_SECONDS: i32 = 60;
pub const MAX_LEASE_SECONDS: i32 = 7 * 86_400;
pub const MAX_SEATS: i32 = 1_000_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRef {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderRef {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerRef {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub company: String,
}

/// A license, as in lists and details alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    /// Crockford base32 in groups of five; lookups ignore case, dashes and spaces.
    #[schema(
        example = "7XK2M-Q9D4R-T1V8W-3HJ6N-P5B0C-Y2Z4A",
        min_length = 35,
        max_length = 35,
        pattern = r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$"
    )]
    pub key: String,
    pub kind: LicenseKind,
    /// Computed: `suspended` if suspended, else `expired` once `expires_at` passed, else `active`.
    pub status: LicenseStatus,
    #[schema(minimum = 1, maximum = 1000000)]
    pub seats: i32,
    /// Users (user-based), or devices holding a seat (computer-based).
    #[schema(minimum = 0, maximum = 1000000)]
    pub seats_used: i64,
    pub offline_allowed: bool,
    #[schema(minimum = 60, maximum = 604800)]
    pub lease_seconds: i32,
    #[schema(min_length = 20, max_length = 30)]
    pub starts_at: DateTime<Utc>,
    /// Null: perpetual.
    #[schema(min_length = 20, max_length = 30)]
    pub expires_at: Option<DateTime<Utc>>,
    pub product: ProductRef,
    pub order: OrderRef,
    pub customer: CustomerRef,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub updated_at: DateTime<Utc>,
}

impl LicenseView {
    pub fn new(row: LicenseRow, now: NaiveDateTime) -> Self {
        let LicenseRow { license: l, product, order, customer, seats_used } = row;
        Self {
            status: LicenseStatus::of(&l, now),
            id: l.id,
            key: keys::display(&l.license_key),
            kind: l.kind,
            seats: l.seats,
            seats_used,
            offline_allowed: l.offline_allowed,
            lease_seconds: l.lease_seconds,
            starts_at: utc(l.starts_at),
            expires_at: l.expires_at.map(utc),
            product: ProductRef { id: product.id, code: product.code, name: product.name },
            order: OrderRef { id: order.id, number: order.number },
            customer: CustomerRef { id: customer.id, company: customer.company },
            created_at: utc(l.created_at),
            updated_at: utc(l.updated_at),
        }
    }
}

/// The terms of a new license (also each entry of a new order's `licenses`).
#[derive(Clone, Debug, Serialize, Deserialize, Validate, ToSchema)]
pub struct LicenseTerms {
    /// The product, by id …
    #[schema(value_type = Option<crate::ids::Id>)]
    pub product_id: Option<String>,
    /// … or by code (exactly one of the two).
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "super::rules::code")
    )]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub product_code: Option<String>,
    pub kind: LicenseKind,
    #[validate(range(min = 1, max = 1_000_000, message = "must be between 1 and 1000000"))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub seats: i32,
    /// Absent or null: perpetual.
    #[validate(custom(function = "super::time_in_range"))]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether devices may activate offline (default true).
    pub offline_allowed: Option<bool>,
    /// Life of a user's temporary activation without heartbeat (60–604800, default 900).
    #[validate(range(min = 60, max = 604_800, message = "must be between 60 and 604800"))]
    #[schema(minimum = 60, maximum = 604_800)]
    #[serde(default, deserialize_with = "super::extract::optional_whole_number")]
    pub lease_seconds: Option<i32>,
}

/// A license for an existing order (the body of `POST /licenses`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLicense {
    #[schema(value_type = crate::ids::Id)]
    pub order_id: String,
    #[serde(flatten)]
    pub terms: LicenseTerms,
}

/// The `order_id` of a `POST /licenses` body; its terms are read as
/// [`LicenseTerms`] from the same bytes, so errors name the request's own fields.
#[derive(Debug, Deserialize, Validate, ToSchema)]
struct OrderOfLicense {
    order_id: String,
}

impl LicenseTerms {
    /// The terms as the licensing rules take them; `field` (such as
    /// `licenses[0]`) prefixes error paths.
    pub fn terms(&self, field: &str) -> ApiResult<Terms> {
        let path = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        let product = match (&self.product_id, &self.product_code) {
            (Some(id), None) => ProductBy::Id(id.clone()),
            (None, Some(code)) => ProductBy::Code(code.clone()),
            _ => return Err(ApiError::field(&path("product_id"), "give exactly one of product_id and product_code")),
        };
        Ok(Terms {
            product,
            kind: self.kind,
            seats: self.seats,
            expires_at: self.expires_at.map(|t| t.naive_utc()),
            offline_allowed: self.offline_allowed,
            lease_seconds: self.lease_seconds,
        })
    }
}

/// Filters of `GET /licenses`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseFilters {
    pub kind: Option<LicenseKind>,
    pub status: Option<LicenseStatus>,
    #[param(value_type = Option<crate::ids::Id>)]
    pub order_id: Option<String>,
    #[param(value_type = Option<crate::ids::Id>)]
    pub product_id: Option<String>,
    /// Only licenses expiring before this time (perpetual ones never match).
    #[validate(custom(function = "super::time_in_range"))]
    pub expires_before: Option<DateTime<Utc>>,
}

/// The licenses collection: sort fields, default order, search.
pub struct Licenses;

impl super::Collection for Licenses {
    type Field = LicenseSort;
    const SORTS: &'static [(&'static str, LicenseSort)] = &[
        ("created_at", LicenseSort::CreatedAt),
        ("expires_at", LicenseSort::ExpiresAt),
        ("product", LicenseSort::Product),
        ("order", LicenseSort::Order),
    ];
    const DEFAULT: Sort<LicenseSort> = Sort { field: LicenseSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("key, product name, order number and company");
}

/// List the licenses the caller may see.
///
/// Admins and the shop's API key see every license, a license manager those
/// of the orders it manages. Filter by `kind`, `status`, `order_id`,
/// `product_id` and `expires_before` (perpetual licenses never match); `q`
/// searches key, product name, order number and company; `sort` takes
/// `created_at` (default, newest first), `expires_at`, `product` or `order`.
#[utoipa::path(
    tag = "licenses",
    params(ListParams<Licenses>, LicenseFilters),
    responses((status = 200, description = "A page of licenses", body = Page<LicenseView>)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/licenses")]
pub async fn list_licenses(
    state: web::Data<AppState>,
    caller: Caller,
    params: Query<ListParams<Licenses>>,
    filters: Query<LicenseFilters>,
) -> ApiResult<web::Json<Page<LicenseView>>> {
    let (page, sort, q) = params.resolve()?;
    let filters = filters.into_inner();
    let mut checks = Checks::default();
    let order_id = filters.order_id.as_deref().map(ids::parse);
    let product_id = filters.product_id.as_deref().map(ids::parse);
    checks.check(!matches!(order_id, Some(None)), "order_id", "is not an id");
    checks.check(!matches!(product_id, Some(None)), "product_id", "is not an id");
    checks.finish()?;
    let filter = LicenseFilter {
        kind: filters.kind.map(LicenseKind::as_str),
        status: filters.status,
        order_id: order_id.flatten(),
        product_id: product_id.flatten(),
        expires_before: filters.expires_before.map(|t| t.naive_utc()),
        q: q.map(str::to_owned),
    };
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let rows = state.db.run(move |conn| ApiResult::Ok(licenses::list(conn, &scope, &filter, sort, page, now)?)).await?;
    Ok(web::Json(Page::new(rows, page, |row| LicenseView::new(row, now))))
}

/// One license.
///
/// Admins and the shop's API key read any license, a license manager those of
/// the orders it manages: any other id is 404, as if it did not exist.
/// `status` is computed (`suspended`, else `expired` once `expires_at` has
/// passed, else `active`) and `seats_used` counts users or seat-holding devices.
#[utoipa::path(
    tag = "licenses",
    params(("license_id" = String, Path, description = "License id")),
    responses((status = 200, body = LicenseView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/licenses/{license_id}")]
pub async fn get_license(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<LicenseId>,
) -> ApiResult<web::Json<LicenseView>> {
    let id = path.into_inner();
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let row = state.db.run(move |conn| licenses::find(conn, &scope, &id, now)?.ok_or_else(ApiError::not_found)).await?;
    Ok(web::Json(LicenseView::new(row, now)))
}

/// Issue a license into an existing order.
///
/// For admins and the shop's API key; license managers get 403 `FORBIDDEN`.
/// Name the product by `product_id` or `product_code` (exactly one); `seats`
/// is 1–1000000, no `expires_at` means perpetual, `offline_allowed` defaults
/// to true and `lease_seconds` to 900 (60–604800). The server generates the
/// key; an unknown order or product is 422 naming the field.
#[utoipa::path(
    tag = "licenses",
    request_body(
        content = CreateLicense,
        example = json!({
            "order_id": "0193e4a2-7c5b-7d1e-9f3a-2b6c8d0e4f71",
            "product_code": "CAD-PRO",
            "kind": "computer_based",
            "seats": 3,
            "expires_at": "2027-12-31T23:59:59Z",
            "offline_allowed": true,
            "lease_seconds": 900
        })
    ),
    responses(
        (status = 201, description = "Issued", body = LicenseView),
        (status = 404, description = "`NOT_FOUND`: `order_id`, `product_id` or `product_code` names nothing (`errors` names the field)"),
        (status = 409, description = "`ORDER_FULL`: the order holds 100 licenses already"),
    ),
    security(("bearer" = []), ("shop_key" = []))
)]
#[post("/licenses")]
pub async fn create_license(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AdminOrShop,
    body: ValidJson<LicenseTerms>,
) -> ApiResult<Created<LicenseView>> {
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let order_id = super::extract::parse_json::<OrderOfLicense>(&body.raw)?.order_id;
    let terms = body.value.terms("")?;
    let row = state.db.write(move |tx| licensing::licenses::create(tx, &ctx, &order_id, &terms, now)).await?;
    Ok(Created(LicenseView::new(row, now)))
}

pub(super) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Active,
    Suspended,
}

/// Changes to a license; absent fields stay.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateLicense {
    #[validate(range(min = 1, max = 1_000_000, message = "must be between 1 and 1000000"))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    #[serde(default, deserialize_with = "super::extract::optional_whole_number")]
    pub seats: Option<i32>,
    /// `null` makes the license perpetual.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[validate(custom(function = "super::time_in_range"))]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// `suspended` stops validation at once (offline files run out on their own).
    pub status: Option<SettableStatus>,
    pub offline_allowed: Option<bool>,
    #[validate(range(min = 60, max = 604_800, message = "must be between 60 and 604800"))]
    #[schema(minimum = 60, maximum = 604_800)]
    #[serde(default, deserialize_with = "super::extract::optional_whole_number")]
    pub lease_seconds: Option<i32>,
}

/// Change seats, expiry, status, offline permission or lease time.
///
/// Admins only; absent fields stay and `expires_at: null` makes the license
/// perpetual. `status: suspended` makes activation, validation and heartbeats
/// refuse the license at once (offline license files run out on their own);
/// `active` lifts the suspension. Fewer `seats` than `seats_used` is 409
/// `SEATS_IN_USE`.
#[utoipa::path(
    tag = "licenses",
    params(("license_id" = String, Path, description = "License id")),
    request_body(
        content = UpdateLicense,
        example = json!({
            "seats": 10,
            "expires_at": "2027-12-31T23:59:59Z",
            "status": "active",
            "offline_allowed": true,
            "lease_seconds": 1800
        })
    ),
    responses(
        (status = 200, body = LicenseView),
        (status = 409, description = "`SEATS_IN_USE`: fewer seats than are in use"),
    ),
    security(("bearer" = []))
)]
#[patch("/licenses/{license_id}")]
pub async fn update_license(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<LicenseId>,
    body: ValidJson<UpdateLicense>,
) -> ApiResult<web::Json<LicenseView>> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let changes = body.value;
    let changes = licensing::licenses::Changes {
        seats: changes.seats,
        expires_at: changes.expires_at.map(|e| e.map(|t| t.naive_utc())),
        suspended: changes.status.map(|s| matches!(s, SettableStatus::Suspended)),
        offline_allowed: changes.offline_allowed,
        lease_seconds: changes.lease_seconds,
    };
    let row = state.db.write(move |tx| licensing::licenses::update(tx, &ctx, &id, &changes, now)).await?;
    Ok(web::Json(LicenseView::new(row, now)))
}
