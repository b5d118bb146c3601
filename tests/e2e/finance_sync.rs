//! Files sources of the sync daemon (`spend_csv`, `threesixtygiving`) against a server on
//! 127.0.0.1 that serves the real Devon spend excerpts under a monthly URL pattern (the current
//! month answering 404, as before a council publishes it) and Trafford's 360Giving file, with a
//! 500 and a 429 + Retry-After on the way: exact rows imported, unchanged files not imported
//! again, a changed file adding only its new rows, unreadable and refused files, config errors.

use std::path::Path;

use chrono::{Datelike, Months, NaiveDate, Utc};
use diesel::prelude::*;
use register::{
    config::SourceSettings,
    schema::{grants, raw_payloads, spend_transactions, sync_runs},
    sync_store::{FileOutcome, RowReport, RunStatus},
    testing::TestDb,
};
use serde_json::{Value, json};
use sync::{
    runner::{self, RunReport, Source, SyncDb},
    testing::{FeedServer, Files, Reply},
};
use tokio::sync::watch;

use crate::{
    support::{TestApp, ocreg},
    sync::run_once,
};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(Path::new("fixtures/samples").join(name)).expect("read a sample")
}

/// Settings for a files source on a local server: no request spacing, tiny back-offs.
fn settings(fields: Value) -> SourceSettings {
    let mut value = json!({
        "request_interval_seconds": 0.0,
        "backoff_seconds": 0.01,
        "timeout_seconds": 5.0,
        "max_attempts": 4,
    });
    value
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    serde_json::from_value(value).expect("valid source settings")
}

fn outcomes(report: &RunReport) -> Vec<FileOutcome> {
    report.summary.files.iter().map(|f| f.outcome).collect()
}

/// (read, imported, duplicates, skipped, rejected) of each imported file.
fn counts(report: &RunReport) -> Vec<(u64, u64, u64, u64, u64)> {
    report
        .summary
        .files
        .iter()
        .filter_map(|f| f.rows.as_ref())
        .map(|r: &RowReport| (r.read, r.imported, r.duplicates, r.skipped, r.rejected))
        .collect()
}

fn spend_rows(db: &TestDb) -> Vec<(String, i64, NaiveDate, i64)> {
    let mut conn = db.url.connect().unwrap();
    spend_transactions::table
        .select((
            spend_transactions::source_file,
            spend_transactions::line,
            spend_transactions::payment_date,
            spend_transactions::amount_pence,
        ))
        .order((spend_transactions::source_file, spend_transactions::line))
        .load(&mut conn)
        .unwrap()
}

fn run_count(db: &TestDb) -> i64 {
    let mut conn = db.url.connect().unwrap();
    sync_runs::table.count().get_result(&mut conn).unwrap()
}

fn payload_count(db: &TestDb) -> i64 {
    let mut conn = db.url.connect().unwrap();
    raw_payloads::table.count().get_result(&mut conn).unwrap()
}

/// The first day of the month `back` months before the current one.
fn month(back: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    today.with_day(1).unwrap() - Months::new(back)
}

/// `/spend/{yyyy}/{mon}.csv` for `month`.
fn spend_path(month: NaiveDate) -> String {
    format!(
        "/spend/{}/{}.csv",
        month.year(),
        month.format("%b").to_string().to_lowercase()
    )
}

