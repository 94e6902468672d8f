//! Both migration trees build the same schema. After a fresh SQLite file and a
//! fresh PostgreSQL database are migrated, their catalogs must describe the same
//! tables, columns (name, nullability, portable type), primary keys, unique
//! constraints, indexes (table, columns, unique, partial predicate; not names)
//! and foreign keys (columns → referenced table and columns, on delete/update).
//!
//! The indexes behind primary keys and unique constraints (SQLite's
//! `sqlite_autoindex_*`, PostgreSQL's constraint indexes) are compared as those
//! constraints; "indexes" are the ones a migration creates with CREATE INDEX.
//! Not compared: column order, defaults, CHECK constraints.
//!
//! The comparison needs PostgreSQL (`TEST_POSTGRES_URL`); without it, it says so
//! and passes. The SQLite reader and the type mapping are checked on every run.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text};
use license_server::db::{self, AnyConnection, DatabaseUrl};

use crate::helpers::{TestDb, migration_names, postgres_url};

/// Differences between the engines that are known and accepted, each exactly as
/// the comparison prints it, with a comment: the engine-specific reason, or
/// `// BUG:` and what should be fixed in the migrations.
/// An entry that no longer differs fails the test, so the list stays true.
const KNOWN_DIFFERENCES: &[&str] = &[];

// ------------------------------------------------------------- portable types

/// SQLite declared types (`pragma_table_info.type`, upper-cased) → portable type.
/// Only what the migrations use; a new type fails until it gets a row here.
const SQLITE_TYPES: &[(&str, &str)] =
    &[("TEXT", "text"), ("INTEGER", "integer"), ("BOOLEAN", "boolean"), ("TIMESTAMP", "timestamp")];

/// PostgreSQL `information_schema.columns.data_type` → portable type.
/// Only what the migrations use; a new type fails until it gets a row here.
const POSTGRES_TYPES: &[(&str, &str)] = &[
    ("text", "text"),
    ("integer", "integer"),
    ("boolean", "boolean"),
    ("timestamp without time zone", "timestamp"),
    // How the migrations spell the row above (the catalog never reports it),
    // for the check that reads the migration files.
    ("timestamp", "timestamp"),
];

/// The portable type of a column type as `engine` declares it.
fn portable(engine: &str, declared: &str) -> Result<&'static str, String> {
    let words = declared.split_whitespace().collect::<Vec<_>>().join(" ");
    let (table, key, list) = match engine {
        "sqlite" => (SQLITE_TYPES, words.to_ascii_uppercase(), "SQLITE_TYPES"),
        _ => (POSTGRES_TYPES, words.to_ascii_lowercase(), "POSTGRES_TYPES"),
    };
    table.iter().find(|(name, _)| *name == key).map(|(_, portable)| *portable).ok_or_else(|| {
        format!(
            "{engine} type `{declared}` has no portable type: map it in {list} \
             (tests/api/schema_equality.rs), unless the migration is wrong"
        )
    })
}

// ------------------------------------------------------------------ the model

/// What one engine's catalog says, as readable facts: (table, subject) → descriptions.
#[derive(Default)]
struct Schema {
    tables: BTreeSet<String>,
    facts: BTreeMap<(String, String), Vec<String>>,
    /// Columns whose type has no portable type.
    unmapped: Vec<String>,
}

fn list(columns: &[String]) -> String {
    format!("({})", columns.join(", "))
}

impl Schema {
    fn fact(&mut self, table: &str, subject: String, description: String) {
        self.facts.entry((table.to_owned(), subject)).or_default().push(description);
    }

    fn column(&mut self, engine: &str, table: &str, column: &str, declared: &str, nullable: bool) {
        let kind = portable(engine, declared).unwrap_or_else(|e| {
            self.unmapped.push(format!("{table}.{column}: {e}"));
            "unmapped"
        });
        let null = if nullable { "nullable" } else { "not null" };
        self.fact(table, format!("{table}.{column}"), format!("{null} {kind}"));
    }

    fn primary_key(&mut self, table: &str, columns: &[String]) {
        self.fact(table, format!("{table} primary key"), list(columns));
    }

