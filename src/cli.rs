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
    /// Check a license file exactly as the desktop software must (exit 0: valid).
    VerifyLicenseFile {
        /// The server's public key: base64 of the raw 32 bytes, or a file holding it.
        #[arg(long)]
        public_key: String,
        /// Also require the file to be for this hardware id.
        #[arg(long)]
        hardware_id: Option<String>,
        /// The license file.
        file: std::path::PathBuf,
    },
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
    let name = bootstrap::check_admin_name(name).map_err(anyhow::Error::msg)?;
    let url = database.url()?;
    let pool = db::connect(&url, 1).map_err(anyhow::Error::msg)?;
    let mut conn = pool.get()?;
    db::run_migrations(&mut conn).map_err(anyhow::Error::msg)?;
    let hash = crate::auth::password::hash_now(&password);
    let account =
        bootstrap::create_admin(&mut conn, &email, name, &hash, Clock::default().now()).map_err(anyhow::Error::msg)?;
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

/// `verify-license-file`: prints the payload of a valid file; fails with the reason otherwise.
pub fn verify_license_file(public_key: &str, hardware_id: Option<&str>, file: &std::path::Path) -> anyhow::Result<()> {
    let key_text = match std::fs::read_to_string(public_key) {
        Ok(text) => text,
        Err(_) => public_key.to_owned(),
    };
    let key = crate::licensing::signing::parse_public_key(&key_text).map_err(anyhow::Error::msg)?;
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
    let payload = crate::licensing::offline::verify_file(&text, &key, hardware_id, chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("INVALID: {e}"))?;
    println!("VALID");
    println!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}
