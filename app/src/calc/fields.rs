//! A JSON request body checked field by field as the original's marshmallow schemas checked
//! it: every problem is collected under its field's name (`Missing data for required field.`,
//! `Not a valid number.`, `Unknown field.`, …) and the request is refused with all of them.

use std::ops::RangeInclusive;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::{CalcError, FieldErrors};

const MISSING: &str = "Missing data for required field.";
const NULL: &str = "Field may not be null.";

/// A JSON object body, read field by field; [`Fields::finish`] says whether it passed.
pub struct Fields {
    object: Map<String, Value>,
    asked: Vec<&'static str>,
    errors: FieldErrors,
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = CalcError;

    async fn from_request(req: Request, state: &S) -> Result<Self, CalcError> {
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                CalcError::Refused(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.".into())
            } else {
                CalcError::bad_request("The request body could not be read.")
            }
        })?;
        let value: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|_| CalcError::bad_request("The request body is not valid JSON."))?
        };
        match value {
            Value::Object(object) => Ok(Fields { object, asked: Vec::new(), errors: FieldErrors::new() }),
            _ => Err(CalcError::field("_schema", "Invalid input type.")),
        }
    }
}

impl Fields {
    fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.entry(name.to_owned()).or_default().push(message.into());
    }

    /// The value of `name`, or `None` (noting `Missing data…` if `required`); `null` is refused.
    fn take(&mut self, name: &'static str, required: bool) -> Option<Value> {
        self.asked.push(name);
        match self.object.remove(name) {
            None if required => {
                self.error(name, MISSING);
                None
            }
            None => None,
            Some(Value::Null) => {
                self.error(name, NULL);
                None
            }
            Some(value) => Some(value),
        }
    }

    /// A string field.
    pub fn string(&mut self, name: &'static str, required: bool) -> Option<String> {
        match self.take(name, required)? {
            Value::String(text) => Some(text),
            _ => {
                self.error(name, "Not a valid string.");
                None
            }
        }
    }

    /// A string field that must be a valid email address.
    pub fn email(&mut self, name: &'static str, required: bool) -> Option<String> {
        let email = self.string(name, required)?;
        if email_address::EmailAddress::is_valid(&email) {
            Some(email)
        } else {
            self.error(name, "Not a valid email address.");
            None
        }
    }

    /// A string field that must be one of `choices`.
    pub fn one_of(&mut self, name: &'static str, required: bool, choices: &[&str]) -> Option<String> {
        let value = self.string(name, required)?;
        if choices.contains(&value.as_str()) {
            Some(value)
        } else {
            self.error(name, format!("Must be one of: {}.", choices.join(", ")));
            None
        }
    }

    /// A number field (a JSON number, or a string that reads as one) within `range`.
    pub fn number(&mut self, name: &'static str, required: bool, range: RangeInclusive<f64>) -> Option<f64> {
        let value = self.take(name, required)?;
        match number(&value) {
            Ok(n) if range.contains(&n) => Some(n),
            Ok(_) => {
                let (min, max) = (range.start(), range.end());
                self.error(name, format!("Must be greater than or equal to {min} and less than or equal to {max}."));
                None
            }
            Err(message) => {
                self.error(name, message);
                None
            }
        }
    }

    /// A list of numbers whose length is within `lengths`.
    pub fn numbers(&mut self, name: &'static str, lengths: RangeInclusive<usize>) -> Option<Vec<f64>> {
        let Value::Array(items) = self.take(name, true)? else {
            self.error(name, "Not a valid list.");
            return None;
        };
        let numbers: Result<Vec<f64>, &str> = items.iter().map(number).collect();
        match numbers {
            Err(message) => {
                self.error(name, message);
                None
            }
            Ok(numbers) if !lengths.contains(&numbers.len()) => {
                self.error(name, format!("Length must be between {} and {}.", lengths.start(), lengths.end()));
                None
            }
            Ok(numbers) => Some(numbers),
        }
    }

    /// `Ok` when every field read well and no field was sent that the schema does not know.
    pub fn finish(mut self) -> Result<(), CalcError> {
        let unknown: Vec<String> = self.object.keys().filter(|k| !self.asked.contains(&k.as_str())).cloned().collect();
        for name in unknown {
            self.error(&name, "Unknown field.");
        }
        if self.errors.is_empty() { Ok(()) } else { Err(CalcError::Invalid(self.errors)) }
    }

    /// Whether any field was given at all (a `PATCH` must change something).
    pub fn is_empty(&self) -> bool {
        self.object.is_empty()
    }
}

/// A JSON number, or a string holding one, as marshmallow's `Float` reads it: finite only.
fn number(value: &Value) -> Result<f64, &'static str> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(n),
        Some(_) => Err("Special numeric values (nan or infinity) are not permitted."),
        None => Err("Not a valid number."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        let Value::Object(object) = value else { panic!("an object") };
        Fields { object, asked: Vec::new(), errors: FieldErrors::new() }
    }

    fn errors(result: Result<(), CalcError>) -> Value {
        match result {
            Err(CalcError::Invalid(errors)) => serde_json::to_value(errors).unwrap(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn every_problem_is_named_under_its_field() {
        let mut body = fields(json!({"email": "not-an-email", "cost": true, "extra": 1}));
        assert_eq!(body.email("email", true), None);
        assert_eq!(body.string("password", true), None);
        assert_eq!(body.number("cost", true, 0.0..=10.0), None);
        assert_eq!(
            errors(body.finish()),
            json!({
                "email": ["Not a valid email address."],
                "password": ["Missing data for required field."],
                "cost": ["Not a valid number."],
                "extra": ["Unknown field."],
            })
        );
    }

    #[test]
    fn numbers_may_be_written_as_strings_and_lists_have_a_length() {
        let mut body = fields(json!({"arguments": ["1.5", 2], "cost": "3"}));
        assert_eq!(body.numbers("arguments", 1..=2), Some(vec![1.5, 2.0]));
        assert_eq!(body.number("cost", true, 0.0..=10.0), Some(3.0));
        assert!(body.finish().is_ok());
        let mut body = fields(json!({"arguments": [1, 2, 3]}));
        assert_eq!(body.numbers("arguments", 1..=2), None);
        assert_eq!(errors(body.finish()), json!({"arguments": ["Length must be between 1 and 2."]}));
        let mut body = fields(json!({"arguments": []}));
        assert_eq!(body.numbers("arguments", 1..=2), None);
        assert_eq!(errors(body.finish()), json!({"arguments": ["Length must be between 1 and 2."]}));
    }

    #[test]
    fn null_and_out_of_range_values_are_refused() {
        let mut body = fields(json!({"cost": null, "balance": -1}));
        assert_eq!(body.number("cost", true, 0.0..=10.0), None);
        assert_eq!(body.number("balance", false, 0.0..=10.0), None);
        let errors = errors(body.finish());
        assert_eq!(errors["cost"], json!(["Field may not be null."]));
        assert_eq!(errors["balance"], json!(["Must be greater than or equal to 0 and less than or equal to 10."]));
    }
}
