//! The use cases on accounts: admins manage license-manager accounts
//! (rename, disable, bind to a customer or release, issue a new password);
//! admins and managers change their own name and password; admins create
//! and revoke the shop's API keys.

use chrono::NaiveDateTime;
use serde_json::json;

use super::error::{Error, Result};
use super::linking;
use crate::auth::extract::API_KEY_PREFIX;
use crate::crypto::{random_token, sha256_hex};
use crate::db::AnyConnection;
use crate::ids;
use crate::models::accounts::{Account, AccountChangeset};
use crate::models::api_keys::ApiKey;
use crate::repositories::accounts::{self, ManagerSort};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::list::{Page, PageRequest, Sort};
use crate::repositories::{api_keys, customers};

/// A manager account with the orders (id, number) it manages, by number.
pub struct Manager {
    pub account: Account,
    pub orders: Vec<(String, String)>,
}

/// The accounts, each with the orders it manages.
pub fn with_orders(conn: &mut AnyConnection, rows: Vec<Account>) -> Result<Vec<Manager>> {
    let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
    let mut orders = accounts::orders_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|account| {
            let orders = orders.remove(&account.id).unwrap_or_default();
            Manager { account, orders }
        })
        .collect())
}

fn one_with_orders(conn: &mut AnyConnection, account: Account) -> Result<Manager> {
    Ok(with_orders(conn, vec![account])?.pop().expect("one manager"))
}

/// A page of manager accounts, `q` over e-mail and name.
pub fn list_managers(
    conn: &mut AnyConnection,
    q: Option<&str>,
    sort: Sort<ManagerSort>,
    page: PageRequest,
) -> Result<Page<Manager>> {
    let rows = accounts::list_managers(conn, q, sort, page)?;
    Ok(Page { items: with_orders(conn, rows.items)?, total: rows.total })
}

/// A manager account by id (admins' ids name nothing here).
pub fn find_manager(conn: &mut AnyConnection, id: &str) -> Result<Account> {
    accounts::find(conn, id)?.filter(|a| !a.is_admin()).ok_or(Error::NotFound)
}

/// One manager account with its orders.
pub fn manager(conn: &mut AnyConnection, id: &str) -> Result<Manager> {
    let account = find_manager(conn, id)?;
    one_with_orders(conn, account)
}

/// What an admin asks of a manager account's binding to a customer.
#[derive(Debug)]
pub enum Binding {
    /// Leave it as it is.
    Keep,
    /// Release it. The password is replaced by `unusable_hash`, the hash of a
    /// secret nobody knows, so whoever knew the old one is out and the account
    /// signs in again only with a password an admin issues (a login meanwhile
    /// is a plain 401).
    Release { unusable_hash: String },
    /// Bind the account to this customer (the id as the request sent it).
    BindTo(String),
}

/// What a binding request changes on an account bound to `current`.
#[derive(Debug, PartialEq, Eq)]
enum BindingChange<'a> {
    Nothing,
    Release { previous: &'a str },
    Bind { customer: &'a str, previous: Option<&'a str> },
}

/// Releasing an unbound account and binding to the customer it is bound to
/// change nothing (and record nothing).
fn binding_change<'a>(current: Option<&'a str>, wanted: &'a Binding) -> BindingChange<'a> {
    match (wanted, current) {
        (Binding::Keep, _) | (Binding::Release { .. }, None) => BindingChange::Nothing,
        (Binding::Release { .. }, Some(previous)) => BindingChange::Release { previous },
        (Binding::BindTo(customer), current) if current == Some(customer.as_str()) => BindingChange::Nothing,
        (Binding::BindTo(customer), previous) => BindingChange::Bind { customer, previous },
    }
}

/// What an admin changes on a manager account; absent fields stay.
#[derive(Debug)]
pub struct ManagerUpdate {
    /// Trimmed.
    pub name: Option<String>,
    pub disabled: Option<bool>,
    pub binding: Binding,
}

