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
//!   Besides, a stem used by more than 5% of the candidates of the input, and by more than 50
//!   of them, is *generic* there and does not count either ([`GENERIC_WORD_MAX_SHARE`], like
//!   `max_df` in text retrieval): without it, pairs sharing only "support", "health" or
//!   "school" in a large register pass for similar texts by the thousand. So the text score of
//!   a pair can depend on the input it is found in; in an input of at most 1,000 candidates
//!   only a word used by more than 50 of them is generic.
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
//! [`DEFAULT_MIN_SCORE`] is 0.65, on top of the service/text gate. What reaches it: the same
//! 8-digit CPV code in the same area over overlapping periods (0.35 + 0.2 + 0.15 = 0.7) even
//! without shared words; the same 5-digit group in the same area over overlapping periods
//! (0.63) with some shared words (t ≥ 0.07); the same 4-digit class in a shared place over
//! overlapping periods with a real text match (0.21 + 0.14 + 0.15 + 0.3·t ≥ 0.65 for
//! t ≥ 0.5). What does not: a class in common with nothing else, an unknown area and period
//! with no words in common (at most 0.35 + 0.06 + 0.045 = 0.455), a match on words alone
//! across unrelated codes. Unrelated pairs (different CPV division, different words) score at
//! most 0.35 and fail the gate anyway; a planted pair (same 5-digit group, shared place,
//! overlapping periods, similar text) scores 0.7 or more.
//!
//! Why not lower: at 0.55 the same 5-digit group, region and years alone made a pair, and on
//! 100,000 synthetic candidates concentrated on a few CPV classes (as children's services are,
//! around 8531) that gave 3.6 million pairs; 0.65 gives about 139,000, the ones a person would
//! call the same need. Callers may ask for less (`min_score`).
//!
//! # Blocking, and what it leaves out
//!
//! Comparing every pair is O(n²): 5·10⁹ pairs for 100,000 candidates. Instead candidates only
//! meet in *blocks*, by two channels:
//!
//! * **service**: in a *scope*, a CPV 4-digit class, or a service category when at least one
//!   of the two has no CPV code (the only case where the category is scored). When `min_score`
//!   is above 0.5, a scope is split further: two candidates in it meet only if they share a
//!   place, have the same area token set, share a counted word, or one of them has an unknown
//!   area. The others have disjoint known areas and no word in common, so they score at most
//!   0.35 + 0.15 = 0.5 (area 0, text 0) and cannot be reported.
//! * **text**: they share a *rare* word, one (counted in the text score, so not generic) used
//!   by at most [`RARE_WORD_MAX_DF`] (200) candidates of the input.
//!
//! Each pair is scored once however many blocks it shares (a per-candidate visit stamp).
//!
//! Consequence: pairs sharing no block are never compared. The service channel is exact: any pair
//! with service ≥ 0.6 that can reach `min_score` meets there (it shares a 4-digit class or, with no
//! CPV code on one side, the category; and, when split, a place, the area, a word or an unknown
//! area). A pair with service < 0.6 can only be reported through the text gate, text ≥ 0.35, so it
//! shares at least one counted word; if the input has at most 4,000 candidates, every counted word
//! is used by at most max(50, 5%) ≤ 200 of them, is rare, and opens a block: blocking is then
//! exact, it finds exactly what comparing all pairs finds. In a larger input a pair can be missed
//! only if service < 0.6 (at most 0.3, a shared 3-digit group) and every word it shares is used by
//! 201 to 5% of the candidates. To be reported it would still need text ≥ 0.35 by the gate, and
//! with the default threshold text ≥ (0.55 − 0.105 − 0.2 − 0.15) / 0.3 ≈ 0.32 even in the best case
//! of a shared 3-digit group, the same area and overlapping periods, or text ≥ 2/3 with no service
//! match at all: a third to two thirds of the words of both texts made up of words that hundreds of
//! other candidates use as well. Such wording matches a crowd of candidates alike, so it is weak
//! evidence of the *same* need, while a text describing a specific service has rarer words to meet
//! its counterparts by. This is a deliberate approximation above 4,000 candidates, not a guarantee.
//! The unit tests check that blocking finds exactly the pairs of a brute-force comparison on random
//! sets.
//!
//! # Cost
//!
//! Preparation is linear in the size of the text (a word seen before costs one hash lookup), and so
//! is building the blocks (one posting per candidate and key). Scoring visits Σ over blocks of
//! size²/2 pairs: at most n · w · 200 for the rare-word blocks (w rare words per candidate); in a
//! service scope of m candidates, about m² times the share of pairs that have a place or a word in
//! common or an unknown area (all m²/2 pairs when `min_score` ≤ 0.5). Those pairs pass the service
//! gate and may reach the threshold, so they must be looked at: a register whose candidates crowd
//! into a few CPV classes in a few regions (children's services cluster around 8531) costs close to
//! O(n²) there, and also *reports* many pairs, since the same class in the same region over the
//! same years already scores 0.21 + 0.14 + 0.15 = 0.5. A visit is cheap: the data a comparison
//! reads is one cache line per candidate (the candidates are renumbered by CPV class so that a
//! class's members lie together), the shared words are counted against a bitset of the other
//! candidate's words, and upper bounds on the text and total scores skip the word count when the
//! pair cannot reach the gate or `min_score` (the bounds are exact: a test compares them with the
//! unpruned rules). Reasons are written for reported pairs only, which are sorted on integer keys
//! (O(r log r)). Inputs of 4,096 candidates or more are scored, and their reasons written, on up to
//! 8 scoped threads (`std::thread::available_parallelism`); the result does not depend on the
//! number of threads. `benches/overlaps.rs` times 10,000 and 100,000 synthetic candidates.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use chrono::{Months, NaiveDateTime};
use serde::Serialize;

/// The threshold to use when the caller has no reason to pick another; see the module doc.
pub const DEFAULT_MIN_SCORE: f64 = 0.65;

