//! Validation of OCDS 1.1.5 releases, release packages and record packages.
//!
//! Two layers, one [`Report`]:
//!
//! 1. **JSON Schema** (draft 4, the `jsonschema` crate) against the embedded OCDS 1.1.5 schemas,
//!    registered offline under their `https://standard.open-contracting.org/schema/1__1__5/...`
//!    ids. `date-time` is checked strictly as RFC 3339 (real calendar dates, an offset or `Z`
//!    required); `uri` by jsonschema. Schema violations are **errors**.
//! 2. **Checks the schema cannot express**, driven by the schema's own annotations:
//!    * codelists: every field carrying `"codelist"` is checked against the codelist CSV
//!      (with extension codelists applied). Closed (`"openCodelist": false`) → **error**
//!      `'foo' is not in the closed codelist tenderStatus`; open → **warning**.
//!    * additional fields (not in `properties`/`patternProperties`) → **warning** at the field.
//!      Only the outermost unknown field is reported, not its children.
//!    * deprecated fields in use → **warning**.
//!    * duplicate `id` among the objects of one array inside a release (awards, contracts,
//!      parties...) → **warning**: merging releases would combine them (user need 9).
//!    * `ocid` must start with a registered prefix, `ocds-` + 6 letters or digits + `-`, and
//!      have something after it → **error**.
//!    * releases must be unique by (`ocid`, `id`) within a package → **error** at the second
//!      occurrence's `id`; records unique by `ocid` → **error**; a record's embedded releases
//!      must carry the record's `ocid` → **error**.
//!
//! Pointers are RFC 6901 JSON pointers into the validated document. A missing required field
//! is reported at the pointer where it should be (e.g. `/releases/3/ocid`). Issues are sorted by
//! pointer (array indexes compared as numbers) then message, without duplicates.
//!
//! Validators are compiled once: [`Schema::core`] lazily, [`Schema::with_extensions`] when
//! called; keep and reuse the returned [`Schema`].
//!
//! ```
//! use ocds::validate::{self, Schema};
//! let release = serde_json::json!({"ocid": "ocds-b5fd17-1", "id": "1", "date": "2026-13-01",
//!     "tag": ["tender"], "initiationType": "tender", "tender": {"id": "t", "status": "foo"}});
//! let report = validate::validate(&release); // = Schema::core().validate(&release)
//! assert_eq!(report.errors[0].pointer, "/date");
//! assert_eq!(report.errors[1].message, "'foo' is not in the closed codelist tenderStatus");
//! ```
//!
//! Record packages: each element of `records[].releases` is validated as a linked release
//! (`{url, date, tag}`: an object with `url` and no `id`, the same rule as [`crate::read`]) or
//! as a release, so messages come from the right schema instead of an opaque `oneOf` failure.
//! Extension patches apply to the release schema (and so to packages' releases and
//! `compiledRelease`), not to the versioned release schema.

mod datetime;
mod messages;
mod schema;
mod shape;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

use schema::{
    RECORD_PACKAGE_ID, RECORD_PACKAGE_SCHEMA, RELEASE_ID, RELEASE_PACKAGE_ID,
    RELEASE_PACKAGE_SCHEMA, RELEASE_SCHEMA, VERSIONED_ID, VERSIONED_SCHEMA,
};
use shape::{Findings, Shapes};

/// One problem, located by an RFC 6901 JSON pointer into the validated document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issue {
    /// Where: `""` is the document itself, `/releases/0/tender/status` a field.
    pub pointer: String,
    /// What, for a person.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{p}: {}", self.message)
    }
}

/// Validation result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Violations of the schema or of OCDS rules.
    pub errors: Vec<Issue>,
    /// Things worth a look that do not make the data invalid (additional fields, codes outside
    /// open codelists, deprecated fields, duplicate ids in arrays).
    pub warnings: Vec<Issue>,
}

