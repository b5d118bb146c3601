//! Commissioning intentions and outcomes (design brief, section 4), derived from a compiled
//! release.
//!
//! Like [`crate::summary`], everything here is pure and infallible: one `serde_json::Value` in,
//! plain data out, no I/O. A field that is missing, null, of the wrong type or carrying an
//! unknown code is skipped, never an error, and anything but a JSON object gives `None` (or an
//! empty list).
//!
//! # Intentions
//!
//! Read from `planning.commissioning` (our extension), `planning.budget` with the budget
//! breakdown extension (`budgetBreakdown[]`: each partner's contribution, with `sourceParty`)
//! and the parties.
//!
//! - The **lead** is the buyer (`buyer`, resolved through its party, else the first party with
//!   the buyer role), as an org-id ([`crate::summary::org_id`]).
//! - The **partners** are every agency commissioning jointly: the lead, parties with the
//!   `funder` role and the `sourceParty` of each budget contribution; sorted, unique org-ids.
//! - **Contributions** are the budget breakdown entries, in document order. Their **total** is
//!   the sum of the stated amounts when they share one currency (mixed currencies, or amounts
//!   with and without a currency, give no total); each contribution's **share** is its amount
//!   over that total, rounded to 4 decimals (none without a positive total).
//! - The **pooled budget** is `planning.budget.amount`, else the contributions' total.
//! - **Expected dates** (RFC 3339, UTC): procurement is `tender.tenderPeriod.startDate`, else
//!   `tender.communication.futureNoticeDate` (UK1-UK3 pipeline notices), else the latest
//!   `dueDate` of the planning milestones that precede a procurement (types `preProcurement`,
//!   `engagement`, `approval`: UK2 market engagement). Delivery starts at
//!   `tender.contractPeriod.startDate`, else the earliest of the lots' contract periods, else
//!   the earliest budget breakdown period, else the earliest `delivery` planning milestone; it
//!   ends at `tender.contractPeriod.endDate`, else the latest lot or budget breakdown period
//!   end. Start and end fall back independently.
//!
//! # Outcomes
//!
//! Read from the metrics extension: actuals in `contracts[].implementation.metrics[]`, targets
//! in `contracts[].agreedMetrics[]`. Our extension adds `rbaQuadrant` to a metric and `rating`
//! to an observation; Find a Tender contract performance notices (UK9) rate an observation with
//! `measureClassification.id` instead.
//!
//! - An observation's **rating** is its `rating`, else mapped from its UK9
//!   `measureClassification.id`: `met` → good, `slightlyBelow` → approachingTarget, `below` →
//!   requiresImprovement, `significantlyBelow` → inadequate, `other` (or anything unknown) →
//!   none. Scores: good 4,
//!   approachingTarget 3, requiresImprovement 2, inadequate 1.
//! - An implementation observation with id `target` is a target, not an actual. A metric's
//!   **target** is the first observation of the contract's agreed metric with the same id, else
//!   such a `target` observation.
//! - **Order**: a metric's observations are ordered by period end date (the start date when
//!   the period has no end), then document order; undated observations come first.
//! - **Metric**: its latest rating is that of its latest rated observation; its trend compares
//!   the scores of its last two rated observations (higher: improving, lower: declining, equal:
//!   steady; fewer than two: none).
//! - **Contract, record and RBA quadrant**: the latest rating is the *worst* of the metrics'
//!   latest ratings (a contract is only as good as its weakest measure). An assessment period
//!   is the set of rated observations sharing a period end date (the UTC date part of the
//!   ordering date above); the trend compares the mean score of the latest assessment period
//!   with that of the one before (fewer than two periods: none). The latest period end is the
//!   latest ordering date among rated observations.
//! - Only metrics with at least one actual observation count in a summary. Quadrant summaries
//!   come in the order howMuch, howWell, betterOff, then unclassified metrics (UK9 KPIs carry
//!   no quadrant); only those present. [`outcome_series`] also lists agreed metrics without
//!   any actual yet (their target and no observations), after the contract's implementation
//!   metrics.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::summary::{
    Extreme, Total, at, buyer_org_id, date, entries, has_role, ident, money, objects, org_id,
    party_for, text, total,
};

// ---------------------------------------------------------------------------------------------
// Codes

/// An outcome rating, as in UK contract performance notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Rating {
    Good,
    ApproachingTarget,
    RequiresImprovement,
    Inadequate,
}

impl Rating {
    const ALL: [Rating; 4] = [
        Rating::Good,
        Rating::ApproachingTarget,
        Rating::RequiresImprovement,
        Rating::Inadequate,
    ];

    /// Our code (`approachingTarget`); case, spaces and punctuation are ignored, so the UK9
    /// rating words (`Approaching target`) parse too.
    pub fn from_code(code: &str) -> Option<Self> {
        let key = normalise(code);
        Self::ALL.into_iter().find(|r| normalise(r.code()) == key)
    }

    pub fn code(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::ApproachingTarget => "approachingTarget",
            Rating::RequiresImprovement => "requiresImprovement",
            Rating::Inadequate => "inadequate",
        }
    }

    /// A Find a Tender UK9 `measureClassification.id`; `other` (and anything unknown) rates
    /// nothing.
    pub fn from_uk9(code: &str) -> Option<Self> {
        let key = normalise(code);
        Self::ALL.into_iter().find(|r| normalise(r.uk9()) == key)
    }

    pub fn uk9(self) -> &'static str {
        match self {
            Rating::Good => "met",
            Rating::ApproachingTarget => "slightlyBelow",
            Rating::RequiresImprovement => "below",
            Rating::Inadequate => "significantlyBelow",
        }
    }

    /// Good 4, approaching target 3, requires improvement 2, inadequate 1.
    pub fn score(self) -> u8 {
        match self {
            Rating::Good => 4,
            Rating::ApproachingTarget => 3,
            Rating::RequiresImprovement => 2,
            Rating::Inadequate => 1,
        }
    }
}

/// The direction of ratings between the last two assessments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Trend {
    Improving,
    Steady,
    Declining,
}

impl Trend {
    /// The code as serialised: `improving`, `steady` or `declining`.
    pub fn code(self) -> &'static str {
        match self {
            Trend::Improving => "improving",
            Trend::Steady => "steady",
            Trend::Declining => "declining",
        }
    }

    /// The trend from `previous` to `latest`, both scores (or comparable score sums).
    fn between<T: Ord>(previous: T, latest: T) -> Self {
        match latest.cmp(&previous) {
            Ordering::Greater => Trend::Improving,
            Ordering::Equal => Trend::Steady,
            Ordering::Less => Trend::Declining,
        }
    }
}

/// The results-based accountability question a metric answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Quadrant {
    HowMuch,
    HowWell,
    BetterOff,
}

impl Quadrant {
    const ALL: [Quadrant; 3] = [Quadrant::HowMuch, Quadrant::HowWell, Quadrant::BetterOff];

    /// Our `rbaQuadrant` code; case, spaces and punctuation are ignored.
    pub fn from_code(code: &str) -> Option<Self> {
        let key = normalise(code);
        Self::ALL.into_iter().find(|q| normalise(q.code()) == key)
    }

    pub fn code(self) -> &'static str {
        match self {
            Quadrant::HowMuch => "howMuch",
            Quadrant::HowWell => "howWell",
            Quadrant::BetterOff => "betterOff",
        }
    }
}

/// Lower-case letters and digits only: `Approaching target` and `approachingTarget` meet.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Intentions

/// An amount of money; the currency upper-cased as published, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Money {
    pub amount: f64,
    pub currency: Option<String>,
}

/// One partner's contribution to a pooled budget (a budget breakdown entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contribution {
    pub org_id: Option<String>,
    pub name: Option<String>,
    pub amount: Option<Money>,
    /// Share of the contributions' total, 0..1, rounded to 4 decimals.
    pub share: Option<f64>,
    pub description: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
}

