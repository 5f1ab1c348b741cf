//! EC2 eventual consistency, as the EC2 API reference describes it in "Eventual consistency in
//! the Amazon EC2 API": "If you run a command to modify or describe a resource immediately after
//! its creation, its ID might not have propagated throughout the system, and you will get an
//! error responding that the resource does not exist", and a Describe* call may not list it
//! yet. For [`Strict::consistency`](super::Strict::consistency) after a CreateVpc, CreateSubnet,
//! CreateInternetGateway, CreateRouteTable, CreateSecurityGroup or CreateLaunchTemplate
//! answered, its id is unknown:
//! - to EC2 calls naming it in an id parameter (`VpcId`, `SecurityGroupId.1`, `ResourceId.1`
//!   of CreateTags, …): `InvalidVpcID.NotFound` and the like ([`not_found::ec2`]);
//! - to Elastic Load Balancing (CreateLoadBalancer's subnets and security groups,
//!   CreateTargetGroup's VPC) and to Auto Scaling (CreateAutoScalingGroup's and
//!   UpdateAutoScalingGroup's `VPCZoneIdentifier` and launch template), with their own errors;
//! - and EC2 Describe* calls filtered by tag do not list it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use roxmltree::Document;

use super::judge::{Behaviour, Refusal, Rewrite};
use super::{Rule, not_found};
use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};

/// The EC2 calls whose new id lags, and the element of their answer that holds it.
const CREATES: [(&str, &str); 6] = [
    ("CreateVpc", "vpcId"),
    ("CreateSubnet", "subnetId"),
    ("CreateInternetGateway", "internetGatewayId"),
    ("CreateRouteTable", "routeTableId"),
    ("CreateSecurityGroup", "groupId"),
    ("CreateLaunchTemplate", "launchTemplateId"),
];

/// The lists of Describe* answers that hold those resources, and the element of an `item` of
/// the list that holds its id.
const LISTS: [(&str, &str); 7] = [
    ("vpcSet", "vpcId"),
    ("subnetSet", "subnetId"),
    ("internetGatewaySet", "internetGatewayId"),
    ("routeTableSet", "routeTableId"),
    ("securityGroupInfo", "groupId"),
    ("launchTemplates", "launchTemplateId"),
    ("tagSet", "resourceId"),
];

/// The new ids and when their Create answered.
pub(super) struct Consistency {
    window: Duration,
    created: HashMap<String, Instant>,
}

impl Consistency {
    /// New ids lag for `window`.
    pub(super) fn new(window: Duration) -> Consistency {
        Consistency { window, created: HashMap::new() }
    }

    fn lagging(&self, id: &str, now: Instant) -> bool {
        self.created.get(id).is_some_and(|created| now.saturating_duration_since(*created) < self.window)
    }

    /// The error for the first lagging id `call` names, if any.
    fn unknown_id(&self, call: &AwsRequest, now: Instant) -> Option<(&'static str, String)> {
        let mut lagging = ids(call).filter(|(_, id)| self.lagging(id, now));
        match call.service {
            Service::Ec2 => {
                lagging.filter(|(name, _)| not_found::names_an_id(name)).find_map(|(name, id)| not_found::ec2(name, id))
            }
            Service::Elb => lagging.find_map(|(_, id)| not_found::elb(id)),
            Service::AutoScaling if is_group_change(call) => lagging.find_map(|(_, id)| not_found::auto_scaling(id)),
            _ => None,
        }
    }
}

impl Behaviour for Consistency {
    fn refuse(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        let (code, message) = self.unknown_id(call, now)?;
        Some(Refusal { rule: Rule::Consistency, code: code.to_string(), message })
    }

    fn answered(&mut self, call: &AwsRequest, answer: &str, now: Instant) {
        if call.service != Service::Ec2 {
            return;
        }
        let Some((_, element)) = CREATES.iter().find(|(action, _)| *action == call.action) else { return };
        let Ok(document) = Document::parse(answer) else { return };
        if let Some(id) = document.descendants().find(|n| n.has_tag_name(*element)).and_then(|n| n.text()) {
            self.created.insert(id.to_string(), now);
        }
    }

