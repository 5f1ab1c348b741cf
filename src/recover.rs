//! Recovery from a cut-off run or a lost state file, through each kind's
//! [`Kind::adopt`](crate::aws::Kind::adopt) (find by the stack and address tags, or by name).
//!
//! - [`adopt_pending`]: the engine notes each creation in the state before it starts
//!   ([`State::pending`]); a run killed between AWS creating a resource and the state
//!   recording it leaves that note behind. Before planning, the next run finds each noted
//!   resource and records it, so that nothing is created twice and `destroy` misses nothing.
//! - [`rediscover`]: `destroy --from-tags` rebuilds a lost state by finding every resource
//!   the stack would have, dependencies first.
//!
//! Only what carries the stack's tag is adopted; a look-alike without it is left alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::aws::{Applied, Attrs, Cx, Hint, read_settled};
use crate::engine::Lookup;
use crate::executor::{self, ApplyError, Events, Graph, Job, Jobs, MAX_IN_FLIGHT, job};
use crate::plan::graph::resolve_references;
use crate::plan::{Address, Resource};
use crate::state::{self, Recorded, Started, State};

/// What became of one interrupted creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Found and recorded under this id.
    Adopted(String),
    /// It was never created: the note is dropped and `up` creates it.
    NotCreated,
    /// Something of that name exists without the stack's tag: left alone.
    NotOurs(String),
    /// A second resource tagged for the same address, with this id: recorded to be deleted.
    Copy(String),
}

/// Settles every pending creation in `state` (see the module docs), saves the state if
/// anything was pending, and says what became of each.
pub async fn adopt_pending(
    cx: &Arc<Cx>,
    lookup: Lookup,
    state: &mut State,
    state_path: &Path,
) -> anyhow::Result<Vec<(Address, Outcome)>> {
    if state.pending.is_empty() {
        return Ok(Vec::new());
    }
    let pending = std::mem::take(&mut state.pending);
    let searches = pending.iter().map(|(address, started)| {
        let attrs = state.resolve(&started.attrs).with_context(|| format!("resuming {address}"));
        let search = Search { cx: cx.clone(), lookup, address: address.clone(), started: started.clone() };
        (
            address.clone(),
            job(
                async move { search.find(&attrs?, search.started.id.as_deref().map_or(Hint::JustCut, Hint::Id)).await },
            ),
        )
    });
    let mut found = executor::each(searches).await?;
    let outcomes = pending
        .into_iter()
        .map(|(address, started)| {
            let found = found.remove(&address).unwrap_or(Found::Nothing);
            let outcome = record(state, &address, started, found);
            (address, outcome)
        })
        .collect();
    state::save(state_path, state)?;
    Ok(outcomes)
}

/// Finds every resource of `desired` that exists at AWS for the stack, dependencies first,
/// and records each in `state` unless it is recorded already. A reference to a dependency
/// that was not found reads as null; a kind that cannot look without it finds nothing (the
/// dependent cannot exist without its dependency). Says what became of each.
pub async fn rediscover(
    cx: &Arc<Cx>,
    lookup: Lookup,
    desired: &[Resource],
    state: &mut State,
) -> Result<Vec<(Address, Outcome)>, ApplyError> {
    let mut graph = Graph::default();
    for resource in desired {
        graph.add(resource.address.clone(), resource.depends_on.iter().cloned(), Duration::ZERO);
    }
    let mut rediscovery = Rediscovery { cx: cx.clone(), lookup, desired, state, outcomes: Vec::new() };
    graph.run(MAX_IN_FLIGHT, &mut rediscovery).await?;
    Ok(rediscovery.outcomes)
}

/// Rediscovering a lost state, as the executor's driver: each resource is looked for once
/// what it depends on was.
struct Rediscovery<'a> {
    cx: Arc<Cx>,
    lookup: Lookup,
    desired: &'a [Resource],
    state: &'a mut State,
    outcomes: Vec<(Address, Outcome)>,
}

impl Jobs for Rediscovery<'_> {
    /// What was started (with references resolved) and what was found; `None` when the
    /// state records it already.
    type Output = Option<(Started, Found)>;
    type Event = ();

    fn start(&mut self, ready: &[Address], _events: &Events<()>) -> anyhow::Result<Vec<Job<Self::Output>>> {
        let state: &State = self.state;
        // Recorded with references resolved (to null where a dependency was not found), so
        // that deleting never needs what is not there.
        let known = |a: &Address, o: &str| Ok::<_, anyhow::Error>(state.output(a, o).unwrap_or_default());
        ready
            .iter()
            .map(|address| {
                let resource = self.desired.iter().find(|r| &r.address == address);
                let resource = resource.ok_or_else(|| anyhow::anyhow!("{address} is not desired"))?;
                if state.resources.contains_key(address) {
                    return Ok(job(async { Ok(None) }));
                }
                let attrs = resource.values().into_iter().map(|(k, v)| Ok((k, resolve_references(&v, &known)?)));
                let started = Started {
                    kind: resource.kind.to_string(),
                    attrs: attrs.collect::<anyhow::Result<_>>()?,
                    depends_on: resource.depends_on.clone(),
                    id: None,
                };
                let complete = started.depends_on.iter().all(|d| state.resources.contains_key(d));
                let search = Search { cx: self.cx.clone(), lookup: self.lookup, address: address.clone(), started };
                Ok(job(async move {
                    let found = match search.find(&search.started.attrs, Hint::Settled).await {
                        Err(_) if !complete => Found::Nothing,
                        found => found?,
                    };
                    Ok(Some((search.started, found)))
                }))
            })
            .collect()
    }

    fn finished(&mut self, address: &Address, output: Self::Output, _took: Duration) -> anyhow::Result<()> {
        if let Some((started, found)) = output {
            let outcome = record(self.state, address, started, found);
            self.outcomes.push((address.clone(), outcome));
        }
        Ok(())
    }
}

