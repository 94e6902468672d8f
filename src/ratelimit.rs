//! Rate limits, kept in memory per instance.
//!
//! - Every request under `/api/` from one client address draws from a token
//!   bucket (`LICENSE_SERVER_RATE_LIMIT_PER_IP` per second, burst 4×; 0 = off).
//! - Failed credential attempts (sign-in, refresh, the client API) meet a
//!   growing back-off per client address and per (address, identity) pair,
//!   the identity being the e-mail or license key tried. The first few are
//!   free, then each waits twice as long as the one before, up to five
//!   minutes. Failures are never counted per identity alone: that would let
//!   anyone lock a user out from elsewhere. So a correct password or key from
//!   an address that has not failed always gets through, and a valid token is
//!   never refused (callers check a token first and ask [`RateLimiter::address_wait`]
//!   only for one that did not match).
//!
//! Addresses are counted as [`AddrKey`]s: an IPv4 address, or the /64 prefix
//! of an IPv6 address (one subscriber's network gets a whole /64, so counting
//! /128s would give an attacker 2^64 fresh addresses).

use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;

use crate::error::{ApiError, ErrorCode};

const SHARDS: usize = 16;
/// Failures of one (address, identity) pair allowed before its back-off starts.
const PAIR_FREE_FAILURES: u32 = 5;
/// Failures of one address, over all identities, before its back-off starts:
/// more than a pair's, since an office behind one address has many people
/// who mistype.
const ADDRESS_FREE_FAILURES: u32 = 20;
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A failure record is forgotten after this long without failures.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Entries per shard before idle ones are swept.
const SWEEP_AT: usize = 10_000;

/// The unit a client address is counted in: IPv4 address, or IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrKey {
    V4(u32),
    V6Prefix(u64),
}

impl AddrKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// What is left of an address's request budget, answered as the
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The burst: requests an idle address may send at once.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
}

