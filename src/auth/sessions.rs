//! Sign-in sessions of the portal: a login starts a family of refresh tokens;
//! each refresh uses its token up and issues the next one of the family,
//! until the family's absolute end; presenting a used token again revokes the
//! whole family (someone copied it); logout revokes the family. Only a
//! token's SHA-256 digest is stored.
//!
//! The use cases run in one write transaction and answer what the handler
//! renders; encoding the access token (a JWT) stays with the handler, which
//! holds the keys and the configured lifetime.

use chrono::{NaiveDateTime, TimeDelta};

use crate::crypto::{random_token, sha256_hex};
use crate::db::AnyConnection;
use crate::ids::new_id;
use crate::licensing::{Error, Result};
use crate::models::accounts::Account;
use crate::models::tokens::{NewRefreshToken, RefreshToken};
use crate::repositories::{accounts, refresh_tokens};

pub const REFRESH_TOKEN_PREFIX: &str = "lrt_";

/// How a presented token is looked up: by the digest of its trimmed text.
fn digest(presented: &str) -> String {
    sha256_hex(presented.trim())
}

/// A refresh token just stored: the secret to hand out once, with its sign-in.
#[derive(Debug)]
pub struct Issued {
    pub account: Account,
    /// The refresh-token family (one sign-in); access tokens name it.
    pub family: String,
    pub refresh_token: String,
    pub issued_at: NaiveDateTime,
    /// The family's absolute end; rotation never extends it.
    pub family_expires_at: NaiveDateTime,
}

impl Issued {
    /// Seconds until the family ends, never negative.
    pub fn refresh_expires_in(&self) -> i64 {
        (self.family_expires_at - self.issued_at).num_seconds().max(0)
    }
}

/// Stores a new refresh token of `family` for `account`.
fn issue(
    conn: &mut AnyConnection,
    account: Account,
    family: String,
    family_expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Issued> {
    let token = random_token(REFRESH_TOKEN_PREFIX);
    refresh_tokens::insert(
        conn,
        &NewRefreshToken {
            id: &new_id(),
            account_id: &account.id,
            family_id: &family,
            token_hash: &sha256_hex(&token),
            created_at: now,
            expires_at: family_expires_at,
        },
    )?;
    Ok(Issued { account, family, refresh_token: token, issued_at: now, family_expires_at })
}

/// The account with this (normalized) e-mail, if any.
pub fn account_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<Account>> {
    Ok(accounts::find_by_email(conn, email)?)
}

/// The account a login's credentials open: `password_ok` says whether the
/// password matched its hash. A wrong e-mail and a wrong password are the
/// same refusal.
pub fn credentials(account: Option<Account>, password_ok: bool) -> Result<Account> {
    account.filter(|_| password_ok).ok_or(Error::InvalidCredentials)
}

/// A disabled account signs in no more (its right password tells it so).
pub fn may_sign_in(account: &Account) -> Result<()> {
    if account.disabled { Err(Error::AccountDisabled) } else { Ok(()) }
}

/// Starts a sign-in of `account` (whose credentials were checked): a new
/// family that ends `lifetime` from now, and its first refresh token.
pub fn login(conn: &mut AnyConnection, account: Account, lifetime: TimeDelta, now: NaiveDateTime) -> Result<Issued> {
    may_sign_in(&account)?;
    issue(conn, account, new_id(), now + lifetime, now)
}

/// What a stored refresh token presented at `now` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented {
    /// Revoked, or its family ended: refused, nothing else happens.
    Dead,
    /// Used before: a copy is in other hands, the family is revoked.
    Reused,
    /// Usable once.
    Fresh,
}

pub fn presented(token: &RefreshToken, now: NaiveDateTime) -> Presented {
    if token.revoked_at.is_some() || token.expires_at <= now {
        Presented::Dead
    } else if token.used_at.is_some() {
        Presented::Reused
    } else {
        Presented::Fresh
    }
}

/// The outcome of a refresh. A refusal is a value, not an error: revoking a
/// re-used token's family must commit.
#[derive(Debug)]
pub enum Rotation {
    Issued(Box<Issued>),
    Refused,
}

impl Rotation {
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused)
    }

    /// The new tokens, or `InvalidRefreshToken`.
    pub fn into_issued(self) -> Result<Issued> {
        match self {
            Self::Issued(issued) => Ok(*issued),
            Self::Refused => Err(Error::InvalidRefreshToken),
        }
    }
}

