//! The binary: its subcommands, its start-up checks and its shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_license-server");

/// The binary with a clean environment for this crate's variables.
pub(crate) fn command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LICENSE_SERVER_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `serve` and waits until it answers /health.
async fn serve(dir: &std::path::Path, envs: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let mut cmd = command(dir);
    cmd.env("LICENSE_SERVER_LISTEN", format!("127.0.0.1:{port}")).env("LICENSE_SERVER_WORKERS", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    #[allow(clippy::zombie_processes)] // `stop` waits for it
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if reqwest::get(format!("{base}/health")).await.is_ok_and(|r| r.status() == 200) {
            return (child, base);
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(mut child: Child) -> (std::process::ExitStatus, String) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    (status, log)
}

#[test]
fn openapi_prints_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), license_server::openapi_json());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "openapi touches no database");
}

#[test]
fn migrate_creates_the_default_file_and_applies_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = command(dir.path()).arg("migrate").output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let all = crate::helpers::migration_names("sqlite").len();
    assert!(String::from_utf8_lossy(&first.stdout).starts_with(&format!("{all} migration(s) applied")));
    assert!(dir.path().join("license-server.db").is_file());
    let second = command(dir.path()).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).starts_with("0 migration(s) applied"));
}

#[test]
fn a_mistyped_database_url_stops_with_a_clear_message_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("migrate").env("DATABASE_URL", "postgress://localhost/ls").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL") && err.contains("unsupported scheme"), "{err}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no file was created");
}

#[test]
fn bad_configuration_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).env("LICENSE_SERVER_LISTEN", "everywhere").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LICENSE_SERVER_LISTEN"));
    let out = command(dir.path()).env("LICENSE_SERVER_ACCESS_TOKEN_SECONDS", "86400").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LICENSE_SERVER_ACCESS_TOKEN_SECONDS"));
}

#[test]
fn admin_create_takes_the_password_from_the_environment_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .args(["admin", "create", "--email", "Root@Example.com"])
        .env("LICENSE_SERVER_ADMIN_PASSWORD", "a-long-admin-password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin root@example.com"));

    let again = command(dir.path())
        .args(["admin", "create", "--email", "root@example.com"])
        .env("LICENSE_SERVER_ADMIN_PASSWORD", "a-long-admin-password")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let mut child = command(dir.path())
        .args(["admin", "create", "--email", "second@example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"password-from-stdin\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let short = command(dir.path())
        .args(["admin", "create", "--email", "third@example.com"])
        .env("LICENSE_SERVER_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("12"));
}

#[actix_web::test]
async fn a_first_start_bootstraps_the_admin_who_can_sign_in_and_sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let envs =
        [("LICENSE_SERVER_ADMIN_EMAIL", "boot@example.com"), ("LICENSE_SERVER_ADMIN_PASSWORD", "bootstrap-password")];
    let (child, base) = serve(dir.path(), &envs).await;
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "boot@example.com", "password": "bootstrap-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let ui = reqwest::get(format!("{base}/swagger-ui/")).await.unwrap();
    assert_eq!(ui.status(), 200);
    let (status, log) = stop(child);
    assert!(status.success(), "exit {status:?}; log:\n{log}");
    assert!(log.contains("created the first admin account"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[actix_web::test]
async fn a_start_without_any_admin_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = serve(dir.path(), &[]).await;
    let (status, log) = stop(child);
    assert!(status.success());
    assert!(log.contains("license-server admin create"), "{log}");
}
