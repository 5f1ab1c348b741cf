//! The vocabulary planning and the state file share, and nothing else: resource
//! [`Address`]es, [`reference`]s from one resource's attribute to another's output, and
//! the [`DependencyQueue`] that orders them. A leaf: it imports nothing of cloudcomp.

mod queue;

pub use queue::DependencyQueue;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A resource's name within the stack, e.g. `subnet.public[0]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(pub String);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`, so that `{address:<34}` lines up columns.
        f.pad(&self.0)
    }
}

impl From<&str> for Address {
    fn from(s: &str) -> Self {
        Address(s.to_string())
    }
}

/// Key of the object that marks a reference inside an attribute value.
pub const REF_KEY: &str = "$ref";

/// A value standing for `output` of the resource at `address`, e.g. `reference("vpc", "id")`.
pub fn reference(address: &str, output: &str) -> Value {
    json!({ REF_KEY: format!("{address}#{output}") })
}

/// Splits a reference value into its address and output name.
pub fn as_reference(value: &Value) -> Option<(Address, &str)> {
    let target = value.as_object().filter(|o| o.len() == 1)?.get(REF_KEY)?.as_str()?;
    let (address, output) = target.rsplit_once('#')?;
    Some((Address(address.to_string()), output))
}

/// Every resource referenced anywhere inside `value`.
pub fn references(value: &Value) -> Vec<Address> {
    referenced_outputs(value).into_iter().map(|(address, _)| address).collect()
}

/// Every output referenced anywhere inside `value`, with its resource.
pub fn referenced_outputs(value: &Value) -> Vec<(Address, String)> {
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<(Address, String)>) {
    if let Some((address, output)) = as_reference(value) {
        found.push((address, output.to_string()));
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect(v, found)),
        _ => {}
    }
}

/// Replaces every reference inside `value` with what `resolve` says it stands for.
pub fn resolve_references<E>(value: &Value, resolve: &impl Fn(&Address, &str) -> Result<Value, E>) -> Result<Value, E> {
    if let Some((address, output)) = as_reference(value) {
        return resolve(&address, output);
    }
    Ok(match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve_references(v, resolve)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), resolve_references(v, resolve)?))).collect::<Result<_, E>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_inside_nested_values() {
        let value = json!({"ids": [reference("a", "id"), "literal"], "arn": reference("b", "arn")});
        let resolved = resolve_references(&value, &|address: &Address, output: &str| {
            Ok::<_, ()>(json!(format!("{address}:{output}")))
        })
        .unwrap();
        assert_eq!(resolved, json!({"ids": ["a:id", "literal"], "arn": "b:arn"}));
        let mut found = references(&value);
        found.sort();
        assert_eq!(found, vec![Address::from("a"), Address::from("b")]);
        let mut outputs = referenced_outputs(&value);
        outputs.sort();
        assert_eq!(outputs, vec![(Address::from("a"), "id".to_string()), (Address::from("b"), "arn".to_string())]);
    }
}
