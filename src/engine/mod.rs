//! The engine: applies a [`Plan`] with as much concurrency as dependencies allow, and
//! checkpoints the state file after every finished step. It finds kinds by name and never
//! names one.
//!
//! 1. Teardown: deletions and the old halves of replacements, dependents first.
//! 2. Build: creations, updates and the new halves of replacements, dependencies first.
//!
//! Each phase runs on the [`executor`](crate::executor): the longest chain first, at most
//! [`MAX_IN_FLIGHT`] steps at once; after the first failure nothing new starts, steps in
//! flight finish and are recorded, so the next run resumes from an accurate state, and the
//! failures come back as an [`ApplyError`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::aws::{Applied, Attrs, Cx, Kind, StepEvents, observing, read_settled};
use crate::crash;
use crate::executor::{ApplyError, Events, Graph, Job, Jobs, MAX_IN_FLIGHT, job};
use crate::plan::{Action, Address, Plan, Resource, STACK_TAG};
use crate::state::{self, Recorded, Started, State};

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
/// after every step. A kind name this build does not know fails before anything starts.
pub async fn apply(
    cx: Arc<Cx>,
    lookup: Lookup,
    plan: &Plan,
    desired: &[Resource],
    state: &mut State,
    state_path: &Path,
    report: &dyn Report,
) -> Result<(), ApplyError> {
    let kinds = kinds(lookup, plan)?;

    let teardown: Vec<&Address> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| &c.address)
        .collect();
    let mut graph = Graph::default();
    for address in &teardown {
        let dependents = state
            .resources
            .iter()
            .filter(|(other, r)| teardown.contains(other) && r.depends_on.contains(address))
            .map(|(other, _)| other.clone());
        graph.add((*address).clone(), dependents, kinds[*address].expected_duration());
    }
    let mut phase = Phase { cx: cx.clone(), kinds: &kinds, build: HashMap::new(), state, state_path, report };
    graph.run(MAX_IN_FLIGHT, &mut phase).await?;

    let build: HashMap<Address, (Verb, &Resource)> = plan
        .changes
        .iter()
        .filter_map(|c| match c.action {
            Action::Create | Action::Replace => Some((c.address.clone(), Verb::Create)),
            Action::Update => Some((c.address.clone(), Verb::Update)),
            Action::Delete => None,
        })
        .map(|(address, verb)| {
            let resource = desired.iter().find(|r| r.address == address);
            let resource = resource.ok_or_else(|| fail(&address, "is planned but not desired"))?;
            Ok((address, (verb, resource)))
        })
        .collect::<Result<_, ApplyError>>()?;
    let mut graph = Graph::default();
    for (address, (_, resource)) in &build {
        let deps = resource.depends_on.iter().filter(|d| build.contains_key(*d)).cloned();
        graph.add(address.clone(), deps, kinds[address].expected_duration());
    }
    let mut phase = Phase { cx, kinds: &kinds, build, state, state_path, report };
    graph.run(MAX_IN_FLIGHT, &mut phase).await
}

/// The kind of every address `plan` changes.
fn kinds(lookup: Lookup, plan: &Plan) -> Result<BTreeMap<Address, &'static dyn Kind>, ApplyError> {
    plan.changes
        .iter()
        .map(|change| {
            let kind = lookup(&change.kind)
                .ok_or_else(|| fail(&change.address, &format!("no resource kind `{}` in this build", change.kind)))?;
            Ok((change.address.clone(), kind))
        })
        .collect()
}

/// `address` failed before anything started.
fn fail(address: &Address, why: &str) -> ApplyError {
    ApplyError { failed: vec![(address.clone(), anyhow::anyhow!("{why}"))], not_started: Vec::new() }
}

/// One step, ready to run on its own task.
struct Step {
    address: Address,
    verb: Verb,
    kind: &'static dyn Kind,
    id: String,
    before: Attrs,
    after: Attrs,
    /// When the resource was created, if recorded (a young one may not read yet).
    created_at: Option<u64>,
}

