//! Offline files. The software writes a request file (base64 of a JSON
//! request); the server answers a license file: an armored base64 JSON
//! wrapper `{payload, signature, algorithm, key_id}` whose `payload` is the
//! base64 of the JSON payload and whose `signature` is Ed25519 over the ASCII
//! bytes of that base64 text. [`verify_file`] is the reference check.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::signing::{LicenseSigner, verify};

pub const BEGIN: &str = "-----BEGIN LICENSE FILE-----";
pub const END: &str = "-----END LICENSE FILE-----";
pub const FORMAT: u32 = 1;
/// The largest request file we read (base64 text).
pub const MAX_REQUEST_LEN: usize = 8 * 1024;

/// What the software writes (and sends base64-encoded).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestFile {
    pub license_key: String,
    pub hardware_id: String,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub app_version: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Present and true in a deactivation request.
    #[serde(default)]
    pub deactivate: bool,
}

/// Decodes a request file: standard base64 with padding of a JSON object.
pub fn decode_request(text: &str) -> Result<RequestFile, String> {
    let text = text.trim_start_matches('\u{feff}');
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > MAX_REQUEST_LEN {
        return Err("the request file is empty or too large".into());
    }
    let bytes =
        B64.decode(compact).map_err(|_| "the request file is not base64 (RFC 4648, with padding)".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the request file's JSON is not valid: {e}"))
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PayloadProduct {
    pub code: String,
    pub name: String,
}

/// The signed content of a license file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct Payload {
    pub format: u32,
    pub file_id: String,
    pub license_id: String,
    pub license_key: String,
    pub kind: String,
    pub device_id: String,
    pub hardware_id: String,
    pub company: String,
    pub product: PayloadProduct,
    pub seats: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
    /// The software refuses the file after this time.
    pub valid_until: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Wrapper {
    payload: String,
    signature: String,
    algorithm: String,
    key_id: String,
}

/// Signs `payload` and armors it as license-file text (lines of 64, LF endings).
pub fn encode_file(signer: &LicenseSigner, payload: &Payload) -> String {
    let p = B64.encode(serde_json::to_vec(payload).expect("payload serializes"));
    let wrapper = Wrapper {
        signature: B64.encode(signer.sign(p.as_bytes())),
        payload: p,
        algorithm: "ed25519".into(),
        key_id: signer.key_id().to_owned(),
    };
    let body = B64.encode(serde_json::to_vec(&wrapper).expect("wrapper serializes"));
    let mut out = String::with_capacity(body.len() + body.len() / 64 + BEGIN.len() + END.len() + 4);
    out.push_str(BEGIN);
    out.push('\n');
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

#[derive(Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a license file: markers, base64 or wrapper JSON are wrong.
    Malformed(String),
    /// The signature does not verify with the given key.
    BadSignature,
    /// Signed, but not a payload this reader understands.
    UnknownFormat,
    /// Made for another machine.
    WrongHardware,
    /// `valid_until` has passed.
    Expired(DateTime<Utc>),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a license file: {why}"),
            Self::BadSignature => f.write_str("the signature does not verify with this public key"),
            Self::UnknownFormat => f.write_str("the payload's format is not 1"),
            Self::WrongHardware => f.write_str("the file was issued for another hardware id"),
            Self::Expired(at) => write!(f, "the file ran out at {}", at.to_rfc3339()),
        }
    }
}

