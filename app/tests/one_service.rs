//! Three `cloudcomp-app` processes on one store behave as one service when a load balancer
//! sends consecutive requests to different ones: a token issued by one is accepted by the
//! others, and a rate limit counts requests across all three. On DynamoDB (a table on the
//! moto_server, the JWT key in an SSM SecureString parameter there) and on one SQLite file
//! (the JWT key in the key file beside it). Also: a JWT key parameter that cannot be used
//! stops the app with an error that names it and never shows its value.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_ssm::types::ParameterType;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Client, Response};
use serde_json::Value;
use support::App;

/// Login requests per minute per client in these tests (the default).
const LOGINS_PER_MINUTE: u64 = 5;
/// Requests per minute per client to seed 003's routes, logins included, in these tests: low,
/// so that a few requests reach it.
const SEED_003_PER_MINUTE: u64 = 9;

/// Sends each request to the next instance in turn, as a round-robin load balancer does.
struct RoundRobin {
    bases: Vec<String>,
    next: AtomicUsize,
    client: Client,
}

impl RoundRobin {
    fn new(apps: &[App]) -> Self {
        RoundRobin {
            bases: apps.iter().map(|a| a.base.clone()).collect(),
            next: AtomicUsize::new(0),
            client: Client::new(),
        }
    }

    /// The URL of `path` on the next instance.
    fn url(&self, path: &str) -> String {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len();
        format!("{}{path}", self.bases[i])
    }

    async fn login(&self, password: &str) -> Response {
        let form = [("username", "demo"), ("password", password)];
        self.client.post(self.url("/auth/login")).form(&form).send().await.unwrap()
    }

    async fn items(&self, token: &str) -> Response {
        self.client.get(self.url("/items")).bearer_auth(token).send().await.unwrap()
    }
}

/// A name no other test run uses.
fn unique(label: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{label}-{}-{nanos}", std::process::id())
}

fn moto_endpoint() -> String {
    std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT")
        .expect("CLOUDCOMP_TEST_AWS_ENDPOINT is not set: start moto_server and point it there (bash .ci/run does both)")
}

/// An SSM client on the moto_server.
async fn ssm() -> aws_sdk_ssm::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .load()
        .await;
    aws_sdk_ssm::Client::new(&config)
}

/// Creates the SecureString parameter `name` holding `value`.
async fn put_parameter(name: &str, value: &str) {
    ssm().await.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).send().await.unwrap();
}

/// The app command on `db`, configured by `env`, with the JWT key left to the store's source
/// (the support default `CLOUDCOMP_JWT_SECRET` removed).
fn command(db: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = App::command(db, env);
    command.env_remove("CLOUDCOMP_JWT_SECRET");
    command
}

/// Starts three instances and waits until each answers `/health`.
async fn three_instances(db: &Path, env: &[(&str, &str)]) -> Vec<App> {
    let apps: Vec<App> = (0..3).map(|_| App::spawn(command(db, env))).collect();
    let client = Client::new();
    for app in &apps {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !client.get(format!("{}/health", app.base)).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "{} never became healthy:\n{}", app.base, app.output_tail());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    apps
}

/// The `Retry-After` of a 429, checked to be at most one emission interval of the limit.
fn retry_after(response: &Response, per_minute: u64) -> u64 {
    assert_eq!(response.status(), 429);
    let seconds: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60u64.div_ceil(per_minute)).contains(&seconds), "Retry-After {seconds}");
    seconds
}

/// Drives three instances through a round-robin balancer: one login, its token on the
/// other two, the login limit and seed 003's limit reached across all three. `key` is the
/// JWT key the instances should sign with.
async fn behaves_as_one_service(apps: &[App], key: &[u8]) {
    let balancer = RoundRobin::new(apps);
    let started = Instant::now();

    // Request 1 (instance 1): a login.
    let response = balancer.login("password123").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(key), &validation)
        .expect("the token is signed with the shared key");

    // Requests 2-4 (instances 2, 3, 1): the token works everywhere.
    for i in 0..3 {
        let response = balancer.items(&token).await;
        assert_eq!(response.status(), 200, "item request {i} refused: {}", response.text().await.unwrap());
    }
    // Requests 5-8 (instances 2, 3, 1, 2): logins 2 to 5, then the 6th (instance 3) is refused.
    for i in 1..LOGINS_PER_MINUTE {
        assert_eq!(balancer.login("wrong").await.status(), 401, "login {i} refused");
    }
    let refused = balancer.login("password123").await;
    retry_after(&refused, LOGINS_PER_MINUTE);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], format!("Rate limit exceeded: {LOGINS_PER_MINUTE} per 1 minute"), "{body}");

    // Request 10 (instance 1): the 9th of seed 003 that counted (the refused login did not).
    assert_eq!(balancer.items(&token).await.status(), 200, "the refused login was counted");
    // Request 11 (instance 2): seed 003's limit is reached across the three.
    let refused = balancer.items(&token).await;
    let interval = Duration::from_secs(60 / SEED_003_PER_MINUTE);
    assert!(
        started.elapsed() < interval,
        "the requests took {:?}: one came back meanwhile, so the last may pass",
        started.elapsed()
    );
    retry_after(&refused, SEED_003_PER_MINUTE);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], format!("Rate limit exceeded: {SEED_003_PER_MINUTE} per 1 minute"), "{body}");
}

