//! Failing new instances, for tests of what goes wrong in a deploy: after
//! [`Proxy::fail_new_instances(true)`](crate::Proxy::fail_new_instances), every instance that did
//! not exist when it was called answers DescribeTargetHealth as a target whose health checks fail,
//! the way the Elastic Load Balancing guide ("Target health status") describes it: state
//! `unhealthy`, reason `Target.FailedHealthChecks`, "Health checks failed". A target still
//! registering (`initial`, see strict mode's boot rule) stays `initial`: the checks fail once it
//! has registered. Turning it off makes every target answer as moto (and strict mode) say again.

use std::collections::HashSet;
use std::sync::Mutex;

use roxmltree::Document;

use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};

/// The health of a target whose health checks fail, as Elastic Load Balancing gives it.
const UNHEALTHY: &str = "<TargetHealth><State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>\
                         <Description>Health checks failed</Description></TargetHealth>";

/// Which instances fail their health checks.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<State>,
}

/// [`Health`]'s state.
#[derive(Debug, Default)]
struct State {
    /// Whether instances not in `existing` fail.
    failing: bool,
    /// The instances that existed when failing was turned on.
    existing: HashSet<String>,
}

impl Health {
    /// Makes every instance but `existing` fail its health checks (`on`), or none (`!on`).
    pub(crate) fn fail_new_instances(&self, on: bool, existing: impl IntoIterator<Item = String>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.failing = on;
        state.existing = if on { existing.into_iter().collect() } else { HashSet::new() };
    }

    /// moto's (or strict mode's) `answer` to `call` with the targets of failing instances
    /// `unhealthy` instead of `healthy`, if there are any.
    pub(crate) fn rewrite(&self, call: &AwsRequest, answer: &str) -> Option<String> {
        if !call.is(Service::Elb, "DescribeTargetHealth") {
            return None;
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.failing {
            return None;
        }
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        for member in document.descendants().filter(|n| n.has_tag_name("member")) {
            let Some(id) = xml::child(member, "Target").and_then(|t| xml::child_text(t, "Id")) else { continue };
            let health = xml::child(member, "TargetHealth").filter(|h| xml::child_text(*h, "State") == Some("healthy"));
            if let Some(health) = health.filter(|_| !state.existing.contains(id)) {
                edits.replace(health, UNHEALTHY.to_string());
            }
        }
        edits.apply(answer)
    }
}

/// The ids of the instances in an EC2 DescribeInstances answer.
pub(crate) fn instance_ids(answer: &str) -> Vec<String> {
    let Ok(document) = Document::parse(answer) else { return Vec::new() };
    document
        .descendants()
        .filter(|n| n.has_tag_name("instancesSet"))
        .flat_map(|set| set.children().filter(|n| n.has_tag_name("item")))
        .filter_map(|item| xml::child_text(item, "instanceId").map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const FIRST: &str = "i-c83c7eb8caecb9b5c";
    const SECOND: &str = "i-6417148a153caa3b1";

    fn states(answer: &str) -> Vec<(String, String, Option<String>)> {
        let document = Document::parse(answer).unwrap();
        document
            .descendants()
            .filter(|n| n.has_tag_name("member"))
            .map(|m| {
                let id = xml::child(m, "Target").and_then(|t| xml::child_text(t, "Id")).unwrap().to_string();
                let health = xml::child(m, "TargetHealth").unwrap();
                let state = xml::child_text(health, "State").unwrap().to_string();
                (id, state, xml::child_text(health, "Reason").map(str::to_string))
            })
            .collect()
    }

    #[test]
    fn only_instances_new_since_it_was_turned_on_fail_and_only_until_it_is_turned_off() {
        let health = Health::default();
        let call = query("elasticloadbalancing", &[("Action", "DescribeTargetHealth")]);
        let answer = include_str!("../testdata/DescribeTargetHealth.xml");
        assert_eq!(health.rewrite(&call, answer), None, "off by default");
        health.fail_new_instances(true, [FIRST.to_string()]);
        let rewritten = health.rewrite(&call, answer).unwrap();
        assert_eq!(
            states(&rewritten),
            [
                (FIRST.into(), "healthy".into(), None),
                (SECOND.into(), "unhealthy".into(), Some("Target.FailedHealthChecks".into()))
            ]
        );
        let initial = answer.replacen("<State>healthy</State>", "<State>initial</State>", 2);
        assert_eq!(health.rewrite(&call, &initial), None, "a target still registering stays initial");
        let groups = query("autoscaling", &[("Action", "DescribeAutoScalingGroups")]);
        assert_eq!(health.rewrite(&groups, answer), None);
        health.fail_new_instances(false, []);
        assert_eq!(health.rewrite(&call, answer), None);
    }

    #[test]
    fn instance_ids_are_read_from_describe_instances() {
        let answer = "<DescribeInstancesResponse><reservationSet><item><instancesSet>\
                      <item><instanceId>i-1</instanceId><tagSet><item><key>k</key></item></tagSet></item>\
                      <item><instanceId>i-2</instanceId></item></instancesSet></item></reservationSet>\
                      </DescribeInstancesResponse>";
        assert_eq!(instance_ids(answer), ["i-1", "i-2"]);
    }
}
