//! The release store: releases are the source of truth (append-only; a correction is a new
//! release) and each ocid's record is recompiled from all of its releases whenever one
//! arrives, in the same transaction, so the record never disagrees with its releases.

use std::sync::OnceLock;

use diesel::prelude::*;
use ocds::merge::{MergeError, MergeRules};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    audit::{json_array, now},
    db::DbConnection,
    schema::{records, releases},
    summary::{self, RecordSummary},
};

/// What storing one release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// New (ocid, id): stored, and its record recompiled.
    Created,
    /// The same (ocid, id) with the same content was already stored: nothing changed.
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    pub ocid: String,
    pub id: String,
    pub status: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{pointer}: {message}")]
    Invalid { pointer: String, message: String },
    #[error(
        "release {id} of {ocid} already exists with different content; releases are immutable: publish a correction as a new release with a new id"
    )]
    Conflict { ocid: String, id: String },
    #[error("the releases of {ocid} cannot be merged: {source}")]
    Merge { ocid: String, source: MergeError },
    #[error("stored release of {ocid} is not valid JSON: {source}")]
    Corrupt {
        ocid: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Merge rules of the schema the register publishes (OCDS 1.1.5 core for now), derived once.
pub fn merge_rules() -> &'static MergeRules {
    static RULES: OnceLock<MergeRules> = OnceLock::new();
    RULES.get_or_init(|| {
        MergeRules::from_schema(ocds::validate::Schema::core().release_schema())
            .unwrap_or_else(|_| MergeRules::empty())
    })
}

/// The identity of a release: its `ocid` and `id` as strings (a numeric id is kept as its
/// text), or an error locating what is missing.
pub fn identity(release: &Value, pointer: &str) -> Result<(String, String), StoreError> {
    let invalid = |field: &str, message: &str| StoreError::Invalid {
        pointer: format!("{pointer}/{field}"),
        message: message.to_owned(),
    };
    let ocid = release
        .get("ocid")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("ocid", "a release needs an ocid (a non-empty string)"))?;
    let id = match release.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(invalid("id", "a release needs an id (a non-empty string)")),
    };
    Ok((ocid.to_owned(), id))
}

