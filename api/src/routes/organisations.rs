//! Organisations: `GET /api/v1/organisations` and `GET /api/v1/organisations/{id}`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use register::organisations::{self, Appearances, Lookup, Organisation};
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

/// One organisation, across every role it plays.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "org_id": "GB-LAE-MAN", "name": "Manchester City Council", "other_names": [],
    "roles": ["buyer", "funder"],
    "appearances": {"as_buyer": 12, "as_supplier": 0, "as_party": 14},
    "links": {"as_buyer": "http://127.0.0.1:8080/api/v1/contracts?buyer=GB-LAE-MAN"}
}))]
pub struct Profile {
    pub org_id: String,
    pub name: String,
    pub other_names: Vec<String>,
    pub roles: Vec<String>,
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

fn profile(org: Organisation) -> Profile {
    Profile {
        org_id: org.org_id,
        name: org.name,
        other_names: org.other_names,
        roles: org.roles,
        appearances: None,
        links: None,
    }
}

/// Organisations in the register (buyers, suppliers, funders...), one per org-id.
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
    let (orgs, next) = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            organisations::page(&mut conn, q.as_deref(), role.as_deref(), limit, after)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??;
    let base = state.publisher.base_url(&req);
    Ok(HttpResponse::Ok().json(OrganisationPage {
        data: orgs.into_iter().map(profile).collect(),
        links: Links {
            next: next.map(|n| next_url(&req, &base, &n.to_string())),
        },
    }))
}

/// One organisation's profile, by org-id (`GB-CHC-1234567`) or bare registration number
/// (`1234567`, when it identifies one organisation).
#[utoipa::path(
    tag = "register",
    params(("id" = String, Path, description = "An org-id or a bare registration number")),
    responses(
        (status = 200, description = "The organisation's profile", body = Profile),
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
                    let appearances =
                        organisations::appearances(&mut conn, &org.org_id).map_err(internal)?;
                    Ok(Ok((org, appearances)))
                }
                other => Ok(Err(other)),
            }
        })
        .await??;
    let (org, appearances) = match found {
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
    let mut profile = profile(org);
    profile.appearances = Some(appearances);
    profile.links = Some(links);
    Ok(HttpResponse::Ok().json(profile))
}
