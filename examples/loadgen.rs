//! A small closed-loop HTTP load generator for the benchmarks in `bench/`.
//!
//! `cargo run --release --example loadgen -- URL [BODY_JSON] [--connections N] [--seconds S]`
//! keeps N requests in flight (keep-alive connections) for S seconds and prints
//! the rate, the latency percentiles and how many answers were not 200.

use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().expect("usage: loadgen URL [BODY_JSON] [--connections N] [--seconds S]").clone();
    let body = args.get(1).filter(|a| !a.starts_with("--")).cloned();
    let connections = arg(&args, "--connections", 32) as usize;
    let seconds = arg(&args, "--seconds", 10);
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let request = match &body {
                        Some(b) => client.post(&url).header("content-type", "application/json").body(b.clone()),
                        None => client.get(&url),
                    };
                    match request.send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            latencies.push(t.elapsed());
                        }
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.unwrap();
        all.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    println!(
        "{:.0} req/s ({} ok, {} not 200) over {:.1} s with {} connections; latency p50 {:.2} ms, p99 {:.2} ms",
        all.len() as f64 / elapsed,
        all.len(),
        failures,
        elapsed,
        connections,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}
