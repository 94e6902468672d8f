//! Tests of /api-keys: admins issue and revoke the shop's keys.

use diesel::prelude::*;
use license_server::models::audit_events::AuditEvent;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, assert_rfc3339_utc, audit_events, enc};

/// Creates a key named `name` and returns the whole create answer.
async fn create(app: &TestApp, name: &str) -> Value {
    app.post("/api-keys", &app.admin_token, json!({ "name": name })).await.assert_status(201).clone()
}

fn key_of(created: &Value) -> String {
    created["key"].as_str().expect("key").to_owned()
}

fn path_of(created: &Value) -> String {
    format!("/api-keys/{}", created["id"].as_str().expect("id"))
}

/// The items of a list answer. The contract's page shape is checked by
/// `the_list_answers_a_page_like_every_collection`; the other tests only need
/// the items, so they also read a bare array.
fn items(list: &Value) -> Vec<Value> {
    match list {
        Value::Array(items) => items.clone(),
        other => other["items"].as_array().unwrap_or_else(|| panic!("a list, got {other}")).clone(),
    }
}

/// The keys listed for the admin (asserts 200).
async fn listed(app: &TestApp) -> Vec<Value> {
    items(app.get("/api-keys", &app.admin_token).await.assert_status(200))
}

/// The listed entry with this id, if listed.
async fn listed_entry(app: &TestApp, id: &Value) -> Option<Value> {
    listed(app).await.into_iter().find(|k| &k["id"] == id)
}

fn names(items: &[Value]) -> Vec<String> {
    items.iter().map(|k| k["name"].as_str().expect("name").to_owned()).collect()
}

/// All audit events.
async fn all_events(app: &TestApp) -> Vec<AuditEvent> {
    use license_server::db::schema::audit_events;
    app.state
        .db
        .run(|conn| {
            Ok::<_, license_server::db::DbError>(audit_events::table.select(AuditEvent::as_select()).load(conn)?)
        })
        .await
        .expect("load events")
}

// ---- create ----

#[actix_web::test]
async fn creating_a_key_answers_201_with_the_key() {
    let app = TestApp::spawn().await;

    let answer = app.post("/api-keys", &app.admin_token, json!({"name": "web shop"})).await;

    let body = answer.assert_status(201);
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok(), "id is a UUID: {}", body["id"]);
    assert_eq!(body["name"], "web shop");
    assert_eq!(body["scope"], "shop");
    assert_rfc3339_utc(&body["created_at"]);
    assert_eq!(body["last_used_at"], Value::Null);
    let key = key_of(body);
    let secret = key.strip_prefix("lsk_").unwrap_or_else(|| panic!("key starts with lsk_: {key}"));
    // At least 128 random bits: 26 base32 or 22 base64 characters.
    assert!(secret.len() >= 26, "long enough: {key}");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()), "URL- and header-safe: {key}");
}

#[actix_web::test]
async fn every_key_is_different() {
    let app = TestApp::spawn().await;

    let first = create(&app, "shop").await;
    let second = create(&app, "shop").await;

    assert_ne!(first["id"], second["id"]);
    assert_ne!(key_of(&first), key_of(&second));
}

#[actix_web::test]
async fn the_key_is_stored_only_as_a_digest() {
    use license_server::db::schema::api_keys;
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;
    let key = key_of(&created);

    let (hash, prefix): (String, String) = app
        .state
        .db
        .run(|conn| {
            Ok::<_, license_server::db::DbError>(
                api_keys::table.select((api_keys::key_hash, api_keys::key_prefix)).first(conn)?,
            )
        })
        .await
        .expect("stored key");

    assert_ne!(hash, key);
    assert!(!hash.contains(&key[4..]), "the digest does not hold the key");
    assert_eq!(hash, license_server::crypto::sha256_hex(&key));
    assert!(key.starts_with(&prefix) && prefix.len() < key.len() / 2, "prefix {prefix} is a short start of the key");
}

