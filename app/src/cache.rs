//! A value derived from stored data, kept until the data changes.
//!
//! Stores that can tell cheaply whether anything changed hand out a change token
//! ([`crate::store::Store::change_token`]); a [`Cached`] value is reused while the token
//! it was computed at is current. Without a token nothing is cached.

use std::future::Future;
use std::sync::RwLock;

/// One cached value and the change token it was computed at.
pub struct Cached<T> {
    slot: RwLock<Option<(u64, T)>>,
}

impl<T: Clone> Default for Cached<T> {
    fn default() -> Self {
        Cached { slot: RwLock::new(None) }
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
        if let Some((at, value)) = &*self.slot.read().unwrap_or_else(|e| e.into_inner())
            && *at == token
        {
            return Ok(value.clone());
        }
        let value = load().await?;
        let mut slot = self.slot.write().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(at, _)| *at < token) {
            *slot = Some((token, value.clone()));
        }
        Ok(value)
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
