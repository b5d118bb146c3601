//! Organisation identity: one spelling of an org-id, comparable names, and the other ids an
//! organisation is known by.
//!
//! Feeds write the same organisation in many ways: `gb-coh-7962245`, `GB-COH-07962245` and
//! `GB COH 07962245` are one company; "The Children's Society Ltd" and "CHILDRENS SOCIETY
//! LIMITED" are one charity; a charitable company appears as `GB-CHC-…` in one dataset and
//! `GB-COH-…` in another (`reference/uk-feeds.md` 1.8, 2.4, 4.2). These functions are pure, so
//! every adapter normalises the same way before the register compares anything.
//!
//! # Org-id rules ([`normalise_org_id`])
//!
//! An org-id is `{list}-{id}` after org-id.guide. The text is trimmed; the parts of a known list
//! code may be separated by `-`, `_` or spaces (`gb_coh 1234`); the list code is upper-cased.
//! Then, by list:
//!
//! | list | id rule | example |
//! |---|---|---|
//! | `GB-COH` | spaces removed, upper-cased; a letter prefix (`SC`, `NI`, `OC`, `SO`, `NC`, `R`, `FC`…) kept and the digits after it zero-padded to 8 characters in all; 8 alphanumerics kept as they are (`IP12345R`) | `GB-COH-SC 12345` → `GB-COH-SC012345` |
//! | `GB-CHC` | digits as written, with an optional `-N` subsidiary suffix kept | `GB-CHC-1012345-1` |
//! | `GB-SC` | `SC` + 6 digits; the `SC` may be left out and short numbers are zero-padded | `GB-SC-12345` → `GB-SC-SC012345` |
//! | `GB-NIC`, `GB-EDU`, `GB-UKPRN` | digits | `GB-NIC-100123` |
//! | `GB-LAE`, `GB-LAS`, `GB-PLA`, `GB-LANI`, `GB-GOR`, `GB-NHS`, `GB-MPR`, `GB-REV`, `GB-PPON` | letters, digits and `-`, upper-cased | `GB-PPON-ABCD-1234-EFGH` |
//! | `GB-CFS`, `GB-SRS` | any text without spaces, as written | `GB-CFS-123` |
//! | `360G` | any text, as written (a publisher's own id) | `360G-trafford-be_active` |
//! | other `{CC}-{LIST}` | upper-cased list code, id as written; hyphens only, no spaces | `us-ein-12-3456789` → `US-EIN-12-3456789` |
//!
//! A known list with an id that breaks its rule, or an all-zero number, is unreadable (`None`):
//! the id would not match the register it names, so it must not match anything here either.
//!
//! Charity numbers are never stripped of leading zeros (Charity Commission numbers have none,
//! so a zero there is part of what was published) and a `-N` subsidiary suffix is kept: a
//! linked charity is a separate entry in the register of charities, and folding it into its
//! parent would merge grants and contracts of two entries. Callers that want the parent can cut
//! the suffix themselves.
//!
//! Unknown lists are accepted only with hyphens and no spaces, so a name such as "GB Foods Ltd"
//! in an identifier column is not read as the list `GB-FOODS`.

/// How the id part of a known list is read.
#[derive(Clone, Copy)]
enum Shape {
    Company,
    EnglandWalesCharity,
    ScottishCharity,
    Digits,
    Code,
    AsWritten,
    PublisherId,
}

/// Known list codes. None is a prefix of another followed by a separator, so the order does not
/// matter.
const SCHEMES: [(&str, Shape); 18] = [
    ("GB-COH", Shape::Company),
    ("GB-CHC", Shape::EnglandWalesCharity),
    ("GB-SC", Shape::ScottishCharity),
    ("GB-NIC", Shape::Digits),
    ("GB-EDU", Shape::Digits),
    ("GB-UKPRN", Shape::Digits),
    ("GB-LAE", Shape::Code),
    ("GB-LAS", Shape::Code),
    ("GB-PLA", Shape::Code),
    ("GB-LANI", Shape::Code),
    ("GB-GOR", Shape::Code),
    ("GB-NHS", Shape::Code),
    ("GB-MPR", Shape::Code),
    ("GB-REV", Shape::Code),
    ("GB-PPON", Shape::Code),
    ("GB-CFS", Shape::AsWritten),
    ("GB-SRS", Shape::AsWritten),
    ("360G", Shape::PublisherId),
];

