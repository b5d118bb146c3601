//! Focused tests of behaviour the conformance fixtures do not pin down.

use serde_json::{Value, json};

use super::*;

/// A small schema in the shape of OCDS: metadata omitted, `tender.items` merged by id,
/// `parties.roles` whole-list.
fn rules() -> MergeRules {
    let schema = json!({
        "definitions": {
            "Item": {"type": "object", "properties": {
                "id": {"type": ["string", "integer"]},
                "quantity": {"type": "number"}
            }},
            "Organization": {"type": "object", "properties": {
                "id": {"type": "string"},
                "roles": {"type": "array", "items": {"type": "string"}}
            }}
        },
        "properties": {
            "ocid": {"type": "string"},
            "id": {"type": "string", "omitWhenMerged": true},
            "date": {"type": "string", "omitWhenMerged": true},
            "tag": {"type": "array", "items": {"type": "string"}, "omitWhenMerged": true},
            "parties": {"type": "array", "items": {"$ref": "#/definitions/Organization"}},
            "tender": {"type": "object", "properties": {
                "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}}
            }}
        }
    });
    MergeRules::from_schema(&schema).expect("test schema")
}

fn release(id: &str, date: &str, data: Value) -> Value {
    let mut release = json!({"ocid": "ocds-x-1", "id": id, "date": date, "tag": ["tender"]});
    if let (Value::Object(release), Value::Object(data)) = (&mut release, data) {
        release.extend(data);
    }
    release
}

fn lifecycle() -> Vec<Value> {
    vec![
        release(
            "1",
            "2024-01-01T00:00:00Z",
            json!({"tender": {"title": "A", "items": [{"id": "i1", "quantity": 1}]},
                   "parties": [{"id": "p1", "roles": ["buyer"]}]}),
        ),
        release(
            "2",
            "2024-02-01T00:00:00Z",
            json!({"tender": {"title": "B", "items": [{"id": "i2", "quantity": 2}]}}),
        ),
        release(
            "3",
            "2024-03-01T00:00:00Z",
            json!({"tender": {"items": [{"id": "i1", "quantity": 3}]},
                   "parties": [{"id": "p1", "roles": ["buyer", "payer"]}]}),
        ),
        release(
            "4",
            "2024-04-01T00:00:00Z",
            json!({"tender": {"title": null}, "awards": [{"id": "a1", "status": "active"}]}),
        ),
    ]
}

#[test]
fn out_of_order_input_equals_in_order_result() {
    let rules = rules();
    let in_order = lifecycle();
    let compiled = compile(&rules, in_order.clone()).expect("in order");
    let versioned = compile_versioned(&rules, in_order.clone()).expect("in order");
    assert_eq!(compiled.release["tender"]["items"][0]["quantity"], 3);
    assert!(compiled.release["tender"].get("title").is_none());
    assert_eq!(compiled.release["id"], "ocds-x-1-2024-04-01T00:00:00Z");

    // Every rotation and the reversal: late arrivals land where their date puts them.
    let mut orders: Vec<Vec<Value>> = (0..in_order.len())
        .map(|k| {
            let mut order = in_order.clone();
            order.rotate_left(k);
            order
        })
        .collect();
    orders.push(in_order.iter().rev().cloned().collect());
    for order in orders {
        let record = compile_record(&rules, order.clone()).expect("any order");
        assert_eq!(record.compiled, compiled.release);
        assert_eq!(record.versioned, versioned.release);
        assert_eq!(compile(&rules, order).expect("any order"), compiled);
    }
}

