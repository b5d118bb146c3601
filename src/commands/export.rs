//! `ocreg export`: writes the bulk downloads of `GET /downloads/{file}` into a folder, the
//! same bytes but for the packages' `publishedDate`: `releases.jsonl`, `releases.json`,
//! `records.jsonl`, `records.json`, `csv/{table}.csv` and `csv.zip`.
//!
//! Each file is written to a temporary file in the folder and renamed into place when whole,
//! so a reader (a web server publishing the folder, a sync job) never sees half a file and a
//! failed export leaves the previous files as they were. Memory stays flat however large the
//! register ([`register::export`] reads in keyset batches); the CSV tables are written in one
//! pass over the records, and the zip is then made from those files rather than by reading the
//! records again.

use std::{
    fs,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context;
use indicatif::ProgressBar;
use register::{
    DbConnection, Settings,
    export::{self, Download, Meta, Selection, Written},
    flatten::Table,
};
use tempfile::NamedTempFile;

use super::progress;

/// What to write, as `--format` names it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `releases.jsonl`: one release per line.
    ReleasesJsonl,
    /// `releases.json`: one release package.
    ReleasesJson,
    /// `records.jsonl`: one record per line (releases embedded).
    RecordsJsonl,
    /// `records.json`: one record package.
    RecordsJson,
    /// `csv/{table}.csv`: every flat table.
    Csv,
    /// `csv.zip`: every flat table in one zip.
    Zip,
    /// `grants.jsonl` and `grants.csv`: the 360Giving grants imported.
    Grants,
    /// All of the above.
    All,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Folder to write into (created if missing); files already there are replaced.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Which files, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    format: Vec<Format>,
    /// Only this year's releases (by release date) and records (by the date of their latest
    /// release).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=9998))]
    year: Option<i32>,
    /// The register's public URL, for the packages' `uri`, publisher and extension URLs
    /// (default: `public_url` of the configuration, else `http://` and `bind`).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

/// One file written.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub name: String,
    pub written: Written,
    pub elapsed: Duration,
}

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: Vec<FileSummary>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.written.bytes).sum()
    }
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}

/// `ocreg export`: writes the files and prints one line per file and a total on stderr.
pub fn run(args: ExportArgs, conn: &mut DbConnection, settings: &Settings) -> anyhow::Result<()> {
    let started = Instant::now();
    let wanted = |f: Format| args.format.contains(&Format::All) || args.format.contains(&f);
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let base_url = args
        .base_url
        .clone()
        .or_else(|| (!settings.public_url.trim().is_empty()).then(|| settings.public_url.clone()))
        .unwrap_or_else(|| format!("http://{}", settings.bind));
    let fresh = export::freshness(conn)?;
    let meta = Meta::new(
        settings.publisher_name.clone(),
        &base_url,
        fresh.last_modified(),
    );
    let selection = Selection {
        year: args.year,
        filters: Default::default(),
    };
    let bar = progress::bytes_with_status(None, "exporting");
    let mut summary = Summary::default();

    for (format, download) in [
        (Format::ReleasesJsonl, Download::ReleasesJsonl),
        (Format::ReleasesJson, Download::ReleasesJson),
        (Format::RecordsJsonl, Download::RecordsJsonl),
        (Format::RecordsJson, Download::RecordsJson),
    ] {
        if wanted(format) {
            let file = export_file(&args.out, download, &bar, |out| {
                export::write(conn, download, &selection, &meta, out)
            })?;
            summary.files.push(file);
        }
    }
    let tables_written = wanted(Format::Csv);
    if tables_written {
        summary
            .files
            .extend(export_tables(&args.out, conn, &selection, &meta, &bar)?);
    }
    if wanted(Format::Zip) {
        let file = export_file(&args.out, Download::CsvZip, &bar, |out| {
            if tables_written {
                // The tables just written: the records are not read again.
                let paths: Vec<(Table, PathBuf)> = Table::ALL
                    .iter()
                    .map(|&t| (t, args.out.join(Download::Csv(t).name())))
                    .collect();
                let files: Vec<(Table, &Path)> =
                    paths.iter().map(|(t, p)| (*t, p.as_path())).collect();
                export::zip_table_files(&meta, &files, out)
            } else {
                export::write(conn, Download::CsvZip, &selection, &meta, out)
            }
        })?;
        summary.files.push(file);
    }
    if wanted(Format::Grants) {
        for download in [Download::GrantsJsonl, Download::GrantsCsv] {
            let file = export_file(&args.out, download, &bar, |out| {
                export::write(conn, download, &selection, &meta, out)
            })?;
            summary.files.push(file);
        }
    }
    bar.finish_and_clear();
    summary.elapsed = started.elapsed();

    for f in &summary.files {
        let unit = match Download::parse(&f.name).map(|d| (d, d.unit())) {
            Some((Download::Csv(_) | Download::CsvZip, _)) => "rows",
            Some((_, export::Unit::Releases)) => "releases",
            Some((_, export::Unit::Grants)) => "grants",
            _ => "records",
        };
        eprintln!(
            "  {:<28} {:>10} {unit:<8} {:>10.1} MB  {:>6.1} s  {:>6.1} MB/s",
            f.name,
            f.written.items,
            f.written.bytes as f64 / 1e6,
            f.elapsed.as_secs_f64(),
            mb_per_s(f.written.bytes, f.elapsed),
        );
    }
    eprintln!(
        "exported {} file(s) into {}: {:.1} MB in {:.1} s ({:.1} MB/s)",
        summary.files.len(),
        args.out.display(),
        summary.bytes() as f64 / 1e6,
        summary.elapsed.as_secs_f64(),
        mb_per_s(summary.bytes(), summary.elapsed),
    );
    Ok(())
}