#[actix_web::test]
async fn the_key_appears_only_in_the_create_answer() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;

    let entry = listed_entry(&app, &created["id"]).await.expect("the new key is listed");

    assert_eq!(entry["key"], Value::Null);
    assert_eq!(entry["name"], "web shop");
    assert_eq!(entry["scope"], "shop");
    assert_eq!(entry["created_at"], created["created_at"]);
    let list = app.get("/api-keys", &app.admin_token).await;
    assert!(!list.text.contains(&key_of(&created)), "the list never shows the key");
}

#[actix_web::test]
async fn creating_a_key_writes_one_api_key_created_event_without_the_key() {
    let app = TestApp::spawn().await;

    let created = create(&app, "web shop").await;

    let created_events = audit_events(&app, "api_key.created").await;
    assert_eq!(created_events.len(), 1);
    assert_eq!(created_events[0].subject_id.as_deref(), created["id"].as_str());
    assert_eq!(created_events[0].actor_kind, "admin");
    assert_eq!(created_events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    let key = key_of(&created);
    for event in all_events(&app).await {
        assert!(!event.details.contains(&key), "{} holds the key: {}", event.action, event.details);
    }
}

#[actix_web::test]
async fn the_name_is_trimmed() {
    let app = TestApp::spawn().await;

    let created = create(&app, "  web shop  ").await;

    assert_eq!(created["name"], "web shop");
}

// ---- using a key ----

#[actix_web::test]
async fn a_new_key_authenticates_as_the_shop() {
    let app = TestApp::spawn().await;
    let product = app.product("CAD").await;
    let key = key_of(&create(&app, "web shop").await);

    let list = app.get("/products", &key).await;
    let customer = app.post("/customers", &key, json!({"company": "Muster Bau GmbH"})).await;

    assert_eq!(list.assert_status(200)["items"], json!([product]));
    customer.assert_status(201);
    // A shop, not an admin.
    app.post("/products", &key, json!({"code": "CAM", "name": "CAM"})).await.assert_problem(403, "FORBIDDEN");
    app.get("/api-keys", &key).await.assert_problem(403, "FORBIDDEN");
}

#[actix_web::test]
async fn last_used_at_is_set_after_use() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;
    let key = key_of(&created);
    app.state.clock.advance(10);

    app.get("/products", &key).await.assert_status(200);

    let entry = listed_entry(&app, &created["id"]).await.expect("listed");
    let used = assert_rfc3339_utc(&entry["last_used_at"]);
    let made = assert_rfc3339_utc(&created["created_at"]);
    assert!(used >= made + chrono::TimeDelta::seconds(10), "used {used} after created {made} + 10 s");
}

#[actix_web::test]
async fn last_used_at_follows_later_use() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;
    let key = key_of(&created);
    app.get("/products", &key).await.assert_status(200);
    let first = listed_entry(&app, &created["id"]).await.expect("listed")["last_used_at"].clone();
    // Past the minute within which repeated use is not written (and within the admin token's life).
    app.state.clock.advance(120);

    app.get("/products", &key).await.assert_status(200);

    let later = listed_entry(&app, &created["id"]).await.expect("listed")["last_used_at"].clone();
    let (first, later) = (assert_rfc3339_utc(&first), assert_rfc3339_utc(&later));
    assert!(later >= first + chrono::TimeDelta::seconds(120), "{later} is two minutes after {first}");
}

#[actix_web::test]
async fn an_unused_key_has_no_last_used_at() {
    let app = TestApp::spawn().await;
    let used = create(&app, "used").await;
    let unused = create(&app, "unused").await;

    app.get("/products", &key_of(&used)).await.assert_status(200);

    assert_eq!(listed_entry(&app, &unused["id"]).await.expect("listed")["last_used_at"], Value::Null);
    assert!(listed_entry(&app, &used["id"]).await.expect("listed")["last_used_at"].is_string());
}

