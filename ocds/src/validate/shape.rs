//! Checks the JSON Schema cannot express, driven by the schema's own annotations: codelists
//! (`"codelist"`, `"openCodelist"`), additional fields (names not in `properties` or
//! `patternProperties`), deprecated fields, and duplicate `id`s inside arrays of objects.
//!
//! The schemas are compiled once into a graph of [`Shape`]s with `$ref`s resolved (also across
//! documents, by absolute URL) and `oneOf`/`anyOf`/`allOf` branches merged, so checking a
//! release is a single walk with hash lookups.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::Regex;
use serde_json::Value;

use super::Issue;
use super::escape;
use super::schema::codelist_name;

#[derive(Debug, Clone)]
struct Codelist {
    file: String,
    open: bool,
}

/// A named member: its shape, and whether the member itself is deprecated (OCDS puts
/// `deprecated` next to a `$ref`, so it belongs to the field, not to the shared definition).
#[derive(Debug, Clone, Copy)]
struct Field {
    shape: usize,
    deprecated: Option<usize>,
}

#[derive(Debug, Clone, Default)]
struct Shape {
    props: HashMap<String, Field>,
    patterns: Vec<(usize, usize)>,
    items: Option<usize>,
    codelist: Option<Codelist>,
    /// Declares `properties` or `type: object`: unknown members are additional fields.
    object: bool,
}

/// The compiled graph plus the codelists it refers to.
#[derive(Debug)]
pub(crate) struct Shapes {
    nodes: Vec<Shape>,
    regexes: Vec<Regex>,
    /// `deprecatedVersion` texts, referenced by [`Field::deprecated`].
    versions: Vec<String>,
    codelists: BTreeMap<String, BTreeSet<String>>,
    /// Arrays of these shapes are not checked for duplicate ids (the package's `releases`:
    /// releases are identified by (ocid, id), checked separately).
    no_dup_check: Vec<usize>,
    /// Entry points, by name.
    roots: HashMap<String, usize>,
}

#[derive(Default)]
pub(crate) struct Findings {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

struct Builder<'a> {
    docs: &'a HashMap<String, Value>,
    nodes: Vec<Shape>,
    regexes: Vec<Regex>,
    versions: Vec<String>,
    regex_index: HashMap<String, usize>,
    memo: HashMap<(String, String), usize>,
    merge_memo: HashMap<(usize, usize), usize>,
}

impl Shapes {
    /// `docs`: schema documents by id; every `$ref` must resolve inside them. `entries`: (name,
    /// document id, JSON pointer in it) of the nodes [`Shapes::check`] can start from.
    pub fn build(
        docs: &HashMap<String, Value>,
        entries: &[(&str, &str, &str)],
        codelists: BTreeMap<String, BTreeSet<String>>,
    ) -> Result<Shapes, String> {
        let mut b = Builder {
            docs,
            nodes: Vec::new(),
            regexes: Vec::new(),
            versions: Vec::new(),
            regex_index: HashMap::new(),
            memo: HashMap::new(),
            merge_memo: HashMap::new(),
        };
        let mut roots = HashMap::new();
        for (name, doc, pointer) in entries {
            let root = b.resolve(doc, pointer)?;
            roots.insert((*name).to_string(), root);
        }
        let no_dup_check = roots.values().copied().collect();
        Ok(Shapes {
            nodes: b.nodes,
            regexes: b.regexes,
            versions: b.versions,
            codelists,
            roots,
            no_dup_check,
        })
    }

    pub fn codelists(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.codelists
    }

    /// Walk `value` (found at `pointer`) against the entry point `entry`.
    pub fn check(&self, entry: &str, value: &Value, pointer: &str, out: &mut Findings) {
        if let Some(&root) = self.roots.get(entry) {
            let mut ptr = pointer.to_string();
            self.walk(root, value, &mut ptr, out);
        }
    }

