//! The state file: what cloudcomp created, recorded after every step so that `up` can
//! resume, `plan` can diff and `destroy` can tear down without asking AWS what exists.
//!
//! - JSON, written atomically (temporary file, fsync, rename, fsync of the directory) with
//!   mode 0600; it holds ids and attributes, never a secret.
//! - An OS file lock on `<state>.lock` (naming the holder's pid and start time) keeps two runs
//!   from interleaving; the kernel releases it when its process dies, and the next run takes
//!   over, knowing from the name left in the file that a run died holding it.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dag::{Address, DependencyQueue, resolve_references};

/// Version of the state file format.
pub const FORMAT_VERSION: u32 = 1;

/// One resource cloudcomp created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Its kind.
    pub kind: String,
    /// The AWS id (or name/ARN, whatever the kind uses to find it again).
    pub id: String,
    /// The attributes it was created or last updated with (references unresolved).
    pub attrs: BTreeMap<String, Value>,
    /// Values other resources refer to (`id`, `arn`, `dns_name`, …).
    pub outputs: BTreeMap<String, Value>,
    /// What it depended on, so teardown can run in reverse without the stack file.
    pub depends_on: Vec<Address>,
    /// When cloudcomp created or adopted it (seconds since the Unix epoch): AWS may not
    /// find a resource this young yet, and a refresh must not take it for deleted. Cleared
    /// when its deletion starts: then "not found" means deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
}

/// Now, in seconds since the Unix epoch, as [`Recorded::created_at`] keeps it.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A creation that started but has not been recorded as finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// Its kind.
    pub kind: String,
    /// The attributes it is being created with (references unresolved).
    pub attrs: BTreeMap<String, Value>,
    /// What it depends on.
    pub depends_on: Vec<Address>,
    /// The id AWS answered the Create with, noted the moment it answered: the run may
    /// still have failed or been cut off in the calls that follow (routes, rules, an
    /// attachment), and the next run adopts exactly this resource rather than look for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The whole state of one stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Stack name.
    pub stack: String,
    /// Region the stack lives in.
    pub region: String,
    /// Every resource, by address.
    pub resources: BTreeMap<Address, Recorded>,
    /// Creations started but not recorded as finished: a run cut off (killed, crashed,
    /// disconnected) may have left these at AWS, and the next run adopts them
    /// ([`crate::recover`]) rather than create a second.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<Address, Started>,
    /// The last few rollouts of the app to the instances, oldest first ([`crate::deploys`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploys: Vec<Deploy>,
}

/// One rollout of the app to the instances ([`crate::deploys`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deploy {
    /// Its number in the stack's history, from 1.
    pub number: u32,
    /// When it finished (RFC 3339).
    pub at: String,
    /// The launch-template version the instances run since.
    pub template_version: String,
    /// The image they run (`repository@sha256:…`, or `repository:tag`).
    pub image: String,
    /// What it changed: `first deploy`, `image, instance_type`, `rollback to #2`, …
    pub change: String,
}

impl State {
    /// An empty state for a stack.
    pub fn new(stack: &str, region: &str) -> Self {
        State {
            version: FORMAT_VERSION,
            stack: stack.into(),
            region: region.into(),
            resources: BTreeMap::new(),
            pending: BTreeMap::new(),
            deploys: Vec::new(),
        }
    }

    /// The value of `output` of the resource at `address`.
    pub fn output(&self, address: &Address, output: &str) -> anyhow::Result<Value> {
        self.resources
            .get(address)
            .and_then(|r| r.outputs.get(output))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{address} has no output `{output}` yet"))
    }

    /// `attrs` with every reference replaced by the recorded output it names.
    pub fn resolve(&self, attrs: &BTreeMap<String, Value>) -> anyhow::Result<BTreeMap<String, Value>> {
        attrs.iter().map(|(k, v)| Ok((k.clone(), resolve_references(v, &|a, o| self.output(a, o))?))).collect()
    }

    /// Every recorded address, dependents before what they depend on.
    pub fn teardown_order(&self) -> Vec<Address> {
        let mut queue = DependencyQueue::default();
        for address in self.resources.keys() {
            let dependents =
                self.resources.iter().filter(|(_, r)| r.depends_on.contains(address)).map(|(a, _)| a.clone());
            queue.queue(address.clone(), dependents);
        }
        queue.queue_finished();
        let mut order = Vec::new();
        loop {
            let ready = queue.dequeue_ready();
            if ready.is_empty() {
                break;
            }
            for address in ready {
                queue.finish(&address);
                order.push(address);
            }
        }
        // A cycle cannot come from a plan; should a hand-edited file hold one, delete the rest anyway.
        order.extend(queue.waiting().cloned().collect::<Vec<_>>());
        order
    }
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a state file.
    #[error("state file {} is damaged: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written in a format this build does not know.
    #[error(
        "state file {} has format version {found}; this cloudcomp reads version {FORMAT_VERSION}: use the \
         cloudcomp that wrote it", path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// Another run holds the lock.
    #[error("state file {} is locked by pid {pid} since {since} (another cloudcomp run); wait for it to finish", path.display())]
    Locked {
        /// The state file.
        path: PathBuf,
        /// The process holding it.
        pid: u32,
        /// When it took it (RFC 3339).
        since: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

/// Reads the state at `path`; a missing file is an empty state for `stack` in `region`.
pub fn load(path: &Path, stack: &str, region: &str) -> Result<State, StateError> {
    match fs::read(path) {
        Ok(bytes) => {
            let state: State =
                serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path: path.into(), source })?;
            if state.version != FORMAT_VERSION {
                return Err(StateError::Version { path: path.into(), found: state.version });
            }
            Ok(state)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(State::new(stack, region)),
        Err(err) => Err(io_error(path)(err)),
    }
}

/// Writes `state` to `path` atomically, mode 0600.
pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    write_atomically(path, &serde_json::to_vec_pretty(state).expect("state serializes"))
}

