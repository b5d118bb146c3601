//! Bulk data: every release or every record of the register (optionally one year's, or only
//! those matching the register filters) written to any [`std::io::Write`] as OCDS JSON Lines,
//! OCDS packages, flat CSV tables or a zip of the tables.
//!
//! Memory does not grow with the register:
//! - rows are read in keyset batches (`WHERE id > last ORDER BY id LIMIT n`), each batch one
//!   short query, so no cursor or transaction stays open and neither backend buffers a result;
//! - releases and compiled releases are stored as serialised JSON text and written as they
//!   are: the JSON formats parse nothing;
//! - a package is written as its envelope's head, then the releases (or records) separated by
//!   commas, then the tail, never as one value;
//! - the zip is written in streaming mode ([`zip::ZipWriter::new_stream`]: sizes and CRCs go in
//!   data descriptors after each entry), so it needs no seekable output and can go straight
//!   into an HTTP response. Its tables come from one pass over the records: the first goes
//!   into the zip as the records are read, the others are spooled to temporary files and
//!   copied in after it (see [`Download::CsvZip`]).
//!
//! `GET /downloads/{file}` (streamed through a bounded channel) and `ocreg export` (files in
//! a folder) both use [`write`], so the two give the same bytes (but for `publishedDate`).
//! Errors of the output (a client that went away) stop the export at once.

use std::{
    collections::HashMap,
    io::{self, Write},
    path::Path,
};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::{
    db::{DbConnection, MultiBackend},
    flatten::{self, Table},
    schema::{grant_links, grants, records, releases},
    transactions::Transactions,
    views::Filters,
};

/// Open Government Licence v3.0, the licence of every download (as of every package the API
/// serves).
pub const LICENSE: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";
/// The OCDS version the packages declare.
pub const OCDS_VERSION: &str = "1.1";
/// What the downloads conform to (DCAT `conformsTo`): the OCDS 1.1 documentation.
pub const OCDS_SCHEMA_URL: &str = "https://standard.open-contracting.org/1.1/en/";
/// Media type of JSON Lines. No type is registered with IANA; `application/x-ndjson` is the
/// one tools recognise most widely (`application/jsonl` is a later proposal).
pub const JSON_LINES: &str = "application/x-ndjson";

/// Releases read per query.
pub const RELEASE_BATCH: i64 = 1000;
/// Records read per query (each brings its releases when they are embedded).
pub const RECORD_BATCH: i64 = 250;
/// Ocids per `IN (...)` when reading a batch's releases.
const OCID_CHUNK: usize = 500;

/// One downloadable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Download {
    /// One release per line, in the order received.
    ReleasesJsonl,
    /// One OCDS release package holding every release.
    ReleasesJson,
    /// One OCDS record per line (ocid, embedded releases, compiled release).
    RecordsJsonl,
    /// One OCDS record package holding every record.
    RecordsJson,
    /// One flat table of the compiled records.
    Csv(Table),
    /// Every table, one CSV file each, in a zip. Written in one pass over the records: the
    /// first table streams into the zip at once, the others are spooled to temporary files
    /// (in the system's temporary folder, `TMPDIR`) until it is done.
    CsvZip,
    /// The 360Giving grants imported, one per line: the 360Giving fields stored (a grant to
    /// an individual by its anonymised id only), its contract link and provenance.
    GrantsJsonl,
    /// The same grants as one CSV file with 360Giving column titles.
    GrantsCsv,
}

/// What a download holds one of per line or per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Releases,
    Records,
    Grants,
}

impl Download {
    /// Every download, in the order they are listed.
    pub fn all() -> Vec<Self> {
        let mut all = vec![
            Self::ReleasesJsonl,
            Self::ReleasesJson,
            Self::RecordsJsonl,
            Self::RecordsJson,
        ];
        all.extend(Table::ALL.iter().map(|&t| Self::Csv(t)));
        all.push(Self::CsvZip);
        all.extend([Self::GrantsJsonl, Self::GrantsCsv]);
        all
    }

    /// The path under `/downloads/`: `releases.jsonl`, `csv/parties.csv`, `csv.zip`...
    pub fn name(self) -> String {
        match self {
            Self::ReleasesJsonl => "releases.jsonl".to_owned(),
            Self::ReleasesJson => "releases.json".to_owned(),
            Self::RecordsJsonl => "records.jsonl".to_owned(),
            Self::RecordsJson => "records.json".to_owned(),
            Self::Csv(table) => format!("csv/{}.csv", table.name()),
            Self::CsvZip => "csv.zip".to_owned(),
            Self::GrantsJsonl => "grants.jsonl".to_owned(),
            Self::GrantsCsv => "grants.csv".to_owned(),
        }
    }