// ---- revoke ----

#[actix_web::test]
async fn a_revoked_key_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;
    let key = key_of(&created);
    app.get("/products", &key).await.assert_status(200);

    let answer = app.delete(&path_of(&created), &app.admin_token).await;

    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    let refused = app.get("/products", &key).await;
    refused.assert_problem(401, "INVALID_TOKEN");
    assert_eq!(refused.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    app.post("/customers", &key, json!({"company": "X"})).await.assert_problem(401, "INVALID_TOKEN");
}

#[actix_web::test]
async fn a_revoked_key_is_gone_from_the_list() {
    let app = TestApp::spawn().await;
    let kept = create(&app, "kept").await;
    let revoked = create(&app, "revoked").await;

    app.delete(&path_of(&revoked), &app.admin_token).await;

    let ids: Vec<Value> = listed(&app).await.iter().map(|k| k["id"].clone()).collect();
    assert_eq!(ids, [kept["id"].clone()]);
}

#[actix_web::test]
async fn revoking_one_key_leaves_the_others_working() {
    let app = TestApp::spawn().await;
    let kept = create(&app, "kept").await;
    let revoked = create(&app, "revoked").await;

    app.delete(&path_of(&revoked), &app.admin_token).await;

    app.get("/products", &key_of(&kept)).await.assert_status(200);
    app.get("/products", &key_of(&revoked)).await.assert_problem(401, "INVALID_TOKEN");
}

#[actix_web::test]
async fn revoking_writes_one_api_key_revoked_event() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;

    assert_eq!(app.delete(&path_of(&created), &app.admin_token).await.status, 204);

    let revoked = audit_events(&app, "api_key.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].subject_id.as_deref(), created["id"].as_str());
    assert_eq!(revoked[0].actor_kind, "admin");
}

#[actix_web::test]
async fn revoking_twice_is_404() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;
    assert_eq!(app.delete(&path_of(&created), &app.admin_token).await.status, 204);

    let again = app.delete(&path_of(&created), &app.admin_token).await;

    again.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.count_events("api_key.revoked").await, 1);
}

#[actix_web::test]
async fn revoking_an_unknown_or_malformed_id_is_404() {
    let app = TestApp::spawn().await;
    let kept = create(&app, "web shop").await;

    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned(), "42".to_owned()] {
        app.delete(&format!("/api-keys/{id}"), &app.admin_token).await.assert_problem(404, "NOT_FOUND");
    }

    assert_eq!(app.count_events("api_key.revoked").await, 0);
    app.get("/products", &key_of(&kept)).await.assert_status(200);
    assert_eq!(listed(&app).await.len(), 1);
}

// ---- lists ----

#[actix_web::test]
async fn the_list_is_newest_first() {
    let app = TestApp::spawn().await;
    for name in ["first", "second", "third"] {
        create(&app, name).await;
        app.state.clock.advance(1);
    }

    assert_eq!(names(&listed(&app).await), ["third", "second", "first"]);
}

#[actix_web::test]
async fn the_list_answers_a_page_like_every_collection() {
    let app = TestApp::spawn().await;
    for name in ["first", "second", "third"] {
        create(&app, name).await;
        app.state.clock.advance(1);
    }

    let all = app.get("/api-keys", &app.admin_token).await;
    let second_page = app.get("/api-keys?per_page=2&page=2", &app.admin_token).await;

    let all = all.assert_status(200);
    assert!(all.is_object(), "{{items, page, per_page, total}}, got {all}");
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 50);
    assert_eq!(all["total"], 3);
    assert_eq!(names(&items(all)), ["third", "second", "first"]);
    let second_page = second_page.assert_status(200);
    assert_eq!(second_page["page"], 2);
    assert_eq!(second_page["per_page"], 2);
    assert_eq!(second_page["total"], 3);
    assert_eq!(names(&items(second_page)), ["first"]);
}

