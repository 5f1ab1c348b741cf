//! Seed 001: a shared counter + message with an audit log.
//!
//! - `GET /status` → {counter, message, timestamp (RFC 3339 UTC, now), uptime (seconds)}.
//! - `POST /update` {counter, message (at most 10,000 characters)} with header `API-Key` →
//!   the new state; 401 without the right key. The state and its audit entry are written in
//!   one transaction.
//! - `GET /logs?page=&per_page=` → {total, page, per_page, logs: [...]}, newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::Routes;
use super::responses::{InternalError, PayloadTooLarge};
use crate::context::AppContext;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Input, QueryInput, whole_number};
use crate::store::AuditEntry;

/// Page size when `per_page` is not given.
const DEFAULT_PER_PAGE: u64 = 10;
/// Largest page size accepted.
const MAX_PER_PAGE: u64 = 100;
/// Longest message accepted (the audit entry must fit a DynamoDB item, 400 KB).
const MAX_MESSAGE_CHARS: usize = 10_000;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(status)).routes(routes!(update)).routes(routes!(logs))
}

/// Writes a value through its `Display`, straight into the JSON output (no `String`).
fn display<S: serde::Serializer>(value: &impl std::fmt::Display, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The body of `GET /status`.
#[derive(Serialize, ToSchema)]
struct Status<'a> {
    /// The counter the last update set (0 at first).
    counter: i64,
    /// The message the last update set.
    message: &'a str,
    /// Now, RFC 3339 UTC, to the nanosecond.
    #[serde(serialize_with = "display")]
    #[schema(value_type = String, format = DateTime)]
    timestamp: humantime::Rfc3339Timestamp,
    /// Seconds since the server started, to the millisecond.
    #[schema(minimum = 0)]
    uptime: f64,
    /// When the state last changed (`null` if never).
    #[schema(value_type = Option<String>, format = DateTime)]
    updated_at: Option<&'a str>,
}

/// The shared state.
#[utoipa::path(
    get,
    path = "/status",
    tag = "seed 001",
    responses(
        (status = 200, description = "The shared counter and message, now, and the server's uptime.", body = Status),
        (status = 500, response = InternalError),
    )
)]
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

/// The body of `POST /update`, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"counter": 42, "message": "Updated state"}))]
struct Update {
    /// The new counter.
    #[schema(value_type = i64, required = true, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    #[serde(default, deserialize_with = "whole_number")]
    counter: Option<i64>,
    /// The new message.
    #[schema(value_type = String, required = true, max_length = 10000)]
    message: Option<String>,
}

/// What `POST /update` answers: the state it wrote.
#[derive(Serialize, ToSchema)]
struct Updated {
    /// The counter written.
    counter: i64,
    /// The message written.
    message: String,
    /// When it was written, RFC 3339 UTC (the audit entry's timestamp).
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Set the shared state (and log it).
#[utoipa::path(
    post,
    path = "/update",
    tag = "seed 001",
    security(("api_key" = [])),
    request_body(
        content((Update = "application/json"), (Update = "application/x-www-form-urlencoded")),
        description = "The new state, as JSON or as a form."
    ),
    responses(
        (status = 200, description = "The state written; its audit entry is written in the same transaction.", body = Updated),
        (status = 400, description = "A missing or invalid counter or message, or a malformed body.", body = ErrorBody),
        (status = 401, description = "The `API-Key` header is missing or wrong.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    _key: ApiKey,
    Input(body): Input<Update>,
) -> Result<Json<Updated>, ApiError> {
    let (Some(counter), Some(message)) = (body.counter, body.message) else {
        return Err(ApiError::bad_request("counter (integer) and message (string) are required"));
    };
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(format!("message must be at most {MAX_MESSAGE_CHARS} characters")));
    }
    let at = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    let state = ctx.store.update_shared_state(counter, &message, &at).await?;
    Ok(Json(Updated { counter: state.counter, message: state.message, timestamp: at }))
}

/// The query of `GET /logs`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Page {
    /// Which page, from 1.
    #[param(value_type = u64, format = "uint64", required = false, minimum = 1, maximum = 18446744073709551615u64, default = 1)]
    page: Option<u64>,
    /// Entries per page.
    #[param(value_type = u64, required = false, minimum = 1, maximum = 100, default = 10)]
    per_page: Option<u64>,
}

/// One page of the audit log.
#[derive(Serialize, ToSchema)]
struct LogPage {
    /// Entries in the whole log.
    total: u64,
    /// This page's number.
    page: u64,
    /// Entries per page.
    per_page: u64,
    /// Pages in the whole log.
    pages: u64,
    /// This page's entries, newest first.
    logs: Vec<AuditEntry>,
}

/// The audit log, newest first.
#[utoipa::path(
    get,
    path = "/logs",
    tag = "seed 001",
    params(Page),
    responses(
        (status = 200, description = "One page of the log.", body = LogPage),
        (status = 400, description = "`page` below 1, `per_page` outside 1 to 100, or a value that is not a whole number.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn logs(State(ctx): State<Arc<AppContext>>, QueryInput(q): QueryInput<Page>) -> Result<Json<LogPage>, ApiError> {
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::bad_request(format!("page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")));
    }
    let offset = (page - 1).saturating_mul(per_page);
    let log = ctx.store.audit_log(offset, per_page).await?;
    Ok(Json(LogPage { total: log.total, page, per_page, pages: log.total.div_ceil(per_page), logs: log.entries }))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::{IntoParams, PartialSchema};

    use super::*;

    #[test]
    fn the_documented_limits_are_the_ones_checked() {
        let update = serde_json::to_value(<Update as PartialSchema>::schema()).unwrap();
        assert_eq!(update["properties"]["message"]["maxLength"], json!(MAX_MESSAGE_CHARS));
        let params = serde_json::to_value(Page::into_params(|| None)).unwrap();
        let per_page = params.as_array().unwrap().iter().find(|p| p["name"] == "per_page").unwrap();
        assert_eq!(per_page["schema"]["maximum"], json!(MAX_PER_PAGE));
        assert_eq!(per_page["schema"]["default"], json!(DEFAULT_PER_PAGE));
        let page = params.as_array().unwrap().iter().find(|p| p["name"] == "page").unwrap();
        assert_eq!(page["schema"]["maximum"], Value::from(u64::MAX));
    }
}