    /// The download of a path under `/downloads/`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|d| d.name() == name)
    }

    /// The file name to save it as: the name's last segment, with the year when one was
    /// chosen (`releases-2026.jsonl`, `parties-2026.csv`).
    pub fn file_name(self, year: Option<i32>) -> String {
        let name = self.name();
        let base = name.rsplit('/').next().unwrap_or(&name);
        match (year, base.split_once('.')) {
            (Some(year), Some((stem, ext))) => format!("{stem}-{year}.{ext}"),
            _ => base.to_owned(),
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::ReleasesJsonl | Self::RecordsJsonl | Self::GrantsJsonl => JSON_LINES,
            Self::ReleasesJson | Self::RecordsJson => "application/json",
            Self::Csv(_) | Self::GrantsCsv => "text/csv; charset=utf-8",
            Self::CsvZip => "application/zip",
        }
    }

    /// The format's name for people and catalogues.
    pub fn format(self) -> &'static str {
        match self {
            Self::ReleasesJsonl | Self::RecordsJsonl | Self::GrantsJsonl => "JSON Lines",
            Self::ReleasesJson | Self::RecordsJson => "JSON",
            Self::Csv(_) | Self::GrantsCsv => "CSV",
            Self::CsvZip => "ZIP",
        }
    }

    /// What it is made of: releases, records (the CSV tables flatten compiled records) or
    /// grants.
    pub fn unit(self) -> Unit {
        match self {
            Self::ReleasesJsonl | Self::ReleasesJson => Unit::Releases,
            Self::GrantsJsonl | Self::GrantsCsv => Unit::Grants,
            _ => Unit::Records,
        }
    }

    /// Whether the file is OCDS JSON (rather than tables made from it, or grants).
    pub fn is_ocds(self) -> bool {
        !matches!(
            self,
            Self::Csv(_) | Self::CsvZip | Self::GrantsJsonl | Self::GrantsCsv
        )
    }

    /// One sentence for people.
    pub fn description(self) -> String {
        match self {
            Self::ReleasesJsonl => {
                "Every OCDS release, one per line, in the order the register received them."
                    .to_owned()
            }
            Self::ReleasesJson => {
                "Every OCDS release in one release package (publisher, licence, extensions)."
                    .to_owned()
            }
            Self::RecordsJsonl => "Every OCDS record, one per line: its ocid, its releases \
                                   (embedded) and its compiled release."
                .to_owned(),
            Self::RecordsJson => {
                "Every OCDS record (releases embedded, compiled release) in one record package."
                    .to_owned()
            }
            Self::Csv(table) => format!(
                "The {} table of the compiled records, one CSV file; `ocid` joins the tables.",
                table.name()
            ),
            Self::CsvZip => "Every CSV table of the compiled records in one zip file.".to_owned(),
            Self::GrantsJsonl => "Every 360Giving grant imported, one per line: the 360Giving \
                                  fields stored (a grant to a person by its anonymised id only), \
                                  the contract it is linked to and where it came from."
                .to_owned(),
            Self::GrantsCsv => "Every 360Giving grant imported, one CSV file with 360Giving \
                                column titles, the contract it is linked to and where it came from."
                .to_owned(),
        }
    }
}

/// Which releases or records a download holds: all by default.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Releases dated in this year (the release's `date`); records whose compiled release is
    /// dated in it (the date of their latest release, UTC).
    pub year: Option<i32>,
    /// The register filters, as the listings take them. For releases they select the
    /// releases of matching records, and `updated_since` is when the register received a
    /// release (as in the change feed `GET /api/v1/releases`).
    pub filters: Filters,
}

impl Selection {
    /// Whether a register filter is set: they select releases and records, not grants.
    pub fn filters_anything(&self) -> bool {
        filters_records(&self.filters) || self.filters.updated_since.is_some()
    }
}

/// Who publishes the packages, where, and when.
#[derive(Debug, Clone)]
pub struct Meta {
    pub publisher_name: String,
    /// The register's public URL without a trailing slash: package `uri`s, the publisher's
    /// `uri` and our extension's URL are built on it.
    pub base_url: String,
    /// The packages' `publishedDate` (RFC 3339, UTC).
    pub published_date: String,
    /// The query after `/downloads/{file}` that selected the data, without `?` (part of the
    /// package `uri`); empty when everything is exported.
    pub query: String,
    /// When the data last changed: the time of every zip entry (so the same data gives the
    /// same zip); 1980-01-01 when unknown.
    pub modified: Option<NaiveDateTime>,
}

impl Meta {
    /// Published now, for everything (no query).
    pub fn new(
        publisher_name: impl Into<String>,
        base_url: &str,
        modified: Option<NaiveDateTime>,
    ) -> Self {
        Self {
            publisher_name: publisher_name.into(),
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            published_date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            query: String::new(),
            modified,
        }
    }

    /// Where `download` is served.
    pub fn url(&self, download: Download) -> String {
        format!("{}/downloads/{}", self.base_url, download.name())
    }

