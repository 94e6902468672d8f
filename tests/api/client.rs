//! Tests of the client API (`/client/…`), as the desktop software sees it.
//!
//! Every client answer goes through [`Software`], which checks it the way the
//! software must: the `License-Signature` header verifies over the exact body
//! bytes with nothing but the public key of `GET /client/public-key`, its
//! `kid` is that key's id, the body names the `endpoint`, carries a current
//! `issued_at` and echoes the request's nonce.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use diesel::prelude::*;
use ed25519_dalek::{Signature, VerifyingKey};
use futures_util::future::join_all;
use license_server::db::schema::{devices, user_activations};
use license_server::licensing::offline::verify_file;
use license_server::licensing::signing::LicenseSigner;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Answer, Customer, TestApp, fresh_admin_token, patch_license, seats_used, utc_time};

const BIN: &str = env!("CARGO_BIN_EXE_license-server");
/// The password of every license user made here.
const PASSWORD: &str = "license-password-for-tests";
/// The default validation cache window.
const DAY: i64 = 86_400;
/// The default lease of a user's activation.
const LEASE: i64 = 900;
/// The default lifetime of an offline license file.
const FILE_LIFETIME: i64 = 30 * DAY;
const BEGIN: &str = "-----BEGIN LICENSE FILE-----";
const END: &str = "-----END LICENSE FILE-----";

// ------------------------------------------------------------------ helpers

/// An RFC 3339 time to the second.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A fresh nonce, as the software sends with every request.
fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// 1–64 characters of `[A-Za-z0-9_-]`.
fn follows_nonce_rule(nonce: &str) -> bool {
    (1..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The parts of `License-Signature: ed25519=<base64>; kid=<key id>`.
fn signature_header(answer: &Answer) -> (Vec<u8>, String) {
    let value = answer
        .header("license-signature")
        .unwrap_or_else(|| panic!("no License-Signature on {}: {}", answer.status, answer.text));
    let (signature, kid) = value
        .strip_prefix("ed25519=")
        .and_then(|rest| rest.split_once("; kid="))
        .unwrap_or_else(|| panic!("not `ed25519=…; kid=…`: {value}"));
    (B64.decode(signature).unwrap_or_else(|_| panic!("signature not base64: {value}")), kid.to_owned())
}

/// Plain Ed25519 (RFC 8032), strict.
fn signs(key: &VerifyingKey, signature: &[u8], body: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|s| key.verify_strict(body, &s).is_ok())
}

/// Reads an answer keeping the exact body bytes (`text` is them, as UTF-8).
async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    let text = String::from_utf8(bytes).expect("a UTF-8 body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, body, text }
}

/// The desktop software: knows only the public key (fetched once, as it
/// would be built in) and checks every answer with it.
struct Software<'a> {
    app: &'a TestApp,
    key: VerifyingKey,
    key_id: String,
    public_key: String,
}

impl<'a> Software<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let response = app.client.get(app.url("/client/public-key")).send().await.expect("sent");
        let answer = read(response).await;
        answer.assert_status(200);
        let public_key = answer.body["public_key"].as_str().expect("public_key").to_owned();
        let raw: [u8; 32] = B64.decode(&public_key).expect("base64").try_into().expect("32 bytes");
        let software = Self {
            app,
            key: VerifyingKey::from_bytes(&raw).expect("an Ed25519 key"),
            key_id: answer.body["key_id"].as_str().expect("key_id").to_owned(),
            public_key,
        };
        software.verify_signature(&answer, "/client/public-key");
        software
    }

    /// Checks the signature (only with the public key), the key id, the
    /// endpoint and `issued_at`; answers the body.
    #[track_caller]
    fn verify_signature(&self, answer: &Answer, path: &str) -> Value {
        let (signature, kid) = signature_header(answer);
        assert_eq!(signature.len(), 64, "signature length");
        assert_eq!(kid, self.key_id, "kid");
        assert!(
            signs(&self.key, &signature, answer.text.as_bytes()),
            "the signature does not verify over {} {}",
            answer.status,
            answer.text
        );
        let endpoint = path.strip_prefix("/client/").expect("a client path");
        assert_eq!(answer.body["endpoint"], endpoint, "endpoint; body: {}", answer.text);
        utc_time(&answer.body["issued_at"]);
        answer.body.clone()
    }

    /// Sends a raw request and checks the answer's signature and echo.
    async fn send(&self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let before = self.app.state.clock.now_utc();
        let mut request = self.app.client.request(method, self.app.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let answer = read(request.send().await.expect("request sent")).await;
        let after = self.app.state.clock.now_utc();
        self.verify_signature(&answer, path);
        let issued_at = utc_time(&answer.body["issued_at"]);
        assert!(before <= issued_at && issued_at <= after, "issued_at {issued_at} not in [{before}, {after}]");
        answer
    }

    /// POSTs JSON; a nonce that follows the rule must come back.
    async fn post(&self, path: &str, body: Value) -> Answer {
        let answer = self.send(Method::POST, path, Some("application/json"), body.to_string().into_bytes()).await;
        if let Some(sent) = body.get("nonce").and_then(Value::as_str).filter(|n| follows_nonce_rule(n)) {
            assert_eq!(answer.body["nonce"], sent, "nonce echo; body: {}", answer.text);
        }
        answer
    }

    async fn activate(&self, key: &str, hardware_id: &str) -> Answer {
        let body = json!({
            "license_key": key, "hardware_id": hardware_id, "hostname": "ws-01",
            "platform": "windows-x86_64", "app_version": "4.2.1", "nonce": nonce(),
        });
        self.post("/client/activate", body).await
    }

    async fn activate_user(&self, email: &str, password: &str, hardware_id: &str) -> Answer {
        let body = json!({ "email": email, "password": password, "hardware_id": hardware_id, "nonce": nonce() });
        self.post("/client/activate", body).await
    }

    async fn validate_token(&self, token: &str, hardware_id: &str) -> Answer {
        let body = json!({ "activation_token": token, "hardware_id": hardware_id, "nonce": nonce() });
        self.post("/client/validate", body).await
    }

    async fn validate_key(&self, key: &str, hardware_id: &str) -> Answer {
        let body = json!({ "license_key": key, "hardware_id": hardware_id, "nonce": nonce() });
        self.post("/client/validate", body).await
    }

    async fn heartbeat(&self, token: &str, hardware_id: &str) -> Answer {
        let body = json!({ "activation_token": token, "hardware_id": hardware_id, "nonce": nonce() });
        self.post("/client/heartbeat", body).await
    }

    async fn deactivate(&self, token: &str, hardware_id: &str) -> Answer {
        let body = json!({ "activation_token": token, "hardware_id": hardware_id, "nonce": nonce() });
        self.post("/client/deactivate", body).await
    }

    async fn offline_activate(&self, request: &str) -> Answer {
        self.post("/client/offline/activate", json!({ "request": request, "nonce": nonce() })).await
    }

    async fn offline_deactivate(&self, request: &str) -> Answer {
        self.post("/client/offline/deactivate", json!({ "request": request, "nonce": nonce() })).await
    }
}

/// The key of the order's computer-based license (2 seats).
fn computer_key(c: &Customer) -> String {
    c.order["licenses"][1]["key"].as_str().expect("key").to_owned()
}

/// The key of the order's user-based license (5 seats).
fn user_key(c: &Customer) -> String {
    c.order["licenses"][0]["key"].as_str().expect("key").to_owned()
}

fn token(answer: &Answer) -> String {
    answer.assert_status(200)["activation_token"].as_str().expect("activation_token").to_owned()
}

/// The portal's device list (`query` e.g. `status=all`).
async fn portal_devices(app: &TestApp, license_id: &str, query: &str) -> Vec<Value> {
    let list = app.get(&format!("/licenses/{license_id}/devices?{query}"), &app.admin_token).await;
    list.assert_status(200)["items"].as_array().expect("items").clone()
}

async fn portal_device(app: &TestApp, token: &str, license_id: &str, device_id: &str) -> Value {
    let device = app.get(&format!("/licenses/{license_id}/devices/{device_id}"), token).await;
    device.assert_status(200).clone()
}

async fn suspend(app: &TestApp, license_id: &str) {
    patch_license(app, &app.admin_token, license_id, json!({ "status": "suspended" })).await;
}

async fn expire(app: &TestApp, license_id: &str) {
    let past = app.state.clock.now_utc() - TimeDelta::hours(1);
    patch_license(app, &app.admin_token, license_id, json!({ "expires_at": rfc3339(past) })).await;
}

