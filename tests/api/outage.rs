//! When the database is away: 503 `SERVICE_UNAVAILABLE` with `Retry-After`
//! (signed under `/client/`), `/ready` 503, and 200 again as soon as it is
//! back; and a SIGTERM that lets the requests in flight finish.
//!
//! PostgreSQL goes away through a TCP proxy the test cuts (new connections
//! refused, open ones dropped) and restores; SQLite's honest equivalent is a
//! pool exhausted past its wait.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Answer, TestApp, postgres_url, through};

/// The pool's wait in these tests: short, so a test takes seconds.
const WAIT: Duration = Duration::from_secs(1);

// ------------------------------------------------------------------ the proxy

/// A TCP proxy to PostgreSQL on 127.0.0.1 that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Tasks>>,
}

#[derive(Default)]
struct Tasks {
    acceptor: Option<JoinHandle<()>>,
    pipes: Vec<JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let proxy = Self { addr: listener.local_addr().unwrap(), upstream, tasks: Default::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let tasks = self.tasks.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut tasks = tasks.lock().unwrap();
                tasks.pipes.retain(|p| !p.is_finished());
                tasks.pipes.push(pipe);
            }
        });
        self.tasks.lock().unwrap().acceptor = Some(acceptor);
    }

    /// The database goes away: the port refuses connections and every open
    /// connection is dropped.
    async fn cut(&self) {
        let (acceptor, pipes) = {
            let mut tasks = self.tasks.lock().unwrap();
            (tasks.acceptor.take(), std::mem::take(&mut tasks.pipes))
        };
        for task in acceptor.into_iter().chain(pipes) {
            task.abort();
            let _ = task.await; // dropped (listener and sockets closed) once this returns
        }
        assert!(std::net::TcpStream::connect(self.addr).is_err(), "the cut proxy still accepts");
    }

    /// The database is back on the same address.
    async fn restore(&self) {
        let listener = TcpListener::bind(self.addr).await.expect("bind the proxy's port again");
        self.serve(listener);
    }
}

/// `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("TEST_POSTGRES_URL is a URL");
    format!("{}:{}", parsed.host_str().unwrap_or("127.0.0.1"), parsed.port().unwrap_or(5432))
}

// ------------------------------------------------------------------ helpers

/// The server's license-signing public key, as the software has it built in.
async fn public_key(app: &TestApp) -> VerifyingKey {
    let answer = app.call(Method::GET, "/client/public-key", None, None).await;
    let raw = B64.decode(answer.assert_status(200)["public_key"].as_str().expect("public_key")).expect("base64");
    VerifyingKey::from_bytes(&raw.try_into().expect("32 bytes")).expect("an Ed25519 key")
}

/// Asserts that `License-Signature` verifies over the exact body with `key`.
#[track_caller]
fn assert_signed(answer: &Answer, key: &VerifyingKey) {
    let header = answer.header("license-signature").unwrap_or_else(|| panic!("unsigned: {}", answer.text));
    let signature = header.strip_prefix("ed25519=").and_then(|rest| rest.split(';').next()).expect("ed25519=…");
    let signature = Signature::from_slice(&B64.decode(signature).expect("base64")).expect("64 bytes");
    assert!(key.verify_strict(answer.text.as_bytes(), &signature).is_ok(), "bad signature over {}", answer.text);
}

/// Asserts 503 `SERVICE_UNAVAILABLE` problem+json with a small `Retry-After`.
#[track_caller]
fn assert_unavailable(answer: &Answer) {
    answer.assert_problem(503, "SERVICE_UNAVAILABLE");
    let seconds: u64 = answer.header("retry-after").expect("Retry-After").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&seconds), "Retry-After: {seconds}");
    assert!(!answer.text.contains("SELECT") && !answer.text.contains("connection"), "no internals: {}", answer.text);
}

async fn login(app: &TestApp) -> Answer {
    let body = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    app.call(Method::POST, "/auth/login", None, Some(body)).await
}

async fn validate(app: &TestApp, key: &str, nonce: &str) -> Answer {
    let body = json!({ "license_key": key, "hardware_id": "hw-outage-1", "nonce": nonce });
    app.call(Method::POST, "/client/validate", None, Some(body)).await
}

async fn ready(app: &TestApp) -> Answer {
    app.call(Method::GET, "/ready", None, None).await
}

/// Runs `call` and asserts it answered within the pool's wait plus a margin:
/// an outage is answered, not hung.
async fn timed<F: std::future::Future<Output = Answer>>(call: F) -> Answer {
    let started = Instant::now();
    let answer = call.await;
    assert!(started.elapsed() < WAIT + Duration::from_secs(2), "took {:?}", started.elapsed());
    answer
}

/// A computer-based license activated on `hw-outage-1`; answers its key.
async fn activated_key(app: &TestApp) -> String {
    let customer = app.order("OUT-1", "manager@outage.example").await;
    let key = customer.order["licenses"][1]["key"].as_str().expect("key").to_owned();
    let body = json!({ "license_key": key, "hardware_id": "hw-outage-1" });
    app.call(Method::POST, "/client/activate", None, Some(body)).await.assert_status(200);
    key
}

// ------------------------------------------------------------------ PostgreSQL

