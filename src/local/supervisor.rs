//! The local stack's supervisor: a detached process (`cloudcomp local-supervisor`) that runs
//! the load balancer, keeps the replica count where the scaler wants it, health-checks the
//! replicas and replaces the ones that die or fail, and writes what it sees to the status
//! file every quarter second. SIGTERM stops it and every replica.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};

use super::balancer;
use super::pool::Pool;
use super::replicas::{Replica, Runtime};
use super::scaler::Scaler;
use super::status::{Event, LocalStatus, ReplicaStatus};
use crate::stack::Stack;

/// How often the supervisor looks at its replicas.
const TICK: Duration = Duration::from_millis(250);
/// Failed health checks in a row that make a replica unhealthy (the ALB's default).
const UNHEALTHY_AFTER: u32 = 2;
/// Events kept in the status file.
const EVENTS_KEPT: usize = 50;

/// What the supervisor runs.
#[derive(Debug)]
pub struct Settings {
    /// The stack.
    pub stack: Stack,
    /// The load balancer's port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Where replicas run.
    pub runtime: Runtime,
    /// The stack's local directory: status file, data, log.
    pub dir: PathBuf,
}

/// Whether `GET path` on `addr` answers 200 within two seconds.
async fn passes_health_check(addr: std::net::SocketAddr, path: &str) -> bool {
    let check = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path).header("host", addr.to_string()).body(Empty::<Bytes>::new()).ok()?;
        Some(sender.send_request(request).await.ok()?.status() == hyper::StatusCode::OK)
    };
    tokio::time::timeout(Duration::from_secs(2), check).await.ok().flatten().unwrap_or(false)
}

struct Supervisor {
    stack: Stack,
    url: String,
    pool: Arc<Pool>,
    runtime: Arc<Runtime>,
    started: u32,
    replicas: Vec<Replica>,
    failures: HashMap<String, u32>,
    desired: u32,
    scaler: Scaler,
    events: Vec<Event>,
    requests_per_second: Vec<u64>,
}

impl Supervisor {
    fn event(&mut self, what: String) {
        self.events.push(Event::now(what));
        if self.events.len() > EVENTS_KEPT {
            self.events.remove(0);
        }
    }

    /// Replaces exited replicas and starts or stops some to match `desired`. The first
    /// replica starts alone (it creates the database); the rest once it is healthy.
    async fn converge(&mut self) -> anyhow::Result<()> {
        let mut index = 0;
        while index < self.replicas.len() {
            if self.runtime.has_exited(&mut self.replicas[index]).await {
                let gone = self.replicas.remove(index);
                self.pool.remove(&gone.id);
                self.event(format!("{} exited; replacing it", gone.id));
            } else {
                index += 1;
            }
        }
        let any_healthy = self.pool.backends().iter().any(|b| b.healthy.load(Ordering::Relaxed));
        let wanted = if any_healthy { self.desired as usize } else { 1 };
        while self.replicas.len() < wanted {
            self.started += 1;
            let replica = self.runtime.start(self.started).await?;
            self.pool.add(&replica.id, replica.addr);
            self.event(format!("started {} on {}", replica.id, replica.addr));
            self.replicas.push(replica);
        }
        while self.replicas.len() > self.desired as usize {
            let replica = self.replicas.remove(0);
            self.pool.remove(&replica.id);
            self.event(format!("stopped {}", replica.id));
            self.stop_in_background(replica);
        }
        Ok(())
    }

