//! Instance refresh through the proxy, against the moto at `CLOUDCOMP_TEST_AWS_ENDPOINT`, with
//! plain query calls: a rolling refresh, its refusals, its rollback (by alarm and by hand), its
//! cancellation, and the launch template user data moto would choke on. Every test makes its own
//! VPC, launch template, target group and Auto Scaling group, under a name of its own.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_proxy::{Faults, Proxy, Setup, Strict};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use roxmltree::Document;
use tokio::net::TcpStream;

/// How long a test waits for a refresh to get somewhere before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// The moto the tests run against.
fn moto() -> SocketAddr {
    let endpoint =
        std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT").expect("CLOUDCOMP_TEST_AWS_ENDPOINT names a moto_server");
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("CLOUDCOMP_TEST_AWS_ENDPOINT is http://host:port")
}

/// A name no other test (or earlier run against the same moto) uses: at most 32 characters, for
/// target groups.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{:x}-{nanos:x}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Strict mode at a twentieth of AWS-like delays (instances boot in 0.4 s, an alarm fires after
/// 0.3 s of unhealthy targets), without the consistency lag, which these tests are not about.
fn strict() -> Setup {
    let scaled = Strict::aws_like().scaled(0.05);
    let strict = Strict { consistency: Duration::ZERO, refresh_give_up: Duration::from_secs(20), ..scaled };
    Setup { delay: Duration::ZERO, faults: Faults::NONE, strict: Some(strict) }
}

/// A proxy in front of moto, and calls through it.
struct Aws {
    proxy: Proxy,
}

impl Aws {
    async fn start(setup: Setup) -> Aws {
        Aws { proxy: Proxy::start_with("127.0.0.1:0".parse().unwrap(), moto(), setup).await.unwrap() }
    }

