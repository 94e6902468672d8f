//! The committed `openapi/openapi.json` is what the code generates.

use reqwest::Method;

use crate::helpers::TestApp;

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
fn enum_values(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
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

#[test]
fn every_code_the_contract_page_names_is_in_the_spec() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/design/API.md");
    let page = match std::fs::read_to_string(path) {
        Ok(page) => page,
        // The contract page lives beside the repository (as in CI); a lone clone skips.
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: the contract page {path} is not here ({e})");
            return;
        }
        Err(e) => panic!("CI needs the contract page {path}: {e}"),
    };
    // Backticked SCREAMING_SNAKE words, less settings and HTTP verbs.
    let codes: std::collections::BTreeSet<&str> = page
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .filter(|w| !w.starts_with("LICENSE_SERVER_") && *w != "DATABASE_URL")
        .filter(|w| !["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(w))
        .collect();
    assert!(codes.len() >= 30, "the page names {} codes: is the parse broken?", codes.len());
    let doc: serde_json::Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let mut documented = std::collections::BTreeSet::new();
    enum_values(&doc, &mut documented);
    let missing: Vec<&&str> = codes.iter().filter(|c| !documented.contains(**c)).collect();
    assert!(missing.is_empty(), "codes of API.md that no enum of the spec lists: {missing:?}");
}
