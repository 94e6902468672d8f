//! Tests of /licenses: listed and read by admins, managers (their orders')
//! and the shop; issued by admins and the shop; changed by admins only.

use diesel::prelude::*;
use license_server::db::schema::license_users;
use license_server::models::seats::LicenseUser;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    CROCKFORD, TestApp, assert_field_error, assert_no_such, assert_rfc3339_utc, create_product, enc, id_of, ids,
    unknown_id, utc_time,
};

/// The license ids listed at `path` for `token` (asserts 200).
async fn listed(app: &TestApp, path: &str, token: &str) -> Vec<String> {
    ids(app.get(path, token).await.assert_status(200))
}

/// Creates an order (admin) for `company` with these licenses and one new manager.
async fn order(app: &TestApp, number: &str, company: &str, licenses: Value) -> Value {
    let body = json!({
        "number": number,
        "customer": { "company": company },
        "licenses": licenses,
        "managers": [{ "email": format!("manager-{}@example.com", number.to_lowercase()) }],
    });
    app.post("/orders", &app.admin_token, body).await.assert_status(201).clone()
}

/// Issues a license into `order_id` as the admin (asserts 201).
async fn issue(app: &TestApp, order_id: &str, terms: Value) -> Value {
    let mut body = terms;
    body["order_id"] = json!(order_id);
    app.post("/licenses", &app.admin_token, body).await.assert_status(201).clone()
}

fn license_path(id: &str) -> String {
    format!("/licenses/{id}")
}

/// Adds `n` users to a license directly in the database (the API for users
/// comes later), so that `seats_used` is `n`.
async fn add_users(app: &TestApp, license_id: &str, n: usize) {
    let now = app.state.clock.now();
    let users: Vec<LicenseUser> = (0..n)
        .map(|i| LicenseUser {
            id: uuid::Uuid::now_v7().to_string(),
            license_id: license_id.to_owned(),
            email: format!("user{i}@example.com"),
            name: format!("User {i}"),
            password_hash: "not-a-real-hash".to_owned(),
            created_at: now,
            updated_at: now,
        })
        .collect();
    app.state
        .db
        .run(move |conn| {
            // Stored as the use case stores them, with the seats they take.
            for user in &users {
                diesel::insert_into(license_users::table).values(user).execute(conn)?;
                license_server::repositories::licenses::add_seats_held(conn, &user.license_id, 1)?;
            }
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .expect("insert license users");
}

// ---- the license object ----

#[actix_web::test]
async fn a_license_has_the_contract_shape() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer = app.get(&license_path(&c.user_license_id), &app.admin_token).await;

    let license = answer.assert_status(200);
    let mut keys: Vec<&str> = license.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "customer",
            "expires_at",
            "id",
            "key",
            "kind",
            "lease_seconds",
            "offline_allowed",
            "order",
            "product",
            "seats",
            "seats_used",
            "starts_at",
            "status",
            "updated_at",
        ]
    );
    assert_eq!(license["id"], c.user_license_id.as_str());
    let key = license["key"].as_str().unwrap();
    let groups: Vec<&str> = key.split('-').collect();
    assert_eq!(groups.len(), 6, "{key}");
    assert!(groups.iter().all(|g| g.len() == 5 && g.chars().all(|ch| CROCKFORD.contains(ch))), "{key}");
    assert_eq!(license["kind"], "user_based");
    assert_eq!(license["status"], "active");
    assert_eq!(license["seats"], 5);
    assert_eq!(license["seats_used"], 0);
    assert_eq!(license["offline_allowed"], true);
    assert_eq!(license["lease_seconds"], 900);
    assert_eq!(license["expires_at"], Value::Null);
    for field in ["starts_at", "created_at", "updated_at"] {
        assert_rfc3339_utc(&license[field]);
    }
    assert_eq!(license["product"]["code"], "CODE-SO-1");
    assert_eq!(license["product"]["name"], "CODE-SO-1 product");
    assert!(license["product"]["id"].is_string());
    assert_eq!(license["order"], json!({ "id": c.order_id, "number": "SO-1" }));
    assert_eq!(license["customer"], json!({ "id": c.order["customer"]["id"], "company": "Company of SO-1" }));
    assert_eq!(license, &c.order["licenses"][0], "the same object in the order");
}

