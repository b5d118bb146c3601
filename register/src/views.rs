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
    /// Contracts with reported outcomes (implementation metrics).
    Outcomes,
    /// Live contracts ending within a window (set by `Filters::ending_*`), soonest end first:
    /// the re-commissioning pipeline.
    Expiring,
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
    /// An agency commissioning the process: lead, funder or pooled-budget contributor.
    pub partner: Option<String>,
    /// Commissioning level (individual, local, operational, strategic, regional).
    pub level: Option<String>,
    /// Part of an outcome area of an intention, case-insensitive.
    pub outcome_area: Option<String>,
    /// Latest outcome rating (good, approachingTarget, requiresImprovement, inadequate).
    pub rating: Option<String>,
    /// Contract end on or after.
    pub ending_from: Option<NaiveDateTime>,
    /// Contract end on or before.
    pub ending_to: Option<NaiveDateTime>,
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
    pub partner_org_ids: String,
    pub commissioning: Option<String>,
    pub outcomes: Option<String>,
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

/// A keyset position: the last row's sort time (deadline of an opportunity, end of an
/// expiring contract) and id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Position {
    time: Option<NaiveDateTime>,
    id: i64,
}

impl Position {
    /// Opaque to clients: hex of `id` or `micros.id`, so nobody builds on its shape.
    fn encode(&self) -> String {
        let plain = match self.time {
            Some(d) => format!("{}.{}", d.and_utc().timestamp_micros(), self.id),
            None => self.id.to_string(),
        };
        opaque_cursor(&plain)
    }

    fn decode(cursor: &str, with_time: bool) -> Result<Self, ViewError> {
        let plain = plain_cursor(cursor).ok_or(ViewError::BadCursor)?;
        let parse_id = |s: &str| s.parse::<i64>().map_err(|_| ViewError::BadCursor);
        if with_time {
            let (micros, id) = plain.split_once('.').ok_or(ViewError::BadCursor)?;
            let micros = micros.parse::<i64>().map_err(|_| ViewError::BadCursor)?;
            let time = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or(ViewError::BadCursor)?
                .naive_utc();
            Ok(Self {
                time: Some(time),
                id: parse_id(id)?,
            })
        } else {
            Ok(Self {
                time: None,
                id: parse_id(&plain)?,
            })
        }
    }
}

