//! Organisations: one profile per organisation across every role it plays in the register
//! (buyer, supplier, funder...), built from the parties of compiled releases as they are
//! recompiled and from the funders and recipients of grants.
//!
//! There is a row per org-id seen. When ids are known to name one organisation
//! ([`crate::identity`]), the row of its canonical id is the profile: it holds the names and
//! roles of every row of the organisation (merged by [`merge_profiles`], kept so by [`note`]),
//! lookups by any of its ids answer with it, and listings show only it.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::{
    audit::{json_array, now},
    db::{DbConnection, MultiBackend},
    identity, org_ids,
    schema::{grants, org_equivalents, organisations, records, spend_transactions},
    summary,
    views::{MAX_LIMIT, escape_like, json_item_like, lower},
};

#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    #[serde(skip)]
    pub id: i64,
    pub org_id: String,
    pub name: String,
    /// Other names the organisation was published under.
    pub other_names: Vec<String>,
    /// Every role it has in any process, sorted.
    pub roles: Vec<String>,
}

/// How often the organisation appears in the register.
#[derive(Debug, Clone, Serialize)]
pub struct Appearances {
    pub as_buyer: i64,
    pub as_supplier: i64,
    pub as_party: i64,
    /// 360Giving grants it made.
    pub as_funder: i64,
    /// 360Giving grants it received.
    pub as_grant_recipient: i64,
    /// Spend lines it published (payments it made).
    pub as_payer: i64,
    /// Spend lines paying it by one of its ids (never a redacted line).
    pub as_payee: i64,
}

type Row = (i64, String, String, String, String);

fn from_row((id, org_id, name, variants, roles): Row) -> Organisation {
    Organisation {
        id,
        org_id,
        name,
        other_names: serde_json::from_str(&variants).unwrap_or_default(),
        roles: serde_json::from_str(&roles).unwrap_or_default(),
    }
}

const COLUMNS: (
    organisations::id,
    organisations::org_id,
    organisations::name,
    organisations::name_variants,
    organisations::roles,
) = (
    organisations::id,
    organisations::org_id,
    organisations::name,
    organisations::name_variants,
    organisations::roles,
);

/// Adds or updates the organisation of every party of `compiled` (names and roles are merged,
/// never dropped: an organisation keeps the roles it had in other processes).
pub fn upsert_parties(conn: &mut DbConnection, compiled: &Value) -> QueryResult<()> {
    let listed = compiled.get("parties").and_then(Value::as_array);
    // Awarded suppliers count even when a publisher left them out of `parties`.
    let suppliers = compiled
        .get("awards")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("suppliers").and_then(Value::as_array))
        .flatten();
    let supplier_role = Value::Array(vec![Value::String("supplier".into())]);
    let entries = listed
        .into_iter()
        .flatten()
        .map(|p| (p, p.get("roles")))
        .chain(suppliers.map(|s| (s, Some(&supplier_role))));
    let ocid = compiled.get("ocid").and_then(Value::as_str).unwrap_or("");
    for (party, roles) in entries {
        let Some(org_id) = summary::org_id(party) else {
            continue;
        };
        let name = party
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&org_id)
            .to_owned();
        let roles: Vec<String> = roles
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        note(conn, &org_id, &name, roles)?;
        // Pure work for a party with one id (the common case): no query.
        let ids = identity::party_ids(party, &org_id);
        if ids.len() > 1 {
            identity::record(conn, &ids, &name, identity::PARTY_IDENTIFIERS, ocid)?;
        }
    }
    Ok(())
}

/// Records that organisation `org_id` appears as `name` in `roles`: a new organisation, or
/// another name and more roles for a known one (written only when something changed). When
/// `org_id` is one of another id's organisation, its profile gets them too.
pub fn note(
    conn: &mut DbConnection,
    org_id: &str,
    name: &str,
    roles: Vec<String>,
) -> QueryResult<()> {
    // The row and, in the same query, the canonical id when the id is not its own.
    let existing: Option<(Row, Option<String>)> = organisations::table
        .left_join(org_equivalents::table.on(org_equivalents::org_id.eq(organisations::org_id)))
        .filter(organisations::org_id.eq(org_id))
        .select((COLUMNS, org_equivalents::canonical_id.nullable()))
        .first(conn)
        .optional()?;
    let mut roles = roles;
    roles.sort();
    roles.dedup();
    match existing {
        None => insert(conn, org_id, name, &[], &roles)?,
        Some((row, canonical)) => {
            add_names_and_roles(conn, from_row(row), &[name], &roles)?;
            if let Some(canonical) = canonical.filter(|c| c != org_id)
                && let Some(row) = find(conn, &canonical)?
            {
                add_names_and_roles(conn, from_row(row), &[name], &roles)?;
            }
        }
    }
    Ok(())
}

