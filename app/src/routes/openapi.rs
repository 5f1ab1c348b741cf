//! `GET /openapi.json`: the OpenAPI 3.1 document describing every route. The document is
//! kept in `app/openapi.json`; a test checks that it and the router agree path by path.

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use crate::context::AppContext;

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/openapi.json", get(|| async { ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON) }))
}