impl Report {
    /// No errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The same report with `prefix` (a JSON pointer, e.g. `/releases/7`) put in front of every
    /// pointer: for validating releases one at a time from a stream.
    pub fn with_prefix(mut self, prefix: &str) -> Report {
        for i in self.errors.iter_mut().chain(self.warnings.iter_mut()) {
            i.pointer.insert_str(0, prefix);
        }
        self
    }

    /// Add another report's issues (kept sorted and unique).
    pub fn merge(&mut self, other: Report) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
        self.finish();
    }

    fn finish(&mut self) {
        for list in [&mut self.errors, &mut self.warnings] {
            list.sort_by(|a, b| {
                compare_pointers(&a.pointer, &b.pointer).then_with(|| a.message.cmp(&b.message))
            });
            list.dedup();
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error   {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning {w}")?;
        }
        Ok(())
    }
}

/// Pointer order: segment by segment, numbers as numbers (`/releases/2` before `/releases/10`).
fn compare_pointers(a: &str, b: &str) -> Ordering {
    let mut x = a.split('/');
    let mut y = b.split('/');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(s), Some(t)) => {
                let o = match (s.parse::<u64>(), t.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => s.cmp(t),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// RFC 6901 escaping of one reference token.
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One OCDS extension, as far as validation is concerned.
#[derive(Debug, Clone, Default)]
pub struct ExtensionPatch {
    /// The extension's `release-schema.json`: a JSON Merge Patch (RFC 7386) onto the release
    /// schema.
    pub release_schema_patch: Value,
    /// The extension's codelist files as (file name, CSV text). `+name.csv` adds codes to a
    /// codelist, `-name.csv` removes codes, `name.csv` adds or replaces a whole codelist.
    pub codelists: Vec<(String, String)>,
}

/// Our patch for the budget breakdown extension (see [`ExtensionPatch::budget_breakdown`]).
const BUDGET_BREAKDOWN_PATCH: &str =
    include_str!("../../schema/extensions/budget_breakdown/release-schema.json");
const BUDGET_BREAKDOWN_PARTY_ROLE: &str =
    include_str!("../../schema/extensions/budget_breakdown/codelists/+partyRole.csv");
/// Our patch for the metrics extension (see [`ExtensionPatch::metrics`]).
const METRICS_PATCH: &str = include_str!("../../schema/extensions/metrics/release-schema.json");

impl ExtensionPatch {
    /// The official URL of the budget breakdown extension, as listed in a package's
    /// `extensions`.
    pub const BUDGET_BREAKDOWN_URL: &'static str = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_budget_breakdown_extension/master/extension.json";
    /// The official URL of the metrics extension, as listed in a package's `extensions`.
    pub const METRICS_URL: &'static str = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/master/extension.json";

    /// An extension from its files: the text of its `release-schema.json` and its codelists as
    /// (file name, CSV text). The JSON must parse; the patch and codelists are checked when a
    /// [`Schema`] is built with them.
    pub fn from_files<'a>(
        release_schema: &str,
        codelists: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ExtensionPatch, SchemaError> {
        let release_schema_patch = serde_json::from_str(release_schema)
            .map_err(|e| schema_error(format!("extension release-schema.json: {e}")))?;
        Ok(ExtensionPatch {
            release_schema_patch,
            codelists: codelists
                .into_iter()
                .map(|(name, csv)| (name.to_string(), csv.to_string()))
                .collect(),
        })
    }

    /// The budget breakdown extension ([`Self::BUDGET_BREAKDOWN_URL`]) as far as validation
    /// needs it, from our own embedded patch (`schema/extensions/budget_breakdown/`):
    /// `Budget.budgetBreakdown`, an array of `BudgetBreakdown` (`id` required; `description`,
    /// `amount` (Value), `uri`, `period` (Period), `sourceParty` (OrganizationReference)), and
    /// the `sourceParty` code added to the open partyRole codelist.
    ///
    /// Field names and types follow the published extension; its `minItems`, `uniqueItems`
    /// and `minLength` constraints are left out, so only the shape is checked.
    pub fn budget_breakdown() -> ExtensionPatch {
        // Embedded at build time and covered by tests: a parse failure is a packaging bug.
        ExtensionPatch::from_files(
            BUDGET_BREAKDOWN_PATCH,
            [("+partyRole.csv", BUDGET_BREAKDOWN_PARTY_ROLE)],
        )
        .expect("the embedded budget breakdown patch is JSON")
    }

    /// The metrics extension ([`Self::METRICS_URL`]) as far as validation needs it, from our
    /// own embedded patch (`schema/extensions/metrics/`): arrays of `Metric` at
    /// `planning.forecasts`, `tender.targets`, `awards[].agreedMetrics`,
    /// `contracts[].agreedMetrics` and `contracts[].implementation.metrics`; `Metric` (`id`
    /// required; `title`, `description`, `observations`), `Observation` (`id` required;
    /// `period`, `value`, `measure` (string or number), `unit` (`name`, `scheme`, `id`, `uri`),
    /// `dimensions`, `notes`, `relatedImplementationMilestone`) and `MilestoneReference`.
    ///
    /// It also allows `Observation.measureClassification` (a Classification) from the United
    /// Kingdom extension, since Find a Tender's contract performance notices (UK9) rate each
    /// observation with it. As with [`Self::budget_breakdown`], `minItems`, `uniqueItems`,
    /// `minLength` and `minProperties` are left out.
    pub fn metrics() -> ExtensionPatch {
        ExtensionPatch::from_files(METRICS_PATCH, []).expect("the embedded metrics patch is JSON")
    }
}

/// A schema that cannot be built (bad extension patch or codelist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the OCDS schema: {}", self.message)
    }
}

