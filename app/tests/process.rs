//! The `cloudcomp-app` binary as a process: configuration by environment, secrets kept out
//! of output, SIGTERM, several processes on one SQLite file, and durability under kill -9.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::App;

const API_KEY: &str = "api-key-that-must-not-leak";
const JWT_SECRET: &str = "jwt-secret-that-must-not-leak-0123456789";

/// The app on `db`, with this file's secrets and debug logging (to prove nothing leaks).
fn start(db: &Path) -> App {
    App::start(db, &[("CLOUDCOMP_API_KEY", API_KEY), ("CLOUDCOMP_JWT_SECRET", JWT_SECRET), ("CLOUDCOMP_LOG", "debug")])
}

async fn update(client: &reqwest::Client, base: &str, counter: i64) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/update"))
        .header("API-Key", API_KEY)
        .json(&json!({"counter": counter, "message": "m"}))
        .send()
        .await
}

#[test]
fn help_never_shows_secrets() {
    let output = Command::new(env!("CARGO_BIN_EXE_cloudcomp-app"))
        .arg("--help")
        .env("CLOUDCOMP_API_KEY", API_KEY)
        .env("CLOUDCOMP_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("CLOUDCOMP_API_KEY"), "--help should name the variable");
    assert!(
        !text.contains(API_KEY) && !text.contains(JWT_SECRET) && !text.contains("wiz"),
        "--help leaks a secret:\n{text}"
    );
    eprintln!("REPORT security-help: API key and JWT secret set, absent from --help");
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_and_logs_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(&dir.path().join("app.db"));
    let client = reqwest::Client::new();
    assert_eq!(update(&client, &app.base, 7).await.unwrap().status(), 200);
    // argon2 makes a login take a while: SIGTERM arrives while it is in flight.
    let login = tokio::spawn({
        let (client, base) = (client.clone(), app.base.clone());
        async move {
            client
                .post(format!("{base}/auth/login"))
                .form(&[("username", "demo"), ("password", "password123")])
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    app.signal("-TERM");
    let response = login.await.unwrap().expect("the in-flight login was cut off");
    assert_eq!(response.status(), 200);
    let token = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    assert!(app.wait().success());
    let logs = app.output();
    assert!(logs.contains("shutting down"), "no shutdown log:\n{logs}");
    for secret in [API_KEY, JWT_SECRET, "password123", token.as_str()] {
        assert!(!logs.contains(secret), "the logs contain a secret:\n{logs}");
    }
    eprintln!("REPORT security-logs: no API key, JWT secret, password or token in debug-level logs");
}

#[tokio::test]
async fn processes_sharing_one_sqlite_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let (a, b) = (start(&db), start(&db));
    let client = reqwest::Client::new();
    // B reads (and caches) the empty lists first; A's writes must still show through B.
    let before: Value = client.get(format!("{}/users", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(before, json!([]));
    assert_eq!(client.get(format!("{}/api/v1/users", b.base)).send().await.unwrap().status(), 204);
    let status: Value = client.get(format!("{}/status", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["counter"], 0);

    let account = json!({"username": "shared", "password": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"});
    assert_eq!(client.post(format!("{}/api/v1/users", a.base)).json(&account).send().await.unwrap().status(), 201);
    let accounts: Value = client.get(format!("{}/api/v1/users", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(accounts, json!(["shared"]));
    assert_eq!(update(&client, &a.base, 5).await.unwrap().status(), 200);
    let status: Value = client.get(format!("{}/status", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["counter"], 5);

    let person = json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"});
    assert_eq!(client.post(format!("{}/user", a.base)).json(&person).send().await.unwrap().status(), 200);
    let people: Value = client.get(format!("{}/users", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(people[0]["email"], "m.rossi@satispay.it");
    assert_eq!(client.post(format!("{}/user", b.base)).json(&person).send().await.unwrap().status(), 400);

    let writes: Vec<_> = (0..100)
        .map(|i| {
            let (client, base) = (client.clone(), if i % 2 == 0 { a.base.clone() } else { b.base.clone() });
            tokio::spawn(async move { update(&client, &base, i).await.unwrap().status().as_u16() })
        })
        .collect();
    for write in writes {
        assert_eq!(write.await.unwrap(), 200);
    }
    let logs: Value = client.get(format!("{}/logs", a.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(logs["total"], 101);
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let app = start(&db);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (client, base, acknowledged) = (client.clone(), app.base.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let counter = w * 1_000_000 + i;
                    match update(&client, &base, counter).await {
                        Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().push(counter),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.signal("-KILL");
    for writer in writers {
        writer.await.unwrap();
    }
    drop(app);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "too few writes before the crash to prove anything");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let mut stored = std::collections::HashSet::new();
    let mut stmt = conn.prepare("SELECT counter FROM audit_log").unwrap();
    for counter in stmt.query_map([], |r| r.get::<_, i64>(0)).unwrap() {
        stored.insert(counter.unwrap());
    }
    let lost: Vec<_> = acknowledged.iter().filter(|c| !stored.contains(c)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes were lost", lost.len(), acknowledged.len());
    eprintln!(
        "REPORT app-kill-9: kill -9 under 16 writers: {} writes acknowledged, 0 lost, PRAGMA integrity_check ok",
        acknowledged.len()
    );

    let restarted = start(&db);
    let logs: Value = client.get(format!("{}/logs", restarted.base)).send().await.unwrap().json().await.unwrap();
    assert!(logs["total"].as_u64().unwrap() >= acknowledged.len() as u64);
}
