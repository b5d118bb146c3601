//! The route table: one module per resource.

pub mod health;
pub mod organisations;
pub mod records;
pub mod releases;
pub mod views;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Registers every documented route; used both by the server and to build the OpenAPI
/// document, so the two cannot disagree.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(
        scope::scope("/api/v1")
            .service(releases::publish)
            .service(releases::list_releases)
            .service(records::list_records)
            .service(records::get_record)
            .service(views::intentions)
            .service(views::opportunities)
            .service(views::contracts)
            .service(views::outcomes)
            .service(organisations::list)
            .service(organisations::get),
    );
}
