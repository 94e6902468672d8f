//! Two server processes on one database: the seat invariant holds across them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use license_server::db::DatabaseUrl;
use serde_json::json;

use crate::helpers::TestApp;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_process(database: &DatabaseUrl) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = match database {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_license-server"))
        .env("DATABASE_URL", url)
        .env("LICENSE_SERVER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LICENSE_SERVER_WORKERS", "2")
        .env("LICENSE_SERVER_RATE_LIMIT_PER_IP", "0")
        .env("RUST_LOG", "warn")
        .env_remove("LICENSE_SERVER_ADMIN_EMAIL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while !reqwest::get(format!("{}/health", server.base)).await.is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_secs(30), "a server process did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

#[actix_web::test]
async fn two_server_processes_on_one_database_never_exceed_the_seats() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-CLUSTER", "cluster@example.com").await;
    let key = c.order["licenses"][1]["key"].as_str().unwrap().to_owned();
    assert_eq!(c.order["licenses"][1]["seats"], 2);
    let database = app.state.config.database.clone();
    let (a, b) = (start_process(&database).await, start_process(&database).await);

    let client = reqwest::Client::new();
    let attempts = (0..24).map(|i| {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let request = client
            .post(format!("{base}/api/v1/client/activate"))
            .json(&json!({ "license_key": key, "hardware_id": format!("machine-{i}") }))
            .send();
        async move { request.await.unwrap().status().as_u16() }
    });
    let statuses = join_all(attempts).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let full = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((ok, full), (2, 22), "{statuses:?}");

    let license = app.get(&format!("/licenses/{}", c.computer_license_id), &app.admin_token).await;
    assert_eq!(license.assert_status(200)["seats_used"], 2);
    let devices = app.get(&format!("/licenses/{}/devices", c.computer_license_id), &app.admin_token).await;
    assert_eq!(devices.body["total"], 2);
}