/// Checks a license file exactly as the desktop software must: the key and
/// algorithm are the reader's own (the file's unsigned `algorithm` and
/// `key_id` are never trusted), the signature is verified over the payload's
/// base64 text before that text is parsed, the hardware id is compared byte
/// for byte (when given), and the file is refused after `valid_until`.
pub fn verify_file(
    text: &str,
    public_key: &VerifyingKey,
    hardware_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Payload, VerifyError> {
    let malformed = |why: &str| VerifyError::Malformed(why.to_owned());
    let text = text.trim_start_matches('\u{feff}');
    let start = text.find(BEGIN).ok_or_else(|| malformed("no BEGIN LICENSE FILE line"))? + BEGIN.len();
    let end = text[start..].find(END).ok_or_else(|| malformed("no END LICENSE FILE line"))? + start;
    let body: String = text[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    let wrapper_json = B64.decode(body).map_err(|_| malformed("the block is not base64"))?;
    let wrapper: Wrapper =
        serde_json::from_slice(&wrapper_json).map_err(|_| malformed("the block is not the JSON wrapper"))?;
    let signature = B64.decode(&wrapper.signature).map_err(|_| malformed("the signature is not base64"))?;
    if !verify(public_key, wrapper.payload.as_bytes(), &signature) {
        return Err(VerifyError::BadSignature);
    }
    let payload_json = B64.decode(&wrapper.payload).map_err(|_| malformed("the payload is not base64"))?;
    let payload: Payload = serde_json::from_slice(&payload_json).map_err(|_| VerifyError::UnknownFormat)?;
    if payload.format != FORMAT {
        return Err(VerifyError::UnknownFormat);
    }
    if hardware_id.is_some_and(|hw| hw.as_bytes() != payload.hardware_id.as_bytes()) {
        return Err(VerifyError::WrongHardware);
    }
    if now > payload.valid_until {
        return Err(VerifyError::Expired(payload.valid_until));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licensing::signing::parse_public_key;
    use chrono::TimeDelta;

    fn payload(now: DateTime<Utc>) -> Payload {
        Payload {
            format: 1,
            file_id: "f".into(),
            license_id: "l".into(),
            license_key: "AAAAA-BBBBB".into(),
            kind: "computer_based".into(),
            device_id: "d".into(),
            hardware_id: "hw-1".into(),
            company: "Muster GmbH".into(),
            product: PayloadProduct { code: "CAD".into(), name: "CAD Pro".into() },
            seats: 2,
            expires_at: None,
            issued_at: now,
            valid_until: now + TimeDelta::days(30),
        }
    }

    fn signer() -> LicenseSigner {
        LicenseSigner::from_seed(&[9u8; 32])
    }

    /// `OfflineActivateResponse.license_file` declares at most 4574 characters:
    /// the file of the longest payload the server writes (a hardware id of 128
    /// quotes, each escaped; company and product names of 200 four-byte
    /// characters; a 64-character code; the latest times, to the nanosecond).
    #[test]
    fn the_longest_file_fits_the_declared_bound() {
        let latest: DateTime<Utc> = "9999-12-31T23:59:59.999999999Z".parse().unwrap();
        let id = "0193a5c2-7f4e-7b3a-9c1d-2e5f6a7b8c9d".to_owned();
        let payload = Payload {
            format: FORMAT,
            file_id: id.clone(),
            license_id: id.clone(),
            license_key: crate::licensing::keys::display(&crate::licensing::keys::generate()),
            kind: "computer_based".into(),
            device_id: id,
            hardware_id: "\"".repeat(128),
            company: "\u{1d510}".repeat(200),
            product: PayloadProduct { code: "C".repeat(64), name: "\u{1d510}".repeat(200) },
            seats: 1_000_000,
            expires_at: Some(latest),
            issued_at: latest,
            valid_until: latest,
        };
        let file = encode_file(&signer(), &payload);
        assert_eq!(file.chars().count(), 4574, "update the max_length of OfflineActivateResponse.license_file");
    }

    #[test]
    fn a_file_round_trips_and_is_wrapped_at_64_columns() {
        let now = Utc::now();
        let file = encode_file(&signer(), &payload(now));
        assert!(file.starts_with(BEGIN) && file.trim_end().ends_with(END));
        assert!(file.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let key = parse_public_key(signer().public_key_base64()).unwrap();
        assert_eq!(verify_file(&file, &key, Some("hw-1"), now).unwrap(), payload(now));
    }

    #[test]
    fn readers_accept_a_bom_crlf_and_stray_white_space() {
        let now = Utc::now();
        let file = encode_file(&signer(), &payload(now));
        let mangled = format!("\u{feff}{}", file.replace('\n', "\r\n").replacen("\r\n", "\r\n  \t", 2));
        let key = parse_public_key(signer().public_key_base64()).unwrap();
        assert!(verify_file(&mangled, &key, None, now).is_ok());
    }

    #[test]
    fn another_key_a_changed_payload_another_machine_or_a_late_date_are_refused() {
        let now = Utc::now();
        let file = encode_file(&signer(), &payload(now));
        let key = parse_public_key(signer().public_key_base64()).unwrap();
        let other = parse_public_key(LicenseSigner::from_seed(&[8u8; 32]).public_key_base64()).unwrap();
        assert_eq!(verify_file(&file, &other, None, now), Err(VerifyError::BadSignature));
        assert_eq!(verify_file(&file, &key, Some("hw-2"), now), Err(VerifyError::WrongHardware));
        assert!(matches!(verify_file(&file, &key, None, now + TimeDelta::days(31)), Err(VerifyError::Expired(_))));

        // Swap in a forged payload with more seats, keeping the old signature.
        let start = file.find(BEGIN).unwrap() + BEGIN.len();
        let end = file.find(END).unwrap();
        let body: String = file[start..end].chars().filter(|c| !c.is_whitespace()).collect();
        let mut wrapper: serde_json::Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
        let mut forged = payload(now);
        forged.seats = 99;
        wrapper["payload"] = B64.encode(serde_json::to_vec(&forged).unwrap()).into();
        let forged_file = format!("{BEGIN}\n{}\n{END}\n", B64.encode(serde_json::to_vec(&wrapper).unwrap()));
        assert_eq!(verify_file(&forged_file, &key, None, now), Err(VerifyError::BadSignature));
        assert!(matches!(verify_file("garbage", &key, None, now), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn request_files_decode_and_garbage_is_refused() {
        let json = r#"{"license_key":"K","hardware_id":"hw","created_at":"2026-11-29T10:00:00Z"}"#;
        let request = decode_request(&B64.encode(json)).unwrap();
        assert_eq!(request.hardware_id, "hw");
        assert!(!request.deactivate);
        assert!(decode_request("not base64!").is_err());
        assert!(decode_request(&B64.encode("not json")).is_err());
        assert!(decode_request("").is_err());
    }
}
