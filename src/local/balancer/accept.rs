//! The balancer's accept loop. An accept error (out of file descriptors, a connection reset
//! before it was accepted) does not end it: the error is logged and the loop waits before it
//! accepts again, 10 ms after the first error, doubling up to 1 s while the errors go on.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The first wait after an accept error.
const FIRST_WAIT: Duration = Duration::from_millis(10);
/// The longest wait between accept errors.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// Where the balancer's connections come from: a [`TcpListener`].
pub trait Listener: Send + 'static {
    /// The next connection and its peer.
    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl Listener for TcpListener {
    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        TcpListener::accept(self)
    }
}

/// Hands each connection `listener` accepts to `serve`, forever.
pub async fn accept_forever(listener: impl Listener, mut serve: impl FnMut(TcpStream, SocketAddr)) {
    let mut backoff = Backoff::default();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff = Backoff::default();
                serve(stream, peer);
            }
            Err(error) => {
                let wait = backoff.next_wait();
                eprintln!("load balancer: accepting a connection failed ({error}); accepting again in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The wait after each accept error in a row.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: FIRST_WAIT }
    }
}

impl Backoff {
    /// How long to wait after one more error.
    fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (wait * 2).min(LONGEST_WAIT);
        wait
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn the_wait_doubles_up_to_a_second() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..9).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }

    /// A listener whose first `failures` accepts fail as when the process is out of file
    /// descriptors.
    struct Exhausted {
        listener: TcpListener,
        failures: AtomicU32,
    }

    impl Listener for Exhausted {
        async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
            if self.failures.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                return Err(io::Error::from_raw_os_error(libc::EMFILE));
            }
            self.listener.accept().await
        }
    }

    #[tokio::test]
    async fn accept_errors_do_not_end_the_loop() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let exhausted = Exhausted { listener, failures: AtomicU32::new(3) };
        let (accepted, mut connections) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(accept_forever(exhausted, move |_, peer| accepted.send(peer).unwrap()));
        let client = TcpStream::connect(addr).await.unwrap();
        assert_eq!(connections.recv().await, Some(client.local_addr().unwrap()), "served after 3 errors");
        server.abort();
    }
}
