//! Which contract a 360Giving grant was made under: `grant_links`, recomputed for one funder
//! at a time by the rule spend uses ([`crate::reconcile`]), with the funder as the buyer and
//! the recipient as the supplier.
//!
//! The recipient is recognised by org-id first: its id and the ids its charity and company
//! numbers give ([`equivalent_ids`]; 360Giving publishes org-ids, a council's contract may name
//! the same charity by its company number), each tried in that order; then by normalised name
//! for contracts that list no supplier ids. The grant's award date must fall in the contract
//! period (with [`Tolerance`]'s margins) and its amount be plausible for the contract's value.
//! A grant to an individual is never linked by name (it has none) and its anonymised id matches
//! no contract.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    audit::now,
    db::DbConnection,
    org_ids::{equivalent_ids, normalise_org_id},
    reconcile::{ContractIndex, Link, PaymentFacts, Tolerance},
    schema::{grant_links, grants},
};

/// Links per multi-row insert.
const CHUNK: usize = 500;

/// What [`relink_grants`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantLinkStats {
    pub grants: u64,
    pub linked: u64,
    pub contracts: u64,
}

/// The org-ids a stored grant's recipient is known by: its id, then those of the charity and
/// company numbers in the stored 360Giving body.
fn recipient_ids(recipient_id: &str, body: &str) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let org = body.pointer("/recipientOrganization/0");
    let field = |key: &str| {
        org.and_then(|o| o.get(key)).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    equivalent_ids(
        recipient_id,
        field("charityNumber").as_deref(),
        field("companyNumber").as_deref(),
    )
}

/// The best link of one grant: each of the recipient's org-ids in turn, else (none is an
/// org-id) its name alone.
fn link_grant(
    index: &ContractIndex,
    facts: PaymentFacts,
    ids: Vec<String>,
    tolerance: &Tolerance,
) -> Option<Link> {
    if ids.is_empty() {
        return index.link(&facts, tolerance);
    }
    ids.into_iter().find_map(|id| {
        index.link(
            &PaymentFacts {
                supplier_org_id: Some(id),
                ..facts.clone()
            },
            tolerance,
        )
    })
}

/// Recomputes the contract links of every grant of `funder` (an org-id) in one transaction:
/// old links go, new ones come. Run it after importing grants.
pub fn relink_grants(
    conn: &mut DbConnection,
    funder: &str,
) -> Result<GrantLinkStats, diesel::result::Error> {
    let buyer = normalise_org_id(funder).unwrap_or_else(|| funder.to_owned());
    conn.transaction(|conn| {
        let contracts = crate::spend::contracts_of(conn, &buyer)?;
        let index = ContractIndex::new(&contracts);
        type Row = (
            i64,
            NaiveDate,
            i64,
            String,
            String,
            Option<String>,
            bool,
            String,
        );
        let rows: Vec<Row> = grants::table
            .filter(grants::funder_org_id.eq(funder))
            .select((
                grants::id,
                grants::award_date,
                grants::amount_awarded_pence,
                grants::currency,
                grants::recipient_org_id,
                grants::recipient_name,
                grants::recipient_is_individual,
                grants::body,
            ))
            .load(conn)?;
        diesel::delete(
            grant_links::table.filter(
                grant_links::grant_row_id.eq_any(
                    grants::table
                        .filter(grants::funder_org_id.eq(funder))
                        .select(grants::id),
                ),
            ),
        )
        .execute(conn)?;
        let tolerance = Tolerance::default();
        let mut stats = GrantLinkStats {
            grants: rows.len() as u64,
            contracts: contracts.len() as u64,
            ..GrantLinkStats::default()
        };
        let links: Vec<Link> = rows
            .into_iter()
            // Contract values are read in pounds only: a grant in another currency is not
            // compared with them.
            .filter(|row| row.3 == "GBP")
            .filter(|row| !row.6)
            .filter_map(|(id, date, amount_pence, _, recipient, name, _, body)| {
                let ids = recipient_ids(&recipient, &body);
                let facts = PaymentFacts {
                    id,
                    publisher_org_id: buyer.clone(),
                    supplier_org_id: None,
                    supplier_name: name,
                    date,
                    amount_pence,
                };
                link_grant(&index, facts, ids, &tolerance)
            })
            .collect();
        stats.linked = links.len() as u64;
        let linked_at = now();
        for chunk in links.chunks(CHUNK) {
            let values: Vec<_> = chunk
                .iter()
                .map(|l| {
                    (
                        grant_links::grant_row_id.eq(l.payment_id),
                        grant_links::ocid.eq(&l.ocid),
                        grant_links::contract_id.eq(&l.contract_id),
                        grant_links::method.eq(l.method.code()),
                        grant_links::confidence.eq(l.confidence),
                        grant_links::linked_at.eq(linked_at),
                    )
                })
                .collect();
            // Multi-row inserts run on the inner connection (rust-stack.md, pitfall 2).
            let query = diesel::insert_into(grant_links::table).values(values);
            match conn {
                DbConnection::Postgresql(c) => query.execute(c)?,
                DbConnection::Sqlite(c) => query.execute(c)?,
            };
        }
        Ok(stats)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipient_is_known_by_its_id_and_its_charity_and_company_numbers() {
        let body = r#"{"recipientOrganization":[{"id":"GB-CHC-1146179","charityNumber":"1146179","companyNumber":"7962245"}]}"#;
        assert_eq!(
            recipient_ids("GB-CHC-1146179", body),
            ["GB-CHC-1146179", "GB-COH-07962245"]
        );
        // A 360Giving-assigned id is an org-id of its own list: it matches only itself.
        assert_eq!(
            recipient_ids("360G-trafford-be_active", "{}"),
            ["360G-trafford-be_active"]
        );
    }
}