    /// The package envelope up to and including the opening bracket of its `key` array:
    /// `uri`, `publishedDate`, `publisher`, `license`, `version`, `extensions` (the same
    /// fields, in the same order, as the API's packages).
    fn package_head(&self, download: Download, key: &str) -> Result<String, ExportError> {
        let mut uri = self.url(download);
        if !self.query.is_empty() {
            uri.push('?');
            uri.push_str(&self.query);
        }
        let mut head = Map::new();
        head.insert("uri".into(), json!(uri));
        head.insert("publishedDate".into(), json!(self.published_date));
        head.insert(
            "publisher".into(),
            json!({"name": self.publisher_name, "uri": self.base_url}),
        );
        head.insert("license".into(), json!(LICENSE));
        head.insert("version".into(), json!(OCDS_VERSION));
        head.insert(
            "extensions".into(),
            json!(crate::extension::package_extensions(&self.base_url)),
        );
        let mut text = serde_json::to_string(&Value::Object(head)).map_err(io::Error::from)?;
        text.pop(); // the closing brace
        text.push_str(",\"");
        text.push_str(key);
        text.push_str("\":[");
        Ok(text)
    }

    fn zip_time(&self) -> zip::DateTime {
        self.modified
            .and_then(|t| {
                zip::DateTime::from_date_and_time(
                    u16::try_from(t.year()).ok()?,
                    t.month() as u8,
                    t.day() as u8,
                    t.hour() as u8,
                    t.minute() as u8,
                    t.second() as u8,
                )
                .ok()
            })
            .unwrap_or_default()
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Releases (release files), records (record files) or CSV rows without headers (tables
    /// and the zip).
    pub items: u64,
    /// Bytes written (of the zip, compressed).
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed: for an HTTP download, mostly a client that went away.
    #[error("cannot write the export: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("stored compiled release of {ocid} is not valid JSON: {source}")]
    Corrupt {
        ocid: String,
        source: serde_json::Error,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// How current the register's data is, read cheaply (counts and two indexed maxima): enough
/// for `Last-Modified`, an `ETag`, and the counts a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freshness {
    pub releases: i64,
    pub records: i64,
    /// When the register last received a release.
    pub last_received: Option<NaiveDateTime>,
    /// When a record was last recompiled.
    pub last_updated: Option<NaiveDateTime>,
    /// Payments and grants linked to contracts, and when links last changed: records show
    /// them as transactions.
    pub links: i64,
    pub last_linked: Option<NaiveDateTime>,
    pub grants: i64,
    /// When a grant was last imported or replaced.
    pub last_grant: Option<NaiveDateTime>,
}

impl Freshness {
    /// When the data last changed.
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.last_received
            .max(self.last_updated)
            .max(self.last_linked)
            .max(self.last_grant)
    }

    /// A text that changes whenever the data does, for entity tags.
    pub fn version(&self) -> String {
        let micros = |t: Option<NaiveDateTime>| t.map_or(0, |t| t.and_utc().timestamp_micros());
        format!(
            "{}.{}.{}.{}.{}.{}.{}.{}",
            self.releases,
            self.records,
            micros(self.last_received),
            micros(self.last_updated),
            self.links,
            micros(self.last_linked),
            self.grants,
            micros(self.last_grant)
        )
    }

    pub fn count(&self, unit: Unit) -> i64 {
        match unit {
            Unit::Releases => self.releases,
            Unit::Records => self.records,
            Unit::Grants => self.grants,
        }
    }
}

/// Counts and last changes of releases, records, links and grants.
pub fn freshness(conn: &mut DbConnection) -> Result<Freshness, diesel::result::Error> {
    use diesel::dsl::max;
    let (links, last_linked) = crate::transactions::links_version(conn)?;
    Ok(Freshness {
        links,
        last_linked,
        grants: grants::table.count().get_result(conn)?,
        last_grant: grants::table.select(max(grants::imported_at)).first(conn)?,
        releases: releases::table.count().get_result(conn)?,
        records: records::table.count().get_result(conn)?,
        last_received: releases::table
            .select(max(releases::received_at))
            .first(conn)?,
        last_updated: records::table
            .select(max(records::updated_at))
            .first(conn)?,
    })
}

/// Writes `download` of the `selection` to `out` (which it flushes, and does not buffer:
/// give it a buffered writer).
pub fn write(
    conn: &mut DbConnection,
    download: Download,
    selection: &Selection,
    meta: &Meta,
    out: &mut dyn Write,
) -> Result<Written, ExportError> {
    let mut out = Counting::new(out);
    let items = match download {
        Download::ReleasesJsonl => each_release(conn, selection, |body| {
            out.write_all(body.as_bytes())?;
            out.write_all(b"\n")
        })?,
        Download::ReleasesJson => {
            out.write_all(meta.package_head(download, "releases")?.as_bytes())?;
            let mut first = true;
            let n = each_release(conn, selection, |body| {
                if !std::mem::take(&mut first) {
                    out.write_all(b",")?;
                }
                out.write_all(body.as_bytes())
            })?;
            out.write_all(b"]}\n")?;
            n
        }
        Download::RecordsJsonl => each_record(conn, selection, &meta.base_url, true, |record| {
            record.write_json(&mut out)?;
            out.write_all(b"\n")?;
            Ok(())
        })?,
        Download::RecordsJson => {
            out.write_all(meta.package_head(download, "records")?.as_bytes())?;
            let mut first = true;
            let n = each_record(conn, selection, &meta.base_url, true, |record| {
                if !std::mem::take(&mut first) {
                    out.write_all(b",")?;
                }
                record.write_json(&mut out)?;
                Ok(())
            })?;
            out.write_all(b"]}\n")?;
            n
        }
        Download::Csv(table) => {
            write_tables(conn, selection, &meta.base_url, &mut [(table, &mut out)])?
                .iter()
                .sum()
        }
        Download::CsvZip => zip_one_pass(conn, selection, meta, &mut out)?,
        Download::GrantsJsonl => each_grant(conn, selection, &meta.base_url, |grant| {
            serde_json::to_writer(&mut out, &grant.json()).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
            Ok(())
        })?,
        Download::GrantsCsv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(GRANT_CSV_HEADER)?;
            let n = each_grant(conn, selection, &meta.base_url, |grant| {
                Ok(writer.write_record(grant.csv_row())?)
            })?;
            writer.flush()?;
            n
        }
    };
    out.flush()?;
    Ok(Written {
        items,
        bytes: out.bytes,
    })
}

/// Writes several CSV tables in one pass over the compiled records (each parsed once), each
/// to its own output; returns the rows written to each (headers aside). `base_url` (the
/// register's public URL) begins the URLs of the linked transactions.
pub fn write_tables(
    conn: &mut DbConnection,
    selection: &Selection,
    base_url: &str,
    outputs: &mut [(Table, &mut dyn Write)],
) -> Result<Vec<u64>, ExportError> {
    let mut writers = Vec::with_capacity(outputs.len());
    for (table, out) in outputs.iter_mut() {
        let mut writer = csv::Writer::from_writer(&mut **out);
        writer.write_record(table.header())?;
        writers.push((*table, writer, 0_u64));
    }
    each_record(conn, selection, base_url, false, |record| {
        let mut compiled: Value =
            serde_json::from_str(&record.compiled).map_err(|source| ExportError::Corrupt {
                ocid: record.ocid.clone(),
                source,
            })?;
        crate::transactions::add(&mut compiled, &record.ocid, &record.linked, base_url);
        for (table, writer, rows) in &mut writers {
            let mut failed = None;
            flatten::rows(*table, &compiled, &mut |row: &[String]| {
                if failed.is_none() {
                    match writer.write_record(row) {
                        Ok(()) => *rows += 1,
                        Err(e) => failed = Some(e),
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        Ok(())
    })?;
    let mut counts = Vec::with_capacity(writers.len());
    for (_, mut writer, rows) in writers {
        writer.flush()?;
        counts.push(rows);
    }
    Ok(counts)
}

/// Writes the CSV zip from table files already written (by [`write_tables`]): what
/// `ocreg export` does when it writes the tables too, so the records are read once. The same
/// bytes as [`write`] of [`Download::CsvZip`] for the same data.
pub fn zip_table_files(
    meta: &Meta,
    files: &[(Table, &Path)],
    out: &mut dyn Write,
) -> Result<Written, ExportError> {
    let mut out = Counting::new(out);
    let items = zip_tables(meta, &mut out, |table, entry| {
        let path = files
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, p)| *p)
            .ok_or_else(|| io::Error::other(format!("no file for table {}", table.name())))?;
        let mut file = io::BufReader::new(std::fs::File::open(path)?);
        // The rows of the file: its lines after the header, unless a field holds a line break,
        // so count them as CSV records.
        let mut rows = 0_u64;
        let mut tee = Tee {
            inner: &mut file,
            copy: entry,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&mut tee);
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record)? {
            rows += 1;
        }
        Ok(rows)
    })?;
    out.flush()?;
    Ok(Written {
        items,
        bytes: out.bytes,
    })
}

/// The options of every zip entry: DEFLATE (level 6), the data's last change as time.
fn zip_options(meta: &Meta) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Sizes are unknown when an entry starts: ZIP64 data descriptors, whatever the size.
        .large_file(true)
        .unix_permissions(0o644)
        .last_modified_time(meta.zip_time())
}

/// The zip of every table in one pass over the records. Entries of a zip follow one another,
/// so only one table can go into it as the records are read: the first (`processes`) does,
/// so the download starts at once, while the others are spooled to temporary files
/// (uncompressed CSV, removed when done) and copied in after it. Memory stays flat; the disk
/// holds those tables for the length of the export.
fn zip_one_pass(
    conn: &mut DbConnection,
    selection: &Selection,
    meta: &Meta,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let spool = tempfile::Builder::new().prefix("ocreg-export").tempdir()?;
    let (first, rest) = Table::ALL
        .split_first()
        .expect("there is at least one table");
    let mut spooled = Vec::with_capacity(rest.len());
    for &table in rest {
        let path = spool.path().join(format!("{}.csv", table.name()));
        let file = io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&path)?);
        spooled.push((table, file, path));
    }
    let options = zip_options(meta);
    let mut zip = zip::ZipWriter::new_stream(out);
    zip.start_file(format!("{}.csv", first.name()), options)?;
    let rows = {
        let mut entry = NoFlush(&mut zip);
        let mut outputs: Vec<(Table, &mut dyn Write)> = vec![(*first, &mut entry)];
        outputs.extend(
            spooled
                .iter_mut()
                .map(|(table, file, _)| (*table, file as &mut dyn Write)),
        );
        write_tables(conn, selection, &meta.base_url, &mut outputs)?
    };
    for (table, file, path) in spooled {
        drop(file.into_inner().map_err(io::IntoInnerError::into_error)?);
        zip.start_file(format!("{}.csv", table.name()), options)?;
        io::copy(&mut std::fs::File::open(&path)?, &mut NoFlush(&mut zip))?;
    }
    zip.finish()?;
    Ok(rows.iter().sum())
}

