//! The stack settings a running local stack takes without restarting a replica: the scaling
//! bounds and rules, the health check, the warmup and the deregistration delay. `up --local`
//! sends them with the release ([`super::control`]); the supervisor applies them at once (and
//! scales to the new bounds), and the status file shows the ones it runs, so that `up` knows
//! whether anything changed. What a replica reads at start (`app.env`, `app.demo_user`) is
//! part of the release instead ([`super::release`]); the rest of the stack is AWS's alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stack::{HealthCheck, Scaling, Seconds, Stack};

/// What the supervisor applies to the replicas it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalSettings {
    /// Bounds and request-count rules of the replica count.
    pub scaling: Scaling,
    /// The balancer's health check of each replica.
    pub health_check: HealthCheck,
    /// How long a new replica may take to pass its first health check (`instances.health_grace`).
    pub health_grace: Seconds,
    /// How long a replica leaving the balancer finishes its requests (`instances.deregistration_delay`).
    pub deregistration_delay: Seconds,
}

impl LocalSettings {
    /// The settings `stack` asks for.
    pub fn of(stack: &Stack) -> LocalSettings {
        LocalSettings {
            scaling: stack.scaling.clone(),
            health_check: stack.health_check.clone(),
            health_grace: stack.instances.health_grace,
            deregistration_delay: stack.instances.deregistration_delay,
        }
    }

    /// What differs in `to`: `path before → after` for each setting, in the order of the paths.
    pub fn changes(&self, to: &LocalSettings) -> Vec<String> {
        let as_json = |settings: &LocalSettings| serde_json::to_value(settings).expect("settings serialize");
        let mut changes = Vec::new();
        differences("", &as_json(self), &as_json(to), &mut changes);
        changes
    }
}

/// Adds to `changes` each leaf under `path` where `before` and `after` differ.
fn differences(path: &str, before: &Value, after: &Value, changes: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(before), Value::Object(after)) => {
            for (name, value) in before {
                let inner = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                differences(&inner, value, after.get(name).unwrap_or(&Value::Null), changes);
            }
        }
        _ if before != after => changes.push(format!("{path} {} → {}", shown(before), shown(after))),
        _ => {}
    }
}

/// A setting's value as the stack file writes it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "unset".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> LocalSettings {
        LocalSettings::of(&crate::stack::parse(&format!("name: test\n{yaml}")).expect("a valid stack"))
    }

    #[test]
    fn changes_name_each_setting_that_differs() {
        let before = settings("scaling: { min: 2, max: 3 }\n");
        let after = settings(
            "scaling: { min: 3, max: 3, desired: 3, scale_in: { cooldown: 30s } }
health_check: { path: /ready }
instances: { health_grace: 20s, type: t3.large }
region: eu-west-1
",
        );
        assert_eq!(
            before.changes(&after),
            [
                "health_check.path /health → /ready",
                "health_grace 300s → 20s",
                "scaling.desired unset → 3",
                "scaling.min 2 → 3",
                "scaling.scale_in.cooldown 60s → 30s",
            ],
            "the instance type and the region are AWS's alone"
        );
        assert!(before.changes(&before.clone()).is_empty());
    }
}
