//! Council spend as imported: one row per payment line with its provenance, stored a whole file
//! per transaction (a file that fails stores nothing), each line once per publisher however
//! often its file is imported (`row_key`, the first 128 bits of the `row_hash` the parser computes
//! from the line's content).

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

impl Stored {
    /// Adds what storing another part of the same file did.
    pub fn add(&mut self, other: Stored) {
        self.imported += other.imported;
        self.duplicates += other.duplicates;
    }
}

/// Stores the lines of one file of `publisher_org_id`, skipping those already stored (by
/// [`row_key`]). Run it inside the caller's transaction.
pub fn store_lines(
    conn: &mut DbConnection,
    publisher_org_id: &str,
    source_file: &str,
    run_id: Option<i64>,
    lines: &[SpendLine],
) -> Result<Stored, diesel::result::Error> {
    let mut stored = Stored::default();
    let imported_at = now();
    // By index, so the values borrow from `lines` (a closure over `&SpendLine` would have to
    // be general over every lifetime).
    let values = |i: usize| {
        let l = &lines[i];
        (
            spend_transactions::publisher_org_id.eq(publisher_org_id),
            spend_transactions::row_key.eq(row_key(&l.row_hash)),
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
    };
    // A line already stored is left alone by the unique (publisher, row_key) index itself:
    // one index probe per line instead of a lookup and then an insert. Inserts with an
    // `ON CONFLICT` clause do not go through the multi-backend connection (rust-stack.md,
    // pitfall 2), so they run on the inner connection.
    let inserted = match conn {
        // Round trips are what costs on PostgreSQL: many rows per statement.
        DbConnection::Postgresql(c) => {
            let mut inserted = 0;
            for start in (0..lines.len()).step_by(CHUNK) {
                let end = (start + CHUNK).min(lines.len());
                inserted += diesel::insert_into(spend_transactions::table)
                    .values((start..end).map(values).collect::<Vec<_>>())
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
            inserted
        }
        // In-process SQLite: one cached prepared statement per row. A many-row statement is
        // prepared afresh each time (its text depends on the row count), and preparing and
        // freeing thousands of parameters per chunk cost more than the inserts did.
        DbConnection::Sqlite(c) => {
            let mut inserted = 0;
            for i in 0..lines.len() {
                inserted += diesel::insert_into(spend_transactions::table)
                    .values(values(i))
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
            inserted
        }
    } as u64;
    stored.imported = inserted;
    stored.duplicates = lines.len() as u64 - inserted;
    Ok(stored)
}

/// The stored identity of a line: the first 128 bits of its hex row hash, as bytes (migration
/// 000007). A hash that is not hex (never from the parser) is kept as its own bytes.
fn row_key(row_hash: &str) -> Vec<u8> {
    let prefix = row_hash.get(..32).unwrap_or(row_hash);
    let digits: Option<Vec<u8>> = (0..prefix.len() / 2)
        .map(|i| u8::from_str_radix(&prefix[2 * i..2 * i + 2], 16).ok())
        .collect();
    match digits {
        Some(bytes) if prefix.len() == 32 => bytes,
        _ => row_hash.as_bytes().to_vec(),
    }
}

/// Which spend lines to list.
#[derive(Debug, Clone, Default)]
pub struct SpendFilters {
    /// The paying body (the publisher's org-id).
    pub buyer: Option<String>,
    /// Part of the supplier's name, case-insensitive (redacted lines have none).
    pub supplier: Option<String>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub min_pence: Option<i64>,
    pub max_pence: Option<i64>,
    /// Only lines linked to a contract (`Some(true)`) or only those not linked (`Some(false)`).
    pub matched: Option<bool>,
}

/// How a spend line is linked to a contract (`spend_links`).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct SpendLink {
    pub ocid: String,
    pub contract_id: String,
    pub method: String,
    pub confidence: f64,
}

/// A stored spend line as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = spend_transactions)]
pub struct SpendTransaction {
    pub id: i64,
    pub publisher_org_id: String,
    pub payment_date: NaiveDate,
    pub amount_pence: i64,
    pub supplier_name: Option<String>,
    pub supplier_redacted: bool,
    pub transaction_number: Option<String>,
    pub body_name: Option<String>,
    pub expense_area: Option<String>,
    pub expense_type: Option<String>,
    pub description: Option<String>,
    pub source_file: String,
    pub line: i64,
}

/// A spend line and its contract link, if any.
pub type LinkedLine = (SpendTransaction, Option<SpendLink>);

/// A page of spend lines in id order after `after`, each with its contract link when it has
/// one, and the cursor of the next page.
pub fn page(
    conn: &mut DbConnection,
    filters: &SpendFilters,
    limit: u32,
    after: Option<i64>,
) -> QueryResult<(Vec<LinkedLine>, Option<i64>)> {
    use crate::{
        schema::spend_links,
        views::{MAX_LIMIT, escape_like, lower},
    };
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut query = spend_transactions::table
        .left_join(spend_links::table)
        .into_boxed::<crate::db::MultiBackend>()
        .order(spend_transactions::id.asc());
    if let Some(buyer) = &filters.buyer {
        let buyer = crate::org_ids::normalise_org_id(buyer).unwrap_or_else(|| buyer.clone());
        query = query.filter(spend_transactions::publisher_org_id.eq(buyer));
    }
    if let Some(supplier) = filters
        .supplier
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&supplier.to_lowercase()));
        query = query.filter(
            lower(spend_transactions::supplier_name)
                .like(pattern)
                .escape('\\'),
        );
    }
    if let Some(from) = filters.date_from {
        query = query.filter(spend_transactions::payment_date.ge(from));
    }
    if let Some(to) = filters.date_to {
        query = query.filter(spend_transactions::payment_date.le(to));
    }
    if let Some(min) = filters.min_pence {
        query = query.filter(spend_transactions::amount_pence.ge(min));
    }
    if let Some(max) = filters.max_pence {
        query = query.filter(spend_transactions::amount_pence.le(max));
    }
    match filters.matched {
        Some(true) => query = query.filter(spend_links::spend_id.nullable().is_not_null()),
        Some(false) => query = query.filter(spend_links::spend_id.nullable().is_null()),
        None => {}
    }
    if let Some(after) = after {
        query = query.filter(spend_transactions::id.gt(after));
    }
    let mut rows: Vec<LinkedLine> = query
        .select((
            SpendTransaction::as_select(),
            (
                spend_links::ocid,
                spend_links::contract_id,
                spend_links::method,
                spend_links::confidence,
            )
                .nullable(),
        ))
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(r, _)| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// What [`relink`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub payments: u64,
    pub linked: u64,
    pub contracts: u64,
    pub phases: LinkPhases,
}

