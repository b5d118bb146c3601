//! `ocreg compile`: merges releases by ocid into compiled releases, versioned releases, records
//! or a record package, with the input formats and output meaning of `ocdskit compile`.
//!
//! Memory is bounded by the releases of a batch of ocids, not by the input: a first pass reads
//! each release's bytes (parsing only its `ocid`) into a temporary spool file and indexes them
//! by ocid; a second pass parses and merges ocid by ocid, on all cores, writing results in the
//! order each ocid first appeared. Input whose releases of one ocid are scattered (a feed in
//! date order) costs the same as input grouped by ocid.

use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufRead, BufReader, BufWriter, Write},
    os::unix::fs::FileExt,
    path::PathBuf,
    time::Instant,
};

use anyhow::Context;
use ocds::{
    merge::{self, MergeRules},
    read::{self, Item, ItemKind, Pos, ReadError, ReadOptions, Reader},
};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::progress;

#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// Release packages, record packages, a JSON array of releases or JSON Lines of any of
    /// them; `-` or nothing reads standard input.
    input: Option<PathBuf>,
    /// The patched release schema whose merge rules to use (default: OCDS 1.1.5).
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// Write one record package instead of one compiled release per line.
    #[arg(long)]
    package: bool,
    /// Write one record (ocid, releases, compiledRelease[, versionedRelease]) per line.
    #[arg(long, conflicts_with = "package")]
    records: bool,
    /// With --package or --records: include versioned releases. Otherwise: write versioned
    /// releases instead of compiled releases.
    #[arg(long)]
    versioned: bool,
    /// With --package or --records: link to releases (url, date, tag) instead of embedding them.
    #[arg(long)]
    linked_releases: bool,
    /// With --package: the package's uri (default: the input package's).
    #[arg(long)]
    uri: Option<String>,
    /// With --package: the package's publishedDate (default: the input package's, else now).
    #[arg(long)]
    published_date: Option<String>,
    /// With --package: the publisher's name (default: the input package's).
    #[arg(long)]
    publisher_name: Option<String>,
    /// With --package: the publisher's uri.
    #[arg(long)]
    publisher_uri: Option<String>,
    /// With --package: the publisher's scheme.
    #[arg(long)]
    publisher_scheme: Option<String>,
    /// With --package: the publisher's uid.
    #[arg(long)]
    publisher_uid: Option<String>,
}

/// What the run did; problems were already reported on stderr as they were found.
pub struct Summary {
    pub problems: u64,
}

/// Where one release's bytes are in the spool, and where it came from.
struct Span {
    offset: u64,
    len: u32,
    position: u64,
    start: Pos,
}

struct Group {
    ocid: String,
    spans: Vec<Span>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Compiled,
    Versioned,
    Records { versioned: bool, linked: bool },
}

/// What one ocid produced: its output bytes (or nothing, if it failed) and what to report.
struct GroupResult {
    /// The serialised result; `None` when the ocid could not be compiled.
    output: Option<Vec<u8>>,
    messages: Vec<String>,
}

/// How many ocids are merged per parallel batch: enough to keep every core busy, few enough
/// that memory stays small.
const BATCH: usize = 1024;

