//! `dynamodb_table`: the table every instance shares (key `pk`/`sk`, on-demand billing),
//! the layout `cloudcomp-app`'s DynamoDB store expects. A deleted table stays `DELETING`
//! for a while, and a table of that name cannot be created until it is gone: deletion
//! waits for it, and creation waits out one still being deleted.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus, Tag,
    TimeToLiveSpecification,
};

use serde::{Deserialize, Serialize};

use super::tags::{TagChange, Tags};
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine, note_created, poll,
    retrying, tags,
};

/// The `dynamodb_table` kind.
pub struct DynamodbTable;

/// A `dynamodb_table`'s attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamodbTableAttrs {
    /// Its name, unique in the region.
    pub name: String,
    /// Its partition key.
    pub hash_key: String,
    /// Its sort key.
    pub range_key: String,
    /// How it is billed (`PAY_PER_REQUEST`).
    pub billing_mode: String,
    /// The attribute items expire by (absent from states written before it was).
    #[serde(default)]
    pub ttl_attribute: String,
    /// Its tags.
    pub tags: Tags,
}

impl Attributes for DynamodbTableAttrs {
    const KIND: &'static str = "dynamodb_table";
    const UPDATABLE: &'static [&'static str] = &["billing_mode", "ttl_attribute", "tags"];
}

/// A table of the same name still being deleted (DynamoDB answers `ResourceInUseException`).
const STILL_DELETING: CatchUp = CatchUp {
    codes: &["ResourceInUseException"],
    message: &["being deleted", "DELETING"],
    patience: Duration::from_secs(10 * 60),
    waiting_for: "the table's previous incarnation to be deleted",
};

/// The table's status, `None` once it is gone.
async fn status(cx: &Cx, name: &str) -> anyhow::Result<Option<TableStatus>> {
    let found = found(cx.dynamodb.describe_table().table_name(name).send().await)?;
    Ok(found.and_then(|f| f.table().and_then(|t| t.table_status().cloned())))
}

async fn until_active(cx: &Cx, name: &str, arn: &str) -> anyhow::Result<Applied> {
    poll("the table to become active", || async { Ok(status(cx, name).await? == Some(TableStatus::Active)) }).await?;
    Ok(Applied::with_id(name).output("name", name).output("arn", arn).output("index_arn", format!("{arn}/index/*")))
}

/// Lets DynamoDB expire items whose `attribute` (epoch seconds) has passed: the app's
/// rate-limit counters.
async fn expire_by(cx: &Cx, name: &str, attribute: &str) -> anyhow::Result<()> {
    let described = cx.dynamodb.describe_time_to_live().table_name(name).send().await.refused()?;
    let current = described.time_to_live_description();
    let enabled = current.and_then(|d| d.time_to_live_status()).is_some_and(|s| s.as_str() == "ENABLED");
    if enabled && current.and_then(|d| d.attribute_name()) == Some(attribute) {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build()?;
    cx.dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(specification)
        .send()
        .await
        .refused()?;
    Ok(())
}

async fn until_deleted(cx: &Cx, name: &str) -> anyhow::Result<()> {
    poll("the table to be deleted", || async { Ok(status(cx, name).await?.is_none()) }).await
}

#[async_trait]
impl TypedKind for DynamodbTable {
    type Attrs = DynamodbTableAttrs;

    fn expected_duration(&self) -> Duration {
        // A table is `CREATING` for seconds.
        Duration::from_secs(10)
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &DynamodbTableAttrs) -> anyhow::Result<Applied> {
        let name = &attrs.name;
        if status(cx, name).await? == Some(TableStatus::Deleting) {
            until_deleted(cx, name).await?;
        }
        let key = |field: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(field).key_type(kind).build();
        let attr = |field: &str| {
            AttributeDefinition::builder().attribute_name(field).attribute_type(ScalarAttributeType::S).build()
        };
        let (hash, range) = (&attrs.hash_key, &attrs.range_key);
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let create = cx
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(hash, KeyType::Hash)?)
            .key_schema(key(range, KeyType::Range)?)
            .attribute_definitions(attr(hash)?)
            .attribute_definitions(attr(range)?)
            .set_tags(Some(tags.collect::<Result<_, _>>()?));
        let created = retrying(&[STILL_DELETING], || create.clone().send()).await?;
        note_created(name);
        let arn = created.table_description().and_then(|t| t.table_arn()).unwrap_or_default();
        let applied = until_active(cx, name, arn).await?;
        expire_by(cx, name, &attrs.ttl_attribute).await?;
        Ok(applied)
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &DynamodbTableAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let name = &attrs.name;
        let Some(found) = found(cx.dynamodb.describe_table().table_name(name).send().await)? else { return Ok(None) };
        let Some(table) = found.table() else { return Ok(None) };
        if table.table_status() == Some(&TableStatus::Deleting) {
            return Ok(None);
        }
        let applied = until_active(cx, name, table.table_arn().unwrap_or_default()).await?;
        expire_by(cx, name, &attrs.ttl_attribute).await?;
        Ok(Some(applied))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &DynamodbTableAttrs,
        after: &DynamodbTableAttrs,
    ) -> anyhow::Result<Applied> {
        if before.billing_mode != after.billing_mode {
            let update = cx.dynamodb.update_table().table_name(id).billing_mode(BillingMode::PayPerRequest);
            update.send().await.refused()?;
        }
        let described = cx.dynamodb.describe_table().table_name(id).send().await.refused()?;
        let arn = described.table().and_then(|t| t.table_arn()).unwrap_or_default().to_string();
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            if !change.removed.is_empty() {
                let untag = cx.dynamodb.untag_resource().resource_arn(&arn);
                untag.set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            let tag = cx.dynamodb.tag_resource().resource_arn(&arn);
            tag.set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        let applied = until_active(cx, id, &arn).await?;
        if before.ttl_attribute != after.ttl_attribute {
            expire_by(cx, id, &after.ttl_attribute).await?;
        }
        Ok(applied)
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, DynamodbTableAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.dynamodb.describe_table().table_name(id).send().await)? else { return Ok(None) };
        let Some(table) = found.table() else { return Ok(None) };
        if table.table_status() == Some(&TableStatus::Deleting) {
            return Ok(None);
        }
        let tags = cx
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(table.table_arn().unwrap_or_default())
            .send()
            .await
            .refused()?;
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map_or("PROVISIONED", |m| m.as_str());
        Ok(Some(
            Live::tagged(tags.tags().iter().map(|t| (t.key(), t.value())))
                .attr("billing_mode", billing)
                .detail("status", table.table_status().map(|s| s.as_str()).unwrap_or_default())
                .detail("items", table.item_count().unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, DynamodbTableAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.dynamodb.delete_table().table_name(id).send().await)?;
        until_deleted(cx, id).await
    }
}
