//! The OWASP API Security Top 10 (2023), tried against this API one risk at a
//! time. Each section attacks as an outsider would — another customer's
//! manager, a shop key, someone holding only a license key, a stranger on the
//! same network — and asserts the refusal and that nothing changed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Customer, TestApp, enc, unknown_id};
use crate::spec_walk::{baseline, operations};

/// Customer A's order with a user (activated) and a device, as its snapshot
/// target; B is the attacker's own order.
struct World {
    app: TestApp,
    a: Customer,
    b: Customer,
    a_user: String,
    a_device: String,
    a_device_token: String,
}

async fn world() -> World {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 0).await;
    let a = app.order("SO-A", "a@a.example").await;
    let b = app.order("SO-B", "b@b.example").await;
    let added = app
        .post(
            &format!("/licenses/{}/users", a.user_license_id),
            &app.admin_token,
            json!({ "email": "u@a.example", "password": "a-user-password" }),
        )
        .await;
    let a_user = added.assert_status(201)["user"]["id"].as_str().unwrap().to_owned();
    let key = a.order["licenses"][1]["key"].as_str().unwrap();
    let device =
        app.call(Method::POST, "/client/activate", None, Some(json!({ "license_key": key, "hardware_id": "a-pc" })));
    let device = device.await;
    let a_device = device.assert_status(200)["device"]["id"].as_str().unwrap().to_owned();
    let a_device_token = device.body["activation_token"].as_str().unwrap().to_owned();
    World { app, a, b, a_user, a_device, a_device_token }
}

impl World {
    /// What an admin sees of A, plus the size of the audit trail.
    async fn snapshot(&self) -> Vec<Value> {
        let a = &self.a;
        let mut out = Vec::new();
        for path in [
            format!("/orders/{}", a.order_id),
            format!("/licenses/{}/users", a.user_license_id),
            format!("/licenses/{}/devices?status=all", a.computer_license_id),
            format!("/managers/{}", a.manager_id),
            "/events?per_page=1".to_owned(),
        ] {
            let mut value = self.app.get(&path, &self.app.admin_token).await.assert_status(200).clone();
            if let Some(items) = value.get_mut("items").filter(|_| path.starts_with("/events")) {
                *items = json!([]); // the total is what counts
            }
            out.push(value);
        }
        out
    }

    /// A concrete path naming A's objects.
    fn a_path(&self, template: &str) -> String {
        let a = &self.a;
        let license = if template.contains("/devices") { &a.computer_license_id } else { &a.user_license_id };
        let customer = a.order["customer"]["id"].as_str().unwrap();
        let product = a.order["licenses"][0]["product"]["id"].as_str().unwrap();
        template
            .replace("{license_id}", license)
            .replace("{user_id}", &self.a_user)
            .replace("{device_id}", &self.a_device)
            .replace("{order_id}", &a.order_id)
            .replace("{manager_id}", &a.manager_id)
            .replace("{customer_id}", customer)
            .replace("{product_id}", product)
            .replace("{api_key_id}", &unknown_id())
    }
}

/// The operations a manager may not call (the contract's role table): the
/// admin's, and `/customers`, which managers read only through their orders.
fn admin_only(method: &Method, path: &str) -> bool {
    let p = path.trim_start_matches("/api/v1");
    p.starts_with("/managers")
        || p.starts_with("/customers")
        || p.starts_with("/api-keys")
        || p.starts_with("/products")
        || (p == "/licenses/{license_id}" && *method == Method::PATCH)
        || p == "/orders/{order_id}/customer"
}

/// The operations a shop key may call.
fn shop_may(method: &Method, path: &str) -> bool {
    let p = path.trim_start_matches("/api/v1");
    let read = *method == Method::GET;
    match p {
        "/customers" | "/customers/{customer_id}" => *method != Method::DELETE,
        "/products" | "/products/{product_id}" => read,
        "/orders" | "/licenses" => read || *method == Method::POST,
        "/orders/{order_id}" | "/orders/{order_id}/managers" | "/licenses/{license_id}" => read,
        _ => false,
    }
}

fn body_for(spec: &Value, operation: &Value) -> Option<Value> {
    operation["requestBody"]["content"]["application/json"].get("schema").map(|schema| baseline(spec, schema))
}

