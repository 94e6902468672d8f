//! The HTTP API: one module per resource, each with its request/response types
//! and a `configure()` that registers its handlers, so routes and the OpenAPI
//! document come from one list.

pub mod api_keys;
pub mod auth;
pub mod client;
pub mod client_sign;
pub mod countries;
pub mod customers;
pub mod dashboard;
pub mod devices;
pub mod events;
pub mod extract;
pub mod licenses;
pub mod managers;
pub mod me;
pub mod ops;
pub mod orders;
pub mod products;
pub mod rules;
pub mod users;

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::Principal;
use crate::error::{ApiError, Checks};
use crate::repositories::audit::AuditCtx;
use crate::repositories::list::{PageRequest, Sort};
use crate::repositories::scope::Scope;
use crate::telemetry::current_request_id;

/// Registers every `/api/v1` handler.
pub fn configure(cfg: &mut ServiceConfig) {
    // The client API first: actix tries routes in order, and each dynamic
    // path before a match costs a pattern match; validate is the hot path.
    client::configure(cfg);
    auth::configure(cfg);
    me::configure(cfg);
    products::configure(cfg);
    customers::configure(cfg);
    api_keys::configure(cfg);
    licenses::configure(cfg);
    orders::configure(cfg);
    managers::configure(cfg);
    events::configure(cfg);
    users::configure(cfg);
    devices::configure(cfg);
    dashboard::configure(cfg);
}

/// A 201 Created answer with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> actix_web::Responder for Created<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Created().json(self.0)
    }
}

pub use crate::clock::utc;

/// The validator rule for every time in a request: within 1970-01-01 …
/// 9999-12-31, what both engines store and every client can represent.
pub fn time_in_range(value: &DateTime<Utc>) -> Result<(), validator::ValidationError> {
    let year = chrono::Datelike::year(value);
    if (1970..=9999).contains(&year) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("time_range")
            .with_message("must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z".into()))
    }
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

/// What `principal` may see: managers their orders, everyone else everything.
pub fn scope_of(principal: &Principal) -> Scope {
    match principal.manager_id() {
        Some(id) => Scope::Manager(id.to_owned()),
        None => Scope::All,
    }
}

/// The client's address, as text (for the audit trail).
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    client_addr(req).map(|ip| ip.to_string())
}

/// The client's address: the peer, or — when the peer is a trusted proxy —
/// the first untrusted hop of `X-Forwarded-For`, read from the right.
pub fn client_addr(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or_default();
    if trusted.is_empty() {
        return peer;
    }
    let lines = req.headers().get_all("x-forwarded-for").map(|v| v.to_str().unwrap_or("\u{0}"));
    resolve_client_addr(peer, lines, trusted)
}

/// See [`client_addr`]. All header lines are one list (a proxy may add its
/// own line rather than extend the client's), walked from the right: trusted
/// hops are skipped, the first untrusted hop is the client. A malformed hop
/// (or an unreadable line) ends the walk: the last trusted hop is taken then,
/// since anything left of it was written by someone we do not trust.
pub fn resolve_client_addr<'a>(
    peer: Option<std::net::IpAddr>,
    forwarded_lines: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut last = peer;
    for line in forwarded_lines.rev() {
        for hop in line.rsplit(',') {
            match parse_hop(hop) {
                Some(ip) if is_trusted(&ip) => last = ip,
                Some(ip) => return Some(ip),
                None => return Some(last),
            }
        }
    }
    Some(last)
}

/// One `X-Forwarded-For` hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<std::net::IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<std::net::Ipv6Addr>().ok().map(std::net::IpAddr::V6)
}

/// What a collection offers its callers: the fields it sorts by, its default
/// order, and what `q` searches. One declaration per collection drives both
/// the check ([`ListParams::resolve`]) and the spec ([`IntoParams`]).
pub trait Collection {
    type Field: Copy + PartialEq + 'static;
    /// Sort field names (`-` before one sorts descending) and their fields.
    const SORTS: &'static [(&'static str, Self::Field)];
    const DEFAULT: Sort<Self::Field>;
    /// What `q` searches; `None`: the collection takes no `q`.
    const SEARCH: Option<&'static str>;
}

/// The longest `q`.
pub const MAX_QUERY: u64 = 200;
const _: () = assert!(MAX_QUERY == 200, "the message of ListParams::q names 200");

/// A checked request for a page: paging, order, and the search text if any.
pub type Listing<'a, F> = (PageRequest, Sort<F>, Option<&'a str>);

/// `page`, `per_page`, `sort` and `q` of collection `C`.
#[derive(Debug, Deserialize, Validate)]
#[serde(bound = "")]
pub struct ListParams<C> {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    pub sort: Option<String>,
    /// Stated in the spec by the `IntoParams` impl below, from the same constant.
    #[validate(length(max = MAX_QUERY, message = "must be at most 200 characters"))]
    pub q: Option<String>,
    #[serde(skip)]
    collection: std::marker::PhantomData<C>,
}

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;

