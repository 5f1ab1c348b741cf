//! What a refresh reads from the answers it gets: an Auto Scaling group, the health of a target
//! group's targets, CloudWatch alarms.

use roxmltree::{Document, Node};

use super::model::Template;
use crate::xml::{child, child_text};

/// An Auto Scaling group (a `member` of DescribeAutoScalingGroups).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// `AutoScalingGroupName`.
    pub(crate) name: String,
    /// The group-level `LaunchTemplate`, if any.
    pub(crate) template: Option<Template>,
    /// `MinSize`.
    pub(crate) min: u32,
    /// `MaxSize`.
    pub(crate) max: u32,
    /// `DesiredCapacity`.
    pub(crate) desired: u32,
    /// `HealthCheckGracePeriod`, in seconds.
    pub(crate) grace_period: u64,
    /// `TargetGroupARNs`.
    pub(crate) target_groups: Vec<String>,
    /// `Instances`.
    pub(crate) instances: Vec<Instance>,
}

/// An instance of a group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Instance {
    /// `InstanceId`.
    pub(crate) id: String,
    /// `LifecycleState`: `Pending`, `InService`, `Terminating`, …
    pub(crate) lifecycle: String,
    /// Its own `LaunchTemplate`, if any.
    pub(crate) template: Option<Template>,
}

/// A CloudWatch metric alarm (a `member` of DescribeAlarms' `MetricAlarms`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alarm {
    /// `AlarmName`.
    pub(crate) name: String,
    /// `StateValue`: `OK`, `ALARM`, `INSUFFICIENT_DATA`.
    pub(crate) state: String,
    /// `MetricName`.
    pub(crate) metric: String,
    /// `Namespace`.
    pub(crate) namespace: String,
    /// `Dimensions`, as (name, value).
    pub(crate) dimensions: Vec<(String, String)>,
    /// `Threshold`.
    pub(crate) threshold: f64,
    /// `ComparisonOperator`.
    pub(crate) comparison: String,
}

/// The groups of a DescribeAutoScalingGroups answer.
pub(crate) fn groups(answer: &str) -> Vec<Group> {
    let Ok(document) = Document::parse(answer) else { return Vec::new() };
    let Some(list) = document.descendants().find(|n| n.has_tag_name("AutoScalingGroups")) else { return Vec::new() };
    list.children().filter(|n| n.has_tag_name("member")).map(group).collect()
}

/// One `member` of `AutoScalingGroups`.
fn group(member: Node) -> Group {
    let number = |name: &str| child_text(member, name).and_then(|n| n.parse().ok()).unwrap_or_default();
    let list = |name: &str| -> Vec<Node> {
        child(member, name).map(|l| l.children().filter(|n| n.has_tag_name("member")).collect()).unwrap_or_default()
    };
    Group {
        name: child_text(member, "AutoScalingGroupName").unwrap_or_default().to_string(),
        template: child(member, "LaunchTemplate").map(template),
        min: number("MinSize"),
        max: number("MaxSize"),
        desired: number("DesiredCapacity"),
        grace_period: child_text(member, "HealthCheckGracePeriod").and_then(|n| n.parse().ok()).unwrap_or_default(),
        target_groups: list("TargetGroupARNs").iter().filter_map(|n| n.text()).map(str::to_string).collect(),
        instances: list("Instances")
            .into_iter()
            .map(|i| Instance {
                id: child_text(i, "InstanceId").unwrap_or_default().to_string(),
                lifecycle: child_text(i, "LifecycleState").unwrap_or_default().to_string(),
                template: child(i, "LaunchTemplate").map(template),
            })
            .collect(),
    }
}

/// A `LaunchTemplate` element.
fn template(node: Node) -> Template {
    Template {
        id: child_text(node, "LaunchTemplateId").unwrap_or_default().to_string(),
        name: child_text(node, "LaunchTemplateName").map(str::to_string),
        version: child_text(node, "Version").unwrap_or("$Default").to_string(),
    }
}

