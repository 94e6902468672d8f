//! license-server: a software licensing server on SQLite or PostgreSQL.
//!
//! [`build_app`] is the one app factory: the binary, the tests and the OpenAPI
//! generator share it.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod ids;
pub mod licensing;
pub mod models;
pub mod openapi;
pub mod ratelimit;
pub mod repositories;
pub mod routing;
pub mod server;
pub mod state;
pub mod telemetry;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, Error, middleware, web};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;
use crate::telemetry::Metrics;

/// Routes and document together, before any state is attached.
fn routes<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = Error, InitError = ()>,
{
    let (app, doc) = app
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .service(scope::scope("/api/v1").configure(api::configure))
        .configure(api::ops::configure)
        .split_for_parts();
    (app, openapi::finalize(doc))
}

/// The OpenAPI document of the code, as served and as committed in `openapi/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes(App::new()).1
}

/// The document as pretty JSON with a trailing newline (the committed form).
pub fn openapi_json() -> String {
    let doc = openapi::rendered(&openapi_document());
    let mut json = serde_json::to_string_pretty(&doc).expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// The application: every route, the error handlers, CORS, request ids,
/// metrics, and the Swagger UI.
pub fn build_app(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let cors = routing::cors(&state.config.cors_origins);
    let cors_enabled = !state.config.cors_origins.is_empty();
    let base = App::new()
        .app_data(web::QueryConfig::default().error_handler(api::extract::query_error))
        .app_data(web::PathConfig::default().error_handler(api::extract::path_error))
        .app_data(web::JsonConfig::default().limit(api::extract::BODY_LIMIT).error_handler(api::extract::json_error))
        .app_data(state)
        .app_data(metrics.clone());
    let (app, doc) = routes(base);
    let known = web::Data::new(routing::KnownRoutes::from_document(&doc));
    app.app_data(known)
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .external_url_unchecked("/api-docs/openapi.json", openapi::rendered(&doc)),
        )
        .default_service(web::to(routing::fallback))
        .wrap(middleware::from_fn(auth::extract::authenticate_first))
        .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
        .wrap(middleware::from_fn(routing::no_store_for_api))
        .wrap(middleware::Condition::new(cors_enabled, cors))
        .wrap(middleware::from_fn(routing::preflight_no_content))
        .wrap(middleware::from_fn(routing::rate_limit))
        .wrap(middleware::from_fn(api::client_sign::sign_client_responses))
        .wrap(middleware::from_fn(telemetry::observe))
}
