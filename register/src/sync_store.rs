//! Sync bookkeeping (design brief, section 6): the sources synced, their runs, where each
//! source got to (its cursor), what every fetch returned (raw payloads, for provenance and
//! replay) and the releases a feed sent that could not be stored (quarantine).
//!
//! [`commit_page`] stores one fetched page in one transaction: the raw payload, the releases
//! that belong to this register, their recompiled records, the quarantined releases, the
//! run's totals and the source's new cursor. A sync killed at any moment therefore resumes
//! from the last committed page, and a page fetched twice adds nothing twice.

use std::{
    collections::HashSet,
    io::Write,
    path::{Path, PathBuf},
};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{prelude::*, sql_types};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    audit::now,
    db::{DatabaseUrl, DbConnection, DbPool, PooledConnection},
    releases::{self, Outcome, Prepared, StoreError},
    schema::{
        raw_payloads, records, releases as releases_table, sync_cursors, sync_quarantine,
        sync_runs, sync_sources,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum SyncStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("cannot read or write sync state: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot take the sync lock {path}: {source}")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pool(#[from] diesel::r2d2::PoolError),
}

/// The value of `releases.source` for releases a sync source stored.
pub fn release_source(source_name: &str) -> String {
    format!("sync:{source_name}")
}

/// The id of the source called `name`, registering it (or updating its kind and settings)
/// first. Safe when two daemons register the same source at once.
pub fn ensure_source(
    conn: &mut DbConnection,
    name: &str,
    kind: &str,
    settings: &serde_json::Value,
) -> Result<i64, SyncStoreError> {
    let config = serde_json::to_string(settings)?;
    let at = now();
    for _ in 0..2 {
        let existing: Option<i64> = sync_sources::table
            .filter(sync_sources::name.eq(name))
            .select(sync_sources::id)
            .first(conn)
            .optional()?;
        if let Some(id) = existing {
            diesel::update(sync_sources::table.find(id))
                .set((
                    sync_sources::kind.eq(kind),
                    sync_sources::config.eq(&config),
                    sync_sources::updated_at.eq(at),
                ))
                .execute(conn)?;
            return Ok(id);
        }
        let inserted = diesel::insert_into(sync_sources::table)
            .values((
                sync_sources::name.eq(name),
                sync_sources::kind.eq(kind),
                sync_sources::config.eq(&config),
                sync_sources::created_at.eq(at),
                sync_sources::updated_at.eq(at),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            // Another daemon registered it between our select and insert: read theirs.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(sync_sources::table
        .filter(sync_sources::name.eq(name))
        .select(sync_sources::id)
        .first(conn)?)
}

/// Where a source got to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Everything the feed had updated before this instant has been walked: the end of the
    /// last complete window (the high-water mark).
    pub complete_until: Option<DateTime<Utc>>,
    /// The window being walked when a run stopped part-way, and its next page.
    pub window: Option<WindowProgress>,
}

/// A window of the feed part-way through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowProgress {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The next page's URL as the feed gave it (`links.next`); absent: the window's first page.
    pub next: Option<String>,
    /// Pages of the window already committed.
    pub pages: u32,
    /// The window's query ends here instead of at `to` (still part of the window): set after
    /// a full page came without a next link although more was to come (uk-feeds.md 1.3).
    /// Pages are newest first, so the rest is at or before the oldest release seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upto: Option<DateTime<Utc>>,
}

pub fn load_cursor(conn: &mut DbConnection, source_id: i64) -> Result<Cursor, SyncStoreError> {
    let row: Option<(Option<String>, Option<String>)> = sync_cursors::table
        .filter(sync_cursors::source_id.eq(source_id))
        .select((sync_cursors::cursor, sync_cursors::high_water_mark))
        .first(conn)
        .optional()?;
    let Some((window, high_water)) = row else {
        return Ok(Cursor::default());
    };
    Ok(Cursor {
        complete_until: high_water
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        window: window.as_deref().map(serde_json::from_str).transpose()?,
    })
}

fn save_cursor(
    conn: &mut DbConnection,
    source_id: i64,
    cursor: &Cursor,
) -> Result<(), SyncStoreError> {
    let window = cursor
        .window
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let high_water = cursor
        .complete_until
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let at = now();
    let updated = diesel::update(sync_cursors::table.filter(sync_cursors::source_id.eq(source_id)))
        .set((
            sync_cursors::cursor.eq(&window),
            sync_cursors::high_water_mark.eq(&high_water),
            sync_cursors::updated_at.eq(at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sync_cursors::table)
            .values((
                sync_cursors::source_id.eq(source_id),
                sync_cursors::cursor.eq(&window),
                sync_cursors::high_water_mark.eq(&high_water),
                sync_cursors::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A window finished (or the cursor otherwise moved) without a page to store with it.
pub fn commit_cursor(
    conn: &mut DbConnection,
    source_id: i64,
    cursor: &Cursor,
) -> Result<(), SyncStoreError> {
    conn.transaction(|conn| save_cursor(conn, source_id, cursor))
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The process running it stopped (killed, crashed) before it finished; the next run
    /// resumed from its last committed page.
    Interrupted,
}

impl RunStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(code: &str) -> Self {
        match code {
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "interrupted" => Self::Interrupted,
            _ => Self::Failed,
        }
    }
}

/// Most rejected releases a run's summary lists one by one (all are in the quarantine).
pub const MAX_LISTED_REJECTS: usize = 100;

/// A run's totals, kept up to date page by page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunSummary {
    /// Pages committed.
    pub pages: u64,
    /// Windows walked to their end.
    pub windows: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Requests repeated after a transient failure (429, 5xx, timeout, truncated body).
    pub retries: u64,
    /// Seconds spent waiting: request spacing, back-off and `Retry-After`.
    pub waited_seconds: f64,
    /// Releases stored whose process was new to the register.
    pub releases_new: u64,
    /// Releases stored for a process already in the register (its record recompiled).
    pub releases_updated: u64,
    /// Releases the register already had, identical.
    pub releases_unchanged: u64,
    /// Releases left out because they match none of the source's filters.
    pub releases_filtered_out: u64,
    /// Releases quarantined, with the reasons listed in `rejects` (the first 100).
    pub rejected: u64,
    /// Releases stored after a repair (invalid number, invalid UTF-8).
    pub repaired: u64,
    pub rejects: Vec<RejectNote>,
    /// For files of rows (spend, grants): the file's quality report; for a run of a files
    /// source, the totals of the files it imported (their lists are in each file's run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowReport>,
    /// For a run of a files source (`spend_csv`, `threesixtygiving`): what each due file
    /// came to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileNote>,
}

/// One file of a files source in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileNote {
    pub url: String,
    pub outcome: FileOutcome,
    /// The run that imported the file (or failed to), with its full quality report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// SHA-256 of the body fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// The file's counts (its skip and reject lists are in its run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowReport>,
    /// Why the file was not imported (`failed`), or the answer (`not_published`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// New or changed content, imported.
    Imported,
    /// The same content as the last import: not imported again.
    Unchanged,
    /// The month's file is not there (HTTP 404): not published yet.
    NotPublished,
    /// Not fetched (a refusal, or the server kept failing) or not readable.
    Failed,
}

/// A row file's quality report: what was read, imported, skipped and rejected, each skip and
/// reject with its line (the first 1,000 of each are listed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowReport {
    /// The file as given.
    pub file: String,
    /// Data rows read after the header, blank and total rows included.
    pub read: u64,
    /// Rows stored now.
    pub imported: u64,
    /// Rows already stored (the same file, or an overlapping one, imported before).
    pub duplicates: u64,
    /// Rows that are not data (blank rows, total rows, repeated headers).
    pub skipped: u64,
    /// Rows that could not be read (a bad date or amount); nothing of them is stored.
    pub rejected: u64,
    /// Spend: the publisher's lines linked to a contract after this import (all of them,
    /// relinked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<u64>,
    pub skips: Vec<LineNote>,
    pub rejects: Vec<LineNote>,
}

/// Most skips and rejects a [`RowReport`] lists one by one.
pub const MAX_LISTED_LINES: usize = 1_000;

/// Where in a file a row was skipped or rejected, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineNote {
    /// The line (1-based) when the file is text with lines (CSV).
    pub line: Option<u64>,
    /// The place as text: `line 7, column Amount`, or a JSON pointer (`/grants/2/awardDate`).
    pub at: String,
    pub reason: String,
}

/// One quarantined release, as listed in a run's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectNote {
    /// The page it came on.
    pub url: String,
    /// Its index in the page's `releases` array.
    pub position: usize,
    pub ocid: Option<String>,
    pub id: Option<String>,
    pub reason: String,
}

