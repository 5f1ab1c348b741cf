//! The body extractors: [`ModelBody`] (a pydantic model parameter) and [`FormBody`]
//! (`Form()` parameters).

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::FieldError;
use crate::error::ApiError;
use crate::extract::read_body;

/// A body's fields, read as FastAPI reads a pydantic model parameter: a JSON object (or, an
/// extension the originals lacked, a form), else refused with FastAPI's field error and
/// status `INVALID` (422; seed 002 answers 400, as its README says).
pub struct ModelBody<const INVALID: u16>(pub Map<String, Value>);

impl<S: Send + Sync, const INVALID: u16> FromRequest<S> for ModelBody<INVALID> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (body, is_form) = read_body(req, state).await?;
        let fields = if is_form { Ok(form_fields(&body, true)) } else { json_object(&body) };
        fields.map(ModelBody).map_err(|errors| ApiError::Invalid(status(INVALID), errors))
    }
}

/// The fields of a form body (`application/x-www-form-urlencoded`), as FastAPI reads
/// `Form()` parameters: any other body reads as no fields at all (so a JSON body is refused
/// for its missing fields), and a field left empty counts as missing.
pub struct FormBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (body, is_form) = read_body(req, state).await?;
        Ok(FormBody(if is_form { form_fields(&body, false) } else { Map::new() }))
    }
}

/// `INVALID` as a status; a constant that is not one is a bug, served as 422.
fn status(invalid: u16) -> StatusCode {
    StatusCode::from_u16(invalid).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

/// A form's fields as strings (invalid UTF-8 replaced); a repeated field keeps its last value,
/// as Starlette's form does. `keep_empty`: whether a field left empty is kept (a model reads
/// it as `""`).
fn form_fields(body: &[u8], keep_empty: bool) -> Map<String, Value> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    pairs.into_iter().filter(|(_, value)| keep_empty || !value.is_empty()).map(|(k, v)| (k, v.into())).collect()
}

/// The fields of a JSON object body; FastAPI's field error (the one) for anything else.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    let refusal = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => return Ok(fields),
        _ if body.is_empty() => FieldError::missing_body(),
        Ok(Value::Null) => FieldError::missing_body(),
        Ok(other) => FieldError::not_an_object(other),
        Err(err) => FieldError::json_invalid(position(body, &err), reason(&err)),
    };
    Err(vec![refusal])
}

/// The character position (from 0) where the parser stopped, from its line and column.
fn position(body: &[u8], err: &serde_json::Error) -> usize {
    let text = String::from_utf8_lossy(body);
    let before: usize = text.split_inclusive('\n').take(err.line().saturating_sub(1)).map(|l| l.chars().count()).sum();
    before + err.column().saturating_sub(1)
}

/// The parser's message without the position it appends (`... at line 1 column 2`).
fn reason(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(body: &str) -> Value {
        serde_json::to_value(&json_object(body.as_bytes()).unwrap_err()[0]).unwrap()
    }

    #[test]
    fn only_a_json_object_is_a_model() {
        assert_eq!(json_object(br#"{"name": "x"}"#).unwrap()["name"], "x");
        assert_eq!(refusal("")["loc"], json!(["body"]));
        assert_eq!(refusal("null")["type"], "missing");
        assert_eq!(refusal("[1, 2]")["type"], "model_attributes_type");
        assert_eq!(refusal("\"text\"")["input"], "text");
        let malformed = refusal("{\"a\": 1,\n \"b\": }");
        assert_eq!((malformed["type"].clone(), malformed["loc"].clone()), (json!("json_invalid"), json!(["body", 15])));
        assert!(!malformed["ctx"]["error"].as_str().unwrap().contains("line"), "{malformed}");
    }

    #[test]
    fn forms_keep_the_last_value_and_may_drop_empty_ones() {
        let fields = form_fields(b"username=a&username=b&password=", false);
        assert_eq!(Value::Object(fields), json!({"username": "b"}));
        assert_eq!(Value::Object(form_fields(b"name=&x=%C3%A9", true)), json!({"name": "", "x": "é"}));
    }
}
