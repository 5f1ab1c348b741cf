//! Tags: every resource carries the stack's tags, `cloudcomp:stack=<name>` among them, and
//! `cloudcomp:address=<address>` so that a resource can be matched to its plan entry.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use super::{Cx, Hint, Live, NEW_EC2_ID, Refused, retrying};

/// Tag key naming the resource's address in the stack.
pub const ADDRESS_TAG: &str = "cloudcomp:address";

/// A resource's `tags` attribute: the stack's tags, `cloudcomp:stack` among them.
pub type Tags = BTreeMap<String, String>;

/// `tags` as key/value pairs, plus the address tag.
pub fn pairs(tags: &Tags, address: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.push((ADDRESS_TAG.to_string(), address.to_string()));
    pairs
}

/// The EC2 filter that finds what this stack created. (Addresses are matched afterwards,
/// with [`has_address`]: as filter values, `subnet.public[0]`'s brackets would be a pattern.)
pub fn ec2_stack_filter(cx: &Cx) -> Filter {
    Filter::builder().name(format!("tag:{}", crate::plan::STACK_TAG)).values(&cx.stack).build()
}

/// Whether EC2 `tags` name `address`.
pub fn has_address(tags: &[Tag], address: &str) -> bool {
    tags.iter().any(|t| t.key() == Some(ADDRESS_TAG) && t.value() == Some(address))
}

/// The EC2 kinds found by their tags (AWS does not keep their names unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ec2Type {
    /// A VPC.
    Vpc,
    /// A subnet.
    Subnet,
    /// An internet gateway.
    InternetGateway,
    /// A route table.
    RouteTable,
    /// A security group.
    SecurityGroup,
}

/// How long after creating a resource EC2 may still not find it by its id (EC2 API
/// reference, "Eventual consistency"; Terraform's AWS provider waits the same 2 minutes).
pub const EC2_READ_LAG: Duration = Duration::from_secs(120);

/// Every id of type `ty` tagged for this stack and for `address`.
pub async fn tagged_ids(cx: &Cx, ty: Ec2Type, address: &str) -> anyhow::Result<Vec<String>> {
    let filter = ec2_stack_filter(cx);
    let ec2 = &cx.ec2;
    let found: Vec<(String, Vec<Tag>)> = match ty {
        Ec2Type::Vpc => {
            let found = ec2.describe_vpcs().filters(filter).send().await.refused()?;
            found.vpcs().iter().map(|v| (v.vpc_id().unwrap_or_default().into(), v.tags().to_vec())).collect()
        }
        Ec2Type::Subnet => {
            let found = ec2.describe_subnets().filters(filter).send().await.refused()?;
            found.subnets().iter().map(|s| (s.subnet_id().unwrap_or_default().into(), s.tags().to_vec())).collect()
        }
        Ec2Type::InternetGateway => {
            let found = ec2.describe_internet_gateways().filters(filter).send().await.refused()?;
            let gateways = found.internet_gateways().iter();
            gateways.map(|g| (g.internet_gateway_id().unwrap_or_default().into(), g.tags().to_vec())).collect()
        }
        Ec2Type::RouteTable => {
            let found = ec2.describe_route_tables().filters(filter).send().await.refused()?;
            let tables = found.route_tables().iter();
            tables.map(|t| (t.route_table_id().unwrap_or_default().into(), t.tags().to_vec())).collect()
        }
        Ec2Type::SecurityGroup => {
            let found = ec2.describe_security_groups().filters(filter).send().await.refused()?;
            let groups = found.security_groups().iter();
            groups.map(|g| (g.group_id().unwrap_or_default().into(), g.tags().to_vec())).collect()
        }
    };
    Ok(found.into_iter().filter(|(_, tags)| has_address(tags, address)).map(|(id, _)| id).collect())
}