/// A cursor's text made opaque (hex), so clients do not build on its shape.
pub fn opaque_cursor(plain: &str) -> String {
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The text of a cursor made by [`opaque_cursor`]; `None` for anything else.
pub fn plain_cursor(cursor: &str) -> Option<String> {
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
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
    // Opportunities sort by deadline and expiring contracts by end date (soonest first);
    // the other views newest first.
    let by_time = matches!(view, View::Opportunities | View::Expiring);
    let after = cursor.map(|c| Position::decode(c, by_time)).transpose()?;
    let mut query = filtered(view, filters, conn.backend());
    macro_rules! soonest_first {
        ($column:expr) => {
            match after {
                Some(Position { time: Some(t), id }) => query
                    .filter($column.gt(t).or($column.eq(t).and(records::id.gt(id))))
                    .order(($column.asc(), records::id.asc())),
                _ => query.order(($column.asc(), records::id.asc())),
            }
        };
    }
    query = match view {
        View::Opportunities => soonest_first!(records::tender_deadline),
        View::Expiring => soonest_first!(records::contract_end),
        // Newest first: rows added while paging have larger ids and never shift a cursor.
        _ => match after {
            Some(position) => query
                .filter(records::id.lt(position.id))
                .order(records::id.desc()),
            None => query.order(records::id.desc()),
        },
    };
    let mut rows: Vec<RecordRow> = query
        .select(RecordRow::as_select())
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|last| {
            Position {
                time: match view {
                    View::Opportunities => last.tender_deadline,
                    View::Expiring => last.contract_end,
                    _ => None,
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
        // A procurement published on both Find a Tender and Contracts Finder is listed once
        // (crate::same_process).
        let mut query = $query.filter(records::same_as.is_null());
        query = match $view {
            View::Intentions => query.filter(records::stage.eq("planning")),
            View::Opportunities => query
                .filter(records::stage.eq("tender"))
                .filter(records::status.eq("active"))
                .filter(records::tender_deadline.is_not_null()),
            View::Contracts => {
                query.filter(records::stage.eq_any(["award", "contract", "implementation"]))
            }
            View::Outcomes => query.filter(records::outcomes.is_not_null()),
            View::Expiring => query
                .filter(records::stage.eq_any(["award", "contract", "implementation"]))
                .filter(records::status.is_null().or(records::status.ne_all([
                    "terminated",
                    "cancelled",
                    "unsuccessful",
                ])))
                .filter(records::contract_end.is_not_null()),
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
            query = query.filter(
                records::supplier_org_ids
                    .like(json_item_like(supplier, false))
                    .escape('\\'),
            );
        }
        if let Some(status) = &filters.status {
            query = query.filter(records::status.eq(status.trim().to_owned()));
        }
        if let Some(cpv) = &filters.cpv {
            query = query.filter(
                records::cpv_codes
                    .like(json_item_like(cpv, true))
                    .escape('\\'),
            );
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
        if let Some(partner) = &filters.partner {
            query = query.filter(
                records::partner_org_ids
                    .like(json_item_like(partner, false))
                    .escape('\\'),
            );
        }
        if let Some(level) = &filters.level {
            query = query.filter(records::commissioning_level.eq(level.trim().to_owned()));
        }
        if let Some(area) = &filters.outcome_area {
            let pattern = format!("%{}%", escape_like(&area.trim().to_lowercase()));
            query = query.filter(
                lower(records::outcome_areas.nullable())
                    .like(pattern)
                    .escape('\\'),
            );
        }
        if let Some(rating) = &filters.rating {
            query = query.filter(records::latest_rating.eq(rating.trim().to_owned()));
        }
        if let Some(d) = filters.ending_from {
            query = query.filter(records::contract_end.ge(d));
        }
        if let Some(d) = filters.ending_to {
            query = query.filter(records::contract_end.le(d));
        }
        query
    }};
}

/// Contracts of one service area in the expiring window: the re-commissioning pipeline of
/// that area.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceAreaGroup {
    /// The service category (from CPV), or null where the contracts carry none.
    pub service_category: Option<String>,
    pub contracts: i64,
    /// Sum of the contracts' values (whatever their currency: nearly all are GBP).
    pub value_total: Option<f64>,
    /// The soonest end in the group (UTC).
    pub first_end: Option<String>,
}

/// The expiring contracts matching `filters`, counted per service area, the area with the
/// soonest-ending contract first.
pub fn expiring_groups(
    conn: &mut DbConnection,
    filters: &Filters,
) -> Result<Vec<ServiceAreaGroup>, ViewError> {
    // Grouped here rather than in SQL: a GROUP BY on the boxed multi-backend query does not
    // type-check, and the window holds few enough contracts to read their three columns.
    let rows: Vec<(Option<String>, Option<f64>, Option<NaiveDateTime>)> =
        filtered(View::Expiring, filters, conn.backend())
            .select((
                records::service_category,
                records::value_amount,
                records::contract_end,
            ))
            .load(conn)?;
    let mut by_area: std::collections::BTreeMap<Option<String>, ServiceAreaGroup> =
        std::collections::BTreeMap::new();
    for (category, value, end) in rows {
        let group = by_area
            .entry(category.clone())
            .or_insert_with(|| ServiceAreaGroup {
                service_category: category,
                contracts: 0,
                value_total: None,
                first_end: None,
            });
        group.contracts += 1;
        if let Some(v) = value {
            *group.value_total.get_or_insert(0.0) += v;
        }
        let end = end.map(|t| t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string());
        if end.is_some() && (group.first_end.is_none() || end < group.first_end) {
            group.first_end = end;
        }
    }
    let mut groups: Vec<ServiceAreaGroup> = by_area.into_values().collect();
    groups.sort_by(|a, b| {
        (&a.first_end, &a.service_category).cmp(&(&b.first_end, &b.service_category))
    });
    Ok(groups)
}

/// The processes overlap detection compares ([`crate::overlaps`]): intentions, open tenders
/// and live contracts (not ended before `now`, not terminated or cancelled). Only the
/// columns the comparison needs are read, never a compiled release.
pub fn overlap_candidates(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<crate::overlaps::Candidate>, ViewError> {
    use crate::overlaps::{Candidate, Kind};
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<Row> = records::table
        .filter(
            records::stage
                .eq("planning")
                .or(records::stage
                    .eq("tender")
                    .and(records::status.eq_any(["active", "planned", "planning"])))
                .or(records::stage
                    .eq_any(["award", "contract", "implementation"])
                    .and(
                        records::contract_end
                            .is_null()
                            .or(records::contract_end.ge(now)),
                    )),
        )
        .filter(records::status.is_null().or(records::status.ne_all([
            "terminated",
            "cancelled",
            "unsuccessful",
        ])))
        .order(records::id.asc())
        .select((
            records::ocid,
            records::stage,
            records::title,
            records::description,
            records::buyer_org_id,
            records::partner_org_ids,
            records::cpv_codes,
            records::service_category,
            records::delivery_area,
            records::contract_start,
            records::contract_end,
            records::commissioning,
        ))
        .load(conn)?;
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(
            |(
                ocid,
                stage,
                title,
                description,
                buyer,
                partners,
                cpv,
                category,
                area,
                start,
                end,
                intention,
            )| {
                let kind = match stage.as_deref() {
                    Some("planning") => Kind::Intention,
                    Some("tender") => Kind::Opportunity,
                    _ => Kind::Contract,
                };
                // An intention's expected delivery period, when it says, beats the columns.
                let expected = intention.as_deref().and_then(|t| {
                    serde_json::from_str::<crate::commissioning::IntentionSummary>(t).ok()
                });
                let when =
                    |v: Option<&String>| v.and_then(|t| crate::summary::parse_ocds_datetime(t));
                let (start, end) = match &expected {
                    Some(i) if i.expected_start.is_some() || i.expected_end.is_some() => (
                        when(i.expected_start.as_ref()).or(start),
                        when(i.expected_end.as_ref()).or(end),
                    ),
                    _ => (start, end),
                };
                let mut agencies = list(&partners);
                if let Some(b) = &buyer
                    && !agencies.contains(b)
                {
                    agencies.push(b.clone());
                    agencies.sort();
                }
                Candidate {
                    ocid,
                    kind,
                    title,
                    description,
                    buyer,
                    agencies,
                    cpv_codes: list(&cpv),
                    service_category: category,
                    area,
                    start,
                    end,
                }
            },
        )
        .collect())
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
/// prefix when `prefix`). Use it with `.escape('\\')`: SQLite has no default escape
/// character, so without it an id holding `_` or `%` would never match there.
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
        let p = Position { time: None, id: 42 };
        assert_eq!(Position::decode(&p.encode(), false).unwrap(), p);
        let d = chrono::NaiveDate::from_ymd_opt(2027, 1, 31)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let p = Position {
            time: Some(d),
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
