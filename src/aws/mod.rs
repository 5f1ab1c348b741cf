//! Resource kinds: one module per kind, each the only place its SDK calls live, all with
//! the same verbs ([`Kind`]). [`KINDS`] lists them; the engine finds a kind by name and
//! never names one itself. Each module declares its attributes as one typed struct (what
//! the plan builds, and what it can update in place) and writes its verbs against that
//! struct ([`TypedKind`]).

mod alarm;
mod autoscaling_group;
mod container_image;
mod context;
mod dynamodb_table;
mod ecr_repository;
mod iam_policy_attachment;
mod iam_role;
mod iam_role_policy;
mod instance_profile;
mod internet_gateway;
mod launch_template;
mod listener;
mod load_balancer;
mod refusal;
mod retry;
mod route_table;
mod scaling_policy;
mod secret_parameter;
mod security_group;
mod serving;
mod subnet;
mod tags;
mod target_group;
mod typed;
mod vpc;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::plan::graph::Attributes;

pub use alarm::AlarmAttrs;
pub use autoscaling_group::{AutoscalingGroupAttrs, rollout};
pub use container_image::ContainerImageAttrs;
pub use context::Cx;
pub use dynamodb_table::DynamodbTableAttrs;
pub use ecr_repository::EcrRepositoryAttrs;
pub use iam_policy_attachment::IamPolicyAttachmentAttrs;
pub use iam_role::IamRoleAttrs;
pub use iam_role_policy::IamRolePolicyAttrs;
pub use instance_profile::InstanceProfileAttrs;
pub use internet_gateway::InternetGatewayAttrs;
pub use launch_template::{AppConfig, LaunchTemplateAttrs, check_instance_type};
pub use listener::ListenerAttrs;
pub use load_balancer::LoadBalancerAttrs;
pub use refusal::{Refusal, Refused};
pub use retry::{CatchUp, NEW_EC2_ID, NEW_IAM_ENTITY, RELEASE, retrying};
pub use route_table::{Route, RouteTableAttrs};
pub use scaling_policy::ScalingPolicyAttrs;
pub use secret_parameter::SecretParameterAttrs;
pub use security_group::{Rule, SecurityGroupAttrs};
pub use serving::{Serving, until_serving};
pub use subnet::SubnetAttrs;
pub use tags::Tags;
pub use target_group::TargetGroupAttrs;
pub use typed::{Stored, TypedKind};
pub use vpc::VpcAttrs;

/// Attributes with every reference resolved: what a kind receives.
pub type Attrs = BTreeMap<String, Value>;

/// What creating or updating a resource produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The id to find it again by.
    pub id: String,
    /// Values other resources refer to (`id`, `arn`, …).
    pub outputs: BTreeMap<String, Value>,
}

impl Applied {
    /// A resource whose only output is its id.
    pub fn with_id(id: impl Into<String>) -> Self {
        let id = id.into();
        Applied { outputs: BTreeMap::from([("id".to_string(), Value::String(id.clone()))]), id }
    }

    /// Adds an output.
    pub fn output(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.outputs.insert(name.to_string(), value.into());
        self
    }
}

/// What reading a live resource found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// Its tags; `None` for kinds AWS cannot tag (an inline policy, a scaling policy…),
    /// which belong to a tagged parent.
    pub tags: Option<BTreeMap<String, String>>,
    /// Live values of the attributes the kind reads back, named and shaped as the fields of
    /// its attributes struct.
    pub attrs: Attrs,
    /// What `status` shows beyond the id: instances, target health, alarm state.
    pub details: serde_json::Map<String, Value>,
}

impl Live {
    /// A live resource carrying `tags`.
    pub fn tagged<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> Self {
        Live { tags: Some(tags.into_iter().map(|(k, v)| (k.into(), v.into())).collect()), ..Live::default() }
    }

    /// A live resource of a kind AWS cannot tag.
    pub fn untaggable() -> Self {
        Live::default()
    }

    /// Adds the live value of an attribute.
    pub fn attr(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attrs.insert(name.to_string(), value.into());
        self
    }

    /// Adds something `status` shows.
    pub fn detail(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_string(), value.into());
        self
    }

    /// Its tags in the stack's shape (the `tags` attribute): without the address tag, which
    /// cloudcomp manages itself, and without AWS's own `aws:` tags. `None` for untaggable kinds.
    pub fn tags_attr(&self) -> Option<Value> {
        let tags = self.tags.as_ref()?;
        let shown = tags
            .iter()
            .filter(|(k, _)| k.as_str() != tags::ADDRESS_TAG && !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())));
        Some(Value::Object(shown.collect()))
    }

    /// Whether it carries `cloudcomp:stack=<stack>` (kinds without tags always count as
    /// their parent's).
    pub fn belongs_to(&self, stack: &str) -> bool {
        self.tags.as_ref().is_none_or(|tags| tags.get(crate::plan::STACK_TAG).is_some_and(|s| s == stack))
    }
}

