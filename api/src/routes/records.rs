//! OCDS records: `GET /api/v1/records/{ocid}`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::{
    releases,
    views::{self, View},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, value::RawValue};
use utoipa::IntoParams;

use crate::{
    error::{ApiError, Problem},
    routes::views::{ViewQuery, next_url, view_error},
    startup::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
pub struct RecordQuery {
    /// Include the versioned release (the history of every field).
    #[serde(default)]
    pub versioned: bool,
}

/// One contracting process as an OCDS record package: its releases, its compiled release
/// (current state) and, with `versioned=true`, its versioned release.
#[utoipa::path(
    tag = "ocds",
    params(("ocid" = String, Path, description = "The open contracting id"), RecordQuery),
    responses(
        (status = 200, description = "A record package with one record", body = Object, content_type = "application/json", example = json!(crate::examples::record_package())),
        (status = 404, description = "No release of this ocid is in the register", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/records/{ocid}")]
pub async fn get_record(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<RecordQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ocid = path.into_inner();
    let pool = state.pool.clone();
    let versioned = query.versioned;
    let wanted = ocid.clone();
    let record = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            releases::get_record_text(&mut conn, &wanted, versioned)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no record with ocid {ocid}")))?;
    // The stored texts are written as they are (they were serialised by the register), so
    // serving a record parses nothing.
    let raw =
        |text: String| RawValue::from_string(text).map_err(|e| ApiError::Internal(e.to_string()));
    let releases = record
        .releases
        .into_iter()
        .map(raw)
        .collect::<Result<Vec<_>, _>>()?;
    let compiled_release = raw(record.compiled_release)?;
    let versioned_release = record.versioned_release.map(raw).transpose()?;
    let base = state.publisher.base_url(&req);
    let envelope = state.publisher.package(
        &base,
        &format!("/api/v1/records/{ocid}"),
        "records",
        Vec::new(),
    );
    let body = serde_json::to_vec(&RecordPackage {
        envelope: match envelope {
            Value::Object(mut map) => {
                map.remove("records");
                map
            }
            _ => Map::new(),
        },
        records: [RecordText {
            ocid: &ocid,
            releases,
            compiled_release,
            versioned_release,
        }],
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[derive(Serialize)]
struct RecordText<'a> {
    ocid: &'a str,
    releases: Vec<Box<RawValue>>,
    #[serde(rename = "compiledRelease")]
    compiled_release: Box<RawValue>,
    #[serde(rename = "versionedRelease", skip_serializing_if = "Option::is_none")]
    versioned_release: Option<Box<RawValue>>,
}

#[derive(Serialize)]
struct RecordPackage<'a> {
    #[serde(flatten)]
    envelope: Map<String, Value>,
    records: [RecordText<'a>; 1],
}

/// Compiled records matching the filters, as a record package (newest first; each record's
/// releases are linked, not embedded: follow the links or the record URL for them).
#[utoipa::path(
    tag = "ocds",
    params(ViewQuery),
    responses(
        (status = 200, description = "A record package; `links.next` is the next page", body = Object, content_type = "application/json", example = json!(crate::examples::record_list())),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/records")]
pub async fn list_records(
    req: HttpRequest,
    query: web::Query<ViewQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filters = query.filters()?;
    let limit = query.limit()?;
    let cursor = query.cursor.clone();
    let pool = state.pool.clone();
    let base = state.publisher.base_url(&req);
    let public_url = base.clone();
    let (page, mut linked) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let page = views::page(&mut conn, View::Records, &filters, limit, cursor.as_deref())
                .map_err(view_error)?;
            let ocids: Vec<String> = page.rows.iter().map(|r| r.ocid.clone()).collect();
            let linked = releases::linked_releases(&mut conn, &ocids, |ocid, id| {
                format!("{public_url}/api/v1/releases?ocid={ocid}#{id}")
            })
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok((page, linked))
        })
        .await??;
    let mut records = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let compiled: Value = serde_json::from_str(&row.compiled_release)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut item = Map::new();
        item.insert(
            "releases".into(),
            Value::Array(linked.remove(&row.ocid).unwrap_or_default()),
        );
        item.insert("ocid".into(), Value::String(row.ocid));
        item.insert("compiledRelease".into(), compiled);
        records.push(Value::Object(item));
    }
    let mut package = state
        .publisher
        .package(&base, "/api/v1/records", "records", records);
    package["links"] = serde_json::json!({
        "next": page.next.as_deref().map(|c| next_url(&req, &base, c))
    });
    Ok(HttpResponse::Ok().json(package))
}
