//! Runs one source once: takes the source's lock, walks its feed window by window from where
//! the last run stopped, and commits each page with the source's new cursor
//! ([`register::sync_store::commit_page`]).
//!
//! Windows: a run starts at the source's high-water mark less the overlap (or at `start` on
//! the first run), walks windows of `window_hours` up to the time the run started, and
//! moves the high-water mark to the end of each window it completes. A run stopped inside a
//! window (killed, failed, shut down) leaves the window and its next page in the cursor; the
//! next run continues from that page.
//!
//! Files sources (`spend_csv`, `threesixtygiving`) take the same lock and are then run by
//! [`crate::finance_feed`].

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use register::{
    DatabaseUrl, DbPool,
    config::{Settings, SourceKind, SourceSettings},
    db::PooledConnection,
    releases::{self, Prepared},
    sync_store::{
        self, Cursor, PageCommit, PageRelease, QuarantineEntry, RawPayload, RunStatus, RunSummary,
        WindowProgress,
    },
};
use tokio::sync::watch;

use crate::{
    filters::Filters,
    finance_feed::{self, FilesFeed},
    http::{FeedClient, HttpPolicy},
    page::{self, ParsedPage},
    sources::{Feed, feed_for},
};

/// Pages followed in one window before the walk is judged to be looping.
const MAX_PAGES_PER_WINDOW: u32 = 100_000;
/// How far back a first run starts when `start` is not set.
const DEFAULT_BACKFILL_DAYS: i64 = 30;

/// The database the register lives in.
#[derive(Clone)]
pub struct SyncDb {
    pub pool: DbPool,
    pub url: DatabaseUrl,
}

/// A configured source, ready to run.
pub struct Source {
    pub name: String,
    pub settings: SourceSettings,
    pub schedule: Option<cron::Schedule>,
    plan: Plan,
    pub(crate) client: FeedClient,
    filters: Filters,
    page_size: usize,
    window: chrono::Duration,
    overlap: chrono::Duration,
    start: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("source `{source_name}`: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
    #[error("no source is called `{0}`; configured sources: {1}")]
    Unknown(String, String),
}

/// How a source is read: a feed walked window by window, or files fetched whole.
enum Plan {
    Feed(Box<dyn Feed>),
    Files(FilesFeed),
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

impl Source {
    pub fn new(name: &str, settings: &SourceSettings) -> Result<Self, SetupError> {
        let invalid = |message: String| SetupError::Invalid {
            source_name: name.to_owned(),
            message,
        };
        settings.check_options().map_err(invalid)?;
        let plan = match feed_for(settings) {
            Some(feed) => Plan::Feed(feed),
            None => Plan::Files(FilesFeed::new(settings).map_err(invalid)?),
        };
        let schedule = match settings.schedule.trim() {
            "" => None,
            text => Some(text.parse::<cron::Schedule>().map_err(|e| {
                invalid(format!(
                    "schedule `{text}` is not a cron string with seconds first (e.g. `0 */15 * * * *`): {e}"
                ))
            })?),
        };
        let start = match settings.start.trim() {
            // A files source's `start` is a month, read by its plan.
            _ if settings.kind.is_files() => None,
            "" => None,
            text => Some(parse_start(text).ok_or_else(|| {
                invalid(format!(
                    "start `{text}` is neither a date (2026-01-01) nor an RFC 3339 time"
                ))
            })?),
        };
        let window_hours = settings
            .window_hours
            .unwrap_or_else(|| settings.kind.default_window_hours());
        if window_hours.is_nan() || window_hours <= 0.0 {
            return Err(invalid(format!(
                "window_hours must be above 0, not {window_hours}"
            )));
        }
        if !settings.base_url.is_empty()
            && !settings.base_url.starts_with("http://")
            && !settings.base_url.starts_with("https://")
        {
            return Err(invalid(format!(
                "base_url `{}` must start with http:// or https://",
                settings.base_url
            )));
        }
        let defaults = HttpPolicy::default();
        let policy = HttpPolicy {
            timeout: settings.timeout_seconds.map_or(defaults.timeout, seconds),
            max_attempts: settings
                .max_attempts
                .unwrap_or(defaults.max_attempts)
                .max(1),
            backoff_base: settings
                .backoff_seconds
                .map_or(defaults.backoff_base, seconds),
            request_interval: seconds(
                settings
                    .request_interval_seconds
                    .unwrap_or_else(|| settings.kind.default_request_interval_seconds()),
            ),
            rate_limited_wait: settings
                .rate_limited_wait_seconds
                .map_or(defaults.rate_limited_wait, seconds),
            ..defaults
        };
        let client = FeedClient::new(policy).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            settings: settings.clone(),
            schedule,
            plan,
            client,
            filters: Filters {
                buyers: settings.buyers.clone(),
                cpv: settings.cpv.clone(),
                keywords: settings.keywords.clone(),
            },
            page_size: settings.page_size.unwrap_or(100).clamp(1, 100) as usize,
            window: chrono::Duration::milliseconds((window_hours * 3_600_000.0) as i64),
            overlap: chrono::Duration::milliseconds(
                (settings.overlap_minutes.unwrap_or(60.0).max(0.0) * 60_000.0) as i64,
            ),
            start,
        })
    }
}

