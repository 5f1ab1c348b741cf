//! Reading a StartInstanceRefresh call, and refusing it where AWS does.

use super::model::{Preferences, Template};
use crate::request::AwsRequest;

/// An error answer: AWS's code and message.
pub(crate) type Error = (&'static str, String);

/// What StartInstanceRefresh asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Start {
    /// `AutoScalingGroupName`.
    pub(crate) group: String,
    /// `DesiredConfiguration.LaunchTemplate`, if given.
    pub(crate) desired: Option<Template>,
    /// `Preferences`.
    pub(crate) preferences: Preferences,
}

/// The `ValidationError` message AWS answers for `AutoRollback=true` without a desired
/// configuration (as the terraform-provider-aws issue #29830 quotes it).
pub(crate) const ROLLBACK_WITHOUT_DESIRED: &str = "The request isn't valid. The AutoRollback parameter cannot be set \
    to true when the DesiredConfiguration parameter is empty. Set AutoRollback to false or specify a desired \
    configuration and try again.";

impl Start {
    /// Reads `call`, refusing what AWS refuses before looking at the group.
    pub(crate) fn parse(call: &AwsRequest) -> Result<Start, Error> {
        let group = call
            .param("AutoScalingGroupName")
            .filter(|g| !g.is_empty())
            .ok_or_else(|| missing("AutoScalingGroupName"))?;
        if let Some(strategy) = call.param("Strategy").filter(|s| *s != "Rolling") {
            return Err((
                "ValidationError",
                format!("Strategy {strategy} is not supported; the only valid value is Rolling"),
            ));
        }
        let desired = match call.param("DesiredConfiguration.LaunchTemplate.LaunchTemplateId") {
            Some(id) => Some(Template {
                id: id.to_string(),
                name: call.param("DesiredConfiguration.LaunchTemplate.LaunchTemplateName").map(str::to_string),
                version: call.param("DesiredConfiguration.LaunchTemplate.Version").unwrap_or("$Default").to_string(),
            }),
            None if call.param("DesiredConfiguration.LaunchTemplate.LaunchTemplateName").is_some() => {
                return Err(unsupported("DesiredConfiguration.LaunchTemplate.LaunchTemplateName without an id"));
            }
            None => None,
        };
        let defaults = Preferences::default();
        let preferences = Preferences {
            min_healthy: number(call, "Preferences.MinHealthyPercentage", 0, 100)?.unwrap_or(defaults.min_healthy),
            max_healthy: number(call, "Preferences.MaxHealthyPercentage", 100, 200)?.unwrap_or(defaults.max_healthy),
            warmup: number(call, "Preferences.InstanceWarmup", 0, u32::MAX)?.map(u64::from),
            skip_matching: flag(call, "Preferences.SkipMatching")?,
            auto_rollback: flag(call, "Preferences.AutoRollback")?,
            alarms: call
                .params
                .iter()
                .filter(|(name, _)| name.starts_with("Preferences.AlarmSpecification.Alarms.member."))
                .map(|(_, alarm)| alarm.clone())
                .collect(),
        };
        if preferences.auto_rollback {
            match &desired {
                None => return Err(("ValidationError", ROLLBACK_WITHOUT_DESIRED.to_string())),
                Some(template) if !template.is_numbered() => return Err(rollback_to_unnumbered(template)),
                Some(_) => {}
            }
        }
        Ok(Start { group: group.to_string(), desired, preferences })
    }
}

/// AWS's refusal of auto rollback for a launch template version that is not a number. AWS
/// documents that it refuses ("you receive an error when you start … an instance refresh with
/// auto rollback enabled", user guide, "Undo changes with a manual or auto rollback") but not the
/// message: this one is worded after the one AWS gives for a missing desired configuration.
pub(crate) fn rollback_to_unnumbered(template: &Template) -> Error {
    (
        "ValidationError",
        format!(
            "The request isn't valid. The AutoRollback parameter cannot be set to true when the launch template \
             version is {}. Set AutoRollback to false or specify a numbered launch template version and try again.",
            template.version
        ),
    )
}