/// A zip of every table (in [`Table::ALL`] order, `{name}.csv`), each entry filled by `fill`.
fn zip_tables(
    meta: &Meta,
    out: &mut dyn Write,
    mut fill: impl FnMut(Table, &mut dyn Write) -> Result<u64, ExportError>,
) -> Result<u64, ExportError> {
    let options = zip_options(meta);
    let mut zip = zip::ZipWriter::new_stream(out);
    let mut rows = 0;
    for &table in Table::ALL.iter() {
        zip.start_file(format!("{}.csv", table.name()), options)?;
        rows += fill(table, &mut NoFlush(&mut zip))?;
    }
    zip.finish()?;
    Ok(rows)
}

/// Ignores flushes: flushing a zip entry would end a DEFLATE block early (a sync flush), so
/// the same table would compress to other bytes depending on how it was written.
struct NoFlush<'a>(&'a mut dyn Write);

impl Write for NoFlush<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copies what is read through it to `copy`.
struct Tee<'a, R> {
    inner: R,
    copy: &'a mut dyn Write,
}

impl<R: io::Read> io::Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Counts the bytes written through it.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
}

impl<'a> Counting<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        Self { inner, bytes: 0 }
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One record as stored text.
struct RecordText {
    ocid: String,
    compiled: String,
    /// Its releases, in the order received (empty when not asked for).
    releases: Vec<String>,
    /// Payments and grants linked to its contracts not yet in `compiled` (only when read
    /// without releases, for the tables).
    linked: Vec<crate::transactions::Linked>,
}