/// What a commissioning intention says: who commissions, with what money, towards what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "lead": "GB-LAE-WYV",
    "partners": ["GB-COH-99990001", "GB-GOR-PC9901", "GB-LAE-WYV", "GB-NHS-QZW"],
    "contributions": [
        {"org_id": "GB-LAE-WYV", "name": "Wyvern County Council", "amount": {"amount": 3600000.0, "currency": "GBP"}, "share": 0.5217,
         "description": "Children's services and public health grant", "period_start": "2027-10-01T00:00:00Z", "period_end": "2030-09-30T23:59:59Z"},
        {"org_id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board", "amount": {"amount": 2700000.0, "currency": "GBP"}, "share": 0.3913,
         "description": "Children and young people's mental health transformation funding", "period_start": "2027-10-01T00:00:00Z", "period_end": "2030-09-30T23:59:59Z"}
    ],
    "pooled_budget": {"amount": 6900000.0, "currency": "GBP"},
    "contributions_total": {"amount": 6900000.0, "currency": "GBP"},
    "level": "strategic", "cycle_stage": "plan",
    "priorities": ["Early help before crisis"],
    "outcome_areas": ["Children and young people are emotionally well"],
    "joint": true, "pooled": true,
    "expected_procurement": "2027-01-15T00:00:00Z",
    "expected_start": "2027-10-01T00:00:00Z", "expected_end": "2030-09-30T23:59:59Z"
}))]
pub struct IntentionSummary {
    /// The buyer's org-id.
    pub lead: Option<String>,
    /// Every agency commissioning jointly: lead, funders, budget contributors; sorted, unique.
    pub partners: Vec<String>,
    pub contributions: Vec<Contribution>,
    /// `planning.budget.amount`, else the contributions' total.
    pub pooled_budget: Option<Money>,
    /// The sum of the contributions when they share one currency.
    pub contributions_total: Option<Money>,
    pub level: Option<String>,
    pub cycle_stage: Option<String>,
    pub priorities: Vec<String>,
    pub outcome_areas: Vec<String>,
    pub joint: Option<bool>,
    pub pooled: Option<bool>,
    /// When the procurement is expected to start (RFC 3339, UTC).
    pub expected_procurement: Option<String>,
    /// When delivery is expected to start (RFC 3339, UTC).
    pub expected_start: Option<String>,
    /// When delivery is expected to end (RFC 3339, UTC).
    pub expected_end: Option<String>,
}

/// The intention in a compiled release; `None` when it has neither `planning.commissioning`,
/// nor `planning.budget`, nor a party with the funder role.
pub fn intention_summary(compiled: &Value) -> Option<IntentionSummary> {
    if !compiled.is_object() {
        return None;
    }
    let r = compiled;
    let commissioning = at(r, &["planning", "commissioning"]).filter(|c| is_filled_object(c));
    let budget = at(r, &["planning", "budget"]).filter(|b| is_filled_object(b));
    let has_funders = objects(r.get("parties")).any(|p| has_role(p, "funder"));
    if commissioning.is_none() && budget.is_none() && !has_funders {
        return None;
    }

    let contributions = contributions(r);
    let contributions_total = match total(contributions.iter().filter_map(|c| c.amount.clone())) {
        Total::Sum(amount, currency) => Some(Money { amount, currency }),
        Total::Nothing | Total::Mixed => None,
    };
    let pooled_budget =
        money(at(r, &["planning", "budget", "amount"])).or_else(|| contributions_total.clone());
    let field = |key: &str| commissioning.and_then(|c| c.get(key));

    Some(IntentionSummary {
        lead: buyer_org_id(r),
        partners: partners(r, &contributions),
        contributions,
        pooled_budget,
        contributions_total,
        level: text(field("level")).map(str::to_owned),
        cycle_stage: text(field("cycleStage")).map(str::to_owned),
        priorities: strings(field("priorities")),
        outcome_areas: strings(field("outcomeAreas")),
        joint: boolean(field("joint")),
        pooled: boolean(field("pooledBudget")),
        expected_procurement: expected_procurement(r).map(rfc3339),
        expected_start: expected_delivery(r, "startDate", Extreme::Earliest).map(rfc3339),
        expected_end: expected_delivery(r, "endDate", Extreme::Latest).map(rfc3339),
    })
}

/// The agencies commissioning a process jointly, as [`IntentionSummary::partners`]: the lead,
/// funders and budget contributors; for any record (a plain contract gives its buyer).
pub fn partner_org_ids(compiled: &Value) -> Vec<String> {
    if !compiled.is_object() {
        return Vec::new();
    }
    partners(compiled, &contributions(compiled))
}

fn partners(r: &Value, contributions: &[Contribution]) -> Vec<String> {
    let mut ids: Vec<String> = buyer_org_id(r)
        .into_iter()
        .chain(
            objects(r.get("parties"))
                .filter(|p| has_role(p, "funder"))
                .filter_map(org_id),
        )
        .chain(contributions.iter().filter_map(|c| c.org_id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn contributions(r: &Value) -> Vec<Contribution> {
    let mut list: Vec<Contribution> = entries(at(r, &["planning", "budget", "budgetBreakdown"]))
        .map(|b| {
            let source = b.get("sourceParty").filter(|s| s.is_object());
            let party = source.and_then(|s| party_for(r, s, "funder"));
            Contribution {
                org_id: party.and_then(org_id).or_else(|| source.and_then(org_id)),
                name: source
                    .and_then(|s| text(s.get("name")))
                    .or_else(|| party.and_then(|p| text(p.get("name"))))
                    .map(str::to_owned),
                amount: money(b.get("amount")),
                share: None,
                description: text(b.get("description")).map(str::to_owned),
                period_start: date(at(b, &["period", "startDate"])).map(rfc3339),
                period_end: date(at(b, &["period", "endDate"])).map(rfc3339),
            }
        })
        .collect();
    if let Total::Sum(sum, _) = total(list.iter().filter_map(|c| c.amount.clone()))
        && sum > 0.0
    {
        for c in &mut list {
            c.share = c.amount.as_ref().map(|m| round4(m.amount / sum));
        }
    }
    list
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Planning milestone types that come before a procurement starts.
const PRE_PROCUREMENT_MILESTONES: [&str; 3] = ["preProcurement", "engagement", "approval"];

fn expected_procurement(r: &Value) -> Option<NaiveDateTime> {
    date(at(r, &["tender", "tenderPeriod", "startDate"]))
        .or_else(|| date(at(r, &["tender", "communication", "futureNoticeDate"])))
        .or_else(|| {
            milestone_dates(r, &PRE_PROCUREMENT_MILESTONES)
                .into_iter()
                .max()
        })
}

fn expected_delivery(r: &Value, field: &str, extreme: Extreme) -> Option<NaiveDateTime> {
    let pick = |dates: Vec<NaiveDateTime>| match extreme {
        Extreme::Earliest => dates.into_iter().min(),
        Extreme::Latest => dates.into_iter().max(),
    };
    let over = |list: Option<&Value>, period: &str| {
        pick(
            entries(list)
                .filter_map(|e| date(at(e, &[period, field])))
                .collect(),
        )
    };
    let delivery_milestone = || match extreme {
        Extreme::Earliest => milestone_dates(r, &["delivery"]).into_iter().min(),
        Extreme::Latest => None,
    };
    date(at(r, &["tender", "contractPeriod", field]))
        .or_else(|| over(at(r, &["tender", "lots"]), "contractPeriod"))
        .or_else(|| over(at(r, &["planning", "budget", "budgetBreakdown"]), "period"))
        .or_else(delivery_milestone)
}

fn milestone_dates(r: &Value, types: &[&str]) -> Vec<NaiveDateTime> {
    entries(at(r, &["planning", "milestones"]))
        .filter(|m| text(m.get("type")).is_some_and(|t| types.contains(&t)))
        .filter_map(|m| date(m.get("dueDate")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/// Ratings over a set of metrics (contract, record or quadrant level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingSummary {
    /// The worst of the metrics' latest ratings.
    pub latest_rating: Option<Rating>,
    /// Mean score of the latest assessment period against the one before.
    pub trend: Option<Trend>,
    /// Metrics with at least one actual observation.
    pub metrics: u32,
}

/// Ratings over the metrics of one RBA quadrant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuadrantSummary {
    /// `None`: metrics without a quadrant (UK9 KPIs, for instance).
    pub quadrant: Option<Quadrant>,
    pub latest_rating: Option<Rating>,
    pub trend: Option<Trend>,
    pub metrics: u32,
}

/// The outcome columns of a record: how its contracts perform against their measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "latest_rating": "approachingTarget", "trend": "improving",
    "latest_period_end": "2026-07-22T23:59:59Z", "metrics": 3, "observations": 9,
    "quadrants": [
        {"quadrant": "howMuch", "latest_rating": "good", "trend": "steady", "metrics": 1},
        {"quadrant": "howWell", "latest_rating": "approachingTarget", "trend": "steady", "metrics": 1},
        {"quadrant": "betterOff", "latest_rating": "good", "trend": "improving", "metrics": 1}
    ]
}))]
pub struct OutcomeSummary {
    /// The worst of the metrics' latest ratings.
    pub latest_rating: Option<Rating>,
    pub trend: Option<Trend>,
    /// The latest period end among rated observations (RFC 3339, UTC).
    pub latest_period_end: Option<String>,
    pub metrics: u32,
    pub observations: u32,
    /// In the order howMuch, howWell, betterOff, unclassified; only those present.
    pub quadrants: Vec<QuadrantSummary>,
}

/// One observation of a metric: an actual or a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ObservationPoint {
    pub id: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// As published: a number or a text such as `"75%"`.
    pub measure: Option<Value>,
    pub unit: Option<String>,
    pub value: Option<Money>,
    pub rating: Option<Rating>,
    /// The UK9 `measureClassification.id`: as published (`met`, `slightlyBelow`, ...
    /// `other`), else mapped from our `rating`, so every rating reads in UK9 terms too.
    pub uk9_classification: Option<String>,
    pub notes: Option<String>,
}

