//! The floor of `bench/run`: the least a validate or an activation can cost on
//! this machine with this stack (actix-web, diesel on SQLite, Ed25519), so the
//! server's numbers can be read as ratios of it.
//!
//! ```text
//! bench_floor --db PATH [--listen 127.0.0.1:0] [--workers N]
//! ```
//!
//! Prints `listening on ADDR` once it serves, then answers:
//!
//! - `GET /bare`: a constant JSON body (bare HTTP + JSON).
//! - `POST /floor` `{license_key, hardware_id, nonce}`: parses the body, reads
//!   the device of that key and hardware id (one indexed lookup of the
//!   license by key joined to its device, a static diesel query, so its
//!   prepared statement is cached) on a connection of this worker thread,
//!   serializes an answer and signs it (Ed25519, `License-Signature` header).
//! - `POST /floor/write` `{hardware_id}`: one write transaction
//!   (`BEGIN IMMEDIATE`; insert one row; `COMMIT`) on this thread's
//!   connection, with the server's pragmas (WAL, `synchronous = NORMAL`,
//!   `busy_timeout`).
//!
//! Seeds its database (created if missing) with the license key
//! `BENCHFLOORKEY` and the device `bench-machine`.

use std::cell::RefCell;
use std::sync::OnceLock;

use actix_web::{App, HttpResponse, HttpServer, get, post, web};
use base64::Engine as _;
use diesel::prelude::*;
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