impl RecordText {
    /// `{"ocid":…,"releases":[…],"compiledRelease":…}` from the stored texts.
    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"{\"ocid\":")?;
        serde_json::to_writer(&mut *out, &self.ocid)?;
        out.write_all(b",\"releases\":[")?;
        for (i, release) in self.releases.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(release.as_bytes())?;
        }
        out.write_all(b"],\"compiledRelease\":")?;
        out.write_all(self.compiled.as_bytes())?;
        out.write_all(b"}")
    }
}

/// Whether any register filter is set, so releases must be joined to their records. Lists
/// every field: a filter added to [`Filters`] must be considered here.
fn filters_records(filters: &Filters) -> bool {
    let Filters {
        ocid,
        q,
        buyer,
        supplier,
        status,
        cpv,
        area,
        value_min,
        value_max,
        published_from,
        published_to,
        deadline_from,
        deadline_to,
        updated_since: _, // for releases: when received, a column of theirs
        partner,
        level,
        outcome_area,
        rating,
        ending_from,
        ending_to,
    } = filters;
    ocid.is_some()
        || q.is_some()
        || buyer.is_some()
        || supplier.is_some()
        || status.is_some()
        || cpv.is_some()
        || area.is_some()
        || value_min.is_some()
        || value_max.is_some()
        || published_from.is_some()
        || published_to.is_some()
        || deadline_from.is_some()
        || deadline_to.is_some()
        || partner.is_some()
        || level.is_some()
        || outcome_area.is_some()
        || rating.is_some()
        || ending_from.is_some()
        || ending_to.is_some()
}

/// A LIKE pattern for the release dates (`YYYY-…` text, as published) of `year`.
fn release_year_pattern(year: i32) -> String {
    format!("{year:04}-%")
}

/// The instants of `year` (UTC): from January 1st up to, not including, the next one's.
fn year_bounds(year: i32) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let start = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1)?.and_hms_opt(0, 0, 0);
    Some((start(year)?, start(year + 1)?))
}

