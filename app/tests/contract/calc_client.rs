//! A client of seed 004's calculator as a browser is one: it keeps the cookies a login sets
//! and repeats the CSRF cookie in `X-CSRF-TOKEN` on state-changing requests.

use std::collections::HashMap;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::server::{TestServer, json_with};

/// Where the calculator is mounted by default.
pub const CALC: &str = "/calc";
/// The seeded client.
pub const CLIENT: (&str, &str) = ("defaultclient@client.as", "Test1234!");
/// The seeded admin.
pub const ADMIN: (&str, &str) = ("defaultadmin@admin.as", "adminpass");

/// A logged-in browser.
pub struct Browser<'s> {
    pub srv: &'s TestServer,
    pub cookies: HashMap<String, String>,
    /// The login's body.
    pub login: Value,
}

/// The `name=value` pairs and the attributes of each `Set-Cookie` of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// Logs in (which registers an unknown email) and returns the response.
pub async fn login(srv: &TestServer, email: &str, password: &str) -> Response {
    srv.post_json(&format!("{CALC}/login"), &json!({"email": email, "password": password})).await
}

impl<'s> Browser<'s> {
    /// Logs in with `credentials`, which must succeed.
    pub async fn login(srv: &'s TestServer, (email, password): (&str, &str)) -> Browser<'s> {
        let response = login(srv, email, password).await;
        let cookies = set_cookies(&response)
            .iter()
            .filter_map(|c| c.split(';').next()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let login = json_with(response, 200).await;
        Browser { srv, cookies, login }
    }

    /// The `Cookie` header a browser would send.
    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// A request with the cookies and, unless it is a GET, the CSRF header.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let csrf = self.cookies.get("csrf_access_token").cloned().unwrap_or_default();
        let mut request =
            self.srv.request(method.clone(), &format!("{CALC}{path}")).header(COOKIE, self.cookie_header());
        if method != Method::GET {
            request = request.header("X-CSRF-TOKEN", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None).await
    }

    /// Runs `kind` on `arguments`.
    pub async fn process(&self, kind: &str, arguments: Value) -> Response {
        self.post("/api/v1/process_operation", json!({"type": kind, "arguments": arguments})).await
    }

    /// The id of the operation of type `kind`.
    pub async fn operation_id(&self, kind: &str) -> String {
        let page = json_with(self.get(&format!("/api/v1/operations?type={kind}")).await, 200).await;
        page["operations"][0]["id"].as_str().unwrap().to_string()
    }

    /// The user with this email, as admins see them.
    pub async fn user(&self, email: &str) -> Value {
        let page = json_with(self.get(&format!("/api/v1/users?email={email}")).await, 200).await;
        page["users"][0].clone()
    }
}

/// `{"status": "error", "message": message}` with `status`.
pub async fn refused(response: Response, status: u16, message: &str) {
    assert_eq!(json_with(response, status).await, json!({"status": "error", "message": message}));
}

/// `{"msg": msg}` with `status`.
pub async fn token_refused(response: Response, status: u16, msg: &str) {
    assert_eq!(json_with(response, status).await, json!({"msg": msg}));
}
