//! Bulk downloads over HTTP (`/downloads`, `/downloads/{file}`, `/catalog.json`) and the same
//! files from `ocreg export`.

use std::{
    collections::{BTreeSet, HashSet},
    io::{Cursor, Read},
};

use diesel::prelude::*;
use register::{
    export::Download,
    flatten::Table,
    schema::{records, releases},
    tokens,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{TestApp, ocreg};

const MAN: &str = "GB-LAE-MAN";
const LDS: &str = "GB-LAE-LDS";
const SUPPLIER: &str = "GB-COH-01234567";

fn party(id: &str, name: &str, role: &str) -> Value {
    json!({"id": id, "name": name, "roles": [role]})
}

fn buyer_name(buyer: &str) -> &'static str {
    if buyer == MAN {
        "Manchester City Council"
    } else {
        "Leeds City Council"
    }
}

/// A tender release of process `n` bought by `buyer` on `date`.
fn tender(n: u32, buyer: &str, date: &str) -> Value {
    json!({
        "ocid": format!("ocds-b5fd17-{n:04}"),
        "id": format!("{n}-tender"),
        "date": date,
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": buyer, "name": buyer_name(buyer)},
        "parties": [party(buyer, buyer_name(buyer), "buyer")],
        "tender": {
            "id": format!("t{n}"),
            "title": format!("Family support service {n}"),
            "status": "active",
            "value": {"amount": 100000 + n, "currency": "GBP"},
            "items": [{
                "id": "1",
                "description": "Family support",
                "classification": {"scheme": "CPV", "id": "85311300", "description": "Welfare services for children and young people"},
            }],
            "tenderPeriod": {"endDate": "2027-01-31T12:00:00Z"},
        },
    })
}

/// An award-and-contract release of process `n`, with a payment.
fn contract(n: u32, buyer: &str, date: &str) -> Value {
    json!({
        "ocid": format!("ocds-b5fd17-{n:04}"),
        "id": format!("{n}-contract"),
        "date": date,
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "buyer": {"id": buyer, "name": buyer_name(buyer)},
        "parties": [
            party(buyer, buyer_name(buyer), "buyer"),
            party(SUPPLIER, "Provider Ltd", "supplier"),
        ],
        "awards": [{
            "id": format!("a{n}"),
            "status": "active",
            "value": {"amount": 90000 + n, "currency": "GBP"},
            "suppliers": [{"id": SUPPLIER, "name": "Provider Ltd"}],
        }],
        "contracts": [{
            "id": format!("c{n}"),
            "awardID": format!("a{n}"),
            "status": "active",
            "value": {"amount": 90000 + n, "currency": "GBP"},
            "period": {"startDate": "2026-04-01T00:00:00Z", "endDate": "2028-03-31T23:59:59Z"},
            "implementation": {"transactions": [{
                "id": format!("p{n}"),
                "date": date,
                "value": {"amount": 7500, "currency": "GBP"},
                "payer": {"id": buyer, "name": buyer_name(buyer)},
                "payee": {"id": SUPPLIER, "name": "Provider Ltd"},
            }]},
        }],
    })
}

