//! The stack's deploy history: each rollout of a new app version (image, instance settings)
//! to the instances, kept in the state file so that `status` can list the last few and
//! `rollback --to N` can name one. Pure: what an apply deployed is read from the state
//! before and after it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::plan::Address;
pub use crate::state::Deploy;
use crate::state::State;

/// How many deploys the state keeps.
pub const KEPT: usize = 10;

/// The launch template whose versions are the deploys.
pub const TEMPLATE: &str = "launch_template.app";

/// The Auto Scaling group the deploys roll out to.
pub const GROUP: &str = "autoscaling_group.app";

/// The launch-template version `state` records as rolled out.
pub fn current_version(state: &State) -> Option<String> {
    let template = state.resources.get(&Address::from(TEMPLATE))?;
    template.outputs.get("version").and_then(Value::as_str).map(str::to_string)
}

/// The deploy an apply from `before` to `after` made, finished `at`: none unless it gave the
/// launch template a new version.
pub fn made(before: &State, after: &State, at: &str) -> Option<Deploy> {
    let version = current_version(after)?;
    if current_version(before).as_ref() == Some(&version) {
        return None;
    }
    let settings = |state: &State| -> Option<serde_json::Map<String, Value>> {
        let template = state.resources.get(&Address::from(TEMPLATE))?;
        let mut settings = state.resolve(&template.attrs).ok()?;
        settings.remove("tags");
        Some(settings.into_iter().collect())
    };
    let now = settings(after)?;
    let change = match settings(before) {
        None => "first deploy".to_string(),
        Some(then) => {
            let changed = changed_settings(&then, &now);
            if changed.is_empty() {
                "re-deploy".to_string()
            } else {
                changed.into_iter().collect::<Vec<_>>().join(", ")
            }
        }
    };
    Some(Deploy {
        number: next_number(after),
        at: at.to_string(),
        template_version: version,
        image: image(&now),
        change,
    })
}

/// The names of the settings that differ, the app's own by their name (`image`, not `app`).
fn changed_settings(then: &serde_json::Map<String, Value>, now: &serde_json::Map<String, Value>) -> BTreeSet<String> {
    let mut changed = BTreeSet::new();
    for (name, value) in now {
        match (then.get(name), value) {
            (Some(Value::Object(old)), Value::Object(new)) if name == "app" => {
                let names = old.keys().chain(new.keys());
                changed.extend(names.filter(|k| old.get(*k) != new.get(*k)).map(|k| image_name(k).to_string()));
            }
            (old, new) if old != Some(new) => {
                changed.insert(name.clone());
            }
            _ => {}
        }
    }
    changed
}

/// `image_tag` and `image_repository` are the image, as a person says it.
fn image_name(setting: &str) -> &str {
    if setting.starts_with("image") { "image" } else { setting }
}

/// The image the template's `app` settings run: pinned by digest when pushed, else by tag.
fn image(settings: &serde_json::Map<String, Value>) -> String {
    let app = settings.get("app");
    let text = |name: &str| app.and_then(|a| a.get(name)).and_then(Value::as_str);
    match (text("image"), text("image_repository"), text("image_tag")) {
        (Some(pinned), _, _) => pinned.to_string(),
        (None, Some(repository), Some(tag)) => format!("{repository}:{tag}"),
        _ => "?".to_string(),
    }
}

/// The number the next deploy gets.
pub fn next_number(state: &State) -> u32 {
    state.deploys.last().map_or(1, |d| d.number + 1)
}

/// Adds `deploy` to `state`'s history, forgetting the oldest past [`KEPT`].
pub fn record(state: &mut State, deploy: Deploy) {
    state.deploys.push(deploy);
    let excess = state.deploys.len().saturating_sub(KEPT);
    state.deploys.drain(..excess);
}

