//! Tests of the users of a user-based license (`/licenses/{id}/users`):
//! managers and admins add them by e-mail, list, rename, set passwords, reset
//! their temporary activation and remove them; seats bound how many there are.
//! Temporary activations come from the client API, so tests insert them.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use futures_util::future::join_all;
use license_server::auth::password::verify_now;
use license_server::db::schema::{license_users, user_activations};
use license_server::models::seats::UserActivation;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, emails, enc, id_of, seats_used, time, unknown_id};

fn users_of(license_id: &str) -> String {
    format!("/licenses/{license_id}/users")
}

fn user_at(license_id: &str, user_id: &str) -> String {
    format!("/licenses/{license_id}/users/{user_id}")
}

/// Adds a user (asserts 201) and returns `{user, initial_password}`.
async fn add(app: &TestApp, token: &str, license_id: &str, body: Value) -> Value {
    app.post(&users_of(license_id), token, body).await.assert_status(201).clone()
}

/// Adds a user by e-mail alone and returns its id.
async fn add_email(app: &TestApp, token: &str, license_id: &str, email: &str) -> String {
    id_of(&add(app, token, license_id, json!({ "email": email })).await["user"])
}

/// Gives the user a temporary activation on `hardware_id` (as the client API
/// would) whose lease ends `lease_seconds` from now (in the past when negative).
async fn activate(
    app: &TestApp,
    license_id: &str,
    user_id: &str,
    hardware_id: &str,
    lease_seconds: i64,
) -> UserActivation {
    let now = app.state.clock.now();
    let activation = UserActivation {
        id: uuid::Uuid::now_v7().to_string(),
        license_user_id: user_id.to_owned(),
        license_id: license_id.to_owned(),
        hardware_id: hardware_id.to_owned(),
        hostname: Some(format!("host-{hardware_id}")),
        platform: Some("windows-x86_64".to_owned()),
        app_version: Some("4.2.1".to_owned()),
        token_hash: uuid::Uuid::new_v4().simple().to_string(),
        activated_at: now - TimeDelta::seconds(3600),
        last_seen_at: now - TimeDelta::seconds(30),
        lease_expires_at: now + TimeDelta::seconds(lease_seconds),
        ended_at: None,
        end_reason: None,
    };
    let row = activation.clone();
    app.state
        .db
        .run(move |conn| {
            diesel::insert_into(user_activations::table).values(&row).execute(conn)?;
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .expect("insert activation");
    activation
}

/// How many activations of the user are not ended (whatever their lease).
async fn open_activations(app: &TestApp, user_id: &str) -> i64 {
    let user_id = user_id.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, license_server::db::DbError>(
                user_activations::table
                    .filter(user_activations::license_user_id.eq(user_id))
                    .filter(user_activations::ended_at.is_null())
                    .count()
                    .get_result::<i64>(conn)?,
            )
        })
        .await
        .expect("count activations")
}

/// The `ended_at` of one activation row, if the row still exists.
async fn ended_at(app: &TestApp, activation_id: &str) -> Option<Option<NaiveDateTime>> {
    let id = activation_id.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, license_server::db::DbError>(
                user_activations::table
                    .find(id)
                    .select(user_activations::ended_at)
                    .first::<Option<NaiveDateTime>>(conn)
                    .optional()?,
            )
        })
        .await
        .expect("read activation")
}

/// The stored password hash of a user.
async fn password_hash(app: &TestApp, user_id: &str) -> String {
    let id = user_id.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, license_server::db::DbError>(
                license_users::table.find(id).select(license_users::password_hash).first::<String>(conn)?,
            )
        })
        .await
        .expect("read password hash")
}

/// Lists (asserts 200).
async fn list(app: &TestApp, token: &str, path: &str) -> Value {
    app.get(path, token).await.assert_status(200).clone()
}

#[actix_web::test]
async fn adding_a_user_by_email_alone_answers_it_with_a_generated_password() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;

    let answer =
        app.post(&users_of(&c.user_license_id), &c.manager_token, json!({ "email": "anna@customer.example" })).await;

    let body = answer.assert_status(201);
    let user = &body["user"];
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert_eq!(user["email"], "anna@customer.example");
    assert_eq!(user["activation"], Value::Null);
    assert!(user["name"].is_string());
    assert_eq!(time(&user["created_at"]), time(&user["updated_at"]));
    let password = body["initial_password"].as_str().expect("a generated password");
    assert!(password.chars().count() >= 16, "{password}");
    assert!(verify_now(password, &password_hash(&app, &id_of(user)).await), "the answered password is the user's");
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 1);
    assert_eq!(app.count_events("license_user.created").await, 1);
}

