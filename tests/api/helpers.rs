//! `TestApp`: the real application on 127.0.0.1:0 with a fresh database —
//! a temp-file SQLite database, or a fresh PostgreSQL database (copied from a
//! migrated template) when `TEST_POSTGRES_URL` is set.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use diesel::prelude::*;
use license_server::config::Config;
use license_server::db::{self, DatabaseUrl};
use license_server::models::audit_events::AuditEvent;
use license_server::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub const ADMIN_EMAIL: &str = "admin@cre-do.example";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The alphabet of license keys (Crockford base32).
pub const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The PostgreSQL server URL of this run, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// The same PostgreSQL database reached through `addr` (a proxy the test
/// controls), for [`TestApp::spawn_with`]: `|c| c.database = through(&c.database, addr)`.
/// An SQLite URL is returned unchanged.
pub fn through(url: &DatabaseUrl, addr: std::net::SocketAddr) -> DatabaseUrl {
    match url {
        DatabaseUrl::Postgres(u) => {
            let mut parsed = url::Url::parse(u).expect("a PostgreSQL URL");
            parsed.set_host(Some(&addr.ip().to_string())).expect("a host");
            parsed.set_port(Some(addr.port())).expect("a port");
            DatabaseUrl::Postgres(parsed.to_string())
        }
        other => other.clone(),
    }
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { server: String, name: String },
}

impl TestDb {
    pub async fn create() -> (Self, DatabaseUrl) {
        match postgres_url() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("test.db");
                (Self::Sqlite { _dir: dir }, DatabaseUrl::Sqlite(path))
            }
            Some(server) => {
                let template = template(&server).await;
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let name = format!("ls_t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
                let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
                admin_sql(&server, sql).await;
                let url = with_database(&server, &name);
                (Self::Postgres { server, name }, DatabaseUrl::Postgres(url))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { server, name } = self {
            let server = server.clone();
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            // Drop runs inside the test's runtime: do the blocking work on a thread.
            let _ = std::thread::spawn(move || {
                if let Ok(mut conn) = diesel::PgConnection::establish(&server) {
                    let _ = diesel::sql_query(sql).execute(&mut conn);
                }
            })
            .join();
        }
    }
}

fn with_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

async fn admin_sql(server: &str, sql: String) {
    let server = server.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&server).expect("connect to TEST_POSTGRES_URL");
        diesel::sql_query(&sql).execute(&mut conn).unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
    .await
    .expect("admin sql task");
}

/// Drops the template and test databases of earlier runs whose process is gone.
async fn drop_stale_databases(server: &str) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let server = server.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&server).expect("connect to TEST_POSTGRES_URL");
        let names: Vec<Name> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'ls\\_tpl\\_%' OR datname LIKE 'ls\\_t\\_%'",
        )
        .load(&mut conn)
        .unwrap_or_default();
        for Name { datname } in names {
            let pid = datname.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)")).execute(&mut conn);
            }
        }
    })
    .await
    .expect("cleanup task");
}

/// A migrated database that per-test databases are copied from (made once per run).
async fn template(server: &str) -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            drop_stale_databases(server).await;
            let name = format!("ls_tpl_{}", std::process::id());
            admin_sql(server, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            admin_sql(server, format!("CREATE DATABASE {name}")).await;
            let url = DatabaseUrl::Postgres(with_database(server, &name));
            tokio::task::spawn_blocking(move || {
                let pool = db::connect(&url, 1).expect("template pool");
                let mut conn = pool.get().expect("template connection");
                db::run_migrations(&mut conn).expect("migrate template");
            })
            .await
            .expect("template task");
            name
        })
        .await
        .clone()
}

/// One customer's order as made by [`TestApp::order`], with its signed-in manager.
#[allow(dead_code)] // each test uses what it needs
pub struct Customer {
    pub order: Value,
    pub order_id: String,
    pub user_license_id: String,
    pub computer_license_id: String,
    pub manager_id: String,
    pub manager_password: String,
    pub manager_token: String,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub admin_token: String,
    /// The database itself (`state.config.database` may lead through a proxy).
    db_url: DatabaseUrl,
    // Dropped last: the server must stop before its database goes.
    _db: TestDb,
}

/// Every test's server leaves its seat counters true: when a `TestApp` goes,
/// each license's `seats_held` is recounted from its users or active devices
/// (`licensing::seats`), so any test that changes seats, on either engine,
/// also checks the counter it moved.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.assert_seat_counters();
    }
}

impl TestApp {
    /// Asserts that every license's seat counter equals a recount.
    #[track_caller]
    pub fn assert_seat_counters(&self) {
        let url = self.db_url.clone();
        let wrong = std::thread::spawn(move || miscounted_seats(&url)).join().expect("seat recount");
        assert!(wrong.is_empty(), "seats_held differs from a recount (license, counter, recount): {wrong:?}");
    }
}

