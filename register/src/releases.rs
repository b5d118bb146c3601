//! The release store: releases are the source of truth (append-only; a correction is a new
//! release) and each ocid's record is recompiled from all of its releases whenever one
//! arrives, in the same transaction, so the record never disagrees with its releases.

use std::sync::OnceLock;

use diesel::prelude::*;
use ocds::merge::{MergeError, MergeRules};
use serde::Serialize;
use serde_json::Value;

use crate::{
    audit::{json_array, now},
    commissioning,
    db::DbConnection,
    schema::{records, records_fts, releases},
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
    crate::digest::sha256_hex(body.as_bytes())
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
        // Privacy by default: hashed and stored without personal data (crate::privacy).
        let redacted = crate::privacy::redacted(release);
        let release: &Value = &redacted;
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
    let mut relink = std::collections::BTreeSet::new();
    for ocid in &touched {
        recompile_into(conn, ocid, &mut relink)?;
    }
    crate::relink_queue::queue(conn, relink.iter().map(String::as_str))?;
    Ok(stored)
}

/// Rebuilds the record of `ocid` from all its stored releases (merging sorts them by date, so
/// a late-arriving older release lands where it belongs).
pub fn recompile(conn: &mut DbConnection, ocid: &str) -> Result<(), StoreError> {
    let mut relink = std::collections::BTreeSet::new();
    recompile_into(conn, ocid, &mut relink)?;
    Ok(crate::relink_queue::queue(
        conn,
        relink.iter().map(String::as_str),
    )?)
}

