//! `ocreg reconcile --publisher ORG`: recomputes the contract links of one publisher's spend
//! ([`register::spend::relink`], what every spend import does at its end) and prints what it
//! found and how long each phase took. For re-running the matcher after contracts changed, and
//! for `bench/reconcile.sh`.

use std::time::Instant;

use register::{DbConnection, org_ids::normalise_org_id};

#[derive(clap::Args, Debug)]
pub struct ReconcileArgs {
    /// The publishing council's org-id, e.g. GB-LAE-DEV.
    #[arg(long, value_name = "ORG-ID")]
    publisher: String,
}

pub fn run(args: &ReconcileArgs, conn: &mut DbConnection) -> anyhow::Result<()> {
    let publisher = normalise_org_id(&args.publisher).ok_or_else(|| {
        anyhow::anyhow!(
            "--publisher `{}` is not an org-id (e.g. GB-LAE-DEV)",
            args.publisher
        )
    })?;
    let started = Instant::now();
    let stats = register::spend::relink(conn, &publisher)?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{publisher}: {} payment(s), {} contract(s), {} link(s) in {seconds:.1} s \
         (contracts {:.1} s, old links {:.1} s, matching and storing {:.1} s)",
        stats.payments,
        stats.contracts,
        stats.linked,
        stats.phases.contracts.as_secs_f64(),
        stats.phases.clear.as_secs_f64(),
        stats.phases.link.as_secs_f64(),
    );
    Ok(())
}
