//! The calculator's errors, in the three shapes its original answered with:
//! `{"status": "error", "message": …}` for the service's own refusals, `{"<field>":
//! ["<message>", …]}` for a body that fails validation (400), and `{"msg": …}` for an access
//! token that is missing, malformed, expired or without its CSRF double submit.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::store::StoreError;

/// Validation messages by field name.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// An error on its way to becoming one of the calculator's responses.
#[derive(Debug, thiserror::Error)]
pub enum CalcError {
    /// `{"status": "error", "message": …}` with this status.
    #[error("{1}")]
    Refused(StatusCode, Cow<'static, str>),
    /// 400 `{"<field>": ["<message>", …]}`.
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// `{"msg": …}`: what is wrong with the access (or refresh) token.
    #[error("{1}")]
    Token(StatusCode, String),
    /// The store failed (500); the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl CalcError {
    /// 404 `User not found.`
    pub const USER_NOT_FOUND: CalcError = CalcError::Refused(StatusCode::NOT_FOUND, Cow::Borrowed("User not found."));
    /// 404 `Operation not found.`
    pub const OPERATION_NOT_FOUND: CalcError =
        CalcError::Refused(StatusCode::NOT_FOUND, Cow::Borrowed("Operation not found."));
    /// 404 `Record not found.`
    pub const RECORD_NOT_FOUND: CalcError =
        CalcError::Refused(StatusCode::NOT_FOUND, Cow::Borrowed("Record not found."));
    /// 403 `Unauthorized access`: the token's role may not do this.
    pub const FORBIDDEN: CalcError = CalcError::Refused(StatusCode::FORBIDDEN, Cow::Borrowed("Unauthorized access"));

    /// 400 naming one field and what is wrong with it.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        CalcError::Invalid(FieldErrors::from([(name.to_owned(), vec![message.into()])]))
    }

    /// 400 `{"status": "error", "message": …}`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        CalcError::Refused(StatusCode::BAD_REQUEST, message.into())
    }

    /// A store failure, where `NotFound` means `not_found` and `Conflict` means `conflict`.
    pub fn from_store(err: StoreError, not_found: CalcError, conflict: CalcError) -> Self {
        match err {
            StoreError::NotFound => not_found,
            StoreError::Conflict(_) => conflict,
            other => other.into(),
        }
    }
}

impl From<StoreError> for CalcError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InsufficientFunds => CalcError::bad_request("Insufficient funds."),
            StoreError::ForeignKey => CalcError::bad_request("Foreign key violation."),
            StoreError::NotFound => CalcError::Refused(StatusCode::NOT_FOUND, "Not found.".into()),
            StoreError::Conflict(_) => CalcError::Refused(StatusCode::CONFLICT, "Already exists.".into()),
            StoreError::Backend(cause) => CalcError::Internal(cause),
        }
    }
}

/// `{"status": "error", "message": …}`: the calculator's refusals (the OpenAPI schema).
#[derive(Serialize, ToSchema)]
pub struct Refusal {
    /// Always `error`.
    pub status: &'static str,
    /// What went wrong.
    pub message: String,
}

/// `{"msg": …}`: what is wrong with the token (the OpenAPI schema).
#[derive(Serialize, ToSchema)]
pub struct TokenProblem {
    /// What is wrong.
    pub msg: String,
}

impl IntoResponse for CalcError {
    fn into_response(self) -> Response {
        match self {
            CalcError::Refused(status, message) => {
                (status, Json(Refusal { status: "error", message: message.into() })).into_response()
            }
            CalcError::Invalid(fields) => (StatusCode::BAD_REQUEST, Json(fields)).into_response(),
            CalcError::Token(status, msg) => (status, Json(TokenProblem { msg })).into_response(),
            CalcError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                let body = json!({"status": "error", "message": "Internal server error."});
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}