/// Where [`relink`]'s time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkPhases {
    /// Reading the publisher's contracts and indexing them.
    pub contracts: std::time::Duration,
    /// Deleting the old links.
    pub clear: std::time::Duration,
    /// Reading the payments, matching them and storing the links.
    pub link: std::time::Duration,
}

/// Recomputes the contract links of every spend line of `publisher` (an org-id) against the
/// register's awarded contracts whose buyer or partners include it ([`crate::reconcile`]), in
/// one transaction: old links go, new ones come.
pub fn relink(
    conn: &mut DbConnection,
    publisher: &str,
) -> Result<LinkStats, diesel::result::Error> {
    use crate::{
        reconcile::{ContractIndex, PaymentFacts, Tolerance},
        schema::spend_links,
    };
    conn.transaction(|conn| {
        // Two processes relinking one publisher at once (an import and the daemon's relinker)
        // would both delete and both insert its links: on PostgreSQL they take turns. SQLite
        // has one writer anyway.
        if let DbConnection::Postgresql(c) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('ocreg relink ' || $1))")
                .bind::<diesel::sql_types::Text, _>(publisher)
                .execute(c)?;
        }
        let started = std::time::Instant::now();
        let contracts = contracts_of(conn, publisher)?;
        let index = ContractIndex::new(&contracts);
        let phases = LinkPhases {
            contracts: started.elapsed(),
            ..LinkPhases::default()
        };
        let mut stats = LinkStats {
            contracts: contracts.len() as u64,
            phases,
            ..LinkStats::default()
        };
        drop(contracts);
        let started = std::time::Instant::now();
        if stats.contracts == 0 {
            // Nothing can link (the usual first import of a publisher): the old links go and
            // the payments are counted, not read.
            let mine = spend_transactions::table
                .filter(spend_transactions::publisher_org_id.eq(publisher))
                .select(spend_transactions::id);
            diesel::delete(spend_links::table.filter(spend_links::spend_id.eq_any(mine)))
                .execute(conn)?;
            stats.phases.clear = started.elapsed();
            let payments: i64 = spend_transactions::table
                .filter(spend_transactions::publisher_org_id.eq(publisher))
                .count()
                .get_result(conn)?;
            stats.payments = u64::try_from(payments).unwrap_or_default();
            return Ok(stats);
        }
        let (first, last): (Option<i64>, Option<i64>) = spend_transactions::table
            .filter(spend_transactions::publisher_org_id.eq(publisher))
            .select((
                diesel::dsl::min(spend_transactions::id),
                diesel::dsl::max(spend_transactions::id),
            ))
            .get_result(conn)?;
        let tolerance = Tolerance::default();
        let linked_at = now();
        // The payments a window of ids at a time, so memory does not grow with the publisher's
        // spend, and each window's old links are replaced by its new ones. `publisher || ''`
        // keeps the databases from answering through the (publisher, date) index, which would
        // visit every one of the publisher's rows for each window: the id range is the scan.
        let mine = || {
            spend_transactions::publisher_org_id
                .concat("")
                .eq(publisher.to_owned())
        };
        let (mut low, last) = (first.unwrap_or(1), last.unwrap_or(0));
        while low <= last {
            let high = low.saturating_add(RELINK_PAGE);
            let window = spend_transactions::id
                .ge(low)
                .and(spend_transactions::id.lt(high));
            let clearing = std::time::Instant::now();
            let in_window = spend_transactions::table
                .filter(window)
                .filter(mine())
                .select(spend_transactions::id);
            diesel::delete(
                spend_links::table
                    .filter(spend_links::spend_id.ge(low))
                    .filter(spend_links::spend_id.lt(high))
                    .filter(spend_links::spend_id.eq_any(in_window)),
            )
            .execute(conn)?;
            stats.phases.clear += clearing.elapsed();
            type Payment = (i64, NaiveDate, i64, Option<String>, Option<String>);
            let payments: Vec<Payment> = spend_transactions::table
                .filter(window)
                .filter(mine())
                .select((
                    spend_transactions::id,
                    spend_transactions::payment_date,
                    spend_transactions::amount_pence,
                    spend_transactions::supplier_name,
                    spend_transactions::supplier_id,
                ))
                .load(conn)?;
            low = high;
            stats.payments += payments.len() as u64;
            let links: Vec<_> = payments
                .into_iter()
                .filter_map(|(id, date, amount_pence, supplier_name, supplier_id)| {
                    index.link(
                        &PaymentFacts {
                            id,
                            publisher_org_id: publisher.to_owned(),
                            // Most councils' supplier ids are their own vendor numbers; one
                            // written as an org-id (GB-COH-..., GB-CHC-...) is matched first.
                            supplier_org_id: supplier_id
                                .as_deref()
                                .and_then(crate::org_ids::normalise_org_id),
                            supplier_name,
                            date,
                            amount_pence,
                        },
                        &tolerance,
                    )
                })
                .collect();
            stats.linked += links.len() as u64;
            for chunk in links.chunks(CHUNK) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|l| {
                        (
                            spend_links::spend_id.eq(l.payment_id),
                            spend_links::ocid.eq(&l.ocid),
                            spend_links::contract_id.eq(&l.contract_id),
                            spend_links::method.eq(l.method.code()),
                            spend_links::confidence.eq(l.confidence),
                            spend_links::linked_at.eq(linked_at),
                        )
                    })
                    .collect();
                let query = diesel::insert_into(spend_links::table).values(values);
                match conn {
                    DbConnection::Postgresql(c) => query.execute(c)?,
                    DbConnection::Sqlite(c) => query.execute(c)?,
                };
            }
        }
        stats.phases.link = started.elapsed() - stats.phases.clear;
        Ok(stats)
    })
}

