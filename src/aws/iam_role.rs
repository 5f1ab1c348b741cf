//! `iam_role`: the role the instances assume (no access keys anywhere).

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::tags::{TagChange, Tags};
use super::{
    Applied, Attributes, Cx, Hint, Live, NEW_IAM_ENTITY, Refused, Stored, TypedKind, found, gone_is_fine, note_created,
    retrying, tags,
};

/// The `iam_role` kind.
pub struct IamRole;

/// An `iam_role`'s attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRoleAttrs {
    /// Its name, unique in the account.
    pub name: String,
    /// The service that may assume it (`ec2.amazonaws.com`).
    pub assume_role_service: String,
    /// Its tags.
    pub tags: Tags,
}

impl Attributes for IamRoleAttrs {
    const KIND: &'static str = "iam_role";
    const UPDATABLE: &'static [&'static str] = &["assume_role_service", "tags"];
}

fn trust_policy(attrs: &IamRoleAttrs) -> String {
    let service = &attrs.assume_role_service;
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

fn applied(role: &Role) -> Applied {
    Applied::with_id(role.role_name()).output("name", role.role_name()).output("arn", role.arn())
}

#[async_trait]
impl TypedKind for IamRole {
    type Attrs = IamRoleAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &IamRoleAttrs) -> anyhow::Result<Applied> {
        let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .iam
            .create_role()
            .role_name(&attrs.name)
            .assume_role_policy_document(trust_policy(attrs))
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await
            .refused()?;
        let role = created.role().ok_or_else(|| anyhow::anyhow!("CreateRole returned no role"))?;
        note_created(role.role_name());
        Ok(applied(role))
    }

    async fn adopt(&self, cx: &Cx, _: &str, attrs: &IamRoleAttrs, _: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let found = found(cx.iam.get_role().role_name(&attrs.name).send().await)?;
        Ok(found.as_ref().and_then(|f| f.role()).map(applied))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &IamRoleAttrs,
        after: &IamRoleAttrs,
    ) -> anyhow::Result<Applied> {
        if before.assume_role_service != after.assume_role_service {
            let update = cx.iam.update_assume_role_policy().role_name(id).policy_document(trust_policy(after));
            retrying(&[NEW_IAM_ENTITY], || update.clone().send()).await?;
        }
        if let Some(change) = TagChange::between(&before.tags, &after.tags) {
            if !change.removed.is_empty() {
                cx.iam.untag_role().role_name(id).set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            cx.iam.tag_role().role_name(id).set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, IamRoleAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.iam.get_role().role_name(id).send().await)? else { return Ok(None) };
        Ok(found.role().map(|role| Live::tagged(role.tags().iter().map(|t| (t.key(), t.value())))))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, IamRoleAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.iam.delete_role().role_name(id).send().await)
    }
}
