//! Listener release. The Elastic Load Balancing API reference for DeleteTargetGroup: "You can
//! delete a target group if it is not referenced by any actions", else `ResourceInUse`; a
//! listener's actions go some time after DeleteListener (or DeleteLoadBalancer, which "also
//! deletes its listeners") answered. For [`Strict::listener_release`] after either answered,
//! DeleteTargetGroup answers `ResourceInUse` "Target group '…' is currently in use by a
//! listener or a rule".
//!
//! [`Strict::listener_release`]: super::Strict::listener_release

use std::time::{Duration, Instant};

use super::Rule;
use super::judge::{Behaviour, Refusal};
use crate::request::{AwsRequest, Service};

/// When a listener was last deleted.
pub(super) struct ListenerRelease {
    window: Duration,
    deleted: Option<Instant>,
}

impl ListenerRelease {
    /// Target groups stay in use for `window`.
    pub(super) fn new(window: Duration) -> ListenerRelease {
        ListenerRelease { window, deleted: None }
    }
}

impl Behaviour for ListenerRelease {
    fn refuse(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        let deleted = self.deleted?;
        if !call.is(Service::Elb, "DeleteTargetGroup") || now.saturating_duration_since(deleted) >= self.window {
            return None;
        }
        let arn = call.param("TargetGroupArn").unwrap_or_default();
        Some(Refusal {
            rule: Rule::ListenerRelease,
            code: "ResourceInUse".to_string(),
            message: format!("Target group '{arn}' is currently in use by a listener or a rule"),
        })
    }

    fn answered(&mut self, call: &AwsRequest, _answer: &str, now: Instant) {
        if call.is(Service::Elb, "DeleteListener") || call.is(Service::Elb, "DeleteLoadBalancer") {
            self.deleted = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    #[test]
    fn target_groups_stay_in_use_for_a_while_after_their_listener_goes() {
        let start = Instant::now();
        let mut rule = ListenerRelease::new(Duration::from_secs(4));
        let delete = query("elasticloadbalancing", &[("Action", "DeleteTargetGroup"), ("TargetGroupArn", "arn:tg")]);
        assert_eq!(rule.refuse(&delete, start), None);
        rule.answered(&query("elasticloadbalancing", &[("Action", "DeleteListener")]), "", start);
        let refusal = rule.refuse(&delete, start + Duration::from_secs(3)).unwrap();
        assert_eq!(refusal.code, "ResourceInUse");
        assert_eq!(refusal.message, "Target group 'arn:tg' is currently in use by a listener or a rule");
        assert_eq!(rule.refuse(&delete, start + Duration::from_secs(4)), None);
    }
}
