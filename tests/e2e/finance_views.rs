//! Reconciliation as the register shows it: payments and grants linked to contracts as OCDS
//! transactions in records (single, listed, downloaded; tags change when links do), the
//! matched/unmatched spend filter, the off-contract spend report, grants linked to contracts,
//! and grants in the bulk downloads. Exact values throughout.

use diesel::prelude::*;
use register::{
    DbConnection,
    schema::{grant_links, grants, spend_transactions},
    testing::TestDb,
};
use serde_json::{Value, json};

use crate::support::TestApp;

const WYVERN: &str = "GB-LAE-WYV";
const TRAFFORD: &str = "GB-LAE-TRF";

/// An awarded contract of `buyer` with one supplier (`supplier_id` optional), `C1` under `A1`.
fn contract(
    ocid: &str,
    buyer: (&str, &str),
    supplier: (Option<&str>, &str),
    period: (&str, &str),
    pounds: f64,
) -> (Value, String) {
    let mut party = json!({"name": supplier.1, "roles": ["supplier"]});
    let mut reference = json!({"name": supplier.1});
    if let Some(id) = supplier.0 {
        party["id"] = id.into();
        reference["id"] = id.into();
    } else {
        party["id"] = format!("{ocid}-supplier").into();
    }
    let release = json!({
        "ocid": ocid, "id": format!("{ocid}-award"), "date": "2026-01-05T10:00:00Z",
        "tag": ["award", "contract"], "initiationType": "tender",
        "buyer": {"id": buyer.0, "name": buyer.1},
        "parties": [{"id": buyer.0, "name": buyer.1, "roles": ["buyer"]}, party],
        "awards": [{
            "id": "A1", "status": "active", "suppliers": [reference],
            "value": {"amount": pounds, "currency": "GBP"}
        }],
        "contracts": [{
            "id": "C1", "awardID": "A1", "status": "active",
            "period": {
                "startDate": format!("{}T00:00:00Z", period.0),
                "endDate": format!("{}T00:00:00Z", period.1)
            },
            "value": {"amount": pounds, "currency": "GBP"}
        }]
    });
    (release, "/0".to_owned())
}

const SOUTHWEST: &str = "ocds-ocdemo-views-1";

/// Wyvern's spend for March 2026 (and one old line): Southwest is paid under contract once.
const WYVERN_SPEND: &str = "Payment Date,Beneficiary,Net Amount £,Service area,Narrative\n\
02/03/2026,Southwest Care Ltd,\"7,000.00\",Children's Services,placement\n\
15/03/2025,Southwest Care Ltd,\"6,000.00\",Children's Services,before the contract\n\
03/03/2026,Acme Care Ltd,\"3,000.00\",Children's Services,spot purchase\n\
04/03/2026,ACME CARE LIMITED,\"2,500.01\",Children's Services,spot purchase\n\
05/03/2026,Acme Care Ltd,(100.00),Children's Services,credit note\n\
06/03/2026,REDACTED UNDER DP ACT,\"6,000.00\",Children's Services,care\n\
07/03/2026,REDACTED UNDER DP ACT,\"1,000.00\",Children's Services,care\n\
08/03/2026,Beta Ltd,\"4,000.00\",Early Help,sessions\n";

fn store_contracts(conn: &mut DbConnection, incoming: Vec<(Value, String)>) {
    for release in incoming {
        register::releases::store(conn, &[release], "test", None).unwrap();
    }
}

fn import_wyvern(conn: &mut DbConnection) -> i64 {
    let (run, report) = sync::file_import::import_spend(
        conn,
        None,
        WYVERN,
        "wyvern-2026-03.csv",
        WYVERN_SPEND.as_bytes(),
    )
    .unwrap();
    assert_eq!((report.imported, report.rejected), (8, 0), "{report:?}");
    assert_eq!(report.linked, Some(1));
    run
}

/// The row hash's first 12 hex digits of Wyvern's line `line` (its stored key is the hash's
/// first 128 bits).
fn hash_prefix(conn: &mut DbConnection, line: i64) -> String {
    let key: Vec<u8> = spend_transactions::table
        .filter(spend_transactions::line.eq(line))
        .select(spend_transactions::row_key)
        .first(conn)
        .unwrap();
    register::digest::hex(&key[..6])
}

