//! Products: admins manage them, the shop reads them.

use actix_web::{HttpRequest, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{Query, ValidJson};
use super::{Created, ListParams, Page, audit_ctx, utc};
use crate::auth::{Admin, AdminOrShop};
use crate::error::ApiResult;
use crate::ids;
use crate::ids::ProductId;
use crate::licensing::catalog;
use crate::models::catalog::{Product, ProductChangeset};
use crate::repositories::list::Sort;
use crate::repositories::products::{self, ProductSort};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_products).service(create_product).service(get_product).service(update_product);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    /// Unique, used by the shop and in license files.
    #[schema(example = "CAD-PRO", min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub code: String,
    #[schema(
        example = "CRE-DO CAD Professional",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self { id: p.id, code: p.code, name: p.name, created_at: utc(p.created_at), updated_at: utc(p.updated_at) }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateProduct {
    /// 1–64 characters of letters, digits, `-`, `_`, `.`; unique.
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "super::rules::code")
    )]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub code: String,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateProduct {
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "super::rules::code")
    )]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub code: Option<String>,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: Option<String>,
}

/// The products collection: sort fields, default order, search.
pub struct Products;

impl super::Collection for Products {
    type Field = ProductSort;
    const SORTS: &'static [(&'static str, ProductSort)] =
        &[("created_at", ProductSort::CreatedAt), ("code", ProductSort::Code), ("name", ProductSort::Name)];
    const DEFAULT: Sort<ProductSort> = Sort { field: ProductSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("code and name");
}

/// List products.
///
/// For admins and the shop's API key; license managers get 403 `FORBIDDEN`.
/// `q` searches code and name; `sort` takes `created_at` (default, newest
/// first), `code` or `name`.
#[utoipa::path(
    tag = "products",
    params(ListParams<Products>),
    responses((status = 200, description = "A page of products", body = Page<ProductView>)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    _caller: AdminOrShop,
    params: Query<ListParams<Products>>,
) -> ApiResult<web::Json<Page<ProductView>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let rows = state.db.run(move |conn| ApiResult::Ok(products::list(conn, q.as_deref(), sort, page)?)).await?;
    Ok(web::Json(Page::new(rows, page, ProductView::from)))
}

/// Create a product.
///
/// Admins only. `code` (1–64 letters, digits, `-`, `_`, `.`) is what the shop
/// names in orders (`product_code`) and what license files carry; it must be
/// unique, else 409 `PRODUCT_CODE_TAKEN`. `name` (1–200 characters) is shown
/// to people and in the software.
#[utoipa::path(
    tag = "products",
    request_body(
        content = CreateProduct,
        example = json!({ "code": "CAD-PRO", "name": "CRE-DO CAD Professional" })
    ),
    responses(
        (status = 201, description = "Created", body = ProductView),
        (status = 409, description = "`PRODUCT_CODE_TAKEN`"),
    ),
    security(("bearer" = []))
)]
#[post("/products")]
pub async fn create_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<CreateProduct>,
) -> ApiResult<Created<ProductView>> {
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let product = Product {
        id: ids::new_id(),
        code: body.value.code.trim().to_owned(),
        name: body.value.name.trim().to_owned(),
        created_at: now,
        updated_at: now,
    };
    let product = state.db.write(move |tx| catalog::create_product(tx, &ctx, product, now)).await?;
    Ok(Created(product.into()))
}

/// One product.
///
/// For admins and the shop's API key; license managers get 403 `FORBIDDEN`
/// (they see a license's product in the license itself). An unknown id is 404.
#[utoipa::path(
    tag = "products",
    params(("product_id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/products/{product_id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    _caller: AdminOrShop,
    path: web::Path<ProductId>,
) -> ApiResult<web::Json<ProductView>> {
    let id = path.into_inner();
    let product = state.db.run(move |conn| catalog::product(conn, &id)).await?;
    Ok(web::Json(product.into()))
}

/// Change a product's code or name.
///
/// Admins only; absent fields stay. A code another product has is 409
/// `PRODUCT_CODE_TAKEN`. Licenses show the new code and name at once; license
/// files already issued keep the ones they were signed with.
#[utoipa::path(
    tag = "products",
    params(("product_id" = String, Path, description = "Product id")),
    request_body(
        content = UpdateProduct,
        example = json!({ "name": "CRE-DO CAD Professional 2027" })
    ),
    responses(
        (status = 200, body = ProductView),
        (status = 409, description = "`PRODUCT_CODE_TAKEN`"),
    ),
    security(("bearer" = []))
)]
#[patch("/products/{product_id}")]
pub async fn update_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<ProductId>,
    body: ValidJson<UpdateProduct>,
) -> ApiResult<web::Json<ProductView>> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let UpdateProduct { code, name } = body.value;
    let changes = ProductChangeset {
        code: code.map(|c| c.trim().to_owned()),
        name: name.map(|n| n.trim().to_owned()),
        updated_at: Some(now),
    };
    let product = state.db.write(move |tx| catalog::update_product(tx, &ctx, &id, changes, now)).await?;
    Ok(web::Json(product.into()))
}
