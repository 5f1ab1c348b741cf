//! The Docker engine, through bollard: build the app image, tag it, push it.

use anyhow::Context;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::ErrorDetail;
use bollard::query_parameters::{BuildImageOptionsBuilder, PushImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::context::BuildContext;

/// A progress line on stderr (drawn only on a terminal).
fn progress(what: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} {msg} {bytes}/{total_bytes} {elapsed:.dim}")
            .expect("a valid template"),
    );
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// Repository name of the image in the local engine: `cloudcomp-app:<tag>`.
pub const LOCAL_REPOSITORY: &str = "cloudcomp-app";

/// Connects to the engine (`DOCKER_HOST` or the local socket) and agrees on an API version:
/// Debian's Docker 20.10 speaks 1.41, older than bollard's default.
pub async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_defaults().context("connecting to the Docker engine")?;
    docker.negotiate_version().await.context("the Docker engine does not answer (is dockerd running?)")
}

fn failure(detail: Option<ErrorDetail>) -> anyhow::Result<()> {
    match detail.and_then(|d| d.message) {
        Some(message) => anyhow::bail!("{}", message.trim()),
        None => Ok(()),
    }
}

/// Builds `context` as `cloudcomp-app:<tag>` unless the engine already has that image
/// (same content, same tag). Returns the local image name.
pub async fn build(docker: &Docker, context: &BuildContext) -> anyhow::Result<String> {
    let name = format!("{LOCAL_REPOSITORY}:{}", context.tag);
    if docker.inspect_image(&name).await.is_ok() {
        return Ok(name);
    }
    let options = BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(&name).rm(true).forcerm(true).build();
    let mut steps = docker.build_image(options, None, Some(bollard::body_full(context.tar.clone().into())));
    let bar = progress(&format!("building {name}"));
    bar.set_length(context.tar.len() as u64);
    while let Some(step) = steps.next().await {
        let step = step.context("building the app image")?;
        if let Some(line) = step.stream.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            bar.set_message(line.to_string());
        }
        failure(step.error_detail).context("building the app image")?;
    }
    bar.finish_and_clear();
    docker.inspect_image(&name).await.with_context(|| format!("the build did not produce {name}"))?;
    Ok(name)
}

/// Pushes the local image `cloudcomp-app:<tag>` as `<repository>:<tag>` and returns the
/// pushed manifest's digest. Layers the registry already holds are not sent again.
pub async fn push(
    docker: &Docker,
    tag: &str,
    repository: &str,
    credentials: Option<DockerCredentials>,
) -> anyhow::Result<String> {
    let local = format!("{LOCAL_REPOSITORY}:{tag}");
    docker
        .tag_image(&local, Some(TagImageOptionsBuilder::default().repo(repository).tag(tag).build()))
        .await
        .with_context(|| format!("tagging {local} as {repository}:{tag}"))?;
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut steps = docker.push_image(repository, Some(options), credentials);
    let mut digest = None;
    let bar = progress(&format!("pushing {repository}:{tag}"));
    while let Some(step) = steps.next().await {
        let step = step.with_context(|| format!("pushing {repository}:{tag}"))?;
        failure(step.error_detail).with_context(|| format!("pushing {repository}:{tag}"))?;
        if let Some(detail) = &step.progress_detail
            && let (Some(current), Some(total)) = (detail.current, detail.total)
        {
            bar.set_length(u64::try_from(total).unwrap_or_default());
            bar.set_position(u64::try_from(current).unwrap_or_default());
        }
        if let Some(status) = &step.status {
            bar.set_message(status.clone());
        }
        // The last status reads "<tag>: digest: sha256:… size: …".
        if let Some(found) = step.status.as_deref().and_then(|s| s.split("digest: ").nth(1)) {
            digest = found.split_whitespace().next().map(str::to_string);
        }
    }
    bar.finish_and_clear();
    digest.ok_or_else(|| anyhow::anyhow!("the registry did not report a digest for {repository}:{tag}"))
}
