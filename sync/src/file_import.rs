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
    spend::{SpendRow, parse_spend},
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
    mut reader: impl Read,
) -> Result<(i64, RowReport), FileImportError> {
    let publisher = normalise_org_id(publisher)
        .ok_or_else(|| FileImportError::Publisher(publisher.to_owned()))?;
    let source = source.map_or_else(|| spend_source(&publisher), str::to_owned);
    let config = serde_json::json!({"publisher": publisher});
    run_file(conn, &source, "spend_csv", &config, file, |conn, run_id| {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let parsed = parse_spend(&bytes).map_err(|e| e.to_string())?;
        let lines: Vec<SpendLine> = parsed.rows.iter().map(spend_line).collect();
        let notes = |found: &mut dyn Iterator<Item = (u64, &String)>| {
            found
                .take(MAX_LISTED_LINES)
                .map(|(line, reason)| LineNote {
                    line: Some(line),
                    at: format!("line {line}"),
                    reason: reason.clone(),
                })
                .collect()
        };
        let mut report = RowReport {
            file: file.to_owned(),
            read: parsed.rows_read(),
            skipped: parsed.skipped.len() as u64,
            rejected: parsed.rejected.len() as u64,
            skips: notes(&mut parsed.skipped.iter().map(|s| (s.line, &s.reason))),
            rejects: notes(&mut parsed.rejected.iter().map(|r| (r.line, &r.reason))),
            ..RowReport::default()
        };
        Ok(
            store_lines(conn, &publisher, file, Some(run_id), &lines).and_then(|stored| {
                report.imported = stored.imported;
                report.duplicates = stored.duplicates;
                // New payments may belong to contracts: the publisher's links are recomputed.
                report.linked = Some(register::spend::relink(conn, &publisher)?.linked);
                Ok(report)
            }),
        )
    })
}

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
            Err(message) => {
                return Ok(Err(FileImportError::File {
                    file: file.to_owned(),
                    message,
                }));
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

fn spend_line(row: &SpendRow) -> SpendLine {
    SpendLine {
        line: row.line,
        row_hash: row.row_hash.clone(),
        payment_date: row.date,
        amount_pence: row.amount_pence,
        supplier_name: row.supplier_name.clone(),
        supplier_redacted: row.supplier_redacted,
        supplier_id: row.supplier_id.clone(),
        vat_number: row.vat_number.clone(),
        transaction_number: row.transaction_number.clone(),
        body_name: row.body_name.clone(),
        expense_area: row.expense_area.clone(),
        expense_type: row.expense_type.clone(),
        expense_code: row.expense_code.clone(),
        description: row.description.clone(),
    }
}

fn grant_row(grant: &Grant) -> GrantRow {
    let (recipient_org_id, recipient_name, recipient_is_individual) = match &grant.recipient {
        Recipient::Organisation { id, name, .. } => (id.clone(), Some(name.clone()), false),
        Recipient::Individual { id } => (id.clone(), None, true),
    };
    GrantRow {
        grant_id: grant.id.clone(),
        title: grant.title.clone(),
        description: grant.description.clone(),
        currency: grant.currency.clone(),
        amount_awarded_pence: grant.amount_awarded_pence,
        award_date: grant.award_date,
        funder_org_id: grant.funder_id.clone(),
        funder_name: grant.funder_name.clone(),
        recipient_org_id,
        recipient_name,
        recipient_is_individual,
        planned_start: grant.planned_start,
        planned_end: grant.planned_end,
        programme: grant.programme.clone(),
        position: grant.source_position.clone(),
        body: grant.raw.to_string(),
    }
}
