//! Seed 004's calculator: users with a role (`admin`, `client`) and a balance, priced
//! operations, and a record of each one run. Logging in with an unknown email registers a
//! client; running an operation charges its cost and writes its record in one atomic step.
//!
//! - [`model`]: the data; [`ledger`]: what it needs from storage (both stores implement it);
//! - [`compute`]: the arithmetic; [`fields`], [`listing`]: request bodies and collection
//!   queries, checked as the original checked them; [`error`]: its three error shapes;
//! - [`tokens`], [`session`]: JWTs in cookies with the CSRF double submit, or bearer tokens;
//! - [`routes`]: the HTTP surface, documented in the OpenAPI document ([`docs`]).

pub mod compute;
pub mod docs;
pub mod error;
pub mod fields;
pub mod ledger;
pub mod listing;
pub mod model;
pub mod routes;
pub mod session;
pub mod tokens;

use std::sync::Arc;

use self::error::CalcError;
use self::ledger::Ledger;
use self::model::{NewUser, Role};
use crate::auth::{hash_password, verify_password};

/// Credit a client starts with.
pub const CLIENT_BALANCE: f64 = 20.0;
/// Credit an admin made through `POST /admin` starts with.
pub const ADMIN_BALANCE: f64 = 100.0;
/// What each operation costs on a new store.
pub const SEED_COST: f64 = 5.0;

/// The seeded client and admin, as the seed's README lists them.
pub const DEFAULT_CLIENT: (&str, f64) = ("defaultclient@client.as", 20.0);
/// The seeded admin's email and balance.
pub const DEFAULT_ADMIN: (&str, f64) = ("defaultadmin@admin.as", 1000.0);

/// What the calculator's handlers reach through the app context.
pub struct Calculator {
    /// Where its data lives.
    pub ledger: Arc<dyn Ledger>,
    /// Signs and checks its tokens.
    pub tokens: tokens::Tokens,
    /// The `admin_password` that `POST /admin` requires; `None` refuses every request.
    pub admin_secret: Option<String>,
}

/// The passwords of the seeded accounts.
pub struct SeedAccounts {
    /// `defaultclient@client.as`'s password.
    pub client_password: String,
    /// `defaultadmin@admin.as`'s password.
    pub admin_password: String,
}

/// Seeds a new store: every operation kind at [`SEED_COST`] when there are no operations,
/// and the two default accounts when `accounts` is given and there are no users.
pub async fn seed(ledger: &dyn Ledger, accounts: Option<&SeedAccounts>) -> Result<(), CalcError> {
    if ledger.list_operations().await?.is_empty() {
        let kinds: Vec<(&str, f64)> = compute::Kind::ALL.iter().map(|kind| (kind.name(), SEED_COST)).collect();
        ledger.seed_operations(&kinds).await?;
    }
    let Some(accounts) = accounts else { return Ok(()) };
    if !ledger.list_users().await?.is_empty() {
        return Ok(());
    }
    let defaults = [
        (DEFAULT_CLIENT, &accounts.client_password, Role::Client),
        (DEFAULT_ADMIN, &accounts.admin_password, Role::Admin),
    ];
    for ((email, balance), password, role) in defaults {
        let password_hash = hash(password.clone()).await?;
        let user = NewUser { email: email.to_owned(), password_hash, role, balance };
        match ledger.create_user(user).await {
            Ok(_) | Err(crate::store::StoreError::Conflict(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Hashes a password off the async threads.
pub async fn hash(password: String) -> Result<String, CalcError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| CalcError::Internal(e.into()))?
        .map_err(CalcError::Internal)
}

/// Checks a password against its hash off the async threads.
pub async fn password_matches(password: String, hash: String) -> Result<bool, CalcError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| CalcError::Internal(e.into()))
}

/// Now, as the records write it: ISO 8601 in UTC with microseconds and no offset.
pub fn now_text() -> String {
    let mut text = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
    text.pop(); // the `Z`
    text
}