#[tokio::test]
async fn spend_months_import_once_through_faults_and_a_changed_file_adds_only_new_rows() {
    // Three months published (the real Devon excerpts), the current month not yet.
    let files = Files::new();
    let published = [
        (month(3), "devon_spend_over_500_2011-12_excerpt_cp1252.csv"),
        (month(2), "devon_spend_over_500_2019-05_excerpt.csv"),
        (month(1), "devon_spend_over_500_2026-03_excerpt.csv"),
    ];
    for (month, file) in published {
        files.put(&spend_path(month), "text/csv", sample(file));
    }
    let server = files.serve();
    // The first file's first answer is a 500; the second file's a 429 asking for a second.
    server.inject(
        0,
        Reply::Status {
            code: 500,
            headers: vec![],
            body: b"Internal Server Error".to_vec(),
        },
    );
    server.inject(
        2,
        Reply::Status {
            code: 429,
            headers: vec![("Retry-After".into(), "1".into())],
            body: b"Too many requests".to_vec(),
        },
    );
    let devon = settings(json!({
        "kind": "spend_csv",
        "publisher": "gb-lae-dev",
        "url_pattern": format!("{}/spend/{{yyyy}}/{{mon}}.csv", server.base_url()),
        "start": month(3).format("%Y-%m").to_string(),
    }));
    let db = TestDb::new();

    let first = run_once(&db, "devon", &devon).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(
        outcomes(&first),
        [
            FileOutcome::Imported,
            FileOutcome::Imported,
            FileOutcome::Imported,
            FileOutcome::NotPublished
        ]
    );
    let urls: Vec<String> = first.summary.files.iter().map(|f| f.url.clone()).collect();
    assert_eq!(
        urls[3],
        format!("{}{}", server.base_url(), spend_path(month(0)))
    );
    // The same figures as `ocreg import spend` of these files (tests/e2e/finance.rs).
    assert_eq!(
        counts(&first),
        [(8, 6, 0, 2, 0), (9, 9, 0, 0, 0), (12, 11, 0, 1, 0)]
    );
    let s = &first.summary;
    assert_eq!((s.requests, s.retries, s.pages), (6, 2, 3), "{s:?}");
    assert!(s.waited_seconds >= 1.0, "Retry-After honoured: {s:?}");
    assert_eq!(s.rejected, 0);
    let totals = s.rows.as_ref().expect("the files' totals");
    assert_eq!((totals.read, totals.imported, totals.skipped), (29, 26, 3));
    let stored = spend_rows(&db);
    assert_eq!(stored.len(), 26);
    // Each line keeps the URL it came from.
    let march: Vec<_> = stored.iter().filter(|l| l.0 == urls[2]).collect();
    assert_eq!(march.len(), 11);
    assert_eq!(march.iter().map(|l| l.3).sum::<i64>(), 19_375_399);
    assert!(stored.iter().any(|l| l.0 == urls[1] && l.3 == -57_171));
    // A run per file (with its quality report) and the source's own run; a body per file.
    assert_eq!(run_count(&db), 4);
    assert_eq!(payload_count(&db), 3);
    let file_run = first.summary.files[2].run_id.expect("the file's run");
    let mut conn = db.url.connect().unwrap();
    let run = register::sync_store::get_run(&mut conn, file_run)
        .unwrap()
        .unwrap();
    assert_eq!(run.source, "devon");
    let report = run.summary.rows.expect("a quality report");
    assert_eq!(
        (report.file.as_str(), report.skipped),
        (urls[2].as_str(), 1)
    );
    assert!(report.skips[0].at.starts_with("line "), "{report:?}");

    // Again: every file fetched, none imported again.
    let requests_before = server.requests().len();
    let second = run_once(&db, "devon", &devon).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(
        outcomes(&second),
        [
            FileOutcome::Unchanged,
            FileOutcome::Unchanged,
            FileOutcome::Unchanged,
            FileOutcome::NotPublished
        ]
    );
    assert_eq!(server.requests().len() - requests_before, 4);
    assert_eq!(run_count(&db), 5, "only the source's own run");
    assert_eq!(payload_count(&db), 3);
    assert_eq!(spend_rows(&db), stored);

    // The council corrects May: one payment added. Only that file is imported, adding one row.
    let mut may = sample("devon_spend_over_500_2019-05_excerpt.csv");
    may.extend_from_slice(
        b"18,Devon County Council,2019-05-31 00:00:00,CAPEYS34509999,EYP000000159999,1234.56,FAMILY HUB CIC,299999,,Children's Services,Other,5501,VEN\r\n",
    );
    files.put(&spend_path(month(2)), "text/csv", may);
    let third = run_once(&db, "devon", &devon).await;
    assert_eq!(third.status, RunStatus::Succeeded, "{:?}", third.error);
    assert_eq!(
        outcomes(&third),
        [
            FileOutcome::Unchanged,
            FileOutcome::Imported,
            FileOutcome::Unchanged,
            FileOutcome::NotPublished
        ]
    );
    assert_eq!(counts(&third), [(10, 1, 9, 0, 0)]);
    let after = spend_rows(&db);
    assert_eq!(after.len(), 27);
    assert!(after.contains(&(
        urls[1].clone(),
        11,
        NaiveDate::from_ymd_opt(2019, 5, 31).unwrap(),
        123_456
    )));
    assert_eq!((run_count(&db), payload_count(&db)), (7, 4));
}

