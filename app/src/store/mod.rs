//! Storage behind one trait, so every route works the same on SQLite (one machine) and
//! DynamoDB (every instance behind the load balancer).
//!
//! The data, by the seed surface it serves:
//! - accounts: username + SHA-1 password (seed 000, `/api/v1/users`);
//! - the shared state (counter + message) and its audit log (seed 001);
//! - people: name + unique email (seed 002, `/users`, `/user`);
//! - users with argon2 password hashes, and their items (seed 003, `/auth`, `/items`);
//! - rate-limit state: one GCRA arrival time per limited key (see [`gcra`]).

mod dynamo;
pub mod gcra;
mod generation;
mod sqlite;

pub use dynamo::DynamoStore;
pub use gcra::{Gcra, Micros, Verdict};
pub use sqlite::SqliteStore;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The addressed record does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// A charge would take a balance below 0; nothing changed.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// A foreign-key rule refused the change: the row is still referenced, or references
    /// a row that does not exist.
    #[error("foreign key violation")]
    ForeignKey,
    /// The database itself failed.
    #[error("storage backend failed")]
    Backend(#[source] anyhow::Error),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(err: impl Into<anyhow::Error>) -> Self {
        StoreError::Backend(err.into())
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The seed-001 shared variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedState {
    /// The counter the last update set.
    pub counter: i64,
    /// The message the last update set.
    pub message: String,
    /// When it was last updated (RFC 3339 UTC), or `None` if never.
    pub updated_at: Option<String>,
}

/// One row of the seed-001 audit log.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Sequence number, 1 for the first update.
    pub id: i64,
    /// Counter written by this update.
    pub counter: i64,
    /// Message written by this update.
    pub message: String,
    /// When the update happened (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// Number of entries in the whole log.
    pub total: u64,
    /// The entries of the requested page.
    pub entries: Vec<AuditEntry>,
}

/// A seed-002 person.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Person {
    /// Assigned by the store, increasing.
    pub id: i64,
    /// Letters and spaces.
    pub name: String,
    /// Unique; normalised as pydantic's `EmailStr` does (no surrounding blanks, domain in
    /// lower case).
    #[schema(format = Email)]
    pub email: String,
}

/// A seed-003 user who can log in.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// Login name.
    pub username: String,
    /// PHC-format argon2 hash of the password.
    pub password_hash: String,
}

/// A seed-003 item, as the original service answered it (fields in its order). Only the user
/// who created it sees or changes it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Item {
    /// Short name.
    pub name: String,
    /// Free text, optional.
    pub description: Option<String>,
    /// Assigned by the store, increasing.
    pub id: i64,
    /// When it was created: UTC without an offset, as FastAPI writes a naive `datetime`
    /// (`2025-01-31T09:30:00.123456`).
    #[schema(example = "2025-01-31T09:30:00.123456")]
    pub created_at: String,
    /// When a value of it last changed (its creation until then), written likewise.
    #[schema(example = "2025-01-31T09:45:12.654321")]
    pub updated_at: String,
}

/// A partial update of an item: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// Everything the routes need from storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A value that changes whenever the stored data may have changed, if the store can
    /// tell cheaply; `None` (the default) means it cannot, and nothing derived is cached.
    fn change_token(&self) -> Option<u64> {
        None
    }

    /// Adds a seed-000 account; `Conflict` if the username is taken.
    async fn add_account(&self, username: &str, password_sha1: &str) -> StoreResult<()>;
    /// Removes a seed-000 account; `NotFound` if there is none.
    async fn remove_account(&self, username: &str) -> StoreResult<()>;
    /// Whether a seed-000 account has this username.
    async fn account_exists(&self, username: &str) -> StoreResult<bool>;
    /// All seed-000 usernames, sorted.
    async fn list_accounts(&self) -> StoreResult<Vec<String>>;

    /// The current shared state (shared, so a cached copy costs no allocation).
    async fn shared_state(&self) -> StoreResult<Arc<SharedState>>;
    /// The shared state if the store holds it cached and current: no I/O, no future.
    /// `None` means "ask [`Store::shared_state`]".
    fn cached_shared_state(&self) -> Option<Arc<SharedState>> {
        None
    }
    /// Sets the shared state and appends an audit entry, atomically.
    async fn update_shared_state(&self, counter: i64, message: &str, at: &str) -> StoreResult<SharedState>;
    /// A page of the audit log, newest first.
    async fn audit_log(&self, offset: u64, limit: u64) -> StoreResult<AuditPage>;

    /// Adds a person; `Conflict` if the email (compared as given: the route normalises it)
    /// is taken.
    async fn add_person(&self, name: &str, email: &str) -> StoreResult<Person>;
    /// All people, oldest first.
    async fn list_people(&self) -> StoreResult<Vec<Person>>;

    /// Looks a login user up by name.
    async fn find_user(&self, username: &str) -> StoreResult<Option<AuthUser>>;
    /// Adds a login user if no login user exists at all (seeds the demo user).
    async fn add_user_if_none(&self, user: &AuthUser) -> StoreResult<()>;

    /// Creates an item owned by `owner`, created (and updated) `at`.
    async fn create_item(&self, owner: &str, name: &str, description: Option<&str>, at: &str) -> StoreResult<Item>;
    /// The owner's items, newest first.
    async fn list_items(&self, owner: &str) -> StoreResult<Vec<Item>>;
    /// One of the owner's items; `NotFound` otherwise.
    async fn get_item(&self, owner: &str, id: i64) -> StoreResult<Item>;
    /// Applies a partial update to one of the owner's items; its `updated_at` becomes `at`
    /// if a value changed, and stays as it was otherwise.
    async fn update_item(&self, owner: &str, id: i64, patch: ItemPatch, at: &str) -> StoreResult<Item>;
    /// Deletes one of the owner's items.
    async fn delete_item(&self, owner: &str, id: i64) -> StoreResult<()>;

    /// Counts one request at `now` against `rule` for `key` (`<group>#<client ip>`), for
    /// every process sharing the store at once: a request one instance lets through uses up
    /// the limit for all of them. A refused request changes nothing.
    async fn rate_limit(&self, key: &str, rule: Gcra, now: Micros) -> StoreResult<Verdict>;
}
