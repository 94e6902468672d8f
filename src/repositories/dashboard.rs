//! Counts over a caller's scope, for the portal's first page.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::licenses::filter_status;
use super::scope::{Scope, managed_orders};
use crate::db::AnyConnection;
use crate::db::schema::{devices, license_users, licenses, order_managers, orders};
use crate::models::licenses::LicenseKind;
use crate::models::seats::DeviceStatus;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub orders: i64,
    pub licenses: i64,
    pub user_based: i64,
    pub computer_based: i64,
    pub active: i64,
    pub suspended: i64,
    pub expired: i64,
    pub expiring_within_30_days: i64,
    pub users: i64,
    pub active_devices: i64,
    pub managers: i64,
}

macro_rules! scoped {
    ($query:expr, $order_column:expr, $scope:expr) => {{
        let mut query = $query.into_boxed();
        if let Some(manager) = $scope.manager() {
            query = query.filter($order_column.eq_any(managed_orders(manager)));
        }
        query
    }};
}

pub fn counts(conn: &mut AnyConnection, scope: &Scope, now: NaiveDateTime) -> QueryResult<Counts> {
    let mut c =
        Counts { orders: scoped!(orders::table, orders::id, scope).count().get_result(conn)?, ..Counts::default() };
    c.licenses = scoped!(licenses::table, licenses::order_id, scope).count().get_result(conn)?;
    c.user_based = scoped!(licenses::table, licenses::order_id, scope)
        .filter(licenses::kind.eq(LicenseKind::UserBased.as_str()))
        .count()
        .get_result(conn)?;
    c.computer_based = c.licenses - c.user_based;
    let licenses_in_scope = || scoped!(licenses::table, licenses::order_id, scope);
    c.suspended = filter_status!(licenses_in_scope(), Status::Suspended, now).count().get_result(conn)?;
    c.expired = filter_status!(licenses_in_scope(), Status::Expired, now).count().get_result(conn)?;
    c.expiring_within_30_days = filter_status!(licenses_in_scope(), Status::Active, now)
        .filter(licenses::expires_at.le(now + TimeDelta::days(30)))
        .count()
        .get_result(conn)?;
    c.active = c.licenses - c.suspended - c.expired;
    c.users = scoped!(license_users::table.inner_join(licenses::table), licenses::order_id, scope)
        .count()
        .get_result(conn)?;
    c.active_devices = scoped!(devices::table.inner_join(licenses::table), licenses::order_id, scope)
        .filter(devices::status.eq(DeviceStatus::Active.as_str()))
        .count()
        .get_result(conn)?;
    // The scope's subquery reads order_managers itself, so a manager's orders are fetched first.
    let mut managers = order_managers::table.into_boxed();
    if let Some(manager) = scope.manager() {
        let ids = super::accounts::managed_order_ids(conn, manager)?;
        managers = managers.filter(order_managers::order_id.eq_any(ids));
    }
    c.managers = managers
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>("COUNT(DISTINCT account_id)"))
        .get_result(conn)?;
    Ok(c)
}
