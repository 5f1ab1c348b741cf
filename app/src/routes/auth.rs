//! Seed 003: `POST /auth/login` with form (or JSON) `username` and `password` →
//! {access_token, token_type: "bearer", expires_in}; 401 for wrong credentials.
//! Rate-limited per client IP (5 per minute by default).

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{TOKEN_LIFETIME, decoy_hash, verify_password};
use crate::context::AppContext;
use crate::error::ApiError;
use crate::extract::Input;

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/auth/login", post(login))
}

#[derive(Deserialize)]
struct Login {
    username: Option<String>,
    password: Option<String>,
}

async fn login(State(ctx): State<Arc<AppContext>>, Input(form): Input<Login>) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
    })))
}
