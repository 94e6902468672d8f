//! Orders: how much an order holds (the bounds that keep every order, and
//! every view of one, a known size), creating one all or nothing, idempotent
//! retries, and its license managers (who may be linked, the last one stays).

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use super::error::{Error, Result};
use super::licenses::{self, Terms};
use super::linking::{self, AccountFacts, LinkCaller};
use crate::db::{AnyConnection, DbError, LockableTable, lock_row_for_update};
use crate::ids;
use crate::models::accounts::{Account, NewAccount, Role};
use crate::models::catalog::Customer;
use crate::models::orders::{IdempotencyKey, Order, OrderManager};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::scope::Scope;
use crate::repositories::{accounts, customers, orders};

/// An order holds 1 to this many licenses (at creation and after).
pub const MAX_LICENSES: usize = 100;

/// An order names 1 to this many license managers (at creation and after).
pub const MAX_MANAGERS: usize = 50;

/// A manager account's view lists at most this many of its orders.
pub const MAX_ORDER_REFS: usize = 100;

/// May an order that holds `held` licenses take one more?
pub fn may_add_license(held: i64) -> bool {
    held < MAX_LICENSES as i64
}

/// May an order that names `held` managers take one more?
pub fn may_add_manager(held: i64) -> bool {
    held < MAX_MANAGERS as i64
}

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_HOURS: i64 = 24;
/// An unfinished reservation older than this is taken to be abandoned.
pub const ABANDONED_AFTER_SECONDS: i64 = 120;

/// What an idempotency key lets a request do.
pub enum Reservation {
    /// Go ahead; complete or release this record.
    Reserved(String),
    /// The same request was answered before: replay this order.
    Replay(String),
}

/// Claims `key` of `principal` for a request whose body has `digest`, or says why not.
pub fn reserve(
    conn: &mut AnyConnection,
    principal: &str,
    key: &str,
    digest: &str,
    now: NaiveDateTime,
) -> Result<Reservation> {
    let decide = |record: IdempotencyKey| {
        if record.request_hash != digest {
            Err(Error::IdempotencyKeyReused)
        } else if let Some(order_id) = record.order_id {
            Ok(Reservation::Replay(order_id))
        } else {
            Err(Error::IdempotencyInProgress)
        }
    };
    orders::purge_idempotency(conn, now)?;
    if let Some(record) = orders::idempotency_record(conn, principal, key)? {
        // A reservation whose request never finished (the caller went away
        // mid-request, or the process stopped) is taken over, so the retry
        // idempotency exists for is not refused for a day.
        let abandoned =
            record.order_id.is_none() && record.created_at < now - TimeDelta::seconds(ABANDONED_AFTER_SECONDS);
        if !abandoned {
            return decide(record);
        }
        orders::delete_idempotency(conn, &record.id)?;
    }
    let record = IdempotencyKey {
        id: ids::new_id(),
        principal: principal.to_owned(),
        idem_key: key.to_owned(),
        request_hash: digest.to_owned(),
        order_id: None,
        created_at: now,
        expires_at: now + TimeDelta::hours(IDEMPOTENCY_HOURS),
    };
    if orders::insert_idempotency(conn, &record)? {
        return Ok(Reservation::Reserved(record.id));
    }
    // Another request took the key meanwhile.
    match orders::idempotency_record(conn, principal, key)? {
        Some(record) => decide(record),
        None => Err(Error::IdempotencyInProgress),
    }
}

/// Frees a reserved key so the caller can retry a request that failed.
pub fn release(conn: &mut AnyConnection, reservation: &str) -> Result<()> {
    Ok(orders::delete_idempotency(conn, reservation)?)
}

/// A manager account made ready before the transaction (hashing is slow).
pub struct PreparedManager {
    /// Normalized.
    pub email: String,
    pub name: String,
    /// For e-mails without an account: the generated password and its hash.
    pub new_password: Option<(String, String)>,
}

/// The order an account is to be linked to, and who asks.
pub struct LinkTarget<'a> {
    pub caller: LinkCaller,
    pub order_id: &'a str,
    pub customer_id: &'a str,
}

