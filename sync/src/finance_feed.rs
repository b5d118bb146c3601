//! Files sources: a council's spend CSVs (`spend_csv`, from a list of URLs or one URL pattern
//! per month) and 360Giving grants files (`threesixtygiving`, from a list of URLs).
//!
//! Every run fetches every due file again (published files get corrected), and imports a file
//! only when its content differs from the content last imported from that URL: the bodies are
//! kept as raw payloads of the source, linked to the run that imported them, so the content
//! hash of the last successful import of each URL is known. Each import is one transaction and
//! one run of the source with the file's quality report ([`crate::file_import`]); re-importing
//! rows already stored adds nothing (row hashes). The run of the source itself is recorded when
//! it ends, with what each file came to ([`FileNote`]).
//!
//! A month of a pattern answering 404 is not published (yet), which is not a failure. Other
//! refusals fail the run, and the other files are still tried; a server that keeps failing
//! (retries exhausted) ends the run, to be resumed on the next schedule. A file that does not
//! parse records a failed run of its own and counts as rejected; the other files still import.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use diesel::prelude::*;
use register::{
    config::{SourceKind, SourceSettings},
    digest::sha256_hex,
    org_ids::normalise_org_id,
    schema::{raw_payloads, sync_runs},
    sync_store::{
        self, FileNote, FileOutcome, Payload, RejectNote, RowReport, RunStatus, RunSummary,
    },
};
use tokio::sync::watch;

use crate::{
    file_import::{FileImportError, import_grants, import_spend},
    http::FetchError,
    runner::{RunError, RunReport, Source, SyncDb, blocking, holder, settings_json, stopped},
};

/// The month placeholders of `url_pattern`, as written in it, with what each becomes for
/// January 2024.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("{yyyy}", "2024"),
    ("{yy}", "24"),
    ("{mm}", "01"),
    ("{m}", "1"),
    ("{mon}", "jan"),
    ("{Mon}", "Jan"),
    ("{MON}", "JAN"),
    ("{month}", "january"),
    ("{Month}", "January"),
    ("{MONTH}", "JANUARY"),
];

/// What a files source imports, and from where.
#[derive(Debug, Clone, PartialEq)]
pub struct FilesFeed {
    /// Spend of this publisher (a normalised org-id), or grants when `None`.
    publisher: Option<String>,
    urls: Urls,
}

#[derive(Debug, Clone, PartialEq)]
enum Urls {
    List(Vec<String>),
    /// One file per month from `first` (the first day of a month) to the current month.
    Monthly {
        pattern: String,
        first: NaiveDate,
    },
}

/// A file to fetch in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct DueFile {
    pub url: String,
    /// Expanded from a pattern: a 404 means "not published yet".
    pub monthly: bool,
}

impl FilesFeed {
    /// Reads the settings of a files source whose options are already checked
    /// ([`SourceSettings::check_options`]); `Err` says which value is wrong.
    pub fn new(settings: &SourceSettings) -> Result<Self, String> {
        let publisher = match settings.kind {
            SourceKind::SpendCsv => Some(normalise_org_id(&settings.publisher).ok_or_else(|| {
                format!(
                    "publisher `{}` is not an org-id (e.g. GB-LAE-DEV for Devon County Council)",
                    settings.publisher
                )
            })?),
            _ => None,
        };
        for url in &settings.urls {
            check_url(url)?;
        }
        let urls = if settings.url_pattern.is_empty() {
            Urls::List(settings.urls.clone())
        } else {
            let pattern = settings.url_pattern.trim().to_owned();
            check_url(&pattern)?;
            check_pattern(&pattern)?;
            let start = settings.start.trim();
            let first = parse_month(start).ok_or_else(|| {
                format!("start `{start}` is not a month (2024-04) or a date (2024-04-01)")
            })?;
            Urls::Monthly { pattern, first }
        };
        Ok(Self { publisher, urls })
    }

    /// The files due when today is `today`, oldest month first, each URL once (a pattern with
    /// only `{yyyy}` names one yearly file for twelve months).
    pub fn due(&self, today: NaiveDate) -> Vec<DueFile> {
        let mut seen = HashSet::new();
        let mut due = self.every_due(today);
        due.retain(|file| seen.insert(file.url.clone()));
        due
    }

