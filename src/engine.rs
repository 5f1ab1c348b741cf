//! The engine: applies a [`Plan`] with as much concurrency as dependencies allow, and
//! checkpoints the state file after every finished step. It finds kinds by name and never
//! names one.
//!
//! 1. Teardown: deletions and the old halves of replacements, dependents first.
//! 2. Build: creations, updates and the new halves of replacements, dependencies first.
//!
//! Within a phase every step whose dependencies are done runs at once (bounded by
//! [`MAX_IN_FLIGHT`]). After the first failure nothing new starts; steps in flight finish
//! and are recorded, so the next run resumes from an accurate state.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::aws::{Applied, Attrs, Cx, Kind, StepEvents, observing, read_settled};
use crate::crash;
use crate::dag::DependencyQueue;
use crate::plan::{Action, Address, Plan, Resource, STACK_TAG};
use crate::state::{self, Recorded, Started, State};

/// Most AWS operations in flight at once.
pub const MAX_IN_FLIGHT: usize = 16;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Creating a resource.
    Create,
    /// Changing a resource in place.
    Update,
    /// Deleting a resource.
    Delete,
}

/// Receives progress, one call per step start and end.
pub trait Report: Sync {
    /// A step started.
    fn started(&self, address: &Address, verb: Verb);
    /// A running step waits for something (an instance to terminate, a load balancer to
    /// become active…). Reports that do not show waits ignore it.
    fn waiting(&self, _address: &Address, _verb: Verb, _what: &str) {}
    /// A step finished: `id` is the resource's id.
    fn finished(&self, address: &Address, verb: Verb, id: &str, took: Duration);
    /// A step failed.
    fn failed(&self, address: &Address, verb: Verb, error: &anyhow::Error);
}

/// Finds the kind for a kind name.
pub type Lookup = fn(&str) -> Option<&'static dyn Kind>;

/// Applies `plan` (made from `desired` against `state`), saving `state` to `state_path`
/// after every step.
pub async fn apply(
    cx: Arc<Cx>,
    lookup: Lookup,
    plan: &Plan,
    desired: &[Resource],
    state: &mut State,
    state_path: &Path,
    report: &dyn Report,
) -> anyhow::Result<()> {
    let kind_of = |name: &str| lookup(name).ok_or_else(|| anyhow::anyhow!("no resource kind `{name}` in this build"));
    for change in &plan.changes {
        kind_of(&change.kind)?;
    }

    let teardown: Vec<&Address> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| &c.address)
        .collect();
    let mut queue = DependencyQueue::default();
    for address in &teardown {
        let dependents = state
            .resources
            .iter()
            .filter(|(other, r)| teardown.contains(other) && r.depends_on.contains(address))
            .map(|(other, _)| other.clone());
        queue.queue((*address).clone(), dependents);
    }
    run_phase(&cx, &kind_of, queue, Verb::Delete, &HashMap::new(), state, state_path, report).await?;

    let build: HashMap<&Address, Verb> = plan
        .changes
        .iter()
        .filter_map(|c| match c.action {
            Action::Create | Action::Replace => Some((&c.address, Verb::Create)),
            Action::Update => Some((&c.address, Verb::Update)),
            Action::Delete => None,
        })
        .collect();
    let resources: HashMap<&Address, &Resource> = desired.iter().map(|r| (&r.address, r)).collect();
    let mut queue = DependencyQueue::default();
    for address in build.keys() {
        let deps = resources[address].depends_on.iter().filter(|d| build.contains_key(d)).cloned();
        queue.queue((*address).clone(), deps);
    }
    let verbs: HashMap<Address, (Verb, &Resource)> =
        build.iter().map(|(a, v)| ((*a).clone(), (*v, resources[a]))).collect();
    run_phase(&cx, &kind_of, queue, Verb::Create, &verbs, state, state_path, report).await
}

/// One step, ready to run on its own task.
struct Job {
    address: Address,
    verb: Verb,
    kind: &'static dyn Kind,
    id: String,
    before: Attrs,
    after: Attrs,
    /// When the resource was created, if recorded (a young one may not read yet).
    created_at: Option<u64>,
}

