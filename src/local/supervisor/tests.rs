//! The supervisor's decisions on tokio's paused clock, against replicas in memory and a
//! request count the test feeds: minutes of scaling and deploys in milliseconds of real time.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{Supervisor, TICK};
use crate::local::control::Request;
use crate::local::pool::{Backend, Pool};
use crate::local::release::Release;
use crate::local::replicas::{Replica, ReplicaRuntime};
use crate::local::settings::LocalSettings;
use crate::local::status::DeployState;

/// Replicas that are only entries in a table: the test says which fail their health check
/// and which exit.
#[derive(Default)]
struct InMemory {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Every replica started, in order.
    started: Vec<String>,
    /// Every replica stopped, in order.
    stopped: Vec<String>,
    /// Replicas whose health check fails.
    failing: HashSet<String>,
    /// Replicas that exited.
    exited: HashSet<String>,
    /// Releases whose replicas never pass their health check.
    unhealthy_releases: HashSet<String>,
    /// Releases whose replicas exit at once.
    exiting_releases: HashSet<String>,
    /// The release of each replica started.
    releases: BTreeMap<String, String>,
}

impl InMemory {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

#[async_trait]
impl ReplicaRuntime for InMemory {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn start(&self, id: &str, release: &Release) -> anyhow::Result<Replica> {
        let mut state = self.state();
        state.started.push(id.to_string());
        state.releases.insert(id.to_string(), release.id.clone());
        if state.exiting_releases.contains(&release.id) {
            state.exited.insert(id.to_string());
        }
        let port = 10_000 + u16::try_from(state.started.len()).unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Ok(Replica { id: id.to_string(), addr, pid: None, container: None, release: release.id.clone() })
    }

    async fn exited(&self, replica: &Replica) -> Option<String> {
        self.state().exited.contains(&replica.id).then(|| "exit status: 2".to_string())
    }

    async fn stop(&self, replica: Replica) {
        self.state().stopped.push(replica.id);
    }

    async fn last_lines(&self, replica: &Replica) -> String {
        format!("{}: invalid value 'not-a-number' for '--rate-login'", replica.id)
    }

    async fn passes_health_check(&self, replica: &Replica, _path: &str) -> bool {
        let state = self.state();
        let answers = !state.exited.contains(&replica.id) && !state.failing.contains(&replica.id);
        answers && !state.unhealthy_releases.contains(&replica.release)
    }
}

/// The settings of the stack whose `scaling`, `health_check` and `instances` sections are
/// given in YAML.
fn settings(sections: &str) -> LocalSettings {
    LocalSettings::of(&crate::stack::parse(&format!("name: test\n{sections}")).expect("a valid stack"))
}

/// The release `name` of the app, with no environment.
fn release(name: &str) -> Release {
    Release::new(format!("/releases/{name}/cloudcomp-app"), name, BTreeMap::new())
}

/// A supervisor of in-memory replicas.
struct Run {
    supervisor: Supervisor,
    runtime: Arc<InMemory>,
    pool: Arc<Pool>,
}

impl Run {
    /// A supervisor of release `a` of the stack whose `scaling`, `health_check` and
    /// `instances` sections are given in YAML.
    fn new(sections: &str) -> Run {
        Run::with(InMemory::default(), sections)
    }

    /// [`Run::new`], with replicas in `runtime`.
    fn with(runtime: InMemory, sections: &str) -> Run {
        let settings = settings(sections);
        let (runtime, pool) = (Arc::new(runtime), Arc::new(Pool::default()));
        let first = Request::new(release("a"), Some(settings.clone()), None);
        let url = "http://127.0.0.1:1".to_string();
        let supervisor = Supervisor::new("test".into(), settings, url, pool.clone(), runtime.clone(), first);
        Run { supervisor, runtime, pool }
    }

    /// Supervises for `seconds` more seconds of `rate` requests a second, spread evenly over
    /// the ticks (`rate` is a multiple of the ticks in a second). The tick due at the very end
    /// comes at the start of the next call.
    async fn supervise(&mut self, seconds: u64, rate: u64) {
        let ticks_per_second = (Duration::from_secs(1).as_millis() / TICK.as_millis()) as u64;
        assert_eq!(rate % ticks_per_second, 0, "{rate} requests a second do not spread over the ticks");
        let pool = self.pool.clone();
        let feed = move |_: &mut Supervisor| {
            pool.count_requests(rate / ticks_per_second);
            Ok(())
        };
        let stopped = tokio::time::sleep(Duration::from_secs(seconds));
        self.supervisor.supervise(stopped, feed).await.unwrap();
    }

