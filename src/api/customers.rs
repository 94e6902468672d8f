//! Customers (the owners of orders): admins and the shop manage them.
//! Managers read customer data only through their orders and licenses.

use actix_web::{HttpRequest, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::countries::country_rule;
use super::extract::{Query, ValidJson};
use super::{Created, ListParams, Page, audit_ctx, utc};
use crate::auth::AdminOrShop;
use crate::error::ApiResult;
use crate::ids;
use crate::ids::CustomerId;
use crate::licensing::catalog;
use crate::models::catalog::{Customer, CustomerChangeset};
use crate::repositories::audit::Target;
use crate::repositories::customers::{self, CustomerSort};
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_customers).service(create_customer).service(get_customer).service(update_customer);
}

/// A customer: the company that owns an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(example = "Muster Bau GmbH", min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub company: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub contact_name: String,
    #[schema(max_length = 502, pattern = r"^([a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+)?$")]
    pub email: String,
    /// Free text; may span lines.
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub address: String,
    /// ISO 3166-1 alpha-2, or empty when unknown.
    #[schema(example = "DE", max_length = 2, pattern = r"^([A-Z]{2})?$")]
    pub country: String,
    #[schema(max_length = 32, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub vat_id: String,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            company: c.company,
            contact_name: c.contact_name,
            email: c.email,
            address: c.address,
            country: c.country,
            vat_id: c.vat_id,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        }
    }
}

/// A new customer; only `company` is required.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct NewCustomer {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub company: String,
    #[serde(default)]
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub contact_name: String,
    #[serde(default)]
    #[validate(
        length(max = 254, message = "must be at most 254 characters"),
        custom(function = "super::rules::optional_email")
    )]
    #[schema(
        max_length = 254,
        pattern = r"^(?:[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)?$"
    )]
    pub email: String,
    #[serde(default)]
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    #[schema(max_length = 1000)]
    pub address: String,
    #[serde(default)]
    #[validate(custom(function = "country_rule"))]
    #[schema(value_type = super::countries::Country)]
    pub country: String,
    #[serde(default)]
    #[validate(length(max = 32, message = "must be at most 32 characters"))]
    #[schema(max_length = 32)]
    pub vat_id: String,
}

impl NewCustomer {
    /// The row, trimmed, e-mail lower-cased.
    pub fn into_row(self, now: chrono::NaiveDateTime) -> Customer {
        Customer {
            id: ids::new_id(),
            company: self.company.trim().to_owned(),
            contact_name: self.contact_name.trim().to_owned(),
            email: super::normalize_email(&self.email),
            address: self.address.trim().to_owned(),
            country: self.country,
            vat_id: self.vat_id.trim().to_owned(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// Changes to a customer; absent fields stay.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateCustomer {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub company: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub contact_name: Option<String>,
    #[validate(
        length(max = 254, message = "must be at most 254 characters"),
        custom(function = "super::rules::optional_email")
    )]
    #[schema(
        max_length = 254,
        pattern = r"^(?:[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)?$"
    )]
    pub email: Option<String>,
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    #[schema(max_length = 1000)]
    pub address: Option<String>,
    #[validate(custom(function = "country_rule"))]
    #[schema(value_type = Option<super::countries::Country>)]
    pub country: Option<String>,
    #[validate(length(max = 32, message = "must be at most 32 characters"))]
    #[schema(max_length = 32)]
    pub vat_id: Option<String>,
}

impl UpdateCustomer {
    pub fn into_changeset(self, now: chrono::NaiveDateTime) -> CustomerChangeset {
        CustomerChangeset {
            company: self.company.map(|v| v.trim().to_owned()),
            contact_name: self.contact_name.map(|v| v.trim().to_owned()),
            email: self.email.map(|v| super::normalize_email(&v)),
            address: self.address.map(|v| v.trim().to_owned()),
            country: self.country,
            vat_id: self.vat_id.map(|v| v.trim().to_owned()),
            updated_at: Some(now),
        }
    }
}