impl<C: Collection> ListParams<C> {
    /// Checks paging and resolves `sort` against the collection's fields
    /// (its default when absent). `sort` must name a field exactly: the spec
    /// lists the values as an enum.
    pub fn resolve(&self) -> Result<Listing<'_, C::Field>, ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        let mut checks = Checks::default();
        checks.check(
            (1..=crate::repositories::list::MAX_PAGE).contains(&page),
            "page",
            "must be between 1 and 1000000",
        );
        checks.check((1..=MAX_PER_PAGE).contains(&per_page), "per_page", "must be between 1 and 200");
        let sort = match self.sort.as_deref() {
            None => Some(C::DEFAULT),
            Some(raw) => {
                let (name, descending) = match raw.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (raw, false),
                };
                C::SORTS.iter().find(|(n, _)| *n == name).map(|(_, field)| Sort { field: *field, descending })
            }
        };
        if sort.is_none() {
            let allowed: Vec<&str> = C::SORTS.iter().map(|(n, _)| *n).collect();
            checks.check(false, "sort", &format!("must be one of {} (prefix - for descending)", allowed.join(", ")));
        }
        checks.finish()?;
        let q = C::SEARCH.and(self.q.as_deref()).map(str::trim).filter(|q| !q.is_empty());
        Ok((PageRequest { page, per_page }, sort.expect("checked"), q))
    }
}

impl<C: Collection> IntoParams for ListParams<C> {
    fn into_params(
        _parameter_in: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::{Required, schema::Schema};
        let query = |name: &str, description: String, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(Schema::Object(schema.build())))
                .build()
        };
        let int64 = || {
            ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        };
        let names = C::SORTS.iter().flat_map(|(n, _)| [n.to_string(), format!("-{n}")]);
        let default = C::SORTS.iter().find(|(_, f)| *f == C::DEFAULT.field).map_or("", |(n, _)| *n);
        let default = if C::DEFAULT.descending { format!("-{default}") } else { default.to_owned() };
        let mut params = vec![
            query(
                "page",
                "Page number, from 1.".into(),
                int64().minimum(Some(1)).maximum(Some(crate::repositories::list::MAX_PAGE)).examples([1]),
            ),
            query(
                "per_page",
                format!("Items per page (1–{MAX_PER_PAGE}, default {DEFAULT_PER_PAGE})."),
                int64().minimum(Some(1)).maximum(Some(MAX_PER_PAGE)).examples([DEFAULT_PER_PAGE]),
            ),
            query(
                "sort",
                format!("The field to sort by; `-` before it sorts descending. Default `{default}`."),
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)),
            ),
        ];
        if let Some(search) = C::SEARCH {
            params.push(query(
                "q",
                format!("Free text searched for in {search}."),
                ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_QUERY as usize)),
            ));
        }
        params
    }
}

/// A page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    // `ListParams::resolve` caps `per_page` at `MAX_PER_PAGE` and `page` at `list::MAX_PAGE`.
    #[schema(max_items = 200)]
    pub items: Vec<T>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub page: i64,
    #[schema(minimum = 1, maximum = 200)]
    pub per_page: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
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

#[cfg(test)]
mod tests {
    use super::resolve_client_addr;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn client(peer: &str, lines: &[&str], trusted: &[ipnet::IpNet]) -> IpAddr {
        resolve_client_addr(Some(ip(peer)), lines.iter().copied(), trusted).unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = nets(&["10.0.0.1/32", "10.0.0.2/32"]);
        assert_eq!(client("10.0.0.1", &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client("10.0.0.1", &["198.51.100.1, 203.0.113.9, 10.0.0.2"], &trusted), ip("203.0.113.9"));
        assert_eq!(client("198.51.100.7", &["203.0.113.9"], &trusted), ip("198.51.100.7"));
        assert_eq!(client("10.0.0.1", &[], &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn every_header_line_is_read_as_one_list_from_the_right() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client wrote the first line; the proxy added its own.
        assert_eq!(client("10.0.0.1", &["1.1.1.1", "203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client("10.0.0.1", &["1.1.1.1", "203.0.113.9, 10.9.9.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client("10.0.0.1", &["203.0.113.9", "10.1.1.1"], &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn cidr_ranges_are_trusted_and_ports_stripped() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        assert_eq!(client("10.3.4.5", &["203.0.113.9:51234, 10.2.2.2:443"], &trusted), ip("203.0.113.9"));
        assert_eq!(client("fd00::1", &["[2001:db8::7]:443"], &trusted), ip("2001:db8::7"));
        assert_eq!(client("fd00::1", &["[2001:db8::7]"], &trusted), ip("2001:db8::7"));
        assert_eq!(client("fd00::1", &["2001:db8::7"], &trusted), ip("2001:db8::7"));
    }

    #[test]
    fn a_malformed_hop_ends_the_walk_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client("10.0.0.1", &["garbage"], &trusted), ip("10.0.0.1"));
        assert_eq!(client("10.0.0.1", &["203.0.113.9, garbage, 10.0.0.7"], &trusted), ip("10.0.0.7"));
        assert_eq!(client("10.0.0.1", &["203.0.113.9, "], &trusted), ip("10.0.0.1"));
    }
}
