//! The CLI's side of a local deploy (`up --local` on a running stack, `rollback --local`):
//! ask the running supervisor for a release ([`super::control`]) and follow the deploy
//! through the status file until it ends.

use std::path::Path;
use std::time::{Duration, Instant};

use super::control::{self, Request};
use super::status::{self, DeployState, LocalStatus};

/// Asks the supervisor of `running` to deploy `request`'s release and follows the deploy,
/// saying each step with `say`, for up to `timeout`. The status once every replica runs the
/// release; an error naming the reason when the release was refused, the supervisor
/// stopped, another deploy replaced this one, or the deploy went on past `timeout`.
pub fn deploy(
    dir: &Path,
    running: &LocalStatus,
    request: &Request,
    timeout: Duration,
    say: &dyn Fn(&str),
) -> anyhow::Result<LocalStatus> {
    control::write(&control::path(dir), request)?;
    super::signal(running.pid, libc::SIGHUP);
    let started = Instant::now();
    let mut said = String::new();
    loop {
        let Some(now) = status::read(&status::path(dir)).filter(|s| s.pid == running.pid && super::still_ours(s.pid))
        else {
            anyhow::bail!(
                "the local supervisor (pid {}) stopped during the deploy; see {}",
                running.pid,
                dir.join("supervisor.log").display()
            );
        };
        if let Some(deploy) = now.deploy.as_ref().filter(|d| d.request == request.id) {
            if deploy.step != said {
                say(&deploy.step);
                said.clone_from(&deploy.step);
            }
            match deploy.state {
                DeployState::Succeeded => return Ok(now),
                DeployState::Failed => anyhow::bail!(
                    "release {} was refused: {}",
                    deploy.release,
                    deploy.error.as_deref().unwrap_or("no reason given")
                ),
                DeployState::Rolling => {}
            }
        }
        anyhow::ensure!(
            control::read(&control::path(dir)).is_some_and(|wanted| wanted.id == request.id),
            "another deploy replaced this one before it ended (`cloudcomp status --local` shows it)"
        );
        anyhow::ensure!(
            started.elapsed() < timeout,
            "the deploy did not end within {}s; it goes on (`cloudcomp status --local` shows it)",
            timeout.as_secs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
