//! Migrations run up → down → up on the engine of this run.

use diesel::prelude::*;
use license_server::db;

use serde_json::json;

use crate::helpers::{TestApp, TestDb, id_of, migration_names};

/// Adds a manager to an order as `token` (asserts 201) and returns its account id.
async fn add(app: &TestApp, order_id: &str, token: &str, email: &str) -> String {
    let answer = app.post(&format!("/orders/{order_id}/managers"), token, json!({ "email": email })).await;
    id_of(&answer.assert_status(201)["manager"])
}

#[actix_web::test]
async fn migrations_go_up_down_and_up_again() {
    let (_test_db, url) = TestDb::create().await;
    tokio::task::spawn_blocking(move || {
        let pool = db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        // A copied PostgreSQL template is migrated already; SQLite starts empty.
        db::run_migrations(&mut conn).unwrap();
        assert!(db::migrations_complete(&mut conn));
        let count =
            |conn: &mut db::AnyConnection| license_server::db::schema::licenses::table.count().get_result::<i64>(conn);
        assert_eq!(count(&mut conn).unwrap(), 0);

        db::revert_all_migrations(&mut conn).unwrap();
        assert!(!db::migrations_complete(&mut conn));
        assert!(count(&mut conn).is_err(), "tables are gone after down");

        assert_eq!(db::run_migrations(&mut conn).unwrap(), migration_names("sqlite").len());
        assert!(db::migrations_complete(&mut conn));
        assert_eq!(count(&mut conn).unwrap(), 0);
    })
    .await
    .unwrap();
}

#[test]
fn both_engines_have_the_same_migrations() {
    assert_eq!(migration_names("sqlite"), migration_names("postgres"));
}

#[test]
fn a_missing_directory_fails_clearly_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("x.db");
    let err = db::connect(&db::DatabaseUrl::Sqlite(path.clone()), 1).expect_err("refused");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn a_new_sqlite_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let _pool = db::connect(&db::DatabaseUrl::Sqlite(path.clone()), 1).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[actix_web::test]
async fn the_migration_binds_the_accounts_that_managers_created() {
    use diesel_migrations::MigrationHarness;
    use license_server::db::AnyConnection;
    use license_server::db::schema::accounts;

    let app = TestApp::spawn().await;
    let shop = app.shop_key().await;
    let a = app.order("SO-A", "max@a.example").await;
    let by_manager = add(&app, &a.order_id, &a.manager_token, "by-manager@a.example").await;
    let by_admin = add(&app, &a.order_id, &app.admin_token, "by-admin@a.example").await;
    let body = json!({
        "number": "SO-B",
        "customer": { "company": "B" },
        "licenses": [{ "product_code": "CODE-SO-A", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "by-shop@b.example" }],
    });
    let by_shop = id_of(&app.post("/orders", &shop, body).await.assert_status(201)["managers"][0]);

    // Take the binding migration back (its column goes with it) and apply it
    // again: only its data step can set the column now.
    let bound = app
        .state
        .db
        .run(|conn| {
            let revert_last = |conn: &mut AnyConnection| match conn {
                AnyConnection::Sqlite(c) => c.revert_last_migration(db::SQLITE_MIGRATIONS).map(|v| v.to_string()),
                AnyConnection::Postgresql(c) => c.revert_last_migration(db::POSTGRES_MIGRATIONS).map(|v| v.to_string()),
            };
            let mut reverted = Vec::new();
            while !reverted.last().is_some_and(|v: &String| v.starts_with("20261201000001")) {
                assert!(reverted.len() < 20, "the binding migration was not found: {reverted:?}");
                reverted.push(revert_last(conn).expect("revert a migration"));
            }
            db::run_migrations(conn).expect("migrate again");
            Ok::<_, license_server::db::DbError>(
                accounts::table
                    .select((accounts::id, accounts::bound_customer_id))
                    .load::<(String, Option<String>)>(conn)?,
            )
        })
        .await
        .unwrap();

    let bound: std::collections::HashMap<String, Option<String>> = bound.into_iter().collect();
    assert_eq!(bound[&by_manager], a.order["customer"]["id"].as_str().map(str::to_owned));
    assert_eq!(bound[&by_admin], None);
    assert_eq!(bound[&by_shop], None);
    assert_eq!(bound[&a.manager_id], None);
    assert_eq!(bound.values().filter(|b| b.is_some()).count(), 1, "the admin is unbound too");
}
