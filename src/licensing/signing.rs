//! The license-signing key: Ed25519 (RFC 8032). It signs every client
//! response and every offline license file. Its `key_id` is the hex of the
//! first 8 bytes of the SHA-256 of the raw 32-byte public key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The name of the response header carrying the signature.
pub const HEADER: &str = "license-signature";

#[derive(Clone)]
pub struct LicenseSigner {
    key: SigningKey,
    key_id: String,
    public_b64: String,
}

impl std::fmt::Debug for LicenseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LicenseSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// The key id of a raw public key.
pub fn key_id(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

impl LicenseSigner {
    /// From the 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let public = key.verifying_key().to_bytes();
        Self { key_id: key_id(&public), public_b64: B64.encode(public), key }
    }

    /// From the base64 of the seed (as stored or given in a key file).
    pub fn from_base64(seed: &str) -> Result<Self, String> {
        let bytes = B64.decode(seed.trim()).map_err(|_| "the signing key is not base64".to_owned())?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| "the signing key must be 32 bytes".to_owned())?;
        Ok(Self::from_seed(&seed))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The raw public key, base64.
    pub fn public_key_base64(&self) -> &str {
        &self.public_b64
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The `License-Signature` header value for `body`.
    pub fn header_value(&self, body: &[u8]) -> String {
        format!("ed25519={}; kid={}", B64.encode(self.sign(body)), self.key_id)
    }
}

/// Parses a base64 raw 32-byte public key.
pub fn parse_public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes = B64.decode(b64.trim()).map_err(|_| "the public key is not base64".to_owned())?;
    let raw: [u8; 32] = bytes.try_into().map_err(|_| "the public key must be 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&raw).map_err(|_| "the public key is not a valid Ed25519 point".to_owned())
}

/// Verifies an Ed25519 signature strictly (no malleable encodings).
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|sig| key.verify_strict(message, &sig).is_ok())
}

/// Splits a `License-Signature` header into (signature bytes, key id).
pub fn parse_header(value: &str) -> Option<(Vec<u8>, String)> {
    let mut signature = None;
    let mut kid = None;
    for part in value.split(';') {
        let (name, v) = part.trim().split_once('=')?;
        match name {
            "ed25519" => signature = Some(B64.decode(v).ok()?),
            "kid" => kid = Some(v.to_owned()),
            _ => {}
        }
    }
    Some((signature?, kid?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_vector_1_signs_as_published() {
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        let signer = LicenseSigner::from_seed(&seed);
        assert_eq!(
            hex::encode(B64.decode(signer.public_key_base64()).unwrap()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(signer.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn a_header_verifies_with_the_public_key_only_and_fails_on_a_changed_byte() {
        let signer = LicenseSigner::from_seed(&[42u8; 32]);
        let body = br#"{"valid":true}"#;
        let (sig, kid) = parse_header(&signer.header_value(body)).unwrap();
        assert_eq!(kid, signer.key_id());
        let public = parse_public_key(signer.public_key_base64()).unwrap();
        assert!(verify(&public, body, &sig));
        assert!(!verify(&public, br#"{"valid":false}"#, &sig));
    }

    #[test]
    fn key_id_is_16_hex_characters_of_the_public_key_digest() {
        let signer = LicenseSigner::from_seed(&[1u8; 32]);
        assert_eq!(signer.key_id().len(), 16);
        let public = B64.decode(signer.public_key_base64()).unwrap();
        assert_eq!(signer.key_id(), &hex::encode(Sha256::digest(&public))[..16]);
    }
}
