//! The process runtime: replicas are child processes of the supervisor, for machines without
//! a Docker engine. They are killed when the supervisor drops them, and so when it exits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;

use anyhow::Context;
use async_trait::async_trait;
use tokio::process::{Child, Command};

use super::{Replica, ReplicaRuntime};

/// Child processes of the app binary.
#[derive(Debug)]
pub struct Processes {
    /// The app binary.
    app_binary: PathBuf,
    /// Directory of the shared SQLite file.
    data_dir: PathBuf,
    /// Where the replicas' output goes.
    log: PathBuf,
    /// The running replicas' processes, by replica id.
    children: Mutex<HashMap<String, Child>>,
}

impl Processes {
    /// Replicas of `app_binary`, storing into `data_dir`, logging to `log`.
    pub fn new(app_binary: PathBuf, data_dir: PathBuf, log: PathBuf) -> Processes {
        Processes { app_binary, data_dir, log, children: Mutex::default() }
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<String, Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ReplicaRuntime for Processes {
    fn name(&self) -> &'static str {
        "process"
    }

    async fn start(&self, id: &str) -> anyhow::Result<Replica> {
        let addr = super::free_loopback_addr()?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let child = Command::new(&self.app_binary)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--db-path")
            .arg(self.data_dir.join("app.db"))
            .args(["--store", "sqlite", "--trust-forwarded-for", "true"])
            .env("CLOUDCOMP_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.app_binary.display()))?;
        let pid = child.id();
        self.children().insert(id.to_string(), child);
        Ok(Replica { id: id.to_string(), addr, pid, container: None })
    }

    async fn has_exited(&self, replica: &Replica) -> bool {
        self.children().get_mut(&replica.id).is_none_or(|child| !matches!(child.try_wait(), Ok(None)))
    }

    async fn stop(&self, replica: Replica) {
        let child = self.children().remove(&replica.id);
        if let Some(mut child) = child {
            let _ = child.kill().await;
        }
    }
}
