use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, refresh};

#[actix_web::test]
async fn login_answers_tokens_and_the_account() {
    let app = TestApp::spawn().await;
    let body = app.login("  Admin@CRE-DO.example ", ADMIN_PASSWORD).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("lrt_"));
    let refresh_expires = body["refresh_expires_in"].as_i64().unwrap();
    assert!((30 * 86_400 - 5..=30 * 86_400).contains(&refresh_expires));
    assert_eq!(body["account"]["email"], ADMIN_EMAIL);
    assert_eq!(body["account"]["role"], "admin");
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let wrong = app
        .call(Method::POST, "/auth/login", None, Some(json!({"email": ADMIN_EMAIL, "password": "not-the-password"})))
        .await;
    wrong.assert_problem(401, "INVALID_CREDENTIALS");
    let unknown = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": "nobody@example.com", "password": "not-the-password"})),
        )
        .await;
    unknown.assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

#[actix_web::test]
async fn login_with_missing_fields_is_422_and_garbage_is_400() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::POST, "/auth/login", None, Some(json!({"email": ADMIN_EMAIL}))).await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(answer.body["errors"]["password"][0], "is required");
    let answer = app.call(Method::POST, "/auth/login", None, Some(json!({"email": "", "password": ""}))).await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    assert!(answer.body["errors"]["email"].is_array() && answer.body["errors"]["password"].is_array());
    app.raw(Method::POST, "/auth/login", None, Some("application/json"), b"{\"email\":".to_vec())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    app.raw(Method::POST, "/auth/login", None, Some("application/json"), Vec::new())
        .await
        .assert_problem(400, "MALFORMED_BODY");
    // A bodiless POST needs no content type: it is missing its body, not mistyped.
    app.raw(Method::POST, "/auth/login", None, None, Vec::new()).await.assert_problem(400, "MALFORMED_BODY");
}

#[actix_web::test]
async fn a_non_json_body_is_415_and_an_oversized_one_413() {
    let app = TestApp::spawn().await;
    app.raw(Method::POST, "/auth/login", None, Some("text/plain"), b"email=x".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.raw(Method::POST, "/auth/login", None, None, b"{}".to_vec())
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    let big = format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat(1 << 20));
    app.raw(Method::POST, "/auth/login", None, Some("application/json"), big.into_bytes())
        .await
        .assert_problem(413, "BODY_TOO_LARGE");
    // A charset parameter is still JSON.
    let ok = app
        .raw(
            Method::POST,
            "/auth/login",
            None,
            Some("application/json; charset=utf-8"),
            serde_json::to_vec(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).unwrap(),
        )
        .await;
    ok.assert_status(200);
}

#[actix_web::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = TestApp::spawn().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let old = first["refresh_token"].as_str().unwrap();
    let second = refresh(&app, old).await;
    let second = second.assert_status(200).clone();
    let new = second["refresh_token"].as_str().unwrap();
    assert_ne!(old, new);
    assert_eq!(app.get("/me", second["access_token"].as_str().unwrap()).await.status, 200);
    // The family keeps its absolute end: rotation does not extend it.
    assert!(second["refresh_expires_in"].as_i64().unwrap() <= first["refresh_expires_in"].as_i64().unwrap());
    refresh(&app, new).await.assert_status(200);
}

#[actix_web::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let old = login["refresh_token"].as_str().unwrap().to_owned();
    let rotated = refresh(&app, &old).await.assert_status(200).clone();
    let current = rotated["refresh_token"].as_str().unwrap().to_owned();

    refresh(&app, &old).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    // The thief's replay also ended the legitimate holder's token.
    refresh(&app, &current).await.assert_problem(401, "INVALID_REFRESH_TOKEN");

    // Other sign-ins of the same account are untouched.
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    refresh(&app, other["refresh_token"].as_str().unwrap()).await.assert_status(200);
}

#[actix_web::test]
async fn unknown_and_expired_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    refresh(&app, "lrt_unknown").await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.state.clock.advance(30 * 86_400 + 1);
    refresh(&app, login["refresh_token"].as_str().unwrap()).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    app.call(Method::POST, "/auth/refresh", None, Some(json!({}))).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn logout_revokes_the_family_and_always_answers_204() {
    let app = TestApp::spawn().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = login["refresh_token"].as_str().unwrap();
    let out = app.call(Method::POST, "/auth/logout", None, Some(json!({ "refresh_token": token }))).await;
    assert_eq!(out.status, 204);
    refresh(&app, token).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    let again = app.call(Method::POST, "/auth/logout", None, Some(json!({ "refresh_token": "lrt_nothing" }))).await;
    assert_eq!(again.status, 204);
    // Access tokens are stateless: still valid until they expire.
    assert_eq!(app.get("/me", login["access_token"].as_str().unwrap()).await.status, 200);
}

