//! The engine and resource kinds against a real moto_server (CLOUDCOMP_TEST_AWS_ENDPOINT,
//! started by .ci/run): create, no-change, change in place, destroy, checked through the
//! AWS API rather than the state file.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use cloudcomp::aws::{self, Cx};
use cloudcomp::engine::{self, Report, Verb};
use cloudcomp::plan::{self, Action, Address, Resource};
use cloudcomp::stack;
use cloudcomp::state::{self, State};
use support::{Aws, assert_exactly_the_stack, census, left_over, moto, run_with, stderr, stdout};

/// Records every finished step.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Verb)>>);

impl Report for Recorder {
    fn started(&self, _: &Address, _: Verb) {}
    fn finished(&self, address: &Address, verb: Verb, _: &str, _: Duration) {
        self.0.lock().unwrap().push((address.0.clone(), verb));
    }
    fn failed(&self, address: &Address, _: Verb, error: &anyhow::Error) {
        panic!("{address} failed: {error:#}");
    }
}

/// The stack's resources.
fn buildable(stack: &stack::Stack) -> Vec<Resource> {
    plan::desired(stack, "1", false)
}

async fn tagged(cx: &Cx, what: &str) -> usize {
    let filter = Filter::builder().name(format!("tag:{}", plan::STACK_TAG)).values(&cx.stack).build();
    match what {
        "vpc" => cx.ec2.describe_vpcs().filters(filter).send().await.unwrap().vpcs().len(),
        "subnet" => cx.ec2.describe_subnets().filters(filter).send().await.unwrap().subnets().len(),
        "security_group" => {
            cx.ec2.describe_security_groups().filters(filter).send().await.unwrap().security_groups().len()
        }
        "internet_gateway" => {
            cx.ec2.describe_internet_gateways().filters(filter).send().await.unwrap().internet_gateways().len()
        }
        "route_table" => cx.ec2.describe_route_tables().filters(filter).send().await.unwrap().route_tables().len(),
        other => panic!("no count for {other}"),
    }
}

/// The Auto Scaling groups called `name` (none or one).
async fn groups_named(
    cx: &Cx,
    name: &str,
) -> aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput {
    cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.unwrap()
}

