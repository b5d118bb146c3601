use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::{ApiError, Problem},
    startup::AppState,
};

/// What `GET /health` answers when the service and its database work.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "version": "0.1.0", "database": "sqlite"}))]
pub struct Health {
    pub status: &'static str,
    /// The ocreg version serving the request.
    pub version: &'static str,
    /// The storage backend: `sqlite` or `postgres`.
    pub database: &'static str,
}

/// Service health: answers 200 only when the database answers a query.
#[utoipa::path(
    tag = "meta",
    responses(
        (status = 200, description = "The service and its database work", body = Health),
        (status = 503, description = "The database does not answer", body = Problem,
         content_type = "application/problem+json"),
    )
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    // Pool checkout and the query block, so they run on the blocking thread pool.
    web::block(move || -> Result<(), String> {
        // A health probe must answer quickly, so it waits less than ordinary requests.
        let mut conn = pool
            .get_timeout(std::time::Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        register::db::ping(&mut conn).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Unavailable)?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        database: state.backend.name(),
    }))
}