#[actix_web::test]
async fn an_unknown_or_malformed_license_id_is_404() {
    let app = TestApp::spawn().await;
    app.order("SO-1", "max@acme.example").await;

    app.get(&license_path(&unknown_id()), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
    app.get(&license_path("not-an-id"), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
    app.patch(&license_path(&unknown_id()), &app.admin_token, json!({ "seats": 3 }))
        .await
        .assert_problem(404, "NOT_FOUND");
    app.patch(&license_path("not-an-id"), &app.admin_token, json!({ "seats": 3 }))
        .await
        .assert_problem(404, "NOT_FOUND");
    assert_eq!(app.count_events("license.updated").await, 0);
}

// ---- issuing ----

#[actix_web::test]
async fn issuing_a_license_into_an_order_answers_201() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let viewer = create_product(&app, "VIEW", "Viewer").await;

    let answer = app
        .post(
            "/licenses",
            &app.admin_token,
            json!({
                "order_id": c.order_id, "product_code": "VIEW", "kind": "computer_based", "seats": 3,
                "expires_at": "2031-01-01T00:00:00Z", "offline_allowed": false, "lease_seconds": 120,
            }),
        )
        .await;

    let license = answer.assert_status(201).clone();
    assert_eq!(license["kind"], "computer_based");
    assert_eq!(license["seats"], 3);
    assert_eq!(license["seats_used"], 0);
    assert_eq!(license["status"], "active");
    assert_eq!(license["offline_allowed"], false);
    assert_eq!(license["lease_seconds"], 120);
    assert_eq!(utc_time(&license["expires_at"]), utc_time(&json!("2031-01-01T00:00:00Z")));
    assert_eq!(license["product"], json!({ "id": viewer["id"], "code": "VIEW", "name": "Viewer" }));
    assert_eq!(license["order"], json!({ "id": c.order_id, "number": "SO-1" }));
    assert_eq!(license["customer"]["company"], "Company of SO-1");
    assert_eq!(app.get(&license_path(&id_of(&license)), &c.manager_token).await.assert_status(200), &license);
    let order = app.get(&format!("/orders/{}", c.order_id), &app.admin_token).await;
    let order = order.assert_status(200);
    assert_eq!(order["licenses"].as_array().unwrap().len(), 3);
    assert_eq!(order["licenses"][2]["id"], license["id"]);
    assert_eq!(app.count_events("license.created").await, 3);
}

#[actix_web::test]
async fn a_new_license_takes_the_defaults() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let license =
        issue(&app, &c.order_id, json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 })).await;

    assert_eq!(license["offline_allowed"], true);
    assert_eq!(license["lease_seconds"], 900);
    assert_eq!(license["expires_at"], Value::Null);
    assert_ne!(license["key"], c.order["licenses"][0]["key"]);
}

#[actix_web::test]
async fn the_shop_issues_licenses_by_product_id() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let viewer = create_product(&app, "VIEW", "Viewer").await;

    let answer = app
        .post(
            "/licenses",
            &shop,
            json!({ "order_id": c.order_id, "product_id": viewer["id"], "kind": "user_based", "seats": 4 }),
        )
        .await;

    let license = answer.assert_status(201);
    assert_eq!(license["product"]["id"], viewer["id"]);
    assert_eq!(license["seats"], 4);
    assert_eq!(app.count_events("license.created").await, 3);
}

#[actix_web::test]
async fn issuing_into_an_unknown_order_is_404_naming_the_field() {
    let app = TestApp::spawn().await;
    app.order("SO-1", "max@acme.example").await;

    for order_id in [unknown_id(), "not-an-id".to_owned()] {
        let answer = app
            .post(
                "/licenses",
                &app.admin_token,
                json!({ "order_id": order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }),
            )
            .await;
        assert_no_such(&answer, "order_id");
    }
    let missing = app
        .post("/licenses", &app.admin_token, json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }))
        .await;
    assert_field_error(&missing, "order_id");
    assert_eq!(app.count_events("license.created").await, 2);
    assert_eq!(app.get("/licenses", &app.admin_token).await.assert_status(200)["total"], 2);
}

