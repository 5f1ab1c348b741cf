//! A proxy in front of moto_server for tests and benchmarks: it records every AWS call
//! (service and action) so that a test can prove a run made no mutating call, can add
//! a fixed delay to each call so that a benchmark can compare `up` with its critical path
//! at realistic AWS latencies, can inject faults ([`Faults`]) so that a test can prove
//! a run rides out throttling and 5xx answers, and in strict mode ([`Strict`]) makes moto
//! behave like AWS: eventually consistent, slow to release and to boot.
//!
//! In every mode it also does what moto 5.2 cannot: it answers the EC2 Auto Scaling instance
//! refresh actions (StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh,
//! RollbackInstanceRefresh) itself and carries the refreshes out in moto in the background,
//! replacing the group's instances batch by batch, watching the alarms named in the refresh and
//! rolling back; [`Proxy::fail_new_instances`] makes new instances fail their health checks so
//! that tests can see a deploy go wrong; and it keeps the user data of CreateLaunchTemplateVersion
//! out of moto (which would answer 500 to every launch from that version) while showing it in
//! DescribeLaunchTemplateVersions.
//!
//! Every call is a [`Call`] in [`Proxy::calls`] (the proxy's own calls to moto are not). A
//! strict-mode refusal has `fault` set to AWS's error code and `strict` to the rule that refused
//! it ([`Call::is_strict_refusal`]); an answer strict mode rewrote has `strict` set and no `fault`.

mod faults;
mod health;
mod journal;
mod protocol;
mod refresh;
mod request;
mod strict;
mod user_data;
mod xml;

pub use faults::Faults;
pub use strict::{Rule, Strict};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use health::Health;
use journal::Journal;
use refresh::Refreshes;
use request::AwsRequest;
use strict::Judge;
use user_data::UserData;

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
    forwarder: Arc<Forwarder>,
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
        let forwarder = Arc::new(Forwarder {
            upstream,
            setup,
            judge: setup.strict.map(Judge::new),
            journal: Journal::default(),
            health: Health::default(),
            user_data: UserData::default(),
            refreshes: Refreshes::new(refresh::Timing::of(setup.strict.as_ref())),
        });
        let accepting = forwarder.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let forwarder = accepting.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| forwarder.clone().forward(request));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Proxy { addr, forwarder, task })
    }

    /// The proxy's URL, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.forwarder.journal.calls()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.forwarder.journal.clear();
    }

    /// With `on`, makes every instance that does not exist in moto yet fail its load balancer
    /// health checks: DescribeTargetHealth answers `unhealthy` (`Target.FailedHealthChecks`) for
    /// it, once it has registered, until this is called with `!on`, which makes every target answer
    /// as before again. Instance refreshes see it too, so that their rollback can be tested. Fails
    /// if moto cannot list its instances.
    pub async fn fail_new_instances(&self, on: bool) -> Result<(), String> {
        let existing = if on {
            health::instance_ids(&self.forwarder.query("ec2", &[("Action", "DescribeInstances")]).await?)
        } else {
            Vec::new()
        };
        self.forwarder.health.fail_new_instances(on, existing);
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.forwarder.refreshes.stop();
    }
}

/// What every connection of a proxy shares.
pub(crate) struct Forwarder {
    upstream: SocketAddr,
    setup: Setup,
    judge: Option<Judge>,
    journal: Journal,
    health: Health,
    user_data: UserData,
    refreshes: Refreshes,
}

