//! Seed 000: user accounts with SHA-1 passwords under `/api/v1/users`, answered as the original
//! Flask service answered (`{"message": ...}`), with its CORS (see [`super::cors`]).
//!
//! - `POST /api/v1/users` {username, password} → 201 `User <name> added`; 400 when either is
//!   missing (`username or password missing`), the username is taken (`user <name> already
//!   exists`) or the password is not a SHA-1 hex digest (`password not in sha1 format. Enter a
//!   proper format`), checked in that order.
//! - `DELETE /api/v1/users/{username}` → 200 `user <name> removed`; 400 `User doesn't exist`.
//! - `GET /api/v1/users` → 200 with the list of usernames; 204 when there are none.
//! - `GET /api/v1/users/dynamo` → the usernames the DynamoDB table holds (when the app's store
//!   is SQLite, after writing [`SAMPLE_ACCOUNT`] to it, as the original did); 503 when the app
//!   has no table configured.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use utoipa_axum::routes;

use super::cors::{self, AnyOrigin};
use super::responses::{InternalError, PayloadTooLarge};
use super::{Routes, patterns};
use crate::context::AppContext;
use crate::error::{ApiError, MessageBody};
use crate::extract::{Input, PathInput};
use crate::store::{Store, StoreError};

/// Longest username accepted.
const MAX_USERNAME_CHARS: usize = 128;

/// The account `GET /api/v1/users/dynamo` writes to the table before listing it when the
/// app's own store is SQLite: username and SHA-1 password (of `password`).
pub const SAMPLE_ACCOUNT: (&str, &str) = ("sample_user", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8");

/// What the original answered for a password that is not a SHA-1 digest.
const NOT_SHA1: &str = "password not in sha1 format. Enter a proper format";

pub(super) fn routes() -> Routes {
    let routes = Routes::new().routes(routes!(list, add)).routes(routes!(list_dynamo)).routes(routes!(remove));
    cors::with_preflight(routes)
}

/// The body of `POST /api/v1/users`, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"username": "alice", "password": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"}))]
struct NewAccount {
    /// See [`username_schema`].
    #[schema(schema_with = username_schema, required = true)]
    username: Option<String>,
    /// A SHA-1 digest as 40 hexadecimal digits (stored in lower case).
    #[schema(value_type = String, required = true, pattern = "^[0-9a-fA-F]{40}$")]
    password: Option<String>,
}

/// The schema of a username: what [`is_valid_username`] accepts.
fn username_schema() -> Object {
    let allowed = patterns::class_without(&[patterns::CONTROL, patterns::SLASH]);
    let visible = patterns::class_without(&[patterns::CONTROL, patterns::SLASH, patterns::WHITESPACE]);
    let description = "1 to 128 characters, not all blank, without `/` or control characters.";
    patterns::string(description, 1..=MAX_USERNAME_CHARS, format!("^{allowed}*{visible}{allowed}*$")).build()
}

/// What `POST` and `DELETE` answer on success.
#[derive(Serialize, ToSchema)]
struct Message {
    /// `User <name> added` or `user <name> removed`.
    message: String,
}

/// A 400 saying `message`, as the original did.
fn refused(message: String) -> ApiError {
    ApiError::Message(StatusCode::BAD_REQUEST, message)
}

/// A body that does not parse, answered as the surface answers.
fn unreadable(err: ApiError) -> ApiError {
    match err {
        ApiError::BadRequest(message, Some(Value::String(why))) => refused(format!("{message}: {why}")),
        ApiError::BadRequest(message, _) => refused(message),
        other => other,
    }
}

fn already_exists(username: &str) -> ApiError {
    refused(format!("user {username} already exists"))
}

/// Add a user.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "seed 000",
    request_body(
        content((NewAccount = "application/json"), (NewAccount = "application/x-www-form-urlencoded")),
        description = "The account, as JSON or as a form."
    ),
    responses(
        (status = 201, description = "User added: `User <name> added`.", body = Message),
        (
            status = 400,
            description = "`username or password missing`, `user <name> already exists`, `password not in sha1 format. \
                           Enter a proper format` (checked in that order), a username that cannot be one, or a \
                           malformed body.",
            body = MessageBody
        ),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn add(
    State(ctx): State<Arc<AppContext>>,
    body: Result<Input<NewAccount>, ApiError>,
) -> AnyOrigin<Result<Response, ApiError>> {
    AnyOrigin(add_account(&ctx, body).await)
}

/// What `POST /api/v1/users` does.
async fn add_account(ctx: &AppContext, body: Result<Input<NewAccount>, ApiError>) -> Result<Response, ApiError> {
    let Input(body) = body.map_err(unreadable)?;
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let (Some(username), Some(password)) = (given(body.username), given(body.password)) else {
        return Err(refused("username or password missing".into()));
    };
    if !is_valid_username(&username) {
        return Err(refused(format!(
            "username must be 1 to {MAX_USERNAME_CHARS} characters, not all blank, without '/' or control characters"
        )));
    }
    if !is_sha1_hex(&password) {
        // The original looked the username up before it looked at the password.
        let taken = ctx.store.account_exists(&username).await?;
        return Err(if taken { already_exists(&username) } else { refused(NOT_SHA1.into()) });
    }
    match ctx.store.add_account(&username, &password.to_ascii_lowercase()).await {
        Ok(()) => {
            Ok((StatusCode::CREATED, Json(Message { message: format!("User {username} added") })).into_response())
        }
        Err(StoreError::Conflict(_)) => Err(already_exists(&username)),
        Err(err) => Err(err.into()),
    }
}

/// Remove a user.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{username}",
    tag = "seed 000",
    params(("username" = String, Path, min_length = 1, description = "The account to remove.")),
    responses(
        (status = 200, description = "User removed: `user <name> removed`.", body = Message),
        (status = 400, description = "`User doesn't exist` (nor can one: a path that is not UTF-8 once decoded).", body = MessageBody),
        (status = 500, response = InternalError),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    username: Result<PathInput<String>, ApiError>,
) -> AnyOrigin<Result<Response, ApiError>> {
    let Ok(PathInput(username)) = username else {
        return AnyOrigin(Err(refused("User doesn't exist".into())));
    };
    AnyOrigin(match ctx.store.remove_account(&username).await {
        Ok(()) => Ok(Json(Message { message: format!("user {username} removed") }).into_response()),
        Err(StoreError::NotFound) => Err(refused("User doesn't exist".into())),
        Err(err) => Err(err.into()),
    })
}

/// List usernames.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "seed 000",
    responses(
        (status = 200, description = "Every username, sorted.", body = Vec<String>),
        (status = 204, description = "There are no users."),
        (status = 500, response = InternalError),
    )
)]
async fn list(State(ctx): State<Arc<AppContext>>) -> AnyOrigin<Result<Response, ApiError>> {
    let body =
        ctx.responses.accounts.get_or_load(ctx.store.change_token(), || usernames_json(ctx.store.as_ref())).await;
    AnyOrigin(body.map(list_response))
}

