//! SQLite backend: one file in WAL mode, shared safely by several processes on one machine.
//!
//! 1. Reads run on a small pool of read-only connections (WAL readers never wait for the writer).
//! 2. Writes go to a single writer thread that commits them in batches ([`GroupCommit`]).
//! 3. After each commit the writer bumps the shared [`Generation`], the store's change
//!    token: the shared state and the hot list responses are cached per generation, so
//!    repeated reads skip SQLite.
//! 4. `synchronous=FULL`: the WAL is fsynced at every commit, and a write is acknowledged
//!    only after its commit returned, so every acknowledged write survives a crash or power loss.
//! 5. Rate-limit counts live in a side file with a writer of its own ([`RateLimitFile`]).

use std::path::Path;
use std::sync::Arc;
use std::thread;

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

mod ledger;
mod ratelimit;
mod writer;

use self::ratelimit::RateLimitFile;
use self::writer::GroupCommit;
use super::gcra::{Gcra, Micros, Verdict};
use super::generation::Generation;
use super::{AuditEntry, AuditPage, AuthUser, Item, ItemPatch, Person, SharedState, Store, StoreError, StoreResult};
use crate::cache::Cached;

/// Schema versions, applied in order and recorded in `PRAGMA user_version`.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("sqlite_schema_v1.sql")),
    M::up(include_str!("sqlite_schema_v2.sql")),
    M::up(include_str!("sqlite_schema_v3.sql")),
];

/// Page cache of each read connection, in KiB as SQLite's negative `cache_size` says: hot
/// data is served from the generation cache and the OS page cache, so a small one will do.
const READER_CACHE_KIB: i64 = -512;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    readers: r2d2::Pool<SqliteConnectionManager>,
    writer: GroupCommit,
    generation: Arc<Generation>,
    state: Cached<Arc<SharedState>>,
    limits: RateLimitFile,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;

        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            configure(c)?;
            c.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
            c.pragma_update(None, "query_only", true)
        });
        let readers = r2d2::Pool::builder().max_size(reader_pool_size()).min_idle(Some(1)).build(manager)?;

        let generation = Arc::new(Generation::open(path)?);
        let bumps = generation.clone();
        let writer = GroupCommit::spawn("sqlite-writer", conn, move || bumps.bump())?;
        let limits = RateLimitFile::open(path)?;
        Ok(SqliteStore { readers, writer, generation, state: Cached::default(), limits })
    }

    /// Runs a read on a pooled connection. Reads are short indexed look-ups, so they run on
    /// the calling thread rather than paying for a hand-off.
    fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = self.readers.get().map_err(StoreError::backend)?;
        query(&conn).map_err(StoreError::backend)
    }

    /// Queues a write for the writer thread and waits until it is durably committed.
    async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.writer.write(op).await
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS.into()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)
}

/// Reads run inline on the runtime's worker threads (one per core), so one connection per
/// core, plus one for a blocking caller, is all the pool ever lends out at once.
fn reader_pool_size() -> u32 {
    let cores = thread::available_parallelism().map_or(2, usize::from);
    u32::try_from(cores + 1).unwrap_or(4)
}

/// Maps a uniqueness violation to `Conflict(message)`, anything else to `Backend`.
fn conflict_as(message: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |err| match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(message.to_string()),
        _ => StoreError::backend(err),
    }
}