impl RunSummary {
    fn note_reject(&mut self, note: RejectNote) {
        self.rejected += 1;
        if self.rejects.len() < MAX_LISTED_REJECTS {
            self.rejects.push(note);
        }
    }
}

/// Opens a run of `source_id` for this process (`holder`, e.g. `host:pid`). Runs of the
/// source still marked running were cut short (the caller holds the source's lock, so no
/// one else runs it): they are marked interrupted.
pub fn start_run(
    conn: &mut DbConnection,
    source_id: i64,
    holder: &str,
) -> Result<i64, SyncStoreError> {
    conn.transaction(|conn| {
        let at = now();
        diesel::update(
            sync_runs::table
                .filter(sync_runs::source_id.eq(source_id))
                .filter(sync_runs::status.eq(RunStatus::Running.code())),
        )
        .set((
            sync_runs::status.eq(RunStatus::Interrupted.code()),
            sync_runs::error.eq("stopped before it finished (process killed or crashed); the next run resumed from its last committed page"),
        ))
        .execute(conn)?;
        Ok(diesel::insert_into(sync_runs::table)
            .values((
                sync_runs::source_id.eq(source_id),
                sync_runs::started_at.eq(at),
                sync_runs::status.eq(RunStatus::Running.code()),
                sync_runs::summary.eq(serde_json::to_string(&RunSummary::default())?),
                sync_runs::holder.eq(holder),
            ))
            .returning(sync_runs::id)
            .get_result(conn)?)
    })
}