/// Adds a user (with [`PASSWORD`]) to a user-based license; answers its id.
async fn add_user(app: &TestApp, license_id: &str, email: &str) -> String {
    let body = json!({ "email": email, "name": "Lena User", "password": PASSWORD });
    let answer = app.post(&format!("/licenses/{license_id}/users"), &app.admin_token, body).await;
    answer.assert_status(201)["user"]["id"].as_str().expect("user id").to_owned()
}

/// A request file as the software writes it.
fn request_file(key: &str, hardware_id: &str, deactivate: bool) -> String {
    let mut request = json!({
        "license_key": key, "hardware_id": hardware_id, "hostname": "offline-ws",
        "platform": "linux-x86_64", "app_version": "4.2.1", "created_at": "2026-01-05T08:00:00Z",
    });
    if deactivate {
        request["deactivate"] = json!(true);
    }
    B64.encode(request.to_string())
}

/// The lines of a license file's armored block.
fn block_lines(file: &str) -> Vec<&str> {
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.first(), Some(&BEGIN), "first line of {file}");
    assert_eq!(lines.last(), Some(&END), "last line of {file}");
    lines[1..lines.len() - 1].to_vec()
}

/// The wrapper `{payload, signature, algorithm, key_id}` of a license file.
fn wrapper(file: &str) -> Value {
    let block: String = block_lines(file).concat();
    serde_json::from_slice(&B64.decode(block).expect("block base64")).expect("wrapper JSON")
}

/// The decoded JSON payload of a license file (not verified).
fn payload_json(file: &str) -> Value {
    let payload = B64.decode(wrapper(file)["payload"].as_str().expect("payload")).expect("payload base64");
    serde_json::from_slice(&payload).expect("payload JSON")
}

fn armor(block: &str) -> String {
    let mut out = format!("{BEGIN}\n");
    for line in block.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The file with one byte of its payload changed (2 seats become 9), the
/// signature kept.
fn with_changed_payload_byte(file: &str) -> String {
    let mut wrapper = wrapper(file);
    let mut payload = B64.decode(wrapper["payload"].as_str().unwrap()).unwrap();
    let field = b"\"seats\":2";
    let at = payload.windows(field.len()).position(|w| w == field).expect("seats in the payload");
    payload[at + field.len() - 1] = b'9';
    wrapper["payload"] = json!(B64.encode(&payload));
    armor(&B64.encode(serde_json::to_vec(&wrapper).unwrap()))
}

/// Runs `license-server verify-license-file`; answers (success, stdout + stderr).
fn verify_license_file(public_key: &str, hardware_id: Option<&str>, file: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("license.lic");
    std::fs::write(&path, file).expect("write the file");
    let mut command = Command::new(BIN);
    command.arg("verify-license-file").arg("--public-key").arg(public_key);
    if let Some(hardware_id) = hardware_id {
        command.arg("--hardware-id").arg(hardware_id);
    }
    let output = command.arg(&path).output().expect("run the binary");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

// --------------------------------------------------------------- signatures

#[actix_web::test]
async fn the_public_key_answer_names_the_key_and_its_id() {
    let app = TestApp::spawn().await;

    let software = Software::new(&app).await;

    let raw = B64.decode(&software.public_key).unwrap();
    assert_eq!(raw.len(), 32);
    assert_eq!(software.key_id, hex::encode(&Sha256::digest(&raw)[..8]));
    assert_eq!(software.key_id.len(), 16);
    assert_eq!(software.public_key, app.state.signer.public_key_base64());
    assert_eq!(software.key_id, app.state.signer.key_id());
    let again = software.send(Method::GET, "/client/public-key", None, Vec::new()).await;
    assert_eq!(again.body["algorithm"], "ed25519");
}

#[actix_web::test]
async fn a_signed_answer_fails_to_verify_when_one_byte_changes() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.activate(&computer_key(&c), "hw-1").await;

    answer.assert_status(200);
    let (signature, _) = signature_header(&answer);
    let body = answer.text.as_bytes();
    assert!(signs(&software.key, &signature, body));
    for at in [0, body.len() / 2, body.len() - 1] {
        let mut changed = body.to_vec();
        changed[at] ^= 0x01;
        assert!(!signs(&software.key, &signature, &changed), "still verifies with byte {at} changed");
    }
    let other = B64.decode(LicenseSigner::from_seed(&[7u8; 32]).public_key_base64()).unwrap();
    let other_key = VerifyingKey::from_bytes(&other.try_into().unwrap()).unwrap();
    assert!(!signs(&other_key, &signature, body), "verifies with another key");
}

#[actix_web::test]
async fn our_problems_are_signed_and_echo_the_nonce() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.activate(&key, "hw-1").await.assert_status(200);
    software.activate(&key, "hw-2").await.assert_status(200);

    // Each goes through `Software::post`, which checks signature, endpoint,
    // issued_at and the echo of the nonce.
    let invalid = software.activate("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF", "hw-1").await;
    let full = software.activate(&key, "hw-3").await;
    let unprocessable =
        software.post("/client/validate", json!({ "hardware_id": "hw-1", "nonce": "validate-nonce_1" })).await;
    suspend(&app, &c.computer_license_id).await;
    let suspended = software.activate(&key, "hw-1").await;

    invalid.assert_problem(401, "INVALID_CREDENTIALS");
    full.assert_problem(409, "SEATS_EXHAUSTED");
    unprocessable.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(unprocessable.body["nonce"], "validate-nonce_1");
    suspended.assert_problem(403, "SUSPENDED");
    assert_eq!(suspended.body["endpoint"], "activate");
}

#[actix_web::test]
async fn the_frameworks_own_errors_under_client_are_signed() {
    let app = TestApp::spawn().await;
    let software = Software::new(&app).await;
    let json = Some("application/json");

    let malformed = software.send(Method::POST, "/client/activate", json, b"{\"license_key\":".to_vec()).await;
    let unknown = software.send(Method::POST, "/client/no-such-route", json, b"{}".to_vec()).await;
    let wrong_verb = software.send(Method::GET, "/client/activate", None, Vec::new()).await;
    let big = format!("{{\"license_key\":\"{}\",\"hardware_id\":\"hw-1\"}}", "A".repeat(1 << 20));
    let too_large = software.send(Method::POST, "/client/activate", json, big.into_bytes()).await;
    let text = software.send(Method::POST, "/client/validate", Some("text/plain"), b"hello".to_vec()).await;

    malformed.assert_problem(400, "MALFORMED_BODY");
    assert_eq!(malformed.body["endpoint"], "activate");
    assert!(malformed.body["nonce"].is_null());
    unknown.assert_problem(404, "NOT_FOUND");
    assert_eq!(unknown.body["endpoint"], "no-such-route");
    wrong_verb.assert_problem(405, "METHOD_NOT_ALLOWED");
    too_large.assert_problem(413, "BODY_TOO_LARGE");
    text.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(text.body["endpoint"], "validate");
}

#[actix_web::test]
async fn a_readable_body_has_its_nonce_echoed_even_when_refused() {
    let app = TestApp::spawn().await;
    let software = Software::new(&app).await;
    let body = json!({ "license_key": "x", "hardware_id": "", "nonce": "keep-me_42" });

    let answer = software.post("/client/activate", body).await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    assert!(answer.body["errors"]["hardware_id"].is_array(), "{}", answer.text);
    assert_eq!(answer.body["nonce"], "keep-me_42");
}

/// "Every body carries … where known, `license_id`, `hardware_id`,
/// `device_id` or `user_id`": a problem about a license the server found, for
/// the machine the request named, names them too, so a signed refusal can't
/// be replayed to another machine.
#[actix_web::test]
async fn a_problem_about_a_known_license_names_the_license_and_the_machine() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.activate(&key, "hw-1").await.assert_status(200);
    software.activate(&key, "hw-2").await.assert_status(200);
    software.activate_user("lena@customer.example", PASSWORD, "hw-a").await.assert_status(200);

    let full = software.activate(&key, "hw-3").await;
    let already_active = software.activate_user("lena@customer.example", PASSWORD, "hw-b").await;

    full.assert_problem(409, "SEATS_EXHAUSTED");
    assert_eq!(full.body["license_id"], c.computer_license_id.as_str(), "{}", full.text);
    assert_eq!(full.body["hardware_id"], "hw-3", "{}", full.text);
    already_active.assert_problem(409, "USER_ALREADY_ACTIVE");
    assert_eq!(already_active.body["license_id"], c.user_license_id.as_str(), "{}", already_active.text);
    assert_eq!(already_active.body["hardware_id"], "hw-b", "{}", already_active.text);
    assert_eq!(already_active.body["user_id"], user_id.as_str(), "{}", already_active.text);
}

