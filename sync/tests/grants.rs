//! 360Giving grants from Trafford's real publication (JSON and CSV) and from broken copies of it.

use chrono::NaiveDate;
use serde_json::{Value, json};
use sync::grants::{Form, Grant, GrantError, GrantsError, Recipient, parse_grants};

const JSON: &[u8] = include_bytes!("../../fixtures/samples/trafford_360giving_grants_excerpt.json");
const CSV: &str = include_str!("../../fixtures/samples/trafford_360giving_grants_excerpt.csv");

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

fn package() -> Value {
    serde_json::from_slice(JSON).expect("the sample is JSON")
}

fn parse_value(package: &Value) -> sync::grants::GrantsFile {
    parse_grants(package.to_string().as_bytes()).expect("a usable package")
}

fn error(at: &str, message: &str) -> GrantError {
    GrantError {
        at: at.to_owned(),
        message: message.to_owned(),
    }
}

fn ids(grants: &[Grant]) -> Vec<&str> {
    grants.iter().map(|g| g.id.as_str()).collect()
}

fn organisation(
    id: &str,
    name: &str,
    charity: Option<&str>,
    company: Option<&str>,
    equivalent: &[&str],
) -> Recipient {
    Recipient::Organisation {
        id: id.to_owned(),
        name: name.to_owned(),
        charity_number: charity.map(str::to_owned),
        company_number: company.map(str::to_owned),
        equivalent_ids: equivalent.iter().map(|s| (*s).to_owned()).collect(),
        postcode: None,
    }
}

