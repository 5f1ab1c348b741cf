//! The docker runtime: replicas are containers of their release's image, with its
//! environment, on the stack's private network, sharing a named volume that holds the SQLite
//! file; each publishes its port on 127.0.0.1 for the balancer.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Release, Replica, ReplicaRuntime, STOP_TIMEOUT};

/// Label on every container of a local stack: `cloudcomp.stack=<name>`.
const STACK_LABEL: &str = "cloudcomp.stack";

/// The port the app listens on inside a container.
const CONTAINER_PORT: u16 = 8080;

/// Containers of the releases' images.
#[derive(Debug)]
pub struct Containers {
    /// The engine.
    pub docker: Docker,
    /// The stack's name: names the network, the volume and the containers.
    pub stack: String,
}

/// The names of a local stack's Docker network and volume.
fn docker_names(stack: &str) -> (String, String) {
    (format!("cloudcomp-{stack}"), format!("cloudcomp-{stack}-data"))
}

#[async_trait]
impl ReplicaRuntime for Containers {
    fn name(&self) -> &'static str {
        "docker"
    }

    /// Creates the stack's network and volume.
    async fn prepare(&self) -> anyhow::Result<()> {
        let (network, volume) = docker_names(&self.stack);
        let labels = HashMap::from([(STACK_LABEL.to_string(), self.stack.clone())]);
        if self.docker.inspect_network(&network, None).await.is_err() {
            let request =
                NetworkCreateRequest { name: network.clone(), labels: Some(labels.clone()), ..Default::default() };
            self.docker.create_network(request).await.with_context(|| format!("creating network {network}"))?;
        }
        let request = VolumeCreateRequest { name: Some(volume.clone()), labels: Some(labels), ..Default::default() };
        self.docker.create_volume(request).await.with_context(|| format!("creating volume {volume}"))?;
        Ok(())
    }

    async fn start(&self, id: &str, release: &Release) -> anyhow::Result<Replica> {
        let addr = super::free_loopback_addr()?;
        let name = format!("cloudcomp-{}-{id}", self.stack);
        let (network, volume) = docker_names(&self.stack);
        let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(addr.port().to_string()) };
        let mut env = vec![
            format!("CLOUDCOMP_LISTEN=0.0.0.0:{CONTAINER_PORT}"),
            "CLOUDCOMP_DB_PATH=/data/app.db".into(),
            "CLOUDCOMP_STORE=sqlite".into(),
            "CLOUDCOMP_TRUST_FORWARDED_FOR=true".into(),
            "CLOUDCOMP_LOG=warn".into(),
        ];
        env.extend(release.env.iter().map(|(name, value)| format!("{name}={value}")));
        let body = ContainerCreateBody {
            image: Some(release.app.clone()),
            env: Some(env),
            labels: Some(HashMap::from([(STACK_LABEL.to_string(), self.stack.clone())])),
            host_config: Some(HostConfig {
                network_mode: Some(network),
                binds: Some(vec![format!("{volume}:/data")]),
                port_bindings: Some(HashMap::from([(format!("{CONTAINER_PORT}/tcp"), Some(vec![binding]))])),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.docker.create_container(Some(options), body).await.with_context(|| format!("creating {name}"))?;
        self.docker
            .start_container(&name, None::<StartContainerOptions>)
            .await
            .with_context(|| format!("starting {name}"))?;
        Ok(Replica { id: id.to_string(), addr, pid: None, container: Some(name), release: release.id.clone() })
    }

    async fn exited(&self, replica: &Replica) -> Option<String> {
        let Some(name) = &replica.container else { return Some("no container".into()) };
        let state = match self.docker.inspect_container(name, None).await {
            Ok(container) => container.state.unwrap_or_default(),
            Err(error) => return Some(format!("container {name} gone: {error}")),
        };
        if state.running == Some(true) {
            return None;
        }
        let mut how = format!("exit code {}", state.exit_code.unwrap_or_default());
        if state.oom_killed == Some(true) {
            how.push_str(", out of memory");
        }
        if let Some(error) = state.error.filter(|e| !e.is_empty()) {
            how.push_str(&format!(": {error}"));
        }
        Some(how)
    }

    async fn stop(&self, replica: Replica) {
        if let Some(name) = replica.container {
            let seconds = i32::try_from(STOP_TIMEOUT.as_secs()).unwrap_or(i32::MAX);
            let _ = self
                .docker
                .stop_container(&name, Some(StopContainerOptionsBuilder::default().t(seconds).build()))
                .await;
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = self.docker.remove_container(&name, Some(options)).await;
        }
    }

    async fn last_lines(&self, replica: &Replica) -> String {
        let Some(name) = &replica.container else { return String::new() };
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail("50").build();
        let chunks: Vec<_> = self.docker.logs(name, Some(options)).collect().await;
        let text: String = chunks.into_iter().flatten().map(|chunk| chunk.to_string()).collect();
        super::tail(&text)
    }
}

/// Removes every container, the network and the volume of the local stack `stack` (what a
/// killed supervisor may have left behind). Returns how many containers it removed.
pub async fn remove_docker_leftovers(docker: &Docker, stack: &str) -> anyhow::Result<usize> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{STACK_LABEL}={stack}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let containers = docker.list_containers(Some(options)).await?;
    for container in &containers {
        if let Some(id) = &container.id {
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            docker.remove_container(id, Some(options)).await?;
        }
    }
    let (network, volume) = docker_names(stack);
    let _ = docker.remove_network(&network).await;
    let _ = docker.remove_volume(&volume, Some(RemoveVolumeOptionsBuilder::default().force(true).build())).await;
    Ok(containers.len())
}