pub fn finish_run(
    conn: &mut DbConnection,
    run_id: i64,
    status: RunStatus,
    summary: &RunSummary,
    error: Option<&str>,
) -> Result<(), SyncStoreError> {
    diesel::update(sync_runs::table.find(run_id))
        .set((
            sync_runs::status.eq(status.code()),
            sync_runs::finished_at.eq(now()),
            sync_runs::summary.eq(serde_json::to_string(summary)?),
            sync_runs::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// A release a feed sent that cannot be stored as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineEntry {
    pub position: usize,
    pub ocid: Option<String>,
    pub id: Option<String>,
    pub reason: String,
    /// The release's text as received.
    pub body: String,
}

/// A release of a page, ready to store, and whether the source's filters want it.
#[derive(Debug, Clone)]
pub struct PageRelease {
    pub position: usize,
    pub prepared: Prepared,
    pub wanted: bool,
    /// Repaired on the way in (counted in the run's summary).
    pub repaired: bool,
}

/// One fetched page of a feed.
pub struct PageCommit<'a> {
    pub source_id: i64,
    pub source_name: &'a str,
    pub run_id: i64,
    pub url: &'a str,
    pub status: u16,
    pub content_type: Option<&'a str>,
    /// The body as received, ready to store.
    pub payload: &'a RawPayload,
    pub releases: Vec<PageRelease>,
    pub quarantined: Vec<QuarantineEntry>,
    /// The source's cursor once this page is stored.
    pub cursor: &'a Cursor,
}

/// Stores one page in one transaction (see the module documentation) and adds what it did
/// to `summary`, which is saved with it. A release the filters do not want is kept anyway
/// when its process is already in the register (later notices of a process often lack the
/// classification or text the filters look at). Returns the ocids whose records changed.
pub fn commit_page(
    conn: &mut DbConnection,
    page: PageCommit<'_>,
    summary: &mut RunSummary,
) -> Result<Vec<String>, SyncStoreError> {
    let before = summary.clone();
    let result = conn.transaction(|conn| commit_page_in(conn, page, summary));
    if result.is_err() {
        // Nothing of the page was stored, so the totals must not count it either.
        *summary = before;
    }
    result
}

fn commit_page_in(
    conn: &mut DbConnection,
    page: PageCommit<'_>,
    summary: &mut RunSummary,
) -> Result<Vec<String>, SyncStoreError> {
    let payload_id = store_payload(
        conn,
        Payload {
            source_id: page.source_id,
            run_id: Some(page.run_id),
            url: page.url,
            status: page.status,
            content_type: page.content_type,
            payload: page.payload,
        },
    )?;

    // Which processes the register has already: they decide "new" versus "updated", and
    // keep releases the filters would leave out.
    let ocids: Vec<&str> = {
        let mut seen = HashSet::new();
        page.releases
            .iter()
            .map(|r| r.prepared.ocid.as_str())
            .filter(|o| seen.insert(*o))
            .collect()
    };
    let known: HashSet<String> = if ocids.is_empty() {
        HashSet::new()
    } else {
        records::table
            .filter(records::ocid.eq_any(&ocids))
            .select(records::ocid)
            .load::<String>(conn)?
            .into_iter()
            .collect()
    };

    let mut kept: Vec<&PageRelease> = Vec::with_capacity(page.releases.len());
    for release in &page.releases {
        if release.wanted || known.contains(&release.prepared.ocid) {
            kept.push(release);
        } else {
            summary.releases_filtered_out += 1;
        }
    }
    let batch: Vec<Prepared> = kept.iter().map(|r| r.prepared.clone()).collect();
    let outcome = releases::store_batch(conn, &batch, &release_source(page.source_name), None)?;

    let mut quarantined = page.quarantined;
    for (release, result) in kept.iter().zip(&outcome.results) {
        match result {
            Ok(Outcome::Created) if known.contains(&release.prepared.ocid) => {
                summary.releases_updated += 1;
            }
            Ok(Outcome::Created) => summary.releases_new += 1,
            Ok(Outcome::Unchanged) => summary.releases_unchanged += 1,
            Err(rejection) => quarantined.push(QuarantineEntry {
                position: release.position,
                ocid: Some(release.prepared.ocid.clone()),
                id: Some(release.prepared.id.clone()),
                reason: rejection.to_string(),
                body: release.prepared.body().to_owned(),
            }),
        }
        if result.is_ok() && release.repaired {
            summary.repaired += 1;
        }
    }

    let at = now();
    for entry in &quarantined {
        diesel::insert_into(sync_quarantine::table)
            .values((
                sync_quarantine::source_id.eq(page.source_id),
                sync_quarantine::run_id.eq(page.run_id),
                sync_quarantine::payload_id.eq(payload_id),
                sync_quarantine::position.eq(i32::try_from(entry.position).unwrap_or(i32::MAX)),
                sync_quarantine::ocid.eq(entry.ocid.as_deref()),
                sync_quarantine::release_id.eq(entry.id.as_deref()),
                sync_quarantine::reason.eq(&entry.reason),
                sync_quarantine::body.eq(&entry.body),
                sync_quarantine::created_at.eq(at),
            ))
            .execute(conn)?;
        summary.note_reject(RejectNote {
            url: page.url.to_owned(),
            position: entry.position,
            ocid: entry.ocid.clone(),
            id: entry.id.clone(),
            reason: entry.reason.clone(),
        });
    }

    crate::same_process::link(conn, &outcome.recompiled)?;

    summary.pages += 1;
    save_cursor(conn, page.source_id, page.cursor)?;
    diesel::update(sync_runs::table.find(page.run_id))
        .set(sync_runs::summary.eq(serde_json::to_string(summary)?))
        .execute(conn)?;
    Ok(outcome.recompiled)
}

/// A fetched body to keep (provenance and replay).
pub struct Payload<'a> {
    pub source_id: i64,
    pub run_id: Option<i64>,
    pub url: &'a str,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub payload: &'a RawPayload,
}

