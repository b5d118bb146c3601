//! The merge walk: folds one release at a time into an output tree.
//!
//! The reference implementations flatten every release into a map of tuple paths and rebuild
//! the object at the end. That costs a path allocation per leaf per release; here the output is
//! kept as a tree that mirrors the data, the input is consumed (its strings and arrays move into
//! the output without copying), and merge rules are looked up by walking a rule tree alongside
//! (each output field remembers its rule, so a field repeated by later releases is not looked
//! up again).
//! Paths are only built, from the unwinding stack, when there is an error or a warning to report.
//!
//! The leaf type is generic: a compiled release stores the latest value, a versioned release
//! its history. Everything else (identifier merge, no-ops, type conflicts) is shared.

use std::mem;

use serde_json::{Map, Value};

use super::error::kind_of;
use super::rules::{MergeRules, NO_RULES, Override, Rule, RuleId};

/// What a leaf of the output keeps.
pub(crate) trait Leaf: Sized {
    /// A leaf first set by release number `release` (position in date order).
    fn first(value: Value, release: u32) -> Self;
    /// A later release sets the leaf again.
    fn update(&mut self, value: Value, release: u32);
    /// Whether an object or identifier-merged array may take this leaf's place.
    ///
    /// In a compiled release a `null` leaf is a deleted field, so a later object there is a
    /// fresh value, as in the reference. A versioned release must keep the `null` version, and
    /// an object cannot sit beside a history, so there it is a conflict.
    fn yields_to_container(&self) -> bool;
    /// The latest value, for error messages.
    fn latest(&self) -> &Value;
}

impl Leaf for Value {
    #[inline]
    fn first(value: Value, _release: u32) -> Self {
        value
    }

    #[inline]
    fn update(&mut self, value: Value, _release: u32) {
        *self = value;
    }

    fn yields_to_container(&self) -> bool {
        self.is_null()
    }

    fn latest(&self) -> &Value {
        self
    }
}

/// A versioned leaf: (release number in date order, value), a new entry only when the value
/// differs from the latest one, so unchanged repetitions in cumulative releases add nothing.
///
/// The first version is stored inline because most fields never change: one allocation less
/// per leaf.
#[derive(Debug)]
pub(crate) struct History {
    first: (u32, Value),
    rest: Vec<(u32, Value)>,
}

impl History {
    /// The versions, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(u32, Value)> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// The versions, oldest first, by value.
    pub(crate) fn into_versions(self) -> impl Iterator<Item = (u32, Value)> {
        std::iter::once(self.first).chain(self.rest)
    }

    fn last_mut(&mut self) -> &mut (u32, Value) {
        match self.rest.last_mut() {
            Some(last) => last,
            None => &mut self.first,
        }
    }
}

impl Leaf for History {
    #[inline]
    fn first(value: Value, release: u32) -> Self {
        History {
            first: (release, value),
            rest: Vec::new(),
        }
    }

    /// A release sets a path more than once only through duplicate `id`s in one array; the
    /// references flatten each release first, so its last value is its only version there.
    #[inline]
    fn update(&mut self, value: Value, release: u32) {
        let last = self.last_mut();
        if last.0 == release {
            last.1 = value;
            // Back to the previous release's value: this release changed nothing after all.
            if let Some(changed) = self.rest.last() {
                let previous = match self.rest.len() {
                    1 => &self.first.1,
                    n => &self.rest[n - 2].1,
                };
                if *previous == changed.1 {
                    self.rest.pop();
                }
            }
        } else if last.1 != value {
            self.rest.push((release, value));
        }
    }

    fn yields_to_container(&self) -> bool {
        false
    }

    fn latest(&self) -> &Value {
        self.rest.last().map_or(&self.first.1, |(_, value)| value)
    }
}

/// A node of the output.
#[derive(Debug)]
pub(crate) enum Node<L> {
    /// A literal, a whole-list array or an array of non-objects (or its history).
    Leaf(L),
    /// An object merged field by field.
    Object(Fields<L>),
    /// An identifier-merged array.
    Array(Vec<Item<L>>),
}

impl<L: Leaf> Node<L> {
    fn kind(&self) -> &'static str {
        match self {
            Node::Leaf(leaf) => kind_of(leaf.latest()),
            Node::Object(_) => "an object",
            Node::Array(_) => "an array of objects",
        }
    }
}

/// The fields of an output object, in order of first appearance.
///
/// A Vec, not a map: OCDS objects have a handful of fields, releases of one process repeat
/// them in the same order, and a lookup that first tries the slot after the previous match
/// almost always hits without hashing or scanning.
#[derive(Debug)]
pub(crate) struct Fields<L> {
    pub(crate) entries: Vec<Entry<L>>,
}

