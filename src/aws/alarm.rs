//! `alarm`: a CloudWatch alarm on a load-balancer metric: the request count, whose action is
//! a scaling policy, or a deploy guard (unhealthy hosts, 5xx answers) that stops and rolls
//! back an instance refresh and has no action of its own.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::tags::{TagChange, Tags};
use super::{Applied, Attributes, Cx, Hint, Live, Refused, Stored, TypedKind, gone_is_fine, note_created, tags};

/// The `alarm` kind.
pub struct Alarm;

/// An `alarm`'s attributes; `R` is how the load balancer and the policy are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmAttrs<R = String> {
    /// Its name, unique in the region.
    pub name: String,
    /// The metric's namespace (`AWS/ApplicationELB`).
    pub namespace: String,
    /// The metric (`RequestCount`).
    pub metric: String,
    /// How a period's data points combine (`Sum`).
    pub statistic: String,
    /// Whose metric: the load balancer's (`LoadBalancer`), a target group's (`TargetGroup`);
    /// given as an ARN, the value is the part CloudWatch names it by.
    pub dimensions: BTreeMap<String, R>,
    /// How the statistic compares with the threshold (`GreaterThanThreshold`, …).
    pub comparison: String,
    /// The metric's limit per period.
    pub threshold: u32,
    /// Seconds per period.
    pub period_seconds: u32,
    /// Periods in a row before it fires.
    pub evaluation_periods: u32,
    /// What a period without data counts as (`breaching`, `notBreaching`).
    pub treat_missing_data: String,
    /// The scaling policies it runs (none for a deploy guard).
    pub alarm_actions: Vec<R>,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for AlarmAttrs<R> {
    const KIND: &'static str = "alarm";
    const UPDATABLE: &'static [&'static str] = &[
        "namespace",
        "metric",
        "statistic",
        "dimensions",
        "comparison",
        "threshold",
        "period_seconds",
        "evaluation_periods",
        "treat_missing_data",
        "alarm_actions",
        "tags",
    ];
}

async fn put(cx: &Cx, address: &str, attrs: &AlarmAttrs) -> anyhow::Result<Applied> {
    let name = &attrs.name;
    let dimensions =
        attrs.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(dimension_value(v)).build());
    let tags = tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
    cx.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace(&attrs.namespace)
        .metric_name(&attrs.metric)
        .statistic(Statistic::from(attrs.statistic.as_str()))
        .set_dimensions(Some(dimensions.collect()))
        .comparison_operator(ComparisonOperator::from(attrs.comparison.as_str()))
        .threshold(f64::from(attrs.threshold))
        .period(i32::try_from(attrs.period_seconds)?)
        .evaluation_periods(i32::try_from(attrs.evaluation_periods)?)
        .treat_missing_data(&attrs.treat_missing_data)
        .set_alarm_actions(Some(attrs.alarm_actions.clone()))
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .refused()?;
    note_created(name);
    Ok(existing(cx, name).await?.unwrap_or_else(|| Applied::with_id(name)))
}

/// How CloudWatch names an Elastic Load Balancing resource in a dimension: by the end of its
/// ARN (`app/demo-alb/50dc…`, `targetgroup/demo-app/6d0e…`). Other values are kept.
fn dimension_value(value: &str) -> &str {
    match value.strip_prefix("arn:") {
        Some(arn) => ["loadbalancer/", "targetgroup/"]
            .iter()
            .find_map(|kind| arn.find(kind).map(|at| &arn[at..]))
            .map_or(value, |suffix| suffix.strip_prefix("loadbalancer/").unwrap_or(suffix)),
        None => value,
    }
}

/// The alarm called `name`, as `create` returns it.
async fn existing(cx: &Cx, name: &str) -> anyhow::Result<Option<Applied>> {
    let found = cx.cloudwatch.describe_alarms().alarm_names(name).send().await.refused()?;
    let arn = found.metric_alarms().first().map(|a| a.alarm_arn().unwrap_or_default());
    Ok(arn.map(|arn| Applied::with_id(name).output("arn", arn)))
}

#[async_trait]
impl TypedKind for Alarm {
    type Attrs = AlarmAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &AlarmAttrs) -> anyhow::Result<Applied> {
        put(cx, address, attrs).await
    }

    async fn adopt(&self, cx: &Cx, _: &str, attrs: &AlarmAttrs, _: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        existing(cx, &attrs.name).await
    }

    async fn update(
        &self,
        cx: &Cx,
        address: &str,
        _id: &str,
        before: &AlarmAttrs,
        after: &AlarmAttrs,
    ) -> anyhow::Result<Applied> {
        let applied = put(cx, address, after).await?;
        // PutMetricAlarm applies tags only when it creates the alarm.
        if let (Some(change), Some(arn)) = (TagChange::between(&before.tags, &after.tags), applied.outputs.get("arn")) {
            let arn = arn.as_str().unwrap_or_default();
            if !change.removed.is_empty() {
                let untag = cx.cloudwatch.untag_resource().resource_arn(arn);
                untag.set_tag_keys(Some(change.removed)).send().await.refused()?;
            }
            let set = change.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
            cx.cloudwatch.tag_resource().resource_arn(arn).set_tags(Some(set.collect())).send().await.refused()?;
        }
        Ok(applied)
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, AlarmAttrs>) -> anyhow::Result<Option<Live>> {
        let found = cx.cloudwatch.describe_alarms().alarm_names(id).send().await.refused()?;
        let Some(alarm) = found.metric_alarms().first() else { return Ok(None) };
        let tags = cx
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(alarm.alarm_arn().unwrap_or_default())
            .send()
            .await
            .refused()?;
        let threshold = alarm.threshold().unwrap_or_default();
        // Whole thresholds are written as integers, so read them back as integers.
        let threshold = if threshold.fract() == 0.0 { json!(threshold as i64) } else { json!(threshold) };
        Ok(Some(
            Live::tagged(tags.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())))
                .attr("threshold", threshold)
                .attr("comparison", alarm.comparison_operator().map(|c| c.as_str()).unwrap_or_default())
                .attr("period_seconds", alarm.period().unwrap_or_default())
                .attr("evaluation_periods", alarm.evaluation_periods().unwrap_or_default())
                .detail("state", alarm.state_value().map(|s| s.as_str()).unwrap_or_default())
                .detail("reason", alarm.state_reason().unwrap_or_default()),
        ))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, AlarmAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.cloudwatch.delete_alarms().alarm_names(id).send().await)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn load_balancer_resources_are_named_as_cloudwatch_names_them() {
        let balancer = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188";
        assert_eq!(super::dimension_value(balancer), "app/demo-alb/50dc6c495c0c9188");
        let group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-app/6d0ecf831eec9f09";
        assert_eq!(super::dimension_value(group), "targetgroup/demo-app/6d0ecf831eec9f09");
        assert_eq!(super::dimension_value("app/demo-alb/50dc6c495c0c9188"), "app/demo-alb/50dc6c495c0c9188");
    }
}
