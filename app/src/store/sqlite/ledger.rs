//! The calculator's tables (schema version 2). Every write goes through the group-commit
//! writer, so a charge (balance and record) is one statement pair inside one transaction, and
//! the `balance >= cost` condition of its `UPDATE` is checked by the only writer there is: no
//! interleaving can take a balance below 0.

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use super::{SqliteStore, conflict_as};
use crate::calc::ledger::Ledger;
use crate::calc::model::{
    CalcUser, Charge, Credentials, NewUser, Operation, OperationPatch, Record, RecordPatch, Role, UserPatch,
};
use crate::store::{StoreError, StoreResult};

const USER_COLUMNS: &str = "id, email, role, balance";
const RECORD_COLUMNS: &str = "id, operation_id, user_id, amount, user_balance, operation_response, date";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<CalcUser> {
    let role: String = row.get(2)?;
    Ok(CalcUser {
        id: row.get(0)?,
        email: row.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Client),
        balance: row.get(3)?,
    })
}

fn operation_from_row(row: &Row<'_>) -> rusqlite::Result<Operation> {
    Ok(Operation { id: row.get(0)?, kind: row.get(1)?, cost: row.get(2)? })
}

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        id: row.get(0)?,
        operation_id: row.get(1)?,
        user_id: row.get(2)?,
        amount: row.get(3)?,
        user_balance: row.get(4)?,
        operation_response: row.get(5)?,
        date: row.get(6)?,
    })
}

/// Maps a foreign-key violation to `ForeignKey`, a uniqueness violation to `Conflict`.
fn constraint(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            StoreError::ForeignKey
        }
        _ if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => conflict_as("already exists")(err),
        _ => StoreError::backend(err),
    }
}

fn found<T>(row: Option<T>) -> StoreResult<T> {
    row.ok_or(StoreError::NotFound)
}

fn user_by_id(c: &Connection, id: &str) -> StoreResult<CalcUser> {
    let sql = format!("SELECT {USER_COLUMNS} FROM calc_users WHERE id = ?1 AND deleted = 0");
    found(
        c.prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id], user_from_row).optional())
            .map_err(StoreError::backend)?,
    )
}

fn record_by_id(c: &Connection, id: &str) -> StoreResult<Record> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM calc_records WHERE id = ?1 AND deleted = 0");
    found(
        c.prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id], record_from_row).optional())
            .map_err(StoreError::backend)?,
    )
}

#[async_trait]
impl Ledger for SqliteStore {
    async fn seed_operations(&self, operations: &[(&str, f64)]) -> StoreResult<usize> {
        let operations: Vec<(String, f64)> =
            operations.iter().map(|(kind, cost)| ((*kind).to_owned(), *cost)).collect();
        self.write(move |c| {
            let mut added = 0;
            for (kind, cost) in operations {
                added += c
                    .prepare_cached("INSERT OR IGNORE INTO calc_operations (id, type, cost) VALUES (?1, ?2, ?3)")
                    .and_then(|mut s| s.execute(params![uuid::Uuid::new_v4().to_string(), kind, cost]))
                    .map_err(StoreError::backend)?;
            }
            Ok(added)
        })
        .await
    }

