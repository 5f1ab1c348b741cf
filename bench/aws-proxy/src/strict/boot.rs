//! Instance boot. The Elastic Load Balancing guide ("Target health status"): a target is
//! `initial` while "the load balancer is in the process of registering the target or performing
//! the initial health checks", with reason `Elb.RegistrationInProgress`; and the EC2 Auto
//! Scaling guide ("Amazon EC2 Auto Scaling instance lifecycle"): a new instance is `Pending`
//! before it is `InService`. An instance is first seen in a DescribeTargetHealth or
//! DescribeAutoScalingGroups (or DescribeAutoScalingInstances) answer; for
//! [`Strict::instance_boot`] after that its target is `initial` rather than `healthy`, and for
//! the first half of it its lifecycle state is `Pending` rather than `InService`.
//!
//! [`Strict::instance_boot`]: super::Strict::instance_boot

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use roxmltree::{Document, Node};

use super::Rule;
use super::judge::{Behaviour, Rewrite};
use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};

/// The health of a target still registering, as Elastic Load Balancing gives it.
const INITIAL: &str = "<TargetHealth><State>initial</State><Reason>Elb.RegistrationInProgress</Reason>\
                       <Description>Target registration is in progress</Description></TargetHealth>";

/// The instances seen, and when first.
pub(super) struct Boot {
    window: Duration,
    seen: HashMap<String, Instant>,
}

impl Boot {
    /// Instances boot in `window`.
    pub(super) fn new(window: Duration) -> Boot {
        Boot { window, seen: HashMap::new() }
    }

    /// Whether `instance` has been up for less than `share` of the boot time at `now`.
    fn booting(&self, instance: &str, share: f64, now: Instant) -> bool {
        self.seen.get(instance).is_some_and(|seen| now.saturating_duration_since(*seen) < self.window.mul_f64(share))
    }
}

/// An answer that lists instances, one per `member` element.
#[derive(Debug, Clone, Copy)]
enum Listing {
    /// DescribeTargetHealth: `member/Target/Id`.
    TargetHealth,
    /// DescribeAutoScalingGroups, DescribeAutoScalingInstances: `member/InstanceId`.
    AutoScaling,
}

impl Listing {
    /// What the answer to `call` lists, if instances.
    fn of(call: &AwsRequest) -> Option<Listing> {
        match (call.service, call.action.as_str()) {
            (Service::Elb, "DescribeTargetHealth") => Some(Listing::TargetHealth),
            (Service::AutoScaling, "DescribeAutoScalingGroups" | "DescribeAutoScalingInstances") => {
                Some(Listing::AutoScaling)
            }
            _ => None,
        }
    }

    /// The `member` elements of `document` that stand for an instance, with its id.
    fn instances<'a, 'input>(self, document: &'a Document<'input>) -> Vec<(Node<'a, 'input>, &'a str)> {
        let id = |member: Node<'a, 'input>| match self {
            Listing::TargetHealth => xml::child(member, "Target").and_then(|target| xml::child_text(target, "Id")),
            Listing::AutoScaling => xml::child_text(member, "InstanceId"),
        };
        document.descendants().filter(|n| n.has_tag_name("member")).filter_map(|m| Some((m, id(m)?))).collect()
    }
}

impl Behaviour for Boot {
    fn answered(&mut self, call: &AwsRequest, answer: &str, now: Instant) {
        let Some(listing) = Listing::of(call) else { return };
        let Ok(document) = Document::parse(answer) else { return };
        for (_, instance) in listing.instances(&document) {
            self.seen.entry(instance.to_string()).or_insert(now);
        }
    }

