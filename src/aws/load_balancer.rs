//! `load_balancer`: the internet-facing ALB across the public subnets. The slow resource
//! on real AWS (minutes until active), so nothing that does not need it waits for it.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum, Tag};

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::tags::Tags;
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine, is_gone,
    note_created, poll, retrying, tags,
};

/// The `load_balancer` kind.
pub struct LoadBalancer;

/// A `load_balancer`'s attributes; `R` is how the subnets' and security group's ids are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerAttrs<R = String> {
    /// Its name, unique in the region.
    pub name: String,
    /// The public subnets it spans (two zones at least).
    pub subnet_ids: Vec<R>,
    /// Its security group.
    pub security_group_ids: Vec<R>,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for LoadBalancerAttrs<R> {
    const KIND: &'static str = "load_balancer";
    const UPDATABLE: &'static [&'static str] = &["subnet_ids", "security_group_ids", "tags"];
}

/// Subnets or a security group created moments ago that ELB does not know yet.
const NEW_NETWORK: CatchUp = CatchUp {
    codes: &["SubnetNotFound", "InvalidSecurityGroup"],
    message: &[],
    patience: Duration::from_secs(120),
    waiting_for: "ELB to see the new subnets and security group",
};

/// The part of an ALB ARN that CloudWatch uses as its `LoadBalancer` dimension.
fn arn_suffix(arn: &str) -> String {
    arn.split_once(":loadbalancer/").map_or(arn, |(_, suffix)| suffix).to_string()
}

/// Waits for the balancer `arn` to become active; returns it as `create` does.
async fn until_active(cx: &Cx, arn: &str) -> anyhow::Result<Applied> {
    let dns_name = OnceLock::new();
    poll("the load balancer to become active", || async {
        let found = cx.elb.describe_load_balancers().load_balancer_arns(arn).send().await.refused()?;
        let Some(balancer) = found.load_balancers().first() else { return Ok(false) };
        let active = balancer.state().and_then(|s| s.code()) == Some(&LoadBalancerStateEnum::Active);
        if active {
            let _ = dns_name.set(balancer.dns_name().unwrap_or_default().to_string());
        }
        Ok(active)
    })
    .await?;
    let dns_name = dns_name.into_inner().unwrap_or_default();
    Ok(Applied::with_id(arn).output("arn", arn).output("arn_suffix", arn_suffix(arn)).output("dns_name", dns_name))
}

#[async_trait]
impl TypedKind for LoadBalancer {
    type Attrs = LoadBalancerAttrs;

    fn expected_duration(&self) -> Duration {
        // An ALB is `provisioning` for minutes.
        Duration::from_secs(180)
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &LoadBalancerAttrs) -> anyhow::Result<Applied> {
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let create = cx
            .elb
            .create_load_balancer()
            .name(&attrs.name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .set_subnets(Some(attrs.subnet_ids.clone()))
            .set_security_groups(Some(attrs.security_group_ids.clone()))
            .set_tags(Some(tags.collect()));
        let created = retrying(&[NEW_NETWORK], || create.clone().send()).await?;
        let lb =
            created.load_balancers().first().ok_or_else(|| anyhow::anyhow!("CreateLoadBalancer returned nothing"))?;
        let arn = lb.load_balancer_arn().unwrap_or_default();
        note_created(arn);
        until_active(cx, arn).await
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &LoadBalancerAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let request = cx.elb.describe_load_balancers().names(&attrs.name);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        match found.load_balancers().first().and_then(|l| l.load_balancer_arn()) {
            Some(arn) => until_active(cx, arn).await.map(Some),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &LoadBalancerAttrs,
        after: &LoadBalancerAttrs,
    ) -> anyhow::Result<Applied> {
        if before.subnet_ids != after.subnet_ids {
            let set = cx.elb.set_subnets().load_balancer_arn(id).set_subnets(Some(after.subnet_ids.clone()));
            retrying(&[NEW_NETWORK], || set.clone().send()).await?;
        }
        if before.security_group_ids != after.security_group_ids {
            let set = cx.elb.set_security_groups().load_balancer_arn(id);
            let set = set.set_security_groups(Some(after.security_group_ids.clone()));
            retrying(&[NEW_NETWORK], || set.clone().send()).await?;
        }
        tags::update_elb(cx, id, &before.tags, &after.tags).await?;
        until_active(cx, id).await
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, LoadBalancerAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.elb.describe_load_balancers().load_balancer_arns(id).send().await)? else {
            return Ok(None);
        };
        let Some(balancer) = found.load_balancers().first() else { return Ok(None) };
        let state = balancer.state().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default();
        Ok(Some(
            tags::elb_live(cx, id)
                .await?
                .detail("state", state)
                .detail("dns_name", balancer.dns_name().unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, LoadBalancerAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.elb.delete_load_balancer().load_balancer_arn(id).send().await)?;
        poll("the load balancer to be deleted", || async {
            match cx.elb.describe_load_balancers().load_balancer_arns(id).send().await.refused() {
                Ok(found) => Ok(found.load_balancers().is_empty()),
                Err(refusal) if is_gone(&refusal) => Ok(true),
                Err(refusal) => Err(refusal.into()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arn_suffix_is_what_cloudwatch_wants() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188";
        assert_eq!(super::arn_suffix(arn), "app/demo-alb/50dc6c495c0c9188");
    }
}
