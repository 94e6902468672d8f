//! Tests of GET /dashboard: counts over the caller's scope (a manager: its
//! orders; an admin: everything).

use chrono::{SecondsFormat, TimeDelta};
use license_server::models::seats::Device;
use license_server::models::seats::DeviceStatus;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Customer, TestApp, patch_license};

/// Stores a device of `license_id` as the client API would register it.
async fn device(app: &TestApp, license_id: &str, hardware_id: &str, offline: bool, active: bool) {
    let now = app.state.clock.now();
    let device = Device {
        id: uuid::Uuid::now_v7().to_string(),
        license_id: license_id.to_owned(),
        hardware_id: hardware_id.to_owned(),
        hostname: Some(format!("host-{hardware_id}")),
        platform: None,
        app_version: None,
        offline,
        status: if active { DeviceStatus::Active } else { DeviceStatus::Deactivated },
        token_hash: (!offline).then(|| uuid::Uuid::new_v4().simple().to_string()),
        activated_at: now - TimeDelta::hours(1),
        last_seen_at: (!offline).then_some(now),
        deactivated_at: (!active).then_some(now),
        valid_until: offline.then(|| now + TimeDelta::days(30)),
        seat_released_at: (!active).then_some(now),
        created_at: now - TimeDelta::hours(1),
        updated_at: now,
    };
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
}

/// Adds users `prefix0@…` … through the API as the customer's manager.
async fn users(app: &TestApp, customer: &Customer, prefix: &str, count: usize) {
    for i in 0..count {
        let body = json!({ "email": format!("{prefix}{i}@users.example") });
        let path = format!("/licenses/{}/users", customer.user_license_id);
        app.post(&path, &customer.manager_token, body).await.assert_status(201);
    }
}

async fn dashboard(app: &TestApp, token: &str) -> Value {
    app.get("/dashboard", token).await.assert_status(200).clone()
}

