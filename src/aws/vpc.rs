//! `vpc`: the stack's VPC, with DNS hostnames on so that public instances get names.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use serde::{Deserialize, Serialize};

use super::tags::{Ec2Type, Tags};
use super::{
    Applied, Attributes, Cx, Hint, Live, NEW_EC2_ID, RELEASE, Refused, Stored, TypedKind, found, gone_is_fine,
    note_created, retrying, tags,
};

/// The `vpc` kind.
pub struct Vpc;

/// A `vpc`'s attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcAttrs {
    /// Its address range.
    pub cidr_block: String,
    /// Its tags.
    pub tags: Tags,
}

impl Attributes for VpcAttrs {
    const KIND: &'static str = "vpc";
    const UPDATABLE: &'static [&'static str] = &["tags"];
}

async fn enable_dns_hostnames(cx: &Cx, id: &str) -> anyhow::Result<Applied> {
    let modify = cx
        .ec2
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build());
    retrying(&[NEW_EC2_ID], || modify.clone().send()).await?;
    Ok(Applied::with_id(id))
}

#[async_trait]
impl TypedKind for Vpc {
    type Attrs = VpcAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &VpcAttrs) -> anyhow::Result<Applied> {
        let created = cx
            .ec2
            .create_vpc()
            .cidr_block(&attrs.cidr_block)
            .tag_specifications(tags::ec2_spec(&attrs.tags, address, ResourceType::Vpc))
            .send()
            .await
            .refused()?;
        let id = created.vpc().and_then(|v| v.vpc_id()).ok_or_else(|| anyhow::anyhow!("CreateVpc returned no id"))?;
        note_created(id);
        enable_dns_hostnames(cx, id).await
    }

    async fn adopt(&self, cx: &Cx, address: &str, _: &VpcAttrs, hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        match tags::adoptable(cx, Ec2Type::Vpc, address, hint).await? {
            Some(id) => enable_dns_hostnames(cx, &id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::Vpc, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &VpcAttrs,
        after: &VpcAttrs,
    ) -> anyhow::Result<Applied> {
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, VpcAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_vpcs().vpc_ids(id).send().await)? else { return Ok(None) };
        Ok(found
            .vpcs()
            .first()
            .map(|vpc| tags::ec2_live(vpc.tags()).attr("cidr_block", vpc.cidr_block().unwrap_or_default())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, VpcAttrs>) -> anyhow::Result<()> {
        gone_is_fine(retrying(&[RELEASE], || cx.ec2.delete_vpc().vpc_id(id).send()).await)
    }
}