diesel::table! {
    floor_licenses (id) {
        id -> Text,
        license_key -> Text,
        seats -> Integer,
        suspended -> Bool,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    floor_devices (id) {
        id -> Text,
        license_id -> Text,
        hardware_id -> Text,
        status -> Text,
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    floor_writes (id) {
        id -> Text,
        hardware_id -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(floor_devices -> floor_licenses (license_id));
diesel::allow_tables_to_appear_in_same_query!(floor_licenses, floor_devices);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS floor_licenses (
    id TEXT PRIMARY KEY NOT NULL, license_key TEXT NOT NULL UNIQUE, seats INTEGER NOT NULL,
    suspended BOOLEAN NOT NULL DEFAULT 0, expires_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS floor_devices (
    id TEXT PRIMARY KEY NOT NULL, license_id TEXT NOT NULL REFERENCES floor_licenses (id),
    hardware_id TEXT NOT NULL, status TEXT NOT NULL, last_seen_at TIMESTAMP,
    UNIQUE (license_id, hardware_id));
CREATE TABLE IF NOT EXISTS floor_writes (
    id TEXT PRIMARY KEY NOT NULL, hardware_id TEXT NOT NULL, at TIMESTAMP NOT NULL);
INSERT OR IGNORE INTO floor_licenses VALUES ('0193a5c2-7f4e-7b3a-9c1d-000000000001', 'BENCHFLOORKEY', 10, 0, NULL);
INSERT OR IGNORE INTO floor_devices VALUES
    ('0193a5c2-7f4e-7b3a-9c1d-000000000002', '0193a5c2-7f4e-7b3a-9c1d-000000000001', 'bench-machine', 'active', NULL);
";

/// The server's pragmas (src/db: every new SQLite connection).
const PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                       PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

static DB_PATH: OnceLock<String> = OnceLock::new();
static KEY: OnceLock<SigningKey> = OnceLock::new();

thread_local! {
    static CONN: RefCell<Option<SqliteConnection>> = const { RefCell::new(None) };
}

fn open() -> SqliteConnection {
    let mut conn = SqliteConnection::establish(DB_PATH.get().expect("the database path")).expect("the floor database");
    diesel::connection::SimpleConnection::batch_execute(&mut conn, PRAGMAS).expect("the pragmas");
    conn
}

/// Runs `f` on this worker thread's connection (opened on first use).
fn with_conn<T>(f: impl FnOnce(&mut SqliteConnection) -> T) -> T {
    CONN.with(|cell| f(cell.borrow_mut().get_or_insert_with(open)))
}

#[derive(Deserialize)]
struct ValidateBody {
    license_key: String,
    hardware_id: String,
    nonce: Option<String>,
}

#[derive(Queryable)]
struct Found {
    license_id: String,
    seats: i32,
    suspended: bool,
    expires_at: Option<chrono::NaiveDateTime>,
    device_id: String,
    status: String,
    last_seen_at: Option<chrono::NaiveDateTime>,
}

#[derive(Serialize)]
struct Answer<'a> {
    valid: bool,
    code: &'a str,
    license_id: Option<String>,
    device_id: Option<String>,
    seats: Option<i32>,
    expires_at: Option<chrono::NaiveDateTime>,
    last_seen_at: Option<chrono::NaiveDateTime>,
    hardware_id: &'a str,
    nonce: Option<&'a str>,
    issued_at: chrono::DateTime<chrono::Utc>,
    endpoint: &'a str,
}

fn signed(body: Vec<u8>) -> HttpResponse {
    let signature = KEY.get().expect("the signing key").sign(&body);
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("license-signature", base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())))
        .body(body)
}

#[get("/bare")]
async fn bare() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}

#[post("/floor")]
async fn floor(body: web::Json<ValidateBody>) -> Result<HttpResponse, actix_web::Error> {
    use floor_devices::dsl as d;
    use floor_licenses::dsl as l;
    let body = body.into_inner();
    let found = with_conn(|conn| {
        floor_devices::table
            .inner_join(floor_licenses::table)
            .filter(l::license_key.eq(&body.license_key))
            .filter(d::hardware_id.eq(&body.hardware_id))
            .select((l::id, l::seats, l::suspended, l::expires_at, d::id, d::status, d::last_seen_at))
            .first::<Found>(conn)
            .optional()
    })
    .map_err(actix_web::error::ErrorInternalServerError)?;
    let valid = found.as_ref().is_some_and(|f| f.status == "active" && !f.suspended);
    let answer = match found {
        Some(f) => Answer {
            valid,
            code: if valid { "VALID" } else { "NOT_ACTIVATED" },
            license_id: Some(f.license_id),
            device_id: Some(f.device_id),
            seats: Some(f.seats),
            expires_at: f.expires_at,
            last_seen_at: f.last_seen_at,
            hardware_id: &body.hardware_id,
            nonce: body.nonce.as_deref(),
            issued_at: chrono::Utc::now(),
            endpoint: "validate",
        },
        None => Answer {
            valid,
            code: "NOT_FOUND",
            license_id: None,
            device_id: None,
            seats: None,
            expires_at: None,
            last_seen_at: None,
            hardware_id: &body.hardware_id,
            nonce: body.nonce.as_deref(),
            issued_at: chrono::Utc::now(),
            endpoint: "validate",
        },
    };
    Ok(signed(serde_json::to_vec(&answer)?))
}

#[derive(Deserialize)]
struct WriteBody {
    hardware_id: String,
}

#[post("/floor/write")]
async fn floor_write(body: web::Json<WriteBody>) -> Result<HttpResponse, actix_web::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().naive_utc();
    with_conn(|conn| {
        conn.immediate_transaction(|tx| {
            diesel::insert_into(floor_writes::table)
                .values((
                    floor_writes::id.eq(&id),
                    floor_writes::hardware_id.eq(&body.hardware_id),
                    floor_writes::at.eq(now),
                ))
                .execute(tx)
        })
    })
    .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok().content_type("application/json").body(format!(r#"{{"id":"{id}"}}"#)))
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let db = flag("--db").expect("usage: bench_floor --db PATH [--listen ADDR] [--workers N]");
    let listen = flag("--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let workers = flag("--workers")
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    DB_PATH.set(db).expect("set once");
    KEY.set(SigningKey::from_bytes(&[7; 32])).expect("set once");
    diesel::connection::SimpleConnection::batch_execute(&mut open(), SCHEMA).expect("the floor schema");
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().service(bare).service(floor).service(floor_write))
            .workers(workers)
            .bind(listen)?;
        for addr in server.addrs() {
            println!("listening on {addr}");
        }
        server.run().await
    })
}
