//! Tests of /customers: admins and the shop create, read and update them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, assert_rfc3339_utc, audit_events, customer_total, enc};

/// The `company` of every item of a list answer, in order.
fn companies(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["company"].as_str().expect("company").to_owned())
        .collect()
}

/// The companies listed at `path` by the admin (asserts 200).
async fn listed(app: &TestApp, path: &str) -> Vec<String> {
    companies(app.get(path, &app.admin_token).await.assert_status(200))
}

async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/customers", &app.admin_token, body).await.assert_status(201).clone()
}

async fn company(app: &TestApp, name: &str) -> Value {
    create(app, json!({ "company": name })).await
}

fn full_customer() -> Value {
    json!({
        "company": "Muster Bau GmbH",
        "contact_name": "Erika Mustermann",
        "email": "erika@muster-bau.example",
        "address": "Hauptstraße 1\n12345 Berlin",
        "country": "DE",
        "vat_id": "DE123456789",
    })
}

fn path_of(customer: &Value) -> String {
    format!("/customers/{}", customer["id"].as_str().expect("id"))
}

// ---- create, read, update ----

#[actix_web::test]
async fn creating_a_customer_answers_201_with_every_field() {
    let app = TestApp::spawn().await;

    let answer = app.post("/customers", &app.admin_token, full_customer()).await;

    let body = answer.assert_status(201);
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok(), "id is a UUID: {}", body["id"]);
    for field in ["company", "contact_name", "email", "address", "country", "vat_id"] {
        assert_eq!(body[field], full_customer()[field], "{field}");
    }
    assert_rfc3339_utc(&body["created_at"]);
    assert_eq!(body["created_at"], body["updated_at"]);
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["address", "company", "contact_name", "country", "created_at", "email", "id", "updated_at", "vat_id"]
    );
}

#[actix_web::test]
async fn only_the_company_is_required() {
    let app = TestApp::spawn().await;

    let body = company(&app, "Solo GmbH").await;

    assert_eq!(body["company"], "Solo GmbH");
    for field in ["contact_name", "email", "address", "country", "vat_id"] {
        assert_eq!(body[field], "", "{field}");
    }
}

#[actix_web::test]
async fn creating_a_customer_writes_one_customer_created_event() {
    let app = TestApp::spawn().await;

    let customer = create(&app, full_customer()).await;

    let events = audit_events(&app, "customer.created").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_id.as_deref(), customer["id"].as_str());
    assert_eq!(events[0].actor_kind, "admin");
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
}

#[actix_web::test]
async fn a_created_customer_reads_back_the_same() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    let answer = app.get(&path_of(&created), &app.admin_token).await;

    assert_eq!(answer.assert_status(200), &created);
}

#[actix_web::test]
async fn text_fields_are_trimmed_and_the_email_lower_cased() {
    let app = TestApp::spawn().await;

    let body = create(
        &app,
        json!({
            "company": "  Muster Bau GmbH ",
            "contact_name": " Erika ",
            "email": "Erika@Muster-Bau.EXAMPLE",
            "vat_id": " DE1 ",
        }),
    )
    .await;

    assert_eq!(body["company"], "Muster Bau GmbH");
    assert_eq!(body["contact_name"], "Erika");
    assert_eq!(body["email"], "erika@muster-bau.example");
    assert_eq!(body["vat_id"], "DE1");
}

#[actix_web::test]
async fn the_address_may_span_lines() {
    let app = TestApp::spawn().await;
    let address = "Muster Bau GmbH\nz. Hd. Buchhaltung\n\tHauptstraße 1\n\n12345 Berlin";

    let created = create(&app, json!({"company": "Muster Bau GmbH", "address": address})).await;

    assert_eq!(created["address"], address);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.body["address"], address);
    let patched = app.patch(&path_of(&created), &app.admin_token, json!({"address": "Line 1\nLine 2"})).await;
    assert_eq!(patched.assert_status(200)["address"], "Line 1\nLine 2");
}

