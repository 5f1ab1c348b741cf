//! Fuzzing over HTTP: thousands of random requests (methods, paths, query strings, headers,
//! bodies) and writes with one edge-case field (see `fuzz/requests.rs`) against one running
//! app binary.
//!
//! It proves that every answer is a 2xx, a 4xx or FastAPI's 307 from `/users/` to `/users`,
//! never a 5xx or a dropped connection, that every 4xx carries a JSON body with an `error`
//! message (HEAD answers carry no body), and
//! that the server is still healthy afterwards: alive, answering, reading and writing.
//!
//! It runs once per store, without rate limits so that requests reach the handlers: on
//! SQLite (with a DynamoDB table on the moto_server for `/api/v1/users/dynamo`), and on
//! DynamoDB itself. The statuses seen must include success and each kind of refusal, so a
//! generator that stops reaching the handlers fails the test too.

#[path = "fuzz/requests.rs"]
mod requests;
mod support;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use requests::FuzzRequest;
use support::App;

/// Random requests per run.
const CASES: u32 = 2_000;
/// Writes with one edge-case field per run.
const EDGE_CASES: u32 = 500;

/// Statuses a run must have seen: writes and reads that succeed, and each kind of refusal.
const EXPECTED_STATUSES: [u16; 7] = [200, 201, 400, 401, 404, 405, 422];

/// The app on `store` ("sqlite" or "dynamodb"), with a fresh SQLite file and a fresh table
/// on the moto_server, without rate limits.
fn start_app(dir: &std::path::Path, store: &str) -> App {
    let endpoint = std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT").expect(
        "CLOUDCOMP_TEST_AWS_ENDPOINT is not set: start moto_server and point it there (bash .ci/run does both)",
    );
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let table = format!("cc-fuzz-{}-{nanos}", std::process::id());
    App::start(
        &dir.join("fuzz.db"),
        &[
            ("CLOUDCOMP_STORE", store),
            ("CLOUDCOMP_TABLE", &table),
            ("CLOUDCOMP_CREATE_TABLE", "true"),
            ("CLOUDCOMP_AWS_ENDPOINT", &endpoint),
            ("CLOUDCOMP_REGION", "us-east-1"),
            ("CLOUDCOMP_RATE_LOGIN", "0"),
            ("CLOUDCOMP_RATE_ITEMS", "0"),
        ],
    )
}

async fn login(client: &Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/auth/login"))
        .form(&[("username", "demo"), ("password", "password123")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Sends one request and checks its answer.
async fn check(
    client: &Client,
    base: &str,
    request: FuzzRequest,
    seen: &RefCell<BTreeMap<u16, u32>>,
) -> TestCaseResult {
    let mut builder = client.request(request.method.clone(), format!("{base}{}", request.target));
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.body(request.body).send().await;
    let response = response.map_err(|e| TestCaseError::fail(format!("no answer: {e:?}")))?;
    let status = response.status();
    let response_location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    *seen.borrow_mut().entry(status.as_u16()).or_default() += 1;
    let body = response.bytes().await.map_err(|e| TestCaseError::fail(format!("answer cut off: {e:?}")))?;
    let text = String::from_utf8_lossy(&body);
    let redirect = status == StatusCode::TEMPORARY_REDIRECT
        && request.target.starts_with("/users/")
        && response_location.as_deref().is_some_and(|l| l.starts_with("/users"));
    prop_assert!(status.is_success() || status.is_client_error() || redirect, "status {status}, body {text}");
    if status.is_client_error() && request.method != Method::HEAD {
        let json: Result<Value, _> = serde_json::from_slice(&body);
        let has_error = json.as_ref().is_ok_and(|json| json["error"].as_str().is_some_and(|e| !e.is_empty()));
        prop_assert!(has_error, "status {status} without a JSON error message: {text:?}");
    }
    Ok(())
}

/// The process is alive and the server still reads, writes and logs in.
async fn assert_healthy(app: &mut App, client: &Client) {
    assert!(app.child.try_wait().unwrap().is_none(), "the app exited:\n{}", app.output_tail());
    let health = client.get(format!("{}/health", app.base)).send().await.unwrap();
    assert_eq!((health.status(), health.text().await.unwrap().as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
    let status = client.get(format!("{}/status", app.base)).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    assert!(status.json::<Value>().await.unwrap()["counter"].is_i64());
    let person = json!({"name": "After Fuzzing", "email": "after.fuzzing@example.com"});
    let added = client.post(format!("{}/user", app.base)).json(&person).send().await.unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    let people: Vec<Value> = client.get(format!("{}/users", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(people.iter().any(|p| p["email"] == person["email"]), "the write after fuzzing is not listed");
    login(client, &app.base).await;
}

/// Sends [`CASES`] random requests and [`EDGE_CASES`] edge-case writes to a fresh app on
/// `store`, then checks its health.
fn fuzz(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start_app(dir.path(), store);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client =
        Client::builder().timeout(Duration::from_secs(30)).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let token = runtime.block_on(login(&client, &app.base));

    let sent = Cell::new(0u32);
    let seen = RefCell::new(BTreeMap::new());
    let send = |request| {
        sent.set(sent.get() + 1);
        runtime.block_on(check(&client, &app.base, request, &seen))
    };
    let config = |cases| Config { cases, failure_persistence: None, max_shrink_iters: 1024, ..Config::default() };
    let outcome = TestRunner::new(config(CASES))
        .run(&requests::request(&token), send)
        .and_then(|()| TestRunner::new(config(EDGE_CASES)).run(&requests::edge_case_write(&token), send));
    if let Err(failure) = outcome {
        panic!("{failure}\napp output (tail):\n{}", app.output_tail());
    }
    runtime.block_on(assert_healthy(&mut app, &client));
    let seen = seen.into_inner();
    eprintln!("REPORT app-fuzz: {} requests, 0 5xx (store {store}, statuses {seen:?})", sent.get());
    let missing: Vec<_> = EXPECTED_STATUSES.iter().filter(|status| !seen.contains_key(status)).collect();
    assert!(missing.is_empty(), "no request got {missing:?}: the requests no longer reach the handlers");
}

#[test]
fn on_sqlite_every_answer_is_a_2xx_or_a_json_4xx_and_the_server_stays_healthy() {
    fuzz("sqlite");
}

#[test]
fn on_dynamodb_every_answer_is_a_2xx_or_a_json_4xx_and_the_server_stays_healthy() {
    fuzz("dynamodb");
}