#[actix_web::test]
async fn the_credential_back_off_answers_a_signed_429() {
    let app = TestApp::spawn().await;
    let software = Software::new(&app).await;
    let wrong = json!({ "license_key": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF", "hardware_id": "hw-1" });
    for _ in 0..5 {
        software.post("/client/activate", wrong.clone()).await.assert_problem(401, "INVALID_CREDENTIALS");
    }

    let answer = software.post("/client/activate", wrong).await;

    answer.assert_problem(429, "RATE_LIMITED");
    assert!(answer.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)));
}

#[actix_web::test]
async fn answers_name_the_license_machine_device_and_user() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);

    let device = software.activate(&key, "hw-1").await;
    let validated = software.validate_key(&key, "hw-1").await;
    let user = software.activate_user("lena@customer.example", PASSWORD, "hw-u").await;

    let body = device.assert_status(200);
    let device_id = body["device"]["id"].as_str().unwrap();
    assert_eq!(body["license_id"], c.computer_license_id.as_str());
    assert_eq!(body["hardware_id"], "hw-1");
    assert_eq!(body["device_id"], device_id);
    let body = validated.assert_status(200);
    assert_eq!(body["license_id"], c.computer_license_id.as_str());
    assert_eq!(body["hardware_id"], "hw-1");
    assert_eq!(body["device_id"], device_id);
    let body = user.assert_status(200);
    assert_eq!(body["license_id"], c.user_license_id.as_str());
    assert_eq!(body["hardware_id"], "hw-u");
    assert_eq!(body["user_id"], user_id.as_str());
}

#[actix_web::test]
async fn a_nonce_that_breaks_the_rule_is_422_and_a_64_character_one_is_echoed() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);

    let with_nonce = |path: &'static str, nonce: &str| {
        software.post(path, json!({ "license_key": key, "hardware_id": "hw-1", "nonce": nonce }))
    };
    let longest = "Az09_-".repeat(10) + "abcd";

    let too_long = with_nonce("/client/activate", &"n".repeat(65)).await;
    let space = with_nonce("/client/validate", "a nonce").await;
    let empty = with_nonce("/client/validate", "").await;
    let ok = with_nonce("/client/activate", &longest).await;

    for answer in [&too_long, &space, &empty] {
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["nonce"].is_array(), "{}", answer.text);
        assert!(answer.body["nonce"].is_null(), "a broken nonce is not echoed: {}", answer.text);
    }
    assert_eq!(ok.assert_status(200)["nonce"], longest.as_str());
}

// ------------------------------------------------- computer-based activation

#[actix_web::test]
async fn a_new_computer_takes_a_seat() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.activate(&computer_key(&c), "hw-1").await;

    let body = answer.assert_status(200);
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["valid"], true);
    assert!(body["activation_token"].as_str().unwrap().starts_with("lat_"));
    assert_eq!(body["license"]["id"], c.computer_license_id.as_str());
    assert_eq!(body["license"]["kind"], "computer_based");
    assert_eq!(body["license"]["company"], "Company of 1001");
    assert_eq!(body["device"]["hardware_id"], "hw-1");
    assert_eq!(body["device"]["hostname"], "ws-01");
    assert_eq!(body["device"]["status"], "active");
    assert_eq!(body["device"]["offline"], false);
    let listed = portal_devices(&app, &c.computer_license_id, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], body["device"]["id"]);
    assert_eq!(listed[0]["hardware_id"], "hw-1");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
}

/// Re-activating the same hardware keeps the seat and the device and answers
/// a new token for that activation; the new token replaces the old one, which
/// is then unknown (validate NOT_FOUND).
#[actix_web::test]
async fn the_same_computer_again_keeps_its_seat_with_a_new_token() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let first = software.activate(&key, "hw-1").await;
    let old_token = token(&first);

    let second = software.activate(&key, "hw-1").await;

    let new_token = token(&second);
    assert_ne!(new_token, old_token);
    assert_eq!(second.body["device"]["id"], first.body["device"]["id"]);
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
    assert_eq!(portal_devices(&app, &c.computer_license_id, "status=all").await.len(), 1);
    assert_eq!(software.validate_token(&new_token, "hw-1").await.assert_status(200)["code"], "VALID");
    assert_eq!(software.validate_token(&old_token, "hw-1").await.assert_status(200)["code"], "NOT_FOUND");
}

#[actix_web::test]
async fn a_new_computer_on_a_full_license_is_refused_with_who_can_free_a_seat() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.activate(&key, "hw-1").await.assert_status(200);
    software.activate(&key, "hw-2").await.assert_status(200);

    let answer = software.activate(&key, "hw-3").await;

    answer.assert_problem(409, "SEATS_EXHAUSTED");
    assert_eq!(answer.body["seats"], 2);
    assert_eq!(answer.body["seats_used"], 2);
    assert_eq!(answer.body["managers"], json!([{ "name": "Max Manager", "email": "max@customer.example" }]));
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 2);
}

#[actix_web::test]
async fn a_wrong_or_garbage_key_gets_the_same_401() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let last = key.chars().last().unwrap();
    let wrong = format!("{}{}", &key[..key.len() - 1], if last == '0' { '1' } else { '0' });

    let wrong = software.activate(&wrong, "hw-1").await;
    let garbage = software.activate("not a key at all!", "hw-1").await;

    wrong.assert_problem(401, "INVALID_CREDENTIALS");
    garbage.assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body["detail"], garbage.body["detail"]);
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn a_license_key_is_found_ignoring_case_dashes_and_spaces() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let sloppy = computer_key(&c).to_lowercase().replace('-', " ");

    let answer = software.activate(&sloppy, "hw-1").await;

    assert_eq!(answer.assert_status(200)["license"]["id"], c.computer_license_id.as_str());
}

#[actix_web::test]
async fn a_suspended_license_refuses_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    suspend(&app, &c.computer_license_id).await;

    let answer = software.activate(&computer_key(&c), "hw-1").await;

    answer.assert_problem(403, "SUSPENDED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn an_expired_license_refuses_activation() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    expire(&app, &c.computer_license_id).await;

    let answer = software.activate(&computer_key(&c), "hw-1").await;

    answer.assert_problem(403, "EXPIRED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn a_hardware_id_must_be_1_to_128_printable_ascii_characters() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);

    for bad in [String::new(), "h".repeat(129), "hw\t1".to_owned(), "hw\u{7f}".to_owned(), "hw-é".to_owned()] {
        let answer = software.activate(&key, &bad).await;
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["hardware_id"].is_array(), "{bad:?}: {}", answer.text);
    }
    let longest = "~".repeat(64) + &" ".repeat(63) + "!";
    assert_eq!(software.activate(&key, &longest).await.assert_status(200)["device"]["hardware_id"], longest);
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
}

#[actix_web::test]
async fn a_user_based_key_without_email_and_password_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.activate(&user_key(&c), "hw-1").await;

    answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 0);
}

#[actix_web::test]
async fn an_activation_is_recorded_as_done_by_the_software() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.activate(&computer_key(&c), "hw-1").await;

    let device_id = answer.assert_status(200)["device"]["id"].clone();
    assert_eq!(app.count_events("device.activated").await, 1);
    let events = app.get("/events?action=device.activated", &c.manager_token).await;
    let event = &events.assert_status(200)["items"][0];
    assert_eq!(event["actor"]["kind"], "software");
    assert_eq!(event["license_id"], c.computer_license_id.as_str());
    assert_eq!(event["order_id"], c.order_id.as_str());
    assert_eq!(event["subject_id"], device_id);
    assert_eq!(event["hardware_id"], "hw-1");
    assert!(!events.text.contains("lat_"), "an event holds a token: {}", events.text);
}

#[actix_web::test]
async fn hardware_ids_are_compared_exactly() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let lower = software.activate(&key, "hw-1").await;
    let token = token(&lower);

    let upper = software.activate(&key, "HW-1").await;

    assert_ne!(upper.assert_status(200)["device"]["id"], lower.body["device"]["id"]);
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 2);
    assert_eq!(software.validate_token(&token, "HW-1").await.assert_status(200)["code"], "NOT_ACTIVATED");
    assert_eq!(software.validate_token(&token, "hw-1 ").await.assert_status(200)["code"], "NOT_ACTIVATED");
}