/// The targets of a DescribeTargetHealth answer, as (instance id, state).
pub(crate) fn target_health(answer: &str) -> Vec<(String, String)> {
    let Ok(document) = Document::parse(answer) else { return Vec::new() };
    document
        .descendants()
        .filter(|n| n.has_tag_name("member"))
        .filter_map(|m| {
            let id = child(m, "Target").and_then(|t| child_text(t, "Id"))?;
            let state = child(m, "TargetHealth").and_then(|h| child_text(h, "State"))?;
            Some((id.to_string(), state.to_string()))
        })
        .collect()
}

/// The metric alarms of a DescribeAlarms answer.
pub(crate) fn alarms(answer: &str) -> Vec<Alarm> {
    let Ok(document) = Document::parse(answer) else { return Vec::new() };
    let Some(list) = document.descendants().find(|n| n.has_tag_name("MetricAlarms")) else { return Vec::new() };
    list.children()
        .filter(|n| n.has_tag_name("member"))
        .map(|m| {
            let text = |name: &str| child_text(m, name).unwrap_or_default().to_string();
            let dimensions = child(m, "Dimensions")
                .map(|d| {
                    d.children()
                        .filter(|n| n.has_tag_name("member"))
                        .map(|d| {
                            (
                                child_text(d, "Name").unwrap_or_default().into(),
                                child_text(d, "Value").unwrap_or_default().into(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Alarm {
                name: text("AlarmName"),
                state: text("StateValue"),
                metric: text("MetricName"),
                namespace: text("Namespace"),
                dimensions,
                threshold: text("Threshold").parse().unwrap_or_default(),
                comparison: text("ComparisonOperator"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_read_from_motos_answer() {
        let [group] = groups(include_str!("../../testdata/DescribeAutoScalingGroups.xml")).try_into().unwrap();
        assert_eq!(group.name, "a");
        assert_eq!(group.template.as_ref().map(|t| t.version.as_str()), Some("$Latest"));
        assert_eq!((group.min, group.max, group.desired, group.grace_period), (1, 2, 2, 300));
        assert_eq!(
            group.target_groups,
            ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/512be335d92e0ab0"]
        );
        let instances: Vec<_> = group.instances.iter().map(|i| (i.id.as_str(), i.lifecycle.as_str())).collect();
        assert_eq!(instances, [("i-6417148a153caa3b1", "InService"), ("i-c83c7eb8caecb9b5c", "InService")]);
        assert_eq!(group.instances[0].template.as_ref().map(|t| t.version.as_str()), Some("1"));
    }

    #[test]
    fn target_health_is_read_per_instance() {
        let health = target_health(include_str!("../../testdata/DescribeTargetHealth.xml"));
        assert_eq!(
            health,
            [("i-c83c7eb8caecb9b5c".into(), "healthy".into()), ("i-6417148a153caa3b1".into(), "healthy".into())]
        );
    }

    #[test]
    fn alarms_are_read_with_their_metric_and_dimensions() {
        let answer = "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
            <DescribeAlarmsResult><CompositeAlarms/><MetricAlarms><member><AlarmName>u</AlarmName>\
            <StateValue>OK</StateValue><MetricName>UnHealthyHostCount</MetricName>\
            <Namespace>AWS/ApplicationELB</Namespace><Dimensions><member><Name>TargetGroup</Name>\
            <Value>targetgroup/tg/1</Value></member></Dimensions><Period>60</Period>\
            <Threshold>0.0</Threshold><ComparisonOperator>GreaterThanThreshold</ComparisonOperator>\
            </member></MetricAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>";
        let [alarm] = alarms(answer).try_into().unwrap();
        assert_eq!(alarm.name, "u");
        assert_eq!(alarm.state, "OK");
        assert_eq!(alarm.metric, "UnHealthyHostCount");
        assert_eq!(alarm.dimensions, [("TargetGroup".to_string(), "targetgroup/tg/1".to_string())]);
        assert_eq!((alarm.threshold, alarm.comparison.as_str()), (0.0, "GreaterThanThreshold"));
    }
}
