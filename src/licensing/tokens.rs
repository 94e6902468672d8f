//! Activation tokens: `lat_d…` names a device, `lat_u…` a user's activation.
//! Only the SHA-256 of a token is stored.

use crate::crypto::{random_token, sha256_hex};

pub const TOKEN_PREFIX: &str = "lat_";

/// What an activation token names, by the digest it is stored as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Device(String),
    User(String),
}

/// A new token and its digest.
pub fn issue(kind: char) -> (String, String) {
    let token = random_token(&format!("{TOKEN_PREFIX}{kind}"));
    let digest = sha256_hex(&token);
    (token, digest)
}

/// What `token` would name, or `None` when it can't be a token.
pub fn parse(token: &str) -> Option<Token> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    if token.len() > 200 {
        return None;
    }
    match rest.chars().next()? {
        'd' => Some(Token::Device(sha256_hex(token))),
        'u' => Some(Token::User(sha256_hex(token))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_kind_by_its_digest() {
        let (token, digest) = issue('d');
        assert!(token.starts_with("lat_d"));
        assert_eq!(parse(&token), Some(Token::Device(digest)));
        let (token, digest) = issue('u');
        assert_eq!(parse(&token), Some(Token::User(digest)));
        assert_eq!(parse("lat_x123"), None);
        assert_eq!(parse("lsk_d123"), None);
        assert_eq!(parse(&format!("lat_d{}", "a".repeat(200))), None);
    }
}