/// Calls `each` with the body of every selected release, in the order received.
fn each_release(
    conn: &mut DbConnection,
    selection: &Selection,
    mut each: impl FnMut(&str) -> io::Result<()>,
) -> Result<u64, ExportError> {
    let join = filters_records(&selection.filters);
    let year = selection.year.map(release_year_pattern);
    let received_since = selection.filters.updated_since;
    let backend = conn.backend();
    let mut after = i64::MIN;
    let mut count = 0;
    loop {
        // The two query sources are different diesel types, hence the macro.
        macro_rules! batch {
            ($query:expr) => {{
                let mut query = $query.filter(releases::id.gt(after));
                if let Some(pattern) = &year {
                    query = query.filter(releases::release_date.like(pattern.clone()));
                }
                if let Some(since) = received_since {
                    query = query.filter(releases::received_at.ge(since));
                }
                query
                    .order(releases::id.asc())
                    .select((releases::id, releases::body))
                    .limit(RELEASE_BATCH)
                    .load::<(i64, String)>(conn)?
            }};
        }
        let rows = if join {
            let filters = Filters {
                updated_since: None,
                ..selection.filters.clone()
            };
            batch!(crate::apply_record_filters!(
                releases::table
                    .inner_join(records::table.on(records::ocid.eq(releases::ocid)))
                    .into_boxed::<MultiBackend>(),
                View::Records,
                &filters,
                backend
            ))
        } else {
            batch!(releases::table.into_boxed::<MultiBackend>())
        };
        for (_, body) in &rows {
            each(body)?;
        }
        count += rows.len() as u64;
        match rows.last() {
            Some((id, _)) if rows.len() as i64 == RELEASE_BATCH => after = *id,
            _ => return Ok(count),
        }
    }
}

/// Calls `each` with every selected record (in the order stored), with its releases when
/// `with_releases`, and the payments and grants linked to its contracts as transactions
/// ([`crate::transactions`]: one lookup per batch; a record without links is not parsed).
fn each_record(
    conn: &mut DbConnection,
    selection: &Selection,
    base_url: &str,
    with_releases: bool,
    mut each: impl FnMut(RecordText) -> Result<(), ExportError>,
) -> Result<u64, ExportError> {
    let year = selection.year.and_then(year_bounds);
    let backend = conn.backend();
    let mut after = i64::MIN;
    let mut count = 0;
    loop {
        let mut query = crate::apply_record_filters!(
            records::table.into_boxed::<MultiBackend>(),
            View::Records,
            &selection.filters,
            backend
        )
        .filter(records::id.gt(after));
        if let Some((from, to)) = year {
            query = query
                .filter(records::published_at.ge(from))
                .filter(records::published_at.lt(to));
        }
        let rows: Vec<(i64, String, String)> = query
            .order(records::id.asc())
            .select((records::id, records::ocid, records::compiled_release))
            .limit(RECORD_BATCH)
            .load(conn)?;
        let full = rows.len() as i64 == RECORD_BATCH;
        let last = rows.last().map(|(id, _, _)| *id);
        let ocids: Vec<&str> = rows.iter().map(|(_, ocid, _)| ocid.as_str()).collect();
        let mut releases = if with_releases {
            releases_of(conn, &ocids)?
        } else {
            HashMap::new()
        };
        let mut transactions = Transactions::load(conn, &ocids)?;
        count += rows.len() as u64;
        for (_, ocid, compiled) in rows {
            let releases = releases.remove(&ocid).unwrap_or_default();
            // Records written as text (with their releases) get their transactions now; the
            // tables parse each record anyway, so they add them to the parsed value.
            let (compiled, linked) = if with_releases {
                let text =
                    transactions
                        .apply_text(&ocid, compiled, base_url)
                        .map_err(|source| ExportError::Corrupt {
                            ocid: ocid.clone(),
                            source,
                        })?;
                (text, Vec::new())
            } else {
                let linked = transactions.take(&ocid);
                (compiled, linked)
            };
            each(RecordText {
                ocid,
                compiled,
                releases,
                linked,
            })?;
        }
        match last {
            Some(id) if full => after = id,
            _ => return Ok(count),
        }
    }
}

/// The stored releases of `ocids`, per ocid in the order received.
fn releases_of(
    conn: &mut DbConnection,
    ocids: &[&str],
) -> Result<HashMap<String, Vec<String>>, diesel::result::Error> {
    let mut by_ocid: HashMap<String, Vec<String>> = HashMap::with_capacity(ocids.len());
    for chunk in ocids.chunks(OCID_CHUNK) {
        let rows: Vec<(String, String)> = releases::table
            .filter(releases::ocid.eq_any(chunk))
            .order(releases::id.asc())
            .select((releases::ocid, releases::body))
            .load(conn)?;
        for (ocid, body) in rows {
            by_ocid.entry(ocid).or_default().push(body);
        }
    }
    Ok(by_ocid)
}

/// Grants read per query.
const GRANT_BATCH: i64 = 1000;