/// One metric of one contract: its target and its actuals over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "contract_id": "ocds-ocdemo-wyv-0004-contract-1", "metric_id": "m2",
    "title": "Seen within 10 school days", "description": "Share of referrals seen within 10 school days",
    "quadrant": "howWell",
    "target": {"id": "target", "period_start": null, "period_end": null, "measure": 90, "unit": "percent",
               "value": null, "rating": null, "uk9_classification": null, "notes": "Target"},
    "latest_rating": "approachingTarget", "trend": "steady",
    "observations": [
        {"id": "autumn", "period_start": "2025-09-01T00:00:00Z", "period_end": "2025-12-19T23:59:59Z", "measure": 71,
         "unit": "percent", "value": null, "rating": "requiresImprovement", "uk9_classification": "below",
         "notes": "Waits rose after two counsellors left; recruitment under way"},
        {"id": "spring", "period_start": "2026-01-05T00:00:00Z", "period_end": "2026-03-27T23:59:59Z", "measure": 84,
         "unit": "percent", "value": null, "rating": "approachingTarget", "uk9_classification": "slightlyBelow", "notes": "Spring term 2026"}
    ]
}))]
pub struct MetricSeries {
    pub contract_id: Option<String>,
    pub metric_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub quadrant: Option<Quadrant>,
    pub target: Option<ObservationPoint>,
    pub latest_rating: Option<Rating>,
    pub trend: Option<Trend>,
    /// Actuals, oldest first.
    pub observations: Vec<ObservationPoint>,
}

/// The outcome summary of a compiled release; `None` when no contract has an implementation
/// metric with an actual observation.
pub fn outcome_summary(compiled: &Value) -> Option<OutcomeSummary> {
    let metrics: Vec<Metric> = metrics(compiled)
        .into_iter()
        .filter(|m| !m.series.observations.is_empty())
        .collect();
    if metrics.is_empty() {
        return None;
    }
    let overall = assess(&metrics);
    let groups = Quadrant::ALL.into_iter().map(Some).chain([None]);
    let quadrants = groups
        .filter_map(|quadrant| {
            let members: Vec<&Metric> = metrics
                .iter()
                .filter(|m| m.series.quadrant == quadrant)
                .collect();
            (!members.is_empty()).then(|| {
                let a = assess(members.iter().copied());
                QuadrantSummary {
                    quadrant,
                    latest_rating: a.summary.latest_rating,
                    trend: a.summary.trend,
                    metrics: a.summary.metrics,
                }
            })
        })
        .collect();
    let observations = metrics
        .iter()
        .map(|m| m.series.observations.len())
        .sum::<usize>();
    Some(OutcomeSummary {
        latest_rating: overall.summary.latest_rating,
        trend: overall.summary.trend,
        latest_period_end: overall.latest_period_end.map(rfc3339),
        metrics: overall.summary.metrics,
        observations: u32::try_from(observations).unwrap_or(u32::MAX),
        quadrants,
    })
}

/// Every metric of every contract, in document order: implementation metrics, then agreed
/// metrics with no actual yet.
pub fn outcome_series(compiled: &Value) -> Vec<MetricSeries> {
    metrics(compiled).into_iter().map(|m| m.series).collect()
}

/// A series with the ordering date of each observation (parallel to `series.observations`).
struct Metric {
    series: MetricSeries,
    dates: Vec<Option<NaiveDateTime>>,
}

fn metrics(compiled: &Value) -> Vec<Metric> {
    let mut out = Vec::new();
    for contract in entries(compiled.get("contracts")) {
        let contract_id = ident(contract.get("id"));
        let agreed: Vec<&Value> = entries(contract.get("agreedMetrics")).collect();
        let implemented: Vec<&Value> =
            entries(at(contract, &["implementation", "metrics"])).collect();
        let agreed_for = |metric_id: Option<&String>| {
            let metric_id = metric_id?;
            agreed
                .iter()
                .copied()
                .find(|a| ident(a.get("id")).as_ref() == Some(metric_id))
        };
        for metric in &implemented {
            let metric_id = ident(metric.get("id"));
            let agreed_metric = agreed_for(metric_id.as_ref());
            out.push(metric_of(
                contract_id.clone(),
                metric_id,
                Some(metric),
                agreed_metric,
            ));
        }
        let implemented_ids: Vec<String> = implemented
            .iter()
            .filter_map(|m| ident(m.get("id")))
            .collect();
        for agreed_metric in &agreed {
            let metric_id = ident(agreed_metric.get("id"));
            if metric_id
                .as_ref()
                .is_some_and(|id| implemented_ids.contains(id))
            {
                continue;
            }
            out.push(metric_of(
                contract_id.clone(),
                metric_id,
                None,
                Some(agreed_metric),
            ));
        }
    }
    out
}

fn metric_of(
    contract_id: Option<String>,
    metric_id: Option<String>,
    implemented: Option<&Value>,
    agreed: Option<&Value>,
) -> Metric {
    let from_either = |key: &str| {
        implemented
            .and_then(|m| text(m.get(key)))
            .or_else(|| agreed.and_then(|m| text(m.get(key))))
    };
    let is_target =
        |o: &Value| text(o.get("id")).is_some_and(|id| id.eq_ignore_ascii_case("target"));

    let mut actuals: Vec<(Option<NaiveDateTime>, ObservationPoint)> = Vec::new();
    let mut implemented_target = None;
    for o in entries(implemented.and_then(|m| m.get("observations"))) {
        if is_target(o) {
            implemented_target.get_or_insert_with(|| observation(o).1);
        } else {
            actuals.push(observation(o));
        }
    }
    // Stable: equal dates keep document order; `None` (undated) sorts first.
    actuals.sort_by_key(|(d, _)| *d);

    let target = agreed
        .and_then(|a| entries(a.get("observations")).next())
        .map(|o| observation(o).1)
        .or(implemented_target);
    let rated: Vec<Rating> = actuals.iter().filter_map(|(_, o)| o.rating).collect();
    let trend = match rated.as_slice() {
        [.., previous, latest] => Some(Trend::between(previous.score(), latest.score())),
        _ => None,
    };
    let (dates, observations) = actuals.into_iter().unzip();
    Metric {
        series: MetricSeries {
            contract_id,
            metric_id,
            title: from_either("title").map(str::to_owned),
            description: from_either("description").map(str::to_owned),
            quadrant: from_either("rbaQuadrant").and_then(Quadrant::from_code),
            target,
            latest_rating: rated.last().copied(),
            trend,
            observations,
        },
        dates,
    }
}

/// An observation and its ordering date: the period end, else its start.
fn observation(o: &Value) -> (Option<NaiveDateTime>, ObservationPoint) {
    let start = date(at(o, &["period", "startDate"]));
    let end = date(at(o, &["period", "endDate"]));
    let uk9 = text(at(o, &["measureClassification", "id"]));
    let unit = match o.get("unit") {
        Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
        Some(u) => text(u.get("name")).or_else(|| text(u.get("id"))),
        None => None,
    };
    let rating = rating_code(o.get("rating")).or_else(|| uk9.and_then(Rating::from_uk9));
    let point = ObservationPoint {
        id: ident(o.get("id")),
        period_start: start.map(rfc3339),
        period_end: end.map(rfc3339),
        measure: o.get("measure").filter(|m| !m.is_null()).cloned(),
        unit: unit.map(str::to_owned),
        value: money(o.get("value")),
        rating,
        uk9_classification: uk9
            .map(str::to_owned)
            .or_else(|| rating.map(|r| r.uk9().to_owned())),
        notes: text(o.get("notes")).map(str::to_owned),
    };
    (end.or(start), point)
}

