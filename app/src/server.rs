//! The accept loop: one hyper HTTP/1.1 connection task per client, the client address
//! attached to every request (for per-IP rate limits), `Connection: close` on answers that
//! left the request body unread (see [`crate::keepalive`]), and a graceful stop.
//!
//! This is axum's "serve with hyper" pattern rather than `axum::serve`: the plain http1
//! connection keeps per-connection memory at the level of a bare hyper server, which
//! matters at 1,000 concurrent connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::Service;

use crate::keepalive;

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, closes
/// idle connections and waits for the requests in flight to finish.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little rather than spin, as hyper and axum do.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let (parts, body) = request.into_parts();
            let (body, progress) = keepalive::track(body);
            let response = router.clone().call(hyper::Request::from_parts(parts, body));
            async move {
                let mut response = response.await?;
                keepalive::announce_close(&progress, &mut response);
                Ok::<_, Infallible>(response)
            }
        });
        let connection = graceful.watch(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
