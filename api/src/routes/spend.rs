//! Council spend: `GET /api/v1/spend`, the payment lines imported with `ocreg import spend`,
//! filtered and paged, as JSON or CSV, each with the contract it is linked to; a contract's
//! payments (`GET /api/v1/contracts/{ocid}/spend`); and the off-contract spend report
//! (`GET /api/v1/spend/off-contract`). A redacted supplier, or one that is a person, has no
//! name here because none was stored.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use register::{
    off_contract::{self as off_contract_report, OffContractQuery},
    spend::{SpendFilters, SpendLink, SpendTransaction},
    transactions::pounds,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    routes::views::{Links, limit_param, next_url, row_cursor, wants_csv},
    startup::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpendQuery {
    /// The paying body's org-id (the file's publisher), e.g. `GB-LAE-DEV`.
    pub buyer: Option<String>,
    /// Part of the supplier's name, case-insensitive.
    pub supplier: Option<String>,
    /// Paid on or after this date (`2026-04-01`).
    pub date_from: Option<String>,
    /// Paid on or before this date.
    pub date_to: Option<String>,
    /// At least this amount in pounds (`500`, `-100.50` for credits).
    pub min_amount: Option<String>,
    /// At most this amount in pounds.
    pub max_amount: Option<String>,
    /// `true`: only lines linked to a contract in the register; `false`: only lines that are not.
    pub matched: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
    /// `csv` for comma-separated values (also chosen by `Accept: text/csv`).
    pub format: Option<String>,
}

/// The contract a payment line is linked to (register::reconcile).
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendLinkItem {
    pub ocid: String,
    /// The `contracts[].id` (or, before a contract is signed, `awards[].id`).
    pub contract_id: String,
    /// `supplier_id`, `supplier_name` or `trading_name`.
    pub method: String,
    /// 0 to 1.
    pub confidence: f64,
}

/// One payment line.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 17, "buyer": "GB-LAE-DEV", "date": "2026-03-02", "amount": 6390.0,
    "currency": "GBP", "supplier": "SOUTHWEST INTERVENTION SERVICES", "supplier_redacted": false,
    "transaction_number": "22076262", "body_name": "Devon County Council",
    "expense_area": "Children's Social Care", "expense_type": "Community based care",
    "description": null, "source": {"file": "DCCSpendingOver500_202603.csv", "line": 5},
    "link": {"ocid": "ocds-h6vhtk-0a0001", "contract_id": "C1", "method": "supplier_name",
             "confidence": 0.8}
}))]
pub struct SpendItem {
    pub id: i64,
    pub buyer: String,
    pub date: NaiveDate,
    /// Pounds, exact to the penny; negative for credit notes and refunds.
    #[schema(value_type = f64)]
    pub amount: serde_json::Number,
    pub currency: &'static str,
    /// Absent when the published name was redacted or names a person.
    pub supplier: Option<String>,
    pub supplier_redacted: bool,
    pub transaction_number: Option<String>,
    pub body_name: Option<String>,
    pub expense_area: Option<String>,
    pub expense_type: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub source: serde_json::Value,
    /// The contract it was paid under, null when it is linked to none.
    pub link: Option<SpendLinkItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpendPage {
    pub data: Vec<SpendItem>,
    pub links: Links,
}

const CSV_HEADER: [&str; 16] = [
    "id",
    "buyer",
    "date",
    "amount",
    "currency",
    "supplier",
    "supplier_redacted",
    "transaction_number",
    "body_name",
    "expense_area",
    "expense_type",
    "description",
    "link_ocid",
    "link_contract_id",
    "link_method",
    "link_confidence",
];

/// Pence from a pounds parameter (`500`, `12.5`, `-3.20`).
fn pence_param(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "{name}: '{text}' is not an amount in pounds such as 500 or 12.50"
        ))
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let pence = whole
        .checked_mul(100)
        .and_then(|p| p.checked_add(fraction))
        .ok_or_else(bad)?;
    Ok(Some(if negative { -pence } else { pence }))
}

fn date_param(name: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::BadRequest(format!("{name}: '{t}' is not a date such as 2026-04-01"))
        })
    })
    .transpose()
}

fn item(row: SpendTransaction, link: Option<SpendLink>) -> SpendItem {
    SpendItem {
        id: row.id,
        buyer: row.publisher_org_id,
        date: row.payment_date,
        amount: pounds(row.amount_pence),
        currency: "GBP",
        supplier: row.supplier_name,
        supplier_redacted: row.supplier_redacted,
        transaction_number: row.transaction_number,
        body_name: row.body_name,
        expense_area: row.expense_area,
        expense_type: row.expense_type,
        description: row.description,
        source: serde_json::json!({"file": row.source_file, "line": row.line}),
        link: link.map(|l| SpendLinkItem {
            ocid: l.ocid,
            contract_id: l.contract_id,
            method: l.method,
            confidence: l.confidence,
        }),
    }
}