#[actix_web::test]
async fn activation_tokens_are_random_and_stored_only_as_their_digest() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);

    let device_token = token(&software.activate(&key, "hw-1").await);
    let other_token = token(&software.activate(&key, "hw-2").await);
    let user_token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-3").await);

    for token in [&device_token, &other_token, &user_token] {
        // lat_ + at least 128 bits: 26 base32 characters or more.
        assert!(token.starts_with("lat_") && token.len() >= 4 + 26, "{token}");
    }
    assert_ne!(device_token, other_token);
    let (device_hashes, user_hashes) = app
        .state
        .db
        .run(|conn| {
            let d: Vec<Option<String>> = devices::table.select(devices::token_hash).load(conn)?;
            let u: Vec<String> = user_activations::table.select(user_activations::token_hash).load(conn)?;
            Ok::<_, license_server::db::DbError>((d, u))
        })
        .await
        .unwrap();
    let digest = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    let mut stored: Vec<String> = device_hashes.into_iter().flatten().collect();
    stored.sort();
    let mut expected = vec![digest(&device_token), digest(&other_token)];
    expected.sort();
    assert_eq!(stored, expected);
    assert_eq!(user_hashes, vec![digest(&user_token)]);
}

#[actix_web::test]
async fn a_deactivated_computer_may_activate_again_when_a_seat_is_free() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let first = software.activate(&key, "hw-1").await;
    software.deactivate(&token(&first), "hw-1").await.assert_status(200);

    let again = software.activate(&key, "hw-1").await;

    let body = again.assert_status(200);
    assert_eq!(body["device"]["id"], first.body["device"]["id"]);
    assert_eq!(body["device"]["status"], "active");
    assert!(body["device"]["deactivated_at"].is_null());
    assert_eq!(software.validate_token(&token(&again), "hw-1").await.assert_status(200)["code"], "VALID");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
}

// ---------------------------------------------------------- seat invariant

#[actix_web::test]
async fn sixteen_parallel_activations_take_exactly_the_two_seats() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let hardware_ids: Vec<String> = (0..16).map(|i| format!("hw-parallel-{i:02}")).collect();

    let answers = join_all(hardware_ids.iter().map(|hw| software.activate(&key, hw))).await;

    let ok = answers.iter().filter(|a| a.status == 200).count();
    let full = answers.iter().filter(|a| a.status == 409 && a.body["code"] == "SEATS_EXHAUSTED").count();
    let others: Vec<&str> = answers.iter().filter(|a| a.status != 200 && a.status != 409).map(|a| &*a.text).collect();
    assert_eq!((ok, full), (2, 14), "others: {others:?}");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 2);
    assert_eq!(portal_devices(&app, &c.computer_license_id, "status=all").await.len(), 2);
}

#[actix_web::test]
async fn the_seat_counter_follows_every_seat_change_and_equals_a_recount() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let license = c.computer_license_id.clone();
    patch_license(&app, &app.admin_token, &license, json!({ "seats": 3 })).await;
    let used = || seats_used(&app, &app.admin_token, &license);

    software.activate(&key, "hw-1").await.assert_status(200);
    app.assert_seat_counters();
    assert_eq!(used().await, 1);
    // The same computer again: no second seat.
    let first = token(&software.activate(&key, "hw-1").await);
    app.assert_seat_counters();
    assert_eq!(used().await, 1);
    software.deactivate(&first, "hw-1").await.assert_status(200);
    software.deactivate(&first, "hw-1").await.assert_problem(409, "NOT_ACTIVATED");
    app.assert_seat_counters();
    assert_eq!(used().await, 0);

    // Offline: the file keeps the seat after the deactivation request.
    software.offline_activate(&request_file(&key, "hw-off", false)).await.assert_status(200);
    software.offline_deactivate(&request_file(&key, "hw-off", true)).await.assert_status(200);
    app.assert_seat_counters();
    assert_eq!(used().await, 1);
    // Re-activating that computer online reuses its seat.
    let again = token(&software.activate(&key, "hw-off").await);
    app.assert_seat_counters();
    assert_eq!(used().await, 1);
    // Its file still runs: deactivated online, it keeps holding the seat.
    software.deactivate(&again, "hw-off").await.assert_status(200);
    app.assert_seat_counters();
    assert_eq!(used().await, 1);

    // A manager deactivates an orphan; an admin forces a file's seat free.
    software.activate(&key, "hw-2").await.assert_status(200);
    software.offline_activate(&request_file(&key, "hw-3", false)).await.assert_status(200);
    let devices = portal_devices(&app, &license, "status=active").await;
    let device =
        |hw: &str| devices.iter().find(|d| d["hardware_id"] == hw).expect("listed")["id"].as_str().unwrap().to_owned();
    let path = |hw: &str| format!("/licenses/{license}/devices/{}/deactivate", device(hw));
    app.post(&path("hw-2"), &c.manager_token, json!({})).await.assert_status(200);
    app.post(&path("hw-3"), &app.admin_token, json!({ "force": true })).await.assert_status(200);
    app.assert_seat_counters();
    assert_eq!(used().await, 1, "only hw-off's file still holds one");

    // Users of the user-based license: added, refused when full, removed.
    let user = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    app.assert_seat_counters();
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 1);
    app.delete(&format!("/licenses/{}/users/{user}", c.user_license_id), &app.admin_token).await.assert_status(204);
    app.assert_seat_counters();
    assert_eq!(seats_used(&app, &app.admin_token, &c.user_license_id).await, 0);
}

#[actix_web::test]
async fn racing_activations_and_double_deactivations_keep_the_counter_exact() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let holders = [token(&software.activate(&key, "hw-a").await), token(&software.activate(&key, "hw-b").await)];

    // Each holder deactivates twice at once while eight new computers race for the seats.
    let leaving = holders
        .iter()
        .zip(["hw-a", "hw-b"])
        .flat_map(|(t, hw)| [software.deactivate(t, hw), software.deactivate(t, hw)]);
    let arriving: Vec<String> = (0..8).map(|i| format!("hw-new-{i}")).collect();
    let (left, arrived) =
        futures_util::future::join(join_all(leaving), join_all(arriving.iter().map(|hw| software.activate(&key, hw))))
            .await;

    let deactivated = left.iter().filter(|a| a.status == 200).count();
    assert_eq!(deactivated, 2, "each holder leaves once: {:?}", left.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(left.iter().all(|a| a.status == 200 || a.body["code"] == "NOT_ACTIVATED"));
    let taken = arrived.iter().filter(|a| a.status == 200).count();
    assert!(arrived.iter().all(|a| a.status == 200 || a.body["code"] == "SEATS_EXHAUSTED"));
    assert!(taken <= 2, "{taken} new computers on 2 seats");
    app.assert_seat_counters();
    let active = portal_devices(&app, &c.computer_license_id, "status=active").await.len();
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, active as i64);
    assert_eq!(active, taken);
}

// ------------------------------------------------------------------ validate

#[actix_web::test]
async fn validate_by_token_or_by_key_is_valid_for_the_cache_window() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token = token(&software.activate(&key, "hw-1").await);

    let by_token = software.validate_token(&token, "hw-1").await;
    let by_key = software.validate_key(&key, "hw-1").await;

    for answer in [&by_token, &by_key] {
        let body = answer.assert_status(200);
        assert_eq!(body["valid"], true);
        assert_eq!(body["code"], "VALID");
        assert_eq!(utc_time(&body["valid_until"]), utc_time(&body["issued_at"]) + TimeDelta::seconds(DAY));
    }
}

#[actix_web::test]
async fn valid_until_is_the_license_expiry_when_that_comes_first() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token = token(&software.activate(&key, "hw-1").await);
    let expiry = app.state.clock.now_utc() + TimeDelta::hours(2);
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "expires_at": rfc3339(expiry) })).await;

    let by_token = software.validate_token(&token, "hw-1").await;
    let by_key = software.validate_key(&key, "hw-1").await;

    for answer in [&by_token, &by_key] {
        let body = answer.assert_status(200);
        assert_eq!(body["code"], "VALID");
        assert_eq!(rfc3339(utc_time(&body["valid_until"])), rfc3339(expiry));
    }
}

#[actix_web::test]
async fn an_unknown_token_or_key_is_not_found() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    software.activate(&computer_key(&c), "hw-1").await.assert_status(200);

    let answers = [
        software.validate_token("lat_dUnknownButWellFormedToken0000000000", "hw-1").await,
        software.validate_token("garbage", "hw-1").await,
        software.validate_key("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF", "hw-1").await,
        software.validate_key("not a key!", "hw-1").await,
    ];

    for answer in &answers {
        let body = answer.assert_status(200);
        assert_eq!(body["valid"], false, "{}", answer.text);
        assert_eq!(body["code"], "NOT_FOUND", "{}", answer.text);
        assert!(body.get("valid_until").is_some_and(Value::is_null), "{}", answer.text);
    }
}

