//! Seed 004: logging in (and registering), the cookies with their CSRF double submit,
//! bearer tokens, roles, refresh, logout and admin creation.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::json;

use crate::calc_client::{ADMIN, Browser, CALC, CLIENT, login, refused, set_cookies, token_refused};
use crate::server::{Backend, SECRET, TestServer, json_with};

pub async fn login_sets_the_four_cookies(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let response = login(&srv, CLIENT.0, CLIENT.1).await;
    let cookies = set_cookies(&response);
    let body = json_with(response, 200).await;
    assert_eq!((body["message"].as_str(), body["status"].as_str()), (Some("Login successful."), Some("success")));
    assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
    for (name, http_only) in [
        ("access_token_cookie", true),
        ("csrf_access_token", false),
        ("refresh_token_cookie", true),
        ("csrf_refresh_token", false),
    ] {
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {cookies:?}"));
        assert_eq!(cookie.contains("HttpOnly"), http_only, "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
    }
}

pub async fn login_registers_new_clients_with_a_good_password(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let new = Browser::login(&srv, ("newcomer@example.com", "Secret12!")).await;
    let balance = json_with(new.process("addition", json!([1, 1])).await, 200).await["user_balance"].clone();
    assert_eq!(balance, json!(15.0), "a new client starts with 20.0 and addition costs 5.0");
    refused(login(&srv, "weak@example.com", "password").await, 401, "Password does not meet the requirements.").await;
    refused(login(&srv, CLIENT.0, "Wrong1234!").await, 401, "Invalid email or password").await;
    refused(login(&srv, "newcomer@example.com", "Other123!").await, 401, "Invalid email or password").await;
    let missing = srv.post_json(&format!("{CALC}/login"), &json!({"email": "a@b.co"})).await;
    assert_eq!(json_with(missing, 400).await, json!({"password": ["Missing data for required field."]}));
    let invalid =
        srv.post_json(&format!("{CALC}/login"), &json!({"email": "not-an-email", "password": "Secret12!"})).await;
    assert_eq!(json_with(invalid, 400).await, json!({"email": ["Not a valid email address."]}));
}

pub async fn cookies_need_the_csrf_double_submit(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = Browser::login(&srv, CLIENT).await;
    let path = format!("{CALC}/api/v1/process_operation");
    let body = json!({"type": "addition", "arguments": [1, 2]});
    let without_header =
        srv.request(Method::POST, &path).header(COOKIE, client.cookie_header()).json(&body).send().await.unwrap();
    token_refused(without_header, 401, "Missing CSRF token").await;
    let mismatched = srv
        .request(Method::POST, &path)
        .header(COOKIE, client.cookie_header())
        .header("X-CSRF-TOKEN", "not-the-cookie")
        .json(&body)
        .send()
        .await
        .unwrap();
    token_refused(mismatched, 401, "CSRF double submit tokens do not match").await;
    token_refused(srv.post_json(&path, &body).await, 401, "Missing cookie \"access_token_cookie\"").await;
    let garbage =
        srv.request(Method::POST, &path).header(COOKIE, "access_token_cookie=garbage").header("X-CSRF-TOKEN", "x");
    assert_eq!(garbage.json(&body).send().await.unwrap().status(), 422);
    let ok = json_with(client.process("addition", json!([1, 2])).await, 200).await;
    assert_eq!(
        ok,
        json!({"message": "Operation processed successfully", "result": "3.0", "status": "success", "user_balance": 15.0})
    );
    // A GET needs no CSRF header; a bearer token needs none either.
    assert_eq!(client.get("/api/v1/operations").await.status(), 200);
    let token = client.login["access_token"].as_str().unwrap();
    let bearer = srv
        .request(Method::POST, &path)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json_with(bearer, 200).await["user_balance"], json!(10.0));
}