/// Renames, disables or re-enables a manager account, or changes its binding.
/// Disabling and releasing sign the account out everywhere. A customer to bind
/// to must exist (a malformed id names none) and the account may manage no
/// other customer's orders.
pub fn update_manager(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    update: ManagerUpdate,
    now: NaiveDateTime,
) -> Result<Manager> {
    let no_such_customer = || Error::no_such("bound_customer_id", "customer");
    let ManagerUpdate { name, disabled, mut binding } = update;
    if let Binding::BindTo(customer) = &mut binding {
        *customer = ids::parse(customer).ok_or_else(no_such_customer)?;
    }
    let account = find_manager(conn, id)?;
    if let Binding::BindTo(customer) = &binding {
        customers::find(conn, customer)?.ok_or_else(no_such_customer)?;
    }
    let mut changes = AccountChangeset { name: name.clone(), disabled, updated_at: Some(now), ..Default::default() };
    let binding_event = match binding_change(account.bound_customer_id.as_deref(), &binding) {
        BindingChange::Nothing => None,
        BindingChange::Release { previous } => {
            changes.bound_customer_id = Some(None);
            if let Binding::Release { unusable_hash } = &binding {
                changes.password_hash = Some(unusable_hash.clone());
            }
            Some(("manager.released", json!({ "customer_id": previous })))
        }
        BindingChange::Bind { customer, previous } => {
            let elsewhere = accounts::manages_order_of_other_customer(conn, id, customer)?;
            linking::may_bind(elsewhere).map_err(Error::BindRefused)?;
            changes.bound_customer_id = Some(Some(customer.to_owned()));
            Some(("manager.bound", json!({ "customer_id": customer, "previous_customer_id": previous })))
        }
    };
    let released = changes.bound_customer_id == Some(None);
    let updated = accounts::update(conn, id, &changes)?;
    if disabled == Some(true) || released {
        accounts::revoke_refresh_tokens(conn, id, None, now)?;
    }
    // A request about the binding alone records only the binding's event.
    if name.is_some() || disabled.is_some() || matches!(binding, Binding::Keep) {
        let details = json!({ "name": name, "disabled": disabled });
        audit::record(conn, ctx, now, "manager.updated", Target::subject(id), details)?;
    }
    if let Some((action, details)) = binding_event {
        audit::record(conn, ctx, now, action, Target::subject(id), details)?;
    }
    one_with_orders(conn, updated)
}

/// Gives a manager account a new password (`hash`) and signs it out everywhere.
pub fn reset_manager_password(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    hash: String,
    now: NaiveDateTime,
) -> Result<()> {
    find_manager(conn, id)?;
    let changes = AccountChangeset { password_hash: Some(hash), updated_at: Some(now), ..Default::default() };
    accounts::update(conn, id, &changes)?;
    accounts::revoke_refresh_tokens(conn, id, None, now)?;
    audit::record(conn, ctx, now, "manager.password_reset", Target::subject(id), json!({}))?;
    Ok(())
}

/// An account by id.
pub fn account(conn: &mut AnyConnection, id: &str) -> Result<Account> {
    accounts::find(conn, id)?.ok_or(Error::NotFound)
}

/// Changes the name (trimmed) of the caller's own account.
pub fn update_profile(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    account_id: &str,
    name: String,
    now: NaiveDateTime,
) -> Result<Account> {
    let changes = AccountChangeset { name: Some(name.clone()), updated_at: Some(now), ..Default::default() };
    let account = accounts::update(conn, account_id, &changes)?;
    audit::record(conn, ctx, now, "account.updated", Target::subject(account_id), json!({ "name": name }))?;
    Ok(account)
}

/// A password is changed only with the current one: `verified` says whether
/// the caller gave it (checked against the stored hash, which is slow, by
/// the caller before the transaction).
pub fn require_current_password(verified: bool) -> Result<()> {
    if verified { Ok(()) } else { Err(Error::WrongCurrentPassword) }
}

/// Sets the caller's new password (`hash`). The sign-in `family` it is made
/// from stays; every other sign-in of the account can no longer refresh.
pub fn change_password(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    (account_id, family): (&str, &str),
    hash: String,
    now: NaiveDateTime,
) -> Result<()> {
    let changes = AccountChangeset { password_hash: Some(hash), updated_at: Some(now), ..Default::default() };
    accounts::update(conn, account_id, &changes)?;
    accounts::revoke_refresh_tokens(conn, account_id, Some(family), now)?;
    audit::record(conn, ctx, now, "account.password_changed", Target::subject(account_id), json!({}))?;
    Ok(())
}

