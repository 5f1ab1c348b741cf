//! The local load balancer: a hyper reverse proxy on 127.0.0.1 that sends each request to
//! the next healthy replica (round robin), counts requests for the scaler, and routes around
//! a replica that refuses connections (marking it unhealthy until its health check passes).
//! A request that a dying replica never took, or a bodiless GET or HEAD that it dropped
//! unanswered, goes to the next replica instead of failing. Accept errors are waited out
//! ([`accept`]), never the end of the balancer. Hop-by-hop headers are dropped both ways, and
//! the client is appended to `X-Forwarded-For` ([`headers`]).

mod accept;
mod headers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body as _;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub use self::accept::Listener;
use super::pool::Pool;

type Body = BoxBody<Bytes, hyper::Error>;

/// Serves the balancer on `listener` until the task is aborted.
pub async fn serve(listener: impl Listener, pool: Arc<Pool>) {
    accept::accept_forever(listener, |stream, peer| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| forward(request, peer, pool.clone()));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    })
    .await;
}

async fn forward(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    pool: Arc<Pool>,
) -> Result<Response<Body>, std::convert::Infallible> {
    pool.count_requests(1);
    headers::strip_hop_by_hop(request.headers_mut());
    headers::append_forwarded_for(request.headers_mut(), peer.ip());
    // What it takes to send a bodiless GET or HEAD again.
    let replayable = (matches!(*request.method(), Method::GET | Method::HEAD) && request.body().is_end_stream())
        .then(|| (request.method().clone(), request.uri().clone(), request.headers().clone()));
    let mut request = Some(request.map(BodyExt::boxed));
    let mut last_error = None;
    for backend in pool.rotation() {
        let Some(outgoing) = request.take().or_else(|| replayable.as_ref().map(replay)) else { break };
        // A refused connection leaves the request untouched: try the next replica.
        let Ok(stream) = TcpStream::connect(backend.addr).await else {
            backend.healthy.store(false, Ordering::Relaxed);
            request = Some(outgoing);
            continue;
        };
        let Ok((mut sender, connection)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
            request = Some(outgoing);
            continue;
        };
        tokio::spawn(connection);
        backend.served.fetch_add(1, Ordering::Relaxed);
        match sender.try_send_request(outgoing).await {
            Ok(mut response) => {
                headers::strip_hop_by_hop(response.headers_mut());
                return Ok(response.map(BodyExt::boxed));
            }
            // The replica died under it: unsent, the request goes on; sent, only a replayable one.
            Err(mut err) => {
                backend.healthy.store(false, Ordering::Relaxed);
                request = err.take_message();
                last_error = Some(format!("replica {} failed: {}", backend.id, err.into_error()));
            }
        }
    }
    Ok(match last_error {
        Some(message) => error(StatusCode::BAD_GATEWAY, &message),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no healthy replica"),
    })
}

/// A bodiless request again, from its method, URI and headers.
fn replay((method, uri, headers): &(Method, hyper::Uri, hyper::HeaderMap)) -> Request<Body> {
    let mut request = Request::new(Empty::new().map_err(|never| match never {}).boxed());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();
    request
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