#[actix_web::test]
async fn a_token_sent_from_another_hardware_id_is_not_activated() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token = token(&software.activate(&key, "hw-1").await);

    let by_token = software.validate_token(&token, "hw-2").await;
    let by_key = software.validate_key(&key, "hw-2").await;

    for answer in [&by_token, &by_key] {
        let body = answer.assert_status(200);
        assert_eq!(body["valid"], false);
        assert_eq!(body["code"], "NOT_ACTIVATED");
        assert!(body["valid_until"].is_null());
    }
}

#[actix_web::test]
async fn a_device_deactivated_in_the_portal_is_not_activated() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let activated = software.activate(&key, "hw-1").await;
    let token = token(&activated);
    let device_id = activated.body["device"]["id"].as_str().unwrap();
    let path = format!("/licenses/{}/devices/{device_id}/deactivate", c.computer_license_id);
    app.call(Method::POST, &path, Some(&c.manager_token), None).await.assert_status(200);

    let by_token = software.validate_token(&token, "hw-1").await;
    let by_key = software.validate_key(&key, "hw-1").await;

    for answer in [&by_token, &by_key] {
        let body = answer.assert_status(200);
        assert_eq!(body["valid"], false);
        assert_eq!(body["code"], "NOT_ACTIVATED");
        assert!(body["valid_until"].is_null());
    }
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn validate_says_suspended_and_expired() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token = token(&software.activate(&key, "hw-1").await);

    suspend(&app, &c.computer_license_id).await;
    let suspended = [software.validate_token(&token, "hw-1").await, software.validate_key(&key, "hw-1").await];
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "status": "active" })).await;
    expire(&app, &c.computer_license_id).await;
    let expired = [software.validate_token(&token, "hw-1").await, software.validate_key(&key, "hw-1").await];

    for (answers, code) in [(&suspended, "SUSPENDED"), (&expired, "EXPIRED")] {
        for answer in answers {
            let body = answer.assert_status(200);
            assert_eq!(body["valid"], false);
            assert_eq!(body["code"], code);
            assert!(body["valid_until"].is_null());
        }
    }
}

#[actix_web::test]
async fn a_key_and_hardware_id_on_a_user_based_license_is_not_activated() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    software.activate_user("lena@customer.example", PASSWORD, "hw-1").await.assert_status(200);

    let answer = software.validate_key(&user_key(&c), "hw-1").await;

    let body = answer.assert_status(200);
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "NOT_ACTIVATED");
    assert!(body["valid_until"].is_null());
}

#[actix_web::test]
async fn validate_needs_exactly_one_of_token_and_key() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token = token(&software.activate(&key, "hw-1").await);

    let neither = software.post("/client/validate", json!({ "hardware_id": "hw-1", "nonce": nonce() })).await;
    let both = software
        .post(
            "/client/validate",
            json!({ "activation_token": token, "license_key": key, "hardware_id": "hw-1", "nonce": nonce() }),
        )
        .await;

    neither.assert_problem(422, "VALIDATION_FAILED");
    both.assert_problem(422, "VALIDATION_FAILED");
}

// ---------------------------------------------------------------- user-based

#[actix_web::test]
async fn a_license_user_activates_with_the_email_in_any_case() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.activate_user("  LENA@Customer.Example", PASSWORD, "hw-1").await;

    let body = answer.assert_status(200);
    assert_eq!(body["code"], "VALID");
    assert!(body["activation_token"].as_str().unwrap().starts_with("lat_"));
    assert_eq!(body["license"]["id"], c.user_license_id.as_str());
    assert_eq!(body["license"]["kind"], "user_based");
    assert_eq!(body["user"]["id"], user_id.as_str());
    assert_eq!(body["user"]["email"], "lena@customer.example");
    assert_eq!(utc_time(&body["lease_expires_at"]), utc_time(&body["issued_at"]) + TimeDelta::seconds(LEASE));
    let user = app.get(&format!("/licenses/{}/users/{user_id}", c.user_license_id), &c.manager_token).await;
    assert_eq!(user.assert_status(200)["activation"]["hardware_id"], "hw-1");
    assert_eq!(app.count_events("license_user.activated").await, 1);
}

#[actix_web::test]
async fn the_same_user_on_another_computer_is_already_active() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let first = software.activate_user("lena@customer.example", PASSWORD, "hw-a").await;
    first.assert_status(200);

    let answer = software.activate_user("lena@customer.example", PASSWORD, "hw-b").await;

    answer.assert_problem(409, "USER_ALREADY_ACTIVE");
    assert_eq!(utc_time(&answer.body["lease_expires_at"]), utc_time(&first.body["lease_expires_at"]));
}

#[actix_web::test]
async fn parallel_activations_of_one_user_leave_exactly_one_computer_active() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let hardware_ids: Vec<String> = (0..8).map(|i| format!("hw-user-{i}")).collect();

    let answers =
        join_all(hardware_ids.iter().map(|hw| software.activate_user("lena@customer.example", PASSWORD, hw))).await;

    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    let refused = answers.iter().filter(|a| a.status == 409 && a.body["code"] == "USER_ALREADY_ACTIVE").count();
    assert_eq!((winners.len(), refused), (1, 7), "{:?}", answers.iter().map(|a| &a.text).collect::<Vec<_>>());
    let user = app.get(&format!("/licenses/{}/users/{user_id}", c.user_license_id), &c.manager_token).await;
    assert_eq!(user.assert_status(200)["activation"]["hardware_id"], winners[0].body["hardware_id"]);
}

#[actix_web::test]
async fn after_the_lease_runs_out_validate_says_so_and_another_computer_may_activate() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let token_a = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-a").await);

    app.state.clock.advance(LEASE + 1);
    let validated = software.validate_token(&token_a, "hw-a").await;
    let other = software.activate_user("lena@customer.example", PASSWORD, "hw-b").await;

    let body = validated.assert_status(200);
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "LEASE_EXPIRED");
    assert!(body["valid_until"].is_null());
    assert_eq!(other.assert_status(200)["hardware_id"], "hw-b");
}

#[actix_web::test]
async fn a_heartbeat_moves_the_lease_to_now_plus_lease_seconds_without_accumulating() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-1").await);
    app.state.clock.advance(600);

    let first = software.heartbeat(&token, "hw-1").await;
    let second = software.heartbeat(&token, "hw-1").await;

    for answer in [&first, &second] {
        let body = answer.assert_status(200);
        assert_eq!(body["code"], "VALID");
        assert_eq!(utc_time(&body["lease_expires_at"]), utc_time(&body["issued_at"]) + TimeDelta::seconds(LEASE));
    }
    let moved = utc_time(&second.body["lease_expires_at"]) - utc_time(&first.body["lease_expires_at"]);
    assert!(moved < TimeDelta::seconds(5), "the lease accumulated: {moved}");
    let validated = software.validate_token(&token, "hw-1").await;
    assert_eq!(validated.assert_status(200)["code"], "VALID");
    assert_eq!(validated.body["lease_expires_at"], second.body["lease_expires_at"]);
}

#[actix_web::test]
async fn a_heartbeat_after_the_lease_ran_out_is_lease_expired() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-1").await);
    app.state.clock.advance(LEASE + 1);

    let answer = software.heartbeat(&token, "hw-1").await;

    answer.assert_problem(409, "LEASE_EXPIRED");
    let validated = software.validate_token(&token, "hw-1").await;
    assert_eq!(validated.assert_status(200)["code"], "LEASE_EXPIRED");
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;

    let wrong = software.activate_user("lena@customer.example", "not-the-password", "hw-1").await;
    let unknown = software.activate_user("nobody@customer.example", PASSWORD, "hw-1").await;

    wrong.assert_problem(401, "INVALID_CREDENTIALS");
    unknown.assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    assert_eq!(app.count_events("license_user.activated").await, 0);
}

#[actix_web::test]
async fn one_email_and_password_on_two_licenses_needs_the_key() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let d = app.order("1002", "mia@other.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    add_user(&app, &d.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;

    let ambiguous = software.activate_user("lena@customer.example", PASSWORD, "hw-1").await;
    let body = json!({
        "email": "lena@customer.example", "password": PASSWORD, "hardware_id": "hw-1",
        "license_key": user_key(&d), "nonce": nonce(),
    });
    let picked = software.post("/client/activate", body).await;

    ambiguous.assert_problem(409, "LICENSE_AMBIGUOUS");
    assert_eq!(picked.assert_status(200)["license"]["id"], d.user_license_id.as_str());
    assert_eq!(picked.body["license_id"], d.user_license_id.as_str());
}

