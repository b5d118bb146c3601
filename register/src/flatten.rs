//! Flat tables of compiled releases, in the style of flatten-tool's output: one table per kind
//! of row, every row carrying the `ocid` (and its parent's id) to join on.
//!
//! | table | one row per | joins on |
//! | --- | --- | --- |
//! | `processes` | compiled release (contracting process) | `ocid` |
//! | `parties` | `parties[]` | `ocid`, `party_id` (and `org_id` across processes) |
//! | `items` | `tender.items[]` (and `tender.lots[].items[]` where a publisher nests them) | `ocid`, `tender_id`, `related_lot` |
//! | `awards` | `awards[]` | `ocid`, `award_id` |
//! | `award_suppliers` | `awards[].suppliers[]` | `ocid`, `award_id`, `supplier_id` (= `party_id`) |
//! | `contracts` | `contracts[]` | `ocid`, `contract_id`, `award_id` |
//! | `observations` | actual observation of a contract metric | `ocid`, `contract_id`, `metric_id` |
//! | `transactions` | `contracts[].implementation.transactions[]` | `ocid`, `contract_id` |
//!
//! Pure and infallible like [`crate::summary`]: anything odd (a missing section, a field of the
//! wrong type, an empty `{}` left by a merge) gives an empty cell or no row, never a panic, and
//! anything but a JSON object with an `ocid` gives no rows at all. The process columns come from
//! [`summary::summarise`] and [`crate::commissioning`], and the observation rows from
//! [`commissioning::outcome_series`], so the tables agree with the register views and the
//! outcomes API. Conventions of the cells:
//!
//! - lists (CPV codes, partners, roles, delivery regions) are `;`-separated;
//! - dates are normalised to UTC, `2026-03-01T09:00:00Z`; a date that cannot be read is kept as
//!   published rather than lost;
//! - amounts are `value.amount` only (never `amountGross`), currencies upper-cased;
//! - no contact point field appears in any table (see also [`crate::privacy`]).
//!
//! [`rows`] streams: it builds one row at a time and hands it to a callback, so a bulk export
//! needs memory for one record, never for a whole table.

use serde_json::Value;

use crate::{
    commissioning,
    summary::{self, at, date, entries, has_role, ident, money, objects, org_id, party_for, text},
};

/// One flat table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Processes,
    Parties,
    Items,
    Awards,
    AwardSuppliers,
    Contracts,
    Observations,
    Transactions,
}

impl Table {
    /// Every table, parents before children.
    pub const ALL: [Table; 8] = [
        Table::Processes,
        Table::Parties,
        Table::Items,
        Table::Awards,
        Table::AwardSuppliers,
        Table::Contracts,
        Table::Observations,
        Table::Transactions,
    ];

    /// The table's name, also its file name without `.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Processes => "processes",
            Table::Parties => "parties",
            Table::Items => "items",
            Table::Awards => "awards",
            Table::AwardSuppliers => "award_suppliers",
            Table::Contracts => "contracts",
            Table::Observations => "observations",
            Table::Transactions => "transactions",
        }
    }

    /// The table named `name`, if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The column names; every row of the table has exactly this many cells.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Table::Processes => &[
                "ocid",
                "title",
                "description",
                "stage",
                "status",
                "buyer",
                "buyer_name",
                "value_amount",
                "value_currency",
                "published",
                "deadline",
                "contract_start",
                "contract_end",
                "cpv",
                "service_category",
                "area",
                "partners",
                "level",
                "latest_rating",
            ],
            Table::Parties => &[
                "ocid",
                "party_id",
                "org_id",
                "name",
                "roles",
                "scale",
                "locality",
                "region",
                "postal_code",
            ],
            Table::Items => &[
                "ocid",
                "tender_id",
                "related_lot",
                "item_id",
                "description",
                "classification_scheme",
                "classification_id",
                "classification_description",
                "quantity",
                "unit_name",
                "delivery_region",
                "delivery_locality",
            ],
            Table::Awards => &[
                "ocid",
                "award_id",
                "title",
                "status",
                "date",
                "value_amount",
                "value_currency",
                "contract_start",
                "contract_end",
            ],
            Table::AwardSuppliers => &["ocid", "award_id", "supplier_id", "org_id", "name"],
            Table::Contracts => &[
                "ocid",
                "contract_id",
                "award_id",
                "title",
                "status",
                "value_amount",
                "value_currency",
                "period_start",
                "period_end",
                "date_signed",
            ],
            // The columns of the outcomes API's CSV (`/api/v1/contracts/{ocid}/outcomes`).
            Table::Observations => &[
                "ocid",
                "contract_id",
                "metric_id",
                "metric_title",
                "quadrant",
                "target",
                "observation_id",
                "period_start",
                "period_end",
                "measure",
                "unit",
                "rating",
                "uk9_classification",
                "notes",
            ],
            Table::Transactions => &[
                "ocid",
                "contract_id",
                "transaction_id",
                "date",
                "amount",
                "currency",
                "payer_org_id",
                "payer_name",
                "payee_org_id",
                "payee_name",
                "source",
            ],
        }
    }
}