/// A normalised org-id (org-id.guide `{list}-{id}`), or None when the text is not one we can
/// read. See the module documentation for the rules.
pub fn normalise_org_id(text: &str) -> Option<String> {
    let text = text.trim();
    for (scheme, shape) in SCHEMES {
        if let Some(id) = strip_scheme(text, scheme) {
            return normalise_id(shape, id).map(|id| format!("{scheme}-{id}"));
        }
    }
    unknown_scheme(text)
}

/// The known list code (`GB-COH`, `360G`...) of a normalised org-id, or None for an unknown list
/// or text that is not an org-id.
pub fn known_scheme(org_id: &str) -> Option<&'static str> {
    SCHEMES.iter().map(|(scheme, _)| *scheme).find(|scheme| {
        org_id
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('-'))
    })
}

/// The normalised org-id of an OCDS `identifier` (`{"scheme": "GB-COH", "id": "7962245"}` is
/// `GB-COH-07962245`); an id already written with its scheme (`GB-COH-07962245`) is read as
/// it is. None when the two do not make an org-id.
pub fn from_identifier(scheme: &str, id: &str) -> Option<String> {
    let (scheme, id) = (scheme.trim(), id.trim());
    if scheme.is_empty() || id.is_empty() {
        return None;
    }
    let prefixed = id
        .get(..scheme.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        && id[scheme.len()..].starts_with(['-', '_', ' ']);
    if prefixed {
        normalise_org_id(id)
    } else {
        normalise_org_id(&format!("{scheme}-{id}"))
    }
}

/// The id after `scheme` at the start of `text`, when `text` starts with the scheme's parts
/// separated (and followed) by runs of `-`, `_` or whitespace.
fn strip_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    let mut rest = text;
    for (i, part) in scheme.split('-').enumerate() {
        if i > 0 {
            rest = skip_separators(rest)?;
        }
        let head = rest.get(..part.len())?;
        if !head.eq_ignore_ascii_case(part) {
            return None;
        }
        rest = &rest[part.len()..];
    }
    let id = skip_separators(rest)?;
    (!id.is_empty()).then_some(id)
}

/// `s` after a run of at least one separator.
fn skip_separators(s: &str) -> Option<&str> {
    let rest = s.trim_start_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
    (rest.len() < s.len()).then_some(rest)
}

fn normalise_id(shape: Shape, id: &str) -> Option<String> {
    match shape {
        Shape::Company => company_number(id),
        Shape::EnglandWalesCharity => {
            let (number, suffix) = match id.split_once('-') {
                Some((number, suffix)) => (number, Some(suffix)),
                None => (id, None),
            };
            if !is_number(number) || suffix.is_some_and(|s| !all_digits(s)) {
                return None;
            }
            Some(id.to_owned())
        }
        Shape::ScottishCharity => {
            let compact = compact_upper(id);
            let digits = compact.strip_prefix("SC").unwrap_or(&compact);
            if !is_number(digits) || digits.len() > 6 {
                return None;
            }
            Some(format!("SC{digits:0>6}"))
        }
        Shape::Digits => is_number(id).then(|| id.to_owned()),
        Shape::Code => {
            let ok = id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && id.bytes().any(|b| b.is_ascii_alphanumeric());
            ok.then(|| id.to_ascii_uppercase())
        }
        Shape::AsWritten => (!id.contains(char::is_whitespace)).then(|| id.to_owned()),
        Shape::PublisherId => Some(id.to_owned()),
    }
}