/// [`recompile`], adding the buyers whose payments may now link differently to `relink`,
/// for the caller to queue once for all the records it recompiles.
fn recompile_into(
    conn: &mut DbConnection,
    ocid: &str,
    relink: &mut std::collections::BTreeSet<String>,
) -> Result<(), StoreError> {
    let bodies: Vec<String> = releases::table
        .filter(releases::ocid.eq(ocid))
        .order(releases::id.asc())
        .select(releases::body)
        .load(conn)?;
    let corrupt = |source| StoreError::Corrupt {
        ocid: ocid.to_owned(),
        source,
    };
    let count = i32::try_from(bodies.len()).unwrap_or(i32::MAX);
    let record = merge_stored(ocid, &bodies)?;
    let compiled = record.compiled_value();
    let compiled_text = serde_json::to_string(&compiled).map_err(corrupt)?;
    let derived = DerivedColumns::of(&compiled);
    // Payments may now belong to (or no longer match) this process's contracts.
    if derived
        .stage
        .as_deref()
        .is_some_and(|stage| crate::relink_queue::LINKABLE_STAGES.contains(&stage))
    {
        let partners: Vec<String> =
            serde_json::from_str(&derived.partner_org_ids).unwrap_or_default();
        relink.extend(derived.buyer_org_id.iter().chain(&partners).cloned());
    }
    // The versioned release is not stored: it is the largest text of a record (four times
    // the compiled release, and growing with every release) and rewriting it with every
    // release was a fifth of a sync's time, while only `GET /records/{ocid}?versioned=true`
    // reads it. [`get_record_text`] builds it from the releases instead; NULL also clears
    // one stored by an earlier version, which would now be stale.
    let columns = (
        records::compiled_release.eq(&compiled_text),
        records::versioned_release.eq(None::<String>),
        records::release_count.eq(count),
        records::updated_at.eq(now()),
    );
    // Update, else insert: upserts do not go through the multi-backend connection
    // (rust-stack.md, pitfall 2), and this runs inside the caller's transaction.
    let stored: Option<(i64, DerivedColumns)> = records::table
        .filter(records::ocid.eq(ocid))
        .select((records::id, DerivedColumns::as_select()))
        .first(conn)
        .optional()?;
    let record_id = match stored {
        Some((id, stored)) => {
            // Only the columns that changed: setting a column rewrites its index entries
            // even to the same value, and a release rarely changes more than a few of them
            // (a feed sending newest first adds the older releases of a process after its
            // latest, which keeps its current state).
            diesel::update(records::table.filter(records::id.eq(id)))
                .set((columns, derived.changes_from(&stored)))
                .execute(conn)?;
            id
        }
        None => diesel::insert_into(records::table)
            .values((records::ocid.eq(ocid), columns, &derived))
            .returning(records::id)
            .get_result(conn)?,
    };
    crate::organisations::upsert_parties(conn, &compiled)?;
    // Replace the record's search text when it changed (most later releases of a process
    // repeat its title and description): delete-then-insert works alike on an FTS5 table
    // and a plain one.
    let text = summary::search_text(&compiled);
    let indexed: Option<String> = records_fts::table
        .filter(records_fts::rowid.eq(record_id))
        .select(records_fts::body)
        .first(conn)
        .optional()?;
    if indexed.as_deref() != Some(text.as_str()) {
        diesel::delete(records_fts::table.filter(records_fts::rowid.eq(record_id)))
            .execute(conn)?;
        diesel::insert_into(records_fts::table)
            .values((
                records_fts::rowid.eq(record_id),
                records_fts::body.eq(&text),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The merged record of `ocid` from its stored release texts, in the order received. Merging
/// it whole (not only its compiled release) also checks that a versioned release can be
/// built, which [`get_record_text`] does when asked for one.
fn merge_stored(ocid: &str, bodies: &[String]) -> Result<ocds::merge::Record, StoreError> {
    let parsed = bodies
        .iter()
        .map(|b| serde_json::from_str::<Value>(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| StoreError::Corrupt {
            ocid: ocid.to_owned(),
            source,
        })?;
    ocds::merge::merge_record(merge_rules(), parsed).map_err(|source| StoreError::Merge {
        ocid: ocid.to_owned(),
        source,
    })
}

/// Declares [`DerivedColumns`] and [`DerivedChanges`] from one list of columns.
macro_rules! derived_columns {
    ($($column:ident: $ty:ty,)*) => {
        /// The query columns of a record (summary, commissioning and outcomes), all derived
        /// from its compiled release: one struct for the update and the insert of
        /// [`recompile`] and for [`refresh_derived_columns`].
        #[derive(Debug, AsChangeset, Insertable, Queryable, Selectable)]
        #[diesel(table_name = records, treat_none_as_null = true)]
        struct DerivedColumns {
            $($column: $ty,)*
        }

        /// The derived columns that differ from those stored (`None`: left as it is).
        #[derive(AsChangeset)]
        #[diesel(table_name = records)]
        struct DerivedChanges {
            $($column: Option<$ty>,)*
        }

        impl DerivedColumns {
            fn changes_from(self, stored: &Self) -> DerivedChanges {
                DerivedChanges {
                    $($column: (self.$column != stored.$column).then_some(self.$column),)*
                }
            }
        }
    };
}

derived_columns! {
    title: Option<String>,
    description: Option<String>,
    stage: Option<String>,
    status: Option<String>,
    buyer_org_id: Option<String>,
    party_org_ids: String,
    supplier_org_ids: String,
    value_amount: Option<f64>,
    value_currency: Option<String>,
    published_at: Option<chrono::NaiveDateTime>,
    tender_deadline: Option<chrono::NaiveDateTime>,
    contract_start: Option<chrono::NaiveDateTime>,
    contract_end: Option<chrono::NaiveDateTime>,
    cpv_codes: String,
    service_category: Option<String>,
    delivery_area: Option<String>,
    vcse_suitable: Option<bool>,
    sme_suitable: Option<bool>,
    partner_org_ids: String,
    commissioning_level: Option<String>,
    outcome_areas: String,
    latest_rating: Option<String>,
    commissioning: Option<String>,
    outcomes: Option<String>,
    match_key: Option<String>,
}

impl DerivedColumns {
    fn of(compiled: &Value) -> Self {
        let s: RecordSummary = summary::summarise(compiled);
        let intention = commissioning::intention_summary(compiled);
        let outcomes = commissioning::outcome_summary(compiled);
        let ocid = compiled
            .get("ocid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let match_key = crate::same_process::match_key(ocid, compiled, s.title.as_deref());
        Self {
            match_key,
            title: s.title,
            description: s.description,
            stage: s.stage,
            status: s.status,
            buyer_org_id: s.buyer_org_id,
            party_org_ids: json_array(&s.party_org_ids),
            supplier_org_ids: json_array(&s.supplier_org_ids),
            value_amount: s.value_amount,
            value_currency: s.value_currency,
            published_at: s.published_at,
            tender_deadline: s.tender_deadline,
            contract_start: s.contract_start,
            contract_end: s.contract_end,
            cpv_codes: json_array(&s.cpv_codes),
            service_category: s.service_category,
            delivery_area: s.delivery_area,
            vcse_suitable: s.vcse_suitable,
            sme_suitable: s.sme_suitable,
            // An intention's summary already holds its partners; compute them only otherwise.
            partner_org_ids: json_array(&intention.as_ref().map_or_else(
                || commissioning::partner_org_ids(compiled),
                |i| i.partners.clone(),
            )),
            commissioning_level: intention.as_ref().and_then(|i| i.level.clone()),
            outcome_areas: json_array(
                intention
                    .as_ref()
                    .map_or(&[][..], |i| i.outcome_areas.as_slice()),
            ),
            latest_rating: outcomes
                .as_ref()
                .and_then(|o| o.latest_rating)
                .map(|r| r.code().to_owned()),
            // Serialising plain structs cannot fail; a summary is never worth failing a store.
            commissioning: intention.and_then(|i| serde_json::to_string(&i).ok()),
            outcomes: outcomes.and_then(|o| serde_json::to_string(&o).ok()),
        }
    }
}

/// Recomputes every record's derived columns from its stored compiled release, without
/// merging again: run after a migration adds or changes derived columns, so records stored
/// before it get them. Batches of 500 records, each batch one transaction; `progress` is
/// told the number of records done so far.
pub fn refresh_derived_columns(
    conn: &mut DbConnection,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    const BATCH: i64 = 500;
    let mut after = 0_i64;
    let mut done = 0_u64;
    loop {
        let batch: Vec<(i64, String, String)> = records::table
            .filter(records::id.gt(after))
            .order(records::id.asc())
            .select((records::id, records::ocid, records::compiled_release))
            .limit(BATCH)
            .load(conn)?;
        let Some(last) = batch.last() else {
            return Ok(done);
        };
        after = last.0;
        conn.transaction(|conn| {
            for (id, ocid, text) in &batch {
                let compiled: Value =
                    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
                        ocid: ocid.clone(),
                        source,
                    })?;
                diesel::update(records::table.filter(records::id.eq(id)))
                    .set(&DerivedColumns::of(&compiled))
                    .execute(conn)?;
            }
            let ocids: Vec<String> = batch.iter().map(|(_, ocid, _)| ocid.clone()).collect();
            crate::same_process::link(conn, &ocids)?;
            Ok::<_, StoreError>(())
        })?;
        done += batch.len() as u64;
        progress(done);
    }
}

/// The compiled release of `ocid`, if a record of it is stored.
pub fn compiled_release(conn: &mut DbConnection, ocid: &str) -> Result<Option<Value>, StoreError> {
    let text: Option<String> = records::table
        .filter(records::ocid.eq(ocid))
        .select(records::compiled_release)
        .first(conn)
        .optional()?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|source| StoreError::Corrupt {
            ocid: ocid.to_owned(),
            source,
        })
    })
    .transpose()
}

/// One stored record as the JSON texts stored: serving it needs no parsing.
#[derive(Debug, Clone)]
pub struct StoredRecordText {
    pub releases: Vec<String>,
    pub compiled_release: String,
    pub versioned_release: Option<String>,
}

/// The record of `ocid` as stored JSON text, if any release of it is stored.
pub fn get_record_text(
    conn: &mut DbConnection,
    ocid: &str,
    with_versioned: bool,
) -> Result<Option<StoredRecordText>, StoreError> {
    let row: Option<(String, Option<String>)> = if with_versioned {
        records::table
            .filter(records::ocid.eq(ocid))
            .select((records::compiled_release, records::versioned_release))
            .first(conn)
            .optional()?
    } else {
        // The versioned release is the largest column: not read unless asked for.
        records::table
            .filter(records::ocid.eq(ocid))
            .select(records::compiled_release)
            .first::<String>(conn)
            .optional()?
            .map(|compiled| (compiled, None))
    };
    let Some((compiled_release, stored_versioned)) = row else {
        return Ok(None);
    };
    let releases: Vec<String> = releases::table
        .filter(releases::ocid.eq(ocid))
        .order(releases::id.asc())
        .select(releases::body)
        .load(conn)?;
    // Records compiled by an earlier version may still hold theirs, current until their next
    // recompile clears it; [`recompile`] no longer stores it, so it is built from the
    // releases, merged as the compiled release was.
    let versioned_release = match stored_versioned {
        Some(text) => Some(text),
        None if with_versioned => {
            let record = merge_stored(ocid, &releases)?;
            Some(
                serde_json::to_string(&record.versioned()).map_err(|source| {
                    StoreError::Corrupt {
                        ocid: ocid.to_owned(),
                        source,
                    }
                })?,
            )
        }
        None => None,
    };
    Ok(Some(StoredRecordText {
        releases,
        compiled_release,
        versioned_release,
    }))
}

/// A page of stored releases in the order received (the change feed): filtered by the
/// record filters of `filters` and `received_since`; after release row `after`.
pub fn list(
    conn: &mut DbConnection,
    filters: &crate::views::Filters,
    received_since: Option<chrono::NaiveDateTime>,
    limit: u32,
    after: Option<i64>,
) -> Result<(Vec<Value>, Option<i64>), StoreError> {
    let limit = limit.clamp(1, crate::views::MAX_LIMIT);
    let backend = conn.backend();
    let mut query = crate::apply_record_filters!(
        releases::table
            .inner_join(records::table.on(records::ocid.eq(releases::ocid)))
            .into_boxed::<crate::db::MultiBackend>(),
        crate::views::View::Records,
        filters,
        backend
    )
    .order(releases::id.asc());
    if let Some(since) = received_since {
        query = query.filter(releases::received_at.ge(since));
    }
    if let Some(after) = after {
        query = query.filter(releases::id.gt(after));
    }
    let mut rows: Vec<(i64, String)> = query
        .select((releases::id, releases::body))
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(id, _)| *id)
    } else {
        None
    };
    let releases = rows
        .into_iter()
        .map(|(_, body)| {
            serde_json::from_str(&body).map_err(|source| StoreError::Corrupt {
                ocid: String::new(),
                source,
            })
        })
        .collect::<Result<Vec<Value>, _>>()?;
    Ok((releases, next))
}

