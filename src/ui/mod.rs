//! What the user reads: plans, drift, progress, status and timings as text (colours only on
//! a terminal, `NO_COLOR` honoured, through anstream) or as JSON for machines.

mod progress;
mod status;

pub use progress::{Progress, Waiting};
pub use status::{print_status, status_json};

use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};

use crate::plan::graph::as_reference;
use std::time::Duration;

use crate::plan::{Action, Address, Change, Plan, STACK_TAG};
use crate::recover::Outcome;
use crate::refresh::Drift;
use crate::timings::CriticalPath;

const CREATE: Style = AnsiColor::Green.on_default();
const UPDATE: Style = AnsiColor::Yellow.on_default();
const DELETE: Style = AnsiColor::Red.on_default();
const DIM: Style = Style::new().dimmed();

/// One line summing the plan up, e.g. `3 to create, 1 to update, 0 to replace, 0 to delete`.
pub fn summary(plan: &Plan) -> String {
    format!(
        "{} to create, {} to update, {} to replace, {} to delete",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete)
    )
}

/// Writes the plan for people: one block per resource, `+` create, `~` update in place,
/// `-/+` replace, `-` delete, with the attributes involved.
pub fn print_plan(out: &mut impl Write, stack: &str, region: &str, plan: &Plan) -> std::io::Result<()> {
    if plan.is_empty() {
        return writeln!(out, "Stack {stack} ({region}) is up to date: no changes.");
    }
    writeln!(out, "Plan for stack {stack} ({region}): {}.\n", summary(plan))?;
    for change in &plan.changes {
        print_change(out, change)?;
    }
    writeln!(out, "\n{DIM}<address#output> is known once that resource exists.{DIM:#}")
}

fn print_change(out: &mut impl Write, change: &Change) -> std::io::Result<()> {
    let (sign, style) = match change.action {
        Action::Create => ("+", CREATE),
        Action::Update => ("~", UPDATE),
        Action::Replace => ("-/+", DELETE),
        Action::Delete => ("-", DELETE),
    };
    writeln!(out, "{style}{sign} {}{style:#} {DIM}({}){DIM:#}", change.address, change.kind)?;
    let width = change.attrs.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for attr in &change.attrs {
        let name = &attr.name;
        match (&attr.before, &attr.after) {
            (None, Some(after)) => writeln!(out, "    {name:width$} = {}", render(after))?,
            (Some(before), None) => writeln!(out, "    {name:width$} = {}", render(before))?,
            (before, Some(after)) => {
                let before = before.as_ref().map_or("(unset)".to_string(), render);
                let note = if attr.forces_replacement {
                    format!(" {DELETE}(forces replacement){DELETE:#}")
                } else {
                    String::new()
                };
                writeln!(out, "    {name:width$}: {before} → {}{note}", render(after))?
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// A value on one line, references shown as `<address#output>`.
fn render(value: &Value) -> String {
    if let Some((address, output)) = as_reference(value) {
        return format!("<{address}#{output}>");
    }
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            format!("{{{}}}", map.iter().map(|(k, v)| format!("{k}: {}", render(v))).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

/// Writes what refresh found changed outside cloudcomp (nothing when nothing drifted).
pub fn print_drift(out: &mut impl Write, drift: &[Drift]) -> std::io::Result<()> {
    for d in drift {
        match d {
            Drift::Gone { address } => writeln!(out, "{UPDATE}!{UPDATE:#} {address} was deleted outside cloudcomp")?,
            Drift::Changed { address, attrs } => {
                writeln!(out, "{UPDATE}!{UPDATE:#} {address} was changed outside cloudcomp: {}", attrs.join(", "))?
            }
        }
    }
    if drift.is_empty() { Ok(()) } else { writeln!(out) }
}

/// Why resources were looked for at AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Creations an interrupted run left unfinished.
    Interrupted,
    /// Every resource of the stack, by tag and name (`destroy --from-tags`).
    FromTags,
}

/// Writes what the search found.
pub fn print_found(out: &mut impl Write, search: Search, found: &[(Address, Outcome)]) -> std::io::Result<()> {
    for (address, outcome) in found {
        match (outcome, search) {
            (Outcome::Adopted(id), Search::Interrupted) => {
                writeln!(out, "Resumed {address}: an interrupted run created it as {id}.")?
            }
            (Outcome::NotCreated, Search::Interrupted) => {
                writeln!(out, "Resumed {address}: an interrupted run never created it.")?
            }
            (Outcome::Adopted(id), Search::FromTags) => writeln!(out, "Found {address}: {id}")?,
            (Outcome::NotCreated, Search::FromTags) => {}
            (Outcome::Copy(id), _) => {
                writeln!(out, "Found a second {address}, {id}, left by an interrupted run: it is deleted too.")?
            }
            (Outcome::NotOurs(id), _) => writeln!(
                out,
                "{UPDATE}!{UPDATE:#} {address}: {id} exists but is not tagged {STACK_TAG} for this stack; left alone"
            )?,
        }
    }
    Ok(())
}

/// Writes `up --timings`: the critical path step by step, and the wall time against it.
pub fn print_timings(out: &mut impl Write, path: &CriticalPath, wall: Duration) -> std::io::Result<()> {
    writeln!(out, "Critical path ({} steps):", path.steps.len())?;
    for (address, verb, took) in &path.steps {
        writeln!(out, "  {} {address:<34} {:>7.3}s", progress::verb_words(*verb).0, took.as_secs_f64())?;
    }
    let ratio = if path.total.is_zero() { 1.0 } else { wall.as_secs_f64() / path.total.as_secs_f64() };
    writeln!(
        out,
        "critical path {:.3}s, wall time {:.3}s ({ratio:.2}× the critical path)",
        path.total.as_secs_f64(),
        wall.as_secs_f64()
    )
}

/// The plan for machines: `{stack, region, drift, summary: {create, update, replace, delete},
/// changes}`.
pub fn plan_json(stack: &str, region: &str, plan: &Plan, drift: &[Drift]) -> Value {
    json!({
        "stack": stack,
        "region": region,
        "drift": drift,
        "summary": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
            "delete": plan.count(Action::Delete),
        },
        "changes": plan.changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::AttrChange;
    use crate::plan::graph::reference;

    #[test]
    fn changes_read_like_a_diff() {
        let plan = Plan {
            changes: vec![Change {
                address: "autoscaling_group.app".into(),
                kind: "autoscaling_group".into(),
                action: Action::Update,
                attrs: vec![AttrChange {
                    name: "max_size".into(),
                    before: Some(json!(5)),
                    after: Some(json!(4)),
                    forces_replacement: false,
                }],
            }],
        };
        let mut out = Vec::new();
        print_plan(&mut out, "demo", "us-east-1", &plan).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("0 to create, 1 to update, 0 to replace, 0 to delete"), "{text}");
        assert!(text.contains("~ autoscaling_group.app"), "{text}");
        assert!(text.contains("max_size: 5 → 4"), "{text}");
    }

    #[test]
    fn references_render_as_placeholders() {
        assert_eq!(render(&json!([reference("vpc", "id")])), "[<vpc#id>]");
    }
}
