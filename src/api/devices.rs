//! Devices of a computer-based license. The software registers them (client
//! API); managers see them and deactivate orphaned ones to free the seat.
//! There is no way to create one here: `POST …/devices` answers 405.

use actix_web::{HttpRequest, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::extract::{OptionalJson, Query};
use super::{ListParams, Page, audit_ctx, scope_of, utc};
use crate::auth::{Person, Principal};
use crate::error::ApiResult;
use crate::ids::{DeviceId, LicenseId};
use crate::licensing;
use crate::models::seats::{Device, DeviceStatus};
use crate::repositories::devices::{self, DeviceSort, StatusFilter};
use crate::repositories::list::Sort;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_devices).service(get_device).service(deactivate_device);
}

/// A computer registered by the software.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    #[schema(value_type = crate::ids::Id)]
    pub id: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x20-\x7E]+$")]
    pub hardware_id: String,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub hostname: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub platform: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub app_version: Option<String>,
    /// Activated with an offline license file.
    pub offline: bool,
    pub status: DeviceStatus,
    #[schema(min_length = 20, max_length = 30)]
    pub activated_at: DateTime<Utc>,
    #[schema(min_length = 20, max_length = 30)]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[schema(min_length = 20, max_length = 30)]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The end of the device's last offline license file.
    #[schema(min_length = 20, max_length = 30)]
    pub valid_until: Option<DateTime<Utc>>,
    /// When a deactivated device's seat is (or was) free again.
    #[schema(min_length = 20, max_length = 30)]
    pub seat_released_at: Option<DateTime<Utc>>,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        Self {
            id: d.id,
            hardware_id: d.hardware_id,
            hostname: d.hostname,
            platform: d.platform,
            app_version: d.app_version,
            offline: d.offline,
            status: d.status,
            activated_at: utc(d.activated_at),
            last_seen_at: d.last_seen_at.map(utc),
            deactivated_at: d.deactivated_at.map(utc),
            valid_until: d.valid_until.map(utc),
            seat_released_at: d.seat_released_at.map(utc),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatusFilter {
    Active,
    Deactivated,
    All,
}

/// Filters of the device list.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceFilters {
    /// `active` (default), `deactivated` or `all`.
    pub status: Option<DeviceStatusFilter>,
    /// Only offline (`true`) or online (`false`) devices.
    pub offline: Option<bool>,
}

/// The devices collection: sort fields, default order, search.
pub struct Devices;

impl super::Collection for Devices {
    type Field = DeviceSort;
    const SORTS: &'static [(&'static str, DeviceSort)] = &[
        ("activated_at", DeviceSort::ActivatedAt),
        ("last_seen_at", DeviceSort::LastSeenAt),
        ("hostname", DeviceSort::Hostname),
    ];
    const DEFAULT: Sort<DeviceSort> = Sort { field: DeviceSort::ActivatedAt, descending: true };
    const SEARCH: Option<&'static str> = Some("hardware id and hostname");
}

/// The devices of a computer-based license.
///
/// For admins and the license managers of the license's order; a shop API key
/// gets 403 `FORBIDDEN` and a user-based license 409 `WRONG_LICENSE_KIND`.
/// Devices are registered by the software, never here. `status` is `active`
/// (default), `deactivated` or `all`, `offline=true|false` filters; `q`
/// searches hardware id and hostname; `sort` takes `activated_at` (default,
/// newest first), `last_seen_at` or `hostname`.
#[utoipa::path(
    tag = "devices",
    params(("license_id" = String, Path, description = "License id"), ListParams<Devices>, DeviceFilters),
    responses(
        (status = 200, description = "A page of devices", body = Page<DeviceView>),
        (status = 409, description = "`WRONG_LICENSE_KIND`: a user-based license"),
    ),
    security(("bearer" = []))
)]
#[get("/licenses/{license_id}/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<LicenseId>,
    params: Query<ListParams<Devices>>,
    filters: Query<DeviceFilters>,
) -> ApiResult<web::Json<Page<DeviceView>>> {
    let id = path.into_inner();
    let (page, sort, q) = params.resolve()?;
    let q = q.map(str::to_owned);
    let status = match filters.status {
        None | Some(DeviceStatusFilter::Active) => StatusFilter::Active,
        Some(DeviceStatusFilter::Deactivated) => StatusFilter::Deactivated,
        Some(DeviceStatusFilter::All) => StatusFilter::All,
    };
    let offline = filters.offline;
    let scope = scope_of(&caller.0);
    let rows = state
        .db
        .run(move |conn| {
            licensing::devices::license_of(conn, &scope, &id)?;
            ApiResult::Ok(devices::list(conn, &id, status, offline, q.as_deref(), sort, page)?)
        })
        .await?;
    Ok(web::Json(Page::new(rows, page, DeviceView::from)))
}

