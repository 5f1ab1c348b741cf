//! `/api/v1/records`: clients list and read their own (another's is 404), admins every one;
//! admins create, change (204) and delete (softly) them.

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
use crate::calc::model::{Record, RecordPatch, Role};
use crate::calc::now_text;
use crate::calc::session::{Admin, Session};
use crate::context::AppContext;
use crate::extract::PathInput;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(list, create)).routes(routes!(read, update, remove))
}

/// The attributes a record listing filters and selects by.
const ATTRIBUTES: &[Attribute] = &[
    Attribute::text("id"),
    Attribute::text("operation_id"),
    Attribute::text("user_id"),
    Attribute::number("amount"),
    Attribute::number("user_balance"),
    Attribute::text("operation_response"),
    Attribute::text("date"),
];
/// Largest amount or balance accepted.
const MAX_AMOUNT: f64 = 1e15;

fn not_found(err: crate::store::StoreError) -> CalcError {
    CalcError::from_store(err, CalcError::RECORD_NOT_FOUND, CalcError::bad_request("Record already exists."))
}

/// The body of `POST /api/v1/records`, and (every field optional but the ids, which a
/// `PATCH` does not take) of `PATCH`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body that `Fields` reads
struct RecordBody {
    /// The operation run.
    #[schema(format = "uuid")]
    operation_id: String,
    /// The user charged.
    #[schema(format = "uuid")]
    user_id: String,
    /// Credit charged.
    #[schema(minimum = 0, maximum = 1e15)]
    amount: f64,
    /// The balance after the charge.
    #[schema(minimum = 0, maximum = 1e15)]
    user_balance: f64,
    /// The result, as text.
    operation_response: String,
    /// When it ran (now unless given).
    date: Option<String>,
}

/// A record created.
#[derive(Serialize, ToSchema)]
struct Created {
    /// `Record created`.
    message: &'static str,
    /// The record.
    record: Record,
    /// Always `success`.
    status: &'static str,
}

/// The caller's records (every record for admins), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/records",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(
        ("page" = Option<i64>, Query, minimum = 1, description = "The page, from 1."),
        ("page_size" = Option<u64>, Query, minimum = 1, maximum = 100, description = "Items per page (10)."),
        ("fields" = Option<String>, Query, description = "Only these attributes (a comma list)."),
        ("operation_id" = Option<String>, Query, description = "Only records of this operation."),
        ("user_id" = Option<String>, Query, description = "Only records of this user."),
    ),
    responses(
        (status = 200, description = "`{\"records\": [...], \"total_pages\": n}`, newest first.", body = Object),
        (status = 400, description = "An unknown parameter or field, or a bad page.", body = Refusal),
    )
)]
async fn list(
    State(ctx): State<Arc<AppContext>>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, CalcError> {
    let listing = Listing::parse(query.as_deref(), ATTRIBUTES)?;
    let owner = (session.role != Role::Admin).then_some(session.user_id.as_str());
    Ok(Json(listing.page("records", &ctx.calc.ledger.list_records(owner).await?)?))
}

/// Create a record (admins).
#[utoipa::path(
    post,
    path = "/api/v1/records",
    tag = TAG,
    security(("calc_bearer" = [])),
    request_body(content = RecordBody, description = "The record."),
    responses(
        (status = 201, description = "`Record created`, with the record.", body = Created),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
    )
)]
async fn create(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    mut body: Fields,
) -> Result<(StatusCode, Json<Created>), CalcError> {
    let operation_id = body.string("operation_id", true);
    let user_id = body.string("user_id", true);
    let amount = body.number("amount", true, 0.0..=MAX_AMOUNT);
    let user_balance = body.number("user_balance", true, 0.0..=MAX_AMOUNT);
    let operation_response = body.string("operation_response", true);
    let date = body.string("date", false);
    body.finish()?;
    let (Some(operation_id), Some(user_id), Some(amount), Some(user_balance), Some(operation_response)) =
        (operation_id, user_id, amount, user_balance, operation_response)
    else {
        return Err(CalcError::bad_request(
            "operation_id, user_id, amount, user_balance and operation_response are required",
        ));
    };
    let id = uuid::Uuid::now_v7().to_string();
    let date = date.unwrap_or_else(now_text);
    let record = Record { id, operation_id, user_id, amount, user_balance, operation_response, date };
    let record = ctx.calc.ledger.create_record(record).await.map_err(not_found)?;
    Ok((StatusCode::CREATED, Json(Created { message: "Record created", record, status: "success" })))
}

/// One record (a client's own only).
#[utoipa::path(
    get,
    path = "/api/v1/records/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The record's id.")),
    responses(
        (status = 200, description = "The record.", body = Record),
        (status = 404, description = "`Record not found.` (also another user's, for a client)", body = Refusal),
    )
)]
async fn read(
    State(ctx): State<Arc<AppContext>>,
    session: Session,
    PathInput(id): PathInput<String>,
) -> Result<Json<Record>, CalcError> {
    let record = ctx.calc.ledger.get_record(&id).await.map_err(not_found)?;
    if session.role != Role::Admin && record.user_id != session.user_id {
        return Err(CalcError::RECORD_NOT_FOUND);
    }
    Ok(Json(record))
}

/// Change a record (admins).
#[utoipa::path(
    patch,
    path = "/api/v1/records/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The record's id.")),
    request_body(content = RecordBody, description = "The fields to change: `amount`, `user_balance`, `operation_response`, `date`."),
    responses(
        (status = 204, description = "Changed."),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, description = "`Record not found.`", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn update(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
    mut body: Fields,
) -> Result<StatusCode, CalcError> {
    let patch = RecordPatch {
        amount: body.number("amount", false, 0.0..=MAX_AMOUNT),
        user_balance: body.number("user_balance", false, 0.0..=MAX_AMOUNT),
        operation_response: body.string("operation_response", false),
        date: body.string("date", false),
    };
    body.finish()?;
    ctx.calc.ledger.update_record(&id, patch).await.map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a record (admins; softly).
#[utoipa::path(
    delete,
    path = "/api/v1/records/{id}",
    tag = TAG,
    security(("calc_bearer" = [])),
    params(("id" = String, Path, description = "The record's id.")),
    responses(
        (status = 200, description = "`Record deleted`.", body = Done),
        (status = 403, response = Forbidden),
        (status = 404, description = "`Record not found.`", body = Refusal),
    )
)]
async fn remove(
    State(ctx): State<Arc<AppContext>>,
    _: Admin,
    PathInput(id): PathInput<String>,
) -> Result<Json<Done>, CalcError> {
    ctx.calc.ledger.delete_record(&id).await.map_err(not_found)?;
    Ok(Done::new("Record deleted"))
}