/// The Trafford CSV with one cell of one grant replaced.
fn csv_with(grant_id: &str, old: &str, new: &str) -> String {
    let mut done = false;
    let lines: Vec<String> = CSV
        .split("\r\n")
        .map(|line| {
            if line.starts_with(&format!("{grant_id},")) {
                assert!(line.contains(old), "{old} not in {grant_id}");
                done = true;
                line.replacen(old, new, 1)
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(done, "no grant {grant_id}");
    lines.join("\r\n")
}

#[test]
fn trafford_json_gives_three_grants() {
    let file = parse_grants(JSON).expect("a usable package");
    assert_eq!(file.form, Form::Json);
    assert_eq!(file.rejected, vec![]);
    assert_eq!(
        ids(&file.grants),
        vec![
            "360G-traffordmbc-VSG1342",
            "360G-traffordmbc-VSG1345",
            "360G-traffordmbc-VSG1349"
        ]
    );
    let pence: Vec<i64> = file.grants.iter().map(|g| g.amount_awarded_pence).collect();
    assert_eq!(pence, vec![226_600, 305_637, 288_400]);

    let choir = &file.grants[0];
    assert_eq!(
        choir.title,
        "Voluntary Sector Grant to Altrincham Children's Choir"
    );
    assert_eq!(choir.currency, "GBP");
    assert_eq!(choir.award_date, day(2013, 1, 18));
    assert_eq!(choir.funder_id, "GB-LAE-TRF");
    assert_eq!(choir.funder_name, "Trafford Metropolitan Borough Council");
    assert_eq!(
        choir.recipient,
        organisation(
            "360G-trafford-altrincham_childrens_choir",
            "Altrincham Children's Choir",
            None,
            None,
            &["360G-trafford-altrincham_childrens_choir"],
        )
    );
    assert_eq!(choir.duration_months, Some(12));
    assert_eq!(choir.planned_start, None);
    assert_eq!(choir.planned_end, None);
    assert_eq!(choir.programme.as_deref(), Some("Voluntary Sector Grants"));
    assert_eq!(choir.beneficiary_location.as_deref(), Some("Trafford"));
    assert_eq!(choir.source_position, "/grants/0");
    assert_eq!(choir.raw, package()["grants"][0]);

    let befrienders = &file.grants[1];
    assert_eq!(
        befrienders.recipient,
        organisation(
            "GB-COH-07962245",
            "Cyril Flint Befrienders",
            Some("1146179"),
            Some("07962245"),
            &["GB-COH-07962245", "GB-CHC-1146179"],
        )
    );
    assert_eq!(befrienders.source_position, "/grants/1");

    assert_eq!(
        file.grants[2].recipient,
        organisation(
            "GB-CHC-1110767",
            "G-Force",
            Some("1110767"),
            None,
            &["GB-CHC-1110767"],
        )
    );
}

#[test]
fn trafford_csv_gives_fifteen_grants() {
    let file = parse_grants(CSV.as_bytes()).expect("a usable sheet");
    assert_eq!(file.form, Form::Csv);
    assert_eq!(file.rejected, vec![]);
    assert_eq!(file.grants.len(), 15);

    let first = &file.grants[0];
    assert_eq!(
        *first,
        Grant {
            id: "360G-traffordmbc-VSG1342".into(),
            title: "Voluntary Sector Grant to Altrincham Children's Choir".into(),
            description: "Create and run community choirs involving children working in \
                          partnership with local schools, businesses, third sector groups etc. \
                          which will culminate in a series of performances"
                .into(),
            currency: "GBP".into(),
            amount_awarded_pence: 226_600,
            award_date: day(2013, 1, 18),
            funder_id: "GB-LAE-TRF".into(),
            funder_name: "Trafford Metropolitan Borough Council".into(),
            recipient: organisation(
                "360G-trafford-altrincham_childrens_choir",
                "Altrincham Children's Choir",
                None,
                None,
                &["360G-trafford-altrincham_childrens_choir"],
            ),
            planned_start: None,
            planned_end: None,
            duration_months: Some(12),
            programme: Some("Voluntary Sector Grants".into()),
            beneficiary_location: Some("Trafford".into()),
            source_position: "line 2".into(),
            raw: package()["grants"][0].clone(),
        }
    );

    let last = &file.grants[14];
    assert_eq!(last.id, "360G-traffordmbc-VSG1317");
    assert_eq!(last.amount_awarded_pence, 59_000);
    assert_eq!(last.award_date, day(2013, 6, 22));
    assert_eq!(last.duration_months, Some(12));
    assert_eq!(last.source_position, "line 16");
    assert_eq!(
        last.recipient,
        organisation(
            "GB-CHC-1143362",
            "Simply Cycling",
            Some("1143362"),
            None,
            &["GB-CHC-1143362"],
        )
    );

    let be_active = &file.grants[1];
    assert_eq!(be_active.id, "360G-traffordmbc-VSG1343");
    assert_eq!(be_active.amount_awarded_pence, 302_863);
    assert_eq!(be_active.raw["amountAwarded"].to_string(), "3028.63");

    let sports_club = &file.grants[5];
    assert_eq!(
        sports_club.recipient,
        organisation(
            "GB-COH-10086410",
            "Timperley Sports Club",
            None,
            Some("10086410"),
            &["GB-COH-10086410"],
        )
    );

    let total: i64 = file.grants.iter().map(|g| g.amount_awarded_pence).sum();
    assert_eq!(total, 3_999_954);
}

/// The CSV rows unflatten to the very objects the JSON publication holds.
#[test]
fn csv_rows_unflatten_to_the_json_grants() {
    let json = parse_grants(JSON).expect("json");
    let csv = parse_grants(CSV.as_bytes()).expect("csv");
    for from_json in &json.grants {
        let from_csv = csv
            .grants
            .iter()
            .find(|g| g.id == from_json.id)
            .expect("the same grant in the CSV");
        assert_eq!(from_csv.raw, from_json.raw, "{}", from_json.id);
        let same_place = Grant {
            source_position: from_json.source_position.clone(),
            ..from_csv.clone()
        };
        assert_eq!(&same_place, from_json);
    }
}

#[test]
fn json_grant_without_award_date_is_rejected_alone() {
    let mut package = package();
    package["grants"][1]
        .as_object_mut()
        .expect("object")
        .remove("awardDate");
    let file = parse_value(&package);
    assert_eq!(
        file.rejected,
        vec![error("/grants/1/awardDate", "required, but missing")]
    );
    assert_eq!(
        ids(&file.grants),
        vec!["360G-traffordmbc-VSG1342", "360G-traffordmbc-VSG1349"]
    );
    assert_eq!(file.grants[1].source_position, "/grants/2");
}

#[test]
fn json_amount_that_is_not_a_number_is_rejected() {
    let mut package = package();
    package["grants"][0]["amountAwarded"] = json!("abc");
    package["grants"][2]["amountAwarded"] = json!("2,884.50");
    let file = parse_value(&package);
    assert_eq!(
        file.rejected,
        vec![error(
            "/grants/0/amountAwarded",
            "must be an amount such as 1234.56, not \"abc\""
        )]
    );
    assert_eq!(file.grants.len(), 2);
    assert_eq!(file.grants[1].amount_awarded_pence, 288_450);
    // The published text stays as it was.
    assert_eq!(file.grants[1].raw["amountAwarded"], json!("2,884.50"));
}

#[test]
fn every_problem_of_a_grant_is_reported() {
    let mut package = package();
    let grant = &mut package["grants"][2];
    grant.as_object_mut().expect("object").remove("title");
    grant["currency"] = json!("gbp");
    grant["awardDate"] = json!("18/01/2013");
    grant["amountAwarded"] = json!(true);
    grant["fundingOrganization"][0]["name"] = json!("  ");
    grant["recipientOrganization"][0]
        .as_object_mut()
        .expect("object")
        .remove("id");
    let file = parse_value(&package);
    assert_eq!(
        file.rejected,
        vec![
            error("/grants/2/title", "required, but missing"),
            error(
                "/grants/2/currency",
                "must be an ISO 4217 code of 3 upper-case letters, not \"gbp\""
            ),
            error(
                "/grants/2/amountAwarded",
                "must be a number, not true/false"
            ),
            error(
                "/grants/2/awardDate",
                "must be a date (YYYY-MM-DD) or a date-time, not \"18/01/2013\""
            ),
            error(
                "/grants/2/fundingOrganization/0/name",
                "required, but blank"
            ),
            error(
                "/grants/2/recipientOrganization/0/id",
                "required, but missing"
            ),
        ]
    );
    assert_eq!(file.grants.len(), 2);
}

#[test]
fn award_date_time_gives_the_date_as_written() {
    let mut package = package();
    package["grants"][0]["awardDate"] = json!("2013-01-18T00:30:00+01:00");
    let file = parse_value(&package);
    assert_eq!(file.rejected, vec![]);
    assert_eq!(file.grants[0].award_date, day(2013, 1, 18));
}

#[test]
fn recipient_individual_is_kept_by_id_without_name() {
    let mut package = package();
    let grant = package["grants"][0].as_object_mut().expect("object");
    grant.remove("recipientOrganization");
    grant.insert(
        "recipientIndividual".into(),
        json!({"id": "360G-trafford-IND-0042", "name": "Jane Q Example", "town": "Sale"}),
    );
    let file = parse_value(&package);
    assert_eq!(file.rejected, vec![]);
    let grant = &file.grants[0];
    assert_eq!(
        grant.recipient,
        Recipient::Individual {
            id: "360G-trafford-IND-0042".into()
        }
    );
    assert_eq!(
        grant.raw["recipientIndividual"],
        json!({"id": "360G-trafford-IND-0042"})
    );
    assert!(!format!("{grant:?}").contains("Jane"));
}

#[test]
fn recipient_named_as_an_individual_is_an_individual() {
    let mut package = package();
    package["grants"][0]["recipientOrganization"][0]["name"] = json!("Private individual");
    package["grants"][1]["recipientOrganization"][0]["name"] = json!("Individual Solutions Ltd");
    let file = parse_value(&package);
    assert_eq!(
        file.grants[0].recipient,
        Recipient::Individual {
            id: "360G-trafford-altrincham_childrens_choir".into()
        }
    );
    assert!(matches!(
        &file.grants[1].recipient,
        Recipient::Organisation { name, .. } if name == "Individual Solutions Ltd"
    ));
}

#[test]
fn a_grant_needs_exactly_one_kind_of_recipient() {
    let mut package = package();
    package["grants"][0]
        .as_object_mut()
        .expect("object")
        .remove("recipientOrganization");
    package["grants"][1]["recipientIndividual"] = json!({"id": "IND-1", "name": "Individual"});
    let file = parse_value(&package);
    assert_eq!(
        file.rejected,
        vec![
            error(
                "/grants/0/recipientOrganization",
                "required: a recipientOrganization or a recipientIndividual, but neither is given"
            ),
            error(
                "/grants/1/recipientIndividual",
                "a grant has one kind of recipient: recipientOrganization or recipientIndividual, \
                 not both"
            ),
        ]
    );
    assert_eq!(ids(&file.grants), vec!["360G-traffordmbc-VSG1349"]);
}

#[test]
fn a_repeated_json_id_rejects_the_later_grant() {
    let mut package = package();
    package["grants"][2]["id"] = json!(" 360G-traffordmbc-VSG1342 ");
    let file = parse_value(&package);
    assert_eq!(
        file.rejected,
        vec![error(
            "/grants/2/id",
            "duplicate: the grant at /grants/0 has this id too"
        )]
    );
    assert_eq!(
        ids(&file.grants),
        vec!["360G-traffordmbc-VSG1342", "360G-traffordmbc-VSG1345"]
    );
}

#[test]
fn optional_fields_are_read_and_never_reject() {
    let mut package = package();
    package["grants"][0]["plannedDates"] =
        json!([{"startDate": "2013-04-01", "endDate": "2014-03-31T00:00:00Z", "duration": "12.0"}]);
    package["grants"][1]["plannedDates"] = json!([{"startDate": "April 2013", "duration": 6.5}]);
    package["grants"][2]["recipientOrganization"][0]["postalCode"] = json!(" M32 0TH ");
    package["grants"][2]["recipientOrganization"][0]["companyNumber"] = json!(4_567_890);
    package["grants"][2]["fundingOrganization"][0]["id"] = json!("gb-lae-trf");
    let file = parse_value(&package);
    assert_eq!(file.rejected, vec![]);
    let [first, second, third] = &file.grants[..] else {
        panic!("three grants");
    };
    assert_eq!(first.planned_start, Some(day(2013, 4, 1)));
    assert_eq!(first.planned_end, Some(day(2014, 3, 31)));
    assert_eq!(first.duration_months, Some(12));
    assert_eq!(second.planned_start, None);
    assert_eq!(second.duration_months, None);
    assert_eq!(second.raw["plannedDates"][0]["startDate"], "April 2013");
    assert_eq!(third.funder_id, "GB-LAE-TRF");
    assert_eq!(
        third.recipient,
        Recipient::Organisation {
            id: "GB-CHC-1110767".into(),
            name: "G-Force".into(),
            charity_number: Some("1110767".into()),
            company_number: Some("4567890".into()),
            equivalent_ids: vec!["GB-CHC-1110767".into(), "GB-COH-04567890".into()],
            postcode: Some("M32 0TH".into()),
        }
    );
}

#[test]
fn unusable_files_are_refused_as_a_whole() {
    assert_eq!(parse_grants(b""), Err(GrantsError::Empty));
    assert_eq!(parse_grants(b" \r\n "), Err(GrantsError::Empty));
    assert_eq!(
        parse_grants(br#"{"title": "grants", "releases": []}"#),
        Err(GrantsError::NoGrants)
    );
    assert_eq!(
        parse_grants(br#"{"grants": {"id": "x"}}"#),
        Err(GrantsError::NoGrants)
    );
    assert_eq!(parse_grants(b"[1, 2]"), Err(GrantsError::NoGrants));
    assert_eq!(
        parse_grants(br#"{"grants": [}"#),
        Err(GrantsError::Json(
            "expected value at line 1 column 13".into()
        ))
    );
    assert_eq!(
        parse_grants(b"PK\x03\x04\x14\x00"),
        Err(GrantsError::Unreadable(
            "a zip archive (an XLSX or ODS spreadsheet?); save the grants sheet as CSV".into()
        ))
    );
    assert_eq!(
        parse_grants(b"\xff\xfeI\x00d\x00"),
        Err(GrantsError::Unreadable(
            "binary data or UTF-16 text; save the file as UTF-8".into()
        ))
    );
    assert_eq!(
        parse_grants(b"<!DOCTYPE html><title>Not found</title>"),
        Err(GrantsError::Unreadable("HTML or XML".into()))
    );
}

#[test]
fn csv_without_amount_awarded_column_names_it() {
    let csv = CSV.replacen("Amount Awarded,", "Amount,", 1);
    let err = parse_grants(csv.as_bytes()).expect_err("unusable");
    assert_eq!(
        err,
        GrantsError::MissingColumns {
            missing: vec!["Amount Awarded".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        "the CSV lacks the required 360Giving column(s) Amount Awarded"
    );
}

#[test]
fn csv_without_recipient_columns_names_those_of_organisations() {
    let csv = "Identifier,Title,Description,Currency,Amount Awarded,Award Date,\
               Funding Org:Identifier,Funding Org:Name\r\n";
    assert_eq!(
        parse_grants(csv.as_bytes()),
        Err(GrantsError::MissingColumns {
            missing: vec![
                "Recipient Org:Identifier".into(),
                "Recipient Org:Name".into()
            ]
        })
    );
    let individuals = "identifier,title,description,currency,amount awarded,award date,\
                       funding org:identifier,funding org:name,Recipient Ind:Identifier\r\n";
    assert_eq!(
        parse_grants(individuals.as_bytes()),
        Err(GrantsError::MissingColumns {
            missing: vec!["Recipient Ind:Name".into()]
        })
    );
    assert_eq!(
        parse_grants(b"Supplier,Amount\r\nAcme,12\r\n"),
        Err(GrantsError::MissingColumns {
            missing: [
                "Identifier",
                "Title",
                "Description",
                "Currency",
                "Amount Awarded",
                "Award Date",
                "Funding Org:Identifier",
                "Funding Org:Name",
                "Recipient Org:Identifier",
                "Recipient Org:Name",
            ]
            .map(String::from)
            .to_vec()
        })
    );
}

#[test]
fn csv_bad_date_rejects_that_line_only() {
    let csv = csv_with("360G-traffordmbc-VSG1346", ",2013-01-18,", ",18/01/2013,");
    let file = parse_grants(csv.as_bytes()).expect("usable");
    assert_eq!(
        file.rejected,
        vec![error(
            "line 6, column Award Date",
            "must be a date (YYYY-MM-DD) or a date-time, not \"18/01/2013\""
        )]
    );
    assert_eq!(file.grants.len(), 14);
    assert!(!ids(&file.grants).contains(&"360G-traffordmbc-VSG1346"));
}

#[test]
fn csv_blank_and_bad_cells_are_located_by_line_and_column() {
    let csv = csv_with("360G-traffordmbc-VSG1311", ",GBP,,4540,", ",GB,,\"4,54\",");
    let csv = csv.replacen(
        "Trafford Metropolitan Borough Council,Partnerships and Communities,VSG,Voluntary Sector Grants,,Yes,,2022-05-03T18:09:56Z,https://www.trafford.gov.uk/\r\n360G-traffordmbc-VSG1346",
        ",Partnerships and Communities,VSG,Voluntary Sector Grants,,Yes,,2022-05-03T18:09:56Z,https://www.trafford.gov.uk/\r\n360G-traffordmbc-VSG1346",
        1,
    );
    let file = parse_grants(csv.as_bytes()).expect("usable");
    assert_eq!(
        file.rejected,
        vec![
            error("line 5, column Funding Org:Name", "required, but blank"),
            error(
                "line 10, column Currency",
                "must be an ISO 4217 code of 3 upper-case letters, not \"GB\""
            ),
            error(
                "line 10, column Amount Awarded",
                "must be an amount such as 1234.56, not \"4,54\""
            ),
        ]
    );
    assert_eq!(file.grants.len(), 13);
}

#[test]
fn csv_recipient_individual_keeps_no_name() {
    let csv = "\u{feff}Identifier,Title,Description,Currency,Amount Awarded,Award Date,\
               Recipient Ind:Identifier,Recipient Ind:Name,Funding Org:Identifier,Funding Org:Name\r\n\
               360G-x-1,Bursary,Music bursary,GBP,£1,250,2024-09-01,360G-x-IND-7,Alex Example,\
               GB-CHC-1000001,Example Trust\r\n";
    // An unquoted comma would split the amount; quote it as spreadsheets do.
    let csv = csv.replace("£1,250", "\"£1,250\"");
    let file = parse_grants(csv.as_bytes()).expect("usable");
    assert_eq!(file.rejected, vec![]);
    let grant = &file.grants[0];
    assert_eq!(
        grant.recipient,
        Recipient::Individual {
            id: "360G-x-IND-7".into()
        }
    );
    assert_eq!(grant.amount_awarded_pence, 125_000);
    assert_eq!(
        grant.raw,
        json!({
            "id": "360G-x-1",
            "title": "Bursary",
            "description": "Music bursary",
            "currency": "GBP",
            "amountAwarded": 1250,
            "awardDate": "2024-09-01",
            "recipientIndividual": {"id": "360G-x-IND-7"},
            "fundingOrganization": [{"id": "GB-CHC-1000001", "name": "Example Trust"}],
        })
    );
    assert!(!format!("{grant:?}").contains("Alex"));
}

#[test]
fn csv_numbered_titles_and_repeated_rows_fill_lists() {
    let csv = "Identifier,Title,Description,Currency,Amount Awarded,Award Date,\
               Recipient Org:0:Identifier,Recipient Org:0:Name,Funding Org:0:Identifier,\
               Funding Org:0:Name,Beneficiary Location:0:Name,Beneficiary Location:1:Name\n\
               360G-x-1,Play,\"Play schemes,\nsummer and autumn\",GBP,100,2024-01-02,\
               gb-coh-123,Play Ltd,GB-LAE-TRF,Trafford,,Sale\n\
               360G-x-1,,,,,,,,,,Altrincham,Sale\n\
               360G-x-2,Swim,Swimming,GBP,200,2024-01-03,GB-CHC-1000002,Swim Club,GB-LAE-TRF,\
               Trafford,,\n\
               360G-x-1,Play,,EUR,,,,,,,,\n\
               ,,,,,,,,,,,\n";
    let file = parse_grants(csv.as_bytes()).expect("usable");
    // The quoted description spans lines 2-3, so the rows after it start one line later.
    assert_eq!(
        file.rejected,
        vec![error(
            "line 6, column Currency",
            "differs from line 2, where this grant's Identifier first appears; a repeated \
             Identifier may add list items, not change a value"
        )]
    );
    assert_eq!(ids(&file.grants), vec!["360G-x-2"]);
    assert_eq!(file.grants[0].source_position, "line 5");

    let fixed = csv.replace("360G-x-1,Play,,EUR,,,,,,,,\n", "");
    let file = parse_grants(fixed.as_bytes()).expect("usable");
    assert_eq!(file.rejected, vec![]);
    let play = &file.grants[0];
    assert_eq!(play.id, "360G-x-1");
    assert_eq!(play.description, "Play schemes,\nsummer and autumn");
    assert_eq!(play.source_position, "line 2");
    assert_eq!(
        play.raw["beneficiaryLocation"],
        json!([{"name": "Sale"}, {"name": "Altrincham"}])
    );
    assert_eq!(play.beneficiary_location.as_deref(), Some("Sale"));
    assert_eq!(
        play.recipient,
        organisation(
            "GB-COH-00000123",
            "Play Ltd",
            None,
            None,
            &["GB-COH-00000123"]
        )
    );
}

#[test]
fn csv_in_windows_1252_is_read() {
    let name = "Altrincham Children's Choir,,";
    let at = CSV.find(name).expect("the recipient name cell") + "Altrincham Children".len();
    // 0x92 is cp1252's right single quotation mark, and invalid as UTF-8.
    let bytes = [&CSV.as_bytes()[..at], b"\x92", &CSV.as_bytes()[at + 1..]].concat();
    let file = parse_grants(&bytes).expect("usable");
    assert_eq!(file.rejected, vec![]);
    assert_eq!(file.grants.len(), 15);
    assert!(matches!(
        &file.grants[0].recipient,
        Recipient::Organisation { name, .. } if name == "Altrincham Children\u{2019}s Choir"
    ));
}
