//! IAM propagation, as the IAM User Guide's troubleshooting page "Changes that I make are not
//! always immediately visible" describes it: IAM is eventually consistent, and a change
//! (a new instance profile, a role added to it) takes a while to reach the services that use
//! it. For [`Strict::iam_propagation`](super::Strict::iam_propagation) after CreateInstanceProfile
//! or AddRoleToInstanceProfile answered, CreateAutoScalingGroup and UpdateAutoScalingGroup with a
//! launch template answer what Auto Scaling answers for a profile it cannot see yet:
//! `ValidationError` "… Invalid IAM Instance Profile name".

use std::time::{Duration, Instant};

use super::Rule;
use super::consistency::is_group_change;
use super::judge::{Behaviour, Refusal};
use crate::request::{AwsRequest, Service};

/// The instance profiles changed last, and when.
pub(super) struct IamPropagation {
    window: Duration,
    changed: Vec<(String, Instant)>,
}

impl IamPropagation {
    /// A changed instance profile propagates for `window`.
    pub(super) fn new(window: Duration) -> IamPropagation {
        IamPropagation { window, changed: Vec::new() }
    }
}

impl Behaviour for IamPropagation {
    fn refuse(&self, call: &AwsRequest, now: Instant) -> Option<Refusal> {
        if !is_group_change(call) || !call.params.iter().any(|(name, _)| name.starts_with("LaunchTemplate.")) {
            return None;
        }
        let (profile, _) =
            self.changed.iter().rev().find(|(_, at)| now.saturating_duration_since(*at) < self.window)?;
        Some(Refusal {
            rule: Rule::IamPropagation,
            code: "ValidationError".to_string(),
            message: format!(
                "You must use a valid fully-formed launch template. Value ({profile}) for parameter \
                 iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
            ),
        })
    }

    fn answered(&mut self, call: &AwsRequest, _answer: &str, now: Instant) {
        let changes =
            call.is(Service::Iam, "CreateInstanceProfile") || call.is(Service::Iam, "AddRoleToInstanceProfile");
        if let Some(profile) = call.param("InstanceProfileName").filter(|_| changes) {
            self.changed.retain(|(changed, _)| changed != profile);
            self.changed.push((profile.to_string(), now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    #[test]
    fn groups_with_a_launch_template_wait_for_the_profile() {
        let start = Instant::now();
        let mut rule = IamPropagation::new(Duration::from_secs(8));
        let group = query(
            "autoscaling",
            &[("Action", "CreateAutoScalingGroup"), ("LaunchTemplate.LaunchTemplateId", "lt-1"), ("MinSize", "1")],
        );
        assert_eq!(rule.refuse(&group, start), None);
        rule.answered(&query("iam", &[("Action", "CreateInstanceProfile"), ("InstanceProfileName", "web")]), "", start);
        let later = start + Duration::from_secs(5);
        rule.answered(
            &query("iam", &[("Action", "AddRoleToInstanceProfile"), ("InstanceProfileName", "web")]),
            "",
            later,
        );
        let refusal = rule.refuse(&group, later + Duration::from_secs(7)).unwrap();
        assert_eq!(refusal.code, "ValidationError");
        assert!(
            refusal.message.contains("Value (web) for parameter iamInstanceProfile.name is invalid"),
            "{}",
            refusal.message
        );
        assert_eq!(rule.refuse(&group, later + Duration::from_secs(8)), None);
        let resize = query("autoscaling", &[("Action", "UpdateAutoScalingGroup"), ("DesiredCapacity", "2")]);
        assert_eq!(rule.refuse(&resize, later), None);
    }
}