/// Writes one file through a temporary file renamed into place when whole.
fn export_file(
    dir: &Path,
    download: Download,
    bar: &ProgressBar,
    write: impl FnOnce(&mut dyn Write) -> Result<Written, export::ExportError>,
) -> anyhow::Result<FileSummary> {
    let started = Instant::now();
    let name = download.name();
    bar.set_message(name.clone());
    let path = dir.join(&name);
    let mut temp = Temp::new(&path, bar)?;
    let written = write(&mut temp.out).with_context(|| format!("cannot export {name}"))?;
    temp.persist(&path)?;
    Ok(FileSummary {
        name,
        written,
        elapsed: started.elapsed(),
    })
}

/// Writes every CSV table in one pass over the records.
fn export_tables(
    dir: &Path,
    conn: &mut DbConnection,
    selection: &Selection,
    meta: &Meta,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<FileSummary>> {
    let started = Instant::now();
    bar.set_message("csv/*.csv");
    let mut temps = Vec::with_capacity(Table::ALL.len());
    for &table in Table::ALL.iter() {
        let path = dir.join(Download::Csv(table).name());
        temps.push((table, path.clone(), Temp::new(&path, bar)?));
    }
    let rows = {
        let mut outputs: Vec<(Table, &mut dyn Write)> = temps
            .iter_mut()
            .map(|(table, _, temp)| (*table, &mut temp.out as &mut dyn Write))
            .collect();
        export::write_tables(conn, selection, &meta.base_url, &mut outputs)
            .context("cannot export csv")?
    };
    let elapsed = started.elapsed();
    let mut files = Vec::with_capacity(temps.len());
    for ((table, path, temp), rows) in temps.into_iter().zip(rows) {
        let bytes = temp.persist(&path)?;
        files.push(FileSummary {
            name: Download::Csv(table).name(),
            written: Written { items: rows, bytes },
            // One pass wrote them all: each gets its share of the time by size.
            elapsed,
        });
    }
    let total: u64 = files.iter().map(|f| f.written.bytes).sum();
    for f in &mut files {
        f.elapsed = elapsed.mul_f64(f.written.bytes as f64 / total.max(1) as f64);
    }
    Ok(files)
}

/// A temporary file beside its destination, buffered, counting its bytes on the bar.
struct Temp {
    out: BufWriter<Counted>,
}

impl Temp {
    fn new(path: &Path, bar: &ProgressBar) -> anyhow::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        Ok(Self {
            out: BufWriter::with_capacity(
                1 << 20,
                Counted {
                    file,
                    bar: bar.clone(),
                    bytes: 0,
                },
            ),
        })
    }

    /// Flushes, syncs and renames the file to `path`; returns its size.
    fn persist(self, path: &Path) -> anyhow::Result<u64> {
        let counted = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", path.display()))?;
        counted
            .file
            .as_file()
            .sync_all()
            .with_context(|| format!("cannot write {}", path.display()))?;
        // Temporary files are private (0600); an export is published data.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(counted.file.path(), fs::Permissions::from_mode(0o644))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        counted
            .file
            .persist(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(counted.bytes)
    }
}

struct Counted {
    file: NamedTempFile,
    bar: ProgressBar,
    bytes: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.bytes += n as u64;
        self.bar.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
