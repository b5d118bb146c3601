//! Overlapping needs across agencies: commissioning intentions, opportunities and contracts of
//! *different* agencies that look like the same need. Such a pair is a candidate for joint
//! commissioning (two agencies about to buy the same thing) or a sign of duplicated spend (two
//! agencies already paying for it). Pure and deterministic, no I/O: [`find_overlaps`] takes the
//! candidates and a threshold and returns the pairs, best first.
//!
//! # What counts as an overlap (the public definition)
//!
//! **Different agencies.** A pair is considered only if its buyers differ: both known and
//! unequal (org-ids compared trimmed and case-insensitively). If either buyer is unknown, the
//! agency sets are compared instead (buyer plus `agencies` of each side) and must be disjoint
//! and both non-empty: a candidate that names no agency at all is never paired, since nothing
//! says it belongs to a different agency. A same-buyer pair is never an overlap: that is one
//! agency's own pipeline (an intention followed by its contract).
//!
//! **Component scores**, each in 0..1 and rounded to 3 decimals:
//!
//! * **service**: the longest prefix shared by any CPV code of one side with any of the other
//!   (codes are 8 digits without the check digit; a `-d` check digit is dropped, anything else
//!   that is not 8 ASCII digits is ignored): 8 digits → 1.0, 5-7 → 0.8, 4 → 0.6, 3 → 0.3,
//!   shorter → 0. When either side has no usable CPV code, the same `service_category`
//!   (trimmed, case and inner whitespace folded) scores 0.6, otherwise 0.
//! * **area**: the delivery area text is split into lowercase alphanumeric tokens, ignoring
//!   generic words (`uk`, `england`, `and`, `of`, `the`, `county`, `council`, and also `gb`,
//!   `united`, `kingdom`, `great`, `britain`, `borough`, `city`, `district`, `metropolitan`,
//!   `region`, `area`, `authority`, `local`, `national`, `nationwide`, `wide`, `whole`, `in`).
//!   Same token set → 1.0; some shared *place* → 0.7; unknown on either side (no area, or only
//!   ignored words such as "England" or "National") → 0.3; otherwise 0. A place is a
//!   non-directional token (`north`, `south`, `east`, `west`, `central`, `mid`, `greater`, …
//!   are not places on their own, so "North West" and "North East" share no place) or a whole
//!   place phrase (the area is split on `;`, `,`, `/`, `|` and newlines, so "North West" does
//!   share the place "north west" with "Wyvern; North West").
//! * **period**: a candidate's period runs from `start` to `end` (one missing bound means the
//!   period is the single day of the other; reversed bounds are swapped; both missing means
//!   unknown). Overlapping (ends inclusive) → 1.0; the later one starts at most 12 calendar
//!   months after the earlier one ends → 0.5; unknown on either side → 0.3; otherwise 0.
//! * **text**: cosine similarity of the binary word vectors of `title` + `description`
//!   (|A∩B| / √(|A|·|B|)). Words: lowercase, split on non-alphanumerics; words shorter than 3
//!   characters, all-digit words (years, lot numbers) and stopwords are dropped; a light stem
//!   strips a plural (`-sses`/`-xes`/`-ches`/`-shes` → drop `es`, `-ies` → `i`, else a trailing
//!   `s` unless the word ends in `ss`, `us` or `is`), then a trailing `-ing`, then turns a
//!   trailing consonant + `y` into `i` (so "families", "family" and "services", "service" meet;
//!   a stem is never shorter than 3 characters). The stopwords are common English function
//!   words plus the words that appear in nearly every notice of this register and so carry no
//!   signal ("service", "provision", "provider", "contract", "children", "young", "people", …).
//!   Cosine rather than Jaccard: a title-only intention compared with a contract that also has
//!   a long description is not punished for the extra words as hard (Jaccard divides by the
//!   union, cosine by the geometric mean of the sizes).
//!
//! **Score** = 0.35·service + 0.2·area + 0.15·period + 0.3·text, rounded to 3 decimals. A pair
//! is reported when score ≥ `min_score` **and** (service ≥ 0.6 **or** text ≥ 0.35): the same
//! place and time alone (at most 0.35) never make an overlap; the pair must look like the same
//! *service*, by its codes or by its words.
//!
//! **Reasons**: one [`Reason`] per component that contributed (score > 0); its `score` is the
//! component score (0..1) and the list is ordered by contribution (weight × score) descending,
//! ties in the weight order service, text, area, period. Details read like "same CPV group 85312
//! (first 5 digits)", "same CPV code 85312400", "same service category: Early help (no CPV code
//! on one side)", "same delivery area: Wyvern", "both deliver in wyvern", "periods overlap from
//! 2027-10-01 to 2028-08-31", "periods 92 days apart (one ends 2027-08-31, the other starts
//! 2027-12-01)", "shared words: counselling, mental, school, wellbeing" (a shared stem is shown
//! by its shortest spelling in either text; at most 6 words — the rarest in the input, then
//! sorted alphabetically — with "(+N more)" when there are more).
//!
//! **Order**: score descending, then (ocid of `a`, ocid of `b`) ascending, then the indexes;
//! within a pair `a` is the candidate whose ocid sorts first (the lower index on equal ocids).
//! The result depends only on the input slice and `min_score`.
//!
//! # The default threshold
//!
//! [`DEFAULT_MIN_SCORE`] is 0.55, just over half the total weight, on top of the service/text
//! gate. What reaches it: the same 5-digit CPV group in the same area over overlapping periods
//! (0.28 + 0.2 + 0.15 = 0.63) even without shared words; the same 8-digit code in the same area
//! (0.55); the same 4-digit class in a shared place over overlapping periods with a modest text
//! match (0.21 + 0.14 + 0.15 + 0.3·t ≥ 0.55 for t ≥ 0.17). What does not: the same 4-digit
//! class with nothing else in common, an unknown area and period with no words in common (at
//! most 0.35 + 0.06 + 0.045 = 0.455), and a match on words alone across unrelated codes unless
//! the texts are nearly the same (t ≥ 2/3) and so are place and time. Unrelated pairs (different
//! CPV division, different words) score at most 0.35 and fail the gate anyway; a planted pair
//! (same 5-digit group, shared place, overlapping periods, similar text) scores 0.7 or more.
//!
//! # Blocking, and what it leaves out
//!
//! Comparing every pair is O(n²): 5·10⁹ pairs for 100,000 candidates. Instead candidates only
//! meet in *blocks*: they share a CPV 4-digit class; or they have the same service category and
//! at least one of them has no CPV code (the only case where the category is scored); or they
//! share a *rare* word, one used by at most [`RARE_WORD_MAX_DF`] (200) candidates of the input.
//! Each pair is scored once however many blocks it shares (a per-candidate visit stamp).
//!
//! Consequence: pairs sharing no block are never compared. The service and category blocks are
//! exact: any pair with service ≥ 0.6 shares a 4-digit class or, with no CPV on one side, the
//! category. So a pair can only be missed if service < 0.6 (at most 0.3, a shared 3-digit
//! group) and all of its shared words are common ones, used by more than 200 candidates each.
//! To be reported it would still need text ≥ 0.35 by the gate, and with the default threshold
//! text ≥ (0.55 − 0.105 − 0.2 − 0.15) / 0.3 ≈ 0.32 even in the best case of a shared 3-digit
//! group, the same area and overlapping periods, or text ≥ 2/3 with no service match at all.
//! That is a text made mostly of words hundreds of other candidates use too ("mental health
//! support"): such wording matches a large crowd of candidates equally, so it is not evidence of
//! the *same* need, and a candidate with an informative text has at least one rare word to meet
//! its real counterparts by. This is a deliberate approximation, not a guarantee: two texts
//! made only of common words, nearly identical, under unrelated CPV codes, can be missed. The
//! unit tests check that blocking finds exactly the brute-force pairs on a random set of 300.
//!
//! # Cost
//!
//! Preparation is linear in the size of the text. Scoring visits Σ over blocks of size²/2
//! pairs: at most n · w · 200 for the rare-word blocks (w rare words per candidate), and
//! quadratic in the size of the largest CPV class or category-without-CPV block, which is the
//! number of pairs that really do look like the same service and must be looked at. Each visit
//! is cheap (interned integer sets, no allocation), and reasons are only written for reported
//! pairs, which are then sorted (O(r log r)). Inputs of 4,096 candidates or more are scored on
//! up to 8 scoped threads (`std::thread::available_parallelism`); the result does not depend on
//! the number of threads. See `benches/overlaps.rs` for 100,000 synthetic candidates.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use chrono::{Months, NaiveDateTime};
use serde::Serialize;

