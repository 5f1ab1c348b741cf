//! `/api/v1/operations`: every caller lists and reads them; admins create, change and delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{Done, Routes, TAG};
use crate::calc::compute::Kind;
use crate::calc::docs::{BadRequest, Forbidden, TooLarge};
use crate::calc::error::{CalcError, Refusal};
use crate::calc::fields::Fields;
use crate::calc::listing::{Attribute, Listing};
use crate::calc::model::{Operation, OperationPatch};
use crate::calc::session::{Admin, Session};
use crate::context::AppContext;
use crate::extract::PathInput;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list, create)).routes(routes!(read, update, remove))
}

/// The attributes an operation listing filters and selects by.
const ATTRIBUTES: &[Attribute] = &[Attribute::text("id"), Attribute::text("type"), Attribute::number("cost")];
/// Highest cost accepted.
const MAX_COST: f64 = 1e15;

fn exists() -> CalcError {
    CalcError::bad_request("Operation already exists")
}

/// A type field, read as one of the kinds' names (`subtraction` stored as `substraction`).
fn kind_field(body: &mut Fields, required: bool) -> Option<String> {
    let mut names: Vec<&str> = Kind::ALL.iter().map(|kind| kind.name()).collect();
    names.push("subtraction");
    let name = body.one_of("type", required, &names)?;
    Kind::parse(&name).map(|kind| kind.name().to_owned())
}

/// The body of `POST /api/v1/operations`, and (every field optional) of `PATCH`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body that `Fields` reads
struct OperationBody {
    /// One of the kinds (`subtraction` is read as `substraction`).
    #[schema(pattern = "^(addition|substraction|subtraction|multiplication|division|square_root|random_string)$")]
    r#type: String,
    /// Credit charged each time it runs.
    #[schema(minimum = 0, maximum = 1e15)]
    cost: f64,
}

/// An operation created or changed.
#[derive(Serialize, ToSchema)]
struct Changed {
    /// What happened.
    message: &'static str,
    /// The operation as it is now.
    operation: Operation,
    /// Always `success`.
    status: &'static str,
}

/// The operations.
#[utoipa::path(
    get,
    path = "/api/v1/operations",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(
        ("page" = Option<i64>, Query, minimum = 1, description = "The page, from 1."),
        ("page_size" = Option<u64>, Query, minimum = 1, maximum = 100, description = "Items per page (10)."),
        ("fields" = Option<String>, Query, description = "Only these attributes (a comma list)."),
        ("type" = Option<String>, Query, description = "Only operations of this type."),
        ("cost" = Option<f64>, Query, description = "Only operations of this cost."),
    ),
    responses(
        (status = 200, description = "`{\"operations\": [...], \"total_pages\": n}`, by type.", body = Object),
        (status = 400, description = "An unknown parameter or field, or a bad page.", body = Refusal),
    )
)]
async fn list(
    State(ctx): State<Arc<AppContext>>,
    _: Session,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, CalcError> {
    let listing = Listing::parse(query.as_deref(), ATTRIBUTES)?;
    Ok(Json(listing.page("operations", &ctx.calc.ledger.list_operations().await?)?))
}

/// Create an operation (admins).
#[utoipa::path(
    post,
    path = "/api/v1/operations",
    tag = TAG,
    security(("calc_bearer" = [])),
    request_body(content = OperationBody, description = "The new operation."),
    responses(
        (status = 201, description = "`Operation created successfully`.", body = Changed),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
    )
)]
async fn create(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    mut body: Fields,
) -> Result<(StatusCode, Json<Changed>), CalcError> {
    let kind = kind_field(&mut body, true);
    let cost = body.number("cost", true, 0.0..=MAX_COST);
    body.finish()?;
    let (Some(kind), Some(cost)) = (kind, cost) else {
        return Err(CalcError::bad_request("type and cost are required"));
    };
    let operation = ctx
        .calc
        .ledger
        .create_operation(&kind, cost)
        .await
        .map_err(|e| CalcError::from_store(e, CalcError::OPERATION_NOT_FOUND, exists()))?;
    Ok((StatusCode::CREATED, Json(Changed { message: "Operation created successfully", operation, status: "success" })))
}

/// One operation.
#[utoipa::path(
    get,
    path = "/api/v1/operations/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The operation's id.")),
    responses(
        (status = 200, description = "The operation.", body = Operation),
        (status = 404, description = "`Operation not found.`", body = Refusal),
    )
)]
async fn read(
    State(ctx): State<Arc<AppContext>>,
    _: Session,
    PathInput(id): PathInput<String>,
) -> Result<Json<Operation>, CalcError> {
    let operation = ctx.calc.ledger.get_operation(&id).await;
    Ok(Json(operation.map_err(|e| CalcError::from_store(e, CalcError::OPERATION_NOT_FOUND, exists()))?))
}

/// Change an operation (admins): the fields given.
#[utoipa::path(
    patch,
    path = "/api/v1/operations/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The operation's id.")),
    request_body(content = OperationBody, description = "The fields to change."),
    responses(
        (status = 200, description = "`Operation updated successfully`, with the operation as it is now.", body = Changed),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, description = "`Operation not found.`", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
    mut body: Fields,
) -> Result<Json<Changed>, CalcError> {
    let patch = OperationPatch { kind: kind_field(&mut body, false), cost: body.number("cost", false, 0.0..=MAX_COST) };
    body.finish()?;
    let operation = ctx.calc.ledger.update_operation(&id, patch).await;
    let operation = operation.map_err(|e| CalcError::from_store(e, CalcError::OPERATION_NOT_FOUND, exists()))?;
    Ok(Json(Changed { message: "Operation updated successfully", operation, status: "success" }))
}

/// Delete an operation (admins); refused while records name it.
#[utoipa::path(
    delete,
    path = "/api/v1/operations/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The operation's id.")),
    responses(
        (status = 200, description = "`Operation deleted`.", body = Done),
        (status = 400, description = "`Foreign key violation.`: records name it.", body = Refusal),
        (status = 403, response = Forbidden),
        (status = 404, description = "`Operation not found.`", body = Refusal),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
) -> Result<Json<Done>, CalcError> {
    ctx.calc
        .ledger
        .delete_operation(&id)
        .await
        .map_err(|e| CalcError::from_store(e, CalcError::OPERATION_NOT_FOUND, exists()))?;
    Ok(Done::new("Operation deleted"))
}