    fn unique(&mut self, table: &str, columns: &[String]) {
        self.fact(table, format!("unique constraint on {table} {}", list(columns)), "present".into());
    }

    fn index(&mut self, table: &str, columns: &[String], unique: bool, predicate: Option<&str>) {
        let mut description = if unique { "unique" } else { "not unique" }.to_owned();
        if let Some(predicate) = predicate {
            description.push_str(" where ");
            description.push_str(&normalize_predicate(predicate));
        }
        self.fact(table, format!("index on {table} {}", list(columns)), description);
    }

    fn foreign_key(&mut self, table: &str, columns: &[String], target: (&str, &[String]), rules: (&str, &str)) {
        let (to_table, to_columns) = target;
        let (on_delete, on_update) = rules;
        self.fact(
            table,
            format!("foreign key {table} {}", list(columns)),
            format!(
                "→ {to_table} {} on delete {} on update {}",
                list(to_columns),
                on_delete.to_ascii_lowercase(),
                on_update.to_ascii_lowercase()
            ),
        );
    }

    /// The facts of one subject, whatever order the catalog listed them in.
    fn describe(&self, key: &(String, String)) -> String {
        match self.facts.get(key) {
            None => "absent".into(),
            Some(descriptions) => {
                let mut descriptions = descriptions.clone();
                descriptions.sort();
                descriptions.join("; ")
            }
        }
    }

    /// How many facts of each kind there are (a reader that reads nothing would compare equal).
    fn count(&self, kind: &str) -> usize {
        self.facts.keys().filter(|(_, subject)| subject.contains(kind)).count()
    }
}

/// A partial index predicate in a form both engines agree on: PostgreSQL
/// prints `(ended_at IS NULL)` and casts literals (`'x'::text`), SQLite keeps
/// the migration's text. Lower-cased outside string literals, without
/// parentheses or casts, single-spaced.
fn normalize_predicate(predicate: &str) -> String {
    let mut out = String::new();
    let mut chars = predicate.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            out.push(c);
            quoted = c != '\'';
        } else if c == '\'' {
            out.push(c);
            quoted = true;
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                chars.next();
            }
        } else if c == '(' || c == ')' {
            out.push(' ');
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every difference, one readable line each.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut lines: Vec<String> =
        sqlite.unmapped.iter().chain(&postgres.unmapped).map(|u| format!("unmapped type: {u}")).collect();
    for table in sqlite.tables.symmetric_difference(&postgres.tables) {
        let only = if sqlite.tables.contains(table) { "sqlite" } else { "postgres" };
        lines.push(format!("table {table}: only in {only}"));
    }
    let keys: BTreeSet<&(String, String)> = sqlite.facts.keys().chain(postgres.facts.keys()).collect();
    for key in keys {
        if !(sqlite.tables.contains(&key.0) && postgres.tables.contains(&key.0)) {
            continue; // the table's line says it all
        }
        let (s, p) = (sqlite.describe(key), postgres.describe(key));
        if s != p {
            lines.push(format!("{}: sqlite {s}, postgres {p}", key.1));
        }
    }
    lines
}

// ------------------------------------------------------------- SQLite catalog

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    is_unique: i32,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Integer)]
    partial: i32,
}

#[derive(QueryableByName)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteSql {
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteForeignKey {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    to_table: String,
    #[diesel(sql_type = Text)]
    from_column: String,
    #[diesel(sql_type = Nullable<Text>)]
    to_column: Option<String>,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

fn sqlite_columns(conn: &mut SqliteConnection, table: &str) -> Vec<SqliteColumn> {
    diesel::sql_query(
        "SELECT name, type AS declared, \"notnull\" AS not_null, pk FROM pragma_table_info(?) ORDER BY cid",
    )
    .bind::<Text, _>(table)
    .load(conn)
    .expect("pragma_table_info")
}

/// The primary key columns of a table, in key order.
fn sqlite_primary_key(conn: &mut SqliteConnection, table: &str) -> Vec<String> {
    let mut key: Vec<(i32, String)> =
        sqlite_columns(conn, table).into_iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name)).collect();
    key.sort();
    key.into_iter().map(|(_, name)| name).collect()
}