/// The threshold to use when the caller has no reason to pick another; see the module doc.
pub const DEFAULT_MIN_SCORE: f64 = 0.55;

/// A word used by at most this many candidates of the input is *rare* and opens a block.
pub const RARE_WORD_MAX_DF: usize = 200;

const W_SERVICE: f64 = 0.35;
const W_AREA: f64 = 0.2;
const W_PERIOD: f64 = 0.15;
const W_TEXT: f64 = 0.3;
/// The gate: a pair must look like the same service by its codes or by its words.
const SERVICE_GATE: f64 = 0.6;
const TEXT_GATE: f64 = 0.35;
const MAX_SHOWN_WORDS: usize = 6;
const MIN_WORD_CHARS: usize = 3;
/// Inputs at least this large are scored on several threads.
const PARALLEL_MIN: usize = 4096;
const MAX_THREADS: usize = 8;
/// Candidates handed to a thread at a time (work sharing over an atomic counter).
const CHUNK: usize = 256;

/// The stage a candidate comes from. Informational: the rules do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Intention,
    Opportunity,
    Contract,
}

/// One intention, opportunity or contract to compare.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub ocid: String,
    pub kind: Kind,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Org-id of the commissioning agency.
    pub buyer: Option<String>,
    /// The buyer plus partner agencies (joint commissioning).
    pub agencies: Vec<String>,
    /// 8-digit CPV codes without check digit, e.g. "85312400".
    pub cpv_codes: Vec<String>,
    pub service_category: Option<String>,
    /// Delivery area text, e.g. "Wyvern; North West".
    pub area: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
}

/// Why a pair was reported: one component of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// `service`, `area`, `period` or `text`.
    pub kind: &'static str,
    /// The component score, 0..1 (not weighted).
    pub score: f64,
    pub detail: String,
}

/// Two candidates of different agencies that look like the same need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// Index into the candidates slice of the candidate whose ocid sorts first.
    pub a: usize,
    /// Index of the other candidate.
    pub b: usize,
    /// Weighted score, 0..1, rounded to 3 decimals.
    pub score: f64,
    /// Contributing components, largest contribution first.
    pub reasons: Vec<Reason>,
}

/// The pairs of `candidates` of different agencies whose score is at least `min_score` and
/// that pass the service/text gate, best first. See the module doc for the rules.
pub fn find_overlaps(candidates: &[Candidate], min_score: f64) -> Vec<Overlap> {
    let threads = if candidates.len() >= PARALLEL_MIN {
        std::thread::available_parallelism().map_or(1, |t| t.get().min(MAX_THREADS))
    } else {
        1
    };
    find_overlaps_on(candidates, min_score, threads)
}

/// [`find_overlaps`] on a given number of threads (at least one).
fn find_overlaps_on(candidates: &[Candidate], min_score: f64, threads: usize) -> Vec<Overlap> {
    let index = Index::build(candidates);
    let blocks = Blocks::build(&index);
    let mut hits = scan(&index, &blocks, min_score, threads);
    for hit in &mut hits {
        let (i, j) = (hit.a, hit.b);
        if (&candidates[j].ocid, j) < (&candidates[i].ocid, i) {
            hit.a = j;
            hit.b = i;
        }
    }
    hits.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| candidates[x.a].ocid.cmp(&candidates[y.a].ocid))
            .then_with(|| candidates[x.b].ocid.cmp(&candidates[y.b].ocid))
            .then_with(|| x.a.cmp(&y.a))
            .then_with(|| x.b.cmp(&y.b))
    });
    hits.into_iter()
        .map(|hit| index.overlap(candidates, &hit))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Preparation: every candidate reduced to interned, sorted integer sets.

/// FxHash (as in rustc): fast and deterministic for the interners' short string keys.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let mut rest = [0u8; 8];
        let tail = chunks.remainder();
        rest[..tail.len()].copy_from_slice(tail);
        self.add(u64::from_le_bytes(rest) ^ ((tail.len() as u64) << 56));
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32, BuildHasherDefault<FxHasher>>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct strings");
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// A candidate's delivery area: all kept tokens (for "same") and its places (for "shared").
#[derive(Debug, Clone, PartialEq)]
struct Area {
    tokens: Vec<u32>,
    places: Vec<u32>,
}

/// A candidate's period, inclusive, in seconds since the epoch, with the end plus 12 months.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Period {
    lo: NaiveDateTime,
    hi: NaiveDateTime,
    lo_s: i64,
    hi_s: i64,
    hi_plus_year_s: i64,
}

#[derive(Debug, Default)]
struct Prepared {
    buyer: Option<u32>,
    /// Buyer plus agencies, sorted, unique.
    agencies: Vec<u32>,
    /// Valid 8-digit codes, sorted, unique.
    cpv: Vec<[u8; 8]>,
    category: Option<u32>,
    area: Option<Area>,
    period: Option<Period>,
    /// Word stems, sorted, unique.
    words: Vec<u32>,
    /// Parallel to `words`: the shortest spelling of each stem in this candidate's text.
    spellings: Vec<u32>,
}

struct Index {
    prepared: Vec<Prepared>,
    stems: Interner,
    spellings: Interner,
    places: Interner,
    categories: Interner,
    /// Document frequency of each stem (candidates using it).
    df: Vec<u32>,
}