#[actix_web::test]
async fn patching_changes_only_the_given_fields() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    app.state.clock.advance(5);

    let answer =
        app.patch(&path_of(&created), &app.admin_token, json!({"contact_name": "Max Muster", "country": "AT"})).await;

    let body = answer.assert_status(200).clone();
    assert_eq!(body["contact_name"], "Max Muster");
    assert_eq!(body["country"], "AT");
    for field in ["id", "company", "email", "address", "vat_id", "created_at"] {
        assert_eq!(body[field], created[field], "{field}");
    }
    assert_ne!(body["updated_at"], created["updated_at"]);
    assert_rfc3339_utc(&body["updated_at"]);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &body);
}

#[actix_web::test]
async fn optional_fields_may_be_cleared() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    let answer = app
        .patch(&path_of(&created), &app.admin_token, json!({"email": "", "country": "", "vat_id": "", "address": ""}))
        .await;

    let body = answer.assert_status(200);
    for field in ["email", "country", "vat_id", "address"] {
        assert_eq!(body[field], "", "{field}");
    }
    assert_eq!(body["company"], "Muster Bau GmbH");
    assert_eq!(body["contact_name"], "Erika Mustermann");
}

#[actix_web::test]
async fn patching_a_customer_writes_one_customer_updated_event() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    app.patch(&path_of(&created), &app.admin_token, json!({"company": "Muster Bau AG"})).await.assert_status(200);

    let events = audit_events(&app, "customer.updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_id.as_deref(), created["id"].as_str());
    assert_eq!(events[0].actor_kind, "admin");
    assert_eq!(app.count_events("customer.created").await, 1);
}

// ---- country and e-mail ----

#[actix_web::test]
async fn the_country_must_be_an_assigned_upper_case_alpha_2_code() {
    let app = TestApp::spawn().await;

    for country in ["XX", "de", "De", "DEU", "D", "276", " DE", "EU", "UK"] {
        let answer = app.post("/customers", &app.admin_token, json!({"company": "X", "country": country})).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["country"].is_array(), "{country}: {}", answer.text);
    }
    assert_eq!(customer_total(&app).await, 0);
    for country in ["DE", "CH", "AT", "US", "GB"] {
        let body = create(&app, json!({"company": "X", "country": country})).await;
        assert_eq!(body["country"], country);
    }
}

#[actix_web::test]
async fn a_patch_to_an_invalid_country_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    for country in ["XX", "de", "DEU"] {
        let answer = app.patch(&path_of(&created), &app.admin_token, json!({"country": country})).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["country"].is_array(), "{country}: {}", answer.text);
    }

    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
    assert_eq!(app.count_events("customer.updated").await, 0);
}

#[actix_web::test]
async fn a_non_empty_email_must_be_an_email_address() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    for email in ["not-an-email", "a@", "@example.com", "two words@example.com"] {
        let answer = app.post("/customers", &app.admin_token, json!({"company": "X", "email": email})).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["email"].is_array(), "{email}: {}", answer.text);
        let patch = app.patch(&path_of(&created), &app.admin_token, json!({"email": email})).await;
        patch.assert_problem(422, "VALIDATION_FAILED");
    }

    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.body["email"], "erika@muster-bau.example");
    assert_eq!(create(&app, json!({"company": "X", "email": ""})).await["email"], "");
}

// ---- lists ----

#[actix_web::test]
async fn the_list_answers_a_page_of_full_customers() {
    let app = TestApp::spawn().await;
    let customer = create(&app, full_customer()).await;

    let answer = app.get("/customers", &app.admin_token).await;

    let body = answer.assert_status(200);
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 50);
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"], json!([customer]));
}

#[actix_web::test]
async fn the_list_is_newest_first_by_default() {
    let app = TestApp::spawn().await;
    for name in ["First", "Second", "Third"] {
        company(&app, name).await;
        app.state.clock.advance(1);
    }

    assert_eq!(listed(&app, "/customers").await, ["Third", "Second", "First"]);
}

#[actix_web::test]
async fn the_list_sorts_by_company_and_created_at_both_ways() {
    let app = TestApp::spawn().await;
    for name in ["Beta", "Gamma", "Alpha"] {
        company(&app, name).await;
        app.state.clock.advance(1);
    }

    assert_eq!(listed(&app, "/customers?sort=company").await, ["Alpha", "Beta", "Gamma"]);
    assert_eq!(listed(&app, "/customers?sort=-company").await, ["Gamma", "Beta", "Alpha"]);
    assert_eq!(listed(&app, "/customers?sort=created_at").await, ["Beta", "Gamma", "Alpha"]);
    assert_eq!(listed(&app, "/customers?sort=-created_at").await, ["Alpha", "Gamma", "Beta"]);
}

