//! The Open Contracting Data Standard, pure and I/O-free: lossless release reading, record
//! compilation (compiled and versioned releases) and validation. No database, no network.

pub mod merge;
pub mod read;
pub mod validate;
