//! `target_group`: the app instances behind the load balancer, health-checked on the
//! stack's path and interval.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, Tag, TargetTypeEnum};
use serde_json::{Value, json};

use super::{Applied, Attrs, Cx, Kind, Live, found, gone_is_fine, int, tags, text};

/// The `target_group` kind.
pub struct TargetGroup;

#[async_trait]
impl Kind for TargetGroup {
    fn name(&self) -> &'static str {
        "target_group"
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let tags = tags::pairs(attrs, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .elb
            .create_target_group()
            .name(text(attrs, "name")?)
            .protocol(ProtocolEnum::Http)
            .port(int(attrs, "port")?)
            .vpc_id(text(attrs, "vpc_id")?)
            .target_type(TargetTypeEnum::Instance)
            .health_check_path(text(attrs, "health_check_path")?)
            .health_check_interval_seconds(int(attrs, "health_check_interval_seconds")?)
            .set_tags(Some(tags.collect()))
            .send()
            .await?;
        let arn = created
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .ok_or_else(|| anyhow::anyhow!("CreateTargetGroup returned no ARN"))?;
        Ok(Applied::with_id(arn).output("arn", arn))
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
        let found = found(cx.elb.describe_target_groups().names(text(attrs, "name")?).send().await)?;
        let arn = found.as_ref().and_then(|f| f.target_groups().first()).and_then(|t| t.target_group_arn());
        Ok(arn.map(|arn| Applied::with_id(arn).output("arn", arn)))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        _before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        cx.elb
            .modify_target_group()
            .target_group_arn(id)
            .health_check_path(text(after, "health_check_path")?)
            .health_check_interval_seconds(int(after, "health_check_interval_seconds")?)
            .send()
            .await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.elb.describe_target_groups().target_group_arns(id).send().await)? else {
            return Ok(None);
        };
        let Some(group) = found.target_groups().first() else { return Ok(None) };
        let health = cx.elb.describe_target_health().target_group_arn(id).send().await?;
        let targets: Vec<Value> = health
            .target_health_descriptions()
            .iter()
            .map(|t| {
                json!({
                    "id": t.target().map(|t| t.id()).unwrap_or_default(),
                    "port": t.target().and_then(|t| t.port()),
                    "health": t.target_health().and_then(|h| h.state()).map(|s| s.as_str()).unwrap_or("unknown"),
                })
            })
            .collect();
        Ok(Some(
            tags::elb_live(cx, id)
                .await?
                .attr("health_check_path", group.health_check_path().unwrap_or_default())
                .attr("health_check_interval_seconds", group.health_check_interval_seconds().unwrap_or_default())
                .detail("targets", targets),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.elb.delete_target_group().target_group_arn(id).send().await)
    }
}
