//! `instance_profile`: carries the role onto the instances.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use serde::{Deserialize, Serialize};

use super::tags::{TagChange, Tags};
use super::{
    Applied, Attributes, Cx, Hint, Live, NEW_IAM_ENTITY, Refused, Stored, TypedKind, already_done, found, gone_is_fine,
    note_created, retrying, tags,
};

/// The `instance_profile` kind.
pub struct InstanceProfile;

/// An `instance_profile`'s attributes; `R` is how the role's name is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfileAttrs<R = String> {
    /// Its name, unique in the account.
    pub name: String,
    /// The role it carries.
    pub role_name: R,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for InstanceProfileAttrs<R> {
    const KIND: &'static str = "instance_profile";
    const UPDATABLE: &'static [&'static str] = &["role_name", "tags"];
}

/// Puts `role` into the profile `name` (either may be new to IAM still).
async fn add_role(cx: &Cx, name: &str, role: &str) -> anyhow::Result<()> {
    let add = cx.iam.add_role_to_instance_profile().instance_profile_name(name).role_name(role);
    already_done(retrying(&[NEW_IAM_ENTITY], || add.clone().send()).await, &["LimitExceeded"])
}

#[async_trait]
impl TypedKind for InstanceProfile {
    type Attrs = InstanceProfileAttrs;

    fn expected_duration(&self) -> Duration {
        // IAM propagates a new profile.
        Duration::from_secs(10)
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &InstanceProfileAttrs) -> anyhow::Result<Applied> {
        let name = &attrs.name;
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .iam
            .create_instance_profile()
            .instance_profile_name(name)
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await
            .refused()?;
        note_created(name);
        let arn = created.instance_profile().map(|p| p.arn().to_string()).unwrap_or_default();
        add_role(cx, name, &attrs.role_name).await?;
        Ok(Applied::with_id(name).output("arn", arn).output("name", name.as_str()))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &InstanceProfileAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let name = &attrs.name;
        let found = found(cx.iam.get_instance_profile().instance_profile_name(name).send().await)?;
        let Some(profile) = found.as_ref().and_then(|f| f.instance_profile()) else { return Ok(None) };
        if profile.roles().is_empty() {
            add_role(cx, name, &attrs.role_name).await?;
        }
        Ok(Some(Applied::with_id(name).output("arn", profile.arn()).output("name", name.as_str())))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &InstanceProfileAttrs,
        after: &InstanceProfileAttrs,
    ) -> anyhow::Result<Applied> {
        if before.role_name != after.role_name {
            let remove = cx.iam.remove_role_from_instance_profile().instance_profile_name(id);
            gone_is_fine(remove.role_name(&before.role_name).send().await)?;
            add_role(cx, id, &after.role_name).await?;
        }
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            if !change.removed.is_empty() {
                let untag = cx.iam.untag_instance_profile().instance_profile_name(id);
                untag.set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            let tag = cx.iam.tag_instance_profile().instance_profile_name(id);
            tag.set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, InstanceProfileAttrs>) -> anyhow::Result<Option<Live>> {
        let request = cx.iam.get_instance_profile().instance_profile_name(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        Ok(found.instance_profile().map(|profile| {
            let roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
            Live::tagged(profile.tags().iter().map(|t| (t.key(), t.value()))).detail("roles", roles)
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, InstanceProfileAttrs>) -> anyhow::Result<()> {
        // The roles it holds now: an interrupted deletion may have removed the role already.
        let Some(found) = found(cx.iam.get_instance_profile().instance_profile_name(id).send().await)? else {
            return Ok(());
        };
        for role in found.instance_profile().map(|p| p.roles()).unwrap_or_default() {
            let request = cx.iam.remove_role_from_instance_profile().instance_profile_name(id);
            gone_is_fine(request.role_name(role.role_name()).send().await)?;
        }
        gone_is_fine(cx.iam.delete_instance_profile().instance_profile_name(id).send().await)
    }
}