async fn served_spec(app: &TestApp) -> Value {
    app.get("/api-docs/openapi.json", &app.admin_token).await.assert_status(200).clone()
}

fn is_portal(path: &str) -> bool {
    path.starts_with("/api/v1/") && !path.starts_with("/api/v1/client/") && !path.starts_with("/api/v1/auth/")
}

// ---------------------------------------------------------------- API1 BOLA

#[actix_web::test]
async fn api1_every_operation_naming_another_customers_object_is_refused_and_changes_nothing() {
    let w = world().await;
    let spec = served_spec(&w.app).await;
    let before = w.snapshot().await;
    let (mut tried, mut not_found) = (0, 0);
    for (method, path, operation) in operations(&spec).into_iter().chain(deletes(&spec)) {
        if !path.contains('{') || !is_portal(&path) {
            continue;
        }
        let url = w.a_path(&path);
        let body = body_for(&spec, &operation);
        let answer = w.app.call(method.clone(), &url, Some(&w.b.manager_token), body.clone()).await;
        // A's object must be indistinguishable from one that does not exist.
        let nothing = crate::spec_walk::concrete(&path);
        let control = w.app.call(method.clone(), &nothing, Some(&w.b.manager_token), body).await;
        let what = format!("{method} {url} by B's manager: {}", answer.text);
        assert_eq!((answer.status, &answer.body["code"]), (control.status, &control.body["code"]), "{what}");
        let expected = if admin_only(&method, &path) { 403 } else { 404 };
        if answer.status.as_u16() != 422 {
            assert_eq!(answer.status.as_u16(), expected, "{what}");
        }
        not_found += usize::from(answer.status == 404);
        tried += 1;
    }
    assert!(tried >= 20 && not_found >= 10, "only {tried} operations with ids, {not_found} of them 404");
    assert_eq!(w.snapshot().await, before, "B changed A's objects");
}

/// DELETE operations (not in [`operations`], which lists those with bodies).
fn deletes(spec: &Value) -> Vec<(Method, String, Value)> {
    let paths = spec["paths"].as_object().expect("paths");
    paths.iter().filter_map(|(p, item)| item.get("delete").map(|op| (Method::DELETE, p.clone(), op.clone()))).collect()
}

#[actix_web::test]
async fn api1_filters_naming_another_customers_ids_show_nothing() {
    let w = world().await;
    let a = &w.a;
    for query in [
        format!("/licenses?order_id={}", a.order_id),
        format!("/events?order_id={}", a.order_id),
        format!("/events?license_id={}", a.user_license_id),
        format!("/orders?q={}", enc("SO-A")),
        format!("/licenses?q={}", enc(a.order["licenses"][0]["key"].as_str().unwrap())),
    ] {
        let list = w.app.get(&query, &w.b.manager_token).await;
        assert_eq!(list.assert_status(200)["total"], 0, "{query}: {}", list.text);
    }
}

// ----------------------------------------------------- API2 broken authentication

fn forged(claims: Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    let header = jsonwebtoken::Header::new(alg);
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret).unwrap()).unwrap()
}

fn claims(sub: &str, now: i64) -> Value {
    json!({ "sub": sub, "iss": "license-server", "aud": "license-server-api", "iat": now, "exp": now + 600, "fam": unknown_id() })
}

