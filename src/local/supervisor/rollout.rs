//! A deploy, as an instance refresh with min healthy 100 % makes it: while a replica runs
//! another release than the wanted one, one step a tick:
//!
//! 1. start a replica of the new release, out of rotation (the candidate);
//! 2. once it passes a health check, put it in rotation (the release is proven: replicas
//!    replacing crashed ones start from it now) and drain one old replica: out of rotation,
//!    its requests under way finish (at most the deregistration delay), then it stops;
//! 3. once that drain is over, start the next candidate;
//! 4. once every replica runs it and the desired count of them is in rotation, it is done
//!    (and recorded in the history).
//!
//! So capacity never drops below the desired count. A candidate that exits, or does not pass
//! a health check within the warmup (`instances.health_grace`), is stopped and the release
//! refused: the replicas keep running the previous one, and any already replaced go back to
//! it the same way. So is a replica of the new release that exits once in rotation, before
//! the deploy is done.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::{Supervisor, exited_early, now, warmup_over};
use crate::local::control::Request;
use crate::local::history;
use crate::local::pool::Backend;
use crate::local::release::Release;
use crate::local::replicas::Replica;
use crate::local::status::{DeployState, DeployStatus};

/// A deploy under way.
#[derive(Debug)]
pub(super) struct Rollout {
    /// The release the replicas are to run.
    target: Release,
    /// The release they ran before: what they go back to if the target is refused.
    previous: Release,
    /// What the history is to say it changed, when the request says.
    change: Option<String>,
    /// The replica of the target waiting for its first passed health check.
    pub(super) candidate: Option<Candidate>,
    /// Why the target was refused, when this rollout takes the replicas back to `previous`.
    refused: Option<String>,
}

/// A new replica, out of rotation until its health check passes.
#[derive(Debug)]
pub(super) struct Candidate {
    /// The replica.
    pub(super) replica: Replica,
    /// Its place in the balancer.
    pub(super) backend: Arc<Backend>,
    /// The end of its warmup.
    until: Instant,
}

/// A replica out of rotation finishing its requests.
#[derive(Debug)]
pub(super) struct Draining {
    /// The replica.
    pub(super) replica: Replica,
    /// Its former place in the balancer, which counts its requests under way.
    pub(super) backend: Arc<Backend>,
    /// When it stops even with requests under way (the deregistration delay).
    until: Instant,
}

impl Supervisor {
    /// Starts deploying `request`'s release with its settings, in place of any deploy under
    /// way. The same release with other settings is a deploy too: it is done once the
    /// replicas match them.
    pub(super) fn deploy(&mut self, request: Request) {
        if let Some(candidate) = self.rollout.take().and_then(|r| r.candidate) {
            self.stop_in_background(candidate.replica);
        }
        let Request { id, release, settings, change } = request;
        if let Some(settings) = settings {
            self.reconfigure(settings);
        }
        self.deploy = Some(DeployStatus {
            request: id,
            release: release.id.clone(),
            state: DeployState::Rolling,
            step: format!("release {} ({}) asked for", release.id, release.app_name()),
            error: None,
            number: None,
        });
        self.event(format!("deploying release {} ({})", release.id, release.app_name()));
        self.rollout =
            Some(Rollout { target: release, previous: self.release.clone(), change, candidate: None, refused: None });
    }

    /// Moves the deploy under way on by one step.
    pub(super) async fn roll(&mut self) -> anyhow::Result<()> {
        let Some(rollout) = &self.rollout else { return Ok(()) };
        if let Some(candidate) = &rollout.candidate {
            let (replica, until) = (candidate.replica.clone(), candidate.until);
            if let Some(how) = self.runtime.exited(&replica).await {
                let why = self.failure(&replica, exited_early(&replica, &how)).await;
                self.refuse(why);
            } else if self.runtime.passes_health_check(&replica, &self.settings.health_check.path).await {
                self.promote();
            } else if Instant::now() >= until {
                let why = self.failure(&replica, warmup_over(&replica, self.settings.health_grace)).await;
                self.refuse(why);
            }
            return Ok(());
        }
        if !self.draining.is_empty() {
            return Ok(());
        }
        let target = rollout.target.clone();
        let left = self.replicas.iter().filter(|r| r.release != target.id).count();
        if left == 0 {
            if self.at_full_strength() {
                self.finish();
            }
            return Ok(());
        }
        let (replica, backend) = self.start(&target).await?;
        let grace = self.settings.health_grace.duration();
        self.step(format!(
            "{} of release {} started ({left} replica(s) to replace); waiting for its health checks",
            replica.id, target.id
        ));
        if let Some(rollout) = &mut self.rollout {
            rollout.candidate = Some(Candidate { replica, backend, until: Instant::now() + grace });
        }
        Ok(())
    }

