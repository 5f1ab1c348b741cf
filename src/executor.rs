//! The one executor every graph of AWS work runs on (applying a plan, refreshing, adopting,
//! rediscovering), in the shape of cargo's job queue: a [`Graph`] of addresses with their
//! dependencies and weights; a driver ([`Jobs`]) that turns ready addresses into jobs and
//! records what they produce; the loop in between.
//!
//! - Ready jobs start by **priority**: their own weight plus the heaviest chain of what waits
//!   on them, so that the longest chain (the load balancer's) starts first; ties go by
//!   address, so runs are repeatable.
//! - At most `limit` jobs run at once.
//! - After the first failure nothing new starts; jobs in flight finish and are recorded, so
//!   that the state is accurate for the next run.
//! - Failures come back typed: [`ApplyError`] lists each failed address with its error and
//!   what never started.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::dag::{Address, DependencyQueue};

/// Most AWS operations in flight at once.
pub const MAX_IN_FLIGHT: usize = 16;

/// A job: a future the executor runs on its own task.
pub type Job<T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'static>>;

/// Boxes `future` as a [`Job`].
pub fn job<T>(future: impl Future<Output = anyhow::Result<T>> + Send + 'static) -> Job<T> {
    Box::pin(future)
}

/// What a graph's jobs are and what becomes of their results: the executor's driver. It
/// runs on the executor's task, so it may hold `&mut` the state it records into.
pub trait Jobs {
    /// What a job produces.
    type Output: Send + 'static;
    /// What a running job may say before it ends (see [`Events`]).
    type Event: Send + 'static;

    /// The jobs for `ready` (dependencies done, in start order), one per address, built
    /// from the driver's state as it is now. Called with every address starting together,
    /// so that a write-ahead note is one save. An error fails the first of them and starts
    /// none.
    fn start(&mut self, ready: &[Address], events: &Events<Self::Event>) -> anyhow::Result<Vec<Job<Self::Output>>>;

    /// A running job at `address` said `event`. An error fails that address.
    fn hear(&mut self, _address: &Address, _event: Self::Event) -> anyhow::Result<()> {
        Ok(())
    }

    /// The job at `address` succeeded after `took`. An error fails that address.
    fn finished(&mut self, address: &Address, output: Self::Output, took: Duration) -> anyhow::Result<()>;

    /// The job at `address` failed.
    fn failed(&mut self, _address: &Address, _error: &anyhow::Error) {}
}

/// Where running jobs tell their driver something before they end (a wait, an id AWS just
/// handed out). What a job said is heard before its end is.
pub struct Events<E>(mpsc::UnboundedSender<(Address, E)>);

impl<E> Clone for Events<E> {
    fn clone(&self) -> Self {
        Events(self.0.clone())
    }
}

impl<E> Events<E> {
    /// Passes `event` from the job at `address` to the driver.
    pub fn send(&self, address: &Address, event: E) {
        // The loop outlives every job; a send can only fail once it has returned.
        let _ = self.0.send((address.clone(), event));
    }
}

