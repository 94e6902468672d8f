//! Tests of /orders: created (idempotently) by admins and the shop, read by
//! everyone in scope; their managers are managed by admins and the order's own
//! managers; the customer of an order is changed by admins only.

use std::sync::mpsc;
use std::time::Duration;

use diesel::RunQueryDsl;
use futures_util::future::{join, join_all};
use license_server::db::AnyConnection;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, Answer, CROCKFORD, TestApp, assert_field_error, assert_field_problem, assert_no_such,
    assert_rfc3339_utc, customer_total, enc, id_of, unknown_id,
};

/// A new order's body: one user-based 3-seat license of product `code`, one manager.
fn order_body(number: &str, company: &str, code: &str, manager: &str) -> Value {
    json!({
        "number": number,
        "customer": { "company": company },
        "licenses": [{ "product_code": code, "kind": "user_based", "seats": 3 }],
        "managers": [{ "email": manager }],
    })
}

/// Creates an order as the admin (asserts 201) and returns it.
async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/orders", &app.admin_token, body).await.assert_status(201).clone()
}

/// The `number` of every item of a list answer, in order.
fn numbers(list: &Value) -> Vec<String> {
    list["items"].as_array().expect("items").iter().map(|o| o["number"].as_str().expect("number").to_owned()).collect()
}

/// The order numbers listed at `path` for `token` (asserts 200).
async fn listed(app: &TestApp, path: &str, token: &str) -> Vec<String> {
    numbers(app.get(path, token).await.assert_status(200))
}

async fn order_total(app: &TestApp) -> i64 {
    app.get("/orders", &app.admin_token).await.assert_status(200)["total"].as_i64().expect("total")
}

async fn manager_total(app: &TestApp) -> i64 {
    app.get("/managers", &app.admin_token).await.assert_status(200)["total"].as_i64().expect("total")
}

/// The e-mails of an order's managers as the admin sees them, in the order they were added.
async fn manager_emails(app: &TestApp, order_id: &str) -> Vec<String> {
    let list = app.get(&format!("/orders/{order_id}/managers?sort=created_at"), &app.admin_token).await;
    let items = list.assert_status(200)["items"].as_array().expect("items");
    items.iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect()
}

/// POSTs exactly these body bytes to /orders with an `Idempotency-Key`.
async fn post_with_key(app: &TestApp, token: &str, key: &str, body: &[u8]) -> Answer {
    let request = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_vec());
    TestApp::answer(request.send().await.expect("request sent")).await
}

fn bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).expect("json")
}

#[track_caller]
fn assert_license_key(key: &Value) {
    let key = key.as_str().unwrap_or_else(|| panic!("a key string, got {key}"));
    let groups: Vec<&str> = key.split('-').collect();
    assert_eq!(groups.len(), 6, "six groups: {key}");
    for group in groups {
        assert_eq!(group.len(), 5, "groups of five: {key}");
        assert!(group.chars().all(|c| CROCKFORD.contains(c)), "Crockford base32: {key}");
    }
}

// ---- create ----

#[actix_web::test]
async fn creating_an_order_answers_201_with_customer_licenses_and_managers() {
    let app = TestApp::spawn().await;
    let cad = app.product("CAD").await;
    app.product("VIEW").await;
    let body = json!({
        "number": "SO-2026-0042",
        "customer": {
            "company": "Muster Bau GmbH",
            "contact_name": "Erika Mustermann",
            "email": "erika@muster-bau.example",
            "address": "Hauptstraße 1\n12345 Berlin",
            "country": "DE",
            "vat_id": "DE123456789",
        },
        "licenses": [
            { "product_id": cad["id"], "kind": "user_based", "seats": 5 },
            {
                "product_code": "VIEW", "kind": "computer_based", "seats": 2,
                "expires_at": "2031-01-01T00:00:00Z", "offline_allowed": false, "lease_seconds": 120,
            },
        ],
        "managers": [{ "email": "max@muster-bau.example", "name": "Max Muster" }],
    });

    let answer = app.post("/orders", &app.admin_token, body).await;

    let order = answer.assert_status(201);
    assert_eq!(order["number"], "SO-2026-0042");
    assert_rfc3339_utc(&order["created_at"]);
    assert!(order.get("initial_password_withheld").is_none(), "{order}");
    let customer = &order["customer"];
    assert_eq!(customer["company"], "Muster Bau GmbH");
    assert_eq!(customer["contact_name"], "Erika Mustermann");
    assert_eq!(customer["email"], "erika@muster-bau.example");
    assert_eq!(customer["address"], "Hauptstraße 1\n12345 Berlin");
    assert_eq!(customer["country"], "DE");
    assert_eq!(customer["vat_id"], "DE123456789");
    assert_rfc3339_utc(&customer["created_at"]);

    let licenses = order["licenses"].as_array().expect("licenses");
    assert_eq!(licenses.len(), 2);
    for license in licenses {
        assert_license_key(&license["key"]);
        assert_eq!(license["status"], "active");
        assert_eq!(license["seats_used"], 0);
        assert_eq!(license["order"], json!({ "id": order["id"], "number": "SO-2026-0042" }));
        assert_eq!(license["customer"], json!({ "id": customer["id"], "company": "Muster Bau GmbH" }));
    }
    assert_ne!(licenses[0]["key"], licenses[1]["key"]);
    let user = &licenses[0];
    assert_eq!(user["kind"], "user_based");
    assert_eq!(user["seats"], 5);
    assert_eq!(user["offline_allowed"], true);
    assert_eq!(user["lease_seconds"], 900);
    assert_eq!(user["expires_at"], Value::Null);
    assert_eq!(user["product"], json!({ "id": cad["id"], "code": "CAD", "name": "CAD product" }));
    let computer = &licenses[1];
    assert_eq!(computer["kind"], "computer_based");
    assert_eq!(computer["seats"], 2);
    assert_eq!(computer["offline_allowed"], false);
    assert_eq!(computer["lease_seconds"], 120);
    assert_eq!(computer["expires_at"], "2031-01-01T00:00:00Z");
    assert_eq!(computer["product"]["code"], "VIEW");

    let managers = order["managers"].as_array().expect("managers");
    assert_eq!(managers.len(), 1);
    assert_eq!(managers[0]["email"], "max@muster-bau.example");
    assert_eq!(managers[0]["name"], "Max Muster");
    let password = managers[0]["initial_password"].as_str().expect("initial password");
    assert!(password.len() >= 16, "{password}");
    let login = app.login("max@muster-bau.example", password).await;
    assert_eq!(login["account"]["id"], managers[0]["id"]);
    assert_eq!(login["account"]["role"], "manager");
}

