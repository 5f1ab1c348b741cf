//! The replicas behind the load balancer and its request counter: shared by the balancer
//! (which sends traffic to the healthy ones, round robin, and counts requests), the health
//! checks (which put replicas in and out of rotation) and the scaler (which reads the count).
//!
//! A deploy drains a replica: takes it out of the pool, then waits until the requests it is
//! answering are done. The balancer counts them per backend ([`Backend::begin`]), and a
//! request that picked a backend just as it left gives it up: either the balancer sees the
//! backend removed, or the drain sees the request (both sides use sequentially consistent
//! operations).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// One replica behind the balancer.
#[derive(Debug)]
pub struct Backend {
    /// The replica's id.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it gets traffic.
    pub healthy: AtomicBool,
    /// Requests it was sent.
    pub served: AtomicU64,
    /// Requests it is answering now.
    in_flight: AtomicU64,
    /// Whether it left the pool.
    removed: AtomicBool,
}

/// A request a backend is answering: done when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Backend>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Backend {
    /// Counts a request `backend` is to answer, unless it left the pool.
    pub fn begin(backend: &Arc<Backend>) -> Option<InFlight> {
        backend.in_flight.fetch_add(1, Ordering::SeqCst);
        let in_flight = InFlight(backend.clone());
        (!backend.removed.load(Ordering::SeqCst)).then_some(in_flight)
    }

    /// Requests it is answering now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// The replicas and the request counter.
#[derive(Debug, Default)]
pub struct Pool {
    backends: RwLock<Vec<Arc<Backend>>>,
    /// Where the next request's round-robin turn starts.
    next: AtomicUsize,
    /// Requests received since the scaler last took the count.
    requests: AtomicU64,
}

impl Pool {
    /// Adds a replica, out of rotation until its first health check passes.
    pub fn add(&self, id: &str, addr: SocketAddr) -> Arc<Backend> {
        let backend = Arc::new(Backend {
            id: id.to_string(),
            addr,
            healthy: AtomicBool::new(false),
            served: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            removed: AtomicBool::new(false),
        });
        self.backends.write().unwrap_or_else(|e| e.into_inner()).push(backend.clone());
        backend
    }

    /// Takes a replica out of the pool; its backend, if it was there.
    pub fn remove(&self, id: &str) -> Option<Arc<Backend>> {
        let mut backends = self.backends.write().unwrap_or_else(|e| e.into_inner());
        let at = backends.iter().position(|b| b.id == id)?;
        let backend = backends.remove(at);
        backend.removed.store(true, Ordering::SeqCst);
        Some(backend)
    }

    /// Every replica.
    pub fn backends(&self) -> Vec<Arc<Backend>> {
        self.backends.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts `n` requests received.
    pub fn count_requests(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests received since the last call (the scaler's per-second count).
    pub fn take_requests(&self) -> u64 {
        self.requests.swap(0, Ordering::Relaxed)
    }

    /// The healthy replicas, starting with the next in round-robin order.
    pub fn rotation(&self) -> Vec<Arc<Backend>> {
        let healthy: Vec<Arc<Backend>> =
            self.backends().into_iter().filter(|b| b.healthy.load(Ordering::Relaxed)).collect();
        if healthy.is_empty() {
            return healthy;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % healthy.len();
        healthy[start..].iter().chain(&healthy[..start]).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_takes_turns_among_healthy_replicas_only() {
        let pool = Pool::default();
        for (i, port) in [(0, 1001), (1, 1002), (2, 1003)] {
            let backend = pool.add(&format!("r{i}"), SocketAddr::from(([127, 0, 0, 1], port)));
            backend.healthy.store(i != 1, Ordering::Relaxed);
        }
        let first: Vec<String> = (0..4).map(|_| pool.rotation()[0].id.clone()).collect();
        assert_eq!(first, ["r0", "r2", "r0", "r2"]);
        pool.remove("r0");
        assert_eq!(pool.rotation().len(), 1);
    }

    #[test]
    fn a_backend_counts_its_requests_until_it_leaves_the_pool() {
        let pool = Pool::default();
        let backend = pool.add("r1", SocketAddr::from(([127, 0, 0, 1], 1001)));
        let first = Backend::begin(&backend).expect("in the pool");
        let second = Backend::begin(&backend).expect("in the pool");
        assert_eq!(backend.in_flight(), 2);
        drop(first);
        assert_eq!(pool.remove("r1").unwrap().in_flight(), 1, "the request under way is still counted");
        assert!(Backend::begin(&backend).is_none(), "a backend out of the pool takes no new request");
        assert_eq!(backend.in_flight(), 1);
        drop(second);
        assert_eq!(backend.in_flight(), 0);
        assert!(pool.remove("r1").is_none());
    }

    #[test]
    fn the_request_count_is_taken_once() {
        let pool = Pool::default();
        pool.count_requests(3);
        pool.count_requests(2);
        assert_eq!(pool.take_requests(), 5);
        assert_eq!(pool.take_requests(), 0);
    }
}
