//! The app image against a real Docker engine and registry (CLOUDCOMP_TEST_REGISTRY, started
//! by .ci/run): built FROM scratch from the static app, small, non-root, answering /health;
//! pushed and pulled back by digest; and pinned by digest in the launch template `up` creates.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

fn registry() -> String {
    std::env::var("CLOUDCOMP_TEST_REGISTRY")
        .expect("CLOUDCOMP_TEST_REGISTRY is not set: start docker-registry (bash .ci/run does)")
}

fn cloudcomp(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cloudcomp")).args(args).output().expect("running cloudcomp")
}

async fn docker() -> Docker {
    Docker::connect_with_defaults().unwrap().negotiate_version().await.expect("dockerd is not running")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over plain HTTP/1.1; the status line and body.
fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// Builds and pushes through the CLI; returns (repository, tag, digest).
fn build_and_push(registry: &str) -> (String, String, String) {
    let built = cloudcomp(&["build", "--push", registry]);
    assert!(built.status.success(), "build failed: {}", String::from_utf8_lossy(&built.stderr));
    let reference = String::from_utf8_lossy(&built.stdout).trim().to_string();
    let (named, digest) = reference.split_once('@').unwrap_or_else(|| panic!("no digest in {reference:?}"));
    let (repository, tag) = named.rsplit_once(':').unwrap();
    assert_eq!(repository, format!("{registry}/cloudcomp-app"));
    assert!(digest.starts_with("sha256:"), "{digest}");
    (repository.to_string(), tag.to_string(), digest.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_is_small_non_root_pushed_pulled_by_digest_and_answers_health() {
    let registry = registry();
    let (repository, tag, digest) = tokio::task::spawn_blocking({
        let registry = registry.clone();
        move || build_and_push(&registry)
    })
    .await
    .unwrap();
    let docker = docker().await;

    let image = docker.inspect_image(&format!("cloudcomp-app:{tag}")).await.unwrap();
    let size = image.size.unwrap();
    assert!(size <= 20_000_000, "image is {size} bytes, over 20 MB");
    let config = image.config.unwrap();
    assert_eq!(config.user.as_deref(), Some("65532:65532"), "the app must not run as root");

    // An unchanged app keeps its tag: nothing to rebuild or push again.
    let (_, again, _) = tokio::task::spawn_blocking(move || build_and_push(&registry)).await.unwrap();
    assert_eq!(again, tag);

    // Pull it back from the registry by digest, then run that.
    let by_digest = format!("{repository}@{digest}");
    let _ = docker
        .remove_image(&format!("{repository}:{tag}"), Some(RemoveImageOptionsBuilder::default().build()), None)
        .await;
    let mut pull =
        docker.create_image(Some(CreateImageOptionsBuilder::default().from_image(&by_digest).build()), None, None);
    while let Some(step) = pull.next().await {
        step.unwrap_or_else(|e| panic!("pulling {by_digest}: {e}"));
    }

    let port = free_port();
    let name = format!("cloudcomp-image-test-{}", std::process::id());
    // No volume: the image's own /data belongs to the app's user.
    let body = ContainerCreateBody {
        image: Some(by_digest.clone()),
        env: Some(vec!["CLOUDCOMP_DB_PATH=/data/app.db".into()]),
        host_config: Some(HostConfig {
            port_bindings: Some(
                [(
                    "8080/tcp".to_string(),
                    Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(port.to_string()) }]),
                )]
                .into(),
            ),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    docker.create_container(Some(CreateContainerOptionsBuilder::default().name(&name).build()), body).await.unwrap();
    docker.start_container(&name, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    let started = Instant::now();
    let answer = loop {
        match get(port, "/health") {
            Ok(response) if response.starts_with("HTTP/1.1 200") => break response,
            other if started.elapsed() > Duration::from_secs(20) => {
                let logs = container_logs(&docker, &name).await;
                let _ = remove(&docker, &name).await;
                panic!("/health never answered 200: {other:?}\n{logs}");
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    remove(&docker, &name).await;
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
}

async fn container_logs(docker: &Docker, name: &str) -> String {
    let options = bollard::query_parameters::LogsOptionsBuilder::default().stdout(true).stderr(true).build();
    let mut logs = docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(line)) = logs.next().await {
        text.push_str(&line.to_string());
    }
    text
}

async fn remove(docker: &Docker, name: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(name, Some(options)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_pushes_to_the_named_registry_and_the_launch_template_pins_its_digest() {
    let moto = std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT").expect("CLOUDCOMP_TEST_AWS_ENDPOINT is not set");
    let registry = registry();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("img{}", std::process::id());
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, include_str!("../stacks/default.yaml").replace("name: demo", &format!("name: {name}")))
        .unwrap();
    let file = file.to_str().unwrap().to_string();
    let run = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || cloudcomp(&args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap()
    };
    let args = |command: &str| -> Vec<String> {
        [command, "-f", &file, "--endpoint-url", &moto].iter().map(|s| s.to_string()).collect()
    };

    let mut up_args = args("up");
    up_args.extend(["--registry".to_string(), registry.clone()]);
    let up = run(up_args).await;
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    assert!(up.status.success(), "up failed: {stderr}");
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".cloudcomp").join(format!("{name}.state.json"))).unwrap(),
    )
    .unwrap();
    let pushed = state["resources"]["container_image.app"]["outputs"]["reference"].as_str().unwrap().to_string();
    assert!(pushed.starts_with(&format!("{registry}/cloudcomp-app@sha256:")), "{pushed}");

    let cx = cloudcomp::aws::Cx::connect(&name, "us-east-1", Some(&moto), None).await;
    let versions = cx
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(format!("{name}-app"))
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0].launch_template_data().unwrap().user_data().unwrap().to_string();
    let script =
        String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap()).unwrap();
    assert!(script.contains(&format!("IMAGE='{pushed}'")), "the instances do not run the pushed digest:\n{script}");
    let script_file = dir.path().join("user-data.sh");
    std::fs::write(&script_file, &script).unwrap();
    assert!(std::process::Command::new("bash").arg("-n").arg(&script_file).status().unwrap().success());

    // The registry holds that digest: a second plan reads it back and changes nothing.
    let mut plan_args = args("plan");
    plan_args.extend(["--registry".to_string(), registry.clone()]);
    let plan = run(plan_args).await;
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));

    let down = run(args("destroy")).await;
    assert!(down.status.success(), "destroy failed: {}", String::from_utf8_lossy(&down.stderr));
}