impl Index {
    fn build(candidates: &[Candidate]) -> Index {
        let mut orgs = Interner::default();
        let mut index = Index {
            prepared: Vec::with_capacity(candidates.len()),
            stems: Interner::default(),
            spellings: Interner::default(),
            places: Interner::default(),
            categories: Interner::default(),
            df: Vec::new(),
        };
        let mut scratch = Scratch::default();
        for c in candidates {
            let p = index.prepare(c, &mut orgs, &mut scratch);
            index.prepared.push(p);
        }
        let mut df = vec![0u32; index.stems.len()];
        for p in &index.prepared {
            for &w in &p.words {
                df[w as usize] += 1;
            }
        }
        index.df = df;
        index
    }

    fn prepare(&mut self, c: &Candidate, orgs: &mut Interner, scratch: &mut Scratch) -> Prepared {
        let buyer = c
            .buyer
            .as_deref()
            .and_then(org_key)
            .map(|k| orgs.intern(&k));
        let mut agencies: Vec<u32> = c
            .agencies
            .iter()
            .filter_map(|a| org_key(a))
            .map(|k| orgs.intern(&k))
            .chain(buyer)
            .collect();
        agencies.sort_unstable();
        agencies.dedup();

        let mut cpv: Vec<[u8; 8]> = c.cpv_codes.iter().filter_map(|s| cpv_code(s)).collect();
        cpv.sort_unstable();
        cpv.dedup();

        let category = c
            .service_category
            .as_deref()
            .and_then(category_key)
            .map(|k| self.categories.intern(&k));

        let area = c.area.as_deref().and_then(|a| self.area(a, scratch));
        let period = period(c.start, c.end);
        let (words, spellings) = self.words(c, scratch);
        Prepared {
            buyer,
            agencies,
            cpv,
            category,
            area,
            period,
            words,
            spellings,
        }
    }

    fn area(&mut self, text: &str, scratch: &mut Scratch) -> Option<Area> {
        let mut tokens = Vec::new();
        let mut places = Vec::new();
        for phrase in text.split([';', ',', '/', '|', '\n']) {
            scratch.phrase.clear();
            for_each_word(phrase, &mut scratch.word, |token| {
                if AREA_IGNORED.contains(&token) {
                    return;
                }
                if !scratch.phrase.is_empty() {
                    scratch.phrase.push(' ');
                }
                scratch.phrase.push_str(token);
                let id = self.places.intern(token);
                tokens.push(id);
                if !DIRECTIONAL.contains(&token) {
                    places.push(id);
                }
            });
            if !scratch.phrase.is_empty() {
                places.push(self.places.intern(&scratch.phrase));
            }
        }
        if tokens.is_empty() {
            return None;
        }
        tokens.sort_unstable();
        tokens.dedup();
        places.sort_unstable();
        places.dedup();
        Some(Area { tokens, places })
    }

    fn words(&mut self, c: &Candidate, scratch: &mut Scratch) -> (Vec<u32>, Vec<u32>) {
        let mut found: Vec<(u32, u32)> = Vec::new();
        for text in [c.title.as_deref(), c.description.as_deref()]
            .into_iter()
            .flatten()
        {
            let (stems, spellings, stem_buf) =
                (&mut self.stems, &mut self.spellings, &mut scratch.stem);
            for_each_word(text, &mut scratch.word, |word| {
                if let Some(stem) = text_stem(word, stem_buf) {
                    found.push((stems.intern(stem), spellings.intern(word)));
                }
            });
        }
        let spelling_names = &self.spellings;
        found.sort_unstable_by(|x, y| {
            x.0.cmp(&y.0).then_with(|| {
                let (a, b) = (spelling_names.name(x.1), spelling_names.name(y.1));
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            })
        });
        found.dedup_by_key(|x| x.0);
        found.into_iter().unzip()
    }

    fn overlap(&self, candidates: &[Candidate], hit: &Hit) -> Overlap {
        let (a, b) = (&self.prepared[hit.a], &self.prepared[hit.b]);
        let (ca, cb) = (&candidates[hit.a], &candidates[hit.b]);
        let mut reasons: Vec<(f64, usize, Reason)> = Vec::with_capacity(4);
        if hit.service > 0.0 {
            let detail = match service(a, b).1 {
                ServiceMatch::Cpv { code, len: 8 } => {
                    format!("same CPV code {}", digits(&code))
                }
                ServiceMatch::Cpv { code, len } => {
                    format!(
                        "same CPV group {} (first {len} digits)",
                        digits(&code[..len])
                    )
                }
                ServiceMatch::Category | ServiceMatch::None => format!(
                    "same service category: {} (no CPV code on one side)",
                    shown_category(ca, cb)
                ),
            };
            reasons.push((
                W_SERVICE * hit.service,
                0,
                reason("service", hit.service, detail),
            ));
        }
        if hit.text > 0.0 {
            let detail = self.shared_words(a, b);
            reasons.push((W_TEXT * hit.text, 1, reason("text", hit.text, detail)));
        }
        if hit.area > 0.0 {
            let detail = match (&a.area, &b.area) {
                (Some(x), Some(y)) if x.tokens == y.tokens => format!(
                    "same delivery area: {}",
                    ca.area
                        .as_deref()
                        .or(cb.area.as_deref())
                        .unwrap_or("")
                        .trim()
                ),
                (Some(x), Some(y)) => format!("both deliver in {}", self.shared_places(x, y)),
                _ => "delivery area not stated (or national) on one side".to_owned(),
            };
            reasons.push((W_AREA * hit.area, 2, reason("area", hit.area, detail)));
        }
        if hit.period > 0.0 {
            let detail = match (a.period, b.period) {
                (Some(x), Some(y)) if x.lo_s <= y.hi_s && y.lo_s <= x.hi_s => format!(
                    "periods overlap from {} to {}",
                    x.lo.max(y.lo).format("%Y-%m-%d"),
                    x.hi.min(y.hi).format("%Y-%m-%d")
                ),
                (Some(x), Some(y)) => {
                    let (first, second) = if x.hi_s < y.lo_s { (x, y) } else { (y, x) };
                    format!(
                        "periods {} days apart (one ends {}, the other starts {})",
                        (second.lo - first.hi).num_days(),
                        first.hi.format("%Y-%m-%d"),
                        second.lo.format("%Y-%m-%d")
                    )
                }
                _ => "period not stated on one side".to_owned(),
            };
            reasons.push((
                W_PERIOD * hit.period,
                3,
                reason("period", hit.period, detail),
            ));
        }
        reasons.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        Overlap {
            a: hit.a,
            b: hit.b,
            score: hit.score,
            reasons: reasons.into_iter().map(|(_, _, r)| r).collect(),
        }
    }

    /// "shared words: …": the rarest shared stems (at most six), each by its shortest
    /// spelling in either text, sorted alphabetically.
    fn shared_words(&self, a: &Prepared, b: &Prepared) -> String {
        let mut shared: Vec<(u32, &str)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < a.words.len() && j < b.words.len() {
            match a.words[i].cmp(&b.words[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let (x, y) = (
                        self.spellings.name(a.spellings[i]),
                        self.spellings.name(b.spellings[j]),
                    );
                    let shown = if (y.len(), y) < (x.len(), x) { y } else { x };
                    shared.push((self.df[a.words[i] as usize], shown));
                    i += 1;
                    j += 1;
                }
            }
        }
        shared.sort_unstable();
        let more = shared.len().saturating_sub(MAX_SHOWN_WORDS);
        let mut shown: Vec<&str> = shared
            .into_iter()
            .take(MAX_SHOWN_WORDS)
            .map(|(_, w)| w)
            .collect();
        shown.sort_unstable();
        let mut detail = format!("shared words: {}", shown.join(", "));
        if more > 0 {
            detail.push_str(&format!(" (+{more} more)"));
        }
        detail
    }

