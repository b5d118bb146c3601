//! The register views for people who do not want OCDS: intentions, opportunities, contracts
//! and outcomes, as `{data, links: {next}}` (or CSV), with the same filters everywhere.

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use register::{
    commissioning::{IntentionSummary, OutcomeSummary},
    summary::parse_ocds_datetime,
    views::{
        self, DEFAULT_LIMIT, Filters, MAX_LIMIT, RecordRow, ServiceAreaGroup, View, ViewError,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    startup::AppState,
};

/// The filters and paging parameters every view (and the OCDS listings) accept.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ViewQuery {
    /// One contracting process (its ocid).
    pub ocid: Option<String>,
    /// Full text: every word must occur in the title, descriptions, items or party names.
    pub q: Option<String>,
    /// Buyer org-id, e.g. `GB-LAE-MAN`.
    pub buyer: Option<String>,
    /// Supplier org-id (an awarded supplier).
    pub supplier: Option<String>,
    /// Status at the record's stage (tender, award or contract status).
    pub status: Option<String>,
    /// CPV code prefix, e.g. `8531` for welfare services.
    pub cpv: Option<String>,
    /// Part of the delivery area (region or locality), case-insensitive.
    pub area: Option<String>,
    /// Smallest value (amount in the record's currency).
    pub value_min: Option<String>,
    /// Largest value.
    pub value_max: Option<String>,
    /// Published on or after (a date `2026-01-31` or an RFC 3339 date-time).
    pub published_from: Option<String>,
    pub published_to: Option<String>,
    /// Tender deadline on or after.
    pub deadline_from: Option<String>,
    pub deadline_to: Option<String>,
    /// Changed in the register on or after (for keeping a copy in sync).
    pub updated_since: Option<String>,
    /// An agency commissioning the process (lead, funder or pooled-budget contributor), e.g.
    /// `GB-NHS-QZW`.
    pub partner: Option<String>,
    /// Commissioning level: individual, local, operational, strategic or regional.
    pub level: Option<String>,
    /// Part of an intention's outcome area, case-insensitive, e.g. `emotionally well`.
    pub outcome_area: Option<String>,
    /// Latest outcome rating: good, approachingTarget, requiresImprovement or inadequate.
    pub rating: Option<String>,
    /// Contract end on or after.
    pub ending_from: Option<String>,
    /// Contract end on or before.
    pub ending_to: Option<String>,
    /// Expiring contracts only: the window in months from now (1 to 120, default 12).
    pub months: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
    /// `csv` for comma-separated values (also chosen by `Accept: text/csv`).
    pub format: Option<String>,
}

impl ViewQuery {
    pub fn filters(&self) -> Result<Filters, ApiError> {
        let date = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    parse_ocds_datetime(v.trim()).ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "{name}: '{v}' is not a date (2026-01-31) or RFC 3339 date-time"
                        ))
                    })
                })
                .transpose()
        };
        Ok(Filters {
            ocid: self.ocid.clone(),
            q: self.q.clone(),
            buyer: self.buyer.clone(),
            supplier: self.supplier.clone(),
            status: self.status.clone(),
            cpv: self.cpv.clone(),
            area: self.area.clone(),
            value_min: number("value_min", &self.value_min)?,
            value_max: number("value_max", &self.value_max)?,
            published_from: date("published_from", &self.published_from)?,
            published_to: date("published_to", &self.published_to)?,
            deadline_from: date("deadline_from", &self.deadline_from)?,
            deadline_to: date("deadline_to", &self.deadline_to)?,
            updated_since: date("updated_since", &self.updated_since)?,
            partner: self.partner.clone(),
            level: self.level.clone(),
            outcome_area: self.outcome_area.clone(),
            rating: self.rating.clone(),
            ending_from: date("ending_from", &self.ending_from)?,
            ending_to: date("ending_to", &self.ending_to)?,
        })
    }

    /// The filters with the view's defaults: opportunities whose deadline has not passed,
    /// contracts ending within `months` (expiring).
    pub fn view_filters(&self, view: View) -> Result<Filters, ApiError> {
        let mut filters = self.filters()?;
        let now = chrono::Utc::now().naive_utc();
        match view {
            View::Opportunities if filters.deadline_from.is_none() => {
                // An opportunity whose deadline has passed cannot be answered any more; ask
                // with deadline_from to see those too.
                filters.deadline_from = Some(now);
            }
            View::Expiring => {
                let months = match self.months.as_deref() {
                    None => DEFAULT_EXPIRING_MONTHS,
                    Some(text) => text
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|m| (1..=MAX_EXPIRING_MONTHS).contains(m))
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "months: '{text}' is not a whole number from 1 to {MAX_EXPIRING_MONTHS}"
                            ))
                        })?,
                };
                let from = *filters.ending_from.get_or_insert(now);
                if filters.ending_to.is_none() {
                    filters.ending_to = from.checked_add_months(chrono::Months::new(months));
                }
            }
            _ if self.months.is_some() => {
                return Err(ApiError::BadRequest(
                    "months: applies to /api/v1/expiring only; use ending_from/ending_to".into(),
                ));
            }
            _ => {}
        }
        Ok(filters)
    }

    pub fn limit(&self) -> Result<u32, ApiError> {
        limit_param(self.limit.as_deref())
    }

    pub fn wants_csv(&self, req: &HttpRequest) -> Result<bool, ApiError> {
        wants_csv(self.format.as_deref(), req)
    }
}

