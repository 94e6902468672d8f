//! Rules about the computers of computer-based licenses.

use crate::models::seats::{DEVICE_DEACTIVATED, Device};

/// Why an offline deactivation request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflineDeparture {
    /// No device with this hardware id holds an activation.
    NotActivated,
    /// The device activated online: an unsigned request file must never end
    /// another machine's activation (anyone who knows the license key and a
    /// hardware id could write one).
    NotOfflineDevice,
}

/// May `device` leave through `POST /client/offline/deactivate`? Only a device
/// whose current activation was made offline.
pub fn may_leave_offline(device: Option<&Device>) -> Result<&Device, OfflineDeparture> {
    let device = device.filter(|d| d.status != DEVICE_DEACTIVATED).ok_or(OfflineDeparture::NotActivated)?;
    if device.offline { Ok(device) } else { Err(OfflineDeparture::NotOfflineDevice) }
}

/// A description field of a re-activation: what the software sent, or, when
/// it left the field out, what was stored before.
pub fn kept<'a>(sent: Option<&'a str>, stored: Option<&'a str>) -> Option<&'a str> {
    sent.or(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::seats::DEVICE_ACTIVE;
    use chrono::NaiveDateTime;

    fn device(offline: bool, status: &str) -> Device {
        let at = NaiveDateTime::default();
        Device {
            id: "d".into(),
            license_id: "l".into(),
            hardware_id: "hw".into(),
            hostname: None,
            platform: None,
            app_version: None,
            offline,
            status: status.into(),
            token_hash: None,
            activated_at: at,
            last_seen_at: None,
            deactivated_at: None,
            valid_until: None,
            seat_released_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn only_an_active_offline_device_leaves_offline() {
        assert!(may_leave_offline(Some(&device(true, DEVICE_ACTIVE))).is_ok());
        assert_eq!(
            may_leave_offline(Some(&device(false, DEVICE_ACTIVE))).unwrap_err(),
            OfflineDeparture::NotOfflineDevice
        );
        assert_eq!(
            may_leave_offline(Some(&device(true, DEVICE_DEACTIVATED))).unwrap_err(),
            OfflineDeparture::NotActivated
        );
        assert_eq!(may_leave_offline(None).unwrap_err(), OfflineDeparture::NotActivated);
    }

    #[test]
    fn omitted_fields_keep_their_stored_values() {
        assert_eq!(kept(None, Some("pc-1")), Some("pc-1"));
        assert_eq!(kept(Some("pc-2"), Some("pc-1")), Some("pc-2"));
        assert_eq!(kept(None, None), None);
    }
}
