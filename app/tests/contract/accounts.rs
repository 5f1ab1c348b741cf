//! Seed 000: `/` and `/api/v1/users`.

use reqwest::Method;
use serde_json::json;

use crate::server::{Backend, TestServer, expect_error, expect_message, json_with, moto_endpoint, unique_table};

const SHA1_PASSWORD: &str = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";

pub async fn welcome_page_at_root(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let response = srv.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.text().await.unwrap().to_lowercase().contains("welcome"));
}

pub async fn add_list_and_remove_users(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for name in ["bob", "alice"] {
        let added = srv.post_json("/api/v1/users", &json!({"username": name, "password": SHA1_PASSWORD})).await;
        assert_eq!(json_with(added, 201).await, json!({"message": format!("User {name} added")}));
    }
    let users = json_with(srv.get("/api/v1/users").await, 200).await;
    assert_eq!(users, json!(["alice", "bob"]));

    let removed = srv.request(Method::DELETE, "/api/v1/users/bob").send().await.unwrap();
    assert_eq!(json_with(removed, 200).await, json!({"message": "user bob removed"}));
    assert_eq!(json_with(srv.get("/api/v1/users").await, 200).await, json!(["alice"]));

    let again = srv.request(Method::DELETE, "/api/v1/users/bob").send().await.unwrap();
    assert_eq!(expect_message(again, 400).await, "User doesn't exist");
    let duplicate = srv.post_json("/api/v1/users", &json!({"username": "alice", "password": SHA1_PASSWORD})).await;
    assert_eq!(expect_message(duplicate, 400).await, "user alice already exists");
}

pub async fn add_user_checks_missing_then_taken_then_format(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let added = srv.post_json("/api/v1/users", &json!({"username": "alice", "password": SHA1_PASSWORD})).await;
    assert_eq!(added.status(), 201);
    let not_sha1 = "password not in sha1 format. Enter a proper format";
    for (body, message) in [
        (json!({"password": SHA1_PASSWORD}), "username or password missing"),
        (json!({"username": "carol"}), "username or password missing"),
        (json!({"username": "", "password": SHA1_PASSWORD}), "username or password missing"),
        (json!({"username": "alice", "password": ""}), "username or password missing"),
        (json!({}), "username or password missing"),
        (json!({"username": "alice", "password": "password"}), "user alice already exists"),
        (json!({"username": "carol", "password": "password"}), not_sha1),
        (json!({"username": "carol", "password": &SHA1_PASSWORD[1..]}), not_sha1),
        (json!({"username": "carol", "password": format!("{}g", &SHA1_PASSWORD[1..])}), not_sha1),
    ] {
        assert_eq!(expect_message(srv.post_json("/api/v1/users", &body).await, 400).await, message, "{body}");
    }
    for body in [json!({"username": "a/b", "password": SHA1_PASSWORD}), json!({"username": 42, "password": "x"})] {
        expect_message(srv.post_json("/api/v1/users", &body).await, 400).await;
    }
    assert_eq!(json_with(srv.get("/api/v1/users").await, 200).await, json!(["alice"]), "a refused user was stored");
}

