//! Replicas of the app for the local target, in one of two runtimes:
//!
//! - `docker`: containers of the built image on a private network, sharing a named volume
//!   that holds the SQLite file; each publishes its port on 127.0.0.1 for the balancer.
//! - `process`: child processes of the supervisor, for machines without a Docker engine.
//!
//! Either way every replica listens on its own loopback port and uses the same SQLite file
//! (WAL; same kernel, so its locks hold).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, StartContainerOptions,
};
use tokio::process::{Child, Command};

/// Label on every container of a local stack: `cloudcomp.stack=<name>`.
pub const STACK_LABEL: &str = "cloudcomp.stack";

/// The port the app listens on inside a container.
const CONTAINER_PORT: u16 = 8080;

/// How a replica runs.
#[derive(Debug)]
enum Handle {
    Process(Child),
    Container(String),
}

/// One running replica.
#[derive(Debug)]
pub struct Replica {
    /// `r1`, `r2`, … in start order.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    handle: Handle,
}

impl Replica {
    /// Its process id (process runtime), while it runs.
    pub fn pid(&self) -> Option<u32> {
        match &self.handle {
            Handle::Process(child) => child.id(),
            Handle::Container(_) => None,
        }
    }

    /// Its container name (docker runtime).
    pub fn container(&self) -> Option<&str> {
        match &self.handle {
            Handle::Process(_) => None,
            Handle::Container(name) => Some(name),
        }
    }
}

/// Where replicas run.
#[derive(Debug)]
pub enum Runtime {
    /// Child processes of `app_binary`, storing into `data_dir`, logging to `log`.
    Processes {
        /// The app binary.
        app_binary: PathBuf,
        /// Directory of the shared SQLite file.
        data_dir: PathBuf,
        /// Where the replicas' output goes.
        log: PathBuf,
    },
    /// Containers of `image` on the stack's network and volume.
    Containers {
        /// The engine.
        docker: Docker,
        /// The app image (`cloudcomp-app:<tag>`).
        image: String,
        /// The stack's name: names the network, the volume and the containers.
        stack: String,
    },
}

/// The names of a local stack's Docker network and volume.
pub fn docker_names(stack: &str) -> (String, String) {
    (format!("cloudcomp-{stack}"), format!("cloudcomp-{stack}-data"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Runtime {
    /// `process` or `docker`.
    pub fn name(&self) -> &'static str {
        match self {
            Runtime::Processes { .. } => "process",
            Runtime::Containers { .. } => "docker",
        }
    }

    /// Creates what the replicas share (the docker runtime's network and volume).
    pub async fn prepare(&self) -> anyhow::Result<()> {
        let Runtime::Containers { docker, stack, .. } = self else { return Ok(()) };
        let (network, volume) = docker_names(stack);
        let labels = HashMap::from([(STACK_LABEL.to_string(), stack.clone())]);
        if docker.inspect_network(&network, None).await.is_err() {
            let request =
                NetworkCreateRequest { name: network.clone(), labels: Some(labels.clone()), ..Default::default() };
            docker.create_network(request).await.with_context(|| format!("creating network {network}"))?;
        }
        let request = VolumeCreateRequest { name: Some(volume.clone()), labels: Some(labels), ..Default::default() };
        docker.create_volume(request).await.with_context(|| format!("creating volume {volume}"))?;
        Ok(())
    }

    /// Starts replica number `n` on a free loopback port.
    pub async fn start(&self, n: u32) -> anyhow::Result<Replica> {
        let id = format!("r{n}");
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let handle = match self {
            Runtime::Processes { app_binary, data_dir, log } => {
                let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
                let child = Command::new(app_binary)
                    .arg("--listen")
                    .arg(addr.to_string())
                    .arg("--db-path")
                    .arg(data_dir.join("app.db"))
                    .args(["--store", "sqlite", "--trust-forwarded-for", "true"])
                    .env("CLOUDCOMP_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log)
                    .kill_on_drop(true)
                    .spawn()
                    .with_context(|| format!("starting {}", app_binary.display()))?;
                Handle::Process(child)
            }
            Runtime::Containers { docker, image, stack } => {
                let name = format!("cloudcomp-{stack}-{id}");
                let (network, volume) = docker_names(stack);
                let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(port.to_string()) };
                let body = ContainerCreateBody {
                    image: Some(image.clone()),
                    env: Some(vec![
                        format!("CLOUDCOMP_LISTEN=0.0.0.0:{CONTAINER_PORT}"),
                        "CLOUDCOMP_DB_PATH=/data/app.db".into(),
                        "CLOUDCOMP_STORE=sqlite".into(),
                        "CLOUDCOMP_TRUST_FORWARDED_FOR=true".into(),
                        "CLOUDCOMP_LOG=warn".into(),
                    ]),
                    labels: Some(HashMap::from([(STACK_LABEL.to_string(), stack.clone())])),
                    host_config: Some(HostConfig {
                        network_mode: Some(network),
                        binds: Some(vec![format!("{volume}:/data")]),
                        port_bindings: Some(HashMap::from([(format!("{CONTAINER_PORT}/tcp"), Some(vec![binding]))])),
                        ..HostConfig::default()
                    }),
                    ..ContainerCreateBody::default()
                };
                let options = CreateContainerOptionsBuilder::default().name(&name).build();
                docker.create_container(Some(options), body).await.with_context(|| format!("creating {name}"))?;
                docker
                    .start_container(&name, None::<StartContainerOptions>)
                    .await
                    .with_context(|| format!("starting {name}"))?;
                Handle::Container(name)
            }
        };
        Ok(Replica { id, addr, handle })
    }

    /// Whether `replica` has exited (crashed or killed).
    pub async fn has_exited(&self, replica: &mut Replica) -> bool {
        match (&mut replica.handle, self) {
            (Handle::Process(child), _) => !matches!(child.try_wait(), Ok(None)),
            (Handle::Container(name), Runtime::Containers { docker, .. }) => !docker
                .inspect_container(name, None)
                .await
                .is_ok_and(|c| c.state.and_then(|s| s.running).unwrap_or(false)),
            (Handle::Container(_), Runtime::Processes { .. }) => true,
        }
    }

    /// Stops and removes `replica`. The store acknowledges writes only once durable, so a
    /// hard stop loses nothing acknowledged.
    pub async fn stop(&self, replica: Replica) {
        match (replica.handle, self) {
            (Handle::Process(mut child), _) => {
                let _ = child.kill().await;
            }
            (Handle::Container(name), Runtime::Containers { docker, .. }) => {
                let options = RemoveContainerOptionsBuilder::default().force(true).build();
                let _ = docker.remove_container(&name, Some(options)).await;
            }
            (Handle::Container(_), Runtime::Processes { .. }) => {}
        }
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