#[tokio::test]
async fn grants_sync_on_its_schedule_once_and_show_in_the_status_api() {
    let files = Files::new();
    files.put(
        "/data/trafford.json",
        "application/json",
        sample("trafford_360giving_grants_excerpt.json"),
    );
    let server = files.serve();
    let mut trafford = settings(json!({
        "kind": "threesixtygiving",
        "urls": [format!("{}/data/trafford.json", server.base_url())],
    }));
    let db = TestDb::new();

    // The daemon runs it on its schedule (every second here).
    trafford.schedule = "* * * * * *".into();
    let source = Source::new("trafford", &trafford).unwrap();
    let sync_db = SyncDb {
        pool: db.pool(),
        url: db.url.clone(),
    };
    let (stop_tx, stop) = watch::channel(false);
    let (report_tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let daemon = tokio::spawn(sync::scheduler::run_daemon(
        sync_db,
        vec![source],
        stop,
        sync::relinker::EVERY,
        move |report: &RunReport| {
            let _ = report_tx.send(report.clone());
        },
    ));
    let first = reports.recv().await.expect("a scheduled run");
    stop_tx.send(true).unwrap();
    daemon.await.unwrap();
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(outcomes(&first), [FileOutcome::Imported]);
    assert_eq!(counts(&first), [(3, 3, 0, 0, 0)]);
    let mut conn = db.url.connect().unwrap();
    let stored: i64 = grants::table.count().get_result(&mut conn).unwrap();
    assert_eq!(stored, 3);

    let second = run_once(&db, "trafford", &trafford).await;
    assert_eq!(outcomes(&second), [FileOutcome::Unchanged]);
    assert_eq!(
        second.summary.files[0].content_hash,
        first.summary.files[0].content_hash
    );

    let mut config = register::Settings::default();
    config.sources.insert("trafford".into(), trafford);
    let state = api::AppState::from_settings(db.pool(), db.url.backend(), &config);
    let app = TestApp::spawn_with_state(state, Some(db));
    let sources: Value = app.get("/api/v1/sync/sources").await.json().await.unwrap();
    let status = &sources["data"][0];
    assert_eq!(status["name"], "trafford");
    assert_eq!(status["kind"], "threesixtygiving");
    assert_eq!(status["enabled"], true);
    assert_eq!(
        status["filters"]["urls"][0],
        format!("{}/data/trafford.json", server.base_url())
    );
    assert_eq!(status["last_run"]["status"], "succeeded");
    assert_eq!(
        status["last_run"]["summary"]["files"][0]["outcome"],
        "unchanged"
    );
    let file_run = first.summary.files[0].run_id.unwrap();
    let run: Value = app
        .get(&format!("/api/v1/sync/runs/{file_run}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["source"], "trafford");
    assert_eq!(run["summary"]["rows"]["imported"], 3);
}

/// `ocreg.toml` in `dir` with `sources` (TOML tables), and `ocreg sync run` on it.
fn sync_run(dir: &Path, db: &TestDb, sources: &str, only: &[&str]) -> std::process::Output {
    std::fs::write(dir.join("ocreg.toml"), sources).unwrap();
    let mut cmd = ocreg(dir);
    cmd.args(["--database", &db.url_string(), "sync", "run"]);
    for name in only {
        cmd.args(["--source", name]);
    }
    cmd.output().unwrap()
}

fn spend_source(name: &str, urls: &[String]) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[sources.{name}]\nkind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurls = [{}]\nrequest_interval_seconds = 0.0\nbackoff_seconds = 0.01\nmax_attempts = 2\n",
        urls.join(", ")
    )
}

#[tokio::test]
async fn an_unreadable_file_fails_alone_and_a_refused_file_fails_the_run() {
    let files = Files::new();
    files.put(
        "/spend/may.csv",
        "text/csv",
        sample("devon_spend_over_500_2019-05_excerpt.csv"),
    );
    // What council sites serve when a file has moved: a page, with 200.
    files.put(
        "/spend/june.csv",
        "text/html",
        "<!DOCTYPE html><html><body>This page has moved</body></html>",
    );
    let server: FeedServer = files.serve();
    let url = |path: &str| format!("{}{path}", server.base_url());
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();

    let config = spend_source("devon", &[url("/spend/june.csv"), url("/spend/may.csv")]);
    let output = sync_run(dir.path(), &db, &config, &["devon"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a file rejected: {stderr}");
    assert!(
        stderr.contains("devon: run ") && stderr.contains("2 file(s) due: 1 imported"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("imported {}", url("/spend/may.csv")))
            && stderr.contains("rows 9 read, 9 imported, 0 duplicates, 0 skipped, 0 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("failed {}", url("/spend/june.csv")))
            && stderr.contains("HTML or XML page"),
        "{stderr}"
    );
    assert_eq!(spend_rows(&db).len(), 9);
    // The unreadable file has a failed run of its own, with the reason.
    let mut conn = db.url.connect().unwrap();
    let failed: Vec<Option<String>> = sync_runs::table
        .filter(sync_runs::status.eq("failed"))
        .select(sync_runs::error)
        .load(&mut conn)
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].as_deref().unwrap().contains("june.csv"),
        "{failed:?}"
    );

    // A 403 is not "not published": the run fails (exit 2) naming the file; the rest is done.
    let forbids = FeedServer::start(|_| Reply::text(403, "Forbidden"));
    let config = spend_source(
        "devon",
        &[
            format!("{}/spend/june.csv", forbids.base_url()),
            url("/spend/may.csv"),
        ],
    );
    let output = sync_run(dir.path(), &db, &config, &["devon"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("source devon failed") && stderr.contains("HTTP 403"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("unchanged {}", url("/spend/may.csv"))),
        "{stderr}"
    );
    assert_eq!(spend_rows(&db).len(), 9);
}

#[test]
fn options_that_do_not_fit_the_kind_are_errors_naming_the_source() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[sources.fts]\nkind = \"find_a_tender\"\nurl_pattern = \"https://x/{yyyy}.csv\"\n",
            "source `fts`: option url_pattern is not used by kind `find_a_tender`",
        ),
        (
            "[sources.devon]\nkind = \"spend_csv\"\nurls = [\"https://x/a.csv\"]\ncpv = [\"85\"]\npublisher = \"GB-LAE-DEV\"\n",
            "source `devon`: option cpv is not used by kind `spend_csv`",
        ),
        (
            "[sources.devon]\nkind = \"spend_csv\"\nurls = [\"https://x/a.csv\"]\n",
            "source `devon`: kind `spend_csv` needs publisher",
        ),
        (
            "[sources.devon]\nkind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurl_pattern = \"https://x/{yyyy}-{mm}.csv\"\n",
            "source `devon`: kind `spend_csv` needs start",
        ),
        (
            "[sources.devon]\nkind = \"spend_csv\"\npublisher = \"GB-LAE-DEV\"\nurl_pattern = \"https://x/{yyyy}-{dd}.csv\"\nstart = \"2025-01\"\n",
            "source `devon`: url_pattern `https://x/{yyyy}-{dd}.csv`: unknown placeholder `{dd}`",
        ),
        (
            "[sources.grants]\nkind = \"threesixtygiving\"\n",
            "source `grants`: kind `threesixtygiving` needs urls",
        ),
    ];
    for (config, expected) in cases {
        let output = sync_run(dir.path(), &db, config, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{config}");
        assert!(stderr.contains(expected), "{config}\n{stderr}");
    }
    assert_eq!(run_count(&db), 0, "nothing ran");
}

/// The examples in the README and in `ocreg.toml` (commented out there) are valid sources.
#[test]
fn documented_examples_are_valid_sources() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme
        .split("### Council spend and 360Giving grants")
        .nth(1)
        .expect("the README section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a TOML example");
    let toml_file = std::fs::read_to_string("ocreg.toml").unwrap();
    let commented: String = toml_file
        .split("# Files sources")
        .nth(1)
        .expect("the commented-out example")
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| line.starts_with('[') || line.contains(" = "))
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ocreg.toml");
    for text in [example, commented.as_str()] {
        std::fs::write(&file, text).unwrap();
        let settings = register::Settings::load(Some(&file), Vec::new()).expect(text);
        let sources = runner::sources(&settings, &[]).expect(text);
        let kinds: Vec<&str> = sources.iter().map(|s| s.settings.kind.code()).collect();
        assert_eq!(kinds, ["spend_csv", "threesixtygiving"], "{text}");
        assert!(sources.iter().all(|s| s.schedule.is_some()));
    }
}

