//! Group commit: one thread owns a SQLite connection's writes. It takes every write queued
//! since its last commit, runs each in its own savepoint (one failing write does not undo
//! the others), commits them as one transaction, and only then acknowledges each write.

use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult};

/// Most writes folded into one commit.
const MAX_BATCH: usize = 512;

/// Reports a write's result once its batch has committed (or failed to).
type Ack = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
/// A write: runs inside the batch's transaction (or learns that the transaction could not
/// begin) and returns how to acknowledge it.
type WriteJob = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> Ack + Send>;

/// The queue of a writer thread; the thread stops when this is dropped.
pub(super) struct GroupCommit {
    jobs: mpsc::Sender<WriteJob>,
}

impl GroupCommit {
    /// Starts the thread `name`, writing through `conn`; `committed` runs after each
    /// successful commit, before its writes are acknowledged.
    pub(super) fn spawn(name: &str, conn: Connection, committed: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<WriteJob>();
        thread::Builder::new().name(name.into()).spawn(move || drain_writes(&conn, &queue, committed))?;
        Ok(GroupCommit { jobs })
    }

    /// Queues a write and waits until its batch has committed.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (done, result) = oneshot::channel();
        let job: WriteJob = Box::new(move |conn| {
            let outcome = match conn {
                Ok(conn) => in_savepoint(conn, op),
                Err(err) => Err(StoreError::Backend(anyhow::anyhow!("could not begin a write: {err}"))),
            };
            Box::new(move |commit_error| {
                let outcome = match commit_error {
                    None => outcome,
                    Some(err) => Err(StoreError::Backend(anyhow::anyhow!("commit failed: {err}"))),
                };
                let _ = done.send(outcome);
            })
        });
        self.jobs.send(job).map_err(|_| StoreError::Backend(anyhow::anyhow!("the SQLite writer thread stopped")))?;
        result.await.map_err(|_| StoreError::Backend(anyhow::anyhow!("the SQLite writer dropped a write")))?
    }
}

/// The writer thread: batch, commit, acknowledge, until every sender is gone.
fn drain_writes(conn: &Connection, jobs: &mpsc::Receiver<WriteJob>, committed: impl Fn()) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            batch.into_iter().for_each(|job| job(Err(&err))(None));
            continue;
        }
        let acks: Vec<Ack> = batch.into_iter().map(|job| job(Ok(conn))).collect();
        let commit = conn.execute_batch("COMMIT");
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            committed();
        }
        let error = commit.err();
        acks.into_iter().for_each(|ack| ack(error.as_ref()));
    }
}

/// Runs one write in a savepoint: on error only this write is undone.
fn in_savepoint<T>(conn: &Connection, op: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT op").map_err(StoreError::backend)?;
    let outcome = op(conn);
    let end = if outcome.is_ok() { "RELEASE op" } else { "ROLLBACK TO op; RELEASE op" };
    conn.execute_batch(end).map_err(StoreError::backend)?;
    outcome
}
