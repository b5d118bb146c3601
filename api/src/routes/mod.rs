//! The route table: one module per resource.

pub mod health;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route; used both by the server and to build the OpenAPI
/// document, so the two cannot disagree.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::health);
}
