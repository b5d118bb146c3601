//! The query columns of a record (design brief, section 3), derived from its compiled release.
//!
//! Pure and infallible on purpose: records are recompiled whenever a release arrives, and the
//! releases come from feeds we do not control (Find a Tender, Contracts Finder, partner agencies).
//! A field that is missing, null or of the wrong type yields an empty column, never an error, so
//! one odd notice cannot stop a record from being stored. Paths follow what the UK feeds really
//! publish (reference/uk-feeds.md, sections 1-2), not only the core schema.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;
use serde_json::Value;

use crate::commissioning::Money;

/// Upper bound of [`search_text`], in bytes: enough for every title and a long description,
/// small enough that one verbose notice cannot bloat the full-text index.
pub const SEARCH_TEXT_MAX_BYTES: usize = 20 * 1024;

/// Longest title derived from a description when a record has no title of its own.
const FALLBACK_TITLE_MAX_CHARS: usize = 200;

/// How deep [`summarise`] looks for `vcse`/`sme` flags under `tender`; bounds the recursion on
/// arbitrarily nested input.
const FLAG_SEARCH_DEPTH: usize = 8;

/// The columns of `records` that queries filter and sort on.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RecordSummary {
    pub title: Option<String>,
    pub description: Option<String>,
    /// planning, tender, award, contract or implementation: the furthest stage reached.
    pub stage: Option<String>,
    /// The status at that stage (contract, award or tender status).
    pub status: Option<String>,
    pub buyer_org_id: Option<String>,
    /// Every organisation named: parties, the buyer and the awarded suppliers; sorted, unique.
    pub party_org_ids: Vec<String>,
    /// Awarded suppliers only; sorted, unique.
    pub supplier_org_ids: Vec<String>,
    pub value_amount: Option<f64>,
    pub value_currency: Option<String>,
    pub published_at: Option<NaiveDateTime>,
    pub tender_deadline: Option<NaiveDateTime>,
    pub contract_start: Option<NaiveDateTime>,
    pub contract_end: Option<NaiveDateTime>,
    /// CPV codes without check digits; sorted, unique.
    pub cpv_codes: Vec<String>,
    pub service_category: Option<String>,
    pub delivery_area: Option<String>,
    pub vcse_suitable: Option<bool>,
    pub sme_suitable: Option<bool>,
}

/// Derives the query columns from a compiled release. Anything but a JSON object gives the
/// empty summary.
pub fn summarise(compiled: &Value) -> RecordSummary {
    if !compiled.is_object() {
        return RecordSummary::default();
    }
    let r = compiled;
    let tender = r.get("tender");
    let stage = stage(r);
    let description = description(r);
    let title = title(r, description.as_deref());
    let buyer_org_id = buyer_org_id(r);
    let supplier_org_ids = supplier_org_ids(r);
    let party_org_ids = party_org_ids(r, buyer_org_id.as_deref(), &supplier_org_ids);
    let (value_amount, value_currency) = value(r).unzip();
    let cpv = cpv_classifications(r);
    let service_category = cpv.iter().find_map(|c| text(c.get("description")));
    let mut cpv_codes: Vec<String> = cpv
        .iter()
        .filter_map(|c| ident(c.get("id")))
        .map(|id| strip_check_digit(&id).to_owned())
        .collect();
    cpv_codes.sort();
    cpv_codes.dedup();

    RecordSummary {
        title,
        description,
        status: stage.and_then(|s| status(r, s)),
        stage: stage.map(|s| s.as_str().to_owned()),
        buyer_org_id,
        party_org_ids,
        supplier_org_ids,
        value_amount,
        value_currency: value_currency.flatten(),
        published_at: date(r.get("date")),
        tender_deadline: date(at(r, &["tender", "tenderPeriod", "endDate"])),
        contract_start: contract_date(r, "startDate", Extreme::Earliest),
        contract_end: contract_date(r, "endDate", Extreme::Latest),
        cpv_codes,
        service_category: service_category.map(str::to_owned),
        delivery_area: delivery_area(r),
        vcse_suitable: tender.and_then(|t| flag(t, "vcse", FLAG_SEARCH_DEPTH)),
        sme_suitable: tender.and_then(|t| flag(t, "sme", FLAG_SEARCH_DEPTH)),
    }
}

/// The org-id (org-id.guide) of a party or organisation reference: its `id` when that already
/// looks like one (`GB-COH-01234567`), else `{scheme}-{id}` of its `identifier`, else of the
/// first `additionalIdentifiers` entry that makes an org-id, else its `id` as published (an
/// opaque local id still identifies the organisation within the process).
pub fn org_id(party_or_ref: &Value) -> Option<String> {
    let id = ident(party_or_ref.get("id"));
    if let Some(id) = &id
        && is_org_id(id)
    {
        return Some(id.clone());
    }
    if let Some(joined) = scheme_id(party_or_ref.get("identifier")) {
        return Some(joined);
    }
    let additional = objects(party_or_ref.get("additionalIdentifiers"))
        .filter_map(|i| scheme_id(Some(i)))
        .find(|joined| is_org_id(joined));
    additional.or(id)
}

/// Roles whose organisations commission a process and so may publish releases about it.
pub const PUBLISHING_ROLES: [&str; 3] = ["buyer", "procuringEntity", "funder"];

/// The organisations a release (or compiled release) names as commissioning the process,
/// each with how it is named: the `buyer`, parties with a role of [`PUBLISHING_ROLES`], and
/// pooled-budget contributors (`planning.budget.budgetBreakdown[].sourceParty`, role
/// `budgetContributor`). In document order, without repeats of the same (role, org).
pub fn publishing_orgs(r: &Value) -> Vec<(&'static str, String)> {
    let mut named: Vec<(&'static str, String)> = Vec::new();
    let mut add = |role: &'static str, org: Option<String>| {
        if let Some(org) = org
            && !named.iter().any(|(r, o)| *r == role && *o == org)
        {
            named.push((role, org));
        }
    };
    if let Some(buyer) = r.get("buyer") {
        add("buyer", org_id(buyer));
    }
    for party in objects(r.get("parties")) {
        for role in PUBLISHING_ROLES {
            if has_role(party, role) {
                add(role, org_id(party));
            }
        }
    }
    for share in objects(at(r, &["planning", "budget", "budgetBreakdown"])) {
        if let Some(source) = share.get("sourceParty") {
            let org = party_for(r, source, "funder")
                .and_then(org_id)
                .or_else(|| org_id(source));
            add("budgetContributor", org);
        }
    }
    named
}

