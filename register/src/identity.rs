//! Organisation identity across sources: which org-ids name the same organisation, and the one
//! id its profile is kept under (table `org_equivalents`; an id without a row is its own
//! profile).
//!
//! # Where equivalences come from
//!
//! - 360Giving: an organisation's id with its `charityNumber` and `companyNumber`
//!   ([`org_ids::equivalent_ids`]), recorded as grants are stored (method
//!   [`GRANT_ORGANISATION`], source the grant id);
//! - OCDS: a party's id, its `identifier` and `additionalIdentifiers`, and the normalised
//!   spelling of each ([`party_ids`]), recorded as records are compiled (method
//!   [`PARTY_IDENTIFIERS`], source the ocid).
//!
//! # The merge rule
//!
//! A claim names ids of one organisation. The organisations they belong to now (each id's
//! canonical id and every id pointing at it) become one, whose canonical id is the least by
//! [`rank`]: first an id written as [`org_ids::normalise_org_id`] writes it, then by scheme
//! ([`SCHEME_RANK`]: registers of legal entities, then public bodies, then other lists, then
//! publishers' own ids, then anything else), then by byte order. The rule looks at the ids
//! alone, so the outcome does not depend on the order sources arrive in. Every other id gets a
//! row pointing straight at the canonical id (a former canonical id gets one, and the ids that
//! pointed at it are re-pointed), so chains never form and resolving an id is one lookup.
//!
//! A claim that would put two different ids of one register in one organisation (two company
//! numbers, two charity numbers; see [`one_per_organisation`]) contradicts what is recorded or
//! itself: it is refused whole, logged and returned as [`Recorded::Refused`], and what was
//! recorded stands. A subsidiary charity (`GB-CHC-1012345-1`) is a separate entry in the
//! register of charities, so it does not merge with its parent either. Recording a claim again
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{audit::now, db::DbConnection, org_ids, schema::org_equivalents};

/// Method: a 360Giving organisation's id, charity number and company number.
pub const GRANT_ORGANISATION: &str = "360giving_organisation";
/// Method: an OCDS party's id, `identifier` and `additionalIdentifiers`.
pub const PARTY_IDENTIFIERS: &str = "ocds_party_identifiers";

/// Schemes in the order their ids are preferred as an organisation's canonical id; `*` stands
/// for every list not named here (`US-EIN`, `NL-KVK`...). Registers of legal entities come
/// first (most suppliers and charities are companies, and Companies House numbers are what
/// procurement data uses most), then public bodies, then the procurement platform's id, then
/// lists a publisher assigns itself.
pub const SCHEME_RANK: [&str; 19] = [
    "GB-COH", "GB-CHC", "GB-SC", "GB-NIC", "GB-MPR", "GB-REV", "GB-LAE", "GB-LAS", "GB-PLA",
    "GB-LANI", "GB-NHS", "GB-GOR", "GB-EDU", "GB-UKPRN", "GB-PPON", "*", "GB-CFS", "GB-SRS",
    "360G",
];

/// Whether an organisation has at most one id of the known list `scheme`
/// ([`org_ids::known_scheme`]): the registers and official lists. Publishers' own ids (`360G`,
/// `GB-CFS`, `GB-SRS`) may name one organisation several times; lists we do not know are never
/// checked.
pub fn one_per_organisation(scheme: &str) -> bool {
    !matches!(scheme, "GB-CFS" | "GB-SRS" | "360G")
}

/// The sort key of the merge rule: the least id of an organisation is its canonical id.
pub fn rank(id: &str) -> (bool, usize, &str) {
    let normalised = org_ids::normalise_org_id(id);
    let written_normalised = normalised.as_deref() == Some(id);
    let scheme_rank = match &normalised {
        None => SCHEME_RANK.len(),
        Some(n) => {
            let scheme = org_ids::known_scheme(n).unwrap_or("*");
            SCHEME_RANK
                .iter()
                .position(|s| *s == scheme)
                .unwrap_or_else(position_of_other_lists)
        }
    };
    (!written_normalised, scheme_rank, id)
}

fn position_of_other_lists() -> usize {
    SCHEME_RANK.iter().position(|s| *s == "*").unwrap_or(0)
}

/// Two ids of one register claimed for one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub scheme: &'static str,
    pub ids: [String; 2],
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} and {} are two {} ids, so not one organisation",
            self.ids[0], self.ids[1], self.scheme
        )
    }
}

