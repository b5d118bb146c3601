//! Turn jsonschema errors into short messages for a person: the offending value (truncated),
//! what was expected, and a pointer to where.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::{Issue, escape};

/// Render a value briefly: strings quoted and truncated, containers by kind.
pub(crate) fn brief(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let mut t: String = s.chars().take(60).collect();
            if s.chars().count() > 60 {
                t.push('…');
            }
            format!("'{t}'")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Append the issues for one jsonschema error. `oneOf`/`anyOf` failures are replaced by the
/// errors of the branch that came closest, since "not valid under any of the schemas" tells a
/// person nothing.
pub(crate) fn push_issues(error: &ValidationError<'_>, out: &mut Vec<Issue>) {
    let pointer = error.instance_path().as_str().to_string();
    let instance = error.instance();
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            out.push(Issue {
                pointer: format!("{pointer}/{}", escape(&name)),
                message: format!("'{name}' is missing but required"),
            });
            return;
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            if let Some(best) = best_branch(context) {
                for e in best {
                    push_issues(e, out);
                }
                return;
            }
            format!(
                "{} does not match any of the allowed forms",
                brief(instance)
            )
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!(
                "{} matches more than one of the allowed forms",
                brief(instance)
            )
        }
        ValidationErrorKind::Type { kind } => {
            let mut names: Vec<&str> = match kind {
                TypeKind::Single(t) => vec![t.as_str()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.as_str()).collect(),
            };
            // "string or null" reads better than the bit order's "null or string".
            names.sort_by_key(|n| *n == "null");
            format!("{} is not of type {}", brief(instance), names.join(" or "))
        }
        ValidationErrorKind::Format { format } => {
            let hint = match format.as_str() {
                "date-time" => " (RFC 3339, e.g. 2026-01-31T09:00:00Z)",
                _ => "",
            };
            format!("{} is not a valid {format}{hint}", brief(instance))
        }
        ValidationErrorKind::Enum { options } => {
            let opts = options
                .as_array()
                .map(|a| a.iter().map(brief).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            format!("{} is not one of: {opts}", brief(instance))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("needs at least {}", plural(*limit, "item"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("has more than {}", plural(*limit, "item"))
        }
        ValidationErrorKind::MinLength { limit } if *limit == 1 => "must not be empty".into(),
        ValidationErrorKind::MinLength { limit } => {
            format!(
                "{} is shorter than {}",
                brief(instance),
                plural(*limit, "character")
            )
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!(
                "{} is longer than {}",
                brief(instance),
                plural(*limit, "character")
            )
        }
        ValidationErrorKind::UniqueItems => match duplicate_pair(instance) {
            Some((i, j)) => format!("items {i} and {j} are identical; items must be unique"),
            None => "contains duplicate items".into(),
        },
        ValidationErrorKind::Pattern { pattern } => {
            format!("{} does not match the pattern {pattern}", brief(instance))
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{} is less than the minimum of {limit}", brief(instance))
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{} is greater than the maximum of {limit}", brief(instance))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("fields not allowed here: {}", unexpected.join(", "))
        }
        _ => {
            // Rare for OCDS schemas; jsonschema's own text, without a huge instance dump.
            let text = error.to_string();
            let mut t: String = text.chars().take(200).collect();
            if text.chars().count() > 200 {
                t.push('…');
            }
            t
        }
    };
    out.push(Issue { pointer, message });
}

/// The branch with the fewest errors; ties go to the one whose errors sit deepest (they matched
/// more of the structure before failing).
fn best_branch<'a, 'b>(
    context: &'a [Vec<ValidationError<'b>>],
) -> Option<&'a Vec<ValidationError<'b>>> {
    context.iter().filter(|b| !b.is_empty()).min_by_key(|b| {
        let depth = b
            .iter()
            .map(|e| e.instance_path().as_str().matches('/').count())
            .max()
            .unwrap_or(0);
        (b.len(), usize::MAX - depth)
    })
}

/// The first pair of equal items in an array.
fn duplicate_pair(v: &Value) -> Option<(usize, usize)> {
    let items = v.as_array()?;
    // Quadratic; arrays inside a release are short, and the package-level arrays are skipped.
    if items.len() > 500 {
        return None;
    }
    (1..items.len()).find_map(|j| (0..j).find(|&i| items[i] == items[j]).map(|i| (i, j)))
}
