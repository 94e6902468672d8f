//! The OpenAPI document as a reference people read and tools trust: every
//! operation has a description, every request body an example, and each
//! example succeeds. Swagger UI's Try-it-out is pre-filled with the examples
//! and client developers copy them, so each one is sent exactly as the served
//! document has it, by a caller that may use the operation, to a fresh server
//! seeded with what the example names (its e-mail's account, its license
//! key, its tokens, its order id); only path parameters are filled in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::TimeDelta;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Customer, TestApp, id_of};
use crate::spec_walk::operations;

/// One request example of the served document.
struct Example {
    method: Method,
    /// The path template, such as `/api/v1/licenses/{license_id}`.
    path: String,
    /// The example's name (`example` for a media type's single example).
    name: String,
    body: Value,
}

impl Example {
    fn what(&self) -> String {
        format!("{} {} (example {:?})", self.method, self.path, self.name)
    }

    /// A text field of the body, which the seeding needs.
    fn text(&self, field: &str) -> &str {
        self.body[field].as_str().unwrap_or_else(|| panic!("{}: no text `{field}` in {}", self.what(), self.body))
    }

    fn has(&self, field: &str) -> bool {
        self.body.get(field).is_some_and(|v| !v.is_null())
    }
}

async fn served_spec(app: &TestApp) -> Value {
    app.call(Method::GET, "/api-docs/openapi.json", None, None).await.assert_status(200).clone()
}

/// The JSON media type of an operation's request body, if it has one.
fn json_body(operation: &Value) -> Option<&Value> {
    operation.get("requestBody").map(|body| &body["content"]["application/json"])
}

/// Every request example of the document: a media type's `example`, and
/// each value of its `examples`.
fn examples(spec: &Value) -> Vec<Example> {
    let mut out = Vec::new();
    for (method, path, operation) in operations(spec) {
        let Some(media) = json_body(&operation) else { continue };
        if let Some(body) = media.get("example") {
            out.push(Example {
                method: method.clone(),
                path: path.clone(),
                name: "example".into(),
                body: body.clone(),
            });
        }
        for (name, example) in media.get("examples").and_then(Value::as_object).into_iter().flatten() {
            let body = example.get("value").unwrap_or_else(|| panic!("{method} {path}: example {name} has no value"));
            out.push(Example { method: method.clone(), path: path.clone(), name: name.clone(), body: body.clone() });
        }
    }
    out
}

#[test]
fn every_operation_has_a_summary_and_a_description() {
    let spec: Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let mut lacking = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            for field in ["summary", "description"] {
                if operation[field].as_str().is_none_or(|text| text.trim().is_empty()) {
                    lacking.push(format!("{method} {path}: {field}"));
                }
            }
        }
    }
    assert!(
        lacking.is_empty(),
        "operations without a summary or description (a handler's doc comment gives both):\n{}",
        lacking.join("\n")
    );
}

#[actix_web::test]
async fn every_request_body_in_the_served_spec_has_an_example() {
    let app = TestApp::spawn().await;
    let spec = served_spec(&app).await;
    let (mut bodies, mut lacking) = (0, Vec::new());
    for (method, path, operation) in operations(&spec) {
        let Some(media) = json_body(&operation) else { continue };
        bodies += 1;
        let single = media.get("example").is_some();
        let named = media.get("examples").and_then(Value::as_object).is_some_and(|e| !e.is_empty());
        if !single && !named {
            lacking.push(format!("{method} {path}"));
        }
    }
    assert!(bodies >= 20, "only {bodies} operations with a JSON body: is the walk broken?");
    assert!(lacking.is_empty(), "request bodies without an example:\n{}", lacking.join("\n"));
}

#[actix_web::test]
async fn every_request_body_example_succeeds_as_sent() {
    let spec = served_spec(&TestApp::spawn().await).await;
    let all = examples(&spec);
    assert!(all.len() >= 20, "only {} examples", all.len());
    let mut failures = Vec::new();
    for example in &all {
        let app = TestApp::spawn().await;
        let call = seed(&app, example).await;
        let answer =
            app.call(example.method.clone(), &call.path, call.token.as_deref(), Some(example.body.clone())).await;
        // `/client/validate` answers 200 for every well-formed request; success is `valid`.
        let refused = answer.body.get("valid").is_some_and(|valid| valid != true);
        if !answer.status.is_success() || refused {
            failures.push(format!("{} as {}: {} {}", example.what(), call.caller, answer.status, answer.text));
        }
    }
    assert!(failures.is_empty(), "examples that do not succeed:\n{}", failures.join("\n"));
}

// ------------------------------------------------------------------ seeding

/// How to send an example: the concrete path and the caller.
struct Call {
    path: String,
    token: Option<String>,
    /// Who calls, for failure messages.
    caller: &'static str,
}

