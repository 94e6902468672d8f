//! Typed configuration, read once from flags and the environment and checked
//! before anything starts. Secrets are never printed.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::db::{DEFAULT_POOL_TIMEOUT, DEFAULT_SQLITE_FILE, DatabaseUrl};

/// The largest access-token lifetime the contract allows.
pub const MAX_ACCESS_TOKEN_SECONDS: i64 = 900;

/// Flags of `serve`; every one also has an environment variable.
#[derive(Args, Clone, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LICENSE_SERVER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Worker threads answering HTTP (default: one per core).
    #[arg(long, env = "LICENSE_SERVER_WORKERS")]
    pub workers: Option<usize>,

    /// Allowed browser origins, comma separated (none by default).
    #[arg(long, env = "LICENSE_SERVER_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// Lifetime of an access token in seconds (at most 900).
    #[arg(long, env = "LICENSE_SERVER_ACCESS_TOKEN_SECONDS", default_value_t = MAX_ACCESS_TOKEN_SECONDS)]
    pub access_token_seconds: i64,

    /// Absolute lifetime of a refresh-token family in seconds (default 30 days).
    #[arg(long, env = "LICENSE_SERVER_REFRESH_TOKEN_SECONDS", default_value_t = 30 * 86_400)]
    pub refresh_token_seconds: i64,

    /// File holding the JWT signing secret (≥ 32 bytes) instead of the database.
    #[arg(long, env = "LICENSE_SERVER_JWT_KEY_FILE")]
    pub jwt_key_file: Option<PathBuf>,

    /// File holding the license-signing key (base64 of the 32-byte Ed25519 seed) instead of the database.
    #[arg(long, env = "LICENSE_SERVER_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,

    /// How long the software may trust a VALID answer offline, in seconds.
    #[arg(long, env = "LICENSE_SERVER_VALIDATION_CACHE_SECONDS", default_value_t = 86_400)]
    pub validation_cache_seconds: i64,

    /// Lifetime of an offline license file, in seconds (default 30 days).
    #[arg(long, env = "LICENSE_SERVER_OFFLINE_FILE_SECONDS", default_value_t = 2_592_000)]
    pub offline_file_seconds: i64,

    /// Requests per second per client IP (burst 4×); 0 turns the cap off.
    #[arg(long, env = "LICENSE_SERVER_RATE_LIMIT_PER_IP", default_value_t = 50)]
    pub rate_limit_per_ip: u32,

    /// Proxies (IP addresses or CIDR ranges, comma separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "LICENSE_SERVER_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// E-mail of the first admin, created on a start with no admin.
    #[arg(long, env = "LICENSE_SERVER_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "LICENSE_SERVER_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// Options every subcommand shares.
#[derive(Args, Clone, Debug, Default)]
pub struct DatabaseArgs {
    /// `postgres://…`, `sqlite://PATH` or a file path (default: ./license-server.db).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "LICENSE_SERVER_DB_POOL_SIZE", global = true, default_value_t = 10)]
    pub db_pool_size: u32,

    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(long, env = "LICENSE_SERVER_DB_POOL_TIMEOUT_SECONDS", global = true, default_value_t = DEFAULT_POOL_TIMEOUT.as_secs())]
    pub db_pool_timeout_seconds: u64,
}

impl DatabaseArgs {
    pub fn url(&self) -> Result<DatabaseUrl, ConfigError> {
        let raw = self.database_url.as_deref().unwrap_or(DEFAULT_SQLITE_FILE);
        DatabaseUrl::parse(raw).map_err(|m| ConfigError::new("DATABASE_URL", m))
    }

    pub fn pool_size(&self) -> Result<u32, ConfigError> {
        if (1..=500).contains(&self.db_pool_size) {
            Ok(self.db_pool_size)
        } else {
            Err(ConfigError::new("LICENSE_SERVER_DB_POOL_SIZE", "must be between 1 and 500"))
        }
    }

    pub fn pool_timeout(&self) -> Result<Duration, ConfigError> {
        if (1..=60).contains(&self.db_pool_timeout_seconds) {
            Ok(Duration::from_secs(self.db_pool_timeout_seconds))
        } else {
            Err(ConfigError::new("LICENSE_SERVER_DB_POOL_TIMEOUT_SECONDS", "must be between 1 and 60"))
        }
    }
}