#[actix_web::test]
async fn api2_forged_expired_and_foreign_tokens_are_refused() {
    use base64::Engine;
    let w = world().await;
    let app = &w.app;
    let admin_id = app.get("/me", &app.admin_token).await.body["id"].as_str().unwrap().to_owned();
    let now = app.state.clock.now_utc().timestamp();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims(&admin_id, now)));
    let mut wrong_audience = claims(&admin_id, now);
    wrong_audience["aud"] = json!("another-api");
    let mut expired = claims(&admin_id, now - 3600);
    expired["exp"] = json!(now - 1200);
    let real_header = app.admin_token.split('.').next().unwrap();
    let tampered_sub =
        format!("{real_header}.{}.{}", b64(&claims(&unknown_id(), now)), app.admin_token.rsplit('.').next().unwrap());

    let cases = [
        ("alg none", alg_none),
        (
            "another key",
            forged(claims(&admin_id, now), b"not-the-servers-secret-not-the-servers", jsonwebtoken::Algorithm::HS256),
        ),
        (
            "HS512",
            forged(claims(&admin_id, now), b"not-the-servers-secret-not-the-servers", jsonwebtoken::Algorithm::HS512),
        ),
        ("wrong audience", forged(wrong_audience, b"x", jsonwebtoken::Algorithm::HS256)),
        ("changed subject", tampered_sub),
        ("a license-signing-key-shaped string", "ed25519=AAAA".to_owned()),
        ("an activation token", w.a_device_token.clone()),
    ];
    for (what, token) in cases {
        let answer = app.get("/managers", &token).await;
        answer.assert_problem(401, "INVALID_TOKEN");
        assert!(answer.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{what}");
    }
    let key = app.state.jwt.issue(&admin_id, &unknown_id(), now - 3600, 900);
    app.get("/managers", &key).await.assert_problem(401, "TOKEN_EXPIRED");
}

#[actix_web::test]
async fn api2_a_disabled_account_and_a_revoked_key_stop_at_once() {
    let w = world().await;
    let app = &w.app;
    let shop = app.post("/api-keys", &app.admin_token, json!({ "name": "shop" })).await.assert_status(201).clone();
    let shop_key = shop["key"].as_str().unwrap();
    app.get("/orders", shop_key).await.assert_status(200);
    app.patch(&format!("/managers/{}", w.b.manager_id), &app.admin_token, json!({ "disabled": true }))
        .await
        .assert_status(200);
    app.delete(&format!("/api-keys/{}", shop["id"].as_str().unwrap()), &app.admin_token).await.assert_status(204);

    app.get("/orders", &w.b.manager_token).await.assert_problem(403, "ACCOUNT_DISABLED");
    app.get("/orders", shop_key).await.assert_problem(401, "INVALID_TOKEN");
    let login = json!({ "email": "b@b.example", "password": w.b.manager_password });
    app.call(Method::POST, "/auth/login", None, Some(login)).await.assert_problem(403, "ACCOUNT_DISABLED");
}

#[actix_web::test]
async fn api2_a_stolen_refresh_token_used_after_its_owner_revokes_the_family() {
    let w = world().await;
    let app = &w.app;
    let login = app.login("a@a.example", &w.a.manager_password).await;
    let stolen = login["refresh_token"].as_str().unwrap().to_owned();
    let owner = app.call(Method::POST, "/auth/refresh", None, Some(json!({ "refresh_token": stolen }))).await;
    let owners_new = owner.assert_status(200)["refresh_token"].as_str().unwrap().to_owned();

    let thief = app.call(Method::POST, "/auth/refresh", None, Some(json!({ "refresh_token": stolen }))).await;

    thief.assert_problem(401, "INVALID_REFRESH_TOKEN");
    let after = app.call(Method::POST, "/auth/refresh", None, Some(json!({ "refresh_token": owners_new }))).await;
    after.assert_problem(401, "INVALID_REFRESH_TOKEN");
}

// ------------------------------------------ API3 object property level authorization

