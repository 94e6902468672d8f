//! The HTTP load generator of the benchmarks in `bench/`.
//!
//! ```text
//! loadgen URL [BODY_JSON] [--connections N] [--seconds S] [--rate R]
//!         [--then URL2 BODY2] [--json] [--label TEXT]
//! ```
//!
//! - Closed loop (default): N keep-alive connections, each sending its next
//!   request as soon as the answer is in, for S seconds (fractions allowed).
//! - Open loop (`--rate R`): R requests per second spread evenly over the N
//!   connections; a request's latency counts from the time it was *scheduled*
//!   to go out, so a stalled server is charged for the requests it delayed
//!   (no coordinated omission).
//! - A body is POSTed as JSON (no body: GET). `{n}` in a body becomes a
//!   counter unique to the request (0, 1, 2, … over all connections).
//! - `--then URL2 BODY2`: a cycle of two requests: after a 2xx answer to the
//!   first, BODY2 is POSTed to URL2, where `{n}` is the same counter and
//!   `{field}` is the top-level string `field` of the first answer (e.g.
//!   `{activation_token}`). One cycle is one "request" in the numbers.
//!
//! Any answer that is not 2xx (or a connection error) is a failure; failures
//! are counted by status and reported, never timed. The last line is the
//! human summary, or with `--json` one JSON object:
//! `{"rps","ok","failed","p50_ms","p99_ms","p999_ms","max_ms","seconds","connections","rate","failures"}`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: loadgen URL [BODY_JSON] [--connections N] [--seconds S] [--rate R] \
                     [--then URL2 BODY2] [--json] [--label TEXT]";

struct Options {
    url: String,
    body: Option<String>,
    then: Option<(String, String)>,
    connections: usize,
    seconds: f64,
    rate: Option<f64>,
    json: bool,
    label: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut o = Options {
        url: String::new(),
        body: None,
        then: None,
        connections: 32,
        seconds: 10.0,
        rate: None,
        json: false,
        label: None,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--connections" => o.connections = value(&a)?.parse().map_err(|_| "--connections: a number")?,
            "--seconds" => o.seconds = value(&a)?.parse().map_err(|_| "--seconds: a number")?,
            "--rate" => o.rate = Some(value(&a)?.parse().map_err(|_| "--rate: a number")?),
            "--label" => o.label = Some(value(&a)?),
            "--then" => {
                let url = value(&a)?;
                let body = args.next().ok_or("--then needs URL2 and BODY2")?;
                o.then = Some((url, body));
            }
            "--json" => o.json = true,
            "--help" | "-h" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}\n{USAGE}")),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    o.url = positional.next().ok_or(USAGE)?;
    o.body = positional.next();
    if positional.next().is_some() {
        return Err(format!("too many arguments\n{USAGE}"));
    }
    if o.connections == 0 || o.seconds.is_nan() || o.seconds <= 0.0 || o.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--connections, --seconds and --rate must be positive".into());
    }
    Ok(o)
}

