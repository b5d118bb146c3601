//! Privacy by default: what the register stores and publishes never contains personal data
//! that should not be there.
//!
//! Every release is passed through [`redact`] before its content hash is computed and before it
//! is stored, by publishing (`POST /api/v1/releases`, [`crate::releases::store`]) and by bulk
//! loads (`ocreg import`, the demo data, [`crate::releases::Prepared::new`]). So nothing personal
//! reaches the database, the compiled records, the search index, the organisation profiles or
//! any download, and re-publishing the same release is still idempotent (the same input
//! redacts to the same stored text). The rules:
//!
//! 1. **Contact points name no one.** In every `contactPoint` object and every entry of an
//!    `additionalContactPoints` array, anywhere in the release (`parties[].contactPoint`, the
//!    deprecated OCDS 1.0 organisation references, extensions' fields), the fields `name`,
//!    `email`, `telephone` and `faxNumber` are removed. `url` stays: it is an organisation's web
//!    page. A publisher keeps a contact point whole by marking it as a *role address* (a shared
//!    mailbox or team line such as "Commissioning team", `commissioning@wyvern.gov.uk`) with
//!    `"roleAddress": true`, a field of the ocreg extension (`ContactPoint.roleAddress`). Values
//!    already withheld as `REDACTED` (what Find a Tender and Contracts Finder publish) and empty
//!    or `null` values are left alone.
//!    A `contactPoint` left with nothing is removed whole (merging drops an emptied `{}`
//!    anyway); an emptied `additionalContactPoints` entry stays as `{}`, so the others keep
//!    their places.
//! 2. **Individuals are not named.** A party is an individual (a sole trader, a self-employed
//!    worker, a foster carer paid as a supplier) when
//!    - its `details.scale` is `selfEmployed` or `soleTrader` (the OCDS party scale codelist
//!      has only `micro`, `sme`, `small`, `medium` and `large`, and neither Find a Tender nor
//!      Contracts Finder publishes a code for individuals, so these are the register's codes), or
//!    - its `details.individual` is `true`, or
//!    - its `identifier.scheme` is a personal identifier scheme as OCDS guidance constructs them,
//!      `{ISO 3166-1 alpha-3}-{PASSPORT|TAXID|IDCARD}` (e.g. `COL-IDCARD`), or
//!    - it has no identifier scheme and its name is a redaction marker ("REDACTED", "REDACTED
//!      UNDER DP ACT", "Redacted – personal data", "Personal data", "Individual", ...: every
//!      word from a small vocabulary of such notes, so "Redactive Publishing Ltd" is a name).
//!
//!    Its `name` becomes "Individual (name withheld)" and its `identifier`,
//!    `additionalIdentifiers`, `address`, `contactPoint` and `additionalContactPoints` are
//!    removed. References to it by `id` elsewhere in the release (`awards[].suppliers[]`,
//!    `contracts[].suppliers[]`, `tender.tenderers[]`, `bids.details[].tenderers[]`,
//!    `contracts[].implementation.transactions[].payee` and `.payer`, `buyer`,
//!    `tender.procuringEntity`, `planning.budget.budgetBreakdown[].sourceParty`) get the same
//!    name and lose the same fields. The party `id` stays, so joins still work.
//!
//! Each release is judged on its own: a release that names a sole trader without saying (in that
//! release) that the party is an individual is not caught by a flag in another release of the
//! process. `null` values are kept (in a release, `null` means "remove this field" to the merge).
//!
//! The [`Redaction`] list says what was removed or replaced, by JSON pointer: it is for logs and
//! tests, never stored, and never holds the removed values themselves.

use std::borrow::Cow;

use serde_json::Value;

use crate::summary::{at, ident, text};

/// The name an individual party (and every reference to it) is published under.
pub const WITHHELD_NAME: &str = "Individual (name withheld)";

/// Contact point fields that name or reach a person.
const PERSONAL_CONTACT_FIELDS: [(&str, &str); 4] = [
    ("name", "contact name"),
    ("email", "contact email"),
    ("telephone", "contact telephone"),
    ("faxNumber", "contact fax number"),
];

/// Fields removed from an individual's party and from references to it.
const INDIVIDUAL_FIELDS: [(&str, &str); 5] = [
    ("identifier", "individual's identifier"),
    (
        "additionalIdentifiers",
        "individual's additional identifiers",
    ),
    ("address", "individual's address"),
    ("contactPoint", "individual's contact point"),
    (
        "additionalContactPoints",
        "individual's additional contact points",
    ),
];

