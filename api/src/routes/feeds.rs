//! Atom 1.0 feeds of the register views for providers' feed readers: new and changed
//! opportunities and intentions (newest first), contracts coming up for re-commissioning
//! (soonest end first). The same filters as the views; no paging, since readers poll.
//!
//! Written with `atom_syndication`, which escapes text and attributes; characters XML 1.0
//! cannot carry at all (most control characters) are dropped first.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, web};
use atom_syndication::{
    Category, Entry, Feed, FixedDateTime, Generator, Link, Person, Text, WriteConfig,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use register::{
    DbConnection,
    commissioning::IntentionSummary,
    db::MultiBackend,
    schema::records,
    summary::parse_ocds_datetime,
    views::{self, Filters, MAX_LIMIT, RecordRow, View},
};
use serde_json::Value;

use crate::{
    error::{ApiError, Problem},
    packages::LICENSE,
    routes::views::{DEFAULT_EXPIRING_MONTHS, ViewQuery, ViewRow, encode, row, view_error},
    startup::AppState,
};

/// The media type of every feed.
pub const ATOM: &str = "application/atom+xml; charset=utf-8";
/// Entries a feed holds when the request does not say.
pub const DEFAULT_FEED_LIMIT: u32 = 50;

/// One feed: which view, its path and how it reads.
struct Kind {
    view: View,
    /// The word in the feed title, e.g. `opportunities`.
    name: &'static str,
    /// The JSON view with the same filters.
    view_path: &'static str,
    subtitle: &'static str,
}

const OPPORTUNITIES: Kind = Kind {
    view: View::Opportunities,
    name: "opportunities",
    view_path: "/api/v1/opportunities",
    subtitle: "Active tenders whose deadline has not passed (unless deadline_from says otherwise), most recently changed first",
};
const INTENTIONS: Kind = Kind {
    view: View::Intentions,
    name: "intentions",
    view_path: "/api/v1/intentions",
    subtitle: "Commissioning intentions (planning stage) with their lead, partners and pooled budget, most recently changed first",
};
const EXPIRING: Kind = Kind {
    view: View::Expiring,
    name: "expiring contracts",
    view_path: "/api/v1/expiring",
    subtitle: "Live contracts ending within the window, soonest end first: what will be re-commissioned",
};

async fn serve_feed(
    kind: &'static Kind,
    req: HttpRequest,
    query: web::Query<ViewQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if query.cursor.is_some() {
        return Err(ApiError::BadRequest(
            "cursor: feeds are not paged; they hold the newest `limit` entries".into(),
        ));
    }
    if let Some(format) = &query.format {
        return Err(ApiError::BadRequest(format!(
            "format: '{format}' is not supported; feeds are Atom only (the views under /api/v1 have JSON and CSV)"
        )));
    }
    if query.months.is_some() && kind.view != View::Expiring {
        return Err(ApiError::BadRequest(
            "months: applies to /feeds/expiring.atom only; use ending_from/ending_to".into(),
        ));
    }
    let filters = query.view_filters(kind.view)?;
    let limit = match query.limit {
        None => DEFAULT_FEED_LIMIT,
        Some(_) => query.limit()?,
    };
    let pool = state.pool.clone();
    let view = kind.view;
    let rows = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            match view {
                // The view's own order: soonest end first.
                View::Expiring => views::page(&mut conn, view, &filters, limit, None)
                    .map(|page| page.rows)
                    .map_err(view_error),
                _ => newest(&mut conn, view, &filters, limit)
                    .map_err(|e| ApiError::Internal(e.to_string())),
            }
        })
        .await??;

    let base = state.publisher.base_url(&req);
    let entries: Vec<Entry> = rows
        .into_iter()
        .map(|record| entry(kind.view, record, &base))
        .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| chrono::Utc::now().fixed_offset());
    let query_string = match req.query_string() {
        "" => String::new(),
        q => format!("?{q}"),
    };
    let self_url = clean(&format!("{base}{}{query_string}", req.path()));
    let view_url = clean(&format!("{base}{}{query_string}", kind.view_path));
    let described = describe(&query, kind.view);
    let title = if described.is_empty() {
        format!("ocreg {}", kind.name)
    } else {
        format!("ocreg {}: {}", kind.name, described.join(", "))
    };
    let feed = Feed {
        title: Text::plain(clean(&title)),
        subtitle: Some(Text::plain(kind.subtitle)),
        id: self_url.clone(),
        updated,
        // Entries without a buyer fall back on the register as their author.
        authors: vec![Person {
            name: clean(&state.publisher.name),
            uri: Some(clean(&base)),
            ..Default::default()
        }],
        links: vec![
            link("self", self_url, "application/atom+xml"),
            link("alternate", view_url, "application/json"),
            Link {
                href: LICENSE.to_owned(),
                rel: "license".to_owned(),
                ..Default::default()
            },
        ],
        generator: Some(Generator {
            value: "ocreg".to_owned(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
        rights: Some(Text::plain(format!(
            "Open Government Licence v3.0: {LICENSE}"
        ))),
        entries,
        ..Default::default()
    };
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    let body = feed
        .write_with_config(Vec::new(), config)
        .map_err(|e| ApiError::Internal(format!("writing the feed: {e}")))?;
    Ok(HttpResponse::Ok().content_type(ATOM).body(body))
}

/// The `limit` rows of `view` matching `filters` that the register changed last.
fn newest(
    conn: &mut DbConnection,
    view: View,
    filters: &Filters,
    limit: u32,
) -> Result<Vec<RecordRow>, diesel::result::Error> {
    let backend = conn.backend();
    register::apply_record_filters!(
        records::table.into_boxed::<MultiBackend>(),
        view,
        filters,
        backend
    )
    .order((records::updated_at.desc(), records::id.desc()))
    .select(RecordRow::as_select())
    .limit(i64::from(limit.clamp(1, MAX_LIMIT)))
    .load(conn)
}

fn link(rel: &str, href: String, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.to_owned(),
        mime_type: Some(mime_type.to_owned()),
        ..Default::default()
    }
}

fn utc(t: NaiveDateTime) -> FixedDateTime {
    t.and_utc().fixed_offset()
}

/// One record as an entry: its URL as id, what a provider needs to know in the summary.
fn entry(view: View, record: RecordRow, base: &str) -> Entry {
    let compiled: Value = serde_json::from_str(&record.compiled_release).unwrap_or(Value::Null);
    let names = org_names(&compiled);
    let cpv_labels = cpv_labels(&compiled);
    let updated = utc(record.updated_at);
    let published = record.published_at.map(utc);
    let deadline = record.tender_deadline;
    let contract_end = record.contract_end;
    let r = row(record, base, view == View::Opportunities);
    let org = |id: &str| match names.get(id) {
        Some(name) if name != id => format!("{name} ({id})"),
        _ => id.to_owned(),
    };

    let mut facts = Vec::new();
    match view {
        View::Opportunities => {
            if let Some(d) = deadline {
                facts.push(format!("Deadline: {}", d.format("%-d %B %Y, %H:%M UTC")));
            }
            if let Some(how) = &r.how_to_respond {
                facts.push(format!("How to respond: {how}"));
            }
            facts.extend(value_line(&r));
            facts.extend(r.buyer.as_deref().map(|b| format!("Buyer: {}", org(b))));
        }
        View::Expiring => {
            if let Some(end) = contract_end {
                facts.push(format!("Contract ends: {}", end.format("%-d %B %Y")));
            }
            match r.suppliers.as_slice() {
                [] => {}
                [one] => facts.push(format!("Supplier: {}", org(one))),
                many => facts.push(format!(
                    "Suppliers: {}",
                    many.iter().map(|s| org(s)).collect::<Vec<_>>().join(", ")
                )),
            }
            facts.extend(value_line(&r));
            facts.extend(r.buyer.as_deref().map(|b| format!("Buyer: {}", org(b))));
        }
        _ => intention_facts(&r, &org, &mut facts),
    }
    facts.extend(r.area.as_deref().map(|a| format!("Area: {a}")));
    let summary = [r.description.clone().unwrap_or_default(), facts.join("\n")]
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");

    Entry {
        title: Text::plain(clean(r.title.as_deref().unwrap_or(&r.ocid))),
        id: clean(&r.record_url),
        updated,
        published,
        authors: r
            .buyer
            .iter()
            .map(|id| Person {
                name: clean(names.get(id).unwrap_or(id)),
                uri: Some(clean(&format!(
                    "{base}/api/v1/organisations/{}",
                    encode(id)
                ))),
                ..Default::default()
            })
            .collect(),
        categories: r
            .cpv
            .iter()
            .map(|code| Category {
                term: clean(code),
                scheme: None,
                label: cpv_labels.get(code).map(|l| clean(l)),
            })
            .collect(),
        links: vec![link("alternate", clean(&r.record_url), "application/json")],
        summary: (!summary.is_empty()).then(|| Text::plain(clean(&summary))),
        ..Default::default()
    }
}

/// An intention: who leads, who commissions with them and the pooled budget with each
/// partner's share.
fn intention_facts(r: &ViewRow, org: &dyn Fn(&str) -> String, facts: &mut Vec<String>) {
    let c: Option<&IntentionSummary> = r.commissioning.as_ref();
    let lead = c.and_then(|c| c.lead.clone()).or_else(|| r.buyer.clone());
    if let Some(lead) = &lead {
        facts.push(format!("Lead: {}", org(lead)));
    }
    let partners = c.map_or(&r.partners, |c| &c.partners);
    let others: Vec<String> = partners
        .iter()
        .filter(|p| Some(*p) != lead.as_ref())
        .map(|p| org(p))
        .collect();
    if !others.is_empty() {
        facts.push(format!("Partners: {}", others.join(", ")));
    }
    if let Some(pooled) = c.and_then(|c| c.pooled_budget.as_ref()) {
        let mut line = format!(
            "Pooled budget: {}",
            money(pooled.amount, pooled.currency.as_deref())
        );
        let shares: Vec<String> = c
            .map(|c| c.contributions.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|share| {
                let amount = share.amount.as_ref()?;
                let who = share
                    .org_id
                    .as_deref()
                    .map(org)
                    .or_else(|| share.name.clone())?;
                Some(format!(
                    "{who} {}",
                    money(amount.amount, amount.currency.as_deref())
                ))
            })
            .collect();
        if !shares.is_empty() {
            line.push_str(&format!(" ({})", shares.join("; ")));
        }
        facts.push(line);
    } else {
        facts.extend(value_line(r));
    }
    if let Some(c) = c {
        if !c.outcome_areas.is_empty() {
            facts.push(format!("Outcome areas: {}", c.outcome_areas.join("; ")));
        }
        let date = |v: &Option<String>| {
            v.as_deref()
                .and_then(parse_ocds_datetime)
                .map(|d| d.format("%-d %B %Y").to_string())
        };
        if let Some(d) = date(&c.expected_procurement) {
            facts.push(format!("Procurement expected: {d}"));
        }
        if let Some(d) = date(&c.expected_start) {
            facts.push(format!("Delivery expected from: {d}"));
        }
    }
}

fn value_line(r: &ViewRow) -> Option<String> {
    r.value_amount
        .map(|v| format!("Value: {}", money(v, r.value_currency.as_deref())))
}

/// `GBP 1,250,000` (pence shown only when there are any).
fn money(amount: f64, currency: Option<&str>) -> String {
    let text = if amount.fract() == 0.0 && amount.abs() < 1e15 {
        format!("{amount:.0}")
    } else {
        format!("{amount:.2}")
    };
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |rest| ("-", rest));
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    };
    match currency {
        Some(c) => format!("{c} {number}"),
        None => number,
    }
}

