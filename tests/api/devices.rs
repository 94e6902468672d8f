//! Tests of the devices of a computer-based license (`/licenses/{id}/devices`):
//! listed and deactivated by managers and admins, never created here. Devices
//! come from the client API, so tests insert them.

use chrono::TimeDelta;
use diesel::prelude::*;
use license_server::db::schema::devices;
use license_server::models::seats::Device;
use license_server::models::seats::DeviceStatus;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, enc, fresh_admin_token, seats_used, time, unknown_id};

fn devices_of(license_id: &str) -> String {
    format!("/licenses/{license_id}/devices")
}

fn device_at(license_id: &str, device_id: &str) -> String {
    format!("/licenses/{license_id}/devices/{device_id}")
}

fn deactivate_path(license_id: &str, device_id: &str) -> String {
    format!("/licenses/{license_id}/devices/{device_id}/deactivate")
}

/// An online device activated `minutes_ago` minutes ago and seen just now,
/// as the client API registers one.
fn online(app: &TestApp, license_id: &str, hardware_id: &str, minutes_ago: i64) -> Device {
    let now = app.state.clock.now();
    let activated = now - TimeDelta::minutes(minutes_ago);
    Device {
        id: uuid::Uuid::now_v7().to_string(),
        license_id: license_id.to_owned(),
        hardware_id: hardware_id.to_owned(),
        hostname: Some(format!("host-{hardware_id}")),
        platform: Some("linux-x86_64".to_owned()),
        app_version: Some("4.2.1".to_owned()),
        offline: false,
        status: DeviceStatus::Active,
        token_hash: Some(uuid::Uuid::new_v4().simple().to_string()),
        activated_at: activated,
        last_seen_at: Some(now),
        deactivated_at: None,
        valid_until: None,
        seat_released_at: None,
        created_at: activated,
        updated_at: now,
    }
}

/// An offline device whose license file is valid for `valid_for` more seconds
/// (ran out when negative).
fn offline(app: &TestApp, license_id: &str, hardware_id: &str, valid_for: i64) -> Device {
    let now = app.state.clock.now();
    Device {
        offline: true,
        token_hash: None,
        last_seen_at: None,
        valid_until: Some(now + TimeDelta::seconds(valid_for)),
        ..online(app, license_id, hardware_id, 60)
    }
}

/// Stores a device through the repository; returns its id.
async fn insert(app: &TestApp, device: Device) -> String {
    let id = device.id.clone();
    app.state
        .db
        .run(move |conn| {
            // Stored as the activation use case stores one, with the seat it takes.
            license_server::repositories::devices::insert(conn, &device)?;
            if device.status == DeviceStatus::Active {
                license_server::repositories::licenses::add_seats_held(conn, &device.license_id, 1)?;
            }
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .expect("insert device");
    id
}

/// The stored device row.
async fn stored(app: &TestApp, device_id: &str) -> Device {
    let id = device_id.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, license_server::db::DbError>(devices::table.find(id).select(Device::as_select()).first(conn)?)
        })
        .await
        .expect("read device")
}

/// The `hardware_id` of every listed device, in order.
fn hardware_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["hardware_id"].as_str().expect("hardware_id").to_owned())
        .collect()
}

/// Lists (asserts 200) and answers the hardware ids.
async fn listed(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    hardware_ids(app.get(path, token).await.assert_status(200))
}

