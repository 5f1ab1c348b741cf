//! The calculator in the single table:
//!
//! | data | pk | sk |
//! |---|---|---|
//! | user (with `balance`, `version`, `deleted`) | `CALC#USER` | id |
//! | claim on an email, while its user exists | `CALC#EMAIL` | lower-cased email |
//! | operation | `CALC#OP` | id |
//! | claim on an operation type | `CALC#OPTYPE` | type |
//! | record | `CALC#RECORD` | id (a UUIDv7: later records sort later) |
//!
//! A charge reads the user, then writes the new balance and the record in one transaction
//! on the condition that the user's `version` is still the one read: of concurrent charges
//! exactly one commits per version, the others read again and retry, so the balance
//! conditions hold under any concurrency and no record exists without its charge.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue as Av, ConditionCheck, Delete, TransactWriteItem, Update};

use super::{DynamoStore, Record as Item, record, s, text};
use crate::calc::ledger::Ledger;
use crate::calc::model::{
    CalcUser, Charge, Credentials, NewUser, Operation, OperationPatch, Record, RecordPatch, Role, UserPatch,
};
use crate::store::{StoreError, StoreResult};

const USER: &str = "CALC#USER";
const EMAIL: &str = "CALC#EMAIL";
const OPERATION: &str = "CALC#OP";
const OPERATION_TYPE: &str = "CALC#OPTYPE";
const RECORD: &str = "CALC#RECORD";

/// Charges tried before giving up when other charges of the same user keep winning.
const CHARGE_ATTEMPTS: u32 = 100;
/// Longest pause between two attempts of a charge.
const MAX_BACKOFF: Duration = Duration::from_millis(50);

fn real(value: f64) -> Av {
    Av::N(value.to_string())
}

fn number(item: &Item, field: &str) -> StoreResult<f64> {
    match item.get(field) {
        Some(Av::N(value)) => value.parse().map_err(StoreError::backend),
        _ => Err(StoreError::Backend(anyhow::anyhow!("item lacks number field `{field}`"))),
    }
}

fn is_deleted(item: &Item) -> bool {
    matches!(item.get("deleted"), Some(Av::Bool(true)))
}

fn to_user(item: &Item) -> StoreResult<CalcUser> {
    Ok(CalcUser {
        id: text(item, "sk")?,
        email: text(item, "email")?,
        role: Role::parse(&text(item, "role")?).unwrap_or(Role::Client),
        balance: number(item, "balance")?,
    })
}

fn to_operation(item: &Item) -> StoreResult<Operation> {
    Ok(Operation { id: text(item, "sk")?, kind: text(item, "type")?, cost: number(item, "cost")? })
}

fn to_record(item: &Item) -> StoreResult<Record> {
    Ok(Record {
        id: text(item, "sk")?,
        operation_id: text(item, "operation_id")?,
        user_id: text(item, "user_id")?,
        amount: number(item, "amount")?,
        user_balance: number(item, "user_balance")?,
        operation_response: text(item, "operation_response")?,
        date: text(item, "date")?,
    })
}

fn record_item(r: &Record) -> Item {
    record([
        ("pk", s(RECORD)),
        ("sk", s(&r.id)),
        ("operation_id", s(&r.operation_id)),
        ("user_id", s(&r.user_id)),
        ("amount", real(r.amount)),
        ("user_balance", real(r.user_balance)),
        ("operation_response", s(&r.operation_response)),
        ("date", s(&r.date)),
    ])
}

/// An `UPDATE ... SET` built from the fields given, with `#name`/`:name` placeholders.
#[derive(Default)]
struct Sets {
    parts: Vec<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, Av)>,
}

impl Sets {
    fn set(&mut self, field: &str, value: Option<Av>) {
        if let Some(value) = value {
            self.parts.push(format!("#{field} = :{field}"));
            self.names.push((format!("#{field}"), field.to_owned()));
            self.values.push((format!(":{field}"), value));
        }
    }

