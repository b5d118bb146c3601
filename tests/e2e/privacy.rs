//! Privacy by default: a release published with a named officer's contact details and a sole
//! trader as supplier is stored and served without them (register/src/privacy.rs).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;

const BUYER: &str = "GB-LAE-WYV";
const OCID: &str = "ocds-b5fd17-privacy-1";

/// What must never come back: the officer's and the sole trader's personal data.
const PERSONAL: [&str; 9] = [
    "Jane Smith",
    "jane.smith@wyvern.gov.uk",
    "01632 960123",
    "Sam Taylor",
    "sam.taylor@example.com",
    "07700 900123",
    "1 Home Lane",
    "WY9 9ZZ",
    "1234567890",
];

fn release() -> Value {
    json!({
        "ocid": OCID,
        "id": "privacy-1-award",
        "date": "2026-11-01T09:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "buyer": {"id": BUYER, "name": "Wyvern County Council"},
        "parties": [
            {
                "id": BUYER,
                "name": "Wyvern County Council",
                "roles": ["buyer"],
                "contactPoint": {
                    "name": "Jane Smith",
                    "email": "jane.smith@wyvern.gov.uk",
                    "telephone": "01632 960123",
                    "url": "https://www.wyvern.gov.uk/commissioning"
                },
                "additionalContactPoints": [{
                    "name": "Children's commissioning team",
                    "email": "commissioning@wyvern.gov.uk",
                    "roleAddress": true
                }]
            },
            {
                "id": "wyv-supplier-17",
                "name": "Sam Taylor",
                "roles": ["supplier", "tenderer"],
                "identifier": {"scheme": "GBR-TAXID", "id": "1234567890"},
                "address": {"streetAddress": "1 Home Lane", "postalCode": "WY9 9ZZ"},
                "contactPoint": {"email": "sam.taylor@example.com", "telephone": "07700 900123"},
                "details": {"scale": "selfEmployed"}
            }
        ],
        "tender": {
            "id": "privacy-1",
            "title": "Independent visitor for a looked after child",
            "status": "complete",
            "tenderers": [{"id": "wyv-supplier-17", "name": "Sam Taylor"}]
        },
        "awards": [{
            "id": "privacy-1-award-1",
            "status": "active",
            "date": "2026-10-28T00:00:00Z",
            "value": {"amount": 4800, "currency": "GBP"},
            "suppliers": [{"id": "wyv-supplier-17", "name": "Sam Taylor"}]
        }]
    })
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.publish(token, body).await
}

async fn text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

fn assert_nothing_personal(path: &str, body: &str) {
    for personal in PERSONAL {
        assert!(
            !body.contains(personal),
            "{path} serves {personal:?}: {body}"
        );
    }
}

#[tokio::test]
async fn personal_data_is_neither_stored_nor_served() {
    let app = TestApp::spawn().await;
    let secret = app.token(&[BUYER]);
    let published = post(&app, &secret, &release()).await;
    assert_eq!(published.status(), StatusCode::CREATED);

    let record_path = format!("/api/v1/records/{OCID}?versioned=true");
    let paths = [
        record_path.as_str(),
        "/api/v1/releases",
        "/api/v1/contracts",
        "/api/v1/contracts?format=csv",
    ];
    for path in paths {
        assert_nothing_personal(path, &text(&app, path).await);
    }

    let package: Value = serde_json::from_str(&text(&app, &record_path).await).unwrap();
    let compiled = &package["records"][0]["compiledRelease"];
    // The buyer's organisation page stays, the officer goes; the team mailbox is kept whole.
    assert_eq!(
        compiled["parties"][0]["contactPoint"],
        json!({"url": "https://www.wyvern.gov.uk/commissioning"})
    );
    assert_eq!(
        compiled["parties"][0]["additionalContactPoints"][0],
        json!({
            "name": "Children's commissioning team",
            "email": "commissioning@wyvern.gov.uk",
            "roleAddress": true
        })
    );
    // The sole trader is there, unnamed, under the same id.
    let supplier = &compiled["parties"][1];
    assert_eq!(supplier["id"], "wyv-supplier-17");
    assert_eq!(supplier["name"], "Individual (name withheld)");
    for field in ["identifier", "address", "contactPoint"] {
        assert!(supplier.get(field).is_none(), "{field}: {supplier}");
    }
    let award_supplier = &compiled["awards"][0]["suppliers"][0];
    assert_eq!(
        award_supplier,
        &json!({"id": "wyv-supplier-17", "name": "Individual (name withheld)"})
    );
    assert_eq!(
        compiled["tender"]["tenderers"][0]["name"],
        "Individual (name withheld)"
    );
    // The stored release, not only the compiled one.
    let stored = &package["records"][0]["releases"][0];
    assert_eq!(stored["parties"][1]["name"], "Individual (name withheld)");

    // A full-text search for the sole trader finds nothing.
    let found: Value =
        serde_json::from_str(&text(&app, "/api/v1/contracts?q=Taylor").await).unwrap();
    assert_eq!(found["data"], json!([]), "{found}");
    // The process itself is still there.
    let listed: Value = serde_json::from_str(&text(&app, "/api/v1/contracts").await).unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");

    // Re-publishing the identical release (personal data and all) changes nothing.
    let again = post(&app, &secret, &release()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["releases"][0]["status"], "unchanged", "{body}");
    let releases: Value = serde_json::from_str(&text(&app, "/api/v1/releases").await).unwrap();
    assert_eq!(releases["releases"].as_array().unwrap().len(), 1);
}

#[test]
fn bulk_imports_are_redacted_before_they_are_hashed_and_stored() {
    use register::releases::{self, Outcome, Prepared};

    let db = register::testing::TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let prepared = Prepared::new(&release()).unwrap();
    let first = releases::import_batch(&mut conn, &[prepared], "import", "test").unwrap();
    assert_eq!(first.count(Outcome::Created), 1);

    let stored = releases::get_record_text(&mut conn, OCID, true)
        .unwrap()
        .unwrap();
    for body in stored
        .releases
        .iter()
        .chain([&stored.compiled_release])
        .chain(stored.versioned_release.as_ref())
    {
        assert_nothing_personal("import", body);
    }
    assert!(stored.releases[0].contains("commissioning@wyvern.gov.uk"));

    // The same input again: the same redacted text, so nothing new.
    let again = Prepared::new(&release()).unwrap();
    let second = releases::import_batch(&mut conn, &[again], "import", "test").unwrap();
    assert_eq!(second.count(Outcome::Unchanged), 1);
    assert_eq!(releases::count(&mut conn).unwrap(), 1);
}
