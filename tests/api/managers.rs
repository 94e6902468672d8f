//! Tests of /managers: the admins' view of license-manager accounts — list,
//! view, rename, disable and re-enable, issue a new password.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Customer, TestApp, assert_field_error, emails, enc, refresh, unknown_id,
};

fn manager_path(id: &str) -> String {
    format!("/managers/{id}")
}

/// The e-mails listed at `path` by the admin (asserts 200).
async fn listed(app: &TestApp, path: &str) -> Vec<String> {
    emails(app.get(path, &app.admin_token).await.assert_status(200))
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.call(Method::POST, "/auth/login", None, Some(json!({ "email": email, "password": password }))).await
}

/// A fresh sign-in of the order's manager: (access token, refresh token).
async fn sign_in(app: &TestApp, c: &Customer, email: &str) -> (String, String) {
    let login = app.login(email, &c.manager_password).await;
    (login["access_token"].as_str().unwrap().to_owned(), login["refresh_token"].as_str().unwrap().to_owned())
}

// ---- reading ----

#[actix_web::test]
async fn managers_are_listed_with_the_orders_they_manage() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    app.post(&format!("/orders/{}/managers", b.order_id), &app.admin_token, json!({ "email": "a@x.example" }))
        .await
        .assert_status(201);

    let list = app.get("/managers?sort=email", &app.admin_token).await;

    let list = list.assert_status(200);
    assert_eq!(list["total"], 2, "admins are not listed");
    assert_eq!(emails(list), ["a@x.example", "b@y.example"]);
    let first = &list["items"][0];
    let mut keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["bound_customer_id", "created_at", "disabled", "email", "id", "name", "order_count", "orders", "updated_at"]
    );
    assert_eq!(first["order_count"], 2);
    assert_eq!(first["id"], a.manager_id.as_str());
    assert_eq!(first["name"], "Max Manager");
    assert_eq!(first["disabled"], false);
    assert_eq!(first["bound_customer_id"], serde_json::Value::Null, "an admin made it: unbound");
    assert_eq!(
        first["orders"],
        json!([{ "id": a.order_id, "number": "SO-A" }, { "id": b.order_id, "number": "SO-B" }])
    );
    assert_eq!(list["items"][1]["orders"], json!([{ "id": b.order_id, "number": "SO-B" }]));
    assert!(!list.to_string().contains(ADMIN_EMAIL));
    assert!(!list.to_string().contains("password"));
}

#[actix_web::test]
async fn managers_are_searched_and_sorted() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let body = json!({
        "number": "SO-1",
        "customer": { "company": "Acme" },
        "licenses": [{ "product_code": "CAD", "kind": "user_based", "seats": 1 }],
        "managers": [
            { "email": "anna@x.example", "name": "Zoe Anna" },
            { "email": "zed@x.example", "name": "Adam Zed" },
            { "email": "mia@y.example", "name": "Mia Mid" },
        ],
    });
    app.post("/orders", &app.admin_token, body).await.assert_status(201);

    assert_eq!(listed(&app, "/managers?sort=email&q=X.EXAMPLE").await, ["anna@x.example", "zed@x.example"]);
    assert_eq!(listed(&app, "/managers?q=adam").await, ["zed@x.example"]);
    assert_eq!(listed(&app, &format!("/managers?q={}", enc(" mia mid "))).await, ["mia@y.example"]);
    assert_eq!(listed(&app, "/managers?sort=email").await, ["anna@x.example", "mia@y.example", "zed@x.example"]);
    assert_eq!(listed(&app, "/managers?sort=-email").await, ["zed@x.example", "mia@y.example", "anna@x.example"]);
    assert_eq!(listed(&app, "/managers?sort=name").await, ["zed@x.example", "mia@y.example", "anna@x.example"]);
    assert_eq!(listed(&app, "/managers?sort=-name").await, ["anna@x.example", "mia@y.example", "zed@x.example"]);
    assert_eq!(app.get("/managers?q=nobody", &app.admin_token).await.assert_status(200)["total"], 0);
    assert_field_error(&app.get("/managers?sort=role", &app.admin_token).await, "sort");
}

#[actix_web::test]
async fn managers_are_paged() {
    let app = TestApp::spawn().await;
    for (number, email) in [("SO-1", "a@x.example"), ("SO-2", "b@x.example"), ("SO-3", "c@x.example")] {
        app.order(number, email).await;
    }

    let first = app.get("/managers?sort=email&per_page=2", &app.admin_token).await;
    let second = app.get("/managers?sort=email&per_page=2&page=2", &app.admin_token).await;

    let first = first.assert_status(200);
    assert_eq!(first["total"], 3);
    assert_eq!(emails(first), ["a@x.example", "b@x.example"]);
    assert_eq!(emails(second.assert_status(200)), ["c@x.example"]);
}

