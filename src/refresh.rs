//! Refresh: read every recorded resource from AWS, so that plans start from what is live
//! rather than from what was last written down.
//!
//! Reading is the edge ([`read_all`]); folding what was read into the state is pure
//! ([`reconcile`]): a resource that is gone leaves the state (the plan creates it again and
//! updates what refers to it), an attribute changed behind cloudcomp's back takes its live
//! value (the plan sets it back).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::aws::{Cx, Live, read_settled};
use crate::engine::Lookup;
use crate::executor::{self, ApplyError, job};
use crate::plan::{Address, STACK_TAG};
use crate::state::State;

/// What reading one recorded resource found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// It exists and carries the stack's tag.
    Live(Live),
    /// It no longer exists.
    Gone,
    /// Something with its id exists but is not tagged for this stack.
    Foreign,
}

/// How a resource differs from its record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum Drift {
    /// Deleted outside cloudcomp.
    Gone {
        /// Its address.
        address: Address,
    },
    /// Attributes changed outside cloudcomp.
    Changed {
        /// Its address.
        address: Address,
        /// The attributes that differ.
        attrs: Vec<String>,
    },
}

/// Reads every resource `state` records, on the executor ([`MAX_IN_FLIGHT`](crate::executor::MAX_IN_FLIGHT) at a time).
pub async fn read_all(cx: &Arc<Cx>, lookup: Lookup, state: &State) -> Result<BTreeMap<Address, Found>, ApplyError> {
    let reads = state.resources.iter().map(|(address, recorded)| {
        let kind =
            lookup(&recorded.kind).ok_or_else(|| anyhow::anyhow!("no resource kind `{}` in this build", recorded.kind));
        let attrs = state.resolve(&recorded.attrs);
        let (cx, id, created_at) = (cx.clone(), recorded.id.clone(), recorded.created_at);
        let read = job(async move {
            let live = read_settled(&cx, kind?, &id, &attrs?, created_at).await;
            Ok(classify(live.with_context(|| format!("reading {id}"))?, &cx.stack))
        });
        (address.clone(), read)
    });
    executor::each(reads).await
}

fn classify(live: Option<Live>, stack: &str) -> Found {
    match live {
        None => Found::Gone,
        Some(live) if live.belongs_to(stack) => Found::Live(live),
        Some(_) => Found::Foreign,
    }
}

/// The state as it is live, and what drifted. Refuses when a recorded id now names a
/// resource of another stack: cloudcomp will not adopt or change it.
pub fn reconcile(state: &State, found: &BTreeMap<Address, Found>) -> anyhow::Result<(State, Vec<Drift>)> {
    let mut live_state = state.clone();
    let mut drift = Vec::new();
    for (address, recorded) in &state.resources {
        match found.get(address) {
            None => {}
            Some(Found::Foreign) => anyhow::bail!(
                "{address} ({}) exists but is not tagged {STACK_TAG}={}; cloudcomp will not touch it. \
                 Remove it from the state file if it is no longer this stack's",
                recorded.id,
                state.stack
            ),
            Some(Found::Gone) => {
                live_state.resources.remove(address);
                drift.push(Drift::Gone { address: address.clone() });
            }
            Some(Found::Live(live)) => {
                let changed = drifted(state, address, live)?;
                let attrs = &mut live_state.resources.get_mut(address).expect("recorded").attrs;
                let values = live_values(live);
                for name in &changed {
                    attrs.insert(name.clone(), values[name].clone());
                }
                if !changed.is_empty() {
                    drift.push(Drift::Changed { address: address.clone(), attrs: changed });
                }
            }
        }
    }
    Ok((live_state, drift))
}

/// The attributes of the resource at `address` whose live values differ from the recorded
/// ones (references resolved first, so an unchanged reference is no drift).
pub fn drifted(state: &State, address: &Address, live: &Live) -> anyhow::Result<Vec<String>> {
    let Some(recorded) = state.resources.get(address) else { return Ok(Vec::new()) };
    let resolved = state.resolve(&recorded.attrs)?;
    Ok(live_values(live)
        .into_iter()
        .filter(|(name, value)| resolved.get(name).is_some_and(|recorded| recorded != value))
        .map(|(name, _)| name)
        .collect())
}