/// Organisation names by org-id: parties first, then the buyer and awarded suppliers.
fn org_names(compiled: &Value) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let mut add = |org: &Value| {
        if let (Some(id), Some(name)) = (
            org.get("id").and_then(Value::as_str),
            org.get("name").and_then(Value::as_str),
        ) && !name.trim().is_empty()
        {
            names
                .entry(id.to_owned())
                .or_insert_with(|| name.trim().to_owned());
        }
    };
    let array = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    for party in array(compiled.get("parties")) {
        add(&party);
    }
    if let Some(buyer) = compiled.get("buyer") {
        add(buyer);
    }
    for award in array(compiled.get("awards")) {
        for supplier in array(award.get("suppliers")) {
            add(&supplier);
        }
    }
    names
}

/// CPV descriptions by code, from every classification in the release that has one.
fn cpv_labels(compiled: &Value) -> HashMap<String, String> {
    fn walk(v: &Value, labels: &mut HashMap<String, String>) {
        match v {
            Value::Object(map) => {
                if let (Some(scheme), Some(id), Some(description)) = (
                    map.get("scheme").and_then(Value::as_str),
                    map.get("id").and_then(Value::as_str),
                    map.get("description").and_then(Value::as_str),
                ) && scheme.eq_ignore_ascii_case("CPV")
                {
                    labels
                        .entry(id.trim().to_owned())
                        .or_insert_with(|| description.trim().to_owned());
                }
                map.values().for_each(|v| walk(v, labels));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, labels)),
            _ => {}
        }
    }
    let mut labels = HashMap::new();
    walk(compiled, &mut labels);
    labels
}