    fn every_due(&self, today: NaiveDate) -> Vec<DueFile> {
        match &self.urls {
            Urls::List(urls) => urls
                .iter()
                .map(|url| DueFile {
                    url: url.clone(),
                    monthly: false,
                })
                .collect(),
            Urls::Monthly { pattern, first } => {
                let mut out = Vec::new();
                let mut month = *first;
                while month <= today {
                    out.push(DueFile {
                        url: expand(pattern, month),
                        monthly: true,
                    });
                    month = month + Months::new(1);
                }
                out
            }
        }
    }
}

fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("url `{url}` must start with http:// or https://"))
    }
}

/// A pattern must name its month, with known placeholders only (a typo would otherwise fetch
/// the same wrong URL every month).
fn check_pattern(pattern: &str) -> Result<(), String> {
    let known = || {
        PLACEHOLDERS
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rest = pattern;
    let mut found = false;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "url_pattern `{pattern}` has a `{{` without `}}`; placeholders: {}",
                known()
            ));
        };
        let placeholder = &after[..=close];
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == placeholder) {
            return Err(format!(
                "url_pattern `{pattern}`: unknown placeholder `{placeholder}`; placeholders: {}",
                known()
            ));
        }
        found = true;
        rest = &after[close + 1..];
    }
    if found {
        Ok(())
    } else {
        Err(format!(
            "url_pattern `{pattern}` has no month placeholder ({}); one file is `urls = [...]`",
            known()
        ))
    }
}

/// `pattern` for the month of `month`.
pub fn expand(pattern: &str, month: NaiveDate) -> String {
    let full = month.format("%B").to_string();
    let short = month.format("%b").to_string();
    let values = [
        format!("{:04}", month.year()),
        format!("{:02}", month.year().rem_euclid(100)),
        format!("{:02}", month.month()),
        month.month().to_string(),
        short.to_lowercase(),
        short.clone(),
        short.to_uppercase(),
        full.to_lowercase(),
        full.clone(),
        full.to_uppercase(),
    ];
    let mut out = pattern.to_owned();
    for ((placeholder, _), value) in PLACEHOLDERS.iter().zip(values) {
        out = out.replace(placeholder, &value);
    }
    out
}

/// The first day of the month `text` names: `2024-04`, `2024-04-17` or an RFC 3339 time.
fn parse_month(text: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.date_naive())
        })?;
    date.with_day(1)
}

/// What the register already holds of a source's files.
#[derive(Default)]
struct Known {
    /// URL → content hash of its last successful import.
    imported: HashMap<String, String>,
    /// (URL, content hash) of every body kept, so a body is kept once.
    kept: HashSet<(String, String)>,
}

fn known_files(
    conn: &mut register::DbConnection,
    source_id: i64,
) -> Result<Known, sync_store::SyncStoreError> {
    let rows: Vec<(String, String, Option<String>)> = raw_payloads::table
        .left_join(sync_runs::table)
        .filter(raw_payloads::source_id.eq(source_id))
        .select((
            raw_payloads::url,
            raw_payloads::content_hash,
            sync_runs::status.nullable(),
        ))
        .order(raw_payloads::id)
        .load(conn)?;
    let mut known = Known::default();
    for (url, hash, status) in rows {
        if status.as_deref() == Some(RunStatus::Succeeded.code()) {
            known.imported.insert(url.clone(), hash.clone());
        }
        known.kept.insert((url, hash));
    }
    Ok(known)
}

/// How importing one fetched file ended.
enum Imported {
    Done(i64, RowReport),
    /// The file could not be read; its failed run says why.
    Unreadable(Option<i64>, String),
    /// The register could not record it.
    Broken(String),
}