/// The app with four releases in three processes over two years:
/// - 0001 (Manchester): tender 2025-03-01, contract 2026-02-01 → record of 2026;
/// - 0002 (Leeds): tender 2026-05-01 → record of 2026;
/// - 0003 (Manchester): contract 2025-06-01 → record of 2025.
async fn register_with_data() -> TestApp {
    let app = TestApp::spawn().await;
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    let secret = tokens::create(&mut conn, "test", &[MAN.to_owned(), LDS.to_owned()])
        .unwrap()
        .1;
    for release in [
        tender(1, MAN, "2025-03-01T09:00:00Z"),
        tender(2, LDS, "2026-05-01T09:00:00Z"),
        contract(3, MAN, "2025-06-01T09:00:00Z"),
        contract(1, MAN, "2026-02-01T09:00:00Z"),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/releases"))
            .bearer_auth(&secret)
            .header("content-type", "application/json")
            .body(release.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
    }
    app
}

/// (releases, records) stored.
fn stored(app: &TestApp) -> (usize, usize) {
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    let r: i64 = releases::table.count().get_result(&mut conn).unwrap();
    let c: i64 = records::table.count().get_result(&mut conn).unwrap();
    (r as usize, c as usize)
}

async fn fetch(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.get(path).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    (headers, body)
}

fn json_lines(body: &[u8]) -> Vec<Value> {
    std::str::from_utf8(body)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn assert_valid(document: &Value, what: &str) {
    let report = register::extension::schema().validate(document);
    assert!(report.errors.is_empty(), "{what}: {report}");
}

fn csv_table(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(body);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn every_json_download_is_valid_ocds_and_complete() {
    let app = register_with_data().await;
    let (release_count, record_count) = stored(&app);
    assert_eq!((release_count, record_count), (4, 3));

    let (headers, body) = fetch(&app, "/downloads/releases.jsonl").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"releases.jsonl\""
    );
    assert!(headers[header::ETAG].to_str().unwrap().starts_with("W/\""));
    assert!(headers.contains_key(header::LAST_MODIFIED));
    // Streamed live: no length announced.
    assert!(!headers.contains_key(header::CONTENT_LENGTH));
    let lines = json_lines(&body);
    assert_eq!(lines.len(), release_count);
    for release in &lines {
        assert_valid(release, "a line of releases.jsonl");
    }
    // In the order received.
    assert_eq!(lines[0]["id"], "1-tender");
    assert_eq!(lines[3]["id"], "1-contract");

    let (headers, body) = fetch(&app, "/downloads/releases.json").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let package: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&package, "releases.json");
    assert_eq!(package["releases"].as_array().unwrap().len(), release_count);
    assert_eq!(package["version"], "1.1");
    assert_eq!(package["uri"], app.url("/downloads/releases.json"));
    assert!(
        package["license"]
            .as_str()
            .unwrap()
            .contains("open-government-licence/version/3")
    );
    assert_eq!(package["extensions"].as_array().unwrap().len(), 3);
    assert_eq!(package["releases"].as_array().unwrap(), &lines);

    let (_, body) = fetch(&app, "/downloads/records.json").await;
    let package: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&package, "records.json");
    let records = package["records"].as_array().unwrap();
    assert_eq!(records.len(), record_count);
    let embedded: usize = records
        .iter()
        .map(|r| r["releases"].as_array().unwrap().len())
        .sum();
    assert_eq!(embedded, release_count, "every release embedded once");
    let first = &records[0];
    assert_eq!(first["ocid"], "ocds-b5fd17-0001");
    assert_eq!(first["releases"][1]["id"], "1-contract");
    assert_eq!(first["compiledRelease"]["tag"], json!(["compiled"]));
    assert_eq!(first["compiledRelease"]["contracts"][0]["id"], "c1");

    let (headers, body) = fetch(&app, "/downloads/records.jsonl").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines = json_lines(&body);
    assert_eq!(&lines, records);
    for record in &lines {
        // A record on its own is valid inside a record package.
        let mut wrapped = package.clone();
        wrapped["records"] = json!([record]);
        assert_valid(&wrapped, "a line of records.jsonl");
    }
}

