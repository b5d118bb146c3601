//! OCDS records: `GET /api/v1/records/{ocid}`.

use actix_web::{HttpResponse, get, web};
use register::releases;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::{
    error::{ApiError, Problem},
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
        (status = 200, description = "A record package with one record", body = Object, content_type = "application/json"),
        (status = 404, description = "No release of this ocid is in the register", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/records/{ocid}")]
pub async fn get_record(
    path: web::Path<String>,
    query: web::Query<RecordQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ocid = path.into_inner();
    let pool = state.pool.clone();
    let versioned = query.versioned;
    let wanted = ocid.clone();
    let record = web::block(move || -> Result<_, ApiError> {
        let mut conn = pool.get()?;
        releases::get_record(&mut conn, &wanted, versioned)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await??
    .ok_or_else(|| ApiError::NotFound(format!("no record with ocid {ocid}")))?;
    let mut item = Map::new();
    item.insert("ocid".into(), Value::String(record.ocid));
    item.insert("releases".into(), Value::Array(record.releases));
    item.insert("compiledRelease".into(), record.compiled_release);
    if let Some(versioned) = record.versioned_release {
        item.insert("versionedRelease".into(), versioned);
    }
    let package = state.publisher.package(
        &format!("/api/v1/records/{ocid}"),
        "records",
        vec![Value::Object(item)],
    );
    Ok(HttpResponse::Ok().json(package))
}
