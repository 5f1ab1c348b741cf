//! Runtime configuration: command-line flags, each with a `CLOUDCOMP_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Which storage backend holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// One SQLite file (WAL), shared by every process on the same machine.
    Sqlite,
    /// One DynamoDB table, shared by every instance behind the load balancer.
    Dynamodb,
}

/// Everything the app can be told at start-up.
#[derive(Debug, Clone, Parser)]
#[command(name = "cloudcomp-app", version, about = "The cloudcomp API server")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CLOUDCOMP_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Port to listen on; overrides the port of `--listen`.
    #[arg(long, env = "CLOUDCOMP_PORT")]
    pub port: Option<u16>,

    /// Storage backend.
    #[arg(long, env = "CLOUDCOMP_STORE", value_enum, default_value = "sqlite")]
    pub store: StoreKind,

    /// SQLite database file (store = sqlite). The JWT key is kept next to it when not given.
    #[arg(long, env = "CLOUDCOMP_DB_PATH", default_value = "cloudcomp.db")]
    pub db_path: PathBuf,

    /// DynamoDB table (store = dynamodb; with sqlite it only backs `/api/v1/users/dynamo`).
    #[arg(long, env = "CLOUDCOMP_TABLE")]
    pub table: Option<String>,

    /// Create the DynamoDB table at start-up when it does not exist (for local use and tests).
    #[arg(long, env = "CLOUDCOMP_CREATE_TABLE", default_value_t = false)]
    pub create_table: bool,

    /// Value the `API-Key` header must carry on `POST /update`.
    #[arg(long, env = "CLOUDCOMP_API_KEY", default_value = "wiz", hide_default_value = true, hide_env_values = true)]
    pub api_key: String,

    /// HS256 key for the JWTs. When unset, and no `--jwt-secret-parameter` is given, it is
    /// generated once and kept in `<db>.jwt-key` (mode 0600).
    #[arg(long, env = "CLOUDCOMP_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// SSM SecureString parameter holding the HS256 key, read once at start-up, so that
    /// every instance signs with one key (`--jwt-secret` takes precedence).
    #[arg(long, env = "CLOUDCOMP_JWT_SECRET_PARAMETER")]
    pub jwt_secret_parameter: Option<String>,

    /// Seed the demo user `demo` / `password123` when the users table is empty.
    #[arg(long, env = "CLOUDCOMP_DEMO_USER", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_user: bool,

    /// Seed the calculator's default accounts (`defaultclient@client.as`,
    /// `defaultadmin@admin.as`) when it has no users yet.
    #[arg(long, env = "CLOUDCOMP_CALC_ACCOUNTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub calc_accounts: bool,

    /// Password of the seeded `defaultclient@client.as`.
    #[arg(
        long,
        env = "CLOUDCOMP_CALC_CLIENT_PASSWORD",
        default_value = "Test1234!",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub calc_client_password: String,

    /// Password of the seeded `defaultadmin@admin.as`.
    #[arg(
        long,
        env = "CLOUDCOMP_CALC_ADMIN_PASSWORD",
        default_value = "adminpass",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub calc_admin_password: String,

    /// The `admin_password` that the calculator's `POST /admin` requires to create an admin.
    /// Unset: the seeded admin's password while the default accounts are seeded; otherwise
    /// no admin can be created that way.
    #[arg(long, env = "CLOUDCOMP_CALC_ADMIN_SECRET", hide_env_values = true)]
    pub calc_admin_secret: Option<String>,

    /// Requests per minute per client IP on `POST /auth/login` (0 = unlimited).
    #[arg(long, env = "CLOUDCOMP_RATE_LOGIN", default_value_t = 5)]
    pub rate_login: u32,

    /// Requests per minute per client IP on every route of seed 003, `POST /auth/login` as
    /// well as `/items*` (0 = unlimited).
    #[arg(long, env = "CLOUDCOMP_RATE_ITEMS", default_value_t = 60)]
    pub rate_items: u32,

    /// Requests per minute per client IP on every other route but `/` and `/health` (0 =
    /// unlimited, the default).
    #[arg(long, env = "CLOUDCOMP_RATE_GLOBAL", default_value_t = 0)]
    pub rate_global: u32,

    /// Take the client IP from `X-Forwarded-For` (set this behind a load balancer you trust).
    #[arg(long, env = "CLOUDCOMP_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// AWS region for DynamoDB and SSM (otherwise the default chain decides).
    #[arg(long, env = "CLOUDCOMP_REGION")]
    pub region: Option<String>,

    /// AWS endpoint override, e.g. a moto_server URL (`AWS_ENDPOINT_URL` works too).
    #[arg(long, env = "CLOUDCOMP_AWS_ENDPOINT")]
    pub aws_endpoint: Option<String>,
}

impl Config {
    /// The address to bind: `--listen`, with its port replaced by `--port` when given.
    pub fn listen_addr(&self) -> SocketAddr {
        let mut addr = self.listen;
        if let Some(port) = self.port {
            addr.set_port(port);
        }
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_overrides_the_listen_port() {
        let config = Config::parse_from(["cloudcomp-app", "--listen", "127.0.0.1:8080", "--port", "9000"]);
        assert_eq!(config.listen_addr().to_string(), "127.0.0.1:9000");
        let config = Config::parse_from(["cloudcomp-app"]);
        assert_eq!(config.listen_addr().to_string(), "0.0.0.0:8080");
    }
}
