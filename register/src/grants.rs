//! 360Giving grants as imported: one row per grant identifier, replaced when a re-published
//! file changes it, never duplicated. A grant to an individual keeps only the anonymised
//! recipient id.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{audit::now, db::DbConnection, schema::grants};

/// One grant to store.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    pub grant_id: String,
    pub title: String,
    pub description: String,
    pub currency: String,
    pub amount_awarded_pence: i64,
    pub award_date: NaiveDate,
    pub funder_org_id: String,
    pub funder_name: String,
    /// Other org-ids the funder is known by (from its charity and company numbers): recorded
    /// as equivalent to `funder_org_id` ([`crate::identity`]). Usually empty.
    pub funder_equivalent_ids: Vec<String>,
    pub recipient_org_id: String,
    /// Absent for an individual.
    pub recipient_name: Option<String>,
    pub recipient_is_individual: bool,
    /// Other org-ids the recipient organisation is known by, as for the funder (never set for
    /// an individual).
    pub recipient_equivalent_ids: Vec<String>,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub programme: Option<String>,
    /// Where in its file: a JSON pointer or `line N`.
    pub position: String,
    /// The grant as 360Giving JSON.
    pub body: String,
}

/// What storing a file's grants did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Stores `rows` of the file `source_file`. Run it inside the caller's transaction.
pub fn store_grants(
    conn: &mut DbConnection,
    source_file: &str,
    run_id: Option<i64>,
    rows: &[GrantRow],
) -> Result<Stored, diesel::result::Error> {
    let mut stored = Stored::default();
    let imported_at = now();
    for row in rows {
        let hash = crate::digest::sha256_hex(row.body.as_bytes());
        let known: Option<String> = grants::table
            .filter(grants::grant_id.eq(&row.grant_id))
            .select(grants::content_hash)
            .first(conn)
            .optional()?;
        let values = (
            grants::title.eq(&row.title),
            grants::description.eq(&row.description),
            grants::currency.eq(&row.currency),
            grants::amount_awarded_pence.eq(row.amount_awarded_pence),
            grants::award_date.eq(row.award_date),
            grants::funder_org_id.eq(&row.funder_org_id),
            grants::funder_name.eq(&row.funder_name),
            grants::recipient_org_id.eq(&row.recipient_org_id),
            grants::recipient_name.eq(row.recipient_name.as_deref()),
            grants::recipient_is_individual.eq(row.recipient_is_individual),
            grants::planned_start.eq(row.planned_start),
            grants::planned_end.eq(row.planned_end),
            grants::programme.eq(row.programme.as_deref()),
            grants::source_file.eq(source_file),
            grants::position.eq(&row.position),
            grants::run_id.eq(run_id),
            grants::content_hash.eq(&hash),
            grants::body.eq(&row.body),
            grants::imported_at.eq(imported_at),
        );
        let changed = known.as_deref() != Some(hash.as_str());
        match known {
            Some(known) if known == hash => stored.unchanged += 1,
            Some(_) => {
                diesel::update(grants::table.filter(grants::grant_id.eq(&row.grant_id)))
                    .set(values)
                    .execute(conn)?;
                stored.updated += 1;
            }
            None => {
                diesel::insert_into(grants::table)
                    .values((grants::grant_id.eq(&row.grant_id), values))
                    .execute(conn)?;
                stored.created += 1;
            }
        }
        if changed {
            // Funders and recipients get organisation profiles (never an individual), one
            // per organisation whichever of its ids a grant uses.
            note_organisation(
                conn,
                &row.funder_org_id,
                &row.funder_name,
                &row.funder_equivalent_ids,
                "funder",
                &row.grant_id,
            )?;
            if let (false, Some(name)) = (row.recipient_is_individual, &row.recipient_name) {
                note_organisation(
                    conn,
                    &row.recipient_org_id,
                    name,
                    &row.recipient_equivalent_ids,
                    "grantRecipient",
                    &row.grant_id,
                )?;
            }
        }
    }
    Ok(stored)
}

fn note_organisation(
    conn: &mut DbConnection,
    org_id: &str,
    name: &str,
    equivalent_ids: &[String],
    role: &str,
    grant_id: &str,
) -> QueryResult<()> {
    crate::organisations::note(conn, org_id, name, vec![role.to_owned()])?;
    if equivalent_ids.iter().any(|id| id != org_id) {
        let mut ids = vec![org_id.to_owned()];
        ids.extend(equivalent_ids.iter().cloned());
        crate::identity::record(
            conn,
            &ids,
            name,
            crate::identity::GRANT_ORGANISATION,
            grant_id,
        )?;
    }
    Ok(())
}
