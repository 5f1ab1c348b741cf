//! `security_group`: inbound rules by port, from address ranges or from another group
//! (the app port accepts only the load balancer's group). Outbound stays open.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use serde::{Deserialize, Serialize};

use super::tags::{Ec2Type, Tags};
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, NEW_EC2_ID, RELEASE, Stored, TypedKind, already_done, found,
    gone_is_fine, note_created, retrying, tags,
};

/// The `security_group` kind.
pub struct SecurityGroup;

/// A `security_group`'s attributes; `R` is how the ids of other resources are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupAttrs<R = String> {
    /// The VPC it is in.
    pub vpc_id: R,
    /// Its name, unique in the VPC.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Its inbound rules.
    pub ingress: Vec<Rule<R>>,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for SecurityGroupAttrs<R> {
    const KIND: &'static str = "security_group";
    const UPDATABLE: &'static [&'static str] = &["ingress", "tags"];
}

/// An inbound rule: TCP `port` from address ranges or from another security group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule<R = String> {
    /// The port it opens.
    pub port: u16,
    /// The address ranges it is open to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<String>>,
    /// The security group it is open to (the load balancer's, for the app port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_security_group_id: Option<R>,
}

/// One rule as an EC2 permission.
fn permission(rule: &Rule) -> IpPermission {
    let port = i32::from(rule.port);
    let mut permission = IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port);
    for cidr in rule.cidrs.iter().flatten() {
        permission = permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
    }
    if let Some(group) = &rule.source_security_group_id {
        permission = permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
    }
    permission.build()
}

/// Rules broken into single grants (`port` from one range or one group), so that rule
/// lists compare whatever their grouping and order.
fn grants(rules: &[Rule]) -> BTreeSet<(u16, String)> {
    let mut grants = BTreeSet::new();
    for rule in rules {
        for cidr in rule.cidrs.iter().flatten() {
            grants.insert((rule.port, format!("cidr:{cidr}")));
        }
        if let Some(group) = &rule.source_security_group_id {
            grants.insert((rule.port, format!("group:{group}")));
        }
    }
    grants
}

/// The live inbound rules in the stack's shape: per port, one rule for the ranges and one
/// per source group.
fn live_rules(permissions: &[IpPermission]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for permission in permissions {
        let port = u16::try_from(permission.from_port().unwrap_or_default()).unwrap_or_default();
        let cidrs: Vec<String> =
            permission.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(str::to_string).collect();
        if !cidrs.is_empty() {
            rules.push(Rule { port, cidrs: Some(cidrs), source_security_group_id: None });
        }
        for group in permission.user_id_group_pairs().iter().filter_map(|p| p.group_id()) {
            rules.push(Rule { port, cidrs: None, source_security_group_id: Some(group.to_string()) });
        }
    }
    rules
}

async fn change_rules(cx: &Cx, id: &str, before: &[Rule], after: &[Rule]) -> anyhow::Result<()> {
    let (old, new): (BTreeSet<&Rule>, BTreeSet<&Rule>) = (before.iter().collect(), after.iter().collect());
    let revoke: Vec<IpPermission> = old.difference(&new).map(|r| permission(r)).collect();
    if !revoke.is_empty() {
        let request = cx.ec2.revoke_security_group_ingress().group_id(id).set_ip_permissions(Some(revoke));
        retrying(&[NEW_EC2_ID], || request.clone().send()).await?;
    }
    let grant: Vec<IpPermission> = new.difference(&old).map(|r| permission(r)).collect();
    if grant.is_empty() {
        return Ok(());
    }
    let authorize =
        |permissions| cx.ec2.authorize_security_group_ingress().group_id(id).set_ip_permissions(Some(permissions));
    // The group, or the load balancer's group a rule names, may be new to EC2 still.
    match retrying(&[NEW_EC2_ID], || authorize(grant.clone()).send()).await {
        // A rule already there: AWS refuses the whole batch, so grant one by one.
        Err(refusal) if refusal.is(&[DUPLICATE]) => {
            for permission in grant {
                let granted = retrying(&[NEW_EC2_ID], || authorize(vec![permission.clone()]).send()).await;
                already_done(granted, &[DUPLICATE])?;
            }
            Ok(())
        }
        other => other.map(drop).map_err(Into::into),
    }
}

/// The error code of a grant that exists already.
const DUPLICATE: &str = "InvalidPermission.Duplicate";

#[async_trait]
impl TypedKind for SecurityGroup {
    type Attrs = SecurityGroupAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &SecurityGroupAttrs) -> anyhow::Result<Applied> {
        let create = cx
            .ec2
            .create_security_group()
            .group_name(&attrs.name)
            .description(&attrs.description)
            .vpc_id(&attrs.vpc_id)
            .tag_specifications(tags::ec2_spec(&attrs.tags, address, ResourceType::SecurityGroup));
        let created = retrying(&[NEW_EC2_ID], || create.clone().send()).await?;
        let id = created.group_id().ok_or_else(|| anyhow::anyhow!("CreateSecurityGroup returned no id"))?;
        note_created(id);
        change_rules(cx, id, &[], &attrs.ingress).await?;
        Ok(Applied::with_id(id))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        address: &str,
        attrs: &SecurityGroupAttrs,
        hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::SecurityGroup, address, hint).await? else { return Ok(None) };
        let describe = cx.ec2.describe_security_groups().group_ids(&id);
        let found = retrying(&[NEW_EC2_ID], || describe.clone().send()).await?;
        let Some(group) = found.security_groups().first() else { return Ok(None) };
        let live = live_rules(group.ip_permissions());
        if grants(&live) != grants(&attrs.ingress) {
            change_rules(cx, &id, &live, &attrs.ingress).await?;
        }
        Ok(Some(Applied::with_id(id)))
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::SecurityGroup, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &SecurityGroupAttrs,
        after: &SecurityGroupAttrs,
    ) -> anyhow::Result<Applied> {
        change_rules(cx, id, &before.ingress, &after.ingress).await?;
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, recorded: Stored<'_, SecurityGroupAttrs>) -> anyhow::Result<Option<Live>> {
        let request = cx.ec2.describe_security_groups().group_ids(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        let Some(group) = found.security_groups().first() else { return Ok(None) };
        let live = live_rules(group.ip_permissions());
        let recorded = recorded.get()?.ingress;
        // Rules grouped or ordered otherwise than recorded are no drift.
        let ingress = if grants(&live) == grants(&recorded) { recorded } else { live };
        Ok(Some(tags::ec2_live(group.tags()).attr("ingress", serde_json::to_value(ingress)?)))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, SecurityGroupAttrs>) -> anyhow::Result<()> {
        // Refused while a load balancer or instance still has an interface in the group.
        let release = CatchUp { waiting_for: "network interfaces to leave the security group", ..RELEASE };
        gone_is_fine(retrying(&[release], || cx.ec2.delete_security_group().group_id(id).send()).await)
    }
}
