//! The ocreg OCDS extension, served: `GET /extension/` (its documentation) and
//! `GET /extension/{file}` (`extension.json`, `release-schema.json`, `codelists/*.csv`,
//! `README.md`). The files are embedded in the binary ([`register::extension`]), so the URL a
//! package lists in `extensions` works wherever the register runs.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::extension;

use crate::{
    error::{ApiError, Problem},
    startup::AppState,
};

const MARKDOWN: &str = "text/markdown; charset=utf-8";
const CSV: &str = "text/csv; charset=utf-8";
const JSON: &str = "application/json";

/// The ocreg OCDS extension's documentation.
///
/// Its README, as Markdown: the fields the extension adds (`planning.commissioning`,
/// `Metric.rbaQuadrant`, `Observation.rating`), its codelists, examples, the mapping of ratings
/// to UK contract performance notices (UK9) and its dependencies (budget breakdown, metrics).
#[utoipa::path(
    tag = "ocds",
    responses(
        (status = 200, description = "The extension's README", body = String, content_type = "text/markdown; charset=utf-8"),
    )
)]
#[get("/extension/")]
pub async fn extension_documentation() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(MARKDOWN)
        .body(extension::file("README.md").unwrap_or_default())
}

/// A file of the ocreg OCDS extension.
///
/// `extension.json` (the URL to list in a package's `extensions`; its `documentationUrl` points
/// at this register), `release-schema.json` (the JSON Merge Patch onto the OCDS release schema),
/// `codelists/commissioningLevel.csv`, `codelists/commissioningCycleStage.csv`,
/// `codelists/rbaQuadrant.csv`, `codelists/outcomeRating.csv` or `README.md`.
#[utoipa::path(
    tag = "ocds",
    params(("file" = String, Path, description = "The file's path in the extension, e.g. `extension.json` or `codelists/rbaQuadrant.csv`")),
    responses(
        (status = 200, description = "The file: JSON, CSV (header `Code,Title,Description`) or Markdown", content(
            (Object = "application/json"),
            (String = "text/csv; charset=utf-8"),
            (String = "text/markdown; charset=utf-8")
        )),
        (status = 404, description = "The extension has no such file", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/extension/{file:.*}")]
pub async fn extension_file(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let not_found = || ApiError::NotFound(format!("the extension has no file '{name}'"));
    let content = extension::file(&name).ok_or_else(not_found)?;
    let content_type = if name.ends_with(".json") {
        JSON
    } else if name.ends_with(".csv") {
        CSV
    } else if name.ends_with(".md") {
        MARKDOWN
    } else {
        return Err(not_found());
    };
    if name == "extension.json" {
        let base = state.publisher.base_url(&req);
        let body = serde_json::to_string_pretty(&extension::extension_json(&base))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(HttpResponse::Ok().content_type(JSON).body(body + "\n"));
    }
    Ok(HttpResponse::Ok().content_type(content_type).body(content))
}
