//! The OpenAPI 3.1 document, assembled from the handlers' annotations. `ocreg openapi`
//! prints it and `openapi/openapi.json` is a committed copy that a test keeps in step.

use actix_web::App;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_actix_web::AppExt;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ocreg: the open commissioning register",
        description = "Commissioning intentions, awarded contracts and outcomes of public-service \
commissioning for children and young people, published by partner agencies and synced from UK \
e-tendering and finance feeds, as OCDS 1.1 releases and records and as simple register views. \
Reads are public; writes need a bearer token scoped to the publishing organisation.",
        license(name = "Data: Open Government Licence v3.0", url = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"),
    ),
    tags(
        (name = "publishing", description = "Partner agencies publish releases with a bearer token scoped to their organisations"),
        (name = "ocds", description = "OCDS 1.1 releases and records (packages carry publisher, licence and version), and the ocreg OCDS extension they use"),
        (name = "register", description = "Register views for people: intentions, opportunities, contracts, outcomes; JSON or CSV, the same filters everywhere"),
        (name = "sync", description = "The feeds the register keeps itself current from (Find a Tender, Contracts Finder) and what each sync run did"),
        (name = "meta", description = "Service health and this documentation"),
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme that write operations name in their `security`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `ocreg token create --org <org-id>`, scoped to the organisations it may publish for",
                    ))
                    .build(),
            ),
        );
    }
}

/// The complete document, built from the same route table the server uses.
pub fn document() -> utoipa::openapi::OpenApi {
    App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts()
        .1
}

/// The document as committed in `openapi/openapi.json`: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
