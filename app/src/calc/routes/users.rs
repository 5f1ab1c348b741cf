//! `/api/v1/users` (admins only): list, read, create, change (204) and delete (softly: the
//! user's records stay and the email is free again). No response carries a password hash.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{Done, Routes, TAG};
use crate::calc::docs::{BadRequest, Forbidden, TooLarge};
use crate::calc::error::{CalcError, Refusal};
use crate::calc::fields::Fields;
use crate::calc::listing::{Attribute, Listing};
use crate::calc::model::{CalcUser, NewUser, Role, UserPatch};
use crate::calc::session::Admin;
use crate::calc::{CLIENT_BALANCE, hash};
use crate::context::AppContext;
use crate::extract::PathInput;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list, create)).routes(routes!(read, update, remove))
}

/// The attributes a user listing filters and selects by.
const ATTRIBUTES: &[Attribute] =
    &[Attribute::text("id"), Attribute::text("email"), Attribute::text("role"), Attribute::number("balance")];
/// Highest balance accepted.
const MAX_BALANCE: f64 = 1e15;

fn not_found_or_taken(err: crate::store::StoreError) -> CalcError {
    CalcError::from_store(
        err,
        CalcError::USER_NOT_FOUND,
        CalcError::Refused(StatusCode::CONFLICT, "User already exists.".into()),
    )
}

/// The body of `POST /api/v1/users`, and (every field optional, at least one) of `PATCH`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body that `Fields` reads
struct UserBody {
    /// The email to log in with.
    #[schema(format = Email)]
    email: String,
    /// The password.
    #[schema(format = Password)]
    password: String,
    /// `admin` or `client` (the default).
    role: Option<Role>,
    /// The starting balance (20.0 unless given).
    #[schema(minimum = 0, maximum = 1e15)]
    balance: Option<f64>,
}

/// A user created.
#[derive(Serialize, ToSchema)]
struct Created {
    /// `User created`.
    message: &'static str,
    /// Always `success`.
    status: &'static str,
    /// The user.
    user: CalcUser,
}

fn role_field(body: &mut Fields) -> Option<Role> {
    body.one_of("role", false, &["admin", "client"]).as_deref().and_then(Role::parse)
}

/// The users, by email.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(
        ("page" = Option<i64>, Query, minimum = 1, description = "The page, from 1."),
        ("page_size" = Option<u64>, Query, minimum = 1, maximum = 100, description = "Items per page (10)."),
        ("fields" = Option<String>, Query, description = "Only these attributes (a comma list)."),
        ("email" = Option<String>, Query, description = "Only the user with this email."),
        ("role" = Option<String>, Query, description = "Only users of this role."),
    ),
    responses(
        (status = 200, description = "`{\"users\": [...], \"total_pages\": n}`.", body = Object),
        (status = 400, description = "An unknown parameter or field, or a bad page.", body = Refusal),
        (status = 403, response = Forbidden),
    )
)]
async fn list(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, CalcError> {
    let listing = Listing::parse(query.as_deref(), ATTRIBUTES)?;
    Ok(Json(listing.page("users", &ctx.calc.ledger.list_users().await?)?))
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = TAG,
    security(("calc_bearer" = [])),
    request_body(content = UserBody, description = "The new user."),
    responses(
        (status = 201, description = "`User created`, with the user.", body = Created),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, description = "`User already exists.`", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn create(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    mut body: Fields,
) -> Result<(StatusCode, Json<Created>), CalcError> {
    let email = body.email("email", true);
    let password = body.string("password", true);
    let role = role_field(&mut body);
    let balance = body.number("balance", false, 0.0..=MAX_BALANCE);
    body.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(CalcError::bad_request("email and password are required"));
    };
    let password_hash = hash(password).await?;
    let new = NewUser {
        email,
        password_hash,
        role: role.unwrap_or(Role::Client),
        balance: balance.unwrap_or(CLIENT_BALANCE),
    };
    let user = ctx.calc.ledger.create_user(new).await.map_err(not_found_or_taken)?;
    Ok((StatusCode::CREATED, Json(Created { message: "User created", status: "success", user })))
}

/// One user.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = CalcUser),
        (status = 403, response = Forbidden),
        (status = 404, description = "`User not found.`", body = Refusal),
    )
)]
async fn read(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
) -> Result<Json<CalcUser>, CalcError> {
    Ok(Json(ctx.calc.ledger.get_user(&id).await.map_err(not_found_or_taken)?))
}

/// Change a user: the fields given (at least one).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    request_body(content = UserBody, description = "The fields to change (at least one)."),
    responses(
        (status = 204, description = "Changed."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, description = "`User not found.`", body = Refusal),
        (status = 409, description = "`User already exists.`: the new email is taken.", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
    mut body: Fields,
) -> Result<StatusCode, CalcError> {
    if body.is_empty() {
        return Err(CalcError::field("_schema", "At least one field must be given."));
    }
    let email = body.email("email", false);
    let password = body.string("password", false);
    let role = role_field(&mut body);
    let balance = body.number("balance", false, 0.0..=MAX_BALANCE);
    body.finish()?;
    let password_hash = match password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    let patch = UserPatch { email, password_hash, role, balance };
    ctx.calc.ledger.update_user(&id, patch).await.map_err(not_found_or_taken)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a user (softly: their records stay, their email is free again).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "`User deleted`.", body = Done),
        (status = 403, response = Forbidden),
        (status = 404, description = "`User not found.`", body = Refusal),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
) -> Result<Json<Done>, CalcError> {
    ctx.calc.ledger.delete_user(&id).await.map_err(not_found_or_taken)?;
    Ok(Done::new("User deleted"))
}
