//! [`FieldError`]: one problem with a request, as pydantic v2 reports it in FastAPI's
//! validation error list, with the constructors for the problems the seeds can meet.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// One problem with the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "string_too_short", "loc": ["body", "name"], "msg": "String should have at least 3 characters",
    "input": "ab", "ctx": {"min_length": 3}
}))]
pub struct FieldError {
    /// pydantic's name for the problem: `missing`, `string_type`, `string_too_short`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where it is: `["body", field]`, `["path", parameter]`, `["body"]` for the body as a
    /// whole, `["body", position]` for JSON that does not parse.
    pub loc: Vec<Loc>,
    /// What is wrong, in pydantic's words.
    pub msg: Cow<'static, str>,
    /// The value refused (for a missing field, the object it is missing from).
    pub input: Value,
    /// The parameters of the constraint refused, e.g. `{"min_length": 3}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// One step of a [`FieldError`]'s location.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Loc {
    /// A part of the request (`body`, `path`) or a field's name.
    Name(&'static str),
    /// A character position in a body that does not parse.
    Position(usize),
}

impl FieldError {
    fn new(kind: &'static str, loc: Vec<Loc>, msg: impl Into<Cow<'static, str>>, input: Value) -> Self {
        FieldError { kind, loc, msg: msg.into(), input, ctx: None }
    }

    fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// The location written as a path: `body.name`.
    pub fn location(&self) -> String {
        let mut path = String::new();
        for (i, step) in self.loc.iter().enumerate() {
            let dot = if i == 0 { "" } else { "." };
            let _ = match step {
                Loc::Name(name) => write!(path, "{dot}{name}"),
                Loc::Position(at) => write!(path, "{dot}{at}"),
            };
        }
        path
    }

    /// `field` of the body is absent; `body` is the object it is missing from.
    pub fn missing(field: &'static str, body: Value) -> Self {
        FieldError::new("missing", vec![Loc::Name("body"), Loc::Name(field)], "Field required", body)
    }

    /// There is no body (nothing, or JSON `null`).
    pub fn missing_body() -> Self {
        FieldError::new("missing", vec![Loc::Name("body")], "Field required", Value::Null)
    }

    /// The body is JSON but not an object.
    pub fn not_an_object(input: Value) -> Self {
        let msg = "Input should be a valid dictionary or object to extract fields from";
        FieldError::new("model_attributes_type", vec![Loc::Name("body")], msg, input)
    }

    /// The body is not JSON: the parser stopped at character `position` saying `error`.
    pub fn json_invalid(position: usize, error: String) -> Self {
        let loc = vec![Loc::Name("body"), Loc::Position(position)];
        FieldError::new("json_invalid", loc, "JSON decode error", json!({})).with_ctx(json!({ "error": error }))
    }

    /// `field` is not a string.
    pub fn string_type(field: &'static str, input: Value) -> Self {
        FieldError::new("string_type", body(field), "Input should be a valid string", input)
    }

    /// `field` has fewer than `min` characters.
    pub fn string_too_short(field: &'static str, input: &str, min: usize) -> Self {
        let msg = format!("String should have at least {min} character{}", plural(min));
        FieldError::new("string_too_short", body(field), msg, input.into()).with_ctx(json!({ "min_length": min }))
    }

    /// `field` has more than `max` characters.
    pub fn string_too_long(field: &'static str, input: &str, max: usize) -> Self {
        let msg = format!("String should have at most {max} character{}", plural(max));
        FieldError::new("string_too_long", body(field), msg, input.into()).with_ctx(json!({ "max_length": max }))
    }

    /// `field` does not match `pattern`.
    pub fn pattern_mismatch(field: &'static str, input: &str, pattern: &str) -> Self {
        let msg = format!("String should match pattern '{pattern}'");
        FieldError::new("string_pattern_mismatch", body(field), msg, input.into())
            .with_ctx(json!({ "pattern": pattern }))
    }

    /// `field` is not an email address, for `reason` (email-validator's words).
    pub fn invalid_email(field: &'static str, input: &str, reason: &'static str) -> Self {
        let msg = format!("value is not a valid email address: {reason}");
        FieldError::new("value_error", body(field), msg, input.into()).with_ctx(json!({ "reason": reason }))
    }

    /// The path parameter `name` is not an integer.
    pub fn int_parsing(name: &'static str, input: &str) -> Self {
        let msg = "Input should be a valid integer, unable to parse string as an integer";
        FieldError::new("int_parsing", vec![Loc::Name("path"), Loc::Name(name)], msg, input.into())
    }
}

/// `["body", field]`.
fn body(field: &'static str) -> Vec<Loc> {
    vec![Loc::Name("body"), Loc::Name(field)]
}

/// pydantic's plural: "1 character", "3 characters".
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_as_pydantic_v2_does() {
        let short = FieldError::string_too_short("name", "ab", 3);
        assert_eq!(
            serde_json::to_value(&short).unwrap(),
            json!({"type": "string_too_short", "loc": ["body", "name"], "msg": "String should have at least 3 characters",
                   "input": "ab", "ctx": {"min_length": 3}})
        );
        let missing = FieldError::missing("name", json!({"email": "a@b.co"}));
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {"email": "a@b.co"}})
        );
        assert_eq!(FieldError::string_too_long("name", "x", 1).msg, "String should have at most 1 character");
        let invalid = FieldError::json_invalid(7, "expected value".into());
        assert_eq!(serde_json::to_value(&invalid).unwrap()["loc"], json!(["body", 7]));
        assert_eq!(invalid.location(), "body.7");
    }
}
