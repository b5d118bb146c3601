//! Commissioning routes beyond the plain views: a contract's outcome series, and overlaps
//! between different agencies' intentions and contracts.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::{
    commissioning::{self, MetricSeries, OutcomeSummary},
    overlaps::{self as overlap, Kind},
    releases,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    routes::views::{Links, limit_param, next_url, wants_csv},
    startup::AppState,
};

/// A contract's outcomes: the summary the outcomes view shows and every measure's series.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractOutcomes {
    pub ocid: String,
    pub title: Option<String>,
    pub buyer: Option<String>,
    pub suppliers: Vec<String>,
    /// Latest rating and trend, overall and per quadrant; null when no outcome is reported.
    pub summary: Option<OutcomeSummary>,
    /// Each measure (metric) of each contract: target, observations oldest first, ratings.
    pub metrics: Vec<MetricSeries>,
    /// The OCDS record.
    pub record_url: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `csv` for one row per observation (also chosen by `Accept: text/csv`).
    pub format: Option<String>,
}

/// A contract's outcome series: each measure's target and observations over the periods,
/// with ratings (ours, or mapped from Find a Tender UK9 `measureClassification`) and trend.
#[utoipa::path(
    tag = "register",
    params(("ocid" = String, Path, description = "The contracting process"), SeriesQuery),
    responses(
        (status = 200, description = "The series. As CSV one row per observation", content(
            (ContractOutcomes = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process in the register", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{ocid}/outcomes")]
pub async fn contract_outcomes(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<SeriesQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ocid = path.into_inner();
    let csv = wants_csv(query.format.as_deref(), &req)?;
    let pool = state.pool.clone();
    let wanted = ocid.clone();
    let compiled = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            releases::compiled_release(&mut conn, &wanted)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no process {ocid} in the register")))?;
    if csv {
        return series_csv(&compiled);
    }
    let summary = register::summary::summarise(&compiled);
    let outcomes = ContractOutcomes {
        record_url: format!("{}/api/v1/records/{ocid}", state.publisher.base_url(&req)),
        ocid,
        title: summary.title,
        buyer: summary.buyer_org_id,
        suppliers: summary.supplier_org_ids,
        summary: commissioning::outcome_summary(&compiled),
        metrics: commissioning::outcome_series(&compiled),
    };
    Ok(HttpResponse::Ok().json(outcomes))
}

/// The observations as CSV: the `observations` table of the bulk downloads, so both agree.
fn series_csv(compiled: &serde_json::Value) -> Result<HttpResponse, ApiError> {
    let table = register::flatten::Table::Observations;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut result = w.write_record(table.header());
    register::flatten::rows(table, compiled, &mut |row| {
        if result.is_ok() {
            result = w.write_record(row);
        }
    });
    result.map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = w
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(body))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverlapQuery {
    /// Only pairs where one side is commissioned by this agency (lead or partner), e.g.
    /// `GB-LAE-WYV`.
    pub agency: Option<String>,
    /// Smallest score, 0 to 1 (default: the register's threshold).
    pub min_score: Option<String>,
    /// Pairs per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
}

/// One side of an overlap.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverlapSide {
    pub ocid: String,
    /// intention, opportunity or contract.
    pub kind: String,
    pub title: Option<String>,
    pub buyer: Option<String>,
    /// Agencies commissioning it (lead, funders, pooled-budget contributors).
    pub agencies: Vec<String>,
    pub record_url: String,
}

/// Why two processes look like the same need.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverlapReason {
    /// service, area, period or text.
    pub kind: String,
    /// This component's score, 0 to 1.
    pub score: f64,
    pub detail: String,
}