/// The request's filters in words, for the feed title (`CPV 8531…, area “wyvern”`).
fn describe(query: &ViewQuery, view: View) -> Vec<String> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut parts = Vec::new();
    let mut add = |v: &Option<String>, say: &dyn Fn(String) -> String| {
        if let Some(v) = given(v) {
            parts.push(say(v));
        }
    };
    add(&query.q, &|v| format!("matching “{v}”"));
    add(&query.cpv, &|v| format!("CPV {v}…"));
    add(&query.area, &|v| format!("area “{v}”"));
    add(&query.buyer, &|v| format!("buyer {v}"));
    add(&query.partner, &|v| format!("partner {v}"));
    add(&query.supplier, &|v| format!("supplier {v}"));
    add(&query.ocid, &|v| format!("process {v}"));
    add(&query.status, &|v| format!("status {v}"));
    add(&query.level, &|v| format!("{v} level"));
    add(&query.outcome_area, &|v| format!("outcome area “{v}”"));
    add(&query.rating, &|v| format!("rated {v}"));
    add(&query.value_min, &|v| format!("value ≥ {v}"));
    add(&query.value_max, &|v| format!("value ≤ {v}"));
    add(&query.published_from, &|v| format!("published from {v}"));
    add(&query.published_to, &|v| format!("published to {v}"));
    add(&query.deadline_from, &|v| format!("deadline from {v}"));
    add(&query.deadline_to, &|v| format!("deadline to {v}"));
    add(&query.updated_since, &|v| format!("updated since {v}"));
    add(&query.ending_from, &|v| format!("ending from {v}"));
    add(&query.ending_to, &|v| format!("ending to {v}"));
    if view == View::Expiring && given(&query.ending_to).is_none() {
        let months = given(&query.months).unwrap_or_else(|| DEFAULT_EXPIRING_MONTHS.to_string());
        parts.push(format!("ending within {months} months"));
    }
    parts
}

