//! Record compilation: merging the releases of one contracting process into a compiled release
//! (its current state) and a versioned release (its history), per the OCDS 1.1 merging
//! specification and the behaviour of the reference implementations (`ocdsmerge` 0.8.0 and
//! `ocdsmerge-rs` 0.1.6), which the conformance fixtures in `tests/fixtures/ocds-merge` pin down.
//!
//! ```
//! use ocds::merge::{compile, MergeRules};
//! use serde_json::json;
//!
//! let schema = json!({"properties": {
//!     "id": {"type": "string", "omitWhenMerged": true},
//!     "date": {"type": "string", "omitWhenMerged": true},
//!     "tag": {"type": "array", "items": {"type": "string"}, "omitWhenMerged": true},
//! }});
//! let rules = MergeRules::from_schema(&schema)?;
//! let releases = vec![
//!     json!({"ocid": "ocds-1", "id": "2", "date": "2024-02-01T00:00:00Z", "title": "B"}),
//!     json!({"ocid": "ocds-1", "id": "1", "date": "2024-01-01T00:00:00Z", "title": "A", "x": 1}),
//! ];
//! let merged = compile(&rules, releases)?;
//! assert_eq!(merged.release["title"], "B");
//! assert_eq!(merged.release["x"], 1);
//! assert_eq!(merged.release["id"], "ocds-1-2024-02-01T00:00:00Z");
//! assert!(merged.warnings.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two levels of API. [`compile`], [`compile_versioned`] and [`compile_record`] return
//! `serde_json::Value`s, which is convenient for tests and small jobs. [`merge_compiled`] and
//! [`merge_record`] return the merged tree, which implements (or gives views implementing)
//! `Serialize`: writing JSON from it skips building a `Value` map per object and per versioned
//! value, the fast path for bulk compilation. Rules are built once per schema with
//! [`MergeRules::from_schema`] and shared.
//!
//! Decisions where the specification leaves room or the references disagree:
//!
//! - Releases are sorted by `date` compared as strings, stably, so input order does not matter
//!   (a late-arriving older release lands where it belongs) except that equal dates keep
//!   arrival order, the later arrival winning. Equal dates on releases that are not identical
//!   raise [`WarningKind::RepeatedDateValue`]; identical copies (a re-sent release) merge the
//!   same in any order, so they do not (the override fixtures merge a release with itself).
//! - `id` matching is type-sensitive (`1` is not `"1"`); `"id": null` counts as no `id`, so
//!   the item is appended (the Python reference merges all null-id items into one).
//! - The release metadata (`ocid`, `id`, `date`, `tag`) is never merged as data, whatever the
//!   schema says (OCDS 1.0 marks `ocid` as omitted, pre-1.1.4 schemas do not omit `tag`).
//! - A type change that the reference sometimes accepts only by accident of its flattened key
//!   order is applied as the specification states: a literal (including an array of literals)
//!   followed by an object or array of objects fails with [`MergeError::InconsistentType`],
//!   the reverse silently keeps the object; a versioned release also fails where the
//!   reference would emit a malformed mixed array.
//! - On a path with an [`Override`], duplicate `id`s are not reported: the override is the
//!   repair.
//!
//! On realistic data (the synthetic UK dataset of `shared/tools/gen_ocds.py`) the output is
//! byte-identical to `ocdsmerge` 0.8.0's, key order included.

mod error;
mod output;
mod rules;
mod tree;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

pub use error::{MergeError, MergeWarning, ReleaseRef, SchemaError, WarningKind};
pub use rules::{MergeRules, Override, Rule};

use error::kind_of;
use output::{Header, Latest, ObjectSer, ReleaseMeta, Versions};
use tree::{Ctx, Fields, History, Leaf, PendingWarning};

/// One merged release as a `Value`, and the data-quality warnings raised while merging.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The compiled or versioned release.
    pub release: Value,
    /// Warnings in the order found: date warnings first, then by release in date order.
    pub warnings: Vec<MergeWarning>,
}

