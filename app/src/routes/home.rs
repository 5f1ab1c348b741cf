//! `GET /` (seed 000's welcome) and `GET /health` (seeds 001–003), never rate-limited.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::context::AppContext;

/// The welcome text of `GET /`.
pub const WELCOME: &str = "Welcome to cloudcomp! The API lives under /api/v1/users; /openapi.json describes it all.\n";

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/", get(|| async { WELCOME })).route("/health", get(|| async { "ok" }))
}
