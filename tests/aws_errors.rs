//! What a person reads when AWS says no, and what reaches AWS at all: an instance type that
//! cannot run the app image is refused before anything is created; an AWS refusal names
//! the action, AWS's code and message — never the SDK's debug output; credentials come from
//! the profile's `credential_process` or its SSO login, like the AWS CLI's.

mod support;

use std::process::Command;

use support::{moto, run_with, stderr};

/// A stack file named `name` with `instances` as its instances block.
fn stack_with_instances(dir: &std::path::Path, name: &str, instances: &str) -> String {
    let text = include_str!("../stacks/default.yaml")
        .replace("name: demo", &format!("name: {name}"))
        .replace("instances:\n  type: t3.micro\n", &format!("instances:\n{instances}\n"));
    assert!(text.contains(instances), "the default stack's instances block moved");
    let file = dir.join("stack.yaml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// What no message for a person may contain: Rust's debug output of an SDK error.
fn assert_no_debug_output(text: &str) {
    for debug in ["ServiceError", "Some(", "ErrorMetadata", "unhandled", "raw: Response"] {
        assert!(!text.contains(debug), "debug output `{debug}` in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_type_that_cannot_run_the_image_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("arm{}", std::process::id());
    let file = stack_with_instances(dir.path(), &name, "  type: t4g.micro");
    let state = dir.path().join("state.json");
    let up = run_with(&["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &moto()], &[]).await;
    assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
    let message = stderr(&up);
    assert!(message.contains("t4g.micro runs arm64 but the app image is built for x86_64"), "{message}");
    assert_no_debug_output(&message);
    let recorded = std::fs::read_to_string(&state).unwrap_or_default();
    assert!(!recorded.contains("\"kind\""), "something was created: {recorded}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_refusal_names_the_action_and_awss_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("bogus{}", std::process::id());
    let file = stack_with_instances(dir.path(), &name, "  type: t3.bogus");
    let state = dir.path().join("state.json");
    let up = run_with(&["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &moto()], &[]).await;
    assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
    let message = stderr(&up);
    assert!(message.contains("AWS refused DescribeInstanceTypes: InvalidInstanceType ("), "{message}");
    assert_no_debug_output(&message);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_come_from_the_profiles_credential_process() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let credentials = r#"{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "from-the-process"}"#;
    std::fs::write(&config, format!("[profile viaprocess]\ncredential_process = echo '{credentials}'\n")).unwrap();
    let name = format!("creds{}", std::process::id());
    let state = dir.path().join("state.json");
    let destroy = |profile: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cloudcomp"));
        command
            .args(["destroy", "--stack", &name, "--from-tags", "--state", state.to_str().unwrap()])
            .args(["--endpoint-url", &moto(), "--profile", profile])
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            // Not on EC2: the chain's last resort, the instance metadata service, is not asked.
            .env("AWS_EC2_METADATA_DISABLED", "true");
        command.output().unwrap()
    };
    // Looking for the stack's resources signs AWS calls: it needs the process's credentials.
    let found = destroy("viaprocess");
    assert!(found.status.success(), "{}", String::from_utf8_lossy(&found.stderr));
    let missing = destroy("nosuchprofile");
    assert!(!missing.status.success(), "a profile that does not exist gave credentials");
    assert_no_debug_output(&String::from_utf8_lossy(&missing.stderr));
}

/// On AWS the instances boot for minutes: `up` waits for them, and when they are not up in
/// time it exits 1 saying what it waited for (here: targets still `initial`, through the
/// strict proxy's boot delay). `--no-wait` returns once AWS has the resources.
#[tokio::test(flavor = "multi_thread")]
async fn up_exits_1_saying_what_it_waited_for_when_the_service_is_not_up_in_time() {
    let strict = aws_proxy::Setup { strict: Some(aws_proxy::Strict::aws_like()), ..aws_proxy::Setup::default() };
    let proxy =
        aws_proxy::Proxy::start_with("127.0.0.1:0".parse().unwrap(), support::moto_addr(), strict).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("boot{}", std::process::id());
    let file = support::default_stack(dir.path(), &name);
    let endpoint = proxy.url();
    let up = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint, "--wait-timeout", "1s"], &[]).await;
    assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
    let message = stderr(&up);
    assert!(message.contains("the service was not up after 1s"), "{message}");
    assert!(message.contains("targets healthy"), "{message}");
    assert_no_debug_output(&message);
    assert!(support::stdout(&up).is_empty(), "a URL was printed for a service that is not up");

    let again = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint, "--no-wait"], &[]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("waiting for the service"), "{}", stderr(&again));
    assert!(support::stdout(&again).contains("/api/v1/users"));
    let down = run_with(&["destroy", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(down.status.success(), "{}", stderr(&down));
}

/// A stand-in for the AWS SSO portal's GetRoleCredentials (`GET /federation/credentials`,
/// the token in `x-amz-sso_bearer_token`; AWS SSO portal API reference): moto has no SSO
/// portal. Answers role credentials when the request carries `token`; records each request line.
async fn sso_portal(token: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let Ok(n) = stream.read(&mut buffer).await else { break };
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            let request = String::from_utf8_lossy(&request).to_string();
            record.lock().unwrap().push(request.lines().next().unwrap_or_default().to_string());
            let authorized = request.to_ascii_lowercase().contains(&format!("x-amz-sso_bearer_token: {token}"));
            let (status, body) = if authorized {
                let credentials = r#"{"roleCredentials": {"accessKeyId": "AKIDSSO", "secretAccessKey": "from-sso",
                    "sessionToken": "session", "expiration": 4102444800000}}"#;
                ("200 OK", credentials.to_string())
            } else {
                ("401 Unauthorized", r#"{"message": "Session token not found or invalid"}"#.to_string())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_come_from_an_sso_profile() {
    let home = tempfile::tempdir().unwrap();
    let start_url = "https://example.awsapps.com/start";
    // The token `aws sso login` leaves in the cache, keyed by the SHA-1 of the start URL.
    let cache = home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let key = format!("{:x}", <sha1::Sha1 as sha1::Digest>::digest(start_url.as_bytes()));
    std::fs::write(
        cache.join(format!("{key}.json")),
        format!(r#"{{"startUrl": "{start_url}", "region": "us-east-1", "accessToken": "cached-token", "expiresAt": "2099-01-01T00:00:00Z"}}"#),
    )
    .unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        format!(
            "[profile viasso]\nsso_start_url = {start_url}\nsso_region = us-east-1\nsso_account_id = 123456789012\n\
             sso_role_name = Admin\nregion = us-east-1\n"
        ),
    )
    .unwrap();
    let (portal, seen) = sso_portal("cached-token").await;
    let name = format!("sso{}", std::process::id());
    let state = home.path().join("state.json");
    let args: Vec<String> = ["destroy", "--stack", &name, "--from-tags", "--state", state.to_str().unwrap()]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_cloudcomp"))
            .args(args)
            .args(["--endpoint-url", &moto(), "--profile", "viasso"])
            .env("HOME", home.path())
            .env("AWS_ENDPOINT_URL_SSO", &portal)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|line| line.starts_with("GET /federation/credentials?role_name=Admin&account_id=123456789012")),
        "the SSO portal was not asked for the role's credentials: {seen:?}"
    );
}
