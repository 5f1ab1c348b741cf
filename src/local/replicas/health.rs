//! The health check over HTTP, as the ALB makes it: a fresh connection, `GET path`, 200 in time.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a health check waits for its answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `GET path` on `addr` answers 200 within [`TIMEOUT`].
pub async fn answers_ok(addr: SocketAddr, path: &str) -> bool {
    let check = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path).header("host", addr.to_string()).body(Empty::<Bytes>::new()).ok()?;
        Some(sender.send_request(request).await.ok()?.status() == hyper::StatusCode::OK)
    };
    tokio::time::timeout(TIMEOUT, check).await.ok().flatten().unwrap_or(false)
}