#[tokio::test]
async fn year_and_filters_select_releases_and_records() {
    let app = register_with_data().await;
    let ids = |body: &[u8], key: &str| -> BTreeSet<String> {
        json_lines(body)
            .iter()
            .map(|v| v[key].as_str().unwrap().to_owned())
            .collect()
    };

    let (headers, body) = fetch(&app, "/downloads/releases.jsonl?year=2026").await;
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"releases-2026.jsonl\""
    );
    assert_eq!(
        ids(&body, "id"),
        BTreeSet::from(["1-contract".into(), "2-tender".into()])
    );
    let (_, body) = fetch(&app, "/downloads/releases.jsonl?year=2025").await;
    assert_eq!(
        ids(&body, "id"),
        BTreeSet::from(["1-tender".into(), "3-contract".into()])
    );
    let (_, body) = fetch(&app, "/downloads/releases.jsonl?year=2024").await;
    assert!(body.is_empty());

    // Records by the date of their latest release.
    let (_, body) = fetch(&app, "/downloads/records.jsonl?year=2026").await;
    assert_eq!(
        ids(&body, "ocid"),
        BTreeSet::from(["ocds-b5fd17-0001".into(), "ocds-b5fd17-0002".into()])
    );
    let (_, body) = fetch(&app, "/downloads/records.json?year=2025").await;
    let package: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&package, "records.json?year=2025");
    assert_eq!(package["records"].as_array().unwrap().len(), 1);
    assert_eq!(package["records"][0]["ocid"], "ocds-b5fd17-0003");
    assert_eq!(package["uri"], app.url("/downloads/records.json?year=2025"));

    // The register filters: releases of the matching records.
    let (_, body) = fetch(&app, &format!("/downloads/releases.jsonl?buyer={MAN}")).await;
    assert_eq!(
        ids(&body, "id"),
        BTreeSet::from(["1-tender".into(), "1-contract".into(), "3-contract".into()])
    );
    let (_, body) = fetch(
        &app,
        &format!("/downloads/releases.json?buyer={LDS}&year=2026"),
    )
    .await;
    let package: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&package, "filtered releases.json");
    assert_eq!(package["releases"].as_array().unwrap().len(), 1);
    let (_, body) = fetch(&app, &format!("/downloads/records.jsonl?buyer={LDS}")).await;
    assert_eq!(
        ids(&body, "ocid"),
        BTreeSet::from(["ocds-b5fd17-0002".into()])
    );
    let (_, body) = fetch(&app, "/downloads/csv/processes.csv?year=2025").await;
    assert_eq!(csv_table(&body).1.len(), 1);
    let (_, body) = fetch(
        &app,
        &format!("/downloads/csv/award_suppliers.csv?supplier={SUPPLIER}"),
    )
    .await;
    assert_eq!(csv_table(&body).1.len(), 2);

    // Problems are named; nothing is streamed for them.
    for (path, status) in [
        (
            "/downloads/releases.jsonl?year=twenty",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/downloads/releases.jsonl?limit=10",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/downloads/releases.jsonl?cursor=abc",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/downloads/releases.jsonl?format=csv",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/downloads/releases.jsonl?colour=red",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/downloads/releases.jsonl?published_from=yesterday",
            StatusCode::BAD_REQUEST,
        ),
        ("/downloads/releases.xml", StatusCode::NOT_FOUND),
        ("/downloads/csv/nothing.csv", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
    }
}

#[tokio::test]
async fn csv_tables_join_back_and_the_zip_holds_every_table() {
    let app = register_with_data().await;
    let (_, body) = fetch(&app, "/downloads/csv/processes.csv").await;
    let (header, processes) = csv_table(&body);
    assert_eq!(header, Table::Processes.header());
    assert_eq!(processes.len(), 3);
    let ocid_column = header.iter().position(|h| h == "ocid").unwrap();
    let ocids: HashSet<String> = processes.iter().map(|r| r[ocid_column].clone()).collect();

    let mut tables = Vec::new();
    for table in Table::ALL {
        let (headers, body) = fetch(&app, &format!("/downloads/csv/{}.csv", table.name())).await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"{}.csv\"", table.name()).as_str()
        );
        let (header, rows) = csv_table(&body);
        assert_eq!(header, table.header(), "{}", table.name());
        let ocid = header.iter().position(|h| h == "ocid").unwrap();
        for row in &rows {
            assert_eq!(row.len(), header.len());
            assert!(ocids.contains(&row[ocid]), "{}: {row:?}", table.name());
        }
        tables.push((table, body, rows.len()));
    }
    let rows_of = |t: Table| tables.iter().find(|(x, ..)| *x == t).unwrap().2;
    assert_eq!(rows_of(Table::Parties), 5);
    assert_eq!(rows_of(Table::Items), 2);
    assert_eq!(rows_of(Table::Awards), 2);
    assert_eq!(rows_of(Table::AwardSuppliers), 2);
    assert_eq!(rows_of(Table::Contracts), 2);
    assert_eq!(rows_of(Table::Transactions), 2);

    let (headers, body) = fetch(&app, "/downloads/csv.zip").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/zip");
    let mut zip = zip::ZipArchive::new(Cursor::new(body)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let expected: Vec<String> = Table::ALL
        .iter()
        .map(|t| format!("{}.csv", t.name()))
        .collect();
    assert_eq!(names, expected);
    for (table, body, _) in &tables {
        let mut entry = zip.by_name(&format!("{}.csv", table.name())).unwrap();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(&content, body, "{} in the zip", table.name());
    }
}

