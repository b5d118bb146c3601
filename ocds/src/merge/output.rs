//! Turns the output tree into JSON: compiled (latest values, `null`s dropped) or versioned
//! (histories of `{releaseID, releaseDate, releaseTag, value}`).
//!
//! Two ways out: building a `serde_json::Value`, and serialising the tree directly (the
//! `Serialize` views), which writes the same JSON without allocating a map per object and per
//! versioned value, so it is the fast path for callers that write JSON anyway.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use super::tree::{Entry, Fields, History, Item, Leaf, Node};

/// What the merge keeps of each release besides its data.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseMeta {
    /// Position in the caller's input, for messages.
    pub(crate) arrival: usize,
    pub(crate) ocid: Value,
    pub(crate) id: Value,
    pub(crate) date: Value,
    pub(crate) tag: Value,
}

impl ReleaseMeta {
    /// Takes the metadata fields out of the release (leaving `null`s the walk skips), moving
    /// rather than cloning them.
    pub(crate) fn take(release: &mut Map<String, Value>, arrival: usize) -> Self {
        let mut meta = Self {
            arrival,
            ocid: Value::Null,
            id: Value::Null,
            date: Value::Null,
            tag: Value::Null,
        };
        // One scan rather than four hashed look-ups: the metadata usually comes first.
        for (key, value) in release.iter_mut() {
            let slot = match key.as_str() {
                "ocid" => &mut meta.ocid,
                "id" => &mut meta.id,
                "date" => &mut meta.date,
                "tag" => &mut meta.tag,
                _ => continue,
            };
            *slot = std::mem::take(value);
        }
        meta
    }
}

/// A value as Python's `str()` would print it inside the compiled release's `id`: both
/// reference implementations publish `{ocid}-{date}` with `None` for a missing value, and
/// consumers match on it.
struct PythonStr<'a>(&'a Value);

impl fmt::Display for PythonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::String(s) => f.write_str(s),
            other => write!(f, "{other}"),
        }
    }
}

fn compiled_id(last: &ReleaseMeta) -> String {
    format!("{}-{}", PythonStr(&last.ocid), PythonStr(&last.date))
}

// ---------------------------------------------------------------------------------------------
// Building `Value`s.

/// The compiled release's own metadata, which comes first, as in the reference output.
pub(crate) fn compiled_header(last: &ReleaseMeta, capacity: usize) -> Map<String, Value> {
    let mut map = Map::with_capacity(capacity + 4);
    map.insert(
        "tag".to_owned(),
        Value::Array(vec![Value::String("compiled".to_owned())]),
    );
    map.insert("id".to_owned(), Value::String(compiled_id(last)));
    if !last.date.is_null() {
        map.insert("date".to_owned(), last.date.clone());
    }
    if !last.ocid.is_null() {
        map.insert("ocid".to_owned(), last.ocid.clone());
    }
    map
}

/// The versioned release's only plain top-level field.
pub(crate) fn versioned_header(last: &ReleaseMeta, capacity: usize) -> Map<String, Value> {
    let mut map = Map::with_capacity(capacity + 1);
    if !last.ocid.is_null() {
        map.insert("ocid".to_owned(), last.ocid.clone());
    }
    map
}

/// Consumes the tree into `map`; `leaf` returns `None` for a field to leave out.
pub(crate) fn write_fields<L>(
    fields: Fields<L>,
    map: &mut Map<String, Value>,
    leaf: &mut impl FnMut(L) -> Option<Value>,
) {
    for Entry { key, node, .. } in fields.entries {
        let value = match node {
            Node::Leaf(l) => match leaf(l) {
                Some(value) => value,
                None => continue,
            },
            Node::Object(fields) => {
                let mut object = Map::with_capacity(fields.entries.len());
                write_fields(fields, &mut object, leaf);
                Value::Object(object)
            }
            Node::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| write_item(item, leaf))
                    .collect(),
            ),
        };
        map.insert(key, value);
    }
}

fn write_item<L>(item: Item<L>, leaf: &mut impl FnMut(L) -> Option<Value>) -> Value {
    let mut object = Map::with_capacity(item.fields.entries.len() + 1);
    if let Some(id) = item.id {
        object.insert("id".to_owned(), id);
    }
    write_fields(item.fields, &mut object, leaf);
    Value::Object(object)
}

/// Like [`write_fields`] but leaves the tree intact (cloning), so one tree can give both the
/// compiled and, afterwards, the versioned release.
pub(crate) fn write_fields_ref<L>(
    fields: &Fields<L>,
    map: &mut Map<String, Value>,
    leaf: &mut impl FnMut(&L) -> Option<Value>,
) {
    for Entry { key, node, .. } in &fields.entries {
        let value = match node {
            Node::Leaf(l) => match leaf(l) {
                Some(value) => value,
                None => continue,
            },
            Node::Object(fields) => {
                let mut object = Map::with_capacity(fields.entries.len());
                write_fields_ref(fields, &mut object, leaf);
                Value::Object(object)
            }
            Node::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let mut object = Map::with_capacity(item.fields.entries.len() + 1);
                        if let Some(id) = &item.id {
                            object.insert("id".to_owned(), id.clone());
                        }
                        write_fields_ref(&item.fields, &mut object, leaf);
                        Value::Object(object)
                    })
                    .collect(),
            ),
        };
        map.insert(key.clone(), value);
    }
}

/// A compiled leaf: its value, unless `null` (a deletion).
pub(crate) fn compiled_leaf(value: Value) -> Option<Value> {
    (!value.is_null()).then_some(value)
}

/// The compiled value of a history: its latest value, unless `null`.
pub(crate) fn compiled_leaf_of_history(history: &History) -> Option<Value> {
    let latest = history.latest();
    (!latest.is_null()).then(|| latest.clone())
}