#[actix_web::test]
async fn generated_passwords_differ_from_user_to_user() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let first = add(&app, &c.manager_token, &c.user_license_id, json!({ "email": "a@customer.example" })).await;
    let second = add(&app, &c.manager_token, &c.user_license_id, json!({ "email": "b@customer.example" })).await;
    assert_ne!(first["initial_password"], second["initial_password"]);
}

#[actix_web::test]
async fn a_chosen_password_is_set_and_not_echoed() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let chosen = "correct horse battery";

    let body = add(
        &app,
        &c.manager_token,
        &c.user_license_id,
        json!({ "email": "anna@customer.example", "name": "Anna Analyst", "password": chosen }),
    )
    .await;

    assert_eq!(body["initial_password"], Value::Null);
    assert_eq!(body["user"]["name"], "Anna Analyst");
    assert!(verify_now(chosen, &password_hash(&app, &id_of(&body["user"])).await));
}

#[actix_web::test]
async fn a_chosen_password_shorter_than_12_characters_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;

    let answer = app
        .post(
            &users_of(&c.user_license_id),
            &c.manager_token,
            json!({ "email": "anna@customer.example", "password": "elevenchars" }),
        )
        .await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    assert!(answer.body["errors"]["password"].is_array(), "{}", answer.text);
    assert_eq!(list(&app, &c.manager_token, &users_of(&c.user_license_id)).await["total"], 0);
}

#[actix_web::test]
async fn a_missing_or_invalid_email_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let path = users_of(&c.user_license_id);

    let missing = app.post(&path, &c.manager_token, json!({ "name": "Nobody" })).await;
    missing.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(missing.body["errors"]["email"][0], "is required");
    let invalid = app.post(&path, &c.manager_token, json!({ "email": "not-an-email" })).await;
    invalid.assert_problem(422, "VALIDATION_FAILED");
    assert!(invalid.body["errors"]["email"].is_array());

    assert_eq!(list(&app, &c.manager_token, &path).await["total"], 0);
}

#[actix_web::test]
async fn an_email_already_used_on_the_license_in_any_case_is_409_email_taken() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    add_email(&app, &c.manager_token, &c.user_license_id, "Anna@Customer.example").await;

    let again =
        app.post(&users_of(&c.user_license_id), &c.manager_token, json!({ "email": "ANNA@customer.EXAMPLE" })).await;

    again.assert_problem(409, "EMAIL_TAKEN");
    assert_eq!(list(&app, &c.manager_token, &users_of(&c.user_license_id)).await["total"], 1);
    assert_eq!(app.count_events("license_user.created").await, 1);
}

#[actix_web::test]
async fn the_same_email_may_be_a_user_of_another_license() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "max@b.example").await;
    add_email(&app, &a.manager_token, &a.user_license_id, "shared@example.com").await;

    let other =
        app.post(&users_of(&b.user_license_id), &b.manager_token, json!({ "email": "Shared@Example.com" })).await;

    other.assert_status(201);
    assert_eq!(seats_used(&app, &app.admin_token, &a.user_license_id).await, 1);
    assert_eq!(seats_used(&app, &app.admin_token, &b.user_license_id).await, 1);
}

#[actix_web::test]
async fn changing_an_email_to_one_taken_on_the_license_is_409_email_taken() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    add_email(&app, &c.manager_token, &c.user_license_id, "anna@customer.example").await;
    let bert = add_email(&app, &c.manager_token, &c.user_license_id, "bert@customer.example").await;

    let answer = app
        .patch(&user_at(&c.user_license_id, &bert), &c.manager_token, json!({ "email": "ANNA@customer.example" }))
        .await;

    answer.assert_problem(409, "EMAIL_TAKEN");
    let bert = app.get(&user_at(&c.user_license_id, &bert), &c.manager_token).await;
    assert_eq!(bert.assert_status(200)["email"], "bert@customer.example");
    assert_eq!(app.count_events("license_user.updated").await, 0);
}

#[actix_web::test]
async fn a_user_may_keep_its_own_email_in_another_case() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let anna = add_email(&app, &c.manager_token, &c.user_license_id, "anna@customer.example").await;

    let answer = app
        .patch(
            &user_at(&c.user_license_id, &anna),
            &c.manager_token,
            json!({ "email": "Anna@Customer.example", "name": "Anna" }),
        )
        .await;

    let user = answer.assert_status(200);
    assert_eq!(user["email"].as_str().unwrap().to_lowercase(), "anna@customer.example");
    assert_eq!(user["name"], "Anna");
}

