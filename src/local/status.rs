//! The local stack's status file (`.cloudcomp/<stack>.local/status.json`): written by the
//! supervisor whenever it changes, read by `status --local`, `up --local` (to wait for the
//! replicas) and `destroy --local` (to find the processes to stop).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{self, StateError};

/// One replica as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// `r1`, `r2`, …
    pub id: String,
    /// Where it listens.
    pub addr: String,
    /// Its process, while it runs (process runtime).
    pub pid: Option<u32>,
    /// Its container (docker runtime).
    pub container: Option<String>,
    /// Whether the load balancer sends it traffic.
    pub healthy: bool,
    /// Requests the load balancer sent it.
    pub served: u64,
}

/// Something that happened: a replica started, stopped, died, the group scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// What.
    pub what: String,
}

impl Event {
    /// `what`, now.
    pub fn now(what: String) -> Event {
        Event { at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(), what }
    }
}

/// Everything `status --local` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalStatus {
    /// The stack's name.
    pub stack: String,
    /// The supervisor's process.
    pub pid: u32,
    /// The load balancer's URL.
    pub url: String,
    /// `process` or `docker`.
    pub runtime: String,
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Replicas the scaler wants now.
    pub desired: u32,
    /// Requests through the load balancer in the last minute.
    pub requests_last_minute: u64,
    /// The replicas.
    pub replicas: Vec<ReplicaStatus>,
    /// Recent events, oldest first.
    pub events: Vec<Event>,
}

impl LocalStatus {
    /// Replicas in rotation.
    pub fn healthy(&self) -> usize {
        self.replicas.iter().filter(|r| r.healthy).count()
    }
}

/// The status file in the stack's local directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("status.json")
}

/// Writes `status` atomically, unless the file already says exactly that.
pub fn write(path: &Path, status: &LocalStatus) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(status).expect("status serializes");
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    state::write_atomically(path, &bytes)
}

/// The status at `path`, if there is one.
pub fn read(path: &Path) -> Option<LocalStatus> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes the status for people.
pub fn print(out: &mut impl Write, status: &LocalStatus) -> std::io::Result<()> {
    writeln!(
        out,
        "Stack {} (local, {} runtime): {} of {} replicas healthy (min {}, max {}); {} requests in the last minute.",
        status.stack,
        status.runtime,
        status.healthy(),
        status.desired,
        status.min,
        status.max,
        status.requests_last_minute
    )?;
    writeln!(out, "URL: {}/api/v1/users\n", status.url)?;
    for r in &status.replicas {
        let what = match (&r.container, r.pid) {
            (Some(container), _) => container.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => "-".into(),
        };
        let health = if r.healthy { "healthy" } else { "starting/unhealthy" };
        writeln!(out, "  {:<4} {:<21} {what:<28} {health:<18} {} requests", r.id, r.addr, r.served)?;
    }
    writeln!(out, "\nRecent events:")?;
    for e in status.events.iter().rev().take(10).rev() {
        writeln!(out, "  {}  {}", e.at, e.what)?;
    }
    Ok(())
}