/// Calls `out` once per row of `table` in the compiled release `compiled`, in document order,
/// each row as long as [`Table::header`]. Nothing for anything but an object with an `ocid`.
pub fn rows(table: Table, compiled: &Value, out: &mut dyn FnMut(&[String])) {
    if !compiled.is_object() {
        return;
    }
    let Some(ocid) = ident(compiled.get("ocid")) else {
        return;
    };
    let r = compiled;
    let mut emit = |row: Vec<String>| {
        debug_assert_eq!(row.len(), table.header().len(), "{}", table.name());
        out(&row);
    };
    match table {
        Table::Processes => emit(process(&ocid, r)),
        Table::Parties => {
            for party in objects(r.get("parties")) {
                emit(vec![
                    ocid.clone(),
                    cell(ident(party.get("id"))),
                    cell(org_id(party)),
                    str_cell(text(party.get("name"))),
                    strings(party.get("roles")).join(";"),
                    str_cell(text(at(party, &["details", "scale"]))),
                    str_cell(text(at(party, &["address", "locality"]))),
                    str_cell(text(at(party, &["address", "region"]))),
                    str_cell(text(at(party, &["address", "postalCode"]))),
                ]);
            }
        }
        Table::Items => {
            let tender = r.get("tender");
            let tender_id = cell(tender.and_then(|t| ident(t.get("id"))));
            for item in objects(tender.and_then(|t| t.get("items"))) {
                emit(item_row(&ocid, &tender_id, None, item));
            }
            for lot in entries(tender.and_then(|t| t.get("lots"))) {
                let lot_id = ident(lot.get("id"));
                for item in objects(lot.get("items")) {
                    emit(item_row(&ocid, &tender_id, lot_id.as_deref(), item));
                }
            }
        }
        Table::Awards => {
            for award in entries(r.get("awards")) {
                let (amount, currency) = value(award.get("value"));
                emit(vec![
                    ocid.clone(),
                    cell(ident(award.get("id"))),
                    str_cell(text(award.get("title"))),
                    str_cell(text(award.get("status"))),
                    date_cell(award.get("date")),
                    amount,
                    currency,
                    date_cell(at(award, &["contractPeriod", "startDate"])),
                    date_cell(at(award, &["contractPeriod", "endDate"])),
                ]);
            }
        }
        Table::AwardSuppliers => {
            for award in entries(r.get("awards")) {
                let award_id = cell(ident(award.get("id")));
                for supplier in objects(award.get("suppliers")) {
                    let party = party_for(r, supplier, "supplier");
                    emit(vec![
                        ocid.clone(),
                        award_id.clone(),
                        cell(ident(supplier.get("id"))),
                        cell(party.and_then(org_id).or_else(|| org_id(supplier))),
                        str_cell(
                            text(supplier.get("name"))
                                .or_else(|| party.and_then(|p| text(p.get("name")))),
                        ),
                    ]);
                }
            }
        }
        Table::Contracts => {
            for contract in entries(r.get("contracts")) {
                let (amount, currency) = value(contract.get("value"));
                emit(vec![
                    ocid.clone(),
                    cell(ident(contract.get("id"))),
                    cell(ident(contract.get("awardID"))),
                    str_cell(text(contract.get("title"))),
                    str_cell(text(contract.get("status"))),
                    amount,
                    currency,
                    date_cell(at(contract, &["period", "startDate"])),
                    date_cell(at(contract, &["period", "endDate"])),
                    date_cell(contract.get("dateSigned")),
                ]);
            }
        }
        Table::Observations => {
            for metric in commissioning::outcome_series(r) {
                let target = metric
                    .target
                    .as_ref()
                    .map_or_else(String::new, |t| measure(t.measure.as_ref()));
                for o in &metric.observations {
                    emit(vec![
                        ocid.clone(),
                        cell(metric.contract_id.clone()),
                        cell(metric.metric_id.clone()),
                        cell(metric.title.clone()),
                        str_cell(metric.quadrant.map(|q| q.code())),
                        target.clone(),
                        cell(o.id.clone()),
                        cell(o.period_start.clone()),
                        cell(o.period_end.clone()),
                        measure(o.measure.as_ref()),
                        cell(o.unit.clone()),
                        str_cell(o.rating.map(|r| r.code())),
                        cell(o.uk9_classification.clone()),
                        cell(o.notes.clone()),
                    ]);
                }
            }
        }
        Table::Transactions => {
            for contract in entries(r.get("contracts")) {
                let contract_id = cell(ident(contract.get("id")));
                for t in entries(at(contract, &["implementation", "transactions"])) {
                    // `value` in OCDS 1.1; `amount` is its deprecated 1.0 name.
                    let (amount, currency) = value(t.get("value").or_else(|| t.get("amount")));
                    let (payer_id, payer_name) = organisation(r, t.get("payer"), "payer");
                    let (payee_id, payee_name) = organisation(r, t.get("payee"), "payee");
                    emit(vec![
                        ocid.clone(),
                        contract_id.clone(),
                        cell(ident(t.get("id"))),
                        date_cell(t.get("date")),
                        amount,
                        currency,
                        payer_id,
                        payer_name,
                        payee_id,
                        payee_name,
                        str_cell(text(t.get("source")).or_else(|| text(t.get("uri")))),
                    ]);
                }
            }
        }
    }
}