#[actix_web::test]
async fn a_manager_is_read_by_id() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer = app.get(&manager_path(&c.manager_id), &app.admin_token).await;

    let manager = answer.assert_status(200);
    assert_eq!(manager["id"], c.manager_id.as_str());
    assert_eq!(manager["email"], "max@acme.example");
    assert_eq!(manager["name"], "Max Manager");
    assert_eq!(manager["disabled"], false);
    assert_eq!(manager["orders"], json!([{ "id": c.order_id, "number": "SO-1" }]));
    for field in ["created_at", "updated_at"] {
        let text = manager[field].as_str().expect("a time");
        assert!(text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
    }
    let listed = app.get("/managers", &app.admin_token).await;
    assert_eq!(&listed.assert_status(200)["items"][0], manager, "list items have the detail shape");
}

#[actix_web::test]
async fn an_admins_id_or_an_unknown_id_names_no_manager() {
    let app = TestApp::spawn().await;
    app.order("SO-1", "max@acme.example").await;
    let admin_id = app.get("/me", &app.admin_token).await.assert_status(200)["id"].as_str().unwrap().to_owned();

    for id in [admin_id.clone(), unknown_id(), "not-an-id".to_owned()] {
        app.get(&manager_path(&id), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
        app.patch(&manager_path(&id), &app.admin_token, json!({ "disabled": true }))
            .await
            .assert_problem(404, "NOT_FOUND");
        let reset =
            app.call(Method::POST, &format!("{}/password", manager_path(&id)), Some(&app.admin_token), None).await;
        reset.assert_problem(404, "NOT_FOUND");
    }
    // The admin was not disabled and keeps its password.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(app.count_events("manager.updated").await, 0);
    assert_eq!(app.count_events("manager.password_reset").await, 0);
}

// ---- roles ----

#[actix_web::test]
async fn manager_accounts_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = manager_path(&c.manager_id);
    let reset = format!("{path}/password");

    for token in [c.manager_token.as_str(), shop.as_str()] {
        app.get("/managers", token).await.assert_problem(403, "FORBIDDEN");
        app.get(&path, token).await.assert_problem(403, "FORBIDDEN");
        app.patch(&path, token, json!({ "name": "Changed", "disabled": true })).await.assert_problem(403, "FORBIDDEN");
        app.call(Method::POST, &reset, Some(token), None).await.assert_problem(403, "FORBIDDEN");
    }
    app.call(Method::GET, "/managers", None, None).await.assert_problem(401, "INVALID_TOKEN");
    app.call(Method::GET, &path, None, None).await.assert_problem(401, "INVALID_TOKEN");
    app.call(Method::PATCH, &path, None, Some(json!({ "disabled": true }))).await.assert_problem(401, "INVALID_TOKEN");
    app.call(Method::POST, &reset, None, None).await.assert_problem(401, "INVALID_TOKEN");

    let manager = app.get(&path, &app.admin_token).await;
    assert_eq!(manager.assert_status(200)["name"], "Max Manager");
    assert_eq!(manager.body["disabled"], false);
    app.login("max@acme.example", &c.manager_password).await;
    assert_eq!(app.count_events("manager.updated").await, 0);
    assert_eq!(app.count_events("manager.password_reset").await, 0);
}

// ---- changing ----

#[actix_web::test]
async fn an_admin_renames_a_manager() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    app.state.clock.advance(2);

    let answer = app.patch(&manager_path(&c.manager_id), &app.admin_token, json!({ "name": "  Maxine Muster " })).await;

    let manager = answer.assert_status(200);
    assert_eq!(manager["name"], "Maxine Muster");
    assert_eq!(manager["disabled"], false);
    assert_eq!(manager["orders"], json!([{ "id": c.order_id, "number": "SO-1" }]));
    assert_ne!(manager["updated_at"], manager["created_at"]);
    assert_eq!(app.get("/me", &c.manager_token).await.assert_status(200)["name"], "Maxine Muster");
    let order = app.get(&format!("/orders/{}", c.order_id), &app.admin_token).await;
    assert_eq!(order.assert_status(200)["managers"][0]["name"], "Maxine Muster");
    assert_eq!(app.count_events("manager.updated").await, 1);
}

#[actix_web::test]
async fn invalid_manager_changes_are_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = manager_path(&c.manager_id);

    let long = app.patch(&path, &app.admin_token, json!({ "name": "x".repeat(201) })).await;
    let not_bool = app.patch(&path, &app.admin_token, json!({ "disabled": "yes" })).await;
    let malformed =
        app.raw(Method::PATCH, &path, Some(&app.admin_token), Some("application/json"), b"{\"name\"".to_vec()).await;

    assert_field_error(&long, "name");
    assert_field_error(&not_bool, "disabled");
    malformed.assert_problem(400, "MALFORMED_BODY");
    let manager = app.get(&path, &app.admin_token).await;
    assert_eq!(manager.assert_status(200)["name"], "Max Manager");
    assert_eq!(manager.body["disabled"], false);
    assert_eq!(app.count_events("manager.updated").await, 0);
}

