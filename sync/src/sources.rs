//! One adapter per feed, behind one trait: a feed is walked in windows of time, each window
//! a chain of release-package pages linked by `links.next`. What differs between the
//! services is how a window's first page is asked for (and how times are written).

use chrono::{DateTime, Utc};
use register::config::{SourceKind, SourceSettings};

use crate::london;

pub trait Feed: Send + Sync {
    /// The URL of the first page of the window `[from, to]`.
    fn window_url(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> String;
}

/// Find a Tender: `GET /api/1.0/ocdsReleasePackages?updatedFrom&updatedTo&limit`. The times
/// are read by the service as Europe/London local time (uk-feeds.md, 1.2), so they are
/// written that way. `stages` is never sent: it hides most Procurement Act notices.
pub struct FindATender {
    pub base_url: String,
    pub page_size: u32,
}

impl Feed for FindATender {
    fn window_url(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        format!(
            "{}/api/1.0/ocdsReleasePackages?updatedFrom={}&updatedTo={}&limit={}",
            self.base_url,
            london::format_local(from),
            london::format_local(to),
            self.page_size
        )
    }
}

/// Contracts Finder: `GET /Published/Notices/OCDS/Search?publishedFrom&publishedTo&limit`,
/// times in UTC.
pub struct ContractsFinder {
    pub base_url: String,
    pub page_size: u32,
}

impl Feed for ContractsFinder {
    fn window_url(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        let format = "%Y-%m-%dT%H:%M:%SZ";
        format!(
            "{}/Published/Notices/OCDS/Search?publishedFrom={}&publishedTo={}&limit={}",
            self.base_url,
            from.format(format),
            to.format(format),
            self.page_size
        )
    }
}

/// The adapter for a configured source; `None` for kinds that are files, not feeds
/// ([`crate::finance_feed`]).
pub fn feed_for(settings: &SourceSettings) -> Option<Box<dyn Feed>> {
    let base_url = if settings.base_url.is_empty() {
        settings.kind.default_base_url().to_owned()
    } else {
        settings.base_url.trim_end_matches('/').to_owned()
    };
    let page_size = settings.page_size.unwrap_or(100).clamp(1, 100);
    match settings.kind {
        SourceKind::FindATender => Some(Box::new(FindATender {
            base_url,
            page_size,
        })),
        SourceKind::ContractsFinder => Some(Box::new(ContractsFinder {
            base_url,
            page_size,
        })),
        SourceKind::SpendCsv | SourceKind::ThreeSixtyGiving => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn find_a_tender_windows_are_written_in_london_time() {
        let feed = FindATender {
            base_url: "http://127.0.0.1:1".into(),
            page_size: 100,
        };
        // 10:00 UTC in July is 11:00 in London (BST).
        let from = Utc.with_ymd_and_hms(2026, 7, 1, 10, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap();
        assert_eq!(
            feed.window_url(from, to),
            "http://127.0.0.1:1/api/1.0/ocdsReleasePackages?updatedFrom=2026-07-01T11:00:00&updatedTo=2026-07-01T17:00:00&limit=100"
        );
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert!(
            feed.window_url(winter, winter)
                .contains("updatedFrom=2026-12-01T10:00:00&")
        );
    }

    #[test]
    fn contracts_finder_windows_are_utc() {
        let feed = ContractsFinder {
            base_url: "http://127.0.0.1:1".into(),
            page_size: 50,
        };
        let from = Utc.with_ymd_and_hms(2026, 7, 1, 10, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 7, 2, 10, 0, 0).unwrap();
        assert_eq!(
            feed.window_url(from, to),
            "http://127.0.0.1:1/Published/Notices/OCDS/Search?publishedFrom=2026-07-01T10:00:00Z&publishedTo=2026-07-02T10:00:00Z&limit=50"
        );
    }
}