/// Ids per window of [`relink`].
const RELINK_PAGE: i64 = 50_000;

/// The awarded contracts of `buyer` (as buyer or partner) as the matcher sees them: the
/// payments of a council and the grants of a funder are matched against these.
pub(crate) fn contracts_of(
    conn: &mut DbConnection,
    buyer: &str,
) -> Result<Vec<crate::reconcile::ContractFacts>, diesel::result::Error> {
    use crate::{schema::records, views::json_item_like};
    let rows: Vec<(String, Option<String>, String, String)> = records::table
        .filter(records::stage.eq_any(crate::relink_queue::LINKABLE_STAGES))
        .filter(
            records::buyer_org_id.eq(buyer).or(records::partner_org_ids
                .like(json_item_like(buyer, false))
                .escape('\\')),
        )
        .select((
            records::ocid,
            records::buyer_org_id,
            records::partner_org_ids,
            records::compiled_release,
        ))
        .load(conn)?;
    let mut contracts = Vec::new();
    for (ocid, buyer, partners, compiled) in rows {
        let Ok(compiled) = serde_json::from_str::<serde_json::Value>(&compiled) else {
            continue;
        };
        let mut buyers: Vec<String> = serde_json::from_str(&partners).unwrap_or_default();
        buyers.extend(buyer);
        contracts.extend(contract_facts(&ocid, &compiled, &buyers));
    }
    Ok(contracts)
}