/// A configuration value that can't be used, named by its variable.
#[derive(Debug)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self { variable, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The checked configuration the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub workers: usize,
    pub database: DatabaseUrl,
    pub db_pool_size: u32,
    /// How long a request waits for a pooled connection before a 503.
    pub db_pool_timeout: Duration,
    pub cors_origins: Vec<String>,
    pub access_token_seconds: i64,
    pub refresh_token_seconds: i64,
    pub jwt_key_file: Option<PathBuf>,
    pub signing_key_file: Option<PathBuf>,
    pub validation_cache_seconds: i64,
    pub offline_file_seconds: i64,
    pub rate_limit_per_ip: u32,
    /// Proxies whose `X-Forwarded-For` is believed (single addresses are /32 or /128).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub admin_email: Option<String>,
    pub json_logs: bool,
}

impl Config {
    pub fn from_args(serve: &ServeArgs, db: &DatabaseArgs) -> Result<Self, ConfigError> {
        let listen = serve.listen.parse::<SocketAddr>().map_err(|_| {
            ConfigError::new(
                "LICENSE_SERVER_LISTEN",
                format!("`{}` is not an address like 127.0.0.1:8080", serve.listen),
            )
        })?;
        let workers = match serve.workers {
            Some(0) => return Err(ConfigError::new("LICENSE_SERVER_WORKERS", "must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        };
        if !(60..=MAX_ACCESS_TOKEN_SECONDS).contains(&serve.access_token_seconds) {
            return Err(ConfigError::new(
                "LICENSE_SERVER_ACCESS_TOKEN_SECONDS",
                format!("must be between 60 and {MAX_ACCESS_TOKEN_SECONDS}"),
            ));
        }
        if !(3600..=366 * 86_400).contains(&serve.refresh_token_seconds) {
            return Err(ConfigError::new(
                "LICENSE_SERVER_REFRESH_TOKEN_SECONDS",
                "must be between 3600 (1 hour) and 31622400 (366 days)",
            ));
        }
        let cors_origins = parse_origins(&serve.cors_origins)?;
        let json_logs = match serve.log_format.as_str() {
            "text" => false,
            "json" => true,
            other => {
                return Err(ConfigError::new(
                    "LICENSE_SERVER_LOG_FORMAT",
                    format!("`{other}` is neither `text` nor `json`"),
                ));
            }
        };
        for (variable, file) in [
            ("LICENSE_SERVER_JWT_KEY_FILE", &serve.jwt_key_file),
            ("LICENSE_SERVER_SIGNING_KEY_FILE", &serve.signing_key_file),
        ] {
            if let Some(path) = file.as_ref().filter(|p| !p.is_file()) {
                return Err(ConfigError::new(variable, format!("{} is not a readable file", path.display())));
            }
        }
        if !(60..=366 * 86_400).contains(&serve.validation_cache_seconds) {
            return Err(ConfigError::new("LICENSE_SERVER_VALIDATION_CACHE_SECONDS", "must be between 60 and 31622400"));
        }
        if !(3600..=3 * 366 * 86_400).contains(&serve.offline_file_seconds) {
            return Err(ConfigError::new(
                "LICENSE_SERVER_OFFLINE_FILE_SECONDS",
                "must be between 3600 and 94867200 (3 years)",
            ));
        }
        let trusted_proxies = serve
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        ConfigError::new(
                            "LICENSE_SERVER_TRUSTED_PROXIES",
                            format!("`{p}` is neither an IP address nor a CIDR range"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            listen,
            workers,
            database: db.url()?,
            db_pool_size: db.pool_size()?,
            db_pool_timeout: db.pool_timeout()?,
            cors_origins,
            access_token_seconds: serve.access_token_seconds,
            refresh_token_seconds: serve.refresh_token_seconds,
            jwt_key_file: serve.jwt_key_file.clone(),
            signing_key_file: serve.signing_key_file.clone(),
            validation_cache_seconds: serve.validation_cache_seconds,
            offline_file_seconds: serve.offline_file_seconds,
            rate_limit_per_ip: serve.rate_limit_per_ip,
            trusted_proxies,
            admin_email: serve.admin_email.clone().filter(|e| !e.trim().is_empty()),
            json_logs,
        })
    }

    /// A configuration for tests and tools: the defaults with the given database.
    pub fn for_database(database: DatabaseUrl) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 2,
            database,
            db_pool_size: 10,
            db_pool_timeout: DEFAULT_POOL_TIMEOUT,
            cors_origins: Vec::new(),
            access_token_seconds: MAX_ACCESS_TOKEN_SECONDS,
            refresh_token_seconds: 30 * 86_400,
            jwt_key_file: None,
            signing_key_file: None,
            validation_cache_seconds: 86_400,
            offline_file_seconds: 2_592_000,
            rate_limit_per_ip: 0,
            trusted_proxies: Vec::new(),
            admin_email: None,
            json_logs: false,
        }
    }
}

fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let parsed = url::Url::parse(origin).map_err(|_| {
                ConfigError::new(
                    "LICENSE_SERVER_CORS_ORIGINS",
                    format!("`{origin}` is not an origin like https://portal.example.com"),
                )
            })?;
            let bare = matches!(parsed.scheme(), "http" | "https")
                && parsed.host().is_some()
                && parsed.path() == "/"
                && parsed.query().is_none()
                && !origin.ends_with('/');
            if bare {
                Ok(origin.to_owned())
            } else {
                Err(ConfigError::new(
                    "LICENSE_SERVER_CORS_ORIGINS",
                    format!("`{origin}` is not an origin (scheme://host[:port], no path or trailing slash)"),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve() -> ServeArgs {
        ServeArgs {
            listen: "127.0.0.1:8080".into(),
            access_token_seconds: 900,
            refresh_token_seconds: 30 * 86_400,
            validation_cache_seconds: 86_400,
            offline_file_seconds: 2_592_000,
            rate_limit_per_ip: 50,
            log_format: "text".into(),
            ..ServeArgs::default()
        }
    }

    fn db() -> DatabaseArgs {
        DatabaseArgs { database_url: None, db_pool_size: 10, db_pool_timeout_seconds: 3 }
    }

    #[test]
    fn defaults_give_an_sqlite_file_in_the_working_directory() {
        let config = Config::from_args(&serve(), &db()).unwrap();
        assert_eq!(config.database, DatabaseUrl::Sqlite(DEFAULT_SQLITE_FILE.into()));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.cors_origins.is_empty());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let mut args = serve();
        args.listen = "localhost".into();
        assert_eq!(Config::from_args(&args, &db()).unwrap_err().variable, "LICENSE_SERVER_LISTEN");

        let mut args = serve();
        args.access_token_seconds = 3600;
        let err = Config::from_args(&args, &db()).unwrap_err();
        assert_eq!(err.variable, "LICENSE_SERVER_ACCESS_TOKEN_SECONDS");

        let mut args = serve();
        args.cors_origins = "https://a.example.com, https://b.example.com/path".into();
        assert_eq!(Config::from_args(&args, &db()).unwrap_err().variable, "LICENSE_SERVER_CORS_ORIGINS");

        let bad_db = DatabaseArgs { database_url: Some("postgress://x".into()), ..db() };
        assert_eq!(Config::from_args(&serve(), &bad_db).unwrap_err().variable, "DATABASE_URL");

        let no_wait = DatabaseArgs { db_pool_timeout_seconds: 0, ..db() };
        let err = Config::from_args(&serve(), &no_wait).unwrap_err();
        assert_eq!(err.variable, "LICENSE_SERVER_DB_POOL_TIMEOUT_SECONDS");
    }

    #[test]
    fn origins_are_split_and_trimmed() {
        let mut args = serve();
        args.cors_origins = " https://portal.example.com ,http://localhost:5173".into();
        let config = Config::from_args(&args, &db()).unwrap();
        assert_eq!(config.cors_origins, vec!["https://portal.example.com", "http://localhost:5173"]);
    }
}
