use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::{accounts, order_managers, refresh_tokens};
use crate::models::accounts::{Account, AccountChangeset, NewAccount, Role};

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Account>> {
    accounts::table.find(id).select(Account::as_select()).first(conn).optional()
}

/// E-mails are stored lower-case; pass the normalized form.
pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<Account>> {
    accounts::table.filter(accounts::email.eq(email)).select(Account::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut AnyConnection, account: &NewAccount<'_>) -> QueryResult<()> {
    diesel::insert_into(accounts::table).values(account).execute(conn).map(|_| ())
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &AccountChangeset) -> QueryResult<Account> {
    diesel::update(accounts::table.find(id)).set(changes).execute(conn)?;
    accounts::table.find(id).select(Account::as_select()).first(conn)
}

pub fn admin_exists(conn: &mut AnyConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::role.eq(Role::Admin.as_str()))))
        .get_result(conn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagerSort {
    CreatedAt,
    Email,
    Name,
}

/// Manager accounts (the admin's view), `q` over e-mail and name.
pub fn list_managers(
    conn: &mut AnyConnection,
    q: Option<&str>,
    sort: Sort<ManagerSort>,
    page: PageRequest,
) -> QueryResult<Page<Account>> {
    let filtered = || {
        let mut query = accounts::table.filter(accounts::role.eq(Role::Manager.as_str())).into_boxed();
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
    let total = filtered().count().get_result(conn)?;
    let mut query = filtered().select(Account::as_select());
    query = match (sort.field, sort.descending) {
        (ManagerSort::CreatedAt, false) => query.order((accounts::created_at.asc(), accounts::id.asc())),
        (ManagerSort::CreatedAt, true) => query.order((accounts::created_at.desc(), accounts::id.desc())),
        (ManagerSort::Email, false) => query.order((accounts::email.asc(), accounts::id.asc())),
        (ManagerSort::Email, true) => query.order((accounts::email.desc(), accounts::id.desc())),
        (ManagerSort::Name, false) => query.order((lower(accounts::name).asc(), accounts::id.asc())),
        (ManagerSort::Name, true) => query.order((lower(accounts::name).desc(), accounts::id.desc())),
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}

/// The order ids an account manages.
pub fn managed_order_ids(conn: &mut AnyConnection, account_id: &str) -> QueryResult<Vec<String>> {
    order_managers::table
        .filter(order_managers::account_id.eq(account_id))
        .select(order_managers::order_id)
        .order(order_managers::order_id.asc())
        .load(conn)
}

/// Revokes every refresh token of the account except those of `keep_family`.
pub fn revoke_refresh_tokens(
    conn: &mut AnyConnection,
    account_id: &str,
    keep_family: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let base = refresh_tokens::table
        .filter(refresh_tokens::account_id.eq(account_id))
        .filter(refresh_tokens::revoked_at.is_null());
    match keep_family {
        Some(family) => diesel::update(base.filter(refresh_tokens::family_id.ne(family)))
            .set(refresh_tokens::revoked_at.eq(now))
            .execute(conn),
        None => diesel::update(base).set(refresh_tokens::revoked_at.eq(now)).execute(conn),
    }
}

/// The orders (id, number) each of these accounts manages.
pub fn orders_of(
    conn: &mut AnyConnection,
    account_ids: &[String],
) -> QueryResult<std::collections::HashMap<String, Vec<(String, String)>>> {
    use crate::db::schema::orders;
    let rows: Vec<(String, String, String)> = order_managers::table
        .inner_join(orders::table)
        .filter(order_managers::account_id.eq_any(account_ids))
        .order((orders::number.asc(), orders::id.asc()))
        .select((order_managers::account_id, orders::id, orders::number))
        .load(conn)?;
    let mut by_account: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
    for (account, id, number) in rows {
        by_account.entry(account).or_default().push((id, number));
    }
    Ok(by_account)
}

/// Whether the account manages an order of customer `customer_id`.
pub fn manages_order_of_customer(conn: &mut AnyConnection, account_id: &str, customer_id: &str) -> QueryResult<bool> {
    use crate::db::schema::orders;
    diesel::select(diesel::dsl::exists(
        order_managers::table
            .inner_join(orders::table)
            .filter(order_managers::account_id.eq(account_id))
            .filter(orders::customer_id.eq(customer_id)),
    ))
    .get_result(conn)
}

/// Whether the account manages an order of any customer but `customer_id`.
pub fn manages_order_of_other_customer(
    conn: &mut AnyConnection,
    account_id: &str,
    customer_id: &str,
) -> QueryResult<bool> {
    use crate::db::schema::orders;
    diesel::select(diesel::dsl::exists(
        order_managers::table
            .inner_join(orders::table)
            .filter(order_managers::account_id.eq(account_id))
            .filter(orders::customer_id.ne(customer_id)),
    ))
    .get_result(conn)
}
