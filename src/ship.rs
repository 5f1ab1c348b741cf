//! Shipping the app image: build it from the static app and push it where the instances
//! pull it from — the registry the stack (or `--registry`) names, or else the stack's ECR
//! repository with a `GetAuthorizationToken` login.
//!
//! moto's ECR has no registry behind it: against a custom endpoint without a named registry
//! the image is neither built nor pushed, and `up` says so.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use bollard::auth::DockerCredentials;

use crate::aws::Cx;
use crate::image::{self, BuildContext, Built};
use crate::stack::Stack;

/// The tag `up` uses when it ships no image (moto's ECR): the app's version.
pub const UNSHIPPED_TAG: &str = env!("CARGO_PKG_VERSION");

/// Where the image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A registry by host (`127.0.0.1:5000`, `ghcr.io/me`): pushed as `<registry>/cloudcomp-app`.
    Registry(String),
    /// The stack's ECR repository.
    Ecr,
    /// Nowhere: the AWS endpoint is an emulator whose ECR has no registry.
    Nowhere,
}

impl Destination {
    /// Where `stack`'s image goes; `custom_endpoint` says AWS is reached through
    /// `--endpoint-url` / `AWS_ENDPOINT_URL` (moto).
    pub fn of(stack: &Stack, custom_endpoint: bool) -> Destination {
        match &stack.app.registry {
            Some(registry) => Destination::Registry(registry.clone()),
            None if custom_endpoint => Destination::Nowhere,
            None => Destination::Ecr,
        }
    }
}

/// What will run: the build context (whose hash is the tag), unless nothing is shipped.
pub struct Shipment {
    /// Where it goes.
    pub destination: Destination,
    /// The context to build; `None` for [`Destination::Nowhere`].
    pub context: Option<BuildContext>,
}

impl Shipment {
    /// Prepares the shipment: finds (or builds) the static app and hashes the context.
    pub fn prepare(destination: Destination, app_binary: Option<&Path>) -> anyhow::Result<Shipment> {
        let context = match destination {
            Destination::Nowhere => None,
            _ => Some(image::prepare(app_binary)?),
        };
        Ok(Shipment { destination, context })
    }

    /// The image tag the instances will run.
    pub fn tag(&self) -> &str {
        self.context.as_ref().map_or(UNSHIPPED_TAG, |c| c.tag.as_str())
    }

    /// Builds and pushes the image to a named registry (a no-op for the other destinations,
    /// see [`Shipment::push_to_ecr`]). Returns what was built, if anything.
    pub async fn push_to_registry(&self) -> anyhow::Result<Option<Built>> {
        let (Destination::Registry(registry), Some(context)) = (&self.destination, &self.context) else {
            return Ok(None);
        };
        let docker = image::docker::connect().await?;
        let built = image::build(&docker, context).await?;
        let repository = format!("{registry}/{}", image::docker::LOCAL_REPOSITORY);
        let digest = image::docker::push(&docker, &built.tag, &repository, None).await?;
        eprintln!("Pushed {repository}:{} ({digest}, {:.1} MB).", built.tag, megabytes(built.size));
        Ok(Some(built))
    }

    /// Builds and pushes the image to the stack's ECR repository at `repository_url`, logged
    /// in with a token from `GetAuthorizationToken` (a no-op for the other destinations).
    pub async fn push_to_ecr(&self, cx: &Cx, repository_url: &str) -> anyhow::Result<()> {
        let (Destination::Ecr, Some(context)) = (&self.destination, &self.context) else { return Ok(()) };
        let docker = image::docker::connect().await?;
        let built = image::build(&docker, context).await?;
        let token = cx.ecr.get_authorization_token().send().await.context("logging in to ECR")?;
        let data = token.authorization_data().first().context("ECR returned no authorization data")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.authorization_token().unwrap_or_default())
            .context("ECR returned a malformed token")?;
        let decoded = String::from_utf8(decoded).context("ECR returned a malformed token")?;
        let (username, password) = decoded.split_once(':').context("ECR returned a malformed token")?;
        let credentials = DockerCredentials {
            username: Some(username.to_string()),
            password: Some(password.to_string()),
            serveraddress: data.proxy_endpoint().map(str::to_string),
            ..DockerCredentials::default()
        };
        let digest = image::docker::push(&docker, &built.tag, repository_url, Some(credentials)).await?;
        eprintln!("Pushed {repository_url}:{} ({digest}, {:.1} MB).", built.tag, megabytes(built.size));
        Ok(())
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_registry_wins_and_an_emulated_ecr_ships_nothing() {
        let mut stack = crate::stack::parse("name: demo\n").unwrap();
        assert_eq!(Destination::of(&stack, false), Destination::Ecr);
        assert_eq!(Destination::of(&stack, true), Destination::Nowhere);
        stack.app.registry = Some("127.0.0.1:5000".into());
        assert_eq!(Destination::of(&stack, true), Destination::Registry("127.0.0.1:5000".into()));
        let nothing = Shipment::prepare(Destination::Nowhere, None).unwrap();
        assert_eq!(nothing.tag(), UNSHIPPED_TAG);
    }
}
