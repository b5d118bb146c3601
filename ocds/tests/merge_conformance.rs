//! Conformance of `ocds::merge` with the reference merge implementation's own fixtures
//! (`tests/fixtures/ocds-merge`, copied from `open-contracting/ocds-merge`; see its README).
//!
//! Table-driven: every `*-compiled.json` / `*-versioned.json` is an expected output whose input
//! is the same name without the suffix, merged with the group's schema (1.1 with both 1.1.4
//! and 1.1.5). All failures are collected and reported together, so one run shows the whole
//! picture, and the number of expected files is pinned so a lost group cannot pass silently.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use ocds::merge::{
    MergeRules, MergeWarning, Override, WarningKind, compile, compile_record, compile_versioned,
    merge_compiled, merge_record,
};
use serde_json::Value;

/// Expected-output files in the fixture tree: 2 (1.0) + 34 (1.1) + 14 (schema) + 3 override
/// variants. Pinned so that a missing directory or file fails instead of shrinking the run.
const EXPECTED_FILES: usize = 53;

/// (group directory, schemas to run it with).
const GROUPS: &[(&str, &[&str])] = &[
    ("1.0", &["release-schema-1__0__3.json"]),
    (
        "1.1",
        &["release-schema-1__1__4.json", "release-schema-1__1__5.json"],
    ),
    ("schema", &["schema.json"]),
];

/// Expected outputs of the optional rule overrides on `nested.array` (spec section 6), whose
/// input is the base case's releases concatenated with themselves.
const VARIANTS: &[(&str, &str, Override)] = &[
    (
        "identifier-merge-duplicate-id-append.json",
        "identifier-merge-duplicate-id.json",
        Override::Append,
    ),
    (
        "identifier-merge-duplicate-id-by-position.json",
        "identifier-merge-duplicate-id.json",
        Override::MergeByPosition,
    ),
    (
        "identifier-merge-no-id-append.json",
        "identifier-merge-no-id.json",
        Override::Append,
    ),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocds-merge")
}

fn read(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn releases(path: &Path) -> Vec<Value> {
    match read(path) {
        Value::Array(releases) => releases,
        other => panic!(
            "{}: expected an array of releases, got {other}",
            path.display()
        ),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Compiled,
    Versioned,
}

struct Case {
    group: &'static str,
    /// Name of the expected file, e.g. `simple-compiled.json`.
    expected: String,
    input: PathBuf,
    kind: Kind,
}

/// The expected files of one group, sorted, with their inputs.
fn cases(group: &'static str) -> Vec<Case> {
    let dir = fixtures().join(group);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let (stem, kind) = if let Some(stem) = name.strip_suffix("-compiled.json") {
                (stem.to_owned(), Kind::Compiled)
            } else if let Some(stem) = name.strip_suffix("-versioned.json") {
                (stem.to_owned(), Kind::Versioned)
            } else {
                return None;
            };
            Some(Case {
                group,
                input: dir.join(format!("{stem}.json")),
                expected: name,
                kind,
            })
        })
        .collect()
}

/// Warnings each fixture must raise: only the duplicate-id family, whose input has duplicate
/// `id`s on purpose. Returned as sorted (kind, path) pairs.
fn expected_warnings(group: &str, expected: &str) -> Vec<(WarningKind, String)> {
    let duplicate = |path: &str| (WarningKind::DuplicateIdValue, path.to_owned());
    match (group, expected) {
        ("schema", "identifier-merge-duplicate-id-compiled.json") => {
            vec![
                duplicate("nested.array"),
                duplicate("nested.identifierMerge"),
            ]
        }
        // The override repairs `nested.array`, but `nested.identifierMerge` still has duplicate
        // ids in each of the two concatenated copies.
        (
            "schema",
            "identifier-merge-duplicate-id-append.json"
            | "identifier-merge-duplicate-id-by-position.json",
        ) => vec![
            duplicate("nested.identifierMerge"),
            duplicate("nested.identifierMerge"),
        ],
        _ => Vec::new(),
    }
}

fn warning_summary(warnings: &[MergeWarning]) -> Vec<(WarningKind, String)> {
    let mut summary: Vec<_> = warnings.iter().map(|w| (w.kind, w.path.clone())).collect();
    summary.sort_by(|a, b| a.1.cmp(&b.1));
    summary
}

/// Merges through the fast path and reads the serialised JSON back.
fn serialised(
    rules: &MergeRules,
    input: Vec<Value>,
    kind: Kind,
) -> Result<(Value, Vec<MergeWarning>), String> {
    let json = match kind {
        Kind::Compiled => {
            let compiled = merge_compiled(rules, input.clone()).map_err(|e| e.to_string())?;
            let record = merge_record(rules, input).map_err(|e| e.to_string())?;
            let from_record =
                serde_json::to_string(&record.compiled()).map_err(|e| e.to_string())?;
            let json = serde_json::to_string(&compiled).map_err(|e| e.to_string())?;
            if json != from_record {
                return Err(format!(
                    "merge_compiled gave {json}, merge_record {from_record}"
                ));
            }
            (json, compiled.warnings)
        }
        Kind::Versioned => {
            let record = merge_record(rules, input).map_err(|e| e.to_string())?;
            let json = serde_json::to_string(&record.versioned()).map_err(|e| e.to_string())?;
            (json, record.warnings)
        }
    };
    let value = serde_json::from_str(&json.0).map_err(|e| e.to_string())?;
    Ok((value, json.1))
}

