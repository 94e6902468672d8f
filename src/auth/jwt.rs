//! Access tokens: HS256 JWTs with a secret of their own (never the
//! license-signing key), one pinned algorithm, and `exp, iat, iss, aud, sub` required.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "license-server";
pub const AUDIENCE: &str = "license-server-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The refresh-token family this access token was issued with.
    pub fam: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret).expect("an HMAC secret of any length is a key"),
            decoding: DecodingKey::from_secret(secret).expect("an HMAC secret of any length is a key"),
            validation,
        }
    }

    pub fn issue(&self, account_id: &str, family: &str, now: i64, lifetime: i64) -> String {
        let claims = Claims {
            sub: account_id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + lifetime,
            fam: family.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory secret does not fail")
    }

    /// Checks signature, algorithm and claims. `now` is the server clock.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        // The library checks `exp` against the system clock; check the server
        // clock too, so an injected clock expires tokens the same way.
        if data.claims.exp + self.validation.leeway as i64 <= now {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> JwtKeys {
        JwtKeys::new(&[7u8; 32])
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn an_issued_token_verifies() {
        let token = keys().issue("acc", "fam", now(), 900);
        let claims = keys().verify(&token, now()).unwrap();
        assert_eq!(claims.sub, "acc");
        assert_eq!(claims.fam, "fam");
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let token = keys().issue("acc", "fam", now() - 2000, 900);
        assert_eq!(keys().verify(&token, now()).unwrap_err(), TokenError::Expired);
        let fresh = keys().issue("acc", "fam", now(), 900);
        assert_eq!(keys().verify(&fresh, now() + 1000).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn another_key_or_alg_none_is_invalid() {
        let token = JwtKeys::new(&[8u8; 32]).issue("acc", "fam", now(), 900);
        assert_eq!(keys().verify(&token, now()).unwrap_err(), TokenError::Invalid);

        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"acc","iss":"{ISSUER}","aud":"{AUDIENCE}","iat":{},"exp":{},"fam":"f"}}"#,
                now(),
                now() + 900
            )
            .as_bytes(),
        );
        let unsigned = format!("{header}.{payload}.");
        assert_eq!(keys().verify(&unsigned, now()).unwrap_err(), TokenError::Invalid);
        assert_eq!(keys().verify("garbage", now()).unwrap_err(), TokenError::Invalid);
    }
}
