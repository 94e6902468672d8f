//! How long one argon2id verify takes here, with the crate's defaults (the
//! server's `argon2::Argon2::default()`), for `bench/run`'s login ideal:
//! `cores / verify time` logins per second.
//!
//! `bench_argon2 [--rounds N]` prints one JSON object:
//! `{"verify_ms": median of N verifies, "cores": available parallelism}`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
        .max(1);
    let password = "bench-password-123";
    let hash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), b"bench-salt-16byt")
        .expect("a hash")
        .to_string();
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            Argon2::default().verify_password(password.as_bytes(), hash.as_str()).expect("the right password");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{}", serde_json::json!({ "verify_ms": times[times.len() / 2], "cores": cores, "rounds": rounds }));
}
