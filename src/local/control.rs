//! How `up --local` and `rollback --local` tell the supervisor which release to run, and
//! with which settings ([`LocalSettings`]): the request is written to `<dir>/wanted.json` (atomically), read by the supervisor when it
//! starts and whenever it gets SIGHUP. A supervisor that died reads nothing; its sender sees
//! that its pid is gone and says so. Each request has its own id, which the status file's
//! deploy echoes, so that the sender follows its own deploy and not an earlier one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::release::Release;
use super::settings::LocalSettings;
use crate::state::{self, StateError};

/// A release the replicas should run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Unique to this request.
    pub id: String,
    /// The release.
    pub release: Release,
    /// The stack's settings to apply (`up --local`); none to keep those running (`rollback
    /// --local`).
    #[serde(default)]
    pub settings: Option<LocalSettings>,
    /// What the history says it changed, when the sender knows better than a comparison
    /// with the previous release (`rollback to #2`).
    pub change: Option<String>,
}

impl Request {
    /// A request for `release` with `settings`, with a fresh id.
    pub fn new(release: Release, settings: Option<LocalSettings>, change: Option<String>) -> Request {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Request { id: format!("{}-{nanos}", std::process::id()), release, settings, change }
    }
}

/// The request file in the stack's local directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("wanted.json")
}

/// Writes `request` atomically.
pub fn write(path: &Path, request: &Request) -> Result<(), StateError> {
    state::write_atomically(path, &serde_json::to_vec_pretty(request).expect("a request serializes"))
}

/// The request at `path`, if there is one.
pub fn read(path: &Path) -> Option<Request> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_and_ids_differ() {
        let dir = tempfile::tempdir().unwrap();
        let release = Release::of_image("cloudcomp-app:ab", Default::default());
        let stack = crate::stack::parse("name: test\n").unwrap();
        let request = Request::new(release.clone(), Some(LocalSettings::of(&stack)), None);
        write(&path(dir.path()), &request).unwrap();
        assert_eq!(read(&path(dir.path())), Some(request.clone()));
        assert_ne!(Request::new(release, None, None).id, request.id);
    }
}
