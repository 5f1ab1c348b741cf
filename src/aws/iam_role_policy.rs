//! `iam_role_policy`: one of the role's inline policies, allowing its actions on the named
//! resources alone (the stack's table and its indexes; the stack's secret parameter).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Applied, Attrs, Cx, Hint, Kind, Live, NEW_IAM_ENTITY, found, gone_is_fine, retrying, strings, text};

/// The `iam_role_policy` kind.
pub struct IamRolePolicy;

fn document(attrs: &Attrs) -> anyhow::Result<String> {
    let actions = attrs.get("actions").cloned().unwrap_or(Value::Array(Vec::new()));
    let resources = strings(attrs, "resources");
    anyhow::ensure!(!resources.is_empty(), "attribute `resources` names no resource");
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": resources }]
    })
    .to_string())
}

async fn put(cx: &Cx, attrs: &Attrs) -> anyhow::Result<Applied> {
    let (role, name) = (text(attrs, "role_name")?, text(attrs, "name")?);
    // The role may be new to IAM still.
    let put = cx.iam.put_role_policy().role_name(role).policy_name(name).policy_document(document(attrs)?);
    retrying(&[NEW_IAM_ENTITY], || put.clone().send()).await?;
    Ok(Applied::with_id(format!("{role}:{name}")))
}

#[async_trait]
impl Kind for IamRolePolicy {
    fn name(&self) -> &'static str {
        "iam_role_policy"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["actions", "resources"]
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        put(cx, attrs).await
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let (role, name) = (text(attrs, "role_name")?, text(attrs, "name")?);
        Ok(self.read(cx, address, attrs).await?.map(|_| Applied::with_id(format!("{role}:{name}"))))
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        _id: &str,
        _before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        put(cx, after).await
    }

    async fn read(&self, cx: &Cx, _id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let (role, name) = (text(attrs, "role_name")?, text(attrs, "name")?);
        let request = cx.iam.get_role_policy().role_name(role).policy_name(name);
        Ok(found(request.send().await)?.map(|_| Live::untaggable()))
    }

    async fn delete(&self, cx: &Cx, _id: &str, attrs: &Attrs) -> anyhow::Result<()> {
        let (role, name) = (text(attrs, "role_name")?, text(attrs, "name")?);
        gone_is_fine(cx.iam.delete_role_policy().role_name(role).policy_name(name).send().await)
    }
}