    /// The status and body of a query call of `service` with `params`, signed as the SDK signs.
    async fn call(&self, service: &str, params: &[(&str, &str)]) -> (u16, String) {
        let version = match service {
            "ec2" => "2016-11-15",
            "autoscaling" => "2011-01-01",
            "elasticloadbalancing" => "2015-12-01",
            _ => "2010-08-01",
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .append_pair("Version", version)
            .finish();
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=0"
        );
        let request = Request::post("/")
            .header("host", self.proxy.addr.to_string())
            .header("authorization", authorization)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let stream = TcpStream::connect(self.proxy.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// The body of a call that must succeed.
    async fn ok(&self, service: &str, params: &[(&str, &str)]) -> String {
        let (status, body) = self.call(service, params).await;
        assert_eq!(status, 200, "{params:?}: {body}");
        body
    }

    /// A VPC, subnet, launch template with versions 1 and 2, target group, and a group of two
    /// instances of version 1 in it.
    async fn stack(&self, prefix: &str) -> Stack {
        let name = unique(prefix);
        let vpc = text(&self.ok("ec2", &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")]).await, "vpcId");
        let subnet = [
            ("Action", "CreateSubnet"),
            ("VpcId", &vpc),
            ("CidrBlock", "10.0.1.0/24"),
            ("AvailabilityZone", "us-east-1a"),
        ];
        let subnet = text(&self.ok("ec2", &subnet).await, "subnetId");
        let data = [("LaunchTemplateData.ImageId", "ami-12c6146b"), ("LaunchTemplateData.InstanceType", "t3.micro")];
        let mut create = vec![("Action", "CreateLaunchTemplate"), ("LaunchTemplateName", name.as_str())];
        create.extend(data);
        let template = text(&self.ok("ec2", &create).await, "launchTemplateId");
        let mut version = vec![("Action", "CreateLaunchTemplateVersion"), ("LaunchTemplateId", template.as_str())];
        version.extend(data);
        assert_eq!(text(&self.ok("ec2", &version).await, "versionNumber"), "2");
        let target_group = [
            ("Action", "CreateTargetGroup"),
            ("Name", &name),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("VpcId", &vpc),
            ("TargetType", "instance"),
        ];
        let target_group = text(&self.ok("elasticloadbalancing", &target_group).await, "TargetGroupArn");
        let group = [
            ("Action", "CreateAutoScalingGroup"),
            ("AutoScalingGroupName", name.as_str()),
            ("LaunchTemplate.LaunchTemplateId", template.as_str()),
            ("LaunchTemplate.Version", "1"),
            ("MinSize", "2"),
            ("MaxSize", "2"),
            ("DesiredCapacity", "2"),
            ("VPCZoneIdentifier", subnet.as_str()),
            ("TargetGroupARNs.member.1", target_group.as_str()),
        ];
        self.ok("autoscaling", &group).await;
        let stack = Stack { name, template, target_group };
        let group = self.group(&stack).await;
        assert_eq!(group.versions(), ["1", "1"]);
        stack
    }

    /// The group, as the proxy shows it.
    async fn group(&self, stack: &Stack) -> Group {
        let params = [("Action", "DescribeAutoScalingGroups"), ("AutoScalingGroupNames.member.1", stack.name.as_str())];
        let answer = self.ok("autoscaling", &params).await;
        let document = Document::parse(&answer).unwrap();
        let member = document.descendants().find(|n| n.has_tag_name("member")).expect("the group");
        let instances = child(member, "Instances").unwrap().children().filter(|n| n.has_tag_name("member"));
        Group {
            version: version(member),
            desired: child(member, "DesiredCapacity").unwrap().text().unwrap().parse().unwrap(),
            max: child(member, "MaxSize").unwrap().text().unwrap().parse().unwrap(),
            instances: instances
                .map(|i| Instance {
                    id: child(i, "InstanceId").unwrap().text().unwrap().to_string(),
                    lifecycle: child(i, "LifecycleState").unwrap().text().unwrap().to_string(),
                    version: version(i),
                })
                .collect(),
        }
    }

    /// StartInstanceRefresh to version 2 with cloudcomp's preferences and `extra` ones: the id,
    /// or the error code.
    async fn start_refresh(&self, stack: &Stack, extra: &[(&str, &str)]) -> Result<String, String> {
        let mut params = vec![
            ("Action", "StartInstanceRefresh"),
            ("AutoScalingGroupName", stack.name.as_str()),
            ("Strategy", "Rolling"),
            ("DesiredConfiguration.LaunchTemplate.LaunchTemplateId", stack.template.as_str()),
            ("DesiredConfiguration.LaunchTemplate.Version", "2"),
            ("Preferences.MinHealthyPercentage", "100"),
            ("Preferences.MaxHealthyPercentage", "200"),
            ("Preferences.InstanceWarmup", "0"),
            ("Preferences.SkipMatching", "true"),
        ];
        for (name, value) in extra {
            match params.iter_mut().find(|(n, _)| n == name) {
                Some(param) => param.1 = value,
                None => params.push((name, value)),
            }
        }
        let (status, body) = self.call("autoscaling", &params).await;
        if status == 200 { Ok(text(&body, "InstanceRefreshId")) } else { Err(text(&body, "Code")) }
    }

    /// The refresh `id` of the stack's group, as DescribeInstanceRefreshes shows it.
    async fn refresh(&self, stack: &Stack, id: &str) -> Refresh {
        let params = [
            ("Action", "DescribeInstanceRefreshes"),
            ("AutoScalingGroupName", stack.name.as_str()),
            ("InstanceRefreshIds.member.1", id),
        ];
        let answer = self.ok("autoscaling", &params).await;
        let refresh = Refresh { xml: answer };
        assert_eq!(refresh.get("InstanceRefreshId").as_deref(), Some(id));
        refresh
    }

    /// Polls the refresh until `done` says so, calling `each` with the group on every poll.
    async fn wait(
        &self,
        stack: &Stack,
        id: &str,
        done: impl Fn(&Refresh) -> bool,
        mut each: impl FnMut(&Group),
    ) -> Refresh {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let refresh = self.refresh(stack, id).await;
            each(&self.group(stack).await);
            if done(&refresh) {
                return refresh;
            }
            assert!(tokio::time::Instant::now() < deadline, "still {:?}", refresh.get("Status"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the refresh until its status is `status`.
    async fn wait_for(&self, stack: &Stack, id: &str, status: &str) -> Refresh {
        self.wait(stack, id, |r| r.get("Status").as_deref() == Some(status), |_| {}).await
    }

    /// The state names of the instances `ids` in EC2.
    async fn ec2_states(&self, ids: &[String]) -> Vec<String> {
        let keys: Vec<String> = (1..=ids.len()).map(|i| format!("InstanceId.{i}")).collect();
        let mut params = vec![("Action", "DescribeInstances")];
        params.extend(keys.iter().map(String::as_str).zip(ids.iter().map(String::as_str)));
        let answer = self.ok("ec2", &params).await;
        let document = Document::parse(&answer).unwrap();
        let states = document.descendants().filter(|n| n.has_tag_name("instanceState"));
        states
            .filter_map(|s| s.children().find(|c| c.has_tag_name("name")).and_then(|n| n.text()).map(String::from))
            .collect()
    }
}

/// The resources of one test.
struct Stack {
    name: String,
    template: String,
    target_group: String,
}

/// An Auto Scaling group as the proxy shows it.
#[derive(Debug)]
struct Group {
    version: String,
    desired: u32,
    max: u32,
    instances: Vec<Instance>,
}

impl Group {
    fn versions(&self) -> Vec<&str> {
        self.instances.iter().map(|i| i.version.as_str()).collect()
    }

    fn ids(&self) -> Vec<String> {
        self.instances.iter().map(|i| i.id.clone()).collect()
    }
}

/// An instance of a group.
#[derive(Debug)]
struct Instance {
    id: String,
    lifecycle: String,
    version: String,
}

/// A DescribeInstanceRefreshes answer about one refresh.
struct Refresh {
    xml: String,
}

impl Refresh {
    fn get(&self, element: &str) -> Option<String> {
        let document = Document::parse(&self.xml).unwrap();
        document.descendants().find(|n| n.has_tag_name(element)).and_then(|n| n.text()).map(String::from)
    }
}

/// The first child element of `node` named `name`.
fn child<'a, 'input>(node: roxmltree::Node<'a, 'input>, name: &str) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|c| c.has_tag_name(name))
}

/// The `LaunchTemplate/Version` of a group or instance element.
fn version(node: roxmltree::Node) -> String {
    child(child(node, "LaunchTemplate").unwrap(), "Version").unwrap().text().unwrap().to_string()
}

/// The text of the first `element` of `xml`.
fn text(xml: &str, element: &str) -> String {
    let document = Document::parse(xml).unwrap();
    document.descendants().find(|n| n.has_tag_name(element)).and_then(|n| n.text()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_refresh_replaces_every_instance_without_dropping_below_the_desired_capacity() {
    let aws = Aws::start(strict()).await;
    let stack = aws.stack("ok").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while aws.group(&stack).await.instances.iter().any(|i| i.lifecycle != "InService") {
        assert!(tokio::time::Instant::now() < deadline, "the first instances never booted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let old = aws.group(&stack).await.ids();
    let id = aws.start_refresh(&stack, &[("Preferences.InstanceWarmup", "1")]).await.unwrap();
    let mut polls = 0;
    let mut seen_more = false;
    let refresh = aws
        .wait(
            &stack,
            &id,
            |r| !matches!(r.get("Status").as_deref(), Some("Pending" | "InProgress")),
            |group| {
                polls += 1;
                let in_service = group.instances.iter().filter(|i| i.lifecycle == "InService").count();
                assert!(in_service >= 2, "{group:?}");
                seen_more |= group.instances.len() > 2;
                if group.instances.len() > 2 {
                    assert_eq!(
                        (group.version.as_str(), group.desired, group.max),
                        ("1", 2, 2),
                        "as before, while it runs"
                    );
                }
            },
        )
        .await;
    assert_eq!(refresh.get("Status").as_deref(), Some("Successful"), "{}", refresh.xml);
    assert_eq!(refresh.get("PercentageComplete").as_deref(), Some("100"));
    assert_eq!(refresh.get("InstancesToUpdate").as_deref(), Some("0"));
    assert!(refresh.get("EndTime").is_some_and(|t| t.ends_with('Z')));
    assert!(seen_more && polls > 2, "replacements were launched before the old instances went ({polls} polls)");
    let group = aws.group(&stack).await;
    assert_eq!(group.versions(), ["2", "2"]);
    assert_eq!((group.version.as_str(), group.desired, group.max), ("2", 2, 2));
    assert!(group.ids().iter().all(|id| !old.contains(id)));
    assert_eq!(aws.ec2_states(&old).await, ["terminated", "terminated"]);
    let actions: Vec<String> = aws.proxy.calls().into_iter().map(|c| c.action).collect();
    assert!(actions.contains(&"StartInstanceRefresh".to_string()));
    assert!(actions.contains(&"DescribeInstanceRefreshes".to_string()));
    assert!(
        !actions.contains(&"TerminateInstanceInAutoScalingGroup".to_string()),
        "the proxy's own calls are not recorded"
    );
}

#[tokio::test]
async fn a_second_refresh_is_refused_while_one_is_active() {
    let aws = Aws::start(Setup::default()).await;
    let stack = aws.stack("twice").await;
    aws.proxy.fail_new_instances(true).await.unwrap();
    let first = aws.start_refresh(&stack, &[]).await.unwrap();
    assert_eq!(aws.start_refresh(&stack, &[]).await, Err("InstanceRefreshInProgress".to_string()));
    let cancel = [("Action", "CancelInstanceRefresh"), ("AutoScalingGroupName", stack.name.as_str())];
    assert_eq!(text(&aws.ok("autoscaling", &cancel).await, "InstanceRefreshId"), first);
    aws.wait_for(&stack, &first, "Cancelled").await;
    let (status, body) = aws.call("autoscaling", &cancel).await;
    assert_eq!((status, text(&body, "Code").as_str()), (400, "ActiveInstanceRefreshNotFound"));
    let unknown = [("Action", "DescribeInstanceRefreshes"), ("AutoScalingGroupName", "no-such-group")];
    let (status, body) = aws.call("autoscaling", &unknown).await;
    assert_eq!((status, text(&body, "Code").as_str()), (400, "ValidationError"));
    let rollback_latest =
        [("DesiredConfiguration.LaunchTemplate.Version", "$Latest"), ("Preferences.AutoRollback", "true")];
    assert_eq!(aws.start_refresh(&stack, &rollback_latest).await, Err("ValidationError".to_string()));
}

#[tokio::test]
async fn a_refresh_with_nothing_to_replace_succeeds_at_once() {
    let aws = Aws::start(Setup::default()).await;
    let stack = aws.stack("skip").await;
    let first = aws.start_refresh(&stack, &[("DesiredConfiguration.LaunchTemplate.Version", "1")]).await.unwrap();
    let refresh = aws.refresh(&stack, &first).await;
    assert_eq!(refresh.get("Status").as_deref(), Some("Successful"));
    assert_eq!(refresh.get("PercentageComplete").as_deref(), Some("100"));
    assert_eq!(refresh.get("InstancesToUpdate").as_deref(), Some("0"));
    let again = aws.start_refresh(&stack, &[("DesiredConfiguration.LaunchTemplate.Version", "1")]).await.unwrap();
    let params = [("Action", "DescribeInstanceRefreshes"), ("AutoScalingGroupName", stack.name.as_str())];
    let answer = aws.ok("autoscaling", &params).await;
    let document = Document::parse(&answer).unwrap();
    let ids: Vec<&str> =
        document.descendants().filter(|n| n.has_tag_name("InstanceRefreshId")).filter_map(|n| n.text()).collect();
    assert_eq!(ids, [again.as_str(), first.as_str()], "newest first");
    let one =
        [("Action", "DescribeInstanceRefreshes"), ("AutoScalingGroupName", stack.name.as_str()), ("MaxRecords", "1")];
    let answer = aws.ok("autoscaling", &one).await;
    assert_eq!(text(&answer, "InstanceRefreshId"), again);
    assert_eq!(text(&answer, "NextToken"), "1");
    assert_eq!(aws.group(&stack).await.versions(), ["1", "1"]);
}

#[tokio::test]
async fn unhealthy_replacements_set_off_the_alarm_and_the_refresh_rolls_back() {
    let aws = Aws::start(strict()).await;
    let stack = aws.stack("alarm").await;
    let alarm = format!("{}-unhealthy", stack.name);
    let dimension = stack.target_group.rsplit(':').next().unwrap().to_string();
    let put = [
        ("Action", "PutMetricAlarm"),
        ("AlarmName", alarm.as_str()),
        ("MetricName", "UnHealthyHostCount"),
        ("Namespace", "AWS/ApplicationELB"),
        ("Statistic", "Maximum"),
        ("Period", "60"),
        ("EvaluationPeriods", "1"),
        ("Threshold", "0"),
        ("ComparisonOperator", "GreaterThanThreshold"),
        ("Dimensions.member.1.Name", "TargetGroup"),
        ("Dimensions.member.1.Value", dimension.as_str()),
    ];
    aws.ok("monitoring", &put).await;
    let old = aws.group(&stack).await.ids();
    aws.proxy.fail_new_instances(true).await.unwrap();
    let extra =
        [("Preferences.AutoRollback", "true"), ("Preferences.AlarmSpecification.Alarms.member.1", alarm.as_str())];
    let id = aws.start_refresh(&stack, &extra).await.unwrap();
    let rolling_back = aws
        .wait(
            &stack,
            &id,
            |r| r.get("Status").as_deref() != Some("Pending") && r.get("Status").as_deref() != Some("InProgress"),
            |_| {},
        )
        .await;
    assert!(
        matches!(rolling_back.get("Status").as_deref(), Some("RollbackInProgress" | "RollbackSuccessful")),
        "{}",
        rolling_back.xml
    );
    aws.proxy.fail_new_instances(false).await.unwrap();
    let refresh = aws.wait(&stack, &id, |r| r.get("Status").as_deref() != Some("RollbackInProgress"), |_| {}).await;
    assert_eq!(refresh.get("Status").as_deref(), Some("RollbackSuccessful"), "{}", refresh.xml);
    assert!(refresh.get("RollbackReason").is_some_and(|r| r.contains(&alarm)), "{}", refresh.xml);
    assert!(refresh.get("RollbackStartTime").is_some());
    assert_eq!(refresh.get("PercentageComplete").as_deref(), Some("0"));
    let group = aws.group(&stack).await;
    assert_eq!(group.versions(), ["1", "1"]);
    assert_eq!((group.version.as_str(), group.desired, group.max), ("1", 2, 2));
    assert_eq!(group.ids().len(), 2);
    assert!(old.iter().all(|id| group.ids().contains(id)), "min 100 %: the old instances never went");
    // The alarm fired (the rollback names it); with the failing instances gone it recovers to
    // OK after one evaluation window, as CloudWatch would set it.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let alarms =
            aws.ok("monitoring", &[("Action", "DescribeAlarms"), ("AlarmNames.member.1", alarm.as_str())]).await;
        if text(&alarms, "StateValue") == "OK" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the alarm never recovered: {alarms}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_cancelled_refresh_stops_and_keeps_the_previous_configuration() {
    let aws = Aws::start(Setup::default()).await;
    let stack = aws.stack("cancel").await;
    aws.proxy.fail_new_instances(true).await.unwrap();
    let id = aws.start_refresh(&stack, &[]).await.unwrap();
    aws.wait(&stack, &id, |_| true, |_| {}).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while aws.group(&stack).await.instances.len() < 4 {
        assert!(tokio::time::Instant::now() < deadline, "no replacements launched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cancel = [("Action", "CancelInstanceRefresh"), ("AutoScalingGroupName", stack.name.as_str())];
    aws.ok("autoscaling", &cancel).await;
    let refresh = aws.refresh(&stack, &id).await;
    assert!(matches!(refresh.get("Status").as_deref(), Some("Cancelling" | "Cancelled")), "{}", refresh.xml);
    let refresh = aws.wait_for(&stack, &id, "Cancelled").await;
    assert!(refresh.get("EndTime").is_some());
    let group = aws.group(&stack).await;
    assert_eq!(group.versions(), ["1", "1"]);
    assert_eq!((group.version.as_str(), group.desired, group.max), ("1", 2, 2));
}

#[tokio::test]
async fn a_manual_rollback_puts_the_previous_version_back() {
    let aws = Aws::start(strict()).await;
    let stack = aws.stack("back").await;
    aws.proxy.fail_new_instances(true).await.unwrap();
    let terminate_first = [("Preferences.MinHealthyPercentage", "50"), ("Preferences.MaxHealthyPercentage", "100")];
    let id = aws.start_refresh(&stack, &terminate_first).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !aws.group(&stack).await.versions().contains(&"2") {
        assert!(tokio::time::Instant::now() < deadline, "no replacement launched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rollback = [("Action", "RollbackInstanceRefresh"), ("AutoScalingGroupName", stack.name.as_str())];
    assert_eq!(text(&aws.ok("autoscaling", &rollback).await, "InstanceRefreshId"), id);
    assert_eq!(aws.refresh(&stack, &id).await.get("Status").as_deref(), Some("RollbackInProgress"));
    aws.proxy.fail_new_instances(false).await.unwrap();
    let refresh = aws.wait(&stack, &id, |r| r.get("Status").as_deref() != Some("RollbackInProgress"), |_| {}).await;
    assert_eq!(refresh.get("Status").as_deref(), Some("RollbackSuccessful"), "{}", refresh.xml);
    assert!(refresh.get("RollbackReason").is_some_and(|r| r.contains("RollbackInstanceRefresh")));
    let group = aws.group(&stack).await;
    assert_eq!(group.versions(), ["1", "1"]);
    assert_eq!((group.version.as_str(), group.desired), ("1", 2));
    let (status, body) = aws.call("autoscaling", &rollback).await;
    assert_eq!((status, text(&body, "Code").as_str()), (400, "ActiveInstanceRefreshNotFound"));
}

#[tokio::test]
async fn user_data_of_new_versions_does_not_break_launches() {
    let aws = Aws::start(Setup::default()).await;
    let name = unique("ud");
    let vpc = text(&aws.ok("ec2", &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")]).await, "vpcId");
    let subnet =
        [("Action", "CreateSubnet"), ("VpcId", &vpc), ("CidrBlock", "10.0.1.0/24"), ("AvailabilityZone", "us-east-1a")];
    let subnet = text(&aws.ok("ec2", &subnet).await, "subnetId");
    let first = [
        ("Action", "CreateLaunchTemplate"),
        ("LaunchTemplateName", name.as_str()),
        ("LaunchTemplateData.ImageId", "ami-12c6146b"),
        ("LaunchTemplateData.UserData", "dmVyc2lvbiAx"),
    ];
    let template = text(&aws.ok("ec2", &first).await, "launchTemplateId");
    let second = [
        ("Action", "CreateLaunchTemplateVersion"),
        ("LaunchTemplateId", template.as_str()),
        ("LaunchTemplateData.ImageId", "ami-12c6146b"),
        ("LaunchTemplateData.UserData", "dmVyc2lvbiAy"),
    ];
    assert_eq!(text(&aws.ok("ec2", &second).await, "versionNumber"), "2");
    let group = [
        ("Action", "CreateAutoScalingGroup"),
        ("AutoScalingGroupName", name.as_str()),
        ("LaunchTemplate.LaunchTemplateId", template.as_str()),
        ("LaunchTemplate.Version", "2"),
        ("MinSize", "1"),
        ("MaxSize", "1"),
        ("DesiredCapacity", "1"),
        ("VPCZoneIdentifier", subnet.as_str()),
    ];
    aws.ok("autoscaling", &group).await;
    let described = [("Action", "DescribeAutoScalingGroups"), ("AutoScalingGroupNames.member.1", name.as_str())];
    assert!(!text(&aws.ok("autoscaling", &described).await, "InstanceId").is_empty(), "launched from version 2");
    let versions = [("Action", "DescribeLaunchTemplateVersions"), ("LaunchTemplateId", template.as_str())];
    let answer = aws.ok("ec2", &versions).await;
    let document = Document::parse(&answer).unwrap();
    let user_data: Vec<(&str, &str)> = document
        .descendants()
        .filter(|n| n.has_tag_name("item") && n.children().any(|c| c.has_tag_name("versionNumber")))
        .map(|item| {
            let version = item.children().find(|c| c.has_tag_name("versionNumber")).and_then(|n| n.text()).unwrap();
            let data =
                item.descendants().find(|c| c.has_tag_name("userData")).and_then(|n| n.text()).unwrap_or_default();
            (version, data)
        })
        .collect();
    assert_eq!(user_data, [("1", "dmVyc2lvbiAx"), ("2", "dmVyc2lvbiAy")]);
}