/// List the usernames stored in DynamoDB.
#[utoipa::path(
    get,
    path = "/api/v1/users/dynamo",
    tag = "seed 000",
    responses(
        (
            status = 200,
            description = "Every username in the DynamoDB table, sorted (with the SQLite store: the sample account, \
                           written first).",
            body = Vec<String>
        ),
        (status = 204, description = "The table has no users."),
        (status = 503, description = "No DynamoDB table is configured.", body = MessageBody),
        (status = 500, response = InternalError),
    )
)]
async fn list_dynamo(State(ctx): State<Arc<AppContext>>) -> AnyOrigin<Result<Response, ApiError>> {
    AnyOrigin(dynamo_usernames(&ctx).await)
}

/// What `GET /api/v1/users/dynamo` does.
async fn dynamo_usernames(ctx: &AppContext) -> Result<Response, ApiError> {
    let Some(dynamo) = &ctx.dynamo else {
        let message = "no DynamoDB table is configured (set CLOUDCOMP_TABLE, or run with --store dynamodb)";
        return Err(ApiError::Message(StatusCode::SERVICE_UNAVAILABLE, message.into()));
    };
    if dynamo.write_sample {
        let (username, password) = SAMPLE_ACCOUNT;
        match dynamo.table.add_account(username, password).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(list_response(usernames_json(dynamo.table.as_ref()).await?))
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

/// Whether `name` is 1 to [`MAX_USERNAME_CHARS`] characters, not all blank, without `/` or
/// control characters.
fn is_valid_username(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && !name.chars().any(|c| c.is_control() || c == '/')
}

/// Whether `s` is a SHA-1 digest written as 40 hexadecimal digits.
fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::{is_sha1_hex, is_valid_username, patterns, username_schema};

    #[test]
    fn the_documented_username_is_the_one_accepted() {
        let (longest, too_long) = ("x".repeat(128), "x".repeat(129));
        let edges = ["a", " a ", "é", &longest, "", " ", "\u{3000}", "a/b", "a\n", &too_long];
        patterns::assert_documents(username_schema(), &edges, 140, is_valid_username);
    }

    #[test]
    fn sha1_format() {
        assert!(is_sha1_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(is_sha1_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(!is_sha1_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd"));
        assert!(!is_sha1_hex("zbaa61e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(!is_sha1_hex("password"));
    }
}
