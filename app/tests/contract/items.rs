//! Seed 003: `/auth/login` and `/items`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::server::{Backend, SECRET, TestServer, expect_error, json_with};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A token signed with the server's key for any user and expiry.
fn forge(sub: &str, exp: u64) -> String {
    let claims = json!({"sub": sub, "iat": now(), "exp": exp});
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

async fn call(srv: &TestServer, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let mut request = srv.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

pub async fn login_gives_a_30_minute_bearer_token(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let form = srv.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await;
    let body = json_with(form, 200).await;
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(SECRET.as_bytes()), &validation)
        .expect("an HS256 token signed with the configured key")
        .claims;
    assert_eq!(claims["sub"], "demo");
    let lifetime = claims["exp"].as_u64().unwrap() as i64 - now() as i64;
    assert!((1790..=1800).contains(&lifetime), "token lives {lifetime}s, not 30 minutes");
    let via_json = srv.post_json("/auth/login", &json!({"username": "demo", "password": "password123"})).await;
    assert_eq!(via_json.status(), 200);
}

pub async fn login_refuses_bad_credentials(backend: Backend) {
    let srv = TestServer::start(backend).await;
    expect_error(srv.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await, 401).await;
    expect_error(srv.post_form("/auth/login", &[("username", "nobody"), ("password", "password123")]).await, 401).await;
    expect_error(srv.post_form("/auth/login", &[("username", "demo")]).await, 400).await;

    let no_demo = TestServer::start_with(backend, &["--demo-user", "false"]).await;
    expect_error(no_demo.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await, 401)
        .await;
}

pub async fn impossible_usernames_just_fail_to_log_in(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for username in [String::new(), "a".repeat(2_000)] {
        let response = srv.post_json("/auth/login", &json!({"username": username, "password": "password123"})).await;
        expect_error(response, 401).await;
    }
}

pub async fn items_crud(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let token = srv.demo_token().await;
    let created = json_with(
        call(&srv, Method::POST, "/items", &token, Some(json!({"name": "notebook", "description": "plain ruled"})))
            .await,
        201,
    )
    .await;
    assert_eq!((created["name"].clone(), created["description"].clone()), (json!("notebook"), json!("plain ruled")));
    let id = created["id"].as_i64().unwrap();
    let second = json_with(call(&srv, Method::POST, "/items", &token, Some(json!({"name": "pen"}))).await, 201).await;
    assert_eq!(second["description"], Value::Null);

    let listed = json_with(call(&srv, Method::GET, "/items", &token, None).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let one = json_with(call(&srv, Method::GET, &format!("/items/{id}"), &token, None).await, 200).await;
    assert_eq!(one, created);

    let patched = json_with(
        call(&srv, Method::PUT, &format!("/items/{id}"), &token, Some(json!({"description": "updated text"}))).await,
        200,
    )
    .await;
    assert_eq!((patched["name"].clone(), patched["description"].clone()), (json!("notebook"), json!("updated text")));
    let renamed = json_with(
        call(&srv, Method::PUT, &format!("/items/{id}"), &token, Some(json!({"name": "journal"}))).await,
        200,
    )
    .await;
    assert_eq!((renamed["name"].clone(), renamed["description"].clone()), (json!("journal"), json!("updated text")));

    let deleted = call(&srv, Method::DELETE, &format!("/items/{id}"), &token, None).await;
    assert_eq!(deleted.status(), 204);
    expect_error(call(&srv, Method::GET, &format!("/items/{id}"), &token, None).await, 404).await;
    expect_error(call(&srv, Method::DELETE, &format!("/items/{id}"), &token, None).await, 404).await;
    expect_error(call(&srv, Method::PUT, &format!("/items/{id}"), &token, Some(json!({"name": "x"}))).await, 404).await;
    expect_error(call(&srv, Method::POST, "/items", &token, Some(json!({"description": "no name"}))).await, 400).await;
    expect_error(call(&srv, Method::POST, "/items", &token, Some(json!({"name": ""}))).await, 400).await;
    expect_error(call(&srv, Method::GET, "/items/abc", &token, None).await, 400).await;
}

pub async fn items_need_a_valid_token(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let missing = srv.get("/items").await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    expect_error(missing, 401).await;
    let valid = srv.demo_token().await;
    let expired = forge("demo", now() - 5);
    let mut tampered = valid.clone();
    tampered.insert(tampered.rfind('.').unwrap() - 2, 'x');
    let alg_none = {
        use base64::Engine;
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.",
            encode(r#"{"alg":"none","typ":"JWT"}"#),
            encode(&json!({"sub": "demo", "exp": now() + 600}).to_string())
        )
    };
    let other_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "demo", "exp": now() + 600}),
        &EncodingKey::from_secret(b"some other key entirely, not ours"),
    )
    .unwrap();
    for token in [expired.as_str(), tampered.as_str(), alg_none.as_str(), other_key.as_str(), "garbage"] {
        expect_error(call(&srv, Method::GET, "/items", token, None).await, 401).await;
        expect_error(call(&srv, Method::POST, "/items", token, Some(json!({"name": "x"}))).await, 401).await;
    }
    let basic = srv.request(Method::GET, "/items").basic_auth("demo", Some("password123")).send().await.unwrap();
    expect_error(basic, 401).await;
    assert_eq!(call(&srv, Method::GET, "/items", &valid, None).await.status(), 200);
    eprintln!("REPORT security-jwt: missing, expired, tampered, alg:none, foreign-key, garbage and Basic → 401");
}