#[test]
fn equal_dates_keep_arrival_order_and_warn_only_when_releases_differ() {
    let rules = rules();
    let a = release("a", "2024-01-01T00:00:00Z", json!({"title": "first"}));
    let b = release("b", "2024-01-01T00:00:00Z", json!({"title": "second"}));
    let merged = compile(&rules, vec![a.clone(), b.clone()]).expect("merge");
    assert_eq!(merged.release["title"], "second");
    assert_eq!(merged.warnings.len(), 1);
    let warning = &merged.warnings[0];
    assert_eq!(warning.kind, WarningKind::RepeatedDateValue);
    assert_eq!(warning.path, "date");
    assert_eq!(
        warning.release,
        ReleaseRef {
            index: 1,
            id: Some("b".into())
        }
    );
    assert_eq!(
        compile(&rules, vec![b, a.clone()]).expect("merge").release["title"],
        "first"
    );
    // A re-sent identical release merges the same either way: no warning.
    assert!(
        compile(&rules, vec![a.clone(), a])
            .expect("merge")
            .warnings
            .is_empty()
    );
}

#[test]
fn inconsistent_types_fail_with_the_release_and_pointer() {
    let rules = rules();
    let first = release("1", "2024-01-01T00:00:00Z", json!({"tender": {"value": 5}}));
    let second = release(
        "2",
        "2024-02-01T00:00:00Z",
        json!({"tender": {"value": {"amount": 5}}}),
    );
    let error = compile(&rules, vec![second, first]).expect_err("literal then object");
    assert_eq!(
        error,
        MergeError::InconsistentType {
            release: ReleaseRef {
                index: 0,
                id: Some("2".into())
            },
            pointer: "/tender/value".into(),
            previous: "a number",
            current: "an object",
        }
    );
    assert!(
        error.to_string().contains("release #0 (id \"2\")"),
        "{error}"
    );
    assert!(error.to_string().contains("/tender/value"), "{error}");

    // Object then identifier-merged array, inside an array item: the pointer uses the
    // position in the offending release.
    let first = release(
        "1",
        "2024-01-01T00:00:00Z",
        json!({"tender": {"items": [{"id": "i1", "unit": {"name": "h"}}]}}),
    );
    let second = release(
        "2",
        "2024-02-01T00:00:00Z",
        json!({"tender": {"items": [{"id": "i0"}, {"id": "i1", "unit": [{"id": "u"}]}]}}),
    );
    match compile(&rules, vec![first.clone(), second]) {
        Err(MergeError::InconsistentType {
            pointer,
            previous,
            current,
            ..
        }) => {
            assert_eq!(pointer, "/tender/items/1/unit");
            assert_eq!((previous, current), ("an object", "an array of objects"));
        }
        other => panic!("expected InconsistentType, got {other:?}"),
    }

    // Identifier-merged array then object.
    let third = release(
        "3",
        "2024-03-01T00:00:00Z",
        json!({"tender": {"items": {"id": "i1"}}}),
    );
    assert!(matches!(
        compile(&rules, vec![first.clone(), third]),
        Err(MergeError::InconsistentType { .. })
    ));

    // The reverse (object earlier, literal later) is silently ignored.
    let literal = release("4", "2024-04-01T00:00:00Z", json!({"tender": "gone?"}));
    let merged = compile(&rules, vec![first.clone(), literal]).expect("ignored");
    assert_eq!(merged.release["tender"]["items"][0]["unit"]["name"], "h");

    // `null` then an object: a fresh value when compiled, a conflict when versioned.
    let null = release("5", "2024-01-01T00:00:00Z", json!({"planning": null}));
    let object = release(
        "6",
        "2024-02-01T00:00:00Z",
        json!({"planning": {"rationale": "r"}}),
    );
    let compiled = compile(&rules, vec![null.clone(), object.clone()]).expect("compiled");
    assert_eq!(compiled.release["planning"]["rationale"], "r");
    assert!(matches!(
        compile_versioned(&rules, vec![null, object]),
        Err(MergeError::InconsistentType { .. })
    ));
}

