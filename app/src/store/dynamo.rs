//! DynamoDB backend: one table shared by every instance behind the load balancer.
//!
//! Single-table design. The key is (`pk`, `sk`), both strings; ids are zero-padded so that
//! the sort key orders them numerically:
//!
//! | data | pk | sk |
//! |---|---|---|
//! | seed-000 account | `ACCOUNT` | username |
//! | audit entry | `LOG` | seq |
//! | id counter | `SEQ` | `log` / `person` / `item` |
//! | person | `PERSON` | id |
//! | unique email | `EMAIL` | email (as normalised by the route) |
//! | login user | `USER` | username |
//! | item | `ITEM#<owner>` | id |
//! | rate-limit state | `RATELIMIT#<group>#<client ip>` | `GCRA` (see [`ratelimit`]) |
//!
//! Uniqueness is enforced with conditional writes; a person and the claim on their email
//! are one transaction. The shared state *is* the newest audit entry: an update takes the
//! next sequence number from an atomic counter and writes one item, so the state and its
//! log can never disagree, concurrent updates never conflict or retry, and the update with
//! the highest sequence number is the state. Every read is strongly consistent,
//! so a write through one instance is seen by the next request on any other.

mod ledger;
mod ratelimit;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, Put, ReturnValue, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TransactWriteItem,
};

use super::gcra::{Gcra, Micros, Verdict};
use super::{AuditEntry, AuditPage, AuthUser, Item, ItemPatch, Person, SharedState, Store, StoreError, StoreResult};

type Record = HashMap<String, Av>;

/// Ids tried before giving up on an insert.
const ID_ATTEMPTS: usize = 16;

/// Seconds to wait for a table this instance created to become active.
const TABLE_ACTIVE_POLLS: usize = 120;

/// Longest sort key DynamoDB accepts, in bytes.
const MAX_SORT_KEY_BYTES: usize = 1024;