fn process(ocid: &str, r: &Value) -> Vec<String> {
    let s = summary::summarise(r);
    let level = commissioning::intention_summary(r).and_then(|i| i.level);
    let rating = commissioning::outcome_summary(r).and_then(|o| o.latest_rating);
    vec![
        ocid.to_owned(),
        cell(s.title),
        cell(s.description),
        cell(s.stage),
        cell(s.status),
        cell(s.buyer_org_id),
        str_cell(buyer_name(r)),
        s.value_amount.map(|a| a.to_string()).unwrap_or_default(),
        cell(s.value_currency),
        cell(s.published_at.map(utc)),
        cell(s.tender_deadline.map(utc)),
        cell(s.contract_start.map(utc)),
        cell(s.contract_end.map(utc)),
        s.cpv_codes.join(";"),
        cell(s.service_category),
        cell(s.delivery_area),
        commissioning::partner_org_ids(r).join(";"),
        cell(level),
        str_cell(rating.map(|r| r.code())),
    ]
}

/// The buyer's name: the `buyer` reference's, else its party's, else the first party with the
/// buyer role (as [`summary`] resolves the buyer).
fn buyer_name(r: &Value) -> Option<&str> {
    let buyer = r.get("buyer").filter(|b| b.is_object());
    buyer
        .and_then(|b| text(b.get("name")))
        .or_else(|| {
            buyer
                .and_then(|b| party_for(r, b, "buyer"))
                .and_then(|p| text(p.get("name")))
        })
        .or_else(|| {
            objects(r.get("parties"))
                .find(|p| has_role(p, "buyer"))
                .and_then(|p| text(p.get("name")))
        })
}

