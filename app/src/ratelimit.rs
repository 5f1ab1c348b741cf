//! Per-client-IP rate limits by route group, counted in the store every instance shares, so
//! that N instances behind a load balancer enforce one limit, not N (GCRA, see
//! [`crate::store::gcra`]). A refused request gets 429 with `Retry-After` in whole seconds,
//! worded as SlowAPI (seed 003's limiter) words it.
//! An unlimited group gets no limiter at all, so its routes pay nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::store::{Gcra, Store, Verdict, gcra};

/// A per-IP limit of some requests per minute; `None` inside means unlimited.
#[derive(Debug, Clone, Copy)]
pub struct Limit(Option<NonZeroU32>);

impl Limit {
    /// At most `per_minute` requests per minute per client; 0 means no limit.
    pub fn per_minute(per_minute: u32) -> Self {
        Limit(NonZeroU32::new(per_minute))
    }
}

/// The route groups that carry their own limit.
#[derive(Debug, Clone, Copy)]
pub enum Group {
    /// `POST /auth/login`.
    Login,
    /// Every route of seed 003, `POST /auth/login` as well as `/items` and `/items/{id}`:
    /// its README's "60 req/min globally".
    Items,
    /// Everything else (unlimited unless configured).
    Global,
}

impl Group {
    /// The group's name in the store's keys.
    fn name(self) -> &'static str {
        match self {
            Group::Login => "login",
            Group::Items => "items",
            Group::Global => "global",
        }
    }
}

/// The limits of every group, and what counting needs.
pub struct RateLimits {
    /// Where the counts live: the store every instance shares.
    pub store: Arc<dyn Store>,
    /// Whether to believe `X-Forwarded-For` (behind our own load balancer).
    pub trust_forwarded_for: bool,
    /// For [`Group::Login`].
    pub login: Limit,
    /// For [`Group::Items`].
    pub items: Limit,
    /// For [`Group::Global`].
    pub global: Limit,
}

impl RateLimits {
    /// The limiter of `group`, or `None` when the group is unlimited.
    pub fn limiter(&self, group: Group) -> Option<Arc<GroupLimiter>> {
        let limit = match group {
            Group::Login => self.login,
            Group::Items => self.items,
            Group::Global => self.global,
        };
        limit.0.map(|per_minute| {
            Arc::new(GroupLimiter {
                group,
                per_minute,
                rule: Gcra::per_minute(per_minute),
                store: self.store.clone(),
                trust_forwarded_for: self.trust_forwarded_for,
            })
        })
    }
}

/// The limit of one group: the state of its middleware.
pub struct GroupLimiter {
    group: Group,
    per_minute: NonZeroU32,
    rule: Gcra,
    store: Arc<dyn Store>,
    trust_forwarded_for: bool,
}

impl GroupLimiter {
    /// Counts one request from `client`; `Err` with the seconds to wait when over the limit.
    pub async fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        let key = format!("{}#{client}", self.group.name());
        match self.store.rate_limit(&key, self.rule, gcra::now_micros()).await? {
            Verdict::Allowed { .. } => Ok(()),
            Verdict::Refused { retry_after } => Err(ApiError::TooManyRequests {
                retry_after_secs: retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0),
                per_minute: self.per_minute.get(),
            }),
        }
    }
}

/// Middleware: refuses the request with 429 when its client is over the group's limit.
pub async fn enforce(
    State(limiter): State<Arc<GroupLimiter>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    limiter.check(client_ip(peer, request.headers(), limiter.trust_forwarded_for)).await?;
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
    use crate::store::SqliteStore;

    /// Limits of `login`, `items` and `global` per minute, counted in a fresh SQLite store.
    fn limits(dir: &tempfile::TempDir, [login, items, global]: [u32; 3]) -> RateLimits {
        RateLimits {
            store: Arc::new(SqliteStore::open(&dir.path().join("limits.db")).unwrap()),
            trust_forwarded_for: false,
            login: Limit::per_minute(login),
            items: Limit::per_minute(items),
            global: Limit::per_minute(global),
        }
    }

    #[tokio::test]
    async fn the_limit_counts_per_client_and_group_and_says_when_to_retry() {
        let dir = tempfile::tempdir().unwrap();
        let limits = limits(&dir, [2, 2, 0]);
        let (login, items) = (limits.limiter(Group::Login).unwrap(), limits.limiter(Group::Items).unwrap());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(login.check(a).await.is_ok());
        assert!(login.check(a).await.is_ok());
        match login.check(a).await {
            Err(ApiError::TooManyRequests { retry_after_secs, per_minute: 2 }) => {
                assert!((1..=30).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(login.check(b).await.is_ok());
        assert!(items.check(a).await.is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let dir = tempfile::tempdir().unwrap();
        let limits = limits(&dir, [5, 60, 0]);
        assert!(limits.limiter(Group::Global).is_none());
        assert!(limits.limiter(Group::Login).is_some());
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