/// The contracts of a compiled release as the matcher sees them: each `contracts[]` entry with
/// the suppliers of its award, or, before a contract is signed, each award.
pub(crate) fn contract_facts(
    ocid: &str,
    compiled: &serde_json::Value,
    buyers: &[String],
) -> Vec<crate::reconcile::ContractFacts> {
    use serde_json::Value;
    let list = |key: &str| {
        compiled
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (awards, signed) = (list("awards"), list("contracts"));
    let date = |v: &Value, pointer: &str| {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|t| NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok())
    };
    let suppliers = |award: Option<&Value>| {
        let mut ids = Vec::new();
        let mut names = Vec::new();
        let from: Vec<&Value> = match award {
            Some(award) => vec![award],
            None => awards.iter().collect(),
        };
        for supplier in from
            .iter()
            .filter_map(|a| a.get("suppliers").and_then(Value::as_array))
            .flatten()
        {
            if let Some(id) = supplier.get("id").and_then(Value::as_str) {
                ids.push(id.to_owned());
            }
            if let Some(name) = supplier.get("name").and_then(Value::as_str) {
                names.push(name.to_owned());
            }
        }
        (ids, names)
    };
    let facts = |contract_id: &str,
                 entry: &Value,
                 award: Option<&Value>,
                 period: &str,
                 value: Option<i64>| {
        let (supplier_org_ids, supplier_names) = suppliers(award);
        crate::reconcile::ContractFacts {
            ocid: ocid.to_owned(),
            contract_id: contract_id.to_owned(),
            buyer_org_ids: buyers.to_vec(),
            supplier_org_ids,
            supplier_names,
            start: date(entry, &format!("{period}/startDate")),
            end: date(entry, &format!("{period}/endDate")),
            value_pence: value,
        }
    };
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if signed.is_empty() {
        return awards
            .iter()
            .map(|a| {
                facts(
                    &text(a, "id"),
                    a,
                    Some(a),
                    "/contractPeriod",
                    a.get("value").and_then(gbp_pence),
                )
            })
            .collect();
    }
    signed
        .iter()
        .map(|c| {
            let award_id = text(c, "awardID");
            let award = awards.iter().find(|a| text(a, "id") == award_id);
            facts(
                &text(c, "id"),
                c,
                award,
                "/period",
                c.get("value").and_then(gbp_pence),
            )
        })
        .collect()
}

/// An OCDS `Value` in pence, when it is in pounds (a missing currency is taken as GBP).
fn gbp_pence(value: &serde_json::Value) -> Option<i64> {
    use serde_json::Value;
    let currency = value
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or("GBP");
    let amount = value.get("amount").and_then(Value::as_f64)?;
    (currency == "GBP").then(|| (amount * 100.0).round() as i64)
}

/// The value of a process's contracts in pence (GBP ones; its awards' before a contract is
/// signed), or `None` when none is published.
pub fn contract_value_pence(compiled: &serde_json::Value) -> Option<i64> {
    ["contracts", "awards"].iter().find_map(|key| {
        let values: Vec<i64> = compiled
            .get(*key)?
            .as_array()?
            .iter()
            .filter_map(|entry| entry.get("value").and_then(gbp_pence))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    })
}

/// A contract's payments (linked spend lines), oldest first, each with how it was linked.
pub fn contract_payments(
    conn: &mut DbConnection,
    ocid: &str,
) -> QueryResult<Vec<(SpendTransaction, SpendLink)>> {
    use crate::schema::spend_links;
    spend_transactions::table
        .inner_join(spend_links::table)
        .filter(spend_links::ocid.eq(ocid))
        .order((
            spend_transactions::payment_date.asc(),
            spend_transactions::id.asc(),
        ))
        .select((
            SpendTransaction::as_select(),
            (
                spend_links::ocid,
                spend_links::contract_id,
                spend_links::method,
                spend_links::confidence,
            ),
        ))
        .load(conn)
}