/// The DynamoDB store.
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store over `table`, reached with the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    /// Creates the table (on-demand billing, `pk`/`sk` string key, TTL on
    /// [`ratelimit::TTL_ATTRIBUTE`]) unless it exists.
    pub async fn ensure_table(&self) -> anyhow::Result<()> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => return Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(err) => return Err(err.into()),
        }
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .send()
            .await;
        match created {
            Ok(_) => self.enable_ttl().await,
            // Another instance created it first.
            Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Waits for the new table to be active, then lets DynamoDB delete expired rate-limit items.
    async fn enable_ttl(&self) -> anyhow::Result<()> {
        for _ in 0..TABLE_ACTIVE_POLLS {
            let described = self.client.describe_table().table_name(&self.table).send().await?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                let ttl = TimeToLiveSpecification::builder()
                    .attribute_name(ratelimit::TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()?;
                self.client
                    .update_time_to_live()
                    .table_name(&self.table)
                    .time_to_live_specification(ttl)
                    .send()
                    .await?;
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        anyhow::bail!("the table {} is not active after {TABLE_ACTIVE_POLLS} s", self.table)
    }

    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Record>> {
        if !is_storable_key(sk) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(out.item)
    }

    /// Every record under one partition key, in sort-key order (`ascending`) or the reverse.
    async fn query_all(&self, pk: &str, ascending: bool) -> StoreResult<Vec<Record>> {
        let mut records = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(ascending)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            records.extend(page.map_err(StoreError::backend)?.items.unwrap_or_default());
        }
        Ok(records)
    }

    /// Takes the next value of a named counter.
    async fn next_id(&self, name: &str) -> StoreResult<i64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("SEQ"))
            .key("sk", s(name))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", Av::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::backend)?;
        number(out.attributes.as_ref().unwrap_or(&HashMap::new()), "value")
    }

    /// Writes the record `make(id)` under the next id of `counter`. Should the id be taken
    /// (moto's counters are not atomic under concurrent requests; DynamoDB's are), takes
    /// the next one.
    async fn insert_with_new_id(&self, counter: &str, make: impl Fn(i64) -> Record) -> StoreResult<i64> {
        for _ in 0..ID_ATTEMPTS {
            let id = self.next_id(counter).await?;
            match self.put_new(make(id), "id taken").await {
                Ok(()) => return Ok(id),
                Err(StoreError::Conflict(_)) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(StoreError::Backend(anyhow::anyhow!("no free `{counter}` id after {ID_ATTEMPTS} attempts")))
    }

    /// Writes `put` only if no record has its key; `Conflict(message)` otherwise.
    async fn put_new(&self, record: Record, message: &str) -> StoreResult<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::Conflict(message.to_string()))
            }
            Err(err) => Err(StoreError::backend(err)),
        }
    }

    /// Deletes one record; `NotFound` if it does not exist.
    async fn delete_existing(&self, pk: &str, sk: &str) -> StoreResult<()> {
        if !is_storable_key(sk) {
            return Err(StoreError::NotFound);
        }
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::NotFound)
            }
            Err(err) => Err(StoreError::backend(err)),
        }
    }

    /// Runs a transaction; `Ok(false)` when a condition in it failed.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> StoreResult<bool> {
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(err)) if err.err().is_transaction_canceled_exception() => Ok(false),
            Err(err) => Err(StoreError::backend(err)),
        }
    }

    fn put(&self, record: Record, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression(condition)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// Whether any record can have the sort key `sk`: DynamoDB refuses an empty or over-long
/// key with a validation error, so a look-up by one (a login name, a path parameter) finds
/// nothing rather than fails.
fn is_storable_key(sk: &str) -> bool {
    !sk.is_empty() && sk.len() <= MAX_SORT_KEY_BYTES
}

fn s(value: impl Into<String>) -> Av {
    Av::S(value.into())
}

fn n(value: i64) -> Av {
    Av::N(value.to_string())
}

fn padded(id: i64) -> String {
    format!("{id:020}")
}

fn record<const N: usize>(fields: [(&str, Av); N]) -> Record {
    fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn text(record: &Record, field: &str) -> StoreResult<String> {
    match record.get(field) {
        Some(Av::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Backend(anyhow::anyhow!("record lacks string field `{field}`"))),
    }
}

fn optional_text(record: &Record, field: &str) -> Option<String> {
    match record.get(field) {
        Some(Av::S(value)) => Some(value.clone()),
        _ => None,
    }
}

fn number(record: &Record, field: &str) -> StoreResult<i64> {
    match record.get(field) {
        Some(Av::N(value)) => value.parse().map_err(StoreError::backend),
        _ => Err(StoreError::Backend(anyhow::anyhow!("record lacks number field `{field}`"))),
    }
}

/// When an item written before items had timestamps was created and updated, as far as
/// anyone can tell.
const UNKNOWN_TIME: &str = "1970-01-01T00:00:00";

fn to_item(record: &Record) -> StoreResult<Item> {
    let time = |field| optional_text(record, field).unwrap_or_else(|| UNKNOWN_TIME.to_string());
    Ok(Item {
        name: text(record, "name")?,
        description: optional_text(record, "description"),
        id: number(record, "id")?,
        created_at: time("created_at"),
        updated_at: time("updated_at"),
    })
}

fn to_person(record: &Record) -> StoreResult<Person> {
    Ok(Person { id: number(record, "id")?, name: text(record, "name")?, email: text(record, "email")? })
}

fn item_pk(owner: &str) -> String {
    format!("ITEM#{owner}")
}

#[async_trait]
impl Store for DynamoStore {
    async fn add_account(&self, username: &str, password_sha1: &str) -> StoreResult<()> {
        let account = record([("pk", s("ACCOUNT")), ("sk", s(username)), ("password_sha1", s(password_sha1))]);
        self.put_new(account, "user already exists").await
    }

    async fn remove_account(&self, username: &str) -> StoreResult<()> {
        self.delete_existing("ACCOUNT", username).await
    }

    async fn account_exists(&self, username: &str) -> StoreResult<bool> {
        Ok(self.get("ACCOUNT", username).await?.is_some())
    }

    async fn list_accounts(&self) -> StoreResult<Vec<String>> {
        self.query_all("ACCOUNT", true).await?.iter().map(|r| text(r, "sk")).collect()
    }

    async fn shared_state(&self) -> StoreResult<Arc<SharedState>> {
        let newest = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("LOG"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(Arc::new(match newest.items().first() {
            Some(entry) => SharedState {
                counter: number(entry, "counter")?,
                message: text(entry, "message")?,
                updated_at: Some(text(entry, "timestamp")?),
            },
            None => SharedState { counter: 0, message: "Initial state".into(), updated_at: None },
        }))
    }

    async fn update_shared_state(&self, counter: i64, message: &str, at: &str) -> StoreResult<SharedState> {
        self.insert_with_new_id("log", |seq| {
            record([
                ("pk", s("LOG")),
                ("sk", s(padded(seq))),
                ("id", n(seq)),
                ("counter", n(counter)),
                ("message", s(message)),
                ("timestamp", s(at)),
            ])
        })
        .await?;
        Ok(SharedState { counter, message: message.to_string(), updated_at: Some(at.to_string()) })
    }

    async fn audit_log(&self, offset: u64, limit: u64) -> StoreResult<AuditPage> {
        let total = match self.get("SEQ", "log").await? {
            Some(counter) => number(&counter, "value")?.max(0).unsigned_abs(),
            None => 0,
        };
        if offset >= total || limit == 0 {
            return Ok(AuditPage { total, entries: Vec::new() });
        }
        let newest = total - offset;
        let oldest = newest.saturating_sub(limit - 1).max(1);
        let as_id = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s("LOG"))
            .expression_attribute_values(":lo", s(padded(as_id(oldest))))
            .expression_attribute_values(":hi", s(padded(as_id(newest))))
            .scan_index_forward(false)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let entries = out
            .items()
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: number(r, "id")?,
                    counter: number(r, "counter")?,
                    message: text(r, "message")?,
                    timestamp: text(r, "timestamp")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(AuditPage { total, entries })
    }

    async fn add_person(&self, name: &str, email: &str) -> StoreResult<Person> {
        for _ in 0..ID_ATTEMPTS {
            let id = self.next_id("person").await?;
            let claim = record([("pk", s("EMAIL")), ("sk", s(email)), ("id", n(id))]);
            let person = record([
                ("pk", s("PERSON")),
                ("sk", s(padded(id))),
                ("id", n(id)),
                ("name", s(name)),
                ("email", s(email)),
            ]);
            let items =
                vec![self.put(claim, "attribute_not_exists(pk)")?, self.put(person, "attribute_not_exists(pk)")?];
            if self.transact(items).await? {
                return Ok(Person { id, name: name.to_string(), email: email.to_string() });
            }
            if self.get("EMAIL", email).await?.is_some() {
                return Err(StoreError::Conflict("email already registered".into()));
            }
            // The email is free: the id collided (see `insert_with_new_id`); take another.
        }
        Err(StoreError::Backend(anyhow::anyhow!("no free person id after {ID_ATTEMPTS} attempts")))
    }

    async fn list_people(&self) -> StoreResult<Vec<Person>> {
        self.query_all("PERSON", true).await?.iter().map(to_person).collect()
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<AuthUser>> {
        let Some(user) = self.get("USER", username).await? else {
            return Ok(None);
        };
        Ok(Some(AuthUser { username: username.to_string(), password_hash: text(&user, "password_hash")? }))
    }

    async fn add_user_if_none(&self, user: &AuthUser) -> StoreResult<()> {
        let any = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("USER"))
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        if any.count() > 0 {
            return Ok(());
        }
        let record = record([("pk", s("USER")), ("sk", s(&user.username)), ("password_hash", s(&user.password_hash))]);
        match self.put_new(record, "user exists").await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn create_item(&self, owner: &str, name: &str, description: Option<&str>, at: &str) -> StoreResult<Item> {
        let id = self
            .insert_with_new_id("item", |id| {
                let mut item = record([
                    ("pk", s(item_pk(owner))),
                    ("sk", s(padded(id))),
                    ("id", n(id)),
                    ("name", s(name)),
                    ("owner", s(owner)),
                    ("created_at", s(at)),
                    ("updated_at", s(at)),
                ]);
                if let Some(description) = description {
                    item.insert("description".into(), s(description));
                }
                item
            })
            .await?;
        Ok(Item {
            name: name.to_string(),
            description: description.map(str::to_string),
            id,
            created_at: at.to_string(),
            updated_at: at.to_string(),
        })
    }

    async fn list_items(&self, owner: &str) -> StoreResult<Vec<Item>> {
        self.query_all(&item_pk(owner), false).await?.iter().map(to_item).collect()
    }

    async fn get_item(&self, owner: &str, id: i64) -> StoreResult<Item> {
        to_item(&self.get(&item_pk(owner), &padded(id)).await?.ok_or(StoreError::NotFound)?)
    }

    async fn update_item(&self, owner: &str, id: i64, patch: ItemPatch, at: &str) -> StoreResult<Item> {
        // One write, made only if a value differs; a refused condition means "no such
        // item" or "nothing to change", which a read tells apart.
        let (mut sets, mut differs) = (vec!["updated_at = :at"], Vec::new());
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(item_pk(owner)))
            .key("sk", s(padded(id)))
            .expression_attribute_values(":at", s(at))
            .return_values(ReturnValue::AllNew);
        if let Some(name) = patch.name {
            sets.push("#n = :n");
            differs.push("#n <> :n");
            request = request.expression_attribute_names("#n", "name").expression_attribute_values(":n", s(name));
        }
        if let Some(description) = patch.description {
            sets.push("#d = :d");
            differs.push("attribute_not_exists(#d) OR #d <> :d");
            request = request
                .expression_attribute_names("#d", "description")
                .expression_attribute_values(":d", s(description));
        }
        if differs.is_empty() {
            return self.get_item(owner, id).await;
        }
        let condition = format!("attribute_exists(pk) AND ({})", differs.join(" OR "));
        match request.update_expression(format!("SET {}", sets.join(", "))).condition_expression(condition).send().await
        {
            Ok(out) => to_item(out.attributes.as_ref().ok_or(StoreError::NotFound)?),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                self.get_item(owner, id).await
            }
            Err(err) => Err(StoreError::backend(err)),
        }
    }

    async fn delete_item(&self, owner: &str, id: i64) -> StoreResult<()> {
        self.delete_existing(&item_pk(owner), &padded(id)).await
    }

    async fn rate_limit(&self, key: &str, rule: Gcra, now: Micros) -> StoreResult<Verdict> {
        self.decide_rate(key, rule, now).await
    }
}
