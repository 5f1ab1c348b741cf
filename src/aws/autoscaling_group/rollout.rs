//! Rolling a launch-template version out to the group's instances: an instance refresh
//! (EC2 Auto Scaling User Guide, "Use an instance refresh to update instances").
//!
//! The refresh names the version as its desired configuration, so that AWS points the group
//! at it only once the refresh succeeds and can roll back to the previous one; new
//! instances launch and pass their health checks before old ones go (minimum healthy 100 %,
//! maximum 200 %: no capacity dip); instances already on the version are skipped; the
//! stack's deploy alarms stop and roll back a version that fails. One refresh runs at a time
//! per group: one already running for this version is followed, not started again — after
//! a `cloudcomp up` was cut off, for instance.

use std::time::{Duration, Instant};

use aws_sdk_autoscaling::types::{
    AlarmSpecification, DesiredConfiguration, InstanceRefresh, InstanceRefreshStatus, LaunchTemplateSpecification,
    RefreshPreferences, RefreshStrategy,
};
use aws_sdk_cloudwatch::types::StateValue;

use crate::aws::{Cx, Refused};

/// A launch-template version to roll out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout<'a> {
    /// The Auto Scaling group.
    pub group: &'a str,
    /// The launch template.
    pub template_id: &'a str,
    /// Its version, a number.
    pub version: &'a str,
    /// Seconds a new instance has before its health counts (the group's health grace).
    pub warmup: u32,
    /// Alarms that stop the refresh and roll it back.
    pub alarms: &'a [String],
}

/// One instance refresh as DescribeInstanceRefreshes gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refresh {
    /// Its id.
    pub id: String,
    /// `Pending`, `InProgress`, `Successful`, `RollbackSuccessful`, …
    pub status: InstanceRefreshStatus,
    /// AWS's reason for the status, if it gives one.
    pub reason: Option<String>,
    /// How far it is, 0–100.
    pub percentage: i32,
    /// Instances still to replace.
    pub instances_left: i32,
    /// The launch template and version it rolls out, if it names one.
    pub target: Option<(String, String)>,
    /// Why it rolled back, once it does.
    pub rollback_reason: Option<String>,
}

impl Refresh {
    fn of(refresh: &InstanceRefresh) -> Refresh {
        let target = refresh
            .desired_configuration()
            .and_then(|d| d.launch_template())
            .and_then(|t| Some((t.launch_template_id()?.to_string(), t.version()?.to_string())));
        Refresh {
            id: refresh.instance_refresh_id().unwrap_or_default().to_string(),
            status: refresh.status().cloned().unwrap_or(InstanceRefreshStatus::Pending),
            reason: refresh.status_reason().filter(|r| !r.is_empty()).map(str::to_string),
            percentage: refresh.percentage_complete().unwrap_or_default(),
            instances_left: refresh.instances_to_update().unwrap_or_default(),
            target,
            rollback_reason: refresh.rollback_details().and_then(|d| d.rollback_reason()).map(str::to_string),
        }
    }

    /// Whether it still runs (and blocks another from starting).
    pub fn is_active(&self) -> bool {
        use InstanceRefreshStatus as S;
        matches!(self.status, S::Pending | S::InProgress | S::Cancelling | S::RollbackInProgress | S::Baking)
    }

    /// Whether it rolls out `template_id` at `version` and can still get there.
    fn is_rolling_out(&self, template_id: &str, version: &str) -> bool {
        use InstanceRefreshStatus as S;
        let heading = matches!(self.status, S::Pending | S::InProgress | S::Baking);
        heading && self.target.as_ref().is_some_and(|(id, v)| id == template_id && v == version)
    }

    /// One line: status, percentage, instances left, AWS's reason.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "instance refresh {}: {} {}%, {} instance{} to update",
            short(&self.id),
            self.status.as_str(),
            self.percentage,
            self.instances_left,
            if self.instances_left == 1 { "" } else { "s" }
        );
        if let Some(reason) = self.rollback_reason.as_ref().or(self.reason.as_ref()) {
            line.push_str(&format!(" ({reason})"));
        }
        line
    }

    /// Ok once it succeeded; the error AWS gives for any other end.
    fn outcome(&self) -> anyhow::Result<()> {
        use InstanceRefreshStatus as S;
        let why = self.rollback_reason.as_ref().or(self.reason.as_ref()).map_or(String::new(), |r| format!(": {r}"));
        match self.status {
            S::Successful => Ok(()),
            S::RollbackSuccessful => anyhow::bail!(
                "the new version was rolled back (instance refresh {} {}){why}; the instances run the previous version",
                self.id,
                self.status.as_str()
            ),
            _ => anyhow::bail!("instance refresh {} ended {}{why}", self.id, self.status.as_str()),
        }
    }
}

