//! `ocreg compile` and `ocreg validate` on real files, compared with the reference
//! implementation's output (fixtures/compile/README.md says how that was made).

use std::{io::Write, path::Path, process::Stdio};

use serde_json::Value;

use crate::support::ocreg;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/compile");

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap()
}

/// Runs `ocreg ARGS` with `stdin`, returning (exit code, stdout, stderr).
fn run(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ocreg(dir.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn input_path() -> String {
    format!("{FIXTURES}/releases-by-date.jsonl")
}

#[test]
fn compile_equals_the_reference_implementation() {
    let (code, out, err) = run(&["compile", &input_path()], b"");
    assert_eq!(code, 0, "{err}");
    let expected = json_lines(&fixture("ocdsmerge-compiled.jsonl"));
    let actual = json_lines(&out);
    assert_eq!(actual.len(), 20);
    assert_eq!(
        actual, expected,
        "compiled releases differ from ocdsmerge 0.8.0"
    );
}

#[test]
fn compile_versioned_equals_the_reference_implementation() {
    let input = fixture("releases-by-date.jsonl");
    let (code, out, err) = run(&["compile", "--versioned", "-"], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json_lines(&out),
        json_lines(&fixture("ocdsmerge-versioned.jsonl")),
        "versioned releases differ from ocdsmerge 0.8.0"
    );
}

#[test]
fn compile_package_is_a_valid_record_package() {
    let (code, out, err) = run(
        &[
            "compile",
            "--package",
            "--versioned",
            "--uri",
            "https://example.org/records.json",
            &input_path(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let package: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(package["uri"], "https://example.org/records.json");
    assert_eq!(package["version"], "1.1");
    let records = package["records"].as_array().unwrap();
    assert_eq!(records.len(), 20);
    let expected = json_lines(&fixture("ocdsmerge-compiled.jsonl"));
    for (record, compiled) in records.iter().zip(&expected) {
        assert_eq!(record["ocid"], compiled["ocid"]);
        assert_eq!(&record["compiledRelease"], compiled);
        assert!(record["versionedRelease"].is_object());
        assert!(!record["releases"].as_array().unwrap().is_empty());
    }
    let (code, stdout, err) = run(&["validate", "-"], out.as_bytes());
    assert_eq!(code, 0, "the record package must validate: {stdout}{err}");
}

#[test]
fn compile_records_with_linked_releases() {
    let (code, out, err) = run(
        &[
            "compile",
            "--records",
            "--linked-releases",
            "--uri",
            "https://x.org/p",
            &input_path(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 20);
    let first = &records[0]["releases"][0];
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .starts_with("https://x.org/p#")
    );
    assert!(first.get("date").is_some() && first.get("tender").is_none());
}

#[test]
fn a_bad_release_costs_only_itself() {
    let input = "{\"ocid\":\"ocds-abcdef-1\",\"id\":\"1\",\"date\":\"2024-01-01T00:00:00Z\",\"tender\":{\"title\":\"A\"}}\n\
{\"ocid\":\"ocds-abcdef-1\",\"id\":\"2\",\"date\":\"2024-02-01T00:00:00Z\",\"tender\":{\"value\":{\"amount\":000}}}\n\
{\"ocid\":\"ocds-abcdef-2\",\"id\":\"1\",\"date\":\"2024-01-01T00:00:00Z\",\"tender\":{\"title\":\"B\"}}\n";
    let (code, out, err) = run(&["compile"], input.as_bytes());
    assert_eq!(code, 1, "a rejected release makes the exit status 1");
    assert!(err.contains("000") && err.contains("line 2"), "{err}");
    let compiled = json_lines(&out);
    assert_eq!(compiled.len(), 2, "both ocids still compiled");
    assert_eq!(compiled[0]["tender"]["title"], "A");
    assert_eq!(compiled[1]["tender"]["title"], "B");
}

#[test]
fn numbers_are_kept_as_published() {
    let input = br#"{"ocid":"ocds-abcdef-1","id":"1","date":"2024-01-01T00:00:00Z","tender":{"value":{"amount":12345678901234567890.10}}}"#;
    let (code, out, err) = run(&["compile"], input);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12345678901234567890.10"), "{out}");
}

#[test]
fn merge_errors_are_reported_per_ocid() {
    // tender.title changes from a string to an object: an inconsistent type.
    let input = "{\"ocid\":\"ocds-abcdef-1\",\"id\":\"1\",\"date\":\"2024-01-01T00:00:00Z\",\"tender\":{\"title\":\"A\"}}\n\
{\"ocid\":\"ocds-abcdef-1\",\"id\":\"2\",\"date\":\"2024-02-01T00:00:00Z\",\"tender\":{\"title\":{\"en\":\"A\"}}}\n\
{\"ocid\":\"ocds-abcdef-2\",\"id\":\"1\",\"date\":\"2024-01-01T00:00:00Z\"}\n";
    let (code, out, err) = run(&["compile"], input.as_bytes());
    assert_eq!(code, 1);
    assert!(err.contains("ocds-abcdef-1"), "{err}");
    assert_eq!(json_lines(&out).len(), 1);
}

#[test]
fn validate_reports_pointers_and_exits_1() {
    let package = r#"{"uri":"https://example.org/p","publisher":{"name":"P"},"publishedDate":"2024-01-01T00:00:00Z","version":"1.1",
      "releases":[
        {"ocid":"ocds-abcdef-1","id":"1","date":"2024-01-01T00:00:00Z","tag":["tender"],"initiationType":"tender","tender":{"id":"t","status":"nonsense"}},
        {"ocid":"ocds-abcdef-1","id":"1","date":"not a date","tag":["tender"],"initiationType":"tender"}
      ]}"#;
    let (code, out, err) = run(&["validate", "-"], package.as_bytes());
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("error: /releases/0/tender/status:"), "{out}");
    assert!(out.contains("error: /releases/1/date:"), "{out}");
    assert!(
        out.contains("error: /releases/1/id:") && out.contains("duplicate"),
        "{out}"
    );
    assert!(
        err.contains("2 release(s)") && err.contains("invalid"),
        "{err}"
    );
}

#[test]
fn validate_accepts_a_valid_file() {
    let (code, out, err) = run(&["validate", "--no-warnings", &input_path()], b"");
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("error:"), "{out}");
    assert!(
        err.contains("118 release(s)") && err.contains("valid"),
        "{err}"
    );
}

#[test]
fn validate_missing_file_is_a_usage_error() {
    let (code, _, err) = run(&["validate", "no-such-file.json"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("no-such-file.json"), "{err}");
}