/// `template` with `{n}` replaced by `n` and `{field}` by `fields[field]`.
fn fill(template: &str, n: u64, fields: Option<&serde_json::Value>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            if name == "n" {
                out.push_str(&n.to_string());
            } else {
                let value = fields.and_then(|f| f.get(name)).and_then(|v| v.as_str());
                out.push_str(value.ok_or_else(|| format!("the first answer has no string field `{name}`"))?);
            }
            rest = &after[name_len + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

enum Outcome {
    Ok,
    Failed(String),
}

async fn send(client: &reqwest::Client, url: &str, body: Option<String>) -> Result<impl AsRef<[u8]>, String> {
    let request = match body {
        Some(b) => client.post(url).header("content-type", "application/json").body(b),
        None => client.get(url),
    };
    let response = request.send().await.map_err(|e| String::from(if e.is_timeout() { "timeout" } else { "error" }))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|_| "error (body)".to_string())?;
    if status.is_success() { Ok(bytes) } else { Err(status.as_u16().to_string()) }
}

async fn one(client: &reqwest::Client, o: &Options, n: u64) -> Outcome {
    let body = o.body.as_ref().map(|b| fill(b, n, None).expect("only {n} can be filled in the first body"));
    let first = match send(client, &o.url, body).await {
        Ok(bytes) => bytes,
        Err(why) => return Outcome::Failed(why),
    };
    let Some((url2, body2)) = &o.then else { return Outcome::Ok };
    let fields = serde_json::from_slice::<serde_json::Value>(first.as_ref()).ok();
    let body2 = match fill(body2, n, fields.as_ref()) {
        Ok(b) => b,
        Err(why) => return Outcome::Failed(why),
    };
    match send(client, url2, Some(body2)).await {
        Ok(_) => Outcome::Ok,
        Err(why) => Outcome::Failed(format!("{why} (second request)")),
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: BTreeMap<String, u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.seconds);
    // Open loop: connection c sends at started + (c + k·N) / R.
    let interval = o.rate.map(|r| Duration::from_secs_f64(o.connections as f64 / r));
    let tasks: Vec<_> = (0..o.connections)
        .map(|c| {
            let (client, o, counter) = (client.clone(), o.clone(), counter.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut next = interval.map(|i| started + i.mul_f64(c as f64 / o.connections as f64));
                loop {
                    let scheduled = match (next, interval) {
                        (Some(at), Some(i)) => {
                            if at >= deadline {
                                break;
                            }
                            tokio::time::sleep_until(at.into()).await;
                            next = Some(at + i);
                            at
                        }
                        _ => {
                            let now = Instant::now();
                            if now >= deadline {
                                break;
                            }
                            now
                        }
                    };
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    match one(&client, &o, n).await {
                        Outcome::Ok => tally.latencies.push(scheduled.elapsed()),
                        Outcome::Failed(why) => *tally.failures.entry(why).or_default() += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.expect("a load task");
        all.latencies.extend(tally.latencies);
        for (why, count) in tally.failures {
            *all.failures.entry(why).or_default() += count;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies.sort();
    let ms = |p: f64| {
        let l = &all.latencies;
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len().max(1)) - 1;
        l.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let ok = all.latencies.len() as u64;
    let failed: u64 = all.failures.values().sum();
    let rps = ok as f64 / elapsed;
    if failed > 0 {
        let list: Vec<String> = all.failures.iter().map(|(why, n)| format!("{n}× {why}")).collect();
        eprintln!(
            "loadgen: FAILURES{}: {failed} of {} answers were not 2xx: {}",
            o.label.as_deref().map(|l| format!(" ({l})")).unwrap_or_default(),
            ok + failed,
            list.join(", ")
        );
    }
    if o.json {
        let finite = |x: f64| if x.is_finite() { serde_json::json!(x) } else { serde_json::Value::Null };
        let line = serde_json::json!({
            "label": o.label,
            "rps": rps,
            "ok": ok,
            "failed": failed,
            "p50_ms": finite(ms(0.50)),
            "p99_ms": finite(ms(0.99)),
            "p999_ms": finite(ms(0.999)),
            "max_ms": finite(ms(1.0)),
            "seconds": elapsed,
            "connections": o.connections,
            "rate": o.rate,
            "failures": all.failures,
        });
        println!("{line}");
    } else {
        println!(
            "{rps:.0} req/s ({ok} ok, {failed} failed) over {elapsed:.1} s with {} connections{}; \
             latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
            o.connections,
            o.rate.map(|r| format!(" at {r:.0}/s scheduled")).unwrap_or_default(),
            ms(0.50),
            ms(0.99),
            ms(0.999),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled() {
        let fields = serde_json::json!({"activation_token": "lat_dx"});
        assert_eq!(super::fill(r#"{"h":"hw-{n}"}"#, 7, None).unwrap(), r#"{"h":"hw-7"}"#);
        assert_eq!(
            super::fill(r#"{"t":"{activation_token}","h":"{n}"}"#, 3, Some(&fields)).unwrap(),
            r#"{"t":"lat_dx","h":"3"}"#
        );
        assert!(super::fill("{missing}", 0, Some(&fields)).is_err());
    }
}