#[actix_web::test]
async fn a_license_names_exactly_one_known_product() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let product_id = c.order["licenses"][0]["product"]["id"].clone();
    let terms = |extra: Value| {
        let mut body = json!({ "order_id": c.order_id, "kind": "user_based", "seats": 1 });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    let both = app
        .post("/licenses", &app.admin_token, terms(json!({ "product_id": product_id, "product_code": "CODE-SO-1" })))
        .await;
    let neither = app.post("/licenses", &app.admin_token, terms(json!({}))).await;
    let unknown_code = app.post("/licenses", &app.admin_token, terms(json!({ "product_code": "NOPE" }))).await;
    let unknown_product = app.post("/licenses", &app.admin_token, terms(json!({ "product_id": unknown_id() }))).await;

    assert_field_error(&both, "product_id");
    assert_field_error(&neither, "product_id");
    assert_no_such(&unknown_code, "product_code");
    assert_no_such(&unknown_product, "product_id");
    assert_eq!(app.count_events("license.created").await, 2);
}

#[actix_web::test]
async fn invalid_license_terms_are_422_with_the_field_named() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let terms = |extra: Value| {
        let mut body = json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (terms(json!({ "seats": 0 })), "seats"),
        (terms(json!({ "seats": 1_000_001 })), "seats"),
        (terms(json!({ "lease_seconds": 59 })), "lease_seconds"),
        (terms(json!({ "lease_seconds": 604_801 })), "lease_seconds"),
        (terms(json!({ "kind": "floating" })), "kind"),
    ];

    let mut misnamed = Vec::new();
    for (body, field) in cases {
        let answer = app.post("/licenses", &app.admin_token, body).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        if !answer.body["errors"][field].is_array() {
            misnamed.push(format!("{field}: {}", answer.body["errors"]));
        }
    }
    assert!(misnamed.is_empty(), "errors must name the request's own fields: {misnamed:#?}");
    let malformed =
        app.raw(Method::POST, "/licenses", Some(&app.admin_token), Some("application/json"), b"{".to_vec()).await;
    malformed.assert_problem(400, "MALFORMED_BODY");
    assert_eq!(app.count_events("license.created").await, 2);
}

// ---- roles and scope ----

#[actix_web::test]
async fn managers_may_not_issue_or_change_licenses() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let issue = app
        .post(
            "/licenses",
            &c.manager_token,
            json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }),
        )
        .await;
    let change = app.patch(&license_path(&c.user_license_id), &c.manager_token, json!({ "seats": 50 })).await;

    issue.assert_problem(403, "FORBIDDEN");
    change.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get(&license_path(&c.user_license_id), &app.admin_token).await.assert_status(200)["seats"], 5);
    assert_eq!(app.count_events("license.created").await, 2);
    assert_eq!(app.count_events("license.updated").await, 0);
}

#[actix_web::test]
async fn the_shop_reads_licenses_but_may_not_change_them() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let list = app.get("/licenses", &shop).await;
    let one = app.get(&license_path(&c.computer_license_id), &shop).await;
    let change = app.patch(&license_path(&c.computer_license_id), &shop, json!({ "status": "suspended" })).await;

    assert_eq!(list.assert_status(200)["total"], 2);
    assert_eq!(one.assert_status(200)["id"], c.computer_license_id.as_str());
    change.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get(&license_path(&c.computer_license_id), &shop).await.body["status"], "active");
    assert_eq!(app.count_events("license.updated").await, 0);
}

#[actix_web::test]
async fn licenses_need_a_token() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let list = app.call(Method::GET, "/licenses", None, None).await;
    let one = app.call(Method::GET, &license_path(&c.user_license_id), None, None).await;
    let body = json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 });
    let create = app.call(Method::POST, "/licenses", None, Some(body)).await;
    let change = app.call(Method::PATCH, &license_path(&c.user_license_id), None, Some(json!({ "seats": 9 }))).await;

    for answer in [list, one, create, change] {
        answer.assert_problem(401, "INVALID_TOKEN");
    }
    assert_eq!(app.count_events("license.created").await, 2);
}