/// What recording a claim has to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub canonical: String,
    /// Every id of the organisation after the merge, canonical first, then in byte order.
    pub members: Vec<String>,
    /// Ids to point at the canonical id, each with whether it has a row already (re-pointed)
    /// or not (a new row).
    pub point: Vec<(String, bool)>,
    /// Whether the canonical id has a row to delete (it never should; kept for safety).
    pub unpoint: bool,
}

/// The merge rule, without the database: `claim` (ids of one organisation) against `known`,
/// the `(org_id, canonical_id)` rows of every organisation the claimed ids belong to now.
/// `Ok(None)` when nothing changes.
pub fn plan(claim: &[String], known: &[(String, String)]) -> Result<Option<Plan>, Conflict> {
    let pointing: BTreeMap<&str, &str> = known
        .iter()
        .map(|(id, canonical)| (id.as_str(), canonical.as_str()))
        .collect();
    let mut members: BTreeSet<&str> = claim.iter().map(String::as_str).collect();
    members.extend(pointing.keys());
    members.extend(pointing.values());
    if members.len() < 2 {
        return Ok(None);
    }
    check_registers(&members)?;
    let canonical = *members
        .iter()
        .min_by_key(|id| rank(id))
        .expect("two members at least");
    let point: Vec<(String, bool)> = members
        .iter()
        .filter(|id| **id != canonical && pointing.get(*id) != Some(&canonical))
        .map(|id| ((*id).to_owned(), pointing.contains_key(id)))
        .collect();
    let unpoint = pointing.contains_key(canonical);
    if point.is_empty() && !unpoint {
        return Ok(None);
    }
    let mut ordered = vec![canonical.to_owned()];
    ordered.extend(
        members
            .iter()
            .filter(|id| **id != canonical)
            .map(|id| (*id).to_owned()),
    );
    Ok(Some(Plan {
        canonical: canonical.to_owned(),
        members: ordered,
        point,
        unpoint,
    }))
}

/// Fails when two ids that normalise differently share a one-per-organisation scheme
/// (spellings of one id, such as `GB-COH-7962245` and `GB-COH-07962245`, are one id).
fn check_registers(members: &BTreeSet<&str>) -> Result<(), Conflict> {
    let mut seen: HashMap<&'static str, (String, &str)> = HashMap::new();
    for id in members {
        let Some(normalised) = org_ids::normalise_org_id(id) else {
            continue;
        };
        let Some(scheme) = org_ids::known_scheme(&normalised).filter(|s| one_per_organisation(s))
        else {
            continue;
        };
        match seen.get(scheme) {
            Some((other, other_id)) if *other != normalised => {
                return Err(Conflict {
                    scheme,
                    ids: [(*other_id).to_owned(), (*id).to_owned()],
                });
            }
            Some(_) => {}
            None => {
                seen.insert(scheme, (normalised, id));
            }
        }
    }
    Ok(())
}

/// What recording a claim did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Already so (or a single id): nothing written.
    Known,
    /// Organisations joined or ids added: every id of the organisation now, canonical first.
    Merged { members: Vec<String> },
    /// A contradiction: nothing written.
    Refused(Conflict),
}