fn item_row(ocid: &str, tender_id: &str, lot: Option<&str>, item: &Value) -> Vec<String> {
    // FTS puts CPV codes in additionalClassifications only.
    let classification = item
        .get("classification")
        .filter(|c| c.is_object())
        .or_else(|| objects(item.get("additionalClassifications")).next());
    let field = |key: &str| str_cell(classification.and_then(|c| text(c.get(key))));
    let addresses: Vec<&Value> = objects(item.get("deliveryAddresses"))
        .chain(item.get("deliveryAddress").filter(|a| a.is_object()))
        .collect();
    let distinct = |key: &str| {
        let mut seen: Vec<&str> = Vec::new();
        for a in &addresses {
            if let Some(v) = text(a.get(key))
                && !seen.contains(&v)
            {
                seen.push(v);
            }
        }
        seen.join(";")
    };
    let unit = match item.get("unit") {
        Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
        Some(u) => text(u.get("name")),
        None => None,
    };
    vec![
        ocid.to_owned(),
        tender_id.to_owned(),
        cell(ident(item.get("relatedLot")).or_else(|| lot.map(str::to_owned))),
        cell(ident(item.get("id"))),
        str_cell(text(item.get("description"))),
        field("scheme"),
        cell(classification.and_then(|c| ident(c.get("id")))),
        field("description"),
        scalar(item.get("quantity")),
        str_cell(unit),
        distinct("region"),
        distinct("locality"),
    ]
}

/// A payer or payee: its org-id (through its party, as [`summary::org_id`] resolves it) and
/// name (the reference's, else its party's).
fn organisation(r: &Value, reference: Option<&Value>, role: &str) -> (String, String) {
    let Some(reference) = reference.filter(|v| v.is_object()) else {
        return (String::new(), String::new());
    };
    let party = party_for(r, reference, role);
    (
        cell(party.and_then(org_id).or_else(|| org_id(reference))),
        str_cell(text(reference.get("name")).or_else(|| party.and_then(|p| text(p.get("name"))))),
    )
}

/// Amount and currency of a `Value` object.
fn value(v: Option<&Value>) -> (String, String) {
    match money(v) {
        Some(m) => (m.amount.to_string(), m.currency.unwrap_or_default()),
        None => (
            String::new(),
            str_cell(v.and_then(|v| text(v.get("currency")))).to_ascii_uppercase(),
        ),
    }
}

/// A date normalised to UTC, else the text as published.
fn date_cell(v: Option<&Value>) -> String {
    match date(v) {
        Some(dt) => utc(dt),
        None => str_cell(text(v)),
    }
}

fn utc(dt: chrono::NaiveDateTime) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A measure as the outcomes API writes it: text as is, numbers as published.
fn measure(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A number or string as written; nothing for other types.
fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => String::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| text(Some(x)))
        .collect()
}