/// The `limit` parameter of a listing: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn limit_param(text: Option<&str>) -> Result<u32, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::BadRequest(format!(
            "limit: '{text}' is not a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

/// Whether a tabular response should be CSV: `format=csv` (or `json`), else the `Accept`
/// header asking for `text/csv`.
pub fn wants_csv(format: Option<&str>, req: &HttpRequest) -> Result<bool, ApiError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "format: '{other}' is not supported; use json or csv"
        ))),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
    }
}

fn number(name: &str, value: &Option<String>) -> Result<Option<f64>, ApiError> {
    value
        .as_deref()
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| ApiError::BadRequest(format!("{name}: '{v}' is not a number")))
        })
        .transpose()
}

/// Months ahead the expiring view looks when the request does not say.
pub const DEFAULT_EXPIRING_MONTHS: u32 = 12;
const MAX_EXPIRING_MONTHS: u32 = 120;

/// One process in a view.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "ocid": "ocds-ocdemo-wyv-0002",
    "title": "Neurodiversity support for children, young people and families",
    "description": "Pre- and post-diagnostic support for neurodivergent children and their families across Wyvern.",
    "stage": "tender", "status": "active",
    "buyer": "GB-NHS-QZW", "suppliers": [],
    "value_amount": 2400000.0, "value_currency": "GBP",
    "published": "2026-11-16T09:00:00Z", "deadline": "2027-01-29T12:00:00Z",
    "how_to_respond": "Submit through the ICB's e-tendering portal by the deadline",
    "contract_start": "2027-06-01T00:00:00Z", "contract_end": "2030-05-31T23:59:59Z",
    "cpv": ["85312400"], "service_category": "Welfare services not delivered through residential institutions",
    "area": "Wyvern", "vcse_suitable": true, "sme_suitable": true,
    "releases": 2, "updated": "2026-11-24T06:40:12Z",
    "record_url": "http://127.0.0.1:8080/api/v1/records/ocds-ocdemo-wyv-0002",
    "partners": ["GB-NHS-QZW"], "commissioning": null, "outcomes": null
}))]
pub struct ViewRow {
    pub ocid: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// planning, tender, award, contract or implementation.
    pub stage: Option<String>,
    pub status: Option<String>,
    pub buyer: Option<String>,
    pub suppliers: Vec<String>,
    pub value_amount: Option<f64>,
    pub value_currency: Option<String>,
    pub published: Option<String>,
    /// Tender deadline (UTC).
    pub deadline: Option<String>,
    /// How to respond (opportunities): the tender's submission method details or method.
    pub how_to_respond: Option<String>,
    pub contract_start: Option<String>,
    pub contract_end: Option<String>,
    pub cpv: Vec<String>,
    pub service_category: Option<String>,
    pub area: Option<String>,
    pub vcse_suitable: Option<bool>,
    pub sme_suitable: Option<bool>,
    pub releases: i32,
    pub updated: String,
    /// The OCDS record.
    pub record_url: String,
    /// Agencies commissioning the process: lead, funders and pooled-budget contributors.
    pub partners: Vec<String>,
    /// Intentions: the joint commissioning, pooled budget and each partner's share.
    pub commissioning: Option<IntentionSummary>,
    /// Outcomes: latest rating and trend, overall and per results-based-accountability
    /// quadrant (`/api/v1/contracts/{ocid}/outcomes` has the series).
    pub outcomes: Option<OutcomeSummary>,
}

/// A page of a view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewPage {
    pub data: Vec<ViewRow>,
    pub links: Links,
}

/// A page of expiring contracts, with every contract of the window counted per service area.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringPage {
    pub data: Vec<ViewRow>,
    /// The whole window (not only this page) per service area, soonest end first.
    pub groups: Vec<ServiceAreaGroup>,
    pub links: Links,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"next": "http://127.0.0.1:8080/api/v1/opportunities?cpv=8531&cursor=3137"}))]
