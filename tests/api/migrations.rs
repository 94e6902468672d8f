//! Migrations run up → down → up on the engine of this run.

use diesel::prelude::*;
use license_server::db;

use crate::helpers::TestDb;

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

        assert_eq!(db::run_migrations(&mut conn).unwrap(), 1);
        assert!(db::migrations_complete(&mut conn));
        assert_eq!(count(&mut conn).unwrap(), 0);
    })
    .await
    .unwrap();
}

#[test]
fn both_engines_have_the_same_migrations() {
    let list = |engine: &str| -> Vec<String> {
        let dir = format!("{}/migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    assert_eq!(list("sqlite"), list("postgres"));
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