#[actix_web::test]
async fn a_manager_gets_404_for_another_customers_licenses() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;

    let user = app.get(&license_path(&b.user_license_id), &a.manager_token).await;
    let computer = app.get(&license_path(&b.computer_license_id), &a.manager_token).await;

    user.assert_problem(404, "NOT_FOUND");
    computer.assert_problem(404, "NOT_FOUND");
    assert!(!user.text.contains("SO-B"));
    app.get(&license_path(&a.user_license_id), &a.manager_token).await.assert_status(200);
}

#[actix_web::test]
async fn a_manager_lists_only_its_own_licenses() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    let b_key = b.order["licenses"][0]["key"].as_str().unwrap().to_owned();
    let b_product = b.order["licenses"][0]["product"]["id"].as_str().unwrap().to_owned();

    let all = app.get("/licenses", &a.manager_token).await;
    let by_order = app.get(&format!("/licenses?order_id={}", b.order_id), &a.manager_token).await;
    let by_product = app.get(&format!("/licenses?product_id={b_product}"), &a.manager_token).await;
    let by_key = app.get(&format!("/licenses?q={}", enc(&b_key)), &a.manager_token).await;
    let by_company = app.get(&format!("/licenses?q={}", enc("Company of SO-B")), &a.manager_token).await;

    let all = all.assert_status(200);
    assert_eq!(all["total"], 2);
    let mut mine = ids(all);
    mine.sort();
    let mut expected = vec![a.user_license_id.clone(), a.computer_license_id.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    assert!(!all.to_string().contains("SO-B"));
    for answer in [by_order, by_product, by_key, by_company] {
        assert_eq!(answer.assert_status(200)["total"], 0, "{}", answer.text);
        assert_eq!(answer.body["items"], json!([]));
    }
    assert_eq!(app.get("/licenses", &app.admin_token).await.body["total"], 4, "the admin sees all");
}

#[actix_web::test]
async fn a_managers_attempts_leave_another_customers_licenses_unchanged() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    let before = app.get(&license_path(&b.user_license_id), &app.admin_token).await.assert_status(200).clone();

    let change = app.patch(&license_path(&b.user_license_id), &a.manager_token, json!({ "status": "suspended" })).await;
    let issue = app
        .post(
            "/licenses",
            &a.manager_token,
            json!({ "order_id": b.order_id, "product_code": "CODE-SO-B", "kind": "user_based", "seats": 9 }),
        )
        .await;

    // Operations a manager may not use at all are 403 whatever the target.
    change.assert_problem(403, "FORBIDDEN");
    issue.assert_problem(403, "FORBIDDEN");
    let after = app.get(&license_path(&b.user_license_id), &app.admin_token).await;
    assert_eq!(after.assert_status(200), &before);
    let order = app.get(&format!("/orders/{}", b.order_id), &app.admin_token).await;
    assert_eq!(order.assert_status(200)["licenses"].as_array().unwrap().len(), 2);
}

// ---- filters ----