#[actix_web::test]
async fn creating_an_order_records_its_events() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let mut body = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    body["licenses"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "product_code": "CAD", "kind": "computer_based", "seats": 1 }));

    create(&app, body).await;

    assert_eq!(app.count_events("order.created").await, 1);
    assert_eq!(app.count_events("customer.created").await, 1);
    assert_eq!(app.count_events("license.created").await, 2);
    assert_eq!(app.count_events("manager.created").await, 1);
    assert_eq!(app.count_events("order_manager.added").await, 1);
}

#[actix_web::test]
async fn the_created_order_reads_back_without_passwords() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let path = format!("/orders/{}", c.order_id);
    for token in [&app.admin_token, &shop, &c.manager_token] {
        let order = app.get(&path, token).await;
        let order = order.assert_status(200);
        assert_eq!(order["id"], c.order["id"]);
        assert_eq!(order["number"], "SO-1");
        assert_eq!(order["customer"], c.order["customer"]);
        assert_eq!(order["licenses"], c.order["licenses"]);
        assert_eq!(
            order["managers"],
            json!([{ "id": c.manager_id, "email": "max@acme.example", "name": "Max Manager" }]),
            "no initial_password on a read"
        );
    }
}

#[actix_web::test]
async fn an_order_for_an_existing_customer_names_it_by_customer_id() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let customer = app.post("/customers", &app.admin_token, json!({ "company": "Known Co", "country": "AT" })).await;
    let customer = customer.assert_status(201).clone();
    let mut body = order_body("SO-1", "ignored", "CAD", "max@known.example");
    body.as_object_mut().unwrap().remove("customer");
    body["customer_id"] = customer["id"].clone();

    let order = create(&app, body).await;

    assert_eq!(order["customer"], customer);
    assert_eq!(order["licenses"][0]["customer"], json!({ "id": customer["id"], "company": "Known Co" }));
    assert_eq!(customer_total(&app).await, 1, "no second customer");
    assert_eq!(app.count_events("customer.created").await, 1);
}

#[actix_web::test]
async fn an_unknown_customer_id_is_404_naming_the_field() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    for customer_id in [unknown_id(), "not-a-uuid".to_owned()] {
        let mut body = order_body("SO-1", "ignored", "CAD", "max@known.example");
        body.as_object_mut().unwrap().remove("customer");
        body["customer_id"] = json!(customer_id);

        let answer = app.post("/orders", &app.admin_token, body).await;

        assert_no_such(&answer, "customer_id");
    }
    assert_eq!(order_total(&app).await, 0);
}

#[actix_web::test]
async fn exactly_one_of_customer_and_customer_id_is_required() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let existing = app.post("/customers", &app.admin_token, json!({ "company": "Known Co" })).await;
    let existing = existing.assert_status(201).clone();
    let mut both = order_body("SO-1", "New Co", "CAD", "max@x.example");
    both["customer_id"] = existing["id"].clone();
    let mut neither = order_body("SO-1", "New Co", "CAD", "max@x.example");
    neither.as_object_mut().unwrap().remove("customer");

    let both = app.post("/orders", &app.admin_token, both).await;
    let neither = app.post("/orders", &app.admin_token, neither).await;

    assert_field_error(&both, "customer");
    assert_field_error(&neither, "customer");
    assert_eq!(order_total(&app).await, 0);
    assert_eq!(customer_total(&app).await, 1);
}

#[actix_web::test]
async fn an_existing_manager_account_is_linked_and_carries_no_password() {
    let app = TestApp::spawn().await;
    let first = app.order("SO-1", "max@acme.example").await;
    let body = json!({
        "number": "SO-2",
        "customer": { "company": "Acme" },
        "licenses": [{ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "MAX@Acme.example", "name": "Another Name" }, { "email": "New.Person@Acme.Example" }],
    });

    let order = create(&app, body).await;

    let managers = order["managers"].as_array().expect("managers");
    let linked = managers.iter().find(|m| m["id"] == first.manager_id.as_str()).expect("the existing account");
    assert_eq!(linked["email"], "max@acme.example");
    assert_eq!(linked["name"], "Max Manager", "linking does not rename the account");
    assert!(linked.get("initial_password").is_none_or(Value::is_null), "{linked}");
    let created = managers.iter().find(|m| m["id"] != first.manager_id.as_str()).expect("the new account");
    assert_eq!(created["email"], "new.person@acme.example", "stored lower-case");
    let password = created["initial_password"].as_str().expect("initial password of the new account");
    app.login("NEW.person@acme.example", password).await;
    // The linked account keeps its password and now sees both orders.
    let login = app.login("max@acme.example", &first.manager_password).await;
    let token = login["access_token"].as_str().unwrap();
    let mut mine = listed(&app, "/orders?sort=number", token).await;
    mine.sort();
    assert_eq!(mine, ["SO-1", "SO-2"]);
    assert_eq!(app.count_events("manager.created").await, 2);
    assert_eq!(app.count_events("order_manager.added").await, 3);
}

#[actix_web::test]
async fn a_taken_order_number_is_409_order_number_taken() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    create(&app, order_body("SO-1", "Acme", "CAD", "max@acme.example")).await;

    let again = app.post("/orders", &app.admin_token, order_body("SO-1", "Other Co", "CAD", "eve@other.example")).await;
    let padded =
        app.post("/orders", &app.admin_token, order_body(" SO-1 ", "Other Co", "CAD", "eve@other.example")).await;

    again.assert_problem(409, "ORDER_NUMBER_TAKEN");
    padded.assert_problem(409, "ORDER_NUMBER_TAKEN");
    assert_eq!(order_total(&app).await, 1);
    assert_eq!(customer_total(&app).await, 1, "the refused order made no customer");
    assert_eq!(manager_total(&app).await, 1, "the refused order made no manager account");
    assert_eq!(app.count_events("order.created").await, 1);
    assert_eq!(app.count_events("license.created").await, 1);
}

#[actix_web::test]
async fn an_unknown_product_names_the_license_entry() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let by_code = order_body("SO-1", "Acme", "NOPE", "max@acme.example");
    let mut by_id = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    by_id["licenses"][0] = json!({ "product_id": unknown_id(), "kind": "user_based", "seats": 1 });

    let by_code = app.post("/orders", &app.admin_token, by_code).await;
    let by_id = app.post("/orders", &app.admin_token, by_id).await;

    assert_no_such(&by_code, "licenses[0].product_code");
    assert_no_such(&by_id, "licenses[0].product_id");
}

