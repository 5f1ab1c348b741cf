//! The replicas behind the load balancer and its request counter: shared by the balancer
//! (which sends traffic to the healthy ones, round robin, and counts requests), the health
//! checks (which put replicas in and out of rotation) and the scaler (which reads the count).

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
        let backend =
            Arc::new(Backend { id: id.to_string(), addr, healthy: AtomicBool::new(false), served: AtomicU64::new(0) });
        self.backends.write().unwrap_or_else(|e| e.into_inner()).push(backend.clone());
        backend
    }

    /// Takes a replica out of the pool.
    pub fn remove(&self, id: &str) {
        self.backends.write().unwrap_or_else(|e| e.into_inner()).retain(|b| b.id != id);
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
    fn the_request_count_is_taken_once() {
        let pool = Pool::default();
        pool.count_requests(3);
        pool.count_requests(2);
        assert_eq!(pool.take_requests(), 5);
        assert_eq!(pool.take_requests(), 0);
    }
}
