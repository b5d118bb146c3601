//! One module per subcommand that does more than call into a crate.

pub mod compile;
pub mod demo;
pub mod export;
pub mod import;
mod progress;
pub mod reconcile;
pub mod sync;
pub mod token;
pub mod validate;
