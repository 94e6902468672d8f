//! The licensing domain: its rules as plain functions and its use cases as
//! functions over a transaction handle and the clock, callable without a
//! server. Handlers (`api`) parse, call these and render; repositories only
//! store. Each rule is defined once here:
//!
//! - [`status`]: a license's computed status, and the gate on it.
//! - [`seats`]: what holds a seat, taking one, resizing.
//! - [`leases`]: leases, the offline trust window, file lifetimes, last-seen refresh.
//! - [`tokens`]: activation tokens.
//! - [`validation`]: the verdict of `/client/validate`.
//! - [`activation`]: activate, heartbeat, deactivate, offline activation.
//! - [`devices`], [`users`]: the portal's use cases on devices and license users.
//! - [`catalog`]: products (unique codes) and customers.
//! - [`accounts`]: manager accounts, the caller's own account, API keys.
//! - [`orders`], [`licenses`], [`linking`]: creating orders, their managers
//!   and idempotent retries; issuing and changing licenses; who may be linked.
//! - [`keys`], [`offline`], [`signing`]: license keys, offline files, signatures.
//! - [`error`]: why a use case refused.

pub mod accounts;
pub mod activation;
pub mod catalog;
pub mod devices;
pub mod error;
pub mod keys;
pub mod leases;
pub mod licenses;
pub mod linking;
pub mod offline;
pub mod orders;
pub mod privacy;
pub mod seats;
pub mod signing;
pub mod status;
pub mod tokens;
pub mod users;
pub mod validation;

pub use error::{Error, Result};

/// A license of `kind` with one seat, for unit tests of the rules.
#[cfg(test)]
pub(crate) fn test_license(kind: crate::models::licenses::LicenseKind) -> crate::models::licenses::License {
    let at = chrono::NaiveDateTime::default();
    crate::models::licenses::License {
        id: "l".into(),
        license_key: "K".into(),
        order_id: "o".into(),
        product_id: "p".into(),
        kind,
        seats: 1,
        suspended: false,
        offline_allowed: true,
        lease_seconds: 3600,
        starts_at: at,
        expires_at: None,
        created_at: at,
        updated_at: at,
        seats_held: 0,
    }
}