#[actix_web::test]
async fn invalid_license_entries_are_422_with_their_paths() {
    let app = TestApp::spawn().await;
    let cad = app.product("CAD").await;
    let with_license = |license: Value| {
        let mut body = order_body("SO-1", "Acme", "CAD", "max@acme.example");
        body["licenses"] = json!([{ "product_code": "CAD", "kind": "user_based", "seats": 1 }, license]);
        body
    };
    let cases = [
        (with_license(json!({ "product_code": "CAD", "kind": "user_based", "seats": 0 })), "licenses[1].seats"),
        (with_license(json!({ "product_code": "CAD", "kind": "floating", "seats": 1 })), "licenses[1].kind"),
        (with_license(json!({ "product_code": "CAD", "seats": 1 })), "licenses[1].kind"),
        (
            with_license(json!({ "product_code": "CAD", "kind": "user_based", "seats": 1, "lease_seconds": 59 })),
            "licenses[1].lease_seconds",
        ),
        (
            with_license(json!({ "product_code": "CAD", "product_id": cad["id"], "kind": "user_based", "seats": 1 })),
            "licenses[1].product_id",
        ),
        (with_license(json!({ "kind": "user_based", "seats": 1 })), "licenses[1].product_id"),
    ];
    for (body, field) in cases {
        let answer = app.post("/orders", &app.admin_token, body).await;
        assert_field_error(&answer, field);
    }
    let unknown = with_license(json!({ "product_code": "NOPE", "kind": "user_based", "seats": 1 }));
    assert_no_such(&app.post("/orders", &app.admin_token, unknown).await, "licenses[1].product_code");
    let mut none = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    none["licenses"] = json!([]);
    assert_field_error(&app.post("/orders", &app.admin_token, none).await, "licenses");
    assert_eq!(order_total(&app).await, 0);
    assert_eq!(app.count_events("license.created").await, 0);
}

#[actix_web::test]
async fn invalid_managers_are_422_with_their_paths() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let with_managers = |managers: Value| {
        let mut body = order_body("SO-1", "Acme", "CAD", "unused@acme.example");
        body["managers"] = managers;
        body
    };
    let cases = [
        (with_managers(json!([])), "managers"),
        (with_managers(json!([{ "email": "not an e-mail" }])), "managers[0].email"),
        (with_managers(json!([{ "name": "No Mail" }])), "managers[0].email"),
        (with_managers(json!([{ "email": "a@acme.example" }, { "email": " A@ACME.example" }])), "managers[1].email"),
        (with_managers(json!([{ "email": "a@acme.example" }, { "email": "A@acme.example" }])), "managers[1].email"),
    ];
    for (body, field) in cases {
        let answer = app.post("/orders", &app.admin_token, body).await;
        assert_field_error(&answer, field);
    }
    for (body, field) in [
        (
            with_managers(json!([{ "email": "ok@acme.example" }, { "email": "Admin@CRE-DO.example" }])),
            "managers[1].email",
        ),
        (with_managers(json!([{ "email": ADMIN_EMAIL }])), "managers[0].email"),
    ] {
        let answer = app.post("/orders", &app.admin_token, body).await;
        assert_field_problem(&answer, 409, "EMAIL_UNAVAILABLE", field);
    }
    assert_eq!(order_total(&app).await, 0);
    assert_eq!(manager_total(&app).await, 0);
}

#[actix_web::test]
async fn a_refused_order_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    // Refused late: the customer, order and first license were already written.
    let mut late_product = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    late_product["licenses"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "product_code": "NOPE", "kind": "user_based", "seats": 1 }));
    let mut admin_manager = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    admin_manager["managers"].as_array_mut().unwrap().push(json!({ "email": ADMIN_EMAIL }));

    assert_no_such(&app.post("/orders", &app.admin_token, late_product).await, "licenses[1].product_code");
    let admin_manager = app.post("/orders", &app.admin_token, admin_manager).await;
    assert_field_problem(&admin_manager, 409, "EMAIL_UNAVAILABLE", "managers[1].email");

    assert_eq!(order_total(&app).await, 0);
    assert_eq!(customer_total(&app).await, 0);
    assert_eq!(manager_total(&app).await, 0);
    assert_eq!(app.get("/licenses", &app.admin_token).await.assert_status(200)["total"], 0);
    for action in ["order.created", "customer.created", "license.created", "manager.created", "order_manager.added"] {
        assert_eq!(app.count_events(action).await, 0, "{action}");
    }
    // The number is still free.
    create(&app, order_body("SO-1", "Acme", "CAD", "max@acme.example")).await;
}

#[actix_web::test]
async fn malformed_json_is_400_and_a_missing_or_blank_number_422() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;

    let malformed = app
        .raw(Method::POST, "/orders", Some(&app.admin_token), Some("application/json"), b"{\"number\":".to_vec())
        .await;
    let mut body = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    body.as_object_mut().unwrap().remove("number");
    let missing = app.post("/orders", &app.admin_token, body).await;
    let empty = app.post("/orders", &app.admin_token, order_body("", "Acme", "CAD", "max@acme.example")).await;
    let blank = app.post("/orders", &app.admin_token, order_body("   ", "Acme", "CAD", "max@acme.example")).await;
    let long =
        app.post("/orders", &app.admin_token, order_body(&"9".repeat(65), "Acme", "CAD", "max@acme.example")).await;
    let blank_company =
        app.post("/orders", &app.admin_token, order_body("SO-1", "  ", "CAD", "max@acme.example")).await;

    malformed.assert_problem(400, "MALFORMED_BODY");
    assert_field_error(&missing, "number");
    assert_eq!(missing.body["errors"]["number"][0], "is required");
    assert_field_error(&empty, "number");
    assert_field_error(&blank, "number");
    assert_field_error(&long, "number");
    assert_field_error(&blank_company, "customer.company");
    assert_eq!(order_total(&app).await, 0);
    assert_eq!(customer_total(&app).await, 0);
}

// ---- Idempotency-Key ----

#[actix_web::test]
async fn the_same_key_and_body_replays_the_order_without_passwords() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;
    let body = bytes(&order_body("SO-1", "Acme", "CAD", "max@acme.example"));

    let first = post_with_key(&app, &shop, "order-SO-1", &body).await;
    let second = post_with_key(&app, &shop, "order-SO-1", &body).await;

    let first = first.assert_status(201);
    assert!(first["managers"][0]["initial_password"].is_string());
    assert!(first.get("initial_password_withheld").is_none());
    let second = second.assert_status(201);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["number"], "SO-1");
    assert_eq!(second["licenses"], first["licenses"]);
    assert_eq!(second["initial_password_withheld"], true);
    assert!(second["managers"][0]["initial_password"].is_null(), "{second}");
    assert_eq!(second["managers"][0]["id"], first["managers"][0]["id"]);
    assert_eq!(order_total(&app).await, 1);
    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(manager_total(&app).await, 1);
    assert_eq!(app.count_events("order.created").await, 1);
    assert_eq!(app.count_events("license.created").await, 1);
}

#[actix_web::test]
async fn the_same_key_with_another_body_is_422_idempotency_key_reused() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let body = order_body("SO-1", "Acme", "CAD", "max@acme.example");
    post_with_key(&app, &app.admin_token, "k-1", &bytes(&body)).await.assert_status(201);
    // The same JSON value in other bytes is another body, too.
    let reformatted = serde_json::to_vec_pretty(&body).unwrap();
    let other = order_body("SO-2", "Other Co", "CAD", "eve@other.example");

    let changed = post_with_key(&app, &app.admin_token, "k-1", &bytes(&other)).await;
    let pretty = post_with_key(&app, &app.admin_token, "k-1", &reformatted).await;

    changed.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    pretty.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(listed(&app, "/orders", &app.admin_token).await, ["SO-1"]);
    assert_eq!(app.count_events("order.created").await, 1);
}

