//! The commissioning domain over HTTP: joint intentions with pooled budgets, partner-entered
//! outcomes (and Find a Tender UK9 ratings), overlaps between agencies, expiring contracts.

use register::audit;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;

const COUNCIL: &str = "GB-LAE-AAA";
const NHS: &str = "GB-NHS-QBB";
const POLICE: &str = "GB-GOR-PC0001";
const OUTSIDER: &str = "GB-LAE-ZZZ";
const INTENTION: &str = "ocds-b5fd17-joint-1";

fn token(app: &TestApp, org: &str) -> String {
    app.token(&[org])
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.publish(token, body).await
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

fn party(id: &str, name: &str, roles: &[&str]) -> Value {
    json!({"id": id, "name": name, "roles": roles})
}

fn share(id: &str, org: &str, amount: f64) -> Value {
    json!({
        "id": id,
        "description": format!("Contribution of {org}"),
        "amount": {"amount": amount, "currency": "GBP"},
        "sourceParty": {"id": org},
        "period": {"startDate": "2027-04-01T00:00:00Z", "endDate": "2030-03-31T23:59:59Z"}
    })
}

/// A joint intention of the council, the NHS body and the police with a pooled budget.
fn joint_intention() -> Value {
    json!({
        "ocid": INTENTION,
        "id": "joint-1-planning-1",
        "date": "2026-10-01T09:00:00Z",
        "tag": ["planning"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL, "name": "Aardale Council"},
        "parties": [
            party(COUNCIL, "Aardale Council", &["buyer", "funder"]),
            party(NHS, "NHS Aardale ICB", &["funder"]),
            party(POLICE, "Aardale Police and Crime Commissioner", &["funder"]),
        ],
        "planning": {
            "rationale": "Young people at risk of exploitation are supported by three services.",
            "commissioning": {
                "level": "strategic",
                "cycleStage": "plan",
                "joint": true,
                "pooledBudget": true,
                "priorities": ["Early help"],
                "outcomeAreas": ["Young people are safe from exploitation"]
            },
            "budget": {
                "amount": {"amount": 1000000, "currency": "GBP"},
                "budgetBreakdown": [
                    share("1", COUNCIL, 500000.0),
                    share("2", NHS, 300000.0),
                    share("3", POLICE, 200000.0),
                ]
            }
        },
        "tender": {
            "id": "joint-1",
            "title": "Exploitation prevention service for young people",
            "status": "planned",
            "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "85312400"},
                       "deliveryAddresses": [{"region": "Aardale"}]}],
            "contractPeriod": {"startDate": "2027-04-01T00:00:00Z", "endDate": "2030-03-31T23:59:59Z"}
        }
    })
}

#[tokio::test]
async fn joint_intention_shows_partners_shares_and_refuses_an_outsider() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let response = post(&app, &council, &joint_intention()).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Every partner finds it; the pooled budget and each share are right.
    for partner in [COUNCIL, NHS, POLICE] {
        let page = get_json(&app, &format!("/api/v1/intentions?partner={partner}")).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 1, "{partner}");
    }
    let page = get_json(
        &app,
        "/api/v1/intentions?level=strategic&outcome_area=exploitation",
    )
    .await;
    let row = &page["data"][0];
    assert_eq!(row["ocid"], INTENTION);
    let c = &row["commissioning"];
    assert_eq!(c["lead"], COUNCIL);
    assert_eq!(c["pooled_budget"]["amount"], 1000000.0);
    assert_eq!(c["contributions_total"]["amount"], 1000000.0);
    let shares: Vec<(String, f64)> = c["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["org_id"].as_str().unwrap().to_owned(),
                p["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shares,
        [
            (COUNCIL.to_owned(), 0.5),
            (NHS.to_owned(), 0.3),
            (POLICE.to_owned(), 0.2)
        ]
    );
    let mut partners = vec![COUNCIL, NHS, POLICE];
    partners.sort();
    assert_eq!(row["partners"], json!(partners));
    assert_eq!(c["level"], "strategic");
    let none = get_json(&app, "/api/v1/intentions?level=regional").await;
    assert!(none["data"].as_array().unwrap().is_empty());

    // The CSV carries the same figures.
    let text = app
        .get("/api/v1/intentions?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let record = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| record[headers.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("pooled_budget"), "1000000");
    assert_eq!(cell("level"), "strategic");
    assert!(cell("contributions").contains(&format!("{NHS} 300000")));

    // A contributing partner updates the joint intention (a partial release naming only
    // the change); the audit log says who did.
    let nhs = token(&app, NHS);
    let update = json!({
        "ocid": INTENTION,
        "id": "joint-1-planning-2",
        "date": "2026-11-01T09:00:00Z",
        "tag": ["planningUpdate"],
        "initiationType": "tender",
        "planning": {"commissioning": {"cycleStage": "do"}}
    });
    let response = post(&app, &nhs, &update).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = get_json(&app, &format!("/api/v1/intentions?ocid={INTENTION}")).await;
    assert_eq!(page["data"][0]["commissioning"]["cycle_stage"], "do");
    let mut conn = app.db.as_ref().unwrap().url.connect().unwrap();
    let entries = audit::list(&mut conn, 10, None).unwrap();
    let update_entry = entries
        .iter()
        .find(|e| {
            e.subject_ids
                .iter()
                .any(|s| s.ends_with("joint-1-planning-2"))
        })
        .expect("the update is audited");
    assert!(update_entry.actor.contains(NHS), "{}", update_entry.actor);

    // A fourth agency cannot write into it, even naming itself as a funder.
    let outsider = token(&app, OUTSIDER);
    let mut hijack = update.clone();
    hijack["id"] = json!("joint-1-planning-3");
    hijack["parties"] = json!([party(OUTSIDER, "Zedshire Council", &["funder"])]);
    let response = post(&app, &outsider, &hijack).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let problem: Value = response.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(COUNCIL) && detail.contains(NHS) && detail.contains(OUTSIDER),
        "{detail}"
    );
    let page = get_json(&app, &format!("/api/v1/intentions?partner={OUTSIDER}")).await;
    assert!(page["data"].as_array().unwrap().is_empty());
}

