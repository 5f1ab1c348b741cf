//! `Input<T>`: a request body read as JSON or as an HTML form, whichever the client sent,
//! with every failure (bad syntax, wrong types, too large) turned into a JSON 4xx; and
//! `QueryInput<T>`, `PathInput<T>`: the query string and the path parameters, likewise.
//! [`whole_number`] reads an integer field as the seeds' Pydantic models read an `int`.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{StatusCode, header};
use serde::Deserializer;
use serde::de::{DeserializeOwned, Error, Unexpected, Visitor};

use crate::error::ApiError;

/// A deserialized request body. Form bodies (`application/x-www-form-urlencoded`) are
/// decoded as forms; anything else is parsed as JSON, and an empty body (no bytes at all: a
/// blank one is malformed JSON) counts as `{}` so that handlers can name the missing fields
/// themselves. A JSON body must be an object:
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
        let (body, is_form) = read_body(req, state).await?;
        let parsed = if is_form {
            serde_urlencoded::from_bytes(&body)
                .map_err(|e| ApiError::BadRequest("invalid form body".into(), Some(e.to_string().into())))
        } else if body.is_empty() {
            serde_json::from_slice(b"{}").map_err(|e| invalid_json(&e))
        } else {
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') | None => serde_json::from_slice(&body).map_err(|e| invalid_json(&e)),
                Some(_) => Err(ApiError::BadRequest("invalid JSON body".into(), Some("expected a JSON object".into()))),
            }
        };
        parsed.map(Input)
    }
}

/// The body of `req`, and whether it is a form (`application/x-www-form-urlencoded`); 413 when
/// it is larger than the server accepts.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<(Bytes, bool), ApiError> {
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
    Ok((body, is_form))
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

/// Reads an optional `i64` field that JSON may write as `42` or as `42.0` (a number with no
/// fractional part, which JSON Schema counts as an integer and Pydantic accepts as an `int`);
/// `42.5`, a number out of range and a JSON string are refused. Forms give `42` as text.
/// Use with `#[serde(default, deserialize_with = "whole_number")]`.
///
/// A float is read correctly rounded (serde_json's `float_roundtrip`), as a JSON Schema
/// validator reads it, and taken strictly between -2^63 and 2^63: serde_json reads an integer
/// literal below `i64::MIN` as the nearest `f64`, which is -2^63 itself.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_i64(WholeNumber).map(Some)
}

struct WholeNumber;

/// 2^63: the first whole `f64` above `i64::MAX`, and minus the first at or below `i64::MIN`.
const I64_END: f64 = 9_223_372_036_854_775_808.0;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number between -2^63 and 2^63 - 1")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < I64_END {
            Ok(v as i64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::whole_number;

    #[derive(Deserialize)]
    struct Counter {
        #[serde(default, deserialize_with = "whole_number")]
        counter: Option<i64>,
    }

    fn json(body: &str) -> Option<Option<i64>> {
        serde_json::from_str::<Counter>(body).ok().map(|c| c.counter)
    }

    #[test]
    fn whole_numbers_are_read_however_json_writes_them() {
        assert_eq!(json(r#"{"counter": 42}"#), Some(Some(42)));
        assert_eq!(json(r#"{"counter": -27.0}"#), Some(Some(-27)));
        assert_eq!(json(r#"{"counter": 9223372036854775807}"#), Some(Some(i64::MAX)));
        assert_eq!(json(r#"{"counter": -9007199254740993.0}"#), Some(Some(-9_007_199_254_740_992)));
        assert_eq!(json(r#"{"counter": 4.2e1}"#), Some(Some(42)));
        assert_eq!(json(r#"{"counter": -9223372036854775808}"#), Some(Some(i64::MIN)));
        assert_eq!(json(r#"{}"#), Some(None));
        for refused in ["42.5", "9223372036854775808", "-9223372036854775809", "1e300", "\"42\"", "true", "null"] {
            assert_eq!(json(&format!(r#"{{"counter": {refused}}}"#)), None, "{refused}");
        }
    }

    #[test]
    fn forms_give_whole_numbers_as_text() {
        let form = |body: &str| serde_urlencoded::from_str::<Counter>(body).ok().map(|c| c.counter);
        assert_eq!(form("counter=42"), Some(Some(42)));
        assert_eq!(form("counter=4.5"), None);
        assert_eq!(form("counter=x"), None);
    }
}
