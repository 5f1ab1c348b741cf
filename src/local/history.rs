//! The local stack's deploy history (`<dir>/deploys.json`): each release that every replica
//! came to run (the first start, each deploy, each rollback), kept by the supervisor, shown
//! by `status --local`, and named by `rollback --local --to N`. The twin of the AWS history
//! in the state ([`crate::deploys`]), with the whole release in place of a template version.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::release::Release;
use crate::state::{self, StateError};

/// One release every replica came to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDeploy {
    /// Its number in the history, from 1.
    pub number: u32,
    /// When it finished (RFC 3339).
    pub at: String,
    /// What the replicas run since.
    pub release: Release,
    /// What it changed: `first deploy`, `app`, `env CLOUDCOMP_RATE_LOGIN`, `rollback to #2`, …
    pub change: String,
}

/// The history file in the stack's local directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("deploys.json")
}

/// The history at `path`; empty when there is none.
pub fn read(path: &Path) -> Vec<LocalDeploy> {
    std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

/// Writes `history` atomically, unless the file already says exactly that.
pub fn write(path: &Path, history: &[LocalDeploy]) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(history).expect("a history serializes");
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    state::write_atomically(path, &bytes)
}

/// Adds `release` to `history` as finished `at`, described by `change` or else by what differs
/// from the previous deploy's release; forgets the oldest past [`crate::deploys::KEPT`].
/// Returns its number.
pub fn record(history: &mut Vec<LocalDeploy>, release: Release, change: Option<String>, at: String) -> u32 {
    let number = history.last().map_or(1, |d| d.number + 1);
    let change = change.unwrap_or_else(|| match history.last() {
        None => "first deploy".into(),
        Some(previous) => changed(&previous.release, &release),
    });
    history.push(LocalDeploy { number, at, release, change });
    let excess = history.len().saturating_sub(crate::deploys::KEPT);
    history.drain(..excess);
    number
}

/// What differs between two releases: `app`, and `env NAME` for each variable.
fn changed(before: &Release, after: &Release) -> String {
    let mut changes = Vec::new();
    if before.app != after.app {
        changes.push("app".to_string());
    }
    let names = before.env.keys().chain(after.env.keys().filter(|k| !before.env.contains_key(*k)));
    let env: Vec<&str> =
        names.filter(|name| before.env.get(*name) != after.env.get(*name)).map(String::as_str).collect();
    if !env.is_empty() {
        changes.push(format!("env {}", env.join(", ")));
    }
    if changes.is_empty() { "re-deploy".into() } else { changes.join("; ") }
}

/// The deploy `rollback --local` goes back to: number `to`, else the newest one of another
/// release than `current`.
pub fn rollback_target<'a>(
    history: &'a [LocalDeploy],
    to: Option<u32>,
    current: &str,
) -> anyhow::Result<&'a LocalDeploy> {
    let kept = || {
        let numbers: Vec<String> = history.iter().map(|d| format!("#{}", d.number)).collect();
        if numbers.is_empty() { "none".into() } else { numbers.join(", ") }
    };
    let found = match to {
        Some(number) => history.iter().find(|d| d.number == number),
        None => history.iter().rev().find(|d| d.release.id != current),
    };
    found.ok_or_else(|| match to {
        Some(number) => anyhow::anyhow!("no deploy #{number} in the local history (kept: {})", kept()),
        None => anyhow::anyhow!("no earlier release to roll back to (kept: {})", kept()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn release(app: &str, env: &[(&str, &str)]) -> Release {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Release::new(app.into(), app, env)
    }

    #[test]
    fn each_deploy_says_what_changed_and_the_file_keeps_them() {
        let mut history = Vec::new();
        assert_eq!(record(&mut history, release("a", &[]), None, "t1".into()), 1);
        record(&mut history, release("a", &[("X", "1")]), None, "t2".into());
        record(&mut history, release("b", &[("X", "2"), ("Y", "")]), None, "t3".into());
        record(&mut history, release("a", &[]), Some("rollback to #1".into()), "t4".into());
        let changes: Vec<&str> = history.iter().map(|d| d.change.as_str()).collect();
        assert_eq!(changes, ["first deploy", "env X", "app; env X, Y", "rollback to #1"]);
        let dir = tempfile::tempdir().unwrap();
        write(&path(dir.path()), &history).unwrap();
        assert_eq!(read(&path(dir.path())), history);
        assert!(read(&dir.path().join("none.json")).is_empty());
    }

    #[test]
    fn rollback_goes_to_the_newest_other_release_or_the_one_named() {
        let mut history = Vec::new();
        for (app, at) in [("a", "t1"), ("b", "t2"), ("c", "t3")] {
            record(&mut history, release(app, &[]), None, at.into());
        }
        let current = history[2].release.id.clone();
        assert_eq!(rollback_target(&history, None, &current).unwrap().number, 2);
        assert_eq!(rollback_target(&history, None, &history[1].release.id).unwrap().number, 3);
        assert_eq!(rollback_target(&history, Some(1), &current).unwrap().release.app, "a");
        let error = rollback_target(&history, Some(9), &current).unwrap_err().to_string();
        assert!(error.contains("#9") && error.contains("#1, #2, #3"), "{error}");
        assert!(rollback_target(&history[..1], None, &history[0].release.id).is_err());
    }
}
