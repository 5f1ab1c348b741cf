//! Seed 003: each user's items, behind `Authorization: Bearer <token>`, answered as the
//! original FastAPI service answered.
//!
//! - `POST /items` {name, description?} → 200 with the item,
//!   {name, description, id, created_at, updated_at} (naive UTC timestamps).
//! - `GET /items` → the caller's items, newest first.
//! - `GET /items/{id}` → the item; 404 `Item not found` if it does not exist or is someone
//!   else's.
//! - `PUT /items/{id}` {name?, description?} → partial update, 200 with the item; `updated_at`
//!   changes only when a value does.
//! - `DELETE /items/{id}` → 204.
//!
//! 401 `Not authenticated` without a bearer token and `Could not validate credentials` with a
//! bad one (both with `WWW-Authenticate: Bearer`); 422 with FastAPI's field errors for invalid
//! input. Rate-limited per client IP together with the login (60 per minute by default).

use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa_axum::routes;

use super::responses::{BearerRequired, InternalError, PayloadTooLarge};
use super::{Routes, patterns};
use crate::context::AppContext;
use crate::error::{ApiError, DetailBody, ValidationBody};
use crate::fastapi::{FieldError, Fields, ModelBody, Pattern, Text};
use crate::store::{Item, ItemPatch, StoreError};

/// The status of invalid input, as FastAPI answers it.
const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// Longest item name accepted.
const MAX_NAME_CHARS: usize = 200;
/// What a description must be: at most 10,000 characters.
const DESCRIPTION: Text = Text { chars: 0..=10_000, pattern: None };

/// The pattern of a name: a character at least that is not white space.
static NAME_PATTERN: LazyLock<String> = LazyLock::new(|| patterns::class_without(&[patterns::WHITESPACE]));

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list, create)).routes(routes!(read, update, remove))
}

/// What a name must be: 1 to [`MAX_NAME_CHARS`] characters, not all blank.
fn name_text() -> Text {
    let pattern = Pattern { shown: NAME_PATTERN.as_str(), matches: |name| !name.trim().is_empty() };
    Text { chars: 1..=MAX_NAME_CHARS, pattern: Some(pattern) }
}

/// The user a valid bearer token names.
struct CurrentUser(String);

impl FromRequestParts<Arc<AppContext>> for CurrentUser {
    type Rejection = ApiError;

    /// As FastAPI's `OAuth2PasswordBearer` reads `Authorization`: the scheme, whatever its case,
    /// must be `Bearer`, and what follows the first space is the token.
    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::BearerRequired("Not authenticated"));
        }
        ctx.tokens.verify(token).map(CurrentUser).ok_or(ApiError::BearerRequired("Could not validate credentials"))
    }
}

/// The `{id}` of the path, an integer; FastAPI's field error otherwise.
struct ItemId(i64);

impl<S: Send + Sync> FromRequestParts<S> for ItemId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(raw)) => raw,
            // Not UTF-8 once decoded: no integer either.
            Err(_) => parts.uri.path().rsplit('/').next().unwrap_or_default().to_owned(),
        };
        raw.parse().map(ItemId).map_err(|_| ApiError::Invalid(INVALID, vec![FieldError::int_parsing("id", &raw)]))
    }
}

/// The body of `POST /items`, as JSON or as a form; as validated, the item to create.
#[derive(ToSchema)]
#[schema(example = json!({"name": "notebook", "description": "plain ruled"}))]
struct NewItem<'a> {
    /// See [`name_schema`].
    #[schema(schema_with = name_schema)]
    name: &'a str,
    /// Free text of at most 10,000 characters; absent or `null` for none.
    #[schema(max_length = 10000)]
    description: Option<&'a str>,
}

/// The body of `PUT /items/{id}`, as JSON or as a form: what to change. An absent or `null`
/// field stays as it is (so a description cannot be cleared, only replaced).
#[derive(ToSchema)]
#[schema(example = json!({"description": "updated text"}))]
struct ItemChanges<'a> {
    /// The new name; see [`name_or_null_schema`].
    #[schema(schema_with = name_or_null_schema)]
    name: Option<&'a str>,
    /// The new description, at most 10,000 characters.
    #[schema(max_length = 10000)]
    description: Option<&'a str>,
}

/// The schema of an item name: what [`name_text`] accepts.
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
    patterns::string(description, 1..=MAX_NAME_CHARS, NAME_PATTERN.clone())
}

/// Now, in UTC without an offset, as FastAPI writes a naive `datetime`: `2025-01-31T09:30:00.123456`.
fn naive_utc_now() -> String {
    let mut now = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
    now.pop(); // the `Z`
    now
}

