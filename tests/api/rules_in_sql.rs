//! The licensing rules written twice, once in Rust for one row and once in
//! SQL for lists and counts, give the same answers on the engine of the run,
//! at every boundary:
//! - a license's status: `Status::at` and the repositories' `filter_status!`
//!   (the license list's status filter, the dashboard's counts);
//! - whether a device holds a seat: `seats::holds_seat`, and the license's
//!   counter of active devices plus `devices::held_after_deactivation`
//!   (`licenses::seats_used`).
//!
//! Rows are stored through the repositories, read back, judged in Rust and
//! compared with what the SQL selects, at one fixed `now` that some stored
//! times equal exactly.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use license_server::db::DbError;
use license_server::db::schema::{devices, licenses};
use license_server::licensing::seats::holds_seat;
use license_server::licensing::status::Status;
use license_server::models::licenses::{License, LicenseKind};
use license_server::models::seats::{Device, DeviceStatus};
use license_server::repositories::dashboard::{self, Counts};
use license_server::repositories::licenses::{self as license_repo, LicenseFilter, LicenseSort};
use license_server::repositories::list::{PageRequest, Sort};
use license_server::repositories::scope::Scope;

use crate::helpers::TestApp;

const STATUSES: [Status; 3] = [Status::Active, Status::Suspended, Status::Expired];

/// The `now` of every check: whole seconds, so a stored time can equal it exactly.
fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(12, 0, 0).unwrap()
}

