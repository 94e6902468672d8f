//! Signing every answer under `/api/v1/client/`: the `License-Signature`
//! header over the exact body bytes. Handlers build complete bodies (with
//! `issued_at`, `endpoint`, the echoed `nonce` and identities); problems and
//! the framework's own answers get `issued_at`, `endpoint` and the nonce (when
//! the request's was readable) added here before they are signed.

use actix_web::body::{MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use crate::licensing::signing::HEADER;
use crate::state::AppState;

pub const CLIENT_PREFIX: &str = "/api/v1/client/";

/// What a client request said about itself, kept for the echo in problems.
#[derive(Clone, Debug, Default)]
pub struct ClientEcho {
    pub nonce: Option<String>,
    pub hardware_id: Option<String>,
}

/// Marks an answer whose body already carries every echo field.
#[derive(Clone, Copy, Debug)]
pub struct CompleteBody;

pub async fn sign_client_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(endpoint) = req.path().strip_prefix(CLIENT_PREFIX).map(str::to_owned) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    let Some(state) = state else { return Ok(res.map_into_boxed_body()) };
    let (http_req, res) = res.into_parts();
    let complete = res.extensions().get::<CompleteBody>().is_some();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("application/problem+json"));
    let (head, body) = res.into_parts();
    let mut bytes = to_bytes(body).await.map_err(|e| actix_web::error::ErrorInternalServerError(e.into()))?;
    if !complete && is_json {
        if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            map.entry("issued_at").or_insert_with(|| serde_json::json!(state.clock.now_utc()));
            map.entry("endpoint").or_insert_with(|| serde_json::json!(endpoint));
            let echo = http_req.extensions().get::<ClientEcho>().cloned().unwrap_or_default();
            map.entry("nonce").or_insert_with(|| serde_json::json!(echo.nonce));
            if let Some(hardware_id) = echo.hardware_id {
                map.entry("hardware_id").or_insert_with(|| serde_json::json!(hardware_id));
            }
            bytes = serde_json::to_vec(&map).unwrap_or_else(|_| bytes.to_vec()).into();
        }
    }
    if let Some(metrics) = http_req.app_data::<web::Data<crate::telemetry::Metrics>>() {
        // Only known endpoints become labels: unknown paths must not grow the series.
        const KNOWN: [&str; 7] =
            ["activate", "validate", "heartbeat", "deactivate", "offline/activate", "offline/deactivate", "public-key"];
        let label = if KNOWN.contains(&endpoint.as_str()) { endpoint.as_str() } else { "other" };
        metrics.client_answer(label, answer_code(&bytes));
    }
    let signature = state.signer.header_value(&bytes);
    let mut res = head.set_body(bytes);
    if let Ok(value) = HeaderValue::from_str(&signature) {
        res.headers_mut().insert(HeaderName::from_static(HEADER), value);
    }
    Ok(ServiceResponse::new(http_req, res).map_into_boxed_body())
}

/// The `code` of a client answer, for the metrics: found by a scan rather
/// than a parse, to keep the hot path cheap (`"code":"…"` is a top-level field
/// of every client body; a nested one never comes first).
fn answer_code(body: &[u8]) -> &str {
    const NEEDLE: &[u8] = b"\"code\":\"";
    body.windows(NEEDLE.len())
        .position(|w| w == NEEDLE)
        .and_then(|start| {
            let rest = &body[start + NEEDLE.len()..];
            let end = rest.iter().position(|b| *b == b'"')?;
            let code = std::str::from_utf8(&rest[..end]).ok()?;
            code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_').then_some(code)
        })
        .unwrap_or("NONE")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_answer_code_is_read_from_the_body() {
        assert_eq!(super::answer_code(br#"{"valid":true,"code":"VALID","x":1}"#), "VALID");
        assert_eq!(super::answer_code(br#"{"code":"SEATS_EXHAUSTED","seats":2}"#), "SEATS_EXHAUSTED");
        assert_eq!(super::answer_code(br#"{"algorithm":"ed25519"}"#), "NONE");
        assert_eq!(super::answer_code(br#"{"code":"<script>"}"#), "NONE");
    }
}
