//! Time of `find_overlaps` on synthetic registers of 10,000 and 100,000 candidates, at
//! `DEFAULT_MIN_SCORE` and (100,000 only) at 0.7; the number of overlaps found is printed first.
//!
//! The candidates are made here with a seeded LCG (no data files, no extra dependencies), shaped
//! like a children's services register: 400 agencies (one in ten candidates with no buyer but an
//! agency list, one in six with a partner agency); 1-2 CPV codes from a pool of 300 codes in at
//! most 240 4-digit classes of the relevant divisions (5% with no code); a service category from
//! 12 on 70%; "place; region" areas (150 places, 9 English regions; 10% unknown); periods of 3
//! months to 5 years starting 2018-2029 (10% unknown, 5% start only); a 3-7 word title and an
//! 8-30 word description drawn Zipf-like from 6,000 words whose 60 most frequent are real domain
//! words. Everything is inside the measurement: preparation, blocking, scoring, sorting and
//! writing the reasons.

use std::hint::black_box;

use chrono::{NaiveDate, NaiveDateTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use register::overlaps::{Candidate, DEFAULT_MIN_SCORE, Kind, find_overlaps};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

const DOMAIN_WORDS: [&str; 60] = [
    "support",
    "health",
    "mental",
    "family",
    "school",
    "care",
    "education",
    "wellbeing",
    "special",
    "needs",
    "disabilities",
    "early",
    "help",
    "youth",
    "social",
    "placements",
    "residential",
    "foster",
    "therapy",
    "counselling",
    "speech",
    "language",
    "autism",
    "respite",
    "short",
    "breaks",
    "parenting",
    "domestic",
    "abuse",
    "substance",
    "misuse",
    "exploitation",
    "missing",
    "advocacy",
    "independent",
    "visitors",
    "adoption",
    "leaving",
    "housing",
    "semi",
    "supported",
    "lodgings",
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
    "play",
    "holiday",
    "activities",
    "food",
    "digital",
    "safety",
];

const REGIONS: [&str; 9] = [
    "North West",
    "North East",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
];

struct Vocabulary {
    words: Vec<String>,
    /// Cumulative Zipf weights (1/rank).
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(size: usize) -> Vocabulary {
        let syllables = [
            "ka", "lo", "mi", "ter", "van", "sul", "dor", "pen", "rix", "bel",
        ];
        let words: Vec<String> = (0..size)
            .map(|r| match DOMAIN_WORDS.get(r) {
                Some(w) => (*w).to_owned(),
                None => {
                    let mut w = String::new();
                    let mut k = r;
                    for _ in 0..4 {
                        w.push_str(syllables[k % syllables.len()]);
                        k /= syllables.len();
                    }
                    w.push('q'); // no plural or -ing ending: the stem is the word
                    w
                }
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (0..size)
            .map(|r| {
                total += 1.0 / (r + 1) as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn draw(&self, rng: &mut Lcg) -> &str {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.unit() * total;
        let r = self.cumulative.partition_point(|&c| c < x);
        &self.words[r.min(self.words.len() - 1)]
    }

    fn text(&self, rng: &mut Lcg, min: usize, spread: usize) -> String {
        let n = min + rng.below(spread);
        (0..n).map(|_| self.draw(rng)).collect::<Vec<_>>().join(" ")
    }
}

fn day(rng: &mut Lcg, from_year: i32, years: usize) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(from_year, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new((rng.below(years * 365)) as u64)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("bench date")
}

fn candidates(n: usize, seed: u64) -> Vec<Candidate> {
    let mut rng = Lcg(seed);
    let vocabulary = Vocabulary::new(6000);
    let divisions = [85, 80, 79, 98, 75, 55, 60, 92, 72, 33, 45, 90];
    let cpv_pool: Vec<String> = (0..300)
        .map(|_| {
            let division = divisions[rng.below(divisions.len())];
            let rest = rng.below(5) * 100_000 + rng.below(4) * 10_000 + rng.below(100) * 100;
            format!("{}", division * 1_000_000 + rest)
        })
        .collect();
    let categories: Vec<String> = (0..12).map(|k| format!("Category {k}")).collect();
    let places: Vec<String> = (0..150).map(|k| format!("Place{k}")).collect();
    let kinds = [Kind::Intention, Kind::Opportunity, Kind::Contract];
    (0..n)
        .map(|k| {
            let buyer = format!("GB-ORG-{}", rng.below(400));
            let mut agencies = vec![buyer.clone()];
            if rng.below(6) == 0 {
                agencies.push(format!("GB-ORG-{}", rng.below(400)));
            }
            let buyer = (rng.below(10) != 0).then_some(buyer);
            let cpv_codes = if rng.below(20) == 0 {
                Vec::new()
            } else {
                (0..1 + rng.below(2))
                    .map(|_| cpv_pool[rng.below(cpv_pool.len())].clone())
                    .collect()
            };
            let service_category =
                (rng.below(10) < 7).then(|| categories[rng.below(categories.len())].clone());
            let area = (rng.below(10) != 0).then(|| {
                format!(
                    "{}; {}",
                    places[rng.below(places.len())],
                    REGIONS[rng.below(REGIONS.len())]
                )
            });
            let (start, end) = match rng.below(20) {
                0 | 1 => (None, None),
                2 => (Some(day(&mut rng, 2018, 12)), None),
                _ => {
                    let start = day(&mut rng, 2018, 12);
                    let days = 90 + rng.below(5 * 365 - 90);
                    (
                        Some(start),
                        start.checked_add_days(chrono::Days::new(days as u64)),
                    )
                }
            };
            Candidate {
                ocid: format!("ocds-bench-{k:06}"),
                kind: kinds[rng.below(kinds.len())],
                title: Some(vocabulary.text(&mut rng, 3, 5)),
                description: Some(vocabulary.text(&mut rng, 8, 23)),
                buyer,
                agencies,
                cpv_codes,
                service_category,
                area,
                start,
                end,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("find_overlaps");
    g.sample_size(10);
    // At the default threshold, then at 0.7 for 100,000: few pairs reach it, so that run is
    // close to the cost of preparing and scanning alone, without writing millions of reasons.
    for (n, min_score) in [
        (10_000, DEFAULT_MIN_SCORE),
        (100_000, DEFAULT_MIN_SCORE),
        (100_000, 0.7),
    ] {
        let input = candidates(n, 1);
        let found = find_overlaps(&input, min_score).len();
        eprintln!("{n} candidates: {found} overlaps at {min_score}");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}@{min_score}"), |b| {
            b.iter(|| black_box(find_overlaps(black_box(&input), min_score)));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the machine has two cores shared with other builds.
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
