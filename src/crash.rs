//! A test hook for crash safety: with `CLOUDCOMP_CRASH_AFTER_STEPS=N` set, the process kills
//! itself with SIGKILL (as `kill -9` would: no destructor, no lock release, no last save)
//! the moment the Nth step has finished at AWS and before the state records it, the worst
//! moment to be cut off. Tests use it to prove that every interruption converges.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that arms the hook.
pub const CRASH_AFTER_STEPS: &str = "CLOUDCOMP_CRASH_AFTER_STEPS";

static FINISHED: AtomicUsize = AtomicUsize::new(0);

/// Counts a finished step; kills the process when it is the one the hook names.
pub fn step_finished() {
    static LIMIT: OnceLock<Option<usize>> = OnceLock::new();
    let limit = *LIMIT.get_or_init(|| std::env::var(CRASH_AFTER_STEPS).ok().and_then(|n| n.parse().ok()));
    if limit.is_some_and(|limit| FINISHED.fetch_add(1, Ordering::SeqCst) + 1 >= limit) {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}
