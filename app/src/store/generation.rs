//! A change counter shared by every process that uses one SQLite file, kept in a small
//! memory-mapped file beside it (`<db>.gen`).
//!
//! The writer bumps it after every commit, before acknowledging the writes; a reader
//! compares it with the value its cached result was read at. That costs one atomic load,
//! where asking SQLite whether anything changed costs a read transaction (file locks on
//! the WAL index). Processes on one machine share the mapping through the page cache, so
//! a write through one replica invalidates the caches of all of them.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

/// The shared change counter.
pub struct Generation {
    map: MmapMut,
}

impl Generation {
    /// Opens (creating if needed) the counter file beside `db_path`, and bumps it so that
    /// nothing cached before this process started is trusted.
    pub fn open(db_path: &Path) -> std::io::Result<Self> {
        let mut name = db_path.file_name().unwrap_or_default().to_os_string();
        name.push(".gen");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(db_path.with_file_name(name))?;
        if file.metadata()?.len() < 8 {
            file.set_len(8)?;
        }
        // SAFETY: the file is ours (created beside the database, never truncated), and every
        // access to the mapping goes through the atomic below.
        let map = unsafe { MmapMut::map_mut(&file)? };
        let generation = Generation { map };
        generation.bump();
        Ok(generation)
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned, at least 8 bytes long and lives as long as
        // `self`; AtomicU64 has the size and alignment of u64, and all processes touch
        // these bytes only atomically.
        unsafe { &*self.map.as_ptr().cast::<AtomicU64>() }
    }

    /// The current value.
    pub fn current(&self) -> u64 {
        self.counter().load(Ordering::Acquire)
    }

    /// Records that the database changed.
    pub fn bump(&self) {
        self.counter().fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_handles_on_one_file_see_each_others_bumps() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let a = Generation::open(&db).unwrap();
        let b = Generation::open(&db).unwrap();
        let before = a.current();
        b.bump();
        assert_eq!(a.current(), before + 1);
    }
}