pub struct Links {
    /// The next page, or null on the last page.
    pub next: Option<String>,
}

fn time(t: Option<chrono::NaiveDateTime>) -> Option<String> {
    t.map(|t| t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A view row; `with_response` reads how to respond from the compiled release (only
/// opportunities need it, and parsing every row's release is the costly part of a page).
pub fn row(record: RecordRow, public_url: &str, with_response: bool) -> ViewRow {
    let how_to_respond = with_response
        .then(|| serde_json::from_str::<Value>(&record.compiled_release).ok())
        .flatten()
        .and_then(|compiled| {
            let tender = compiled.get("tender")?;
            tender
                .get("submissionMethodDetails")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    let methods: Vec<&str> = tender
                        .get("submissionMethod")?
                        .as_array()?
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    (!methods.is_empty()).then(|| methods.join(", "))
                })
        });
    ViewRow {
        record_url: format!("{public_url}/api/v1/records/{}", record.ocid),
        ocid: record.ocid,
        title: record.title,
        description: record.description,
        stage: record.stage,
        status: record.status,
        buyer: record.buyer_org_id,
        suppliers: list(&record.supplier_org_ids),
        value_amount: record.value_amount,
        value_currency: record.value_currency,
        published: time(record.published_at),
        deadline: time(record.tender_deadline),
        how_to_respond,
        contract_start: time(record.contract_start),
        contract_end: time(record.contract_end),
        cpv: list(&record.cpv_codes),
        service_category: record.service_category,
        area: record.delivery_area,
        vcse_suitable: record.vcse_suitable,
        sme_suitable: record.sme_suitable,
        releases: record.release_count,
        updated: time(Some(record.updated_at)).unwrap_or_default(),
        partners: list(&record.partner_org_ids),
        commissioning: record
            .commissioning
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        outcomes: record
            .outcomes
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
    }
}

const CSV_HEADER: [&str; 33] = [
    "ocid",
    "title",
    "description",
    "stage",
    "status",
    "buyer",
    "suppliers",
    "value_amount",
    "value_currency",
    "published",
    "deadline",
    "how_to_respond",
    "contract_start",
    "contract_end",
    "cpv",
    "service_category",
    "area",
    "vcse_suitable",
    "sme_suitable",
    "releases",
    "updated",
    "record_url",
    "partners",
    "lead",
    "level",
    "cycle_stage",
    "outcome_areas",
    "pooled_budget",
    "pooled_budget_currency",
    "contributions",
    "latest_rating",
    "trend",
    "latest_period_end",
];

fn csv_fields(r: &ViewRow) -> [String; 33] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let flag = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    let c = r.commissioning.as_ref();
    let o = r.outcomes.as_ref();
    let pooled = c.and_then(|c| c.pooled_budget.as_ref());
    // One cell per intention: `org-id amount` pairs, `;`-separated like the other lists.
    let contributions = c.map_or_else(String::new, |c| {
        c.contributions
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.org_id.as_deref().unwrap_or("?"),
                    p.amount
                        .as_ref()
                        .map_or(String::new(), |m| m.amount.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    });
    let code = |v: Option<String>| v.unwrap_or_default();
    [
        r.ocid.clone(),
        opt(&r.title),
        opt(&r.description),
        opt(&r.stage),
        opt(&r.status),
        opt(&r.buyer),
        r.suppliers.join(";"),
        r.value_amount.map(|v| v.to_string()).unwrap_or_default(),
        opt(&r.value_currency),
        opt(&r.published),
        opt(&r.deadline),
        opt(&r.how_to_respond),
        opt(&r.contract_start),
        opt(&r.contract_end),
        r.cpv.join(";"),
        opt(&r.service_category),
        opt(&r.area),
        flag(r.vcse_suitable),
        flag(r.sme_suitable),
        r.releases.to_string(),
        r.updated.clone(),
        r.record_url.clone(),
        r.partners.join(";"),
        code(c.and_then(|c| c.lead.clone())),
        code(c.and_then(|c| c.level.clone())),
        code(c.and_then(|c| c.cycle_stage.clone())),
        c.map_or_else(String::new, |c| c.outcome_areas.join(";")),
        pooled.map_or_else(String::new, |m| m.amount.to_string()),
        code(pooled.and_then(|m| m.currency.clone())),
        contributions,
        code(o.and_then(|o| o.latest_rating).map(|r| r.code().to_owned())),
        code(o.and_then(|o| o.trend).map(|t| t.code().to_owned())),
        code(o.and_then(|o| o.latest_period_end.clone())),
    ]
}

/// The URL of the next page: this request's URL with `cursor` replaced.
pub fn next_url(req: &HttpRequest, public_url: &str, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    pairs.retain(|(k, _)| k != "cursor");
    pairs.push(("cursor".to_owned(), cursor.to_owned()));
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{public_url}{}?{}", req.path(), query.join("&"))
}

/// Percent-encodes `s` for a URL query or path segment (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The cursor of listings paged by row id (release feed, organisations).
pub fn row_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("cursor: not one this register issued".into()))
        })
        .transpose()
}