/// The register's public URL as its record packages give it.
fn base_of(package: &Value, path: &str) -> String {
    package["uri"]
        .as_str()
        .unwrap()
        .strip_suffix(path)
        .unwrap()
        .to_owned()
}

async fn json_of(app: &TestApp, path: &str) -> (Value, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.json().await.unwrap(), etag)
}

#[tokio::test]
async fn linked_payments_are_transactions_of_their_contract_wherever_records_are_served() {
    let db = TestDb::new();
    let url = db.url.clone();
    let mut conn = url.connect().unwrap();
    store_contracts(
        &mut conn,
        vec![contract(
            SOUTHWEST,
            (WYVERN, "Wyvern County Council"),
            (Some("GB-COH-00000001"), "Southwest Care Ltd"),
            ("2026-01-01", "2026-12-31"),
            120_000.0,
        )],
    );
    let app = TestApp::spawn_with_pool(db.pool(), url.backend(), Some(db));
    let path = format!("/api/v1/records/{SOUTHWEST}");
    let (before, record_tag) = json_of(&app, &path).await;
    let contract = &before["records"][0]["compiledRelease"]["contracts"][0];
    assert!(contract.get("implementation").is_none());
    let download = app.get("/downloads/records.jsonl").await;
    let download_tag = download.headers()["etag"].to_str().unwrap().to_owned();

    let run = import_wyvern(&mut conn);
    let hash = hash_prefix(&mut conn, 2);

    let (record, tag) = json_of(&app, &path).await;
    assert_ne!(tag, record_tag, "the record's tag changes with its links");
    let base = base_of(&record, &path);
    let expected: Value = serde_json::from_str(&format!(
        r#"[{{
            "id": "spend-GB-LAE-WYV-{hash}",
            "source": "{base}/api/v1/sync/runs/{run}",
            "date": "2026-03-02T00:00:00Z",
            "value": {{"amount": 7000.00, "currency": "GBP"}},
            "payer": {{"id": "GB-LAE-WYV", "name": "Wyvern County Council"}},
            "payee": {{"id": "GB-COH-00000001", "name": "Southwest Care Ltd"}},
            "uri": "{base}/api/v1/contracts/{SOUTHWEST}/spend",
            "reconciliation": {{
                "kind": "spend", "method": "supplier_name", "confidence": 0.8,
                "sourceFile": "wyvern-2026-03.csv", "sourcePosition": "line 2"
            }}
        }}]"#
    ))
    .unwrap();
    let transactions =
        &record["records"][0]["compiledRelease"]["contracts"][0]["implementation"]["transactions"];
    assert_eq!(transactions, &expected);
    assert_eq!(transactions[0]["value"]["amount"].to_string(), "7000.00");
    // Stored records are untouched: links are added as they are read.
    let stored = register::releases::compiled_release(&mut conn, SOUTHWEST)
        .unwrap()
        .unwrap();
    assert!(stored["contracts"][0].get("implementation").is_none());

    // The record listing shows the same.
    let (listed, _) = json_of(&app, &format!("/api/v1/records?ocid={SOUTHWEST}")).await;
    assert_eq!(
        listed["records"][0]["compiledRelease"]["contracts"][0]["implementation"]["transactions"],
        expected
    );

    // And the downloads: records as JSON Lines and package, the transactions table.
    let download = app.get("/downloads/records.jsonl").await;
    assert_ne!(
        download.headers()["etag"].to_str().unwrap(),
        download_tag,
        "the download's tag changes with the links"
    );
    let text = download.text().await.unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        line["compiledRelease"]["contracts"][0]["implementation"]["transactions"],
        expected
    );
    let package: Value = app
        .get("/downloads/records.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        package["records"][0]["compiledRelease"]["contracts"][0]["implementation"]["transactions"],
        expected
    );
    let table = app
        .get("/downloads/csv/transactions.csv")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let row: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        row,
        [
            SOUTHWEST,
            "C1",
            &format!("spend-GB-LAE-WYV-{hash}"),
            "2026-03-02T00:00:00Z",
            // As the transactions table writes amounts (`register::flatten`).
            "7000",
            "GBP",
            "GB-LAE-WYV",
            "Wyvern County Council",
            "GB-COH-00000001",
            "Southwest Care Ltd",
            &format!("{base}/api/v1/sync/runs/{run}"),
        ]
    );
}

