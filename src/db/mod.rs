//! Storage on two engines: an embedded SQLite file (the default) or PostgreSQL.
//!
//! The engine is picked from the URL scheme here, never by trial: diesel's
//! derived `establish` would try each backend in turn, and SQLite accepts any
//! string as a file name, so a mistyped PostgreSQL URL would silently create a file.

pub mod error;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use self::error::{DbError, Failure, StorageError};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The default database: a file in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "license-server.db";

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Where the data lives, parsed once from `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `postgres://…`/`postgresql://…`, `sqlite://PATH`, `sqlite:PATH` or a
    /// bare file path. Any other scheme is refused rather than taken as a file name.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            return Self::sqlite_path(path);
        }
        if let Some((scheme, _)) = url.split_once(':') {
            let looks_like_scheme = !scheme.is_empty()
                && scheme.len() > 1 // a Windows drive letter is not a scheme
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if looks_like_scheme {
                return Err(format!(
                    "DATABASE_URL has the unsupported scheme `{scheme}:`; use postgres://…, sqlite://PATH or a file path"
                ));
            }
        }
        Self::sqlite_path(url)
    }

    fn sqlite_path(path: &str) -> Result<Self, String> {
        if path.is_empty() || path.contains('?') || path == ":memory:" {
            return Err(format!(
                "`{path}` is not a usable SQLite file path (in-memory databases are not shared between pooled connections)"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A form safe to log: the PostgreSQL password is masked.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite://{}", p.display()),
            Self::Postgres(u) => match url::Url::parse(u) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                _ => u.clone(),
            },
        }
    }
}

/// An r2d2 manager that opens exactly the engine the URL names and sets the
/// SQLite pragmas on every new connection.
#[derive(Clone, Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

/// How long a PostgreSQL connection may sit unused before a checkout checks it.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(30);

/// A pooled connection with what the pool needs to know about its health.
/// Derefs to [`AnyConnection`], so `&mut conn` passes for `&mut AnyConnection`.
pub struct Conn {
    inner: AnyConnection,
    last_used: std::time::Instant,
    broken: bool,
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

impl Conn {
    /// After `f` ran on this connection: remember when, and after a failure
    /// find out whether the connection itself died (a server restart), so the
    /// pool drops it instead of handing it out again.
    /// Returns false when the connection is dead.
    fn after_use(&mut self, failed: bool) -> bool {
        self.last_used = std::time::Instant::now();
        if failed && self.inner.batch_execute("SELECT 1").is_err() {
            self.broken = true;
        }
        !self.broken
    }
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let inner = self.open()?;
        Ok(Conn { inner, last_used: std::time::Instant::now(), broken: false })
    }

    /// SQLite file connections don't die; a PostgreSQL connection unused for a
    /// while is asked `SELECT 1` (a busy one proved itself moments ago, so the
    /// hot path pays no extra round trip).
    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        if matches!(conn.inner, AnyConnection::Postgresql(_)) && conn.last_used.elapsed() > CHECK_IDLE_AFTER {
            conn.inner.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(&mut conn.inner)
    }
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    r2d2::Error::ConnectionError(ConnectionError::BadConnection(
                        "the SQLite path is not valid UTF-8".into(),
                    ))
                })?;
                let mut conn = diesel::SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                // SQLite's own lower() folds ASCII only; searches compare
                // lower(column) with Rust-lower-cased text, so fold alike.
                use diesel::sql_types::{Nullable, Text};
                conn.register_sql_function::<(Nullable<Text>,), Nullable<Text>, _, _, _>(
                    "lower",
                    true,
                    |(text,): (Option<String>,)| text.map(|t| t.to_lowercase()),
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// How long a request waits for a pooled connection by default before it is
/// answered 503 (`LICENSE_SERVER_DB_POOL_TIMEOUT_SECONDS`).
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens the pool with the default wait; see [`connect_with_wait`].
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, String> {
    connect_with_wait(url, max_size, DEFAULT_POOL_TIMEOUT)
}

/// Opens the pool. For SQLite the file is created first (mode 0600) when it is
/// missing; its directory must exist. `wait` bounds a checkout (and the first
/// connect at start); while the database is down r2d2 retries connecting in
/// the background, at most `wait / 2` apart, so it is back that soon after.
pub fn connect_with_wait(url: &DatabaseUrl, max_size: u32, wait: Duration) -> Result<Pool, String> {
    if let DatabaseUrl::Sqlite(path) = url {
        create_sqlite_file(path)?;
    }
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(wait)
        // `Manager::is_valid` decides what a checkout costs: nothing for a
        // file or a busy connection, `SELECT 1` for an idle PostgreSQL one.
        .test_on_check_out(true)
        // r2d2 would log every failed reconnect (several a second while the
        // database is down); `Db` logs an outage once instead.
        .error_handler(Box::new(QuietErrors))
        .build(Manager { url: url.clone() })
        .map_err(|e| format!("cannot open the database {}: {e}", url.redacted()))
}

/// Failed background connects, at debug level only.
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::debug!(%error, "database connect failed");
    }
}

