//! A request body that comes back to the balancer when hyper never started sending it: a
//! request a replica never took (its connection refused, or closed before the request was
//! written) then goes to the next replica with its body, whatever its method.
//!
//! hyper's HTTP/1 dispatcher asks a body whether it has ended (`is_end_stream`) the moment it
//! takes the request off its queue to write the head, and sizes or polls it only after that.
//! So a body dropped before any of these calls was never written, and one that was asked
//! anything is taken as sent: a misjudgement can only err towards not sending it again.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Bytes, Frame, SizeHint};
use tokio::sync::oneshot;

use super::Body;

/// The body of a request on its way to a replica.
pub struct Returnable {
    /// `None` only once dropped.
    inner: Option<Body>,
    /// Whether hyper has started on it (asked it anything).
    touched: AtomicBool,
    /// Where it goes back to when dropped untouched.
    back: Option<oneshot::Sender<Body>>,
}

/// Where a [`Returnable`] body comes back.
#[must_use = "the body comes back only to whoever asks for it"]
pub struct Returned(oneshot::Receiver<Body>);

/// `body`, to send, and where it comes back if it is dropped unsent.
pub fn returnable(body: Body) -> (Returnable, Returned) {
    let (back, returned) = oneshot::channel();
    (Returnable { inner: Some(body), touched: AtomicBool::new(false), back: Some(back) }, Returned(returned))
}

impl Returned {
    /// The body, if it was dropped without being sent (ask once the request has failed).
    pub fn body(mut self) -> Option<Body> {
        self.0.try_recv().ok()
    }
}

impl Returnable {
    fn touch(&self) -> &Body {
        self.touched.store(true, Ordering::Relaxed);
        self.inner.as_ref().expect("a body is only taken when dropped")
    }
}

impl hyper::body::Body for Returnable {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.touch();
        let inner = self.inner.as_mut().expect("a body is only taken when dropped");
        Pin::new(inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.touch().is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.touch().size_hint()
    }
}

impl Drop for Returnable {
    fn drop(&mut self) {
        if !*self.touched.get_mut()
            && let (Some(body), Some(back)) = (self.inner.take(), self.back.take())
        {
            let _ = back.send(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Body as _;

    use super::*;

    fn body(text: &'static str) -> Body {
        Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed()
    }

    #[tokio::test]
    async fn an_untouched_body_comes_back_whole() {
        let (outgoing, returned) = returnable(body("hello"));
        drop(outgoing);
        let back = returned.body().expect("an unsent body comes back");
        assert_eq!(back.collect().await.unwrap().to_bytes(), "hello");
    }

    #[test]
    fn a_body_hyper_asked_anything_is_sent() {
        let (outgoing, returned) = returnable(body(""));
        assert!(outgoing.is_end_stream());
        drop(outgoing);
        assert!(returned.body().is_none());
    }
}