/// For each of `ocids`, its releases as OCDS linked releases (url, date, tag), in the order
/// received; `url_of(ocid, id)` builds the link.
pub fn linked_releases(
    conn: &mut DbConnection,
    ocids: &[String],
    url_of: impl Fn(&str, &str) -> String,
) -> Result<std::collections::HashMap<String, Vec<Value>>, StoreError> {
    let rows: Vec<(String, String, Option<String>, String)> = releases::table
        .filter(releases::ocid.eq_any(ocids))
        .order(releases::id.asc())
        .select((
            releases::ocid,
            releases::release_id,
            releases::release_date,
            releases::body,
        ))
        .load(conn)?;
    let mut linked: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for (ocid, id, date, body) in rows {
        let tag = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|r| r.get("tag").cloned())
            .unwrap_or(Value::Array(Vec::new()));
        let entry = serde_json::json!({"url": url_of(&ocid, &id), "date": date, "tag": tag});
        linked.entry(ocid).or_default().push(entry);
    }
    Ok(linked)
}

// ---------------------------------------------------------------------------------------------
// Bulk loading: `ocreg import` and the demo register.

/// Releases per `eq_any` lookup and per multi-row insert: far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const BULK_CHUNK: usize = 500;

/// A release ready for [`store_batch`]: its identity, the text stored and that text's hash.
/// Making one needs no database, so a bulk loader prepares releases on another thread.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub ocid: String,
    pub id: String,
    date: Option<String>,
    body: String,
    hash: String,
}