/// An RFC 3339 time `days` from the app's now.
fn in_days(app: &TestApp, days: i64) -> String {
    (app.state.clock.now_utc() + TimeDelta::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn add_manager(app: &TestApp, order_id: &str, token: &str, email: &str) {
    let answer = app.post(&format!("/orders/{order_id}/managers"), token, json!({ "email": email })).await;
    answer.assert_status(201);
}

/// Two customers: A with 2 users, an online, an offline and a deactivated
/// device; B with 3 users and one online device.
async fn two_customers(app: &TestApp) -> (Customer, Customer) {
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "max@b.example").await;
    users(app, &a, "a", 2).await;
    users(app, &b, "b", 3).await;
    device(app, &a.computer_license_id, "a-online", false, true).await;
    device(app, &a.computer_license_id, "a-offline", true, true).await;
    device(app, &a.computer_license_id, "a-gone", false, false).await;
    device(app, &b.computer_license_id, "b-online", false, true).await;
    (a, b)
}

#[actix_web::test]
async fn a_managers_dashboard_counts_only_its_orders() {
    let app = TestApp::spawn().await;
    let (a, b) = two_customers(&app).await;

    let seen_by_a = dashboard(&app, &a.manager_token).await;
    let seen_by_b = dashboard(&app, &b.manager_token).await;

    assert_eq!(
        seen_by_a,
        json!({
            "orders": 1,
            "licenses": {
                "total": 2, "user_based": 1, "computer_based": 1,
                "active": 2, "suspended": 0, "expired": 0, "expiring_within_30_days": 0,
            },
            "users": 2,
            "active_devices": 2,
            "managers": 1,
        })
    );
    assert_eq!(seen_by_b["orders"], 1);
    assert_eq!(seen_by_b["licenses"]["total"], 2);
    assert_eq!(seen_by_b["users"], 3);
    assert_eq!(seen_by_b["active_devices"], 1);
    assert_eq!(seen_by_b["managers"], 1);
}

#[actix_web::test]
async fn another_customers_changes_do_not_show_on_a_managers_dashboard() {
    let app = TestApp::spawn().await;
    let (a, b) = two_customers(&app).await;
    let before = dashboard(&app, &a.manager_token).await;

    patch_license(&app, &app.admin_token, &b.user_license_id, json!({ "status": "suspended" })).await;
    patch_license(&app, &app.admin_token, &b.computer_license_id, json!({ "expires_at": in_days(&app, 5) })).await;
    users(&app, &b, "more", 1).await;
    device(&app, &b.computer_license_id, "b-second", true, true).await;
    add_manager(&app, &b.order_id, &b.manager_token, "second@b.example").await;

    assert_eq!(dashboard(&app, &a.manager_token).await, before);
    let seen_by_b = dashboard(&app, &b.manager_token).await;
    assert_eq!(seen_by_b["licenses"]["suspended"], 1);
    assert_eq!(seen_by_b["licenses"]["expiring_within_30_days"], 1);
    assert_eq!(seen_by_b["users"], 4);
    assert_eq!(seen_by_b["active_devices"], 2);
    assert_eq!(seen_by_b["managers"], 2);
}

#[actix_web::test]
async fn the_admins_dashboard_counts_everything() {
    let app = TestApp::spawn().await;
    two_customers(&app).await;

    let seen = dashboard(&app, &app.admin_token).await;

    assert_eq!(
        seen,
        json!({
            "orders": 2,
            "licenses": {
                "total": 4, "user_based": 2, "computer_based": 2,
                "active": 4, "suspended": 0, "expired": 0, "expiring_within_30_days": 0,
            },
            "users": 5,
            "active_devices": 3,
            "managers": 2,
        })
    );
}

#[actix_web::test]
async fn an_empty_installation_counts_zero() {
    let app = TestApp::spawn().await;

    let seen = dashboard(&app, &app.admin_token).await;

    assert_eq!(seen["orders"], 0);
    assert_eq!(seen["licenses"]["total"], 0);
    assert_eq!(seen["users"], 0);
    assert_eq!(seen["active_devices"], 0);
    assert_eq!(seen["managers"], 0);
}

#[actix_web::test]
async fn license_counts_follow_suspension_and_expiry() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let extra = |kind: &str, expires_at: Option<String>| {
        let mut body = json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": kind, "seats": 1 });
        if let Some(at) = expires_at {
            body["expires_at"] = json!(at);
        }
        app.post("/licenses", &app.admin_token, body)
    };
    let expired = extra("computer_based", None).await.assert_status(201)["id"].as_str().unwrap().to_owned();
    extra("user_based", Some(in_days(&app, 40))).await.assert_status(201);
    extra("computer_based", None).await.assert_status(201);
    // Suspended wins over expiring; the computer-based one expires in 10 days.
    patch_license(
        &app,
        &app.admin_token,
        &c.user_license_id,
        json!({ "status": "suspended", "expires_at": in_days(&app, 10) }),
    )
    .await;
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "expires_at": in_days(&app, 10) })).await;
    patch_license(&app, &app.admin_token, &expired, json!({ "expires_at": in_days(&app, -1) })).await;

    let expected = json!({
        "total": 5, "user_based": 2, "computer_based": 3,
        "active": 3, "suspended": 1, "expired": 1, "expiring_within_30_days": 1,
    });
    assert_eq!(dashboard(&app, &app.admin_token).await["licenses"], expected);
    assert_eq!(dashboard(&app, &c.manager_token).await["licenses"], expected);

    // Eleven days later the 10-day license has expired and the 40-day one is within 30 days.
    app.state.clock.advance(11 * 86_400);
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let later = dashboard(&app, &admin).await;
    assert_eq!(
        later["licenses"],
        json!({
            "total": 5, "user_based": 2, "computer_based": 3,
            "active": 2, "suspended": 1, "expired": 2, "expiring_within_30_days": 1,
        })
    );

    // Lifting the suspension shows what was hidden behind it: the license has expired too.
    patch_license(&app, &admin, &c.user_license_id, json!({ "status": "active" })).await;
    let lifted = dashboard(&app, &admin).await;
    assert_eq!(lifted["licenses"]["suspended"], 0);
    assert_eq!(lifted["licenses"]["expired"], 3);
    assert_eq!(lifted["licenses"]["active"], 2);
}