/// One output field.
#[derive(Debug)]
pub(crate) struct Entry<L> {
    pub(crate) key: String,
    /// The field's merge rules (fixed by its path, so looked up once).
    rule: RuleId,
    pub(crate) node: Node<L>,
}

impl<L> Default for Fields<L> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<L> Fields<L> {
    /// Sized for the incoming object, which usually brings all of the output's fields: one
    /// allocation instead of a series of regrowths.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    #[inline]
    fn find(&self, key: &str, hint: usize) -> Option<usize> {
        match self.entries.get(hint) {
            Some(entry) if entry.key == key => Some(hint),
            _ => self.entries.iter().position(|entry| entry.key == key),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, key: String, rule: RuleId, node: Node<L>) {
        self.entries.push(Entry { key, rule, node });
    }
}

/// An object in an identifier-merged array.
#[derive(Debug)]
pub(crate) struct Item<L> {
    key: ItemKey,
    /// The `id` as first seen, kept plain (never versioned) and written first, as the
    /// reference does; `None` for items without an `id` (or with `"id": null`).
    pub(crate) id: Option<Value>,
    /// Number of the last incoming array that touched this item, to detect duplicate `id`s
    /// within one array of one release without a per-array set.
    stamp: u32,
    pub(crate) fields: Fields<L>,
}

/// How later items find this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKey {
    /// By equal `id`.
    ById,
    /// Never: no `id`, or appended by [`Override::Append`].
    Unique,
    /// By position in the release's array ([`Override::MergeByPosition`]).
    Position(usize),
}

/// Which fields of an incoming object are not data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// An array item whose `id` was taken out to identify it.
    Id,
    /// The release itself: `ocid`, `id`, `date` and `tag` were taken out as metadata.
    Metadata,
}

impl Skip {
    #[inline]
    fn skips(self, key: &str) -> bool {
        match self {
            Skip::Nothing => false,
            Skip::Id => key == "id",
            Skip::Metadata => matches!(key, "ocid" | "id" | "date" | "tag"),
        }
    }
}

/// A duplicate-`id` warning whose path is completed as the walk unwinds.
#[derive(Debug)]
pub(crate) struct PendingWarning {
    pub(crate) release: u32,
    pub(crate) id: Value,
    /// Property names from the array up to the release, innermost first.
    pub(crate) segments: Vec<String>,
}

/// A type conflict, with its JSON Pointer completed as the walk unwinds.
#[derive(Debug)]
pub(crate) struct Conflict {
    /// Pointer segments from the conflict up to the release, innermost first.
    pub(crate) segments: Vec<String>,
    pub(crate) previous: &'static str,
    pub(crate) current: &'static str,
}

impl Conflict {
    fn under(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }
}

/// State of one merge.
#[derive(Debug)]
pub(crate) struct Ctx<'r> {
    rules: &'r MergeRules,
    /// Number of the release being merged, in date order.
    pub(crate) release: u32,
    stamp: u32,
    pub(crate) pending: Vec<PendingWarning>,
}

impl<'r> Ctx<'r> {
    pub(crate) fn new(rules: &'r MergeRules) -> Self {
        Self {
            rules,
            release: 0,
            stamp: 0,
            pending: Vec::new(),
        }
    }

    /// Adds `key` to the paths of the warnings raised since `before`: only runs when there are
    /// some, so the common path costs one comparison.
    #[inline]
    fn name_pending(&mut self, before: usize, key: &str) {
        if self.pending.len() > before {
            for warning in &mut self.pending[before..] {
                warning.segments.push(key.to_owned());
            }
        }
    }
}

/// Merges one release (its metadata already taken out) into the output.
pub(crate) fn merge_release<L: Leaf>(
    out: &mut Fields<L>,
    release: Map<String, Value>,
    ctx: &mut Ctx<'_>,
) -> Result<(), Conflict> {
    let root = ctx.rules.root();
    merge_fields(out, release, root, Skip::Metadata, ctx)
}

/// A field's value as the merge sees it, by its rule and then its value (spec section 3).
enum Incoming {
    /// Omitted by rule, or `{}` / `[]`, which create and clear nothing: publishers send them
    /// for "no change".
    Nothing,
    /// A literal, an array of non-objects, or anything at a whole-list path: replaces.
    Leaf(Value),
    /// A non-empty object: merged field by field.
    Object(Map<String, Value>),
    /// A non-empty array of objects: identifier merge.
    Array(Vec<Value>),
}

