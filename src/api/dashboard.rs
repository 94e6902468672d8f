//! The portal's first page: counts over the caller's scope in one call.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::scope_of;
use crate::auth::Person;
use crate::error::ApiResult;
use crate::repositories::dashboard;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_dashboard);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseCounts {
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub total: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub user_based: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub computer_based: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub active: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub suspended: i64,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub expired: i64,
    /// Active licenses whose expiry is within the next 30 days.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub expiring_within_30_days: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub orders: i64,
    pub licenses: LicenseCounts,
    /// Users of user-based licenses.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub users: i64,
    /// Active devices, offline ones included.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub active_devices: i64,
    /// Distinct manager accounts of these orders, the caller included.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub managers: i64,
}

/// Counts over the caller's scope (a manager: its orders; an admin: everything).
///
/// For admins and license managers, the portal's first page in one call; a
/// shop API key gets 403 `FORBIDDEN`. `licenses.expiring_within_30_days`
/// counts active licenses that expire within the next 30 days,
/// `active_devices` includes offline devices, and `managers` counts distinct
/// manager accounts of the orders in scope (a manager counts itself).
#[utoipa::path(
    tag = "dashboard",
    responses((status = 200, body = Dashboard)),
    security(("bearer" = []))
)]
#[get("/dashboard")]
pub async fn get_dashboard(state: web::Data<AppState>, caller: Person) -> ApiResult<web::Json<Dashboard>> {
    let scope = scope_of(&caller.0);
    let now = state.clock.now();
    let c = state.db.run(move |conn| ApiResult::Ok(dashboard::counts(conn, &scope, now)?)).await?;
    Ok(web::Json(Dashboard {
        orders: c.orders,
        licenses: LicenseCounts {
            total: c.licenses,
            user_based: c.user_based,
            computer_based: c.computer_based,
            active: c.active,
            suspended: c.suspended,
            expired: c.expired,
            expiring_within_30_days: c.expiring_within_30_days,
        },
        users: c.users,
        active_devices: c.active_devices,
        managers: c.managers,
    }))
}