#[actix_web::test]
async fn disabling_a_manager_stops_its_tokens_and_its_sign_in() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let (access, refresh_token) = sign_in(&app, &c, "max@acme.example").await;

    let answer = app.patch(&manager_path(&c.manager_id), &app.admin_token, json!({ "disabled": true })).await;

    assert_eq!(answer.assert_status(200)["disabled"], true);
    app.get("/me", &access).await.assert_problem(403, "ACCOUNT_DISABLED");
    app.get(&format!("/orders/{}", c.order_id), &c.manager_token).await.assert_problem(403, "ACCOUNT_DISABLED");
    refresh(&app, &refresh_token).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    login(&app, "max@acme.example", &c.manager_password).await.assert_problem(403, "ACCOUNT_DISABLED");
    let listed = app.get("/managers", &app.admin_token).await;
    assert_eq!(listed.assert_status(200)["items"][0]["disabled"], true);
    assert_eq!(app.count_events("manager.updated").await, 1);
}

#[actix_web::test]
async fn a_re_enabled_manager_signs_in_again() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let (_, old_refresh) = sign_in(&app, &c, "max@acme.example").await;
    let path = manager_path(&c.manager_id);
    app.patch(&path, &app.admin_token, json!({ "disabled": true })).await.assert_status(200);

    let answer = app.patch(&path, &app.admin_token, json!({ "disabled": false })).await;

    assert_eq!(answer.assert_status(200)["disabled"], false);
    let login = login(&app, "max@acme.example", &c.manager_password).await;
    let token = login.assert_status(200)["access_token"].as_str().unwrap();
    assert_eq!(app.get("/me", token).await.assert_status(200)["email"], "max@acme.example");
    app.get(&format!("/orders/{}", c.order_id), token).await.assert_status(200);
    // Sign-ins ended by the disabling stay ended.
    refresh(&app, &old_refresh).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    assert_eq!(app.count_events("manager.updated").await, 2);
}

#[actix_web::test]
async fn disabling_one_manager_leaves_the_others_alone() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    let (_, b_refresh) = sign_in(&app, &b, "b@y.example").await;

    app.patch(&manager_path(&a.manager_id), &app.admin_token, json!({ "disabled": true })).await.assert_status(200);

    app.get("/me", &b.manager_token).await.assert_status(200);
    refresh(&app, &b_refresh).await.assert_status(200);
    let b_view = app.get(&manager_path(&b.manager_id), &app.admin_token).await;
    assert_eq!(b_view.assert_status(200)["disabled"], false);
}

#[actix_web::test]
async fn a_new_password_replaces_the_old_one_and_ends_sign_ins() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let (_, old_refresh) = sign_in(&app, &c, "max@acme.example").await;

    let answer = app
        .call(Method::POST, &format!("{}/password", manager_path(&c.manager_id)), Some(&app.admin_token), None)
        .await;

    let body = answer.assert_status(200);
    assert_eq!(body.as_object().unwrap().len(), 1, "only the password: {body}");
    let password = body["password"].as_str().expect("a password").to_owned();
    assert!(password.chars().count() >= 16, "{password}");
    assert!(!password.chars().any(|ch| "0O1lI".contains(ch)), "no look-alikes: {password}");
    assert_ne!(password, c.manager_password);
    let new_login = login(&app, "MAX@acme.example", &password).await;
    assert_eq!(new_login.assert_status(200)["account"]["id"], c.manager_id.as_str());
    refresh(&app, &old_refresh).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    login(&app, "max@acme.example", &c.manager_password).await.assert_problem(401, "INVALID_CREDENTIALS");
    refresh(&app, new_login.body["refresh_token"].as_str().unwrap()).await.assert_status(200);
    assert_eq!(app.count_events("manager.password_reset").await, 1);
    let events = app.get("/events?action=manager.password_reset", &app.admin_token).await;
    assert_eq!(events.assert_status(200)["total"], 1);
    assert!(!events.text.contains(&password), "the password is not in the audit trail");
}

#[actix_web::test]
async fn each_new_password_is_different() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("{}/password", manager_path(&c.manager_id));

    let first = app.call(Method::POST, &path, Some(&app.admin_token), None).await;
    let second = app.call(Method::POST, &path, Some(&app.admin_token), None).await;

    let first = first.assert_status(200)["password"].as_str().unwrap().to_owned();
    let second = second.assert_status(200)["password"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    app.login("max@acme.example", &second).await;
    login(&app, "max@acme.example", &first).await.assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(app.count_events("manager.password_reset").await, 2);
}
