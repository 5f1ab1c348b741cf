//! `vpc`: the stack's VPC, with DNS hostnames on so that public instances get names.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};

use super::{Applied, Attrs, Cx, Kind, Live, found, gone_is_fine, tags, text};

/// The `vpc` kind.
pub struct Vpc;

async fn enable_dns_hostnames(cx: &Cx, id: &str) -> anyhow::Result<Applied> {
    cx.ec2
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await?;
    Ok(Applied::with_id(id))
}

#[async_trait]
impl Kind for Vpc {
    fn name(&self) -> &'static str {
        "vpc"
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let created = cx
            .ec2
            .create_vpc()
            .cidr_block(text(attrs, "cidr_block")?)
            .tag_specifications(tags::ec2_spec(attrs, address, ResourceType::Vpc))
            .send()
            .await?;
        let id = created.vpc().and_then(|v| v.vpc_id()).ok_or_else(|| anyhow::anyhow!("CreateVpc returned no id"))?;
        enable_dns_hostnames(cx, id).await
    }

    async fn adopt(&self, cx: &Cx, address: &str, _attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
        let found = cx.ec2.describe_vpcs().filters(tags::ec2_stack_filter(cx)).send().await?;
        match found.vpcs().iter().find(|v| tags::has_address(v.tags(), address)).and_then(|v| v.vpc_id()) {
            Some(id) => enable_dns_hostnames(cx, id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        tags::update_ec2(cx, id, before, after).await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_vpcs().vpc_ids(id).send().await)? else { return Ok(None) };
        Ok(found
            .vpcs()
            .first()
            .map(|vpc| tags::ec2_live(vpc.tags()).attr("cidr_block", vpc.cidr_block().unwrap_or_default())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.ec2.delete_vpc().vpc_id(id).send().await)
    }
}
