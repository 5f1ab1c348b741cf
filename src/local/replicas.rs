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

use async_trait::async_trait;
use bollard::Docker;

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

    /// Starts the replica `id` on a free loopback port.
    async fn start(&self, id: &str) -> anyhow::Result<Replica>;

    /// Whether `replica` has exited (crashed or killed).
    async fn has_exited(&self, replica: &Replica) -> bool;

    /// Stops and removes `replica`. The store acknowledges writes only once durable, so a
    /// hard stop loses nothing acknowledged.
    async fn stop(&self, replica: Replica);

    /// Whether `replica` passes the health check: `GET path` answers 200 within two seconds.
    async fn passes_health_check(&self, replica: &Replica, path: &str) -> bool {
        health::answers_ok(replica.addr, path).await
    }
}

/// Where replicas run, as the supervisor is told.
#[derive(Debug)]
pub enum Runtime {
    /// Child processes of `app_binary`, storing into `data_dir`, logging to `log`.
    Processes {
        /// The app binary.
        app_binary: PathBuf,
        /// Directory of the shared SQLite file.
        data_dir: PathBuf,
        /// Where the replicas' output goes.
        log: PathBuf,
    },
    /// Containers of `image` on the stack's network and volume.
    Containers {
        /// The engine.
        docker: Docker,
        /// The app image (`cloudcomp-app:<tag>`).
        image: String,
        /// The stack's name: names the network, the volume and the containers.
        stack: String,
    },
}

impl Runtime {
    /// The runtime that runs the replicas.
    pub fn into_replicas(self) -> Arc<dyn ReplicaRuntime> {
        match self {
            Runtime::Processes { app_binary, data_dir, log } => {
                Arc::new(process::Processes::new(app_binary, data_dir, log))
            }
            Runtime::Containers { docker, image, stack } => Arc::new(docker::Containers { docker, image, stack }),
        }
    }
}

/// A loopback port free now, for a replica to listen on.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `127.0.0.1:<a free port>`.
fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}
