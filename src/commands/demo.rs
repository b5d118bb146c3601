//! The demo register (`fixtures/demo/`): real Find a Tender and Contracts Finder releases of
//! children's services plus a few hand-made releases of fictional agencies that show what the
//! register is for. Embedded in the binary so `ocreg serve` can load them from any directory.

use std::io::BufReader;

use register::DbConnection;

use super::import::{self, Options, Summary};

/// The demo files, in loading order: (name, contents).
pub const FILES: [(&str, &[u8]); 3] = [
    (
        "ocreg_demo_releases.json",
        include_bytes!("../../fixtures/demo/ocreg_demo_releases.json"),
    ),
    (
        "fts_ocds_release_package_children_services.json",
        include_bytes!("../../fixtures/demo/fts_ocds_release_package_children_services.json"),
    ),
    (
        "contracts_finder_ocds_search_page_excerpt_2022.json",
        include_bytes!("../../fixtures/demo/contracts_finder_ocds_search_page_excerpt_2022.json"),
    ),
];

/// The source recorded with the demo releases.
pub const SOURCE: &str = "demo";

/// Imports the demo files through the `ocreg import` code path (source `demo`); anything not
/// imported cleanly is logged as a warning. Returns the totals over all files.
pub fn load(conn: &mut DbConnection) -> anyhow::Result<Summary> {
    let options = Options {
        source: SOURCE.to_owned(),
        batch: 1000,
        progress: false,
    };
    let mut total = Summary::default();
    for (name, bytes) in FILES {
        let summary = import::import(
            conn,
            Box::new(BufReader::new(bytes)),
            Some(bytes.len() as u64),
            &options,
            &mut |line| tracing::warn!(file = name, "demo data: {line}"),
        )?;
        if !summary.clean() {
            tracing::warn!("demo data: {}", summary.describe(name));
        }
        total.read += summary.read;
        total.created += summary.created;
        total.unchanged += summary.unchanged;
        total.unreadable += summary.unreadable;
        total.invalid += summary.invalid;
        total.conflicts += summary.conflicts;
        total.unmergeable += summary.unmergeable;
        total.refused += summary.refused;
        total.ocids += summary.ocids;
        total.recompilations += summary.recompilations;
        total.elapsed += summary.elapsed;
    }
    Ok(total)
}
