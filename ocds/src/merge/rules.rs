//! Merge rules derived from a release schema.
//!
//! Rules are never hard-coded: extensions add arrays of objects without `id` (which must be
//! replaced whole) and older schema versions use other keywords, so the only correct source is
//! the (extension-patched) release schema the data was published against.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::SchemaError;

/// How a path is merged, when the data alone does not decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// `omitWhenMerged` (1.0: `mergeStrategy: ocdsOmit`): release metadata that means nothing in
    /// a merged release, so the field is dropped.
    Omit,
    /// `wholeListMerge` (1.0: `mergeStrategy: ocdsVersion`), or an array whose items are not
    /// objects with an `id`: items cannot be matched, so the newest array replaces the old one.
    WholeList,
}

/// Per-path replacement for identifier merge, to repair publisher data whose `id`s are wrong
/// (OCDS merging spec section 6; `ocdsmerge`'s `APPEND` and `MERGE_BY_POSITION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Override {
    /// Every item of every release is appended; `id`s are ignored for matching (but kept).
    Append,
    /// The n-th item of each release merges into the n-th item; `id`s are ignored for matching.
    MergeByPosition,
}

/// One level of the rule tree: the rule for this path and the levels below it, keyed by property
/// name. A tree (not a map of dotted paths) so the merge walks it alongside the data and looks a
/// field up by borrowing its key, without building or hashing a path string. The merge reads
/// it flattened into an arena ([`ArenaNode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RuleNode {
    rule: Option<Rule>,
    strategy: Option<Override>,
    /// Sorted by key, for binary search; only paths that lead to a rule or override are kept, so
    /// most data fields find no child and their whole subtree is merged by the data-driven rules.
    children: Vec<(Box<str>, RuleNode)>,
}

impl RuleNode {
    /// The rules for property `key` below this level.
    fn child(&self, key: &str) -> Option<&RuleNode> {
        self.children
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &self.children[i].1)
    }

    fn child_mut(&mut self, key: &str) -> &mut RuleNode {
        let i = match self.children.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (key.into(), RuleNode::default()));
                i
            }
        };
        &mut self.children[i].1
    }

    fn is_empty(&self) -> bool {
        self.rule.is_none() && self.strategy.is_none() && self.children.is_empty()
    }

    fn collect(&self, path: &mut Vec<String>, out: &mut Vec<(String, Rule)>) {
        if let Some(rule) = self.rule {
            out.push((path.join("."), rule));
        }
        for (key, child) in &self.children {
            path.push(key.to_string());
            child.collect(path, out);
            path.pop();
        }
    }
}

/// Index of a node in [`MergeRules`]' arena; [`NO_RULES`] for a path with no rules below it.
pub(crate) type RuleId = u32;

/// A path with no rule and no rules below it: the data alone decides.
pub(crate) const NO_RULES: RuleId = RuleId::MAX;

/// A rule-tree node as the merge reads it: children are arena indices, so the output tree can
/// remember each field's rule as a plain integer and skip the lookup when later releases
/// repeat the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArenaNode {
    pub(crate) rule: Option<Rule>,
    pub(crate) strategy: Option<Override>,
    children: Vec<(Box<str>, RuleId)>,
}

impl ArenaNode {
    /// Linear, comparing lengths first: a level has a handful of children, and this beats
    /// hashing or a binary search's full string comparisons.
    #[inline]
    pub(crate) fn child(&self, key: &str) -> RuleId {
        self.children
            .iter()
            .find(|(k, _)| k.len() == key.len() && &**k == key)
            .map_or(NO_RULES, |(_, id)| *id)
    }
}

/// The merge rules of one release schema, plus any per-path [`Override`]s.
///
/// Build once per schema and share: deriving walks the whole schema, merging only reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRules {
    /// The rules as built, keyed by property name: for construction and inspection.
    root: RuleNode,
    /// The same tree flattened for the merge; `arena[0]` is the root.
    arena: Vec<ArenaNode>,
    count: usize,
}

impl Default for MergeRules {
    fn default() -> Self {
        Self::new(RuleNode::default(), 0)
    }
}