/// The CSV columns of `grants.csv`: 360Giving column titles, then the contract link and the
/// provenance.
pub const GRANT_CSV_HEADER: [&str; 21] = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Award Date",
    "Planned Dates:Start Date",
    "Planned Dates:End Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Recipient Ind:Identifier",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Grant Programme:Title",
    "Contract OCID",
    "Contract ID",
    "Link Method",
    "Link Confidence",
    "Source File",
    "Source Position",
    "Source Run",
];

/// One stored grant with its contract link, as exported. Built from the stored columns (not
/// the stored body), so what is published is exactly the fields named here.
struct GrantExport {
    grant_id: String,
    title: String,
    description: String,
    currency: String,
    amount_pence: i64,
    award_date: NaiveDate,
    planned_start: Option<NaiveDate>,
    planned_end: Option<NaiveDate>,
    recipient_id: String,
    /// None for an individual.
    recipient_name: Option<String>,
    individual: bool,
    funder_id: String,
    funder_name: String,
    programme: Option<String>,
    link: Option<(String, String, String, f64)>,
    source_file: String,
    position: String,
    /// `{base}/api/v1/sync/runs/{id}`.
    run: Option<String>,
}

impl GrantExport {
    /// The grant in 360Giving JSON shape, with `linkedContract` and `source` of ours.
    fn json(&self) -> Value {
        let mut g = Map::new();
        g.insert("id".into(), json!(self.grant_id));
        g.insert("title".into(), json!(self.title));
        g.insert("description".into(), json!(self.description));
        g.insert("currency".into(), json!(self.currency));
        g.insert(
            "amountAwarded".into(),
            Value::Number(crate::transactions::pounds(self.amount_pence)),
        );
        g.insert("awardDate".into(), json!(self.award_date.to_string()));
        if self.planned_start.is_some() || self.planned_end.is_some() {
            let mut dates = Map::new();
            if let Some(start) = self.planned_start {
                dates.insert("startDate".into(), json!(start.to_string()));
            }
            if let Some(end) = self.planned_end {
                dates.insert("endDate".into(), json!(end.to_string()));
            }
            g.insert("plannedDates".into(), json!([dates]));
        }
        if self.individual {
            g.insert(
                "recipientIndividual".into(),
                json!({"id": self.recipient_id}),
            );
        } else {
            g.insert(
                "recipientOrganization".into(),
                json!([{"id": self.recipient_id, "name": self.recipient_name}]),
            );
        }
        g.insert(
            "fundingOrganization".into(),
            json!([{"id": self.funder_id, "name": self.funder_name}]),
        );
        if let Some(programme) = &self.programme {
            g.insert("grantProgramme".into(), json!([{"title": programme}]));
        }
        g.insert(
            "linkedContract".into(),
            match &self.link {
                Some((ocid, contract_id, method, confidence)) => json!({
                    "ocid": ocid, "contractId": contract_id, "method": method,
                    "confidence": confidence
                }),
                None => Value::Null,
            },
        );
        g.insert(
            "source".into(),
            json!({"file": self.source_file, "position": self.position, "run": self.run}),
        );
        Value::Object(g)
    }

    /// The grant as a row of [`GRANT_CSV_HEADER`].
    fn csv_row(&self) -> Vec<String> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let link = self.link.as_ref();
        vec![
            self.grant_id.clone(),
            self.title.clone(),
            self.description.clone(),
            self.currency.clone(),
            crate::transactions::pounds(self.amount_pence).to_string(),
            self.award_date.to_string(),
            date(self.planned_start),
            date(self.planned_end),
            if self.individual {
                String::new()
            } else {
                self.recipient_id.clone()
            },
            if self.individual {
                String::new()
            } else {
                text(&self.recipient_name)
            },
            if self.individual {
                self.recipient_id.clone()
            } else {
                String::new()
            },
            self.funder_id.clone(),
            self.funder_name.clone(),
            text(&self.programme),
            link.map(|l| l.0.clone()).unwrap_or_default(),
            link.map(|l| l.1.clone()).unwrap_or_default(),
            link.map(|l| l.2.clone()).unwrap_or_default(),
            link.map(|l| l.3.to_string()).unwrap_or_default(),
            self.source_file.clone(),
            self.position.clone(),
            text(&self.run),
        ]
    }
}

type GrantColumns = (
    (
        i64,
        String,
        String,
        String,
        String,
        i64,
        NaiveDate,
        Option<NaiveDate>,
        Option<NaiveDate>,
        String,
        Option<String>,
        bool,
    ),
    (String, String, Option<String>, String, String, Option<i64>),
    Option<(String, String, String, f64)>,
);