#[actix_web::test]
async fn api3_patches_ignore_or_refuse_properties_the_caller_may_not_set() {
    let w = world().await;
    let app = &w.app;
    let a = &w.a;
    let me_before = app.get("/me", &a.manager_token).await.assert_status(200).clone();
    let user_path = format!("/licenses/{}/users/{}", a.user_license_id, w.a_user);
    let user_before = app.get(&user_path, &app.admin_token).await.assert_status(200).clone();
    let license_path = format!("/licenses/{}", a.computer_license_id);
    let license_before = app.get(&license_path, &app.admin_token).await.assert_status(200).clone();

    let attempts = [
        (
            "/me".to_owned(),
            a.manager_token.clone(),
            json!({ "name": "Max", "role": "admin", "email": "root@vendor.example", "id": unknown_id(),
                    "disabled": false, "bound_customer_id": null, "password_hash": "x", "created_at": "2020-01-01T00:00:00Z" }),
        ),
        (
            user_path.clone(),
            a.manager_token.clone(),
            json!({ "name": "Lena", "license_id": w.b.user_license_id, "password_hash": "x", "id": unknown_id(),
                    "activation": null, "created_at": "2020-01-01T00:00:00Z" }),
        ),
        (
            license_path.clone(),
            app.admin_token.clone(),
            json!({ "seats": 3, "key": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF", "kind": "user_based", "seats_used": 0,
                    "order_id": w.b.order_id, "id": unknown_id(), "customer": { "company": "Evil" } }),
        ),
    ];
    for (path, token, body) in attempts {
        let answer = app.patch(&path, &token, body).await;
        assert!(matches!(answer.status.as_u16(), 200 | 422), "{path}: {}", answer.text);
    }

    let me = app.get("/me", &a.manager_token).await.assert_status(200).clone();
    for field in ["id", "email", "role", "created_at"] {
        assert_eq!(me[field], me_before[field], "/me {field}");
    }
    let user = app.get(&user_path, &app.admin_token).await.assert_status(200).clone();
    for field in ["id", "email", "created_at"] {
        assert_eq!(user[field], user_before[field], "user {field}");
    }
    let still = app.get(&format!("/licenses/{}/users", a.user_license_id), &app.admin_token).await;
    assert_eq!(still.assert_status(200)["total"], 1, "the user stays on its license");
    let license = app.get(&license_path, &app.admin_token).await.assert_status(200).clone();
    for field in ["id", "key", "kind", "order", "customer"] {
        assert_eq!(license[field], license_before[field], "license {field}");
    }
    let login = json!({ "email": "u@a.example", "password": "a-user-password", "hardware_id": "pc-9" });
    app.call(Method::POST, "/client/activate", None, Some(login)).await.assert_status(200);
}

