//! Shared by the integration tests that drive the `cloudcomp` binary against moto_server:
//! where moto is, running the CLI, and a census of a stack's resources taken through the
//! AWS API (not the state file), kind by kind.

#![allow(dead_code)] // each test crate uses its own subset

use std::collections::BTreeMap;
use std::process::{Command, Output};

use cloudcomp::aws::Cx;
use cloudcomp::plan::STACK_TAG;

/// moto_server's URL, from `CLOUDCOMP_TEST_AWS_ENDPOINT` (set by `.ci/run`).
pub fn moto() -> String {
    std::env::var("CLOUDCOMP_TEST_AWS_ENDPOINT")
        .expect("CLOUDCOMP_TEST_AWS_ENDPOINT is not set: start moto_server (bash .ci/run does)")
}

/// The environment variable that runs the AWS tests in strict mode: through a proxy that
/// makes moto behave as AWS does (eventual consistency, IAM propagation, lingering network
/// interfaces, boot time; see `aws_proxy::Strict`), at `aws_like()` delays scaled by its
/// value (`1` for AWS-like seconds).
pub const STRICT: &str = "CLOUDCOMP_TEST_STRICT";

/// The AWS a test talks to: moto itself, or a strict proxy in front of it (with
/// [`STRICT`] set), optionally injecting faults. Keep it for the whole test: the proxy
/// remembers what was created and deleted, as AWS would.
pub struct Aws {
    proxy: Option<aws_proxy::Proxy>,
}

impl Aws {
    /// moto, or moto behind a strict proxy when the environment asks for it.
    pub async fn start() -> Aws {
        Aws::with_faults(aws_proxy::Faults::NONE).await
    }

    /// Like [`Aws::start`], with `faults` injected (which always needs a proxy).
    pub async fn with_faults(faults: aws_proxy::Faults) -> Aws {
        let strict = strictness().map(|scale| aws_proxy::Strict::aws_like().scaled(scale));
        if strict.is_none() && faults.error_rate == 0.0 && faults.delay_rate == 0.0 {
            return Aws { proxy: None };
        }
        let setup = aws_proxy::Setup { delay: std::time::Duration::ZERO, faults, strict };
        let proxy = aws_proxy::Proxy::start_with("127.0.0.1:0".parse().unwrap(), moto_addr(), setup).await.unwrap();
        Aws { proxy: Some(proxy) }
    }

    /// moto behind a proxy (strict when the environment asks for it), always: the test AWS
    /// that also does what moto cannot (instance refreshes).
    pub async fn proxied() -> Aws {
        // A zero delay still records: faults at rate zero with a delay rate make it a proxy.
        Aws::with_faults(aws_proxy::Faults { delay_rate: 1.0, ..aws_proxy::Faults::NONE }).await
    }

    /// The proxy, for a test that steers it.
    ///
    /// # Panics
    /// When the calls go to moto itself ([`Aws::proxied`] always has one).
    pub fn proxy(&self) -> &aws_proxy::Proxy {
        self.proxy.as_ref().expect("no proxy: start the test AWS with Aws::proxied")
    }

    /// The endpoint URL to give `cloudcomp --endpoint-url`.
    pub fn url(&self) -> String {
        self.proxy.as_ref().map_or_else(moto, |p| p.url())
    }

    /// Every call that went through the proxy (none without one).
    pub fn calls(&self) -> Vec<aws_proxy::Call> {
        self.proxy.as_ref().map(|p| p.calls()).unwrap_or_default()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        if let Some(proxy) = &self.proxy {
            proxy.clear();
        }
    }

    /// Whether the calls go through strict mode.
    pub fn is_strict(&self) -> bool {
        strictness().is_some()
    }
}

/// The scale of strict mode's delays, when [`STRICT`] asks for it.
pub fn strictness() -> Option<f64> {
    let value = std::env::var(STRICT).ok()?;
    let scale: f64 = value.parse().unwrap_or_else(|_| panic!("{STRICT}={value} is not a number"));
    (scale > 0.0).then_some(scale)
}

/// A stack file for the default stack under a name no other test uses, written in `dir`.
pub fn default_stack(dir: &std::path::Path, name: &str) -> String {
    let file = dir.join("stack.yaml");
    let text = include_str!("../../stacks/default.yaml").replace("name: demo", &format!("name: {name}"));
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// What a run waits for AWS after a cut-off run, against moto itself, which executes a call
/// within milliseconds and lists by tags at once: the calls a killed run sent get 500 ms to
/// land (not 2 s), and a tag look-up is not repeated. Strict mode keeps AWS's defaults.
const MOTO_PATIENCE: &[(&str, &str)] = &[("CLOUDCOMP_LANDING_GRACE", "500ms"), ("CLOUDCOMP_TAG_LAG", "0s")];

/// Runs `cloudcomp` with `args` and extra environment `env`, on a blocking thread.
pub async fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let patience = if strictness().is_some() { &[][..] } else { MOTO_PATIENCE };
    let env: Vec<(String, String)> = patience.iter().chain(env).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_cloudcomp")).args(&args).envs(env).output().expect("running cloudcomp")
    })
    .await
    .unwrap()
}

