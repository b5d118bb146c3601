//! Council payments and 360Giving grants linked to contracts (`spend_links`, `grant_links`),
//! shown as OCDS 1.1 `Transaction`s in `contracts[].implementation.transactions` of the
//! compiled records the register serves.
//!
//! Records are compiled from releases, which are the source of truth; links change whenever
//! spend or grants are imported or contracts change. So the transactions are not stored in
//! `records.compiled_release` but added when a record is read: [`Transactions::load`] looks up
//! the links of a batch of ocids (one query for payments and one for grants, whatever the
//! batch's size), and [`Transactions::apply_text`] adds them to each compiled release. A
//! record with no link is passed through untouched (not even parsed).
//!
//! Each transaction:
//! - `id`: `spend-{publisher}-{first 12 hex digits of the line's row hash}` for a payment,
//!   `grant-{360Giving grant id}` for a grant: stable across re-imports and relinks;
//! - `source`: the run that imported it (`{base}/api/v1/sync/runs/{run_id}`, whose quality
//!   report names the file);
//! - `date`, `value` (pounds exact from pence; the grant's currency);
//! - `payer`: the publisher (or funder) as an `OrganizationReference`, named as in the
//!   record's `parties` when it is one of them;
//! - `payee`: the supplier (or recipient) with its name and, when known, its org-id (a payment
//!   matched by name to a contract whose award has one supplier takes that supplier's id).
//!   Never a redacted name or an individual: such a payee is left out;
//! - `uri` (payments): the contract's spend, `{base}/api/v1/contracts/{ocid}/spend`;
//! - `reconciliation` (our extension): what kind of line, how it was matched, the confidence,
//!   and the file and position it was imported from.
//!
//! A link names the contract by `contracts[].id`. Before a contract is signed the matcher
//! links to an award (`awards[].id`, see [`crate::spend`]); OCDS has transactions only on
//! contracts, and adding a contract the publisher never published would misstate its data, so
//! such links are not shown in the record (they are in `GET /api/v1/contracts/{ocid}/spend`).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::{
    db::DbConnection,
    org_ids::{is_individual_marker, normalise_org_id},
    schema::{grant_links, grants, spend_links, spend_transactions},
};

/// Ocids per `IN (...)`.
const OCID_CHUNK: usize = 500;

/// What kind of line a transaction comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Spend,
    Grant,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Spend => "spend",
            Kind::Grant => "grant",
        }
    }
}

/// One linked payment or grant, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    pub contract_id: String,
    pub kind: Kind,
    pub id: String,
    pub run_id: Option<i64>,
    pub date: NaiveDate,
    pub amount_pence: i64,
    pub currency: String,
    pub payer_id: String,
    /// The paying body's name as the file gave it (a fallback for the record's parties).
    pub payer_name: Option<String>,
    pub payee_id: Option<String>,
    /// None when redacted or an individual.
    pub payee_name: Option<String>,
    pub method: String,
    pub confidence: f64,
    pub source_file: String,
    pub position: String,
}

/// The linked payments and grants of a batch of records, by ocid.
#[derive(Debug, Default)]
pub struct Transactions {
    by_ocid: HashMap<String, Vec<Linked>>,
}

type SpendRow = (
    String,
    String,
    String,
    f64,
    String,
    Vec<u8>,
    Option<i64>,
    NaiveDate,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
);

type GrantRow = (
    String,
    String,
    String,
    f64,
    String,
    Option<i64>,
    NaiveDate,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    String,
    String,
);