/// `details.scale` codes (lower-case, letters only) that mean a natural person.
const INDIVIDUAL_SCALES: [&str; 2] = ["selfemployed", "soletrader"];

/// Words a redaction note is made of; a name made only of these, with at least one of
/// [`MARKER_KEYWORDS`], is no name.
const MARKER_VOCABULARY: [&str; 30] = [
    "redacted",
    "redaction",
    "withheld",
    "personal",
    "individual",
    "person",
    "private",
    "data",
    "name",
    "names",
    "information",
    "info",
    "under",
    "dp",
    "dpa",
    "act",
    "gdpr",
    "protection",
    "the",
    "of",
    "to",
    "for",
    "due",
    "reasons",
    "1998",
    "2018",
    "sole",
    "trader",
    "supplier",
    "payee",
];
const MARKER_KEYWORDS: [&str; 5] = [
    "redacted",
    "redaction",
    "withheld",
    "personal",
    "individual",
];

/// One value removed or replaced by [`redact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// JSON pointer of the value in the release as it was.
    pub pointer: String,
    /// What it was, e.g. `contact email`, `individual's name`.
    pub what: &'static str,
}

/// Applies the privacy rules of this module to one release (or compiled release) in place and
/// reports what changed. Idempotent: a second call changes nothing and reports nothing.
/// Anything but a JSON object is left as it is.
pub fn redact(release: &mut Value) -> Vec<Redaction> {
    let changes = plan(release);
    apply(release, changes)
}

/// `release` with the privacy rules applied: borrowed when there is nothing to withhold (most
/// releases), else a redacted copy.
pub fn redacted(release: &Value) -> Cow<'_, Value> {
    let changes = plan(release);
    if changes.is_empty() {
        return Cow::Borrowed(release);
    }
    let mut copy = release.clone();
    let done = apply(&mut copy, changes);
    let ocid = release
        .get("ocid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = release
        .get("id")
        .map(ToString::to_string)
        .unwrap_or_default();
    tracing::debug!(
        ocid,
        id,
        redactions = done.len(),
        "personal data withheld from a release"
    );
    Cow::Owned(copy)
}

/// Whether `name` is a note that a name was withheld rather than a name: "REDACTED",
/// "REDACTED UNDER DP ACT", "Redacted – personal data", "Personal data", "Individual",
/// "Individual (name withheld)". Case, punctuation and spacing do not matter; any other word
/// makes it a name.
pub fn is_redaction_marker(name: &str) -> bool {
    let lower = name.to_lowercase();
    let mut words = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek().is_none() {
        return false;
    }
    let mut keyword = false;
    for word in words {
        if !MARKER_VOCABULARY.contains(&word) {
            return false;
        }
        keyword |= MARKER_KEYWORDS.contains(&word);
    }
    keyword
}

/// Whether a party describes a natural person (rule 2 of the module documentation).
pub fn is_individual(party: &Value) -> bool {
    let scale = text(at(party, &["details", "scale"])).map(|s| {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    });
    if scale.is_some_and(|s| INDIVIDUAL_SCALES.contains(&s.as_str())) {
        return true;
    }
    if is_true(at(party, &["details", "individual"])) {
        return true;
    }
    let scheme = text(at(party, &["identifier", "scheme"]));
    match scheme {
        Some(scheme) => is_personal_scheme(scheme),
        None => text(party.get("name")).is_some_and(is_redaction_marker),
    }
}

