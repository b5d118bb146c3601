//! Tests for `ocds::validate` (see tests/data/README.md for the provenance of the samples).

use std::collections::BTreeMap;

use ocds::validate::{self, ExtensionPatch, Issue, ReleaseIds, Report, Schema};
use serde_json::{Value, json};

const FTS: &[u8] = include_bytes!("data/fts_ocds_release_package_children_services.json");
const CF: &[u8] = include_bytes!("data/contracts_finder_ocds_search_page_excerpt_2022.json");
const UK_PATCH: &str = include_str!("data/ocds_uk_extension/release-schema.json");
const UK_CODELISTS: &[(&str, &str)] = &[
    (
        "+bidStatistics.csv",
        include_str!("data/ocds_uk_extension/codelists/+bidStatistics.csv"),
    ),
    (
        "+documentType.csv",
        include_str!("data/ocds_uk_extension/codelists/+documentType.csv"),
    ),
    (
        "+itemClassificationScheme.csv",
        include_str!("data/ocds_uk_extension/codelists/+itemClassificationScheme.csv"),
    ),
    (
        "+milestoneType.csv",
        include_str!("data/ocds_uk_extension/codelists/+milestoneType.csv"),
    ),
    (
        "+partyRole.csv",
        include_str!("data/ocds_uk_extension/codelists/+partyRole.csv"),
    ),
    (
        "penaltyType.csv",
        include_str!("data/ocds_uk_extension/codelists/penaltyType.csv"),
    ),
    (
        "+reservedParticipation.csv",
        include_str!("data/ocds_uk_extension/codelists/+reservedParticipation.csv"),
    ),
];

fn uk_extension() -> ExtensionPatch {
    ExtensionPatch {
        release_schema_patch: serde_json::from_str(UK_PATCH).unwrap(),
        codelists: UK_CODELISTS
            .iter()
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .collect(),
    }
}

fn pointers(issues: &[Issue]) -> Vec<&str> {
    issues.iter().map(|i| i.pointer.as_str()).collect()
}

fn summary(report: &Report) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for w in &report.warnings {
        // Group by message without the quoted value's details.
        *by.entry(w.message.clone()).or_insert(0) += 1;
    }
    by
}

fn minimal_release() -> Value {
    json!({
        "ocid": "ocds-b5fd17-000001",
        "id": "ocds-b5fd17-000001-01",
        "date": "2026-01-31T09:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": "GB-LAE-DEV", "name": "Devon County Council"},
        "parties": [{"id": "GB-LAE-DEV", "name": "Devon County Council", "roles": ["buyer"]}],
        "tender": {
            "id": "T1",
            "title": "Short breaks for disabled children",
            "title_cy": "Seibiannau byr",
            "status": "active",
            "procurementMethod": "open",
            "value": {"amount": 1250000.00, "currency": "GBP"},
            "tenderPeriod": {"startDate": "2026-01-31T09:00:00Z", "endDate": "2026-03-01T12:00:00+00:00"},
            "documents": [{"id": "d1", "documentType": "tenderNotice", "url": "https://example.org/notice"}]
        }
    })
}

#[test]
fn fts_sample_package() {
    let doc: Value = serde_json::from_slice(FTS).unwrap();
    let report = validate::validate(&doc);
    println!(
        "FTS sample: {} errors, {} warnings",
        report.errors.len(),
        report.warnings.len()
    );
    for e in &report.errors {
        println!("  error {e}");
    }
    for (m, n) in summary(&report) {
        println!("  {n:4} × {m}");
    }
    // A real, well-formed FTS package: no schema or codelist errors. Cross-checked with Python
    // jsonschema 4.26 (Draft4Validator with the same schemas): 0 errors.
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.warnings.len(), 258);
    // UK extension fields show up as additional fields...
    assert!(report.warnings.contains(&Issue {
        pointer: "/releases/0/planning/documents/0/noticeType".into(),
        message: "additional field 'noticeType' is not in the schema".into(),
    }));
    // ...and UK codes as values outside open codelists (warnings, not errors).
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.message == "'removedSupplier' is not in the open codelist partyRole")
    );
    // The pagination extension's package-level `links` is also an additional field.
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.pointer == "/releases/16/links")
    );
}