/// What a run printed on stdout.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a run printed on stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// How many resources of each kind carry `cloudcomp:stack=<cx.stack>`, asked of AWS. Named
/// kinds are listed by the stack's name prefix and then checked by tag; kinds AWS cannot
/// tag are counted under their tagged parent.
pub async fn census(cx: &Cx) -> BTreeMap<&'static str, usize> {
    let stack = cx.stack.as_str();
    let prefix = format!("{stack}-");
    let ours = |tags: Vec<(String, String)>| tags.iter().any(|(k, v)| k == STACK_TAG && v == stack);
    let filter = || aws_sdk_ec2::types::Filter::builder().name(format!("tag:{STACK_TAG}")).values(stack).build();
    let mut counts = BTreeMap::new();
    let ec2 = &cx.ec2;
    counts.insert("vpc", ec2.describe_vpcs().filters(filter()).send().await.unwrap().vpcs().len());
    counts.insert("subnet", ec2.describe_subnets().filters(filter()).send().await.unwrap().subnets().len());
    let gateways = ec2.describe_internet_gateways().filters(filter()).send().await.unwrap();
    counts.insert("internet_gateway", gateways.internet_gateways().len());
    let tables = ec2.describe_route_tables().filters(filter()).send().await.unwrap();
    counts.insert("route_table", tables.route_tables().len());
    let groups = ec2.describe_security_groups().filters(filter()).send().await.unwrap();
    counts.insert("security_group", groups.security_groups().len());
    let templates = ec2.describe_launch_templates().filters(filter()).send().await.unwrap();
    counts.insert("launch_template", templates.launch_templates().len());

    let balancers = cx.elb.describe_load_balancers().into_paginator().send().try_collect().await.unwrap();
    let mut ours_lbs = Vec::new();
    for lb in balancers.iter().flat_map(|page| page.load_balancers()) {
        let arn = lb.load_balancer_arn().unwrap();
        if elb_tagged(cx, arn, &ours).await {
            ours_lbs.push(arn.to_string());
        }
    }
    counts.insert("load_balancer", ours_lbs.len());
    let mut listeners = 0;
    for arn in &ours_lbs {
        listeners += cx.elb.describe_listeners().load_balancer_arn(arn).send().await.unwrap().listeners().len();
    }
    counts.insert("listener", listeners);
    let target_groups = cx.elb.describe_target_groups().into_paginator().send().try_collect().await.unwrap();
    let mut count = 0;
    for group in target_groups.iter().flat_map(|page| page.target_groups()) {
        count += usize::from(elb_tagged(cx, group.target_group_arn().unwrap(), &ours).await);
    }
    counts.insert("target_group", count);

    let asgs = cx.autoscaling.describe_auto_scaling_groups().into_paginator().send().try_collect().await.unwrap();
    let ours_asgs: Vec<&str> = asgs
        .iter()
        .flat_map(|page| page.auto_scaling_groups())
        .filter(|g| ours(g.tags().iter().map(|t| pair(t.key(), t.value())).collect()))
        .map(|g| g.auto_scaling_group_name().unwrap_or_default())
        .collect();
    counts.insert("autoscaling_group", ours_asgs.len());
    let mut policies = 0;
    for name in &ours_asgs {
        let found = cx.autoscaling.describe_policies().auto_scaling_group_name(*name).send().await.unwrap();
        policies += found.scaling_policies().len();
    }
    counts.insert("scaling_policy", policies);
    let alarms = cx.cloudwatch.describe_alarms().alarm_name_prefix(&prefix).into_paginator().send().try_collect();
    let mut count = 0;
    for alarm in alarms.await.unwrap().iter().flat_map(|page| page.metric_alarms()) {
        let tags =
            cx.cloudwatch.list_tags_for_resource().resource_arn(alarm.alarm_arn().unwrap()).send().await.unwrap();
        count += usize::from(ours(tags.tags().iter().map(|t| pair(t.key(), t.value())).collect()));
    }
    counts.insert("alarm", count);

    let roles = cx.iam.list_roles().into_paginator().send().try_collect().await.unwrap();
    let mut ours_roles = Vec::new();
    for role in roles.iter().flat_map(|page| page.roles()).filter(|r| r.role_name().starts_with(&prefix)) {
        let tags = cx.iam.list_role_tags().role_name(role.role_name()).send().await.unwrap();
        if ours(tags.tags().iter().map(|t| pair(Some(t.key()), Some(t.value()))).collect()) {
            ours_roles.push(role.role_name().to_string());
        }
    }
    counts.insert("iam_role", ours_roles.len());
    let (mut inline, mut attached) = (0, 0);
    for role in &ours_roles {
        inline += cx.iam.list_role_policies().role_name(role).send().await.unwrap().policy_names().len();
        attached +=
            cx.iam.list_attached_role_policies().role_name(role).send().await.unwrap().attached_policies().len();
    }
    counts.insert("iam_role_policy", inline);
    counts.insert("iam_policy_attachment", attached);
    let profiles = cx.iam.list_instance_profiles().into_paginator().send().try_collect().await.unwrap();
    let profiles = profiles.iter().flat_map(|page| page.instance_profiles());
    let count = profiles.filter(|p| p.instance_profile_name().starts_with(&prefix)).count();
    counts.insert("instance_profile", count);

    let tables = cx.dynamodb.list_tables().into_paginator().send().try_collect().await.unwrap();
    let mut count = 0;
    for table in tables.iter().flat_map(|page| page.table_names()).filter(|t| t.starts_with(&prefix)) {
        let arn = cx.dynamodb.describe_table().table_name(table).send().await.unwrap();
        let arn = arn.table().and_then(|t| t.table_arn()).unwrap_or_default().to_string();
        let tags = cx.dynamodb.list_tags_of_resource().resource_arn(arn).send().await.unwrap();
        count += usize::from(ours(tags.tags().iter().map(|t| pair(Some(t.key()), Some(t.value()))).collect()));
    }
    counts.insert("dynamodb_table", count);

    let repositories = cx.ecr.describe_repositories().into_paginator().send().try_collect().await.unwrap();
    let mut count = 0;
    let repository_name = format!("cloudcomp/{stack}");
    for repository in repositories.iter().flat_map(|page| page.repositories()) {
        if repository.repository_name() != Some(repository_name.as_str()) {
            continue;
        }
        let arn = repository.repository_arn().unwrap_or_default();
        let tags = cx.ecr.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
        count += usize::from(ours(tags.tags().iter().map(|t| pair(Some(t.key()), Some(t.value()))).collect()));
    }
    counts.insert("ecr_repository", count);

    let under = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("BeginsWith")
        .values(format!("/cloudcomp/{stack}/"))
        .build()
        .unwrap();
    let parameters = cx.ssm.describe_parameters().parameter_filters(under).send().await.unwrap();
    let mut count = 0;
    for parameter in parameters.parameters() {
        let tags = cx
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(parameter.name().unwrap_or_default())
            .send()
            .await
            .unwrap();
        count += usize::from(ours(tags.tag_list().iter().map(|t| pair(Some(t.key()), Some(t.value()))).collect()));
    }
    counts.insert("secret_parameter", count);
    counts
}