/// The text after the last WHERE of an index's CREATE statement.
fn sqlite_predicate(conn: &mut SqliteConnection, index: &str) -> String {
    let rows: Vec<SqliteSql> = diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?")
        .bind::<Text, _>(index)
        .load(conn)
        .expect("index sql");
    let sql = rows.into_iter().find_map(|r| r.sql).unwrap_or_else(|| panic!("no CREATE INDEX text for {index}"));
    let at = sql.to_ascii_uppercase().rfind("WHERE").unwrap_or_else(|| panic!("a partial index without WHERE: {sql}"));
    sql[at + "WHERE".len()..].to_owned()
}

fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("sqlite_master");
    let mut schema = Schema { tables: tables.into_iter().map(|t| t.name).collect(), ..Schema::default() };
    for table in schema.tables.clone() {
        for column in sqlite_columns(conn, &table) {
            schema.column("sqlite", &table, &column.name, &column.declared, column.not_null == 0);
        }
        let key = sqlite_primary_key(conn, &table);
        if !key.is_empty() {
            schema.primary_key(&table, &key);
        }

        let indexes: Vec<SqliteIndex> =
            diesel::sql_query("SELECT name, \"unique\" AS is_unique, origin, partial FROM pragma_index_list(?)")
                .bind::<Text, _>(&table)
                .load(conn)
                .expect("pragma_index_list");
        for index in indexes {
            let columns: Vec<SqliteIndexColumn> =
                diesel::sql_query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind::<Text, _>(&index.name)
                    .load(conn)
                    .expect("pragma_index_info");
            let columns: Vec<String> =
                columns.into_iter().map(|c| c.name.unwrap_or_else(|| "<expression>".into())).collect();
            match index.origin.as_str() {
                "pk" => {} // the primary key, read above
                "u" => schema.unique(&table, &columns),
                _ => {
                    let predicate = (index.partial != 0).then(|| sqlite_predicate(conn, &index.name));
                    schema.index(&table, &columns, index.is_unique != 0, predicate.as_deref());
                }
            }
        }

        let references: Vec<SqliteForeignKey> = diesel::sql_query(
            "SELECT id, \"table\" AS to_table, \"from\" AS from_column, \"to\" AS to_column, on_update, on_delete \
             FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind::<Text, _>(&table)
        .load(conn)
        .expect("pragma_foreign_key_list");
        let mut by_id: BTreeMap<i32, Vec<SqliteForeignKey>> = BTreeMap::new();
        for reference in references {
            by_id.entry(reference.id).or_default().push(reference);
        }
        for parts in by_id.values() {
            let first = &parts[0];
            let from: Vec<String> = parts.iter().map(|p| p.from_column.clone()).collect();
            // `REFERENCES t` without columns names t's primary key.
            let to: Vec<String> = match parts.iter().map(|p| p.to_column.clone()).collect::<Option<Vec<_>>>() {
                Some(to) => to,
                None => sqlite_primary_key(conn, &first.to_table),
            };
            schema.foreign_key(&table, &from, (&first.to_table, &to), (&first.on_delete, &first.on_update));
        }
    }
    schema
}

// --------------------------------------------------------- PostgreSQL catalog

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct PgKeyColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Text)]
    constraint_type: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct PgIndexColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
}

#[derive(QueryableByName)]
struct PgForeignKeyColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    to_table: String,
    #[diesel(sql_type = Text)]
    to_column: String,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

/// Groups rows by a key, keeping the rows' order (the queries sort by position).
fn grouped<T, K: Ord>(rows: Vec<T>, key: impl Fn(&T) -> K) -> BTreeMap<K, Vec<T>> {
    let mut groups: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}

