//! Atom feeds for providers over HTTP, parsed with feed-rs (another implementation than the
//! atom_syndication writer): the filters of the views, entries' content, conditional GET,
//! problems for bad parameters, XML escaping.

use feed_rs::model::{Entry, Feed, FeedType};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::support::TestApp;

const COUNCIL: &str = "GB-LAE-WYV";
const COUNCIL_NAME: &str = "Wyvern County Council";
const NHS: &str = "GB-NHS-QWY";
const POLICE: &str = "GB-GOR-PC0042";
const PROVIDER: &str = "GB-CHC-7654321";

fn token(app: &TestApp, org: &str) -> String {
    app.token(&[org])
}

async fn publish(app: &TestApp, token: &str, release: &Value) {
    let response = app.publish(token, release).await;
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap()
    );
}

/// `days` from now, as OCDS writes a date-time.
fn from_now(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%dT12:00:00Z")
        .to_string()
}

/// GETs a feed, checks it is Atom and parses it with feed-rs.
async fn feed(app: &TestApp, path: &str) -> Feed {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    let body = response.bytes().await.unwrap();
    let parsed = feed_rs::parser::parse(&body[..]).unwrap_or_else(|e| {
        panic!(
            "{path} does not parse: {e}\n{}",
            String::from_utf8_lossy(&body)
        )
    });
    assert_eq!(parsed.feed_type, FeedType::Atom);
    parsed
}

fn record_url(app: &TestApp, ocid: &str) -> String {
    app.url(&format!("/api/v1/records/{ocid}"))
}

/// The record URLs of the entries, in feed order.
fn ids(feed: &Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.id.clone()).collect()
}

fn title(entry: &Entry) -> &str {
    &entry.title.as_ref().expect("entry title").content
}

fn summary(entry: &Entry) -> &str {
    &entry.summary.as_ref().expect("entry summary").content
}

/// An open tender of the council for services under `cpv` in `region`, closing in
/// `deadline_days`.
fn opportunity(ocid: &str, title: &str, cpv: &str, region: &str, deadline_days: i64) -> Value {
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-tender"),
        "date": from_now(-1),
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL, "name": COUNCIL_NAME},
        "parties": [{"id": COUNCIL, "name": COUNCIL_NAME, "roles": ["buyer"],
                     "address": {"region": region}}],
        "tender": {
            "id": ocid,
            "title": title,
            "description": format!("{title}: a service for children and young people"),
            "status": "active",
            "value": {"amount": 250000, "currency": "GBP"},
            "submissionMethod": ["electronicSubmission"],
            "submissionMethodDetails": "Register on the Wyvern e-tendering portal and respond there",
            "tenderPeriod": {"endDate": from_now(deadline_days)},
            "items": [{"id": "1",
                       "classification": {"scheme": "CPV", "id": cpv, "description": format!("Services {cpv}")},
                       "deliveryAddresses": [{"region": region}]}]
        }
    })
}

/// A contract of the council with the provider, ending in `end_days`.
fn contract(ocid: &str, title: &str, end_days: i64) -> Value {
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-contract"),
        "date": from_now(-400),
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL, "name": COUNCIL_NAME},
        "parties": [
            {"id": COUNCIL, "name": COUNCIL_NAME, "roles": ["buyer"]},
            {"id": PROVIDER, "name": "Bright Futures Trust", "roles": ["supplier"]}
        ],
        "tender": {"id": ocid, "title": title, "status": "complete",
                   "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "85312400"},
                              "deliveryAddresses": [{"region": "Wyvern"}]}]},
        "awards": [{"id": "a1", "status": "active",
                    "suppliers": [{"id": PROVIDER, "name": "Bright Futures Trust"}]}],
        "contracts": [{"id": "c1", "awardID": "a1", "status": "active", "title": title,
                       "value": {"amount": 120000, "currency": "GBP"},
                       "period": {"startDate": from_now(-400), "endDate": from_now(end_days)}}]
    })
}

