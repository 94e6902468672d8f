//! The OpenAPI document: info, tags and security schemes here; the paths come
//! from the handlers registered in `api::configure` (utoipa-actix-web). The
//! error responses every operation shares are added in one place, [`finalize`],
//! from what each operation declares (security, body, path parameters), and
//! so is the `Problem` body of the errors an operation declares by status and
//! description alone.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "license-server",
        description = "Software licensing server: orders, licenses, seats, license users and devices, \
                       a signed client API for the desktop software, and offline license files.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "license-server maintainers"),
    ),
    servers((url = "/", description = "The server that serves this document, in whichever environment it runs: local, staging or production")),
    // Schemas that only query parameters name (IntoParams does not register them).
    components(schemas(Problem, crate::ids::Id, crate::api::devices::DeviceStatusFilter)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign in, refresh, sign out"),
        (name = "me", description = "The caller's own account"),
        (name = "products", description = "Products (admin; the shop reads)"),
        (name = "customers", description = "Customers (admin and shop)"),
        (name = "orders", description = "Orders, their customer and their license managers"),
        (name = "licenses", description = "Licenses"),
        (name = "users", description = "Users of user-based licenses"),
        (name = "devices", description = "Devices of computer-based licenses"),
        (name = "dashboard", description = "Counts over the caller's scope"),
        (name = "managers", description = "License-manager accounts (admin)"),
        (name = "api-keys", description = "API keys for the shop (admin)"),
        (name = "events", description = "The audit trail"),
        (name = "client", description = "The desktop software's API: every answer carries `License-Signature: ed25519=<base64>; kid=<key_id>` over the exact body bytes"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut jwt = Http::new(HttpAuthScheme::Bearer);
        jwt.bearer_format = Some("JWT".into());
        jwt.description = Some(
            "Access token from `POST /api/v1/auth/login` (admin or license manager): a JWT handled as \
             RFC8725 (JSON Web Token Best Current Practices) asks. The server accepts only HS256, the \
             algorithm it signs with (never `none` nor one named by the token), requires and checks \
             `iss`, `aud`, `exp`, `iat` and `sub`, and issues tokens that live 15 minutes at most. \
             Treat the token as opaque."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(jwt));
        let mut key = Http::new(HttpAuthScheme::Bearer);
        key.bearer_format = Some("lsk_…".into());
        key.description = Some("The shop's API key (`lsk_…`), created by an admin at `POST /api/v1/api-keys`.".into());
        components.add_security_scheme("shop_key", SecurityScheme::Http(key));
    }
}

/// The media type of every error answer (`error::ApiError`).
const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error answer: a `Problem`.
fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}

/// Shared problem responses: (component name, status, description).
const SHARED: &[(&str, &str, &str)] = &[
    ("MalformedBody", "400", "`MALFORMED_BODY`: the body is not valid JSON"),
    (
        "Unauthorized",
        "401",
        "`INVALID_TOKEN` (no, garbage or wrongly signed token; revoked API key) or `TOKEN_EXPIRED`",
    ),
    ("Forbidden", "403", "`FORBIDDEN`: the caller's role may not use this operation; `ACCOUNT_DISABLED`"),
    ("NotFound", "404", "`NOT_FOUND`: no such object, or not one the caller may see"),
    ("BodyTooLarge", "413", "`BODY_TOO_LARGE`: the body is over 1 MiB"),
    ("UnsupportedMediaType", "415", "`UNSUPPORTED_MEDIA_TYPE`: the body is not application/json"),
    ("ValidationFailed", "422", "`VALIDATION_FAILED`: `errors` maps each invalid field to messages"),
    (
        "RateLimited",
        "429",
        "`RATE_LIMITED`: too many requests from this address (or failed attempts); see `Retry-After`",
    ),
    ("Internal", "500", "`INTERNAL`: an unexpected failure; the answer holds only `request_id`"),
    (
        "ServiceUnavailable",
        "503",
        "`SERVICE_UNAVAILABLE`: the database is unreachable or stayed busy past the pool's wait; \
         retry after `Retry-After` seconds (never a 500; under `/api/v1/client/` signed like every answer)",
    ),
];