#[tokio::test]
async fn the_listing_page_and_catalogue_name_every_file() {
    let app = register_with_data().await;
    let all: Vec<String> = Download::all().iter().map(|d| d.name()).collect();

    let response = app.get("/downloads").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["releases"], 4);
    assert_eq!(list["records"], 3);
    let files = list["files"].as_array().unwrap();
    assert_eq!(
        files
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        all
    );
    for f in files {
        let name = f["name"].as_str().unwrap();
        assert_eq!(f["url"], app.url(&format!("/downloads/{name}")));
        assert!(f["size"].is_null());
        assert!(f["media_type"].is_string() && f["format"].is_string());
        assert!(f["last_modified"].as_str().unwrap().ends_with('Z'));
        assert_eq!(f["ocds_version"], "1.1");
        assert!(
            f["license"]
                .as_str()
                .unwrap()
                .contains("open-government-licence")
        );
        assert_eq!(f["extensions"].as_array().unwrap().len(), 3);
        let expected = match name {
            _ if name.starts_with("releases") => 4,
            _ if name.starts_with("grants") => 0,
            _ => 3,
        };
        assert_eq!(f["count"], expected, "{name}");
    }
    // Every listed URL answers.
    for f in files {
        let response = app
            .client
            .get(f["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", f["url"]);
        response.bytes().await.unwrap();
    }

    for request in [
        app.client
            .get(app.url("/downloads"))
            .header(header::ACCEPT, "text/html,application/xhtml+xml"),
        app.client.get(app.url("/downloads?format=html")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let page = response.text().await.unwrap();
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("Open Government Licence"));
        for name in &all {
            assert!(page.contains(&format!(">{name}</a>")), "{name}");
        }
    }
    assert_eq!(app.get("/downloads?format=xml").await.status(), 400);

    let response = app.get("/catalog.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/ld+json"
    );
    let catalog: Value = response.json().await.unwrap();
    assert_eq!(catalog["@type"], "dcat:Catalog");
    assert!(
        catalog["@context"]["dcat"]
            .as_str()
            .unwrap()
            .contains("/ns/dcat#")
    );
    let dataset = &catalog["dcat:dataset"][0];
    assert_eq!(dataset["@type"], "dcat:Dataset");
    let distributions = dataset["dcat:distribution"].as_array().unwrap();
    assert_eq!(distributions.len(), all.len());
    for (d, name) in distributions.iter().zip(&all) {
        assert_eq!(d["@type"], "dcat:Distribution");
        assert_eq!(
            d["dcat:downloadURL"]["@id"],
            app.url(&format!("/downloads/{name}"))
        );
        assert!(d["dcat:mediaType"].is_string());
        assert!(d["dct:format"].is_string());
        assert!(
            d["dct:license"]["@id"]
                .as_str()
                .unwrap()
                .contains("open-government-licence")
        );
        assert!(d["dct:modified"]["@value"].is_string());
        // OCDS 1.1, but the grants: the 360Giving Data Standard.
        let standard = if name.starts_with("grants") {
            "threesixtygiving"
        } else {
            "/1.1/"
        };
        assert!(
            d["dct:conformsTo"]["@id"]
                .as_str()
                .unwrap()
                .contains(standard)
        );
    }
}