fn pair(key: Option<&str>, value: Option<&str>) -> (String, String) {
    (key.unwrap_or_default().to_string(), value.unwrap_or_default().to_string())
}

async fn elb_tagged(cx: &Cx, arn: &str, ours: &impl Fn(Vec<(String, String)>) -> bool) -> bool {
    let tags = cx.elb.describe_tags().resource_arns(arn).send().await.unwrap();
    ours(tags.tag_descriptions().iter().flat_map(|d| d.tags()).map(|t| pair(t.key(), t.value())).collect())
}

/// moto_server's address, for the proxy.
pub fn moto_addr() -> std::net::SocketAddr {
    let endpoint = moto();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    std::net::ToSocketAddrs::to_socket_addrs(host).unwrap().next().unwrap()
}

/// How many of each kind the default stack named `name` has, as [`census`] counts them.
pub fn expected(name: &str) -> BTreeMap<&'static str, usize> {
    let text = include_str!("../../stacks/default.yaml").replace("name: demo", &format!("name: {name}"));
    let desired = cloudcomp::plan::desired(&cloudcomp::stack::parse(&text).unwrap(), "t", false);
    let mut counts = BTreeMap::new();
    for resource in &desired {
        *counts.entry(resource.kind).or_insert(0) += 1;
    }
    counts
}

/// The kinds of which the census found any.
pub fn left_over(census: BTreeMap<&'static str, usize>) -> BTreeMap<&'static str, usize> {
    census.into_iter().filter(|(_, count)| *count > 0).collect()
}

/// Checks that the census found exactly what the default stack has, kind by kind.
pub fn assert_exactly_the_stack(found: &BTreeMap<&'static str, usize>, name: &str, context: &str) {
    for (kind, count) in expected(name) {
        let found = found.get(kind).unwrap_or_else(|| panic!("{context}: the census cannot count {kind}"));
        assert_eq!(*found, count, "{context}: {kind} count");
    }
}
