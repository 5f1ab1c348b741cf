//! Seed 003: each user's items, behind `Authorization: Bearer <token>`.
//!
//! - `POST /items` {name, description?} → 201 with the item.
//! - `GET /items` → the caller's items.
//! - `GET /items/{id}` → the item; 404 if it does not exist or is someone else's.
//! - `PUT /items/{id}` {name?, description?} → partial update, 200 with the item.
//! - `DELETE /items/{id}` → 204.
//!
//! Missing, malformed, tampered or expired tokens get 401. Rate-limited per client IP
//! (60 per minute by default).

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::extract::{Input, PathInput};
use crate::store::{Item, ItemPatch};

/// Longest item name accepted.
const MAX_NAME_CHARS: usize = 200;
/// Longest item description accepted.
const MAX_DESCRIPTION_CHARS: usize = 10_000;

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/items", get(list).post(create)).route("/items/{id}", get(read).put(update).delete(remove))
}

/// The user a valid bearer token names.
struct CurrentUser(String);

impl FromRequestParts<Arc<AppContext>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))) else {
            return Err(ApiError::BearerRequired("missing bearer token"));
        };
        ctx.tokens.verify(token.trim()).map(CurrentUser).ok_or(ApiError::BearerRequired("invalid or expired token"))
    }
}

#[derive(Deserialize)]
struct ItemBody {
    name: Option<String>,
    description: Option<String>,
}

fn check_lengths(body: &ItemBody) -> Result<(), ApiError> {
    if body.name.as_ref().is_some_and(|n| n.trim().is_empty() || n.chars().count() > MAX_NAME_CHARS) {
        return Err(ApiError::bad_request(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    if body.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(ApiError::bad_request(format!("description must be at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(())
}

fn item_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request("item id must be an integer"))
}

async fn create(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    Input(body): Input<ItemBody>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    check_lengths(&body)?;
    let Some(name) = &body.name else {
        return Err(ApiError::bad_request("name is required"));
    };
    let item = ctx.store.create_item(&user, name, body.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn list(State(ctx): State<Arc<AppContext>>, CurrentUser(user): CurrentUser) -> Result<Json<Vec<Item>>, ApiError> {
    Ok(Json(ctx.store.list_items(&user).await?))
}

async fn read(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
) -> Result<Json<Item>, ApiError> {
    Ok(Json(ctx.store.get_item(&user, item_id(&id)?).await?))
}

async fn update(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
    Input(body): Input<ItemBody>,
) -> Result<Json<Item>, ApiError> {
    let id = item_id(&id)?;
    check_lengths(&body)?;
    let patch = ItemPatch { name: body.name, description: body.description };
    Ok(Json(ctx.store.update_item(&user, id, patch).await?))
}

async fn remove(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
) -> Result<StatusCode, ApiError> {
    ctx.store.delete_item(&user, item_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