    fn rewrite(&self, call: &AwsRequest, status: StatusCode, answer: &str, now: Instant) -> Option<Rewrite> {
        if call.service != Service::Ec2 || !call.action.starts_with("Describe") || !status.is_success() {
            return None;
        }
        if !filters_by_tag(call) {
            return None;
        }
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        for list in document.root_element().children() {
            let Some((_, id)) = LISTS.iter().find(|(name, _)| list.has_tag_name(*name)) else { continue };
            for item in list.children().filter(|n| n.has_tag_name("item")) {
                if xml::child_text(item, id).is_some_and(|id| self.lagging(id, now)) {
                    edits.cut(item);
                }
            }
        }
        let body = edits.apply(answer)?;
        Some(Rewrite { rule: Rule::Consistency, status, body })
    }
}

/// The parameters of `call` that can name EC2 ids (not tags, not filters), with each value
/// split into the ids in it (`VPCZoneIdentifier` is a comma-separated list).
fn ids(call: &AwsRequest) -> impl Iterator<Item = (&str, &str)> {
    call.params
        .iter()
        .filter(|(name, _)| !name.starts_with("Tags.") && !name.starts_with("Filter."))
        .flat_map(|(name, value)| value.split(',').map(move |id| (name.as_str(), id.trim())))
}

/// Whether `call` is an Auto Scaling call that names subnets and launch templates.
pub(super) fn is_group_change(call: &AwsRequest) -> bool {
    call.service == Service::AutoScaling
        && matches!(call.action.as_str(), "CreateAutoScalingGroup" | "UpdateAutoScalingGroup")
}

