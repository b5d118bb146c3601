//! Bulk data for campaigners and data portals: `GET /downloads` (what there is, as JSON or an
//! HTML page), `GET /downloads/{file}` (every release or record as OCDS JSON Lines or
//! packages, flat CSV tables, a zip of the tables, the 360Giving grants imported as JSON Lines
//! or CSV; optionally one year's, or filtered) and
//! `GET /catalog.json` (a DCAT catalogue of the same files, for portals to harvest).
//!
//! Downloads are written live from the database with constant memory: the export
//! ([`register::export::write`]) runs on a blocking thread and writes ~64 KiB chunks into a
//! bounded channel (16 chunks) that the response body drains; a client that stops reading
//! holds the export at most 1 MiB ahead of it, and one that disconnects drops the channel,
//! which ends the export at its next write. The response carries no `Content-Length` (size
//! unknown until written) and the ETag middleware passes such bodies through untouched; the
//! handler sets a weak `ETag` and `Last-Modified` of its own from cheap freshness data (counts
//! and last changes) and answers `If-None-Match` / `If-Modified-Since` with 304 before any
//! export runs. `Compress` gzips them for clients that ask, except the zip (already deflated).

use std::{
    io::{self, Write},
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use actix_web::{
    HttpRequest, HttpResponse, HttpResponseBuilder, get,
    http::header::{self, HttpDate},
    web::{self, Bytes},
};
use chrono::NaiveDateTime;
use register::export::{self, Download, Freshness, Meta, Selection, Unit};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    middleware::etag::if_none_match,
    routes::views::ViewQuery,
    startup::AppState,
};

/// Bytes per chunk sent to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks the export may run ahead of the client.
const CHANNEL_CHUNKS: usize = 16;
/// How long a download waits for an export slot before 503.
const SLOT_WAIT: Duration = Duration::from_secs(30);

/// Exports running at once (each holds a pooled connection for its whole length): a quarter
/// of the pool, at least one, so downloads never starve the API of connections.
fn export_slots(state: &AppState) -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| {
            let pool = state.pool.max_size() as usize;
            Arc::new(Semaphore::new((pool / 4).max(1)))
        })
        .clone()
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `html` for the page for people, `json` for machines (default: `Accept` decides,
    /// `text/html` gives the page).
    pub format: Option<String>,
}

/// Every download with what it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadList {
    pub publisher: String,
    /// Licence of all the data: Open Government Licence v3.0.
    pub license: String,
    /// OCDS version of the JSON files (the CSV tables flatten the same data).
    pub ocds_version: String,
    /// OCDS extensions the data uses.
    pub extensions: Vec<String>,
    /// Releases, records and 360Giving grants in the register now.
    pub releases: i64,
    pub records: i64,
    pub grants: i64,
    /// When the data last changed (UTC), null when the register is empty.
    pub last_modified: Option<String>,
    /// Query parameters every download takes: `year` and the register filters.
    pub parameters: String,
    /// The DCAT catalogue of the same files.
    pub catalog: String,
    /// The change feed, to keep a copy current after one download.
    pub change_feed: String,
    pub files: Vec<DownloadFile>,
}

/// One download.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadFile {
    /// The path under `/downloads/`, e.g. `releases.jsonl` or `csv/parties.csv`.
    pub name: String,
    /// JSON Lines, JSON, CSV or ZIP.
    pub format: String,
    pub media_type: String,
    pub url: String,
    /// Bytes, when known; null: written live from the database, so not known beforehand.
    pub size: Option<u64>,
    /// How many releases, records or grants (`count_of`) it holds unfiltered; CSV tables
    /// hold rows made from that many records.
    pub count: i64,
    /// `releases`, `records` or `grants`.
    pub count_of: String,
    pub last_modified: Option<String>,
    pub license: String,
    pub ocds_version: String,
    pub extensions: Vec<String>,
    pub description: String,
}

