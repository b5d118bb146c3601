//! The daemon: every source with a schedule runs on it, each in its own task, so a slow
//! source never delays another. A source's runs never overlap: its task runs one at a time
//! (a tick that falls during a run is skipped), and across processes the source's lock
//! ([`register::sync_store::try_lock_source`]) lets one process sync it at a time.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::watch;

use crate::runner::{RunReport, Source, SyncDb, run_source, stopped};

/// Runs the scheduled sources, and the relinker every `relink_every`, until `stop` turns true,
/// then lets runs in progress stop at their next page boundary. `on_run` hears of every
/// finished run.
pub async fn run_daemon(
    db: SyncDb,
    sources: Vec<Source>,
    stop: watch::Receiver<bool>,
    relink_every: std::time::Duration,
    on_run: impl Fn(&RunReport) + Send + Sync + 'static,
) {
    let on_run = Arc::new(on_run);
    let mut tasks = tokio::task::JoinSet::new();
    // Payments follow contract changes whoever made them (crate::relinker).
    tasks.spawn(crate::relinker::run(db.clone(), relink_every, stop.clone()));
    for source in sources {
        let Some(schedule) = source.schedule.clone() else {
            tracing::info!(source = %source.name, "no schedule: runs only with `ocreg sync run`");
            continue;
        };
        let (db, mut stop, on_run) = (db.clone(), stop.clone(), Arc::clone(&on_run));
        tasks.spawn(async move {
            loop {
                let Some(next) = schedule.upcoming(Utc).next() else {
                    tracing::info!(source = %source.name, "schedule has no further times");
                    return;
                };
                tracing::debug!(source = %source.name, next = %next, "next sync");
                let wait = (next - Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stopped(&mut stop) => return,
                }
                match run_source(&db, &source, &mut stop).await {
                    Ok(report) => on_run(&report),
                    Err(e) => tracing::error!(source = %source.name, "sync run failed: {e}"),
                }
                if *stop.borrow() {
                    return;
                }
            }
        });
    }
    if tasks.len() == 1 {
        tracing::info!("no source has a schedule; the sync daemon only relinks payments");
    }
    while tasks.join_next().await.is_some() {}
}
