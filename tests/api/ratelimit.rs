//! Rate limits: the per-IP cap and the back-off after failed credentials.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[actix_web::test]
async fn the_per_ip_cap_answers_429_with_retry_after_once_the_burst_is_spent() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 2).await; // burst 8
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get("/me", &app.admin_token).await);
    }
    let limited: Vec<_> = statuses.iter().filter(|a| a.status == 429).collect();
    assert!(!limited.is_empty(), "the cap never applied");
    assert!(statuses.iter().take(7).all(|a| a.status == 200), "the burst was not honoured");
    limited[0].assert_problem(429, "RATE_LIMITED");
    assert!(limited[0].header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Operations endpoints are not capped.
    assert_eq!(app.call(Method::GET, "/health", None, None).await.status, 200);
}

#[actix_web::test]
async fn failed_sign_ins_meet_a_back_off_and_are_never_a_hard_lock_out() {
    let app = TestApp::spawn().await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "wrong-password-here"});
    for _ in 0..5 {
        app.call(Method::POST, "/auth/login", None, Some(wrong.clone()))
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    let limited = app.call(Method::POST, "/auth/login", None, Some(wrong.clone())).await;
    limited.assert_problem(429, "RATE_LIMITED");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Even the right password waits out the back-off …
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    app.call(Method::POST, "/auth/login", None, Some(right.clone())).await.assert_problem(429, "RATE_LIMITED");
    // … and then gets in.
    tokio::time::sleep(std::time::Duration::from_millis(1100 * wait)).await;
    app.call(Method::POST, "/auth/login", None, Some(right)).await.assert_status(200);
}

#[actix_web::test]
async fn a_rate_limited_client_answer_is_signed_too() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 1).await; // burst 4
    let mut last = None;
    for _ in 0..8 {
        let response = app.client.get(app.url("/api/v1/client/public-key")).send().await.unwrap();
        if response.status() == 429 {
            last = Some(response);
            break;
        }
    }
    let response = last.expect("the cap applied");
    assert!(response.headers().get("license-signature").is_some());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    assert_eq!(body["endpoint"], "public-key");
}