impl std::error::Error for SchemaError {}

fn schema_error(message: impl Into<String>) -> SchemaError {
    SchemaError {
        message: message.into(),
    }
}

// Names of the shape-graph entry points.
const S_RELEASE: &str = "release";
const S_RELEASE_PACKAGE: &str = "release-package";
const S_RECORD_PACKAGE: &str = "record-package";
const S_LINKED: &str = "linked-release";

/// Where the linked-release schema sits in the record package schema.
const LINKED_POINTER: &str = "/definitions/record/properties/releases/oneOf/0/items";
/// The id we file it under (it has none of its own).
const LINKED_ID: &str = "urn:ocreg:ocds-1__1__5:linked-release";

/// Compiled OCDS schemas (core, or core plus extensions). Build once, reuse.
pub struct Schema {
    release_schema: Value,
    release: Validator,
    release_package: Validator,
    record_package: Validator,
    linked_release: Validator,
    shapes: Shapes,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema").finish_non_exhaustive()
    }
}

impl Schema {
    /// OCDS 1.1.5 without extensions, compiled on first use.
    pub fn core() -> &'static Schema {
        static CORE: OnceLock<Schema> = OnceLock::new();
        CORE.get_or_init(|| {
            // The embedded schema is fixed at build time and covered by tests; failing here is
            // a packaging bug, not an input problem.
            Schema::with_extensions(&[]).expect("the embedded OCDS 1.1.5 schema compiles")
        })
    }

    /// OCDS 1.1.5 with extension patches applied in order.
    pub fn with_extensions(extensions: &[ExtensionPatch]) -> Result<Schema, SchemaError> {
        let parse = |name: &str, text: &str| {
            serde_json::from_str::<Value>(text)
                .map_err(|e| schema_error(format!("embedded {name}: {e}")))
        };
        let mut release_schema = parse("release-schema.json", RELEASE_SCHEMA)?;
        let mut codelists = schema::core_codelists().map_err(schema_error)?;
        for (n, ext) in extensions.iter().enumerate() {
            if !ext.release_schema_patch.is_null() {
                if !ext.release_schema_patch.is_object() {
                    return Err(schema_error(format!(
                        "extension {}: the release schema patch is not a JSON object",
                        n + 1
                    )));
                }
                schema::merge_patch(&mut release_schema, &ext.release_schema_patch);
            }
            for (file, csv) in &ext.codelists {
                schema::apply_codelist(&mut codelists, file, csv)
                    .map_err(|e| schema_error(format!("extension {}: {e}", n + 1)))?;
            }
        }
        let versioned = parse("versioned-release-validation-schema.json", VERSIONED_SCHEMA)?;
        let release_package = parse("release-package-schema.json", RELEASE_PACKAGE_SCHEMA)?;
        let mut record_package = parse("record-package-schema.json", RECORD_PACKAGE_SCHEMA)?;
        let linked = record_package
            .pointer(LINKED_POINTER)
            .cloned()
            .ok_or_else(|| schema_error("record package schema has no linked release schema"))?;
        // Record releases are validated element by element (linked or embedded), see the module
        // documentation; the envelope keeps only the array requirements.
        let releases_field = record_package
            .pointer_mut("/definitions/record/properties/releases")
            .ok_or_else(|| schema_error("record package schema has no record releases"))?;
        *releases_field = serde_json::json!({"type": "array", "minItems": 1});

        let mut docs: HashMap<String, Value> = HashMap::new();
        docs.insert(RELEASE_ID.into(), release_schema.clone());
        docs.insert(VERSIONED_ID.into(), versioned);
        docs.insert(RELEASE_PACKAGE_ID.into(), release_package);
        docs.insert(RECORD_PACKAGE_ID.into(), record_package);
        docs.insert(LINKED_ID.into(), linked);
        let shapes = Shapes::build(
            &docs,
            &[
                (S_RELEASE, RELEASE_ID, ""),
                (S_RELEASE_PACKAGE, RELEASE_PACKAGE_ID, ""),
                (S_RECORD_PACKAGE, RECORD_PACKAGE_ID, ""),
                (S_LINKED, LINKED_ID, ""),
            ],
            codelists,
        )
        .map_err(schema_error)?;

        for doc in docs.values_mut() {
            schema::strip_codelist_enums(doc);
        }
        let registry = Registry::new()
            .draft(Draft::Draft4)
            .extend(docs.iter().map(|(id, v)| (id.as_str(), v)))
            .and_then(|b| b.prepare())
            .map_err(|e| schema_error(format!("schema registry: {e}")))?;
        let options = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(&registry)
            .should_validate_formats(true)
            .with_format("date-time", datetime::is_date_time);
        let build = |id: &str| -> Result<Validator, SchemaError> {
            let doc = docs
                .get(id)
                .ok_or_else(|| schema_error(format!("{id} missing")))?;
            options
                .build(doc)
                .map_err(|e| schema_error(format!("{id}: {e}")))
        };
        Ok(Schema {
            release: build(RELEASE_ID)?,
            release_package: build(RELEASE_PACKAGE_ID)?,
            record_package: build(RECORD_PACKAGE_ID)?,
            linked_release: build(LINKED_ID)?,
            release_schema,
            shapes,
        })
    }

    /// The release schema with extension patches applied (codelist enums included, as
    /// published).
    pub fn release_schema(&self) -> &Value {
        &self.release_schema
    }

    /// The codes of a codelist (core or from extensions), by name with or without `.csv`.
    pub fn codelist(&self, name: &str) -> Option<&BTreeSet<String>> {
        let lists: &BTreeMap<String, BTreeSet<String>> = self.shapes.codelists();
        lists
            .get(name)
            .or_else(|| lists.get(&format!("{name}.csv")))
    }

    /// Validate a release, a release package or a record package, deciding from its shape (an
    /// object with a `releases` array or a `records` array is a package).
    pub fn validate(&self, document: &Value) -> Report {
        match document {
            Value::Object(map) if map.get("records").is_some_and(Value::is_array) => {
                self.validate_record_package(document)
            }
            Value::Object(map) if map.get("releases").is_some_and(Value::is_array) => {
                self.validate_release_package(document)
            }
            Value::Object(_) => self.validate_release(document),
            other => Report {
                errors: vec![Issue {
                    pointer: String::new(),
                    message: format!(
                        "expected a release or a package (a JSON object), found {}",
                        messages::brief(other)
                    ),
                }],
                warnings: Vec::new(),
            },
        }
    }

    /// Validate one release. Pointers are relative to the release; use
    /// [`Report::with_prefix`] to place them in a larger document.
    pub fn validate_release(&self, release: &Value) -> Report {
        let mut f = Findings::default();
        schema_issues(&self.release, release, "", &[], &mut f.errors);
        self.shapes.check(S_RELEASE, release, "", &mut f);
        check_ocid(release, "", &mut f.errors);
        f.into_report()
    }

    /// Validate a release package.
    pub fn validate_release_package(&self, package: &Value) -> Report {
        let mut f = Findings::default();
        schema_issues(
            &self.release_package,
            package,
            "",
            &["/releases"],
            &mut f.errors,
        );
        self.shapes.check(S_RELEASE_PACKAGE, package, "", &mut f);
        if let Some(releases) = package.get("releases").and_then(Value::as_array) {
            let mut ids = ReleaseIds::default();
            for (i, r) in releases.iter().enumerate() {
                let p = format!("/releases/{i}");
                check_ocid(r, &p, &mut f.errors);
                f.errors.extend(ids.check(r, &p));
            }
        }
        f.into_report()
    }

    /// Validate a record package.
    pub fn validate_record_package(&self, package: &Value) -> Report {
        let mut f = Findings::default();
        schema_issues(
            &self.record_package,
            package,
            "",
            &["/records"],
            &mut f.errors,
        );
        self.shapes.check(S_RECORD_PACKAGE, package, "", &mut f);
        let Some(records) = package.get("records").and_then(Value::as_array) else {
            return f.into_report();
        };
        let mut record_ocids: HashMap<&str, usize> = HashMap::new();
        let mut ids = ReleaseIds::default();
        for (ri, record) in records.iter().enumerate() {
            let rp = format!("/records/{ri}");
            check_ocid(record, &rp, &mut f.errors);
            let ocid = record.get("ocid").and_then(Value::as_str);
            if let Some(ocid) = ocid {
                if let Some(first) = record_ocids.get(ocid) {
                    f.errors.push(Issue {
                        pointer: format!("{rp}/ocid"),
                        message: format!(
                            "duplicate record: ocid '{ocid}' already appears at /records/{first}"
                        ),
                    });
                } else {
                    record_ocids.insert(ocid, ri);
                }
            }
            if let Some(compiled) = record.get("compiledRelease") {
                check_ocid(compiled, &format!("{rp}/compiledRelease"), &mut f.errors);
            }
            let Some(releases) = record.get("releases").and_then(Value::as_array) else {
                continue;
            };
            for (j, r) in releases.iter().enumerate() {
                let p = format!("{rp}/releases/{j}");
                let linked = r.get("url").is_some() && r.get("id").is_none();
                if linked {
                    schema_issues(&self.linked_release, r, &p, &[], &mut f.errors);
                    self.shapes.check(S_LINKED, r, &p, &mut f);
                    continue;
                }
                schema_issues(&self.release, r, &p, &[], &mut f.errors);
                self.shapes.check(S_RELEASE, r, &p, &mut f);
                check_ocid(r, &p, &mut f.errors);
                f.errors.extend(ids.check(r, &p));
                if let (Some(want), Some(got)) = (ocid, r.get("ocid").and_then(Value::as_str))
                    && want != got
                {
                    f.errors.push(Issue {
                        pointer: format!("{p}/ocid"),
                        message: format!(
                            "the release's ocid '{got}' differs from its record's ocid '{want}'"
                        ),
                    });
                }
            }
        }
        f.into_report()
    }
}

