//! [`Fields`]: a body's fields checked one by one, every problem collected; [`Text`]: the
//! constraint of a string field.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::FieldError;

/// A string constraint, as a pydantic `Field(min_length=..., max_length=..., pattern=...)`
/// states it.
pub struct Text {
    /// How many characters are allowed.
    pub chars: RangeInclusive<usize>,
    /// The pattern text must match; `None`: any text.
    pub pattern: Option<Pattern>,
}

/// A pattern: as documented (and quoted in the field error), and the check that implements it.
#[derive(Clone, Copy)]
pub struct Pattern {
    /// The regular expression, as the OpenAPI document states it.
    pub shown: &'static str,
    /// Whether a text matches it.
    pub matches: fn(&str) -> bool,
}

impl Text {
    /// Any string at all.
    pub const ANY: Text = Text { chars: 0..=usize::MAX, pattern: None };

    /// The problem with `value` as the field `field`, if any, checked in pydantic's order:
    /// the length first, then the pattern.
    pub fn problem(&self, field: &'static str, value: &str) -> Option<FieldError> {
        let chars = value.chars().count();
        if chars < *self.chars.start() {
            return Some(FieldError::string_too_short(field, value, *self.chars.start()));
        }
        if chars > *self.chars.end() {
            return Some(FieldError::string_too_long(field, value, *self.chars.end()));
        }
        match self.pattern {
            Some(pattern) if !(pattern.matches)(value) => {
                Some(FieldError::pattern_mismatch(field, value, pattern.shown))
            }
            _ => None,
        }
    }
}

/// The fields of one body being checked, and the problems found so far.
pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    problems: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts checking `body`.
    pub fn of(body: &'a Map<String, Value>) -> Self {
        Fields { body, problems: Vec::new() }
    }

    /// The string field `name`, which must be present and within `text`; `None` once its
    /// problem is recorded.
    pub fn required(&mut self, name: &'static str, text: &Text) -> Option<&'a str> {
        match self.body.get(name) {
            Some(value) => self.string(name, value, text),
            None => {
                self.problems.push(FieldError::missing(name, Value::Object(self.body.clone())));
                None
            }
        }
    }

    /// The string field `name`, which may be absent or `null` (`Some(None)`), else within
    /// `text`; `None` once its problem is recorded.
    pub fn optional(&mut self, name: &'static str, text: &Text) -> Option<Option<&'a str>> {
        match self.body.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.string(name, value, text).map(Some),
        }
    }

    /// Records a problem the caller found.
    pub fn refuse(&mut self, problem: FieldError) {
        self.problems.push(problem);
    }

    /// `value` (the fields read) if no problem was recorded, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => Err(self.problems),
        }
    }

    fn string(&mut self, name: &'static str, value: &'a Value, text: &Text) -> Option<&'a str> {
        let Value::String(value) = value else {
            self.problems.push(FieldError::string_type(name, value.clone()));
            return None;
        };
        match text.problem(name, value) {
            Some(problem) => {
                self.problems.push(problem);
                None
            }
            None => Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NAME: Text = Text {
        chars: 3..=5,
        pattern: Some(Pattern { shown: "^[a-z]+$", matches: |s| s.bytes().all(|b| b.is_ascii_lowercase()) }),
    };

    fn check(body: Value) -> Result<(Option<&'static str>, &'static str), Vec<&'static str>> {
        let body: &'static Map<String, Value> = Box::leak(Box::new(body.as_object().unwrap().clone()));
        let mut fields = Fields::of(body);
        let name = fields.required("name", &NAME);
        let note = fields.optional("note", &Text::ANY);
        fields.finish(note.zip(name)).map_err(|problems| problems.iter().map(|p| p.kind).collect())
    }

    #[test]
    fn every_problem_is_reported_in_pydantic_order() {
        assert_eq!(check(json!({"name": "abc"})), Ok((None, "abc")));
        assert_eq!(check(json!({"name": "abc", "note": null})), Ok((None, "abc")));
        assert_eq!(check(json!({})), Err(vec!["missing"]));
        assert_eq!(check(json!({"name": 1, "note": 2})), Err(vec!["string_type", "string_type"]));
        assert_eq!(check(json!({"name": "A"})), Err(vec!["string_too_short"]));
        assert_eq!(check(json!({"name": "ABCDEF"})), Err(vec!["string_too_long"]));
        assert_eq!(check(json!({"name": "ABC"})), Err(vec!["string_pattern_mismatch"]));
    }
}
