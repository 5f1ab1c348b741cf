//! Waiting until the service answers: the Auto Scaling group has its desired instances
//! `InService` and the target group as many `healthy` targets. On AWS that takes minutes
//! (an instance boots, installs Docker, pulls the image, starts the app, then passes the
//! load balancer's health checks); `up` prints the URL only after it.

use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::types::ScalingActivityStatusCode;

use super::{Cx, Refused};

/// The first pause between looks; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// The longest pause between looks.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// What one look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    /// Instances the group wants.
    pub desired: usize,
    /// Its instances that are `InService`.
    pub in_service: usize,
    /// Targets the load balancer finds healthy.
    pub healthy: usize,
    /// Each target that is not healthy: `i-0ab… initial (Target registration is in progress)`.
    pub not_healthy: Vec<String>,
}

impl Serving {
    /// Whether every wanted instance serves.
    pub fn is_up(&self) -> bool {
        self.in_service >= self.desired && self.healthy >= self.desired
    }

    /// One line for the progress display.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{}/{} instances in service, {}/{} targets healthy",
            self.in_service.min(self.desired),
            self.desired,
            self.healthy.min(self.desired),
            self.desired
        );
        if let Some(first) = self.not_healthy.first() {
            line.push_str(&format!(", {first}"));
            if self.not_healthy.len() > 1 {
                line.push_str(&format!(" (+{} more)", self.not_healthy.len() - 1));
            }
        }
        line
    }
}

/// Looks once at the group `group` and the target group `target_group_arn`.
async fn look(cx: &Cx, group: &str, target_group_arn: &str) -> anyhow::Result<Serving> {
    let found = cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(group).send().await.refused()?;
    let asg = found
        .auto_scaling_groups()
        .first()
        .ok_or_else(|| anyhow::anyhow!("Auto Scaling group {group} does not exist"))?;
    let in_service = asg.instances().iter().filter(|i| i.lifecycle_state().is_some_and(|s| s.as_str() == "InService"));
    let health = cx.elb.describe_target_health().target_group_arn(target_group_arn).send().await.refused()?;
    let mut healthy = 0;
    let mut not_healthy = Vec::new();
    for target in health.target_health_descriptions() {
        let id = target.target().and_then(|t| t.id()).unwrap_or_default();
        let state = target.target_health().and_then(|h| h.state()).map_or("unknown", |s| s.as_str());
        if state == "healthy" {
            healthy += 1;
        } else {
            let reason = target.target_health().and_then(|h| h.description());
            not_healthy.push(match reason {
                Some(reason) => format!("{id} {state} ({reason})"),
                None => format!("{id} {state}"),
            });
        }
    }
    Ok(Serving {
        desired: usize::try_from(asg.desired_capacity().unwrap_or_default()).unwrap_or_default(),
        in_service: in_service.count(),
        healthy,
        not_healthy,
    })
}

/// Why the group failed to launch since `since`: the newest failed or cancelled scaling
/// activity's status message, if any.
async fn launch_failure(cx: &Cx, group: &str, since: SystemTime) -> anyhow::Result<Option<String>> {
    let since = since.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let found = cx.autoscaling.describe_scaling_activities().auto_scaling_group_name(group).send().await.refused()?;
    let failed = found.activities().iter().find(|a| {
        matches!(a.status_code(), Some(ScalingActivityStatusCode::Failed | ScalingActivityStatusCode::Cancelled))
            && a.start_time().is_some_and(|t| t.secs() >= since)
    });
    Ok(failed.map(|a| {
        let message = a.status_message().unwrap_or_else(|| a.description().unwrap_or("no reason given"));
        format!("{} ({message})", a.description().unwrap_or("a scaling activity failed"))
    }))
}

/// Waits until the service is up (see the module docs), telling `progress` what it waits
/// for whenever that changes. Fails with AWS's reason when a launch fails since `since`,
/// or when `timeout` passes first.
pub async fn until_serving(
    cx: &Cx,
    group: &str,
    target_group_arn: &str,
    since: SystemTime,
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Serving> {
    let started = tokio::time::Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut said = String::new();
    loop {
        let serving = look(cx, group, target_group_arn).await?;
        if serving.is_up() {
            return Ok(serving);
        }
        if let Some(failure) = launch_failure(cx, group, since).await? {
            anyhow::bail!("instances of {group} failed to launch: {failure}; {}", serving.summary());
        }
        let summary = serving.summary();
        if summary != said {
            progress(&summary);
            said = summary;
        }
        if started.elapsed() >= timeout {
            anyhow::bail!(
                "the service was not up after {}: {said} (raise --wait-timeout, or look at the instances' console \
                 output: the boot installs Docker and pulls the image)",
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_is_missing() {
        let serving = Serving {
            desired: 2,
            in_service: 2,
            healthy: 1,
            not_healthy: vec!["i-0ab initial (Target registration is in progress)".into()],
        };
        assert!(!serving.is_up());
        assert_eq!(
            serving.summary(),
            "2/2 instances in service, 1/2 targets healthy, i-0ab initial (Target registration is in progress)"
        );
        assert!(Serving { healthy: 2, not_healthy: vec![], ..serving }.is_up());
    }
}