#[actix_web::test]
async fn idempotency_keys_are_kept_per_caller() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;
    let shop_body = bytes(&order_body("SO-SHOP", "Shop Customer", "CAD", "shop@acme.example"));
    let admin_body = bytes(&order_body("SO-ADMIN", "Admin Customer", "CAD", "admin-made@acme.example"));

    let by_shop = post_with_key(&app, &shop, "same-key", &shop_body).await;
    let by_admin = post_with_key(&app, &app.admin_token, "same-key", &admin_body).await;
    let shop_again = post_with_key(&app, &shop, "same-key", &shop_body).await;

    let by_shop = by_shop.assert_status(201).clone();
    let by_admin = by_admin.assert_status(201).clone();
    assert_eq!(by_shop["number"], "SO-SHOP");
    assert_eq!(by_admin["number"], "SO-ADMIN");
    assert!(by_admin.get("initial_password_withheld").is_none(), "not a replay of the shop's order");
    assert_eq!(shop_again.assert_status(201)["id"], by_shop["id"]);
    assert_eq!(order_total(&app).await, 2);
}

#[actix_web::test]
async fn an_idempotency_key_over_255_characters_is_422() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;

    let long =
        post_with_key(&app, &app.admin_token, &"k".repeat(256), &bytes(&order_body("SO-1", "A", "CAD", "a@a.example")))
            .await;
    let longest =
        post_with_key(&app, &app.admin_token, &"k".repeat(255), &bytes(&order_body("SO-2", "B", "CAD", "b@b.example")))
            .await;

    long.assert_problem(422, "VALIDATION_FAILED");
    assert!(long.text.contains("Idempotency-Key"), "{}", long.text);
    longest.assert_status(201);
    assert_eq!(listed(&app, "/orders", &app.admin_token).await, ["SO-2"]);
}

#[actix_web::test]
async fn an_idempotency_key_is_forgotten_after_24_hours() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;
    let first_body = bytes(&order_body("SO-1", "Acme", "CAD", "max@acme.example"));
    let second_body = bytes(&order_body("SO-2", "Acme", "CAD", "max@acme.example"));
    let first = post_with_key(&app, &shop, "nightly", &first_body).await.assert_status(201).clone();

    app.state.clock.advance(24 * 3600 - 60);
    let still_kept = post_with_key(&app, &shop, "nightly", &second_body).await;
    app.state.clock.advance(61);
    let reused = post_with_key(&app, &shop, "nightly", &second_body).await;

    still_kept.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    let reused = reused.assert_status(201);
    assert_ne!(reused["id"], first["id"]);
    assert_eq!(reused["number"], "SO-2");
    assert!(reused.get("initial_password_withheld").is_none());
    let orders = app.get("/orders?sort=number", &shop).await;
    assert_eq!(numbers(orders.assert_status(200)), ["SO-1", "SO-2"]);
}

/// Takes the write lock of `idempotency_keys` on a connection of its own and
/// holds it until `release` sends (or 10 s pass), so that requests pile up
/// behind it and go on at the same moment.
fn hold_idempotency_lock(app: &TestApp) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let pool = app.state.db.pool().clone();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = pool.get().expect("a connection");
        let statements: &[&str] = match &**conn {
            AnyConnection::Postgresql(_) => &["BEGIN", "LOCK TABLE idempotency_keys IN SHARE MODE"],
            AnyConnection::Sqlite(_) => &["BEGIN IMMEDIATE"],
        };
        for sql in statements.iter().copied().chain(std::iter::once("")) {
            if sql.is_empty() {
                locked_tx.send(()).expect("signal");
                let _ = release_rx.recv_timeout(Duration::from_secs(10));
                diesel::sql_query("COMMIT").execute(&mut **conn).expect("commit");
            } else {
                diesel::sql_query(sql).execute(&mut **conn).expect(sql);
            }
        }
    });
    locked_rx.recv().expect("the lock is held");
    (release_tx, holder)
}

#[actix_web::test]
async fn concurrent_requests_with_one_key_create_exactly_one_order() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;
    let body = bytes(&order_body("SO-RACE", "Acme", "CAD", "max@acme.example"));
    // Open the connections first, so the requests below leave at the same moment.
    join_all((0..8).map(|_| app.call(Method::GET, "/health", None, None))).await;
    let (release, holder) = hold_idempotency_lock(&app);

    let requests = join_all((0..8).map(|_| post_with_key(&app, &shop, "race", &body)));
    let release_soon = async {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        release.send(()).expect("release");
    };
    let (answers, ()) = join(requests, release_soon).await;
    holder.join().expect("lock holder");

    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!created.is_empty(), "one of them created the order");
    let id = &created[0].body["id"];
    for answer in &answers {
        if answer.status == 201 {
            assert_eq!(&answer.body["id"], id, "{}", answer.text);
        } else {
            answer.assert_problem(409, "IDEMPOTENCY_IN_PROGRESS");
        }
    }
    let with_passwords = created.iter().filter(|a| a.body.get("initial_password_withheld").is_none()).count();
    assert_eq!(with_passwords, 1, "only the creating answer shows passwords");
    assert_eq!(order_total(&app).await, 1);
    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.count_events("order.created").await, 1);
    // Once done, the key answers the order again.
    let replay = post_with_key(&app, &shop, "race", &body).await;
    assert_eq!(&replay.assert_status(201)["id"], id);
}

// ---- lists ----

#[actix_web::test]
async fn order_list_items_are_summaries_without_managers() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let list = app.get("/orders", &app.admin_token).await;

    let list = list.assert_status(200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["page"], 1);
    assert_eq!(list["per_page"], 50);
    let item = &list["items"][0];
    let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "customer", "id", "license_count", "licenses", "number"]);
    assert_eq!(item["id"], c.order["id"]);
    assert_eq!(item["created_at"], c.order["created_at"]);
    assert_eq!(item["customer"], json!({ "id": c.order["customer"]["id"], "company": "Company of SO-1" }));
    assert_eq!(item["license_count"], 2);
    assert_eq!(item["licenses"], c.order["licenses"]);
}

