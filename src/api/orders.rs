//! Orders: created by admins and the shop (with their customer, licenses and
//! managers, idempotently), read by everyone in scope; their managers are
//! managed by admins and by the order's own managers.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::customers::{CustomerView, NewCustomer, UpdateCustomer};
use super::extract::{Query, ValidJson};
use super::licenses::{CustomerRef, LicenseTerms, LicenseView};
use super::{Created, ListParams, Page, audit_ctx, normalize_email, scope_of, utc};
use crate::auth::{Admin, AdminOrShop, Caller, Person, Principal, password};
use crate::crypto::sha256_hex;
use crate::error::{ApiError, ApiResult};
use crate::ids::OrderId;
use crate::licensing;
use crate::licensing::linking::LinkCaller;
use crate::licensing::orders::{
    self as order_rules, CustomerChoice, NewOrder, OrderParts, PreparedManager, Reservation,
};
use crate::models::accounts::Account as AccountRow;
use crate::repositories::audit::AuditCtx;
use crate::repositories::list::Sort;
use crate::repositories::orders::{self, OrderSort};
use crate::repositories::scope::Scope;
use crate::repositories::{accounts, licenses};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_orders)
        .service(create_order)
        .service(get_order)
        .service(update_order_customer)
        .service(list_order_managers)
        .service(add_order_manager)
        .service(remove_order_manager);
}

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A license manager of an order (its `id` is the account id).
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerSummary {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    // E-mails are checked (254 characters, `ValidateEmail`) before `normalize_email`
    // lower-cases them, and 'İ' lower-cases to two characters: up to 502 stored.
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
    /// Only in the answer that created the account: its generated password, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 20, pattern = r"^[a-hjkmnp-zA-HJKMNP-Z2-9]{20}$")]
    pub initial_password: Option<String>,
}

impl ManagerSummary {
    fn of(a: AccountRow) -> Self {
        Self { id: a.id, email: a.email, name: a.name, initial_password: None }
    }
}

/// An order with its customer in full, its licenses and its managers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(example = "SO-2026-0042", min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub number: String,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    pub customer: CustomerView,
    // `licensing::orders`: every way into an order keeps these bounds.
    #[schema(min_items = 1, max_items = 100)]
    pub licenses: Vec<LicenseView>,
    #[schema(min_items = 1, max_items = 50)]
    pub managers: Vec<ManagerSummary>,
    /// Set on an idempotent replay: generated passwords are never stored, so
    /// they are not in this answer (an admin can issue new ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password_withheld: Option<bool>,
}

/// An order in a list: customer summary, license count and licenses, no managers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderListItem {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub number: String,
    #[schema(min_length = 20, max_length = 30)]
    pub created_at: DateTime<Utc>,
    pub customer: CustomerRef,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub license_count: i64,
    #[schema(min_items = 1, max_items = 100)]
    pub licenses: Vec<LicenseView>,
}

impl OrderView {
    fn new(parts: OrderParts, now: NaiveDateTime) -> Self {
        let OrderParts { order, customer, licenses, managers } = parts;
        Self {
            id: order.id,
            number: order.number,
            created_at: utc(order.created_at),
            customer: customer.into(),
            licenses: licenses.into_iter().map(|row| LicenseView::new(row, now)).collect(),
            managers: managers.into_iter().map(ManagerSummary::of).collect(),
            initial_password_withheld: None,
        }
    }
}

/// The orders collection: sort fields, default order, search.
pub struct Orders;

impl super::Collection for Orders {
    type Field = OrderSort;
    const SORTS: &'static [(&'static str, OrderSort)] =
        &[("created_at", OrderSort::CreatedAt), ("number", OrderSort::Number)];
    const DEFAULT: Sort<OrderSort> = Sort { field: OrderSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("number and company");
}