/// Both merged releases of a record as `Value`s, from one pass over the releases.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedRecord {
    /// The compiled release.
    pub compiled: Value,
    /// The versioned release.
    pub versioned: Value,
    /// Warnings, as in [`Merged::warnings`].
    pub warnings: Vec<MergeWarning>,
}

/// Merges the releases of one contracting process into its compiled release.
///
/// Takes the releases by value so their strings and arrays move into the output instead of
/// being copied. Releases may arrive in any order: they are sorted by `date` (as strings,
/// stably), so a late-arriving older release lands where it belongs.
///
/// This builds a `Value`; to write JSON, [`merge_compiled`] and serialising the result is
/// faster.
///
/// # Errors
///
/// [`MergeError`] if there are no releases, a release is not an object, (with two or more
/// releases) a `date` is missing, null or not a string, or a path changes type incompatibly.
pub fn compile(rules: &MergeRules, releases: Vec<Value>) -> Result<Merged, MergeError> {
    let mut compiled = merge_compiled(rules, releases)?;
    let warnings = std::mem::take(&mut compiled.warnings);
    Ok(Merged {
        release: compiled.into_value(),
        warnings,
    })
}

/// Merges the releases of one contracting process into its versioned release.
///
/// # Errors
///
/// As [`compile`], and also when a field that held a literal or `null` later holds an object
/// or an array of objects: a history cannot also be an object (the references fail the same
/// way for objects, and silently emit a malformed mixed array for arrays).
pub fn compile_versioned(rules: &MergeRules, releases: Vec<Value>) -> Result<Merged, MergeError> {
    let mut record = merge_record(rules, releases)?;
    let warnings = std::mem::take(&mut record.warnings);
    Ok(Merged {
        release: record.into_versioned_value(),
        warnings,
    })
}

/// Merges the releases of one contracting process into both its compiled and its versioned
/// release in one walk, cheaper than [`compile`] plus [`compile_versioned`] because the
/// releases are traversed and moved once (the compiled release copies the latest values).
///
/// # Errors
///
/// As [`compile_versioned`]: a record fails if either of its releases cannot be built.
pub fn compile_record(
    rules: &MergeRules,
    releases: Vec<Value>,
) -> Result<MergedRecord, MergeError> {
    let mut record = merge_record(rules, releases)?;
    let warnings = std::mem::take(&mut record.warnings);
    let compiled = record.compiled_value();
    Ok(MergedRecord {
        compiled,
        versioned: record.into_versioned_value(),
        warnings,
    })
}

/// Merges the releases of one contracting process, keeping the latest values only: the fast
/// path to a compiled release. Serialise it (it implements [`Serialize`]) to write JSON
/// straight from the merged tree, or call [`CompiledRelease::into_value`].
///
/// # Errors
///
/// As [`compile`].
pub fn merge_compiled(
    rules: &MergeRules,
    releases: Vec<Value>,
) -> Result<CompiledRelease, MergeError> {
    let mut run = run::<Value>(rules, releases)?;
    let last = run.metas.pop().ok_or(MergeError::NoReleases)?;
    Ok(CompiledRelease {
        root: run.root,
        last,
        warnings: run.warnings,
    })
}

/// Merges the releases of one contracting process, keeping every version: the fast path to a
/// record, whose compiled and versioned releases can both be serialised from it
/// ([`Record::compiled`], [`Record::versioned`]) without building `Value`s.
///
/// # Errors
///
/// As [`compile_versioned`].
pub fn merge_record(rules: &MergeRules, releases: Vec<Value>) -> Result<Record, MergeError> {
    let run = run::<History>(rules, releases)?;
    if run.metas.is_empty() {
        return Err(MergeError::NoReleases);
    }
    Ok(Record {
        root: run.root,
        metas: run.metas,
        warnings: run.warnings,
    })
}

/// A merged compiled release, serialisable as JSON without an intermediate `Value`.
#[derive(Debug)]
pub struct CompiledRelease {
    root: Fields<Value>,
    last: ReleaseMeta,
    /// Warnings raised while merging.
    pub warnings: Vec<MergeWarning>,
}

