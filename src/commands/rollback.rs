//! `cloudcomp rollback`: the instances back on an earlier deploy's launch-template version
//! (its user data pins that deploy's image by digest, still in the repository), through the
//! same instance refresh as a deploy: health-gated, guarded by the deploy alarms. With
//! `--local`: the local replicas back on an earlier release of the local history, through
//! the same replica-by-replica deploy as `up --local`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use super::{Loaded, connect, load, now_rfc3339};
use crate::aws::{AutoscalingGroupAttrs, rollout};
use crate::cli::RollbackArgs;
use crate::deploys::{self, Deploy};
use crate::plan::Address;
use crate::state::{self, State, StateLock};
use crate::{local, ui};

/// Rolls back to `--to N`, or to the newest deploy on another version than the instances run.
pub async fn rollback(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let Loaded { stack, state_path } = load(&args.stack)?;
    if args.local {
        return rollback_local(args, &local::dir(&state_path, &stack.name), &stack.name);
    }
    let _lock = StateLock::acquire(&state_path)?;
    let mut state = state::load(&state_path, &stack.name, &stack.region)?;
    let (group, template_id) = group_and_template(&state)?;
    let cx = connect(&args.stack, &stack).await;
    let running = rollout::running_version(&cx, &group.name).await?;
    let target = deploys::rollback_target(&state, args.to, running.as_deref())?.clone();
    let line = ui::Waiting::new("rolling back");
    line.say(&format!("to deploy #{} (template version {}, {})", target.number, target.template_version, target.image));
    let rollout = rollout::Rollout {
        group: &group.name,
        template_id: &template_id,
        version: &target.template_version,
        warmup: group.health_check_grace_period,
        alarms: &group.deploy_alarms,
    };
    if let Err(error) = rollout::roll_out(&cx, &rollout, Some(args.wait_timeout), &|what| line.say(what)).await {
        line.done("the rollback did not complete");
        return Err(error.context(format!("rolling back to deploy #{}", target.number)));
    }
    rolled_back(&mut state, &target, &now_rfc3339());
    state::save(&state_path, &state)?;
    line.done(&format!(
        "rolled back to deploy #{}: every instance runs template version {} ({})",
        target.number, target.template_version, target.image
    ));
    Ok(ExitCode::SUCCESS)
}

/// `rollback --local`: deploys `--to N`'s release, or the newest other than the current one.
fn rollback_local(args: &RollbackArgs, dir: &Path, stack: &str) -> anyhow::Result<ExitCode> {
    let status = local::running(dir).with_context(|| {
        format!("stack {stack} is not running locally: nothing to roll back (`up --local` starts it)")
    })?;
    let target = local::history::rollback_target(&status.deploys, args.to, &status.release)?;
    let what = format!("deploy #{} (release {}, {})", target.number, target.release.id, target.release.app_name());
    let line = ui::Waiting::new("rolling back");
    line.say(&format!("to {what}"));
    let change = Some(format!("rollback to #{}", target.number));
    let request = local::control::Request::new(target.release.clone(), None, change);
    match local::deploy::deploy(dir, &status, &request, args.wait_timeout, &|step| line.say(step)) {
        Ok(_) => {
            line.done(&format!("rolled back to {what}: every replica runs it"));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            line.done("the rollback did not complete");
            Err(error.context(format!("rolling back to deploy #{}", target.number)))
        }
    }
}

/// The group's attributes as last applied, and the launch template's id.
fn group_and_template(state: &State) -> anyhow::Result<(AutoscalingGroupAttrs, String)> {
    let recorded = state
        .resources
        .get(&Address::from(deploys::GROUP))
        .context("the stack has no Auto Scaling group: nothing to roll back (`cloudcomp up` creates it)")?;
    let attrs = state.resolve(&recorded.attrs)?;
    let group: AutoscalingGroupAttrs =
        serde_json::from_value(Value::Object(attrs.into_iter().collect())).context("reading the recorded group")?;
    let template =
        state.resources.get(&Address::from(deploys::TEMPLATE)).context("the stack has no launch template")?;
    Ok((group, template.id.clone()))
}

/// Records in `state` that the instances run `target`'s version since `at`: the template's
/// rolled-out version (so that the next `up` leaves them there until the app changes) and a
/// deploy in the history.
fn rolled_back(state: &mut State, target: &Deploy, at: &str) {
    if let Some(template) = state.resources.get_mut(&Address::from(deploys::TEMPLATE)) {
        template.outputs.insert("version".into(), Value::String(target.template_version.clone()));
    }
    let deploy = Deploy {
        number: deploys::next_number(state),
        at: at.to_string(),
        template_version: target.template_version.clone(),
        image: target.image.clone(),
        change: format!("rollback to #{}", target.number),
    };
    deploys::record(state, deploy);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::state::Recorded;

    #[test]
    fn a_rollback_moves_the_rolled_out_version_and_is_a_deploy() {
        let mut state = State::new("demo", "us-east-1");
        let template = Recorded {
            kind: "launch_template".into(),
            id: "lt-1".into(),
            attrs: BTreeMap::new(),
            outputs: BTreeMap::from([("version".to_string(), json!("3"))]),
            depends_on: Vec::new(),
            created_at: None,
        };
        state.resources.insert(Address::from(deploys::TEMPLATE), template);
        let first = Deploy {
            number: 1,
            at: "t1".into(),
            template_version: "1".into(),
            image: "r@sha256:a".into(),
            change: "first deploy".into(),
        };
        deploys::record(&mut state, first.clone());
        rolled_back(&mut state, &first, "t9");
        assert_eq!(deploys::current_version(&state).as_deref(), Some("1"));
        let last = state.deploys.last().unwrap();
        assert_eq!((last.number, last.change.as_str(), last.image.as_str()), (2, "rollback to #1", "r@sha256:a"));
    }
}
