//! Errors as RFC 9457 problem details (`application/problem+json`), the one error shape of
//! every endpoint, with `errors: [{pointer, message}]` for input problems.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "the database does not answer: connection refused"
}))]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// One entry per problem found in the request, each locating it in the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One problem in the request: where (an RFC 6901 JSON pointer into the body, or the name of
/// a query parameter) and what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub pointer: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    Ambiguous {
        detail: String,
        candidates: Vec<String>,
    },
    #[error("the request body is larger than the {0} byte limit")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The client's rate limit is used up; it may try again after this many seconds (at
    /// least 1), sent as `Retry-After`.
    #[error("too many requests from this client: retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database does not answer: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            problem_type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(self.to_string()),
            errors: match self {
                Self::Unprocessable { errors, .. } => errors.clone(),
                Self::Ambiguous { candidates, .. } => candidates
                    .iter()
                    .map(|c| FieldError {
                        pointer: String::new(),
                        message: format!("matches {c}"),
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Ambiguous { .. } => StatusCode::MULTIPLE_CHOICES,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            // The cause goes to the log, not to the client.
            tracing::error!(cause = %cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"ocreg\""));
        }
        if let Self::TooManyRequests { retry_after_secs } = self {
            response.insert_header(("Retry-After", (*retry_after_secs).max(1)));
        }
        response.content_type(PROBLEM_JSON).json(self.problem())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<register::db::DbError> for ApiError {
    fn from(e: register::db::DbError) -> Self {
        match e {
            register::db::DbError::Pool(e) => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Answers unknown routes with a problem document rather than an empty 404.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no resource at {}", req.path())))
}
