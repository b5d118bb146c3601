//! The register views (intentions, opportunities, contracts, outcomes, records): filtered,
//! keyset-paginated queries over the `records` table, the same filters for every view.
//!
//! Cursors are keyset positions (the sort key of the last row served), so a page never skips
//! or repeats a row because rows were added meanwhile: new rows sort after existing ones (or
//! before, for newest-first views) and never shift the position of a cursor.

use chrono::NaiveDateTime;
use diesel::{
    prelude::*,
    sql_types::{Nullable, Text},
};

use crate::{
    db::{Backend, DbConnection, MultiBackend},
    schema::records,
};

diesel::define_sql_function!(
    /// SQL `lower()`, for case-insensitive matching on both backends.
    fn lower(x: Nullable<Text>) -> Nullable<Text>
);

/// Most rows a page may hold.
pub const MAX_LIMIT: u32 = 1000;
/// Rows a page holds when the request does not say.
pub const DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Planning-stage processes: commissioning intentions.
    Intentions,
    /// Active tenders with a deadline, soonest deadline first.
    Opportunities,
    /// Awarded processes (award, contract or implementation stage).
    Contracts,
    /// Processes in implementation, where outcomes are reported.
    Outcomes,
    /// Every record.
    Records,
}

/// The filters every view accepts (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// One contracting process.
    pub ocid: Option<String>,
    /// Words that must all occur in the title, descriptions, items or party names.
    pub q: Option<String>,
    pub buyer: Option<String>,
    pub supplier: Option<String>,
    pub status: Option<String>,
    /// CPV code prefix, e.g. `8531`.
    pub cpv: Option<String>,
    /// Part of the delivery area, case-insensitive.
    pub area: Option<String>,
    pub value_min: Option<f64>,
    pub value_max: Option<f64>,
    pub published_from: Option<NaiveDateTime>,
    pub published_to: Option<NaiveDateTime>,
    pub deadline_from: Option<NaiveDateTime>,
    pub deadline_to: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
}

/// One row of a view: the record's query columns.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub id: i64,
    pub ocid: String,
    pub compiled_release: String,
    pub release_count: i32,
    pub title: Option<String>,
    pub description: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub buyer_org_id: Option<String>,
    pub party_org_ids: String,
    pub supplier_org_ids: String,
    pub value_amount: Option<f64>,
    pub value_currency: Option<String>,
    pub published_at: Option<NaiveDateTime>,
    pub tender_deadline: Option<NaiveDateTime>,
    pub contract_start: Option<NaiveDateTime>,
    pub contract_end: Option<NaiveDateTime>,
    pub cpv_codes: String,
    pub service_category: Option<String>,
    pub delivery_area: Option<String>,
    pub vcse_suitable: Option<bool>,
    pub sme_suitable: Option<bool>,
    pub updated_at: NaiveDateTime,
}

pub struct Page {
    pub rows: Vec<RecordRow>,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("the cursor is not one this register issued; start again without it")]
    BadCursor,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A keyset position: the last row's deadline (opportunities only) and id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Position {
    deadline: Option<NaiveDateTime>,
    id: i64,
}