fn content_hash(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores `releases` (each located by `pointers[i]` for errors) and recompiles every touched
/// record. Run it inside the caller's transaction (with the audit entry) so a failure stores
/// nothing: an error here means the caller must roll back.
pub fn store(
    conn: &mut DbConnection,
    incoming: &[(Value, String)],
    source: &str,
    publisher_org_id: Option<&str>,
) -> Result<Vec<Stored>, StoreError> {
    let mut stored = Vec::with_capacity(incoming.len());
    let mut touched: Vec<String> = Vec::new();
    let received_at = now();
    for (release, pointer) in incoming {
        let (ocid, id) = identity(release, pointer)?;
        let body = serde_json::to_string(release).map_err(|source| StoreError::Corrupt {
            ocid: ocid.clone(),
            source,
        })?;
        let hash = content_hash(&body);
        let existing: Option<(String, String)> = releases::table
            .filter(releases::ocid.eq(&ocid))
            .filter(releases::release_id.eq(&id))
            .select((releases::content_hash, releases::body))
            .first(conn)
            .optional()?;
        let status = match existing {
            Some((stored_hash, _)) if stored_hash == hash => Outcome::Unchanged,
            Some((_, stored_body)) => {
                // The same content serialised with another key order is still the same release.
                let previous: Value =
                    serde_json::from_str(&stored_body).map_err(|source| StoreError::Corrupt {
                        ocid: ocid.clone(),
                        source,
                    })?;
                if &previous == release {
                    Outcome::Unchanged
                } else {
                    return Err(StoreError::Conflict { ocid, id });
                }
            }
            None => {
                diesel::insert_into(releases::table)
                    .values((
                        releases::ocid.eq(&ocid),
                        releases::release_id.eq(&id),
                        releases::release_date.eq(release.get("date").and_then(Value::as_str)),
                        releases::publisher_org_id.eq(publisher_org_id),
                        releases::source.eq(source),
                        releases::received_at.eq(received_at),
                        releases::content_hash.eq(&hash),
                        releases::body.eq(&body),
                    ))
                    .execute(conn)?;
                if !touched.contains(&ocid) {
                    touched.push(ocid.clone());
                }
                Outcome::Created
            }
        };
        stored.push(Stored { ocid, id, status });
    }
    for ocid in &touched {
        recompile(conn, ocid)?;
    }
    Ok(stored)
}

/// Rebuilds the record of `ocid` from all its stored releases (merging sorts them by date, so
/// a late-arriving older release lands where it belongs).
pub fn recompile(conn: &mut DbConnection, ocid: &str) -> Result<(), StoreError> {
    let bodies: Vec<String> = releases::table
        .filter(releases::ocid.eq(ocid))
        .order(releases::id.asc())
        .select(releases::body)
        .load(conn)?;
    let corrupt = |source| StoreError::Corrupt {
        ocid: ocid.to_owned(),
        source,
    };
    let parsed = bodies
        .iter()
        .map(|b| serde_json::from_str::<Value>(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let count = i32::try_from(parsed.len()).unwrap_or(i32::MAX);
    let record =
        ocds::merge::merge_record(merge_rules(), parsed).map_err(|source| StoreError::Merge {
            ocid: ocid.to_owned(),
            source,
        })?;
    let compiled = record.compiled_value();
    let versioned = serde_json::to_string(&record.versioned()).map_err(corrupt)?;
    let compiled_text = serde_json::to_string(&compiled).map_err(corrupt)?;
    let s: RecordSummary = summary::summarise(&compiled);
    let json = json_array;
    let columns = (
        records::compiled_release.eq(&compiled_text),
        records::versioned_release.eq(Some(&versioned)),
        records::release_count.eq(count),
        records::title.eq(&s.title),
        records::description.eq(&s.description),
        records::stage.eq(&s.stage),
        records::status.eq(&s.status),
        records::buyer_org_id.eq(&s.buyer_org_id),
        records::party_org_ids.eq(json(&s.party_org_ids)),
        records::supplier_org_ids.eq(json(&s.supplier_org_ids)),
        records::value_amount.eq(s.value_amount),
        records::value_currency.eq(&s.value_currency),
        records::published_at.eq(s.published_at),
        records::tender_deadline.eq(s.tender_deadline),
        records::contract_start.eq(s.contract_start),
        records::contract_end.eq(s.contract_end),
        records::cpv_codes.eq(json(&s.cpv_codes)),
        records::service_category.eq(&s.service_category),
        records::delivery_area.eq(&s.delivery_area),
        records::vcse_suitable.eq(s.vcse_suitable),
        records::sme_suitable.eq(s.sme_suitable),
        records::updated_at.eq(now()),
    );
    // Update, else insert: upserts do not go through the multi-backend connection
    // (rust-stack.md, pitfall 2), and this runs inside the caller's transaction.
    let updated = diesel::update(records::table.filter(records::ocid.eq(ocid)))
        .set(columns.clone())
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(records::table)
            .values((records::ocid.eq(ocid), columns))
            .execute(conn)?;
    }
    Ok(())
}

/// One stored record: its releases (in the order received) and merged releases.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub ocid: String,
    pub releases: Vec<Value>,
    pub compiled_release: Value,
    pub versioned_release: Option<Value>,
}

/// The record of `ocid`, if any release of it is stored.
pub fn get_record(
    conn: &mut DbConnection,
    ocid: &str,
    with_versioned: bool,
) -> Result<Option<StoredRecord>, StoreError> {
    let row: Option<(String, Option<String>)> = records::table
        .filter(records::ocid.eq(ocid))
        .select((records::compiled_release, records::versioned_release))
        .first(conn)
        .optional()?;
    let Some((compiled, versioned)) = row else {
        return Ok(None);
    };
    let corrupt = |source| StoreError::Corrupt {
        ocid: ocid.to_owned(),
        source,
    };
    let bodies: Vec<String> = releases::table
        .filter(releases::ocid.eq(ocid))
        .order(releases::id.asc())
        .select(releases::body)
        .load(conn)?;
    let releases = bodies
        .iter()
        .map(|b| serde_json::from_str(b))
        .collect::<Result<Vec<Value>, _>>()
        .map_err(corrupt)?;
    let versioned_release = match (with_versioned, versioned) {
        (true, Some(text)) => Some(serde_json::from_str(&text).map_err(corrupt)?),
        _ => None,
    };
    Ok(Some(StoredRecord {
        ocid: ocid.to_owned(),
        releases,
        compiled_release: serde_json::from_str(&compiled).map_err(corrupt)?,
        versioned_release,
    }))
}