fn find(conn: &mut DbConnection, org_id: &str) -> QueryResult<Option<Row>> {
    organisations::table
        .filter(organisations::org_id.eq(org_id))
        .select(COLUMNS)
        .first(conn)
        .optional()
}

fn insert(
    conn: &mut DbConnection,
    org_id: &str,
    name: &str,
    other_names: &[String],
    roles: &[String],
) -> QueryResult<()> {
    diesel::insert_into(organisations::table)
        .values((
            organisations::org_id.eq(org_id),
            organisations::name.eq(name),
            organisations::name_variants.eq(json_array(other_names)),
            organisations::roles.eq(json_array(roles)),
            organisations::partnership_member.eq(false),
            organisations::created_at.eq(now()),
            organisations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds `names` (those it does not have) and `roles` to `org`'s row, writing only a change.
fn add_names_and_roles(
    conn: &mut DbConnection,
    mut org: Organisation,
    names: &[&str],
    roles: &[String],
) -> QueryResult<()> {
    let before = (org.other_names.clone(), org.roles.clone());
    for name in names {
        if *name != org.name && !org.other_names.iter().any(|n| n == name) {
            org.other_names.push((*name).to_owned());
        }
    }
    org.roles.extend(roles.iter().cloned());
    org.roles.sort();
    org.roles.dedup();
    if (&org.other_names, &org.roles) != (&before.0, &before.1) {
        diesel::update(organisations::table.filter(organisations::id.eq(org.id)))
            .set((
                organisations::name_variants.eq(json_array(&org.other_names)),
                organisations::roles.eq(json_array(&org.roles)),
                organisations::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Makes the row of `canonical` the profile of the organisation of `members` (its ids, the
/// canonical one among them), which a source knows as `name`: every member gets a row (so a
/// lookup by any id finds the organisation), and the canonical row takes every name and role
/// of the others. Its name stays if it had a row; else it is the name of the member seen
/// first. Called by [`identity::record`] after a merge.
pub fn merge_profiles(
    conn: &mut DbConnection,
    canonical: &str,
    members: &[String],
    name: &str,
) -> QueryResult<()> {
    let rows: Vec<Organisation> = organisations::table
        .filter(organisations::org_id.eq_any(members))
        .select(COLUMNS)
        .order(organisations::id.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect();
    let main = rows.iter().find(|r| r.org_id == canonical);
    let main_name = main
        .or(rows.first())
        .map_or(name, |r| r.name.as_str())
        .to_owned();
    // The canonical row's own names first, so its list keeps its order.
    let mut names: Vec<&str> = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for org in main
        .into_iter()
        .chain(rows.iter().filter(|r| r.org_id != canonical))
    {
        names.push(&org.name);
        names.extend(org.other_names.iter().map(String::as_str));
        roles.extend(org.roles.iter().cloned());
    }
    names.push(name);
    let mut other_names: Vec<String> = Vec::new();
    for n in names {
        if n != main_name && !other_names.iter().any(|o| o == n) {
            other_names.push(n.to_owned());
        }
    }
    roles.sort();
    roles.dedup();
    for member in members {
        if rows.iter().any(|r| &r.org_id == member) {
            continue;
        }
        if member == canonical {
            insert(conn, member, &main_name, &other_names, &roles)?;
        } else {
            insert(conn, member, name, &[], &[])?;
        }
    }
    if let Some(main) = main {
        let names: Vec<&str> = other_names.iter().map(String::as_str).collect();
        add_names_and_roles(conn, main.clone(), &names, &roles)?;
    }
    Ok(())
}

/// What a lookup by identifier found.
pub enum Lookup {
    Found(Organisation),
    NotFound,
    /// A bare registration number matching several org-ids (say a charity and a company).
    Ambiguous(Vec<String>),
}

/// Finds an organisation by any of its org-ids (`GB-CHC-1234567`, scheme case-insensitive, or
/// another spelling of one: `GB-COH-1234` for `GB-COH-00001234`) or by a bare registration
/// number (`1234567`) that ends the ids of exactly one organisation. Answers with the
/// organisation's profile, the row of its canonical id.
pub fn lookup(conn: &mut DbConnection, identifier: &str) -> QueryResult<Lookup> {
    let identifier = identifier.trim();
    let mut spellings = vec![identifier.to_lowercase()];
    if let Some(normalised) = org_ids::normalise_org_id(identifier).map(|n| n.to_lowercase())
        && normalised != spellings[0]
    {
        spellings.push(normalised);
    }
    let exact: Option<String> = organisations::table
        .filter(lower(organisations::org_id.nullable()).eq_any(&spellings))
        .select(organisations::org_id)
        .order(organisations::id.asc())
        .first(conn)
        .optional()?;
    if let Some(org_id) = exact {
        return Ok(profile_of(conn, &[org_id])?
            .into_iter()
            .next()
            .map_or(Lookup::NotFound, Lookup::Found));
    }
    let pattern = format!("%-{}", escape_like(identifier));
    let matched: Vec<String> = organisations::table
        .filter(organisations::org_id.like(pattern).escape('\\'))
        .select(organisations::org_id)
        .order(organisations::org_id.asc())
        .limit(20)
        .load(conn)?;
    let mut profiles = profile_of(conn, &matched)?;
    Ok(match profiles.len() {
        0 => Lookup::NotFound,
        1 => Lookup::Found(profiles.remove(0)),
        _ => Lookup::Ambiguous(profiles.into_iter().map(|p| p.org_id).collect()),
    })
}

/// The profiles (canonical rows) of the organisations of `org_ids`, once each, in the order
/// their ids come.
fn profile_of(conn: &mut DbConnection, org_ids: &[String]) -> QueryResult<Vec<Organisation>> {
    let recorded = identity::recorded_canonical_ids(conn, org_ids)?;
    let mut canonical: Vec<String> = Vec::new();
    for id in org_ids {
        let c = recorded.get(id).unwrap_or(id);
        if !canonical.contains(c) {
            canonical.push(c.clone());
        }
    }
    let rows: Vec<Row> = organisations::table
        .filter(organisations::org_id.eq_any(&canonical))
        .select(COLUMNS)
        .load(conn)?;
    let mut rows: Vec<Organisation> = rows.into_iter().map(from_row).collect();
    rows.sort_by_key(|r| canonical.iter().position(|c| *c == r.org_id));
    Ok(rows)
}

/// Counts of what the organisation of `ids` (all its ids: [`identity::equivalent_ids`])
/// appears in, each record, grant or payment once however many of the ids it names.
pub fn appearances(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Appearances> {
    let as_buyer = records::table
        .filter(records::buyer_org_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    let mut supplier = records::table.into_boxed::<MultiBackend>();
    let mut party = records::table.into_boxed::<MultiBackend>();
    for id in ids {
        supplier = supplier.or_filter(
            records::supplier_org_ids
                .like(json_item_like(id, false))
                .escape('\\'),
        );
        party = party.or_filter(
            records::party_org_ids
                .like(json_item_like(id, false))
                .escape('\\'),
        );
    }
    let (as_supplier, as_party) = if ids.is_empty() {
        (0, 0)
    } else {
        (
            supplier.count().get_result(conn)?,
            party.count().get_result(conn)?,
        )
    };
    let as_funder = grants::table
        .filter(grants::funder_org_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    let as_grant_recipient = grants::table
        .filter(grants::recipient_org_id.eq_any(ids))
        .filter(grants::recipient_is_individual.eq(false))
        .count()
        .get_result(conn)?;
    let as_payer = spend_transactions::table
        .filter(spend_transactions::publisher_org_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    let as_payee = spend_transactions::table
        .filter(spend_transactions::supplier_id.eq_any(ids))
        .filter(spend_transactions::supplier_redacted.eq(false))
        .count()
        .get_result(conn)?;
    Ok(Appearances {
        as_buyer,
        as_supplier,
        as_party,
        as_funder,
        as_grant_recipient,
        as_payer,
        as_payee,
    })
}

/// A page of organisations in a stable order (by when first seen), each once (ids that are
/// another's are left out: the canonical row holds their names and roles), optionally those
/// whose name contains `q` (case-insensitive, any of its names) and that have `role`.
pub fn page(
    conn: &mut DbConnection,
    q: Option<&str>,
    role: Option<&str>,
    limit: u32,
    after: Option<i64>,
) -> QueryResult<(Vec<Organisation>, Option<i64>)> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut query = organisations::table
        .into_boxed::<MultiBackend>()
        .filter(
            organisations::org_id.ne_all(org_equivalents::table.select(org_equivalents::org_id)),
        )
        .order(organisations::id.asc());
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(organisations::name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(organisations::name_variants.nullable())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(role) = role {
        query = query.filter(
            organisations::roles
                .like(json_item_like(role, false))
                .escape('\\'),
        );
    }
    if let Some(after) = after {
        query = query.filter(organisations::id.gt(after));
    }
    let mut rows: Vec<Row> = query
        .select(COLUMNS)
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.0)
    } else {
        None
    };
    Ok((rows.into_iter().map(from_row).collect(), next))
}
