//! Which notices of a national feed belong to this register.
//!
//! Find a Tender and Contracts Finder publish everything for every public body in the UK; a
//! register keeps the notices of its partnership's agencies, or of its services (CPV codes), or
//! that mention its subjects. The criteria read only fields that both feeds fill in; see
//! `reference/uk-feeds.md` 1.8, 1.9 and 2.4 for where each feed puts buyers and CPV codes.

use serde_json::Value;

/// The register's selection criteria. Every non-empty criterion must match (AND across
/// criteria, OR within one); no criteria at all selects everything.
///
/// An entry that normalises to nothing (blank, or a CPV entry without leading digits) matches
/// nothing, so a mistyped filter selects too little, visibly, rather than everything.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filters {
    /// Organisation identifiers, e.g. `GB-PPON-ABCD-1234-EFGH`, `GB-LAE-CMD`, `GB-NHS-QUY`.
    pub buyers: Vec<String>,
    /// CPV code prefixes, e.g. `8531`, `85311300`; a check digit (`85311300-5`) is ignored.
    pub cpv: Vec<String>,
    /// Words or phrases, matched case-insensitively as whole words.
    pub keywords: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.buyers.is_empty() && self.cpv.is_empty() && self.keywords.is_empty()
    }

    /// Whether a release belongs: every non-empty criterion must match (AND across criteria, OR
    /// within one).
    pub fn matches(&self, release: &Value) -> bool {
        self.mismatch(release).is_none()
    }

    /// Which criterion failed first, for a run report (None when it matches).
    pub fn mismatch(&self, release: &Value) -> Option<&'static str> {
        if !self.buyers.is_empty() && !self.buyer_matches(release) {
            return Some("buyers");
        }
        if !self.cpv.is_empty() && !self.cpv_matches(release) {
            return Some("cpv");
        }
        if !self.keywords.is_empty() && !self.keyword_matches(release) {
            return Some("keywords");
        }
        None
    }

    fn buyer_matches(&self, release: &Value) -> bool {
        let wanted: Vec<String> = self
            .buyers
            .iter()
            .map(|id| normalise_id(id))
            .filter(|id| !id.is_empty())
            .collect();
        buyer_ids(release)
            .iter()
            .any(|id| wanted.contains(&normalise_id(id)))
    }

    fn cpv_matches(&self, release: &Value) -> bool {
        let prefixes: Vec<&str> = self
            .cpv
            .iter()
            .map(|code| cpv_digits(code))
            .filter(|prefix| !prefix.is_empty())
            .collect();
        cpv_codes(release).iter().any(|code| {
            let digits = cpv_digits(code);
            prefixes.iter().any(|prefix| digits.starts_with(prefix))
        })
    }

    fn keyword_matches(&self, release: &Value) -> bool {
        let phrases: Vec<Vec<String>> = self
            .keywords
            .iter()
            .map(|keyword| words(keyword))
            .filter(|phrase| !phrase.is_empty())
            .collect();
        if phrases.is_empty() {
            return false;
        }
        // Field by field, so that a phrase never spans the end of a title and the start of a
        // description.
        texts(release).into_iter().any(|text| {
            let text = words(text);
            phrases
                .iter()
                .any(|phrase| text.windows(phrase.len()).any(|window| window == phrase))
        })
    }
}