fn rating_code(v: Option<&Value>) -> Option<Rating> {
    text(v).and_then(Rating::from_code)
}

struct Assessment {
    summary: RatingSummary,
    latest_period_end: Option<NaiveDateTime>,
}

/// The worst-of rating and the period-over-period trend of a set of metrics.
fn assess<'a>(metrics: impl IntoIterator<Item = &'a Metric>) -> Assessment {
    let mut count = 0u32;
    let mut worst: Option<Rating> = None;
    let mut latest_period_end: Option<NaiveDateTime> = None;
    // Assessment period (date part of the period end) → (score sum, rated observations).
    let mut periods: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    for metric in metrics {
        count = count.saturating_add(1);
        if let Some(rating) = metric.series.latest_rating {
            worst = match worst {
                Some(w) if w.score() <= rating.score() => Some(w),
                _ => Some(rating),
            };
        }
        let dated = metric.dates.iter().zip(&metric.series.observations);
        for (when, point) in dated {
            let (Some(when), Some(rating)) = (when, point.rating) else {
                continue;
            };
            latest_period_end = latest_period_end.max(Some(*when));
            let period = periods.entry(when.date()).or_default();
            period.0 += u64::from(rating.score());
            period.1 += 1;
        }
    }
    // Means compared without division: a / n against b / m is a * m against b * n.
    let trend = match periods
        .values()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [(latest_sum, latest_n), (previous_sum, previous_n)] => Some(Trend::between(
            previous_sum * latest_n,
            latest_sum * previous_n,
        )),
        _ => None,
    };
    Assessment {
        summary: RatingSummary {
            latest_rating: worst,
            trend,
            metrics: count,
        },
        latest_period_end,
    }
}

// ---------------------------------------------------------------------------------------------
// Organisations (the buyer resolution of `summary`, whose helpers are private)

// ---------------------------------------------------------------------------------------------
// Money

// ---------------------------------------------------------------------------------------------
// Defensive access

/// `2027-10-01T00:00:00Z`.
fn rfc3339(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_filled_object(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.values().any(|x| !x.is_null()))
}

/// The texts of an array of strings (a lone string is a list of one); blanks dropped.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|x| text(Some(x)))
            .map(str::to_owned)
            .collect(),
        Some(one @ Value::String(_)) => text(Some(one)).map(str::to_owned).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A JSON boolean, or `"true"` / `"false"` in bad data.
