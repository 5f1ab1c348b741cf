//! Who is calling: the access token from the `access_token_cookie` cookie, with the CSRF
//! double submit on state-changing methods (`X-CSRF-TOKEN` must equal the token's CSRF value),
//! or from `Authorization: Bearer` (no CSRF: an API client, not a browser). A cookie token
//! that does not decode is 422, as the original answered; a bearer token that does not is
//! 401, as RFC 6750 says. The cookies a login sets and a logout clears are made here too.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use cookie::Cookie;

use super::error::CalcError;
use super::model::Role;
use super::tokens::{Claims, Issued, Kind};
use crate::context::AppContext;

/// The access token's cookie (HttpOnly).
pub const ACCESS_COOKIE: &str = "access_token_cookie";
/// The access token's CSRF cookie (readable by scripts, to copy into `X-CSRF-TOKEN`).
pub const ACCESS_CSRF_COOKIE: &str = "csrf_access_token";
/// The refresh token's cookie (HttpOnly).
pub const REFRESH_COOKIE: &str = "refresh_token_cookie";
/// The refresh token's CSRF cookie.
pub const REFRESH_CSRF_COOKIE: &str = "csrf_refresh_token";
/// The header that repeats the CSRF cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A caller with a valid access token.
pub struct Session {
    /// The user's id.
    pub user_id: String,
    /// The role the token was issued with.
    pub role: Role,
}

/// A caller with a valid access token of an admin; any other caller gets 403.
pub struct Admin(pub Session);

impl FromRequestParts<Arc<AppContext>> for Session {
    type Rejection = CalcError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, CalcError> {
        let claims = token_claims(&parts.headers, &parts.method, ctx, Kind::Access)?;
        Ok(Session { user_id: claims.sub, role: claims.role })
    }
}

impl FromRequestParts<Arc<AppContext>> for Admin {
    type Rejection = CalcError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<AppContext>) -> Result<Self, CalcError> {
        let session = Session::from_request_parts(parts, ctx).await?;
        if session.role == Role::Admin { Ok(Admin(session)) } else { Err(CalcError::FORBIDDEN) }
    }
}

/// The claims of the caller's `kind` token, checked in the order flask-jwt-extended checks:
/// the cookie is there, the CSRF header is there (state-changing methods), the token decodes,
/// the header matches the token's CSRF value.
pub fn token_claims(headers: &HeaderMap, method: &Method, ctx: &AppContext, kind: Kind) -> Result<Claims, CalcError> {
    if let Some(token) = bearer(headers) {
        return ctx.calc.tokens.decode(token, kind).map_err(|err| match err {
            CalcError::Token(_, msg) => CalcError::Token(StatusCode::UNAUTHORIZED, msg),
            other => other,
        });
    }
    let (cookie_name, _) = cookie_names(kind);
    let token = cookie(headers, cookie_name)
        .ok_or_else(|| CalcError::Token(StatusCode::UNAUTHORIZED, format!("Missing cookie \"{cookie_name}\"")))?;
    let needs_csrf = matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let csrf = match needs_csrf {
        true => Some(
            headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| CalcError::Token(StatusCode::UNAUTHORIZED, "Missing CSRF token".into()))?,
        ),
        false => None,
    };
    let claims = ctx.calc.tokens.decode(&token, kind)?;
    if csrf.is_some_and(|csrf| csrf != claims.csrf) {
        return Err(CalcError::Token(StatusCode::UNAUTHORIZED, "CSRF double submit tokens do not match".into()));
    }
    Ok(claims)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The token cookie and the CSRF cookie of `kind`.
fn cookie_names(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Access => (ACCESS_COOKIE, ACCESS_CSRF_COOKIE),
        Kind::Refresh => (REFRESH_COOKIE, REFRESH_CSRF_COOKIE),
    }
}

/// The two `Set-Cookie` values that hand a `kind` token to a browser.
pub fn set_cookies(kind: Kind, issued: &Issued) -> [HeaderValue; 2] {
    let (token_name, csrf_name) = cookie_names(kind);
    let token = Cookie::build((token_name, issued.token.as_str())).http_only(true).path("/");
    let csrf = Cookie::build((csrf_name, issued.csrf.as_str())).path("/");
    [header_value(&token.build()), header_value(&csrf.build())]
}

/// The four `Set-Cookie` values that clear every token cookie.
pub fn clear_cookies() -> Vec<HeaderValue> {
    [ACCESS_COOKIE, ACCESS_CSRF_COOKIE, REFRESH_COOKIE, REFRESH_CSRF_COOKIE]
        .into_iter()
        .map(|name| {
            let mut cleared = Cookie::build((name, "")).path("/").http_only(!name.starts_with("csrf")).build();
            cleared.make_removal();
            header_value(&cleared)
        })
        .collect()
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("JWTs, UUIDs and cookie attributes are valid header text")
}