fn parse_start(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Every configured source, or only those named (an unknown name is an error listing the
/// known ones).
pub fn sources(settings: &Settings, only: &[String]) -> Result<Vec<Source>, SetupError> {
    for name in only {
        if !settings.sources.contains_key(name) {
            let known: Vec<&str> = settings.sources.keys().map(String::as_str).collect();
            return Err(SetupError::Unknown(
                name.clone(),
                if known.is_empty() {
                    "none (add a [sources.<name>] table to ocreg.toml)".to_owned()
                } else {
                    known.join(", ")
                },
            ));
        }
    }
    settings
        .sources
        .iter()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .map(|(name, s)| Source::new(name, s))
        .collect()
}

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub source: String,
    pub kind: SourceKind,
    /// Absent when the run did not start (another process holds the source).
    pub run_id: Option<i64>,
    pub status: RunStatus,
    pub summary: RunSummary,
    pub error: Option<String>,
    /// The high-water mark after the run.
    pub complete_until: Option<DateTime<Utc>>,
    /// Another process was syncing the source, so this run did nothing.
    pub skipped: bool,
}

/// `host:pid` of this process, recorded with each run.
pub fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("sync bookkeeping failed: {0}")]
    Store(#[from] sync_store::SyncStoreError),
    #[error("database thread failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub(crate) async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, sync_store::SyncStoreError> + Send + 'static,
) -> Result<R, RunError> {
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// Runs `source` once, unless another run of it holds its lock. Stops between pages when
/// `stop` turns true (the run is then recorded as interrupted and resumes next time).
pub async fn run_source(
    db: &SyncDb,
    source: &Source,
    stop: &mut watch::Receiver<bool>,
) -> Result<RunReport, RunError> {
    let lock = {
        let (pool, url, name) = (db.pool.clone(), db.url.clone(), source.name.clone());
        blocking(move || sync_store::try_lock_source(&pool, &url, &name)).await?
    };
    let Some(_lock) = lock else {
        tracing::info!(source = %source.name, "another process is syncing this source; skipped");
        return Ok(RunReport {
            source: source.name.clone(),
            kind: source.settings.kind,
            run_id: None,
            status: RunStatus::Succeeded,
            summary: RunSummary::default(),
            error: None,
            complete_until: None,
            skipped: true,
        });
    };
    if let Plan::Files(files) = &source.plan {
        return finance_feed::run(db, source, files, stop).await;
    }

    let (source_id, run_id, mut cursor) = {
        let pool = db.pool.clone();
        let name = source.name.clone();
        let kind = source.settings.kind.code();
        let config = settings_json(&source.settings);
        let holder = holder();
        blocking(move || {
            let mut conn = pool.get()?;
            let source_id = sync_store::ensure_source(&mut conn, &name, kind, &config)?;
            let run_id = sync_store::start_run(&mut conn, source_id, &holder)?;
            let cursor = sync_store::load_cursor(&mut conn, source_id)?;
            Ok((source_id, run_id, cursor))
        })
        .await?
    };
    tracing::info!(source = %source.name, run = run_id, "sync run started");

    let mut summary = RunSummary::default();
    let walked = walk(
        db,
        source,
        source_id,
        run_id,
        &mut cursor,
        &mut summary,
        stop,
    )
    .await;
    let (status, error) = match walked {
        Ok(Walk::Done) => (RunStatus::Succeeded, None),
        Ok(Walk::Stopped) => (
            RunStatus::Interrupted,
            Some(
                "stopped by shutdown; the next run resumes from the last committed page".to_owned(),
            ),
        ),
        Ok(Walk::Failed(message)) => (RunStatus::Failed, Some(message)),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    };
    {
        let pool = db.pool.clone();
        let (summary, error) = (summary.clone(), error.clone());
        blocking(move || {
            let mut conn = pool.get()?;
            sync_store::finish_run(&mut conn, run_id, status, &summary, error.as_deref())
        })
        .await?;
    }
    match &error {
        None => tracing::info!(
            source = %source.name, run = run_id, pages = summary.pages,
            new = summary.releases_new, updated = summary.releases_updated,
            unchanged = summary.releases_unchanged, rejected = summary.rejected,
            "sync run finished"
        ),
        Some(e) => tracing::warn!(source = %source.name, run = run_id, "sync run ended early: {e}"),
    }
    Ok(RunReport {
        source: source.name.clone(),
        kind: source.settings.kind,
        run_id: Some(run_id),
        status,
        summary,
        error,
        complete_until: cursor.complete_until,
        skipped: false,
    })
}

/// The settings recorded with the source (for the status page).
pub(crate) fn settings_json(settings: &SourceSettings) -> serde_json::Value {
    if settings.kind.is_files() {
        return serde_json::json!({
            "kind": settings.kind.code(),
            "schedule": settings.schedule,
            "start": settings.start,
            "publisher": settings.publisher,
            "urls": settings.urls,
            "url_pattern": settings.url_pattern,
        });
    }
    serde_json::json!({
        "kind": settings.kind.code(),
        "base_url": settings.base_url,
        "schedule": settings.schedule,
        "start": settings.start,
        "buyers": settings.buyers,
        "cpv": settings.cpv,
        "keywords": settings.keywords,
    })
}

enum Walk {
    Done,
    Stopped,
    Failed(String),
}

/// A page being committed on a blocking thread while the next one is fetched.
type Committing = tokio::task::JoinHandle<Result<Committed, sync_store::SyncStoreError>>;

/// What committing a page gives back: the outcome, the run's totals, and the connection
/// (kept for the whole run, so SQLite's page cache stays warm).
struct Committed {
    result: Result<Vec<String>, sync_store::SyncStoreError>,
    summary: RunSummary,
    conn: PooledConnection,
    url: String,
}

async fn walk(
    db: &SyncDb,
    source: &Source,
    source_id: i64,
    run_id: i64,
    cursor: &mut Cursor,
    summary: &mut RunSummary,
    stop: &mut watch::Receiver<bool>,
) -> Result<Walk, RunError> {
    let Plan::Feed(feed) = &source.plan else {
        return Ok(Walk::Done);
    };
    let until = Utc::now();
    let mut window = match cursor.window.clone() {
        Some(progress) => progress,
        None => {
            let from = match cursor.complete_until {
                // Never before `start`: the overlap is for late releases, not a backfill.
                Some(done) => source.start.map_or(done - source.overlap, |start| {
                    (done - source.overlap).max(start)
                }),
                None => source
                    .start
                    .unwrap_or_else(|| until - chrono::Duration::days(DEFAULT_BACKFILL_DAYS)),
            };
            if from >= until {
                return Ok(Walk::Done);
            }
            WindowProgress {
                from,
                to: (from + source.window).min(until),
                next: None,
                pages: 0,
                upto: None,
            }
        }
    };
    let mut conn: Option<PooledConnection> = None;
    // Page n is stored while page n+1 is fetched and parsed: the two overlap.
    let mut committing: Option<(Committing, Cursor)> = None;
    // Request counts of fetches not yet added to a committed summary.
    let mut fetch_stats = RunSummary::default();
    let outcome = loop {
        if *stop.borrow() {
            break Walk::Stopped;
        }
        let url = window
            .next
            .clone()
            .unwrap_or_else(|| feed.window_url(window.from, window.upto.unwrap_or(window.to)));
        let fetched = tokio::select! {
            fetched = source.client.get_parsed(&url, |body| {
                page::parse_package(body).map_err(|e| e.to_string())
            }) => Some(fetched),
            _ = stopped(stop) => None,
        };
        // Checked, redacted, hashed and compressed while the page before is still being stored.
        let fetched =
            fetched.map(|fetched| fetched.map(|f| prepare_page(f, &window, &url, source)));
        // The page before must be stored before this one is.
        if let Some((handle, after)) = committing.take() {
            match finish_commit(handle, summary, &mut conn).await? {
                Ok(()) => *cursor = after,
                Err(message) => break Walk::Failed(message),
            }
        }
        let Some(fetched) = fetched else {
            break Walk::Stopped;
        };
        let page = match fetched {
            Ok(page) => page,
            Err(e) => break Walk::Failed(e.to_string()),
        };
        fetch_stats.requests += u64::from(page.attempts);
        fetch_stats.retries += u64::from(page.attempts.saturating_sub(1));
        fetch_stats.waited_seconds += page.waited.as_secs_f64();

        let next_window = page.next_window.clone();
        if next_window.is_none() {
            // Progress for people watching a long backfill; one line per window.
            tracing::info!(
                source = %source.name, from = %window.from, to = %window.to,
                pages = window.pages + 1, "window walked"
            );
        }
        let new_cursor = match &next_window {
            Some(next) => Cursor {
                complete_until: cursor.complete_until,
                window: Some(next.clone()),
            },
            None => Cursor {
                complete_until: Some(
                    cursor
                        .complete_until
                        .map_or(window.to, |t| t.max(window.to)),
                ),
                window: None,
            },
        };

        let mut page_summary = std::mem::take(summary);
        page_summary.requests += std::mem::take(&mut fetch_stats.requests);
        page_summary.retries += std::mem::take(&mut fetch_stats.retries);
        page_summary.waited_seconds += std::mem::take(&mut fetch_stats.waited_seconds);
        if next_window.is_none() {
            page_summary.windows += 1;
        }
        let handle = {
            let pool = db.pool.clone();
            let held = conn.take();
            let name = source.name.clone();
            let page_cursor = new_cursor.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = match held {
                    Some(conn) => conn,
                    None => {
                        let mut conn = pool.get()?;
                        releases::tune_for_bulk_load(&mut conn, sync_store::SYNC_CACHE_MIB)?;
                        conn
                    }
                };
                let commit = PageCommit {
                    source_id,
                    source_name: &name,
                    run_id,
                    url: &page.url,
                    status: page.status,
                    content_type: page.content_type.as_deref(),
                    payload: &page.payload,
                    releases: page.releases,
                    quarantined: page.quarantined,
                    cursor: &page_cursor,
                };
                let result = sync_store::commit_page(&mut conn, commit, &mut page_summary);
                Ok(Committed {
                    result,
                    summary: page_summary,
                    conn,
                    url: page.url,
                })
            })
        };
        committing = Some((handle, new_cursor.clone()));

        if let Some(next) = next_window {
            window = next;
            continue;
        }
        if window.to >= until {
            break Walk::Done;
        }
        let from = window.to;
        window = WindowProgress {
            from,
            to: (from + source.window).min(until),
            next: None,
            pages: 0,
            upto: None,
        };
    };
    if let Some((handle, after)) = committing.take() {
        match finish_commit(handle, summary, &mut conn).await? {
            Ok(()) => *cursor = after,
            Err(message) => return Ok(Walk::Failed(message)),
        }
    }
    // Fetches whose pages were not stored (the run stopped) still count.
    summary.requests += fetch_stats.requests;
    summary.retries += fetch_stats.retries;
    summary.waited_seconds += fetch_stats.waited_seconds;
    Ok(outcome)
}