pub fn view_error(e: ViewError) -> ApiError {
    match e {
        ViewError::BadCursor => ApiError::BadRequest(format!("cursor: {e}")),
        ViewError::Database(e) => ApiError::Internal(e.to_string()),
    }
}

async fn serve_view(
    view: View,
    req: HttpRequest,
    query: web::Query<ViewQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filters = query.view_filters(view)?;
    let limit = query.limit()?;
    let csv = query.wants_csv(&req)?;
    let cursor = query.cursor.clone();
    let pool = state.pool.clone();
    let (page, groups) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let page = views::page(&mut conn, view, &filters, limit, cursor.as_deref())
                .map_err(view_error)?;
            let groups = (view == View::Expiring && !csv)
                .then(|| views::expiring_groups(&mut conn, &filters))
                .transpose()
                .map_err(view_error)?;
            Ok((page, groups))
        })
        .await??;
    let public_url = &state.publisher.base_url(&req);
    let next = page.next.as_deref().map(|c| next_url(&req, public_url, c));
    let with_response = view == View::Opportunities;
    let rows: Vec<ViewRow> = page
        .rows
        .into_iter()
        .map(|r| row(r, public_url, with_response))
        .collect();
    if csv {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
            w.write_record(CSV_HEADER)?;
            for r in &rows {
                w.write_record(csv_fields(r))?;
            }
            w.flush()?;
            Ok(())
        };
        write(&mut writer).map_err(|e| ApiError::Internal(e.to_string()))?;
        let body = writer
            .into_inner()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut response = HttpResponse::Ok();
        response.content_type("text/csv; charset=utf-8");
        if let Some(next) = &next {
            response.insert_header((header::LINK, format!("<{next}>; rel=\"next\"")));
        }
        return Ok(response.body(body));
    }
    if let Some(groups) = groups {
        return Ok(HttpResponse::Ok().json(ExpiringPage {
            data: rows,
            groups,
            links: Links { next },
        }));
    }
    Ok(HttpResponse::Ok().json(ViewPage {
        data: rows,
        links: Links { next },
    }))
}

macro_rules! view_route {
    ($name:ident, $path:literal, $view:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "register",
            params(ViewQuery),
            responses(
                (status = 200, description = "A page of rows; `links.next` is the next page. As CSV (`format=csv` or `Accept: text/csv`) the same rows, with the next page in the `Link` header", content(
                    (ViewPage = "application/json"),
                    (String = "text/csv")
                )),
                (status = 400, description = "A parameter is not valid (the detail names it)", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[get($path)]
        pub async fn $name(
            req: HttpRequest,
            query: web::Query<ViewQuery>,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, ApiError> {
            serve_view($view, req, query, state).await
        }
    };
}

view_route!(
    intentions,
    "/intentions",
    View::Intentions,
    "Commissioning intentions: processes at the planning stage, newest first."
);
view_route!(
    opportunities,
    "/opportunities",
    View::Opportunities,
    "Opportunities: active tenders whose deadline has not passed (unless `deadline_from` says otherwise), soonest deadline first, with how to respond."
);
view_route!(
    contracts,
    "/contracts",
    View::Contracts,
    "Awarded contracts (award, contract and implementation stages) with suppliers, values and periods, newest first."
);
view_route!(
    outcomes,
    "/outcomes",
    View::Outcomes,
    "Outcomes: contracts with reported metrics, newest first, each with its latest rating and trend overall and per results-based-accountability quadrant (howMuch, howWell, betterOff). A contract's latest rating is the worst of its measures' latest ratings; the trend compares the mean rating of the latest assessment period with the one before. Find a Tender UK9 ratings (`measureClassification`) are mapped to the same codes."
);

/// Expiring contracts: live contracts ending within `months` (default 12), soonest end
/// first, with the whole window counted per service area: the re-commissioning pipeline
/// providers and partners plan around.
#[utoipa::path(
    tag = "register",
    params(ViewQuery),
    responses(
        (status = 200, description = "A page of contracts and the window's service areas; `links.next` is the next page. As CSV the same rows (without `groups`), the next page in the `Link` header", content(
            (ExpiringPage = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is not valid (the detail names it)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/expiring")]
pub async fn expiring(
    req: HttpRequest,
    query: web::Query<ViewQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    serve_view(View::Expiring, req, query, state).await
}
