//! Rate limits: the per-IP cap and the back-off after failed credentials.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Answer, TestApp};

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

/// A test app behind a trusted proxy (the test itself, on 127.0.0.1), so
/// requests can come "from" any address through `X-Forwarded-For`.
async fn behind_proxy() -> TestApp {
    TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await
}

/// POSTs `body` to `path` as if from `from` (through the trusted proxy).
async fn post_from(app: &TestApp, from: &str, path: &str, body: Value) -> Answer {
    let request = app.client.post(app.url(path)).header("x-forwarded-for", from).json(&body);
    TestApp::answer(request.send().await.expect("sent")).await
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> Answer {
    post_from(app, from, "/auth/login", json!({ "email": email, "password": password })).await
}

async fn validate_from(app: &TestApp, from: &str, token: &str) -> Answer {
    post_from(app, from, "/client/validate", json!({ "activation_token": token, "hardware_id": "pc-1" })).await
}

#[actix_web::test]
async fn failed_sign_ins_from_other_addresses_never_refuse_the_right_password() {
    let app = behind_proxy().await;
    for i in 0..30 {
        login_from(&app, &format!("198.51.100.{i}"), ADMIN_EMAIL, "wrong-password-here").await;
    }
    for _ in 0..10 {
        login_from(&app, "203.0.113.5", ADMIN_EMAIL, "wrong-password-here").await;
    }

    let attacker = login_from(&app, "203.0.113.5", ADMIN_EMAIL, "wrong-password-here").await;
    let victim = login_from(&app, "192.0.2.44", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    attacker.assert_problem(429, "RATE_LIMITED");
    victim.assert_status(200);
}

#[actix_web::test]
async fn an_address_guessing_many_accounts_backs_off_for_all_of_them() {
    let app = behind_proxy().await;
    for i in 0..20 {
        login_from(&app, "203.0.113.5", &format!("guess{i}@x.example"), "wrong-password-here")
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }

    let next_guess = login_from(&app, "203.0.113.5", "guess-next@x.example", "wrong-password-here").await;
    let elsewhere = login_from(&app, "203.0.113.6", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    next_guess.assert_problem(429, "RATE_LIMITED");
    elsewhere.assert_status(200);
}

#[actix_web::test]
async fn ipv6_addresses_count_per_64() {
    let app = behind_proxy().await;
    for i in 0..5 {
        login_from(&app, &format!("2001:db8:1:2::{i}"), ADMIN_EMAIL, "wrong-password-here")
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }

    let same_network = login_from(&app, "2001:db8:1:2:abcd::1", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let next_network = login_from(&app, "2001:db8:1:3::1", ADMIN_EMAIL, ADMIN_PASSWORD).await;

    same_network.assert_problem(429, "RATE_LIMITED");
    next_network.assert_status(200);
}

#[actix_web::test]
async fn an_offices_garbage_tokens_never_refuse_its_valid_tokens() {
    let app = behind_proxy().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let key = c.order["licenses"][1]["key"].as_str().unwrap();
    let activated =
        post_from(&app, "198.51.100.20", "/client/activate", json!({ "license_key": key, "hardware_id": "pc-1" }))
            .await;
    let valid = activated.assert_status(200)["activation_token"].as_str().unwrap().to_owned();
    for _ in 0..25 {
        validate_from(&app, "198.51.100.20", "lat_dnot-a-real-token").await;
    }

    let garbage = validate_from(&app, "198.51.100.20", "lat_dnot-a-real-token").await;
    let good = validate_from(&app, "198.51.100.20", &valid).await;

    garbage.assert_problem(429, "RATE_LIMITED");
    assert_eq!(good.assert_status(200)["code"], "VALID");
}

/// The address the audit trail recorded for the creation of `product`.
async fn recorded_ip(app: &TestApp, product: &Value) -> Value {
    let events = app.get("/events?action=product.created&per_page=200", &app.admin_token).await;
    let events = events.assert_status(200)["items"].as_array().unwrap().clone();
    let event = events.iter().find(|e| e["subject_id"] == product["id"]).expect("the product's event");
    event["ip"].clone()
}

#[actix_web::test]
async fn forwarded_for_is_walked_from_the_right_over_every_line() {
    let app = behind_proxy().await;
    let cases: [(&[&str], &str); 4] = [
        // The client wrote the first line; the trusted proxy appended its own.
        (&["1.1.1.1", "203.0.113.9"], "203.0.113.9"),
        (&["1.1.1.1, 203.0.113.9:51234"], "203.0.113.9"),
        (&["[2001:db8::7]:443, 127.0.0.2"], "2001:db8::7"),
        (&["203.0.113.9, not-an-address"], "127.0.0.1"),
    ];
    for (i, (lines, expected)) in cases.into_iter().enumerate() {
        let mut request = app.client.post(app.url("/products")).bearer_auth(&app.admin_token);
        for line in lines {
            request = request.header("x-forwarded-for", *line);
        }
        let body = json!({ "code": format!("P-{i}"), "name": "Product" });
        let product = TestApp::answer(request.json(&body).send().await.unwrap()).await;

        assert_eq!(recorded_ip(&app, product.assert_status(201)).await, *expected, "{lines:?}");
    }
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn().await;
    let request = app.client.post(app.url("/products")).bearer_auth(&app.admin_token);
    let request = request.header("x-forwarded-for", "203.0.113.9");
    let body = json!({ "code": "P-1", "name": "Product" });
    let product = TestApp::answer(request.json(&body).send().await.unwrap()).await;

    assert_eq!(recorded_ip(&app, product.assert_status(201)).await, "127.0.0.1");
}

#[actix_web::test]
async fn every_api_answer_carries_the_callers_budget() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_ip = 5).await; // burst 20
    let answers = [
        app.get("/me", &app.admin_token).await,
        app.get("/licenses/not-an-id", &app.admin_token).await,
        app.call(Method::GET, "/me", None, None).await,
        app.call(Method::GET, "/client/public-key", None, None).await,
    ];
    let mut remaining = Vec::new();
    for answer in &answers {
        assert_eq!(answer.header("ratelimit-limit"), Some("20"), "{}", answer.text);
        remaining.push(answer.header("ratelimit-remaining").unwrap().parse::<u32>().unwrap());
        assert!(answer.header("ratelimit-reset").unwrap().parse::<u64>().unwrap() >= 1);
    }
    assert!(remaining.windows(2).all(|w| w[1] < w[0]), "the budget shrinks: {remaining:?}");
    assert!(app.call(Method::GET, "/health", None, None).await.header("ratelimit-limit").is_none());
    let limited = loop {
        let answer = app.call(Method::GET, "/client/public-key", None, None).await;
        if answer.status == 429 {
            break answer;
        }
    };
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert!(limited.header("retry-after").is_some());
}

#[actix_web::test]
async fn the_spec_documents_the_budget_and_request_id_on_every_api_answer() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api-docs/openapi.json", &app.admin_token).await.assert_status(200).clone();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(r) => &spec["components"]["responses"][r.rsplit('/').next().unwrap()],
                    None => response,
                };
                let headers = &response["headers"];
                assert!(headers.get("X-Request-Id").is_some(), "{verb} {path} {status}");
                if path.starts_with("/api/") {
                    for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                        assert!(headers.get(name).is_some(), "{name} on {verb} {path} {status}");
                    }
                }
                if path.starts_with("/api/v1/client/") && status.starts_with('2') {
                    assert!(headers.get("License-Signature").is_some(), "{verb} {path} {status}");
                }
            }
        }
    }
}