#[test]
fn date_errors_only_with_two_or_more_releases() {
    let rules = rules();
    let dated = release("ok", "2024-01-01T00:00:00Z", json!({}));
    let cases = [
        (json!({"ocid": "x", "id": "m"}), "MissingDateKey"),
        (
            json!({"ocid": "x", "id": "m", "date": null}),
            "NullDateValue",
        ),
        (
            json!({"ocid": "x", "id": "m", "date": 20240101}),
            "NonStringDateValue",
        ),
    ];
    for (bad, name) in cases {
        let error = compile(&rules, vec![dated.clone(), bad.clone()]).expect_err(name);
        let expected_release = ReleaseRef {
            index: 1,
            id: Some("m".into()),
        };
        match (&error, name) {
            (MergeError::MissingDateKey { release }, "MissingDateKey")
            | (MergeError::NullDateValue { release }, "NullDateValue")
            | (MergeError::NonStringDateValue { release, .. }, "NonStringDateValue") => {
                assert_eq!(release, &expected_release);
            }
            _ => panic!("expected {name}, got {error:?}"),
        }
        assert!(error.to_string().contains("release #1 (id \"m\")"));
        // A single release is not checked; a missing or null date reads `None` in the id, as
        // in the reference implementations.
        let single = compile(&rules, vec![bad]).expect("single release");
        if name == "NonStringDateValue" {
            assert_eq!(single.release["id"], "x-20240101");
        } else {
            assert_eq!(single.release["id"], "x-None");
            assert!(single.release.get("date").is_none());
        }
    }

    assert!(matches!(
        compile(&rules, vec![dated, json!([1])]),
        Err(MergeError::NonObjectRelease {
            release: ReleaseRef { index: 1, .. },
            found: "an array"
        })
    ));
    assert_eq!(compile(&rules, Vec::new()), Err(MergeError::NoReleases));
}

#[test]
fn duplicate_ids_merge_and_warn_with_the_property_path() {
    let rules = rules();
    let releases = vec![
        release(
            "1",
            "2024-01-01T00:00:00Z",
            json!({"awards": [{"id": 1, "items": [{"id": "x", "a": 1}, {"id": "y"}]}]}),
        ),
        release(
            "2",
            "2024-02-01T00:00:00Z",
            json!({"awards": [
                {"id": 1, "items": [{"id": "x", "b": 2}, {"id": "x", "a": 3}]},
                {"id": "1", "status": "string id is another award"}
            ]}),
        ),
    ];
    let merged = compile(&rules, releases).expect("merge");
    assert_eq!(
        merged.release["awards"],
        json!([
            {"id": 1, "items": [{"id": "x", "a": 3, "b": 2}, {"id": "y"}]},
            {"id": "1", "status": "string id is another award"}
        ])
    );
    assert_eq!(merged.warnings.len(), 1, "{:?}", merged.warnings);
    let warning = &merged.warnings[0];
    assert_eq!(warning.kind, WarningKind::DuplicateIdValue);
    assert_eq!(warning.path, "awards.items");
    assert_eq!(warning.release.id.as_deref(), Some("2"));
    assert!(warning.message.contains("\"x\""), "{}", warning.message);
}

#[test]
fn rules_of_ocds_1_1_5() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ocds-merge/release-schema-1__1__5.json"
    );
    let text = std::fs::read_to_string(path).expect("1.1.5 schema");
    let schema: Value = serde_json::from_str(&text).expect("1.1.5 schema JSON");
    let rules = MergeRules::from_schema(&schema).expect("rules");

    let mut expected: Vec<(String, Rule)> = ["id", "date", "tag"]
        .iter()
        .map(|p| (p.to_string(), Rule::Omit))
        .collect();
    let whole_list = [
        "parties.roles",
        "parties.additionalIdentifiers",
        "buyer.additionalIdentifiers",
        "tender.submissionMethod",
        "tender.additionalProcurementCategories",
        "tender.items.additionalClassifications",
        "awards.items.additionalClassifications",
        "contracts.items.additionalClassifications",
        "relatedProcesses.relationship",
        "contracts.relatedProcesses.relationship",
        "tender.procuringEntity.additionalIdentifiers",
        "tender.tenderers.additionalIdentifiers",
        "awards.suppliers.additionalIdentifiers",
        "contracts.implementation.transactions.payer.additionalIdentifiers",
        "contracts.implementation.transactions.payee.additionalIdentifiers",
        "tender.amendment.changes",
        "tender.amendments.changes",
        "awards.amendment.changes",
        "awards.amendments.changes",
        "contracts.amendment.changes",
        "contracts.amendments.changes",
    ];
    expected.extend(whole_list.iter().map(|p| (p.to_string(), Rule::WholeList)));
    expected.sort();
    let mut actual = rules.to_list();
    actual.sort();
    assert_eq!(actual, expected);
    assert_eq!(rules.len(), 24);
    assert_eq!(rules.get(&["parties", "roles"]), Some(Rule::WholeList));
    assert_eq!(rules.get(&["parties"]), None);
}