/// `true` or `false`.
fn bool_param(name: &str, text: Option<&str>) -> Result<Option<bool>, ApiError> {
    text.map(|t| match t.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "{name}: '{t}' is not true or false"
        ))),
    })
    .transpose()
}

/// Council spend (payments over £500 published under the Local Government Transparency
/// Code), filtered by buyer, supplier, date, amount and whether linked to a contract; each
/// line with its link (contract, method, confidence); JSON or CSV.
#[utoipa::path(
    tag = "register",
    params(SpendQuery),
    responses(
        (status = 200, description = "A page of payment lines; `links.next` is the next page. As CSV (`format=csv` or `Accept: text/csv`) the same rows, with the next page in the `Link` header", content(
            (SpendPage = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/spend")]
pub async fn list(
    req: HttpRequest,
    query: web::Query<SpendQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let csv = wants_csv(query.format.as_deref(), &req)?;
    let limit = limit_param(query.limit.as_deref())?;
    let after = row_cursor(query.cursor.as_deref())?;
    let filters = SpendFilters {
        buyer: query.buyer.clone(),
        supplier: query.supplier.clone(),
        date_from: date_param("date_from", query.date_from.as_deref())?,
        date_to: date_param("date_to", query.date_to.as_deref())?,
        min_pence: pence_param("min_amount", query.min_amount.as_deref())?,
        max_pence: pence_param("max_amount", query.max_amount.as_deref())?,
        matched: bool_param("matched", query.matched.as_deref())?,
    };
    let pool = state.pool.clone();
    let (rows, next) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            register::spend::page(&mut conn, &filters, limit, after)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??;
    let next = next.map(|n| next_url(&req, &state.publisher.base_url(&req), &n.to_string()));
    let data: Vec<SpendItem> = rows
        .into_iter()
        .map(|(row, link)| item(row, link))
        .collect();
    if !csv {
        return Ok(HttpResponse::Ok().json(SpendPage {
            data,
            links: Links { next },
        }));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    w.write_record(CSV_HEADER).map_err(internal)?;
    for i in &data {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            i.id.to_string(),
            i.buyer.clone(),
            i.date.to_string(),
            i.amount.to_string(),
            i.currency.to_owned(),
            text(&i.supplier),
            i.supplier_redacted.to_string(),
            text(&i.transaction_number),
            text(&i.body_name),
            text(&i.expense_area),
            text(&i.expense_type),
            text(&i.description),
            i.link.as_ref().map(|l| l.ocid.clone()).unwrap_or_default(),
            i.link
                .as_ref()
                .map(|l| l.contract_id.clone())
                .unwrap_or_default(),
            i.link
                .as_ref()
                .map(|l| l.method.clone())
                .unwrap_or_default(),
            i.link
                .as_ref()
                .map(|l| l.confidence.to_string())
                .unwrap_or_default(),
        ])
        .map_err(internal)?;
    }
    csv_response(w, next)
}

/// A CSV page: the body, and the next page in a `Link` header (the CSV has no envelope).
fn csv_response(w: csv::Writer<Vec<u8>>, next: Option<String>) -> Result<HttpResponse, ApiError> {
    let body = w
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = HttpResponse::Ok();
    response.content_type("text/csv; charset=utf-8");
    if let Some(next) = next {
        response.insert_header(("Link", format!("<{next}>; rel=\"next\"")));
    }
    Ok(response.body(body))
}

/// A payment under a contract, with how it was linked.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedPayment {
    #[serde(flatten)]
    pub payment: SpendItem,
    /// `supplier_id`, `supplier_name` or `trading_name` (register::reconcile).
    pub method: String,
    /// 0 to 1.
    pub confidence: f64,
}

/// What was paid in one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthPaid {
    /// `2026-03`.
    pub month: String,
    #[schema(value_type = f64)]
    pub paid: serde_json::Number,
    pub payments: u64,
}

/// A contract's spend: paid to date against its value, by month, and the payments.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "ocid": "ocds-h6vhtk-0a0001", "value": 120000.0, "currency": "GBP", "paid": 6390.0,
    "paid_share": 0.0533, "by_month": [{"month": "2026-03", "paid": 6390.0, "payments": 1}],
    "payments": []
}))]
pub struct ContractSpend {
    pub ocid: String,
    /// The contract value (all contracts of the process, GBP); null when not published.
    #[schema(value_type = Option<f64>)]
    pub value: Option<serde_json::Number>,
    pub currency: &'static str,
    /// Paid to date: the sum of the linked payments (credits included).
    #[schema(value_type = f64)]
    pub paid: serde_json::Number,
    /// Paid to date as a share of the value.
    pub paid_share: Option<f64>,
    pub by_month: Vec<MonthPaid>,
    pub payments: Vec<LinkedPayment>,
}