/// Every key and string of `value`, for the exposure checks.
fn walk<'a>(value: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push((k, v));
                walk(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn api3_no_answer_exposes_a_hash_a_secret_or_a_stored_token() {
    let w = world().await;
    let app = &w.app;
    app.post("/api-keys", &app.admin_token, json!({ "name": "shop" })).await.assert_status(201);
    let spec = served_spec(app).await;
    let paths = spec["paths"].as_object().unwrap();
    let mut read = 0;
    for (path, item) in paths {
        if item.get("get").is_none() || !is_portal(path) {
            continue;
        }
        for token in [&app.admin_token, &w.a.manager_token] {
            let answer = app.get(&w.a_path(path), token).await;
            let mut pairs = Vec::new();
            walk(&answer.body, &mut pairs);
            for (key, value) in pairs {
                assert!(
                    !["password_hash", "token_hash", "key_hash", "secret", "digest"].contains(&key),
                    "{path} exposes {key}"
                );
                if key == "password" {
                    // Events say how a password was set, never what it is.
                    assert!(matches!(value.as_str(), Some("generated" | "chosen")), "{path} exposes a password");
                }
                let text = value.as_str().unwrap_or_default();
                assert!(!text.starts_with("$argon2"), "{path} exposes a password hash in {key}");
                // (An API key's 12-character `prefix` names it; the key is longer.)
                let token = (text.starts_with("lsk_") || text.starts_with("lat_")) && text.len() > 16;
                assert!(!token, "{path} exposes a token in {key}");
            }
            read += 1;
        }
    }
    assert!(read >= 20, "only {read} reads");
}

// ------------------------------------------------ API4 unrestricted resource consumption

#[actix_web::test]
async fn api4_oversized_bodies_pages_and_nesting_are_refused_before_work() {
    let w = world().await;
    let app = &w.app;
    let big = vec![b'a'; (1 << 20) + 1];
    let too_big = app.raw(Method::POST, "/orders", Some(&app.admin_token), Some("application/json"), big).await;
    too_big.assert_problem(413, "BODY_TOO_LARGE");
    let big_client =
        app.raw(Method::POST, "/client/validate", None, Some("application/json"), vec![b' '; 2 << 20]).await;
    big_client.assert_problem(413, "BODY_TOO_LARGE");
    app.get("/licenses?per_page=201", &app.admin_token).await.assert_problem(422, "VALIDATION_FAILED");
    app.get("/licenses?per_page=200", &app.admin_token).await.assert_status(200);
    app.get("/events?page=100000000000", &app.admin_token).await.assert_problem(422, "VALIDATION_FAILED");
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep =
        app.raw(Method::POST, "/products", Some(&app.admin_token), Some("application/json"), nested.into_bytes()).await;
    assert!(matches!(deep.status.as_u16(), 400 | 422), "{}", deep.text);
    let long_name = json!({ "code": "LONG", "name": "x".repeat(100_000) });
    app.post("/products", &app.admin_token, long_name).await.assert_problem(422, "VALIDATION_FAILED");
    let many = json!({ "number": "SO-MANY", "customer": { "company": "C" },
                       "licenses": vec![json!({ "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1 }); 101],
                       "managers": [{ "email": "m@c.example" }] });
    app.post("/orders", &app.admin_token, many).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn api4_the_per_address_cap_answers_429() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 1).await; // burst 4
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(app.call(Method::GET, "/client/public-key", None, None).await.status.as_u16());
    }
    assert!(codes.contains(&429), "{codes:?}");
}

#[actix_web::test]
async fn api4_a_login_flood_does_not_stop_validation() {
    let w = world().await;
    let app = &w.app;
    let flood: Vec<_> = (0..40)
        .map(|i| {
            let body = json!({ "email": format!("nobody{i}@x.example"), "password": "wrong-password-here" });
            app.call(Method::POST, "/auth/login", None, Some(body))
        })
        .collect();
    let validate = app.call(
        Method::POST,
        "/client/validate",
        None,
        Some(json!({ "activation_token": w.a_device_token, "hardware_id": "a-pc" })),
    );

    let (flood, validate) = tokio::join!(futures_util::future::join_all(flood), validate);

    assert_eq!(validate.assert_status(200)["code"], "VALID");
    for answer in flood {
        assert!(matches!(answer.status.as_u16(), 401 | 429), "{}", answer.text);
    }
}

// ------------------------------------------------ API5 broken function level authorization

#[actix_web::test]
async fn api5_every_admin_operation_refuses_managers_and_every_other_one_refuses_the_shop() {
    let w = world().await;
    let app = &w.app;
    let shop = app.shop_key().await;
    let spec = served_spec(app).await;
    let before = w.snapshot().await;
    let mut admin_ops = 0;
    for (method, path, operation) in operations(&spec).into_iter().chain(deletes(&spec)) {
        if !is_portal(&path) || path.starts_with("/api/v1/me") {
            continue;
        }
        let url = w.a_path(&path);
        let body = body_for(&spec, &operation);
        if admin_only(&method, &path) {
            let by_manager = app.call(method.clone(), &url, Some(&w.a.manager_token), body.clone()).await;
            by_manager.assert_problem(403, "FORBIDDEN");
            admin_ops += 1;
        }
        if !shop_may(&method, &path) {
            let by_shop = app.call(method.clone(), &url, Some(&shop), body).await;
            by_shop.assert_problem(403, "FORBIDDEN");
        }
    }
    assert!(admin_ops >= 10, "only {admin_ops} admin operations");
    assert_eq!(w.snapshot().await, before, "a refused call changed something");
}

// ------------------------------------------- API6 unrestricted access to sensitive business flows

/// The account takeover (tests/api/linking.rs has every variant): a manager
/// plants the victim's e-mail on its own order, learns the password, removes
/// it, and waits for the victim's order from the shop.
#[actix_web::test]
async fn api6_a_planted_account_can_not_take_over_another_customers_order() {
    let w = world().await;
    let app = &w.app;
    let shop = app.shop_key().await;
    let managers_of_b = format!("/orders/{}/managers", w.b.order_id);
    let planted = app.post(&managers_of_b, &w.b.manager_token, json!({ "email": "it@victim.example" })).await;
    let planted = planted.assert_status(201).clone();
    let password = planted["initial_password"].as_str().unwrap().to_owned();
    let path = format!("/orders/{}/managers/{}", w.b.order_id, planted["manager"]["id"].as_str().unwrap());
    app.delete(&path, &w.b.manager_token).await.assert_status(204);
    let victims_order = json!({
        "number": "SO-VICTIM", "customer": { "company": "Victim GmbH" },
        "licenses": [{ "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "it@victim.example" }],
    });
    let before = w.snapshot().await;

    let answer = app.post("/orders", &shop, victims_order).await;

    answer.assert_problem(409, "EMAIL_BOUND_TO_OTHER_CUSTOMER");
    assert_eq!(w.snapshot().await, before, "nothing was created");
    let login = app.login("it@victim.example", &password).await;
    let seen = app.get("/orders", login["access_token"].as_str().unwrap()).await;
    assert_eq!(seen.assert_status(200)["total"], 0);
}

#[actix_web::test]
async fn api6_adding_managers_is_no_oracle_of_other_accounts() {
    let w = world().await;
    let app = &w.app;
    let managers_of_b = format!("/orders/{}/managers", w.b.order_id);

    let admin = app.post(&managers_of_b, &w.b.manager_token, json!({ "email": ADMIN_EMAIL })).await;
    let other_customers = app.post(&managers_of_b, &w.b.manager_token, json!({ "email": "a@a.example" })).await;

    admin.assert_problem(409, "EMAIL_UNAVAILABLE");
    other_customers.assert_problem(409, "EMAIL_UNAVAILABLE");
    assert_eq!(admin.body["detail"], other_customers.body["detail"]);
    assert!(!other_customers.text.contains("Max Manager"), "no stored name: {}", other_customers.text);
}

#[actix_web::test]
async fn api6_an_unsigned_request_file_cannot_free_an_online_seat() {
    use base64::Engine;
    let w = world().await;
    let app = &w.app;
    let key = w.a.order["licenses"][1]["key"].as_str().unwrap();
    let file =
        json!({ "license_key": key, "hardware_id": "a-pc", "deactivate": true, "created_at": "2026-01-01T00:00:00Z" });
    let request = base64::engine::general_purpose::STANDARD.encode(file.to_string());
    let before = w.snapshot().await;

    let theft = app.call(Method::POST, "/client/offline/deactivate", None, Some(json!({ "request": request }))).await;
    let thief =
        app.call(Method::POST, "/client/activate", None, Some(json!({ "license_key": key, "hardware_id": "thief-1" })));
    let thief2 =
        app.call(Method::POST, "/client/activate", None, Some(json!({ "license_key": key, "hardware_id": "thief-2" })));

    theft.assert_problem(409, "NOT_OFFLINE_DEVICE");
    thief.await.assert_status(200); // the license's second seat was free
    thief2.await.assert_problem(409, "SEATS_EXHAUSTED");
    let validated = app
        .call(
            Method::POST,
            "/client/validate",
            None,
            Some(json!({ "activation_token": w.a_device_token, "hardware_id": "a-pc" })),
        )
        .await;
    assert_eq!(validated.body["code"], "VALID");
    assert_eq!(
        w.snapshot().await[2]["items"].as_array().unwrap().iter().filter(|d| d["status"] == "active").count(),
        2
    );
    assert_ne!(before, w.snapshot().await, "(the thief's own seat is the only change)");
}

#[actix_web::test]
async fn api6_a_colleagues_computer_cannot_be_deactivated_without_its_token() {
    let w = world().await;
    let app = &w.app;
    let key = w.a.order["licenses"][1]["key"].as_str().unwrap();
    let before = w.snapshot().await;

    // Knowing the key and the colleague's hardware id is not enough.
    let by_key = app
        .call(Method::POST, "/client/deactivate", None, Some(json!({ "license_key": key, "hardware_id": "a-pc" })))
        .await;
    let by_guess = app
        .call(
            Method::POST,
            "/client/deactivate",
            None,
            Some(json!({ "activation_token": "lat_dguess", "hardware_id": "a-pc" })),
        )
        .await;
    let wrong_machine = app
        .call(
            Method::POST,
            "/client/deactivate",
            None,
            Some(json!({ "activation_token": w.a_device_token, "hardware_id": "b-pc" })),
        )
        .await;

    assert_eq!(by_key.status.as_u16(), 422, "{}", by_key.text);
    by_guess.assert_problem(401, "INVALID_CREDENTIALS");
    wrong_machine.assert_problem(409, "NOT_ACTIVATED");
    assert_eq!(w.snapshot().await, before);
}

#[actix_web::test]
async fn api6_guessing_license_keys_meets_the_back_off() {
    let app = TestApp::spawn().await;
    let mut last = None;
    for i in 0..6 {
        let body = json!({ "license_key": format!("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFF{i}"), "hardware_id": "pc" });
        last = Some(app.call(Method::POST, "/client/activate", None, Some(body)).await);
    }
    // Five per (address, key) pair and twenty per address are free.
    assert_eq!(last.unwrap().status.as_u16(), 401);
    for i in 0..20 {
        let body = json!({ "license_key": format!("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFG{i}"), "hardware_id": "pc" });
        app.call(Method::POST, "/client/activate", None, Some(body)).await;
    }
    let body = json!({ "license_key": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFHH", "hardware_id": "pc" });
    app.call(Method::POST, "/client/activate", None, Some(body)).await.assert_problem(429, "RATE_LIMITED");
}

#[actix_web::test]
async fn api6_holding_only_a_user_based_key_opens_nothing() {
    let w = world().await;
    let app = &w.app;
    let key = w.a.order["licenses"][0]["key"].as_str().unwrap();

    let activate = app
        .call(Method::POST, "/client/activate", None, Some(json!({ "license_key": key, "hardware_id": "pc" })))
        .await;
    let validate = app
        .call(Method::POST, "/client/validate", None, Some(json!({ "license_key": key, "hardware_id": "pc" })))
        .await;
    let portal = app.get("/licenses", key).await;

    assert_eq!(activate.status.as_u16(), 422, "{}", activate.text);
    assert_eq!(validate.assert_status(200)["code"], "NOT_ACTIVATED");
    portal.assert_problem(401, "INVALID_TOKEN");
}

// ------------------------------------------------ API7 server side request forgery

#[actix_web::test]
async fn api7_no_operation_takes_an_address_the_server_would_fetch() {
    let app = TestApp::spawn().await;
    let spec = served_spec(&app).await;
    let mut pairs = Vec::new();
    walk(&spec["components"]["schemas"], &mut pairs);
    let fetchable: Vec<&str> = pairs
        .iter()
        .filter(|(key, value)| {
            let name = key.to_ascii_lowercase();
            value.is_object() && ["url", "uri", "callback", "webhook", "redirect"].iter().any(|w| name.contains(w))
        })
        .map(|(key, _)| *key)
        .collect();
    // Webhook endpoints will take URLs; their SSRF checks get tests here then.
    assert!(fetchable.is_empty(), "request fields naming an address: {fetchable:?}");
}

// ------------------------------------------------ API8 security misconfiguration

#[actix_web::test]
async fn api8_api_answers_carry_security_headers_and_errors_leak_nothing() {
    let app = TestApp::spawn_with(|c| c.cors_origins = vec!["https://portal.example".to_owned()]).await;
    let answers = [
        app.get("/me", &app.admin_token).await,
        app.get("/licenses/not-an-id", &app.admin_token).await,
        app.call(Method::PUT, "/licenses", Some(&app.admin_token), None).await,
        app.raw(Method::POST, "/products", Some(&app.admin_token), Some("application/json"), b"{".to_vec()).await,
        app.raw(Method::POST, "/products", Some(&app.admin_token), Some("text/plain"), b"x".to_vec()).await,
    ];
    for answer in &answers {
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{}", answer.text);
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert!(answer.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
        assert!(answer.header("server").is_none(), "no server banner");
        let text = answer.text.to_lowercase();
        for leak in ["diesel", "sqlite", "postgres", "panicked", "src/", "backtrace"] {
            assert!(!text.contains(leak), "{leak} in {}", answer.text);
        }
    }
    let foreign = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/licenses"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    let foreign_get =
        app.client.get(app.url("/api/v1/me")).bearer_auth(&app.admin_token).header("origin", "https://evil.example");
    let foreign_get = foreign_get.send().await.unwrap();
    assert!(foreign_get.headers().get("access-control-allow-origin").is_none());
    assert!(foreign_get.headers().get("access-control-allow-credentials").is_none());
}

// ------------------------------------------------ API9 improper inventory management

#[actix_web::test]
async fn api9_the_router_answers_exactly_the_documented_operations() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 0).await;
    let spec = served_spec(&app).await;
    let verbs = ["get", "post", "put", "patch", "delete"];
    for (path, item) in spec["paths"].as_object().unwrap() {
        let url = crate::spec_walk::concrete(path);
        let documented: Vec<&str> = verbs.iter().copied().filter(|v| item.get(*v).is_some()).collect();
        for verb in verbs {
            let method = Method::from_bytes(verb.to_uppercase().as_bytes()).unwrap();
            let answer = app.call(method, &url, Some(&app.admin_token), None).await;
            if documented.contains(&verb) {
                assert_ne!(answer.status.as_u16(), 405, "{verb} {path} is documented: {}", answer.text);
            } else {
                answer.assert_problem(405, "METHOD_NOT_ALLOWED");
                let mut allowed: Vec<String> = documented.iter().map(|v| v.to_uppercase()).collect();
                allowed.sort();
                assert_eq!(answer.header("allow"), Some(allowed.join(", ").as_str()), "{verb} {path}");
            }
        }
    }
    for undocumented in [
        "/api/v0/licenses",
        "/api/v2/licenses",
        "/api/v1/admin",
        "/api/v1/debug",
        "/api/v1/internal/keys",
        "/api/v1/server-keys",
        "/api/v1/licenses/export",
        "/.env",
        "/api/v1/client/private-key",
    ] {
        app.call(Method::GET, undocumented, Some(&app.admin_token), None).await.assert_problem(404, "NOT_FOUND");
    }
}

// ------------------------------------------------ API10 unsafe consumption of APIs

#[actix_web::test]
async fn api10_garbage_from_the_software_is_refused_signed_and_changes_nothing() {
    use base64::Engine;
    let w = world().await;
    let app = &w.app;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let before = w.snapshot().await;
    let requests = [
        "not base64 at all".to_owned(),
        b64(b"not json"),
        b64(b"[1,2,3]"),
        b64(br#"{"license_key":7,"hardware_id":[],"created_at":"x"}"#),
        b64(format!(r#"{{"license_key":"K","hardware_id":"{}","created_at":"2026-01-01T00:00:00Z"}}"#, "h".repeat(10_000)).as_bytes()),
        b64(b"\xef\xbb\xbf{\"license_key\":\"' OR 1=1 --\",\"hardware_id\":\"hw\",\"created_at\":\"2026-01-01T00:00:00Z\"}"),
        "=".repeat(1000),
    ];
    for request in &requests {
        for path in ["/client/offline/activate", "/client/offline/deactivate"] {
            let answer = app.call(Method::POST, path, None, Some(json!({ "request": request }))).await;
            assert!(matches!(answer.status.as_u16(), 401 | 422), "{path} {request:.40}: {}", answer.text);
            assert!(answer.header("license-signature").is_some_and(|s| s.starts_with("ed25519=")), "{path}: unsigned");
        }
    }
    let tokens = [
        "".to_owned(),
        "lat_".to_owned(),
        "lat_d".to_owned() + &"A".repeat(5000),
        "lat_u' OR '1'='1".to_owned(),
        "bearer lat_dxyz".to_owned(),
        "lat_dπ✓".to_owned(),
        w.a_device_token.to_uppercase(),
    ];
    for token in &tokens {
        for path in ["/client/validate", "/client/heartbeat", "/client/deactivate"] {
            let answer = app
                .call(Method::POST, path, None, Some(json!({ "activation_token": token, "hardware_id": "a-pc" })))
                .await;
            let status = answer.status.as_u16();
            assert!(matches!(status, 200 | 401 | 422), "{path} {token:.40}: {}", answer.text);
            if status == 200 {
                assert_eq!(answer.body["code"], "NOT_FOUND", "{path} {token:.40}");
            }
            assert!(answer.header("license-signature").is_some(), "{path}: unsigned");
        }
    }
    assert_eq!(w.snapshot().await, before, "garbage changed something");
}

#[actix_web::test]
async fn api10_the_admins_password_is_not_accepted_as_anything_else() {
    let app = TestApp::spawn().await;
    let as_key = json!({ "license_key": ADMIN_PASSWORD, "hardware_id": "pc" });
    let as_user = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "hardware_id": "pc" });

    let by_key = app.call(Method::POST, "/client/activate", None, Some(as_key)).await;
    let by_user: Answer = app.call(Method::POST, "/client/activate", None, Some(as_user)).await;

    by_key.assert_problem(401, "INVALID_CREDENTIALS");
    by_user.assert_problem(401, "INVALID_CREDENTIALS");
}
