//! A value derived from stored data, kept until the data changes.
//!
//! Stores that can tell cheaply whether anything changed hand out a change token
//! ([`crate::store::Store::change_token`]); a [`Cached`] value is reused while the token
//! it was computed at is current. Without a token nothing is cached.
//!
//! The slot is an `ArcSwapOption`: a hit writes to no memory another core reads (no lock
//! word to bounce between cores), which matters on the hottest read paths.

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// One cached value and the change token it was computed at.
pub struct Cached<T> {
    slot: ArcSwapOption<(u64, T)>,
}

impl<T: Clone> Default for Cached<T> {
    fn default() -> Self {
        Cached { slot: ArcSwapOption::empty() }
    }
}

impl<T: Clone> Cached<T> {
    /// The value at `token`: the cached one if it was computed at that token, else a fresh
    /// `load()`, remembered unless a newer one was stored meanwhile. `None` always loads.
    ///
    /// Take `token` *before* calling: a change committed after that makes the cached value
    /// look older than it is (loaded again next time), never newer.
    pub async fn get_or_load<E, F>(&self, token: Option<u64>, load: impl FnOnce() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let Some(token) = token else { return load().await };
        if let Some(value) = self.get(token) {
            return Ok(value);
        }
        let value = load().await?;
        let fresh = Arc::new((token, value.clone()));
        self.slot.rcu(|current| match current {
            Some(current) if current.0 >= token => Some(current.clone()),
            _ => Some(fresh.clone()),
        });
        Ok(value)
    }

    /// The value cached at exactly `token`, without waiting for anything.
    pub fn get(&self, token: u64) -> Option<T> {
        self.slot.load().as_ref().filter(|entry| entry.0 == token).map(|entry| entry.1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cached_value_is_reused_only_at_its_token() {
        let cache = Cached::<u32>::default();
        let reads = std::sync::atomic::AtomicU32::new(0);
        let load = |v| {
            reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move { Ok::<_, ()>(v) }
        };
        assert_eq!(cache.get_or_load(Some(1), || load(10)).await, Ok(10));
        assert_eq!(cache.get_or_load(Some(1), || load(11)).await, Ok(10));
        assert_eq!(cache.get_or_load(Some(2), || load(12)).await, Ok(12));
        assert_eq!(cache.get_or_load(Some(1), || load(13)).await, Ok(13), "an older token loads, not serves");
        assert_eq!(cache.get_or_load(Some(2), || load(14)).await, Ok(12), "and does not replace the newer value");
        assert_eq!(cache.get_or_load(None, || load(15)).await, Ok(15), "no token, no caching");
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}
