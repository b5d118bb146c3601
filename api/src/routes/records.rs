//! OCDS records: `GET /api/v1/records/{ocid}`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::{
    releases,
    transactions::Transactions,
    views::{self, View},
};
use serde::Deserialize;
use serde_json::{Map, Value};
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
/// (current state) and, with `versioned=true`, its versioned release. Council payments and
/// 360Giving grants linked to its contracts appear in the compiled release as
/// `contracts[].implementation.transactions` (with `reconciliation`: how they were linked).
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
    let base = state.publisher.base_url(&req);
    let public_url = base.clone();
    let record = state
        .blocking(move || -> Result<_, ApiError> {
            let internal = |e: String| ApiError::Internal(e);
            let mut conn = pool.get()?;
            let Some(mut record) = releases::get_record_text(&mut conn, &wanted, versioned)
                .map_err(|e| internal(e.to_string()))?
            else {
                return Ok(None);
            };
            let linked = Transactions::load(&mut conn, &[wanted.as_str()])
                .map_err(|e| internal(e.to_string()))?;
            record.compiled_release = linked
                .apply_text(&wanted, record.compiled_release, &public_url)
                .map_err(|e| internal(e.to_string()))?;
            Ok(Some(record))
        })
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no record with ocid {ocid}")))?;
    let envelope = state.publisher.package(
        &base,
        &format!("/api/v1/records/{ocid}"),
        "records",
        Vec::new(),
    );
    let body = record_package_body(envelope, &ocid, record)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The record package as bytes: the envelope serialised, then the stored JSON texts copied in
/// as they are. They were serialised by the register itself, so serving a record neither
/// parses nor re-validates them (that was a tenth of this route's CPU under load).
fn record_package_body(
    envelope: Value,
    ocid: &str,
    record: releases::StoredRecordText,
) -> Result<Vec<u8>, ApiError> {
    let internal = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let mut envelope = match envelope {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    envelope.remove("records");
    let head = serde_json::to_vec(&envelope).map_err(internal)?;
    let size = record.releases.iter().map(String::len).sum::<usize>()
        + record.compiled_release.len()
        + record.versioned_release.as_ref().map_or(0, String::len)
        + head.len()
        + ocid.len()
        + 128;
    let mut body = Vec::with_capacity(size);
    // `{...envelope` without its closing brace, then `,"records":[...]}`.
    body.extend_from_slice(&head[..head.len() - 1]);
    if head.len() > 2 {
        body.push(b',');
    }
    body.extend_from_slice(b"\"records\":[{\"ocid\":");
    serde_json::to_writer(&mut body, ocid).map_err(internal)?;
    body.extend_from_slice(b",\"releases\":[");
    for (i, release) in record.releases.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(release.as_bytes());
    }
    body.extend_from_slice(b"],\"compiledRelease\":");
    body.extend_from_slice(record.compiled_release.as_bytes());
    if let Some(versioned) = &record.versioned_release {
        body.extend_from_slice(b",\"versionedRelease\":");
        body.extend_from_slice(versioned.as_bytes());
    }
    body.extend_from_slice(b"}]}");
    Ok(body)
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
    let (page, mut linked, transactions) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let page = views::page(&mut conn, View::Records, &filters, limit, cursor.as_deref())
                .map_err(view_error)?;
            let ocids: Vec<String> = page.rows.iter().map(|r| r.ocid.clone()).collect();
            let linked = releases::linked_releases(&mut conn, &ocids, |ocid, id| {
                format!("{public_url}/api/v1/releases?ocid={ocid}#{id}")
            })
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            let refs: Vec<&str> = ocids.iter().map(String::as_str).collect();
            let transactions = Transactions::load(&mut conn, &refs)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok((page, linked, transactions))
        })
        .await??;
    let mut records = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let mut compiled: Value = serde_json::from_str(&row.compiled_release)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        transactions.apply(&row.ocid, &mut compiled, &base);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(versioned: Option<&str>) -> releases::StoredRecordText {
        releases::StoredRecordText {
            releases: vec![r#"{"id":"1"}"#.into(), r#"{"id":"2"}"#.into()],
            compiled_release: r#"{"id":"c"}"#.into(),
            versioned_release: versioned.map(str::to_owned),
        }
    }

    #[test]
    fn record_package_bytes_are_the_envelope_and_the_stored_texts() {
        let body = record_package_body(
            json!({"uri": "u", "version": "1.1", "records": []}),
            "ocds-\"x\"",
            stored(Some(r#"{"v":[]}"#)),
        )
        .unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            json!({"uri": "u", "version": "1.1", "records": [{
                "ocid": "ocds-\"x\"",
                "releases": [{"id": "1"}, {"id": "2"}],
                "compiledRelease": {"id": "c"},
                "versionedRelease": {"v": []}
            }]})
        );
        // An empty envelope gives no stray comma; no versioned release, no key.
        let body = record_package_body(json!({}), "o", stored(None)).unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed["records"][0]["releases"].as_array().unwrap().len(),
            2
        );
        assert!(parsed["records"][0].get("versionedRelease").is_none());
    }
}
