//! jemalloc for every binary that links the app (`cloudcomp-app`, and the `cloudcomp` CLI,
//! which runs the app for `up --local`): it keeps memory flat under many connections —
//! freed pages go back to the OS at once (no decay delay) and one arena per core limits
//! fragmentation across threads.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compile-time configuration (read before `main`), see `man jemalloc`.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"narenas:2,dirty_decay_ms:0,muzzy_decay_ms:0,background_thread:false\0";