impl Position {
    /// Opaque to clients: hex of `id` or `micros.id`, so nobody builds on its shape.
    fn encode(&self) -> String {
        let plain = match self.deadline {
            Some(d) => format!("{}.{}", d.and_utc().timestamp_micros(), self.id),
            None => self.id.to_string(),
        };
        plain.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(cursor: &str, with_deadline: bool) -> Result<Self, ViewError> {
        let bytes = (0..cursor.len())
            .step_by(2)
            .map(|i| {
                cursor
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or(ViewError::BadCursor)?;
        let plain = String::from_utf8(bytes).map_err(|_| ViewError::BadCursor)?;
        let parse_id = |s: &str| s.parse::<i64>().map_err(|_| ViewError::BadCursor);
        if with_deadline {
            let (micros, id) = plain.split_once('.').ok_or(ViewError::BadCursor)?;
            let micros = micros.parse::<i64>().map_err(|_| ViewError::BadCursor)?;
            let deadline = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or(ViewError::BadCursor)?
                .naive_utc();
            Ok(Self {
                deadline: Some(deadline),
                id: parse_id(id)?,
            })
        } else {
            Ok(Self {
                deadline: None,
                id: parse_id(&plain)?,
            })
        }
    }
}

type Query<'a> = records::BoxedQuery<'a, MultiBackend>;

/// A page of `view` rows matching `filters`, after `cursor`.
pub fn page(
    conn: &mut DbConnection,
    view: View,
    filters: &Filters,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page, ViewError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let by_deadline = view == View::Opportunities;
    let after = cursor
        .map(|c| Position::decode(c, by_deadline))
        .transpose()?;
    let mut query = filtered(view, filters, conn.backend());
    query = match (by_deadline, after) {
        (
            true,
            Some(Position {
                deadline: Some(d),
                id,
            }),
        ) => query
            .filter(
                records::tender_deadline
                    .gt(d)
                    .or(records::tender_deadline.eq(d).and(records::id.gt(id))),
            )
            .order((records::tender_deadline.asc(), records::id.asc())),
        (true, _) => query.order((records::tender_deadline.asc(), records::id.asc())),
        // Newest first: rows added while paging have larger ids and never shift a cursor.
        (false, Some(position)) => query
            .filter(records::id.lt(position.id))
            .order(records::id.desc()),
        (false, None) => query.order(records::id.desc()),
    };
    let mut rows: Vec<RecordRow> = query
        .select(RecordRow::as_select())
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|last| {
            Position {
                deadline: if by_deadline {
                    last.tender_deadline
                } else {
                    None
                },
                id: last.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// Applies the view's stage condition and `filters` to a boxed query that has the `records`
/// table in its FROM clause (the records table itself, or releases joined to records). A
/// macro rather than a function because each query source is its own diesel type.
#[macro_export]
macro_rules! apply_record_filters {
    ($query:expr, $view:expr, $filters:expr, $backend:expr) => {{
        use diesel::{
            dsl::sql,
            prelude::*,
            sql_types::{Bool, Text},
        };
        use $crate::schema::records;
        use $crate::views::{View, escape_like, json_item_like, lower};
        let filters: &$crate::views::Filters = $filters;
        let mut query = $query;
        query = match $view {
            View::Intentions => query.filter(records::stage.eq("planning")),
            View::Opportunities => query
                .filter(records::stage.eq("tender"))
                .filter(records::status.eq("active"))
                .filter(records::tender_deadline.is_not_null()),
            View::Contracts => {
                query.filter(records::stage.eq_any(["award", "contract", "implementation"]))
            }
            View::Outcomes => query.filter(records::stage.eq("implementation")),
            View::Records => query,
        };
        if let Some(q) = filters.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = match $backend {
                // Words quoted, so user input is never FTS5 query syntax.
                $crate::db::Backend::Sqlite => {
                    let words: Vec<String> = q
                        .split_whitespace()
                        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                        .collect();
                    query.filter(
                        sql::<Bool>(
                            "records.id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ",
                        )
                        .bind::<Text, _>(words.join(" "))
                        .sql(")"),
                    )
                }
                $crate::db::Backend::Postgres => query.filter(
                    sql::<Bool>(
                        "records.id IN (SELECT rowid FROM records_fts WHERE \
                         to_tsvector('english', body) @@ websearch_to_tsquery('english', ",
                    )
                    .bind::<Text, _>(q.to_owned())
                    .sql("))"),
                ),
            };
        }
        if let Some(ocid) = &filters.ocid {
            query = query.filter(records::ocid.eq(ocid.trim().to_owned()));
        }
        if let Some(buyer) = &filters.buyer {
            query = query.filter(records::buyer_org_id.eq(buyer.trim().to_owned()));
        }
        if let Some(supplier) = &filters.supplier {
            query = query.filter(records::supplier_org_ids.like(json_item_like(supplier, false)));
        }
        if let Some(status) = &filters.status {
            query = query.filter(records::status.eq(status.trim().to_owned()));
        }
        if let Some(cpv) = &filters.cpv {
            query = query.filter(records::cpv_codes.like(json_item_like(cpv, true)));
        }
        if let Some(area) = &filters.area {
            let pattern = format!("%{}%", escape_like(&area.trim().to_lowercase()));
            query = query.filter(lower(records::delivery_area).like(pattern).escape('\\'));
        }
        if let Some(v) = filters.value_min {
            query = query.filter(records::value_amount.ge(v));
        }
        if let Some(v) = filters.value_max {
            query = query.filter(records::value_amount.le(v));
        }
        if let Some(d) = filters.published_from {
            query = query.filter(records::published_at.ge(d));
        }
        if let Some(d) = filters.published_to {
            query = query.filter(records::published_at.le(d));
        }
        if let Some(d) = filters.deadline_from {
            query = query.filter(records::tender_deadline.ge(d));
        }
        if let Some(d) = filters.deadline_to {
            query = query.filter(records::tender_deadline.le(d));
        }
        if let Some(d) = filters.updated_since {
            query = query.filter(records::updated_at.ge(d));
        }
        query
    }};
}

fn filtered<'a>(view: View, filters: &'a Filters, backend: Backend) -> Query<'a> {
    apply_record_filters!(
        records::table.into_boxed::<MultiBackend>(),
        view,
        filters,
        backend
    )
}

/// A LIKE pattern finding `value` as an item of a JSON array of strings (whole, or as a
/// prefix when `prefix`).
pub fn json_item_like(value: &str, prefix: bool) -> String {
    let value = escape_like(&value.trim().replace('"', ""));
    if prefix {
        format!("%\"{value}%")
    } else {
        format!("%\"{value}\"%")
    }
}

pub fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let p = Position {
            deadline: None,
            id: 42,
        };
        assert_eq!(Position::decode(&p.encode(), false).unwrap(), p);
        let d = chrono::NaiveDate::from_ymd_opt(2027, 1, 31)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let p = Position {
            deadline: Some(d),
            id: 7,
        };
        assert_eq!(Position::decode(&p.encode(), true).unwrap(), p);
        assert!(Position::decode("zz", false).is_err());
        assert!(Position::decode("3132", true).is_err());
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(json_item_like("8531", true), "%\"8531%");
        assert_eq!(json_item_like("GB-COH-1_2", false), "%\"GB-COH-1\\_2\"%");
    }
}
