//! Commissioning routes beyond the plain views: a contract's outcome series, and overlaps
//! between different agencies' intentions and contracts.

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use register::{
    commissioning::{self, MetricSeries, OutcomeSummary},
    overlaps::{self as overlap, Kind},
    releases,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    routes::views::{Links, next_url},
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
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: '{other}' is not supported; use json or csv"
            )));
        }
        None => accepts_csv(&req),
    };
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

fn accepts_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
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
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit: '{text}' is not a whole number from 1 to 1000"
                ))
            })?,
    };
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
        format!("{}\n{}\n{}", self.score, self.a, self.b)
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn decode(cursor: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::BadRequest("cursor: not one this register issued".into());
        let bytes = (0..cursor.len())
            .step_by(2)
            .map(|i| {
                cursor
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
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