/// Stores `payload` (gzip-compressed, with its SHA-256 as `content_hash`); returns its id.
pub fn store_payload(conn: &mut DbConnection, payload: Payload<'_>) -> Result<i64, SyncStoreError> {
    Ok(diesel::insert_into(raw_payloads::table)
        .values((
            raw_payloads::source_id.eq(payload.source_id),
            raw_payloads::run_id.eq(payload.run_id),
            raw_payloads::fetched_at.eq(now()),
            raw_payloads::url.eq(payload.url),
            raw_payloads::status_code.eq(i32::from(payload.status)),
            raw_payloads::content_type.eq(payload.content_type),
            raw_payloads::content_hash.eq(&payload.payload.content_hash),
            raw_payloads::body.eq(&payload.payload.gzipped),
        ))
        .returning(raw_payloads::id)
        .get_result(conn)?)
}

/// Page cache of the connection a sync run or a finance file is stored with: a page
/// rewrites about a hundred records, and 64 MiB was within 2.4% of 256 MiB (bench/README.md).
pub const SYNC_CACHE_MIB: u32 = 64;

/// A fetched body as [`commit_page`] stores it: its hash and its compressed bytes. Made before
/// the page's transaction (compressing a page of 100 releases takes milliseconds), so a sync
/// does it while the page before is still being stored.
#[derive(Debug, Clone)]
pub struct RawPayload {
    content_hash: String,
    gzipped: Vec<u8>,
}

