//! The local load balancer: a hyper reverse proxy on 127.0.0.1 in front of the replicas.
//!
//! 1. Each connection it accepts is served on its own task ([`accept`]: accept errors are
//!    waited out, never the end of the balancer).
//! 2. Each request is counted for the scaler, loses its hop-by-hop headers and gets the
//!    client appended to `X-Forwarded-For` ([`headers`]).
//! 3. It goes to the next healthy replica (round robin) over a pooled keep-alive connection,
//!    counted as in flight on that replica until its response body is passed on (a deploy
//!    drains a replica by waiting for that count to reach zero).
//! 4. A replica that fails it is marked unhealthy until its health check passes again, and the
//!    request goes to the next replica if that one never took it ([`returnable`]), or if it is
//!    a bodiless GET or HEAD (which can be sent again); otherwise the client gets a 502.
//! 5. The response loses its hop-by-hop headers too.

mod accept;
mod headers;
mod returnable;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body as _;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

pub use self::accept::Listener;
use self::returnable::{Returnable, returnable};
use super::pool::{Backend, InFlight, Pool};

/// A body the balancer passes on: a request's to a replica, a replica's response.
type Body = BoxBody<Bytes, hyper::Error>;

/// How long an idle connection to a replica stays in the pool. The app keeps idle
/// connections open until the client closes them, so the balancer is the one that does.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection's requests share.
struct Balancer {
    /// The replicas and the request counter.
    pool: Arc<Pool>,
    /// Keep-alive connections to the replicas, pooled per replica address.
    client: Client<HttpConnector, Returnable>,
}

/// Serves the balancer on `listener` until the task is aborted.
pub async fn serve(listener: impl Listener, pool: Arc<Pool>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .build(connector);
    let balancer = Arc::new(Balancer { pool, client });
    accept::accept_forever(listener, |stream, peer| {
        let balancer = balancer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| balancer.clone().forward(request, peer));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    })
    .await;
}

impl Balancer {
    /// Sends `request` from `peer` to a replica; the replica's response, or the balancer's
    /// 502 or 503.
    async fn forward(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<Response<Body>, Infallible> {
        self.pool.count_requests(1);
        let (mut head, body) = request.into_parts();
        headers::strip_hop_by_hop(&mut head.headers);
        headers::append_forwarded_for(&mut head.headers, peer.ip());
        let replayable = matches!(head.method, Method::GET | Method::HEAD) && body.is_end_stream();
        let Some(path) = head.uri.path_and_query().filter(|p| p.as_str().starts_with('/')).cloned() else {
            return Ok(error(StatusCode::BAD_REQUEST, "the balancer passes on requests for a path only"));
        };
        let mut body = Some(body.boxed());
        let mut last_error = None;
        for backend in self.pool.rotation() {
            // A backend draining since the rotation was read is skipped.
            let Some(in_flight) = Backend::begin(&backend) else { continue };
            let Some(this) = body.take().or_else(|| replayable.then(empty)) else { break };
            let (outgoing, returned) = returnable(this);
            let uri = Uri::builder().scheme("http").authority(backend.addr.to_string()).path_and_query(path.clone());
            let request = to_replica(&head, uri.build().expect("an address and a path make a URI"), outgoing);
            let result = self.client.request(request).await;
            body = returned.body();
            if result.is_ok() || body.is_none() {
                backend.served.fetch_add(1, Ordering::Relaxed);
            }
            match result {
                Ok(response) => return Ok(from_replica(response, in_flight)),
                Err(err) => {
                    backend.healthy.store(false, Ordering::Relaxed);
                    last_error = Some(format!("replica {} failed: {}", backend.id, with_causes(&err)));
                }
            }
        }
        Ok(match last_error {
            Some(message) => error(StatusCode::BAD_GATEWAY, &message),
            None => error(StatusCode::SERVICE_UNAVAILABLE, "no healthy replica"),
        })
    }
}

/// The request to send a replica at `uri`: `head`'s method and headers, over HTTP/1.1 (which
/// keeps the connection open) whatever the client spoke.
fn to_replica(head: &Parts, uri: Uri, body: Returnable) -> Request<Returnable> {
    let mut request = Request::new(body);
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = head.headers.clone();
    request
}

/// The replica's response to pass on to the client; the request counts as in flight until
/// its body is passed on (or dropped).
fn from_replica(response: Response<Incoming>, in_flight: InFlight) -> Response<Body> {
    let (mut head, body) = response.into_parts();
    headers::strip_hop_by_hop(&mut head.headers);
    let body = body.map_err(move |error| {
        let _answering = &in_flight;
        error
    });
    Response::from_parts(head, body.boxed())
}

/// `error` and what caused it, outermost first.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    message
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
