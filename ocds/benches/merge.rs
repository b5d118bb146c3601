//! Throughput of record compilation, in releases per second.
//!
//! Data: JSON Lines of releases grouped by ocid, from `OCDS_BENCH_DATA` if set (e.g. the output
//! of `python3 shared/tools/gen_ocds.py --ocids 2000 --seed 1 --out /tmp/gen.jsonl`), else the
//! small committed sample `benches/data/releases-50.jsonl` (`--ocids 50 --seed 1`), so the
//! bench runs from a clean checkout. Rules come from the committed OCDS 1.1.5 release schema.
//!
//! Parsing is measured separately (`parse`) so the merge can be compared with the rest of the
//! per-release cost; cloning the input for each iteration is excluded (`iter_batched`), but
//! dropping it is not (a merge consumes its releases). `compile*` build `Value`s;
//! `merge_*+json` serialise the merged tree straight to JSON bytes, the path a writer takes.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ocds::merge::{
    MergeRules, compile, compile_record, compile_versioned, merge_compiled, merge_record,
};
use serde_json::Value;

fn data_path() -> PathBuf {
    std::env::var_os("OCDS_BENCH_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data/releases-50.jsonl"),
        PathBuf::from,
    )
}

fn rules() -> MergeRules {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ocds-merge/release-schema-1__1__5.json");
    let text = std::fs::read_to_string(&path).expect("1.1.5 release schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    MergeRules::from_schema(&schema).expect("merge rules")
}

/// Releases grouped by consecutive `ocid`, as the generator writes them.
fn group(releases: Vec<Value>) -> Vec<Vec<Value>> {
    let mut groups: Vec<Vec<Value>> = Vec::new();
    for release in releases {
        let same = groups
            .last()
            .and_then(|g| g.first())
            .is_some_and(|first| first.get("ocid") == release.get("ocid"));
        match groups.last_mut() {
            Some(group) if same => group.push(release),
            _ => groups.push(vec![release]),
        }
    }
    groups
}

fn bench(c: &mut Criterion) {
    let path = data_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("bench data {}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let releases: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("release JSON"))
        .collect();
    let count = releases.len() as u64;
    let groups = group(releases);
    let rules = rules();
    eprintln!(
        "bench data: {} ({count} releases, {} ocids, {} bytes)",
        path.display(),
        groups.len(),
        text.len()
    );

    let mut g = c.benchmark_group("merge");
    g.throughput(Throughput::Elements(count));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for line in &lines {
                let value: Value = serde_json::from_str(line).expect("release JSON");
                black_box(value);
            }
        });
    });
    g.bench_function("compile", |b| {
        b.iter_batched(
            || groups.clone(),
            |groups| {
                for releases in groups {
                    black_box(compile(&rules, releases).expect("compile"));
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("compile_versioned", |b| {
        b.iter_batched(
            || groups.clone(),
            |groups| {
                for releases in groups {
                    black_box(compile_versioned(&rules, releases).expect("versioned"));
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("compile_record", |b| {
        b.iter_batched(
            || groups.clone(),
            |groups| {
                for releases in groups {
                    black_box(compile_record(&rules, releases).expect("record"));
                }
            },
            BatchSize::LargeInput,
        );
    });
    // The fast path for callers that write JSON: serialise straight from the merged tree.
    g.bench_function("merge_compiled+json", |b| {
        let mut out = Vec::with_capacity(1 << 16);
        b.iter_batched(
            || groups.clone(),
            |groups| {
                for releases in groups {
                    let compiled = merge_compiled(&rules, releases).expect("compile");
                    out.clear();
                    serde_json::to_writer(&mut out, &compiled).expect("json");
                    black_box(&out);
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("merge_record+json", |b| {
        let mut out = Vec::with_capacity(1 << 16);
        b.iter_batched(
            || groups.clone(),
            |groups| {
                for releases in groups {
                    let record = merge_record(&rules, releases).expect("record");
                    out.clear();
                    serde_json::to_writer(&mut out, &record.compiled()).expect("json");
                    serde_json::to_writer(&mut out, &record.versioned()).expect("json");
                    black_box(&out);
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();

    // Validation of the same releases against OCDS 1.1.5 (schema compiled once, outside).
    let parsed: Vec<Value> = groups.iter().flatten().cloned().collect();
    let schema = ocds::validate::Schema::core();
    let mut v = c.benchmark_group("validate");
    v.throughput(Throughput::Elements(count));
    v.bench_function("validate_release", |b| {
        b.iter(|| {
            for release in &parsed {
                black_box(schema.validate_release(release));
            }
        });
    });
    v.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the machine has two cores shared with other builds.
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