/// The stored times around `now()`: none, well before and after, exactly now,
/// and one microsecond (the finest both engines store) either side.
fn times() -> [(&'static str, Option<NaiveDateTime>); 6] {
    let now = now();
    let micro = TimeDelta::microseconds(1);
    [
        ("none", None),
        ("a day before now", Some(now - TimeDelta::days(1))),
        ("1µs before now", Some(now - micro)),
        ("exactly now", Some(now)),
        ("1µs after now", Some(now + micro)),
        ("a day after now", Some(now + TimeDelta::days(1))),
    ]
}

/// A license of the order and product of `like`.
fn license(like: &License, kind: LicenseKind, suspended: bool, expires_at: Option<NaiveDateTime>) -> License {
    let created = now() - TimeDelta::days(30);
    License {
        id: license_server::ids::new_id(),
        license_key: license_server::licensing::keys::generate(),
        kind,
        seats: 20,
        suspended,
        expires_at,
        starts_at: created,
        created_at: created,
        updated_at: created,
        ..like.clone()
    }
}

/// An offline device of `license_id`; deactivated ones were deactivated a week ago.
fn device(license_id: &str, hardware_id: &str, active: bool, seat_released_at: Option<NaiveDateTime>) -> Device {
    let activated = now() - TimeDelta::days(20);
    let deactivated = now() - TimeDelta::days(7);
    Device {
        id: license_server::ids::new_id(),
        license_id: license_id.to_owned(),
        hardware_id: hardware_id.to_owned(),
        hostname: Some(format!("host-{hardware_id}")),
        platform: None,
        app_version: None,
        offline: true,
        status: if active { DeviceStatus::Active } else { DeviceStatus::Deactivated },
        token_hash: None,
        activated_at: activated,
        last_seen_at: None,
        deactivated_at: (!active).then_some(deactivated),
        valid_until: seat_released_at,
        seat_released_at,
        created_at: activated,
        updated_at: if active { activated } else { deactivated },
    }
}

/// What the SQL forms answered, with the stored rows the Rust forms judge.
struct Answers {
    licenses: Vec<License>,
    devices: Vec<Device>,
    listed: Vec<(Status, Vec<String>, i64)>,
    counts: Counts,
    seats_used: HashMap<String, i64>,
}

#[actix_web::test]
async fn status_and_seat_rules_select_in_sql_what_they_decide_in_rust() {
    let app = TestApp::spawn().await;
    let customer = app.order("SO-RULES", "max@rules.example").await;
    let now = now();

    // What each stored row stands for, to name it when the two forms disagree.
    let mut names: HashMap<String, String> = HashMap::new();
    names.insert(customer.user_license_id.clone(), "the order's user-based license".into());
    names.insert(customer.computer_license_id.clone(), "the order's computer-based license".into());

    let template = customer.computer_license_id.clone();
    let rows = app
        .state
        .db
        .write(move |conn| {
            let like = license_repo::find_row(conn, &template)?.ok_or(DbError::NotFound)?;
            let mut licenses = Vec::new();
            let mut devices = Vec::new();
            // Status: suspended or not × every expiry.
            for suspended in [false, true] {
                for (when, expires_at) in times() {
                    let l = license(&like, LicenseKind::UserBased, suspended, expires_at);
                    let name =
                        format!("{} license, expires_at {when}", if suspended { "suspended" } else { "unsuspended" });
                    licenses.push((l, name));
                }
            }
            // Seats: a license per device case, whose count is that device's
            // seat alone, and one license holding a device of every case.
            let all = license(&like, LicenseKind::ComputerBased, false, None);
            for active in [true, false] {
                for (i, (when, released)) in times().into_iter().enumerate() {
                    let case = format!(
                        "{} device, seat_released_at {when}",
                        if active { "an active" } else { "a deactivated" }
                    );
                    let hardware_id = format!("{}-{i}", if active { "active" } else { "gone" });
                    let own = license(&like, LicenseKind::ComputerBased, false, None);
                    devices.push(device(&own.id, &hardware_id, active, released));
                    devices.push(device(&all.id, &hardware_id, active, released));
                    licenses.push((own, format!("the license whose one device is {case}")));
                }
            }
            licenses.push((all, "the license with a device of every case".into()));
            // Stored directly, not through the use cases: set the counter they keep.
            for (l, _) in &mut licenses {
                let active = devices.iter().filter(|d| d.license_id == l.id && d.status == DeviceStatus::Active);
                l.seats_held = i32::try_from(active.count()).expect("few devices");
            }
            for (l, _) in &licenses {
                license_repo::insert(conn, l)?;
            }
            for d in &devices {
                license_server::repositories::devices::insert(conn, d)?;
            }
            Ok::<_, DbError>(licenses.into_iter().map(|(l, name)| (l.id, name)).collect::<Vec<_>>())
        })
        .await
        .expect("insert the cases");
    names.extend(rows);

    let answers = app
        .state
        .db
        .run(move |conn| {
            let stored_licenses = licenses::table.select(License::as_select()).load(conn)?;
            let stored_devices = devices::table.select(Device::as_select()).load(conn)?;
            let mut listed = Vec::new();
            for status in STATUSES {
                let filter = LicenseFilter { status: Some(status), ..LicenseFilter::default() };
                let sort = Sort { field: LicenseSort::CreatedAt, descending: false };
                let page = PageRequest { page: 1, per_page: 1000 };
                let found = license_repo::list(conn, &Scope::All, &filter, sort, page, now)?;
                listed.push((status, found.items.into_iter().map(|row| row.license.id).collect(), found.total));
            }
            let computer_based: Vec<&License> =
                stored_licenses.iter().filter(|l| l.kind == LicenseKind::ComputerBased).collect();
            Ok::<_, DbError>(Answers {
                counts: dashboard::counts(conn, &Scope::All, now)?,
                seats_used: license_repo::seats_used(conn, &computer_based, now)?,
                licenses: stored_licenses,
                devices: stored_devices,
                listed,
            })
        })
        .await
        .expect("ask the SQL forms");

    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| format!("license {id}"));
    let mut disagreements = Vec::new();

    // The license list filtered by each status.
    for (status, ids, total) in &answers.listed {
        let decided: BTreeSet<String> =
            answers.licenses.iter().filter(|l| Status::of(l, now) == *status).map(|l| name(&l.id)).collect();
        assert!(!decided.is_empty(), "no case is {status:?} at {now}: the grid misses a status");
        let selected: BTreeSet<String> = ids.iter().map(|id| name(id)).collect();
        for missing in decided.difference(&selected) {
            disagreements.push(format!("{missing}: Status::of says {status:?}, filter_status! does not select it"));
        }
        for extra in selected.difference(&decided) {
            disagreements.push(format!("{extra}: filter_status! selects it as {status:?}, Status::of disagrees"));
        }
        if *total != ids.len() as i64 {
            disagreements.push(format!("the {status:?} list counts {total} licenses but lists {}", ids.len()));
        }
    }

    // The dashboard's counts.
    let decided = |status: Status| answers.licenses.iter().filter(|l| Status::of(l, now) == status).count() as i64;
    let counted = &answers.counts;
    for (label, sql, rust) in [
        ("suspended", counted.suspended, decided(Status::Suspended)),
        ("expired", counted.expired, decided(Status::Expired)),
        ("active", counted.active, decided(Status::Active)),
        ("licenses", counted.licenses, answers.licenses.len() as i64),
    ] {
        if sql != rust {
            disagreements.push(format!("dashboard counts {sql} {label}, Status::of {rust}"));
        }
    }

    // Seats in use on every computer-based license.
    assert!(answers.devices.iter().any(|d| holds_seat(d, now)), "no device holds a seat");
    assert!(answers.devices.iter().any(|d| !holds_seat(d, now)), "every device holds a seat");
    for l in answers.licenses.iter().filter(|l| l.kind == LicenseKind::ComputerBased) {
        let holding = answers.devices.iter().filter(|d| d.license_id == l.id && holds_seat(d, now)).count() as i64;
        let used = answers.seats_used.get(&l.id).copied().unwrap_or(0);
        if used != holding {
            disagreements.push(format!(
                "{}: seats_used (counter + held_after_deactivation) counts {used}, holds_seat {holding}",
                name(&l.id)
            ));
        }
    }

    assert!(
        disagreements.is_empty(),
        "the SQL and Rust forms of the licensing rules disagree at {now}:\n  {}",
        disagreements.join("\n  ")
    );
}