#[tokio::test]
async fn unchanged_data_answers_304_and_downloads_compress_on_request() {
    let app = register_with_data().await;
    let (headers, _) = fetch(&app, "/downloads/releases.jsonl").await;
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let modified = headers[header::LAST_MODIFIED].to_str().unwrap().to_owned();

    for (name, value) in [
        (header::IF_NONE_MATCH, etag.as_str()),
        (header::IF_MODIFIED_SINCE, modified.as_str()),
    ] {
        let response = app
            .client
            .get(app.url("/downloads/releases.jsonl"))
            .header(name.clone(), value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{name}");
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    // HEAD: the headers without the export.
    let head = app
        .client
        .head(app.url("/downloads/releases.jsonl"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[header::ETAG], etag.as_str());
    assert_eq!(head.headers()[header::CONTENT_TYPE], "application/x-ndjson");
    assert!(head.bytes().await.unwrap().is_empty());

    // Another query is another representation; another file too.
    let other = app
        .client
        .get(app.url("/downloads/releases.jsonl?year=2026"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    other.bytes().await.unwrap();

    // New data: the old tag no longer matches.
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    register::releases::store(
        &mut conn,
        &[(tender(4, LDS, "2026-07-01T09:00:00Z"), String::new())],
        "test",
        None,
    )
    .unwrap();
    let changed = app
        .client
        .get(app.url("/downloads/releases.jsonl"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()[header::ETAG], etag.as_str());
    assert_eq!(json_lines(&changed.bytes().await.unwrap()).len(), 5);

    // gzip when asked for; never for the zip, already deflated.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let gzipped = raw
        .get(app.url("/downloads/releases.jsonl"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = gzipped.bytes().await.unwrap();
    assert_eq!(&compressed[..2], &[0x1f, 0x8b]);
    let zipped = raw
        .get(app.url("/downloads/csv.zip"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_ne!(
        zipped
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    assert_eq!(&zipped.bytes().await.unwrap()[..2], b"PK");
}

/// `"publishedDate":"…"` blanked: the one part of a package that differs between two exports.
fn without_published_date(body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec(); // the zip
    };
    let key = "\"publishedDate\":\"";
    match text.find(key) {
        Some(start) => {
            let value = start + key.len();
            let end = value + text[value..].find('"').unwrap();
            format!("{}{}", &text[..value], &text[end..]).into_bytes()
        }
        None => body.to_vec(),
    }
}

#[tokio::test]
async fn ocreg_export_writes_the_http_downloads() {
    let app = register_with_data().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let db_url = app.db.as_ref().unwrap().url_string();
    let args = [
        "--database",
        db_url.as_str(),
        "export",
        "--out",
        out.to_str().unwrap(),
        "--base-url",
        app.address.as_str(),
    ];
    let output = ocreg(dir.path()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("exported 15 file(s)"), "{stderr}");
    assert!(stderr.contains("releases.jsonl"), "{stderr}");
    assert!(stderr.contains("MB/s"), "{stderr}");

    for download in Download::all() {
        let name = download.name();
        let file = std::fs::read(out.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (_, served) = fetch(&app, &format!("/downloads/{name}")).await;
        assert_eq!(
            without_published_date(&file),
            without_published_date(&served),
            "{name}"
        );
    }
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 7 + 1, "{left:?}"); // 4 JSON files, csv.zip, 2 grants files, csv/

    // One format and one year; the rest of the folder stays as it was.
    let year_out = dir.path().join("year");
    let output = ocreg(dir.path())
        .args(["--database", db_url.as_str(), "export", "--out"])
        .arg(&year_out)
        .args(["--format", "releases-jsonl,zip", "--year", "2025"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(year_out.join("releases.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(year_out.join("csv.zip").exists());
    assert!(!year_out.join("records.jsonl").exists());
    assert!(!year_out.join("csv").exists());
    let (_, served) = fetch(&app, "/downloads/csv.zip?year=2025").await;
    assert_eq!(std::fs::read(year_out.join("csv.zip")).unwrap(), served);

    let bad = ocreg(dir.path())
        .args(["--database", db_url.as_str(), "export", "--out"])
        .arg(&year_out)
        .args(["--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
