//! An instance refresh as DescribeInstanceRefreshes shows it (the API reference's
//! `InstanceRefresh`, `RefreshPreferences`, `DesiredConfiguration` and `RollbackDetails` data
//! types), and its XML.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::xml::element;

/// The statuses of the API reference ("DescribeInstanceRefreshes") and of the user guide's
/// "Instance refresh statuses".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// "The request was created, but the instance refresh has not started."
    Pending,
    /// "An instance refresh is in progress."
    InProgress,
    /// "An instance refresh completed successfully."
    Successful,
    /// "An instance refresh failed to complete."
    Failed,
    /// "An ongoing instance refresh is being cancelled."
    Cancelling,
    /// "The instance refresh is cancelled."
    Cancelled,
    /// "An instance refresh is being rolled back."
    RollbackInProgress,
    /// "The rollback failed to complete."
    RollbackFailed,
    /// "The rollback completed successfully."
    RollbackSuccessful,
}

impl Status {
    /// The status as the API spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::InProgress => "InProgress",
            Status::Successful => "Successful",
            Status::Failed => "Failed",
            Status::Cancelling => "Cancelling",
            Status::Cancelled => "Cancelled",
            Status::RollbackInProgress => "RollbackInProgress",
            Status::RollbackFailed => "RollbackFailed",
            Status::RollbackSuccessful => "RollbackSuccessful",
        }
    }

    /// Whether the refresh is still going (the one active refresh a group may have).
    pub(crate) fn is_active(self) -> bool {
        matches!(self, Status::Pending | Status::InProgress | Status::Cancelling | Status::RollbackInProgress)
    }
}

/// A launch template and version (`DesiredConfiguration.LaunchTemplate`, or a group's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// `LaunchTemplateId`.
    pub(crate) id: String,
    /// `LaunchTemplateName`, when known.
    pub(crate) name: Option<String>,
    /// `Version`: a number, `$Latest` or `$Default`.
    pub(crate) version: String,
}

impl Template {
    /// Whether `other` names the same launch template id and version.
    pub(crate) fn same(&self, other: &Template) -> bool {
        self.id == other.id && self.version == other.version
    }

    /// Whether the version is a specific number (rollbacks need one).
    pub(crate) fn is_numbered(&self) -> bool {
        !self.version.is_empty() && self.version.bytes().all(|b| b.is_ascii_digit())
    }

    /// `<LaunchTemplate>…</LaunchTemplate>`.
    pub(crate) fn xml(&self) -> String {
        let name = self.name.as_deref().map(|n| element("LaunchTemplateName", n)).unwrap_or_default();
        format!(
            "<LaunchTemplate>{}{name}{}</LaunchTemplate>",
            element("LaunchTemplateId", &self.id),
            element("Version", &self.version)
        )
    }
}

/// `RefreshPreferences`, the ones the proxy acts on, with the API's defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Preferences {
    /// `MinHealthyPercentage` (default 90).
    pub(crate) min_healthy: u32,
    /// `MaxHealthyPercentage` (default 100).
    pub(crate) max_healthy: u32,
    /// `InstanceWarmup` in seconds (default: the group's health check grace period).
    pub(crate) warmup: Option<u64>,
    /// `SkipMatching` (default false).
    pub(crate) skip_matching: bool,
    /// `AutoRollback` (default false).
    pub(crate) auto_rollback: bool,
    /// `AlarmSpecification.Alarms`.
    pub(crate) alarms: Vec<String>,
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            min_healthy: 90,
            max_healthy: 100,
            warmup: None,
            skip_matching: false,
            auto_rollback: false,
            alarms: Vec::new(),
        }
    }
}

impl Preferences {
    /// `<Preferences>…</Preferences>`, with the fields of the data type's order.
    fn xml(&self) -> String {
        let warmup = self.warmup.map(|w| element("InstanceWarmup", &w.to_string())).unwrap_or_default();
        let alarms = if self.alarms.is_empty() {
            String::new()
        } else {
            let members: String = self.alarms.iter().map(|a| element("member", a)).collect();
            format!("<AlarmSpecification><Alarms>{members}</Alarms></AlarmSpecification>")
        };
        format!(
            "<Preferences>{}{warmup}{}{}<ScaleInProtectedInstances>Ignore</ScaleInProtectedInstances>\
             <StandbyInstances>Ignore</StandbyInstances>{alarms}{}</Preferences>",
            element("MinHealthyPercentage", &self.min_healthy.to_string()),
            element("SkipMatching", &self.skip_matching.to_string()),
            element("AutoRollback", &self.auto_rollback.to_string()),
            element("MaxHealthyPercentage", &self.max_healthy.to_string()),
        )
    }
}

/// `RollbackDetails`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rollback {
    /// `RollbackReason`.
    pub(crate) reason: String,
    /// `RollbackStartTime`.
    pub(crate) start: SystemTime,
    /// `PercentageCompleteOnRollback`.
    pub(crate) percentage: u32,
    /// `InstancesToUpdateOnRollback`.
    pub(crate) to_update: u32,
}

