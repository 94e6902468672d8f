//! Operations endpoints outside `/api/v1`: liveness, readiness, metrics.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;
use crate::telemetry::Metrics;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health).service(ready).service(metrics);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok", max_length = 2, pattern = r"^ok$")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(max_length = 11, pattern = r"^(ready|unavailable)$")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(max_length = 8, pattern = r"^(sqlite|postgres)$")]
    pub database: &'static str,
    pub database_reachable: bool,
    pub migrations_applied: bool,
}

/// The process is up.
///
/// For liveness probes: 200 `{"status": "ok"}` whenever the process answers
/// at all, without asking the database. No authentication.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)), security(()))]
#[get("/health")]
pub async fn health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database is reachable and every migration is applied.
///
/// For readiness probes and load balancers: 200 when this instance can serve,
/// else 503 with `Retry-After` and which check failed (`database_reachable`,
/// `migrations_applied`). No authentication.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "Database unreachable or migrations pending; see `Retry-After`", body = Readiness,
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again"))),
    ),
    security(())
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (reachable, migrated) = state.db.readiness().await;
    let body = Readiness {
        status: if reachable && migrated { "ready" } else { "unavailable" },
        database: state.config.database.engine(),
        database_reachable: reachable,
        migrations_applied: migrated,
    };
    if reachable && migrated {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECONDS.to_string()))
            .json(body)
    }
}

/// Prometheus metrics (text exposition format).
///
/// For a Prometheus scraper: HTTP requests by route and status, request
/// durations, and the client API's answers by endpoint and code. No
/// authentication.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")),
    security(())
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render())
}