/// 404 `Item not found` for an item that is not there (for this user).
fn item_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::Detail(StatusCode::NOT_FOUND, "Item not found"),
        other => other.into(),
    }
}

/// Create an item.
#[utoipa::path(
    post,
    path = "/items",
    tag = "seed 003",
    security(("bearer" = [])),
    request_body(
        content((NewItem = "application/json"), (NewItem = "application/x-www-form-urlencoded")),
        description = "The item, as JSON (or as a form)."
    ),
    responses(
        (status = 200, description = "The item created, owned by the caller.", body = Item),
        (status = 401, response = BearerRequired),
        (status = 413, response = PayloadTooLarge),
        (status = 422, description = "Invalid input: FastAPI's field errors.", body = ValidationBody),
        (status = 500, response = InternalError),
    )
)]
async fn create(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    ModelBody(body): ModelBody<{ INVALID.as_u16() }>,
) -> Result<Json<Item>, ApiError> {
    let mut fields = Fields::of(&body);
    let name = fields.required("name", &name_text());
    let description = fields.optional("description", &DESCRIPTION);
    let (name, description) =
        fields.finish(name.zip(description)).map_err(|errors| ApiError::Invalid(INVALID, errors))?;
    let item = NewItem { name, description };
    Ok(Json(ctx.store.create_item(&user, item.name, item.description, &naive_utc_now()).await?))
}

/// The caller's items.
#[utoipa::path(
    get,
    path = "/items",
    tag = "seed 003",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's items, newest first.", body = Vec<Item>),
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
        (status = 401, response = BearerRequired),
        (status = 404, description = "`Item not found`: no such item, or someone else's.", body = DetailBody),
        (status = 422, description = "An id that is not a 64-bit integer: FastAPI's field error.", body = ValidationBody),
        (status = 500, response = InternalError),
    )
)]
async fn read(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    ItemId(id): ItemId,
) -> Result<Json<Item>, ApiError> {
    ctx.store.get_item(&user, id).await.map(Json).map_err(item_error)
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
        description = "The fields to change, as JSON (or as a form)."
    ),
    responses(
        (status = 200, description = "The item as changed (`updated_at` moves only if a value changed).", body = Item),
        (status = 401, response = BearerRequired),
        (status = 404, description = "`Item not found`: no such item, or someone else's.", body = DetailBody),
        (status = 413, response = PayloadTooLarge),
        (
            status = 422,
            description = "An id that is not a 64-bit integer, or an invalid body: FastAPI's field errors.",
            body = ValidationBody
        ),
        (status = 500, response = InternalError),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    ItemId(id): ItemId,
    ModelBody(body): ModelBody<{ INVALID.as_u16() }>,
) -> Result<Json<Item>, ApiError> {
    let mut fields = Fields::of(&body);
    let name = fields.optional("name", &name_text());
    let description = fields.optional("description", &DESCRIPTION);
    let (name, description) =
        fields.finish(name.zip(description)).map_err(|errors| ApiError::Invalid(INVALID, errors))?;
    let changes = ItemChanges { name, description };
    let patch =
        ItemPatch { name: changes.name.map(str::to_owned), description: changes.description.map(str::to_owned) };
    ctx.store.update_item(&user, id, patch, &naive_utc_now()).await.map(Json).map_err(item_error)
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
        (status = 401, response = BearerRequired),
        (status = 404, description = "`Item not found`: no such item, or someone else's.", body = DetailBody),
        (status = 422, description = "An id that is not a 64-bit integer: FastAPI's field error.", body = ValidationBody),
        (status = 500, response = InternalError),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    CurrentUser(user): CurrentUser,
    ItemId(id): ItemId,
) -> Result<StatusCode, ApiError> {
    ctx.store.delete_item(&user, id).await.map_err(item_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_name_is_the_one_accepted() {
        let (longest, too_long) = ("x".repeat(200), "x".repeat(201));
        let edges = ["x", " x ", &longest, "", " ", "\t\u{3000}", &too_long];
        patterns::assert_documents(name_schema(), &edges, 210, |name| name_text().problem("name", name).is_none());
    }

    #[test]
    fn descriptions_are_documented_as_long_as_accepted() {
        for schema in [<NewItem as utoipa::PartialSchema>::schema(), <ItemChanges as utoipa::PartialSchema>::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            assert_eq!(schema["properties"]["description"]["maxLength"], *DESCRIPTION.chars.end());
        }
    }

    #[test]
    fn timestamps_are_naive_utc_to_the_microsecond() {
        let now = naive_utc_now();
        assert_eq!(now.len(), "2025-01-31T09:30:00.123456".len(), "{now}");
        assert!(now.as_bytes()[10] == b'T' && !now.ends_with('Z'), "{now}");
    }
}