#[actix_web::test]
async fn the_list_sorts_by_created_at_both_ways() {
    let app = TestApp::spawn().await;
    for name in ["first", "second", "third"] {
        create(&app, name).await;
        app.state.clock.advance(1);
    }

    let ascending = app.get("/api-keys?sort=created_at", &app.admin_token).await;
    let descending = app.get("/api-keys?sort=-created_at", &app.admin_token).await;

    assert_eq!(names(&items(ascending.assert_status(200))), ["first", "second", "third"]);
    assert_eq!(names(&items(descending.assert_status(200))), ["third", "second", "first"]);
}

#[actix_web::test]
async fn the_list_is_searched_by_name_and_prefix() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for name in ["Web Shop 50% off", "web shop 50x off", "a_b", "axb", "Backup"] {
        created.push(create(&app, name).await);
        app.state.clock.advance(1);
    }
    let revoked = create(&app, "web shop old").await;
    app.delete(&path_of(&revoked), &app.admin_token).await;
    let found = |q: String| {
        let app = &app;
        async move {
            let answer = app.get(&format!("/api-keys?sort=created_at&q={}", enc(&q)), &app.admin_token).await;
            let listed = names(&items(answer.assert_status(200)));
            assert_eq!(answer.body["total"], listed.len(), "{q}: the total counts the matches");
            listed
        }
    };

    // The name, case-insensitive, a substring, trimmed; revoked keys stay out.
    assert_eq!(found(" WEB SHOP ".into()).await, ["Web Shop 50% off", "web shop 50x off"]);
    assert_eq!(found("backup".into()).await, ["Backup"]);
    // The prefix, in any case.
    let prefix = created[3]["prefix"].as_str().unwrap();
    assert_eq!(found(prefix.to_uppercase()).await, ["axb"]);
    assert_eq!(found(prefix[4..].to_owned()).await, ["axb"]);
    // Not the secret beyond the prefix.
    let secret = key_of(&created[3]);
    assert!(found(secret[20..36].to_owned()).await.is_empty());
    // `%` and `_` are literal, not LIKE wildcards.
    assert_eq!(found("50%".into()).await, ["Web Shop 50% off"]);
    assert_eq!(found("%".into()).await, ["Web Shop 50% off"]);
    assert_eq!(found("a_b".into()).await, ["a_b"]);
    assert!(found("nothing".into()).await.is_empty());
    let page = app.get("/api-keys?q=shop&per_page=1", &app.admin_token).await;
    assert_eq!(page.assert_status(200)["total"], 2, "the total counts every match, not the page");
    assert_eq!(items(&page.body).len(), 1);
}

#[actix_web::test]
async fn bad_list_parameters_are_422() {
    let app = TestApp::spawn().await;
    create(&app, "web shop").await;

    for query in ["per_page=0", "per_page=201", "page=0", "sort=secret", "sort=-key_hash"] {
        let answer = app.get(&format!("/api-keys?{query}"), &app.admin_token).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
    }
}

// ---- bad input ----

#[actix_web::test]
async fn a_key_needs_a_name() {
    let app = TestApp::spawn().await;

    let missing = app.post("/api-keys", &app.admin_token, json!({})).await;
    let empty = app.post("/api-keys", &app.admin_token, json!({"name": ""})).await;
    let long = app.post("/api-keys", &app.admin_token, json!({"name": "n".repeat(101)})).await;

    missing.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(missing.body["errors"]["name"], json!(["is required"]));
    empty.assert_problem(422, "VALIDATION_FAILED");
    assert!(empty.body["errors"]["name"].is_array());
    long.assert_problem(422, "VALIDATION_FAILED");
    assert!(long.body["errors"]["name"].is_array());
    assert!(listed(&app).await.is_empty());
    assert_eq!(app.count_events("api_key.created").await, 0);
    assert_eq!(create(&app, &"n".repeat(100)).await["name"], "n".repeat(100));
}

