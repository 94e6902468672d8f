//! The isolation matrix: a license manager sees and changes only its own
//! customer's objects. Every manager-scoped endpoint and verb, called by a
//! manager of another customer, answers 404 (never 403) and changes nothing;
//! every list shows it none of the other customer's rows.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Customer, TestApp};

/// What an admin sees of customer `c`; compared before and after the attempts.
async fn snapshot(app: &TestApp, c: &Customer) -> Vec<Value> {
    let paths = [
        format!("/orders/{}", c.order_id),
        format!("/orders/{}/managers", c.order_id),
        format!("/licenses/{}", c.user_license_id),
        format!("/licenses/{}", c.computer_license_id),
        format!("/licenses/{}/users", c.user_license_id),
        format!("/licenses/{}/devices?status=all", c.computer_license_id),
    ];
    let mut out = Vec::new();
    for path in paths {
        out.push(app.get(&path, &app.admin_token).await.assert_status(200).clone());
    }
    out
}

async fn event_count(app: &TestApp) -> i64 {
    app.get("/events?per_page=1", &app.admin_token).await.body["total"].as_i64().unwrap()
}

#[actix_web::test]
async fn a_manager_of_another_customer_gets_404_everywhere_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@a.example").await;
    let b = app.order("SO-B", "b@b.example").await;
    // B gets a user (with an activation), a device and a second manager.
    let added = app
        .post(
            &format!("/licenses/{}/users", b.user_license_id),
            &app.admin_token,
            json!({"email": "u@b.example", "password": "b-user-password"}),
        )
        .await;
    let b_user = added.assert_status(201)["user"]["id"].as_str().unwrap().to_owned();
    app.call(
        Method::POST,
        "/client/activate",
        None,
        Some(json!({"email": "u@b.example", "password": "b-user-password", "hardware_id": "b-pc"})),
    )
    .await
    .assert_status(200);
    let b_key = b.order["licenses"][1]["key"].as_str().unwrap();
    let device = app
        .call(Method::POST, "/client/activate", None, Some(json!({"license_key": b_key, "hardware_id": "b-pc"})))
        .await;
    let b_device = device.assert_status(200)["device"]["id"].as_str().unwrap().to_owned();
    app.post(&format!("/orders/{}/managers", b.order_id), &app.admin_token, json!({"email": "b2@b.example"}))
        .await
        .assert_status(201);

    let before = snapshot(&app, &b).await;
    let events_before = event_count(&app).await;

    let (bo, bu, bc) = (&b.order_id, &b.user_license_id, &b.computer_license_id);
    let (au, ac, ao) = (&a.user_license_id, &a.computer_license_id, &a.order_id);
    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/orders/{bo}"), None),
        (Method::GET, format!("/orders/{bo}/managers"), None),
        (Method::POST, format!("/orders/{bo}/managers"), Some(json!({"email": "intruder@a.example"}))),
        (Method::DELETE, format!("/orders/{bo}/managers/{}", b.manager_id), None),
        (Method::DELETE, format!("/orders/{ao}/managers/{}", b.manager_id), None),
        (Method::GET, format!("/licenses/{bu}"), None),
        (Method::GET, format!("/licenses/{bc}"), None),
        (Method::GET, format!("/licenses/{bu}/users"), None),
        (Method::POST, format!("/licenses/{bu}/users"), Some(json!({"email": "intruder@a.example"}))),
        (Method::GET, format!("/licenses/{bu}/users/{b_user}"), None),
        (Method::GET, format!("/licenses/{au}/users/{b_user}"), None),
        (Method::PATCH, format!("/licenses/{bu}/users/{b_user}"), Some(json!({"name": "taken over"}))),
        (Method::PATCH, format!("/licenses/{au}/users/{b_user}"), Some(json!({"name": "taken over"}))),
        (
            Method::POST,
            format!("/licenses/{bu}/users/{b_user}/password"),
            Some(json!({"password": "a-new-password-1"})),
        ),
        (Method::POST, format!("/licenses/{bu}/users/{b_user}/password"), None),
        (Method::POST, format!("/licenses/{bu}/users/{b_user}/reset-activation"), None),
        (Method::POST, format!("/licenses/{au}/users/{b_user}/reset-activation"), None),
        (Method::DELETE, format!("/licenses/{bu}/users/{b_user}"), None),
        (Method::DELETE, format!("/licenses/{au}/users/{b_user}"), None),
        (Method::GET, format!("/licenses/{bc}/devices"), None),
        (Method::GET, format!("/licenses/{bc}/devices/{b_device}"), None),
        (Method::GET, format!("/licenses/{ac}/devices/{b_device}"), None),
        (Method::POST, format!("/licenses/{bc}/devices/{b_device}/deactivate"), None),
        (Method::POST, format!("/licenses/{ac}/devices/{b_device}/deactivate"), None),
    ];
    for (method, path, body) in matrix {
        let answer = app.call(method.clone(), &path, Some(&a.manager_token), body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        answer.assert_problem(404, "NOT_FOUND");
    }

    assert_eq!(snapshot(&app, &b).await, before, "B's objects changed");
    assert_eq!(event_count(&app).await, events_before, "a refused attempt wrote an event");
}

