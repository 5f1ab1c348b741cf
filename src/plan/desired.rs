//! The stack model → the resources it needs, in dependency order (see DESIGN.md, "Resources
//! and their order"). Pure: the only inputs are the stack and the image to run.

use std::collections::BTreeMap;

use super::graph::{Ref, Resource};
use crate::aws::{
    AlarmAttrs, AppConfig, AutoscalingGroupAttrs, ContainerImageAttrs, DynamodbTableAttrs, EcrRepositoryAttrs,
    IamPolicyAttachmentAttrs, IamRoleAttrs, IamRolePolicyAttrs, InstanceProfileAttrs, InternetGatewayAttrs,
    LaunchTemplateAttrs, ListenerAttrs, LoadBalancerAttrs, Route, RouteTableAttrs, Rule, ScalingPolicyAttrs,
    SecretParameterAttrs, SecurityGroupAttrs, SubnetAttrs, Tags, TargetGroupAttrs, VpcAttrs,
};
use crate::stack::{Stack, StoreKind};

/// Tag key that marks every resource of a stack; destroy touches nothing without it.
pub const STACK_TAG: &str = "cloudcomp:stack";

/// AWS-managed policy that lets instances pull from ECR.
const ECR_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";

/// Every resource `stack` needs to run the app image tagged `image_tag` (pushed by the
/// graph's `container_image` step when `pushed`), each after the ones
/// it depends on. The image lives in the stack's ECR repository, or under `app.registry`.
pub fn desired(stack: &Stack, image_tag: &str, pushed: bool) -> Vec<Resource> {
    let name = &stack.name;
    let tags = tags(stack);
    let net = &stack.network;
    let vpc_id = || Ref::to("vpc", "id");
    let mut out = Vec::new();

    out.push(Resource::of("vpc", &VpcAttrs { cidr_block: net.vpc_cidr.to_string(), tags: tags.clone() }));
    let subnets: Vec<String> = (0..net.public_subnets.len()).map(|i| format!("subnet.public[{i}]")).collect();
    for (i, cidr) in net.public_subnets.iter().enumerate() {
        let subnet = SubnetAttrs {
            vpc_id: vpc_id(),
            cidr_block: cidr.to_string(),
            availability_zone_index: i,
            map_public_ip_on_launch: true,
            // Its zone must offer the instance type.
            instance_type: stack.instances.instance_type.clone(),
            tags: tags.clone(),
        };
        out.push(Resource::of(subnets[i].clone(), &subnet));
    }
    let subnet_ids: Vec<Ref> = subnets.iter().map(|s| Ref::to(s, "id")).collect();
    out.push(Resource::of("internet_gateway", &InternetGatewayAttrs { vpc_id: vpc_id(), tags: tags.clone() }));
    let route_table = RouteTableAttrs {
        vpc_id: vpc_id(),
        routes: vec![Route { destination: "0.0.0.0/0".into(), gateway_id: Ref::to("internet_gateway", "id") }],
        subnet_ids: subnet_ids.clone(),
        tags: tags.clone(),
    };
    out.push(Resource::of("route_table.public", &route_table));

    let security_group = |role: &str, purpose: &str, rule: Rule<Ref>| {
        let group = SecurityGroupAttrs {
            vpc_id: vpc_id(),
            name: format!("{name}-{role}"),
            description: format!("cloudcomp {name}: {purpose}"),
            ingress: vec![rule],
            tags: tags.clone(),
        };
        Resource::of(format!("security_group.{role}"), &group)
    };
    let allowed_ranges = Some(net.allow_from.iter().map(ToString::to_string).collect());
    out.push(security_group(
        "alb",
        "load balancer",
        Rule { port: 80, cidrs: allowed_ranges, source_security_group_id: None },
    ));
    let from_the_load_balancer = Some(Ref::to("security_group.alb", "id"));
    out.push(security_group(
        "app",
        "app instances, reachable only from the load balancer",
        Rule { port: stack.app.port, cidrs: None, source_security_group_id: from_the_load_balancer },
    ));

    let role = IamRoleAttrs {
        name: format!("{name}-instance"),
        assume_role_service: "ec2.amazonaws.com".into(),
        tags: tags.clone(),
    };
    out.push(Resource::of("iam_role.instance", &role));
    let role_name = || Ref::to("iam_role.instance", "name");
    let shared_table = stack.app.store == StoreKind::Dynamodb;
    if shared_table {
        let table = DynamodbTableAttrs {
            name: format!("{name}-app"),
            hash_key: "pk".into(),
            range_key: "sk".into(),
            billing_mode: "PAY_PER_REQUEST".into(),
            // The app's rate-limit counters expire by it.
            ttl_attribute: "expires_at".into(),
            tags: tags.clone(),
        };
        out.push(Resource::of("dynamodb_table.app", &table));
        let policy = IamRolePolicyAttrs {
            role_name: role_name(),
            name: "dynamodb-table".into(),
            actions: TABLE_ACTIONS.iter().map(|a| a.to_string()).collect(),
            resources: vec![Ref::to("dynamodb_table.app", "arn"), Ref::to("dynamodb_table.app", "index_arn")],
        };
        out.push(Resource::of("iam_role_policy.table", &policy));
    }
    // The JWT key every instance signs and checks tokens with: only the role may read it.
    let jwt_key = SecretParameterAttrs {
        name: format!("/cloudcomp/{name}/jwt-key"),
        description: format!("cloudcomp {name}: the app's JWT signing key"),
        tags: tags.clone(),
    };
    out.push(Resource::of("secret_parameter.jwt_key", &jwt_key));
    let read_secrets = IamRolePolicyAttrs {
        role_name: role_name(),
        name: "read-secrets".into(),
        actions: vec!["ssm:GetParameter".into()],
        resources: vec![Ref::to("secret_parameter.jwt_key", "arn")],
    };
    out.push(Resource::of("iam_role_policy.secrets", &read_secrets));
    let pulls_from_ecr = stack.app.registry.is_none();
    if pulls_from_ecr {
        let repository = EcrRepositoryAttrs { name: format!("cloudcomp/{name}"), tags: tags.clone() };
        out.push(Resource::of("ecr_repository.app", &repository));
        let ecr_read = IamPolicyAttachmentAttrs { role_name: role_name(), policy_arn: ECR_READ_ONLY.into() };
        out.push(Resource::of("iam_policy_attachment.ecr_read", &ecr_read));
    }
    let profile = InstanceProfileAttrs { name: format!("{name}-instance"), role_name: role_name(), tags: tags.clone() };
    let mut profile = Resource::of("instance_profile.instance", &profile);
    // Instances must not start before their role can do what the app needs.
    for policy in ["iam_role_policy.table", "iam_role_policy.secrets", "iam_policy_attachment.ecr_read"] {
        if out.iter().any(|r| r.address.0 == policy) {
            profile = profile.after(policy);
        }
    }
    out.push(profile);

    let repository = match &stack.app.registry {
        Some(registry) => Ref::from(format!("{registry}/cloudcomp-app")),
        None => Ref::to("ecr_repository.app", "url"),
    };
    // A pushed image is pinned by the digest the push returns; one cloudcomp does not push
    // (an emulated ECR has no registry) is named by its tag.
    let image = if pushed {
        let image = ContainerImageAttrs { repository: repository.clone(), tag: image_tag.to_string() };
        out.push(Resource::of("container_image.app", &image));
        Some(Ref::to("container_image.app", "reference"))
    } else {
        None
    };
    let template = LaunchTemplateAttrs {
        name: format!("{name}-app"),
        ami: stack.instances.ami.clone(),
        instance_type: stack.instances.instance_type.clone(),
        instance_profile_arn: Ref::to("instance_profile.instance", "arn"),
        security_group_ids: vec![Ref::to("security_group.app", "id")],
        imdsv2_required: true,
        root_volume_encrypted: true,
        app: AppConfig {
            image,
            image_repository: repository,
            image_tag: image_tag.to_string(),
            port: stack.app.port,
            store: stack.app.store,
            table: shared_table.then(|| format!("{name}-app")),
            region: stack.region.clone(),
            jwt_secret_parameter: Some(Ref::to("secret_parameter.jwt_key", "name")),
            demo_user: stack.app.demo_accounts(false),
            env: stack.app.env.clone(),
        },
        tags: tags.clone(),
    };
    out.push(Resource::of("launch_template.app", &template));
    let target_group = TargetGroupAttrs {
        name: format!("{name}-tg"),
        vpc_id: vpc_id(),
        port: stack.app.port,
        health_check_path: stack.health_check.path.clone(),
        health_check_interval_seconds: stack.health_check.interval.0,
        health_check_timeout_seconds: stack.health_check.timeout().0,
        deregistration_delay_seconds: stack.instances.deregistration_delay.0,
        tags: tags.clone(),
    };
    out.push(Resource::of("target_group.app", &target_group));
    let balancer = LoadBalancerAttrs {
        name: format!("{name}-alb"),
        subnet_ids: subnet_ids.clone(),
        security_group_ids: vec![Ref::to("security_group.alb", "id")],
        tags: tags.clone(),
    };
    // Internet-facing: the VPC must have its gateway attached first.
    out.push(Resource::of("load_balancer.app", &balancer).after("internet_gateway"));
    let listener = ListenerAttrs {
        load_balancer_arn: Ref::to("load_balancer.app", "arn"),
        port: 80,
        target_group_arn: Ref::to("target_group.app", "arn"),
    };
    out.push(Resource::of("listener.http", &listener));
    // Deploy guards: a new version whose targets fail their health checks or answer 5xx is
    // stopped and rolled back within a minute or two (one period of the load balancer's
    // one-minute metrics), not after the rollout timed out.
    let mut deploy_alarms = Vec::new();
    for (guard, metric, statistic, threshold) in [
        ("unhealthy_hosts", "UnHealthyHostCount", "Maximum", 1),
        ("target_5xx", "HTTPCode_Target_5XX_Count", "Sum", DEPLOY_5XX_PER_MINUTE),
    ] {
        let alarm = AlarmAttrs {
            name: format!("{name}-deploy-{}", guard.replace('_', "-")),
            namespace: "AWS/ApplicationELB".into(),
            metric: metric.into(),
            statistic: statistic.into(),
            dimensions: BTreeMap::from([
                ("LoadBalancer".to_string(), Ref::to("load_balancer.app", "arn_suffix")),
                ("TargetGroup".to_string(), Ref::to("target_group.app", "arn")),
            ]),
            comparison: "GreaterThanOrEqualToThreshold".into(),
            threshold,
            period_seconds: 60,
            evaluation_periods: 1,
            treat_missing_data: "notBreaching".into(),
            alarm_actions: Vec::new(),
            tags: tags.clone(),
        };
        let address = format!("alarm.deploy_{guard}");
        deploy_alarms.push(Ref::to(&address, "id"));
        out.push(Resource::of(address, &alarm));
    }
    let scaling = &stack.scaling;
    let group = AutoscalingGroupAttrs {
        name: format!("{name}-asg"),
        min_size: scaling.min,
        max_size: scaling.max,
        desired_capacity: scaling.desired(),
        launch_template_id: Ref::to("launch_template.app", "id"),
        // Pinned: a new version is rolled out to every instance (an instance refresh).
        launch_template_version: Ref::to("launch_template.app", "version"),
        subnet_ids,
        target_group_arns: vec![Ref::to("target_group.app", "arn")],
        health_check_type: "ELB".into(),
        health_check_grace_period: stack.instances.health_grace.0,
        deploy_alarms,
        tags: tags.clone(),
    };
    // Instances register through the listener's target group; routes must exist so they
    // can reach the registry at boot.
    out.push(Resource::of("autoscaling_group.app", &group).after("listener.http").after("route_table.public"));
    let out_rule = &scaling.scale_out;
    let in_rule = &scaling.scale_in;
    for (direction, adjustment, cooldown) in
        [("out", i64::from(out_rule.add), out_rule.cooldown.0), ("in", -i64::from(in_rule.remove), in_rule.cooldown.0)]
    {
        let policy = ScalingPolicyAttrs {
            name: format!("{name}-scale-{direction}"),
            autoscaling_group_name: Ref::to("autoscaling_group.app", "name"),
            adjustment,
            cooldown_seconds: cooldown,
        };
        out.push(Resource::of(format!("scaling_policy.scale_{direction}"), &policy));
    }
    for (direction, comparison, threshold, period, periods) in [
        ("out", "GreaterThanThreshold", out_rule.requests_above, out_rule.per.0, out_rule.periods),
        ("in", "LessThanThreshold", in_rule.requests_below, in_rule.per.0, in_rule.periods),
    ] {
        let alarm = AlarmAttrs {
            name: format!("{name}-requests-scale-{direction}"),
            namespace: "AWS/ApplicationELB".into(),
            metric: "RequestCount".into(),
            statistic: "Sum".into(),
            dimensions: BTreeMap::from([("LoadBalancer".to_string(), Ref::to("load_balancer.app", "arn_suffix"))]),
            comparison: comparison.into(),
            threshold,
            period_seconds: period,
            evaluation_periods: periods,
            // No requests at all is "below the threshold", not "unknown".
            treat_missing_data: if direction == "in" { "breaching" } else { "notBreaching" }.into(),
            alarm_actions: vec![Ref::to(&format!("scaling_policy.scale_{direction}"), "arn")],
            tags: tags.clone(),
        };
        out.push(Resource::of(format!("alarm.scale_{direction}"), &alarm));
    }
    out
}