impl Call {
    fn new(example: &Example, params: &[(&str, &str)], caller: &'static str, token: Option<String>) -> Self {
        let mut path = example.path.clone();
        for (name, value) in params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "{}: a path parameter was not filled in: {path}", example.what());
        Self { path, token, caller }
    }
}

/// The seeded order's number and its manager's e-mail: no example names them.
const SEED_ORDER: &str = "SEED-0001";
const SEED_MANAGER: &str = "seed.manager@seed.example";
const SEED_USER: &str = "seed.user@seed.example";
const SEED_PASSWORD: &str = "seed-password-1234";

/// Makes what `example` needs exist and says how to send it. A new operation
/// with a body needs a line here: the test fails until it has one.
async fn seed(app: &TestApp, example: &Example) -> Call {
    let admin = || Some(app.admin_token.clone());
    match (example.method.as_str(), example.path.as_str()) {
        ("POST", "/api/v1/auth/login") => {
            account_with_password(app, example.text("email"), example.text("password")).await;
            Call::new(example, &[], "anyone", None)
        }
        ("POST", "/api/v1/auth/refresh" | "/api/v1/auth/logout") => {
            live_refresh_token(app, example.text("refresh_token")).await;
            Call::new(example, &[], "anyone", None)
        }
        ("PATCH", "/api/v1/me") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[], "a manager", Some(c.manager_token))
        }
        ("PUT", "/api/v1/me/password") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            let change =
                json!({ "current_password": c.manager_password, "new_password": example.text("current_password") });
            app.call(Method::PUT, "/me/password", Some(&c.manager_token), Some(change)).await.assert_status(204);
            Call::new(example, &[], "a manager", Some(c.manager_token))
        }
        ("POST", "/api/v1/api-keys") => Call::new(example, &[], "an admin", admin()),
        ("POST", "/api/v1/products") => Call::new(example, &[], "an admin", admin()),
        ("PATCH", "/api/v1/products/{product_id}") => {
            let product = app.product("SEED-PRODUCT").await;
            Call::new(example, &[("product_id", &id_of(&product))], "an admin", admin())
        }
        ("POST", "/api/v1/customers") => Call::new(example, &[], "the shop", Some(app.shop_key().await)),
        ("PATCH", "/api/v1/customers/{customer_id}") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            let customer_id = id_of(&c.order["customer"]);
            Call::new(example, &[("customer_id", &customer_id)], "the shop", Some(app.shop_key().await))
        }
        ("POST", "/api/v1/orders") => {
            if example.has("customer_id") {
                customer_with_id(app, example.text("customer_id")).await;
            }
            for terms in example.body["licenses"].as_array().expect("licenses") {
                product_of(app, terms).await;
            }
            Call::new(example, &[], "the shop", Some(app.shop_key().await))
        }
        ("PATCH", "/api/v1/orders/{order_id}/customer") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[("order_id", &c.order_id)], "an admin", admin())
        }
        ("POST", "/api/v1/orders/{order_id}/managers") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[("order_id", &c.order_id)], "the order's manager", Some(c.manager_token))
        }
        ("PATCH", "/api/v1/managers/{manager_id}") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[("manager_id", &c.manager_id)], "an admin", admin())
        }
        ("POST", "/api/v1/licenses") => {
            order_with_id(app, example.text("order_id")).await;
            product_of(app, &example.body).await;
            Call::new(example, &[], "the shop", Some(app.shop_key().await))
        }
        ("PATCH", "/api/v1/licenses/{license_id}") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[("license_id", &c.user_license_id)], "an admin", admin())
        }
        ("POST", "/api/v1/licenses/{license_id}/users") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            Call::new(example, &[("license_id", &c.user_license_id)], "the order's manager", Some(c.manager_token))
        }
        ("PATCH", "/api/v1/licenses/{license_id}/users/{user_id}")
        | ("POST", "/api/v1/licenses/{license_id}/users/{user_id}/password") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            let user_id = add_user(app, &c, SEED_USER, SEED_PASSWORD).await;
            let params = [("license_id", c.user_license_id.as_str()), ("user_id", user_id.as_str())];
            Call::new(example, &params, "the order's manager", Some(c.manager_token))
        }
        ("POST", "/api/v1/licenses/{license_id}/devices/{device_id}/deactivate") => {
            let c = app.order(SEED_ORDER, SEED_MANAGER).await;
            let device = activate_device(app, &key_of(&c), "seed-hardware-id").await;
            let params = [("license_id", c.computer_license_id.as_str()), ("device_id", device.as_str())];
            // Forcing the release of a seat is for admins; managers deactivate.
            if example.body["force"] == true {
                Call::new(example, &params, "an admin", admin())
            } else {
                Call::new(example, &params, "the order's manager", Some(c.manager_token))
            }
        }
        ("POST", "/api/v1/client/activate") => {
            if example.has("email") {
                let c = app.order(SEED_ORDER, SEED_MANAGER).await;
                add_user(app, &c, example.text("email"), example.text("password")).await;
                if example.has("license_key") {
                    set_license_key(app, &c.user_license_id, example.text("license_key")).await;
                }
            } else {
                computer_license_with_key(app, example.text("license_key")).await;
            }
            Call::new(example, &[], "the software", None)
        }
        ("POST", "/api/v1/client/validate" | "/api/v1/client/heartbeat" | "/api/v1/client/deactivate") => {
            let hardware_id = example.text("hardware_id");
            if example.has("activation_token") {
                live_activation_token(app, example.text("activation_token"), hardware_id).await;
            } else {
                let key = example.text("license_key");
                computer_license_with_key(app, key).await;
                activate_device(app, key, hardware_id).await;
            }
            Call::new(example, &[], "the software", None)
        }
        ("POST", "/api/v1/client/offline/activate") => {
            let file = request_file(example);
            computer_license_with_key(app, file["license_key"].as_str().expect("license_key")).await;
            Call::new(example, &[], "the software", None)
        }
        ("POST", "/api/v1/client/offline/deactivate") => {
            let mut file = request_file(example);
            computer_license_with_key(app, file["license_key"].as_str().expect("license_key")).await;
            // The same computer's activation request: the file without `deactivate`.
            file.as_object_mut().expect("a request object").remove("deactivate");
            let activation = json!({ "request": B64.encode(file.to_string()) });
            app.call(Method::POST, "/client/offline/activate", None, Some(activation)).await.assert_status(200);
            Call::new(example, &[], "the software", None)
        }
        _ => panic!(
            "{}: no seeding for this operation; teach tests/api/examples.rs what its example needs",
            example.what()
        ),
    }
}

