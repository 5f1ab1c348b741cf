//! Load: the app binary, started under a soft open-files limit of 1,024, holds 1,000
//! concurrent keep-alive connections, all open at once, each sending a mix of reads and
//! writes for 30 seconds (`CLOUDCOMP_LOAD_SECONDS` overrides it for quick local runs).
//!
//! It proves that no connection is refused, reset or left hanging, that no request gets a
//! 5xx or any status but the one its contract promises, and that every acknowledged write
//! is stored: each 2xx `POST /update` has its audit-log row in the SQLite file, and each
//! account (201) and person (200) is listed by `GET /api/v1/users` and `GET /users` afterwards.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use support::{API_KEY, App, DEFAULT_SOFT_OPEN_FILES};

/// Keep-alive connections open at once.
const CONNECTIONS: usize = 1000;
/// How long the mixed load runs unless `CLOUDCOMP_LOAD_SECONDS` says otherwise.
const DEFAULT_SECONDS: u64 = 30;
/// A request (with its whole response body) that takes longer counts as a socket error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one connection sends, in turn: four reads and three writes.
#[derive(Debug, Clone, Copy)]
enum Op {
    Status,
    Health,
    ListAccounts,
    ListPeople,
    Update,
    AddPerson,
    AddAccount,
}

const MIX: [Op; 7] =
    [Op::Status, Op::Health, Op::ListAccounts, Op::ListPeople, Op::Update, Op::AddPerson, Op::AddAccount];

/// What one connection saw.
#[derive(Default)]
struct Tally {
    requests: u64,
    socket_errors: Vec<String>,
    server_errors: u64,
    unexpected: Vec<String>,
    updates: Vec<i64>,
    people: Vec<String>,
    accounts: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.socket_errors.extend(other.socket_errors);
        self.server_errors += other.server_errors;
        self.unexpected.extend(other.unexpected);
        self.updates.extend(other.updates);
        self.people.extend(other.people);
        self.accounts.extend(other.accounts);
    }

    fn writes(&self) -> usize {
        self.updates.len() + self.people.len() + self.accounts.len()
    }
}

/// One HTTP/1.1 connection of its own: no pool, so a server-side close is an error here.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends `request` and reads the whole response; any transport failure or a timeout is an error.
async fn send(sender: &mut SendRequest<Full<Bytes>>, request: Request<Full<Bytes>>) -> Result<StatusCode, String> {
    let exchange = async {
        sender.ready().await.map_err(|e| format!("connection closed: {e}"))?;
        let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        response.into_body().collect().await.map_err(|e| format!("response body: {e}"))?;
        Ok(status)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange).await.map_err(|_| "timed out".to_string())?
}

fn request(addr: SocketAddr, method: Method, path: &str, body: Option<Value>) -> Request<Full<Bytes>> {
    let builder = Request::builder().method(method).uri(path).header(HOST, addr.to_string());
    match body {
        Some(body) => builder.header(CONTENT_TYPE, "application/json").body(Full::new(body.to_string().into())),
        None => builder.body(Full::default()),
    }
    .unwrap()
}

