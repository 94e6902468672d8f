//! The input rules, the same on both engines: a NUL in any text and a time
//! outside 1970 … 9999 are refused with 422 naming the field, and change
//! nothing. The cases are generated from the served OpenAPI document: every
//! string field of every request body (nested objects and list items too) and
//! every string query parameter of every operation, so a new field is covered
//! the day it is added.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, enc};
use crate::spec_walk::{baseline, concrete, non_null, operations, type_of};

const NUL_TEXT: &str = "before\u{0}after";
const TIMES_OUT_OF_RANGE: [&str; 2] = ["-5000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"];

/// One bad body: `body` with `value` at `path` (e.g. `licenses[0].expires_at`).
struct Case {
    path: String,
    body: Value,
}

/// Every string leaf of `schema` (required or not), each set in turn to a
/// bad value inside an otherwise well-typed body.
fn body_cases(spec: &Value, schema: &Value, path: &str, body: &Value, out: &mut Vec<Case>) {
    let schema = non_null(spec, schema);
    match type_of(schema) {
        "object" => {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let mut with_field = body.clone();
                with_field.as_object_mut().expect("an object body").entry(name.clone()).or_insert_with(|| {
                    // Optional objects and lists get a baseline to reach inside.
                    baseline(spec, property)
                });
                let inner_path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                let inner_body = with_field[name].clone();
                let mut inner = Vec::new();
                body_cases(spec, property, &inner_path, &inner_body, &mut inner);
                for case in inner {
                    let mut whole = with_field.clone();
                    whole[name] = case.body;
                    out.push(Case { path: case.path, body: whole });
                }
            }
        }
        "array" => {
            let mut inner = Vec::new();
            let item = body.get(0).cloned().unwrap_or_else(|| baseline(spec, &schema["items"]));
            body_cases(spec, &schema["items"], &format!("{path}[0]"), &item, &mut inner);
            for case in inner {
                out.push(Case { path: case.path, body: json!([case.body]) });
            }
        }
        "string" if schema["format"] == "date-time" => {
            for time in TIMES_OUT_OF_RANGE {
                out.push(Case { path: path.to_owned(), body: json!(time) });
            }
        }
        "string" => out.push(Case { path: path.to_owned(), body: json!(NUL_TEXT) }),
        _ => {}
    }
}

#[track_caller]
fn assert_refused(answer: &crate::helpers::Answer, what: &str, field: &str) {
    assert_ne!(answer.status.as_u16(), 500, "{what}: a 500");
    assert_eq!(answer.status.as_u16(), 422, "{what}: {}", answer.text);
    assert_eq!(answer.body["code"], "VALIDATION_FAILED", "{what}: {}", answer.text);
    assert!(answer.body["errors"].get(field).is_some(), "{what}: errors.{field} missing in {}", answer.text);
}

async fn stored_events(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use license_server::db::schema::audit_events;
    app.state
        .db
        .run(|conn| Ok::<_, license_server::db::DbError>(audit_events::table.count().get_result::<i64>(conn)?))
        .await
        .expect("count")
}

#[actix_web::test]
async fn every_text_and_time_field_of_every_body_refuses_nul_and_out_of_range_times() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 0).await;
    let spec = app.get("/api-docs/openapi.json", &app.admin_token).await.assert_status(200).clone();
    let before = stored_events(&app).await;
    let mut tried = 0;
    for (method, path, operation) in operations(&spec) {
        let Some(schema) = operation["requestBody"]["content"]["application/json"].get("schema") else { continue };
        let mut cases = Vec::new();
        body_cases(&spec, schema, "", &baseline(&spec, schema), &mut cases);
        assert!(
            !cases.is_empty()
                || non_null(&spec, schema)["properties"].as_object().is_some_and(|p| {
                    p.values().all(|v| !matches!(type_of(non_null(&spec, v)), "string" | "object" | "array"))
                }),
            "{method} {path}: no case generated"
        );
        for case in cases {
            let answer =
                app.call(method.clone(), &concrete(&path), Some(&app.admin_token), Some(case.body.clone())).await;
            assert_refused(&answer, &format!("{method} {path} with {}", case.body), &case.path);
            tried += 1;
        }
    }
    assert!(tried >= 80, "only {tried} cases: is the spec walk broken?");
    assert_eq!(stored_events(&app).await, before, "a refused request changed something");
}

