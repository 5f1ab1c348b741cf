//! `GET /` (seed 000's welcome, with its CORS) and `GET /health` (seeds 002 and 003), never
//! rate-limited.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use utoipa_axum::routes;

use super::Routes;
use super::cors::{self, AnyOrigin};

/// The welcome page of `GET /`.
pub const WELCOME: &str = "Welcome to cloudcomp! The API lives under /api/v1/users; /openapi.json describes it all.\n";

/// The body of `GET /health`, as seeds 002 and 003 answered it.
const HEALTHY: &str = r#"{"status":"ok"}"#;

pub(super) fn routes() -> Routes {
    Routes::new().merge(cors::with_preflight(Routes::new().routes(routes!(welcome)))).routes(routes!(health))
}

/// Welcome message.
#[utoipa::path(
    get,
    path = "/",
    tag = "seed 000",
    responses((status = 200, description = "A welcome page naming the API's entry points.", body = String, content_type = "text/html"))
)]
async fn welcome() -> AnyOrigin<Html<&'static str>> {
    AnyOrigin(Html(WELCOME))
}

/// Health check (a load balancer looks at the status code only).
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "The server is up.", body = Object, example = json!({"status": "ok"})))
)]
async fn health() -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], HEALTHY)
}