/// What can be downloaded: every file with its format, media type, URL, count, licence, OCDS
/// version and extensions; JSON, or an HTML page for people (`Accept: text/html` or
/// `format=html`).
#[utoipa::path(
    tag = "ocds",
    params(ListQuery),
    responses(
        (status = 200, description = "The downloads", content(
            (DownloadList = "application/json"),
            (String = "text/html; charset=utf-8")
        )),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/downloads")]
pub async fn list_downloads(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let html = match query.format.as_deref() {
        Some("html") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: '{other}' is not supported; use json or html"
            )));
        }
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html")),
    };
    let fresh = freshness(&state).await?;
    let base = state.publisher.base_url(&req);
    let list = download_list(&state.publisher.name, &base, &fresh);
    let mut response = HttpResponse::Ok();
    response.insert_header((header::VARY, "Accept"));
    Ok(if html {
        response
            .content_type("text/html; charset=utf-8")
            .body(html_page(&list))
    } else {
        response.json(list)
    })
}

/// A DCAT catalogue (JSON-LD, DCAT 3 / DCAT-AP terms) of the register's data: one dataset
/// whose distributions are the downloads (downloadURL, mediaType, format, licence, modified,
/// conformsTo OCDS 1.1) and the API as a data service, for data portals to harvest.
#[utoipa::path(
    tag = "ocds",
    responses(
        (status = 200, description = "The DCAT catalogue", body = Object, content_type = "application/ld+json"),
    )
)]
#[get("/catalog.json")]
pub async fn catalog(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let fresh = freshness(&state).await?;
    let base = state.publisher.base_url(&req);
    let body = serde_json::to_vec_pretty(&dcat_catalog(&state.publisher.name, &base, &fresh))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/ld+json")
        .body(body))
}

/// One bulk download, streamed live with constant memory.
///
/// `releases.jsonl` (one OCDS release per line, in the order received; `application/x-ndjson`),
/// `releases.json` (one release package), `records.jsonl` (one OCDS record per line: ocid,
/// embedded releases, compiled release), `records.json` (one record package),
/// `csv/{table}.csv` (`processes`, `parties`, `items`, `awards`, `award_suppliers`,
/// `contracts`, `observations`, `transactions`: flat tables of the compiled records, joined
/// on `ocid`), `csv.zip` (every table), `grants.jsonl` or `grants.csv` (the 360Giving grants
/// imported: the 360Giving fields stored, a grant to a person by its anonymised id only, the
/// contract each is linked to and where it came from). Records carry the council payments and
/// grants linked to their contracts as `contracts[].implementation.transactions` (also in
/// `csv/transactions.csv`). `year` keeps one year's releases (by release date), records (by
/// the date of their latest release) or grants (by award date); the register filters select
/// records (for release files, the releases of matching records, and `updated_since` is when
/// the register received a release) and do not apply to grants. `limit`, `cursor`, `format`
/// and `months` do not apply.
/// `If-None-Match` (the weak `ETag`) or `If-Modified-Since` answer 304 while the data is
/// unchanged.
#[utoipa::path(
    tag = "ocds",
    params(
        ("file" = String, Path, description = "`releases.jsonl`, `releases.json`, `records.jsonl`, `records.json`, `csv/{table}.csv`, `csv.zip`, `grants.jsonl` or `grants.csv`"),
        ("year" = Option<i32>, Query, description = "Only this year's releases (release date) or records (date of their latest release), e.g. 2026"),
        ViewQuery,
    ),
    responses(
        (status = 200, description = "The file, streamed (no Content-Length); `Content-Disposition` names it", content(
            (String = "application/x-ndjson"),
            (Object = "application/json"),
            (String = "text/csv; charset=utf-8"),
            (String = "application/zip")
        )),
        (status = 304, description = "Unchanged since the `ETag` or date the request names"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such download", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many downloads running: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/downloads/{file:.*}")]
