use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::list::{Page, PageRequest, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::api_keys;
use crate::models::api_keys::ApiKey;

/// The unrevoked key with this digest. `last_used_at` is refreshed at most once
/// a minute, so a busy shop does not write on every request.
pub fn authenticate(conn: &mut AnyConnection, key_hash: &str, now: NaiveDateTime) -> QueryResult<Option<ApiKey>> {
    let key: Option<ApiKey> = api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?;
    if let Some(key) = &key {
        if key.last_used_at.is_none_or(|t| now - t > TimeDelta::seconds(60)) {
            diesel::update(api_keys::table.find(&key.id)).set(api_keys::last_used_at.eq(now)).execute(conn)?;
        }
    }
    Ok(key)
}

pub fn insert(conn: &mut AnyConnection, key: &ApiKey) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(key).execute(conn).map(|_| ())
}

/// Keys not revoked, by creation (newest first when `descending`); `q` over
/// name and prefix.
pub fn list_active(
    conn: &mut AnyConnection,
    q: Option<&str>,
    descending: bool,
    page: PageRequest,
) -> QueryResult<Page<ApiKey>> {
    let active = || {
        let mut query = api_keys::table.filter(api_keys::revoked_at.is_null()).into_boxed();
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(api_keys::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(api_keys::key_prefix).like(pattern).escape('\\')),
            );
        }
        query
    };
    let total = active().count().get_result(conn)?;
    let query = active().select(ApiKey::as_select()).limit(page.per_page).offset(page.offset());
    let items = if descending {
        query.order((api_keys::created_at.desc(), api_keys::id.desc())).load(conn)?
    } else {
        query.order((api_keys::created_at.asc(), api_keys::id.asc())).load(conn)?
    };
    Ok(Page { items, total })
}

/// Revokes a key; false when no unrevoked key has this id.
pub fn revoke(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}