#[actix_web::test]
async fn the_device_list_shows_active_devices_unless_asked_otherwise() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    insert(&app, online(&app, license, "hw-a", 30)).await;
    insert(&app, offline(&app, license, "hw-b", 86_400)).await;
    let mut gone = online(&app, license, "hw-gone", 90);
    gone.status = DeviceStatus::Deactivated;
    gone.token_hash = None;
    gone.deactivated_at = Some(app.state.clock.now());
    gone.seat_released_at = gone.deactivated_at;
    insert(&app, gone).await;
    let path = devices_of(license);

    let default = app.get(&path, &c.manager_token).await;
    let default = default.assert_status(200);
    assert_eq!(default["total"], 2);
    assert_eq!(hardware_ids(default), ["hw-a", "hw-b"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?status=active")).await, ["hw-a", "hw-b"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?status=deactivated")).await, ["hw-gone"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?status=all")).await, ["hw-a", "hw-b", "hw-gone"]);
    app.get(&format!("{path}?status=lost"), &c.manager_token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn the_device_list_filters_offline_devices() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    insert(&app, online(&app, license, "hw-online", 10)).await;
    insert(&app, offline(&app, license, "hw-offline", 86_400)).await;
    let path = devices_of(license);

    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?offline=true")).await, ["hw-offline"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?offline=false")).await, ["hw-online"]);
    let shown = app.get(&format!("{path}?offline=true"), &c.manager_token).await;
    assert_eq!(shown.body["items"][0]["offline"], true);
    assert_eq!(shown.body["total"], 1);
    app.get(&format!("{path}?offline=sometimes"), &c.manager_token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn the_device_list_searches_hardware_id_and_hostname_ignoring_case() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let mut cad = online(&app, license, "AB12-cad", 10);
    cad.hostname = Some("CAD-Workstation".to_owned());
    insert(&app, cad).await;
    let mut laptop = online(&app, license, "ff99-laptop", 20);
    laptop.hostname = Some("sales-notebook".to_owned());
    insert(&app, laptop).await;
    let mut nameless = online(&app, license, "zz00_nameless", 30);
    nameless.hostname = None;
    insert(&app, nameless).await;
    let path = devices_of(license);

    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q=ab12")).await, ["AB12-cad"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q=workstation")).await, ["AB12-cad"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q=NOTEBOOK")).await, ["ff99-laptop"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q={}", enc("00_"))).await, ["zz00_nameless"]);
    // `_` and `%` are literal, not wildcards.
    assert!(listed(&app, &c.manager_token, &format!("{path}?q={}", enc("12_c"))).await.is_empty());
    let none = app.get(&format!("{path}?q=nothing-like-it"), &c.manager_token).await;
    assert_eq!(none.assert_status(200)["total"], 0);
}

#[actix_web::test]
async fn the_device_list_sorts_by_activation_last_seen_and_hostname() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let now = app.state.clock.now();
    // (hardware id, hostname, activated minutes ago, last seen minutes ago)
    for (hw, host, activated, seen) in [("hw-1", "bravo", 30, 1), ("hw-2", "alpha", 10, 20), ("hw-3", "charlie", 20, 5)]
    {
        let mut d = online(&app, license, hw, activated);
        d.hostname = Some(host.to_owned());
        d.last_seen_at = Some(now - TimeDelta::minutes(seen));
        insert(&app, d).await;
    }
    let path = devices_of(license);
    let sorted = |sort: &str| format!("{path}?sort={sort}");
    let token = &c.manager_token;

    // Newest activation first by default.
    assert_eq!(listed(&app, token, &path).await, ["hw-2", "hw-3", "hw-1"]);
    assert_eq!(listed(&app, token, &sorted("-activated_at")).await, ["hw-2", "hw-3", "hw-1"]);
    assert_eq!(listed(&app, token, &sorted("activated_at")).await, ["hw-1", "hw-3", "hw-2"]);
    assert_eq!(listed(&app, token, &sorted("last_seen_at")).await, ["hw-2", "hw-3", "hw-1"]);
    assert_eq!(listed(&app, token, &sorted("-last_seen_at")).await, ["hw-1", "hw-3", "hw-2"]);
    assert_eq!(listed(&app, token, &sorted("hostname")).await, ["hw-2", "hw-1", "hw-3"]);
    assert_eq!(listed(&app, token, &sorted("-hostname")).await, ["hw-3", "hw-1", "hw-2"]);
    let unknown = app.get(&sorted("hardware_id"), token).await;
    unknown.assert_problem(422, "VALIDATION_FAILED");
    assert!(unknown.body["errors"]["sort"].is_array());
}

