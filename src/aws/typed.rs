//! Typed attributes: each kind module writes a [`TypedKind`], whose verbs read the kind's
//! [`Attributes`] struct, and this module makes every one a [`Kind`] for the engine,
//! reading the JSON attributes as that struct once per call. A misspelt attribute or a
//! wrong type is then a compile error in the kind, and attributes that do not read as its
//! struct (a state file edited by hand) an error naming the kind and the field.

use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Applied, Attrs, Cx, Hint, Kind, Live};
use crate::plan::graph::Attributes;

/// A resource kind as its module writes it: the verbs of [`Kind`], reading the kind's
/// [`Attributes`] struct instead of JSON. Every `TypedKind` is a [`Kind`].
#[async_trait]
pub trait TypedKind: Sync {
    /// The kind's attributes, every reference resolved.
    type Attrs: Attributes + DeserializeOwned + Send + Sync;

    /// See [`Kind::create`].
    async fn create(&self, cx: &Cx, address: &str, attrs: &Self::Attrs) -> anyhow::Result<Applied>;

    /// See [`Kind::update`]. The default refuses, for kinds whose every attribute forces a
    /// replacement.
    async fn update(
        &self,
        _cx: &Cx,
        _address: &str,
        id: &str,
        _before: &Self::Attrs,
        _after: &Self::Attrs,
    ) -> anyhow::Result<Applied> {
        anyhow::bail!("{} {id} cannot be changed in place", Self::Attrs::KIND)
    }

    /// See [`Kind::expected_duration`].
    fn expected_duration(&self) -> Duration {
        Duration::from_secs(2)
    }

    /// See [`Kind::read_lag`].
    fn read_lag(&self) -> Duration {
        Duration::ZERO
    }

    /// See [`Kind::read`]. The attributes it reports live ([`Live::attr`]) are fields of
    /// [`TypedKind::Attrs`] (checked in debug builds).
    async fn read(&self, cx: &Cx, id: &str, recorded: Stored<'_, Self::Attrs>) -> anyhow::Result<Option<Live>>;

    /// See [`Kind::adopt`].
    async fn adopt(
        &self,
        cx: &Cx,
        address: &str,
        attrs: &Self::Attrs,
        hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>>;

    /// See [`Kind::copies`]. None by default: AWS keeps most kinds unique by name.
    async fn copies(&self, _cx: &Cx, _address: &str) -> anyhow::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// See [`Kind::delete`].
    async fn delete(&self, cx: &Cx, id: &str, recorded: Stored<'_, Self::Attrs>) -> anyhow::Result<()>;
}

#[async_trait]
impl<K: TypedKind> Kind for K {
    fn name(&self) -> &'static str {
        K::Attrs::KIND
    }

    fn updatable(&self) -> &'static [&'static str] {
        K::Attrs::UPDATABLE
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        TypedKind::create(self, cx, address, &typed(attrs)?).await
    }

    async fn update(&self, cx: &Cx, address: &str, id: &str, before: &Attrs, after: &Attrs) -> anyhow::Result<Applied> {
        TypedKind::update(self, cx, address, id, &typed(before)?, &typed(after)?).await
    }

    fn expected_duration(&self) -> Duration {
        TypedKind::expected_duration(self)
    }

    fn read_lag(&self) -> Duration {
        TypedKind::read_lag(self)
    }

    async fn read(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let live = TypedKind::read(self, cx, id, Stored::new(attrs)).await?;
        debug_assert!(
            live.iter().flat_map(|l| l.attrs.keys()).all(|name| field_names::<K::Attrs>().contains(&name.as_str())),
            "{} reads back attributes that are not its fields: {:?}",
            K::Attrs::KIND,
            live.as_ref().map(|l| l.attrs.keys().collect::<Vec<_>>())
        );
        Ok(live)
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        TypedKind::adopt(self, cx, address, &adoptable(attrs)?, hint).await
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        TypedKind::copies(self, cx, address).await
    }

    async fn delete(&self, cx: &Cx, id: &str, attrs: &Attrs) -> anyhow::Result<()> {
        TypedKind::delete(self, cx, id, Stored::new(attrs)).await
    }
}

/// The attributes a resource was recorded with, read as the kind's struct only when the
/// kind asks: most kinds read and delete by id alone, and a state file written by hand or
/// rebuilt from tags need not hold every attribute.
pub struct Stored<'a, A> {
    attrs: &'a Attrs,
    typed: PhantomData<fn() -> A>,
}

