//! `ocreg sync`: run the configured feeds once (`run`) or on their schedules (`daemon`).
//! `ocreg serve` runs the same scheduler beside the API ([`spawn_daemon`]).

use std::thread::JoinHandle;

use anyhow::Context;
use register::{
    DatabaseUrl, Settings,
    sync_store::{FileOutcome, RunStatus},
};
use sync::runner::{self, RunReport, SyncDb};
use tokio::sync::watch;

#[derive(Debug, clap::Subcommand)]
pub enum SyncCommand {
    /// Sync every configured source (or those named) once, then print what each run did (for
    /// files sources, each file's rows read, imported, duplicates, skipped and rejected).
    /// Exits 1 if a run rejected releases, rows or files, 2 if a run failed (it resumes next
    /// time).
    Run {
        /// A source to run (a `[sources.<name>]` of the configuration); repeat for several.
        #[arg(long = "source", value_name = "NAME")]
        sources: Vec<String>,
    },
    /// Run every source on its schedule until SIGINT or SIGTERM.
    Daemon,
}

/// Connections of the sync's own pool: a source's lock may hold one on PostgreSQL.
const SYNC_POOL_SIZE: u32 = 4;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ocreg-sync")
        .enable_all()
        .build()
        .context("cannot start the sync runtime")
}

fn sync_db(url: &DatabaseUrl) -> anyhow::Result<SyncDb> {
    Ok(SyncDb {
        pool: url.pool(SYNC_POOL_SIZE)?,
        url: url.clone(),
    })
}