impl RawPayload {
    pub fn new(body: &[u8]) -> Self {
        Self::with_hash(body, crate::digest::sha256_hex(body))
    }

    /// A body whose SHA-256 (lower-case hex) the caller has already computed.
    pub fn with_hash(body: &[u8], content_hash: String) -> Self {
        Self {
            content_hash,
            gzipped: gzip(body),
        }
    }
}

/// Raw payloads are kept gzip-compressed: feed pages are repetitive JSON, about a tenth of
/// the size compressed, and they are read back only to audit or replay a sync.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 6),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The body of a stored raw payload, as received.
pub fn raw_payload_body(
    conn: &mut DbConnection,
    payload_id: i64,
) -> Result<Option<Vec<u8>>, SyncStoreError> {
    use std::io::Read;
    let stored: Option<Vec<u8>> = raw_payloads::table
        .find(payload_id)
        .select(raw_payloads::body)
        .first(conn)
        .optional()?;
    Ok(stored.map(|gz| {
        let mut body = Vec::new();
        let _ = flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut body);
        body
    }))
}

/// Held while a source syncs: no other run of it, in this process or another, starts until
/// it is dropped. PostgreSQL: a session advisory lock on a connection kept for the purpose
/// (released by the server if this process dies). SQLite: an OS lock on a file beside the
/// database (released by the OS if this process dies).
pub struct SourceLock {
    _held: Held,
}

enum Held {
    Postgres {
        conn: Box<PooledConnection>,
        key: i64,
    },
    /// Only held: the OS releases the lock when the file is closed.
    File { _file: std::fs::File },
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Postgres { conn, key } = self {
            let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<sql_types::BigInt, _>(*key)
                .execute(&mut ***conn);
        }
    }
}

#[derive(QueryableByName)]
struct Scope {
    #[diesel(sql_type = sql_types::Text)]
    scope: String,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = sql_types::Bool)]
    locked: bool,
}

/// Takes the lock of source `name`, or `None` when another run holds it.
pub fn try_lock_source(
    pool: &DbPool,
    url: &DatabaseUrl,
    name: &str,
) -> Result<Option<SourceLock>, SyncStoreError> {
    match url {
        DatabaseUrl::Postgres(_) => {
            let mut conn = pool.get()?;
            // Advisory locks are per database; registers in other schemas of the same
            // database must not block each other.
            let scope: Scope =
                diesel::sql_query("SELECT current_database() || '.' || current_schema() AS scope")
                    .get_result(&mut *conn)?;
            let key = advisory_key(&scope.scope, name);
            let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<sql_types::BigInt, _>(key)
                .get_result(&mut *conn)?;
            Ok(row.locked.then(|| SourceLock {
                _held: Held::Postgres {
                    conn: Box::new(conn),
                    key,
                },
            }))
        }
        DatabaseUrl::Sqlite(path) => {
            let path = lock_path(path, name);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|source| SyncStoreError::LockFile {
                    path: path.clone(),
                    source,
                })?;
            match file.try_lock() {
                Ok(()) => Ok(Some(SourceLock {
                    _held: Held::File { _file: file },
                })),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(source)) => {
                    Err(SyncStoreError::LockFile { path, source })
                }
            }
        }
    }
}

/// The advisory lock key of a source in a database schema: stable across processes and
/// versions.
fn advisory_key(scope: &str, name: &str) -> i64 {
    let digest = Sha256::digest(format!("ocreg sync source {scope} {name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn lock_path(database: &Path, source: &str) -> PathBuf {
    let safe: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".sync-{safe}.lock"));
    if database.as_os_str() == ":memory:" {
        return std::env::temp_dir().join(format!(
            "ocreg-memory-{}.sync-{safe}.lock",
            std::process::id()
        ));
    }
    database.with_file_name(name)
}