#[actix_web::test]
async fn an_unknown_sort_field_is_422() {
    let app = TestApp::spawn().await;
    company(&app, "Alpha").await;

    for sort in ["country", "-email", "updated_at", "-", "company,created_at"] {
        let answer = app.get(&format!("/customers?sort={}", enc(sort)), &app.admin_token).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["sort"][0].as_str().unwrap().contains("company"), "{sort}: {}", answer.text);
    }
}

#[actix_web::test]
async fn q_searches_company_contact_email_and_vat_id_ignoring_case() {
    let app = TestApp::spawn().await;
    create(&app, json!({"company": "Needle Works"})).await;
    create(&app, json!({"company": "By Contact", "contact_name": "Nelly NEEDLE"})).await;
    create(&app, json!({"company": "By Mail", "email": "info@needle.example"})).await;
    create(&app, json!({"company": "By VAT", "vat_id": "DENEEDLE1"})).await;
    create(&app, json!({"company": "Haystack"})).await;

    let found = app.get("/customers?q=nEeDlE&sort=company", &app.admin_token).await;

    assert_eq!(companies(found.assert_status(200)), ["By Contact", "By Mail", "By VAT", "Needle Works"]);
    assert_eq!(found.body["total"], 4);
    assert_eq!(listed(&app, "/customers?q=haystack").await, ["Haystack"]);
    assert_eq!(listed(&app, "/customers?q=zzz").await, Vec::<String>::new());
}

#[actix_web::test]
async fn q_takes_percent_and_underscore_literally() {
    let app = TestApp::spawn().await;
    company(&app, "100% Bau").await;
    company(&app, "1000 Bau").await;
    company(&app, "A_B Tech").await;
    company(&app, "AXB Tech").await;

    assert_eq!(listed(&app, &format!("/customers?q={}", enc("100%"))).await, ["100% Bau"]);
    assert_eq!(listed(&app, &format!("/customers?q={}", enc("%"))).await, ["100% Bau"]);
    assert_eq!(listed(&app, &format!("/customers?q={}", enc("a_b"))).await, ["A_B Tech"]);
    assert_eq!(listed(&app, &format!("/customers?q={}", enc("_"))).await, ["A_B Tech"]);
}

#[actix_web::test]
async fn pages_neither_skip_nor_repeat_customers() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for _ in 0..5 {
        // Equal companies: ties in the sort are broken by id.
        all.push(company(&app, "Same GmbH").await["id"].as_str().unwrap().to_owned());
    }
    all.sort();

    for sort in ["-created_at", "created_at", "company", "-company"] {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let answer = app.get(&format!("/customers?sort={sort}&per_page=2&page={page}"), &app.admin_token).await;
            let body = answer.assert_status(200);
            assert_eq!(body["page"], page);
            assert_eq!(body["per_page"], 2);
            assert_eq!(body["total"], 5);
            seen.extend(body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        }
        assert_eq!(seen.len(), 5, "sort={sort}");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, all, "sort={sort}: every customer once, got {seen:?}");
    }
    let past = app.get("/customers?per_page=2&page=4", &app.admin_token).await;
    assert_eq!(past.assert_status(200)["items"], json!([]));
    assert_eq!(past.body["total"], 5);
}

#[actix_web::test]
async fn per_page_may_be_1_to_200() {
    let app = TestApp::spawn().await;
    company(&app, "Alpha").await;

    for query in ["per_page=0", "per_page=201", "page=0", "page=-3", "page=x"] {
        let answer = app.get(&format!("/customers?{query}"), &app.admin_token).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"].is_object(), "{query}: {}", answer.text);
    }
    let big = app.get("/customers?per_page=201", &app.admin_token).await;
    assert!(big.body["errors"]["per_page"].is_array());
    assert_eq!(app.get("/customers?per_page=200", &app.admin_token).await.assert_status(200)["per_page"], 200);
}

// ---- bad input ----

