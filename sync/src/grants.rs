//! 360Giving grants (schema 1.4.3), from a JSON package or a CSV sheet: bytes in, grants out.
//!
//! [`parse_grants`] reads what a funder publishes (`reference/uk-feeds.md` section 4) and keeps
//! every grant that has the ten required fields, rejecting the others one by one with where and
//! why, so one bad row never costs a publisher's whole file.
//!
//! # Which form
//!
//! The bytes are UTF-8, with or without a byte-order mark; anything else is read as Windows-1252,
//! what Excel writes for "CSV" on a UK machine. Text starting with `{` or `[` must be a JSON
//! package with a `grants` array; anything else is CSV. A zip (XLSX/ODS), binary or UTF-16 data
//! and HTML pages are refused as a whole ([`GrantsError`]).
//!
//! # CSV
//!
//! Column titles are those of the 360Giving spreadsheet form, `:`-separated (`Funding
//! Org:Identifier`, `Planned Dates:Duration (months)`), matched case-insensitively with spaces
//! trimmed; numbered titles (`Recipient Org:0:Identifier`, `Beneficiary Location:1:Name`) fill
//! the numbered item of the list. Each row becomes the grant's JSON object, blank cells left out
//! as the standard's converters do; columns outside the mapped set (nested locations,
//! transactions, `Related Activity`) are not carried. A row whose `Identifier` repeats an earlier
//! row's adds its list items (a second beneficiary location) to that grant, as the standard
//! allows; a different value for a single field is an error of that grant. Lines are counted in
//! the file, the title line being line 1, and a grant's position is the line it starts on.
//!
//! # Grants kept and rejected
//!
//! A grant is rejected, with one [`GrantError`] per problem, when a required field is missing or
//! blank, is of the wrong JSON type, or when
//! * `currency` is not 3 upper-case letters;
//! * `amountAwarded` is not an amount: a JSON number or a numeric string; thousands commas
//!   (`1,234.56`) and a `£` sign are accepted though the standard forbids them, since they are
//!   what spreadsheets show and their meaning is unambiguous, while a comma that is not a
//!   thousands separator (`3,5`) is refused as it may be a decimal comma. Amounts are read
//!   exactly from their text and rounded to the penny, halves away from zero (sub-penny digits
//!   come from spreadsheet arithmetic, and dropping a real grant over less than a penny would be
//!   worse);
//! * `awardDate` is not `YYYY-MM-DD` or a date-time starting with it; a date-time gives the date
//!   as written, not moved to UTC (an award at 00:30 BST was made that day). UK `18/01/2013`
//!   dates are refused: the standard does not allow them and a US publisher's 01/02 would be
//!   read wrongly;
//! * a `fundingOrganization` or `recipientOrganization` entry lacks its `id` or `name`, or the
//!   grant has both or neither of `recipientOrganization` and `recipientIndividual`;
//! * (JSON) its `id` was already used by an earlier grant of the file: the later one is
//!   rejected, as one id cannot name two grants.
//!
//! Optional fields never reject a grant: an unreadable planned date or duration is `None`, and
//! `raw` keeps what was published.
//!
//! # Identity and privacy
//!
//! Funder and recipient ids are normalised with [`org_ids::normalise_org_id`]; an id it cannot
//! read is kept trimmed as written, since a publisher's own id still names the organisation
//! within its data. Only the first funder and the first recipient organisation are read.
//! A recipient individual is kept by id only: its name is never stored, and `raw` keeps only
//! its `id`. A recipient organisation whose name is a note such as "Individual" or "REDACTED"
//! ([`org_ids::is_individual_marker`]) is a recipient individual too.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use register::org_ids;
use serde_json::{Map, Number, Value};

use crate::text::{LineIndex, PenceError, decimal_pence, decode};

/// One grant as the register uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: String,
    pub title: String,
    pub description: String,
    pub currency: String,
    /// Exact, from the number's text: 3028.63 is 302863.
    pub amount_awarded_pence: i64,
    pub award_date: NaiveDate,
    /// The first `fundingOrganization`.
    pub funder_id: String,
    pub funder_name: String,
    pub recipient: Recipient,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub duration_months: Option<u32>,
    /// The first `grantProgramme` title.
    pub programme: Option<String>,
    /// The first `beneficiaryLocation` name.
    pub beneficiary_location: Option<String>,
    /// `/grants/3` (JSON pointer) or `line 5` (CSV).
    pub source_position: String,
    /// The grant as a 360Giving JSON object; for CSV, the row unflattened into that shape.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Organisation {
        /// Normalised org-id, or the id as written when it is not one.
        id: String,
        name: String,
        charity_number: Option<String>,
        company_number: Option<String>,
        /// Every org-id it is known by, its own first ([`org_ids::equivalent_ids`]).
        equivalent_ids: Vec<String>,
        postcode: Option<String>,
    },
    /// A person: never a name.
    Individual { id: String },
}