    /// Shared places, sorted, leaving out a token already shown inside a shared phrase.
    fn shared_places(&self, a: &Area, b: &Area) -> String {
        let shared: Vec<&str> = intersection(&a.places, &b.places)
            .map(|id| self.places.name(id))
            .collect();
        let mut shown: Vec<&str> = shared
            .iter()
            .copied()
            .filter(|p| {
                !shared
                    .iter()
                    .any(|q| q != p && q.split(' ').any(|w| w == *p))
            })
            .collect();
        shown.sort_unstable();
        shown.join(", ")
    }
}

#[derive(Default)]
struct Scratch {
    word: String,
    stem: String,
    phrase: String,
}

fn reason(kind: &'static str, score: f64, detail: String) -> Reason {
    Reason {
        kind,
        score,
        detail,
    }
}

fn shown_category<'a>(a: &'a Candidate, b: &'a Candidate) -> &'a str {
    a.service_category
        .as_deref()
        .or(b.service_category.as_deref())
        .unwrap_or("")
        .trim()
}

fn digits(code: &[u8]) -> String {
    code.iter().map(|&d| char::from(d)).collect()
}

fn org_key(id: &str) -> Option<String> {
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_lowercase())
}

fn category_key(category: &str) -> Option<String> {
    let key = category
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!key.is_empty()).then_some(key)
}

/// An 8-digit CPV code without its check digit ("85312400" or "85312400-2"), else `None`.
fn cpv_code(s: &str) -> Option<[u8; 8]> {
    let s = s.trim();
    let code = s.split_once('-').map_or(s, |(code, _)| code).trim();
    let bytes: [u8; 8] = code.as_bytes().try_into().ok()?;
    bytes.iter().all(u8::is_ascii_digit).then_some(bytes)
}

fn period(start: Option<NaiveDateTime>, end: Option<NaiveDateTime>) -> Option<Period> {
    let (lo, hi) = match (start, end) {
        (Some(s), Some(e)) => (s.min(e), s.max(e)),
        (Some(d), None) | (None, Some(d)) => (d, d),
        (None, None) => return None,
    };
    let hi_plus_year = hi.checked_add_months(Months::new(12));
    Some(Period {
        lo,
        hi,
        lo_s: lo.and_utc().timestamp(),
        hi_s: hi.and_utc().timestamp(),
        hi_plus_year_s: hi_plus_year.map_or(i64::MAX, |d| d.and_utc().timestamp()),
    })
}

/// Calls `f` with each lowercase alphanumeric run of `text`.
fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if ch.is_ascii() {
                buf.push(ch.to_ascii_lowercase());
            } else {
                buf.extend(ch.to_lowercase());
            }
        } else if !buf.is_empty() {
            f(buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(buf);
        buf.clear();
    }
}

/// The stem of a lowercase word for the text score, or `None` if the word is dropped.
fn text_stem<'b>(word: &str, out: &'b mut String) -> Option<&'b str> {
    if word.chars().count() < MIN_WORD_CHARS
        || word.chars().all(char::is_numeric)
        || is_stopword(word)
    {
        return None;
    }
    stem_into(word, out);
    (!is_stopword(out)).then_some(out.as_str())
}

/// The light stem described in the module doc. Suffixes are ASCII, so slicing is safe.
fn stem_into(word: &str, out: &mut String) {
    out.clear();
    out.push_str(word);
    let long_enough = |s: &str, cut: usize| s.chars().count() >= MIN_WORD_CHARS + cut;
    // Plurals.
    if out.ends_with("ies") && long_enough(out, 2) {
        out.truncate(out.len() - 3);
        out.push('i');
    } else if ["sses", "xes", "ches", "shes"]
        .iter()
        .any(|s| out.ends_with(s))
        && long_enough(out, 2)
    {
        out.truncate(out.len() - 2);
    } else if out.ends_with('s')
        && !["ss", "us", "is"].iter().any(|s| out.ends_with(s))
        && long_enough(out, 1)
    {
        out.truncate(out.len() - 1);
    }
    // Gerunds.
    if out.ends_with("ing") && long_enough(out, 3) {
        out.truncate(out.len() - 3);
    }
    // Consonant + y → i, so "family" meets "families" (→ "famili").
    let bytes = out.as_bytes();
    if bytes.len() >= MIN_WORD_CHARS
        && bytes[bytes.len() - 1] == b'y'
        && !b"aeiouy".contains(&bytes[bytes.len() - 2])
        && bytes[bytes.len() - 2].is_ascii_alphabetic()
    {
        out.pop();
        out.push('i');
    }
}

/// Words of area texts that name no place.
#[rustfmt::skip]
const AREA_IGNORED: &[&str] = &[
    "uk", "gb", "england", "united", "kingdom", "great", "britain", "and", "of", "the", "in",
    "county", "council", "borough", "city", "district", "metropolitan", "region", "area",
    "authority", "local", "national", "nationwide", "wide", "whole",
];

/// Area words that are not a place on their own.
#[rustfmt::skip]
const DIRECTIONAL: &[&str] = &[
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central",
    "mid", "upper", "lower", "inner", "outer", "greater",
];

/// Stopwords of at least 3 characters (shorter words are dropped anyway), sorted: English
/// function words and the words found in nearly every notice of a children's services
/// register ("service", "children", "young", "people", "contract", …).
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "about", "above", "across", "after", "again", "against", "agreement", "all", "also",
    "among", "and", "any", "are", "around", "award", "awarded", "because", "been", "before",
    "being", "below", "between", "both", "but", "can", "child", "children", "commission",
    "commissioned", "commissioning", "contract", "could", "council", "deliver", "delivering",
    "delivery", "did", "does", "doing", "down", "during", "each", "either", "etc", "every",
    "few", "for", "framework", "from", "further", "had", "has", "have", "having", "her", "here",
    "hers", "him", "his", "how", "however", "include", "including", "into", "its", "itself",
    "just", "may", "more", "most", "must", "new", "not", "notice", "now", "off", "once", "only",
    "opportunity", "other", "our", "ours", "out", "over", "own", "people", "per", "person",
    "procurement", "provide", "provider", "providing", "provision", "requirement", "same",
    "service", "shall", "she", "should", "some", "such", "tender", "than", "that", "the",
    "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "too", "under", "until", "upon", "various", "very", "via", "was", "were", "what", "when",
    "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with",
    "within", "without", "would", "yet", "you", "young", "your",
];

fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Scoring.

