//! The committed `openapi/openapi.json` is what the code generates.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::Value;

use crate::contract_page::{self, Contract, Field, Operation, shape};
use crate::helpers::TestApp;
use crate::spec_walk::{resolve, type_of};

#[test]
fn committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json exists");
    let generated = license_server::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[actix_web::test]
async fn served_spec_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let served = app.call(Method::GET, "/api-docs/openapi.json", None, None).await;
    let generated: serde_json::Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    assert_eq!(served.body, generated);
}

#[test]
fn every_api_operation_documents_its_errors_and_security() {
    let doc: serde_json::Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/v1/")) {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            assert!(op.get("security").is_some(), "{method} {path} declares no security");
            let secured = op["security"].as_array().unwrap().iter().any(|r| !r.as_object().unwrap().is_empty());
            if secured {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
        }
    }
}

/// Every enum value anywhere in `value` (codes, statuses, kinds …).
fn enum_values(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(values) = map.get("enum").and_then(|e| e.as_array()) {
                out.extend(values.iter().filter_map(|v| v.as_str()).map(str::to_owned));
            }
            map.values().for_each(|v| enum_values(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| enum_values(v, out)),
        _ => {}
    }
}

/// The contract page beside the repository (as in CI); `None` (skip) in a
/// lone clone outside CI.
fn contract_page() -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/design/API.md");
    match std::fs::read_to_string(path) {
        Ok(page) => Some(page),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: the contract page {path} is not here ({e})");
            None
        }
        Err(e) => panic!("CI needs the contract page {path}: {e}"),
    }
}

#[test]
fn every_code_the_contract_page_names_is_in_the_spec() {
    let Some(page) = contract_page() else { return };
    // Backticked SCREAMING_SNAKE words, less settings and HTTP verbs.
    let codes: BTreeSet<&str> = page
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .filter(|w| !w.starts_with("LICENSE_SERVER_") && *w != "DATABASE_URL")
        .filter(|w| !["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(w))
        .collect();
    assert!(codes.len() >= 30, "the page names {} codes: is the parse broken?", codes.len());
    let doc: Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let mut documented = BTreeSet::new();
    enum_values(&doc, &mut documented);
    let missing: Vec<&&str> = codes.iter().filter(|c| !documented.contains(**c)).collect();
    assert!(missing.is_empty(), "codes of API.md that no enum of the spec lists: {missing:?}");
}

/// The page parsed, and the spec; `None` when the page is not here.
fn contract_and_spec() -> Option<(Contract, Value)> {
    let contract = contract_page::parse(&contract_page()?);
    let spec = serde_json::from_str(&license_server::openapi_json()).unwrap();
    Some((contract, spec))
}

/// Which operations answer each object the page defines ("The license object: `{…}`"),
/// besides those the page links itself (`→ 200 the user`). `collection` is held against
/// every collection, `error` against every error answer.
const OBJECT_ANSWERS: &[(&str, &[&str])] = &[
    ("license", &["GET /licenses", "GET /licenses/{id}", "POST /licenses", "PATCH /licenses/{id}"]),
    ("user", &["GET /licenses/{id}/users", "GET /licenses/{id}/users/{user_id}"]),
    ("device", &["GET /licenses/{id}/devices", "GET /licenses/{id}/devices/{device_id}"]),
    ("customer", &["GET /customers", "GET /customers/{id}", "POST /customers", "PATCH /customers/{id}"]),
    ("order", &["GET /orders/{order_id}"]),
    ("order list item", &["GET /orders"]),
    ("manager", &["GET /managers", "GET /managers/{id}"]),
    ("endpoint", &["GET /webhook-endpoints", "GET /webhook-endpoints/{id}"]),
    (
        "delivery",
        &[
            "GET /webhook-endpoints/{id}/deliveries",
            "GET /webhook-endpoints/{id}/deliveries/{delivery_id}",
            "POST /webhook-endpoints/{id}/test",
        ],
    ),
    ("delivery detail", &["GET /webhook-endpoints/{id}/deliveries/{delivery_id}"]),
    ("collection", &[]),
    ("error", &[]),
];

/// The spec's operation for a method and a path of the page (`{param}` names aside).
fn spec_operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let (path, item) = spec["paths"].as_object()?.iter().find(|(p, _)| shape(p) == shape(path))?;
    Some((path.as_str(), item.get(method.to_lowercase())?))
}

/// A response with its `$ref` into `components.responses` followed.
fn response<'a>(spec: &'a Value, operation: &'a Value, status: &str) -> Option<&'a Value> {
    let response = operation["responses"].get(status)?;
    Some(match response.get("$ref").and_then(Value::as_str) {
        Some(r) => &spec["components"]["responses"][r.strip_prefix("#/components/responses/").expect("a local ref")],
        None => response,
    })
}

fn body_schema(content: &Value) -> Option<&Value> {
    ["application/json", "application/problem+json"].iter().find_map(|t| content.get(t)).map(|c| &c["schema"])
}

/// The schema of the answer with `status`, or of the first success.
fn answer_schema<'a>(spec: &'a Value, operation: &'a Value, status: Option<u16>) -> Result<&'a Value, String> {
    let status = match status {
        Some(status) => status.to_string(),
        None => operation["responses"]
            .as_object()
            .and_then(|r| r.keys().find(|s| s.starts_with('2')).cloned())
            .ok_or("documents no success")?,
    };
    let response = response(spec, operation, &status).ok_or(format!("documents no {status}"))?;
    body_schema(&response["content"]).ok_or(format!("answers {status} without a JSON body"))
}

fn request_schema(operation: &Value) -> Result<&Value, String> {
    body_schema(&operation["requestBody"]["content"]).ok_or_else(|| "takes no JSON body".to_owned())
}

/// The properties a value of `schema` may carry: through `$ref`s, `allOf`, the variants
/// of `oneOf`/`anyOf` (nullable ones too) and an array's items.
fn properties<'a>(spec: &'a Value, schema: &'a Value) -> BTreeMap<&'a str, &'a Value> {
    let schema = resolve(spec, schema);
    if type_of(schema) == "array" {
        return properties(spec, &schema["items"]);
    }
    let mut out: BTreeMap<&str, &Value> =
        schema["properties"].as_object().into_iter().flatten().map(|(k, v)| (k.as_str(), v)).collect();
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for variant in schema[combinator].as_array().into_iter().flatten().filter(|v| v["type"] != "null") {
            out.extend(properties(spec, variant));
        }
    }
    out
}

