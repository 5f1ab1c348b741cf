//! A real `cloudcomp-app` server on an ephemeral loopback port, over SQLite (a temp file) or
//! DynamoDB (a fresh table on the moto_server that `.ci/run` started).

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use cloudcomp_app::config::Config;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The JWT key every test server uses, so tests can forge and expire tokens.
pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// Which store the server runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Dynamo,
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

/// The moto_server to use, from `CLOUDCOMP_TEST_AWS_ENDPOINT` (set by `.ci/run`).
pub fn moto_endpoint() -> String {
    std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT")
        .expect("CLOUDCOMP_TEST_AWS_ENDPOINT is not set: start moto_server and point it there (bash .ci/run does both)")
}

/// A table name no other test uses.
pub fn unique_table(label: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("cc-test-{label}-{}-{nanos}", std::process::id())
}

impl TestServer {
    /// A server with default settings.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// A server with extra command-line flags.
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let mut args: Vec<String> = ["cloudcomp-app", "--listen", "127.0.0.1:0", "--jwt-secret", SECRET, "--db-path"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(db.display().to_string());
        if let Backend::Dynamo = backend {
            let table = unique_table("app");
            let endpoint = moto_endpoint();
            args.extend(
                [
                    "--store",
                    "dynamodb",
                    "--create-table",
                    "--region",
                    "us-east-1",
                    "--table",
                    &table,
                    "--aws-endpoint",
                    &endpoint,
                ]
                .iter()
                .map(|s| s.to_string()),
            );
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let config = Config::parse_from(args);
        Self::serve(config, dir).await
    }

    /// Serves `config` (its listen address is ignored: an ephemeral port is used).
    pub async fn serve(config: Config, dir: tempfile::TempDir) -> Self {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let ctx = cloudcomp_app::build_context(&config).await.expect("building the app context");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(cloudcomp_app::serve(listener, ctx, async move {
            let _ = stopped.await;
        }));
        TestServer { base, client: Client::new(), _dir: dir, _stop: stop }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path).form(form).send().await.unwrap()
    }

    /// Logs in as the demo user and returns the bearer token.
    pub async fn demo_token(&self) -> String {
        let response = self.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

/// Reads a response as JSON after checking its status.
pub async fn json_with(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Checks an error response: the status, and a JSON body with a non-empty `error` (which
/// every error body of the app has, beside the original service's keys).
pub async fn expect_error(response: Response, status: u16) -> Value {
    let body = json_with(response, status).await;
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "no error message in {body}");
    body
}

/// Checks a seed 000 error (Flask): the status and `{"message": ...}` (with `error`
/// repeating it); returns the message.
pub async fn expect_message(response: Response, status: u16) -> String {
    let body = expect_error(response, status).await;
    let message = body["message"].as_str().unwrap_or_else(|| panic!("no message in {body}")).to_string();
    assert_eq!(body, json!({"message": message, "error": message}));
    message
}

/// Checks a seed 002 or 003 error (FastAPI): the status and `{"detail": ...}` (with an
/// `error` besides); returns the detail.
pub async fn expect_detail(response: Response, status: u16) -> Value {
    let body = expect_error(response, status).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["detail", "error"], "{body}");
    body["detail"].clone()
}

/// Checks FastAPI's validation error: the status, and the `type` and `loc` of each field
/// error (as `"body.name"`), in order; returns the list.
pub async fn expect_field_errors(response: Response, status: u16, expected: &[(&str, &str)]) -> Vec<Value> {
    let detail = expect_detail(response, status).await;
    let errors = detail.as_array().unwrap_or_else(|| panic!("detail is not a list: {detail}")).clone();
    let found: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let loc: Vec<String> =
                e["loc"].as_array().unwrap().iter().map(|l| l.to_string().replace('"', "")).collect();
            (e["type"].as_str().unwrap().to_string(), loc.join("."))
        })
        .collect();
    let expected: Vec<(String, String)> = expected.iter().map(|(t, l)| (t.to_string(), l.to_string())).collect();
    assert_eq!(found, expected, "{detail}");
    for error in &errors {
        assert!(error["msg"].as_str().is_some_and(|m| !m.is_empty()) && error.get("input").is_some(), "{error}");
    }
    errors
}