/// List the orders the caller may see.
///
/// Admins and the shop's API key see every order, a license manager the
/// orders it manages. Items carry the customer's id and company, the license
/// count and the licenses, but no managers; `q` searches number and company;
/// `sort` takes `created_at` (default, newest first) or `number`.
#[utoipa::path(
    tag = "orders",
    params(ListParams<Orders>),
    responses((status = 200, description = "A page of orders", body = Page<OrderListItem>)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    params: Query<ListParams<Orders>>,
) -> ApiResult<web::Json<Page<OrderListItem>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let answer = state
        .db
        .run(move |conn| {
            let rows = orders::list(conn, &scope, q.as_deref(), sort, page)?;
            let ids: Vec<String> = rows.items.iter().map(|(o, _)| o.id.clone()).collect();
            let mut by_order: HashMap<String, Vec<LicenseView>> = HashMap::new();
            for row in licenses::for_orders(conn, &ids, now)? {
                by_order.entry(row.order.id.clone()).or_default().push(LicenseView::new(row, now));
            }
            ApiResult::Ok(Page::new(rows, page, |(order, customer)| {
                let licenses = by_order.remove(&order.id).unwrap_or_default();
                OrderListItem {
                    license_count: licenses.len() as i64,
                    licenses,
                    id: order.id,
                    number: order.number,
                    created_at: utc(order.created_at),
                    customer: CustomerRef { id: customer.id, company: customer.company },
                }
            }))
        })
        .await?;
    Ok(web::Json(answer))
}

/// One order with its customer, licenses and managers.
///
/// Admins and the shop's API key read any order, a license manager those it
/// manages: any other id is 404, as if it did not exist. `customer` is in
/// full and `managers` lists `{id, email, name}`.
#[utoipa::path(
    tag = "orders",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderView)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/orders/{order_id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<OrderId>,
) -> ApiResult<web::Json<OrderView>> {
    let id = path.into_inner();
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let order = OrderView::new(state.db.run(move |conn| order_rules::find(conn, &scope, &id, now)).await?, now);
    Ok(web::Json(order))
}

/// A manager named by a new order, or added to one.
#[derive(Clone, Debug, Serialize, Deserialize, Validate, ToSchema)]
pub struct NewManager {
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
}

/// A new order. Give the customer inline or by `customer_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateOrder {
    /// The shop's order number; unique.
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "super::rules::not_blank")
    )]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub number: String,
    #[validate(nested)]
    pub customer: Option<NewCustomer>,
    #[schema(value_type = Option<crate::ids::Id>)]
    pub customer_id: Option<String>,
    #[validate(length(min = 1, max = 100, message = "must hold 1 to 100 licenses"), nested)]
    #[schema(min_items = 1, max_items = 100)]
    pub licenses: Vec<LicenseTerms>,
    #[validate(length(min = 1, max = 50, message = "must name 1 to 50 managers"), nested)]
    #[schema(min_items = 1, max_items = 50)]
    pub managers: Vec<NewManager>,
}

/// Who asks for a manager link, as the linking rules know callers.
fn link_caller(principal: &Principal) -> LinkCaller {
    match principal {
        Principal::Admin(_) => LinkCaller::Admin,
        Principal::Manager(_) => LinkCaller::Manager,
        Principal::Shop(_) => LinkCaller::Shop,
    }
}

/// Generates and hashes passwords for the e-mails that have no account yet.
async fn prepare_managers(state: &AppState, managers: &[NewManager]) -> ApiResult<Vec<PreparedManager>> {
    let emails: Vec<String> = managers.iter().map(|m| normalize_email(&m.email)).collect();
    let lookup = emails.clone();
    let known: Vec<bool> = state
        .db
        .run(move |conn| {
            lookup.iter().map(|e| Ok(accounts::find_by_email(conn, e)?.is_some())).collect::<ApiResult<Vec<bool>>>()
        })
        .await?;
    let mut prepared = Vec::with_capacity(managers.len());
    for ((manager, email), known) in managers.iter().zip(emails).zip(known) {
        let new_password = if known {
            None
        } else {
            let password = password::generate();
            let hash = state.hasher.hash(password.clone()).await?;
            Some((password, hash))
        };
        let name = manager.name.as_deref().unwrap_or("").trim().to_owned();
        prepared.push(PreparedManager { email, name, new_password });
    }
    Ok(prepared)
}

fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = value.to_str().map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII"))?.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::field("Idempotency-Key", "must be 1 to 255 characters"));
    }
    Ok(Some(key.to_owned()))
}

