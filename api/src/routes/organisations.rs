//! Organisations: `GET /api/v1/organisations` and `GET /api/v1/organisations/{id}`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::{
    identity::{self, Identifier},
    organisations::{self, Appearances, Lookup, Organisation},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    routes::views::{Links, next_url, row_cursor},
    startup::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Part of the name, case-insensitive.
    pub q: Option<String>,
    /// A role the organisation has somewhere: buyer, supplier, funder, procuringEntity...
    pub role: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
}

/// One organisation, across every role it plays and every id it is known by. `org_id` is its
/// canonical id; `identifiers` lists all its ids (the canonical one first) with how and where
/// each was recognised as the organisation's.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "org_id": "GB-COH-07962245", "name": "Cyril Flint Befrienders",
    "other_names": ["CYRIL FLINT BEFRIENDERS LIMITED"],
    "roles": ["grantRecipient", "supplier"],
    "identifiers": [
        {"id": "GB-COH-07962245", "canonical": true, "method": null, "source": null, "recorded_at": null},
        {"id": "GB-CHC-1146179", "canonical": false, "method": "360giving_organisation",
         "source": "360G-traffordmbc-VSG1345", "recorded_at": "2026-11-24T13:00:00"}
    ],
    "appearances": {"as_buyer": 0, "as_supplier": 1, "as_party": 1, "as_funder": 0,
                    "as_grant_recipient": 1, "as_payer": 0, "as_payee": 0},
    "links": {"as_supplier": "http://127.0.0.1:8080/api/v1/contracts?supplier=GB-COH-07962245"}
}))]
pub struct Profile {
    /// The canonical id: the one the profile is kept under.
    pub org_id: String,
    pub name: String,
    /// Every other name it was published under, by any of its ids.
    pub other_names: Vec<String>,
    pub roles: Vec<String>,
    pub identifiers: Vec<Identifier>,
    #[schema(value_type = Object)]
    pub appearances: Option<Appearances>,
    #[schema(value_type = Object)]
    pub links: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationPage {
    pub data: Vec<Profile>,
    pub links: Links,
}

fn profile(org: Organisation, identifiers: Vec<Identifier>) -> Profile {
    Profile {
        org_id: org.org_id,
        name: org.name,
        other_names: org.other_names,
        roles: org.roles,
        identifiers,
        appearances: None,
        links: None,
    }
}

/// Organisations in the register (buyers, suppliers, funders, grant recipients...), each once
/// under its canonical id, whichever ids the sources used (`identifiers` lists them all).
#[utoipa::path(
    tag = "register",
    params(OrganisationQuery),
    responses(
        (status = 200, description = "A page of organisations", body = OrganisationPage),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations")]
pub async fn list(
    req: HttpRequest,
    query: web::Query<OrganisationQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = crate::routes::views::ViewQuery {
        limit: query.limit.clone(),
        ..Default::default()
    }
    .limit()?;
    let after = row_cursor(query.cursor.as_deref())?;
    let (q, role) = (query.q.clone(), query.role.clone());
    let pool = state.pool.clone();
    let (orgs, mut identifiers, next) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let internal = |e: diesel::result::Error| ApiError::Internal(e.to_string());
            let (orgs, next) =
                organisations::page(&mut conn, q.as_deref(), role.as_deref(), limit, after)
                    .map_err(internal)?;
            let ids: Vec<String> = orgs.iter().map(|o| o.org_id.clone()).collect();
            let identifiers = identity::identifiers(&mut conn, &ids).map_err(internal)?;
            Ok((orgs, identifiers, next))
        })
        .await??;
    let base = state.publisher.base_url(&req);
    Ok(HttpResponse::Ok().json(OrganisationPage {
        data: orgs
            .into_iter()
            .map(|org| {
                let ids = identifiers.remove(&org.org_id).unwrap_or_default();
                profile(org, ids)
            })
            .collect(),
        links: Links {
            next: next.map(|n| next_url(&req, &base, &n.to_string())),
        },
    }))
}

/// One organisation's profile, by any of its org-ids (`GB-CHC-1234567`, or another spelling of
/// one: `GB-COH-1234` for `GB-COH-00001234`) or a bare registration number (`1234567`, when it
/// identifies one organisation).
///
/// An id that is not the organisation's canonical id (a charity number of a charitable company
/// profiled under its company number, a publisher's own id) answers directly with the same
/// profile, not a redirect: `org_id` in the body is the canonical id, and a
/// `Link: <…/api/v1/organisations/{canonical id}>; rel="canonical"` header names its address.
/// Appearances count every record, grant and payment naming any of its ids, once each.
#[utoipa::path(
    tag = "register",
    params(("id" = String, Path, description = "Any org-id of the organisation, or a bare registration number")),
    responses(
        (status = 200, description = "The organisation's profile (the same whichever of its ids is asked for)", body = Profile,
         headers(("Link" = String, description = "`<…/api/v1/organisations/{canonical id}>; rel=\"canonical\"`"))),
        (status = 300, description = "A bare number matching several organisations: `errors` lists them", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}")]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let identifier = path.into_inner();
    let pool = state.pool.clone();
    let wanted = identifier.clone();
    let found = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let internal = |e: diesel::result::Error| ApiError::Internal(e.to_string());
            match organisations::lookup(&mut conn, &wanted).map_err(internal)? {
                Lookup::Found(org) => {
                    let identifiers =
                        identity::identifiers(&mut conn, std::slice::from_ref(&org.org_id))
                            .map_err(internal)?
                            .remove(&org.org_id)
                            .unwrap_or_default();
                    let ids: Vec<String> = identifiers.iter().map(|i| i.id.clone()).collect();
                    let appearances =
                        organisations::appearances(&mut conn, &ids).map_err(internal)?;
                    Ok(Ok((org, identifiers, appearances)))
                }
                other => Ok(Err(other)),
            }
        })
        .await??;
    let (org, identifiers, appearances) = match found {
        Ok(found) => found,
        Err(Lookup::Ambiguous(candidates)) => {
            return Err(ApiError::Ambiguous {
                detail: format!(
                    "{identifier} identifies {} organisations; ask for one by its full org-id",
                    candidates.len()
                ),
                candidates,
            });
        }
        Err(_) => {
            return Err(ApiError::NotFound(format!(
                "no organisation with identifier {identifier}"
            )));
        }
    };
    let base = state.publisher.base_url(&req);
    let links = serde_json::json!({
        "as_buyer": format!("{base}/api/v1/contracts?buyer={}", org.org_id),
        "as_supplier": format!("{base}/api/v1/contracts?supplier={}", org.org_id),
        "intentions": format!("{base}/api/v1/intentions?buyer={}", org.org_id),
    });
    let canonical = format!(
        "<{base}/api/v1/organisations/{}>; rel=\"canonical\"",
        org.org_id
    );
    let mut profile = profile(org, identifiers);
    profile.appearances = Some(appearances);
    profile.links = Some(links);
    Ok(HttpResponse::Ok()
        .insert_header(("Link", canonical))
        .json(profile))
}
