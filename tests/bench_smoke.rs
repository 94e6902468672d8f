//! `bench/run --smoke` runs every step of the benchmark with tiny loads (debug
//! binaries, 0.3 s per measurement, 1,000 devices), on SQLite and, when
//! `TEST_POSTGRES_URL` is set, on PostgreSQL too: the harness must keep working
//! whatever the server becomes. Servers listen on port 0, so parallel tests
//! never clash.

use std::path::Path;
use std::process::Command;

#[test]
fn the_benchmark_runs_every_step_in_smoke_mode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = Path::new(env!("CARGO_BIN_EXE_license-server"));
    let bin_dir = server.parent().expect("the server's directory");
    // `cargo test` builds the examples, `cargo test --test bench_smoke` does not:
    // build them (a no-op when they are fresh) with the server's profile.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--example", "loadgen", "--example", "bench_floor", "--example", "bench_argon2"])
        .status()
        .expect("cargo runs");
    assert!(built.success(), "building the bench examples failed");

    let mut engines = "sqlite".to_owned();
    let mut run = Command::new(root.join("bench/run"));
    run.arg("--smoke")
        .env("BENCH_PROFILE", "debug")
        .env("BENCH_NO_BUILD", "1")
        .env("BENCH_BIN_DIR", bin_dir)
        .env("BENCH_SERVER_BIN", server)
        .env_remove("DATABASE_URL")
        .env_remove("BENCH_SECONDS")
        .env_remove("BENCH_DEVICES")
        .env_remove("BENCH_RESULTS");
    if let Some(url) = std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        engines.push_str(" postgres");
        run.env("BENCH_POSTGRES_URL", url);
    }
    let out = run.env("BENCH_ENGINES", &engines).output().expect("bench/run starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench/run --smoke failed ({}):\n{stdout}\n{stderr}", out.status);
    let mut lines = vec![
        "floor: parse + SQLite read + sign",
        "validate (token), SQLite",
        "validate (key + hw id), SQLite",
        "activate+deactivate, SQLite",
        "login, SQLite",
        "validate p99 during login flood, SQLite",
        "peak RSS (VmHWM), SQLite",
        "first start (fresh db), SQLite",
    ];
    if engines.contains("postgres") {
        lines.extend(["validate (token), PostgreSQL", "activate+deactivate, PostgreSQL", "login, PostgreSQL"]);
    }
    for line in lines {
        let found = stdout.lines().find(|l| l.starts_with(line));
        assert!(
            found.is_some_and(|l| l.contains('×') || l.contains(" ms") || l.contains(" MB")),
            "no `{line}` line:\n{stdout}"
        );
    }
    assert!(stdout.contains("× floor") && stdout.contains("× write floor"), "no ratios:\n{stdout}");
}
