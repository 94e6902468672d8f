use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_events;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub order_id: Option<String>,
    pub license_id: Option<String>,
    pub subject_id: Option<String>,
    pub hardware_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
}
