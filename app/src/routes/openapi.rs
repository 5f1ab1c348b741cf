//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the route definitions
//! (see [`super::openapi`]) once, on the first request, and served as the same bytes after.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::routes;

use super::Routes;
use super::responses::{BearerRequired, InternalError, PayloadTooLarge, TooManyRequests};
use crate::error::ErrorBody;
use crate::fastapi::FieldError;

/// The security scheme of `/items*` (named so in their `security(...)`):
/// `Authorization: Bearer <token from /auth/login>`.
const BEARER: &str = "bearer";
/// The security scheme of `POST /update`: the `API-Key` header.
const API_KEY: &str = "api_key";

/// What the document says besides its paths: title, version, shared components, schemes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "cloudcomp-app",
        description = "The API cloudcomp ships: every seed project's contract, each at the paths its README names."
    ),
    components(
        schemas(ErrorBody, FieldError),
        responses(PayloadTooLarge, TooManyRequests, BearerRequired, InternalError)
    ),
    modifiers(&SecuritySchemes)
)]
pub(super) struct Root;

/// Adds the [`BEARER`] and [`API_KEY`] security schemes (and drops the empty license).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut OpenApi) {
        doc.info.license = None; // `Cargo.toml` names none
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some(
            "A token from `POST /auth/login`, valid for 30 minutes: `Authorization: Bearer <access_token>`.",
        ));
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer.build()));
        let key = ApiKeyValue::with_description("API-Key", "The key the server was started with (`--api-key`).");
        components.add_security_scheme(API_KEY, SecurityScheme::ApiKey(ApiKey::Header(key)));
    }
}

/// The document as served.
fn document() -> &'static Bytes {
    static DOCUMENT: LazyLock<Bytes> =
        LazyLock::new(|| serde_json::to_vec(&super::openapi()).expect("an OpenAPI document always serializes").into());
    &DOCUMENT
}

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(serve))
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of every route.", body = Object),
    )
)]
async fn serve() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document().clone())
}
