//! `secret_parameter`: a secret the instances share, made once by cloudcomp and kept as an
//! SSM SecureString parameter (the app's JWT signing key, so that a token one instance
//! signs is valid on every other). Only the stack's instance role may read it; the value
//! is generated here, sent to SSM and forgotten: it is never in the state file, the launch
//! template, the user data or any output. Reads and adoption look at the parameter's
//! metadata only.

use async_trait::async_trait;
use aws_sdk_ssm::types::{ParameterMetadata, ParameterStringFilter, ParameterType, ResourceTypeForTagging, Tag};
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::tags::{TagChange, Tags};
use super::{
    Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind, already_done, gone_is_fine, note_created, tags,
};

/// The `secret_parameter` kind.
pub struct SecretParameter;

/// A `secret_parameter`'s attributes (never its value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretParameterAttrs {
    /// Its name, a path (`/cloudcomp/<stack>/jwt-key`).
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Its tags.
    pub tags: Tags,
}

impl Attributes for SecretParameterAttrs {
    const KIND: &'static str = "secret_parameter";
    const UPDATABLE: &'static [&'static str] = &["tags"];
}

/// Random bytes in a new secret (256 bits, as HS256 wants).
const SECRET_BYTES: usize = 32;

/// The parameter `name`'s metadata (never its value), if it exists.
async fn metadata(cx: &Cx, name: &str) -> anyhow::Result<Option<ParameterMetadata>> {
    let filter = ParameterStringFilter::builder().key("Name").option("Equals").values(name).build()?;
    let found = cx.ssm.describe_parameters().parameter_filters(filter).send().await.refused()?;
    Ok(found.parameters().first().cloned())
}

/// The parameter `name` as `create` returns it (its ARN read back from SSM), if it exists.
async fn existing(cx: &Cx, name: &str) -> anyhow::Result<Option<Applied>> {
    if metadata(cx, name).await?.is_none() {
        return Ok(None);
    }
    // The ARN only; without decryption the value stays sealed.
    let parameter = cx.ssm.get_parameter().name(name).with_decryption(false).send().await.refused()?;
    let arn = parameter.parameter().and_then(|p| p.arn()).unwrap_or_default();
    Ok(Some(Applied::with_id(name).output("name", name).output("arn", arn)))
}

#[async_trait]
impl TypedKind for SecretParameter {
    type Attrs = SecretParameterAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &SecretParameterAttrs) -> anyhow::Result<Applied> {
        let name = &attrs.name;
        let mut secret = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret);
        let value = base64::engine::general_purpose::STANDARD.encode(secret);
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let put = cx
            .ssm
            .put_parameter()
            .name(name)
            .description(&attrs.description)
            .r#type(ParameterType::SecureString)
            .value(value)
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await;
        // One a cut-off run made already is kept: instances may hold tokens it signed.
        already_done(put, &["ParameterAlreadyExists"])?;
        note_created(name);
        existing(cx, name).await?.ok_or_else(|| anyhow::anyhow!("parameter {name} not found after creating it"))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &SecretParameterAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        existing(cx, &attrs.name).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &SecretParameterAttrs,
        after: &SecretParameterAttrs,
    ) -> anyhow::Result<Applied> {
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            let parameter = ResourceTypeForTagging::Parameter;
            if !change.removed.is_empty() {
                let remove = cx.ssm.remove_tags_from_resource().resource_type(parameter.clone()).resource_id(id);
                remove.set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            let add = cx.ssm.add_tags_to_resource().resource_type(parameter).resource_id(id);
            add.set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        existing(cx, id).await?.ok_or_else(|| anyhow::anyhow!("parameter {id} is gone"))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, SecretParameterAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(parameter) = metadata(cx, id).await? else { return Ok(None) };
        let request = cx.ssm.list_tags_for_resource().resource_type(ResourceTypeForTagging::Parameter).resource_id(id);
        let tags = request.send().await.refused()?;
        Ok(Some(
            Live::tagged(tags.tag_list().iter().map(|t| (t.key(), t.value())))
                .detail("version", parameter.version())
                .detail("type", parameter.r#type().map(|t| t.as_str()).unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, SecretParameterAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.ssm.delete_parameter().name(id).send().await)
    }
}