/// `COL-IDCARD`, `GBR-PASSPORT`, `ARG-TAXID`: the personal identifier schemes of the OCDS
/// guidance (after the Beneficial Ownership Data Standard).
fn is_personal_scheme(scheme: &str) -> bool {
    let Some((country, kind)) = scheme.trim().split_once('-') else {
        return false;
    };
    country.len() == 3
        && country.bytes().all(|b| b.is_ascii_alphabetic())
        && ["PASSPORT", "TAXID", "IDCARD"]
            .iter()
            .any(|k| kind.eq_ignore_ascii_case(k))
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Planning (read-only) and applying the changes

enum Change {
    Remove,
    Set(Value),
}

struct Planned {
    pointer: String,
    change: Change,
    what: &'static str,
}

/// What [`redact`] would change, without changing anything. Removals of object keys never
/// shift array indexes, so the pointers stay valid while the plan is applied.
fn plan(r: &Value) -> Vec<Planned> {
    let mut changes = Vec::new();
    if !r.is_object() {
        return changes;
    }

    // Rule 2: individuals, then the references to them.
    let mut individuals: Vec<String> = Vec::new();
    if let Some(parties) = r.get("parties").and_then(Value::as_array) {
        for (i, party) in parties.iter().enumerate() {
            if party.is_object() && is_individual(party) {
                anonymise(party, &format!("/parties/{i}"), &mut changes);
                individuals.extend(ident(party.get("id")));
            }
        }
    }
    if !individuals.is_empty() {
        for (pointer, reference) in references(r) {
            if ident(reference.get("id")).is_some_and(|id| individuals.contains(&id)) {
                anonymise(reference, &pointer, &mut changes);
            }
        }
    }

    // Rule 1: contact points anywhere, except inside what rule 2 removes whole.
    let removed: Vec<String> = changes
        .iter()
        .filter(|c| matches!(c.change, Change::Remove))
        .map(|c| format!("{}/", c.pointer))
        .collect();
    for (pointer, contact, whole) in contact_points(r) {
        let inside = format!("{pointer}/");
        if removed
            .iter()
            .any(|prefix| inside.starts_with(prefix.as_str()))
        {
            continue;
        }
        personal_contact_fields(contact, &pointer, whole, &mut changes);
    }
    changes
}

fn apply(release: &mut Value, changes: Vec<Planned>) -> Vec<Redaction> {
    let mut done = Vec::with_capacity(changes.len());
    for Planned {
        pointer,
        change,
        what,
    } in changes
    {
        let applied = match change {
            Change::Set(value) => release
                .pointer_mut(&pointer)
                .map(|slot| *slot = value)
                .is_some(),
            Change::Remove => {
                let (parent, key) = match pointer.rsplit_once('/') {
                    Some((parent, token)) => (parent, unescape(token)),
                    None => continue,
                };
                release
                    .pointer_mut(parent)
                    .and_then(Value::as_object_mut)
                    // Keeps the order of the other keys, as everything else the register
                    // stores does.
                    .and_then(|o| o.shift_remove(&key))
                    .is_some()
            }
        };
        if applied {
            done.push(Redaction { pointer, what });
        }
    }
    done
}

/// Plans rule 2 for a party or a reference to one at `pointer`.
fn anonymise(v: &Value, pointer: &str, changes: &mut Vec<Planned>) {
    if let Some(name) = v.get("name")
        && !name.is_null()
        && name.as_str() != Some(WITHHELD_NAME)
    {
        changes.push(Planned {
            pointer: format!("{pointer}/name"),
            change: Change::Set(Value::String(WITHHELD_NAME.to_owned())),
            what: "individual's name",
        });
    }
    for (key, what) in INDIVIDUAL_FIELDS {
        if v.get(key).is_some_and(|x| !x.is_null()) {
            changes.push(Planned {
                pointer: format!("{pointer}/{key}"),
                change: Change::Remove,
                what,
            });
        }
    }
}

/// Plans rule 1 for one contact point at `pointer`. A `whole` contact point (an object
/// field, not an array entry) that holds nothing but personal fields goes whole, as merging
/// an emptied `{}` would leave nothing of it either.
fn personal_contact_fields(
    contact: &Value,
    pointer: &str,
    whole: bool,
    changes: &mut Vec<Planned>,
) {
    if is_true(contact.get("roleAddress")) {
        return;
    }
    let personal: Vec<(&str, &'static str)> = PERSONAL_CONTACT_FIELDS
        .into_iter()
        .filter(|(key, _)| match contact.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => {
                let s = s.trim();
                !s.is_empty() && !s.eq_ignore_ascii_case("REDACTED")
            }
            Some(_) => true,
        })
        .collect();
    let fields = contact.as_object().map_or(0, serde_json::Map::len);
    if whole && !personal.is_empty() && personal.len() == fields {
        changes.push(Planned {
            pointer: pointer.to_owned(),
            change: Change::Remove,
            what: "personal contact point",
        });
        return;
    }
    for (key, what) in personal {
        changes.push(Planned {
            pointer: format!("{pointer}/{key}"),
            change: Change::Remove,
            what,
        });
    }
}

/// The organisation references of a release that may point at a party, with their pointers.
fn references(r: &Value) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = Vec::new();
    one(&mut out, "/buyer".to_owned(), r.get("buyer"));
    one(
        &mut out,
        "/tender/procuringEntity".to_owned(),
        at(r, &["tender", "procuringEntity"]),
    );
    for (j, t) in list(at(r, &["tender", "tenderers"])) {
        one(&mut out, format!("/tender/tenderers/{j}"), Some(t));
    }
    for (i, share) in list(at(r, &["planning", "budget", "budgetBreakdown"])) {
        one(
            &mut out,
            format!("/planning/budget/budgetBreakdown/{i}/sourceParty"),
            share.get("sourceParty"),
        );
    }
    for (i, award) in list(r.get("awards")) {
        for (j, s) in list(award.get("suppliers")) {
            one(&mut out, format!("/awards/{i}/suppliers/{j}"), Some(s));
        }
    }
    for (i, contract) in list(r.get("contracts")) {
        for (j, s) in list(contract.get("suppliers")) {
            one(&mut out, format!("/contracts/{i}/suppliers/{j}"), Some(s));
        }
        for (k, t) in list(at(contract, &["implementation", "transactions"])) {
            let base = format!("/contracts/{i}/implementation/transactions/{k}");
            one(&mut out, format!("{base}/payer"), t.get("payer"));
            one(&mut out, format!("{base}/payee"), t.get("payee"));
        }
    }
    for (i, bid) in list(at(r, &["bids", "details"])) {
        for (j, t) in list(bid.get("tenderers")) {
            one(
                &mut out,
                format!("/bids/details/{i}/tenderers/{j}"),
                Some(t),
            );
        }
    }
    out
}

