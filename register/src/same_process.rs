//! One procurement published on both Find a Tender and Contracts Finder. Until 2025 an
//! above-threshold procurement was published on both services under two ocids
//! (uk-feeds.md, 2.4). Both records are kept as published (merging them blindly would mix two
//! publishers' releases); the Contracts Finder record is linked to the Find a Tender one
//! (`records.same_as`) and the views list the procurement once, as the Find a Tender record.
//!
//! The matching rule: a Contracts Finder record and a Find a Tender record are the same
//! procurement when
//! 1. their buyers' names and their titles are equal once normalised ([`normalise`]: case,
//!    punctuation and spacing ignored, `&` read as `and`, `Ltd` as `limited`), and
//! 2. their values agree: either lacks one, or both are in one currency and the larger is at
//!    most 25% above the smaller (one service may state the value with VAT, the other without).
//!
//! Of several Find a Tender candidates the one with the closest value is chosen (then the
//! smallest ocid, so the choice is stable).

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde_json::Value;

use crate::{db::DbConnection, schema::records};

pub const FIND_A_TENDER_PREFIX: &str = "ocds-h6vhtk-";
pub const CONTRACTS_FINDER_PREFIX: &str = "ocds-b5fd17-";

/// Largest ratio between two values of the same procurement.
const MAX_VALUE_RATIO: f64 = 1.25;

