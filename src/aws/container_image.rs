//! `container_image`: the app image pushed to its registry — the stack's ECR repository
//! (logged in with `GetAuthorizationToken`) or the registry the stack names. `up` builds the
//! image (`cloudcomp-app:<tag>`) before the graph runs; this step pushes it and outputs the
//! digest, so that the launch template pins `repository@digest`.
//!
//! Deleting it deletes nothing: ECR images go with their repository, and a named registry
//! keeps its history.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bollard::auth::DockerCredentials;

use serde::{Deserialize, Serialize};

use super::{Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind};
use crate::image::docker;

/// The `container_image` kind.
pub struct ContainerImage;

/// A `container_image`'s attributes; `R` is how the repository is known (the stack's ECR
/// repository's URL, or a name in the registry the stack names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerImageAttrs<R = String> {
    /// Where it is pushed.
    pub repository: R,
    /// The tag of the local image `up` built, and of the pushed one.
    pub tag: String,
}

impl<R: Serialize> Attributes for ContainerImageAttrs<R> {
    const KIND: &'static str = "container_image";
    const UPDATABLE: &'static [&'static str] = &[];
}

/// Whether `repository` lives in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/...`).
fn is_ecr(repository: &str) -> bool {
    repository.split('/').next().is_some_and(|host| host.contains(".dkr.ecr."))
}

/// Docker credentials for the account's ECR registry, from `GetAuthorizationToken`.
async fn ecr_credentials(cx: &Cx) -> anyhow::Result<DockerCredentials> {
    use anyhow::Context;
    let token = cx.ecr.get_authorization_token().send().await.refused().context("logging in to ECR")?;
    let data = token.authorization_data().first().context("ECR returned no authorization data")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.authorization_token().unwrap_or_default())
        .context("ECR returned a malformed token")?;
    let decoded = String::from_utf8(decoded).context("ECR returned a malformed token")?;
    let (username, password) = decoded.split_once(':').context("ECR returned a malformed token")?;
    Ok(DockerCredentials {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        serveraddress: data.proxy_endpoint().map(str::to_string),
        ..DockerCredentials::default()
    })
}

#[async_trait]
impl TypedKind for ContainerImage {
    type Attrs = ContainerImageAttrs;

    fn expected_duration(&self) -> Duration {
        // Building and pushing the image.
        Duration::from_secs(60)
    }

    async fn create(&self, cx: &Cx, _address: &str, attrs: &ContainerImageAttrs) -> anyhow::Result<Applied> {
        let (repository, tag) = (&attrs.repository, &attrs.tag);
        let credentials = if is_ecr(repository) { Some(ecr_credentials(cx).await?) } else { None };
        let digest = docker::push(cx.docker().await?, tag, repository, credentials).await?;
        let reference = format!("{repository}@{digest}");
        Ok(Applied::with_id(&reference).output("digest", digest).output("reference", reference))
    }

    async fn adopt(
        &self,
        _cx: &Cx,
        _address: &str,
        _attrs: &ContainerImageAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        // Pushing again is idempotent (the registry has the layers) and gives the digest.
        Ok(None)
    }

    async fn read(&self, cx: &Cx, id: &str, recorded: Stored<'_, ContainerImageAttrs>) -> anyhow::Result<Option<Live>> {
        let ContainerImageAttrs { repository, tag } = &recorded.get()?;
        let digest = id.rsplit_once('@').map(|(_, digest)| digest).unwrap_or_default();
        let present = if is_ecr(repository) {
            let name = repository.split_once('/').map(|(_, name)| name).unwrap_or(repository);
            let image = aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build();
            let found = cx.ecr.describe_images().repository_name(name).image_ids(image).send().await;
            found.is_ok_and(|f| f.image_details().iter().any(|d| d.image_digest() == Some(digest)))
        } else {
            let found = cx.docker().await?.inspect_registry_image(&format!("{repository}:{tag}"), None).await;
            found.is_ok_and(|f| f.descriptor.digest.as_deref() == Some(digest))
        };
        Ok(present.then(|| Live::untaggable().detail("digest", digest)))
    }

    async fn delete(&self, _cx: &Cx, _id: &str, _: Stored<'_, ContainerImageAttrs>) -> anyhow::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_repositories_are_told_by_their_host() {
        assert!(is_ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudcomp/demo"));
        assert!(!is_ecr("127.0.0.1:5000/cloudcomp-app"));
        assert!(!is_ecr("ghcr.io/me/cloudcomp-app"));
    }
}