#[actix_web::test]
async fn orders_are_searched_by_number_and_company() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    create(&app, order_body("SO-100", "Alpha GmbH", "CAD", "a@a.example")).await;
    create(&app, order_body("SO-200", "Beta AG", "CAD", "b@b.example")).await;
    create(&app, order_body("XY-300", "Gamma Alpha Ltd", "CAD", "c@c.example")).await;

    let by_number = listed(&app, "/orders?sort=number&q=so-", &app.admin_token).await;
    let by_company = listed(&app, "/orders?sort=number&q=ALPHA", &app.admin_token).await;
    let one = app.get(&format!("/orders?q={}", enc("  beta ag ")), &app.admin_token).await;
    let none = app.get("/orders?q=nothing-like-this", &app.admin_token).await;
    let literal = app.get(&format!("/orders?q={}", enc("%")), &app.admin_token).await;

    assert_eq!(by_number, ["SO-100", "SO-200"]);
    assert_eq!(by_company, ["SO-100", "XY-300"]);
    assert_eq!(numbers(one.assert_status(200)), ["SO-200"]);
    assert_eq!(one.body["total"], 1);
    assert_eq!(none.assert_status(200)["total"], 0);
    assert_eq!(literal.assert_status(200)["total"], 0, "% is taken literally");
}

#[actix_web::test]
async fn orders_sort_by_number_and_created_at() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    for (number, email) in [("B-2", "b@b.example"), ("A-1", "a@a.example"), ("C-3", "c@c.example")] {
        create(&app, order_body(number, "Acme", "CAD", email)).await;
        app.state.clock.advance(1);
    }
    let token = app.admin_token.clone();

    assert_eq!(listed(&app, "/orders?sort=number", &token).await, ["A-1", "B-2", "C-3"]);
    assert_eq!(listed(&app, "/orders?sort=-number", &token).await, ["C-3", "B-2", "A-1"]);
    assert_eq!(listed(&app, "/orders?sort=created_at", &token).await, ["B-2", "A-1", "C-3"]);
    assert_eq!(listed(&app, "/orders?sort=-created_at", &token).await, ["C-3", "A-1", "B-2"]);
    assert_eq!(listed(&app, "/orders", &token).await, ["C-3", "A-1", "B-2"], "default -created_at");
    let bad = app.get("/orders?sort=company", &token).await;
    assert_field_error(&bad, "sort");
}

#[actix_web::test]
async fn orders_are_paged() {
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    for (number, email) in [("SO-1", "a@a.example"), ("SO-2", "b@b.example"), ("SO-3", "c@c.example")] {
        create(&app, order_body(number, "Acme", "CAD", email)).await;
    }

    let first = app.get("/orders?sort=number&per_page=2", &app.admin_token).await;
    let second = app.get("/orders?sort=number&per_page=2&page=2", &app.admin_token).await;
    let beyond = app.get("/orders?sort=number&per_page=2&page=3", &app.admin_token).await;

    let first = first.assert_status(200);
    assert_eq!(
        (first["page"].as_i64(), first["per_page"].as_i64(), first["total"].as_i64()),
        (Some(1), Some(2), Some(3))
    );
    assert_eq!(numbers(first), ["SO-1", "SO-2"]);
    let second = second.assert_status(200);
    assert_eq!(second["page"], 2);
    assert_eq!(numbers(second), ["SO-3"]);
    assert_eq!(numbers(beyond.assert_status(200)), Vec::<String>::new());
    assert_eq!(beyond.body["total"], 3);
    assert_field_error(&app.get("/orders?per_page=201", &app.admin_token).await, "per_page");
    assert_field_error(&app.get("/orders?page=0", &app.admin_token).await, "page");
}

// ---- reading ----

#[actix_web::test]
async fn an_unknown_or_malformed_order_id_is_404() {
    let app = TestApp::spawn().await;
    app.order("SO-1", "max@acme.example").await;

    app.get(&format!("/orders/{}", unknown_id()), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
    app.get("/orders/not-an-id", &app.admin_token).await.assert_problem(404, "NOT_FOUND");
    app.get(&format!("/orders/{}/managers", unknown_id()), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
}

#[actix_web::test]
async fn orders_need_a_token() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let before = order_total(&app).await;

    let list = app.call(Method::GET, "/orders", None, None).await;
    let one = app.call(Method::GET, &format!("/orders/{}", c.order_id), None, None).await;
    let body = order_body("SO-2", "Acme", "CODE-SO-1", "eve@acme.example");
    let create = app.call(Method::POST, "/orders", None, Some(body)).await;
    let managers = app.call(Method::GET, &format!("/orders/{}/managers", c.order_id), None, None).await;

    for answer in [list, one, create, managers] {
        answer.assert_problem(401, "INVALID_TOKEN");
    }
    assert_eq!(order_total(&app).await, before);
}

// ---- roles and scope ----

#[actix_web::test]
async fn a_manager_may_not_create_orders() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer =
        app.post("/orders", &c.manager_token, order_body("SO-2", "Acme", "CODE-SO-1", "eve@acme.example")).await;

    answer.assert_problem(403, "FORBIDDEN");
    assert_eq!(order_total(&app).await, 1);
    assert_eq!(app.count_events("order.created").await, 1);
}

#[actix_web::test]
async fn the_shop_creates_and_reads_orders_and_their_managers() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;

    let created = app.post("/orders", &shop, order_body("SO-1", "Acme", "CAD", "max@acme.example")).await;

    let created = created.assert_status(201).clone();
    assert!(created["managers"][0]["initial_password"].is_string());
    let path = format!("/orders/{}", id_of(&created));
    assert_eq!(app.get(&path, &shop).await.assert_status(200)["id"], created["id"]);
    assert_eq!(listed(&app, "/orders", &shop).await, ["SO-1"]);
    let managers = app.get(&format!("{path}/managers"), &shop).await;
    assert_eq!(managers.assert_status(200)["items"][0]["email"], "max@acme.example");
    assert_eq!(app.count_events("order.created").await, 1);
}

#[actix_web::test]
async fn a_manager_gets_404_for_another_customers_order() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;

    let order = app.get(&format!("/orders/{}", b.order_id), &a.manager_token).await;
    let managers = app.get(&format!("/orders/{}/managers", b.order_id), &a.manager_token).await;

    order.assert_problem(404, "NOT_FOUND");
    managers.assert_problem(404, "NOT_FOUND");
    assert!(!order.text.contains("SO-B") && !managers.text.contains("b@y.example"));
    // Its own order is fine.
    app.get(&format!("/orders/{}", a.order_id), &a.manager_token).await.assert_status(200);
}

#[actix_web::test]
async fn a_manager_can_not_change_the_managers_of_another_customers_order() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    let added_before = app.count_events("order_manager.added").await;

    let add_new = app
        .post(&format!("/orders/{}/managers", b.order_id), &a.manager_token, json!({ "email": "intruder@x.example" }))
        .await;
    let add_self = app
        .post(&format!("/orders/{}/managers", b.order_id), &a.manager_token, json!({ "email": "a@x.example" }))
        .await;
    let remove = app.delete(&format!("/orders/{}/managers/{}", b.order_id, b.manager_id), &a.manager_token).await;
    let remove_self = app.delete(&format!("/orders/{}/managers/{}", b.order_id, a.manager_id), &a.manager_token).await;

    for answer in [add_new, add_self, remove, remove_self] {
        answer.assert_problem(404, "NOT_FOUND");
    }
    assert_eq!(manager_emails(&app, &b.order_id).await, ["b@y.example"]);
    assert_eq!(app.count_events("order_manager.added").await, added_before);
    assert_eq!(app.count_events("order_manager.removed").await, 0);
    assert_eq!(manager_total(&app).await, 2, "no account was made for the intruder");
    app.get(&format!("/orders/{}", b.order_id), &a.manager_token).await.assert_problem(404, "NOT_FOUND");
}

