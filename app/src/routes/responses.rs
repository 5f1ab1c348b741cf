//! The error responses several routes share, as reusable OpenAPI response components
//! (`#/components/responses/...`), each named in the `responses(...)` of the handlers that
//! can answer it. Each carries the body [`ApiError`](crate::error::ApiError) renders it with:
//! an [`ErrorBody`], or for a bearer refusal (seed 003, FastAPI) a [`DetailBody`].

use utoipa::ToResponse;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr};

use crate::error::{DetailBody, ErrorBody};

/// 413: the body is larger than [`super::MAX_BODY_BYTES`]; any route that reads a body.
pub struct PayloadTooLarge;

/// 429 with `Retry-After`: the client is over its route group's rate limit.
pub struct TooManyRequests;

/// 401 with `WWW-Authenticate: Bearer`: the bearer token is missing, malformed or expired.
pub struct BearerRequired;

/// 500: the store failed; the body says nothing more (the cause is logged).
pub struct InternalError;

/// A response with `description` and an [`ErrorBody`] as JSON.
fn error_response(description: &str) -> ResponseBuilder {
    json_response::<ErrorBody>(description)
}

/// A response with `description` and a `B` as JSON.
fn json_response<B: utoipa::ToSchema>(description: &str) -> ResponseBuilder {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(B::name())));
    ResponseBuilder::new().description(description).content("application/json", body.build())
}

/// A response header whose value is a whole number of seconds.
fn seconds_header(description: &str) -> utoipa::openapi::header::Header {
    let schema = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0));
    HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build()
}

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = "The body is larger than the server accepts (1 MiB).";
        ("PayloadTooLarge", error_response(description).build().into())
    }
}

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = "Over the client's rate limit for this route group (`--rate-login`, `--rate-items`, \
                           `--rate-global`), worded as SlowAPI words it (`Rate limit exceeded: 5 per 1 minute`); \
                           `detail.retry_after` repeats `Retry-After`.";
        let response =
            error_response(description).header("Retry-After", seconds_header("Seconds until a request is accepted."));
        ("TooManyRequests", response.build().into())
    }
}

impl<'r> ToResponse<'r> for BearerRequired {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = "`Not authenticated` (no bearer token) or `Could not validate credentials` (one that is \
                           malformed, tampered with or expired).";
        let challenge = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["Bearer"]));
        let header = HeaderBuilder::new().schema(Some(challenge)).description(Some("The scheme to authenticate with."));
        let response = json_response::<DetailBody>(description).header("WWW-Authenticate", header.build());
        ("BearerRequired", response.build().into())
    }
}

impl<'r> ToResponse<'r> for InternalError {
    fn response() -> (&'r str, RefOr<Response>) {
        ("InternalError", error_response("The store failed; the cause is logged, not sent.").build().into())
    }
}

/// Adds the response component `R` under `status` to every operation of `doc`.
pub fn add_to_every_operation<'r, R: ToResponse<'r>>(doc: &mut OpenApi, status: &str) {
    let (name, _) = R::response();
    for item in doc.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.options];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.insert(status.to_string(), RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}
