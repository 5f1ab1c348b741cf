//! The background task that carries out an instance refresh in moto, as the user guide's "How an
//! instance refresh works" describes a rolling one: instances are replaced in batches sized by
//! the minimum and maximum healthy percentages. With `MaxHealthyPercentage` above 100 a batch of
//! `desired × (max − 100) %` instances (at least one) is launched first, from the desired launch
//! template version, and the batch of old instances is terminated (decrementing the desired
//! capacity back) only once every new one is `InService`, `healthy` in each of the group's target
//! groups as the proxy answers DescribeTargetHealth (strict mode's boot and
//! [`Proxy::fail_new_instances`](crate::Proxy::fail_new_instances) included), and has stayed so
//! for the instance warmup. Otherwise `desired × (100 − min) %` old instances (at least one) are
//! terminated first and their replacements launched. moto launches from the group's launch
//! template, so the group points at the version being launched (and `MaxSize` is raised while the
//! group holds more than it, as AWS may exceed the maximum during a refresh); when the refresh
//! ends the group points at the desired version if it succeeded, at the previous one otherwise,
//! and gets its `MaxSize` back.
//!
//! A batch that has not become healthy in `Timing::give_up` (AWS gives an hour) stops the refresh,
//! and so does an alarm of the refresh's alarm specification in `ALARM` ([`super::alarm`]).
//! A stopped refresh rolls back with `AutoRollback` (instances launched by the refresh are
//! replaced in the same way by instances of the previous launch template version:
//! `RollbackSuccessful`, or `RollbackFailed` if those do not become healthy either) and is
//! `Failed` without. With no alarm, replacements that never become healthy thus end the refresh
//! after the give-up time, which stands for the hour the user guide ("Undo changes with a manual
//! or auto rollback") says AWS keeps trying before it fails and rolls back. A cancelled, failed or
//! rolled-back refresh terminates the new instances of the batch under way (launch-first batches
//! only); replacements already done stay.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::Timing;
use super::alarm::{self, Unhealthy};
use super::model::{Preferences, Status, Template};
use super::reads::{self, Group};
use crate::Forwarder;

/// What a refresh is to do, fixed when it starts.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The refresh's id.
    pub(crate) id: String,
    /// The group's name.
    pub(crate) group: String,
    /// The launch template version to move to.
    pub(crate) target: Template,
    /// The group's launch template version before: what a rollback goes back to.
    pub(crate) previous: Template,
    /// The instances to replace.
    pub(crate) to_replace: Vec<String>,
    /// The refresh's preferences.
    pub(crate) preferences: Preferences,
    /// How long a new instance must have been healthy to count as updated.
    pub(crate) warmup: Duration,
    /// The group's `MaxSize` before.
    pub(crate) max: u32,
    /// The group's `DesiredCapacity` before.
    pub(crate) desired: u32,
}

/// Which way instances are being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Towards the desired configuration.
    Forward,
    /// Back to the previous configuration.
    Rollback,
}

/// How replacing instances ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Every instance was replaced.
    Done,
    /// An alarm or the give-up time stopped it, for this reason.
    Stopped(String),
    /// A call changed the refresh's status (to `Cancelling` or `RollbackInProgress`).
    Interrupted(Status),
    /// moto failed, or the proxy is gone.
    Broken(String),
}

/// Points `group` in moto at `template`, with `max` and `desired` if given.
pub(crate) async fn point(
    forwarder: &Forwarder,
    group: &str,
    template: &Template,
    max: Option<u32>,
    desired: Option<u32>,
) -> Result<String, String> {
    let (max, desired) = (max.map(|m| m.to_string()), desired.map(|d| d.to_string()));
    let mut params = vec![
        ("Action", "UpdateAutoScalingGroup"),
        ("AutoScalingGroupName", group),
        ("LaunchTemplate.LaunchTemplateId", template.id.as_str()),
        ("LaunchTemplate.Version", template.version.as_str()),
    ];
    params.extend(max.as_deref().map(|m| ("MaxSize", m)));
    params.extend(desired.as_deref().map(|d| ("DesiredCapacity", d)));
    forwarder.query("autoscaling", &params).await
}

/// Carries out the refresh `plan` through the proxy `forwarder`, polling as `timing` says.
pub(crate) async fn run(forwarder: Weak<Forwarder>, timing: Timing, plan: Plan) {
    let capacity = plan.desired;
    let mut driver = Driver {
        forwarder,
        timing,
        plan,
        capacity,
        launched: Vec::new(),
        in_flight: Vec::new(),
        unhealthy: Unhealthy::default(),
        fired: Vec::new(),
    };
    driver.drive().await;
}