/// The resource a cut-off run may have created at `address`: the id it saw AWS answer,
/// else the one tagged for `address` — looked for again for a few seconds when none is
/// listed yet and the run was cut off just now, since a new resource's tags lag.
pub async fn adoptable(cx: &Cx, ty: Ec2Type, address: &str, hint: Hint<'_>) -> anyhow::Result<Option<String>> {
    if let Hint::Id(id) = hint {
        return Ok(Some(id.to_string()));
    }
    let started = tokio::time::Instant::now();
    loop {
        if let Some(id) = tagged_ids(cx, ty, address).await?.into_iter().next() {
            return Ok(Some(id));
        }
        if hint == Hint::Settled || started.elapsed() >= cx.tag_lag {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// EC2 tags for a new resource of `resource_type`.
pub fn ec2_spec(tags: &Tags, address: &str, resource_type: ResourceType) -> TagSpecification {
    let tags = pairs(tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
    TagSpecification::builder().resource_type(resource_type).set_tags(Some(tags.collect())).build()
}

/// How a resource's tags change from `before` to `after`: the tags to set and the keys to
/// remove (the address tag is left alone). `None` when they do not change.
pub struct TagChange {
    /// Tags to set (every tag of `after`: setting one again is harmless).
    pub set: Vec<(String, String)>,
    /// Keys to remove.
    pub removed: Vec<String>,
}

impl TagChange {
    /// The change from the tags `before` to `after`, if any.
    pub fn between(before: &Tags, after: &Tags) -> Option<TagChange> {
        if before == after {
            return None;
        }
        let (old, new) = (pairs(before, ""), pairs(after, ""));
        let removed = old
            .into_iter()
            .filter(|(k, _)| k != ADDRESS_TAG && !new.iter().any(|(n, _)| n == k))
            .map(|(k, _)| k)
            .collect();
        let set = new.into_iter().filter(|(k, _)| k != ADDRESS_TAG).collect();
        Some(TagChange { set, removed })
    }
}

/// Brings an EC2 resource's tags from `before` to `after` (the address tag is left alone).
pub async fn update_ec2(cx: &Cx, id: &str, before: &Tags, after: &Tags) -> anyhow::Result<()> {
    let Some(change) = TagChange::between(before, after) else { return Ok(()) };
    let removed: Vec<Tag> = change.removed.iter().map(|k| Tag::builder().key(k).build()).collect();
    if !removed.is_empty() {
        let delete = cx.ec2.delete_tags().resources(id).set_tags(Some(removed));
        retrying(&[NEW_EC2_ID], || delete.clone().send()).await?;
    }
    let set: Vec<Tag> = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    let create = cx.ec2.create_tags().resources(id).set_tags(Some(set));
    retrying(&[NEW_EC2_ID], || create.clone().send()).await?;
    Ok(())
}

/// A live EC2 resource, with its tags.
pub fn ec2_live(tags: &[Tag]) -> Live {
    Live::tagged(tags.iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())))
}

/// Brings a load-balancing resource's (`arn`) tags from `before` to `after`.
pub async fn update_elb(cx: &Cx, arn: &str, before: &Tags, after: &Tags) -> anyhow::Result<()> {
    use aws_sdk_elasticloadbalancingv2::types::Tag;
    let Some(change) = TagChange::between(before, after) else { return Ok(()) };
    if !change.removed.is_empty() {
        cx.elb.remove_tags().resource_arns(arn).set_tag_keys(Some(change.removed)).send().await.refused()?;
    }
    let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
    cx.elb.add_tags().resource_arns(arn).set_tags(Some(set.collect())).send().await.refused()?;
    Ok(())
}

/// A live load-balancing resource (`arn`), with its tags, which ELB keeps apart.
pub async fn elb_live(cx: &Cx, arn: &str) -> anyhow::Result<Live> {
    let found = cx.elb.describe_tags().resource_arns(arn).send().await.refused()?;
    let tags = found
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    Ok(Live::tagged(tags))
}