/// Identifiers are compared without case or spaces: publishers and partnerships write
/// ` GB-PPON-PZXL-5842-VBBG ` and `gb-ppon-pzxl-5842-vbbg` alike.
fn normalise_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A string or number as text; identifiers and codes are sometimes published as numbers.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn array<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Every identifier under which the release names a buyer: `buyer.id`, and for each party that
/// is a buyer, its `id`, its main identifier and its additional identifiers as
/// `{scheme}-{id}`. The last two matter because Find a Tender names parties by PPON while a
/// partnership may know its agencies by their GB-LAE or GB-NHS identifiers, or the reverse.
fn buyer_ids(release: &Value) -> Vec<String> {
    let buyer_ref = release
        .get("buyer")
        .and_then(|buyer| buyer.get("id"))
        .and_then(scalar_text);
    let mut ids: Vec<String> = buyer_ref.iter().cloned().collect();
    let buyer_ref = buyer_ref.map(|id| normalise_id(&id));
    for party in array(release, "parties") {
        let party_id = party.get("id").and_then(scalar_text);
        let has_buyer_role = array(party, "roles").iter().any(|role| {
            role.as_str()
                .is_some_and(|r| r.eq_ignore_ascii_case("buyer"))
        });
        // The party `buyer` points at is the buyer even when its `roles` forget to say so.
        let is_buyer_ref =
            buyer_ref.is_some() && party_id.as_deref().map(normalise_id) == buyer_ref;
        if !has_buyer_role && !is_buyer_ref {
            continue;
        }
        ids.extend(party_id);
        ids.extend(party.get("identifier").and_then(scheme_id));
        ids.extend(
            array(party, "additionalIdentifiers")
                .iter()
                .filter_map(scheme_id),
        );
    }
    ids
}

/// An OCDS Identifier as `{scheme}-{id}`, the form of party ids and of org-id.guide.
fn scheme_id(identifier: &Value) -> Option<String> {
    let scheme = identifier.get("scheme")?.as_str()?.trim();
    let id = scalar_text(identifier.get("id")?)?;
    if scheme.is_empty() {
        return None;
    }
    // Some publishers repeat the scheme inside the id.
    if normalise_id(&id).starts_with(&format!("{}-", normalise_id(scheme))) {
        Some(id)
    } else {
        Some(format!("{scheme}-{id}"))
    }
}

/// The leading digits of a CPV code as written, so `85311300-5` and `85311300` compare equal.
fn cpv_digits(code: &str) -> &str {
    let code = code.trim();
    let len = code.bytes().take_while(u8::is_ascii_digit).count();
    &code[..len]
}

/// The CPV codes of the release: tender classifications, and the classifications of the items
/// of the tender, awards and contracts (Procurement Act notices put them on items, older ones
/// on the tender). Lots carry no classification in OCDS 1.1. A classification without a
/// scheme is taken as CPV, the only scheme both feeds use for codes.
fn cpv_codes(release: &Value) -> Vec<String> {
    let mut classifications: Vec<&Value> = Vec::new();
    if let Some(tender) = release.get("tender") {
        classifications.extend(tender.get("classification"));
        classifications.extend(array(tender, "additionalClassifications"));
        item_classifications(array(tender, "items"), &mut classifications);
    }
    for key in ["awards", "contracts"] {
        for holder in array(release, key) {
            item_classifications(array(holder, "items"), &mut classifications);
        }
    }
    classifications
        .into_iter()
        .filter(|classification| match classification.get("scheme") {
            None | Some(Value::Null) => true,
            Some(Value::String(scheme)) => scheme.trim().eq_ignore_ascii_case("CPV"),
            Some(_) => false,
        })
        .filter_map(|classification| classification.get("id").and_then(scalar_text))
        .collect()
}

fn item_classifications<'v>(items: &'v [Value], out: &mut Vec<&'v Value>) {
    for item in items {
        out.extend(item.get("classification"));
        out.extend(array(item, "additionalClassifications"));
    }
}

/// The free texts a keyword is looked for in.
fn texts(release: &Value) -> Vec<&str> {
    fn add<'v>(texts: &mut Vec<&'v str>, holder: Option<&'v Value>, keys: &[&str]) {
        if let Some(holder) = holder {
            texts.extend(keys.iter().filter_map(|key| holder.get(key)?.as_str()));
        }
    }
    let mut texts = Vec::new();
    add(&mut texts, Some(release), &["title", "description"]);
    let tender = release.get("tender");
    add(&mut texts, tender, &["title", "description"]);
    add(&mut texts, release.get("planning"), &["rationale"]);
    if let Some(tender) = tender {
        for lot in array(tender, "lots") {
            add(&mut texts, Some(lot), &["title", "description"]);
        }
        for item in array(tender, "items") {
            add(&mut texts, Some(item), &["description"]);
        }
    }
    for key in ["awards", "contracts"] {
        for holder in array(release, key) {
            add(&mut texts, Some(holder), &["title", "description"]);
        }
    }
    texts
}