/// Records that `ids` name one organisation (known to the source as `name`), by `method`, as
/// read in `source`, and merges their profiles ([`crate::organisations::merge_profiles`]). Run
/// it inside the caller's transaction. Costs one query when the claim is already recorded.
pub fn record(
    conn: &mut DbConnection,
    ids: &[String],
    name: &str,
    method: &str,
    source: &str,
) -> QueryResult<Recorded> {
    let mut claim: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()) {
        if !claim.iter().any(|c| c == id) {
            claim.push(id.to_owned());
        }
    }
    if claim.len() < 2 {
        return Ok(Recorded::Known);
    }
    let rows: Vec<(String, String)> = org_equivalents::table
        .filter(org_equivalents::org_id.eq_any(&claim))
        .select((org_equivalents::org_id, org_equivalents::canonical_id))
        .load(conn)?;
    let roots: BTreeSet<&str> = claim
        .iter()
        .map(|id| {
            rows.iter()
                .find(|(org_id, _)| org_id == id)
                .map_or(id.as_str(), |(_, canonical)| canonical.as_str())
        })
        .collect();
    if roots.len() == 1 {
        return Ok(Recorded::Known);
    }
    let known: Vec<(String, String)> = org_equivalents::table
        .filter(org_equivalents::canonical_id.eq_any(&roots))
        .select((org_equivalents::org_id, org_equivalents::canonical_id))
        .load(conn)?;
    let plan = match plan(&claim, &known) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Ok(Recorded::Known),
        Err(conflict) => {
            tracing::warn!(%conflict, method, source, "organisation identity claim refused");
            return Ok(Recorded::Refused(conflict));
        }
    };
    let recorded_at = now();
    for (id, has_row) in &plan.point {
        if *has_row {
            // Re-pointed: the row keeps the method and source that first linked it.
            diesel::update(org_equivalents::table.filter(org_equivalents::org_id.eq(id)))
                .set(org_equivalents::canonical_id.eq(&plan.canonical))
                .execute(conn)?;
        } else {
            diesel::insert_into(org_equivalents::table)
                .values((
                    org_equivalents::org_id.eq(id),
                    org_equivalents::canonical_id.eq(&plan.canonical),
                    org_equivalents::method.eq(method),
                    org_equivalents::source.eq(source),
                    org_equivalents::recorded_at.eq(recorded_at),
                ))
                .execute(conn)?;
        }
    }
    if plan.unpoint {
        diesel::delete(org_equivalents::table.filter(org_equivalents::org_id.eq(&plan.canonical)))
            .execute(conn)?;
    }
    crate::organisations::merge_profiles(conn, &plan.canonical, &plan.members, name)?;
    Ok(Recorded::Merged {
        members: plan.members,
    })
}

/// The id the profile of `id`'s organisation is kept under: its recorded canonical id, else
/// that of its normalised spelling, else the normalised spelling itself (or `id` when it is
/// not an org-id), so spellings of one id resolve alike.
pub fn canonical_id(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    let id = id.trim();
    let normalised = org_ids::normalise_org_id(id);
    let candidates: Vec<&str> = std::iter::once(id).chain(normalised.as_deref()).collect();
    let rows: Vec<(String, String)> = org_equivalents::table
        .filter(org_equivalents::org_id.eq_any(&candidates))
        .select((org_equivalents::org_id, org_equivalents::canonical_id))
        .load(conn)?;
    let found = candidates
        .iter()
        .find_map(|c| rows.iter().find(|(org_id, _)| org_id == c))
        .map(|(_, canonical)| canonical.clone());
    Ok(found.or(normalised).unwrap_or_else(|| id.to_owned()))
}

/// Every id of `id`'s organisation: the canonical id first, then the others in byte order.
pub fn equivalent_ids(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    let canonical = canonical_id(conn, id)?;
    let others: Vec<String> = org_equivalents::table
        .filter(org_equivalents::canonical_id.eq(&canonical))
        .select(org_equivalents::org_id)
        .order(org_equivalents::org_id.asc())
        .load(conn)?;
    let mut ids = vec![canonical];
    ids.extend(others);
    Ok(ids)
}

/// The recorded canonical id of each of `ids` that has one (ids without a row are their own).
/// For resolving many ids at once, say a publisher's suppliers.
pub fn recorded_canonical_ids(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String)> = org_equivalents::table
            .filter(org_equivalents::org_id.eq_any(chunk))
            .select((org_equivalents::org_id, org_equivalents::canonical_id))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// One id of an organisation and why it is taken as the organisation's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identifier {
    pub id: String,
    /// Whether the profile is kept under this id.
    pub canonical: bool,
    /// How it was recognised: `360giving_organisation` (a 360Giving organisation's id with its
    /// charity and company numbers) or `ocds_party_identifiers` (an OCDS party's id,
    /// `identifier` and `additionalIdentifiers`); none for the canonical id.
    pub method: Option<String>,
    /// Where: the grant id or the ocid that said so.
    pub source: Option<String>,
    /// When it was first recorded (UTC).
    #[schema(value_type = Option<String>)]
    pub recorded_at: Option<NaiveDateTime>,
}