#[test]
fn recursive_and_broken_refs() {
    let recursive = json!({
        "definitions": {"Node": {"type": "object", "properties": {
            "id": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
            "tags": {"type": "array", "items": {"type": "string"}}
        }}},
        "properties": {"tree": {"$ref": "#/definitions/Node"}}
    });
    let rules = MergeRules::from_schema(&recursive).expect("terminates");
    // One level of expansion, then the reference is cut.
    assert_eq!(rules.get(&["tree", "tags"]), Some(Rule::WholeList));
    assert_eq!(rules.get(&["tree", "children", "tags"]), None);

    let broken = json!({"properties": {"a": {"$ref": "#/definitions/Missing"}}});
    assert!(matches!(
        MergeRules::from_schema(&broken),
        Err(SchemaError::UnresolvedRef { .. })
    ));
    let external = json!({"properties": {"a": {"$ref": "other.json#/x"}}});
    assert!(matches!(
        MergeRules::from_schema(&external),
        Err(SchemaError::UnresolvedRef { .. })
    ));
    assert_eq!(
        MergeRules::from_schema(&json!({})),
        Err(SchemaError::NoProperties)
    );
}

#[test]
fn overrides_replace_identifier_merge() {
    let base = release(
        "1",
        "2024-01-01T00:00:00Z",
        json!({"tender": {"items": [{"id": "a", "q": 1}, {"id": "a", "q": 2}]}}),
    );
    let later = release(
        "2",
        "2024-02-01T00:00:00Z",
        json!({"tender": {"items": [{"id": "b", "q": 3}]}}),
    );
    let append = rules().with_override(&["tender", "items"], Override::Append);
    let merged = compile(&append, vec![base.clone(), later.clone()]).expect("append");
    assert_eq!(
        merged.release["tender"]["items"],
        json!([{"id": "a", "q": 1}, {"id": "a", "q": 2}, {"id": "b", "q": 3}])
    );
    assert!(merged.warnings.is_empty());

    let by_position = rules().with_override(&["tender", "items"], Override::MergeByPosition);
    let merged = compile(&by_position, vec![base, later]).expect("by position");
    assert_eq!(
        merged.release["tender"]["items"],
        json!([{"id": "a", "q": 3}, {"id": "a", "q": 2}])
    );
}

#[test]
fn versioned_release_shape() {
    let rules = rules();
    let versioned = compile_versioned(&rules, lifecycle()).expect("versioned");
    let release = &versioned.release;
    assert_eq!(release["ocid"], "ocds-x-1");
    assert!(release.get("id").is_none() && release.get("tag").is_none());
    // Unchanged repetitions add nothing; the deletion is recorded as a `null` version.
    let titles: Vec<&Value> = release["tender"]["title"]
        .as_array()
        .expect("history")
        .iter()
        .map(|v| &v["value"])
        .collect();
    assert_eq!(titles, [&json!("A"), &json!("B"), &Value::Null]);
    let item = &release["tender"]["items"][0];
    assert_eq!(item["id"], "i1", "array item ids stay plain");
    assert_eq!(
        item["quantity"][1],
        json!({"releaseID": "3", "releaseDate": "2024-03-01T00:00:00Z",
               "releaseTag": ["tender"], "value": 3})
    );
    assert_eq!(
        release["parties"][0]["roles"].as_array().map(Vec::len),
        Some(2),
        "whole-list arrays are versioned as one value"
    );
}