#[actix_web::test]
async fn licenses_are_filtered_by_kind() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let user = listed(&app, "/licenses?kind=user_based", &app.admin_token).await;
    let computer = listed(&app, "/licenses?kind=computer_based", &app.admin_token).await;
    let bad = app.get("/licenses?kind=floating", &app.admin_token).await;

    assert_eq!(user, [c.user_license_id]);
    assert_eq!(computer, [c.computer_license_id]);
    bad.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn licenses_are_filtered_by_status() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let active =
        issue(&app, &c.order_id, json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 })).await;
    let past = (app.state.clock.now_utc() - chrono::TimeDelta::days(1)).to_rfc3339();
    app.patch(&license_path(&c.computer_license_id), &app.admin_token, json!({ "status": "suspended" }))
        .await
        .assert_status(200);
    let expired = app.patch(&license_path(&c.user_license_id), &app.admin_token, json!({ "expires_at": past })).await;
    assert_eq!(expired.assert_status(200)["status"], "expired");

    let suspended = listed(&app, "/licenses?status=suspended", &app.admin_token).await;
    let expired = listed(&app, "/licenses?status=expired", &app.admin_token).await;
    let active_ones = listed(&app, "/licenses?status=active", &app.admin_token).await;
    let bad = app.get("/licenses?status=deleted", &app.admin_token).await;

    assert_eq!(suspended, [c.computer_license_id.as_str()]);
    assert_eq!(expired, [c.user_license_id.as_str()]);
    assert_eq!(active_ones, [id_of(&active)]);
    bad.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn a_suspended_license_that_also_expired_is_suspended() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let past = (app.state.clock.now_utc() - chrono::TimeDelta::days(1)).to_rfc3339();

    let answer = app
        .patch(
            &license_path(&c.user_license_id),
            &app.admin_token,
            json!({ "status": "suspended", "expires_at": past }),
        )
        .await;

    assert_eq!(answer.assert_status(200)["status"], "suspended");
    assert_eq!(listed(&app, "/licenses?status=suspended", &app.admin_token).await, [c.user_license_id.as_str()]);
    assert_eq!(listed(&app, "/licenses?status=expired", &app.admin_token).await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_license_expires_when_its_time_passes() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let soon = (app.state.clock.now_utc() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let license = issue(
        &app,
        &c.order_id,
        json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1, "expires_at": soon }),
    )
    .await;
    assert_eq!(license["status"], "active");

    app.state.clock.advance(3600 + 1);

    let now = app.get(&license_path(&id_of(&license)), &shop).await;
    assert_eq!(now.assert_status(200)["status"], "expired");
    assert_eq!(listed(&app, "/licenses?status=expired", &shop).await, [id_of(&license)]);
    assert_eq!(app.get("/licenses?status=active", &shop).await.assert_status(200)["total"], 2);
}

#[actix_web::test]
async fn licenses_are_filtered_by_order_and_product() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    let b_product = b.order["licenses"][0]["product"]["id"].as_str().unwrap().to_owned();

    let mut of_a = listed(&app, &format!("/licenses?order_id={}", a.order_id), &app.admin_token).await;
    let mut of_product_b = listed(&app, &format!("/licenses?product_id={b_product}"), &app.admin_token).await;
    let both = listed(&app, &format!("/licenses?order_id={}&kind=computer_based", a.order_id), &app.admin_token).await;
    let unknown = app.get(&format!("/licenses?order_id={}", unknown_id()), &app.admin_token).await;

    of_a.sort();
    let mut expected_a = vec![a.user_license_id.clone(), a.computer_license_id.clone()];
    expected_a.sort();
    assert_eq!(of_a, expected_a);
    of_product_b.sort();
    let mut expected_b = vec![b.user_license_id.clone(), b.computer_license_id.clone()];
    expected_b.sort();
    assert_eq!(of_product_b, expected_b);
    assert_eq!(both, [a.computer_license_id.as_str()]);
    assert_eq!(unknown.assert_status(200)["total"], 0);
}

#[actix_web::test]
async fn invalid_ids_in_filters_are_422() {
    let app = TestApp::spawn().await;
    app.order("SO-1", "max@acme.example").await;

    let order = app.get("/licenses?order_id=not-an-id", &app.admin_token).await;
    let product = app.get("/licenses?product_id=42", &app.admin_token).await;
    let expires = app.get("/licenses?expires_before=tomorrow", &app.admin_token).await;

    assert_field_error(&order, "order_id");
    assert_field_error(&product, "product_id");
    expires.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn licenses_are_filtered_by_expires_before() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let terms =
        |expires: &str| json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1, "expires_at": expires });
    let early = issue(&app, &c.order_id, terms("2030-01-01T00:00:00Z")).await;
    let late = issue(&app, &c.order_id, terms("2031-01-01T00:00:00Z")).await;

    let before_mid =
        listed(&app, &format!("/licenses?expires_before={}", enc("2030-06-01T00:00:00Z")), &app.admin_token).await;
    let before_all =
        listed(&app, "/licenses?expires_before=2099-01-01T00:00:00Z&sort=expires_at", &app.admin_token).await;
    let before_none = app.get("/licenses?expires_before=2029-01-01T00:00:00Z", &app.admin_token).await;

    assert_eq!(before_mid, [id_of(&early)]);
    assert_eq!(before_all, [id_of(&early), id_of(&late)], "perpetual licenses never match");
    assert_eq!(before_none.assert_status(200)["total"], 0);
}

