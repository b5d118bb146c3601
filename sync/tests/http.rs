//! The feed client against the scripted server, and the OCDS feed replayer.
//! Run with `cargo test -p sync --features testing`.
#![cfg(feature = "testing")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sync::http::{FeedClient, FetchError, Fetched, HttpPolicy};
use sync::testing::{FeedServer, FeedStyle, OcdsFeed, Reply, Request};

/// Retries fast enough for tests; each test sets what it exercises.
fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_attempts: 4,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        request_interval: Duration::ZERO,
        retry_after_max: Duration::from_secs(5),
        rate_limited_wait: Duration::from_millis(200),
        user_agent: "ocreg-sync-test".to_string(),
    }
}

fn client(policy: HttpPolicy) -> FeedClient {
    FeedClient::new(policy).expect("client")
}

fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn get_json(client: &FeedClient, url: &str) -> Result<Fetched<Value>, FetchError> {
    client.get_parsed(url, parse_json).await
}

fn ok_server() -> FeedServer {
    FeedServer::start(|_| Reply::Json(br#"{"ok":true}"#.to_vec()))
}

fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// Gap between the arrivals of two requests. Arrival can lag the client's start by a little more
/// for one request than another (the first also pays the TCP connect), hence the callers' slack.
fn gap(requests: &[Request], i: usize) -> Duration {
    requests[i]
        .received
        .duration_since(requests[i - 1].received)
}

// ---- retries -------------------------------------------------------------------------------

#[tokio::test]
async fn http429_with_retry_after_waits_then_succeeds() {
    let server = ok_server();
    server.inject(
        0,
        status(
            429,
            &[("Retry-After", "1"), ("Content-Type", "text/plain")],
            "slow down",
        ),
    );
    let url = format!("{}/feed", server.base_url());
    let fetched = get_json(&client(policy()), &url).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.value, json!({"ok": true}));
    assert!(
        fetched.waited >= Duration::from_secs(1),
        "{:?}",
        fetched.waited
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(gap(&requests, 1) >= Duration::from_millis(950));
}

#[tokio::test]
async fn two_server_errors_then_success_takes_three_attempts() {
    let server = ok_server();
    server.inject(0, status(500, &[], "boom"));
    server.inject(1, status(502, &[], "bad gateway"));
    let url = format!("{}/feed", server.base_url());
    let fetched = get_json(&client(policy()), &url).await.unwrap();
    assert_eq!(fetched.attempts, 3);
    assert_eq!(fetched.url, url);
    assert_eq!(fetched.content_type.as_deref(), Some("application/json"));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_stall_longer_than_the_timeout_is_retried() {
    let server = ok_server();
    server.inject(0, Reply::Stall(Duration::from_secs(3)));
    let url = format!("{}/feed", server.base_url());
    let fetched = get_json(
        &client(HttpPolicy {
            timeout: Duration::from_millis(300),
            ..policy()
        }),
        &url,
    )
    .await
    .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.value, json!({"ok": true}));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The client gave up on the stalled request after its timeout, not after the stall ended.
    assert!(gap(&requests, 1) >= Duration::from_millis(280));
    assert!(gap(&requests, 1) < Duration::from_secs(3));
}

#[tokio::test]
async fn a_truncated_body_is_fetched_again_in_full() {
    let full = serde_json::to_vec(&json!({"releases": (0..200).collect::<Vec<u32>>()})).unwrap();
    let body = full.clone();
    let server = FeedServer::start(move |_| Reply::Json(body.clone()));
    server.inject(
        0,
        Reply::Truncated {
            body: full.clone(),
            keep: full.len() / 2,
        },
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_parse = Arc::clone(&seen);
    let url = format!("{}/feed", server.base_url());
    let fetched = client(policy())
        .get_parsed(&url, move |body| {
            seen_by_parse.lock().unwrap().push(body.to_vec());
            parse_json(body)
        })
        .await
        .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.body, full);
    assert_eq!(server.requests().len(), 2);
    // The half body failed in transport; parse only ever saw the complete one.
    assert_eq!(*seen.lock().unwrap(), vec![full]);
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_fetched_again() {
    let server = ok_server();
    server.inject(0, status(200, &[], r#"{"releases": [1, 2"#));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_parse = Arc::clone(&seen);
    let url = format!("{}/feed", server.base_url());
    let fetched = client(policy())
        .get_parsed(&url, move |body| {
            seen_by_parse.lock().unwrap().push(body.len());
            parse_json(body)
        })
        .await
        .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.value, json!({"ok": true}));
    assert_eq!(*seen.lock().unwrap(), vec![18, 11]);
}

#[tokio::test]
async fn a_body_that_never_parses_is_reported_as_transient() {
    let server = FeedServer::start(|_| status(200, &[], "{\"n\": 000}"));
    let url = format!("{}/feed", server.base_url());
    let error = get_json(&client(policy()), &url).await.unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Unparseable {
                status: 200,
                attempts: 4,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_transient());
    assert!(error.to_string().contains(&url));
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn persistent_server_errors_exhaust_the_attempts() {
    let server = FeedServer::start(|_| status(500, &[], "Internal error"));
    let url = format!("{}/api/1.0/ocdsReleasePackages?limit=5", server.base_url());
    let error = get_json(
        &client(HttpPolicy {
            max_attempts: 3,
            ..policy()
        }),
        &url,
    )
    .await
    .unwrap_err();
    assert!(error.is_transient());
    assert!(
        matches!(
            error,
            FetchError::Exhausted {
                attempts: 3,
                last_status: Some(500),
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("500"), "{message}");
    assert!(message.contains("3 attempts"), "{message}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn not_found_fails_at_once_with_the_start_of_the_body() {
    let long_tail = "x".repeat(1000);
    let body = format!("No such notice{long_tail}");
    let server = FeedServer::start(move |_| status(404, &[("Content-Type", "text/plain")], &body));
    let url = format!(
        "{}/api/1.0/ocdsReleasePackages/999999-2026",
        server.base_url()
    );
    let error = get_json(&client(policy()), &url).await.unwrap_err();
    assert!(!error.is_transient());
    let message = error.to_string();
    assert!(
        message.contains(&url) && message.contains("404"),
        "{message}"
    );
    assert!(message.contains("1 attempt"), "{message}");
    assert!(message.contains("No such notice"), "{message}");
    // Only the first 300 characters of the body are kept.
    assert!(message.contains(&"x".repeat(300 - "No such notice".len())));
    assert!(!message.contains(&"x".repeat(301 - "No such notice".len())));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // A port that was just free: bind, note, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/feed");
    let error = get_json(
        &client(HttpPolicy {
            max_attempts: 2,
            ..policy()
        }),
        &url,
    )
    .await
    .unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(matches!(
        error,
        FetchError::Exhausted {
            attempts: 2,
            last_status: None,
            ..
        }
    ));
}

#[tokio::test]
async fn an_invalid_url_fails_without_retrying() {
    let error = get_json(&client(policy()), "not a url").await.unwrap_err();
    assert!(!error.is_transient());
    assert!(
        matches!(error, FetchError::Invalid { attempts: 1, .. }),
        "{error:?}"
    );
}

// ---- rate limits ---------------------------------------------------------------------------

const CF_RATE_LIMIT_PAGE: &str = "<html><head><title>Request forbidden</title></head><body>\
    <h1>Request forbidden</h1><p>The request rate limit may have been exceeded. \
    Please wait before making further requests.</p></body></html>";

#[tokio::test]
async fn contracts_finder_rate_limit_page_waits_then_succeeds() {
    let server = ok_server();
    server.inject(
        0,
        status(403, &[("Content-Type", "text/html")], CF_RATE_LIMIT_PAGE),
    );
    let url = format!("{}/Published/Notices/OCDS/Search", server.base_url());
    let fetched = get_json(&client(policy()), &url).await.unwrap();
    assert_eq!(fetched.attempts, 2);
    assert!(
        fetched.waited >= Duration::from_millis(200),
        "{:?}",
        fetched.waited
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(gap(&requests, 1) >= Duration::from_millis(180));
}

#[tokio::test]
async fn a_plain_forbidden_is_permanent() {
    let server = FeedServer::start(|_| {
        status(
            403,
            &[("Content-Type", "text/html")],
            "<h1>Forbidden</h1>Access denied",
        )
    });
    let url = format!("{}/Published/Notices/OCDS/Search", server.base_url());
    let error = get_json(&client(policy()), &url).await.unwrap_err();
    assert!(!error.is_transient());
    assert!(matches!(
        error,
        FetchError::Rejected {
            status: 403,
            attempts: 1,
            ..
        }
    ));
    assert_eq!(server.requests().len(), 1);
}

/// `samples/fts_http429_rate_limit_response.txt`, a real Find a Tender 429.
#[tokio::test]
async fn the_real_find_a_tender_429_is_honoured_with_a_capped_wait() {
    let server = ok_server();
    server.inject(
        0,
        status(
            429,
            &[
                ("server", "awselb/2.0"),
                ("date", "Wed, 12 Aug 2026 08:38:39 GMT"),
                ("retry-after", "120"),
                ("content-type", "text/plain"),
            ],
            "Rate limit of 12 exceeded. Please retry after 120 seconds.",
        ),
    );
    let parsed = Arc::new(Mutex::new(Vec::new()));
    let parsed_by_callback = Arc::clone(&parsed);
    let url = format!(
        "{}/api/1.0/ocdsReleasePackages?updatedFrom=2026-08-12T00:00:00&updatedTo=2026-08-12T06:00:00",
        server.base_url()
    );
    let fetched = client(HttpPolicy {
        retry_after_max: Duration::from_secs(1),
        ..policy()
    })
    .get_parsed(&url, move |body| {
        parsed_by_callback.lock().unwrap().push(body.to_vec());
        parse_json(body)
    })
    .await
    .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert!(
        fetched.waited >= Duration::from_secs(1),
        "{:?}",
        fetched.waited
    );
    assert!(
        fetched.waited < Duration::from_secs(30),
        "{:?}",
        fetched.waited
    );
    // The plain-text 429 body is never handed to the JSON parser.
    assert_eq!(*parsed.lock().unwrap(), vec![br#"{"ok":true}"#.to_vec()]);
}

#[tokio::test]
async fn request_interval_spaces_request_starts() {
    let server = ok_server();
    let client = client(HttpPolicy {
        request_interval: Duration::from_millis(150),
        ..policy()
    });
    let url = format!("{}/feed", server.base_url());
    let mut waited = Duration::ZERO;
    for _ in 0..4 {
        waited += get_json(&client, &url).await.unwrap().waited;
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    for i in 1..4 {
        assert!(
            gap(&requests, i) >= Duration::from_millis(140),
            "gap {i}: {:?}",
            gap(&requests, i)
        );
    }
    // The first request does not wait; the three others roughly an interval each.
    assert!(waited >= Duration::from_millis(3 * 140), "{waited:?}");
}

#[tokio::test]
async fn request_interval_is_shared_by_concurrent_calls_on_clones() {
    let server = ok_server();
    let client = client(HttpPolicy {
        request_interval: Duration::from_millis(150),
        ..policy()
    });
    let url = format!("{}/feed", server.base_url());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move { get_json(&client, &url).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut arrivals: Vec<_> = server.requests().iter().map(|r| r.received).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 4);
    for pair in arrivals.windows(2) {
        assert!(pair[1].duration_since(pair[0]) >= Duration::from_millis(140));
    }
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let payload = serde_json::to_vec(&json!({"text": "children's services ".repeat(500)})).unwrap();
    let body = payload.clone();
    let server = FeedServer::start(move |_| Reply::Json(body.clone()));
    let url = format!("{}/feed", server.base_url());
    let fetched = get_json(&client(policy()), &url).await.unwrap();
    assert_eq!(fetched.body, payload);
    let accept = server.requests()[0]
        .header("accept-encoding")
        .unwrap_or_default()
        .to_string();
    assert!(accept.contains("gzip"), "{accept}");

    // The same reply on the wire really is gzip, so the client did the decoding.
    let mut stream = TcpStream::connect(server.base_url().trim_start_matches("http://")).unwrap();
    stream
        .write_all(
            b"GET /feed HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert_eq!(&raw[split + 4..split + 6], &[0x1f, 0x8b]);
    assert!(raw.len() - split - 4 < payload.len() / 10);
}

#[tokio::test]
async fn concurrent_requests_are_answered_in_parallel() {
    let server = FeedServer::start(|_| {
        std::thread::sleep(Duration::from_millis(200));
        Reply::Json(b"{}".to_vec())
    });
    let client = client(policy());
    let url = format!("{}/slow", server.base_url());
    let (a, b, c) = tokio::join!(
        get_json(&client, &url),
        get_json(&client, &url),
        get_json(&client, &url)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(server.max_in_flight(), 3);
}

// ---- the OCDS feed replayer ----------------------------------------------------------------

fn release(n: usize, date: &str) -> Value {
    json!({
        "ocid": format!("ocds-h6vhtk-{n:06x}"),
        "id": format!("{n:06}-2026"),
        "date": date,
        "tag": ["tender"],
    })
}

/// Releases an hour apart from 2026-07-01T00:00Z, dated in BST like the real feed, given oldest
/// first so that the feed has to sort them.
fn hourly_releases(count: usize) -> Vec<Value> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-07-01T00:00:00Z").unwrap();
    (0..count)
        .map(|n| {
            let at = start + chrono::Duration::hours(n as i64);
            let bst = at.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
            release(n, &bst.to_rfc3339())
        })
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn walking_a_find_a_tender_window_visits_each_release_once_newest_first() {
    let server = OcdsFeed::new(FeedStyle::FindATender, hourly_releases(100))
        .with_page_size(7)
        .serve();
    let client = client(policy());
    // London 2026-07-01T11:00 .. 2026-07-03T05:00 is UTC 10:00 on the 1st .. 04:00 on the 3rd,
    // i.e. releases 10..=52 (the upper bound is inclusive).
    let first = format!(
        "{}/api/1.0/ocdsReleasePackages?updatedFrom=2026-07-01T11:00:00&updatedTo=2026-07-03T05:00:00",
        server.base_url()
    );
    let mut url = Some(first);
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(next) = url.take() {
        let page = get_json(&client, &next).await.unwrap().value;
        pages += 1;
        seen.extend(ids(&page));
        match page.get("links") {
            Some(links) => {
                let link = links["next"].as_str().unwrap();
                assert!(link.starts_with(&server.base_url()), "{link}");
                assert!(link.contains("updatedFrom=2026-07-01T11:00:00"), "{link}");
                assert_eq!(page["releases"].as_array().unwrap().len(), 7);
                url = Some(link.to_string());
            }
            None => assert!(!page["releases"].as_array().unwrap().is_empty()),
        }
        assert_eq!(page["uri"].as_str(), Some(next.as_str()));
        assert_eq!(page["version"], "1.1");
        assert_eq!(page["publisher"]["name"], "Cabinet Office");
    }
    let expected: Vec<String> = (10..=52).rev().map(|n| format!("{n:06}-2026")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 43usize.div_ceil(7));
    // Every cursor only uses the characters the real service documents.
    for request in server.requests() {
        if let Some(cursor) = request.param("cursor") {
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'='),
                "{cursor}"
            );
        }
    }
}

#[tokio::test]
async fn the_last_page_has_no_links_key_and_an_empty_window_is_an_empty_page() {
    let server = OcdsFeed::new(FeedStyle::FindATender, hourly_releases(5)).serve();
    let client = client(policy());
    let base = format!("{}/api/1.0/ocdsReleasePackages", server.base_url());

    let fetched = get_json(
        &client,
        &format!("{base}?updatedFrom=2026-07-01T00:00:00&updatedTo=2026-07-02T00:00:00&limit=5"),
    )
    .await
    .unwrap();
    assert_eq!(ids(&fetched.value).len(), 5);
    assert!(fetched.value.get("links").is_none());
    assert!(
        !String::from_utf8(fetched.body)
            .unwrap()
            .contains("\"links\"")
    );

    let empty = get_json(
        &client,
        &format!("{base}?updatedFrom=2025-01-01T00:00:00&updatedTo=2025-01-02T00:00:00"),
    )
    .await
    .unwrap();
    assert_eq!(empty.status, 200);
    assert_eq!(empty.value["releases"], json!([]));
    assert!(empty.value.get("links").is_none());
}

#[tokio::test]
async fn find_a_tender_windows_are_london_local_time() {
    let server = OcdsFeed::new(
        FeedStyle::FindATender,
        vec![
            release(1, "2026-07-01T10:30:00Z"),
            release(2, "2026-07-01T11:30:00Z"),
            release(3, "2026-01-15T11:30:00Z"),
        ],
    )
    .serve();
    let client = client(policy());
    let window = |from: &str, to: &str| {
        format!(
            "{}/api/1.0/ocdsReleasePackages?updatedFrom={from}&updatedTo={to}",
            server.base_url()
        )
    };
    // 10:30Z is 11:30 BST: inside; 11:30Z is 12:30 BST: outside, although it is inside in UTC.
    let summer = get_json(
        &client,
        &window("2026-07-01T11:00:00", "2026-07-01T12:00:00"),
    )
    .await
    .unwrap();
    assert_eq!(ids(&summer.value), ["000001-2026"]);
    // The trailing Z is ignored, not taken as UTC.
    let with_z = get_json(
        &client,
        &window("2026-07-01T11:00:00Z", "2026-07-01T12:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(ids(&with_z.value), ["000001-2026"]);
    // In winter London is on UTC.
    let winter = get_json(
        &client,
        &window("2026-01-15T11:00:00", "2026-01-15T12:00:00"),
    )
    .await
    .unwrap();
    assert_eq!(ids(&winter.value), ["000003-2026"]);
}

#[tokio::test]
async fn release_text_is_served_byte_for_byte() {
    let text = r#"{"ocid":"ocds-h6vhtk-000001","id":"000001-2026","date":"2026-07-01T11:56:48+01:00","tender":{"value":{"amountGross":120000.50,"currency":"GBP"},"zeta":1,"alpha":2}}"#;
    let value: Value = serde_json::from_str(text).unwrap();
    let server = OcdsFeed::new(FeedStyle::FindATender, vec![value]).serve();
    let url = format!(
        "{}/api/1.0/ocdsReleasePackages?updatedFrom=2026-07-01T00:00:00&updatedTo=2026-07-02T00:00:00",
        server.base_url()
    );
    let fetched = get_json(&client(policy()), &url).await.unwrap();
    let body = String::from_utf8(fetched.body).unwrap();
    assert!(body.contains(&format!("\"releases\":[{text}]")), "{body}");
}

async fn rejection(client: &FeedClient, url: &str) -> (u16, String) {
    match get_json(client, url).await {
        Err(FetchError::Rejected {
            status,
            body,
            attempts: 1,
            ..
        }) => (status, body),
        other => panic!("{url}: expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn find_a_tender_rejects_bad_parameters() {
    let server = OcdsFeed::new(FeedStyle::FindATender, hourly_releases(3)).serve();
    let client = client(policy());
    let base = format!("{}/api/1.0/ocdsReleasePackages", server.base_url());
    let window = "updatedFrom=2026-07-01T00:00:00&updatedTo=2026-07-02T00:00:00";

    let (code, body) = rejection(&client, &format!("{base}?{window}&limit=101")).await;
    assert_eq!(
        (code, body.as_str()),
        (400, "'limit' must not exceed the maximum value")
    );
    assert_eq!(
        rejection(&client, &format!("{base}?{window}&limit=0"))
            .await
            .0,
        400
    );

    let (code, body) = rejection(&client, &format!("{base}?{window}&page=2")).await;
    assert_eq!(code, 400);
    assert!(body.contains("'page'"), "{body}");
    assert!(
        body.contains("updatedFrom, updatedTo, limit, cursor, stages"),
        "{body}"
    );

    for bad in [
        "updatedFrom=2026-07-01&updatedTo=2026-07-02T00:00:00",
        "updatedFrom=2026-07-01T00:00&updatedTo=2026-07-02T00:00:00",
        "updatedFrom=2026-07-01T00:00:00",
        "updatedTo=2026-07-02T00:00:00",
    ] {
        let (code, body) = rejection(&client, &format!("{base}?{bad}")).await;
        assert_eq!(code, 400, "{bad}");
        assert!(body.contains("updated"), "{bad}: {body}");
    }

    // A cursor is only valid for the window it was issued in.
    let page = get_json(&client, &format!("{base}?{window}&limit=1"))
        .await
        .unwrap()
        .value;
    let next = page["links"]["next"].as_str().unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    let other_window = "updatedFrom=2026-07-01T00:00:00&updatedTo=2026-07-03T00:00:00";
    let (code, _) = rejection(&client, &format!("{base}?{other_window}&cursor={cursor}")).await;
    assert_eq!(code, 400);
    assert_eq!(
        rejection(&client, &format!("{base}?{window}&cursor=NOPE"))
            .await
            .0,
        400
    );

    // Wrong path: 404.
    assert_eq!(
        rejection(&client, &format!("{}/api/1.0/other", server.base_url()))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn contracts_finder_search_pages_with_offsets_and_ignores_stages() {
    let server = OcdsFeed::new(FeedStyle::ContractsFinder, hourly_releases(30))
        .with_page_size(4)
        .serve();
    let client = client(policy());
    // 2026-07-01T05:00:00+01:00 is 04:00Z; the upper bound has no offset, so it is UTC.
    let first = format!(
        "{}/Published/Notices/OCDS/Search?publishedFrom=2026-07-01T05%3A00%3A00%2B01%3A00&publishedTo=2026-07-01T13:00:00&stages=tender",
        server.base_url()
    );
    let mut url = Some(first);
    let mut seen = Vec::new();
    while let Some(next) = url.take() {
        let page = get_json(&client, &next).await.unwrap().value;
        seen.extend(ids(&page));
        url = page
            .get("links")
            .map(|links| links["next"].as_str().unwrap().to_string());
    }
    let expected: Vec<String> = (4..=13).rev().map(|n| format!("{n:06}-2026")).collect();
    assert_eq!(seen, expected);

    // Date-only bounds; no bounds at all is the whole feed.
    let day = format!(
        "{}/Published/Notices/OCDS/Search?publishedFrom=2026-07-02&publishedTo=2026-07-02&limit=100",
        server.base_url()
    );
    assert_eq!(
        ids(&get_json(&client, &day).await.unwrap().value),
        ["000024-2026"]
    );
    let all = format!(
        "{}/Published/Notices/OCDS/Search?limit=100",
        server.base_url()
    );
    assert_eq!(ids(&get_json(&client, &all).await.unwrap().value).len(), 30);

    let bad = format!(
        "{}/Published/Notices/OCDS/Search?publishedFrom=yesterday",
        server.base_url()
    );
    assert_eq!(rejection(&client, &bad).await.0, 400);
}