/// Parses an OCDS date-time to naive UTC. RFC 3339 with any offset is the norm; feeds also
/// send offsets without a colon, no offset at all (read as UTC) and plain dates (midnight).
pub fn parse_ocds_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.naive_utc());
    }
    const WITH_OFFSET: [&str; 3] = [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ];
    for format in WITH_OFFSET {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt.naive_utc());
        }
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    const WITHOUT_OFFSET: [&str; 3] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ];
    for format in WITHOUT_OFFSET {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// The words of a compiled release for full-text indexing: titles, descriptions, item and lot
/// descriptions, party names and CPV labels, without markup, single-spaced, each distinct
/// passage once, at most [`SEARCH_TEXT_MAX_BYTES`] long.
pub fn search_text(compiled: &Value) -> String {
    if !compiled.is_object() {
        return String::new();
    }
    let r = compiled;
    let description = description(r);
    let title = title(r, description.as_deref());
    let cpv = cpv_classifications(r);
    let mut passages: Vec<Option<&str>> = vec![title.as_deref(), description.as_deref()];
    let tender = r.get("tender");
    passages.push(text(at(r, &["tender", "title"])));
    passages.push(text(at(r, &["tender", "description"])));
    passages.push(text(at(r, &["planning", "rationale"])));
    passages.push(text(at(r, &["planning", "budget", "project"])));
    passages.push(text(at(r, &["planning", "budget", "description"])));
    for lot in objects(tender.and_then(|t| t.get("lots"))) {
        passages.push(text(lot.get("title")));
        passages.push(text(lot.get("description")));
    }
    for item in objects(tender.and_then(|t| t.get("items"))) {
        passages.push(text(item.get("description")));
    }
    for section in ["awards", "contracts"] {
        for entry in objects(r.get(section)) {
            passages.push(text(entry.get("title")));
            passages.push(text(entry.get("description")));
            for item in objects(entry.get("items")) {
                passages.push(text(item.get("description")));
            }
        }
    }
    for party in objects(r.get("parties")) {
        passages.push(text(party.get("name")));
    }
    passages.push(text(at(r, &["buyer", "name"])));
    passages.push(text(r.get("title")));
    passages.push(text(r.get("description")));
    for c in &cpv {
        passages.push(text(c.get("description")));
    }

    let mut out = String::new();
    let mut seen = HashSet::new();
    for passage in passages.into_iter().flatten() {
        let clean = clean_text(passage);
        if clean.is_empty() || !seen.insert(clean.clone()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&clean);
        if out.len() >= SEARCH_TEXT_MAX_BYTES {
            truncate_at_word(&mut out, SEARCH_TEXT_MAX_BYTES);
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Stage and status

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Planning,
    Tender,
    Award,
    Contract,
    Implementation,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Planning => "planning",
            Stage::Tender => "tender",
            Stage::Award => "award",
            Stage::Contract => "contract",
            Stage::Implementation => "implementation",
        }
    }
}

/// Tender statuses that mean the process is still being planned (UK1/UK3 `planned`, UK2
/// `planning`): such a tender section describes an intention, not an opportunity.
fn is_planning_status(status: Option<&str>) -> bool {
    matches!(status, Some("planning" | "planned"))
}

/// The furthest stage the process has reached. A compiled release's tag is `compiled`, so the
/// sections present decide; the tag is consulted only for the planning fallback.
fn stage(r: &Value) -> Option<Stage> {
    let contracts: Vec<&Value> = entries(r.get("contracts")).collect();
    if contracts
        .iter()
        .any(|c| c.get("implementation").is_some_and(has_implementation_data))
    {
        return Some(Stage::Implementation);
    }
    if !contracts.is_empty() {
        return Some(Stage::Contract);
    }
    if entries(r.get("awards")).next().is_some() {
        return Some(Stage::Award);
    }
    let tender = r.get("tender").filter(|t| t.is_object());
    let tender_status = tender.and_then(|t| text(t.get("status")));
    if let Some(t) = tender
        && !is_planning_status(tender_status)
        && (ident(t.get("id")).is_some()
            || text(t.get("title")).is_some()
            || tender_status.is_some()
            || t.get("tenderPeriod").is_some_and(has_content))
    {
        return Some(Stage::Tender);
    }
    let tagged_planning = r.get("tag").and_then(Value::as_array).is_some_and(|tags| {
        tags.iter()
            .any(|t| t == "planning" || t == "planningUpdate")
    });
    if r.get("planning").is_some_and(has_content)
        || is_planning_status(tender_status)
        || tagged_planning
    {
        return Some(Stage::Planning);
    }
    None
}

/// Whether a contract's implementation section holds anything: transactions, milestones,
/// metrics (UK9 performance notices), performance failures or completion data (UK11). An
/// empty shell (`{}`, `{"transactions": []}`) does not count.
fn has_implementation_data(implementation: &Value) -> bool {
    implementation
        .as_object()
        .is_some_and(|o| o.values().any(has_content))
}

fn status(r: &Value, stage: Stage) -> Option<String> {
    let last_status = |section: &str| {
        entries(r.get(section))
            .filter_map(|e| text(e.get("status")))
            .last()
            .map(str::to_owned)
    };
    let tender_status = text(at(r, &["tender", "status"]));
    match stage {
        Stage::Implementation | Stage::Contract => last_status("contracts"),
        Stage::Award => last_status("awards"),
        Stage::Tender => tender_status.map(str::to_owned),
        Stage::Planning => tender_status
            .filter(|s| is_planning_status(Some(s)))
            .map(str::to_owned),
    }
}

// ---------------------------------------------------------------------------------------------
// Title and description

fn title(r: &Value, description: Option<&str>) -> Option<String> {
    let project = r.get("planning").and_then(|p| p.get("project"));
    let first_of = |section: &str| entries(r.get(section)).find_map(|e| text(e.get("title")));
    text(at(r, &["tender", "title"]))
        // planning.project is a string in some publishers' data and an object (project
        // extension) in others.
        .or_else(|| text(project))
        .or_else(|| text(project.and_then(|p| p.get("title"))))
        // Contracts Finder puts a release-level `title` on planning notices.
        .or_else(|| text(r.get("title")))
        .or_else(|| first_of("awards"))
        .or_else(|| first_of("contracts"))
        .or_else(|| text(at(r, &["planning", "budget", "project"])))
        .map(str::to_owned)
        // Lists show the title; a record without one is unfindable by eye, so borrow the
        // start of the description.
        .or_else(|| description.and_then(title_from_description))
}

fn title_from_description(description: &str) -> Option<String> {
    let line = description.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= FALLBACK_TITLE_MAX_CHARS {
        return Some(line.to_owned());
    }
    let cut: String = line.chars().take(FALLBACK_TITLE_MAX_CHARS).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > FALLBACK_TITLE_MAX_CHARS / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    Some(format!("{}…", cut.trim_end()))
}

fn description(r: &Value) -> Option<String> {
    let first_of = |section: &str| entries(r.get(section)).find_map(|e| text(e.get("description")));
    text(at(r, &["tender", "description"]))
        .or_else(|| text(at(r, &["planning", "project", "description"])))
        .or_else(|| text(at(r, &["planning", "rationale"])))
        .or_else(|| text(at(r, &["planning", "budget", "description"])))
        .or_else(|| first_of("contracts"))
        .or_else(|| first_of("awards"))
        // FTS puts the Provider Selection Regime explanation on the release itself.
        .or_else(|| text(r.get("description")))
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Organisations

/// An org-id is `{country}-{list}-{id}` with an upper-case two-letter country (or X-prefix)
/// and an upper-case list code, as on org-id.guide: `GB-LAE-MAN`, `GB-PPON-PDYH-3246-XWTR`.
/// Lower-case slugs such as `la-man-1` are local ids, not org-ids.
fn is_org_id(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    let (Some(country), Some(list), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (2..=12).contains(&list.len())
        && list
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && list.bytes().any(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
}

/// `{scheme}-{id}` of an identifier object, unless the id already carries its scheme.
fn scheme_id(identifier: Option<&Value>) -> Option<String> {
    let identifier = identifier?;
    let scheme = text(identifier.get("scheme"))?;
    let id = ident(identifier.get("id"))?;
    let prefixed = id
        .get(..scheme.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        && id[scheme.len()..].starts_with('-');
    Some(if prefixed {
        id
    } else {
        format!("{scheme}-{id}")
    })
}

pub(crate) fn has_role(party: &Value, role: &str) -> bool {
    party
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| {
            roles
                .iter()
                .any(|r| r.as_str().map(str::trim) == Some(role))
        })
}

/// The party a reference points at (same `id`), preferring one with `role`.
pub(crate) fn party_for<'a>(r: &'a Value, reference: &Value, role: &str) -> Option<&'a Value> {
    let id = ident(reference.get("id"))?;
    let same = |p: &&Value| ident(p.get("id")).as_deref() == Some(id.as_str());
    objects(r.get("parties"))
        .filter(same)
        .find(|p| has_role(p, role))
        .or_else(|| objects(r.get("parties")).find(same))
}

/// The buyer's party: the one `buyer.id` names, else (FTS UK9/UK11 notices have no `buyer`)
/// the first party with the buyer role.
fn buyer_party(r: &Value) -> Option<&Value> {
    r.get("buyer")
        .and_then(|b| party_for(r, b, "buyer"))
        .or_else(|| objects(r.get("parties")).find(|p| has_role(p, "buyer")))
}

pub(crate) fn buyer_org_id(r: &Value) -> Option<String> {
    let reference = r.get("buyer").filter(|b| ident(b.get("id")).is_some());
    match reference {
        // The reference names the buyer; its party (when listed) says how to resolve it.
        Some(b) => party_for(r, b, "buyer")
            .and_then(org_id)
            .or_else(|| org_id(b)),
        None => buyer_party(r).and_then(org_id),
    }
}

/// Suppliers of awards that were made (not cancelled or unsuccessful), and parties with the
/// supplier role; tenderers and removed suppliers are not awarded suppliers.
fn supplier_org_ids(r: &Value) -> Vec<String> {
    let mut ids: Vec<String> = entries(r.get("awards"))
        .filter(|a| !matches!(text(a.get("status")), Some("cancelled" | "unsuccessful")))
        .flat_map(|a| objects(a.get("suppliers")))
        .filter_map(|s| {
            party_for(r, s, "supplier")
                .and_then(org_id)
                .or_else(|| org_id(s))
        })
        .chain(
            objects(r.get("parties"))
                .filter(|p| has_role(p, "supplier"))
                .filter_map(org_id),
        )
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// All parties, plus the buyer and suppliers in case a publisher named them without listing
/// them in `parties` (invalid, but seen): a search by organisation must still find the record.
fn party_org_ids(r: &Value, buyer: Option<&str>, suppliers: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = objects(r.get("parties"))
        .filter_map(org_id)
        .chain(buyer.map(str::to_owned))
        .chain(suppliers.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------
// Value

/// `value.amount` only: Find a Tender also publishes `amountGross` (with VAT), and net and
/// gross must never be added together (uk-feeds.md 1.5).
pub(crate) fn money(value: Option<&Value>) -> Option<Money> {
    let value = value?;
    Some(Money {
        amount: number(value.get("amount"))?,
        currency: text(value.get("currency")).map(str::to_ascii_uppercase),
    })
}

pub(crate) enum Total {
    /// Nothing to add up at this level: try the next one.
    Nothing,
    /// Amounts in more than one currency (or with and without one): no meaningful total.
    Mixed,
    Sum(f64, Option<String>),
}

pub(crate) fn total(values: impl IntoIterator<Item = Money>) -> Total {
    let mut result = Total::Nothing;
    for m in values {
        result = match result {
            Total::Nothing => Total::Sum(m.amount, m.currency),
            Total::Sum(sum, currency) if currency == m.currency => {
                Total::Sum(sum + m.amount, currency)
            }
            Total::Sum(..) | Total::Mixed => return Total::Mixed,
        };
    }
    result
}

/// The process value at the furthest stage that states one: contracts (not cancelled), else
/// awards that were made or are pending, else the tender (or its lots), else the planning
/// budget. Mixed currencies give no value rather than a lower stage's figure.
fn value(r: &Value) -> Option<(f64, Option<String>)> {
    let contracts = entries(r.get("contracts"))
        .filter(|c| text(c.get("status")) != Some("cancelled"))
        .filter_map(|c| money(c.get("value")));
    let awards = entries(r.get("awards"))
        .filter(|a| !matches!(text(a.get("status")), Some("cancelled" | "unsuccessful")))
        .filter_map(|a| money(a.get("value")));
    let tender = money(at(r, &["tender", "value"]));
    let lots = entries(at(r, &["tender", "lots"])).filter_map(|l| money(l.get("value")));
    let budget = money(at(r, &["planning", "budget", "amount"]));

    // Each level is a handful of entries, so adding all four up front costs nothing.
    let levels = [
        total(contracts),
        total(awards),
        match tender {
            Some(m) => total([m]),
            None => total(lots),
        },
        total(budget),
    ];
    for level in levels {
        match level {
            Total::Nothing => continue,
            Total::Mixed => return None,
            Total::Sum(amount, currency) => return Some((amount, currency)),
        }
    }
    None
}

/// An amount: a JSON number (kept as text under `arbitrary_precision`, hence `as_f64`) or, in
/// bad data, a numeric string. Infinite and NaN values are rejected: they cannot be stored.
pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let digits: String = s
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ',')
                .collect();
            digits.parse::<f64>().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Dates

pub(crate) fn date(v: Option<&Value>) -> Option<NaiveDateTime> {
    text(v).and_then(parse_ocds_datetime)
}

#[derive(Clone, Copy)]
pub(crate) enum Extreme {
    Earliest,
    Latest,
}

/// The earliest start (or latest end) over contracts' periods, else awards' contract periods,
/// else the tender's contract period, else its lots' (FTS pipeline and tender notices give
/// periods per lot only). Start and end fall back independently.
fn contract_date(r: &Value, field: &str, extreme: Extreme) -> Option<NaiveDateTime> {
    let pick = |dates: Vec<NaiveDateTime>| match extreme {
        Extreme::Earliest => dates.into_iter().min(),
        Extreme::Latest => dates.into_iter().max(),
    };
    let over = |list: Option<&Value>, period: &str| {
        pick(
            entries(list)
                .filter_map(|e| date(at(e, &[period, field])))
                .collect(),
        )
    };
    over(r.get("contracts"), "period")
        .or_else(|| over(r.get("awards"), "contractPeriod"))
        .or_else(|| date(at(r, &["tender", "contractPeriod", field])))
        .or_else(|| over(at(r, &["tender", "lots"]), "contractPeriod"))
}

// ---------------------------------------------------------------------------------------------
// Classification, place, suitability

/// CPV classifications in the order a reader meets them: the tender's main and additional
/// classifications, then its items', then awards' and contracts' items'.
fn cpv_classifications(r: &Value) -> Vec<&Value> {
    fn of_item<'a>(item: &'a Value, out: &mut Vec<&'a Value>) {
        out.extend(item.get("classification").filter(|c| c.is_object()));
        out.extend(objects(item.get("additionalClassifications")));
    }
    let mut all = Vec::new();
    if let Some(tender) = r.get("tender") {
        // Contracts Finder puts additionalClassifications on the tender itself.
        of_item(tender, &mut all);
        for item in objects(tender.get("items")) {
            of_item(item, &mut all);
        }
    }
    for section in ["awards", "contracts"] {
        for item in entries(r.get(section)).flat_map(|e| objects(e.get("items"))) {
            of_item(item, &mut all);
        }
    }
    all.retain(|c| text(c.get("scheme")).is_some_and(|s| s.eq_ignore_ascii_case("CPV")));
    all
}

/// `85311300-5` → `85311300`: codes are compared without the check digit some publishers add.
fn strip_check_digit(code: &str) -> &str {
    match code.rsplit_once('-') {
        Some((base, digit))
            if !base.is_empty()
                && digit.len() == 1
                && digit.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => code,
    }
}

fn delivery_area(r: &Value) -> Option<String> {
    let tender_items = objects(at(r, &["tender", "items"]));
    let other_items = ["awards", "contracts"]
        .into_iter()
        .flat_map(|s| entries(r.get(s)))
        .flat_map(|e| objects(e.get("items")));
    let items: Vec<&Value> = tender_items.chain(other_items).collect();

    let from_address = items.iter().find_map(|item| {
        // `deliveryAddresses` is what FTS and Contracts Finder publish; `deliveryAddress` is
        // the location extension's single address.
        objects(item.get("deliveryAddresses"))
            .chain(item.get("deliveryAddress").filter(|a| a.is_object()))
            .find_map(|a| text(a.get("region")).or_else(|| text(a.get("locality"))))
    });
    let from_location = || {
        items.iter().find_map(|item| {
            text(at(item, &["deliveryLocation", "description"])).or_else(|| {
                objects(item.get("deliveryLocations")).find_map(|l| text(l.get("description")))
            })
        })
    };
    let from_buyer = || buyer_party(r).and_then(|p| text(at(p, &["address", "region"])));
    from_address
        .or_else(from_location)
        .or_else(from_buyer)
        .map(str::to_owned)
}

/// A suitability flag (`sme`, `vcse`) anywhere under the tender: `tender.suitability` (Contracts
/// Finder), `tender.lots[].suitability` (Find a Tender). True when any lot is suitable, false
/// when flags exist and none is.
fn flag(v: &Value, key: &str, depth: usize) -> Option<bool> {
    let mut found = None;
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = match child {
                    Value::Bool(b) if k == key => Some(*b),
                    _ if depth > 0 => flag(child, key, depth - 1),
                    _ => None,
                };
                found = merge_flag(found, here);
                if found == Some(true) {
                    break;
                }
            }
        }
        Value::Array(list) if depth > 0 => {
            for child in list {
                found = merge_flag(found, flag(child, key, depth - 1));
                if found == Some(true) {
                    break;
                }
            }
        }
        _ => {}
    }
    found
}

fn merge_flag(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x || y),
        (x, y) => x.or(y),
    }
}

// ---------------------------------------------------------------------------------------------
// Defensive access

pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// The objects of an array; anything else (missing, null, a lone object, a string) is empty.
pub(crate) fn objects(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| x.is_object())
}

/// The non-empty objects of a section (`awards`, `contracts`, `lots`): a `{}` left by a merge
/// is no award.
pub(crate) fn entries(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    objects(v).filter(|x| x.as_object().is_some_and(|o| !o.is_empty()))
}

