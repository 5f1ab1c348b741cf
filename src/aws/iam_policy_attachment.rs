//! `iam_policy_attachment`: a managed policy attached to the role (ECR read-only).

use async_trait::async_trait;

use super::{Applied, Attrs, Cx, Hint, Kind, Live, NEW_IAM_ENTITY, found, gone_is_fine, retrying, text};

/// The `iam_policy_attachment` kind.
pub struct IamPolicyAttachment;

#[async_trait]
impl Kind for IamPolicyAttachment {
    fn name(&self) -> &'static str {
        "iam_policy_attachment"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &[]
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let (role, policy) = (text(attrs, "role_name")?, text(attrs, "policy_arn")?);
        let attach = cx.iam.attach_role_policy().role_name(role).policy_arn(policy);
        retrying(&[NEW_IAM_ENTITY], || attach.clone().send()).await?;
        Ok(Applied::with_id(format!("{role}:{policy}")))
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let (role, policy) = (text(attrs, "role_name")?, text(attrs, "policy_arn")?);
        Ok(self.read(cx, address, attrs).await?.map(|_| Applied::with_id(format!("{role}:{policy}"))))
    }

    async fn read(&self, cx: &Cx, _id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let (role, policy) = (text(attrs, "role_name")?, text(attrs, "policy_arn")?);
        let Some(found) = found(cx.iam.list_attached_role_policies().role_name(role).send().await)? else {
            return Ok(None);
        };
        let attached = found.attached_policies().iter().any(|p| p.policy_arn() == Some(policy));
        Ok(attached.then(Live::untaggable))
    }

    async fn delete(&self, cx: &Cx, _id: &str, attrs: &Attrs) -> anyhow::Result<()> {
        let (role, policy) = (text(attrs, "role_name")?, text(attrs, "policy_arn")?);
        gone_is_fine(cx.iam.detach_role_policy().role_name(role).policy_arn(policy).send().await)
    }
}