impl Budget {
    /// Sets the three headers on `headers`.
    pub fn apply(&self, headers: &mut actix_web::http::header::HeaderMap) {
        use actix_web::http::header::{HeaderName, HeaderValue};
        headers.insert(HeaderName::from_static("ratelimit-limit"), HeaderValue::from(self.limit));
        headers.insert(HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(self.remaining));
        headers.insert(HeaderName::from_static("ratelimit-reset"), HeaderValue::from(self.reset_seconds));
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Whose failures are counted: a client address, or an identity tried from one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Address(AddrKey),
    /// The identity as a keyed hash: no allocation per attempt, and no
    /// e-mail or key kept in memory.
    Pair(AddrKey, u64),
}

impl Subject {
    fn free_failures(&self) -> u32 {
        match self {
            Self::Address(_) => ADDRESS_FREE_FAILURES,
            Self::Pair(..) => PAIR_FREE_FAILURES,
        }
    }
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Vec<Mutex<HashMap<AddrKey, Bucket>>>,
    failures: Vec<Mutex<HashMap<Subject, Failures>>>,
    identity_hasher: RandomState,
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
    /// `per_second` = 0 turns the per-address cap off (the failure back-off stays).
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 4.0,
            buckets: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            failures: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            identity_hasher: RandomState::new(),
        }
    }

    fn subjects(&self, ip: Option<IpAddr>, identity: Option<&str>) -> impl Iterator<Item = Subject> {
        let addr = ip.map(AddrKey::of);
        let pair = addr.zip(identity).map(|(a, i)| Subject::Pair(a, self.identity_hasher.hash_one(i)));
        addr.map(Subject::Address).into_iter().chain(pair)
    }

    /// Takes one request from `ip`'s bucket and answers what is left of it,
    /// or says how long to wait. `Ok(None)` when the cap is off.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<Option<Budget>, Duration> {
        if self.per_second <= 0.0 {
            return Ok(None);
        }
        let key = AddrKey::of(ip);
        let mut shard = self.buckets[shard_of(&key)].lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= SWEEP_AT {
            let full = self.burst;
            let rate = self.per_second;
            shard.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < full);
        }
        let bucket = shard.entry(key).or_insert(Bucket { tokens: self.burst, at: now });
        let refilled = bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = refilled.min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            let refill = (self.burst - bucket.tokens) / self.per_second;
            Ok(Some(Budget {
                limit: self.burst as u32,
                remaining: bucket.tokens.floor() as u32,
                reset_seconds: refill.ceil() as u64,
            }))
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }

    /// The budget of an address that was just refused for `wait`.
    pub fn exhausted(&self, wait: Duration) -> Budget {
        Budget { limit: self.burst as u32, remaining: 0, reset_seconds: wait.as_secs_f64().ceil().max(1.0) as u64 }
    }

    fn wait_for(&self, key: &Subject, now: Instant) -> Option<Duration> {
        let shard = self.failures[shard_of(key)].lock().unwrap_or_else(|p| p.into_inner());
        let f = shard.get(key)?;
        let free = key.free_failures();
        if f.count < free || now.duration_since(f.last) > FORGET_AFTER {
            return None;
        }
        let exponent = (f.count - free).min(16);
        let backoff = Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF);
        let ready = f.last + backoff;
        (ready > now).then(|| ready - now)
    }

    /// Before a guessable credential (a password, a license key) for
    /// `identity` is checked: refused while `ip` or the (`ip`, `identity`)
    /// pair is backing off.
    pub fn check_credentials(&self, ip: Option<IpAddr>, identity: &str, now: Instant) -> Result<(), ApiError> {
        match self.subjects(ip, Some(identity)).filter_map(|k| self.wait_for(&k, now)).max() {
            Some(wait) => Err(too_many(wait)),
            None => Ok(()),
        }
    }

    /// For a token that matched nothing: how long `ip` is backing off, if it
    /// is. (A token that matches is never refused, so callers look it up first.)
    pub fn address_wait(&self, ip: Option<IpAddr>, now: Instant) -> Option<Duration> {
        self.subjects(ip, None).find_map(|k| self.wait_for(&k, now))
    }

    /// A token (activation or refresh) that matched nothing: refused with 429
    /// while `ip` is backing off, else counted as `ip`'s failure so the caller
    /// answers its usual refusal.
    pub fn token_failed(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), ApiError> {
        if let Some(wait) = self.address_wait(ip, now) {
            return Err(too_many(wait));
        }
        self.record_failure(ip, None, now);
        Ok(())
    }

    /// Counts a failed attempt for `ip` and, when given, the (`ip`, `identity`) pair.
    pub fn record_failure(&self, ip: Option<IpAddr>, identity: Option<&str>, now: Instant) {
        for key in self.subjects(ip, identity) {
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

    /// A success clears the pair's failures (the address's stay: one address
    /// may be guessing many identities).
    pub fn record_success(&self, ip: Option<IpAddr>, identity: &str) {
        if let Some(addr) = ip.map(AddrKey::of) {
            let key = Subject::Pair(addr, self.identity_hasher.hash_one(identity));
            self.failures[shard_of(&key)].lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    const A: &str = "192.0.2.7";

    #[test]
    fn the_bucket_allows_its_burst_then_the_rate() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        let a = ip(A).unwrap();
        let first = limiter.admit(a, t0).unwrap().unwrap();
        assert_eq!(first, Budget { limit: 40, remaining: 39, reset_seconds: 1 });
        for _ in 1..40 {
            assert!(limiter.admit(a, t0).is_ok());
        }
        let wait = limiter.admit(a, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100));
        assert!(limiter.admit(a, t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.admit("192.0.2.8".parse().unwrap(), t0).is_ok(), "other addresses have their own bucket");
    }

    #[test]
    fn zero_turns_the_cap_off() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        let a = ip(A).unwrap();
        assert!((0..10_000).all(|_| limiter.admit(a, t0) == Ok(None)));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let one = AddrKey::of("2001:db8:1:2::1".parse().unwrap());
        assert_eq!(one, AddrKey::of("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap()));
        assert_ne!(one, AddrKey::of("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(AddrKey::of("::ffff:192.0.2.7".parse().unwrap()), AddrKey::of(ip(A).unwrap()));

        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(limiter.admit(format!("2001:db8:1:2::{i}").parse().unwrap(), t0).is_ok());
        }
        assert!(limiter.admit("2001:db8:1:2::99".parse().unwrap(), t0).is_err(), "one bucket for the /64");
    }

    #[test]
    fn a_pair_backs_off_growing_and_a_success_clears_it() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..PAIR_FREE_FAILURES {
            assert!(limiter.check_credentials(ip(A), "a@x", t0).is_ok());
            limiter.record_failure(ip(A), Some("a@x"), t0);
        }
        let err = limiter.check_credentials(ip(A), "a@x", t0).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        assert!(limiter.check_credentials(ip(A), "a@x", t0 + Duration::from_secs(2)).is_ok());
        limiter.record_failure(ip(A), Some("a@x"), t0 + Duration::from_secs(2));
        assert!(limiter.check_credentials(ip(A), "a@x", t0 + Duration::from_secs(3)).is_err(), "now 2 s");
        assert!(limiter.check_credentials(ip(A), "b@x", t0).is_ok(), "other identities from A are not affected");
        limiter.record_success(ip(A), "a@x");
        assert!(limiter.check_credentials(ip(A), "a@x", t0 + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn failures_from_other_addresses_never_refuse_an_address_that_has_not_failed() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for i in 0..200 {
            limiter.record_failure(ip(&format!("198.51.100.{i}")), Some("victim@x"), t0);
            limiter.record_failure(ip("203.0.113.1"), Some("victim@x"), t0);
        }
        assert!(limiter.check_credentials(ip(A), "victim@x", t0).is_ok());
        assert!(limiter.address_wait(ip(A), t0).is_none());
        assert!(limiter.check_credentials(ip("203.0.113.1"), "victim@x", t0).is_err());
    }

    #[test]
    fn an_address_guessing_many_identities_backs_off() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for i in 0..ADDRESS_FREE_FAILURES {
            assert!(limiter.check_credentials(ip(A), &format!("u{i}@x"), t0).is_ok());
            limiter.record_failure(ip(A), Some(&format!("u{i}@x")), t0);
        }
        assert!(limiter.check_credentials(ip(A), "fresh@x", t0).is_err());
        assert!(limiter.address_wait(ip(A), t0).is_some());
        assert!(limiter.address_wait(ip("2001:db8::1"), t0).is_none());
    }

    #[test]
    fn the_back_off_never_exceeds_five_minutes() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.record_failure(ip(A), None, t0);
        }
        assert!(limiter.address_wait(ip(A), t0 + MAX_BACKOFF + Duration::from_secs(1)).is_none());
    }
}