/// A trimmed, non-empty string.
pub(crate) fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An identifier: a trimmed non-empty string, or a number as written (OCDS allows both).
pub(crate) fn ident(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn has_content(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => a.iter().any(has_content),
        Value::Object(o) => o.values().any(has_content),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Search text cleaning

/// Text as a search engine should see it: FTS descriptions carry `<br/>` and Contracts Finder
/// titles HTML entities (`A&apos;Wing`); both are noise to a tokenizer.
fn clean_text(s: &str) -> String {
    let s = strip_tags(s);
    let s = if s.contains('&') {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#39;", "'")
            .replace("&nbsp;", " ")
            // Last, so that `&amp;lt;` becomes `&lt;`, as its author meant.
            .replace("&amp;", "&")
    } else {
        s
    };
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces things that look like HTML tags (`<br/>`, `</p>`) with a space; a lone `<` (as in
/// "< 5 years") stays.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let tag_like = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match after.find('>') {
            Some(j) if tag_like && j <= 200 && !after[..j].contains('<') => {
                out.push(' ');
                rest = &after[j + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cuts `s` to at most `max` bytes on a char boundary, and back to the last space when that
/// does not lose much, so the index gets no half word.
fn truncate_at_word(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(space) = s[..end].rfind(' ')
        && space >= end.saturating_sub(100)
    {
        end = space;
    }
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    //! Fixtures are real notices (Find a Tender 2026, Contracts Finder 2022; OGL v3), cut down
    //! from `reference/samples/` (contact points, documents and long texts dropped), and one
    //! synthetic process from `gen_ocds.py --seed 1`, compiled with the real merge.

    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("fixture is valid JSON")
    }

    fn at_utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test date")
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn stage_and_status(v: &Value) -> (Option<String>, Option<String>) {
        let s = summarise(v);
        (s.stage, s.status)
    }

    fn pair(stage: &str, status: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(stage.to_owned()), status.map(str::to_owned))
    }

    /// Find a Tender 076678-2026
    const FTS_UK1_PIPELINE: &str = r#"{"id": "076678-2026", "tag": ["planning"], "date": "2026-08-12T11:56:48+01:00", "planning": {}, "ocid": "ocds-h6vhtk-06e264", "parties": [{"name": "Norfolk County Council", "id": "GB-PPON-PDYH-3246-XWTR", "identifier": {"scheme": "GB-PPON", "id": "PDYH-3246-XWTR"}, "address": {"streetAddress": "County Hall, Martineau Lane", "locality": "Norwich", "postalCode": "NR1 2DH", "country": "GB", "countryName": "United Kingdom", "region": "UKH15"}, "roles": ["buyer"]}], "buyer": {"id": "GB-PPON-PDYH-3246-XWTR", "name": "Norfolk County Council"}, "tender": {"id": "NCCT43502", "title": "Experts at Hand: Occupational Therapy Inclusion & Participation Service", "description": "Norfolk County Council (NCC) proposes to procure an Occupational Therapy, Inclusion and Participation Service, which will form part of Norfolk's zone ...", "items": [{"id": "1", "additionalClassifications": [{"scheme": "CPV", "id": "85323000", "description": "Community health services"}], "deliveryAddresses": [{"region": "UKH15", "country": "GB", "countryName": "United Kingdom"}, {"region": "UKH16", "country": "GB", "countryName": "United Kingdom"}, {"region": "UKH17", "country": "GB", "countryName": "United Kingdom"}], "relatedLot": "1"}], "value": {"amountGross": 4060716, "amount": 3383930, "currency": "GBP"}, "procurementMethod": "open", "mainProcurementCategory": "services", "aboveThreshold": true, "lots": [{"id": "1", "suitability": {"sme": true, "vcse": true}, "contractPeriod": {"startDate": "2027-01-04T00:00:00Z", "endDate": "2029-03-31T23:59:59+01:00"}, "status": "planned"}], "status": "planned"}}"#;

    /// Find a Tender 075819-2026
    const FTS_UK4_TENDER: &str = r#"{"ocid": "ocds-h6vhtk-06e058", "id": "075819-2026", "tag": ["tender"], "date": "2026-08-10T15:07:21+01:00", "parties": [{"name": "London Borough of Camden", "id": "GB-PPON-PZXL-5842-VBBG", "identifier": {"scheme": "GB-PPON", "id": "PZXL-5842-VBBG"}, "address": {"streetAddress": "Town Hall, Judd Street", "locality": "London", "postalCode": "WC1H 9JE", "country": "GB", "countryName": "United Kingdom", "region": "UKI31"}, "roles": ["buyer"]}, {"name": "London Borough of Islington", "id": "GB-PPON-PBMD-2513-CWJJ", "identifier": {"scheme": "GB-PPON", "id": "PBMD-2513-CWJJ"}, "address": {"streetAddress": "Islington Town Hall, Upper Street, Islington", "locality": "London", "postalCode": "N1 2UD", "country": "GB", "countryName": "United Kingdom", "region": "UKI43"}, "roles": ["buyer"]}], "buyer": {"id": "GB-PPON-PZXL-5842-VBBG", "name": "London Borough of Camden"}, "tender": {"id": "DN816495", "title": "Young Carers services across Camden and Islington", "description": "The Contract is for the delivery of statutory and preventative Young Carers services across Camden and Islington.\nYoung Carers are children and young ...", "status": "active", "items": [{"id": "1", "additionalClassifications": [{"scheme": "CPV", "id": "85000000", "description": "Health and social work services"}], "relatedLot": "1"}], "value": {"amountGross": 1210990.0, "amount": 968792.0, "currency": "GBP"}, "procurementMethod": "open", "mainProcurementCategory": "services", "specialRegime": ["lightTouch"], "aboveThreshold": true, "tenderPeriod": {"endDate": "2026-09-10T14:00:00+01:00"}, "awardPeriod": {"endDate": "2026-11-07T23:59:59Z"}, "lots": [{"id": "1", "status": "active", "value": {"amountGross": 1210990.0, "amount": 968792.0, "currency": "GBP"}, "suitability": {"sme": true, "vcse": true}, "contractPeriod": {"startDate": "2027-02-01T00:00:00Z", "endDate": "2030-01-31T23:59:59Z", "maxExtentDate": "2032-01-31T23:59:59Z"}, "hasRenewal": true}]}}"#;

    /// Find a Tender 075948-2026
    const FTS_UK5_PENDING_AWARD: &str = r#"{"ocid": "ocds-h6vhtk-06e0aa", "id": "075948-2026", "tag": ["award", "contract"], "date": "2026-08-10T17:44:20+01:00", "parties": [{"name": "London Borough of Wandsworth", "id": "GB-PPON-PVLQ-8225-QVHT", "identifier": {"scheme": "GB-PPON", "id": "PVLQ-8225-QVHT"}, "address": {"streetAddress": "TOWN HALL, Wandsworth High Street", "locality": "Wandsworth", "postalCode": "SW18 2PU", "country": "GB", "countryName": "United Kingdom", "region": "UKI34"}, "roles": ["buyer"]}, {"name": "Inspire-Me", "id": "GB-PPON-PCWQ-8195-XCJW", "identifier": {"scheme": "GB-PPON", "id": "PCWQ-8195-XCJW"}, "address": {"streetAddress": "90 Buckhold Road", "locality": "London", "postalCode": "SW18 4AP", "country": "GB", "countryName": "United Kingdom", "region": "UKI34"}, "roles": ["supplier"]}], "buyer": {"id": "GB-PPON-PVLQ-8225-QVHT", "name": "London Borough of Wandsworth"}, "tender": {"id": "CPT3810", "title": "Attention Deficit and Hyperactivity Disorder (ADHD) Ambassadors Programme", "description": "The London Borough of Wandsworth intends to award a below-threshold contract to the supplier for the provision of an ADHD Ambassadors Programme ...", "status": "complete", "procurementMethod": "direct", "lots": [{"id": "1", "status": "complete", "suitability": {"vcse": true}, "description": null}]}, "awards": [{"id": "1", "title": "Attention Deficit and Hyperactivity Disorder (ADHD) Ambassadors Programme", "status": "pending", "value": {"amountGross": 39727, "amount": 39727, "currency": "GBP"}, "mainProcurementCategory": "services", "aboveThreshold": false, "suppliers": [{"id": "GB-PPON-PCWQ-8195-XCJW", "name": "Inspire-Me"}], "items": [{"id": "1", "additionalClassifications": [{"scheme": "CPV", "id": "85311300", "description": "Welfare services for children and young people"}], "deliveryAddresses": [{"region": "UKI34", "country": "GB", "countryName": "United Kingdom"}], "relatedLot": "1"}], "contractPeriod": {"startDate": "2026-09-02T00:00:00+01:00", "endDate": "2028-09-01T23:59:59+01:00"}, "relatedLots": ["1"], "milestones": [{"id": "1", "type": "futureSignatureDate", "dueDate": "2026-08-28T23:59:59+01:00", "status": "scheduled"}]}]}"#;

    /// Find a Tender 076472-2026
    const FTS_UK7_CONTRACTS: &str = r#"{"id": "076472-2026", "tag": ["award", "contract"], "date": "2026-08-12T08:25:17+01:00", "ocid": "ocds-h6vhtk-0591b6", "parties": [{"name": "North Tyneside Borough Council", "id": "GB-PPON-PYBQ-4733-WWLW", "identifier": {"scheme": "GB-PPON", "id": "PYBQ-4733-WWLW"}, "address": {"streetAddress": "Quadrant", "locality": "North Tyneside", "postalCode": "NE27 0BY", "country": "GB", "countryName": "United Kingdom", "region": "UKC22"}, "roles": ["buyer"]}, {"name": "THE NORTH TYNESIDE CARERS CENTRE", "id": "GB-COH-03130902", "identifier": {"scheme": "GB-COH", "id": "03130902"}, "additionalIdentifiers": [{"scheme": "GB-PPON", "id": "PRQY-9857-NYCW"}], "address": {"streetAddress": "Wallsend Customer First Centre Floor 2", "locality": "Wallsend", "postalCode": "NE28 8JR", "country": "GB", "countryName": "United Kingdom", "region": "UKC22"}, "roles": ["supplier"]}], "buyer": {"id": "GB-PPON-PYBQ-4733-WWLW", "name": "North Tyneside Borough Council"}, "tender": {"id": "OPEN20251527", "title": "Carers Support Services", "description": "Provision of Carers Support Services for unpaid carers who live in North Tyneside.  The service will provide advice and local information relating to ...", "status": "complete", "procurementMethod": "open", "lots": [{"id": "1", "status": "complete", "description": null}, {"id": "2", "status": "complete", "description": null}]}, "awards": [{"id": "1", "status": "active", "mainProcurementCategory": "services", "suppliers": [{"id": "GB-COH-03130902", "name": "THE NORTH TYNESIDE CARERS CENTRE"}], "items": [{"id": "1", "additionalClassifications": [{"scheme": "CPV", "id": "85320000", "description": "Social services"}], "deliveryAddresses": [{"region": "UKC22", "country": "GB", "countryName": "United Kingdom"}], "relatedLot": "1"}], "relatedLots": ["1"]}, {"id": "2", "status": "active", "mainProcurementCategory": "services", "suppliers": [{"id": "GB-COH-03130902", "name": "THE NORTH TYNESIDE CARERS CENTRE"}], "items": [{"id": "2", "additionalClassifications": [{"scheme": "CPV", "id": "85320000", "description": "Social services"}], "deliveryAddresses": [{"region": "UKC22", "country": "GB", "countryName": "United Kingdom"}], "relatedLot": "2"}], "relatedLots": ["2"]}], "contracts": [{"id": "1", "awardID": "1", "title": "Lot 1 - Adult Carers Support", "status": "active", "period": {"startDate": "2026-07-17T00:00:00+01:00", "endDate": "2029-04-30T23:59:59+01:00", "maxExtentDate": "2031-04-30T23:59:59+01:00"}, "hasRenewal": true, "value": {"amountGross": 1218672, "amount": 1015560, "currency": "GBP"}, "aboveThreshold": true, "dateSigned": "2026-07-16T00:00:00+01:00"}, {"id": "2", "awardID": "2", "title": "Lot 2 - Young Carers Support", "status": "active", "period": {"startDate": "2026-07-17T00:00:00+01:00", "endDate": "2029-04-30T23:59:59+01:00", "maxExtentDate": "2031-04-30T23:59:59+01:00"}, "hasRenewal": true, "value": {"amountGross": 485400, "amount": 404500, "currency": "GBP"}, "aboveThreshold": true, "dateSigned": "2026-07-16T00:00:00+01:00"}]}"#;

    /// Find a Tender 076141-2026
    const FTS_UK9_PERFORMANCE: &str = r#"{"id": "076141-2026", "tag": ["implementation"], "date": "2026-08-11T11:37:15+01:00", "ocid": "ocds-h6vhtk-04f7de", "parties": [{"name": "Department for Education", "id": "GB-PPON-PDZG-3487-DPVD", "identifier": {"scheme": "GB-PPON", "id": "PDZG-3487-DPVD"}, "address": {"streetAddress": "Sanctuary Buildings, 20 Great Smith Street", "locality": "London", "postalCode": "SW1P3BT", "country": "GB", "countryName": "United Kingdom", "region": "UKI32"}, "roles": ["buyer"]}], "tender": {"id": "con_28068", "title": "School Teacher Recruitment Marketing Campaign"}, "contracts": [{"id": "1", "awardID": "1", "implementation": {"metrics": [{"id": "1", "title": "Creative quality control - Creative scope must include 3 rounds of feedback and presented to the client should be free of error and aligned to the agreed brief", "description": "100%- 3 rounds of feedback", "observations": [{"period": {"startDate": "2026-04-01T00:00:00+01:00", "endDate": "2026-06-30T23:59:59+01:00"}, "measure": "100%- 3 rounds of feedback", "measureClassification": {"id": "met", "description": "Good - performance is meeting or exceeding the KPI"}, "id": "076141-2026"}]}]}}]}"#;

    /// Find a Tender 076013-2026
    const FTS_UK12_CANCELLATION: &str = r#"{"id": "076013-2026", "tag": ["tenderCancellation"], "date": "2026-08-11T09:21:37+01:00", "ocid": "ocds-h6vhtk-061372", "parties": [{"name": "South London and Maudsley NHS Foundation Trust", "id": "GB-PPON-PVHW-2176-TRVQ", "identifier": {"scheme": "GB-PPON", "id": "PVHW-2176-TRVQ"}, "address": {"streetAddress": "Bethlem Royal Hospital", "locality": "Beckenham", "postalCode": "BR3 3BX", "country": "GB", "countryName": "United Kingdom", "region": "UKI61"}, "roles": ["buyer"]}], "tender": {"id": "C445429", "title": "Lambeth - Enhanced Mental Health Crisis Prevention Service"}, "awards": [{"id": "1", "status": "active", "relatedLots": ["1"]}], "contracts": [{"id": "1", "awardID": "1", "status": "cancelled", "finalStatusDate": "2026-08-07T00:00:00+01:00"}]}"#;

    /// Find a Tender 076609-2026
    const FTS_PSR_PLANNING: &str = r#"{"ocid": "ocds-h6vhtk-06e240", "id": "076609-2026", "date": "2026-08-12T11:04:22+01:00", "tag": ["planning"], "description": "This is a Provider Selection Regime (PSR) intended approach notice. The awarding of this contract is subject to the Health Care Services (Provider ...", "tender": {"id": "ocds-h6vhtk-06e240", "title": "NHS SY ICB - Initial Health Check for Looked After Children - Doncaster", "status": "planned", "classification": {"scheme": "CPV", "id": "85120000", "description": "Medical practice and related services"}, "mainProcurementCategory": "services", "description": "To provide initial health checks for looked after children for the population of Doncaster", "value": {"amount": 330000.0, "currency": "GBP"}, "lots": [{"id": "1", "description": "To provide initial health checks for looked after children for the population of Doncaster.<br/><br/>As at December 2025 there were 497 Doncaster ...", "status": "planned"}], "items": [{"id": "1", "additionalClassifications": [{"scheme": "CPV", "id": "85121291", "description": "Paediatric services"}], "deliveryAddresses": [{"region": "UKE3"}], "deliveryLocation": {"description": "Doncaster"}, "relatedLot": "1"}]}, "parties": [{"name": "NHS South Yorkshire Integrated Care Board", "id": "GB-FTS-113634", "identifier": {"legalName": "NHS South Yorkshire Integrated Care Board"}, "address": {"streetAddress": "197 Eyre Street", "locality": "Sheffield", "region": "UKE32", "postalCode": "S1 3FG", "countryName": "United Kingdom"}, "roles": ["buyer"]}], "buyer": {"id": "GB-FTS-113634", "name": "NHS South Yorkshire Integrated Care Board"}}"#;

    /// Find a Tender 075563-2026
    const FTS_PCS_LEGACY_AWARD: &str = r#"{"ocid": "ocds-h6vhtk-06dfbf", "id": "075563-2026", "date": "2026-08-10T09:56:54+01:00", "tag": ["award", "contract"], "description": "(SC Ref:839408)", "tender": {"id": "ocds-h6vhtk-06dfbf", "title": "0613454 Children's Residential Placement", "status": "complete", "classification": {"scheme": "CPV", "id": "80340000", "description": "Special education services"}, "mainProcurementCategory": "services", "description": "Children's Residential Placement", "lots": [{"id": "1", "description": "Children's Residential Placement"}], "items": [{"id": "1", "deliveryAddresses": [{"region": "UKM77"}], "relatedLot": "1"}], "procurementMethod": "limited"}, "awards": [{"id": "075563-2026-1", "relatedLots": ["1"], "status": "active", "suppliers": [{"id": "GB-FTS-185637", "name": "Ochil Tower School"}]}], "parties": [{"name": "The City of Edinburgh Council", "id": "GB-FTS-346", "identifier": {"legalName": "The City of Edinburgh Council"}, "address": {"streetAddress": "Waverley Court, 4 East Market Street", "locality": "Edinburgh", "region": "UKM75", "postalCode": "EH8 8BG", "countryName": "United Kingdom"}, "roles": ["buyer"]}, {"name": "Ochil Tower School", "id": "GB-FTS-185637", "identifier": {"legalName": "Ochil Tower School"}, "address": {"streetAddress": "140 High Street", "locality": "Auchterarder", "region": "UK", "postalCode": "PH3 1AD", "countryName": "United Kingdom"}, "roles": ["supplier"]}, {"name": "Sheriff Court", "id": "GB-FTS-19221", "identifier": {"legalName": "Sheriff Court"}, "address": {"streetAddress": "27 Chambers Street", "locality": "Edinburgh", "postalCode": "EH1 1LB", "countryName": "United Kingdom"}, "roles": ["reviewBody"]}], "buyer": {"id": "GB-FTS-346", "name": "The City of Edinburgh Council"}, "contracts": [{"id": "075563-2026-1", "awardID": "075563-2026-1", "status": "active", "value": {"amount": 302000, "currency": "GBP"}, "dateSigned": "2026-07-30T00:00:00+01:00"}]}"#;

    /// Contracts Finder 7d005747-1320-456e-b1fb-79919a74e44f-582356
    const CF_AWARD_UPDATE: &str = r#"{"ocid": "ocds-b5fd17-7d067852-1260-448e-b84a-186d028f9991", "id": "7d005747-1320-456e-b1fb-79919a74e44f-582356", "date": "2022-10-20T09:42:13+01:00", "tag": ["awardUpdate"], "tender": {"id": "CON-00000309: Peakon ApS Staff survey services", "title": "CON-00000309: Peakon ApS Staff survey services", "description": "The G-Cloud Call-off contract was awarded to one supplier", "status": "complete", "classification": {"scheme": "CPV", "id": "48000000", "description": "Software package and information systems"}, "items": [{"id": "1", "deliveryAddresses": [{"region": "London", "countryName": "United Kingdom"}]}], "minValue": {"amount": 36254.4, "currency": "GBP"}, "value": {"amount": 145017.8, "currency": "GBP"}, "procurementMethod": "selective", "tenderPeriod": {"endDate": "2020-10-16T23:59:59+01:00"}, "contractPeriod": {"startDate": "2020-10-22T00:00:00+01:00", "endDate": "2022-10-21T23:59:59+01:00"}, "suitability": {"sme": true, "vcse": false}, "mainProcurementCategory": "services"}, "parties": [{"id": "GB-SRS-sid4gov.cabinetoffice.gov.uk/FxGd77hQ", "name": "NURSING AND MIDWIFERY COUNCIL", "identifier": {"legalName": "NURSING AND MIDWIFERY COUNCIL", "scheme": "GB-SRS", "id": "sid4gov.cabinetoffice.gov.uk/FxGd77hQ"}, "address": {"streetAddress": "23 Portland Place", "locality": "LONDON", "postalCode": "W1B1PZ", "countryName": "England"}, "roles": ["buyer"]}, {"id": "GB-CFS-154774", "name": "Peakon ApS", "identifier": {"legalName": "Peakon ApS"}, "address": {"streetAddress": "Frederiksberggade 11, 1\nKbenhavn K\nHovedstaden\n1459\nDK"}, "roles": ["supplier"]}], "buyer": {"id": "GB-SRS-sid4gov.cabinetoffice.gov.uk/FxGd77hQ", "name": "NURSING AND MIDWIFERY COUNCIL"}, "awards": [{"id": "ocds-b5fd17-7d067852-1260-448e-b84a-186d028f9991-1", "status": "active", "date": "2020-10-16T00:00:00+01:00", "datePublished": "2020-11-10T11:04:19Z", "value": {"amount": 72508.8, "currency": "GBP"}, "suppliers": [{"id": "GB-CFS-154774", "name": "Peakon ApS"}], "contractPeriod": {"startDate": "2020-10-22T00:00:00+01:00", "endDate": "2022-10-21T23:59:59+01:00"}}]}"#;

    /// Contracts Finder 711f665b-3153-4f1f-b1e5-09394c6493af-582298
    const CF_TENDER: &str = r#"{"ocid": "ocds-b5fd17-5e6c6f29-9a57-42b3-a4dc-9828e51ad503", "id": "711f665b-3153-4f1f-b1e5-09394c6493af-582298", "date": "2022-10-19T20:11:34+01:00", "tag": ["tender"], "tender": {"id": "LINCOLN001-DN597016-38807030", "title": "Domestic Abuse Support Service", "description": "Lincolnshire County Council is undertaking procurement for a Domestic Abuse Support Service under the Light Touch Regime, pursuant to Regulation ...", "datePublished": "2022-10-19T20:11:34+01:00", "status": "active", "classification": {"scheme": "CPV", "id": "85300000", "description": "Social work and related services"}, "items": [{"id": "1", "deliveryAddresses": [{"region": "England", "countryName": "United Kingdom"}]}], "minValue": {"amount": 8275000, "currency": "GBP"}, "value": {"amount": 11000000, "currency": "GBP"}, "procurementMethod": "open", "tenderPeriod": {"endDate": "2022-11-17T23:59:59Z"}, "contractPeriod": {"startDate": "2023-04-01T00:00:00+01:00", "endDate": "2028-03-31T23:59:59+01:00"}, "suitability": {"sme": true, "vcse": true}, "mainProcurementCategory": "services"}, "parties": [{"id": "GB-CFS-51222", "name": "Lincolnshire County Council", "identifier": {"legalName": "Lincolnshire County Council"}, "address": {"streetAddress": "County Offices, Newland", "locality": "Lincoln", "postalCode": "LN1 1YL", "countryName": "United Kingdom"}, "roles": ["buyer"]}], "buyer": {"id": "GB-CFS-51222", "name": "Lincolnshire County Council"}}"#;

    /// Contracts Finder c80defc1-9081-4b74-a5b1-d85535d22a12-582109
    const CF_PLANNING: &str = r#"{"ocid": "ocds-b5fd17-04448330-49ca-432b-96b7-b9cfbed6d27b", "id": "c80defc1-9081-4b74-a5b1-d85535d22a12-582109", "date": "2022-10-19T18:36:35+01:00", "tag": ["planning"], "title": "Market Engagement Event: Safe Haven and Crisis Beds Services for NHS Derby & Derbyshire ICB", "planning": {"milestones": [{"id": "1", "title": "Engagement end date", "type": "engagement", "dueDate": "2022-11-10T23:59:59Z"}]}, "tender": {"id": "60274", "title": "Market Engagement Event: Safe Haven and Crisis Beds Services for NHS Derby & Derbyshire ICB", "description": "** THIS ADVERT IS FOR A MARKET ENGAGEMENT EVENT **\r\n\r\nNHS Derby & Derbyshire Integrated Care Board (ICB) is seeking to commission the provision of ...", "status": "planning", "classification": {"scheme": "CPV", "id": "85100000", "description": "Health services"}, "items": [{"id": "1", "deliveryAddresses": [{"region": "East Midlands", "countryName": "United Kingdom"}]}], "suitability": {"sme": true, "vcse": true}}, "parties": [{"id": "GB-SRS-sid4gov.cabinetoffice.gov.uk/Ways69eB", "name": "NHS Arden and GEM CSU", "identifier": {"legalName": "NHS Arden and GEM CSU", "scheme": "GB-SRS", "id": "sid4gov.cabinetoffice.gov.uk/Ways69eB"}, "address": {"streetAddress": "Cardinal Square, 10 Nottingham Road", "locality": "Derby", "postalCode": "DE13QT", "countryName": "England"}, "roles": ["buyer"]}], "buyer": {"id": "GB-SRS-sid4gov.cabinetoffice.gov.uk/Ways69eB", "name": "NHS Arden and GEM CSU"}}"#;

    /// Contracts Finder e99be172-d247-4296-8ad6-2b5026066142-582271
    const CF_AWARD: &str = r#"{"ocid": "ocds-b5fd17-1bb31fa6-dfa4-4d57-9ef1-6ed4bb8ee83b", "id": "e99be172-d247-4296-8ad6-2b5026066142-582271", "date": "2022-10-19T16:40:30+01:00", "tag": ["award"], "tender": {"id": "BRISTOLCC001-DN638845-62971258", "title": "CSI/CYP/Resi Placement - 530546", "description": "CSI/CYP/Resi Placement - 530546", "status": "complete", "classification": {"scheme": "CPV", "id": "80000000", "description": "Education and training services"}, "additionalClassifications": [{"scheme": "CPV", "id": "85000000", "description": "Health and social work services"}], "items": [{"id": "1", "deliveryAddresses": [{"region": "South West", "countryName": "United Kingdom"}]}], "value": {"amount": 235000, "currency": "GBP"}, "tenderPeriod": {"endDate": "2022-10-13T23:59:59+01:00"}, "contractPeriod": {"startDate": "2022-10-17T00:00:00+01:00", "endDate": "2023-03-31T23:59:59+01:00"}, "suitability": {"sme": true, "vcse": true}, "mainProcurementCategory": "services"}, "parties": [{"id": "GB-CFS-51922", "name": "Bristol City Council", "identifier": {"legalName": "Bristol City Council"}, "address": {"streetAddress": "City Hall, College Green", "locality": "Bristol", "postalCode": "BS1 5TR", "countryName": "United Kingdom"}, "roles": ["buyer"]}, {"id": "GB-CFS-224735", "name": "SEARCHLIGHT CARE SERVICES LIMITED", "identifier": {"legalName": "SEARCHLIGHT CARE SERVICES LIMITED"}, "address": {"streetAddress": "ST3 5XA"}, "roles": ["supplier"]}], "buyer": {"id": "GB-CFS-51922", "name": "Bristol City Council"}, "awards": [{"id": "ocds-b5fd17-1bb31fa6-dfa4-4d57-9ef1-6ed4bb8ee83b-1", "status": "active", "date": "2022-10-14T00:00:00+01:00", "datePublished": "2022-10-19T16:40:30+01:00", "value": {"amount": 235000, "currency": "GBP"}, "suppliers": [{"id": "GB-CFS-224735", "name": "SEARCHLIGHT CARE SERVICES LIMITED"}], "contractPeriod": {"startDate": "2022-10-17T00:00:00+01:00", "endDate": "2023-03-31T23:59:59+01:00"}}]}"#;

    /// Contracts Finder cbe8c5c5-929b-4fe1-9dc2-87125e4ad652-582257
    const CF_ENTITIES: &str = r#"{"ocid": "ocds-b5fd17-b9541ef8-1235-4765-b44f-d21ae154d761", "id": "cbe8c5c5-929b-4fe1-9dc2-87125e4ad652-582257", "date": "2022-10-19T16:14:05+01:00", "tag": ["award"], "tender": {"id": "tender_280074/1115910", "title": "HMPPS Norwich-A&apos;Wing Refurbishment-BPRN No.580/20/6189", "description": "HMPPS Norwich-A&apos;Wing Refurbishment-BPRN No.580/20/6189", "status": "complete", "classification": {"scheme": "CPV", "id": "45000000", "description": "Construction work"}, "items": [{"id": "1", "deliveryAddresses": [{"region": "East of England", "countryName": "United Kingdom"}, {"region": "London", "countryName": "United Kingdom"}]}], "value": {"amount": 22682504.94, "currency": "GBP"}, "procurementMethod": "selective", "tenderPeriod": {"endDate": "2021-11-17T23:59:59Z"}, "contractPeriod": {"startDate": "2022-11-03T00:00:00Z", "endDate": "2024-07-15T23:59:59+01:00"}, "suitability": {"sme": false, "vcse": false}, "mainProcurementCategory": "works"}, "parties": [{"id": "GB-CFS-224728", "name": "Ministry of Justice", "identifier": {"legalName": "Ministry of Justice"}, "address": {"streetAddress": "102 PETTY FRANCE", "locality": "LONDON", "postalCode": "SW1H 9AJ", "countryName": "England"}, "roles": ["buyer"]}, {"id": "GB-CFS-224729", "name": "Vinci Construction UK LTD", "identifier": {"legalName": "Vinci Construction UK LTD"}, "address": {"streetAddress": "RAINHAM, ESSEX RM13 8RH"}, "roles": ["supplier"]}], "buyer": {"id": "GB-CFS-224728", "name": "Ministry of Justice"}, "awards": [{"id": "ocds-b5fd17-b9541ef8-1235-4765-b44f-d21ae154d761-1", "status": "active", "date": "2022-10-11T00:00:00+01:00", "datePublished": "2022-10-19T16:14:05+01:00", "value": {"amount": 22682504.94, "currency": "GBP"}, "suppliers": [{"id": "GB-CFS-224729", "name": "Vinci Construction UK LTD"}], "contractPeriod": {"startDate": "2022-11-03T00:00:00Z", "endDate": "2024-07-15T23:59:59+01:00"}}]}"#;

    /// Synthetic process ocds-synth1-00000001: planning, tender, tenderUpdate, award, contract,
    /// contractAmendment, implementation, implementationUpdate.
    const SYNTH_RELEASES: &str = r#"{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-01-planning", "date": "2023-03-12T22:55:00Z", "tag": ["planning"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "planning": {"rationale": "Commissioning intention from the Manchester City Council children and young people's joint commissioning plan: parenting programmes.", "budget": {"id": "ocds-synth1-00000001-budget", "description": "Pooled budget (section 75 agreement)", "amount": {"amount": 518413.0, "currency": "GBP"}, "project": "Parenting programmes", "projectID": "CYP-001"}, "milestones": [{"id": "engagement", "title": "Market engagement event", "type": "engagement", "dueDate": "2023-04-02T22:55:00Z", "status": "scheduled"}]}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "planned", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services", "description": "Manchester City Council is commissioning a county-wide parenting programmes service for children, young people and their families. The service will work with ...", "items": [{"id": "1", "description": "Youth education services (county-wide)", "classification": {"scheme": "CPV", "id": "80310000", "description": "Youth education services"}}]}, "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-02-tender", "date": "2023-05-04T23:24:00Z", "tag": ["tender"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "active", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services", "description": "Manchester City Council is commissioning a county-wide parenting programmes service for children, young people and their families. The service will work with ...", "procurementMethod": "selective", "procurementMethodDetails": "Restricted procedure", "items": [{"id": "1", "description": "Youth education services (county-wide)", "classification": {"scheme": "CPV", "id": "80310000", "description": "Youth education services"}}], "tenderPeriod": {"startDate": "2023-04-01T15:43:00Z", "endDate": "2023-05-06T15:43:00Z"}, "contractPeriod": {"startDate": "2023-08-04T15:43:00Z", "endDate": "2024-08-03T15:43:00Z"}}, "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-03-tenderUpdate", "date": "2023-06-29T06:52:00Z", "tag": ["tenderUpdate"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "active", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services", "description": "Manchester City Council is commissioning a county-wide parenting programmes service for children, young people and their families. The service will work with ...", "procurementMethod": "selective", "procurementMethodDetails": "Restricted procedure", "items": [{"id": "1", "description": "Youth education services (county-wide)", "classification": {"scheme": "CPV", "id": "80310000", "description": "Youth education services"}}], "tenderPeriod": {"startDate": "2023-04-01T15:43:00Z", "endDate": "2023-05-13T15:43:00Z"}, "contractPeriod": {"startDate": "2023-08-11T15:43:00Z", "endDate": "2024-08-10T15:43:00Z"}}, "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-04-award", "date": "2023-08-10T10:50:00Z", "tag": ["award"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "complete", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services"}, "awards": [{"id": "ocds-synth1-00000001-award-1", "title": "Parenting programmes - county-wide", "status": "active", "date": "2023-08-10T10:50:00Z", "value": {"amount": 445270.0, "currency": "GBP"}, "suppliers": [{"id": "GB-COH-15987372", "name": "Horizon Family Services"}], "items": [{"id": "1", "description": "Youth education services (county-wide)", "classification": {"scheme": "CPV", "id": "80310000", "description": "Youth education services"}}]}], "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}, {"id": "GB-COH-15987372", "name": "Horizon Family Services", "identifier": {"scheme": "GB-COH", "id": "15987372", "legalName": "HORIZON FAMILY SERVICES"}, "address": {"streetAddress": "196 High Street", "locality": "Canterbury", "postalCode": "CT15 5JY", "countryName": "United Kingdom"}, "roles": ["supplier", "tenderer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-05-contract", "date": "2023-09-29T14:34:00Z", "tag": ["contract"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "complete", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services"}, "awards": [{"id": "ocds-synth1-00000001-award-1", "title": "Parenting programmes - county-wide", "status": "active", "date": "2023-08-10T10:50:00Z", "value": {"amount": 476023.0, "currency": "GBP"}, "suppliers": [{"id": "GB-COH-15987372", "name": "Horizon Family Services"}]}], "contracts": [{"id": "ocds-synth1-00000001-contract-1", "awardID": "ocds-synth1-00000001-award-1", "title": "Contract for parenting programmes - county-wide", "status": "active", "period": {"startDate": "2023-10-29T14:34:00Z", "endDate": "2024-10-28T14:34:00Z", "durationInDays": 365}, "value": {"amount": 478915.0, "currency": "GBP"}, "dateSigned": "2023-09-29T14:34:00Z"}], "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}, {"id": "GB-COH-15987372", "name": "Horizon Family Services", "identifier": {"scheme": "GB-COH", "id": "15987372", "legalName": "HORIZON FAMILY SERVICES"}, "address": {"streetAddress": "196 High Street", "locality": "Canterbury", "postalCode": "CT15 5JY", "countryName": "United Kingdom"}, "roles": ["supplier", "tenderer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-06-contractAmendment", "date": "2023-10-24T14:56:00Z", "tag": ["contractAmendment"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "complete", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services"}, "awards": [{"id": "ocds-synth1-00000001-award-1", "title": "Parenting programmes - county-wide", "status": "active", "date": "2023-08-10T10:50:00Z", "value": {"amount": 450490.0, "currency": "GBP"}, "suppliers": [{"id": "GB-COH-15987372", "name": "Horizon Family Services"}]}], "contracts": [{"id": "ocds-synth1-00000001-contract-1", "awardID": "ocds-synth1-00000001-award-1", "title": "Contract for parenting programmes - county-wide", "status": "active", "period": {"startDate": "2023-10-29T14:34:00Z", "endDate": "2024-10-28T14:34:00Z", "durationInDays": 365}, "value": {"amount": 543100.0, "currency": "GBP"}, "dateSigned": "2023-09-29T14:34:00Z"}], "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}, {"id": "GB-COH-15987372", "name": "Horizon Family Services", "identifier": {"scheme": "GB-COH", "id": "15987372", "legalName": "HORIZON FAMILY SERVICES"}, "address": {"streetAddress": "196 High Street", "locality": "Canterbury", "postalCode": "CT15 5JY", "countryName": "United Kingdom"}, "roles": ["supplier", "tenderer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-07-implementation", "date": "2023-12-05T16:38:00Z", "tag": ["implementation"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "complete", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services"}, "awards": [{"id": "ocds-synth1-00000001-award-1", "title": "Parenting programmes - county-wide", "status": "active", "date": "2023-08-10T10:50:00Z", "value": {"amount": 433436.0, "currency": "GBP"}, "suppliers": [{"id": "GB-COH-15987372", "name": "Horizon Family Services"}]}], "contracts": [{"id": "ocds-synth1-00000001-contract-1", "awardID": "ocds-synth1-00000001-award-1", "title": "Contract for parenting programmes - county-wide", "status": "active", "period": {"startDate": "2023-10-29T14:34:00Z", "endDate": "2024-10-28T14:34:00Z", "durationInDays": 365}, "value": {"amount": 543100.0, "currency": "GBP"}, "dateSigned": "2023-09-29T14:34:00Z", "implementation": {"transactions": [{"id": "ocds-synth1-00000001-txn-1", "source": "https://example.gov.uk/spend/2023/12.csv", "date": "2023-10-11T16:38:00Z", "value": {"amount": 18644.0, "currency": "GBP"}, "payer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "payee": {"id": "GB-COH-15987372", "name": "Horizon Family Services"}, "uri": "https://example.gov.uk/spend/transactions/1-1"}, {"id": "ocds-synth1-00000001-txn-2", "source": "https://example.gov.uk/spend/2023/12.csv", "date": "2023-10-19T16:38:00Z", "value": {"amount": 20866.0, "currency": "GBP"}, "payer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "payee": {"id": "GB-COH-15987372", "name": "Horizon Family Services"}, "uri": "https://example.gov.uk/spend/transactions/1-2"}], "milestones": [{"id": "kpi-1", "title": "Average waiting time from referral to first appointment (weeks)", "type": "reporting", "status": "met", "dueDate": "2024-01-27T14:34:00Z", "description": "Quarterly target: 60%"}]}}], "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}, {"id": "GB-COH-15987372", "name": "Horizon Family Services", "identifier": {"scheme": "GB-COH", "id": "15987372", "legalName": "HORIZON FAMILY SERVICES"}, "address": {"streetAddress": "196 High Street", "locality": "Canterbury", "postalCode": "CT15 5JY", "countryName": "United Kingdom"}, "roles": ["supplier", "tenderer"]}]}
{"ocid": "ocds-synth1-00000001", "id": "ocds-synth1-00000001-08-implementationUpdate", "date": "2024-01-13T19:52:00Z", "tag": ["implementationUpdate"], "buyer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "tender": {"id": "ocds-synth1-00000001-tender", "title": "Parenting programmes - county-wide", "status": "complete", "value": {"amount": 493727.0, "currency": "GBP"}, "mainProcurementCategory": "services"}, "awards": [{"id": "ocds-synth1-00000001-award-1", "title": "Parenting programmes - county-wide", "status": "active", "date": "2023-08-10T10:50:00Z", "value": {"amount": 442135.0, "currency": "GBP"}, "suppliers": [{"id": "GB-COH-15987372", "name": "Horizon Family Services"}]}], "contracts": [{"id": "ocds-synth1-00000001-contract-1", "awardID": "ocds-synth1-00000001-award-1", "title": "Contract for parenting programmes - county-wide", "status": "active", "period": {"startDate": "2023-10-29T14:34:00Z", "endDate": "2024-10-28T14:34:00Z", "durationInDays": 365}, "value": {"amount": 543100.0, "currency": "GBP"}, "dateSigned": "2023-09-29T14:34:00Z", "implementation": {"transactions": [{"id": "ocds-synth1-00000001-txn-1", "source": "https://example.gov.uk/spend/2023/12.csv", "date": "2023-10-11T16:38:00Z", "value": {"amount": 18644.0, "currency": "GBP"}, "payer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "payee": {"id": "GB-COH-15987372", "name": "Horizon Family Services"}, "uri": "https://example.gov.uk/spend/transactions/1-1"}, {"id": "ocds-synth1-00000001-txn-2", "source": "https://example.gov.uk/spend/2023/12.csv", "date": "2023-10-19T16:38:00Z", "value": {"amount": 20866.0, "currency": "GBP"}, "payer": {"id": "GB-GOR-PB1003", "name": "Manchester City Council"}, "payee": {"id": "GB-COH-15987372", "name": "Horizon Family Services"}, "uri": "https://example.gov.uk/spend/transactions/1-2"}], "milestones": [{"id": "kpi-1", "title": "Average waiting time from referral to first appointment (weeks)", "type": "reporting", "status": "met", "dueDate": "2024-01-27T14:34:00Z", "description": "Quarterly target: 60%"}]}}], "parties": [{"id": "GB-GOR-PB1003", "name": "Manchester City Council", "identifier": {"scheme": "GB-GOR", "id": "PB1003", "legalName": "Manchester City Council"}, "address": {"locality": "Manchester", "postalCode": "M60 2LA", "region": "North West", "countryName": "United Kingdom"}, "roles": ["buyer", "procuringEntity", "payer"]}, {"id": "GB-COH-15987372", "name": "Horizon Family Services", "identifier": {"scheme": "GB-COH", "id": "15987372", "legalName": "HORIZON FAMILY SERVICES"}, "address": {"streetAddress": "196 High Street", "locality": "Canterbury", "postalCode": "CT15 5JY", "countryName": "United Kingdom"}, "roles": ["supplier", "tenderer"]}]}
"#;

    fn compiled_prefix(n: usize) -> Value {
        let rules =
            ocds::merge::MergeRules::from_schema(ocds::validate::Schema::core().release_schema())
                .expect("core merge rules");
        let releases: Vec<Value> = SYNTH_RELEASES.lines().take(n).map(parse).collect();
        ocds::merge::compile(&rules, releases)
            .expect("synthetic releases merge")
            .release
    }

    // --- stage and status --------------------------------------------------------------

    #[test]
    fn compiled_synthetic_process_moves_through_every_stage() {
        let expected = [
            pair("planning", Some("planned")),
            pair("tender", Some("active")),
            pair("tender", Some("active")),
            pair("award", Some("active")),
            pair("contract", Some("active")),
            pair("contract", Some("active")),
            pair("implementation", Some("active")),
            pair("implementation", Some("active")),
        ];
        assert_eq!(SYNTH_RELEASES.lines().count(), expected.len());
        for (n, want) in expected.into_iter().enumerate() {
            let compiled = compiled_prefix(n + 1);
            assert_eq!(
                stage_and_status(&compiled),
                want,
                "after {} releases",
                n + 1
            );
        }
    }

    #[test]
    fn compiled_synthetic_process_columns() {
        let planning = summarise(&compiled_prefix(1));
        assert_eq!(
            planning.title.as_deref(),
            Some("Parenting programmes - county-wide")
        );
        // The tender's estimate beats the planning budget.
        assert_eq!(planning.value_amount, Some(493727.0));
        assert_eq!(planning.published_at, Some(at_utc("2023-03-12 22:55:00")));
        assert_eq!(planning.tender_deadline, None);

        let done = summarise(&compiled_prefix(8));
        assert_eq!(done.buyer_org_id.as_deref(), Some("GB-GOR-PB1003"));
        assert_eq!(done.supplier_org_ids, strings(&["GB-COH-15987372"]));
        assert_eq!(
            done.party_org_ids,
            strings(&["GB-COH-15987372", "GB-GOR-PB1003"])
        );
        // The contract's value (after amendment), not the award's or the tender's.
        assert_eq!(done.value_amount, Some(543100.0));
        assert_eq!(done.value_currency.as_deref(), Some("GBP"));
        assert_eq!(done.published_at, Some(at_utc("2024-01-13 19:52:00")));
        // The tenderUpdate moved the deadline by a week.
        assert_eq!(done.tender_deadline, Some(at_utc("2023-05-13 15:43:00")));
        assert_eq!(done.contract_start, Some(at_utc("2023-10-29 14:34:00")));
        assert_eq!(done.contract_end, Some(at_utc("2024-10-28 14:34:00")));
        assert_eq!(done.cpv_codes, strings(&["80310000"]));
        assert_eq!(
            done.service_category.as_deref(),
            Some("Youth education services")
        );
        assert_eq!(done.delivery_area.as_deref(), Some("North West"));
        assert_eq!((done.vcse_suitable, done.sme_suitable), (None, None));
    }

    #[test]
    fn stage_is_the_furthest_section_present() {
        let mut r = json!({"planning": {"rationale": "Need for more foster carers"}});
        assert_eq!(stage_and_status(&r), pair("planning", None));

        r["tender"] = json!({"id": "t1", "title": "Fostering", "status": "active"});
        assert_eq!(stage_and_status(&r), pair("tender", Some("active")));

        r["awards"] = json!([{"id": "a1", "status": "pending"}]);
        assert_eq!(stage_and_status(&r), pair("award", Some("pending")));

        r["contracts"] = json!([{"id": "c1", "status": "pending"}]);
        assert_eq!(stage_and_status(&r), pair("contract", Some("pending")));

        // An empty implementation shell is no implementation.
        r["contracts"][0]["implementation"] = json!({"transactions": [], "milestones": null});
        assert_eq!(stage_and_status(&r), pair("contract", Some("pending")));

        r["contracts"][0]["status"] = json!("active");
        r["contracts"][0]["implementation"] =
            json!({"transactions": [{"id": "t1", "value": {"amount": 10, "currency": "GBP"}}]});
        assert_eq!(stage_and_status(&r), pair("implementation", Some("active")));
    }

    #[test]
    fn planning_and_tender_edge_cases() {
        // A tender section whose status says it is still planned is an intention.
        let planned = json!({"tender": {"id": "t", "title": "Short breaks", "status": "planned",
            "tenderPeriod": {"endDate": "2027-01-01"}}});
        assert_eq!(
            stage_and_status(&planned),
            pair("planning", Some("planned"))
        );
        // Only the tag says planning (a single release summarised as is): no status to give.
        let tagged = json!({"tag": ["planning"]});
        assert_eq!(stage_and_status(&tagged), pair("planning", None));
        let period_only = json!({"tender": {"tenderPeriod": {"endDate": "2027-01-01T12:00:00Z"}}});
        assert_eq!(stage_and_status(&period_only), pair("tender", None));
        let cancelled = json!({"tender": {"id": "t", "status": "cancelled"}});
        assert_eq!(
            stage_and_status(&cancelled),
            pair("tender", Some("cancelled"))
        );
        // Nothing that says where the process is.
        let bare = json!({"ocid": "ocds-x-1", "tender": {"items": []}, "planning": {}});
        assert_eq!(stage_and_status(&bare), (None, None));
        // `{}` entries left in arrays are not awards.
        let empty_awards = json!({"awards": [{}], "tender": {"id": "t", "status": "active"}});
        assert_eq!(
            stage_and_status(&empty_awards),
            pair("tender", Some("active"))
        );
    }

    #[test]
    fn status_is_the_last_stated_one_at_that_stage() {
        let r = json!({"contracts": [
            {"id": "1", "status": "active"},
            {"id": "2", "status": "terminated"},
            {"id": "3"}
        ]});
        assert_eq!(stage_and_status(&r), pair("contract", Some("terminated")));
        let r = json!({"awards": [{"id": "1", "status": "active"}, {"id": "2", "status": "  "}]});
        assert_eq!(stage_and_status(&r), pair("award", Some("active")));
    }

    #[test]
    fn fts_notices_stage_and_status() {
        let cases = [
            (FTS_UK1_PIPELINE, pair("planning", Some("planned"))),
            (FTS_PSR_PLANNING, pair("planning", Some("planned"))),
            (FTS_UK4_TENDER, pair("tender", Some("active"))),
            (FTS_UK5_PENDING_AWARD, pair("award", Some("pending"))),
            (FTS_UK7_CONTRACTS, pair("contract", Some("active"))),
            (FTS_PCS_LEGACY_AWARD, pair("contract", Some("active"))),
            // UK12: the award stub stays, the contract is cancelled.
            (FTS_UK12_CANCELLATION, pair("contract", Some("cancelled"))),
            // UK9: KPI ratings in implementation.metrics; the contract states no status.
            (FTS_UK9_PERFORMANCE, pair("implementation", None)),
        ];
        for (fixture, want) in cases {
            let r = parse(fixture);
            assert_eq!(stage_and_status(&r), want, "{}", r["id"]);
        }
    }

    #[test]
    fn contracts_finder_stage_and_status() {
        assert_eq!(
            stage_and_status(&parse(CF_PLANNING)),
            pair("planning", Some("planning"))
        );
        assert_eq!(
            stage_and_status(&parse(CF_TENDER)),
            pair("tender", Some("active"))
        );
        assert_eq!(
            stage_and_status(&parse(CF_AWARD)),
            pair("award", Some("active"))
        );
        assert_eq!(
            stage_and_status(&parse(CF_AWARD_UPDATE)),
            pair("award", Some("active"))
        );
    }

    // --- whole FTS / Contracts Finder notices -------------------------------------------

    #[test]
    fn fts_pipeline_notice() {
        let s = summarise(&parse(FTS_UK1_PIPELINE));
        assert_eq!(
            s.title.as_deref(),
            Some("Experts at Hand: Occupational Therapy Inclusion & Participation Service")
        );
        assert!(
            s.description
                .as_deref()
                .unwrap()
                .starts_with("Norfolk County Council (NCC)")
        );
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-PPON-PDYH-3246-XWTR"));
        assert_eq!(s.party_org_ids, strings(&["GB-PPON-PDYH-3246-XWTR"]));
        assert!(s.supplier_org_ids.is_empty());
        // Net amount, not amountGross (4060716).
        assert_eq!(s.value_amount, Some(3_383_930.0));
        assert_eq!(s.value_currency.as_deref(), Some("GBP"));
        assert_eq!(s.published_at, Some(at_utc("2026-08-12 10:56:48")));
        assert_eq!(s.tender_deadline, None);
        // Only the lot carries the contract period on pipeline notices.
        assert_eq!(s.contract_start, Some(at_utc("2027-01-04 00:00:00")));
        assert_eq!(s.contract_end, Some(at_utc("2029-03-31 22:59:59")));
        assert_eq!(s.cpv_codes, strings(&["85323000"]));
        assert_eq!(
            s.service_category.as_deref(),
            Some("Community health services")
        );
        assert_eq!(s.delivery_area.as_deref(), Some("UKH15"));
        assert_eq!(s.vcse_suitable, Some(true));
        assert_eq!(s.sme_suitable, Some(true));
    }

    #[test]
    fn fts_tender_notice() {
        let s = summarise(&parse(FTS_UK4_TENDER));
        assert_eq!(
            s.title.as_deref(),
            Some("Young Carers services across Camden and Islington")
        );
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-PPON-PZXL-5842-VBBG"));
        assert_eq!(
            s.party_org_ids,
            strings(&["GB-PPON-PBMD-2513-CWJJ", "GB-PPON-PZXL-5842-VBBG"])
        );
        assert_eq!(s.value_amount, Some(968_792.0));
        // 14:00 BST is 13:00 UTC.
        assert_eq!(s.tender_deadline, Some(at_utc("2026-09-10 13:00:00")));
        assert_eq!(s.contract_start, Some(at_utc("2027-02-01 00:00:00")));
        // endDate, not maxExtentDate (2032).
        assert_eq!(s.contract_end, Some(at_utc("2030-01-31 23:59:59")));
        assert_eq!(s.cpv_codes, strings(&["85000000"]));
        // No delivery address on the items: the buyer's region.
        assert_eq!(s.delivery_area.as_deref(), Some("UKI31"));
        assert_eq!((s.vcse_suitable, s.sme_suitable), (Some(true), Some(true)));
    }

    #[test]
    fn fts_transparency_notice_with_pending_award() {
        let s = summarise(&parse(FTS_UK5_PENDING_AWARD));
        assert_eq!(s.supplier_org_ids, strings(&["GB-PPON-PCWQ-8195-XCJW"]));
        assert_eq!(s.value_amount, Some(39_727.0));
        assert_eq!(s.contract_start, Some(at_utc("2026-09-01 23:00:00")));
        assert_eq!(s.contract_end, Some(at_utc("2028-09-01 22:59:59")));
        // CPV and place only on the award's items.
        assert_eq!(s.cpv_codes, strings(&["85311300"]));
        assert_eq!(
            s.service_category.as_deref(),
            Some("Welfare services for children and young people")
        );
        assert_eq!(s.delivery_area.as_deref(), Some("UKI34"));
        // The lot says VCSE only; SME suitability is not stated.
        assert_eq!((s.vcse_suitable, s.sme_suitable), (Some(true), None));
    }

    #[test]
    fn fts_contract_details_notice() {
        let s = summarise(&parse(FTS_UK7_CONTRACTS));
        assert_eq!(s.title.as_deref(), Some("Carers Support Services"));
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-PPON-PYBQ-4733-WWLW"));
        assert_eq!(s.supplier_org_ids, strings(&["GB-COH-03130902"]));
        assert_eq!(
            s.party_org_ids,
            strings(&["GB-COH-03130902", "GB-PPON-PYBQ-4733-WWLW"])
        );
        // Two lots' contracts: 1,015,560 + 404,500.
        assert_eq!(s.value_amount, Some(1_420_060.0));
        assert_eq!(s.value_currency.as_deref(), Some("GBP"));
        assert_eq!(s.contract_start, Some(at_utc("2026-07-16 23:00:00")));
        assert_eq!(s.contract_end, Some(at_utc("2029-04-30 22:59:59")));
        assert_eq!(s.cpv_codes, strings(&["85320000"]));
        assert_eq!(s.delivery_area.as_deref(), Some("UKC22"));
    }

    #[test]
    fn fts_performance_notice_without_buyer_reference() {
        let s = summarise(&parse(FTS_UK9_PERFORMANCE));
        // No `buyer` object at all: the party with the buyer role.
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-PPON-PDZG-3487-DPVD"));
        assert_eq!(
            s.title.as_deref(),
            Some("School Teacher Recruitment Marketing Campaign")
        );
        assert_eq!(s.delivery_area.as_deref(), Some("UKI32"));
        assert_eq!((s.value_amount, s.value_currency), (None, None));
    }

    #[test]
    fn fts_procurement_termination_has_no_value() {
        let s = summarise(&parse(FTS_UK12_CANCELLATION));
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-PPON-PVHW-2176-TRVQ"));
        assert_eq!(s.value_amount, None);
        assert!(s.supplier_org_ids.is_empty());
    }

    #[test]
    fn fts_legacy_notices_use_tender_classification() {
        let s = summarise(&parse(FTS_PCS_LEGACY_AWARD));
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-FTS-346"));
        assert_eq!(s.supplier_org_ids, strings(&["GB-FTS-185637"]));
        assert_eq!(
            s.party_org_ids,
            strings(&["GB-FTS-185637", "GB-FTS-19221", "GB-FTS-346"])
        );
        assert_eq!(s.value_amount, Some(302_000.0));
        assert_eq!(s.cpv_codes, strings(&["80340000"]));
        assert_eq!(
            s.service_category.as_deref(),
            Some("Special education services")
        );
        assert_eq!(
            s.description.as_deref(),
            Some("Children's Residential Placement")
        );
        assert_eq!(s.delivery_area.as_deref(), Some("UKM77"));

        let psr = summarise(&parse(FTS_PSR_PLANNING));
        // tender.classification first, then the items' additional classifications.
        assert_eq!(psr.cpv_codes, strings(&["85120000", "85121291"]));
        assert_eq!(
            psr.service_category.as_deref(),
            Some("Medical practice and related services")
        );
        assert_eq!(psr.delivery_area.as_deref(), Some("UKE3"));
        assert_eq!(psr.value_amount, Some(330_000.0));
        assert_eq!((psr.vcse_suitable, psr.sme_suitable), (None, None));
    }

    #[test]
    fn contracts_finder_notices() {
        let award = summarise(&parse(CF_AWARD_UPDATE));
        // The award's value, not the framework's tender value (145017.8).
        assert_eq!(award.value_amount, Some(72_508.8));
        assert_eq!(
            award.buyer_org_id.as_deref(),
            Some("GB-SRS-sid4gov.cabinetoffice.gov.uk/FxGd77hQ")
        );
        assert_eq!(award.supplier_org_ids, strings(&["GB-CFS-154774"]));
        assert_eq!(award.tender_deadline, Some(at_utc("2020-10-16 22:59:59")));
        assert_eq!(award.contract_start, Some(at_utc("2020-10-21 23:00:00")));
        assert_eq!(award.contract_end, Some(at_utc("2022-10-21 22:59:59")));
        assert_eq!(award.delivery_area.as_deref(), Some("London"));
        assert_eq!(
            (award.vcse_suitable, award.sme_suitable),
            (Some(false), Some(true))
        );

        let tender = summarise(&parse(CF_TENDER));
        // value, not minValue.
        assert_eq!(tender.value_amount, Some(11_000_000.0));
        assert_eq!(tender.tender_deadline, Some(at_utc("2022-11-17 23:59:59")));
        assert_eq!(tender.cpv_codes, strings(&["85300000"]));

        let multi = summarise(&parse(CF_AWARD));
        // Tender-level additionalClassifications count too.
        assert_eq!(multi.cpv_codes, strings(&["80000000", "85000000"]));
        assert_eq!(
            multi.service_category.as_deref(),
            Some("Education and training services")
        );

        let planning = summarise(&parse(CF_PLANNING));
        assert_eq!(
            planning.title.as_deref(),
            Some(
                "Market Engagement Event: Safe Haven and Crisis Beds Services for NHS Derby & Derbyshire ICB"
            )
        );
        assert_eq!(planning.delivery_area.as_deref(), Some("East Midlands"));
        assert_eq!(planning.value_amount, None);
    }

    // --- organisations -------------------------------------------------------------------

    #[test]
    fn org_id_resolution() {
        // Already an org-id.
        assert_eq!(
            org_id(&json!({"id": "GB-LAE-MAN"})).as_deref(),
            Some("GB-LAE-MAN")
        );
        assert_eq!(
            org_id(&json!({"id": " GB-NHS-QUY ", "identifier": {"scheme": "GB-PPON", "id": "X"}}))
                .as_deref(),
            Some("GB-NHS-QUY")
        );
        // Opaque id: the identifier decides.
        let opaque = json!({"id": "buyer-1", "identifier": {"scheme": "GB-COH", "id": "01234567"}});
        assert_eq!(org_id(&opaque).as_deref(), Some("GB-COH-01234567"));
        // An identifier id that already carries its scheme is not prefixed twice.
        let prefixed =
            json!({"id": "7", "identifier": {"scheme": "GB-CHC", "id": "GB-CHC-1234567"}});
        assert_eq!(org_id(&prefixed).as_deref(), Some("GB-CHC-1234567"));
        // No usable identifier: an additional identifier that makes an org-id.
        let additional = json!({"id": "la-man-1", "identifier": {"legalName": "Manchester"},
            "additionalIdentifiers": [{"scheme": "internal", "id": "9"}, {"scheme": "GB-LAE", "id": "MAN"}]});
        assert_eq!(org_id(&additional).as_deref(), Some("GB-LAE-MAN"));
        // Nothing better: the id as published; numeric ids as written.
        assert_eq!(
            org_id(&json!({"id": "la-man-1"})).as_deref(),
            Some("la-man-1")
        );
        assert_eq!(org_id(&json!({"id": 42})).as_deref(), Some("42"));
        // Missing.
        assert_eq!(org_id(&json!({"name": "Someone"})), None);
        assert_eq!(
            org_id(&json!({"id": "  ", "identifier": {"id": "123"}})),
            None
        );
        assert_eq!(org_id(&json!("GB-LAE-MAN")), None);
        assert_eq!(org_id(&Value::Null), None);
        assert_eq!(org_id(&json!([{"id": "GB-LAE-MAN"}])), None);
    }

    #[test]
    fn org_id_shape() {
        for yes in [
            "GB-COH-01234567",
            "GB-PPON-PDYH-3246-XWTR",
            "XI-LEI-5493001KJTIIGC8Y1R12",
            "GB-UKPRN-10000000",
        ] {
            assert!(is_org_id(yes), "{yes}");
        }
        for no in [
            "buyer-1",
            "la-man-1",
            "GB-COH-",
            "GB-COH",
            "gb-coh-123",
            "G-COH-1",
            "GB-12-3",
            "GB-COH-12 34",
            "",
        ] {
            assert!(!is_org_id(no), "{no}");
        }
    }

    #[test]
    fn buyer_resolution() {
        // buyer.id already an org-id.
        let r = json!({"buyer": {"id": "GB-LAE-MAN", "name": "Manchester"}, "parties": []});
        assert_eq!(summarise(&r).buyer_org_id.as_deref(), Some("GB-LAE-MAN"));
        // buyer.id opaque, resolved through its party's identifier.
        let r = json!({
            "buyer": {"id": "org-1", "name": "Kent County Council"},
            "parties": [
                {"id": "org-2", "roles": ["supplier"], "identifier": {"scheme": "GB-CHC", "id": "1100001"}},
                {"id": "org-1", "roles": ["buyer"], "identifier": {"scheme": "GB-COH", "id": "01234567"}}
            ],
            "awards": [{"id": "a", "status": "active", "suppliers": [{"id": "org-2"}]}]
        });
        let s = summarise(&r);
        assert_eq!(s.buyer_org_id.as_deref(), Some("GB-COH-01234567"));
        assert_eq!(s.supplier_org_ids, strings(&["GB-CHC-1100001"]));
        assert_eq!(
            s.party_org_ids,
            strings(&["GB-CHC-1100001", "GB-COH-01234567"])
        );
        // buyer.id opaque and not among the parties: kept as published.
        let r = json!({"buyer": {"id": "org-9"}, "parties": [{"id": "org-1", "roles": ["buyer"]}]});
        let s = summarise(&r);
        assert_eq!(s.buyer_org_id.as_deref(), Some("org-9"));
        assert_eq!(s.party_org_ids, strings(&["org-1", "org-9"]));
        // Missing everywhere.
        let r = json!({"buyer": {"name": "Unknown"}, "parties": [{"id": "GB-COH-1", "roles": ["supplier"]}]});
        assert_eq!(summarise(&r).buyer_org_id, None);
        assert_eq!(
            summarise(&json!({"tender": {"id": "t"}})).buyer_org_id,
            None
        );
    }

    #[test]
    fn suppliers_are_awarded_ones_only() {
        let r = json!({
            "parties": [
                {"id": "GB-COH-1", "roles": ["tenderer"]},
                {"id": "GB-COH-2", "roles": ["supplier"]},
                {"id": "GB-COH-3", "roles": ["removedSupplier"]},
                {"id": "GB-COH-4", "roles": ["tenderer"]}
            ],
            "awards": [
                {"id": "1", "status": "active", "suppliers": [{"id": "GB-COH-2"}, {"id": "GB-CHC-9"}]},
                {"id": "2", "status": "unsuccessful", "suppliers": [{"id": "GB-COH-4"}]},
                {"id": "3", "suppliers": "not a list"}
            ]
        });
        let s = summarise(&r);
        assert_eq!(s.supplier_org_ids, strings(&["GB-CHC-9", "GB-COH-2"]));
        assert_eq!(
            s.party_org_ids,
            strings(&["GB-CHC-9", "GB-COH-1", "GB-COH-2", "GB-COH-3", "GB-COH-4"])
        );
    }

    // --- classification ------------------------------------------------------------------

    #[test]
    fn cpv_codes_lose_check_digits_and_repeat_once() {
        let r = json!({
            "tender": {
                "classification": {"scheme": "CPV", "id": "85311300-5", "description": "Welfare services for children and young people"},
                "items": [
                    {"id": "1", "classification": {"scheme": "cpv", "id": "85311300"},
                     "additionalClassifications": [
                        {"scheme": "CPV", "id": "85312400-3"},
                        {"scheme": "UNSPSC", "id": "85101500"},
                        {"scheme": "CPVS", "id": "TA01-6"},
                        {"scheme": "CPV", "id": 80310000},
                        {"scheme": "CPV", "id": ""},
                        "85000000"
                     ]},
                    {"id": "2", "classification": null}
                ]
            },
            "contracts": [{"id": "c", "items": [{"classification": {"scheme": "CPV", "id": "85312400"}}]}]
        });
        let s = summarise(&r);
        assert_eq!(s.cpv_codes, strings(&["80310000", "85311300", "85312400"]));
        assert_eq!(
            s.service_category.as_deref(),
            Some("Welfare services for children and young people")
        );
        assert_eq!(strip_check_digit("85311300-5"), "85311300");
        assert_eq!(strip_check_digit("85311300"), "85311300");
        assert_eq!(strip_check_digit("-5"), "-5");
        assert_eq!(strip_check_digit("8531-12"), "8531-12");
    }

    #[test]
    fn service_category_skips_unlabelled_codes() {
        let r = json!({"tender": {
            "classification": {"scheme": "CPV", "id": "85311300"},
            "items": [{"classification": {"scheme": "CPV", "id": "80310000", "description": " Youth education services "}}]
        }});
        assert_eq!(
            summarise(&r).service_category.as_deref(),
            Some("Youth education services")
        );
    }

    #[test]
    fn delivery_area_fallbacks() {
        let locality =
            json!({"tender": {"items": [{"deliveryAddresses": [{"locality": "Leeds"}]}]}});
        assert_eq!(summarise(&locality).delivery_area.as_deref(), Some("Leeds"));
        let location = json!({"tender": {"items": [
            {"deliveryAddresses": [{"postalCode": "B69 9EN"}]},
            {"deliveryLocation": {"description": "Doncaster"}}
        ]}});
        assert_eq!(
            summarise(&location).delivery_area.as_deref(),
            Some("Doncaster")
        );
        let locations =
            json!({"tender": {"items": [{"deliveryLocations": [{"description": "Kent"}]}]}});
        assert_eq!(summarise(&locations).delivery_area.as_deref(), Some("Kent"));
        let buyer = json!({
            "buyer": {"id": "GB-LAE-KEN"},
            "parties": [{"id": "GB-LAE-KEN", "roles": ["buyer"], "address": {"region": "South East"}}]
        });
        assert_eq!(
            summarise(&buyer).delivery_area.as_deref(),
            Some("South East")
        );
    }

    #[test]
    fn suitability_flags() {
        let lots = json!({"tender": {"lots": [
            {"id": "1", "suitability": {"sme": false, "vcse": false}},
            {"id": "2", "suitability": {"sme": true}}
        ]}});
        let s = summarise(&lots);
        assert_eq!((s.vcse_suitable, s.sme_suitable), (Some(false), Some(true)));
        let tender_level = json!({"tender": {"suitability": {"vcse": true, "sme": "yes"}}});
        let s = summarise(&tender_level);
        assert_eq!((s.vcse_suitable, s.sme_suitable), (Some(true), None));
        // A supplier's own VCSE status is not the tender's suitability.
        let party =
            json!({"parties": [{"id": "GB-COH-1", "details": {"vcse": true, "scale": "sme"}}]});
        let s = summarise(&party);
        assert_eq!((s.vcse_suitable, s.sme_suitable), (None, None));
    }

    // --- value -----------------------------------------------------------------------------

    #[test]
    fn value_sums_contracts_then_awards_then_tender_then_budget() {
        let mut r = json!({
            "planning": {"budget": {"amount": {"amount": 1000, "currency": "gbp"}}},
        });
        let value = |r: &Value| {
            let s = summarise(r);
            (s.value_amount, s.value_currency)
        };
        assert_eq!(value(&r), (Some(1000.0), Some("GBP".to_owned())));

        r["tender"] = json!({"lots": [
            {"value": {"amount": 300, "currency": "GBP"}},
            {"value": {"amount": 200.5, "currency": "GBP"}}
        ]});
        assert_eq!(value(&r), (Some(500.5), Some("GBP".to_owned())));

        r["tender"]["value"] = json!({"amount": "1,250.75", "currency": "GBP"});
        assert_eq!(value(&r), (Some(1250.75), Some("GBP".to_owned())));

        r["awards"] = json!([
            {"id": "1", "status": "active", "value": {"amount": 100, "currency": "GBP"}},
            {"id": "2", "status": "pending", "value": {"amount": 50, "currency": "GBP"}},
            {"id": "3", "status": "cancelled", "value": {"amount": 9999, "currency": "GBP"}},
            {"id": "4", "status": "unsuccessful", "value": {"amount": 9999, "currency": "EUR"}}
        ]);
        assert_eq!(value(&r), (Some(150.0), Some("GBP".to_owned())));

        // Contracts without amounts (gross only) leave the awards' figure.
        r["contracts"] = json!([{"id": "1", "value": {"amountGross": 120, "currency": "GBP"}}]);
        assert_eq!(value(&r), (Some(150.0), Some("GBP".to_owned())));

        r["contracts"] = json!([
            {"id": "1", "status": "active", "value": {"amount": 80, "currency": "GBP"}},
            {"id": "2", "status": "terminated", "value": {"amount": 20, "currency": "GBP"}},
            {"id": "3", "status": "cancelled", "value": {"amount": 5000, "currency": "USD"}}
        ]);
        assert_eq!(value(&r), (Some(100.0), Some("GBP".to_owned())));
    }

    #[test]
    fn mixed_currencies_give_no_value() {
        let r = json!({
            "contracts": [
                {"id": "1", "value": {"amount": 100, "currency": "GBP"}},
                {"id": "2", "value": {"amount": 100, "currency": "EUR"}}
            ],
            "tender": {"value": {"amount": 500, "currency": "GBP"}}
        });
        let s = summarise(&r);
        assert_eq!((s.value_amount, s.value_currency), (None, None));
        // A currency on one value but not the other is no common currency either.
        let r = json!({"awards": [
            {"id": "1", "value": {"amount": 100, "currency": "GBP"}},
            {"id": "2", "value": {"amount": 100}}
        ]});
        assert_eq!(summarise(&r).value_amount, None);
        // No currency anywhere: the amount, currency unknown.
        let r = json!({"tender": {"id": "t", "value": {"amount": 7}}});
        let s = summarise(&r);
        assert_eq!((s.value_amount, s.value_currency), (Some(7.0), None));
    }

    #[test]
    fn amounts_in_odd_shapes() {
        let amount = |v: Value| {
            summarise(&json!({"tender": {"value": {"amount": v, "currency": "GBP"}}})).value_amount
        };
        // arbitrary_precision keeps numbers as text: more digits than f64 holds still parse.
        let precise: Value = serde_json::from_str("123456789.123456789123456789").unwrap();
        assert_eq!(amount(precise), Some(123_456_789.123_456_79));
        let huge: Value = serde_json::from_str("1e400").unwrap();
        assert_eq!(amount(huge), None);
        assert_eq!(amount(json!(" 42 ")), Some(42.0));
        assert_eq!(amount(json!("NaN")), None);
        assert_eq!(amount(json!("inf")), None);
        assert_eq!(amount(json!("about £5k")), None);
        assert_eq!(amount(json!(true)), None);
        assert_eq!(amount(json!({"amount": 5})), None);
        assert_eq!(amount(Value::Null), None);
    }

    // --- dates -------------------------------------------------------------------------------

    #[test]
    fn dates_parse_to_utc() {
        let cases = [
            ("2026-03-01T10:00:00+01:00", Some("2026-03-01 09:00:00")),
            ("2026-03-01T10:00:00Z", Some("2026-03-01 10:00:00")),
            ("2026-03-01T00:30:00+01:00", Some("2026-02-28 23:30:00")),
            ("2026-03-01T10:00:00-05:00", Some("2026-03-01 15:00:00")),
            ("2026-03-01T10:00:00+0100", Some("2026-03-01 09:00:00")),
            ("2026-03-01 10:00:00+01:00", Some("2026-03-01 09:00:00")),
            // No offset: read as UTC.
            ("2026-03-01T10:00:00", Some("2026-03-01 10:00:00")),
            ("2026-03-01T10:00", Some("2026-03-01 10:00:00")),
            ("2026-03-01", Some("2026-03-01 00:00:00")),
            (" 2026-03-01 ", Some("2026-03-01 00:00:00")),
            ("", None),
            ("not a date", None),
            ("2026-02-30", None),
            ("01/03/2026", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_ocds_datetime(input), want.map(at_utc), "{input:?}");
        }
        let with_fraction = parse_ocds_datetime("2026-03-01T10:00:00.123Z").unwrap();
        assert_eq!(with_fraction.and_utc().timestamp_subsec_millis(), 123);
    }

    #[test]
    fn contract_dates_fall_back_independently() {
        let r = json!({
            "contracts": [
                {"id": "1", "period": {"startDate": "2026-04-01T00:00:00+01:00"}},
                {"id": "2", "period": {"startDate": "2026-01-01", "maxExtentDate": "2035-01-01"}}
            ],
            "awards": [{"id": "a", "contractPeriod": {"startDate": "2020-01-01", "endDate": "2027-03-31"}}],
            "tender": {"contractPeriod": {"endDate": "2030-01-01"}}
        });
        let s = summarise(&r);
        assert_eq!(s.contract_start, Some(at_utc("2026-01-01 00:00:00")));
        assert_eq!(s.contract_end, Some(at_utc("2027-03-31 00:00:00")));
        let r = json!({"contracts": [{"id": "1", "period": {"endDate": "garbage"}}],
            "tender": {"contractPeriod": {"startDate": "2026-05-01", "endDate": "2028-04-30"}}});
        let s = summarise(&r);
        assert_eq!(s.contract_start, Some(at_utc("2026-05-01 00:00:00")));
        assert_eq!(s.contract_end, Some(at_utc("2028-04-30 00:00:00")));
    }

    // --- text ----------------------------------------------------------------------------------

    #[test]
    fn title_and_description_fallbacks() {
        let r = json!({"planning": {"budget": {"project": " Family hubs ", "description": "Pooled budget"},
            "rationale": "  Demand for early help is rising. "}});
        let s = summarise(&r);
        assert_eq!(s.title.as_deref(), Some("Family hubs"));
        assert_eq!(
            s.description.as_deref(),
            Some("Demand for early help is rising.")
        );

        let r = json!({"tender": {"title": "  "}, "awards": [{"id": "1"}, {"id": "2", "title": "Lot 2 award"}],
            "contracts": [{"id": "c", "title": "Contract", "description": "Contract description"}]});
        let s = summarise(&r);
        assert_eq!(s.title.as_deref(), Some("Lot 2 award"));
        assert_eq!(s.description.as_deref(), Some("Contract description"));

        let r =
            json!({"planning": {"project": {"title": "Youth hubs", "description": "Three hubs"}}});
        let s = summarise(&r);
        assert_eq!(s.title.as_deref(), Some("Youth hubs"));
        assert_eq!(s.description.as_deref(), Some("Three hubs"));

        // Only a description: its first line, cut at a word.
        let long = format!("\n  {}\nsecond line", "word ".repeat(100));
        let s = summarise(&json!({"tender": {"id": "t", "description": long}}));
        let title = s.title.unwrap();
        assert!(
            title.ends_with('…') && title.starts_with("word word"),
            "{title}"
        );
        assert!(title.chars().count() <= FALLBACK_TITLE_MAX_CHARS + 1);
        assert!(!title.contains("second"));
    }

    #[test]
    fn search_text_collects_the_words() {
        let text = search_text(&parse(FTS_UK7_CONTRACTS));
        for expected in [
            "Carers Support Services",
            "Lot 1 - Adult Carers Support",
            "Lot 2 - Young Carers Support",
            "North Tyneside Borough Council",
            "THE NORTH TYNESIDE CARERS CENTRE",
            "Social services",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from {text:?}"
            );
        }
        assert!(!text.contains("  "), "single spaces only");
        // Once as the title and once inside the description; tender.title, which repeats
        // the title, adds nothing.
        assert!(
            text.starts_with("Carers Support Services Provision of Carers Support Services for")
        );
        assert_eq!(text.matches("Carers Support Services").count(), 2);

        let synthetic = search_text(&compiled_prefix(8));
        assert!(synthetic.contains("Youth education services (county-wide)"));
        assert!(synthetic.contains("Horizon Family Services"));
        assert!(synthetic.contains("Contract for parenting programmes - county-wide"));
    }

    #[test]
    fn search_text_drops_markup() {
        let text = search_text(&parse(CF_ENTITIES));
        assert!(
            text.contains("HMPPS Norwich-A'Wing Refurbishment"),
            "{text}"
        );
        let r = json!({"tender": {"title": "Looked after children",
            "description": "Initial health checks.<br/><br/>For children aged < 5 &amp; over.\t\n Tags <b>bold</b>."}});
        assert_eq!(
            search_text(&r),
            "Looked after children Initial health checks. For children aged < 5 & over. Tags bold ."
        );
    }

    #[test]
    fn search_text_is_bounded() {
        let r = json!({
            "tender": {"title": "Short", "description": "ünïcödé ".repeat(10_000)},
            "parties": [{"name": "Never reached"}]
        });
        let text = search_text(&r);
        assert!(text.len() <= SEARCH_TEXT_MAX_BYTES, "{}", text.len());
        assert!(text.len() > SEARCH_TEXT_MAX_BYTES - 200);
        assert!(text.starts_with("Short ünïcödé"));
        assert!(text.ends_with("ünïcödé"), "cut at a word");
        assert!(!text.contains("Never reached"));
    }

    // --- garbage ------------------------------------------------------------------------------

    #[test]
    fn garbage_roots_give_an_empty_summary() {
        for garbage in [
            json!("a string"),
            Value::Null,
            json!([{"tender": {"title": "inside an array"}}]),
            json!(42),
            json!(true),
            json!({}),
        ] {
            assert_eq!(summarise(&garbage), RecordSummary::default(), "{garbage}");
            assert_eq!(search_text(&garbage), "");
        }
    }

    #[test]
    fn fields_of_the_wrong_type_do_not_panic() {
        let r = json!({
            "date": 20260301,
            "tag": "planning",
            "buyer": "GB-LAE-MAN",
            "parties": {"id": "GB-LAE-MAN"},
            "planning": ["budget"],
            "tender": {
                "title": ["not", "a", "string"],
                "status": 3,
                "value": "lots",
                "tenderPeriod": {"endDate": {"year": 2026}},
                "items": [null, 1, "x", {"classification": "CPV", "deliveryAddresses": "Leeds",
                    "additionalClassifications": {"scheme": "CPV"}}],
                "lots": [{"suitability": "yes"}, null],
                "suitability": {"vcse": null}
            },
            "awards": [null, "award", {"suppliers": [null, {"id": null}, {"id": {}}], "value": {"amount": []}}],
            "contracts": {"id": "1"}
        });
        let s = summarise(&r);
        // The non-empty award object makes it an award-stage record; nothing else is usable.
        assert_eq!(s.stage.as_deref(), Some("award"));
        assert_eq!(s.status, None);
        assert_eq!(s.title, None);
        assert!(s.party_org_ids.is_empty() && s.supplier_org_ids.is_empty());
        assert_eq!(s.buyer_org_id, None);
        assert_eq!(
            (s.value_amount, s.published_at, s.tender_deadline),
            (None, None, None)
        );
        assert!(s.cpv_codes.is_empty());
        assert_eq!(
            (s.vcse_suitable, s.sme_suitable, s.delivery_area),
            (None, None, None)
        );
        let _ = search_text(&r);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let mut deep = json!({"vcse": true});
        for _ in 0..500 {
            deep = json!({"x": [deep]});
        }
        let r = json!({"tender": {"id": "t", "lots": [deep]}});
        // Too deep to be a suitability flag; and no stack overflow.
        assert_eq!(summarise(&r).vcse_suitable, None);
    }

    #[test]
    fn summary_serialises_for_the_api() {
        let s = summarise(&parse(FTS_UK1_PIPELINE));
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["stage"], "planning");
        assert_eq!(v["published_at"], "2026-08-12T10:56:48");
    }
}
