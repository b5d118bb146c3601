//! The register views and OCDS listings over HTTP: filters, full text, cursors, CSV.

use std::collections::HashSet;

use register::releases;
use serde_json::{Value, json};

use crate::support::TestApp;

/// A release of process `n` at `stage`, with buyer, CPV, area, value and deadline varying
/// with `n` so filters have something to tell apart.
fn release(n: usize, stage: &str) -> Value {
    let buyer = if n.is_multiple_of(2) {
        "GB-LAE-MAN"
    } else {
        "GB-NHS-QOP"
    };
    let cpv = if n.is_multiple_of(3) {
        "85311300"
    } else {
        "80310000"
    };
    let mut release = json!({
        "ocid": format!("ocds-b5fd17-{n:04}"),
        "id": format!("{n}-{stage}"),
        "date": format!("2026-0{}-01T09:00:00Z", 1 + n % 9),
        "tag": [stage],
        "initiationType": "tender",
        "buyer": {"id": buyer, "name": format!("Agency {buyer}")},
        "parties": [{"id": buyer, "name": format!("Agency {buyer}"), "roles": ["buyer"],
                     "address": {"region": if n.is_multiple_of(2) { "North West" } else { "Yorkshire" }}}],
    });
    let tender = json!({
        "id": format!("t{n}"),
        "title": format!("Service {n} for {}", if n.is_multiple_of(4) { "young carers" } else { "families" }),
        "status": if stage == "planning" { "planned" } else { "active" },
        "value": {"amount": 1000 * n, "currency": "GBP"},
        "classification": {"scheme": "CPV", "id": cpv, "description": "Services"},
        "tenderPeriod": {"endDate": format!("2027-01-{:02}T12:00:00Z", 28 - n % 27)},
        "submissionMethod": ["electronicSubmission"],
    });
    release["tender"] = tender;
    if stage == "award" {
        release["awards"] = json!([{"id": "a1", "status": "active", "title": "Award",
            "suppliers": [{"id": "GB-COH-01234567", "name": "Provider Ltd"}],
            "value": {"amount": 500 * n, "currency": "GBP"}}]);
        release["tender"]["status"] = json!("complete");
    }
    release
}

/// Stores releases directly (the publish path is tested in publish.rs).
fn seed(app: &TestApp, releases_: Vec<Value>) {
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    let incoming: Vec<(Value, String)> = releases_
        .into_iter()
        .enumerate()
        .map(|(i, r)| (r, format!("/{i}")))
        .collect();
    releases::store(&mut conn, &incoming, "test", None).unwrap();
}

async fn page(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ocids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ocid"].as_str().unwrap().to_owned())
        .collect()
}

fn seeded_app_releases() -> Vec<Value> {
    let mut all = Vec::new();
    for n in 1..=12 {
        let stage = match n % 3 {
            0 => "planning",
            1 => "tender",
            _ => "award",
        };
        all.push(release(n, stage));
    }
    all
}

