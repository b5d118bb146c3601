//! Importing one finance file (council spend CSV, 360Giving grants): parsed, stored as a whole
//! in one transaction and recorded as a run whose summary carries the file's quality report
//! (`GET /api/v1/sync/runs/{id}`). A file that cannot be read at all is a failed run and stores
//! nothing.

use std::io::Read;

use diesel::Connection;
use register::{
    DbConnection,
    grants::{GrantRow, store_grants},
    org_ids::normalise_org_id,
    spend::{SpendLine, store_lines},
    sync_store::{self, LineNote, MAX_LISTED_LINES, RowReport, RunStatus, RunSummary},
};

use crate::{
    grants::{Grant, Recipient, parse_grants},
    runner::holder,
    spend::{SpendReader, SpendRecord, SpendRow},
};

#[derive(Debug, thiserror::Error)]
pub enum FileImportError {
    #[error("--publisher `{0}` is not an org-id (e.g. GB-LAE-DEV for Devon County Council)")]
    Publisher(String),
    /// The file as a whole cannot be read.
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error(transparent)]
    Store(#[from] sync_store::SyncStoreError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The pseudo-source that records the spend imports of one publisher.
pub fn spend_source(publisher: &str) -> String {
    format!("import:spend:{publisher}")
}

/// The pseudo-source that records grant imports.
pub const GRANTS_SOURCE: &str = "import:grants";

/// Imports `reader` (the file `file`) as spend of `publisher` (an org-id), recording the run
/// under `source` (a configured source's name; by default [`spend_source`]). Returns the run
/// id and the quality report.
pub fn import_spend(
    conn: &mut DbConnection,
    source: Option<&str>,
    publisher: &str,
    file: &str,
    reader: impl Read,
) -> Result<(i64, RowReport), FileImportError> {
    let publisher = normalise_org_id(publisher)
        .ok_or_else(|| FileImportError::Publisher(publisher.to_owned()))?;
    let source = source.map_or_else(|| spend_source(&publisher), str::to_owned);
    let config = serde_json::json!({"publisher": publisher});
    run_file(conn, &source, "spend_csv", &config, file, |conn, run_id| {
        // Parsed and stored a chunk at a time, so memory stays flat however long the file;
        // the whole file is still one transaction (`run_file`), so an unreadable line late in
        // it undoes the chunks before.
        let mut spend = SpendReader::new(reader).map_err(|e| e.to_string())?;
        let mut report = RowReport {
            file: file.to_owned(),
            ..RowReport::default()
        };
        let note = |line: u64, reason: String| LineNote {
            line: Some(line),
            at: format!("line {line}"),
            reason,
        };
        let mut lines: Vec<SpendLine> = Vec::with_capacity(STORE_CHUNK);
        let store = |conn: &mut DbConnection, lines: &mut Vec<SpendLine>| {
            let stored = store_lines(conn, &publisher, file, Some(run_id), lines)?;
            lines.clear();
            Ok::<_, diesel::result::Error>(stored)
        };
        let mut stored = register::spend::Stored::default();
        loop {
            let record = match spend.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            report.read += 1;
            match record {
                SpendRecord::Row(row) => lines.push(spend_line(*row)),
                SpendRecord::Skipped(skip) => {
                    report.skipped += 1;
                    if report.skips.len() < MAX_LISTED_LINES {
                        report.skips.push(note(skip.line, skip.reason));
                    }
                }
                SpendRecord::Rejected(reject) => {
                    report.rejected += 1;
                    if report.rejects.len() < MAX_LISTED_LINES {
                        report.rejects.push(note(reject.line, reject.reason));
                    }
                }
            }
            if lines.len() == STORE_CHUNK {
                match store(conn, &mut lines) {
                    Ok(s) => stored.add(s),
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
        Ok(store(conn, &mut lines).and_then(|last| {
            stored.add(last);
            report.imported = stored.imported;
            report.duplicates = stored.duplicates;
            // New payments may belong to contracts: the publisher's links are recomputed.
            report.linked = Some(register::spend::relink(conn, &publisher)?.linked);
            Ok(report)
        }))
    })
}

/// Rows parsed before they are stored: large enough that per-call costs vanish, small enough
/// that a chunk's memory does not matter.
const STORE_CHUNK: usize = 10_000;

/// Imports a 360Giving file (JSON package or CSV), recording the run under `source` (by
/// default [`GRANTS_SOURCE`]). Returns the run id and the quality report.
pub fn import_grants(
    conn: &mut DbConnection,
    source: Option<&str>,
    file: &str,
    mut reader: impl Read,
) -> Result<(i64, RowReport), FileImportError> {
    let config = serde_json::json!({});
    run_file(
        conn,
        source.unwrap_or(GRANTS_SOURCE),
        "threesixtygiving",
        &config,
        file,
        |conn, run_id| {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            let parsed = parse_grants(&bytes).map_err(|e| e.to_string())?;
            let rows: Vec<GrantRow> = parsed.grants.iter().map(grant_row).collect();
            let mut report = RowReport {
                file: file.to_owned(),
                read: (parsed.grants.len() + parsed.rejected.len()) as u64,
                rejected: parsed.rejected.len() as u64,
                rejects: parsed
                    .rejected
                    .iter()
                    .take(MAX_LISTED_LINES)
                    .map(|e| LineNote {
                        line: e
                            .at
                            .strip_prefix("line ")
                            .and_then(|rest| rest.split(',').next())
                            .and_then(|n| n.trim().parse().ok()),
                        at: e.at.clone(),
                        reason: e.message.clone(),
                    })
                    .collect(),
                ..RowReport::default()
            };
            Ok(
                store_grants(conn, file, Some(run_id), &rows).and_then(|stored| {
                    report.imported = stored.created + stored.updated;
                    report.duplicates = stored.unchanged;
                    // The funders' grants may belong to contracts: their links are recomputed.
                    let funders: std::collections::BTreeSet<&str> =
                        rows.iter().map(|r| r.funder_org_id.as_str()).collect();
                    let mut linked = 0;
                    for funder in funders {
                        linked += register::grant_links::relink_grants(conn, funder)?.linked;
                    }
                    report.linked = Some(linked);
                    Ok(report)
                }),
            )
        },
    )
}

/// The run bookkeeping both imports share: `import` parses (an `Err` is a file that cannot be
/// read) and stores inside one transaction with the run's end.
fn run_file(
    conn: &mut DbConnection,
    source: &str,
    kind: &str,
    config: &serde_json::Value,
    file: &str,
    import: impl FnOnce(
        &mut DbConnection,
        i64,
    ) -> Result<Result<RowReport, diesel::result::Error>, String>,
) -> Result<(i64, RowReport), FileImportError> {
    // A file is one transaction: a warm page cache keeps the unique index in memory.
    register::releases::tune_for_bulk_load(conn, sync_store::SYNC_CACHE_MIB)
        .map_err(sync_store::SyncStoreError::from)?;
    let source_id = sync_store::ensure_source(conn, source, kind, config)?;
    let run_id = sync_store::start_run(conn, source_id, &holder())?;
    let outcome = conn.transaction(|conn| {
        let report = match import(conn, run_id) {
            Ok(stored) => stored?,
            // An `Err` rolls back whatever the import stored before it found the problem.
            Err(message) => {
                return Err(FileImportError::File {
                    file: file.to_owned(),
                    message,
                });
            }
        };
        let summary = RunSummary {
            pages: 1,
            rows: Some(report.clone()),
            ..RunSummary::default()
        };
        sync_store::finish_run(conn, run_id, RunStatus::Succeeded, &summary, None)?;
        Ok::<_, FileImportError>(Ok(report))
    });
    let error = match outcome {
        Ok(Ok(report)) => return Ok((run_id, report)),
        Ok(Err(e)) | Err(e) => e,
    };
    // Nothing of the file was stored; the run says why.
    let summary = RunSummary {
        rows: Some(RowReport {
            file: file.to_owned(),
            ..RowReport::default()
        }),
        ..RunSummary::default()
    };
    sync_store::finish_run(
        conn,
        run_id,
        RunStatus::Failed,
        &summary,
        Some(&error.to_string()),
    )?;
    Err(error)
}

fn spend_line(row: SpendRow) -> SpendLine {
    SpendLine {
        line: row.line,
        row_hash: row.row_hash,
        payment_date: row.date,
        amount_pence: row.amount_pence,
        supplier_name: row.supplier_name,
        supplier_redacted: row.supplier_redacted,
        supplier_id: row.supplier_id,
        vat_number: row.vat_number,
        transaction_number: row.transaction_number,
        body_name: row.body_name,
        expense_area: row.expense_area,
        expense_type: row.expense_type,
        expense_code: row.expense_code,
        description: row.description,
    }
}

fn grant_row(grant: &Grant) -> GrantRow {
    let (recipient_org_id, recipient_name, recipient_is_individual, recipient_equivalent_ids) =
        match &grant.recipient {
            Recipient::Organisation {
                id,
                name,
                equivalent_ids,
                ..
            } => (
                id.clone(),
                Some(name.clone()),
                false,
                equivalent_ids.clone(),
            ),
            Recipient::Individual { id } => (id.clone(), None, true, Vec::new()),
        };
    // The funder's numbers are read from the grant as published (the parser keeps only its id
    // and name), the same way as a recipient's.
    let funder = grant
        .raw
        .pointer("/fundingOrganization/0")
        .unwrap_or(&serde_json::Value::Null);
    let number = |key: &str| match funder.get(key) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let funder_equivalent_ids = register::org_ids::equivalent_ids(
        &grant.funder_id,
        number("charityNumber").as_deref(),
        number("companyNumber").as_deref(),
    );
    GrantRow {
        grant_id: grant.id.clone(),
        title: grant.title.clone(),
        description: grant.description.clone(),
        currency: grant.currency.clone(),
        amount_awarded_pence: grant.amount_awarded_pence,
        award_date: grant.award_date,
        funder_org_id: grant.funder_id.clone(),
        funder_name: grant.funder_name.clone(),
        funder_equivalent_ids,
        recipient_org_id,
        recipient_name,
        recipient_is_individual,
        recipient_equivalent_ids,
        planned_start: grant.planned_start,
        planned_end: grant.planned_end,
        programme: grant.programme.clone(),
        position: grant.source_position.clone(),
        body: grant.raw.to_string(),
    }
}