#[tokio::test]
async fn default_stack_up_no_change_update_and_destroy() {
    let name = format!("dflt{}", std::process::id());
    let text = include_str!("../stacks/default.yaml").replace("name: demo", &format!("name: {name}"));
    let mut stack = stack::parse(&text).unwrap();
    let cx = Arc::new(Cx::connect(&stack.name, &stack.region, Some(&moto()), None).await);
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    let mut state = State::new(&stack.name, &stack.region);

    let desired = buildable(&stack);
    assert!(desired.len() >= 20, "expected the whole stack, got {}", desired.len());
    let plan = plan::diff(&desired, &state);
    assert_eq!(plan.count(Action::Create), desired.len());
    let report = Recorder::default();
    engine::apply(cx.clone(), aws::kind, &plan, &desired, &mut state, &state_path, &report).await.unwrap();
    assert_eq!(report.0.lock().unwrap().len(), desired.len(), "each resource created exactly once");
    assert_eq!(state::load(&state_path, &name, &stack.region).unwrap(), state, "the state file holds every step");
    for (kind, count) in [("vpc", 1), ("subnet", 2), ("security_group", 2), ("internet_gateway", 1), ("route_table", 1)]
    {
        assert_eq!(tagged(&cx, kind).await, count, "{kind} by tag");
    }

    // The app's group admits the app port from the load balancer's group only.
    let app_group = state.resources[&Address::from("security_group.app")].id.clone();
    let alb_group = state.resources[&Address::from("security_group.alb")].id.clone();
    let groups = cx.ec2.describe_security_groups().group_ids(&app_group).send().await.unwrap();
    let rules = groups.security_groups()[0].ip_permissions();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].from_port(), Some(8080));
    assert!(rules[0].ip_ranges().is_empty());
    assert_eq!(rules[0].user_id_group_pairs()[0].group_id(), Some(alb_group.as_str()));

    // The group launched its instances into the target group; the alarms drive the policies.
    let group = groups_named(&cx, &format!("{name}-asg")).await;
    let group = &group.auto_scaling_groups()[0];
    assert_eq!((group.min_size(), group.max_size(), group.desired_capacity()), (Some(2), Some(5), Some(2)));
    assert_eq!(group.instances().len(), 2);
    assert_eq!(group.health_check_type(), Some("ELB"));
    let alarms = cx.cloudwatch.describe_alarms().alarm_name_prefix(format!("{name}-")).send().await.unwrap();
    let (scaling, guards): (Vec<_>, Vec<_>) =
        alarms.metric_alarms().iter().partition(|a| a.metric_name() == Some("RequestCount"));
    assert_eq!(scaling.len(), 2);
    // The deploy guards watch the target group, act on nothing, and name it as CloudWatch does.
    let mut guarded: Vec<&str> = guards.iter().filter_map(|a| a.metric_name()).collect();
    guarded.sort_unstable();
    assert_eq!(guarded, ["HTTPCode_Target_5XX_Count", "UnHealthyHostCount"]);
    for guard in &guards {
        assert!(guard.alarm_actions().is_empty());
        let target_group = guard.dimensions().iter().find(|d| d.name() == Some("TargetGroup")).unwrap();
        assert!(target_group.value().unwrap().starts_with("targetgroup/"), "{target_group:?}");
    }
    for alarm in scaling {
        assert_eq!(alarm.metric_name(), Some("RequestCount"));
        let action = &alarm.alarm_actions()[0];
        let policy = if alarm.threshold() == Some(10.0) && alarm.alarm_name().unwrap().ends_with("out") {
            "scale_out"
        } else {
            "scale_in"
        };
        assert_eq!(
            Some(action.as_str()),
            state.resources[&Address::from(format!("scaling_policy.{policy}").as_str())].outputs["arn"].as_str()
        );
    }
    let policy = cx
        .iam
        .get_role_policy()
        .role_name(format!("{name}-instance"))
        .policy_name("dynamodb-table")
        .send()
        .await
        .unwrap();
    let document = urlencoding_decode(policy.policy_document());
    let table_arn = state.resources[&Address::from("dynamodb_table.app")].outputs["arn"].as_str().unwrap().to_string();
    assert!(document.contains(&table_arn) && !document.contains("\"*\""), "policy not scoped to the table: {document}");

    assert!(plan::diff(&desired, &state).is_empty(), "a second run plans nothing");

    stack.network.allow_from = vec!["203.0.113.0/24".parse().unwrap()];
    stack.scaling.max = 4;
    let changed = buildable(&stack);
    let plan = plan::diff(&changed, &state);
    let touched: Vec<(&str, Action)> = plan.changes.iter().map(|c| (c.address.0.as_str(), c.action)).collect();
    assert_eq!(touched, [("security_group.alb", Action::Update), ("autoscaling_group.app", Action::Update)]);
    engine::apply(cx.clone(), aws::kind, &plan, &changed, &mut state, &state_path, &Recorder::default()).await.unwrap();
    let groups = cx.ec2.describe_security_groups().group_ids(&alb_group).send().await.unwrap();
    let ranges: Vec<&str> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| p.ip_ranges())
        .filter_map(|r| r.cidr_ip())
        .collect();
    assert_eq!(ranges, ["203.0.113.0/24"]);
    let group = groups_named(&cx, &format!("{name}-asg")).await;
    assert_eq!(group.auto_scaling_groups()[0].max_size(), Some(4));

    let teardown = plan::diff(&[], &state);
    assert_eq!(teardown.count(Action::Delete), desired.len());
    engine::apply(cx.clone(), aws::kind, &teardown, &[], &mut state, &state_path, &Recorder::default()).await.unwrap();
    assert!(state.resources.is_empty());
    for kind in ["vpc", "subnet", "security_group", "internet_gateway", "route_table"] {
        assert_eq!(tagged(&cx, kind).await, 0, "{kind} left behind");
    }
    let groups = groups_named(&cx, &format!("{name}-asg")).await;
    assert!(groups.auto_scaling_groups().is_empty(), "the Auto Scaling group is left behind");
    let balancers = cx.elb.describe_load_balancers().send().await.unwrap();
    assert!(
        !balancers.load_balancers().iter().any(|l| l.load_balancer_name() == Some(&format!("{name}-alb"))),
        "ALB left behind"
    );
    assert!(cx.iam.get_role().role_name(format!("{name}-instance")).send().await.is_err(), "IAM role left behind");
    assert!(cx.dynamodb.describe_table().table_name(format!("{name}-app")).send().await.is_err(), "table left behind");
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// A proxy that records every call (strict when the environment asks for it).
async fn proxy() -> Aws {
    // A zero delay still records: faults at rate zero with a delay rate make it a proxy.
    Aws::with_faults(aws_proxy::Faults { delay_rate: 1.0, ..aws_proxy::Faults::NONE }).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_ups_shows_status_changes_only_what_differs_repairs_drift_and_destroys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yaml");
    let name = format!("cli{}", std::process::id());
    let text = include_str!("../stacks/default.yaml").replace("name: demo", &format!("name: {name}"));
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let proxy = proxy().await;
    let endpoint = proxy.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;

    let up = run_with(&["up", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(up.status.success(), "up failed on its first run: {}", stderr(&up));
    assert!(stderr(&up).contains("service up in"), "up did not wait for the service: {}", stderr(&up));
    assert_exactly_the_stack(&census(&cx).await, &name, "the first up");
    let refusals = proxy.calls().iter().filter(|c| c.is_strict_refusal()).count();
    if proxy.is_strict() {
        assert!(refusals > 0, "strict mode refused nothing: it was not in the way");
    }
    let url = stdout(&up);
    assert!(url.trim().starts_with("http://") && url.trim().ends_with("/api/v1/users"), "up printed {url:?}");
    let state_file = dir.path().join(".cloudcomp").join(format!("{name}.state.json"));
    assert!(state_file.exists(), "no state file beside the stack");

    // status: every resource live, the group's instances, the targets, the alarms, the URL.
    let status = run_with(&["status", "-f", file, "--endpoint-url", &endpoint, "--json"], &[]).await;
    assert!(status.status.success(), "status failed: {}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["url"].as_str(), Some(url.trim()));
    let resources = status["resources"].as_array().unwrap();
    assert!(resources.len() >= 20 && resources.iter().all(|r| r["status"] == "live"), "{status:#}");
    let find = |address: &str| resources.iter().find(|r| r["address"] == address).unwrap().clone();
    let instances = find("autoscaling_group.app")["details"]["instances"].as_array().unwrap().clone();
    assert_eq!(instances.len(), 2, "{instances:?}");
    assert!(instances.iter().all(|i| i["id"].as_str().unwrap().starts_with("i-") && i["lifecycle"].is_string()));
    assert!(find("target_group.app")["details"]["targets"].is_array());
    assert!(find("alarm.scale_out")["details"]["state"].is_string());
    let text_status = run_with(&["status", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(stdout(&text_status).contains("autoscaling_group.app") && stdout(&text_status).contains(url.trim()));

    // A second `up` with no change reads every resource and changes nothing.
    proxy.clear();
    let again = run_with(&["up", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(again.status.success(), "no-change up failed: {}", stderr(&again));
    assert!(stderr(&again).contains("no changes"), "{}", stderr(&again));
    let calls = proxy.calls();
    let mutating: Vec<_> = calls.iter().filter(|c| c.is_mutating()).collect();
    assert!(mutating.is_empty(), "a no-change up mutated: {mutating:?}");
    assert!(calls.len() >= resources.len(), "refresh read only {} resources", calls.len());
    assert_eq!(run_with(&["plan", "-f", file, "--endpoint-url", &endpoint], &[]).await.status.code(), Some(0));

    // A changed field: the plan shows exactly it, up applies exactly it.
    std::fs::write(
        dir.path().join("stack.yaml"),
        text.replace("allow_from: [0.0.0.0/0]", "allow_from: [203.0.113.0/24]"),
    )
    .unwrap();
    let plan = run_with(&["plan", "-f", file, "--endpoint-url", &endpoint, "--json"], &[]).await;
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let changes: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("security_group.alb", "update")]);
    proxy.clear();
    let applied = run_with(&["up", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(applied.status.success(), "up failed: {}", stderr(&applied));
    let mutating: Vec<String> = proxy.calls().into_iter().filter(|c| c.is_mutating()).map(|c| c.action).collect();
    assert_eq!(mutating, ["RevokeSecurityGroupIngress", "AuthorizeSecurityGroupIngress"]);

    // Drift: changed and deleted behind cloudcomp's back; plan names it, up repairs it.
    cx.autoscaling
        .update_auto_scaling_group()
        .auto_scaling_group_name(format!("{name}-asg"))
        .max_size(3)
        .send()
        .await
        .unwrap();
    cx.cloudwatch.delete_alarms().alarm_names(format!("{name}-requests-scale-in")).send().await.unwrap();
    let plan = run_with(&["plan", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert_eq!(plan.status.code(), Some(2));
    let shown = stdout(&plan);
    assert!(shown.contains("autoscaling_group.app was changed outside cloudcomp: max_size"), "{shown}");
    assert!(shown.contains("alarm.scale_in was deleted outside cloudcomp"), "{shown}");
    assert!(shown.contains("max_size: 3 → 5"), "{shown}");
    let repaired = run_with(&["up", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(repaired.status.success(), "up failed: {}", stderr(&repaired));
    let group = groups_named(&cx, &format!("{name}-asg")).await;
    assert_eq!(group.auto_scaling_groups()[0].max_size(), Some(5));
    let alarm = cx.cloudwatch.describe_alarms().alarm_names(format!("{name}-requests-scale-in")).send().await.unwrap();
    assert_eq!(alarm.metric_alarms().len(), 1, "the deleted alarm was not recreated");
    assert_eq!(run_with(&["plan", "-f", file, "--endpoint-url", &endpoint], &[]).await.status.code(), Some(0));

    // A second run while the state is locked by a live process changes nothing.
    let lock = state_file.with_file_name(format!("{name}.state.json.lock"));
    let held = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    held.try_lock().unwrap();
    std::fs::write(&lock, format!("{} 2026-01-01T00:00:00Z\n", std::process::id())).unwrap();
    let locked = run_with(&["destroy", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert_eq!(locked.status.code(), Some(1));
    assert!(stderr(&locked).contains(&format!("locked by pid {}", std::process::id())));
    std::fs::write(&lock, "").unwrap();
    drop(held);

    let down = run_with(&["destroy", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(down.status.success(), "destroy failed: {}", stderr(&down));
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert_eq!(state["resources"], serde_json::json!({}));
    for kind in ["vpc", "subnet", "security_group", "internet_gateway", "route_table"] {
        assert_eq!(tagged(&cx, kind).await, 0, "{kind} left behind");
    }
    let status = run_with(&["status", "-f", file, "--endpoint-url", &endpoint], &[]).await;
    assert!(stdout(&status).contains("is not deployed"), "{}", stdout(&status));
    let left = left_over(census(&cx).await);
    assert!(left.is_empty(), "destroy left {left:?}");
    eprintln!(
        "REPORT provision (strict: {}): up converged on run 1 riding out {refusals} strict refusals, 0 duplicates, \
         0 left after one destroy",
        proxy.is_strict()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_refuses_what_does_not_carry_the_stack_tag() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("foreign{}", std::process::id());
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, include_str!("../stacks/default.yaml").replace("name: demo", &format!("name: {name}")))
        .unwrap();
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;
    let stranger = cx.ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.unwrap();
    let stranger = stranger.vpc().unwrap().vpc_id().unwrap().to_string();
    let state_file = dir.path().join("state.json");
    let state = serde_json::json!({
        "version": 1, "stack": name, "region": "us-east-1",
        "resources": { "vpc": { "kind": "vpc", "id": stranger, "attrs": {}, "outputs": {"id": stranger}, "depends_on": [] } }
    });
    std::fs::write(&state_file, state.to_string()).unwrap();
    let args = ["destroy", "-f", file.to_str().unwrap(), "--state", state_file.to_str().unwrap(), "--endpoint-url"];
    let down = run_with(&[&args[..], &[moto().as_str()]].concat(), &[]).await;
    assert_eq!(down.status.code(), Some(1));
    assert!(
        stderr(&down).contains(&format!("refusing to delete vpc {stranger}: it is not tagged cloudcomp:stack={name}")),
        "{}",
        stderr(&down)
    );
    let still = cx.ec2.describe_vpcs().vpc_ids(&stranger).send().await.unwrap();
    assert_eq!(still.vpcs().len(), 1, "the untagged VPC was deleted");
}