    async fn find_login(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM calc_users WHERE email_key = lower(?1)");
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row([email], |r| Ok(Credentials { user: user_from_row(r)?, password_hash: r.get(4)? }))
                .optional()
        })
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<CalcUser> {
        let id = uuid::Uuid::new_v4().to_string();
        self.write(move |c| {
            let sql = format!(
                "INSERT INTO calc_users (id, email, email_key, password_hash, role, balance)
                 VALUES (?1, ?2, lower(?2), ?3, ?4, ?5) RETURNING {USER_COLUMNS}"
            );
            c.prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_row(
                        params![id, user.email, user.password_hash, user.role.as_str(), user.balance],
                        user_from_row,
                    )
                })
                .map_err(constraint)
        })
        .await
    }

    async fn get_user(&self, id: &str) -> StoreResult<CalcUser> {
        let conn = self.readers.get().map_err(StoreError::backend)?;
        user_by_id(&conn, id)
    }

    async fn list_users(&self) -> StoreResult<Vec<CalcUser>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM calc_users WHERE deleted = 0 ORDER BY email_key");
        self.read(|c| c.prepare_cached(&sql)?.query_map([], user_from_row)?.collect())
    }

    async fn update_user(&self, id: &str, patch: UserPatch) -> StoreResult<CalcUser> {
        let id = id.to_owned();
        self.write(move |c| {
            let sql = format!(
                "UPDATE calc_users SET email = coalesce(?1, email), email_key = coalesce(lower(?1), email_key),
                 password_hash = coalesce(?2, password_hash), role = coalesce(?3, role), balance = coalesce(?4, balance)
                 WHERE id = ?5 AND deleted = 0 RETURNING {USER_COLUMNS}"
            );
            let role = patch.role.map(Role::as_str);
            found(
                c.prepare_cached(&sql)
                    .and_then(|mut s| {
                        s.query_row(params![patch.email, patch.password_hash, role, patch.balance, id], user_from_row)
                            .optional()
                    })
                    .map_err(constraint)?,
            )
        })
        .await
    }

    async fn delete_user(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            let changed = c
                .prepare_cached("UPDATE calc_users SET deleted = 1, email_key = NULL WHERE id = ?1 AND deleted = 0")
                .and_then(|mut s| s.execute([id]))
                .map_err(StoreError::backend)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn list_operations(&self) -> StoreResult<Vec<Operation>> {
        self.read(|c| {
            c.prepare_cached("SELECT id, type, cost FROM calc_operations ORDER BY type")?
                .query_map([], operation_from_row)?
                .collect()
        })
    }

    async fn get_operation(&self, id: &str) -> StoreResult<Operation> {
        found(self.read(|c| {
            c.prepare_cached("SELECT id, type, cost FROM calc_operations WHERE id = ?1")?
                .query_row([id], operation_from_row)
                .optional()
        })?)
    }

    async fn operation_of_kind(&self, kind: &str) -> StoreResult<Option<Operation>> {
        self.read(|c| {
            c.prepare_cached("SELECT id, type, cost FROM calc_operations WHERE type = ?1")?
                .query_row([kind], operation_from_row)
                .optional()
        })
    }

    async fn create_operation(&self, kind: &str, cost: f64) -> StoreResult<Operation> {
        let (id, kind) = (uuid::Uuid::new_v4().to_string(), kind.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO calc_operations (id, type, cost) VALUES (?1, ?2, ?3) RETURNING id, type, cost",
            )
            .and_then(|mut s| s.query_row(params![id, kind, cost], operation_from_row))
            .map_err(constraint)
        })
        .await
    }

    async fn update_operation(&self, id: &str, patch: OperationPatch) -> StoreResult<Operation> {
        let id = id.to_owned();
        self.write(move |c| {
            found(
                c.prepare_cached(
                    "UPDATE calc_operations SET type = coalesce(?1, type), cost = coalesce(?2, cost)
                     WHERE id = ?3 RETURNING id, type, cost",
                )
                .and_then(|mut s| s.query_row(params![patch.kind, patch.cost, id], operation_from_row).optional())
                .map_err(constraint)?,
            )
        })
        .await
    }

    async fn delete_operation(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            let removed = c
                .prepare_cached("DELETE FROM calc_operations WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(constraint)?;
            if removed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn charge(&self, charge: Charge) -> StoreResult<Record> {
        self.write(move |c| {
            let balance: Option<f64> = c
                .prepare_cached(
                    "UPDATE calc_users SET balance = balance - ?1 WHERE id = ?2 AND deleted = 0 AND balance >= ?1
                     RETURNING balance",
                )
                .and_then(|mut s| s.query_row(params![charge.cost, charge.user_id], |r| r.get(0)).optional())
                .map_err(StoreError::backend)?;
            let Some(user_balance) = balance else {
                user_by_id(c, &charge.user_id)?;
                return Err(StoreError::InsufficientFunds);
            };
            let record = Record {
                id: charge.record_id,
                operation_id: charge.operation_id,
                user_id: charge.user_id,
                amount: charge.cost,
                user_balance,
                operation_response: charge.response,
                date: charge.date,
            };
            insert_record(c, &record)?;
            Ok(record)
        })
        .await
    }

    async fn list_records(&self, user_id: Option<&str>) -> StoreResult<Vec<Record>> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM calc_records WHERE deleted = 0 AND (?1 IS NULL OR user_id = ?1)
             ORDER BY date DESC, id DESC"
        );
        self.read(|c| c.prepare_cached(&sql)?.query_map([user_id], record_from_row)?.collect())
    }

    async fn get_record(&self, id: &str) -> StoreResult<Record> {
        let conn = self.readers.get().map_err(StoreError::backend)?;
        record_by_id(&conn, id)
    }

    async fn create_record(&self, record: Record) -> StoreResult<Record> {
        self.write(move |c| insert_record(c, &record).map(|()| record)).await
    }

    async fn update_record(&self, id: &str, patch: RecordPatch) -> StoreResult<Record> {
        let id = id.to_owned();
        self.write(move |c| {
            let sql = format!(
                "UPDATE calc_records SET amount = coalesce(?1, amount), user_balance = coalesce(?2, user_balance),
                 operation_response = coalesce(?3, operation_response), date = coalesce(?4, date)
                 WHERE id = ?5 AND deleted = 0 RETURNING {RECORD_COLUMNS}"
            );
            found(
                c.prepare_cached(&sql)
                    .and_then(|mut s| {
                        s.query_row(
                            params![patch.amount, patch.user_balance, patch.operation_response, patch.date, id],
                            record_from_row,
                        )
                        .optional()
                    })
                    .map_err(StoreError::backend)?,
            )
        })
        .await
    }

    async fn delete_record(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            let changed = c
                .prepare_cached("UPDATE calc_records SET deleted = 1 WHERE id = ?1 AND deleted = 0")
                .and_then(|mut s| s.execute([id]))
                .map_err(StoreError::backend)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }
}

fn insert_record(c: &Connection, r: &Record) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO calc_records (id, operation_id, user_id, amount, user_balance, operation_response, date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![r.id, r.operation_id, r.user_id, r.amount, r.user_balance, r.operation_response, r.date])
    })
    .map(drop)
    .map_err(constraint)
}