/// Why one grant was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct GrantError {
    /// A JSON pointer (`/grants/2/amountAwarded`) or a CSV place (`line 7, column Amount
    /// Awarded`).
    pub at: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Json,
    Csv,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GrantsFile {
    pub grants: Vec<Grant>,
    pub rejected: Vec<GrantError>,
    pub form: Form,
}

/// The file as a whole is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantsError {
    #[error("the file is empty")]
    Empty,
    #[error("not a 360Giving JSON or CSV file: {0}")]
    Unreadable(String),
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("the JSON has no `grants` array, so it is not a 360Giving package")]
    NoGrants,
    #[error("the CSV lacks the required 360Giving column(s) {}", .missing.join(", "))]
    MissingColumns { missing: Vec<String> },
}

/// Reads a 360Giving JSON package or CSV sheet (see the module documentation for the rules).
pub fn parse_grants(bytes: &[u8]) -> Result<GrantsFile, GrantsError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(GrantsError::Unreadable(
            "a zip archive (an XLSX or ODS spreadsheet?); save the grants sheet as CSV".into(),
        ));
    }
    if bytes.contains(&0) {
        return Err(GrantsError::Unreadable(
            "binary data or UTF-16 text; save the file as UTF-8".into(),
        ));
    }
    let (_, text) = decode(bytes);
    let start = text.trim_start();
    if start.is_empty() {
        return Err(GrantsError::Empty);
    }
    if start.starts_with(['{', '[']) {
        parse_json(start)
    } else if start.starts_with('<') {
        Err(GrantsError::Unreadable("HTML or XML".into()))
    } else {
        parse_csv(&text)
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

fn parse_json(text: &str) -> Result<GrantsFile, GrantsError> {
    let package: Value =
        serde_json::from_str(text).map_err(|e| GrantsError::Json(e.to_string()))?;
    let grants = package
        .get("grants")
        .and_then(Value::as_array)
        .ok_or(GrantsError::NoGrants)?;
    let mut file = GrantsFile {
        grants: Vec::new(),
        rejected: Vec::new(),
        form: Form::Json,
    };
    let mut first_with_id: HashMap<&str, usize> = HashMap::new();
    for (i, grant) in grants.iter().enumerate() {
        let base = format!("/grants/{i}");
        let locate = |pointer: &str| format!("{base}{pointer}");
        let mut check = Check::new(Form::Json, &locate);
        let mut kept = check.grant(grant, base.clone());
        if let Some(id) = grant.get("id").and_then(Value::as_str).map(str::trim)
            && !id.is_empty()
        {
            if let Some(first) = first_with_id.get(id) {
                check.fail(
                    "/id",
                    format!("duplicate: the grant at /grants/{first} has this id too"),
                );
                kept = None;
            } else {
                first_with_id.insert(id, i);
            }
        }
        file.rejected.append(&mut check.errors);
        file.grants.extend(kept);
    }
    Ok(file)
}

// ---------------------------------------------------------------------------------------------
// Checking one grant (both forms)

/// Validates one grant object and builds the [`Grant`]; `locate` turns a pointer inside the
/// grant (`/amountAwarded`, `""` for the grant itself) into the place reported.
struct Check<'a> {
    form: Form,
    locate: &'a dyn Fn(&str) -> String,
    errors: Vec<GrantError>,
}

enum Organisations<'v> {
    Absent,
    Invalid,
    First {
        object: &'v Map<String, Value>,
        id: String,
        name: String,
    },
}

impl<'a> Check<'a> {
    fn new(form: Form, locate: &'a dyn Fn(&str) -> String) -> Self {
        Check {
            form,
            locate,
            errors: Vec::new(),
        }
    }

    fn fail(&mut self, pointer: &str, message: impl Into<String>) {
        self.errors.push(GrantError {
            at: (self.locate)(pointer),
            message: message.into(),
        });
    }

    /// A required value that is not there: in CSV the column exists (checked with the titles),
    /// so the cell is blank.
    fn missing(&mut self, pointer: &str) {
        let message = match self.form {
            Form::Json => "required, but missing",
            Form::Csv => "required, but blank",
        };
        self.fail(pointer, message);
    }