/// A Companies House number: 8 characters, a letter prefix kept and zeros after it.
fn company_number(id: &str) -> Option<String> {
    let compact = compact_upper(id);
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) || compact.is_empty() {
        return None;
    }
    let letters = compact.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (prefix, digits) = compact.split_at(letters);
    if letters <= 2 && is_number(digits) && compact.len() <= 8 {
        let width = 8 - prefix.len();
        return Some(format!("{prefix}{digits:0>width$}"));
    }
    // Full-length numbers of other shapes (industrial and provident societies: `IP12345R`)
    // are already complete; only short ones need padding.
    let has_digit = compact.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    (compact.len() == 8 && has_digit).then_some(compact)
}

fn unknown_scheme(text: &str) -> Option<String> {
    if text.contains(char::is_whitespace) {
        return None;
    }
    let mut parts = text.splitn(3, '-');
    let country = parts.next()?;
    let list = parts.next()?;
    let id = parts.next()?;
    let readable = country.len() == 2
        && country.bytes().all(|b| b.is_ascii_alphabetic())
        && !list.is_empty()
        && list.bytes().all(|b| b.is_ascii_alphanumeric())
        && !id.is_empty();
    readable.then(|| {
        format!(
            "{}-{}-{id}",
            country.to_ascii_uppercase(),
            list.to_ascii_uppercase()
        )
    })
}

fn compact_upper(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digits, not all zeros: `0` and `00000000` are what spreadsheets hold for "no number".
fn is_number(s: &str) -> bool {
    all_digits(s) && s.bytes().any(|b| b != b'0')
}

// ---------------------------------------------------------------------------------------------
// Names

/// Lower-case words for matching organisation names: punctuation dropped, `&`/`+` → `and`,
/// `Ltd`/`Ltd.` → `limited`, `Public Limited Company` → `plc`, `Community Interest Company` →
/// `cic`, a leading `the` dropped, whitespace collapsed. Apostrophes and full stops are dropped
/// without a space (children's → childrens, C.I.C. → cic); other punctuation separates words
/// (G-Force → g force).
///
/// A name with a trading name (`t/a`, `t/as`, `trading as`) normalises to its first name, the
/// one before the marker; [`name_keys`] gives all of them.
pub fn normalise_name(name: &str) -> String {
    name_keys(name).into_iter().next().unwrap_or_default()
}

/// The names an organisation trades under, each normalised as by [`normalise_name`], in order
/// and without repeats: `"ACME LTD T/A Happy Kids"` → `["acme limited", "happy kids"]`. The
/// markers are `t/a`, `t/as` and `trading as` as whole words, in any case.
pub fn name_keys(name: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for piece in split_trading_names(name) {
        let key = normalise_words(piece);
        if !key.is_empty() && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Trading-name markers; `/` may have spaces around it and a space may be several.
const TRADING_MARKERS: [&str; 3] = ["trading as", "t/as", "t/a"];

fn split_trading_names(name: &str) -> Vec<&str> {
    // ASCII lower-casing keeps byte offsets, and the markers are ASCII.
    let lower = name.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let boundary_before = i == 0 || !is_word_byte(bytes[i - 1]);
        let matched = boundary_before
            .then(|| {
                TRADING_MARKERS
                    .iter()
                    .find_map(|marker| match_marker(bytes, i, marker))
            })
            .flatten();
        match matched {
            Some(end) => {
                pieces.push(&name[start..i]);
                start = end;
                i = end;
            }
            None => i += 1,
        }
    }
    pieces.push(&name[start..]);
    pieces
}

/// The end of `marker` matched at `at`, when it ends at a word boundary.
fn match_marker(text: &[u8], at: usize, marker: &str) -> Option<usize> {
    let mut i = at;
    for &m in marker.as_bytes() {
        match m {
            b' ' => {
                let spaces = count_spaces(&text[i..]);
                if spaces == 0 {
                    return None;
                }
                i += spaces;
            }
            b'/' => {
                i += count_spaces(&text[i..]);
                if text.get(i) != Some(&b'/') {
                    return None;
                }
                i += 1;
                i += count_spaces(&text[i..]);
            }
            _ => {
                if text.get(i) != Some(&m) {
                    return None;
                }
                i += 1;
            }
        }
    }
    let boundary_after = text.get(i).is_none_or(|&b| !is_word_byte(b));
    boundary_after.then_some(i)
}

fn count_spaces(text: &[u8]) -> usize {
    text.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// Non-ASCII bytes count as word bytes, so a marker next to a letter such as "é" is not split.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || !b.is_ascii()
}

/// Multi-word legal forms written as their abbreviation, so "Acme Public Limited Company" and
/// "ACME PLC" compare equal.
const LEGAL_FORMS: [(&[&str], &str); 2] = [
    (&["public", "limited", "company"], "plc"),
    (&["community", "interest", "company"], "cic"),
];

fn normalise_words(name: &str) -> String {
    let mut cleaned = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\'' | '\u{2018}' | '\u{2019}' | '`' | '\u{b4}' | '.' => {}
            '&' | '+' => cleaned.push_str(" and "),
            c if c.is_alphanumeric() => cleaned.extend(c.to_lowercase()),
            _ => cleaned.push(' '),
        }
    }
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        if let Some((form, short)) = LEGAL_FORMS
            .iter()
            .find(|(form, _)| words[i..].starts_with(form))
        {
            out.push(short);
            i += form.len();
            continue;
        }
        out.push(match words[i] {
            "ltd" => "limited",
            word => word,
        });
        i += 1;
    }
    if out.len() > 1 && out[0] == "the" {
        out.remove(0);
    }
    out.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Equivalent ids and individuals

