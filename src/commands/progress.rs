//! Progress bars on stderr for long commands; they draw only when stderr is a terminal, so
//! logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over bytes when the total is known, else a spinner counting them.
pub fn bytes(total: Option<u64>, label: &'static str) -> ProgressBar {
    match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{msg:>9} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg:>9} {spinner} {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
    .with_message(label)
}

/// A bar over a count of items.
pub fn count(total: u64, label: &'static str) -> ProgressBar {
    ProgressBar::new(total)
        .with_style(
            ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
        .with_message(label)
}

/// Like [`bytes`], with a status after the bar (`bar.set_message(...)`, cut to the terminal's
/// width): for imports, what was stored so far.
pub fn bytes_with_status(total: Option<u64>, label: &'static str) -> ProgressBar {
    match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{prefix:>9} [{bar:25}] {percent:>3}% ({bytes_per_sec}, {eta}) {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(
                "{prefix:>9} {spinner} {bytes} ({bytes_per_sec}) {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
    .with_prefix(label)
}
