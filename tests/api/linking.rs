//! Who may be linked as a license manager (API.md, "Who may be linked"):
//! knowing an account's password must never open another customer's orders.
//! Accounts created through a manager are bound to that order's customer; a
//! manager links only colleagues of the same customer and hears one answer,
//! `EMAIL_UNAVAILABLE`, for every other existing e-mail.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, Answer, Customer, TestApp, assert_field_error, assert_no_such, audit_events, customer_total,
    fresh_admin_token, id_of, unknown_id,
};

/// POST /orders/{order_id}/managers as `token` (whatever the answer).
async fn add_manager(app: &TestApp, order_id: &str, token: &str, email: &str, name: &str) -> Answer {
    app.post(&format!("/orders/{order_id}/managers"), token, json!({ "email": email, "name": name })).await
}

/// Adds a manager (asserts 201) and returns `{manager, initial_password}`.
async fn added(app: &TestApp, order_id: &str, token: &str, email: &str, name: &str) -> Value {
    add_manager(app, order_id, token, email, name).await.assert_status(201).clone()
}

/// A new order of `customer` (`{"customer": {…}}` or `{"customer_id": …}`) with these managers.
fn order_body(number: &str, code: &str, customer: Value, managers: &[&str]) -> Value {
    let mut body = json!({
        "number": number,
        "licenses": [{ "product_code": code, "kind": "user_based", "seats": 1 }],
        "managers": managers.iter().map(|email| json!({ "email": email })).collect::<Vec<_>>(),
    });
    for (key, value) in customer.as_object().expect("a customer object") {
        body[key] = value.clone();
    }
    body
}

fn customer_id(c: &Customer) -> String {
    c.order["customer"]["id"].as_str().expect("customer id").to_owned()
}

async fn total(app: &TestApp, path: &str) -> i64 {
    app.get(path, &app.admin_token).await.assert_status(200)["total"].as_i64().expect("total")
}

/// The e-mails of an order's managers as the admin sees them, sorted.
async fn manager_emails(app: &TestApp, order_id: &str) -> Vec<String> {
    let list = app.get(&format!("/orders/{order_id}/managers?sort=email"), &app.admin_token).await;
    crate::helpers::emails(list.assert_status(200))
}

async fn bound_customer(app: &TestApp, account_id: &str) -> Value {
    app.get(&format!("/managers/{account_id}"), &app.admin_token).await.assert_status(200)["bound_customer_id"].clone()
}

/// A problem body without its request id (the one part that differs per request).
fn without_request_id(answer: &Answer) -> Value {
    let mut body = answer.body.clone();
    body.as_object_mut().expect("a problem object").remove("request_id");
    body
}

/// The order numbers `token` sees, sorted.
async fn visible_numbers(app: &TestApp, token: &str) -> Vec<String> {
    let list = app.get("/orders?sort=number", token).await;
    crate::helpers::items(list.assert_status(200)).iter().map(|o| o["number"].as_str().unwrap().to_owned()).collect()
}

// ---- the takeover ----

#[actix_web::test]
async fn an_account_a_manager_planted_and_removed_can_not_take_over_a_new_customers_order() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let attacker = app.order("O-1", "mallory@attacker.example").await;
    // The attacker adds the victim's e-mail (and is shown its password), removes it again, waits.
    let planted = added(&app, &attacker.order_id, &attacker.manager_token, "it@victim.example", "IT").await;
    let password = planted["initial_password"].as_str().expect("a generated password").to_owned();
    let planted_id = id_of(&planted["manager"]);
    let path = format!("/orders/{}/managers/{planted_id}", attacker.order_id);
    app.delete(&path, &attacker.manager_token).await.assert_status(204);
    app.state.clock.advance(3 * 24 * 3600);
    let admin = fresh_admin_token(&app).await;
    let orders_before = app.get("/orders", &admin).await.assert_status(200)["total"].clone();
    let customers_before = app.get("/customers", &admin).await.assert_status(200)["total"].clone();
    let events_before = app.get("/events?per_page=1", &admin).await.assert_status(200)["total"].clone();
    let managers_before = app.get("/managers", &admin).await.assert_status(200)["total"].clone();

    // The shop's order for the victim names that e-mail.
    let body = order_body(
        "SO-VICTIM",
        "CODE-O-1",
        json!({ "customer": { "company": "Victim GmbH", "country": "DE" } }),
        &["boss@victim.example", "IT@Victim.example"],
    );
    let answer = app.post("/orders", &shop, body).await;

    answer.assert_problem(409, "EMAIL_BOUND_TO_OTHER_CUSTOMER");
    assert!(answer.body["detail"].as_str().unwrap().contains("managers[1].email"), "{}", answer.text);
    assert!(answer.body["errors"]["managers[1].email"].is_array(), "{}", answer.text);
    // Nothing was created: no order, no customer, no account, no event.
    assert_eq!(app.get("/orders", &admin).await.body["total"], orders_before);
    assert_eq!(app.get("/customers", &admin).await.body["total"], customers_before);
    assert_eq!(app.get("/events?per_page=1", &admin).await.body["total"], events_before);
    assert_eq!(app.get("/managers", &admin).await.body["total"], managers_before);
    // The attacker, who knows the password, sees no order at all.
    let login = app.login("it@victim.example", &password).await;
    assert!(visible_numbers(&app, login["access_token"].as_str().unwrap()).await.is_empty());
}

