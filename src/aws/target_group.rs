//! `target_group`: the app instances behind the load balancer, health-checked on the
//! stack's path, interval and timeout; a deregistered instance gets the stack's
//! deregistration delay to finish its requests.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, Tag, TargetGroupAttribute, TargetTypeEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tags::Tags;
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine, note_created,
    retrying, tags,
};

/// The `target_group` kind.
pub struct TargetGroup;

/// A `target_group`'s attributes; `R` is how the VPC's id is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupAttrs<R = String> {
    /// Its name, unique in the region.
    pub name: String,
    /// The VPC its instances are in.
    pub vpc_id: R,
    /// The port the instances serve on.
    pub port: u16,
    /// The path the load balancer checks.
    pub health_check_path: String,
    /// Seconds between checks.
    pub health_check_interval_seconds: u32,
    /// Seconds a check may take (absent from states written before it was).
    #[serde(default)]
    pub health_check_timeout_seconds: u32,
    /// Seconds a deregistered instance gets to finish its requests (absent from states
    /// written before it was).
    #[serde(default)]
    pub deregistration_delay_seconds: u32,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for TargetGroupAttrs<R> {
    const KIND: &'static str = "target_group";
    const UPDATABLE: &'static [&'static str] = &[
        "health_check_path",
        "health_check_interval_seconds",
        "health_check_timeout_seconds",
        "deregistration_delay_seconds",
        "tags",
    ];
}

/// A VPC created moments ago that ELB does not know yet.
const NEW_VPC: CatchUp = CatchUp {
    codes: &["ValidationError"],
    message: &["VPC ID", "vpc ID"],
    patience: Duration::from_secs(120),
    waiting_for: "ELB to see the new VPC",
};

/// A listener deleted moments ago still holds the group (ELB answers `ResourceInUse`).
const LISTENER_RELEASE: CatchUp = CatchUp {
    codes: &["ResourceInUse"],
    message: &[],
    patience: Duration::from_secs(5 * 60),
    waiting_for: "the deleted listener to release the target group",
};

/// ELB's attribute for the deregistration delay.
const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

async fn set_deregistration_delay(cx: &Cx, arn: &str, attrs: &TargetGroupAttrs) -> anyhow::Result<()> {
    let delay = attrs.deregistration_delay_seconds;
    let attribute = TargetGroupAttribute::builder().key(DEREGISTRATION_DELAY).value(delay.to_string()).build();
    cx.elb.modify_target_group_attributes().target_group_arn(arn).attributes(attribute).send().await.refused()?;
    Ok(())
}

#[async_trait]
impl TypedKind for TargetGroup {
    type Attrs = TargetGroupAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &TargetGroupAttrs) -> anyhow::Result<Applied> {
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let create = cx
            .elb
            .create_target_group()
            .name(&attrs.name)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(attrs.port))
            .vpc_id(&attrs.vpc_id)
            .target_type(TargetTypeEnum::Instance)
            .health_check_path(&attrs.health_check_path)
            .health_check_interval_seconds(i32::try_from(attrs.health_check_interval_seconds)?)
            .health_check_timeout_seconds(i32::try_from(attrs.health_check_timeout_seconds)?)
            .set_tags(Some(tags.collect()));
        let created = retrying(&[NEW_VPC], || create.clone().send()).await?;
        let arn = created
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .ok_or_else(|| anyhow::anyhow!("CreateTargetGroup returned no ARN"))?;
        note_created(arn);
        set_deregistration_delay(cx, arn, attrs).await?;
        Ok(Applied::with_id(arn).output("arn", arn))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &TargetGroupAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let found = found(cx.elb.describe_target_groups().names(&attrs.name).send().await)?;
        let arn = found.as_ref().and_then(|f| f.target_groups().first()).and_then(|t| t.target_group_arn());
        let Some(arn) = arn else { return Ok(None) };
        set_deregistration_delay(cx, arn, attrs).await?;
        Ok(Some(Applied::with_id(arn).output("arn", arn)))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &TargetGroupAttrs,
        after: &TargetGroupAttrs,
    ) -> anyhow::Result<Applied> {
        cx.elb
            .modify_target_group()
            .target_group_arn(id)
            .health_check_path(&after.health_check_path)
            .health_check_interval_seconds(i32::try_from(after.health_check_interval_seconds)?)
            .health_check_timeout_seconds(i32::try_from(after.health_check_timeout_seconds)?)
            .send()
            .await
            .refused()?;
        if before.deregistration_delay_seconds != after.deregistration_delay_seconds {
            set_deregistration_delay(cx, id, after).await?;
        }
        tags::update_elb(cx, id, &before.tags, &after.tags).await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, TargetGroupAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.elb.describe_target_groups().target_group_arns(id).send().await)? else {
            return Ok(None);
        };
        let Some(group) = found.target_groups().first() else { return Ok(None) };
        let health = cx.elb.describe_target_health().target_group_arn(id).send().await.refused()?;
        let targets: Vec<Value> = health
            .target_health_descriptions()
            .iter()
            .map(|t| {
                json!({
                    "id": t.target().map(|t| t.id()).unwrap_or_default(),
                    "port": t.target().and_then(|t| t.port()),
                    "health": t.target_health().and_then(|h| h.state()).map(|s| s.as_str()).unwrap_or("unknown"),
                    "reason": t.target_health().and_then(|h| h.description()),
                })
            })
            .collect();
        let attributes = cx.elb.describe_target_group_attributes().target_group_arn(id).send().await.refused()?;
        let mut live = tags::elb_live(cx, id)
            .await?
            .attr("health_check_path", group.health_check_path().unwrap_or_default())
            .attr("health_check_interval_seconds", group.health_check_interval_seconds().unwrap_or_default())
            .attr("health_check_timeout_seconds", group.health_check_timeout_seconds().unwrap_or_default())
            .detail("targets", targets);
        let delay = attributes.attributes().iter().find(|a| a.key() == Some(DEREGISTRATION_DELAY));
        if let Some(delay) = delay.and_then(|a| a.value()).and_then(|v| v.parse::<i64>().ok()) {
            live = live.attr("deregistration_delay_seconds", delay);
        }
        Ok(Some(live))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, TargetGroupAttrs>) -> anyhow::Result<()> {
        let delete = || cx.elb.delete_target_group().target_group_arn(id).send();
        gone_is_fine(retrying(&[LISTENER_RELEASE], delete).await)
    }
}