/// `/api/v1` operations that never ask the database (so they can't answer 503).
const NO_DATABASE: &[&str] = &["/api/v1/client/public-key"];

/// Adds the shared error responses to every operation and returns the final document.
pub fn finalize(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, status, description) in SHARED {
        let response = ResponseBuilder::new().description(*description).content(PROBLEM_JSON, problem_content());
        let mut response = response.build();
        add_headers(status, &mut response, HeaderSet { rate_limit: true, signed: false });
        components.responses.insert((*name).to_owned(), RefOr::T(response));
    }
    name_page_items(components);
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        let set = HeaderSet { rate_limit: path.starts_with("/api/"), signed: path.starts_with("/api/v1/client/") };
        for op in ops.into_iter().flatten() {
            name_path_ids(op);
            add_shared_responses(path, op);
            add_problem_bodies(op);
            describe_successes(op);
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response {
                    add_headers(status, response, set);
                }
            }
        }
    }
    api
}

/// The document as served and committed: [`finalize`]'s, with the input
/// rules stated ([`state_input_rules`]).
pub fn rendered(api: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(api).expect("the document serializes");
    state_input_rules(&mut doc);
    optional_bodies_are_objects(&mut doc);
    state_alternatives(&mut doc);
    // The one server is wherever this document is served from: public, in
    // whichever environment it runs.
    if let Some(server) = doc.pointer_mut("/servers/0").and_then(|s| s.as_object_mut()) {
        server.insert("x-internal".into(), false.into());
    }
    doc
}

/// Each body of `rules::ALTERNATIVES` takes exactly one of its ways: a
/// `oneOf` whose branches need their fields non-null (and, where said, the
/// others absent or null).
fn state_alternatives(doc: &mut serde_json::Value) {
    use serde_json::{Map, Value, json};
    for (name, alternatives) in crate::api::rules::ALTERNATIVES {
        let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")).and_then(|s| s.as_object_mut())
        else {
            panic!("rules::ALTERNATIVES names {name}, which the document lacks");
        };
        let branches: Vec<Value> = alternatives
            .iter()
            .map(|a| {
                let mut properties = Map::new();
                for field in a.needs {
                    properties.insert((*field).into(), json!({ "not": { "type": "null" } }));
                }
                for field in a.forbids {
                    properties.insert((*field).into(), json!({ "type": "null" }));
                }
                json!({ "required": a.needs, "properties": properties })
            })
            .collect();
        schema.insert("oneOf".into(), branches.into());
    }
}

/// An optional body (`OptionalJson`) is absent or an object, never `null`:
/// utoipa writes `Option<T>` as "T or null"; the body's `required: false`
/// already says it may be left out.
fn optional_bodies_are_objects(doc: &mut serde_json::Value) {
    let ops = doc.get_mut("paths").and_then(|p| p.as_object_mut()).into_iter().flat_map(|p| p.values_mut());
    for op in ops.flat_map(|item| item.as_object_mut().into_iter().flat_map(|o| o.values_mut())) {
        let contents = op.pointer_mut("/requestBody/content").and_then(|c| c.as_object_mut());
        for content in contents.into_iter().flat_map(|c| c.values_mut()) {
            let Some(schema) = content.get_mut("schema") else { continue };
            let alternatives = schema.get("oneOf").and_then(|o| o.as_array()).cloned().unwrap_or_default();
            if let [object, null] = alternatives.as_slice()
                && null.get("type").is_some_and(|t| t == "null")
            {
                *schema = object.clone();
            }
        }
    }
}