/// Calls `each` with every grant (awarded in the selected year, when one is), in the order
/// stored, in keyset batches.
fn each_grant(
    conn: &mut DbConnection,
    selection: &Selection,
    base_url: &str,
    mut each: impl FnMut(GrantExport) -> Result<(), ExportError>,
) -> Result<u64, ExportError> {
    let year = selection.year.and_then(|y| {
        Some((
            NaiveDate::from_ymd_opt(y, 1, 1)?,
            NaiveDate::from_ymd_opt(y + 1, 1, 1)?,
        ))
    });
    let mut after = i64::MIN;
    let mut count = 0;
    loop {
        let mut query = grants::table
            .left_join(grant_links::table)
            .filter(grants::id.gt(after))
            .into_boxed::<MultiBackend>();
        if let Some((from, to)) = year {
            query = query
                .filter(grants::award_date.ge(from))
                .filter(grants::award_date.lt(to));
        }
        let rows: Vec<GrantColumns> = query
            .order(grants::id.asc())
            .select((
                (
                    grants::id,
                    grants::grant_id,
                    grants::title,
                    grants::description,
                    grants::currency,
                    grants::amount_awarded_pence,
                    grants::award_date,
                    grants::planned_start,
                    grants::planned_end,
                    grants::recipient_org_id,
                    grants::recipient_name,
                    grants::recipient_is_individual,
                ),
                (
                    grants::funder_org_id,
                    grants::funder_name,
                    grants::programme,
                    grants::source_file,
                    grants::position,
                    grants::run_id,
                ),
                (
                    grant_links::ocid,
                    grant_links::contract_id,
                    grant_links::method,
                    grant_links::confidence,
                )
                    .nullable(),
            ))
            .limit(GRANT_BATCH)
            .load(conn)?;
        let full = rows.len() as i64 == GRANT_BATCH;
        let last = rows.last().map(|r| r.0.0);
        count += rows.len() as u64;
        for (
            (
                _,
                grant_id,
                title,
                description,
                currency,
                amount_pence,
                award_date,
                planned_start,
                planned_end,
                recipient_id,
                recipient_name,
                individual,
            ),
            (funder_id, funder_name, programme, source_file, position, run_id),
            link,
        ) in rows
        {
            each(GrantExport {
                grant_id,
                title,
                description,
                currency,
                amount_pence,
                award_date,
                planned_start,
                planned_end,
                recipient_id,
                // Never a person's name (none is stored; this makes sure).
                recipient_name: recipient_name.filter(|_| !individual),
                individual,
                funder_id,
                funder_name,
                programme,
                link,
                source_file,
                position,
                run: run_id.map(|id| format!("{base_url}/api/v1/sync/runs/{id}")),
            })?;
        }
        match last {
            Some(id) if full => after = id,
            _ => return Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_file_names_carry_the_year() {
        for download in Download::all() {
            assert_eq!(Download::parse(&download.name()), Some(download));
        }
        assert_eq!(Download::parse("nothing.csv"), None);
        assert_eq!(
            Download::ReleasesJsonl.file_name(Some(2026)),
            "releases-2026.jsonl"
        );
        assert_eq!(Download::CsvZip.file_name(None), "csv.zip");
        let table = Table::ALL[0];
        assert_eq!(
            Download::Csv(table).file_name(Some(2025)),
            format!("{}-2025.csv", table.name())
        );
    }

    #[test]
    fn package_head_is_an_open_envelope() {
        let meta = Meta {
            query: "year=2026".to_owned(),
            ..Meta::new("Test register", "https://example.org/", None)
        };
        let mut text = meta
            .package_head(Download::ReleasesJson, "releases")
            .unwrap();
        text.push_str("]}");
        let package: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            package["uri"],
            "https://example.org/downloads/releases.json?year=2026"
        );
        assert_eq!(package["publisher"]["uri"], "https://example.org");
        assert_eq!(package["license"], LICENSE);
        assert_eq!(package["version"], "1.1");
        assert_eq!(package["releases"], json!([]));
        assert_eq!(
            package.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "uri",
                "publishedDate",
                "publisher",
                "license",
                "version",
                "extensions",
                "releases"
            ]
        );
    }

    #[test]
    fn years_select_by_date_text_and_by_time() {
        assert_eq!(release_year_pattern(2026), "2026-%");
        let (start, end) = year_bounds(2026).unwrap();
        assert_eq!(start.to_string(), "2026-01-01 00:00:00");
        assert_eq!(end.to_string(), "2027-01-01 00:00:00");
    }

    #[test]
    fn records_are_written_from_their_stored_texts() {
        let record = RecordText {
            ocid: "ocds-abc123-1".to_owned(),
            compiled: r#"{"ocid":"ocds-abc123-1","id":"x","tag":["compiled"]}"#.to_owned(),
            releases: vec![r#"{"id":"1"}"#.to_owned(), r#"{"id":"2"}"#.to_owned()],
            linked: Vec::new(),
        };
        let mut out = Vec::new();
        record.write_json(&mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["releases"][1]["id"], "2");
        assert_eq!(value["compiledRelease"]["id"], "x");
        assert_eq!(
            value.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["ocid", "releases", "compiledRelease"]
        );
    }
}
