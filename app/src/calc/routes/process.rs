//! `POST /api/v1/process_operation`: run an operation and pay for it. The result is computed
//! first (a failing operation costs nothing), then the cost is charged and the record written
//! in one atomic step.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{Routes, TAG};
use crate::calc::compute::{Kind, apply};
use crate::calc::docs::{BadRequest, TooLarge};
use crate::calc::error::{CalcError, Refusal};
use crate::calc::fields::Fields;
use crate::calc::model::Charge;
use crate::calc::now_text;
use crate::calc::session::Session;
use crate::context::AppContext;
use crate::store::StoreError;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(process))
}

/// The body of `POST /api/v1/process_operation`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body that `Fields` reads
struct Run {
    /// The operation's type.
    r#type: String,
    /// One or two numbers (`random_string`: the length).
    #[schema(min_items = 1, max_items = 2)]
    arguments: Vec<f64>,
}

/// An operation run and paid for.
#[derive(Serialize, ToSchema)]
struct Processed {
    /// `Operation processed successfully`.
    message: &'static str,
    /// The result, as text (`3.0`, `0.25`, or the random string).
    result: String,
    /// Always `success`.
    status: &'static str,
    /// The caller's balance after paying.
    user_balance: f64,
}

/// Run an operation, paying its cost.
#[utoipa::path(
    post,
    path = "/api/v1/process_operation",
    tag = TAG,
    security(("calc_bearer" = [])),
    request_body(content = Run, description = "The operation and its arguments."),
    responses(
        (status = 200, description = "`Operation processed successfully`.", body = Processed),
        (status = 400, response = BadRequest),
        (status = 404, description = "`Operation not found.`, or `User not found.` (deleted).", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn process(
    State(ctx): State<Arc<AppContext>>,
    session: Session,
    mut body: Fields,
) -> Result<Json<Processed>, CalcError> {
    let kind = body.string("type", true);
    let arguments = body.numbers("arguments", 1..=2);
    body.finish()?;
    let (Some(kind), Some(arguments)) = (kind, arguments) else {
        return Err(CalcError::bad_request("type and arguments are required"));
    };
    let kind = Kind::parse(&kind).ok_or(CalcError::OPERATION_NOT_FOUND)?;
    let operation = ctx.calc.ledger.operation_of_kind(kind.name()).await?.ok_or(CalcError::OPERATION_NOT_FOUND)?;
    let result = apply(kind, &arguments).map_err(|message| CalcError::field("arguments", message))?;
    let charge = Charge {
        record_id: uuid::Uuid::now_v7().to_string(),
        user_id: session.user_id,
        operation_id: operation.id,
        cost: operation.cost,
        response: result.clone(),
        date: now_text(),
    };
    let record = ctx.calc.ledger.charge(charge).await.map_err(|err| match err {
        StoreError::NotFound => CalcError::USER_NOT_FOUND,
        other => other.into(),
    })?;
    Ok(Json(Processed {
        message: "Operation processed successfully",
        result,
        status: "success",
        user_balance: record.user_balance,
    }))
}
