//! Bearer-token authentication for writes. Reads are public.

use actix_web::{HttpRequest, http::header, web};
use register::tokens::{self, Authenticated};

use crate::{error::ApiError, startup::AppState};

/// The token holder making the request, or 401 saying what is missing or wrong.
pub async fn require_token(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Authenticated, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "publishing needs a token: send `Authorization: Bearer <token>` (an administrator creates one with `ocreg token create --org <org-id>`)".to_owned(),
            )
        })?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".to_owned()))?;
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".to_owned())
        })?
        .trim()
        .to_owned();
    let pool = state.pool.clone();
    state
        .blocking(move || -> Result<Option<Authenticated>, ApiError> {
            let mut conn = pool.get()?;
            tokens::authenticate(&mut conn, &secret).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await??
        .ok_or_else(|| ApiError::Unauthorized("the token is unknown or revoked".to_owned()))
}