#[test]
fn fts_sample_with_uk_extension() {
    let doc: Value = serde_json::from_slice(FTS).unwrap();
    let schema = Schema::with_extensions(&[uk_extension()]).unwrap();
    let core = validate::validate(&doc);
    let report = schema.validate(&doc);
    println!(
        "FTS sample with the UK extension: {} errors, {} warnings (core: {})",
        report.errors.len(),
        report.warnings.len(),
        core.warnings.len()
    );
    assert!(report.is_valid(), "{report}");
    for gone in [
        "'vcse'",
        "'noticeType'",
        "'roleDetails'",
        "'aboveThreshold'",
        "'removedSupplier'",
        "'amountGross'",
    ] {
        assert!(
            core.warnings.iter().any(|w| w.message.contains(gone)),
            "{gone} not warned about by the core schema"
        );
        assert!(
            !report.warnings.iter().any(|w| w.message.contains(gone)),
            "{gone} still warned about with the extension"
        );
    }
    assert!(report.warnings.len() < core.warnings.len());
    assert!(
        schema
            .codelist("partyRole")
            .unwrap()
            .contains("removedSupplier")
    );
    assert!(
        schema
            .codelist("penaltyType.csv")
            .unwrap()
            .contains("imposed")
    );
}

#[test]
fn cf_sample_package() {
    let doc: Value = serde_json::from_slice(CF).unwrap();
    let report = validate::validate(&doc);
    println!(
        "CF sample: {} errors, {} warnings",
        report.errors.len(),
        report.warnings.len()
    );
    for e in &report.errors {
        println!("  error {e}");
    }
    for (m, n) in summary(&report) {
        println!("  {n:4} × {m}");
    }
    assert!(report.is_valid(), "{report}");
    assert!(report.warnings.contains(&Issue {
        pointer: "/links".into(),
        message: "additional field 'links' is not in the schema".into(),
    }));
}

#[test]
fn minimal_valid_release_has_no_issues() {
    let report = validate::validate(&minimal_release());
    assert_eq!(report, Report::default(), "{report}");
    let as_package = json!({
        "uri": "https://example.org/p.json",
        "publishedDate": "2026-01-31T09:00:00Z",
        "publisher": {"name": "Example"},
        "version": "1.1",
        "releases": [minimal_release()]
    });
    let report = validate::validate(&as_package);
    assert_eq!(report, Report::default(), "{report}");
}

#[test]
fn broken_package_reports_each_error_at_its_pointer() {
    let mut bad_date = minimal_release();
    bad_date["date"] = json!("2026-13-01");
    bad_date["tender"]["status"] = json!("foo");
    let duplicate = minimal_release();
    let mut no_ocid = minimal_release();
    no_ocid.as_object_mut().unwrap().remove("ocid");
    no_ocid["id"] = json!("2");
    let mut bad_prefix = minimal_release();
    bad_prefix["ocid"] = json!("abc-123");
    bad_prefix["id"] = json!("3");
    bad_prefix["tender"]["value"]["amount"] = json!("1,250,000");
    let package = json!({
        "uri": "https://example.org/p.json",
        "publishedDate": "2026-01-31T09:00:00Z",
        "publisher": {"name": "Example"},
        "version": "1.1",
        "releases": [minimal_release(), bad_date, duplicate, no_ocid, bad_prefix]
    });
    let report = validate::validate(&package);
    let expected = vec![
        Issue {
            pointer: "/releases/1/date".into(),
            message: "'2026-13-01' is not a valid date-time (RFC 3339, e.g. 2026-01-31T09:00:00Z)"
                .into(),
        },
        Issue {
            pointer: "/releases/1/id".into(),
            message: "duplicate release: ocid 'ocds-b5fd17-000001' with id 'ocds-b5fd17-000001-01' already appears at /releases/0".into(),
        },
        Issue {
            pointer: "/releases/1/tender/status".into(),
            message: "'foo' is not in the closed codelist tenderStatus".into(),
        },
        Issue {
            pointer: "/releases/2/id".into(),
            message: "duplicate release: ocid 'ocds-b5fd17-000001' with id 'ocds-b5fd17-000001-01' already appears at /releases/0".into(),
        },
        Issue {
            pointer: "/releases/3/ocid".into(),
            message: "'ocid' is missing but required".into(),
        },
        Issue {
            pointer: "/releases/4/ocid".into(),
            message: "'abc-123' does not start with a registered OCID prefix ('ocds-', 6 letters or digits, '-', then the process identifier)".into(),
        },
        Issue {
            pointer: "/releases/4/tender/value/amount".into(),
            message: "'1,250,000' is not of type number or null".into(),
        },
    ];
    assert_eq!(report.errors, expected, "{report}");
    // Identical releases 0 and 2 are reported once, at the duplicate's id (not also as a
    // `uniqueItems` failure of /releases, nor as a duplicate id inside an array).
    assert!(report.warnings.is_empty(), "{report}");
    assert!(!report.is_valid());
}

#[test]
fn package_envelope_errors() {
    let package = json!({
        "uri": "not a uri",
        "publishedDate": "yesterday",
        "version": "1.1",
        "releases": []
    });
    let report = validate::validate(&package);
    assert_eq!(
        pointers(&report.errors),
        ["/publishedDate", "/publisher", "/releases", "/uri"],
        "{report}"
    );
    assert_eq!(
        report.errors[1].message,
        "'publisher' is missing but required"
    );
    assert_eq!(report.errors[2].message, "needs at least 1 item");
}

