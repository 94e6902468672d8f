//! The audit trail: every change writes one event in the transaction of the
//! change. Events never hold a password or a token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::audit_events;
use crate::models::audit_events::AuditEvent;

/// Who did it, from where, in which request.
#[derive(Clone, Debug)]
pub struct AuditCtx {
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub request_id: String,
}

/// What an event is about.
#[derive(Clone, Debug, Default)]
pub struct Target<'a> {
    pub order_id: Option<&'a str>,
    pub license_id: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub hardware_id: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn subject(id: &'a str) -> Self {
        Self { subject_id: Some(id), ..Self::default() }
    }

    pub fn order(order_id: &'a str) -> Self {
        Self { order_id: Some(order_id), ..Self::default() }
    }

    pub fn with_subject(mut self, id: &'a str) -> Self {
        self.subject_id = Some(id);
        self
    }

    pub fn with_license(mut self, id: &'a str) -> Self {
        self.license_id = Some(id);
        self
    }
}

pub fn record(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    at: NaiveDateTime,
    action: &str,
    target: Target<'_>,
    details: serde_json::Value,
) -> QueryResult<()> {
    let event = AuditEvent {
        id: crate::ids::new_id(),
        at,
        actor_kind: ctx.actor_kind.to_owned(),
        actor_id: ctx.actor_id.clone(),
        actor_email: ctx.actor_email.clone(),
        action: action.to_owned(),
        order_id: target.order_id.map(str::to_owned),
        license_id: target.license_id.map(str::to_owned),
        subject_id: target.subject_id.map(str::to_owned),
        hardware_id: target.hardware_id.map(str::to_owned),
        ip: ctx.ip.clone(),
        request_id: Some(ctx.request_id.clone()),
        details: details.to_string(),
    };
    diesel::insert_into(audit_events::table).values(&event).execute(conn)?;
    Ok(())
}