    /// An update of `(pk, sk)` that applies these sets if the item exists and is not deleted.
    fn update(self, store: &DynamoStore, pk: &str, sk: &str) -> StoreResult<Update> {
        let mut update = Update::builder()
            .table_name(&store.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(format!("SET {}", self.parts.join(", ")))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deleted)");
        for (placeholder, name) in self.names {
            update = update.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in self.values {
            update = update.expression_attribute_values(placeholder, value);
        }
        update.build().map_err(StoreError::backend)
    }
}

impl DynamoStore {
    fn delete_op(&self, pk: &str, sk: &str) -> StoreResult<TransactWriteItem> {
        let delete = Delete::builder().table_name(&self.table).key("pk", s(pk)).key("sk", s(sk)).build();
        Ok(TransactWriteItem::builder().delete(delete.map_err(StoreError::backend)?).build())
    }

    fn exists_check(&self, pk: &str, sk: &str) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A live (not deleted) item, or `NotFound`.
    async fn live(&self, pk: &str, sk: &str) -> StoreResult<Item> {
        self.get(pk, sk).await?.filter(|item| !is_deleted(item)).ok_or(StoreError::NotFound)
    }

    /// One charge attempt against the user as read; `Ok(None)` when the user changed meanwhile.
    async fn try_charge(&self, charge: &Charge) -> StoreResult<Option<Record>> {
        let user = self.live(USER, &charge.user_id).await?;
        let balance = number(&user, "balance")?;
        if balance < charge.cost {
            return Err(StoreError::InsufficientFunds);
        }
        let version = number(&user, "version")?;
        let user_balance = balance - charge.cost;
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(USER))
            .key("sk", s(&charge.user_id))
            .update_expression("SET balance = :balance, version = :next")
            .condition_expression("version = :version AND attribute_not_exists(deleted)")
            .expression_attribute_values(":balance", real(user_balance))
            .expression_attribute_values(":next", real(version + 1.0))
            .expression_attribute_values(":version", real(version))
            .build()
            .map_err(StoreError::backend)?;
        let record = Record {
            id: charge.record_id.clone(),
            operation_id: charge.operation_id.clone(),
            user_id: charge.user_id.clone(),
            amount: charge.cost,
            user_balance,
            operation_response: charge.response.clone(),
            date: charge.date.clone(),
        };
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.put(record_item(&record), "attribute_not_exists(pk)")?,
        ];
        Ok(self.transact(items).await?.then_some(record))
    }
}

#[async_trait]
impl Ledger for DynamoStore {
    async fn seed_operations(&self, operations: &[(&str, f64)]) -> StoreResult<usize> {
        let mut added = 0;
        for (kind, cost) in operations {
            let id = uuid::Uuid::new_v4().to_string();
            let claim = record([("pk", s(OPERATION_TYPE)), ("sk", s(*kind)), ("operation_id", s(&id))]);
            let operation = record([("pk", s(OPERATION)), ("sk", s(&id)), ("type", s(*kind)), ("cost", real(*cost))]);
            let items =
                vec![self.put(claim, "attribute_not_exists(pk)")?, self.put(operation, "attribute_not_exists(pk)")?];
            added += usize::from(self.transact(items).await?);
        }
        Ok(added)
    }

