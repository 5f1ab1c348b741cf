//! `POST /login` (which also registers a new client), `POST /logout`, `GET /refresh`, and
//! `POST /admin` (an admin account, for whoever knows the admin secret).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{Done, Routes, TAG};
use crate::calc::docs::{BadRequest, TooLarge};
use crate::calc::error::{CalcError, Refusal};
use crate::calc::fields::Fields;
use crate::calc::model::{CalcUser, NewUser, Role};
use crate::calc::session::{clear_cookies, set_cookies, token_claims};
use crate::calc::tokens::Kind;
use crate::calc::{ADMIN_BALANCE, CLIENT_BALANCE, hash, password_matches};
use crate::context::AppContext;
use crate::store::StoreError;

pub(super) fn routes() -> Routes {
    Routes::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(refresh)).routes(routes!(admin))
}

/// The characters of which a new password needs one.
const PASSWORD_SPECIALS: &str = "@$!%*?&";

/// Whether a new client's password meets the policy: 8 characters or more, a digit, and one
/// of [`PASSWORD_SPECIALS`].
fn meets_policy(password: &str) -> bool {
    password.chars().count() >= 8
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| PASSWORD_SPECIALS.contains(c))
}

/// The body of `POST /login`.
#[derive(ToSchema)]
#[schema(example = json!({"email": "defaultclient@client.as", "password": "Test1234!"}))]
#[allow(dead_code)] // documents the body that `Fields` reads
struct Login {
    /// The address to log in with; an unknown one registers a client.
    #[schema(format = Email)]
    email: String,
    /// The password; a new client's needs 8 characters, a digit and one of `@$!%*?&`.
    #[schema(format = Password)]
    password: String,
}

/// A successful login.
#[derive(Serialize, ToSchema)]
struct LoggedIn {
    /// `Login successful.`
    message: &'static str,
    /// Always `success`.
    status: &'static str,
    /// The access token, for `Authorization: Bearer` (API clients; browsers use the cookies).
    access_token: String,
    /// The refresh token, for `GET /refresh` with `Authorization: Bearer` (API clients).
    refresh_token: String,
}

/// Log in (an unknown email with a good password registers a client with 20.0 credit).
#[utoipa::path(
    post,
    path = "/login",
    tag = TAG,
    request_body(content = Login, description = "The credentials."),
    responses(
        (status = 200, description = "Logged in: the cookies `access_token_cookie`, `csrf_access_token`, \
            `refresh_token_cookie` and `csrf_refresh_token` are set.", body = LoggedIn),
        (status = 400, response = BadRequest),
        (status = 401, description = "`Invalid email or password`, or `Password does not meet the requirements.` \
            for a new client.", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn login(State(ctx): State<Arc<AppContext>>, mut body: Fields) -> Result<Response, CalcError> {
    let email = body.email("email", true);
    let password = body.string("password", true);
    body.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(CalcError::bad_request("email and password are required"));
    };
    let user = log_in_or_register(&ctx, email, password).await?;
    let now = SystemTime::now();
    let access = ctx.calc.tokens.issue(Kind::Access, &user.id, user.role, now)?;
    let refresh = ctx.calc.tokens.issue(Kind::Refresh, &user.id, user.role, now)?;
    let mut headers = HeaderMap::new();
    for cookie in set_cookies(Kind::Access, &access).into_iter().chain(set_cookies(Kind::Refresh, &refresh)) {
        headers.append(SET_COOKIE, cookie);
    }
    let body = LoggedIn {
        message: "Login successful.",
        status: "success",
        access_token: access.token,
        refresh_token: refresh.token,
    };
    Ok((headers, Json(body)).into_response())
}

const INVALID_LOGIN: CalcError =
    CalcError::Refused(StatusCode::UNAUTHORIZED, std::borrow::Cow::Borrowed("Invalid email or password"));

/// The user the credentials name, registered as a client first if the email is new.
async fn log_in_or_register(ctx: &AppContext, email: String, password: String) -> Result<CalcUser, CalcError> {
    let ledger = &ctx.calc.ledger;
    if let Some(known) = ledger.find_login(&email).await? {
        return match password_matches(password, known.password_hash).await? {
            true => Ok(known.user),
            false => Err(INVALID_LOGIN),
        };
    }
    if !meets_policy(&password) {
        return Err(CalcError::Refused(StatusCode::UNAUTHORIZED, "Password does not meet the requirements.".into()));
    }
    let password_hash = hash(password.clone()).await?;
    let new = NewUser { email: email.clone(), password_hash, role: Role::Client, balance: CLIENT_BALANCE };
    match ledger.create_user(new).await {
        Ok(user) => Ok(user),
        // Registered by a concurrent login meanwhile: log in as that user.
        Err(StoreError::Conflict(_)) => {
            let known = ledger.find_login(&email).await?.ok_or(INVALID_LOGIN)?;
            match password_matches(password, known.password_hash).await? {
                true => Ok(known.user),
                false => Err(INVALID_LOGIN),
            }
        }
        Err(err) => Err(err.into()),
    }
}

/// `{"logout": true}`.
#[derive(Serialize, ToSchema)]
struct LoggedOut {
    /// Always `true`.
    logout: bool,
}

/// Log out: every token cookie is cleared.
#[utoipa::path(
    post,
    path = "/logout",
    tag = TAG,
    responses((status = 200, description = "The token cookies are cleared.", body = LoggedOut))
)]
async fn logout() -> Response {
    let mut headers = HeaderMap::new();
    for cookie in clear_cookies() {
        headers.append(SET_COOKIE, cookie);
    }
    (headers, Json(LoggedOut { logout: true })).into_response()
}