/// Connection `id`: opens its connection and proves it with a `/health`, waits until every
/// connection is open, then sends the mix until `seconds` have passed.
async fn drive(id: usize, addr: SocketAddr, start: Arc<Barrier>, seconds: u64) -> Tally {
    let mut tally = Tally::default();
    let opened = async {
        let mut sender = connect(addr).await?;
        match send(&mut sender, request(addr, Method::GET, "/health", None)).await? {
            StatusCode::OK => Ok(sender),
            status => Err(format!("GET /health before the load: {status}")),
        }
    }
    .await;
    start.wait().await;
    let mut sender = match opened {
        Ok(sender) => sender,
        Err(err) => {
            tally.socket_errors.push(err);
            return tally;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    for n in 0.. {
        if Instant::now() >= deadline {
            break;
        }
        let op = MIX[(id + n) % MIX.len()];
        let key = id * 1_000_000 + n;
        let (method, path, body, expected) = match op {
            Op::Status => (Method::GET, "/status", None, StatusCode::OK),
            Op::Health => (Method::GET, "/health", None, StatusCode::OK),
            Op::ListAccounts => (Method::GET, "/api/v1/users", None, StatusCode::OK),
            Op::ListPeople => (Method::GET, "/users", None, StatusCode::OK),
            Op::Update => (Method::POST, "/update", Some(json!({"counter": key, "message": "load"})), StatusCode::OK),
            Op::AddPerson => {
                (Method::POST, "/user", Some(json!({"name": "Load Tester", "email": email(key)})), StatusCode::OK)
            }
            Op::AddAccount => (
                Method::POST,
                "/api/v1/users",
                Some(json!({"username": username(key), "password": format!("{key:040x}")})),
                StatusCode::CREATED,
            ),
        };
        let mut request = request(addr, method, path, body);
        if let Op::Update = op {
            request.headers_mut().insert("api-key", API_KEY.parse().unwrap());
        }
        tally.requests += 1;
        let status = match send(&mut sender, request).await {
            Ok(status) => status,
            Err(err) => {
                tally.socket_errors.push(format!("{op:?}: {err}"));
                break;
            }
        };
        // Before the first account exists, the account list is an empty 204.
        let as_promised = status == expected || (matches!(op, Op::ListAccounts) && status == StatusCode::NO_CONTENT);
        if status.is_server_error() {
            tally.server_errors += 1;
        }
        if !as_promised {
            tally.unexpected.push(format!("{op:?}: {status}"));
            continue;
        }
        match op {
            Op::Update => tally.updates.push(key as i64),
            Op::AddPerson => tally.people.push(email(key)),
            Op::AddAccount => tally.accounts.push(username(key)),
            _ => {}
        }
    }
    tally
}

fn email(key: usize) -> String {
    format!("load{key}@example.com")
}

fn username(key: usize) -> String {
    format!("load-{key}")
}

/// The soft and hard open-files limits of process `pid`, from `/proc/<pid>/limits`.
fn open_files_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (numbers[0], numbers[1])
}

/// How many of `acknowledged` are not in `stored`.
fn lost<T: Eq + std::hash::Hash>(acknowledged: &[T], stored: &HashSet<T>) -> usize {
    acknowledged.iter().filter(|key| !stored.contains(key)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_of_mixed_reads_and_writes_lose_nothing() {
    let seconds = std::env::var("CLOUDCOMP_LOAD_SECONDS").map_or(DEFAULT_SECONDS, |s| s.parse().unwrap());
    let own_limit = cloudcomp_app::fdlimit::raise_open_files_limit().unwrap();
    assert!(own_limit as usize > CONNECTIONS + 100, "the hard open-files limit ({own_limit}) is too low for this test");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    let app = App::start(&db, &[]);
    let (soft, hard) = open_files_limits(app.child.id());
    assert!(
        soft == hard && soft > DEFAULT_SOFT_OPEN_FILES,
        "the app kept its open-files limit at {soft} (hard {hard})"
    );
    let addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();

    let start = Arc::new(Barrier::new(CONNECTIONS + 1));
    let connections: Vec<_> =
        (0..CONNECTIONS).map(|id| tokio::spawn(drive(id, addr, start.clone(), seconds))).collect();
    start.wait().await;
    let began = Instant::now();
    let mut total = Tally::default();
    for connection in connections {
        total.merge(connection.await.unwrap());
    }
    let elapsed = began.elapsed().as_secs_f64();

    let client = reqwest::Client::new();
    let accounts: HashSet<String> =
        client.get(format!("{}/api/v1/users", app.base)).send().await.unwrap().json().await.unwrap_or_default();
    let people: Vec<Value> = client.get(format!("{}/users", app.base)).send().await.unwrap().json().await.unwrap();
    let emails: HashSet<String> = people.iter().filter_map(|p| p["email"].as_str().map(str::to_string)).collect();
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut counters = conn.prepare("SELECT counter FROM audit_log").unwrap();
    let logged: HashSet<i64> = counters.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    let writes_lost = lost(&total.updates, &logged) + lost(&total.people, &emails) + lost(&total.accounts, &accounts);

    eprintln!(
        "REPORT app-load: {CONNECTIONS} connections, {elapsed:.1} s, {} requests, {:.0} req/s, \
         {} writes acknowledged, {writes_lost} writes lost, {} socket errors, {} 5xx",
        total.requests,
        total.requests as f64 / elapsed,
        total.writes(),
        total.socket_errors.len(),
        total.server_errors,
    );
    let tail = app.output_tail();
    let first = |list: &[String]| list.iter().take(10).cloned().collect::<Vec<_>>().join("; ");
    assert!(
        total.socket_errors.is_empty(),
        "socket errors, first: {}\napp output:\n{tail}",
        first(&total.socket_errors)
    );
    assert_eq!(total.server_errors, 0, "5xx responses; app output:\n{tail}");
    assert!(total.unexpected.is_empty(), "unexpected statuses, first: {}", first(&total.unexpected));
    assert_eq!(writes_lost, 0, "acknowledged writes are missing");
    assert!(
        [total.updates.len(), total.people.len(), total.accounts.len()].iter().all(|&n| n > 0),
        "some kind of write never happened: nothing proved about it"
    );
}
