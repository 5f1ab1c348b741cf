//! What every route shares: JSON errors, body limits, 404s, rate-limit exemptions, the
//! OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Backend, TestServer, expect_error, json_with};

pub async fn malformed_bodies_are_refused_as_json(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for (path, body) in [
        ("/api/v1/users", "{not json"),
        ("/user", "[1, 2"),
        ("/update", "{\"counter\": }"),
        ("/user", "\"just a string\""),
        ("/api/v1/users", "\u{0}\u{1}"),
        // serde reads a struct from an array of its fields; the original services did not.
        ("/user", "[\"Mario Rossi\", \"m.rossi@satispay.it\"]"),
        ("/api/v1/users", "[\"bob\", \"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8\"]"),
        ("/update", "[1, \"x\"]"),
    ] {
        let response = srv
            .request(Method::POST, path)
            .header("API-Key", "wiz")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(response, 400).await;
    }
    let token = srv.demo_token().await;
    let item = json_with(
        srv.request(Method::POST, "/items")
            .bearer_auth(&token)
            .json(&json!({"name": "notebook"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    // Seed 003 answers invalid input with FastAPI's 422.
    for body in ["\n", " ", "null", "{not json"] {
        let put = srv.request(Method::PUT, &format!("/items/{}", item["id"])).bearer_auth(&token);
        expect_error(put.header("content-type", "application/json").body(body).send().await.unwrap(), 422).await;
    }
    let bad_form = srv
        .request(Method::POST, "/auth/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=%ZZ&password")
        .send()
        .await
        .unwrap();
    assert!(bad_form.status().is_client_error());
}

pub async fn oversized_bodies_are_413(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let big = json!({"name": "x".repeat(1024 * 1024), "email": "a@b.co"}).to_string();
    let response =
        srv.request(Method::POST, "/user").header("content-type", "application/json").body(big).send().await.unwrap();
    expect_error(response, 413).await;
}

pub async fn unknown_paths_are_404_json(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for path in ["/nope", "/api/v2/users", "/items/1/extra"] {
        assert_eq!(expect_error(srv.get(path).await, 404).await["detail"], "Not Found", "as FastAPI words it");
    }
}

pub async fn health_and_seed_surfaces_are_not_rate_limited(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for _ in 0..150 {
        let health = srv.get("/health").await;
        assert_eq!(health.status(), 200);
        assert_eq!(health.headers()["content-type"], "application/json");
        assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);
    }
    for path in ["/api/v1/users", "/status", "/users", "/logs"] {
        for _ in 0..70 {
            assert!(srv.get(path).await.status().is_success(), "{path} was limited");
        }
    }
    let limited = TestServer::start_with(backend, &["--rate-global", "3"]).await;
    for _ in 0..3 {
        assert!(limited.get("/status").await.status().is_success());
    }
    expect_error(limited.get("/users").await, 429).await;
    assert_eq!(limited.get("/health").await.status(), 200, "/health must never be limited");
}

pub async fn openapi_documents_every_route(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let response = srv.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS];
    for (template, operations) in paths {
        let path = template.replace("{username}", "someone").replace("{id}", "1");
        for method in &methods {
            let documented = operations.get(method.as_str().to_lowercase()).is_some();
            let status = srv
                .request(method.clone(), &path)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
                .status();
            if documented {
                assert!(status != 404 || path.starts_with("/items/"), "{method} {path} is documented but not routed");
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }
    for routed in [
        "/",
        "/health",
        "/api/v1/users",
        "/api/v1/users/dynamo",
        "/api/v1/users/{username}",
        "/status",
        "/update",
        "/logs",
        "/users",
        "/users/",
        "/user",
        "/auth/login",
        "/items",
        "/items/{id}",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(routed), "{routed} missing from the document");
    }
}

pub async fn undecodable_path_parameters_are_refused_as_json(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let account = srv.request(Method::DELETE, "/api/v1/users/%FF").send().await.unwrap();
    expect_error(account, 400).await;
    let token = srv.demo_token().await;
    let item = srv.request(Method::GET, "/items/%C3%28").bearer_auth(token).send().await.unwrap();
    expect_error(item, 422).await;
}

pub async fn an_unread_body_closes_the_connection_and_says_so(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let unread = srv
        .request(Method::POST, "/update")
        .header("content-type", "application/json")
        .body(format!("{{\"message\": \"{}\"}}", "x".repeat(512 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(unread.headers().get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
    expect_error(unread, 401).await;
    let read = srv.post_json("/user", &json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"})).await;
    assert!(read.headers().get("connection").is_none(), "a connection whose body was read is kept alive");
    assert_eq!(read.status(), 200);
    assert_eq!(srv.get("/health").await.status(), 200);
}