/// A refresh being carried out.
struct Driver {
    forwarder: Weak<Forwarder>,
    timing: Timing,
    plan: Plan,
    /// The group's desired capacity in moto now.
    capacity: u32,
    /// The instances this refresh launched towards the desired configuration.
    launched: Vec<String>,
    /// The instances of the batch under way.
    in_flight: Vec<String>,
    /// Since when targets have been unhealthy.
    unhealthy: Unhealthy,
    /// The alarms the proxy set to `ALARM` because it found them breaching.
    fired: Vec<String>,
}

impl Driver {
    /// Runs the refresh to its end.
    async fn drive(&mut self) {
        self.update(|r| {
            if r.status == Status::Pending {
                r.status = Status::InProgress;
            }
        });
        let (status, reason) = match self.replace(Phase::Forward).await {
            Outcome::Done => match self.finish(&self.plan.target.clone()).await {
                Ok(()) => (Status::Successful, None),
                Err(e) => (Status::Failed, Some(e)),
            },
            Outcome::Stopped(reason) if self.plan.preferences.auto_rollback => {
                self.update(|r| r.start_rollback(reason));
                self.roll_back().await
            }
            Outcome::Interrupted(Status::RollbackInProgress) => self.roll_back().await,
            Outcome::Stopped(reason) | Outcome::Broken(reason) => {
                self.abandon().await;
                (Status::Failed, Some(reason))
            }
            Outcome::Interrupted(_) => {
                self.abandon().await;
                (Status::Cancelled, None)
            }
        };
        self.update(|r| r.end(status, reason));
        if status == Status::RollbackSuccessful {
            self.recover_alarms().await;
        }
    }

    /// Once the rollback took the failing instances away, the alarms the proxy fired see the
    /// metric back under their threshold: after one evaluation window they are `OK` again, as
    /// CloudWatch sets them (and a later refresh guarded by them can run).
    async fn recover_alarms(&self) {
        if self.fired.is_empty() {
            return;
        }
        tokio::time::sleep(self.timing.alarm_evaluation).await;
        let Ok(forwarder) = self.forwarder() else { return };
        for name in &self.fired {
            let params = [
                ("Action", "SetAlarmState"),
                ("AlarmName", name.as_str()),
                ("StateValue", "OK"),
                ("StateReason", alarm::RECOVERED),
            ];
            let _ = forwarder.query("monitoring", &params).await;
        }
    }

    /// Rolls back: the instances the refresh launched are replaced by ones of the previous
    /// configuration.
    async fn roll_back(&mut self) -> (Status, Option<String>) {
        self.drop_in_flight().await;
        match self.replace(Phase::Rollback).await {
            Outcome::Done => match self.finish(&self.plan.previous.clone()).await {
                Ok(()) => (Status::RollbackSuccessful, None),
                Err(e) => (Status::RollbackFailed, Some(e)),
            },
            Outcome::Interrupted(_) => {
                self.abandon().await;
                (Status::Cancelled, None)
            }
            Outcome::Stopped(reason) | Outcome::Broken(reason) => {
                self.abandon().await;
                (Status::RollbackFailed, Some(reason))
            }
        }
    }

    /// Gives up: drops the batch under way and points the group back at its previous
    /// configuration.
    async fn abandon(&mut self) {
        self.drop_in_flight().await;
        let _ = self.finish(&self.plan.previous.clone()).await;
    }

    /// Terminates the new instances of a launch-first batch under way: they were launched on top
    /// of the desired capacity and replaced nothing yet, so a rollback need not replace them.
    /// (A terminate-first batch's new instances did replace old ones: they stay.)
    async fn drop_in_flight(&mut self) {
        let in_flight = std::mem::take(&mut self.in_flight);
        if !self.launches_first() {
            return;
        }
        for id in in_flight {
            if self.terminate(&id).await.is_ok() {
                self.capacity = self.capacity.saturating_sub(1);
                self.launched.retain(|launched| *launched != id);
            }
        }
    }

    /// Points the group at `template` for good, with its `MaxSize` back.
    async fn finish(&self, template: &Template) -> Result<(), String> {
        let forwarder = self.forwarder()?;
        point(&forwarder, &self.plan.group, template, Some(self.plan.max.max(self.capacity)), None).await.map(drop)
    }

    /// Whether batches launch before they terminate.
    fn launches_first(&self) -> bool {
        self.plan.preferences.max_healthy > 100
    }