    fn rewrite(&self, call: &AwsRequest, status: StatusCode, answer: &str, now: Instant) -> Option<Rewrite> {
        let listing = Listing::of(call).filter(|_| status.is_success())?;
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        for (member, instance) in listing.instances(&document) {
            let health = xml::child(member, "TargetHealth").filter(|h| xml::child_text(*h, "State") == Some("healthy"));
            if let Some(health) = health.filter(|_| self.booting(instance, 1.0, now)) {
                edits.replace(health, INITIAL.to_string());
            }
            let lifecycle = xml::child(member, "LifecycleState").filter(|l| l.text() == Some("InService"));
            if let Some(lifecycle) = lifecycle.filter(|_| self.booting(instance, 0.5, now)) {
                edits.replace(lifecycle, xml::element("LifecycleState", "Pending"));
            }
        }
        let body = edits.apply(answer)?;
        Some(Rewrite { rule: Rule::InstanceBoot, status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const FIRST: &str = "i-c83c7eb8caecb9b5c";
    const SECOND: &str = "i-6417148a153caa3b1";

    fn states<'a>(document: &'a Document, element: &str) -> Vec<(&'a str, &'a str)> {
        document
            .descendants()
            .filter(|n| n.has_tag_name("member"))
            .filter_map(|m| {
                let id = xml::child_text(m, "InstanceId")
                    .or_else(|| xml::child(m, "Target").and_then(|t| xml::child_text(t, "Id")))?;
                let state = xml::child_text(m, element)
                    .or_else(|| xml::child(m, "TargetHealth").and_then(|h| xml::child_text(h, element)))?;
                Some((id, state))
            })
            .collect()
    }

    #[test]
    fn targets_are_initial_until_their_instance_booted() {
        let start = Instant::now();
        let mut rule = Boot::new(Duration::from_secs(8));
        let health = query("elasticloadbalancing", &[("Action", "DescribeTargetHealth"), ("TargetGroupArn", "arn:tg")]);
        let answer = include_str!("../../testdata/DescribeTargetHealth.xml");
        let only_first = answer.replacen(SECOND, "i-other", 1);
        rule.answered(&health, &only_first, start);
        let later = start + Duration::from_secs(2);
        rule.answered(&health, answer, later);
        let rewrite = rule.rewrite(&health, StatusCode::OK, answer, later).unwrap();
        assert_eq!(rewrite.rule, Rule::InstanceBoot);
        let document = Document::parse(&rewrite.body).unwrap();
        assert_eq!(states(&document, "State"), [(FIRST, "initial"), (SECOND, "initial")]);
        assert_eq!(
            states(&document, "Reason"),
            [(FIRST, "Elb.RegistrationInProgress"), (SECOND, "Elb.RegistrationInProgress")]
        );
        let body = rule.rewrite(&health, StatusCode::OK, answer, start + Duration::from_secs(8)).unwrap().body;
        assert_eq!(states(&Document::parse(&body).unwrap(), "State"), [(FIRST, "healthy"), (SECOND, "initial")]);
        assert_eq!(rule.rewrite(&health, StatusCode::OK, answer, later + Duration::from_secs(8)), None);
    }

    #[test]
    fn instances_are_pending_for_the_first_half_of_their_boot() {
        let start = Instant::now();
        let mut rule = Boot::new(Duration::from_secs(8));
        let groups = query("autoscaling", &[("Action", "DescribeAutoScalingGroups")]);
        let answer = include_str!("../../testdata/DescribeAutoScalingGroups.xml");
        rule.answered(&groups, answer, start);
        let body = rule.rewrite(&groups, StatusCode::OK, answer, start + Duration::from_millis(3999)).unwrap().body;
        assert_eq!(
            states(&Document::parse(&body).unwrap(), "LifecycleState"),
            [(SECOND, "Pending"), (FIRST, "Pending")]
        );
        assert_eq!(rule.rewrite(&groups, StatusCode::OK, answer, start + Duration::from_secs(4)), None);
        let health = query("elasticloadbalancing", &[("Action", "DescribeTargetHealth")]);
        let answer = include_str!("../../testdata/DescribeTargetHealth.xml");
        assert!(
            rule.rewrite(&health, StatusCode::OK, answer, start + Duration::from_secs(4)).is_some(),
            "seen by Auto Scaling first"
        );
    }
}
