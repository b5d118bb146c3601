//! `ocreg import`: loads releases into the register: release packages, the embedded releases
//! of record packages, arrays of releases, or JSON Lines of any of them (whatever
//! `ocds::read::Reader` reads), from a file or standard input.
//!
//! Built for bulk loads (a million releases): a reader thread parses releases and prepares
//! them (identity, stored text, hash) while this thread stores them one batch per
//! transaction, recompiling each touched record once per batch
//! ([`register::releases::store_batch`]). A release that cannot be read, has no ocid or id,
//! conflicts with a stored release, or makes its ocid unmergeable is reported with its
//! position and line and costs only itself; the rest of its batch is stored. Should a batch
//! fail in the database all the same, it is retried release by release so one bad release
//! cannot lose the others.

use std::{
    collections::HashSet,
    fs::File,
    io::{self, BufRead, BufReader},
    path::PathBuf,
    sync::mpsc::{self, Receiver, SyncSender},
    time::{Duration, Instant},
};

use anyhow::Context;
use indicatif::ProgressBar;
use ocds::read::{ItemKind, ReadError, Reader};
use register::{
    DbConnection, audit, db,
    releases::{self, BatchOutcome, Outcome, Prepared, Rejection},
};

use super::progress;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub kind: Option<ImportKind>,
    /// Release packages, record packages (their embedded releases), a JSON array of releases
    /// or JSON Lines of any of them; `-` reads standard input.
    #[arg(value_name = "FILE|-", required = true)]
    input: Option<PathBuf>,
    /// The source recorded with each release (`import`, `fts`, `contracts_finder`, ...).
    #[arg(long, default_value = "import")]
    source: String,
    /// Releases per transaction; each touched record is recompiled once per batch, so input
    /// whose releases of one ocid are scattered (a feed in date order) loads faster with more.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
}