#[actix_web::test]
async fn a_bound_account_named_for_another_existing_customer_is_409_for_the_shop_and_admins() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let attacker = app.order("O-1", "mallory@attacker.example").await;
    let victim = app.order("SO-V", "boss@victim.example").await;
    added(&app, &attacker.order_id, &attacker.manager_token, "it@victim.example", "IT").await;
    let added_before = app.count_events("order_manager.added").await;

    let by_admin = add_manager(&app, &victim.order_id, &app.admin_token, "it@victim.example", "").await;
    let customer = json!({ "customer_id": customer_id(&victim) });
    let by_shop = app.post("/orders", &shop, order_body("SO-V2", "CODE-SO-V", customer, &["it@victim.example"])).await;

    by_admin.assert_problem(409, "EMAIL_BOUND_TO_OTHER_CUSTOMER");
    assert!(by_admin.body["errors"]["email"].is_array(), "{}", by_admin.text);
    by_shop.assert_problem(409, "EMAIL_BOUND_TO_OTHER_CUSTOMER");
    assert!(by_shop.body["errors"]["managers[0].email"].is_array(), "{}", by_shop.text);
    assert_eq!(manager_emails(&app, &victim.order_id).await, ["boss@victim.example"]);
    assert_eq!(total(&app, "/orders").await, 2, "SO-V2 was not created");
    assert_eq!(app.count_events("order_manager.added").await, added_before);
}

// ---- the oracle ----

