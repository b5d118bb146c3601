//! Serves releases from a JSON Lines file as a Find a Tender-style feed on 127.0.0.1, for the
//! ingest benchmark (`bench/sync.sh`). Prints `url <base URL>` and `first <oldest date>`, then
//! serves until killed.
//!
//!     cargo run --release -p sync --features testing --example feed_replay -- releases.jsonl

use std::io::BufRead;

use sync::testing::{FeedStyle, OcdsFeed};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: feed_replay RELEASES.jsonl")?;
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let mut releases = Vec::new();
    let mut first: Option<chrono::DateTime<chrono::FixedOffset>> = None;
    for (n, line) in file.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let release: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("{path}, line {}: {e}", n + 1))?;
        if let Some(date) = release["date"]
            .as_str()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        {
            first = Some(first.map_or(date, |f| f.min(date)));
        }
        releases.push(release);
    }
    let server = OcdsFeed::new(FeedStyle::FindATender, releases).serve();
    println!("url {}", server.base_url());
    if let Some(first) = first {
        println!("first {}", first.to_rfc3339());
    }
    loop {
        std::thread::park();
    }
}
