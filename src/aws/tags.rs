//! Tags: every resource carries the stack's tags, `cloudcomp:stack=<name>` among them, and
//! `cloudcomp:address=<address>` so that a resource can be matched to its plan entry.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;

use super::{Attrs, Cx, Live};

/// Tag key naming the resource's address in the stack.
pub const ADDRESS_TAG: &str = "cloudcomp:address";

/// The `tags` attribute as key/value pairs, plus the address tag.
pub fn pairs(attrs: &Attrs, address: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = match attrs.get("tags") {
        Some(Value::Object(tags)) => {
            tags.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
        }
        _ => Vec::new(),
    };
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

/// EC2 tags for a new resource of `resource_type`.
pub fn ec2_spec(attrs: &Attrs, address: &str, resource_type: ResourceType) -> TagSpecification {
    let tags = pairs(attrs, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
    TagSpecification::builder().resource_type(resource_type).set_tags(Some(tags.collect())).build()
}

/// Brings an EC2 resource's tags from `before` to `after` (the address tag is left alone).
pub async fn update_ec2(cx: &Cx, id: &str, before: &Attrs, after: &Attrs) -> anyhow::Result<()> {
    if before.get("tags") == after.get("tags") {
        return Ok(());
    }
    let old = pairs(before, "");
    let new = pairs(after, "");
    let removed: Vec<Tag> = old
        .iter()
        .filter(|(k, _)| k != ADDRESS_TAG && !new.iter().any(|(n, _)| n == k))
        .map(|(k, _)| Tag::builder().key(k).build())
        .collect();
    if !removed.is_empty() {
        cx.ec2.delete_tags().resources(id).set_tags(Some(removed)).send().await?;
    }
    let set: Vec<Tag> = new
        .into_iter()
        .filter(|(k, _)| k != ADDRESS_TAG)
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    cx.ec2.create_tags().resources(id).set_tags(Some(set)).send().await?;
    Ok(())
}

/// A live EC2 resource, with its tags.
pub fn ec2_live(tags: &[Tag]) -> Live {
    Live::tagged(tags.iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())))
}

/// A live load-balancing resource (`arn`), with its tags, which ELB keeps apart.
pub async fn elb_live(cx: &Cx, arn: &str) -> anyhow::Result<Live> {
    let found = cx.elb.describe_tags().resource_arns(arn).send().await?;
    let tags = found
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
    Ok(Live::tagged(tags))
}