fn boolean(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! Literal releases only: the Wyvern demo shapes (fixtures/demo) rebuilt by hand, and two
    //! real Find a Tender UK9 contract performance notices (2026, OGL v3) cut down from
    //! `reference/samples/fts_ocds_release_package_children_services.json`.

    use super::*;
    use serde_json::json;

    fn gbp(amount: f64) -> Option<Money> {
        Some(Money {
            amount,
            currency: Some("GBP".to_owned()),
        })
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The Wyvern joint emotional wellbeing intention (ocds-ocdemo-wyv-0001, planning-2).
    fn wyvern_intention() -> Value {
        json!({
            "ocid": "ocds-ocdemo-wyv-0001",
            "buyer": {"id": "GB-LAE-WYV", "name": "Wyvern County Council"},
            "parties": [
                {"id": "GB-LAE-WYV", "name": "Wyvern County Council", "roles": ["buyer", "funder"]},
                {"id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board", "roles": ["funder"]},
                {"id": "GB-GOR-PC9901", "name": "Office of the Police and Crime Commissioner for Wyvern", "roles": ["funder"]},
                {"id": "GB-COH-99990001", "name": "Wyvern Learning Trust", "roles": ["funder"]}
            ],
            "planning": {
                "commissioning": {
                    "level": "strategic", "cycleStage": "plan", "joint": true, "pooledBudget": true,
                    "priorities": ["Early help before crisis", "One front door for families"],
                    "outcomeAreas": ["Children and young people are emotionally well"]
                },
                "budget": {
                    "id": "wyv-pooled-cyp-mh-2027",
                    "amount": {"amount": 6900000, "currency": "GBP"},
                    "budgetBreakdown": [
                        {"id": "1", "description": "Children's services and public health grant",
                         "amount": {"amount": 3600000, "currency": "GBP"},
                         "sourceParty": {"id": "GB-LAE-WYV", "name": "Wyvern County Council"},
                         "period": {"startDate": "2027-10-01T00:00:00Z", "endDate": "2030-09-30T23:59:59Z"}},
                        {"id": "2", "amount": {"amount": 2700000, "currency": "GBP"},
                         "sourceParty": {"id": "GB-NHS-QZW", "name": "NHS Wyvern Integrated Care Board"},
                         "period": {"startDate": "2027-10-01T00:00:00Z", "endDate": "2030-09-30T23:59:59Z"}},
                        {"id": "3", "amount": {"amount": 450000, "currency": "GBP"},
                         "sourceParty": {"id": "GB-GOR-PC9901"},
                         "period": {"startDate": "2027-10-01T00:00:00Z", "endDate": "2030-09-30T23:59:59Z"}},
                        {"id": "4", "amount": {"amount": 150000, "currency": "GBP"},
                         "sourceParty": {"id": "GB-COH-99990001", "name": "Wyvern Learning Trust"},
                         "period": {"startDate": "2027-10-01T00:00:00Z", "endDate": "2030-09-30T23:59:59Z"}}
                    ]
                }
            },
            "tender": {
                "status": "planned",
                "contractPeriod": {"startDate": "2027-10-01T00:00:00Z", "endDate": "2030-09-30T23:59:59Z"},
                "communication": {"futureNoticeDate": "2027-01-15T09:00:00+00:00"}
            }
        })
    }

    #[test]
    fn intention_with_four_partners_contributions() {
        let s = intention_summary(&wyvern_intention()).expect("an intention");
        assert_eq!(s.lead.as_deref(), Some("GB-LAE-WYV"));
        assert_eq!(
            s.partners,
            strings(&[
                "GB-COH-99990001",
                "GB-GOR-PC9901",
                "GB-LAE-WYV",
                "GB-NHS-QZW"
            ])
        );
        assert_eq!(s.contributions.len(), 4);
        assert_eq!(s.pooled_budget, gbp(6_900_000.0));
        assert_eq!(s.contributions_total, gbp(6_900_000.0));
        let shares: Vec<f64> = s.contributions.iter().filter_map(|c| c.share).collect();
        assert_eq!(shares, vec![0.5217, 0.3913, 0.0652, 0.0217]);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-3);

        let first = &s.contributions[0];
        assert_eq!(first.org_id.as_deref(), Some("GB-LAE-WYV"));
        assert_eq!(first.name.as_deref(), Some("Wyvern County Council"));
        assert_eq!(first.amount, gbp(3_600_000.0));
        assert_eq!(
            first.description.as_deref(),
            Some("Children's services and public health grant")
        );
        assert_eq!(first.period_start.as_deref(), Some("2027-10-01T00:00:00Z"));
        assert_eq!(first.period_end.as_deref(), Some("2030-09-30T23:59:59Z"));
        // A source party without a name takes its party's.
        assert_eq!(
            s.contributions[2].name.as_deref(),
            Some("Office of the Police and Crime Commissioner for Wyvern")
        );

        assert_eq!(s.level.as_deref(), Some("strategic"));
        assert_eq!(s.cycle_stage.as_deref(), Some("plan"));
        assert_eq!(
            s.priorities,
            strings(&["Early help before crisis", "One front door for families"])
        );
        assert_eq!(
            s.outcome_areas,
            strings(&["Children and young people are emotionally well"])
        );
        assert_eq!((s.joint, s.pooled), (Some(true), Some(true)));
        assert_eq!(
            s.expected_procurement.as_deref(),
            Some("2027-01-15T09:00:00Z")
        );
        assert_eq!(s.expected_start.as_deref(), Some("2027-10-01T00:00:00Z"));
        assert_eq!(s.expected_end.as_deref(), Some("2030-09-30T23:59:59Z"));
        assert_eq!(partner_org_ids(&wyvern_intention()), s.partners);
    }

    #[test]
    fn intention_with_three_contributions_and_no_budget_amount() {
        // Local party ids resolve to org-ids through the parties' identifiers; the pooled
        // budget is the contributions' total when the budget states no amount.
        let release = json!({
            "buyer": {"id": "la-1"},
            "parties": [
                {"id": "la-1", "name": "Borough Council", "identifier": {"scheme": "GB-LAE", "id": "BRO"}, "roles": ["buyer"]},
                {"id": "icb-1", "name": "Integrated Care Board", "identifier": {"scheme": "GB-NHS", "id": "QAB"}, "roles": ["funder"]},
                {"id": "chc-1", "name": "Youth Trust", "identifier": {"scheme": "GB-CHC", "id": "1234567"}}
            ],
            "planning": {"budget": {"budgetBreakdown": [
                {"id": "a", "amount": {"amount": "500,000", "currency": "gbp"}, "sourceParty": {"id": "la-1"}},
                {"id": "b", "amount": {"amount": 300000, "currency": "GBP"}, "sourceParty": {"id": "icb-1"}},
                {"id": "c", "amount": {"amount": 200000.0, "currency": "GBP"}, "sourceParty": {"id": "chc-1"},
                 "period": {"startDate": "2026-04-01", "endDate": "2027-03-31"}},
                {"id": "d", "description": "In kind: rooms", "sourceParty": {"id": "chc-1"}}
            ]}}
        });
        let s = intention_summary(&release).expect("an intention");
        assert_eq!(s.lead.as_deref(), Some("GB-LAE-BRO"));
        assert_eq!(
            s.partners,
            strings(&["GB-CHC-1234567", "GB-LAE-BRO", "GB-NHS-QAB"])
        );
        assert_eq!(s.contributions_total, gbp(1_000_000.0));
        assert_eq!(s.pooled_budget, gbp(1_000_000.0));
        let shares: Vec<Option<f64>> = s.contributions.iter().map(|c| c.share).collect();
        assert_eq!(shares, vec![Some(0.5), Some(0.3), Some(0.2), None]);
        assert_eq!(s.contributions[0].amount, gbp(500_000.0));
        assert_eq!(s.contributions[2].name.as_deref(), Some("Youth Trust"));
        // Delivery dates fall back to the budget breakdown periods.
        assert_eq!(s.expected_start.as_deref(), Some("2026-04-01T00:00:00Z"));
        assert_eq!(s.expected_end.as_deref(), Some("2027-03-31T00:00:00Z"));
        assert_eq!((s.level, s.joint, s.pooled), (None, None, None));
    }

    #[test]
    fn mixed_currencies_give_no_total() {
        let mut release = wyvern_intention();
        release["planning"]["budget"]["budgetBreakdown"][1]["amount"]["currency"] = json!("EUR");
        let s = intention_summary(&release).expect("an intention");
        assert_eq!(s.contributions_total, None);
        assert!(s.contributions.iter().all(|c| c.share.is_none()));
        // The stated budget still stands.
        assert_eq!(s.pooled_budget, gbp(6_900_000.0));

        // Without a stated budget there is no pooled figure at all; nor with an amount lacking
        // a currency next to ones with it.
        release["planning"]["budget"]
            .as_object_mut()
            .expect("budget")
            .remove("amount");
        assert_eq!(intention_summary(&release).expect("x").pooled_budget, None);
        let mut release = wyvern_intention();
        release["planning"]["budget"]["budgetBreakdown"][3]["amount"] = json!({"amount": 150000});
        assert_eq!(
            intention_summary(&release).expect("x").contributions_total,
            None
        );
    }

    #[test]
    fn joint_intention_without_budget() {
        let release = json!({
            "buyer": {"id": "GB-NHS-QZW"},
            "parties": [
                {"id": "GB-NHS-QZW", "roles": ["buyer"]},
                {"id": "GB-LAE-WYV", "roles": ["funder"]},
                {"id": "GB-COH-99990002", "roles": ["supplier"]}
            ],
            "planning": {
                "commissioning": {"level": "operational", "cycleStage": "analyse",
                                  "joint": "true", "pooledBudget": false,
                                  "outcomeAreas": "Families feel supported while waiting"},
                "milestones": [
                    {"id": "e1", "type": "engagement", "dueDate": "2026-09-10T10:00:00+01:00"},
                    {"id": "e2", "type": "engagement", "dueDate": "2026-10-12T10:00:00+01:00"},
                    {"id": "d1", "type": "delivery", "dueDate": "2027-04-01"},
                    {"id": "r1", "type": "reporting", "dueDate": "2028-04-01"}
                ]
            },
            "tender": {"lots": [
                {"id": "1", "contractPeriod": {"startDate": "2027-06-01T00:00:00Z"}},
                {"id": "2", "contractPeriod": {"startDate": "2027-05-01T00:00:00Z", "endDate": "2029-03-31T00:00:00Z"}}
            ]}
        });
        let s = intention_summary(&release).expect("an intention");
        assert_eq!(s.partners, strings(&["GB-LAE-WYV", "GB-NHS-QZW"]));
        assert!(s.contributions.is_empty());
        assert_eq!((s.pooled_budget, s.contributions_total), (None, None));
        assert_eq!((s.joint, s.pooled), (Some(true), Some(false)));
        assert_eq!(
            s.outcome_areas,
            strings(&["Families feel supported while waiting"])
        );
        assert!(s.priorities.is_empty());
        // After the last engagement event; delivery from the lots, the earliest start.
        assert_eq!(
            s.expected_procurement.as_deref(),
            Some("2026-10-12T09:00:00Z")
        );
        assert_eq!(s.expected_start.as_deref(), Some("2027-05-01T00:00:00Z"));
        assert_eq!(s.expected_end.as_deref(), Some("2029-03-31T00:00:00Z"));

        // Without lots, delivery starts at the delivery milestone; the tender period wins
        // over milestones for the procurement.
        let mut release = release;
        release["tender"] = json!({"tenderPeriod": {"startDate": "2026-11-02T12:00:00Z"}});
        let s = intention_summary(&release).expect("an intention");
        assert_eq!(
            s.expected_procurement.as_deref(),
            Some("2026-11-02T12:00:00Z")
        );
        assert_eq!(s.expected_start.as_deref(), Some("2027-04-01T00:00:00Z"));
        assert_eq!(s.expected_end, None);
    }

    #[test]
    fn no_intention_without_commissioning_budget_or_funders() {
        let tender = json!({
            "buyer": {"id": "GB-LAE-WYV"},
            "parties": [{"id": "GB-LAE-WYV", "roles": ["buyer"]}],
            "planning": {"commissioning": {}, "budget": {"amount": null}},
            "tender": {"status": "active"}
        });
        assert_eq!(intention_summary(&tender), None);
        assert_eq!(partner_org_ids(&tender), strings(&["GB-LAE-WYV"]));

        // Funders alone make an intention (partners, no commissioning fields).
        let funded = json!({
            "parties": [{"id": "GB-LAE-WYV", "roles": ["buyer"]}, {"id": "GB-NHS-QZW", "roles": ["funder"]}]
        });
        let s = intention_summary(&funded).expect("an intention");
        assert_eq!(s.lead.as_deref(), Some("GB-LAE-WYV"));
        assert_eq!(s.partners, strings(&["GB-LAE-WYV", "GB-NHS-QZW"]));
    }

    // -----------------------------------------------------------------------------------------
    // Outcomes

    fn obs(id: &str, end: &str, rating: &str) -> Value {
        json!({"id": id, "period": {"endDate": end}, "measure": 1, "rating": rating})
    }

    fn metric(id: &str, quadrant: Option<&str>, observations: Vec<Value>) -> Value {
        let mut m =
            json!({"id": id, "title": format!("Metric {id}"), "observations": observations});
        if let Some(q) = quadrant {
            m["rbaQuadrant"] = json!(q);
        }
        m
    }

    fn contract(id: &str, metrics: Vec<Value>) -> Value {
        json!({"id": id, "implementation": {"metrics": metrics}})
    }

    fn release(contracts: Vec<Value>) -> Value {
        json!({"ocid": "ocds-test", "contracts": contracts})
    }

    const Q1: &str = "2025-12-31T23:59:59Z";
    const Q2: &str = "2026-03-31T23:59:59Z";
    const Q3: &str = "2026-06-30T23:59:59Z";

    /// Three periods; m1 improves, m2 declines, m3 stays steady.
    fn three_periods() -> Value {
        release(vec![contract(
            "c1",
            vec![
                metric(
                    "m1",
                    Some("howMuch"),
                    vec![
                        obs("1", Q1, "inadequate"),
                        obs("2", Q2, "requiresImprovement"),
                        obs("3", Q3, "good"),
                    ],
                ),
                metric(
                    "m2",
                    Some("howWell"),
                    vec![
                        obs("1", Q1, "good"),
                        obs("2", Q2, "good"),
                        obs("3", Q3, "approachingTarget"),
                    ],
                ),
                metric(
                    "m3",
                    Some("betterOff"),
                    vec![
                        obs("1", Q1, "good"),
                        obs("2", Q2, "approachingTarget"),
                        obs("3", Q3, "approachingTarget"),
                    ],
                ),
            ],
        )])
    }

    #[test]
    fn outcomes_over_three_periods() {
        let series = outcome_series(&three_periods());
        let trends: Vec<Option<Trend>> = series.iter().map(|m| m.trend).collect();
        assert_eq!(
            trends,
            vec![
                Some(Trend::Improving),
                Some(Trend::Declining),
                Some(Trend::Steady)
            ]
        );
        let latest: Vec<Option<Rating>> = series.iter().map(|m| m.latest_rating).collect();
        assert_eq!(
            latest,
            vec![
                Some(Rating::Good),
                Some(Rating::ApproachingTarget),
                Some(Rating::ApproachingTarget)
            ]
        );
        assert_eq!(series[0].contract_id.as_deref(), Some("c1"));
        assert_eq!(series[0].title.as_deref(), Some("Metric m1"));
        assert_eq!(
            series[0].observations[2].period_end.as_deref(),
            Some("2026-06-30T23:59:59Z")
        );

        // Period means: Q1 (1+4+4)/3 = 3, Q2 (2+4+3)/3 = 3, Q3 (4+3+3)/3 = 3.33: improving.
        let s = outcome_summary(&three_periods()).expect("outcomes");
        assert_eq!(s.trend, Some(Trend::Improving));
        assert_eq!(s.latest_rating, Some(Rating::ApproachingTarget));
        assert_eq!(s.latest_period_end.as_deref(), Some("2026-06-30T23:59:59Z"));
        assert_eq!((s.metrics, s.observations), (3, 9));

        // Drop Q3: Q1 and Q2 have the same mean, steady. Only Q1: no trend.
        let mut two = three_periods();
        for m in two["contracts"][0]["implementation"]["metrics"]
            .as_array_mut()
            .expect("metrics")
        {
            m["observations"].as_array_mut().expect("obs").pop();
        }
        assert_eq!(outcome_summary(&two).expect("x").trend, Some(Trend::Steady));
        for m in two["contracts"][0]["implementation"]["metrics"]
            .as_array_mut()
            .expect("metrics")
        {
            m["observations"].as_array_mut().expect("obs").pop();
        }
        let one = outcome_summary(&two).expect("x");
        assert_eq!(one.trend, None);
        assert!(outcome_series(&two).iter().all(|m| m.trend.is_none()));
    }

    #[test]
    fn record_trend_is_declining_when_the_latest_period_mean_drops() {
        let r = release(vec![contract(
            "c1",
            vec![
                // Dates in one day form one period, whatever the time (or a plain date).
                metric(
                    "a",
                    None,
                    vec![obs("1", "2026-03-31", "good"), obs("2", Q3, "good")],
                ),
                metric(
                    "b",
                    None,
                    vec![
                        obs("1", "2026-03-31T08:00:00Z", "good"),
                        obs("2", Q3, "inadequate"),
                    ],
                ),
            ],
        )]);
        let s = outcome_summary(&r).expect("outcomes");
        assert_eq!(s.trend, Some(Trend::Declining));
        assert_eq!(s.latest_rating, Some(Rating::Inadequate));
    }

    #[test]
    fn observations_are_ordered_by_period_end_then_document_order_undated_first() {
        let r = release(vec![contract(
            "c1",
            vec![json!({"id": "m", "observations": [
                {"id": "late", "period": {"endDate": Q3}, "rating": "good"},
                {"id": "undated", "measure": 3},
                {"id": "early-by-start", "period": {"startDate": "2025-10-01T00:00:00Z"}, "rating": "inadequate"},
                {"id": "mid-a", "period": {"startDate": "2025-01-01", "endDate": Q2}, "rating": "requiresImprovement"},
                {"id": "mid-b", "period": {"endDate": Q2}, "rating": "approachingTarget"},
                {"id": "bad-date", "period": {"endDate": "soon"}}
            ]})],
        )]);
        let series = outcome_series(&r);
        let ids: Vec<&str> = series[0]
            .observations
            .iter()
            .filter_map(|o| o.id.as_deref())
            .collect();
        assert_eq!(
            ids,
            vec![
                "undated",
                "bad-date",
                "early-by-start",
                "mid-a",
                "mid-b",
                "late"
            ]
        );
        // Latest rated: "late" (good) after "mid-b" (approaching target).
        assert_eq!(series[0].latest_rating, Some(Rating::Good));
        assert_eq!(series[0].trend, Some(Trend::Improving));
    }

    #[test]
    fn a_contract_is_only_as_good_as_its_weakest_measure() {
        let r = release(vec![
            contract(
                "c1",
                vec![
                    metric(
                        "m1",
                        None,
                        vec![obs("1", Q1, "inadequate"), obs("2", Q2, "good")],
                    ),
                    metric("m2", None, vec![obs("1", Q2, "approachingTarget")]),
                ],
            ),
            contract("c2", vec![metric("m1", None, vec![obs("1", Q2, "good")])]),
        ]);
        let s = outcome_summary(&r).expect("outcomes");
        // m1's earlier inadequate no longer counts: its latest is good.
        assert_eq!(s.latest_rating, Some(Rating::ApproachingTarget));
        assert_eq!((s.metrics, s.observations), (3, 4));

        // A metric without any rating does not improve or spoil the worst.
        let mut r = r;
        r["contracts"][1]["implementation"]["metrics"][0]["observations"][0]["rating"] =
            json!("requiresImprovement");
        r["contracts"][1]["implementation"]["metrics"]
            .as_array_mut()
            .expect("metrics")
            .push(json!({"id": "m9", "observations": [{"id": "1", "measure": 5}]}));
        let s = outcome_summary(&r).expect("outcomes");
        assert_eq!(s.latest_rating, Some(Rating::RequiresImprovement));
        assert_eq!(s.metrics, 4);
    }

    #[test]
    fn rating_codes() {
        for r in Rating::ALL {
            assert_eq!(Rating::from_code(r.code()), Some(r));
            assert_eq!(Rating::from_uk9(r.uk9()), Some(r));
            assert_eq!(serde_json::to_value(r).expect("json"), json!(r.code()));
        }
        let scores: Vec<u8> = Rating::ALL.iter().map(|r| r.score()).collect();
        assert_eq!(scores, vec![4, 3, 2, 1]);
        assert_eq!(
            Rating::from_code(" Approaching target "),
            Some(Rating::ApproachingTarget)
        );
        assert_eq!(
            Rating::from_uk9("significantlybelow"),
            Some(Rating::Inadequate)
        );
        assert_eq!(Rating::from_uk9("other"), None);
        assert_eq!(Rating::from_code("met"), None);
        assert_eq!(Rating::from_code("excellent"), None);
        assert_eq!(Rating::from_code(""), None);
        for q in Quadrant::ALL {
            assert_eq!(Quadrant::from_code(q.code()), Some(q));
        }
        assert_eq!(Quadrant::from_code("better off"), Some(Quadrant::BetterOff));
        assert_eq!(Quadrant::from_code("howMany"), None);
    }

    /// Real UK9 notice 076141-2026 (Department for Education, teacher recruitment marketing),
    /// metric titles shortened.
    const FTS_UK9: &str = r#"{
        "id": "076141-2026", "tag": ["implementation"], "date": "2026-08-11T11:37:15+01:00",
        "ocid": "ocds-h6vhtk-04f7de", "buyerID": [],
        "parties": [{"id": "GB-PPON-PDZG-3487-DPVD", "name": "Department for Education", "roles": ["buyer"]}],
        "contracts": [{"id": "1", "awardID": "1", "implementation": {"metrics": [
            {"id": "1", "title": "Creative quality control", "description": "100%- 3 rounds of feedback",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "100%- 3 rounds of feedback",
                "measureClassification": {"id": "met", "description": "Good - performance is meeting or exceeding the KPI"},
                "id": "076141-2026"}]},
            {"id": "2", "title": "Production quality control", "description": "\"100%- 3 rounds of feedback\t\"",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "75%",
                "measureClassification": {"id": "slightlyBelow", "description": "Approaching target - performance is close to meeting the KPI"},
                "id": "076141-2026"}]},
            {"id": "3", "title": "Delivery on time - New campaign launch", "description": "100%- to agreed live date",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "100% - to agreed live date",
                "measureClassification": {"id": "met", "description": "Good - performance is meeting or exceeding the KPI"},
                "id": "076141-2026"}]},
            {"id": "4", "title": "Training and Education", "description": "Delivered placement",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "100% - Delivered placement",
                "measureClassification": {"id": "met", "description": "Good - performance is meeting or exceeding the KPI"},
                "id": "076141-2026"}]}
        ]}}]
    }"#;

    /// Real UK9 notice 076113-2026 (FE network connectivity): every KPI met, one numeric.
    const FTS_UK9_ALL_MET: &str = r#"{
        "id": "076113-2026", "tag": ["implementation"], "ocid": "ocds-h6vhtk-059d41",
        "contracts": [{"id": "1", "awardID": "1", "implementation": {"metrics": [
            {"id": "1", "title": "Network availability", "description": "97% or above",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "99.7%", "measureClassification": {"id": "met"}, "id": "076113-2026"}]},
            {"id": "4", "title": "Number of training opportunities", "description": "1500 or above training opportunities",
             "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"},
                "measure": "1500", "measureClassification": {"id": "met"}, "id": "076113-2026"}]}
        ]}}]
    }"#;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("fixture is valid JSON")
    }

    #[test]
    fn fts_uk9_performance_notice() {
        let r = parse(FTS_UK9);
        let s = outcome_summary(&r).expect("outcomes");
        assert_eq!(s.latest_rating, Some(Rating::ApproachingTarget));
        assert_eq!(s.trend, None);
        assert_eq!(s.latest_period_end.as_deref(), Some("2026-06-30T22:59:59Z"));
        assert_eq!((s.metrics, s.observations), (4, 4));
        assert_eq!(
            s.quadrants,
            vec![QuadrantSummary {
                quadrant: None,
                latest_rating: Some(Rating::ApproachingTarget),
                trend: None,
                metrics: 4
            }]
        );

        let series = outcome_series(&r);
        assert_eq!(series.len(), 4);
        let kpi = &series[1];
        assert_eq!(kpi.metric_id.as_deref(), Some("2"));
        assert_eq!(kpi.quadrant, None);
        assert_eq!(kpi.target, None);
        let point = &kpi.observations[0];
        assert_eq!(point.measure, Some(json!("75%")));
        assert_eq!(point.uk9_classification.as_deref(), Some("slightlyBelow"));
        assert_eq!(point.rating, Some(Rating::ApproachingTarget));
        assert_eq!(point.period_start.as_deref(), Some("2026-03-31T23:00:00Z"));
        assert_eq!(point.id.as_deref(), Some("076141-2026"));

        let all_met = outcome_summary(&parse(FTS_UK9_ALL_MET)).expect("outcomes");
        assert_eq!(all_met.latest_rating, Some(Rating::Good));
        assert_eq!(all_met.metrics, 2);
    }

    #[test]
    fn uk9_measure_classification_equals_our_codes() {
        let with = |observation: Value| {
            release(vec![contract(
                "1",
                vec![json!({"id": "k", "observations": [observation]})],
            )])
        };
        for r in Rating::ALL {
            let ours = with(json!({"id": "o", "period": {"endDate": Q1}, "rating": r.code()}));
            let uk9 = with(
                json!({"id": "o", "period": {"endDate": Q1}, "measureClassification": {"id": r.uk9()}}),
            );
            let ours = outcome_summary(&ours).expect("ours");
            assert_eq!(ours, outcome_summary(&uk9).expect("uk9"));
            assert_eq!(ours.latest_rating, Some(r));
        }
        // `other` rates nothing; our own rating wins over the classification.
        let other = with(json!({"id": "o", "measureClassification": {"id": "other"}}));
        assert_eq!(outcome_summary(&other).expect("x").latest_rating, None);
        let both = with(
            json!({"id": "o", "rating": "inadequate", "measureClassification": {"id": "met"}}),
        );
        let series = outcome_series(&both);
        assert_eq!(series[0].observations[0].rating, Some(Rating::Inadequate));
        assert_eq!(
            series[0].observations[0].uk9_classification.as_deref(),
            Some("met")
        );
    }

    #[test]
    fn quadrant_grouping() {
        let r = release(vec![
            contract(
                "c1",
                vec![
                    metric("kpi", None, vec![obs("1", Q2, "requiresImprovement")]),
                    metric(
                        "b1",
                        Some("betterOff"),
                        vec![obs("1", Q1, "approachingTarget"), obs("2", Q2, "good")],
                    ),
                    metric("h1", Some("howMuch"), vec![obs("1", Q2, "good")]),
                    metric("w0", Some("howWell"), vec![]),
                ],
            ),
            contract(
                "c2",
                vec![metric(
                    "b2",
                    Some("BetterOff"),
                    vec![obs("1", Q1, "good"), obs("2", Q2, "inadequate")],
                )],
            ),
        ]);
        let s = outcome_summary(&r).expect("outcomes");
        let q = |quadrant, latest_rating, trend, metrics| QuadrantSummary {
            quadrant,
            latest_rating,
            trend,
            metrics,
        };
        // howWell has a metric without observations only: absent.
        assert_eq!(
            s.quadrants,
            vec![
                q(Some(Quadrant::HowMuch), Some(Rating::Good), None, 1),
                q(
                    Some(Quadrant::BetterOff),
                    Some(Rating::Inadequate),
                    Some(Trend::Declining),
                    2
                ),
                q(None, Some(Rating::RequiresImprovement), None, 1),
            ]
        );
        assert_eq!(s.metrics, 4);
        assert_eq!(s.latest_rating, Some(Rating::Inadequate));
        // Record: Q1 mean (3+4)/2 = 3.5, Q2 mean (2+4+4+1)/4 = 2.75.
        assert_eq!(s.trend, Some(Trend::Declining));
    }

    #[test]
    fn targets_from_agreed_metrics() {
        // The Wyvern counselling contract (ocds-ocdemo-wyv-0004): targets agreed at award,
        // rated observations, one agreed metric not reported yet.
        let r = json!({"contracts": [{
            "id": "ocds-ocdemo-wyv-0004-contract-1",
            "agreedMetrics": [
                {"id": "m1", "title": "Pupils supported", "rbaQuadrant": "howMuch",
                 "observations": [{"id": "target", "notes": "Target per school year", "measure": 420, "unit": {"name": "pupils"}}]},
                {"id": "m2", "title": "Seen within 10 school days", "rbaQuadrant": "howWell",
                 "observations": [{"id": "target", "measure": 90, "unit": {"name": "percent"}}]},
                {"id": "m3", "title": "Improved wellbeing score", "rbaQuadrant": "betterOff",
                 "observations": [{"id": "target", "measure": 65, "unit": {"name": "percent"}}]}
            ],
            "implementation": {"metrics": [
                {"id": "m1", "observations": [
                    {"id": "y1", "period": {"startDate": "2025-09-01T00:00:00Z", "endDate": "2026-07-22T23:59:59Z"},
                     "measure": 447, "unit": {"name": "pupils"}, "notes": "School year 2025/26",
                     "rating": "good"}]},
                {"id": "m2", "title": "Seen in 10 days", "rbaQuadrant": "howWell", "observations": [
                    {"id": "target", "measure": 95, "unit": "percent"},
                    {"id": "y1", "period": {"endDate": "2026-07-22T23:59:59Z"}, "measure": 84,
                     "value": {"amount": "84.0"}, "rating": "approachingTarget"}]},
                {"id": "m4", "title": "Own target only", "observations": [
                    {"id": "TARGET", "measure": 10}, {"id": "y1", "measure": 8}]}
            ]}
        }]});
        let series = outcome_series(&r);
        let ids: Vec<&str> = series
            .iter()
            .filter_map(|m| m.metric_id.as_deref())
            .collect();
        assert_eq!(ids, vec!["m1", "m2", "m4", "m3"]);

        let m1 = &series[0];
        assert_eq!(m1.title.as_deref(), Some("Pupils supported"));
        assert_eq!(m1.quadrant, Some(Quadrant::HowMuch));
        let target = m1.target.as_ref().expect("target");
        assert_eq!(target.measure, Some(json!(420)));
        assert_eq!(target.unit.as_deref(), Some("pupils"));
        assert_eq!(target.notes.as_deref(), Some("Target per school year"));
        assert_eq!(m1.observations.len(), 1);
        assert_eq!(m1.observations[0].rating, Some(Rating::Good));
        assert_eq!(m1.latest_rating, Some(Rating::Good));

        // The agreed target wins over an implementation one, which is no actual either.
        let m2 = &series[1];
        assert_eq!(m2.title.as_deref(), Some("Seen in 10 days"));
        assert_eq!(
            m2.target.as_ref().and_then(|t| t.measure.clone()),
            Some(json!(90))
        );
        assert_eq!(m2.observations.len(), 1);
        assert_eq!(
            m2.observations[0].value,
            Some(Money {
                amount: 84.0,
                currency: None
            })
        );
        assert_eq!(m2.latest_rating, Some(Rating::ApproachingTarget));

        let m4 = &series[2];
        assert_eq!(
            m4.target.as_ref().and_then(|t| t.measure.clone()),
            Some(json!(10))
        );
        assert_eq!(m4.observations.len(), 1);
        assert_eq!(m4.latest_rating, None);

        let m3 = &series[3];
        assert_eq!(m3.quadrant, Some(Quadrant::BetterOff));
        assert_eq!(
            m3.target.as_ref().and_then(|t| t.measure.clone()),
            Some(json!(65))
        );
        assert!(m3.observations.is_empty());

        let s = outcome_summary(&r).expect("outcomes");
        assert_eq!((s.metrics, s.observations), (3, 3));
        assert_eq!(s.latest_rating, Some(Rating::ApproachingTarget));
        assert_eq!(s.latest_period_end.as_deref(), Some("2026-07-22T23:59:59Z"));

        // Agreed metrics only (an awarded contract, no report yet): series, no summary.
        let awarded = json!({"contracts": [{"id": "c", "agreedMetrics": r["contracts"][0]["agreedMetrics"].clone()}]});
        assert_eq!(outcome_series(&awarded).len(), 3);
        assert_eq!(outcome_summary(&awarded), None);
    }

    #[test]
    fn garbage_gives_none_or_empty() {
        let garbage = [
            json!(null),
            json!(1),
            json!("release"),
            json!([{"contracts": []}]),
            json!({}),
            json!({"contracts": "none", "planning": "soon", "parties": {"id": "x"}}),
            json!({"contracts": [null, 1, "c", [], {}]}),
            json!({"contracts": [{"implementation": {"metrics": {"id": "m"}}}]}),
            json!({"contracts": [{"implementation": {"metrics": [null, {"observations": "many"}]}}]}),
            json!({"contracts": [{"implementation": {"metrics": [{"observations": [null, 3, {}]}]}}]}),
            json!({"planning": {"commissioning": null, "budget": []}, "buyer": "GB-LAE-WYV"}),
        ];
        for g in &garbage {
            assert_eq!(intention_summary(g), None, "{g}");
            assert_eq!(outcome_summary(g), None, "{g}");
            assert!(partner_org_ids(g).is_empty(), "{g}");
        }
        assert!(outcome_series(&json!(null)).is_empty());
        assert!(outcome_series(&json!({"contracts": [{"id": 7}]})).is_empty());

        // Odd shapes inside otherwise valid data: skipped, never a panic.
        let odd = json!({
            "buyer": {"id": 42},
            "parties": [{"id": 42, "roles": "buyer"}, {"id": "GB-NHS-X1", "roles": ["funder", 3]}],
            "planning": {
                "commissioning": {"level": 3, "priorities": [1, " ", "Early help"], "joint": "maybe", "outcomeAreas": {"a": 1}},
                "budget": {"amount": {"amount": "lots"}, "budgetBreakdown": [
                    {"amount": {"amount": "1e400", "currency": "GBP"}, "sourceParty": "GB-LAE-WYV"},
                    {"amount": {"amount": -5, "currency": "GBP"}, "period": {"startDate": 2027}},
                    "x"
                ]},
                "milestones": {"type": "engagement"}
            },
            "tender": {"tenderPeriod": {"startDate": "next spring"}, "lots": "1"},
            "contracts": [{"id": ["c"], "agreedMetrics": "x", "implementation": {"metrics": [
                {"id": {"x": 1}, "rbaQuadrant": 7, "rating": ["good"], "observations": [
                    {"id": 5, "rating": "superb", "measureClassification": "met", "measure": null,
                     "unit": 4, "value": {"amount": "n/a"}, "period": "Q1"},
                    {"rating": " Good ", "period": {"endDate": "2026-02-30"}, "measure": {"n": 1}}
                ]}
            ]}}]
        });
        let s = intention_summary(&odd).expect("funders make an intention");
        assert_eq!(s.lead.as_deref(), Some("42"));
        assert_eq!(s.partners, strings(&["42", "GB-NHS-X1"]));
        assert_eq!(s.priorities, strings(&["Early help"]));
        assert!(s.outcome_areas.is_empty());
        assert_eq!((s.level, s.joint), (None, None));
        assert_eq!(s.contributions.len(), 2);
        assert_eq!(s.contributions[0].amount, None);
        assert_eq!(s.contributions[1].share, None);
        assert_eq!(s.expected_procurement, None);

        let o = outcome_summary(&odd).expect("outcomes");
        assert_eq!((o.metrics, o.observations), (1, 2));
        assert_eq!(o.latest_rating, Some(Rating::Good));
        assert_eq!(o.latest_period_end, None);
        let series = outcome_series(&odd);
        assert_eq!(series[0].contract_id, None);
        assert_eq!(series[0].observations[0].id.as_deref(), Some("5"));
        assert_eq!(series[0].observations[0].rating, None);
        assert_eq!(series[0].observations[0].unit, None);
        assert_eq!(series[0].observations[0].measure, None);
    }

    #[test]
    fn serialises_snake_case_with_ocds_codes() {
        let s = outcome_summary(&three_periods()).expect("outcomes");
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["latest_rating"], json!("approachingTarget"));
        assert_eq!(v["latest_period_end"], json!("2026-06-30T23:59:59Z"));
        assert_eq!(v["quadrants"][0]["quadrant"], json!("howMuch"));
        assert_eq!(v["trend"], json!("improving"));
        for t in [Trend::Improving, Trend::Steady, Trend::Declining] {
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.code()));
        }
        let back: OutcomeSummary = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, s);

        let i = intention_summary(&wyvern_intention()).expect("an intention");
        let v = serde_json::to_value(&i).expect("json");
        assert_eq!(
            v["pooled_budget"],
            json!({"amount": 6900000.0, "currency": "GBP"})
        );
        assert_eq!(v["contributions"][0]["org_id"], json!("GB-LAE-WYV"));
        assert_eq!(v["cycle_stage"], json!("plan"));

        let series = serde_json::to_value(outcome_series(&parse(FTS_UK9))).expect("json");
        assert_eq!(
            series[1]["observations"][0]["uk9_classification"],
            json!("slightlyBelow")
        );
        assert_eq!(series[1]["observations"][0]["measure"], json!("75%"));
    }

    #[test]
    fn schemas_describe_the_api_types() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(ObservationPoint::schema()).expect("json");
        let properties = &schema["properties"];
        assert!(properties.get("uk9_classification").is_some(), "{schema}");
        // `measure` is a number or a text: any value, not an object.
        assert!(
            properties["measure"]
                .get("type")
                .is_none_or(|t| t != "object"),
            "{schema}"
        );
        let rating = serde_json::to_value(Rating::schema()).expect("json");
        assert_eq!(
            rating["enum"],
            json!([
                "good",
                "approachingTarget",
                "requiresImprovement",
                "inadequate"
            ])
        );
        let summary = serde_json::to_value(IntentionSummary::schema()).expect("json");
        assert!(summary["properties"].get("expected_procurement").is_some());
    }
}
