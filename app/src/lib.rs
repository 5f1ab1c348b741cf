//! `cloudcomp-app`: the API that cloudcomp builds into its image and runs on every instance.
//!
//! # Layout
//! - [`config`]: flags and `CLOUDCOMP_*` environment variables.
//! - [`routes`]: the HTTP surface, one module per seed contract, assembled by [`app`]; the
//!   OpenAPI document served at `/openapi.json` is generated from the same route definitions.
//! - [`store`]: the [`store::Store`] trait with its SQLite and DynamoDB backends.
//! - [`calc`]: seed 004's calculator (its own routes, errors, tokens and [`calc::ledger::Ledger`]
//!   store trait, which both backends implement), mounted under `/calc`.
//! - [`auth`], [`ratelimit`]: JWT + argon2 for seed 003; per-IP limits by route group,
//!   counted in the store so that every instance enforces one limit.
//! - [`jwt_parameter`]: the JWT key from SSM, shared by every instance.
//! - [`error`], [`extract`]: every failure as a JSON 4xx (or an opaque 500), in the words of
//!   the surface's original service; bodies as JSON or form.
//! - [`fastapi`]: input read and refused as the FastAPI seeds (002, 003) did, with pydantic's
//!   field errors.
//! - [`fdlimit`]: the open-files limit raised to the hard limit, for many connections.
//! - [`run()`]: the program itself, shared by the `cloudcomp-app` binary and the CLI;
//!   `allocator` makes jemalloc the allocator of every binary that links the app.
//!
//! # Start-up
//! 1. [`build_context`] opens the configured store, loads the JWT key (`--jwt-secret`, else
//!    the SSM parameter `--jwt-secret-parameter`, else the key file beside the SQLite
//!    database, created if absent) and seeds the demo user on an empty store.
//! 2. [`serve`] runs the router on a listener until the shutdown future resolves, then
//!    lets in-flight requests finish.

mod allocator;
pub mod auth;
pub mod cache;
pub mod calc;
pub mod config;
pub mod context;
pub mod error;
pub mod extract;
pub mod fastapi;
pub mod fdlimit;
pub mod jwt_parameter;
mod keepalive;
pub mod ratelimit;
pub mod routes;
mod run;
mod server;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

pub use routes::app;
pub use run::run;

use crate::auth::{DEMO_USER, Tokens};
use crate::calc::Calculator;
use crate::calc::ledger::Ledger;
use crate::config::{Config, StoreKind};
use crate::context::{AppContext, DynamoUsers, ResponseCache};
use crate::ratelimit::{Limit, RateLimits};
use crate::store::{AuthUser, DynamoStore, SqliteStore, Store};

/// Opens the stores and keys that `config` names and returns the shared context.
pub async fn build_context(config: &Config) -> anyhow::Result<Arc<AppContext>> {
    let aws = OnceCell::new();
    let dynamo = match &config.table {
        Some(table) => Some(connect_dynamo(config, aws_sdk_config(config, &aws).await, table).await?),
        None => None,
    };
    let (store, ledger): (Arc<dyn Store>, Arc<dyn Ledger>) = match (config.store, &dynamo) {
        (StoreKind::Dynamodb, Some(dynamo)) => (dynamo.clone(), dynamo.clone()),
        (StoreKind::Dynamodb, None) => {
            anyhow::bail!("--store dynamodb needs a table (--table or CLOUDCOMP_TABLE)")
        }
        (StoreKind::Sqlite, _) => {
            let sqlite = Arc::new(
                SqliteStore::open(&config.db_path)
                    .with_context(|| format!("cannot open the SQLite database {}", config.db_path.display()))?,
            );
            (sqlite.clone(), sqlite)
        }
    };
    let secret = match (&config.jwt_secret, &config.jwt_secret_parameter) {
        (Some(secret), _) => secret.as_bytes().to_vec(),
        (None, Some(name)) => {
            let client = aws_sdk_ssm::Client::new(aws_sdk_config(config, &aws).await);
            jwt_parameter::read_key(&client, name).await?
        }
        (None, None) => auth::load_or_create_secret(&auth::default_secret_path(&config.db_path))?,
    };
    anyhow::ensure!(
        secret.len() >= auth::MIN_KEY_BYTES,
        "the JWT secret must be at least {} bytes long",
        auth::MIN_KEY_BYTES
    );
    if config.demo_user {
        seed_demo_user(store.as_ref()).await?;
    }
    let accounts = config.calc_accounts.then(|| calc::SeedAccounts {
        client_password: config.calc_client_password.clone(),
        admin_password: config.calc_admin_password.clone(),
    });
    calc::seed(ledger.as_ref(), accounts.as_ref()).await.context("cannot seed the calculator")?;
    let admin_secret =
        config.calc_admin_secret.clone().or_else(|| config.calc_accounts.then(|| config.calc_admin_password.clone()));
    Ok(Arc::new(AppContext {
        store: store.clone(),
        dynamo: dynamo.map(|table| DynamoUsers {
            table: table as Arc<dyn Store>,
            write_sample: config.store == StoreKind::Sqlite,
        }),
        tokens: Tokens::new(&secret),
        calc: Calculator { ledger, tokens: calc::tokens::Tokens::new(&secret), admin_secret },
        api_key: config.api_key.clone(),
        limits: RateLimits {
            store,
            trust_forwarded_for: config.trust_forwarded_for,
            login: Limit::per_minute(config.rate_login),
            items: Limit::per_minute(config.rate_items),
            global: Limit::per_minute(config.rate_global),
        },
        started: Instant::now(),
        responses: ResponseCache::default(),
    }))
}

/// The AWS configuration (`--region`, `--aws-endpoint`, else the default chain), loaded
/// once into `cell` on first use.
async fn aws_sdk_config<'a>(config: &Config, cell: &'a OnceCell<SdkConfig>) -> &'a SdkConfig {
    cell.get_or_init(|| async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.aws_endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        loader.load().await
    })
    .await
}

async fn connect_dynamo(config: &Config, aws: &SdkConfig, table: &str) -> anyhow::Result<Arc<DynamoStore>> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table);
    if config.create_table {
        store.ensure_table().await.with_context(|| format!("cannot create the DynamoDB table {table}"))?;
    }
    Ok(Arc::new(store))
}

/// Adds `demo` / `password123` if the store has no login user yet.
pub async fn seed_demo_user(store: &dyn Store) -> anyhow::Result<()> {
    let (username, password) = DEMO_USER;
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(password)).await??;
    store.add_user_if_none(&AuthUser { username: username.into(), password_hash }).await?;
    Ok(())
}

/// Serves the app on `listener` until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<AppContext>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve_router(listener, app(ctx), shutdown).await
}