#[actix_web::test]
async fn a_full_license_refuses_one_more_user_with_seats_exhausted() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    for i in 0..5 {
        add_email(&app, &c.manager_token, &c.user_license_id, &format!("user{i}@customer.example")).await;
    }

    let sixth =
        app.post(&users_of(&c.user_license_id), &c.manager_token, json!({ "email": "six@customer.example" })).await;

    sixth.assert_problem(409, "SEATS_EXHAUSTED");
    assert_eq!(sixth.body["seats"], 5);
    assert_eq!(sixth.body["seats_used"], 5);
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 5);
    let all = list(&app, &c.manager_token, &users_of(&c.user_license_id)).await;
    assert_eq!(all["total"], 5);
    assert!(!emails(&all).contains(&"six@customer.example".to_owned()));
}

#[actix_web::test]
async fn simultaneous_adds_never_take_more_than_the_seats() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let path = users_of(&c.user_license_id);

    let requests =
        (0..12).map(|i| app.post(&path, &c.manager_token, json!({ "email": format!("user{i}@customer.example") })));
    let answers: Vec<Answer> = join_all(requests).await;

    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 5, "{:?}", answers.iter().map(|a| a.status.as_u16()).collect::<Vec<_>>());
    for refused in answers.iter().filter(|a| a.status != 201) {
        refused.assert_problem(409, "SEATS_EXHAUSTED");
        assert_eq!(refused.body["seats_used"], 5);
    }
    assert_eq!(list(&app, &c.manager_token, &path).await["total"], 5);
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 5);
    assert_eq!(app.count_events("license_user.created").await, 5);
}

#[actix_web::test]
async fn the_user_list_searches_email_and_name_ignoring_case() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let token = &c.manager_token;
    let license = &c.user_license_id;
    add(&app, token, license, json!({ "email": "anna@design.example", "name": "Anna Architect" })).await;
    add(&app, token, license, json!({ "email": "bert@build.example", "name": "Bert Builder" })).await;
    add(&app, token, license, json!({ "email": "carla@build.example", "name": "Carla 100%" })).await;

    let by_email = list(&app, token, &format!("{}?q=BUILD.example", users_of(license))).await;
    let mut found = emails(&by_email);
    found.sort();
    assert_eq!(found, ["bert@build.example", "carla@build.example"]);
    assert_eq!(by_email["total"], 2);

    let by_name = list(&app, token, &format!("{}?q=architect", users_of(license))).await;
    assert_eq!(emails(&by_name), ["anna@design.example"]);

    let literal = list(&app, token, &format!("{}?q={}", users_of(license), enc("100%"))).await;
    assert_eq!(emails(&literal), ["carla@build.example"]);

    let none = list(&app, token, &format!("{}?q=zebra", users_of(license))).await;
    assert_eq!(none["total"], 0);
    assert_eq!(none["items"], json!([]));
}

#[actix_web::test]
async fn the_user_list_search_folds_non_ascii_case() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    add(&app, &c.manager_token, license, json!({ "email": "j@customer.example", "name": "Jürgen Ölmann" })).await;
    add(&app, &c.manager_token, license, json!({ "email": "o@customer.example", "name": "Otto Olmann" })).await;

    let found = list(&app, &c.manager_token, &format!("{}?q={}", users_of(license), enc("ÖLMANN"))).await;

    assert_eq!(emails(&found), ["j@customer.example"]);
}

#[actix_web::test]
async fn each_listed_user_shows_its_own_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let anna = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let bert = add_email(&app, &c.manager_token, license, "bert@customer.example").await;
    add_email(&app, &c.manager_token, license, "carl@customer.example").await;
    activate(&app, license, &anna, "hw-anna", 600).await;
    activate(&app, license, &bert, "hw-bert", 300).await;

    let all = list(&app, &c.manager_token, &format!("{}?sort=email", users_of(license))).await;

    let hardware: Vec<Value> =
        all["items"].as_array().unwrap().iter().map(|u| u["activation"]["hardware_id"].clone()).collect();
    assert_eq!(hardware, [json!("hw-anna"), json!("hw-bert"), Value::Null]);
    assert_eq!(all["items"][2]["activation"], Value::Null);
}