/// Every normalised org-id a recipient is known by, given its `id` and the unprefixed
/// `charityNumber` and `companyNumber` of a 360Giving organisation: a charitable company with
/// `GB-COH-07962245` and charity number `1146179` is also `GB-CHC-1146179`. The id comes first,
/// then the charity, then the company; unreadable parts are left out and repeats dropped.
///
/// A charity number is read as `GB-SC` when it starts with `SC`, as `GB-NIC` when it starts with
/// `NIC` or `NI` or the id itself is a `GB-NIC` one, else as `GB-CHC`. Numbers already written
/// as org-ids (`GB-CHC-1146179`) are taken as they are.
pub fn equivalent_ids(
    id: &str,
    charity_number: Option<&str>,
    company_number: Option<&str>,
) -> Vec<String> {
    let main = normalise_org_id(id);
    let northern_irish = main.as_deref().is_some_and(|m| m.starts_with("GB-NIC-"));
    let charity = charity_number.and_then(|n| charity_org_id(n, northern_irish));
    let company = company_number.and_then(company_org_id);
    let mut ids: Vec<String> = Vec::new();
    for found in [main, charity, company].into_iter().flatten() {
        if !ids.contains(&found) {
            ids.push(found);
        }
    }
    ids
}

fn charity_org_id(number: &str, northern_irish: bool) -> Option<String> {
    let number = number.trim();
    if let Some(id) = normalise_org_id(number)
        && ["GB-CHC-", "GB-SC-", "GB-NIC-"]
            .iter()
            .any(|p| id.starts_with(p))
    {
        return Some(id);
    }
    let compact = compact_upper(number);
    if compact.starts_with("SC") {
        return normalise_org_id(&format!("GB-SC-{compact}"));
    }
    if let Some(digits) = compact
        .strip_prefix("NIC")
        .or_else(|| compact.strip_prefix("NI"))
    {
        return normalise_org_id(&format!("GB-NIC-{digits}"));
    }
    let list = if northern_irish { "GB-NIC" } else { "GB-CHC" };
    normalise_org_id(&format!("{list}-{compact}"))
}

fn company_org_id(number: &str) -> Option<String> {
    if let Some(id) = normalise_org_id(number)
        && id.starts_with("GB-COH-")
    {
        return Some(id);
    }
    normalise_org_id(&format!("GB-COH-{}", number.trim()))
}

