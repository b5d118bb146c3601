use serde_json::Value;

use crate::support::TestApp;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

/// The committed document must be exactly what the code generates, so client generators and
/// reviewers see the API as it is.
#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = api::openapi::document_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is out of date: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn served_document_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["paths"]["/health"]["get"].is_object());
}