impl Step {
    async fn run(self, cx: Arc<Cx>) -> anyhow::Result<Option<Applied>> {
        match self.verb {
            Verb::Create => self.kind.create(&cx, &self.address.0, &self.after).await.map(Some),
            Verb::Update => self.kind.update(&cx, &self.address.0, &self.id, &self.before, &self.after).await.map(Some),
            Verb::Delete => self.delete_if_ours(&cx).await.map(|()| None),
        }
    }

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

/// One phase of a plan as the executor's driver: builds each step from the state as it is
/// when the step starts, notes creations ahead, records each finished step and saves.
struct Phase<'a> {
    cx: Arc<Cx>,
    kinds: &'a BTreeMap<Address, &'static dyn Kind>,
    /// The build phase's steps (empty in teardown, where every step is a deletion).
    build: HashMap<Address, (Verb, &'a Resource)>,
    state: &'a mut State,
    state_path: &'a Path,
    report: &'a dyn Report,
}

impl Phase<'_> {
    fn verb(&self, address: &Address) -> Verb {
        self.build.get(address).map_or(Verb::Delete, |(verb, _)| *verb)
    }
}

impl Jobs for Phase<'_> {
    type Output = Option<Applied>;
    type Event = Event;

    fn start(&mut self, ready: &[Address], events: &Events<Event>) -> anyhow::Result<Vec<Job<Option<Applied>>>> {
        let steps: Vec<Step> = ready.iter().map(|address| self.prepare(address)).collect::<anyhow::Result<_>>()?;
        // Written ahead: should this run be cut off, the next one knows what to look for.
        if mark_started(self.state, &steps, &self.build) {
            state::save(self.state_path, self.state)?;
        }
        Ok(steps
            .into_iter()
            .map(|step| {
                self.report.started(&step.address, step.verb);
                let listener = Arc::new(Listener { address: step.address.clone(), events: events.clone() });
                job(observing(listener, step.run(self.cx.clone())))
            })
            .collect())
    }

    fn hear(&mut self, address: &Address, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Waiting(what) => self.report.waiting(address, self.verb(address), &what),
            Event::Created(id) => {
                if let Some(started) = self.state.pending.get_mut(address) {
                    started.id = Some(id);
                    state::save(self.state_path, self.state)?;
                }
            }
        }
        Ok(())
    }

    fn finished(&mut self, address: &Address, applied: Option<Applied>, took: Duration) -> anyhow::Result<()> {
        crash::step_finished();
        let verb = self.verb(address);
        let deleted = self.state.resources.get(address).map(|r| r.id.clone()).unwrap_or_default();
        record(self.state, address, verb, applied, &self.build);
        state::save(self.state_path, self.state)?;
        let id = self.state.resources.get(address).map_or(deleted.as_str(), |r| &r.id);
        self.report.finished(address, verb, id, took);
        Ok(())
    }

    fn failed(&mut self, address: &Address, error: &anyhow::Error) {
        self.report.failed(address, self.verb(address), error);
    }
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
    events: Events<Event>,
}

impl StepEvents for Listener {
    fn waiting(&self, what: &str) {
        self.events.send(&self.address, Event::Waiting(what.to_string()));
    }

    fn created(&self, id: &str) {
        self.events.send(&self.address, Event::Created(id.to_string()));
    }
}

impl Phase<'_> {
    /// Builds the step for `address` from the state as it is now (its dependencies are done).
    fn prepare(&self, address: &Address) -> anyhow::Result<Step> {
        let recorded = self.state.resources.get(address);
        let before = recorded.map(|r| self.state.resolve(&r.attrs)).transpose()?.unwrap_or_default();
        let kind = self.kinds[address];
        match self.build.get(address) {
            Some((verb, resource)) => Ok(Step {
                address: address.clone(),
                verb: *verb,
                kind,
                id: recorded.map(|r| r.id.clone()).unwrap_or_default(),
                before,
                after: self.state.resolve(&resource.values())?,
                created_at: recorded.and_then(|r| r.created_at),
            }),
            None => {
                let recorded = recorded.ok_or_else(|| anyhow::anyhow!("{address} is not in the state"))?;
                Ok(Step {
                    address: address.clone(),
                    verb: Verb::Delete,
                    kind,
                    id: recorded.id.clone(),
                    before,
                    after: Attrs::new(),
                    created_at: recorded.created_at,
                })
            }
        }
    }
}

/// Notes the creations among `jobs` as started, and the deletions as no longer young;
/// whether anything changed.
fn mark_started(state: &mut State, jobs: &[Step], build: &HashMap<Address, (Verb, &Resource)>) -> bool {
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

#[cfg(test)]
mod tests;