/// Council payments linked to a contract (reconciliation of spend to the register): paid to
/// date against the contract value, by month.
#[utoipa::path(
    tag = "register",
    params(("ocid" = String, Path, description = "The contracting process")),
    responses(
        (status = 200, description = "The contract's spend", body = ContractSpend),
        (status = 404, description = "No such process", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{ocid}/spend")]
pub async fn contract_spend(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ocid = path.into_inner();
    let pool = state.pool.clone();
    let wanted = ocid.clone();
    let found = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let internal = |e: diesel::result::Error| ApiError::Internal(e.to_string());
            let value = register::releases::compiled_release(&mut conn, &wanted)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let Some(compiled) = value else {
                return Ok(None);
            };
            let payments =
                register::spend::contract_payments(&mut conn, &wanted).map_err(internal)?;
            Ok(Some((compiled, payments)))
        })
        .await??;
    let Some((compiled, payments)) = found else {
        return Err(ApiError::NotFound(format!("no contracting process {ocid}")));
    };
    let value = register::spend::contract_value_pence(&compiled);
    let paid: i64 = payments.iter().map(|(p, _)| p.amount_pence).sum();
    let mut months: std::collections::BTreeMap<String, (i64, u64)> = Default::default();
    for (p, _) in &payments {
        let month = months
            .entry(p.payment_date.format("%Y-%m").to_string())
            .or_default();
        month.0 += p.amount_pence;
        month.1 += 1;
    }
    Ok(HttpResponse::Ok().json(ContractSpend {
        ocid,
        value: value.map(pounds),
        currency: "GBP",
        paid: pounds(paid),
        paid_share: value
            .filter(|v| *v > 0)
            .map(|v| (paid as f64 / v as f64 * 10_000.0).round() / 10_000.0),
        by_month: months
            .into_iter()
            .map(|(month, (paid, payments))| MonthPaid {
                month,
                paid: pounds(paid),
                payments,
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|(p, link)| LinkedPayment {
                method: link.method.clone(),
                confidence: link.confidence,
                payment: item(p, Some(link)),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OffContractParams {
    /// The paying body's org-id (required), e.g. `GB-LAE-DEV`.
    pub buyer: Option<String>,
    /// List suppliers paid more than this in pounds over the period (default 5000: the Local
    /// Government Transparency Code puts every contract over £5,000 on the contracts register).
    pub threshold: Option<String>,
    /// Payments on or after this date (`2026-04-01`).
    pub date_from: Option<String>,
    /// Payments on or before this date.
    pub date_to: Option<String>,
    /// Suppliers per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
    /// `csv` for comma-separated values (also chosen by `Accept: text/csv`).
    pub format: Option<String>,
}

/// A supplier paid off contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct OffContractItem {
    /// The supplier's name as most often written; null for the `redacted` group (redacted
    /// payees and individuals, never named).
    pub supplier: Option<String>,
    pub redacted: bool,
    /// Paid over the period by payments linked to no contract (credits included), pounds.
    #[schema(value_type = f64)]
    pub total: serde_json::Number,
    pub currency: &'static str,
    pub payments: u64,
    pub first_payment: NaiveDate,
    pub last_payment: NaiveDate,
}

/// The report's figures over every page.
#[derive(Debug, Serialize, ToSchema)]
pub struct OffContractTotals {
    pub suppliers: u64,
    #[schema(value_type = f64)]
    pub total: serde_json::Number,
    pub payments: u64,
}

/// Off-contract spend of one buyer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "buyer": "GB-LAE-DEV", "threshold": 5000.0, "currency": "GBP",
    "date_from": "2026-03-01", "date_to": "2026-03-31",
    "totals": {"suppliers": 1, "total": 6390.0, "payments": 1},
    "data": [{"supplier": "SOUTHWEST INTERVENTION SERVICES", "redacted": false, "total": 6390.0,
              "currency": "GBP", "payments": 1, "first_payment": "2026-03-02",
              "last_payment": "2026-03-02"}],
    "links": {"next": null}
}))]
pub struct OffContractReport {
    pub buyer: String,
    #[schema(value_type = f64)]
    pub threshold: serde_json::Number,
    pub currency: &'static str,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub totals: OffContractTotals,
    pub data: Vec<OffContractItem>,
    pub links: Links,
}

const OFF_CONTRACT_CSV_HEADER: [&str; 7] = [
    "supplier",
    "redacted",
    "total",
    "currency",
    "payments",
    "first_payment",
    "last_payment",
];

/// Off-contract spend of one buyer: the suppliers it paid more than `threshold` over the
/// period by payments linked to no contract in the register, largest total first, with the
/// number of payments and the first and last payment dates. Suppliers are grouped by
/// normalised name; redacted payees and individuals are one group, `redacted`, never named.
/// JSON or CSV.
#[utoipa::path(
    tag = "register",
    params(OffContractParams),
    responses(
        (status = 200, description = "A page of suppliers; `links.next` is the next page. As CSV (`format=csv` or `Accept: text/csv`) the same rows, with the next page in the `Link` header", content(
            (OffContractReport = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is not valid, or `buyer` is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/spend/off-contract")]
pub async fn off_contract(
    req: HttpRequest,
    query: web::Query<OffContractParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let csv = wants_csv(query.format.as_deref(), &req)?;
    let limit = limit_param(query.limit.as_deref())?;
    let buyer = query
        .buyer
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ApiError::BadRequest("buyer: give the paying body's org-id".into()))?;
    let buyer = register::org_ids::normalise_org_id(buyer).unwrap_or_else(|| buyer.to_owned());
    let report_query = OffContractQuery {
        buyer: buyer.clone(),
        threshold_pence: pence_param("threshold", query.threshold.as_deref())?
            .unwrap_or(off_contract_report::DEFAULT_THRESHOLD_PENCE),
        date_from: date_param("date_from", query.date_from.as_deref())?,
        date_to: date_param("date_to", query.date_to.as_deref())?,
    };
    let cursor = query.cursor.clone();
    let pool = state.pool.clone();
    let wanted = report_query.clone();
    let page = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            off_contract_report::report(&mut conn, &wanted, limit, cursor.as_deref()).map_err(|e| {
                match e {
                    off_contract_report::OffContractError::Cursor => {
                        ApiError::BadRequest(e.to_string())
                    }
                    e => ApiError::Internal(e.to_string()),
                }
            })
        })
        .await??;
    let next = page
        .next
        .as_deref()
        .map(|n| next_url(&req, &state.publisher.base_url(&req), n));
    let data: Vec<OffContractItem> = page
        .rows
        .into_iter()
        .map(|r| OffContractItem {
            supplier: r.supplier,
            redacted: r.redacted,
            total: pounds(r.total_pence),
            currency: "GBP",
            payments: r.payments,
            first_payment: r.first_payment,
            last_payment: r.last_payment,
        })
        .collect();
    if !csv {
        return Ok(HttpResponse::Ok().json(OffContractReport {
            buyer,
            threshold: pounds(report_query.threshold_pence),
            currency: "GBP",
            date_from: report_query.date_from,
            date_to: report_query.date_to,
            totals: OffContractTotals {
                suppliers: page.totals.suppliers,
                total: pounds(page.totals.total_pence),
                payments: page.totals.payments,
            },
            data,
            links: Links { next },
        }));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    w.write_record(OFF_CONTRACT_CSV_HEADER).map_err(internal)?;
    for i in &data {
        w.write_record([
            i.supplier
                .clone()
                .unwrap_or_else(|| off_contract_report::REDACTED.to_owned()),
            i.redacted.to_string(),
            i.total.to_string(),
            i.currency.to_owned(),
            i.payments.to_string(),
            i.first_payment.to_string(),
            i.last_payment.to_string(),
        ])
        .map_err(internal)?;
    }
    csv_response(w, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_and_pence_convert_exactly() {
        assert_eq!(pounds(123_450).to_string(), "1234.50");
        assert_eq!(pounds(-5).to_string(), "-0.05");
        assert_eq!(pounds(0).to_string(), "0.00");
        assert_eq!(pence_param("x", Some("500")).unwrap(), Some(50_000));
        assert_eq!(pence_param("x", Some("12.5")).unwrap(), Some(1_250));
        assert_eq!(pence_param("x", Some("-3.20")).unwrap(), Some(-320));
        assert!(pence_param("x", Some("1,000")).is_err());
        assert!(pence_param("x", Some("1.234")).is_err());
        assert!(pence_param("x", Some("")).is_err());
    }
}