/// Lower-case letters and digits, words separated by one space; `&` becomes `and` and `ltd`
/// becomes `limited`.
pub fn normalise(text: &str) -> String {
    let spaced: String = text
        .to_lowercase()
        .replace('&', " and ")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    spaced
        .split_whitespace()
        .map(|w| if w == "ltd" { "limited" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key two records of the same procurement share: the normalised buyer name and title.
/// Only records of the two services get one.
pub fn match_key(ocid: &str, compiled: &Value, title: Option<&str>) -> Option<String> {
    if !ocid.starts_with(FIND_A_TENDER_PREFIX) && !ocid.starts_with(CONTRACTS_FINDER_PREFIX) {
        return None;
    }
    let buyer = buyer_name(compiled)?;
    let (buyer, title) = (normalise(buyer), normalise(title?));
    (!buyer.is_empty() && !title.is_empty()).then(|| format!("{buyer}|{title}"))
}

fn buyer_name(compiled: &Value) -> Option<&str> {
    if let Some(name) = compiled.pointer("/buyer/name").and_then(Value::as_str) {
        return Some(name);
    }
    compiled
        .get("parties")?
        .as_array()?
        .iter()
        .find(|p| {
            p.get("roles")
                .and_then(Value::as_array)
                .is_some_and(|roles| roles.iter().any(|r| r == "buyer"))
        })?
        .get("name")?
        .as_str()
}

fn values_agree(a: (Option<f64>, Option<&str>), b: (Option<f64>, Option<&str>)) -> bool {
    match (a, b) {
        ((Some(x), cx), (Some(y), cy)) => {
            if cx.is_some() && cy.is_some() && cx != cy {
                return false;
            }
            let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
            if lo <= 0.0 {
                return hi <= 0.0;
            }
            hi / lo <= MAX_VALUE_RATIO
        }
        _ => true,
    }
}

type Candidate = (String, Option<f64>, Option<String>);
/// A record sharing a key: its ocid, value, currency and current link.
type Linked = (String, Option<f64>, Option<String>, Option<String>);

/// Recomputes the links of the records `ocids` and of the records that shared a key with
/// them. Runs inside the caller's transaction, after the records were recompiled.
pub fn link(conn: &mut DbConnection, ocids: &[String]) -> Result<(), diesel::result::Error> {
    let ocids: Vec<&str> = ocids
        .iter()
        .map(String::as_str)
        .filter(|o| o.starts_with(FIND_A_TENDER_PREFIX) || o.starts_with(CONTRACTS_FINDER_PREFIX))
        .collect();
    if ocids.is_empty() {
        return Ok(());
    }
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for chunk in ocids.chunks(500) {
        // A record that no longer has a key (its title changed) has no link either.
        diesel::update(
            records::table
                .filter(records::ocid.eq_any(chunk))
                .filter(records::match_key.is_null())
                .filter(records::same_as.is_not_null()),
        )
        .set(records::same_as.eq(None::<String>))
        .execute(conn)?;
        keys.extend(
            records::table
                .filter(records::ocid.eq_any(chunk))
                .select(records::match_key)
                .load::<Option<String>>(conn)?
                .into_iter()
                .flatten(),
        );
        // Records linked to these may have lost their match.
        keys.extend(
            records::table
                .filter(records::same_as.eq_any(chunk))
                .select(records::match_key)
                .load::<Option<String>>(conn)?
                .into_iter()
                .flatten(),
        );
    }
    for key in keys {
        let rows: Vec<Linked> = records::table
            .filter(records::match_key.eq(&key))
            .select((
                records::ocid,
                records::value_amount,
                records::value_currency,
                records::same_as,
            ))
            .order(records::ocid.asc())
            .load(conn)?;
        let fts: Vec<Candidate> = rows
            .iter()
            .filter(|r| r.0.starts_with(FIND_A_TENDER_PREFIX))
            .map(|r| (r.0.clone(), r.1, r.2.clone()))
            .collect();
        let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (ocid, amount, currency, same_as) in &rows {
            let wanted = if ocid.starts_with(CONTRACTS_FINDER_PREFIX) {
                best_match((*amount, currency.as_deref()), &fts)
            } else {
                None
            };
            if wanted != *same_as {
                changes.insert(ocid.clone(), wanted);
            }
        }
        for (ocid, same_as) in changes {
            diesel::update(records::table.filter(records::ocid.eq(&ocid)))
                .set(records::same_as.eq(same_as))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn best_match(value: (Option<f64>, Option<&str>), candidates: &[Candidate]) -> Option<String> {
    candidates
        .iter()
        .filter(|(_, amount, currency)| values_agree(value, (*amount, currency.as_deref())))
        .min_by(|a, b| {
            let distance = |c: &Candidate| match (value.0, c.1) {
                (Some(x), Some(y)) => (x - y).abs(),
                _ => f64::INFINITY,
            };
            distance(a)
                .total_cmp(&distance(b))
                .then_with(|| a.0.cmp(&b.0))
        })
        .map(|c| c.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalising_ignores_case_punctuation_and_common_variants() {
        assert_eq!(
            normalise("  Children's Services & Family-Support LTD. "),
            "children s services and family support limited"
        );
        assert_eq!(normalise("Foster care: 2026/27"), "foster care 2026 27");
    }

    #[test]
    fn only_the_two_services_records_get_a_key() {
        let compiled = json!({"buyer": {"name": "Devon County Council"}});
        let key = match_key("ocds-b5fd17-abc", &compiled, Some("Foster Care")).unwrap();
        assert_eq!(key, "devon county council|foster care");
        assert_eq!(
            match_key("ocds-h6vhtk-0001", &compiled, Some("foster  care!")),
            Some(key)
        );
        assert_eq!(
            match_key("ocds-ocdemo-1", &compiled, Some("Foster Care")),
            None
        );
        assert_eq!(match_key("ocds-b5fd17-abc", &compiled, None), None);
        let by_party = json!({"parties": [{"name": "Leeds City Council", "roles": ["buyer"]}]});
        assert!(match_key("ocds-b5fd17-x", &by_party, Some("SEND transport")).is_some());
    }

    #[test]
    fn values_agree_within_a_quarter_and_one_currency() {
        assert!(values_agree(
            (Some(100.0), Some("GBP")),
            (Some(120.0), Some("GBP"))
        ));
        assert!(values_agree(
            (Some(120.0), None),
            (Some(100.0), Some("GBP"))
        ));
        assert!(!values_agree(
            (Some(100.0), Some("GBP")),
            (Some(126.0), Some("GBP"))
        ));
        assert!(!values_agree(
            (Some(100.0), Some("GBP")),
            (Some(100.0), Some("EUR"))
        ));
        assert!(values_agree((None, None), (Some(5.0), Some("GBP"))));
    }

    #[test]
    fn the_closest_value_wins() {
        let candidates = vec![
            (
                "ocds-h6vhtk-b".to_owned(),
                Some(118.0),
                Some("GBP".to_owned()),
            ),
            (
                "ocds-h6vhtk-a".to_owned(),
                Some(101.0),
                Some("GBP".to_owned()),
            ),
            (
                "ocds-h6vhtk-c".to_owned(),
                Some(300.0),
                Some("GBP".to_owned()),
            ),
        ];
        assert_eq!(
            best_match((Some(100.0), Some("GBP")), &candidates).as_deref(),
            Some("ocds-h6vhtk-a")
        );
        assert_eq!(best_match((Some(1000.0), Some("GBP")), &candidates), None);
        assert_eq!(
            best_match((None, None), &candidates).as_deref(),
            Some("ocds-h6vhtk-a")
        );
    }
}