fn create_sqlite_file(path: &std::path::Path) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(format!(
                "cannot create the SQLite file {}: the directory {} does not exist",
                path.display(),
                dir.display()
            ));
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create the SQLite file {}: {e}", path.display())),
    }
}

/// Applies every pending migration of the connection's engine; returns how many ran.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, String> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| format!("migration failed: {e}"))
}

/// True when every embedded migration has been applied.
pub fn migrations_complete(conn: &mut AnyConnection) -> bool {
    let pending = match conn {
        AnyConnection::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    };
    matches!(pending, Ok(0))
}

/// Reverts every applied migration (tests use it for up → down → up).
pub fn revert_all_migrations(conn: &mut AnyConnection) -> Result<(), String> {
    let result = match conn {
        AnyConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        AnyConnection::Postgresql(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| format!("reverting migrations failed: {e}"))
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`,
/// so the write lock is taken up front and concurrent writers queue on the busy
/// timeout instead of failing on a stale snapshot; on PostgreSQL it is a plain
/// transaction (rows that guard invariants are locked with [`lock_row_for_update`]).
pub fn write_transaction<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => match <AnyConnection as Connection>::TransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// Locks one row until the transaction ends: `SELECT … FOR UPDATE` on PostgreSQL;
/// nothing on SQLite, where [`write_transaction`] already holds the write lock.
pub fn lock_row_for_update(conn: &mut AnyConnection, table: LockableTable, id: &str) -> QueryResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        let sql = format!("SELECT 1 FROM {} WHERE id = $1 FOR UPDATE", table.name());
        diesel::sql_query(sql).bind::<diesel::sql_types::Text, _>(id).execute(c)?;
    }
    Ok(())
}

/// The tables whose rows guard an invariant (seats, last manager).
#[derive(Clone, Copy, Debug)]
pub enum LockableTable {
    Licenses,
    Orders,
}

impl LockableTable {
    fn name(self) -> &'static str {
        match self {
            Self::Licenses => "licenses",
            Self::Orders => "orders",
        }
    }
}

/// The shared handle: runs blocking diesel work on the runtime's blocking pool so a
/// pooled connection is never held across an `.await`.
///
/// A request that can't get a connection within the pool's wait, or whose
/// connection turns out dead, is answered 503 `SERVICE_UNAVAILABLE` (with
/// `Retry-After`); a failing query on a live connection stays a 500.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite: point reads run on the calling thread (see [`Db::read`]).
    local: Option<std::sync::Arc<LocalReads>>,
    /// As many permits as pooled connections: requests beyond that wait here,
    /// asynchronously, instead of parking blocking threads on the pool.
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// How long a request may wait for a connection, permit included.
    wait: Duration,
    health: std::sync::Arc<Health>,
}

/// The per-thread SQLite connections of one [`Db`] (`id` tells two databases
/// apart, for the tests that run several servers in one process).
struct LocalReads {
    id: u64,
    manager: Manager,
}

thread_local! {
    static LOCAL_CONNECTIONS: std::cell::RefCell<Vec<(u64, AnyConnection)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl LocalReads {
    fn read<T, E: StorageError>(
        &self,
        health: &Health,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let seen = health.observe();
        LOCAL_CONNECTIONS.with_borrow_mut(|connections| {
            let at = match connections.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => match self.manager.open() {
                    Ok(conn) => {
                        connections.push((self.id, conn));
                        connections.len() - 1
                    }
                    Err(e) => {
                        let cause = format!("no database connection: {e}");
                        health.failed(seen, &cause);
                        return Err(DbError::Unavailable(cause).into());
                    }
                },
            };
            let result = f(&mut connections[at].1);
            match &result {
                Err(e) if e.failure().is_some() => {
                    // Opened afresh next time.
                    connections.swap_remove(at);
                    if e.failure() == Some(Failure::Unavailable) {
                        health.failed(seen, &e.to_string());
                    }
                }
                _ => {
                    health.succeeded(seen);
                }
            }
            result
        })
    }
}

/// Whether the database is answering, shared by every request, so an outage
/// is logged once when it starts and once when it ends — not per request.
///
/// `state` counts transitions: even = healthy, odd = unavailable. A failure
/// opens an outage only if its request started in the healthy state it ends
/// (so a late failure from before a recovery doesn't reopen it), and a success
/// ends one only if its connection was checked out during that outage (so a
/// request already running when the database went away doesn't end it).
#[derive(Debug, Default)]
pub struct Health {
    state: std::sync::atomic::AtomicU64,
    since: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Health {
    /// The current state, to pass back to [`failed`](Self::failed) or
    /// [`succeeded`](Self::succeeded).
    pub fn observe(&self) -> u64 {
        self.state.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn is_unavailable(&self) -> bool {
        self.observe() % 2 == 1
    }

    /// The database failed a request that started in state `seen`. True when
    /// this failure opened an outage (and logged it).
    pub fn failed(&self, seen: u64, cause: &str) -> bool {
        if !self.advance(seen, 0) {
            return false;
        }
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        tracing::warn!(cause = %cause.trim_end(), "the database is unavailable; answering 503 SERVICE_UNAVAILABLE until it is back");
        true
    }

    /// The database answered on a connection checked out in state `seen`.
    /// True when this ended an outage (and logged it).
    pub fn succeeded(&self, seen: u64) -> bool {
        if !self.advance(seen, 1) {
            return false;
        }
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner()).take();
        let seconds = since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        tracing::info!(unavailable_seconds = format!("{seconds:.1}"), "the database is reachable again");
        true
    }

    /// Moves from `seen` to the next state, if `seen` has the `parity` and is still current.
    fn advance(&self, seen: u64, parity: u64) -> bool {
        use std::sync::atomic::Ordering;
        seen % 2 == parity && self.state.compare_exchange(seen, seen + 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        let wait = pool.connection_timeout();
        Self { pool, permits, wait, health: Default::default(), local: None }
    }

    /// With a SQLite `url` (the pool's own), [`read`](Self::read) runs on the
    /// calling thread on a connection of that thread; PostgreSQL keeps the pool.
    pub fn with_local_reads(mut self, url: &DatabaseUrl) -> Self {
        if matches!(url, DatabaseUrl::Sqlite(_)) {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.local = Some(std::sync::Arc::new(LocalReads { id, manager: Manager { url: url.clone() } }));
        }
        self
    }

    /// A short read-only `f`: on SQLite it runs right here, on this thread's
    /// own connection (a point read in WAL mode takes microseconds and never
    /// waits for a writer, less than the hop to the blocking pool would
    /// cost); elsewhere it is [`run`](Self::run). `f` must not write: a write
    /// could wait for SQLite's lock on an async worker.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: StorageError + Send + 'static,
    {
        match &self.local {
            Some(local) => local.read(&self.health, f),
            None => self.run(f).await,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The shared outage state.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Runs `f` with a pooled connection on the blocking pool. `f` ends with
    /// its own error type, into which every storage error converts.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: StorageError + Send + 'static,
    {
        let seen = self.health.observe();
        let deadline = std::time::Instant::now() + self.wait;
        let permit = match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(permit) => permit.map_err(|e| DbError::Failed(format!("database permits: {e}")))?,
            Err(_) => {
                let cause = format!("all {} pooled connections stayed busy for {:?}", self.pool.max_size(), self.wait);
                self.health.failed(seen, &cause);
                return Err(DbError::Unavailable(cause).into());
            }
        };
        let pool = self.pool.clone();
        let health = self.health.clone();
        tokio::task::spawn_blocking(move || {
            // Released after the connection went back to the pool.
            let _permit = permit;
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            let mut conn = match pool.get_timeout(wait) {
                Ok(conn) => conn,
                Err(e) => {
                    let cause = format!("no database connection: {e}");
                    health.failed(seen, &cause);
                    return Err(DbError::Unavailable(cause).into());
                }
            };
            let checked_out = health.observe();
            let result = f(&mut conn);
            let alive = conn.after_use(result.is_err());
            let result = match result {
                Err(e) if !alive && e.failure() == Some(Failure::Failed) => {
                    Err(DbError::Unavailable(format!("the database connection died: {e}")).into())
                }
                other => other,
            };
            match &result {
                Err(e) if e.failure() == Some(Failure::Unavailable) => {
                    health.failed(seen, &e.to_string());
                }
                _ => {
                    health.succeeded(checked_out);
                }
            }
            result
        })
        .await
        .map_err(|e| DbError::Failed(format!("blocking task failed: {e}")))?
    }

    /// Runs `f` inside [`write_transaction`] on the blocking pool.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: StorageError + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

    /// Readiness: is the database reachable (within the pool's wait) and is
    /// every migration applied? Feeds the outage state like any request.
    pub async fn readiness(&self) -> (bool, bool) {
        let pool = self.pool.clone();
        let health = self.health.clone();
        let wait = self.wait;
        let seen = health.observe();
        tokio::task::spawn_blocking(move || {
            let mut conn = match pool.get_timeout(wait) {
                Ok(conn) => conn,
                Err(e) => {
                    health.failed(seen, &format!("no database connection: {e}"));
                    return (false, false);
                }
            };
            let checked_out = health.observe();
            let migrated = migrations_complete(&mut conn);
            if conn.after_use(!migrated) {
                health.succeeded(checked_out);
                (true, migrated)
            } else {
                health.failed(seen, "the database connection died");
                (false, false)
            }
        })
        .await
        .unwrap_or((false, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_pick_postgres() {
        assert_eq!(DatabaseUrl::parse("postgres://u:p@localhost/db").unwrap().engine(), "postgres");
        assert_eq!(DatabaseUrl::parse("postgresql://localhost/db").unwrap().engine(), "postgres");
    }

    #[test]
    fn sqlite_urls_and_bare_paths_pick_sqlite() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/x.db").unwrap(), DatabaseUrl::Sqlite("data/x.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite:x.db").unwrap(), DatabaseUrl::Sqlite("x.db".into()));
        assert_eq!(DatabaseUrl::parse("/var/lib/ls/ls.db").unwrap(), DatabaseUrl::Sqlite("/var/lib/ls/ls.db".into()));
    }

    #[test]
    fn mistyped_schemes_are_refused_not_taken_as_files() {
        for url in ["postgress://localhost/db", "postgre://x", "mysql://x/y", "pg:x"] {
            let err = DatabaseUrl::parse(url).unwrap_err();
            assert!(err.contains("unsupported scheme"), "{url}: {err}");
        }
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
        assert!(DatabaseUrl::parse("").is_err());
    }

    #[test]
    fn an_outage_opens_once_and_ends_once() {
        let health = Health::default();
        let healthy = health.observe();
        // Many requests fail at once: only the first opens the outage.
        assert!(health.failed(healthy, "connection refused"));
        assert!(!health.failed(healthy, "connection refused"));
        assert!(health.is_unavailable());
        let down = health.observe();
        assert!(!health.failed(down, "still refused"), "a request started during the outage opens none");
        // A request checked out before the outage succeeding proves nothing.
        assert!(!health.succeeded(healthy));
        assert!(health.is_unavailable());
        // The first success on a connection got during the outage ends it, once.
        assert!(health.succeeded(down));
        assert!(!health.succeeded(down));
        assert!(!health.is_unavailable());
        // A late failure of a request that started before the recovery reopens nothing.
        assert!(!health.failed(healthy, "late"));
        assert!(!health.failed(down, "late"));
        assert!(!health.is_unavailable());
        // The next outage is logged again.
        assert!(health.failed(health.observe(), "refused again"));
    }

    #[test]
    fn redacted_url_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/ls").unwrap();
        assert!(!url.redacted().contains("s3cret"));
        assert!(url.redacted().contains("app"));
    }
}
