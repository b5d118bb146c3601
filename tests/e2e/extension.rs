//! The ocreg OCDS extension over HTTP: its files under `/extension/`, and publishing
//! validated with it.

use register::tokens;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;

const BUYER: &str = "GB-LAE-WYV";

fn content_type(response: &reqwest::Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn extension_json_points_at_this_server() {
    let app = TestApp::spawn().await;
    let response = app.get("/extension/extension.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    let ext: Value = response.json().await.unwrap();
    assert_eq!(
        ext["documentationUrl"]["en"],
        format!("{}/extension/", app.address)
    );
    assert_eq!(ext["name"]["en"], "ocreg commissioning");
    assert_eq!(ext["compatibility"], json!(["1.1"]));
    assert_eq!(
        ext["dependencies"],
        json!([
            ocds::validate::ExtensionPatch::BUDGET_BREAKDOWN_URL,
            ocds::validate::ExtensionPatch::METRICS_URL
        ])
    );
    // What a package of this register lists in `extensions` resolves here.
    let ours = register::extension::package_extensions(&app.address)
        .pop()
        .unwrap();
    assert_eq!(ours, app.url("/extension/extension.json"));
    for listing in ["/api/v1/releases", "/api/v1/records"] {
        let package: Value = app.get(listing).await.json().await.unwrap();
        assert!(
            package["extensions"]
                .as_array()
                .unwrap()
                .contains(&json!(ours)),
            "{listing}: {}",
            package["extensions"]
        );
    }

    // The documentation it names is served too, as Markdown.
    let docs = app.get("/extension/").await;
    assert_eq!(docs.status(), 200);
    assert_eq!(content_type(&docs), "text/markdown; charset=utf-8");
    let text = docs.text().await.unwrap();
    assert!(text.starts_with("# ocreg commissioning"), "{text}");
    assert!(text.contains("slightlyBelow"));
    // Without the slash: redirected to it.
    let bare = app.get("/extension").await;
    assert!(bare.status().is_redirection(), "{}", bare.status());
    assert_eq!(bare.headers()["location"], "/extension/");
}

#[tokio::test]
async fn release_schema_and_codelists_are_served() {
    let app = TestApp::spawn().await;
    let response = app.get("/extension/release-schema.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    let patch: Value = response.json().await.unwrap();
    assert_eq!(
        patch["definitions"]["Planning"]["properties"]["commissioning"]["$ref"],
        "#/definitions/Commissioning"
    );
    assert_eq!(
        patch["definitions"]["Observation"]["properties"]["rating"]["codelist"],
        "outcomeRating.csv"
    );

    let response = app.get("/extension/codelists/outcomeRating.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        ["Code", "Title", "Description", "UK9 measureClassification"]
    );
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[3].to_owned())
        })
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0], ("good".to_owned(), "met".to_owned()));

    // The documentation's "try it out" sends the path as one encoded segment.
    let encoded = app.get("/extension/codelists%2FrbaQuadrant.csv").await;
    assert_eq!(encoded.status(), 200);

    // Every file of the extension is served with its embedded content.
    for (path, content) in register::extension::files() {
        let response = app.get(&format!("/extension/{path}")).await;
        assert_eq!(response.status(), 200, "{path}");
        if *path != "extension.json" {
            assert_eq!(response.text().await.unwrap(), *content, "{path}");
        }
    }
}

#[tokio::test]
async fn unknown_extension_files_are_404_problems() {
    let app = TestApp::spawn().await;
    for path in [
        "/extension/nothing.json",
        "/extension/codelists/tenderStatus.csv",
        "/extension/codelists/",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            content_type(&response),
            "application/problem+json",
            "{path}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 404, "{path}");
    }
}

fn commissioning_release(level: &str) -> Value {
    json!({
        "ocid": "ocds-b5fd17-wyv-0001",
        "id": "wyv-0001-planning-1",
        "date": "2026-11-01T09:00:00Z",
        "tag": ["planning"],
        "initiationType": "tender",
        "buyer": {"id": BUYER, "name": "Wyvern County Council"},
        "parties": [
            {"id": BUYER, "name": "Wyvern County Council", "roles": ["buyer", "sourceParty"]}
        ],
        "planning": {
            "commissioning": {"level": level, "cycleStage": "analyse", "joint": false, "pooledBudget": true},
            "budget": {
                "amount": {"amount": 100000, "currency": "GBP"},
                "budgetBreakdown": [{"id": "1", "amount": {"amount": 100000, "currency": "GBP"},
                                     "sourceParty": {"id": BUYER, "name": "Wyvern County Council"}}]
            }
        },
        "tender": {"id": "wyv-0001", "status": "planned"}
    })
}

async fn publish(app: &TestApp, body: &Value) -> reqwest::Response {
    let secret = {
        let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
        tokens::create(&mut conn, "test", &[BUYER.to_owned()])
            .unwrap()
            .1
    };
    app.client
        .post(app.url("/api/v1/releases"))
        .header("content-type", "application/json")
        .bearer_auth(secret)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn publishing_validates_with_the_extension() {
    let app = TestApp::spawn().await;
    let response = publish(&app, &commissioning_release("galactic")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(content_type(&response), "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["errors"],
        json!([{
            "pointer": "/planning/commissioning/level",
            "message": "'galactic' is not in the closed codelist commissioningLevel"
        }]),
        "{problem}"
    );

    // A valid level is stored, with no warnings for the extension's fields.
    let response = publish(&app, &commissioning_release("strategic")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["warnings"], json!([]), "{body}");
}
