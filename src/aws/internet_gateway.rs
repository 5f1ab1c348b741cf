//! `internet_gateway`: the VPC's way out, attached at creation and detached before deletion.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;

use super::{Applied, Attrs, Cx, Kind, Live, already_done, found, gone_is_fine, tags, text, until_released};

/// The `internet_gateway` kind.
pub struct InternetGateway;

#[async_trait]
impl Kind for InternetGateway {
    fn name(&self) -> &'static str {
        "internet_gateway"
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let created = cx
            .ec2
            .create_internet_gateway()
            .tag_specifications(tags::ec2_spec(attrs, address, ResourceType::InternetGateway))
            .send()
            .await?;
        let id = created
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| anyhow::anyhow!("CreateInternetGateway returned no id"))?;
        cx.ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(text(attrs, "vpc_id")?).send().await?;
        Ok(Applied::with_id(id))
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
        let found = cx.ec2.describe_internet_gateways().filters(tags::ec2_stack_filter(cx)).send().await?;
        let Some(gateway) = found.internet_gateways().iter().find(|g| tags::has_address(g.tags(), address)) else {
            return Ok(None);
        };
        let id = gateway.internet_gateway_id().unwrap_or_default();
        if gateway.attachments().is_empty() {
            let attach = cx.ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(text(attrs, "vpc_id")?);
            already_done(attach.send().await, &["Resource.AlreadyAssociated"])?;
        }
        Ok(Some(Applied::with_id(id)))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        tags::update_ec2(cx, id, before, after).await?;
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let request = cx.ec2.describe_internet_gateways().internet_gateway_ids(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        Ok(found.internet_gateways().first().map(|gateway| tags::ec2_live(gateway.tags())))
    }

    async fn delete(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<()> {
        // Detaching fails while public addresses are still mapped in the VPC.
        let vpc = text(attrs, "vpc_id")?;
        gone_is_fine(
            until_released("public addresses to be released from the VPC", || {
                cx.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send()
            })
            .await,
        )?;
        gone_is_fine(cx.ec2.delete_internet_gateway().internet_gateway_id(id).send().await)
    }
}