/// Finds the existing account of the manager's e-mail and checks that it may
/// be linked to the target order (see `linking`), or inserts the account for
/// a new e-mail — bound to the order's customer when a manager creates it.
/// Returns the account and, if it was created, its password. `field` names
/// the e-mail in a refusal.
fn manager_account(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    target: &LinkTarget<'_>,
    manager: PreparedManager,
    field: &str,
    now: NaiveDateTime,
) -> Result<(Account, Option<String>)> {
    let PreparedManager { email, name, new_password } = manager;
    if let Some(existing) = accounts::find_by_email(conn, &email)? {
        let facts = AccountFacts {
            is_admin: existing.is_admin(),
            disabled: existing.disabled,
            bound_customer_id: existing.bound_customer_id.clone(),
            manages_order_of_customer: accounts::manages_order_of_customer(conn, &existing.id, target.customer_id)?,
        };
        linking::may_link(target.caller, &facts, target.customer_id)
            .map_err(|refusal| Error::LinkRefused { refusal, field: field.to_owned() })?;
        return Ok((existing, None));
    }
    let Some((password, hash)) = new_password else {
        return Err(Error::Storage(DbError::Failed("a new manager account without a prepared password".into())));
    };
    let id = ids::new_id();
    let bound_customer_id = linking::binding_of_new_account(target.caller, target.customer_id);
    accounts::insert(
        conn,
        &NewAccount {
            id: &id,
            email: &email,
            name: &name,
            role: Role::Manager.as_str(),
            password_hash: &hash,
            disabled: false,
            created_at: now,
            updated_at: now,
            bound_customer_id,
        },
    )?;
    let audit_target = Target::order(target.order_id).with_subject(&id);
    let details = json!({ "email": email, "bound_customer_id": bound_customer_id });
    audit::record(conn, ctx, now, "manager.created", audit_target, details)?;
    let account = accounts::find(conn, &id)?.ok_or(Error::Storage(DbError::NotFound))?;
    Ok((account, Some(password)))
}

fn link(conn: &mut AnyConnection, ctx: &AuditCtx, order_id: &str, account: &Account, now: NaiveDateTime) -> Result<()> {
    let link = OrderManager { order_id: order_id.to_owned(), account_id: account.id.clone(), created_at: now };
    orders::add_manager(conn, &link)?;
    let target = Target::order(order_id).with_subject(&account.id);
    audit::record(conn, ctx, now, "order_manager.added", target, json!({ "email": account.email }))?;
    Ok(())
}

/// The customer of a new order.
pub enum CustomerChoice {
    /// A new customer, to insert.
    New(Customer),
    /// An existing one, by id as sent.
    Existing(String),
}

/// A new order, all or nothing.
pub struct NewOrder {
    pub number: String,
    pub customer: CustomerChoice,
    pub licenses: Vec<Terms>,
    pub managers: Vec<PreparedManager>,
    /// The idempotency record to complete with the order, if any.
    pub reservation: Option<String>,
}

/// A created order: its id, and the passwords of the accounts it created (by account id).
pub struct CreatedOrder {
    pub order_id: String,
    pub passwords: HashMap<String, String>,
}

/// An order with everything its view shows.
pub struct OrderParts {
    pub order: Order,
    pub customer: Customer,
    pub licenses: Vec<crate::repositories::licenses::LicenseRow>,
    pub managers: Vec<Account>,
}

/// The order `id` if `scope` sees it, with its customer, licenses and managers.
pub fn find(conn: &mut AnyConnection, scope: &Scope, id: &str, now: NaiveDateTime) -> Result<OrderParts> {
    let (order, customer) = orders::find(conn, scope, id)?.ok_or(Error::NotFound)?;
    let licenses = crate::repositories::licenses::for_orders(conn, std::slice::from_ref(&order.id), now)?;
    let managers = orders::managers(conn, &order.id)?;
    Ok(OrderParts { order, customer, licenses, managers })
}

/// Changes the customer of the order `id` (admins: the owner shown in the software).
pub fn update_customer(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    changes: crate::models::catalog::CustomerChangeset,
    now: NaiveDateTime,
) -> Result<Customer> {
    let (order, _) = orders::find(conn, &Scope::All, id)?.ok_or(Error::NotFound)?;
    super::catalog::update_customer(conn, ctx, &order.customer_id, changes, Target::order(&order.id), now)
}

