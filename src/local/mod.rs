//! `--local`: the same stack on one machine. `min` replicas of the app share one SQLite file
//! (WAL) behind a load balancer on 127.0.0.1 with the stack's health checks, and the stack's
//! request-count scaling moves the replica count between `min` and `max` with the same
//! thresholds, periods and cooldowns as the cloud alarms.
//!
//! `up --local` starts a detached supervisor ([`supervisor`]) and returns once the replicas
//! answer, or at once with the reason when they cannot start; on a running stack with
//! another release ([`release`]: the app and its environment) it deploys it, replica by
//! replica, and with other settings ([`settings`]: scaling, health check) it applies them,
//! following either through the status file ([`deploy`]);
//! `status --local` reads the status file the supervisor keeps, with the deploy history
//! ([`history`]); `rollback --local` deploys an earlier release; `destroy --local` stops the
//! supervisor (and so every replica) and removes the stack's local directory.
//!
//! Replicas are containers of the app image (docker runtime) or child processes of the
//! supervisor (process runtime, where no Docker engine answers). Not reproduced: IAM, availability zones,
//! the ALB's own behaviour (idle timeouts, cross-zone balancing).

pub mod balancer;
pub mod control;
pub mod deploy;
pub mod history;
pub mod pool;
pub mod release;
pub mod replicas;
pub mod scaler;
pub mod settings;
pub mod status;
pub mod supervisor;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use self::control::Request;
use self::status::{DeployState, LocalStatus};

/// How long `up --local` waits for the replicas to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `destroy --local` waits for the supervisor to stop its replicas.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The stack's local directory: `.cloudcomp/<stack>.local` beside the state file.
pub fn dir(state_path: &Path, stack: &str) -> PathBuf {
    state_path.with_file_name(format!("{stack}.local"))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` still runs a cloudcomp program (and not some process that reused the pid).
fn still_ours(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.windows(b"cloudcomp".len()).any(|w| w == b"cloudcomp"))
}

/// The status of the running local stack in `dir`, if its supervisor is alive.
pub fn running(dir: &Path) -> Option<LocalStatus> {
    status::read(&status::path(dir)).filter(|s| still_ours(s.pid))
}

/// The app's program name: `cloudcomp` started under it runs the app (it links it).
pub const APP_NAME: &str = "cloudcomp-app";

/// The app binary replicas run: `explicit`, else `cloudcomp-app` beside this executable,
/// else this executable itself, through a link named `cloudcomp-app` in `dir` (it serves
/// the app when started under that name), so that no second build is needed.
pub fn app_binary(explicit: Option<&Path>, dir: &Path) -> anyhow::Result<PathBuf> {
    if explicit.is_some() {
        return crate::image::binary::locate(explicit);
    }
    let this = std::env::current_exe()?;
    if let Some(beside) = this.parent().map(|d| d.join(APP_NAME)).filter(|p| p.is_file()) {
        return Ok(beside);
    }
    let link = dir.join(APP_NAME);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&this, &link).with_context(|| format!("linking {}", link.display()))?;
    Ok(link)
}

/// Starts the local stack `stack` in `dir` (a supervisor in the background, with replicas
/// of `request`'s release and settings in `runtime`, `process` or `docker`) and waits until
/// that first deploy is done: the desired count of replicas in rotation. Returns the URL.
/// When the release cannot start (its first replica exits, or fails its health checks past
/// the warmup), the supervisor stops every replica and this returns its reason.
pub fn up(dir: &Path, stack: &str, port: u16, runtime: &str, request: &Request) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _ = std::fs::remove_file(status::path(dir));
    control::write(&control::path(dir), request)?;
    let log_path = dir.join("supervisor.log");
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("local-supervisor")
        .args(["--stack", stack])
        .arg("--dir")
        .arg(dir)
        .arg("--port")
        .arg(port.to_string())
        .args(["--runtime", runtime])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: a Ctrl-C in this terminal is not meant for it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut supervisor = command.spawn().context("starting the local supervisor")?;
    // The status, once it says that this first deploy is in `state`.
    let ours = |state: DeployState| {
        status::read(&status::path(dir))
            .filter(|s| s.deploy.as_ref().is_some_and(|d| d.request == request.id && d.state == state))
    };
    let started = Instant::now();
    loop {
        if let Some(done) = ours(DeployState::Succeeded) {
            return Ok(done.url);
        }
        if let Some(exit) = supervisor.try_wait()? {
            // Its last word, written before it exited.
            if let Some(why) = ours(DeployState::Failed).and_then(|s| s.deploy?.error) {
                anyhow::bail!("release {} could not start, and nothing runs: {why}", request.release.id);
            }
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            anyhow::bail!("the local supervisor stopped ({exit}):\n{log}");
        }
        if started.elapsed() > START_TIMEOUT {
            stop_supervisor(&mut supervisor);
            anyhow::bail!(
                "the replicas did not become healthy within {}s; see {}",
                START_TIMEOUT.as_secs(),
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the local stack: the supervisor, its replicas (any left behind are killed or
/// removed), the docker runtime's network and volume, and its directory. Returns whether
/// anything was there.
pub async fn destroy(state_path: &Path, stack: &str) -> anyhow::Result<bool> {
    let dir = dir(state_path, stack);
    let Some(last) = status::read(&status::path(&dir)) else {
        let existed = dir.exists();
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(existed);
    };
    if still_ours(last.pid) {
        signal(last.pid, libc::SIGTERM);
        let started = Instant::now();
        while alive(last.pid) && started.elapsed() < STOP_TIMEOUT {
            std::thread::sleep(Duration::from_millis(50));
        }
        if still_ours(last.pid) {
            signal(last.pid, libc::SIGKILL);
        }
    }
    // Replicas outlive a supervisor that was killed; the status file still names them.
    let latest = status::read(&status::path(&dir)).unwrap_or(last);
    for pid in latest.replicas.iter().filter_map(|r| r.pid).filter(|p| still_ours(*p)) {
        signal(pid, libc::SIGKILL);
    }
    if latest.runtime == "docker" {
        let docker = crate::image::docker::connect().await?;
        replicas::docker::remove_docker_leftovers(&docker, stack).await?;
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok(true)
}

/// Stops the supervisor `up` started, which stops its replicas: SIGTERM, then a kill past
/// [`STOP_TIMEOUT`].
fn stop_supervisor(supervisor: &mut std::process::Child) {
    signal(supervisor.id(), libc::SIGTERM);
    let started = Instant::now();
    while matches!(supervisor.try_wait(), Ok(None)) && started.elapsed() < STOP_TIMEOUT {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = supervisor.kill();
    let _ = supervisor.wait();
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory effects; a stale pid at worst fails with ESRCH.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}
