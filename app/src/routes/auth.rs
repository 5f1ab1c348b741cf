//! Seed 003: `POST /auth/login` with form fields `username` and `password` (a form only, as
//! its README says: FastAPI's `OAuth2PasswordRequestForm`) → {access_token, token_type:
//! TOKEN_TYPE, expires_in}; 401 `Incorrect username or password`; 422 with FastAPI's field
//! errors for a missing field (a JSON body has none). Rate-limited per client IP (5 per minute
//! by default, and the 60 of every seed 003 route).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa_axum::routes;

use super::Routes;
use super::responses::{InternalError, PayloadTooLarge};
use crate::auth::{TOKEN_LIFETIME, decoy_hash, verify_password};
use crate::context::AppContext;
use crate::error::{ApiError, DetailBody, ValidationBody};
use crate::fastapi::{Fields, FormBody, Text};

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(login))
}

/// The form of `POST /auth/login`; as validated, the credentials to check.
#[derive(ToSchema)]
#[schema(example = json!({"username": "demo", "password": "password123"}))]
struct Login<'a> {
    /// Who logs in (not empty: FastAPI reads an empty form field as a missing one).
    #[schema(min_length = 1)]
    username: &'a str,
    /// Their password (likewise not empty).
    #[schema(format = Password, min_length = 1)]
    password: &'a str,
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
        content((Login = "application/x-www-form-urlencoded")),
        description = "The credentials, as a form."
    ),
    responses(
        (status = 200, description = "A token valid for 30 minutes.", body = Token),
        (status = 401, description = "`Incorrect username or password`.", body = DetailBody),
        (status = 413, response = PayloadTooLarge),
        (
            status = 422,
            description = "A missing (or empty) username or password, or a body that is not a form: FastAPI's field errors.",
            body = ValidationBody
        ),
        (status = 500, response = InternalError),
    )
)]
async fn login(State(ctx): State<Arc<AppContext>>, FormBody(form): FormBody) -> Result<Json<Token>, ApiError> {
    let mut fields = Fields::of(&form);
    let username = fields.required("username", &Text::ANY);
    let password = fields.required("password", &Text::ANY);
    let (username, password) = fields
        .finish(username.zip(password))
        .map_err(|errors| ApiError::Invalid(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    let login = Login { username, password };
    let hash = match ctx.store.find_user(login.username).await? {
        Some(user) => Some(user.password_hash),
        None => None,
    };
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
    let password = login.password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !(known && matches) {
        return Err(ApiError::Detail(StatusCode::UNAUTHORIZED, "Incorrect username or password"));
    }
    let token = ctx.tokens.issue(login.username, SystemTime::now()).map_err(ApiError::Internal)?;
    Ok(Json(Token { access_token: token, token_type: TOKEN_TYPE, expires_in: TOKEN_LIFETIME.as_secs() }))
}