/// 5xx answers from the targets in a minute that stop a rollout.
const DEPLOY_5XX_PER_MINUTE: u32 = 5;

/// What the instances may do on the stack's table, and nothing else.
const TABLE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem",
];

/// The stack's tags plus the stack marker.
fn tags(stack: &Stack) -> Tags {
    let mut tags = stack.tags.clone();
    tags.insert(STACK_TAG.into(), stack.name.clone());
    tags
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;
    use crate::plan::Address;
    use crate::plan::graph::reference;
    use crate::stack;

    fn default_stack() -> Stack {
        stack::parse(include_str!("../../stacks/default.yaml")).unwrap()
    }

    #[test]
    fn every_dependency_comes_earlier_and_addresses_are_unique() {
        let resources = desired(&default_stack(), "1", true);
        let mut seen = HashSet::new();
        for r in &resources {
            for dep in &r.depends_on {
                assert!(seen.contains(dep), "{} depends on {dep}, which is not earlier", r.address);
            }
            assert!(seen.insert(r.address.clone()), "{} twice", r.address);
        }
    }

    #[test]
    fn the_default_stack_has_every_kind_the_design_lists() {
        let resources = desired(&default_stack(), "1", true);
        let kinds: HashSet<&str> = resources.iter().map(|r| r.kind).collect();
        for kind in [
            "vpc",
            "subnet",
            "internet_gateway",
            "route_table",
            "security_group",
            "iam_role",
            "iam_role_policy",
            "iam_policy_attachment",
            "instance_profile",
            "dynamodb_table",
            "ecr_repository",
            "launch_template",
            "target_group",
            "load_balancer",
            "listener",
            "autoscaling_group",
            "scaling_policy",
            "alarm",
        ] {
            assert!(kinds.contains(kind), "no {kind}");
        }
        assert_eq!(resources.iter().filter(|r| r.kind == "subnet").count(), 2);
    }

    #[test]
    fn the_app_port_is_open_only_to_the_load_balancer() {
        let resources = desired(&default_stack(), "1", true);
        let app = resources.iter().find(|r| r.address.0 == "security_group.app").unwrap();
        let ingress = &app.attrs["ingress"].value;
        assert_eq!(ingress[0]["port"], 8080);
        assert_eq!(ingress[0]["source_security_group_id"], reference("security_group.alb", "id"));
        assert!(ingress[0].get("cidrs").is_none());
    }

    #[test]
    fn only_the_instance_role_reads_the_jwt_key_and_instances_get_its_name_not_its_value() {
        let resources = desired(&default_stack(), "1", true);
        let policy = resources.iter().find(|r| r.address.0 == "iam_role_policy.secrets").unwrap();
        assert_eq!(policy.attrs["actions"].value, json!(["ssm:GetParameter"]));
        assert_eq!(policy.attrs["resources"].value, json!([reference("secret_parameter.jwt_key", "arn")]));
        let template = resources.iter().find(|r| r.address.0 == "launch_template.app").unwrap();
        let app = &template.attrs["app"].value;
        assert_eq!(app["jwt_secret_parameter"], reference("secret_parameter.jwt_key", "name"));
        assert_eq!(app["demo_user"], false, "the demo account is off on AWS by default");
        let profile = resources.iter().find(|r| r.address.0 == "instance_profile.instance").unwrap();
        assert!(profile.depends_on.contains(&Address::from("iam_role_policy.secrets")), "instances start readable");
    }

    #[test]
    fn every_taggable_resource_carries_the_stack_tag() {
        for r in desired(&default_stack(), "1", true) {
            if let Some(tags) = r.attrs.get("tags") {
                assert_eq!(tags.value[STACK_TAG], "demo", "{}", r.address);
            }
        }
    }

    #[test]
    fn a_sqlite_stack_with_its_own_registry_has_no_table_and_no_ecr() {
        let mut stack = stack::parse(include_str!("../../stacks/examples/single-sqlite.yaml")).unwrap();
        stack.app.registry = Some("127.0.0.1:5000".into());
        let resources = desired(&stack, "1", true);
        let kinds: Vec<&str> = resources.iter().map(|r| r.kind).collect();
        for absent in ["dynamodb_table", "ecr_repository", "iam_policy_attachment"] {
            assert!(!kinds.contains(&absent), "{absent} present");
        }
        let addresses: Vec<&str> = resources.iter().map(|r| r.address.0.as_str()).collect();
        assert!(!addresses.contains(&"iam_role_policy.table"));
        assert!(addresses.contains(&"iam_role_policy.secrets"), "the JWT key is shared on every store");
    }
}