fn postgres_schema(conn: &mut PgConnection) -> Schema {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("information_schema.tables");
    let mut schema = Schema { tables: tables.into_iter().map(|t| t.name).collect(), ..Schema::default() };

    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
         udt_name::text AS udt_name, is_nullable::text AS is_nullable \
         FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    )
    .load(conn)
    .expect("information_schema.columns");
    for c in &columns {
        if !schema.tables.contains(&c.table_name) {
            continue;
        }
        // `USER-DEFINED`/`ARRAY` say little; the catalog type name says which.
        let declared = if c.data_type == "USER-DEFINED" || c.data_type == "ARRAY" { &c.udt_name } else { &c.data_type };
        schema.column("postgres", &c.table_name, &c.column_name, declared, c.is_nullable == "YES");
    }

    let keys: Vec<PgKeyColumn> = diesel::sql_query(
        "SELECT tc.table_name::text AS table_name, tc.constraint_name::text AS constraint_name, \
         tc.constraint_type::text AS constraint_type, kcu.column_name::text AS column_name \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage kcu \
           ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name \
          AND kcu.table_name = tc.table_name \
         WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE') \
         ORDER BY tc.table_name, tc.constraint_name, kcu.ordinal_position",
    )
    .load(conn)
    .expect("table_constraints");
    for ((table, _), parts) in grouped(keys, |k| (k.table_name.clone(), k.constraint_name.clone())) {
        if !schema.tables.contains(&table) {
            continue;
        }
        let columns: Vec<String> = parts.iter().map(|p| p.column_name.clone()).collect();
        if parts[0].constraint_type == "PRIMARY KEY" {
            schema.primary_key(&table, &columns);
        } else {
            schema.unique(&table, &columns);
        }
    }

    // Indexes other than the ones behind primary keys and unique constraints
    // (those are compared as the constraints above), key columns only.
    let indexes: Vec<PgIndexColumn> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, x.indisunique AS is_unique, \
         pg_get_expr(x.indpred, x.indrelid) AS predicate, a.attname::text AS column_name \
         FROM pg_index x \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum <> 0 \
         WHERE n.nspname = current_schema() AND k.ord <= x.indnkeyatts \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u')) \
         ORDER BY t.relname, i.relname, k.ord",
    )
    .load(conn)
    .expect("pg_index");
    for ((table, _), parts) in grouped(indexes, |i| (i.table_name.clone(), i.index_name.clone())) {
        if !schema.tables.contains(&table) {
            continue;
        }
        let columns: Vec<String> =
            parts.iter().map(|p| p.column_name.clone().unwrap_or_else(|| "<expression>".into())).collect();
        schema.index(&table, &columns, parts[0].is_unique, parts[0].predicate.as_deref());
    }

    let references: Vec<PgForeignKeyColumn> = diesel::sql_query(
        "SELECT kcu.table_name::text AS table_name, kcu.constraint_name::text AS constraint_name, \
         kcu.column_name::text AS column_name, ref.table_name::text AS to_table, \
         ref.column_name::text AS to_column, rc.update_rule::text AS on_update, rc.delete_rule::text AS on_delete \
         FROM information_schema.referential_constraints rc \
         JOIN information_schema.key_column_usage kcu \
           ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = rc.constraint_name \
         JOIN information_schema.key_column_usage ref \
           ON ref.constraint_schema = rc.unique_constraint_schema \
          AND ref.constraint_name = rc.unique_constraint_name \
          AND ref.ordinal_position = kcu.position_in_unique_constraint \
         WHERE rc.constraint_schema = current_schema() \
         ORDER BY kcu.table_name, kcu.constraint_name, kcu.ordinal_position",
    )
    .load(conn)
    .expect("referential_constraints");
    for ((table, _), parts) in grouped(references, |r| (r.table_name.clone(), r.constraint_name.clone())) {
        if !schema.tables.contains(&table) {
            continue;
        }
        let first = &parts[0];
        let from: Vec<String> = parts.iter().map(|p| p.column_name.clone()).collect();
        let to: Vec<String> = parts.iter().map(|p| p.to_column.clone()).collect();
        schema.foreign_key(&table, &from, (&first.to_table, &to), (&first.on_delete, &first.on_update));
    }
    schema
}

/// Migrates the database (a no-op on a copied, migrated PostgreSQL template) and reads its catalog.
fn read_schema(url: &DatabaseUrl) -> Schema {
    let pool = db::connect(url, 1).expect("pool");
    let mut pooled = pool.get().expect("connection");
    let conn: &mut AnyConnection = &mut pooled;
    db::run_migrations(conn).expect("migrate");
    match conn {
        AnyConnection::Sqlite(c) => sqlite_schema(c),
        AnyConnection::Postgresql(c) => postgres_schema(c),
    }
}

