//! The generic cell rate algorithm (GCRA), as governor runs it, over a state a store keeps:
//! one number per key, the theoretical arrival time (TAT) of the next request.
//!
//! A limit of `n` per minute lets a request through when, after counting it, the key's TAT
//! is at most `n` emission intervals (60 s / `n`) ahead of now: `n` requests at once, then
//! one per interval. A refusal leaves the TAT as it was, so refused requests cost nothing
//! but the read. Once now has passed the TAT the key is as good as unseen, which is when a
//! store may forget it.

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch: the unit of every TAT a store keeps.
pub type Micros = i64;

/// Microseconds in a minute.
const MINUTE_MICROS: Micros = 60_000_000;

/// A rate limit of some requests per minute, with a burst of as many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Time one request uses up: a minute divided by the limit.
    interval: Micros,
    /// How far the TAT may run ahead of now: the limit times `interval`.
    tolerance: Micros,
}

/// What the limit says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The request passes; the key's TAT is now this.
    Allowed {
        /// The TAT to store.
        tat: Micros,
    },
    /// The request is over the limit; the next one passes after this long.
    Refused {
        /// How long until a request would pass.
        retry_after: Duration,
    },
}

impl Gcra {
    /// At most `per_minute` requests per minute.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        let interval = (MINUTE_MICROS / Micros::from(per_minute.get())).max(1);
        Gcra { interval, tolerance: interval * Micros::from(per_minute.get()) }
    }

    /// The time one request uses up.
    pub fn interval(&self) -> Micros {
        self.interval
    }

    /// The latest stored TAT that still lets a request at `now` through.
    pub fn last_passing_tat(&self, now: Micros) -> Micros {
        now + self.tolerance - self.interval
    }

    /// Decides on a request at `now` for a key whose stored TAT is `tat` (`None`: unseen).
    pub fn decide(&self, tat: Option<Micros>, now: Micros) -> Verdict {
        let next = tat.map_or(now, |tat| tat.max(now)) + self.interval;
        let ahead = next - now;
        if ahead <= self.tolerance {
            Verdict::Allowed { tat: next }
        } else {
            Verdict::Refused { retry_after: Duration::from_micros((ahead - self.tolerance).unsigned_abs()) }
        }
    }
}

/// The current time in [`Micros`].
pub fn now_micros() -> Micros {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Micros::try_from(since_epoch.as_micros()).unwrap_or(Micros::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(n: u32) -> Gcra {
        Gcra::per_minute(NonZeroU32::new(n).unwrap())
    }

    /// Runs `count` requests at `now` from `tat`, returning the last TAT and the verdicts.
    fn burst(rule: Gcra, mut tat: Option<Micros>, now: Micros, count: usize) -> (Option<Micros>, Vec<Verdict>) {
        let verdicts = (0..count)
            .map(|_| {
                let verdict = rule.decide(tat, now);
                if let Verdict::Allowed { tat: next } = verdict {
                    tat = Some(next);
                }
                verdict
            })
            .collect();
        (tat, verdicts)
    }

    #[test]
    fn a_burst_of_the_limit_passes_and_the_next_waits_one_interval() {
        let now = 1_000_000_000;
        let (tat, verdicts) = burst(limit(5), None, now, 6);
        assert!(verdicts[..5].iter().all(|v| matches!(v, Verdict::Allowed { .. })));
        assert_eq!(verdicts[5], Verdict::Refused { retry_after: Duration::from_secs(12) });
        assert_eq!(tat, Some(now + 60_000_000), "a refusal must not move the TAT");
    }

    #[test]
    fn one_request_comes_back_per_interval() {
        let now = 1_000_000_000;
        let (tat, _) = burst(limit(60), None, now, 60);
        let later = now + 2_500_000;
        let (_, verdicts) = burst(limit(60), tat, later, 3);
        assert!(matches!(verdicts[0], Verdict::Allowed { .. }));
        assert!(matches!(verdicts[1], Verdict::Allowed { .. }));
        assert_eq!(verdicts[2], Verdict::Refused { retry_after: Duration::from_millis(500) });
    }

    #[test]
    fn the_last_passing_tat_is_where_decisions_turn() {
        let (rule, now) = (limit(5), 1_000_000_000);
        let edge = rule.last_passing_tat(now);
        assert!(matches!(rule.decide(Some(edge), now), Verdict::Allowed { tat } if tat == edge + rule.interval()));
        assert!(matches!(rule.decide(Some(edge + 1), now), Verdict::Refused { .. }));
    }

    #[test]
    fn a_tat_in_the_past_counts_as_unseen() {
        let rule = limit(2);
        assert_eq!(rule.decide(Some(5), 1_000_000_000), rule.decide(None, 1_000_000_000));
    }
}