#[actix_web::test]
async fn every_text_and_time_query_parameter_refuses_nul_and_out_of_range_times() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 0).await;
    let spec = app.get("/api-docs/openapi.json", &app.admin_token).await.assert_status(200).clone();
    let mut tried = 0;
    for (method, path, operation) in operations(&spec) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "query" {
                continue;
            }
            let name = parameter["name"].as_str().expect("name");
            let schema = non_null(&spec, &parameter["schema"]);
            let values: Vec<&str> = match type_of(schema) {
                "string" if schema["format"] == "date-time" => TIMES_OUT_OF_RANGE.to_vec(),
                "string" => vec![NUL_TEXT],
                _ => continue,
            };
            for value in values {
                let url = format!("{}?{name}={}", concrete(&path), enc(value));
                let answer = app.call(method.clone(), &url, Some(&app.admin_token), None).await;
                assert_refused(&answer, &format!("{method} {url}"), name);
                tried += 1;
            }
        }
    }
    assert!(tried > 20, "only {tried} cases: is the spec walk broken?");
}

#[actix_web::test]
async fn a_nul_in_a_login_email_is_422_not_a_database_error() {
    let app = TestApp::spawn().await;

    let answer = app
        .call(Method::POST, "/auth/login", None, Some(json!({ "email": "a\u{0}@x.example", "password": "x" })))
        .await;

    assert_refused(&answer, "login", "email");
}

#[actix_web::test]
async fn an_address_may_span_lines_but_holds_no_other_control_character() {
    let app = TestApp::spawn().await;
    let customer = |address: &str| json!({ "company": "Lines GmbH", "address": address });

    let multi_line = app.post("/customers", &app.admin_token, customer("Hauptstr. 1\n\t12345 Berlin")).await;
    let escape = app.post("/customers", &app.admin_token, customer("Hauptstr. 1\u{1b}[31m")).await;
    let in_company = app.post("/customers", &app.admin_token, json!({ "company": "Two\nLines" })).await;

    assert_eq!(multi_line.assert_status(201)["address"], "Hauptstr. 1\n\t12345 Berlin");
    assert_refused(&escape, "escape in address", "address");
    assert_refused(&in_company, "line break in company", "company");
}

#[actix_web::test]
async fn a_request_file_with_control_characters_or_an_old_time_is_422() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let key = c.order["licenses"][1]["key"].as_str().unwrap();
    let file = |hostname: &str, created_at: &str| {
        let request =
            json!({ "license_key": key, "hardware_id": "hw-1", "hostname": hostname, "created_at": created_at });
        base64::engine::general_purpose::STANDARD.encode(request.to_string())
    };

    let nul = app
        .call(
            Method::POST,
            "/client/offline/activate",
            None,
            Some(json!({ "request": file("a\u{0}b", "2026-01-01T00:00:00Z") })),
        )
        .await;
    let old = app
        .call(
            Method::POST,
            "/client/offline/activate",
            None,
            Some(json!({ "request": file("pc", "-5000-01-01T00:00:00Z") })),
        )
        .await;

    assert_refused(&nul, "NUL hostname", "request.hostname");
    assert_refused(&old, "year -5000", "request.created_at");
    let devices = app.get(&format!("/licenses/{}/devices?status=all", c.computer_license_id), &app.admin_token).await;
    assert_eq!(devices.assert_status(200)["total"], 0);
}

