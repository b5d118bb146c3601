//! Publishing over HTTP: POST /api/v1/releases, then reading back the record.

use register::{audit, tokens};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;

const BUYER: &str = "GB-LAE-MAN";

fn token(app: &TestApp, org: &str) -> String {
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    tokens::create(&mut conn, "test", &[org.to_owned()])
        .unwrap()
        .1
}

fn release(id: &str, date: &str, title: &str) -> Value {
    json!({
        "ocid": "ocds-b5fd17-0001",
        "id": id,
        "date": date,
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": BUYER, "name": "Manchester City Council"},
        "parties": [{"id": BUYER, "name": "Manchester City Council", "roles": ["buyer"]}],
        "tender": {"id": "0001", "title": title, "status": "active"}
    })
}

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/releases"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn record(app: &TestApp, ocid: &str, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/records/{ocid}{query}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn publish_then_read_the_record_back() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);
    let response = post(
        &app,
        Some(&secret),
        &release("r1", "2026-11-01T09:00:00Z", "First"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["releases"][0]["status"], "created");
    assert_eq!(body["releases"][0]["ocid"], "ocds-b5fd17-0001");

    let package = record(&app, "ocds-b5fd17-0001", "").await;
    assert_eq!(package["version"], "1.1");
    assert!(
        package["license"]
            .as_str()
            .unwrap()
            .contains("open-government-licence")
    );
    assert!(package["publisher"]["name"].is_string());
    let rec = &package["records"][0];
    assert_eq!(rec["compiledRelease"]["tender"]["title"], "First");
    assert_eq!(rec["compiledRelease"]["tag"], json!(["compiled"]));
    assert_eq!(rec["releases"].as_array().unwrap().len(), 1);
    assert!(rec.get("versionedRelease").is_none());

    // The record package validates as OCDS.
    let report = ocds::validate::Schema::core().validate(&package);
    assert!(report.is_valid(), "{report}");
}

#[tokio::test]
async fn a_new_release_recompiles_the_record_whatever_the_arrival_order() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);
    // The newer release arrives first; the older one must not win.
    post(
        &app,
        Some(&secret),
        &release("r2", "2026-11-02T09:00:00Z", "Newer"),
    )
    .await;
    let response = post(
        &app,
        Some(&secret),
        &release("r1", "2026-11-01T09:00:00Z", "Older"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let package = record(&app, "ocds-b5fd17-0001", "?versioned=true").await;
    let rec = &package["records"][0];
    assert_eq!(rec["compiledRelease"]["tender"]["title"], "Newer");
    assert_eq!(rec["releases"].as_array().unwrap().len(), 2);
    let history = rec["versionedRelease"]["tender"]["title"]
        .as_array()
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["value"], "Older");
    assert_eq!(history[1]["value"], "Newer");
}

#[tokio::test]
async fn republishing_is_idempotent_and_changed_content_conflicts() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);
    let first = release("r1", "2026-11-01T09:00:00Z", "First");
    assert_eq!(
        post(&app, Some(&secret), &first).await.status(),
        StatusCode::CREATED
    );
    let again = post(&app, Some(&secret), &first).await;
    assert_eq!(again.status(), StatusCode::OK);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["releases"][0]["status"], "unchanged");

    let changed = release("r1", "2026-11-01T09:00:00Z", "Changed");
    let conflict = post(&app, Some(&secret), &changed).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(
        conflict.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = conflict.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("r1"),
        "{problem}"
    );
    let package = record(&app, "ocds-b5fd17-0001", "").await;
    assert_eq!(
        package["records"][0]["compiledRelease"]["tender"]["title"],
        "First"
    );
}

#[tokio::test]
async fn a_failing_package_stores_nothing() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);
    post(
        &app,
        Some(&secret),
        &release("r1", "2026-11-01T09:00:00Z", "First"),
    )
    .await;
    let package = json!({
        "uri": "https://example.org/p", "publishedDate": "2026-11-03T00:00:00Z",
        "publisher": {"name": "Manchester"}, "version": "1.1",
        "releases": [
            release("r3", "2026-11-03T09:00:00Z", "Third"),
            release("r1", "2026-11-01T09:00:00Z", "Conflicting"),
        ]
    });
    assert_eq!(
        post(&app, Some(&secret), &package).await.status(),
        StatusCode::CONFLICT
    );
    let rec = record(&app, "ocds-b5fd17-0001", "").await;
    assert_eq!(
        rec["records"][0]["releases"].as_array().unwrap().len(),
        1,
        "r3 was rolled back"
    );
}

#[tokio::test]
async fn tokens_are_required_and_scoped_to_their_agency() {
    let app = TestApp::spawn().await;
    let body = release("r1", "2026-11-01T09:00:00Z", "First");
    let none = post(&app, None, &body).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key("www-authenticate"));
    let unknown = post(&app, Some("ocreg_0000"), &body).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    let other_agency = token(&app, "GB-NHS-QOP");
    let forbidden = post(&app, Some(&other_agency), &body).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let problem: Value = forbidden.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("buyer GB-LAE-MAN") && detail.contains("GB-NHS-QOP"),
        "{detail}"
    );

    // A funder may publish for a joint intention.
    let mut joint = body.clone();
    joint["parties"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "GB-NHS-QOP", "name": "NHS GM", "roles": ["funder"]}));
    assert_eq!(
        post(&app, Some(&other_agency), &joint).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn malformed_requests_get_precise_errors() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);

    let text = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&secret)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let broken = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&secret)
        .header("content-type", "application/json")
        .body("{\n  \"ocid\": \"ocds-b5fd17-0001\",\n  \"id\": \n}")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let problem: Value = broken.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("line 4"),
        "{problem}"
    );

    let mut invalid = release("r1", "not a date", "First");
    invalid["tender"]["status"] = json!("nonsense");
    let unprocessable = post(&app, Some(&secret), &invalid).await;
    assert_eq!(unprocessable.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = unprocessable.json().await.unwrap();
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/date") && pointers.contains(&"/tender/status"),
        "{problem}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let db = register::testing::TestDb::new();
    let mut state = api::AppState::new(db.pool(), db.url.backend());
    state.max_body_bytes = 1024;
    let app = TestApp::spawn_with_state(state, Some(db));
    let secret = token(&app, BUYER);
    let mut big = release("r1", "2026-11-01T09:00:00Z", "First");
    big["tender"]["description"] = json!("x".repeat(2048));
    let response = post(&app, Some(&secret), &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("1024"),
        "{problem}"
    );
}

#[tokio::test]
async fn publishing_is_audited_with_the_request_id() {
    let app = TestApp::spawn().await;
    let secret = token(&app, BUYER);
    let response = post(
        &app,
        Some(&secret),
        &release("r1", "2026-11-01T09:00:00Z", "First"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    let entries = audit::list(&mut conn, 10, None).unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "release.publish")
        .expect("an audit entry");
    assert_eq!(entry.subject_ids, vec!["ocds-b5fd17-0001/r1".to_owned()]);
    assert!(entry.actor.starts_with("token:"), "{}", entry.actor);
    assert!(entry.request_id.as_deref().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn unknown_records_are_404() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/records/ocds-b5fd17-none").await;
    assert_eq!(response.status(), 404);
}