pub async fn get_download(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let prepared = match Prepared::of(&req, &path, &state).await? {
        Answer::Export(prepared) => prepared,
        Answer::Done(response) => return Ok(response),
    };
    let Ok(slot) = tokio::time::timeout(SLOT_WAIT, export_slots(&state).acquire_owned()).await
    else {
        return Ok(too_busy());
    };
    let slot = slot.map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = prepared.response();
    let Prepared {
        download,
        selection,
        meta,
        ..
    } = *prepared;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let pool = state.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut out = ChannelWriter::new(tx);
        let result = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            export::write(&mut conn, download, &selection, &meta, &mut out)
                .map_err(|e| e.to_string())
        });
        // Free the slot before the body ends, so a client that asks again at once finds it.
        drop(slot);
        match result {
            Ok(written) => tracing::debug!(
                file = %download.name(), items = written.items, bytes = written.bytes,
                "download written"
            ),
            Err(_) if out.closed => {
                tracing::debug!(file = %download.name(), "client went away: download stopped");
            }
            Err(e) => {
                tracing::error!(file = %download.name(), error = %e, "download failed");
                // Break the response off, so the client sees an incomplete transfer rather
                // than a short file.
                out.fail(io::Error::other(e));
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(response.streaming(body))
}

/// `HEAD /downloads/{file}`: the headers of the download (link checkers and data portals
/// ask), without running the export. Not in the OpenAPI document, like every HEAD.
pub async fn head_download(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(match Prepared::of(&req, &path, &state).await? {
        Answer::Export(prepared) => prepared
            .response()
            .streaming(futures_util::stream::empty::<io::Result<Bytes>>()),
        Answer::Done(response) => response,
    })
}

/// A download request, checked: what to write and the headers of its answer.
struct Prepared {
    download: Download,
    selection: Selection,
    meta: Meta,
    etag: String,
    last_modified: Option<String>,
}

enum Answer {
    /// Run the export.
    Export(Box<Prepared>),
    /// Answered without it (304).
    Done(HttpResponse),
}

impl Prepared {
    async fn of(req: &HttpRequest, name: &str, state: &AppState) -> Result<Answer, ApiError> {
        let download = Download::parse(name).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no download '{name}'; GET /downloads lists them: {}",
                Download::all()
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let selection = selection(req.query_string())?;
        if download.unit() == Unit::Grants && selection.filters_anything() {
            return Err(ApiError::BadRequest(format!(
                "{name}: the register filters select releases and records; grants take `year` only"
            )));
        }
        let fresh = freshness(state).await?;
        let base = state.publisher.base_url(req);
        let etag = entity_tag(download, req.query_string(), &base, &fresh);
        let last_modified = fresh.last_modified().map(http_date);
        if not_modified(req, &etag, fresh.last_modified()) {
            let mut response = HttpResponse::NotModified();
            response.insert_header((header::ETAG, etag));
            if let Some(date) = last_modified {
                response.insert_header((header::LAST_MODIFIED, date));
            }
            return Ok(Answer::Done(response.finish()));
        }
        let meta = Meta {
            query: req.query_string().to_owned(),
            ..Meta::new(state.publisher.name.clone(), &base, fresh.last_modified())
        };
        Ok(Answer::Export(Box::new(Self {
            download,
            selection,
            meta,
            etag,
            last_modified,
        })))
    }

    /// The headers of the 200.
    fn response(&self) -> HttpResponseBuilder {
        let mut response = HttpResponse::Ok();
        response
            .content_type(self.download.media_type())
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    self.download.file_name(self.selection.year)
                ),
            ))
            .insert_header((header::ETAG, self.etag.clone()));
        if let Some(date) = &self.last_modified {
            response.insert_header((header::LAST_MODIFIED, date.clone()));
        }
        if self.download == Download::CsvZip {
            // Already deflated: `identity` keeps the Compress middleware from gzipping it again.
            response.insert_header((header::CONTENT_ENCODING, "identity"));
        }
        response
    }
}

/// 503 with `Retry-After` when every export slot stayed busy.
fn too_busy() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, 60))
        .content_type(crate::error::PROBLEM_JSON)
        .json(Problem {
            problem_type: "about:blank".to_owned(),
            title: "Service Unavailable".to_owned(),
            status: 503,
            detail: Some(
                "too many downloads are running; retry after the Retry-After seconds".to_owned(),
            ),
            errors: Vec::new(),
        })
}