#[actix_web::test]
async fn a_manager_lists_only_its_own_orders() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    app.order("SO-B", "b@y.example").await;

    let all = app.get("/orders", &a.manager_token).await;
    let searched = app.get("/orders?q=SO-B", &a.manager_token).await;
    let company = app.get(&format!("/orders?q={}", enc("Company of SO-B")), &a.manager_token).await;

    let all = all.assert_status(200);
    assert_eq!(all["total"], 1);
    assert_eq!(numbers(all), ["SO-A"]);
    assert!(!all.to_string().contains("SO-B"));
    assert_eq!(searched.assert_status(200)["total"], 0);
    assert_eq!(company.assert_status(200)["total"], 0);
    assert_eq!(order_total(&app).await, 2, "the admin sees both");
}

#[actix_web::test]
async fn an_admin_changes_the_customer_of_an_order() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer = app
        .patch(
            &format!("/orders/{}/customer", c.order_id),
            &app.admin_token,
            json!({ "company": "  Renamed GmbH ", "address": "Neue Straße 2\n10115 Berlin" }),
        )
        .await;

    let customer = answer.assert_status(200);
    assert_eq!(customer["id"], c.order["customer"]["id"]);
    assert_eq!(customer["company"], "Renamed GmbH");
    assert_eq!(customer["address"], "Neue Straße 2\n10115 Berlin");
    assert_eq!(customer["country"], "DE", "untouched fields stay");
    let order = app.get(&format!("/orders/{}", c.order_id), &c.manager_token).await;
    let order = order.assert_status(200);
    assert_eq!(order["customer"]["company"], "Renamed GmbH");
    assert_eq!(order["licenses"][0]["customer"]["company"], "Renamed GmbH");
    assert_eq!(app.count_events("customer.updated").await, 1);
}

#[actix_web::test]
async fn invalid_customer_changes_and_unknown_orders_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/customer", c.order_id);

    let empty = app.patch(&path, &app.admin_token, json!({ "company": "" })).await;
    let country = app.patch(&path, &app.admin_token, json!({ "country": "XX" })).await;
    let unknown =
        app.patch(&format!("/orders/{}/customer", unknown_id()), &app.admin_token, json!({ "company": "X" })).await;

    assert_field_error(&empty, "company");
    assert_field_error(&country, "country");
    unknown.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.count_events("customer.updated").await, 0);
    let order = app.get(&format!("/orders/{}", c.order_id), &app.admin_token).await;
    assert_eq!(order.assert_status(200)["customer"]["company"], "Company of SO-1");
}

#[actix_web::test]
async fn managers_and_the_shop_may_not_change_the_customer_of_an_order() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/customer", c.order_id);

    let by_manager = app.patch(&path, &c.manager_token, json!({ "company": "Hijacked" })).await;
    let by_shop = app.patch(&path, &shop, json!({ "company": "Hijacked" })).await;
    let no_token = app.call(Method::PATCH, &path, None, Some(json!({ "company": "Hijacked" }))).await;

    by_manager.assert_problem(403, "FORBIDDEN");
    by_shop.assert_problem(403, "FORBIDDEN");
    no_token.assert_problem(401, "INVALID_TOKEN");
    let order = app.get(&format!("/orders/{}", c.order_id), &app.admin_token).await;
    assert_eq!(order.assert_status(200)["customer"]["company"], "Company of SO-1");
    assert_eq!(app.count_events("customer.updated").await, 0);
}

// ---- order managers ----

#[actix_web::test]
async fn order_managers_are_listed_for_admin_shop_and_manager() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    app.post(&path, &app.admin_token, json!({ "email": "second@acme.example", "name": "Second" }))
        .await
        .assert_status(201);

    for token in [&app.admin_token, &shop, &c.manager_token] {
        let list = app.get(&format!("{path}?sort=created_at"), token).await;
        assert_eq!(list.body["total"], 2);
        let list = list.assert_status(200)["items"].as_array().expect("an array").clone();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], json!({ "id": c.manager_id, "email": "max@acme.example", "name": "Max Manager" }));
        assert_eq!(list[1]["email"], "second@acme.example");
        assert_eq!(list[1]["name"], "Second");
        assert!(list[1].get("initial_password").is_none());
    }
}

#[actix_web::test]
async fn adding_a_new_email_creates_a_manager_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer = app
        .post(
            &format!("/orders/{}/managers", c.order_id),
            &c.manager_token,
            json!({ "email": "Second@ACME.example", "name": " Sam Second " }),
        )
        .await;

    let added = answer.assert_status(201);
    assert_eq!(added["manager"]["email"], "second@acme.example");
    assert_eq!(added["manager"]["name"], "Sam Second");
    let password = added["initial_password"].as_str().expect("a generated password");
    assert!(password.len() >= 16);
    let login = app.login("second@acme.example", password).await;
    assert_eq!(login["account"]["id"], added["manager"]["id"]);
    let token = login["access_token"].as_str().unwrap();
    app.get(&format!("/orders/{}", c.order_id), token).await.assert_status(200);
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example", "second@acme.example"]);
    assert_eq!(app.count_events("manager.created").await, 2);
    assert_eq!(app.count_events("order_manager.added").await, 2);
}

#[actix_web::test]
async fn adding_an_existing_account_links_it_without_a_password() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;

    let answer = app
        .post(&format!("/orders/{}/managers", a.order_id), &app.admin_token, json!({ "email": "B@Y.example" }))
        .await;

    let added = answer.assert_status(201);
    assert_eq!(added["manager"]["id"], b.manager_id.as_str());
    assert_eq!(added["manager"]["email"], "b@y.example");
    assert!(added.as_object().unwrap().contains_key("initial_password"));
    assert_eq!(added["initial_password"], Value::Null);
    let mut seen = listed(&app, "/orders", &b.manager_token).await;
    seen.sort();
    assert_eq!(seen, ["SO-A", "SO-B"]);
    app.login("b@y.example", &b.manager_password).await;
    assert_eq!(app.count_events("manager.created").await, 2);
    assert_eq!(app.count_events("order_manager.added").await, 3);
}

#[actix_web::test]
async fn adding_a_manager_twice_is_409_already_manager() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;

    let answer = app
        .post(&format!("/orders/{}/managers", c.order_id), &c.manager_token, json!({ "email": "MAX@acme.example" }))
        .await;

    answer.assert_problem(409, "ALREADY_MANAGER");
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example"]);
    assert_eq!(app.count_events("order_manager.added").await, 1);
}