/// A fetched page made ready to store.
struct PreparedPage {
    url: String,
    status: u16,
    content_type: Option<String>,
    payload: RawPayload,
    attempts: u32,
    waited: Duration,
    /// Where the walk goes after this page (None: the window is done).
    next_window: Option<WindowProgress>,
    releases: Vec<PageRelease>,
    quarantined: Vec<QuarantineEntry>,
}

fn prepare_page(
    fetched: crate::http::Fetched<ParsedPage>,
    window: &WindowProgress,
    url: &str,
    source: &Source,
) -> PreparedPage {
    let parsed = fetched.value;
    for note in &parsed.repairs {
        tracing::warn!(source = %source.name, url, "repaired: {note}");
    }
    let next_window = next_step(window, &parsed, url, source.page_size);
    let (releases, quarantined) = split_page(parsed, &source.filters);
    PreparedPage {
        url: fetched.url,
        status: fetched.status,
        content_type: fetched.content_type,
        payload: RawPayload::new(&fetched.body),
        attempts: fetched.attempts,
        waited: fetched.waited,
        next_window,
        releases,
        quarantined,
    }
}

/// Waits for a page's commit; `Err` names the page that could not be stored.
async fn finish_commit(
    handle: Committing,
    summary: &mut RunSummary,
    conn: &mut Option<PooledConnection>,
) -> Result<Result<(), String>, RunError> {
    let committed = handle.await??;
    *summary = committed.summary;
    *conn = Some(committed.conn);
    Ok(committed
        .result
        .map(|_| ())
        .map_err(|e| format!("cannot store the page {}: {e}", committed.url)))
}

