//! Injected faults: a share of calls is answered with what AWS answers when it throttles or
//! fails (400 `Throttling`/`RequestLimitExceeded`, 500, 503) instead of being forwarded,
//! in the error format of the call's protocol, and a share is delayed.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Response, StatusCode};
use rand::RngExt;

use crate::protocol::Protocol;

/// How often calls fail and how long some wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Share of calls answered with an error (0.0–1.0).
    pub error_rate: f64,
    /// Share of calls delayed by up to `max_delay` before they go on.
    pub delay_rate: f64,
    /// The longest injected delay.
    pub max_delay: Duration,
}

impl Faults {
    /// No faults.
    pub const NONE: Faults = Faults { error_rate: 0.0, delay_rate: 0.0, max_delay: Duration::ZERO };

    /// One call in five fails; one in five waits up to 300 ms.
    pub const ONE_IN_FIVE: Faults = Faults { error_rate: 0.2, delay_rate: 0.2, max_delay: Duration::from_millis(300) };

    /// The injected delay for the next call (zero for most).
    pub fn delay(&self) -> Duration {
        let mut rng = rand::rng();
        if self.delay_rate > 0.0 && rng.random_bool(self.delay_rate) {
            self.max_delay.mul_f64(rng.random::<f64>())
        } else {
            Duration::ZERO
        }
    }

    /// The error to answer the next call with, if it is to fail: a throttle, a 500 or a 503
    /// in the call's protocol.
    pub fn error(&self, headers: &HeaderMap) -> Option<(String, Response<Full<Bytes>>)> {
        let mut rng = rand::rng();
        if self.error_rate <= 0.0 || !rng.random_bool(self.error_rate) {
            return None;
        }
        let protocol = Protocol::of(headers);
        let (status, code) = match rng.random_range(0..3) {
            0 => (StatusCode::BAD_REQUEST, protocol.throttling_code()),
            1 => (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        };
        Some((code.to_string(), protocol.error(status, code, "injected by aws-proxy")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_fails_at_rate_one_and_none_at_zero() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request".parse().unwrap(),
        );
        let always = Faults { error_rate: 1.0, ..Faults::NONE };
        for _ in 0..20 {
            let (code, response) = always.error(&headers).unwrap();
            assert!(["RequestLimitExceeded", "InternalFailure", "ServiceUnavailable"].contains(&code.as_str()));
            assert!(response.status().is_client_error() || response.status().is_server_error());
        }
        assert!(Faults::NONE.error(&headers).is_none());
        assert_eq!(Faults::NONE.delay(), Duration::ZERO);
    }
}