impl MergeRules {
    fn new(root: RuleNode, count: usize) -> Self {
        let mut arena = Vec::new();
        flatten(&root, &mut arena);
        Self { root, arena, count }
    }

    /// The root of the arena.
    pub(crate) fn root(&self) -> RuleId {
        0
    }

    #[inline]
    pub(crate) fn node(&self, id: RuleId) -> Option<&ArenaNode> {
        self.arena.get(id as usize)
    }

    /// No rules at all: every path follows the data-driven rules (literals replace, arrays of
    /// objects are merged by `id`). Useful for tests and for data with no known schema.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Derives the rules from a release schema (OCDS 1.0 or 1.1, plain or dereferenced).
    ///
    /// Internal references `#/...` are followed as `jsonref` does (the referenced schema
    /// replaces the referring object; sibling keywords are ignored), and a reference already
    /// being expanded on the current path is treated as an empty schema, so recursive
    /// definitions terminate.
    ///
    /// # Errors
    ///
    /// [`SchemaError`] if the schema is not an object, has no `properties`, or has a `$ref` that
    /// is external or points at nothing.
    pub fn from_schema(schema: &Value) -> Result<Self, SchemaError> {
        let Value::Object(_) = schema else {
            return Err(SchemaError::NotAnObject { at: String::new() });
        };
        let mut expanding = Vec::new();
        let resolved = resolve(schema, schema, &mut expanding, "")?;
        let properties = resolved
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .ok_or(SchemaError::NoProperties)?;
        let mut root = RuleNode::default();
        let mut walker = Walker {
            root: schema,
            expanding,
            count: 0,
        };
        walker.properties(properties, &mut root, "/properties")?;
        Ok(Self::new(root, walker.count))
    }

    /// Adds an [`Override`] for the identifier-merged array at `path` (property names only,
    /// e.g. `&["awards", "items"]`), replacing any earlier override there.
    #[must_use]
    pub fn with_override(mut self, path: &[&str], strategy: Override) -> Self {
        let mut node = &mut self.root;
        for key in path {
            node = node.child_mut(key);
        }
        node.strategy = Some(strategy);
        Self::new(self.root, self.count)
    }

    /// Number of paths with a [`Rule`] (overrides not counted).
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no path has a [`Rule`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The rule at a path of property names, if any.
    #[must_use]
    pub fn get(&self, path: &[&str]) -> Option<Rule> {
        let mut node = &self.root;
        for key in path {
            node = node.child(key)?;
        }
        node.rule
    }

    /// Every rule as (dotted path, rule), sorted by path: for inspection and tests.
    #[must_use]
    pub fn to_list(&self) -> Vec<(String, Rule)> {
        let mut out = Vec::with_capacity(self.count);
        self.root.collect(&mut Vec::new(), &mut out);
        out
    }
}

fn flatten(node: &RuleNode, arena: &mut Vec<ArenaNode>) -> RuleId {
    let id = arena.len();
    arena.push(ArenaNode {
        rule: node.rule,
        strategy: node.strategy,
        children: Vec::new(),
    });
    let children = node
        .children
        .iter()
        .map(|(key, child)| (key.clone(), flatten(child, arena)))
        .collect();
    arena[id].children = children;
    RuleId::try_from(id).unwrap_or(NO_RULES)
}

struct Walker<'s> {
    root: &'s Value,
    /// References being expanded on the current schema path: the recursion guard.
    expanding: Vec<&'s str>,
    count: usize,
}

impl<'s> Walker<'s> {
    fn properties(
        &mut self,
        properties: &'s Map<String, Value>,
        node: &mut RuleNode,
        at: &str,
    ) -> Result<(), SchemaError> {
        // Collected in a BTreeMap, then flattened into the sorted Vec that lookups binary-search.
        let mut children = BTreeMap::new();
        for (name, subschema) in properties {
            let at = format!("{at}/{}", escape(name));
            let mut child = RuleNode::default();
            let depth = self.expanding.len();
            if let Some(subschema) = resolve(self.root, subschema, &mut self.expanding, &at)? {
                self.property(subschema, &mut child, &at)?;
            }
            self.expanding.truncate(depth);
            if !child.is_empty() {
                children.insert(Box::<str>::from(name.as_str()), child);
            }
        }
        node.children = children.into_iter().collect();
        Ok(())
    }

