use register::DatabaseUrl;
use serde_json::Value;

use crate::support::TestApp;

#[tokio::test]
async fn health_reports_version_and_backend() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let expected = app.db.as_ref().unwrap().url.backend().name();
    assert_eq!(body["database"], expected);
}

#[tokio::test]
async fn health_is_503_when_the_database_does_not_answer() {
    // Nothing listens on port 1 of the loopback address.
    let url: DatabaseUrl = "postgres://nobody@127.0.0.1:1/none".parse().unwrap();
    let app = TestApp::spawn_with_pool(url.lazy_pool(1), url.backend(), None);
    let response = app.get("/health").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 503);
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_routes_answer_problem_json() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/thing").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "no resource at /no/such/thing");
}
