//! What the user reads: the plan as text (colours only on a terminal, `NO_COLOR` honoured,
//! through anstream) or as JSON for machines.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};

use crate::plan::graph::as_reference;
use crate::plan::{Action, Change, Plan};

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

/// The plan for machines: `{stack, region, summary: {create, update, replace, delete}, changes}`.
pub fn plan_json(stack: &str, region: &str, plan: &Plan) -> Value {
    json!({
        "stack": stack,
        "region": region,
        "summary": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
            "delete": plan.count(Action::Delete),
        },
        "changes": plan.changes,
    })
}

/// Progress of `up` and `destroy` on stderr: one line per resource with its state and
/// elapsed time (live spinners on a terminal, plain lines otherwise).
pub struct Progress {
    bars: Option<indicatif::MultiProgress>,
    lines: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Default for Progress {
    fn default() -> Self {
        use std::io::IsTerminal;
        let bars = std::io::stderr().is_terminal().then(indicatif::MultiProgress::new);
        Progress { bars, lines: std::sync::Mutex::new(std::collections::HashMap::new()) }
    }
}

fn verb_words(verb: crate::engine::Verb) -> (&'static str, &'static str, &'static str) {
    use crate::engine::Verb;
    match verb {
        Verb::Create => ("+", "creating", "created"),
        Verb::Update => ("~", "updating", "updated"),
        Verb::Delete => ("-", "deleting", "deleted"),
    }
}

impl crate::engine::Report for Progress {
    fn started(&self, address: &crate::plan::Address, verb: crate::engine::Verb) {
        let (sign, doing, _) = verb_words(verb);
        let Some(bars) = &self.bars else { return };
        let bar = bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}").expect("a valid template"),
        );
        bar.set_message(format!("{sign} {address:<34} {doing}"));
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).insert(address.0.clone(), bar);
    }

    fn finished(&self, address: &crate::plan::Address, verb: crate::engine::Verb, id: &str, took: std::time::Duration) {
        let (sign, _, done) = verb_words(verb);
        let line = format!("{sign} {address:<34} {done} {id} in {:.2}s", took.as_secs_f64());
        match self.lines.lock().unwrap_or_else(|e| e.into_inner()).remove(&address.0) {
            Some(bar) => bar.finish_with_message(line),
            None => eprintln!("{line}"),
        }
    }

    fn failed(&self, address: &crate::plan::Address, verb: crate::engine::Verb, error: &anyhow::Error) {
        let (sign, doing, _) = verb_words(verb);
        let line = format!("{sign} {address:<34} {doing} FAILED: {error:#}");
        match self.lines.lock().unwrap_or_else(|e| e.into_inner()).remove(&address.0) {
            Some(bar) => bar.abandon_with_message(line),
            None => eprintln!("{line}"),
        }
    }
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