#[actix_web::test]
async fn expiring_counts_only_active_licenses_within_30_days() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    patch_license(&app, &app.admin_token, &c.user_license_id, json!({ "expires_at": in_days(&app, 29) })).await;
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "expires_at": in_days(&app, 31) })).await;

    let seen = dashboard(&app, &c.manager_token).await;

    assert_eq!(seen["licenses"]["expiring_within_30_days"], 1);
    assert_eq!(seen["licenses"]["active"], 2);
    // A perpetual license never expires.
    patch_license(&app, &app.admin_token, &c.user_license_id, json!({ "expires_at": null })).await;
    assert_eq!(dashboard(&app, &c.manager_token).await["licenses"]["expiring_within_30_days"], 0);
}

#[actix_web::test]
async fn users_and_active_devices_follow_changes() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    users(&app, &c, "u", 3).await;
    device(&app, &c.computer_license_id, "online", false, true).await;
    device(&app, &c.computer_license_id, "offline", true, true).await;
    let before = dashboard(&app, &c.manager_token).await;
    assert_eq!((before["users"].clone(), before["active_devices"].clone()), (json!(3), json!(2)));

    let list = app.get(&format!("/licenses/{}/users", c.user_license_id), &c.manager_token).await;
    let user = list.assert_status(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let removed = app.delete(&format!("/licenses/{}/users/{user}", c.user_license_id), &c.manager_token).await;
    assert_eq!(removed.status, 204);
    let devices = app.get(&format!("/licenses/{}/devices?offline=true", c.computer_license_id), &c.manager_token).await;
    let offline = devices.assert_status(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/licenses/{}/devices/{offline}/deactivate", c.computer_license_id);
    app.call(Method::POST, &path, Some(&c.manager_token), None).await.assert_status(200);

    let after = dashboard(&app, &c.manager_token).await;
    assert_eq!(after["users"], 2);
    // Deactivated, even though its file still holds the seat.
    assert_eq!(after["active_devices"], 1);
}

#[actix_web::test]
async fn managers_are_counted_once_each_the_caller_included() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "max@b.example").await;

    add_manager(&app, &a.order_id, &a.manager_token, "second@a.example").await;
    assert_eq!(dashboard(&app, &a.manager_token).await["managers"], 2);
    assert_eq!(dashboard(&app, &b.manager_token).await["managers"], 1);
    assert_eq!(dashboard(&app, &app.admin_token).await["managers"], 3);

    // B's manager now also manages A's order: one more for A, still three accounts overall.
    add_manager(&app, &a.order_id, &app.admin_token, "max@b.example").await;
    assert_eq!(dashboard(&app, &a.manager_token).await["managers"], 3);
    assert_eq!(dashboard(&app, &app.admin_token).await["managers"], 3);
    let seen_by_b = dashboard(&app, &b.manager_token).await;
    assert_eq!(seen_by_b["orders"], 2);
    assert_eq!(seen_by_b["licenses"]["total"], 4);
    assert_eq!(seen_by_b["managers"], 3);
}

#[actix_web::test]
async fn the_shop_key_may_not_read_the_dashboard() {
    let app = TestApp::spawn().await;
    let key = app.shop_key().await;

    app.get("/dashboard", &key).await.assert_problem(403, "FORBIDDEN");
    app.call(Method::GET, "/dashboard", None, None).await.assert_problem(401, "INVALID_TOKEN");
}
