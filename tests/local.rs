//! `up --local` end to end in both runtimes (containers on the Docker engine, plain
//! processes): replicas behind the local load balancer share their data, are one service (a
//! token from one is accepted by the others, the login rate limit counts across them), scale
//! out under load, a killed replica is routed around and replaced, and `destroy --local`
//! leaves no process or file behind.
//!
//! Real time is spent only on what needs the real wiring: one scale-out step, at the first
//! alarm evaluation (10 s after the supervisor starts; the rest of the test runs meanwhile).
//! Cooldowns, scale-in and health-check replacement are decided on a paused clock in the
//! supervisor's own tests.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

fn cloudcomp(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cloudcomp")).args(args).output().expect("running cloudcomp")
}

/// One HTTP/1.1 request with a JSON body; the status code and body.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let (code, _, body) = request_with(addr, method, path, body, "Content-Type: application/json\r\n");
    (code, body)
}

/// The header line of a form body (`/auth/login` takes nothing else).
const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";

/// One HTTP/1.1 request with `extra` header lines; the status code, head and body.
fn request_with(addr: &str, method: &str, path: &str, body: &str, extra: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (code, head.to_string(), body.to_string())
}

/// The replicas behind `addr` are one service: a token one signs is accepted by every
/// replica (the requests go round robin), and the sixth login in a minute is refused
/// whichever replica it reaches.
fn one_service(addr: &str) {
    let login = "username=demo&password=password123";
    let (code, _, body) = request_with(addr, "POST", "/auth/login", login, FORM);
    assert_eq!(code, 200, "login: {body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bearer = format!("Authorization: Bearer {}\r\n", token["access_token"].as_str().unwrap());
    for _ in 0..4 {
        let (code, _, body) = request_with(addr, "GET", "/items", "", &bearer);
        assert_eq!(code, 200, "a token from one replica was refused by another: {body}");
    }
    for attempt in 2..=5 {
        assert_eq!(request_with(addr, "POST", "/auth/login", login, FORM).0, 200, "login {attempt}");
    }
    let (code, head, body) = request_with(addr, "POST", "/auth/login", login, FORM);
    assert_eq!(code, 429, "the 6th login in a minute across replicas: {body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
}

fn status(file: &Path) -> serde_json::Value {
    let out = cloudcomp(&["status", "--local", "--json", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits up to `seconds` for `check` on the status to hold.
fn wait_for(file: &Path, seconds: u64, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let now = status(file);
        if check(&now) {
            return now;
        }
        assert!(started.elapsed() < Duration::from_secs(seconds), "{what} did not happen within {seconds}s: {now:#}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn healthy(status: &serde_json::Value) -> usize {
    status["replicas"].as_array().unwrap().iter().filter(|r| r["healthy"] == true).count()
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Which runtime, and how to kill a replica behind the supervisor's back.
struct Runtime {
    name: &'static str,
    kill: fn(&serde_json::Value),
    leftovers: fn(&serde_json::Value, &str) -> Vec<String>,
}

fn exercise(runtime: Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    // Never scaling in (fewer than 0 requests): a scale-in here would race the scale-out check.
    std::fs::write(
        &file,
        format!(
            "name: local{}{}
scaling:
  min: 2
  max: 3
  scale_out: {{ requests_above: 50, per: 10s, periods: 1, add: 1, cooldown: 1s }}
  scale_in: {{ requests_below: 5, per: 10s, periods: 1, remove: 1, cooldown: 1s }}
health_check: {{ path: /health, interval: 5s }}
app: {{ demo_user: true }}
",
            runtime.name,
            std::process::id()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();

    let up = cloudcomp(&["up", "--local", "--runtime", runtime.name, "--port", "0", "-f", f]);
    assert!(up.status.success(), "up --local failed: {}", String::from_utf8_lossy(&up.stderr));
    let url = String::from_utf8_lossy(&up.stdout).trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/api/v1/users"), "{url}");
    let addr = url.trim_start_matches("http://").trim_end_matches("/api/v1/users").to_string();
    let first = status(&file);
    assert_eq!(healthy(&first), 2, "{first:#}");
    assert_eq!(first["runtime"], runtime.name);

    // More than 50 requests in the first 10 s period: one more replica at its end, at most max.
    for _ in 0..60 {
        assert_eq!(request(&addr, "GET", "/health", "").0, 200);
    }

    // A write through one replica is read through the other (round robin over both).
    let (code, _) = request(
        &addr,
        "POST",
        "/api/v1/users",
        r#"{"username": "ada", "password": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"}"#,
    );
    assert_eq!(code, 201);
    for _ in 0..6 {
        let (code, body) = request(&addr, "GET", "/api/v1/users", "");
        assert_eq!((code, body.contains("ada")), (200, true), "{body}");
    }
    wait_for(&file, 5, "both replicas serving", |s| {
        s["replicas"].as_array().unwrap().iter().all(|r| r["served"].as_u64().unwrap() > 0)
    });
    one_service(&addr);

    // Kill a replica: the balancer routes around it and the supervisor replaces it.
    let victim = status(&file)["replicas"][0].clone();
    (runtime.kill)(&victim);
    for _ in 0..10 {
        assert_eq!(request(&addr, "GET", "/api/v1/users", "").0, 200, "a request failed while a replica was down");
    }
    let healed = wait_for(&file, 20, "the killed replica replaced", |s| {
        healthy(s) >= 2 && !s["replicas"].as_array().unwrap().iter().any(|r| r["id"] == victim["id"])
    });
    assert!(healed["events"].to_string().contains(&format!("{} exited", victim["id"].as_str().unwrap())));

    let events = |s: &serde_json::Value| s["events"].to_string();
    let grown = wait_for(&file, 30, "scale-out to 3", |s| events(s).contains("scaled out: 2 → 3") && healthy(s) == 3);
    assert!(!events(&grown).contains("→ 4"), "more than max replicas: {grown:#}");

    // destroy --local: nothing left.
    let last = status(&file);
    let down = cloudcomp(&["destroy", "--local", "-f", f]);
    assert!(down.status.success(), "destroy --local failed: {}", String::from_utf8_lossy(&down.stderr));
    assert!(!alive(last["pid"].as_u64().unwrap()), "the supervisor survived");
    let name = format!("local{}{}", runtime.name, std::process::id());
    let left = (runtime.leftovers)(&last, &name);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!dir.path().join(".cloudcomp").join(format!("{name}.local")).exists());
    assert_eq!(status(&file), serde_json::Value::Null);
}

#[test]
fn process_runtime_shares_data_scales_out_heals_and_destroys() {
    exercise(Runtime {
        name: "process",
        kill: |replica| {
            let pid = replica["pid"].as_u64().unwrap().to_string();
            assert!(std::process::Command::new("kill").args(["-9", &pid]).status().unwrap().success());
        },
        leftovers: |last, _| {
            let pids = last["replicas"].as_array().unwrap().iter().filter_map(|r| r["pid"].as_u64());
            pids.filter(|pid| alive(*pid)).map(|pid| format!("process {pid}")).collect()
        },
    });
}

#[test]
fn docker_runtime_shares_data_scales_out_heals_and_destroys() {
    exercise(Runtime {
        name: "docker",
        kill: |replica| {
            let container = replica["container"].as_str().unwrap();
            assert!(std::process::Command::new("docker").args(["kill", container]).status().unwrap().success());
        },
        leftovers: |_, name| {
            let docker = |args: &[&str]| {
                let out = std::process::Command::new("docker").args(args).output().unwrap();
                (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
            };
            let mut left = Vec::new();
            let (_, containers) = docker(&["ps", "-aq", "--filter", &format!("label=cloudcomp.stack={name}")]);
            if !containers.is_empty() {
                left.push(format!("containers {containers}"));
            }
            if docker(&["network", "inspect", &format!("cloudcomp-{name}")]).0 {
                left.push("network".into());
            }
            if docker(&["volume", "inspect", &format!("cloudcomp-{name}-data")]).0 {
                left.push("volume".into());
            }
            left
        },
    });
}
