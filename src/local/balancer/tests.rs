//! The balancer in front of tiny replicas on loopback ports, talked to over raw HTTP/1.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::serve;
use crate::local::pool::{Backend, Pool};

/// How a test replica answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 200, with the request's method, headers and body as the body, and some hop-by-hop
    /// headers of its own.
    Echo,
    /// Reads the request's head, then closes the connection unanswered.
    HangUp,
}

/// A test replica: where it listens, and how many connections it accepted.
struct Replica {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

async fn replica(behaviour: Behaviour) -> Replica {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                match behaviour {
                    Behaviour::Echo => {
                        let service = hyper::service::service_fn(echo);
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    }
                    Behaviour::HangUp => read_head(stream).await,
                }
            });
        }
    });
    Replica { addr, connections }
}

async fn echo(request: Request<Incoming>) -> Result<Response<String>, hyper::Error> {
    let mut text = format!("{}\n", request.method());
    for (name, value) in request.headers() {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
    }
    let body = request.into_body().collect().await?.to_bytes();
    text.push_str(&String::from_utf8_lossy(&body));
    Ok(Response::builder()
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-authenticate", "Basic")
        .header("x-kept", "1")
        .body(text)
        .unwrap())
}

async fn read_head(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
}

/// A balancer in front of `replicas` (healthy, in this order); its address and pool.
async fn balancer(replicas: &[SocketAddr]) -> (SocketAddr, Arc<Pool>) {
    let pool = Arc::new(Pool::default());
    for (n, addr) in replicas.iter().enumerate() {
        pool.add(&format!("r{n}"), *addr).healthy.store(true, Ordering::Relaxed);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, pool.clone()));
    (addr, pool)
}

/// A port nothing listens on.
fn refusing() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Sends `head` (request line and headers, without the blank line; the connection closes
/// after the response) and `body`; the status, the response head (lowercase) and body.
async fn send(addr: SocketAddr, head: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn healthy(backend: &Backend) -> bool {
    backend.healthy.load(Ordering::Relaxed)
}

#[tokio::test]
async fn hop_by_hop_headers_are_dropped_both_ways_and_the_client_is_appended_to_forwarded_for() {
    let echo = replica(Behaviour::Echo).await;
    let (addr, _) = balancer(&[echo.addr]).await;
    let head = "GET /x?y=1 HTTP/1.1\r\nHost: app\r\nConnection: x-secret\r\nX-Secret: 1\r\nKeep-Alive: 300\r\n\
                Proxy-Authorization: Basic eA==\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Kept: 1\r\n\
                X-Forwarded-For: 203.0.113.9";
    let (status, response_head, seen) = send(addr, head, "").await;
    assert_eq!(status, 200, "{seen}");
    let seen = seen.to_ascii_lowercase();
    for dropped in ["x-secret", "keep-alive", "proxy-authorization", "te:", "upgrade", "connection"] {
        assert!(!seen.contains(dropped), "the replica got {dropped}: {seen}");
    }
    assert!(seen.contains("host: app\n") && seen.contains("x-kept: 1\n"), "{seen}");
    assert!(seen.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"), "{seen}");
    for dropped in ["x-hop", "keep-alive", "proxy-authenticate"] {
        assert!(!response_head.contains(dropped), "the client got {dropped}: {response_head}");
    }
    assert!(response_head.contains("x-kept: 1"), "{response_head}");
}

#[tokio::test]
async fn connections_to_a_replica_are_kept_alive_and_reused() {
    let echo = replica(Behaviour::Echo).await;
    let (addr, pool) = balancer(&[echo.addr]).await;
    for _ in 0..5 {
        assert_eq!(send(addr, "GET /health HTTP/1.1\r\nHost: app", "").await.0, 200);
    }
    assert_eq!(echo.connections.load(Ordering::Relaxed), 1, "5 requests, one connection");
    assert_eq!(pool.backends()[0].served.load(Ordering::Relaxed), 5);
}

#[tokio::test]
async fn a_request_a_replica_never_took_goes_to_the_next_with_its_body() {
    let echo = replica(Behaviour::Echo).await;
    let (addr, pool) = balancer(&[refusing(), echo.addr]).await;
    let (status, _, seen) = send(addr, "POST /items HTTP/1.1\r\nHost: app", "hello").await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen.starts_with("POST\n") && seen.ends_with("hello"), "{seen}");
    let backends = pool.backends();
    assert!(!healthy(&backends[0]) && healthy(&backends[1]), "the refusing replica is out of rotation");
}

#[tokio::test]
async fn a_get_a_replica_dropped_goes_to_the_next_but_a_post_it_took_does_not() {
    let (hang_up, echo) = (replica(Behaviour::HangUp).await, replica(Behaviour::Echo).await);
    let (addr, pool) = balancer(&[hang_up.addr, echo.addr]).await;
    let (status, _, seen) = send(addr, "GET /items HTTP/1.1\r\nHost: app", "").await;
    assert_eq!(status, 200, "{seen}");
    assert!(!healthy(&pool.backends()[0]));

    let echo = replica(Behaviour::Echo).await;
    let (addr, _) = balancer(&[hang_up.addr, echo.addr]).await;
    // Even without a body: the replica may have acted on it.
    let (status, _, body) = send(addr, "POST /items HTTP/1.1\r\nHost: app", "").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("replica r0 failed"), "{body}");
    assert_eq!(echo.connections.load(Ordering::Relaxed), 0, "the POST was sent again");
    assert_eq!(hang_up.connections.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn without_a_healthy_replica_the_answer_is_503() {
    let (addr, _) = balancer(&[]).await;
    let (status, _, body) = send(addr, "GET / HTTP/1.1\r\nHost: app", "").await;
    assert_eq!((status, body.contains("no healthy replica")), (503, true), "{body}");
}
