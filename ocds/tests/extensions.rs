//! Our embedded patches for the budget breakdown and metrics extensions
//! (`ExtensionPatch::budget_breakdown`, `ExtensionPatch::metrics`).

use ocds::validate::{self, ExtensionPatch, Issue, Schema};
use serde_json::{Value, json};

const FTS: &[u8] = include_bytes!("data/fts_ocds_release_package_children_services.json");

fn schema() -> Schema {
    Schema::with_extensions(&[
        ExtensionPatch::budget_breakdown(),
        ExtensionPatch::metrics(),
    ])
    .unwrap()
}

fn pointers(issues: &[Issue]) -> Vec<&str> {
    issues.iter().map(|i| i.pointer.as_str()).collect()
}

fn release() -> Value {
    json!({
        "ocid": "ocds-b5fd17-000001",
        "id": "ocds-b5fd17-000001-01",
        "date": "2026-01-31T09:00:00Z",
        "tag": ["planning"],
        "initiationType": "tender",
        "buyer": {"id": "GB-LAE-DEV", "name": "Devon County Council"},
        "parties": [
            {"id": "GB-LAE-DEV", "name": "Devon County Council", "roles": ["buyer", "sourceParty"]},
            {"id": "GB-NHS-QJK", "name": "NHS Devon ICB", "roles": ["funder", "sourceParty"]}
        ],
        "planning": {
            "budget": {
                "amount": {"amount": 300000, "currency": "GBP"},
                "budgetBreakdown": [
                    {"id": "1", "description": "Council", "amount": {"amount": 200000, "currency": "GBP"},
                     "period": {"startDate": "2026-04-01T00:00:00Z", "endDate": "2027-03-31T23:59:59Z"},
                     "sourceParty": {"id": "GB-LAE-DEV", "name": "Devon County Council"},
                     "uri": "https://example.org/budget/1"},
                    {"id": 2, "amount": {"amount": 100000, "currency": "GBP"},
                     "sourceParty": {"id": "GB-NHS-QJK", "name": "NHS Devon ICB"}}
                ]
            },
            "forecasts": [{"id": "f1", "title": "Families supported"}]
        },
        "tender": {"id": "T1", "status": "planned",
                   "targets": [{"id": "t1", "observations": [{"id": "o1", "measure": 120}]}]},
        "contracts": [{
            "id": "C1", "awardID": "A1",
            "agreedMetrics": [{"id": "m1", "observations": [{"id": "target", "measure": "95%"}]}],
            "implementation": {"metrics": [{
                "id": "m1",
                "title": "Seen within 10 days",
                "description": "Share of referrals seen within 10 working days",
                "observations": [{
                    "id": "q1",
                    "period": {"startDate": "2026-04-01T00:00:00Z", "endDate": "2026-06-30T23:59:59Z"},
                    "measure": 91.5,
                    "unit": {"name": "percent", "scheme": "UNCEFACT", "id": "P1"},
                    "dimensions": {"ageGroup": "11-16"},
                    "notes": "First quarter",
                    "relatedImplementationMilestone": {"id": "ms1", "title": "Q1 review"},
                    "measureClassification": {"id": "slightlyBelow", "description": "Approaching target"}
                }, {
                    "id": "q1-spend",
                    "value": {"amount": 12000, "currency": "GBP"}
                }]
            }]}
        }],
        "awards": [{"id": "A1", "agreedMetrics": [{"id": "m1"}]}]
    })
}

#[test]
fn dependency_urls_are_the_official_ones() {
    assert_eq!(
        ExtensionPatch::BUDGET_BREAKDOWN_URL,
        "https://raw.githubusercontent.com/open-contracting-extensions/ocds_budget_breakdown_extension/master/extension.json"
    );
    assert_eq!(
        ExtensionPatch::METRICS_URL,
        "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/master/extension.json"
    );
}

