//! Seed 003: `/auth/login` and `/items`, answered as its FastAPI service answered.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::server::{Backend, SECRET, TestServer, expect_detail, expect_error, expect_field_errors, json_with};

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
    // A form only, as the README says: a JSON body has no form fields.
    let via_json = srv.post_json("/auth/login", &json!({"username": "demo", "password": "password123"})).await;
    let errors =
        expect_field_errors(via_json, 422, &[("missing", "body.username"), ("missing", "body.password")]).await;
    assert_eq!(errors[0]["msg"], "Field required");
}

pub async fn login_refuses_bad_credentials(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let incorrect = json!("Incorrect username or password");
    let wrong = srv.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await;
    assert_eq!(expect_detail(wrong, 401).await, incorrect);
    let nobody = srv.post_form("/auth/login", &[("username", "nobody"), ("password", "password123")]).await;
    assert_eq!(expect_detail(nobody, 401).await, incorrect);
    let no_password = srv.post_form("/auth/login", &[("username", "demo")]).await;
    let errors = expect_field_errors(no_password, 422, &[("missing", "body.password")]).await;
    assert_eq!(errors[0]["input"], json!({"username": "demo"}));
    // FastAPI reads an empty form field as a missing one.
    let empty = srv.post_form("/auth/login", &[("username", ""), ("password", "")]).await;
    expect_field_errors(empty, 422, &[("missing", "body.username"), ("missing", "body.password")]).await;

    let no_demo = TestServer::start_with(backend, &["--demo-user", "false"]).await;
    let demo = no_demo.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await;
    assert_eq!(expect_detail(demo, 401).await, incorrect);
}

pub async fn impossible_usernames_just_fail_to_log_in(backend: Backend) {
    let srv = TestServer::start(backend).await;
    for username in ["a".repeat(2_000), "\u{0}".into(), "x/y".into()] {
        let response =
            srv.post_form("/auth/login", &[("username", username.as_str()), ("password", "password123")]).await;
        expect_detail(response, 401).await;
    }
}

/// Whether `at` is a naive UTC timestamp as FastAPI writes one: `2025-01-31T09:30:00.123456`.
fn is_naive_timestamp(at: &Value) -> bool {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
    at.as_str().is_some_and(|at| time::PrimitiveDateTime::parse(at, &format).is_ok())
}

pub async fn items_crud(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let token = srv.demo_token().await;
    let created = json_with(
        call(&srv, Method::POST, "/items", &token, Some(json!({"name": "notebook", "description": "plain ruled"})))
            .await,
        200,
    )
    .await;
    let mut keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "description", "id", "name", "updated_at"], "{created}");
    assert_eq!((created["name"].clone(), created["description"].clone()), (json!("notebook"), json!("plain ruled")));
    assert!(is_naive_timestamp(&created["created_at"]), "{created}");
    assert_eq!(created["updated_at"], created["created_at"]);
    let id = created["id"].as_i64().unwrap();
    let second = json_with(call(&srv, Method::POST, "/items", &token, Some(json!({"name": "pen"}))).await, 200).await;
    assert_eq!(second["description"], Value::Null);

    let listed = json_with(call(&srv, Method::GET, "/items", &token, None).await, 200).await;
    assert_eq!(listed, json!([second, created]), "newest first");
    let one = json_with(call(&srv, Method::GET, &format!("/items/{id}"), &token, None).await, 200).await;
    assert_eq!(one, created);

    let path = format!("/items/{id}");
    let unchanged = json!({"name": "notebook", "description": "plain ruled"});
    let same = json_with(call(&srv, Method::PUT, &path, &token, Some(unchanged)).await, 200).await;
    assert_eq!(same, created, "no value changed, so neither did updated_at");
    let patched =
        json_with(call(&srv, Method::PUT, &path, &token, Some(json!({"description": "updated text"}))).await, 200)
            .await;
    assert_eq!((patched["name"].clone(), patched["description"].clone()), (json!("notebook"), json!("updated text")));
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(
        is_naive_timestamp(&patched["updated_at"]) && patched["updated_at"].as_str() > created["updated_at"].as_str()
    );
    let renamed = json_with(call(&srv, Method::PUT, &path, &token, Some(json!({"name": "journal"}))).await, 200).await;
    assert_eq!((renamed["name"].clone(), renamed["description"].clone()), (json!("journal"), json!("updated text")));
    let nothing = json_with(call(&srv, Method::PUT, &path, &token, Some(json!({}))).await, 200).await;
    assert_eq!(nothing, renamed);

    let deleted = call(&srv, Method::DELETE, &path, &token, None).await;
    assert_eq!(deleted.status(), 204);
    let not_found = json!("Item not found");
    assert_eq!(expect_detail(call(&srv, Method::GET, &path, &token, None).await, 404).await, not_found);
    assert_eq!(expect_detail(call(&srv, Method::DELETE, &path, &token, None).await, 404).await, not_found);
    let put = call(&srv, Method::PUT, &path, &token, Some(json!({"name": "x"}))).await;
    assert_eq!(expect_detail(put, 404).await, not_found);
}