fn cell(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn str_cell(v: Option<&str>) -> String {
    v.unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The demo register's Wyvern counselling contract (tender, award and contract,
    /// implementation), compiled with the register's merge rules.
    fn wyvern_contract() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/demo/ocreg_demo_releases.json"
        );
        let demo: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let releases: Vec<Value> = demo["releases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["ocid"] == "ocds-ocdemo-wyv-0004")
            .cloned()
            .collect();
        assert_eq!(releases.len(), 3);
        ocds::merge::compile(crate::releases::merge_rules(), releases)
            .expect("demo releases merge")
            .release
    }

    fn collect(table: Table, compiled: &Value) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        rows(table, compiled, &mut |row| all.push(row.to_vec()));
        all
    }

    /// Rows as maps from column name to cell, for readable assertions.
    fn named(
        table: Table,
        compiled: &Value,
    ) -> Vec<std::collections::BTreeMap<&'static str, String>> {
        collect(table, compiled)
            .into_iter()
            .map(|row| table.header().iter().copied().zip(row).collect())
            .collect()
    }

    const OCID: &str = "ocds-ocdemo-wyv-0004";

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
            assert_eq!(t.header()[0], "ocid", "{}", t.name());
            let mut columns = t.header().to_vec();
            columns.sort_unstable();
            columns.dedup();
            assert_eq!(columns.len(), t.header().len(), "{}", t.name());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Table::ALL.len());
        assert_eq!(Table::from_name("releases"), None);
    }

    #[test]
    fn the_wyvern_process() {
        let r = wyvern_contract();
        let rows = named(Table::Processes, &r);
        assert_eq!(rows.len(), 1);
        let p = &rows[0];
        let expected = [
            ("ocid", OCID),
            (
                "title",
                "School-based counselling and mental health support",
            ),
            ("stage", "implementation"),
            ("status", "active"),
            ("buyer", "GB-COH-99990001"),
            ("buyer_name", "Wyvern Learning Trust"),
            ("value_amount", "362400"),
            ("value_currency", "GBP"),
            ("published", "2026-07-31T16:00:00Z"),
            ("deadline", "2025-02-28T12:00:00Z"),
            ("contract_start", "2025-09-01T00:00:00Z"),
            ("contract_end", "2027-08-31T23:59:59Z"),
            ("cpv", "85121270"),
            ("service_category", "Psychiatrist or psychologist services"),
            ("area", "Wyvern"),
            ("partners", "GB-COH-99990001"),
            ("level", ""),
            // The worst of the metrics' latest ratings: m2 is approaching its target.
            ("latest_rating", "approachingTarget"),
        ];
        for (column, want) in expected {
            assert_eq!(p[column], want, "{column}");
        }
    }

    #[test]
    fn the_wyvern_parties_items_awards_and_contracts() {
        let r = wyvern_contract();
        let parties = named(Table::Parties, &r);
        assert_eq!(parties.len(), 3);
        let supplier = &parties[2];
        assert_eq!(supplier["party_id"], "GB-COH-99990002");
        assert_eq!(supplier["org_id"], "GB-COH-99990002");
        assert_eq!(supplier["name"], "Harbourlight Counselling CIC");
        assert_eq!(supplier["roles"], "supplier;tenderer");
        assert_eq!(supplier["scale"], "sme");
        assert_eq!(supplier["locality"], "Eastmere");
        assert_eq!(supplier["region"], "Wyvern");
        assert_eq!(supplier["postal_code"], "WY4 8HC");
        assert_eq!(parties[1]["roles"], "interestedParty");

        let items = named(Table::Items, &r);
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item["tender_id"], OCID);
        assert_eq!(item["item_id"], "1");
        assert_eq!(item["description"], "School-based counselling");
        assert_eq!(item["classification_scheme"], "CPV");
        assert_eq!(item["classification_id"], "85121270");
        assert_eq!(
            item["classification_description"],
            "Psychiatrist or psychologist services"
        );
        // Two delivery addresses in the same region: one region.
        assert_eq!(item["delivery_region"], "Wyvern");
        assert_eq!(item["delivery_locality"], "");

        let awards = collect(Table::Awards, &r);
        assert_eq!(
            awards,
            [[
                OCID,
                "ocds-ocdemo-wyv-0004-award-1",
                "",
                "active",
                "2025-05-02T10:00:00Z",
                "362400",
                "GBP",
                "2025-09-01T00:00:00Z",
                "2027-08-31T23:59:59Z",
            ]
            .map(str::to_owned)]
        );
        let suppliers = collect(Table::AwardSuppliers, &r);
        assert_eq!(
            suppliers,
            [[
                OCID,
                "ocds-ocdemo-wyv-0004-award-1",
                "GB-COH-99990002",
                "GB-COH-99990002",
                "Harbourlight Counselling CIC",
            ]
            .map(str::to_owned)]
        );
        let contracts = collect(Table::Contracts, &r);
        assert_eq!(
            contracts,
            [[
                OCID,
                "ocds-ocdemo-wyv-0004-contract-1",
                "ocds-ocdemo-wyv-0004-award-1",
                "School-based counselling and mental health support",
                "active",
                "362400",
                "GBP",
                "2025-09-01T00:00:00Z",
                "2027-08-31T23:59:59Z",
                "2025-06-20T00:00:00Z",
            ]
            .map(str::to_owned)]
        );
    }

    #[test]
    fn the_wyvern_observations_agree_with_the_outcome_series() {
        let r = wyvern_contract();
        let rows = named(Table::Observations, &r);
        // Three metrics, three terms each.
        assert_eq!(rows.len(), 9);
        let series = commissioning::outcome_series(&r);
        let expected: usize = series.iter().map(|m| m.observations.len()).sum();
        assert_eq!(rows.len(), expected);
        let first = &rows[0];
        assert_eq!(first["contract_id"], "ocds-ocdemo-wyv-0004-contract-1");
        assert_eq!(first["metric_id"], "m1");
        assert_eq!(first["metric_title"], "Pupils supported");
        assert_eq!(first["quadrant"], "howMuch");
        assert_eq!(first["target"], "420");
        assert_eq!(first["observation_id"], "autumn");
        assert_eq!(first["period_start"], "2025-09-01T00:00:00Z");
        assert_eq!(first["period_end"], "2025-12-19T23:59:59Z");
        assert_eq!(first["measure"], "152");
        assert_eq!(first["unit"], "pupils");
        assert_eq!(first["rating"], "good");
        assert_eq!(first["notes"], "Autumn term 2025");
        let m2_autumn = &rows[3];
        assert_eq!(
            (
                m2_autumn["metric_id"].as_str(),
                m2_autumn["rating"].as_str()
            ),
            ("m2", "requiresImprovement")
        );
        assert_eq!(rows[8]["quadrant"], "betterOff");
    }

    #[test]
    fn the_wyvern_transactions() {
        let r = wyvern_contract();
        let rows = collect(Table::Transactions, &r);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            [
                OCID,
                "ocds-ocdemo-wyv-0004-contract-1",
                "t1",
                "2025-10-31T00:00:00Z",
                "30200",
                "GBP",
                "GB-COH-99990001",
                "Wyvern Learning Trust",
                "GB-COH-99990002",
                "Harbourlight Counselling CIC",
                "https://example.org/wyvern-learning-trust/spend",
            ]
            .map(str::to_owned)
        );
        let ids: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
        assert_eq!(ids, ["t1", "t2", "t3", "t4"]);
    }

    #[test]
    fn every_row_fits_its_header_and_carries_the_ocid() {
        let r = wyvern_contract();
        for table in Table::ALL {
            let rows = collect(table, &r);
            assert!(!rows.is_empty(), "{}", table.name());
            for row in rows {
                assert_eq!(row.len(), table.header().len(), "{}", table.name());
                assert_eq!(row[0], OCID, "{}", table.name());
            }
        }
    }

    #[test]
    fn no_contact_point_reaches_a_table() {
        let mut r = wyvern_contract();
        r["parties"][0]["contactPoint"] =
            json!({"name": "Jo Bloggs", "email": "jo@example.org", "telephone": "0123"});
        for table in Table::ALL {
            rows(table, &r, &mut |row| {
                for cell in row {
                    assert!(!cell.contains("Jo Bloggs") && !cell.contains("jo@example.org"));
                }
            });
        }
        for table in Table::ALL {
            assert!(
                table
                    .header()
                    .iter()
                    .all(|c| !c.contains("contact") && !c.contains("email")),
                "{}",
                table.name()
            );
        }
    }

    #[test]
    fn csv_written_with_the_csv_crate_parses_back() {
        let mut r = wyvern_contract();
        // Cells that need quoting.
        r["tender"]["items"][0]["description"] = json!("Counselling, \"group work\"\nand more");
        for table in Table::ALL {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(table.header()).unwrap();
            let mut written = Vec::new();
            rows(table, &r, &mut |row| {
                w.write_record(row).unwrap();
                written.push(row.to_vec());
            });
            let bytes = w.into_inner().unwrap();
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let header: Vec<String> = reader
                .headers()
                .unwrap()
                .iter()
                .map(str::to_owned)
                .collect();
            assert_eq!(header, table.header(), "{}", table.name());
            let read: Vec<Vec<String>> = reader
                .records()
                .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
                .collect();
            assert_eq!(read, written, "{}", table.name());
        }
    }

    #[test]
    fn nested_lot_items_and_odd_shapes() {
        let r = json!({
            "ocid": 42,
            "tender": {
                "id": "T1",
                "items": [
                    {"id": 1, "additionalClassifications": [{"scheme": "CPV", "id": "85311300", "description": "Welfare"}],
                     "quantity": 2.5, "unit": {"name": "hours"},
                     "deliveryAddresses": [{"region": "UKI34"}, {"region": "UKI31", "locality": "London"}],
                     "relatedLot": "2"}
                ],
                "lots": [{"id": "L1", "items": [{"id": "9", "unit": "sessions", "quantity": "12"}]}, {}]
            },
            "awards": [{}, {"id": "a", "value": {"currency": "gbp"}, "date": "someday",
                "suppliers": [{"id": "S1", "name": "Named here"}, {"id": "S2"}]}],
            "parties": [{"id": "S2", "name": "From the party", "roles": "supplier",
                "identifier": {"scheme": "GB-CHC", "id": "123"}}],
            "contracts": [{"id": "c", "implementation": {"transactions": [
                {"id": "t", "amount": {"amount": "1,000.50", "currency": "GBP"},
                 "payee": {"id": "S2"}, "uri": "https://example.org/t"}
            ]}}]
        });
        let items = named(Table::Items, &r);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["ocid"], "42");
        assert_eq!(items[0]["related_lot"], "2");
        assert_eq!(items[0]["classification_id"], "85311300");
        assert_eq!(items[0]["quantity"], "2.5");
        assert_eq!(items[0]["unit_name"], "hours");
        assert_eq!(items[0]["delivery_region"], "UKI34;UKI31");
        assert_eq!(items[0]["delivery_locality"], "London");
        assert_eq!(items[1]["related_lot"], "L1");
        assert_eq!(items[1]["unit_name"], "sessions");
        assert_eq!(items[1]["quantity"], "12");

        let awards = named(Table::Awards, &r);
        assert_eq!(awards.len(), 1, "an empty award object is no award");
        assert_eq!(
            awards[0]["date"], "someday",
            "unreadable dates kept as published"
        );
        assert_eq!(awards[0]["value_amount"], "");
        assert_eq!(awards[0]["value_currency"], "GBP");

        let suppliers = named(Table::AwardSuppliers, &r);
        assert_eq!(suppliers[0]["name"], "Named here");
        assert_eq!(suppliers[0]["org_id"], "S1");
        assert_eq!(suppliers[1]["name"], "From the party");
        assert_eq!(suppliers[1]["org_id"], "GB-CHC-123");
        // `roles` that is not an array: no roles.
        assert_eq!(named(Table::Parties, &r)[0]["roles"], "");

        let t = &named(Table::Transactions, &r)[0];
        assert_eq!(t["amount"], "1000.5");
        assert_eq!(t["payee_org_id"], "GB-CHC-123");
        assert_eq!(t["payee_name"], "From the party");
        assert_eq!(t["source"], "https://example.org/t");
        assert_eq!(t["payer_org_id"], "");
    }

    #[test]
    fn garbage_gives_no_rows_and_never_panics() {
        let no_rows = [
            json!(null),
            json!("ocds-x"),
            json!([{"ocid": "in an array"}]),
            json!({}),
            json!({"ocid": null, "tender": {"title": "no ocid"}}),
        ];
        for garbage in &no_rows {
            for table in Table::ALL {
                assert!(
                    collect(table, garbage).is_empty(),
                    "{garbage} {}",
                    table.name()
                );
            }
        }
        let odd = json!({
            "ocid": "ocds-odd",
            "buyer": "GB-LAE-MAN",
            "parties": {"id": "x"},
            "tender": {"items": [null, 1, {"classification": "CPV", "deliveryAddresses": "Leeds",
                "quantity": {"n": 1}, "unit": 5}], "lots": "1"},
            "awards": [null, "a", {"suppliers": [null, {"id": {}}], "value": []}],
            "contracts": [{"id": [], "implementation": {"transactions": [{"payer": "x", "value": 5}],
                "metrics": [{"observations": [{"measure": {"a": 1}}]}]}}]
        });
        for table in Table::ALL {
            for row in collect(table, &odd) {
                assert_eq!(row.len(), table.header().len(), "{}", table.name());
                assert_eq!(row[0], "ocds-odd");
            }
        }
        // One process row even for a record with nothing else.
        assert_eq!(collect(Table::Processes, &odd).len(), 1);
        assert_eq!(collect(Table::Processes, &json!({"ocid": "x"})).len(), 1);
    }
}