/// The rules the server applies to every string of a request, whatever its
/// field (`extract::refuse_control_characters`, `api::time_in_range`),
/// stated on every request string that has no stricter pattern of its own:
/// no control characters (tabs and line feeds allowed in an `address`), and
/// times within the years 1970–9999. The pass runs on the JSON form because
/// it follows `$ref`s from request bodies and query parameters.
/// (utoipa's types do not read their own JSON back, so it stays JSON.)
fn state_input_rules(doc: &mut serde_json::Value) {
    let mut reached: std::collections::BTreeSet<String> = Default::default();
    // `get_mut` throughout: indexing a JSON object would insert what it misses.
    let ops = doc.get_mut("paths").and_then(|p| p.as_object_mut()).into_iter().flat_map(|p| p.values_mut());
    for op in ops.flat_map(|item| item.as_object_mut().into_iter().flat_map(|o| o.values_mut())) {
        let contents = op.pointer_mut("/requestBody/content").and_then(|c| c.as_object_mut());
        for content in contents.into_iter().flat_map(|c| c.values_mut()) {
            if let Some(schema) = content.get_mut("schema") {
                input_string_rules(schema, "", &mut reached);
            }
        }
        for parameter in op.get_mut("parameters").and_then(|p| p.as_array_mut()).into_iter().flatten() {
            if parameter.get("in").is_some_and(|i| i == "query") {
                let name = parameter.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
                if let Some(schema) = parameter.get_mut("schema") {
                    input_string_rules(schema, &name, &mut reached);
                }
            }
        }
    }
    // Components reached from a request, and the components they reach.
    let mut done: std::collections::BTreeSet<String> = Default::default();
    while let Some(name) = reached.iter().find(|n| !done.contains(*n)).cloned() {
        done.insert(name.clone());
        if let Some(schema) = doc.pointer_mut("/components/schemas").and_then(|s| s.get_mut(&name)) {
            input_string_rules(schema, "", &mut reached);
        }
    }
}

fn input_string_rules(schema: &mut serde_json::Value, field: &str, reached: &mut std::collections::BTreeSet<String>) {
    use crate::api::rules;
    let Some(object) = schema.as_object_mut() else { return };
    if let Some(target) = object.get("$ref").and_then(|r| r.as_str()) {
        if let Some(name) = target.strip_prefix("#/components/schemas/") {
            reached.insert(name.to_owned());
        }
        return;
    }
    let is_string =
        object.get("type").is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.contains(&"string".into())));
    let free = !["pattern", "enum", "const"].iter().any(|k| object.contains_key(*k));
    if is_string && free {
        let pattern = match object.get("format").and_then(|f| f.as_str()) {
            Some("date-time") => {
                // RFC 3339 with nanoseconds and an offset: 35 characters.
                object.entry("maxLength").or_insert(35.into());
                Some(rules::TIME_IN_RANGE)
            }
            Some(_) => None,
            None if crate::api::extract::MULTI_LINE_FIELDS.contains(&field) => Some(rules::MULTI_LINE_TEXT),
            None => Some(rules::TEXT),
        };
        if let Some(pattern) = pattern {
            object.insert("pattern".into(), pattern.into());
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
        for (name, property) in properties.iter_mut() {
            input_string_rules(property, name, reached);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            input_string_rules(inner, field, reached);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for inner in object.get_mut(key).and_then(|v| v.as_array_mut()).into_iter().flatten() {
            input_string_rules(inner, field, reached);
        }
    }
}

/// utoipa inlines the item type of the generic `Page<T>`; where `T` is a
/// component of its own, the page's `items` refer to it, so generated clients
/// get one named type instead of an anonymous copy.
fn name_page_items(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for page in names.iter().filter(|n| n.starts_with("Page_")) {
        let item = &page["Page_".len()..];
        if !components.schemas.contains_key(item) {
            continue;
        }
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(page) {
            if let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("items") {
                array.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
            }
        }
    }
}

/// Every path parameter is an id (`ids::parse`; anything else names nothing).
fn name_path_ids(op: &mut Operation) {
    use utoipa::openapi::path::ParameterIn;
    for parameter in op.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter
            && parameter.parameter_in == ParameterIn::Path
        {
            parameter.schema = Some(RefOr::Ref(Ref::from_schema_name("Id")));
        }
    }
}

/// Which of the headers every answer carries apply to a response.
#[derive(Clone, Copy)]
struct HeaderSet {
    /// `RateLimit-*`: every `/api/` answer.
    rate_limit: bool,
    /// `License-Signature`: every `/api/v1/client/` answer.
    signed: bool,
}

fn header(description: &str, schema: ObjectBuilder) -> RefOr<utoipa::openapi::header::Header> {
    RefOr::T(HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build())
}

fn integer(format: KnownFormat, minimum: i64, maximum: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
}