/// `text` without the characters XML 1.0 cannot carry even escaped (control characters
/// other than tab, line feed and carriage return; U+FFFE, U+FFFF).
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

macro_rules! feed_route {
    ($name:ident, $operation_id:literal, $path:literal, $kind:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "register",
            // The views' handlers have the same names; operation ids must be unique.
            operation_id = $operation_id,
            params(ViewQuery),
            responses(
                (status = 200, description = "An Atom 1.0 feed of at most `limit` entries (default 50, at most 1000; not paged, so `cursor` and `format` are refused). Each entry's id and alternate link are the OCDS record's URL", content(
                    (String = "application/atom+xml")
                )),
                (status = 304, description = "Not Modified: the feed is unchanged since the `ETag` sent in `If-None-Match`"),
                (status = 400, description = "A parameter is not valid (the detail names it)", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[get($path)]
        pub async fn $name(
            req: HttpRequest,
            query: web::Query<ViewQuery>,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, ApiError> {
            serve_feed(&$kind, req, query, state).await
        }
    };
}

feed_route!(
    opportunities,
    "opportunities_feed",
    "/feeds/opportunities.atom",
    OPPORTUNITIES,
    "Opportunities as an Atom feed: active tenders whose deadline has not passed, the most recently changed first, each with its deadline and how to respond. The filters of `/api/v1/opportunities`, e.g. `?cpv=8531&area=wyvern`."
);
feed_route!(
    intentions,
    "intentions_feed",
    "/feeds/intentions.atom",
    INTENTIONS,
    "Commissioning intentions as an Atom feed, the most recently changed first, each with its lead, partners and pooled budget. The filters of `/api/v1/intentions`."
);
feed_route!(
    expiring,
    "expiring_feed",
    "/feeds/expiring.atom",
    EXPIRING,
    "Expiring contracts as an Atom feed: live contracts ending within `months` (default 12), soonest end first, each with its end and supplier(s). The filters of `/api/v1/expiring`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_pence_only_when_there_are_any() {
        assert_eq!(money(1_000_000.0, Some("GBP")), "GBP 1,000,000");
        assert_eq!(money(999.0, None), "999");
        assert_eq!(money(1234.5, Some("EUR")), "EUR 1,234.50");
        assert_eq!(money(-12345.0, None), "-12,345");
    }

    #[test]
    fn clean_drops_what_xml_cannot_carry() {
        assert_eq!(clean("a\u{1}b\tc\nd\u{FFFF}<&>"), "ab\tc\nd<&>");
    }
}