    fn required_text(
        &mut self,
        object: &Map<String, Value>,
        base: &str,
        key: &str,
    ) -> Option<String> {
        let pointer = format!("{base}/{key}");
        match object.get(key) {
            None => self.missing(&pointer),
            Some(Value::Null) => self.fail(&pointer, "required, but null"),
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(&pointer, "required, but blank");
            }
            Some(Value::String(s)) => return Some(s.trim().to_owned()),
            Some(other) => self.fail(
                &pointer,
                format!("must be a string, not {}", json_kind(other)),
            ),
        }
        None
    }

    fn grant(&mut self, value: &Value, source_position: String) -> Option<Grant> {
        let Some(g) = value.as_object() else {
            self.fail(
                "",
                format!("a grant must be an object, not {}", json_kind(value)),
            );
            return None;
        };
        let id = self.required_text(g, "", "id");
        let title = self.required_text(g, "", "title");
        let description = self.required_text(g, "", "description");
        let currency = self.currency(g);
        let amount = self.amount(g);
        let award_date = self.award_date(g);
        let funder = match self.organisations(g, "fundingOrganization") {
            Organisations::Absent => {
                self.missing("/fundingOrganization");
                None
            }
            Organisations::Invalid => None,
            Organisations::First { id, name, .. } => Some((id, name)),
        };
        let recipient = self.recipient(g);
        let (
            Some(id),
            Some(title),
            Some(description),
            Some(currency),
            Some(amount_awarded_pence),
            Some(award_date),
            Some((funder_id, funder_name)),
            Some(recipient),
        ) = (
            id,
            title,
            description,
            currency,
            amount,
            award_date,
            funder,
            recipient,
        )
        else {
            return None;
        };
        // Errors recorded before this call (CSV rows that conflict) reject the grant too.
        if !self.errors.is_empty() {
            return None;
        }

        let planned = first_object(g, "plannedDates");
        Some(Grant {
            id,
            title,
            description,
            currency,
            amount_awarded_pence,
            award_date,
            funder_id: org_id_or_as_written(&funder_id),
            funder_name,
            recipient,
            planned_start: planned
                .and_then(|p| optional_text(p, "startDate"))
                .and_then(|t| parse_date(&t)),
            planned_end: planned
                .and_then(|p| optional_text(p, "endDate"))
                .and_then(|t| parse_date(&t)),
            duration_months: planned
                .and_then(|p| optional_text(p, "duration"))
                .and_then(|t| whole_number(&t)),
            programme: first_object(g, "grantProgramme").and_then(|p| optional_text(p, "title")),
            beneficiary_location: first_object(g, "beneficiaryLocation")
                .and_then(|l| optional_text(l, "name")),
            source_position,
            raw: without_personal_data(value),
        })
    }

    fn currency(&mut self, g: &Map<String, Value>) -> Option<String> {
        let code = self.required_text(g, "", "currency")?;
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(code)
        } else {
            self.fail(
                "/currency",
                format!("must be an ISO 4217 code of 3 upper-case letters, not {code:?}"),
            );
            None
        }
    }

    fn amount(&mut self, g: &Map<String, Value>) -> Option<i64> {
        let pointer = "/amountAwarded";
        let text = match g.get("amountAwarded") {
            None => {
                self.missing(pointer);
                return None;
            }
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                self.fail(
                    pointer,
                    format!("must be a number, not {}", json_kind(other)),
                );
                return None;
            }
        };
        parse_pence(&text)
            .map_err(|message| self.fail(pointer, message))
            .ok()
    }

    fn award_date(&mut self, g: &Map<String, Value>) -> Option<NaiveDate> {
        let text = self.required_text(g, "", "awardDate")?;
        let date = parse_date(&text);
        if date.is_none() {
            self.fail(
                "/awardDate",
                format!("must be a date (YYYY-MM-DD) or a date-time, not {text:?}"),
            );
        }
        date
    }

    /// Checks every entry of an organisation list (each needs an `id` and a `name`) and gives
    /// the first.
    fn organisations<'v>(&mut self, g: &'v Map<String, Value>, key: &str) -> Organisations<'v> {
        let pointer = format!("/{key}");
        let items = match g.get(key) {
            None | Some(Value::Null) => return Organisations::Absent,
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.fail(
                    &pointer,
                    format!("must be a list of organisations, not {}", json_kind(other)),
                );
                return Organisations::Invalid;
            }
        };
        if items.is_empty() {
            self.fail(&pointer, "must list at least one organisation");
            return Organisations::Invalid;
        }
        let mut first = None;
        let mut complete = true;
        for (j, item) in items.iter().enumerate() {
            let base = format!("{pointer}/{j}");
            let Some(object) = item.as_object() else {
                self.fail(
                    &base,
                    format!("an organisation must be an object, not {}", json_kind(item)),
                );
                complete = false;
                continue;
            };
            let id = self.required_text(object, &base, "id");
            let name = self.required_text(object, &base, "name");
            match (id, name) {
                (Some(id), Some(name)) if j == 0 => first = Some((object, id, name)),
                (Some(_), Some(_)) => {}
                _ => complete = false,
            }
        }
        match first {
            Some((object, id, name)) if complete => Organisations::First { object, id, name },
            _ => Organisations::Invalid,
        }
    }

    fn recipient(&mut self, g: &Map<String, Value>) -> Option<Recipient> {
        let given = |key: &str| g.get(key).is_some_and(|v| !v.is_null());
        if given("recipientIndividual") && given("recipientOrganization") {
            self.fail(
                "/recipientIndividual",
                "a grant has one kind of recipient: recipientOrganization or \
                 recipientIndividual, not both",
            );
            return None;
        }
        if given("recipientIndividual") {
            let person = &g["recipientIndividual"];
            let Some(person) = person.as_object() else {
                self.fail(
                    "/recipientIndividual",
                    format!("must be an object, not {}", json_kind(person)),
                );
                return None;
            };
            let id = self.required_text(person, "/recipientIndividual", "id");
            // Required by the standard, so checked, but never kept.
            let name = self.required_text(person, "/recipientIndividual", "name");
            return match (id, name) {
                (Some(id), Some(_)) => Some(Recipient::Individual {
                    id: org_id_or_as_written(&id),
                }),
                _ => None,
            };
        }
        match self.organisations(g, "recipientOrganization") {
            Organisations::Absent => {
                let message = match self.form {
                    Form::Json => {
                        "required: a recipientOrganization or a recipientIndividual, but \
                         neither is given"
                    }
                    Form::Csv => {
                        "required, but blank: neither a Recipient Org nor a Recipient Ind is \
                         given"
                    }
                };
                self.fail("/recipientOrganization", message);
                None
            }
            Organisations::Invalid => None,
            Organisations::First { object, id, name } => {
                let id = org_id_or_as_written(&id);
                if org_ids::is_individual_marker(&name) {
                    return Some(Recipient::Individual { id });
                }
                let charity_number = optional_text(object, "charityNumber");
                let company_number = optional_text(object, "companyNumber");
                let equivalent_ids = org_ids::equivalent_ids(
                    &id,
                    charity_number.as_deref(),
                    company_number.as_deref(),
                );
                Some(Recipient::Organisation {
                    id,
                    name,
                    charity_number,
                    company_number,
                    equivalent_ids,
                    postcode: optional_text(object, "postalCode"),
                })
            }
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn org_id_or_as_written(id: &str) -> String {
    org_ids::normalise_org_id(id).unwrap_or_else(|| id.trim().to_owned())
}

fn first_object<'v>(g: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    g.get(key)?.as_array()?.first()?.as_object()
}

/// A non-blank string, or a number's text (publishers write charity numbers as numbers).
fn optional_text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The grant with a recipient individual reduced to its id.
fn without_personal_data(grant: &Value) -> Value {
    let mut raw = grant.clone();
    if let Some(person) = raw
        .get_mut("recipientIndividual")
        .and_then(Value::as_object_mut)
    {
        person.retain(|key, _| key == "id");
    }
    raw
}

// ---------------------------------------------------------------------------------------------
// Values

/// `YYYY-MM-DD`, or a date-time that starts with it (RFC 3339, or without an offset).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date = text.get(..10)?;
    let shaped = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !shaped {
        return None;
    }
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    if text.len() == 10 {
        return Some(day);
    }
    let date_time = DateTime::parse_from_rfc3339(text).is_ok()
        || [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .any(|format| NaiveDateTime::parse_from_str(text, format).is_ok());
    date_time.then_some(day)
}

/// An amount in pence, exact from its text (see the module documentation for what is accepted).
fn parse_pence(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("required, but blank".into());
    }
    let invalid = || format!("must be an amount such as 1234.56, not {text:?}");
    let mut s = trimmed;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if let Some(rest) = s.strip_prefix('£') {
        s = rest.trim_start();
        if !negative && let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        }
    }
    // The standard's numbers follow JSON's grammar, which wants a digit on each side of a point.
    let mantissa = s.split_once(['e', 'E']).map_or(s, |(mantissa, _)| mantissa);
    if mantissa.starts_with('.') || mantissa.ends_with('.') {
        return Err(invalid());
    }
    decimal_pence(negative, s).map_err(|e| match e {
        PenceError::NotANumber => invalid(),
        PenceError::OutOfRange => format!("is too large to be an amount: {text:?}"),
    })
}