#[actix_web::test]
async fn a_manager_hears_one_identical_answer_for_every_email_it_may_not_add() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "bob@b.example").await;
    // Bound to customer B: created by B's manager.
    added(&app, &b.order_id, &b.manager_token, "pete@b.example", "Pete Planted").await;
    // A colleague of the same customer A, on another order, but disabled.
    let body = json!({
        "number": "SO-A2",
        "customer_id": customer_id(&a),
        "licenses": [{ "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "colette@a.example", "name": "Colette Colleague" }],
    });
    let colette = app.post("/orders", &app.admin_token, body).await.assert_status(201)["managers"][0]["id"].clone();
    let colette = colette.as_str().unwrap();
    app.patch(&format!("/managers/{colette}"), &app.admin_token, json!({ "disabled": true })).await.assert_status(200);
    let added_before = app.count_events("order_manager.added").await;
    let accounts_before = total(&app, "/managers").await;

    let mut answers = Vec::new();
    for email in [ADMIN_EMAIL, "bob@b.example", "PETE@b.example", "colette@a.example"] {
        answers.push((email, add_manager(&app, &a.order_id, &a.manager_token, email, "A New Name").await));
    }

    let first = without_request_id(&answers[0].1);
    for (email, answer) in &answers {
        answer.assert_problem(409, "EMAIL_UNAVAILABLE");
        assert_eq!(without_request_id(answer), first, "{email}: the same body for every reason");
        assert_eq!(answer.header("content-type"), answers[0].1.header("content-type"));
        for secret in ["Ada Admin", "Max Manager", "Pete Planted", "Colette", "b.example", "admin", "disabled"] {
            assert!(!answer.text.contains(secret), "{email}: {secret} in {}", answer.text);
        }
    }
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(first["detail"], "This e-mail address can't be added here; ask the vendor's support.");
    assert_eq!(manager_emails(&app, &a.order_id).await, ["max@a.example"]);
    assert_eq!(app.count_events("order_manager.added").await, added_before);
    assert_eq!(total(&app, "/managers").await, accounts_before);
}

// ---- what still works ----

#[actix_web::test]
async fn a_manager_links_colleagues_who_manage_another_order_of_the_same_customer() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let body = json!({
        "number": "SO-A2",
        "customer_id": customer_id(&a),
        "licenses": [{ "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "colette@a.example", "name": "Colette Colleague" }],
    });
    let order = app.post("/orders", &app.admin_token, body).await.assert_status(201).clone();
    let colette_password = order["managers"][0]["initial_password"].as_str().unwrap().to_owned();
    let colette_token = app.login("colette@a.example", &colette_password).await["access_token"].clone();
    let order_2 = id_of(&order);
    // A colleague that Colette creates on SO-A2 is bound to customer A.
    let newbie = added(&app, &order_2, colette_token.as_str().unwrap(), "newbie@a.example", "Nina Newbie").await;
    assert_eq!(bound_customer(&app, &id_of(&newbie["manager"])).await, customer_id(&a).as_str());

    let unbound = add_manager(&app, &a.order_id, &a.manager_token, "COLETTE@a.example", "").await;
    let bound = add_manager(&app, &a.order_id, &a.manager_token, "newbie@a.example", "").await;

    for answer in [&unbound, &bound] {
        let body = answer.assert_status(201);
        assert!(body.as_object().unwrap().contains_key("initial_password"));
        assert_eq!(body["initial_password"], Value::Null, "{}", answer.text);
    }
    assert_eq!(unbound.body["manager"]["name"], "Colette Colleague");
    assert_eq!(manager_emails(&app, &a.order_id).await, ["colette@a.example", "max@a.example", "newbie@a.example"]);
    assert_eq!(visible_numbers(&app, colette_token.as_str().unwrap()).await, ["SO-A", "SO-A2"]);
}

#[actix_web::test]
async fn the_shop_links_an_unbound_existing_manager_to_another_customers_order() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let b = app.order("SO-B", "bob@b.example").await;

    let body = order_body("SO-C", "CODE-SO-B", json!({ "customer": { "company": "C Corp" } }), &["Bob@B.example"]);
    let answer = app.post("/orders", &shop, body).await;

    let order = answer.assert_status(201);
    assert_eq!(order["managers"][0]["id"], b.manager_id.as_str());
    assert!(order["managers"][0].get("initial_password").is_none_or(Value::is_null), "{order}");
    assert_eq!(visible_numbers(&app, &b.manager_token).await, ["SO-B", "SO-C"]);
}

#[actix_web::test]
async fn a_bound_account_is_linked_to_orders_of_its_own_customer() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let a = app.order("SO-A", "max@a.example").await;
    let it = added(&app, &a.order_id, &a.manager_token, "it@a.example", "IT").await;
    let token = app.login("it@a.example", it["initial_password"].as_str().unwrap()).await["access_token"].clone();
    let customer = json!({ "customer_id": customer_id(&a) });

    let by_shop =
        app.post("/orders", &shop, order_body("SO-A2", "CODE-SO-A", customer.clone(), &["it@a.example"])).await;
    let order_3 = app.post("/orders", &shop, order_body("SO-A3", "CODE-SO-A", customer, &["max@a.example"])).await;
    let order_3 = id_of(order_3.assert_status(201));
    let by_admin = add_manager(&app, &order_3, &app.admin_token, "it@a.example", "").await;

    by_shop.assert_status(201);
    by_admin.assert_status(201);
    assert_eq!(visible_numbers(&app, token.as_str().unwrap()).await, ["SO-A", "SO-A2", "SO-A3"]);
}

// ---- binding ----

#[actix_web::test]
async fn only_an_account_a_manager_creates_is_bound_to_the_orders_customer() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let a = app.order("SO-A", "max@a.example").await;

    let by_manager = added(&app, &a.order_id, &a.manager_token, "by-manager@a.example", "").await;
    let by_admin = added(&app, &a.order_id, &app.admin_token, "by-admin@a.example", "").await;
    let customer = json!({ "customer_id": customer_id(&a) });
    let by_shop = app.post("/orders", &shop, order_body("SO-A2", "CODE-SO-A", customer, &["by-shop@a.example"])).await;

    assert_eq!(bound_customer(&app, &id_of(&by_manager["manager"])).await, customer_id(&a).as_str());
    assert_eq!(bound_customer(&app, &id_of(&by_admin["manager"])).await, Value::Null);
    assert_eq!(bound_customer(&app, &id_of(&by_shop.assert_status(201)["managers"][0])).await, Value::Null);
    assert_eq!(bound_customer(&app, &a.manager_id).await, Value::Null);
    let created = audit_events(&app, "manager.created").await;
    let details: Vec<Value> = created.iter().map(|e| serde_json::from_str(&e.details).unwrap()).collect();
    assert!(details.contains(&json!({ "email": "by-manager@a.example", "bound_customer_id": customer_id(&a) })));
    assert!(details.contains(&json!({ "email": "by-admin@a.example", "bound_customer_id": null })));
}

