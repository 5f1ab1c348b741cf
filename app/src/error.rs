//! The one error type handlers return. Every variant renders as JSON with an `error` message
//! a person can read, beside the keys the original service of the surface answered with:
//!
//! - seed 000 (Flask): [`MessageBody`], `{"message": ..., "error": ...}`;
//! - seeds 002 and 003 (FastAPI): [`DetailBody`], `{"detail": "...", "error": ...}`, or for
//!   invalid input [`ValidationBody`], `{"detail": [field errors], "error": ...}`;
//! - everything else: [`ErrorBody`], `{"error": ..., "detail": ...}`.
//!
//! `Internal` (500) logs its cause and tells the client nothing about it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::Ref;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};

use crate::fastapi::FieldError;
use crate::store::StoreError;

/// An error on its way to becoming an HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or fails validation (400).
    #[error("{0}")]
    BadRequest(String, Option<Value>),
    /// An API key is missing or wrong (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Seed 000's answer (Flask): this status with `{"message": ...}`.
    #[error("{1}")]
    Message(StatusCode, String),
    /// Seeds 002 and 003's answer (FastAPI's `HTTPException`): this status with
    /// `{"detail": ...}`.
    #[error("{1}")]
    Detail(StatusCode, &'static str),
    /// FastAPI's OAuth2 bearer refusal: 401 with `{"detail": ...}` and `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    BearerRequired(&'static str),
    /// FastAPI's request validation error: this status (422; 400 on seed 002, as its README
    /// says) with `{"detail": [field errors]}`.
    #[error("{}", summary(.1))]
    Invalid(StatusCode, Vec<FieldError>),
    /// Nothing (visible to this caller) lives at this address (404).
    #[error("not found")]
    NotFound,
    /// The path exists but not with this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the server accepts (413).
    #[error("request body too large")]
    PayloadTooLarge,
    /// The client exceeded its rate limit (429), worded as SlowAPI (seed 003) words it.
    #[error("Rate limit exceeded: {per_minute} per 1 minute")]
    TooManyRequests {
        /// Whole seconds until the next request would be accepted.
        retry_after_secs: u64,
        /// The limit exceeded.
        per_minute: u32,
    },
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
            ApiError::Message(status, _) | ApiError::Detail(status, _) | ApiError::Invalid(status, _) => *status,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `body.name: String should have at least 3 characters; ...`: the field errors in a line.
fn summary(errors: &[FieldError]) -> String {
    let described: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.location(), e.msg)).collect();
    described.join("; ")
}

/// The JSON body of the errors no seed surface words: the OpenAPI document's `ErrorBody`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// More about it, or `null`: the parser's message for a malformed body, `{"retry_after":
    /// seconds}` for a 429, FastAPI's `Not Found` and `Method Not Allowed` for a 404 and a 405.
    pub detail: Value,
}

/// Seed 000's error body, as its Flask service answered (`message`), with `error` repeating it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody<'a> {
    /// What went wrong, in the original service's words.
    pub message: &'a str,
    /// The same, under the key every error body of this app has.
    pub error: &'a str,
}

/// The error body of seeds 002 and 003, as FastAPI answered an `HTTPException` (`detail`),
/// with `error` repeating it. Its `detail` is documented as a message or the field errors
/// of invalid input, for the statuses that answer both.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailBody<'a> {
    /// What went wrong, in the original service's words.
    #[schema(schema_with = message_or_field_errors)]
    pub detail: &'a str,
    /// The same, under the key every error body of this app has.
    pub error: &'a str,
}

/// The schema of [`DetailBody::detail`]: a message, or FastAPI's field errors.
fn message_or_field_errors() -> OneOfBuilder {
    let message = ObjectBuilder::new().schema_type(Type::String);
    let field_errors = ArrayBuilder::new().items(Ref::from_schema_name("FieldError"));
    OneOfBuilder::new()
        .item(message)
        .item(field_errors)
        .description(Some("The original service's message, or (for invalid input) every field error."))
}

/// The body of invalid input on seeds 002 and 003, as FastAPI answered a request validation
/// error: every field error at once, and `error` summing them up.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationBody<'a> {
    /// Each problem found, as pydantic v2 reports it.
    pub detail: &'a [FieldError],
    /// The same in one line: `body.name: String should have at least 3 characters; ...`.
    pub error: &'a str,
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
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let error = self.to_string();
        let body = match &self {
            ApiError::Message(_, message) => axum::Json(MessageBody { message, error: &error }).into_response(),
            ApiError::Detail(_, detail) | ApiError::BearerRequired(detail) => {
                axum::Json(DetailBody { detail, error: &error }).into_response()
            }
            ApiError::Invalid(_, errors) => {
                axum::Json(ValidationBody { detail: errors, error: &error }).into_response()
            }
            ApiError::BadRequest(_, detail) => {
                axum::Json(ErrorBody { error, detail: detail.clone().unwrap_or(Value::Null) }).into_response()
            }
            ApiError::TooManyRequests { retry_after_secs, .. } => {
                axum::Json(ErrorBody { error, detail: json!({ "retry_after": retry_after_secs }) }).into_response()
            }
            // As FastAPI (seeds 001 to 003) words them.
            ApiError::NotFound => axum::Json(ErrorBody { error, detail: "Not Found".into() }).into_response(),
            ApiError::MethodNotAllowed => {
                axum::Json(ErrorBody { error, detail: "Method Not Allowed".into() }).into_response()
            }
            _ => axum::Json(ErrorBody { error, detail: Value::Null }).into_response(),
        };
        let mut response = (status, body).into_response();
        match self {
            ApiError::TooManyRequests { retry_after_secs, .. } => {
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