impl CompiledRelease {
    /// The compiled release as a `Value` (moves the merged values, no copies).
    #[must_use]
    pub fn into_value(self) -> Value {
        let mut release = output::compiled_header(&self.last, self.root.entries.len());
        output::write_fields(self.root, &mut release, &mut output::compiled_leaf);
        Value::Object(release)
    }
}

impl Serialize for CompiledRelease {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ObjectSer {
            header: Header::Compiled(&self.last),
            fields: &self.root,
            writer: &Latest,
        }
        .serialize(serializer)
    }
}

/// The merged history of one contracting process: both its compiled and versioned release.
#[derive(Debug)]
pub struct Record {
    root: Fields<History>,
    /// Never empty (checked by [`merge_record`]).
    metas: Vec<ReleaseMeta>,
    /// Warnings raised while merging.
    pub warnings: Vec<MergeWarning>,
}

impl Record {
    fn last(&self) -> &ReleaseMeta {
        static NONE: ReleaseMeta = ReleaseMeta {
            arrival: 0,
            ocid: Value::Null,
            id: Value::Null,
            date: Value::Null,
            tag: Value::Null,
        };
        self.metas.last().unwrap_or(&NONE)
    }

    /// The compiled release, to serialise.
    #[must_use]
    pub fn compiled(&self) -> CompiledView<'_> {
        CompiledView(self)
    }

    /// The versioned release, to serialise.
    #[must_use]
    pub fn versioned(&self) -> VersionedView<'_> {
        VersionedView(self)
    }

    /// The compiled release as a `Value` (copies the latest values).
    #[must_use]
    pub fn compiled_value(&self) -> Value {
        let mut release = output::compiled_header(self.last(), self.root.entries.len());
        output::write_fields_ref(
            &self.root,
            &mut release,
            &mut output::compiled_leaf_of_history,
        );
        Value::Object(release)
    }

    /// The versioned release as a `Value` (moves the merged values).
    #[must_use]
    pub fn into_versioned_value(self) -> Value {
        let mut release = output::versioned_header(self.last(), self.root.entries.len());
        let metas = &self.metas;
        output::write_fields(self.root, &mut release, &mut |history| {
            Some(output::versioned_leaf(history, metas))
        });
        Value::Object(release)
    }
}

/// The compiled release of a [`Record`], serialised straight from the merged tree.
#[derive(Debug, Clone, Copy)]
pub struct CompiledView<'a>(&'a Record);

impl Serialize for CompiledView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ObjectSer {
            header: Header::Compiled(self.0.last()),
            fields: &self.0.root,
            writer: &Latest,
        }
        .serialize(serializer)
    }
}

/// The versioned release of a [`Record`], serialised straight from the merged tree.
#[derive(Debug, Clone, Copy)]
pub struct VersionedView<'a>(&'a Record);

impl Serialize for VersionedView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ObjectSer {
            header: Header::Versioned(self.0.last()),
            fields: &self.0.root,
            writer: &Versions(&self.0.metas),
        }
        .serialize(serializer)
    }
}

/// The merged tree of one run, before it is written out.
struct Run<L> {
    root: Fields<L>,
    metas: Vec<ReleaseMeta>,
    warnings: Vec<MergeWarning>,
}

fn run<L: Leaf>(rules: &MergeRules, releases: Vec<Value>) -> Result<Run<L>, MergeError> {
    let (sorted, mut warnings) = prepare(releases)?;
    let mut root = Fields::with_capacity(sorted.first().map_or(0, |(_, r)| r.len()));
    let mut metas = Vec::with_capacity(sorted.len());
    let mut ctx = Ctx::new(rules);
    for (number, (arrival, mut release)) in sorted.into_iter().enumerate() {
        let meta = ReleaseMeta::take(&mut release, arrival);
        ctx.release = u32::try_from(number).unwrap_or(u32::MAX);
        let result = tree::merge_release(&mut root, release, &mut ctx);
        if let Err(conflict) = result {
            let mut segments = conflict.segments;
            segments.reverse();
            return Err(MergeError::InconsistentType {
                release: ReleaseRef::new(arrival, &meta.id),
                pointer: pointer(&segments),
                previous: conflict.previous,
                current: conflict.current,
            });
        }
        metas.push(meta);
    }
    warnings.extend(
        ctx.pending
            .into_iter()
            .map(|pending| duplicate_id_warning(pending, &metas)),
    );
    Ok(Run {
        root,
        metas,
        warnings,
    })
}

