//! Seed 000: user accounts with SHA-1 passwords under `/api/v1/users`.
//!
//! - `POST /api/v1/users` {username, password} → 201; 400 when either is missing or the
//!   password is not a SHA-1 hex digest (or the username is taken).
//! - `DELETE /api/v1/users/{username}` → 200; 400 when there is no such user.
//! - `GET /api/v1/users` → 200 with the list of usernames; 204 when there are none.
//! - `GET /api/v1/users/dynamo` → the same list, read from the DynamoDB table; 503 when the
//!   app has no table configured.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::extract::{Input, PathInput};
use crate::store::{Store, StoreError};

/// Longest username accepted.
const MAX_USERNAME_CHARS: usize = 128;

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new()
        .route("/api/v1/users", get(list).post(add))
        .route("/api/v1/users/dynamo", get(list_dynamo))
        .route("/api/v1/users/{username}", delete(remove))
}

#[derive(Deserialize)]
struct NewAccount {
    username: Option<String>,
    password: Option<String>,
}

async fn add(State(ctx): State<Arc<AppContext>>, Input(body): Input<NewAccount>) -> Result<Response, ApiError> {
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let (Some(username), Some(password)) = (present(body.username), present(body.password)) else {
        return Err(ApiError::bad_request("missing username or password"));
    };
    if username.chars().count() > MAX_USERNAME_CHARS || username.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::bad_request(format!(
            "username must be 1 to {MAX_USERNAME_CHARS} characters, without '/' or control characters"
        )));
    }
    if !is_sha1_hex(&password) {
        return Err(ApiError::bad_request("password must be in SHA1 format (40 hexadecimal characters)"));
    }
    ctx.store.add_account(&username, &password.to_ascii_lowercase()).await?;
    let body = json!({ "message": "User added successfully.", "username": username });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn remove(
    State(ctx): State<Arc<AppContext>>,
    PathInput(username): PathInput<String>,
) -> Result<Response, ApiError> {
    match ctx.store.remove_account(&username).await {
        Ok(()) => Ok(Json(json!({ "message": "User removed successfully.", "username": username })).into_response()),
        Err(StoreError::NotFound) => Err(ApiError::bad_request("user doesn't exist")),
        Err(err) => Err(err.into()),
    }
}

async fn list(State(ctx): State<Arc<AppContext>>) -> Result<Response, ApiError> {
    let body =
        ctx.responses.accounts.get_or_load(ctx.store.change_token(), || usernames_json(ctx.store.as_ref())).await?;
    Ok(list_response(body))
}

async fn list_dynamo(State(ctx): State<Arc<AppContext>>) -> Result<Response, ApiError> {
    let Some(dynamo) = &ctx.dynamo else {
        return Err(ApiError::Unavailable(
            "no DynamoDB table is configured (set CLOUDCOMP_TABLE, or run with --store dynamodb)".into(),
        ));
    };
    Ok(list_response(usernames_json(dynamo.as_ref()).await?))
}

/// The usernames as a JSON array, or `None` when there are none.
async fn usernames_json(store: &dyn Store) -> Result<Option<Bytes>, ApiError> {
    let names = store.list_accounts().await?;
    if names.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_vec(&names).map_err(|e| ApiError::Internal(e.into()))?.into()))
}

/// 200 with the JSON list, or 204 when it is empty.
fn list_response(body: Option<Bytes>) -> Response {
    match body {
        Some(json) => ([(CONTENT_TYPE, "application/json")], json).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Whether `s` is a SHA-1 digest written as 40 hexadecimal digits.
fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::is_sha1_hex;

    #[test]
    fn sha1_format() {
        assert!(is_sha1_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(is_sha1_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(!is_sha1_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd"));
        assert!(!is_sha1_hex("zbaa61e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(!is_sha1_hex("password"));
    }
}
