//! The audit trail: admins read every event, managers those of their orders.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::Query;
use super::{ListParams, Page, scope_of, utc};
use crate::auth::{Person, Principal};
use crate::error::{ApiResult, Checks};
use crate::ids;
use crate::licensing::privacy;
use crate::models::audit_events::AuditEvent;
use crate::repositories::events::{self, EventFilter};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_events);
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Admin,
    Manager,
    Shop,
    Software,
    /// The server itself (for example the admin bootstrap).
    System,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@]+$")]
    pub email: Option<String>,
}

/// One recorded change. Never holds a password or a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 20, max_length = 30)]
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// A dotted name such as `license_user.created` or `device.deactivated`.
    #[schema(example = "order_manager.added", max_length = 64, pattern = r"^[a-z_]+\.[a-z_]+$")]
    pub action: String,
    #[schema(value_type = Option<crate::ids::Id>)]
    pub order_id: Option<String>,
    #[schema(value_type = Option<crate::ids::Id>)]
    pub license_id: Option<String>,
    /// The object the change is about.
    #[schema(value_type = Option<crate::ids::Id>)]
    pub subject_id: Option<String>,
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]+$")]
    pub hardware_id: Option<String>,
    /// The actor's address. A manager sees it only for managers and the
    /// software; for admin and shop actors it is `null`.
    #[schema(min_length = 2, max_length = 45, pattern = r"^[0-9a-f.:]+$")]
    pub ip: Option<String>,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub request_id: Option<String>,
    /// What changed (an object).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl EventView {
    /// The event as `viewer` may see it: a manager sees no address of the
    /// vendor's side.
    fn seen_by(e: AuditEvent, viewer: &Principal) -> Self {
        let ip = e.ip.filter(|_| viewer.manager_id().is_none() || privacy::manager_sees_ip_of(&e.actor_kind));
        let kind = match e.actor_kind.as_str() {
            "admin" => ActorKind::Admin,
            "manager" => ActorKind::Manager,
            "shop" => ActorKind::Shop,
            "software" => ActorKind::Software,
            _ => ActorKind::System,
        };
        Self {
            id: e.id,
            at: utc(e.at),
            actor: Actor { kind, id: e.actor_id, email: e.actor_email },
            action: e.action,
            order_id: e.order_id,
            license_id: e.license_id,
            subject_id: e.subject_id,
            hardware_id: e.hardware_id,
            ip,
            request_id: e.request_id.filter(|r| !r.is_empty()),
            details: serde_json::from_str(&e.details).unwrap_or_else(|_| serde_json::json!({})),
        }
    }
}

/// Filters of `GET /events`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilters {
    #[param(value_type = Option<crate::ids::Id>)]
    pub order_id: Option<String>,
    #[param(value_type = Option<crate::ids::Id>)]
    pub license_id: Option<String>,
    /// An exact action name, such as `device.deactivated`.
    #[param(max_length = 100)]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    pub action: Option<String>,
    /// Only events at or after this time.
    #[validate(custom(function = "super::time_in_range"))]
    pub since: Option<DateTime<Utc>>,
}

/// The events collection: newest first, no other order, `q` over action, actor
/// e-mail, hardware id and subject id.
pub struct Events;

impl super::Collection for Events {
    type Field = ();
    const SORTS: &'static [(&'static str, ())] = &[("at", ())];
    const DEFAULT: crate::repositories::list::Sort<()> =
        crate::repositories::list::Sort { field: (), descending: true };
    const SEARCH: Option<&'static str> = Some("action, actor e-mail, hardware id and subject id");
}

/// The audit trail, newest first (`sort=at` for oldest first).
///
/// For admins (every event) and license managers (the events of the orders
/// they manage); a shop API key gets 403 `FORBIDDEN`. Filter by `order_id`,
/// `license_id`, an exact `action` (such as `device.activated`) and `since`;
/// `q` searches action, actor e-mail, hardware id and subject id (a substring,
/// ignoring case).
/// A manager sees `ip` only for managers and the software; for admin and shop
/// actors it is null.
#[utoipa::path(
    tag = "events",
    params(ListParams<Events>, EventFilters),
    responses((status = 200, description = "A page of events", body = Page<EventView>)),
    security(("bearer" = []))
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Person,
    params: Query<ListParams<Events>>,
    filters: Query<EventFilters>,
) -> ApiResult<web::Json<Page<EventView>>> {
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let filters = filters.into_inner();
    let order_id = filters.order_id.as_deref().map(ids::parse);
    let license_id = filters.license_id.as_deref().map(ids::parse);
    let mut checks = Checks::default();
    checks.check(!matches!(order_id, Some(None)), "order_id", "is not an id");
    checks.check(!matches!(license_id, Some(None)), "license_id", "is not an id");
    checks.finish()?;
    let filter = EventFilter {
        order_id: order_id.flatten(),
        license_id: license_id.flatten(),
        action: filters.action,
        since: filters.since.map(|t| t.naive_utc()),
    };
    let scope = scope_of(&caller.0);
    let rows = state
        .db
        .run(move |conn| ApiResult::Ok(events::list(conn, &scope, &filter, q.as_deref(), !sort.descending, page)?))
        .await?;
    Ok(web::Json(Page::new(rows, page, |e| EventView::seen_by(e, &caller.0))))
}
