//! The engine on fake kinds found through the registry (a [`Lookup`]), on a paused clock:
//! priority, bounded concurrency, what happens after a failure, and what the state records.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;

use super::*;
use crate::aws::{Hint, Live, note_created};
use crate::plan::{self, Resource};

/// What the fake kinds did in one test (each test runs on its own thread).
#[derive(Default)]
struct Log {
    started: Vec<String>,
    in_flight: usize,
    most_in_flight: usize,
}

thread_local! {
    static LOG: RefCell<Arc<Mutex<Log>>> = RefCell::new(Arc::default());
}

fn log() -> Arc<Mutex<Log>> {
    LOG.with(|log| log.borrow().clone())
}

/// A kind whose creations take `takes` seconds (or the seconds in the attribute `takes`),
/// fail when the attribute `fails` is true, and note their id at once.
struct Fake {
    name: &'static str,
    takes: u64,
}

#[async_trait]
impl Kind for Fake {
    fn name(&self) -> &'static str {
        self.name
    }

    fn updatable(&self) -> &'static [&'static str] {
        &[]
    }

    fn expected_duration(&self) -> Duration {
        Duration::from_secs(self.takes)
    }

    async fn create(&self, _cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let log = log();
        {
            let mut log = log.lock().unwrap();
            log.started.push(address.to_string());
            log.in_flight += 1;
            log.most_in_flight = log.most_in_flight.max(log.in_flight);
        }
        let id = format!("id-{address}");
        note_created(&id);
        let takes = attrs.get("takes").and_then(|t| t.as_u64()).unwrap_or(self.takes);
        tokio::time::sleep(Duration::from_secs(takes)).await;
        log.lock().unwrap().in_flight -= 1;
        anyhow::ensure!(attrs.get("fails") != Some(&json!(true)), "AWS said no");
        Ok(Applied::with_id(id))
    }

    async fn update(&self, _: &Cx, _: &str, id: &str, _: &Attrs, _: &Attrs) -> anyhow::Result<Applied> {
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> Duration {
        Duration::ZERO
    }

    async fn copies(&self, _cx: &Cx, _address: &str) -> anyhow::Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn read(&self, _cx: &Cx, _id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        Ok(Some(Live::untaggable()))
    }

    async fn adopt(&self, _: &Cx, _: &str, _: &Attrs, _: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        Ok(None)
    }

    async fn delete(&self, _cx: &Cx, _id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        Ok(())
    }
}

static QUICK: Fake = Fake { name: "quick", takes: 1 };
static SLOW: Fake = Fake { name: "slow", takes: 180 };

fn registry(name: &str) -> Option<&'static dyn Kind> {
    [&QUICK, &SLOW].into_iter().find(|k| k.name == name).map(|k| k as &'static dyn Kind)
}

/// Ignores progress.
struct Quiet;

impl Report for Quiet {
    fn started(&self, _: &Address, _: Verb) {}
    fn finished(&self, _: &Address, _: Verb, _: &str, _: Duration) {}
    fn failed(&self, _: &Address, _: Verb, _: &anyhow::Error) {}
}

/// Plans `desired` against an empty state and applies it; the state after and the outcome.
async fn apply_fresh(desired: &[Resource]) -> (State, Result<(), ApplyError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut state = State::new("test", "us-east-1");
    let plan = plan::diff(desired, &state);
    // No call reaches this endpoint: the fake kinds make none.
    let cx = Arc::new(Cx::connect("test", "us-east-1", Some("http://127.0.0.1:9"), None).await);
    let outcome = apply(cx, registry, &plan, desired, &mut state, &path, &Quiet).await;
    assert_eq!(state::load(&path, "test", "us-east-1").unwrap(), state, "the state file says what the state does");
    (state, outcome)
}

#[tokio::test(start_paused = true)]
async fn the_chain_to_the_slow_kind_starts_before_what_sorts_first() {
    // 20 quick resources that nothing waits for, and `zz`, which the slow kind waits for:
    // with 16 in flight, `zz` must be among the first, though it sorts last.
    let mut desired: Vec<Resource> = (0..20).map(|i| Resource::new("quick", format!("a{i:02}"))).collect();
    desired.push(Resource::new("quick", "zz"));
    desired.push(Resource::new("slow", "zz_waits").after("zz"));
    let (_, outcome) = apply_fresh(&desired).await;
    outcome.unwrap();
    let started = log().lock().unwrap().started.clone();
    assert_eq!(started.first().map(String::as_str), Some("zz"), "started: {started:?}");
}

#[tokio::test(start_paused = true)]
async fn no_more_than_max_in_flight_run_at_once() {
    let desired: Vec<Resource> = (0..40).map(|i| Resource::new("quick", format!("r{i:02}"))).collect();
    let (state, outcome) = apply_fresh(&desired).await;
    outcome.unwrap();
    assert_eq!(state.resources.len(), 40);
    assert_eq!(log().lock().unwrap().most_in_flight, MAX_IN_FLIGHT);
}

#[tokio::test(start_paused = true)]
async fn after_a_failure_nothing_new_starts_and_steps_in_flight_are_recorded() {
    let desired = vec![
        Resource::new("quick", "fails").set("fails", json!(true)),
        Resource::new("quick", "runs_on").set("takes", json!(30)),
        Resource::new("quick", "after_fails").after("fails"),
        Resource::new("quick", "after_runs_on").after("runs_on"),
    ];
    let (state, outcome) = apply_fresh(&desired).await;
    let error = outcome.unwrap_err();
    let failed: Vec<&str> = error.failed.iter().map(|(a, _)| a.0.as_str()).collect();
    assert_eq!(failed, ["fails"]);
    assert_eq!(format!("{:#}", error.failed[0].1), "AWS said no");
    let not_started: Vec<&str> = error.not_started.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(not_started, ["after_fails", "after_runs_on"]);
    // The step in flight when `fails` failed finished 29 s later and was recorded.
    assert_eq!(state.resources.keys().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["runs_on"]);
    assert_eq!(state.resources[&Address::from("runs_on")].id, "id-runs_on");
    // The failed creation stays noted with the id AWS gave it, for the next run to adopt.
    let pending: BTreeMap<&str, Option<&str>> =
        state.pending.iter().map(|(a, s)| (a.0.as_str(), s.id.as_deref())).collect();
    assert_eq!(pending, BTreeMap::from([("fails", Some("id-fails"))]));
    assert_eq!(log().lock().unwrap().started, ["fails", "runs_on"]);
}