#[actix_web::test]
async fn the_user_list_filters_on_holding_a_live_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let live = add_email(&app, &c.manager_token, license, "live@customer.example").await;
    let lapsed = add_email(&app, &c.manager_token, license, "lapsed@customer.example").await;
    add_email(&app, &c.manager_token, license, "idle@customer.example").await;
    activate(&app, license, &live, "hw-live", 600).await;
    activate(&app, license, &lapsed, "hw-lapsed", -1).await;

    let active = list(&app, &c.manager_token, &format!("{}?active=true", users_of(license))).await;
    assert_eq!(emails(&active), ["live@customer.example"]);
    assert_eq!(active["total"], 1);

    let inactive = list(&app, &c.manager_token, &format!("{}?active=false&sort=email", users_of(license))).await;
    assert_eq!(emails(&inactive), ["idle@customer.example", "lapsed@customer.example"]);
    assert_eq!(inactive["total"], 2);

    let everyone = list(&app, &c.manager_token, &users_of(license)).await;
    assert_eq!(everyone["total"], 3);

    app.get(&format!("{}?active=maybe", users_of(license)), &c.manager_token)
        .await
        .assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn the_user_list_sorts_by_email_name_and_creation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    for (email, name) in [("carla@x.example", "Alpha"), ("anna@x.example", "Charlie"), ("bert@x.example", "Bravo")] {
        add(&app, &c.manager_token, license, json!({ "email": email, "name": name })).await;
        app.state.clock.advance(1);
    }
    let sorted = |sort: &str| {
        let path = format!("{}?sort={sort}", users_of(license));
        let app = &app;
        let token = c.manager_token.clone();
        async move { emails(&list(app, &token, &path).await) }
    };

    // Newest first by default.
    assert_eq!(
        emails(&list(&app, &c.manager_token, &users_of(license)).await),
        ["bert@x.example", "anna@x.example", "carla@x.example"]
    );
    assert_eq!(sorted("created_at").await, ["carla@x.example", "anna@x.example", "bert@x.example"]);
    assert_eq!(sorted("-created_at").await, ["bert@x.example", "anna@x.example", "carla@x.example"]);
    assert_eq!(sorted("email").await, ["anna@x.example", "bert@x.example", "carla@x.example"]);
    assert_eq!(sorted("-email").await, ["carla@x.example", "bert@x.example", "anna@x.example"]);
    assert_eq!(sorted("name").await, ["carla@x.example", "bert@x.example", "anna@x.example"]);
    assert_eq!(sorted("-name").await, ["anna@x.example", "bert@x.example", "carla@x.example"]);
}

#[actix_web::test]
async fn an_unknown_sort_or_bad_paging_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let path = users_of(&c.user_license_id);

    let sort = app.get(&format!("{path}?sort=password_hash"), &c.manager_token).await;
    sort.assert_problem(422, "VALIDATION_FAILED");
    assert!(sort.body["errors"]["sort"].is_array(), "{}", sort.text);
    app.get(&format!("{path}?page=0"), &c.manager_token).await.assert_problem(422, "VALIDATION_FAILED");
    app.get(&format!("{path}?per_page=201"), &c.manager_token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn the_user_list_pages_without_skipping_or_repeating() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    // Same creation time for all: ties are broken by id.
    for i in 0..5 {
        add_email(&app, &c.manager_token, license, &format!("user{i}@customer.example")).await;
    }

    let mut seen = Vec::new();
    for page in 1..=3 {
        let answer = list(&app, &c.manager_token, &format!("{}?per_page=2&page={page}", users_of(license))).await;
        assert_eq!(answer["page"], page);
        assert_eq!(answer["per_page"], 2);
        assert_eq!(answer["total"], 5);
        seen.extend(emails(&answer));
    }
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{seen:?}");
    let beyond = list(&app, &c.manager_token, &format!("{}?per_page=2&page=4", users_of(license))).await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 5);
    let default = list(&app, &c.manager_token, &users_of(license)).await;
    assert_eq!(default["page"], 1);
    assert_eq!(default["per_page"], 50);
}

