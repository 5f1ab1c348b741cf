//! Desired resources as plain data: an address, a kind, attributes, and the resources each
//! depends on. A value that is only known once another resource exists (a VPC's id, a
//! table's ARN) is a [`reference`] to that resource's output, resolved by the engine.
//!
//! Each kind declares its attributes as one typed struct ([`Attributes`]): the plan builds
//! it with [`Ref`]s where values come from other resources, the kind reads it resolved,
//! and serialized it is the resource's attributes in the plan and the state file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::dag::{Address, REF_KEY, as_reference, reference, referenced_outputs, references, resolve_references};

/// What changing an attribute of an existing resource takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// The resource is changed in place.
    Update,
    /// The resource must be deleted and created again.
    Replace,
}

/// A text value another resource's output gives, or one known already: what the plan puts
/// in an attribute struct's reference fields. The kind receives it resolved, as a `String`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Ref {
    /// An output of another resource, `address#output`, written as a [`reference`].
    To {
        /// `address#output`.
        #[serde(rename = "$ref")]
        target: String,
    },
    /// Known already.
    Is(String),
}

impl Ref {
    /// Stands for `output` of the resource at `address`, e.g. `Ref::to("vpc", "id")`.
    pub fn to(address: &str, output: &str) -> Self {
        Ref::To { target: format!("{address}#{output}") }
    }
}

impl From<String> for Ref {
    fn from(value: String) -> Self {
        Ref::Is(value)
    }
}

/// A kind's attributes as one typed struct: what the plan builds for a resource of that
/// kind and what the kind reads, references resolved. Serialized, it is the resource's
/// attributes in the plan and the state file, one entry per field.
pub trait Attributes: Serialize {
    /// The kind's name in plans and state files (`vpc`, `listener`, …).
    const KIND: &'static str;
    /// The fields the kind changes in place; a change to any other replaces the resource.
    /// (A test checks that each names a field.)
    const UPDATABLE: &'static [&'static str];
    /// The outputs an in-place update may give new values (a launch template's `version`):
    /// what refers to them is updated after it.
    const UPDATE_CHANGES: &'static [&'static str] = &[];
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
    pub attrs: BTreeMap<String, Attr>,
    /// Resources that must exist first: every referenced one, plus any ordering the kind needs.
    pub depends_on: Vec<Address>,
    /// The outputs an in-place update may change ([`Attributes::UPDATE_CHANGES`]).
    pub update_changes: &'static [&'static str],
}

impl Resource {
    /// A resource with no attributes yet.
    pub fn new(kind: &'static str, address: impl Into<String>) -> Self {
        Resource {
            address: Address(address.into()),
            kind,
            attrs: BTreeMap::new(),
            depends_on: Vec::new(),
            update_changes: &[],
        }
    }

    /// A resource of `attrs`' kind at `address`, each field an attribute that changes in
    /// place when the kind says so ([`Attributes::UPDATABLE`]) and replaces the resource
    /// otherwise. References in them become dependencies.
    ///
    /// # Panics
    /// When `attrs` does not serialize to a JSON object: a kind's attributes are a struct.
    pub fn of<A: Attributes>(address: impl Into<String>, attrs: &A) -> Self {
        let fields = match serde_json::to_value(attrs) {
            Ok(Value::Object(fields)) => fields,
            other => panic!("{} attributes must serialize to a JSON object, not {other:?}", A::KIND),
        };
        let resource = Resource { update_changes: A::UPDATE_CHANGES, ..Resource::new(A::KIND, address) };
        fields.into_iter().fold(resource, |resource, (name, value)| {
            let on_change = if A::UPDATABLE.contains(&name.as_str()) { OnChange::Update } else { OnChange::Replace };
            resource.attr(name, value, on_change)
        })
    }

    /// Adds an attribute that can change in place. References in it become dependencies.
    pub fn set(self, name: &str, value: Value) -> Self {
        self.attr(name.to_string(), value, OnChange::Update)
    }

    /// Adds an attribute whose change replaces the resource. References become dependencies.
    pub fn fixed(self, name: &str, value: Value) -> Self {
        self.attr(name.to_string(), value, OnChange::Replace)
    }

    /// Adds an ordering dependency without a reference.
    pub fn after(mut self, address: &str) -> Self {
        self.depend_on(Address(address.to_string()));
        self
    }

    fn attr(mut self, name: String, value: Value, on_change: OnChange) -> Self {
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
        self.attrs.iter().map(|(k, a)| (k.clone(), a.value.clone())).collect()
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

    #[derive(Serialize)]
    struct Pair {
        left: Ref,
        right: Ref,
    }

    impl Attributes for Pair {
        const KIND: &'static str = "pair";
        const UPDATABLE: &'static [&'static str] = &["right"];
    }

    #[test]
    fn typed_attributes_keep_the_state_file_shape_and_mark_what_updates_in_place() {
        let pair = Resource::of("pair.a", &Pair { left: Ref::to("vpc", "id"), right: Ref::from("x".to_string()) });
        assert_eq!(pair.kind, "pair");
        assert_eq!(pair.attrs["left"], Attr { value: reference("vpc", "id"), on_change: OnChange::Replace });
        assert_eq!(pair.attrs["right"], Attr { value: json!("x"), on_change: OnChange::Update });
        assert_eq!(pair.depends_on, vec![Address::from("vpc")]);
    }
}
