//! Seed 002: people with a name and a unique email.
//!
//! - `GET /users` → 200 with every person [{id, name, email}].
//! - `POST /user` {name: letters and spaces, 2–100 characters; email: valid} → 201 with the
//!   person; 400 for a duplicate email or invalid input.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use email_address::EmailAddress;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use utoipa_axum::routes;

use super::responses::{InternalError, PayloadTooLarge};
use super::{Routes, patterns};
use crate::context::AppContext;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Input;
use crate::store::Person;

/// Shortest and longest name accepted, in characters.
const NAME_CHARS: std::ops::RangeInclusive<usize> = 2..=100;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list)).routes(routes!(add))
}

/// The body of `POST /user`, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"}))]
struct NewPerson {
    /// See [`name_schema`].
    #[schema(schema_with = name_schema, required = true)]
    name: Option<String>,
    /// An email address whose domain has a dot; unique, compared case-insensitively.
    #[schema(value_type = String, required = true, format = Email)]
    email: Option<String>,
}

/// The schema of a name: what [`is_valid_name`] accepts.
fn name_schema() -> Object {
    let letter = patterns::class(&[patterns::ALPHABETIC]);
    let letter_or_space = patterns::class(&[patterns::ALPHABETIC, patterns::SPACE]);
    let description = "Letters (any script) and spaces, 2 to 100 characters, at least one letter.";
    patterns::string(description, NAME_CHARS, format!("^{}*{letter}{letter_or_space}*$", patterns::SPACE)).build()
}

/// List people.
#[utoipa::path(
    get,
    path = "/users",
    tag = "seed 002",
    responses(
        (status = 200, description = "Every person, oldest first.", body = Vec<Person>),
        (status = 500, response = InternalError),
    )
)]
async fn list(State(ctx): State<Arc<AppContext>>) -> Result<Response, ApiError> {
    let body = ctx
        .responses
        .people
        .get_or_load(ctx.store.change_token(), || async {
            let people = ctx.store.list_people().await?;
            serde_json::to_vec(&people).map(Bytes::from).map_err(|e| ApiError::Internal(e.into()))
        })
        .await?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Add a person.
#[utoipa::path(
    post,
    path = "/user",
    tag = "seed 002",
    request_body(
        content((NewPerson = "application/json"), (NewPerson = "application/x-www-form-urlencoded")),
        description = "The person, as JSON or as a form."
    ),
    responses(
        (status = 201, description = "The person added.", body = Person),
        (
            status = 400,
            description = "A missing or invalid name or email, an email already registered, or a malformed body.",
            body = ErrorBody
        ),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn add(
    State(ctx): State<Arc<AppContext>>,
    Input(body): Input<NewPerson>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    let (Some(name), Some(email)) = (body.name, body.email) else {
        return Err(ApiError::bad_request("name and email are required"));
    };
    if !is_valid_name(&name) {
        return Err(ApiError::bad_request("name must be 2 to 100 characters of letters and spaces"));
    }
    if !is_valid_email(&email) {
        return Err(ApiError::bad_request("email is not a valid email address"));
    }
    let person = ctx.store.add_person(&name, &email).await?;
    Ok((StatusCode::CREATED, Json(person)))
}

/// Letters (any script) and spaces, 2 to 100 characters, at least one letter.
fn is_valid_name(name: &str) -> bool {
    NAME_CHARS.contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphabetic() || c == ' ')
        && name.chars().any(char::is_alphabetic)
}

/// A syntactically valid address whose domain has a dot, as Pydantic's `EmailStr` requires.
fn is_valid_email(email: &str) -> bool {
    EmailAddress::parse_with_options(email, email_address::Options::default().without_display_text()).is_ok_and(
        |address| {
            let domain = address.domain();
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.starts_with('[')
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_name_is_the_one_accepted() {
        let edges = ["Mario Rossi", " Ab", "José Núñez", "M", "Mario2", "   ", "a\u{301}b", "A\u{a0}B"];
        patterns::assert_documents(name_schema(), &edges, 110, is_valid_name);
    }

    #[test]
    fn names() {
        assert!(is_valid_name("Mario Rossi"));
        assert!(is_valid_name("José Núñez"));
        assert!(!is_valid_name("M"));
        assert!(!is_valid_name("Mario2"));
        assert!(!is_valid_name("   "));
        assert!(!is_valid_name(&"a".repeat(101)));
        assert!(is_valid_name(&"a".repeat(100)));
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("m.rossi@satispay.it"));
        assert!(!is_valid_email("m.rossi"));
        assert!(!is_valid_email("m.rossi@localhost"));
        assert!(!is_valid_email("Mario <m.rossi@satispay.it>"));
        assert!(!is_valid_email("@satispay.it"));
    }
}
