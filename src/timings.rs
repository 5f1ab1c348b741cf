//! `up --timings`: how long each step took and the critical path, the longest chain of steps
//! that had to run one after another. The critical path is the least time any schedule can
//! take, so the wall time divided by it says how much the engine loses to scheduling.

use std::collections::HashMap;
use std::time::Duration;

use crate::engine::Verb;
use crate::plan::{Address, Resource};
use crate::state::State;

/// Each finished step's duration.
pub type Durations = HashMap<(Address, Verb), Duration>;

/// The longest chain of dependent steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriticalPath {
    /// The steps in the order they ran, with their durations.
    pub steps: Vec<(Address, Verb, Duration)>,
    /// Their sum.
    pub total: Duration,
}

/// The critical path of an `up` that started from `before` and built `desired`: the
/// teardown phase's longest chain (dependents first) then the build phase's (dependencies
/// first), as the engine runs them.
pub fn critical_path(durations: &Durations, before: &State, desired: &[Resource]) -> CriticalPath {
    let deletes: HashMap<&Address, Duration> =
        durations.iter().filter(|((_, v), _)| *v == Verb::Delete).map(|((a, _), d)| (a, *d)).collect();
    let builds: HashMap<&Address, (Verb, Duration)> =
        durations.iter().filter(|((_, v), _)| *v != Verb::Delete).map(|((a, v), d)| (a, (*v, *d))).collect();

    // A deletion waits for the deletions of what depends on it.
    let teardown =
        longest(&deletes.iter().map(|(a, d)| ((*a).clone(), Verb::Delete, *d)).collect::<Vec<_>>(), |address| {
            before
                .resources
                .iter()
                .filter(|(other, r)| deletes.contains_key(other) && r.depends_on.contains(address))
                .map(|(other, _)| other.clone())
                .collect()
        });
    // A creation or update waits for those of what it depends on.
    let wants: HashMap<&Address, &Resource> = desired.iter().map(|r| (&r.address, r)).collect();
    let build = longest(&builds.iter().map(|(a, (v, d))| ((*a).clone(), *v, *d)).collect::<Vec<_>>(), |address| {
        wants
            .get(address)
            .map(|r| r.depends_on.iter().filter(|d| builds.contains_key(d)).cloned().collect())
            .unwrap_or_default()
    });
    CriticalPath { total: teardown.total + build.total, steps: teardown.steps.into_iter().chain(build.steps).collect() }
}

/// The longest chain through `steps`, where `before(a)` lists the steps that must finish
/// before `a` starts.
fn longest(steps: &[(Address, Verb, Duration)], before: impl Fn(&Address) -> Vec<Address>) -> CriticalPath {
    let by_address: HashMap<&Address, (Verb, Duration)> = steps.iter().map(|(a, v, d)| (a, (*v, *d))).collect();
    // Finish time of the longest chain ending at each step, and the step before it there.
    let mut best: HashMap<Address, (Duration, Option<Address>)> = HashMap::new();
    fn visit(
        address: &Address,
        by_address: &HashMap<&Address, (Verb, Duration)>,
        before: &dyn Fn(&Address) -> Vec<Address>,
        best: &mut HashMap<Address, (Duration, Option<Address>)>,
    ) -> Duration {
        if let Some((total, _)) = best.get(address) {
            return *total;
        }
        // Mark first so that a cycle (impossible from a plan) cannot recurse forever.
        best.insert(address.clone(), (Duration::ZERO, None));
        let mut longest = (Duration::ZERO, None);
        for previous in before(address) {
            let total = visit(&previous, by_address, before, best);
            if total > longest.0 {
                longest = (total, Some(previous));
            }
        }
        let total = longest.0 + by_address[address].1;
        best.insert(address.clone(), (total, longest.1));
        total
    }
    for (address, _, _) in steps {
        visit(address, &by_address, &before, &mut best);
    }
    let Some((end, (total, _))) = best.iter().max_by_key(|(_, (total, _))| *total) else {
        return CriticalPath::default();
    };
    let mut chain = vec![end.clone()];
    while let Some((_, Some(previous))) = best.get(chain.last().expect("not empty")) {
        chain.push(previous.clone());
    }
    chain.reverse();
    let steps = chain.into_iter().map(|a| (a.clone(), by_address[&a].0, by_address[&a].1)).collect();
    CriticalPath { steps, total: *total }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_longest_dependent_chain_wins_over_the_longest_step() {
        // vpc(100) → subnet(50) → asg(300); table(400) alone.
        let desired = vec![
            Resource::new("vpc", "vpc").set("x", json!(1)),
            Resource::new("subnet", "subnet").after("vpc"),
            Resource::new("asg", "asg").after("subnet"),
            Resource::new("table", "table"),
        ];
        let durations: Durations = [("vpc", 100), ("subnet", 50), ("asg", 300), ("table", 400)]
            .into_iter()
            .map(|(a, d)| ((Address::from(a), Verb::Create), ms(d)))
            .collect();
        let path = critical_path(&durations, &State::default(), &desired);
        assert_eq!(path.total, ms(450));
        let order: Vec<&str> = path.steps.iter().map(|(a, _, _)| a.0.as_str()).collect();
        assert_eq!(order, ["vpc", "subnet", "asg"]);
    }

    #[test]
    fn nothing_done_is_an_empty_path() {
        assert_eq!(critical_path(&Durations::new(), &State::default(), &[]), CriticalPath::default());
    }
}
