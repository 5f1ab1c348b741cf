//! Per-client-IP rate limits, one limiter per route group (GCRA, via governor).
//! A refused request gets 429 with `Retry-After` in whole seconds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use crate::context::AppContext;
use crate::error::ApiError;

/// Keys kept before idle ones are dropped, bounding memory under many client addresses.
const MAX_TRACKED_CLIENTS: usize = 100_000;

type KeyedLimiter = RateLimiter<IpAddr, governor::state::keyed::DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// A per-IP limit of some requests per minute; `None` inside means unlimited.
pub struct Limit(Option<KeyedLimiter>);

impl Limit {
    /// At most `per_minute` requests per minute per client; 0 means no limit.
    pub fn per_minute(per_minute: u32) -> Self {
        Limit(NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// Whether requests pass without counting (a limit of 0).
    pub fn is_unlimited(&self) -> bool {
        self.0.is_none()
    }

    /// Counts one request from `client`; `Err` with the seconds to wait when over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED_CLIENTS {
            limiter.retain_recent();
        }
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
        })
    }
}

/// The route groups that carry their own limit.
#[derive(Debug, Clone, Copy)]
pub enum Group {
    /// `POST /auth/login`.
    Login,
    /// `/items` and `/items/{id}`.
    Items,
    /// Everything else (unlimited unless configured).
    Global,
}

/// The limiters of every group.
pub struct RateLimits {
    /// For [`Group::Login`].
    pub login: Limit,
    /// For [`Group::Items`].
    pub items: Limit,
    /// For [`Group::Global`].
    pub global: Limit,
}

impl RateLimits {
    /// The limit of `group`.
    pub fn of(&self, group: Group) -> &Limit {
        match group {
            Group::Login => &self.login,
            Group::Items => &self.items,
            Group::Global => &self.global,
        }
    }
}

/// Middleware: refuses the request with 429 when its client is over the group's limit.
pub async fn enforce(
    State((ctx, group)): State<(Arc<AppContext>, Group)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let client = client_ip(peer, request.headers(), ctx.trust_forwarded_for);
    ctx.limits.of(group).check(client)?;
    Ok(next.run(request).await)
}

/// The client's address: the last `X-Forwarded-For` hop when the proxy in front is
/// trusted (the one it appended itself), else the TCP peer.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok());
    forwarded.or(peer).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_per_client_and_says_when_to_retry() {
        let limit = Limit::per_minute(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limit.check(a).is_ok());
        assert!(limit.check(a).is_ok());
        match limit.check(a) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limit.check(b).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limit = Limit::per_minute(0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..1000).all(|_| limit.check(a).is_ok()));
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer = Some("10.0.0.9".parse().unwrap());
        assert_eq!(client_ip(peer, &headers, false).to_string(), "10.0.0.9");
        assert_eq!(client_ip(peer, &headers, true).to_string(), "5.6.7.8");
    }
}
