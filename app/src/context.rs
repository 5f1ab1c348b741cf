//! What every handler can reach: the store, the token keys, the limits, the start time.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;

use crate::auth::Tokens;
use crate::cache::Cached;
use crate::calc::Calculator;
use crate::ratelimit::RateLimits;
use crate::store::Store;

/// Shared, read-only application state (behind an `Arc`).
pub struct AppContext {
    /// Where the data lives.
    pub store: Arc<dyn Store>,
    /// The DynamoDB table behind `/api/v1/users/dynamo`; `None` when none is configured.
    pub dynamo: Option<DynamoUsers>,
    /// Signs and checks access tokens.
    pub tokens: Tokens,
    /// Seed 004's calculator: its store, tokens and admin secret.
    pub calc: Calculator,
    /// The value `POST /update` requires in its `API-Key` header.
    pub api_key: String,
    /// Per-IP limits by route group, counted in the store.
    pub limits: RateLimits,
    /// When the server started, for `uptime`.
    pub started: Instant,
    /// Serialized bodies of the hot list endpoints, valid until the store changes.
    pub responses: ResponseCache,
}

/// The DynamoDB table that `/api/v1/users/dynamo` lists the accounts of.
pub struct DynamoUsers {
    /// The table, as a store.
    pub table: Arc<dyn Store>,
    /// Whether the route first writes [`crate::routes::SAMPLE_ACCOUNT`] to it, as the original
    /// did to show that DynamoDB answers: so it does when the app's store is SQLite, since the
    /// table then holds no accounts of its own.
    pub write_sample: bool,
}

/// Serialized response bodies, keyed by the store's change token.
#[derive(Default)]
pub struct ResponseCache {
    /// `GET /api/v1/users`: the JSON list, or `None` for 204.
    pub accounts: Cached<Option<Bytes>>,
    /// `GET /users`: the JSON list.
    pub people: Cached<Bytes>,
}