#[actix_web::test]
async fn devices_without_a_hostname_are_listed_searched_and_sorted() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let mut nameless = online(&app, license, "hw-nameless", 10);
    nameless.hostname = None;
    insert(&app, nameless).await;
    insert(&app, online(&app, license, "hw-named", 20)).await;
    let path = devices_of(license);

    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q=nameless")).await, ["hw-nameless"]);
    assert_eq!(listed(&app, &c.manager_token, &format!("{path}?q=host-hw")).await, ["hw-named"]);
    for sort in ["hostname", "-hostname"] {
        let mut all = listed(&app, &c.manager_token, &format!("{path}?sort={sort}")).await;
        all.sort();
        assert_eq!(all, ["hw-named", "hw-nameless"], "sort={sort}");
    }
    let one = app.get(&format!("{path}?q=nameless"), &c.manager_token).await;
    assert_eq!(one.assert_status(200)["items"][0]["hostname"], Value::Null);
}

#[actix_web::test]
async fn the_device_list_pages_without_skipping_or_repeating() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    // The same activation time for all: ties are broken by id.
    let template = online(&app, license, "hw-0", 5);
    for i in 0..5 {
        let d = Device {
            id: uuid::Uuid::now_v7().to_string(),
            hardware_id: format!("hw-{i}"),
            token_hash: Some(uuid::Uuid::new_v4().simple().to_string()),
            ..template.clone()
        };
        insert(&app, d).await;
    }

    let mut seen = Vec::new();
    for page in 1..=3 {
        let answer = app.get(&format!("{}?per_page=2&page={page}", devices_of(license)), &c.manager_token).await;
        let answer = answer.assert_status(200);
        assert_eq!(answer["total"], 5);
        assert_eq!(answer["page"], page);
        assert_eq!(answer["per_page"], 2);
        seen.extend(hardware_ids(answer));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, ["hw-0", "hw-1", "hw-2", "hw-3", "hw-4"], "{seen:?}");
    app.get(&format!("{}?per_page=0", devices_of(license)), &c.manager_token)
        .await
        .assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn get_one_device_answers_the_device_object() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let device = offline(&app, license, "hw-one", 3600);
    let expected = device.clone();
    let id = insert(&app, device).await;

    let answer = app.get(&device_at(license, &id), &c.manager_token).await;

    let d = answer.assert_status(200);
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["hardware_id"], "hw-one");
    assert_eq!(d["hostname"], "host-hw-one");
    assert_eq!(d["platform"], "linux-x86_64");
    assert_eq!(d["app_version"], "4.2.1");
    assert_eq!(d["offline"], true);
    assert_eq!(d["status"], "active");
    assert_eq!(time(&d["activated_at"]), expected.activated_at);
    assert_eq!(d["last_seen_at"], Value::Null);
    assert_eq!(d["deactivated_at"], Value::Null);
    assert_eq!(time(&d["valid_until"]), expected.valid_until.unwrap());
    assert_eq!(d["seat_released_at"], Value::Null);
    assert!(d.get("token_hash").is_none());
    let all = app.get(&format!("{}?status=all", devices_of(license)), &c.manager_token).await;
    assert_eq!(all.assert_status(200)["items"][0], *d);
}