/// Create an order with its customer, licenses and managers.
///
/// For admins and the shop's API key; all or nothing. Give the customer
/// inline or by `customer_id`, 1–100 licenses and 1–50 managers: a new e-mail
/// gets an account whose generated password is in this answer only
/// (`managers[].initial_password`), an existing account is linked. A taken
/// `number` is 409 `ORDER_NUMBER_TAKEN`, an account bound to another customer
/// 409 `EMAIL_BOUND_TO_OTHER_CUSTOMER`. With an `Idempotency-Key` the same
/// request again answers the same order (201, `initial_password_withheld:
/// true`) and creates nothing.
#[utoipa::path(
    tag = "orders",
    request_body(
        content = CreateOrder,
        example = json!({
            "number": "SO-2026-0042",
            "customer": {
                "company": "Muster Bau GmbH",
                "contact_name": "Max Mustermann",
                "email": "einkauf@muster-bau.example",
                "address": "Musterstraße 12\n80331 München",
                "country": "DE",
                "vat_id": "DE123456789"
            },
            "licenses": [
                {
                    "product_code": "CAD-PRO",
                    "kind": "user_based",
                    "seats": 5,
                    "expires_at": "2027-12-31T23:59:59Z"
                },
                {
                    "product_code": "CAD-PRO",
                    "kind": "computer_based",
                    "seats": 2,
                    "offline_allowed": true
                }
            ],
            "managers": [
                {
                    "email": "max.mustermann@muster-bau.example",
                    "name": "Max Mustermann"
                }
            ]
        })
    ),
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255, pattern = r"^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$", description = "1–255 visible ASCII characters; kept 24 hours per caller")),
    responses(
        (status = 201, description = "Created (or replayed for the same Idempotency-Key and body)", body = OrderView),
        (status = 404, description = "`NOT_FOUND`: `customer_id` or a license's `product_id`/`product_code` names nothing (`errors` names the field)"),
        (status = 409, description = "`ORDER_NUMBER_TAKEN`; `IDEMPOTENCY_IN_PROGRESS`; `EMAIL_BOUND_TO_OTHER_CUSTOMER`: a manager's e-mail names an account bound to another customer; `EMAIL_UNAVAILABLE`: it is an admin's (`errors` names the `managers[i].email`); nothing is created"),
        (status = 422, description = "`VALIDATION_FAILED`; `IDEMPOTENCY_KEY_REUSED` (same key, other body)"),
    ),
    security(("bearer" = []), ("shop_key" = []))
)]
#[post("/orders")]
pub async fn create_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AdminOrShop,
    body: ValidJson<CreateOrder>,
) -> ApiResult<Created<OrderView>> {
    let principal = caller.0;
    let ctx = audit_ctx(&req, &principal);
    let key = idempotency_key(&req)?;
    let order = body.value;
    match (&order.customer, &order.customer_id) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => return Err(ApiError::field("customer", "give exactly one of customer and customer_id")),
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in order.managers.iter().enumerate() {
        if !seen.insert(normalize_email(&m.email)) {
            return Err(ApiError::field(&format!("managers[{i}].email"), "is named twice"));
        }
    }

    let reservation = match &key {
        None => None,
        Some(key) => {
            let (owner, key, digest) = (principal.idempotency_owner(), key.clone(), sha256_hex(&body.raw));
            let now = state.clock.now();
            match state.db.write(move |tx| order_rules::reserve(tx, &owner, &key, &digest, now)).await? {
                Reservation::Replay(order_id) => {
                    let now = state.clock.now();
                    let parts = state.db.run(move |conn| order_rules::find(conn, &Scope::All, &order_id, now)).await?;
                    let mut view = OrderView::new(parts, now);
                    view.initial_password_withheld = Some(true);
                    return Ok(Created(view));
                }
                Reservation::Reserved(id) => Some(id),
            }
        }
    };

    let caller = link_caller(&principal);
    let result = create_order_now(&state, ctx, caller, order, reservation.clone()).await;
    if let (Err(_), Some(record)) = (&result, reservation) {
        // Free the key so the caller can retry the failed request.
        let _ = state.db.write(move |tx| order_rules::release(tx, &record)).await;
    }
    result.map(Created)
}