/// A history as versioned values, `null`s included (that is how deletions show).
pub(crate) fn versioned_leaf(history: History, metas: &[ReleaseMeta]) -> Value {
    Value::Array(
        history
            .into_versions()
            .map(|(release, value)| {
                let meta = metas.get(release as usize);
                let field =
                    |f: fn(&ReleaseMeta) -> &Value| meta.map(f).cloned().unwrap_or_default();
                let mut entry = Map::with_capacity(4);
                entry.insert("releaseID".to_owned(), field(|m| &m.id));
                entry.insert("releaseDate".to_owned(), field(|m| &m.date));
                entry.insert("releaseTag".to_owned(), field(|m| &m.tag));
                entry.insert("value".to_owned(), value);
                Value::Object(entry)
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Serialising directly.

/// How leaves are written by the `Serialize` views.
pub(crate) trait LeafWriter<L> {
    /// Whether the field is left out (a compiled `null`).
    fn skip(&self, leaf: &L) -> bool;
    fn write<S: Serializer>(&self, leaf: &L, serializer: S) -> Result<S::Ok, S::Error>;
}

/// Compiled release from latest values.
pub(crate) struct Latest;

impl LeafWriter<Value> for Latest {
    fn skip(&self, leaf: &Value) -> bool {
        leaf.is_null()
    }

    fn write<S: Serializer>(&self, leaf: &Value, serializer: S) -> Result<S::Ok, S::Error> {
        leaf.serialize(serializer)
    }
}

impl LeafWriter<History> for Latest {
    fn skip(&self, leaf: &History) -> bool {
        leaf.latest().is_null()
    }

    fn write<S: Serializer>(&self, leaf: &History, serializer: S) -> Result<S::Ok, S::Error> {
        leaf.latest().serialize(serializer)
    }
}

/// Versioned release from histories.
pub(crate) struct Versions<'a>(pub(crate) &'a [ReleaseMeta]);

impl LeafWriter<History> for Versions<'_> {
    fn skip(&self, _: &History) -> bool {
        false
    }

    fn write<S: Serializer>(&self, leaf: &History, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (release, value) in leaf.iter() {
            seq.serialize_element(&VersionedValue {
                meta: self.0.get(*release as usize),
                value,
            })?;
        }
        seq.end()
    }
}

struct VersionedValue<'a> {
    meta: Option<&'a ReleaseMeta>,
    value: &'a Value,
}

impl Serialize for VersionedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let null = &Value::Null;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("releaseID", self.meta.map_or(null, |m| &m.id))?;
        map.serialize_entry("releaseDate", self.meta.map_or(null, |m| &m.date))?;
        map.serialize_entry("releaseTag", self.meta.map_or(null, |m| &m.tag))?;
        map.serialize_entry("value", self.value)?;
        map.end()
    }
}

/// What comes before an object's merged fields.
#[derive(Clone, Copy)]
pub(crate) enum Header<'a> {
    None,
    /// An identifier-merged item's plain `id`.
    ItemId(Option<&'a Value>),
    /// The compiled release's `tag`, `id`, `date`, `ocid`.
    Compiled(&'a ReleaseMeta),
    /// The versioned release's plain `ocid`.
    Versioned(&'a ReleaseMeta),
}

/// An output object, serialised straight from the tree.
pub(crate) struct ObjectSer<'a, L, W> {
    pub(crate) header: Header<'a>,
    pub(crate) fields: &'a Fields<L>,
    pub(crate) writer: &'a W,
}

impl<L, W: LeafWriter<L>> Serialize for ObjectSer<'_, L, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self.header {
            Header::None | Header::ItemId(None) => {}
            Header::ItemId(Some(id)) => map.serialize_entry("id", id)?,
            Header::Compiled(last) => {
                map.serialize_entry("tag", &["compiled"])?;
                map.serialize_entry(
                    "id",
                    &format_args!("{}-{}", PythonStr(&last.ocid), PythonStr(&last.date)),
                )?;
                if !last.date.is_null() {
                    map.serialize_entry("date", &last.date)?;
                }
                if !last.ocid.is_null() {
                    map.serialize_entry("ocid", &last.ocid)?;
                }
            }
            Header::Versioned(last) => {
                if !last.ocid.is_null() {
                    map.serialize_entry("ocid", &last.ocid)?;
                }
            }
        }
        for Entry { key, node, .. } in &self.fields.entries {
            match node {
                Node::Leaf(leaf) => {
                    if !self.writer.skip(leaf) {
                        map.serialize_entry(
                            key,
                            &LeafSer {
                                leaf,
                                writer: self.writer,
                            },
                        )?;
                    }
                }
                Node::Object(fields) => map.serialize_entry(
                    key,
                    &ObjectSer {
                        header: Header::None,
                        fields,
                        writer: self.writer,
                    },
                )?,
                Node::Array(items) => map.serialize_entry(
                    key,
                    &ItemsSer {
                        items,
                        writer: self.writer,
                    },
                )?,
            }
        }
        map.end()
    }
}

struct LeafSer<'a, L, W> {
    leaf: &'a L,
    writer: &'a W,
}

impl<L, W: LeafWriter<L>> Serialize for LeafSer<'_, L, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.writer.write(self.leaf, serializer)
    }
}

struct ItemsSer<'a, L, W> {
    items: &'a [Item<L>],
    writer: &'a W,
}

impl<L, W: LeafWriter<L>> Serialize for ItemsSer<'_, L, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for item in self.items {
            seq.serialize_element(&ObjectSer {
                header: Header::ItemId(item.id.as_ref()),
                fields: &item.fields,
                writer: self.writer,
            })?;
        }
        seq.end()
    }
}