#[actix_web::test]
async fn deactivating_an_online_device_frees_its_seat_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, online(&app, license, "hw-a", 30)).await;
    insert(&app, online(&app, license, "hw-b", 20)).await;
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 2);
    let before = app.state.clock.now();

    let answer = app.call(Method::POST, &deactivate_path(license, &id), Some(&c.manager_token), None).await;

    let after = app.state.clock.now();
    let d = answer.assert_status(200);
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["status"], "deactivated");
    let released = time(&d["seat_released_at"]);
    assert!(before <= released && released <= after, "{released} not in {before}..{after}");
    assert_eq!(time(&d["deactivated_at"]), released);
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 1);
    assert_eq!(listed(&app, &c.manager_token, &devices_of(license)).await, ["hw-b"]);
    assert_eq!(app.count_events("device.deactivated").await, 1);
    let events = app.get("/events?action=device.deactivated", &c.manager_token).await;
    let event = &events.assert_status(200)["items"][0];
    assert_eq!(event["subject_id"], id.as_str());
    assert_eq!(event["license_id"], license.as_str());
    assert_eq!(event["order_id"], c.order_id.as_str());
    assert_eq!(event["hardware_id"], "hw-a");
    assert_eq!(event["actor"]["kind"], "manager");
    assert_eq!(event["actor"]["id"], c.manager_id.as_str());
}

#[actix_web::test]
async fn deactivating_again_is_idempotent() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, online(&app, license, "hw-a", 30)).await;
    let path = deactivate_path(license, &id);
    let first = app.call(Method::POST, &path, Some(&c.manager_token), None).await.assert_status(200).clone();
    app.state.clock.advance(60);

    let second = app.call(Method::POST, &path, Some(&c.manager_token), Some(json!({}))).await;

    assert_eq!(*second.assert_status(200), first);
    let third = app.call(Method::POST, &path, Some(&app.admin_token), None).await;
    assert_eq!(*third.assert_status(200), first);
    assert_eq!(app.count_events("device.deactivated").await, 1);
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 0);
}

#[actix_web::test]
async fn an_offline_device_keeps_its_seat_until_its_license_file_runs_out() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let device = offline(&app, license, "hw-offline", 86_400);
    let valid_until = device.valid_until.unwrap();
    let id = insert(&app, device).await;
    insert(&app, online(&app, license, "hw-online", 5)).await;

    let answer = app.call(Method::POST, &deactivate_path(license, &id), Some(&c.manager_token), None).await;

    let d = answer.assert_status(200);
    assert_eq!(d["status"], "deactivated");
    assert_eq!(time(&d["seat_released_at"]), valid_until);
    assert_eq!(time(&d["valid_until"]), valid_until);
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 2);
    assert_eq!(listed(&app, &c.manager_token, &devices_of(license)).await, ["hw-online"]);
    assert_eq!(app.count_events("device.deactivated").await, 1);

    app.state.clock.advance(86_400 - 60);
    let admin = fresh_admin_token(&app).await;
    assert_eq!(seats_used(&app, &admin, license).await, 2, "still held a minute before the file runs out");
    app.state.clock.advance(61);
    assert_eq!(seats_used(&app, &admin, license).await, 1);
}

#[actix_web::test]
async fn an_offline_device_whose_file_ran_out_is_freed_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, offline(&app, license, "hw-stale", -3600)).await;
    let before = app.state.clock.now();

    let answer = app.call(Method::POST, &deactivate_path(license, &id), Some(&c.manager_token), None).await;

    let released = time(&answer.assert_status(200)["seat_released_at"]);
    assert!(released >= before && released <= app.state.clock.now());
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 0);
}

#[actix_web::test]
async fn an_admin_may_force_an_offline_devices_seat_free_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, offline(&app, license, "hw-offline", 86_400)).await;
    let before = app.state.clock.now();

    let answer = app.post(&deactivate_path(license, &id), &app.admin_token, json!({ "force": true })).await;

    let d = answer.assert_status(200);
    assert_eq!(d["status"], "deactivated");
    let released = time(&d["seat_released_at"]);
    assert!(released >= before && released <= app.state.clock.now(), "{released}");
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 0);
    assert_eq!(app.count_events("device.deactivated").await, 1);
    let event = app.get("/events?action=device.deactivated", &app.admin_token).await;
    assert_eq!(event.assert_status(200)["items"][0]["actor"]["kind"], "admin");
}