// ---- search ----

#[actix_web::test]
async fn licenses_are_searched_by_key_product_order_and_company() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "Drafting Suite").await;
    create_product(&app, "VIEW", "Viewer Pro").await;
    let acme =
        order(&app, "SO-1001", "Acme Tools", json!([{ "product_code": "CAD", "kind": "user_based", "seats": 1 }]))
            .await;
    let zenith = order(
        &app,
        "SO-2002",
        "Zenith Labs",
        json!([{ "product_code": "VIEW", "kind": "computer_based", "seats": 1 }]),
    )
    .await;
    let acme_license = id_of(&acme["licenses"][0]);
    let zenith_license = id_of(&zenith["licenses"][0]);
    let key = acme["licenses"][0]["key"].as_str().unwrap().to_owned();
    let typed = key.to_lowercase().replace('-', " ");
    let admin = app.admin_token.clone();

    assert_eq!(listed(&app, &format!("/licenses?q={}", enc(&key)), &admin).await, [acme_license.as_str()]);
    assert_eq!(listed(&app, &format!("/licenses?q={}", enc(&typed)), &admin).await, [acme_license.as_str()]);
    assert_eq!(listed(&app, &format!("/licenses?q={}", enc(&key[6..17])), &admin).await, [acme_license.as_str()]);
    assert_eq!(listed(&app, "/licenses?q=drafting", &admin).await, [acme_license.as_str()]);
    assert_eq!(listed(&app, &format!("/licenses?q={}", enc("VIEWER pro")), &admin).await, [zenith_license.as_str()]);
    assert_eq!(listed(&app, "/licenses?q=2002", &admin).await, [zenith_license.as_str()]);
    assert_eq!(listed(&app, "/licenses?q=so-1001", &admin).await, [acme_license.as_str()]);
    assert_eq!(listed(&app, "/licenses?q=zenith", &admin).await, [zenith_license.as_str()]);
    assert_eq!(listed(&app, &format!("/licenses?q={}", enc("acme tools")), &admin).await, [acme_license.as_str()]);
    assert_eq!(app.get("/licenses?q=nothing-like-it", &admin).await.assert_status(200)["total"], 0);
}

// ---- sorting and paging ----

#[actix_web::test]
async fn licenses_sort_by_expiry_with_perpetual_ones_last() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let terms = |expires: Value| json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1, "expires_at": expires });
    let late = id_of(&issue(&app, &c.order_id, terms(json!("2031-01-01T00:00:00Z"))).await);
    let perpetual = id_of(&issue(&app, &c.order_id, terms(Value::Null)).await);
    let early = id_of(&issue(&app, &c.order_id, terms(json!("2030-01-01T00:00:00Z"))).await);
    let path = format!("/licenses?order_id={}&kind=user_based", c.order_id);

    let ascending = listed(&app, &format!("{path}&sort=expires_at"), &app.admin_token).await;
    let descending = listed(&app, &format!("{path}&sort=-expires_at"), &app.admin_token).await;

    // The order's own user-based license is perpetual too.
    assert_eq!(ascending[..2], [early.clone(), late.clone()]);
    let mut tail = ascending[2..].to_vec();
    tail.sort();
    let mut perpetual_ones = vec![perpetual.clone(), c.user_license_id.clone()];
    perpetual_ones.sort();
    assert_eq!(tail, perpetual_ones);
    let mut reversed = ascending.clone();
    reversed.reverse();
    assert_eq!(descending, reversed);
}

