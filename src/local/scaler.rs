//! The stack's request-count scaling, as CloudWatch and Auto Scaling apply it, for the
//! local target: requests are summed per period; when the last `periods` periods are all
//! above (below) the threshold the alarm fires and the group grows (shrinks) by the rule's
//! step, within `min`..=`max`, then ignores alarms for the cooldown. Pure: it is fed one
//! second's request count at a time.

use std::collections::VecDeque;

use crate::stack::Scaling;

/// One alarm and the policy it triggers.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    threshold: u64,
    above: bool,
    per: u64,
    periods: u64,
    step: i64,
    cooldown: u64,
}

impl Rule {
    /// Whether the alarm is in breach after second `now`, given per-second counts (newest last).
    fn breached(&self, now: u64, seconds: &VecDeque<u64>) -> bool {
        let window = (self.per * self.periods) as usize;
        if !now.is_multiple_of(self.per) || seconds.len() < window {
            return false;
        }
        let recent: Vec<u64> = seconds.iter().rev().take(window).copied().collect();
        recent.chunks(self.per as usize).all(|period| {
            let sum: u64 = period.iter().sum();
            if self.above { sum > self.threshold } else { sum < self.threshold }
        })
    }
}

/// Decides the replica count from the traffic.
#[derive(Debug, Clone)]
pub struct Scaler {
    rules: [Rule; 2],
    min: u32,
    max: u32,
    seconds: VecDeque<u64>,
    now: u64,
    quiet_until: u64,
}

impl Scaler {
    /// A scaler for the stack's `scaling` section.
    pub fn new(scaling: &Scaling) -> Scaler {
        let out = &scaling.scale_out;
        let inn = &scaling.scale_in;
        Scaler {
            rules: [
                Rule {
                    threshold: u64::from(out.requests_above),
                    above: true,
                    per: u64::from(out.per.0).max(1),
                    periods: u64::from(out.periods).max(1),
                    step: i64::from(out.add),
                    cooldown: u64::from(out.cooldown.0),
                },
                Rule {
                    threshold: u64::from(inn.requests_below),
                    above: false,
                    per: u64::from(inn.per.0).max(1),
                    periods: u64::from(inn.periods).max(1),
                    step: -i64::from(inn.remove),
                    cooldown: u64::from(inn.cooldown.0),
                },
            ],
            min: scaling.min,
            max: scaling.max,
            seconds: VecDeque::new(),
            now: 0,
            quiet_until: 0,
        }
    }

    /// Feeds the requests of the second that just ended; returns the new replica count
    /// when an alarm fires and changes it.
    pub fn tick(&mut self, requests: u64, current: u32) -> Option<u32> {
        self.now += 1;
        self.seconds.push_back(requests);
        let keep = self.rules.iter().map(|r| (r.per * r.periods) as usize).max().unwrap_or(1);
        while self.seconds.len() > keep {
            self.seconds.pop_front();
        }
        if self.now < self.quiet_until {
            return None;
        }
        for rule in &self.rules {
            if !rule.breached(self.now, &self.seconds) {
                continue;
            }
            let wanted = (i64::from(current) + rule.step).clamp(i64::from(self.min), i64::from(self.max));
            let wanted = u32::try_from(wanted).unwrap_or(self.min);
            if wanted != current {
                self.quiet_until = self.now + rule.cooldown;
                return Some(wanted);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Seconds;

    fn scaling() -> Scaling {
        let mut scaling = Scaling { min: 1, max: 3, ..Scaling::default() };
        scaling.scale_out.per = Seconds(10);
        scaling.scale_out.periods = 2;
        scaling.scale_out.requests_above = 100;
        scaling.scale_out.cooldown = Seconds(5);
        scaling.scale_in.per = Seconds(10);
        scaling.scale_in.periods = 1;
        scaling.scale_in.requests_below = 10;
        scaling.scale_in.cooldown = Seconds(5);
        scaling
    }

    /// Feeds `seconds` seconds of `rate` requests a second; the counts after each change.
    fn run(scaler: &mut Scaler, current: &mut u32, rate: u64, seconds: u64) -> Vec<(u64, u32)> {
        let mut changes = Vec::new();
        for _ in 0..seconds {
            if let Some(n) = scaler.tick(rate, *current) {
                *current = n;
                changes.push((scaler.now, n));
            }
        }
        changes
    }

    #[test]
    fn sustained_load_adds_replicas_up_to_max_with_cooldowns() {
        let mut scaler = Scaler::new(&scaling());
        let mut current = 1;
        // 20 requests a second = 200 per 10 s period: above 100 for 2 periods at t=20.
        let changes = run(&mut scaler, &mut current, 20, 60);
        assert_eq!(changes, [(20, 2), (30, 3)], "one step per evaluation once cooled down, capped at max");
    }

    #[test]
    fn a_short_burst_does_not_scale() {
        let mut scaler = Scaler::new(&scaling());
        let mut current = 1;
        assert!(run(&mut scaler, &mut current, 20, 10).is_empty());
        assert!(run(&mut scaler, &mut current, 10, 10).is_empty(), "100 is not above 100");
    }

    #[test]
    fn quiet_traffic_removes_replicas_down_to_min() {
        let mut scaler = Scaler::new(&scaling());
        let mut current = 3;
        let changes = run(&mut scaler, &mut current, 0, 40);
        assert_eq!(changes, [(10, 2), (20, 1)]);
    }
}
