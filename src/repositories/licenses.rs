//! Licenses with what their views need (product, order, customer, seats in use),
//! loaded in a fixed number of queries per page, whatever its size.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use super::scope::{Scope, managed_orders};
use crate::db::AnyConnection;
use crate::db::schema::{customers, devices, licenses, orders, products};
use crate::licensing::status::Status;
use crate::models::catalog::{Customer, Product};
use crate::models::licenses::{License, LicenseChangeset, LicenseKind};
use crate::models::orders::Order;

/// A license and what its view shows.
#[derive(Clone, Debug)]
pub struct LicenseRow {
    pub license: License,
    pub product: Product,
    pub order: Order,
    pub customer: Customer,
    pub seats_used: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LicenseSort {
    CreatedAt,
    ExpiresAt,
    Product,
    Order,
}

#[derive(Clone, Debug, Default)]
pub struct LicenseFilter {
    pub kind: Option<&'static str>,
    pub status: Option<Status>,
    pub order_id: Option<String>,
    pub product_id: Option<String>,
    pub expires_before: Option<NaiveDateTime>,
    pub q: Option<String>,
}

type Joined = (License, Product, Order, Customer);

/// The SQL form of [`Status::at`]: `query` narrowed to the licenses with
/// `status` at `now` (any query over `licenses`, boxed).
macro_rules! filter_status {
    ($query:expr, $status:expr, $now:expr) => {{
        use $crate::db::schema::licenses;
        use $crate::licensing::status::Status;
        let now = $now;
        match $status {
            Status::Suspended => $query.filter(licenses::suspended.eq(true)),
            Status::Expired => $query.filter(licenses::suspended.eq(false)).filter(licenses::expires_at.le(now)),
            Status::Active => $query
                .filter(licenses::suspended.eq(false))
                .filter(licenses::expires_at.is_null().or(licenses::expires_at.gt(now))),
        }
    }};
}
pub(crate) use filter_status;

macro_rules! joined_query {
    () => {
        licenses::table
            .inner_join(orders::table.inner_join(customers::table))
            .inner_join(products::table)
            .into_boxed::<crate::db::MultiBackend>()
    };
}

/// Licenses visible in `scope` matching `filter`.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &LicenseFilter,
    sort: Sort<LicenseSort>,
    page: PageRequest,
    now: NaiveDateTime,
) -> QueryResult<Page<LicenseRow>> {
    let filtered = || {
        let mut query = joined_query!();
        if let Some(manager) = scope.manager() {
            query = query.filter(licenses::order_id.eq_any(managed_orders(manager)));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(licenses::kind.eq(kind));
        }
        if let Some(status) = filter.status {
            query = filter_status!(query, status, now);
        }
        if let Some(order_id) = &filter.order_id {
            query = query.filter(licenses::order_id.eq(order_id.clone()));
        }
        if let Some(product_id) = &filter.product_id {
            query = query.filter(licenses::product_id.eq(product_id.clone()));
        }
        if let Some(before) = filter.expires_before {
            query = query.filter(licenses::expires_at.lt(before));
        }
        if let Some(q) = &filter.q {
            let pattern = contains_pattern(q);
            let key: String = q.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
            query = query.filter(
                lower(licenses::license_key)
                    .like(contains_pattern(&key))
                    .escape('\\')
                    .or(lower(products::name).like(pattern.clone()).escape('\\'))
                    .or(lower(orders::number).like(pattern.clone()).escape('\\'))
                    .or(lower(customers::company).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query =
        filtered().select((License::as_select(), Product::as_select(), Order::as_select(), Customer::as_select()));
    let query = match (sort.field, sort.descending) {
        (LicenseSort::CreatedAt, false) => query.order((licenses::created_at.asc(), licenses::id.asc())),
        (LicenseSort::CreatedAt, true) => query.order((licenses::created_at.desc(), licenses::id.desc())),
        // Perpetual licenses (no expiry) sort as the latest expiry.
        (LicenseSort::ExpiresAt, false) => {
            query.order((licenses::expires_at.is_null().asc(), licenses::expires_at.asc(), licenses::id.asc()))
        }
        (LicenseSort::ExpiresAt, true) => {
            query.order((licenses::expires_at.is_null().desc(), licenses::expires_at.desc(), licenses::id.desc()))
        }
        (LicenseSort::Product, false) => query.order((lower(products::name).asc(), licenses::id.asc())),
        (LicenseSort::Product, true) => query.order((lower(products::name).desc(), licenses::id.desc())),
        (LicenseSort::Order, false) => query.order((lower(orders::number).asc(), licenses::id.asc())),
        (LicenseSort::Order, true) => query.order((lower(orders::number).desc(), licenses::id.desc())),
    };
    let rows: Vec<Joined> = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items: with_seats_used(conn, rows, now)?, total })
}

/// One license, if `scope` may see it.
pub fn find(conn: &mut AnyConnection, scope: &Scope, id: &str, now: NaiveDateTime) -> QueryResult<Option<LicenseRow>> {
    let mut query = joined_query!().filter(licenses::id.eq(id.to_owned()));
    if let Some(manager) = scope.manager() {
        query = query.filter(licenses::order_id.eq_any(managed_orders(manager)));
    }
    let rows: Vec<Joined> = query
        .select((License::as_select(), Product::as_select(), Order::as_select(), Customer::as_select()))
        .load(conn)?;
    Ok(with_seats_used(conn, rows, now)?.pop())
}

/// The licenses of these orders, oldest first.
pub fn for_orders(conn: &mut AnyConnection, order_ids: &[String], now: NaiveDateTime) -> QueryResult<Vec<LicenseRow>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Joined> = joined_query!()
        .filter(licenses::order_id.eq_any(order_ids.to_vec()))
        .select((License::as_select(), Product::as_select(), Order::as_select(), Customer::as_select()))
        .order((licenses::created_at.asc(), licenses::id.asc()))
        .load(conn)?;
    with_seats_used(conn, rows, now)
}

fn with_seats_used(conn: &mut AnyConnection, rows: Vec<Joined>, now: NaiveDateTime) -> QueryResult<Vec<LicenseRow>> {
    let used = seats_used(conn, &rows.iter().map(|(l, ..)| l).collect::<Vec<_>>(), now)?;
    Ok(rows
        .into_iter()
        .map(|(license, product, order, customer)| LicenseRow {
            seats_used: used.get(&license.id).copied().unwrap_or(0),
            license,
            product,
            order,
            customer,
        })
        .collect())
}

/// Seats in use per license (see `licensing::seats`): the counter on the row
/// (users, or active devices) plus the deactivated devices whose seat is not
/// released yet — one indexed query for any number of licenses, which reaches
/// only those devices, however many the licenses have.
pub fn seats_used(
    conn: &mut AnyConnection,
    rows: &[&License],
    now: NaiveDateTime,
) -> QueryResult<HashMap<String, i64>> {
    let computer_based: Vec<&str> =
        rows.iter().filter(|l| l.kind == LicenseKind::ComputerBased).map(|l| l.id.as_str()).collect();
    let held = held_after_deactivation(conn, &computer_based, now)?;
    Ok(rows.iter().map(|l| (l.id.clone(), i64::from(l.seats_held) + held.get(&l.id).copied().unwrap_or(0))).collect())
}

/// Per license, its deactivated devices that still hold a seat at `now`.
fn held_after_deactivation(
    conn: &mut AnyConnection,
    ids: &[&str],
    now: NaiveDateTime,
) -> QueryResult<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let held: Vec<(String, i64)> = devices::table
        .filter(devices::license_id.eq_any(ids))
        .filter(super::devices::held_after_deactivation(now))
        .group_by(devices::license_id)
        .select((devices::license_id, count_star()))
        .load(conn)?;
    Ok(held.into_iter().collect())
}