impl Prepared {
    /// The release's text as it is stored (redacted).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Checks the release's identity (errors point at `/ocid` or `/id`) and serialises it as
    /// [`store`] would.
    pub fn new(release: &Value) -> Result<Self, StoreError> {
        let (ocid, id) = identity(release, "")?;
        // Privacy by default: hashed and stored without personal data (crate::privacy).
        let redacted = crate::privacy::redacted(release);
        let release: &Value = &redacted;
        let body = serde_json::to_string(release).map_err(|source| StoreError::Corrupt {
            ocid: ocid.clone(),
            source,
        })?;
        let hash = content_hash(&body);
        Ok(Self {
            ocid,
            id,
            date: release
                .get("date")
                .and_then(Value::as_str)
                .map(str::to_owned),
            body,
            hash,
        })
    }
}

/// Why [`store_batch`] left a release out. The rest of the batch is stored regardless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The same (ocid, id) is already stored, or came earlier in the input, with other content.
    #[error(
        "release {id} of {ocid} already exists with different content; releases are immutable: publish a correction as a new release with a new id"
    )]
    Conflict { ocid: String, id: String },
    /// The ocid's releases, this one included, cannot be merged into a record (or a stored
    /// release of it is unreadable); none of the batch's new releases of the ocid is kept.
    #[error("{0}")]
    Unmergeable(String),
}

