//! The `cloudcomp-app` program: read the configuration, start serving, stop on SIGTERM or
//! SIGINT. Both the `cloudcomp-app` binary and the `cloudcomp` CLI (started under the name
//! `cloudcomp-app`, for `up --local` without a second build) run it.

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::config::Config;

/// Runs the app with the command-line `args` (the program name first) until a signal.
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<()> {
    let config = Config::parse_from(args);
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt().with_ansi(colour).finish().with(log_filter()).init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))
}

/// What `CLOUDCOMP_LOG` asks to log (`warn`, or `info,cloudcomp_app::store=debug`: a default
/// level and levels by target); `info` when it is unset or does not parse. (Targets, not
/// `EnvFilter`: no regex engine in the image.)
fn log_filter() -> Targets {
    std::env::var("CLOUDCOMP_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    match crate::fdlimit::raise_open_files_limit() {
        Ok(limit) => tracing::debug!(limit, "open-files limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open-files limit"),
    }
    let ctx = crate::build_context(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr()).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        store = ?config.store,
        db = %config.db_path.display(),
        table = config.table.as_deref().unwrap_or("-"),
        "cloudcomp-app serving"
    );
    crate::serve(listener, ctx, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
