//! Seed 001: a shared counter + message with an audit log.
//!
//! - `GET /status` → {counter, message, timestamp (RFC 3339 UTC, now), uptime (seconds)}.
//! - `POST /update` {counter, message (at most 10,000 characters)} with header `API-Key` →
//!   the new state; 401 without the right key. The state and its audit entry are written in
//!   one transaction.
//! - `GET /logs?page=&per_page=` → {total, page, per_page, logs: [...]}, newest first.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::extract::{Input, QueryInput, whole_number};

/// Page size when `per_page` is not given.
const DEFAULT_PER_PAGE: u64 = 10;
/// Largest page size accepted.
const MAX_PER_PAGE: u64 = 100;
/// Longest message accepted (the audit entry must fit a DynamoDB item, 400 KB).
const MAX_MESSAGE_CHARS: usize = 10_000;

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/status", get(status)).route("/update", post(update)).route("/logs", get(logs))
}

/// Writes a value through its `Display`, straight into the JSON output (no `String`).
fn display<S: serde::Serializer>(value: &impl std::fmt::Display, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The body of `GET /status`.
#[derive(Serialize)]
struct Status<'a> {
    counter: i64,
    message: &'a str,
    /// Now, RFC 3339 UTC, to the nanosecond.
    #[serde(serialize_with = "display")]
    timestamp: humantime::Rfc3339Timestamp,
    /// Seconds since the server started, to the millisecond.
    uptime: f64,
    /// When the state last changed (`null` if never).
    updated_at: Option<&'a str>,
}

async fn status(State(ctx): State<Arc<AppContext>>) -> Result<Response, ApiError> {
    let state = match ctx.store.cached_shared_state() {
        Some(state) => state,
        None => ctx.store.shared_state().await?,
    };
    let body = Status {
        counter: state.counter,
        message: &state.message,
        timestamp: humantime::format_rfc3339_nanos(std::time::SystemTime::now()),
        uptime: (ctx.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        updated_at: state.updated_at.as_deref(),
    };
    // Sized for the whole body up front (axum's `Json` starts at 128 bytes and grows).
    let mut bytes = Vec::with_capacity(192 + state.message.len());
    serde_json::to_writer(&mut bytes, &body).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response())
}

/// Proof that the request carried the configured `API-Key` header.
struct ApiKey;

impl FromRequestParts<Arc<AppContext>> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, ApiError> {
        let given = parts.headers.get("api-key").map(|v| v.as_bytes()).unwrap_or_default();
        if bool::from(given.ct_eq(ctx.api_key.as_bytes())) && !given.is_empty() {
            Ok(ApiKey)
        } else {
            Err(ApiError::Unauthorized("missing or invalid API key (header API-Key)"))
        }
    }
}

#[derive(Deserialize)]
struct Update {
    #[serde(default, deserialize_with = "whole_number")]
    counter: Option<i64>,
    message: Option<String>,
}

async fn update(
    State(ctx): State<Arc<AppContext>>,
    _key: ApiKey,
    Input(body): Input<Update>,
) -> Result<Json<Value>, ApiError> {
    let (Some(counter), Some(message)) = (body.counter, body.message) else {
        return Err(ApiError::bad_request("counter (integer) and message (string) are required"));
    };
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(format!("message must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let at = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    let state = ctx.store.update_shared_state(counter, &message, &at).await?;
    Ok(Json(json!({ "counter": state.counter, "message": state.message, "timestamp": at })))
}

#[derive(Deserialize)]
struct Page {
    page: Option<u64>,
    per_page: Option<u64>,
}

async fn logs(State(ctx): State<Arc<AppContext>>, QueryInput(q): QueryInput<Page>) -> Result<Json<Value>, ApiError> {
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::bad_request(format!("page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")));
    }
    let offset = (page - 1).saturating_mul(per_page);
    let log = ctx.store.audit_log(offset, per_page).await?;
    Ok(Json(json!({
        "total": log.total,
        "page": page,
        "per_page": per_page,
        "pages": log.total.div_ceil(per_page),
        "logs": log.entries,
    })))
}
