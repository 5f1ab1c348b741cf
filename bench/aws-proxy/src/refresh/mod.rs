//! Instance refresh, which moto 5.2 answers with HTTP 500: the proxy answers StartInstanceRefresh,
//! DescribeInstanceRefreshes, CancelInstanceRefresh and RollbackInstanceRefresh itself ([`api`])
//! and replaces the group's instances in moto in a background task ([`driver`]) the way the EC2
//! Auto Scaling user guide describes a rolling refresh, in every mode of the proxy.
//!
//! While a refresh is active, DescribeAutoScalingGroups shows the group as AWS does: its launch
//! template, `MaxSize` and `DesiredCapacity` as they were when the refresh started (moto's change
//! while the proxy launches replacements), the desired launch template only once the refresh
//! succeeded. moto gives every instance of a group its template's default version; the proxy
//! shows the version each instance was launched from instead, which it learns the first time it
//! sees the instance in a DescribeAutoScalingGroups answer: the group's launch template version
//! (in moto) at that time.

mod alarm;
mod api;
mod driver;
mod model;
mod reads;
mod start;

pub(crate) use api::answer;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use roxmltree::Document;
use tokio::task::JoinHandle;

use crate::Strict;
use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};
use model::{Refresh, Template};

/// The actions the proxy answers itself.
const ACTIONS: [&str; 4] =
    ["StartInstanceRefresh", "DescribeInstanceRefreshes", "CancelInstanceRefresh", "RollbackInstanceRefresh"];

/// How long a refresh waits for things, in a proxy's mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    /// How often it polls moto (AWS does not say; ~200 ms keeps tests quick).
    pub(crate) poll: Duration,
    /// How long a target must be `unhealthy` before an `UnHealthyHostCount` alarm on it fires.
    pub(crate) alarm_evaluation: Duration,
    /// How long a batch of new instances may take to become healthy before the refresh fails.
    pub(crate) give_up: Duration,
}

impl Timing {
    /// Strict mode's timing, or outside strict mode (where moto is instant) 1 s for an alarm to
    /// fire and 10 s for new instances to become healthy: choices of the proxy's, short so that
    /// tests of failures stay quick.
    pub(crate) fn of(strict: Option<&Strict>) -> Timing {
        let poll = Duration::from_millis(200);
        match strict {
            Some(strict) => Timing { poll, alarm_evaluation: strict.alarm_evaluation, give_up: strict.refresh_give_up },
            None => Timing { poll, alarm_evaluation: Duration::from_secs(1), give_up: Duration::from_secs(10) },
        }
    }
}

/// What DescribeAutoScalingGroups shows of a group whose refresh is active.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    /// The group's launch template when the refresh started.
    template: Template,
    /// Its `MaxSize` then.
    max: u32,
    /// Its `DesiredCapacity` then.
    desired: u32,
}

/// Every refresh of a proxy, and what it shows of the groups.
pub(crate) struct Refreshes {
    timing: Timing,
    state: Mutex<State>,
}

/// [`Refreshes`]' state.
#[derive(Default)]
struct State {
    /// Every refresh, oldest first.
    refreshes: Vec<Refresh>,
    /// The groups with an active refresh.
    shown: HashMap<String, Shown>,
    /// The launch template version of each instance, as first seen.
    versions: HashMap<String, String>,
    /// The background tasks driving refreshes.
    tasks: Vec<JoinHandle<()>>,
}

impl Refreshes {
    /// No refreshes yet; they wait as `timing` says.
    pub(crate) fn new(timing: Timing) -> Refreshes {
        Refreshes { timing, state: Mutex::new(State::default()) }
    }

    /// Whether the proxy answers `call` itself.
    pub(crate) fn handles(call: &AwsRequest) -> bool {
        call.service == Service::AutoScaling && ACTIONS.contains(&call.action.as_str())
    }

    /// Stops every background task.
    pub(crate) fn stop(&self) {
        for task in self.lock().tasks.drain(..) {
            task.abort();
        }
    }

    /// Learns the launch template version of the instances in moto's `answer` to `call`, if it is
    /// a DescribeAutoScalingGroups answer.
    pub(crate) fn learn(&self, call: &AwsRequest, answer: &str) {
        if !call.is(Service::AutoScaling, "DescribeAutoScalingGroups") {
            return;
        }
        let mut state = self.lock();
        for group in reads::groups(answer) {
            let Some(template) = group.template.filter(Template::is_numbered) else { continue };
            for instance in group.instances {
                state.versions.entry(instance.id).or_insert_with(|| template.version.clone());
            }
        }
    }