/// The first 8 characters of an id.
fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The group's refreshes, newest first (DescribeInstanceRefreshes' order).
pub async fn refreshes(cx: &Cx, group: &str) -> anyhow::Result<Vec<Refresh>> {
    let found = cx.autoscaling.describe_instance_refreshes().auto_scaling_group_name(group).send().await.refused()?;
    Ok(found.instance_refreshes().iter().map(Refresh::of).collect())
}

/// The refresh running on the group, if one is.
pub async fn active(cx: &Cx, group: &str) -> anyhow::Result<Option<Refresh>> {
    Ok(refreshes(cx, group).await?.into_iter().find(Refresh::is_active))
}

/// The group's launch template and version, and whether every instance runs them.
async fn current(cx: &Cx, group: &str) -> anyhow::Result<Option<((String, String), bool)>> {
    let found = cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(group).send().await.refused()?;
    let Some(group) = found.auto_scaling_groups().first() else { return Ok(None) };
    let spec = |t: Option<&LaunchTemplateSpecification>| {
        t.map(|t| (t.launch_template_id().unwrap_or_default().to_string(), t.version().unwrap_or_default().to_string()))
    };
    let Some(config) = spec(group.launch_template()) else { return Ok(None) };
    let all_on_it = group.instances().iter().all(|i| spec(i.launch_template()).as_ref() == Some(&config));
    Ok(Some((config, all_on_it)))
}

/// The launch-template version the group is on, if it exists.
pub async fn running_version(cx: &Cx, group: &str) -> anyhow::Result<Option<String>> {
    Ok(current(cx, group).await?.map(|((_, version), _)| version))
}

/// How long a rollout waits for a deploy alarm in `ALARM` to recover before it starts
/// without it.
const ALARM_RECOVERY: Duration = Duration::from_secs(150);

