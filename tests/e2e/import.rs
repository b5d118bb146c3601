//! `ocreg import` into a fresh database, and the demo data `ocreg serve` loads into an empty one.

use std::{
    io::Write,
    path::Path,
    process::{Output, Stdio},
};

use diesel::prelude::*;
use register::{
    schema::{records, releases},
    testing::TestDb,
};
use serde_json::{Value, json};

use crate::support::{Served, ocreg};

const COMPILE_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/compile");
const DEMO_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo");

/// A hand-made demo process: the joint commissioning intention with a pooled budget.
const DEMO_INTENTION: &str = "ocds-ocdemo-wyv-0001";

fn import(dir: &Path, db: &TestDb, args: &[&str]) -> Output {
    ocreg(dir)
        .args(["--database", &db.url_string(), "import"])
        .args(args)
        .output()
        .expect("run ocreg import")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// (releases, records) stored.
fn counts(db: &TestDb) -> (i64, i64) {
    let mut conn = db.url.connect().unwrap();
    let releases: i64 = releases::table.count().get_result(&mut conn).unwrap();
    let records: i64 = records::table.count().get_result(&mut conn).unwrap();
    (releases, records)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn imports_json_lines_and_a_reimport_adds_nothing() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{COMPILE_FIXTURES}/releases-by-date.jsonl");
    // A small batch, so the releases of one ocid span several batches (feed order).
    let output = import(dir.path(), &db, &["--batch", "7", &input]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("118 release(s) read, 118 created, 0 unchanged, 0 rejected"),
        "{err}"
    );
    assert!(err.contains("20 ocid(s) recompiled"), "{err}");
    assert!(err.contains("releases/s"), "{err}");
    assert_eq!(counts(&db), (118, 20));

    // Each record, recompiled batch by batch, is what the reference implementation compiles
    // from all of its releases at once.
    let expected = json_lines(
        &std::fs::read_to_string(format!("{COMPILE_FIXTURES}/ocdsmerge-compiled.jsonl")).unwrap(),
    );
    let mut conn = db.url.connect().unwrap();
    for compiled in &expected {
        // The register stores releases without personal contact details (register::privacy);
        // the reference compiles them as published.
        let redacted = register::privacy::redacted(compiled);
        let compiled: &Value = &redacted;
        let ocid = compiled["ocid"].as_str().unwrap();
        let stored: String = records::table
            .filter(records::ocid.eq(ocid))
            .select(records::compiled_release)
            .first(&mut conn)
            .unwrap();
        let stored: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(&stored, compiled, "record {ocid}");
    }
    let sources: Vec<String> = releases::table
        .select(releases::source)
        .distinct()
        .load(&mut conn)
        .unwrap();
    assert_eq!(sources, ["import"]);

    let again = import(dir.path(), &db, &[&input]);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{err}");
    assert!(
        err.contains("118 release(s) read, 0 created, 118 unchanged, 0 rejected"),
        "{err}"
    );
    assert!(err.contains("0 ocid(s) recompiled"), "{err}");
    assert_eq!(counts(&db), (118, 20));
}

#[test]
fn a_broken_release_costs_only_itself_and_exits_1() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("releases.jsonl");
    let release = |ocid: u32, id: u32, title: &str| {
        format!(
            r#"{{"ocid":"ocds-abcdef-{ocid}","id":"{id}","date":"2024-0{id}-01T00:00:00Z","tag":["tender"],"tender":{{"title":"{title}"}}}}"#
        )
    };
    let lines = [
        release(1, 1, "A"),
        release(1, 2, "A2"),
        // Line 3: a number JSON forbids.
        r#"{"ocid":"ocds-abcdef-2","id":"1","date":"2024-01-01T00:00:00Z","tender":{"value":{"amount":0123}}}"#.to_owned(),
        release(2, 2, "B"),
        // Line 5: no ocid.
        r#"{"id":"9","date":"2024-01-01T00:00:00Z"}"#.to_owned(),
        // Line 6: the id of line 1 with other content.
        release(1, 1, "changed"),
        // Line 7: tender.title turns into an object, so ocid 3 cannot be merged.
        release(3, 1, "C"),
        r#"{"ocid":"ocds-abcdef-3","id":"2","date":"2024-02-01T00:00:00Z","tender":{"title":{"en":"C"}}}"#.to_owned(),
        release(4, 1, "D"),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let output = import(dir.path(), &db, &[path.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("line 3") && err.contains("0123"), "{err}");
    assert!(err.contains("line 5") && err.contains("/ocid"), "{err}");
    assert!(
        err.contains("line 6") && err.contains("different content"),
        "{err}"
    );
    assert!(
        err.contains("line 8") && err.contains("ocds-abcdef-3 cannot be merged"),
        "{err}"
    );
    assert!(
        err.contains("9 release(s) read, 4 created, 0 unchanged, 5 rejected"),
        "{err}"
    );
    // ocid 1 (2 releases), 2 (1) and 4 (1) are stored; ocid 3 lost both of its releases.
    assert_eq!(counts(&db), (4, 3));
}

#[test]
fn a_release_the_database_refuses_costs_only_itself() {
    // PostgreSQL text cannot hold U+0000 (SQLite can): the batch fails there, and is retried
    // release by release.
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("releases.jsonl");
    let lines = [
        r#"{"ocid":"ocds-abcdef-1","id":"1","date":"2024-01-01T00:00:00Z"}"#,
        r#"{"ocid":"ocds-abcdef-\u00002","id":"1","date":"2024-01-01T00:00:00Z"}"#,
        r#"{"ocid":"ocds-abcdef-3","id":"1","date":"2024-01-01T00:00:00Z"}"#,
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = import(dir.path(), &db, &[path.to_str().unwrap()]);
    let err = stderr(&output);
    match db.url.backend() {
        register::Backend::Postgres => {
            assert_eq!(output.status.code(), Some(1), "{err}");
            assert!(
                err.contains("line 2") && err.contains("refused by the database"),
                "{err}"
            );
            assert_eq!(counts(&db), (2, 2));
        }
        register::Backend::Sqlite => {
            assert_eq!(output.status.code(), Some(0), "{err}");
            assert_eq!(counts(&db), (3, 3));
        }
    }
}

#[test]
fn imports_a_release_package_from_standard_input() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let package = std::fs::read(format!(
        "{DEMO_FIXTURES}/fts_ocds_release_package_children_services.json"
    ))
    .unwrap();
    let mut child = ocreg(dir.path())
        .args([
            "--database",
            &db.url_string(),
            "import",
            "--source",
            "fts",
            "-",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&package).unwrap();
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("17 release(s) read, 17 created"), "{err}");
    // Two of the 17 releases are of the same process.
    assert_eq!(counts(&db), (17, 16));
    let mut conn = db.url.connect().unwrap();
    let sources: Vec<String> = releases::table
        .select(releases::source)
        .distinct()
        .load(&mut conn)
        .unwrap();
    assert_eq!(sources, ["fts"]);
}

#[tokio::test]
async fn serve_loads_the_demo_data_into_an_empty_database() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--database", &db.url_string()]);
    let response = reqwest::get(format!(
        "{}/api/v1/records/{DEMO_INTENTION}",
        served.address
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let package: Value = response.json().await.unwrap();
    let compiled = &package["records"][0]["compiledRelease"];
    assert_eq!(compiled["buyer"]["id"], "GB-LAE-WYV");
    let breakdown = compiled["planning"]["budget"]["budgetBreakdown"]
        .as_array()
        .unwrap();
    assert_eq!(breakdown.len(), 4, "the pooled budget has four partners");
    // A real Find a Tender release is there too.
    let response = reqwest::get(format!(
        "{}/api/v1/records/ocds-h6vhtk-06e058",
        served.address
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);

    // The commissioning views have something to show: a joint intention with a pooled
    // budget, a contract's rated outcomes, an overlap between two agencies.
    let get = |path: &str| {
        let url = format!("{}{path}", served.address);
        async move {
            let response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let intentions = get(&format!("/api/v1/intentions?ocid={DEMO_INTENTION}")).await;
    let joint = &intentions["data"][0]["commissioning"];
    assert_eq!(joint["joint"], true);
    assert_eq!(joint["contributions"].as_array().unwrap().len(), 4);
    assert_eq!(joint["pooled_budget"]["amount"], 6900000.0);
    let outcomes = get("/api/v1/outcomes?ocid=ocds-ocdemo-wyv-0004").await;
    let summary = &outcomes["data"][0]["outcomes"];
    assert_eq!(summary["latest_rating"], "approachingTarget");
    assert_eq!(summary["trend"], "improving");
    let overlaps = get("/api/v1/overlaps?agency=GB-NHS-QZW").await;
    let planted = overlaps["data"].as_array().unwrap().iter().any(|pair| {
        let ocids = [&pair["a"]["ocid"], &pair["b"]["ocid"]];
        ocids.contains(&&json!("ocds-ocdemo-wyv-0004"))
            && ocids.contains(&&json!("ocds-ocdemo-wyv-0005"))
    });
    assert!(planted, "{overlaps}");
    drop(served);

    let mut conn = db.url.connect().unwrap();
    let demo: i64 = releases::table
        .filter(releases::source.eq("demo"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let (all, _) = counts(&db);
    assert_eq!(demo, all);
    assert_eq!(all, 10 + 17 + 7, "every demo release is loaded");

    // A database with releases is left alone.
    let served = Served::start(dir.path(), &["--database", &db.url_string()]);
    drop(served);
    assert_eq!(counts(&db).0, all);
}

#[tokio::test]
async fn serve_no_demo_starts_empty() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--database", &db.url_string(), "--no-demo"]);
    let response = reqwest::get(format!(
        "{}/api/v1/records/{DEMO_INTENTION}",
        served.address
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    drop(served);
    assert_eq!(counts(&db), (0, 0));
}