/// Files that are not OCDS releases.
#[derive(clap::Subcommand, Debug)]
pub enum ImportKind {
    /// A council's "spend over £500" CSV (Local Government Transparency Code): prints the
    /// file's quality report; exits 1 if rows were rejected. Importing a file again adds nothing.
    Spend {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The publishing council's org-id, e.g. GB-LAE-DEV.
        #[arg(long, value_name = "ORG-ID")]
        publisher: String,
    },
    /// 360Giving grants, as a JSON package or CSV: prints the file's quality report; exits 1
    /// if grants were rejected. A grant imported again is replaced only if it changed.
    Grants {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `ocreg import spend|grants`: imports the file and prints its quality report; `Ok(false)`
/// when rows were rejected.
pub fn run_file(kind: &ImportKind, conn: &mut DbConnection) -> anyhow::Result<bool> {
    let (file, publisher) = match kind {
        ImportKind::Spend { file, publisher } => (file, Some(publisher)),
        ImportKind::Grants { file } => (file, None),
    };
    let reader = std::fs::File::open(file)
        .map(std::io::BufReader::new)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let label = file.display().to_string();
    let (run_id, report) = match publisher {
        Some(publisher) => sync::file_import::import_spend(conn, None, publisher, &label, reader)?,
        None => sync::file_import::import_grants(conn, None, &label, reader)?,
    };
    eprintln!(
        "{label}: {} row(s) read, {} imported, {} already stored, {} skipped, {} rejected (run {run_id}: GET /api/v1/sync/runs/{run_id})",
        report.read, report.imported, report.duplicates, report.skipped, report.rejected
    );
    if let Some(linked) = report.linked {
        let what = if publisher.is_some() {
            "publisher's payments"
        } else {
            "funders' grants"
        };
        eprintln!("  {linked} of the {what} are linked to contracts in the register");
    }
    for note in &report.skips {
        eprintln!("  skipped {}: {}", note.at, note.reason);
    }
    for note in &report.rejects {
        eprintln!("  rejected {}: {}", note.at, note.reason);
    }
    Ok(report.rejected == 0)
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Recorded with each release.
    pub source: String,
    /// Releases per transaction.
    pub batch: usize,
    /// Draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

/// What an import did; each rejected release was reported as it was found.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Releases read, rejected ones included (linked releases are not counted).
    pub read: u64,
    pub created: u64,
    pub unchanged: u64,
    /// Not readable (syntax errors, forbidden numbers, not an object).
    pub unreadable: u64,
    /// Without an ocid or id.
    pub invalid: u64,
    /// The same (ocid, id) stored, or earlier in the input, with other content.
    pub conflicts: u64,
    /// Their ocid's releases could not be merged with them.
    pub unmergeable: u64,
    /// The database refused them on their own.
    pub refused: u64,
    /// Linked releases of record packages: pointers to releases, not releases; skipped.
    pub linked: u64,
    /// Distinct ocids whose records were recompiled.
    pub ocids: u64,
    /// Record recompilations (an ocid whose releases span several batches counts once each).
    pub recompilations: u64,
    /// Why reading stopped early, if it did (everything read before stands).
    pub stopped: Option<String>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn rejected(&self) -> u64 {
        self.unreadable + self.invalid + self.conflicts + self.unmergeable + self.refused
    }

    /// Whether everything read was stored (created or unchanged) and the input was whole.
    pub fn clean(&self) -> bool {
        self.rejected() == 0 && self.stopped.is_none()
    }

    /// Releases read per second.
    pub fn rate(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The rejections by reason, e.g. `2 unreadable, 1 conflicting`.
    fn reasons(&self) -> String {
        [
            (self.unreadable, "unreadable"),
            (self.invalid, "without ocid or id"),
            (
                self.conflicts,
                "conflicting with another release of the same id",
            ),
            (self.unmergeable, "unmergeable"),
            (self.refused, "refused by the database"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// One line for a person.
    pub fn describe(&self, what: &str) -> String {
        let rejected = self.rejected();
        let reasons = if rejected > 0 {
            format!(" ({})", self.reasons())
        } else {
            String::new()
        };
        format!(
            "imported {what}: {} release(s) read, {} created, {} unchanged, {rejected} rejected{reasons}; \
             {} ocid(s) recompiled ({} recompilations); {:.1} s, {:.0} releases/s",
            self.read,
            self.created,
            self.unchanged,
            self.ocids,
            self.recompilations,
            self.elapsed.as_secs_f64(),
            self.rate(),
        )
    }
}

/// `ocreg import`: imports the file (or standard input) and prints the summary on stderr.
pub fn run(args: ImportArgs, conn: &mut DbConnection) -> anyhow::Result<Summary> {
    let path = args.input.context("a FILE to import is required")?;
    let stdin = path.as_os_str() == "-";
    let (input, size): (Box<dyn BufRead + Send>, Option<u64>) = if stdin {
        (
            Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            None,
        )
    } else {
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, file)), size)
    };
    let options = Options {
        source: args.source,
        batch: usize::try_from(args.batch).unwrap_or(1000),
        progress: true,
    };
    let what = if stdin {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let summary = import(conn, input, size, &options, &mut |line| eprintln!("{line}"))?;
    eprintln!("{}", summary.describe(&what));
    relink_changed_buyers(conn)?;
    Ok(summary)
}

/// Recomputes the payment links of buyers whose contracts changed ([`register::relink_queue`]).
pub fn relink_changed_buyers(conn: &mut DbConnection) -> anyhow::Result<()> {
    let drained = register::relink_queue::drain(conn).context("relinking payments")?;
    if drained.relinked > 0 {
        eprintln!(
            "contracts changed for {} buyer(s) with payments: {} payment(s) now linked",
            drained.relinked, drained.linked
        );
    }
    Ok(())
}

/// Imports everything `input` holds (`size` bytes, if known) into the register, calling
/// `report` with one line per rejected or repaired release and for early stops. An `Err` means
/// the import could not go on (unreadable input, a database that stopped answering); the
/// batches committed before it stay.
pub fn import(
    conn: &mut DbConnection,
    input: Box<dyn BufRead + Send>,
    size: Option<u64>,
    options: &Options,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    releases::tune_for_bulk_load(conn, 256)?;
    let reader = Reader::new(input).map_err(|e| anyhow::anyhow!("cannot read the input: {e}"))?;
    let bar = if options.progress {
        progress::bytes_with_status(size, "importing")
    } else {
        ProgressBar::hidden()
    };
    let mut summary = Summary::default();
    let batch = options.batch.max(1);
    let (tx, rx) = mpsc::sync_channel(2);
    let stored = std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(reader, batch, &tx));
        // `rx` is moved in and dropped on any early return, which stops the reader thread.
        store_chunks(conn, rx, options, &mut summary, &bar, report)
    });
    bar.finish_and_clear();
    stored?;
    if summary.linked > 0 {
        report(&format!(
            "skipped {} linked release(s): only embedded releases can be imported",
            summary.linked
        ));
    }
    if let Some(stopped) = &summary.stopped {
        report(&format!(
            "error: the input stops being readable: {stopped}; what was read before it was imported"
        ));
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A release read, or what went wrong reading it.
struct Entry {
    /// `release N (line L)`, for messages.
    label: String,
    release: Result<Prepared, Problem>,
    /// Repairs the reader made.
    warnings: Vec<String>,
}

enum Problem {
    Unreadable(String),
    Invalid(String),
}

/// A batch of entries and how far into the input they reach.
#[derive(Default)]
struct Chunk {
    entries: Vec<Entry>,
    /// Byte offset of the last entry's start.
    offset: u64,
    linked: u64,
    stopped: Option<String>,
}

/// The reader thread: reads, parses and prepares releases, sending them on in batches.
fn read_chunks(mut reader: Reader<Box<dyn BufRead + Send>>, batch: usize, tx: &SyncSender<Chunk>) {
    let mut chunk = Chunk::default();
    for item in reader.by_ref() {
        match item {
            Ok(item) => {
                chunk.offset = item.start.offset;
                match item.kind {
                    ItemKind::Release => {}
                    ItemKind::LinkedRelease => {
                        chunk.linked += 1;
                        continue;
                    }
                    ItemKind::CompiledRelease => continue,
                }
                let label = format!("release {} (line {})", item.position, item.start.line);
                let warnings = item
                    .warnings
                    .iter()
                    .map(|w| format!("repaired: {label}: {w}"))
                    .collect();
                let release =
                    Prepared::new(&item.release).map_err(|e| Problem::Invalid(e.to_string()));
                chunk.entries.push(Entry {
                    label,
                    release,
                    warnings,
                });
            }
            Err(ReadError::Release(e)) => {
                chunk.offset = e.start.offset;
                chunk.entries.push(Entry {
                    label: format!(
                        "release {} (line {}, column {})",
                        e.position, e.start.line, e.start.column
                    ),
                    release: Err(Problem::Unreadable(e.message.clone())),
                    warnings: Vec::new(),
                });
            }
            Err(ReadError::Fatal(e)) => {
                chunk.stopped = Some(e.to_string());
                break;
            }
        }
        if chunk.entries.len() >= batch && tx.send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
    }
    chunk.offset = reader.pos().offset;
    let _ = tx.send(chunk);
}

/// This thread: stores each batch in its own transaction.
fn store_chunks(
    conn: &mut DbConnection,
    rx: Receiver<Chunk>,
    options: &Options,
    summary: &mut Summary,
    bar: &ProgressBar,
    report: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let mut ocids: HashSet<String> = HashSet::new();
    for chunk in rx {
        summary.linked += chunk.linked;
        if chunk.stopped.is_some() {
            summary.stopped = chunk.stopped;
        }
        let mut messages = Vec::new();
        store_chunk(
            conn,
            chunk.entries,
            options,
            summary,
            &mut ocids,
            &mut messages,
        )?;
        messages.sort_by_key(|(i, _)| *i);
        for (_, message) in messages {
            bar.suspend(|| report(&message));
        }
        summary.ocids = ocids.len() as u64;
        bar.set_position(chunk.offset);
        bar.set_message(format!(
            "{} created, {} unchanged, {} rejected",
            summary.created,
            summary.unchanged,
            summary.rejected()
        ));
    }
    Ok(())
}

/// Stores one batch, adding to `messages` (entry index, line) what to report.
fn store_chunk(
    conn: &mut DbConnection,
    entries: Vec<Entry>,
    options: &Options,
    summary: &mut Summary,
    ocids: &mut HashSet<String>,
    messages: &mut Vec<(usize, String)>,
) -> anyhow::Result<()> {
    let mut prepared = Vec::with_capacity(entries.len());
    // For each prepared release: its entry index and label.
    let mut origin = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        summary.read += 1;
        messages.extend(entry.warnings.into_iter().map(|w| (i, w)));
        match entry.release {
            Ok(p) => {
                prepared.push(p);
                origin.push((i, entry.label));
            }
            Err(Problem::Unreadable(message)) => {
                summary.unreadable += 1;
                messages.push((i, format!("rejected: {}: {message}", entry.label)));
            }
            Err(Problem::Invalid(message)) => {
                summary.invalid += 1;
                messages.push((i, format!("rejected: {}: {message}", entry.label)));
            }
        }
    }
    if prepared.is_empty() {
        return Ok(());
    }
    let source = options.source.as_str();
    let batch_error = match releases::import_batch(conn, &prepared, source, audit::CLI_ACTOR) {
        Ok(outcome) => {
            tally(&outcome, &origin, summary, ocids, messages);
            return Ok(());
        }
        Err(e) => e,
    };
    // The batch was rolled back. A database that stopped answering ends the import; otherwise
    // one of the releases was refused: store them one by one to find it.
    db::ping(conn).with_context(|| {
        format!("cannot store releases ({batch_error}); the database stopped answering")
    })?;
    let mut refused = Vec::new();
    let mut stored_any = false;
    for (p, origin) in prepared.iter().zip(&origin) {
        match releases::import_batch(conn, std::slice::from_ref(p), source, audit::CLI_ACTOR) {
            Ok(outcome) => {
                stored_any = true;
                tally(
                    &outcome,
                    std::slice::from_ref(origin),
                    summary,
                    ocids,
                    messages,
                );
            }
            Err(e) => refused.push((origin, e)),
        }
    }
    if !stored_any && prepared.len() > 1 {
        // Every release failed alone too: the database, not the data, is the problem.
        return Err(anyhow::anyhow!("cannot store releases: {batch_error}"));
    }
    for ((i, label), e) in refused {
        summary.refused += 1;
        messages.push((
            *i,
            format!("rejected: {label}: the database refused it: {e}"),
        ));
    }
    Ok(())
}

fn tally(
    outcome: &BatchOutcome,
    origin: &[(usize, String)],
    summary: &mut Summary,
    ocids: &mut HashSet<String>,
    messages: &mut Vec<(usize, String)>,
) {
    for (result, (i, label)) in outcome.results.iter().zip(origin) {
        match result {
            Ok(Outcome::Created) => summary.created += 1,
            Ok(Outcome::Unchanged) => summary.unchanged += 1,
            Err(rejection) => {
                match rejection {
                    Rejection::Conflict { .. } => summary.conflicts += 1,
                    Rejection::Unmergeable(_) => summary.unmergeable += 1,
                }
                messages.push((*i, format!("rejected: {label}: {rejection}")));
            }
        }
    }
    summary.recompilations += outcome.recompiled.len() as u64;
    for ocid in &outcome.recompiled {
        if !ocids.contains(ocid) {
            ocids.insert(ocid.clone());
        }
    }
}