/// Where the walk of `window` goes after `page` (fetched from `url`): its next page, the
/// rest of the window when a full page came without a next link (Find a Tender has dropped
/// `links.next` part-way through a window, uk-feeds.md 1.3; pages are newest first, so the
/// rest is at or before the page's oldest release), or nowhere: the window is done.
fn next_step(
    window: &WindowProgress,
    page: &ParsedPage,
    url: &str,
    page_size: usize,
) -> Option<WindowProgress> {
    if window.pages >= MAX_PAGES_PER_WINDOW {
        tracing::warn!(url, "window abandoned after {MAX_PAGES_PER_WINDOW} pages");
        return None;
    }
    if let Some(next) = page.next.as_deref().filter(|n| *n != url) {
        return Some(WindowProgress {
            next: Some(next.to_owned()),
            pages: window.pages + 1,
            ..window.clone()
        });
    }
    let full = page.releases.len() + page.quarantined.len() >= page_size;
    let oldest = page
        .releases
        .iter()
        .filter_map(|r| r.value.get("date")?.as_str())
        .filter_map(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&Utc))
        .min()?;
    let upto = window.upto.unwrap_or(window.to);
    // Only when that narrows the query; else the window would be asked for again and again.
    (full && page.next.is_none() && oldest > window.from && oldest < upto).then(|| {
        tracing::warn!(
            url,
            "a full page without a next link: continuing with the window up to {oldest}"
        );
        WindowProgress {
            next: None,
            pages: window.pages + 1,
            upto: Some(oldest),
            ..window.clone()
        }
    })
}

