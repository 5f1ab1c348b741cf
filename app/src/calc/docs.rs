//! The calculator's part of the OpenAPI document: its security scheme and the responses its
//! routes share, registered as components that the routes' `responses(...)` name.

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{Modify, ToResponse, ToSchema};

use super::error::{Refusal, TokenProblem};

/// The security scheme of the calculator's routes (their `security(...)` name it as a literal).
pub const SCHEME: &str = "calc_bearer";
/// The security scheme of `GET /refresh`.
pub const REFRESH_SCHEME: &str = "calc_refresh";

/// Components and the security scheme, as the calculator router's starting document.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(
        schemas(Refusal, TokenProblem),
        responses(TokenRequired, TokenInvalid, Forbidden, BadRequest, TooLarge, Internal)
    ),
    modifiers(&Scheme)
)]
pub struct Doc;

struct Scheme;

impl Modify for Scheme {
    fn modify(&self, doc: &mut OpenApi) {
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some(
            "The calculator's access token: the `access_token` of its login, or (as a browser sends it) the \
             `access_token_cookie` cookie, with `X-CSRF-TOKEN` repeating the `csrf_access_token` cookie on \
             POST, PUT, PATCH and DELETE.",
        ));
        let refresh = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some(
            "The calculator's refresh token: the `refresh_token` of its login, or the `refresh_token_cookie` \
             cookie.",
        ));
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(SCHEME, SecurityScheme::Http(bearer.build()));
        components.add_security_scheme(REFRESH_SCHEME, SecurityScheme::Http(refresh.build()));
    }
}

fn json(description: &str, schema: impl Into<RefOr<Schema>>) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(schema)).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

fn schema_ref<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

/// 401 `{"msg"}`: no token, no CSRF header, mismatched CSRF values, or an expired token.
pub struct TokenRequired;
/// 422 `{"msg"}`: a token that does not decode, is forged, or is of the wrong kind.
pub struct TokenInvalid;
/// 403 `{"status": "error", "message": "Unauthorized access"}`: the role may not do this.
pub struct Forbidden;
/// 400: fields that fail validation (`{"<field>": ["<message>", …]}`) or a refusal.
pub struct BadRequest;
/// 413: a body over 1 MiB.
pub struct TooLarge;
/// 500: the store failed.
pub struct Internal;

impl<'r> ToResponse<'r> for TokenRequired {
    fn response() -> (&'r str, RefOr<Response>) {
        let description = "Missing cookie, missing or mismatched CSRF token, or an expired token (`{\"msg\": …}`).";
        ("CalcTokenRequired", json(description, schema_ref::<TokenProblem>()))
    }
}

impl<'r> ToResponse<'r> for TokenInvalid {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "CalcTokenInvalid",
            json("A token that does not decode or is of the wrong kind.", schema_ref::<TokenProblem>()),
        )
    }
}

impl<'r> ToResponse<'r> for Forbidden {
    fn response() -> (&'r str, RefOr<Response>) {
        ("CalcForbidden", json("The caller's role may not do this.", schema_ref::<Refusal>()))
    }
}

impl<'r> ToResponse<'r> for BadRequest {
    fn response() -> (&'r str, RefOr<Response>) {
        let messages = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let fields = ObjectBuilder::new()
            .description(Some("Validation messages by field name."))
            .additional_properties(Some(messages));
        let either = OneOfBuilder::new().item(schema_ref::<Refusal>()).item(fields);
        ("CalcBadRequest", json("Invalid fields, or a refusal (`{\"status\": \"error\", \"message\": …}`).", either))
    }
}

impl<'r> ToResponse<'r> for TooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        ("CalcTooLarge", json("The body is larger than the server accepts (1 MiB).", schema_ref::<Refusal>()))
    }
}

impl<'r> ToResponse<'r> for Internal {
    fn response() -> (&'r str, RefOr<Response>) {
        ("CalcInternal", json("The store failed; the cause is logged, not sent.", schema_ref::<Refusal>()))
    }
}
