//! The one error type handlers return. Every variant renders as an [`ErrorBody`],
//! `{"error": "...", "detail": ...}`, with a 4xx status but `Unavailable` (503) and `Internal`
//! (500); `Internal` logs the cause and tells the client nothing about it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::store::StoreError;

/// An error on its way to becoming an HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or fails validation (400).
    #[error("{0}")]
    BadRequest(String, Option<Value>),
    /// An API key or password is missing or wrong (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A bearer token is missing, malformed or expired (401 with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    BearerRequired(&'static str),
    /// Nothing (visible to this caller) lives at this address (404).
    #[error("not found")]
    NotFound,
    /// The path exists but not with this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the server accepts (413).
    #[error("request body too large")]
    PayloadTooLarge,
    /// The client exceeded its rate limit (429); retry after this many seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Whole seconds until the next request would be accepted.
        retry_after_secs: u64,
    },
    /// A backing service is not configured or not reachable (503).
    #[error("{0}")]
    Unavailable(String),
    /// A failure the client cannot fix (500). The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 400 with a message and no detail.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into(), None)
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::BearerRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every error response; the OpenAPI document's `ErrorBody` schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// More about it, or `null`: the parser's message for a malformed body, `{"retry_after":
    /// seconds}` for a 429.
    pub detail: Value,
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => ApiError::bad_request(what),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::InsufficientFunds | StoreError::ForeignKey => ApiError::bad_request(err.to_string()),
            StoreError::Backend(cause) => ApiError::Internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::BadRequest(_, detail) => detail.clone().unwrap_or(Value::Null),
            ApiError::TooManyRequests { retry_after_secs } => {
                json!({ "retry_after": retry_after_secs })
            }
            _ => Value::Null,
        };
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let body = axum::Json(ErrorBody { error: self.to_string(), detail });
        let mut response = (status, body).into_response();
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::BearerRequired(_) => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
