//! `iam_policy_attachment`: a managed policy attached to the role (ECR read-only).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Applied, Attributes, Cx, Hint, Live, NEW_IAM_ENTITY, Stored, TypedKind, found, gone_is_fine, retrying};

/// The `iam_policy_attachment` kind.
pub struct IamPolicyAttachment;

/// An `iam_policy_attachment`'s attributes; `R` is how the role's name is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamPolicyAttachmentAttrs<R = String> {
    /// The role the policy is attached to.
    pub role_name: R,
    /// The managed policy.
    pub policy_arn: String,
}

impl<R: Serialize> Attributes for IamPolicyAttachmentAttrs<R> {
    const KIND: &'static str = "iam_policy_attachment";
    const UPDATABLE: &'static [&'static str] = &[];
}

/// The attachment's id: its role and policy.
fn id(attrs: &IamPolicyAttachmentAttrs) -> String {
    format!("{}:{}", attrs.role_name, attrs.policy_arn)
}

/// Whether the policy is attached to the role.
async fn attached(cx: &Cx, attrs: &IamPolicyAttachmentAttrs) -> anyhow::Result<bool> {
    let Some(found) = found(cx.iam.list_attached_role_policies().role_name(&attrs.role_name).send().await)? else {
        return Ok(false);
    };
    Ok(found.attached_policies().iter().any(|p| p.policy_arn() == Some(attrs.policy_arn.as_str())))
}

#[async_trait]
impl TypedKind for IamPolicyAttachment {
    type Attrs = IamPolicyAttachmentAttrs;

    async fn create(&self, cx: &Cx, _address: &str, attrs: &IamPolicyAttachmentAttrs) -> anyhow::Result<Applied> {
        let attach = cx.iam.attach_role_policy().role_name(&attrs.role_name).policy_arn(&attrs.policy_arn);
        retrying(&[NEW_IAM_ENTITY], || attach.clone().send()).await?;
        Ok(Applied::with_id(id(attrs)))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &IamPolicyAttachmentAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        Ok(attached(cx, attrs).await?.then(|| Applied::with_id(id(attrs))))
    }

    async fn read(
        &self,
        cx: &Cx,
        _id: &str,
        recorded: Stored<'_, IamPolicyAttachmentAttrs>,
    ) -> anyhow::Result<Option<Live>> {
        Ok(attached(cx, &recorded.get()?).await?.then(Live::untaggable))
    }

    async fn delete(&self, cx: &Cx, _id: &str, recorded: Stored<'_, IamPolicyAttachmentAttrs>) -> anyhow::Result<()> {
        let attrs = recorded.get()?;
        let detach = cx.iam.detach_role_policy().role_name(&attrs.role_name).policy_arn(&attrs.policy_arn);
        gone_is_fine(detach.send().await)
    }
}