/// Checks one result against its expected output and warnings, recording any failure.
fn check(
    label: &str,
    result: Result<(Value, Vec<MergeWarning>), String>,
    expected: &Value,
    warnings_expected: &[(WarningKind, String)],
    failures: &mut Vec<String>,
) -> bool {
    let (actual, warnings) = match result {
        Ok(ok) => ok,
        Err(error) => {
            failures.push(format!("{label}: merge failed: {error}"));
            return false;
        }
    };
    let mut ok = true;
    if actual != *expected {
        let mut message = format!("{label}: output differs from expected:\n");
        diff(expected, &actual, &mut String::new(), &mut message, &mut 0);
        failures.push(message);
        ok = false;
    }
    let got = warning_summary(&warnings);
    if got != warnings_expected {
        failures.push(format!(
            "{label}: warnings {got:?}, expected {warnings_expected:?}: {:#?}",
            warnings.iter().map(|w| &w.message).collect::<Vec<_>>()
        ));
        ok = false;
    }
    ok
}

/// Lists differing JSON paths (at most 20), comparing objects by key and arrays by position.
fn diff(expected: &Value, actual: &Value, path: &mut String, out: &mut String, count: &mut usize) {
    if expected == actual || *count >= 20 {
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys().filter(|k| !e.contains_key(*k))) {
                let len = path.len();
                let _ = write!(path, "/{key}");
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => diff(ev, av, path, out, count),
                    (ev, av) => report(path, ev, av, out, count),
                }
                path.truncate(len);
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                let len = path.len();
                let _ = write!(path, "/{i}");
                diff(ev, av, path, out, count);
                path.truncate(len);
            }
        }
        _ => report(path, Some(expected), Some(actual), out, count),
    }
}

fn report(
    path: &str,
    expected: Option<&Value>,
    actual: Option<&Value>,
    out: &mut String,
    count: &mut usize,
) {
    *count += 1;
    let show = |v: Option<&Value>| v.map_or("(absent)".to_owned(), Value::to_string);
    let _ = writeln!(
        out,
        "  at {}: expected {}, got {}",
        if path.is_empty() { "/" } else { path },
        show(expected),
        show(actual)
    );
}

#[test]
fn ocds_merge_conformance() {
    let mut failures = Vec::new();
    let mut files = 0;
    let mut checks = 0;
    let mut expected_checks = 0;
    let mut passed = 0;

    for &(group, schemas) in GROUPS {
        let cases = cases(group);
        assert!(
            !cases.is_empty(),
            "fixture group {group} has no expected files"
        );
        files += cases.len();
        expected_checks += cases.len() * schemas.len();
        for schema_name in schemas {
            let schema = read(&fixtures().join(schema_name));
            let rules =
                MergeRules::from_schema(&schema).unwrap_or_else(|e| panic!("{schema_name}: {e}"));
            for case in &cases {
                checks += 1;
                let label = format!("{}/{} with {schema_name}", case.group, case.expected);
                let input = releases(&case.input);
                let expected = read(&fixtures().join(case.group).join(&case.expected));
                let warnings = expected_warnings(case.group, &case.expected);
                let merge = match case.kind {
                    Kind::Compiled => compile,
                    Kind::Versioned => compile_versioned,
                };
                let result = merge(&rules, input.clone())
                    .map(|m| (m.release, m.warnings))
                    .map_err(|e| e.to_string());
                if check(&label, result, &expected, &warnings, &mut failures) {
                    passed += 1;
                }
                // The one-pass record must give the same release.
                let record = compile_record(&rules, input)
                    .map(|r| match case.kind {
                        Kind::Compiled => (r.compiled, r.warnings),
                        Kind::Versioned => (r.versioned, r.warnings),
                    })
                    .map_err(|e| e.to_string());
                check(
                    &format!("{label} (compile_record)"),
                    record,
                    &expected,
                    &warnings,
                    &mut failures,
                );
                // So must the `Serialize` views, which write JSON without building a `Value`.
                check(
                    &format!("{label} (serialised)"),
                    serialised(&rules, releases(&case.input), case.kind),
                    &expected,
                    &warnings,
                    &mut failures,
                );
            }
        }
    }

    let schema = read(&fixtures().join("schema.json"));
    for &(expected_name, input_name, strategy) in VARIANTS {
        files += 1;
        expected_checks += 1;
        checks += 1;
        let dir = fixtures().join("schema");
        let rules = MergeRules::from_schema(&schema)
            .expect("schema.json")
            .with_override(&["nested", "array"], strategy);
        let base = releases(&dir.join(input_name));
        let input: Vec<Value> = base.iter().chain(&base).cloned().collect();
        let expected = read(&dir.join(expected_name));
        let label = format!("schema/{expected_name} ({strategy:?} on nested.array)");
        let result = compile(&rules, input)
            .map(|m| (m.release, m.warnings))
            .map_err(|e| e.to_string());
        let warnings = expected_warnings("schema", expected_name);
        if check(&label, result, &expected, &warnings, &mut failures) {
            passed += 1;
        }
    }

    assert!(
        failures.is_empty(),
        "{} failures in {checks} ocds-merge conformance checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        files, EXPECTED_FILES,
        "expected-output files found in the fixture tree"
    );
    assert_eq!(checks, expected_checks);
    assert_eq!(passed, checks);
    println!(
        "ocds-merge conformance: {passed} fixtures passed ({files} expected files; 1.1 run with \
         1.1.4 and 1.1.5; each also checked through compile_record and the serialised views)"
    );
}