#[actix_web::test]
async fn an_admin_may_force_free_a_seat_still_held_after_deactivation() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, offline(&app, license, "hw-offline", 86_400)).await;
    let path = deactivate_path(license, &id);
    app.call(Method::POST, &path, Some(&c.manager_token), None).await.assert_status(200);
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 1);

    let forced = app.post(&path, &app.admin_token, json!({ "force": true })).await;

    let released = time(&forced.assert_status(200)["seat_released_at"]);
    assert!(released <= app.state.clock.now());
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 0);
}

#[actix_web::test]
async fn a_manager_may_not_force_a_seat_free() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, offline(&app, license, "hw-offline", 86_400)).await;

    let answer = app.post(&deactivate_path(license, &id), &c.manager_token, json!({ "force": true })).await;

    answer.assert_problem(403, "FORBIDDEN");
    let device = app.get(&device_at(license, &id), &c.manager_token).await;
    assert_eq!(device.assert_status(200)["status"], "active");
    assert_eq!(device.body["seat_released_at"], Value::Null);
    assert_eq!(seats_used(&app, &c.manager_token, license).await, 1);
    assert_eq!(app.count_events("device.deactivated").await, 0);
    // Without force the same manager may deactivate it.
    let plain = app.post(&deactivate_path(license, &id), &c.manager_token, json!({ "force": false })).await;
    assert_eq!(plain.assert_status(200)["status"], "deactivated");
}

#[actix_web::test]
async fn a_deactivate_body_must_be_json() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let id = insert(&app, online(&app, license, "hw-a", 30)).await;
    let path = deactivate_path(license, &id);

    app.raw(Method::POST, &path, Some(&app.admin_token), Some("text/plain"), b"force".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, &path, Some(&app.admin_token), Some("application/json"), b"{\"force\":".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");

    assert_eq!(stored(&app, &id).await.status, DeviceStatus::Active);
}

#[actix_web::test]
async fn every_devices_call_on_a_user_based_license_is_wrong_license_kind() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.user_license_id;
    let device = unknown_id();
    let token = Some(c.manager_token.as_str());

    let answers = [
        app.call(Method::GET, &devices_of(license), token, None).await,
        app.call(Method::GET, &device_at(license, &device), token, None).await,
        app.call(Method::POST, &deactivate_path(license, &device), token, None).await,
        app.call(Method::GET, &devices_of(license), Some(&app.admin_token), None).await,
        app.call(Method::POST, &deactivate_path(license, &device), Some(&app.admin_token), None).await,
    ];

    for answer in &answers {
        answer.assert_problem(409, "WRONG_LICENSE_KIND");
    }
}

#[actix_web::test]
async fn devices_cannot_be_created_through_the_api() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let path = devices_of(&c.computer_license_id);
    let body = json!({ "hardware_id": "hw-forged", "hostname": "forged" });

    let answers = [
        app.call(Method::POST, &path, Some(&app.admin_token), Some(body.clone())).await,
        app.call(Method::POST, &path, Some(&c.manager_token), Some(body.clone())).await,
        app.call(Method::POST, &path, None, Some(body.clone())).await,
        app.call(Method::POST, &devices_of(&c.user_license_id), Some(&app.admin_token), Some(body)).await,
    ];

    for answer in &answers {
        answer.assert_problem(405, "METHOD_NOT_ALLOWED");
        assert!(
            answer.header("allow").is_some_and(|a| a.contains("GET") && !a.contains("POST")),
            "{:?}",
            answer.headers
        );
    }
    let all = app.get(&format!("{path}?status=all"), &app.admin_token).await;
    assert_eq!(all.assert_status(200)["total"], 0);
}