/// The columns [`item_from_row`] reads, in its order (a macro, for `concat!`: the SQL is
/// a literal, not a string built on every call).
macro_rules! item_columns {
    () => {
        "id, name, description, created_at, updated_at"
    };
}

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<Item> {
    Ok(Item {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

fn person_from_row(row: &Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person { id: row.get(0)?, name: row.get(1)?, email: row.get(2)? })
}

#[async_trait]
impl Store for SqliteStore {
    fn change_token(&self) -> Option<u64> {
        Some(self.generation.current())
    }

    async fn add_account(&self, username: &str, password_sha1: &str) -> StoreResult<()> {
        let (username, password) = (username.to_owned(), password_sha1.to_owned());
        self.write(move |c| {
            c.prepare_cached("INSERT INTO accounts (username, password_sha1) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![username, password]))
                .map(drop)
                .map_err(conflict_as("user already exists"))
        })
        .await
    }

    async fn remove_account(&self, username: &str) -> StoreResult<()> {
        let username = username.to_owned();
        self.write(move |c| {
            let removed = c
                .prepare_cached("DELETE FROM accounts WHERE username = ?1")
                .and_then(|mut s| s.execute([username]))
                .map_err(StoreError::backend)?;
            if removed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn account_exists(&self, username: &str) -> StoreResult<bool> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM accounts WHERE username = ?1")?
                .query_row([username], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }

    async fn list_accounts(&self) -> StoreResult<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT username FROM accounts ORDER BY username")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })
    }

    fn cached_shared_state(&self) -> Option<Arc<SharedState>> {
        self.state.get(self.generation.current())
    }

    async fn shared_state(&self) -> StoreResult<Arc<SharedState>> {
        let token = self.change_token();
        self.state
            .get_or_load(token, || async {
                self.read(|c| {
                    c.prepare_cached("SELECT counter, message, updated_at FROM shared_state WHERE id = 1")?
                        .query_row([], |r| {
                            Ok(Arc::new(SharedState { counter: r.get(0)?, message: r.get(1)?, updated_at: r.get(2)? }))
                        })
                })
            })
            .await
    }

    async fn update_shared_state(&self, counter: i64, message: &str, at: &str) -> StoreResult<SharedState> {
        let (message, at) = (message.to_owned(), at.to_owned());
        self.write(move |c| {
            c.prepare_cached("UPDATE shared_state SET counter = ?1, message = ?2, updated_at = ?3 WHERE id = 1")
                .and_then(|mut s| s.execute(params![counter, message, at]))
                .and_then(|_| {
                    c.prepare_cached("INSERT INTO audit_log (counter, message, timestamp) VALUES (?1, ?2, ?3)")
                })
                .and_then(|mut s| s.execute(params![counter, message, at]))
                .map_err(StoreError::backend)?;
            Ok(SharedState { counter, message, updated_at: Some(at) })
        })
        .await
    }

    async fn audit_log(&self, offset: u64, limit: u64) -> StoreResult<AuditPage> {
        self.read(|c| {
            // The log is append-only with AUTOINCREMENT ids, so the largest id is the count.
            let total: i64 =
                c.prepare_cached("SELECT coalesce(max(id), 0) FROM audit_log")?.query_row([], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(
                "SELECT id, counter, message, timestamp FROM audit_log ORDER BY id DESC LIMIT ?1 OFFSET ?2",
            )?;
            let entries = stmt
                .query_map(params![clamp(limit), clamp(offset)], |r| {
                    Ok(AuditEntry { id: r.get(0)?, counter: r.get(1)?, message: r.get(2)?, timestamp: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(AuditPage { total: total.unsigned_abs(), entries })
        })
    }

    async fn add_person(&self, name: &str, email: &str) -> StoreResult<Person> {
        let (name, email) = (name.to_owned(), email.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO people (name, email, email_key) VALUES (?1, ?2, ?2) RETURNING id, name, email",
            )
            .and_then(|mut s| s.query_row(params![name, email], person_from_row))
            .map_err(conflict_as("email already registered"))
        })
        .await
    }

    async fn list_people(&self) -> StoreResult<Vec<Person>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, name, email FROM people ORDER BY id")?;
            stmt.query_map([], person_from_row)?.collect()
        })
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<AuthUser>> {
        self.read(|c| {
            c.prepare_cached("SELECT username, password_hash FROM users WHERE username = ?1")?
                .query_row([username], |r| Ok(AuthUser { username: r.get(0)?, password_hash: r.get(1)? }))
                .optional()
        })
    }

    async fn add_user_if_none(&self, user: &AuthUser) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO users (username, password_hash) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM users)",
            )
            .and_then(|mut s| s.execute(params![user.username, user.password_hash]))
            .map(drop)
            .map_err(StoreError::backend)
        })
        .await
    }

    async fn create_item(&self, owner: &str, name: &str, description: Option<&str>, at: &str) -> StoreResult<Item> {
        let (owner, name, description, at) =
            (owner.to_owned(), name.to_owned(), description.map(str::to_owned), at.to_owned());
        self.write(move |c| {
            c.prepare_cached(concat!(
                "INSERT INTO items (owner, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
                 RETURNING ",
                item_columns!()
            ))
            .and_then(|mut s| s.query_row(params![owner, name, description, at], item_from_row))
            .map_err(StoreError::backend)
        })
        .await
    }

    async fn list_items(&self, owner: &str) -> StoreResult<Vec<Item>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(concat!("SELECT ", item_columns!(), " FROM items WHERE owner = ?1 ORDER BY id DESC"))?;
            stmt.query_map([owner], item_from_row)?.collect()
        })
    }

    async fn get_item(&self, owner: &str, id: i64) -> StoreResult<Item> {
        self.read(|c| {
            c.prepare_cached(concat!("SELECT ", item_columns!(), " FROM items WHERE id = ?1 AND owner = ?2"))?
                .query_row(params![id, owner], item_from_row)
                .optional()
        })?
        .ok_or(StoreError::NotFound)
    }

    async fn update_item(&self, owner: &str, id: i64, patch: ItemPatch, at: &str) -> StoreResult<Item> {
        let (owner, at) = (owner.to_owned(), at.to_owned());
        self.write(move |c| {
            // Every expression of SET reads the row as it was before this UPDATE.
            c.prepare_cached(concat!(
                "UPDATE items SET name = coalesce(?1, name), description = coalesce(?2, description),
                     updated_at = CASE WHEN coalesce(?1, name) IS NOT name OR coalesce(?2, description) IS NOT description
                                       THEN ?5 ELSE updated_at END
                 WHERE id = ?3 AND owner = ?4 RETURNING ",
                item_columns!()
            ))
            .and_then(|mut s| {
                s.query_row(params![patch.name, patch.description, id, owner, at], item_from_row).optional()
            })
            .map_err(StoreError::backend)?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn delete_item(&self, owner: &str, id: i64) -> StoreResult<()> {
        let owner = owner.to_owned();
        self.write(move |c| {
            let removed = c
                .prepare_cached("DELETE FROM items WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.execute(params![id, owner]))
                .map_err(StoreError::backend)?;
            if removed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn rate_limit(&self, key: &str, rule: Gcra, now: Micros) -> StoreResult<Verdict> {
        self.limits.decide(key, rule, now).await
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_version_1_database_migrates_with_its_items_and_people() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let mut conn = Connection::open(&path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..1]).to_latest(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO users (username, password_hash) VALUES ('demo', 'x');
             INSERT INTO items (owner, name) VALUES ('demo', 'old');
             INSERT INTO people (name, email, email_key) VALUES ('Mario', 'M.Rossi@Satispay.IT', 'm.rossi@satispay.it');",
        )
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path).unwrap();
        let old = &store.list_items("demo").await.unwrap()[0];
        assert_eq!(old.created_at, old.updated_at);
        assert!(old.created_at.starts_with("20") && old.created_at.contains('T'), "{}", old.created_at);
        // Unique as pydantic normalises it: the domain's case aside, not the local part's.
        let taken = store.add_person("Other", "M.Rossi@satispay.it").await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        assert!(store.add_person("Other", "m.rossi@satispay.it").await.is_ok());
    }
}
