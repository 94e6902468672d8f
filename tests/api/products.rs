//! Tests of /products: admins manage products, the shop may read them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, assert_rfc3339_utc, audit_events, create_product, enc, id_of};

/// The `code` of every item of a list answer, in order.
fn codes(list: &Value) -> Vec<String> {
    list["items"].as_array().expect("items").iter().map(|p| p["code"].as_str().expect("code").to_owned()).collect()
}

/// The product codes listed at `path` by the admin (asserts 200).
async fn listed(app: &TestApp, path: &str) -> Vec<String> {
    codes(app.get(path, &app.admin_token).await.assert_status(200))
}

// ---- create, read, update ----

#[actix_web::test]
async fn creating_a_product_answers_201_with_every_field() {
    let app = TestApp::spawn().await;

    let answer = app.post("/products", &app.admin_token, json!({"code": "CAD-PRO", "name": "CRE-DO CAD Pro"})).await;

    let body = answer.assert_status(201);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok(), "id is a UUID: {}", body["id"]);
    assert_eq!(body["code"], "CAD-PRO");
    assert_eq!(body["name"], "CRE-DO CAD Pro");
    assert_rfc3339_utc(&body["created_at"]);
    assert_eq!(body["created_at"], body["updated_at"]);
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "created_at", "id", "name", "updated_at"]);
}

#[actix_web::test]
async fn creating_a_product_trims_the_name() {
    let app = TestApp::spawn().await;

    let body = create_product(&app, "CAD", "  CAD Basic  ").await;

    assert_eq!(body["name"], "CAD Basic");
}

#[actix_web::test]
async fn creating_a_product_writes_one_product_created_event() {
    let app = TestApp::spawn().await;

    let product = create_product(&app, "CAD", "CAD Basic").await;

    let events = audit_events(&app, "product.created").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_id.as_deref(), Some(product["id"].as_str().unwrap()));
    assert_eq!(events[0].actor_kind, "admin");
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
}

#[actix_web::test]
async fn a_created_product_reads_back_the_same() {
    let app = TestApp::spawn().await;
    let created = create_product(&app, "CAD-PRO", "CAD Pro").await;

    let answer = app.get(&format!("/products/{}", id_of(&created)), &app.admin_token).await;

    assert_eq!(answer.assert_status(200), &created);
}

#[actix_web::test]
async fn patching_the_name_changes_only_the_name() {
    let app = TestApp::spawn().await;
    let created = create_product(&app, "CAD-PRO", "CAD Pro").await;
    app.state.clock.advance(5);

    let answer =
        app.patch(&format!("/products/{}", id_of(&created)), &app.admin_token, json!({"name": "CAD Pro 2"})).await;

    let body = answer.assert_status(200).clone();
    assert_eq!(body["id"], created["id"]);
    assert_eq!(body["code"], "CAD-PRO");
    assert_eq!(body["name"], "CAD Pro 2");
    assert_eq!(body["created_at"], created["created_at"]);
    assert_ne!(body["updated_at"], created["updated_at"]);
    assert_rfc3339_utc(&body["updated_at"]);
    let read = app.get(&format!("/products/{}", id_of(&created)), &app.admin_token).await;
    assert_eq!(read.assert_status(200), &body);
}

#[actix_web::test]
async fn patching_the_code_changes_only_the_code() {
    let app = TestApp::spawn().await;
    let created = create_product(&app, "CAD-PRO", "CAD Pro").await;

    let answer =
        app.patch(&format!("/products/{}", id_of(&created)), &app.admin_token, json!({"code": "CAD-PLUS"})).await;

    let body = answer.assert_status(200);
    assert_eq!(body["code"], "CAD-PLUS");
    assert_eq!(body["name"], "CAD Pro");
    let read = app.get(&format!("/products/{}", id_of(&created)), &app.admin_token).await;
    assert_eq!(read.body["code"], "CAD-PLUS");
    assert_eq!(read.body["name"], "CAD Pro");
}