#[actix_web::test]
async fn unknown_or_malformed_license_and_device_ids_are_404() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let device = insert(&app, online(&app, license, "hw-a", 30)).await;
    let token = Some(c.manager_token.as_str());

    for license_id in [unknown_id(), "not-a-uuid".to_owned()] {
        app.call(Method::GET, &devices_of(&license_id), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::GET, &device_at(&license_id, &device), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::POST, &deactivate_path(&license_id, &device), token, None)
            .await
            .assert_problem(404, "NOT_FOUND");
    }
    for device_id in [unknown_id(), "not-a-uuid".to_owned()] {
        app.call(Method::GET, &device_at(license, &device_id), token, None).await.assert_problem(404, "NOT_FOUND");
        app.call(Method::POST, &deactivate_path(license, &device_id), token, None)
            .await
            .assert_problem(404, "NOT_FOUND");
    }
    // A device is found only under its own license.
    let other = app.post(
        "/licenses",
        &app.admin_token,
        json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "computer_based", "seats": 1 }),
    );
    let other = other.await.assert_status(201)["id"].as_str().unwrap().to_owned();
    app.get(&device_at(&other, &device), &c.manager_token).await.assert_problem(404, "NOT_FOUND");
    app.call(Method::POST, &deactivate_path(&other, &device), token, None).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(stored(&app, &device).await.status, DeviceStatus::Active);
}

#[actix_web::test]
async fn the_shop_key_and_anonymous_callers_may_not_touch_devices() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let license = &c.computer_license_id;
    let device = insert(&app, online(&app, license, "hw-a", 30)).await;
    let key = app.shop_key().await;

    app.get(&devices_of(license), &key).await.assert_problem(403, "FORBIDDEN");
    app.get(&device_at(license, &device), &key).await.assert_problem(403, "FORBIDDEN");
    app.call(Method::POST, &deactivate_path(license, &device), Some(&key), None).await.assert_problem(403, "FORBIDDEN");
    app.call(Method::POST, &deactivate_path(license, &device), None, None).await.assert_problem(401, "INVALID_TOKEN");

    assert_eq!(stored(&app, &device).await.status, DeviceStatus::Active);
}

#[actix_web::test]
async fn a_manager_of_another_customer_gets_404_for_its_devices_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let victim = app.order("SO-A", "max@a.example").await;
    let intruder = app.order("SO-B", "eve@b.example").await;
    let license = &victim.computer_license_id;
    let online_id = insert(&app, online(&app, license, "hw-victim", 30)).await;
    let offline_id = insert(&app, offline(&app, license, "hw-victim-offline", 86_400)).await;
    let before =
        app.get(&format!("{}?status=all", devices_of(license)), &app.admin_token).await.assert_status(200).clone();
    let token = Some(intruder.manager_token.as_str());

    let answers = [
        app.call(Method::GET, &devices_of(license), token, None).await,
        app.call(Method::GET, &format!("{}?status=all", devices_of(license)), token, None).await,
        app.call(Method::GET, &device_at(license, &online_id), token, None).await,
        app.call(Method::POST, &deactivate_path(license, &online_id), token, None).await,
        app.call(Method::POST, &deactivate_path(license, &offline_id), token, Some(json!({ "force": true }))).await,
        // The victim's device under the intruder's own license is not found either.
        app.call(Method::GET, &device_at(&intruder.computer_license_id, &online_id), token, None).await,
        app.call(Method::POST, &deactivate_path(&intruder.computer_license_id, &online_id), token, None).await,
        app.call(Method::GET, &devices_of(&victim.user_license_id), token, None).await,
    ];

    for answer in &answers {
        answer.assert_problem(404, "NOT_FOUND");
        assert!(!answer.text.contains("hw-victim"));
    }
    let after = app.get(&format!("{}?status=all", devices_of(license)), &app.admin_token).await;
    assert_eq!(*after.assert_status(200), before);
    assert_eq!(seats_used(&app, &app.admin_token, license).await, 2);
    assert_eq!(app.count_events("device.deactivated").await, 0);
}
