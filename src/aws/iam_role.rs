//! `iam_role`: the role the instances assume (no access keys anywhere).

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};
use serde_json::json;

use super::tags::TagChange;
use super::{
    Applied, Attrs, Cx, Hint, Kind, Live, NEW_IAM_ENTITY, Refused, found, gone_is_fine, note_created, retrying, tags,
    text,
};

/// The `iam_role` kind.
pub struct IamRole;

fn trust_policy(attrs: &Attrs) -> anyhow::Result<String> {
    let service = text(attrs, "assume_role_service")?;
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string())
}

fn applied(role: &Role) -> Applied {
    Applied::with_id(role.role_name()).output("name", role.role_name()).output("arn", role.arn())
}

#[async_trait]
impl Kind for IamRole {
    fn name(&self) -> &'static str {
        "iam_role"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["assume_role_service", "tags"]
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let tags = tags::pairs(attrs, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        let created = cx
            .iam
            .create_role()
            .role_name(text(attrs, "name")?)
            .assume_role_policy_document(trust_policy(attrs)?)
            .set_tags(Some(tags.collect::<Result<_, _>>()?))
            .send()
            .await
            .refused()?;
        let role = created.role().ok_or_else(|| anyhow::anyhow!("CreateRole returned no role"))?;
        note_created(role.role_name());
        Ok(applied(role))
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let found = found(cx.iam.get_role().role_name(text(attrs, "name")?).send().await)?;
        Ok(found.as_ref().and_then(|f| f.role()).map(applied))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        if before.get("assume_role_service") != after.get("assume_role_service") {
            let update = cx.iam.update_assume_role_policy().role_name(id).policy_document(trust_policy(after)?);
            retrying(&[NEW_IAM_ENTITY], || update.clone().send()).await?;
        }
        if let Some(change) = TagChange::between(before, after) {
            if !change.removed.is_empty() {
                cx.iam.untag_role().role_name(id).set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            cx.iam.tag_role().role_name(id).set_tags(Some(set.collect::<Result<_, _>>()?)).send().await.refused()?;
        }
        Ok(Applied::with_id(id))
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.iam.get_role().role_name(id).send().await)? else { return Ok(None) };
        Ok(found.role().map(|role| Live::tagged(role.tags().iter().map(|t| (t.key(), t.value())))))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.iam.delete_role().role_name(id).send().await)
    }
}
