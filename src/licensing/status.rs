//! A license's status, computed, never stored: suspended wins over expired,
//! expired wins over active. `repositories::licenses::filter_status!` is its
//! SQL form for lists and the dashboard; `tests/api/rules_in_sql.rs` holds the two equal.

use chrono::NaiveDateTime;

use super::error::{About, Error, Result};
use crate::models::licenses::License;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LicenseStatus)]
pub enum Status {
    Active,
    Suspended,
    Expired,
}

impl Status {
    /// The status of a license that is `suspended` and ends at `expires_at`, at `now`.
    pub fn at(suspended: bool, expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Self {
        if suspended {
            Self::Suspended
        } else if expires_at.is_some_and(|e| e <= now) {
            Self::Expired
        } else {
            Self::Active
        }
    }

    pub fn of(license: &License, now: NaiveDateTime) -> Self {
        Self::at(license.suspended, license.expires_at, now)
    }
}

/// Only an active license activates, and keeps beating: a suspended or
/// expired one is refused with the status, about `about`.
pub fn gate(license: &License, now: NaiveDateTime, about: About) -> Result<()> {
    match Status::of(license, now) {
        Status::Active => Ok(()),
        Status::Suspended => Err(Error::Suspended(about)),
        Status::Expired => Err(Error::Expired(about)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn suspended_wins_over_expired_and_expiry_is_inclusive() {
        let now = at("2026-12-01 12:00:00");
        assert_eq!(Status::at(false, None, now), Status::Active);
        assert_eq!(Status::at(false, Some(at("2026-12-01 12:00:01")), now), Status::Active);
        assert_eq!(Status::at(false, Some(now), now), Status::Expired);
        assert_eq!(Status::at(true, Some(at("2020-01-01 00:00:00")), now), Status::Suspended);
        assert_eq!(Status::at(true, None, now), Status::Suspended);
    }
}
