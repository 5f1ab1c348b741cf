//! Seed 003: `POST /auth/login` with form (or JSON) `username` and `password` →
//! {access_token, token_type: TOKEN_TYPE, expires_in}; 401 for wrong credentials.
//! Rate-limited per client IP (5 per minute by default).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa_axum::routes;

use super::Routes;
use super::responses::{InternalError, PayloadTooLarge};
use crate::auth::{TOKEN_LIFETIME, decoy_hash, verify_password};
use crate::context::AppContext;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Input;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(login))
}

/// The body of `POST /auth/login`, as a form (as seed 003 sends it) or as JSON.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"username": "demo", "password": "password123"}))]
struct Login {
    /// Who logs in.
    #[schema(value_type = String, required = true)]
    username: Option<String>,
    /// Their password.
    #[schema(value_type = String, required = true, format = Password)]
    password: Option<String>,
}

/// An access token, as OAuth2's password flow answers it.
#[derive(Serialize, ToSchema)]
struct Token {
    /// The bearer token for `Authorization: Bearer ...`.
    access_token: String,
    /// Always [`TOKEN_TYPE`].
    #[schema(schema_with = token_type_schema)]
    token_type: &'static str,
    /// Seconds the token stays valid (1800).
    expires_in: u64,
}

/// The `token_type` of every token.
const TOKEN_TYPE: &str = "bearer";

/// The schema of `token_type`: the one value it takes.
fn token_type_schema() -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some([TOKEN_TYPE])).build()
}

/// Log in for a bearer token.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "seed 003",
    request_body(
        content((Login = "application/x-www-form-urlencoded"), (Login = "application/json")),
        description = "The credentials, as a form or as JSON."
    ),
    responses(
        (status = 200, description = "A token valid for 30 minutes.", body = Token),
        (status = 400, description = "A missing username or password, or a malformed body.", body = ErrorBody),
        (status = 401, description = "Wrong username or password.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn login(State(ctx): State<Arc<AppContext>>, Input(form): Input<Login>) -> Result<Json<Token>, ApiError> {
    let (Some(username), Some(password)) = (form.username, form.password) else {
        return Err(ApiError::bad_request("username and password are required"));
    };
    let hash = match ctx.store.find_user(&username).await? {
        Some(user) => Some(user.password_hash),
        None => None,
    };
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !(known && matches) {
        return Err(ApiError::Unauthorized("incorrect username or password"));
    }
    let token = ctx.tokens.issue(&username, SystemTime::now()).map_err(ApiError::Internal)?;
    Ok(Json(Token { access_token: token, token_type: TOKEN_TYPE, expires_in: TOKEN_LIFETIME.as_secs() }))
}