/// Some jobs of a graph failed.
#[derive(Debug)]
pub struct ApplyError {
    /// Each failed address and why, in the order they failed.
    pub failed: Vec<(Address, anyhow::Error)>,
    /// Addresses that never started because of the failures.
    pub not_started: Vec<Address>,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (address, error)) in self.failed.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{address}: {error:#}")?;
        }
        if !self.not_started.is_empty() {
            let names: Vec<&str> = self.not_started.iter().map(|a| a.0.as_str()).collect();
            write!(f, "\nnot started: {}", names.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplyError {}

/// Addresses, what each depends on, and how long each takes: the work for one run.
#[derive(Debug, Default)]
pub struct Graph {
    queue: DependencyQueue<Address>,
    dependencies: BTreeMap<Address, Vec<Address>>,
    weights: BTreeMap<Address, Duration>,
}

impl Graph {
    /// Adds `address`, to run after each of `dependencies` that is also in the graph (others
    /// count as done), expected to take about `weight`.
    pub fn add(&mut self, address: Address, dependencies: impl IntoIterator<Item = Address>, weight: Duration) {
        let dependencies: Vec<Address> = dependencies.into_iter().collect();
        self.queue.queue(address.clone(), dependencies.iter().cloned());
        self.dependencies.entry(address.clone()).or_default().extend(dependencies);
        self.weights.insert(address, weight);
    }

    /// Each address's priority: its weight plus the heaviest chain of what waits on it.
    fn priorities(&self) -> BTreeMap<Address, Duration> {
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for (address, dependencies) in &self.dependencies {
            for dependency in dependencies.iter().filter(|d| self.weights.contains_key(*d)) {
                dependents.entry(dependency).or_default().push(address);
            }
        }
        let mut priorities = BTreeMap::new();
        for address in self.weights.keys() {
            chain(address, &self.weights, &dependents, &mut priorities, &mut BTreeSet::new());
        }
        priorities
    }

    /// Runs every job of the graph through `jobs`, at most `limit` at once (see the module
    /// docs). `Ok` when every address finished.
    pub async fn run<J: Jobs>(mut self, limit: usize, jobs: &mut J) -> Result<(), ApplyError> {
        let priorities = self.priorities();
        self.queue.queue_finished();
        let queue = &mut self.queue;
        let (events, mut heard) = mpsc::unbounded_channel::<(Address, J::Event)>();
        let events = Events(events);
        let mut running: JoinSet<(Address, anyhow::Result<J::Output>, Duration)> = JoinSet::new();
        let mut ready: Vec<Address> = Vec::new();
        let mut failed: Vec<(Address, anyhow::Error)> = Vec::new();
        loop {
            if failed.is_empty() {
                ready.extend(queue.dequeue_ready());
                // Highest priority last, so that `pop` takes it.
                ready.sort_by(|a, b| priorities[a].cmp(&priorities[b]).then_with(|| b.cmp(a)));
                let room = limit.saturating_sub(running.len()).min(ready.len());
                let starting: Vec<Address> = (0..room).filter_map(|_| ready.pop()).collect();
                if !starting.is_empty() {
                    match jobs.start(&starting, &events) {
                        Ok(started) => {
                            for (address, job) in starting.into_iter().zip(started) {
                                running.spawn(async move {
                                    let began = Instant::now();
                                    let result = job.await;
                                    (address, result, began.elapsed())
                                });
                            }
                        }
                        Err(error) => {
                            let mut starting = starting.into_iter();
                            failed.extend(starting.next().map(|first| (first, error)));
                            ready.extend(starting);
                        }
                    }
                }
            }
            let done = loop {
                tokio::select! {
                    biased;
                    Some((address, event)) = heard.recv() => {
                        if let Err(error) = jobs.hear(&address, event) {
                            failed.push((address, error));
                        }
                    }
                    done = running.join_next() => break done,
                }
            };
            // What a job said before it ended is heard before its end is recorded.
            while let Ok((address, event)) = heard.try_recv() {
                if let Err(error) = jobs.hear(&address, event) {
                    failed.push((address, error));
                }
            }
            let Some(done) = done else { break };
            let (address, result, took) = match done {
                Ok(done) => done,
                // A panic is a bug: let it surface as one.
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            };
            match result.and_then(|output| jobs.finished(&address, output, took)) {
                Ok(()) => queue.finish(&address),
                Err(error) => {
                    jobs.failed(&address, &error);
                    failed.push((address, error));
                }
            }
        }
        if failed.is_empty() && !queue.is_empty() {
            let stuck = queue.waiting().cloned().map(|a| (a, anyhow::anyhow!("waits on a dependency cycle")));
            failed.extend(stuck);
            return Err(ApplyError { failed, not_started: Vec::new() });
        }
        if failed.is_empty() {
            return Ok(());
        }
        ready.reverse();
        let not_started = ready.into_iter().chain(queue.waiting().cloned()).collect();
        Err(ApplyError { failed, not_started })
    }
}

/// Runs independent `jobs` (no dependencies between them) on the executor, at most
/// [`MAX_IN_FLIGHT`] at once, and collects what each produced.
pub async fn each<T: Send + 'static>(
    jobs: impl IntoIterator<Item = (Address, Job<T>)>,
) -> Result<BTreeMap<Address, T>, ApplyError> {
    let jobs: BTreeMap<Address, Job<T>> = jobs.into_iter().collect();
    let mut graph = Graph::default();
    for address in jobs.keys() {
        graph.add(address.clone(), [], Duration::ZERO);
    }
    let mut each = Each { jobs, outputs: BTreeMap::new() };
    graph.run(MAX_IN_FLIGHT, &mut each).await?;
    Ok(each.outputs)
}

/// The driver of [`each`]: hands out the jobs it was given, keeps what they produce.
struct Each<T> {
    jobs: BTreeMap<Address, Job<T>>,
    outputs: BTreeMap<Address, T>,
}

impl<T: Send + 'static> Jobs for Each<T> {
    type Output = T;
    type Event = ();

    fn start(&mut self, ready: &[Address], _events: &Events<()>) -> anyhow::Result<Vec<Job<T>>> {
        ready
            .iter()
            .map(|address| self.jobs.remove(address).ok_or_else(|| anyhow::anyhow!("{address} has no job")))
            .collect()
    }

    fn finished(&mut self, address: &Address, output: T, _took: Duration) -> anyhow::Result<()> {
        self.outputs.insert(address.clone(), output);
        Ok(())
    }
}

