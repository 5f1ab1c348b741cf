//! The local load balancer: a hyper reverse proxy on 127.0.0.1 that sends each request to
//! the next healthy replica (round robin), counts requests for the scaler, and routes around
//! a replica that refuses connections (marking it unhealthy until its health check passes).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

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

/// The replicas and the request counter, shared by the balancer, the health checks and the
/// scaler.
#[derive(Debug, Default)]
pub struct Pool {
    backends: RwLock<Vec<Arc<Backend>>>,
    next: AtomicUsize,
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

    /// Requests received since the last call (the scaler's per-second count).
    pub fn take_requests(&self) -> u64 {
        self.requests.swap(0, Ordering::Relaxed)
    }

    /// The healthy replicas, starting with the next in round-robin order.
    fn rotation(&self) -> Vec<Arc<Backend>> {
        let healthy: Vec<Arc<Backend>> =
            self.backends().into_iter().filter(|b| b.healthy.load(Ordering::Relaxed)).collect();
        if healthy.is_empty() {
            return healthy;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % healthy.len();
        healthy[start..].iter().chain(&healthy[..start]).cloned().collect()
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

/// Serves the balancer on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, pool: Arc<Pool>) {
    while let Ok((stream, peer)) = listener.accept().await {
        let pool = pool.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| forward(request, peer, pool.clone()));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn forward(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    pool: Arc<Pool>,
) -> Result<Response<Body>, std::convert::Infallible> {
    pool.requests.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = HeaderValue::from_str(&peer.ip().to_string()) {
        request.headers_mut().append("x-forwarded-for", value);
    }
    for backend in pool.rotation() {
        // A refused connection leaves the request untouched: try the next replica.
        let Ok(stream) = TcpStream::connect(backend.addr).await else {
            backend.healthy.store(false, Ordering::Relaxed);
            continue;
        };
        let Ok((mut sender, connection)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
            continue;
        };
        tokio::spawn(connection);
        backend.served.fetch_add(1, Ordering::Relaxed);
        return Ok(match sender.send_request(request).await {
            Ok(response) => response.map(BodyExt::boxed),
            Err(err) => error(StatusCode::BAD_GATEWAY, &format!("replica {} failed: {err}", backend.id)),
        });
    }
    Ok(error(StatusCode::SERVICE_UNAVAILABLE, "no healthy replica"))
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
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
}
