//! Time rules of activations: how long a user's lease runs, how long the
//! software may trust an answer offline, how long an offline license file
//! lives, and how stale a device's `last_seen_at` may get.

use chrono::{NaiveDateTime, TimeDelta};

use crate::models::licenses::License;
use crate::models::seats::UserActivation;

/// How stale `last_seen_at` may get before a validation refreshes it; keeps
/// the hot path read-only almost always.
pub const TOUCH_AFTER_SECONDS: i64 = 300;

/// The windows the operator configures.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// How long a VALID may be trusted offline.
    pub trust_seconds: i64,
    /// How long an offline license file lives.
    pub offline_file_seconds: i64,
}

/// Whether a user's activation holds its lease at `now`: open, and its lease
/// runs past `now`. `repositories::activations::live` is its SQL form.
pub fn is_live(activation: &UserActivation, now: NaiveDateTime) -> bool {
    activation.ended_at.is_none() && activation.lease_expires_at > now
}

/// A user's lease from `now`: `lease_seconds` of the license, never accumulated.
pub fn lease_end(license: &License, now: NaiveDateTime) -> NaiveDateTime {
    now + TimeDelta::seconds(i64::from(license.lease_seconds))
}

/// `until`, but never past the license's expiry.
fn within_license(license: &License, until: NaiveDateTime) -> NaiveDateTime {
    license.expires_at.map_or(until, |e| e.min(until))
}

/// How long a VALID may be trusted offline: the earlier of the license's
/// expiry and now + the trust window.
pub fn trust_until(windows: Windows, license: &License, now: NaiveDateTime) -> NaiveDateTime {
    within_license(license, now + TimeDelta::seconds(windows.trust_seconds))
}

/// The end of an offline license file issued `now`: its lifetime, at most the license's.
pub fn file_valid_until(windows: Windows, license: &License, now: NaiveDateTime) -> NaiveDateTime {
    within_license(license, now + TimeDelta::seconds(windows.offline_file_seconds))
}

/// Whether a validation at `now` should refresh a `last_seen_at`.
pub fn needs_touch(last_seen_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_seen_at.is_none_or(|t| now - t > TimeDelta::seconds(TOUCH_AFTER_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn license(expires_at: Option<NaiveDateTime>) -> License {
        License {
            lease_seconds: 600,
            expires_at,
            ..crate::licensing::test_license(crate::models::licenses::LicenseKind::UserBased)
        }
    }

    #[test]
    fn windows_end_with_the_license() {
        let now = NaiveDateTime::default() + TimeDelta::days(1);
        let windows = Windows { trust_seconds: 3600, offline_file_seconds: 86_400 };
        assert_eq!(trust_until(windows, &license(None), now), now + TimeDelta::hours(1));
        let soon = now + TimeDelta::minutes(5);
        assert_eq!(trust_until(windows, &license(Some(soon)), now), soon);
        assert_eq!(file_valid_until(windows, &license(None), now), now + TimeDelta::days(1));
        assert_eq!(file_valid_until(windows, &license(Some(soon)), now), soon);
        assert_eq!(lease_end(&license(None), now), now + TimeDelta::minutes(10));
    }

    #[test]
    fn last_seen_is_refreshed_only_when_stale() {
        let now = NaiveDateTime::default() + TimeDelta::days(1);
        assert!(needs_touch(None, now));
        assert!(!needs_touch(Some(now - TimeDelta::seconds(TOUCH_AFTER_SECONDS)), now));
        assert!(needs_touch(Some(now - TimeDelta::seconds(TOUCH_AFTER_SECONDS + 1)), now));
    }
}