/// Runs files source `source` once; the caller holds its lock.
pub(crate) async fn run(
    db: &SyncDb,
    source: &Source,
    feed: &FilesFeed,
    stop: &mut watch::Receiver<bool>,
) -> Result<RunReport, RunError> {
    let (source_id, known) = {
        let pool = db.pool.clone();
        let name = source.name.clone();
        let kind = source.settings.kind.code();
        let config = settings_json(&source.settings);
        blocking(move || {
            let mut conn = pool.get()?;
            let source_id = sync_store::ensure_source(&mut conn, &name, kind, &config)?;
            Ok((source_id, known_files(&mut conn, source_id)?))
        })
        .await?
    };
    tracing::info!(source = %source.name, "sync run started");

    let mut summary = RunSummary::default();
    let mut totals: Option<RowReport> = None;
    let mut failures: Vec<String> = Vec::new();
    let mut interrupted = false;
    for due in feed.due(Utc::now().date_naive()) {
        if *stop.borrow() {
            interrupted = true;
            break;
        }
        let url = due.url;
        let fetched = tokio::select! {
            fetched = source.client.get_parsed(&url, |_| Ok(())) => fetched,
            () = stopped(stop) => {
                interrupted = true;
                break;
            }
        };
        let note = |outcome, reason: Option<String>| FileNote {
            url: url.clone(),
            outcome,
            run_id: None,
            content_hash: None,
            rows: None,
            reason,
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(e) => {
                count_attempts(&mut summary, &e);
                if due.monthly && matches!(e, FetchError::Rejected { status: 404, .. }) {
                    tracing::info!(source = %source.name, url, "not published yet (HTTP 404)");
                    summary.files.push(note(
                        FileOutcome::NotPublished,
                        Some("HTTP 404: not published yet".to_owned()),
                    ));
                    continue;
                }
                let message = e.to_string();
                tracing::warn!(source = %source.name, "{message}");
                summary
                    .files
                    .push(note(FileOutcome::Failed, Some(message.clone())));
                failures.push(message);
                if e.is_transient() {
                    // The server keeps failing: the next run tries again.
                    break;
                }
                continue;
            }
        };
        summary.requests += u64::from(fetched.attempts);
        summary.retries += u64::from(fetched.attempts.saturating_sub(1));
        summary.waited_seconds += fetched.waited.as_secs_f64();
        summary.pages += 1;
        let hash = sha256_hex(&fetched.body);
        if known.imported.get(&url) == Some(&hash) {
            tracing::info!(source = %source.name, url, "unchanged since its last import");
            summary.files.push(FileNote {
                content_hash: Some(hash),
                ..note(FileOutcome::Unchanged, None)
            });
            continue;
        }
        let keep = !known.kept.contains(&(url.clone(), hash.clone()));
        let imported = {
            let pool = db.pool.clone();
            let (name, publisher, url) = (source.name.clone(), feed.publisher.clone(), url.clone());
            let hash = hash.clone();
            tokio::task::spawn_blocking(move || {
                import_file(
                    &pool,
                    source_id,
                    &name,
                    publisher.as_deref(),
                    &url,
                    &fetched,
                    keep.then_some(hash),
                )
            })
            .await?
        };
        match imported {
            Imported::Done(run_id, report) => {
                tracing::info!(
                    source = %source.name, url, run = run_id, read = report.read,
                    imported = report.imported, duplicates = report.duplicates,
                    skipped = report.skipped, rejected = report.rejected, "file imported"
                );
                summary.rejected += report.rejected;
                add_rows(totals.get_or_insert_with(RowReport::default), &report);
                summary.files.push(FileNote {
                    run_id: Some(run_id),
                    content_hash: Some(hash),
                    rows: Some(RowReport {
                        skips: Vec::new(),
                        rejects: Vec::new(),
                        ..report
                    }),
                    ..note(FileOutcome::Imported, None)
                });
            }
            Imported::Unreadable(run_id, reason) => {
                tracing::warn!(source = %source.name, url, "file not imported: {reason}");
                summary.rejected += 1;
                summary.rejects.push(RejectNote {
                    url: url.clone(),
                    position: 0,
                    ocid: None,
                    id: None,
                    reason: reason.clone(),
                });
                summary.files.push(FileNote {
                    run_id,
                    content_hash: Some(hash),
                    ..note(FileOutcome::Failed, Some(reason))
                });
            }
            Imported::Broken(message) => {
                summary
                    .files
                    .push(note(FileOutcome::Failed, Some(message.clone())));
                failures.push(message);
                break;
            }
        }
    }
    if let Some(totals) = &mut totals {
        let files = summary
            .files
            .iter()
            .filter(|f| f.outcome == FileOutcome::Imported)
            .count();
        totals.file = format!("{files} file(s) imported");
    }
    summary.rows = totals;

    let (status, error) = if !failures.is_empty() {
        (RunStatus::Failed, Some(failures.join("; ")))
    } else if interrupted {
        (
            RunStatus::Interrupted,
            Some("stopped by shutdown; the next run fetches the files again".to_owned()),
        )
    } else {
        (RunStatus::Succeeded, None)
    };
    // Recorded at the end: each import above was a run of the source, and a run started
    // before them would have been marked interrupted by theirs.
    let run_id = {
        let pool = db.pool.clone();
        let (summary, error) = (summary.clone(), error.clone());
        let (name, kind) = (source.name.clone(), source.settings.kind.code());
        let config = settings_json(&source.settings);
        blocking(move || {
            let mut conn = pool.get()?;
            // The imports recorded the source with their own (shorter) settings.
            sync_store::ensure_source(&mut conn, &name, kind, &config)?;
            let run_id = sync_store::start_run(&mut conn, source_id, &holder())?;
            sync_store::finish_run(&mut conn, run_id, status, &summary, error.as_deref())?;
            Ok(run_id)
        })
        .await?
    };
    match &error {
        None => tracing::info!(source = %source.name, run = run_id, "sync run finished"),
        Some(e) => tracing::warn!(source = %source.name, run = run_id, "sync run ended early: {e}"),
    }
    Ok(RunReport {
        source: source.name.clone(),
        kind: source.settings.kind,
        run_id: Some(run_id),
        status,
        summary,
        error,
        complete_until: None,
        skipped: false,
    })
}

