//! Lingering network interfaces. A load balancer and an instance own network interfaces in
//! their subnets and security groups, and AWS releases them minutes after the load balancer is
//! deleted or the instance terminated: the Elastic Load Balancing guide ("Delete an Application
//! Load Balancer") and the VPC guide ("Delete your VPC": "you must first terminate or delete any
//! resources that created a requester-managed network interface in the VPC") say so, and EC2
//! answers `DependencyViolation` meanwhile. For [`Strict::interfaces_linger`] after
//! DeleteLoadBalancer, DeleteAutoScalingGroup, or an UpdateAutoScalingGroup / SetDesiredCapacity
//! down to no instance answered, DeleteSecurityGroup, DeleteSubnet, DetachInternetGateway and
//! DeleteVpc answer `DependencyViolation` with EC2's messages.
//!
//! [`Strict::interfaces_linger`]: super::Strict::interfaces_linger

use std::time::{Duration, Instant};

use super::Rule;
use super::judge::{Behaviour, Refusal};
use crate::request::{AwsRequest, Service};

/// When interfaces were last left behind.
pub(super) struct LingeringInterfaces {
    window: Duration,
    released: Option<Instant>,
}

impl LingeringInterfaces {
    /// Interfaces linger for `window`.
    pub(super) fn new(window: Duration) -> LingeringInterfaces {
        LingeringInterfaces { window, released: None }
    }
}

impl Behaviour for LingeringInterfaces {
    fn refuse(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        let released = self.released?;
        if call.service != Service::Ec2 || now.saturating_duration_since(released) >= self.window {
            return None;
        }
        let id = |name| call.param(name).unwrap_or_default();
        let message = match call.action.as_str() {
            "DeleteSecurityGroup" => {
                format!("resource {} has a dependent object", call.param("GroupId").or(call.param("GroupName"))?)
            }
            "DeleteSubnet" => format!("The subnet '{}' has dependencies and cannot be deleted.", id("SubnetId")),
            "DetachInternetGateway" => format!(
                "Network {} has some mapped public address(es). Please unmap those public address(es) before \
                 detaching the gateway.",
                id("VpcId")
            ),
            "DeleteVpc" => format!("The vpc '{}' has dependencies and cannot be deleted.", id("VpcId")),
            _ => return None,
        };
        Some(Refusal { rule: Rule::InterfacesLinger, code: "DependencyViolation".to_string(), message })
    }

    fn answered(&mut self, call: &AwsRequest, _answer: &str, now: Instant) {
        let emptied = |param| call.param(param) == Some("0");
        let releases = call.is(Service::Elb, "DeleteLoadBalancer")
            || call.is(Service::AutoScaling, "DeleteAutoScalingGroup")
            || (call.is(Service::AutoScaling, "UpdateAutoScalingGroup")
                && (emptied("DesiredCapacity") || emptied("MaxSize")))
            || (call.is(Service::AutoScaling, "SetDesiredCapacity") && emptied("DesiredCapacity"));
        if releases {
            self.released = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    #[test]
    fn network_pieces_are_in_use_while_interfaces_linger() {
        let start = Instant::now();
        let mut rule = LingeringInterfaces::new(Duration::from_secs(8));
        let delete_group = query("ec2", &[("Action", "DeleteSecurityGroup"), ("GroupId", "sg-1")]);
        assert_eq!(rule.refuse(&delete_group, start), None);
        rule.answered(&query("autoscaling", &[("Action", "UpdateAutoScalingGroup"), ("MinSize", "0")]), "", start);
        assert_eq!(rule.refuse(&delete_group, start), None, "an update that keeps instances releases nothing");
        rule.answered(
            &query("autoscaling", &[("Action", "UpdateAutoScalingGroup"), ("DesiredCapacity", "0")]),
            "",
            start,
        );
        let refusal = rule.refuse(&delete_group, start + Duration::from_secs(7)).unwrap();
        assert_eq!(
            (refusal.code.as_str(), refusal.message.as_str()),
            ("DependencyViolation", "resource sg-1 has a dependent object")
        );
        let detach =
            query("ec2", &[("Action", "DetachInternetGateway"), ("InternetGatewayId", "igw-1"), ("VpcId", "vpc-1")]);
        assert!(
            rule.refuse(&detach, start)
                .unwrap()
                .message
                .starts_with("Network vpc-1 has some mapped public address(es).")
        );
        let delete_vpc = query("ec2", &[("Action", "DeleteVpc"), ("VpcId", "vpc-1")]);
        assert_eq!(
            rule.refuse(&delete_vpc, start).unwrap().message,
            "The vpc 'vpc-1' has dependencies and cannot be deleted."
        );
        assert_eq!(rule.refuse(&delete_group, start + Duration::from_secs(8)), None);
        let later = start + Duration::from_secs(60);
        rule.answered(&query("elasticloadbalancing", &[("Action", "DeleteLoadBalancer")]), "", later);
        let delete_subnet = query("ec2", &[("Action", "DeleteSubnet"), ("SubnetId", "subnet-1")]);
        assert_eq!(
            rule.refuse(&delete_subnet, later).unwrap().message,
            "The subnet 'subnet-1' has dependencies and cannot be deleted."
        );
    }
}
