//! Table deletion. The DynamoDB API reference for DeleteTable: "the table is in the DELETING
//! state until DynamoDB completes the deletion", and a table of that name cannot be created
//! meanwhile (`ResourceInUseException`). For [`Strict::table_deletion`] after DeleteTable of a
//! table answered, CreateTable of it answers `ResourceInUseException` "Attempt to change a
//! resource which is still in use: Table is being deleted: …", and DescribeTable of it answers
//! the description DeleteTable returned, `DELETING`.
//!
//! [`Strict::table_deletion`]: super::Strict::table_deletion

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use serde_json::{Value, json};

use super::Rule;
use super::judge::{Behaviour, Refusal, Rewrite};
use crate::request::{AwsRequest, Service};

/// The tables being deleted: when their DeleteTable answered, and their description.
pub(super) struct TableDeletion {
    window: Duration,
    deleting: HashMap<String, (Instant, Value)>,
}

impl TableDeletion {
    /// Tables are deleted in `window`.
    pub(super) fn new(window: Duration) -> TableDeletion {
        TableDeletion { window, deleting: HashMap::new() }
    }

    /// The description of the table `call` names if it is being deleted at `now`.
    fn deleting(&self, call: &AwsRequest, now: Instant) -> Option<&Value> {
        let (deleted, description) = self.deleting.get(call.table_name()?)?;
        (now.saturating_duration_since(*deleted) < self.window).then_some(description)
    }
}

impl Behaviour for TableDeletion {
    fn refuse(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        if !call.is(Service::DynamoDb, "CreateTable") {
            return None;
        }
        self.deleting(call, now)?;
        Some(Refusal {
            rule: Rule::TableDeletion,
            code: "ResourceInUseException".to_string(),
            message: format!(
                "Attempt to change a resource which is still in use: Table is being deleted: {}",
                call.table_name().unwrap_or_default()
            ),
        })
    }

    fn answered(&mut self, call: &AwsRequest, answer: &str, now: Instant) {
        if !call.is(Service::DynamoDb, "DeleteTable") {
            return;
        }
        let (Some(table), Ok(mut answer)) = (call.table_name(), serde_json::from_str::<Value>(answer)) else { return };
        let Some(description) = answer.get_mut("TableDescription") else { return };
        description["TableStatus"] = json!("DELETING");
        self.deleting.insert(table.to_string(), (now, description.take()));
    }

    fn rewrite(&self, call: &AwsRequest, _status: StatusCode, _answer: &str, now: Instant) -> Option<Rewrite> {
        if !call.is(Service::DynamoDb, "DescribeTable") {
            return None;
        }
        let description = self.deleting(call, now)?;
        let body = json!({ "Table": description }).to_string();
        Some(Rewrite { rule: Rule::TableDeletion, status: StatusCode::OK, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::dynamodb;

    #[test]
    fn a_deleted_table_is_deleting_for_a_while() {
        let start = Instant::now();
        let mut rule = TableDeletion::new(Duration::from_secs(5));
        let create = dynamodb("CreateTable", json!({ "TableName": "t" }));
        assert_eq!(rule.refuse(&create, start), None);
        rule.answered(
            &dynamodb("DeleteTable", json!({ "TableName": "t" })),
            include_str!("../../testdata/DeleteTable.json"),
            start,
        );
        let refusal = rule.refuse(&create, start + Duration::from_secs(4)).unwrap();
        assert_eq!(refusal.code, "ResourceInUseException");
        assert_eq!(refusal.message, "Attempt to change a resource which is still in use: Table is being deleted: t");
        assert_eq!(rule.refuse(&dynamodb("CreateTable", json!({ "TableName": "other" })), start), None);
        let describe = dynamodb("DescribeTable", json!({ "TableName": "t" }));
        let not_found = r#"{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"}"#;
        let rewrite = rule.rewrite(&describe, StatusCode::BAD_REQUEST, not_found, start).unwrap();
        assert_eq!(rewrite.status, StatusCode::OK);
        let table: Value = serde_json::from_str(&rewrite.body).unwrap();
        assert_eq!(table["Table"]["TableStatus"], "DELETING");
        assert_eq!(table["Table"]["TableArn"], "arn:aws:dynamodb:us-east-1:123456789012:table/t");
        assert_eq!(rule.rewrite(&describe, StatusCode::BAD_REQUEST, not_found, start + Duration::from_secs(5)), None);
        assert_eq!(rule.refuse(&create, start + Duration::from_secs(5)), None);
    }
}