/// The licenses whose seat counter differs from a recount, with both numbers.
pub fn miscounted_seats(url: &DatabaseUrl) -> Vec<(String, i64, i64)> {
    #[derive(QueryableByName)]
    struct Miscount {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        held: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        recount: i64,
    }
    let pool = db::connect(url, 1).expect("recount pool");
    let mut conn = pool.get().expect("recount connection");
    if !db::migrations_complete(&mut conn) {
        return Vec::new(); // a test that took the schema away
    }
    let rows: Vec<Miscount> = diesel::sql_query(
        "SELECT id, held, recount FROM (
            SELECT id, CAST(seats_held AS BIGINT) AS held,
                   CASE kind
                       WHEN 'user_based' THEN (SELECT count(*) FROM license_users u WHERE u.license_id = l.id)
                       ELSE (SELECT count(*) FROM devices d WHERE d.license_id = l.id AND d.status = 'active')
                   END AS recount
            FROM licenses l
        ) counted WHERE held <> recount ORDER BY id",
    )
    .load::<Miscount>(&mut **conn)
    .expect("recount seats");
    rows.into_iter().map(|m| (m.id, m.held, m.recount)).collect()
}

/// One HTTP answer: status, headers and the body as JSON (Null when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.body["code"], code, "code; body: {}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        assert_eq!(self.body["status"], status);
        assert!(self.body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(self.header("x-request-id"), self.body["request_id"].as_str());
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        &self.body
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration changed by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let (test_db, url) = TestDb::create().await;
        let mut config = Config::for_database(url.clone());
        config.workers = 1;
        config.db_pool_size = 5;
        tweak(&mut config);
        let state = tokio::task::spawn_blocking(move || {
            let state = AppState::init(config).expect("app state");
            let mut conn = state.db.pool().get().expect("connection");
            let hash = license_server::auth::password::hash_now(ADMIN_PASSWORD);
            license_server::bootstrap::create_admin(&mut conn, ADMIN_EMAIL, "Ada Admin", &hash, state.clock.now())
                .expect("admin");
            state
        })
        .await
        .expect("init task");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (server, addr) = license_server::server::start(state.clone(), listener).expect("server");
        actix_web::rt::spawn(server);
        let mut app = Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            state,
            admin_token: String::new(),
            db_url: url,
            _db: test_db,
        };
        app.admin_token =
            app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"].as_str().expect("admin token").to_owned();
        app
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') && !path.starts_with("/api/") && !is_ops(path) {
            format!("{}/api/v1{path}", self.base)
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a request. `path` without `/api/v1` is taken as an API path.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer(request.send().await.expect("request sent")).await
    }

    pub async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Signs in and returns the token response (panics unless 200).
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let answer =
            self.call(Method::POST, "/auth/login", None, Some(json!({ "email": email, "password": password }))).await;
        answer.assert_status(200).clone()
    }

    /// Sends a raw body with the given content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::answer(request.send().await.expect("request sent")).await
    }

    /// Creates a shop API key through the API and returns the key (`lsk_…`).
    pub async fn shop_key(&self) -> String {
        let answer = self.post("/api-keys", &self.admin_token, json!({ "name": "web shop" })).await;
        answer.assert_status(201)["key"].as_str().expect("key").to_owned()
    }

    /// Creates a product through the API and returns it.
    pub async fn product(&self, code: &str) -> Value {
        let answer =
            self.post("/products", &self.admin_token, json!({ "code": code, "name": format!("{code} product") })).await;
        answer.assert_status(201).clone()
    }

    /// Creates an order (admin) for company `company` with one user-based
    /// (5 seats) and one computer-based (2 seats) license of product `CODE-<number>`,
    /// and one new manager; signs the manager in.
    pub async fn order(&self, number: &str, manager_email: &str) -> Customer {
        let code = format!("CODE-{number}");
        self.product(&code).await;
        let body = json!({
            "number": number,
            "customer": { "company": format!("Company of {number}"), "country": "DE" },
            "licenses": [
                { "product_code": code, "kind": "user_based", "seats": 5 },
                { "product_code": code, "kind": "computer_based", "seats": 2 },
            ],
            "managers": [{ "email": manager_email, "name": "Max Manager" }],
        });
        let order = self.post("/orders", &self.admin_token, body).await.assert_status(201).clone();
        let manager = &order["managers"][0];
        let password = manager["initial_password"].as_str().expect("initial password").to_owned();
        let login = self.login(manager_email, &password).await;
        Customer {
            manager_id: manager["id"].as_str().unwrap().to_owned(),
            manager_token: login["access_token"].as_str().unwrap().to_owned(),
            manager_password: password,
            order_id: order["id"].as_str().unwrap().to_owned(),
            user_license_id: order["licenses"][0]["id"].as_str().unwrap().to_owned(),
            computer_license_id: order["licenses"][1]["id"].as_str().unwrap().to_owned(),
            order,
        }
    }

    /// Counts rows of the audit trail with this action.
    pub async fn count_events(&self, action: &str) -> i64 {
        use license_server::db::schema::audit_events;
        let action = action.to_owned();
        self.state
            .db
            .run(move |conn| {
                Ok::<_, license_server::db::DbError>(
                    audit_events::table.filter(audit_events::action.eq(action)).count().get_result::<i64>(conn)?,
                )
            })
            .await
            .expect("count events")
    }
}