    /// The running replicas' ids.
    fn replicas(&self) -> Vec<String> {
        self.supervisor.replicas.iter().map(|r| r.id.clone()).collect()
    }

    /// The ids of the replicas in the balancer's rotation.
    fn in_rotation(&self) -> Vec<String> {
        self.pool.backends().iter().filter(|b| b.healthy.load(Ordering::Relaxed)).map(|b| b.id.clone()).collect()
    }

    /// What happened, oldest first.
    fn events(&self) -> Vec<String> {
        self.supervisor.status().events.into_iter().map(|e| e.what).collect()
    }

    fn started(&self) -> Vec<String> {
        self.runtime.state().started.clone()
    }

    fn stopped(&self) -> Vec<String> {
        self.runtime.state().stopped.clone()
    }
}

const SCALING: &str = "scaling:
  min: 1
  max: 3
  scale_out: { requests_above: 100, per: 10s, periods: 2, add: 1, cooldown: 15s }
  scale_in: { requests_below: 10, per: 10s, periods: 1, remove: 1, cooldown: 5s }
";

#[tokio::test(start_paused = true)]
async fn sustained_load_scales_out_one_step_at_a_time_up_to_max() {
    let mut run = Run::new(SCALING);
    // 40 requests a second: 400 per 10 s period, above 100.
    run.supervise(20, 40).await;
    assert_eq!(run.replicas(), ["r1"], "two periods above the threshold end only at 20 s");
    run.supervise(1, 40).await;
    assert_eq!(run.replicas(), ["r1", "r2"]);
    assert_eq!(run.in_rotation(), ["r1", "r2"]);
    // The alarm still fires at 30 s, but the 15 s cooldown ignores it.
    run.supervise(19, 40).await;
    assert_eq!(run.replicas(), ["r1", "r2"], "scaled out again within the cooldown");
    run.supervise(1, 40).await;
    assert_eq!(run.replicas(), ["r1", "r2", "r3"]);
    run.supervise(60, 40).await;
    assert_eq!(run.started(), ["r1", "r2", "r3"], "more than max");
    let scaled: Vec<String> = run.events().into_iter().filter(|e| e.starts_with("scaled")).collect();
    assert_eq!(scaled, ["scaled out: 1 → 2 replicas", "scaled out: 2 → 3 replicas"]);
    assert_eq!(run.supervisor.status().requests_last_minute, 60 * 40);
}

#[tokio::test(start_paused = true)]
async fn a_short_burst_does_not_scale() {
    let mut run = Run::new(SCALING);
    run.supervise(10, 40).await;
    run.supervise(60, 8).await;
    assert_eq!(run.started(), ["r1"]);
    assert!(!run.events().iter().any(|e| e.starts_with("scaled")), "{:?}", run.events());
}

#[tokio::test(start_paused = true)]
async fn quiet_traffic_scales_in_to_min_oldest_first() {
    let mut run = Run::new(&format!("{SCALING}  desired: 3\n"));
    run.supervise(1, 0).await;
    assert_eq!(run.replicas(), ["r1", "r2", "r3"], "the first alone, then the rest once it is healthy");
    run.supervise(9, 0).await;
    assert_eq!(run.replicas(), ["r1", "r2", "r3"]);
    run.supervise(1, 0).await;
    assert_eq!((run.replicas(), run.stopped()), (vec!["r2".into(), "r3".into()], vec!["r1".into()]));
    run.supervise(9, 0).await;
    assert_eq!(run.replicas(), ["r2", "r3"]);
    run.supervise(1, 0).await;
    assert_eq!(run.replicas(), ["r3"]);
    assert_eq!(run.in_rotation(), ["r3"]);
    run.supervise(60, 0).await;
    assert_eq!((run.replicas(), run.stopped()), (vec!["r3".into()], vec!["r1".into(), "r2".into()]), "below min");
}

const TWO_REPLICAS: &str = "scaling: { min: 2, max: 2 }\nhealth_check: { path: /health, interval: 5s }\n";

#[tokio::test(start_paused = true)]
async fn a_replica_failing_two_health_checks_in_a_row_is_replaced() {
    let mut run = Run::new(TWO_REPLICAS);
    run.supervise(1, 0).await;
    run.runtime.state().failing.insert("r1".into());
    // Checks at 5 s and 10 s fail; one failure leaves the replica in rotation.
    run.supervise(9, 0).await;
    assert_eq!((run.replicas(), run.in_rotation()), (vec!["r1".into(), "r2".into()], vec!["r1".into(), "r2".into()]));
    run.supervise(1, 0).await;
    assert_eq!(run.replicas(), ["r2", "r3"]);
    assert_eq!(run.in_rotation(), ["r2", "r3"]);
    assert_eq!(run.stopped(), ["r1"]);
    assert!(run.events().contains(&"r1 failed 2 health checks; replacing it".to_string()), "{:?}", run.events());
}

#[tokio::test(start_paused = true)]
async fn a_replica_passing_again_is_not_replaced() {
    let mut run = Run::new(TWO_REPLICAS);
    run.supervise(1, 0).await;
    run.runtime.state().failing.insert("r1".into());
    run.supervise(5, 0).await;
    run.runtime.state().failing.clear();
    run.supervise(5, 0).await;
    run.runtime.state().failing.insert("r1".into());
    run.supervise(5, 0).await;
    assert_eq!(run.replicas(), ["r1", "r2"], "failures at 5 s and 15 s are not in a row");
}

#[tokio::test(start_paused = true)]
async fn an_exited_replica_is_replaced_on_the_next_tick() {
    let mut run = Run::new(TWO_REPLICAS);
    run.supervise(1, 0).await;
    run.runtime.state().exited.insert("r2".into());
    run.supervise(1, 0).await;
    assert_eq!(run.replicas(), ["r1", "r3"]);
    assert!(run.events().contains(&"r2 exited (exit status: 2); replacing it".to_string()), "{:?}", run.events());
    assert_eq!(run.stopped(), ["r2"], "what is left of it is removed");
}

const DEPLOYS: &str = "scaling: { min: 2, max: 2 }
health_check: { path: /health, interval: 5s }
instances: { health_grace: 10s, deregistration_delay: 5s }
";

impl Run {
    /// Asks for `release`.
    fn deploy(&mut self, release: &Release) {
        self.supervisor.deploy(Request::new(release.clone(), None, None));
    }