/// A run as the status API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    pub source: String,
    pub status: RunStatus,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// The daemon that ran it (`host:pid`).
    pub holder: Option<String>,
    pub summary: RunSummary,
    pub error: Option<String>,
}

type RunRow = (
    i64,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
    String,
    Option<String>,
);

fn run_view(row: RunRow) -> RunView {
    let (id, source, status, started_at, finished_at, holder, summary, error) = row;
    RunView {
        id,
        source,
        status: RunStatus::parse(&status),
        started_at,
        finished_at,
        holder,
        // A summary written by an older version that no longer reads is shown empty.
        summary: serde_json::from_str(&summary).unwrap_or_default(),
        error,
    }
}

/// Runs, newest first: of one source or all, before run id `before` (keyset paging).
pub fn list_runs(
    conn: &mut DbConnection,
    source: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<RunView>, SyncStoreError> {
    load_runs(conn, source, before, None, limit)
}

pub fn get_run(conn: &mut DbConnection, run_id: i64) -> Result<Option<RunView>, SyncStoreError> {
    Ok(load_runs(conn, None, None, Some(run_id), 1)?.pop())
}

fn load_runs(
    conn: &mut DbConnection,
    source: Option<&str>,
    before: Option<i64>,
    run_id: Option<i64>,
    limit: i64,
) -> Result<Vec<RunView>, SyncStoreError> {
    let mut query = sync_runs::table
        .inner_join(sync_sources::table)
        .select((
            sync_runs::id,
            sync_sources::name,
            sync_runs::status,
            sync_runs::started_at,
            sync_runs::finished_at,
            sync_runs::holder,
            sync_runs::summary,
            sync_runs::error,
        ))
        .order(sync_runs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(source) = source {
        query = query.filter(sync_sources::name.eq(source.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(sync_runs::id.lt(before));
    }
    if let Some(run_id) = run_id {
        query = query.filter(sync_runs::id.eq(run_id));
    }
    Ok(query
        .load::<RunRow>(conn)?
        .into_iter()
        .map(run_view)
        .collect())
}

/// What the register knows of one source's syncing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub last_run: Option<RunView>,
    pub last_success_at: Option<NaiveDateTime>,
    /// The high-water mark: the feed is complete up to here.
    pub complete_until: Option<DateTime<Utc>>,
    /// A window walked part-way when the last run stopped.
    pub window: Option<WindowProgress>,
    /// Releases stored from this source.
    pub releases: i64,
    /// Releases quarantined from this source.
    pub quarantined: i64,
    /// The last failed run's error, if no run succeeded since.
    pub last_error: Option<String>,
}

pub fn source_state(conn: &mut DbConnection, name: &str) -> Result<SourceState, SyncStoreError> {
    let Some(source_id) = sync_sources::table
        .filter(sync_sources::name.eq(name))
        .select(sync_sources::id)
        .first::<i64>(conn)
        .optional()?
    else {
        return Ok(SourceState::default());
    };
    let last_run = list_runs(conn, Some(name), None, 1)?.into_iter().next();
    let last_success_at: Option<NaiveDateTime> = sync_runs::table
        .filter(sync_runs::source_id.eq(source_id))
        .filter(sync_runs::status.eq(RunStatus::Succeeded.code()))
        .select(sync_runs::finished_at)
        .order(sync_runs::id.desc())
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten();
    let cursor = load_cursor(conn, source_id)?;
    let releases = releases_table::table
        .filter(releases_table::source.eq(release_source(name)))
        .count()
        .get_result(conn)?;
    let quarantined = sync_quarantine::table
        .filter(sync_quarantine::source_id.eq(source_id))
        .count()
        .get_result(conn)?;
    let last_error = last_run
        .as_ref()
        .filter(|r| r.status == RunStatus::Failed || r.status == RunStatus::Interrupted)
        .and_then(|r| r.error.clone());
    Ok(SourceState {
        last_run,
        last_success_at,
        complete_until: cursor.complete_until,
        window: cursor.window,
        releases,
        quarantined,
        last_error,
    })
}
