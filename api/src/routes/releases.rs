//! Publishing releases: `POST /api/v1/releases`.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use diesel::Connection;
use futures_util::StreamExt;
use register::{
    audit::{self, NewAuditEntry},
    releases::{self, Outcome, StoreError, Stored},
    summary,
    tokens::Authenticated,
};
use serde::Serialize;
use serde_json::{Value, json};
use tracing_actix_web::RequestId;
use utoipa::ToSchema;

use crate::{
    auth,
    error::{ApiError, FieldError, Problem},
    routes::views::{ViewQuery, next_url, row_cursor},
    startup::AppState,
};

/// What a publish request stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "releases": [{"ocid": "ocds-b5fd17-0001", "id": "0001-tender-1", "status": "created"}],
    "warnings": [{"pointer": "/releases/0/tender/lots", "message": "additional field not in the schema"}]
}))]
pub struct PublishResponse {
    /// Each release of the request, in order, with `created` or `unchanged` (already stored
    /// with the same content).
    #[schema(value_type = Vec<Object>)]
    pub releases: Vec<Stored>,
    /// Things worth a look that do not stop publication (additional fields, codes outside
    /// open codelists).
    pub warnings: Vec<FieldError>,
}

/// Publish one release or a release package.
///
/// The body is validated against OCDS 1.1.5 with the budget breakdown, metrics and ocreg
/// (`/extension/`) extensions; every release must name, as buyer or as a party
/// with role buyer, procuringEntity or funder, an organisation the token may publish for.
/// Releases are stored and each touched record is recompiled in one transaction, audited
/// with the request id. Re-sending a stored release unchanged is accepted (status
/// `unchanged`); the same id with other content is a conflict.
#[utoipa::path(
    tag = "publishing",
    request_body(
        content = Object,
        content_type = "application/json",
        description = "An OCDS release, or a release package (`{\"releases\": [...], ...}`)",
        example = json!({
            "ocid": "ocds-b5fd17-0001",
            "id": "0001-tender-1",
            "date": "2026-11-01T09:00:00Z",
            "tag": ["tender"],
            "initiationType": "tender",
            "buyer": {"id": "GB-LAE-MAN", "name": "Manchester City Council"},
            "parties": [{"id": "GB-LAE-MAN", "name": "Manchester City Council", "roles": ["buyer"]}],
            "tender": {"id": "0001", "title": "Family support service", "status": "active"}
        })
    ),
    responses(
        (status = 201, description = "Stored (at least one release was new)", body = PublishResponse),
        (status = 200, description = "Every release was already stored with the same content", body = PublishResponse),
        (status = 400, description = "The body is not JSON (the detail gives line and column)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token, or an unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A release names no organisation the token may publish for", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A release id is already stored with different content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid OCDS: `errors` lists each problem with a JSON pointer", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client: wait the `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/releases")]
pub async fn publish(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    check_content_type(&req)?;
    let caller = auth::require_token(&req, &state).await?;
    let body = read_body(&req, payload, state.max_body_bytes).await?;
    let document: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let incoming = releases_of(document_checked(&document)?, &document);

    let report = register::extension::schema().validate(&document);
    if !report.is_valid() {
        return Err(ApiError::Unprocessable {
            detail: format!("{} OCDS validation error(s)", report.errors.len()),
            errors: to_field_errors(report.errors),
        });
    }

    let pool = state.pool.clone();
    let actor = caller.actor();
    let request_id = request_id.to_string();
    let stored = state.blocking(move || -> Result<Vec<Stored>, ApiError> {
        let mut conn = pool.get()?;
        conn.transaction(|conn| {
            let publisher_org = check_permission(conn, &caller, &incoming)?;
            let stored = releases::store(conn, &incoming, "api", publisher_org.as_deref())?;
            audit::record(
                conn,
                NewAuditEntry {
                    actor,
                    action: "release.publish".to_owned(),
                    subject_ids: stored.iter().map(|s| format!("{}/{}", s.ocid, s.id)).collect(),
                    request_id: Some(request_id),
                    detail: Some(json!({
                        "created": stored.iter().filter(|s| s.status == Outcome::Created).count(),
                        "unchanged": stored.iter().filter(|s| s.status == Outcome::Unchanged).count(),
                    })),
                },
            )?;
            Ok::<_, PublishError>(stored)
        })
        .map_err(|e| match e {
            PublishError::Refused(e) => e,
            PublishError::Store(e) => store_error(e),
        })
    })
    .await??;

    let created = stored.iter().any(|s| s.status == Outcome::Created);
    let response = PublishResponse {
        releases: stored,
        warnings: to_field_errors(report.warnings),
    };
    Ok(if created {
        HttpResponse::Created().json(response)
    } else {
        HttpResponse::Ok().json(response)
    })
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the release or release package as application/json (got {})",
            if content_type.is_empty() {
                "no Content-Type"
            } else {
                content_type
            }
        )))
    }
}