fn one<'a>(out: &mut Vec<(String, &'a Value)>, pointer: String, v: Option<&'a Value>) {
    if let Some(v) = v.filter(|v| v.is_object()) {
        out.push((pointer, v));
    }
}

/// The entries of an array with their indexes; nothing for anything else.
fn list(v: Option<&Value>) -> impl Iterator<Item = (usize, &Value)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

#[derive(Clone, Copy)]
enum Token<'a> {
    Key(&'a str),
    Index(usize),
}

/// Every contact point object in the tree (`contactPoint` values and `additionalContactPoints`
/// entries), with its pointer and whether it is a whole field (not an array entry), in document
/// order. An explicit stack: no recursion, however deep the input.
fn contact_points(r: &Value) -> Vec<(String, &Value, bool)> {
    let mut found = Vec::new();
    let mut path: Vec<Token> = Vec::new();
    // (depth of the parent, token of this value, the value)
    let mut stack: Vec<(usize, Token, &Value)> = Vec::new();
    push_children(r, 0, &mut stack);
    while let Some((depth, token, v)) = stack.pop() {
        path.truncate(depth);
        path.push(token);
        // Either field in either shape: invalid data must not smuggle a person through.
        if let Token::Key("contactPoint" | "additionalContactPoints") = token {
            match v {
                Value::Object(_) => found.push((pointer_of(&path), v, true)),
                Value::Array(entries) => {
                    let base = pointer_of(&path);
                    for (i, entry) in entries.iter().enumerate() {
                        if entry.is_object() {
                            found.push((format!("{base}/{i}"), entry, false));
                        }
                    }
                }
                _ => {}
            }
        }
        push_children(v, depth + 1, &mut stack);
    }
    found
}

/// Pushes the children of `v` so that they pop in document order.
fn push_children<'a>(v: &'a Value, depth: usize, stack: &mut Vec<(usize, Token<'a>, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter().rev() {
                if child.is_object() || child.is_array() {
                    stack.push((depth, Token::Key(k), child));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().rev() {
                if child.is_object() || child.is_array() {
                    stack.push((depth, Token::Index(i), child));
                }
            }
        }
        _ => {}
    }
}

