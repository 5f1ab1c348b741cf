//! The proxy's answers to StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh
//! and RollbackInstanceRefresh, in the Auto Scaling query protocol. The error codes are the ones
//! the API reference lists for each action; AWS documents no message for them, so the messages
//! are the API reference's descriptions of the errors.

use std::sync::Arc;
use std::time::SystemTime;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use rand::RngExt;

use super::Shown;
use super::driver::{self, Plan};
use super::model::{Refresh, Rollback, Status, Template};
use super::reads::{self, Group};
use super::start::{self, Error, Start};
use crate::Forwarder;
use crate::request::AwsRequest;
use crate::xml::element;

/// The Auto Scaling query protocol's XML namespace.
const NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// The `RollbackReason` of a rollback started with RollbackInstanceRefresh. AWS does not document
/// the wording ("for example, whether a manual or automatic rollback was initiated").
const MANUAL_ROLLBACK: &str = "Manual rollback started with RollbackInstanceRefresh.";

/// The proxy's answer to `call`, one of the instance refresh actions.
pub(crate) async fn answer(forwarder: &Arc<Forwarder>, call: &AwsRequest) -> Response<Full<Bytes>> {
    let result = match call.action.as_str() {
        "StartInstanceRefresh" => start(forwarder, call).await.map(|id| element("InstanceRefreshId", &id)),
        "DescribeInstanceRefreshes" => describe(forwarder, call).await,
        "CancelInstanceRefresh" => cancel(forwarder, call).await.map(|id| element("InstanceRefreshId", &id)),
        _ => rollback(forwarder, call).await.map(|id| element("InstanceRefreshId", &id)),
    };
    match result {
        Ok(result) => Response::builder()
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(wrap(&call.action, &result))))
            .expect("a valid response"),
        Err((code, message)) => {
            let status =
                if code == "InternalFailure" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
            call.protocol.error(status, code, &message)
        }
    }
}

/// `<ActionResponse><ActionResult>result</ActionResult><ResponseMetadata>…`.
fn wrap(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        uuid()
    )
}