/// Lower-cased runs of letters and digits. Everything else separates words, so `Looked-After`
/// and `Child’s` read as `looked after` and `child s`, and HTML entities left in the text
/// (Contracts Finder writes `A&apos;Wing`) separate words instead of adding `apos`.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if c == '&' {
            entity_len(rest).unwrap_or(1)
        } else {
            c.len_utf8()
        };
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        rest = &rest[len..];
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The length of an HTML entity (`&apos;`, `&#39;`, `&#x2013;`) at the start of `text`.
fn entity_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix('&')?;
    let name = body.strip_prefix('#').unwrap_or(body);
    let len = name.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if !(1..=10).contains(&len) || !name[len..].starts_with(';') {
        return None;
    }
    Some(text.len() - name.len() + len + 1)
}

#[cfg(test)]
mod tests {
    //! Mostly against the 17 real Find a Tender releases in `fixtures/demo` (OGL v3); the
    //! expected selections were read off the file independently (by a script walking its CPV
    //! codes, buyer parties and texts), not produced by this code.

    use super::*;
    use serde_json::json;

    const FTS: &[u8] =
        include_bytes!("../../fixtures/demo/fts_ocds_release_package_children_services.json");

    fn fts() -> Vec<Value> {
        let package: Value = serde_json::from_slice(FTS).unwrap();
        package["releases"].as_array().unwrap().clone()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The notice numbers (release ids without `-2026`) that the filters select, in page order.
    fn selected(filters: &Filters) -> Vec<String> {
        fts()
            .iter()
            .filter(|release| filters.matches(release))
            .map(|release| {
                release["id"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches("-2026")
                    .to_owned()
            })
            .collect()
    }

    fn cpv(codes: &[&str]) -> Filters {
        Filters {
            cpv: strings(codes),
            ..Filters::default()
        }
    }

    fn keywords(words: &[&str]) -> Filters {
        Filters {
            keywords: strings(words),
            ..Filters::default()
        }
    }

    fn buyers(ids: &[&str]) -> Filters {
        Filters {
            buyers: strings(ids),
            ..Filters::default()
        }
    }

    #[test]
    fn empty_filters_match_everything() {
        let filters = Filters::default();
        assert!(filters.is_empty());
        assert_eq!(selected(&filters).len(), 17);
        assert!(
            fts()
                .iter()
                .all(|release| filters.mismatch(release).is_none())
        );
        assert!(filters.matches(&json!({})));
        assert!(!cpv(&["853"]).is_empty());
    }

    #[test]
    fn cpv_prefix_selects_social_work_and_social_services() {
        // 853: items of tenders (Act notices) and of awards; not 85000000 (health and social
        // work in general), 85120000 (medical practice) or 80xxxxxx (education).
        assert_eq!(
            selected(&cpv(&["853"])),
            [
                "076678", "075620", "076112", "076877", "075948", "076472", "075649"
            ]
        );
        // Welfare services for children, with and without the check digit.
        assert_eq!(selected(&cpv(&["85311300"])), ["075948", "075649"]);
        assert_eq!(selected(&cpv(&["85311300-5"])), ["075948", "075649"]);
        // Legacy notices carry the code in `tender.classification`.
        assert_eq!(selected(&cpv(&["8034"])), ["075563"]);
        assert_eq!(selected(&cpv(&["80"])), ["076799", "075563"]);
        // OR within the criterion.
        assert_eq!(selected(&cpv(&["8512", "8034"])), ["076609", "075563"]);
        assert!(selected(&cpv(&["853119"])).is_empty());
    }

    #[test]
    fn cpv_reads_contract_items_and_only_the_cpv_scheme() {
        let release = |classification: Value| json!({"contracts": [{"items": [{"additionalClassifications": [classification]}]}]});
        let filters = cpv(&["8531"]);
        assert!(filters.matches(&release(json!({"scheme": "CPV", "id": "85311300"}))));
        assert!(filters.matches(&release(json!({"scheme": "cpv", "id": "85311300-5"}))));
        assert!(filters.matches(&release(json!({"id": "85312000"}))));
        assert!(filters.matches(&release(json!({"scheme": "CPV", "id": 85311300}))));
        assert!(!filters.matches(&release(json!({"scheme": "UNSPSC", "id": "85311300"}))));
        assert!(!filters.matches(&release(json!({"scheme": "CPV", "id": "85320000"}))));
        // Lots have no classification in OCDS 1.1; a code placed there is not read.
        let on_lot =
            json!({"tender": {"lots": [{"classification": {"scheme": "CPV", "id": "85311300"}}]}});
        assert!(!filters.matches(&on_lot));
        // A prefix that normalises to nothing matches nothing rather than everything.
        assert!(!cpv(&["", "CPV"]).matches(&release(json!({"id": "85311300"}))));
    }

    #[test]
    fn keywords_match_whole_words_and_phrases() {
        assert_eq!(selected(&keywords(&["SEND"])), ["076678", "075948"]);
        assert_eq!(selected(&keywords(&["send"])), ["076678", "075948"]);
        assert!(selected(&keywords(&["sending"])).is_empty());
        assert_eq!(selected(&keywords(&["looked after"])), ["076609"]);
        assert_eq!(selected(&keywords(&["Looked  After Children"])), ["076609"]);
        // `child` is not a prefix of `children`; `Child’s` (curly apostrophe) is a word `child`.
        assert_eq!(selected(&keywords(&["child"])), ["076877", "075649"]);
        assert_eq!(selected(&keywords(&["carer"])), Vec::<String>::new());
        assert_eq!(
            selected(&keywords(&["young carers"])),
            ["075819", "075830", "076472"]
        );
        assert_eq!(selected(&keywords(&["foster", "ADHD"])), ["075948"]);
        assert_eq!(selected(&keywords(&["virtual school"])), ["076799"]);
        assert!(selected(&keywords(&["", "  "])).is_empty());
    }

    #[test]
    fn keywords_read_the_listed_texts_only() {
        let filters = keywords(&["looked after"]);
        for (path, release) in [
            ("title", json!({"title": "Looked-after children"})),
            (
                "tender.description",
                json!({"tender": {"description": "for LOOKED AFTER young people"}}),
            ),
            (
                "planning.rationale",
                json!({"planning": {"rationale": "looked after"}}),
            ),
            (
                "tender.lots[].description",
                json!({"tender": {"lots": [{}, {"description": "looked after"}]}}),
            ),
            (
                "tender.items[].description",
                json!({"tender": {"items": [{"description": "looked after"}]}}),
            ),
            (
                "awards[].title",
                json!({"awards": [{"title": "looked after"}]}),
            ),
            (
                "contracts[].description",
                json!({"contracts": [{"description": "looked after"}]}),
            ),
        ] {
            assert!(filters.matches(&release), "{path}");
        }
        assert!(!filters.matches(&json!({"parties": [{"name": "Looked After Ltd"}]})));
        assert!(!filters.matches(&json!({"tender": {"title": "looked", "description": "after"}})));
        // Contracts Finder leaves HTML entities in its text.
        assert!(
            keywords(&["a wing"])
                .matches(&json!({"tender": {"title": "HMPPS Norwich-A&apos;Wing Refurbishment"}}))
        );
        assert!(!keywords(&["apos"]).matches(&json!({"tender": {"title": "A&apos;Wing"}})));
        assert!(keywords(&["R D"]).matches(&json!({"title": "R&D services"})));
    }

    #[test]
    fn buyers_match_by_party_id_and_additional_identifier() {
        // Camden's PPON, written as a person might.
        assert_eq!(
            selected(&buyers(&["GB-PPON-PZXL-5842-VBBG"])),
            ["075819", "075830"]
        );
        assert_eq!(
            selected(&buyers(&[" gb-ppon-pzxl - 5842-vbbg "])),
            ["075819", "075830"]
        );
        // Islington, the second buyer of the joint Camden and Islington notices.
        assert_eq!(
            selected(&buyers(&["GB-PPON-PBMD-2513-CWJJ"])),
            ["075819", "075830"]
        );
        // The ICB buyer is named by its NHS code; its PPON is an additional identifier.
        assert_eq!(selected(&buyers(&["GB-NHS-QUY"])), ["075620"]);
        assert_eq!(selected(&buyers(&["GB-PPON-PPCD-6597-HCDW"])), ["075620"]);
        // A buyer party of a notice that has no `buyer` field.
        assert_eq!(
            selected(&buyers(&["GB-PPON-PDZG-3487-DPVD"])),
            ["076141", "076113"]
        );
        // South Gloucestershire: partner in the ICB notice, sole buyer of 076799.
        assert_eq!(
            selected(&buyers(&["GB-PPON-PCMC-1241-BLJQ"])),
            ["075620", "076799"]
        );
        // A supplier's identifiers do not make it a buyer.
        assert!(selected(&buyers(&["GB-PPON-PYQH-5225-QNRR", "GB-COH-8176584"])).is_empty());
        assert!(selected(&buyers(&[""])).is_empty());
    }

    #[test]
    fn buyer_identifiers_from_schemes_and_the_buyer_reference() {
        let release = json!({
            "buyer": {"id": "GB-CFS-51222"},
            "parties": [
                {"id": "GB-CFS-51222", "roles": ["procuringEntity"],
                 "identifier": {"scheme": "GB-LAE", "id": "LIN"}},
                {"id": "p2", "roles": ["Buyer"],
                 "identifier": {"scheme": "GB-COH", "id": "GB-COH-01234567"},
                 "additionalIdentifiers": [{"scheme": "GB-CHC", "id": 1099999}]},
                {"id": "p3", "roles": ["supplier"], "identifier": {"scheme": "GB-LAE", "id": "NFK"}}
            ]
        });
        assert!(buyers(&["GB-LAE-LIN"]).matches(&release));
        assert!(buyers(&["GB-COH-01234567"]).matches(&release));
        assert!(buyers(&["GB-CHC-1099999"]).matches(&release));
        assert!(!buyers(&["GB-LAE-NFK"]).matches(&release));
        assert!(!buyers(&["LIN"]).matches(&release));
    }

    #[test]
    fn criteria_are_and_ed_and_the_first_failure_is_reported() {
        let children_and_853 = Filters {
            cpv: strings(&["853"]),
            keywords: strings(&["children"]),
            ..Filters::default()
        };
        assert_eq!(
            selected(&children_and_853),
            ["076678", "075620", "076877", "075948", "075649"]
        );
        let camden = Filters {
            buyers: strings(&["GB-PPON-PZXL-5842-VBBG"]),
            keywords: strings(&["young carers"]),
            ..Filters::default()
        };
        assert_eq!(selected(&camden), ["075819", "075830"]);

        let camden_social_work = Filters {
            buyers: strings(&["GB-PPON-PZXL-5842-VBBG"]),
            cpv: strings(&["853"]),
            keywords: strings(&["young carers"]),
        };
        assert!(selected(&camden_social_work).is_empty());
        let releases = fts();
        let by_id = |id: &str| releases.iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(
            camden_social_work.mismatch(by_id("075819-2026")),
            Some("cpv")
        );
        assert_eq!(
            camden_social_work.mismatch(by_id("076472-2026")),
            Some("buyers")
        );
        let carers_853 = Filters {
            cpv: strings(&["853"]),
            keywords: strings(&["adhd"]),
            ..Filters::default()
        };
        assert_eq!(carers_853.mismatch(by_id("076472-2026")), Some("keywords"));
        assert_eq!(carers_853.mismatch(by_id("075948-2026")), None);
    }

    #[test]
    fn deserialises_strictly_with_defaults() {
        let filters: Filters = serde_json::from_value(json!({"cpv": ["853"]})).unwrap();
        assert_eq!(filters, cpv(&["853"]));
        let error = serde_json::from_value::<Filters>(json!({"keyword": ["SEND"]})).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `keyword`"),
            "{error}"
        );
    }
}