#[actix_web::test]
async fn a_blank_name_is_422() {
    let app = TestApp::spawn().await;

    let answer = app.post("/api-keys", &app.admin_token, json!({"name": "   "})).await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    assert!(answer.body["errors"]["name"].is_array());
    assert!(listed(&app).await.is_empty());
}

#[actix_web::test]
async fn a_name_of_the_wrong_type_is_422() {
    let app = TestApp::spawn().await;

    let number = app.post("/api-keys", &app.admin_token, json!({"name": 7})).await;
    let null = app.post("/api-keys", &app.admin_token, json!({"name": null})).await;

    number.assert_problem(422, "VALIDATION_FAILED");
    assert!(number.body["errors"]["name"].is_array(), "{}", number.text);
    null.assert_problem(422, "VALIDATION_FAILED");
    assert!(null.body["errors"]["name"].is_array(), "{}", null.text);
    assert!(listed(&app).await.is_empty());
}

#[actix_web::test]
async fn malformed_json_is_400_and_a_non_json_body_415() {
    let app = TestApp::spawn().await;
    let token = Some(app.admin_token.as_str());

    app.raw(Method::POST, "/api-keys", token, Some("application/json"), b"{\"name\": \"shop\"".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    app.raw(Method::POST, "/api-keys", token, Some("application/json"), Vec::new())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    app.raw(Method::POST, "/api-keys", token, Some("text/plain"), b"{\"name\": \"shop\"}".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, "/api-keys", token, None, b"{\"name\": \"shop\"}".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    assert!(listed(&app).await.is_empty());
    assert_eq!(app.count_events("api_key.created").await, 0);
}

// ---- roles ----

#[actix_web::test]
async fn without_a_token_every_api_key_call_is_401() {
    let app = TestApp::spawn().await;
    let created = create(&app, "web shop").await;

    let answers = [
        app.call(Method::GET, "/api-keys", None, None).await,
        app.call(Method::POST, "/api-keys", None, Some(json!({"name": "thief"}))).await,
        app.call(Method::DELETE, &path_of(&created), None, None).await,
    ];

    for answer in answers {
        answer.assert_problem(401, "INVALID_TOKEN");
        assert_eq!(answer.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    assert_eq!(listed(&app).await.len(), 1);
    app.get("/products", &key_of(&created)).await.assert_status(200);
    assert_eq!(app.count_events("api_key.created").await, 1);
    assert_eq!(app.count_events("api_key.revoked").await, 0);
}

#[actix_web::test]
async fn the_shop_may_not_list_keys() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;

    let answer = app.get("/api-keys", &shop).await;

    answer.assert_problem(403, "FORBIDDEN");
    assert!(!answer.text.contains("lsk_"), "no key material: {}", answer.text);
}

#[actix_web::test]
async fn the_shop_may_not_create_keys() {
    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;

    let answer = app.post("/api-keys", &shop, json!({"name": "second shop"})).await;

    answer.assert_problem(403, "FORBIDDEN");
    assert_eq!(listed(&app).await.len(), 1);
    assert_eq!(app.count_events("api_key.created").await, 1);
}

#[actix_web::test]
async fn the_shop_may_not_revoke_keys_not_even_its_own() {
    let app = TestApp::spawn().await;
    let own = create(&app, "web shop").await;
    let other = create(&app, "other shop").await;
    let shop = key_of(&own);

    let own_answer = app.delete(&path_of(&own), &shop).await;
    let other_answer = app.delete(&path_of(&other), &shop).await;

    own_answer.assert_problem(403, "FORBIDDEN");
    other_answer.assert_problem(403, "FORBIDDEN");
    app.get("/products", &shop).await.assert_status(200);
    app.get("/products", &key_of(&other)).await.assert_status(200);
    assert_eq!(listed(&app).await.len(), 2);
    assert_eq!(app.count_events("api_key.revoked").await, 0);
}