#[actix_web::test]
async fn a_user_shows_its_live_activation_until_the_lease_runs_out() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let anna = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let activation = activate(&app, license, &anna, "hw-anna", 120).await;

    let user = app.get(&user_at(license, &anna), &c.manager_token).await.assert_status(200).clone();
    let shown = &user["activation"];
    assert_eq!(shown["hardware_id"], "hw-anna");
    assert_eq!(shown["hostname"], "host-hw-anna");
    assert_eq!(shown["platform"], "windows-x86_64");
    assert_eq!(shown["app_version"], "4.2.1");
    assert_eq!(time(&shown["activated_at"]), activation.activated_at);
    assert_eq!(time(&shown["last_seen_at"]), activation.last_seen_at);
    assert_eq!(time(&shown["lease_expires_at"]), activation.lease_expires_at);
    assert!(shown.get("token_hash").is_none() && !user.to_string().contains(&activation.token_hash));
    let listed = list(&app, &c.manager_token, &users_of(license)).await;
    assert_eq!(listed["items"][0]["activation"], *shown);

    app.state.clock.advance(121);
    let token =
        app.login("max@customer.example", &c.manager_password).await["access_token"].as_str().unwrap().to_owned();
    let user = app.get(&user_at(license, &anna), &token).await;
    assert_eq!(user.assert_status(200)["activation"], Value::Null);
    assert_eq!(list(&app, &token, &users_of(license)).await["items"][0]["activation"], Value::Null);
}

#[actix_web::test]
async fn an_ended_activation_is_not_shown() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let anna = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let activation = activate(&app, license, &anna, "hw-anna", 600).await;
    let (id, now) = (activation.id.clone(), app.state.clock.now());
    app.state
        .db
        .run(move |conn| {
            diesel::update(user_activations::table.find(id))
                .set((user_activations::ended_at.eq(now), user_activations::end_reason.eq("deactivated")))
                .execute(conn)?;
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .unwrap();

    let user = app.get(&user_at(license, &anna), &c.manager_token).await;

    assert_eq!(user.assert_status(200)["activation"], Value::Null);
}

#[actix_web::test]
async fn getting_one_user_answers_the_same_object_as_the_list() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let added =
        add(&app, &app.admin_token, &c.user_license_id, json!({ "email": "anna@customer.example", "name": "Anna" }))
            .await;
    let id = id_of(&added["user"]);

    let one = app.get(&user_at(&c.user_license_id, &id), &c.manager_token).await;

    let one = one.assert_status(200);
    assert_eq!(*one, added["user"]);
    assert_eq!(list(&app, &c.manager_token, &users_of(&c.user_license_id)).await["items"][0], *one);
    let keys: Vec<&String> = one.as_object().unwrap().keys().collect();
    for key in ["id", "email", "name", "activation", "created_at", "updated_at"] {
        assert!(one.get(key).is_some(), "{key} in {keys:?}");
    }
    assert!(one.get("password_hash").is_none());
}

#[actix_web::test]
async fn patch_renames_a_user_and_changes_its_email() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let added =
        add(&app, &c.manager_token, &c.user_license_id, json!({ "email": "anna@customer.example", "name": "A" })).await;
    let id = id_of(&added["user"]);
    app.state.clock.advance(5);

    let renamed =
        app.patch(&user_at(&c.user_license_id, &id), &c.manager_token, json!({ "name": "Anna Analyst" })).await;
    let renamed = renamed.assert_status(200).clone();
    assert_eq!(renamed["name"], "Anna Analyst");
    assert_eq!(renamed["email"], "anna@customer.example");
    assert!(time(&renamed["updated_at"]) > time(&added["user"]["updated_at"]));
    assert_eq!(renamed["created_at"], added["user"]["created_at"]);

    let moved = app
        .patch(&user_at(&c.user_license_id, &id), &c.manager_token, json!({ "email": "anna.new@customer.example" }))
        .await;
    assert_eq!(moved.assert_status(200)["email"], "anna.new@customer.example");
    assert_eq!(moved.body["name"], "Anna Analyst");

    let read = app.get(&user_at(&c.user_license_id, &id), &app.admin_token).await;
    assert_eq!(read.assert_status(200)["email"], "anna.new@customer.example");
    assert_eq!(read.body["name"], "Anna Analyst");
    assert_eq!(app.count_events("license_user.updated").await, 2);
    // Names need not be unique.
    let bert = add_email(&app, &c.manager_token, &c.user_license_id, "bert@customer.example").await;
    app.patch(&user_at(&c.user_license_id, &bert), &c.manager_token, json!({ "name": "Anna Analyst" }))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn patch_with_an_invalid_email_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let id = add_email(&app, &c.manager_token, &c.user_license_id, "anna@customer.example").await;

    let answer = app.patch(&user_at(&c.user_license_id, &id), &c.manager_token, json!({ "email": "nope" })).await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    let read = app.get(&user_at(&c.user_license_id, &id), &c.manager_token).await;
    assert_eq!(read.assert_status(200)["email"], "anna@customer.example");
}