pub fn run(args: CompileArgs) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let rules = merge_rules(args.schema.as_ref())?;
    let (input, size) = open_input(args.input.as_ref())?;
    let options = ReadOptions {
        defer_parse: true,
        ..ReadOptions::default()
    };
    let mut reader = Reader::with_options(input, options)
        .map_err(|e| anyhow::anyhow!("cannot read the input: {e}"))?;

    // Pass 1: spool every release's bytes, indexed by ocid in order of first appearance.
    let spool_file = tempfile::tempfile().context("cannot create a temporary spool file")?;
    let mut spool = BufWriter::with_capacity(1 << 20, &spool_file);
    let mut offset = 0u64;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut problems = 0u64;
    let mut releases = 0u64;
    let mut linked = 0u64;
    let bar = progress::bytes(size, "reading");
    for item in reader.by_ref() {
        let mut item = match item {
            Ok(item) => item,
            Err(ReadError::Release(e)) => {
                problems += 1;
                eprintln!("rejected: {e}");
                continue;
            }
            Err(ReadError::Fatal(e)) => {
                problems += 1;
                eprintln!("error: the input stops being readable: {e}; compiling what was read");
                break;
            }
        };
        bar.set_position(item.start.offset);
        if item.kind == ItemKind::LinkedRelease {
            linked += 1;
            continue;
        }
        let Some(ocid) = item.ocid.clone() else {
            problems += 1;
            eprintln!(
                "rejected: release {} (line {}) has no ocid string",
                item.position, item.start.line
            );
            continue;
        };
        for warning in &item.warnings {
            eprintln!("repaired: release {} {warning}", item.position);
        }
        let bytes = match item.raw.take() {
            Some(raw) => raw,
            // Releases the reader had to repair arrive parsed.
            None => serde_json::to_vec(&item.release)?,
        };
        spool
            .write_all(&bytes)
            .context("cannot write the spool file")?;
        let slot = *index.entry(ocid.clone()).or_insert_with(|| {
            groups.push(Group {
                ocid,
                spans: Vec::new(),
            });
            groups.len() - 1
        });
        groups[slot].spans.push(Span {
            offset,
            len: u32::try_from(bytes.len()).context("a release larger than 4 GiB")?,
            position: item.position,
            start: item.start,
        });
        offset += bytes.len() as u64;
        releases += 1;
    }
    bar.finish_and_clear();
    drop(index);
    spool.flush().context("cannot write the spool file")?;
    drop(spool);
    if linked > 0 {
        eprintln!("skipped {linked} linked release(s): only embedded releases can be merged");
    }
    let metadata = reader.into_metadata();

    // Pass 2: parse and merge ocid by ocid, in parallel, writing in first-appearance order.
    let mode = match (args.package || args.records, args.versioned) {
        (false, false) => Output::Compiled,
        (false, true) => Output::Versioned,
        (true, versioned) => Output::Records {
            versioned,
            linked: args.linked_releases,
        },
    };
    let package_uri = args
        .uri
        .clone()
        .or_else(|| {
            metadata
                .get("uri")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    if args.package {
        write_package_head(&mut out, &args, &metadata)?;
    }
    let bar = progress::count(groups.len() as u64, "merging");
    let mut first = true;
    for batch in groups.chunks(BATCH) {
        let results: Vec<GroupResult> = batch
            .par_iter()
            .map(|group| compile_group(&spool_file, group, &rules, mode, &package_uri))
            .collect();
        for result in results {
            for message in &result.messages {
                eprintln!("{message}");
            }
            let Some(bytes) = result.output else {
                problems += 1;
                continue;
            };
            if args.package {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                out.write_all(&bytes)?;
            } else {
                out.write_all(&bytes)?;
                out.write_all(b"\n")?;
            }
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    if args.package {
        out.write_all(b"]}\n")?;
    }
    out.flush().context("cannot write the output")?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "compiled {} ocid(s) from {releases} release(s) in {secs:.2} s ({:.0} releases/s); {problems} problem(s)",
        groups.len(),
        releases as f64 / secs.max(1e-9),
    );
    Ok(Summary { problems })
}

fn merge_rules(schema: Option<&PathBuf>) -> anyhow::Result<MergeRules> {
    let rules = match schema {
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read the schema {}", path.display()))?;
            let schema: Value = serde_json::from_slice(&text)
                .with_context(|| format!("the schema {} is not JSON", path.display()))?;
            MergeRules::from_schema(&schema)
        }
        None => MergeRules::from_schema(ocds::validate::Schema::core().release_schema()),
    };
    rules.map_err(|e| anyhow::anyhow!("cannot derive merge rules from the schema: {e}"))
}

fn open_input(path: Option<&PathBuf>) -> anyhow::Result<(Box<dyn BufRead>, Option<u64>)> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let size = file.metadata().ok().map(|m| m.len());
            Ok((Box::new(BufReader::with_capacity(1 << 20, file)), size))
        }
        None => Ok((
            Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())),
            None,
        )),
    }
}

