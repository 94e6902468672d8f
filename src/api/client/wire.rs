//! The wire types of the client API: request bodies, the extractor that
//! keeps a request's nonce for the signed echo, and the answers.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::super::client_sign::{ClientEcho, CompleteBody};
use super::super::devices::DeviceView;
use super::super::extract::{parse_json, required_json};
use super::super::licenses::{LicenseKind, LicenseStatus};
use super::super::utc;
use crate::error::ApiError;
use crate::licensing::keys;
use crate::licensing::status::Status;
pub use crate::licensing::validation::ValidationCode;
use crate::repositories::licenses::LicenseRow;

// ---------------------------------------------------------------- input rules

fn valid_nonce(value: &str) -> bool {
    crate::api::rules::nonce(value).is_ok()
}

/// A client request body: JSON, validated, with its nonce kept for the echo
/// (also when the rest of the body is refused).
pub struct ClientJson<T>(pub T);

/// The fields of a client request that its answer echoes.
pub trait HasNonce {
    fn nonce(&self) -> Option<&str>;
    fn hardware_id(&self) -> Option<&str> {
        None
    }
}

impl<T: DeserializeOwned + Validate + HasNonce + utoipa::PartialSchema + 'static> FromRequest for ClientJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let raw = required_json(&req, &mut payload).await?;
            match parse_json::<T>(&raw) {
                Ok(value) => {
                    let echo = ClientEcho {
                        nonce: value.nonce().map(str::to_owned),
                        hardware_id: value.hardware_id().map(str::to_owned),
                    };
                    req.extensions_mut().insert(echo);
                    Ok(Self(value))
                }
                Err(e) => {
                    let nonce = serde_json::from_slice::<serde_json::Value>(&raw)
                        .ok()
                        .and_then(|v| v.get("nonce").and_then(|n| n.as_str()).map(str::to_owned))
                        .filter(|n| valid_nonce(n));
                    req.extensions_mut().insert(ClientEcho { nonce, hardware_id: None });
                    Err(e)
                }
            }
        })
    }
}

macro_rules! has_nonce {
    ($($t:ty),*) => {$(
        impl HasNonce for $t {
            fn nonce(&self) -> Option<&str> {
                self.nonce.as_deref()
            }
            fn hardware_id(&self) -> Option<&str> {
                Some(&self.hardware_id)
            }
        }
    )*};
}

// ------------------------------------------------------------------- answers

/// What every client answer carries, so a signed answer can't be replayed for
/// another machine or request.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Echo {
    /// Server time.
    #[schema(min_length = 20, max_length = 30)]
    pub issued_at: DateTime<Utc>,
    /// `activate`, `validate`, `heartbeat`, `deactivate`, `offline/activate`,
    /// `offline/deactivate` or `public-key`.
    #[schema(
        max_length = 18,
        pattern = r"^(activate|validate|heartbeat|deactivate|offline/activate|offline/deactivate|public-key)$"
    )]
    pub endpoint: &'static str,
    /// The request's nonce, echoed.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub license_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]+$")]
    pub hardware_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ids::Id>)]
    pub user_id: Option<String>,
}

impl Echo {
    /// The echo of a request to `endpoint` answered at `now`; identities are
    /// added with struct-update syntax.
    pub fn new(endpoint: &'static str, now: NaiveDateTime, nonce: Option<String>) -> Self {
        Self { issued_at: utc(now), endpoint, nonce, ..Self::default() }
    }
}

/// A complete client answer (the signing middleware only signs it).
pub fn answer(body: &impl Serialize) -> HttpResponse {
    let mut res = HttpResponse::Ok().json(body);
    res.extensions_mut().insert(CompleteBody);
    res
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductInfo {
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
}

/// The license as the software sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientLicense {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 35, max_length = 35, pattern = r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$")]
    pub key: String,
    pub kind: LicenseKind,
    pub status: LicenseStatus,
    #[schema(minimum = 1, maximum = 1000000)]
    pub seats: i32,
    #[schema(min_length = 20, max_length = 30)]
    pub expires_at: Option<DateTime<Utc>>,
    pub offline_allowed: bool,
    #[schema(minimum = 60, maximum = 604800)]
    pub lease_seconds: i32,
    pub product: ProductInfo,
    /// The owner shown in the software.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub company: String,
}