/// A random UUID (version 4), as AWS gives refresh and request ids.
pub(crate) fn uuid() -> String {
    let bits: u128 = rand::rng().random();
    let hex = format!("{:032x}", (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62));
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The group named `name`, as the proxy shows it, or Auto Scaling's error for an unknown one
/// (the message moto gives for other calls, which is AWS's).
async fn group(forwarder: &Forwarder, name: &str) -> Result<Group, Error> {
    let params = [("Action", "DescribeAutoScalingGroups"), ("AutoScalingGroupNames.member.1", name)];
    let answer = forwarder.query("autoscaling", &params).await.map_err(|e| ("InternalFailure", e))?;
    reads::groups(&answer).into_iter().find(|g| g.name == name).ok_or_else(|| {
        ("ValidationError", format!("AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"))
    })
}

/// The `AutoScalingGroupName` of `call`, which every instance refresh action requires.
fn group_name(call: &AwsRequest) -> Result<&str, Error> {
    call.param("AutoScalingGroupName").filter(|n| !n.is_empty()).ok_or_else(|| {
        (
            "ValidationError",
            "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: \
             Member must not be null"
                .to_string(),
        )
    })
}

/// `InstanceRefreshInProgress`, as the API reference describes it.
fn in_progress() -> Error {
    (
        "InstanceRefreshInProgress",
        "The request failed because an active instance refresh already exists for the specified Auto Scaling group."
            .to_string(),
    )
}

/// `ActiveInstanceRefreshNotFound`, as the API reference describes it.
fn not_found() -> Error {
    (
        "ActiveInstanceRefreshNotFound",
        "The request failed because an active instance refresh or rollback for the specified Auto Scaling group was \
         not found."
            .to_string(),
    )
}

/// StartInstanceRefresh: the new refresh's id. Refused as AWS refuses it: an unknown group, a
/// second active refresh, auto rollback without a numbered desired configuration or from a group
/// on `$Latest`/`$Default`. With nothing to replace (every instance already on the desired launch
/// template version, with `SkipMatching`) the refresh is `Successful` at once, at 100 %.
async fn start(forwarder: &Arc<Forwarder>, call: &AwsRequest) -> Result<String, Error> {
    let Start { group: name, desired, preferences } = Start::parse(call)?;
    let group = group(forwarder, &name).await?;
    let Some(previous) = group.template.clone() else {
        return Err(("ValidationError", "aws-proxy emulates instance refresh only for launch template groups".into()));
    };
    if preferences.auto_rollback && !previous.is_numbered() {
        return Err(start::rollback_to_unnumbered(&previous));
    }
    let target = desired.clone().unwrap_or_else(|| previous.clone());
    let matches = |template: &Option<Template>| {
        preferences.skip_matching && target.is_numbered() && template.as_ref().is_some_and(|t| t.same(&target))
    };
    let to_replace: Vec<String> = group
        .instances
        .iter()
        .filter(|i| !i.lifecycle.starts_with("Terminat") && !matches(&i.template))
        .map(|i| i.id.clone())
        .collect();
    let id = uuid();
    let refresh = Refresh {
        id: id.clone(),
        group: name.clone(),
        status: Status::Pending,
        reason: None,
        start: SystemTime::now(),
        end: None,
        percentage: 0,
        to_update: to_replace.len() as u32,
        preferences: preferences.clone(),
        desired,
        previous: Some(previous.clone()),
        rollback: None,
    };
    let refreshes = &forwarder.refreshes;
    {
        let mut state = refreshes.lock();
        if state.refreshes.iter().any(|r| r.group == name && r.status.is_active()) {
            return Err(in_progress());
        }
        state.refreshes.push(refresh);
        if !to_replace.is_empty() {
            state
                .shown
                .insert(name.clone(), Shown { template: previous.clone(), max: group.max, desired: group.desired });
        }
    }
    if to_replace.is_empty() {
        let reached = if target.same(&previous) {
            Ok(String::new())
        } else {
            driver::point(forwarder, &name, &target, None, None).await
        };
        refreshes.update(&id, |r| match reached {
            Ok(_) => r.end(Status::Successful, None),
            Err(e) => r.end(Status::Failed, Some(e)),
        });
        return Ok(id);
    }
    let warmup = preferences.warmup.unwrap_or(group.grace_period);
    let plan = Plan {
        id: id.clone(),
        group: name,
        target,
        previous,
        to_replace,
        preferences,
        warmup: std::time::Duration::from_secs(warmup),
        max: group.max,
        desired: group.desired,
    };
    let task = tokio::spawn(driver::run(Arc::downgrade(forwarder), refreshes.timing, plan));
    refreshes.lock().tasks.push(task);
    Ok(id)
}

/// DescribeInstanceRefreshes: the group's refreshes, newest first, filtered by
/// `InstanceRefreshIds`, `MaxRecords` at a time (50 by default, at most 100) from `NextToken`.
async fn describe(forwarder: &Forwarder, call: &AwsRequest) -> Result<String, Error> {
    let name = group_name(call)?;
    group(forwarder, name).await?;
    let ids: Vec<&str> = call
        .params
        .iter()
        .filter(|(n, _)| n.starts_with("InstanceRefreshIds.member."))
        .map(|(_, v)| v.as_str())
        .collect();
    let max: usize = match call.param("MaxRecords").map(str::parse) {
        None => 50,
        Some(Ok(max @ 1..=100)) => max,
        Some(_) => return Err(("ValidationError", "MaxRecords must be between 1 and 100".into())),
    };
    let from: usize = call.param("NextToken").map(|t| t.parse().unwrap_or(usize::MAX)).unwrap_or(0);
    let state = forwarder.refreshes.lock();
    let listed: Vec<&Refresh> = state
        .refreshes
        .iter()
        .rev()
        .filter(|r| r.group == name && (ids.is_empty() || ids.contains(&r.id.as_str())))
        .collect();
    if from > listed.len() {
        return Err(("InvalidNextToken", "The token is not valid.".into()));
    }
    let page: String = listed.iter().skip(from).take(max).map(|r| r.xml()).collect();
    let next = if from + max < listed.len() { element("NextToken", &(from + max).to_string()) } else { String::new() };
    Ok(format!("<InstanceRefreshes>{page}</InstanceRefreshes>{next}"))
}

/// CancelInstanceRefresh: the cancelled refresh's id; it goes `Cancelling`, then `Cancelled` once
/// the replacements under way stopped. Replacements already done stay.
async fn cancel(forwarder: &Forwarder, call: &AwsRequest) -> Result<String, Error> {
    let name = group_name(call)?;
    group(forwarder, name).await?;
    forwarder.refreshes.change_active(name, |refresh| {
        refresh.status = Status::Cancelling;
        Ok(())
    })
}

/// RollbackInstanceRefresh: the rolled-back refresh's id; it goes `RollbackInProgress`.
/// `IrreversibleInstanceRefresh` without a desired configuration or with a previous
/// configuration on `$Latest`/`$Default`. A refresh already rolling back or being cancelled is
/// not rolled back again: `ActiveInstanceRefreshNotFound` (AWS does not say).
async fn rollback(forwarder: &Forwarder, call: &AwsRequest) -> Result<String, Error> {
    let name = group_name(call)?;
    group(forwarder, name).await?;
    forwarder.refreshes.change_active(name, |refresh| {
        if matches!(refresh.status, Status::RollbackInProgress | Status::Cancelling) {
            return Err(not_found());
        }
        if refresh.desired.is_none() || !refresh.previous.as_ref().is_some_and(Template::is_numbered) {
            return Err((
                "IrreversibleInstanceRefresh",
                "The request failed because a desired configuration was not found or an incompatible launch template \
                 (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or \
                 $Default) is present on the Auto Scaling group."
                    .into(),
            ));
        }
        refresh.start_rollback(MANUAL_ROLLBACK.into());
        Ok(())
    })
}

impl super::Refreshes {
    /// Changes the active refresh of `group` with `change`: its id, or `ActiveInstanceRefreshNotFound`.
    fn change_active(
        &self,
        group: &str,
        change: impl FnOnce(&mut Refresh) -> Result<(), Error>,
    ) -> Result<String, Error> {
        let mut state = self.lock();
        let refresh =
            state.refreshes.iter_mut().find(|r| r.group == group && r.status.is_active()).ok_or_else(not_found)?;
        change(refresh)?;
        Ok(refresh.id.clone())
    }

    /// Changes the refresh `id` with `change`, and forgets what its group shows once it ended.
    pub(super) fn update<T>(&self, id: &str, change: impl FnOnce(&mut Refresh) -> T) -> Option<T> {
        let mut state = self.lock();
        let refresh = state.refreshes.iter_mut().find(|r| r.id == id)?;
        let changed = change(refresh);
        if !refresh.status.is_active() {
            let group = refresh.group.clone();
            state.shown.remove(&group);
        }
        Some(changed)
    }
}

impl Refresh {
    /// Ends the refresh with `status` (and `reason`).
    pub(super) fn end(&mut self, status: Status, reason: Option<String>) {
        self.status = status;
        if reason.is_some() {
            self.reason = reason;
        }
        if status == Status::Successful {
            self.percentage = 100;
            self.to_update = 0;
        }
        self.end = Some(SystemTime::now());
    }

    /// Starts rolling back, for `reason`.
    pub(super) fn start_rollback(&mut self, reason: String) {
        self.status = Status::RollbackInProgress;
        self.reason = Some(reason.clone());
        self.rollback =
            Some(Rollback { reason, start: SystemTime::now(), percentage: self.percentage, to_update: self.to_update });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids() {
        let id = uuid();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')), "{id}");
        assert_ne!(uuid(), id);
    }

    #[test]
    fn answers_are_wrapped_in_the_auto_scaling_namespace() {
        let text = wrap("CancelInstanceRefresh", "<InstanceRefreshId>r</InstanceRefreshId>");
        let document = roxmltree::Document::parse(&text).unwrap();
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "CancelInstanceRefreshResponse");
        assert_eq!(root.tag_name().namespace(), Some(NAMESPACE));
        let result = crate::xml::child(root, "CancelInstanceRefreshResult").unwrap();
        assert_eq!(crate::xml::child_text(result, "InstanceRefreshId"), Some("r"));
        assert!(crate::xml::child(root, "ResponseMetadata").is_some());
    }
}