impl<'a, A: Attributes + DeserializeOwned> Stored<'a, A> {
    fn new(attrs: &'a Attrs) -> Self {
        Stored { attrs, typed: PhantomData }
    }

    /// The recorded attributes as the kind's struct.
    pub fn get(&self) -> anyhow::Result<A> {
        typed(self.attrs)
    }
}

/// `attrs` read as the kind's struct `A`; an error names the kind and the field.
fn typed<A: Attributes + DeserializeOwned>(attrs: &Attrs) -> anyhow::Result<A> {
    let fields = Fields { fields: attrs.iter(), value: None };
    A::deserialize(MapAccessDeserializer::new(fields)).map_err(|e| anyhow::anyhow!("{} attributes: {e}", A::KIND))
}

/// `attrs` read as the kind's struct `A` for [`Kind::adopt`]. A state rebuilt from tags
/// (`destroy --from-tags`) holds null where a reference names a resource that was not found:
/// read as empty text, so that a kind that finds its resource by name or tags still does,
/// and one that needs the missing value fails to find it, as AWS answers the empty value.
fn adoptable<A: Attributes + DeserializeOwned>(attrs: &Attrs) -> anyhow::Result<A> {
    typed(attrs).or_else(|error| {
        let emptied: Attrs = attrs.iter().map(|(name, value)| (name.clone(), null_as_empty(value))).collect();
        typed(&emptied).map_err(|_| error)
    })
}

/// `value` with every null in it made empty text.
fn null_as_empty(value: &Value) -> Value {
    match value {
        Value::Null => Value::String(String::new()),
        Value::Array(items) => items.iter().map(null_as_empty).collect(),
        Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), null_as_empty(v))).collect(),
        other => other.clone(),
    }
}

/// The attributes as a map a struct deserializes from, so that an error in a value can
/// name its field.
struct Fields<'a> {
    fields: std::collections::btree_map::Iter<'a, String, Value>,
    /// The field whose value comes next.
    value: Option<(&'a str, &'a Value)>,
}

impl<'a> MapAccess<'a> for Fields<'a> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.fields.next() else { return Ok(None) };
        self.value = Some((name, value));
        seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let (name, value) = self.value.take().ok_or_else(|| de::Error::custom("a value without its field"))?;
        seed.deserialize(value).map_err(|e| de::Error::custom(format_args!("`{name}`: {e}")))
    }
}

/// The field names of the struct `A` (serde tells the deserializer which it expects).
fn field_names<A: DeserializeOwned>() -> &'static [&'static str] {
    /// A deserializer that only notes the names of the struct's fields.
    struct Names(&'static [&'static str]);
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("names noted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = A::deserialize(&mut names);
    names.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ListenerAttrs;

    #[test]
    fn attributes_that_do_not_read_name_the_kind_and_the_field() {
        let attrs: Attrs = serde_json::from_value(serde_json::json!({
            "load_balancer_arn": "arn:lb", "port": "eighty", "target_group_arn": "arn:tg"
        }))
        .unwrap();
        let error = typed::<ListenerAttrs>(&attrs).unwrap_err().to_string();
        assert!(error.starts_with("listener attributes: `port`: invalid type: string \"eighty\""), "{error}");
        let attrs: Attrs =
            serde_json::from_value(serde_json::json!({"port": 80, "target_group_arn": "arn:tg"})).unwrap();
        let error = typed::<ListenerAttrs>(&attrs).unwrap_err().to_string();
        assert_eq!(error, "listener attributes: missing field `load_balancer_arn`");
    }

    #[test]
    fn adoption_reads_a_reference_to_a_resource_not_found_as_empty() {
        let attrs: Attrs = serde_json::from_value(serde_json::json!({
            "load_balancer_arn": null, "port": 80, "target_group_arn": "arn:tg"
        }))
        .unwrap();
        assert!(typed::<ListenerAttrs>(&attrs).is_err());
        let listener = adoptable::<ListenerAttrs>(&attrs).unwrap();
        assert_eq!((listener.load_balancer_arn.as_str(), listener.target_group_arn.as_str()), ("", "arn:tg"));
        let attrs: Attrs = serde_json::from_value(serde_json::json!({"port": "eighty"})).unwrap();
        let error = adoptable::<ListenerAttrs>(&attrs).unwrap_err().to_string();
        assert!(error.starts_with("listener attributes: `port`"), "{error}");
    }

    #[test]
    fn field_names_are_the_struct_s() {
        assert_eq!(field_names::<ListenerAttrs>(), ["load_balancer_arn", "port", "target_group_arn"]);
        assert!(field_names::<String>().is_empty());
    }
}