/// The names of `field` (and of its nested fields) that `schema` has no property for.
/// A page's (`Page_*`) fields are its own; any other field is one of its items'.
fn unknown(spec: &Value, schema: &Value, field: &Field, prefix: &str, out: &mut Vec<String>) {
    let mut props = properties(spec, schema);
    if prefix.is_empty()
        && props.contains_key("items")
        && props.contains_key("total")
        && !props.contains_key(&*field.name)
    {
        props = properties(spec, props["items"]);
    }
    let name = format!("{prefix}{}", field.name);
    match props.get(&*field.name) {
        None => out.push(name),
        Some(property) => {
            let prefix = format!("{name}.");
            field.nested.iter().for_each(|n| unknown(spec, property, n, &prefix, out));
        }
    }
}

/// Every field of `fields` that `schema` lacks, as mismatch lines.
fn check_fields<'a>(
    spec: &Value,
    schema: Result<&Value, String>,
    fields: impl IntoIterator<Item = (usize, &'a Field)>,
    what: &str,
    mismatches: &mut BTreeSet<String>,
) {
    let fields: Vec<_> = fields.into_iter().collect();
    match schema {
        Err(why) if !fields.is_empty() => {
            let names: Vec<&str> = fields.iter().map(|(_, f)| f.name.as_str()).collect();
            mismatches.insert(format!("{what}: {why}, but API.md names {names:?} (line {})", fields[0].0));
        }
        Err(_) => {}
        Ok(schema) => {
            for (line, field) in fields {
                let mut missing = Vec::new();
                unknown(spec, schema, field, "", &mut missing);
                for name in missing {
                    mismatches.insert(format!("{what}: no property `{name}` (API.md line {line})"));
                }
            }
        }
    }
}