/// A joint intention of the council, the NHS body and the police with a pooled budget.
fn joint_intention(ocid: &str) -> Value {
    let share = |id: &str, org: &str, amount: f64| {
        json!({"id": id, "description": format!("Contribution of {org}"),
               "amount": {"amount": amount, "currency": "GBP"},
               "sourceParty": {"id": org}})
    };
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-planning"),
        "date": from_now(-2),
        "tag": ["planning"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL, "name": COUNCIL_NAME},
        "parties": [
            {"id": COUNCIL, "name": COUNCIL_NAME, "roles": ["buyer", "funder"]},
            {"id": NHS, "name": "NHS Wyvern ICB", "roles": ["funder"]},
            {"id": POLICE, "name": "Wyvern Police and Crime Commissioner", "roles": ["funder"]}
        ],
        "planning": {
            "rationale": "Young people at risk of exploitation are supported by three services.",
            "commissioning": {"level": "strategic", "joint": true, "pooledBudget": true,
                              "outcomeAreas": ["Young people are safe from exploitation"]},
            "budget": {
                "amount": {"amount": 1000000, "currency": "GBP"},
                "budgetBreakdown": [
                    share("1", COUNCIL, 500000.0),
                    share("2", NHS, 300000.0),
                    share("3", POLICE, 200000.0)
                ]
            }
        },
        "tender": {
            "id": ocid,
            "title": "Exploitation prevention service for young people",
            "status": "planned",
            "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "85312400"},
                       "deliveryAddresses": [{"region": "Wyvern"}]}]
        }
    })
}

#[tokio::test]
async fn a_new_opportunity_appears_in_matching_feeds_only_newest_first() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let first = "ocds-b5fd17-feed-1";
    let second = "ocds-b5fd17-feed-2";
    let closed = "ocds-b5fd17-feed-3";
    publish(
        &app,
        &council,
        &opportunity(first, "Young carers support", "85312400", "Wyvern", 30),
    )
    .await;
    // A tender whose deadline has passed is no opportunity (the view's default).
    publish(
        &app,
        &council,
        &opportunity(closed, "Closed mentoring scheme", "85312400", "Wyvern", -3),
    )
    .await;

    let matching = feed(&app, "/feeds/opportunities.atom?cpv=8531&area=wyvern").await;
    assert_eq!(ids(&matching), [record_url(&app, first)]);
    for other in [
        "/feeds/opportunities.atom?cpv=4523",
        "/feeds/opportunities.atom?q=bridge%20maintenance",
        "/feeds/opportunities.atom?area=essex",
    ] {
        assert!(feed(&app, other).await.entries.is_empty(), "{other}");
    }

    // Feed-level metadata.
    let self_url = app.url("/feeds/opportunities.atom?cpv=8531&area=wyvern");
    assert_eq!(matching.id, self_url);
    let feed_title = &matching.title.as_ref().unwrap().content;
    assert!(
        feed_title.starts_with("ocreg opportunities"),
        "{feed_title}"
    );
    assert!(
        feed_title.contains("CPV 8531") && feed_title.contains("wyvern"),
        "{feed_title}"
    );
    assert!(
        matching
            .links
            .iter()
            .any(|l| l.rel.as_deref() == Some("self") && l.href == self_url)
    );
    assert_eq!(matching.generator.as_ref().unwrap().content, "ocreg");
    assert!(
        matching
            .rights
            .as_ref()
            .unwrap()
            .content
            .contains("Open Government Licence v3.0")
    );

    // The entry.
    let entry = &matching.entries[0];
    assert_eq!(title(entry), "Young carers support");
    let alternate = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"))
        .expect("an alternate link");
    assert_eq!(alternate.href, record_url(&app, first));
    assert_eq!(alternate.media_type.as_deref(), Some("application/json"));
    let text = summary(entry);
    assert!(
        text.contains("a service for children and young people"),
        "{text}"
    );
    assert!(text.contains("Deadline: "), "{text}");
    assert!(
        text.contains("How to respond: Register on the Wyvern e-tendering portal"),
        "{text}"
    );
    assert!(text.contains("Value: GBP 250,000"), "{text}");
    assert_eq!(entry.categories[0].term, "85312400");
    assert_eq!(
        entry.categories[0].label.as_deref(),
        Some("Services 85312400")
    );
    assert_eq!(entry.authors[0].name.as_deref(), Some(COUNCIL_NAME));
    assert_eq!(
        entry.authors[0].uri.as_deref(),
        Some(
            app.url(&format!("/api/v1/organisations/{COUNCIL}"))
                .as_str()
        )
    );
    assert!(entry.updated.is_some() && entry.published.is_some());
    assert_eq!(matching.updated, entry.updated);

    // A second opportunity published later comes first; `limit` caps the entries.
    publish(
        &app,
        &council,
        &opportunity(second, "Family mediation", "85311300", "Wyvern", 60),
    )
    .await;
    let all = feed(&app, "/feeds/opportunities.atom?cpv=8531").await;
    assert_eq!(
        ids(&all),
        [record_url(&app, second), record_url(&app, first)]
    );
    let one = feed(&app, "/feeds/opportunities.atom?cpv=8531&limit=1").await;
    assert_eq!(ids(&one), [record_url(&app, second)]);
    let text_search = feed(&app, "/feeds/opportunities.atom?q=mediation").await;
    assert_eq!(ids(&text_search), [record_url(&app, second)]);
}

