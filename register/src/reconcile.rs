//! Spend-to-contract reconciliation: which contract in the register a council's payment was
//! made under. Pure and deterministic, no I/O: build a [`ContractIndex`] once from the
//! contracts, then ask it for the [`Link`] of each payment.
//!
//! # The matching rule (published)
//!
//! A payment links to a contract only when all of these hold.
//!
//! **Same buyer.** The payment's publisher is one of the contract's buyer org-ids (the buyer
//! and its partners). Both sides go through [`normalise_org_id`]; an id that does not normalise
//! (an unreadable id of a known list, free text) matches nothing, as in
//! [`crate::org_ids`].
//!
//! **Same supplier**, in this order:
//! 1. *org-id*: the payment's supplier org-id, normalised, equals one of the contract's
//!    supplier org-ids → [`Method::SupplierId`].
//! 2. *name*: one of the payment's supplier name keys ([`name_keys`]: case, punctuation,
//!    `Ltd`/`Limited`, a leading "The" do not matter) equals the first key of one of the
//!    contract's supplier names (its legal name) → [`Method::SupplierName`], or a later key
//!    (a trading name after `t/a`, `trading as`) → [`Method::TradingName`]. Names are compared
//!    whole: "Acme Fostering Ltd" is not "Acme Foster Care Ltd". When the payment carries a
//!    supplier org-id and the contract lists supplier org-ids, the ids decide and a name match
//!    is not considered: the ids either agree (rule 1) or say the suppliers differ.
//!
//! A payment with no supplier name (redacted) or with a redaction note for a name
//! ([`crate::org_ids::is_individual_marker`]) is never matched by name, so without an org-id
//! it never links.
//!
//! **Date.** The payment date lies in `[start - before_start_days, end + after_end_days]`
//! ([`Tolerance`], defaults 30 and 90 days: invoices are paid after the service ends more
//! often than before it starts). A missing start or end leaves that side open; a date outside
//! the window is no link.
//!
//! **Amount.** A payment whose absolute amount exceeds `max_payment_share` (default 1.1) times
//! the contract value is not under that contract. Negative payments (credit notes) link like
//! any other. A value of zero or less counts as unknown.
//!
//! **Confidence**, in hundredths then divided by 100 and kept in `[0, 1]`: a base of 0.95 for
//! an org-id match, 0.8 for a legal name, 0.7 for a trading name, then
//! * -0.2 when the contract has neither start nor end date, -0.1 when it has only one;
//! * -0.1 when the date is in a tolerance margin rather than inside the period;
//! * -0.05 when the contract value is unknown;
//! * when several contracts of the buyer fit the payment, every one of them loses 0.15 if more
//!   than one contains the date in its period, else 0.05.
//!
//! Candidates are ordered by confidence, then a period that contains the date, then the
//! nearest start date, then ocid and contract id; [`ContractIndex::link`] is the first.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::org_ids::{is_individual_marker, name_keys, normalise_org_id};

/// What a contract says about itself, for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractFacts {
    pub ocid: String,
    pub contract_id: String,
    /// The buyer and its partners, as org-ids.
    pub buyer_org_ids: Vec<String>,
    pub supplier_org_ids: Vec<String>,
    /// As published, trading names included (`ACME LTD T/A Happy Kids`).
    pub supplier_names: Vec<String>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub value_pence: Option<i64>,
}

/// One council spend line.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentFacts {
    pub id: i64,
    pub publisher_org_id: String,
    /// Rarely published.
    pub supplier_org_id: Option<String>,
    /// None when redacted: such a payment is never matched by name.
    pub supplier_name: Option<String>,
    pub date: NaiveDate,
    pub amount_pence: i64,
}

/// How the supplier of a payment was recognised as the contract's supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    SupplierId,
    SupplierName,
    TradingName,
}

impl Method {
    /// The name stored with a link (as serialised).
    pub fn code(self) -> &'static str {
        match self {
            Method::SupplierId => "supplier_id",
            Method::SupplierName => "supplier_name",
            Method::TradingName => "trading_name",
        }
    }

    fn base_points(self) -> i32 {
        match self {
            Method::SupplierId => 95,
            Method::SupplierName => 80,
            Method::TradingName => 70,
        }
    }
}