pub async fn expired_and_forged_tokens_are_refused(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = Browser::login(&srv, CLIENT).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let records = json_with(client.get("/api/v1/records").await, 200).await;
    assert_eq!(records, json!({"records": [], "total_pages": 0}));
    let forge = |key: &str, exp: u64| {
        let claims = json!({"sub": "x", "role": "admin", "type": "access", "csrf": "c", "jti": "j", "iat": now - 4000, "nbf": now - 4000, "exp": exp});
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key.as_bytes()))
            .unwrap()
    };
    let get = |token: String| {
        srv.request(Method::GET, &format!("{CALC}/api/v1/operations"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
    };
    token_refused(get(forge(SECRET, now - 10)).await.unwrap(), 401, "Token has expired").await;
    let forged = forge("another-secret-0123456789abcdef", now + 600);
    token_refused(get(forged.clone()).await.unwrap(), 401, "Signature verification failed").await;
    // In a cookie, as the original read it, a token that does not verify is 422.
    let in_cookie = srv
        .request(Method::GET, &format!("{CALC}/api/v1/operations"))
        .header(COOKIE, format!("access_token_cookie={forged}"));
    token_refused(in_cookie.send().await.unwrap(), 422, "Signature verification failed").await;
    assert_eq!(get(forge(SECRET, now + 600)).await.unwrap().status(), 200);
    // A refresh token does not authenticate requests.
    let refresh = client.cookies["refresh_token_cookie"].clone();
    assert_eq!(get(refresh).await.unwrap().status(), 401);
}

pub async fn roles_come_from_the_token(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = Browser::login(&srv, CLIENT).await;
    let admin = Browser::login(&srv, ADMIN).await;
    refused(client.get("/api/v1/users").await, 403, "Unauthorized access").await;
    refused(
        client.post("/api/v1/operations", json!({"type": "addition", "cost": 1})).await,
        403,
        "Unauthorized access",
    )
    .await;
    let users = json_with(admin.get("/api/v1/users").await, 200).await;
    assert_eq!(users["total_pages"], 1);
    let emails: Vec<&str> = users["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [ADMIN.0, CLIENT.0]);
    for user in users["users"].as_array().unwrap() {
        assert_eq!(
            user.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["balance", "email", "id", "role"],
            "no password hash"
        );
    }
    assert_eq!(admin.user(ADMIN.0).await["balance"], json!(1000.0));
}

pub async fn refresh_and_logout(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let mut client = Browser::login(&srv, CLIENT).await;
    let refreshed = client.get("/refresh").await;
    let cookies = set_cookies(&refreshed);
    let body = json_with(refreshed, 200).await;
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    assert!(cookies.iter().any(|c| c.starts_with(&format!("csrf_access_token={csrf}"))), "{cookies:?}");
    let access = cookies.iter().find_map(|c| c.strip_prefix("access_token_cookie=")).unwrap();
    client.cookies.insert("access_token_cookie".into(), access.split(';').next().unwrap().to_string());
    client.cookies.insert("csrf_access_token".into(), csrf);
    assert_eq!(client.process("addition", json!([2, 2])).await.status(), 200);
    // Without a refresh cookie there is nothing to refresh.
    let bare = srv.get(&format!("{CALC}/refresh")).await;
    token_refused(bare, 401, "Missing cookie \"refresh_token_cookie\"").await;
    let logout = srv.request(Method::POST, &format!("{CALC}/logout")).send().await.unwrap();
    let cleared = set_cookies(&logout);
    assert_eq!(json_with(logout, 200).await, json!({"logout": true}));
    assert_eq!(cleared.len(), 4);
    assert!(cleared.iter().all(|c| c.contains("Max-Age=0")), "{cleared:?}");
}

pub async fn admins_are_made_with_the_admin_secret(backend: Backend) {
    let srv = TestServer::start_with(backend, &["--calc-admin-secret", "let-me-in"]).await;
    let path = format!("{CALC}/admin");
    let wrong = json!({"email": "boss@example.com", "password": "whatever", "admin_password": "guess"});
    refused(srv.post_json(&path, &wrong).await, 401, "Invalid password").await;
    let right = json!({"email": "boss@example.com", "password": "whatever", "admin_password": "let-me-in"});
    assert_eq!(
        json_with(srv.post_json(&path, &right).await, 201).await,
        json!({"message": "User created", "status": "success"})
    );
    refused(srv.post_json(&path, &right).await, 409, "User already exists.").await;
    let boss = Browser::login(&srv, ("boss@example.com", "whatever")).await;
    assert_eq!(boss.user("boss@example.com").await["balance"], json!(100.0));
    assert_eq!(boss.user("boss@example.com").await["role"], "admin");
}