/// One instance refresh.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refresh {
    /// `InstanceRefreshId`.
    pub(crate) id: String,
    /// `AutoScalingGroupName`.
    pub(crate) group: String,
    /// `Status`.
    pub(crate) status: Status,
    /// `StatusReason`.
    pub(crate) reason: Option<String>,
    /// `StartTime`.
    pub(crate) start: SystemTime,
    /// `EndTime`, once ended.
    pub(crate) end: Option<SystemTime>,
    /// `PercentageComplete`.
    pub(crate) percentage: u32,
    /// `InstancesToUpdate`.
    pub(crate) to_update: u32,
    /// `Preferences`.
    pub(crate) preferences: Preferences,
    /// `DesiredConfiguration.LaunchTemplate`, if given.
    pub(crate) desired: Option<Template>,
    /// The group's launch template when the refresh started: what a rollback restores.
    pub(crate) previous: Option<Template>,
    /// `RollbackDetails`, once rolled back.
    pub(crate) rollback: Option<Rollback>,
}

impl Refresh {
    /// `<member>…</member>` of DescribeInstanceRefreshes' `InstanceRefreshes`.
    pub(crate) fn xml(&self) -> String {
        let reason = self.reason.as_deref().map(|r| element("StatusReason", r)).unwrap_or_default();
        let end = self.end.map(|e| element("EndTime", &iso8601(e))).unwrap_or_default();
        let desired = self
            .desired
            .as_ref()
            .map(|d| format!("<DesiredConfiguration>{}</DesiredConfiguration>", d.xml()))
            .unwrap_or_default();
        let rollback = self
            .rollback
            .as_ref()
            .map(|r| {
                format!(
                    "<RollbackDetails>{}{}{}{}</RollbackDetails>",
                    element("RollbackReason", &r.reason),
                    element("RollbackStartTime", &iso8601(r.start)),
                    element("PercentageCompleteOnRollback", &r.percentage.to_string()),
                    element("InstancesToUpdateOnRollback", &r.to_update.to_string()),
                )
            })
            .unwrap_or_default();
        format!(
            "<member>{}{}{}{reason}{}{end}{}{}{}{desired}{rollback}<Strategy>Rolling</Strategy></member>",
            element("InstanceRefreshId", &self.id),
            element("AutoScalingGroupName", &self.group),
            element("Status", self.status.name()),
            element("StartTime", &iso8601(self.start)),
            element("PercentageComplete", &self.percentage.to_string()),
            element("InstancesToUpdate", &self.to_update.to_string()),
            self.preferences.xml(),
        )
    }
}

/// `time` in ISO 8601, UTC, to the second: `2026-01-02T03:04:05Z`, as the AWS query protocol
/// writes timestamps.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use roxmltree::Document;

    use crate::xml::{child, child_text};

    #[test]
    fn timestamps_are_iso_8601_in_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(1_798_761_599)), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn a_refresh_reads_as_the_instance_refresh_data_type() {
        let start = UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        let refresh = Refresh {
            id: "r-1".into(),
            group: "g".into(),
            status: Status::RollbackSuccessful,
            reason: Some("a <reason>".into()),
            start,
            end: Some(start + Duration::from_secs(60)),
            percentage: 0,
            to_update: 2,
            preferences: Preferences { alarms: vec!["a1".into(), "a2".into()], ..Preferences::default() },
            desired: Some(Template { id: "lt-1".into(), name: None, version: "3".into() }),
            previous: Some(Template { id: "lt-1".into(), name: Some("n".into()), version: "2".into() }),
            rollback: Some(Rollback { reason: "why".into(), start, percentage: 50, to_update: 1 }),
        };
        let text = refresh.xml();
        let document = Document::parse(&text).unwrap();
        let member = document.root_element();
        assert_eq!(child_text(member, "Status"), Some("RollbackSuccessful"));
        assert_eq!(child_text(member, "StatusReason"), Some("a <reason>"));
        assert_eq!(child_text(member, "StartTime"), Some("2026-05-28T20:26:40Z"));
        assert_eq!(child_text(member, "EndTime"), Some("2026-05-28T20:27:40Z"));
        let preferences = child(member, "Preferences").unwrap();
        assert_eq!(child_text(preferences, "MinHealthyPercentage"), Some("90"));
        assert_eq!(child_text(preferences, "InstanceWarmup"), None);
        let alarms = child(child(preferences, "AlarmSpecification").unwrap(), "Alarms").unwrap();
        assert_eq!(alarms.children().filter_map(|m| m.text()).collect::<Vec<_>>(), ["a1", "a2"]);
        let template = child(child(member, "DesiredConfiguration").unwrap(), "LaunchTemplate").unwrap();
        assert_eq!(child_text(template, "Version"), Some("3"));
        let rollback = child(member, "RollbackDetails").unwrap();
        assert_eq!(child_text(rollback, "PercentageCompleteOnRollback"), Some("50"));
        assert_eq!(child_text(rollback, "InstancesToUpdateOnRollback"), Some("1"));
    }

    #[test]
    fn only_numbered_versions_can_be_rolled_back_to() {
        let template = |version: &str| Template { id: "lt".into(), name: None, version: version.into() };
        assert!(template("12").is_numbered());
        assert!(!template("$Latest").is_numbered());
        assert!(!template("$Default").is_numbered());
        assert!(!template("").is_numbered());
        assert!(Status::Cancelling.is_active());
        assert!(!Status::RollbackFailed.is_active());
    }
}