/// A contract of `COUNCIL` with three measures.
fn contract(ocid: &str) -> Value {
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-contract"),
        "date": "2025-06-01T09:00:00Z",
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL, "name": "Aardale Council"},
        "parties": [
            party(COUNCIL, "Aardale Council", &["buyer"]),
            party("GB-CHC-1234567", "Bright Futures", &["supplier"]),
        ],
        "awards": [{"id": "a1", "status": "active", "suppliers": [{"id": "GB-CHC-1234567"}]}],
        "contracts": [{
            "id": "c1", "awardID": "a1", "status": "active",
            "title": "Family support service",
            "period": {"startDate": "2025-07-01T00:00:00Z", "endDate": "2028-06-30T23:59:59Z"},
            "agreedMetrics": [
                {"id": "m1", "title": "Families supported", "rbaQuadrant": "howMuch",
                 "observations": [{"id": "target", "measure": 400}]},
                {"id": "m2", "title": "Seen within 10 days", "rbaQuadrant": "howWell",
                 "observations": [{"id": "target", "measure": "90%"}]}
            ]
        }]
    })
}

/// An implementation release adding one period's observation per measure, rated with our
/// codes, or (`uk9`) the way Find a Tender UK9 notices rate them.
fn period_release(ocid: &str, n: u32, end: &str, ratings: [&str; 2], uk9: bool) -> Value {
    let observation = |metric: &str, rating: &str| {
        let mut o = json!({
            "id": format!("{metric}-p{n}"),
            "period": {"startDate": "2025-07-01T00:00:00Z", "endDate": end},
            "measure": 80 + n,
        });
        if uk9 {
            let code = match rating {
                "good" => "met",
                "approachingTarget" => "slightlyBelow",
                "requiresImprovement" => "below",
                _ => "significantlyBelow",
            };
            o["measureClassification"] = json!({"scheme": "UK", "id": code});
        } else {
            o["rating"] = json!(rating);
        }
        o
    };
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-implementation-{n}"),
        "date": format!("{}T12:00:00Z", &end[..10]),
        "tag": ["implementation"],
        "initiationType": "tender",
        "buyer": {"id": COUNCIL},
        "contracts": [{
            "id": "c1",
            "awardID": "a1",
            "implementation": {"metrics": [
                {"id": "m1", "title": "Families supported", "observations": [observation("m1", ratings[0])]},
                {"id": "m2", "title": "Seen within 10 days", "observations": [observation("m2", ratings[1])]}
            ]}
        }]
    })
}

const PERIODS: [(&str, [&str; 2]); 3] = [
    ("2025-12-31T23:59:59Z", ["good", "inadequate"]),
    ("2026-03-31T23:59:59Z", ["good", "requiresImprovement"]),
    ("2026-06-30T23:59:59Z", ["good", "approachingTarget"]),
];

