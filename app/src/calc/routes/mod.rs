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
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{OpenApi as _, ToResponse, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::docs::{Doc, Internal, TokenInvalid, TokenRequired};
use crate::context::AppContext;

/// A router of some routes with their OpenAPI paths.
pub type Routes = OpenApiRouter<Arc<AppContext>>;

/// Tag of every calculator route in the OpenAPI document.
const TAG: &str = "seed 004";

/// Every calculator route, with the components their documentation names.
pub fn routes() -> Routes {
    let mut routes = Routes::with_openapi(Doc::openapi())
        .merge(auth::routes())
        .merge(operations::routes())
        .merge(users::routes())
        .merge(records::routes())
        .merge(process::routes());
    document_shared_responses(routes.get_openapi_mut());
    routes
}

/// Documents, once for every route, the answers they share: 401 and 422 for a token problem
/// on each route that takes a token, 500 when the store fails. A route's own description of
/// a status wins.
fn document_shared_responses(doc: &mut OpenApi) {
    let name = |(name, _): (&'static str, RefOr<utoipa::openapi::Response>)| name;
    let (token_required, token_invalid) = (name(TokenRequired::response()), name(TokenInvalid::response()));
    let internal = name(Internal::response());
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let takes_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut shared = vec![("500", internal)];
            if takes_token {
                shared.extend([("401", token_required), ("422", token_invalid)]);
            }
            for (status, response) in shared {
                let responses = &mut operation.responses.responses;
                responses.entry(status.to_owned()).or_insert_with(|| RefOr::Ref(Ref::from_response_name(response)));
            }
        }
    }
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