impl Incoming {
    #[inline]
    fn classify(value: Value, rule: Option<Rule>) -> Self {
        match rule {
            Some(Rule::Omit) => return Incoming::Nothing,
            Some(Rule::WholeList) => return Incoming::Leaf(value),
            None => {}
        }
        match value {
            Value::Object(map) if map.is_empty() => Incoming::Nothing,
            Value::Array(items) if items.is_empty() => Incoming::Nothing,
            Value::Object(map) => Incoming::Object(map),
            Value::Array(items) if items.iter().all(Value::is_object) => Incoming::Array(items),
            value => Incoming::Leaf(value),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Incoming::Object(_) => "an object",
            Incoming::Array(_) => "an array of objects",
            Incoming::Nothing | Incoming::Leaf(_) => "a literal",
        }
    }
}

fn merge_fields<L: Leaf>(
    out: &mut Fields<L>,
    input: Map<String, Value>,
    rule: RuleId,
    skip: Skip,
    ctx: &mut Ctx<'_>,
) -> Result<(), Conflict> {
    let rules = ctx.rules;
    let node = rules.node(rule);
    let mut hint = 0;
    for (key, value) in input {
        if skip.skips(&key) {
            continue;
        }
        match out.find(&key, hint) {
            Some(i) => {
                hint = i + 1;
                let entry = &mut out.entries[i];
                let rule = entry.rule;
                let incoming = Incoming::classify(value, rules.node(rule).and_then(|n| n.rule));
                merge_existing(&mut entry.node, key, incoming, rule, ctx)?;
            }
            None => {
                let rule = node.map_or(NO_RULES, |n| n.child(&key));
                let incoming = Incoming::classify(value, rules.node(rule).and_then(|n| n.rule));
                if merge_new(out, key, incoming, rule, ctx)? {
                    hint = out.entries.len();
                }
            }
        }
    }
    Ok(())
}

/// A field the output does not have yet; whether it was added.
fn merge_new<L: Leaf>(
    out: &mut Fields<L>,
    key: String,
    incoming: Incoming,
    rule: RuleId,
    ctx: &mut Ctx<'_>,
) -> Result<bool, Conflict> {
    let node = match incoming {
        Incoming::Nothing => return Ok(false),
        Incoming::Leaf(value) => Node::Leaf(L::first(value, ctx.release)),
        container => {
            let before = ctx.pending.len();
            let built = build(container, rule, ctx);
            ctx.name_pending(before, &key);
            match built {
                Ok(Some(node)) => node,
                Ok(None) => return Ok(false),
                Err(conflict) => return Err(conflict.under(key)),
            }
        }
    };
    out.push(key, rule, node);
    Ok(true)
}

/// A field the output has: `key` is the incoming copy, kept for messages only.
fn merge_existing<L: Leaf>(
    node: &mut Node<L>,
    key: String,
    incoming: Incoming,
    rule: RuleId,
    ctx: &mut Ctx<'_>,
) -> Result<(), Conflict> {
    let before = ctx.pending.len();
    let result = match (node, incoming) {
        (_, Incoming::Nothing) => Ok(()),
        (Node::Leaf(leaf), Incoming::Leaf(value)) => {
            leaf.update(value, ctx.release);
            Ok(())
        }
        // A literal where an object or array was merged is dropped, as in the reference.
        (_, Incoming::Leaf(_)) => Ok(()),
        (Node::Object(fields), Incoming::Object(map)) => {
            merge_fields(fields, map, rule, Skip::Nothing, ctx)
        }
        (Node::Array(items), Incoming::Array(values)) => merge_items(items, values, rule, ctx),
        (node, incoming) => replace_or_conflict(node, incoming, rule, ctx),
    };
    ctx.name_pending(before, &key);
    result.map_err(|conflict| conflict.under(key))
}

/// An object or array where the output has a leaf or the other kind of container.
fn replace_or_conflict<L: Leaf>(
    node: &mut Node<L>,
    incoming: Incoming,
    rule: RuleId,
    ctx: &mut Ctx<'_>,
) -> Result<(), Conflict> {
    let current = incoming.kind();
    // Only a value that actually sets something conflicts, as in the reference.
    let Some(built) = build(incoming, rule, ctx)? else {
        return Ok(());
    };
    if matches!(node, Node::Leaf(leaf) if leaf.yields_to_container()) {
        *node = built;
        Ok(())
    } else {
        Err(Conflict {
            segments: Vec::new(),
            previous: node.kind(),
            current,
        })
    }
}

