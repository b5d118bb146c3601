//! `ocreg import spend` and `ocreg import grants`: council spend files (the real Devon excerpts
//! and messy ones of our own) and 360Giving grants (Trafford's, JSON and CSV) stored exactly,
//! re-imports adding nothing, and each file's quality report at `/api/v1/sync/runs/{id}`.

use std::path::Path;

use chrono::NaiveDate;
use diesel::prelude::*;
use register::{
    schema::{grants, spend_transactions},
    testing::TestDb,
};
use serde_json::Value;

use crate::support::{TestApp, ocreg};

fn import(db: &TestDb, file: &Path, publisher: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    ocreg(dir.path())
        .args(["--database", &db.url_string(), "import", "spend"])
        .arg(file)
        .args(["--publisher", publisher])
        .output()
        .unwrap()
}

fn import_grants(db: &TestDb, file: &Path) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    ocreg(dir.path())
        .args(["--database", &db.url_string(), "import", "grants"])
        .arg(file)
        .output()
        .unwrap()
}

fn sample(name: &str) -> std::path::PathBuf {
    Path::new("fixtures/samples")
        .join(name)
        .canonicalize()
        .unwrap()
}

type Line = (i64, NaiveDate, i64, Option<String>, bool);

fn lines(db: &TestDb) -> Vec<Line> {
    let mut conn = db.url.connect().unwrap();
    spend_transactions::table
        .select((
            spend_transactions::line,
            spend_transactions::payment_date,
            spend_transactions::amount_pence,
            spend_transactions::supplier_name,
            spend_transactions::supplier_redacted,
        ))
        .order((spend_transactions::source_file, spend_transactions::line))
        .load(&mut conn)
        .unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn devon_spend_files_import_exactly_and_again_add_nothing() {
    let db = TestDb::new();
    let files = [
        "devon_spend_over_500_2026-03_excerpt.csv",
        "devon_spend_over_500_2019-05_excerpt.csv",
        "devon_spend_over_500_2011-12_excerpt_cp1252.csv",
    ];
    for file in files {
        let output = import(&db, &sample(file), "GB-LAE-DEV");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{file}: {stderr}");
    }
    let stored = lines(&db);
    assert_eq!(stored.len(), 11 + 9 + 6, "{stored:?}");

    // 2026-03: UTF-8 with BOM, padded amounts with thousands separators, a total row skipped.
    let march: Vec<&Line> = stored
        .iter()
        .filter(|l| l.1.format("%Y-%m").to_string() == "2026-03")
        .collect();
    assert_eq!(march.len(), 11);
    assert_eq!(march.iter().map(|l| l.2).sum::<i64>(), 19_375_399);
    assert!(stored.contains(&(
        2,
        date("2026-03-02"),
        51_989,
        Some("TRIP COMMUNITY TRANSPORT ASSOCIATION".into()),
        false
    )));
    assert!(
        stored.iter().any(|l| l.2 == 639_000),
        "\" 6,390.00 \" is 639000 pence"
    );
    // 2019-05: ISO dates, credit notes, redacted suppliers stored without a name.
    assert!(stored.iter().any(|l| l.2 == -57_171));
    assert!(stored.iter().any(|l| l.2 == -50_994));
    let redacted: Vec<&Line> = stored.iter().filter(|l| l.4).collect();
    assert!(!redacted.is_empty());
    assert!(
        redacted.iter().all(|l| l.3.is_none()),
        "no redacted name is stored"
    );
    assert!(
        stored.iter().all(|l| l
            .3
            .as_deref()
            .is_none_or(|n| !n.to_uppercase().contains("REDACTED"))),
        "redaction notes are not names"
    );
    // 2011-12: Windows-1252, an exponent residue that is zero.
    assert!(stored.iter().any(|l| l.1 < date("2012-01-01") && l.2 == 0));

    for file in files {
        let output = import(&db, &sample(file), "gb-lae-dev");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains(" 0 imported"), "{stderr}");
    }
    assert_eq!(lines(&db), stored, "importing again adds nothing");
}

