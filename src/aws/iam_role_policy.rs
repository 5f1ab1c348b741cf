//! `iam_role_policy`: one of the role's inline policies, allowing its actions on the named
//! resources alone (the stack's table and its indexes; the stack's secret parameter).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Applied, Attributes, Cx, Hint, Live, NEW_IAM_ENTITY, Stored, TypedKind, found, gone_is_fine, retrying};

/// The `iam_role_policy` kind.
pub struct IamRolePolicy;

/// An `iam_role_policy`'s attributes; `R` is how the role's name and the resources' ARNs
/// are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRolePolicyAttrs<R = String> {
    /// The role it belongs to.
    pub role_name: R,
    /// Its name among the role's policies.
    pub name: String,
    /// What it allows.
    pub actions: Vec<String>,
    /// What it allows them on (absent from states written before it was a list).
    #[serde(default)]
    pub resources: Vec<R>,
}

impl<R: Serialize> Attributes for IamRolePolicyAttrs<R> {
    const KIND: &'static str = "iam_role_policy";
    const UPDATABLE: &'static [&'static str] = &["actions", "resources"];
}

fn document(attrs: &IamRolePolicyAttrs) -> anyhow::Result<String> {
    anyhow::ensure!(!attrs.resources.is_empty(), "attribute `resources` names no resource");
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": attrs.actions, "Resource": attrs.resources }]
    })
    .to_string())
}

/// The policy's id: its role and name.
fn id(attrs: &IamRolePolicyAttrs) -> String {
    format!("{}:{}", attrs.role_name, attrs.name)
}

async fn put(cx: &Cx, attrs: &IamRolePolicyAttrs) -> anyhow::Result<Applied> {
    let put = cx.iam.put_role_policy().role_name(&attrs.role_name).policy_name(&attrs.name);
    let put = put.policy_document(document(attrs)?);
    // The role may be new to IAM still.
    retrying(&[NEW_IAM_ENTITY], || put.clone().send()).await?;
    Ok(Applied::with_id(id(attrs)))
}

/// Whether the policy exists.
async fn exists(cx: &Cx, attrs: &IamRolePolicyAttrs) -> anyhow::Result<bool> {
    let request = cx.iam.get_role_policy().role_name(&attrs.role_name).policy_name(&attrs.name);
    Ok(found(request.send().await)?.is_some())
}

#[async_trait]
impl TypedKind for IamRolePolicy {
    type Attrs = IamRolePolicyAttrs;

    async fn create(&self, cx: &Cx, _address: &str, attrs: &IamRolePolicyAttrs) -> anyhow::Result<Applied> {
        put(cx, attrs).await
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &IamRolePolicyAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        Ok(exists(cx, attrs).await?.then(|| Applied::with_id(id(attrs))))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        _id: &str,
        _before: &IamRolePolicyAttrs,
        after: &IamRolePolicyAttrs,
    ) -> anyhow::Result<Applied> {
        put(cx, after).await
    }

    async fn read(&self, cx: &Cx, _id: &str, recorded: Stored<'_, IamRolePolicyAttrs>) -> anyhow::Result<Option<Live>> {
        Ok(exists(cx, &recorded.get()?).await?.then(Live::untaggable))
    }

    async fn delete(&self, cx: &Cx, _id: &str, recorded: Stored<'_, IamRolePolicyAttrs>) -> anyhow::Result<()> {
        let attrs = recorded.get()?;
        gone_is_fine(cx.iam.delete_role_policy().role_name(&attrs.role_name).policy_name(&attrs.name).send().await)
    }
}
