//! `cloudcomp status`: every recorded resource as it is live, with what each kind adds
//! (instances and their lifecycle, target health, alarm states) and the URL.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::{DELETE, DIM, UPDATE};
use crate::plan::Address;
use crate::refresh::{self, Found};
use crate::state::State;

/// One resource's line: its state word and the attributes changed outside cloudcomp.
fn condition(state: &State, address: &Address, found: Option<&Found>) -> (&'static str, Vec<String>) {
    match found {
        Some(Found::Live(live)) => ("live", refresh::drifted(state, address, live).unwrap_or_default()),
        Some(Found::Gone) => ("gone", Vec::new()),
        Some(Found::Foreign) => ("foreign", Vec::new()),
        None => ("unknown", Vec::new()),
    }
}

/// Writes the status for people; `rollout` is the instance refresh running, if one is.
pub fn print_status(
    out: &mut impl Write,
    state: &State,
    found: &BTreeMap<Address, Found>,
    url: Option<&str>,
    rollout: Option<&str>,
) -> std::io::Result<()> {
    if state.resources.is_empty() {
        return writeln!(
            out,
            "Stack {} ({}) is not deployed: its state file records nothing.",
            state.stack, state.region
        );
    }
    let live = found.values().filter(|f| matches!(f, Found::Live(_))).count();
    writeln!(out, "Stack {} ({}): {} resources, {live} live.", state.stack, state.region, state.resources.len())?;
    if let Some(url) = url {
        writeln!(out, "URL: {url}")?;
    }
    writeln!(out)?;
    let width = state.resources.keys().map(|a| a.0.len()).max().unwrap_or(0);
    for (address, recorded) in &state.resources {
        let (word, drift) = condition(state, address, found.get(address));
        let style = match word {
            "live" if drift.is_empty() => DIM,
            "live" => UPDATE,
            _ => DELETE,
        };
        let note = if drift.is_empty() {
            String::new()
        } else {
            format!(" (changed outside cloudcomp: {})", drift.join(", "))
        };
        writeln!(out, "  {address:width$}  {style}{word}{note}{style:#}  {}", recorded.id)?;
        if let Some(Found::Live(live)) = found.get(address) {
            for (name, value) in &live.details {
                print_detail(out, name, value)?;
            }
        }
    }
    print_deploys(out, state, &instance_versions(found))?;
    if let Some(rollout) = rollout {
        writeln!(out, "Rolling out: {rollout}")?;
    }
    Ok(())
}

/// How many instances run each launch-template version (`v3`), from the group's details.
fn instance_versions(found: &BTreeMap<Address, Found>) -> BTreeMap<String, usize> {
    let mut versions = BTreeMap::new();
    let Some(Found::Live(group)) = found.get(&Address::from(crate::deploys::GROUP)) else { return versions };
    let instances = group.details.get("instances").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for version in instances.iter().filter_map(|i| i.get("version")?.as_str()) {
        *versions.entry(version.to_string()).or_default() += 1;
    }
    versions
}

/// The deploy history, newest last, each with the instances that run its version now.
fn print_deploys(out: &mut impl Write, state: &State, running: &BTreeMap<String, usize>) -> std::io::Result<()> {
    if state.deploys.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nDeploys (newest last; `cloudcomp rollback --to N` goes back to one):")?;
    let mut shown = std::collections::HashSet::new();
    for deploy in state.deploys.iter().rev() {
        // A version deployed twice (a rollback) is counted on its newest deploy.
        let instances = running.get(&format!("v{}", deploy.template_version)).copied().unwrap_or(0);
        let count = if shown.insert(&deploy.template_version) && instances > 0 {
            format!("  {UPDATE}← {instances} instance{}{UPDATE:#}", if instances == 1 { "" } else { "s" })
        } else {
            String::new()
        };
        let line = format!(
            "  #{:<3} {}  v{:<4} {:<24} {}{count}",
            deploy.number, deploy.at, deploy.template_version, deploy.change, deploy.image
        );
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A detail: scalars as `name value`, lists of records one per line.
fn print_detail(out: &mut impl Write, name: &str, value: &Value) -> std::io::Result<()> {
    match value {
        Value::Array(items) if items.is_empty() => writeln!(out, "      {name}: none"),
        Value::Array(items) => {
            writeln!(out, "      {name}:")?;
            for item in items {
                let fields: Vec<String> = match item {
                    // The id first, then the rest.
                    Value::Object(fields) => fields
                        .get("id")
                        .into_iter()
                        .chain(fields.iter().filter(|(k, _)| *k != "id").map(|(_, v)| v))
                        .filter(|v| !v.is_null())
                        .map(plain)
                        .collect(),
                    other => vec![plain(other)],
                };
                writeln!(out, "        {}", fields.join("  "))?;
            }
            Ok(())
        }
        Value::String(s) if s.is_empty() => Ok(()),
        other => writeln!(out, "      {name}: {}", plain(other)),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The status for machines: `{stack, region, url, resources: [{address, kind, id, status,
/// drift, details}], deploys, rollout}`; `status` is `live`, `gone` or `foreign`.
pub fn status_json(state: &State, found: &BTreeMap<Address, Found>, url: Option<&str>, rollout: Option<&str>) -> Value {
    let resources: Vec<Value> = state
        .resources
        .iter()
        .map(|(address, recorded)| {
            let (word, drift) = condition(state, address, found.get(address));
            let details = match found.get(address) {
                Some(Found::Live(live)) => Value::Object(live.details.clone()),
                _ => json!({}),
            };
            json!({
                "address": address,
                "kind": recorded.kind,
                "id": recorded.id,
                "status": word,
                "drift": drift,
                "details": details,
            })
        })
        .collect();
    json!({
        "stack": state.stack,
        "region": state.region,
        "url": url,
        "resources": resources,
        "deploys": state.deploys,
        "rollout": rollout,
    })
}