#[actix_web::test]
async fn an_admins_email_can_not_become_an_order_manager() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    app.product("CAD").await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);

    let by_admin = app.post(&path, &app.admin_token, json!({ "email": "ADMIN@cre-do.example" })).await;
    let by_shop = app.post("/orders", &shop, order_body("SO-2", "Acme", "CAD", "admin@CRE-DO.example")).await;
    let by_manager = app.post(&path, &c.manager_token, json!({ "email": "ADMIN@cre-do.example" })).await;

    // Vendor staff are told plainly (in `errors`); a manager hears what it
    // hears for every e-mail it may not add, and learns nothing about the admin.
    assert_field_problem(&by_admin, 409, "EMAIL_UNAVAILABLE", "email");
    assert_field_problem(&by_shop, 409, "EMAIL_UNAVAILABLE", "managers[0].email");
    by_manager.assert_problem(409, "EMAIL_UNAVAILABLE");
    assert!(!by_manager.text.contains("admin"), "{}", by_manager.text);
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example"]);
    assert_eq!(app.count_events("order_manager.added").await, 1);
    assert_eq!(order_total(&app).await, 1);
}

#[actix_web::test]
async fn an_invalid_manager_email_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);

    assert_field_error(&app.post(&path, &app.admin_token, json!({ "email": "nope" })).await, "email");
    assert_field_error(&app.post(&path, &app.admin_token, json!({ "name": "No Mail" })).await, "email");
    assert_field_error(
        &app.post(&path, &app.admin_token, json!({ "email": "ok@acme.example", "name": "x".repeat(201) })).await,
        "name",
    );
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example"]);
    assert_eq!(manager_total(&app).await, 1);
}

#[actix_web::test]
async fn the_shop_may_not_add_or_remove_order_managers() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    let second = app.post(&path, &app.admin_token, json!({ "email": "second@acme.example" })).await;
    let second = id_of(&second.assert_status(201)["manager"]);

    let add = app.post(&path, &shop, json!({ "email": "third@acme.example" })).await;
    let remove = app.delete(&format!("{path}/{second}"), &shop).await;

    add.assert_problem(403, "FORBIDDEN");
    remove.assert_problem(403, "FORBIDDEN");
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example", "second@acme.example"]);
    assert_eq!(app.count_events("order_manager.removed").await, 0);
}

#[actix_web::test]
async fn a_manager_removes_another_manager() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    let added =
        app.post(&path, &app.admin_token, json!({ "email": "second@acme.example" })).await.assert_status(201).clone();
    let second_token =
        app.login("second@acme.example", added["initial_password"].as_str().unwrap()).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();

    let answer = app.delete(&format!("{path}/{}", id_of(&added["manager"])), &c.manager_token).await;

    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example"]);
    app.get(&format!("/orders/{}", c.order_id), &second_token).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.count_events("order_manager.removed").await, 1);
}

#[actix_web::test]
async fn a_manager_may_remove_itself() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    app.post(&path, &app.admin_token, json!({ "email": "second@acme.example" })).await.assert_status(201);

    let answer = app.delete(&format!("{path}/{}", c.manager_id), &c.manager_token).await;

    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(manager_emails(&app, &c.order_id).await, ["second@acme.example"]);
    app.get(&format!("/orders/{}", c.order_id), &c.manager_token).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.get("/orders", &c.manager_token).await.assert_status(200)["total"], 0);
    assert_eq!(app.count_events("order_manager.removed").await, 1);
}

#[actix_web::test]
async fn the_last_manager_can_not_be_removed() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers/{}", c.order_id, c.manager_id);

    let by_itself = app.delete(&path, &c.manager_token).await;
    let by_admin = app.delete(&path, &app.admin_token).await;

    by_itself.assert_problem(409, "LAST_MANAGER");
    by_admin.assert_problem(409, "LAST_MANAGER");
    assert_eq!(manager_emails(&app, &c.order_id).await, ["max@acme.example"]);
    assert_eq!(app.count_events("order_manager.removed").await, 0);
}

#[actix_web::test]
async fn removing_someone_who_is_no_manager_of_the_order_is_404() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "a@x.example").await;
    let b = app.order("SO-B", "b@y.example").await;
    app.post(&format!("/orders/{}/managers", a.order_id), &app.admin_token, json!({ "email": "second@x.example" }))
        .await
        .assert_status(201);
    let base = format!("/orders/{}/managers", a.order_id);

    let unknown = app.delete(&format!("{base}/{}", unknown_id()), &app.admin_token).await;
    let other_orders = app.delete(&format!("{base}/{}", b.manager_id), &app.admin_token).await;
    let garbage = app.delete(&format!("{base}/not-an-id"), &a.manager_token).await;
    let no_order = app.delete(&format!("/orders/{}/managers/{}", unknown_id(), a.manager_id), &app.admin_token).await;

    for answer in [unknown, other_orders, garbage, no_order] {
        answer.assert_problem(404, "NOT_FOUND");
    }
    assert_eq!(manager_emails(&app, &a.order_id).await, ["a@x.example", "second@x.example"]);
    assert_eq!(manager_emails(&app, &b.order_id).await, ["b@y.example"]);
    assert_eq!(app.count_events("order_manager.removed").await, 0);
}