#[actix_web::test]
async fn setting_a_chosen_password_answers_204_and_keeps_the_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let id = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    activate(&app, license, &id, "hw-anna", 600).await;
    let chosen = "a brand new password";

    let answer =
        app.post(&format!("{}/password", user_at(license, &id)), &c.manager_token, json!({ "password": chosen })).await;

    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    assert!(verify_now(chosen, &password_hash(&app, &id).await));
    let user = app.get(&user_at(license, &id), &c.manager_token).await;
    assert_eq!(user.assert_status(200)["activation"]["hardware_id"], "hw-anna");
    assert_eq!(open_activations(&app, &id).await, 1);
    assert_eq!(app.count_events("license_user.password_set").await, 1);
}

#[actix_web::test]
async fn a_bodiless_password_request_generates_one_and_answers_it_once() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let added = add(&app, &c.manager_token, license, json!({ "email": "anna@customer.example" })).await;
    let id = id_of(&added["user"]);
    let path = format!("{}/password", user_at(license, &id));

    let answer = app.call(Method::POST, &path, Some(&c.manager_token), None).await;

    let password = answer.assert_status(200)["password"].as_str().expect("password").to_owned();
    assert!(password.chars().count() >= 16, "{password}");
    assert_ne!(Some(password.as_str()), added["initial_password"].as_str());
    let hash = password_hash(&app, &id).await;
    assert!(verify_now(&password, &hash));
    assert!(!verify_now(added["initial_password"].as_str().unwrap(), &hash), "the old password no longer works");
}

#[actix_web::test]
async fn a_too_short_new_password_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let added = add(&app, &c.manager_token, license, json!({ "email": "anna@customer.example" })).await;
    let id = id_of(&added["user"]);

    let answer = app
        .post(&format!("{}/password", user_at(license, &id)), &c.manager_token, json!({ "password": "short" }))
        .await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    assert!(answer.body["errors"]["password"].is_array());
    assert!(verify_now(added["initial_password"].as_str().unwrap(), &password_hash(&app, &id).await));
    assert_eq!(app.count_events("license_user.password_set").await, 0);
}

#[actix_web::test]
async fn reset_activation_ends_the_live_activation_and_records_it() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let id = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let activation = activate(&app, license, &id, "hw-anna", 600).await;

    let answer = app
        .call(Method::POST, &format!("{}/reset-activation", user_at(license, &id)), Some(&c.manager_token), None)
        .await;

    let user = answer.assert_status(200);
    assert_eq!(user["id"], id.as_str());
    assert_eq!(user["email"], "anna@customer.example");
    assert_eq!(user["activation"], Value::Null);
    assert_eq!(open_activations(&app, &id).await, 0);
    assert!(ended_at(&app, &activation.id).await.expect("row kept").is_some());
    let read = app.get(&user_at(license, &id), &c.manager_token).await;
    assert_eq!(read.assert_status(200)["activation"], Value::Null);
    assert_eq!(app.count_events("license_user.activation_reset").await, 1);
    let events = app.get("/events?action=license_user.activation_reset", &app.admin_token).await;
    let event = &events.assert_status(200)["items"][0];
    assert_eq!(event["subject_id"], id.as_str());
    assert_eq!(event["license_id"], license.as_str());
    assert_eq!(event["hardware_id"], "hw-anna");
    assert_eq!(event["actor"]["kind"], "manager");
}

#[actix_web::test]
async fn reset_activation_without_an_activation_is_fine_and_records_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let id = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let path = format!("{}/reset-activation", user_at(license, &id));

    let answer = app.call(Method::POST, &path, Some(&c.manager_token), None).await;

    assert_eq!(answer.assert_status(200)["activation"], Value::Null);
    assert_eq!(answer.body["id"], id.as_str());
    let twice = app.call(Method::POST, &path, Some(&app.admin_token), None).await;
    twice.assert_status(200);
    assert_eq!(app.count_events("license_user.activation_reset").await, 0);
}

#[actix_web::test]
async fn deleting_a_user_frees_its_seat_and_ends_its_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(add_email(&app, &c.manager_token, license, &format!("user{i}@customer.example")).await);
    }
    let leaving = ids[2].clone();
    let activation = activate(&app, license, &leaving, "hw-leaving", 600).await;
    app.post(&users_of(license), &c.manager_token, json!({ "email": "new@customer.example" }))
        .await
        .assert_problem(409, "SEATS_EXHAUSTED");

    let answer = app.delete(&user_at(license, &leaving), &c.manager_token).await;

    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    app.get(&user_at(license, &leaving), &c.manager_token).await.assert_problem(404, "NOT_FOUND");
    app.delete(&user_at(license, &leaving), &c.manager_token).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(seats_used(&app, &app.admin_token, license).await, 4);
    assert_eq!(open_activations(&app, &leaving).await, 0);
    // The activation row is either kept as ended or removed with the user.
    assert_ne!(ended_at(&app, &activation.id).await, Some(None));
    assert_eq!(app.count_events("license_user.deleted").await, 1);
    assert_eq!(app.count_events("license_user.activation_reset").await, 1);
    add_email(&app, &c.manager_token, license, "new@customer.example").await;
    let all = list(&app, &c.manager_token, &users_of(license)).await;
    assert_eq!(all["total"], 5);
    assert!(!emails(&all).contains(&"user2@customer.example".to_owned()));
}

