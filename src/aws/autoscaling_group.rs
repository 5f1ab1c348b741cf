//! `autoscaling_group`: 2–5 instances of the launch template across the public subnets,
//! registered in the target group and replaced when the load balancer finds them unhealthy.
//! The group is pinned to an explicit template version; a new version reaches the running
//! instances through an instance refresh ([`rollout`]) that the stack's deploy alarms can
//! roll back. Deleting scales to zero and waits for every instance to terminate first, so
//! that the security groups and subnets can go after it.

pub mod rollout;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tags::{TagChange, Tags};
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, Refused, Stored, TypedKind, is_gone, note_created, poll, retrying,
    tags,
};

/// The `autoscaling_group` kind.
pub struct AutoscalingGroup;

/// An `autoscaling_group`'s attributes; `R` is how the ids of other resources are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscalingGroupAttrs<R = String> {
    /// Its name, unique in the region.
    pub name: String,
    /// The fewest instances it keeps.
    pub min_size: u32,
    /// The most instances it scales to.
    pub max_size: u32,
    /// The instances it starts with (the alarms move it since).
    pub desired_capacity: u32,
    /// The launch template its instances start from.
    pub launch_template_id: R,
    /// Which version of it: a number, rolled out to the instances when it changes.
    pub launch_template_version: R,
    /// The subnets its instances run in.
    pub subnet_ids: Vec<R>,
    /// The target groups its instances register in.
    pub target_group_arns: Vec<R>,
    /// What tells an unhealthy instance (`ELB`: the load balancer's health check).
    pub health_check_type: String,
    /// Seconds a new instance has to boot before its health counts.
    pub health_check_grace_period: u32,
    /// Alarms that stop a rollout and roll it back (absent from states written before them).
    #[serde(default)]
    pub deploy_alarms: Vec<R>,
    /// Its tags (not propagated to instances: the launch template tags them).
    pub tags: Tags,
}

impl<R: Serialize> Attributes for AutoscalingGroupAttrs<R> {
    const KIND: &'static str = "autoscaling_group";
    const UPDATABLE: &'static [&'static str] = &[
        "min_size",
        "max_size",
        "desired_capacity",
        "launch_template_id",
        "launch_template_version",
        "subnet_ids",
        "target_group_arns",
        "health_check_type",
        "health_check_grace_period",
        "deploy_alarms",
        "tags",
    ];
}

/// A new instance profile that Auto Scaling cannot use yet: IAM changes take seconds to
/// reach other services (Terraform's AWS provider waits this out for 2 minutes).
const NEW_PROFILE: CatchUp = CatchUp {
    codes: &["ValidationError"],
    message: &["Invalid IAM Instance Profile"],
    patience: Duration::from_secs(120),
    waiting_for: "the new instance profile to reach Auto Scaling",
};

/// The scaling activity that terminated the instances has not ended yet.
const ACTIVITY_ENDING: CatchUp = CatchUp {
    codes: &["ScalingActivityInProgress", "ResourceInUse"],
    message: &[],
    patience: Duration::from_secs(5 * 60),
    waiting_for: "the group's last scaling activity to end",
};

/// Subnets or a launch template created moments ago that Auto Scaling does not know yet.
const NEW_NETWORK: CatchUp = CatchUp {
    codes: &["ValidationError"],
    message: &["does not exist"],
    patience: Duration::from_secs(120),
    waiting_for: "Auto Scaling to see the new subnets and launch template",
};
fn template(attrs: &AutoscalingGroupAttrs) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(&attrs.launch_template_id)
        .version(&attrs.launch_template_version)
        .build()
}

/// The group's instance count, or `None` once the group is gone.
async fn instance_count(cx: &Cx, name: &str) -> anyhow::Result<Option<usize>> {
    let found = cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.refused()?;
    Ok(found.auto_scaling_groups().first().map(|g| g.instances().len()))
}

#[async_trait]
impl TypedKind for AutoscalingGroup {
    type Attrs = AutoscalingGroupAttrs;