#[actix_web::test]
async fn a_crashed_activation_is_reset_by_the_manager_and_the_user_moves_to_another_computer() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    // Computer A activates, then the software crashes: no deactivation.
    let token_a = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-a").await);
    let refused = software.activate_user("lena@customer.example", PASSWORD, "hw-b").await;
    refused.assert_problem(409, "USER_ALREADY_ACTIVE");

    let reset_path = format!("/licenses/{}/users/{user_id}/reset-activation", c.user_license_id);
    let reset = app.call(Method::POST, &reset_path, Some(&c.manager_token), None).await;
    let on_b = software.activate_user("lena@customer.example", PASSWORD, "hw-b").await;

    assert!(reset.assert_status(200)["activation"].is_null());
    let token_b = token(&on_b);
    assert_eq!(on_b.body["user"]["id"], user_id.as_str());
    let a = software.validate_token(&token_a, "hw-a").await;
    assert_eq!(a.assert_status(200)["code"], "NOT_ACTIVATED");
    assert_eq!(a.body["valid"], false);
    assert_eq!(software.validate_token(&token_b, "hw-b").await.assert_status(200)["code"], "VALID");
    assert_eq!(app.count_events("license_user.activated").await, 2);
    assert_eq!(app.count_events("license_user.activation_reset").await, 1);
}

// ------------------------------------------------- heartbeat and deactivate

#[actix_web::test]
async fn heartbeat_and_deactivate_refuse_an_unknown_or_garbage_token() {
    let app = TestApp::spawn().await;
    let software = Software::new(&app).await;

    // Four attempts: after five failures from one IP the next one must wait.
    let answers = [
        software.heartbeat("lat_dUnknownButWellFormedToken0000000000", "hw-1").await,
        software.heartbeat("garbage", "hw-1").await,
        software.deactivate("lat_uUnknownToken000000000000000000", "hw-1").await,
        software.deactivate("garbage", "hw-1").await,
    ];

    for answer in &answers {
        answer.assert_problem(401, "INVALID_CREDENTIALS");
        assert_eq!(answer.body["detail"], answers[0].body["detail"]);
    }
}

#[actix_web::test]
async fn a_device_heartbeat_updates_last_seen_at() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let activated = software.activate(&computer_key(&c), "hw-1").await;
    let token = token(&activated);
    let device_id = activated.body["device"]["id"].as_str().unwrap();
    app.state.clock.advance(3600);

    let answer = software.heartbeat(&token, "hw-1").await;

    let body = answer.assert_status(200);
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["device_id"], device_id);
    let admin = fresh_admin_token(&app).await;
    let device = portal_device(&app, &admin, &c.computer_license_id, device_id).await;
    assert_eq!(utc_time(&device["last_seen_at"]), utc_time(&body["issued_at"]));
}

#[actix_web::test]
async fn validate_refreshes_last_seen_at_at_most_every_five_minutes_and_sees_a_deactivation_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let activated = software.activate(&key, "hw-1").await;
    let token = token(&activated);
    let device_id = activated.body["device"]["id"].as_str().unwrap().to_owned();
    let seen = |device: serde_json::Value| utc_time(&device["last_seen_at"]);

    app.state.clock.advance(3600);
    let admin = fresh_admin_token(&app).await;
    let answer = software.validate_key(&key, "hw-1").await;
    let refreshed = answer.assert_status(200);
    assert_eq!(refreshed["code"], "VALID");
    let at = seen(portal_device(&app, &admin, &c.computer_license_id, &device_id).await);
    assert_eq!(at, utc_time(&refreshed["issued_at"]), "an hour-old last_seen_at is refreshed");

    app.state.clock.advance(60);
    software.validate_token(&token, "hw-1").await.assert_status(200);
    let device = portal_device(&app, &admin, &c.computer_license_id, &device_id).await;
    assert_eq!(seen(device), at, "a minute later nothing is written");

    // The read on the worker's own connection sees the deactivation committed elsewhere.
    software.deactivate(&token, "hw-1").await.assert_status(200);
    let by_key = software.validate_key(&key, "hw-1").await;
    assert_eq!(by_key.assert_status(200)["code"], "NOT_ACTIVATED");
    let by_token = software.validate_token(&token, "hw-1").await;
    assert_ne!(by_token.assert_status(200)["code"], "VALID");
}

#[actix_web::test]
async fn deactivate_frees_the_seat_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let token_1 = token(&software.activate(&key, "hw-1").await);
    software.activate(&key, "hw-2").await.assert_status(200);

    let answer = software.deactivate(&token_1, "hw-1").await;

    assert_eq!(answer.assert_status(200)["code"], "DEACTIVATED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
    software.activate(&key, "hw-3").await.assert_status(200);
    let validated = software.validate_token(&token_1, "hw-1").await;
    assert_eq!(validated.assert_status(200)["code"], "NOT_ACTIVATED");
    assert_eq!(app.count_events("device.deactivated").await, 1);
}

#[actix_web::test]
async fn a_replayed_deactivation_is_not_activated_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let activated = software.activate(&computer_key(&c), "hw-1").await;
    let token = token(&activated);
    let device_id = activated.body["device"]["id"].as_str().unwrap();
    software.deactivate(&token, "hw-1").await.assert_status(200);
    let before = portal_device(&app, &app.admin_token, &c.computer_license_id, device_id).await;
    app.state.clock.advance(60);

    let replay = software.deactivate(&token, "hw-1").await;

    replay.assert_problem(409, "NOT_ACTIVATED");
    assert_eq!(portal_device(&app, &app.admin_token, &c.computer_license_id, device_id).await, before);
    assert_eq!(app.count_events("device.deactivated").await, 1);
}

#[actix_web::test]
async fn a_user_deactivation_lets_the_user_activate_elsewhere_at_once() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let token_a = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-a").await);

    let answer = software.deactivate(&token_a, "hw-a").await;

    assert_eq!(answer.assert_status(200)["code"], "DEACTIVATED");
    software.activate_user("lena@customer.example", PASSWORD, "hw-b").await.assert_status(200);
    assert_eq!(software.validate_token(&token_a, "hw-a").await.assert_status(200)["code"], "NOT_ACTIVATED");
    software.deactivate(&token_a, "hw-a").await.assert_problem(409, "NOT_ACTIVATED");
}

#[actix_web::test]
async fn a_heartbeat_on_a_suspended_license_is_suspended() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let device_token = token(&software.activate(&computer_key(&c), "hw-1").await);
    let user_token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-2").await);
    suspend(&app, &c.computer_license_id).await;
    suspend(&app, &c.user_license_id).await;

    let device = software.heartbeat(&device_token, "hw-1").await;
    let user = software.heartbeat(&user_token, "hw-2").await;

    device.assert_problem(403, "SUSPENDED");
    user.assert_problem(403, "SUSPENDED");
}

#[actix_web::test]
async fn a_heartbeat_after_the_activation_ended_is_not_activated() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let device_token = token(&software.activate(&computer_key(&c), "hw-1").await);
    let user_token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-2").await);
    software.deactivate(&device_token, "hw-1").await.assert_status(200);
    let reset_path = format!("/licenses/{}/users/{user_id}/reset-activation", c.user_license_id);
    app.call(Method::POST, &reset_path, Some(&c.manager_token), None).await.assert_status(200);

    let device = software.heartbeat(&device_token, "hw-1").await;
    let user = software.heartbeat(&user_token, "hw-2").await;

    device.assert_problem(409, "NOT_ACTIVATED");
    user.assert_problem(409, "NOT_ACTIVATED");
}

#[actix_web::test]
async fn a_deactivation_from_another_hardware_id_is_not_activated_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let token = token(&software.activate(&computer_key(&c), "hw-1").await);

    let answer = software.deactivate(&token, "hw-2").await;

    answer.assert_problem(409, "NOT_ACTIVATED");
    assert_eq!(software.validate_token(&token, "hw-1").await.assert_status(200)["code"], "VALID");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
    assert_eq!(app.count_events("device.deactivated").await, 0);
}

/// Removing a user ends its activation: the token stops working (the
/// activation is gone with the user, so the token is unknown or ended).
#[actix_web::test]
async fn a_removed_users_token_stops_working() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let software = Software::new(&app).await;
    let token = token(&software.activate_user("lena@customer.example", PASSWORD, "hw-1").await);
    let path = format!("/licenses/{}/users/{user_id}", c.user_license_id);
    app.delete(&path, &c.manager_token).await.assert_status(204);

    let validated = software.validate_token(&token, "hw-1").await;
    let heartbeat = software.heartbeat(&token, "hw-1").await;

    let body = validated.assert_status(200);
    assert_eq!(body["valid"], false);
    assert!(["NOT_FOUND", "NOT_ACTIVATED"].contains(&body["code"].as_str().unwrap()), "{}", validated.text);
    assert!(
        [("INVALID_CREDENTIALS", 401), ("NOT_ACTIVATED", 409)]
            .contains(&(heartbeat.body["code"].as_str().unwrap(), heartbeat.status.as_u16())),
        "{}",
        heartbeat.text
    );
}