/// A fresh, migrated SQLite file's schema.
fn fresh_sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().expect("temp dir");
    read_schema(&DatabaseUrl::Sqlite(dir.path().join("schema.db")))
}

/// Fails unless the reader found every kind of fact (an empty read compares equal).
#[track_caller]
fn assert_read_something(engine: &str, schema: &Schema) {
    assert!(schema.tables.contains("accounts"), "{engine}: no accounts table in {:?}", schema.tables);
    // Column subjects are `table.column`; the others start with their kind.
    for kind in [".", "primary key", "unique constraint on", "index on", "foreign key"] {
        assert!(schema.count(kind) > 0, "{engine}: the catalog reader found no `{kind}` facts");
    }
}

// ---------------------------------------------------------------------- tests

#[actix_web::test]
async fn both_migration_trees_build_the_same_schema() {
    if postgres_url().is_none() {
        println!(
            "schema_equality: compares the SQLite and PostgreSQL schemas only when PostgreSQL is configured \
             (TEST_POSTGRES_URL); skipped"
        );
        return;
    }
    let (_postgres_db, postgres_url) = TestDb::create().await;
    assert_eq!(postgres_url.engine(), "postgres");
    let (sqlite, postgres) =
        tokio::task::spawn_blocking(move || (fresh_sqlite_schema(), read_schema(&postgres_url))).await.unwrap();
    assert_read_something("sqlite", &sqlite);
    assert_read_something("postgres", &postgres);

    let found = differences(&sqlite, &postgres);
    let unexpected: Vec<&String> = found.iter().filter(|d| !KNOWN_DIFFERENCES.contains(&d.as_str())).collect();
    let stale: Vec<&&str> = KNOWN_DIFFERENCES.iter().filter(|k| !found.iter().any(|d| d == *k)).collect();
    let mut message = String::new();
    if !unexpected.is_empty() {
        message.push_str(&format!(
            "migrations/sqlite and migrations/postgres build different schemas ({} differences):\n",
            unexpected.len()
        ));
        for d in &unexpected {
            message.push_str(&format!("  {d}\n"));
        }
    }
    if !stale.is_empty() {
        message.push_str("KNOWN_DIFFERENCES lists differences that are gone (remove them):\n");
        for d in &stale {
            message.push_str(&format!("  {d}\n"));
        }
    }
    assert!(message.is_empty(), "{message}");
}

#[test]
fn the_sqlite_catalog_reader_sees_what_the_migrations_declare() {
    let schema = fresh_sqlite_schema();
    assert_read_something("sqlite", &schema);
    assert!(schema.unmapped.is_empty(), "{:?}", schema.unmapped);
    assert!(
        !schema.tables.iter().any(|t| t.starts_with("sqlite_") || t.starts_with("__diesel")),
        "{:?}",
        schema.tables
    );
    let fact = |table: &str, subject: &str| schema.describe(&(table.to_owned(), subject.to_owned()));
    assert_eq!(fact("devices", "devices.hostname"), "nullable text");
    assert_eq!(fact("devices", "devices.offline"), "not null boolean");
    assert_eq!(fact("licenses", "licenses.seats"), "not null integer");
    assert_eq!(fact("licenses", "licenses.expires_at"), "nullable timestamp");
    assert_eq!(fact("order_managers", "order_managers primary key"), "(order_id, account_id)");
    assert_eq!(fact("devices", "unique constraint on devices (license_id, hardware_id)"), "present");
    assert_eq!(fact("accounts", "unique constraint on accounts (email)"), "present");
    assert_eq!(fact("devices", "index on devices (license_id, status)"), "not unique");
    assert_eq!(
        fact("user_activations", "index on user_activations (license_user_id)"),
        "unique where ended_at is null"
    );
    assert_eq!(
        fact("api_keys", "foreign key api_keys (created_by)"),
        "→ accounts (id) on delete set null on update no action"
    );
    assert_eq!(
        fact("accounts", "foreign key accounts (bound_customer_id)"),
        "→ customers (id) on delete restrict on update no action"
    );
    // The constraint indexes are not indexes here.
    assert_eq!(fact("accounts", "index on accounts (email)"), "absent");
    assert_eq!(fact("accounts", "index on accounts (id)"), "absent");
}

