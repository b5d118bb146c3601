//! The embedded OCDS 1.1.5 schema files and codelists, extension patching, and codelist CSV
//! parsing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub(crate) const RELEASE_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";
pub(crate) const RELEASE_PACKAGE_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-package-schema.json";
pub(crate) const RECORD_PACKAGE_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/record-package-schema.json";
pub(crate) const VERSIONED_ID: &str =
    "https://standard.open-contracting.org/schema/1__1__5/versioned-release-validation-schema.json";

pub(crate) const RELEASE_SCHEMA: &str = include_str!("../../schema/1__1__5/release-schema.json");
pub(crate) const RELEASE_PACKAGE_SCHEMA: &str =
    include_str!("../../schema/1__1__5/release-package-schema.json");
pub(crate) const RECORD_PACKAGE_SCHEMA: &str =
    include_str!("../../schema/1__1__5/record-package-schema.json");
pub(crate) const VERSIONED_SCHEMA: &str =
    include_str!("../../schema/1__1__5/versioned-release-validation-schema.json");

/// The 19 core codelists, by file name.
pub(crate) const CODELISTS: &[(&str, &str)] = &[
    (
        "awardCriteria.csv",
        include_str!("../../schema/1__1__5/codelists/awardCriteria.csv"),
    ),
    (
        "awardStatus.csv",
        include_str!("../../schema/1__1__5/codelists/awardStatus.csv"),
    ),
    (
        "contractStatus.csv",
        include_str!("../../schema/1__1__5/codelists/contractStatus.csv"),
    ),
    (
        "currency.csv",
        include_str!("../../schema/1__1__5/codelists/currency.csv"),
    ),
    (
        "documentType.csv",
        include_str!("../../schema/1__1__5/codelists/documentType.csv"),
    ),
    (
        "extendedProcurementCategory.csv",
        include_str!("../../schema/1__1__5/codelists/extendedProcurementCategory.csv"),
    ),
    (
        "initiationType.csv",
        include_str!("../../schema/1__1__5/codelists/initiationType.csv"),
    ),
    (
        "itemClassificationScheme.csv",
        include_str!("../../schema/1__1__5/codelists/itemClassificationScheme.csv"),
    ),
    (
        "method.csv",
        include_str!("../../schema/1__1__5/codelists/method.csv"),
    ),
    (
        "milestoneStatus.csv",
        include_str!("../../schema/1__1__5/codelists/milestoneStatus.csv"),
    ),
    (
        "milestoneType.csv",
        include_str!("../../schema/1__1__5/codelists/milestoneType.csv"),
    ),
    (
        "partyRole.csv",
        include_str!("../../schema/1__1__5/codelists/partyRole.csv"),
    ),
    (
        "procurementCategory.csv",
        include_str!("../../schema/1__1__5/codelists/procurementCategory.csv"),
    ),
    (
        "relatedProcess.csv",
        include_str!("../../schema/1__1__5/codelists/relatedProcess.csv"),
    ),
    (
        "relatedProcessScheme.csv",
        include_str!("../../schema/1__1__5/codelists/relatedProcessScheme.csv"),
    ),
    (
        "releaseTag.csv",
        include_str!("../../schema/1__1__5/codelists/releaseTag.csv"),
    ),
    (
        "submissionMethod.csv",
        include_str!("../../schema/1__1__5/codelists/submissionMethod.csv"),
    ),
    (
        "tenderStatus.csv",
        include_str!("../../schema/1__1__5/codelists/tenderStatus.csv"),
    ),
    (
        "unitClassificationScheme.csv",
        include_str!("../../schema/1__1__5/codelists/unitClassificationScheme.csv"),
    ),
];

/// Codelist name as used in messages: file name without `.csv`.
pub(crate) fn codelist_name(file: &str) -> &str {
    file.strip_suffix(".csv").unwrap_or(file)
}

/// RFC 7386 JSON Merge Patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Remove `enum` from fields that carry a `codelist`: codelist membership is checked by our own
/// walker (with extension codelists applied and clear messages), so jsonschema must not also
/// reject the same value with a raw enum dump.
pub(crate) fn strip_codelist_enums(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("codelist") {
                map.remove("enum");
                if let Some(Value::Object(items)) = map.get_mut("items") {
                    items.remove("enum");
                }
            }
            for child in map.values_mut() {
                strip_codelist_enums(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_codelist_enums),
        _ => {}
    }
}

/// The `Code` column of a codelist CSV (RFC 4180: quoted fields, doubled quotes, newlines
/// inside quotes).
pub(crate) fn parse_codes(csv: &str) -> Result<BTreeSet<String>, String> {
    let rows = parse_csv(csv.strip_prefix('\u{feff}').unwrap_or(csv));
    let mut rows = rows.into_iter();
    let header = rows.next().ok_or("empty codelist")?;
    let col = header
        .iter()
        .position(|h| h.trim() == "Code")
        .ok_or("codelist has no 'Code' column")?;
    Ok(rows
        .filter_map(|r| r.get(col).cloned())
        .filter(|c| !c.is_empty())
        .collect())
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Core codelists, by file name.
pub(crate) fn core_codelists() -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    CODELISTS
        .iter()
        .map(|(name, csv)| {
            Ok((
                name.to_string(),
                parse_codes(csv).map_err(|e| format!("{name}: {e}"))?,
            ))
        })
        .collect()
}

/// Apply one extension codelist file: `+name.csv` adds codes, `-name.csv` removes codes, and
/// `name.csv` adds a new codelist or replaces an existing one (OCDS extension conventions).
pub(crate) fn apply_codelist(
    lists: &mut BTreeMap<String, BTreeSet<String>>,
    file: &str,
    csv: &str,
) -> Result<(), String> {
    let codes = parse_codes(csv).map_err(|e| format!("{file}: {e}"))?;
    let with_ext = |n: &str| {
        if n.ends_with(".csv") {
            n.to_string()
        } else {
            format!("{n}.csv")
        }
    };
    if let Some(base) = file.strip_prefix('+') {
        lists.entry(with_ext(base)).or_default().extend(codes);
    } else if let Some(base) = file.strip_prefix('-') {
        if let Some(list) = lists.get_mut(&with_ext(base)) {
            for c in &codes {
                list.remove(c);
            }
        }
    } else {
        lists.insert(with_ext(file), codes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_newlines() {
        let csv = "Code,Title,Description\r\na,\"A, \"\"x\"\"\",\"line\nbreak\"\r\nb,B,\n";
        let codes = parse_codes(csv).unwrap();
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn core_codelists_parse() {
        let lists = core_codelists().unwrap();
        assert_eq!(lists.len(), 19);
        assert!(lists["tenderStatus.csv"].contains("active"));
        assert!(lists["currency.csv"].contains("GBP"));
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = serde_json::json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(
            &mut t,
            &serde_json::json!({"a": {"b": null, "e": 3}, "d": [2], "f": {"g": 1}}),
        );
        assert_eq!(
            t,
            serde_json::json!({"a": {"c": 2, "e": 3}, "d": [2], "f": {"g": 1}})
        );
    }
}