// ------------------------------------------------------------------- offline

#[actix_web::test]
async fn an_offline_activation_answers_a_license_file_the_reference_check_accepts() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);

    let answer = software.offline_activate(&request_file(&key, "hw-off", false)).await;

    let body = answer.assert_status(200);
    let file = body["license_file"].as_str().expect("license_file");
    let now = app.state.clock.now_utc();
    let payload = verify_file(file, &software.key, Some("hw-off"), now).expect("a valid file");
    assert_eq!(payload.format, 1);
    assert_eq!(payload.license_id, c.computer_license_id);
    assert_eq!(payload.license_key, key);
    assert_eq!(payload.kind, "computer_based");
    assert_eq!(payload.device_id, body["device"]["id"].as_str().unwrap());
    assert_eq!(payload.hardware_id, "hw-off");
    assert_eq!(payload.company, "Company of 1001");
    assert_eq!((payload.product.code.as_str(), payload.product.name.as_str()), ("CODE-1001", "CODE-1001 product"));
    assert_eq!(payload.seats, 2);
    assert_eq!(payload.expires_at, None);
    assert_eq!(payload.issued_at, utc_time(&body["issued_at"]));
    assert_eq!(payload.valid_until, payload.issued_at + TimeDelta::seconds(FILE_LIFETIME));
    assert_eq!(utc_time(&body["valid_until"]), payload.valid_until);
    assert_eq!(body["device_id"], body["device"]["id"]);
    assert_eq!(body["hardware_id"], "hw-off");
    assert_eq!(body["license_id"], c.computer_license_id.as_str());
    let raw_payload = payload_json(file);
    let fields: Vec<&String> = raw_payload.as_object().unwrap().keys().collect();
    let mut expected = vec![
        "company",
        "device_id",
        "expires_at",
        "file_id",
        "format",
        "hardware_id",
        "issued_at",
        "kind",
        "license_id",
        "license_key",
        "product",
        "seats",
        "valid_until",
    ];
    expected.sort_unstable();
    assert_eq!(fields, expected);
}

#[actix_web::test]
async fn a_license_file_is_armored_base64_wrapped_at_64_columns() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;

    let file = answer.assert_status(200)["license_file"].as_str().unwrap();
    let lines = block_lines(file);
    assert!(lines.len() > 1);
    let (last, full) = lines.split_last().unwrap();
    assert!(full.iter().all(|l| l.len() == 64), "{file}");
    assert!((1..=64).contains(&last.len()), "{file}");
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
    assert!(lines.iter().all(|l| l.bytes().all(alphabet)), "{file}");
    let wrapper = wrapper(file);
    assert_eq!(wrapper["algorithm"], "ed25519");
    assert_eq!(wrapper["key_id"], software.key_id.as_str());
    let signature = B64.decode(wrapper["signature"].as_str().unwrap()).unwrap();
    assert!(signs(&software.key, &signature, wrapper["payload"].as_str().unwrap().as_bytes()));
}

#[actix_web::test]
async fn an_offline_device_is_listed_as_offline_and_takes_a_seat() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;

    let body = answer.assert_status(200);
    assert_eq!(body["device"]["offline"], true);
    let listed = portal_devices(&app, &c.computer_license_id, "offline=true").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], body["device"]["id"]);
    assert_eq!(listed[0]["hardware_id"], "hw-off");
    assert_eq!(listed[0]["hostname"], "offline-ws");
    assert_eq!(listed[0]["offline"], true);
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(utc_time(&listed[0]["valid_until"]), utc_time(&body["valid_until"]));
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
    assert_eq!(app.count_events("device.activated").await, 1);
}

#[actix_web::test]
async fn an_offline_computer_gets_a_new_file_on_the_same_seat() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let request = request_file(&computer_key(&c), "hw-off", false);
    let first = software.offline_activate(&request).await;
    first.assert_status(200);
    app.state.clock.advance(DAY);

    let second = software.offline_activate(&request).await;

    let body = second.assert_status(200);
    assert_eq!(body["device"]["id"], first.body["device"]["id"]);
    assert_eq!(utc_time(&body["valid_until"]), utc_time(&body["issued_at"]) + TimeDelta::seconds(FILE_LIFETIME));
    assert!(utc_time(&body["valid_until"]) >= utc_time(&first.body["valid_until"]) + TimeDelta::seconds(DAY));
    assert_eq!(utc_time(&body["device"]["valid_until"]), utc_time(&body["valid_until"]));
    let first_file = verify_file(first.body["license_file"].as_str().unwrap(), &software.key, None, Utc::now());
    let second_file = verify_file(body["license_file"].as_str().unwrap(), &software.key, None, Utc::now());
    assert_ne!(first_file.unwrap().file_id, second_file.unwrap().file_id);
    let admin = fresh_admin_token(&app).await;
    assert_eq!(seats_used(&app, &admin, &c.computer_license_id).await, 1);
}

#[actix_web::test]
async fn offline_activation_of_a_suspended_license_is_refused() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    suspend(&app, &c.computer_license_id).await;

    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;

    answer.assert_problem(403, "SUSPENDED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn an_offline_file_runs_out_with_the_license_when_that_comes_first() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let expiry = app.state.clock.now_utc() + TimeDelta::days(10);
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "expires_at": rfc3339(expiry) })).await;

    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;

    let file = answer.assert_status(200)["license_file"].as_str().unwrap();
    let payload = verify_file(file, &software.key, Some("hw-off"), app.state.clock.now_utc()).unwrap();
    assert_eq!(rfc3339(payload.valid_until), rfc3339(expiry));
    assert_eq!(payload.expires_at.map(rfc3339), Some(rfc3339(expiry)));
}

#[actix_web::test]
async fn offline_activation_is_refused_when_the_license_does_not_allow_it() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    patch_license(&app, &app.admin_token, &c.computer_license_id, json!({ "offline_allowed": false })).await;

    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;

    answer.assert_problem(409, "OFFLINE_NOT_ALLOWED");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn offline_activation_of_a_user_based_key_is_the_wrong_license_kind() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;

    let answer = software.offline_activate(&request_file(&user_key(&c), "hw-off", false)).await;

    answer.assert_problem(409, "WRONG_LICENSE_KIND");
}

#[actix_web::test]
async fn a_garbage_request_file_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let no_created_at = json!({ "license_key": computer_key(&c), "hardware_id": "hw-off" });

    let not_base64 = software.offline_activate("this is not base64!").await;
    let not_json = software.offline_activate(&B64.encode("not json")).await;
    let incomplete = software.offline_activate(&B64.encode(no_created_at.to_string())).await;

    for answer in [&not_base64, &not_json, &incomplete] {
        answer.assert_problem(422, "VALIDATION_FAILED");
        assert!(answer.body["errors"]["request"].is_array(), "{}", answer.text);
    }
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 0);
}

#[actix_web::test]
async fn offline_activation_on_a_full_license_is_seats_exhausted() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.activate(&key, "hw-1").await.assert_status(200);
    software.offline_activate(&request_file(&key, "hw-2", false)).await.assert_status(200);

    let answer = software.offline_activate(&request_file(&key, "hw-3", false)).await;

    answer.assert_problem(409, "SEATS_EXHAUSTED");
    assert_eq!(answer.body["seats_used"], 2);
}

#[actix_web::test]
async fn an_offline_deactivation_keeps_the_seat_until_the_file_runs_out() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let activated = software.offline_activate(&request_file(&key, "hw-off", false)).await;
    let valid_until = utc_time(&activated.assert_status(200)["valid_until"]);
    let device_id = activated.body["device"]["id"].as_str().unwrap();
    software.activate(&key, "hw-online").await.assert_status(200);

    let answer = software.offline_deactivate(&request_file(&key, "hw-off", true)).await;

    let body = answer.assert_status(200);
    assert_eq!(body["code"], "DEACTIVATED");
    assert_eq!(body["device"]["status"], "deactivated");
    assert_eq!(utc_time(&body["device"]["seat_released_at"]), valid_until);
    let device = portal_device(&app, &app.admin_token, &c.computer_license_id, device_id).await;
    assert_eq!(device["status"], "deactivated");
    assert_eq!(utc_time(&device["seat_released_at"]), valid_until);
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 2);
    software.activate(&key, "hw-new").await.assert_problem(409, "SEATS_EXHAUSTED");
    app.state.clock.advance(FILE_LIFETIME - 60);
    let admin = fresh_admin_token(&app).await;
    assert_eq!(seats_used(&app, &admin, &c.computer_license_id).await, 2);
    app.state.clock.advance(61);
    assert_eq!(seats_used(&app, &admin, &c.computer_license_id).await, 1);
    software.activate(&key, "hw-new").await.assert_status(200);
}

