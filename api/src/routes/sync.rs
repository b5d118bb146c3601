//! Sync status: `GET /api/v1/sync/sources`, `GET /api/v1/sync/runs` and
//! `GET /api/v1/sync/runs/{id}`: what each configured feed is, how far the register has got
//! with it, and what every run did.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{NaiveDateTime, Utc};
use register::{
    config::SourceKind,
    sync_store::{self, RunView, WindowProgress},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, Problem},
    routes::views::{Links, limit_param, next_url, row_cursor},
    startup::AppState,
};

/// A configured source and how far the register has got with it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "name": "find_a_tender", "kind": "find_a_tender",
    "base_url": "https://www.find-tender.service.gov.uk", "schedule": "0 */15 * * * *",
    "enabled": true, "filters": {"buyers": [], "cpv": ["8531", "8532"], "keywords": ["foster"]},
    "last_run": null, "last_success_at": "2026-11-24T09:15:02",
    "high_water_mark": "2026-11-24T09:15:00Z", "lag_seconds": 312, "window_in_progress": null,
    "releases": 1520, "quarantined": 2, "last_error": null
}))]
pub struct SourceStatus {
    pub name: String,
    pub kind: SourceKind,
    /// The service's address; empty for the file kinds, whose files are in `filters`.
    pub base_url: String,
    /// Cron string (seconds first); empty: runs only with `ocreg sync run`.
    pub schedule: String,
    /// Whether the daemon runs it on a schedule.
    pub enabled: bool,
    /// What the source takes: `buyers`, `cpv` and `keywords` for the OCDS feeds; `publisher`,
    /// `urls` and `url_pattern` for `spend_csv` and `threesixtygiving`.
    #[schema(value_type = Object)]
    pub filters: serde_json::Value,
    /// The latest run, finished or not.
    pub last_run: Option<RunView>,
    pub last_success_at: Option<NaiveDateTime>,
    /// The feed is complete up to this time (UTC): the end of the last window walked.
    pub high_water_mark: Option<chrono::DateTime<Utc>>,
    /// Seconds between the high-water mark and now.
    pub lag_seconds: Option<i64>,
    /// A window walked part-way (a run stopped inside it); the next run resumes at `next`.
    #[schema(value_type = Option<Object>)]
    pub window_in_progress: Option<WindowProgress>,
    /// Releases stored from this source.
    pub releases: i64,
    /// Releases from this source that could not be stored (see the runs' `rejects`).
    pub quarantined: i64,
    /// The error of the latest run, when it failed or was interrupted.
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub data: Vec<SourceStatus>,
}

/// The feeds this register syncs from (`[sources.<name>]` in its configuration), each with
/// its last run, last success, high-water mark, lag, counts and last error.
#[utoipa::path(
    tag = "sync",
    responses((status = 200, description = "Every configured source", body = SourceList))
)]
#[get("/sync/sources")]
pub async fn sources(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let configured = state.sources.clone();
    let pool = state.pool.clone();
    let data = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            let mut data = Vec::with_capacity(configured.len());
            for (name, settings) in configured.iter() {
                let s = sync_store::source_state(&mut conn, name).map_err(internal)?;
                data.push(SourceStatus {
                    name: name.clone(),
                    kind: settings.kind,
                    base_url: if settings.base_url.is_empty() {
                        settings.kind.default_base_url().to_owned()
                    } else {
                        settings.base_url.clone()
                    },
                    schedule: settings.schedule.clone(),
                    enabled: !settings.schedule.trim().is_empty(),
                    filters: match settings.kind {
                        SourceKind::SpendCsv | SourceKind::ThreeSixtyGiving => serde_json::json!({
                            "publisher": settings.publisher,
                            "urls": settings.urls,
                            "url_pattern": settings.url_pattern,
                        }),
                        SourceKind::FindATender | SourceKind::ContractsFinder => {
                            serde_json::json!({
                                "buyers": settings.buyers,
                                "cpv": settings.cpv,
                                "keywords": settings.keywords,
                            })
                        }
                    },
                    last_run: s.last_run,
                    last_success_at: s.last_success_at,
                    high_water_mark: s.complete_until,
                    lag_seconds: s.complete_until.map(|t| (Utc::now() - t).num_seconds()),
                    window_in_progress: s.window,
                    releases: s.releases,
                    quarantined: s.quarantined,
                    last_error: s.last_error,
                });
            }
            Ok(data)
        })
        .await??;
    Ok(HttpResponse::Ok().json(SourceList { data }))
}

fn internal(e: sync_store::SyncStoreError) -> ApiError {
    ApiError::Internal(e.to_string())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Only the runs of this source.
    pub source: Option<String>,
    /// Runs per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `links.next` cursor of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub data: Vec<RunView>,
    pub links: Links,
}

/// Sync runs, newest first: status, holder, pages, releases new/updated/unchanged/filtered
/// out, rejects with reasons, retries and time spent waiting.
#[utoipa::path(
    tag = "sync",
    params(RunQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sync/runs")]
pub async fn runs(
    req: HttpRequest,
    query: web::Query<RunQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = i64::from(limit_param(query.limit.as_deref())?);
    let before = row_cursor(query.cursor.as_deref())?;
    let source = query.source.clone();
    let pool = state.pool.clone();
    let mut data = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            sync_store::list_runs(&mut conn, source.as_deref(), before, limit + 1).map_err(internal)
        })
        .await??;
    let more = data.len() as i64 > limit;
    data.truncate(limit as usize);
    let next = more
        .then(|| data.last().map(|r| r.id))
        .flatten()
        .map(|id| next_url(&req, &state.publisher.base_url(&req), &id.to_string()));
    Ok(HttpResponse::Ok().json(RunPage {
        data,
        links: Links { next },
    }))
}

/// One sync run with its full summary.
#[utoipa::path(
    tag = "sync",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sync/runs/{id}")]
pub async fn run(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = path.into_inner();
    let id: i64 = text
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no sync run {text}: run ids are numbers")))?;
    let pool = state.pool.clone();
    let found = state
        .blocking(move || -> Result<_, ApiError> {
            let mut conn = pool.get()?;
            sync_store::get_run(&mut conn, id).map_err(internal)
        })
        .await??;
    match found {
        Some(run) => Ok(HttpResponse::Ok().json(run)),
        None => Err(ApiError::NotFound(format!("no sync run {id}"))),
    }
}