    async fn find_login(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let Some(claim) = self.get(EMAIL, &email.to_lowercase()).await? else {
            return Ok(None);
        };
        match self.live(USER, &text(&claim, "user_id")?).await {
            Ok(user) => Ok(Some(Credentials { user: to_user(&user)?, password_hash: text(&user, "password_hash")? })),
            Err(StoreError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<CalcUser> {
        let id = uuid::Uuid::new_v4().to_string();
        let email_key = user.email.to_lowercase();
        let claim = record([("pk", s(EMAIL)), ("sk", s(&email_key)), ("user_id", s(&id))]);
        let item = record([
            ("pk", s(USER)),
            ("sk", s(&id)),
            ("email", s(&user.email)),
            ("password_hash", s(&user.password_hash)),
            ("role", s(user.role.as_str())),
            ("balance", real(user.balance)),
            ("version", real(0.0)),
        ]);
        let items = vec![self.put(claim, "attribute_not_exists(pk)")?, self.put(item, "attribute_not_exists(pk)")?];
        if !self.transact(items).await? {
            return Err(StoreError::Conflict("email taken".into()));
        }
        Ok(CalcUser { id, email: user.email, role: user.role, balance: user.balance })
    }

    async fn get_user(&self, id: &str) -> StoreResult<CalcUser> {
        to_user(&self.live(USER, id).await?)
    }

    async fn list_users(&self) -> StoreResult<Vec<CalcUser>> {
        let mut users: Vec<CalcUser> = self
            .query_all(USER, true)
            .await?
            .iter()
            .filter(|item| !is_deleted(item))
            .map(to_user)
            .collect::<StoreResult<_>>()?;
        users.sort_by_key(|user| user.email.to_lowercase());
        Ok(users)
    }

    async fn update_user(&self, id: &str, patch: UserPatch) -> StoreResult<CalcUser> {
        let current = to_user(&self.live(USER, id).await?)?;
        let mut sets = Sets::default();
        sets.set("email", patch.email.as_deref().map(s));
        sets.set("password_hash", patch.password_hash.map(s));
        sets.set("role", patch.role.map(|role| s(role.as_str())));
        sets.set("balance", patch.balance.map(real));
        if sets.parts.is_empty() {
            return Ok(current);
        }
        let mut items = vec![TransactWriteItem::builder().update(sets.update(self, USER, id)?).build()];
        let new_key = patch.email.as_ref().map(|email| email.to_lowercase());
        let old_key = current.email.to_lowercase();
        if let Some(new_key) = new_key.filter(|key| *key != old_key) {
            items.push(self.delete_op(EMAIL, &old_key)?);
            let claim = record([("pk", s(EMAIL)), ("sk", s(new_key)), ("user_id", s(id))]);
            items.push(self.put(claim, "attribute_not_exists(pk)")?);
        }
        if !self.transact(items).await? {
            // The user vanished, or the new email is someone else's.
            self.live(USER, id).await?;
            return Err(StoreError::Conflict("email taken".into()));
        }
        self.get_user(id).await
    }

    async fn delete_user(&self, id: &str) -> StoreResult<()> {
        let user = to_user(&self.live(USER, id).await?)?;
        let mut sets = Sets::default();
        sets.set("deleted", Some(Av::Bool(true)));
        let items = vec![
            TransactWriteItem::builder().update(sets.update(self, USER, id)?).build(),
            self.delete_op(EMAIL, &user.email.to_lowercase())?,
        ];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn list_operations(&self) -> StoreResult<Vec<Operation>> {
        let mut operations: Vec<Operation> =
            self.query_all(OPERATION, true).await?.iter().map(to_operation).collect::<StoreResult<_>>()?;
        operations.sort_by(|a, b| a.kind.cmp(&b.kind));
        Ok(operations)
    }

    async fn get_operation(&self, id: &str) -> StoreResult<Operation> {
        to_operation(&self.live(OPERATION, id).await?)
    }

    async fn operation_of_kind(&self, kind: &str) -> StoreResult<Option<Operation>> {
        let Some(claim) = self.get(OPERATION_TYPE, kind).await? else {
            return Ok(None);
        };
        match self.get_operation(&text(&claim, "operation_id")?).await {
            Ok(operation) => Ok(Some(operation)),
            Err(StoreError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn create_operation(&self, kind: &str, cost: f64) -> StoreResult<Operation> {
        let id = uuid::Uuid::new_v4().to_string();
        let claim = record([("pk", s(OPERATION_TYPE)), ("sk", s(kind)), ("operation_id", s(&id))]);
        let item = record([("pk", s(OPERATION)), ("sk", s(&id)), ("type", s(kind)), ("cost", real(cost))]);
        let items = vec![self.put(claim, "attribute_not_exists(pk)")?, self.put(item, "attribute_not_exists(pk)")?];
        if !self.transact(items).await? {
            return Err(StoreError::Conflict("operation exists".into()));
        }
        Ok(Operation { id, kind: kind.to_owned(), cost })
    }

    async fn update_operation(&self, id: &str, patch: OperationPatch) -> StoreResult<Operation> {
        let current = self.get_operation(id).await?;
        let mut sets = Sets::default();
        sets.set("type", patch.kind.as_deref().map(s));
        sets.set("cost", patch.cost.map(real));
        if sets.parts.is_empty() {
            return Ok(current);
        }
        let mut items = vec![TransactWriteItem::builder().update(sets.update(self, OPERATION, id)?).build()];
        if let Some(kind) = patch.kind.as_ref().filter(|kind| **kind != current.kind) {
            items.push(self.delete_op(OPERATION_TYPE, &current.kind)?);
            let claim = record([("pk", s(OPERATION_TYPE)), ("sk", s(kind)), ("operation_id", s(id))]);
            items.push(self.put(claim, "attribute_not_exists(pk)")?);
        }
        if !self.transact(items).await? {
            self.get_operation(id).await?;
            return Err(StoreError::Conflict("operation exists".into()));
        }
        self.get_operation(id).await
    }

    async fn delete_operation(&self, id: &str) -> StoreResult<()> {
        let operation = self.get_operation(id).await?;
        let referenced =
            self.query_all(RECORD, true).await?.iter().any(|r| text(r, "operation_id").is_ok_and(|o| o == id));
        if referenced {
            return Err(StoreError::ForeignKey);
        }
        let items = vec![self.delete_op(OPERATION, id)?, self.delete_op(OPERATION_TYPE, &operation.kind)?];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn charge(&self, charge: Charge) -> StoreResult<Record> {
        for attempt in 0..CHARGE_ATTEMPTS {
            if let Some(record) = self.try_charge(&charge).await? {
                return Ok(record);
            }
            // Lost to another charge of the same user (or an earlier attempt of this one
            // committed although its answer was lost): look, then try again.
            if let Some(done) = self.get(RECORD, &charge.record_id).await? {
                return to_record(&done);
            }
            let ceiling = MAX_BACKOFF.min(Duration::from_millis(1 << attempt.min(6)));
            tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
        }
        Err(StoreError::Backend(anyhow::anyhow!(
            "the balance kept changing: no charge after {CHARGE_ATTEMPTS} attempts"
        )))
    }

    async fn list_records(&self, user_id: Option<&str>) -> StoreResult<Vec<Record>> {
        let mut records: Vec<Record> = self
            .query_all(RECORD, true)
            .await?
            .iter()
            .filter(|item| !is_deleted(item))
            .map(to_record)
            .filter(|r| r.as_ref().map_or(true, |r| user_id.is_none_or(|u| r.user_id == u)))
            .collect::<StoreResult<_>>()?;
        records.sort_by(|a, b| (&b.date, &b.id).cmp(&(&a.date, &a.id)));
        Ok(records)
    }

    async fn get_record(&self, id: &str) -> StoreResult<Record> {
        to_record(&self.live(RECORD, id).await?)
    }

    async fn create_record(&self, r: Record) -> StoreResult<Record> {
        let items = vec![
            self.exists_check(USER, &r.user_id)?,
            self.exists_check(OPERATION, &r.operation_id)?,
            self.put(record_item(&r), "attribute_not_exists(pk)")?,
        ];
        if self.transact(items).await? { Ok(r) } else { Err(StoreError::ForeignKey) }
    }

    async fn update_record(&self, id: &str, patch: RecordPatch) -> StoreResult<Record> {
        let current = self.get_record(id).await?;
        let mut sets = Sets::default();
        sets.set("amount", patch.amount.map(real));
        sets.set("user_balance", patch.user_balance.map(real));
        sets.set("operation_response", patch.operation_response.map(s));
        sets.set("date", patch.date.map(s));
        if sets.parts.is_empty() {
            return Ok(current);
        }
        let items = vec![TransactWriteItem::builder().update(sets.update(self, RECORD, id)?).build()];
        if !self.transact(items).await? {
            return Err(StoreError::NotFound);
        }
        self.get_record(id).await
    }

    async fn delete_record(&self, id: &str) -> StoreResult<()> {
        let mut sets = Sets::default();
        sets.set("deleted", Some(Av::Bool(true)));
        let items = vec![TransactWriteItem::builder().update(sets.update(self, RECORD, id)?).build()];
        if self.transact(items).await? { Ok(()) } else { Err(StoreError::NotFound) }
    }
}