/// The customers collection: sort fields, default order, search.
pub struct Customers;

impl super::Collection for Customers {
    type Field = CustomerSort;
    const SORTS: &'static [(&'static str, CustomerSort)] =
        &[("created_at", CustomerSort::CreatedAt), ("company", CustomerSort::Company)];
    const DEFAULT: Sort<CustomerSort> = Sort { field: CustomerSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("company, contact name, e-mail and VAT id");
}

/// List customers.
///
/// For admins and the shop's API key; license managers get 403 `FORBIDDEN`
/// (they read customer data through their orders and licenses). `q` searches
/// company, contact name, e-mail and VAT id; `sort` takes `created_at`
/// (default, newest first) or `company`.
#[utoipa::path(
    tag = "customers",
    params(ListParams<Customers>),
    responses((status = 200, description = "A page of customers", body = Page<CustomerView>)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    _caller: AdminOrShop,
    params: Query<ListParams<Customers>>,
) -> ApiResult<web::Json<Page<CustomerView>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let rows = state.db.run(move |conn| ApiResult::Ok(customers::list(conn, q.as_deref(), sort, page)?)).await?;
    Ok(web::Json(Page::new(rows, page, CustomerView::from)))
}

/// Create a customer.
///
/// For admins and the shop's API key. Only `company` is required; `email`, if
/// given, must be an e-mail address (stored lower-cased), `country` an ISO
/// 3166-1 alpha-2 code in upper case, and `address` may span lines. Usually
/// the customer comes with its first order (`POST /orders`); create one here
/// to name it later by `customer_id`.
#[utoipa::path(
    tag = "customers",
    request_body(
        content = NewCustomer,
        example = json!({
            "company": "Muster Bau GmbH",
            "contact_name": "Max Mustermann",
            "email": "einkauf@muster-bau.example",
            "address": "Musterstraße 12\n80331 München",
            "country": "DE",
            "vat_id": "DE123456789"
        })
    ),
    responses((status = 201, description = "Created", body = CustomerView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[post("/customers")]
pub async fn create_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AdminOrShop,
    body: ValidJson<NewCustomer>,
) -> ApiResult<Created<CustomerView>> {
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let customer = body.value.into_row(now);
    let customer = state.db.write(move |tx| catalog::create_customer(tx, &ctx, customer, now)).await?;
    Ok(Created(customer.into()))
}

/// One customer.
///
/// For admins and the shop's API key; license managers get 403 `FORBIDDEN`.
/// An unknown id is 404.
#[utoipa::path(
    tag = "customers",
    params(("customer_id" = String, Path, description = "Customer id")),
    responses((status = 200, body = CustomerView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/customers/{customer_id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    _caller: AdminOrShop,
    path: web::Path<CustomerId>,
) -> ApiResult<web::Json<CustomerView>> {
    let id = path.into_inner();
    let customer = state.db.run(move |conn| catalog::customer(conn, &id)).await?;
    Ok(web::Json(customer.into()))
}

/// Change a customer's data; absent fields stay.
///
/// For admins and the shop's API key, with the rules of `POST /customers`.
/// Every order and license of the customer shows the change at once (its
/// `company` is the owner the software shows); license files already issued
/// keep the company they were signed with.
#[utoipa::path(
    tag = "customers",
    params(("customer_id" = String, Path, description = "Customer id")),
    request_body(
        content = UpdateCustomer,
        example = json!({ "contact_name": "Erika Musterfrau", "email": "erika.musterfrau@muster-bau.example" })
    ),
    responses((status = 200, body = CustomerView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[patch("/customers/{customer_id}")]
pub async fn update_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AdminOrShop,
    path: web::Path<CustomerId>,
    body: ValidJson<UpdateCustomer>,
) -> ApiResult<web::Json<CustomerView>> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let changes = body.value.into_changeset(now);
    let customer =
        state.db.write(move |tx| catalog::update_customer(tx, &ctx, &id, changes, Target::default(), now)).await?;
    Ok(web::Json(customer.into()))
}
