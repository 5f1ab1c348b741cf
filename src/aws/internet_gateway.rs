//! `internet_gateway`: the VPC's way out, attached at creation and detached before deletion.

use async_trait::async_trait;
use aws_sdk_ec2::types::{InternetGateway as Gateway, ResourceType};
use serde::{Deserialize, Serialize};

use super::tags::{Ec2Type, Tags};
use super::{
    Applied, Attributes, CatchUp, Cx, Hint, Live, NEW_EC2_ID, RELEASE, Refused, Stored, TypedKind, already_done, found,
    gone_is_fine, note_created, retrying, tags,
};

/// The `internet_gateway` kind.
pub struct InternetGateway;

/// An `internet_gateway`'s attributes; `R` is how the VPC's id is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetGatewayAttrs<R = String> {
    /// The VPC it is attached to.
    pub vpc_id: R,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for InternetGatewayAttrs<R> {
    const KIND: &'static str = "internet_gateway";
    const UPDATABLE: &'static [&'static str] = &["tags"];
}

async fn attach(cx: &Cx, id: &str, vpc_id: &str) -> anyhow::Result<()> {
    let attach = cx.ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc_id);
    already_done(retrying(&[NEW_EC2_ID], || attach.clone().send()).await, &["Resource.AlreadyAssociated"])
}

/// The gateway `id` as EC2 describes it now (`None` once it is gone).
async fn describe(cx: &Cx, id: &str) -> anyhow::Result<Option<Gateway>> {
    let request = cx.ec2.describe_internet_gateways().internet_gateway_ids(id);
    let found = found(request.send().await)?;
    Ok(found.and_then(|f| f.internet_gateways().first().cloned()))
}

#[async_trait]
impl TypedKind for InternetGateway {
    type Attrs = InternetGatewayAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &InternetGatewayAttrs) -> anyhow::Result<Applied> {
        let created = cx
            .ec2
            .create_internet_gateway()
            .tag_specifications(tags::ec2_spec(&attrs.tags, address, ResourceType::InternetGateway))
            .send()
            .await
            .refused()?;
        let id = created
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| anyhow::anyhow!("CreateInternetGateway returned no id"))?;
        note_created(id);
        attach(cx, id, &attrs.vpc_id).await?;
        Ok(Applied::with_id(id))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        address: &str,
        attrs: &InternetGatewayAttrs,
        hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::InternetGateway, address, hint).await? else { return Ok(None) };
        // Not yet listed by id either, or without its attachment: attaching settles both.
        if describe(cx, &id).await?.is_none_or(|gateway| gateway.attachments().is_empty()) {
            attach(cx, &id, &attrs.vpc_id).await?;
        }
        Ok(Some(Applied::with_id(id)))
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::InternetGateway, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &InternetGatewayAttrs,
        after: &InternetGatewayAttrs,
    ) -> anyhow::Result<Applied> {
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, InternetGatewayAttrs>) -> anyhow::Result<Option<Live>> {
        Ok(describe(cx, id).await?.map(|gateway| tags::ec2_live(gateway.tags())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, InternetGatewayAttrs>) -> anyhow::Result<()> {
        // Detached from whatever VPC it is attached to now (a copy left by a cut-off run
        // may hang on another); refused while public addresses are still mapped there.
        let Some(gateway) = describe(cx, id).await? else { return Ok(()) };
        for vpc in gateway.attachments().iter().filter_map(|a| a.vpc_id()) {
            let detach = cx.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc);
            let release = CatchUp { waiting_for: "public addresses to be released from the VPC", ..RELEASE };
            let detached = retrying(&[release], || detach.clone().send()).await;
            already_done(detached, &["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"])?;
        }
        gone_is_fine(cx.ec2.delete_internet_gateway().internet_gateway_id(id).send().await)
    }
}
