//! Seed 000's CORS, as the original answered with flask-cors' defaults: every response of
//! the surface carries `Access-Control-Allow-Origin: *`, and `OPTIONS` on any of its paths (a
//! browser's preflight) answers 200 with the methods the path serves.
//!
//! The header is set by the handlers ([`AnyOrigin`]) and by the fallbacks this module mounts,
//! not by a layer: a layer costs every request of the path a boxed future, and
//! `/api/v1/users` is a hot path. (A 429 of `--rate-global`, a limit the original never
//! had, comes from the limiter and goes without it.)

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, ALLOW,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::options;
use utoipa::openapi::path::{Operation, OperationBuilder, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{HeaderBuilder, OpenApi};

use super::Routes;
use crate::error::ApiError;

/// An answer with `Access-Control-Allow-Origin: *`: what seed 000's handlers return, whether
/// they succeed or fail.
pub(super) struct AnyOrigin<T>(pub T);

impl<T: IntoResponse> IntoResponse for AnyOrigin<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        response
    }
}

/// `routes` (whose handlers answer [`AnyOrigin`]) with the rest of seed 000's CORS: `OPTIONS`
/// on each of their paths (documented as such), and a 405 that allows any origin too.
pub(super) fn with_preflight(mut routes: Routes) -> Routes {
    let paths: Vec<(String, String)> =
        routes.get_openapi().paths.paths.iter().map(|(path, item)| (path.clone(), allowed_methods(item))).collect();
    for (path, methods) in paths {
        let allowed = HeaderValue::from_str(&methods).expect("method names are header-safe");
        let preflight = options(move |headers: HeaderMap| async move { AnyOrigin(preflight(allowed, &headers)) });
        // The app's own method-not-allowed fallback fills in only paths without one.
        routes = routes.route(&path, preflight.fallback(|| async { AnyOrigin(ApiError::MethodNotAllowed) }));
        document_preflight(routes.get_openapi_mut(), &path);
    }
    routes
}

/// `GET, HEAD, OPTIONS, POST`: what the path serves, sorted as Flask lists it in `Allow`.
fn allowed_methods(item: &PathItem) -> String {
    let served = [
        (item.get.is_some(), ["GET", "HEAD"].as_slice()),
        (item.post.is_some(), &["POST"]),
        (item.put.is_some(), &["PUT"]),
        (item.patch.is_some(), &["PATCH"]),
        (item.delete.is_some(), &["DELETE"]),
        (true, &["OPTIONS"]),
    ];
    let mut methods: Vec<&str> =
        served.into_iter().filter(|(served, _)| *served).flat_map(|(_, m)| m).copied().collect();
    methods.sort_unstable();
    methods.join(", ")
}

/// The answer to `OPTIONS`: 200, no body, the methods the path serves, and whatever headers
/// the browser asked to send (flask-cors allows any).
fn preflight(allowed: HeaderValue, request: &HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(ALLOW, allowed.clone());
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, allowed);
    if let Some(asked) = request.get(ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    response
}

/// Documents `OPTIONS path` in `doc`, with the path parameters its other operations take.
fn document_preflight(doc: &mut OpenApi, path: &str) {
    let Some(item) = doc.paths.paths.get_mut(path) else { return };
    let operations = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
    let parameters = operations.into_iter().flatten().find_map(|operation: &Operation| operation.parameters.clone());
    let text = |description: &str| {
        let schema = ObjectBuilder::new().schema_type(Type::String);
        HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build()
    };
    let answer = ResponseBuilder::new()
        .description("The methods the path serves; no body.")
        .header("Allow", text("The methods the path serves, `OPTIONS` included."))
        .header("Access-Control-Allow-Methods", text("The same methods, for a browser's preflight."))
        .header("Access-Control-Allow-Origin", text("`*`: any origin (on every response of seed 000)."));
    let mut operation = OperationBuilder::new()
        .tag("seed 000")
        .summary(Some("CORS preflight."))
        .response("200", answer.build())
        .build();
    operation.parameters = parameters;
    item.options = Some(operation);
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{OperationBuilder, PathItem};

    use super::allowed_methods;

    #[test]
    fn the_methods_are_listed_as_flask_lists_them() {
        let mut item = PathItem::default();
        item.get = Some(OperationBuilder::new().build());
        item.post = Some(OperationBuilder::new().build());
        assert_eq!(allowed_methods(&item), "GET, HEAD, OPTIONS, POST");
        let mut item = PathItem::default();
        item.delete = Some(OperationBuilder::new().build());
        assert_eq!(allowed_methods(&item), "DELETE, OPTIONS");
    }
}
