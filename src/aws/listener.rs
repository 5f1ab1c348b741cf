//! `listener`: port 80 on the load balancer, forwarding to the target group.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};
use serde_json::Value;

use super::{Applied, Attrs, Cx, Hint, Kind, Live, Refused, found, gone_is_fine, note_created, text};

/// The `listener` kind.
pub struct Listener;

fn forward(attrs: &Attrs) -> anyhow::Result<Action> {
    Ok(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(text(attrs, "target_group_arn")?).build())
}

fn port(attrs: &Attrs) -> anyhow::Result<i32> {
    Ok(i32::try_from(attrs.get("port").and_then(Value::as_i64).unwrap_or(80))?)
}

#[async_trait]
impl Kind for Listener {
    fn name(&self) -> &'static str {
        "listener"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["port", "target_group_arn"]
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let created = cx
            .elb
            .create_listener()
            .load_balancer_arn(text(attrs, "load_balancer_arn")?)
            .protocol(ProtocolEnum::Http)
            .port(port(attrs)?)
            .default_actions(forward(attrs)?)
            .send()
            .await
            .refused()?;
        let arn = created
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| anyhow::anyhow!("CreateListener returned no ARN"))?;
        note_created(arn);
        Ok(Applied::with_id(arn).output("arn", arn))
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let request = cx.elb.describe_listeners().load_balancer_arn(text(attrs, "load_balancer_arn")?);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        let port = port(attrs)?;
        let arn = found.listeners().iter().find(|l| l.port() == Some(port)).and_then(|l| l.listener_arn());
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
            .modify_listener()
            .listener_arn(id)
            .port(port(after)?)
            .default_actions(forward(after)?)
            .send()
            .await
            .refused()?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.elb.describe_listeners().listener_arns(id).send().await)? else { return Ok(None) };
        Ok(found
            .listeners()
            .first()
            .map(|listener| Live::untaggable().attr("port", listener.port().unwrap_or_default())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.elb.delete_listener().listener_arn(id).send().await)
    }
}