/// What [`store_batch`] did.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// One entry per release of the batch, in order.
    pub results: Vec<Result<Outcome, Rejection>>,
    /// The ocids whose records were recompiled (each once), in order of first appearance.
    pub recompiled: Vec<String>,
}

impl BatchOutcome {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results
            .iter()
            .filter(|r| r.as_ref() == Ok(&outcome))
            .count()
    }

    pub fn rejected(&self) -> usize {
        self.results.iter().filter(|r| r.is_err()).count()
    }
}

/// Stores a batch of releases for a bulk load and recompiles each touched record once,
/// however many of the batch's releases it has. Unlike [`store`], a release that conflicts
/// with a stored one (or with an earlier one of the batch), or whose ocid no longer merges,
/// costs only itself (and, for a merge failure, the batch's other new releases of that ocid):
/// it is reported in [`BatchOutcome::results`] and the rest is stored. Run it inside the
/// caller's transaction; an `Err` (a database error) means the caller must roll back.
pub fn store_batch(
    conn: &mut DbConnection,
    batch: &[Prepared],
    source: &str,
    publisher_org_id: Option<&str>,
) -> Result<BatchOutcome, StoreError> {
    use std::collections::HashMap;

    // What is stored already under the batch's ocids: one query per chunk of ocids.
    let mut ocids: Vec<&str> = batch.iter().map(|p| p.ocid.as_str()).collect();
    ocids.sort_unstable();
    ocids.dedup();
    let mut stored: HashMap<(String, String), String> = HashMap::new();
    for chunk in ocids.chunks(BULK_CHUNK) {
        let rows: Vec<(String, String, String)> = releases::table
            .filter(releases::ocid.eq_any(chunk))
            .select((releases::ocid, releases::release_id, releases::content_hash))
            .load(conn)?;
        stored.extend(rows.into_iter().map(|(o, i, h)| ((o, i), h)));
    }

    // Classify each release against the store and against the batch's earlier ones.
    let mut results = Vec::with_capacity(batch.len());
    // Whether a result depends on a release new in this batch (dropped if its ocid fails).
    let mut new_here = Vec::with_capacity(batch.len());
    let mut first_new: HashMap<(&str, &str), usize> = HashMap::new();
    let mut inserts: Vec<&Prepared> = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        let conflict = || Rejection::Conflict {
            ocid: p.ocid.clone(),
            id: p.id.clone(),
        };
        let (result, is_new) = if let Some(hash) = stored.get(&(p.ocid.clone(), p.id.clone())) {
            let same = *hash == p.hash || {
                // The same content serialised with another key order is still the same release.
                let body: String = releases::table
                    .filter(releases::ocid.eq(&p.ocid))
                    .filter(releases::release_id.eq(&p.id))
                    .select(releases::body)
                    .first(conn)?;
                same_content(&p.ocid, &body, &p.body)?
            };
            (
                if same {
                    Ok(Outcome::Unchanged)
                } else {
                    Err(conflict())
                },
                false,
            )
        } else if let Some(&j) = first_new.get(&(p.ocid.as_str(), p.id.as_str())) {
            let earlier = &batch[j];
            let same = earlier.hash == p.hash || same_content(&p.ocid, &earlier.body, &p.body)?;
            (
                if same {
                    Ok(Outcome::Unchanged)
                } else {
                    Err(conflict())
                },
                true,
            )
        } else {
            first_new.insert((p.ocid.as_str(), p.id.as_str()), i);
            inserts.push(p);
            (Ok(Outcome::Created), true)
        };
        results.push(result);
        new_here.push(is_new);
    }

    insert_many(conn, &inserts, source, publisher_org_id)?;

    // Recompile each touched ocid once. A merge failure drops the batch's new releases of it,
    // so the record stays what its stored releases make.
    let mut touched: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in &inserts {
        if seen.insert(p.ocid.as_str()) {
            touched.push(p.ocid.as_str());
        }
    }
    let mut recompiled = Vec::with_capacity(touched.len());
    let mut relink = std::collections::BTreeSet::new();
    for ocid in touched {
        match recompile_into(conn, ocid, &mut relink) {
            Ok(()) => recompiled.push(ocid.to_owned()),
            Err(e @ (StoreError::Merge { .. } | StoreError::Corrupt { .. })) => {
                let ids: Vec<&str> = inserts
                    .iter()
                    .filter(|p| p.ocid == ocid)
                    .map(|p| p.id.as_str())
                    .collect();
                for chunk in ids.chunks(BULK_CHUNK) {
                    diesel::delete(
                        releases::table
                            .filter(releases::ocid.eq(ocid))
                            .filter(releases::release_id.eq_any(chunk)),
                    )
                    .execute(conn)?;
                }
                let message = e.to_string();
                for (i, p) in batch.iter().enumerate() {
                    if p.ocid == ocid && new_here[i] && results[i].is_ok() {
                        results[i] = Err(Rejection::Unmergeable(message.clone()));
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    crate::relink_queue::queue(conn, relink.iter().map(String::as_str))?;
    Ok(BatchOutcome {
        results,
        recompiled,
    })
}

/// [`store_batch`] in its own transaction, with one audit entry (`release.import`, the
/// recompiled ocids as subjects) when it stored anything.
pub fn import_batch(
    conn: &mut DbConnection,
    batch: &[Prepared],
    source: &str,
    actor: &str,
) -> Result<BatchOutcome, StoreError> {
    conn.transaction(|conn| {
        let outcome = store_batch(conn, batch, source, None)?;
        if !outcome.recompiled.is_empty() {
            crate::audit::record(
                conn,
                crate::audit::NewAuditEntry {
                    actor: actor.to_owned(),
                    action: "release.import".to_owned(),
                    subject_ids: outcome.recompiled.clone(),
                    request_id: None,
                    detail: Some(serde_json::json!({
                        "source": source,
                        "created": outcome.count(Outcome::Created),
                        "unchanged": outcome.count(Outcome::Unchanged),
                        "rejected": outcome.rejected(),
                    })),
                },
            )?;
        }
        Ok(outcome)
    })
}

/// How many releases are stored.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(releases::table.count().get_result(conn)?)
}

/// Whether two release texts hold the same JSON (key order aside).
fn same_content(ocid: &str, stored: &str, incoming: &str) -> Result<bool, StoreError> {
    let corrupt = |source| StoreError::Corrupt {
        ocid: ocid.to_owned(),
        source,
    };
    let a: Value = serde_json::from_str(stored).map_err(corrupt)?;
    let b: Value = serde_json::from_str(incoming).map_err(corrupt)?;
    Ok(a == b)
}

/// Multi-row inserts of new releases. They do not go through the multi-backend connection
/// (rust-stack.md, pitfall 2), so the query runs on the inner connection.
fn insert_many(
    conn: &mut DbConnection,
    rows: &[&Prepared],
    source: &str,
    publisher_org_id: Option<&str>,
) -> Result<(), StoreError> {
    let received_at = now();
    for chunk in rows.chunks(BULK_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    releases::ocid.eq(&p.ocid),
                    releases::release_id.eq(&p.id),
                    releases::release_date.eq(p.date.as_deref()),
                    releases::publisher_org_id.eq(publisher_org_id),
                    releases::source.eq(source),
                    releases::received_at.eq(received_at),
                    releases::content_hash.eq(&p.hash),
                    releases::body.eq(&p.body),
                )
            })
            .collect();
        let query = diesel::insert_into(releases::table).values(values);
        match conn {
            DbConnection::Postgresql(c) => query.execute(c)?,
            DbConnection::Sqlite(c) => query.execute(c)?,
        };
    }
    Ok(())
}

/// Tunes `conn` for bulk writes (an import, a sync run, a finance file): on SQLite a page
/// cache of `cache_mib` MiB (the default 2 MiB makes every record update re-read its pages
/// from the file) and fewer, larger checkpoints (every 65,536 pages, 256 MiB of WAL: a sync
/// writes about 4 MB per page of 100 releases, and its bench took 94.6 s with 16,384, 65.2 s
/// with 65,536, bench/README.md; the WAL file is cut back to 64 MiB after a checkpoint, and
/// `synchronous` stays NORMAL, so a committed page survives a kill -9); on PostgreSQL
/// commits that do not wait for the WAL flush (a crash may lose the last transactions, never
/// corrupt anything: an import run again, or a sync resuming from its committed cursor,
/// stores them then).
pub fn tune_for_bulk_load(conn: &mut DbConnection, cache_mib: u32) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    let sql = match conn.backend() {
        crate::Backend::Sqlite => format!(
            "PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 65536; \
             PRAGMA journal_size_limit = 67108864;",
            u64::from(cache_mib) * 1024
        ),
        crate::Backend::Postgres => "SET synchronous_commit = off;".to_owned(),
    };
    conn.batch_execute(&sql)?;
    Ok(())
}