#[actix_web::test]
async fn a_missing_company_is_422() {
    let app = TestApp::spawn().await;

    let nothing = app.post("/customers", &app.admin_token, json!({})).await;
    let others_only = app.post("/customers", &app.admin_token, json!({"contact_name": "Erika", "country": "DE"})).await;

    nothing.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(nothing.body["errors"]["company"], json!(["is required"]));
    others_only.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(others_only.body["errors"]["company"], json!(["is required"]));
    assert_eq!(customer_total(&app).await, 0);
    assert_eq!(app.count_events("customer.created").await, 0);
}

#[actix_web::test]
async fn too_long_or_empty_fields_are_422() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"company": ""}), "company"),
        (json!({"company": "c".repeat(201)}), "company"),
        (json!({"company": "X", "contact_name": "c".repeat(201)}), "contact_name"),
        (json!({"company": "X", "address": "a".repeat(1001)}), "address"),
        (json!({"company": "X", "vat_id": "V".repeat(33)}), "vat_id"),
        (json!({"company": "X", "email": format!("{}@example.com", "e".repeat(250))}), "email"),
    ];

    for (body, field) in cases {
        let answer = app.post("/customers", &app.admin_token, body.clone()).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"][field].is_array(), "{field}: {}", answer.text);
    }
    assert_eq!(customer_total(&app).await, 0);
}

#[actix_web::test]
async fn a_blank_company_is_422() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    let post = app.post("/customers", &app.admin_token, json!({"company": "   "})).await;
    let patch = app.patch(&path_of(&created), &app.admin_token, json!({"company": "\t \n"})).await;

    post.assert_problem(422, "VALIDATION_FAILED");
    assert!(post.body["errors"]["company"].is_array());
    patch.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.body["company"], "Muster Bau GmbH");
}

#[actix_web::test]
async fn wrong_types_are_422() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    let company = app.post("/customers", &app.admin_token, json!({"company": 42})).await;
    let country = app.post("/customers", &app.admin_token, json!({"company": "X", "country": 276})).await;
    let patch = app.patch(&path_of(&created), &app.admin_token, json!({"address": ["Line 1", "Line 2"]})).await;
    let array = app.post("/customers", &app.admin_token, json!([{"company": "X"}])).await;

    company.assert_problem(422, "VALIDATION_FAILED");
    assert!(company.body["errors"]["company"].is_array(), "{}", company.text);
    country.assert_problem(422, "VALIDATION_FAILED");
    assert!(country.body["errors"]["country"].is_array(), "{}", country.text);
    patch.assert_problem(422, "VALIDATION_FAILED");
    assert!(patch.body["errors"]["address"].is_array(), "{}", patch.text);
    array.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
    assert_eq!(app.count_events("customer.updated").await, 0);
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    let token = Some(app.admin_token.as_str());

    for body in [&b"{\"company\": "[..], b"", b"   ", b"{\"company\":\"X\"}{}"] {
        app.raw(Method::POST, "/customers", token, Some("application/json"), body.to_vec())
            .await
            .assert_problem(400, "MALFORMED_BODY");
    }
    app.raw(Method::PATCH, &path_of(&created), token, Some("application/json"), b"{company: \"X\"}".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");

    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
    assert_eq!(app.count_events("customer.created").await, 1);
    assert_eq!(app.count_events("customer.updated").await, 0);
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    let token = Some(app.admin_token.as_str());
    let bytes = serde_json::to_vec(&json!({"company": "X"})).unwrap();

    app.raw(Method::POST, "/customers", token, Some("text/plain"), bytes.clone())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, "/customers", token, None, bytes.clone()).await.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::PATCH, &path_of(&created), token, Some("application/xml"), b"<company>X</company>".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
}

#[actix_web::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = TestApp::spawn().await;
    create(&app, full_customer()).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    for id in [unknown.as_str(), "not-a-uuid", "1", "%20"] {
        app.get(&format!("/customers/{id}"), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
        app.patch(&format!("/customers/{id}"), &app.admin_token, json!({"company": "X"}))
            .await
            .assert_problem(404, "NOT_FOUND");
    }
    assert_eq!(app.count_events("customer.updated").await, 0);
}

// ---- roles ----

