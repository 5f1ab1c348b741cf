//! Seed 002: people with a name and a unique email.
//!
//! - `GET /users` → 200 with every person [{id, name, email}].
//! - `POST /user` {name: letters and spaces, 2–100 characters; email: valid} → 201 with the
//!   person; 400 for a duplicate email or invalid input.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use email_address::EmailAddress;
use serde::Deserialize;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::extract::Input;
use crate::store::Person;

pub(super) fn routes() -> Router<Arc<AppContext>> {
    Router::new().route("/users", get(list)).route("/user", post(add))
}

#[derive(Deserialize)]
struct NewPerson {
    name: Option<String>,
    email: Option<String>,
}

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
    let length = name.chars().count();
    (2..=100).contains(&length)
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
