//! The local stack's supervisor: a detached process (`cloudcomp local-supervisor`) that runs
//! the load balancer and, every quarter second on tokio's clock:
//!
//! 1. replaces the replicas that exited, and starts or stops some to match the count the
//!    scaler wants (the first replica alone, since it creates the database), from the
//!    current release: the last one whose replica passed its health checks;
//! 2. moves a deploy on by one step ([`rollout`]): replicas of the new release replace
//!    the others one at a time, each drained before it stops;
//! 3. health-checks the replicas: those not yet in rotation every time, all of them every
//!    health-check interval; a replica failing twice in a row is replaced;
//! 4. feeds the scaler each whole second's request count;
//! 5. writes what it sees to the status file, and the deploy history.
//!
//! Its first release is a deploy like the others, with nothing to fall back on
//! ([`first_start`]): when its first replica exits, or does not pass a health check within
//! the warmup, the supervisor says why in the status file and stops.
//!
//! SIGHUP makes it read the release and settings wanted ([`super::control`], applied by
//! [`reconfigure`]); SIGTERM stops it and every replica.

mod first_start;
mod reconfigure;
mod rollout;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use futures_util::future::join_all;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, MissedTickBehavior};

use self::rollout::{Draining, Rollout};
use super::control::{self, Request};
use super::history::{self, LocalDeploy};
use super::pool::{Backend, Pool};
use super::release::Release;
use super::replicas::{Replica, ReplicaRuntime, Runtime};
use super::scaler::Scaler;
use super::settings::LocalSettings;
use super::status::{DeployStatus, Event, LocalStatus, ReplicaStatus};
use super::{balancer, status};

/// How often the supervisor looks at its replicas.
const TICK: Duration = Duration::from_millis(250);
/// Failed health checks in a row that make a replica unhealthy (the ALB's default).
const UNHEALTHY_AFTER: u32 = 2;
/// Events kept in the status file.
const EVENTS_KEPT: usize = 50;
/// Seconds of request counts kept for the status file's last minute.
const SECONDS_KEPT: usize = 60;

/// What the supervisor runs.
#[derive(Debug)]
pub struct Settings {
    /// The stack's name.
    pub stack: String,
    /// The load balancer's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Where replicas run.
    pub runtime: Runtime,
    /// The stack's local directory: status file, wanted release, history, data, logs.
    pub dir: PathBuf,
}

/// Runs the local stack until SIGTERM or Ctrl-C, then stops every replica. The release and
/// settings it starts from are the ones wanted ([`control`]); it stops with an error when
/// that release cannot start.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let Settings { stack, runtime, dir, port } = settings;
    let wanted = control::read(&control::path(&dir)).context("no release wanted: `up --local` writes one")?;
    let first_settings = wanted.settings.clone().context("no settings wanted: `up --local` writes them")?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let pool = Arc::new(Pool::default());
    let balancer = tokio::spawn(balancer::serve(listener, pool.clone()));
    let (status_path, history_path) = (status::path(&dir), history::path(&dir));
    let runtime = runtime.into_replicas();
    runtime.prepare().await?;
    let mut seen = wanted.id.clone();
    let mut supervisor = Supervisor::new(stack, first_settings, url, pool, runtime, wanted);
    supervisor.history = history::read(&history_path);
    let hangup = Arc::new(AtomicBool::new(false));
    let mut hangups = signal(SignalKind::hangup())?;
    let woken = hangup.clone();
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            woken.store(true, Ordering::SeqCst);
        }
    });
    let mut terminate = signal(SignalKind::terminate())?;
    let stopped = async {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let result = supervisor
        .supervise(stopped, |supervisor| {
            if hangup.swap(false, Ordering::SeqCst)
                && let Some(request) = control::read(&control::path(&dir)).filter(|r| r.id != seen)
            {
                seen = request.id.clone();
                supervisor.deploy(request);
            }
            history::write(&history_path, &supervisor.history)?;
            Ok(status::write(&status_path, &supervisor.status())?)
        })
        .await;
    balancer.abort();
    supervisor.stop_all().await;
    // The last word, for `up` to read when the start failed.
    status::write(&status_path, &supervisor.status())?;
    result
}