    fn walk(&self, shape: usize, value: &Value, ptr: &mut String, out: &mut Findings) {
        let s = &self.nodes[shape];
        if let Some(cl) = &s.codelist {
            self.check_codelist(cl, value, ptr, out);
        }
        match value {
            Value::Object(map) if s.object => {
                for (k, v) in map {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&escape(k));
                    let child = s.props.get(k).copied().or_else(|| {
                        s.patterns
                            .iter()
                            .find(|(re, _)| self.regexes[*re].is_match(k))
                            .map(|&(_, shape)| Field {
                                shape,
                                deprecated: None,
                            })
                    });
                    match child {
                        Some(field) => {
                            if let Some(version) = field.deprecated
                                && !v.is_null()
                            {
                                out.warnings.push(Issue {
                                    pointer: ptr.clone(),
                                    message: format!(
                                        "'{k}' is deprecated (since OCDS {})",
                                        self.versions[version]
                                    ),
                                });
                            }
                            self.walk(field.shape, v, ptr, out);
                        }
                        None => out.warnings.push(Issue {
                            pointer: ptr.clone(),
                            message: format!("additional field '{k}' is not in the schema"),
                        }),
                    }
                    ptr.truncate(len);
                }
            }
            Value::Array(items) => {
                let Some(item_shape) = s.items else { return };
                // Objects in an array are identified by `id` when OCDS merges releases; two with
                // the same id would be merged into one (see user need 9: FTS award ids).
                let by_id = self.nodes[item_shape].props.contains_key("id")
                    && !self.no_dup_check.contains(&item_shape);
                let mut seen: HashMap<String, usize> = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&i.to_string());
                    if by_id && let Some(id) = item.get("id").and_then(id_text) {
                        if let Some(first) = seen.get(&id) {
                            out.warnings.push(Issue {
                                pointer: format!("{ptr}/id"),
                                message: format!(
                                    "duplicate id '{id}' in this array (first at {}/{first}); merging releases would combine these objects",
                                    &ptr[..len]
                                ),
                            });
                        } else {
                            seen.insert(id, i);
                        }
                    }
                    self.walk(item_shape, item, ptr, out);
                    ptr.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn check_codelist(&self, cl: &Codelist, value: &Value, ptr: &str, out: &mut Findings) {
        // A codelist no schema file provides (e.g. from an extension dependency that was not
        // supplied) cannot be checked; that is not the data's fault.
        let Some(codes) = self.codelists.get(&cl.file) else {
            return;
        };
        let mut check = |code: &str, pointer: String| {
            if codes.contains(code) {
                return;
            }
            let name = codelist_name(&cl.file);
            if cl.open {
                out.warnings.push(Issue {
                    pointer,
                    message: format!("'{code}' is not in the open codelist {name}"),
                });
            } else {
                out.errors.push(Issue {
                    pointer,
                    message: format!("'{code}' is not in the closed codelist {name}"),
                });
            }
        };
        match value {
            Value::String(code) => check(code, ptr.to_string()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::String(code) = item {
                        check(code, format!("{ptr}/{i}"));
                    }
                }
            }
            _ => {}
        }
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maximum depth of branch merging; OCDS needs 2 (record `releases`), this only guards
/// against pathological extension schemas.
const MERGE_DEPTH: usize = 16;

impl Builder<'_> {
    /// Shape for the node at `pointer` (a JSON pointer, "" for the root) in document `doc`.
    fn resolve(&mut self, doc: &str, pointer: &str) -> Result<usize, String> {
        let key = (doc.to_string(), pointer.to_string());
        if let Some(&id) = self.memo.get(&key) {
            return Ok(id);
        }
        let docs = self.docs;
        let root = docs
            .get(doc)
            .ok_or_else(|| format!("schema '{doc}' is not available"))?;
        let node = root
            .pointer(pointer)
            .ok_or_else(|| format!("'{doc}#{pointer}' does not exist"))?;
        // Reserve the slot first so recursive references terminate.
        let id = self.nodes.len();
        self.nodes.push(Shape::default());
        self.memo.insert(key, id);
        let shape = self.node(doc, pointer, node)?;
        self.nodes[id] = shape;
        Ok(id)
    }

    fn child(&mut self, doc: &str, pointer: &str, node: &Value) -> Result<usize, String> {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let (target_doc, fragment) = match r.split_once('#') {
                Some(("", frag)) => (doc.to_string(), frag.to_string()),
                Some((d, frag)) => (d.to_string(), frag.to_string()),
                None => (r.to_string(), String::new()),
            };
            return self.resolve(&target_doc, &fragment);
        }
        let id = self.nodes.len();
        self.nodes.push(Shape::default());
        let shape = self.node(doc, pointer, node)?;
        self.nodes[id] = shape;
        Ok(id)
    }