#[test]
fn open_codelist_value_is_a_warning_not_an_error() {
    let mut r = minimal_release();
    r["tender"]["documents"][0]["documentType"] = json!("pipelineNotice");
    r["parties"][0]["roles"] = json!(["buyer", "commissioningPartner"]);
    let report = validate::validate(&r);
    assert!(report.is_valid(), "{report}");
    assert_eq!(
        report.warnings,
        [
            Issue {
                pointer: "/parties/0/roles/1".into(),
                message: "'commissioningPartner' is not in the open codelist partyRole".into(),
            },
            Issue {
                pointer: "/tender/documents/0/documentType".into(),
                message: "'pipelineNotice' is not in the open codelist documentType".into(),
            },
        ]
    );
}

#[test]
fn closed_codelists_found_from_the_schema() {
    let mut r = minimal_release();
    r["tag"] = json!(["tender", "tenderz"]);
    r["initiationType"] = json!("auction");
    r["tender"]["procurementMethod"] = json!("framework");
    r["tender"]["value"]["currency"] = json!("GBp");
    r["tender"]["mainProcurementCategory"] = json!("care");
    r["awards"] = json!([{"id": "a1", "status": "done"}]);
    r["contracts"] = json!([{"id": "c1", "awardID": "a1", "status": "live",
        "milestones": [{"id": "m1", "status": "late"}]}]);
    let report = validate::validate(&r);
    let got: Vec<(&str, &str)> = report
        .errors
        .iter()
        .map(|i| (i.pointer.as_str(), i.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/awards/0/status",
                "'done' is not in the closed codelist awardStatus"
            ),
            (
                "/contracts/0/milestones/0/status",
                "'late' is not in the closed codelist milestoneStatus"
            ),
            (
                "/contracts/0/status",
                "'live' is not in the closed codelist contractStatus"
            ),
            (
                "/initiationType",
                "'auction' is not in the closed codelist initiationType"
            ),
            (
                "/tag/1",
                "'tenderz' is not in the closed codelist releaseTag"
            ),
            (
                "/tender/mainProcurementCategory",
                "'care' is not in the closed codelist procurementCategory"
            ),
            (
                "/tender/procurementMethod",
                "'framework' is not in the closed codelist method"
            ),
            (
                "/tender/value/currency",
                "'GBp' is not in the closed codelist currency"
            ),
        ],
        "{report}"
    );
}

#[test]
fn extension_patch_makes_extension_fields_known() {
    let mut r = minimal_release();
    r["parties"][0]["details"] = json!({"vcse": true});
    r["parties"][0]["roleDetails"] = json!("Lead commissioner");
    let core = validate::validate(&r);
    assert_eq!(
        pointers(&core.warnings),
        ["/parties/0/details/vcse", "/parties/0/roleDetails"],
        "{core}"
    );
    let schema = Schema::with_extensions(&[uk_extension()]).unwrap();
    let report = schema.validate(&r);
    assert_eq!(report, Report::default(), "{report}");
    // The patch also brings types: a string where the extension says boolean is an error.
    r["parties"][0]["details"]["vcse"] = json!("yes");
    let report = schema.validate(&r);
    assert_eq!(
        pointers(&report.errors),
        ["/parties/0/details/vcse"],
        "{report}"
    );
    assert_eq!(
        report.errors[0].message,
        "'yes' is not of type boolean or null"
    );
}

#[test]
fn small_handwritten_extension() {
    let ext = ExtensionPatch {
        release_schema_patch: json!({
            "definitions": {
                "Tender": {"properties": {
                    "serviceUserGroup": {"type": ["string", "null"], "codelist": "serviceUserGroup.csv", "openCodelist": false},
                    "procurementMethodDetails": null
                }}
            }
        }),
        codelists: vec![(
            "serviceUserGroup.csv".into(),
            "Code,Title\nchildren,Children\nadults,Adults\n".into(),
        )],
    };
    let schema = Schema::with_extensions(&[ext]).unwrap();
    let mut r = minimal_release();
    r["tender"]["serviceUserGroup"] = json!("elderly");
    r["tender"]["procurementMethodDetails"] = json!("removed by the patch");
    let report = schema.validate(&r);
    assert_eq!(
        report.errors,
        [Issue {
            pointer: "/tender/serviceUserGroup".into(),
            message: "'elderly' is not in the closed codelist serviceUserGroup".into(),
        }]
    );
    assert_eq!(
        pointers(&report.warnings),
        ["/tender/procurementMethodDetails"]
    );
    let bad = ExtensionPatch {
        release_schema_patch: json!([1]),
        codelists: vec![],
    };
    assert!(Schema::with_extensions(&[bad]).is_err());
}