/// The identifiers of each organisation of `canonical_ids`: its canonical id, then the others in
/// byte order.
pub fn identifiers(
    conn: &mut DbConnection,
    canonical_ids: &[String],
) -> QueryResult<HashMap<String, Vec<Identifier>>> {
    let mut all: HashMap<String, Vec<Identifier>> = canonical_ids
        .iter()
        .map(|c| {
            let own = Identifier {
                id: c.clone(),
                canonical: true,
                method: None,
                source: None,
                recorded_at: None,
            };
            (c.clone(), vec![own])
        })
        .collect();
    for chunk in canonical_ids.chunks(500) {
        let rows: Vec<(String, String, String, String, NaiveDateTime)> = org_equivalents::table
            .filter(org_equivalents::canonical_id.eq_any(chunk))
            .select((
                org_equivalents::org_id,
                org_equivalents::canonical_id,
                org_equivalents::method,
                org_equivalents::source,
                org_equivalents::recorded_at,
            ))
            .order(org_equivalents::org_id.asc())
            .load(conn)?;
        for (id, canonical, method, source, recorded_at) in rows {
            if let Some(list) = all.get_mut(&canonical) {
                list.push(Identifier {
                    id,
                    canonical: false,
                    method: Some(method),
                    source: Some(source),
                    recorded_at: Some(recorded_at),
                });
            }
        }
    }
    Ok(all)
}