#[actix_web::test]
async fn licenses_sort_by_created_at_product_and_order() {
    let app = TestApp::spawn().await;
    create_product(&app, "A", "Alpha").await;
    create_product(&app, "B", "Beta").await;
    create_product(&app, "G", "Gamma").await;
    let mut made = Vec::new();
    for (number, code) in [("SO-3", "B"), ("SO-1", "G"), ("SO-2", "A")] {
        let o = order(&app, number, "Acme", json!([{ "product_code": code, "kind": "user_based", "seats": 1 }])).await;
        made.push(id_of(&o["licenses"][0]));
        app.state.clock.advance(1);
    }
    let (l1, l2, l3) = (made[0].clone(), made[1].clone(), made[2].clone());
    let admin = app.admin_token.clone();

    assert_eq!(listed(&app, "/licenses?sort=created_at", &admin).await, [l1.clone(), l2.clone(), l3.clone()]);
    assert_eq!(listed(&app, "/licenses?sort=-created_at", &admin).await, [l3.clone(), l2.clone(), l1.clone()]);
    assert_eq!(listed(&app, "/licenses", &admin).await, [l3.clone(), l2.clone(), l1.clone()], "default -created_at");
    assert_eq!(listed(&app, "/licenses?sort=product", &admin).await, [l3.clone(), l1.clone(), l2.clone()]);
    assert_eq!(listed(&app, "/licenses?sort=-product", &admin).await, [l2.clone(), l1.clone(), l3.clone()]);
    assert_eq!(listed(&app, "/licenses?sort=order", &admin).await, [l2.clone(), l3.clone(), l1.clone()]);
    assert_eq!(listed(&app, "/licenses?sort=-order", &admin).await, [l1.clone(), l3.clone(), l2.clone()]);
    assert_field_error(&app.get("/licenses?sort=seats", &admin).await, "sort");
}

#[actix_web::test]
async fn licenses_are_paged() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    issue(&app, &c.order_id, json!({ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 })).await;
    let all = listed(&app, "/licenses?sort=created_at", &app.admin_token).await;

    let first = app.get("/licenses?sort=created_at&per_page=2", &app.admin_token).await;
    let second = app.get("/licenses?sort=created_at&per_page=2&page=2", &app.admin_token).await;

    let first = first.assert_status(200);
    assert_eq!(
        (first["total"].as_i64(), first["per_page"].as_i64(), first["page"].as_i64()),
        (Some(3), Some(2), Some(1))
    );
    let second = second.assert_status(200);
    assert_eq!(second["page"], 2);
    let mut paged = ids(first);
    paged.extend(ids(second));
    assert_eq!(paged, all);
    assert_field_error(&app.get("/licenses?per_page=0", &app.admin_token).await, "per_page");
}

// ---- changing ----

#[actix_web::test]
async fn an_admin_changes_the_terms_of_a_license() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    app.state.clock.advance(5);

    let answer = app
        .patch(
            &license_path(&c.user_license_id),
            &app.admin_token,
            json!({ "seats": 10, "expires_at": "2031-01-01T00:00:00Z", "offline_allowed": false, "lease_seconds": 3600 }),
        )
        .await;

    let license = answer.assert_status(200).clone();
    assert_eq!(license["seats"], 10);
    assert_eq!(utc_time(&license["expires_at"]), utc_time(&json!("2031-01-01T00:00:00Z")));
    assert_eq!(license["offline_allowed"], false);
    assert_eq!(license["lease_seconds"], 3600);
    assert_eq!(license["status"], "active");
    assert_eq!(license["key"], c.order["licenses"][0]["key"], "the key stays");
    assert!(utc_time(&license["updated_at"]) > utc_time(&license["created_at"]));
    assert_eq!(app.get(&license_path(&c.user_license_id), &c.manager_token).await.assert_status(200), &license);
    assert_eq!(app.count_events("license.updated").await, 1);
}

