//! Cross-cutting HTTP behaviour over real HTTP: ETag / If-None-Match, CORS, rate limiting.

use api::AppState;
use register::{testing::TestDb, tokens};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::support::TestApp;

const BUYER: &str = "GB-LAE-MAN";
const OCID: &str = "ocds-b5fd17-0001";
const ORIGIN: &str = "https://pages.example.org";

/// A client that neither asks for nor undoes compression, so headers are as the server sent.
fn plain_client() -> Client {
    Client::builder()
        .no_gzip()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn publish(app: &TestApp, id: &str, date: &str, title: &str) {
    let secret = {
        let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
        tokens::create(&mut conn, "test", &[BUYER.to_owned()])
            .unwrap()
            .1
    };
    let release = json!({
        "ocid": OCID,
        "id": id,
        "date": date,
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": BUYER, "name": "Manchester City Council"},
        "parties": [{"id": BUYER, "name": "Manchester City Council", "roles": ["buyer"]}],
        "tender": {"id": "0001", "title": title, "status": "active"}
    });
    let response = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(secret)
        .header("content-type", "application/json")
        .body(release.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

fn etag_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::ETAG)
        .unwrap_or_else(|| panic!("no ETag on {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn get_if_none_match(client: &Client, url: &str, tags: &str) -> reqwest::Response {
    client
        .get(url)
        .header(header::IF_NONE_MATCH, tags)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn openapi_document_gets_a_strong_etag_and_304_when_it_matches() {
    let app = TestApp::spawn().await;
    let client = plain_client();
    let url = app.url("/openapi.json");

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = etag_of(&first);
    // Strong: quoted, 128 bits in hex.
    assert!(!etag.starts_with("W/"), "{etag}");
    assert_eq!(etag.len(), 34, "{etag}");
    let body = first.bytes().await.unwrap();
    assert!(!body.is_empty());

    // Same representation, same tag.
    let again = client.get(&url).send().await.unwrap();
    assert_eq!(etag_of(&again), etag);

    let not_modified = get_if_none_match(&client, &url, &etag).await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag_of(&not_modified), etag);
    assert!(not_modified.headers().get(header::CONTENT_TYPE).is_none());
    assert!(not_modified.bytes().await.unwrap().is_empty());

    // A list, a weak form and `*` all match; other tags do not.
    for tags in [
        format!("\"nope\", {etag}"),
        format!("W/{etag}"),
        "*".to_owned(),
    ] {
        let response = get_if_none_match(&client, &url, &tags).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tags}");
    }
    let other = get_if_none_match(&client, &url, "\"0123\", W/\"4567\"").await;
    assert_eq!(other.status(), 200);
    assert_eq!(other.bytes().await.unwrap(), body);
}

#[tokio::test]
async fn compressed_answers_carry_the_tag_weak_and_revalidate() {
    let app = TestApp::spawn().await;
    let client = plain_client();
    let url = app.url("/openapi.json");
    let identity = etag_of(&client.get(&url).send().await.unwrap());

    let gzipped = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    let vary: Vec<_> = gzipped.headers().get_all(header::VARY).iter().collect();
    assert!(
        vary.iter()
            .any(|v| v.to_str().unwrap().eq_ignore_ascii_case("accept-encoding")),
        "{vary:?}"
    );
    let weak = etag_of(&gzipped);
    assert_eq!(weak, format!("W/{identity}"));

    // A client holding the gzip copy revalidates with the weak tag and gets it back.
    let not_modified = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, &weak)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag_of(&not_modified), weak);
    assert!(not_modified.bytes().await.unwrap().is_empty());

    // The test client (gzip on, decoded for us) revalidates with whatever it was given.
    let response = app.get("/openapi.json").await;
    let tag = etag_of(&response);
    let response = get_if_none_match(&app.client, &url, &tag).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn records_get_new_etags_when_their_representation_changes() {
    let app = TestApp::spawn().await;
    let client = plain_client();
    publish(&app, "r1", "2026-11-01T09:00:00Z", "First").await;
    let url = app.url(&format!("/api/v1/records/{OCID}"));

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = etag_of(&first);
    assert_eq!(
        get_if_none_match(&client, &url, &etag).await.status(),
        StatusCode::NOT_MODIFIED
    );

    // Another representation of the same record: another tag.
    let versioned = client
        .get(format!("{url}?versioned=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 200);
    assert_ne!(etag_of(&versioned), etag);

    // The record changes: the old tag no longer matches, the new answer has a new tag.
    publish(&app, "r2", "2026-11-02T09:00:00Z", "Second").await;
    let changed = get_if_none_match(&client, &url, &etag).await;
    assert_eq!(changed.status(), 200);
    let new_etag = etag_of(&changed);
    assert_ne!(new_etag, etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(
        body["records"][0]["compiledRelease"]["tender"]["title"],
        "Second"
    );
}

#[tokio::test]
async fn health_errors_and_writes_get_no_etag() {
    let app = TestApp::spawn().await;
    let client = plain_client();
    let health = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().get(header::ETAG).is_none());
    // Even with `*`, the probe always gets the current answer.
    let health = get_if_none_match(&client, &app.url("/health"), "*").await;
    assert_eq!(health.status(), 200);

    let missing = client
        .get(app.url("/api/v1/records/ocds-none"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get(header::ETAG).is_none());

    let write = client
        .post(app.url("/api/v1/releases"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
    assert!(write.headers().get(header::ETAG).is_none());
}

#[tokio::test]
async fn reads_are_open_to_any_origin_and_writes_are_not() {
    let app = TestApp::spawn().await;
    let client = plain_client();

    let read = client
        .get(app.url("/openapi.json"))
        .header(header::ORIGIN, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let exposed = read.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    // Error answers to reads are readable by pages too.
    let missing = client
        .get(app.url("/api/v1/records/ocds-none"))
        .header(header::ORIGIN, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");

    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            app.url(&format!("/api/v1/records/{OCID}")),
        )
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "if-none-match, x-requested-with",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let h = preflight.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_METHODS],
        "GET, HEAD, OPTIONS"
    );
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_HEADERS],
        "if-none-match, x-requested-with"
    );
    assert!(h.contains_key(header::ACCESS_CONTROL_MAX_AGE));

    // Writes: no grant on the answer, none at preflight.
    let write = client
        .post(app.url("/api/v1/releases"))
        .header(header::ORIGIN, ORIGIN)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
    assert!(
        write
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    let preflight = client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/releases"))
        .header(header::ORIGIN, ORIGIN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(
        preflight
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    assert!(
        preflight
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_METHODS)
            .is_none()
    );
}

fn limited_app(per_second: u32, burst: u32) -> TestApp {
    let db = TestDb::new();
    let mut state = AppState::new(db.pool(), db.url.backend());
    state.rate_limit_per_second = per_second;
    state.rate_limit_burst = burst;
    TestApp::spawn_with_state(state, Some(db))
}

#[tokio::test]
async fn over_the_limit_a_client_gets_429_with_retry_after() {
    // One token a second, two at once: the third quick request is refused.
    let app = limited_app(1, 2);
    let client = plain_client();
    let url = app.url("/openapi.json");
    for _ in 0..2 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    let refused = client
        .get(&url)
        .header(header::ORIGIN, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = refused.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let retry_after: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The next token is under a second away; whole seconds, rounded up.
    assert_eq!(retry_after, 1);
    // A page can read the refusal and when to come back.
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["title"], "Too Many Requests");
    assert!(problem["detail"].is_string());

    // Every route is limited, writes included ...
    let write = client
        .post(app.url("/api/v1/releases"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... but not the health probe.
    for _ in 0..5 {
        assert_eq!(app.get("/health").await.status(), 200);
    }

    // The bucket refills: after the wait, the client is served again.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn zero_turns_rate_limiting_off() {
    let app = limited_app(0, 0);
    for _ in 0..30 {
        assert_eq!(app.get("/api/v1/records/ocds-none").await.status(), 404);
    }
}

#[tokio::test]
async fn default_limit_allows_a_burst_of_a_hundred() {
    let app = TestApp::spawn().await;
    let client = plain_client();
    for _ in 0..100 {
        let status = client
            .get(app.url("/no/such/thing"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404);
    }
}
