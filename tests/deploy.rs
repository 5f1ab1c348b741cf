//! Deploys on AWS (the test AWS: moto behind the proxy, strict with `CLOUDCOMP_TEST_STRICT`):
//! a change to what instances run rolls out through an instance refresh; a version whose
//! instances fail their health checks is rolled back by the deploy alarm and `up` exits 1
//! saying so; `up` cut off mid-rollout is followed by the next `up`; `rollback` goes back.

mod support;

use std::time::{Duration, Instant};

use cloudcomp::aws::Cx;
use support::{Aws, run_with, stderr, stdout};

/// The default stack, named `name`, with `instance_type` and a short health grace (the
/// rollout's warmup), written in `dir`.
fn stack(dir: &std::path::Path, name: &str, instance_type: &str) -> String {
    let text = include_str!("../stacks/default.yaml")
        .replace("name: demo", &format!("name: {name}"))
        .replace("type: t3.micro", &format!("type: {instance_type}\n  health_grace: 1s"));
    let file = dir.join("stack.yaml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// The launch-template version each of the group's instances runs, and the group's own.
async fn versions(cx: &Cx, group: &str) -> (Vec<String>, String) {
    let found = cx.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(group).send().await.unwrap();
    let group = &found.auto_scaling_groups()[0];
    let version = |t: Option<&aws_sdk_autoscaling::types::LaunchTemplateSpecification>| {
        t.and_then(|t| t.version()).unwrap_or_default().to_string()
    };
    let instances = group.instances().iter().map(|i| version(i.launch_template())).collect();
    (instances, version(group.launch_template()))
}

/// How many times `action` was called through the proxy and answered.
fn count(aws: &Aws, action: &str) -> usize {
    aws.calls().iter().filter(|c| c.action == action && c.fault.is_none()).count()
}

/// Whether an instance refresh of `group` is in progress.
async fn refresh_running(cx: &Cx, group: &str) -> bool {
    let found = cx.autoscaling.describe_instance_refreshes().auto_scaling_group_name(group).send().await.unwrap();
    found.instance_refreshes().iter().any(|r| r.status().is_some_and(|s| s.as_str() == "InProgress"))
}

/// The `status --json` of the stack.
async fn status_json(file: &str, endpoint: &str) -> serde_json::Value {
    let status = run_with(&["status", "-f", file, "--endpoint-url", endpoint, "--json"], &[]).await;
    assert!(status.status.success(), "status failed: {}", stderr(&status));
    serde_json::from_slice(&status.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_version_rolls_out_a_failing_one_rolls_back_and_rollback_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("dep{}", std::process::id());
    let aws = Aws::proxied().await;
    let endpoint = aws.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&endpoint), None).await;
    let group = format!("{name}-asg");
    let up = |file: String| {
        let endpoint = endpoint.clone();
        async move { run_with(&["up", "-f", &file, "--endpoint-url", &endpoint], &[]).await }
    };

    let first = up(stack(dir.path(), &name, "t3.micro")).await;
    assert!(first.status.success(), "the first up failed: {}", stderr(&first));
    assert!(stderr(&first).contains("Deploy #1"), "{}", stderr(&first));
    assert_eq!(versions(&cx, &group).await, (vec!["1".to_string(), "1".to_string()], "1".to_string()));
    assert_eq!(count(&aws, "StartInstanceRefresh"), 0, "a new group needs no refresh");

    // A change to what instances run: a new version, rolled out to every instance.
    let second = up(stack(dir.path(), &name, "t3.small")).await;
    assert!(second.status.success(), "the deploy failed: {}", stderr(&second));
    assert!(stderr(&second).contains("Deploy #2") && stderr(&second).contains("instance_type"), "{}", stderr(&second));
    let (instances, current) = versions(&cx, &group).await;
    assert_eq!(current, "2");
    assert!(instances.len() == 2 && instances.iter().all(|v| v == "2"), "instances on {instances:?}");
    assert_eq!(count(&aws, "StartInstanceRefresh"), 1);

    // A scaling change starts no refresh.
    let file = stack(dir.path(), &name, "t3.small");
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("max: 5", "max: 4")).unwrap();
    let scaled = up(file).await;
    assert!(scaled.status.success(), "{}", stderr(&scaled));
    assert_eq!(count(&aws, "StartInstanceRefresh"), 1, "a scaling change rolled out: {}", stderr(&scaled));

    // A version whose instances fail their health checks: the alarm stops it, it rolls back.
    aws.proxy().fail_new_instances(true).await.unwrap();
    let failing = up(stack(dir.path(), &name, "t3.medium")).await;
    aws.proxy().fail_new_instances(false).await.unwrap();
    assert_eq!(failing.status.code(), Some(1), "a rolled-back deploy succeeded: {}", stderr(&failing));
    let said = stderr(&failing);
    assert!(said.contains("rolled back") && said.contains(&format!("{name}-deploy-unhealthy-hosts")), "{said}");
    let (instances, current) = versions(&cx, &group).await;
    assert_eq!(current, "2", "the group left the good version");
    assert!(instances.iter().all(|v| v == "2"), "instances on {instances:?}");
    let status = status_json(&dir.path().join("stack.yaml").to_string_lossy(), &endpoint).await;
    let deploys = status["deploys"].as_array().unwrap();
    assert_eq!(deploys.len(), 2, "a rolled-back deploy is not in the history: {deploys:?}");

    // rollback: back to deploy #1's version everywhere, recorded as deploy #3.
    let file = stack(dir.path(), &name, "t3.small");
    let back = run_with(&["rollback", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(back.status.success(), "rollback failed: {}", stderr(&back));
    let (instances, current) = versions(&cx, &group).await;
    assert_eq!(current, "1");
    assert!(instances.iter().all(|v| v == "1"), "instances on {instances:?}");
    let status = status_json(&file, &endpoint).await;
    let last = status["deploys"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["number"].as_u64(), last["change"].as_str()), (Some(3), Some("rollback to #1")));
    // The next `up` of the same stack leaves the rolled-back version until the stack changes.
    let calls = count(&aws, "StartInstanceRefresh");
    let again = up(stack(dir.path(), &name, "t3.medium")).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(count(&aws, "StartInstanceRefresh"), calls, "up undid the rollback: {}", stderr(&again));

    let down = run_with(&["destroy", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(down.status.success(), "{}", stderr(&down));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_up_cut_off_mid_rollout_or_not_waiting_is_followed_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("cut{}", std::process::id());
    let aws = Aws::proxied().await;
    let endpoint = aws.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&endpoint), None).await;
    let first = run_with(&["up", "-f", &stack(dir.path(), &name, "t3.micro"), "--endpoint-url", &endpoint], &[]).await;
    assert!(first.status.success(), "the first up failed: {}", stderr(&first));

    // A warmup long enough to cut the run off while the refresh goes on.
    let file = stack(dir.path(), &name, "t3.small");
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("health_grace: 1s", "health_grace: 4s"))
        .unwrap();
    let mut cut = std::process::Command::new(env!("CARGO_BIN_EXE_cloudcomp"))
        .args(["up", "-f", &file, "--endpoint-url", &endpoint])
        .envs([("CLOUDCOMP_LANDING_GRACE", "500ms"), ("CLOUDCOMP_TAG_LAG", "0s")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Cut off once AWS runs the refresh (not merely once the call left: AWS may never have
    // taken a call whose caller died on the way).
    let started = Instant::now();
    while !refresh_running(&cx, &format!("{name}-asg")).await {
        assert!(started.elapsed() < Duration::from_secs(120), "the refresh never started");
        assert!(cut.try_wait().unwrap().is_none(), "up ended before it started a refresh");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cut.kill().unwrap();
    cut.wait().unwrap();
    let status = status_json(&file, &endpoint).await;
    let rollout = status["rollout"].as_str().unwrap_or_default();
    assert!(rollout.starts_with("instance refresh "), "status shows no rollout in progress: {status:#}");

    let next = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(next.status.success(), "the next up failed: {}", stderr(&next));
    assert_eq!(count(&aws, "StartInstanceRefresh"), 1, "a second refresh was started: {}", stderr(&next));
    let (instances, current) = versions(&cx, &format!("{name}-asg")).await;
    assert_eq!(current, "2");
    assert!(instances.iter().all(|v| v == "2"), "instances on {instances:?}");
    assert!(stdout(&next).contains("http://"), "{}", stdout(&next));

    // --no-wait returns once the refresh runs; the next `up` follows that one to its end.
    let file = stack(dir.path(), &name, "t3.medium");
    let started = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint, "--no-wait"], &[]).await;
    assert!(started.status.success(), "up --no-wait failed: {}", stderr(&started));
    assert_eq!(count(&aws, "StartInstanceRefresh"), 2);
    let followed = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(followed.status.success(), "{}", stderr(&followed));
    assert_eq!(count(&aws, "StartInstanceRefresh"), 2, "a second refresh was started: {}", stderr(&followed));
    let (instances, current) = versions(&cx, &format!("{name}-asg")).await;
    assert_eq!(current, "3");
    assert!(instances.iter().all(|v| v == "3"), "instances on {instances:?}");

    let down = run_with(&["destroy", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(down.status.success(), "{}", stderr(&down));
}
