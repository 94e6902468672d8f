//! Issuing and changing licenses: a license belongs to one order and one
//! product, and its seats never shrink below what is in use.

use chrono::NaiveDateTime;
use serde_json::json;

use super::error::{Error, Result};
use super::{keys, orders as order_rules, seats};
use crate::db::{AnyConnection, LockableTable, lock_row_for_update};
use crate::ids;
use crate::models::catalog::Product;
use crate::models::licenses::{License, LicenseChangeset, LicenseKind};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::licenses::{self, LicenseRow};
use crate::repositories::scope::Scope;
use crate::repositories::{orders, products};

/// Default life of a user's temporary activation without a heartbeat.
pub const DEFAULT_LEASE_SECONDS: i32 = 900;

/// How the terms name their product.
#[derive(Clone, Debug)]
pub enum ProductBy {
    /// By id, as sent (a malformed id names nothing).
    Id(String),
    /// By code.
    Code(String),
}

impl ProductBy {
    fn field(&self) -> &'static str {
        match self {
            Self::Id(_) => "product_id",
            Self::Code(_) => "product_code",
        }
    }
}

/// The terms of a new license.
#[derive(Clone, Debug)]
pub struct Terms {
    pub product: ProductBy,
    pub kind: LicenseKind,
    pub seats: i32,
    /// None: perpetual.
    pub expires_at: Option<NaiveDateTime>,
    pub offline_allowed: Option<bool>,
    pub lease_seconds: Option<i32>,
}

/// The product the terms name; `prefix` (such as `licenses[0]`) leads the
/// field named in a refusal.
pub fn resolve_product(conn: &mut AnyConnection, product: &ProductBy, prefix: &str) -> Result<Product> {
    let found = match product {
        ProductBy::Id(id) => match ids::parse(id) {
            Some(id) => products::find(conn, &id)?,
            None => None,
        },
        ProductBy::Code(code) => products::find_by_code(conn, code.trim())?,
    };
    let field = if prefix.is_empty() { product.field().to_owned() } else { format!("{prefix}.{}", product.field()) };
    found.ok_or_else(|| Error::no_such(field, "product"))
}

/// Inserts a license of `order_id` on `terms` and records `license.created`.
pub fn issue(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    order_id: &str,
    product: &Product,
    terms: &Terms,
    now: NaiveDateTime,
) -> Result<License> {
    let license = License {
        id: ids::new_id(),
        license_key: keys::generate(),
        order_id: order_id.to_owned(),
        product_id: product.id.clone(),
        kind: terms.kind,
        seats: terms.seats,
        suspended: false,
        offline_allowed: terms.offline_allowed.unwrap_or(true),
        lease_seconds: terms.lease_seconds.unwrap_or(DEFAULT_LEASE_SECONDS),
        starts_at: now,
        expires_at: terms.expires_at,
        created_at: now,
        updated_at: now,
        seats_held: 0,
    };
    licenses::insert(conn, &license)?;
    let details = json!({
        "product_code": product.code, "kind": license.kind.as_str(), "seats": license.seats,
        "expires_at": terms.expires_at.map(crate::clock::utc), "offline_allowed": license.offline_allowed,
        "lease_seconds": license.lease_seconds,
    });
    let target = Target::order(order_id).with_license(&license.id).with_subject(&license.id);
    audit::record(conn, ctx, now, "license.created", target, details)?;
    Ok(license)
}

/// Issues a license for an existing order (`order_id` as sent), if the order has room.
pub fn create(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    order_id: &str,
    terms: &Terms,
    now: NaiveDateTime,
) -> Result<LicenseRow> {
    let order = match ids::parse(order_id) {
        Some(id) => orders::find(conn, &Scope::All, &id)?,
        None => None,
    };
    let (order, _) = order.ok_or_else(|| Error::no_such("order_id", "order"))?;
    if !order_rules::may_add_license(orders::lock_and_count_licenses(conn, &order.id)?) {
        return Err(Error::OrderFull { what: "licenses", max: order_rules::MAX_LICENSES });
    }
    let product = resolve_product(conn, &terms.product, "")?;
    let license = issue(conn, ctx, &order.id, &product, terms, now)?;
    licenses::find(conn, &Scope::All, &license.id, now)?.ok_or(Error::Storage(crate::db::DbError::NotFound))
}

/// A license's changeable terms; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub seats: Option<i32>,
    /// `Some(None)` makes the license perpetual.
    pub expires_at: Option<Option<NaiveDateTime>>,
    pub suspended: Option<bool>,
    pub offline_allowed: Option<bool>,
    pub lease_seconds: Option<i32>,
}

impl Changes {
    /// What the record says changed: the fields set (an explicit perpetual
    /// `expires_at: null` included).
    fn recorded(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        let mut put = |key: &str, value: serde_json::Value| {
            map.insert(key.to_owned(), value);
        };
        if let Some(seats) = self.seats {
            put("seats", json!(seats));
        }
        if let Some(expires_at) = self.expires_at {
            put("expires_at", json!(expires_at.map(crate::clock::utc)));
        }
        if let Some(suspended) = self.suspended {
            put("status", json!(if suspended { "suspended" } else { "active" }));
        }
        if let Some(offline_allowed) = self.offline_allowed {
            put("offline_allowed", json!(offline_allowed));
        }
        if let Some(lease_seconds) = self.lease_seconds {
            put("lease_seconds", json!(lease_seconds));
        }
        serde_json::Value::Object(map)
    }
}

/// Changes a license's terms (admins).
pub fn update(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    changes: &Changes,
    now: NaiveDateTime,
) -> Result<LicenseRow> {
    lock_row_for_update(conn, LockableTable::Licenses, id)?;
    let license = licenses::find_row(conn, id)?.ok_or(Error::NotFound)?;
    if let Some(wanted) = changes.seats {
        seats::resize(wanted, seats::used(conn, &license, now)?)?;
    }
    let changeset = LicenseChangeset {
        seats: changes.seats,
        expires_at: changes.expires_at,
        suspended: changes.suspended,
        offline_allowed: changes.offline_allowed,
        lease_seconds: changes.lease_seconds,
        updated_at: Some(now),
    };
    licenses::update(conn, id, &changeset)?;
    let target = Target::order(&license.order_id).with_license(id).with_subject(id);
    audit::record(conn, ctx, now, "license.updated", target, changes.recorded())?;
    licenses::find(conn, &Scope::All, id, now)?.ok_or(Error::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_what_was_set_and_an_explicit_perpetual_expiry() {
        let changes = Changes { seats: Some(3), expires_at: Some(None), suspended: Some(true), ..Changes::default() };
        assert_eq!(changes.recorded(), json!({ "seats": 3, "expires_at": null, "status": "suspended" }));
        assert_eq!(Changes::default().recorded(), json!({}));
    }
}
