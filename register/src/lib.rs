//! The shared register: configuration, storage (SQLite or PostgreSQL behind one diesel
//! connection type), schema and migrations, telemetry. `api` and `sync` build on it.

pub mod audit;
pub mod commissioning;
pub mod config;
pub mod db;
pub mod digest;
pub mod export;
pub mod extension;
pub mod flatten;
pub mod grant_links;
pub mod grants;
pub mod identity;
pub mod off_contract;
pub mod org_ids;
pub mod organisations;
pub mod overlaps;
pub mod privacy;
pub mod reconcile;
pub mod releases;
pub mod relink_queue;
pub mod same_process;
pub mod schema;
pub mod spend;
pub mod summary;
pub mod sync_store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod transactions;
pub mod views;

pub use config::Settings;
pub use db::{Backend, DatabaseUrl, DbConnection, DbPool};
