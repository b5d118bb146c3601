//! Organisation identity: one organisation, one profile across sources. Trafford's 360Giving
//! grants name a charitable company by its charity number (or a charity by its company
//! number); a small register names the same organisations as suppliers by their other id. The
//! profile is one, reachable by every id, with appearances from both sources counted once; the
//! merge rule (canonical id, no chains, refused contradictions, idempotence) holds on the
//! database.

use std::path::Path;

use diesel::prelude::*;
use register::{
    DbConnection,
    identity::{self, Recorded},
    schema::org_equivalents,
    testing::TestDb,
};
use serde_json::{Value, json};

use crate::support::{TestApp, ocreg};

fn sample(name: &str) -> std::path::PathBuf {
    Path::new("fixtures/samples")
        .join(name)
        .canonicalize()
        .unwrap()
}

fn import_grants(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let output = ocreg(dir.path())
        .args(["--database", &db.url_string(), "import", "grants"])
        .arg(sample("trafford_360giving_grants_excerpt.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
}

/// Trafford's contract with `supplier` (a party), on `date`.
fn contract(ocid: &str, date: &str, supplier: Value) -> (Value, String) {
    let reference = json!({"id": supplier["id"], "name": supplier["name"]});
    let mut party = supplier;
    party["roles"] = json!(["supplier"]);
    let release = json!({
        "ocid": ocid, "id": format!("{ocid}-{date}"), "date": format!("{date}T10:00:00Z"),
        "tag": ["award"], "initiationType": "tender",
        "buyer": {"id": "GB-LAE-TRF", "name": "Trafford Metropolitan Borough Council"},
        "parties": [
            {"id": "GB-LAE-TRF", "name": "Trafford Metropolitan Borough Council",
             "roles": ["buyer"]},
            party
        ],
        "awards": [{"id": "A1", "status": "active", "suppliers": [reference],
                    "value": {"amount": 12000, "currency": "GBP"}}]
    });
    (release, "/0".to_owned())
}

/// G-Force: a charity to 360Giving (GB-CHC-1110767), a company to the register, which says so
/// in `additionalIdentifiers` when `with_charity_number`.
fn g_force(date: &str, with_charity_number: bool) -> (Value, String) {
    let mut party = json!({
        "id": "GB-COH-04123456", "name": "G-FORCE LIMITED",
        "identifier": {"scheme": "GB-COH", "id": "04123456"}
    });
    if with_charity_number {
        party["additionalIdentifiers"] = json!([{"scheme": "GB-CHC", "id": "1110767"}]);
    }
    contract("ocds-ocdemo-identity-1", date, party)
}

/// Cyril Flint Befrienders: GB-COH-07962245 with charity number 1146179 to 360Giving; the
/// register names it by the charity number alone, in a short spelling of its id.
fn cyril_flint() -> (Value, String) {
    contract(
        "ocds-ocdemo-identity-2",
        "2024-02-01",
        json!({"id": "gb-chc-1146179", "name": "Cyril Flint Befrienders Ltd"}),
    )
}

fn store(db: &TestDb, releases: &[(Value, String)]) {
    let mut conn = db.url.connect().unwrap();
    register::releases::store(&mut conn, releases, "test", None).unwrap();
}

async fn profile(app: &TestApp, id: &str) -> (Value, String) {
    let response = app.get(&format!("/api/v1/organisations/{id}")).await;
    assert_eq!(response.status(), 200, "{id}");
    let link = response
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.json().await.unwrap(), link)
}

fn ids_of(profile: &Value) -> Vec<&str> {
    profile["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect()
}

async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    app.every_page(&format!("/api/v1/organisations?limit=5{query}"))
        .await
        .iter()
        .flat_map(|page| page["data"].as_array().unwrap().clone())
        .map(|org| org["org_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_organisation_has_one_profile_across_grants_and_contracts() {
    let db = TestDb::new();
    import_grants(&db);
    store(&db, &[g_force("2024-01-15", true), cyril_flint()]);
    let app = TestApp::spawn_with_pool(db.pool(), db.url.backend(), Some(db));

    // G-Force: by either id, the one profile under its company number (companies first).
    let (by_charity, link) = profile(&app, "GB-CHC-1110767").await;
    let (by_company, _) = profile(&app, "GB-COH-04123456").await;
    assert_eq!(by_charity, by_company);
    assert_eq!(by_charity["org_id"], "GB-COH-04123456");
    assert!(
        link.ends_with("/api/v1/organisations/GB-COH-04123456>; rel=\"canonical\""),
        "{link}"
    );
    assert_eq!(ids_of(&by_charity), ["GB-COH-04123456", "GB-CHC-1110767"]);
    let charity = &by_charity["identifiers"][1];
    assert_eq!(charity["method"], identity::PARTY_IDENTIFIERS);
    assert_eq!(charity["source"], "ocds-ocdemo-identity-1");
    assert_eq!(by_charity["identifiers"][0]["canonical"], true);
    assert_eq!(by_charity["name"], "G-FORCE LIMITED");
    assert_eq!(by_charity["other_names"], json!(["G-Force"]));
    assert_eq!(by_charity["roles"], json!(["grantRecipient", "supplier"]));
    let seen = &by_charity["appearances"];
    assert_eq!(
        (
            &seen["as_supplier"],
            &seen["as_grant_recipient"],
            &seen["as_buyer"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{seen}"
    );

    // Cyril Flint: 360Giving's charity number and the register's spelling of it are one.
    let (profile_by_company, _) = profile(&app, "GB-COH-07962245").await;
    for id in [
        "GB-CHC-1146179",
        "gb-chc-1146179",
        "1146179",
        "GB-COH-7962245",
    ] {
        let (other, _) = profile(&app, id).await;
        assert_eq!(other, profile_by_company, "{id}");
    }
    assert_eq!(profile_by_company["org_id"], "GB-COH-07962245");
    assert_eq!(
        ids_of(&profile_by_company),
        ["GB-COH-07962245", "GB-CHC-1146179", "gb-chc-1146179"]
    );
    assert_eq!(
        profile_by_company["identifiers"][1]["method"],
        identity::GRANT_ORGANISATION
    );
    assert_eq!(
        profile_by_company["identifiers"][1]["source"],
        "360G-traffordmbc-VSG1345"
    );
    assert_eq!(profile_by_company["appearances"]["as_supplier"], 1);
    assert_eq!(profile_by_company["appearances"]["as_grant_recipient"], 1);
    assert_eq!(profile_by_company["name"], "Cyril Flint Befrienders");
    assert_eq!(
        profile_by_company["other_names"],
        json!(["Cyril Flint Befrienders Ltd"])
    );

    // The list: each organisation once, under its canonical id, found by any of its names.
    let all = listed(&app, "").await;
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(all.len(), unique.len(), "{all:?}");
    assert_eq!(all.len(), 16, "Trafford, 15 recipients: {all:?}");
    for alias in ["GB-CHC-1110767", "GB-CHC-1146179", "gb-chc-1146179"] {
        assert!(!all.iter().any(|id| id == alias), "{alias}");
    }
    assert_eq!(listed(&app, "&q=g-force").await, ["GB-COH-04123456"]);
    assert_eq!(
        listed(&app, "&q=Befrienders%20Ltd").await,
        ["GB-COH-07962245"]
    );
    let suppliers = listed(&app, "&role=supplier").await;
    assert_eq!(suppliers, ["GB-COH-07962245", "GB-COH-04123456"]);
    let page: Value = app
        .get("/api/v1/organisations?q=g-force")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        ids_of(&page["data"][0]),
        ["GB-COH-04123456", "GB-CHC-1110767"]
    );
}

#[tokio::test]
async fn two_profiles_merge_when_a_source_says_they_are_one_in_either_order() {
    // The register first, without the charity number: two organisations.
    let db = TestDb::new();
    store(&db, &[g_force("2024-01-15", false), cyril_flint()]);
    import_grants(&db);
    let mut conn = db.url.connect().unwrap();
    assert_eq!(
        identity::canonical_id(&mut conn, "GB-CHC-1110767").unwrap(),
        "GB-CHC-1110767"
    );
    // A later release of the contract says the company is the charity: one organisation.
    store(&db, &[g_force("2024-03-01", true)]);
    let merged = identity::equivalent_ids(&mut conn, "GB-CHC-1110767").unwrap();
    assert_eq!(merged, ["GB-COH-04123456", "GB-CHC-1110767"]);
    drop(conn);
    let app = TestApp::spawn_with_pool(db.pool(), db.url.backend(), Some(db));
    let (one, _) = profile(&app, "GB-CHC-1110767").await;
    assert_eq!(one["org_id"], "GB-COH-04123456");
    assert_eq!(
        one["appearances"]["as_supplier"], 1,
        "one record, counted once"
    );
    assert_eq!(one["appearances"]["as_grant_recipient"], 1);
    assert_eq!(one["roles"], json!(["grantRecipient", "supplier"]));

    // The other order gives the same organisations under the same ids.
    let other = TestDb::new();
    import_grants(&other);
    store(&other, &[g_force("2024-03-01", true), cyril_flint()]);
    let other_app = TestApp::spawn_with_pool(other.pool(), other.url.backend(), Some(other));
    for id in ["GB-CHC-1110767", "GB-CHC-1146179"] {
        let (a, _) = profile(&app, id).await;
        let (b, _) = profile(&other_app, id).await;
        assert_eq!(a["org_id"], b["org_id"], "{id}");
        assert_eq!(ids_of(&a), ids_of(&b), "{id}");
        assert_eq!(a["appearances"], b["appearances"], "{id}");
    }
    let mut first = listed(&app, "").await;
    let mut second = listed(&other_app, "").await;
    first.sort();
    second.sort();
    assert_eq!(first, second);
}

type Rows = Vec<(String, String, String, String)>;

fn equivalents(conn: &mut DbConnection) -> Rows {
    org_equivalents::table
        .select((
            org_equivalents::org_id,
            org_equivalents::canonical_id,
            org_equivalents::method,
            org_equivalents::source,
        ))
        .order(org_equivalents::org_id)
        .load(conn)
        .unwrap()
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_merge_rule_holds_on_the_database() {
    let db = TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let record = |conn: &mut DbConnection, ids: &[&str], source: &str| {
        identity::record(conn, &owned(ids), "Kids First", "test", source).unwrap()
    };

    // A chain in the making: a ≡ CHC, then CHC ≡ COH. Every id points at COH directly.
    let first = record(&mut conn, &["360G-x-kids_first", "GB-CHC-1000001"], "s1");
    assert_eq!(
        first,
        Recorded::Merged {
            members: owned(&["GB-CHC-1000001", "360G-x-kids_first"])
        }
    );
    record(&mut conn, &["GB-CHC-1000001", "GB-COH-00000009"], "s2");
    let rows = equivalents(&mut conn);
    assert_eq!(
        rows,
        vec![
            (
                "360G-x-kids_first".into(),
                "GB-COH-00000009".into(),
                "test".into(),
                "s1".into()
            ),
            (
                "GB-CHC-1000001".into(),
                "GB-COH-00000009".into(),
                "test".into(),
                "s2".into()
            ),
        ],
        "re-pointed, keeping how each id was first linked"
    );
    assert_eq!(
        identity::canonical_id(&mut conn, "360G-x-kids_first").unwrap(),
        "GB-COH-00000009"
    );
    assert_eq!(
        identity::canonical_id(&mut conn, "GB-COH-9").unwrap(),
        "GB-COH-00000009",
        "another spelling"
    );
    assert_eq!(
        identity::canonical_id(&mut conn, "GB-COH-00000010").unwrap(),
        "GB-COH-00000010",
        "an id with no row is its own"
    );
    assert_eq!(
        identity::equivalent_ids(&mut conn, "GB-CHC-1000001").unwrap(),
        owned(&["GB-COH-00000009", "360G-x-kids_first", "GB-CHC-1000001"])
    );

    // Recording again, or part of it, writes nothing.
    assert_eq!(
        record(
            &mut conn,
            &["GB-COH-00000009", "GB-CHC-1000001", "360G-x-kids_first"],
            "s3"
        ),
        Recorded::Known
    );
    assert_eq!(equivalents(&mut conn), rows);

    // A second charity number for the organisation is refused whole.
    let refused = record(
        &mut conn,
        &["360G-x-kids_first", "GB-CHC-1000002", "360G-y-other"],
        "s4",
    );
    assert!(
        matches!(&refused, Recorded::Refused(c) if c.scheme == "GB-CHC"),
        "{refused:?}"
    );
    assert_eq!(equivalents(&mut conn), rows);
    assert_eq!(
        identity::canonical_id(&mut conn, "360G-y-other").unwrap(),
        "360G-y-other"
    );

    // Every id of the organisation has a row in organisations, and the profile is one.
    let profiles: Vec<String> = register::schema::organisations::table
        .select(register::schema::organisations::org_id)
        .order(register::schema::organisations::org_id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        profiles,
        owned(&["360G-x-kids_first", "GB-CHC-1000001", "GB-COH-00000009"])
    );
    let (page, _) = register::organisations::page(&mut conn, None, None, 100, None).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].org_id, "GB-COH-00000009");
}

#[tokio::test]
async fn payments_count_by_any_id_and_never_show_a_redacted_name() {
    let db = TestDb::new();
    import_grants(&db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trafford-spend-2024-02.csv");
    std::fs::write(
        &file,
        "Payment Date,Supplier Name,Supplier ID,Amount,Description\n\
         01/02/2024,Cyril Flint Befrienders,GB-CHC-1146179,750.00,befriending\n\
         02/02/2024,REDACTED,GB-CHC-1146179,600.00,personal data\n\
         03/02/2024,Cyril Flint Befrienders,GB-COH-07962245,820.00,befriending\n",
    )
    .unwrap();
    let output = ocreg(dir.path())
        .args(["--database", &db.url_string(), "import", "spend"])
        .arg(&file)
        .args(["--publisher", "GB-LAE-TRF"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let app = TestApp::spawn_with_pool(db.pool(), db.url.backend(), Some(db));

    let (cyril, _) = profile(&app, "GB-CHC-1146179").await;
    assert_eq!(
        cyril["appearances"]["as_payee"], 2,
        "both ids count; the redacted line does not"
    );
    let (trafford, _) = profile(&app, "GB-LAE-TRF").await;
    assert_eq!(trafford["appearances"]["as_payer"], 3);
    assert_eq!(trafford["appearances"]["as_funder"], 15);
    let spend: Value = app
        .get("/api/v1/spend?buyer=GB-LAE-TRF")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&Value> = spend["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["supplier"])
        .collect();
    let cyril = json!("Cyril Flint Befrienders");
    assert_eq!(
        names,
        [&cyril, &Value::Null, &cyril],
        "the redacted line has no name"
    );
    let all = app
        .get("/api/v1/organisations?limit=1000")
        .await
        .text()
        .await;
    assert!(!all.unwrap().contains("\"REDACTED\""));
}

#[tokio::test]
async fn a_funder_and_a_recipient_are_one_whichever_id_a_grant_uses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("foundation-grants.csv");
    // A community foundation (a charitable company) funds one group twice: once under the
    // foundation's own id for it with its charity number, once under the charity number.
    std::fs::write(
        &file,
        "Identifier,Title,Description,Currency,Amount Awarded,Award Date,\
         Recipient Org:Identifier,Recipient Org:Name,Recipient Org:Charity Number,\
         Funding Org:Identifier,Funding Org:Name,Funding Org:Charity Number,\
         Funding Org:Company Number\n\
         360G-cf-1,Youth club,Weekly sessions,GBP,5000,2024-04-01,\
         360G-cf-org-youth_hub,Youth Hub,1199999,\
         GB-CHC-1000001,Community Foundation,1000001,2345678\n\
         360G-cf-2,Youth club,Summer sessions,GBP,2500,2024-07-01,\
         GB-CHC-1199999,YOUTH HUB,,\
         GB-CHC-1000001,Community Foundation,1000001,2345678\n",
    )
    .unwrap();
    let db = TestDb::new();
    let output = ocreg(dir.path())
        .args(["--database", &db.url_string(), "import", "grants"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let app = TestApp::spawn_with_pool(db.pool(), db.url.backend(), Some(db));

    let (funder, _) = profile(&app, "GB-CHC-1000001").await;
    assert_eq!(funder["org_id"], "GB-COH-02345678");
    assert_eq!(ids_of(&funder), ["GB-COH-02345678", "GB-CHC-1000001"]);
    assert_eq!(funder["identifiers"][1]["source"], "360G-cf-1");
    assert_eq!(funder["appearances"]["as_funder"], 2);
    assert_eq!(funder["roles"], json!(["funder"]));

    let (hub, _) = profile(&app, "360G-cf-org-youth_hub").await;
    assert_eq!(hub["org_id"], "GB-CHC-1199999");
    assert_eq!(hub["appearances"]["as_grant_recipient"], 2);
    assert_eq!(hub["name"], "Youth Hub");
    assert_eq!(hub["other_names"], json!(["YOUTH HUB"]));
    assert_eq!(
        listed(&app, "").await,
        ["GB-COH-02345678", "GB-CHC-1199999"],
        "two organisations, each once"
    );
}
