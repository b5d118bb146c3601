//! The audit log: who changed what in the register, and when.
//!
//! Every write to the register (a release published through the API, a token created or
//! revoked) adds one entry, in the same transaction as the change it describes, so the log
//! never claims a change that was rolled back nor misses one that was kept.
//! Entries are only ever added; nothing here updates or deletes them.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{db::DbConnection, schema::audit_log};

/// The actor recorded for changes made with the `ocreg` command line.
pub const CLI_ACTOR: &str = "cli";
/// The most entries one [`list`] call returns, whatever limit is asked for, so an API caller
/// cannot make the server load the whole log at once.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// An entry to add to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who made the change: [`CLI_ACTOR`], a token (see `tokens::Authenticated::actor`), or a
    /// sync source.
    pub actor: String,
    /// What was done, as `noun.verb` (e.g. `token.create`, `release.publish`).
    pub action: String,
    /// The ids of what changed (e.g. `token:3`, an ocid, a release id).
    pub subject_ids: Vec<String>,
    /// The HTTP request id, when the change came through the API, to match logs and audit.
    pub request_id: Option<String>,
    /// Anything else worth keeping about the change.
    pub detail: Option<serde_json::Value>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_ids: Vec<String>,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("an audit entry needs a non-empty {0}")]
    Missing(&'static str),
    #[error(
        "audit entry {id} has an unreadable {column} column ({source}); it was not written by \
         ocreg or was edited by hand: inspect it with SQL"
    )]
    Corrupt {
        id: i64,
        column: &'static str,
        source: serde_json::Error,
    },
    #[error("cannot read or write the audit log: {0}")]
    Database(#[from] diesel::result::Error),
}

/// Adds `entry` to the log and returns its id. Call it inside the transaction that makes the
/// change, so both are kept or neither is.
pub fn record(conn: &mut DbConnection, entry: NewAuditEntry) -> Result<i64, AuditError> {
    let actor = entry.actor.trim();
    let action = entry.action.trim();
    if actor.is_empty() {
        return Err(AuditError::Missing("actor"));
    }
    if action.is_empty() {
        return Err(AuditError::Missing("action"));
    }
    let id = diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now()),
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject_ids.eq(json_array(&entry.subject_ids)),
            audit_log::request_id.eq(entry.request_id.as_deref()),
            audit_log::detail.eq(entry.detail.as_ref().map(ToString::to_string)),
        ))
        .returning(audit_log::id)
        .get_result(conn)?;
    Ok(id)
}

/// Up to `limit` entries (at most [`MAX_LIST_LIMIT`]), newest first. Pass the smallest id of a
/// page as `before_id` to get the next, older page.
pub fn list(
    conn: &mut DbConnection,
    limit: u32,
    before_id: Option<i64>,
) -> Result<Vec<AuditEntry>, AuditError> {
    type Row = (
        i64,
        NaiveDateTime,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let mut query = audit_log::table
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::subject_ids,
            audit_log::request_id,
            audit_log::detail,
        ))
        // Ids only grow, so they order entries even when two share a timestamp.
        .order(audit_log::id.desc())
        .limit(i64::from(clamp_limit(limit)))
        .into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(audit_log::id.lt(before_id));
    }
    let rows: Vec<Row> = query.load(conn)?;
    rows.into_iter()
        .map(|(id, at, actor, action, subject_ids, request_id, detail)| {
            Ok(AuditEntry {
                id,
                at: at.and_utc(),
                actor,
                action,
                subject_ids: serde_json::from_str(&subject_ids).map_err(|source| {
                    AuditError::Corrupt {
                        id,
                        column: "subject_ids",
                        source,
                    }
                })?,
                request_id,
                detail: detail
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|source| AuditError::Corrupt {
                        id,
                        column: "detail",
                        source,
                    })?,
            })
        })
        .collect()
}

fn clamp_limit(limit: u32) -> u32 {
    limit.min(MAX_LIST_LIMIT)
}

/// The current time as stored: UTC without a zone (rust-stack.md, pitfall 4), cut to
/// microseconds because PostgreSQL keeps no more, so a value read back equals the one written
/// on both backends.
pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A JSON array of strings, as the `*_ids` text columns hold. Built by hand because
/// serialising strings cannot fail, and `serde_json::to_string` would make callers handle an
/// error that never happens.
pub(crate) fn json_array(values: &[String]) -> String {
    serde_json::Value::Array(
        values
            .iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect(),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_capped() {
        assert_eq!(clamp_limit(0), 0);
        assert_eq!(clamp_limit(50), 50);
        assert_eq!(clamp_limit(u32::MAX), MAX_LIST_LIMIT);
    }

    #[test]
    fn json_arrays_escape_their_strings() {
        assert_eq!(json_array(&[]), "[]");
        let values = vec!["token:1".to_owned(), "a \"quoted\" id".to_owned()];
        let text = json_array(&values);
        assert_eq!(serde_json::from_str::<Vec<String>>(&text).unwrap(), values);
    }

    #[test]
    fn now_has_whole_microseconds() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}