    fn expected_duration(&self) -> Duration {
        // Instances launch (and, on deletion, terminate).
        Duration::from_secs(60)
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &AutoscalingGroupAttrs) -> anyhow::Result<Applied> {
        let name = &attrs.name;
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .resource_id(name)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(false)
                .build()
        });
        let create = cx
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(i32::try_from(attrs.min_size)?)
            .max_size(i32::try_from(attrs.max_size)?)
            .desired_capacity(i32::try_from(attrs.desired_capacity)?)
            .launch_template(template(attrs))
            .vpc_zone_identifier(attrs.subnet_ids.join(","))
            .set_target_group_arns(Some(attrs.target_group_arns.clone()))
            .health_check_type(&attrs.health_check_type)
            .health_check_grace_period(i32::try_from(attrs.health_check_grace_period)?)
            .set_tags(Some(tags.collect()));
        retrying(&[NEW_PROFILE, NEW_NETWORK], || create.clone().send()).await?;
        note_created(name);
        Ok(self.adopt(cx, address, attrs, Hint::Settled).await?.unwrap_or_else(|| Applied::with_id(name)))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &AutoscalingGroupAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let name = attrs.name.as_str();
        let found =
            cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.refused()?;
        let arn = found.auto_scaling_groups().first().map(|g| g.auto_scaling_group_arn().unwrap_or_default());
        Ok(arn.map(|arn| Applied::with_id(name).output("name", name).output("arn", arn)))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &AutoscalingGroupAttrs,
        after: &AutoscalingGroupAttrs,
    ) -> anyhow::Result<Applied> {
        let mut request = cx
            .autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(id)
            .min_size(i32::try_from(after.min_size)?)
            .max_size(i32::try_from(after.max_size)?)
            .vpc_zone_identifier(after.subnet_ids.join(","))
            .health_check_type(&after.health_check_type)
            .health_check_grace_period(i32::try_from(after.health_check_grace_period)?);
        // Only a changed `desired` is sent: the alarms move the live count, and re-applying
        // the stack must not undo their work.
        if before.desired_capacity != after.desired_capacity {
            request = request.desired_capacity(i32::try_from(after.desired_capacity)?);
        }
        retrying(&[NEW_PROFILE, NEW_NETWORK], || request.clone().send()).await?;
        let (old, new) = (&before.target_group_arns, &after.target_group_arns);
        let attach: Vec<String> = new.iter().filter(|a| !old.contains(a)).cloned().collect();
        let detach: Vec<String> = old.iter().filter(|a| !new.contains(a)).cloned().collect();
        if !attach.is_empty() {
            cx.autoscaling
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(id)
                .set_target_group_arns(Some(attach))
                .send()
                .await
                .refused()?;
        }
        if !detach.is_empty() {
            cx.autoscaling
                .detach_load_balancer_target_groups()
                .auto_scaling_group_name(id)
                .set_target_group_arns(Some(detach))
                .send()
                .await
                .refused()?;
        }
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            let tag = |(k, v): (String, String)| {
                let tag = Tag::builder().key(k).value(v).resource_id(id).resource_type("auto-scaling-group");
                tag.propagate_at_launch(false).build()
            };
            if !change.removed.is_empty() {
                let removed = change.removed.into_iter().map(|k| tag((k, String::new())));
                cx.autoscaling.delete_tags().set_tags(Some(removed.collect())).send().await.refused()?;
            }
            let set = change.set.into_iter().map(tag);
            cx.autoscaling.create_or_update_tags().set_tags(Some(set.collect())).send().await.refused()?;
        }
        // The template is not set above: the refresh moves the group to it once the new
        // version is healthy, and can move it back.
        let rollout = rollout::Rollout {
            group: id,
            template_id: &after.launch_template_id,
            version: &after.launch_template_version,
            warmup: after.health_check_grace_period,
            alarms: &after.deploy_alarms,
        };
        rollout::roll_out(cx, &rollout, cx.follow_rollouts, &|line| super::note_wait(line)).await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, AutoscalingGroupAttrs>) -> anyhow::Result<Option<Live>> {
        let found =
            cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(id).send().await.refused()?;
        let Some(group) = found.auto_scaling_groups().first() else { return Ok(None) };
        let instances: Vec<Value> = group
            .instances()
            .iter()
            .map(|i| {
                json!({
                    "id": i.instance_id(),
                    "lifecycle": i.lifecycle_state().map(|s| s.as_str()),
                    "health": i.health_status(),
                    "zone": i.availability_zone(),
                    "version": i.launch_template().and_then(|t| t.version()).map(|v| format!("v{v}")),
                })
            })
            .collect();
        // `desired` is left out on purpose: the alarms move it, and that is not drift. The
        // template is in: a group on another version (a rollout cut off, failed or rolled
        // back) is rolled out again by the next `up`.
        let template = group.launch_template();
        Ok(Some(
            Live::tagged(group.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())))
                .attr("min_size", group.min_size().unwrap_or_default())
                .attr("max_size", group.max_size().unwrap_or_default())
                .attr("launch_template_id", template.and_then(|t| t.launch_template_id()).unwrap_or_default())
                .attr("launch_template_version", template.and_then(|t| t.version()).unwrap_or_default())
                .detail("desired_capacity", group.desired_capacity().unwrap_or_default())
                .detail("instances", instances),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, AutoscalingGroupAttrs>) -> anyhow::Result<()> {
        let scale_in = cx.autoscaling.update_auto_scaling_group().auto_scaling_group_name(id);
        match scale_in.min_size(0).max_size(0).desired_capacity(0).send().await.refused() {
            Ok(_) => {}
            Err(refusal) if is_gone(&refusal) || instance_count(cx, id).await?.is_none() => return Ok(()),
            Err(refusal) => return Err(refusal.into()),
        }
        poll("ASG instances to terminate", || async { Ok(instance_count(cx, id).await?.unwrap_or(0) == 0) }).await?;
        let delete = || cx.autoscaling.delete_auto_scaling_group().auto_scaling_group_name(id).send();
        retrying(&[ACTIVITY_ENDING], delete).await?;
        poll("the Auto Scaling group to be deleted", || async { Ok(instance_count(cx, id).await?.is_none()) }).await
    }
}