async fn publish_outcomes(app: &TestApp, token: &str, ocid: &str, uk9: bool) {
    let response = post(app, token, &contract(ocid)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for (n, (end, ratings)) in PERIODS.iter().enumerate() {
        let release = period_release(ocid, n as u32 + 1, end, *ratings, uk9);
        let response = post(app, token, &release).await;
        assert_eq!(response.status(), StatusCode::CREATED, "period {n}");
    }
}

#[tokio::test]
async fn outcomes_over_periods_give_latest_rating_and_trend_and_uk9_maps_alike() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    publish_outcomes(&app, &council, "ocds-b5fd17-out-ours", false).await;
    publish_outcomes(&app, &council, "ocds-b5fd17-out-uk9", true).await;

    let page = get_json(&app, "/api/v1/outcomes").await;
    let rows = page["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let o = &row["outcomes"];
        // Worst of the latest ratings: good and approachingTarget.
        assert_eq!(o["latest_rating"], "approachingTarget", "{}", row["ocid"]);
        // Mean rating 2.5 (good, inadequate) → 3 → 3.5: improving.
        assert_eq!(o["trend"], "improving", "{}", row["ocid"]);
        assert_eq!(o["latest_period_end"], "2026-06-30T23:59:59Z");
    }
    let filtered = get_json(&app, "/api/v1/outcomes?rating=approachingTarget").await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 2);
    let none = get_json(&app, "/api/v1/outcomes?rating=good").await;
    assert!(none["data"].as_array().unwrap().is_empty());

    // The series: ratings per period, oldest first, targets from the agreed metrics; the
    // UK9-shaped contract gives the same ratings.
    let ratings = |series: &Value| -> Vec<Vec<String>> {
        series["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m["observations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["rating"].as_str().unwrap_or("none").to_owned())
                    .collect()
            })
            .collect()
    };
    let ours = get_json(&app, "/api/v1/contracts/ocds-b5fd17-out-ours/outcomes").await;
    let uk9 = get_json(&app, "/api/v1/contracts/ocds-b5fd17-out-uk9/outcomes").await;
    assert_eq!(
        ratings(&ours),
        [
            ["good", "good", "good"],
            ["inadequate", "requiresImprovement", "approachingTarget"]
        ]
    );
    assert_eq!(ratings(&uk9), ratings(&ours));
    let m2 = &ours["metrics"][1];
    assert_eq!(m2["quadrant"], "howWell");
    assert_eq!(m2["target"]["measure"], "90%");
    assert_eq!(m2["trend"], "improving");
    assert_eq!(
        uk9["metrics"][1]["observations"][0]["uk9_classification"],
        "significantlyBelow"
    );
    // ... and our ratings read in UK9 terms too.
    assert_eq!(
        ours["metrics"][1]["observations"][0]["uk9_classification"],
        "significantlyBelow"
    );

    // CSV: one row per observation.
    let text = app
        .get("/api/v1/contracts/ocds-b5fd17-out-ours/outcomes?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), 6);

    let missing = app.get("/api/v1/contracts/ocds-b5fd17-none/outcomes").await;
    assert_eq!(missing.status(), 404);
}

/// An intention or contract about young people's counselling in Aardale.
fn counselling(ocid: &str, buyer: &str, tag: &str, cpv: &str, title: &str, area: &str) -> Value {
    let mut release = json!({
        "ocid": ocid,
        "id": format!("{ocid}-1"),
        "date": "2026-09-01T09:00:00Z",
        "tag": [tag],
        "initiationType": "tender",
        "buyer": {"id": buyer},
        "parties": [party(buyer, buyer, &["buyer"])],
        "tender": {
            "id": ocid,
            "title": title,
            "description": format!("{title} for children and young people"),
            "status": if tag == "planning" { "planned" } else { "complete" },
            "items": [{"id": "1",
                       "classification": {"scheme": "CPV", "id": cpv, "description": format!("Services {cpv}")},
                       "deliveryAddresses": [{"region": area}]}],
            "contractPeriod": {"startDate": "2027-01-01T00:00:00Z", "endDate": "2029-12-31T23:59:59Z"}
        }
    });
    if tag == "contract" {
        release["tag"] = json!(["award", "contract"]);
        release["awards"] = json!([{"id": "a1", "status": "active"}]);
        release["contracts"] = json!([{
            "id": "c1", "awardID": "a1", "status": "active",
            "period": {"startDate": "2026-01-01T00:00:00Z", "endDate": "2028-12-31T23:59:59Z"}
        }]);
    }
    release
}