fn text(max_length: usize, pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max_length)).pattern(Some(pattern))
}

/// The headers every answer carries: `X-Request-Id`, `Retry-After` on 429
/// and 503, CORS when the caller's origin is allowed, and by path the
/// caller's rate budget and the client API's signature. (Shared error
/// responses name the signature in their description: they serve both.)
fn add_headers(status: &str, response: &mut utoipa::openapi::Response, set: HeaderSet) {
    let headers = &mut response.headers;
    headers.entry("X-Request-Id".into()).or_insert_with(|| {
        header(
            "The request's id (a sane incoming `X-Request-Id` is kept), also in problems' `request_id`",
            text(64, "^[A-Za-z0-9._-]{1,64}$"),
        )
    });
    headers.entry("Access-Control-Allow-Origin".into()).or_insert_with(|| {
        header(
            "Present when the request's `Origin` is one of `LICENSE_SERVER_CORS_ORIGINS` (the origin itself)",
            text(2048, r"^https?://[^\x00-\x20/]+$"),
        )
    });
    if status == "429" || status == "503" {
        let most = crate::ratelimit::MAX_BACKOFF.as_secs() as i64;
        // One definition, also over what a handler declared.
        headers.insert(
            "Retry-After".into(),
            header("Seconds to wait before retrying", integer(KnownFormat::Int32, 1, most)),
        );
    }
    if set.rate_limit {
        let burst = i64::from(u32::MAX);
        headers.entry("RateLimit-Limit".into()).or_insert_with(|| {
            header(
                "Requests this address may send at once (the burst of `LICENSE_SERVER_RATE_LIMIT_PER_IP`); absent when the cap is off",
                integer(KnownFormat::Int64, 0, burst),
            )
        });
        headers.entry("RateLimit-Remaining".into()).or_insert_with(|| {
            header("Requests left in this address's budget right now", integer(KnownFormat::Int64, 0, burst))
        });
        headers
            .entry("RateLimit-Reset".into())
            .or_insert_with(|| header("Seconds until the budget is full again", integer(KnownFormat::Int32, 0, 60)));
    }
    if set.signed {
        headers.entry("License-Signature".into()).or_insert_with(|| {
            header(
                "`ed25519=<base64 of the 64-byte signature>; kid=<key_id>` over the exact body bytes",
                text(256, "^ed25519=[A-Za-z0-9+/]{86}==; kid=[A-Za-z0-9._-]{1,64}$"),
            )
        });
    }
}

/// An error an operation declares by status and description only answers a
/// problem: the `Problem` body is stated here, once, for every 4xx and 5xx
/// without content. A declared body (`ActivationConflict`, `Readiness`, or
/// `Problem` spelled out) stays as declared.
fn add_problem_bodies(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.content.is_empty()
            && status.starts_with(['4', '5'])
        {
            response.content.insert(PROBLEM_JSON.into(), RefOr::T(problem_content()));
        }
    }
}

/// Every response needs a description; a success declared without one gets
/// its status's plain name.
fn describe_successes(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                let reason = status.parse::<u16>().ok().and_then(|s| actix_web::http::StatusCode::from_u16(s).ok());
                response.description = reason.and_then(|r| r.canonical_reason()).unwrap_or("Success").to_owned();
            }
        }
    }
}

fn add_shared_responses(path: &str, op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty())))
    });
    let mut wanted: Vec<&str> = Vec::new();
    if op.request_body.is_some() {
        wanted.extend(["400", "413", "415", "422"]);
    }
    if secured {
        wanted.extend(["401", "403"]);
    }
    if path.contains('{') {
        wanted.push("404");
    }
    let queried = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query));
    if queried && !wanted.contains(&"422") {
        wanted.push("422");
    }
    if path.starts_with("/api/v1/") {
        wanted.extend(["429", "500"]);
        if !NO_DATABASE.contains(&path) {
            wanted.push("503");
        }
    }
    for status in wanted {
        if !op.responses.responses.contains_key(status) {
            let (name, _, _) = SHARED.iter().find(|(_, s, _)| *s == status).expect("a shared status");
            op.responses
                .responses
                .insert(status.to_owned(), RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
        }
    }
}