    /// Puts the candidate in rotation, and drains one replica of another release.
    fn promote(&mut self) {
        let Some(rollout) = &mut self.rollout else { return };
        let Some(candidate) = rollout.candidate.take() else { return };
        self.release = rollout.target.clone();
        candidate.backend.healthy.store(true, Ordering::Relaxed);
        let new = candidate.replica.id.clone();
        self.replicas.push(candidate.replica);
        let Some(at) = self.replicas.iter().position(|r| r.release != self.release.id) else {
            self.step(format!("{new} passed its health checks and is in rotation"));
            return;
        };
        let old = self.replicas.remove(at);
        let delay = self.settings.deregistration_delay.duration();
        self.step(format!("{new} passed its health checks and is in rotation; draining {}", old.id));
        match self.forget(&old.id) {
            Some(backend) => self.draining.push(Draining { replica: old, backend, until: Instant::now() + delay }),
            None => self.stop_in_background(old),
        }
    }

    /// Stops the drained replicas: those with no request under way, or past their delay.
    pub(super) fn drain(&mut self) {
        let now = Instant::now();
        let (done, waiting): (Vec<Draining>, Vec<Draining>) =
            std::mem::take(&mut self.draining).into_iter().partition(|d| d.backend.in_flight() == 0 || now >= d.until);
        self.draining = waiting;
        for drained in done {
            let under_way = drained.backend.in_flight();
            let how = if under_way == 0 {
                "drained".to_string()
            } else {
                format!("deregistration delay over with {under_way} request(s) under way")
            };
            self.event(format!("{} {how}; stopping it", drained.replica.id));
            self.stop_in_background(drained.replica);
        }
    }

    /// Ends the rollout: every replica runs its target.
    fn finish(&mut self) {
        let Some(rollout) = self.rollout.take() else { return };
        self.release = rollout.target.clone();
        let Some(deploy) = &mut self.deploy else { return };
        match rollout.refused {
            None => {
                if self.history.last().is_none_or(|last| last.release != rollout.target) {
                    let number = history::record(&mut self.history, rollout.target.clone(), rollout.change, now());
                    deploy.number = Some(number);
                }
                deploy.state = DeployState::Succeeded;
            }
            Some(why) => {
                deploy.state = DeployState::Failed;
                deploy.error = Some(why);
            }
        }
        self.step(format!("every replica runs release {} ({} in rotation)", rollout.target.id, self.replicas.len()));
    }

    /// Refuses the release being deployed when `replica`, which exited `how`, ran it: once
    /// in rotation it is no better than a candidate that exited.
    pub(super) async fn refuse_if_deploying(&mut self, replica: &Replica, how: &str) {
        let deploying = self
            .rollout
            .as_ref()
            .is_some_and(|r| r.refused.is_none() && r.target.id != r.previous.id && r.target.id == replica.release);
        if deploying {
            let what = format!("{} of release {} exited ({how}) during the deploy", replica.id, replica.release);
            let why = self.failure(replica, what).await;
            self.refuse(why);
        }
    }

    /// Refuses the target for `why`: its candidate stops, the previous release is current
    /// again, and the replicas already replaced go back to it.
    fn refuse(&mut self, why: String) {
        let Some(mut rollout) = self.rollout.take() else { return };
        if let Some(candidate) = rollout.candidate.take() {
            self.stop_in_background(candidate.replica);
        }
        self.event(format!("release {} refused: {why}", rollout.target.id));
        self.release = rollout.previous.clone();
        let replaced = self.replicas.iter().any(|r| r.release == rollout.target.id);
        if replaced && rollout.refused.is_none() {
            self.step(format!("release {} refused; going back to release {}", rollout.target.id, self.release.id));
            let back = self.release.clone();
            self.rollout = Some(Rollout {
                target: back.clone(),
                previous: back,
                change: None,
                candidate: None,
                refused: Some(why),
            });
            return;
        }
        if let Some(deploy) = &mut self.deploy {
            deploy.state = DeployState::Failed;
            deploy.error = Some(why);
        }
        self.step(format!("the replicas keep running release {}", self.release.id));
    }

    /// Records the deploy's latest step.
    fn step(&mut self, what: String) {
        if let Some(deploy) = &mut self.deploy {
            deploy.step.clone_from(&what);
        }
        self.event(what);
    }
}