/// Seats in use on one license (read under its lock to decide on a seat).
pub fn seats_used_one(conn: &mut AnyConnection, license: &License, now: NaiveDateTime) -> QueryResult<i64> {
    Ok(seats_used(conn, &[license], now)?.get(&license.id).copied().unwrap_or(0))
}

/// Moves a license's seat counter by `delta` (+1 a seat taken, -1 one freed).
pub fn add_seats_held(conn: &mut AnyConnection, id: &str, delta: i32) -> QueryResult<()> {
    diesel::update(licenses::table.find(id))
        .set(licenses::seats_held.eq(licenses::seats_held + delta))
        .execute(conn)
        .map(|_| ())
}

pub fn insert(conn: &mut AnyConnection, license: &License) -> QueryResult<()> {
    diesel::insert_into(licenses::table).values(license.clone()).execute(conn).map(|_| ())
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &LicenseChangeset) -> QueryResult<()> {
    diesel::update(licenses::table.find(id)).set(changes).execute(conn).map(|_| ())
}

pub fn find_row(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<License>> {
    licenses::table.find(id).select(License::as_select()).first(conn).optional()
}

/// The license row, if `scope` may see it.
pub fn find_in_scope(conn: &mut AnyConnection, scope: &Scope, id: &str) -> QueryResult<Option<License>> {
    let mut query = licenses::table.filter(licenses::id.eq(id.to_owned())).into_boxed();
    if let Some(manager) = scope.manager() {
        query = query.filter(licenses::order_id.eq_any(managed_orders(manager)));
    }
    query.select(License::as_select()).first(conn).optional()
}

/// The license with this (normalized) key.
pub fn by_key(conn: &mut AnyConnection, key: &str) -> QueryResult<Option<License>> {
    licenses::table.filter(licenses::license_key.eq(key)).select(License::as_select()).get_result(conn).optional()
}