/// One device.
///
/// For admins and the license managers of the license's order, active or
/// deactivated. `valid_until` is the end of an offline device's last license
/// file; `seat_released_at` says when a deactivated device's seat is (or was)
/// free. A user-based license is 409 `WRONG_LICENSE_KIND`.
#[utoipa::path(
    tag = "devices",
    params(("license_id" = String, Path, description = "License id"), ("device_id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceView), (status = 409, description = "`WRONG_LICENSE_KIND`")),
    security(("bearer" = []))
)]
#[get("/licenses/{license_id}/devices/{device_id}")]
pub async fn get_device(
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, DeviceId)>,
) -> ApiResult<web::Json<DeviceView>> {
    let (license_id, device_id) = path.into_inner();
    let scope = scope_of(&caller.0);
    let device = state.db.run(move |conn| licensing::devices::find(conn, &scope, &license_id, &device_id)).await?;
    Ok(web::Json(device.into()))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct DeactivateDevice {
    /// Admins only: free an offline device's seat now instead of when its
    /// license file runs out.
    #[serde(default)]
    pub force: bool,
}

/// Deactivate a device (idempotent), e.g. a computer that is gone.
///
/// For admins and the license managers of the license's order; the body is
/// optional. An online device's seat is free at once and its next validate
/// answers `NOT_ACTIVATED`. An offline device's license file stays valid until
/// its `valid_until`, so its seat stays taken until then (`seat_released_at`)
/// unless an admin sends `{"force": true}` (a manager doing so gets 403
/// `FORBIDDEN`); a deactivated device may activate again while a seat is free.
#[utoipa::path(
    tag = "devices",
    params(("license_id" = String, Path, description = "License id"), ("device_id" = String, Path, description = "Device id")),
    request_body(
        content = Option<DeactivateDevice>,
        description = "Optional; `force` is for admins",
        examples(
            ("deactivate" = (
                summary = "Deactivate; an offline device keeps its seat until its file runs out",
                value = json!({ "force": false })
            )),
            ("force" = (
                summary = "Admins only: free an offline device's seat now",
                value = json!({ "force": true })
            )),
        )
    ),
    responses(
        (status = 200, description = "The device, deactivated", body = DeviceView),
        (status = 409, description = "`WRONG_LICENSE_KIND`"),
    ),
    security(("bearer" = []))
)]
#[post("/licenses/{license_id}/devices/{device_id}/deactivate")]
pub async fn deactivate_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Person,
    path: web::Path<(LicenseId, DeviceId)>,
    body: OptionalJson<DeactivateDevice>,
) -> ApiResult<web::Json<DeviceView>> {
    let (license_id, device_id) = path.into_inner();
    let force = body.0.unwrap_or_default().force;
    let scope = scope_of(&caller.0);
    let is_admin = matches!(caller.0, Principal::Admin(_));
    let ctx = audit_ctx(&req, &caller.0);
    let now = state.clock.now();
    let device = state
        .db
        .write(move |tx| {
            let ids = (license_id.as_str(), device_id.as_str());
            licensing::devices::deactivate(tx, &ctx, &scope, is_admin, ids, force, now)
        })
        .await?;
    Ok(web::Json(device.into()))
}