/// Now, as the history and events write it.
fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The replicas, the scaler and what happened, and the decisions that keep them in line.
struct Supervisor {
    /// The stack's name.
    name: String,
    /// The health check, scaling, warmup and deregistration delay.
    settings: LocalSettings,
    /// The balancer's URL, for the status file.
    url: String,
    /// The balancer's replicas and request counter.
    pool: Arc<Pool>,
    /// Where replicas run.
    runtime: Arc<dyn ReplicaRuntime>,
    /// Replicas started so far: the next one's number.
    started: u32,
    /// The running replicas in rotation or on their way to it, oldest first (the first to go
    /// on scale-in). A deploy's new replica joins them once healthy.
    replicas: Vec<Replica>,
    /// The release new replicas start from: the last one that passed its health checks.
    release: Release,
    /// Until a replica of the first release passes its health check: the end of its warmup.
    unproven: Option<Instant>,
    /// The deploy under way.
    rollout: Option<Rollout>,
    /// Replicas out of rotation, finishing their requests before they stop.
    draining: Vec<Draining>,
    /// The latest deploy, as the status file shows it.
    deploy: Option<DeployStatus>,
    /// Every release every replica came to run, oldest first.
    history: Vec<LocalDeploy>,
    /// Failed health checks in a row, by replica id.
    failures: HashMap<String, u32>,
    /// Replicas the scaler wants.
    desired: u32,
    /// The request-count alarms.
    scaler: Scaler,
    /// Recent events, oldest first.
    events: VecDeque<Event>,
    /// Requests of each of the last [`SECONDS_KEPT`] seconds.
    requests_per_second: VecDeque<u64>,
    /// When every replica is health-checked next.
    next_health_check: Instant,
    /// When the second the scaler is fed next ends.
    next_second: Instant,
}

impl Supervisor {
    /// A supervisor of the stack `name` with `settings`, deploying `first`'s release: no
    /// replica yet, they start on its first tick.
    fn new(
        name: String,
        settings: LocalSettings,
        url: String,
        pool: Arc<Pool>,
        runtime: Arc<dyn ReplicaRuntime>,
        first: Request,
    ) -> Supervisor {
        let now = Instant::now();
        let mut supervisor = Supervisor {
            desired: settings.scaling.desired(),
            scaler: Scaler::new(&settings.scaling),
            next_health_check: now + settings.health_check.interval.duration(),
            next_second: now + Duration::from_secs(1),
            unproven: Some(now + settings.health_grace.duration()),
            name,
            settings,
            url,
            pool,
            runtime,
            started: 0,
            replicas: Vec::new(),
            release: first.release.clone(),
            rollout: None,
            draining: Vec::new(),
            deploy: None,
            history: Vec::new(),
            failures: HashMap::new(),
            events: VecDeque::new(),
            requests_per_second: VecDeque::new(),
        };
        supervisor.deploy(first);
        supervisor
    }