/// Where the spec knowingly differs from API.md, each with why; a mismatch
/// line starting with one of these is not reported. An entry that matches
/// nothing fails its test, so the list can only shrink.
const DEVIATIONS: &[(&str, &str)] = &[
    ("GET /api/v1/webhook-endpoints", "webhooks are issue 10, the next but one; the page describes them already"),
    ("POST /api/v1/webhook-endpoints", "webhooks are issue 10"),
    ("PATCH /api/v1/webhook-endpoints", "webhooks are issue 10"),
    ("DELETE /api/v1/webhook-endpoints", "webhooks are issue 10"),
    (
        "GET /ready answer 503",
        "a load balancer's probe answers its check in a body of its own (Readiness), not a problem",
    ),
];

/// The mismatches no deviation explains; panics on a deviation that explains none.
fn unexplained(mismatches: Vec<String>, test: &str) -> Vec<String> {
    let (known, rest): (Vec<String>, Vec<String>) =
        mismatches.into_iter().partition(|m| DEVIATIONS.iter().any(|(prefix, _)| m.starts_with(prefix)));
    let relevant = match test {
        "operations" => |p: &str| p.contains("webhook"),
        "fields" => |p: &str| p.contains(" answer "),
        _ => |p: &str| p.contains("query parameter"),
    };
    for (prefix, why) in DEVIATIONS.iter().filter(|(p, _)| relevant(p)) {
        assert!(
            known.iter().any(|m| m.starts_with(prefix)),
            "DEVIATIONS: `{prefix}` ({why}) no longer applies: drop it"
        );
    }
    rest
}

#[test]
fn every_operation_the_contract_page_names_is_in_the_spec() {
    let Some((contract, spec)) = contract_and_spec() else { return };
    assert!(
        contract.operations.len() >= 40,
        "API.md names {} operations: is the parse broken?",
        contract.operations.len()
    );
    let mut mismatches = Vec::new();
    for op in &contract.operations {
        match (op.absent, spec_operation(&spec, &op.method, &op.path)) {
            (false, None) => {
                mismatches.push(format!("{} {} (API.md line {}): not in the spec", op.method, op.path, op.line))
            }
            (true, Some((path, _))) => mismatches
                .push(format!("{} {path}: API.md line {} says it answers 405, the spec has it", op.method, op.line)),
            _ => {}
        }
    }
    let mismatches = unexplained(mismatches, "operations");
    assert!(mismatches.is_empty(), "operations of API.md and the spec disagree:\n{}", mismatches.join("\n"));
}

#[test]
fn every_status_the_contract_page_lists_is_documented() {
    let Some((contract, spec)) = contract_and_spec() else { return };
    let listed: usize = contract.operations.iter().map(|o| o.statuses.len()).sum();
    assert!(listed >= 40, "API.md lists {listed} statuses: is the parse broken?");
    let mut mismatches = Vec::new();
    for op in contract.operations.iter().filter(|o| !o.absent) {
        let Some((path, operation)) = spec_operation(&spec, &op.method, &op.path) else { continue };
        for (status, line) in &op.statuses {
            if operation["responses"].get(status.to_string()).is_none() {
                mismatches.push(format!("{} {path}: {status} undocumented (API.md line {line})", op.method));
            }
        }
    }
    assert!(mismatches.is_empty(), "statuses of API.md the spec does not document:\n{}", mismatches.join("\n"));
}

