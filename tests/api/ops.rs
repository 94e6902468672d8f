use reqwest::Method;

use crate::helpers::TestApp;

#[actix_web::test]
async fn health_answers_ok_with_a_request_id() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(answer.assert_status(200)["status"], "ok");
    assert!(answer.header("x-request-id").is_some_and(|id| id.len() >= 16));
}

#[actix_web::test]
async fn a_sane_incoming_request_id_is_kept_and_a_bad_one_replaced() {
    let app = TestApp::spawn().await;
    let kept = app.client.get(app.url("/health")).header("x-request-id", "lb-1234_abc").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-1234_abc");
    let replaced =
        app.client.get(app.url("/health")).header("x-request-id", "bad id\twith spaces").send().await.unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "bad id\twith spaces");
}

#[actix_web::test]
async fn ready_reports_the_engine_and_applied_migrations() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::GET, "/ready", None, None).await;
    let body = answer.assert_status(200);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["migrations_applied"], true);
    let engine = if crate::helpers::postgres_url().is_some() { "postgres" } else { "sqlite" };
    assert_eq!(body["database"], engine);
}

#[actix_web::test]
async fn metrics_count_answered_requests_by_route() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, "/health", None, None).await;
    let answer = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(answer.status, 200);
    assert!(answer.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        answer.text.contains(r#"http_requests_total{method="GET",route="/health",status="200"} 1"#),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("http_request_duration_seconds_bucket"));
}

#[actix_web::test]
async fn swagger_ui_and_the_served_spec_are_reachable() {
    let app = TestApp::spawn().await;
    let ui = app.client.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let spec = app.call(Method::GET, "/api-docs/openapi.json", None, None).await;
    assert_eq!(spec.assert_status(200)["info"]["title"], "license-server");
}

#[actix_web::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, "/no-such-thing", None, None).await.assert_problem(404, "NOT_FOUND");
    app.call(Method::GET, "/nothing-here-either", None, None).await.assert_problem(404, "NOT_FOUND");
}

#[actix_web::test]
async fn a_wrong_verb_is_a_405_problem_naming_the_allowed_ones() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::DELETE, "/auth/login", None, None).await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(answer.header("allow"), Some("POST"));
    let answer = app.call(Method::PUT, "/me", Some(&app.admin_token), None).await;
    answer.assert_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(answer.header("allow"), Some("GET, PATCH"));
}

#[actix_web::test]
async fn api_answers_are_not_cached() {
    let app = TestApp::spawn().await;
    let answer = app.get("/me", &app.admin_token).await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}

#[actix_web::test]
async fn cors_allows_configured_origins_only() {
    let app = TestApp::spawn_with(|c| c.cors_origins = vec!["https://portal.example.com".into()]).await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/me"))
        .header("origin", "https://portal.example.com")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "authorization, content-type, idempotency-key")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://portal.example.com");

    let actual = app
        .client
        .get(app.url("/me"))
        .bearer_auth(&app.admin_token)
        .header("origin", "https://portal.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(actual.status(), 200);
    let exposed = actual.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    for header in ["www-authenticate", "retry-after", "x-request-id"] {
        assert!(exposed.contains(header), "{exposed}");
    }

    let foreign = app
        .client
        .request(Method::OPTIONS, app.url("/me"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;
    let answer =
        app.client.get(app.url("/health")).header("origin", "https://portal.example.com").send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn ready_answers_503_when_migrations_are_missing() {
    let app = TestApp::spawn().await;
    app.state
        .db
        .run(|conn| license_server::db::revert_all_migrations(conn).map_err(license_server::error::ApiError::internal))
        .await
        .unwrap();
    let answer = app.call(Method::GET, "/ready", None, None).await;
    let body = answer.assert_status(503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database_reachable"], true);
    assert_eq!(body["migrations_applied"], false);
}

#[actix_web::test]
async fn an_unexpected_failure_answers_500_with_only_the_request_id() {
    let app = TestApp::spawn().await;
    app.state
        .db
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("ALTER TABLE products RENAME TO products_gone").execute(conn)?;
            Ok::<_, license_server::db::DbError>(())
        })
        .await
        .unwrap();
    let answer = app.get("/products", &app.admin_token).await;
    answer.assert_problem(500, "INTERNAL");
    let keys: Vec<&String> = answer.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "request_id", "status", "title", "type"], "{}", answer.text);
    assert!(!answer.text.to_lowercase().contains("products_gone"));
    assert!(!answer.text.to_lowercase().contains("sql"));
}

