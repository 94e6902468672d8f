//! What happens around the routes: unknown routes (404) and wrong verbs (405,
//! with `Allow`), CORS, and cache headers.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, web};

use crate::error::{ApiError, ErrorCode};

/// Every documented path with its verbs, to tell 405 from 404.
pub struct KnownRoutes(Vec<(ResourceDef, Vec<&'static str>)>);

impl KnownRoutes {
    pub fn from_document(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut verbs = Vec::new();
                let ops = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                for (verb, present) in ops {
                    if present {
                        verbs.push(verb);
                    }
                }
                (ResourceDef::new(path.as_str()), verbs)
            })
            .collect();
        Self(routes)
    }

    fn allowed(&self, path: &str) -> Option<String> {
        let mut verbs: Vec<&str> = Vec::new();
        for (def, methods) in &self.0 {
            if def.is_match(path) {
                verbs.extend(methods.iter().copied());
            }
        }
        if verbs.is_empty() {
            return None;
        }
        verbs.sort_unstable();
        verbs.dedup();
        Some(verbs.join(", "))
    }
}

/// The default service: 405 with `Allow` for a known path, else 404.
pub async fn fallback(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    let error = match known.allowed(req.path()) {
        Some(allow) => ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{} is not allowed here; allowed: {allow}.", req.method()),
        )
        .with_header(header::ALLOW, allow),
        None => ApiError::new(ErrorCode::NotFound, "There is no such route."),
    };
    error.error_response()
}

/// CORS for the configured origins, with the contract's headers.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// The contract answers a CORS preflight with 204 (actix-cors answers 200).
pub async fn preflight_no_content(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = next.call(req).await?;
    if preflight && res.status() == StatusCode::OK {
        *res.response_mut().status_mut() = StatusCode::NO_CONTENT;
    }
    Ok(res)
}

/// API answers carry tokens and personal data: never cache them. They are
/// data, never a page: no sniffing, no framing, no referrer, nothing loaded
/// (OWASP's REST security headers).
pub async fn no_store_for_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use header::HeaderValue;
    let api = req.path().starts_with("/api/");
    let mut res = next.call(req).await?;
    if api {
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    Ok(res)
}

/// The per-address request cap for `/api/` (see `ratelimit`), with the
/// caller's budget in `RateLimit-*` headers on every answer. The credential
/// back-off is applied by the handlers, which know what was presented: a
/// valid token must never be refused for its address's failures.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::body::EitherBody;
    let state = req.app_data::<web::Data<crate::state::AppState>>().cloned();
    let Some(state) = state.filter(|_| req.path().starts_with("/api/")) else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    let admitted = match crate::api::client_addr(req.request()) {
        Some(ip) => state.limiter.admit(ip, std::time::Instant::now()),
        None => Ok(None),
    };
    let budget = match admitted {
        Ok(budget) => budget,
        Err(wait) => {
            let (http_req, _) = req.into_parts();
            let mut res = crate::ratelimit::too_many(wait).error_response();
            state.limiter.exhausted(wait).apply(res.headers_mut());
            return Ok(ServiceResponse::new(http_req, res).map_into_right_body());
        }
    };
    let mut res = next.call(req).await?;
    if let Some(budget) = budget {
        budget.apply(res.headers_mut());
    }
    Ok(res.map_body(|_, b| EitherBody::left(b)))
}
