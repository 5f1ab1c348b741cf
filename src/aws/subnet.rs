//! `subnet`: a public subnet in the stack's VPC, one per availability zone. The zones are
//! the region's real availability zones (not Local or Wavelength zones), available, and
//! offering the stack's instance type.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, LocationType, ResourceType};
use serde::{Deserialize, Serialize};

use super::tags::{Ec2Type, Tags};
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, NEW_EC2_ID, RELEASE, Refused, Stored, TypedKind, found, gone_is_fine,
    note_created, retrying, tags,
};

/// The `subnet` kind.
pub struct Subnet;

/// A `subnet`'s attributes; `R` is how the VPC's id is known (a `String` once resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetAttrs<R = String> {
    /// The VPC it is in.
    pub vpc_id: R,
    /// Its address range, within the VPC's.
    pub cidr_block: String,
    /// Which of the region's usable zones (in name order) it is in.
    pub availability_zone_index: usize,
    /// Whether instances launched in it get public addresses (they pull the image).
    pub map_public_ip_on_launch: bool,
    /// The instance type its zone must offer (absent from states written before it was).
    #[serde(default)]
    pub instance_type: String,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for SubnetAttrs<R> {
    const KIND: &'static str = "subnet";
    const UPDATABLE: &'static [&'static str] = &["map_public_ip_on_launch", "instance_type", "tags"];
}

/// The region's availability zones that can run `instance_type`, in name order.
async fn usable_zones(cx: &Cx, instance_type: &str) -> anyhow::Result<Vec<String>> {
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let zones = cx
        .ec2
        .describe_availability_zones()
        .filters(filter("zone-type", "availability-zone"))
        .filters(filter("state", "available"))
        .send()
        .await
        .refused()?;
    let offerings = cx
        .ec2
        .describe_instance_type_offerings()
        .location_type(LocationType::AvailabilityZone)
        .filters(filter("instance-type", instance_type))
        .send()
        .await
        .refused()?;
    let offered: Vec<&str> = offerings.instance_type_offerings().iter().filter_map(|o| o.location()).collect();
    let mut names: Vec<String> = zones
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .filter(|z| offered.contains(z))
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// The `index`th usable availability zone of the region.
async fn availability_zone(cx: &Cx, index: usize, instance_type: &str) -> anyhow::Result<String> {
    let zones = usable_zones(cx, instance_type).await?;
    zones.get(index).cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "region {} has {} available zone(s) offering {instance_type} ({}); the stack needs zone #{}",
            cx.region,
            zones.len(),
            zones.join(", "),
            index + 1
        )
    })
}

async fn set_public_ip(cx: &Cx, id: &str, public: bool) -> anyhow::Result<()> {
    let modify = cx
        .ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build());
    retrying(&[NEW_EC2_ID], || modify.clone().send()).await?;
    Ok(())
}

/// The zone subnet `id` lives in.
async fn zone_of(cx: &Cx, id: &str) -> anyhow::Result<String> {
    let describe = cx.ec2.describe_subnets().subnet_ids(id);
    let found = retrying(&[NEW_EC2_ID], || describe.clone().send()).await?;
    let zone = found.subnets().first().and_then(|s| s.availability_zone());
    zone.map(str::to_string).ok_or_else(|| anyhow::anyhow!("subnet {id} has no availability zone"))
}

#[async_trait]
impl TypedKind for Subnet {
    type Attrs = SubnetAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &SubnetAttrs) -> anyhow::Result<Applied> {
        let zone = availability_zone(cx, attrs.availability_zone_index, &attrs.instance_type).await?;
        let create = cx
            .ec2
            .create_subnet()
            .vpc_id(&attrs.vpc_id)
            .cidr_block(&attrs.cidr_block)
            .availability_zone(&zone)
            .tag_specifications(tags::ec2_spec(&attrs.tags, address, ResourceType::Subnet));
        let created = retrying(&[NEW_EC2_ID], || create.clone().send()).await?;
        let id = created
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| anyhow::anyhow!("CreateSubnet returned no id"))?;
        note_created(id);
        set_public_ip(cx, id, attrs.map_public_ip_on_launch).await?;
        Ok(Applied::with_id(id).output("availability_zone", zone))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        address: &str,
        attrs: &SubnetAttrs,
        hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::Subnet, address, hint).await? else { return Ok(None) };
        let zone = zone_of(cx, &id).await?;
        set_public_ip(cx, &id, attrs.map_public_ip_on_launch).await?;
        Ok(Some(Applied::with_id(id).output("availability_zone", zone)))
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::Subnet, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &SubnetAttrs,
        after: &SubnetAttrs,
    ) -> anyhow::Result<Applied> {
        if before.instance_type != after.instance_type {
            let (zone, instance_type) = (zone_of(cx, id).await?, &after.instance_type);
            anyhow::ensure!(
                usable_zones(cx, instance_type).await?.contains(&zone),
                "instance type {instance_type} is not offered in {zone}, where subnet {id} lives: pick another type, \
                 or destroy the stack and create it again"
            );
        }
        if before.map_public_ip_on_launch != after.map_public_ip_on_launch {
            set_public_ip(cx, id, after.map_public_ip_on_launch).await?;
        }
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, SubnetAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_subnets().subnet_ids(id).send().await)? else { return Ok(None) };
        Ok(found.subnets().first().map(|subnet| {
            tags::ec2_live(subnet.tags())
                .attr("cidr_block", subnet.cidr_block().unwrap_or_default())
                .attr("map_public_ip_on_launch", subnet.map_public_ip_on_launch().unwrap_or(false))
                .detail("availability_zone", subnet.availability_zone().unwrap_or_default())
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, SubnetAttrs>) -> anyhow::Result<()> {
        // Network interfaces of the load balancer and instances linger after they are gone.
        let release = CatchUp { waiting_for: "network interfaces to leave the subnet", ..RELEASE };
        gone_is_fine(retrying(&[release], || cx.ec2.delete_subnet().subnet_id(id).send()).await)
    }
}