/// Whether a recipient or supplier name is a note that the name was withheld or that the
/// recipient is a person, rather than an organisation's name: "REDACTED", "Redacted – personal
/// data", "Individual", "Private individual", "Personal data", "Withheld", "[redacted]".
///
/// This is [`crate::privacy::is_redaction_marker`], so grants and releases hide the same names:
/// the name must be made only of words of a small vocabulary of such notes ("redacted",
/// "personal", "data", "individual", "private", "under", "dp", "act"…), at least one of them a
/// keyword ("redacted", "redaction", "withheld", "personal", "individual"); case, punctuation
/// and spacing do not matter. An exact list of whole cells would miss the many spellings
/// publishers use ("REDACTED UNDER DP ACT", "Personal data – withheld"), while a substring test
/// would hide companies: "Individual Solutions Ltd" and "REDACTIVE PUBLISHING LIMITED" each
/// have a word outside the vocabulary, so they are names.
pub fn is_individual_marker(name: &str) -> bool {
    crate::privacy::is_redaction_marker(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Option<String> {
        normalise_org_id(text)
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn scheme_is_trimmed_upper_cased_and_separators_unified() {
        assert_eq!(id("  gb-chc-1012345 "), some("GB-CHC-1012345"));
        assert_eq!(id("GB_CHC_1012345"), some("GB-CHC-1012345"));
        assert_eq!(id("gb chc 1012345"), some("GB-CHC-1012345"));
        assert_eq!(id("GB - COH - 07962245"), some("GB-COH-07962245"));
        assert_eq!(id("gb-lae-trf"), some("GB-LAE-TRF"));
    }

    #[test]
    fn company_numbers_are_eight_characters_with_their_prefix() {
        assert_eq!(id("GB-COH-1234"), some("GB-COH-00001234"));
        assert_eq!(id("GB-COH-07962245"), some("GB-COH-07962245"));
        assert_eq!(id("GB-COH-7962245"), some("GB-COH-07962245"));
        assert_eq!(id("GB-COH-sc123456"), some("GB-COH-SC123456"));
        assert_eq!(id("GB-COH-SC 12345"), some("GB-COH-SC012345"));
        assert_eq!(id("GB-COH-ni5"), some("GB-COH-NI000005"));
        assert_eq!(id("GB-COH-OC301234"), some("GB-COH-OC301234"));
        assert_eq!(id("GB-COH-R123"), some("GB-COH-R0000123"));
        assert_eq!(id("GB-COH-fc12345"), some("GB-COH-FC012345"));
        assert_eq!(id("GB-COH-ip12345r"), some("GB-COH-IP12345R"));
    }

    #[test]
    fn unreadable_company_numbers_are_none() {
        assert_eq!(id("GB-COH-123456789"), None);
        assert_eq!(id("GB-COH-SC1234567"), None);
        assert_eq!(id("GB-COH-ABC123"), None);
        assert_eq!(id("GB-COH-00000000"), None);
        assert_eq!(id("GB-COH-N/A"), None);
        assert_eq!(id("GB-COH-"), None);
        assert_eq!(id("GB-COH"), None);
    }

    #[test]
    fn charity_numbers_keep_zeros_and_subsidiary_suffix() {
        assert_eq!(id("GB-CHC-1146179"), some("GB-CHC-1146179"));
        assert_eq!(id("GB-CHC-0216250"), some("GB-CHC-0216250"));
        assert_eq!(id("GB-CHC-1012345-1"), some("GB-CHC-1012345-1"));
        assert_eq!(id("GB-CHC-SC012345"), None);
        assert_eq!(id("GB-CHC-1012345-A"), None);
        assert_eq!(id("GB-CHC-0"), None);
    }

    #[test]
    fn scottish_charities_are_sc_and_six_digits() {
        assert_eq!(id("GB-SC-sc012345"), some("GB-SC-SC012345"));
        assert_eq!(id("GB-SC-SC012345"), some("GB-SC-SC012345"));
        assert_eq!(id("GB-SC-12345"), some("GB-SC-SC012345"));
        assert_eq!(id("GB-SC-SC 12345"), some("GB-SC-SC012345"));
        assert_eq!(id("GB-SC-SC1234567"), None);
        assert_eq!(id("GB-SCOTLAND-1"), some("GB-SCOTLAND-1"));
    }

    #[test]
    fn digit_lists_accept_digits_only() {
        assert_eq!(id("gb-nic-100123"), some("GB-NIC-100123"));
        assert_eq!(id("GB-NIC-NIC100123"), None);
        assert_eq!(id("GB-EDU-100000"), some("GB-EDU-100000"));
        assert_eq!(id("GB-UKPRN-10001234"), some("GB-UKPRN-10001234"));
        assert_eq!(id("GB-UKPRN-1000 1234"), None);
    }

    #[test]
    fn code_lists_are_upper_cased() {
        assert_eq!(id("GB-PPON-abcd-1234-efgh"), some("GB-PPON-ABCD-1234-EFGH"));
        assert_eq!(id("GB-PPON-ABCD-1234-EFGH"), some("GB-PPON-ABCD-1234-EFGH"));
        assert_eq!(id("gb-las-edi"), some("GB-LAS-EDI"));
        assert_eq!(id("GB-PLA-CRF"), some("GB-PLA-CRF"));
        assert_eq!(id("gb-lani-bel"), some("GB-LANI-BEL"));
        assert_eq!(id("GB-GOR-pb1"), some("GB-GOR-PB1"));
        assert_eq!(id("gb-nhs-qwo"), some("GB-NHS-QWO"));
        assert_eq!(id("GB-MPR-30041r"), some("GB-MPR-30041R"));
        assert_eq!(id("GB-REV-ab12345"), some("GB-REV-AB12345"));
        assert_eq!(id("GB-LAE-T R F"), None);
        assert_eq!(id("GB-NHS-R&D"), None);
    }

    #[test]
    fn feed_internal_and_publisher_ids_keep_their_case() {
        assert_eq!(id("gb-cfs-12345"), some("GB-CFS-12345"));
        assert_eq!(id("GB-SRS-Ab12Cd"), some("GB-SRS-Ab12Cd"));
        assert_eq!(id("GB-SRS-Ab 12"), None);
        assert_eq!(
            id("360G-trafford-altrincham_childrens_choir"),
            some("360G-trafford-altrincham_childrens_choir")
        );
        assert_eq!(
            id("360g-Trafford-Be Active"),
            some("360G-Trafford-Be Active")
        );
    }

    #[test]
    fn unknown_lists_pass_through_with_hyphens_only() {
        assert_eq!(id("us-ein-12-3456789"), some("US-EIN-12-3456789"));
        assert_eq!(id("nl-kvk-41202536"), some("NL-KVK-41202536"));
        assert_eq!(id("XI-IATI-abc"), some("XI-IATI-abc"));
        assert_eq!(id("GB Foods Ltd"), None);
        assert_eq!(id("GB-FOODS-Ltd Co"), None);
        assert_eq!(id("1146179"), None);
        assert_eq!(id("ABC-DEF-1"), None);
        assert_eq!(id(""), None);
        assert_eq!(id("   "), None);
    }

    #[test]
    fn known_schemes_of_normalised_ids() {
        assert_eq!(known_scheme("GB-COH-07962245"), Some("GB-COH"));
        assert_eq!(known_scheme("GB-SC-SC012345"), Some("GB-SC"));
        assert_eq!(known_scheme("GB-SCOTLAND-1"), None);
        assert_eq!(known_scheme("360G-trafford-x"), Some("360G"));
        assert_eq!(known_scheme("US-EIN-12-3456789"), None);
        assert_eq!(known_scheme("GB-COH-"), None);
        assert_eq!(known_scheme("buyer-1"), None);
    }

    #[test]
    fn identifiers_make_org_ids() {
        assert_eq!(
            from_identifier("GB-COH", "7962245"),
            some("GB-COH-07962245")
        );
        assert_eq!(
            from_identifier(" gb-coh ", "GB-COH-07962245"),
            some("GB-COH-07962245")
        );
        assert_eq!(from_identifier("GB-CHC", "1146179"), some("GB-CHC-1146179"));
        assert_eq!(from_identifier("GB-CHC", "n/a"), None);
        assert_eq!(from_identifier("internal", "1234"), None);
        assert_eq!(from_identifier("", "1234"), None);
    }

    #[test]
    fn names_normalise_alike() {
        assert_eq!(
            normalise_name("The Children's Society Ltd"),
            "childrens society limited"
        );
        assert_eq!(
            normalise_name("CHILDRENS SOCIETY LIMITED"),
            "childrens society limited"
        );
        assert_eq!(
            normalise_name("Smith & Sons Ltd."),
            "smith and sons limited"
        );
        assert_eq!(normalise_name("Smith+Sons"), "smith and sons");
        assert_eq!(normalise_name("ACME PLC"), "acme plc");
        assert_eq!(normalise_name("Acme Public Limited Company"), "acme plc");
        assert_eq!(normalise_name("Kids First C.I.C."), "kids first cic");
        assert_eq!(
            normalise_name("Kids First Community Interest Company"),
            "kids first cic"
        );
        assert_eq!(normalise_name("G-Force"), "g force");
        assert_eq!(
            normalise_name("  St  Anne’s   (Trafford) "),
            "st annes trafford"
        );
        assert_eq!(
            normalise_name("Theatre of the Young"),
            "theatre of the young"
        );
        assert_eq!(normalise_name("The"), "the");
        assert_eq!(normalise_name("Café Ltd"), "café limited");
        assert_eq!(normalise_name(""), "");
    }

    #[test]
    fn trading_names_are_separate_keys() {
        assert_eq!(
            name_keys("ACME LTD T/A Happy Kids"),
            vec!["acme limited", "happy kids"]
        );
        assert_eq!(
            name_keys("Acme Ltd trading as The Happy Kids"),
            vec!["acme limited", "happy kids"]
        );
        assert_eq!(
            name_keys("J Bloggs Ltd (t/as Bright Start)"),
            vec!["j bloggs limited", "bright start"]
        );
        assert_eq!(name_keys("ACME LTD T / A Acme Ltd"), vec!["acme limited"]);
        assert_eq!(name_keys("Acme Ltd T/A"), vec!["acme limited"]);
        assert_eq!(
            name_keys("Trading Associates Ltd"),
            vec!["trading associates limited"]
        );
        assert_eq!(name_keys("Beta/Alpha Ltd"), vec!["beta alpha limited"]);
        assert_eq!(normalise_name("ACME LTD T/A Happy Kids"), "acme limited");
        assert!(name_keys("  ").is_empty());
    }

    #[test]
    fn equivalent_ids_of_a_charitable_company() {
        assert_eq!(
            equivalent_ids("GB-COH-07962245", Some("1146179"), Some("07962245")),
            vec!["GB-COH-07962245", "GB-CHC-1146179"]
        );
        assert_eq!(
            equivalent_ids("GB-CHC-1012345", None, Some("1234567")),
            vec!["GB-CHC-1012345", "GB-COH-01234567"]
        );
        assert_eq!(
            equivalent_ids("360G-trafford-x", Some(" SC012345 "), Some("sc 12")),
            vec!["360G-trafford-x", "GB-SC-SC012345", "GB-COH-SC000012"]
        );
        assert_eq!(
            equivalent_ids("GB-NIC-100123", Some("100123"), None),
            vec!["GB-NIC-100123"]
        );
        assert_eq!(
            equivalent_ids("360G-x-1", Some("NIC100456"), None),
            vec!["360G-x-1", "GB-NIC-100456"]
        );
        assert_eq!(
            equivalent_ids("360G-x-1", Some("GB-CHC-1146179"), Some("GB-COH-7962245")),
            vec!["360G-x-1", "GB-CHC-1146179", "GB-COH-07962245"]
        );
        assert_eq!(
            equivalent_ids("not an id", Some("n/a"), Some("0")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn individual_markers_are_whole_notes_not_names() {
        for marker in [
            "REDACTED",
            "Redacted – personal data",
            "Individual",
            "Private individual",
            "Personal data",
            "Withheld",
            "[redacted]",
            "REDACTED UNDER DP ACT",
        ] {
            assert!(is_individual_marker(marker), "{marker}");
        }
        for name in [
            "REDACTIVE PUBLISHING LIMITED",
            "Individual Solutions Ltd",
            "Personal Data Services Ltd",
            "Private Fostering Agency",
            "",
        ] {
            assert!(!is_individual_marker(name), "{name}");
        }
    }
}