/// Whether a Describe* call filters by tag (`Filter.N.Name` = `tag:…` or `tag-key`).
fn filters_by_tag(call: &AwsRequest) -> bool {
    call.params.iter().any(|(name, value)| {
        name.starts_with("Filter.") && name.ends_with(".Name") && (value.starts_with("tag:") || value == "tag-key")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const VPC: &str = "vpc-cad0e22dc79e33f01";
    const OLD_VPC: &str = "vpc-1741f075e14269640";
    const SUBNET: &str = "subnet-a9f5dddcbd605a445";
    const GROUP: &str = "sg-147bf96cf49dcddcb";
    const TEMPLATE: &str = "lt-966d9edbd0633a859";

    /// A rule that saw the fixtures' VPC, subnet, security group and launch template created at `at`.
    fn after_creates(at: Instant) -> Consistency {
        let mut rule = Consistency::new(Duration::from_secs(3));
        for (action, answer) in [
            ("CreateVpc", include_str!("../../testdata/CreateVpc.xml")),
            ("CreateSubnet", include_str!("../../testdata/CreateSubnet.xml")),
            ("CreateSecurityGroup", include_str!("../../testdata/CreateSecurityGroup.xml")),
            ("CreateLaunchTemplate", include_str!("../../testdata/CreateLaunchTemplate.xml")),
        ] {
            rule.answered(&query("ec2", &[("Action", action)]), answer, at);
        }
        rule
    }

    #[test]
    fn creates_record_their_own_id_only() {
        let rule = after_creates(Instant::now());
        let mut ids: Vec<_> = rule.created.keys().map(String::as_str).collect();
        ids.sort();
        assert_eq!(ids, [TEMPLATE, GROUP, SUBNET, VPC]);
    }

    #[test]
    fn ec2_calls_naming_a_new_id_are_refused_until_the_window_passes() {
        let start = Instant::now();
        let rule = after_creates(start);
        let modify =
            query("ec2", &[("Action", "ModifyVpcAttribute"), ("VpcId", VPC), ("EnableDnsHostnames.Value", "true")]);
        let refusal = rule.refuse(&modify, start + Duration::from_millis(2999)).unwrap();
        assert_eq!(refusal.code, "InvalidVpcID.NotFound");
        assert_eq!(refusal.message, format!("The vpc ID '{VPC}' does not exist"));
        assert_eq!(rule.refuse(&modify, start + Duration::from_secs(3)), None);
        let tags = query("ec2", &[("Action", "CreateTags"), ("ResourceId.1", OLD_VPC), ("ResourceId.2", GROUP)]);
        assert_eq!(rule.refuse(&tags, start).unwrap().code, "InvalidGroup.NotFound");
        let filtered =
            query("ec2", &[("Action", "DescribeSubnets"), ("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", VPC)]);
        assert_eq!(rule.refuse(&filtered, start), None);
    }

    #[test]
    fn other_services_refuse_new_ids_with_their_own_errors() {
        let start = Instant::now();
        let rule = after_creates(start);
        let balancer = query(
            "elasticloadbalancing",
            &[("Action", "CreateLoadBalancer"), ("Subnets.member.1", SUBNET), ("SecurityGroups.member.1", GROUP)],
        );
        assert_eq!(rule.refuse(&balancer, start).unwrap().code, "SubnetNotFound");
        let group = query(
            "autoscaling",
            &[
                ("Action", "CreateAutoScalingGroup"),
                ("VPCZoneIdentifier", &format!("subnet-old, {SUBNET}")),
                ("LaunchTemplate.LaunchTemplateId", TEMPLATE),
            ],
        );
        let refusal = rule.refuse(&group, start).unwrap();
        assert_eq!(
            (refusal.code.as_str(), refusal.message),
            ("ValidationError", format!("The subnet ID '{SUBNET}' does not exist"))
        );
        let tagged = query("autoscaling", &[("Action", "CreateOrUpdateTags"), ("Tags.member.1.Value", SUBNET)]);
        assert_eq!(rule.refuse(&tagged, start), None);
    }

    #[test]
    fn tag_filtered_describes_leave_new_resources_out_and_stay_valid() {
        let start = Instant::now();
        let rule = after_creates(start);
        let describe =
            query("ec2", &[("Action", "DescribeVpcs"), ("Filter.1.Name", "tag:app"), ("Filter.1.Value.1", "x")]);
        let answer = include_str!("../../testdata/DescribeVpcs.xml");
        let rewrite = rule.rewrite(&describe, StatusCode::OK, answer, start).unwrap();
        assert_eq!(rewrite.rule, Rule::Consistency);
        let document = Document::parse(&rewrite.body).unwrap();
        let vpcs: Vec<_> =
            document.descendants().filter(|n| n.has_tag_name("vpcId")).filter_map(|n| n.text()).collect();
        assert_eq!(vpcs, [OLD_VPC]);
        let list = document.descendants().find(|n| n.has_tag_name("vpcSet")).unwrap();
        assert_eq!(list.children().filter(|n| n.has_tag_name("item")).count(), 1);
        assert!(rule.rewrite(&describe, StatusCode::OK, answer, start + Duration::from_secs(3)).is_none());
        let unfiltered = query("ec2", &[("Action", "DescribeVpcs")]);
        assert!(rule.rewrite(&unfiltered, StatusCode::OK, answer, start).is_none());
    }

    #[test]
    fn security_groups_are_listed_by_group_id() {
        let start = Instant::now();
        let rule = after_creates(start);
        let describe = query("ec2", &[("Action", "DescribeSecurityGroups"), ("Filter.1.Name", "tag-key")]);
        let answer = include_str!("../../testdata/DescribeSecurityGroups.xml");
        let body = rule.rewrite(&describe, StatusCode::OK, answer, start).unwrap().body;
        assert!(!body.contains(&format!("<groupId>{GROUP}</groupId>")));
        assert!(body.contains("<groupName>default</groupName>"));
        Document::parse(&body).unwrap();
    }
}
