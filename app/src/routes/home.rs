//! `GET /` (seed 000's welcome) and `GET /health` (seeds 001–003), never rate-limited.

use utoipa_axum::routes;

use super::Routes;

/// The welcome text of `GET /`.
pub const WELCOME: &str = "Welcome to cloudcomp! The API lives under /api/v1/users; /openapi.json describes it all.\n";

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(welcome)).routes(routes!(health))
}

/// Welcome message.
#[utoipa::path(
    get,
    path = "/",
    tag = "seed 000",
    responses((status = 200, description = "A welcome text naming the API's entry points.", body = String))
)]
async fn welcome() -> &'static str {
    WELCOME
}

/// Health check.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "The server is up.", body = String, example = "ok"))
)]
async fn health() -> &'static str {
    "ok"
}
