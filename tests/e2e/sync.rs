//! The sync daemon against real HTTP servers on 127.0.0.1 that replay real-shaped feed pages
//! (the Find a Tender and Contracts Finder samples) and misbehave as the real services do:
//! 429 with Retry-After, 500s, stalls past the timeout, truncated bodies, a full page without
//! `links`, invalid numbers, bytes that are not UTF-8, Contracts Finder's 403 rate-limit page.

use std::{
    collections::BTreeSet,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use register::{
    config::SourceSettings,
    schema::{raw_payloads, records, releases, sync_quarantine, sync_runs},
    sync_store::RunStatus,
    testing::TestDb,
};
use serde_json::{Value, json};
use sync::{
    runner::{self, RunReport, Source, SyncDb},
    testing::{FeedServer, FeedStyle, OcdsFeed, Reply, Request},
};
use tokio::sync::watch;

use crate::support::{Served, TestApp, ocreg};

const SAMPLES: &str = "fixtures/demo";

fn sample_releases(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{SAMPLES}/{file}")).expect("read a sample");
    let package: Value = serde_json::from_str(&text).expect("the sample is JSON");
    package["releases"].as_array().expect("releases").clone()
}

/// Settings for a source on a local server: no request spacing, tiny back-offs, a short
/// timeout, and one window from `start` to now.
fn settings(kind: &str, base_url: &str, start: &str, page_size: u32) -> SourceSettings {
    serde_json::from_value(json!({
        "kind": kind,
        "base_url": base_url,
        "start": start,
        "window_hours": 24.0 * 400.0,
        "page_size": page_size,
        "request_interval_seconds": 0.0,
        "backoff_seconds": 0.01,
        "timeout_seconds": 1.0,
        "max_attempts": 6,
        "rate_limited_wait_seconds": 0.3,
    }))
    .expect("valid source settings")
}

/// Runs source `name` once in this process (also used by the files sources' tests).
pub(crate) async fn run_once(db: &TestDb, name: &str, settings: &SourceSettings) -> RunReport {
    let source = Source::new(name, settings).expect("a valid source");
    let sync_db = SyncDb {
        pool: db.pool(),
        url: db.url.clone(),
    };
    let (_keep, mut stop) = watch::channel(false);
    let report = runner::run_source(&sync_db, &source, &mut stop)
        .await
        .expect("the run's bookkeeping works");
    assert!(!report.skipped, "no other process syncs {name}");
    report
}

/// Stored releases (ocid, id, content hash) and records (ocid, compiled release), sorted.
type Snapshot = (Vec<(String, String, String)>, Vec<(String, String)>);

fn snapshot(db: &TestDb) -> Snapshot {
    let mut conn = db.url.connect().unwrap();
    let stored = releases::table
        .select((releases::ocid, releases::release_id, releases::content_hash))
        .order((releases::ocid, releases::release_id))
        .load(&mut conn)
        .unwrap();
    let compiled = records::table
        .select((records::ocid, records::compiled_release))
        .order(records::ocid)
        .load(&mut conn)
        .unwrap();
    (stored, compiled)
}

fn ids(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot.0.iter().map(|(_, id, _)| id.clone()).collect()
}

/// Applies `edit` to the body of every JSON page the feed serves.
fn edit_pages(reply: Reply, edit: impl Fn(Vec<u8>) -> Vec<u8>) -> Reply {
    match reply {
        Reply::Json(body) => Reply::Json(edit(body)),
        other => other,
    }
}

fn replace(body: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body.as_slice();
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn quarantined(db: &TestDb) -> Vec<(Option<String>, String)> {
    let mut conn = db.url.connect().unwrap();
    sync_quarantine::table
        .select((sync_quarantine::release_id, sync_quarantine::reason))
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn find_a_tender_sync_survives_faults_and_keeps_every_release_once() {
    let mut releases = sample_releases("fts_ocds_release_package_children_services.json");
    assert_eq!(releases.len(), 17);
    // As on real pages: one release with a number no float holds, one with leading zeros.
    releases[2]["tender"]["value"]["amount"] = json!("@@OVERFLOW@@");
    releases[3]["tender"]["value"]["amount"] = json!("@@ZEROS@@");
    let overflowing = releases[2]["id"].as_str().unwrap().to_owned();
    let zeros = (
        releases[3]["ocid"].as_str().unwrap().to_owned(),
        releases[3]["id"].as_str().unwrap().to_owned(),
    );
    let expected: BTreeSet<String> = releases
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .filter(|id| *id != overflowing)
        .collect();

    let feed = OcdsFeed::new(FeedStyle::FindATender, releases).with_page_size(5);
    let links_dropped = Arc::new(AtomicBool::new(false));
    let dropped = Arc::clone(&links_dropped);
    let server = FeedServer::start(move |request: &Request| {
        let reply = edit_pages(feed.reply(request), |body| {
            let body = replace(body, b"\"@@OVERFLOW@@\"", b"1e9999");
            replace(body, b"\"@@ZEROS@@\"", b"000")
        });
        // The second page of the first window comes without `links` once, although two more
        // pages follow (as Find a Tender did in July 2026).
        if request.param("cursor").is_some() && !dropped.swap(true, Ordering::SeqCst) {
            return edit_pages(reply, |body| {
                let mut page: Value = serde_json::from_slice(&body).unwrap();
                page.as_object_mut().unwrap().remove("links");
                page.to_string().into_bytes()
            });
        }
        reply
    });
    server.inject(
        0,
        Reply::Status {
            code: 429,
            headers: vec![("Retry-After".into(), "1".into())],
            body: b"Rate limit of 12 exceeded. Please retry after 1 seconds.".to_vec(),
        },
    );
    server.inject(
        1,
        Reply::Status {
            code: 500,
            headers: vec![],
            body: b"Internal Server Error".to_vec(),
        },
    );
    server.inject(2, Reply::Stall(Duration::from_secs(3)));
    server.inject(
        3,
        Reply::Truncated {
            body: br#"{"uri": "x", "releases": [{"ocid": "ocds-h6vhtk-000001", "id": "1", "date": "2026-08-01T00:00:00Z", "tag": ["planning"]}]}"#.to_vec(),
            keep: 40,
        },
    );

    let db = TestDb::new();
    let fts = settings("find_a_tender", &server.base_url(), "2026-07-01", 5);
    let started = Instant::now();
    let report = run_once(&db, "fts", &fts).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert!(links_dropped.load(Ordering::SeqCst));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let s = &report.summary;
    assert!(s.retries >= 4, "{s:?}");
    assert!(s.waited_seconds >= 1.0, "{s:?}");
    assert_eq!(s.releases_new + s.releases_updated, 16, "{s:?}");
    assert_eq!((s.rejected, s.repaired), (1, 1), "{s:?}");
    assert!(s.rejects[0].reason.contains("out of range"), "{s:?}");
    assert_eq!(s.rejects[0].id.as_deref(), Some(overflowing.as_str()));

    let after = snapshot(&db);
    assert_eq!(
        ids(&after),
        expected,
        "every release but the unusable one, once"
    );
    assert_eq!(after.0.len(), 16, "nothing duplicated");
    let ocids: BTreeSet<&str> = after.0.iter().map(|(o, _, _)| o.as_str()).collect();
    assert_eq!(after.1.len(), ocids.len(), "one record per process");
    let mut conn = db.url.connect().unwrap();
    let repaired: String = releases::table
        .filter(releases::ocid.eq(&zeros.0))
        .filter(releases::release_id.eq(&zeros.1))
        .select(releases::body)
        .first(&mut conn)
        .unwrap();
    let repaired: Value = serde_json::from_str(&repaired).unwrap();
    assert_eq!(repaired["tender"]["value"]["amount"], json!(0));
    assert_eq!(quarantined(&db).len(), 1);
    let payloads: i64 = raw_payloads::table.count().get_result(&mut conn).unwrap();
    assert_eq!(
        payloads as u64, s.pages,
        "one raw payload per committed page"
    );

    // The same windows again (a second source over the same feed) add nothing.
    let again = run_once(&db, "fts-again", &fts).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.error);
    assert_eq!(
        (again.summary.releases_new, again.summary.releases_updated),
        (0, 0),
        "{:?}",
        again.summary
    );
    assert_eq!(again.summary.releases_unchanged, 16);
    assert_eq!(snapshot(&db), after);
}

#[tokio::test]
async fn contracts_finder_sync_backs_off_on_its_rate_limit_page_and_repairs_bad_utf8() {
    let releases = sample_releases("contracts_finder_ocds_search_page_excerpt_2022.json");
    assert_eq!(releases.len(), 7);
    let expected: BTreeSet<String> = releases
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let feed = OcdsFeed::new(FeedStyle::ContractsFinder, releases).with_page_size(3);
    let server = FeedServer::start(move |request: &Request| {
        // A cp1252 byte where UTF-8 was promised, as some Contracts Finder pages have.
        edit_pages(feed.reply(request), |body| {
            replace(
                body,
                b"Domestic Abuse Support Service",
                b"Domestic Abuse Support Servic\xe9",
            )
        })
    });
    server.inject(
        0,
        Reply::Status {
            code: 403,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body><h1>Request forbidden</h1><p>The request rate limit may have been exceeded.</p></body></html>".to_vec(),
        },
    );
    server.inject(
        2,
        Reply::Status {
            code: 503,
            headers: vec![("Retry-After".into(), "1".into())],
            body: b"Service Unavailable".to_vec(),
        },
    );

    let db = TestDb::new();
    let cf = settings("contracts_finder", &server.base_url(), "2022-10-01", 3);
    let report = run_once(&db, "cf", &cf).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    let s = &report.summary;
    assert_eq!(s.releases_new + s.releases_updated, 7, "{s:?}");
    assert_eq!((s.rejected, s.repaired), (0, 1), "{s:?}");
    assert!(s.retries >= 2 && s.waited_seconds >= 1.3, "{s:?}");
    let after = snapshot(&db);
    assert_eq!(ids(&after), expected);
    let mut conn = db.url.connect().unwrap();
    let title: String = records::table
        .filter(records::title.like("Domestic Abuse Support Servic%"))
        .select(records::title.assume_not_null())
        .first(&mut conn)
        .unwrap();
    assert_eq!(title, "Domestic Abuse Support Servic\u{FFFD}");
}

#[tokio::test]
async fn a_permanent_error_fails_the_run_and_the_next_run_resumes() {
    let releases = sample_releases("fts_ocds_release_package_children_services.json");
    let feed = OcdsFeed::new(FeedStyle::FindATender, releases).with_page_size(5);
    let broken = Arc::new(AtomicBool::new(true));
    let failing = Arc::clone(&broken);
    let server = FeedServer::start(move |request: &Request| {
        if request.param("cursor").is_some() && failing.load(Ordering::SeqCst) {
            return Reply::Status {
                code: 500,
                headers: vec![],
                body: b"down".to_vec(),
            };
        }
        feed.reply(request)
    });
    let db = TestDb::new();
    let fts = settings("find_a_tender", &server.base_url(), "2026-07-01", 5);
    let first = run_once(&db, "fts", &fts).await;
    assert_eq!(first.status, RunStatus::Failed);
    let error = first.error.clone().unwrap();
    assert!(error.contains("500") && error.contains("6"), "{error}");
    assert_eq!(first.summary.pages, 1, "the first page was kept");
    assert_eq!(snapshot(&db).0.len(), 5);

    broken.store(false, Ordering::SeqCst);
    let asked = server.requests().len();
    let second = run_once(&db, "fts", &fts).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(snapshot(&db).0.len(), 17);
    assert!(
        server.requests()[asked].param("cursor").is_some(),
        "resumed at the second page"
    );
    assert_eq!(
        second.summary.releases_unchanged, 0,
        "the first page was not fetched again"
    );
}

fn release(ocid: &str, id: &str, date: &str, buyer: &str, title: &str, amount: f64) -> Value {
    json!({
        "ocid": ocid, "id": id, "date": date, "tag": ["tender"], "initiationType": "tender",
        "buyer": {"id": format!("GB-TEST-{}", buyer.len()), "name": buyer},
        "parties": [{"id": format!("GB-TEST-{}", buyer.len()), "name": buyer, "roles": ["buyer"]}],
        "tender": {
            "id": format!("{id}-tender"), "title": title, "status": "active",
            "value": {"amount": amount, "currency": "GBP"},
            "tenderPeriod": {"endDate": "2030-01-01T12:00:00Z"}
        }
    })
}

#[tokio::test]
async fn one_procurement_on_both_services_is_listed_once() {
    let fts_ocid = "ocds-h6vhtk-0a0001";
    let cf_same = "ocds-b5fd17-11111111-0000-0000-0000-000000000001";
    let cf_other = "ocds-b5fd17-22222222-0000-0000-0000-000000000002";
    let fts_server = OcdsFeed::new(
        FeedStyle::FindATender,
        vec![release(
            fts_ocid,
            "000001-2026",
            "2026-09-01T10:00:00+01:00",
            "Devon County Council",
            "Foster Care Framework 2027",
            1_200_000.0,
        )],
    )
    .serve();
    let cf_server = OcdsFeed::new(
        FeedStyle::ContractsFinder,
        vec![
            // The same notice: case, punctuation and VAT aside.
            release(
                cf_same,
                "aaaa-1",
                "2026-09-01T11:00:00Z",
                "DEVON COUNTY COUNCIL",
                "Foster care framework - 2027",
                1_000_000.0,
            ),
            // Same title, another buyer: a different procurement.
            release(
                cf_other,
                "bbbb-1",
                "2026-09-02T11:00:00Z",
                "Cornwall Council",
                "Foster Care Framework 2027",
                1_000_000.0,
            ),
        ],
    )
    .serve();
    let db = TestDb::new();
    // Contracts Finder first: the link is made whichever service arrives first.
    let cf = run_once(
        &db,
        "cf",
        &settings("contracts_finder", &cf_server.base_url(), "2026-08-01", 100),
    )
    .await;
    assert_eq!(cf.status, RunStatus::Succeeded, "{:?}", cf.error);
    let fts = run_once(
        &db,
        "fts",
        &settings("find_a_tender", &fts_server.base_url(), "2026-08-01", 100),
    )
    .await;
    assert_eq!(fts.status, RunStatus::Succeeded, "{:?}", fts.error);

    let mut conn = db.url.connect().unwrap();
    let links: Vec<(String, Option<String>)> = records::table
        .select((records::ocid, records::same_as))
        .order(records::ocid)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        links,
        vec![
            (cf_same.to_owned(), Some(fts_ocid.to_owned())),
            (cf_other.to_owned(), None),
            (fts_ocid.to_owned(), None),
        ]
    );
    drop(conn);

    let pool = db.pool();
    let backend = db.url.backend();
    let app = TestApp::spawn_with_pool(pool, backend, Some(db));
    let listed: Value = app
        .get("/api/v1/opportunities?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let listed: BTreeSet<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["ocid"].as_str().unwrap())
        .collect();
    assert_eq!(listed, BTreeSet::from([fts_ocid, cf_other]));
    let kept = app.get(&format!("/api/v1/records/{cf_same}")).await;
    assert_eq!(kept.status(), 200, "both publications stay readable");
}

#[tokio::test]
async fn sync_status_shows_sources_and_runs() {
    let releases = sample_releases("fts_ocds_release_package_children_services.json");
    let server = OcdsFeed::new(FeedStyle::FindATender, releases)
        .with_page_size(10)
        .serve();
    let db = TestDb::new();
    let fts = settings("find_a_tender", &server.base_url(), "2026-07-01", 10);
    let report = run_once(&db, "fts", &fts).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);

    let mut config = register::Settings::default();
    config.sources.insert("fts".into(), fts.clone());
    let mut idle = fts.clone();
    idle.schedule = "0 0 3 * * *".into();
    config.sources.insert("never-run".into(), idle);
    let pool = db.pool();
    let state = api::AppState::from_settings(pool, db.url.backend(), &config);
    let app = TestApp::spawn_with_state(state, Some(db));

    let sources: Value = app.get("/api/v1/sync/sources").await.json().await.unwrap();
    let fts_status = &sources["data"][0];
    assert_eq!(fts_status["name"], "fts");
    assert_eq!(fts_status["kind"], "find_a_tender");
    assert_eq!(fts_status["enabled"], false, "no schedule");
    assert_eq!(fts_status["last_run"]["status"], "succeeded");
    assert_eq!(fts_status["releases"], 17);
    assert_eq!(fts_status["quarantined"], 0);
    assert!(fts_status["high_water_mark"].is_string());
    assert!(fts_status["lag_seconds"].as_i64().unwrap() < 600);
    assert!(fts_status["last_error"].is_null());
    let idle_status = &sources["data"][1];
    assert_eq!(idle_status["name"], "never-run");
    assert_eq!(idle_status["enabled"], true);
    assert!(idle_status["last_run"].is_null());

    let runs: Value = app.get("/api/v1/sync/runs").await.json().await.unwrap();
    let run = &runs["data"][0];
    assert_eq!(run["source"], "fts");
    assert_eq!(run["summary"]["pages"], 2);
    assert_eq!(run["summary"]["releases_new"], 17);
    let id = run["id"].as_i64().unwrap();
    let one: Value = app
        .get(&format!("/api/v1/sync/runs/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], id);
    assert!(one["holder"].as_str().unwrap().contains(':'));
    assert_eq!(app.get("/api/v1/sync/runs/99999").await.status(), 404);
    assert_eq!(app.get("/api/v1/sync/runs?limit=0").await.status(), 400);
}

/// `n` processes of three releases each (planning, tender, award), a minute apart.
fn synthetic_releases(n: usize) -> Vec<Value> {
    let base = Utc.with_ymd_and_hms(2026, 10, 1, 8, 0, 0).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let ocid = format!("ocds-h6vhtk-{:06x}", 0x10_0000 + i);
        for (k, tag) in ["planning", "tender", "award"].iter().enumerate() {
            let date = base + chrono::Duration::minutes((i * 3 + k) as i64);
            let mut r = release(
                &ocid,
                &format!("{:06}-2026", i * 3 + k),
                &date.to_rfc3339(),
                "Test Borough Council",
                &format!("Children's service {i}"),
                1000.0 * (i + 1) as f64,
            );
            r["tag"] = json!([tag]);
            out.push(r);
        }
    }
    out
}

/// Environment settings for the binary: one Find a Tender source on `base_url`.
fn source_env(cmd: &mut std::process::Command, base_url: &str, page_size: u32) {
    for (key, value) in [
        ("KIND", "find_a_tender".to_owned()),
        ("BASE_URL", base_url.to_owned()),
        ("START", "2026-09-30".to_owned()),
        ("WINDOW_HOURS", "2400".to_owned()),
        ("PAGE_SIZE", page_size.to_string()),
        ("REQUEST_INTERVAL_SECONDS", "0".to_owned()),
        ("BACKOFF_SECONDS", "0.01".to_owned()),
        ("TIMEOUT_SECONDS", "5".to_owned()),
    ] {
        cmd.env(format!("OCREG_SOURCES__FEED__{key}"), value);
    }
}

fn committed_pages(db: &TestDb) -> i64 {
    let Ok(mut conn) = db.url.connect() else {
        return 0;
    };
    raw_payloads::table
        .count()
        .get_result(&mut conn)
        .unwrap_or(0)
}

#[test]
fn a_sync_killed_mid_run_resumes_to_the_same_state() {
    let releases = synthetic_releases(40);
    let slow = |feed: OcdsFeed| {
        FeedServer::start(move |request: &Request| {
            std::thread::sleep(Duration::from_millis(40));
            feed.reply(request)
        })
    };
    let dir = tempfile::tempdir().unwrap();

    // The reference: one uninterrupted run.
    let reference_db = TestDb::new();
    let server = slow(OcdsFeed::new(FeedStyle::FindATender, releases.clone()).with_page_size(5));
    let mut cmd = ocreg(dir.path());
    source_env(&mut cmd, &server.base_url(), 5);
    let output = cmd
        .args(["--database", &reference_db.url_string(), "sync", "run"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference = snapshot(&reference_db);
    assert_eq!(reference.0.len(), 120);

    // Killed with SIGKILL after some pages were committed, then run again.
    let db = TestDb::new();
    let server = slow(OcdsFeed::new(FeedStyle::FindATender, releases).with_page_size(5));
    let mut cmd = ocreg(dir.path());
    source_env(&mut cmd, &server.base_url(), 5);
    let mut child = cmd
        .args(["--database", &db.url_string(), "sync", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_pages(&db) < 6 {
        assert!(Instant::now() < deadline, "the sync never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended too soon"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = snapshot(&db);
    assert!(
        !partial.0.is_empty() && partial.0.len() < 120,
        "killed part-way: {} releases",
        partial.0.len()
    );
    let asked = server.requests().len();

    let mut cmd = ocreg(dir.path());
    source_env(&mut cmd, &server.base_url(), 5);
    let output = cmd
        .args(["--database", &db.url_string(), "sync", "run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        snapshot(&db),
        reference,
        "same final state as the uninterrupted run"
    );
    assert!(
        server.requests()[asked].param("cursor").is_some(),
        "the second run resumed at a next page, not at the window's start"
    );
    let mut conn = db.url.connect().unwrap();
    let statuses: Vec<String> = sync_runs::table
        .select(sync_runs::status)
        .order(sync_runs::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(statuses, ["interrupted", "succeeded"]);
}

#[test]
fn two_daemons_on_postgresql_never_sync_one_source_at_once() {
    let db = TestDb::postgres();
    let feed = OcdsFeed::new(FeedStyle::FindATender, synthetic_releases(20)).with_page_size(6);
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    let server = FeedServer::start(move |request: &Request| {
        counted.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(60));
        feed.reply(request)
    });
    let dir = tempfile::tempdir().unwrap();
    let start_daemon = || {
        let mut cmd = ocreg(dir.path());
        source_env(&mut cmd, &server.base_url(), 6);
        // Every second, and each run walks the whole feed again (ten pages, over half a
        // second), so the two daemons' runs are due at the same moments.
        cmd.env("OCREG_SOURCES__FEED__SCHEDULE", "* * * * * *")
            .env("OCREG_SOURCES__FEED__OVERLAP_MINUTES", "1000000")
            .args(["--database", &db.url_string(), "sync", "daemon"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let daemons = [start_daemon(), start_daemon()];
    std::thread::sleep(Duration::from_secs(6));
    let mut logs = String::new();
    for daemon in daemons {
        let stopped = std::process::Command::new("kill")
            .args(["-TERM", &daemon.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let output = daemon.wait_with_output().unwrap();
        assert!(output.status.success());
        logs.push_str(&String::from_utf8_lossy(&output.stderr));
    }

    assert_eq!(server.max_in_flight(), 1, "never two requests at once");
    assert!(
        logs.contains("another process is syncing this source"),
        "the daemons did contend for the source:\n{logs}"
    );
    let mut conn = db.url.connect().unwrap();
    let runs: Vec<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>, String)> =
        sync_runs::table
            .select((
                sync_runs::started_at,
                sync_runs::finished_at,
                sync_runs::status,
            ))
            .order(sync_runs::started_at)
            .load(&mut conn)
            .unwrap();
    assert!(runs.len() >= 3, "{runs:?}");
    for pair in runs.windows(2) {
        let finished = pair[0].1.expect("every run finished");
        assert!(
            pair[1].0 >= finished,
            "a run started before the previous one finished: {pair:?}"
        );
    }
    assert!(requests.load(Ordering::SeqCst) >= 20);
    assert_eq!(snapshot(&db).0.len(), 60);
}

#[tokio::test]
async fn serve_runs_the_sync_daemon_unless_told_not_to() {
    let releases = sample_releases("fts_ocds_release_package_children_services.json");
    let server = OcdsFeed::new(FeedStyle::FindATender, releases)
        .with_page_size(10)
        .serve();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ocreg.toml"),
        format!(
            "[sources.fts]\nkind = \"find_a_tender\"\nbase_url = \"{}\"\nschedule = \"* * * * * *\"\n\
             start = \"2026-07-01\"\nwindow_hours = 10000\nrequest_interval_seconds = 0\n",
            server.base_url()
        ),
    )
    .unwrap();
    let sources = |address: String| async move {
        let body: Value = reqwest::get(format!("{address}/api/v1/sync/sources"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"][0].clone()
    };

    let db = TestDb::new();
    let served = Served::start(dir.path(), &["--database", &db.url_string(), "--no-demo"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = sources(served.address.clone()).await;
        if status["last_run"]["status"] == "succeeded" {
            break status;
        }
        assert!(Instant::now() < deadline, "no sync run finished: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["name"], "fts");
    assert_eq!(status["enabled"], true);
    assert_eq!(status["releases"], 17);
    assert!(served.terminate(), "serve stops cleanly with its daemon");

    let quiet_db = TestDb::new();
    let served = Served::start(
        dir.path(),
        &[
            "--database",
            &quiet_db.url_string(),
            "--no-demo",
            "--no-sync",
        ],
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = sources(served.address.clone()).await;
    assert!(status["last_run"].is_null(), "{status}");
    assert_eq!(status["releases"], 0);
}