/// Releases in merge order, each with its position in the caller's input.
type Sorted = Vec<(usize, Map<String, Value>)>;

/// Checks the releases and sorts them by date.
fn prepare(releases: Vec<Value>) -> Result<(Sorted, Vec<MergeWarning>), MergeError> {
    if releases.is_empty() {
        return Err(MergeError::NoReleases);
    }
    let check_dates = releases.len() > 1;
    let mut sorted = Vec::with_capacity(releases.len());
    for (index, release) in releases.into_iter().enumerate() {
        let Value::Object(release) = release else {
            return Err(MergeError::NonObjectRelease {
                release: ReleaseRef { index, id: None },
                found: kind_of(&release),
            });
        };
        if check_dates {
            check_date(index, &release)?;
        }
        sorted.push((index, release));
    }
    fn date(release: &Map<String, Value>) -> Option<&str> {
        field(release, "date").and_then(Value::as_str)
    }
    // Stable, so equal dates keep arrival order (the later arrival wins), as in `ocdsmerge`.
    if !sorted.is_sorted_by(|a, b| date(&a.1) <= date(&b.1)) {
        sorted.sort_by(|a, b| date(&a.1).cmp(&date(&b.1)));
    }
    let warnings = sorted
        .windows(2)
        .filter(|pair| date(&pair[0].1) == date(&pair[1].1))
        // Identical copies (a re-sent release) merge the same in either order: nothing to say.
        .filter(|pair| pair[0].1 != pair[1].1)
        .map(|pair| repeated_date_warning(&pair[0], &pair[1]))
        .collect();
    Ok((sorted, warnings))
}

fn check_date(index: usize, release: &Map<String, Value>) -> Result<(), MergeError> {
    let reference = || ReleaseRef::new(index, release.get("id").unwrap_or(&Value::Null));
    match field(release, "date") {
        Some(Value::String(_)) => Ok(()),
        None => Err(MergeError::MissingDateKey {
            release: reference(),
        }),
        Some(Value::Null) => Err(MergeError::NullDateValue {
            release: reference(),
        }),
        Some(other) => Err(MergeError::NonStringDateValue {
            release: reference(),
            found: kind_of(other),
        }),
    }
}

fn repeated_date_warning(
    earlier: &(usize, Map<String, Value>),
    later: &(usize, Map<String, Value>),
) -> MergeWarning {
    let reference = |(index, release): &(usize, Map<String, Value>)| {
        ReleaseRef::new(*index, release.get("id").unwrap_or(&Value::Null))
    };
    let (first, second) = (reference(earlier), reference(later));
    let date = later.1.get("date").and_then(Value::as_str).unwrap_or("");
    MergeWarning {
        kind: WarningKind::RepeatedDateValue,
        path: "date".to_owned(),
        message: format!(
            "{second} has the same `date` ({date}) as {first} but different content: it was \
             merged after it because it arrived later, so its values win"
        ),
        release: second,
    }
}

fn duplicate_id_warning(mut pending: PendingWarning, metas: &[ReleaseMeta]) -> MergeWarning {
    pending.segments.reverse();
    let path = pending.segments.join(".");
    let release = metas
        .get(pending.release as usize)
        .map_or(ReleaseRef { index: 0, id: None }, |meta| {
            ReleaseRef::new(meta.arrival, &meta.id)
        });
    MergeWarning {
        kind: WarningKind::DuplicateIdValue,
        message: format!(
            "{release} has several objects with the `id` value {} in the `{path}` array; they \
             were merged into one",
            pending.id
        ),
        path,
        release,
    }
}

/// A top-level field found by scanning: for a release's dozen keys, with the metadata first,
/// cheaper than hashing the key.
fn field<'a>(release: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    release.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// JSON Pointer from segments (RFC 6901 escaping).
fn pointer(segments: &[String]) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        out.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    out
}

#[cfg(test)]
mod tests;
