//! Seed 003: each user's items, behind `Authorization: Bearer <token>`.
//!
//! - `POST /items` {name, description?} → 201 with the item.
//! - `GET /items` → the caller's items.
//! - `GET /items/{id}` → the item; 404 if it does not exist or is someone else's.
//! - `PUT /items/{id}` {name?, description?} → partial update, 200 with the item.
//! - `DELETE /items/{id}` → 204.
//!
//! Missing, malformed, tampered or expired tokens get 401. Rate-limited per client IP
//! (60 per minute by default).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa_axum::routes;

use super::responses::{BearerRequired, InternalError, PayloadTooLarge};
use super::{Routes, patterns};
use crate::context::AppContext;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Input, PathInput};
use crate::store::{Item, ItemPatch};

/// Longest item name accepted.
const MAX_NAME_CHARS: usize = 200;
/// Longest item description accepted.
const MAX_DESCRIPTION_CHARS: usize = 10_000;

pub(super) fn routes() -> Routes {
    let routes = Routes::new().routes(routes!(list, create)).routes(routes!(read, update, remove));
    with_optional_changes(routes)
}

/// Documents the body of `PUT /items/{id}` as optional: an empty body reads as `{}`, which
/// changes nothing. (`#[utoipa::path]` makes a body optional only by making it nullable too,
/// and the server refuses a JSON `null`.)
fn with_optional_changes(mut routes: Routes) -> Routes {
    let put = routes.get_openapi_mut().paths.paths.get_mut("/items/{id}").and_then(|item| item.put.as_mut());
    if let Some(RefOr::T(body)) = put.and_then(|operation| operation.request_body.as_mut()) {
        body.required = None;
    }
    routes
}

/// The user a valid bearer token names.
struct CurrentUser(String);

impl FromRequestParts<Arc<AppContext>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))) else {
            return Err(ApiError::BearerRequired("missing bearer token"));
        };
        ctx.tokens.verify(token.trim()).map(CurrentUser).ok_or(ApiError::BearerRequired("invalid or expired token"))
    }
}

/// The body of `POST /items`, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "notebook", "description": "plain ruled"}))]
struct NewItem {
    /// See [`name_schema`].
    #[schema(schema_with = name_schema, required = true)]
    name: Option<String>,
    /// Free text of at most 10,000 characters; absent or `null` for none.
    #[schema(max_length = 10000)]
    description: Option<String>,
}

/// The body of `PUT /items/{id}`, as JSON or as a form: what to change. An absent or `null`
/// field stays as it is (so a description cannot be cleared, only replaced).
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"description": "updated text"}))]
struct ItemChanges {
    /// The new name; see [`name_or_null_schema`].
    #[schema(schema_with = name_or_null_schema)]
    name: Option<String>,
    /// The new description, at most 10,000 characters.
    #[schema(max_length = 10000)]
    description: Option<String>,
}

/// The schema of an item name: what [`check_fields`] accepts.
fn name_schema() -> Object {
    name_string().build()
}

/// [`name_schema`], or `null` to leave the name as it is.
fn name_or_null_schema() -> Object {
    name_string().schema_type(SchemaType::from_iter([Type::String, Type::Null])).build()
}

/// 1 to [`MAX_NAME_CHARS`] characters, one of them at least not white space.
fn name_string() -> ObjectBuilder {
    let description = "1 to 200 characters, not all blank.";
    patterns::string(description, 1..=MAX_NAME_CHARS, patterns::class_without(&[patterns::WHITESPACE]))
}