/// The deploy `rollback` goes back to: number `to`, else the newest one on another version
/// than `running` (the group's, or else the one the state rolled out).
pub fn rollback_target<'a>(state: &'a State, to: Option<u32>, running: Option<&str>) -> anyhow::Result<&'a Deploy> {
    let kept = || state.deploys.iter().map(|d| format!("#{}", d.number)).collect::<Vec<_>>().join(", ");
    match to {
        Some(number) => state.deploys.iter().find(|d| d.number == number).ok_or_else(|| {
            anyhow::anyhow!(
                "no deploy #{number} in the history (kept: {})",
                if kept().is_empty() { "none".into() } else { kept() }
            )
        }),
        None => {
            let current = running.map(str::to_string).or_else(|| current_version(state));
            state.deploys.iter().rev().find(|d| Some(&d.template_version) != current.as_ref()).ok_or_else(|| {
                anyhow::anyhow!(
                    "no earlier deploy to roll back to (kept: {})",
                    if kept().is_empty() { "none".into() } else { kept() }
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::state::Recorded;

    fn with_template(version: &str, image: &str, instance_type: &str) -> State {
        let mut state = State::new("demo", "us-east-1");
        state.resources.insert(
            Address::from(TEMPLATE),
            Recorded {
                kind: "launch_template".into(),
                id: "lt-1".into(),
                attrs: BTreeMap::from([
                    ("instance_type".to_string(), json!(instance_type)),
                    ("app".to_string(), json!({"image": image, "image_tag": image, "port": 8080})),
                    ("tags".to_string(), json!({"team": version})),
                ]),
                outputs: BTreeMap::from([("version".to_string(), json!(version))]),
                depends_on: Vec::new(),
                created_at: None,
            },
        );
        state
    }

    #[test]
    fn a_new_version_is_a_deploy_naming_what_changed() {
        let first =
            made(&State::new("demo", "us-east-1"), &with_template("1", "r@sha256:a", "t3.micro"), "t1").unwrap();
        assert_eq!((first.number, first.change.as_str(), first.image.as_str()), (1, "first deploy", "r@sha256:a"));
        let mut before = with_template("1", "r@sha256:a", "t3.micro");
        record(&mut before, first);
        let mut after = with_template("2", "r@sha256:b", "t3.small");
        after.deploys = before.deploys.clone();
        let second = made(&before, &after, "t2").unwrap();
        assert_eq!((second.number, second.template_version.as_str()), (2, "2"));
        assert_eq!(second.change, "image, instance_type");
        assert_eq!(made(&after, &after, "t3"), None, "no new version, no deploy");
    }

    #[test]
    fn the_history_keeps_the_last_few() {
        let mut state = State::new("demo", "us-east-1");
        for n in 1..=(KEPT as u32 + 3) {
            let deploy = Deploy {
                number: next_number(&state),
                at: String::new(),
                template_version: n.to_string(),
                image: String::new(),
                change: String::new(),
            };
            record(&mut state, deploy);
        }
        assert_eq!(state.deploys.len(), KEPT);
        assert_eq!(state.deploys.first().unwrap().number, 4);
        assert_eq!(state.deploys.last().unwrap().number, KEPT as u32 + 3);
    }

    #[test]
    fn rollback_goes_to_the_newest_other_version_or_the_one_named() {
        let mut state = with_template("3", "r@sha256:c", "t3.micro");
        for (number, version) in [(1, "1"), (2, "2"), (3, "3")] {
            let deploy = Deploy {
                number,
                at: String::new(),
                template_version: version.into(),
                image: String::new(),
                change: String::new(),
            };
            record(&mut state, deploy);
        }
        assert_eq!(rollback_target(&state, None, None).unwrap().number, 2);
        assert_eq!(rollback_target(&state, None, Some("2")).unwrap().number, 3, "the instances run #2's version");
        assert_eq!(rollback_target(&state, Some(1), None).unwrap().template_version, "1");
        let error = rollback_target(&state, Some(9), None).unwrap_err().to_string();
        assert!(error.contains("#9") && error.contains("#1, #2, #3"), "{error}");
    }
}
