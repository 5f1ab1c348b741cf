//! Local deploys end to end with real replicas, in both runtimes (plain processes; containers
//! when a Docker engine answers and `CLOUDCOMP_APP_BINARY` names the static app, as `.ci/run`
//! provides, else skipped with the reason): under a steady load through the balancer, a good
//! deploy (an `app.env` change) puts every replica on the new release, a broken one
//! (`CLOUDCOMP_RATE_LOGIN: not-a-number`, which the app refuses at startup) is refused with the
//! app's own words while the good one keeps serving, and `rollback --local` brings back the
//! first release; no request fails throughout. A broken release on the very first `up` fails
//! within seconds and leaves nothing running; new scaling settings on a running stack are
//! applied without a new release.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    write_stack_with(file, name, "{ min: 2, max: 2 }", env);
}

fn write_stack_with(file: &Path, name: &str, scaling: &str, env: &str) {
    std::fs::write(
        file,
        format!(
            "name: {name}
scaling: {scaling}
health_check: {{ path: /health, interval: 5s }}
instances: {{ health_grace: 5s, deregistration_delay: 5s }}
app: {{ env: {{ {env} }} }}
"
        ),
    )
    .unwrap();
}

/// Where the replicas run.
#[derive(Clone, Copy)]
enum Runtime {
    Process,
    Docker,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Process => "process",
            Runtime::Docker => "docker",
        }
    }

    /// Why this machine cannot run replicas in this runtime, if it cannot.
    fn missing(self) -> Option<&'static str> {
        match self {
            Runtime::Process => None,
            Runtime::Docker if std::env::var_os("CLOUDCOMP_APP_BINARY").is_none() => {
                Some("CLOUDCOMP_APP_BINARY does not name the static app the image carries (.ci/run builds it)")
            }
            Runtime::Docker => {
                let info = std::process::Command::new("docker").arg("info").output();
                (!info.is_ok_and(|out| out.status.success())).then_some("no Docker engine answers `docker info`")
            }
        }
    }

    /// A stack name of this runtime no other test uses.
    fn stack(self, what: &str) -> String {
        format!("{what}{}{}", &self.name()[..1], std::process::id())
    }

    /// Whether a test in this runtime can run here; says why not when it cannot.
    fn available(self) -> bool {
        let missing = self.missing();
        if let Some(why) = missing {
            eprintln!("skipped: the {} runtime is not available: {why}", self.name());
        }
        missing.is_none()
    }

    /// What of the local stack `name` in `dir` still runs: the supervisor and processes
    /// (anything started with the stack's directory on its command line) and containers.
    fn running(self, dir: &Path, name: &str) -> Vec<String> {
        let local_dir = dir.join(".cloudcomp").join(format!("{name}.local"));
        let needle = local_dir.to_string_lossy().into_owned();
        let mut left: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| {
                let pid = entry.ok()?.file_name().to_str()?.parse::<u32>().ok()?;
                let cmdline =
                    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).ok()?).replace('\0', " ");
                cmdline.contains(&needle).then(|| format!("process {pid}: {cmdline}"))
            })
            .collect();
        if let Runtime::Docker = self {
            let filter = format!("label=cloudcomp.stack={name}");
            let out = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output().unwrap();
            let containers = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !containers.is_empty() {
                left.push(format!("containers {containers}"));
            }
        }
        left
    }
}

/// `up --local` in `runtime` of the stack `file`; the balancer's address.
fn first_up(runtime: Runtime, file: &str) -> String {
    let up = cloudcomp(&["up", "--local", "--runtime", runtime.name(), "--port", "0", "-f", file]);
    assert!(up.status.success(), "up --local failed: {}", String::from_utf8_lossy(&up.stderr));
    let url = String::from_utf8_lossy(&up.stdout).trim().to_string();
    url.trim_start_matches("http://").trim_end_matches("/api/v1/users").to_string()
}

fn destroy(file: &str) {
    let down = cloudcomp(&["destroy", "--local", "-f", file]);
    assert!(down.status.success(), "destroy --local failed: {}", String::from_utf8_lossy(&down.stderr));
}