/// The `ValidationError` for a missing required parameter.
fn missing(name: &str) -> Error {
    (
        "ValidationError",
        format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

/// The refusal of what the proxy does not emulate (a choice of the proxy's, not AWS's).
fn unsupported(what: &str) -> Error {
    ("ValidationError", format!("aws-proxy does not emulate {what}"))
}

/// The integer parameter `name`, which must lie in `min..=max`.
fn number(call: &AwsRequest, name: &str, min: u32, max: u32) -> Result<Option<u32>, Error> {
    let Some(text) = call.param(name) else { return Ok(None) };
    match text.parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => Ok(Some(value)),
        _ => Err((
            "ValidationError",
            format!(
                "1 validation error detected: Value '{text}' at '{name}' failed to satisfy constraint: Member must \
                 have value between {min} and {max}"
            ),
        )),
    }
}

/// The boolean parameter `name` (false when absent).
fn flag(call: &AwsRequest, name: &str) -> Result<bool, Error> {
    match call.param(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(("ValidationError", format!("Value '{other}' at '{name}' is not a boolean"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    fn start(extra: &[(&str, &str)]) -> Result<Start, Error> {
        let mut params = vec![("Action", "StartInstanceRefresh"), ("AutoScalingGroupName", "g")];
        params.extend_from_slice(extra);
        Start::parse(&query("autoscaling", &params))
    }

    #[test]
    fn cloudcomps_rolling_deploy_is_read_whole() {
        let started = start(&[
            ("Strategy", "Rolling"),
            ("DesiredConfiguration.LaunchTemplate.LaunchTemplateId", "lt-1"),
            ("DesiredConfiguration.LaunchTemplate.Version", "3"),
            ("Preferences.MinHealthyPercentage", "100"),
            ("Preferences.MaxHealthyPercentage", "200"),
            ("Preferences.InstanceWarmup", "1"),
            ("Preferences.SkipMatching", "true"),
            ("Preferences.AutoRollback", "true"),
            ("Preferences.AlarmSpecification.Alarms.member.1", "unhealthy"),
            ("Preferences.AlarmSpecification.Alarms.member.2", "errors"),
        ])
        .unwrap();
        assert_eq!(started.group, "g");
        assert_eq!(started.desired, Some(Template { id: "lt-1".into(), name: None, version: "3".into() }));
        assert_eq!(
            started.preferences,
            Preferences {
                min_healthy: 100,
                max_healthy: 200,
                warmup: Some(1),
                skip_matching: true,
                auto_rollback: true,
                alarms: vec!["unhealthy".into(), "errors".into()],
            }
        );
        assert_eq!(start(&[]).unwrap().preferences, Preferences::default());
    }

    #[test]
    fn auto_rollback_needs_a_numbered_desired_configuration() {
        let (code, message) = start(&[("Preferences.AutoRollback", "true")]).unwrap_err();
        assert_eq!((code, message.as_str()), ("ValidationError", ROLLBACK_WITHOUT_DESIRED));
        for version in ["$Latest", "$Default"] {
            let refused = start(&[
                ("DesiredConfiguration.LaunchTemplate.LaunchTemplateId", "lt-1"),
                ("DesiredConfiguration.LaunchTemplate.Version", version),
                ("Preferences.AutoRollback", "true"),
            ]);
            let (code, message) = refused.unwrap_err();
            assert_eq!(code, "ValidationError");
            assert!(message.contains(version), "{message}");
        }
        let unversioned = start(&[("DesiredConfiguration.LaunchTemplate.LaunchTemplateId", "lt-1")]).unwrap();
        assert_eq!(unversioned.desired.unwrap().version, "$Default");
    }

    #[test]
    fn out_of_range_preferences_are_refused() {
        assert!(start(&[("Preferences.MaxHealthyPercentage", "250")]).is_err());
        assert!(start(&[("Preferences.MinHealthyPercentage", "x")]).is_err());
        assert!(start(&[("Preferences.SkipMatching", "yes")]).is_err());
        assert!(start(&[("Strategy", "Replace")]).is_err());
        assert_eq!(
            Start::parse(&query("autoscaling", &[("Action", "StartInstanceRefresh")])).unwrap_err().0,
            "ValidationError"
        );
    }
}