pub async fn invalid_items_get_fastapis_field_errors(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let token = srv.demo_token().await;
    let post = |body: Value| call(&srv, Method::POST, "/items", &token, Some(body));
    let errors =
        expect_field_errors(post(json!({"description": "no name"})).await, 422, &[("missing", "body.name")]).await;
    assert_eq!(errors[0]["input"], json!({"description": "no name"}));
    let errors = expect_field_errors(post(json!({"name": ""})).await, 422, &[("string_too_short", "body.name")]).await;
    assert_eq!(errors[0]["msg"], "String should have at least 1 character");
    expect_field_errors(post(json!({"name": " \t"})).await, 422, &[("string_pattern_mismatch", "body.name")]).await;
    let too_long = json!({"name": "x".repeat(201), "description": 7});
    expect_field_errors(
        post(too_long).await,
        422,
        &[("string_too_long", "body.name"), ("string_type", "body.description")],
    )
    .await;
    let id = expect_field_errors(
        call(&srv, Method::GET, "/items/abc", &token, None).await,
        422,
        &[("int_parsing", "path.id")],
    )
    .await;
    assert_eq!(id[0]["input"], "abc");
    let item = json_with(post(json!({"name": "notebook"})).await, 200).await;
    let path = format!("/items/{}", item["id"]);
    for (body, expected) in
        [("", "missing"), ("null", "missing"), ("\n", "json_invalid"), ("[]", "model_attributes_type")]
    {
        let put = srv.request(Method::PUT, &path).bearer_auth(&token).header("content-type", "application/json");
        let loc = if expected == "json_invalid" { "body.1" } else { "body" };
        expect_field_errors(put.body(body).send().await.unwrap(), 422, &[(expected, loc)]).await;
    }
    let null_name = call(&srv, Method::PUT, &path, &token, Some(json!({"name": null}))).await;
    assert_eq!(json_with(null_name, 200).await["name"], "notebook", "null leaves a field as it is");
}

pub async fn items_need_a_valid_token(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let missing = srv.get("/items").await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(expect_detail(missing, 401).await, "Not authenticated");
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
    let invalid = json!("Could not validate credentials");
    for token in [expired.as_str(), tampered.as_str(), alg_none.as_str(), other_key.as_str(), "garbage"] {
        let get = call(&srv, Method::GET, "/items", token, None).await;
        assert_eq!(get.headers()["www-authenticate"], "Bearer");
        assert_eq!(expect_detail(get, 401).await, invalid);
        let post = call(&srv, Method::POST, "/items", token, Some(json!({"name": "x"}))).await;
        assert_eq!(expect_detail(post, 401).await, invalid);
    }
    let basic = srv.request(Method::GET, "/items").basic_auth("demo", Some("password123")).send().await.unwrap();
    assert_eq!(expect_detail(basic, 401).await, "Not authenticated");
    assert_eq!(call(&srv, Method::GET, "/items", &valid, None).await.status(), 200);
    let lower_case = srv.request(Method::GET, "/items").header("authorization", format!("bearer {valid}"));
    assert_eq!(lower_case.send().await.unwrap().status(), 200, "the scheme's case does not matter");
    eprintln!("REPORT security-jwt: missing, expired, tampered, alg:none, foreign-key, garbage and Basic → 401");
}

pub async fn users_only_see_their_own_items(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let alice = srv.demo_token().await;
    let mallory = forge("mallory", now() + 600);
    let item = json_with(call(&srv, Method::POST, "/items", &alice, Some(json!({"name": "secret"}))).await, 200).await;
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
    assert_eq!(expect_error(limited, 429).await["error"], "Rate limit exceeded: 5 per 1 minute");
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
    // The login was the first of the surface's 60 requests.
    for i in 1..60 {
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
    assert_eq!(expect_error(limited, 429).await["error"], "Rate limit exceeded: 60 per 1 minute");
}

/// The README's "60 req/min globally" covers every route of seed 003, the login included.
pub async fn logins_count_against_the_surfaces_limit(backend: Backend) {
    let srv = TestServer::start_with(backend, &["--rate-items", "3", "--rate-login", "0"]).await;
    let token = srv.demo_token().await;
    assert_eq!(call(&srv, Method::GET, "/items", &token, None).await.status(), 200);
    assert_eq!(srv.post_form("/auth/login", &[("username", "demo"), ("password", "wrong")]).await.status(), 401);
    let login = srv.post_form("/auth/login", &[("username", "demo"), ("password", "password123")]).await;
    assert_eq!(expect_error(login, 429).await["error"], "Rate limit exceeded: 3 per 1 minute");
    expect_error(call(&srv, Method::GET, "/items", &token, None).await, 429).await;
    assert_eq!(srv.get("/health").await.status(), 200, "/health is never limited");
}
