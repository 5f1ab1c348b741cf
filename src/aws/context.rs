//! The SDK clients every kind uses, built once from aws-config's default chain, and the
//! Docker engine the image push uses.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

/// Attempts per AWS call (the SDK's standard retry mode; its default is 3). Ten ride out
/// throttling and 5xx answers even when one call in five fails (tests/faults.rs): all ten
/// fail about once in ten million calls.
const MAX_ATTEMPTS: u32 = 10;

/// The longest pause between attempts (jittered exponential backoff from 1 s; the SDK's
/// default cap is 20 s): a wrong endpoint fails in about 30 s rather than minutes.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The default [`Cx::tag_lag`].
const TAG_LAG: Duration = Duration::from_secs(5);

/// The default [`Cx::follow_rollouts`].
const FOLLOW_ROLLOUTS: Duration = Duration::from_secs(30 * 60);

/// Clients and stack facts shared by every kind.
pub struct Cx {
    /// EC2: VPC, subnets, gateways, routes, security groups, launch templates.
    pub ec2: aws_sdk_ec2::Client,
    /// IAM: the instance role, its policies and instance profile.
    pub iam: aws_sdk_iam::Client,
    /// DynamoDB: the app's table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// ECR: the image repository.
    pub ecr: aws_sdk_ecr::Client,
    /// Elastic Load Balancing v2: load balancer, target group, listener.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Auto Scaling: the group and its policies.
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// CloudWatch: the request-count alarms.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SSM: the public parameter naming the latest Amazon Linux AMI.
    pub ssm: aws_sdk_ssm::Client,
    /// The stack's name, for tags and names.
    pub stack: String,
    /// The region.
    pub region: String,
    /// How long, after a cut-off run, a look-up by tags that finds nothing keeps looking:
    /// EC2 lists a new resource under its tags only seconds after creating it (EC2 API
    /// reference, "Eventual consistency").
    pub tag_lag: Duration,
    /// How long an update of the Auto Scaling group follows the rollout of a new version
    /// until it ends; `None` returns once it runs (`up --no-wait`).
    pub follow_rollouts: Option<Duration>,
    /// The Docker engine, connected on first use (the image push).
    docker: tokio::sync::OnceCell<bollard::Docker>,
}

impl Cx {
    /// Connects to AWS (or to `endpoint`, e.g. a moto_server) in `region`, with the named
    /// profile or the default credential chain.
    pub async fn connect(stack: &str, region: &str, endpoint: Option<&str>, profile: Option<&str>) -> Self {
        // Up to 16 calls run at once; on real AWS that draws throttling. The SDK's standard
        // retry (exponential backoff with jitter, a client-side token bucket) with more
        // attempts than its default 3 rides it out.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS).with_max_backoff(MAX_BACKOFF));
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        Cx {
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            autoscaling: aws_sdk_autoscaling::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            stack: stack.to_string(),
            region: region.to_string(),
            tag_lag: TAG_LAG,
            follow_rollouts: Some(FOLLOW_ROLLOUTS),
            docker: tokio::sync::OnceCell::new(),
        }
    }

    /// The Docker engine (connected once, on first use).
    pub async fn docker(&self) -> anyhow::Result<&bollard::Docker> {
        self.docker.get_or_try_init(crate::image::docker::connect).await
    }
}