/// Every column type `CREATE TABLE … (…)` and `ADD COLUMN` declare in an
/// engine's up migrations, as (where, type). A small reader of these files,
/// not of SQL at large.
fn declared_types(engine: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for migration in migration_names(engine) {
        let path = format!("{}/migrations/{engine}/{migration}/up.sql", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let sql: String = text.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        let upper = sql.to_ascii_uppercase();
        let type_of = |words: &mut std::str::SplitWhitespace| -> String {
            let word = words.next().unwrap_or("");
            word.split(['(', ',', ';']).next().unwrap_or("").to_owned()
        };

        let mut from = 0;
        while let Some(at) = upper[from..].find("CREATE TABLE") {
            let start = from + at + "CREATE TABLE".len();
            let open = start + sql[start..].find('(').expect("CREATE TABLE without (");
            let table = sql[start..open].split_whitespace().last().unwrap_or("?").to_owned();
            let (mut depth, mut quoted, mut item, mut close) = (0, false, String::new(), open);
            let mut items = Vec::new();
            for (i, c) in sql[open..].char_indices() {
                match c {
                    '\'' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + i;
                            break;
                        }
                    }
                    ',' if !quoted && depth == 1 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                if i > 0 {
                    item.push(c);
                }
            }
            items.push(item);
            for item in items {
                let mut words = item.split_whitespace();
                let Some(column) = words.next() else { continue };
                let constraint = ["PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT", "EXCLUDE"];
                if constraint.contains(&column.to_ascii_uppercase().as_str()) {
                    continue;
                }
                found.push((format!("{migration}: {table}.{column}"), type_of(&mut words)));
            }
            from = close;
        }

        let mut from = 0;
        while let Some(at) = upper[from..].find("ADD COLUMN") {
            let start = from + at + "ADD COLUMN".len();
            let mut words = sql[start..].split_whitespace();
            let column = words.next().unwrap_or("?").to_owned();
            found.push((format!("{migration}: ADD COLUMN {column}"), type_of(&mut words)));
            from = start;
        }
    }
    found
}

#[test]
fn the_portable_mapping_covers_every_type_the_migrations_declare() {
    let mut unmapped = Vec::new();
    for engine in ["sqlite", "postgres"] {
        let declared = declared_types(engine);
        assert!(declared.len() > 100, "{engine}: the migration reader found only {declared:?}");
        for (place, declared) in declared {
            if let Err(e) = portable(engine, &declared) {
                unmapped.push(format!("{engine} {place}: {e}"));
            }
        }
    }
    assert!(unmapped.is_empty(), "types without a portable type:\n  {}", unmapped.join("\n  "));
}

#[test]
fn an_unmapped_type_fails_with_a_clear_message() {
    let err = portable("sqlite", "BLOB").expect_err("BLOB is not used, so not mapped");
    assert!(err.contains("sqlite type `BLOB`") && err.contains("SQLITE_TYPES"), "{err}");
    let err = portable("postgres", "jsonb").expect_err("jsonb is not used, so not mapped");
    assert!(err.contains("postgres type `jsonb`") && err.contains("POSTGRES_TYPES"), "{err}");
    assert_eq!(portable("postgres", "timestamp  without time zone"), Ok("timestamp"));
    assert_eq!(portable("sqlite", "boolean"), Ok("boolean"));

    let mut sqlite = Schema::default();
    sqlite.tables.insert("t".into());
    sqlite.column("sqlite", "t", "c", "BLOB", true);
    let mut postgres = Schema::default();
    postgres.tables.insert("t".into());
    postgres.column("postgres", "t", "c", "text", false);
    let found = differences(&sqlite, &postgres);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("unmapped type: t.c: sqlite type `BLOB`"), "{found:?}");
    assert_eq!(found[1], "t.c: sqlite nullable unmapped, postgres not null text");
}

#[test]
fn partial_index_predicates_compare_in_one_form() {
    assert_eq!(normalize_predicate(" ended_at IS NULL"), "ended_at is null");
    assert_eq!(normalize_predicate("(ended_at IS NULL)"), "ended_at is null");
    assert_eq!(normalize_predicate("((status = 'Active'::text))"), "status = 'Active'");
}
