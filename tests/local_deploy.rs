//! Local deploys end to end with real app processes (process runtime), under a steady load
//! through the balancer: a good deploy (an `app.env` change) puts every replica on the new
//! release, a broken one (`CLOUDCOMP_RATE_LOGIN: not-a-number`, which the app refuses at
//! startup) is refused with the app's own words while the good one keeps serving, and
//! `rollback --local` brings back the first release; no request fails throughout.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

fn cloudcomp(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cloudcomp")).args(args).output().expect("running cloudcomp")
}

/// One HTTP/1.1 request on its own connection; the status code, or what went wrong.
fn request(addr: &str, method: &str, path: &str, body: &str) -> Result<u16, String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok());
    code.ok_or_else(|| format!("no status line in {response:?}"))
}

/// Requests answered, answered with another status than 2xx, and failed, over every client.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    not_2xx: AtomicU64,
    failed: AtomicU64,
    first_problem: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn count(&self, outcome: Result<u16, String>, what: &str) {
        let problem = match outcome {
            Ok(code) if (200..300).contains(&code) => None,
            Ok(code) => {
                self.not_2xx.fetch_add(1, Ordering::Relaxed);
                Some(format!("{what}: {code}"))
            }
            Err(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                Some(format!("{what}: {error}"))
            }
        };
        self.answered.fetch_add(1, Ordering::Relaxed);
        if let Some(problem) = problem {
            self.first_problem.lock().unwrap().get_or_insert(problem);
        }
    }
}

/// `clients` threads looping GET and POST requests through `addr` until `stop`.
fn load(addr: &str, clients: usize, stop: &Arc<AtomicBool>, tally: &Arc<Tally>) -> Vec<std::thread::JoinHandle<()>> {
    (0..clients)
        .map(|client| {
            let (addr, stop, tally) = (addr.to_string(), stop.clone(), tally.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    tally.count(request(&addr, "GET", "/health", ""), "GET /health");
                    if client == 0 && n % 4 == 0 {
                        let user = format!(
                            r#"{{"username": "u{n}", "password": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"}}"#
                        );
                        tally.count(request(&addr, "POST", "/api/v1/users", &user), "POST /api/v1/users");
                    } else {
                        tally.count(request(&addr, "GET", "/api/v1/users", ""), "GET /api/v1/users");
                    }
                }
            })
        })
        .collect()
}

fn status(file: &str) -> serde_json::Value {
    let out = cloudcomp(&["status", "--local", "--json", "-f", file]);
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The release of every replica, draining ones included.
fn replica_releases(status: &serde_json::Value) -> Vec<String> {
    status["replicas"].as_array().unwrap().iter().map(|r| r["release"].as_str().unwrap().to_string()).collect()
}

fn write_stack(file: &Path, name: &str, env: &str) {
    std::fs::write(
        file,
        format!(
            "name: {name}
scaling: {{ min: 2, max: 2 }}
health_check: {{ path: /health, interval: 5s }}
instances: {{ health_grace: 5s, deregistration_delay: 5s }}
app: {{ env: {{ {env} }} }}
"
        ),
    )
    .unwrap();
}

#[test]
fn deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    let f = file.to_str().unwrap();
    let name = format!("deploy{}", std::process::id());
    write_stack(&file, &name, "");
    let up = cloudcomp(&["up", "--local", "--runtime", "process", "--port", "0", "-f", f]);
    assert!(up.status.success(), "up --local failed: {}", String::from_utf8_lossy(&up.stderr));
    let url = String::from_utf8_lossy(&up.stdout).trim().to_string();
    let addr = url.trim_start_matches("http://").trim_end_matches("/api/v1/users").to_string();
    let first = status(f);
    let first_release = first["release"].as_str().unwrap().to_string();
    assert_eq!(replica_releases(&first), [first_release.clone(), first_release.clone()]);

    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let clients = load(&addr, 4, &stop, &tally);

    // A good deploy: a valid value for a setting the app reads.
    write_stack(&file, &name, r#"CLOUDCOMP_RATE_LOGIN: "10""#);
    let good = cloudcomp(&["up", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&good.stderr).to_string();
    assert!(good.status.success(), "the good deploy failed: {said}");
    let after_good = status(f);
    let good_release = after_good["release"].as_str().unwrap().to_string();
    assert_ne!(good_release, first_release);
    assert_eq!(replica_releases(&after_good), [good_release.clone(), good_release.clone()], "{after_good:#}");
    assert!(said.contains("deploy #2"), "{said}");
    let again = cloudcomp(&["up", "--local", "-f", f]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("no changes"), "a second up with the same release");

    // A broken deploy: the app refuses the value at startup.
    write_stack(&file, &name, r#"CLOUDCOMP_RATE_LOGIN: "not-a-number""#);
    let broken = cloudcomp(&["up", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&broken.stderr).to_string();
    assert_eq!(broken.status.code(), Some(1), "the broken deploy: {said}");
    assert!(said.contains("exited before passing its health checks"), "{said}");
    assert!(said.contains("not-a-number"), "the app's own words: {said}");
    let after_broken = status(f);
    assert_eq!(after_broken["release"], good_release.as_str());
    assert_eq!(replica_releases(&after_broken), [good_release.clone(), good_release.clone()], "{after_broken:#}");

    // Back to the first release.
    let rollback = cloudcomp(&["rollback", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&rollback.stderr).to_string();
    assert!(rollback.status.success(), "rollback --local failed: {said}");
    let after_rollback = status(f);
    assert_eq!(after_rollback["release"], first_release.as_str());
    assert_eq!(replica_releases(&after_rollback), [first_release.clone(), first_release.clone()]);
    let changes: Vec<&str> =
        after_rollback["deploys"].as_array().unwrap().iter().map(|d| d["change"].as_str().unwrap()).collect();
    assert_eq!(changes, ["first deploy", "env CLOUDCOMP_RATE_LOGIN", "rollback to #1"]);

    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let answered = tally.answered.load(Ordering::Relaxed);
    let (not_2xx, failed) = (tally.not_2xx.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed));
    eprintln!("{answered} requests during the deploys: {not_2xx} not 2xx, {failed} failed");
    assert!(answered > 100, "too little load to mean anything: {answered} requests");
    assert_eq!((not_2xx, failed), (0, 0), "first: {:?}", tally.first_problem.lock().unwrap());

    let down = cloudcomp(&["destroy", "--local", "-f", f]);
    assert!(down.status.success(), "destroy --local failed: {}", String::from_utf8_lossy(&down.stderr));
}