/// Refuses a name that is blank or too long and a description that is too long.
fn check_fields(name: Option<&str>, description: Option<&str>) -> Result<(), ApiError> {
    if name.is_some_and(|n| n.trim().is_empty() || n.chars().count() > MAX_NAME_CHARS) {
        return Err(ApiError::bad_request(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(ApiError::bad_request(format!("description must be at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(())
}

fn item_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request("item id must be an integer"))
}

/// Create an item.
#[utoipa::path(
    post,
    path = "/items",
    tag = "seed 003",
    security(("bearer" = [])),
    request_body(
        content((NewItem = "application/json"), (NewItem = "application/x-www-form-urlencoded")),
        description = "The item, as JSON or as a form."
    ),
    responses(
        (status = 201, description = "The item created, owned by the caller.", body = Item),
        (status = 400, description = "A missing or invalid name, a description too long, or a malformed body.", body = ErrorBody),
        (status = 401, response = BearerRequired),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn create(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    Input(body): Input<NewItem>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    check_fields(body.name.as_deref(), body.description.as_deref())?;
    let Some(name) = &body.name else {
        return Err(ApiError::bad_request("name is required"));
    };
    let item = ctx.store.create_item(&user, name, body.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// The caller's items.
#[utoipa::path(
    get,
    path = "/items",
    tag = "seed 003",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's items, oldest first.", body = Vec<Item>),
        (status = 401, response = BearerRequired),
        (status = 500, response = InternalError),
    )
)]
async fn list(State(ctx): State<Arc<AppContext>>, CurrentUser(user): CurrentUser) -> Result<Json<Vec<Item>>, ApiError> {
    Ok(Json(ctx.store.list_items(&user).await?))
}

/// One of the caller's items.
#[utoipa::path(
    get,
    path = "/items/{id}",
    tag = "seed 003",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64, description = "The item's id.")),
    responses(
        (status = 200, description = "The item.", body = Item),
        (status = 400, description = "An id that is not a 64-bit integer.", body = ErrorBody),
        (status = 401, response = BearerRequired),
        (status = 404, description = "No such item, or someone else's.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn read(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
) -> Result<Json<Item>, ApiError> {
    Ok(Json(ctx.store.get_item(&user, item_id(&id)?).await?))
}

/// Change one of the caller's items.
#[utoipa::path(
    put,
    path = "/items/{id}",
    tag = "seed 003",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64, description = "The item's id.")),
    request_body(
        content((ItemChanges = "application/json"), (ItemChanges = "application/x-www-form-urlencoded")),
        description = "The fields to change, as JSON or as a form; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The item as changed.", body = Item),
        (
            status = 400,
            description = "An id that is not a 64-bit integer, an invalid name, a description too long, or a malformed body.",
            body = ErrorBody
        ),
        (status = 401, response = BearerRequired),
        (status = 404, description = "No such item, or someone else's.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = InternalError),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
    Input(body): Input<ItemChanges>,
) -> Result<Json<Item>, ApiError> {
    let id = item_id(&id)?;
    check_fields(body.name.as_deref(), body.description.as_deref())?;
    let patch = ItemPatch { name: body.name, description: body.description };
    Ok(Json(ctx.store.update_item(&user, id, patch).await?))
}

/// Delete one of the caller's items.
#[utoipa::path(
    delete,
    path = "/items/{id}",
    tag = "seed 003",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = -9223372036854775808i64, maximum = 9223372036854775807i64, description = "The item's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "An id that is not a 64-bit integer.", body = ErrorBody),
        (status = 401, response = BearerRequired),
        (status = 404, description = "No such item, or someone else's.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    PathInput(id): PathInput<String>,
) -> Result<StatusCode, ApiError> {
    ctx.store.delete_item(&user, item_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_name_is_the_one_accepted() {
        let (longest, too_long) = ("x".repeat(200), "x".repeat(201));
        let edges = ["x", " x ", &longest, "", " ", "\t\u{3000}", &too_long];
        patterns::assert_documents(name_schema(), &edges, 210, |name| check_fields(Some(name), None).is_ok());
    }

    #[test]
    fn descriptions_are_documented_as_long_as_accepted() {
        for schema in [<NewItem as utoipa::PartialSchema>::schema(), <ItemChanges as utoipa::PartialSchema>::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            assert_eq!(schema["properties"]["description"]["maxLength"], MAX_DESCRIPTION_CHARS);
        }
    }
}
