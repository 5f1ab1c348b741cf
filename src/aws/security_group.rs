//! `security_group`: inbound rules by port, from address ranges or from another group
//! (the app port accepts only the load balancer's group). Outbound stays open.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use serde_json::{Value, json};

use super::tags::Ec2Type;
use super::{
    Applied, Attrs, CatchUp, Cx, Hint, Kind, Live, NEW_EC2_ID, RELEASE, already_done, found, gone_is_fine,
    note_created, retrying, tags, text,
};

/// The `security_group` kind.
pub struct SecurityGroup;

/// The `ingress` rules, each as its JSON text (so rules compare as wholes).
fn rules(attrs: &Attrs) -> BTreeSet<String> {
    attrs.get("ingress").and_then(Value::as_array).into_iter().flatten().map(Value::to_string).collect()
}

/// One rule (`{port, cidrs}` or `{port, source_security_group_id}`) as an EC2 permission.
fn permission(rule: &str) -> anyhow::Result<IpPermission> {
    let rule: Value = serde_json::from_str(rule)?;
    let port =
        rule.get("port").and_then(Value::as_i64).ok_or_else(|| anyhow::anyhow!("rule without a port: {rule}"))?;
    let port = i32::try_from(port)?;
    let mut permission = IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port);
    for cidr in rule.get("cidrs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        permission = permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
    }
    if let Some(group) = rule.get("source_security_group_id").and_then(Value::as_str) {
        permission = permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
    }
    Ok(permission.build())
}

/// Rules broken into single grants (`port` from one range or one group), so that rule
/// lists compare whatever their grouping and order.
fn grants(rules: &Value) -> BTreeSet<(i64, String)> {
    let mut grants = BTreeSet::new();
    for rule in rules.as_array().into_iter().flatten() {
        let port = rule.get("port").and_then(Value::as_i64).unwrap_or_default();
        for cidr in rule.get("cidrs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            grants.insert((port, format!("cidr:{cidr}")));
        }
        if let Some(group) = rule.get("source_security_group_id").and_then(Value::as_str) {
            grants.insert((port, format!("group:{group}")));
        }
    }
    grants
}

/// The live inbound rules in the stack's shape: per port, one rule for the ranges and one
/// per source group.
fn live_rules(permissions: &[IpPermission]) -> Value {
    let mut rules = Vec::new();
    for permission in permissions {
        let port = permission.from_port().unwrap_or_default();
        let cidrs: Vec<&str> = permission.ip_ranges().iter().filter_map(|r| r.cidr_ip()).collect();
        if !cidrs.is_empty() {
            rules.push(json!({ "port": port, "cidrs": cidrs }));
        }
        for group in permission.user_id_group_pairs().iter().filter_map(|p| p.group_id()) {
            rules.push(json!({ "port": port, "source_security_group_id": group }));
        }
    }
    Value::Array(rules)
}

async fn change_rules(cx: &Cx, id: &str, before: &Attrs, after: &Attrs) -> anyhow::Result<()> {
    let (old, new) = (rules(before), rules(after));
    let revoke: Vec<IpPermission> = old.difference(&new).map(|r| permission(r)).collect::<anyhow::Result<_>>()?;
    if !revoke.is_empty() {
        let request = cx.ec2.revoke_security_group_ingress().group_id(id).set_ip_permissions(Some(revoke));
        retrying(&[NEW_EC2_ID], || request.clone().send()).await?;
    }
    let grant: Vec<IpPermission> = new.difference(&old).map(|r| permission(r)).collect::<anyhow::Result<_>>()?;
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
impl Kind for SecurityGroup {
    fn name(&self) -> &'static str {
        "security_group"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["ingress", "tags"]
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let create = cx
            .ec2
            .create_security_group()
            .group_name(text(attrs, "name")?)
            .description(text(attrs, "description")?)
            .vpc_id(text(attrs, "vpc_id")?)
            .tag_specifications(tags::ec2_spec(attrs, address, ResourceType::SecurityGroup));
        let created = retrying(&[NEW_EC2_ID], || create.clone().send()).await?;
        let id = created.group_id().ok_or_else(|| anyhow::anyhow!("CreateSecurityGroup returned no id"))?;
        note_created(id);
        change_rules(cx, id, &Attrs::new(), attrs).await?;
        Ok(Applied::with_id(id))
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::SecurityGroup, address, hint).await? else { return Ok(None) };
        let describe = cx.ec2.describe_security_groups().group_ids(&id);
        let found = retrying(&[NEW_EC2_ID], || describe.clone().send()).await?;
        let Some(group) = found.security_groups().first() else { return Ok(None) };
        let live = live_rules(group.ip_permissions());
        let wanted = attrs.get("ingress").cloned().unwrap_or(Value::Array(Vec::new()));
        if grants(&live) != grants(&wanted) {
            change_rules(cx, &id, &Attrs::from([("ingress".to_string(), live)]), attrs).await?;
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
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        change_rules(cx, id, before, after).await?;
        tags::update_ec2(cx, id, before, after).await?;
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let request = cx.ec2.describe_security_groups().group_ids(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        let Some(group) = found.security_groups().first() else { return Ok(None) };
        let live = live_rules(group.ip_permissions());
        let recorded = attrs.get("ingress").cloned().unwrap_or(Value::Array(Vec::new()));
        let ingress = if grants(&live) == grants(&recorded) { recorded } else { live };
        Ok(Some(tags::ec2_live(group.tags()).attr("ingress", ingress)))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        // Refused while a load balancer or instance still has an interface in the group.
        let release = CatchUp { waiting_for: "network interfaces to leave the security group", ..RELEASE };
        gone_is_fine(retrying(&[release], || cx.ec2.delete_security_group().group_id(id).send()).await)
    }
}
