//! `iam_role_policy`: the role's inline policy, scoped to the stack's table ARN alone.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Applied, Attrs, Cx, Kind, Live, found, gone_is_fine, text};

/// The `iam_role_policy` kind.
pub struct IamRolePolicy;

fn document(attrs: &Attrs) -> anyhow::Result<String> {
    let actions = attrs.get("actions").cloned().unwrap_or(Value::Array(Vec::new()));
    let resource = text(attrs, "resource")?;
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": [resource, format!("{resource}/index/*")] }]
    })
    .to_string())
}

async fn put(cx: &Cx, attrs: &Attrs) -> anyhow::Result<Applied> {
    let (role, name) = (text(attrs, "role_name")?, text(attrs, "name")?);
    cx.iam.put_role_policy().role_name(role).policy_name(name).policy_document(document(attrs)?).send().await?;
    Ok(Applied::with_id(format!("{role}:{name}")))
}

#[async_trait]
impl Kind for IamRolePolicy {
    fn name(&self) -> &'static str {
        "iam_role_policy"
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        put(cx, attrs).await
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Option<Applied>> {
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