/// The weight of the heaviest chain from `address` through what waits on it (memoised in
/// `priorities`; a cycle counts once).
fn chain(
    address: &Address,
    weights: &BTreeMap<Address, Duration>,
    dependents: &BTreeMap<&Address, Vec<&Address>>,
    priorities: &mut BTreeMap<Address, Duration>,
    visiting: &mut BTreeSet<Address>,
) -> Duration {
    if let Some(known) = priorities.get(address) {
        return *known;
    }
    if !visiting.insert(address.clone()) {
        return Duration::ZERO;
    }
    let heaviest = dependents
        .get(address)
        .into_iter()
        .flatten()
        .map(|dependent| chain(dependent, weights, dependents, priorities, visiting))
        .max()
        .unwrap_or_default();
    let priority = weights[address] + heaviest;
    priorities.insert(address.clone(), priority);
    priority
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Jobs that record the order they started in, finish after `takes` of the paused
    /// clock, and fail where told.
    #[derive(Default)]
    struct Recorder {
        takes: BTreeMap<&'static str, u64>,
        fails: BTreeSet<&'static str>,
        started: Vec<String>,
        finished: Vec<String>,
        in_flight: Arc<Mutex<(usize, usize)>>,
    }

    impl Jobs for Recorder {
        type Output = ();
        type Event = ();

        fn start(&mut self, ready: &[Address], _events: &Events<()>) -> anyhow::Result<Vec<Job<()>>> {
            Ok(ready
                .iter()
                .map(|address| {
                    self.started.push(address.0.clone());
                    let takes = Duration::from_secs(self.takes.get(address.0.as_str()).copied().unwrap_or(1));
                    let fails = self.fails.contains(address.0.as_str());
                    let in_flight = self.in_flight.clone();
                    job(async move {
                        {
                            let mut counts = in_flight.lock().unwrap();
                            counts.0 += 1;
                            counts.1 = counts.1.max(counts.0);
                        }
                        tokio::time::sleep(takes).await;
                        in_flight.lock().unwrap().0 -= 1;
                        anyhow::ensure!(!fails, "told to fail");
                        Ok(())
                    })
                })
                .collect())
        }

        fn finished(&mut self, address: &Address, _output: (), _took: Duration) -> anyhow::Result<()> {
            self.finished.push(address.0.clone());
            Ok(())
        }
    }

    fn graph(edges: &[(&str, &[&str], u64)]) -> Graph {
        let mut graph = Graph::default();
        for (address, dependencies, weight) in edges {
            let dependencies = dependencies.iter().map(|d| Address::from(*d));
            graph.add(Address::from(*address), dependencies, Duration::from_secs(*weight));
        }
        graph
    }

    #[tokio::test(start_paused = true)]
    async fn the_heaviest_chain_starts_first() {
        // vpc → subnet → load balancer (slow) → listener; vpc → route table; role alone.
        let graph = graph(&[
            ("vpc", &[], 1),
            ("subnet", &["vpc"], 1),
            ("load_balancer", &["subnet"], 180),
            ("listener", &["load_balancer"], 1),
            ("route_table", &["vpc"], 1),
            ("iam_role", &[], 2),
        ]);
        let mut jobs = Recorder::default();
        graph.run(1, &mut jobs).await.unwrap();
        // The role (2 s) goes before the listener and the route table (1 s each), which go
        // by address.
        assert_eq!(jobs.started, ["vpc", "subnet", "load_balancer", "iam_role", "listener", "route_table"]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_run_at_once() {
        let edges: Vec<(String, u64)> = (0..40).map(|i| (format!("r{i:02}"), 1 + i % 3)).collect();
        let mut graph = Graph::default();
        for (address, weight) in &edges {
            graph.add(Address(address.clone()), [], Duration::from_secs(*weight));
        }
        let mut jobs = Recorder::default();
        graph.run(16, &mut jobs).await.unwrap();
        assert_eq!(jobs.finished.len(), 40);
        assert_eq!(jobs.in_flight.lock().unwrap().1, 16, "the most jobs that ran at once");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_nothing_starts_and_what_runs_is_recorded() {
        // `fast` fails after 1 s while `slow` runs on for 5 s; `after_fast` and `after_slow`
        // wait for them.
        let graph = graph(&[
            ("fast", &[], 1),
            ("slow", &[], 1),
            ("after_fast", &["fast"], 1),
            ("after_slow", &["slow"], 1),
            ("later", &["after_fast", "after_slow"], 1),
        ]);
        let mut jobs =
            Recorder { takes: BTreeMap::from([("slow", 5)]), fails: BTreeSet::from(["fast"]), ..Default::default() };
        let error = graph.run(16, &mut jobs).await.unwrap_err();
        assert_eq!(jobs.finished, ["slow"], "the job in flight finished and was recorded");
        assert_eq!(jobs.started, ["fast", "slow"]);
        let failed: Vec<&str> = error.failed.iter().map(|(a, _)| a.0.as_str()).collect();
        assert_eq!(failed, ["fast"]);
        let not_started: Vec<&str> = error.not_started.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(not_started, ["after_fast", "after_slow", "later"]);
        assert_eq!(error.to_string(), "fast: told to fail\nnot started: after_fast, after_slow, later");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cycle_fails_its_members() {
        let graph = graph(&[("a", &["b"], 1), ("b", &["a"], 1), ("c", &[], 1)]);
        let mut jobs = Recorder::default();
        let error = graph.run(16, &mut jobs).await.unwrap_err();
        assert_eq!(jobs.finished, ["c"]);
        let failed: Vec<&str> = error.failed.iter().map(|(a, _)| a.0.as_str()).collect();
        assert_eq!(failed, ["a", "b"]);
    }
}