    /// Replaces instances, batch by batch: towards the desired configuration, or back.
    async fn replace(&mut self, phase: Phase) -> Outcome {
        let (target, mut pending) = match phase {
            Phase::Forward => (self.plan.target.clone(), self.plan.to_replace.clone()),
            Phase::Rollback => (self.plan.previous.clone(), self.launched.clone()),
        };
        let total = pending.len().max(1);
        let prefs = &self.plan.preferences;
        let share = if self.launches_first() { prefs.max_healthy - 100 } else { 100 - prefs.min_healthy };
        let batch = (self.plan.desired * share / 100).max(1) as usize;
        loop {
            if let Some(changed) = self.interrupted(phase) {
                return Outcome::Interrupted(changed);
            }
            let group = match self.group().await {
                Ok(group) => group,
                Err(e) => return Outcome::Broken(e),
            };
            let present: HashSet<&str> = group
                .instances
                .iter()
                .filter(|i| !i.lifecycle.starts_with("Terminat"))
                .map(|i| i.id.as_str())
                .collect();
            pending.retain(|id| present.contains(id.as_str()));
            self.progress(phase, pending.len(), total);
            if pending.is_empty() {
                return Outcome::Done;
            }
            let old: Vec<String> = pending.iter().take(batch).cloned().collect();
            let before: HashSet<String> = group.instances.iter().map(|i| i.id.clone()).collect();
            if let Err(e) = self.launch(&target, &old).await {
                return Outcome::Broken(e);
            }
            let group = match self.group().await {
                Ok(group) => group,
                Err(e) => return Outcome::Broken(e),
            };
            let new: Vec<String> =
                group.instances.iter().map(|i| i.id.clone()).filter(|id| !before.contains(id)).collect();
            if new.len() < old.len() {
                return Outcome::Broken(format!("moto launched {} of {} instances", new.len(), old.len()));
            }
            if phase == Phase::Forward {
                self.launched.extend(new.iter().cloned());
            }
            self.in_flight = new.clone();
            let waited = self.wait_ready(&new, phase).await;
            if waited != Outcome::Done {
                return waited;
            }
            if self.launches_first() {
                for id in &old {
                    if let Err(e) = self.terminate(id).await {
                        return Outcome::Broken(e);
                    }
                    self.capacity -= 1;
                }
            }
            self.in_flight.clear();
            pending.retain(|id| !old.contains(id));
        }
    }

    /// Starts a batch: launches as many instances of `target` as `old` holds (after terminating
    /// `old` when batches terminate first).
    async fn launch(&mut self, target: &Template, old: &[String]) -> Result<(), String> {
        if !self.launches_first() {
            for id in old {
                self.terminate(id).await?;
                self.capacity -= 1;
            }
        }
        self.capacity += old.len() as u32;
        let forwarder = self.forwarder()?;
        point(&forwarder, &self.plan.group, target, Some(self.plan.max.max(self.capacity)), Some(self.capacity))
            .await
            .map(drop)
    }

    /// Waits until every instance of `new` is in service, healthy and warmed up; or for an alarm,
    /// the give-up time or a changed status to stop the refresh.
    async fn wait_ready(&mut self, new: &[String], phase: Phase) -> Outcome {
        let launched = Instant::now();
        let mut healthy_since: HashMap<String, Instant> = HashMap::new();
        loop {
            tokio::time::sleep(self.timing.poll).await;
            if let Some(changed) = self.interrupted(phase) {
                return Outcome::Interrupted(changed);
            }
            let checked = self.check(new, phase).await;
            let now = Instant::now();
            match checked {
                Err(outcome) => return outcome,
                Ok(healthy) => {
                    for id in new {
                        if healthy.contains(id) {
                            healthy_since.entry(id.clone()).or_insert(now);
                        } else {
                            healthy_since.remove(id);
                        }
                    }
                }
            }
            let warm = |id: &String| healthy_since.get(id).is_some_and(|since| now - *since >= self.plan.warmup);
            if new.iter().all(warm) {
                return Outcome::Done;
            }
            if now - launched >= self.timing.give_up {
                return Outcome::Stopped(format!(
                    "The instance refresh failed because new instances did not become healthy within {} seconds.",
                    self.timing.give_up.as_secs_f64()
                ));
            }
        }
    }