impl Job {
    async fn run(self, cx: Arc<Cx>) -> (Address, Verb, anyhow::Result<Option<Applied>>, Duration) {
        let started = Instant::now();
        let result = match self.verb {
            Verb::Create => self.kind.create(&cx, &self.address.0, &self.after).await.map(Some),
            Verb::Update => self.kind.update(&cx, &self.address.0, &self.id, &self.before, &self.after).await.map(Some),
            Verb::Delete => self.delete_if_ours(&cx).await.map(|()| None),
        };
        (self.address, self.verb, result, started.elapsed())
    }
}

impl Job {
    /// Deletes the resource after checking that it carries this stack's tag: a state file
    /// copied from another stack, or an id AWS handed out again, must not cost a stranger's
    /// resource. What is already gone counts as deleted.
    async fn delete_if_ours(&self, cx: &Cx) -> anyhow::Result<()> {
        let read = read_settled(cx, self.kind, &self.id, &self.before, self.created_at).await?;
        let Some(live) = read else { return Ok(()) };
        anyhow::ensure!(
            live.belongs_to(&cx.stack),
            "refusing to delete {} {}: it is not tagged {}={}",
            self.kind.name(),
            self.id,
            STACK_TAG,
            cx.stack
        );
        self.kind.delete(cx, &self.id, &self.before).await
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_phase(
    cx: &Arc<Cx>,
    kind_of: &impl Fn(&str) -> anyhow::Result<&'static dyn Kind>,
    mut queue: DependencyQueue<Address>,
    default_verb: Verb,
    build: &HashMap<Address, (Verb, &Resource)>,
    state: &mut State,
    state_path: &Path,
    report: &dyn Report,
) -> anyhow::Result<()> {
    queue.queue_finished();
    let (events, mut heard) = mpsc::unbounded_channel::<(Address, Verb, Event)>();
    let mut running: JoinSet<(Address, Verb, anyhow::Result<Option<Applied>>, Duration)> = JoinSet::new();
    let mut ready: Vec<Address> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    loop {
        if failures.is_empty() {
            ready.extend(queue.dequeue_ready());
            let mut starting = Vec::new();
            while running.len() + starting.len() < MAX_IN_FLIGHT && !ready.is_empty() {
                starting.push(prepare(&ready.remove(0), default_verb, build, state, kind_of)?);
            }
            // Written ahead: should this run be cut off, the next one knows what to look for.
            if mark_started(state, &starting, build) {
                state::save(state_path, state)?;
            }
            for job in starting {
                report.started(&job.address, job.verb);
                let listener =
                    Arc::new(Listener { address: job.address.clone(), verb: job.verb, events: events.clone() });
                running.spawn(observing(listener, job.run(cx.clone())));
            }
        }
        let done = loop {
            tokio::select! {
                biased;
                Some((address, verb, event)) = heard.recv() => hear(state, state_path, report, &address, verb, event)?,
                done = running.join_next() => break done,
            }
        };
        // What a step said before it ended is heard before its end is recorded.
        while let Ok((address, verb, event)) = heard.try_recv() {
            hear(state, state_path, report, &address, verb, event)?;
        }
        let Some(done) = done else { break };
        let (address, verb, result, took) = done.context("a provisioning task panicked")?;
        match result {
            Ok(applied) => {
                crash::step_finished();
                let deleted = state.resources.get(&address).map(|r| r.id.clone()).unwrap_or_default();
                record(state, &address, verb, applied, build);
                state::save(state_path, state)?;
                let id = state.resources.get(&address).map_or(deleted.as_str(), |r| &r.id);
                report.finished(&address, verb, id, took);
                queue.finish(&address);
            }
            Err(error) => {
                report.failed(&address, verb, &error);
                failures.push(format!("{address}: {error:#}"));
            }
        }
    }
    if !failures.is_empty() {
        let skipped: Vec<String> = queue.waiting().map(|a| a.0.clone()).chain(ready.into_iter().map(|a| a.0)).collect();
        let mut message = failures.join("\n");
        if !skipped.is_empty() {
            message.push_str(&format!("\nnot started: {}", skipped.join(", ")));
        }
        anyhow::bail!("{message}");
    }
    anyhow::ensure!(
        queue.is_empty(),
        "dependency cycle among: {}",
        queue.waiting().map(|a| a.0.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// What a running step said.
enum Event {
    /// It waits for something.
    Waiting(String),
    /// AWS created its resource under this id.
    Created(String),
}

/// Passes a running step's [`StepEvents`] to the engine's loop.
struct Listener {
    address: Address,
    verb: Verb,
    events: mpsc::UnboundedSender<(Address, Verb, Event)>,
}

impl StepEvents for Listener {
    fn waiting(&self, what: &str) {
        let _ = self.events.send((self.address.clone(), self.verb, Event::Waiting(what.to_string())));
    }

    fn created(&self, id: &str) {
        let _ = self.events.send((self.address.clone(), self.verb, Event::Created(id.to_string())));
    }
}

/// Acts on what a step said: shows a wait; notes a created id in the state at once.
fn hear(
    state: &mut State,
    state_path: &Path,
    report: &dyn Report,
    address: &Address,
    verb: Verb,
    event: Event,
) -> anyhow::Result<()> {
    match event {
        Event::Waiting(what) => report.waiting(address, verb, &what),
        Event::Created(id) => {
            if let Some(started) = state.pending.get_mut(address) {
                started.id = Some(id);
                state::save(state_path, state)?;
            }
        }
    }
    Ok(())
}

/// Builds the job for `address` from the state as it is now (its dependencies are done).
fn prepare(
    address: &Address,
    default_verb: Verb,
    build: &HashMap<Address, (Verb, &Resource)>,
    state: &State,
    kind_of: &impl Fn(&str) -> anyhow::Result<&'static dyn Kind>,
) -> anyhow::Result<Job> {
    let recorded = state.resources.get(address);
    let before = recorded.map(|r| state.resolve(&r.attrs)).transpose()?.unwrap_or_default();
    match build.get(address) {
        Some((verb, resource)) => Ok(Job {
            address: address.clone(),
            verb: *verb,
            kind: kind_of(resource.kind)?,
            id: recorded.map(|r| r.id.clone()).unwrap_or_default(),
            before,
            after: state.resolve(&resource.values())?,
            created_at: recorded.and_then(|r| r.created_at),
        }),
        None => {
            let recorded = recorded.ok_or_else(|| anyhow::anyhow!("{address} is not in the state"))?;
            Ok(Job {
                address: address.clone(),
                verb: default_verb,
                kind: kind_of(&recorded.kind)?,
                id: recorded.id.clone(),
                before,
                after: Attrs::new(),
                created_at: recorded.created_at,
            })
        }
    }
}

/// Notes the creations among `jobs` as started, and the deletions as no longer young;
/// whether anything changed.
fn mark_started(state: &mut State, jobs: &[Job], build: &HashMap<Address, (Verb, &Resource)>) -> bool {
    let mut marked = false;
    // A deletion under way: should this run be cut off, the next one takes a "not found"
    // for deleted at once, however young the resource was.
    for job in jobs.iter().filter(|j| j.verb == Verb::Delete) {
        if let Some(recorded) = state.resources.get_mut(&job.address).filter(|r| r.created_at.is_some()) {
            recorded.created_at = None;
            marked = true;
        }
    }
    for job in jobs.iter().filter(|j| j.verb == Verb::Create) {
        if let Some((_, resource)) = build.get(&job.address) {
            let started = Started {
                kind: resource.kind.to_string(),
                attrs: resource.values(),
                depends_on: resource.depends_on.clone(),
                id: None,
            };
            state.pending.insert(job.address.clone(), started);
            marked = true;
        }
    }
    marked
}

/// Writes a finished step into the state.
fn record(
    state: &mut State,
    address: &Address,
    verb: Verb,
    applied: Option<Applied>,
    build: &HashMap<Address, (Verb, &Resource)>,
) {
    state.pending.remove(address);
    let (Some(applied), Some((_, resource))) = (applied, build.get(address)) else {
        state.resources.remove(address);
        return;
    };
    let (mut outputs, created_at) = match (verb, state.resources.get(address)) {
        (Verb::Update, Some(previous)) => (previous.outputs.clone(), previous.created_at),
        _ => (BTreeMap::new(), Some(state::now_secs())),
    };
    outputs.extend(applied.outputs);
    state.resources.insert(
        address.clone(),
        Recorded {
            kind: resource.kind.to_string(),
            id: applied.id,
            attrs: resource.values(),
            outputs,
            depends_on: resource.depends_on.clone(),
            created_at,
        },
    );
}
