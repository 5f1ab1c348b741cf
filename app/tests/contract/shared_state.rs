//! Seed 001: `/status`, `/update`, `/logs`.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::server::{Backend, TestServer, expect_error, json_with};

async fn update(srv: &TestServer, counter: i64, message: &str) -> reqwest::Response {
    srv.request(Method::POST, "/update")
        .header("API-Key", "wiz")
        .json(&json!({"counter": counter, "message": message}))
        .send()
        .await
        .unwrap()
}

pub async fn status_starts_at_the_initial_state(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let status = json_with(srv.get("/status").await, 200).await;
    assert_eq!(status["counter"], 0);
    assert!(status["message"].is_string());
    let timestamp = status["timestamp"].as_str().unwrap();
    let parsed = OffsetDateTime::parse(timestamp, &Rfc3339).expect("timestamp is RFC 3339");
    assert!(timestamp.ends_with('Z') && parsed.offset().is_utc(), "timestamp {timestamp} is not UTC");
    assert!((OffsetDateTime::now_utc() - parsed).abs() < time::Duration::seconds(5));
    assert!(status["uptime"].as_f64().unwrap() >= 0.0);
}

pub async fn update_needs_the_api_key(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let body = json!({"counter": 1, "message": "x"});
    let missing = srv.post_json("/update", &body).await;
    expect_error(missing, 401).await;
    let wrong = srv.request(Method::POST, "/update").header("API-Key", "wrong").json(&body).send().await.unwrap();
    expect_error(wrong, 401).await;
    assert_eq!(json_with(srv.get("/status").await, 200).await["counter"], 0, "a refused update changed the state");

    let custom = TestServer::start_with(backend, &["--api-key", "s3cret"]).await;
    let old_key = custom.request(Method::POST, "/update").header("API-Key", "wiz").json(&body).send().await.unwrap();
    expect_error(old_key, 401).await;
    let new_key = custom.request(Method::POST, "/update").header("API-Key", "s3cret").json(&body).send().await.unwrap();
    assert_eq!(new_key.status(), 200);
}

pub async fn update_changes_status_and_logs_it(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let updated = json_with(update(&srv, 42, "Updated state").await, 200).await;
    assert_eq!(updated["counter"], 42);
    assert_eq!(updated["message"], "Updated state");
    let status = json_with(srv.get("/status").await, 200).await;
    assert_eq!((status["counter"].clone(), status["message"].clone()), (json!(42), json!("Updated state")));
    let logs = json_with(srv.get("/logs").await, 200).await;
    assert_eq!(logs["total"], 1);
    assert_eq!(logs["logs"][0]["counter"], 42);
    assert_eq!(logs["logs"][0]["message"], "Updated state");
    OffsetDateTime::parse(logs["logs"][0]["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();

    for bad in [json!({"counter": "many", "message": "x"}), json!({"message": "x"}), json!({"counter": 1})] {
        let response = srv.request(Method::POST, "/update").header("API-Key", "wiz").json(&bad).send().await.unwrap();
        expect_error(response, 400).await;
    }
    assert_eq!(json_with(srv.get("/logs").await, 200).await["total"], 1, "a refused update was logged");
}

pub async fn counters_written_as_whole_floats_are_whole_numbers(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let post = |body: Value| srv.request(Method::POST, "/update").header("API-Key", "wiz").json(&body).send();
    let updated = json_with(post(json!({"counter": 43.0, "message": "x"})).await.unwrap(), 200).await;
    assert_eq!(updated["counter"], 43);
    for bad in [json!(43.5), json!(1e19), json!("43"), Value::Null] {
        expect_error(post(json!({"counter": bad, "message": "x"})).await.unwrap(), 400).await;
    }
    let form =
        srv.request(Method::POST, "/update").header("API-Key", "wiz").form(&[("counter", "44"), ("message", "y")]);
    assert_eq!(json_with(form.send().await.unwrap(), 200).await["counter"], 44);
}

pub async fn logs_paginate_newest_first(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for i in 1..=7 {
        assert_eq!(update(&srv, i, &format!("m{i}")).await.status(), 200);
    }
    let counters = |page: &Value| -> Vec<i64> {
        page["logs"].as_array().unwrap().iter().map(|e| e["counter"].as_i64().unwrap()).collect()
    };
    let first = json_with(srv.get("/logs?page=1&per_page=3").await, 200).await;
    assert_eq!(first["total"], 7);
    assert_eq!(counters(&first), vec![7, 6, 5]);
    let third = json_with(srv.get("/logs?page=3&per_page=3").await, 200).await;
    assert_eq!(counters(&third), vec![1]);
    let beyond = json_with(srv.get("/logs?page=9&per_page=3").await, 200).await;
    assert_eq!(counters(&beyond), Vec::<i64>::new());
    assert_eq!(beyond["total"], 7);
    let default = json_with(srv.get("/logs").await, 200).await;
    assert_eq!(counters(&default), vec![7, 6, 5, 4, 3, 2, 1]);
    for bad in ["/logs?page=0", "/logs?per_page=0", "/logs?per_page=101", "/logs?page=abc", "/logs?page=-1"] {
        expect_error(srv.get(bad).await, 400).await;
    }
}

pub async fn concurrent_updates_all_land(backend: Backend) {
    let srv = std::sync::Arc::new(TestServer::start(backend).await);
    let writers = 40;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let srv = srv.clone();
            tokio::spawn(async move { update(&srv, i, "concurrent").await.status().as_u16() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let logs = json_with(srv.get("/logs?per_page=100").await, 200).await;
    assert_eq!(logs["total"], writers);
    let mut ids: Vec<i64> = logs["logs"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=writers).collect::<Vec<_>>(), "audit ids must be unique and gapless");
}

pub async fn messages_longer_than_10000_characters_are_refused(backend: Backend) {
    let srv = TestServer::start(backend).await;
    assert_eq!(update(&srv, 1, &"é".repeat(10_000)).await.status(), 200);
    expect_error(update(&srv, 2, &"é".repeat(10_001)).await, 400).await;
    assert_eq!(json_with(srv.get("/status").await, 200).await["counter"], 1, "a refused update changed the state");
}