/// Validate with [`Schema::core`] (OCDS 1.1.5, no extensions).
pub fn validate(document: &Value) -> Report {
    Schema::core().validate(document)
}

/// Tracks (ocid, id) pairs to find duplicate releases, also across a stream of releases read
/// one at a time.
#[derive(Debug, Default)]
pub struct ReleaseIds {
    seen: HashMap<(String, String), String>,
}

impl ReleaseIds {
    /// Record `release` (found at `pointer`); an error issue if its (ocid, id) was seen before.
    /// Releases without a string ocid and a string or number id are ignored (the schema reports
    /// those).
    pub fn check(&mut self, release: &Value, pointer: &str) -> Option<Issue> {
        let ocid = release.get("ocid")?.as_str()?;
        let id = match release.get("id")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let key = (ocid.to_string(), id);
        if let Some(first) = self.seen.get(&key) {
            return Some(Issue {
                pointer: format!("{pointer}/id"),
                message: format!(
                    "duplicate release: ocid '{}' with id '{}' already appears at {first}",
                    key.0, key.1
                ),
            });
        }
        self.seen.insert(key, pointer.to_string());
        None
    }
}

/// `ocds-` + 6 letters or digits + `-` + at least one more character.
pub fn is_valid_ocid(ocid: &str) -> bool {
    let b = ocid.as_bytes();
    b.len() > 12
        && b.starts_with(b"ocds-")
        && b[5..11].iter().all(u8::is_ascii_alphanumeric)
        && b[11] == b'-'
}

