//! `ocreg validate`: checks releases, release packages and record packages (or JSON Lines of
//! them) against OCDS 1.1.5, release by release so that memory does not grow with the input.

use std::{collections::HashMap, fs::File, io::BufReader, path::PathBuf};

use anyhow::Context;
use ocds::{
    read::{InputKind, ItemKind, ReadError, Reader},
    validate::{Issue, ReleaseIds, Report, Schema},
};
use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The file to check; `-` reads standard input.
    input: PathBuf,
    /// Do not print warnings (additional fields, open codelist values, repairs).
    #[arg(long)]
    no_warnings: bool,
}

/// Validates and prints every problem; returns whether the input is valid.
pub fn run(args: ValidateArgs) -> anyhow::Result<bool> {
    let input: Box<dyn std::io::BufRead> = if args.input.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let schema = Schema::core();
    let mut report = Report::default();
    let mut releases = 0u64;
    let mut reader = match Reader::new(input) {
        Ok(reader) => reader,
        Err(e) => {
            println!("error: {e}");
            return Ok(false);
        }
    };
    let kind = reader.kind();
    let mut locator = Locator::new(kind);
    let mut ids = ReleaseIds::default();
    for item in reader.by_ref() {
        match item {
            Ok(item) => {
                let at = locator.pointer(
                    item.position,
                    item.start.line,
                    item.record.as_ref().map(|r| r.index),
                );
                for warning in &item.warnings {
                    report.warnings.push(Issue {
                        pointer: format!("{at}{}", warning.pointer),
                        message: format!("repaired while reading: {}", warning.message),
                    });
                }
                if item.kind != ItemKind::Release {
                    continue;
                }
                releases += 1;
                report.merge(schema.validate_release(&item.release).with_prefix(&at));
                if let Some(issue) = ids.check(&item.release, &at) {
                    report.errors.push(issue);
                }
            }
            Err(ReadError::Release(e)) => {
                let at =
                    locator.pointer(e.position, e.start.line, e.record.as_ref().map(|r| r.index));
                report.errors.push(Issue {
                    pointer: at,
                    message: e.message.clone(),
                });
            }
            Err(ReadError::Fatal(e)) => {
                report.errors.push(Issue {
                    pointer: String::new(),
                    message: format!("the input cannot be read further: {e}"),
                });
                break;
            }
        }
    }
    if matches!(kind, InputKind::ReleasePackage | InputKind::RecordPackage) {
        report.merge(envelope_report(schema, kind, reader.into_metadata()));
    }
    for issue in &report.errors {
        println!("error: {issue}");
    }
    if !args.no_warnings {
        for issue in &report.warnings {
            println!("warning: {issue}");
        }
    }
    let valid = report.is_valid();
    eprintln!(
        "{}: {releases} release(s), {} error(s), {} warning(s): {}",
        args.input.display(),
        report.errors.len(),
        report.warnings.len(),
        if valid { "valid" } else { "invalid" }
    );
    Ok(valid)
}

/// Checks the package fields around the releases (uri, publisher, publishedDate, version...)
/// by validating the envelope with an empty list; what the list itself gets is not reported.
fn envelope_report(
    schema: &Schema,
    kind: InputKind,
    metadata: serde_json::Map<String, Value>,
) -> Report {
    let list = if kind == InputKind::RecordPackage {
        "records"
    } else {
        "releases"
    };
    let mut envelope = metadata;
    envelope.insert(list.to_owned(), Value::Array(Vec::new()));
    let mut report = schema.validate(&Value::Object(envelope));
    let prefix = format!("/{list}");
    report.errors.retain(|i| !i.pointer.starts_with(&prefix));
    report.warnings.retain(|i| !i.pointer.starts_with(&prefix));
    report
}

/// Turns an item's position into the JSON pointer of the release in the input document.
struct Locator {
    kind: InputKind,
    /// Releases seen so far in each record (record packages).
    per_record: HashMap<u64, u64>,
}

impl Locator {
    fn new(kind: InputKind) -> Self {
        Self {
            kind,
            per_record: HashMap::new(),
        }
    }

    fn pointer(&mut self, position: u64, line: u64, record: Option<u64>) -> String {
        let index = position.saturating_sub(1);
        match (self.kind, record) {
            (InputKind::ReleasePackage, _) => format!("/releases/{index}"),
            (InputKind::ReleaseArray, _) => format!("/{index}"),
            (InputKind::Release, _) => String::new(),
            (InputKind::RecordPackage, Some(record)) => {
                let seen = self.per_record.entry(record).or_insert(0);
                *seen += 1;
                format!("/records/{}/releases/{}", record - 1, *seen - 1)
            }
            // JSON Lines (and anything unexpected): each line is its own document.
            _ => format!("line {line}: "),
        }
    }
}