/// Writes into the response's channel in chunks of [`CHUNK`] bytes, waiting while the channel
/// is full; fails (and remembers it) once the response is gone.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
    /// The receiving end was dropped: the client disconnected.
    closed: bool,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<io::Result<Bytes>>) -> Self {
        Self {
            tx,
            buffer: Vec::with_capacity(CHUNK),
            closed: false,
        }
    }

    fn send(&mut self, item: io::Result<Bytes>) -> io::Result<()> {
        if self.closed || self.tx.blocking_send(item).is_err() {
            self.closed = true;
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            ));
        }
        Ok(())
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.send(Ok(Bytes::from(chunk)))
    }

    /// Ends the body with an error, which aborts the response.
    fn fail(&mut self, error: io::Error) {
        self.buffer.clear();
        let _ = self.send(Err(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let room = CHUNK - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

/// The selection a download's query asks for: `year` and the register filters (the listing
/// parameters `limit`, `cursor`, `format` and `months` refused).
fn selection(query_string: &str) -> Result<Selection, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map_err(|e| ApiError::BadRequest(format!("query parameters: {e}")))?
        .into_inner();
    let mut year = None;
    for (key, value) in &pairs {
        match key.as_str() {
            "year" => {
                let parsed = value
                    .trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|y| (1..=9998).contains(y))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!("year: '{value}' is not a year such as 2026"))
                    })?;
                if year.replace(parsed).is_some() {
                    return Err(ApiError::BadRequest("year: give one year".to_owned()));
                }
            }
            "limit" | "cursor" | "format" | "months" => {
                return Err(ApiError::BadRequest(format!(
                    "{key}: a download holds every matching release or record in one file; \
                     `{key}` applies to the paged listings only"
                )));
            }
            _ => {}
        }
    }
    // The rest are the listings' filters, checked as they check them.
    let rest: Vec<&str> = query_string
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("year"))
        .collect();
    let filters = web::Query::<ViewQuery>::from_query(&rest.join("&"))
        .map_err(|e| ApiError::BadRequest(format!("query parameters: {e}")))?
        .filters()?;
    Ok(Selection { year, filters })
}

