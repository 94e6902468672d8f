//! Why a licensing use case refused, in the domain's words. No HTTP here:
//! `error.rs` maps each case to its problem answer in one place.

use std::fmt;

use chrono::NaiveDateTime;

use crate::db::{DbError, Failure, StorageError};

/// Which activation, device or user a refusal is about: the client API names
/// them in its signed problems, so one can't be replayed for another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct About {
    pub license_id: Option<String>,
    pub device_id: Option<String>,
    pub user_id: Option<String>,
}

impl About {
    pub fn license(id: &str) -> Self {
        Self { license_id: Some(id.to_owned()), ..Self::default() }
    }

    pub fn device(license_id: &str, device_id: Option<&str>) -> Self {
        Self { device_id: device_id.map(str::to_owned), ..Self::license(license_id) }
    }

    pub fn user(license_id: &str, user_id: &str) -> Self {
        Self { user_id: Some(user_id.to_owned()), ..Self::license(license_id) }
    }
}

/// Someone who can free a seat: an enabled manager of the license's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub email: String,
}

/// Every seat of a license is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatsExhausted {
    pub license_id: String,
    pub seats: i32,
    pub used: i64,
    /// Who can free one.
    pub managers: Vec<Contact>,
}

/// What a use case was asked to do with the wrong kind of license.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindMismatch {
    /// Offline activation of a user-based license.
    OfflineNeedsComputerBased,
    /// Users of a computer-based license.
    UsersNeedUserBased,
    /// Devices of a user-based license.
    DevicesNeedComputerBased,
}

#[derive(Debug)]
pub enum Error {
    /// The object does not exist, or the caller may not see it.
    NotFound,
    /// A wrong license key, e-mail, password or activation token.
    InvalidCredentials,
    /// The request is well-formed but names the wrong thing in `field`.
    Invalid {
        field: String,
        message: String,
    },
    /// An id in the request (`field`) names no `what`.
    NoSuch {
        field: String,
        what: &'static str,
    },
    WrongLicenseKind(KindMismatch),
    Suspended(About),
    Expired(About),
    SeatsExhausted(Box<SeatsExhausted>),
    /// Fewer seats than are in use.
    SeatsInUse {
        used: i64,
        wanted: i32,
    },
    /// The user is active on another computer until `lease_expires_at`.
    UserAlreadyActive {
        about: About,
        lease_expires_at: NaiveDateTime,
    },
    /// An e-mail and password that open several licenses, and no key.
    LicenseAmbiguous,
    OfflineNotAllowed(About),
    /// An online device can't leave through an unsigned request file.
    NotOfflineDevice(About),
    /// The activation has ended (or names another computer).
    NotActivated(About),
    /// The user's lease ran out.
    LeaseExpired(About),
    /// The e-mail is already a user of this license.
    EmailTaken,
    /// Only an admin may force the release of a seat.
    ForceNeedsAdmin,
    /// Another order has this number.
    OrderNumberTaken(String),
    /// Another product has this code.
    ProductCodeTaken,
    /// The order holds `max` of `what` already.
    OrderFull {
        what: &'static str,
        max: usize,
    },
    /// The account manages the order already.
    AlreadyManager,
    /// An order keeps at least one manager.
    LastManager,
    /// The account in `field` may not be linked as a manager here.
    LinkRefused {
        refusal: super::linking::LinkRefusal,
        field: String,
    },
    /// The account may not be bound to that customer.
    BindRefused(super::linking::BindRefusal),
    /// An idempotency key used before with another request body.
    IdempotencyKeyReused,
    /// A request with this idempotency key is still running.
    IdempotencyInProgress,
    /// The account is disabled.
    AccountDisabled,
    /// The current password given to change it is wrong.
    WrongCurrentPassword,
    /// A refresh token that is unknown, used, revoked or expired.
    InvalidRefreshToken,
    Storage(DbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn no_such(field: impl Into<String>, what: &'static str) -> Self {
        Self::NoSuch { field: field.into(), what }
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Self::Storage(e)
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.into())
    }
}

impl StorageError for Error {
    fn failure(&self) -> Option<Failure> {
        match self {
            Self::Storage(e) => e.failure(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(e) => e.fmt(f),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for Error {}