async fn create_order_now(
    state: &web::Data<AppState>,
    ctx: AuditCtx,
    caller: LinkCaller,
    order: CreateOrder,
    reservation: Option<String>,
) -> ApiResult<OrderView> {
    let prepared = prepare_managers(state, &order.managers).await?;
    let now = state.clock.now();
    let customer = match (order.customer, order.customer_id) {
        (Some(new), _) => CustomerChoice::New(new.into_row(now)),
        (None, Some(id)) => CustomerChoice::Existing(id),
        (None, None) => unreachable!("checked before"),
    };
    let licenses = order
        .licenses
        .iter()
        .enumerate()
        .map(|(i, terms)| terms.terms(&format!("licenses[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    let new = NewOrder { number: order.number, customer, licenses, managers: prepared, reservation };
    let (parts, passwords) = state
        .db
        .write(move |tx| {
            let created = order_rules::create(tx, &ctx, caller, new, now)?;
            let parts = order_rules::find(tx, &Scope::All, &created.order_id, now)?;
            Ok::<_, licensing::Error>((parts, created.passwords))
        })
        .await?;
    let mut view = OrderView::new(parts, now);
    for manager in &mut view.managers {
        manager.initial_password = passwords.get(&manager.id).cloned();
    }
    Ok(view)
}

/// Change the customer data of an order (the owner shown in the software).
///
/// Admins only (vendor support): license managers and the shop's API key get
/// 403 `FORBIDDEN`. Absent fields stay. The customer is shared by all its
/// orders, so every one of them shows the change.
#[utoipa::path(
    tag = "orders",
    params(("order_id" = String, Path, description = "Order id")),
    request_body(
        content = UpdateCustomer,
        example = json!({ "company": "Muster Bau GmbH & Co. KG", "address": "Industriestraße 5\n80939 München" })
    ),
    responses((status = 200, description = "The order's customer", body = CustomerView)),
    security(("bearer" = []))
)]
#[patch("/orders/{order_id}/customer")]
pub async fn update_order_customer(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<OrderId>,
    body: ValidJson<UpdateCustomer>,
) -> ApiResult<web::Json<CustomerView>> {
    let id = path.into_inner();
    let ctx = audit_ctx(&req, &admin.0);
    let now = state.clock.now();
    let changes = body.value;
    let changes = changes.into_changeset(now);
    let customer = state.db.write(move |tx| order_rules::update_customer(tx, &ctx, &id, changes, now)).await?;
    Ok(web::Json(customer.into()))
}

/// The ordermanagers collection: sort fields, default order, search.
pub struct OrderManagers;

impl super::Collection for OrderManagers {
    type Field = orders::ManagerSort;
    const SORTS: &'static [(&'static str, orders::ManagerSort)] = &[
        ("created_at", orders::ManagerSort::CreatedAt),
        ("email", orders::ManagerSort::Email),
        ("name", orders::ManagerSort::Name),
    ];
    const DEFAULT: Sort<orders::ManagerSort> = Sort { field: orders::ManagerSort::CreatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("e-mail and name");
}

/// The license managers of an order.
///
/// For admins, the shop's API key and the order's own managers (any other
/// order is 404 to a manager). A manager's `id` is its account id; `sort`
/// takes `created_at` (when added; default, newest first), `email` or `name`;
/// `q` searches e-mail and name (a substring, ignoring case).
#[utoipa::path(
    tag = "orders",
    params(("order_id" = String, Path, description = "Order id"), ListParams<OrderManagers>),
    responses((status = 200, description = "A page of the order's managers", body = Page<ManagerSummary>)),
    security(("bearer" = []), ("shop_key" = []))
)]
#[get("/orders/{order_id}/managers")]
pub async fn list_order_managers(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<OrderId>,
    params: Query<ListParams<OrderManagers>>,
) -> ApiResult<web::Json<Page<ManagerSummary>>> {
    let id = path.into_inner();
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let scope = scope_of(&caller.0);
    let managers = state
        .db
        .run(move |conn| {
            orders::find(conn, &scope, &id)?.ok_or_else(ApiError::not_found)?;
            ApiResult::Ok(orders::managers_page(conn, &id, q.as_deref(), sort, page)?)
        })
        .await?;
    Ok(web::Json(Page::new(managers, page, ManagerSummary::of)))
}

