//! The validation verdict: is this activation (or this computer on this key)
//! good now? Read-only: the rare `last_seen_at` refresh it asks for
//! ([`Verdict::touch`]) is a separate write, [`touch`]; every well-formed
//! question gets a code, never an error.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::About;
use super::leases::{self, Windows};
use super::status::Status;
use super::tokens::{self, Token};
use crate::db::{AnyConnection, DbError};
use crate::models::licenses::License;
use crate::models::seats::{Device, DeviceStatus};
use crate::repositories::{activations, devices, licenses};

/// The codes of `/client/validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidationCode {
    Valid,
    NotFound,
    NotActivated,
    Suspended,
    Expired,
    LeaseExpired,
}

impl ValidationCode {
    /// The code of a license's status.
    pub fn of(license: &License, now: NaiveDateTime) -> Self {
        match Status::of(license, now) {
            Status::Active => Self::Valid,
            Status::Suspended => Self::Suspended,
            Status::Expired => Self::Expired,
        }
    }
}

/// What the software asks about.
pub enum Credential<'a> {
    /// An activation token, as sent.
    Token(&'a str),
    /// A computer-based license's key, normalized; `None` when what was sent can't be a key.
    Key(Option<&'a str>),
}

/// The outcome of a validation.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: ValidationCode,
    pub about: About,
    /// User-based: when the lease ends.
    pub lease_expires_at: Option<NaiveDateTime>,
    /// VALID only: how long the software may trust it offline.
    pub valid_until: Option<NaiveDateTime>,
    /// The device's `last_seen_at` is due for a refresh ([`touch`]).
    pub touch: bool,
}

impl Verdict {
    fn code(code: ValidationCode) -> Self {
        Self { code, about: About::default(), lease_expires_at: None, valid_until: None, touch: false }
    }

    fn judged(
        code: ValidationCode,
        license: &License,
        about: About,
        lease: Option<NaiveDateTime>,
        windows: Windows,
        now: NaiveDateTime,
    ) -> Self {
        let valid_until = (code == ValidationCode::Valid).then(|| {
            let until = leases::trust_until(windows, license, now);
            lease.map_or(until, |lease| until.min(lease))
        });
        Self { code, about, lease_expires_at: lease, valid_until, touch: false }
    }
}

fn judge_device(windows: Windows, device: Device, license: License, hardware_id: &str, now: NaiveDateTime) -> Verdict {
    let code = if device.hardware_id != hardware_id || device.status != DeviceStatus::Active {
        ValidationCode::NotActivated
    } else {
        ValidationCode::of(&license, now)
    };
    let mut verdict = Verdict::judged(code, &license, About::default(), None, windows, now);
    verdict.touch = code == ValidationCode::Valid && leases::needs_touch(device.last_seen_at, now);
    // The ids move into the answer: the hot path copies no string it owns.
    verdict.about = About { license_id: Some(license.id), device_id: Some(device.id), user_id: None };
    verdict
}

/// Records that the device validated at `now` (what [`Verdict::touch`] asks for).
pub fn touch(conn: &mut AnyConnection, device_id: &str, now: NaiveDateTime) -> Result<(), DbError> {
    Ok(devices::set_last_seen(conn, device_id, now)?)
}

/// The verdict on `credential` for the computer `hardware_id` at `now`: one
/// indexed lookup joined to its license, and no write.
pub fn validate(
    conn: &mut AnyConnection,
    windows: Windows,
    credential: Credential<'_>,
    hardware_id: &str,
    now: NaiveDateTime,
) -> Result<Verdict, DbError> {
    match credential {
        Credential::Token(token) => match tokens::parse(token) {
            None => Ok(Verdict::code(ValidationCode::NotFound)),
            Some(Token::Device(hash)) => match devices::by_token(conn, &hash)? {
                None => Ok(Verdict::code(ValidationCode::NotFound)),
                Some((device, license)) => Ok(judge_device(windows, device, license, hardware_id, now)),
            },
            Some(Token::User(hash)) => match activations::by_token(conn, &hash)? {
                None => Ok(Verdict::code(ValidationCode::NotFound)),
                Some((activation, license)) => {
                    let code = if activation.hardware_id != hardware_id || activation.ended_at.is_some() {
                        ValidationCode::NotActivated
                    } else {
                        match ValidationCode::of(&license, now) {
                            ValidationCode::Valid if !leases::is_live(&activation, now) => ValidationCode::LeaseExpired,
                            other => other,
                        }
                    };
                    let lease = Some(activation.lease_expires_at);
                    let mut verdict = Verdict::judged(code, &license, About::default(), lease, windows, now);
                    verdict.about = About {
                        license_id: Some(license.id),
                        device_id: None,
                        user_id: Some(activation.license_user_id),
                    };
                    Ok(verdict)
                }
            },
        },
        Credential::Key(None) => Ok(Verdict::code(ValidationCode::NotFound)),
        Credential::Key(Some(key)) => match devices::by_key(conn, key, hardware_id)? {
            Some((device, license)) => Ok(judge_device(windows, device, license, hardware_id, now)),
            None => match licenses::by_key(conn, key)? {
                None => Ok(Verdict::code(ValidationCode::NotFound)),
                Some(license) => Ok(Verdict {
                    about: About { license_id: Some(license.id), ..About::default() },
                    ..Verdict::code(ValidationCode::NotActivated)
                }),
            },
        },
    }
}