#[actix_web::test]
async fn without_a_token_every_customer_call_is_401() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    let answers = [
        app.call(Method::GET, "/customers", None, None).await,
        app.call(Method::GET, &path_of(&created), None, None).await,
        app.call(Method::POST, "/customers", None, Some(json!({"company": "X"}))).await,
        app.call(Method::PATCH, &path_of(&created), None, Some(json!({"company": "X"}))).await,
    ];

    for answer in answers {
        answer.assert_problem(401, "INVALID_TOKEN");
        assert_eq!(answer.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
    assert_eq!(app.count_events("customer.created").await, 1);
    assert_eq!(app.count_events("customer.updated").await, 0);
}

#[actix_web::test]
async fn the_shop_may_create_customers() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;

    let answer = app.post("/customers", &shop, full_customer()).await;

    let body = answer.assert_status(201).clone();
    assert_eq!(body["company"], "Muster Bau GmbH");
    assert_eq!(app.get(&path_of(&body), &app.admin_token).await.assert_status(200), &body);
    let events = audit_events(&app, "customer.created").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_kind, "shop");
    assert_eq!(events[0].subject_id.as_deref(), body["id"].as_str());
}

#[actix_web::test]
async fn the_shop_may_list_and_read_customers() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    let shop = app.shop_key().await;

    let list = app.get("/customers?q=muster", &shop).await;
    let one = app.get(&path_of(&created), &shop).await;

    assert_eq!(list.assert_status(200)["items"], json!([created]));
    assert_eq!(one.assert_status(200), &created);
}

#[actix_web::test]
async fn the_shop_may_update_customers() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    let shop = app.shop_key().await;

    let answer = app.patch(&path_of(&created), &shop, json!({"vat_id": "DE999999999"})).await;

    assert_eq!(answer.assert_status(200)["vat_id"], "DE999999999");
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.body["vat_id"], "DE999999999");
    let events = audit_events(&app, "customer.updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_kind, "shop");
}

#[actix_web::test]
async fn a_revoked_shop_key_may_not_touch_customers() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;
    let key = app.post("/api-keys", &app.admin_token, json!({"name": "old shop"})).await.assert_status(201).clone();
    let shop = key["key"].as_str().unwrap().to_owned();
    let revoke = app.delete(&format!("/api-keys/{}", key["id"].as_str().unwrap()), &app.admin_token).await;
    assert_eq!(revoke.status, 204);

    app.get("/customers", &shop).await.assert_problem(401, "INVALID_TOKEN");
    app.post("/customers", &shop, json!({"company": "X"})).await.assert_problem(401, "INVALID_TOKEN");
    app.patch(&path_of(&created), &shop, json!({"company": "X"})).await.assert_problem(401, "INVALID_TOKEN");

    assert_eq!(customer_total(&app).await, 1);
    assert_eq!(app.get(&path_of(&created), &app.admin_token).await.assert_status(200), &created);
}

#[actix_web::test]
async fn refused_requests_write_no_events() {
    let app = TestApp::spawn().await;
    let created = create(&app, full_customer()).await;

    app.post("/customers", &app.admin_token, json!({"company": "X", "country": "XX"}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    app.call(Method::POST, "/customers", None, Some(json!({"company": "X"})))
        .await
        .assert_problem(401, "INVALID_TOKEN");
    app.patch(&path_of(&created), &app.admin_token, json!({"email": "nope"}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    app.patch(&format!("/customers/{}", uuid::Uuid::new_v4()), &app.admin_token, json!({"company": "X"}))
        .await
        .assert_problem(404, "NOT_FOUND");

    assert_eq!(app.count_events("customer.created").await, 1);
    assert_eq!(app.count_events("customer.updated").await, 0);
}

#[actix_web::test]
async fn q_ignores_case_beyond_ascii() {
    let app = TestApp::spawn().await;
    company(&app, "MÜLLER BAU GMBH").await;
    company(&app, "Öko Haus AG").await;
    company(&app, "Mueller Consulting").await;

    assert_eq!(listed(&app, &format!("/customers?q={}", enc("müller"))).await, ["MÜLLER BAU GMBH"]);
    assert_eq!(listed(&app, &format!("/customers?q={}", enc("MÜLLER"))).await, ["MÜLLER BAU GMBH"]);
    assert_eq!(listed(&app, &format!("/customers?q={}", enc("öko"))).await, ["Öko Haus AG"]);
}