/// Trades the `presented` refresh token for the next one of its family. An
/// unknown, revoked or expired token is refused; a used one is refused and
/// revokes its family (also when a concurrent refresh used it first); a token
/// of a disabled or deleted account is used up and refused.
pub fn refresh(conn: &mut AnyConnection, presented_token: &str, now: NaiveDateTime) -> Result<Rotation> {
    let Some(token) = refresh_tokens::find_by_hash(conn, &digest(presented_token))? else {
        return Ok(Rotation::Refused);
    };
    let reused = match presented(&token, now) {
        Presented::Dead => return Ok(Rotation::Refused),
        Presented::Reused => true,
        // Another request may have used it since it was read.
        Presented::Fresh => !refresh_tokens::mark_used(conn, &token.id, now)?,
    };
    if reused {
        tracing::warn!(family = %token.family_id, "refresh token re-used; revoking its family");
        refresh_tokens::revoke_family(conn, &token.family_id, now)?;
        return Ok(Rotation::Refused);
    }
    match accounts::find(conn, &token.account_id)? {
        Some(account) if may_sign_in(&account).is_ok() => {
            let issued = issue(conn, account, token.family_id, token.expires_at, now)?;
            Ok(Rotation::Issued(Box::new(issued)))
        }
        _ => Ok(Rotation::Refused),
    }
}

/// Signs out: revokes the family of the `presented` refresh token, if it is
/// one (an unknown token is no error).
pub fn logout(conn: &mut AnyConnection, presented_token: &str, now: NaiveDateTime) -> Result<()> {
    if let Some(token) = refresh_tokens::find_by_hash(conn, &digest(presented_token))? {
        refresh_tokens::revoke_family(conn, &token.family_id, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap().naive_utc()
    }

    fn token(expires_at: NaiveDateTime) -> RefreshToken {
        RefreshToken {
            id: "token".into(),
            account_id: "account".into(),
            family_id: "family".into(),
            token_hash: digest("lrt_secret"),
            created_at: at(0),
            expires_at,
            used_at: None,
            revoked_at: None,
        }
    }

    fn account(disabled: bool) -> Account {
        Account {
            id: "account".into(),
            email: "max.mustermann@muster-bau.example".into(),
            name: "Max Mustermann".into(),
            role: crate::models::accounts::Role::Manager,
            password_hash: "hash".into(),
            disabled,
            created_at: at(0),
            updated_at: at(0),
            bound_customer_id: None,
        }
    }

    #[test]
    fn an_unused_live_token_is_fresh_until_its_family_ends() {
        let t = token(at(100));
        assert_eq!(presented(&t, at(99)), Presented::Fresh);
        assert_eq!(presented(&t, at(100)), Presented::Dead, "the end itself is past");
        assert_eq!(presented(&t, at(101)), Presented::Dead);
    }

    #[test]
    fn a_used_token_presented_again_is_a_reuse() {
        let t = RefreshToken { used_at: Some(at(10)), ..token(at(100)) };
        assert_eq!(presented(&t, at(20)), Presented::Reused);
    }

    #[test]
    fn a_revoked_or_expired_token_is_dead_even_if_used() {
        let revoked = RefreshToken { revoked_at: Some(at(10)), ..token(at(100)) };
        assert_eq!(presented(&revoked, at(20)), Presented::Dead);
        let both = RefreshToken { used_at: Some(at(5)), ..revoked };
        assert_eq!(presented(&both, at(20)), Presented::Dead, "a revoked family is not revoked again");
        let expired = RefreshToken { used_at: Some(at(5)), ..token(at(10)) };
        assert_eq!(presented(&expired, at(20)), Presented::Dead);
    }

    #[test]
    fn a_presented_token_is_looked_up_trimmed() {
        assert_eq!(digest(" lrt_secret\n"), digest("lrt_secret"));
        assert_ne!(digest("lrt_secret"), "lrt_secret");
    }

    #[test]
    fn a_refresh_answers_the_family_s_remaining_seconds_never_negative() {
        let issued = |now| Issued {
            account: account(false),
            family: "family".into(),
            refresh_token: "lrt_x".into(),
            issued_at: now,
            family_expires_at: at(3600),
        };
        assert_eq!(issued(at(0)).refresh_expires_in(), 3600);
        assert_eq!(issued(at(3599)).refresh_expires_in(), 1);
        assert_eq!(issued(at(4000)).refresh_expires_in(), 0);
    }

    #[test]
    fn a_wrong_e_mail_and_a_wrong_password_are_the_same_refusal() {
        assert!(matches!(credentials(None, false), Err(Error::InvalidCredentials)));
        assert!(matches!(credentials(None, true), Err(Error::InvalidCredentials)));
        assert!(matches!(credentials(Some(account(false)), false), Err(Error::InvalidCredentials)));
        assert_eq!(credentials(Some(account(true)), true).unwrap().id, "account");
    }

    #[test]
    fn only_an_enabled_account_signs_in() {
        assert!(may_sign_in(&account(false)).is_ok());
        assert!(matches!(may_sign_in(&account(true)), Err(Error::AccountDisabled)));
    }

    #[test]
    fn only_a_refused_rotation_is_an_invalid_refresh_token() {
        assert!(Rotation::Refused.is_refused());
        assert!(matches!(Rotation::Refused.into_issued(), Err(Error::InvalidRefreshToken)));
        let issued = Issued {
            account: account(false),
            family: "family".into(),
            refresh_token: "lrt_x".into(),
            issued_at: at(0),
            family_expires_at: at(10),
        };
        let rotation = Rotation::Issued(Box::new(issued));
        assert!(!rotation.is_refused());
        assert_eq!(rotation.into_issued().unwrap().family, "family");
    }
}
