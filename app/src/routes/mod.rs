//! The HTTP surface, grouped by the seed whose contract each module serves.
//!
//! Every route is mounted from its `#[utoipa::path]` definition (through `utoipa_axum`'s
//! `routes!`), so the router and the OpenAPI document ([`openapi`]) are built from the same
//! list and cannot disagree: a path, a method or a rate limit the document names is one the
//! server mounts.

mod accounts;
mod auth;
mod cors;
mod home;
mod items;
mod openapi;
mod patterns;
mod people;
mod responses;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::ratelimit::{Group, GroupLimiter, enforce};

pub use accounts::SAMPLE_ACCOUNT;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where seed 004's calculator is mounted: its `/api/v1/users` would collide with seed 000's.
pub const CALC_PREFIX: &str = "/calc";

/// A router of some routes with their OpenAPI paths.
type Routes = OpenApiRouter<Arc<AppContext>>;

/// The whole application as a router, ready to serve (or to call in-process in tests).
pub fn app(ctx: Arc<AppContext>) -> Router {
    let (router, _) = mounted(|group| ctx.limits.limiter(group)).split_for_parts();
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ctx)
}

/// The OpenAPI document of every route [`app`] mounts.
pub fn openapi() -> utoipa::openapi::OpenApi {
    mounted(|_| None).into_openapi()
}

/// Every route and its documentation; `limiter` says which groups are rate-limited.
fn mounted(limiter: impl Fn(Group) -> Option<Arc<GroupLimiter>>) -> Routes {
    let global =
        Routes::new().merge(accounts::routes()).merge(state::routes()).merge(people::routes()).merge(openapi::routes());
    // Seed 003's limit covers its every route; a login is counted against the login limit
    // first, so that a login refused there costs nothing of the other.
    let login = limited(limited(auth::routes(), limiter(Group::Items)), limiter(Group::Login));
    Routes::with_openapi(openapi::Root::openapi())
        .merge(home::routes())
        .merge(limited(global, limiter(Group::Global)))
        .merge(login)
        .merge(limited(items::routes(), limiter(Group::Items)))
        .nest(CALC_PREFIX, limited(crate::calc::routes::routes(), limiter(Group::Global)))
}

/// `routes` behind `limiter`'s middleware, when the group has a limit; documented as
/// answering 429 either way, since the limit is configuration (`--rate-*`).
///
/// An unlimited group gets no middleware at all: the hot read paths pay nothing for it.
fn limited(mut routes: Routes, limiter: Option<Arc<GroupLimiter>>) -> Routes {
    responses::add_to_every_operation::<responses::TooManyRequests>(routes.get_openapi_mut(), "429");
    match limiter {
        Some(limiter) => routes.route_layer(from_fn_with_state(limiter, enforce)),
        None => routes,
    }
}
