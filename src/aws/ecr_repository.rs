//! `ecr_repository`: where the app image is pushed; scanned on push, tags immutable.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};
use serde::{Deserialize, Serialize};

use super::tags::{TagChange, Tags};
use super::{Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind, found, gone_is_fine, note_created, tags};

/// The `ecr_repository` kind.
pub struct EcrRepository;

/// An `ecr_repository`'s attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcrRepositoryAttrs {
    /// Its name (`cloudcomp/<stack>`).
    pub name: String,
    /// Its tags.
    pub tags: Tags,
}

impl Attributes for EcrRepositoryAttrs {
    const KIND: &'static str = "ecr_repository";
    const UPDATABLE: &'static [&'static str] = &["tags"];
}

fn applied(repository: &Repository) -> Applied {
    Applied::with_id(repository.repository_name().unwrap_or_default())
        .output("arn", repository.repository_arn().unwrap_or_default())
        .output("url", repository.repository_uri().unwrap_or_default())
}

#[async_trait]
impl TypedKind for EcrRepository {
    type Attrs = EcrRepositoryAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &EcrRepositoryAttrs) -> anyhow::Result<Applied> {
        let name = &attrs.name;
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .ecr
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::Immutable)
            .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await
            .refused()?;
        let repository = created.repository().ok_or_else(|| anyhow::anyhow!("CreateRepository returned nothing"))?;
        note_created(name);
        Ok(applied(repository))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &EcrRepositoryAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let request = cx.ecr.describe_repositories().repository_names(&attrs.name);
        let found = found(request.send().await)?;
        Ok(found.as_ref().and_then(|f| f.repositories().first()).map(applied))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &EcrRepositoryAttrs,
        after: &EcrRepositoryAttrs,
    ) -> anyhow::Result<Applied> {
        let found = cx.ecr.describe_repositories().repository_names(id).send().await.refused()?;
        let repository = found.repositories().first().ok_or_else(|| anyhow::anyhow!("repository {id} is gone"))?;
        let arn = repository.repository_arn().unwrap_or_default();
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            if !change.removed.is_empty() {
                let untag = cx.ecr.untag_resource().resource_arn(arn);
                untag.set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            let tag = cx.ecr.tag_resource().resource_arn(arn);
            tag.set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        Ok(applied(repository))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, EcrRepositoryAttrs>) -> anyhow::Result<Option<Live>> {
        let request = cx.ecr.describe_repositories().repository_names(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        let Some(repository) = found.repositories().first() else { return Ok(None) };
        let arn = repository.repository_arn().unwrap_or_default();
        let tags = cx.ecr.list_tags_for_resource().resource_arn(arn).send().await.refused()?;
        Ok(Some(
            Live::tagged(tags.tags().iter().map(|t| (t.key(), t.value())))
                .detail("url", repository.repository_uri().unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, EcrRepositoryAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.ecr.delete_repository().repository_name(id).force(true).send().await)
    }
}
