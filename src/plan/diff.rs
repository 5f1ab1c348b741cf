//! Desired resources + the recorded state → a plan: what to create, update in place,
//! replace or delete, in the order to apply it.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::graph::{Address, OnChange, Resource, referenced_outputs};
use crate::state::State;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists; some attributes change in place.
    Update,
    /// It exists; a changed attribute can only be set by creating it again.
    Replace,
    /// It exists but the stack no longer wants it.
    Delete,
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttrChange {
    /// Attribute name.
    pub name: String,
    /// Recorded value (`None` when creating).
    pub before: Option<Value>,
    /// Desired value (`None` when deleting).
    pub after: Option<Value>,
    /// Whether this change alone forces a replacement.
    pub forces_replacement: bool,
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Resource address.
    pub address: Address,
    /// Resource kind.
    pub kind: String,
    /// What happens.
    pub action: Action,
    /// The attributes involved (all of them on create and delete).
    pub attrs: Vec<AttrChange>,
}

/// Everything `up` would do, in order: creates, updates and replacements in dependency
/// order, then deletions, dependents first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The changes; empty when the stack is up to date.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many changes of `action` the plan holds.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// Compares what the stack wants with what the state records.
pub fn diff(desired: &[Resource], state: &State) -> Plan {
    let mut changes = Vec::new();
    // Resources that get a new identity (created or replaced): whatever refers to them must
    // be updated even when its own attributes read the same, since the ids behind the
    // references change. (A create matters here when refresh found a resource gone.)
    let mut renewed: HashSet<&Address> = HashSet::new();
    // Outputs an update changes (a launch template's new version): what refers to them is
    // updated too.
    let mut changed_outputs: HashSet<(&Address, &str)> = HashSet::new();
    for resource in desired {
        let Some(recorded) = state.resources.get(&resource.address) else {
            renewed.insert(&resource.address);
            changes.push(Change {
                address: resource.address.clone(),
                kind: resource.kind.to_string(),
                action: Action::Create,
                attrs: resource
                    .attrs
                    .iter()
                    .map(|(name, a)| AttrChange {
                        name: name.clone(),
                        before: None,
                        after: Some(a.value.clone()),
                        forces_replacement: false,
                    })
                    .collect(),
            });
            continue;
        };
        let mut attrs = Vec::new();
        for (name, attr) in &resource.attrs {
            let before = recorded.attrs.get(name);
            let refers_to_changed = referenced_outputs(&attr.value)
                .iter()
                .any(|(r, output)| renewed.contains(r) || changed_outputs.contains(&(r, output.as_str())));
            if before != Some(&attr.value) || refers_to_changed {
                attrs.push(AttrChange {
                    name: name.clone(),
                    before: before.cloned(),
                    after: Some(attr.value.clone()),
                    forces_replacement: attr.on_change == OnChange::Replace,
                });
            }
        }
        let kind_changed = recorded.kind != resource.kind;
        if attrs.is_empty() && !kind_changed {
            continue;
        }
        let action = if kind_changed || attrs.iter().any(|a| a.forces_replacement) {
            renewed.insert(&resource.address);
            Action::Replace
        } else {
            changed_outputs.extend(resource.update_changes.iter().map(|output| (&resource.address, *output)));
            Action::Update
        };
        changes.push(Change { address: resource.address.clone(), kind: resource.kind.to_string(), action, attrs });
    }

    let wanted: HashSet<&Address> = desired.iter().map(|r| &r.address).collect();
    let leftovers: BTreeMap<&Address, _> =
        state.resources.iter().filter(|(address, _)| !wanted.contains(address)).collect();
    for address in state.teardown_order().into_iter().filter(|a| leftovers.contains_key(a)) {
        let recorded = leftovers[&address];
        changes.push(Change {
            kind: recorded.kind.clone(),
            action: Action::Delete,
            attrs: recorded
                .attrs
                .iter()
                .map(|(name, value)| AttrChange {
                    name: name.clone(),
                    before: Some(value.clone()),
                    after: None,
                    forces_replacement: false,
                })
                .collect(),
            address,
        });
    }
    Plan { changes }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::graph::reference;
    use crate::state::Recorded;

    fn desired() -> Vec<Resource> {
        vec![
            Resource::new("vpc", "vpc").fixed("cidr_block", json!("10.0.0.0/16")),
            Resource::new("subnet", "subnet.a").fixed("vpc_id", reference("vpc", "id")).set("public", json!(true)),
            Resource::new("autoscaling_group", "asg").set("max_size", json!(5)),
        ]
    }

    /// The state after applying `resources` exactly.
    fn applied(resources: &[Resource]) -> State {
        let mut state = State::default();
        for r in resources {
            state.resources.insert(
                r.address.clone(),
                Recorded {
                    kind: r.kind.to_string(),
                    id: format!("id-{}", r.address),
                    attrs: r.values(),
                    outputs: BTreeMap::new(),
                    depends_on: r.depends_on.clone(),
                    created_at: None,
                },
            );
        }
        state
    }

    fn actions(plan: &Plan) -> Vec<(String, Action)> {
        plan.changes.iter().map(|c| (c.address.0.clone(), c.action)).collect()
    }

    #[test]
    fn an_empty_state_creates_everything_in_order() {
        let plan = diff(&desired(), &State::default());
        assert_eq!(
            actions(&plan),
            [("vpc".into(), Action::Create), ("subnet.a".into(), Action::Create), ("asg".into(), Action::Create)]
        );
    }

    #[test]
    fn an_applied_stack_plans_nothing() {
        assert!(diff(&desired(), &applied(&desired())).is_empty());
    }

    #[test]
    fn an_in_place_change_is_an_update_of_that_attribute_only() {
        let state = applied(&desired());
        let mut wanted = desired();
        wanted[2] = Resource::new("autoscaling_group", "asg").set("max_size", json!(4));
        let plan = diff(&wanted, &state);
        assert_eq!(actions(&plan), [("asg".into(), Action::Update)]);
        assert_eq!(plan.changes[0].attrs.len(), 1);
        assert_eq!(
            (plan.changes[0].attrs[0].before.clone(), plan.changes[0].attrs[0].after.clone()),
            (Some(json!(5)), Some(json!(4)))
        );
    }

    #[test]
    fn a_replacement_cascades_to_resources_fixed_to_it() {
        let state = applied(&desired());
        let mut wanted = desired();
        wanted[0] = Resource::new("vpc", "vpc").fixed("cidr_block", json!("10.1.0.0/16"));
        let plan = diff(&wanted, &state);
        assert_eq!(actions(&plan), [("vpc".into(), Action::Replace), ("subnet.a".into(), Action::Replace)]);
        assert!(plan.changes[0].attrs[0].forces_replacement);
    }

    #[test]
    fn resources_no_longer_wanted_are_deleted_dependents_first() {
        let state = applied(&desired());
        let plan = diff(&desired()[..1], &state);
        assert_eq!(actions(&plan), [("asg".into(), Action::Delete), ("subnet.a".into(), Action::Delete)]);
        assert_eq!(plan.count(Action::Delete), 2);
    }

    #[test]
    fn an_update_that_changes_an_output_updates_what_refers_to_it() {
        let versioned = |ami: &str| {
            let mut template = Resource::new("launch_template", "lt").set("ami", json!(ami));
            template.update_changes = &["version"];
            vec![
                template,
                Resource::new("autoscaling_group", "asg")
                    .set("version", reference("lt", "version"))
                    .set("name", reference("lt", "id")),
            ]
        };
        let state = applied(&versioned("ami-1"));
        let plan = diff(&versioned("ami-2"), &state);
        assert_eq!(actions(&plan), [("lt".into(), Action::Update), ("asg".into(), Action::Update)]);
        let names: Vec<&str> = plan.changes[1].attrs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["version"], "only the reference to the changed output");
        let mut fixed = versioned("ami-2");
        fixed[0].update_changes = &[];
        assert_eq!(actions(&diff(&fixed, &state)), [("lt".into(), Action::Update)]);
    }

    #[test]
    fn a_resource_found_gone_is_created_and_what_refers_to_it_follows() {
        let mut state = applied(&desired());
        state.resources.remove(&Address::from("vpc"));
        let plan = diff(&desired(), &state);
        assert_eq!(actions(&plan), [("vpc".into(), Action::Create), ("subnet.a".into(), Action::Replace)]);
    }
}