#[actix_web::test]
async fn a_replayed_offline_deactivation_is_not_activated() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let activated = software.offline_activate(&request_file(&key, "hw-off", false)).await;
    let device_id = activated.assert_status(200)["device"]["id"].as_str().unwrap();
    let deactivation = request_file(&key, "hw-off", true);
    software.offline_deactivate(&deactivation).await.assert_status(200);
    let before = portal_device(&app, &app.admin_token, &c.computer_license_id, device_id).await;

    let replay = software.offline_deactivate(&deactivation).await;

    replay.assert_problem(409, "NOT_ACTIVATED");
    assert_eq!(portal_device(&app, &app.admin_token, &c.computer_license_id, device_id).await, before);
    assert_eq!(app.count_events("device.deactivated").await, 1);
}

#[actix_web::test]
async fn a_request_file_sent_to_the_wrong_offline_endpoint_is_422() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.offline_activate(&request_file(&key, "hw-off", false)).await.assert_status(200);

    let activation_to_deactivate = software.offline_deactivate(&request_file(&key, "hw-off", false)).await;
    let deactivation_to_activate = software.offline_activate(&request_file(&key, "hw-2", true)).await;

    activation_to_deactivate.assert_problem(422, "VALIDATION_FAILED");
    deactivation_to_activate.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(portal_devices(&app, &c.computer_license_id, "").await.len(), 1);
    assert_eq!(app.count_events("device.deactivated").await, 0);
}

// ------------------------------------------------------ verify-license-file

#[actix_web::test]
async fn verify_license_file_accepts_a_fresh_file() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;
    let file = answer.assert_status(200)["license_file"].as_str().unwrap();

    let (ok, output) = verify_license_file(&software.public_key, Some("hw-off"), file);

    assert!(ok, "{output}");
    assert!(output.starts_with("VALID"), "{output}");
    assert!(output.contains("hw-off"), "{output}");
}

#[actix_web::test]
async fn verify_license_file_refuses_a_changed_byte_another_key_and_another_machine() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let answer = software.offline_activate(&request_file(&computer_key(&c), "hw-off", false)).await;
    let file = answer.assert_status(200)["license_file"].as_str().unwrap();
    let other_key = LicenseSigner::from_seed(&[7u8; 32]).public_key_base64().to_owned();

    let changed = verify_license_file(&software.public_key, None, &with_changed_payload_byte(file));
    let another_key = verify_license_file(&other_key, None, file);
    let another_machine = verify_license_file(&software.public_key, Some("other"), file);

    for (ok, output) in [&changed, &another_key] {
        assert!(!ok, "{output}");
        assert!(output.contains("signature"), "no reason: {output}");
        assert!(!output.starts_with("VALID"), "{output}");
    }
    assert!(!another_machine.0, "{}", another_machine.1);
    assert!(another_machine.1.contains("hardware id"), "no reason: {}", another_machine.1);
    // The untouched file still passes: the refusals come from the changes.
    assert!(verify_license_file(&software.public_key, Some("hw-off"), file).0);
}

#[actix_web::test]
async fn an_offline_activation_does_not_bring_back_an_ended_online_token() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-REVIVE", "m@revive.example").await;
    let software = Software::new(&app).await;
    let online = software.activate(&computer_key(&c), "pc-1").await;
    let old_token = token(&online);
    let device_id = online.body["device"]["id"].as_str().unwrap().to_owned();
    let path = format!("/licenses/{}/devices/{device_id}/deactivate", c.computer_license_id);
    app.call(Method::POST, &path, Some(&c.manager_token), None).await.assert_status(200);

    software.offline_activate(&request_file(&computer_key(&c), "pc-1", false)).await.assert_status(200);

    let validated = software.validate_token(&old_token, "pc-1").await;
    assert_eq!(validated.body["code"], "NOT_FOUND", "{}", validated.text);
    software.heartbeat(&old_token, "pc-1").await.assert_problem(401, "INVALID_CREDENTIALS");
}

#[actix_web::test]
async fn unknown_tokens_on_validate_count_toward_the_back_off_but_a_valid_token_gets_through() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let valid = token(&software.activate(&computer_key(&c), "pc-1").await);
    for _ in 0..20 {
        let answer = software.validate_token("lat_dnot-a-real-token", "pc-1").await;
        assert_eq!(answer.body["code"], "NOT_FOUND");
    }

    let limited = software.validate_token("lat_dnot-a-real-token", "pc-1").await;
    let still_valid = software.validate_token(&valid, "pc-1").await;
    let heartbeat = software.heartbeat(&valid, "pc-1").await;
    let garbage_heartbeat = software.heartbeat("lat_dnot-a-real-token", "pc-1").await;

    limited.assert_problem(429, "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(still_valid.assert_status(200)["code"], "VALID", "a valid token is never refused");
    heartbeat.assert_status(200);
    garbage_heartbeat.assert_problem(429, "RATE_LIMITED");
}

#[actix_web::test]
async fn an_offline_deactivation_naming_an_online_device_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let online = software.activate(&key, "hw-victim").await;
    let victim_token = token(&online);
    let device_id = online.body["device"]["id"].as_str().unwrap().to_owned();
    let before = portal_device(&app, &app.admin_token, &c.computer_license_id, &device_id).await;

    // Anyone who knows the key and a hardware id can write this file.
    let answer = software.offline_deactivate(&request_file(&key, "hw-victim", true)).await;

    answer.assert_problem(409, "NOT_OFFLINE_DEVICE");
    assert_eq!(answer.body["device_id"], device_id.as_str());
    assert_eq!(portal_device(&app, &app.admin_token, &c.computer_license_id, &device_id).await, before);
    assert_eq!(software.validate_token(&victim_token, "hw-victim").await.body["code"], "VALID");
    assert_eq!(seats_used(&app, &app.admin_token, &c.computer_license_id).await, 1);
    assert_eq!(app.count_events("device.deactivated").await, 0);
}

#[actix_web::test]
async fn an_offline_device_that_went_online_no_longer_leaves_by_request_file() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    software.offline_activate(&request_file(&key, "hw-1", false)).await.assert_status(200);
    let online = token(&software.activate(&key, "hw-1").await);

    let answer = software.offline_deactivate(&request_file(&key, "hw-1", true)).await;

    answer.assert_problem(409, "NOT_OFFLINE_DEVICE");
    assert_eq!(software.validate_token(&online, "hw-1").await.body["code"], "VALID");
}

#[actix_web::test]
async fn a_reactivation_without_description_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let key = computer_key(&c);
    let first = software.activate(&key, "hw-1").await;
    let device_id = first.assert_status(200)["device"]["id"].as_str().unwrap().to_owned();

    let again = software.post("/client/activate", json!({ "license_key": key, "hardware_id": "hw-1" })).await;
    let newer = software
        .post("/client/activate", json!({ "license_key": key, "hardware_id": "hw-1", "app_version": "4.3.0" }))
        .await;

    again.assert_status(200);
    newer.assert_status(200);
    let device = portal_device(&app, &app.admin_token, &c.computer_license_id, &device_id).await;
    assert_eq!(device["hostname"], "ws-01");
    assert_eq!(device["platform"], "windows-x86_64");
    assert_eq!(device["app_version"], "4.3.0", "a field that is sent replaces the stored one");
}

#[actix_web::test]
async fn a_users_reactivation_without_description_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    let c = app.order("1001", "max@customer.example").await;
    let software = Software::new(&app).await;
    let user_id = add_user(&app, &c.user_license_id, "lena@customer.example").await;
    let body = json!({
        "email": "lena@customer.example", "password": PASSWORD, "hardware_id": "hw-1",
        "hostname": "lena-laptop", "platform": "macos-arm64", "app_version": "4.2.1",
    });
    software.post("/client/activate", body).await.assert_status(200);

    software.activate_user("lena@customer.example", PASSWORD, "hw-1").await.assert_status(200);

    let path = format!("/licenses/{}/users/{user_id}", c.user_license_id);
    let user = app.get(&path, &app.admin_token).await;
    let activation = &user.assert_status(200)["activation"];
    assert_eq!(activation["hostname"], "lena-laptop");
    assert_eq!(activation["platform"], "macos-arm64");
    assert_eq!(activation["app_version"], "4.2.1");
}