/// A payment attributed to a contract, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub payment_id: i64,
    pub ocid: String,
    pub contract_id: String,
    pub method: Method,
    /// In `[0, 1]`.
    pub confidence: f64,
    pub reasons: Vec<String>,
}

/// How far the published facts may be stretched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub before_start_days: i64,
    pub after_end_days: i64,
    /// A single payment above this share of the contract value is implausible.
    pub max_payment_share: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            before_start_days: 30,
            after_end_days: 90,
            max_payment_share: 1.1,
        }
    }
}

const MARGIN_PENALTY: i32 = 10;
const ONE_DATE_PENALTY: i32 = 10;
const NO_DATES_PENALTY: i32 = 20;
const NO_VALUE_PENALTY: i32 = 5;
const SEVERAL_INSIDE_PENALTY: i32 = 15;
const SEVERAL_FIT_PENALTY: i32 = 5;

struct Entry {
    ocid: String,
    contract_id: String,
    supplier_ids: Vec<String>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    value_pence: Option<i64>,
}

/// One buyer's contracts by supplier identity. Nested under the buyer so that a lookup
/// borrows the payment's keys instead of building a composite key per payment.
#[derive(Default)]
struct BuyerIndex {
    by_id: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<(usize, Method)>>,
}

/// An index of contracts by (buyer, supplier identity) built once, then queried per payment:
/// linking 1M payments against 100k contracts must take well under a minute on 2 cores, so
/// no all-pairs comparison. A query touches only the contracts of the payment's buyer with
/// the payment's supplier.
pub struct ContractIndex {
    entries: Vec<Entry>,
    buyers: HashMap<String, BuyerIndex>,
}

fn org_key(text: &str) -> Option<String> {
    normalise_org_id(text)
}