/// Resolves when `stop` turns true; never when its sender is gone without saying so.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Turns a parsed page into releases to store (identity checked, redacted, hashed) and
/// quarantine entries.
fn split_page(parsed: ParsedPage, filters: &Filters) -> (Vec<PageRelease>, Vec<QuarantineEntry>) {
    let mut quarantined: Vec<QuarantineEntry> = parsed
        .quarantined
        .into_iter()
        .map(|q| QuarantineEntry {
            position: q.position,
            ocid: q.ocid,
            id: q.id,
            reason: q.reason,
            body: q.raw,
        })
        .collect();
    let mut releases = Vec::with_capacity(parsed.releases.len());
    for release in parsed.releases {
        match Prepared::new(&release.value) {
            Ok(prepared) => releases.push(PageRelease {
                position: release.position,
                wanted: filters.matches(&release.value),
                repaired: !release.repaired.is_empty(),
                prepared,
            }),
            Err(e) => quarantined.push(QuarantineEntry {
                position: release.position,
                ocid: release
                    .value
                    .get("ocid")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                id: release
                    .value
                    .get("id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                reason: e.to_string(),
                body: release.value.to_string(),
            }),
        }
    }
    (releases, quarantined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: serde_json::Value) -> SourceSettings {
        let mut base = serde_json::json!({"kind": "find_a_tender"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn error(extra: serde_json::Value) -> String {
        match Source::new("fts", &settings(extra)) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn settings_are_checked_with_messages_that_name_the_source_and_value() {
        let e = error(serde_json::json!({"schedule": "*/15 * * * *"}));
        assert!(
            e.starts_with("source `fts`: schedule `*/15 * * * *`"),
            "{e}"
        );
        assert!(e.contains("seconds first"), "{e}");
        let e = error(serde_json::json!({"start": "last tuesday"}));
        assert!(e.contains("start `last tuesday`"), "{e}");
        let e = error(serde_json::json!({"window_hours": 0.0}));
        assert!(e.contains("window_hours must be above 0"), "{e}");
        let e = error(serde_json::json!({"base_url": "ftp://example"}));
        assert!(e.contains("must start with http"), "{e}");
    }

    #[test]
    fn files_sources_are_checked_with_messages_that_name_the_source() {
        let new = |value: serde_json::Value| {
            Source::new("devon", &serde_json::from_value(value).unwrap()).map(|_| ())
        };
        let e = new(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV", "urls": ["http://x/a.csv"], "cpv": ["85"],
        }))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("source `devon`: option cpv is not used"),
            "{e}"
        );
        let e = new(serde_json::json!({
            "kind": "spend_csv", "publisher": "Devon", "urls": ["http://x/a.csv"],
        }))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("source `devon`: publisher `Devon`"), "{e}");
        let e = new(serde_json::json!({"kind": "find_a_tender", "url_pattern": "http://x/{mm}"}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("source `devon`: option url_pattern"), "{e}");
        new(serde_json::json!({
            "kind": "spend_csv", "publisher": "GB-LAE-DEV", "url_pattern": "http://x/{yyyy}/{mon}.csv",
            "start": "2025-04", "schedule": "0 0 6 * * *",
        }))
        .unwrap();
        new(serde_json::json!({"kind": "threesixtygiving", "urls": ["https://x/g.json"]})).unwrap();
    }

    #[test]
    fn defaults_follow_the_kind_and_start_reads_dates_and_times() {
        let source = Source::new("fts", &settings(serde_json::json!({}))).unwrap();
        assert!(source.schedule.is_none());
        assert_eq!(source.window, chrono::Duration::hours(6));
        assert_eq!(source.overlap, chrono::Duration::hours(1));
        assert_eq!(source.page_size, 100);
        let dated =
            Source::new("fts", &settings(serde_json::json!({"start": "2026-01-02"}))).unwrap();
        assert_eq!(
            dated.start.unwrap().to_rfc3339(),
            "2026-01-02T00:00:00+00:00"
        );
        let timed = Source::new(
            "fts",
            &settings(serde_json::json!({"start": "2026-01-02T10:00:00+01:00", "schedule": "0 */15 * * * *"})),
        )
        .unwrap();
        assert_eq!(
            timed.start.unwrap().to_rfc3339(),
            "2026-01-02T09:00:00+00:00"
        );
        assert!(timed.schedule.is_some());
    }

    #[test]
    fn an_unknown_source_name_lists_the_configured_ones() {
        let mut config = Settings::default();
        config
            .sources
            .insert("fts".into(), settings(serde_json::json!({})));
        let e = sources(&config, &["cf".into()]).err().unwrap().to_string();
        assert_eq!(e, "no source is called `cf`; configured sources: fts");
        assert_eq!(sources(&config, &[]).unwrap().len(), 1);
    }

    fn page(dates: &[&str], next: Option<&str>) -> ParsedPage {
        ParsedPage {
            releases: dates
                .iter()
                .enumerate()
                .map(|(position, date)| crate::page::PageRelease {
                    position,
                    value: serde_json::json!({"date": date}),
                    repaired: vec![],
                })
                .collect(),
            next: next.map(str::to_owned),
            quarantined: vec![],
            repairs: vec![],
        }
    }

    #[test]
    fn the_walk_follows_next_links_and_continues_after_a_full_page_without_one() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let window = WindowProgress {
            from: at("2026-08-01T00:00:00Z"),
            to: at("2026-08-02T00:00:00Z"),
            next: None,
            pages: 0,
            upto: None,
        };
        let dates = ["2026-08-01T20:00:00Z", "2026-08-01T12:00:00+01:00"];
        let linked = next_step(
            &window,
            &page(&dates, Some("http://x/p2")),
            "http://x/p1",
            2,
        )
        .unwrap();
        assert_eq!(
            (linked.next.as_deref(), linked.pages),
            (Some("http://x/p2"), 1)
        );
        // A link back to the same page would loop: the window ends.
        assert!(
            next_step(
                &window,
                &page(&dates[..1], Some("http://x/p1")),
                "http://x/p1",
                2
            )
            .is_none()
        );
        // Full page, no link: the rest of the window, up to the oldest release seen.
        let rest = next_step(&window, &page(&dates, None), "http://x/p1", 2).unwrap();
        assert_eq!(
            (rest.next, rest.upto),
            (None, Some(at("2026-08-01T11:00:00Z")))
        );
        assert_eq!(rest.to, window.to, "the window's end is unchanged");
        // A page that is not full, without a link: the window is done.
        assert!(next_step(&window, &page(&dates, None), "http://x/p1", 3).is_none());
    }
}
