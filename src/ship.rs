//! Shipping the app image: where it goes (the registry the stack or `--registry` names, or
//! else the stack's ECR repository) and building it before provisioning; the graph's
//! `container_image` step pushes it and the launch template pins its digest.
//!
//! moto's ECR has no registry behind it: against a custom endpoint without a named registry
//! the image is neither built nor pushed, and `up` says so.

use std::path::Path;

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

    /// Whether the image is pushed (by the graph's `container_image` step).
    pub fn pushes(&self) -> bool {
        self.context.is_some()
    }

    /// Builds the image in the local engine when it is to be pushed (a no-op when the engine
    /// already has this content). Returns what was built.
    pub async fn build(&self) -> anyhow::Result<Option<Built>> {
        let Some(context) = &self.context else { return Ok(None) };
        let built = image::build(&image::docker::connect().await?, context).await?;
        eprintln!("Image {} ({:.1} MB).", built.local, built.size as f64 / 1_000_000.0);
        Ok(Some(built))
    }
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
