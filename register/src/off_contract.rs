//! Off-contract spend: for one buyer, the suppliers it paid more than a threshold over a
//! period by payments linked to no contract in the register ([`crate::spend::relink`]).
//! They point at contracts missing from the register (or spot purchases that add up).
//!
//! - Payments are the buyer's spend lines with no `spend_links` row, in the period (both
//!   dates included); credit notes count, so a refund lowers its supplier's total.
//! - Suppliers are grouped by normalised name ([`normalise_name`]: "ACME LTD" and "Acme
//!   Limited" are one); each is shown under its most used spelling. Redacted payees and
//!   individuals have no stored name and are one group, `redacted`, never named.
//! - A supplier is listed when its total is more than the threshold. The default is £5,000:
//!   the Local Government Transparency Code 2015 puts every contract over £5,000 on a
//!   council's contracts register (`../shared/reference/uk-feeds.md` §3.5), so a supplier
//!   paid more than that without a contract is worth a look.
//! - Largest total first, then by name; pages are keyset pages after (total, name).
//!
//! The buyer's lines are read in id batches and summed per supplier, so memory grows with the
//! number of suppliers, not of payments.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    db::DbConnection,
    org_ids::{is_individual_marker, normalise_name, normalise_org_id},
    schema::{spend_links, spend_transactions},
    views::{MAX_LIMIT, opaque_cursor, plain_cursor},
};

/// £5,000 in pence: the Transparency Code's contracts register threshold.
pub const DEFAULT_THRESHOLD_PENCE: i64 = 500_000;

/// The key of the group of redacted payees and individuals.
pub const REDACTED: &str = "redacted";

/// Lines read per query.
const BATCH: i64 = 5_000;

/// What to report on.
#[derive(Debug, Clone)]
pub struct OffContractQuery {
    /// The paying body (org-id).
    pub buyer: String,
    /// Listed when paid more than this, in pence.
    pub threshold_pence: i64,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
}

/// One supplier paid off contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffContractSupplier {
    /// The supplier's name as most often written; `None` for the redacted group.
    pub supplier: Option<String>,
    pub redacted: bool,
    pub total_pence: i64,
    pub payments: u64,
    pub first_payment: NaiveDate,
    pub last_payment: NaiveDate,
    /// The grouping key (normalised name, or [`REDACTED`]).
    key: String,
}

/// The whole report's figures (every page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffContractTotals {
    pub suppliers: u64,
    pub total_pence: i64,
    pub payments: u64,
}

/// A page of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffContractPage {
    pub rows: Vec<OffContractSupplier>,
    pub totals: OffContractTotals,
    /// The cursor of the next page.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OffContractError {
    #[error("cursor: not one this register issued")]
    Cursor,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

#[derive(Default)]
struct Group {
    spellings: HashMap<String, u64>,
    total_pence: i64,
    payments: u64,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

/// The cursor after `row`: its total and key.
fn cursor_of(row: &OffContractSupplier) -> String {
    opaque_cursor(&format!("{}:{}", row.total_pence, row.key))
}

fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let plain = plain_cursor(cursor)?;
    let (total, key) = plain.split_once(':')?;
    Some((total.parse().ok()?, key.to_owned()))
}

/// One page of the report for `query`, `limit` suppliers after `cursor`.
pub fn report(
    conn: &mut DbConnection,
    query: &OffContractQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<OffContractPage, OffContractError> {
    let after = cursor
        .map(|c| parse_cursor(c).ok_or(OffContractError::Cursor))
        .transpose()?;
    let buyer = normalise_org_id(&query.buyer).unwrap_or_else(|| query.buyer.clone());
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut last_id = i64::MIN;
    loop {
        let mut batch = spend_transactions::table
            .left_join(spend_links::table)
            .filter(spend_links::spend_id.nullable().is_null())
            .filter(spend_transactions::publisher_org_id.eq(&buyer))
            .filter(spend_transactions::id.gt(last_id))
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(from) = query.date_from {
            batch = batch.filter(spend_transactions::payment_date.ge(from));
        }
        if let Some(to) = query.date_to {
            batch = batch.filter(spend_transactions::payment_date.le(to));
        }
        let rows: Vec<(i64, Option<String>, bool, i64, NaiveDate)> = batch
            .order(spend_transactions::id.asc())
            .select((
                spend_transactions::id,
                spend_transactions::supplier_name,
                spend_transactions::supplier_redacted,
                spend_transactions::amount_pence,
                spend_transactions::payment_date,
            ))
            .limit(BATCH)
            .load(conn)?;
        for (_, name, redacted, amount, date) in &rows {
            let name = name
                .as_deref()
                .map(str::trim)
                .filter(|n| !*redacted && !n.is_empty() && !is_individual_marker(n));
            let key = name.map_or_else(|| REDACTED.to_owned(), normalise_name);
            // A name that normalises to nothing is no name either.
            let (key, name) = if key.is_empty() {
                (REDACTED.to_owned(), None)
            } else {
                (key, name)
            };
            let group = groups.entry(key).or_default();
            if let Some(name) = name {
                *group.spellings.entry(name.to_owned()).or_default() += 1;
            }
            group.total_pence += amount;
            group.payments += 1;
            group.first = Some(group.first.map_or(*date, |d| d.min(*date)));
            group.last = Some(group.last.map_or(*date, |d| d.max(*date)));
        }
        match rows.last() {
            Some((id, ..)) if rows.len() as i64 == BATCH => last_id = *id,
            _ => break,
        }
    }
    let mut listed: Vec<OffContractSupplier> = groups
        .into_iter()
        .filter(|(_, g)| g.total_pence > query.threshold_pence)
        .filter_map(|(key, g)| {
            let redacted = key == REDACTED;
            let supplier = (!redacted)
                .then(|| {
                    g.spellings
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                        .map(|(name, _)| name.clone())
                })
                .flatten();
            Some(OffContractSupplier {
                supplier,
                redacted,
                total_pence: g.total_pence,
                payments: g.payments,
                first_payment: g.first?,
                last_payment: g.last?,
                key,
            })
        })
        .collect();
    listed.sort_by(|a, b| {
        b.total_pence
            .cmp(&a.total_pence)
            .then_with(|| a.key.cmp(&b.key))
    });
    let totals = OffContractTotals {
        suppliers: listed.len() as u64,
        total_pence: listed.iter().map(|r| r.total_pence).sum(),
        payments: listed.iter().map(|r| r.payments).sum(),
    };
    if let Some((total, key)) = after {
        listed.retain(|r| r.total_pence < total || (r.total_pence == total && r.key > key));
    }
    let limit = limit.clamp(1, MAX_LIMIT) as usize;
    let next = (listed.len() > limit).then(|| cursor_of(&listed[limit - 1]));
    listed.truncate(limit);
    Ok(OffContractPage {
        rows: listed,
        totals,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        let row = OffContractSupplier {
            supplier: None,
            redacted: true,
            total_pence: -12,
            payments: 1,
            first_payment: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            last_payment: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            key: "a:b".to_owned(),
        };
        assert_eq!(
            parse_cursor(&cursor_of(&row)),
            Some((-12, "a:b".to_owned()))
        );
        assert_eq!(parse_cursor("zz"), None);
        assert_eq!(parse_cursor(&opaque_cursor("no-colon")), None);
    }
}
