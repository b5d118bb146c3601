//! Council spend as imported: one row per payment line with its provenance, stored a whole file
//! per transaction (a file that fails stores nothing), each line once per publisher however
//! often its file is imported (`row_hash`, computed by the parser from the line's content).

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{audit::now, db::DbConnection, schema::spend_transactions};

/// One payment line to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLine {
    pub line: u64,
    pub row_hash: String,
    pub payment_date: NaiveDate,
    pub amount_pence: i64,
    /// Absent when redacted or naming an individual: such names are never stored.
    pub supplier_name: Option<String>,
    pub supplier_redacted: bool,
    pub supplier_id: Option<String>,
    pub vat_number: Option<String>,
    pub transaction_number: Option<String>,
    pub body_name: Option<String>,
    pub expense_area: Option<String>,
    pub expense_type: Option<String>,
    pub expense_code: Option<String>,
    pub description: Option<String>,
}

/// Lines per hash lookup and per multi-row insert (far below both backends' parameter limits).
const CHUNK: usize = 500;

/// What storing a file's lines did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub imported: u64,
    pub duplicates: u64,
}

/// Stores the lines of one file of `publisher_org_id`, skipping those already stored (by
/// `row_hash`). Run it inside the caller's transaction.
pub fn store_lines(
    conn: &mut DbConnection,
    publisher_org_id: &str,
    source_file: &str,
    run_id: Option<i64>,
    lines: &[SpendLine],
) -> Result<Stored, diesel::result::Error> {
    let mut stored = Stored::default();
    let imported_at = now();
    for chunk in lines.chunks(CHUNK) {
        let hashes: Vec<&str> = chunk.iter().map(|l| l.row_hash.as_str()).collect();
        let known: std::collections::HashSet<String> = spend_transactions::table
            .filter(spend_transactions::publisher_org_id.eq(publisher_org_id))
            .filter(spend_transactions::row_hash.eq_any(&hashes))
            .select(spend_transactions::row_hash)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let new: Vec<_> = chunk
            .iter()
            .filter(|l| !known.contains(&l.row_hash))
            .map(|l| {
                (
                    spend_transactions::publisher_org_id.eq(publisher_org_id),
                    spend_transactions::row_hash.eq(&l.row_hash),
                    spend_transactions::source_file.eq(source_file),
                    spend_transactions::line.eq(i64::try_from(l.line).unwrap_or(i64::MAX)),
                    spend_transactions::run_id.eq(run_id),
                    spend_transactions::payment_date.eq(l.payment_date),
                    spend_transactions::amount_pence.eq(l.amount_pence),
                    spend_transactions::supplier_name.eq(l.supplier_name.as_deref()),
                    spend_transactions::supplier_redacted.eq(l.supplier_redacted),
                    spend_transactions::supplier_id.eq(l.supplier_id.as_deref()),
                    spend_transactions::vat_number.eq(l.vat_number.as_deref()),
                    spend_transactions::transaction_number.eq(l.transaction_number.as_deref()),
                    spend_transactions::body_name.eq(l.body_name.as_deref()),
                    spend_transactions::expense_area.eq(l.expense_area.as_deref()),
                    spend_transactions::expense_type.eq(l.expense_type.as_deref()),
                    spend_transactions::expense_code.eq(l.expense_code.as_deref()),
                    spend_transactions::description.eq(l.description.as_deref()),
                    spend_transactions::imported_at.eq(imported_at),
                )
            })
            .collect();
        stored.duplicates += (chunk.len() - new.len()) as u64;
        stored.imported += new.len() as u64;
        if new.is_empty() {
            continue;
        }
        // Multi-row inserts do not go through the multi-backend connection (rust-stack.md,
        // pitfall 2), so the query runs on the inner connection.
        let query = diesel::insert_into(spend_transactions::table).values(new);
        match conn {
            DbConnection::Postgresql(c) => query.execute(c)?,
            DbConnection::Sqlite(c) => query.execute(c)?,
        };
    }
    Ok(stored)
}