impl ClientLicense {
    pub fn new(row: LicenseRow, now: NaiveDateTime) -> Self {
        let l = row.license;
        Self {
            status: Status::of(&l, now),
            key: keys::display(&l.license_key),
            kind: l.kind,
            id: l.id,
            seats: l.seats,
            expires_at: l.expires_at.map(utc),
            offline_allowed: l.offline_allowed,
            lease_seconds: l.lease_seconds,
            product: ProductInfo { code: row.product.code, name: row.product.name },
            company: row.customer.company,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientUser {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivateResponse {
    #[schema(example = "VALID")]
    pub code: ValidationCode,
    pub valid: bool,
    /// `lat_…`: names this activation in validate, heartbeat and deactivate.
    #[schema(min_length = 57, max_length = 57, pattern = r"^lat_[du][0-9a-hjkmnp-tv-z]{52}$")]
    pub activation_token: String,
    pub license: ClientLicense,
    /// Computer-based licenses: the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceView>,
    /// User-based licenses: the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ClientUser>,
    /// User-based licenses: the activation ends then unless heartbeats extend it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// How long the software may trust this answer offline.
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    pub code: ValidationCode,
    /// How long the software may trust a VALID offline; null otherwise.
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatResponse {
    #[schema(example = "VALID")]
    pub code: ValidationCode,
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    /// User-based: the new end of the lease (now + `lease_seconds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 20, max_length = 30)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeactivateResponse {
    #[schema(example = "DEACTIVATED", max_length = 11, pattern = r"^DEACTIVATED$")]
    pub code: &'static str,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineActivateResponse {
    /// The license file, as text (see the README's verification steps).
    // The longest file the server writes: `offline::tests::the_longest_file_fits_the_declared_bound`.
    #[schema(
        max_length = 4574,
        pattern = r"^-----BEGIN LICENSE FILE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END LICENSE FILE-----\n$"
    )]
    pub license_file: String,
    pub device: DeviceView,
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: DateTime<Utc>,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineDeactivateResponse {
    #[schema(example = "DEACTIVATED", max_length = 11, pattern = r"^DEACTIVATED$")]
    pub code: &'static str,
    /// `seat_released_at` says when the seat is free: when the last file runs out.
    pub device: DeviceView,
    #[serde(flatten)]
    pub echo: Echo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyResponse {
    #[schema(example = "ed25519", max_length = 7, pattern = r"^ed25519$")]
    pub algorithm: &'static str,
    /// Hex of the first 8 bytes of the SHA-256 of the raw public key.
    #[schema(min_length = 16, max_length = 16, pattern = r"^[0-9a-f]{16}$")]
    pub key_id: String,
    /// Base64 of the raw 32-byte public key.
    #[schema(min_length = 44, max_length = 44, pattern = r"^[A-Za-z0-9+/]{43}=$")]
    pub public_key: String,
    #[serde(flatten)]
    pub echo: Echo,
}

/// The 409 of an activation as the spec shows it: a problem with the members
/// its code adds (built by [`seats_exhausted`] and the user-lease check; this
/// type only documents them).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActivationConflict {
    #[serde(flatten)]
    problem: crate::error::Problem,
    /// `SEATS_EXHAUSTED`: the license's seats …
    #[schema(minimum = 1, maximum = 1_000_000)]
    seats: Option<i32>,
    /// … and how many are taken.
    #[schema(minimum = 0, maximum = 1_000_000)]
    seats_used: Option<i64>,
    /// `SEATS_EXHAUSTED`: who can free a seat (the order's enabled managers).
    #[schema(max_items = 50)]
    managers: Option<Vec<SeatContact>>,
    /// `SEATS_EXHAUSTED`: the license.
    #[schema(value_type = Option<crate::ids::Id>)]
    license_id: Option<String>,
    /// `USER_ALREADY_ACTIVE`: when the other activation's lease runs out.
    #[schema(max_length = 35)]
    lease_expires_at: Option<DateTime<Utc>>,
}

/// A license manager the software can show in its "all seats taken" dialog.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SeatContact {
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    name: String,
    #[schema(max_length = 502, pattern = r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[^@\x00-\x1F\x7F-\x9F]+$")]
    email: String,
}

/// Activation by license key (computer-based) or by a license user's e-mail
/// and password (user-based).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ActivateRequest {
    /// Computer-based: required. User-based: optional, picks the license when
    /// the e-mail is a user of several.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    #[schema(max_length = 64)]
    pub license_key: Option<String>,
    /// User-based: the license user's e-mail.
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// User-based: the license password.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(max_length = 1024)]
    pub password: Option<String>,
    /// 1–128 printable ASCII characters; send a salted SHA-256 of machine identifiers.
    #[validate(custom(function = "crate::api::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub hostname: Option<String>,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub platform: Option<String>,
    #[validate(length(max = 255, message = "must be at most 255 characters"))]
    #[schema(max_length = 255)]
    pub app_version: Option<String>,
    /// 1–64 of `[A-Za-z0-9_-]`, fresh per request; echoed in the answer.
    #[validate(custom(function = "crate::api::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// `activation_token` + `hardware_id` (heartbeat, deactivate).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct TokenRequest {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub activation_token: String,
    #[validate(custom(function = "crate::api::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(custom(function = "crate::api::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// `activation_token` + `hardware_id`, or for computer-based licenses `license_key` + `hardware_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ValidateRequest {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub activation_token: Option<String>,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64)]
    pub license_key: Option<String>,
    #[validate(custom(function = "crate::api::rules::hardware_id"))]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]{1,128}$")]
    pub hardware_id: String,
    #[validate(custom(function = "crate::api::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

/// An offline request file (base64 of its JSON), as the software wrote it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct OfflineRequest {
    #[validate(length(min = 1, max = 8192, message = "must be 1 to 8192 characters"))]
    /// The request file, base64 (its contents are the software's: see the contract).
    #[schema(
        min_length = 1,
        max_length = 8192,
        pattern = r"^\uFEFF*[A-Za-z0-9+/= \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$"
    )]
    pub request: String,
    #[validate(custom(function = "crate::api::rules::nonce"))]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub nonce: Option<String>,
}

has_nonce!(ActivateRequest, TokenRequest, ValidateRequest);

impl HasNonce for OfflineRequest {
    fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
}
