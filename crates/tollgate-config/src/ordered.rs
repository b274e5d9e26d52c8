//! A TOML table that remembers the order its entries were written in.
//!
//! The `toml` crate stores tables sorted by key unless its `preserve_order`
//! feature is on, and turning that feature on would change every other crate
//! in the workspace. Order matters to us in a few places (an ordered lifecycle
//! category is *defined* by the order of its markers; listings should follow
//! the file), so we deserialize keys as [`toml::Spanned`] and sort entries by
//! where each key starts in the source.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use toml::Spanned;

/// Entries of a TOML table in document order. Keys are unique (TOML forbids
/// duplicate keys, and the parser reports them with a span).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            entries: Vec::new(),
        }
    }
}

impl<V> OrderedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Position of `key` in document order.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V> FromIterator<(String, V)> for OrderedMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = OrderedMap::default();
        for (k, v) in iter {
            if let Some(slot) = map.entries.iter_mut().find(|(key, _)| *key == k) {
                slot.1 = v;
            } else {
                map.entries.push((k, v));
            }
        }
        map
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = OrderedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut spanned: Vec<(usize, String, V)> = Vec::new();
                while let Some(key) = access.next_key::<Spanned<String>>()? {
                    let start = key.span().start;
                    let value = access.next_value::<V>()?;
                    spanned.push((start, key.into_inner(), value));
                }
                spanned.sort_by_key(|(start, _, _)| *start);
                Ok(OrderedMap {
                    entries: spanned.into_iter().map(|(_, k, v)| (k, v)).collect(),
                })
            }
        }

        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        t: OrderedMap<i64>,
    }

    #[test]
    fn keeps_document_order_not_key_order() {
        let doc: Doc = toml::from_str("[t]\nzeta = 1\nalpha = 2\nmid = 3\n").unwrap();
        assert_eq!(doc.t.keys().collect::<Vec<_>>(), ["zeta", "alpha", "mid"]);
        assert_eq!(doc.t.get("alpha"), Some(&2));
        assert_eq!(doc.t.position("mid"), Some(2));
    }

    #[test]
    fn order_holds_for_inline_tables_and_dotted_keys() {
        let doc: Doc = toml::from_str("t = { b = 1, a = 2 }\n").unwrap();
        assert_eq!(doc.t.keys().collect::<Vec<_>>(), ["b", "a"]);
    }
}