/// The verbs every resource kind has, as the engine calls them: attributes as JSON, with
/// every reference resolved. Implemented once, for every [`TypedKind`], which reads them as
/// its typed [`Attributes`] struct.
#[async_trait]
pub trait Kind: Sync {
    /// The kind's name in plans and state files (`vpc`, `subnet`, …).
    fn name(&self) -> &'static str;

    /// The attributes [`Kind::update`] changes in place ([`Attributes::UPDATABLE`]); a
    /// change to any other replaces the resource.
    fn updatable(&self) -> &'static [&'static str];

    /// Creates the resource (tagged for the stack) and waits until it is usable. Calls
    /// [`note_created`] the moment AWS answers the Create with an id.
    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied>;

    /// Changes attributes in place; `before` is what was last applied.
    async fn update(&self, cx: &Cx, address: &str, id: &str, before: &Attrs, after: &Attrs) -> anyhow::Result<Applied>;

    /// About how long creating (or deleting) one takes on AWS: the executor starts the
    /// steps with the heaviest chain behind them first (the load balancer's).
    fn expected_duration(&self) -> Duration;

    /// How long after its creation AWS may still answer that the resource does not exist:
    /// a refresh reads a younger one again rather than take it for deleted. Zero for kinds
    /// whose reads see their creations at once.
    fn read_lag(&self) -> Duration;

    /// Reads the live resource `id` (recorded with `attrs`); `None` when it no longer exists.
    async fn read(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>>;

    /// Finds the resource a run cut off between creating it and recording it may have left
    /// at `address` (created with `attrs`): the one `hint` names when that run saw AWS
    /// answer its Create, else by the stack and address tags or by the name `attrs` give it.
    /// Finishes what that run may not have (an attachment, a rule) and returns what `create`
    /// would have. `None`: there is none. The caller checks, through [`Kind::read`], that it
    /// carries the stack's tag before adopting it.
    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, hint: Hint<'_>) -> anyhow::Result<Option<Applied>>;

    /// Every id AWS holds for `address` under the stack's tags: more than one when a cut-off
    /// run created a copy it never recorded, so that `destroy` leaves none behind. Empty for
    /// kinds AWS keeps unique by name.
    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>>;

    /// Deletes the resource and waits until it is gone. Deleting what is already gone succeeds.
    async fn delete(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<()>;
}

/// Every kind cloudcomp can manage.
pub static KINDS: &[&dyn Kind] = &[
    &vpc::Vpc,
    &subnet::Subnet,
    &internet_gateway::InternetGateway,
    &route_table::RouteTable,
    &security_group::SecurityGroup,
    &iam_role::IamRole,
    &iam_role_policy::IamRolePolicy,
    &iam_policy_attachment::IamPolicyAttachment,
    &secret_parameter::SecretParameter,
    &instance_profile::InstanceProfile,
    &dynamodb_table::DynamodbTable,
    &ecr_repository::EcrRepository,
    &container_image::ContainerImage,
    &launch_template::LaunchTemplate,
    &target_group::TargetGroup,
    &load_balancer::LoadBalancer,
    &listener::Listener,
    &autoscaling_group::AutoscalingGroup,
    &scaling_policy::ScalingPolicy,
    &alarm::Alarm,
];

/// The kind called `name`.
pub fn kind(name: &str) -> Option<&'static dyn Kind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// Error codes that mean "it is not there (any more)": deleting it again is done.
const GONE: &[&str] = &[
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidGroup.NotFound",
    "Gateway.NotAttached",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "ParameterNotFound",
    "RepositoryNotFoundException",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
];

/// Whether AWS answered that the resource does not exist.
pub fn is_gone(refusal: &Refusal) -> bool {
    refusal.is(GONE)
}

/// Treats "already gone" as success.
pub fn gone_is_fine<T>(result: impl Refused<T>) -> anyhow::Result<()> {
    match result.refused() {
        Ok(_) => Ok(()),
        Err(refusal) if is_gone(&refusal) => Ok(()),
        Err(refusal) => Err(refusal.into()),
    }
}

/// Treats the error `codes` as success: what the call would do is already done (a killed
/// run's last call can still land at AWS after the next run has read the resource).
pub fn already_done<T>(result: impl Refused<T>, codes: &[&str]) -> anyhow::Result<()> {
    match result.refused() {
        Ok(_) => Ok(()),
        Err(refusal) if refusal.is(codes) => Ok(()),
        Err(refusal) => Err(refusal.into()),
    }
}

/// Turns "not found" into `None`: what a read of a deleted resource answers.
pub fn found<T>(result: impl Refused<T>) -> anyhow::Result<Option<T>> {
    match result.refused() {
        Ok(found) => Ok(Some(found)),
        Err(refusal) if is_gone(&refusal) => Ok(None),
        Err(refusal) => Err(refusal.into()),
    }
}

/// Longest wait for a resource to become usable.
const READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What [`Kind::adopt`] knows of the resource it looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint<'a> {
    /// AWS answered the Create with this id before the run was cut off.
    Id(&'a str),
    /// A run was cut off moments ago, maybe between sending the Create and hearing its
    /// answer: a look-up by tags may not list the resource yet.
    JustCut,
    /// Nothing was created moments ago (`destroy --from-tags`): one look-up is the answer.
    Settled,
}

/// What a running step tells the engine while it runs.
pub trait StepEvents: Send + Sync {
    /// The step waits for something ("the load balancer to become active"), shown on its
    /// progress line.
    fn waiting(&self, what: &str);
    /// AWS answered the step's Create* with `id`: the resource exists from now on, whatever
    /// the step's follow-up calls do, and the state must say so at once.
    fn created(&self, id: &str);
}

tokio::task_local! {
    static STEP_EVENTS: std::sync::Arc<dyn StepEvents>;
}

/// Runs `step` with `events` receiving what it waits for and creates.
pub async fn observing<F: Future>(events: std::sync::Arc<dyn StepEvents>, step: F) -> F::Output {
    STEP_EVENTS.scope(events, step).await
}

/// Says what the running step waits for (nothing happens outside [`observing`]).
fn note_wait(what: &str) {
    let _ = STEP_EVENTS.try_with(|events| events.waiting(what));
}

/// Says that AWS created `id` for the running step (nothing happens outside [`observing`]).
/// Kinds call it the moment a Create* answers, before any follow-up call.
pub fn note_created(id: &str) {
    let _ = STEP_EVENTS.try_with(|events| events.created(id));
}

/// Calls `check` until it says the resource is ready, with backoff, for up to 15 minutes.
pub async fn poll<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    while !check().await? {
        anyhow::ensure!(started.elapsed() < READY_TIMEOUT, "gave up waiting for {what}");
        if pause == Duration::from_millis(200) {
            note_wait(what);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
    Ok(())
}

/// Reads `id` with `kind`; a resource that reads as gone while it is younger than its
/// kind's [`Kind::read_lag`] (created at `created_at`, seconds since the epoch) is read
/// again until it is found or it is that old, so that a resource created moments ago is
/// neither taken for deleted (and created again) nor skipped by a destroy.
pub async fn read_settled(
    cx: &Cx,
    kind: &dyn Kind,
    id: &str,
    attrs: &Attrs,
    created_at: Option<u64>,
) -> anyhow::Result<Option<Live>> {
    let settled_at = created_at.map(|at| at + kind.read_lag().as_secs());
    let mut pause = Duration::from_millis(250);
    let mut noted = false;
    loop {
        let live = kind.read(cx, id, attrs).await?;
        if live.is_some() || settled_at.is_none_or(|at| crate::state::now_secs() >= at) {
            return Ok(live);
        }
        if !noted {
            note_wait("AWS to find what was just created");
            noted = true;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every stack shape the plan knows: the default, one on SQLite, one with its own registry.
    fn stacks() -> Vec<crate::stack::Stack> {
        [
            "name: t\n",
            "name: t\napp: {store: sqlite}\nscaling: {min: 1, max: 1}\n",
            "name: t\napp: {registry: r:5000}\n",
        ]
        .iter()
        .map(|text| crate::stack::parse(text).expect("a valid stack"))
        .collect()
    }

    #[test]
    fn what_each_kind_updates_in_place_are_fields_of_its_attributes() {
        let mut planned = HashSet::new();
        for stack in stacks() {
            for resource in crate::plan::desired(&stack, "tag", true) {
                let kind = kind(resource.kind).unwrap_or_else(|| panic!("no kind {}", resource.kind));
                for name in kind.updatable() {
                    assert!(
                        resource.attrs.contains_key(*name),
                        "{} updates `{name}`, which it does not have",
                        kind.name()
                    );
                }
                planned.insert(kind.name());
            }
        }
        for kind in KINDS {
            assert!(planned.contains(kind.name()), "no stack plans a {}: its attributes go unchecked", kind.name());
        }
    }

    #[test]
    fn every_kind_the_plan_uses_is_registered() {
        for stack in stacks() {
            for resource in crate::plan::desired(&stack, "tag", true) {
                assert!(kind(resource.kind).is_some(), "{} has no kind", resource.address);
            }
        }
    }

    #[test]
    fn kind_names_are_unique_and_found() {
        let names: HashSet<&str> = KINDS.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), KINDS.len());
        for name in names {
            assert_eq!(kind(name).map(|k| k.name()), Some(name));
        }
    }
}
