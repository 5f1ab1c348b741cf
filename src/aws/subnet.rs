//! `subnet`: a public subnet in the stack's VPC, one per availability zone.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};

use super::{Applied, Attrs, Cx, Kind, Live, found, gone_is_fine, tags, text, until_released};

/// The `subnet` kind.
pub struct Subnet;

/// The name of the `index`th availability zone of the region, in name order.
async fn availability_zone(cx: &Cx, index: usize) -> anyhow::Result<String> {
    let zones = cx.ec2.describe_availability_zones().send().await?;
    let mut names: Vec<String> =
        zones.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_string)).collect();
    names.sort();
    names.get(index).cloned().ok_or_else(|| anyhow::anyhow!("region {} has no availability zone #{index}", cx.region))
}

async fn set_public_ip(cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<()> {
    let public = attrs.get("map_public_ip_on_launch").and_then(|v| v.as_bool()).unwrap_or(true);
    cx.ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
        .send()
        .await?;
    Ok(())
}

#[async_trait]
impl Kind for Subnet {
    fn name(&self) -> &'static str {
        "subnet"
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let index = attrs.get("availability_zone_index").and_then(|v| v.as_u64()).unwrap_or(0);
        let zone = availability_zone(cx, usize::try_from(index)?).await?;
        let created = cx
            .ec2
            .create_subnet()
            .vpc_id(text(attrs, "vpc_id")?)
            .cidr_block(text(attrs, "cidr_block")?)
            .availability_zone(&zone)
            .tag_specifications(tags::ec2_spec(attrs, address, ResourceType::Subnet))
            .send()
            .await?;
        let id = created
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| anyhow::anyhow!("CreateSubnet returned no id"))?;
        set_public_ip(cx, id, attrs).await?;
        Ok(Applied::with_id(id).output("availability_zone", zone))
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
        let found = cx.ec2.describe_subnets().filters(tags::ec2_stack_filter(cx)).send().await?;
        let Some(subnet) = found.subnets().iter().find(|s| tags::has_address(s.tags(), address)) else {
            return Ok(None);
        };
        let id = subnet.subnet_id().unwrap_or_default();
        set_public_ip(cx, id, attrs).await?;
        Ok(Some(Applied::with_id(id).output("availability_zone", subnet.availability_zone().unwrap_or_default())))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        if before.get("map_public_ip_on_launch") != after.get("map_public_ip_on_launch") {
            set_public_ip(cx, id, after).await?;
        }
        tags::update_ec2(cx, id, before, after).await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_subnets().subnet_ids(id).send().await)? else { return Ok(None) };
        Ok(found.subnets().first().map(|subnet| {
            tags::ec2_live(subnet.tags())
                .attr("cidr_block", subnet.cidr_block().unwrap_or_default())
                .attr("map_public_ip_on_launch", subnet.map_public_ip_on_launch().unwrap_or(false))
                .detail("availability_zone", subnet.availability_zone().unwrap_or_default())
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        // Network interfaces of the load balancer and instances linger after they are gone.
        gone_is_fine(
            until_released("network interfaces to be released from the subnet", || {
                cx.ec2.delete_subnet().subnet_id(id).send()
            })
            .await,
        )
    }
}
