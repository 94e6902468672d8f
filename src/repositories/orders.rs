//! Orders, their customer and their managers, scoped per caller.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use super::scope::{Scope, managed_orders};
use crate::db::AnyConnection;
use crate::db::schema::{accounts, customers, idempotency_keys, licenses, order_managers, orders};
use crate::models::accounts::Account;
use crate::models::catalog::Customer;
use crate::models::orders::{IdempotencyKey, Order, OrderManager};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSort {
    CreatedAt,
    Number,
}

/// An order visible in `scope`, with its customer.
pub fn find(conn: &mut AnyConnection, scope: &Scope, id: &str) -> QueryResult<Option<(Order, Customer)>> {
    let mut query = orders::table.inner_join(customers::table).filter(orders::id.eq(id.to_owned())).into_boxed();
    if let Some(manager) = scope.manager() {
        query = query.filter(orders::id.eq_any(managed_orders(manager)));
    }
    query.select((Order::as_select(), Customer::as_select())).first(conn).optional()
}

/// Orders visible in `scope`; `q` over number and company.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    q: Option<&str>,
    sort: Sort<OrderSort>,
    page: PageRequest,
) -> QueryResult<Page<(Order, Customer)>> {
    let filtered = || {
        let mut query = orders::table.inner_join(customers::table).into_boxed();
        if let Some(manager) = scope.manager() {
            query = query.filter(orders::id.eq_any(managed_orders(manager)));
        }
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(orders::number)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(customers::company).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select((Order::as_select(), Customer::as_select()));
    let query = match (sort.field, sort.descending) {
        (OrderSort::CreatedAt, false) => query.order((orders::created_at.asc(), orders::id.asc())),
        (OrderSort::CreatedAt, true) => query.order((orders::created_at.desc(), orders::id.desc())),
        (OrderSort::Number, false) => query.order((lower(orders::number).asc(), orders::id.asc())),
        (OrderSort::Number, true) => query.order((lower(orders::number).desc(), orders::id.desc())),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}

pub fn insert(conn: &mut AnyConnection, order: &Order) -> QueryResult<()> {
    diesel::insert_into(orders::table).values(order).execute(conn).map(|_| ())
}

pub fn number_taken(conn: &mut AnyConnection, number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(orders::table.filter(orders::number.eq(number)))).get_result(conn)
}

/// Licenses per order.
pub fn license_counts(conn: &mut AnyConnection, order_ids: &[String]) -> QueryResult<HashMap<String, i64>> {
    if order_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let counts: Vec<(String, i64)> = licenses::table
        .filter(licenses::order_id.eq_any(order_ids))
        .group_by(licenses::order_id)
        .select((licenses::order_id, count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}

/// Locks the order's row and counts its licenses: the count holds until the
/// transaction ends, so two requests can't both take the last place.
pub fn lock_and_count_licenses(conn: &mut AnyConnection, order_id: &str) -> QueryResult<i64> {
    crate::db::lock_row_for_update(conn, crate::db::LockableTable::Orders, order_id)?;
    licenses::table.filter(licenses::order_id.eq(order_id)).count().get_result(conn)
}

/// The managers of an order, in the order they were added.
pub fn managers(conn: &mut AnyConnection, order_id: &str) -> QueryResult<Vec<Account>> {
    order_managers::table
        .inner_join(accounts::table)
        .filter(order_managers::order_id.eq(order_id))
        .order((order_managers::created_at.asc(), accounts::id.asc()))
        .select(Account::as_select())
        .load(conn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagerSort {
    /// When the manager was added to the order.
    CreatedAt,
    Email,
    Name,
}

/// A page of an order's managers; `q` over e-mail and name.
pub fn managers_page(
    conn: &mut AnyConnection,
    order_id: &str,
    q: Option<&str>,
    sort: Sort<ManagerSort>,
    page: PageRequest,
) -> QueryResult<Page<Account>> {
    let of_order = || {
        let mut query = order_managers::table
            .inner_join(accounts::table)
            .filter(order_managers::order_id.eq(order_id.to_owned()))
            .into_boxed();
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(accounts::email)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(accounts::name).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = of_order().count().get_result(conn)?;
    let query = of_order().select(Account::as_select());
    let query = match (sort.field, sort.descending) {
        (ManagerSort::CreatedAt, false) => query.order((order_managers::created_at.asc(), accounts::id.asc())),
        (ManagerSort::CreatedAt, true) => query.order((order_managers::created_at.desc(), accounts::id.desc())),
        (ManagerSort::Email, false) => query.order((accounts::email.asc(), accounts::id.asc())),
        (ManagerSort::Email, true) => query.order((accounts::email.desc(), accounts::id.desc())),
        (ManagerSort::Name, false) => query.order((lower(accounts::name).asc(), accounts::id.asc())),
        (ManagerSort::Name, true) => query.order((lower(accounts::name).desc(), accounts::id.desc())),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}

pub fn add_manager(conn: &mut AnyConnection, link: &OrderManager) -> QueryResult<()> {
    diesel::insert_into(order_managers::table).values(link).execute(conn).map(|_| ())
}

pub fn is_manager(conn: &mut AnyConnection, order_id: &str, account_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        order_managers::table
            .filter(order_managers::order_id.eq(order_id))
            .filter(order_managers::account_id.eq(account_id)),
    ))
    .get_result(conn)
}

pub fn remove_manager(conn: &mut AnyConnection, order_id: &str, account_id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        order_managers::table
            .filter(order_managers::order_id.eq(order_id))
            .filter(order_managers::account_id.eq(account_id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

pub fn manager_count(conn: &mut AnyConnection, order_id: &str) -> QueryResult<i64> {
    order_managers::table.filter(order_managers::order_id.eq(order_id)).count().get_result(conn)
}

/// The idempotency record of `principal` and `key` (expired ones are purged
/// first by [`purge_idempotency`]).
pub fn idempotency_record(conn: &mut AnyConnection, principal: &str, key: &str) -> QueryResult<Option<IdempotencyKey>> {
    idempotency_keys::table
        .filter(idempotency_keys::principal.eq(principal))
        .filter(idempotency_keys::idem_key.eq(key))
        .select(IdempotencyKey::as_select())
        .first(conn)
        .optional()
}

/// Inserts the record unless the caller's key is stored already (false then).
/// In a savepoint: on PostgreSQL a failed insert would abort the whole transaction.
pub fn insert_idempotency(conn: &mut AnyConnection, record: &IdempotencyKey) -> QueryResult<bool> {
    use diesel::result::{DatabaseErrorKind, Error};
    let inserted = conn.transaction(|c| diesel::insert_into(idempotency_keys::table).values(record).execute(c));
    match inserted {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn complete_idempotency(conn: &mut AnyConnection, id: &str, order_id: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find(id))
        .set(idempotency_keys::order_id.eq(order_id))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_idempotency(conn: &mut AnyConnection, id: &str) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find(id)).execute(conn).map(|_| ())
}

/// Drops expired idempotency records (an indexed delete on `expires_at`), so
/// the table holds only the last day's keys.
pub fn purge_idempotency(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.le(now))).execute(conn)
}
