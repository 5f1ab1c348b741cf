//! A proxy in front of moto_server for tests and benchmarks: it records every AWS call
//! (service and action) so that a test can prove a run made no mutating call, can add
//! a fixed delay to each call so that a benchmark can compare `up` with its critical path
//! at realistic AWS latencies, and can inject faults ([`Faults`]) so that a test can prove
//! a run rides out throttling and 5xx answers.

mod faults;

pub use faults::Faults;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// One AWS call that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The action: `DescribeVpcs`, `CreateTable`, … (from the query body or `X-Amz-Target`).
    pub action: String,
    /// The error injected instead of forwarding it, if any (`Throttling`, …).
    pub fault: Option<String>,
}

impl Call {
    /// Whether the call can change something: anything but Describe*, List*, Get*.
    pub fn is_mutating(&self) -> bool {
        !["Describe", "List", "Get"].iter().any(|read| self.action.starts_with(read))
    }
}

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy on `listen` forwarding to `upstream` (`host:port`), delaying each
    /// call by `delay` before forwarding it, with `faults` injected.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        delay: Duration,
        faults: Faults,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| forward(request, upstream, delay, faults, recorded.clone()));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Proxy { addr, calls, task })
    }

    /// The proxy's URL, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    request: Request<Incoming>,
    upstream: SocketAddr,
    delay: Duration,
    faults: Faults,
    calls: Arc<Mutex<Vec<Call>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return Ok(error(format!("reading the request: {err}"))),
    };
    let action = action(&parts.headers, &body);
    let injected = faults.error(&parts.headers);
    let fault = injected.as_ref().map(|(code, _)| code.clone());
    calls.lock().unwrap_or_else(|e| e.into_inner()).push(Call { action, fault });
    tokio::time::sleep(delay + faults.delay()).await;
    if let Some((_, response)) = injected {
        return Ok(response);
    }
    match send(Request::from_parts(parts, Full::new(body)), upstream).await {
        Ok(response) => Ok(response),
        Err(err) => Ok(error(format!("forwarding to {upstream}: {err}"))),
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn send(request: Request<Full<Bytes>>, upstream: SocketAddr) -> Result<Response<Full<Bytes>>, BoxError> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn error(message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

/// The action of an AWS call: JSON protocols name it in `X-Amz-Target`
/// (`DynamoDB_20120810.DescribeTable`), query protocols in the form body (`Action=DescribeVpcs`).
fn action(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_come_from_the_target_header_or_the_query_body() {
        let mut headers = hyper::HeaderMap::new();
        assert_eq!(action(&headers, b"Action=DescribeVpcs&Version=2016-11-15"), "DescribeVpcs");
        headers.insert("x-amz-target", "DynamoDB_20120810.CreateTable".parse().unwrap());
        assert_eq!(action(&headers, b"{}"), "CreateTable");
    }

    #[test]
    fn reads_are_not_mutations() {
        for read in ["DescribeVpcs", "ListTagsForResource", "GetRole"] {
            assert!(!Call { action: read.into(), fault: None }.is_mutating(), "{read}");
        }
        for write in ["CreateVpc", "PutMetricAlarm", "unknown"] {
            assert!(Call { action: write.into(), fault: None }.is_mutating(), "{write}");
        }
    }
}