#[actix_web::test]
async fn a_deleted_users_email_may_be_added_again() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let id = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    assert_eq!(app.delete(&user_at(license, &id), &c.manager_token).await.status, 204);

    let again = app.post(&users_of(license), &c.manager_token, json!({ "email": "anna@customer.example" })).await;

    assert_ne!(id_of(&again.assert_status(201)["user"]), id);
}

#[actix_web::test]
async fn every_users_call_on_a_computer_based_license_is_wrong_license_kind() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let user = unknown_id();
    let token = Some(c.manager_token.as_str());
    let body = || Some(json!({ "email": "anna@customer.example" }));

    let answers = [
        app.call(Method::GET, &users_of(license), token, None).await,
        app.call(Method::POST, &users_of(license), token, body()).await,
        app.call(Method::GET, &user_at(license, &user), token, None).await,
        app.call(Method::PATCH, &user_at(license, &user), token, Some(json!({ "name": "x" }))).await,
        app.call(Method::DELETE, &user_at(license, &user), token, None).await,
        app.call(Method::POST, &format!("{}/password", user_at(license, &user)), token, None).await,
        app.call(Method::POST, &format!("{}/reset-activation", user_at(license, &user)), token, None).await,
        app.call(Method::POST, &users_of(license), Some(&app.admin_token), body()).await,
    ];

    for answer in &answers {
        answer.assert_problem(409, "WRONG_LICENSE_KIND");
    }
    assert_eq!(app.count_events("license_user.created").await, 0);
}

#[actix_web::test]
async fn unknown_or_malformed_license_and_user_ids_are_404() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let user = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let token = Some(c.manager_token.as_str());

    for license_id in [unknown_id(), "not-a-uuid".to_owned()] {
        app.call(Method::GET, &users_of(&license_id), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::POST, &users_of(&license_id), token, Some(json!({ "email": "x@customer.example" })))
            .await
            .assert_problem(404, "NOT_FOUND");
        app.call(Method::GET, &user_at(&license_id, &user), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::DELETE, &user_at(&license_id, &user), token, None).await.assert_problem(404, "NOT_FOUND");
    }
    for user_id in [unknown_id(), "not-a-uuid".to_owned()] {
        let one = user_at(license, &user_id);
        app.call(Method::GET, &one, token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::PATCH, &one, token, Some(json!({ "name": "x" }))).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::DELETE, &one, token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::POST, &format!("{one}/password"), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::POST, &format!("{one}/reset-activation"), token, None).await.assert_problem(404, "NOT_FOUND");
    }
    // A user is found only under its own license.
    app.call(Method::GET, &user_at(&c.computer_license_id, &user), Some(&app.admin_token), None)
        .await
        .assert_problem(409, "WRONG_LICENSE_KIND");
    let other = app.post(
        "/licenses",
        &app.admin_token,
        json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }),
    );
    let other = id_of(other.await.assert_status(201));
    app.get(&user_at(&other, &user), &c.manager_token).await.assert_problem(404, "NOT_FOUND");
}