    fn node(&mut self, doc: &str, pointer: &str, node: &Value) -> Result<Shape, String> {
        let mut s = Shape::default();
        if let Some(Value::Object(props)) = node.get("properties") {
            s.object = true;
            for (k, v) in props {
                let p = format!("{pointer}/properties/{}", escape(k));
                let shape = self.child(doc, &p, v)?;
                let deprecated = v.get("deprecated").filter(|d| d.is_object()).map(|d| {
                    let version = d
                        .get("deprecatedVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("an earlier version");
                    self.versions.push(version.to_string());
                    self.versions.len() - 1
                });
                s.props.insert(k.clone(), Field { shape, deprecated });
            }
        }
        if let Some(Value::Object(pats)) = node.get("patternProperties") {
            s.object = true;
            for (pat, v) in pats {
                let re = self.regex(pat)?;
                let p = format!("{pointer}/patternProperties/{}", escape(pat));
                let c = self.child(doc, &p, v)?;
                s.patterns.push((re, c));
            }
        }
        match node.get("type") {
            Some(Value::String(t)) if t == "object" => s.object = true,
            Some(Value::Array(ts)) if ts.iter().any(|t| t == "object") => s.object = true,
            _ => {}
        }
        if let Some(items) = node.get("items").filter(|i| i.is_object()) {
            let p = format!("{pointer}/items");
            s.items = Some(self.child(doc, &p, items)?);
        }
        if let Some(file) = node.get("codelist").and_then(Value::as_str) {
            s.codelist = Some(Codelist {
                file: file.to_string(),
                open: node
                    .get("openCodelist")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            });
        }
        // If a `$ref` sits next to other keywords (draft 4 ignores the siblings), follow it.
        if let Some(r) = node.get("$ref").filter(|r| r.is_string()) {
            let target = self.child(doc, pointer, &serde_json::json!({ "$ref": r }))?;
            self.merge_into(&mut s, target, 0);
        }
        for comb in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = node.get(comb) {
                for (i, branch) in branches.iter().enumerate() {
                    let p = format!("{pointer}/{comb}/{i}");
                    let b = self.child(doc, &p, branch)?;
                    self.merge_into(&mut s, b, 0);
                }
            }
        }
        Ok(s)
    }

    fn regex(&mut self, pattern: &str) -> Result<usize, String> {
        if let Some(&i) = self.regex_index.get(pattern) {
            return Ok(i);
        }
        let re = Regex::new(pattern).map_err(|e| format!("bad patternProperties regex: {e}"))?;
        self.regexes.push(re);
        let i = self.regexes.len() - 1;
        self.regex_index.insert(pattern.to_string(), i);
        Ok(i)
    }

    /// Union of two shapes: a field known to either branch is known.
    fn merge_into(&mut self, s: &mut Shape, other: usize, depth: usize) {
        let o = self.nodes[other].clone();
        s.object |= o.object;
        if s.codelist.is_none() {
            s.codelist = o.codelist;
        }
        s.patterns.extend(o.patterns);
        for (k, theirs) in o.props {
            let field = match s.props.get(&k) {
                Some(&mine) if mine.shape != theirs.shape => Field {
                    shape: self.merged(mine.shape, theirs.shape, depth + 1),
                    deprecated: mine.deprecated.or(theirs.deprecated),
                },
                Some(&mine) => mine,
                None => theirs,
            };
            s.props.insert(k, field);
        }
        s.items = match (s.items, o.items) {
            (Some(a), Some(b)) if a != b => Some(self.merged(a, b, depth + 1)),
            (a, b) => a.or(b),
        };
    }

    fn merged(&mut self, a: usize, b: usize, depth: usize) -> usize {
        if depth > MERGE_DEPTH {
            return a;
        }
        if let Some(&m) = self.merge_memo.get(&(a, b)) {
            return m;
        }
        let id = self.nodes.len();
        self.nodes.push(Shape::default());
        self.merge_memo.insert((a, b), id);
        let mut s = self.nodes[a].clone();
        self.merge_into(&mut s, b, depth);
        self.nodes[id] = s;
        id
    }
}