/// The scope of the shop's API keys, the only one there is.
pub const SHOP_SCOPE: &str = "shop";

/// A new shop key named `name` and its secret (`lsk_…`): the row keeps only
/// the secret's digest and its first characters, to tell keys apart.
pub fn new_shop_key(name: String, created_by: Option<String>, now: NaiveDateTime) -> (ApiKey, String) {
    let secret = random_token(API_KEY_PREFIX);
    let row = ApiKey {
        id: ids::new_id(),
        name,
        key_hash: sha256_hex(&secret),
        key_prefix: secret[..API_KEY_PREFIX.len() + 8].to_owned(),
        scope: SHOP_SCOPE.to_owned(),
        created_by,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    (row, secret)
}

/// Creates a shop key named `name` (trimmed) by the admin `created_by`.
/// Answers the row and the secret, which is shown once and never stored.
pub fn create_api_key(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    name: String,
    created_by: Option<String>,
    now: NaiveDateTime,
) -> Result<(ApiKey, String)> {
    let (row, secret) = new_shop_key(name, created_by, now);
    api_keys::insert(conn, &row)?;
    let details = json!({ "name": row.name, "prefix": row.key_prefix });
    audit::record(conn, ctx, now, "api_key.created", Target::subject(&row.id), details)?;
    Ok((row, secret))
}

/// Revokes a key at once; an unknown or already revoked key is not found.
pub fn revoke_api_key(conn: &mut AnyConnection, ctx: &AuditCtx, id: &str, now: NaiveDateTime) -> Result<()> {
    if !api_keys::revoke(conn, id, now)? {
        return Err(Error::NotFound);
    }
    audit::record(conn, ctx, now, "api_key.revoked", Target::subject(id), json!({}))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = "customer-acme";
    const OTHER: &str = "customer-other";

    fn release() -> Binding {
        Binding::Release { unusable_hash: "hash".into() }
    }

    #[test]
    fn a_shop_key_stores_only_its_digest_and_prefix() {
        let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap().naive_utc();
        let (row, secret) = new_shop_key("web shop".into(), Some("admin-id".into()), now);
        assert!(secret.starts_with(API_KEY_PREFIX) && secret.len() == API_KEY_PREFIX.len() + 52);
        assert_eq!(row.key_hash, sha256_hex(&secret));
        assert_ne!(row.key_hash, secret);
        assert_eq!(row.key_prefix, secret[..12]);
        assert_eq!((row.scope.as_str(), row.created_at, row.revoked_at), (SHOP_SCOPE, now, None));
        assert_ne!(new_shop_key("web shop".into(), None, now).1, secret, "every key is new");
    }

    #[test]
    fn a_password_changes_only_with_the_current_one() {
        assert!(require_current_password(true).is_ok());
        assert!(matches!(require_current_password(false), Err(Error::WrongCurrentPassword)));
    }

    #[test]
    fn keeping_the_binding_changes_nothing() {
        assert_eq!(binding_change(None, &Binding::Keep), BindingChange::Nothing);
        assert_eq!(binding_change(Some(ACME), &Binding::Keep), BindingChange::Nothing);
    }

    #[test]
    fn only_a_bound_account_is_released() {
        assert_eq!(binding_change(None, &release()), BindingChange::Nothing);
        assert_eq!(binding_change(Some(ACME), &release()), BindingChange::Release { previous: ACME });
    }

    #[test]
    fn binding_to_the_bound_customer_changes_nothing_and_any_other_binds() {
        let acme = Binding::BindTo(ACME.into());
        assert_eq!(binding_change(Some(ACME), &acme), BindingChange::Nothing);
        assert_eq!(binding_change(None, &acme), BindingChange::Bind { customer: ACME, previous: None });
        assert_eq!(binding_change(Some(OTHER), &acme), BindingChange::Bind { customer: ACME, previous: Some(OTHER) });
    }
}