/// Creates an order with its customer, licenses and managers.
pub fn create(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    caller: LinkCaller,
    order: NewOrder,
    now: NaiveDateTime,
) -> Result<CreatedOrder> {
    let number = order.number.trim().to_owned();
    if orders::number_taken(conn, &number)? {
        return Err(Error::OrderNumberTaken(number));
    }
    let customer = match order.customer {
        CustomerChoice::New(row) => super::catalog::create_customer(conn, ctx, row, now)?,
        CustomerChoice::Existing(id) => match ids::parse(&id) {
            Some(id) => customers::find(conn, &id)?,
            None => None,
        }
        .ok_or_else(|| Error::no_such("customer_id", "customer"))?,
    };
    let row = Order {
        id: ids::new_id(),
        number: number.clone(),
        customer_id: customer.id.clone(),
        created_at: now,
        updated_at: now,
    };
    orders::insert(conn, &row).map_err(|e| match DbError::from(e) {
        DbError::Duplicate(_) => Error::OrderNumberTaken(number.clone()),
        other => other.into(),
    })?;
    let details = json!({ "number": number, "customer_id": customer.id, "licenses": order.licenses.len() });
    audit::record(conn, ctx, now, "order.created", Target::order(&row.id).with_subject(&row.id), details)?;
    for (i, terms) in order.licenses.iter().enumerate() {
        let product = licenses::resolve_product(conn, &terms.product, &format!("licenses[{i}]"))?;
        licenses::issue(conn, ctx, &row.id, &product, terms, now)?;
    }
    let mut passwords = HashMap::new();
    let target = LinkTarget { caller, order_id: &row.id, customer_id: &customer.id };
    for (i, manager) in order.managers.into_iter().enumerate() {
        let field = format!("managers[{i}].email");
        let (account, password) = manager_account(conn, ctx, &target, manager, &field, now)?;
        link(conn, ctx, &row.id, &account, now)?;
        if let Some(password) = password {
            passwords.insert(account.id, password);
        }
    }
    if let Some(record) = &order.reservation {
        orders::complete_idempotency(conn, record, &row.id)?;
    }
    Ok(CreatedOrder { order_id: row.id, passwords })
}

/// Adds a manager to an order `scope` sees; answers the account and, if it
/// was created, its password.
pub fn add_manager(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    caller: LinkCaller,
    order_id: &str,
    manager: PreparedManager,
    now: NaiveDateTime,
) -> Result<(Account, Option<String>)> {
    lock_row_for_update(conn, LockableTable::Orders, order_id)?;
    let (order, _) = orders::find(conn, scope, order_id)?.ok_or(Error::NotFound)?;
    let target = LinkTarget { caller, order_id, customer_id: &order.customer_id };
    let (account, password) = manager_account(conn, ctx, &target, manager, "email", now)?;
    if orders::is_manager(conn, order_id, &account.id)? {
        return Err(Error::AlreadyManager);
    }
    if !may_add_manager(orders::manager_count(conn, order_id)?) {
        return Err(Error::OrderFull { what: "managers", max: MAX_MANAGERS });
    }
    link(conn, ctx, order_id, &account, now)?;
    Ok((account, password))
}

/// Removes a manager from an order `scope` sees; the last one stays.
pub fn remove_manager(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    scope: &Scope,
    order_id: &str,
    manager_id: &str,
    now: NaiveDateTime,
) -> Result<()> {
    lock_row_for_update(conn, LockableTable::Orders, order_id)?;
    orders::find(conn, scope, order_id)?.ok_or(Error::NotFound)?;
    if !orders::is_manager(conn, order_id, manager_id)? {
        return Err(Error::NotFound);
    }
    if orders::manager_count(conn, order_id)? <= 1 {
        return Err(Error::LastManager);
    }
    orders::remove_manager(conn, order_id, manager_id)?;
    let target = Target::order(order_id).with_subject(manager_id);
    audit::record(conn, ctx, now, "order_manager.removed", target, json!({}))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_full_at_its_bounds() {
        assert!(may_add_license(0) && may_add_license(MAX_LICENSES as i64 - 1));
        assert!(!may_add_license(MAX_LICENSES as i64));
        assert!(may_add_manager(MAX_MANAGERS as i64 - 1));
        assert!(!may_add_manager(MAX_MANAGERS as i64));
    }
}