    /// Supervises for `seconds`, checking after every tick that the balancer never has fewer
    /// than two replicas in rotation and that at most one replica waits out of rotation.
    async fn supervise_at_full_capacity(&mut self, seconds: u64) {
        let pool = self.pool.clone();
        let check = move |supervisor: &mut Supervisor| {
            let backends = pool.backends();
            let serving = backends.iter().filter(|b| b.healthy.load(Ordering::Relaxed)).count();
            assert!(serving >= 2, "{serving} replica(s) in rotation: {:?}", supervisor.status().events);
            assert!(backends.len() - serving <= 1, "more than one new replica at a time");
            Ok(())
        };
        self.supervisor.supervise(tokio::time::sleep(Duration::from_secs(seconds)), check).await.unwrap();
    }

    /// The release of each running replica, by id.
    fn releases(&self) -> Vec<(String, String)> {
        self.supervisor.replicas.iter().map(|r| (r.id.clone(), r.release.clone())).collect()
    }

    /// The deploy's state and error.
    fn outcome(&self) -> (DeployState, Option<String>) {
        let deploy = self.supervisor.deploy.clone().expect("a deploy was asked for");
        (deploy.state, deploy.error)
    }
}

#[tokio::test(start_paused = true)]
async fn a_deploy_replaces_one_replica_at_a_time_never_below_desired() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let b = release("b");
    run.deploy(&b);
    run.supervise_at_full_capacity(5).await;
    assert_eq!(run.releases(), [("r3".to_string(), b.id.clone()), ("r4".to_string(), b.id.clone())]);
    assert_eq!(run.stopped(), ["r1", "r2"], "the old replicas, oldest first");
    assert_eq!(run.in_rotation(), ["r3", "r4"]);
    assert_eq!(run.outcome(), (DeployState::Succeeded, None));
    assert_eq!(run.supervisor.release, b, "new replicas start from it");
    let steps: Vec<String> = run
        .events()
        .into_iter()
        .filter(|e| e.starts_with("started") || e.contains("in rotation") || e.contains("drained"))
        .map(|e| e.split(" of release").next().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let done = |r: &Release| format!("every replica runs release {} (2 in rotation)", r.id);
    let expected = [
        "started r1",
        "started r2",
        &done(&release("a")),
        "started r3",
        "r3 passed its health checks and is in rotation",
        "r1 drained",
        "started r4",
        "r4 passed its health checks and is in rotation",
        "r2 drained",
        &done(&b),
    ];
    assert_eq!(steps, expected, "the first start, then the deploy");
    let history: Vec<(u32, String)> = run.supervisor.history.iter().map(|d| (d.number, d.release.id.clone())).collect();
    assert_eq!(history, [(1, release("a").id), (2, b.id.clone())], "the first start, then the deploy");
    assert_eq!(run.supervisor.deploy.as_ref().unwrap().number, Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_release_failing_its_health_checks_is_stopped_after_the_warmup_and_the_old_one_kept() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let broken = release("broken");
    run.runtime.state().unhealthy_releases.insert(broken.id.clone());
    run.deploy(&broken);
    run.supervise_at_full_capacity(9).await;
    assert_eq!(run.outcome().0, DeployState::Rolling, "still within the 10 s warmup");
    assert_eq!(run.started(), ["r1", "r2", "r3"]);
    run.supervise_at_full_capacity(2).await;
    let (state, error) = run.outcome();
    assert_eq!(state, DeployState::Failed);
    assert!(error.as_deref().unwrap().contains("did not pass its health checks within the 10s warmup"), "{error:?}");
    assert_eq!(run.stopped(), ["r3"]);
    assert_eq!(run.releases(), [("r1".to_string(), release("a").id), ("r2".to_string(), release("a").id)]);
    assert_eq!(run.supervisor.release, release("a"));
    run.runtime.state().exited.insert("r1".into());
    run.supervise(1, 0).await;
    assert_eq!(run.runtime.state().releases["r4"], release("a").id, "a crashed replica comes back on the kept release");
    assert_eq!(run.supervisor.history.len(), 1, "a refused release is not a deploy");
}

#[tokio::test(start_paused = true)]
async fn a_release_that_exits_is_refused_at_once_with_its_last_lines() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let broken = release("broken");
    run.runtime.state().exiting_releases.insert(broken.id.clone());
    run.deploy(&broken);
    run.supervise_at_full_capacity(1).await;
    let (state, error) = run.outcome();
    assert_eq!(state, DeployState::Failed);
    let error = error.unwrap();
    assert!(error.contains("r3 of release") && error.contains("exited (exit status: 2) before passing"), "{error}");
    assert!(error.contains("invalid value 'not-a-number'"), "the replica's last lines: {error}");
    assert_eq!(run.in_rotation(), ["r1", "r2"]);
}

#[tokio::test(start_paused = true)]
async fn a_drained_replica_stops_once_its_requests_are_done_or_the_delay_is_over() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let backends = run.pool.backends();
    let (r1, r2) = (backends[0].clone(), backends[1].clone());
    let on_r1 = Backend::begin(&r1).unwrap();
    let on_r2 = Backend::begin(&r2).unwrap();
    run.deploy(&release("b"));
    run.supervise_at_full_capacity(3).await;
    assert!(run.stopped().is_empty(), "r1 still answers a request");
    let draining =
        run.supervisor.status().replicas.into_iter().filter(|r| r.draining).map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(draining, ["r1"]);
    drop(on_r1);
    run.supervise_at_full_capacity(1).await;
    assert_eq!(run.stopped(), ["r1"], "stopped on the tick after its last request");
    // r2's request never ends: the 5 s deregistration delay bounds the drain.
    run.supervise_at_full_capacity(4).await;
    assert_eq!(run.stopped(), ["r1"]);
    run.supervise_at_full_capacity(2).await;
    assert_eq!(run.stopped(), ["r1", "r2"]);
    assert!(
        run.events().iter().any(|e| e.contains("deregistration delay over with 1 request(s)")),
        "{:?}",
        run.events()
    );
    assert_eq!(run.outcome().0, DeployState::Succeeded);
    drop(on_r2);
}