impl Transactions {
    /// The links of `ocids`: one query for payments and one for grants per 500 ocids.
    pub fn load(conn: &mut DbConnection, ocids: &[&str]) -> QueryResult<Self> {
        let mut by_ocid: HashMap<String, Vec<Linked>> = HashMap::new();
        for chunk in ocids.chunks(OCID_CHUNK) {
            let payments: Vec<SpendRow> = spend_links::table
                .inner_join(spend_transactions::table)
                .filter(spend_links::ocid.eq_any(chunk))
                .order((
                    spend_transactions::payment_date.asc(),
                    spend_transactions::id.asc(),
                ))
                .select((
                    spend_links::ocid,
                    spend_links::contract_id,
                    spend_links::method,
                    spend_links::confidence,
                    spend_transactions::publisher_org_id,
                    spend_transactions::row_key,
                    spend_transactions::run_id,
                    spend_transactions::payment_date,
                    spend_transactions::amount_pence,
                    spend_transactions::supplier_name,
                    spend_transactions::supplier_id,
                    spend_transactions::body_name,
                    spend_transactions::source_file,
                    spend_transactions::line,
                ))
                .load(conn)?;
            for (
                ocid,
                contract_id,
                method,
                confidence,
                publisher,
                row_key,
                run_id,
                date,
                amount_pence,
                supplier_name,
                supplier_id,
                body_name,
                source_file,
                line,
            ) in payments
            {
                // The key is the row hash's first 128 bits: 6 bytes are its first 12 hex digits.
                let hash = crate::digest::hex(row_key.get(..6).unwrap_or(&row_key));
                by_ocid.entry(ocid).or_default().push(Linked {
                    contract_id,
                    kind: Kind::Spend,
                    id: format!("spend-{publisher}-{hash}"),
                    run_id,
                    date,
                    amount_pence,
                    currency: "GBP".to_owned(),
                    payer_id: publisher,
                    payer_name: body_name,
                    payee_id: supplier_id.as_deref().and_then(normalise_org_id),
                    payee_name: supplier_name.filter(|n| !is_individual_marker(n)),
                    method,
                    confidence,
                    source_file,
                    position: format!("line {line}"),
                });
            }
            let awarded: Vec<GrantRow> = grant_links::table
                .inner_join(grants::table)
                .filter(grant_links::ocid.eq_any(chunk))
                .order((grants::award_date.asc(), grants::id.asc()))
                .select((
                    grant_links::ocid,
                    grant_links::contract_id,
                    grant_links::method,
                    grant_links::confidence,
                    grants::grant_id,
                    grants::run_id,
                    grants::award_date,
                    grants::amount_awarded_pence,
                    grants::currency,
                    grants::funder_org_id,
                    grants::funder_name,
                    grants::recipient_org_id,
                    grants::recipient_name,
                    grants::recipient_is_individual,
                    grants::source_file,
                    grants::position,
                ))
                .load(conn)?;
            for (
                ocid,
                contract_id,
                method,
                confidence,
                grant_id,
                run_id,
                date,
                amount_pence,
                currency,
                funder_id,
                funder_name,
                recipient_id,
                recipient_name,
                individual,
                source_file,
                position,
            ) in awarded
            {
                by_ocid.entry(ocid).or_default().push(Linked {
                    contract_id,
                    kind: Kind::Grant,
                    id: format!("grant-{grant_id}"),
                    run_id,
                    date,
                    amount_pence,
                    currency,
                    payer_id: funder_id,
                    payer_name: Some(funder_name),
                    payee_id: (!individual).then_some(recipient_id),
                    payee_name: recipient_name.filter(|n| !individual && !is_individual_marker(n)),
                    method,
                    confidence,
                    source_file,
                    position,
                });
            }
        }
        Ok(Self { by_ocid })
    }

    /// The links of one ocid, payments then grants, each oldest first.
    pub fn of(&self, ocid: &str) -> &[Linked] {
        self.by_ocid.get(ocid).map_or(&[], Vec::as_slice)
    }

    /// `compiled` (a stored compiled release's text) with the transactions of `ocid` added;
    /// the same text, unparsed, when it has none.
    pub fn apply_text(
        &self,
        ocid: &str,
        compiled: String,
        base_url: &str,
    ) -> Result<String, serde_json::Error> {
        let linked = self.of(ocid);
        if linked.is_empty() {
            return Ok(compiled);
        }
        let mut value: Value = serde_json::from_str(&compiled)?;
        if !add(&mut value, ocid, linked, base_url) {
            return Ok(compiled);
        }
        serde_json::to_string(&value)
    }

    /// Adds the transactions of `ocid` to the parsed compiled release; whether any was added.
    pub fn apply(&self, ocid: &str, compiled: &mut Value, base_url: &str) -> bool {
        add(compiled, ocid, self.of(ocid), base_url)
    }

    /// The links of one ocid, taken out (for a caller that parses the record anyway and adds
    /// them with [`add`]).
    pub fn take(&mut self, ocid: &str) -> Vec<Linked> {
        self.by_ocid.remove(ocid).unwrap_or_default()
    }
}

/// How many links there are and when they last changed: part of the freshness of anything
/// that shows them (records, downloads).
pub fn links_version(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    use diesel::dsl::max;
    let spend: i64 = spend_links::table.count().get_result(conn)?;
    let grant: i64 = grant_links::table.count().get_result(conn)?;
    let spend_at: Option<NaiveDateTime> = spend_links::table
        .select(max(spend_links::linked_at))
        .first(conn)?;
    let grant_at: Option<NaiveDateTime> = grant_links::table
        .select(max(grant_links::linked_at))
        .first(conn)?;
    Ok((spend + grant, spend_at.max(grant_at)))
}