#[derive(Debug, Clone, Copy, PartialEq)]
enum ServiceMatch {
    Cpv { code: [u8; 8], len: usize },
    Category,
    None,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Whether two candidates belong to different agencies (see the module doc).
fn different_agencies(a: &Prepared, b: &Prepared) -> bool {
    match (a.buyer, b.buyer) {
        (Some(x), Some(y)) => x != y,
        _ => {
            !a.agencies.is_empty()
                && !b.agencies.is_empty()
                && intersection(&a.agencies, &b.agencies).next().is_none()
        }
    }
}

fn service(a: &Prepared, b: &Prepared) -> (f64, ServiceMatch) {
    if a.cpv.is_empty() || b.cpv.is_empty() {
        return match (a.category, b.category) {
            (Some(x), Some(y)) if x == y => (SERVICE_GATE, ServiceMatch::Category),
            _ => (0.0, ServiceMatch::None),
        };
    }
    let mut best = (0, [0u8; 8]);
    'outer: for x in &a.cpv {
        for y in &b.cpv {
            let len = x.iter().zip(y).take_while(|(p, q)| p == q).count();
            if len > best.0 {
                best = (len, *x);
                if len == 8 {
                    break 'outer;
                }
            }
        }
    }
    let score = match best.0 {
        8 => 1.0,
        5..=7 => 0.8,
        4 => 0.6,
        3 => 0.3,
        _ => return (0.0, ServiceMatch::None),
    };
    (
        score,
        ServiceMatch::Cpv {
            code: best.1,
            len: best.0,
        },
    )
}

fn area_score(a: &Prepared, b: &Prepared) -> f64 {
    match (&a.area, &b.area) {
        (Some(x), Some(y)) if x.tokens == y.tokens => 1.0,
        (Some(x), Some(y)) if intersection(&x.places, &y.places).next().is_some() => 0.7,
        (Some(_), Some(_)) => 0.0,
        _ => 0.3,
    }
}

fn period_score(a: &Prepared, b: &Prepared) -> f64 {
    match (a.period, b.period) {
        (Some(x), Some(y)) if x.lo_s <= y.hi_s && y.lo_s <= x.hi_s => 1.0,
        (Some(x), Some(y)) => {
            let (first, second) = if x.hi_s < y.lo_s { (x, y) } else { (y, x) };
            if second.lo_s <= first.hi_plus_year_s {
                0.5
            } else {
                0.0
            }
        }
        _ => 0.3,
    }
}

fn text_score(a: &Prepared, b: &Prepared) -> f64 {
    if a.words.is_empty() || b.words.is_empty() {
        return 0.0;
    }
    let shared = intersection(&a.words, &b.words).count();
    shared as f64 / ((a.words.len() * b.words.len()) as f64).sqrt()
}

/// The common elements of two sorted, unique slices, in order.
fn intersection<'s>(a: &'s [u32], b: &'s [u32]) -> impl Iterator<Item = u32> + 's {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    return Some(a[i - 1]);
                }
            }
        }
        None
    })
}

/// A reported pair before its reasons are written (`a`, `b` are candidate indexes).
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    a: usize,
    b: usize,
    score: f64,
    service: f64,
    area: f64,
    period: f64,
    text: f64,
}

/// Scores one pair by the rules; `None` unless it is an overlap at `min_score`.
fn evaluate(index: &Index, i: usize, j: usize, min_score: f64) -> Option<Hit> {
    let (a, b) = (&index.prepared[i], &index.prepared[j]);
    if !different_agencies(a, b) {
        return None;
    }
    let service = round3(service(a, b).0);
    let text = round3(text_score(a, b));
    if service < SERVICE_GATE && text < TEXT_GATE {
        return None;
    }
    let area = round3(area_score(a, b));
    let period = round3(period_score(a, b));
    let score = round3(W_SERVICE * service + W_AREA * area + W_PERIOD * period + W_TEXT * text);
    (score >= min_score).then_some(Hit {
        a: i,
        b: j,
        score,
        service,
        area,
        period,
        text,
    })
}

// ---------------------------------------------------------------------------------------------
// Blocking.

/// Posting lists (ascending candidate indexes) of the blocks.
struct Blocks {
    /// By CPV 4-digit class (0..10000).
    cpv_class: Vec<Vec<usize>>,
    /// By category: every candidate with it, and those among them without CPV codes.
    category_all: Vec<Vec<usize>>,
    category_no_cpv: Vec<Vec<usize>>,
    /// By stem; empty for common stems (used by more than [`RARE_WORD_MAX_DF`] candidates).
    rare_word: Vec<Vec<usize>>,
}

fn cpv_class(code: &[u8; 8]) -> usize {
    code[..4]
        .iter()
        .fold(0, |acc, &d| acc * 10 + usize::from(d - b'0'))
}

fn is_rare(index: &Index, word: u32) -> bool {
    index.df[word as usize] as usize <= RARE_WORD_MAX_DF
}

impl Blocks {
    fn build(index: &Index) -> Blocks {
        let mut blocks = Blocks {
            cpv_class: vec![Vec::new(); 10_000],
            category_all: vec![Vec::new(); index.categories.len()],
            category_no_cpv: vec![Vec::new(); index.categories.len()],
            rare_word: vec![Vec::new(); index.stems.len()],
        };
        for (i, p) in index.prepared.iter().enumerate() {
            let mut last = usize::MAX;
            for code in &p.cpv {
                let class = cpv_class(code);
                if class != last {
                    blocks.cpv_class[class].push(i);
                    last = class;
                }
            }
            if let Some(c) = p.category {
                blocks.category_all[c as usize].push(i);
                if p.cpv.is_empty() {
                    blocks.category_no_cpv[c as usize].push(i);
                }
            }
            for &w in &p.words {
                if is_rare(index, w) {
                    blocks.rare_word[w as usize].push(i);
                }
            }
        }
        blocks
    }

    /// Calls `f` once with each candidate `j > i` sharing a block with candidate `i`.
    /// `stamp` holds, per candidate, the last `i` it was visited for.
    fn for_each_partner(
        &self,
        index: &Index,
        i: usize,
        stamp: &mut [usize],
        mut f: impl FnMut(usize),
    ) {
        let p = &index.prepared[i];
        let mut visit = |list: &[usize]| {
            let from = list.partition_point(|&j| j <= i);
            for &j in &list[from..] {
                if stamp[j] != i {
                    stamp[j] = i;
                    f(j);
                }
            }
        };
        let mut last = usize::MAX;
        for code in &p.cpv {
            let class = cpv_class(code);
            if class != last {
                visit(&self.cpv_class[class]);
                last = class;
            }
        }
        if let Some(c) = p.category {
            if p.cpv.is_empty() {
                visit(&self.category_all[c as usize]);
            } else {
                visit(&self.category_no_cpv[c as usize]);
            }
        }
        for &w in &p.words {
            if is_rare(index, w) {
                visit(&self.rare_word[w as usize]);
            }
        }
    }
}

