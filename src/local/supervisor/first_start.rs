//! The supervisor's first release, before any of its replicas passed a health check: a
//! deploy with nothing to fall back on. Its first replica exiting (found by
//! [`Supervisor::converge`]) or still failing its health checks at the end of the warmup
//! fails it at once: the deploy in the status file says why, with the replica's last lines,
//! and the supervisor stops, which stops every replica. `up --local` reads the reason there.

use tokio::time::Instant;

use super::{Supervisor, warmup_over};
use crate::local::replicas::Replica;
use crate::local::status::DeployState;

impl Supervisor {
    /// Fails the first start when its warmup is over and no replica passed a health check.
    pub(super) async fn check_first_start(&mut self) -> anyhow::Result<()> {
        let Some(until) = self.unproven else { return Ok(()) };
        if Instant::now() < until {
            return Ok(());
        }
        let Some(replica) = self.replicas.first().cloned() else { return Ok(()) };
        let why = warmup_over(&replica, self.settings.health_grace);
        Err(self.fail_first_start(replica, why).await)
    }

    /// Records that the first release failed, as `why` and `replica`'s last lines, and stops
    /// `replica`; the error that stops the supervisor.
    pub(super) async fn fail_first_start(&mut self, replica: Replica, why: String) -> anyhow::Error {
        let why = self.failure(&replica, why).await;
        self.event(format!("release {} could not start: {why}", self.release.id));
        if let Some(deploy) = &mut self.deploy {
            deploy.state = DeployState::Failed;
            deploy.error = Some(why.clone());
            deploy.step = format!("release {} could not start; nothing runs", self.release.id);
        }
        self.rollout = None;
        self.forget(&replica.id);
        self.runtime.stop(replica).await;
        anyhow::anyhow!("release {} could not start: {why}", self.release.id)
    }
}
