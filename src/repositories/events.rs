//! Reading the audit trail.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{Page, PageRequest, contains_pattern, lower};
use super::scope::{Scope, managed_orders};
use crate::db::AnyConnection;
use crate::db::schema::audit_events;
use crate::models::audit_events::AuditEvent;

#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub order_id: Option<String>,
    pub license_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<NaiveDateTime>,
}

/// Events visible in `scope` (a manager: those of its orders), newest first
/// unless `ascending`; `q` over action, actor e-mail, hardware id and subject id.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &EventFilter,
    q: Option<&str>,
    ascending: bool,
    page: PageRequest,
) -> QueryResult<Page<AuditEvent>> {
    let filtered = || {
        let mut query = audit_events::table.into_boxed();
        if let Some(manager) = scope.manager() {
            query = query.filter(audit_events::order_id.assume_not_null().eq_any(managed_orders(manager)));
        }
        if let Some(order_id) = &filter.order_id {
            query = query.filter(audit_events::order_id.eq(order_id.clone()));
        }
        if let Some(license_id) = &filter.license_id {
            query = query.filter(audit_events::license_id.eq(license_id.clone()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::at.ge(since));
        }
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            // The nullable columns: `lower(NULL) LIKE …` is NULL, so a missing
            // value matches nothing and the others still may.
            query = query.filter(
                lower(audit_events::action)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(audit_events::actor_email.assume_not_null()).like(pattern.clone()).escape('\\'))
                    .or(lower(audit_events::hardware_id.assume_not_null()).like(pattern.clone()).escape('\\'))
                    .or(lower(audit_events::subject_id.assume_not_null()).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select(AuditEvent::as_select());
    let query = if ascending {
        query.order((audit_events::at.asc(), audit_events::id.asc()))
    } else {
        query.order((audit_events::at.desc(), audit_events::id.desc()))
    };
    let items = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    Ok(Page { items, total })
}
