//! Seed 002: people with a name and a unique email, answered as the original FastAPI service
//! answered.
//!
//! - `GET /users` → 200 with every person [{id, name, email}]; `GET /users/` → 307 to it.
//! - `POST /user` {name: 3–50 ASCII letters and spaces; email: valid, normalised} → 200 with
//!   the person; 400 `{"detail": "Email already exists"}`, or 400 with FastAPI's field
//!   errors for invalid input (400 where FastAPI says 422: the README says 400).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use email_address::EmailAddress;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use utoipa_axum::routes;

use super::responses::{InternalError, PayloadTooLarge};
use super::{Routes, patterns};
use crate::context::AppContext;
use crate::error::{ApiError, DetailBody};
use crate::fastapi::{FieldError, Fields, ModelBody, Pattern, Text};
use crate::store::{Person, StoreError};

/// The status of invalid input: 400, as the README says (FastAPI's own is 422).
const INVALID: StatusCode = StatusCode::BAD_REQUEST;

/// What a name must be, as the original's pydantic model said.
const NAME: Text = Text { chars: 3..=50, pattern: Some(Pattern { shown: NAME_PATTERN, matches: is_name }) };
/// The pattern of a name.
const NAME_PATTERN: &str = "^[A-Za-z ]+$";

/// Longest email address pydantic accepts.
const MAX_EMAIL_CHARS: usize = 2048;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list)).routes(routes!(list_with_slash)).routes(routes!(add))
}

/// The body of `POST /user`, as JSON or as a form; as validated, the person to add.
#[derive(ToSchema)]
#[schema(example = json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"}))]
struct NewPerson {
    /// See [`name_schema`].
    #[schema(schema_with = name_schema)]
    name: String,
    /// An email address whose domain has a dot; surrounding blanks are dropped and the domain
    /// is lower-cased before it is stored (and compared: it is unique).
    #[schema(format = Email)]
    email: String,
}

/// The schema of a name: what [`NAME`] accepts.
fn name_schema() -> Object {
    let description = "3 to 50 ASCII letters and spaces.";
    patterns::string(description, NAME.chars.clone(), NAME_PATTERN.into()).build()
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

/// List people, at the path with a trailing slash: FastAPI redirects it.
#[utoipa::path(
    get,
    path = "/users/",
    tag = "seed 002",
    responses((
        status = 307,
        description = "To `/users` (with the same query), as FastAPI redirects a path with a trailing slash.",
        headers(("Location" = String, description = "`/users`, and the query if there is one."))
    ))
)]
async fn list_with_slash(uri: Uri) -> Response {
    let location = match uri.query() {
        Some(query) => HeaderValue::try_from(format!("/users?{query}")),
        None => Ok(HeaderValue::from_static("/users")),
    };
    let location = location.unwrap_or(HeaderValue::from_static("/users"));
    (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location)]).into_response()
}

/// Add a person.
#[utoipa::path(
    post,
    path = "/user",
    tag = "seed 002",
    request_body(
        content((NewPerson = "application/json"), (NewPerson = "application/x-www-form-urlencoded")),
        description = "The person, as JSON (or as a form)."
    ),
    responses(
        (status = 200, description = "The person added (the email as stored: normalised).", body = Person),
        (
            status = 400,
            description = "`Email already exists`, or invalid input: FastAPI's field errors.",
            body = DetailBody
        ),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn add(
    State(ctx): State<Arc<AppContext>>,
    ModelBody(body): ModelBody<{ INVALID.as_u16() }>,
) -> Result<Json<Person>, ApiError> {
    let mut fields = Fields::of(&body);
    let name = fields.required("name", &NAME);
    let email = fields.required("email", &Text::ANY).and_then(|raw| match normalized_email(raw) {
        Ok(email) => Some(email),
        Err(reason) => {
            fields.refuse(FieldError::invalid_email("email", raw, reason));
            None
        }
    });
    let person = fields.finish(name.zip(email)).map_err(|errors| ApiError::Invalid(INVALID, errors))?;
    let person = NewPerson { name: person.0.to_owned(), email: person.1 };
    match ctx.store.add_person(&person.name, &person.email).await {
        Ok(person) => Ok(Json(person)),
        Err(StoreError::Conflict(_)) => Err(ApiError::Detail(StatusCode::BAD_REQUEST, "Email already exists")),
        Err(err) => Err(err.into()),
    }
}

/// ASCII letters and spaces only (the length is [`NAME`]'s to check).
fn is_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ')
}

/// The address as pydantic's `EmailStr` stores it (surrounding blanks dropped, the domain in
/// lower case), or why it is not one, in email-validator's words. Valid means syntactically
/// valid with a domain that has a dot.
fn normalized_email(raw: &str) -> Result<String, &'static str> {
    if raw.chars().count() > MAX_EMAIL_CHARS {
        return Err("Length must not exceed 2048 characters");
    }
    let email = raw.trim();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("An email address must have an @-sign.");
    };
    let parsed = EmailAddress::parse_with_options(email, email_address::Options::default().without_display_text());
    let dotted = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.starts_with('[');
    match parsed {
        Ok(_) if dotted => Ok(format!("{local}@{}", domain.to_lowercase())),
        Ok(_) => Err("The part after the @-sign is not valid. It should have a period."),
        Err(_) => Err("The email address is not valid."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(name: &str) -> bool {
        NAME.problem("name", name).is_none()
    }

    #[test]
    fn the_documented_name_is_the_one_accepted() {
        let edges =
            ["Mario Rossi", " Ab", "José Núñez", "Mo", "Mario2", "   ", "a\u{301}b", "A\u{a0}B", &"a".repeat(51)];
        patterns::assert_documents(name_schema(), &edges, 60, accepted);
    }

    #[test]
    fn names_are_3_to_50_ascii_letters_and_spaces() {
        assert!(accepted("Mario Rossi"));
        assert!(accepted(&"a".repeat(50)));
        assert!(!accepted("Mo"));
        assert!(!accepted(&"a".repeat(51)));
        assert!(!accepted("José Núñez"));
        assert!(!accepted("Mario2"));
        assert_eq!(NAME.problem("name", "Mo").unwrap().kind, "string_too_short");
        assert_eq!(NAME.problem("name", "Mario_Rossi").unwrap().kind, "string_pattern_mismatch");
    }

    #[test]
    fn emails_are_normalised_as_pydantic_stores_them() {
        assert_eq!(normalized_email("m.rossi@satispay.it").as_deref(), Ok("m.rossi@satispay.it"));
        assert_eq!(normalized_email("  M.Rossi@SatisPay.IT ").as_deref(), Ok("M.Rossi@satispay.it"));
        assert_eq!(normalized_email("m.rossi"), Err("An email address must have an @-sign."));
        assert!(normalized_email("m.rossi@localhost").is_err());
        assert!(normalized_email("Mario <m.rossi@satispay.it>").is_err());
        assert!(normalized_email("@satispay.it").is_err());
        assert!(normalized_email(&format!("{}@b.co", "a".repeat(2048))).is_err());
    }
}