/// Reads the body, refusing more than `limit` bytes without buffering them.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the document is a release package (true) or a single release (false).
fn document_checked(document: &Value) -> Result<bool, ApiError> {
    let unprocessable = |message: &str| ApiError::Unprocessable {
        detail: message.to_owned(),
        errors: vec![FieldError {
            pointer: String::new(),
            message: message.to_owned(),
        }],
    };
    match document {
        Value::Object(map) if map.contains_key("releases") => {
            if map["releases"].as_array().is_some_and(|a| !a.is_empty()) {
                Ok(true)
            } else {
                Err(unprocessable(
                    "`releases` must be a non-empty array of releases",
                ))
            }
        }
        Value::Object(_) => Ok(false),
        _ => Err(unprocessable(
            "expected a release (an object) or a release package (an object with `releases`)",
        )),
    }
}

/// Each release of the document with its JSON pointer.
fn releases_of(is_package: bool, document: &Value) -> Vec<(Value, String)> {
    if is_package {
        document["releases"]
            .as_array()
            .map(|list| {
                list.iter()
                    .enumerate()
                    .map(|(i, r)| (r.clone(), format!("/releases/{i}")))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![(document.clone(), String::new())]
    }
}

/// The organisation (buyer, procuring entity or funder) on whose behalf the caller may
/// publish `release`, or 403 naming what the release names.
fn permitted_org(
    caller: &Authenticated,
    release: &Value,
    pointer: &str,
) -> Result<String, ApiError> {
    let named = summary::publishing_orgs(release);
    if let Some((_, org)) = named.iter().find(|(_, org)| caller.may_publish_for(org)) {
        return Ok(org.clone());
    }
    let location = if pointer.is_empty() {
        "the release"
    } else {
        pointer
    };
    let ocid = release.get("ocid").and_then(Value::as_str).unwrap_or("?");
    let allowed = caller.org_ids.join(", ");
    Err(ApiError::Forbidden(if named.is_empty() {
        format!(
            "{location} (ocid {ocid}) names no buyer, procuring entity or funder; this token publishes for {allowed}"
        )
    } else {
        let names: Vec<String> = named
            .iter()
            .map(|(role, org)| format!("{role} {org}"))
            .collect();
        format!(
            "{location} (ocid {ocid}) names {}; this token may publish only for {allowed}",
            names.join(", ")
        )
    }))
}

/// Why a publication failed inside its transaction.
enum PublishError {
    Refused(ApiError),
    Store(StoreError),
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<diesel::result::Error> for PublishError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<audit::AuditError> for PublishError {
    fn from(e: audit::AuditError) -> Self {
        Self::Store(e.into())
    }
}

/// Whether the caller may publish every release, and for which organisation (the first
/// one that grants it). Decided per process (ocid):
/// - a process already in the register is updated only by the agencies commissioning it as
///   compiled so far (buyer, procuring entities, funders, pooled-budget contributors), so any
///   partner of a joint intention may update it, even with a partial release naming only the
///   change, and no agency can write into another's process by naming itself in a release;
/// - a new process must name, in at least one of its releases, an organisation the token
///   may publish for as buyer, procuring entity, funder or budget contributor.
fn check_permission(
    conn: &mut register::DbConnection,
    caller: &Authenticated,
    incoming: &[(Value, String)],
) -> Result<Option<String>, PublishError> {
    let mut publisher_org = None;
    let mut checked = std::collections::HashSet::new();
    for (release, pointer) in incoming {
        let ocid = release.get("ocid").and_then(Value::as_str).unwrap_or("");
        if !checked.insert(ocid) {
            continue;
        }
        // A stored process naming no commissioner is treated as new: its releases decide.
        let stored = releases::compiled_release(conn, ocid)?
            .filter(|compiled| !summary::publishing_orgs(compiled).is_empty());
        let granted = match stored {
            Some(compiled) => commissioner_of(caller, &compiled, ocid, pointer)?,
            None => {
                let same_process = incoming
                    .iter()
                    .filter(|(r, _)| r.get("ocid").and_then(Value::as_str).unwrap_or("") == ocid);
                let mut first_refusal = None;
                let mut granted = None;
                for (r, p) in same_process {
                    match permitted_org(caller, r, p) {
                        Ok(org) => {
                            granted = Some(org);
                            break;
                        }
                        Err(e) => {
                            first_refusal.get_or_insert(e);
                        }
                    }
                }
                match granted {
                    Some(org) => org,
                    None => {
                        return Err(PublishError::Refused(first_refusal.unwrap_or_else(|| {
                            ApiError::Forbidden(format!("{pointer}: not permitted"))
                        })));
                    }
                }
            }
        };
        publisher_org.get_or_insert(granted);
    }
    Ok(publisher_org)
}

/// The organisation, among those commissioning the stored process, that the caller may
/// publish for; else 403 naming them.
fn commissioner_of(
    caller: &Authenticated,
    compiled: &Value,
    ocid: &str,
    pointer: &str,
) -> Result<String, PublishError> {
    let mut commissioners: Vec<String> = summary::publishing_orgs(compiled)
        .into_iter()
        .map(|(_, org)| org)
        .collect();
    commissioners.sort();
    commissioners.dedup();
    if let Some(org) = commissioners.iter().find(|o| caller.may_publish_for(o)) {
        return Ok(org.clone());
    }
    let location = if pointer.is_empty() {
        "the release"
    } else {
        pointer
    };
    Err(PublishError::Refused(ApiError::Forbidden(format!(
        "{location} updates {ocid}, a process commissioned by {}; only their tokens may update it, and this token publishes for {}",
        commissioners.join(", "),
        caller.org_ids.join(", ")
    ))))
}

fn to_field_errors(issues: Vec<ocds::validate::Issue>) -> Vec<FieldError> {
    issues
        .into_iter()
        .map(|i| FieldError {
            pointer: i.pointer,
            message: i.message,
        })
        .collect()
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
        StoreError::Invalid { pointer, message } => ApiError::Unprocessable {
            detail: message.clone(),
            errors: vec![FieldError { pointer, message }],
        },
        StoreError::Merge { .. } => ApiError::Unprocessable {
            detail: e.to_string(),
            errors: vec![FieldError {
                pointer: String::new(),
                message: e.to_string(),
            }],
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// Releases in the order the register received them (a change feed), as a release package.
/// The record filters select releases of matching processes; `updated_since` is when the
/// register received a release: poll with the time of your last run (and follow
/// `links.next`) to keep a copy current.
#[utoipa::path(
    tag = "ocds",
    params(ViewQuery),
    responses(
        (status = 200, description = "A release package; `links.next` is the next page", body = Object, content_type = "application/json", example = json!(crate::examples::release_list())),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/releases")]
pub async fn list_releases(
    req: HttpRequest,
    query: web::Query<ViewQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if query.format.as_deref().is_some_and(|f| f != "json") {
        return Err(ApiError::BadRequest(
            "format: releases are OCDS JSON; CSV comes with the register views".to_owned(),
        ));
    }
    let mut filters = query.filters()?;
    // For releases, `updated_since` is when the register received them.
    let received_since = filters.updated_since.take();
    let limit = query.limit()?;
    let after = row_cursor(query.cursor.as_deref())?;
    let pool = state.pool.clone();
    let (items, next) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            releases::list(&mut conn, &filters, received_since, limit, after)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??;
    let base = state.publisher.base_url(&req);
    let mut package = state
        .publisher
        .package(&base, "/api/v1/releases", "releases", items);
    package["links"] = json!({
        "next": next.map(|n| next_url(&req, &base, &n.to_string()))
    });
    Ok(HttpResponse::Ok().json(package))
}