/// A word used by at most this many candidates of the input is *rare* and opens a block.
pub const RARE_WORD_MAX_DF: usize = 200;

/// A word used by more than this share of the candidates, and by more than
/// [`GENERIC_WORD_MIN_DF`] of them, is *generic* in the input and does not count in the text
/// score (a stopword learnt from the input, like `max_df` in text retrieval).
pub const GENERIC_WORD_MAX_SHARE: f64 = 0.05;
/// See [`GENERIC_WORD_MAX_SHARE`]: in an input of fewer than 1,000 candidates a word must be
/// used by more than 50 of them to be generic.
pub const GENERIC_WORD_MIN_DF: usize = 50;

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
    let blocks = Blocks::build(&index, min_score, RARE_WORD_MAX_DF);
    let mut hits = scan(&index, &blocks, min_score, threads);
    // `a` is the candidate whose ocid sorts first; then the output order, on integer keys
    // (ranks are unique, so the unstable sort is deterministic).
    for hit in &mut hits {
        if index.rank[hit.b as usize] < index.rank[hit.a as usize] {
            std::mem::swap(&mut hit.a, &mut hit.b);
        }
    }
    hits.sort_unstable_by_key(|h| {
        (
            Reverse(h.score),
            index.rank[h.a as usize],
            index.rank[h.b as usize],
        )
    });
    map_in_parallel(&hits, threads, |hit| index.overlap(candidates, hit))
}

/// `f` over `items` on up to `threads` scoped threads, results in the order of `items`.
fn map_in_parallel<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    if threads <= 1 || items.len() < 4 * CHUNK {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for part in parts {
            out.extend(part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

// ---------------------------------------------------------------------------------------------
// Preparation: every candidate reduced to interned, sorted integer sets in shared arenas.

/// FxHash (as in rustc): fast and deterministic for the interners' short keys.
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

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct Interner {
    ids: FxMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = to_u32(self.names.len());
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

/// Marks an absent buyer, category or area, and a spelling equal to its stem.
const NONE: u32 = u32::MAX;

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 candidates, words and codes")
}

/// A candidate's run of entries in one of the index's arenas.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: to_u32(start),
            len: to_u32(end - start),
        }
    }

    fn of<T>(self, arena: &[T]) -> &[T] {
        &arena[self.start as usize..(self.start + self.len) as usize]
    }
}

/// What every pair comparison reads of a candidate, in one cache line; its lists live in the
/// index's arenas, and what is seldom needed in [`Cold`].
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Hot {
    /// The lowest CPV code (0 when none), so single-code candidates need no arena read.
    cpv0: u64,
    /// The period in seconds, inclusive, and its end plus 12 months; `lo` is [`NO_PERIOD`]
    /// when the period is unknown.
    lo: i64,
    hi: i64,
    hi_plus_year: i64,
    cpv: Span,
    words: Span,
    buyer: u32,
    category: u32,
    /// The interned set of area tokens (for "same"); `NONE` when the area is unknown.
    area: u32,
    /// One hashed bit per place: no common bit, no common place.
    place_bits: u32,
}

/// What a pair comparison reads only sometimes: the agencies (when a buyer is unknown) and
/// the places (when the place bits meet).
#[derive(Debug, Clone, Copy)]
struct Cold {
    agencies: Span,
    places: Span,
}

const NO_PERIOD: i64 = i64::MIN;

struct Index {
    /// The candidates in internal order (by lowest CPV class, so that the members of a CPV
    /// block lie together in memory); internal ids index this.
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    /// Internal id → index into the candidates slice.
    original: Vec<usize>,
    /// By internal id: the rank of the candidate in (ocid, index) order.
    rank: Vec<u32>,
    /// Arenas: org ids, CPV codes (the 8 ASCII digits as a big-endian u64), place ids, stems
    /// and, parallel to `words`, each stem's shortest spelling in the text (`NONE`: the stem).
    agencies: Vec<u32>,
    cpv: Vec<u64>,
    places: Vec<u32>,
    words: Vec<u32>,
    spellings: Vec<u32>,
    stems: Interner,
    spelling_names: Interner,
    place_names: Interner,
    categories: Interner,
    /// Document frequency of each stem (candidates using it), before generic ones are dropped.
    df: Vec<u32>,
}

/// Reused buffers and the interners only preparation needs.
#[derive(Default)]
struct Builder {
    orgs: Interner,
    area_sets: FxMap<Box<[u32]>, u32>,
    word: String,
    stem: String,
    phrase: String,
    tokens: Vec<u32>,
    found: Vec<(u32, u32)>,
    /// Each distinct lowercase word of the texts seen so far → (stem, spelling), the stem
    /// `NONE` for a dropped word: most words repeat, and then cost one lookup.
    seen: FxMap<Box<str>, (u32, u32)>,
}

/// Sorts and deduplicates `v[start..]`.
fn sort_dedup_tail<T: Ord + Copy>(v: &mut Vec<T>, start: usize) {
    v[start..].sort_unstable();
    let mut kept = start;
    for k in start..v.len() {
        if kept == start || v[k] != v[kept - 1] {
            v[kept] = v[k];
            kept += 1;
        }
    }
    v.truncate(kept);
}

