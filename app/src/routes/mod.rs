//! The HTTP surface, grouped by the seed whose contract each module serves.

mod accounts;
mod auth;
mod home;
mod items;
mod openapi;
mod people;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::ratelimit::{Group, enforce};

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole application as a router, ready to serve (or to call in-process in tests).
pub fn app(ctx: Arc<AppContext>) -> Router {
    // An unlimited group gets no middleware at all: the hot read paths pay nothing for it.
    let limited = |group, routes: Router<Arc<AppContext>>| match ctx.limits.limiter(group) {
        Some(limiter) => routes.route_layer(from_fn_with_state(limiter, enforce)),
        None => routes,
    };
    let global =
        Router::new().merge(accounts::routes()).merge(state::routes()).merge(people::routes()).merge(openapi::routes());
    Router::new()
        .merge(home::routes())
        .merge(limited(Group::Global, global))
        .merge(limited(Group::Login, auth::routes()))
        .merge(limited(Group::Items, items::routes()))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ctx)
}
