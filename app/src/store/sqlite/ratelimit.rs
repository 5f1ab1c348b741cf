//! Rate-limit state for every process on one SQLite database, in a side file beside it
//! (`<db>.ratelimit`): one row per key, its GCRA TAT.
//!
//! The side file has its own group-commit writer thread, so a limited request never queues
//! behind the data writes or waits for their fsync, and the file runs `synchronous=NORMAL`
//! in WAL mode: commits are not fsynced (a power loss may forget the last counts, which
//! only resets some limits) but the file cannot be corrupted. Each decision is a read and
//! an upsert inside the writer's `BEGIN IMMEDIATE` transaction, so processes sharing the
//! file count every request exactly once. Keys whose TAT has passed are purged about once
//! a minute.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::{Connection, OptionalExtension, params};

use super::writer::GroupCommit;
use crate::store::gcra::{Gcra, Micros, Verdict};
use crate::store::{StoreError, StoreResult};

/// How often idle keys are purged.
const PURGE_EVERY: Micros = 60_000_000;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT_MS: u64 = 10_000;

/// The side file and its writer.
pub(super) struct RateLimitFile {
    writes: GroupCommit,
    next_purge: AtomicI64,
}

impl RateLimitFile {
    /// Opens (creating if needed) the side file of the database at `db_path`.
    pub(super) fn open(db_path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(side_file(db_path))?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS gcra (key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID",
        )?;
        let writes = GroupCommit::spawn("sqlite-ratelimit", conn, || {})?;
        Ok(RateLimitFile { writes, next_purge: AtomicI64::new(0) })
    }

    /// Counts one request for `key` at `now` under `rule`.
    pub(super) async fn decide(&self, key: &str, rule: Gcra, now: Micros) -> StoreResult<Verdict> {
        let key = key.to_owned();
        let purge = self.purge_due(now);
        self.writes.write(move |c| count(c, &key, rule, now, purge).map_err(StoreError::backend)).await
    }

    /// Whether this request should purge idle keys (one request per [`PURGE_EVERY`]).
    fn purge_due(&self, now: Micros) -> bool {
        let due = self.next_purge.load(Ordering::Relaxed);
        due <= now
            && self.next_purge.compare_exchange(due, now + PURGE_EVERY, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

/// The decision on one request, inside the writer's transaction.
fn count(c: &Connection, key: &str, rule: Gcra, now: Micros, purge: bool) -> rusqlite::Result<Verdict> {
    if purge {
        c.prepare_cached("DELETE FROM gcra WHERE tat < ?1")?.execute([now])?;
    }
    let tat = c.prepare_cached("SELECT tat FROM gcra WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    let verdict = rule.decide(tat, now);
    if let Verdict::Allowed { tat } = verdict {
        c.prepare_cached("INSERT INTO gcra (key, tat) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET tat = ?2")?
            .execute(params![key, tat])?;
    }
    Ok(verdict)
}

/// `<db>.ratelimit`, beside the database.
fn side_file(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".ratelimit");
    db_path.with_file_name(name)
}