#[test]
fn record_package_checks() {
    let mut embedded = minimal_release();
    embedded["tender"]["status"] = json!("foo");
    let mut other_ocid = minimal_release();
    other_ocid["ocid"] = json!("ocds-b5fd17-999999");
    other_ocid["id"] = json!("x");
    let package = json!({
        "uri": "https://example.org/records.json",
        "publishedDate": "2026-01-31T09:00:00Z",
        "publisher": {"name": "Example"},
        "version": "1.1",
        "records": [
            {
                "ocid": "ocds-b5fd17-000001",
                "releases": [
                    {"url": "https://example.org/r.json#1", "date": "2026-01-31", "tag": ["tender"]},
                    embedded,
                    other_ocid
                ],
                "compiledRelease": minimal_release()
            },
            {
                "ocid": "ocds-b5fd17-000001",
                "releases": [{"url": "https://example.org/r.json#2", "date": "2026-01-31T09:00:00Z", "tag": ["tender"], "extra": 1}]
            }
        ]
    });
    let report = validate::validate(&package);
    let got: Vec<(&str, &str)> = report
        .errors
        .iter()
        .map(|i| (i.pointer.as_str(), i.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/records/0/releases/0/date",
                "'2026-01-31' is not a valid date-time (RFC 3339, e.g. 2026-01-31T09:00:00Z)"
            ),
            (
                "/records/0/releases/1/tender/status",
                "'foo' is not in the closed codelist tenderStatus"
            ),
            (
                "/records/0/releases/2/ocid",
                "the release's ocid 'ocds-b5fd17-999999' differs from its record's ocid 'ocds-b5fd17-000001'"
            ),
            (
                "/records/1/ocid",
                "duplicate record: ocid 'ocds-b5fd17-000001' already appears at /records/0"
            ),
        ],
        "{report}"
    );
    assert_eq!(pointers(&report.warnings), ["/records/1/releases/0/extra"]);
}

#[test]
fn warnings_for_deprecated_fields_and_duplicate_array_ids() {
    let mut r = minimal_release();
    r["awards"] = json!([
        {"id": "1", "status": "active"},
        {"id": "1", "status": "pending"}
    ]);
    r["tender"]["amendment"] = json!({"rationale": "changed"});
    let report = validate::validate(&r);
    assert!(report.is_valid(), "{report}");
    assert_eq!(
        report.warnings,
        [
            Issue {
                pointer: "/awards/1/id".into(),
                message: "duplicate id '1' in this array (first at /awards/0); merging releases would combine these objects".into(),
            },
            Issue {
                pointer: "/tender/amendment".into(),
                message: "'amendment' is deprecated (since OCDS 1.1)".into(),
            },
        ]
    );
}

#[test]
fn not_an_object() {
    let report = validate::validate(&json!([1, 2]));
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].pointer, "");
    assert!(report.errors[0].message.contains("found an array"));
}

#[test]
fn streaming_validation_with_prefix_and_release_ids() {
    // Validate releases one at a time as `ocds::read` yields them, placing pointers in the
    // package and catching duplicates across the stream.
    let text = serde_json::to_string(&json!({"releases": [minimal_release(), minimal_release()]}))
        .unwrap();
    let schema = Schema::core();
    let mut ids = ReleaseIds::default();
    let mut total = Report::default();
    for item in ocds::read::from_slice(text.as_bytes()).unwrap() {
        let item = item.unwrap();
        let at = format!("/releases/{}", item.position - 1);
        let mut report = schema.validate_release(&item.release).with_prefix(&at);
        if let Some(dup) = ids.check(&item.release, &at) {
            report.errors.push(dup);
        }
        total.merge(report);
    }
    assert_eq!(pointers(&total.errors), ["/releases/1/id"]);
}

#[test]
fn report_is_sorted_and_deduplicated() {
    let mut r = minimal_release();
    let parties: Vec<Value> = (0..11)
        .map(|i| {
            let mut p = json!({"id": format!("p{i}"), "roles": ["supplier"]});
            if i == 2 || i == 10 {
                p["x"] = json!(1);
            }
            p
        })
        .collect();
    r["parties"] = Value::Array(parties);
    r["tender"]["items"] = json!([{"id": "1"}, {"id": "1"}]);
    let report = validate::validate(&r);
    assert_eq!(
        report.to_string(),
        "error   /tender/items: items 0 and 1 are identical; items must be unique\n\
         warning /parties/2/x: additional field 'x' is not in the schema\n\
         warning /parties/10/x: additional field 'x' is not in the schema\n\
         warning /tender/items/1/id: duplicate id '1' in this array (first at /tender/items/0); merging releases would combine these objects\n"
    );
    let mut merged = report.clone();
    merged.merge(report.clone());
    assert_eq!(merged, report);
}