#[tokio::test]
async fn the_intentions_feed_carries_a_joint_intention_with_its_pooled_budget() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let ocid = "ocds-b5fd17-feed-joint";
    publish(&app, &council, &joint_intention(ocid)).await;

    for path in [
        "/feeds/intentions.atom",
        "/feeds/intentions.atom?partner=GB-NHS-QWY",
        "/feeds/intentions.atom?partner=GB-GOR-PC0042&level=strategic",
    ] {
        assert_eq!(
            ids(&feed(&app, path).await),
            [record_url(&app, ocid)],
            "{path}"
        );
    }
    assert!(
        feed(&app, "/feeds/intentions.atom?partner=GB-LAE-ZZZ")
            .await
            .entries
            .is_empty()
    );
    assert!(
        feed(&app, "/feeds/opportunities.atom")
            .await
            .entries
            .is_empty()
    );

    let intentions = feed(&app, "/feeds/intentions.atom?partner=GB-NHS-QWY").await;
    let entry = &intentions.entries[0];
    assert_eq!(
        title(entry),
        "Exploitation prevention service for young people"
    );
    let text = summary(entry);
    assert!(
        text.contains(&format!("Lead: {COUNCIL_NAME} ({COUNCIL})")),
        "{text}"
    );
    assert!(
        text.contains("Partners: ")
            && text.contains("NHS Wyvern ICB (GB-NHS-QWY)")
            && text.contains("Wyvern Police and Crime Commissioner (GB-GOR-PC0042)"),
        "{text}"
    );
    assert!(text.contains("Pooled budget: GBP 1,000,000"), "{text}");
    assert!(
        text.contains("NHS Wyvern ICB (GB-NHS-QWY) GBP 300,000"),
        "{text}"
    );
    assert!(
        intentions
            .title
            .as_ref()
            .unwrap()
            .content
            .contains("partner GB-NHS-QWY"),
        "{:?}",
        intentions.title
    );
}

#[tokio::test]
async fn the_expiring_feed_lists_contracts_ending_within_the_window_soonest_first() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let soon = "ocds-b5fd17-feed-exp-1";
    let later = "ocds-b5fd17-feed-exp-2";
    let far = "ocds-b5fd17-feed-exp-3";
    // Published in an order other than their ends, so the feed's order is its own.
    publish(
        &app,
        &council,
        &contract(later, "Short breaks service", 150),
    )
    .await;
    publish(&app, &council, &contract(far, "Youth work service", 500)).await;
    publish(
        &app,
        &council,
        &contract(soon, "Family support service", 60),
    )
    .await;

    let window = feed(&app, "/feeds/expiring.atom?months=6").await;
    assert_eq!(
        ids(&window),
        [record_url(&app, soon), record_url(&app, later)]
    );
    let title_text = &window.title.as_ref().unwrap().content;
    assert!(
        title_text.starts_with("ocreg expiring contracts") && title_text.contains("6 months"),
        "{title_text}"
    );
    let text = summary(&window.entries[0]);
    assert!(text.contains("Contract ends: "), "{text}");
    assert!(
        text.contains(&format!("Supplier: Bright Futures Trust ({PROVIDER})")),
        "{text}"
    );
    assert!(text.contains("Value: GBP 120,000"), "{text}");

    // The default window is 12 months: the contract ending in 500 days is not in it.
    assert_eq!(
        ids(&feed(&app, "/feeds/expiring.atom").await),
        [record_url(&app, soon), record_url(&app, later)]
    );
    assert_eq!(
        ids(&feed(
            &app,
            "/feeds/expiring.atom?months=24&supplier=GB-CHC-7654321"
        )
        .await),
        [
            record_url(&app, soon),
            record_url(&app, later),
            record_url(&app, far)
        ]
    );
}

