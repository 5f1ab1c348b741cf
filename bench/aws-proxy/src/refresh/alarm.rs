//! CloudWatch alarms as an instance refresh watches them. moto stores alarms but never evaluates
//! them (it has no ELB metrics), so the proxy evaluates the one metric it knows the value of: an
//! `UnHealthyHostCount` alarm (namespace `AWS/ApplicationELB`) on one of the group's target groups
//! (its `TargetGroup` dimension, or all of the group's target groups without one) counts the
//! targets that have been `unhealthy`, as the proxy answers DescribeTargetHealth, for a whole
//! evaluation window, and compares that count with its threshold. The window stands for the
//! alarm's `Period` × `EvaluationPeriods`; it is the proxy's (see `Strict::alarm_evaluation`), not
//! the alarm's, so that tests stay fast. Any alarm already in `ALARM` (set by a test with
//! SetAlarmState, say) stops the refresh too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::reads::Alarm;

/// The metric the proxy can evaluate.
const UNHEALTHY_HOSTS: (&str, &str) = ("AWS/ApplicationELB", "UnHealthyHostCount");

/// Since when each target has been `unhealthy`, per (target group ARN, instance id).
#[derive(Debug, Default)]
pub(crate) struct Unhealthy {
    since: HashMap<(String, String), Instant>,
}

impl Unhealthy {
    /// Learns the `health` of target group `target_group`'s targets (instance id, state) at `now`.
    pub(crate) fn observe(&mut self, target_group: &str, health: &[(String, String)], now: Instant) {
        self.since
            .retain(|(group, id), _| group != target_group || health.iter().any(|(i, s)| i == id && s == "unhealthy"));
        for (id, _) in health.iter().filter(|(_, state)| state == "unhealthy") {
            self.since.entry((target_group.to_string(), id.clone())).or_insert(now);
        }
    }

    /// How many targets of `target_group` have been unhealthy for at least `window` at `now`.
    fn count(&self, target_group: &str, window: Duration, now: Instant) -> usize {
        self.since
            .iter()
            .filter(|((group, _), since)| group == target_group && now.saturating_duration_since(**since) >= window)
            .count()
    }
}

/// Why `alarm` stops the refresh now, if it does, and whether the proxy must set it to `ALARM`
/// (with the state reason given) because it evaluated it so.
pub(crate) fn verdict(
    alarm: &Alarm,
    target_groups: &[String],
    unhealthy: &Unhealthy,
    window: Duration,
    now: Instant,
) -> Option<Option<String>> {
    if alarm.state == "ALARM" {
        return Some(None);
    }
    if (alarm.namespace.as_str(), alarm.metric.as_str()) != UNHEALTHY_HOSTS {
        return None;
    }
    let dimension = alarm.dimensions.iter().find(|(name, _)| name == "TargetGroup").map(|(_, v)| v.as_str());
    let watched = target_groups.iter().filter(|arn| dimension.is_none_or(|d| arn.rsplit(':').next() == Some(d)));
    let count = watched.map(|arn| unhealthy.count(arn, window, now)).max()? as f64;
    let (breaches, words) = match alarm.comparison.as_str() {
        "GreaterThanOrEqualToThreshold" => (count >= alarm.threshold, "greater than or equal to"),
        "LessThanThreshold" => (count < alarm.threshold, "less than"),
        "LessThanOrEqualToThreshold" => (count <= alarm.threshold, "less than or equal to"),
        _ => (count > alarm.threshold, "greater than"),
    };
    breaches.then(|| {
        Some(format!("Threshold Crossed: 1 datapoint [{count:.1}] was {words} the threshold ({:.1}).", alarm.threshold))
    })
}

/// The state reason of an alarm the proxy fired once its metric is back: no target unhealthy.
/// (CloudWatch's wording for a recovered threshold alarm; the proxy's numbers.)
pub(crate) const RECOVERED: &str =
    "Threshold Crossed: 1 datapoint [0.0] was not greater than or equal to the threshold (1.0).";

/// The `StatusReason` (and `RollbackReason`) of a refresh stopped by `alarm`. AWS does not
/// document the wording; this one names the alarm and its state.
pub(crate) fn stop_reason(alarm: &str) -> String {
    format!("The instance refresh was stopped because CloudWatch alarm {alarm} is in ALARM state.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1";

    fn alarm(state: &str, metric: &str, dimension: Option<&str>) -> Alarm {
        Alarm {
            name: "a".into(),
            state: state.into(),
            metric: metric.into(),
            namespace: "AWS/ApplicationELB".into(),
            dimensions: dimension.map(|d| ("TargetGroup".to_string(), d.to_string())).into_iter().collect(),
            threshold: 0.0,
            comparison: "GreaterThanThreshold".into(),
        }
    }

    #[test]
    fn unhealthy_host_alarms_fire_once_a_target_was_unhealthy_for_the_whole_window() {
        let start = Instant::now();
        let window = Duration::from_secs(2);
        let mut unhealthy = Unhealthy::default();
        let watching = alarm("OK", "UnHealthyHostCount", Some("targetgroup/tg/1"));
        let groups = [TG.to_string()];
        unhealthy.observe(TG, &[("i-1".into(), "healthy".into()), ("i-2".into(), "unhealthy".into())], start);
        assert_eq!(verdict(&watching, &groups, &unhealthy, window, start + Duration::from_secs(1)), None);
        let fired = verdict(&watching, &groups, &unhealthy, window, start + window).unwrap().unwrap();
        assert!(fired.contains("[1.0] was greater than the threshold (0.0)"), "{fired}");
        unhealthy.observe(TG, &[("i-2".into(), "healthy".into())], start + window);
        assert_eq!(verdict(&watching, &groups, &unhealthy, window, start + window * 3), None, "recovered");
        let elsewhere = alarm("OK", "UnHealthyHostCount", Some("targetgroup/other/2"));
        unhealthy.observe(TG, &[("i-2".into(), "unhealthy".into())], start);
        assert_eq!(verdict(&elsewhere, &groups, &unhealthy, window, start + window * 3), None);
    }

    #[test]
    fn alarms_in_alarm_stop_the_refresh_whatever_they_watch() {
        let now = Instant::now();
        let errors = alarm("ALARM", "HTTPCode_Target_5XX_Count", None);
        assert_eq!(verdict(&errors, &[], &Unhealthy::default(), Duration::ZERO, now), Some(None));
        let quiet = alarm("OK", "HTTPCode_Target_5XX_Count", None);
        assert_eq!(verdict(&quiet, &[TG.into()], &Unhealthy::default(), Duration::ZERO, now), None);
        assert!(stop_reason("a").contains("alarm a"));
    }
}
