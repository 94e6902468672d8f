//! The first admin: from `LICENSE_SERVER_ADMIN_EMAIL`/`_PASSWORD` on a start
//! with no admin, or from `license-server admin create`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::api::normalize_email;
use crate::auth::password;
use crate::db::{AnyConnection, write_transaction};
use crate::ids::new_id;
use crate::models::accounts::{Account, NewAccount, Role};
use crate::repositories::accounts;
use crate::repositories::audit::{self, AuditCtx, Target};

pub const HOW_TO_CREATE_ADMIN: &str = "No admin account exists yet. Create one with \
`license-server admin create --email you@example.com` (the password is read from \
LICENSE_SERVER_ADMIN_PASSWORD or standard input), or start the server with \
LICENSE_SERVER_ADMIN_EMAIL and LICENSE_SERVER_ADMIN_PASSWORD set.";

/// Checks an admin's display name as a manager's is checked: at most 200
/// characters, no control characters; surrounding spaces are dropped.
pub fn check_admin_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.chars().count() > 200 || name.chars().any(|c| crate::api::extract::refused_char(c, false)) {
        return Err("the name must be at most 200 characters without control characters".into());
    }
    Ok(name)
}

/// Checks an e-mail and a chosen password for a new admin.
pub fn check_admin_input(email: &str, password: &str) -> Result<String, String> {
    let email = normalize_email(email);
    if crate::api::rules::email(&email).is_err() {
        return Err(format!("`{email}` is not an e-mail address"));
    }
    password::check_chosen(password).map_err(|m| format!("the admin password {m}"))?;
    Ok(email)
}

/// Creates an admin account (the caller hashed the password). Fails when the
/// e-mail already has an account.
pub fn create_admin(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    password_hash: &str,
    now: chrono::NaiveDateTime,
) -> Result<Account, String> {
    let id = new_id();
    let result = write_transaction(conn, |conn| {
        accounts::insert(
            conn,
            &NewAccount {
                id: &id,
                email,
                name,
                role: Role::Admin.as_str(),
                password_hash,
                disabled: false,
                created_at: now,
                updated_at: now,
                bound_customer_id: None,
            },
        )?;
        let ctx =
            AuditCtx { actor_kind: "system", actor_id: None, actor_email: None, ip: None, request_id: String::new() };
        audit::record(
            conn,
            &ctx,
            now,
            "account.admin_created",
            Target::subject(&id),
            serde_json::json!({ "email": email }),
        )?;
        accounts::find(conn, &id)?.ok_or(DieselError::NotFound)
    });
    result.map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            format!("an account with the e-mail {email} exists already")
        }
        other => format!("cannot create the admin: {other}"),
    })
}

/// On start: when no admin exists, create one from the environment or say how.
pub fn ensure_admin(conn: &mut AnyConnection, email: Option<&str>, now: chrono::NaiveDateTime) -> Result<(), String> {
    if accounts::admin_exists(conn).map_err(|e| format!("cannot read accounts: {e}"))? {
        return Ok(());
    }
    let password = std::env::var("LICENSE_SERVER_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    match (email, password) {
        (Some(email), Some(password)) => {
            let email = check_admin_input(email, &password).map_err(|m| format!("LICENSE_SERVER_ADMIN_*: {m}"))?;
            let account = create_admin(conn, &email, "", &password::hash_now(&password), now)?;
            tracing::info!(email = %account.email, "created the first admin account");
            Ok(())
        }
        _ => {
            tracing::warn!("{HOW_TO_CREATE_ADMIN}");
            eprintln!("{HOW_TO_CREATE_ADMIN}");
            Ok(())
        }
    }
}