    /// `answer` to `call` as AWS would show it while refreshes run, if that differs.
    pub(crate) fn rewrite(&self, call: &AwsRequest, answer: &str) -> Option<String> {
        let groups = call.is(Service::AutoScaling, "DescribeAutoScalingGroups");
        if !groups && !call.is(Service::AutoScaling, "DescribeAutoScalingInstances") {
            return None;
        }
        let state = self.lock();
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        let list = if groups { "AutoScalingGroups" } else { "AutoScalingInstances" };
        let list = document.descendants().find(|n| n.has_tag_name(list))?;
        for member in list.children().filter(|n| n.has_tag_name("member")) {
            let instances = if groups {
                xml::child(member, "Instances").map(|i| i.children().filter(|n| n.has_tag_name("member")).collect())
            } else {
                Some(vec![member])
            };
            for instance in instances.unwrap_or_default() {
                let Some(id) = xml::child_text(instance, "InstanceId") else { continue };
                let version = xml::child(instance, "LaunchTemplate").and_then(|t| xml::child(t, "Version"));
                if let (Some(version), Some(known)) = (version, state.versions.get(id))
                    && version.text() != Some(known)
                {
                    edits.replace(version, xml::element("Version", known));
                }
            }
            let shown = xml::child_text(member, "AutoScalingGroupName").and_then(|name| state.shown.get(name));
            if let Some(shown) = shown.filter(|_| groups) {
                if let Some(template) = xml::child(member, "LaunchTemplate") {
                    edits.replace(template, shown.template.xml());
                }
                for (name, value) in [("MaxSize", shown.max), ("DesiredCapacity", shown.desired)] {
                    if let Some(node) = xml::child(member, name) {
                        edits.replace(node, xml::element(name, &value.to_string()));
                    }
                }
            }
        }
        edits.apply(answer)
    }

    /// The state, locked.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const ANSWER: &str = include_str!("../../testdata/DescribeAutoScalingGroups.xml");

    fn pinned(version: &str) -> String {
        ANSWER.replacen("<Version>$Latest</Version>", &format!("<Version>{version}</Version>"), 1)
    }

    #[test]
    fn instances_show_the_version_they_were_launched_from() {
        let refreshes = Refreshes::new(Timing::of(None));
        let call = query("autoscaling", &[("Action", "DescribeAutoScalingGroups")]);
        refreshes.learn(&call, &ANSWER.replace("<Version>1</Version>", "<Version>7</Version>"));
        assert_eq!(refreshes.rewrite(&call, ANSWER), None, "a $Latest group teaches nothing");
        refreshes.learn(&call, &pinned("3"));
        refreshes.learn(&call, &pinned("4"));
        let rewritten = refreshes.rewrite(&call, &pinned("4")).unwrap();
        let [group] = reads::groups(&rewritten).try_into().unwrap();
        let versions: Vec<_> = group.instances.iter().map(|i| i.template.as_ref().unwrap().version.as_str()).collect();
        assert_eq!(versions, ["3", "3"], "first seen while the group launched version 3");
        assert_eq!(group.template.unwrap().version, "4", "no refresh: the group shows what moto has");
    }

    #[test]
    fn a_group_being_refreshed_shows_its_configuration_from_before() {
        let refreshes = Refreshes::new(Timing::of(None));
        let previous = Template { id: "lt-966d9edbd0633a859".into(), name: Some("ltx".into()), version: "1".into() };
        refreshes.lock().shown.insert("a".into(), Shown { template: previous.clone(), max: 2, desired: 2 });
        let call = query("autoscaling", &[("Action", "DescribeAutoScalingGroups")]);
        let during = pinned("2")
            .replace("<MaxSize>2</MaxSize>", "<MaxSize>4</MaxSize>")
            .replace("<DesiredCapacity>2</DesiredCapacity>", "<DesiredCapacity>4</DesiredCapacity>");
        let [group] = reads::groups(&refreshes.rewrite(&call, &during).unwrap()).try_into().unwrap();
        assert_eq!(group.template, Some(previous));
        assert_eq!((group.max, group.desired), (2, 2));
        let other = query("autoscaling", &[("Action", "DescribeScalingActivities")]);
        assert_eq!(refreshes.rewrite(&other, &during), None);
    }
}
