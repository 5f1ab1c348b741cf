//! The `cloudcomp-app` binary: read the configuration, start serving, stop on SIGTERM/SIGINT.

/// jemalloc keeps memory flat under many connections: freed pages go back to the OS at
/// once (no decay delay) and one arena per core limits fragmentation across threads.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compile-time configuration (read before `main`), see `man jemalloc`.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"narenas:2,dirty_decay_ms:0,muzzy_decay_ms:0,background_thread:false\0";

use std::io::IsTerminal;

use clap::Parser;
use cloudcomp_app::config::Config;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CLOUDCOMP_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let config = Config::parse();
    match cloudcomp_app::fdlimit::raise_open_files_limit() {
        Ok(limit) => tracing::debug!(limit, "open-files limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open-files limit"),
    }
    let ctx = cloudcomp_app::build_context(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr()).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        store = ?config.store,
        db = %config.db_path.display(),
        table = config.table.as_deref().unwrap_or("-"),
        "cloudcomp-app serving"
    );
    cloudcomp_app::serve(listener, ctx, shutdown_signal()).await?;
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