/// A new access token's CSRF value.
#[derive(Serialize, ToSchema)]
struct Refreshed {
    /// The new `csrf_access_token` value, for `X-CSRF-TOKEN`.
    csrf_token: String,
    /// The new access token, for `Authorization: Bearer`.
    access_token: String,
}

/// A new access token for the refresh token (the `refresh_token_cookie` cookie, or
/// `Authorization: Bearer <refresh token>`).
#[utoipa::path(
    get,
    path = "/refresh",
    tag = TAG,
    security(("calc_refresh" = [])),
    responses(
        (status = 200, description = "A new access token: `access_token_cookie` and `csrf_access_token` are set.", body = Refreshed),
        (status = 404, description = "`User not found.`: the user was deleted.", body = Refusal),
    )
)]
async fn refresh(
    State(ctx): State<Arc<AppContext>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, CalcError> {
    let claims = token_claims(&headers, &method, &ctx, Kind::Refresh)?;
    let user = ctx
        .calc
        .ledger
        .get_user(&claims.sub)
        .await
        .map_err(|e| CalcError::from_store(e, CalcError::USER_NOT_FOUND, CalcError::USER_NOT_FOUND))?;
    let access = ctx.calc.tokens.issue(Kind::Access, &user.id, user.role, SystemTime::now())?;
    let mut out = HeaderMap::new();
    for cookie in set_cookies(Kind::Access, &access) {
        out.append(SET_COOKIE, cookie);
    }
    Ok((out, Json(Refreshed { csrf_token: access.csrf, access_token: access.token })).into_response())
}

/// The body of `POST /admin`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body that `Fields` reads
struct NewAdmin {
    /// The new admin's email.
    #[schema(format = Email)]
    email: String,
    /// The new admin's password.
    #[schema(format = Password)]
    password: String,
    /// The admin secret the server was configured with.
    #[schema(format = Password)]
    admin_password: String,
}

/// Create an admin (balance 100.0), given the admin secret.
#[utoipa::path(
    post,
    path = "/admin",
    tag = TAG,
    request_body(content = NewAdmin, description = "The new admin and the admin secret."),
    responses(
        (status = 201, description = "`User created`.", body = Done),
        (status = 400, response = BadRequest),
        (status = 401, description = "`Invalid password`: not the admin secret.", body = Refusal),
        (status = 409, description = "`User already exists.`", body = Refusal),
        (status = 413, response = TooLarge),
    )
)]
async fn admin(State(ctx): State<Arc<AppContext>>, mut body: Fields) -> Result<Response, CalcError> {
    let email = body.email("email", true);
    let password = body.string("password", true);
    let admin_password = body.string("admin_password", true);
    body.finish()?;
    let (Some(email), Some(password), Some(given)) = (email, password, admin_password) else {
        return Err(CalcError::bad_request("email, password and admin_password are required"));
    };
    let secret = ctx.calc.admin_secret.as_deref().unwrap_or_default();
    if secret.is_empty() || !bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
        return Err(CalcError::Refused(StatusCode::UNAUTHORIZED, "Invalid password".into()));
    }
    let password_hash = hash(password).await?;
    let new = NewUser { email, password_hash, role: Role::Admin, balance: ADMIN_BALANCE };
    ctx.calc.ledger.create_user(new).await.map_err(|e| {
        CalcError::from_store(
            e,
            CalcError::USER_NOT_FOUND,
            CalcError::Refused(StatusCode::CONFLICT, "User already exists.".into()),
        )
    })?;
    Ok((StatusCode::CREATED, Done::new("User created")).into_response())
}

#[cfg(test)]
mod tests {
    use super::meets_policy;

    #[test]
    fn new_passwords_need_length_a_digit_and_a_special_character() {
        assert!(meets_policy("Test1234!"));
        assert!(meets_policy("abcdefg1@"));
        for weak in ["Tes123!", "Testtest!", "Test12345", "", "adminpass"] {
            assert!(!meets_policy(weak), "{weak}");
        }
    }
}
