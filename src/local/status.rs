//! The local stack's status file (`.cloudcomp/<stack>.local/status.json`): written by the
//! supervisor whenever it changes, read by `status --local`, `up --local` (to wait for the
//! replicas) and `destroy --local` (to find the processes to stop).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::history::LocalDeploy;
use super::settings::LocalSettings;
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
    /// The release it runs.
    #[serde(default)]
    pub release: String,
    /// Whether it is out of rotation, finishing its requests before it stops (a deploy).
    #[serde(default)]
    pub draining: bool,
}

/// How a deploy is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployState {
    /// Replicas are being replaced.
    Rolling,
    /// Every replica runs the release.
    Succeeded,
    /// The release was refused; the replicas run the one before.
    Failed,
}

/// The latest deploy the supervisor was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployStatus {
    /// The request's id ([`super::control::Request`]), so that its sender knows it is its own.
    pub request: String,
    /// The release deployed.
    pub release: String,
    /// How it is going.
    pub state: DeployState,
    /// What it did last.
    pub step: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Its number in the history, once it succeeded.
    pub number: Option<u32>,
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
    /// The release new replicas start from: the last one that passed its health checks.
    #[serde(default)]
    pub release: String,
    /// The latest deploy, if one was asked for since the supervisor started.
    #[serde(default)]
    pub deploy: Option<DeployStatus>,
    /// The deploy history, oldest first.
    #[serde(default)]
    pub deploys: Vec<LocalDeploy>,
    /// The settings it runs with (none from a supervisor that predates them).
    #[serde(default)]
    pub settings: Option<LocalSettings>,
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
    writeln!(out, "URL: {}/api/v1/users", status.url)?;
    writeln!(out, "Release: {}\n", status.release)?;
    for r in &status.replicas {
        let what = match (&r.container, r.pid) {
            (Some(container), _) => container.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => "-".into(),
        };
        let health = match (r.draining, r.healthy) {
            (true, _) => "draining",
            (false, true) => "healthy",
            (false, false) => "starting/unhealthy",
        };
        writeln!(
            out,
            "  {:<4} {:<21} {what:<28} release {:<12} {health:<18} {} requests",
            r.id, r.addr, r.release, r.served
        )?;
    }
    if let Some(deploy) = &status.deploy {
        let error = deploy.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        let state = match deploy.state {
            DeployState::Rolling => "rolling out",
            DeployState::Succeeded => "succeeded",
            DeployState::Failed => "refused",
        };
        writeln!(out, "\nLast deploy: release {} {state} ({}){error}", deploy.release, deploy.step)?;
    }
    if !status.deploys.is_empty() {
        writeln!(out, "\nDeploys:")?;
        for d in status.deploys.iter().rev() {
            let current = if d.release.id == status.release { " (current)" } else { "" };
            writeln!(
                out,
                "  #{:<3} {}  release {} ({}): {}{current}",
                d.number,
                d.at,
                d.release.id,
                d.release.app_name(),
                d.change
            )?;
        }
    }
    writeln!(out, "\nRecent events:")?;
    for e in status.events.iter().rev().take(10).rev() {
        writeln!(out, "  {}  {}", e.at, e.what)?;
    }
    Ok(())
}
