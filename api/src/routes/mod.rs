//! The route table: one module per resource.

pub mod commissioning;
pub mod downloads;
pub mod extension;
pub mod feeds;
pub mod health;
pub mod organisations;
pub mod records;
pub mod releases;
pub mod spend;
pub mod sync;
pub mod views;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Registers every documented route; used both by the server and to build the OpenAPI
/// document, so the two cannot disagree.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(extension::extension_documentation)
        .service(extension::extension_file)
        .service(downloads::list_downloads)
        .service(downloads::get_download)
        .route(
            "/downloads/{file:.*}",
            actix_web::web::head().to(downloads::head_download),
        )
        .service(downloads::catalog)
        .service(feeds::opportunities)
        .service(feeds::intentions)
        .service(feeds::expiring)
        .service(
            scope::scope("/api/v1")
                .service(releases::publish)
                .service(releases::list_releases)
                .service(records::list_records)
                .service(records::get_record)
                .service(views::intentions)
                .service(views::opportunities)
                .service(views::contracts)
                .service(views::outcomes)
                .service(views::expiring)
                .service(commissioning::contract_outcomes)
                .service(commissioning::overlaps)
                .service(organisations::list)
                .service(organisations::get)
                .service(spend::list)
                .service(spend::off_contract)
                .service(spend::contract_spend)
                .service(sync::sources)
                .service(sync::runs)
                .service(sync::run),
        );
}