#[actix_web::test]
async fn an_abandoned_idempotency_reservation_is_taken_over_after_two_minutes() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let body = json!({
        "number": "SO-ABANDONED",
        "customer": { "company": "Gone Away GmbH" },
        "licenses": [{ "product_code": "CAD", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "m@gone.example" }],
    });
    // A request that reserved the key and never finished (the caller went away).
    let owner = format!("account:{}", app.get("/me", &app.admin_token).await.body["id"].as_str().unwrap());
    let digest = license_server::crypto::sha256_hex(body.to_string());
    let now = app.state.clock.now();
    let record = license_server::models::orders::IdempotencyKey {
        id: license_server::ids::new_id(),
        principal: owner,
        idem_key: "retry-me".into(),
        request_hash: digest,
        order_id: None,
        created_at: now,
        expires_at: now + chrono::TimeDelta::hours(24),
    };
    app.state
        .db
        .run(move |conn| {
            diesel::insert_into(license_server::db::schema::idempotency_keys::table).values(&record).execute(conn)?;
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .unwrap();
    let send = || {
        app.client
            .post(app.url("/orders"))
            .bearer_auth(&app.admin_token)
            .header("idempotency-key", "retry-me")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let early = TestApp::answer(send().await.unwrap()).await;
    early.assert_problem(409, "IDEMPOTENCY_IN_PROGRESS");

    app.state.clock.advance(121);
    let admin = app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD).await;
    let retried = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(admin["access_token"].as_str().unwrap())
        .header("idempotency-key", "retry-me")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let retried = TestApp::answer(retried).await;
    assert_eq!(retried.assert_status(201)["number"], "SO-ABANDONED");
}

#[actix_web::test]
async fn an_orders_managers_are_a_page_newest_first_by_default() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    for email in ["b@acme.example", "a@acme.example"] {
        app.post(&path, &app.admin_token, json!({ "email": email })).await.assert_status(201);
    }
    let newest_first = app.get(&path, &c.manager_token).await;
    let emails = |answer: &crate::helpers::Answer| -> Vec<String> {
        answer.body["items"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(emails(&newest_first), ["a@acme.example", "b@acme.example", "max@acme.example"]);
    let by_email = app.get(&format!("{path}?sort=email&per_page=2"), &c.manager_token).await;
    assert_eq!(emails(&by_email), ["a@acme.example", "b@acme.example"]);
    assert_eq!(by_email.body["total"], 3);
    app.get(&format!("{path}?sort=password"), &c.manager_token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn an_orders_managers_are_searched_by_email_and_name() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@acme.example").await;
    let other = app.order("SO-2", "anna@other.example").await;
    let path = format!("/orders/{}/managers", c.order_id);
    for (email, name) in [
        ("zoe@acme.example", "Zoe 50% Off"),
        ("ida@acme.example", "Ida 50x Off"),
        ("a_b@acme.example", "Ab"),
        ("axb@acme.example", "Axb"),
    ] {
        app.post(&path, &app.admin_token, json!({ "email": email, "name": name })).await.assert_status(201);
    }
    let found = |query: String| {
        let (app, path, token) = (&app, &path, c.manager_token.clone());
        async move {
            let answer = app.get(&format!("{path}?sort=email&{query}"), &token).await;
            answer.assert_status(200);
            let emails: Vec<String> = answer.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["email"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(answer.body["total"], emails.len(), "{query}: total counts the matches");
            emails
        }
    };

    // E-mail and name, case-insensitive, a substring, trimmed.
    assert_eq!(found(format!("q={}", enc(" ZOE "))).await, ["zoe@acme.example"]);
    assert_eq!(found("q=max%20manager".into()).await, ["max@acme.example"]);
    assert_eq!(
        found("q=ACME.example".into()).await,
        ["a_b@acme.example", "axb@acme.example", "ida@acme.example", "max@acme.example", "zoe@acme.example"]
    );
    let page = app.get(&format!("{path}?q=off&per_page=1"), &app.admin_token).await;
    assert_eq!(page.assert_status(200)["total"], 2, "the total counts every match, not the page");
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    // Only the managers of this order: another order's manager does not match.
    assert!(found("q=anna".into()).await.is_empty());
    // `%` and `_` are literal, not LIKE wildcards.
    assert_eq!(found(format!("q={}", enc("50%"))).await, ["zoe@acme.example"]);
    assert_eq!(found(format!("q={}", enc("a_b"))).await, ["a_b@acme.example"]);
    assert_eq!(found(format!("q={}", enc("%"))).await, ["zoe@acme.example"]);
    assert_eq!(found(format!("q={}", enc("_"))).await, ["a_b@acme.example"]);
    // A manager of another order still gets 404, with or without `q`.
    let foreign = app.get(&format!("{path}?q=acme"), &other.manager_token).await;
    foreign.assert_problem(404, "NOT_FOUND");
    assert!(!foreign.text.contains("acme.example"));
}

#[actix_web::test]
async fn an_empty_order_names_every_missing_field_at_once() {
    let app = TestApp::spawn().await;
    let answer = app.post("/orders", &app.admin_token, json!({})).await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    for field in ["number", "licenses", "managers"] {
        assert_eq!(answer.body["errors"][field][0], "is required", "{field}: {}", answer.text);
    }
}

#[actix_web::test]
async fn expired_idempotency_keys_are_purged_when_a_new_key_is_reserved() {
    use diesel::prelude::*;
    use license_server::db::schema::idempotency_keys;
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let order = |number: &str| {
        json!({
            "number": number,
            "customer": { "company": "Purge GmbH" },
            "licenses": [{ "product_code": "CAD", "kind": "user_based", "seats": 1 }],
            "managers": [{ "email": "m@purge.example" }],
        })
    };
    let send = |token: String, key: &'static str, body: Value| {
        let request =
            app.client.post(app.url("/orders")).bearer_auth(token).header("idempotency-key", key).json(&body).send();
        async move { TestApp::answer(request.await.unwrap()).await }
    };
    send(app.admin_token.clone(), "first", order("SO-P1")).await.assert_status(201);
    send(app.admin_token.clone(), "second", order("SO-P2")).await.assert_status(201);
    let count = || async {
        app.state
            .db
            .run(|conn| Ok::<_, license_server::db::DbError>(idempotency_keys::table.count().get_result::<i64>(conn)?))
            .await
            .unwrap()
    };
    assert_eq!(count().await, 2);

    app.state.clock.advance(24 * 3600 + 1);
    let admin = app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD).await;
    send(admin["access_token"].as_str().unwrap().to_owned(), "third", order("SO-P3")).await.assert_status(201);
    assert_eq!(count().await, 1, "only the new key is kept");
}

#[actix_web::test]
async fn a_full_order_takes_no_further_license_or_manager() {
    use license_server::licensing::orders::{MAX_LICENSES, MAX_MANAGERS};
    let app = TestApp::spawn().await;
    app.product("CAD").await;
    let mut body = order_body("SO-1", "Acme", "CAD", "m0@acme.example");
    body["licenses"] = json!(vec![json!({ "product_code": "CAD", "kind": "user_based", "seats": 1 }); MAX_LICENSES]);
    body["managers"] =
        json!((0..MAX_MANAGERS).map(|i| json!({ "email": format!("m{i}@acme.example") })).collect::<Vec<_>>());
    let order = create(&app, body).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["licenses"].as_array().unwrap().len(), MAX_LICENSES);

    let license = json!({ "order_id": order_id, "product_code": "CAD", "kind": "computer_based", "seats": 1 });
    app.post("/licenses", &app.admin_token, license).await.assert_problem(409, "ORDER_FULL");
    let manager = json!({ "email": "one-more@acme.example" });
    let path = format!("/orders/{order_id}/managers");
    app.post(&path, &app.admin_token, manager).await.assert_problem(409, "ORDER_FULL");

    let order = app.get(&format!("/orders/{order_id}"), &app.admin_token).await.assert_status(200).clone();
    assert_eq!(order["licenses"].as_array().unwrap().len(), MAX_LICENSES, "nothing was added");
    assert_eq!(order["managers"].as_array().unwrap().len(), MAX_MANAGERS);
    assert_eq!(app.count_events("order_manager.added").await, MAX_MANAGERS as i64, "only the order's own");
    assert_eq!(app.count_events("license.created").await, MAX_LICENSES as i64);
}