/// Supervises until the supervisor stops with an error, for at most a minute; the error and
/// how long it took.
async fn until_it_stops(run: &mut Run) -> (String, Duration) {
    let started = tokio::time::Instant::now();
    let minute = tokio::time::sleep(Duration::from_secs(60));
    let error = run.supervisor.supervise(minute, |_| Ok(())).await.expect_err("the supervisor kept running");
    (error.to_string(), started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_first_release_that_exits_stops_the_supervisor_at_once_with_the_reason() {
    let runtime = InMemory::default();
    runtime.state().exiting_releases.insert(release("a").id);
    let mut run = Run::with(runtime, DEPLOYS);
    let (error, took) = until_it_stops(&mut run).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(error.contains("r1 of release") && error.contains("exited (exit status: 2) before passing"), "{error}");
    assert!(error.contains("invalid value 'not-a-number'"), "the replica's last lines: {error}");
    let (state, reason) = run.outcome();
    assert_eq!(state, DeployState::Failed);
    assert!(error.ends_with(&reason.unwrap()), "the status file says why: {error}");
    assert_eq!((run.started(), run.stopped()), (vec!["r1".into()], vec!["r1".into()]), "not restarted, removed");
    assert!(run.pool.backends().is_empty());
    assert!(run.supervisor.history.is_empty(), "a release that never ran is not a deploy");
}

#[tokio::test(start_paused = true)]
async fn a_first_release_failing_its_health_checks_stops_the_supervisor_after_the_warmup() {
    let runtime = InMemory::default();
    runtime.state().unhealthy_releases.insert(release("a").id);
    let mut run = Run::with(runtime, &DEPLOYS.replace("health_grace: 10s", "health_grace: 20s"));
    let (error, took) = until_it_stops(&mut run).await;
    assert!((Duration::from_secs(20)..Duration::from_secs(21)).contains(&took), "the 20 s warmup; took {took:?}");
    assert!(error.contains("r1 of release") && error.contains("within the 20s warmup"), "{error}");
    assert_eq!(run.outcome().0, DeployState::Failed);
    assert_eq!(run.started(), ["r1"], "the warmup judges it, not the checks every 5 s");
    assert_eq!(run.stopped(), ["r1"]);
}

#[tokio::test(start_paused = true)]
async fn new_settings_move_the_replicas_to_their_bounds_without_a_new_release() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let history = run.supervisor.history.clone();
    let wider = settings(&DEPLOYS.replace("min: 2, max: 2", "min: 3, max: 4"));
    run.supervisor.deploy(Request::new(release("a"), Some(wider.clone()), None));
    assert_eq!(run.outcome().0, DeployState::Rolling, "done once the third replica is in rotation");
    run.supervise(1, 0).await;
    assert_eq!((run.replicas(), run.in_rotation()), (vec!["r1".into(), "r2".into(), "r3".into()], run.replicas()));
    assert_eq!(run.outcome(), (DeployState::Succeeded, None));
    assert_eq!(run.supervisor.history, history, "the same release: no new deploy");
    assert_eq!(run.supervisor.status().settings, Some(wider));
    let said = run.events();
    assert!(said.contains(&"settings changed: scaling.max 2 → 4, scaling.min 2 → 3".to_string()), "{said:?}");

    let narrower = settings(&DEPLOYS.replace("min: 2, max: 2", "min: 1, max: 1"));
    run.supervisor.deploy(Request::new(release("a"), Some(narrower), None));
    run.supervise(1, 0).await;
    assert_eq!((run.replicas(), run.stopped()), (vec!["r3".into()], vec!["r1".into(), "r2".into()]), "oldest first");
    assert_eq!(run.outcome(), (DeployState::Succeeded, None));
}

#[tokio::test(start_paused = true)]
async fn a_new_replica_exiting_once_in_rotation_refuses_the_release() {
    let mut run = Run::new(DEPLOYS);
    run.supervise(1, 0).await;
    let b = release("b");
    run.deploy(&b);
    run.supervise(1, 0).await;
    assert!(run.in_rotation().contains(&"r3".to_string()), "r3 of b serves: {:?}", run.events());
    assert_eq!(run.outcome().0, DeployState::Rolling);
    run.runtime.state().exited.insert("r3".into());
    run.supervise_at_full_capacity(2).await;
    let (state, error) = run.outcome();
    assert_eq!(state, DeployState::Failed);
    let error = error.unwrap();
    assert!(error.contains("r3 of release") && error.contains("exited (exit status: 2) during the deploy"), "{error}");
    assert!(run.releases().iter().all(|(_, on)| *on == release("a").id), "back on a: {:?}", run.releases());
    assert_eq!(run.supervisor.release, release("a"));
}
