//! Requests whose body the handler did not read to its end (a 401 before the body is parsed,
//! a 404, a 413): their connection closes after the response, and cleanly.
//!
//! hyper does not read such a body on its own: it closes the connection after the response,
//! without saying so, and with the rest of the body still unread, which makes the close a
//! TCP reset. A client that reuses the connection (a pool, a load balancer) then loses its
//! next request, and a client still sending the body can lose the response itself. So:
//! 1. [`announce_close`] adds `Connection: close` to the response, so no one reuses it;
//! 2. dropping an unfinished [`TrackedBody`] reads and discards the rest of the body in the
//!    background (a lingering close, bounded in bytes and time), so that the connection
//!    ends with a clean close once the client has sent everything.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Response};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};

/// Most bytes of an abandoned body read and discarded before the connection is cut.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// Longest time spent discarding an abandoned body before the connection is cut.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A request body that records whether it was read to its end, and drains itself when
/// dropped before that.
pub struct TrackedBody {
    /// `None` only once dropped.
    inner: Option<Incoming>,
    /// Set once the body has ended; `None` for a request without a body.
    finished: Option<Arc<AtomicBool>>,
}

/// Whether a request's body has been read to its end; `None` when there was no body.
pub struct BodyProgress(Option<Arc<AtomicBool>>);

impl BodyProgress {
    fn unfinished(&self) -> bool {
        self.0.as_ref().is_some_and(|finished| !finished.load(Ordering::Acquire))
    }
}

/// Wraps a request body; the progress tells, once the response is ready, whether it was read.
pub fn track(inner: Incoming) -> (TrackedBody, BodyProgress) {
    let finished = (!inner.is_end_stream()).then(|| Arc::new(AtomicBool::new(false)));
    (TrackedBody { inner: Some(inner), finished: finished.clone() }, BodyProgress(finished))
}

/// Adds `Connection: close` to `response` unless the request body was read to its end.
pub fn announce_close<B>(progress: &BodyProgress, response: &mut Response<B>) {
    if progress.unfinished() {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        if (matches!(polled, Poll::Ready(None)) || inner.is_end_stream())
            && let Some(finished) = &self.finished
        {
            finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(Incoming::size_hint).unwrap_or_default()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        let unfinished = BodyProgress(self.finished.take()).unfinished();
        if let (true, Some(body), Ok(runtime)) = (unfinished, self.inner.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(drain(body));
        }
    }
}

/// Reads and discards the rest of `body`, up to [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(mut body: Incoming) {
    let discard = async {
        let mut budget = DRAIN_BYTES;
        while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            budget = budget.saturating_sub(frame.data_ref().map_or(0, Bytes::len));
            if budget == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}