fn check_ocid(object: &Value, pointer: &str, errors: &mut Vec<Issue>) {
    if let Some(Value::String(ocid)) = object.get("ocid")
        && !is_valid_ocid(ocid)
    {
        errors.push(Issue {
            pointer: format!("{pointer}/ocid"),
            message: format!(
                "{} does not start with a registered OCID prefix ('ocds-', 6 letters or digits, '-', then the process identifier)",
                messages::brief(&Value::String(ocid.clone()))
            ),
        });
    }
}

/// Schema errors. `uniqueItems` failures at the pointers in `unique_checked` are skipped: for
/// a package's `releases`/`records`, our (ocid, id) and ocid checks report the same problem at
/// the duplicate itself.
fn schema_issues(
    validator: &Validator,
    instance: &Value,
    prefix: &str,
    unique_checked: &[&str],
    out: &mut Vec<Issue>,
) {
    // `is_valid` is much cheaper than collecting errors, and most releases are valid.
    if validator.is_valid(instance) {
        return;
    }
    let start = out.len();
    for e in validator.iter_errors(instance) {
        if matches!(e.kind(), ValidationErrorKind::UniqueItems)
            && unique_checked.contains(&e.instance_path().as_str())
        {
            continue;
        }
        messages::push_issues(&e, out);
    }
    if !prefix.is_empty() {
        for i in &mut out[start..] {
            i.pointer.insert_str(0, prefix);
        }
    }
}

impl Findings {
    fn into_report(self) -> Report {
        let mut r = Report {
            errors: self.errors,
            warnings: self.warnings,
        };
        r.finish();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_order_is_numeric() {
        let mut v = vec!["/releases/10/id", "/releases/2", "", "/releases/2/a", "/a"];
        v.sort_by(|a, b| compare_pointers(a, b));
        assert_eq!(
            v,
            ["", "/a", "/releases/2", "/releases/2/a", "/releases/10/id"]
        );
    }

    #[test]
    fn ocid_prefix() {
        assert!(is_valid_ocid("ocds-b5fd17-7d067852"));
        assert!(is_valid_ocid("ocds-h6vhtk-06e264"));
        for bad in [
            "ocds-abc-1",
            "ocds-b5fd17-",
            "OCDS-b5fd17-1",
            "b5fd17-1",
            "ocds-b5fd1_-1",
        ] {
            assert!(!is_valid_ocid(bad), "{bad}");
        }
    }
}