#[actix_web::test]
async fn malformed_json_is_400_and_a_non_json_body_415() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let user = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let token = Some(c.manager_token.as_str());
    let ct = Some("application/json");

    app.raw(Method::POST, &users_of(license), token, ct, b"{\"email\":".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    app.raw(Method::PATCH, &user_at(license, &user), token, ct, b"{name".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    app.raw(Method::POST, &format!("{}/password", user_at(license, &user)), token, ct, b"{\"password\"".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");

    app.raw(Method::POST, &users_of(license), token, Some("text/plain"), b"email=x@customer.example".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(
        Method::PATCH,
        &user_at(license, &user),
        token,
        Some("application/x-www-form-urlencoded"),
        b"name=x".to_vec(),
    )
    .await
    .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(
        Method::POST,
        &format!("{}/password", user_at(license, &user)),
        token,
        Some("text/plain"),
        b"a long enough password".to_vec(),
    )
    .await
    .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    assert_eq!(list(&app, &c.manager_token, &users_of(license)).await["total"], 1);
    assert_eq!(app.count_events("license_user.password_set").await, 0);
}

#[actix_web::test]
async fn the_shop_key_and_anonymous_callers_may_not_touch_users() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let user = add_email(&app, &c.manager_token, license, "anna@customer.example").await;
    let key = app.shop_key().await;

    app.get(&users_of(license), &key).await.assert_problem(403, "FORBIDDEN");
    app.post(&users_of(license), &key, json!({ "email": "shop@customer.example" }))
        .await
        .assert_problem(403, "FORBIDDEN");
    app.get(&user_at(license, &user), &key).await.assert_problem(403, "FORBIDDEN");
    app.delete(&user_at(license, &user), &key).await.assert_problem(403, "FORBIDDEN");
    app.call(Method::GET, &users_of(license), None, None).await.assert_problem(401, "INVALID_TOKEN");
    app.call(Method::DELETE, &user_at(license, &user), None, None).await.assert_problem(401, "INVALID_TOKEN");

    assert_eq!(seats_used(&app, &app.admin_token, license).await, 1);
}

#[actix_web::test]
async fn an_admin_manages_the_users_of_any_license() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;

    let added = add(&app, &app.admin_token, license, json!({ "email": "anna@customer.example" })).await;
    let id = id_of(&added["user"]);

    let seen_by_manager = list(&app, &c.manager_token, &users_of(license)).await;
    assert_eq!(emails(&seen_by_manager), ["anna@customer.example"]);
    app.patch(&user_at(license, &id), &app.admin_token, json!({ "name": "Anna" })).await.assert_status(200);
    assert_eq!(app.delete(&user_at(license, &id), &app.admin_token).await.status, 204);
    assert_eq!(seats_used(&app, &app.admin_token, license).await, 0);
}

#[actix_web::test]
async fn a_manager_of_another_customer_gets_404_for_its_users_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let victim = app.order("SO-A", "max@a.example").await;
    let intruder = app.order("SO-B", "eve@b.example").await;
    let license = &victim.user_license_id;
    let added = add(&app, &victim.manager_token, license, json!({ "email": "anna@a.example", "name": "Anna" })).await;
    let user = id_of(&added["user"]);
    activate(&app, license, &user, "hw-anna", 600).await;
    let before = app.get(&user_at(license, &user), &app.admin_token).await.assert_status(200).clone();
    let hash = password_hash(&app, &user).await;
    let events = app.get("/events?per_page=200", &app.admin_token).await.assert_status(200)["total"].clone();
    let token = Some(intruder.manager_token.as_str());
    let one = user_at(license, &user);

    let answers = [
        app.call(Method::GET, &users_of(license), token, None).await,
        app.call(Method::POST, &users_of(license), token, Some(json!({ "email": "eve@b.example" }))).await,
        app.call(Method::GET, &one, token, None).await,
        app.call(Method::PATCH, &one, token, Some(json!({ "name": "Pwned", "email": "eve@b.example" }))).await,
        app.call(Method::POST, &format!("{one}/password"), token, Some(json!({ "password": "eve chose this one" })))
            .await,
        app.call(Method::POST, &format!("{one}/password"), token, None).await,
        app.call(Method::POST, &format!("{one}/reset-activation"), token, None).await,
        app.call(Method::DELETE, &one, token, None).await,
        // The victim's user under the intruder's own license is not found either.
        app.call(Method::GET, &user_at(&intruder.user_license_id, &user), token, None).await,
    ];

    for answer in &answers {
        answer.assert_problem(404, "NOT_FOUND");
        assert!(!answer.text.contains("anna@a.example"));
    }
    let after = app.get(&user_at(license, &user), &app.admin_token).await;
    assert_eq!(*after.assert_status(200), before);
    assert_eq!(after.body["activation"]["hardware_id"], "hw-anna");
    assert_eq!(password_hash(&app, &user).await, hash);
    assert_eq!(seats_used(&app, &app.admin_token, license).await, 1);
    let events_after = app.get("/events?per_page=200", &app.admin_token).await.assert_status(200)["total"].clone();
    assert_eq!(events_after, events);
    // The intruder's own (computer-based) license kind never leaks the victim's either.
    app.call(Method::GET, &users_of(&victim.computer_license_id), token, None).await.assert_problem(404, "NOT_FOUND");
}
