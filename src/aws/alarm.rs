//! `alarm`: a CloudWatch alarm on the load balancer's request count whose action is a
//! scaling policy.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use serde_json::{Value, json};

use super::tags::TagChange;
use super::{Applied, Attrs, Cx, Hint, Kind, Live, Refused, gone_is_fine, note_created, tags, text};

/// The `alarm` kind.
pub struct Alarm;

fn number(attrs: &Attrs, name: &str) -> anyhow::Result<i64> {
    attrs.get(name).and_then(Value::as_i64).ok_or_else(|| anyhow::anyhow!("attribute `{name}` is not a number"))
}

async fn put(cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
    let name = text(attrs, "name")?;
    let dimensions = attrs
        .get("dimensions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| Dimension::builder().name(k).value(v.as_str().unwrap_or_default()).build());
    let actions = attrs.get("alarm_actions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    let tags = tags::pairs(attrs, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
    cx.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace(text(attrs, "namespace")?)
        .metric_name(text(attrs, "metric")?)
        .statistic(Statistic::from(text(attrs, "statistic")?))
        .set_dimensions(Some(dimensions.collect()))
        .comparison_operator(ComparisonOperator::from(text(attrs, "comparison")?))
        .threshold(number(attrs, "threshold")? as f64)
        .period(i32::try_from(number(attrs, "period_seconds")?)?)
        .evaluation_periods(i32::try_from(number(attrs, "evaluation_periods")?)?)
        .treat_missing_data(text(attrs, "treat_missing_data")?)
        .set_alarm_actions(Some(actions.map(str::to_string).collect()))
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .refused()?;
    note_created(name);
    Ok(existing(cx, name).await?.unwrap_or_else(|| Applied::with_id(name)))
}

/// The alarm called `name`, as `create` returns it.
async fn existing(cx: &Cx, name: &str) -> anyhow::Result<Option<Applied>> {
    let found = cx.cloudwatch.describe_alarms().alarm_names(name).send().await.refused()?;
    let arn = found.metric_alarms().first().map(|a| a.alarm_arn().unwrap_or_default());
    Ok(arn.map(|arn| Applied::with_id(name).output("arn", arn)))
}

#[async_trait]
impl Kind for Alarm {
    fn name(&self) -> &'static str {
        "alarm"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &[
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
        ]
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        put(cx, address, attrs).await
    }

    async fn adopt(&self, cx: &Cx, _address: &str, attrs: &Attrs, _hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        existing(cx, text(attrs, "name")?).await
    }

    async fn update(
        &self,
        cx: &Cx,
        address: &str,
        _id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        let applied = put(cx, address, after).await?;
        // PutMetricAlarm applies tags only when it creates the alarm.
        if let (Some(change), Some(arn)) = (TagChange::between(before, after), applied.outputs.get("arn")) {
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

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
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

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        gone_is_fine(cx.cloudwatch.delete_alarms().alarm_names(id).send().await)
    }
}