async fn freshness(state: &AppState) -> Result<Freshness, ApiError> {
    let pool = state.pool.clone();
    state
        .blocking(move || -> Result<Freshness, ApiError> {
            let mut conn = pool.get()?;
            export::freshness(&mut conn).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?
}

/// A weak tag: the same data, file, query and base URL give the same bytes but for the
/// packages' `publishedDate`.
fn entity_tag(download: Download, query: &str, base: &str, fresh: &Freshness) -> String {
    let key = format!(
        "{}\n{}\n{}\n{}\n{}",
        env!("CARGO_PKG_VERSION"),
        download.name(),
        query,
        base,
        fresh.version()
    );
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// Whether the client's copy is current: `If-None-Match` when sent (it takes precedence),
/// else `If-Modified-Since` (whole seconds, as HTTP dates have).
fn not_modified(req: &HttpRequest, etag: &str, modified: Option<NaiveDateTime>) -> bool {
    let mut none_match = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .peekable();
    if none_match.peek().is_some() {
        return none_match.any(|value| if_none_match(value, etag).is_some());
    }
    let since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .map(SystemTime::from);
    match (since, modified) {
        (Some(since), Some(modified)) => system_time(modified) <= since,
        _ => false,
    }
}

/// Whole seconds: HTTP dates have no fractions.
fn system_time(t: NaiveDateTime) -> SystemTime {
    let secs = t.and_utc().timestamp().max(0) as u64;
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn http_date(t: NaiveDateTime) -> String {
    HttpDate::from(system_time(t)).to_string()
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

const PARAMETERS: &str = "year (e.g. 2026) and the register filters: ocid, q, buyer, supplier, \
status, cpv, area, value_min, value_max, published_from, published_to, deadline_from, \
deadline_to, updated_since, partner, level, outcome_area, rating, ending_from, ending_to";

fn download_list(publisher: &str, base: &str, fresh: &Freshness) -> DownloadList {
    let meta = Meta::new(publisher, base, fresh.last_modified());
    let extensions = register::extension::package_extensions(base);
    let modified = fresh.last_modified().map(rfc3339);
    DownloadList {
        publisher: publisher.to_owned(),
        license: export::LICENSE.to_owned(),
        ocds_version: export::OCDS_VERSION.to_owned(),
        extensions: extensions.clone(),
        releases: fresh.releases,
        records: fresh.records,
        grants: fresh.grants,
        last_modified: modified.clone(),
        parameters: PARAMETERS.to_owned(),
        catalog: format!("{base}/catalog.json"),
        change_feed: format!("{base}/api/v1/releases?updated_since="),
        files: Download::all()
            .into_iter()
            .map(|d| DownloadFile {
                name: d.name(),
                format: d.format().to_owned(),
                media_type: d.media_type().to_owned(),
                url: meta.url(d),
                size: None,
                count: fresh.count(d.unit()),
                count_of: match d.unit() {
                    Unit::Releases => "releases",
                    Unit::Records => "records",
                    Unit::Grants => "grants",
                }
                .to_owned(),
                last_modified: modified.clone(),
                license: export::LICENSE.to_owned(),
                ocds_version: export::OCDS_VERSION.to_owned(),
                extensions: extensions.clone(),
                description: d.description(),
            })
            .collect(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The downloads page for people.
fn html_page(list: &DownloadList) -> String {
    let mut rows = String::new();
    for f in &list.files {
        rows.push_str(&format!(
            "<tr><td><a href=\"{url}\">{name}</a></td><td>{format}</td><td>{count} {of}</td>\
             <td>{description}</td></tr>\n",
            url = escape(&f.url),
            name = escape(&f.name),
            format = escape(&f.format),
            count = f.count,
            of = escape(&f.count_of),
            description = escape(&f.description),
        ));
    }
    let extensions: Vec<String> = list
        .extensions
        .iter()
        .map(|e| format!("<a href=\"{0}\">{0}</a>", escape(e)))
        .collect();
    let example = list
        .files
        .first()
        .map(|f| escape(&f.url))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulk data: {publisher}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ccc; vertical-align: top; }}
code {{ background: #f4f4f4; padding: 0 .2rem; }}
</style>
</head>
<body>
<h1>Bulk data</h1>
<p>Everything in {publisher}: {releases} releases in {records} records (contracting processes),
and {grants} 360Giving grants, last changed {modified}. Open data under the
<a href="{license}">Open Government Licence v3.0</a>; the JSON files are
<a href="https://standard.open-contracting.org/1.1/en/">OCDS {version}</a> with the extensions
{extensions}.</p>
<p>Each file is written live from the register, so its size is not known beforehand. Add
<code>?year=2026</code> for one year (releases by their date, records by the date of their latest
release), or any filter of the register views, e.g. <code>?buyer=GB-LAE-MAN</code> or
<code>?cpv=8531</code>: <code>{example}?year=2026</code>.</p>
<table>
<thead><tr><th>file</th><th>format</th><th>holds</th><th>what</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<p>Keep a copy current without downloading it all again: poll the change feed
<code>/api/v1/releases?updated_since=</code> with the time of your last run and follow
<code>links.next</code>. For data portals: the <a href="{catalog}">DCAT catalogue</a>. For
machines: <a href="?format=json">this list as JSON</a>.</p>
</body>
</html>
"#,
        publisher = escape(&list.publisher),
        releases = list.releases,
        records = list.records,
        grants = list.grants,
        modified = list
            .last_modified
            .as_deref()
            .map_or_else(|| "never".to_owned(), escape),
        license = escape(&list.license),
        version = escape(&list.ocds_version),
        extensions = extensions.join(", "),
        example = example,
        rows = rows,
        catalog = escape(&list.catalog),
    )
}

/// What the grant downloads follow: the 360Giving Data Standard.
const THREESIXTYGIVING_STANDARD: &str = "https://standard.threesixtygiving.org/en/latest/";

/// The DCAT catalogue as JSON-LD.
fn dcat_catalog(publisher: &str, base: &str, fresh: &Freshness) -> Value {
    let list = download_list(publisher, base, fresh);
    let modified = |value: &Option<String>| {
        value
            .as_ref()
            .map(|t| json!({"@value": t, "@type": "xsd:dateTime"}))
    };
    let conforms_to = json!({"@id": export::OCDS_SCHEMA_URL});
    let license = json!({"@id": export::LICENSE});
    let agent = json!({
        "@id": base,
        "@type": "foaf:Agent",
        "foaf:name": publisher,
    });
    let distributions: Vec<Value> = list
        .files
        .iter()
        .map(|f| {
            json!({
                "@id": format!("{}#distribution", f.url),
                "@type": "dcat:Distribution",
                "dct:title": f.name,
                "dct:description": f.description,
                "dcat:downloadURL": {"@id": f.url},
                "dcat:accessURL": {"@id": format!("{base}/downloads")},
                "dcat:mediaType": f.media_type,
                "dct:format": f.format,
                "dct:license": license,
                "dct:modified": modified(&f.last_modified),
                "dct:conformsTo": if f.count_of == "grants" {
                    json!({"@id": THREESIXTYGIVING_STANDARD})
                } else {
                    conforms_to.clone()
                },
            })
        })
        .collect();
    json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": format!("{base}/catalog.json"),
        "@type": "dcat:Catalog",
        "dct:title": publisher,
        "dct:description": "Open data of the commissioning register: OCDS releases and records and flat CSV tables.",
        "dct:publisher": agent,
        "dct:license": license,
        "dct:modified": modified(&list.last_modified),
        "foaf:homepage": {"@id": format!("{base}/downloads")},
        "dcat:dataset": [{
            "@id": format!("{base}/downloads#dataset"),
            "@type": "dcat:Dataset",
            "dct:title": format!("{publisher}: commissioning of services for children and young people"),
            "dct:description": "Commissioning intentions, opportunities, awarded contracts and their outcomes, as OCDS 1.1 releases and records and as flat CSV tables.",
            "dct:publisher": agent,
            "dct:license": license,
            "dct:modified": modified(&list.last_modified),
            "dct:conformsTo": conforms_to,
            "dcat:keyword": ["open contracting", "OCDS", "commissioning", "children's services", "procurement"],
            "dcat:landingPage": {"@id": format!("{base}/downloads")},
            "dcat:distribution": distributions,
        }],
        "dcat:service": [{
            "@id": format!("{base}/api/v1"),
            "@type": "dcat:DataService",
            "dct:title": "The register's REST API",
            "dcat:endpointURL": {"@id": format!("{base}/api/v1")},
            "dcat:endpointDescription": {"@id": format!("{base}/openapi.json")},
            "dct:license": license,
            "dct:conformsTo": conforms_to,
            "dcat:servesDataset": {"@id": format!("{base}/downloads#dataset")},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_licence_is_the_packages_licence() {
        assert_eq!(export::LICENSE, crate::packages::LICENSE);
    }

    #[test]
    fn selections_take_year_and_filters_and_refuse_paging() {
        let s = selection("year=2026&buyer=GB-LAE-MAN").unwrap();
        assert_eq!(s.year, Some(2026));
        assert_eq!(s.filters.buyer.as_deref(), Some("GB-LAE-MAN"));
        assert!(selection("").unwrap().year.is_none());
        for bad in [
            "year=twenty",
            "year=2026&year=2025",
            "limit=10",
            "cursor=x",
            "format=csv",
            "nope=1",
            "value_min=x",
        ] {
            assert!(selection(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channel_writer_sends_whole_chunks_and_stops_when_the_client_is_gone() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut w = ChannelWriter::new(tx);
        w.write_all(&vec![b'x'; CHUNK + 10]).unwrap();
        w.flush().unwrap();
        assert_eq!(rx.try_recv().unwrap().unwrap().len(), CHUNK);
        assert_eq!(rx.try_recv().unwrap().unwrap().len(), 10);
        drop(rx);
        assert!(w.write_all(&vec![b'x'; CHUNK]).is_err());
        assert!(w.closed);
    }

    #[test]
    fn entity_tags_are_weak_and_change_with_the_data_and_query() {
        let fresh = Freshness::default();
        let tag = entity_tag(Download::ReleasesJsonl, "", "http://x", &fresh);
        assert!(tag.starts_with("W/\""));
        assert_ne!(
            tag,
            entity_tag(Download::ReleasesJsonl, "year=2026", "http://x", &fresh)
        );
        let changed = Freshness {
            releases: 1,
            ..fresh
        };
        assert_ne!(
            tag,
            entity_tag(Download::ReleasesJsonl, "", "http://x", &changed)
        );
        assert_ne!(
            tag,
            entity_tag(Download::RecordsJsonl, "", "http://x", &fresh)
        );
    }
}