/// Two processes of different agencies that look like the same need.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "score": 0.76,
    "reasons": [
        {"kind": "service", "score": 1.0, "detail": "same CPV code 85121270"},
        {"kind": "area", "score": 1.0, "detail": "same delivery area: Wyvern"},
        {"kind": "text", "score": 0.42, "detail": "shared words: counselling, pupil, school, wellbeing"},
        {"kind": "period", "score": 0.5, "detail": "periods 0 months apart (2027-08-31 to 2027-09-01)"}
    ],
    "a": {"ocid": "ocds-ocdemo-wyv-0004", "kind": "contract", "title": "School-based counselling and mental health support",
          "buyer": "GB-COH-99990001", "agencies": ["GB-COH-99990001"],
          "record_url": "http://127.0.0.1:8080/api/v1/records/ocds-ocdemo-wyv-0004"},
    "b": {"ocid": "ocds-ocdemo-wyv-0005", "kind": "intention", "title": "School-based counselling and emotional wellbeing support for pupils",
          "buyer": "GB-NHS-QZW", "agencies": ["GB-NHS-QZW"],
          "record_url": "http://127.0.0.1:8080/api/v1/records/ocds-ocdemo-wyv-0005"}
}))]
pub struct OverlapPair {
    /// 0 to 1: weighted service (CPV), area, period and text similarity.
    pub score: f64,
    pub reasons: Vec<OverlapReason>,
    pub a: OverlapSide,
    pub b: OverlapSide,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverlapPage {
    pub data: Vec<OverlapPair>,
    pub links: Links,
}

/// Overlaps: intentions, open tenders and live contracts of different agencies that look
/// like the same need (similar service category/CPV, overlapping delivery area and period,
/// similar text), best first, each pair with its reasons and score: candidates for joint
/// commissioning, or duplicated spend.
#[utoipa::path(
    tag = "register",
    params(OverlapQuery),
    responses(
        (status = 200, description = "A page of pairs; `links.next` is the next page", body = OverlapPage),
        (status = 400, description = "A parameter is not valid (the detail names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many live processes to compare at once (more than 5,000): ask for one agency's overlaps with `agency`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/overlaps")]
pub async fn overlaps(
    req: HttpRequest,
    query: web::Query<OverlapQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let min_score = match query.min_score.as_deref() {
        None => overlap::DEFAULT_MIN_SCORE,
        Some(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("min_score: '{text}' is not a number from 0 to 1"))
            })?,
    };
    let limit = limit_param(query.limit.as_deref())? as usize;
    let after = query.cursor.as_deref().map(PairKey::decode).transpose()?;
    let agency = query.agency.clone().map(|a| a.trim().to_owned());
    let pool = state.pool.clone();
    let candidates = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            register::views::overlap_candidates(&mut conn, chrono::Utc::now().naive_utc())
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??;
    let candidates = within_bounds(candidates, agency.as_deref())?;
    let found = web::block(move || {
        let found = overlap::find_overlaps(&candidates, min_score);
        (candidates, found)
    })
    .await?;
    let (candidates, found) = found;
    let base = state.publisher.base_url(&req);
    let involves = |i: usize| {
        agency
            .as_deref()
            .is_none_or(|a| candidates[i].agencies.iter().any(|x| x == a))
    };
    let mut pairs = found
        .into_iter()
        .filter(|o| involves(o.a) || involves(o.b))
        .filter(|o| {
            after
                .as_ref()
                .is_none_or(|k| PairKey::of(o, &candidates).is_after(k))
        })
        .take(limit + 1)
        .collect::<Vec<_>>();
    let next = (pairs.len() > limit).then(|| {
        pairs.truncate(limit);
        let last = pairs.last().expect("a page of at least one pair");
        next_url(&req, &base, &PairKey::of(last, &candidates).encode())
    });
    let side = |i: usize| {
        let c = &candidates[i];
        OverlapSide {
            ocid: c.ocid.clone(),
            kind: match c.kind {
                Kind::Intention => "intention",
                Kind::Opportunity => "opportunity",
                Kind::Contract => "contract",
            }
            .to_owned(),
            title: c.title.clone(),
            buyer: c.buyer.clone(),
            agencies: c.agencies.clone(),
            record_url: format!("{base}/api/v1/records/{}", c.ocid),
        }
    };
    let data = pairs
        .into_iter()
        .map(|o| OverlapPair {
            score: o.score,
            reasons: o
                .reasons
                .into_iter()
                .map(|r| OverlapReason {
                    kind: r.kind.to_owned(),
                    score: r.score,
                    detail: r.detail,
                })
                .collect(),
            a: side(o.a),
            b: side(o.b),
        })
        .collect();
    Ok(HttpResponse::Ok().json(OverlapPage {
        data,
        links: Links { next },
    }))
}

/// Most candidates one overlap request compares. Pairs grow with the square of the
/// candidates: a partnership's live pipeline (hundreds to a few thousand processes) is well
/// within this; the whole of a national feed is not (on the 1M-release test register, 100,000+
/// candidates made one request exhaust the machine's memory).
pub const MAX_OVERLAP_CANDIDATES: usize = 5_000;

