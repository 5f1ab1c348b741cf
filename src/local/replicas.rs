//! Replicas of the app for the local target, in one of two runtimes:
//!
//! - `docker` ([`docker`]): containers of the built image on a private network, sharing a
//!   named volume that holds the SQLite file; each publishes its port on 127.0.0.1 for the
//!   balancer.
//! - `process` ([`process`]): child processes of the supervisor, for machines without a
//!   Docker engine.
//!
//! Either way every replica listens on its own loopback port and uses the same SQLite file
//! (WAL; same kernel, so its locks hold). The supervisor sees a runtime only through
//! [`ReplicaRuntime`], so its decisions can be tested against one in memory.

pub mod docker;
mod health;
pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;

use super::release::Release;

/// One running replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// `r1`, `r2`, … in start order.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process (process runtime): what `destroy --local` kills when the supervisor could not.
    pub pid: Option<u32>,
    /// Its container (docker runtime).
    pub container: Option<String>,
    /// The id of the release it runs.
    pub release: String,
}

/// Starts, watches and stops replicas.
#[async_trait]
pub trait ReplicaRuntime: Send + Sync {
    /// `process` or `docker`, as the status file says.
    fn name(&self) -> &'static str;

    /// Creates what the replicas share; nothing unless the runtime needs it.
    async fn prepare(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Starts the replica `id` of `release` on a free loopback port.
    async fn start(&self, id: &str, release: &Release) -> anyhow::Result<Replica>;

    /// How `replica` ended (`exit status: 2`, `signal: 9 (SIGKILL)`, …) once it exited,
    /// crashed or was killed; `None` while it runs.
    async fn exited(&self, replica: &Replica) -> Option<String>;

    /// Stops `replica` (SIGTERM, which lets it finish its requests, then a kill after
    /// [`STOP_TIMEOUT`]) and removes it. The store acknowledges writes only once durable, so
    /// even the kill loses nothing acknowledged.
    async fn stop(&self, replica: Replica);

    /// The last lines `replica` wrote, to say why it failed; empty when there are none.
    async fn last_lines(&self, replica: &Replica) -> String;

    /// Whether `replica` passes the health check: `GET path` answers 200 within two seconds.
    async fn passes_health_check(&self, replica: &Replica, path: &str) -> bool {
        health::answers_ok(replica.addr, path).await
    }
}

/// How long a stopped replica has to finish before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many of its last lines a failed replica's error quotes.
const LAST_LINES: usize = 20;

/// Where replicas run, as the supervisor is told.
#[derive(Debug)]
pub enum Runtime {
    /// Child processes of each release's binary, storing into `data_dir`, logging to
    /// `<logs>/<replica id>.log`.
    Processes {
        /// Directory of the shared SQLite file.
        data_dir: PathBuf,
        /// Directory of the replicas' logs.
        logs: PathBuf,
    },
    /// Containers of each release's image on the stack's network and volume.
    Containers {
        /// The engine.
        docker: Docker,
        /// The stack's name: names the network, the volume and the containers.
        stack: String,
    },
}

impl Runtime {
    /// The runtime that runs the replicas.
    pub fn into_replicas(self) -> Arc<dyn ReplicaRuntime> {
        match self {
            Runtime::Processes { data_dir, logs } => Arc::new(process::Processes::new(data_dir, logs)),
            Runtime::Containers { docker, stack } => Arc::new(docker::Containers { docker, stack }),
        }
    }
}

/// The last [`LAST_LINES`] lines of `text`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LAST_LINES)..].join("\n")
}

/// A loopback port free now, for a replica to listen on.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `127.0.0.1:<a free port>`.
fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}
