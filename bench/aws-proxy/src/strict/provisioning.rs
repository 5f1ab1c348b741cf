//! Load balancer provisioning. The Elastic Load Balancing guide ("Application Load Balancers",
//! load balancer state) and the API's `LoadBalancerState`: a new load balancer is
//! `provisioning` ("being set up") before it is `active`. For
//! [`Strict::load_balancer_provisioning`] after CreateLoadBalancer answered, DescribeLoadBalancers
//! shows it `provisioning`.
//!
//! [`Strict::load_balancer_provisioning`]: super::Strict::load_balancer_provisioning

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use roxmltree::Document;

use super::Rule;
use super::judge::{Behaviour, Rewrite};
use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};

/// The load balancers created, by ARN, and when.
pub(super) struct Provisioning {
    window: Duration,
    created: HashMap<String, Instant>,
}

impl Provisioning {
    /// Load balancers are provisioned in `window`.
    pub(super) fn new(window: Duration) -> Provisioning {
        Provisioning { window, created: HashMap::new() }
    }

    fn provisioning(&self, arn: &str, now: Instant) -> bool {
        self.created.get(arn).is_some_and(|created| now.saturating_duration_since(*created) < self.window)
    }
}

impl Behaviour for Provisioning {
    fn answered(&mut self, call: &AwsRequest, answer: &str, now: Instant) {
        if !call.is(Service::Elb, "CreateLoadBalancer") {
            return;
        }
        let Ok(document) = Document::parse(answer) else { return };
        for arn in document.descendants().filter(|n| n.has_tag_name("LoadBalancerArn")).filter_map(|n| n.text()) {
            self.created.entry(arn.to_string()).or_insert(now);
        }
    }

    fn rewrite(&self, call: &AwsRequest, status: StatusCode, answer: &str, now: Instant) -> Option<Rewrite> {
        if !call.is(Service::Elb, "DescribeLoadBalancers") || !status.is_success() {
            return None;
        }
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        for balancer in document.descendants().filter(|n| n.has_tag_name("member")) {
            let Some(arn) = xml::child_text(balancer, "LoadBalancerArn") else { continue };
            let code = xml::child(balancer, "State").and_then(|state| xml::child(state, "Code"));
            if let Some(code) = code.filter(|code| code.text() != Some("provisioning") && self.provisioning(arn, now)) {
                edits.replace(code, xml::element("Code", "provisioning"));
            }
        }
        let body = edits.apply(answer)?;
        Some(Rewrite { rule: Rule::LoadBalancerProvisioning, status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/82c004c173d6732f";

    #[test]
    fn a_new_load_balancer_is_provisioning_for_a_while() {
        let start = Instant::now();
        let mut rule = Provisioning::new(Duration::from_secs(4));
        let answer = include_str!("../../testdata/DescribeLoadBalancers.xml");
        let describe = query("elasticloadbalancing", &[("Action", "DescribeLoadBalancers")]);
        assert_eq!(rule.rewrite(&describe, StatusCode::OK, answer, start), None);
        let created = format!(
            "<CreateLoadBalancerResponse><CreateLoadBalancerResult><LoadBalancers><member><LoadBalancerArn>{ARN}</LoadBalancerArn></member></LoadBalancers></CreateLoadBalancerResult></CreateLoadBalancerResponse>"
        );
        rule.answered(&query("elasticloadbalancing", &[("Action", "CreateLoadBalancer")]), &created, start);
        let rewrite = rule.rewrite(&describe, StatusCode::OK, answer, start + Duration::from_secs(3)).unwrap();
        let document = Document::parse(&rewrite.body).unwrap();
        let codes: Vec<_> =
            document.descendants().filter(|n| n.has_tag_name("Code")).filter_map(|n| n.text()).collect();
        assert_eq!(codes, ["provisioning"]);
        assert_eq!(rewrite.body.len(), answer.len() + "provisioning".len() - "active".len());
        assert_eq!(rule.rewrite(&describe, StatusCode::OK, answer, start + Duration::from_secs(4)), None);
    }
}