/// A failed fetch's requests still count.
fn count_attempts(summary: &mut RunSummary, error: &FetchError) {
    let attempts = match error {
        FetchError::Rejected { attempts, .. }
        | FetchError::Exhausted { attempts, .. }
        | FetchError::Unparseable { attempts, .. }
        | FetchError::Invalid { attempts, .. } => *attempts,
        FetchError::Client(_) => 0,
    };
    summary.requests += u64::from(attempts);
    summary.retries += u64::from(attempts.saturating_sub(1));
}

fn add_rows(totals: &mut RowReport, file: &RowReport) {
    totals.read += file.read;
    totals.imported += file.imported;
    totals.duplicates += file.duplicates;
    totals.skipped += file.skipped;
    totals.rejected += file.rejected;
    if file.linked.is_some() {
        // Each spend import relinks all of the publisher's lines: the last count is the total.
        totals.linked = file.linked;
    }
}

/// Imports one fetched file under the source's name (its own transaction and run), then keeps
/// its body with that run when `keep` gives its hash (not kept yet). Kept after the import
/// commits: if that fails, the next run imports the file again, which adds no row twice.
fn import_file(
    pool: &register::DbPool,
    source_id: i64,
    name: &str,
    publisher: Option<&str>,
    url: &str,
    fetched: &crate::http::Fetched<()>,
    keep: Option<String>,
) -> Imported {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => return Imported::Broken(format!("cannot store {url}: {e}")),
    };
    let body = fetched.body.as_slice();
    let result = match publisher {
        Some(publisher) => import_spend(&mut conn, Some(name), publisher, url, body),
        None => import_grants(&mut conn, Some(name), url, body),
    };
    let outcome = match result {
        Ok((run_id, report)) => Imported::Done(run_id, report),
        Err(FileImportError::File { message, .. }) => {
            // The failed run just recorded (the source's lock is held: no other run starts).
            let run_id = sync_runs::table
                .filter(sync_runs::source_id.eq(source_id))
                .select(sync_runs::id)
                .order(sync_runs::id.desc())
                .first::<i64>(&mut conn)
                .optional()
                .ok()
                .flatten();
            Imported::Unreadable(run_id, message)
        }
        Err(e) => return Imported::Broken(format!("cannot import {url}: {e}")),
    };
    let run_id = match &outcome {
        Imported::Done(run_id, _) => Some(*run_id),
        Imported::Unreadable(run_id, _) => *run_id,
        Imported::Broken(_) => None,
    };
    if let (Some(hash), Some(_)) = (keep, run_id) {
        let kept = sync_store::store_payload(
            &mut conn,
            Payload {
                source_id,
                run_id,
                url,
                status: fetched.status,
                content_type: fetched.content_type.as_deref(),
                payload: &sync_store::RawPayload::with_hash(body, hash),
            },
        );
        if let Err(e) = kept {
            return Imported::Broken(format!("cannot keep the body of {url}: {e}"));
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(value: serde_json::Value) -> SourceSettings {
        serde_json::from_value(value).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_placeholder_expands_as_documented() {
        for (placeholder, january_2024) in PLACEHOLDERS {
            assert_eq!(
                expand(&format!("x/{placeholder}.csv"), date("2024-01-09")),
                format!("x/{january_2024}.csv")
            );
        }
        assert_eq!(
            expand(
                "https://x/{yyyy}/{mm}-{Month}-{MON}.csv",
                date("2025-09-01")
            ),
            "https://x/2025/09-September-SEP.csv"
        );
    }

    #[test]
    fn a_pattern_is_due_month_by_month_from_start_to_today() {
        let feed = FilesFeed::new(&settings(serde_json::json!({
            "kind": "spend_csv", "publisher": "gb-lae-dev",
            "url_pattern": "http://x/{yyyy}-{mm}.csv", "start": "2025-11-17",
        })))
        .unwrap();
        assert_eq!(feed.publisher.as_deref(), Some("GB-LAE-DEV"));
        let urls: Vec<String> = feed
            .due(date("2026-02-01"))
            .into_iter()
            .map(|d| d.url)
            .collect();
        assert_eq!(
            urls,
            [
                "http://x/2025-11.csv",
                "http://x/2025-12.csv",
                "http://x/2026-01.csv",
                "http://x/2026-02.csv"
            ]
        );
        assert!(feed.due(date("2025-10-31")).is_empty());
        let yearly = FilesFeed::new(&settings(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV",
            "url_pattern": "http://x/{yyyy}.csv", "start": "2025-11",
        })))
        .unwrap();
        let urls: Vec<String> = yearly
            .due(date("2026-03-01"))
            .into_iter()
            .map(|d| d.url)
            .collect();
        assert_eq!(urls, ["http://x/2025.csv", "http://x/2026.csv"]);
        assert!(feed.due(date("2026-02-01")).iter().all(|d| d.monthly));
    }

    #[test]
    fn bad_values_are_named() {
        let error = |value: serde_json::Value| FilesFeed::new(&settings(value)).unwrap_err();
        let e = error(serde_json::json!({
            "kind": "spend_csv", "publisher": "Devon", "urls": ["http://x/a.csv"],
        }));
        assert!(e.contains("publisher `Devon` is not an org-id"), "{e}");
        let e = error(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV", "url_pattern": "http://x/{yyyy}-{dd}.csv", "start": "2025-01",
        }));
        assert!(e.contains("unknown placeholder `{dd}`"), "{e}");
        assert!(e.contains("{mon}"), "the known ones are listed: {e}");
        let e = error(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV", "url_pattern": "http://x/all.csv", "start": "2025-01",
        }));
        assert!(e.contains("no month placeholder"), "{e}");
        let e = error(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV", "url_pattern": "http://x/{yyyy}.csv", "start": "spring",
        }));
        assert!(e.contains("start `spring` is not a month"), "{e}");
        let e = error(serde_json::json!({"kind": "threesixtygiving", "urls": ["ftp://x/g.json"]}));
        assert!(e.contains("must start with http"), "{e}");
    }

    #[test]
    fn months_read_from_several_forms() {
        for text in ["2024-04", "2024-04-17", "2024-04-30T23:00:00Z"] {
            assert_eq!(parse_month(text), Some(date("2024-04-01")), "{text}");
        }
        assert_eq!(parse_month("2024-13"), None);
    }
}