#[tokio::test]
async fn feeds_answer_a_matching_etag_with_304_and_compress() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    publish(
        &app,
        &council,
        &opportunity(
            "ocds-b5fd17-feed-etag",
            "Speech therapy",
            "85312400",
            "Wyvern",
            30,
        ),
    )
    .await;
    let path = "/feeds/opportunities.atom?cpv=8531";
    // A client that neither asks for nor undoes compression: the identity body's strong tag.
    let plain = Client::builder().no_gzip().build().unwrap();
    let first = plain.get(app.url(path)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let again = plain
        .get(app.url(path))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    // Gzip when asked, with a weak tag that revalidates as well.
    let gzipped = plain
        .get(app.url(path))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    let weak = gzipped.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(weak, format!("W/{etag}"));
    let revalidated = plain
        .get(app.url(path))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, &weak)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    // A new matching opportunity changes the feed, so the old tag no longer matches.
    publish(
        &app,
        &council,
        &opportunity(
            "ocds-b5fd17-feed-etag-2",
            "Play therapy",
            "85312400",
            "Wyvern",
            40,
        ),
    )
    .await;
    let changed = plain
        .get(app.url(path))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}

#[tokio::test]
async fn bad_feed_parameters_are_problems() {
    let app = TestApp::spawn().await;
    for (path, names) in [
        ("/feeds/opportunities.atom?value_min=lots", "value_min"),
        (
            "/feeds/opportunities.atom?deadline_from=soon",
            "deadline_from",
        ),
        ("/feeds/intentions.atom?limit=0", "limit"),
        ("/feeds/intentions.atom?limit=1001", "limit"),
        ("/feeds/intentions.atom?months=3", "months"),
        ("/feeds/expiring.atom?months=0", "months"),
        ("/feeds/expiring.atom?cursor=abc", "cursor"),
        ("/feeds/opportunities.atom?format=csv", "format"),
        ("/feeds/opportunities.atom?colour=red", "colour"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
        let problem: Value = response.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(names), "{path}: {detail}");
    }
}

#[tokio::test]
async fn xml_special_characters_are_escaped_and_round_trip() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let ocid = "ocds-b5fd17-feed-xml";
    let awkward = r#"Advocacy <pilot> & "review" for 'young' people ]]>"#;
    let mut release = opportunity(ocid, awkward, "85312400", "Wyvern & Essex", 30);
    release["tender"]["description"] =
        json!("Ages 11 < 18 & care leavers <script>alert(1)</script>\u{1} welcome");
    release["buyer"]["name"] = json!("Smith & Jones <Trust>");
    release["parties"][0]["name"] = json!("Smith & Jones <Trust>");
    publish(&app, &council, &release).await;

    let path = "/feeds/opportunities.atom?area=wyvern%20%26%20essex&q=advocacy";
    let raw = app.get(path).await.text().await.unwrap();
    assert!(raw.contains("Advocacy &lt;pilot&gt; &amp;"), "{raw}");
    assert!(
        !raw.contains("<pilot>") && !raw.contains("<script>"),
        "{raw}"
    );

    let parsed = feed(&app, path).await;
    assert_eq!(ids(&parsed), [record_url(&app, ocid)]);
    let entry = &parsed.entries[0];
    assert_eq!(title(entry), awkward);
    assert!(
        summary(entry).contains("Ages 11 < 18 & care leavers <script>alert(1)</script> welcome"),
        "{}",
        summary(entry)
    );
    assert_eq!(
        entry.authors[0].name.as_deref(),
        Some("Smith & Jones <Trust>")
    );
    // The feed's id is its URL, ampersands and all; the title reads the filters back.
    assert_eq!(parsed.id, app.url(path));
    let feed_title = &parsed.title.as_ref().unwrap().content;
    assert!(
        feed_title.contains("area “wyvern & essex”") && feed_title.contains("“advocacy”"),
        "{feed_title}"
    );
}
