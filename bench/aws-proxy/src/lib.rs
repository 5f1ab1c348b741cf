//! A proxy in front of moto_server for tests and benchmarks: it records every AWS call
//! (service and action) so that a test can prove a run made no mutating call, can add
//! a fixed delay to each call so that a benchmark can compare `up` with its critical path
//! at realistic AWS latencies, can inject faults ([`Faults`]) so that a test can prove
//! a run rides out throttling and 5xx answers, and in strict mode ([`Strict`]) makes moto
//! behave like AWS: eventually consistent, slow to release and to boot.
//!
//! Every call is a [`Call`] in [`Proxy::calls`]. A strict-mode refusal has `fault` set to
//! AWS's error code and `strict` to the rule that refused it ([`Call::is_strict_refusal`]);
//! an answer strict mode rewrote has `strict` set and no `fault`.

mod faults;
mod journal;
mod protocol;
mod request;
mod strict;
mod xml;

pub use faults::Faults;
pub use strict::{Rule, Strict};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use journal::Journal;
use request::AwsRequest;
use strict::Judge;

/// One AWS call that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The action: `DescribeVpcs`, `CreateTable`, … (from the query body or `X-Amz-Target`).
    pub action: String,
    /// The error answered instead of forwarding it, if any: an injected fault (`Throttling`,
    /// …) or a strict-mode refusal (`InvalidVpcID.NotFound`, …).
    pub fault: Option<String>,
    /// The strict-mode rule that refused the call (then `fault` holds AWS's code) or rewrote
    /// moto's answer to it (then `fault` is `None`).
    pub strict: Option<Rule>,
}

impl Call {
    /// Whether the call can change something: anything but Describe*, List*, Get*.
    pub fn is_mutating(&self) -> bool {
        !["Describe", "List", "Get"].iter().any(|read| self.action.starts_with(read))
    }

    /// Whether strict mode refused the call the way AWS would have.
    pub fn is_strict_refusal(&self) -> bool {
        self.strict.is_some() && self.fault.is_some()
    }
}

/// How a proxy treats the calls it forwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup {
    /// Added to every call before it is forwarded.
    pub delay: Duration,
    /// The faults injected.
    pub faults: Faults,
    /// Strict mode, if on: moto made to behave like AWS.
    pub strict: Option<Strict>,
}

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    journal: Arc<Journal>,
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
        Proxy::start_with(listen, upstream, Setup { delay, faults, strict: None }).await
    }

    /// Starts a proxy on `listen` forwarding to `upstream` (`host:port`) as `setup` says.
    pub async fn start_with(listen: SocketAddr, upstream: SocketAddr, setup: Setup) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let journal = Arc::new(Journal::default());
        let forwarder =
            Arc::new(Forwarder { upstream, setup, judge: setup.strict.map(Judge::new), journal: journal.clone() });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let forwarder = forwarder.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| forwarder.clone().forward(request));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Proxy { addr, journal, task })
    }

    /// The proxy's URL, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.journal.calls()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.journal.clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What every connection of a proxy shares.
struct Forwarder {
    upstream: SocketAddr,
    setup: Setup,
    judge: Option<Judge>,
    journal: Arc<Journal>,
}

impl Forwarder {
    /// Answers one call: with an injected fault, a strict-mode refusal, or moto's answer
    /// (rewritten by strict mode where AWS would answer otherwise).
    async fn forward(self: Arc<Self>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => return Ok(error(format!("reading the request: {err}"))),
        };
        let call = AwsRequest::parse(&parts.headers, &body);
        let injected = self.setup.faults.error(&parts.headers);
        let fault = injected.as_ref().map(|(code, _)| code.clone());
        let number = self.journal.push(Call { action: call.action.clone(), fault, strict: None });
        tokio::time::sleep(self.setup.delay + self.setup.faults.delay()).await;
        if let Some((_, response)) = injected {
            return Ok(response);
        }
        if let Some(refusal) = self.judge.as_ref().and_then(|judge| judge.refusal(&call, Instant::now())) {
            self.journal.complete(number, |recorded| {
                recorded.fault = Some(refusal.code.clone());
                recorded.strict = Some(refusal.rule);
            });
            return Ok(call.protocol.error(StatusCode::BAD_REQUEST, &refusal.code, &refusal.message));
        }
        let (mut parts, body) = match send(Request::from_parts(parts, Full::new(body)), self.upstream).await {
            Ok(answer) => answer,
            Err(err) => return Ok(error(format!("forwarding to {}: {err}", self.upstream))),
        };
        let Some(rewrite) =
            self.judge.as_ref().and_then(|judge| judge.answered(&call, parts.status, &body, Instant::now()))
        else {
            return Ok(Response::from_parts(parts, Full::new(body)));
        };
        self.journal.complete(number, |recorded| recorded.strict = Some(rewrite.rule));
        parts.status = rewrite.status;
        for stale in ["content-length", "transfer-encoding", "x-amz-crc32", "x-amzn-errortype"] {
            parts.headers.remove(stale);
        }
        Ok(Response::from_parts(parts, Full::new(Bytes::from(rewrite.body))))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Sends `request` to `upstream` and reads the whole answer.
async fn send(
    request: Request<Full<Bytes>>,
    upstream: SocketAddr,
) -> Result<(hyper::http::response::Parts, Bytes), BoxError> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    Ok((parts, body.collect().await?.to_bytes()))
}

fn error(message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_mutations() {
        for read in ["DescribeVpcs", "ListTagsForResource", "GetRole"] {
            assert!(!Call { action: read.into(), fault: None, strict: None }.is_mutating(), "{read}");
        }
        for write in ["CreateVpc", "PutMetricAlarm", "unknown"] {
            assert!(Call { action: write.into(), fault: None, strict: None }.is_mutating(), "{write}");
        }
    }

    #[test]
    fn strict_refusals_are_told_from_faults_and_rewrites() {
        let refused = Call {
            action: "ModifyVpcAttribute".into(),
            fault: Some("InvalidVpcID.NotFound".into()),
            strict: Some(Rule::Consistency),
        };
        let throttled = Call { action: "DescribeVpcs".into(), fault: Some("Throttling".into()), strict: None };
        let rewritten = Call { action: "DescribeVpcs".into(), fault: None, strict: Some(Rule::Consistency) };
        assert!(refused.is_strict_refusal());
        assert!(!throttled.is_strict_refusal());
        assert!(!rewritten.is_strict_refusal());
    }
}