#[actix_web::test]
async fn keys_from_files_are_used_instead_of_the_database() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    let dir = tempfile::tempdir().unwrap();
    let signing = dir.path().join("signing.key");
    let jwt = dir.path().join("jwt.key");
    std::fs::write(&signing, format!("{}\n", B64.encode([5u8; 32]))).unwrap();
    std::fs::write(&jwt, B64.encode([6u8; 48])).unwrap();
    let (signing_path, jwt_path) = (signing.clone(), jwt.clone());
    let app = TestApp::spawn_with(move |c| {
        c.signing_key_file = Some(signing_path);
        c.jwt_key_file = Some(jwt_path);
    })
    .await;

    let expected = license_server::licensing::signing::LicenseSigner::from_seed(&[5u8; 32]);
    let key = app.call(Method::GET, "/client/public-key", None, None).await;
    assert_eq!(key.body["public_key"], expected.public_key_base64());
    assert_eq!(key.body["key_id"], expected.key_id());

    // An access token made with the file's secret is accepted.
    let me = app.get("/me", &app.admin_token).await;
    let id = me.assert_status(200)["id"].as_str().unwrap().to_owned();
    let now = app.state.clock.now_utc().timestamp();
    let forged_with_file_key = license_server::auth::jwt::JwtKeys::new(&[6u8; 48]).issue(&id, "f", now, 900);
    assert_eq!(app.get("/me", &forged_with_file_key).await.status, 200);
}

#[actix_web::test]
async fn metrics_count_client_answers_by_endpoint_and_code() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-METRICS", "m@metrics.example").await;
    let key = c.order["licenses"][1]["key"].as_str().unwrap().to_owned();
    for hardware_id in ["pc-1", "pc-2", "pc-3"] {
        let body = serde_json::json!({ "license_key": key, "hardware_id": hardware_id });
        app.call(Method::POST, "/client/activate", None, Some(body)).await;
    }
    let body = serde_json::json!({ "license_key": key, "hardware_id": "pc-1" });
    app.call(Method::POST, "/client/validate", None, Some(body)).await.assert_status(200);
    app.call(Method::GET, "/client/no-such-endpoint-1", None, None).await.assert_problem(404, "NOT_FOUND");

    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    for line in [
        r#"license_client_answers_total{code="VALID",endpoint="activate"} 2"#,
        r#"license_client_answers_total{code="SEATS_EXHAUSTED",endpoint="activate"} 1"#,
        r#"license_client_answers_total{code="VALID",endpoint="validate"} 1"#,
        r#"license_client_answers_total{code="NOT_FOUND",endpoint="other"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    assert!(!metrics.contains("no-such-endpoint"), "unknown paths must not become labels");
}

#[actix_web::test]
async fn connections_killed_by_a_postgresql_restart_are_replaced_on_postgresql() {
    use diesel::{Connection, RunQueryDsl};
    let Some(_) = crate::helpers::postgres_url() else {
        return; // SQLite file connections can't be killed from outside; the PostgreSQL run covers this.
    };
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.get("/products", &app.admin_token).await.assert_status(200);
    }
    let license_server::db::DatabaseUrl::Postgres(url) = app.state.config.database.clone() else { unreachable!() };
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut conn)
        .unwrap();
    })
    .await
    .unwrap();

    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get("/products", &app.admin_token).await.status.as_u16());
    }
    let failed = statuses.iter().filter(|s| **s == 500).count();
    assert!(failed <= app.state.config.db_pool_size as usize, "{statuses:?}");
    assert!(statuses[statuses.len() - 4..].iter().all(|s| *s == 200), "the pool did not recover: {statuses:?}");
}
