//! Replicas of the app for the local target, as child processes of the supervisor (the
//! `process` runtime): each listens on its own loopback port and shares one SQLite file (WAL;
//! same kernel, so its locks hold) with the others.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;
use tokio::process::{Child, Command};

/// One running replica.
#[derive(Debug)]
pub struct Replica {
    /// `r1`, `r2`, … in start order.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
}

impl Replica {
    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether it has exited (crashed or killed).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it: SIGKILL and wait (the store acknowledges writes only once durable, so
    /// nothing acknowledged is lost).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Starts replicas of `app_binary` on the database in `data_dir`.
#[derive(Debug)]
pub struct Processes {
    app_binary: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    started: u32,
}

impl Processes {
    /// Replicas of `app_binary` storing into `data_dir`, logging to `log`.
    pub fn new(app_binary: PathBuf, data_dir: PathBuf, log: PathBuf) -> Self {
        Processes { app_binary, data_dir, log, started: 0 }
    }

    /// Starts one more replica on a free loopback port.
    pub fn start(&mut self) -> anyhow::Result<Replica> {
        self.started += 1;
        let id = format!("r{}", self.started);
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
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
        Ok(Replica { id, addr, child })
    }
}