/// Pounds (or other units) exact from pence, as a JSON number: 123450 is `1234.50`.
pub fn pounds(pence: i64) -> serde_json::Number {
    let sign = if pence < 0 { "-" } else { "" };
    let abs = pence.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
        .parse()
        .unwrap_or_else(|_| serde_json::Number::from(0))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The record's party with this org-id (compared normalised), as `(id, name)`.
fn party(compiled: &Value, org_id: &str) -> Option<(String, Option<String>)> {
    let wanted = normalise_org_id(org_id)?;
    compiled
        .get("parties")?
        .as_array()?
        .iter()
        .find(|p| {
            p.get("id")
                .and_then(text)
                .and_then(|id| normalise_org_id(&id))
                .is_some_and(|id| id == wanted)
        })
        .map(|p| {
            (
                p.get("id").and_then(text).unwrap_or_default(),
                p.get("name").and_then(Value::as_str).map(str::to_owned),
            )
        })
}

/// The id of the only supplier of the award of `contract`, if it has exactly one with an id.
fn only_supplier_id(compiled: &Value, contract: &Value) -> Option<String> {
    let award_id = contract.get("awardID").and_then(text)?;
    let award = compiled
        .get("awards")?
        .as_array()?
        .iter()
        .find(|a| a.get("id").and_then(text).as_deref() == Some(award_id.as_str()))?;
    match award.get("suppliers")?.as_array()?.as_slice() {
        [one] => one.get("id").and_then(text),
        _ => None,
    }
}

fn reference(id: Option<String>, name: Option<String>) -> Value {
    let mut org = Map::new();
    if let Some(id) = id {
        org.insert("id".into(), Value::String(id));
    }
    if let Some(name) = name {
        org.insert("name".into(), Value::String(name));
    }
    Value::Object(org)
}

/// The OCDS transaction of a link, placed on `contract` of `compiled`.
fn transaction(
    compiled: &Value,
    contract: &Value,
    ocid: &str,
    l: &Linked,
    base_url: &str,
) -> Value {
    let mut t = Map::new();
    t.insert("id".into(), json!(l.id));
    if let Some(run) = l.run_id {
        t.insert(
            "source".into(),
            json!(format!("{base_url}/api/v1/sync/runs/{run}")),
        );
    }
    t.insert("date".into(), json!(format!("{}T00:00:00Z", l.date)));
    t.insert(
        "value".into(),
        json!({"amount": pounds(l.amount_pence), "currency": l.currency}),
    );
    let (payer_id, payer_name) = party(compiled, &l.payer_id)
        .map(|(id, name)| (id, name.or_else(|| l.payer_name.clone())))
        .unwrap_or_else(|| (l.payer_id.clone(), l.payer_name.clone()));
    t.insert("payer".into(), reference(Some(payer_id), payer_name));
    if let Some(name) = &l.payee_name {
        let id = l.payee_id.clone().or_else(|| match l.kind {
            // Matched by name to this contract: the payee is its award's supplier.
            Kind::Spend => only_supplier_id(compiled, contract),
            Kind::Grant => None,
        });
        t.insert("payee".into(), reference(id, Some(name.clone())));
    }
    if l.kind == Kind::Spend {
        t.insert(
            "uri".into(),
            json!(format!("{base_url}/api/v1/contracts/{ocid}/spend")),
        );
    }
    t.insert(
        "reconciliation".into(),
        json!({
            "kind": l.kind.code(),
            "method": l.method,
            "confidence": l.confidence,
            "sourceFile": l.source_file,
            "sourcePosition": l.position,
        }),
    );
    Value::Object(t)
}

/// Adds `linked` to the matching `contracts[]` entries; whether any was added. A transaction
/// the record already has (same id) is not added twice.
pub fn add(compiled: &mut Value, ocid: &str, linked: &[Linked], base_url: &str) -> bool {
    let Some(count) = compiled
        .get("contracts")
        .and_then(Value::as_array)
        .map(Vec::len)
    else {
        return false;
    };
    let mut added = false;
    for i in 0..count {
        let contract = &compiled["contracts"][i];
        let Some(contract_id) = contract.get("id").and_then(text) else {
            continue;
        };
        let new: Vec<Value> = linked
            .iter()
            .filter(|l| l.contract_id == contract_id)
            .map(|l| transaction(compiled, contract, ocid, l, base_url))
            .collect();
        if new.is_empty() {
            continue;
        }
        let Some(entry) = compiled["contracts"][i].as_object_mut() else {
            continue;
        };
        let implementation = entry
            .entry("implementation")
            .or_insert_with(|| Value::Object(Map::new()));
        if implementation.is_null() {
            *implementation = Value::Object(Map::new());
        }
        let Some(implementation) = implementation.as_object_mut() else {
            continue;
        };
        let list = implementation
            .entry("transactions")
            .or_insert_with(|| Value::Array(Vec::new()));
        if list.is_null() {
            *list = Value::Array(Vec::new());
        }
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        for t in new {
            if !list.iter().any(|old| old.get("id") == t.get("id")) {
                list.push(t);
                added = true;
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(contract_id: &str, kind: Kind) -> Linked {
        Linked {
            contract_id: contract_id.to_owned(),
            kind,
            id: "spend-GB-LAE-DEV-0123456789ab".to_owned(),
            run_id: Some(7),
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            amount_pence: 639_000,
            currency: "GBP".to_owned(),
            payer_id: "GB-LAE-DEV".to_owned(),
            payer_name: Some("Devon CC".to_owned()),
            payee_id: None,
            payee_name: Some("SOUTHWEST INTERVENTION SERVICES".to_owned()),
            method: "supplier_name".to_owned(),
            confidence: 0.8,
            source_file: "march.csv".to_owned(),
            position: "line 5".to_owned(),
        }
    }

    fn record() -> Value {
        json!({
            "ocid": "ocds-x-1",
            "parties": [{"id": "GB-LAE-DEV", "name": "Devon County Council"}],
            "awards": [
                {"id": "A1", "suppliers": [{"id": "GB-COH-00000001", "name": "Southwest"}]},
                {"id": "A2", "suppliers": []}
            ],
            "contracts": [{"id": "C1", "awardID": "A1"}, {"id": 2, "implementation": null}]
        })
    }

    #[test]
    fn a_payment_becomes_an_ocds_transaction_on_its_contract() {
        let mut compiled = record();
        let linked = [linked("C1", Kind::Spend), linked("A2", Kind::Spend)];
        assert!(add(&mut compiled, "ocds-x-1", &linked, "https://r.example"));
        let expected: Value = serde_json::from_str(
            r#"[{
                "id": "spend-GB-LAE-DEV-0123456789ab",
                "source": "https://r.example/api/v1/sync/runs/7",
                "date": "2026-03-02T00:00:00Z",
                "value": {"amount": 6390.00, "currency": "GBP"},
                "payer": {"id": "GB-LAE-DEV", "name": "Devon County Council"},
                "payee": {"id": "GB-COH-00000001", "name": "SOUTHWEST INTERVENTION SERVICES"},
                "uri": "https://r.example/api/v1/contracts/ocds-x-1/spend",
                "reconciliation": {
                    "kind": "spend", "method": "supplier_name", "confidence": 0.8,
                    "sourceFile": "march.csv", "sourcePosition": "line 5"
                }
            }]"#,
        )
        .unwrap();
        assert_eq!(
            compiled["contracts"][0]["implementation"]["transactions"],
            expected
        );
        assert_eq!(
            compiled["contracts"][0]["implementation"]["transactions"][0]["value"]["amount"]
                .to_string(),
            "6390.00",
            "exact pounds"
        );
        // The award-only link is not shown; the other contract is untouched.
        assert_eq!(compiled["contracts"][1]["implementation"], Value::Null);
        // Applying again adds nothing twice.
        assert!(!add(
            &mut compiled,
            "ocds-x-1",
            &linked,
            "https://r.example"
        ));
    }

    #[test]
    fn numeric_contract_ids_match_and_unnamed_payees_are_left_out() {
        let mut compiled = record();
        let mut grant = linked("2", Kind::Grant);
        grant.payee_name = None;
        grant.run_id = None;
        grant.amount_pence = -5;
        assert!(add(&mut compiled, "ocds-x-1", &[grant], "http://x"));
        let t = &compiled["contracts"][1]["implementation"]["transactions"][0];
        assert!(t.get("payee").is_none() && t.get("source").is_none() && t.get("uri").is_none());
        assert_eq!(t["value"]["amount"].to_string(), "-0.05");
        assert_eq!(t["reconciliation"]["kind"], "grant");
    }

    #[test]
    fn records_without_links_are_not_parsed() {
        let none = Transactions::default();
        let text = "not even json".to_owned();
        assert_eq!(none.apply_text("o", text.clone(), "x").unwrap(), text);
    }
}