/// The alarms to guard a rollout with. One in `ALARM` (a rollback that just ended leaves its
/// alarm there for a period or two) would stop the refresh at once, so it is waited for, up
/// to [`ALARM_RECOVERY`]; one still in `ALARM` then speaks of the running version, not of
/// the new one, and the rollout goes without it (and says so).
async fn guards(cx: &Cx, alarms: &[String], say: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    let mut said = false;
    while !alarms.is_empty() {
        let found = cx.cloudwatch.describe_alarms().set_alarm_names(Some(alarms.to_vec())).send().await.refused()?;
        let firing: Vec<&str> = found
            .metric_alarms()
            .iter()
            .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            .filter_map(|a| a.alarm_name())
            .collect();
        if firing.is_empty() {
            break;
        }
        if started.elapsed() >= ALARM_RECOVERY {
            say(&format!("rolling out without {}: still in ALARM, it judges the running version", firing.join(", ")));
            return Ok(alarms.iter().filter(|a| !firing.contains(&a.as_str())).cloned().collect());
        }
        if !said {
            say(&format!("deploy alarm {} in ALARM: waiting for it to recover before rolling out", firing.join(", ")));
            said = true;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
    Ok(alarms.to_vec())
}

/// Starts the refresh of `rollout`, guarded by `alarms`.
async fn start(cx: &Cx, rollout: &Rollout<'_>, alarms: Vec<String>) -> anyhow::Result<String> {
    let template =
        LaunchTemplateSpecification::builder().launch_template_id(rollout.template_id).version(rollout.version).build();
    let mut preferences = RefreshPreferences::builder()
        .min_healthy_percentage(100)
        .max_healthy_percentage(200)
        .instance_warmup(i32::try_from(rollout.warmup)?)
        .skip_matching(true)
        .auto_rollback(true);
    if !alarms.is_empty() {
        let alarms = AlarmSpecification::builder().set_alarms(Some(alarms)).build();
        preferences = preferences.alarm_specification(alarms);
    }
    let started = cx
        .autoscaling
        .start_instance_refresh()
        .auto_scaling_group_name(rollout.group)
        .strategy(RefreshStrategy::Rolling)
        .desired_configuration(DesiredConfiguration::builder().launch_template(template).build())
        .preferences(preferences.build())
        .send()
        .await
        .refused()?;
    Ok(started.instance_refresh_id().unwrap_or_default().to_string())
}

/// Brings the group's instances to `rollout`'s version, unless the group and every instance
/// are on it already: follows the refresh already rolling it out, or stops one rolling out
/// something else (a newer `up` supersedes it) and waits for a rollback to end, then starts
/// one. With `follow`, waits until the refresh ends (at most `timeout`),
/// saying how far it is to `say`, and fails when it did not succeed; without, returns once
/// it runs.
pub async fn roll_out(
    cx: &Cx,
    rollout: &Rollout<'_>,
    follow: Option<Duration>,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let wanted = (rollout.template_id.to_string(), rollout.version.to_string());
    let id = loop {
        // The group's version moves only when a refresh succeeds: a group and instances on
        // the version are done (and no refresh is looked for, as after a scaling change).
        if current(cx, rollout.group).await? == Some((wanted.clone(), true)) {
            return Ok(());
        }
        if let Some(running) = active(cx, rollout.group).await? {
            if running.is_rolling_out(rollout.template_id, rollout.version) {
                break running.id;
            }
            if matches!(running.status, InstanceRefreshStatus::Pending | InstanceRefreshStatus::InProgress) {
                cx.autoscaling
                    .cancel_instance_refresh()
                    .auto_scaling_group_name(rollout.group)
                    .send()
                    .await
                    .refused()?;
            }
            // Cancelling, rolling back or baking: it ends by itself.
            wait_until_ended(cx, rollout.group, &running.id, follow.unwrap_or(DEFAULT_PATIENCE), say).await?;
            continue;
        }
        match start(cx, rollout, guards(cx, rollout.alarms, say).await?).await {
            Ok(id) => break id,
            // Started meanwhile (by another run): look again.
            Err(error) if error.downcast_ref::<crate::aws::Refusal>().is_some_and(|r| r.is(&[IN_PROGRESS])) => {}
            Err(error) => return Err(error),
        }
    };
    match follow {
        Some(timeout) => wait_until_ended(cx, rollout.group, &id, timeout, say).await?.outcome(),
        None => Ok(()),
    }
}

/// How long a run waits for someone else's refresh to end when it is not told.
const DEFAULT_PATIENCE: Duration = Duration::from_secs(30 * 60);

/// AWS's code for a refresh refused because another is running.
const IN_PROGRESS: &str = "InstanceRefreshInProgress";

/// Polls the refresh `id` until it ends, saying how far it is to `say` whenever that
/// changes; gives up after `timeout` (the refresh goes on at AWS).
pub async fn wait_until_ended(
    cx: &Cx,
    group: &str,
    id: &str,
    timeout: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Refresh> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    let mut said = String::new();
    loop {
        let found = cx
            .autoscaling
            .describe_instance_refreshes()
            .auto_scaling_group_name(group)
            .instance_refresh_ids(id)
            .send()
            .await
            .refused()?;
        let refresh = found
            .instance_refreshes()
            .first()
            .map(Refresh::of)
            .ok_or_else(|| anyhow::anyhow!("instance refresh {id} of {group} is not listed"))?;
        if !refresh.is_active() {
            return Ok(refresh);
        }
        let line = refresh.summary();
        if line != said {
            say(&line);
            said = line;
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "{said} after {}s; it goes on at AWS, and the next `cloudcomp up` follows it",
            timeout.as_secs()
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(status: InstanceRefreshStatus) -> Refresh {
        Refresh {
            id: "0123456789abcdef".into(),
            status,
            reason: Some("Waiting for instances to warm up.".into()),
            percentage: 50,
            instances_left: 1,
            target: Some(("lt-1".into(), "3".into())),
            rollback_reason: None,
        }
    }

    #[test]
    fn a_refresh_is_followed_only_while_it_heads_for_that_version() {
        assert!(refresh(InstanceRefreshStatus::InProgress).is_rolling_out("lt-1", "3"));
        assert!(!refresh(InstanceRefreshStatus::InProgress).is_rolling_out("lt-1", "4"));
        assert!(!refresh(InstanceRefreshStatus::RollbackInProgress).is_rolling_out("lt-1", "3"));
        assert!(refresh(InstanceRefreshStatus::RollbackInProgress).is_active());
        assert!(!refresh(InstanceRefreshStatus::RollbackSuccessful).is_active());
    }

    #[test]
    fn only_success_is_ok_and_a_rollback_says_why() {
        assert!(refresh(InstanceRefreshStatus::Successful).outcome().is_ok());
        let rolled_back = Refresh {
            rollback_reason: Some("alarm demo-deploy-unhealthy-hosts in ALARM".into()),
            ..refresh(InstanceRefreshStatus::RollbackSuccessful)
        };
        let error = rolled_back.outcome().unwrap_err().to_string();
        assert!(error.contains("rolled back") && error.contains("demo-deploy-unhealthy-hosts"), "{error}");
        let failed = refresh(InstanceRefreshStatus::Failed).outcome().unwrap_err().to_string();
        assert!(failed.contains("Failed") && failed.contains("warm up"), "{failed}");
    }

    #[test]
    fn the_summary_is_one_line_with_the_progress() {
        assert_eq!(
            refresh(InstanceRefreshStatus::InProgress).summary(),
            "instance refresh 01234567: InProgress 50%, 1 instance to update (Waiting for instances to warm up.)"
        );
    }
}
