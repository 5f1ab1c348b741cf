//! `scaling_policy`: add or remove instances, with a cooldown; the alarms trigger it.
//! moto answers PutScalingPolicy with `PolicyArn`, not `PolicyARN`, so the ARN is read back
//! with DescribePolicies.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine};

/// The `scaling_policy` kind.
pub struct ScalingPolicy;

/// A `scaling_policy`'s attributes; `R` is how the group's name is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicyAttrs<R = String> {
    /// Its name among the group's policies.
    pub name: String,
    /// The group it scales.
    pub autoscaling_group_name: R,
    /// Instances it adds (negative: removes) each time it runs.
    pub adjustment: i64,
    /// Seconds after it runs before the group scales again.
    pub cooldown_seconds: u32,
}

impl<R: Serialize> Attributes for ScalingPolicyAttrs<R> {
    const KIND: &'static str = "scaling_policy";
    const UPDATABLE: &'static [&'static str] = &["adjustment", "cooldown_seconds"];
}

async fn put(cx: &Cx, attrs: &ScalingPolicyAttrs) -> anyhow::Result<Applied> {
    cx.autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(&attrs.autoscaling_group_name)
        .policy_name(&attrs.name)
        .policy_type("SimpleScaling")
        .adjustment_type("ChangeInCapacity")
        .scaling_adjustment(i32::try_from(attrs.adjustment)?)
        .cooldown(i32::try_from(attrs.cooldown_seconds)?)
        .send()
        .await
        .refused()?;
    let name = &attrs.name;
    existing(cx, attrs).await?.ok_or_else(|| anyhow::anyhow!("policy {name} not found after creating it"))
}

/// The policy `attrs` name, as `create` returns it.
async fn existing(cx: &Cx, attrs: &ScalingPolicyAttrs) -> anyhow::Result<Option<Applied>> {
    let request = cx.autoscaling.describe_policies().auto_scaling_group_name(&attrs.autoscaling_group_name);
    let Some(found) = found(request.policy_names(&attrs.name).send().await)? else { return Ok(None) };
    let arn = found.scaling_policies().first().and_then(|p| p.policy_arn());
    Ok(arn.map(|arn| Applied::with_id(&attrs.name).output("arn", arn)))
}

#[async_trait]
impl TypedKind for ScalingPolicy {
    type Attrs = ScalingPolicyAttrs;

    async fn create(&self, cx: &Cx, _address: &str, attrs: &ScalingPolicyAttrs) -> anyhow::Result<Applied> {
        put(cx, attrs).await
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &ScalingPolicyAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        existing(cx, attrs).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        _id: &str,
        _before: &ScalingPolicyAttrs,
        after: &ScalingPolicyAttrs,
    ) -> anyhow::Result<Applied> {
        put(cx, after).await
    }

    async fn read(&self, cx: &Cx, id: &str, recorded: Stored<'_, ScalingPolicyAttrs>) -> anyhow::Result<Option<Live>> {
        let group = recorded.get()?.autoscaling_group_name;
        let request = cx.autoscaling.describe_policies().auto_scaling_group_name(group).policy_names(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        Ok(found.scaling_policies().first().map(|policy| {
            Live::untaggable()
                .attr("adjustment", policy.scaling_adjustment().unwrap_or_default())
                .attr("cooldown_seconds", policy.cooldown().unwrap_or_default())
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, recorded: Stored<'_, ScalingPolicyAttrs>) -> anyhow::Result<()> {
        let group = recorded.get()?.autoscaling_group_name;
        gone_is_fine(cx.autoscaling.delete_policy().auto_scaling_group_name(group).policy_name(id).send().await)
    }
}