/// Replaces the file at `path` with `bytes` so that a reader (or a crash) sees the old
/// content or the new, never a mix: temporary file, fsync, rename, fsync of the directory.
/// Mode 0600.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))
}

/// An exclusive hold on a state file: an OS file lock on `<state>.lock` (`flock`), which the
/// kernel releases when its process ends however it ends, so two runs can never both hold
/// it. The file names the holder (pid and start time) for the message a second run prints;
/// a clean release empties it, so a name found in it by the next holder is a run that died.
#[derive(Debug)]
#[must_use = "the lock is released when dropped"]
pub struct StateLock {
    file: File,
    /// The dead process whose lock this one replaced, if any.
    took_over_from: Option<u32>,
}

impl StateLock {
    /// Takes the lock on the state file at `state_path`, or says who holds it.
    pub fn acquire(state_path: &Path) -> Result<StateLock, StateError> {
        let path = lock_path(state_path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        let mut holder = String::new();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let _ = file.read_to_string(&mut holder);
                let mut words = holder.split_whitespace();
                let pid = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                let since = words.next().unwrap_or("an unknown time").to_string();
                return Err(StateError::Locked { path: state_path.to_path_buf(), pid, since });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(&path)(err)),
        }
        // Ours now. A name left in the file is a run that died holding it.
        file.read_to_string(&mut holder).map_err(io_error(&path))?;
        let took_over_from = holder.split_whitespace().next().and_then(|p| p.parse().ok());
        let me =
            format!("{} {}\n", std::process::id(), humantime::format_rfc3339_seconds(std::time::SystemTime::now()));
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))?;
        Ok(StateLock { file, took_over_from })
    }

    /// The process that held the lock when it died (killed: its last calls may still be on
    /// their way to AWS), if this lock replaced a stale one.
    pub fn took_over_from(&self) -> Option<u32> {
        self.took_over_from
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Emptied, not removed: removing it would let a run that opened it just before lock
        // a file no longer at the path while a third run locks a new one.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state_path.with_file_name(name)
}

/// Where a stack's state lives by default: `.cloudcomp/<name>.state.json` beside the stack file.
pub fn default_path(stack_file: &Path, stack_name: &str) -> PathBuf {
    let dir = stack_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(".cloudcomp").join(format!("{stack_name}.state.json"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn recorded(deps: &[&str]) -> Recorded {
        Recorded {
            kind: "k".into(),
            id: "i".into(),
            attrs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            depends_on: deps.iter().map(|d| Address::from(*d)).collect(),
            created_at: None,
        }
    }

    #[test]
    fn teardown_runs_dependents_first() {
        let mut state = State::new("s", "r");
        state.resources.insert("vpc".into(), recorded(&[]));
        state.resources.insert("subnet".into(), recorded(&["vpc"]));
        state.resources.insert("asg".into(), recorded(&["subnet"]));
        let order: Vec<String> = state.teardown_order().into_iter().map(|a| a.0).collect();
        assert_eq!(order, ["asg", "subnet", "vpc"]);
    }

    #[test]
    fn saves_atomically_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("s.state.json");
        assert_eq!(load(&path, "s", "r").unwrap(), State::new("s", "r"));
        let mut state = State::new("s", "r");
        state.resources.insert("vpc".into(), recorded(&[]));
        save(&path, &state).unwrap();
        assert_eq!(load(&path, "s", "r").unwrap(), state);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn a_state_of_another_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut state = State::new("s", "r");
        save(&path, &state).unwrap();
        assert_eq!(load(&path, "s", "r").unwrap(), state);
        state.version = FORMAT_VERSION + 1;
        save(&path, &state).unwrap();
        let refused = load(&path, "s", "r").unwrap_err().to_string();
        assert!(refused.contains(&format!("format version {}", FORMAT_VERSION + 1)), "{refused}");
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        fs::write(&path, "{ not json").unwrap();
        assert!(matches!(load(&path, "s", "r"), Err(StateError::Corrupt { .. })));
    }

    #[test]
    fn a_second_lock_is_refused_and_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let held = StateLock::acquire(&path).unwrap();
        match StateLock::acquire(&path) {
            Err(StateError::Locked { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(held.took_over_from(), None);
        drop(held);
        // Released cleanly: the next holder takes over from no one.
        assert_eq!(StateLock::acquire(&path).unwrap().took_over_from(), None);
        // A lock left by a process that is gone.
        fs::write(lock_path(&path), "4000000000 2026-01-01T00:00:00Z\n").unwrap();
        let taken = StateLock::acquire(&path).unwrap();
        assert_eq!(taken.took_over_from(), Some(4_000_000_000));
    }
}