#[actix_web::test]
async fn patching_a_product_writes_one_product_updated_event() {
    let app = TestApp::spawn().await;
    let created = create_product(&app, "CAD", "CAD Basic").await;

    app.patch(&format!("/products/{}", id_of(&created)), &app.admin_token, json!({"name": "CAD Basic 2"}))
        .await
        .assert_status(200);

    let events = audit_events(&app, "product.updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_id.as_deref(), created["id"].as_str());
    assert_eq!(app.count_events("product.created").await, 1);
}

#[actix_web::test]
async fn a_product_may_keep_its_own_code() {
    let app = TestApp::spawn().await;
    let created = create_product(&app, "CAD", "CAD Basic").await;

    let answer = app
        .patch(&format!("/products/{}", id_of(&created)), &app.admin_token, json!({"code": "CAD", "name": "New"}))
        .await;

    assert_eq!(answer.assert_status(200)["name"], "New");
}

// ---- conflicts ----

#[actix_web::test]
async fn a_taken_code_on_create_is_409_and_creates_nothing() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;

    let answer = app.post("/products", &app.admin_token, json!({"code": "CAD", "name": "Another"})).await;

    answer.assert_problem(409, "PRODUCT_CODE_TAKEN");
    let list = app.get("/products", &app.admin_token).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["name"], "CAD Basic");
    assert_eq!(app.count_events("product.created").await, 1);
}

#[actix_web::test]
async fn a_taken_code_on_patch_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;
    let other = create_product(&app, "CAM", "CAM Basic").await;

    let answer =
        app.patch(&format!("/products/{}", id_of(&other)), &app.admin_token, json!({"code": "CAD", "name": "X"})).await;

    answer.assert_problem(409, "PRODUCT_CODE_TAKEN");
    let read = app.get(&format!("/products/{}", id_of(&other)), &app.admin_token).await;
    assert_eq!(read.assert_status(200), &other);
    assert_eq!(app.count_events("product.updated").await, 0);
}

// ---- lists ----

#[actix_web::test]
async fn the_list_answers_a_page_of_full_products() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;

    let answer = app.get("/products", &app.admin_token).await;

    let body = answer.assert_status(200);
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 50);
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"], json!([product]));
}

#[actix_web::test]
async fn an_empty_list_is_a_page_without_items() {
    let app = TestApp::spawn().await;

    let answer = app.get("/products", &app.admin_token).await;

    assert_eq!(answer.assert_status(200), &json!({"items": [], "page": 1, "per_page": 50, "total": 0}));
}

#[actix_web::test]
async fn the_list_is_newest_first_by_default() {
    let app = TestApp::spawn().await;
    for code in ["FIRST", "SECOND", "THIRD"] {
        create_product(&app, code, code).await;
        app.state.clock.advance(1);
    }

    assert_eq!(listed(&app, "/products").await, ["THIRD", "SECOND", "FIRST"]);
}

#[actix_web::test]
async fn the_list_sorts_by_code_name_and_created_at_both_ways() {
    let app = TestApp::spawn().await;
    // Creation, code and name orders all differ.
    for (code, name) in [("B", "Zeta"), ("C", "Alpha"), ("A", "Mu")] {
        create_product(&app, code, name).await;
        app.state.clock.advance(1);
    }

    assert_eq!(listed(&app, "/products?sort=code").await, ["A", "B", "C"]);
    assert_eq!(listed(&app, "/products?sort=-code").await, ["C", "B", "A"]);
    assert_eq!(listed(&app, "/products?sort=name").await, ["C", "A", "B"]);
    assert_eq!(listed(&app, "/products?sort=-name").await, ["B", "A", "C"]);
    assert_eq!(listed(&app, "/products?sort=created_at").await, ["B", "C", "A"]);
    assert_eq!(listed(&app, "/products?sort=-created_at").await, ["A", "C", "B"]);
}

#[actix_web::test]
async fn an_unknown_sort_field_is_422() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;

    for sort in ["price", "-price", "updated_at", "-", "code,name"] {
        let answer = app.get(&format!("/products?sort={}", enc(sort)), &app.admin_token).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["sort"][0].as_str().unwrap().contains("code"), "sort={sort}: {}", answer.text);
    }
}

#[actix_web::test]
async fn q_searches_code_and_name_ignoring_case() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD-PRO", "Drafting Suite").await;
    create_product(&app, "CAM", "Milling with cad export").await;
    create_product(&app, "VIEWER", "Viewer").await;

    let mut found = listed(&app, "/products?q=CaD&sort=code").await;
    found.sort();

    assert_eq!(found, ["CAD-PRO", "CAM"]);
    let answer = app.get("/products?q=cad", &app.admin_token).await;
    assert_eq!(answer.body["total"], 2);
    assert_eq!(listed(&app, "/products?q=viewer").await, ["VIEWER"]);
    assert_eq!(listed(&app, "/products?q=nothing-like-it").await, Vec::<String>::new());
}