impl Forwarder {
    /// Answers one call: with an injected fault, a strict-mode refusal, the proxy's own answer
    /// (instance refresh), or moto's answer (rewritten where AWS would answer otherwise).
    async fn forward(self: Arc<Self>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let (mut parts, body) = request.into_parts();
        let mut body = match body.collect().await {
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
        if let Some(refusal) =
            self.judge.as_ref().and_then(|judge| judge.refusal(&call, tokio::time::Instant::now().into_std()))
        {
            self.journal.complete(number, |recorded| {
                recorded.fault = Some(refusal.code.clone());
                recorded.strict = Some(refusal.rule);
            });
            return Ok(call.protocol.error(StatusCode::BAD_REQUEST, &refusal.code, &refusal.message));
        }
        if Refreshes::handles(&call) {
            return Ok(refresh::answer(&self, &call).await);
        }
        let user_data = self.user_data.strip(&call).map(|(stripped, user_data)| {
            body = Bytes::from(stripped);
            parts.headers.remove("content-length");
            user_data
        });
        let (mut parts, body) = match send(Request::from_parts(parts, Full::new(body)), self.upstream).await {
            Ok(answer) => answer,
            Err(err) => return Ok(error(format!("forwarding to {}: {err}", self.upstream))),
        };
        let Some((status, rewritten, rule)) = self.rewrite(&call, parts.status, &body, user_data) else {
            return Ok(Response::from_parts(parts, Full::new(body)));
        };
        if rule.is_some() {
            self.journal.complete(number, |recorded| recorded.strict = rule);
        }
        parts.status = status;
        for stale in ["content-length", "transfer-encoding", "x-amz-crc32", "x-amzn-errortype"] {
            parts.headers.remove(stale);
        }
        Ok(Response::from_parts(parts, Full::new(Bytes::from(rewritten))))
    }

    /// Learns from moto's answer (`status`, `body`) to `call` and rewrites it as AWS would
    /// answer: strict mode's rules (the rule that rewrote it comes back), then the proxy's own
    /// emulations (instance refresh, failing instances, launch template user data).
    /// `user_data` is what was taken out of a CreateLaunchTemplateVersion call.
    fn rewrite(
        &self,
        call: &AwsRequest,
        status: StatusCode,
        body: &[u8],
        user_data: Option<String>,
    ) -> Option<(StatusCode, String, Option<Rule>)> {
        let answer = std::str::from_utf8(body).ok()?;
        if status.is_success() {
            if let Some(user_data) = user_data {
                self.user_data.created(answer, user_data);
            }
            self.refreshes.learn(call, answer);
        }
        let now = tokio::time::Instant::now().into_std();
        let judged = self.judge.as_ref().and_then(|judge| judge.answered(call, status, body, now));
        let (status, mut text, rule) = match judged {
            Some(rewrite) => (rewrite.status, rewrite.body, Some(rewrite.rule)),
            None => (status, answer.to_string(), None),
        };
        let mut changed = rule.is_some();
        if status.is_success() {
            let rewrites: [Emulation; 3] =
                [&|text| self.refreshes.rewrite(call, text), &|text| self.health.rewrite(call, text), &|text| {
                    self.user_data.rewrite(call, text)
                }];
            for rewrite in rewrites {
                if let Some(rewritten) = rewrite(&text) {
                    text = rewritten;
                    changed = true;
                }
            }
        }
        changed.then_some((status, text, rule))
    }

    /// The proxy's own query-protocol call of `service` (`ec2`, `autoscaling`,
    /// `elasticloadbalancing`, `monitoring`) with `params` (`Action` among them), sent to moto and
    /// answered as the proxy would answer it, but neither recorded, delayed, faulted nor refused:
    /// the answer's text, or what went wrong.
    pub(crate) async fn query(&self, service: &str, params: &[(&str, &str)]) -> Result<String, String> {
        let version = match service {
            "ec2" => "2016-11-15",
            "autoscaling" => "2011-01-01",
            "elasticloadbalancing" => "2015-12-01",
            "monitoring" => "2010-08-01",
            _ => "",
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .append_pair("Version", version)
            .finish();
        let headers = request::signed(service);
        let call = AwsRequest::parse(&headers, body.as_bytes());
        let mut request = Request::post("/").header("host", self.upstream.to_string());
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        let (parts, body) = send(request, self.upstream).await.map_err(|e| format!("{}: {e}", call.action))?;
        let (status, text) = match self.rewrite(&call, parts.status, &body, None) {
            Some((status, text, _)) => (status, text),
            None => (parts.status, String::from_utf8_lossy(&body).into_owned()),
        };
        if status.is_success() { Ok(text) } else { Err(format!("{} answered {status}: {text}", call.action)) }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One of the proxy's own rewrites of an answer's text (`None`: unchanged).
type Emulation<'a> = &'a dyn Fn(&str) -> Option<String>;

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
