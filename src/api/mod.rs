//! The HTTP API: one module per resource, each with its request/response types
//! and a `configure()` that registers its handlers, so routes and the OpenAPI
//! document come from one list.

pub mod auth;
pub mod extract;
pub mod me;
pub mod ops;

use actix_web::HttpRequest;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Principal;
use crate::error::{ApiError, Checks};
use crate::repositories::audit::AuditCtx;
use crate::repositories::list::{PageRequest, Sort};
use crate::telemetry::current_request_id;

/// Registers every `/api/v1` handler.
pub fn configure(cfg: &mut ServiceConfig) {
    auth::configure(cfg);
    me::configure(cfg);
}

/// An RFC 3339 UTC time as answered.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Lower-cases and trims an e-mail address: e-mails compare case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The audit context of a request made by `principal`.
pub fn audit_ctx(req: &HttpRequest, principal: &Principal) -> AuditCtx {
    let (actor_kind, actor_id, actor_email) = match principal {
        Principal::Admin(a) => ("admin", Some(a.id.clone()), Some(a.email.clone())),
        Principal::Manager(a) => ("manager", Some(a.id.clone()), Some(a.email.clone())),
        Principal::Shop(s) => ("shop", Some(s.id.clone()), None),
    };
    AuditCtx { actor_kind, actor_id, actor_email, ip: client_ip(req), request_id: current_request_id() }
}

/// The peer's address. (Proxy headers are not believed here.)
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// `page`, `per_page`, `sort` and `q` of every collection.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1.
    #[param(minimum = 1, example = 1)]
    pub page: Option<i64>,
    /// Items per page (1–200, default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub per_page: Option<i64>,
    /// A field name; prefix `-` for descending.
    pub sort: Option<String>,
    /// Free text over the collection's searchable fields.
    pub q: Option<String>,
}

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;

impl ListParams {
    /// Checks paging and resolves `sort` against the collection's fields
    /// (`default` when absent).
    pub fn resolve<F: Copy>(
        &self,
        fields: &[(&str, F)],
        default: Sort<F>,
    ) -> Result<(PageRequest, Sort<F>, Option<&str>), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        let mut checks = Checks::default();
        checks.check(page >= 1, "page", "must be at least 1");
        checks.check((1..=MAX_PER_PAGE).contains(&per_page), "per_page", "must be between 1 and 200");
        let sort = match self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(default),
            Some(raw) => {
                let (name, descending) = match raw.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (raw, false),
                };
                fields.iter().find(|(n, _)| *n == name).map(|(_, field)| Sort { field: *field, descending })
            }
        };
        let allowed: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        checks.check(
            sort.is_some(),
            "sort",
            &format!("must be one of {} (prefix - for descending)", allowed.join(", ")),
        );
        checks.finish()?;
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        Ok((PageRequest { page, per_page }, sort.expect("checked"), q))
    }
}

/// A page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new<R>(page: crate::repositories::list::Page<R>, request: PageRequest, f: impl FnMut(R) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(f).collect(),
            page: request.page,
            per_page: request.per_page,
            total: page.total,
        }
    }
}