/// What a read found, in the shape of recorded attributes: the live attributes and, for a
/// taggable kind, its `tags`.
fn live_values(live: &Live) -> crate::aws::Attrs {
    let mut values = live.attrs.clone();
    if let Some(tags) = live.tags_attr() {
        values.insert("tags".to_string(), tags);
    }
    values
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::graph::reference;
    use crate::state::Recorded;

    fn recorded(attrs: serde_json::Value, outputs: serde_json::Value) -> Recorded {
        Recorded {
            kind: "test".into(),
            id: "id-1".into(),
            attrs: serde_json::from_value(attrs).unwrap(),
            outputs: serde_json::from_value(outputs).unwrap(),
            depends_on: Vec::new(),
            created_at: None,
        }
    }

    fn state() -> State {
        let mut state = State::new("demo", "us-east-1");
        state.resources.insert(Address::from("vpc"), recorded(json!({}), json!({"id": "vpc-1"})));
        state.resources.insert(
            Address::from("group"),
            recorded(json!({"vpc_id": reference("vpc", "id"), "ingress": [{"port": 80}]}), json!({"id": "sg-1"})),
        );
        state
    }

    #[test]
    fn unchanged_resources_keep_their_references() {
        let found = BTreeMap::from([
            (Address::from("vpc"), Found::Live(Live::untaggable())),
            (
                Address::from("group"),
                Found::Live(Live::untaggable().attr("vpc_id", "vpc-1").attr("ingress", json!([{"port": 80}]))),
            ),
        ]);
        let (live, drift) = reconcile(&state(), &found).unwrap();
        assert_eq!(live, state());
        assert!(drift.is_empty());
    }

    #[test]
    fn a_changed_attribute_takes_its_live_value() {
        let found = BTreeMap::from([(
            Address::from("group"),
            Found::Live(Live::untaggable().attr("ingress", json!([{"port": 22}])).attr("unknown", 1)),
        )]);
        let (live, drift) = reconcile(&state(), &found).unwrap();
        assert_eq!(live.resources[&Address::from("group")].attrs["ingress"], json!([{"port": 22}]));
        assert_eq!(live.resources[&Address::from("group")].attrs["vpc_id"], reference("vpc", "id"));
        assert!(!live.resources[&Address::from("group")].attrs.contains_key("unknown"));
        assert_eq!(drift, vec![Drift::Changed { address: Address::from("group"), attrs: vec!["ingress".into()] }]);
    }

    #[test]
    fn changed_tags_are_drift_but_the_address_tag_and_aws_tags_are_not() {
        let mut state = state();
        let vpc = state.resources.get_mut(&Address::from("vpc")).unwrap();
        vpc.attrs.insert("tags".into(), json!({STACK_TAG: "demo", "team": "a"}));
        let live = |team: &str| {
            Live::tagged([
                (STACK_TAG, "demo"),
                ("team", team),
                ("cloudcomp:address", "vpc"),
                ("aws:cloudformation:x", "y"),
            ])
        };
        let same = BTreeMap::from([(Address::from("vpc"), Found::Live(live("a")))]);
        assert!(reconcile(&state, &same).unwrap().1.is_empty());
        let changed = BTreeMap::from([(Address::from("vpc"), Found::Live(live("b")))]);
        let (live_state, drift) = reconcile(&state, &changed).unwrap();
        assert_eq!(drift, vec![Drift::Changed { address: Address::from("vpc"), attrs: vec!["tags".into()] }]);
        assert_eq!(live_state.resources[&Address::from("vpc")].attrs["tags"], json!({STACK_TAG: "demo", "team": "b"}));
    }

    #[test]
    fn a_gone_resource_leaves_the_state() {
        let found = BTreeMap::from([(Address::from("vpc"), Found::Gone)]);
        let (live, drift) = reconcile(&state(), &found).unwrap();
        assert!(!live.resources.contains_key(&Address::from("vpc")));
        assert_eq!(drift, vec![Drift::Gone { address: Address::from("vpc") }]);
    }

    #[test]
    fn a_foreign_resource_is_refused() {
        let found = BTreeMap::from([(Address::from("vpc"), Found::Foreign)]);
        let err = reconcile(&state(), &found).unwrap_err().to_string();
        assert!(err.contains("not tagged cloudcomp:stack=demo"), "{err}");
    }

    #[test]
    fn only_the_stack_tag_makes_a_resource_ours() {
        assert_eq!(classify(None, "demo"), Found::Gone);
        assert_eq!(classify(Some(Live::tagged([("other", "x")])), "demo"), Found::Foreign);
        assert_eq!(classify(Some(Live::tagged([(STACK_TAG, "prod")])), "demo"), Found::Foreign);
        assert!(matches!(classify(Some(Live::tagged([(STACK_TAG, "demo")])), "demo"), Found::Live(_)));
        assert!(matches!(classify(Some(Live::untaggable()), "demo"), Found::Live(_)));
    }
}
