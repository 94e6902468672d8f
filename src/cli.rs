//! The command line: `serve` (the default), `migrate`, `openapi`, `admin create`.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Parser, Subcommand};

use crate::config::{Config, DatabaseArgs, ServeArgs};
use crate::{bootstrap, clock::Clock, db};

#[derive(Parser, Debug)]
#[command(
    name = "license-server",
    version,
    about = "Software licensing server",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin account; the password comes from
    /// LICENSE_SERVER_ADMIN_PASSWORD or standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
    },
}

/// Applies migrations; prints how many ran.
pub fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    let url = database.url()?;
    let pool = db::connect(&url, 1).map_err(anyhow::Error::msg)?;
    let mut conn = pool.get()?;
    let applied = db::run_migrations(&mut conn).map_err(anyhow::Error::msg)?;
    println!("{applied} migration(s) applied to {}", url.redacted());
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("LICENSE_SERVER_ADMIN_PASSWORD") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password for the new admin (12–128 characters): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `admin create`: migrates if needed, then creates the account.
pub fn admin_create(database: &DatabaseArgs, email: &str, name: &str) -> anyhow::Result<()> {
    let password = read_password()?;
    let email = bootstrap::check_admin_input(email, &password).map_err(anyhow::Error::msg)?;
    let url = database.url()?;
    let pool = db::connect(&url, 1).map_err(anyhow::Error::msg)?;
    let mut conn = pool.get()?;
    db::run_migrations(&mut conn).map_err(anyhow::Error::msg)?;
    let hash = crate::auth::password::hash_now(&password);
    let account = bootstrap::create_admin(&mut conn, &email, name.trim(), &hash, Clock::default().now())
        .map_err(anyhow::Error::msg)?;
    println!("created admin {} ({})", account.email, account.id);
    Ok(())
}

/// `serve`: checks the configuration, opens and migrates the database,
/// makes sure an admin exists (or says how), and serves until stopped.
pub async fn serve(args: &ServeArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args, database)?;
    crate::telemetry::init_tracing(config.json_logs);
    let listen = config.listen;
    let admin_email = config.admin_email.clone();
    tracing::info!(database = %config.database.redacted(), "opening the database");
    let state = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let state = crate::state::AppState::init(config).map_err(anyhow::Error::msg)?;
        let mut conn = state.db.pool().get()?;
        bootstrap::ensure_admin(&mut conn, admin_email.as_deref(), state.clock.now()).map_err(anyhow::Error::msg)?;
        Ok(state)
    })
    .await??;
    let listener =
        std::net::TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let (server, addr) = crate::server::start(state, listener)?;
    tracing::info!(%addr, "listening; Swagger UI at http://{addr}/swagger-ui/");
    server.await?;
    tracing::info!("stopped");
    Ok(())
}