#[test]
fn every_field_the_contract_page_names_is_in_the_spec() {
    let Some((contract, spec)) = contract_and_spec() else { return };
    let named: usize = contract.operations.iter().map(|o| o.request.len() + o.answers.len()).sum::<usize>()
        + contract.objects.values().map(|o| o.fields.len()).sum::<usize>();
    assert!(named >= 150, "API.md names {named} fields: is the parse broken?");
    let mut mismatches = BTreeSet::new();
    // What the page says of each operation.
    for op in contract.operations.iter().filter(|o| !o.absent) {
        let Some((path, operation)) = spec_operation(&spec, &op.method, &op.path) else { continue };
        let request = op.request.iter().map(|(l, f)| (*l, f));
        check_fields(
            &spec,
            request_schema(operation),
            request,
            &format!("{} {path} request", op.method),
            &mut mismatches,
        );
        let statuses: BTreeSet<Option<u16>> = op.answers.iter().map(|(_, s, _)| *s).collect();
        for status in statuses {
            let fields = op.answers.iter().filter(|(_, s, _)| *s == status).map(|(l, _, f)| (*l, f));
            let what =
                format!("{} {path} answer {}", op.method, status.map_or("(success)".to_owned(), |s| s.to_string()));
            check_fields(&spec, answer_schema(&spec, operation, status), fields, &what, &mut mismatches);
        }
    }
    // The objects, wherever they are answered.
    let answers: BTreeMap<&str, &[&str]> = OBJECT_ANSWERS.iter().copied().collect();
    for name in contract.objects.keys() {
        assert!(answers.contains_key(name.as_str()), "API.md defines the {name} object: add it to OBJECT_ANSWERS");
    }
    for (name, object) in &contract.objects {
        let mut targets: Vec<(&Operation, Option<u16>)> = Vec::new();
        for call in answers[name.as_str()] {
            let (method, path) = call.split_once(' ').unwrap();
            let op = contract.operation(method, &format!("/api/v1{path}"));
            targets.push((op.unwrap_or_else(|| panic!("OBJECT_ANSWERS: API.md names no `{call}`")), None));
        }
        for op in &contract.operations {
            targets.extend(op.links.iter().filter(|(_, _, n)| n == name).map(|(_, status, _)| (op, *status)));
        }
        if name == "collection" {
            targets.extend(contract.collections().into_iter().map(|op| (op, None)));
        }
        assert!(!targets.is_empty() || name == "error", "the {name} object of API.md is held against nothing");
        let mut schemas: Vec<(String, Result<&Value, String>)> = Vec::new();
        for (op, status) in targets {
            let Some((path, operation)) = spec_operation(&spec, &op.method, &op.path) else { continue };
            let what = format!(
                "{} {path} answer {} ({name})",
                op.method,
                status.map_or("(success)".to_owned(), |s| s.to_string())
            );
            schemas.push((what, answer_schema(&spec, operation, status)));
        }
        if name == "error" {
            // Every error answer of the spec; one line per distinct schema.
            let mut seen = BTreeSet::new();
            for (path, item) in spec["paths"].as_object().unwrap() {
                for (method, operation) in item.as_object().unwrap() {
                    for status in operation["responses"].as_object().unwrap().keys().filter(|s| !s.starts_with('2')) {
                        let schema = response(&spec, operation, status).and_then(|r| body_schema(&r["content"]));
                        if let Some(schema) = schema.filter(|s| seen.insert(s.to_string())) {
                            schemas.push((
                                format!(
                                    "{} {path} answer {status} (error; first with this schema)",
                                    method.to_uppercase()
                                ),
                                Ok(schema),
                            ));
                        }
                    }
                }
            }
        }
        for (what, schema) in schemas {
            check_fields(&spec, schema, object.fields.iter().map(|(l, f)| (*l, f)), &what, &mut mismatches);
        }
    }
    let mismatches = unexplained(mismatches.into_iter().collect(), "fields");
    assert!(mismatches.is_empty(), "fields of API.md the spec lacks:\n{}", mismatches.join("\n"));
}

#[test]
fn every_query_parameter_the_contract_page_names_is_in_the_spec() {
    let Some((contract, spec)) = contract_and_spec() else { return };
    assert!(contract.collection_query.len() >= 4, "API.md names {:?} for collections", contract.collection_query);
    let collections: Vec<&Operation> = contract.collections();
    assert!(collections.len() >= 8, "API.md names {} collections: is the parse broken?", collections.len());
    let mut mismatches = Vec::new();
    for op in contract.operations.iter().filter(|o| !o.absent) {
        let Some((path, operation)) = spec_operation(&spec, &op.method, &op.path) else { continue };
        let taken: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let mut named: BTreeMap<&str, usize> = op.query.iter().map(|(n, l)| (n.as_str(), *l)).collect();
        if collections.iter().any(|c| std::ptr::eq(*c, op)) {
            named.extend(contract.collection_query.iter().map(|(n, l)| (n.as_str(), *l)));
        }
        for (name, line) in named.into_iter().filter(|(n, _)| !taken.contains(n)) {
            mismatches.push(format!("{} {path}: no query parameter `{name}` (API.md line {line})", op.method));
        }
    }
    let mismatches = unexplained(mismatches, "query");
    assert!(mismatches.is_empty(), "query parameters of API.md the spec lacks:\n{}", mismatches.join("\n"));
}