#[actix_web::test]
async fn missing_garbage_and_foreign_tokens_are_401_invalid_token() {
    let app = TestApp::spawn().await;
    let none = app.call(Method::GET, "/me", None, None).await;
    none.assert_problem(401, "INVALID_TOKEN");
    assert_eq!(none.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    app.get("/me", "garbage").await.assert_problem(401, "INVALID_TOKEN");
    let basic = app.client.get(app.url("/me")).header("authorization", "Basic YTpi").send().await.unwrap();
    TestApp::answer(basic).await.assert_problem(401, "INVALID_TOKEN");

    let foreign = license_server::auth::jwt::JwtKeys::new(&[1u8; 32]);
    let now = app.state.clock.now_utc().timestamp();
    let forged = foreign.issue("someone", "family", now, 900);
    app.get("/me", &forged).await.assert_problem(401, "INVALID_TOKEN");
}

#[actix_web::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::spawn().await;
    let real = app.admin_token.clone();
    let payload = real.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    app.get("/me", &format!("{header}.{payload}.")).await.assert_problem(401, "INVALID_TOKEN");
    let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    let signature = real.split('.').nth(2).unwrap();
    app.get("/me", &format!("{hs512}.{payload}.{signature}")).await.assert_problem(401, "INVALID_TOKEN");
}

#[actix_web::test]
async fn an_expired_access_token_is_token_expired() {
    let app = TestApp::spawn().await;
    app.state.clock.advance(900 + 10); // past exp and the 5 s leeway
    let answer = app.get("/me", &app.admin_token).await;
    answer.assert_problem(401, "TOKEN_EXPIRED");
    assert!(answer.header("www-authenticate").unwrap().contains("invalid_token"));
}

#[actix_web::test]
async fn me_shows_and_renames_the_caller() {
    let app = TestApp::spawn().await;
    let me = app.get("/me", &app.admin_token).await;
    let me = me.assert_status(200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["name"], "Ada Admin");
    assert_eq!(me["role"], "admin");
    let renamed = app.patch("/me", &app.admin_token, json!({"name": "  Ada Lovelace "})).await;
    assert_eq!(renamed.assert_status(200)["name"], "Ada Lovelace");
    assert_eq!(app.get("/me", &app.admin_token).await.body["name"], "Ada Lovelace");
    assert_eq!(app.count_events("account.updated").await, 1);

    app.patch("/me", &app.admin_token, json!({"name": "x".repeat(201)})).await.assert_problem(422, "VALIDATION_FAILED");
    app.patch("/me", &app.admin_token, json!({"name": 5})).await.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(app.get("/me", &app.admin_token).await.body["name"], "Ada Lovelace");
}

#[actix_web::test]
async fn changing_the_password_keeps_this_sign_in_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let this = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = this["access_token"].as_str().unwrap();
    let answer = app
        .call(
            Method::PUT,
            "/me/password",
            Some(access),
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "a-brand-new-password"})),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    refresh(&app, this["refresh_token"].as_str().unwrap()).await.assert_status(200);
    refresh(&app, other["refresh_token"].as_str().unwrap()).await.assert_problem(401, "INVALID_REFRESH_TOKEN");
    app.login(ADMIN_EMAIL, "a-brand-new-password").await;
    app.call(Method::POST, "/auth/login", None, Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})))
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(app.count_events("account.password_changed").await, 1);
}

#[actix_web::test]
async fn a_wrong_current_password_or_a_short_new_one_is_422() {
    let app = TestApp::spawn().await;
    let wrong = app
        .call(
            Method::PUT,
            "/me/password",
            Some(&app.admin_token),
            Some(json!({"current_password": "not-it-at-all", "new_password": "a-brand-new-password"})),
        )
        .await;
    wrong.assert_problem(422, "WRONG_CURRENT_PASSWORD");
    assert!(wrong.body["errors"]["current_password"].is_array());
    let short = app
        .call(
            Method::PUT,
            "/me/password",
            Some(&app.admin_token),
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "short"})),
        )
        .await;
    short.assert_problem(422, "VALIDATION_FAILED");
    assert!(short.body["errors"]["new_password"][0].as_str().unwrap().contains("12"));
    // Nothing changed.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}
