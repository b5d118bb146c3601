//! The daemon's relinker: payments are relinked to contracts that changed
//! ([`register::relink_queue`]) every minute, whoever changed them (a sync run, an import, a
//! partner publishing through the API). One process drains at a time: the queue has a lock of
//! its own, taken like a source's.

use std::time::Duration;

use register::{relink_queue, sync_store};
use tokio::sync::watch;

use crate::runner::{RunError, SyncDb, stopped};

/// The lock name of the relink queue (not a valid source name: those are TOML keys).
const LOCK: &str = "relink queue";

/// How often the daemon drains the queue.
pub const EVERY: Duration = Duration::from_secs(60);

/// Drains the queue once, unless another process is draining it (`Ok(None)`).
pub async fn drain(db: &SyncDb) -> Result<Option<relink_queue::Drained>, RunError> {
    let db = db.clone();
    let work = move || {
        let Some(_lock) = sync_store::try_lock_source(&db.pool, &db.url, LOCK)? else {
            return Ok::<_, sync_store::SyncStoreError>(None);
        };
        let mut conn = db.pool.get()?;
        Ok(Some(
            relink_queue::drain(&mut conn).map_err(sync_store::SyncStoreError::from)?,
        ))
    };
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// Drains the queue every `every` until `stop` turns true.
pub async fn run(db: SyncDb, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stopped(&mut stop) => return,
        }
        match drain(&db).await {
            Ok(Some(drained)) if drained.relinked > 0 => tracing::info!(
                buyers = drained.relinked,
                linked = drained.linked,
                "payments relinked to changed contracts"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!("relinking payments failed: {e}"),
        }
    }
}