/// Pence as a JSON number's text: `2266`, `3028.63`.
fn pence_text(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let abs = pence.unsigned_abs();
    match abs % 100 {
        0 => format!("{sign}{}", abs / 100),
        p => format!("{sign}{}.{p:02}", abs / 100),
    }
}

/// Whole months: `12`, `12.0`; `6.5`, `-1` and text are not.
fn whole_number(text: &str) -> Option<u32> {
    let text = text.trim();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if !frac.bytes().all(|b| b == b'0') || int.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// CSV

#[derive(Clone, Copy)]
enum CellKind {
    Text,
    /// A JSON number when the cell is one, else the text (the checks report it).
    Number,
    /// Read with the amount rules, so `2,266` becomes the number 2266.
    Amount,
}

use CellKind::{Amount, Number as Num, Text};

type Fields = &'static [(&'static str, &'static str, CellKind)];

const TOP_FIELDS: Fields = &[
    ("identifier", "id", Text),
    ("title", "title", Text),
    ("description", "description", Text),
    ("currency", "currency", Text),
    ("amount applied for", "amountAppliedFor", Amount),
    ("amount awarded", "amountAwarded", Amount),
    ("amount disbursed", "amountDisbursed", Amount),
    ("award date", "awardDate", Text),
    ("url", "url", Text),
    ("from an open call?", "fromOpenCall", Text),
    ("last modified", "dateModified", Text),
    ("data source", "dataSource", Text),
    ("for regrant type", "regrantType", Text),
    ("location scope", "locationScope", Text),
];

const ORGANISATION_FIELDS: Fields = &[
    ("identifier", "id", Text),
    ("name", "name", Text),
    ("department", "department", Text),
    ("contact name", "contactName", Text),
    ("charity number", "charityNumber", Text),
    ("company number", "companyNumber", Text),
    ("street address", "streetAddress", Text),
    ("city", "addressLocality", Text),
    ("county", "addressRegion", Text),
    ("country", "addressCountry", Text),
    ("postal code", "postalCode", Text),
    ("phone number", "telephone", Text),
    ("alternate name", "alternateName", Text),
    ("email", "email", Text),
    ("description", "description", Text),
    ("organisation type", "organisationType", Text),
    ("web address", "url", Text),
    ("last modified", "dateModified", Text),
];

const PERSON_FIELDS: Fields = &[("identifier", "id", Text), ("name", "name", Text)];

const DATES_FIELDS: Fields = &[
    ("title", "title", Text),
    ("start date", "startDate", Text),
    ("end date", "endDate", Text),
    ("duration (months)", "duration", Num),
    ("description", "description", Text),
    ("last modified", "dateModified", Text),
];

const LOCATION_FIELDS: Fields = &[
    ("identifier", "id", Text),
    ("name", "name", Text),
    ("country code", "countryCode", Text),
    ("latitude", "latitude", Num),
    ("longitude", "longitude", Num),
    ("description", "description", Text),
    ("geographic code", "geoCode", Text),
    ("geographic code type", "geoCodeType", Text),
    ("last modified", "dateModified", Text),
];

const CODE_FIELDS: Fields = &[
    ("vocabulary", "vocabulary", Text),
    ("code", "code", Text),
    ("title", "title", Text),
    ("description", "description", Text),
    ("url", "url", Text),
    ("last modified", "dateModified", Text),
];

const DOCUMENT_FIELDS: Fields = &[
    ("identifier", "id", Text),
    ("title", "title", Text),
    ("web address", "url", Text),
    ("description", "description", Text),
    ("document type", "documentType", Text),
    ("last modified", "dateModified", Text),
];

struct Group {
    title: &'static str,
    key: &'static str,
    /// A list of objects; else one object (`recipientIndividual`).
    list: bool,
    fields: Fields,
}

const GROUPS: &[Group] = &[
    group("planned dates", "plannedDates", true, DATES_FIELDS),
    group("actual dates", "actualDates", true, DATES_FIELDS),
    group(
        "recipient org",
        "recipientOrganization",
        true,
        ORGANISATION_FIELDS,
    ),
    group("recipient ind", "recipientIndividual", false, PERSON_FIELDS),
    group(
        "funding org",
        "fundingOrganization",
        true,
        ORGANISATION_FIELDS,
    ),
    group(
        "beneficiary location",
        "beneficiaryLocation",
        true,
        LOCATION_FIELDS,
    ),
    group("grant programme", "grantProgramme", true, CODE_FIELDS),
    group("classifications", "classifications", true, CODE_FIELDS),
    group("funding type", "fundingType", true, CODE_FIELDS),
    group("related document", "relatedDocument", true, DOCUMENT_FIELDS),
];

const fn group(title: &'static str, key: &'static str, list: bool, fields: Fields) -> Group {
    Group {
        title,
        key,
        list,
        fields,
    }
}

/// Where a column's cells go in the grant object.
#[derive(Clone, Copy)]
enum Place {
    Top {
        key: &'static str,
        kind: CellKind,
    },
    Group {
        group: usize,
        item: usize,
        key: &'static str,
        kind: CellKind,
    },
}

impl Place {
    /// The pointer of the value in a grant with no items left out.
    fn pointer(self) -> String {
        match self {
            Place::Top { key, .. } => format!("/{key}"),
            Place::Group {
                group, item, key, ..
            } => {
                let g = &GROUPS[group];
                if g.list {
                    format!("/{}/{item}/{key}", g.key)
                } else {
                    format!("/{}/{key}", g.key)
                }
            }
        }
    }
}

fn place_of(title: &str) -> Option<Place> {
    let parts: Vec<String> = title
        .split(':')
        .map(|p| {
            p.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .collect();
    let find = |fields: Fields, name: &str| {
        fields
            .iter()
            .find(|(title, _, _)| *title == name)
            .map(|&(_, key, kind)| (key, kind))
    };
    let (group_title, item, field) = match parts.as_slice() {
        [field] => {
            let (key, kind) = find(TOP_FIELDS, field)?;
            return Some(Place::Top { key, kind });
        }
        [group, field] => (group, 0, field),
        [group, item, field] => (group, item.parse().ok()?, field),
        _ => return None,
    };
    let group = GROUPS.iter().position(|g| g.title == group_title)?;
    let (key, kind) = find(GROUPS[group].fields, field)?;
    Some(Place::Group {
        group,
        item,
        key,
        kind,
    })
}

struct Column {
    index: usize,
    /// As written, trimmed, for messages.
    title: String,
    place: Place,
}

/// Titles the standard requires, as it spells them, with the top-level key or group and field
/// they fill.
const REQUIRED_COLUMNS: [(&str, &str, Option<&str>); 8] = [
    ("Identifier", "id", None),
    ("Title", "title", None),
    ("Description", "description", None),
    ("Currency", "currency", None),
    ("Amount Awarded", "amountAwarded", None),
    ("Award Date", "awardDate", None),
    ("Funding Org:Identifier", "fundingOrganization", Some("id")),
    ("Funding Org:Name", "fundingOrganization", Some("name")),
];
const RECIPIENT_ORG_COLUMNS: [(&str, &str, Option<&str>); 2] = [
    (
        "Recipient Org:Identifier",
        "recipientOrganization",
        Some("id"),
    ),
    ("Recipient Org:Name", "recipientOrganization", Some("name")),
];
const RECIPIENT_IND_COLUMNS: [(&str, &str, Option<&str>); 2] = [
    (
        "Recipient Ind:Identifier",
        "recipientIndividual",
        Some("id"),
    ),
    ("Recipient Ind:Name", "recipientIndividual", Some("name")),
];

fn has_column(columns: &[Column], (_, key, field): (&str, &str, Option<&str>)) -> bool {
    columns.iter().any(|c| match (c.place, field) {
        (Place::Top { key: k, .. }, None) => k == key,
        (Place::Group { group, key: k, .. }, Some(field)) => GROUPS[group].key == key && k == field,
        _ => false,
    })
}

fn missing_columns(columns: &[Column]) -> Vec<String> {
    let absent = |set: &[(&'static str, &'static str, Option<&'static str>)]| -> Vec<String> {
        set.iter()
            .filter(|&&c| !has_column(columns, c))
            .map(|c| c.0.to_owned())
            .collect()
    };
    let mut missing = absent(&REQUIRED_COLUMNS);
    let organisation = absent(&RECIPIENT_ORG_COLUMNS);
    let individual = absent(&RECIPIENT_IND_COLUMNS);
    if !organisation.is_empty() && !individual.is_empty() {
        // Name the columns of the kind of recipient the sheet seems to be about: grants to
        // individuals when it has any of their columns and none for organisations.
        let about_individuals = individual.len() < RECIPIENT_IND_COLUMNS.len()
            && organisation.len() == RECIPIENT_ORG_COLUMNS.len();
        missing.extend(if about_individuals {
            individual
        } else {
            organisation
        });
    }
    missing
}

/// One value of a row, where it came from, and where it is in the grant.
#[derive(Clone, Copy)]
struct CellRef {
    key: &'static str,
    item: Option<usize>,
    field: Option<&'static str>,
    column: usize,
    line: u64,
}

impl CellRef {
    fn pointer(&self) -> String {
        let mut pointer = format!("/{}", self.key);
        if let Some(item) = self.item {
            pointer.push_str(&format!("/{item}"));
        }
        if let Some(field) = self.field {
            pointer.push_str(&format!("/{field}"));
        }
        pointer
    }
}

struct CsvGrant {
    object: Map<String, Value>,
    line: u64,
    cells: Vec<CellRef>,
    conflicts: Vec<(CellRef, String)>,
}

fn parse_csv(text: &str) -> Result<GrantsFile, GrantsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let titles = match records.next() {
        Some(Ok(titles)) => titles,
        Some(Err(e)) => return Err(GrantsError::Unreadable(e.to_string())),
        None => return Err(GrantsError::Empty),
    };
    let columns: Vec<Column> = titles
        .iter()
        .enumerate()
        .filter_map(|(index, title)| {
            place_of(title).map(|place| Column {
                index,
                title: title.trim().to_owned(),
                place,
            })
        })
        .collect();
    let missing = missing_columns(&columns);
    if !missing.is_empty() {
        return Err(GrantsError::MissingColumns { missing });
    }

    let lines = LineIndex::new(text);
    let mut rejected = Vec::new();
    let mut grants: Vec<CsvGrant> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let at = e
                    .position()
                    .map_or_else(|| "the CSV".to_owned(), |p| format!("line {}", lines.at(p)));
                rejected.push(GrantError {
                    at,
                    message: e.to_string(),
                });
                continue;
            }
        };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.at(p));
        let (object, cells) = unflatten(&record, &columns, line);
        let id = object.get("id").and_then(Value::as_str).map(str::to_owned);
        match id.as_ref().and_then(|id| by_id.get(id)) {
            Some(&earlier) => merge(&mut grants[earlier], object, cells),
            None => {
                if let Some(id) = id {
                    by_id.insert(id, grants.len());
                }
                grants.push(CsvGrant {
                    object,
                    line,
                    cells,
                    conflicts: Vec::new(),
                });
            }
        }
    }

    let mut file = GrantsFile {
        grants: Vec::new(),
        rejected,
        form: Form::Csv,
    };
    for mut grant in grants {
        let value = Value::Object(std::mem::take(&mut grant.object));
        let locate = |pointer: &str| locate_in_csv(&grant, &columns, pointer);
        let mut check = Check::new(Form::Csv, &locate);
        for (cell, message) in &grant.conflicts {
            check.errors.push(GrantError {
                at: format!(
                    "line {}, column {}",
                    cell.line,
                    title_of(&columns, cell.column)
                ),
                message: message.clone(),
            });
        }
        file.grants
            .extend(check.grant(&value, format!("line {}", grant.line)));
        file.rejected.append(&mut check.errors);
    }
    Ok(file)
}

