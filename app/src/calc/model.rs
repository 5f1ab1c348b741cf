//! The calculator's data, as its API shows it: users with a role and a balance, priced
//! operations, and the record each charged operation leaves.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user may do: admins change resources and see every record; clients use operations
/// and see their own records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Changes operations, users and records.
    Admin,
    /// Runs operations, pays for them, reads its own records.
    Client,
}

impl Role {
    /// The role's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Client => "client",
        }
    }

    /// The role `name` names.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "client" => Some(Role::Client),
            _ => None,
        }
    }
}

/// A user, as every response shows one (never with a password hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CalcUser {
    /// A UUID.
    #[schema(format = "uuid")]
    pub id: String,
    /// Unique among users not deleted.
    #[schema(format = Email)]
    pub email: String,
    /// `admin` or `client`.
    pub role: Role,
    /// Credit left; operations cost credit; never below 0.
    pub balance: f64,
}

/// A user with the password hash a login checks.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: CalcUser,
    /// PHC-format argon2 hash of the password.
    pub password_hash: String,
}

/// A new user to store.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The address to log in with, as given.
    pub email: String,
    /// PHC-format argon2 hash of the password.
    pub password_hash: String,
    /// The role.
    pub role: Role,
    /// The starting balance.
    pub balance: f64,
}

/// Changes to a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New email (must stay unique).
    pub email: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New balance.
    pub balance: Option<f64>,
}

/// A priced operation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Operation {
    /// A UUID.
    #[schema(format = "uuid")]
    pub id: String,
    /// One of `addition`, `substraction`, `multiplication`, `division`, `square_root`,
    /// `random_string`; unique.
    #[serde(rename = "type")]
    pub kind: String,
    /// Credit charged each time it runs.
    pub cost: f64,
}

/// Changes to an operation: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OperationPatch {
    /// New kind (must stay unique).
    pub kind: Option<String>,
    /// New cost.
    pub cost: Option<f64>,
}

/// What one charged operation left behind.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Record {
    /// A UUID; records made later have larger ids.
    #[schema(format = "uuid")]
    pub id: String,
    /// The operation run.
    #[schema(format = "uuid")]
    pub operation_id: String,
    /// The user charged.
    #[schema(format = "uuid")]
    pub user_id: String,
    /// Credit charged.
    pub amount: f64,
    /// The user's balance after the charge.
    pub user_balance: f64,
    /// The operation's result, as text.
    pub operation_response: String,
    /// When it ran: ISO 8601, UTC, without an offset (as the original wrote it).
    pub date: String,
}

/// Changes to a record: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RecordPatch {
    /// New amount.
    pub amount: Option<f64>,
    /// New balance after the charge.
    pub user_balance: Option<f64>,
    /// New result text.
    pub operation_response: Option<String>,
    /// New date.
    pub date: Option<String>,
}

/// One operation to run and pay for, in one atomic step: the balance is charged and the
/// record written together, or neither happens.
#[derive(Debug, Clone)]
pub struct Charge {
    /// The record's id (chosen by the caller, so that a retried step is recognised).
    pub record_id: String,
    /// The user to charge.
    pub user_id: String,
    /// The operation run.
    pub operation_id: String,
    /// What it costs.
    pub cost: f64,
    /// Its result, as text.
    pub response: String,
    /// When it ran.
    pub date: String,
}
