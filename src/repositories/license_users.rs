//! The `license_users` table: the users of user-based licenses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{Page, PageRequest, Sort, contains_pattern, lower};
use crate::db::AnyConnection;
use crate::db::schema::{license_users, licenses, user_activations};
use crate::models::licenses::License;
use crate::models::seats::{LicenseUser, LicenseUserChangeset, UserActivation};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSort {
    CreatedAt,
    Email,
    Name,
}

/// Ids of users holding a live activation.
#[diesel::dsl::auto_type]
fn live_activation_users(now: NaiveDateTime) -> _ {
    let live: super::activations::live = super::activations::live(now);
    user_activations::table.filter(live).select(user_activations::license_user_id)
}

/// The users of a license with their live activations; `q` over e-mail and
/// name; `active` filters on holding a live activation.
pub fn list(
    conn: &mut AnyConnection,
    license_id: &str,
    q: Option<&str>,
    active: Option<bool>,
    sort: Sort<UserSort>,
    page: PageRequest,
    now: NaiveDateTime,
) -> QueryResult<Page<(LicenseUser, Option<UserActivation>)>> {
    let filtered = || {
        let mut query = license_users::table.filter(license_users::license_id.eq(license_id.to_owned())).into_boxed();
        if let Some(q) = q {
            let pattern = contains_pattern(q);
            query = query.filter(
                lower(license_users::email)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(license_users::name).like(pattern).escape('\\')),
            );
        }
        match active {
            Some(true) => query = query.filter(license_users::id.eq_any(live_activation_users(now))),
            Some(false) => query = query.filter(license_users::id.ne_all(live_activation_users(now))),
            None => {}
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let query = filtered().select(LicenseUser::as_select());
    let query = match (sort.field, sort.descending) {
        (UserSort::CreatedAt, false) => query.order((license_users::created_at.asc(), license_users::id.asc())),
        (UserSort::CreatedAt, true) => query.order((license_users::created_at.desc(), license_users::id.desc())),
        (UserSort::Email, false) => query.order((license_users::email.asc(), license_users::id.asc())),
        (UserSort::Email, true) => query.order((license_users::email.desc(), license_users::id.desc())),
        (UserSort::Name, false) => query.order((lower(license_users::name).asc(), license_users::id.asc())),
        (UserSort::Name, true) => query.order((lower(license_users::name).desc(), license_users::id.desc())),
    };
    let users: Vec<LicenseUser> = query.limit(page.per_page).offset(page.offset()).load(conn)?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut live = super::activations::live_for_users(conn, &ids, now)?;
    let items = users
        .into_iter()
        .map(|u| {
            let activation = live.remove(&u.id);
            (u, activation)
        })
        .collect();
    Ok(Page { items, total })
}

pub fn find(conn: &mut AnyConnection, license_id: &str, user_id: &str) -> QueryResult<Option<LicenseUser>> {
    license_users::table
        .filter(license_users::license_id.eq(license_id))
        .filter(license_users::id.eq(user_id))
        .select(LicenseUser::as_select())
        .first(conn)
        .optional()
}

/// Whether another user of the license has this (lower-case) e-mail.
pub fn email_taken(conn: &mut AnyConnection, license_id: &str, email: &str, except: Option<&str>) -> QueryResult<bool> {
    let mut query = license_users::table
        .filter(license_users::license_id.eq(license_id.to_owned()))
        .filter(license_users::email.eq(email.to_owned()))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(license_users::id.ne(id.to_owned()));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

pub fn insert(conn: &mut AnyConnection, user: &LicenseUser) -> QueryResult<()> {
    diesel::insert_into(license_users::table).values(user).execute(conn).map(|_| ())
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &LicenseUserChangeset) -> QueryResult<LicenseUser> {
    diesel::update(license_users::table.find(id)).set(changes).execute(conn)?;
    license_users::table.find(id).select(LicenseUser::as_select()).first(conn)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<()> {
    diesel::delete(license_users::table.find(id)).execute(conn).map(|_| ())
}

/// Users with this (lower-case) e-mail, with their licenses, oldest first;
/// only of the license with `key` when given. At most `limit`.
pub fn by_email(
    conn: &mut AnyConnection,
    email: &str,
    key: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(LicenseUser, License)>> {
    let mut query =
        license_users::table.inner_join(licenses::table).filter(license_users::email.eq(email.to_owned())).into_boxed();
    if let Some(key) = key {
        query = query.filter(licenses::license_key.eq(key.to_owned()));
    }
    query
        .order(license_users::created_at.asc())
        .limit(limit)
        .select((LicenseUser::as_select(), License::as_select()))
        .load(conn)
}
