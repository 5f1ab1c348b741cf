//! The calculator's routes, relative to where its surface is mounted (`/calc` by default):
//! `/login`, `/logout`, `/refresh`, `/admin`, and under `/api/v1` the operations, users and
//! records, and `process_operation`.

mod auth;
mod operations;
mod process;
mod records;
mod users;

use std::sync::Arc;

use serde::Serialize;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::docs::Doc;
use crate::context::AppContext;

/// A router of some routes with their OpenAPI paths.
pub type Routes = OpenApiRouter<Arc<AppContext>>;

/// Tag of every calculator route in the OpenAPI document.
const TAG: &str = "seed 004";

/// Every calculator route, with the components their documentation names.
pub fn routes() -> Routes {
    Routes::with_openapi(Doc::openapi())
        .merge(auth::routes())
        .merge(operations::routes())
        .merge(users::routes())
        .merge(records::routes())
        .merge(process::routes())
}

/// `{"message": …, "status": "success"}`.
#[derive(Serialize, ToSchema)]
struct Done {
    /// What happened.
    message: &'static str,
    /// Always `success`.
    status: &'static str,
}

impl Done {
    fn new(message: &'static str) -> axum::Json<Done> {
        axum::Json(Done { message, status: "success" })
    }
}
