//! Seed 000: `/` and `/api/v1/users`.

use reqwest::Method;
use serde_json::json;

use crate::server::{Backend, TestServer, expect_error, json_with};

const SHA1_PASSWORD: &str = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";

pub async fn welcome_text_at_root(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let response = srv.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().to_lowercase().contains("welcome"));
}

pub async fn add_list_and_remove_users(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for name in ["bob", "alice"] {
        let body =
            json_with(srv.post_json("/api/v1/users", &json!({"username": name, "password": SHA1_PASSWORD})).await, 201)
                .await;
        assert_eq!(body["username"], name);
    }
    let users = json_with(srv.get("/api/v1/users").await, 200).await;
    assert_eq!(users, json!(["alice", "bob"]));

    let removed = srv.request(Method::DELETE, "/api/v1/users/bob").send().await.unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(json_with(srv.get("/api/v1/users").await, 200).await, json!(["alice"]));

    let again = srv.request(Method::DELETE, "/api/v1/users/bob").send().await.unwrap();
    expect_error(again, 400).await;
    let duplicate = srv.post_json("/api/v1/users", &json!({"username": "alice", "password": SHA1_PASSWORD})).await;
    expect_error(duplicate, 400).await;
}

pub async fn add_user_validates_input(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for body in [
        json!({"password": SHA1_PASSWORD}),
        json!({"username": "carol"}),
        json!({"username": "", "password": SHA1_PASSWORD}),
        json!({"username": "carol", "password": "password"}),
        json!({"username": "carol", "password": &SHA1_PASSWORD[1..]}),
        json!({"username": "carol", "password": format!("{}g", &SHA1_PASSWORD[1..])}),
        json!({}),
    ] {
        expect_error(srv.post_json("/api/v1/users", &body).await, 400).await;
    }
    assert_eq!(srv.get("/api/v1/users").await.status(), 204, "a refused user must not be stored");
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
    assert_eq!(form.status(), 201);
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
        expect_error(response, 405).await;
    }
}

pub async fn dynamo_route_matches_the_store(backend: Backend) {
    let srv = TestServer::start(backend).await;
    match backend {
        Backend::Sqlite => {
            let body = expect_error(srv.get("/api/v1/users/dynamo").await, 503).await;
            assert!(body["error"].as_str().unwrap().contains("DynamoDB"));
        }
        Backend::Dynamo => {
            assert_eq!(srv.get("/api/v1/users/dynamo").await.status(), 204);
            srv.post_json("/api/v1/users", &json!({"username": "dyn", "password": SHA1_PASSWORD})).await;
            assert_eq!(json_with(srv.get("/api/v1/users/dynamo").await, 200).await, json!(["dyn"]));
        }
    }
}

pub async fn removing_an_impossible_username_is_400(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let too_long = format!("/api/v1/users/{}", "a".repeat(1025));
    expect_error(srv.request(Method::DELETE, &too_long).send().await.unwrap(), 400).await;
}