#[actix_web::test]
async fn a_postgres_outage_answers_503_with_retry_after_and_200_once_it_is_back() {
    let Some(server) = postgres_url() else { return };
    let proxy = Proxy::start(host_port(&server)).await;
    let app = TestApp::spawn_with(|c| {
        c.database = through(&c.database, proxy.addr);
        c.db_pool_timeout = WAIT;
    })
    .await;
    let key = activated_key(&app).await;
    let software_key = public_key(&app).await;
    ready(&app).await.assert_status(200);

    proxy.cut().await;
    // Twice round: first on pooled connections that died, then on a pool
    // that can't connect (refused) and waits out its wait.
    for round in 0..2 {
        assert_unavailable(&timed(login(&app)).await);
        assert_unavailable(&timed(app.get("/licenses", &app.admin_token)).await);
        let nonce = format!("outage-{round}");
        let answer = timed(validate(&app, &key, &nonce)).await;
        assert_unavailable(&answer);
        assert_signed(&answer, &software_key);
        assert_eq!(answer.body["endpoint"], "validate");
        assert_eq!(answer.body["nonce"], nonce.as_str());
        let answer = timed(ready(&app)).await;
        assert_eq!(answer.assert_status(503)["database_reachable"], false);
        assert!(answer.header("retry-after").is_some());
    }
    assert!(app.state.db.health().is_unavailable());

    proxy.restore().await;
    let restored = Instant::now();
    loop {
        let answer = login(&app).await;
        if answer.status == 200 {
            break;
        }
        assert_unavailable(&answer);
        assert!(restored.elapsed() < Duration::from_secs(5), "still {} after the database came back", answer.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.get("/licenses", &app.admin_token).await.assert_status(200);
    let answer = validate(&app, &key, "back").await;
    assert_eq!(answer.assert_status(200)["code"], "VALID");
    assert_signed(&answer, &software_key);
    ready(&app).await.assert_status(200);
    assert!(!app.state.db.health().is_unavailable());
}

// ------------------------------------------------------------------ both engines

#[actix_web::test]
async fn no_free_connection_within_the_pools_wait_is_503_not_500() {
    let app = TestApp::spawn_with(|c| {
        c.db_pool_size = 1;
        c.db_pool_timeout = WAIT;
    })
    .await;
    let key = activated_key(&app).await;
    let software_key = public_key(&app).await;
    // Something outside the request path (a migration, a backup tool) holds
    // the only connection.
    let pool = app.state.db.pool().clone();
    let held = tokio::task::spawn_blocking(move || pool.get().expect("the only connection")).await.unwrap();

    assert_unavailable(&timed(login(&app)).await);
    assert_unavailable(&timed(app.get("/licenses", &app.admin_token)).await);
    let answer = timed(validate(&app, &key, "busy")).await;
    if matches!(app.state.config.database, license_server::db::DatabaseUrl::Sqlite(_)) {
        // SQLite's validations read on the worker's own connection, not the pool's.
        assert_eq!(answer.assert_status(200)["code"], "VALID");
    } else {
        assert_unavailable(&answer);
    }
    assert_signed(&answer, &software_key);
    let answer = timed(ready(&app)).await;
    assert_eq!(answer.assert_status(503)["database_reachable"], false);
    assert!(answer.header("retry-after").is_some());

    drop(held);
    login(&app).await.assert_status(200);
    assert_eq!(validate(&app, &key, "free").await.assert_status(200)["code"], "VALID");
    ready(&app).await.assert_status(200);
}

#[actix_web::test]
async fn a_request_queued_behind_busy_connections_past_the_wait_is_503() {
    let app = TestApp::spawn_with(|c| {
        c.db_pool_size = 1;
        c.db_pool_timeout = WAIT;
    })
    .await;
    // A slow request holds the only connection for longer than the wait.
    let db = app.state.db.clone();
    let slow = actix_web::rt::spawn(async move {
        db.run(|_conn| {
            std::thread::sleep(WAIT * 3);
            Ok::<_, license_server::db::DbError>(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_unavailable(&timed(login(&app)).await);

    slow.await.unwrap().expect("the slow request itself succeeds");
    login(&app).await.assert_status(200);
}

// ------------------------------------------------------------------ SIGTERM

#[actix_web::test]
async fn sigterm_answers_every_one_of_100_slow_requests_in_flight_and_exits_0() {
    const REQUESTS: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::cli::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = crate::cli::command(dir.path())
        .env("LICENSE_SERVER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LICENSE_SERVER_WORKERS", "1")
        .env("LICENSE_SERVER_RATE_LIMIT_PER_IP", "0")
        .env("LICENSE_SERVER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("LICENSE_SERVER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while !client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 100 sign-ins at once: argon2 runs a few at a time, so they queue for seconds.
    let answered = Arc::new(AtomicUsize::new(0));
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let (client, base, answered) = (client.clone(), base.clone(), answered.clone());
            actix_web::rt::spawn(async move {
                let body = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
                let response = client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await;
                let result = match response {
                    Ok(r) => {
                        let status = r.status();
                        r.json::<Value>().await.map(|body| (status, body)).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                answered.fetch_add(1, Ordering::SeqCst);
                result
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no sign-in was answered");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let in_flight = REQUESTS - answered.load(Ordering::SeqCst);
    let term = Instant::now();
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());

    for (i, request) in requests.into_iter().enumerate() {
        let (status, body) = request.await.unwrap().unwrap_or_else(|e| panic!("request {i} got no answer: {e}"));
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(body["access_token"].is_string(), "request {i}: {body}");
    }
    let answers_done = term.elapsed();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(term.elapsed() < Duration::from_secs(35), "still running after the grace period");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit {status:?}");
    assert!(in_flight >= REQUESTS / 2, "only {in_flight} requests were in flight at SIGTERM");
    eprintln!("SIGTERM with {in_flight} in flight: answered in {answers_done:?}, exited after {:?}", term.elapsed());
}