/// Reads, parses and merges one ocid's releases, serialising the result.
fn compile_group(
    spool: &File,
    group: &Group,
    rules: &MergeRules,
    mode: Output,
    package_uri: &str,
) -> GroupResult {
    let mut messages = Vec::new();
    let mut releases = Vec::with_capacity(group.spans.len());
    for span in &group.spans {
        let mut raw = vec![0; span.len as usize];
        if let Err(e) = spool.read_exact_at(&mut raw, span.offset) {
            messages.push(format!("error: cannot read the spool file: {e}"));
            return GroupResult {
                output: None,
                messages,
            };
        }
        let mut item = Item {
            release: Value::Null,
            kind: ItemKind::Release,
            position: span.position,
            start: span.start,
            warnings: Vec::new(),
            record: None,
            ocid: Some(group.ocid.clone()),
            raw: Some(raw),
        };
        match read::parse_deferred(&mut item) {
            Ok(()) => {
                for warning in &item.warnings {
                    messages.push(format!("repaired: release {} {warning}", item.position));
                }
                releases.push(item.release);
            }
            Err(e) => messages.push(format!("rejected: {e}")),
        }
    }
    if releases.is_empty() {
        messages.push(format!("ocid {}: no readable release", group.ocid));
        return GroupResult {
            output: None,
            messages,
        };
    }
    let serialised = match mode {
        Output::Compiled => merge::merge_compiled(rules, releases).map(|compiled| {
            let warnings = describe(&group.ocid, &compiled.warnings);
            (serde_json::to_vec(&compiled), warnings)
        }),
        Output::Versioned => merge::merge_record(rules, releases).map(|record| {
            let warnings = describe(&group.ocid, &record.warnings);
            (serde_json::to_vec(&record.versioned()), warnings)
        }),
        Output::Records { versioned, linked } => {
            let listed = if linked {
                releases.iter().map(|r| link(r, package_uri)).collect()
            } else {
                releases.clone()
            };
            if versioned {
                merge::merge_record(rules, releases).map(|record| {
                    let out = RecordOut {
                        ocid: &group.ocid,
                        releases: &listed,
                        compiled_release: record.compiled(),
                        versioned_release: Some(record.versioned()),
                    };
                    (
                        serde_json::to_vec(&out),
                        describe(&group.ocid, &record.warnings),
                    )
                })
            } else {
                merge::merge_compiled(rules, releases).map(|compiled| {
                    let out = RecordOut::<_, ()> {
                        ocid: &group.ocid,
                        releases: &listed,
                        compiled_release: &compiled,
                        versioned_release: None,
                    };
                    (
                        serde_json::to_vec(&out),
                        describe(&group.ocid, &compiled.warnings),
                    )
                })
            }
        }
    };
    let output = match serialised {
        Ok((Ok(bytes), warnings)) => {
            messages.extend(warnings);
            Some(bytes)
        }
        Ok((Err(e), _)) => {
            messages.push(format!("ocid {}: cannot write the result: {e}", group.ocid));
            None
        }
        Err(e) => {
            messages.push(format!("ocid {} not compiled: {e}", group.ocid));
            None
        }
    };
    GroupResult { output, messages }
}

fn describe(ocid: &str, warnings: &[merge::MergeWarning]) -> Vec<String> {
    warnings
        .iter()
        .map(|w| format!("warning: ocid {ocid}: {w}"))
        .collect()
}

/// A linked release as `ocdskit compile --linked-releases` writes it.
fn link(release: &Value, package_uri: &str) -> Value {
    let mut linked = Map::new();
    let id = match &release["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    linked.insert("url".into(), Value::String(format!("{package_uri}#{id}")));
    for key in ["date", "tag"] {
        if let Some(value) = release.get(key) {
            linked.insert(key.into(), value.clone());
        }
    }
    Value::Object(linked)
}

#[derive(Serialize)]
struct RecordOut<'a, C: Serialize, V: Serialize> {
    ocid: &'a str,
    releases: &'a [Value],
    #[serde(rename = "compiledRelease")]
    compiled_release: C,
    #[serde(rename = "versionedRelease", skip_serializing_if = "Option::is_none")]
    versioned_release: Option<V>,
}

/// Opens the record package and its `records` array; records follow, then `]}`.
fn write_package_head(
    out: &mut impl Write,
    args: &CompileArgs,
    metadata: &Map<String, Value>,
) -> anyhow::Result<()> {
    let mut head = Map::new();
    let from_input = |key: &str| metadata.get(key).cloned();
    head.insert(
        "uri".into(),
        args.uri
            .clone()
            .map(Value::String)
            .or_else(|| from_input("uri"))
            .unwrap_or_else(|| Value::String(String::new())),
    );
    let mut publisher = match from_input("publisher") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (key, value) in [
        ("name", &args.publisher_name),
        ("scheme", &args.publisher_scheme),
        ("uid", &args.publisher_uid),
        ("uri", &args.publisher_uri),
    ] {
        if let Some(value) = value {
            publisher.insert(key.into(), Value::String(value.clone()));
        }
    }
    publisher
        .entry("name")
        .or_insert_with(|| Value::String(String::new()));
    head.insert("publisher".into(), Value::Object(publisher));
    head.insert(
        "publishedDate".into(),
        args.published_date
            .clone()
            .map(Value::String)
            .or_else(|| from_input("publishedDate"))
            .unwrap_or_else(|| {
                Value::String(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string())
            }),
    );
    for key in ["license", "publicationPolicy"] {
        if let Some(value) = from_input(key) {
            head.insert(key.into(), value);
        }
    }
    head.insert("version".into(), Value::String("1.1".into()));
    if let Some(extensions) = from_input("extensions") {
        head.insert("extensions".into(), extensions);
    }
    // The head is an object without its closing brace, followed by the records array.
    let mut text = serde_json::to_vec(&Value::Object(head))?;
    text.pop();
    out.write_all(&text)?;
    out.write_all(if text.len() > 1 {
        b",\"records\":["
    } else {
        b"\"records\":["
    })?;
    Ok(())
}