fn deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request(runtime: Runtime) {
    if !runtime.available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    let f = file.to_str().unwrap();
    let name = runtime.stack("deploy");
    write_stack(&file, &name, "");
    let addr = first_up(runtime, f);
    let first = status(f);
    let first_release = first["release"].as_str().unwrap().to_string();
    assert_eq!(replica_releases(&first), [first_release.clone(), first_release.clone()]);

    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let clients = load(&addr, 4, &stop, &tally);

    // A good deploy: a valid value for a setting the app reads.
    write_stack(&file, &name, r#"CLOUDCOMP_RATE_LOGIN: "10""#);
    let started = Instant::now();
    let good = cloudcomp(&["up", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&good.stderr).to_string();
    assert!(good.status.success(), "the good deploy failed: {said}");
    eprintln!("{} runtime: the good deploy took {:.1}s", runtime.name(), started.elapsed().as_secs_f64());
    let after_good = status(f);
    let good_release = after_good["release"].as_str().unwrap().to_string();
    assert_ne!(good_release, first_release);
    assert_eq!(replica_releases(&after_good), [good_release.clone(), good_release.clone()], "{after_good:#}");
    assert!(said.contains("deploy #2"), "{said}");
    let drained = after_good["events"].as_array().unwrap().iter().filter(|e| e["what"].to_string().contains("drained"));
    assert_eq!(drained.count(), 2, "each old replica drained before it stopped: {after_good:#}");
    let again = cloudcomp(&["up", "--local", "-f", f]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("no changes"), "a second up with the same release");

    // A broken deploy: the app refuses the value at startup.
    write_stack(&file, &name, r#"CLOUDCOMP_RATE_LOGIN: "not-a-number""#);
    let started = Instant::now();
    let broken = cloudcomp(&["up", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&broken.stderr).to_string();
    assert_eq!(broken.status.code(), Some(1), "the broken deploy: {said}");
    let took = started.elapsed();
    eprintln!("{} runtime: the broken deploy was refused in {:.1}s", runtime.name(), took.as_secs_f64());
    assert!(took < Duration::from_secs(5), "refused once its replica exited, not after the 5 s warmup: {took:?}");
    assert!(said.contains("exited (exit") && said.contains("before passing its health checks"), "{said}");
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
    eprintln!("{} runtime: {answered} requests during the deploys: {not_2xx} not 2xx, {failed} failed", runtime.name());
    assert!(answered > 100, "too little load to mean anything: {answered} requests");
    assert_eq!((not_2xx, failed), (0, 0), "first: {:?}", tally.first_problem.lock().unwrap());

    destroy(f);
    assert!(runtime.running(dir.path(), &name).is_empty());
}

#[test]
fn process_deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request() {
    deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request(Runtime::Process);
}

#[test]
fn docker_deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request() {
    deploys_are_rolled_out_refused_and_rolled_back_without_a_failed_request(Runtime::Docker);
}

fn a_broken_first_release_fails_at_once_and_leaves_nothing_running(runtime: Runtime) {
    if !runtime.available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    let f = file.to_str().unwrap();
    let name = runtime.stack("broken");
    // A warmup far beyond the time allowed: only the replica's exit can end it so soon.
    write_stack_with(&file, &name, "{ min: 2, max: 2 }", r#"CLOUDCOMP_RATE_LOGIN: "not-a-number""#);
    let text = std::fs::read_to_string(&file).unwrap().replace("health_grace: 5s", "health_grace: 120s");
    std::fs::write(&file, text).unwrap();
    if let Runtime::Docker = runtime {
        // The image first, so that what is timed is the start alone.
        let built = cloudcomp(&["build"]);
        assert!(built.status.success(), "build failed: {}", String::from_utf8_lossy(&built.stderr));
    }

    let started = Instant::now();
    let up = cloudcomp(&["up", "--local", "--runtime", runtime.name(), "--port", "0", "-f", f]);
    let took = started.elapsed();
    let said = String::from_utf8_lossy(&up.stderr).to_string();
    eprintln!("{} runtime: the broken first up failed in {:.1}s", runtime.name(), took.as_secs_f64());
    assert_eq!(up.status.code(), Some(1), "{said}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {said}");
    assert!(said.contains("could not start, and nothing runs"), "{said}");
    assert!(said.contains("r1 of release") && said.contains("exited (exit"), "the replica and its exit: {said}");
    assert!(said.contains("not-a-number"), "the app's own words: {said}");
    let left = runtime.running(dir.path(), &name);
    assert!(left.is_empty(), "still running: {left:?}");
    assert_eq!(status(f), serde_json::Value::Null, "status --local: not running");

    // Fixed, it starts; destroy --local then leaves nothing behind.
    write_stack(&file, &name, "");
    first_up(runtime, f);
    let deploys = status(f)["deploys"].clone();
    let changes: Vec<&str> = deploys.as_array().unwrap().iter().map(|d| d["change"].as_str().unwrap()).collect();
    assert_eq!(changes, ["first deploy"], "the release that never ran is not in the history");
    destroy(f);
    assert!(runtime.running(dir.path(), &name).is_empty());
}

#[test]
fn process_broken_first_release_fails_at_once_and_leaves_nothing_running() {
    a_broken_first_release_fails_at_once_and_leaves_nothing_running(Runtime::Process);
}

#[test]
fn docker_broken_first_release_fails_at_once_and_leaves_nothing_running() {
    a_broken_first_release_fails_at_once_and_leaves_nothing_running(Runtime::Docker);
}

#[test]
fn new_settings_on_a_running_stack_are_applied_and_app_settings_rolled_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    let f = file.to_str().unwrap();
    let name = Runtime::Process.stack("settings");
    write_stack(&file, &name, "");
    first_up(Runtime::Process, f);
    let first = status(f);

    // More replicas: the same release, one more replica, no deploy in the history.
    write_stack_with(&file, &name, "{ min: 3, max: 4 }", "");
    let wider = cloudcomp(&["up", "--local", "-f", f]);
    let said = String::from_utf8_lossy(&wider.stderr).to_string();
    assert!(wider.status.success(), "{said}");
    assert!(said.contains("scaling.max 2 → 4, scaling.min 2 → 3"), "{said}");
    let now = status(f);
    assert_eq!((now["min"].as_u64(), now["max"].as_u64(), now["desired"].as_u64()), (Some(3), Some(4), Some(3)));
    let healthy = now["replicas"].as_array().unwrap().iter().filter(|r| r["healthy"] == true).count();
    assert_eq!(healthy, 3, "{now:#}");
    assert_eq!(now["release"], first["release"]);
    assert_eq!(now["deploys"], first["deploys"], "settings alone are not a deploy");
    let again = cloudcomp(&["up", "--local", "-f", f]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("no changes"), "a second up with the same settings");

    // The demo accounts are read at start: turning them off is a new release, rolled out.
    let text = std::fs::read_to_string(&file).unwrap().replace("app: {", "app: { demo_user: false,");
    std::fs::write(&file, text).unwrap();
    let demo = cloudcomp(&["up", "--local", "-f", f]);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let now = status(f);
    assert_ne!(now["release"], first["release"]);
    assert_eq!(replica_releases(&now), vec![now["release"].as_str().unwrap().to_string(); 3], "{now:#}");
    let last = now["deploys"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["change"], "env CLOUDCOMP_CALC_ACCOUNTS, CLOUDCOMP_DEMO_USER");

    destroy(f);
}
