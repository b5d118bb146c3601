//! One module per subcommand that does more than call into a crate.

pub mod compile;
mod progress;
pub mod token;
pub mod validate;