#[actix_web::test]
async fn q_takes_percent_and_underscore_literally() {
    let app = TestApp::spawn().await;
    create_product(&app, "A_B", "Plain").await;
    create_product(&app, "AXB", "Plain").await;
    create_product(&app, "SALE", "50% off").await;
    create_product(&app, "FULL", "500 units").await;

    assert_eq!(listed(&app, &format!("/products?q={}", enc("a_b"))).await, ["A_B"]);
    assert_eq!(listed(&app, &format!("/products?q={}", enc("50%"))).await, ["SALE"]);
    assert_eq!(listed(&app, &format!("/products?q={}", enc("%"))).await, ["SALE"]);
}

#[actix_web::test]
async fn pages_neither_skip_nor_repeat_products() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for i in 0..5 {
        // Equal names: ties in the sort are broken by id.
        all.push(create_product(&app, &format!("P{i}"), "Same name").await["code"].as_str().unwrap().to_owned());
    }

    for sort in ["-created_at", "name", "-name"] {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let answer = app.get(&format!("/products?sort={sort}&per_page=2&page={page}"), &app.admin_token).await;
            let body = answer.assert_status(200);
            assert_eq!(body["page"], page);
            assert_eq!(body["per_page"], 2);
            assert_eq!(body["total"], 5);
            seen.extend(codes(body));
        }
        let past = app.get(&format!("/products?sort={sort}&per_page=2&page=4"), &app.admin_token).await;
        assert_eq!(past.assert_status(200)["items"], json!([]));
        assert_eq!(past.body["total"], 5);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, all, "sort={sort}: every product once, got {seen:?}");
    }
}

#[actix_web::test]
async fn per_page_may_be_1_to_200() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;

    for query in ["per_page=0", "per_page=201", "per_page=-1", "page=0", "page=abc", "per_page=x"] {
        let answer = app.get(&format!("/products?{query}"), &app.admin_token).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"].is_object(), "{query}: {}", answer.text);
    }
    let zero = app.get("/products?per_page=0", &app.admin_token).await;
    assert!(zero.body["errors"]["per_page"].is_array());
    assert_eq!(app.get("/products?per_page=200", &app.admin_token).await.assert_status(200)["per_page"], 200);
    assert_eq!(app.get("/products?per_page=1", &app.admin_token).await.assert_status(200)["per_page"], 1);
}

// ---- bad input ----

#[actix_web::test]
async fn missing_fields_are_422_naming_the_field() {
    let app = TestApp::spawn().await;

    let no_name = app.post("/products", &app.admin_token, json!({"code": "CAD"})).await;
    let no_code = app.post("/products", &app.admin_token, json!({"name": "CAD Basic"})).await;
    let nothing = app.post("/products", &app.admin_token, json!({})).await;

    no_name.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(no_name.body["errors"]["name"], json!(["is required"]));
    no_code.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(no_code.body["errors"]["code"], json!(["is required"]));
    nothing.assert_problem(422, "VALIDATION_FAILED");
    assert!(nothing.body["errors"].as_object().is_some_and(|e| !e.is_empty()), "{}", nothing.text);
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 0);
    assert_eq!(app.count_events("product.created").await, 0);
}

#[actix_web::test]
async fn invalid_codes_and_names_are_422() {
    let app = TestApp::spawn().await;
    let long_code = "C".repeat(65);
    let long_name = "n".repeat(201);
    let cases = [
        (json!({"code": "", "name": "x"}), "code"),
        (json!({"code": "has space", "name": "x"}), "code"),
        (json!({"code": "ÄÖÜ", "name": "x"}), "code"),
        (json!({"code": "a/b", "name": "x"}), "code"),
        (json!({"code": long_code, "name": "x"}), "code"),
        (json!({"code": "CAD", "name": ""}), "name"),
        (json!({"code": "CAD", "name": long_name}), "name"),
    ];

    for (body, field) in cases {
        let answer = app.post("/products", &app.admin_token, body.clone()).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"][field].is_array(), "{body}: {}", answer.text);
    }
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 0);
    assert_eq!(app.count_events("product.created").await, 0);
}

#[actix_web::test]
async fn the_longest_code_and_name_are_accepted() {
    let app = TestApp::spawn().await;
    let code = format!("{}-_.9", "C".repeat(60));
    let name = "n".repeat(200);

    let body = create_product(&app, &code, &name).await;

    assert_eq!(body["code"], code);
    assert_eq!(body["name"], name);
}