#[tokio::test]
async fn a_messy_file_reports_its_rejects_by_line_and_stores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spend-2026-04.csv");
    std::fs::write(
        &file,
        "Spend over £500, April 2026\n\
         Payment Date,Beneficiary,Net Amount £,Service area,Narrative\n\
         01/04/2026,Acme Foster Care Ltd,\"1,234.50\",Children's Services,\"placement,\nweek 1\"\n\
         31/04/2026,Acme Foster Care Ltd,100.00,Children's Services,bad date\n\
         02/04/2026,REDACTED,(250.00),Children's Services,refund\n\
         ,,,,\n\
         03/04/2026,Family Hub CIC,abc,Early Help,bad amount\n\
         Total,,\"1,084.50\",,\n",
    )
    .unwrap();
    let db = TestDb::new();
    let output = import(&db, &file, "GB-LAE-XYZ");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "rows were rejected: {stderr}"
    );
    assert!(stderr.contains("line 5"), "{stderr}");
    assert!(stderr.contains("line 8"), "{stderr}");
    let stored = lines(&db);
    assert_eq!(
        stored,
        vec![
            (
                3,
                date("2026-04-01"),
                123_450,
                Some("Acme Foster Care Ltd".into()),
                false
            ),
            (6, date("2026-04-02"), -25_000, None, true),
        ]
    );
    let run_id: i64 = stderr
        .split("GET /api/v1/sync/runs/")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|id| id.parse().ok())
        .expect("the run id is printed");

    let pool = db.pool();
    let backend = db.url.backend();
    let app = TestApp::spawn_with_pool(pool, backend, Some(db));
    let run: Value = app
        .get(&format!("/api/v1/sync/runs/{run_id}"))
        .await
        .json()
        .await
        .unwrap();
    let rows = &run["summary"]["rows"];
    assert_eq!(run["source"], "import:spend:GB-LAE-XYZ");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(rows["imported"], 2);
    assert_eq!(rows["rejected"], 2);
    assert_eq!(rows["skipped"], 2, "{rows}");
    let rejected: Vec<u64> = rows["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [5, 8]);
}

#[test]
fn a_file_that_is_not_spend_data_stores_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("minutes.csv");
    std::fs::write(&file, "Meeting,Attendees\nBudget,12\n").unwrap();
    let db = TestDb::new();
    let output = import(&db, &file, "GB-LAE-XYZ");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("minutes.csv"), "{stderr}");
    assert!(lines(&db).is_empty());
    let output = import(&db, &file, "not an org id");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not an org-id"), "{stderr}");
}

type GrantLine = (String, i64, NaiveDate, String, Option<String>, bool);