fn is_ops(path: &str) -> bool {
    ["/health", "/ready", "/metrics", "/swagger-ui", "/api-docs"].iter().any(|p| path.starts_with(p))
}

// ------------------------------------------- helpers shared by the test modules

/// The migration directories of an engine (`sqlite`, `postgres`), sorted.
pub fn migration_names(engine: &str) -> Vec<String> {
    let dir = format!("{}/migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations directory")
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// A query-string value, percent-encoded.
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A fresh UUID that names nothing.
pub fn unknown_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `id` of an object of an answer.
pub fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("an id in {value}")).to_owned()
}

/// The items of a list answer (a page), in order.
pub fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().expect("items")
}

/// The ids of the items of a list answer, in order.
pub fn ids(list: &Value) -> Vec<String> {
    items(list).iter().map(id_of).collect()
}

/// The `email` of every item of a list answer, in order.
pub fn emails(list: &Value) -> Vec<String> {
    items(list).iter().map(|m| m["email"].as_str().expect("email").to_owned()).collect()
}

/// An RFC 3339 time of an answer, in UTC.
pub fn utc_time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("a time, not {value}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).to_utc()
}

/// An RFC 3339 time of an answer as the naive UTC time of the database rows.
pub fn time(value: &Value) -> NaiveDateTime {
    utc_time(value).naive_utc()
}

/// Asserts an RFC 3339 time string in UTC (`…Z`) and returns it parsed.
#[track_caller]
pub fn assert_rfc3339_utc(value: &Value) -> DateTime<FixedOffset> {
    let text = value.as_str().unwrap_or_else(|| panic!("a time string, got {value}"));
    assert!(text.ends_with('Z'), "UTC time: {text}");
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("RFC 3339 time {text}: {e}"))
}

/// Asserts a 422 VALIDATION_FAILED problem with at least one message for `field`.
#[track_caller]
pub fn assert_field_error(answer: &Answer, field: &str) {
    assert_field_problem(answer, 422, "VALIDATION_FAILED", field);
}

/// Asserts a 404 NOT_FOUND problem naming `field`: an id in the body names nothing.
#[track_caller]
pub fn assert_no_such(answer: &Answer, field: &str) {
    assert_field_problem(answer, 404, "NOT_FOUND", field);
}

/// Asserts a problem with this status and code and a message for `field`.
#[track_caller]
pub fn assert_field_problem(answer: &Answer, status: u16, code: &str, field: &str) {
    answer.assert_problem(status, code);
    let messages = &answer.body["errors"][field];
    assert!(messages.as_array().is_some_and(|m| !m.is_empty()), "errors.{field} in {}", answer.text);
}

/// The audit events with this action, straight from the database.
pub async fn audit_events(app: &TestApp, action: &str) -> Vec<AuditEvent> {
    use license_server::db::schema::audit_events;
    let action = action.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok::<_, license_server::db::DbError>(
                audit_events::table
                    .filter(audit_events::action.eq(action))
                    .select(AuditEvent::as_select())
                    .load(conn)?,
            )
        })
        .await
        .expect("load events")
}

/// Creates a product with this code and name as the admin (asserts 201) and returns it.
pub async fn create_product(app: &TestApp, code: &str, name: &str) -> Value {
    app.post("/products", &app.admin_token, json!({ "code": code, "name": name })).await.assert_status(201).clone()
}

/// The `total` of the customer list as the admin sees it (asserts 200).
pub async fn customer_total(app: &TestApp) -> i64 {
    app.get("/customers", &app.admin_token).await.assert_status(200)["total"].as_i64().expect("total")
}

/// `seats_used` of a license as the portal shows it to `token` (an admin's or manager's).
pub async fn seats_used(app: &TestApp, token: &str, license_id: &str) -> i64 {
    let license = app.get(&format!("/licenses/{license_id}"), token).await;
    license.assert_status(200)["seats_used"].as_i64().expect("seats_used")
}

/// Changes a license as `token` (asserts 200).
pub async fn patch_license(app: &TestApp, token: &str, license_id: &str, changes: Value) {
    app.patch(&format!("/licenses/{license_id}"), token, changes).await.assert_status(200);
}

/// POST /auth/refresh with this refresh token (whatever the answer).
pub async fn refresh(app: &TestApp, token: &str) -> Answer {
    app.call(Method::POST, "/auth/refresh", None, Some(json!({ "refresh_token": token }))).await
}

/// A new admin access token (after the clock moved past the first one's life).
pub async fn fresh_admin_token(app: &TestApp) -> String {
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"].as_str().expect("access_token").to_owned()
}