/// Runs `command`; the database must be migrated. `Ok(false)` when releases were rejected.
pub fn run(command: SyncCommand, settings: &Settings, url: &DatabaseUrl) -> anyhow::Result<bool> {
    match command {
        SyncCommand::Run { sources } => {
            let sources = runner::sources(settings, &sources)?;
            if sources.is_empty() {
                anyhow::bail!(
                    "no sources are configured: add a [sources.<name>] table to ocreg.toml (see the README)"
                );
            }
            let db = sync_db(url)?;
            let reports = runtime()?.block_on(async {
                // Kept alive so runs are never told to stop; Ctrl-C ends the process, and
                // the next run resumes from the last committed page.
                let (_keep, mut stop) = watch::channel(false);
                let mut reports = Vec::new();
                for source in &sources {
                    reports.push(runner::run_source(&db, source, &mut stop).await?);
                }
                anyhow::Ok(reports)
            })?;
            for report in &reports {
                eprintln!("{}", describe(report));
            }
            super::import::relink_changed_buyers(&mut *db.pool.get()?)?;
            if let Some(failed) = reports.iter().find(|r| r.status == RunStatus::Failed) {
                anyhow::bail!(
                    "source {} failed: {}",
                    failed.source,
                    failed.error.as_deref().unwrap_or("unknown error")
                );
            }
            Ok(reports.iter().all(|r| r.summary.rejected == 0))
        }
        SyncCommand::Daemon => {
            let sources = runner::sources(settings, &[])?;
            let db = sync_db(url)?;
            runtime()?.block_on(async {
                let (stop_tx, stop) = watch::channel(false);
                tokio::spawn(async move {
                    shutdown_signal().await;
                    tracing::info!("stopping: runs in progress stop after their current page");
                    let _ = stop_tx.send(true);
                });
                sync::scheduler::run_daemon(db, sources, stop, relink_every(settings), log_report)
                    .await;
            });
            Ok(true)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn relink_every(settings: &Settings) -> std::time::Duration {
    std::time::Duration::from_secs(settings.relink_interval_seconds.max(1))
}

fn log_report(report: &RunReport) {
    if !report.skipped {
        tracing::info!("{}", describe(report));
    }
}

/// One paragraph per run for people.
fn describe(report: &RunReport) -> String {
    if report.skipped {
        return format!("{}: skipped, another process is syncing it", report.source);
    }
    if report.kind.is_files() {
        return describe_files(report);
    }
    let s = &report.summary;
    let mut text = format!(
        "{}: run {} {}: {} page(s) in {} complete window(s); releases {} new, {} updated, {} unchanged, {} filtered out, {} rejected, {} repaired; {} request(s), {} retried, {:.1} s waiting",
        report.source,
        report.run_id.unwrap_or_default(),
        report.status.code(),
        s.pages,
        s.windows,
        s.releases_new,
        s.releases_updated,
        s.releases_unchanged,
        s.releases_filtered_out,
        s.rejected,
        s.repaired,
        s.requests,
        s.retries,
        s.waited_seconds,
    );
    if let Some(until) = report.complete_until {
        text.push_str(&format!(
            "; complete up to {}",
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    for reject in &s.rejects {
        text.push_str(&format!(
            "\n  rejected {} {} (release {} of {}): {}",
            reject.ocid.as_deref().unwrap_or("?"),
            reject.id.as_deref().unwrap_or("?"),
            reject.position,
            reject.url,
            reject.reason
        ));
    }
    if s.rejected as usize > s.rejects.len() {
        text.push_str(&format!(
            "\n  ... and {} more (GET /api/v1/sync/runs/{})",
            s.rejected as usize - s.rejects.len(),
            report.run_id.unwrap_or_default()
        ));
    }
    if let Some(error) = &report.error {
        text.push_str(&format!("\n  error: {error}"));
    }
    text
}

/// A files source's run: the totals, then one line per due file.
fn describe_files(report: &RunReport) -> String {
    let s = &report.summary;
    let count = |outcome| s.files.iter().filter(|f| f.outcome == outcome).count();
    let mut text = format!(
        "{}: run {} {}: {} file(s) due: {} imported, {} unchanged, {} not published, {} failed; {} request(s), {} retried, {:.1} s waiting",
        report.source,
        report.run_id.unwrap_or_default(),
        report.status.code(),
        s.files.len(),
        count(FileOutcome::Imported),
        count(FileOutcome::Unchanged),
        count(FileOutcome::NotPublished),
        count(FileOutcome::Failed),
        s.requests,
        s.retries,
        s.waited_seconds,
    );
    for file in &s.files {
        let run = file
            .run_id
            .map(|id| format!(" (run {id})"))
            .unwrap_or_default();
        let line = match (file.outcome, &file.rows, &file.reason) {
            (FileOutcome::Imported, Some(rows), _) => format!(
                "imported {}{run}: rows {} read, {} imported, {} duplicates, {} skipped, {} rejected",
                file.url, rows.read, rows.imported, rows.duplicates, rows.skipped, rows.rejected
            ),
            (FileOutcome::Unchanged, ..) => {
                format!(
                    "unchanged {}: imported before, not imported again",
                    file.url
                )
            }
            (FileOutcome::NotPublished, ..) => {
                format!("not published {}: HTTP 404 (not a failure)", file.url)
            }
            (_, _, reason) => format!(
                "failed {}{run}: {}",
                file.url,
                reason.as_deref().unwrap_or("unknown reason")
            ),
        };
        text.push_str("\n  ");
        text.push_str(&line);
    }
    if let Some(error) = &report.error {
        text.push_str(&format!("\n  error: {error}"));
    }
    text
}

/// The scheduler beside the API (`ocreg serve`): its own thread and runtime, stopped by
/// [`DaemonHandle::stop`].
pub struct DaemonHandle {
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
}

pub fn spawn_daemon(settings: &Settings, url: &DatabaseUrl) -> anyhow::Result<DaemonHandle> {
    let sources = runner::sources(settings, &[])?;
    let db = sync_db(url)?;
    let runtime = runtime()?;
    let relink_every = relink_every(settings);
    let (stop, stopped) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("ocreg-sync-daemon".into())
        .spawn(move || {
            runtime.block_on(sync::scheduler::run_daemon(
                db,
                sources,
                stopped,
                relink_every,
                log_report,
            ));
        })
        .context("cannot start the sync daemon thread")?;
    Ok(DaemonHandle { stop, thread })
}

impl DaemonHandle {
    /// Tells runs to stop after their current page and waits for them.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }
}
