//! Desired resources as plain data: an address, a kind, attributes, and the resources each
//! depends on. A value that is only known once another resource exists (a VPC's id, a
//! table's ARN) is a [`reference`] to that resource's output, resolved by the engine.

use std::collections::BTreeMap;
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

/// What changing an attribute of an existing resource takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// The resource is changed in place.
    Update,
    /// The resource must be deleted and created again.
    Replace,
}

/// One desired attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The value; may hold [`reference`]s.
    pub value: Value,
    /// What a change to it takes.
    pub on_change: OnChange,
}

/// A resource as the stack wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its name in the stack.
    pub address: Address,
    /// Which resource kind (`vpc`, `subnet`, …); the engine looks the kind up by this name.
    pub kind: &'static str,
    /// Desired attributes.
    pub attrs: BTreeMap<&'static str, Attr>,
    /// Resources that must exist first: every referenced one, plus any ordering the kind needs.
    pub depends_on: Vec<Address>,
}

impl Resource {
    /// A resource with no attributes yet.
    pub fn new(kind: &'static str, address: impl Into<String>) -> Self {
        Resource { address: Address(address.into()), kind, attrs: BTreeMap::new(), depends_on: Vec::new() }
    }

    /// Adds an attribute that can change in place. References in it become dependencies.
    pub fn set(self, name: &'static str, value: Value) -> Self {
        self.attr(name, value, OnChange::Update)
    }

    /// Adds an attribute whose change replaces the resource. References become dependencies.
    pub fn fixed(self, name: &'static str, value: Value) -> Self {
        self.attr(name, value, OnChange::Replace)
    }

    /// Adds an ordering dependency without a reference.
    pub fn after(mut self, address: &str) -> Self {
        self.depend_on(Address(address.to_string()));
        self
    }

    fn attr(mut self, name: &'static str, value: Value, on_change: OnChange) -> Self {
        for target in references(&value) {
            self.depend_on(target);
        }
        self.attrs.insert(name, Attr { value, on_change });
        self
    }

    fn depend_on(&mut self, address: Address) {
        if !self.depends_on.contains(&address) {
            self.depends_on.push(address);
        }
    }

    /// The attribute values alone, as stored in the state file.
    pub fn values(&self) -> BTreeMap<String, Value> {
        self.attrs.iter().map(|(k, a)| (k.to_string(), a.value.clone())).collect()
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
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<Address>) {
    if let Some((address, _)) = as_reference(value) {
        found.push(address);
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
    fn references_become_dependencies_once() {
        let subnet = Resource::new("subnet", "subnet.a")
            .fixed("vpc_id", reference("vpc", "id"))
            .set("tags", json!({"x": reference("vpc", "id")}))
            .after("internet_gateway");
        assert_eq!(subnet.depends_on, vec![Address::from("vpc"), Address::from("internet_gateway")]);
    }

    #[test]
    fn references_resolve_inside_nested_values() {
        let value = json!({"ids": [reference("a", "id"), "literal"], "arn": reference("b", "arn")});
        let resolved = resolve_references(&value, &|address: &Address, output: &str| {
            Ok::<_, ()>(json!(format!("{address}:{output}")))
        })
        .unwrap();
        assert_eq!(resolved, json!({"ids": ["a:id", "literal"], "arn": "b:arn"}));
    }
}
