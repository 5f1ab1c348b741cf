//! Desired resources as plain data: an address, a kind, attributes, and the resources each
//! depends on. A value that is only known once another resource exists (a VPC's id, a
//! table's ARN) is a [`reference`] to that resource's output, resolved by the engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::dag::{Address, REF_KEY, as_reference, reference, references, resolve_references};

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_become_dependencies_once() {
        let subnet = Resource::new("subnet", "subnet.a")
            .fixed("vpc_id", reference("vpc", "id"))
            .set("tags", json!({"x": reference("vpc", "id")}))
            .after("internet_gateway");
        assert_eq!(subnet.depends_on, vec![Address::from("vpc"), Address::from("internet_gateway")]);
    }
}
