//! The process runtime: replicas are child processes of the supervisor, for machines without
//! a Docker engine, each running its release's binary with the release's environment and
//! logging to its own file. They are killed when the supervisor drops them, and so when it
//! exits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;

use anyhow::Context;
use async_trait::async_trait;
use tokio::process::{Child, Command};

use super::{Release, Replica, ReplicaRuntime, STOP_TIMEOUT};

/// Child processes of the releases' binaries.
#[derive(Debug)]
pub struct Processes {
    /// Directory of the shared SQLite file.
    data_dir: PathBuf,
    /// Directory of the replicas' logs.
    logs: PathBuf,
    /// The running replicas' processes, by replica id.
    children: Mutex<HashMap<String, Child>>,
}

impl Processes {
    /// Replicas storing into `data_dir`, logging to `<logs>/<replica id>.log`.
    pub fn new(data_dir: PathBuf, logs: PathBuf) -> Processes {
        Processes { data_dir, logs, children: Mutex::default() }
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<String, Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, id: &str) -> PathBuf {
        self.logs.join(format!("{id}.log"))
    }
}

#[async_trait]
impl ReplicaRuntime for Processes {
    fn name(&self) -> &'static str {
        "process"
    }

    async fn start(&self, id: &str, release: &Release) -> anyhow::Result<Replica> {
        let addr = super::free_loopback_addr()?;
        std::fs::create_dir_all(&self.logs)?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log(id))?;
        let child = Command::new(&release.app)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--db-path")
            .arg(self.data_dir.join("app.db"))
            .args(["--store", "sqlite", "--trust-forwarded-for", "true"])
            .env("CLOUDCOMP_LOG", "warn")
            .envs(&release.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", release.app))?;
        let pid = child.id();
        self.children().insert(id.to_string(), child);
        Ok(Replica { id: id.to_string(), addr, pid, container: None, release: release.id.clone() })
    }

    async fn exited(&self, replica: &Replica) -> Option<String> {
        match self.children().get_mut(&replica.id).map(Child::try_wait) {
            Some(Ok(None)) => None,
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(error)) => Some(format!("lost: {error}")),
            None => Some("not running".into()),
        }
    }

    async fn stop(&self, replica: Replica) {
        let child = self.children().remove(&replica.id);
        let Some(mut child) = child else { return };
        if let Some(pid) = child.id() {
            crate::local::signal(pid, libc::SIGTERM);
            if tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = child.kill().await;
    }

    async fn last_lines(&self, replica: &Replica) -> String {
        super::tail(&std::fs::read_to_string(self.log(&replica.id)).unwrap_or_default())
    }
}