#[actix_web::test]
async fn a_blank_name_is_422() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;

    let created = app.post("/products", &app.admin_token, json!({"code": "CAM", "name": "   "})).await;
    let patched = app.patch(&format!("/products/{}", id_of(&product)), &app.admin_token, json!({"name": " \t "})).await;

    created.assert_problem(422, "VALIDATION_FAILED");
    assert!(created.body["errors"]["name"].is_array());
    patched.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(app.get(&format!("/products/{}", id_of(&product)), &app.admin_token).await.body["name"], "CAD Basic");
}

#[actix_web::test]
async fn wrong_types_are_422() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let path = format!("/products/{}", id_of(&product));

    let code = app.post("/products", &app.admin_token, json!({"code": 5, "name": "x"})).await;
    let name = app.post("/products", &app.admin_token, json!({"code": "CAM", "name": ["x"]})).await;
    let patch = app.patch(&path, &app.admin_token, json!({"name": true})).await;
    let not_object = app.post("/products", &app.admin_token, json!("CAM")).await;

    code.assert_problem(422, "VALIDATION_FAILED");
    assert!(code.body["errors"]["code"].is_array(), "{}", code.text);
    name.assert_problem(422, "VALIDATION_FAILED");
    assert!(name.body["errors"]["name"].is_array(), "{}", name.text);
    patch.assert_problem(422, "VALIDATION_FAILED");
    assert!(patch.body["errors"]["name"].is_array(), "{}", patch.text);
    not_object.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 1);
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn invalid_patches_change_nothing() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let path = format!("/products/{}", id_of(&product));

    for body in
        [json!({"code": ""}), json!({"code": "a b"}), json!({"name": "x", "code": "bad code"}), json!({"name": ""})]
    {
        app.patch(&path, &app.admin_token, body).await.assert_problem(422, "VALIDATION_FAILED");
    }

    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let path = format!("/products/{}", id_of(&product));
    let token = Some(app.admin_token.as_str());

    for body in [&b"{\"code\": \"CAM\", "[..], b"", b"{\"code\":\"CAM\",\"name\":\"x\"} trailing", b"not json"] {
        app.raw(Method::POST, "/products", token, Some("application/json"), body.to_vec())
            .await
            .assert_problem(400, "MALFORMED_BODY");
    }
    app.raw(Method::PATCH, &path, token, Some("application/json"), b"{\"name\":".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");

    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 1);
    assert_eq!(app.count_events("product.created").await, 1);
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let path = format!("/products/{}", id_of(&product));
    let token = Some(app.admin_token.as_str());
    let json_bytes = serde_json::to_vec(&json!({"code": "CAM", "name": "CAM"})).unwrap();

    app.raw(Method::POST, "/products", token, Some("text/plain"), json_bytes.clone())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, "/products", token, Some("application/x-www-form-urlencoded"), b"code=CAM&name=CAM".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, "/products", token, None, json_bytes.clone())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::PATCH, &path, token, Some("text/plain"), json_bytes)
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 1);
}

#[actix_web::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;
    let unknown = uuid::Uuid::new_v4().to_string();

    for id in [unknown.as_str(), "not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
        app.get(&format!("/products/{id}"), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
        app.patch(&format!("/products/{id}"), &app.admin_token, json!({"name": "x"}))
            .await
            .assert_problem(404, "NOT_FOUND");
    }
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn an_id_in_another_spelling_names_the_same_product() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let upper = id_of(&product).to_uppercase();

    let answer = app.get(&format!("/products/{upper}"), &app.admin_token).await;

    assert_eq!(answer.assert_status(200), &product);
}

#[actix_web::test]
async fn deleting_a_product_is_405() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;

    let answer = app.delete(&format!("/products/{}", id_of(&product)), &app.admin_token).await;

    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(app.get(&format!("/products/{}", id_of(&product)), &app.admin_token).await.status, 200);
}

// ---- roles ----