pub async fn every_answer_allows_any_origin_as_flask_cors_did(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let added = srv.post_json("/api/v1/users", &json!({"username": "bob", "password": SHA1_PASSWORD})).await;
    let refused = srv.post_json("/api/v1/users", &json!({})).await;
    let wrong_method = srv.request(Method::PUT, "/api/v1/users").send().await.unwrap();
    for response in [srv.get("/").await, srv.get("/api/v1/users").await, added, refused, wrong_method] {
        let origin = response.headers().get("access-control-allow-origin");
        assert_eq!(origin.map(|v| v.as_bytes()), Some(&b"*"[..]), "{} {:?}", response.status(), response.url());
    }
    for (path, methods) in [
        ("/api/v1/users", "GET, HEAD, OPTIONS, POST"),
        ("/api/v1/users/bob", "DELETE, OPTIONS"),
        ("/api/v1/users/dynamo", "GET, HEAD, OPTIONS"),
        ("/", "GET, HEAD, OPTIONS"),
    ] {
        let preflight = srv
            .request(Method::OPTIONS, path)
            .header("origin", "https://example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200, "OPTIONS {path}");
        let headers = preflight.headers();
        assert_eq!(headers["allow"], methods, "OPTIONS {path}");
        assert_eq!(headers["access-control-allow-methods"], methods, "OPTIONS {path}");
        assert_eq!(headers["access-control-allow-origin"], "*", "OPTIONS {path}");
        assert_eq!(headers["access-control-allow-headers"], "content-type", "OPTIONS {path}");
    }
    let other_surface = srv.get("/status").await;
    assert!(!other_surface.headers().contains_key("access-control-allow-origin"), "CORS beyond seed 000");
    expect_error(srv.request(Method::OPTIONS, "/status").send().await.unwrap(), 405).await;
}

pub async fn list_is_204_when_empty(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let response = srv.get("/api/v1/users").await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
}

pub async fn form_and_json_bodies_both_work(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let form = srv.post_form("/api/v1/users", &[("username", "formuser"), ("password", SHA1_PASSWORD)]).await;
    assert_eq!(json_with(form, 201).await, json!({"message": "User formuser added"}));
    let json = srv.post_json("/api/v1/users", &json!({"username": "jsonuser", "password": SHA1_PASSWORD})).await;
    assert_eq!(json.status(), 201);
    assert_eq!(json_with(srv.get("/api/v1/users").await, 200).await, json!(["formuser", "jsonuser"]));
}

pub async fn wrong_methods_get_405(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for (method, path) in [
        (Method::PUT, "/api/v1/users"),
        (Method::DELETE, "/api/v1/users"),
        (Method::GET, "/api/v1/users/bob"),
        (Method::POST, "/api/v1/users/dynamo"),
        (Method::POST, "/"),
        (Method::GET, "/update"),
        (Method::POST, "/users"),
        (Method::GET, "/user"),
        (Method::GET, "/auth/login"),
        (Method::PATCH, "/items"),
    ] {
        let response = srv.request(method.clone(), path).send().await.unwrap();
        assert!(response.headers().contains_key("allow"), "{method} {path}: no Allow header");
        assert_eq!(expect_error(response, 405).await["detail"], "Method Not Allowed", "{method} {path}");
    }
}

pub async fn dynamo_route_matches_the_store(backend: Backend) {
    let srv = TestServer::start(backend).await;
    match backend {
        Backend::Sqlite => {
            let message = expect_message(srv.get("/api/v1/users/dynamo").await, 503).await;
            assert!(message.contains("DynamoDB"), "{message}");
        }
        Backend::Dynamo => {
            assert_eq!(srv.get("/api/v1/users/dynamo").await.status(), 204);
            srv.post_json("/api/v1/users", &json!({"username": "dyn", "password": SHA1_PASSWORD})).await;
            assert_eq!(json_with(srv.get("/api/v1/users/dynamo").await, 200).await, json!(["dyn"]));
        }
    }
}

/// The route lists the table's accounts; with the SQLite store (and a table), it first writes
/// the sample account to the table, as the original's demonstration of DynamoDB did.
pub async fn dynamo_route_lists_the_table(backend: Backend) {
    let (table, endpoint) = (unique_table("sample"), moto_endpoint());
    let srv = match backend {
        Backend::Sqlite => {
            let flags = ["--table", &table, "--create-table", "--region", "us-east-1", "--aws-endpoint", &endpoint];
            TestServer::start_with(backend, &flags).await
        }
        Backend::Dynamo => TestServer::start(backend).await,
    };
    srv.post_json("/api/v1/users", &json!({"username": "local", "password": SHA1_PASSWORD})).await;
    let listed = match backend {
        Backend::Sqlite => json!(["sample_user"]),
        Backend::Dynamo => json!(["local"]),
    };
    for _ in 0..2 {
        assert_eq!(json_with(srv.get("/api/v1/users/dynamo").await, 200).await, listed);
    }
}

pub async fn removing_an_impossible_username_is_400(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for path in [format!("/api/v1/users/{}", "a".repeat(1025)), "/api/v1/users/%FF".into()] {
        let response = srv.request(Method::DELETE, &path).send().await.unwrap();
        assert_eq!(expect_message(response, 400).await, "User doesn't exist");
    }
}