fn sorted_unique(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Name keys of a contract's suppliers; a key that is a legal name anywhere counts as one,
/// since that is the stronger claim.
fn contract_name_keys(names: &[String]) -> Vec<(String, Method)> {
    let mut keys: Vec<(String, Method)> = Vec::new();
    for name in names.iter().filter(|n| !is_individual_marker(n)) {
        for (position, key) in name_keys(name).into_iter().enumerate() {
            let method = if position == 0 {
                Method::SupplierName
            } else {
                Method::TradingName
            };
            match keys.iter_mut().find(|(k, _)| *k == key) {
                Some(found) if method == Method::SupplierName => found.1 = method,
                Some(_) => {}
                None => keys.push((key, method)),
            }
        }
    }
    keys
}

struct Assessment {
    entry: usize,
    method: Method,
    points: i32,
    inside: bool,
    start_distance: i64,
    reasons: Vec<String>,
}

impl ContractIndex {
    pub fn new(contracts: &[ContractFacts]) -> Self {
        let mut entries = Vec::with_capacity(contracts.len());
        let mut buyers: HashMap<String, BuyerIndex> = HashMap::new();
        for (i, contract) in contracts.iter().enumerate() {
            let supplier_ids = sorted_unique(
                contract
                    .supplier_org_ids
                    .iter()
                    .filter_map(|id| org_key(id))
                    .collect(),
            );
            let names = contract_name_keys(&contract.supplier_names);
            let buyer_ids = sorted_unique(
                contract
                    .buyer_org_ids
                    .iter()
                    .filter_map(|id| org_key(id))
                    .collect(),
            );
            for buyer in buyer_ids {
                let index = buyers.entry(buyer).or_default();
                for id in &supplier_ids {
                    index.by_id.entry(id.clone()).or_default().push(i);
                }
                for (key, method) in &names {
                    index
                        .by_name
                        .entry(key.clone())
                        .or_default()
                        .push((i, *method));
                }
            }
            entries.push(Entry {
                ocid: contract.ocid.clone(),
                contract_id: contract.contract_id.clone(),
                supplier_ids,
                start: contract.start,
                end: contract.end,
                value_pence: contract.value_pence.filter(|v| *v > 0),
            });
        }
        Self { entries, buyers }
    }

    /// The best link for the payment, or None.
    pub fn link(&self, payment: &PaymentFacts, tolerance: &Tolerance) -> Option<Link> {
        self.candidates(payment, tolerance).into_iter().next()
    }

    /// Every contract the payment plausibly belongs to, best first.
    pub fn candidates(&self, payment: &PaymentFacts, tolerance: &Tolerance) -> Vec<Link> {
        let Some(index) = org_key(&payment.publisher_org_id).and_then(|b| self.buyers.get(&b))
        else {
            return Vec::new();
        };
        let supplier_id = payment.supplier_org_id.as_deref().and_then(org_key);
        let keys = payment
            .supplier_name
            .as_deref()
            .filter(|name| !is_individual_marker(name))
            .map(name_keys)
            .unwrap_or_default();

        let mut found: Vec<(usize, Method, String)> = Vec::new();
        if let Some(id) = &supplier_id
            && let Some(list) = index.by_id.get(id)
        {
            found.extend(
                list.iter()
                    .map(|&i| (i, Method::SupplierId, format!("supplier org-id {id}"))),
            );
        }
        for key in &keys {
            for &(i, method) in index.by_name.get(key).into_iter().flatten() {
                if supplier_id.is_some() && !self.entries[i].supplier_ids.is_empty() {
                    continue;
                }
                let what = match method {
                    Method::TradingName => "supplier trading name",
                    _ => "supplier name",
                };
                found.push((i, method, format!("{what} \"{key}\"")));
            }
        }
        found.sort_by_key(|(i, method, _)| (*i, -method.base_points()));
        found.dedup_by_key(|(i, _, _)| *i);

        let mut assessed: Vec<Assessment> = found
            .into_iter()
            .filter_map(|(i, method, identity)| {
                self.assess(i, method, identity, payment, tolerance)
            })
            .collect();

        let inside = assessed.iter().filter(|a| a.inside).count();
        let ambiguity = if inside > 1 {
            Some((
                SEVERAL_INSIDE_PENALTY,
                format!("{inside} contracts contain the payment date"),
            ))
        } else if assessed.len() > 1 {
            Some((
                SEVERAL_FIT_PENALTY,
                format!("{} contracts fit the payment", assessed.len()),
            ))
        } else {
            None
        };
        if let Some((penalty, reason)) = ambiguity {
            for a in &mut assessed {
                a.points -= penalty;
                a.reasons.push(reason.clone());
            }
        }

        assessed.sort_by(|a, b| {
            let (ea, eb) = (&self.entries[a.entry], &self.entries[b.entry]);
            b.points
                .cmp(&a.points)
                .then(b.inside.cmp(&a.inside))
                .then(a.start_distance.cmp(&b.start_distance))
                .then_with(|| ea.ocid.cmp(&eb.ocid))
                .then_with(|| ea.contract_id.cmp(&eb.contract_id))
        });
        assessed
            .into_iter()
            .map(|a| {
                let entry = &self.entries[a.entry];
                Link {
                    payment_id: payment.id,
                    ocid: entry.ocid.clone(),
                    contract_id: entry.contract_id.clone(),
                    method: a.method,
                    confidence: f64::from(a.points.clamp(0, 100)) / 100.0,
                    reasons: a.reasons,
                }
            })
            .collect()
    }

    /// The date and amount rules for one supplier-matched contract; None when either fails.
    fn assess(
        &self,
        i: usize,
        method: Method,
        identity: String,
        payment: &PaymentFacts,
        tolerance: &Tolerance,
    ) -> Option<Assessment> {
        let entry = &self.entries[i];
        let date = payment.date;
        let mut points = method.base_points();
        let mut reasons = vec![format!("same buyer; {identity}")];

        let since_start = entry.start.map(|s| (date - s).num_days());
        let after_end = entry.end.map(|e| (date - e).num_days());
        let before_allowed = tolerance.before_start_days.max(0);
        let after_allowed = tolerance.after_end_days.max(0);
        if since_start.is_some_and(|d| d < -before_allowed)
            || after_end.is_some_and(|d| d > after_allowed)
        {
            return None;
        }
        let mut inside = false;
        match (since_start, after_end) {
            (None, None) => {
                points -= NO_DATES_PENALTY;
                reasons.push("contract has no dates".to_owned());
            }
            (Some(d), _) if d < 0 => {
                points -= MARGIN_PENALTY;
                reasons.push(format!(
                    "paid {} days before the contract start (tolerance {before_allowed})",
                    -d
                ));
            }
            (_, Some(d)) if d > 0 => {
                points -= MARGIN_PENALTY;
                reasons.push(format!(
                    "paid {d} days after the contract end (tolerance {after_allowed})"
                ));
            }
            (Some(_), Some(_)) => {
                inside = true;
                reasons.push("paid within the contract period".to_owned());
            }
            _ => {}
        }
        if since_start.is_some() != after_end.is_some() {
            points -= ONE_DATE_PENALTY;
            let missing = if since_start.is_none() {
                "start"
            } else {
                "end"
            };
            reasons.push(format!("contract has no {missing} date"));
        }

        let magnitude = payment.amount_pence.unsigned_abs() as f64;
        match entry.value_pence {
            Some(value) => {
                let share = magnitude / value as f64;
                if share > tolerance.max_payment_share {
                    return None;
                }
                reasons.push(format!("{:.1}% of the contract value", share * 100.0));
            }
            None => {
                points -= NO_VALUE_PENALTY;
                reasons.push("contract value unknown".to_owned());
            }
        }
        if payment.amount_pence < 0 {
            reasons.push("credit note".to_owned());
        }

        Some(Assessment {
            entry: i,
            method,
            points,
            inside,
            start_distance: since_start.map_or(i64::MAX, i64::abs),
            reasons,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::org_ids::normalise_name;

    const TRF: &str = "GB-LAE-TRF";

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A 2023 contract of Trafford worth £10,000.
    fn contract(ocid: &str, supplier_id: Option<&str>, name: &str) -> ContractFacts {
        ContractFacts {
            ocid: ocid.to_owned(),
            contract_id: format!("{ocid}-c1"),
            buyer_org_ids: vec![TRF.to_owned()],
            supplier_org_ids: supplier_id.into_iter().map(str::to_owned).collect(),
            supplier_names: vec![name.to_owned()],
            start: Some(day(2023, 1, 1)),
            end: Some(day(2023, 12, 31)),
            value_pence: Some(1_000_000),
        }
    }

    fn payment(id: i64, name: Option<&str>, date: NaiveDate) -> PaymentFacts {
        PaymentFacts {
            id,
            publisher_org_id: TRF.to_owned(),
            supplier_org_id: None,
            supplier_name: name.map(str::to_owned),
            date,
            amount_pence: 100_000,
        }
    }

    fn link(contracts: &[ContractFacts], payment: &PaymentFacts) -> Option<Link> {
        ContractIndex::new(contracts).link(payment, &Tolerance::default())
    }

    fn summary(links: &[Link]) -> Vec<(&str, Method, f64)> {
        links
            .iter()
            .map(|l| (l.ocid.as_str(), l.method, l.confidence))
            .collect()
    }

    #[test]
    fn id_match_beats_name_match() {
        let contracts = [
            contract("by-name", None, "Acme Ltd"),
            contract("by-id", Some("GB-COH-01234567"), "Acme Holdings Ltd"),
            contract("other-id", Some("GB-COH-09999999"), "Acme Ltd"),
        ];
        let mut p = payment(1, Some("ACME LIMITED"), day(2023, 5, 1));
        p.supplier_org_id = Some("gb coh 1234567".to_owned());
        let index = ContractIndex::new(&contracts);
        let found = index.candidates(&p, &Tolerance::default());
        // "other-id" has the name but a different company number, so it is not a candidate.
        assert_eq!(
            summary(&found),
            vec![
                ("by-id", Method::SupplierId, 0.8),
                ("by-name", Method::SupplierName, 0.65),
            ]
        );
        assert_eq!(found[0].payment_id, 1);
        assert_eq!(found[0].contract_id, "by-id-c1");
        assert_eq!(
            found[0].reasons[0],
            "same buyer; supplier org-id GB-COH-01234567"
        );

        // Without a payment id nothing contradicts the contract's own ids, so the name decides.
        p.supplier_org_id = None;
        let found = index.candidates(&p, &Tolerance::default());
        assert_eq!(
            summary(&found),
            vec![
                ("by-name", Method::SupplierName, 0.65),
                ("other-id", Method::SupplierName, 0.65),
            ]
        );
    }

    #[test]
    fn trading_name_matches_with_lower_confidence() {
        let contracts = [contract("c", None, "ACME LTD T/A Happy Kids")];
        let by_trading = link(&contracts, &payment(1, Some("Happy Kids"), day(2023, 6, 1)));
        let by_legal = link(
            &contracts,
            &payment(2, Some("Acme Limited"), day(2023, 6, 1)),
        );
        let by_both = link(
            &contracts,
            &payment(
                3,
                Some("Acme Ltd trading as The Happy Kids"),
                day(2023, 6, 1),
            ),
        );
        let by_trading = by_trading.unwrap();
        assert_eq!(by_trading.method, Method::TradingName);
        assert_eq!(by_trading.confidence, 0.7);
        assert_eq!(
            by_trading.reasons[0],
            "same buyer; supplier trading name \"happy kids\""
        );
        let by_legal = by_legal.unwrap();
        assert_eq!(
            (by_legal.method, by_legal.confidence),
            (Method::SupplierName, 0.8)
        );
        assert_eq!(by_both.unwrap().method, Method::SupplierName);
    }

    #[test]
    fn names_match_whatever_the_case_punctuation_and_legal_form() {
        let contracts = [contract("c", None, "The Children's Society Ltd")];
        for name in [
            "CHILDRENS SOCIETY LIMITED",
            "children's society ltd.",
            "The  Childrens' Society, Ltd",
        ] {
            let found = link(&contracts, &payment(1, Some(name), day(2023, 3, 3)));
            let found = found.unwrap_or_else(|| panic!("{name} not linked"));
            assert_eq!(found.ocid, "c");
            assert_eq!(
                (found.method, found.confidence),
                (Method::SupplierName, 0.8)
            );
        }
    }

    #[test]
    fn near_miss_supplier_name_is_not_linked() {
        let contracts = [contract("c", None, "Acme Foster Care Ltd")];
        let index = ContractIndex::new(&contracts);
        for name in [
            "Acme Fostering Ltd",
            "Acme Foster Care Services Ltd",
            "Acme",
        ] {
            let p = payment(1, Some(name), day(2023, 6, 1));
            assert!(
                index.candidates(&p, &Tolerance::default()).is_empty(),
                "{name}"
            );
        }
        assert_eq!(
            normalise_name("Acme Foster Care Limited"),
            normalise_name("ACME FOSTER CARE LTD")
        );
    }

    #[test]
    fn only_the_buyer_and_its_partners_link() {
        let mut shared = contract("shared", None, "Acme Ltd");
        shared.buyer_org_ids.push("GB-LAE-SFD".to_owned());
        let contracts = [contract("c", None, "Acme Ltd"), shared];
        let mut p = payment(1, Some("Acme Ltd"), day(2023, 6, 1));
        p.publisher_org_id = "GB-LAE-MAN".to_owned();
        assert_eq!(link(&contracts, &p), None);
        p.publisher_org_id = "gb lae sfd".to_owned();
        let found = link(&contracts, &p).unwrap();
        assert_eq!((found.ocid.as_str(), found.confidence), ("shared", 0.8));
        p.publisher_org_id = "not an org id".to_owned();
        assert_eq!(link(&contracts, &p), None);
    }

    #[test]
    fn payment_long_after_the_end_is_not_linked() {
        let contracts = [contract("c", None, "Acme Ltd")];
        let at = |date| link(&contracts, &payment(1, Some("Acme Ltd"), date));
        assert_eq!(at(day(2024, 7, 18)), None, "200 days after the end");
        assert_eq!(at(day(2024, 3, 31)), None, "91 days after the end");
        let last_day = at(day(2024, 3, 30)).unwrap();
        assert_eq!(last_day.confidence, 0.7);
        assert_eq!(
            last_day.reasons[1],
            "paid 90 days after the contract end (tolerance 90)"
        );
    }

    #[test]
    fn payment_in_the_start_margin_links_with_lower_confidence() {
        let contracts = [contract("c", None, "Acme Ltd")];
        let at = |date| link(&contracts, &payment(1, Some("Acme Ltd"), date));
        let margin = at(day(2022, 12, 10)).unwrap();
        let inside = at(day(2023, 1, 1)).unwrap();
        assert_eq!((margin.ocid.as_str(), margin.confidence), ("c", 0.7));
        assert_eq!(inside.confidence, 0.8);
        assert!(margin.confidence < inside.confidence);
        assert_eq!(
            margin.reasons[1],
            "paid 22 days before the contract start (tolerance 30)"
        );
        assert!(at(day(2022, 12, 2)).is_some(), "30 days before");
        assert_eq!(at(day(2022, 12, 1)), None, "31 days before");
    }

    #[test]
    fn overlapping_contracts_prefer_the_one_containing_the_date() {
        let first = contract("first", None, "Acme Ltd");
        let mut second = contract("second", None, "Acme Ltd");
        second.start = Some(day(2023, 3, 20));
        second.end = Some(day(2024, 3, 19));
        let index = ContractIndex::new(&[second, first]);
        let tolerance = Tolerance::default();

        // Inside "first", 19 days before "second" starts.
        let found = index.candidates(&payment(1, Some("Acme Ltd"), day(2023, 3, 1)), &tolerance);
        assert_eq!(
            summary(&found),
            vec![
                ("first", Method::SupplierName, 0.75),
                ("second", Method::SupplierName, 0.65),
            ]
        );
        assert_eq!(
            found[0].reasons.last().unwrap(),
            "2 contracts fit the payment"
        );

        // Inside both: the nearer start wins, and both are much less certain.
        let found = index.candidates(&payment(2, Some("Acme Ltd"), day(2023, 6, 1)), &tolerance);
        assert_eq!(
            summary(&found),
            vec![
                ("second", Method::SupplierName, 0.65),
                ("first", Method::SupplierName, 0.65),
            ]
        );
        assert_eq!(
            found[0].reasons.last().unwrap(),
            "2 contracts contain the payment date"
        );

        // Inside "second", in the after-end margin of "first".
        let found = index.link(&payment(3, Some("Acme Ltd"), day(2024, 2, 1)), &tolerance);
        assert_eq!(found.unwrap().ocid, "second");
    }

    #[test]
    fn redacted_payment_is_never_linked() {
        let contracts = [
            contract("c", None, "Acme Ltd"),
            contract("r", None, "REDACTED"),
        ];
        let index = ContractIndex::new(&contracts);
        for name in [
            None,
            Some("REDACTED"),
            Some("Redacted – personal data"),
            Some(""),
        ] {
            let p = payment(1, name, day(2023, 6, 1));
            assert!(
                index.candidates(&p, &Tolerance::default()).is_empty(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn payment_above_the_value_share_is_not_linked() {
        let contracts = [contract("c", None, "Acme Ltd")];
        let at = |amount_pence| {
            let mut p = payment(1, Some("Acme Ltd"), day(2023, 6, 1));
            p.amount_pence = amount_pence;
            link(&contracts, &p)
        };
        assert!(at(1_100_000).is_some(), "exactly 1.1 × value");
        assert_eq!(at(1_100_001), None);
        let credit = at(-500_000).unwrap();
        assert_eq!(credit.confidence, 0.8);
        assert_eq!(credit.reasons.last().unwrap(), "credit note");
        assert_eq!(at(-1_200_000), None);
    }

    #[test]
    fn missing_dates_and_value_lower_confidence() {
        let mut undated = contract("undated", None, "Acme Ltd");
        (undated.start, undated.end) = (None, None);
        let mut no_value = contract("no-value", None, "Beta Ltd");
        no_value.value_pence = None;
        let mut open_ended = contract("open", None, "Gamma Ltd");
        open_ended.end = None;
        let mut bare = contract("bare", None, "Delta Ltd T/A Kids Club");
        (bare.start, bare.end, bare.value_pence) = (None, None, Some(0));
        let index = ContractIndex::new(&[undated, no_value, open_ended, bare]);
        let confidence = |name: &str, date| {
            index
                .link(&payment(1, Some(name), date), &Tolerance::default())
                .map(|l| l.confidence)
        };
        assert_eq!(confidence("Acme Ltd", day(2010, 1, 1)), Some(0.6));
        assert_eq!(confidence("Beta Ltd", day(2023, 6, 1)), Some(0.75));
        assert_eq!(confidence("Gamma Ltd", day(2030, 1, 1)), Some(0.7));
        assert_eq!(confidence("Gamma Ltd", day(2022, 12, 1)), None);
        assert_eq!(confidence("Kids Club", day(2023, 6, 1)), Some(0.45));
    }

    #[test]
    fn defaults_and_serialised_method() {
        let tolerance = Tolerance::default();
        assert_eq!(
            (
                tolerance.before_start_days,
                tolerance.after_end_days,
                tolerance.max_payment_share
            ),
            (30, 90, 1.1)
        );
        assert_eq!(
            serde_json::to_string(&Method::TradingName).unwrap(),
            "\"trading_name\""
        );
        assert_eq!(
            serde_json::to_string(&Method::SupplierId).unwrap(),
            "\"supplier_id\""
        );
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    const PLACES: [&str; 10] = [
        "Northfield",
        "Riverside",
        "Oakwood",
        "Hillcrest",
        "Brookside",
        "Elmtree",
        "Meadow",
        "Ashford",
        "Kingsway",
        "Westgate",
    ];
    const KINDS: [&str; 5] = ["Care", "Fostering", "Homes", "Support", "Services"];

    struct Supplier {
        legal: String,
        trading: Option<String>,
        id: Option<String>,
    }

    fn spelling(name: &str, rng: &mut XorShift) -> String {
        match rng.below(4) {
            0 => name.to_uppercase(),
            1 => name.replace(" Ltd", " Limited"),
            2 => format!("The {}", name.replace(" Ltd", " Ltd.")),
            _ => name.to_lowercase(),
        }
    }

    #[test]
    fn generated_register_links_true_contracts() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let suppliers: Vec<Supplier> = (0..700)
            .map(|s| Supplier {
                legal: format!("{} {s} {} Ltd", PLACES[s % 10], KINDS[s % 5]),
                trading: (s % 3 == 0).then(|| format!("{} {s} Kids", PLACES[(s + 3) % 10])),
                id: (s % 2 == 0).then(|| format!("GB-COH-{:08}", 1_000_000 + s)),
            })
            .collect();
        let buyer = |b: usize| format!("GB-LAE-B{b:02}");

        // Contracts of one buyer and supplier follow each other with gaps longer than both
        // tolerances, so a payment inside a window has exactly one true contract.
        let mut contracts: Vec<ContractFacts> = Vec::new();
        let mut supplier_of: Vec<usize> = Vec::new();
        let mut last_of_pair: Vec<usize> = Vec::new();
        let mut pairs = HashSet::new();
        let epoch = day(2018, 1, 1);
        while contracts.len() < 2_000 {
            let (b, s) = (rng.below(20) as usize, rng.below(700) as usize);
            if !pairs.insert((b, s)) {
                continue;
            }
            let mut start = epoch + chrono::Days::new(rng.below(700));
            for _ in 0..=rng.below(3) {
                let length = 180 + rng.below(720);
                let end = start + chrono::Days::new(length);
                let supplier = &suppliers[s];
                let i = contracts.len();
                contracts.push(ContractFacts {
                    ocid: format!("ocds-b5fd17-{i}"),
                    contract_id: format!("C{i}"),
                    buyer_org_ids: vec![buyer(b)],
                    supplier_org_ids: supplier.id.iter().cloned().collect(),
                    supplier_names: vec![match &supplier.trading {
                        Some(t) => format!("{} T/A {t}", supplier.legal),
                        None => supplier.legal.clone(),
                    }],
                    start: Some(start),
                    end: Some(end),
                    value_pence: Some(5_000_000 + rng.below(500_000_000) as i64),
                });
                supplier_of.push(s);
                start = end + chrono::Days::new(200 + rng.below(200));
            }
            let last = contracts.len() - 1;
            last_of_pair.extend(std::iter::repeat_n(last, last + 1 - last_of_pair.len()));
        }
        contracts.truncate(2_000);

        let index = ContractIndex::new(&contracts);
        let tolerance = Tolerance::default();
        let (mut matchable, mut correct, mut unmatchable, mut false_links) = (0, 0, 0, 0);
        for id in 0..20_000 {
            let c = rng.below(contracts.len() as u64) as usize;
            let contract = &contracts[c];
            let supplier = &suppliers[supplier_of[c]];
            let (start, end) = (contract.start.unwrap(), contract.end.unwrap());
            let value = contract.value_pence.unwrap();
            let length = (end - start).num_days();
            let mut p = PaymentFacts {
                id,
                publisher_org_id: if rng.below(2) == 0 {
                    contract.buyer_org_ids[0].to_lowercase()
                } else {
                    contract.buyer_org_ids[0].clone()
                },
                supplier_org_id: None,
                supplier_name: Some(spelling(&supplier.legal, &mut rng)),
                date: start + chrono::Days::new(rng.below(length as u64 + 1)),
                amount_pence: 1 + rng.below(value as u64) as i64,
            };
            let kind = rng.below(100);
            if kind < 80 {
                if rng.below(10) == 0 {
                    p.date = start - chrono::Days::new(1 + rng.below(30));
                }
                if rng.below(20) == 0 {
                    p.amount_pence = -p.amount_pence;
                }
                match (&supplier.id, &supplier.trading, rng.below(3)) {
                    (Some(org_id), _, 0) => {
                        p.supplier_org_id = Some(org_id.replace("GB-COH-0", "gb-coh-"));
                        p.supplier_name = None;
                    }
                    (_, Some(trading), 1) => p.supplier_name = Some(spelling(trading, &mut rng)),
                    _ => {}
                }
                matchable += 1;
                let found = index.link(&p, &tolerance);
                if found.is_some_and(|l| {
                    l.ocid == contract.ocid && l.contract_id == contract.contract_id
                }) {
                    correct += 1;
                }
                continue;
            }
            match kind % 5 {
                0 => p.supplier_name = None,
                1 => p.publisher_org_id = format!("GB-LAE-X{:02}", rng.below(20)),
                2 => {
                    let last = &contracts[last_of_pair[c].min(contracts.len() - 1)];
                    let after = 91 + rng.below(400);
                    p.date = last.end.unwrap() + chrono::Days::new(after);
                }
                3 => p.amount_pence = value + value / 10 + 1 + rng.below(value as u64) as i64,
                _ => p.supplier_name = Some(supplier.legal.replace(" Ltd", " Group Ltd")),
            }
            unmatchable += 1;
            if let Some(l) = index.link(&p, &tolerance) {
                false_links += 1;
                assert!(false_links < 5, "unexpected link {l:?} for {p:?}");
            }
        }
        assert!(
            matchable > 15_000 && unmatchable > 3_000,
            "{matchable} {unmatchable}"
        );
        assert!(
            correct * 100 >= matchable * 99,
            "{correct} of {matchable} linked to their true contract"
        );
        assert_eq!(false_links, 0);
    }
}
