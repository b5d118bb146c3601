//! Organisations: one profile per org-id across every role it plays in the register (buyer,
//! supplier, funder...), built from the parties of compiled releases as they are recompiled.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::{
    audit::{json_array, now},
    db::{DbConnection, MultiBackend},
    schema::{grants, organisations, records},
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

/// The organisations of the parties of compiled releases, written together (names and roles
/// are merged, never dropped: an organisation keeps the roles it had in other processes).
/// One lookup for all of them and a write only for those new or changed, instead of a lookup
/// per party of every record (a sync page recompiles about a hundred records of several
/// parties each, nearly all of them known already). Writes what noting each party in turn
/// with [`note`] would.
#[derive(Debug, Default)]
pub struct Parties {
    /// (org-id, name, roles), in the order found.
    noted: Vec<(String, String, Vec<String>)>,
}

impl Parties {
    /// Notes every party of `compiled`, and its awarded suppliers.
    pub fn add(&mut self, compiled: &Value) {
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
            self.noted.push((org_id, name, roles));
        }
    }

    /// Adds the organisations not yet known (in the order first noted, as [`note`] would)
    /// and updates those that gained a name or a role.
    pub fn write(self, conn: &mut DbConnection) -> QueryResult<()> {
        use std::collections::HashMap;

        let mut ids: Vec<&str> = self.noted.iter().map(|(o, _, _)| o.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        // Every organisation noted, as stored (id above 0) or new (id 0), and whether it
        // changed.
        let mut orgs: HashMap<String, (Organisation, bool)> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<Row> = organisations::table
                .filter(organisations::org_id.eq_any(chunk))
                .select(COLUMNS)
                .load(conn)?;
            orgs.extend(rows.into_iter().map(|r| {
                let org = from_row(r);
                (org.org_id.clone(), (org, false))
            }));
        }
        let mut added: Vec<String> = Vec::new();
        for (org_id, name, roles) in self.noted {
            match orgs.get_mut(&org_id) {
                Some((org, changed)) => *changed |= merge_note(org, &name, roles),
                None => {
                    let mut roles = roles;
                    roles.sort();
                    roles.dedup();
                    let org = Organisation {
                        id: 0,
                        org_id: org_id.clone(),
                        name,
                        other_names: Vec::new(),
                        roles,
                    };
                    added.push(org_id.clone());
                    orgs.insert(org_id, (org, true));
                }
            }
        }
        let at = now();
        for org_id in &added {
            let org = &orgs[org_id].0;
            diesel::insert_into(organisations::table)
                .values((
                    organisations::org_id.eq(&org.org_id),
                    organisations::name.eq(&org.name),
                    organisations::name_variants.eq(json_array(&org.other_names)),
                    organisations::roles.eq(json_array(&org.roles)),
                    organisations::partnership_member.eq(false),
                    organisations::created_at.eq(at),
                    organisations::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
        for (org, changed) in orgs.values() {
            if *changed && org.id != 0 {
                update_names_and_roles(conn, org, at)?;
            }
        }
        Ok(())
    }
}

/// Adds `name` (unless it is the organisation's name already) and `roles` to `org`; whether
/// that changed it.
fn merge_note(org: &mut Organisation, name: &str, roles: Vec<String>) -> bool {
    let before = (org.other_names.len(), org.roles.clone());
    if name != org.name && !org.other_names.iter().any(|n| n == name) {
        org.other_names.push(name.to_owned());
    }
    org.roles.extend(roles);
    org.roles.sort();
    org.roles.dedup();
    (org.other_names.len(), &org.roles) != (before.0, &before.1)
}

fn update_names_and_roles(
    conn: &mut DbConnection,
    org: &Organisation,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(organisations::table.filter(organisations::id.eq(org.id)))
        .set((
            organisations::name_variants.eq(json_array(&org.other_names)),
            organisations::roles.eq(json_array(&org.roles)),
            organisations::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that organisation `org_id` appears as `name` in `roles`: a new organisation, or
/// another name and more roles for a known one (written only when something changed).
pub fn note(
    conn: &mut DbConnection,
    org_id: &str,
    name: &str,
    roles: Vec<String>,
) -> QueryResult<()> {
    let existing: Option<Row> = organisations::table
        .filter(organisations::org_id.eq(org_id))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    match existing {
        None => {
            let mut roles = roles;
            roles.sort();
            roles.dedup();
            diesel::insert_into(organisations::table)
                .values((
                    organisations::org_id.eq(org_id),
                    organisations::name.eq(name),
                    organisations::name_variants.eq("[]"),
                    organisations::roles.eq(json_array(&roles)),
                    organisations::partnership_member.eq(false),
                    organisations::created_at.eq(now()),
                    organisations::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        Some(row) => {
            let mut org = from_row(row);
            if merge_note(&mut org, name, roles) {
                update_names_and_roles(conn, &org, now())?;
            }
        }
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

/// Finds an organisation by its org-id (`GB-CHC-1234567`, scheme case-insensitive) or by a
/// bare registration number (`1234567`) that ends exactly one org-id.
pub fn lookup(conn: &mut DbConnection, identifier: &str) -> QueryResult<Lookup> {
    let identifier = identifier.trim();
    let exact: Option<Row> = organisations::table
        .filter(lower(organisations::org_id.nullable()).eq(identifier.to_lowercase()))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    if let Some(row) = exact {
        return Ok(Lookup::Found(from_row(row)));
    }
    let pattern = format!("%-{}", escape_like(identifier));
    let mut rows: Vec<Row> = organisations::table
        .filter(organisations::org_id.like(pattern).escape('\\'))
        .select(COLUMNS)
        .order(organisations::org_id.asc())
        .limit(20)
        .load(conn)?;
    Ok(match rows.len() {
        0 => Lookup::NotFound,
        1 => Lookup::Found(from_row(rows.remove(0))),
        _ => Lookup::Ambiguous(rows.into_iter().map(|r| r.1).collect()),
    })
}

/// Counts of the records the organisation appears in.
pub fn appearances(conn: &mut DbConnection, org_id: &str) -> QueryResult<Appearances> {
    let as_buyer = records::table
        .filter(records::buyer_org_id.eq(org_id))
        .count()
        .get_result(conn)?;
    let as_supplier = records::table
        .filter(records::supplier_org_ids.like(json_item_like(org_id, false)))
        .count()
        .get_result(conn)?;
    let as_party = records::table
        .filter(records::party_org_ids.like(json_item_like(org_id, false)))
        .count()
        .get_result(conn)?;
    let as_funder = grants::table
        .filter(grants::funder_org_id.eq(org_id))
        .count()
        .get_result(conn)?;
    let as_grant_recipient = grants::table
        .filter(grants::recipient_org_id.eq(org_id))
        .filter(grants::recipient_is_individual.eq(false))
        .count()
        .get_result(conn)?;
    Ok(Appearances {
        as_buyer,
        as_supplier,
        as_party,
        as_funder,
        as_grant_recipient,
    })
}

/// A page of organisations in a stable order (by when first seen), optionally those whose
/// name contains `q` (case-insensitive) and that have `role`.
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
        .order(organisations::id.asc());
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(organisations::name.nullable())
                .like(pattern)
                .escape('\\'),
        );
    }
    if let Some(role) = role {
        query = query.filter(organisations::roles.like(json_item_like(role, false)));
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
