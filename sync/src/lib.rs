//! Feed synchronisation: cron-scheduled adapters for e-tendering and finance feeds, an HTTP
//! client with retry and back-off, and per-page transactional bookkeeping of sync runs.

pub mod file_import;
pub mod filters;
pub mod finance_feed;
pub mod grants;
pub mod http;
pub mod london;
pub mod page;
pub mod relinker;
pub mod runner;
pub mod scheduler;
pub mod sources;
pub mod spend;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