#[actix_web::test]
async fn every_list_shows_a_manager_only_its_own_customers_rows() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@a.example").await;
    let b = app.order("SO-B", "b@b.example").await;
    app.post(&format!("/licenses/{}/users", b.user_license_id), &app.admin_token, json!({"email": "u@b.example"}))
        .await;

    let orders = app.get("/orders", &a.manager_token).await;
    let ids: Vec<&str> = orders.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.order_id.as_str()]);

    let licenses = app.get("/licenses?per_page=200", &a.manager_token).await;
    let items = licenses.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|l| l["order"]["id"] == a.order_id.as_str()));
    for q in ["SO-B", "Company of SO-B"] {
        let found = app.get(&format!("/licenses?q={}", q.replace(' ', "%20")), &a.manager_token).await;
        assert_eq!(found.body["total"], 0, "q={q}");
        let found = app.get(&format!("/orders?q={}", q.replace(' ', "%20")), &a.manager_token).await;
        assert_eq!(found.body["total"], 0, "q={q}");
    }
    let filtered = app.get(&format!("/licenses?order_id={}", b.order_id), &a.manager_token).await;
    assert_eq!(filtered.body["total"], 0);

    let events = app.get("/events?per_page=200", &a.manager_token).await;
    let events = events.body["items"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["order_id"] == a.order_id.as_str()), "{events:?}");
    let filtered = app.get(&format!("/events?order_id={}", b.order_id), &a.manager_token).await;
    assert_eq!(filtered.body["total"], 0);

    let dashboard = app.get("/dashboard", &a.manager_token).await;
    assert_eq!(dashboard.body["orders"], 1);
    assert_eq!(dashboard.body["licenses"]["total"], 2);
    assert_eq!(dashboard.body["users"], 0);
    assert_eq!(dashboard.body["managers"], 1);
}

#[actix_web::test]
async fn admin_only_and_shop_operations_answer_a_manager_403() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@a.example").await;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, format!("/orders/{}/customer", a.order_id), Some(json!({"company": "Mine now"}))),
        (Method::PATCH, format!("/licenses/{}", a.user_license_id), Some(json!({"seats": 99}))),
        (
            Method::POST,
            "/licenses".into(),
            Some(json!({"order_id": a.order_id, "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1})),
        ),
        (Method::POST, "/orders".into(), Some(json!({"number": "X"}))),
        (Method::GET, "/customers".into(), None),
        (Method::GET, "/products".into(), None),
        (Method::GET, "/managers".into(), None),
        (Method::GET, "/api-keys".into(), None),
        (Method::POST, format!("/managers/{}/password", a.manager_id), None),
    ];
    for (method, path, body) in calls {
        let answer = app.call(method.clone(), &path, Some(&a.manager_token), body).await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.text);
        answer.assert_problem(403, "FORBIDDEN");
    }
    let license = app.get(&format!("/licenses/{}", a.user_license_id), &app.admin_token).await;
    assert_eq!(license.body["seats"], 5);
}