    /// Health-checks the replicas: those not yet in rotation on every tick, the others on
    /// the stack's interval. A replica failing twice in a row is replaced.
    async fn check_health(&mut self, all: bool) {
        let path = self.stack.health_check.path.clone();
        let mut replace = Vec::new();
        for backend in self.pool.backends() {
            let healthy = backend.healthy.load(Ordering::Relaxed);
            if healthy && !all {
                continue;
            }
            let passed = passes_health_check(backend.addr, &path).await;
            let failures = self.failures.entry(backend.id.clone()).or_default();
            if passed {
                *failures = 0;
                if !healthy {
                    backend.healthy.store(true, Ordering::Relaxed);
                }
            } else if all {
                *failures += 1;
                if *failures >= UNHEALTHY_AFTER {
                    replace.push(backend.id.clone());
                }
            }
        }
        for id in replace {
            if let Some(at) = self.replicas.iter().position(|r| r.id == id) {
                let replica = self.replicas.remove(at);
                self.pool.remove(&id);
                self.failures.remove(&id);
                self.event(format!("{id} failed {UNHEALTHY_AFTER} health checks; replacing it"));
                self.stop_in_background(replica);
            }
        }
    }

    fn stop_in_background(&self, replica: Replica) {
        let runtime = self.runtime.clone();
        tokio::spawn(async move { runtime.stop(replica).await });
    }

    fn scale(&mut self) {
        let requests = self.pool.take_requests();
        self.requests_per_second.push(requests);
        if self.requests_per_second.len() > 60 {
            self.requests_per_second.remove(0);
        }
        if let Some(desired) = self.scaler.tick(requests, self.desired) {
            let direction = if desired > self.desired { "out" } else { "in" };
            self.event(format!("scaled {direction}: {} → {desired} replicas", self.desired));
            self.desired = desired;
        }
    }

    fn status(&self) -> LocalStatus {
        let stack = &self.stack;
        let backends = self.pool.backends();
        LocalStatus {
            stack: stack.name.clone(),
            pid: std::process::id(),
            url: self.url.clone(),
            runtime: self.runtime.name().into(),
            min: stack.scaling.min,
            max: stack.scaling.max,
            desired: self.desired,
            requests_last_minute: self.requests_per_second.iter().sum(),
            replicas: self
                .replicas
                .iter()
                .map(|r| {
                    let backend = backends.iter().find(|b| b.id == r.id);
                    ReplicaStatus {
                        id: r.id.clone(),
                        addr: r.addr.to_string(),
                        pid: r.pid(),
                        container: r.container().map(str::to_string),
                        healthy: backend.is_some_and(|b| b.healthy.load(Ordering::Relaxed)),
                        served: backend.map_or(0, |b| b.served.load(Ordering::Relaxed)),
                    }
                })
                .collect(),
            events: self.events.clone(),
        }
    }
}

/// Runs the local stack until SIGTERM or Ctrl-C, then stops every replica.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", settings.port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let pool = Arc::new(Pool::default());
    let balancer = tokio::spawn(balancer::serve(listener, pool.clone()));
    let Settings { stack, runtime, dir, .. } = settings;
    let status_path = super::status::path(&dir);
    let runtime = Arc::new(runtime);
    runtime.prepare().await?;
    let mut supervisor = Supervisor {
        desired: stack.scaling.desired(),
        scaler: Scaler::new(&stack.scaling),
        stack,
        url,
        pool,
        runtime: runtime.clone(),
        started: 0,
        replicas: Vec::new(),
        failures: HashMap::new(),
        events: Vec::new(),
        requests_per_second: Vec::new(),
    };
    let health_interval = Duration::from_secs(u64::from(supervisor.stack.health_check.interval.0));
    let (mut last_second, mut last_health) = (Instant::now(), Instant::now());
    let mut terminate = signal(SignalKind::terminate())?;
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = ticks.tick() => {}
        }
        supervisor.converge().await?;
        let all = last_health.elapsed() >= health_interval;
        if all {
            last_health = Instant::now();
        }
        supervisor.check_health(all).await;
        while last_second.elapsed() >= Duration::from_secs(1) {
            last_second += Duration::from_secs(1);
            supervisor.scale();
        }
        super::status::write(&status_path, &supervisor.status())?;
    }
    balancer.abort();
    for replica in supervisor.replicas.drain(..) {
        runtime.stop(replica).await;
    }
    Ok(())
}
