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

fn has_role(party: &Value, role: &str) -> bool {
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
fn party_for<'a>(r: &'a Value, reference: &Value, role: &str) -> Option<&'a Value> {
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

fn buyer_org_id(r: &Value) -> Option<String> {
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

struct Money {
    amount: f64,
    currency: Option<String>,
}

/// `value.amount` only: Find a Tender also publishes `amountGross` (with VAT), and net and
/// gross must never be added together (uk-feeds.md 1.5).
fn money(value: Option<&Value>) -> Option<Money> {
    let value = value?;
    Some(Money {
        amount: number(value.get("amount"))?,
        currency: text(value.get("currency")).map(str::to_ascii_uppercase),
    })
}

enum Total {
    /// Nothing to add up at this level: try the next one.
    Nothing,
    /// Amounts in more than one currency (or with and without one): no meaningful total.
    Mixed,
    Sum(f64, Option<String>),
}

fn total(values: impl IntoIterator<Item = Money>) -> Total {
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
fn number(v: Option<&Value>) -> Option<f64> {
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

fn date(v: Option<&Value>) -> Option<NaiveDateTime> {
    text(v).and_then(parse_ocds_datetime)
}

#[derive(Clone, Copy)]
enum Extreme {
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

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// The objects of an array; anything else (missing, null, a lone object, a string) is empty.
fn objects(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| x.is_object())
}

/// The non-empty objects of a section (`awards`, `contracts`, `lots`): a `{}` left by a merge
/// is no award.
fn entries(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    objects(v).filter(|x| x.as_object().is_some_and(|o| !o.is_empty()))
}

/// A trimmed, non-empty string.
fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An identifier: a trimmed non-empty string, or a number as written (OCDS allows both).
fn ident(v: Option<&Value>) -> Option<String> {
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
