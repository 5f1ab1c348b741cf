//! The app image: a static `cloudcomp-app` ([`binary`]), a build context cloudcomp assembles
//! itself ([`context`]: nothing can be pulled, so `FROM scratch`), built and pushed through
//! the Docker engine with bollard ([`docker`]). The tag is the context's content hash, so an
//! unchanged app is neither rebuilt nor pushed again.

pub mod binary;
pub mod context;
pub mod docker;

use std::path::Path;

use anyhow::Context;
use bollard::Docker;

pub use context::BuildContext;

/// An image in the local engine.
#[derive(Debug, Clone)]
pub struct Built {
    /// `cloudcomp-app:<tag>`.
    pub local: String,
    /// The content-hash tag.
    pub tag: String,
    /// Its size in bytes, as the engine reports it.
    pub size: u64,
}

/// The build context for the static app at `app_binary` (or found/built, see [`binary`]).
pub fn prepare(app_binary: Option<&Path>) -> anyhow::Result<BuildContext> {
    let binary = binary::locate(app_binary)?;
    let app = std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    let certs = std::fs::read(context::HOST_CA_BUNDLE)
        .with_context(|| format!("reading the CA bundle {} (install ca-certificates)", context::HOST_CA_BUNDLE))?;
    Ok(context::assemble(&app, &certs)?)
}

/// Builds the image from `context` in the engine behind `docker` (a no-op when it is there).
pub async fn build(docker: &Docker, context: &BuildContext) -> anyhow::Result<Built> {
    let local = docker::build(docker, context).await?;
    let size = docker.inspect_image(&local).await?.size.unwrap_or_default();
    Ok(Built { local, tag: context.tag.clone(), size: u64::try_from(size).unwrap_or_default() })
}
