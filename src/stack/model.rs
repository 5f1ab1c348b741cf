//! The typed stack file. Every field has a default except `name`; `cloudcomp schema` prints
//! the JSON Schema generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{Cidr, Seconds};

/// A cloudcomp stack: the app, the network it runs in, and how it scales.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Names and tags every resource (`cloudcomp:stack=<name>`): lowercase letters, digits
    /// and hyphens, starting with a letter, at most 24 characters.
    pub name: String,
    /// AWS region, e.g. us-east-1.
    #[serde(default = "default_region")]
    pub region: String,
    /// The bundled API and where its data lives.
    #[serde(default)]
    pub app: App,
    /// The VPC, its public subnets, and who may reach the load balancer.
    #[serde(default)]
    pub network: Network,
    /// The EC2 instances that run the app.
    #[serde(default)]
    pub instances: Instances,
    /// Auto Scaling group size and the request-count alarms that resize it.
    #[serde(default)]
    pub scaling: Scaling,
    /// The load balancer's health check of each instance.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Extra tags for every resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// Where the app keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// A SQLite file on the instance: one instance only (`scaling.max: 1`).
    Sqlite,
    /// A DynamoDB table shared by every instance.
    Dynamodb,
}

/// The bundled API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct App {
    /// Port the app listens on inside each instance (the load balancer listens on 80).
    pub port: u16,
    /// `dynamodb` (shared by every instance) or `sqlite` (one instance).
    pub store: StoreKind,
    /// Registry to push the image to, e.g. `127.0.0.1:5000`; default: the stack's ECR repository.
    pub registry: Option<String>,
    /// Seed the demo accounts on an empty store: seed 003's `demo` / `password123` and seed
    /// 004's `defaultclient@client.as` / `defaultadmin@admin.as`, as the READMEs print them.
    /// Default: on for `up --local` (a client written for the originals logs in as their
    /// READMEs say), off on AWS (a deployed service should not answer to a printed password).
    pub demo_user: Option<bool>,
    /// Environment variables the app gets on every instance (and every local replica), e.g.
    /// `{CLOUDCOMP_RATE_LOGIN: "10"}`: names in `[A-Z_][A-Z0-9_]*`, values on one line. The
    /// ones cloudcomp sets itself (listen address, store, database path, table, region, JWT
    /// key parameter, demo account, forwarded-for trust) are refused. A change is a new
    /// release: a new launch-template version rolled out on AWS, a rolling deploy locally.
    pub env: BTreeMap<String, String>,
}

impl Default for App {
    fn default() -> Self {
        App { port: 8080, store: StoreKind::Dynamodb, registry: None, demo_user: None, env: BTreeMap::new() }
    }
}

impl App {
    /// Whether the demo accounts are seeded: `app.demo_user`, else on `local`ly only.
    pub fn demo_accounts(&self, local: bool) -> bool {
        self.demo_user.unwrap_or(local)
    }
}

/// The network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Network {
    /// The VPC's address range.
    pub vpc_cidr: Cidr,
    /// One public subnet per availability zone; an ALB needs at least two.
    pub public_subnets: Vec<Cidr>,
    /// Address ranges allowed to reach the load balancer on port 80.
    pub allow_from: Vec<Cidr>,
}

impl Default for Network {
    fn default() -> Self {
        let cidr = |s: &str| s.parse().expect("default CIDRs are valid");
        Network {
            vpc_cidr: cidr("10.0.0.0/16"),
            public_subnets: vec![cidr("10.0.1.0/24"), cidr("10.0.2.0/24")],
            allow_from: vec![cidr("0.0.0.0/0")],
        }
    }
}

/// The instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Instances {
    /// EC2 instance type.
    #[serde(rename = "type")]
    pub instance_type: String,
    /// `al2023` (the latest Amazon Linux 2023, looked up through SSM) or an explicit `ami-…` id.
    pub ami: String,
    /// How long a new instance may boot (install Docker, pull the image, start the app)
    /// before failed health checks get it replaced.
    pub health_grace: Seconds,
    /// How long an instance leaving the load balancer keeps finishing the requests it has.
    pub deregistration_delay: Seconds,
}

impl Default for Instances {
    fn default() -> Self {
        Instances {
            instance_type: "t3.micro".into(),
            ami: "al2023".into(),
            health_grace: Seconds(300),
            deregistration_delay: Seconds(30),
        }
    }
}

/// The Auto Scaling group and its request-count scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Scaling {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Instances at creation (default: `min`).
    pub desired: Option<u32>,
    /// When to add instances.
    pub scale_out: ScaleOut,
    /// When to remove instances.
    pub scale_in: ScaleIn,
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling { min: 2, max: 5, desired: None, scale_out: ScaleOut::default(), scale_in: ScaleIn::default() }
    }
}

impl Scaling {
    /// The instance count at creation.
    pub fn desired(&self) -> u32 {
        self.desired.unwrap_or(self.min)
    }
}

/// Add instances when the load balancer counts more than `requests_above` requests per
/// `per`, for `periods` periods in a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleOut {
    /// Request count threshold per period.
    pub requests_above: u32,
    /// Length of one period (10s, 30s or a multiple of 60s).
    pub per: Seconds,
    /// Consecutive periods above the threshold before acting.
    pub periods: u32,
    /// Instances to add each time.
    pub add: u32,
    /// Wait after a scaling action before the next.
    pub cooldown: Seconds,
}

impl Default for ScaleOut {
    fn default() -> Self {
        ScaleOut { requests_above: 10, per: Seconds(60), periods: 3, add: 1, cooldown: Seconds(60) }
    }
}

/// Remove instances when the load balancer counts fewer than `requests_below` requests per
/// `per`, for `periods` periods in a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleIn {
    /// Request count threshold per period.
    pub requests_below: u32,
    /// Length of one period (10s, 30s or a multiple of 60s).
    pub per: Seconds,
    /// Consecutive periods below the threshold before acting.
    pub periods: u32,
    /// Instances to remove each time.
    pub remove: u32,
    /// Wait after a scaling action before the next.
    pub cooldown: Seconds,
}

impl Default for ScaleIn {
    fn default() -> Self {
        ScaleIn { requests_below: 10, per: Seconds(60), periods: 3, remove: 1, cooldown: Seconds(60) }
    }
}

/// The load balancer's health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HealthCheck {
    /// Path requested on each instance; a 200 means healthy.
    pub path: String,
    /// Time between checks (5s to 300s).
    pub interval: Seconds,
    /// How long one check waits for its answer (2s to 120s, less than the interval;
    /// default 5s, or less for a shorter interval).
    pub timeout: Option<Seconds>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck { path: "/health".into(), interval: Seconds(15), timeout: None }
    }
}

impl HealthCheck {
    /// The timeout: as set, else 5s, kept below the interval.
    pub fn timeout(&self) -> Seconds {
        self.timeout.unwrap_or(Seconds(5.min(self.interval.0.saturating_sub(1)).max(2)))
    }
}