#[test]
fn budget_breakdown_and_metrics_fields_are_known() {
    let r = release();
    let report = schema().validate(&r);
    assert!(report.errors.is_empty(), "{report}");
    assert!(report.warnings.is_empty(), "{report}");

    // Without the patches the same fields are additional fields.
    let core = validate::validate(&r);
    assert!(core.errors.is_empty(), "{core}");
    let core_warnings = pointers(&core.warnings);
    for p in [
        "/planning/budget/budgetBreakdown",
        "/planning/forecasts",
        "/tender/targets",
        "/awards/0/agreedMetrics",
        "/contracts/0/agreedMetrics",
        "/contracts/0/implementation/metrics",
        "/parties/0/roles/1",
    ] {
        assert!(core_warnings.contains(&p), "{p}: {core}");
    }
}

#[test]
fn dependency_shapes_are_checked() {
    let mut r = release();
    r["planning"]["budget"]["budgetBreakdown"][0]
        .as_object_mut()
        .unwrap()
        .remove("id");
    r["planning"]["budget"]["budgetBreakdown"][1]["amount"] = json!("a lot");
    r["contracts"][0]["implementation"]["metrics"][0]["observations"][0]["measure"] = json!(true);
    r["contracts"][0]["implementation"]["metrics"][0]["observations"][0]["unit"]["scheme"] =
        json!("furlongs");
    r["tender"]["targets"][0]
        .as_object_mut()
        .unwrap()
        .remove("id");
    r["contracts"][0]["implementation"]["metrics"][0]["observations"][0]["measureClassification"] =
        json!("met");
    let report = schema().validate(&r);
    assert_eq!(
        pointers(&report.errors),
        [
            "/contracts/0/implementation/metrics/0/observations/0/measure",
            "/contracts/0/implementation/metrics/0/observations/0/measureClassification",
            "/planning/budget/budgetBreakdown/0/id",
            "/planning/budget/budgetBreakdown/1/amount",
            "/tender/targets/0/id",
        ],
        "{report}"
    );
    // An open codelist: a warning, not an error.
    assert_eq!(
        report.warnings,
        [Issue {
            pointer: "/contracts/0/implementation/metrics/0/observations/0/unit/scheme".into(),
            message: "'furlongs' is not in the open codelist unitClassificationScheme".into(),
        }]
    );
}

#[test]
fn patches_only_add_to_the_core_schema() {
    let core = Schema::core().release_schema();
    let patched = schema();
    let patched = patched.release_schema();
    let mut leaves = Vec::new();
    collect_leaves(core, String::new(), &mut leaves);
    assert!(leaves.len() > 500, "{}", leaves.len());
    for (pointer, value) in leaves {
        assert_eq!(patched.pointer(&pointer), Some(value), "{pointer}");
    }
}

/// Every scalar and array in `v` (arrays compared whole: a merge patch replaces them), by
/// JSON pointer.
fn collect_leaves<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let token = k.replace('~', "~0").replace('/', "~1");
                collect_leaves(child, format!("{at}/{token}"), out);
            }
        }
        _ => out.push((at, v)),
    }
}

#[test]
fn fts_performance_notices_validate_without_metric_warnings() {
    let doc: Value = serde_json::from_slice(FTS).unwrap();
    let with = schema().validate(&doc);
    let core = validate::validate(&doc);
    assert_eq!(with.errors, core.errors);
    assert!(
        core.warnings.iter().any(|w| on_metric(&w.pointer)),
        "the sample has UK7/UK9 metrics: {core}"
    );
    // Fields of metrics and observations themselves are known now (fields from other
    // extensions deeper down, such as a period's `durationInMonths`, may still warn).
    let left: Vec<&Issue> = with
        .warnings
        .iter()
        .filter(|w| on_metric(&w.pointer))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A pointer at a metrics array, or at a member of a metric or of an observation.
fn on_metric(pointer: &str) -> bool {
    const ARRAYS: [&str; 5] = [
        "forecasts",
        "targets",
        "agreedMetrics",
        "metrics",
        "observations",
    ];
    let parts: Vec<&str> = pointer.split('/').collect();
    let n = parts.len();
    let is_index = |s: &str| s.parse::<usize>().is_ok();
    ARRAYS.contains(&parts[n - 1])
        || (n >= 3 && is_index(parts[n - 2]) && ARRAYS.contains(&parts[n - 3]))
}