/// Records, for each recorded resource, every copy AWS holds under its address's tags
/// beside the recorded one (a cut-off run may have created one and never noted its id), as
/// `<address>~<id>`, so that a destroy deletes them too. Whatever depends on an address
/// depends on its copies as well, so that teardown goes inside-out whichever copy holds what.
/// Says which copies it found.
pub async fn record_copies(cx: &Arc<Cx>, lookup: Lookup, state: &mut State) -> anyhow::Result<Vec<(Address, Outcome)>> {
    let listings = state.resources.iter().filter(|(address, _)| !is_copy(address)).map(|(address, recorded)| {
        let kind =
            lookup(&recorded.kind).ok_or_else(|| anyhow::anyhow!("no resource kind `{}` in this build", recorded.kind));
        let (cx, name, recorded_id) = (cx.clone(), address.0.clone(), recorded.id.clone());
        let listing = job(async move {
            let ids = kind?.copies(&cx, &name).await.with_context(|| format!("looking for copies of {name}"))?;
            Ok(ids.into_iter().filter(|id| *id != recorded_id).collect::<Vec<String>>())
        });
        (address.clone(), listing)
    });
    let copies: BTreeMap<Address, Vec<String>> =
        executor::each(listings).await?.into_iter().filter(|(_, ids)| !ids.is_empty()).collect();
    let mut outcomes = Vec::new();
    for (address, ids) in &copies {
        let original = state.resources[address].clone();
        for id in ids {
            let copy = Recorded { id: id.clone(), ..original.clone() };
            state.resources.insert(copy_address(address, id), copy);
            outcomes.push((address.clone(), Outcome::Copy(id.clone())));
        }
    }
    // Which copy holds which is unknown (a subnet copy may sit in the recorded VPC or in
    // its copy): whatever depends on an address goes before every copy of it too.
    for recorded in state.resources.values_mut() {
        let theirs: Vec<Address> = recorded
            .depends_on
            .iter()
            .flat_map(|dependency| copies.get(dependency).into_iter().flatten().map(|id| copy_address(dependency, id)))
            .collect();
        recorded.depends_on.extend(theirs);
    }
    Ok(outcomes)
}

/// The address a copy of `address` with `id` is recorded under.
fn copy_address(address: &Address, id: &str) -> Address {
    Address(format!("{}~{id}", address.0))
}

/// Whether `address` names a copy.
fn is_copy(address: &Address) -> bool {
    address.0.contains('~')
}

/// Records what was found for `address`; what became of it.
fn record(state: &mut State, address: &Address, started: Started, found: Found) -> Outcome {
    match found {
        Found::Ours(applied) => {
            let id = applied.id.clone();
            let recorded = Recorded {
                kind: started.kind,
                id: applied.id,
                attrs: started.attrs,
                outputs: applied.outputs,
                depends_on: started.depends_on,
                created_at: Some(state::now_secs()),
            };
            state.resources.insert(address.clone(), recorded);
            Outcome::Adopted(id)
        }
        Found::Nothing => Outcome::NotCreated,
        Found::Stranger(id) => Outcome::NotOurs(id),
    }
}

enum Found {
    Ours(Applied),
    Nothing,
    Stranger(String),
}

/// Looking for what a run may have created at one address.
struct Search {
    cx: Arc<Cx>,
    lookup: Lookup,
    address: Address,
    started: Started,
}

impl Search {
    /// What AWS holds at the address (created with `attrs`), found by `hint`.
    async fn find(&self, attrs: &Attrs, hint: Hint<'_>) -> anyhow::Result<Found> {
        let (cx, address, kind_name) = (&self.cx, &self.address, &self.started.kind);
        let kind =
            (self.lookup)(kind_name).ok_or_else(|| anyhow::anyhow!("no resource kind `{kind_name}` in this build"))?;
        let adopted = kind.adopt(cx, &address.0, attrs, hint).await;
        let Some(applied) = adopted.with_context(|| format!("looking for {address}"))? else {
            return Ok(Found::Nothing);
        };
        // Found moments after a cut-off run made it: a read may not see it yet.
        let created_at = (hint != Hint::Settled).then(state::now_secs);
        match read_settled(cx, kind, &applied.id, attrs, created_at).await? {
            Some(live) if live.belongs_to(&cx.stack) => Ok(Found::Ours(applied)),
            Some(_) => Ok(Found::Stranger(applied.id)),
            None => Ok(Found::Nothing),
        }
    }
}