fn scan(index: &Index, blocks: &Blocks, min_score: f64, threads: usize) -> Vec<Hit> {
    let n = index.prepared.len();
    let scan_some = |next: &AtomicUsize| {
        let mut stamp = vec![usize::MAX; n];
        let mut hits = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, AtomicOrdering::Relaxed);
            if start >= n {
                break;
            }
            for i in start..(start + CHUNK).min(n) {
                blocks.for_each_partner(index, i, &mut stamp, |j| {
                    hits.extend(evaluate(index, i, j, min_score));
                });
            }
        }
        hits
    };
    let next = AtomicUsize::new(0);
    if threads <= 1 {
        return scan_some(&next);
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(|| scan_some(&next))).collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDateTime {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .expect("test date")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
    }

    fn blank(ocid: &str, buyer: &str) -> Candidate {
        Candidate {
            ocid: ocid.to_owned(),
            kind: Kind::Contract,
            title: None,
            description: None,
            buyer: Some(buyer.to_owned()),
            agencies: vec![buyer.to_owned()],
            cpv_codes: Vec::new(),
            service_category: None,
            area: None,
            start: None,
            end: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn candidate(
        ocid: &str,
        kind: Kind,
        buyer: &str,
        cpv: &[&str],
        title: &str,
        description: &str,
        area: &str,
        period: (&str, &str),
    ) -> Candidate {
        Candidate {
            ocid: ocid.to_owned(),
            kind,
            title: Some(title.to_owned()),
            description: Some(description.to_owned()),
            buyer: Some(buyer.to_owned()),
            agencies: vec![buyer.to_owned()],
            cpv_codes: cpv.iter().map(|c| (*c).to_owned()).collect(),
            service_category: None,
            area: Some(area.to_owned()),
            start: Some(day(period.0)),
            end: Some(day(period.1)),
        }
    }

    fn counselling_by_council() -> Candidate {
        candidate(
            "ocds-b5fd17-wyv-001",
            Kind::Intention,
            "GB-LAE-WYV",
            &["85312400"],
            "School counselling and mental wellbeing service",
            "Counselling for pupils in Wyvern schools with mental wellbeing needs.",
            "Wyvern; North West",
            ("2027-10-01", "2029-09-30"),
        )
    }

    fn counselling_by_nhs() -> Candidate {
        candidate(
            "ocds-b5fd17-icb-042",
            Kind::Contract,
            "GB-NHS-QWY",
            &["85312300"],
            "Mental wellbeing counselling in schools",
            "School-based counselling supporting pupils' mental wellbeing.",
            "Wyvern",
            ("2026-09-01", "2028-08-31"),
        )
    }

    fn pairs(overlaps: &[Overlap]) -> Vec<(usize, usize)> {
        overlaps.iter().map(|o| (o.a, o.b)).collect()
    }

    #[test]
    fn planted_pair_across_agencies_is_found_with_expected_reasons() {
        let unrelated = candidate(
            "ocds-b5fd17-pol-007",
            Kind::Opportunity,
            "GB-POL-WYV",
            &["34144900"],
            "Electric vehicles for the fleet",
            "Supply of electric patrol cars.",
            "Wyvern",
            ("2027-01-01", "2027-12-31"),
        );
        let candidates = vec![counselling_by_council(), unrelated, counselling_by_nhs()];
        let found = find_overlaps(&candidates, DEFAULT_MIN_SCORE);
        assert_eq!(pairs(&found), vec![(2, 0)], "{found:#?}");
        let o = &found[0];
        // text: {school, counsell, mental, wellbe, pupil, wyvern, need} vs {mental, wellbe,
        // counsell, school, base, support, pupil}: 5 / 7.
        let text = round3(5.0 / 7.0);
        let expected_score = round3(0.35 * 0.8 + 0.2 * 0.7 + 0.15 * 1.0 + 0.3 * text);
        assert_eq!(o.score, expected_score);
        assert_eq!(
            o.reasons,
            vec![
                reason(
                    "service",
                    0.8,
                    "same CPV group 85312 (first 5 digits)".into()
                ),
                reason(
                    "text",
                    text,
                    "shared words: counselling, mental, pupils, school, wellbeing".into()
                ),
                reason(
                    "period",
                    1.0,
                    "periods overlap from 2027-10-01 to 2028-08-31".into()
                ),
                reason("area", 0.7, "both deliver in wyvern".into()),
            ]
        );
    }

    #[test]
    fn unrelated_pair_is_not_reported() {
        let fleet = candidate(
            "ocds-b5fd17-pol-007",
            Kind::Opportunity,
            "GB-POL-WYV",
            &["34144900"],
            "Electric vehicles for the fleet",
            "Supply of electric patrol cars.",
            "Wyvern; North West",
            ("2027-10-01", "2029-09-30"),
        );
        let candidates = vec![counselling_by_council(), fleet];
        assert!(find_overlaps(&candidates, DEFAULT_MIN_SCORE).is_empty());
        // Not even at a threshold of zero: the gate needs the same service or similar words.
        assert!(find_overlaps(&candidates, 0.0).is_empty());
    }

    #[test]
    fn same_buyer_is_never_paired() {
        let mut again = counselling_by_council();
        again.ocid = "ocds-b5fd17-wyv-002".into();
        let candidates = vec![counselling_by_council(), again.clone()];
        assert!(find_overlaps(&candidates, 0.0).is_empty());

        // Case and spacing of the org-id do not make a different agency.
        again.buyer = Some(" gb-lae-wyv ".into());
        let candidates = vec![counselling_by_council(), again.clone()];
        assert!(find_overlaps(&candidates, 0.0).is_empty());

        // Unknown buyer: the agency lists decide; shared agency → no pair, disjoint → pair.
        again.buyer = None;
        again.agencies = vec!["GB-NHS-QWY".into(), "GB-LAE-WYV".into()];
        let candidates = vec![counselling_by_council(), again.clone()];
        assert!(find_overlaps(&candidates, 0.0).is_empty());
        again.agencies = vec!["GB-NHS-QWY".into()];
        let candidates = vec![counselling_by_council(), again.clone()];
        assert_eq!(pairs(&find_overlaps(&candidates, 0.0)), vec![(0, 1)]);

        // No agency at all: never shown to be a different agency.
        again.agencies.clear();
        let candidates = vec![counselling_by_council(), again];
        assert!(find_overlaps(&candidates, 0.0).is_empty());
    }

    #[test]
    fn area_and_period_only_pair_is_not_reported() {
        let base = counselling_by_council();
        let other = candidate(
            "ocds-b5fd17-sch-003",
            Kind::Contract,
            "GB-EDU-123456",
            &["55524000"],
            "Catering for primary meals",
            "Hot lunches and kitchen staff for Wyvern schools.",
            "Wyvern; North West",
            ("2027-10-01", "2029-09-30"),
        );
        let candidates = vec![base, other];
        assert!(find_overlaps(&candidates, 0.0).is_empty());
        // They do meet (the rare words "wyvern" and "school") and are scored: same area, same
        // period, two shared words of 7 and 9 (cater, primari, meal, hot, lunch, kitchen, staff,
        // wyvern, school): text 2/√63 ≈ 0.25 < 0.35, and no common CPV.
        let index = Index::build(&candidates);
        let (p, q) = (&index.prepared[0], &index.prepared[1]);
        let blocks = Blocks::build(&index);
        let mut stamp = vec![usize::MAX; 2];
        let mut met = Vec::new();
        blocks.for_each_partner(&index, 0, &mut stamp, |j| met.push(j));
        assert_eq!(met, vec![1]);
        assert_eq!((area_score(p, q), period_score(p, q)), (1.0, 1.0));
        assert_eq!(service(p, q).0, 0.0);
        assert_eq!(round3(text_score(p, q)), round3(2.0 / 63f64.sqrt()));
        assert_eq!(evaluate(&index, 0, 1, 0.0), None);
    }

    #[test]
    fn ordering_is_deterministic_and_by_score_then_ocid() {
        let mut candidates = Vec::new();
        for (k, buyer) in ["GB-A", "GB-B", "GB-C", "GB-D"].iter().enumerate() {
            let mut c = counselling_by_council();
            c.ocid = format!("ocds-x-{}", 3 - k);
            c.buyer = Some((*buyer).to_owned());
            c.agencies = vec![(*buyer).to_owned()];
            if k == 3 {
                c.area = Some("Elsewhere".into());
            }
            candidates.push(c);
        }
        let found = find_overlaps(&candidates, DEFAULT_MIN_SCORE);
        assert_eq!(found.len(), 6);
        for o in &found {
            assert!(candidates[o.a].ocid < candidates[o.b].ocid);
        }
        for w in found.windows(2) {
            let key = |o: &Overlap| {
                (
                    -o.score,
                    candidates[o.a].ocid.clone(),
                    candidates[o.b].ocid.clone(),
                )
            };
            assert!(key(&w[0]) < key(&w[1]), "{:?} before {:?}", w[0], w[1]);
        }
        // The three same-area pairs first, tied, in ocid order; then the Elsewhere pairs.
        let names: Vec<(String, String)> = found
            .iter()
            .map(|o| (candidates[o.a].ocid.clone(), candidates[o.b].ocid.clone()))
            .collect();
        assert_eq!(names[0], ("ocds-x-1".into(), "ocds-x-2".into()));
        assert_eq!(names[3], ("ocds-x-0".into(), "ocds-x-1".into()));

        // Same pairs, same order, whatever the input order.
        let mut reversed = candidates.clone();
        reversed.reverse();
        let again: Vec<(String, String, f64)> = find_overlaps(&reversed, DEFAULT_MIN_SCORE)
            .iter()
            .map(|o| {
                (
                    reversed[o.a].ocid.clone(),
                    reversed[o.b].ocid.clone(),
                    o.score,
                )
            })
            .collect();
        let first: Vec<(String, String, f64)> = found
            .iter()
            .map(|o| {
                (
                    candidates[o.a].ocid.clone(),
                    candidates[o.b].ocid.clone(),
                    o.score,
                )
            })
            .collect();
        assert_eq!(first, again);
        assert_eq!(found, find_overlaps(&candidates, DEFAULT_MIN_SCORE));
    }

    #[test]
    fn empty_and_missing_fields_do_not_panic() {
        assert!(find_overlaps(&[], DEFAULT_MIN_SCORE).is_empty());
        let mut odd = blank("", "");
        odd.cpv_codes = vec![
            "".into(),
            "8531".into(),
            "85312400-2x".into(),
            "853124ab".into(),
        ];
        odd.title = Some("".into());
        odd.description = Some("  …  ¿? 2027 a an".into());
        odd.area = Some(";;, England / UK".into());
        odd.service_category = Some("   ".into());
        let mut none = blank("b", "GB-X");
        none.buyer = None;
        none.agencies.clear();
        let mut reversed = blank("c", "GB-Y");
        reversed.start = Some(day("2030-01-01"));
        reversed.end = Some(day("2020-01-01"));
        reversed.title = Some("ÉCOLE Straße counselling".into());
        let mut only_end = blank("d", "GB-Z");
        only_end.end = Some(day("2025-05-05"));
        only_end.title = Some("école counselling".into());
        only_end.service_category = Some("Early  Help".into());
        let mut category = blank("e", "GB-W");
        category.service_category = Some("early help".into());
        category.cpv_codes = vec!["85312400-2".into()];
        let candidates = vec![odd, none, reversed, only_end, category];
        let found = find_overlaps(&candidates, 0.0);
        // c–d share their words (unicode lowercased); d–e the category, d having no CPV.
        assert_eq!(pairs(&found), vec![(2, 3), (3, 4)], "{found:#?}");
        assert_eq!(
            found[1].reasons[0].detail,
            "same service category: Early  Help (no CPV code on one side)"
        );
        assert_eq!(
            found[0].reasons[0].detail,
            "shared words: counselling, école"
        );
    }

    #[test]
    fn component_rules() {
        assert!(
            STOPWORDS.windows(2).all(|w| w[0] < w[1]),
            "STOPWORDS must stay sorted"
        );
        let mut s = String::new();
        let stem = |w: &str, s: &mut String| text_stem(w, s).map(str::to_owned);
        assert_eq!(stem("services", &mut s), None);
        assert_eq!(stem("families", &mut s), stem("family", &mut s));
        assert_eq!(stem("classes", &mut s).as_deref(), Some("class"));
        assert_eq!(stem("houses", &mut s), stem("house", &mut s));
        assert_eq!(stem("meetings", &mut s), stem("meeting", &mut s));
        assert_eq!(stem("analysis", &mut s).as_deref(), Some("analysis"));
        assert_eq!(stem("2027", &mut s), None);
        assert_eq!(cpv_code("85312400-2"), Some(*b"85312400"));
        assert_eq!(cpv_code("8531240"), None);

        let mut a = blank("a", "GB-A");
        let mut b = blank("b", "GB-B");
        let score = |a: &Candidate, b: &Candidate| {
            let index = Index::build(&[a.clone(), b.clone()]);
            let (p, q) = (&index.prepared[0], &index.prepared[1]);
            (
                service(p, q).0,
                area_score(p, q),
                period_score(p, q),
                round3(text_score(p, q)),
            )
        };
        for (x, y, expected) in [
            ("85312400", "85312400", 1.0),
            ("85312400", "85312300", 0.8),
            ("85312400", "85319000", 0.6),
            ("85312400", "85320000", 0.3),
            ("85312400", "80000000", 0.0),
        ] {
            a.cpv_codes = vec![x.into()];
            b.cpv_codes = vec![y.into(), "45000000".into()];
            assert_eq!(score(&a, &b).0, expected, "{x} {y}");
        }
        for (x, y, expected) in [
            ("Wyvern County Council", "wyvern", 1.0),
            ("Wyvern; North West", "Wyvern", 0.7),
            ("North West", "North West; Mercia", 0.7),
            ("North West", "North East", 0.0),
            ("England", "Wyvern", 0.3),
            ("Mercia", "Wyvern", 0.0),
        ] {
            a.area = Some(x.into());
            b.area = Some(y.into());
            assert_eq!(score(&a, &b).1, expected, "{x} / {y}");
        }
        for (x, y, expected) in [
            (
                ("2027-01-01", "2027-12-31"),
                ("2027-12-31", "2028-01-01"),
                1.0,
            ),
            (
                ("2027-01-01", "2027-12-31"),
                ("2028-12-31", "2029-01-01"),
                0.5,
            ),
            (
                ("2027-01-01", "2027-12-31"),
                ("2029-01-01", "2029-02-01"),
                0.0,
            ),
        ] {
            a.start = Some(day(x.0));
            a.end = Some(day(x.1));
            b.start = Some(day(y.0));
            b.end = Some(day(y.1));
            assert_eq!(score(&a, &b).2, expected, "{x:?} {y:?}");
        }
        b.start = None;
        b.end = None;
        assert_eq!(score(&a, &b).2, 0.3);
        a.title = Some("Family support".into());
        b.title = Some("Support for families".into());
        assert_eq!(score(&a, &b).3, 1.0);
    }

    /// A small seeded LCG, enough to draw test data.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }

        fn pick<'v>(&mut self, values: &[&'v str]) -> &'v str {
            values[self.below(values.len())]
        }
    }

    fn random_candidates(seed: u64, n: usize) -> Vec<Candidate> {
        // Used by most candidates (more than RARE_WORD_MAX_DF of 300), so they open no block.
        // At most two per candidate, against at least five topic words: two texts sharing only
        // these stay below the text gate (2/7 < 0.35), the premise of the blocking argument.
        const COMMON: &[&str] = &["support", "health"];
        const WORDS: &[&str] = &[
            "counselling",
            "mental",
            "school",
            "pupils",
            "therapy",
            "speech",
            "language",
            "autism",
            "respite",
            "foster",
            "carers",
            "adoption",
            "residential",
            "homes",
            "youth",
            "justice",
            "exploitation",
            "missing",
            "advocacy",
            "independent",
            "visitors",
            "parenting",
            "programme",
            "early",
            "help",
            "domestic",
            "abuse",
            "refuge",
            "substance",
            "misuse",
            "sexual",
            "transport",
            "travel",
            "training",
            "mentoring",
            "tuition",
            "nursing",
            "palliative",
            "bereavement",
            "eating",
            "disorders",
            "crisis",
            "outreach",
            "housing",
            "leaving",
            "care",
            "semi",
            "supported",
            "lodgings",
            "disabled",
            "short",
            "breaks",
            "play",
            "holiday",
            "activities",
            "food",
            "vouchers",
            "digital",
            "online",
            "safety",
        ];
        const CPV: &[&str] = &[
            "85312400", "85312300", "85312000", "85311000", "85311200", "85320000", "85323000",
            "80000000", "80100000", "80110000", "85100000", "85140000", "98000000", "79600000",
            "60100000", "55520000",
        ];
        const AREAS: &[&str] = &[
            "Wyvern",
            "Wyvern; North West",
            "Mercia",
            "Mercia; West Midlands",
            "North West",
            "North East",
            "England",
            "Borsetshire",
            "Borsetshire County Council",
        ];
        const CATEGORIES: &[&str] = &["Early help", "Mental health", "Placements", "Travel"];
        let mut rng = Lcg(seed);
        (0..n)
            .map(|k| {
                let buyer = format!("GB-ORG-{}", rng.below(12));
                let mut c = blank(&format!("ocds-rand-{k:04}"), &buyer);
                if rng.below(8) == 0 {
                    c.buyer = None;
                    c.agencies = vec![format!("GB-ORG-{}", rng.below(12))];
                }
                if rng.below(5) == 0 {
                    c.agencies.push(format!("GB-ORG-{}", rng.below(12)));
                }
                for _ in 0..rng.below(3) {
                    c.cpv_codes.push(rng.pick(CPV).to_owned());
                }
                if rng.below(2) == 0 {
                    c.service_category = Some(rng.pick(CATEGORIES).to_owned());
                }
                if rng.below(8) != 0 {
                    c.area = Some(rng.pick(AREAS).to_owned());
                }
                if rng.below(8) != 0 {
                    let start = 2020 + rng.below(8) as i32;
                    let month = 1 + rng.below(12) as u32;
                    let from = NaiveDate::from_ymd_opt(start, month, 1).expect("date");
                    c.start = from.and_hms_opt(0, 0, 0);
                    c.end = from
                        .checked_add_months(Months::new(3 + rng.below(36) as u32))
                        .and_then(|d| d.and_hms_opt(0, 0, 0));
                }
                // 5 to 9 distinct topic words, and at most two of the words most use.
                let mut words: Vec<&str> = Vec::new();
                while words.len() < 5 + rng.below(5) {
                    let w = rng.pick(WORDS);
                    if !words.contains(&w) {
                        words.push(w);
                    }
                }
                for &w in COMMON {
                    if rng.below(10) < 8 {
                        words.push(w);
                    }
                }
                let cut = 1 + rng.below(words.len() - 1);
                c.title = Some(words[..cut].join(" "));
                c.description = Some(words[cut..].join(", "));
                c
            })
            .collect()
    }

    fn brute_force(candidates: &[Candidate], min_score: f64) -> Vec<(usize, usize, f64)> {
        let index = Index::build(candidates);
        let mut found = Vec::new();
        for i in 0..candidates.len() {
            for j in i + 1..candidates.len() {
                if let Some(hit) = evaluate(&index, i, j, min_score) {
                    let (a, b) = if (&candidates[j].ocid, j) < (&candidates[i].ocid, i) {
                        (j, i)
                    } else {
                        (i, j)
                    };
                    found.push((a, b, hit.score));
                }
            }
        }
        found.sort_by(|x, y| {
            y.2.total_cmp(&x.2)
                .then_with(|| candidates[x.0].ocid.cmp(&candidates[y.0].ocid))
                .then_with(|| candidates[x.1].ocid.cmp(&candidates[y.1].ocid))
        });
        found
    }

    #[test]
    fn blocking_finds_the_same_pairs_as_brute_force() {
        for seed in [1, 2, 3] {
            let candidates = random_candidates(seed, 300);
            let index = Index::build(&candidates);
            let common = index
                .df
                .iter()
                .filter(|&&df| df as usize > RARE_WORD_MAX_DF)
                .count();
            assert!(common >= 2, "the set must have words that open no block");
            for min_score in [DEFAULT_MIN_SCORE, 0.4] {
                let expected = brute_force(&candidates, min_score);
                let found: Vec<(usize, usize, f64)> = find_overlaps(&candidates, min_score)
                    .iter()
                    .map(|o| (o.a, o.b, o.score))
                    .collect();
                assert!(expected.len() >= 50, "seed {seed}: only {}", expected.len());
                assert_eq!(found, expected, "seed {seed}, min {min_score}");
            }
        }
    }

    #[test]
    fn threads_do_not_change_the_result() {
        let candidates = random_candidates(7, 3000);
        let one = find_overlaps_on(&candidates, DEFAULT_MIN_SCORE, 1);
        assert!(one.len() > 100);
        assert_eq!(one, find_overlaps_on(&candidates, DEFAULT_MIN_SCORE, 3));
    }
}
