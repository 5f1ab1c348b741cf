//! The calls a proxy saw, in arrival order; a call is written down when it arrives and
//! completed once its answer is known.

use std::sync::Mutex;

use crate::Call;

/// The calls so far, each with a number that finds it again.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<(u64, Vec<(u64, Call)>)>,
}

impl Journal {
    /// Writes `call` down; the number is for [`Journal::complete`].
    pub(crate) fn push(&self, call: Call) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (next, calls) = &mut *entries;
        *next += 1;
        calls.push((*next, call));
        *next
    }

    /// Changes the call numbered `number` (unless the journal was cleared since).
    pub(crate) fn complete(&self, number: u64, change: impl FnOnce(&mut Call)) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, call)) = entries.1.iter_mut().rev().find(|(n, _)| *n == number) {
            change(call);
        }
    }

    /// Every call so far.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).1.iter().map(|(_, call)| call.clone()).collect()
    }

    /// Forgets the calls so far.
    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(action: &str) -> Call {
        Call { action: action.into(), fault: None, strict: None }
    }

    #[test]
    fn calls_are_completed_where_they_stand_and_clearing_forgets_them() {
        let journal = Journal::default();
        let first = journal.push(call("CreateVpc"));
        journal.push(call("DescribeVpcs"));
        journal.complete(first, |c| c.fault = Some("Throttling".into()));
        let calls = journal.calls();
        assert_eq!(calls.iter().map(|c| c.action.as_str()).collect::<Vec<_>>(), ["CreateVpc", "DescribeVpcs"]);
        assert_eq!(calls[0].fault.as_deref(), Some("Throttling"));
        journal.clear();
        journal.complete(first, |c| c.fault = None);
        assert!(journal.calls().is_empty());
    }
}
