//! `Input<T>`: a request body read as JSON or as an HTML form, whichever the client sent,
//! with every failure (bad syntax, wrong types, too large) turned into a JSON 4xx; and
//! `QueryInput<T>`, `PathInput<T>`: the query string and the path parameters, likewise.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A deserialized request body. Form bodies (`application/x-www-form-urlencoded`) are
/// decoded as forms; anything else is parsed as JSON, and an empty body counts as `{}` so
/// that handlers can name the missing fields themselves. A JSON body must be an object:
/// serde would otherwise read a struct from an array of its fields in order (`[null, null]`),
/// which no client of the original services could send.
pub struct Input<T>(pub T);

impl<S, T> FromRequest<S> for Input<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        let parsed = if is_form {
            serde_urlencoded::from_bytes(&body)
                .map_err(|e| ApiError::BadRequest("invalid form body".into(), Some(e.to_string().into())))
        } else {
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                None => serde_json::from_slice(b"{}").map_err(|e| invalid_json(&e)),
                Some(b'{') => serde_json::from_slice(&body).map_err(|e| invalid_json(&e)),
                Some(_) => Err(ApiError::BadRequest("invalid JSON body".into(), Some("expected a JSON object".into()))),
            }
        };
        parsed.map(Input)
    }
}

fn invalid_json(err: &serde_json::Error) -> ApiError {
    ApiError::BadRequest("invalid JSON body".into(), Some(err.to_string().into()))
}

/// Deserialized query-string parameters, with a JSON 400 when they do not parse.
pub struct QueryInput<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryInput<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(QueryInput)
            .map_err(|e| ApiError::BadRequest("invalid query parameters".into(), Some(e.to_string().into())))
    }
}

/// Deserialized path parameters, with a JSON 400 when they do not decode (a percent-encoded
/// byte sequence that is not UTF-8, a value of the wrong type).
pub struct PathInput<T>(pub T);

impl<S, T> FromRequestParts<S> for PathInput<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathInput(value)),
            Err(rejection) if rejection.status().is_server_error() => {
                Err(ApiError::Internal(anyhow::anyhow!(rejection.body_text())))
            }
            Err(rejection) => Err(ApiError::BadRequest("invalid path".into(), Some(rejection.body_text().into()))),
        }
    }
}