#[tokio::test]
async fn each_view_holds_its_stage() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let intentions = page(&app, "/api/v1/intentions").await;
    assert!(
        intentions["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["stage"] == "planning")
    );
    assert_eq!(ocids(&intentions).len(), 4);

    let opportunities = page(&app, "/api/v1/opportunities").await;
    let rows = opportunities["data"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let deadlines: Vec<&str> = rows
        .iter()
        .map(|r| r["deadline"].as_str().unwrap())
        .collect();
    let mut sorted = deadlines.clone();
    sorted.sort();
    assert_eq!(deadlines, sorted, "soonest deadline first");
    assert_eq!(rows[0]["how_to_respond"], "electronicSubmission");

    // A tender whose deadline has passed is no opportunity unless asked for.
    let mut stale = release(40, "tender");
    stale["tender"]["tenderPeriod"]["endDate"] = json!("2020-01-31T12:00:00Z");
    seed(&app, vec![stale]);
    assert_eq!(ocids(&page(&app, "/api/v1/opportunities").await).len(), 4);
    let all = page(&app, "/api/v1/opportunities?deadline_from=2000-01-01").await;
    assert_eq!(
        ocids(&all)[0],
        "ocds-b5fd17-0040",
        "soonest (past) deadline first"
    );

    let contracts = page(&app, "/api/v1/contracts").await;
    let rows = contracts["data"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r["suppliers"] == json!(["GB-COH-01234567"]))
    );
    assert!(
        page(&app, "/api/v1/outcomes").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn filters_narrow_every_view() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let all = ocids(&page(&app, "/api/v1/contracts?limit=1000").await);
    let buyer = ocids(&page(&app, "/api/v1/contracts?buyer=GB-LAE-MAN").await);
    assert!(!buyer.is_empty() && buyer.len() < all.len());
    let supplier = ocids(&page(&app, "/api/v1/contracts?supplier=GB-COH-01234567").await);
    assert_eq!(supplier.len(), all.len());
    assert!(ocids(&page(&app, "/api/v1/contracts?supplier=GB-COH-99").await).is_empty());
    // Ids may hold LIKE's wildcards (360Giving's `360G-trafford-be_active`): matched as written.
    let mut underscored = release(41, "award");
    underscored["awards"][0]["suppliers"][0]["id"] = json!("360G-trafford-be_active");
    seed(&app, vec![underscored]);
    assert_eq!(
        ocids(&page(&app, "/api/v1/contracts?supplier=360G-trafford-be_active").await),
        vec!["ocds-b5fd17-0041"]
    );
    assert!(
        ocids(&page(&app, "/api/v1/contracts?supplier=360G-trafford-beXactive").await).is_empty()
    );

    let cpv = page(&app, "/api/v1/opportunities?cpv=8531").await;
    assert!(
        cpv["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["cpv"] == json!(["85311300"]))
    );
    let area = page(&app, "/api/v1/intentions?area=north%20WEST").await;
    assert!(!ocids(&area).is_empty());
    assert!(
        area["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["area"] == "North West")
    );

    let values = page(&app, "/api/v1/opportunities?value_min=4000&value_max=10000").await;
    for r in values["data"].as_array().unwrap() {
        let v = r["value_amount"].as_f64().unwrap();
        assert!((4000.0..=10000.0).contains(&v), "{v}");
    }
    let deadline = page(&app, "/api/v1/opportunities?deadline_from=2027-01-20").await;
    for r in deadline["data"].as_array().unwrap() {
        assert!(r["deadline"].as_str().unwrap() >= "2027-01-20");
    }
}

#[tokio::test]
async fn full_text_search_on_both_backends() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let carers = page(&app, "/api/v1/intentions?q=young%20carers").await;
    let rows = carers["data"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["title"].as_str().unwrap().contains("young carers"))
    );
    // Words must all match; a word found nowhere empties the result.
    assert!(ocids(&page(&app, "/api/v1/intentions?q=carers%20zebra").await).is_empty());
    // Quotes and operators are words, not query syntax.
    assert_eq!(
        app.get("/api/v1/intentions?q=%22AND%20OR(").await.status(),
        200
    );
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let app = TestApp::spawn().await;
    for (query, name) in [
        ("published_from=yesterday", "published_from"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("value_min=lots", "value_min"),
        ("colour=blue", "colour"),
        ("cursor=nonsense", "cursor"),
        ("format=xml", "format"),
    ] {
        let response = app.get(&format!("/api/v1/contracts?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(name),
            "{query}: {problem}"
        );
    }
}

#[tokio::test]
async fn cursor_pages_visit_every_row_once_while_rows_are_added() {
    let app = TestApp::spawn().await;
    seed(&app, (1..=25).map(|n| release(n, "tender")).collect());
    for path in ["/api/v1/opportunities?limit=7", "/api/v1/records?limit=7"] {
        let mut seen = Vec::new();
        let mut next = Some(app.url(path));
        let mut added = 100;
        while let Some(url) = next {
            let body: Value = app
                .client
                .get(&url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let key = if path.contains("records") {
                "records"
            } else {
                "data"
            };
            for row in body[key].as_array().unwrap() {
                seen.push(row["ocid"].as_str().unwrap().to_owned());
            }
            // New processes arrive between pages.
            added += 1;
            seed(&app, vec![release(added, "tender")]);
            next = body["links"]["next"].as_str().map(str::to_owned);
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{path}: a row was served twice");
        for n in 1..=25 {
            assert!(
                seen.contains(&format!("ocds-b5fd17-{n:04}")),
                "{path}: {n} missed"
            );
        }
    }
}

#[tokio::test]
async fn csv_has_the_same_rows_as_json() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let json_page = page(&app, "/api/v1/contracts").await;
    let response = app.get("/api/v1/contracts?format=csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let json_rows = json_page["data"].as_array().unwrap();
    assert_eq!(rows.len(), json_rows.len());
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    for (csv_row, json_row) in rows.iter().zip(json_rows) {
        assert_eq!(&csv_row[col("ocid")], json_row["ocid"].as_str().unwrap());
        assert_eq!(&csv_row[col("title")], json_row["title"].as_str().unwrap());
        assert_eq!(&csv_row[col("suppliers")], "GB-COH-01234567");
        assert_eq!(
            csv_row[col("value_amount")].parse::<f64>().unwrap(),
            json_row["value_amount"].as_f64().unwrap()
        );
    }
    let accept = app
        .client
        .get(app.url("/api/v1/contracts"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(accept.text().await.unwrap(), text);
}

#[tokio::test]
async fn release_feed_pages_in_arrival_order_and_validates() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let mut seen = 0;
    let mut next = Some(app.url("/api/v1/releases?limit=5"));
    while let Some(url) = next {
        let package: Value = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let report = ocds::validate::Schema::core().validate(&{
            let mut p = package.clone();
            p.as_object_mut().unwrap().remove("links");
            p
        });
        assert!(report.is_valid(), "{report}");
        seen += package["releases"].as_array().unwrap().len();
        next = package["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 12);
    let one = page(&app, "/api/v1/releases?ocid=ocds-b5fd17-0003").await;
    assert_eq!(one["releases"].as_array().unwrap().len(), 1);
    let buyer = page(&app, "/api/v1/releases?buyer=GB-LAE-MAN").await;
    assert_eq!(buyer["releases"].as_array().unwrap().len(), 6);
    let future = page(&app, "/api/v1/releases?updated_since=2999-01-01").await;
    assert!(future["releases"].as_array().unwrap().is_empty());

    let records: Value = page(&app, "/api/v1/records?buyer=GB-NHS-QOP").await;
    assert_eq!(records["records"].as_array().unwrap().len(), 6);
    let mut records = records;
    records.as_object_mut().unwrap().remove("links");
    let report = ocds::validate::Schema::core().validate(&records);
    assert!(report.is_valid(), "{report}");
}

#[tokio::test]
async fn organisations_have_one_profile_across_roles() {
    let app = TestApp::spawn().await;
    seed(&app, seeded_app_releases());
    let list = page(&app, "/api/v1/organisations").await;
    let orgs: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["org_id"].as_str().unwrap())
        .collect();
    assert!(
        orgs.contains(&"GB-LAE-MAN") && orgs.contains(&"GB-COH-01234567"),
        "{orgs:?}"
    );
    let suppliers = page(&app, "/api/v1/organisations?role=supplier").await;
    assert_eq!(suppliers["data"].as_array().unwrap().len(), 1);
    let named = page(&app, "/api/v1/organisations?q=agency%20gb-nhs").await;
    assert_eq!(named["data"][0]["org_id"], "GB-NHS-QOP");

    let profile = page(&app, "/api/v1/organisations/GB-COH-01234567").await;
    assert_eq!(profile["roles"], json!(["supplier"]));
    assert_eq!(profile["appearances"]["as_supplier"], 4);
    // A bare registration number finds the same organisation; the scheme is case-insensitive.
    assert_eq!(
        page(&app, "/api/v1/organisations/01234567").await["org_id"],
        "GB-COH-01234567"
    );
    assert_eq!(
        page(&app, "/api/v1/organisations/gb-lae-man").await["org_id"],
        "GB-LAE-MAN"
    );
    let buyer = page(&app, "/api/v1/organisations/GB-LAE-MAN").await;
    assert_eq!(buyer["appearances"]["as_buyer"], 6);
    assert!(
        buyer["links"]["as_buyer"]
            .as_str()
            .unwrap()
            .ends_with("buyer=GB-LAE-MAN")
    );
    assert_eq!(
        app.get("/api/v1/organisations/GB-XXX-404").await.status(),
        404
    );
}

/// Storing a batch notes organisations as storing its releases one at a time would: names and
/// roles merged within a batch and across batches.
#[test]
fn a_batch_notes_organisations_as_one_release_at_a_time_would() {
    use register::organisations::{Lookup, lookup};
    use register::releases::{Prepared, import_batch};

    let db = register::testing::TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let notice = |ocid: &str, buyer_name: &str, roles: Value| {
        Prepared::new(&json!({
            "ocid": ocid, "id": "1", "date": "2026-11-01T09:00:00Z", "tag": ["tender"],
            "parties": [
                {"id": "GB-LAE-WYV", "name": buyer_name, "roles": roles},
                {"id": "GB-COH-07654321", "name": "Wyvern Care Ltd", "roles": ["tenderer"]},
            ],
        }))
        .unwrap()
    };
    let first = [
        notice("ocds-abcdef-1", "Wyvern County Council", json!(["buyer"])),
        notice(
            "ocds-abcdef-2",
            "Wyvern CC",
            json!(["procuringEntity", "buyer"]),
        ),
        notice("ocds-abcdef-3", "Wyvern County Council", json!(["payer"])),
    ];
    import_batch(&mut conn, &first, "test", "test").unwrap();
    let second = [notice("ocds-abcdef-4", "Wyvern Council", json!(["funder"]))];
    import_batch(&mut conn, &second, "test", "test").unwrap();

    let Lookup::Found(buyer) = lookup(&mut conn, "GB-LAE-WYV").unwrap() else {
        panic!("the buyer is not an organisation");
    };
    assert_eq!(buyer.name, "Wyvern County Council");
    assert_eq!(buyer.other_names, ["Wyvern CC", "Wyvern Council"]);
    assert_eq!(buyer.roles, ["buyer", "funder", "payer", "procuringEntity"]);
    let Lookup::Found(supplier) = lookup(&mut conn, "GB-COH-07654321").unwrap() else {
        panic!("the tenderer is not an organisation");
    };
    assert_eq!(supplier.roles, ["tenderer"]);
    assert!(supplier.other_names.is_empty());
    // Organisations are numbered in the order first seen.
    assert!(buyer.id < supplier.id);
}