pub async fn users_only_see_their_own_items(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let alice = srv.demo_token().await;
    let mallory = forge("mallory", now() + 600);
    let item = json_with(call(&srv, Method::POST, "/items", &alice, Some(json!({"name": "secret"}))).await, 201).await;
    let path = format!("/items/{}", item["id"]);
    assert_eq!(json_with(call(&srv, Method::GET, "/items", &mallory, None).await, 200).await, json!([]));
    expect_error(call(&srv, Method::GET, &path, &mallory, None).await, 404).await;
    expect_error(call(&srv, Method::PUT, &path, &mallory, Some(json!({"name": "pwned"}))).await, 404).await;
    expect_error(call(&srv, Method::DELETE, &path, &mallory, None).await, 404).await;
    let still = json_with(call(&srv, Method::GET, &path, &alice, None).await, 200).await;
    assert_eq!(still["name"], "secret");
    eprintln!("REPORT security-items: another user's item: list empty, GET/PUT/DELETE → 404, item unchanged");
}

pub async fn login_is_rate_limited(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for _ in 0..5 {
        let response = srv.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await;
        assert_eq!(response.status(), 401);
    }
    let limited = srv.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    expect_error(limited, 429).await;
    eprintln!("REPORT security-login: the 6th login in a minute → 429 with Retry-After");

    let relaxed = TestServer::start_with(backend, &["--rate-login", "8"]).await;
    for _ in 0..8 {
        assert_eq!(
            relaxed.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await.status(),
            401
        );
    }
    assert_eq!(relaxed.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await.status(), 429);
}

pub async fn items_are_rate_limited(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let token = srv.demo_token().await;
    let started = Instant::now();
    for i in 0..60 {
        let response = call(&srv, Method::GET, "/items", &token, None).await;
        assert_eq!(response.status(), 200, "request {i} was refused");
    }
    // The limit refills by one request a second: a slow store lets that many more through.
    let mut refilled = 0;
    let limited = loop {
        let response = call(&srv, Method::GET, "/items/1", &token, None).await;
        if response.status() == 429 {
            break response;
        }
        refilled += 1;
        assert!(refilled <= started.elapsed().as_secs() + 1, "{refilled} requests past the limit");
    };
    assert!(limited.headers().contains_key("retry-after"));
    expect_error(limited, 429).await;
}