/// A manager account with this e-mail whose password is `password` (set
/// through `PUT /me/password`, as its owner would).
async fn account_with_password(app: &TestApp, email: &str, password: &str) {
    let c = app.order(SEED_ORDER, email).await;
    let change = json!({ "current_password": c.manager_password, "new_password": password });
    app.call(Method::PUT, "/me/password", Some(&c.manager_token), Some(change)).await.assert_status(204);
}

/// Makes `token` a live refresh token of the admin (tokens are stored only as
/// their digest, so any well-formed value can be made one).
async fn live_refresh_token(app: &TestApp, token: &str) {
    use license_server::models::tokens::NewRefreshToken;
    let admin = app.get("/me", &app.admin_token).await.assert_status(200).clone();
    let (account, digest, now) = (id_of(&admin), license_server::crypto::sha256_hex(token), app.state.clock.now());
    app.state
        .db
        .write(move |conn| {
            let family = license_server::ids::new_id();
            let row = NewRefreshToken {
                id: &license_server::ids::new_id(),
                account_id: &account,
                family_id: &family,
                token_hash: &digest,
                created_at: now,
                expires_at: now + TimeDelta::days(30),
            };
            Ok::<_, license_server::db::DbError>(license_server::repositories::refresh_tokens::insert(conn, &row)?)
        })
        .await
        .expect("insert refresh token");
}

/// An activation on `hardware_id` whose token is `token`: a device for
/// `lat_d…`, a license user's activation for `lat_u…`, activated through the
/// client API and then given this token's digest.
async fn live_activation_token(app: &TestApp, token: &str, hardware_id: &str) {
    use license_server::db::schema::{devices, user_activations};
    let c = app.order(SEED_ORDER, SEED_MANAGER).await;
    let digest = license_server::crypto::sha256_hex(token);
    if token.starts_with("lat_d") {
        let device = activate_device(app, &key_of(&c), hardware_id).await;
        let rows = app
            .state
            .db
            .write(move |conn| {
                Ok::<_, license_server::db::DbError>(
                    diesel::update(devices::table.find(device)).set(devices::token_hash.eq(digest)).execute(conn)?,
                )
            })
            .await;
        assert_eq!(rows.expect("set the device's token"), 1);
    } else if token.starts_with("lat_u") {
        add_user(app, &c, SEED_USER, SEED_PASSWORD).await;
        let body = json!({ "email": SEED_USER, "password": SEED_PASSWORD, "hardware_id": hardware_id });
        let answer = app.call(Method::POST, "/client/activate", None, Some(body)).await;
        let user_id = answer.assert_status(200)["user"]["id"].as_str().expect("user id").to_owned();
        let rows = app
            .state
            .db
            .write(move |conn| {
                let open = user_activations::table
                    .filter(user_activations::license_user_id.eq(user_id))
                    .filter(user_activations::ended_at.is_null());
                Ok::<_, license_server::db::DbError>(
                    diesel::update(open).set(user_activations::token_hash.eq(digest)).execute(conn)?,
                )
            })
            .await;
        assert_eq!(rows.expect("set the activation's token"), 1);
    } else {
        panic!("an activation token starts with lat_d (a device) or lat_u (a user): {token}");
    }
}

