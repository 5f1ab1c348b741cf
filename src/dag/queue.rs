//! A dependency queue, as in cargo's `dependency_queue.rs`: plain data, no I/O. Nodes are
//! queued with their dependencies; `dequeue` hands out nodes whose dependencies have all
//! finished; `finish` records a node as done.

use std::collections::{BTreeMap, BTreeSet};

/// Nodes waiting for their dependencies, and those ready to run.
#[derive(Debug, Clone)]
pub struct DependencyQueue<N: Ord + Clone> {
    /// Each waiting node and the dependencies it still waits for.
    waiting: BTreeMap<N, BTreeSet<N>>,
    /// Each node and the nodes that wait for it.
    dependents: BTreeMap<N, BTreeSet<N>>,
    /// Nodes handed out by `dequeue` and not yet finished.
    running: BTreeSet<N>,
}

impl<N: Ord + Clone> Default for DependencyQueue<N> {
    fn default() -> Self {
        DependencyQueue { waiting: BTreeMap::new(), dependents: BTreeMap::new(), running: BTreeSet::new() }
    }
}

impl<N: Ord + Clone> DependencyQueue<N> {
    /// Adds `node`, to run after every one of `deps` that is also queued. Dependencies
    /// that are never queued count as already done.
    pub fn queue(&mut self, node: N, deps: impl IntoIterator<Item = N>) {
        let deps = self.waiting.entry(node.clone()).or_default().extend_from(deps);
        for dep in deps {
            self.dependents.entry(dep).or_default().insert(node.clone());
        }
    }

    /// Call once every node is queued: forgets dependencies on nodes that were never queued.
    pub fn queue_finished(&mut self) {
        let queued: BTreeSet<N> = self.waiting.keys().cloned().collect();
        for deps in self.waiting.values_mut() {
            deps.retain(|d| queued.contains(d));
        }
        self.dependents.retain(|node, _| queued.contains(node));
    }

    /// Takes every node whose dependencies have all finished.
    pub fn dequeue_ready(&mut self) -> Vec<N> {
        let ready: Vec<N> = self.waiting.iter().filter(|(_, deps)| deps.is_empty()).map(|(n, _)| n.clone()).collect();
        for node in &ready {
            self.waiting.remove(node);
            self.running.insert(node.clone());
        }
        ready
    }

    /// Records `node` as done, releasing the nodes that waited for it.
    pub fn finish(&mut self, node: &N) {
        self.running.remove(node);
        for dependent in self.dependents.remove(node).unwrap_or_default() {
            if let Some(deps) = self.waiting.get_mut(&dependent) {
                deps.remove(node);
            }
        }
    }

    /// Whether nothing is waiting or running.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    /// Nodes still waiting (after a failure: those that will not run).
    pub fn waiting(&self) -> impl Iterator<Item = &N> {
        self.waiting.keys()
    }

    /// Whether some node waits although nothing runs or is ready: a dependency cycle.
    pub fn is_stuck(&self) -> bool {
        self.running.is_empty() && !self.waiting.is_empty() && self.waiting.values().all(|d| !d.is_empty())
    }
}

trait ExtendFrom<N> {
    fn extend_from(&mut self, deps: impl IntoIterator<Item = N>) -> Vec<N>;
}

impl<N: Ord + Clone> ExtendFrom<N> for BTreeSet<N> {
    /// Adds `deps`, returning those that were new.
    fn extend_from(&mut self, deps: impl IntoIterator<Item = N>) -> Vec<N> {
        deps.into_iter().filter(|d| self.insert(d.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_independent_branches_together_and_joins_them() {
        // 1 → {2, 3} → 4
        let mut q = DependencyQueue::default();
        q.queue(1, []);
        q.queue(2, [1]);
        q.queue(3, [1]);
        q.queue(4, [2, 3]);
        q.queue_finished();
        assert_eq!(q.dequeue_ready(), vec![1]);
        assert_eq!(q.dequeue_ready(), Vec::<i32>::new());
        q.finish(&1);
        assert_eq!(q.dequeue_ready(), vec![2, 3]);
        q.finish(&2);
        assert_eq!(q.dequeue_ready(), Vec::<i32>::new());
        q.finish(&3);
        assert_eq!(q.dequeue_ready(), vec![4]);
        q.finish(&4);
        assert!(q.is_empty());
    }

    #[test]
    fn dependencies_never_queued_count_as_done() {
        let mut q = DependencyQueue::default();
        q.queue(2, [1]);
        q.queue_finished();
        assert_eq!(q.dequeue_ready(), vec![2]);
    }

    #[test]
    fn a_cycle_is_detected() {
        let mut q = DependencyQueue::default();
        q.queue(1, [2]);
        q.queue(2, [1]);
        q.queue_finished();
        assert!(q.dequeue_ready().is_empty());
        assert!(q.is_stuck());
    }
}