fn pointer_of(path: &[Token]) -> String {
    let mut s = String::new();
    for token in path {
        s.push('/');
        match token {
            Token::Key(k) => s.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Token::Index(i) => s.push_str(&i.to_string()),
        }
    }
    s
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(redactions: &[Redaction]) -> Vec<&str> {
        redactions.iter().map(|r| r.pointer.as_str()).collect()
    }

    /// A contract award to a sole trader, with a personal buyer contact and a team mailbox.
    fn release() -> Value {
        json!({
            "ocid": "ocds-b5fd17-priv",
            "id": "priv-1",
            "date": "2026-11-01T09:00:00Z",
            "tag": ["award"],
            "buyer": {"id": "GB-LAE-WYV", "name": "Wyvern County Council"},
            "parties": [
                {
                    "id": "GB-LAE-WYV",
                    "name": "Wyvern County Council",
                    "roles": ["buyer"],
                    "contactPoint": {
                        "name": "Jane Smith",
                        "email": "jane.smith@wyvern.gov.uk",
                        "telephone": "01632 960123",
                        "faxNumber": "01632 960124",
                        "url": "https://www.wyvern.gov.uk/commissioning"
                    },
                    "additionalContactPoints": [
                        {"name": "Commissioning team", "email": "commissioning@wyvern.gov.uk",
                         "roleAddress": true},
                        {"name": "Raj Patel", "email": "raj.patel@wyvern.gov.uk"}
                    ]
                },
                {
                    "id": "ocreg-supplier-1",
                    "name": "Sam Taylor",
                    "roles": ["supplier", "tenderer", "payee"],
                    "identifier": {"scheme": "GB-UTR", "id": "1234567890"},
                    "address": {"streetAddress": "1 Home Lane", "postalCode": "WY9 9ZZ"},
                    "contactPoint": {"email": "sam@example.com"},
                    "details": {"scale": "selfEmployed"}
                }
            ],
            "tender": {"id": "t", "tenderers": [{"id": "ocreg-supplier-1", "name": "Sam Taylor"}]},
            "awards": [{"id": "a1", "suppliers": [{"id": "ocreg-supplier-1", "name": "Sam Taylor"}]}],
            "contracts": [{"id": "c1", "awardID": "a1", "implementation": {"transactions": [
                {"id": "t1", "payer": {"id": "GB-LAE-WYV", "name": "Wyvern County Council"},
                 "payee": {"id": "ocreg-supplier-1", "name": "Sam Taylor"},
                 "value": {"amount": 500, "currency": "GBP"}}
            ]}}]
        })
    }

    #[test]
    fn personal_contact_fields_are_removed_and_the_url_stays() {
        let mut r = release();
        let report = redact(&mut r);
        let contact = &r["parties"][0]["contactPoint"];
        assert_eq!(
            contact,
            &json!({"url": "https://www.wyvern.gov.uk/commissioning"})
        );
        for field in ["name", "email", "telephone", "faxNumber"] {
            let pointer = format!("/parties/0/contactPoint/{field}");
            assert!(
                report.iter().any(|r| r.pointer == pointer),
                "{pointer} reported"
            );
        }
        assert!(report.iter().any(|r| r.what == "contact fax number"));
    }

    #[test]
    fn a_role_address_is_kept_whole() {
        let mut r = release();
        redact(&mut r);
        let extra = &r["parties"][0]["additionalContactPoints"];
        assert_eq!(
            extra[0],
            json!({"name": "Commissioning team", "email": "commissioning@wyvern.gov.uk", "roleAddress": true})
        );
        // The other additional contact point is a person's.
        assert_eq!(extra[1], json!({}));
        // `roleAddress: false` is no role address.
        let mut r = json!({"parties": [{"contactPoint": {"name": "Jo", "roleAddress": false}}]});
        assert_eq!(pointers(&redact(&mut r)), ["/parties/0/contactPoint/name"]);
        assert_eq!(
            r["parties"][0]["contactPoint"],
            json!({"roleAddress": false})
        );
    }

    #[test]
    fn contact_points_are_found_at_every_depth() {
        let mut r = json!({
            "contactPoint": {"name": "Top Level"},
            "tender": {
                "procuringEntity": {"id": "x", "contactPoint": {"email": "a@b.c"}},
                "lots": [{"extension": {"deep": [[{"contactPoint": {"telephone": 123}}]]}}]
            },
            "awards": [{"suppliers": [{"id": "s", "additionalContactPoints": [
                {"faxNumber": "0"}, "not an object", {"url": "https://example.org"}
            ]}]}],
            "odd/key~": {"contactPoint": {"name": "Escaped"}},
            "notAContact": {"contactPoint": "a string is not a contact point"},
            "invalidShapes": {"contactPoint": [{"name": "In a list"}],
                "additionalContactPoints": {"email": "lone@example.org"}}
        });
        let report = redact(&mut r);
        assert_eq!(
            pointers(&report),
            [
                "/contactPoint",
                "/tender/procuringEntity/contactPoint",
                "/tender/lots/0/extension/deep/0/0/contactPoint",
                "/awards/0/suppliers/0/additionalContactPoints/0/faxNumber",
                "/odd~1key~0/contactPoint",
                "/invalidShapes/contactPoint/0/name",
                "/invalidShapes/additionalContactPoints",
            ]
        );
        // Contact points with nothing but personal fields go whole; array entries stay (as
        // `{}`), so that the indexes of the others do not shift.
        assert_eq!(r["odd/key~"], json!({}));
        assert_eq!(r["tender"]["procuringEntity"], json!({"id": "x"}));
        assert_eq!(
            r["awards"][0]["suppliers"][0]["additionalContactPoints"][0],
            json!({})
        );
        assert_eq!(
            r["notAContact"]["contactPoint"],
            "a string is not a contact point"
        );
        assert_eq!(
            r["awards"][0]["suppliers"][0]["additionalContactPoints"][2],
            json!({"url": "https://example.org"})
        );
    }

    #[test]
    fn redacted_values_and_nulls_are_left_alone() {
        // As Find a Tender and Contracts Finder publish them (see fixtures/demo).
        let mut r = json!({"parties": [
            {"id": "1", "contactPoint": {"name": "REDACTED", "email": "REDACTED", "telephone": "REDACTED"}},
            {"id": "2", "contactPoint": {"email": " redacted ", "name": null, "telephone": ""}}
        ]});
        let before = r.clone();
        assert!(redact(&mut r).is_empty());
        assert_eq!(r, before);
    }

    #[test]
    fn a_sole_trader_supplier_is_anonymised_with_every_reference() {
        let mut r = release();
        let report = redact(&mut r);
        let party = &r["parties"][1];
        assert_eq!(
            party,
            &json!({
                "id": "ocreg-supplier-1",
                "name": WITHHELD_NAME,
                "roles": ["supplier", "tenderer", "payee"],
                "details": {"scale": "selfEmployed"}
            })
        );
        assert_eq!(r["awards"][0]["suppliers"][0]["name"], WITHHELD_NAME);
        assert_eq!(r["awards"][0]["suppliers"][0]["id"], "ocreg-supplier-1");
        assert_eq!(r["tender"]["tenderers"][0]["name"], WITHHELD_NAME);
        let transaction = &r["contracts"][0]["implementation"]["transactions"][0];
        assert_eq!(transaction["payee"]["name"], WITHHELD_NAME);
        // The buyer is no individual.
        assert_eq!(transaction["payer"]["name"], "Wyvern County Council");
        assert_eq!(r["buyer"]["name"], "Wyvern County Council");
        assert!(!r.to_string().contains("Sam Taylor"));
        assert!(!r.to_string().contains("Home Lane"));
        assert!(!r.to_string().contains("1234567890"));
        for pointer in [
            "/parties/1/name",
            "/parties/1/identifier",
            "/parties/1/address",
            "/parties/1/contactPoint",
            "/awards/0/suppliers/0/name",
            "/tender/tenderers/0/name",
            "/contracts/0/implementation/transactions/0/payee/name",
        ] {
            assert!(
                report.iter().any(|r| r.pointer == pointer),
                "{pointer} not in {report:?}"
            );
        }
        // The individual's contact point goes whole: its fields are not reported again.
        assert!(!pointers(&report).contains(&"/parties/1/contactPoint/email"));
        // Keys keep their order.
        let keys: Vec<&String> = r["parties"][1].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name", "roles", "details"]);
    }

    #[test]
    fn other_signs_of_an_individual() {
        let party = |extra: Value| {
            let mut p = json!({"id": "p", "name": "Alex Morgan",
                "identifier": {"scheme": "GB-COH", "id": "01234567"}});
            for (k, v) in extra.as_object().unwrap() {
                p[k] = v.clone();
            }
            p
        };
        assert!(!is_individual(&party(json!({}))));
        assert!(!is_individual(&party(json!({"details": {"scale": "sme"}}))));
        assert!(is_individual(&party(
            json!({"details": {"scale": "self-employed"}})
        )));
        assert!(is_individual(&party(
            json!({"details": {"scale": "soleTrader"}})
        )));
        assert!(is_individual(&party(
            json!({"details": {"individual": true}})
        )));
        assert!(!is_individual(&party(
            json!({"details": {"individual": false}})
        )));
        assert!(is_individual(&party(
            json!({"identifier": {"scheme": "COL-IDCARD", "id": "123"}})
        )));
        assert!(is_individual(&party(
            json!({"identifier": {"scheme": "gbr-passport", "id": "123"}})
        )));
        assert!(!is_individual(&party(
            json!({"identifier": {"scheme": "GB-CHC", "id": "123"}})
        )));
        // A redaction marker instead of a name, without an identifier scheme.
        for marker in [
            "REDACTED",
            "Redacted",
            "REDACTED UNDER DP ACT",
            "Redacted – personal data",
            "redacted personal data",
            "Personal data",
            "Individual",
            WITHHELD_NAME,
        ] {
            assert!(is_redaction_marker(marker), "{marker}");
            let p = json!({"id": "p", "name": marker});
            assert!(is_individual(&p), "{marker}");
            // With an identifier scheme, the marker is a (badly) withheld organisation name.
            let p =
                json!({"id": "p", "name": marker, "identifier": {"scheme": "GB-COH", "id": "1"}});
            assert!(!is_individual(&p), "{marker}");
        }
        for name in [
            "Redactive Publishing Limited",
            "Individual Care Services Ltd",
            "Personal Touch Homecare",
            "Data",
            "",
            " - ",
        ] {
            assert!(!is_redaction_marker(name), "{name}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_the_second_time() {
        for mut r in [
            release(),
            json!({"parties": [{"id": "x", "name": "Chris Doe",
                "identifier": {"scheme": "GBR-PASSPORT", "id": "123"}, "roles": ["supplier"]}],
                "awards": [{"suppliers": [{"id": "x", "name": "Chris Doe"}]}]}),
            json!({"parties": [{"id": "y", "name": "REDACTED", "address": {"locality": "Leeds"}}]}),
        ] {
            let first = redact(&mut r);
            assert!(!first.is_empty());
            let once = r.clone();
            assert_eq!(redact(&mut r), []);
            assert_eq!(r, once);
            assert!(matches!(redacted(&once), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn redacted_borrows_when_there_is_nothing_to_withhold() {
        let clean = json!({"ocid": "o", "id": "1", "parties": [{"id": "GB-LAE-WYV",
            "contactPoint": {"url": "https://www.wyvern.gov.uk"}}]});
        assert!(matches!(redacted(&clean), Cow::Borrowed(_)));
        let personal = release();
        let copy = redacted(&personal);
        assert!(matches!(copy, Cow::Owned(_)));
        let mut by_hand = release();
        redact(&mut by_hand);
        assert_eq!(*copy, by_hand);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for mut garbage in [
            Value::Null,
            json!("contactPoint"),
            json!([{"contactPoint": {"name": "In an array"}}]),
            json!(42),
            json!({}),
            json!({"parties": {"id": "x"}, "awards": "a", "contracts": [null, 1, {"implementation": []}]}),
            json!({"parties": [null, 1, "x", {"details": "selfEmployed"}, {"details": {"scale": 5}},
                {"id": {}, "details": {"individual": "true"}, "name": 7, "address": null}],
                "awards": [{"suppliers": [null, {"id": null, "name": "x"}]}],
                "tender": {"tenderers": {"id": "x"}},
                "contactPoint": [{"name": "list"}],
                "additionalContactPoints": {"name": "object"}}),
        ] {
            let _ = redact(&mut garbage);
            let _ = redact(&mut garbage);
        }
        let mut deep = json!({"contactPoint": {"email": "deep@example.org"}});
        for _ in 0..500 {
            deep = json!({"x": [deep]});
        }
        let report = redact(&mut deep);
        assert_eq!(report.len(), 1);
        assert!(!deep.to_string().contains("deep@example.org"));
    }

    #[test]
    fn an_individual_with_a_numeric_name_or_id_is_handled() {
        let mut r = json!({"parties": [{"id": 7, "name": 12345, "details": {"individual": true}}],
            "awards": [{"suppliers": [{"id": 7, "name": "Someone"}]}]});
        redact(&mut r);
        assert_eq!(r["parties"][0]["name"], WITHHELD_NAME);
        assert_eq!(r["awards"][0]["suppliers"][0]["name"], WITHHELD_NAME);
        assert_eq!(r["parties"][0]["id"], 7);
    }
}