/// The key of the seeded order's computer-based license, as shown.
fn key_of(c: &Customer) -> String {
    c.order["licenses"][1]["key"].as_str().expect("license key").to_owned()
}

/// Activates a computer on a computer-based license; answers the device id.
async fn activate_device(app: &TestApp, key: &str, hardware_id: &str) -> String {
    let body = json!({ "license_key": key, "hardware_id": hardware_id });
    let answer = app.call(Method::POST, "/client/activate", None, Some(body)).await;
    id_of(&answer.assert_status(200)["device"])
}

/// Adds a license user with this e-mail and password to the seeded order's
/// user-based license; answers its id.
async fn add_user(app: &TestApp, c: &Customer, email: &str, password: &str) -> String {
    let body = json!({ "email": email, "password": password });
    let answer = app.post(&format!("/licenses/{}/users", c.user_license_id), &app.admin_token, body).await;
    id_of(&answer.assert_status(201)["user"])
}

/// A computer-based license whose key is `key` (keys are generated; the
/// seeded license is given this one).
async fn computer_license_with_key(app: &TestApp, key: &str) {
    let c = app.order(SEED_ORDER, SEED_MANAGER).await;
    set_license_key(app, &c.computer_license_id, key).await;
}

async fn set_license_key(app: &TestApp, license_id: &str, key: &str) {
    use license_server::db::schema::licenses;
    let stored = license_server::licensing::keys::normalize(key).unwrap_or_else(|| panic!("{key} is no license key"));
    let id = license_id.to_owned();
    let rows = app
        .state
        .db
        .write(move |conn| {
            Ok::<_, license_server::db::DbError>(
                diesel::update(licenses::table.find(id)).set(licenses::license_key.eq(stored)).execute(conn)?,
            )
        })
        .await;
    assert_eq!(rows.expect("set the license key"), 1);
}

/// The product that license terms name by `product_code` or `product_id`.
async fn product_of(app: &TestApp, terms: &Value) {
    if let Some(code) = terms["product_code"].as_str() {
        // Several licenses may name one product: the second creation is refused.
        let answer = app.post("/products", &app.admin_token, json!({ "code": code, "name": "Seeded product" })).await;
        assert!(answer.status == 201 || answer.body["code"] == "PRODUCT_CODE_TAKEN", "product {code}: {}", answer.text);
    } else {
        let id = terms["product_id"].as_str().expect("product_code or product_id").to_owned();
        let now = app.state.clock.now();
        let product = license_server::models::catalog::Product {
            code: format!("SEED-{}", &id[..8]),
            name: "Seeded product".into(),
            id,
            created_at: now,
            updated_at: now,
        };
        app.state
            .db
            .write(move |conn| {
                Ok::<_, license_server::db::DbError>(license_server::repositories::products::insert(conn, &product)?)
            })
            .await
            .expect("insert product");
    }
}

/// A customer with this id (ids are generated; the seed writes the row).
async fn customer_with_id(app: &TestApp, id: &str) {
    let now = app.state.clock.now();
    let customer = license_server::models::catalog::Customer {
        id: id.to_owned(),
        company: "Seeded customer".into(),
        contact_name: String::new(),
        email: String::new(),
        address: String::new(),
        country: String::new(),
        vat_id: String::new(),
        created_at: now,
        updated_at: now,
    };
    app.state
        .db
        .write(move |conn| {
            Ok::<_, license_server::db::DbError>(license_server::repositories::customers::insert(conn, &customer)?)
        })
        .await
        .expect("insert customer");
}

/// An order with this id, of a new customer, without licenses or managers.
async fn order_with_id(app: &TestApp, id: &str) {
    let customer_id = license_server::ids::new_id();
    customer_with_id(app, &customer_id).await;
    let now = app.state.clock.now();
    let order = license_server::models::orders::Order {
        id: id.to_owned(),
        number: SEED_ORDER.into(),
        customer_id,
        created_at: now,
        updated_at: now,
    };
    app.state
        .db
        .write(move |conn| {
            Ok::<_, license_server::db::DbError>(license_server::repositories::orders::insert(conn, &order)?)
        })
        .await
        .expect("insert order");
}

/// The JSON of an example's offline request file (base64 in `request`).
fn request_file(example: &Example) -> Value {
    let bytes = B64
        .decode(example.text("request"))
        .unwrap_or_else(|e| panic!("{}: request is not base64: {e}", example.what()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: request is not JSON: {e}", example.what()))
}