#[actix_web::test]
async fn absent_fields_stay_and_a_null_expiry_makes_a_license_perpetual() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = license_path(&c.user_license_id);
    app.patch(&path, &app.admin_token, json!({ "expires_at": "2031-01-01T00:00:00Z" })).await.assert_status(200);

    let seats_only = app.patch(&path, &app.admin_token, json!({ "seats": 6 })).await;
    let perpetual = app.patch(&path, &app.admin_token, json!({ "expires_at": null })).await;

    let seats_only = seats_only.assert_status(200);
    assert_eq!(seats_only["seats"], 6);
    assert_eq!(
        utc_time(&seats_only["expires_at"]),
        utc_time(&json!("2031-01-01T00:00:00Z")),
        "absent expires_at stays"
    );
    let perpetual = perpetual.assert_status(200);
    assert_eq!(perpetual["expires_at"], Value::Null);
    assert_eq!(perpetual["seats"], 6);
    assert_eq!(app.get(&path, &app.admin_token).await.body["expires_at"], Value::Null);
    assert_eq!(app.count_events("license.updated").await, 3);
}

#[actix_web::test]
async fn a_license_is_suspended_and_reactivated() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = license_path(&c.computer_license_id);

    let suspended = app.patch(&path, &app.admin_token, json!({ "status": "suspended" })).await;
    let seen_by_manager = app.get(&path, &c.manager_token).await;
    let reactivated = app.patch(&path, &app.admin_token, json!({ "status": "active" })).await;
    let expired = app.patch(&path, &app.admin_token, json!({ "status": "expired" })).await;

    assert_eq!(suspended.assert_status(200)["status"], "suspended");
    assert_eq!(seen_by_manager.assert_status(200)["status"], "suspended");
    assert_eq!(reactivated.assert_status(200)["status"], "active");
    assert_field_error(&expired, "status");
    assert_eq!(app.count_events("license.updated").await, 2);
}

#[actix_web::test]
async fn out_of_range_license_changes_are_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = license_path(&c.user_license_id);
    let cases = [
        (json!({ "lease_seconds": 59 }), "lease_seconds"),
        (json!({ "lease_seconds": 604_801 }), "lease_seconds"),
        (json!({ "seats": 0 }), "seats"),
        (json!({ "seats": -1 }), "seats"),
        (json!({ "seats": 2, "lease_seconds": 30 }), "lease_seconds"),
        (json!({ "offline_allowed": "no" }), "offline_allowed"),
        (json!({ "expires_at": "next year" }), "expires_at"),
    ];

    for (body, field) in cases {
        let answer = app.patch(&path, &app.admin_token, body).await;
        assert_field_error(&answer, field);
    }
    let edges = app.patch(&path, &app.admin_token, json!({ "lease_seconds": 60 })).await;
    assert_eq!(edges.assert_status(200)["lease_seconds"], 60);
    let edges = app.patch(&path, &app.admin_token, json!({ "lease_seconds": 604_800 })).await;
    assert_eq!(edges.assert_status(200)["lease_seconds"], 604_800);

    let license = app.get(&path, &app.admin_token).await;
    assert_eq!(license.assert_status(200)["seats"], 5);
    assert_eq!(app.count_events("license.updated").await, 2);
}

#[actix_web::test]
async fn seats_below_those_in_use_are_409_seats_in_use() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    add_users(&app, &c.user_license_id, 2).await;
    let path = license_path(&c.user_license_id);
    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200)["seats_used"], 2);

    let too_few = app.patch(&path, &app.admin_token, json!({ "seats": 1, "lease_seconds": 120 })).await;
    let after_refusal = app.get(&path, &app.admin_token).await.assert_status(200).clone();
    let enough = app.patch(&path, &app.admin_token, json!({ "seats": 2 })).await;

    too_few.assert_problem(409, "SEATS_IN_USE");
    assert_eq!(too_few.body["seats_used"], 2);
    assert_eq!(after_refusal["seats"], 5);
    assert_eq!(after_refusal["lease_seconds"], 900, "a refused change changes nothing");
    let enough = enough.assert_status(200);
    assert_eq!(enough["seats"], 2);
    assert_eq!(enough["seats_used"], 2);
    assert_eq!(app.count_events("license.updated").await, 1);
}