/// A new object or array node; `None` if nothing in it produced a leaf, because containers
/// only exist in the output once something is set inside them (`{"budget": {}}` adds nothing).
fn build<L: Leaf>(
    incoming: Incoming,
    rule: RuleId,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Node<L>>, Conflict> {
    match incoming {
        Incoming::Object(map) => {
            let mut fields = Fields::with_capacity(map.len());
            merge_fields(&mut fields, map, rule, Skip::Nothing, ctx)?;
            Ok((!fields.is_empty()).then_some(Node::Object(fields)))
        }
        Incoming::Array(values) => {
            let mut items = Vec::with_capacity(values.len());
            merge_items(&mut items, values, rule, ctx)?;
            Ok((!items.is_empty()).then_some(Node::Array(items)))
        }
        Incoming::Nothing | Incoming::Leaf(_) => Ok(None),
    }
}

/// Identifier merge of one release's array into the output array. Items' fields take their
/// rules from the array's own rule node: array levels add nothing to rule paths.
fn merge_items<L: Leaf>(
    items: &mut Vec<Item<L>>,
    input: Vec<Value>,
    rule: RuleId,
    ctx: &mut Ctx<'_>,
) -> Result<(), Conflict> {
    let strategy = ctx.rules.node(rule).and_then(|n| n.strategy);
    ctx.stamp = ctx.stamp.wrapping_add(1);
    let stamp = ctx.stamp;
    for (index, value) in input.into_iter().enumerate() {
        let Value::Object(mut map) = value else {
            continue; // callers only pass arrays of objects
        };
        let id = take_id(&mut map);
        let skip = if id.is_some() {
            Skip::Id
        } else {
            Skip::Nothing
        };
        let found = match strategy {
            None => id.as_ref().and_then(|id| find_by_id(items, id, index)),
            Some(Override::MergeByPosition) => items
                .iter()
                .position(|item| item.key == ItemKey::Position(index)),
            Some(Override::Append) => None,
        };
        let result = match found {
            Some(i) => {
                let item = &mut items[i];
                // Overrides exist to repair bad ids, so only plain identifier merge warns.
                if item.stamp == stamp && strategy.is_none() {
                    ctx.pending.push(PendingWarning {
                        release: ctx.release,
                        id: id.clone().unwrap_or_default(),
                        segments: Vec::new(),
                    });
                }
                item.stamp = stamp;
                if item.id.is_none() {
                    item.id = id;
                }
                merge_fields(&mut item.fields, map, rule, skip, ctx)
            }
            None => {
                let key = match strategy {
                    None if id.is_some() => ItemKey::ById,
                    None | Some(Override::Append) => ItemKey::Unique,
                    Some(Override::MergeByPosition) => ItemKey::Position(index),
                };
                let mut item = Item {
                    key,
                    id,
                    stamp,
                    fields: Fields::with_capacity(map.len()),
                };
                let result = merge_fields(&mut item.fields, map, rule, skip, ctx);
                if item.id.is_some() || !item.fields.is_empty() {
                    items.push(item);
                }
                result
            }
        };
        result.map_err(|conflict| conflict.under(index.to_string()))?;
    }
    Ok(())
}

/// Moves the item's `id` out (leaving `null`, which the walk then skips) rather than cloning
/// it: it becomes the output item's plain `id`. A `null` id counts as no id. Found by scanning,
/// not hashing: `id` is almost always the first key.
#[inline]
fn take_id(map: &mut Map<String, Value>) -> Option<Value> {
    map.iter_mut()
        .find(|(key, _)| *key == "id")
        .and_then(|(_, id)| (!id.is_null()).then(|| mem::take(id)))
}

/// The output item with this `id`, trying first the same position as in the release, since
/// cumulative releases usually repeat arrays in the same order.
#[inline]
fn find_by_id<L>(items: &[Item<L>], id: &Value, hint: usize) -> Option<usize> {
    let matches = |item: &Item<L>| {
        item.key == ItemKey::ById && item.id.as_ref().is_some_and(|i| same_id(i, id))
    };
    match items.get(hint) {
        Some(item) if matches(item) => Some(hint),
        _ => items.iter().position(matches),
    }
}

/// `id` equality: type-sensitive (`1` is not `"1"`), except that a non-integer number matches
/// the string of its text (`1.5` matches `"1.5"`), as both reference implementations do.
fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => a.as_str() == b.as_str(),
            _ => false,
        },
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.as_i64().is_none() && n.as_str() == s
        }
        _ => a == b,
    }
}