/// The candidates to compare: all of them when few enough; with `agency`, that agency's own
/// processes and the others sharing a CPV class (4 digits) or a service category with one of
/// them (the only ones that can pass the service test; pairs on text alone are not looked for
/// then). More than [`MAX_OVERLAP_CANDIDATES`]: a 422 that says how to narrow the request.
fn within_bounds(
    candidates: Vec<overlap::Candidate>,
    agency: Option<&str>,
) -> Result<Vec<overlap::Candidate>, ApiError> {
    let total = candidates.len();
    let selected = match agency {
        Some(agency) if total > MAX_OVERLAP_CANDIDATES => {
            let own = |c: &overlap::Candidate| c.agencies.iter().any(|a| a == agency);
            let class = |code: &String| code.get(..4).map(str::to_owned);
            let mut classes = std::collections::HashSet::new();
            let mut categories = std::collections::HashSet::new();
            for c in candidates.iter().filter(|c| own(c)) {
                classes.extend(c.cpv_codes.iter().filter_map(class));
                categories.extend(c.service_category.clone());
            }
            candidates
                .into_iter()
                .filter(|c| {
                    own(c)
                        || c.cpv_codes
                            .iter()
                            .filter_map(class)
                            .any(|k| classes.contains(&k))
                        || c.service_category
                            .as_ref()
                            .is_some_and(|s| categories.contains(s))
                })
                .collect()
        }
        _ => candidates,
    };
    if selected.len() > MAX_OVERLAP_CANDIDATES {
        return Err(ApiError::Unprocessable {
            detail: format!(
                "{} processes to compare ({total} live in the register); overlaps are computed \
                 over at most {MAX_OVERLAP_CANDIDATES} at once: ask for one agency's overlaps \
                 with agency=<org-id>",
                selected.len()
            ),
            errors: vec![crate::error::FieldError {
                pointer: String::new(),
                message: format!("more than {MAX_OVERLAP_CANDIDATES} candidates"),
            }],
        });
    }
    Ok(selected)
}

/// The keyset position of a pair in the overlap order (score descending, then ocids).
#[derive(Debug, Clone, PartialEq)]
struct PairKey {
    score: f64,
    a: String,
    b: String,
}

impl PairKey {
    fn of(o: &overlap::Overlap, candidates: &[overlap::Candidate]) -> Self {
        Self {
            score: o.score,
            a: candidates[o.a].ocid.clone(),
            b: candidates[o.b].ocid.clone(),
        }
    }

    /// Whether `self` comes after `k` in the order pairs are served.
    fn is_after(&self, k: &PairKey) -> bool {
        match k.score.total_cmp(&self.score) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => (&self.a, &self.b) > (&k.a, &k.b),
        }
    }

    /// Opaque to clients: hex of `score\na\nb`.
    fn encode(&self) -> String {
        register::views::opaque_cursor(&format!("{}\n{}\n{}", self.score, self.a, self.b))
    }

    fn decode(cursor: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::BadRequest("cursor: not one this register issued".into());
        let text = register::views::plain_cursor(cursor).ok_or_else(bad)?;
        let mut parts = text.splitn(3, '\n');
        let score = parts
            .next()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(bad)?;
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        Ok(Self {
            score,
            a: a.to_owned(),
            b: b.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(ocid: &str, agency: &str, cpv: &str) -> overlap::Candidate {
        overlap::Candidate {
            ocid: ocid.into(),
            kind: Kind::Contract,
            title: None,
            description: None,
            buyer: Some(agency.into()),
            agencies: vec![agency.into()],
            cpv_codes: vec![cpv.into()],
            service_category: None,
            area: None,
            start: None,
            end: None,
        }
    }

    #[test]
    fn large_registers_are_narrowed_by_agency_or_refused() {
        let many: Vec<overlap::Candidate> = (0..=MAX_OVERLAP_CANDIDATES)
            .map(|i| {
                let (cpv, side) = if i % 2 == 0 {
                    ("85312400", "E")
                } else {
                    ("45233141", "O")
                };
                candidate(&format!("o-{i}"), &format!("GB-LAE-{side}{}", i % 3), cpv)
            })
            .collect();
        assert!(within_bounds(many[..10].to_vec(), None).is_ok_and(|c| c.len() == 10));
        let refused = within_bounds(many.clone(), None).unwrap_err();
        assert!(matches!(refused, ApiError::Unprocessable { .. }));
        // GB-LAE-E0's processes are all welfare services (8531...): only that half stays.
        let narrowed = within_bounds(many, Some("GB-LAE-E0")).unwrap();
        assert_eq!(narrowed.len(), MAX_OVERLAP_CANDIDATES / 2 + 1);
        assert!(narrowed.iter().all(|c| c.cpv_codes[0] == "85312400"));
    }

    #[test]
    fn pair_cursors_round_trip_and_order() {
        let k = PairKey {
            score: 0.75,
            a: "ocds-a".into(),
            b: "ocds-b".into(),
        };
        assert_eq!(PairKey::decode(&k.encode()).unwrap(), k);
        assert!(PairKey::decode("zz").is_err());
        let lower = PairKey {
            score: 0.6,
            ..k.clone()
        };
        assert!(lower.is_after(&k));
        assert!(!k.is_after(&lower));
        let same_score_later = PairKey {
            b: "ocds-c".into(),
            ..k.clone()
        };
        assert!(same_score_later.is_after(&k));
        assert!(!k.is_after(&k));
    }
}