/// The answer to adding a manager.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedManager {
    pub manager: ManagerSummary,
    /// The generated password of a newly created account, shown once; null
    /// when an existing account was linked.
    #[schema(min_length = 20, max_length = 20, pattern = r"^[a-hjkmnp-zA-HJKMNP-Z2-9]{20}$")]
    pub initial_password: Option<String>,
}

/// Add a license manager by e-mail: creates the account (with a generated
/// password) when the e-mail is new, else links the existing account.
///
/// For admins and the order's managers; a shop API key gets 403 `FORBIDDEN`.
/// An account created here by a manager is bound to the order's customer, and
/// a bound account is linked only to orders of its customer. A manager may
/// link an existing account only when it already manages an order of the
/// same customer; every other existing e-mail (another customer's manager, a
/// bound or disabled account, an admin) answers a manager with the same 409
/// `EMAIL_UNAVAILABLE`. Already a manager of this order is 409
/// `ALREADY_MANAGER`.
#[utoipa::path(
    tag = "orders",
    params(("order_id" = String, Path, description = "Order id")),
    request_body(
        content = NewManager,
        example = json!({ "email": "jonas.weber@muster-bau.example", "name": "Jonas Weber" })
    ),
    responses(
        (status = 201, body = AddedManager),
        (status = 409, description = "`ALREADY_MANAGER`; `ORDER_FULL`: the order names 50 managers already; `EMAIL_UNAVAILABLE` (manager callers: this e-mail can't be added here, whatever the reason — ask the vendor's support; admin callers: it is an admin's, said in `errors`); `EMAIL_BOUND_TO_OTHER_CUSTOMER` (admin callers: the account is bound to another customer)"),
    ),
    security(("bearer" = []))
)]
#[post("/orders/{order_id}/managers")]
pub async fn add_order_manager(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<OrderId>,
    body: ValidJson<NewManager>,
) -> ApiResult<Created<AddedManager>> {
    let id = path.into_inner();
    let Person(principal, _) = caller;
    let scope = scope_of(&principal);
    let ctx = audit_ctx(&req, &principal);
    let caller = link_caller(&principal);
    // Existence is checked before the slow hashing, so an outsider learns nothing at any cost.
    let check_scope = scope.clone();
    let check_id = id.clone();
    state
        .db
        .run(move |conn| orders::find(conn, &check_scope, &check_id)?.map(|_| ()).ok_or_else(ApiError::not_found))
        .await?;
    // A password is generated and hashed for every request, whether the
    // e-mail is new, an account that may be linked, or one that is refused:
    // the same slow work on every path, so the time of the answer tells a
    // manager nothing about which accounts exist.
    let generated = password::generate();
    let hash = state.hasher.hash(generated.clone()).await?;
    let manager = PreparedManager {
        email: normalize_email(&body.value.email),
        name: body.value.name.as_deref().unwrap_or("").trim().to_owned(),
        new_password: Some((generated, hash)),
    };
    let now = state.clock.now();
    let (account, password) =
        state.db.write(move |tx| order_rules::add_manager(tx, &ctx, &scope, caller, &id, manager, now)).await?;
    Ok(Created(AddedManager { manager: ManagerSummary::of(account), initial_password: password }))
}

/// Remove a license manager from an order (also oneself). The last manager stays.
///
/// For admins and the order's managers; a shop API key gets 403 `FORBIDDEN`.
/// Removing the order's last manager is 409 `LAST_MANAGER`. The account
/// itself stays (it may manage other orders) but loses this order at once.
#[utoipa::path(
    tag = "orders",
    params(
        ("order_id" = String, Path, description = "Order id"),
        ("manager_id" = String, Path, description = "The manager's account id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`LAST_MANAGER`: an order keeps at least one manager"),
    ),
    security(("bearer" = []))
)]
#[delete("/orders/{order_id}/managers/{manager_id}")]
pub async fn remove_order_manager(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (order_id, manager_id) = path.into_inner();
    let Person(principal, _) = caller;
    let scope = scope_of(&principal);
    let ctx = audit_ctx(&req, &principal);
    let now = state.clock.now();
    state.db.write(move |tx| order_rules::remove_manager(tx, &ctx, &scope, &order_id, &manager_id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