#[actix_web::test]
async fn without_a_token_every_product_call_is_401() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let path = format!("/products/{}", id_of(&product));

    let answers = [
        app.call(Method::GET, "/products", None, None).await,
        app.call(Method::GET, &path, None, None).await,
        app.call(Method::POST, "/products", None, Some(json!({"code": "CAM", "name": "CAM"}))).await,
        app.call(Method::PATCH, &path, None, Some(json!({"name": "Changed"}))).await,
    ];

    for answer in answers {
        answer.assert_problem(401, "INVALID_TOKEN");
        assert_eq!(answer.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 1);
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn a_garbage_token_or_unknown_api_key_is_401() {
    let app = TestApp::spawn().await;

    app.get("/products", "garbage").await.assert_problem(401, "INVALID_TOKEN");
    app.get("/products", "lsk_notarealkey").await.assert_problem(401, "INVALID_TOKEN");
    app.post("/products", "lsk_notarealkey", json!({"code": "CAM", "name": "CAM"}))
        .await
        .assert_problem(401, "INVALID_TOKEN");
    assert_eq!(app.count_events("product.created").await, 0);
}

#[actix_web::test]
async fn the_shop_may_list_and_read_products() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let shop = app.shop_key().await;

    let list = app.get("/products", &shop).await;
    let one = app.get(&format!("/products/{}", id_of(&product)), &shop).await;

    assert_eq!(list.assert_status(200)["items"], json!([product]));
    assert_eq!(list.body["total"], 1);
    assert_eq!(one.assert_status(200), &product);
}

#[actix_web::test]
async fn the_shop_may_search_sort_and_page_products() {
    let app = TestApp::spawn().await;
    for code in ["CAD", "CAM", "VIEW"] {
        create_product(&app, code, code).await;
    }
    let shop = app.shop_key().await;

    let answer = app.get("/products?q=ca&sort=-code&per_page=1&page=2", &shop).await;

    let body = answer.assert_status(200);
    assert_eq!(codes(body), ["CAD"]);
    assert_eq!(body["total"], 2);
}

#[actix_web::test]
async fn the_shop_may_not_create_products() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;

    let answer = app.post("/products", &shop, json!({"code": "CAD", "name": "CAD Basic"})).await;

    answer.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get("/products", &app.admin_token).await.body["total"], 0);
    assert_eq!(app.count_events("product.created").await, 0);
}

#[actix_web::test]
async fn the_shop_may_not_change_products() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "CAD", "CAD Basic").await;
    let shop = app.shop_key().await;
    let path = format!("/products/{}", id_of(&product));

    let answer = app.patch(&path, &shop, json!({"name": "Cheap CAD", "code": "FREE"})).await;

    answer.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get(&path, &app.admin_token).await.assert_status(200), &product);
    assert_eq!(app.count_events("product.updated").await, 0);
}

#[actix_web::test]
async fn a_refused_create_writes_no_event() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;
    let shop = app.shop_key().await;

    app.post("/products", &shop, json!({"code": "CAM", "name": "CAM"})).await.assert_problem(403, "FORBIDDEN");
    app.post("/products", &app.admin_token, json!({"code": "CAD", "name": "Dup"}))
        .await
        .assert_problem(409, "PRODUCT_CODE_TAKEN");
    app.post("/products", &app.admin_token, json!({"code": "", "name": "Empty"}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");

    assert_eq!(app.count_events("product.created").await, 1);
}

#[actix_web::test]
async fn a_page_far_past_the_end_is_empty_not_an_error() {
    let app = TestApp::spawn().await;
    create_product(&app, "CAD", "CAD Basic").await;

    let far = app.get("/products?page=1000000", &app.admin_token).await;
    assert_eq!(far.assert_status(200)["items"], json!([]));
    assert_eq!(far.body["total"], 1);
    // Pages whose offset does not fit in 64 bits: an empty page or a 422, never a 500.
    for query in ["page=9223372036854775807", "per_page=200&page=46116860184273880"] {
        let answer = app.get(&format!("/products?{query}"), &app.admin_token).await;
        if answer.status == 422 {
            answer.assert_problem(422, "VALIDATION_FAILED");
            assert!(answer.body["errors"]["page"].is_array(), "{query}: {}", answer.text);
        } else {
            assert_eq!(answer.assert_status(200)["items"], json!([]), "{query}");
        }
    }
}

#[actix_web::test]
async fn q_ignores_case_beyond_ascii() {
    let app = TestApp::spawn().await;
    create_product(&app, "GRUNDRISS", "GRUNDRISS ÄNDERN").await;
    create_product(&app, "OTHER", "Other").await;

    assert_eq!(listed(&app, &format!("/products?q={}", enc("änd"))).await, ["GRUNDRISS"]);
    assert_eq!(listed(&app, &format!("/products?q={}", enc("ÄND"))).await, ["GRUNDRISS"]);
}
