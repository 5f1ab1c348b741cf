//! `listener`: port 80 on the load balancer, forwarding to the target group.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};
use serde::{Deserialize, Serialize};

use super::{Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine, note_created};

/// The `listener` kind.
pub struct Listener;

/// A `listener`'s attributes; `R` is how the load balancer's and target group's ARNs are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerAttrs<R = String> {
    /// The load balancer it listens on.
    pub load_balancer_arn: R,
    /// The port it listens on.
    pub port: u16,
    /// The target group it forwards to.
    pub target_group_arn: R,
}

impl<R: Serialize> Attributes for ListenerAttrs<R> {
    const KIND: &'static str = "listener";
    const UPDATABLE: &'static [&'static str] = &["port", "target_group_arn"];
}

fn forward(attrs: &ListenerAttrs) -> Action {
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&attrs.target_group_arn).build()
}

#[async_trait]
impl TypedKind for Listener {
    type Attrs = ListenerAttrs;

    async fn create(&self, cx: &Cx, _address: &str, attrs: &ListenerAttrs) -> anyhow::Result<Applied> {
        let created = cx
            .elb
            .create_listener()
            .load_balancer_arn(&attrs.load_balancer_arn)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(attrs.port))
            .default_actions(forward(attrs))
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

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &ListenerAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let request = cx.elb.describe_listeners().load_balancer_arn(&attrs.load_balancer_arn);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        let port = i32::from(attrs.port);
        let arn = found.listeners().iter().find(|l| l.port() == Some(port)).and_then(|l| l.listener_arn());
        Ok(arn.map(|arn| Applied::with_id(arn).output("arn", arn)))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        _before: &ListenerAttrs,
        after: &ListenerAttrs,
    ) -> anyhow::Result<Applied> {
        cx.elb
            .modify_listener()
            .listener_arn(id)
            .port(i32::from(after.port))
            .default_actions(forward(after))
            .send()
            .await
            .refused()?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, ListenerAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.elb.describe_listeners().listener_arns(id).send().await)? else { return Ok(None) };
        Ok(found
            .listeners()
            .first()
            .map(|listener| Live::untaggable().attr("port", listener.port().unwrap_or_default())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, ListenerAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.elb.delete_listener().listener_arn(id).send().await)
    }
}
