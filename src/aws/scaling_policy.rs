//! `scaling_policy`: add or remove instances, with a cooldown; the alarms trigger it.
//! moto answers PutScalingPolicy with `PolicyArn`, not `PolicyARN`, so the ARN is read back
//! with DescribePolicies.

use async_trait::async_trait;

use super::{Applied, Attrs, Cx, Hint, Kind, Live, Refused, found, gone_is_fine, int, text};

/// The `scaling_policy` kind.
pub struct ScalingPolicy;

async fn put(cx: &Cx, attrs: &Attrs) -> anyhow::Result<Applied> {
    let (group, name) = (text(attrs, "autoscaling_group_name")?, text(attrs, "name")?);
    cx.autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(group)
        .policy_name(name)
        .policy_type("SimpleScaling")
        .adjustment_type("ChangeInCapacity")
        .scaling_adjustment(int(attrs, "adjustment")?)
        .cooldown(int(attrs, "cooldown_seconds")?)
        .send()
        .await
        .refused()?;
    existing(cx, attrs).await?.ok_or_else(|| anyhow::anyhow!("policy {name} not found after creating it"))
}

/// The policy `attrs` name, as `create` returns it.
async fn existing(cx: &Cx, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
    let (group, name) = (text(attrs, "autoscaling_group_name")?, text(attrs, "name")?);
    let request = cx.autoscaling.describe_policies().auto_scaling_group_name(group).policy_names(name);
    let Some(found) = found(request.send().await)? else { return Ok(None) };
    let arn = found.scaling_policies().first().and_then(|p| p.policy_arn());
    Ok(arn.map(|arn| Applied::with_id(name).output("arn", arn)))
}

#[async_trait]
impl Kind for ScalingPolicy {
    fn name(&self) -> &'static str {
        "scaling_policy"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["adjustment", "cooldown_seconds"]
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        put(cx, attrs).await
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        existing(cx, attrs).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        _id: &str,
        _before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        put(cx, after).await
    }

    async fn read(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let group = text(attrs, "autoscaling_group_name")?;
        let request = cx.autoscaling.describe_policies().auto_scaling_group_name(group).policy_names(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        Ok(found.scaling_policies().first().map(|policy| {
            Live::untaggable()
                .attr("adjustment", policy.scaling_adjustment().unwrap_or_default())
                .attr("cooldown_seconds", policy.cooldown().unwrap_or_default())
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<()> {
        let group = text(attrs, "autoscaling_group_name")?;
        gone_is_fine(cx.autoscaling.delete_policy().auto_scaling_group_name(group).policy_name(id).send().await)
    }
}
