//! Rate limits, kept in memory per instance.
//!
//! - Every request under `/api/` from one client IP draws from a token bucket
//!   (`LICENSE_SERVER_RATE_LIMIT_PER_IP` per second, burst 4×; 0 = off).
//! - Failed credential attempts (sign-in, refresh, the client API) meet a
//!   growing back-off per client IP and per identity (e-mail or license key):
//!   the first few are free, then each waits twice as long as the one before,
//!   up to five minutes. There is never a hard lock-out, which would let anyone
//!   lock a user out; a success clears the identity's count.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;

use crate::error::{ApiError, ErrorCode};

const SHARDS: usize = 16;
/// Failures allowed before the back-off starts.
const FREE_FAILURES: u32 = 5;
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A failure record is forgotten after this long without failures.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Entries per shard before idle ones are swept.
const SWEEP_AT: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Whose failures are counted: a client address or an identity (e-mail, key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Ip(IpAddr),
    Identity(String),
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
    failures: Vec<Mutex<HashMap<Subject, Failures>>>,
}

fn subjects(ip: Option<IpAddr>, identity: Option<&str>) -> impl Iterator<Item = Subject> {
    ip.map(Subject::Ip).into_iter().chain(identity.map(|i| Subject::Identity(i.to_owned())))
}

fn shard_of<K: Hash>(key: &K) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

/// 429 `RATE_LIMITED` with `Retry-After` in whole seconds.
pub fn too_many(wait: Duration) -> ApiError {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(ErrorCode::RateLimited, format!("Too many requests; retry in {seconds} s."))
        .with_header(header::RETRY_AFTER, seconds.to_string())
}

impl RateLimiter {
    /// `per_second` = 0 turns the per-IP cap off (the failure back-off stays).
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 4.0,
            buckets: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            failures: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Takes one request from `ip`'s bucket, or says how long to wait.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut shard = self.buckets[shard_of(&ip)].lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= SWEEP_AT {
            let full = self.burst;
            let rate = self.per_second;
            shard.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < full);
        }
        let bucket = shard.entry(ip).or_insert(Bucket { tokens: self.burst, at: now });
        let refilled = bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = refilled.min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }

    fn wait_for(&self, key: &Subject, now: Instant) -> Option<Duration> {
        let shard = self.failures[shard_of(key)].lock().unwrap_or_else(|p| p.into_inner());
        let f = shard.get(key)?;
        if f.count < FREE_FAILURES || now.duration_since(f.last) > FORGET_AFTER {
            return None;
        }
        let exponent = (f.count - FREE_FAILURES).min(16);
        let backoff = Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF);
        let ready = f.last + backoff;
        (ready > now).then(|| ready - now)
    }

    /// Refuses a credential attempt while `ip` or `identity` is backing off.
    pub fn check_credentials(&self, ip: Option<IpAddr>, identity: Option<&str>, now: Instant) -> Result<(), ApiError> {
        let wait = subjects(ip, identity).filter_map(|k| self.wait_for(&k, now)).max();
        match wait {
            Some(wait) => Err(too_many(wait)),
            None => Ok(()),
        }
    }

    /// Counts a failed credential attempt for `ip` and `identity`.
    pub fn record_failure(&self, ip: Option<IpAddr>, identity: Option<&str>, now: Instant) {
        for key in subjects(ip, identity) {
            let mut shard = self.failures[shard_of(&key)].lock().unwrap_or_else(|p| p.into_inner());
            if shard.len() >= SWEEP_AT {
                shard.retain(|_, f| now.duration_since(f.last) <= FORGET_AFTER);
            }
            let f = shard.entry(key).or_insert(Failures { count: 0, last: now });
            if now.duration_since(f.last) > FORGET_AFTER {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// A success clears the identity's failures (the IP's stay: one IP may
    /// be guessing many identities).
    pub fn record_success(&self, identity: &str) {
        let key = Subject::Identity(identity.to_owned());
        self.failures[shard_of(&key)].lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> IpAddr {
        "192.0.2.7".parse().unwrap()
    }

    #[test]
    fn the_bucket_allows_its_burst_then_the_rate() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..40 {
            assert!(limiter.admit(ip(), t0).is_ok());
        }
        let wait = limiter.admit(ip(), t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100));
        assert!(limiter.admit(ip(), t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.admit("192.0.2.8".parse().unwrap(), t0).is_ok(), "other IPs have their own bucket");
    }

    #[test]
    fn zero_turns_the_cap_off() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.admit(ip(), t0).is_ok()));
    }

    #[test]
    fn failures_back_off_growing_and_a_success_clears_the_identity() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(limiter.check_credentials(None, Some("a@x"), t0).is_ok());
            limiter.record_failure(None, Some("a@x"), t0);
        }
        let err = limiter.check_credentials(None, Some("a@x"), t0).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        assert!(limiter.check_credentials(None, Some("a@x"), t0 + Duration::from_secs(2)).is_ok());
        limiter.record_failure(None, Some("a@x"), t0 + Duration::from_secs(2));
        assert!(limiter.check_credentials(None, Some("a@x"), t0 + Duration::from_secs(3)).is_err(), "now 2 s");
        assert!(limiter.check_credentials(None, Some("b@x"), t0).is_ok(), "other identities are not affected");
        limiter.record_success("a@x");
        assert!(limiter.check_credentials(None, Some("a@x"), t0 + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn the_back_off_never_exceeds_five_minutes() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.record_failure(Some(ip()), None, t0);
        }
        assert!(limiter.check_credentials(Some(ip()), None, t0 + MAX_BACKOFF + Duration::from_secs(1)).is_ok());
    }
}