    /// One property: first matching rule wins (spec section 2).
    fn property(
        &mut self,
        schema: &'s Value,
        node: &mut RuleNode,
        at: &str,
    ) -> Result<(), SchemaError> {
        let types = Types::of(schema);
        let keyword = |name: &str| schema.get(name);
        if keyword("omitWhenMerged") == Some(&Value::Bool(true))
            || keyword("mergeStrategy").and_then(Value::as_str) == Some("ocdsOmit")
        {
            self.set(node, Rule::Omit);
            return Ok(());
        }
        if types.array
            && (keyword("wholeListMerge") == Some(&Value::Bool(true))
                || keyword("mergeStrategy").and_then(Value::as_str) == Some("ocdsVersion"))
        {
            self.set(node, Rule::WholeList);
            return Ok(());
        }
        if types.object
            && let Some(properties) = keyword("properties")
        {
            return match properties {
                Value::Object(properties) => {
                    self.properties(properties, node, &format!("{at}/properties"))
                }
                _ => Ok(()),
            };
        }
        if types.array
            && let Some(items) = keyword("items")
        {
            let at = format!("{at}/items");
            let depth = self.expanding.len();
            let result = match resolve(self.root, items, &mut self.expanding, &at)? {
                Some(items) => self.items(items, node, &at),
                None => Ok(()),
            };
            self.expanding.truncate(depth);
            return result;
        }
        Ok(())
    }

    fn items(
        &mut self,
        items: &'s Value,
        node: &mut RuleNode,
        at: &str,
    ) -> Result<(), SchemaError> {
        let types = Types::of(items);
        if types.non_object {
            self.set(node, Rule::WholeList);
        } else if types.object
            && let Some(Value::Object(properties)) = items.get("properties")
        {
            if properties.contains_key("id") {
                self.properties(properties, node, &format!("{at}/properties"))?;
            } else {
                self.set(node, Rule::WholeList);
            }
        }
        Ok(())
    }

    fn set(&mut self, node: &mut RuleNode, rule: Rule) {
        node.rule = Some(rule);
        self.count += 1;
    }
}

/// The `type` keyword, as a string or an array of strings (anything else counts as "not
/// object", as in the reference implementations).
struct Types {
    object: bool,
    array: bool,
    /// Some listed type is not `object`: array items of that schema are literals.
    non_object: bool,
}

impl Types {
    fn of(schema: &Value) -> Self {
        let mut types = Types {
            object: false,
            array: false,
            non_object: false,
        };
        let mut add = |t: &Value| match t.as_str() {
            Some("object") => types.object = true,
            Some("array") => {
                types.array = true;
                types.non_object = true;
            }
            _ => types.non_object = true,
        };
        match schema.get("type") {
            Some(Value::Array(list)) => list.iter().for_each(&mut add),
            Some(t @ Value::String(_)) => add(t),
            _ => {}
        }
        types
    }
}

/// Follows `$ref` chains to the schema they name. `None` means the reference is already being
/// expanded on this path (a recursive definition), which stops the walk there.
fn resolve<'s>(
    root: &'s Value,
    mut schema: &'s Value,
    expanding: &mut Vec<&'s str>,
    at: &str,
) -> Result<Option<&'s Value>, SchemaError> {
    while let Some(reference) = schema.get("$ref") {
        let Some(reference) = reference.as_str() else {
            return Err(SchemaError::UnresolvedRef {
                reference: reference.to_string(),
                at: at.to_owned(),
            });
        };
        if expanding.contains(&reference) {
            return Ok(None);
        }
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .ok_or_else(|| SchemaError::UnresolvedRef {
                reference: reference.to_owned(),
                at: at.to_owned(),
            })?;
        expanding.push(reference);
        schema = target;
    }
    Ok(Some(schema))
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}