impl Index {
    fn build(candidates: &[Candidate]) -> Index {
        let n = candidates.len();
        let mut order: Vec<(usize, usize)> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let codes = c.cpv_codes.iter().filter_map(|s| cpv_code(s));
                let class = codes.map(|c| cpv_class(u64::from_be_bytes(c))).min();
                (class.unwrap_or(usize::MAX), i)
            })
            .collect();
        order.sort_unstable();
        let original: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
        let mut internal = vec![0; n];
        for (id, &i) in original.iter().enumerate() {
            internal[i] = id;
        }
        let mut by_ocid: Vec<usize> = (0..n).collect();
        by_ocid.sort_by(|&x, &y| candidates[x].ocid.cmp(&candidates[y].ocid).then(x.cmp(&y)));
        let mut rank = vec![0; n];
        for (r, &i) in by_ocid.iter().enumerate() {
            rank[internal[i]] = to_u32(r);
        }
        let mut index = Index {
            hot: Vec::with_capacity(n),
            cold: Vec::with_capacity(n),
            original,
            rank,
            agencies: Vec::new(),
            cpv: Vec::new(),
            places: Vec::new(),
            words: Vec::new(),
            spellings: Vec::new(),
            stems: Interner::default(),
            spelling_names: Interner::default(),
            place_names: Interner::default(),
            categories: Interner::default(),
            df: Vec::new(),
        };
        let mut builder = Builder::default();
        for id in 0..n {
            let (hot, cold) = index.prepare(&candidates[index.original[id]], &mut builder);
            index.hot.push(hot);
            index.cold.push(cold);
        }
        let mut df = vec![0u32; index.stems.len()];
        for &w in &index.words {
            df[w as usize] += 1;
        }
        let generic = generic_min_df(n);
        if df.iter().any(|&d| d as usize >= generic) {
            let (mut words, mut spellings) = (Vec::new(), Vec::new());
            for hot in &mut index.hot {
                let start = words.len();
                let range = hot.words.start as usize..(hot.words.start + hot.words.len) as usize;
                for k in range {
                    let w = index.words[k];
                    if (df[w as usize] as usize) < generic {
                        words.push(w);
                        spellings.push(index.spellings[k]);
                    }
                }
                hot.words = Span::new(start, words.len());
            }
            (index.words, index.spellings) = (words, spellings);
        }
        index.df = df;
        index
    }

    fn prepare(&mut self, c: &Candidate, b: &mut Builder) -> (Hot, Cold) {
        let buyer = c
            .buyer
            .as_deref()
            .and_then(org_key)
            .map_or(NONE, |k| b.orgs.intern(&k));
        let start = self.agencies.len();
        for agency in &c.agencies {
            if let Some(k) = org_key(agency) {
                self.agencies.push(b.orgs.intern(&k));
            }
        }
        if buyer != NONE {
            self.agencies.push(buyer);
        }
        sort_dedup_tail(&mut self.agencies, start);
        let agencies = Span::new(start, self.agencies.len());

        let start = self.cpv.len();
        let codes = c.cpv_codes.iter().filter_map(|s| cpv_code(s));
        self.cpv.extend(codes.map(u64::from_be_bytes));
        sort_dedup_tail(&mut self.cpv, start);
        let cpv = Span::new(start, self.cpv.len());

        let category = c
            .service_category
            .as_deref()
            .and_then(category_key)
            .map_or(NONE, |k| self.categories.intern(&k));
        let (area, places, place_bits) = self.area(c.area.as_deref(), b);
        let words = self.words(c, b);
        let period = period_bounds(c.start, c.end);
        let seconds = |d: NaiveDateTime| d.and_utc().timestamp();
        let (lo, hi) = period.map_or((NO_PERIOD, 0), |(lo, hi)| (seconds(lo), seconds(hi)));
        let hi_plus_year = period
            .and_then(|(_, hi)| hi.checked_add_months(Months::new(12)))
            .map_or(i64::MAX, seconds);
        let hot = Hot {
            cpv0: cpv.of(&self.cpv).first().copied().unwrap_or(0),
            lo,
            hi,
            hi_plus_year,
            cpv,
            words,
            buyer,
            category,
            area,
            place_bits,
        };
        (hot, Cold { agencies, places })
    }

    /// The area's token set id, its places and their bits; `NONE` if no token is left.
    fn area(&mut self, text: Option<&str>, b: &mut Builder) -> (u32, Span, u32) {
        let start = self.places.len();
        let Builder {
            word,
            phrase,
            tokens,
            area_sets,
            ..
        } = b;
        tokens.clear();
        for part in text.unwrap_or("").split([';', ',', '/', '|', '\n']) {
            phrase.clear();
            for_each_word(part, word, |token| {
                if AREA_IGNORED.contains(&token) {
                    return;
                }
                if !phrase.is_empty() {
                    phrase.push(' ');
                }
                phrase.push_str(token);
                let id = self.place_names.intern(token);
                tokens.push(id);
                if !DIRECTIONAL.contains(&token) {
                    self.places.push(id);
                }
            });
            if !phrase.is_empty() {
                self.places.push(self.place_names.intern(phrase));
            }
        }
        if tokens.is_empty() {
            self.places.truncate(start);
            return (NONE, Span::new(start, start), 0);
        }
        tokens.sort_unstable();
        tokens.dedup();
        let next = to_u32(area_sets.len());
        let area = *area_sets.entry(tokens.as_slice().into()).or_insert(next);
        sort_dedup_tail(&mut self.places, start);
        let places = Span::new(start, self.places.len());
        let bits = places
            .of(&self.places)
            .iter()
            .fold(0, |bits, &p| bits | place_bit(p));
        (area, places, bits)
    }

    fn words(&mut self, c: &Candidate, b: &mut Builder) -> Span {
        let Builder {
            word,
            stem,
            found,
            seen,
            ..
        } = b;
        found.clear();
        for text in [c.title.as_deref(), c.description.as_deref()]
            .into_iter()
            .flatten()
        {
            for_each_word(text, word, |w| {
                let entry = match seen.get(w) {
                    Some(&entry) => entry,
                    None => {
                        let entry = match text_stem(w, stem) {
                            Some(s) => {
                                let id = self.stems.intern(s);
                                let spelling = if s == w {
                                    NONE
                                } else {
                                    self.spelling_names.intern(w)
                                };
                                (id, spelling)
                            }
                            None => (NONE, NONE),
                        };
                        seen.insert(w.into(), entry);
                        entry
                    }
                };
                if entry.0 != NONE {
                    found.push(entry);
                }
            });
        }
        found.sort_unstable_by(|x, y| {
            x.0.cmp(&y.0).then_with(|| {
                let (a, b) = (self.spelling(x.0, x.1), self.spelling(y.0, y.1));
                (a.len(), a).cmp(&(b.len(), b))
            })
        });
        found.dedup_by_key(|x| x.0);
        let start = self.words.len();
        for &(w, spelling) in found.iter() {
            self.words.push(w);
            self.spellings.push(spelling);
        }
        Span::new(start, self.words.len())
    }

    fn spelling(&self, stem: u32, spelling: u32) -> &str {
        if spelling == NONE {
            self.stems.name(stem)
        } else {
            self.spelling_names.name(spelling)
        }
    }

    /// The reported form of a hit (internal ids, `a` first).
    fn overlap(&self, candidates: &[Candidate], hit: &Hit) -> Overlap {
        let (a, b) = (hit.a as usize, hit.b as usize);
        let (ha, hb) = (&self.hot[a], &self.hot[b]);
        let (ia, ib) = (self.original[a], self.original[b]);
        let (ca, cb) = (&candidates[ia], &candidates[ib]);
        let [score, service, area, period, text] =
            [hit.score, hit.service, hit.area, hit.period, hit.text].map(from_thousandths);
        let contributing = [service, text, area, period]
            .iter()
            .filter(|&&x| x > 0.0)
            .count();
        let mut reasons: Vec<Reason> = Vec::with_capacity(contributing);
        if service > 0.0 {
            let detail = match self.service(a, b).1 {
                ServiceMatch::Cpv { code, len: 8 } => {
                    format!("same CPV code {}", digits(&code.to_be_bytes(), 8))
                }
                ServiceMatch::Cpv { code, len } => format!(
                    "same CPV group {} (first {len} digits)",
                    digits(&code.to_be_bytes(), len)
                ),
                ServiceMatch::Category | ServiceMatch::None => format!(
                    "same service category: {} (no CPV code on one side)",
                    shown_category(ca, cb)
                ),
            };
            reasons.push(reason("service", service, detail));
        }
        if text > 0.0 {
            reasons.push(reason("text", text, self.shared_words(ha, hb)));
        }
        if area > 0.0 {
            let detail = if ha.area == NONE || hb.area == NONE {
                "delivery area not stated (or national) on one side".to_owned()
            } else if ha.area == hb.area {
                let area = ca.area.as_deref().or(cb.area.as_deref()).unwrap_or("");
                format!("same delivery area: {}", area.trim())
            } else {
                format!("both deliver in {}", self.shared_places(a, b))
            };
            reasons.push(reason("area", area, detail));
        }
        if period > 0.0 {
            let detail = match (
                period_bounds(ca.start, ca.end),
                period_bounds(cb.start, cb.end),
            ) {
                (Some(x), Some(y)) if x.0 <= y.1 && y.0 <= x.1 => format!(
                    "periods overlap from {} to {}",
                    x.0.max(y.0).date(),
                    x.1.min(y.1).date()
                ),
                (Some(x), Some(y)) => {
                    let (first, second) = if x.1 < y.0 { (x, y) } else { (y, x) };
                    format!(
                        "periods {} days apart (one ends {}, the other starts {})",
                        (second.0 - first.1).num_days(),
                        first.1.date(),
                        second.0.date()
                    )
                }
                _ => "period not stated on one side".to_owned(),
            };
            reasons.push(reason("period", period, detail));
        }
        // By contribution, descending; ties in the order pushed (service, text, area, period).
        reasons.sort_by(|x, y| (weight(y.kind) * y.score).total_cmp(&(weight(x.kind) * x.score)));
        Overlap {
            a: ia,
            b: ib,
            score,
            reasons,
        }
    }

    /// "shared words: …": the rarest shared stems (at most six), each by its shortest
    /// spelling in either text, sorted alphabetically.
    fn shared_words(&self, a: &Hot, b: &Hot) -> String {
        let (wa, wb) = (a.words.of(&self.words), b.words.of(&self.words));
        let (sa, sb) = (a.words.of(&self.spellings), b.words.of(&self.spellings));
        let mut shared: Vec<(u32, &str)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < wa.len() && j < wb.len() {
            match wa[i].cmp(&wb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let (x, y) = (self.spelling(wa[i], sa[i]), self.spelling(wb[j], sb[j]));
                    let shown = if (y.len(), y) < (x.len(), x) { y } else { x };
                    shared.push((self.df[wa[i] as usize], shown));
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
    fn shared_places(&self, a: usize, b: usize) -> String {
        let (pa, pb) = (
            self.cold[a].places.of(&self.places),
            self.cold[b].places.of(&self.places),
        );
        let shared: Vec<&str> = intersection(pa, pb)
            .map(|id| self.place_names.name(id))
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

    // -- Scoring (see the module doc) ---------------------------------------------------------

    /// Whether two candidates belong to different agencies.
    #[inline]
    fn different_agencies(&self, i: usize, j: usize) -> bool {
        let (a, b) = (&self.hot[i], &self.hot[j]);
        if a.buyer != NONE && b.buyer != NONE {
            return a.buyer != b.buyer;
        }
        let (x, y) = (
            self.cold[i].agencies.of(&self.agencies),
            self.cold[j].agencies.of(&self.agencies),
        );
        !x.is_empty() && !y.is_empty() && intersection(x, y).next().is_none()
    }

    /// The service score alone, for the hot loop: the same value as [`Index::service`].
    #[inline(always)]
    fn service_score(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (&self.hot[i], &self.hot[j]);
        if a.cpv.len == 0 || b.cpv.len == 0 {
            return if a.category != NONE && a.category == b.category {
                SERVICE_GATE
            } else {
                0.0
            };
        }
        let mut len = shared_digits(a.cpv0, b.cpv0);
        if len < 8 && (a.cpv.len > 1 || b.cpv.len > 1) {
            for &p in a.cpv.of(&self.cpv) {
                for &q in b.cpv.of(&self.cpv) {
                    len = len.max(shared_digits(p, q));
                }
            }
        }
        prefix_score(len)
    }

    /// The service score and what matched, for the reasons.
    fn service(&self, i: usize, j: usize) -> (f64, ServiceMatch) {
        let (a, b) = (&self.hot[i], &self.hot[j]);
        if a.cpv.len == 0 || b.cpv.len == 0 {
            return if a.category != NONE && a.category == b.category {
                (SERVICE_GATE, ServiceMatch::Category)
            } else {
                (0.0, ServiceMatch::None)
            };
        }
        let shared = shared_digits;
        let mut best = (shared(a.cpv0, b.cpv0), a.cpv0);
        // The lowest codes first (inline); the arena only when there are more codes. The first
        // pair reaching the longest prefix, in code order, gives the detail.
        if best.0 < 8 && (a.cpv.len > 1 || b.cpv.len > 1) {
            let (x, y) = (a.cpv.of(&self.cpv), b.cpv.of(&self.cpv));
            'outer: for &p in x {
                for &q in y {
                    let len = shared(p, q);
                    if len > best.0 {
                        best = (len, p);
                        if len == 8 {
                            break 'outer;
                        }
                    }
                }
            }
        }
        let (len, code) = best;
        if len < 3 {
            return (0.0, ServiceMatch::None);
        }
        (prefix_score(len), ServiceMatch::Cpv { code, len })
    }

    #[inline]
    fn area_score(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (&self.hot[i], &self.hot[j]);
        if a.area == NONE || b.area == NONE {
            0.3
        } else if a.area == b.area {
            1.0
        } else if a.place_bits & b.place_bits != 0
            && intersection(
                self.cold[i].places.of(&self.places),
                self.cold[j].places.of(&self.places),
            )
            .next()
            .is_some()
        {
            0.7
        } else {
            0.0
        }
    }

    #[cfg(test)]
    fn text_score(&self, i: usize, j: usize) -> f64 {
        let (x, y) = (
            self.hot[i].words.of(&self.words),
            self.hot[j].words.of(&self.words),
        );
        if x.is_empty() || y.is_empty() {
            return 0.0;
        }
        common(x, y) as f64 / ((x.len() as f64) * (y.len() as f64)).sqrt()
    }
}

#[inline]
fn period_score(a: &Hot, b: &Hot) -> f64 {
    if a.lo == NO_PERIOD || b.lo == NO_PERIOD {
        0.3
    } else if a.lo <= b.hi && b.lo <= a.hi {
        1.0
    } else {
        let (first, second) = if a.hi < b.lo { (a, b) } else { (b, a) };
        if second.lo <= first.hi_plus_year {
            0.5
        } else {
            0.0
        }
    }
}

/// How many leading digits two CPV codes share: equal leading bytes of their big-endian
/// ASCII digits.
#[inline(always)]
fn shared_digits(p: u64, q: u64) -> usize {
    ((p ^ q).leading_zeros() / 8) as usize
}

/// The service score of a shared CPV prefix of `len` digits.
#[inline(always)]
fn prefix_score(len: usize) -> f64 {
    match len {
        8 => 1.0,
        5..=7 => 0.8,
        4 => 0.6,
        3 => 0.3,
        _ => 0.0,
    }
}

fn place_bit(place: u32) -> u32 {
    1 << (u64::from(place).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59)
}

/// The weight of a component in the score.
fn weight(kind: &str) -> f64 {
    match kind {
        "service" => W_SERVICE,
        "area" => W_AREA,
        "period" => W_PERIOD,
        _ => W_TEXT,
    }
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

/// The first `len` digits of a CPV code (its big-endian bytes, ASCII digits).
fn digits(code: &[u8; 8], len: usize) -> &str {
    std::str::from_utf8(&code[..len]).unwrap_or("")
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

/// A candidate's period, inclusive: one missing bound makes it the day of the other; reversed
/// bounds are swapped.
fn period_bounds(
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> Option<(NaiveDateTime, NaiveDateTime)> {
    match (start, end) {
        (Some(s), Some(e)) => Some((s.min(e), s.max(e))),
        (Some(d), None) | (None, Some(d)) => Some((d, d)),
        (None, None) => None,
    }
}

/// Calls `f` with each lowercase alphanumeric run of `text`.
fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            buf.push(ch.to_ascii_lowercase());
        } else if !ch.is_ascii() && ch.is_alphanumeric() {
            buf.extend(ch.to_lowercase());
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
    Cpv { code: u64, len: usize },
    Category,
    None,
}

/// Rounds to 3 decimals, half away from zero (as `f64::round`, which is a libm call on the
/// baseline x86-64 target and showed in profiles).
fn round3(x: f64) -> f64 {
    f64::from(milli(x)) / 1000.0
}

/// `x` in thousandths, rounded half away from zero; scores are in 0..1, so this fits.
fn milli(x: f64) -> i32 {
    let y = (x * 1000.0).abs();
    let whole = y as i32; // truncates; `y - whole` is exact for these magnitudes
    let r = if y - f64::from(whole) >= 0.5 {
        whole + 1
    } else {
        whole
    };
    if x < 0.0 { -r } else { r }
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

/// How many elements two sorted, unique slices have in common (a branch-light merge).
fn common(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

/// A reported pair before its reasons are written: internal ids and the rounded scores in
/// thousandths (compact: there can be millions).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hit {
    a: u32,
    b: u32,
    score: u16,
    service: u16,
    area: u16,
    period: u16,
    text: u16,
}

/// A score in 0..1, rounded to 3 decimals, in thousandths.
fn thousandths(x: f64) -> u16 {
    u16::try_from(milli(x)).unwrap_or(0)
}

fn from_thousandths(x: u16) -> f64 {
    f64::from(x) / 1000.0
}

/// Marks the stems of one candidate (a bitset over stem ids), so the words it shares with
/// each partner take one pass over the partner's words instead of a merge.
struct WordMarks(Vec<u64>);

impl WordMarks {
    fn new(index: &Index) -> WordMarks {
        WordMarks(vec![0; index.stems.len().div_ceil(64)])
    }

    fn set(&mut self, words: &[u32], on: bool) {
        for &w in words {
            let (slot, bit) = ((w / 64) as usize, 1u64 << (w % 64));
            if on {
                self.0[slot] |= bit;
            } else {
                self.0[slot] &= !bit;
            }
        }
    }

    fn count(&self, words: &[u32]) -> usize {
        words
            .iter()
            .map(|&w| ((self.0[(w / 64) as usize] >> (w % 64)) & 1) as usize)
            .sum()
    }
}

/// Margin for floating-point error in the pruning bounds of [`evaluate`] (errors are ~1e-15).
const SLACK: f64 = 1e-9;

/// Scores one pair (internal ids) by the rules; `None` unless it is an overlap at `min_score`.
/// `marks` must hold the words of candidate `i`.
#[inline]
fn evaluate(index: &Index, marks: &WordMarks, i: usize, j: usize, min_score: f64) -> Option<Hit> {
    let (a, b) = (&index.hot[i], &index.hot[j]);
    if !index.different_agencies(i, j) {
        return None;
    }
    // The service, area and period scores are exact 3-decimal constants: no rounding needed.
    let service = index.service_score(i, j);
    // Cheap bounds first; the words are compared only if the pair can still make it. The
    // cosine is at most √(smaller size / larger size), and rounding to 3 decimals adds at most
    // 0.0005 (plus `SLACK` for floating-point error), to the text score as to the total.
    let (la, lb) = (a.words.len, b.words.len);
    let text_max = if la == 0 || lb == 0 {
        0.0
    } else {
        (f64::from(la.min(lb)) / f64::from(la.max(lb))).sqrt() + 0.0005 + SLACK
    };
    if service < SERVICE_GATE && text_max < TEXT_GATE {
        return None;
    }
    let area = index.area_score(i, j);
    let period = period_score(a, b);
    let base = W_SERVICE * service + W_AREA * area + W_PERIOD * period;
    if base + W_TEXT * text_max + 0.0005 + SLACK < min_score {
        return None;
    }
    let words = b.words.of(&index.words);
    let shared = marks.count(words);
    debug_assert_eq!(shared, common(a.words.of(&index.words), words));
    let text = if shared == 0 {
        0.0
    } else {
        round3(shared as f64 / (f64::from(la) * f64::from(lb)).sqrt())
    };
    if service < SERVICE_GATE && text < TEXT_GATE {
        return None;
    }
    let score = round3(base + W_TEXT * text);
    (score >= min_score).then(|| Hit {
        a: to_u32(i),
        b: to_u32(j),
        score: thousandths(score),
        service: thousandths(service),
        area: thousandths(area),
        period: thousandths(period),
        text: thousandths(text),
    })
}

// ---------------------------------------------------------------------------------------------
// Blocking.

/// What a block's members have in common: a service scope (a CPV class, or a category as
/// seen by candidates without CPV codes, `CategoryAny`, or with them, `CategoryNoCpv`) or, for
/// the text channel, nothing but the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Class(u32),
    CategoryAny(u32),
    CategoryNoCpv(u32),
    Text,
}

/// Within a scope: everyone (`All`), those with an unknown area, or those sharing a place, the
/// area token set or a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Sub {
    All,
    UnknownArea,
    Place(u32),
    AreaSet(u32),
    Word(u32),
}

type Key = (Scope, Sub);

/// The blocks: posting lists of internal ids (ascending) in one array, by key.
struct Blocks {
    ids: FxMap<Key, u32>,
    /// Block `b` is `postings[start[b]..start[b + 1]]`.
    start: Vec<u32>,
    postings: Vec<u32>,
    plan: Plan,
}

/// How blocks are keyed for one search.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Whether the service scopes are split by place, area set and word (see [`Blocks::keys`]).
    split: bool,
    /// Words used by at most this many candidates open a text block ([`RARE_WORD_MAX_DF`]).
    rare_max_df: usize,
}

/// The 4-digit class (0..10000) of a CPV code.
fn cpv_class(code: u64) -> usize {
    code.to_be_bytes()[..4]
        .iter()
        .fold(0, |acc, &d| acc * 10 + usize::from(d - b'0'))
}

/// The document frequency from which a word is generic in an input of `n` candidates.
fn generic_min_df(n: usize) -> usize {
    let share = (n as f64 * GENERIC_WORD_MAX_SHARE).floor() as usize;
    share.max(GENERIC_WORD_MIN_DF) + 1
}

impl Blocks {
    fn build(index: &Index, min_score: f64, rare_max_df: usize) -> Blocks {
        // A pair with disjoint known areas and no counted word in common scores at most this
        // (service 1, period 1: the same expression as the score), so above it such pairs need
        // not meet.
        let split = min_score > round3(W_SERVICE * 1.0 + W_AREA * 0.0 + W_PERIOD * 1.0);
        let plan = Plan { split, rare_max_df };
        let mut ids: FxMap<Key, u32> = FxMap::default();
        let mut members: Vec<(u32, u32)> = Vec::new();
        for i in 0..index.hot.len() {
            let id = to_u32(i);
            Blocks::keys(index, i, plan, false, |key| {
                let next = to_u32(ids.len());
                members.push((*ids.entry(key).or_insert(next), id));
            });
        }
        let mut start = vec![0u32; ids.len() + 1];
        for &(b, _) in &members {
            start[b as usize + 1] += 1;
        }
        for b in 0..ids.len() {
            start[b + 1] += start[b];
        }
        let mut fill = start.clone();
        let mut postings = vec![0u32; members.len()];
        // Members were listed by ascending id, so each block's list comes out sorted.
        for &(b, id) in &members {
            postings[fill[b as usize] as usize] = id;
            fill[b as usize] += 1;
        }
        Blocks {
            ids,
            start,
            postings,
            plan,
        }
    }

    /// The keys of the blocks candidate `i` belongs to (`visiting` false) or looks into for
    /// partners (`visiting` true). Two candidates meet when one looks into a block the other
    /// belongs to, and the relation is symmetric:
    ///
    /// * service scopes: each CPV class; for a category, candidates without CPV codes belong
    ///   to `CategoryAny` and `CategoryNoCpv` and look into `CategoryAny`, those with codes
    ///   belong to `CategoryAny` and look into `CategoryNoCpv` (so a category pair has at least
    ///   one side without codes, the only case where the category is scored);
    /// * unsplit, a scope is one block (`All`). Split, a candidate with an unknown area belongs
    ///   to `All` and `UnknownArea` and looks into `All`; one with a known area belongs to `All`
    ///   and looks into `UnknownArea`, and belongs to and looks into the blocks of its places,
    ///   its area token set and its counted words: any pair in scope with a shared place, the
    ///   same area, an unknown area or a shared word meets, and the rest cannot be reported;
    /// * text: each rare word.
    fn keys(index: &Index, i: usize, plan: Plan, visiting: bool, mut f: impl FnMut(Key)) {
        let h = &index.hot[i];
        let words = h.words.of(&index.words);
        let places = index.cold[i].places.of(&index.places);
        let mut in_scope = |scope: Scope| {
            if !plan.split {
                f((scope, Sub::All));
            } else if h.area == NONE {
                f((scope, Sub::All));
                if !visiting {
                    f((scope, Sub::UnknownArea));
                }
            } else {
                f((scope, if visiting { Sub::UnknownArea } else { Sub::All }));
                f((scope, Sub::AreaSet(h.area)));
                for &p in places {
                    f((scope, Sub::Place(p)));
                }
                for &w in words {
                    f((scope, Sub::Word(w)));
                }
            }
        };
        let mut last = usize::MAX;
        for &code in h.cpv.of(&index.cpv) {
            let class = cpv_class(code);
            if class != last {
                in_scope(Scope::Class(to_u32(class)));
                last = class;
            }
        }
        if h.category != NONE {
            let g = h.category;
            match (h.cpv.len == 0, visiting) {
                (true, false) => {
                    in_scope(Scope::CategoryAny(g));
                    in_scope(Scope::CategoryNoCpv(g));
                }
                (true, true) | (false, false) => in_scope(Scope::CategoryAny(g)),
                (false, true) => in_scope(Scope::CategoryNoCpv(g)),
            }
        }
        for &w in words {
            if index.df[w as usize] as usize <= plan.rare_max_df {
                f((Scope::Text, Sub::Word(w)));
            }
        }
    }

    /// Calls `f` once with each candidate `j > i` sharing a block with candidate `i` (internal
    /// ids). `stamp` holds, per candidate, the last `i` it was visited for.
    fn for_each_partner(
        &self,
        index: &Index,
        i: usize,
        stamp: &mut [u32],
        mut f: impl FnMut(usize),
    ) {
        let me = to_u32(i);
        Blocks::keys(index, i, self.plan, true, |key| {
            let Some(&b) = self.ids.get(&key) else {
                return;
            };
            let list = &self.postings
                [self.start[b as usize] as usize..self.start[b as usize + 1] as usize];
            let from = list.partition_point(|&j| j <= me);
            for &j in &list[from..] {
                if stamp[j as usize] != me {
                    stamp[j as usize] = me;
                    f(j as usize);
                }
            }
        });
    }
}

fn scan(index: &Index, blocks: &Blocks, min_score: f64, threads: usize) -> Vec<Hit> {
    let n = index.hot.len();
    let next = AtomicUsize::new(0);
    let scan_some = || {
        let mut stamp = vec![NONE; n];
        let mut marks = WordMarks::new(index);
        let mut hits = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, AtomicOrdering::Relaxed);
            if start >= n {
                break;
            }
            for i in start..(start + CHUNK).min(n) {
                let words = index.hot[i].words.of(&index.words);
                marks.set(words, true);
                blocks.for_each_partner(index, i, &mut stamp, |j| {
                    hits.extend(evaluate(index, &marks, i, j, min_score));
                });
                marks.set(words, false);
            }
        }
        hits
    };
    if threads <= 1 {
        return scan_some();
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(scan_some)).collect();
        let mut hits = Vec::new();
        for w in workers {
            hits.extend(w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        hits
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
        let (p, q) = (&index.hot[0], &index.hot[1]);
        let blocks = Blocks::build(&index, DEFAULT_MIN_SCORE, RARE_WORD_MAX_DF);
        let mut stamp = vec![NONE; 2];
        let mut met = Vec::new();
        blocks.for_each_partner(&index, 0, &mut stamp, |j| met.push(j));
        assert_eq!(met, vec![1]);
        assert_eq!((index.area_score(0, 1), period_score(p, q)), (1.0, 1.0));
        assert_eq!(index.service(0, 1).0, 0.0);
        assert_eq!(round3(index.text_score(0, 1)), round3(2.0 / 63f64.sqrt()));
        let mut marks = WordMarks::new(&index);
        marks.set(p.words.of(&index.words), true);
        assert_eq!(evaluate(&index, &marks, 0, 1, 0.0), None);
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
        for k in 0..=200_000 {
            let x = f64::from(k) / 200_000.0 + if k % 3 == 0 { 1e-12 } else { 0.0 };
            assert_eq!(round3(x), (x * 1000.0).round() / 1000.0, "{x}");
            assert_eq!(round3(-x), (-x * 1000.0).round() / 1000.0, "{x}");
        }
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
            let (p, q) = (&index.hot[0], &index.hot[1]);
            (
                index.service(0, 1).0,
                index.area_score(0, 1),
                period_score(p, q),
                round3(index.text_score(0, 1)),
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

    #[test]
    fn generic_words_do_not_count() {
        let candidates: Vec<Candidate> = (0..60)
            .map(|k| {
                let mut c = blank(&format!("g{k}"), &format!("GB-{k}"));
                c.title = Some(format!("support w{k}x"));
                c.description = (k < 2).then(|| "school counselling".to_owned());
                c
            })
            .collect();
        let index = Index::build(&candidates);
        let support = index.stems.ids.get("support").copied().expect("interned");
        assert_eq!(index.df[support as usize], 60);
        assert!(!index.words.contains(&support));
        // Only the two that share "school counselling" are similar: 2 of 3 words each.
        let found = find_overlaps(&candidates, 0.0);
        assert_eq!(pairs(&found), vec![(0, 1)]);
        assert_eq!(
            found[0].reasons[0].detail,
            "shared words: counselling, school"
        );
        // Under the generic threshold (50 of 60 here) a shared word still counts.
        let few = &candidates[..50];
        assert_eq!(find_overlaps(few, 0.0).len(), 50 * 49 / 2);
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
        // Used by most candidates: generic words (more than 50 of 300), which neither count
        // in the text score nor open a block.
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
            "West; North",
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
        let mut marks = WordMarks::new(&index);
        let mut found = Vec::new();
        for i in 0..candidates.len() {
            let words = index.hot[i].words.of(&index.words);
            marks.set(words, true);
            for j in i + 1..candidates.len() {
                if let Some(hit) = evaluate(&index, &marks, i, j, min_score) {
                    let (i, j) = (index.original[i], index.original[j]);
                    let (a, b) = if (&candidates[j].ocid, j) < (&candidates[i].ocid, i) {
                        (j, i)
                    } else {
                        (i, j)
                    };
                    found.push((a, b, from_thousandths(hit.score)));
                }
            }
            marks.set(words, false);
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
            let generic = generic_min_df(candidates.len());
            let common = index
                .df
                .iter()
                .filter(|&&df| df as usize >= generic)
                .count();
            assert_eq!(common, 2, "the set must have generic words");
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
    fn service_blocks_alone_find_every_service_pair() {
        // Without the text channel (no word is rare), the service scopes must still bring
        // together every reportable pair that passes the gate by its service score, whether
        // they are one block per scope (threshold up to 0.5) or split by place, area and word.
        for seed in [1, 2] {
            let candidates = random_candidates(seed, 300);
            let index = Index::build(&candidates);
            let mut marks = WordMarks::new(&index);
            for min_score in [0.4, DEFAULT_MIN_SCORE, 0.6] {
                let blocks = Blocks::build(&index, min_score, 0);
                let service_pairs = |hits: Vec<Hit>| {
                    let mut pairs: Vec<(u32, u32, u16)> = hits
                        .into_iter()
                        .filter(|h| h.service >= 600)
                        .map(|h| (h.a, h.b, h.score))
                        .collect();
                    pairs.sort_unstable();
                    pairs
                };
                let found = service_pairs(scan(&index, &blocks, min_score, 1));
                let mut all = Vec::new();
                for i in 0..candidates.len() {
                    marks.set(index.hot[i].words.of(&index.words), true);
                    for j in i + 1..candidates.len() {
                        all.extend(evaluate(&index, &marks, i, j, min_score));
                    }
                    marks.set(index.hot[i].words.of(&index.words), false);
                }
                let expected = service_pairs(all);
                assert!(expected.len() >= 100, "seed {seed}: {}", expected.len());
                assert_eq!(found, expected, "seed {seed}, min {min_score}");
            }
        }
    }

    /// The rules without any pruning: every component, then the gate and the threshold.
    fn reference(index: &Index, i: usize, j: usize, min_score: f64) -> Option<u16> {
        if !index.different_agencies(i, j) {
            return None;
        }
        let service = round3(index.service(i, j).0);
        let area = round3(index.area_score(i, j));
        let period = round3(period_score(&index.hot[i], &index.hot[j]));
        let text = round3(index.text_score(i, j));
        let score = round3(0.35 * service + 0.2 * area + 0.15 * period + 0.3 * text);
        let gate = service >= 0.6 || text >= 0.35;
        (gate && score >= min_score).then(|| thousandths(score))
    }

    #[test]
    fn pruning_bounds_never_drop_a_pair() {
        for seed in [4, 5] {
            // Random candidates and near copies of them by other agencies (the same words, or
            // the title's words only), so that many pairs sit exactly on a bound: text equal
            // to its maximum √(smaller/larger), scores equal to the threshold.
            let mut candidates = random_candidates(seed, 200);
            for k in 0..100 {
                let mut copy = candidates[k].clone();
                copy.ocid = format!("copy-{k}");
                copy.buyer = Some(format!("GB-COPY-{k}"));
                copy.agencies = vec![format!("GB-COPY-{k}")];
                if k % 2 == 0 {
                    copy.description = None;
                }
                if k % 3 == 0 {
                    copy.area = Some("Elsewhere".into());
                }
                candidates.push(copy);
            }
            let index = Index::build(&candidates);
            let n = candidates.len();
            let expected: Vec<Vec<Option<u16>>> = (0..n)
                .map(|i| (0..n).map(|j| reference(&index, i, j, 0.0)).collect())
                .collect();
            let mut scores: Vec<u16> = expected.iter().flatten().flatten().copied().collect();
            scores.sort_unstable();
            scores.dedup();
            let mut thresholds = vec![0.0, 0.3, 0.45, DEFAULT_MIN_SCORE, 0.6, 0.7];
            thresholds.extend(scores.iter().step_by(5).map(|&s| from_thousandths(s)));
            let mut marks = WordMarks::new(&index);
            let mut reported = 0;
            for &min_score in &thresholds {
                for (i, row) in expected.iter().enumerate() {
                    marks.set(index.hot[i].words.of(&index.words), true);
                    for (j, expected) in row.iter().enumerate().skip(i + 1) {
                        let fast = evaluate(&index, &marks, i, j, min_score).map(|h| h.score);
                        let slow = expected.filter(|&s| from_thousandths(s) >= min_score);
                        assert_eq!(fast, slow, "{i} {j} at {min_score}");
                        reported += usize::from(fast.is_some());
                    }
                    marks.set(index.hot[i].words.of(&index.words), false);
                }
            }
            assert!(reported > 1000, "{reported}");
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