/// A files source takes the same lock as the feeds: while another process holds it, a run
/// does nothing, not even fetch.
#[tokio::test]
async fn a_files_source_held_elsewhere_is_skipped() {
    let files = Files::new();
    files.put(
        "/g.json",
        "application/json",
        sample("trafford_360giving_grants_excerpt.json"),
    );
    let server = files.serve();
    let trafford = settings(json!({
        "kind": "threesixtygiving",
        "urls": [format!("{}/g.json", server.base_url())],
    }));
    let db = TestDb::new();
    let held = register::sync_store::try_lock_source(&db.pool(), &db.url, "trafford")
        .unwrap()
        .expect("the lock is free");
    let source = Source::new("trafford", &trafford).unwrap();
    let sync_db = SyncDb {
        pool: db.pool(),
        url: db.url.clone(),
    };
    let (_keep, mut stop) = watch::channel(false);
    let report = runner::run_source(&sync_db, &source, &mut stop)
        .await
        .unwrap();
    assert!(report.skipped);
    assert!(server.requests().is_empty());
    assert_eq!(run_count(&db), 0);
    drop(held);
    let report = run_once(&db, "trafford", &trafford).await;
    assert_eq!(outcomes(&report), [FileOutcome::Imported]);
}

/// A server that keeps failing ends the run (failed, naming the file); the files after it are
/// left for the next run rather than asked of a server in trouble.
#[tokio::test]
async fn a_server_that_keeps_failing_ends_the_run() {
    let server = FeedServer::start(|_| Reply::text(503, "Service Unavailable"));
    let devon = settings(json!({
        "kind": "spend_csv",
        "publisher": "GB-LAE-DEV",
        "urls": [
            format!("{}/spend/a.csv", server.base_url()),
            format!("{}/spend/b.csv", server.base_url()),
        ],
        "max_attempts": 3,
    }));
    let db = TestDb::new();
    let report = run_once(&db, "devon", &devon).await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(outcomes(&report), [FileOutcome::Failed]);
    let error = report.error.unwrap();
    assert!(
        error.contains("/spend/a.csv") && error.contains("gave up after 3 attempts"),
        "{error}"
    );
    assert_eq!((report.summary.requests, report.summary.retries), (3, 2));
    assert_eq!(server.requests().len(), 3, "b.csv is not asked for");
    let mut conn = db.url.connect().unwrap();
    let state = register::sync_store::source_state(&mut conn, "devon").unwrap();
    assert_eq!(state.last_error.as_deref(), Some(error.as_str()));
}
