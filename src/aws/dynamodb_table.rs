//! `dynamodb_table`: the table every instance shares (key `pk`/`sk`, on-demand billing),
//! the layout `cloudcomp-app`'s DynamoDB store expects.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus, Tag,
};

use super::{Applied, Attrs, Cx, Kind, Live, found, gone_is_fine, poll, tags, text};

/// The `dynamodb_table` kind.
pub struct DynamodbTable;

async fn until_active(cx: &Cx, name: &str, arn: &str) -> anyhow::Result<Applied> {
    poll("the table to become active", || async {
        let table = cx.dynamodb.describe_table().table_name(name).send().await?;
        Ok(table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active))
    })
    .await?;
    Ok(Applied::with_id(name).output("name", name).output("arn", arn))
}

#[async_trait]
impl Kind for DynamodbTable {
    fn name(&self) -> &'static str {
        "dynamodb_table"
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let name = text(attrs, "name")?;
        let key = |field: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(field).key_type(kind).build();
        let attr = |field: &str| {
            AttributeDefinition::builder().attribute_name(field).attribute_type(ScalarAttributeType::S).build()
        };
        let (hash, range) = (text(attrs, "hash_key")?, text(attrs, "range_key")?);
        let tags = tags::pairs(attrs, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(hash, KeyType::Hash)?)
            .key_schema(key(range, KeyType::Range)?)
            .attribute_definitions(attr(hash)?)
            .attribute_definitions(attr(range)?)
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await?;
        let arn = created.table_description().and_then(|t| t.table_arn()).unwrap_or_default();
        until_active(cx, name, arn).await
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
        let name = text(attrs, "name")?;
        let Some(found) = found(cx.dynamodb.describe_table().table_name(name).send().await)? else { return Ok(None) };
        let arn = found.table().and_then(|t| t.table_arn()).unwrap_or_default();
        until_active(cx, name, arn).await.map(Some)
    }

    async fn update(
        &self,
        _cx: &Cx,
        _address: &str,
        id: &str,
        _before: &Attrs,
        _after: &Attrs,
    ) -> anyhow::Result<Applied> {
        // Billing is always on demand and tags are set at creation; nothing else changes in place.
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.dynamodb.describe_table().table_name(id).send().await)? else { return Ok(None) };
        let Some(table) = found.table() else { return Ok(None) };
        let tags =
            cx.dynamodb.list_tags_of_resource().resource_arn(table.table_arn().unwrap_or_default()).send().await?;
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map_or("PROVISIONED", |m| m.as_str());
        Ok(Some(
            Live::tagged(tags.tags().iter().map(|t| (t.key(), t.value())))
                .attr("billing_mode", billing)
                .detail("status", table.table_status().map(|s| s.as_str()).unwrap_or_default())
                .detail("items", table.item_count().unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.dynamodb.delete_table().table_name(id).send().await)
    }
}
