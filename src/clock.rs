//! The server's notion of "now". Production reads the system clock; tests move
//! it forward to expire tokens and leases without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Now in UTC, to the microsecond (what both engines store exactly).
    pub fn now(&self) -> NaiveDateTime {
        self.now_utc().naive_utc()
    }

    pub fn now_utc(&self) -> DateTime<Utc> {
        let offset = self.offset_seconds.load(Ordering::Relaxed);
        (Utc::now() + TimeDelta::seconds(offset)).trunc_subsecs(6)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// A stored time (UTC without zone) as the UTC time it is.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