    /// Which of `new` are in service and healthy in every target group of the group now; or the
    /// outcome that ends the wait (moto failed, an alarm went off).
    async fn check(&mut self, new: &[String], phase: Phase) -> Result<HashSet<String>, Outcome> {
        let forwarder = self.forwarder().map_err(Outcome::Broken)?;
        let group = self.group().await.map_err(Outcome::Broken)?;
        let mut healthy: HashSet<String> = group
            .instances
            .iter()
            .filter(|i| i.lifecycle == "InService" && new.contains(&i.id))
            .map(|i| i.id.clone())
            .collect();
        for target_group in &group.target_groups {
            let params = [("Action", "DescribeTargetHealth"), ("TargetGroupArn", target_group.as_str())];
            let answer = forwarder.query("elasticloadbalancing", &params).await.map_err(Outcome::Broken)?;
            let health = reads::target_health(&answer);
            self.unhealthy.observe(target_group, &health, Instant::now().into_std());
            healthy.retain(|id| health.iter().any(|(target, state)| target == id && state == "healthy"));
        }
        let watching = phase == Phase::Forward && !self.plan.preferences.alarms.is_empty();
        if watching && let Some(reason) = self.alarm(&forwarder, &group).await.map_err(Outcome::Broken)? {
            return Err(Outcome::Stopped(reason));
        }
        Ok(healthy)
    }

    /// Why an alarm of the refresh stops it, if one does; an alarm the proxy found breaching is
    /// set to `ALARM` in moto first, so that DescribeAlarms shows it.
    async fn alarm(&mut self, forwarder: &Forwarder, group: &Group) -> Result<Option<String>, String> {
        let names: Vec<(String, &str)> = self
            .plan
            .preferences
            .alarms
            .iter()
            .enumerate()
            .map(|(i, name)| (format!("AlarmNames.member.{}", i + 1), name.as_str()))
            .collect();
        let mut params = vec![("Action", "DescribeAlarms")];
        params.extend(names.iter().map(|(key, name)| (key.as_str(), *name)));
        let answer = forwarder.query("monitoring", &params).await?;
        let now = Instant::now().into_std();
        for found in reads::alarms(&answer) {
            let Some(set) =
                alarm::verdict(&found, &group.target_groups, &self.unhealthy, self.timing.alarm_evaluation, now)
            else {
                continue;
            };
            if let Some(reason) = set {
                let params = [
                    ("Action", "SetAlarmState"),
                    ("AlarmName", found.name.as_str()),
                    ("StateValue", "ALARM"),
                    ("StateReason", reason.as_str()),
                ];
                forwarder.query("monitoring", &params).await?;
                self.fired.push(found.name.clone());
            }
            return Ok(Some(alarm::stop_reason(&found.name)));
        }
        Ok(None)
    }

    /// Terminates `id`, decrementing the group's desired capacity.
    async fn terminate(&self, id: &str) -> Result<(), String> {
        let forwarder = self.forwarder()?;
        let params = [
            ("Action", "TerminateInstanceInAutoScalingGroup"),
            ("InstanceId", id),
            ("ShouldDecrementDesiredCapacity", "true"),
        ];
        forwarder.query("autoscaling", &params).await.map(drop)
    }

    /// The group, as the proxy shows it.
    async fn group(&self) -> Result<Group, String> {
        let forwarder = self.forwarder()?;
        let params =
            [("Action", "DescribeAutoScalingGroups"), ("AutoScalingGroupNames.member.1", self.plan.group.as_str())];
        let answer = forwarder.query("autoscaling", &params).await?;
        reads::groups(&answer)
            .into_iter()
            .find(|g| g.name == self.plan.group)
            .ok_or_else(|| "the group is gone".to_string())
    }

    /// The status a call gave the refresh, if it takes it off `phase`.
    fn interrupted(&self, phase: Phase) -> Option<Status> {
        let status = self.forwarder.upgrade()?.refreshes.update(&self.plan.id, |r| r.status)?;
        let expected = match phase {
            Phase::Forward => [Status::Pending, Status::InProgress].contains(&status),
            Phase::Rollback => status == Status::RollbackInProgress,
        };
        (!expected).then_some(status)
    }

    /// Shows `pending` of `total` instances left to replace in `phase`.
    fn progress(&self, phase: Phase, pending: usize, total: usize) {
        self.update(|r| match phase {
            Phase::Forward => {
                r.percentage = ((total - pending) * 100 / total) as u32;
                r.to_update = pending as u32;
            }
            Phase::Rollback => {
                let from = r.rollback.as_ref().map_or(0, |rollback| rollback.percentage) as usize;
                r.percentage = (from * pending / total) as u32;
            }
        });
    }

    /// Changes the refresh's record.
    fn update(&self, change: impl FnOnce(&mut super::model::Refresh)) {
        if let Some(forwarder) = self.forwarder.upgrade() {
            forwarder.refreshes.update(&self.plan.id, change);
        }
    }

    /// The proxy, unless it is gone.
    fn forwarder(&self) -> Result<Arc<Forwarder>, String> {
        self.forwarder.upgrade().ok_or_else(|| "the proxy stopped".to_string())
    }
}
