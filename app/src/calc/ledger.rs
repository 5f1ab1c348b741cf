//! What the calculator needs from storage, implemented by both stores: SQLite (one machine)
//! and DynamoDB (every instance behind the load balancer).
//!
//! Failures are [`StoreError`]s: `NotFound` for a missing (or deleted) user, operation or
//! record; `Conflict` for a taken email or operation type; `InsufficientFunds` when a charge
//! would take a balance below 0; `ForeignKey` when an operation still has records, or a
//! record names a user or an operation that does not exist.

use async_trait::async_trait;

use super::model::{CalcUser, Charge, Credentials, NewUser, Operation, OperationPatch, Record, RecordPatch, UserPatch};
use crate::store::StoreResult;

/// The calculator's storage.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Adds each `(type, cost)` operation whose type is not there yet; returns how many.
    async fn seed_operations(&self, operations: &[(&str, f64)]) -> StoreResult<usize>;

    /// The user (not deleted) with this email, compared case-insensitively, and their hash.
    async fn find_login(&self, email: &str) -> StoreResult<Option<Credentials>>;
    /// Adds a user; `Conflict` if the email is taken.
    async fn create_user(&self, user: NewUser) -> StoreResult<CalcUser>;
    /// One user.
    async fn get_user(&self, id: &str) -> StoreResult<CalcUser>;
    /// Every user not deleted, by email.
    async fn list_users(&self) -> StoreResult<Vec<CalcUser>>;
    /// Changes a user; `Conflict` if the new email is taken.
    async fn update_user(&self, id: &str, patch: UserPatch) -> StoreResult<CalcUser>;
    /// Deletes a user softly: their records stay, their email is free again.
    async fn delete_user(&self, id: &str) -> StoreResult<()>;

    /// Every operation, by type.
    async fn list_operations(&self) -> StoreResult<Vec<Operation>>;
    /// One operation.
    async fn get_operation(&self, id: &str) -> StoreResult<Operation>;
    /// The operation of this type, if there is one.
    async fn operation_of_kind(&self, kind: &str) -> StoreResult<Option<Operation>>;
    /// Adds an operation; `Conflict` if its type exists.
    async fn create_operation(&self, kind: &str, cost: f64) -> StoreResult<Operation>;
    /// Changes an operation; `Conflict` if the new type exists.
    async fn update_operation(&self, id: &str, patch: OperationPatch) -> StoreResult<Operation>;
    /// Removes an operation; `ForeignKey` while any record names it.
    async fn delete_operation(&self, id: &str) -> StoreResult<()>;

    /// Charges the user and writes the record, atomically; `InsufficientFunds` (and nothing
    /// changes) when the balance is below the cost, `NotFound` when the user is gone.
    async fn charge(&self, charge: Charge) -> StoreResult<Record>;
    /// Records not deleted, newest first: the user's own, or everyone's for `None`.
    async fn list_records(&self, user_id: Option<&str>) -> StoreResult<Vec<Record>>;
    /// One record not deleted.
    async fn get_record(&self, id: &str) -> StoreResult<Record>;
    /// Adds a record as an admin writes it; `ForeignKey` if its user or operation does not exist.
    async fn create_record(&self, record: Record) -> StoreResult<Record>;
    /// Changes a record.
    async fn update_record(&self, id: &str, patch: RecordPatch) -> StoreResult<Record>;
    /// Deletes a record softly.
    async fn delete_record(&self, id: &str) -> StoreResult<()>;
}