#[actix_web::test]
async fn a_body_that_is_no_object_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let product = app.product("CAD").await;
    let path = format!("/products/{}", product["id"].as_str().unwrap());
    for body in [json!(["CAD-2", "Other name"]), json!([null, null]), json!("CAD"), json!(7), Value::Null] {
        let created = app.post("/products", &app.admin_token, body.clone()).await;
        let patched = app.patch(&path, &app.admin_token, body.clone()).await;
        for answer in [&created, &patched] {
            crate::helpers::assert_field_error(answer, "body");
        }
    }
    let list = app.get("/products", &app.admin_token).await;
    assert_eq!(list.assert_status(200)["total"], 1, "nothing was created");
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn fields_and_parameters_the_server_does_not_read_are_ignored_whatever_they_hold() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/products",
            &app.admin_token,
            json!({ "code": "CAD", "name": "CAD Pro", "note": "a\u{1}b", "x": ["\u{0}"] }),
        )
        .await;
    created.assert_status(201);
    let listed = app.get("/products?sort=code&utm_source=%01", &app.admin_token).await;
    assert_eq!(listed.assert_status(200)["total"], 1);
    // A parameter the collection reads still refuses a control character.
    let refused = app.get("/products?q=%01", &app.admin_token).await;
    crate::helpers::assert_field_error(&refused, "q");
}

#[actix_web::test]
async fn integers_may_be_written_as_whole_floats_but_not_as_fractions() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/licenses/{}", c.computer_license_id);
    let whole = app.patch(&path, &app.admin_token, json!({ "seats": 3.0, "lease_seconds": 600.0 })).await;
    assert_eq!(whole.assert_status(200)["seats"], 3);
    for bad in [json!({ "seats": 2.5 }), json!({ "seats": 1e12 }), json!({ "lease_seconds": "600" })] {
        let answer = app.patch(&path, &app.admin_token, bad.clone()).await;
        let field = bad.as_object().unwrap().keys().next().unwrap().clone();
        crate::helpers::assert_field_error(&answer, &field);
    }
    let license = app.get(&path, &app.admin_token).await;
    assert_eq!(license.assert_status(200)["seats"], 3, "the refused changes changed nothing");
}

#[actix_web::test]
async fn sort_names_a_field_exactly() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    for ok in ["code", "-code", "name", "-created_at"] {
        app.get(&format!("/products?sort={ok}"), &app.admin_token).await.assert_status(200);
    }
    for bad in ["", "%20code", "code%20", "--code", "CODE", "id"] {
        let answer = app.get(&format!("/products?sort={bad}"), &app.admin_token).await;
        crate::helpers::assert_field_error(&answer, "sort");
    }
}

/// The bodies of `rules::ALTERNATIVES` with none of their ways, or two, are
/// refused (the spec's `oneOf` says so) and change nothing.
#[actix_web::test]
async fn a_body_with_none_or_two_of_its_alternatives_is_refused() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let customer_id = c.order["customer"]["id"].clone();
    let order = |extra: Value| {
        let mut body = json!({
            "number": "SO-2",
            "licenses": [{ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }],
            "managers": [{ "email": "max@acme.example" }],
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for extra in [json!({}), json!({ "customer": { "company": "Acme" }, "customer_id": customer_id })] {
        let answer = app.post("/orders", &app.admin_token, order(extra)).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
    }
    let hw = json!({ "hardware_id": "hw-1" });
    let with = |extra: Value| {
        let mut body = hw.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let validations = [with(json!({})), with(json!({ "activation_token": "lat_x", "license_key": "AAAAA" }))];
    for body in validations {
        let answer = app.call(Method::POST, "/client/validate", None, Some(body)).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
    }
    for body in [with(json!({})), with(json!({ "email": "max@acme.example", "license_key": null }))] {
        let answer = app.call(Method::POST, "/client/activate", None, Some(body)).await;
        assert!(answer.status.is_client_error(), "{}", answer.text);
    }
    assert_eq!(app.get("/orders", &app.admin_token).await.assert_status(200)["total"], 1);
    assert_eq!(app.count_events("device.activated").await + app.count_events("license_user.activated").await, 0);
}