fn stored_grants(db: &TestDb) -> Vec<GrantLine> {
    let mut conn = db.url.connect().unwrap();
    grants::table
        .select((
            grants::grant_id,
            grants::amount_awarded_pence,
            grants::award_date,
            grants::recipient_org_id,
            grants::recipient_name,
            grants::recipient_is_individual,
        ))
        .order(grants::grant_id)
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn grants_import_from_csv_and_json_once_and_changes_replace() {
    let db = TestDb::new();
    let output = import_grants(&db, &sample("trafford_360giving_grants_excerpt.csv"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("15 row(s) read, 15 imported"), "{stderr}");
    let stored = stored_grants(&db);
    assert_eq!(stored.len(), 15);
    assert!(stored.contains(&(
        "360G-traffordmbc-VSG1343".into(),
        302_863,
        date("2013-01-18"),
        "360G-trafford-be_active".into(),
        Some("Be Active".into()),
        false
    )));

    // Funder and recipients have organisation profiles with their grants.
    let pool = db.pool();
    let app = TestApp::spawn_with_pool(pool, db.url.backend(), None);
    let funder: Value = app
        .get("/api/v1/organisations/GB-LAE-TRF")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(funder["name"], "Trafford Metropolitan Borough Council");
    assert_eq!(funder["roles"], serde_json::json!(["funder"]));
    assert_eq!(funder["appearances"]["as_funder"], 15);
    let recipient: Value = app
        .get("/api/v1/organisations/360G-trafford-be_active")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recipient["name"], "Be Active");
    assert_eq!(recipient["appearances"]["as_grant_recipient"], 1);

    // The JSON form of three of the same grants adds nothing.
    let output = import_grants(&db, &sample("trafford_360giving_grants_excerpt.json"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 row(s) read, 0 imported, 3 already stored"),
        "{stderr}"
    );
    assert_eq!(stored_grants(&db), stored);

    // A re-published file with one corrected amount, one broken grant and one to a person.
    let text = std::fs::read_to_string(sample("trafford_360giving_grants_excerpt.json")).unwrap();
    let mut package: Value = serde_json::from_str(&text).unwrap();
    let grants = package["grants"].as_array_mut().unwrap();
    let corrected = grants[0]["id"].as_str().unwrap().to_owned();
    grants[0]["amountAwarded"] = serde_json::json!(1000);
    grants[1].as_object_mut().unwrap().remove("awardDate");
    grants[2]
        .as_object_mut()
        .unwrap()
        .remove("recipientOrganization");
    grants[2]["id"] = "360G-traffordmbc-PERSON1".into();
    grants[2]["recipientIndividual"] =
        serde_json::json!({"id": "360G-traffordmbc-IND-0001", "name": "Jane Example"});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("republished.json");
    std::fs::write(&file, package.to_string()).unwrap();
    let output = import_grants(&db, &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/grants/1/awardDate"), "{stderr}");
    let after = stored_grants(&db);
    assert_eq!(after.len(), 16, "one new grant, one replaced, one rejected");
    let replaced = after.iter().find(|g| g.0 == corrected).unwrap();
    assert_eq!(replaced.1, 100_000);
    let person = after
        .iter()
        .find(|g| g.0 == "360G-traffordmbc-PERSON1")
        .unwrap();
    assert_eq!(
        (person.3.as_str(), person.4.clone(), person.5),
        ("360G-traffordmbc-IND-0001", None, true)
    );
    let mut conn = db.url.connect().unwrap();
    let bodies: Vec<String> = grants::table.select(grants::body).load(&mut conn).unwrap();
    assert!(
        bodies.iter().all(|b| !b.contains("Jane Example")),
        "no person is named"
    );
}

#[tokio::test]
async fn spend_is_listed_filtered_paged_and_as_csv() {
    let db = TestDb::new();
    let output = import(
        &db,
        &sample("devon_spend_over_500_2026-03_excerpt.csv"),
        "GB-LAE-DEV",
    );
    assert!(output.status.success());
    let expected = lines(&db);
    let pool = db.pool();
    let backend = db.url.backend();
    let app = TestApp::spawn_with_pool(pool, backend, Some(db));
    let get = |path: String| {
        let app = &app;
        async move {
            let response = app.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };

    let all = get("/api/v1/spend?buyer=gb-lae-dev&limit=1000".into()).await;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), expected.len());
    assert!(all["links"]["next"].is_null());
    let pence = |row: &Value| (row["amount"].as_f64().unwrap() * 100.0).round() as i64;
    let total: i64 = data.iter().map(pence).sum();
    assert_eq!(total, expected.iter().map(|l| l.2).sum::<i64>());

    let found = get("/api/v1/spend?supplier=intervention".into()).await;
    let found = found["data"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["supplier"], "SOUTHWEST INTERVENTION SERVICES");
    assert_eq!(pence(&found[0]), 639_000);
    assert!(found[0]["source"]["line"].as_i64().unwrap() > 1);

    let large = get("/api/v1/spend?min_amount=1000&max_amount=7000".into()).await;
    let large = large["data"].as_array().unwrap();
    let want = expected
        .iter()
        .filter(|l| (100_000..=700_000).contains(&l.2))
        .count();
    assert_eq!(large.len(), want);
    assert!(want > 0 && want < expected.len());

    // Pages of 4 visit every row once.
    let seen: Vec<i64> = app
        .every_page("/api/v1/spend?limit=4")
        .await
        .iter()
        .flat_map(|page| page["data"].as_array().unwrap().clone())
        .map(|row| row["id"].as_i64().unwrap())
        .collect();
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (expected.len(), expected.len()));

    let csv = app.get("/api/v1/spend?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), expected.len());

    for bad in [
        "min_amount=abc",
        "date_from=03/2026",
        "limit=0",
        "colour=red",
    ] {
        let response = app.get(&format!("/api/v1/spend?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

fn contract(ocid: &str, supplier: &str, start: &str, end: &str, pounds: f64) -> Value {
    serde_json::json!({
        "ocid": ocid, "id": format!("{ocid}-contract"), "date": "2026-01-05T10:00:00Z",
        "tag": ["award", "contract"], "initiationType": "tender",
        "buyer": {"id": "GB-LAE-DEV", "name": "Devon County Council"},
        "parties": [
            {"id": "GB-LAE-DEV", "name": "Devon County Council", "roles": ["buyer"]},
            {"id": "GB-COH-00000001", "name": supplier, "roles": ["supplier"]}
        ],
        "awards": [{
            "id": "A1", "status": "active",
            "suppliers": [{"id": "GB-COH-00000001", "name": supplier}],
            "value": {"amount": pounds, "currency": "GBP"}
        }],
        "contracts": [{
            "id": "C1", "awardID": "A1", "status": "active",
            "period": {"startDate": format!("{start}T00:00:00Z"), "endDate": format!("{end}T00:00:00Z")},
            "value": {"amount": pounds, "currency": "GBP"}
        }]
    })
}

#[tokio::test]
async fn payments_are_linked_to_their_contract_and_summed_by_month() {
    let db = TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let linked = "ocds-ocdemo-spend-1";
    let ended = "ocds-ocdemo-spend-2";
    let incoming = vec![
        // The supplier Devon paid £6,390 in March 2026, under contract all year.
        (
            contract(
                linked,
                "Southwest Intervention Services",
                "2026-01-01",
                "2026-12-31",
                120_000.0,
            ),
            "/0".to_owned(),
        ),
        // A supplier Devon also paid in March 2026, but under a contract that ended in 2020.
        (
            contract(
                ended,
                "Nest Rooms Ltd",
                "2019-01-01",
                "2020-12-31",
                50_000.0,
            ),
            "/1".to_owned(),
        ),
    ];
    register::releases::store(&mut conn, &incoming, "test", None).unwrap();
    drop(conn);
    let output = import(
        &db,
        &sample("devon_spend_over_500_2026-03_excerpt.csv"),
        "GB-LAE-DEV",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 of the publisher's payments are linked"),
        "{stderr}"
    );

    let pool = db.pool();
    let backend = db.url.backend();
    let app = TestApp::spawn_with_pool(pool, backend, Some(db));
    let spend: Value = app
        .get(&format!("/api/v1/contracts/{linked}/spend"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spend["value"].as_f64(), Some(120_000.0));
    assert_eq!(spend["paid"].as_f64(), Some(6_390.0));
    assert_eq!(spend["paid_share"].as_f64(), Some(0.0533));
    assert_eq!(spend["by_month"][0]["month"], "2026-03");
    assert_eq!(spend["by_month"][0]["payments"], 1);
    let payment = &spend["payments"][0];
    assert_eq!(payment["supplier"], "SOUTHWEST INTERVENTION SERVICES");
    assert_eq!(payment["method"], "supplier_name");
    assert!(payment["confidence"].as_f64().unwrap() >= 0.7);

    let none: Value = app
        .get(&format!("/api/v1/contracts/{ended}/spend"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["paid"].as_f64(), Some(0.0));
    assert!(
        none["payments"].as_array().unwrap().is_empty(),
        "outside the period"
    );
    let missing = app.get("/api/v1/contracts/ocds-nope/spend").await;
    assert_eq!(missing.status(), 404);
}

/// Links follow the contract side too: payments imported before their contract is in the
/// register are linked once it arrives, and unlinked again when a later release moves the
/// contract's period away from them.
#[test]
fn payments_are_relinked_when_their_contract_arrives_or_changes() {
    let db = TestDb::new();
    let output = import(
        &db,
        &sample("devon_spend_over_500_2026-03_excerpt.csv"),
        "GB-LAE-DEV",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 of the publisher's payments are linked"),
        "{stderr}"
    );
    let links = || {
        let mut conn = db.url.connect().unwrap();
        register::schema::spend_links::table
            .select(register::schema::spend_links::ocid)
            .load::<String>(&mut conn)
            .unwrap()
    };
    let import_releases = |releases: &[Value]| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("releases.jsonl");
        let text: Vec<String> = releases.iter().map(Value::to_string).collect();
        std::fs::write(&file, text.join("\n")).unwrap();
        let output = ocreg(dir.path())
            .args(["--database", &db.url_string(), "import"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    let ocid = "ocds-ocdemo-spend-late";
    let supplier = "Southwest Intervention Services";
    let stderr = import_releases(&[contract(
        ocid,
        supplier,
        "2026-01-01",
        "2026-12-31",
        120_000.0,
    )]);
    assert!(
        stderr.contains("contracts changed for 1 buyer(s) with payments: 1 payment(s) now linked"),
        "{stderr}"
    );
    assert_eq!(links(), vec![ocid.to_owned()]);

    // A correction: the contract starts in 2027, long after the March 2026 payment.
    let mut moved = contract(ocid, supplier, "2027-06-01", "2028-05-31", 120_000.0);
    moved["id"] = Value::from(format!("{ocid}-contract-amended"));
    moved["date"] = Value::from("2026-02-01T10:00:00Z");
    let stderr = import_releases(&[moved]);
    assert!(
        stderr.contains("contracts changed for 1 buyer(s) with payments: 0 payment(s) now linked"),
        "{stderr}"
    );
    assert!(links().is_empty());
    let mut conn = db.url.connect().unwrap();
    assert!(
        register::relink_queue::pending(&mut conn)
            .unwrap()
            .is_empty()
    );
}

/// Whoever changes a contract (here another process writing to the database), the daemon in
/// `ocreg serve` relinks the buyer's payments on its next round.
#[tokio::test]
async fn the_daemon_relinks_payments_when_another_process_changes_a_contract() {
    let db = TestDb::new();
    let output = import(
        &db,
        &sample("devon_spend_over_500_2026-03_excerpt.csv"),
        "GB-LAE-DEV",
    );
    assert!(output.status.success());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ocreg.toml"),
        "relink_interval_seconds = 1\n",
    )
    .unwrap();
    let served =
        crate::support::Served::start(dir.path(), &["--database", &db.url_string(), "--no-demo"]);
    let ocid = "ocds-ocdemo-spend-daemon";
    let mut conn = db.url.connect().unwrap();
    let release = contract(
        ocid,
        "Southwest Intervention Services",
        "2026-01-01",
        "2026-12-31",
        120_000.0,
    );
    register::releases::store(&mut conn, &[(release, "/0".to_owned())], "test", None).unwrap();
    assert_eq!(
        register::relink_queue::pending(&mut conn).unwrap(),
        vec!["GB-LAE-DEV".to_owned()]
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let spend: Value =
            reqwest::get(format!("{}/api/v1/contracts/{ocid}/spend", served.address))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        if spend["paid"].as_f64() == Some(6_390.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the payment was never linked: {spend}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        register::relink_queue::pending(&mut conn)
            .unwrap()
            .is_empty()
    );
    assert!(served.terminate());
}

/// A spend file is parsed and stored a chunk at a time, yet stays one transaction: a source
/// that breaks off after several chunks were stored leaves nothing behind.
#[test]
fn a_spend_file_that_breaks_off_late_stores_nothing() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    let mut csv = String::from("Date,Supplier,Amount\n");
    for i in 0..30_000 {
        csv.push_str(&format!("01/04/2024,Supplier {i},{i}.50\n"));
    }
    let db = TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let source = std::io::Read::chain(csv.as_bytes(), Broken);
    let err = sync::file_import::import_spend(&mut conn, None, "GB-LAE-XYZ", "cut.csv", source)
        .expect_err("a broken source");
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert!(lines(&db).is_empty());

    // The same rows whole are all stored, and again add nothing.
    for (imported, duplicates) in [(30_000, 0), (0, 30_000)] {
        let (_, report) = sync::file_import::import_spend(
            &mut conn,
            None,
            "GB-LAE-XYZ",
            "whole.csv",
            csv.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (report.read, report.imported, report.duplicates),
            (30_000, imported, duplicates)
        );
    }
    assert_eq!(lines(&db).len(), 30_000);
}

/// A council that writes its suppliers' org-ids in the supplier id column gets links by id,
/// whatever name the payment carries; its own vendor numbers are not taken for org-ids.
#[tokio::test]
async fn a_supplier_id_written_as_an_org_id_links_by_id() {
    let db = TestDb::new();
    let mut conn = db.url.connect().unwrap();
    let ocid = "ocds-ocdemo-spend-by-id";
    let release = contract(
        ocid,
        "Southwest Intervention Services",
        "2026-01-01",
        "2026-12-31",
        120_000.0,
    );
    register::releases::store(&mut conn, &[(release, "/0".to_owned())], "test", None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spend.csv");
    std::fs::write(
        &file,
        "Date,Supplier Name,Supplier ID,Amount\n\
         10/03/2026,SWIS Trading,GB-COH-1,\"6,390.00\"\n\
         11/03/2026,SWIS Trading,100234,\"1,000.00\"\n",
    )
    .unwrap();
    let output = import(&db, &file, "GB-LAE-DEV");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let links: Vec<(i64, String, String)> = register::schema::spend_links::table
        .inner_join(spend_transactions::table)
        .select((
            spend_transactions::line,
            register::schema::spend_links::ocid,
            register::schema::spend_links::method,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(links, vec![(2, ocid.to_owned(), "supplier_id".to_owned())]);
}