#[tokio::test]
async fn three_instances_on_one_dynamodb_table_are_one_service() {
    let dir = tempfile::tempdir().unwrap();
    let (table, parameter) = (unique("cc-one-service"), format!("/cloudcomp-test/{}", unique("jwt")));
    let key = format!("ssm-shared-jwt-key-{}", unique("k"));
    put_parameter(&parameter, &key).await;
    let endpoint = moto_endpoint();
    let items = SEED_003_PER_MINUTE.to_string();
    let env = [
        ("CLOUDCOMP_STORE", "dynamodb"),
        ("CLOUDCOMP_TABLE", table.as_str()),
        ("CLOUDCOMP_CREATE_TABLE", "true"),
        ("CLOUDCOMP_AWS_ENDPOINT", endpoint.as_str()),
        ("CLOUDCOMP_REGION", "us-east-1"),
        ("CLOUDCOMP_JWT_SECRET_PARAMETER", parameter.as_str()),
        ("CLOUDCOMP_RATE_ITEMS", items.as_str()),
        ("CLOUDCOMP_LOG", "debug"),
    ];
    let apps = three_instances(&dir.path().join("unused.db"), &env).await;
    behaves_as_one_service(&apps, key.as_bytes()).await;
    for app in &apps {
        assert!(!app.output().contains(&key), "an instance logged the JWT key");
    }
    eprintln!(
        "REPORT one-service-dynamodb: 3 instances, round robin: token shared (SSM key), 429 on the 6th login and the 10th seed 003 request"
    );
}

#[tokio::test]
async fn three_processes_on_one_sqlite_file_are_one_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let items = SEED_003_PER_MINUTE.to_string();
    let apps = three_instances(&db, &[("CLOUDCOMP_RATE_ITEMS", items.as_str())]).await;
    let key = std::fs::read(dir.path().join("shared.db.jwt-key")).unwrap();
    behaves_as_one_service(&apps, &key).await;
    eprintln!(
        "REPORT one-service-sqlite: 3 processes, round robin: token shared (key file), 429 on the 6th login and the 10th seed 003 request"
    );
}

/// Runs the app with the JWT key parameter `parameter` until it exits; returns its stderr.
fn run_with_parameter(parameter: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto_endpoint();
    let env = [
        ("CLOUDCOMP_AWS_ENDPOINT", endpoint.as_str()),
        ("CLOUDCOMP_REGION", "us-east-1"),
        ("CLOUDCOMP_JWT_SECRET_PARAMETER", parameter),
    ];
    let output = command(&dir.path().join("app.db"), &env).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the app started without its JWT key:\n{stderr}");
    assert!(stderr.contains(parameter), "the error does not name the parameter:\n{stderr}");
    stderr
}

#[test]
fn a_missing_jwt_key_parameter_stops_the_app_naming_it() {
    let parameter = format!("/cloudcomp-test/{}", unique("absent"));
    let stderr = run_with_parameter(&parameter);
    assert!(stderr.contains("ParameterNotFound"), "the error does not give AWS's code:\n{stderr}");
}

#[tokio::test]
async fn an_unusable_jwt_key_parameter_stops_the_app_without_showing_it() {
    let parameter = format!("/cloudcomp-test/{}", unique("short"));
    let value = "short-key-42";
    put_parameter(&parameter, value).await;
    let stderr = tokio::task::spawn_blocking({
        let parameter = parameter.clone();
        move || run_with_parameter(&parameter)
    })
    .await
    .unwrap();
    assert!(!stderr.contains(value), "the error shows the value:\n{stderr}");
    assert!(stderr.contains("shorter than"), "the error does not say what is wrong:\n{stderr}");
}