#[actix_web::test]
async fn releasing_a_binding_ends_sign_ins_and_requires_a_new_password() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let a = app.order("SO-A", "max@a.example").await;
    let it = added(&app, &a.order_id, &a.manager_token, "it@a.example", "IT").await;
    let (id, old_password) = (id_of(&it["manager"]), it["initial_password"].as_str().unwrap().to_owned());
    let login = app.login("it@a.example", &old_password).await;
    let old_refresh = login["refresh_token"].as_str().unwrap().to_owned();

    let answer = app.patch(&format!("/managers/{id}"), &app.admin_token, json!({ "bound_customer_id": null })).await;

    let manager = answer.assert_status(200);
    assert_eq!(manager["bound_customer_id"], Value::Null);
    assert_eq!(manager["disabled"], false);
    crate::helpers::refresh(&app, &old_refresh).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    let refused = app
        .call(Method::POST, "/auth/login", None, Some(json!({ "email": "it@a.example", "password": old_password })))
        .await;
    refused.assert_problem(401, "INVALID_CREDENTIALS");
    let released = audit_events(&app, "manager.released").await;
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].subject_id.as_deref(), Some(id.as_str()));
    assert_eq!(app.count_events("manager.updated").await, 0, "a release is its own event");
    // A new password from an admin opens the account again.
    let reset = app.call(Method::POST, &format!("/managers/{id}/password"), Some(&app.admin_token), None).await;
    let new_password = reset.assert_status(200)["password"].as_str().unwrap().to_owned();
    let token = app.login("it@a.example", &new_password).await["access_token"].as_str().unwrap().to_owned();
    // Unbound now, the shop may name it for another customer.
    let body = order_body("SO-X", "CODE-SO-A", json!({ "customer": { "company": "X Corp" } }), &["it@a.example"]);
    app.post("/orders", &shop, body).await.assert_status(201);
    assert_eq!(visible_numbers(&app, &token).await, ["SO-A", "SO-X"]);
}

#[actix_web::test]
async fn releasing_an_unbound_account_changes_nothing() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;

    let answer =
        app.patch(&format!("/managers/{}", a.manager_id), &app.admin_token, json!({ "bound_customer_id": null })).await;

    assert_eq!(answer.assert_status(200)["bound_customer_id"], Value::Null);
    app.login("max@a.example", &a.manager_password).await;
    app.get("/me", &a.manager_token).await.assert_status(200);
    assert_eq!(app.count_events("manager.released").await, 0);
}

#[actix_web::test]
async fn an_admin_binds_an_account_to_a_customer() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "bob@b.example").await;
    let path = format!("/managers/{}", b.manager_id);
    // An account that manages no order: only the customer's existence stands in the way.
    let spare = id_of(&added(&app, &b.order_id, &app.admin_token, "spare@b.example", "").await["manager"]);
    app.delete(&format!("/orders/{}/managers/{spare}", b.order_id), &app.admin_token).await.assert_status(204);
    let spare_path = format!("/managers/{spare}");

    let unknown = app.patch(&spare_path, &app.admin_token, json!({ "bound_customer_id": unknown_id() })).await;
    let garbage = app.patch(&spare_path, &app.admin_token, json!({ "bound_customer_id": "not-an-id" })).await;
    let contradicted = app.patch(&path, &app.admin_token, json!({ "bound_customer_id": customer_id(&a) })).await;
    let bound = app.patch(&path, &app.admin_token, json!({ "bound_customer_id": customer_id(&b) })).await;

    assert_no_such(&unknown, "bound_customer_id");
    assert_no_such(&garbage, "bound_customer_id");
    assert_field_error(&contradicted, "bound_customer_id");
    assert_eq!(bound_customer(&app, &spare).await, Value::Null);
    assert_eq!(bound.assert_status(200)["bound_customer_id"], customer_id(&b).as_str());
    assert_eq!(app.count_events("manager.bound").await, 1);
    // Binding restricts; it does not sign the account out.
    app.get("/me", &b.manager_token).await.assert_status(200);
    app.login("bob@b.example", &b.manager_password).await;
    let body = order_body("SO-C", "CODE-SO-B", json!({ "customer": { "company": "C Corp" } }), &["bob@b.example"]);
    app.post("/orders", &shop, body).await.assert_problem(409, "EMAIL_BOUND_TO_OTHER_CUSTOMER");
    assert_eq!(customer_total(&app).await, 2);
}