#[tokio::test]
async fn overlaps_pair_the_same_need_across_agencies_and_not_unrelated_ones() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let nhs = token(&app, NHS);
    let police = token(&app, POLICE);
    let releases = [
        (
            &council,
            counselling(
                "ocds-b5fd17-ovl-1",
                COUNCIL,
                "planning",
                "85312300",
                "School counselling and emotional wellbeing service",
                "Aardale",
            ),
        ),
        (
            &nhs,
            counselling(
                "ocds-b5fd17-ovl-2",
                NHS,
                "contract",
                "85312300",
                "Counselling and emotional wellbeing service in schools",
                "Aardale",
            ),
        ),
        // The same agency's own second process: never paired with its first.
        (
            &council,
            counselling(
                "ocds-b5fd17-ovl-3",
                COUNCIL,
                "planning",
                "85312300",
                "School counselling and emotional wellbeing service, second phase",
                "Aardale",
            ),
        ),
        // Unrelated: road maintenance elsewhere.
        (
            &police,
            counselling(
                "ocds-b5fd17-ovl-4",
                POLICE,
                "planning",
                "45233141",
                "Resurfacing of car parks at police stations",
                "Zedshire",
            ),
        ),
    ];
    for (secret, release) in &releases {
        assert_eq!(
            post(&app, secret, release).await.status(),
            StatusCode::CREATED
        );
    }
    let page = get_json(&app, "/api/v1/overlaps").await;
    let pairs: Vec<(String, String)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["a"]["ocid"].as_str().unwrap().to_owned(),
                p["b"]["ocid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("ocds-b5fd17-ovl-1".into(), "ocds-b5fd17-ovl-2".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.iter().all(|(a, b)| {
            let unrelated = a.ends_with("ovl-4") || b.ends_with("ovl-4");
            let same_buyer = a.ends_with("ovl-1") && b.ends_with("ovl-3");
            !unrelated && !same_buyer
        }),
        "{pairs:?}"
    );
    let first = &page["data"][0];
    assert!(first["score"].as_f64().unwrap() > 0.5);
    let kinds: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"service") && kinds.contains(&"text"),
        "{kinds:?}"
    );

    // Per agency: the police have no overlap; paging visits every pair once.
    let police_page = get_json(&app, &format!("/api/v1/overlaps?agency={POLICE}")).await;
    assert!(police_page["data"].as_array().unwrap().is_empty());
    let seen: Vec<(Value, Value)> = app
        .every_page("/api/v1/overlaps?limit=1")
        .await
        .iter()
        .flat_map(|page| page["data"].as_array().unwrap().clone())
        .map(|p| (p["a"]["ocid"].clone(), p["b"]["ocid"].clone()))
        .collect();
    assert_eq!(seen.len(), pairs.len());
    let bad = app.get("/api/v1/overlaps?min_score=2").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn expiring_lists_contracts_ending_within_the_window_by_service_area() {
    let app = TestApp::spawn().await;
    let council = token(&app, COUNCIL);
    let now = chrono::Utc::now();
    let ending = |days: i64| {
        (now + chrono::Duration::days(days))
            .format("%Y-%m-%dT00:00:00Z")
            .to_string()
    };
    for (n, days, cpv) in [
        (1, 60, "85312400"),
        (2, 150, "85312400"),
        (3, 400, "85121270"),
        (4, -30, "85312400"),
    ] {
        let mut release = counselling(
            &format!("ocds-b5fd17-exp-{n}"),
            COUNCIL,
            "contract",
            cpv,
            "Family support",
            "Aardale",
        );
        release["contracts"][0]["period"]["endDate"] = json!(ending(days));
        assert_eq!(
            post(&app, &council, &release).await.status(),
            StatusCode::CREATED
        );
    }
    let ocids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ocid"].as_str().unwrap().to_owned())
            .collect()
    };
    let page = get_json(&app, "/api/v1/expiring?months=6").await;
    assert_eq!(ocids(&page), ["ocds-b5fd17-exp-1", "ocds-b5fd17-exp-2"]);
    assert_eq!(page["groups"].as_array().unwrap().len(), 1);
    assert_eq!(page["groups"][0]["contracts"], 2);
    let page = get_json(&app, "/api/v1/expiring").await;
    assert_eq!(ocids(&page), ["ocds-b5fd17-exp-1", "ocds-b5fd17-exp-2"]);
    let page = get_json(&app, "/api/v1/expiring?months=24").await;
    assert_eq!(ocids(&page).len(), 3);
    assert_eq!(page["groups"].as_array().unwrap().len(), 2);
    let page = get_json(&app, "/api/v1/expiring?months=24&limit=1").await;
    assert_eq!(ocids(&page), ["ocds-b5fd17-exp-1"]);
    assert!(page["links"]["next"].is_string());
    assert_eq!(app.get("/api/v1/expiring?months=0").await.status(), 400);
    assert_eq!(app.get("/api/v1/contracts?months=3").await.status(), 400);
}
