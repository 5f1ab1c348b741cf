//! Rate-limit state in the shared table: one item per key, holding its GCRA TAT.
//!
//! | pk | sk | attributes |
//! |---|---|---|
//! | `RATELIMIT#<group>#<client ip>` | `GCRA` | `tat` (N, µs since the epoch), `expires_at` (N, s since the epoch) |
//!
//! `expires_at` is the table's TTL attribute: past it the key is as good as unseen, so
//! DynamoDB may delete it whenever it likes (an expired item not yet deleted counts as
//! unseen all the same, since a TAT in the past does). One item per key keeps the keys
//! spread over partitions.
//!
//! Every decision is one conditional write, with no read before it, so instances never
//! overwrite each other's counts and never retry in a herd:
//! 1. a busy key: `SET tat = tat + interval` if `now < tat <= last passing TAT`, atomic in
//!    DynamoDB however many instances count at once;
//! 2. an idle or unseen key: put `tat = now + interval` if the item is absent or its TAT
//!    has passed.
//!
//! A failed condition returns the item as it was (`ReturnValuesOnConditionCheckFailure`),
//! which says which case holds: over the limit (refused, nothing written), idle (try 2), or
//! busy again after a concurrent write (try 1).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{DynamoStore, Record, n, number, record, s};
use crate::store::gcra::{Gcra, Micros, Verdict};
use crate::store::{StoreError, StoreResult};

/// Conditional writes tried before giving up: each failure means another instance counted
/// a request for the same key in between, so a few always suffice.
const ATTEMPTS: usize = 8;

/// The sort key of every rate-limit item.
const SORT_KEY: &str = "GCRA";

/// The attribute DynamoDB's TTL deletes items by.
pub(in crate::store) const TTL_ATTRIBUTE: &str = "expires_at";

/// What a conditional write found.
enum Outcome {
    /// The decision is made.
    Decided(Verdict),
    /// The item is absent or its TAT has passed.
    Idle,
    /// Another instance made the key busy in between.
    Busy,
}

impl DynamoStore {
    /// Counts one request for `key` at `now` under `rule`.
    pub(super) async fn decide_rate(&self, key: &str, rule: Gcra, now: Micros) -> StoreResult<Verdict> {
        let pk = format!("RATELIMIT#{key}");
        let mut busy = true;
        for _ in 0..ATTEMPTS {
            let outcome =
                if busy { self.count_busy(&pk, rule, now).await? } else { self.start(&pk, rule, now).await? };
            match outcome {
                Outcome::Decided(verdict) => return Ok(verdict),
                Outcome::Idle => busy = false,
                Outcome::Busy => busy = true,
            }
        }
        Err(StoreError::Backend(anyhow::anyhow!("rate limit `{key}`: no decision after {ATTEMPTS} conditional writes")))
    }

    /// Adds one interval to a busy key's TAT if a request still passes.
    async fn count_busy(&self, pk: &str, rule: Gcra, now: Micros) -> StoreResult<Outcome> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(SORT_KEY))
            .update_expression("SET tat = tat + :interval, #ttl = :expires")
            .condition_expression("tat > :now AND tat <= :last")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":interval", n(rule.interval()))
            .expression_attribute_values(":expires", n(expiry(rule.last_passing_tat(now) + rule.interval())))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":last", n(rule.last_passing_tat(now)))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match updated {
            Ok(out) => {
                let tat = number(out.attributes.as_ref().unwrap_or(&Record::new()), "tat")?;
                Ok(Outcome::Decided(Verdict::Allowed { tat }))
            }
            Err(err) => Ok(match stored_tat(err)? {
                Some(tat) if tat > now => match rule.decide(Some(tat), now) {
                    refused @ Verdict::Refused { .. } => Outcome::Decided(refused),
                    Verdict::Allowed { .. } => Outcome::Busy,
                },
                _ => Outcome::Idle,
            }),
        }
    }

    /// Starts an idle or unseen key afresh with this request.
    async fn start(&self, pk: &str, rule: Gcra, now: Micros) -> StoreResult<Outcome> {
        let tat = now + rule.interval();
        let item = record([("pk", s(pk)), ("sk", s(SORT_KEY)), ("tat", n(tat)), (TTL_ATTRIBUTE, n(expiry(tat)))]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR tat <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Outcome::Decided(Verdict::Allowed { tat })),
            Err(err) => stored_tat(err).map(|_| Outcome::Busy),
        }
    }
}

/// The TAT of the item a failed condition returned (`None`: there was no item); any other
/// error is the backend's.
fn stored_tat<E: WriteError>(err: SdkError<E, HttpResponse>) -> StoreResult<Option<Micros>> {
    match err {
        SdkError::ServiceError(failed) => match failed.into_err().into_failed_condition() {
            Ok(item) => item.map(|item| number(&item, "tat")).transpose(),
            Err(other) => Err(StoreError::backend(other)),
        },
        other => Err(StoreError::backend(other)),
    }
}

/// The error of a conditional write.
trait WriteError: std::error::Error + Send + Sync + Sized + 'static {
    /// The item a failed condition saw, or `Err(self)` when the condition did not fail.
    fn into_failed_condition(self) -> Result<Option<Record>, Self>;
}

impl WriteError for UpdateItemError {
    fn into_failed_condition(self) -> Result<Option<Record>, Self> {
        match self {
            UpdateItemError::ConditionalCheckFailedException(failed) => Ok(failed.item),
            other => Err(other),
        }
    }
}

impl WriteError for PutItemError {
    fn into_failed_condition(self) -> Result<Option<Record>, Self> {
        match self {
            PutItemError::ConditionalCheckFailedException(failed) => Ok(failed.item),
            other => Err(other),
        }
    }
}

/// The TTL (whole seconds since the epoch) of a key whose TAT is at most `tat`.
fn expiry(tat: Micros) -> i64 {
    tat.div_euclid(1_000_000) + 1
}
