//! Errors and warnings of the merge, as values the caller decides what to do with.
//!
//! The library never prints: a register compiling thousands of records wants warnings attached
//! to the record they concern (to store, count or show), not interleaved on stderr.

use std::fmt;

use serde_json::Value;

/// Which input release an error or warning is about.
///
/// `index` is the position in the caller's input (arrival order), not in date order, because
/// that is what the caller can look up; `id` is the release's own `id` when it has one, because
/// that is what a publisher can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRef {
    /// Position of the release in the input given to the merge.
    pub index: usize,
    /// The release's `id` (JSON text if it was not a string), if present and not null.
    pub id: Option<String>,
}

impl ReleaseRef {
    pub(crate) fn new(index: usize, id: &Value) -> Self {
        let id = match id {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        Self { index, id }
    }
}

impl fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "release #{} (id {id:?})", self.index),
            None => write!(f, "release #{} (no id)", self.index),
        }
    }
}

/// Why releases could not be merged. Each variant names the offending release, so a failure
/// in a bulk compile can be traced back to the publisher's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// Nothing to merge: a compiled release needs at least one release for its `ocid`.
    NoReleases,
    /// The release is not a JSON object, so it has no fields to merge.
    NonObjectRelease {
        /// The offending release.
        release: ReleaseRef,
        /// The JSON type found instead (`"array"`, `"string"`, ...).
        found: &'static str,
    },
    /// With two or more releases, merge order comes from `date`, and this release has none.
    MissingDateKey {
        /// The offending release.
        release: ReleaseRef,
    },
    /// With two or more releases, merge order comes from `date`, and this one is `null`.
    NullDateValue {
        /// The offending release.
        release: ReleaseRef,
    },
    /// With two or more releases, merge order comes from `date` compared as strings, and this
    /// one is not a string.
    NonStringDateValue {
        /// The offending release.
        release: ReleaseRef,
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A path held one kind of value in an earlier release and an incompatible kind in this
    /// one (a literal then an object, an object then an identifier-merged array, ...). The two
    /// cannot be combined without losing data, so the whole record fails rather than guess.
    InconsistentType {
        /// The release that brought the incompatible value.
        release: ReleaseRef,
        /// JSON Pointer to the value inside that release (array positions are that release's).
        pointer: String,
        /// What the merged output held there, e.g. `"a string"`.
        previous: &'static str,
        /// What the release tried to merge there, e.g. `"an object"`.
        current: &'static str,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoReleases => write!(f, "no releases to merge"),
            Self::NonObjectRelease { release, found } => {
                write!(f, "{release} is {found}, not a JSON object")
            }
            Self::MissingDateKey { release } => write!(
                f,
                "{release} has no `date`; releases are merged in date order, so every release \
                 needs one when merging two or more"
            ),
            Self::NullDateValue { release } => write!(
                f,
                "{release} has a null `date`; releases are merged in date order, so every release \
                 needs one when merging two or more"
            ),
            Self::NonStringDateValue { release, found } => write!(
                f,
                "{release} has {found} as `date`; dates are compared as strings, so they must be \
                 strings"
            ),
            Self::InconsistentType {
                release,
                pointer,
                previous,
                current,
            } => write!(
                f,
                "{release} has {current} at {pointer}, but an earlier release had {previous} there"
            ),
        }
    }
}

impl std::error::Error for MergeError {}

/// Why merge rules could not be derived from a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// The schema (or the value at `at`) is not a JSON object.
    NotAnObject {
        /// JSON Pointer into the schema.
        at: String,
    },
    /// The schema has no top-level `properties` object, so there is nothing to derive rules from.
    NoProperties,
    /// A `$ref` is not of the internal form `#/...` or points at nothing.
    UnresolvedRef {
        /// The reference as written.
        reference: String,
        /// JSON Pointer into the schema where the reference was met.
        at: String,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject { at } => write!(f, "release schema at {at:?} is not a JSON object"),
            Self::NoProperties => write!(f, "release schema has no top-level `properties` object"),
            Self::UnresolvedRef { reference, at } => write!(
                f,
                "release schema has `$ref` {reference:?} at {at:?} that does not resolve to an \
                 internal definition (only `#/...` references are supported; dereference external \
                 ones first)"
            ),
        }
    }
}

impl std::error::Error for SchemaError {}

/// The kind of a [`MergeWarning`], for callers that count or filter warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// Two objects with the same `id` in one identifier-merged array of one release: they were
    /// merged into one output object (later fields win), which is rarely what the publisher
    /// meant.
    DuplicateIdValue,
    /// Two different releases have the same `date`: their merge order, and so which value wins,
    /// depends on arrival order.
    RepeatedDateValue,
}

/// A data-quality problem that did not stop the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeWarning {
    /// What kind of problem.
    pub kind: WarningKind,
    /// Dotted path of property names (array levels add nothing, as in merge-rule paths), e.g.
    /// `awards.items` or `date`.
    pub path: String,
    /// The release in which the problem was seen.
    pub release: ReleaseRef,
    /// Human-readable explanation, naming the release, path and value.
    pub message: String,
}

impl fmt::Display for MergeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Name of a JSON value's type, with an article, for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