#[tokio::test]
async fn spend_lines_show_their_link_and_filter_by_it() {
    let db = TestDb::new();
    let url = db.url.clone();
    let mut conn = url.connect().unwrap();
    store_contracts(
        &mut conn,
        vec![contract(
            SOUTHWEST,
            (WYVERN, "Wyvern County Council"),
            (Some("GB-COH-00000001"), "Southwest Care Ltd"),
            ("2026-01-01", "2026-12-31"),
            120_000.0,
        )],
    );
    import_wyvern(&mut conn);
    let app = TestApp::spawn_with_pool(db.pool(), url.backend(), Some(db));

    let (matched, _) = json_of(&app, "/api/v1/spend?matched=true").await;
    let matched = matched["data"].as_array().unwrap();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0]["amount"].to_string(), "7000.00");
    assert_eq!(
        matched[0]["link"],
        json!({"ocid": SOUTHWEST, "contract_id": "C1", "method": "supplier_name", "confidence": 0.8})
    );
    let (unmatched, _) = json_of(&app, "/api/v1/spend?matched=false&buyer=gb-lae-wyv").await;
    let unmatched = unmatched["data"].as_array().unwrap();
    assert_eq!(unmatched.len(), 7);
    assert!(unmatched.iter().all(|row| row["link"].is_null()));
    let (all, _) = json_of(&app, "/api/v1/spend").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 8);
    // With the other filters.
    let (both, _) = json_of(&app, "/api/v1/spend?matched=false&supplier=southwest").await;
    assert_eq!(both["data"].as_array().unwrap().len(), 1);
    assert_eq!(both["data"][0]["date"], "2025-03-15");

    let csv = app
        .get("/api/v1/spend?matched=true&format=csv")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &header[12..],
        [
            "link_ocid",
            "link_contract_id",
            "link_method",
            "link_confidence"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].iter().skip(12).collect::<Vec<_>>(),
        [SOUTHWEST, "C1", "supplier_name", "0.8"]
    );
    let csv = app
        .get("/api/v1/spend?matched=false&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        7
    );

    let bad = app.get("/api/v1/spend?matched=yes").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn off_contract_spend_lists_suppliers_over_the_threshold_without_a_contract() {
    let db = TestDb::new();
    let url = db.url.clone();
    let mut conn = url.connect().unwrap();
    store_contracts(
        &mut conn,
        vec![contract(
            SOUTHWEST,
            (WYVERN, "Wyvern County Council"),
            (Some("GB-COH-00000001"), "Southwest Care Ltd"),
            ("2026-01-01", "2026-12-31"),
            120_000.0,
        )],
    );
    import_wyvern(&mut conn);
    let app = TestApp::spawn_with_pool(db.pool(), url.backend(), Some(db));

    // Default threshold £5,000: the redacted payees (7,000), Southwest's payment before its
    // contract (6,000) and Acme under two spellings less a credit (5,400.01); not Beta
    // (4,000), not Southwest's payment under contract.
    let (report, _) = json_of(&app, "/api/v1/spend/off-contract?buyer=gb-lae-wyv").await;
    let expected: Value = serde_json::from_str(
        r#"{
        "buyer": "GB-LAE-WYV", "threshold": 5000.00, "currency": "GBP",
        "date_from": null, "date_to": null,
        "totals": {"suppliers": 3, "total": 18400.01, "payments": 6},
        "data": [
            {"supplier": null, "redacted": true, "total": 7000.00, "currency": "GBP",
             "payments": 2, "first_payment": "2026-03-06", "last_payment": "2026-03-07"},
            {"supplier": "Southwest Care Ltd", "redacted": false, "total": 6000.00,
             "currency": "GBP", "payments": 1, "first_payment": "2025-03-15",
             "last_payment": "2025-03-15"},
            {"supplier": "Acme Care Ltd", "redacted": false, "total": 5400.01,
             "currency": "GBP", "payments": 3, "first_payment": "2026-03-03",
             "last_payment": "2026-03-05"}
        ],
        "links": {"next": null}
    }"#,
    )
    .unwrap();
    assert_eq!(report, expected);

    // The period and the threshold (more than, not equal to) narrow it.
    let (report, _) = json_of(
        &app,
        "/api/v1/spend/off-contract?buyer=GB-LAE-WYV&date_from=2026-01-01&date_to=2026-03-31",
    )
    .await;
    let suppliers: Vec<&Value> = report["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["supplier"])
        .collect();
    assert_eq!(suppliers, [&Value::Null, &json!("Acme Care Ltd")]);
    assert_eq!(report["totals"]["total"].to_string(), "12400.01");
    let (report, _) = json_of(
        &app,
        "/api/v1/spend/off-contract?buyer=GB-LAE-WYV&threshold=6000",
    )
    .await;
    assert_eq!(report["totals"]["suppliers"], 1);
    assert_eq!(report["data"][0]["redacted"], true);
    let (report, _) = json_of(
        &app,
        "/api/v1/spend/off-contract?buyer=GB-LAE-WYV&threshold=3999.99",
    )
    .await;
    assert_eq!(report["totals"]["suppliers"], 4);
    assert_eq!(report["data"][3]["supplier"], "Beta Ltd");

    // Keyset pages of one visit the same suppliers in the same order.
    let pages = app
        .every_page("/api/v1/spend/off-contract?buyer=GB-LAE-WYV&limit=1")
        .await;
    assert_eq!(pages.len(), 3);
    let paged: Vec<Value> = pages.iter().map(|p| p["data"][0].clone()).collect();
    assert_eq!(Value::Array(paged), expected["data"]);

    // CSV: the redacted group by that word, never a name.
    let csv = app
        .get("/api/v1/spend/off-contract?buyer=GB-LAE-WYV&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv,
        "supplier,redacted,total,currency,payments,first_payment,last_payment\n\
         redacted,true,7000.00,GBP,2,2026-03-06,2026-03-07\n\
         Southwest Care Ltd,false,6000.00,GBP,1,2025-03-15,2025-03-15\n\
         Acme Care Ltd,false,5400.01,GBP,3,2026-03-03,2026-03-05\n"
    );
    assert!(!csv.contains("DP ACT"));

    for bad in [
        "",
        "buyer=GB-LAE-WYV&threshold=lots",
        "buyer=GB-LAE-WYV&cursor=nope",
        "buyer=GB-LAE-WYV&date_from=1/1/2026",
    ] {
        let response = app.get(&format!("/api/v1/spend/off-contract?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

const BE_ACTIVE: &str = "ocds-ocdemo-views-grant-1";
const CYRIL_FLINT: &str = "ocds-ocdemo-views-grant-2";
const G_FORCE: &str = "ocds-ocdemo-views-grant-3";
const ART: &str = "ocds-ocdemo-views-grant-4";

/// Trafford's contracts with two of its grant recipients, and two near misses.
fn grant_contracts() -> Vec<(Value, String)> {
    let trafford = (TRAFFORD, "Trafford Metropolitan Borough Council");
    vec![
        // By name: the recipient's 360G- id is no org-id.
        contract(
            BE_ACTIVE,
            trafford,
            (None, "BE ACTIVE"),
            ("2012-10-01", "2013-09-30"),
            10_000.0,
        ),
        // By id: the grant names the company (GB-COH-07962245), the contract the charity;
        // the grant's charity number makes them one.
        contract(
            CYRIL_FLINT,
            trafford,
            (Some("GB-CHC-1146179"), "Cyril Flint Befrienders"),
            ("2012-04-01", "2014-03-31"),
            20_000.0,
        ),
        // Another funder's contract with a Trafford recipient.
        contract(
            G_FORCE,
            ("GB-LAE-MAN", "Manchester City Council"),
            (Some("GB-CHC-1110767"), "G-Force"),
            ("2012-04-01", "2014-03-31"),
            20_000.0,
        ),
        // Trafford's, but long after the grant.
        contract(
            ART,
            trafford,
            (Some("GB-CHC-1159034"), "Art with a Heart"),
            ("2015-01-01", "2016-12-31"),
            20_000.0,
        ),
    ]
}

fn import_trafford(conn: &mut DbConnection) -> i64 {
    let file =
        std::fs::File::open("fixtures/samples/trafford_360giving_grants_excerpt.csv").unwrap();
    let (run, report) = sync::file_import::import_grants(conn, None, "trafford.csv", file).unwrap();
    assert_eq!(report.imported, 15);
    assert_eq!(report.linked, Some(2), "{report:?}");
    run
}

#[tokio::test]
async fn grants_link_to_their_funders_contracts_and_show_as_transactions() {
    let db = TestDb::new();
    let url = db.url.clone();
    let mut conn = url.connect().unwrap();
    store_contracts(&mut conn, grant_contracts());
    let run = import_trafford(&mut conn);

    let mut links: Vec<(String, String, String, String, f64)> = grant_links::table
        .inner_join(grants::table)
        .select((
            grants::grant_id,
            grant_links::ocid,
            grant_links::contract_id,
            grant_links::method,
            grant_links::confidence,
        ))
        .load(&mut conn)
        .unwrap();
    links.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        links,
        [
            (
                "360G-traffordmbc-VSG1343".to_owned(),
                BE_ACTIVE.to_owned(),
                "C1".to_owned(),
                "supplier_name".to_owned(),
                0.8
            ),
            (
                "360G-traffordmbc-VSG1345".to_owned(),
                CYRIL_FLINT.to_owned(),
                "C1".to_owned(),
                "supplier_id".to_owned(),
                0.95
            ),
        ]
    );
    let position: String = grants::table
        .filter(grants::grant_id.eq("360G-traffordmbc-VSG1343"))
        .select(grants::position)
        .first(&mut conn)
        .unwrap();

    // Importing again relinks to the same.
    let file =
        std::fs::File::open("fixtures/samples/trafford_360giving_grants_excerpt.csv").unwrap();
    let (_, again) =
        sync::file_import::import_grants(&mut conn, None, "trafford.csv", file).unwrap();
    assert_eq!((again.imported, again.linked), (0, Some(2)));

    let app = TestApp::spawn_with_pool(db.pool(), url.backend(), Some(db));
    let path = format!("/api/v1/records/{BE_ACTIVE}");
    let (record, _) = json_of(&app, &path).await;
    let base = base_of(&record, &path);
    let expected: Value = serde_json::from_str(&format!(
        r#"[{{
            "id": "grant-360G-traffordmbc-VSG1343",
            "source": "{base}/api/v1/sync/runs/{run}",
            "date": "2013-01-18T00:00:00Z",
            "value": {{"amount": 3028.63, "currency": "GBP"}},
            "payer": {{"id": "GB-LAE-TRF", "name": "Trafford Metropolitan Borough Council"}},
            "payee": {{"id": "360G-trafford-be_active", "name": "Be Active"}},
            "reconciliation": {{
                "kind": "grant", "method": "supplier_name", "confidence": 0.8,
                "sourceFile": "trafford.csv", "sourcePosition": "{position}"
            }}
        }}]"#
    ))
    .unwrap();
    assert_eq!(
        record["records"][0]["compiledRelease"]["contracts"][0]["implementation"]["transactions"],
        expected
    );
    for (ocid, linked) in [(CYRIL_FLINT, true), (G_FORCE, false), (ART, false)] {
        let (record, _) = json_of(&app, &format!("/api/v1/records/{ocid}")).await;
        let contract = &record["records"][0]["compiledRelease"]["contracts"][0];
        assert_eq!(contract.get("implementation").is_some(), linked, "{ocid}");
    }
}