    /// Ticks every [`TICK`] until `stopped` completes, calling `after_tick` after each.
    async fn supervise(
        &mut self,
        stopped: impl Future<Output = ()>,
        mut after_tick: impl FnMut(&mut Supervisor) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut ticks = tokio::time::interval(TICK);
        // A slow tick (a container starting) is followed by the next a full tick later, not by a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                biased;
                () = &mut stopped => return Ok(()),
                _ = ticks.tick() => {}
            }
            self.tick().await?;
            after_tick(self)?;
        }
    }

    /// One look at the replicas: steps 1 to 4 of the module's.
    async fn tick(&mut self) -> anyhow::Result<()> {
        self.converge().await?;
        self.check_first_start().await?;
        self.roll().await?;
        self.drain();
        let now = Instant::now();
        let all = now >= self.next_health_check;
        if all {
            self.next_health_check = now + self.settings.health_check.interval.duration();
        }
        self.check_health(all).await;
        while now >= self.next_second {
            self.next_second += Duration::from_secs(1);
            self.scale();
        }
        Ok(())
    }

    /// Records that `what` happened, forgetting the oldest event past [`EVENTS_KEPT`].
    fn event(&mut self, what: String) {
        self.events.push_back(Event::now(what));
        if self.events.len() > EVENTS_KEPT {
            self.events.pop_front();
        }
    }

    /// Replaces exited replicas and starts or stops some to match `desired`. The first
    /// replica starts alone (it creates the database); the rest once it is healthy. A
    /// replica of the first release exiting before any passed its health check fails the
    /// start.
    async fn converge(&mut self) -> anyhow::Result<()> {
        let exited = join_all(self.replicas.iter().map(|r| self.runtime.exited(r))).await;
        let (gone, running): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.replicas).into_iter().zip(exited).partition(|(_, exited)| exited.is_some());
        self.replicas = running.into_iter().map(|(replica, _)| replica).collect();
        for (replica, how) in gone {
            let how = how.unwrap_or_default();
            if self.unproven.is_some() {
                let why = exited_early(&replica, &how);
                return Err(self.fail_first_start(replica, why).await);
            }
            self.event(format!("{} exited ({how}); replacing it", replica.id));
            self.refuse_if_deploying(&replica, &how).await;
            self.stop_in_background(replica);
        }
        let any_healthy = self.pool.backends().iter().any(|b| b.healthy.load(Ordering::Relaxed));
        let wanted = if any_healthy { self.desired as usize } else { 1 };
        while self.replicas.len() < wanted {
            let (replica, _) = self.start(&self.release.clone()).await?;
            self.replicas.push(replica);
        }
        while self.replicas.len() > self.desired as usize {
            let replica = self.replicas.remove(0);
            self.event(format!("stopped {}", replica.id));
            self.stop_in_background(replica);
        }
        Ok(())
    }

    /// Starts a replica of `release`, out of rotation until its health check passes.
    async fn start(&mut self, release: &Release) -> anyhow::Result<(Replica, Arc<Backend>)> {
        self.started += 1;
        let replica = self.runtime.start(&format!("r{}", self.started), release).await?;
        let backend = self.pool.add(&replica.id, replica.addr);
        self.event(format!("started {} of release {} on {}", replica.id, release.id, replica.addr));
        Ok((replica, backend))
    }

    /// Health-checks the replicas: those not yet in rotation on every tick, all of them
    /// when `all`. A replica failing twice in a row is replaced, once the release has
    /// passed its first.
    async fn check_health(&mut self, all: bool) {
        let path = &self.settings.health_check.path;
        let backends = self.pool.backends();
        let due: Vec<(&Replica, &Arc<Backend>)> = self
            .replicas
            .iter()
            .filter_map(|replica| Some((replica, backends.iter().find(|b| b.id == replica.id)?)))
            .filter(|(_, backend)| all || !backend.healthy.load(Ordering::Relaxed))
            .collect();
        let passed = join_all(due.iter().map(|(replica, _)| self.runtime.passes_health_check(replica, path))).await;
        let mut replace = Vec::new();
        for ((replica, backend), passed) in due.into_iter().zip(passed) {
            let failures = self.failures.entry(replica.id.clone()).or_default();
            if passed {
                *failures = 0;
                backend.healthy.store(true, Ordering::Relaxed);
                self.unproven = None;
            } else if all && self.unproven.is_none() {
                // Before the first passes, the warmup judges (first_start), as the
                // health-check grace period does on AWS.
                *failures += 1;
                if *failures >= UNHEALTHY_AFTER {
                    replace.push(replica.id.clone());
                }
            }
        }
        for id in replace {
            if let Some(at) = self.replicas.iter().position(|r| r.id == id) {
                let replica = self.replicas.remove(at);
                self.event(format!("{id} failed {UNHEALTHY_AFTER} health checks; replacing it"));
                self.stop_in_background(replica);
            }
        }
    }

    /// Takes `id` out of the balancer and forgets its health; its backend, if it was there.
    fn forget(&mut self, id: &str) -> Option<Arc<Backend>> {
        self.failures.remove(id);
        self.pool.remove(id)
    }

    /// Takes `replica` out of the balancer now and stops (or, exited, removes) it without
    /// waiting.
    fn stop_in_background(&mut self, replica: Replica) {
        self.forget(&replica.id);
        let runtime = self.runtime.clone();
        tokio::spawn(async move { runtime.stop(replica).await });
    }

    /// Stops every replica and waits for them to stop.
    async fn stop_all(&mut self) {
        let candidate = self.rollout.as_mut().and_then(|r| r.candidate.take()).map(|c| c.replica);
        let draining = self.draining.drain(..).map(|d| d.replica);
        let all: Vec<Replica> = self.replicas.drain(..).chain(draining).chain(candidate).collect();
        join_all(all.into_iter().map(|replica| self.runtime.stop(replica))).await;
    }

    /// Feeds the scaler the second that just ended.
    fn scale(&mut self) {
        let requests = self.pool.take_requests();
        self.requests_per_second.push_back(requests);
        if self.requests_per_second.len() > SECONDS_KEPT {
            self.requests_per_second.pop_front();
        }
        if let Some(desired) = self.scaler.tick(requests, self.desired) {
            let direction = if desired > self.desired { "out" } else { "in" };
            self.event(format!("scaled {direction}: {} → {desired} replicas", self.desired));
            self.desired = desired;
        }
    }

    /// Whether `desired` replicas run, all of them in rotation.
    fn at_full_strength(&self) -> bool {
        let backends = self.pool.backends();
        let in_rotation =
            |replica: &Replica| backends.iter().any(|b| b.id == replica.id && b.healthy.load(Ordering::Relaxed));
        self.replicas.len() == self.desired as usize && self.replicas.iter().all(in_rotation)
    }

    /// Why `replica` failed: `what`, followed by its last lines when it wrote any.
    async fn failure(&self, replica: &Replica, what: String) -> String {
        let lines = self.runtime.last_lines(replica).await;
        if lines.trim().is_empty() { what } else { format!("{what}; its last lines:\n{lines}") }
    }

    /// What the status file says.
    fn status(&self) -> LocalStatus {
        let scaling = &self.settings.scaling;
        let backends = self.pool.backends();
        LocalStatus {
            stack: self.name.clone(),
            pid: std::process::id(),
            url: self.url.clone(),
            runtime: self.runtime.name().into(),
            min: scaling.min,
            max: scaling.max,
            desired: self.desired,
            requests_last_minute: self.requests_per_second.iter().sum(),
            replicas: self
                .replicas
                .iter()
                .map(|r| (r, backends.iter().find(|b| b.id == r.id), false))
                .chain(self.rollout.iter().flat_map(|r| &r.candidate).map(|c| (&c.replica, Some(&c.backend), false)))
                .chain(self.draining.iter().map(|d| (&d.replica, Some(&d.backend), true)))
                .map(|(r, backend, draining)| ReplicaStatus {
                    id: r.id.clone(),
                    addr: r.addr.to_string(),
                    pid: r.pid,
                    container: r.container.clone(),
                    healthy: !draining && backend.is_some_and(|b| b.healthy.load(Ordering::Relaxed)),
                    served: backend.map_or(0, |b| b.served.load(Ordering::Relaxed)),
                    release: r.release.clone(),
                    draining,
                })
                .collect(),
            events: self.events.iter().cloned().collect(),
            release: self.release.id.clone(),
            deploy: self.deploy.clone(),
            deploys: self.history.clone(),
            settings: Some(self.settings.clone()),
        }
    }
}

/// Why a replica that exited before passing its health checks failed its release.
fn exited_early(replica: &Replica, how: &str) -> String {
    format!("{} of release {} exited ({how}) before passing its health checks", replica.id, replica.release)
}

/// Why a replica still failing its health checks at the end of the warmup failed its release.
fn warmup_over(replica: &Replica, grace: crate::stack::Seconds) -> String {
    format!(
        "{} of release {} did not pass its health checks within the {grace} warmup (instances.health_grace)",
        replica.id, replica.release
    )
}