/// The ids an OCDS party is known by, `org_id` (its id as the register keys it) first: the
/// normalised spelling of that id, of its `identifier` and of each `additionalIdentifiers`
/// entry, without repeats. One id only, the common case, means nothing to record.
pub fn party_ids(party: &Value, org_id: &str) -> Vec<String> {
    let mut ids = vec![org_id.to_owned()];
    let mut add = |id: Option<String>| {
        if let Some(id) = id
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    };
    add(org_ids::normalise_org_id(org_id));
    let identifier = |v: &Value| {
        let text = |key: &str| match v.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        org_ids::from_identifier(&text("scheme")?, &text("id")?)
    };
    if let Some(main) = party.get("identifier") {
        add(identifier(main));
    }
    for other in party
        .get("additionalIdentifiers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add(identifier(other));
    }
    ids
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn rows(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_canonical_id_is_chosen_by_spelling_then_scheme_then_bytes() {
        let plan = plan(&ids(&["360G-trafford-x", "GB-CHC-1146179"]), &[])
            .unwrap()
            .unwrap();
        assert_eq!(plan.canonical, "GB-CHC-1146179");
        let plan = plan_of(&["GB-CHC-1146179", "GB-COH-07962245"]);
        assert_eq!(
            plan.canonical, "GB-COH-07962245",
            "companies before charities"
        );
        let plan = plan_of(&["GB-COH-7962245", "GB-COH-07962245"]);
        assert_eq!(plan.canonical, "GB-COH-07962245", "the normalised spelling");
        let plan = plan_of(&["gb-chc-1146179", "GB-COH-07962245"]);
        assert_eq!(plan.canonical, "GB-COH-07962245");
        let plan = plan_of(&["local-7", "US-EIN-12-3456789", "360G-a-b"]);
        assert_eq!(
            plan.canonical, "US-EIN-12-3456789",
            "other lists before publisher ids"
        );
        let plan = plan_of(&["360G-b-1", "360G-a-2"]);
        assert_eq!(plan.canonical, "360G-a-2", "then byte order");
        assert_eq!(
            plan.members,
            ids(&["360G-a-2", "360G-b-1"]),
            "canonical first"
        );
        assert_eq!(plan.point, vec![("360G-b-1".to_owned(), false)]);
    }

    fn plan_of(claim: &[&str]) -> Plan {
        plan(&ids(claim), &[]).unwrap().unwrap()
    }

    #[test]
    fn the_order_of_claims_does_not_change_the_outcome() {
        // A ≡ B, then B ≡ C; and B ≡ C, then A ≡ B: the same canonical id and rows.
        let (a, b, c) = ("360G-x-a", "GB-CHC-1110767", "GB-COH-04123456");
        let first = plan(&ids(&[a, b]), &[]).unwrap().unwrap();
        let after_first = apply(&[], &first);
        let second = plan(&ids(&[b, c]), &after_first).unwrap().unwrap();
        let one_way = apply(&after_first, &second);

        let first = plan(&ids(&[b, c]), &[]).unwrap().unwrap();
        let after_first = apply(&[], &first);
        let second = plan(&ids(&[a, b]), &after_first).unwrap().unwrap();
        let other_way = apply(&after_first, &second);
        assert_eq!(one_way, other_way);
        assert_eq!(one_way, rows(&[(a, c), (b, c)]));
    }

    /// The rows after a plan is written (what `record` does), sorted.
    fn apply(known: &[(String, String)], plan: &Plan) -> Vec<(String, String)> {
        let mut map: BTreeMap<String, String> = known.iter().cloned().collect();
        for (id, _) in &plan.point {
            map.insert(id.clone(), plan.canonical.clone());
        }
        if plan.unpoint {
            map.remove(&plan.canonical);
        }
        map.into_iter().collect()
    }

    #[test]
    fn merging_two_organisations_repoints_so_no_chain_forms() {
        // Two organisations: {360G-x-a → GB-CHC-1110767} and {360G-y-b → GB-COH-04123456}.
        let known = rows(&[
            ("360G-x-a", "GB-CHC-1110767"),
            ("360G-y-b", "GB-COH-04123456"),
        ]);
        let plan = plan(&ids(&["GB-CHC-1110767", "GB-COH-04123456"]), &known)
            .unwrap()
            .unwrap();
        assert_eq!(plan.canonical, "GB-COH-04123456");
        assert_eq!(
            plan.point,
            vec![
                ("360G-x-a".to_owned(), true),
                ("GB-CHC-1110767".to_owned(), false)
            ],
            "the former canonical id gets a row and its ids are re-pointed"
        );
        let after = apply(&known, &plan);
        assert!(
            after.iter().all(|(_, c)| c == "GB-COH-04123456"),
            "every id points at the canonical id: {after:?}"
        );
    }

    #[test]
    fn recording_again_changes_nothing() {
        let claim = ids(&["GB-COH-07962245", "GB-CHC-1146179", "360G-t-cf"]);
        let first = plan(&claim, &[]).unwrap().unwrap();
        let after = apply(&[], &first);
        assert_eq!(plan(&claim, &after), Ok(None));
        assert_eq!(plan(&claim[1..], &after), Ok(None), "part of it too");
        assert_eq!(plan(&ids(&["GB-COH-07962245"]), &[]), Ok(None));
    }

    #[test]
    fn two_ids_of_one_register_are_refused() {
        let refused = plan(&ids(&["GB-COH-00000001", "GB-COH-00000002"]), &[]);
        assert_eq!(
            refused,
            Err(Conflict {
                scheme: "GB-COH",
                ids: ["GB-COH-00000001".into(), "GB-COH-00000002".into()],
            })
        );
        // A claim joining an organisation that has another charity number already.
        let known = rows(&[("GB-CHC-1000001", "GB-COH-00000001")]);
        let conflict = plan(&ids(&["GB-COH-00000001", "GB-CHC-1000002"]), &known).unwrap_err();
        assert_eq!(conflict.scheme, "GB-CHC");
        // Through a third id: A ≡ CHC-1 is known, the claim says A ≡ CHC-2.
        let known = rows(&[("360G-x-a", "GB-CHC-1000001")]);
        assert!(plan(&ids(&["360G-x-a", "GB-CHC-1000002"]), &known).is_err());
        // A subsidiary charity is its own entry.
        assert!(plan(&ids(&["GB-CHC-1012345", "GB-CHC-1012345-1"]), &[]).is_err());
        // Spellings of one id are one id; publishers' ids may be several.
        assert!(plan(&ids(&["GB-COH-7962245", "GB-COH-07962245"]), &[]).is_ok());
        assert!(plan(&ids(&["360G-a-1", "360G-b-2", "GB-CHC-1000001"]), &[]).is_ok());
    }

    #[test]
    fn party_ids_are_its_id_identifier_and_additional_identifiers() {
        let party = json!({
            "id": "GB-COH-4123456", "name": "G-Force",
            "identifier": {"scheme": "GB-COH", "id": "4123456"},
            "additionalIdentifiers": [
                {"scheme": "GB-CHC", "id": 1110767},
                {"scheme": "internal", "id": "S-991"},
                {"scheme": "GB-COH", "id": "04123456"}
            ]
        });
        assert_eq!(
            party_ids(&party, "GB-COH-4123456"),
            ids(&["GB-COH-4123456", "GB-COH-04123456", "GB-CHC-1110767"])
        );
        let plain = json!({"id": "GB-LAE-TRF", "identifier": {"scheme": "GB-LAE", "id": "TRF"}});
        assert_eq!(party_ids(&plain, "GB-LAE-TRF"), ids(&["GB-LAE-TRF"]));
        assert_eq!(
            party_ids(&json!({"id": "buyer-1"}), "buyer-1"),
            ids(&["buyer-1"])
        );
    }
}