#[tokio::test]
async fn grants_are_downloads_in_csv_and_json_lines() {
    let db = TestDb::new();
    let url = db.url.clone();
    let mut conn = url.connect().unwrap();
    store_contracts(&mut conn, grant_contracts());
    let run = import_trafford(&mut conn);
    // A grant to a person: published by its anonymised id only.
    let person = json!({"grants": [{
        "id": "360G-traffordmbc-PERSON1", "title": "Bursary", "description": "Music bursary",
        "currency": "GBP", "amountAwarded": 250, "awardDate": "2014-02-01",
        "recipientIndividual": {"id": "360G-traffordmbc-IND-0001", "name": "Jane Example"},
        "fundingOrganization": [{"id": "GB-LAE-TRF", "name": "Trafford Metropolitan Borough Council"}]
    }]});
    let (_, report) = sync::file_import::import_grants(
        &mut conn,
        None,
        "person.json",
        person.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!((report.imported, report.rejected), (1, 0), "{report:?}");
    let app = TestApp::spawn_with_pool(db.pool(), url.backend(), Some(db));

    let (index, _) = json_of(&app, "/downloads?format=json").await;
    assert_eq!(index["grants"], 16);
    for name in ["grants.jsonl", "grants.csv"] {
        let file = index["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed"));
        assert_eq!(
            (&file["count"], &file["count_of"]),
            (&json!(16), &json!("grants"))
        );
        assert!(
            file["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/downloads/{name}"))
        );
    }

    let response = app.get("/downloads/grants.jsonl").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    assert!(!text.contains("Jane Example"), "no person is named");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 16);
    let base = index["catalog"]
        .as_str()
        .unwrap()
        .strip_suffix("/catalog.json")
        .unwrap();
    let be_active = lines
        .iter()
        .find(|g| g["id"] == "360G-traffordmbc-VSG1343")
        .unwrap();
    let expected: Value = serde_json::from_str(&format!(
        r#"{{
        "id": "360G-traffordmbc-VSG1343",
        "title": "Voluntary Sector Grant to Be Active",
        "description": "To organise and provide low cost, high quality modern coaching sessions for girls and boys in south area",
        "currency": "GBP",
        "amountAwarded": 3028.63,
        "awardDate": "2013-01-18",
        "recipientOrganization": [{{"id": "360G-trafford-be_active", "name": "Be Active"}}],
        "fundingOrganization": [{{"id": "GB-LAE-TRF", "name": "Trafford Metropolitan Borough Council"}}],
        "grantProgramme": [{{"title": "Voluntary Sector Grants"}}],
        "linkedContract": {{"ocid": "{BE_ACTIVE}", "contractId": "C1", "method": "supplier_name", "confidence": 0.8}},
        "source": {{"file": "trafford.csv", "position": "{position}", "run": "{base}/api/v1/sync/runs/{run}"}}
    }}"#,
        position = be_active["source"]["position"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(be_active, &expected);
    let person = lines
        .iter()
        .find(|g| g["id"] == "360G-traffordmbc-PERSON1")
        .unwrap();
    assert_eq!(
        person["recipientIndividual"],
        json!({"id": "360G-traffordmbc-IND-0001"})
    );
    assert!(person.get("recipientOrganization").is_none());
    assert_eq!(person["amountAwarded"].to_string(), "250.00");

    let csv = app.get("/downloads/grants.csv").await.text().await.unwrap();
    assert!(!csv.contains("Jane Example"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, register::export::GRANT_CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 16);
    let cyril = rows
        .iter()
        .find(|r| &r[0] == "360G-traffordmbc-VSG1345")
        .unwrap();
    assert_eq!(
        (&cyril[4], &cyril[8], &cyril[14], &cyril[15], &cyril[16]),
        (
            "3056.37",
            "GB-COH-07962245",
            CYRIL_FLINT,
            "C1",
            "supplier_id"
        )
    );
    let person = rows
        .iter()
        .find(|r| &r[0] == "360G-traffordmbc-PERSON1")
        .unwrap();
    assert_eq!(
        (&person[8], &person[9], &person[10]),
        ("", "", "360G-traffordmbc-IND-0001")
    );

    // `year` selects by award date; the register filters do not apply to grants.
    let year = app
        .get("/downloads/grants.csv?year=2013")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv::Reader::from_reader(year.as_bytes()).records().count(),
        15
    );
    let filtered = app.get("/downloads/grants.jsonl?buyer=GB-LAE-TRF").await;
    assert_eq!(filtered.status(), 400);
}