fn title_of(columns: &[Column], index: usize) -> &str {
    columns
        .iter()
        .find(|c| c.index == index)
        .map_or("?", |c| c.title.as_str())
}

/// The cells of one list item of a row: field, value, column.
type ItemCells = Vec<(&'static str, Value, usize)>;

/// The row as a grant object, blank cells left out; the first of two columns for one value
/// wins. List items keep the order of their numbers, without gaps.
fn unflatten(
    record: &csv::StringRecord,
    columns: &[Column],
    line: u64,
) -> (Map<String, Value>, Vec<CellRef>) {
    let mut object = Map::new();
    let mut cells = Vec::new();
    let mut items: BTreeMap<usize, BTreeMap<usize, ItemCells>> = BTreeMap::new();
    for column in columns {
        let cell = record.get(column.index).unwrap_or_default().trim();
        if cell.is_empty() {
            continue;
        }
        match column.place {
            Place::Top { key, kind } => {
                if !object.contains_key(key) {
                    object.insert(key.to_owned(), cell_value(cell, kind));
                    cells.push(CellRef {
                        key,
                        item: None,
                        field: None,
                        column: column.index,
                        line,
                    });
                }
            }
            Place::Group {
                group,
                item,
                key,
                kind,
            } => {
                // A placeholder keeps the group where its first column is.
                object.entry(GROUPS[group].key).or_insert(Value::Null);
                items
                    .entry(group)
                    .or_default()
                    .entry(item)
                    .or_default()
                    .push((key, cell_value(cell, kind), column.index));
            }
        }
    }
    for (group, numbered) in items {
        let g = &GROUPS[group];
        let mut list = Vec::new();
        let mut single = Map::new();
        for (position, fields) in numbered.into_values().enumerate() {
            let mut item = Map::new();
            for (field, value, column) in fields {
                let target = if g.list { &mut item } else { &mut single };
                if target.contains_key(field) {
                    continue;
                }
                target.insert(field.to_owned(), value);
                cells.push(CellRef {
                    key: g.key,
                    item: g.list.then_some(position),
                    field: Some(field),
                    column,
                    line,
                });
            }
            if g.list {
                list.push(Value::Object(item));
            }
        }
        object[g.key] = if g.list {
            Value::Array(list)
        } else {
            Value::Object(single)
        };
    }
    (object, cells)
}

fn cell_value(cell: &str, kind: CellKind) -> Value {
    let number = match kind {
        CellKind::Text => None,
        CellKind::Number => Number::from_str(cell).ok(),
        CellKind::Amount => parse_pence(cell)
            .ok()
            .and_then(|pence| Number::from_str(&pence_text(pence)).ok()),
    };
    number.map_or_else(|| Value::String(cell.to_owned()), Value::Number)
}

/// A further row of a grant: new list items are added, equal values ignored, and a different
/// value for a single field recorded as a conflict.
fn merge(grant: &mut CsvGrant, row: Map<String, Value>, cells: Vec<CellRef>) {
    for (key, value) in row {
        let row_cells = cells.iter().filter(|c| c.key == key);
        match (grant.object.get_mut(&key), value) {
            (None, value) => {
                grant.object.insert(key.clone(), value);
                grant.cells.extend(row_cells);
            }
            (Some(Value::Array(existing)), Value::Array(new_items)) => {
                for (position, item) in new_items.into_iter().enumerate() {
                    if existing.contains(&item) {
                        continue;
                    }
                    let at = existing.len();
                    existing.push(item);
                    grant
                        .cells
                        .extend(
                            row_cells
                                .clone()
                                .filter(|c| c.item == Some(position))
                                .map(|c| CellRef {
                                    item: Some(at),
                                    ..*c
                                }),
                        );
                }
            }
            (Some(existing), value) if *existing == value => {}
            (Some(_), _) => {
                let Some(&cell) = row_cells.clone().next() else {
                    continue;
                };
                let message = format!(
                    "differs from line {}, where this grant's Identifier first appears; a \
                     repeated Identifier may add list items, not change a value",
                    grant.line
                );
                grant.conflicts.push((cell, message));
            }
        }
    }
}

/// `line L, column T` for a pointer inside a CSV grant: the cell that holds the value, else the
/// column where it would be (a blank required cell), else the grant's first line.
fn locate_in_csv(grant: &CsvGrant, columns: &[Column], pointer: &str) -> String {
    if let Some(cell) = grant.cells.iter().find(|c| c.pointer() == pointer) {
        return format!(
            "line {}, column {}",
            cell.line,
            title_of(columns, cell.column)
        );
    }
    let inside = format!("{pointer}/");
    if let Some(column) = columns.iter().find(|c| {
        let p = c.place.pointer();
        p == pointer || p.starts_with(&inside)
    }) {
        return format!("line {}, column {}", grant.line, column.title);
    }
    if let Some(cell) = grant
        .cells
        .iter()
        .find(|c| c.pointer().starts_with(&inside))
    {
        return format!(
            "line {}, column {}",
            cell.line,
            title_of(columns, cell.column)
        );
    }
    format!("line {}", grant.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_pence() {
        assert_eq!(parse_pence("3028.63"), Ok(302_863));
        assert_eq!(parse_pence("2266"), Ok(226_600));
        assert_eq!(parse_pence(" 0.1 "), Ok(10));
        assert_eq!(parse_pence("1.5e3"), Ok(150_000));
        assert_eq!(parse_pence("12E-1"), Ok(120));
        assert_eq!(parse_pence("£1,234,567.89"), Ok(123_456_789));
        assert_eq!(parse_pence("-£1,000"), Ok(-100_000));
        assert_eq!(parse_pence("£-5.5"), Ok(-550));
        assert_eq!(parse_pence("+7"), Ok(700));
        assert_eq!(parse_pence("-0"), Ok(0));
    }

    #[test]
    fn sub_penny_digits_round_half_away_from_zero() {
        assert_eq!(parse_pence("0.005"), Ok(1));
        assert_eq!(parse_pence("0.0049999"), Ok(0));
        assert_eq!(parse_pence("-2.675"), Ok(-268));
        assert_eq!(parse_pence("1e-9"), Ok(0));
    }

    #[test]
    fn amounts_that_are_not_numbers_are_refused() {
        let refused = |t: &str| format!("must be an amount such as 1234.56, not {t:?}");
        for text in [
            "abc", "3,5", "1,23,456", "1,2345", ",123", "12.", ".5", "1e", "1e99999", "£", "--5",
            "12 000", "NaN", "1.2.3",
        ] {
            assert_eq!(parse_pence(text), Err(refused(text)), "{text}");
        }
        assert_eq!(parse_pence("  "), Err("required, but blank".to_owned()));
        assert_eq!(
            parse_pence("99999999999999999999"),
            Err("is too large to be an amount: \"99999999999999999999\"".to_owned())
        );
    }

    #[test]
    fn pence_print_as_json_numbers() {
        assert_eq!(pence_text(226_600), "2266");
        assert_eq!(pence_text(302_863), "3028.63");
        assert_eq!(pence_text(5), "0.05");
        assert_eq!(pence_text(-550), "-5.50");
    }

    #[test]
    fn dates_and_date_times_give_the_date_as_written() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(parse_date("2013-01-18"), day(2013, 1, 18));
        assert_eq!(parse_date("2013-01-18T00:30:00+01:00"), day(2013, 1, 18));
        assert_eq!(parse_date("2013-01-18T23:30:00Z"), day(2013, 1, 18));
        assert_eq!(parse_date("2013-01-18T09:00:00"), day(2013, 1, 18));
        assert_eq!(parse_date("2013-01-18 09:00"), day(2013, 1, 18));
        for text in [
            "18/01/2013",
            "2013-1-18",
            "2013-02-30",
            "2013-01-18T",
            "2013-01-18 tbc",
            "20130118",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn durations_are_whole_months() {
        assert_eq!(whole_number("12"), Some(12));
        assert_eq!(whole_number("12.0"), Some(12));
        assert_eq!(whole_number("6.5"), None);
        assert_eq!(whole_number("-1"), None);
        assert_eq!(whole_number("twelve"), None);
    }

    #[test]
    fn titles_map_to_pointers() {
        let pointer = |t: &str| place_of(t).map(Place::pointer);
        assert_eq!(pointer(" amount AWARDED "), Some("/amountAwarded".into()));
        assert_eq!(
            pointer("Recipient Org : Charity Number"),
            Some("/recipientOrganization/0/charityNumber".into())
        );
        assert_eq!(
            pointer("Recipient Org:2:Identifier"),
            Some("/recipientOrganization/2/id".into())
        );
        assert_eq!(
            pointer("Planned Dates:Duration (months)"),
            Some("/plannedDates/0/duration".into())
        );
        assert_eq!(
            pointer("Recipient Ind:Name"),
            Some("/recipientIndividual/name".into())
        );
        assert_eq!(pointer("Recipient Org:Location:0:Name"), None);
        assert_eq!(pointer("Related Activity"), None);
    }
}
