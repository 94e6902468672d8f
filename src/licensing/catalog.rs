//! The catalog's use cases: products (their code is unique) and customers
//! (the owners of orders). Admins manage products; admins and the shop
//! manage customers.

use chrono::NaiveDateTime;
use serde_json::json;

use super::error::{Error, Result};
use crate::db::{AnyConnection, DbError};
use crate::models::catalog::{Customer, CustomerChangeset, Product, ProductChangeset};
use crate::repositories::audit::{self, AuditCtx, Target};
use crate::repositories::{customers, products};

/// A product by id.
pub fn product(conn: &mut AnyConnection, id: &str) -> Result<Product> {
    products::find(conn, id)?.ok_or(Error::NotFound)
}

/// A product's code is unique: a unique key refusing a product's insert or
/// update means another product has the code.
fn code_taken(e: impl Into<Error>) -> Error {
    match e.into() {
        Error::Storage(DbError::Duplicate(_)) => Error::ProductCodeTaken,
        other => other,
    }
}

/// Creates a product (its fields trimmed already).
pub fn create_product(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    product: Product,
    now: NaiveDateTime,
) -> Result<Product> {
    products::insert(conn, &product).map_err(code_taken)?;
    let details = json!({ "code": product.code, "name": product.name });
    audit::record(conn, ctx, now, "product.created", Target::subject(&product.id), details)?;
    Ok(product)
}

/// Changes a product's code or name; absent fields stay.
pub fn update_product(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    changes: ProductChangeset,
    now: NaiveDateTime,
) -> Result<Product> {
    product(conn, id)?;
    let product = products::update(conn, id, &changes).map_err(code_taken)?;
    let details = json!({ "code": changes.code, "name": changes.name });
    audit::record(conn, ctx, now, "product.updated", Target::subject(id), details)?;
    Ok(product)
}

/// A customer by id.
pub fn customer(conn: &mut AnyConnection, id: &str) -> Result<Customer> {
    customers::find(conn, id)?.ok_or(Error::NotFound)
}

/// Creates a customer (its fields normalized already) and records `customer.created`.
pub fn create_customer(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    customer: Customer,
    now: NaiveDateTime,
) -> Result<Customer> {
    customers::insert(conn, &customer)?;
    let details = json!({ "company": customer.company });
    audit::record(conn, ctx, now, "customer.created", Target::subject(&customer.id), details)?;
    Ok(customer)
}

/// The names of the fields a customer change sets, for the record (the
/// values stay out of the audit trail).
pub fn changed_fields(changes: &CustomerChangeset) -> Vec<&'static str> {
    [
        ("company", changes.company.is_some()),
        ("contact_name", changes.contact_name.is_some()),
        ("email", changes.email.is_some()),
        ("address", changes.address.is_some()),
        ("country", changes.country.is_some()),
        ("vat_id", changes.vat_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect()
}

/// Applies `changes` to customer `id` and records `customer.updated` on
/// `target` (an order's customer is recorded on the order) with the customer
/// as subject.
pub fn update_customer(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    id: &str,
    changes: CustomerChangeset,
    target: Target<'_>,
    now: NaiveDateTime,
) -> Result<Customer> {
    customer(conn, id)?;
    let changed = changed_fields(&changes);
    let customer = customers::update(conn, id, &changes)?;
    audit::record(conn, ctx, now, "customer.updated", target.with_subject(id), json!({ "fields": changed }))?;
    Ok(customer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_refusal_is_a_taken_code_and_nothing_else_is() {
        assert!(matches!(code_taken(DbError::Duplicate(Some("products_code_key".into()))), Error::ProductCodeTaken));
        assert!(matches!(code_taken(DbError::Duplicate(None)), Error::ProductCodeTaken));
        assert!(matches!(code_taken(DbError::Failed("disk I/O error".into())), Error::Storage(DbError::Failed(_))));
        assert!(matches!(code_taken(DbError::NotFound), Error::Storage(DbError::NotFound)));
    }

    #[test]
    fn a_customer_change_names_the_fields_it_sets_in_a_fixed_order() {
        let changes = CustomerChangeset {
            vat_id: Some(String::new()),
            company: Some("Muster Bau GmbH".into()),
            email: Some("einkauf@muster-bau.example".into()),
            ..CustomerChangeset::default()
        };
        assert_eq!(changed_fields(&changes), ["company", "email", "vat_id"]);
        assert!(changed_fields(&CustomerChangeset::default()).is_empty());
    }
}
