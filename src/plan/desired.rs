//! The stack model → the resources it needs, in dependency order (see DESIGN.md, "Resources
//! and their order"). Pure: the only inputs are the stack and the image to run.

use serde_json::{Value, json};

use super::graph::{Resource, reference};
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
    let mut out = Vec::new();

    out.push(Resource::new("vpc", "vpc").fixed("cidr_block", json!(net.vpc_cidr)).set("tags", tags.clone()));
    let subnets: Vec<String> = (0..net.public_subnets.len()).map(|i| format!("subnet.public[{i}]")).collect();
    for (i, cidr) in net.public_subnets.iter().enumerate() {
        out.push(
            Resource::new("subnet", subnets[i].clone())
                .fixed("vpc_id", reference("vpc", "id"))
                .fixed("cidr_block", json!(cidr))
                .fixed("availability_zone_index", json!(i))
                .set("map_public_ip_on_launch", json!(true))
                // Its zone must offer the instance type.
                .set("instance_type", json!(stack.instances.instance_type))
                .set("tags", tags.clone()),
        );
    }
    let subnet_ids: Value = subnets.iter().map(|s| reference(s, "id")).collect();
    out.push(
        Resource::new("internet_gateway", "internet_gateway")
            .fixed("vpc_id", reference("vpc", "id"))
            .set("tags", tags.clone()),
    );
    out.push(
        Resource::new("route_table", "route_table.public")
            .fixed("vpc_id", reference("vpc", "id"))
            .set("routes", json!([{ "destination": "0.0.0.0/0", "gateway_id": reference("internet_gateway", "id") }]))
            .set("subnet_ids", subnet_ids.clone())
            .set("tags", tags.clone()),
    );

    out.push(
        Resource::new("security_group", "security_group.alb")
            .fixed("vpc_id", reference("vpc", "id"))
            .fixed("name", json!(format!("{name}-alb")))
            .fixed("description", json!(format!("cloudcomp {name}: load balancer")))
            .set("ingress", json!([{ "port": 80, "cidrs": net.allow_from }]))
            .set("tags", tags.clone()),
    );
    out.push(
        Resource::new("security_group", "security_group.app")
            .fixed("vpc_id", reference("vpc", "id"))
            .fixed("name", json!(format!("{name}-app")))
            .fixed(
                "description",
                json!(format!("cloudcomp {name}: app instances, reachable only from the load balancer")),
            )
            .set(
                "ingress",
                json!([{ "port": stack.app.port, "source_security_group_id": reference("security_group.alb", "id") }]),
            )
            .set("tags", tags.clone()),
    );

    out.push(
        Resource::new("iam_role", "iam_role.instance")
            .fixed("name", json!(format!("{name}-instance")))
            .set("assume_role_service", json!("ec2.amazonaws.com"))
            .set("tags", tags.clone()),
    );
    let shared_table = stack.app.store == StoreKind::Dynamodb;
    if shared_table {
        out.push(
            Resource::new("dynamodb_table", "dynamodb_table.app")
                .fixed("name", json!(format!("{name}-app")))
                .fixed("hash_key", json!("pk"))
                .fixed("range_key", json!("sk"))
                .set("billing_mode", json!("PAY_PER_REQUEST"))
                // The app's rate-limit counters expire by it.
                .set("ttl_attribute", json!("expires_at"))
                .set("tags", tags.clone()),
        );
        out.push(
            Resource::new("iam_role_policy", "iam_role_policy.table")
                .fixed("role_name", reference("iam_role.instance", "name"))
                .fixed("name", json!("dynamodb-table"))
                .set("actions", json!(TABLE_ACTIONS))
                .set(
                    "resources",
                    json!([reference("dynamodb_table.app", "arn"), reference("dynamodb_table.app", "index_arn")]),
                ),
        );
    }
    // The JWT key every instance signs and checks tokens with: only the role may read it.
    out.push(
        Resource::new("secret_parameter", "secret_parameter.jwt_key")
            .fixed("name", json!(format!("/cloudcomp/{name}/jwt-key")))
            .fixed("description", json!(format!("cloudcomp {name}: the app's JWT signing key")))
            .set("tags", tags.clone()),
    );
    out.push(
        Resource::new("iam_role_policy", "iam_role_policy.secrets")
            .fixed("role_name", reference("iam_role.instance", "name"))
            .fixed("name", json!("read-secrets"))
            .set("actions", json!(["ssm:GetParameter"]))
            .set("resources", json!([reference("secret_parameter.jwt_key", "arn")])),
    );
    let pulls_from_ecr = stack.app.registry.is_none();
    if pulls_from_ecr {
        out.push(
            Resource::new("ecr_repository", "ecr_repository.app")
                .fixed("name", json!(format!("cloudcomp/{name}")))
                .set("tags", tags.clone()),
        );
        out.push(
            Resource::new("iam_policy_attachment", "iam_policy_attachment.ecr_read")
                .fixed("role_name", reference("iam_role.instance", "name"))
                .fixed("policy_arn", json!(ECR_READ_ONLY)),
        );
    }
    let mut profile = Resource::new("instance_profile", "instance_profile.instance")
        .fixed("name", json!(format!("{name}-instance")))
        .set("role_name", reference("iam_role.instance", "name"))
        .set("tags", tags.clone());
    // Instances must not start before their role can do what the app needs.
    for policy in ["iam_role_policy.table", "iam_role_policy.secrets", "iam_policy_attachment.ecr_read"] {
        if out.iter().any(|r| r.address.0 == policy) {
            profile = profile.after(policy);
        }
    }
    out.push(profile);

    let table_name = if shared_table { json!(format!("{name}-app")) } else { Value::Null };
    let repository = match &stack.app.registry {
        Some(registry) => json!(format!("{registry}/cloudcomp-app")),
        None => reference("ecr_repository.app", "url"),
    };
    // A pushed image is pinned by the digest the push returns; one cloudcomp does not push
    // (an emulated ECR has no registry) is named by its tag.
    let image = if pushed {
        out.push(
            Resource::new("container_image", "container_image.app")
                .fixed("repository", repository.clone())
                .fixed("tag", json!(image_tag)),
        );
        reference("container_image.app", "reference")
    } else {
        Value::Null
    };
    out.push(
        Resource::new("launch_template", "launch_template.app")
            .fixed("name", json!(format!("{name}-app")))
            .set("ami", json!(stack.instances.ami))
            .set("instance_type", json!(stack.instances.instance_type))
            .set("instance_profile_arn", reference("instance_profile.instance", "arn"))
            .set("security_group_ids", json!([reference("security_group.app", "id")]))
            .set("imdsv2_required", json!(true))
            .set("root_volume_encrypted", json!(true))
            .set(
                "app",
                json!({
                    "image": image,
                    "image_repository": repository,
                    "image_tag": image_tag,
                    "port": stack.app.port,
                    "store": stack.app.store,
                    "table": table_name,
                    "region": stack.region,
                    "jwt_secret_parameter": reference("secret_parameter.jwt_key", "name"),
                    "demo_user": stack.app.demo_user,
                }),
            )
            .set("tags", tags.clone()),
    );
    out.push(
        Resource::new("target_group", "target_group.app")
            .fixed("name", json!(format!("{name}-tg")))
            .fixed("vpc_id", reference("vpc", "id"))
            .fixed("port", json!(stack.app.port))
            .set("health_check_path", json!(stack.health_check.path))
            .set("health_check_interval_seconds", json!(stack.health_check.interval.0))
            .set("health_check_timeout_seconds", json!(stack.health_check.timeout().0))
            .set("deregistration_delay_seconds", json!(stack.instances.deregistration_delay.0))
            .set("tags", tags.clone()),
    );
    out.push(
        Resource::new("load_balancer", "load_balancer.app")
            .fixed("name", json!(format!("{name}-alb")))
            .set("subnet_ids", subnet_ids.clone())
            .set("security_group_ids", json!([reference("security_group.alb", "id")]))
            .set("tags", tags.clone())
            // Internet-facing: the VPC must have its gateway attached first.
            .after("internet_gateway"),
    );
    out.push(
        Resource::new("listener", "listener.http")
            .fixed("load_balancer_arn", reference("load_balancer.app", "arn"))
            .set("port", json!(80))
            .set("target_group_arn", reference("target_group.app", "arn")),
    );
    let scaling = &stack.scaling;
    out.push(
        Resource::new("autoscaling_group", "autoscaling_group.app")
            .fixed("name", json!(format!("{name}-asg")))
            .set("min_size", json!(scaling.min))
            .set("max_size", json!(scaling.max))
            .set("desired_capacity", json!(scaling.desired()))
            .set("launch_template_id", reference("launch_template.app", "id"))
            // New instances take the newest template version; no ASG call is needed when it changes.
            .set("launch_template_version", json!("$Latest"))
            .set("subnet_ids", subnet_ids)
            .set("target_group_arns", json!([reference("target_group.app", "arn")]))
            .set("health_check_type", json!("ELB"))
            .set("health_check_grace_period", json!(stack.instances.health_grace.0))
            .set("tags", tags.clone())
            // Instances register through the listener's target group; routes must exist so
            // they can reach the registry at boot.
            .after("listener.http")
            .after("route_table.public"),
    );
    let out_rule = &scaling.scale_out;
    let in_rule = &scaling.scale_in;
    for (direction, adjustment, cooldown) in
        [("out", i64::from(out_rule.add), out_rule.cooldown.0), ("in", -i64::from(in_rule.remove), in_rule.cooldown.0)]
    {
        out.push(
            Resource::new("scaling_policy", format!("scaling_policy.scale_{direction}"))
                .fixed("name", json!(format!("{name}-scale-{direction}")))
                .fixed("autoscaling_group_name", reference("autoscaling_group.app", "name"))
                .set("adjustment", json!(adjustment))
                .set("cooldown_seconds", json!(cooldown)),
        );
    }
    for (direction, comparison, threshold, period, periods) in [
        ("out", "GreaterThanThreshold", out_rule.requests_above, out_rule.per.0, out_rule.periods),
        ("in", "LessThanThreshold", in_rule.requests_below, in_rule.per.0, in_rule.periods),
    ] {
        out.push(
            Resource::new("alarm", format!("alarm.scale_{direction}"))
                .fixed("name", json!(format!("{name}-requests-scale-{direction}")))
                .set("namespace", json!("AWS/ApplicationELB"))
                .set("metric", json!("RequestCount"))
                .set("statistic", json!("Sum"))
                .set("dimensions", json!({ "LoadBalancer": reference("load_balancer.app", "arn_suffix") }))
                .set("comparison", json!(comparison))
                .set("threshold", json!(threshold))
                .set("period_seconds", json!(period))
                .set("evaluation_periods", json!(periods))
                // No requests at all is "below the threshold", not "unknown".
                .set("treat_missing_data", json!(if direction == "in" { "breaching" } else { "notBreaching" }))
                .set("alarm_actions", json!([reference(&format!("scaling_policy.scale_{direction}"), "arn")]))
                .set("tags", tags.clone()),
        );
    }
    out
}

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
fn tags(stack: &Stack) -> Value {
    let mut tags: serde_json::Map<String, Value> =
        stack.tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    tags.insert(STACK_TAG.into(), Value::String(stack.name.clone()));
    Value::Object(tags)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::plan::Address;
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
