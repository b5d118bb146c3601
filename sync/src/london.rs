//! Europe/London civil time, computed from the UK summer-time rule instead of a tz database.
//!
//! Find a Tender reads the `updatedFrom`/`updatedTo` parameters of `ocdsReleasePackages` as
//! Europe/London local time (a trailing `Z` is accepted and ignored), so a UTC window has to be
//! converted before it is sent, and our test server has to convert it back.
//!
//! The rule used is the one in force since 1996 (EU harmonisation, kept after Brexit): GMT
//! (UTC+0), and BST (UTC+1) from 01:00 UTC on the last Sunday of March until 01:00 UTC on the last
//! Sunday of October. It is applied to every year, so instants before 1996 (when the UK changed on
//! other dates, and in 1968-71 stayed on UTC+1 all year) may come out an hour off. The feeds we
//! read start in 2014, so this never matters in practice.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The textual form Find a Tender expects, without an offset.
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

const GMT_SECONDS: i32 = 0;
const BST_SECONDS: i32 = 3600;

/// The last Sunday of a 31-day month (March and October both have 31 days).
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let last = NaiveDate::from_ymd_opt(year, month, 31)?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

/// The `[start, end)` instants of BST in `year`, or `None` at the edges of chrono's range.
fn summer_time(year: i32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = last_sunday(year, 3)?.and_hms_opt(1, 0, 0)?.and_utc();
    let end = last_sunday(year, 10)?.and_hms_opt(1, 0, 0)?.and_utc();
    Some((start, end))
}

/// The UTC offset of London at `utc`: `+00:00` (GMT) or `+01:00` (BST).
pub fn offset_at(utc: DateTime<Utc>) -> FixedOffset {
    let seconds = match summer_time(utc.year()) {
        Some((start, end)) if start <= utc && utc < end => BST_SECONDS,
        _ => GMT_SECONDS,
    };
    FixedOffset::east_opt(seconds).expect("0 and 3600 s are valid offsets")
}

/// London wall-clock time at `utc`.
pub fn to_local(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.with_timezone(&offset_at(utc)).naive_local()
}

/// London wall-clock time at `utc` as `YYYY-MM-DDTHH:MM:SS`, the form Find a Tender expects.
pub fn format_local(utc: DateTime<Utc>) -> String {
    to_local(utc).format(LOCAL_FORMAT).to_string()
}

/// The instant at which London clocks show `local`.
///
/// Two wall-clock hours do not map to exactly one instant:
/// * the autumn hour that happens twice (01:00-01:59 on the last Sunday of October) resolves to
///   the earlier instant, while BST is still in force;
/// * the spring hour that never happens (01:00-01:59 on the last Sunday of March) is read as GMT,
///   so 01:30 becomes 01:30 UTC (which London shows as 02:30 BST). The result is monotonic in
///   `local`, which keeps windows built from local times contiguous.
pub fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    let bst = FixedOffset::east_opt(BST_SECONDS).expect("valid offset");
    // Trying BST first is what makes the ambiguous autumn hour resolve to the earlier instant.
    if let Some(candidate) = bst.from_local_datetime(&local).single() {
        let candidate = candidate.with_timezone(&Utc);
        if offset_at(candidate).local_minus_utc() == BST_SECONDS {
            return candidate;
        }
    }
    local.and_utc()
}

/// Parses `YYYY-MM-DDTHH:MM:SS` as London local time. A trailing `Z` is accepted and ignored, as
/// Find a Tender does; anything else (a date alone, no seconds, fractions, offsets) is `None`.
pub fn parse_local(text: &str) -> Option<DateTime<Utc>> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    // chrono's parser tolerates unpadded and longer fields; the service allows exactly 19 chars.
    let shape_ok = text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(text, LOCAL_FORMAT)
        .ok()
        .map(from_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, LOCAL_FORMAT).unwrap()
    }

    #[test]
    fn last_sundays_of_2026() {
        assert_eq!(last_sunday(2026, 3), NaiveDate::from_ymd_opt(2026, 3, 29));
        assert_eq!(last_sunday(2026, 10), NaiveDate::from_ymd_opt(2026, 10, 25));
        // 31 Mar 2024 and 27 Oct 2024 were Sundays: the edge where the 31st itself is chosen.
        assert_eq!(last_sunday(2024, 3), NaiveDate::from_ymd_opt(2024, 3, 31));
        assert_eq!(last_sunday(2024, 10), NaiveDate::from_ymd_opt(2024, 10, 27));
    }

    #[test]
    fn spring_transition_2026_edges() {
        assert_eq!(offset_at(utc("2026-03-29T00:59:59Z")).local_minus_utc(), 0);
        assert_eq!(
            offset_at(utc("2026-03-29T01:00:00Z")).local_minus_utc(),
            3600
        );
        assert_eq!(
            format_local(utc("2026-03-29T00:59:59Z")),
            "2026-03-29T00:59:59"
        );
        assert_eq!(
            format_local(utc("2026-03-29T01:00:00Z")),
            "2026-03-29T02:00:00"
        );
        // A week earlier the clocks had not changed yet.
        assert_eq!(offset_at(utc("2026-03-22T12:00:00Z")).local_minus_utc(), 0);
    }

    #[test]
    fn autumn_transition_2026_edges() {
        assert_eq!(
            offset_at(utc("2026-10-25T00:59:59Z")).local_minus_utc(),
            3600
        );
        assert_eq!(offset_at(utc("2026-10-25T01:00:00Z")).local_minus_utc(), 0);
        assert_eq!(
            format_local(utc("2026-10-25T00:59:59Z")),
            "2026-10-25T01:59:59"
        );
        assert_eq!(
            format_local(utc("2026-10-25T01:00:00Z")),
            "2026-10-25T01:00:00"
        );
    }

    #[test]
    fn winter_and_summer() {
        assert_eq!(
            to_local(utc("2026-01-15T10:30:00Z")),
            local("2026-01-15T10:30:00")
        );
        assert_eq!(
            to_local(utc("2026-07-01T10:30:00Z")),
            local("2026-07-01T11:30:00")
        );
        // A UTC instant late on 31 Dec stays in the GMT year it belongs to.
        assert_eq!(
            format_local(utc("2025-12-31T23:30:00Z")),
            "2025-12-31T23:30:00"
        );
    }

    #[test]
    fn from_local_in_the_ambiguous_autumn_hour_takes_the_bst_instant() {
        assert_eq!(
            from_local(local("2026-10-25T01:30:00")),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            from_local(local("2026-10-25T01:59:59")),
            utc("2026-10-25T00:59:59Z")
        );
        assert_eq!(
            from_local(local("2026-10-25T02:00:00")),
            utc("2026-10-25T02:00:00Z")
        );
        assert_eq!(
            from_local(local("2026-10-25T00:59:59")),
            utc("2026-10-24T23:59:59Z")
        );
    }

    #[test]
    fn from_local_in_the_missing_spring_hour_reads_gmt() {
        assert_eq!(
            from_local(local("2026-03-29T00:59:59")),
            utc("2026-03-29T00:59:59Z")
        );
        assert_eq!(
            from_local(local("2026-03-29T01:30:00")),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            from_local(local("2026-03-29T02:00:00")),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn round_trips_across_both_2026_transitions() {
        // Every 10 minutes through both transition days. UTC -> local -> UTC is the identity
        // except in the repeated autumn hour (01:00-01:59 UTC, the GMT pass), whose wall-clock
        // times resolve to the earlier, BST pass an hour before.
        let repeated = utc("2026-10-25T01:00:00Z")..utc("2026-10-25T02:00:00Z");
        let mut shifted = 0;
        for day in ["2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z"] {
            let start = utc(day) - Duration::hours(3);
            for step in 0..(30 * 6) {
                let t = start + Duration::minutes(10 * step);
                let expected = if repeated.contains(&t) {
                    shifted += 1;
                    t - Duration::hours(1)
                } else {
                    t
                };
                assert_eq!(from_local(to_local(t)), expected, "round trip of {t}");
                assert_eq!(parse_local(&format_local(t)), Some(expected), "text of {t}");
                // Local -> UTC -> local always comes back: every wall-clock time London shows.
                assert_eq!(to_local(from_local(to_local(t))), to_local(t), "local {t}");
            }
        }
        assert_eq!(shifted, 6);
    }

    #[test]
    fn parse_local_accepts_only_the_fts_shape() {
        assert_eq!(
            parse_local("2026-07-01T11:00:00"),
            Some(utc("2026-07-01T10:00:00Z"))
        );
        // The trailing Z does not make it UTC.
        assert_eq!(
            parse_local("2026-07-01T11:00:00Z"),
            Some(utc("2026-07-01T10:00:00Z"))
        );
        assert_eq!(
            parse_local("2026-01-01T11:00:00Z"),
            Some(utc("2026-01-01T11:00:00Z"))
        );
        for bad in [
            "2026-07-01",
            "2026-07-01T11:00",
            "2026-07-01T11:00Z",
            "2026-07-01T11:00:00.5",
            "2026-07-01T11:00:00+01:00",
            "2026-7-01T11:00:00",
            "2026-07-01 11:00:00",
            "2026-02-30T11:00:00",
            "2026-07-01T24:00:00",
            "",
        ] {
            assert_eq!(parse_local(bad), None, "{bad:?} should be rejected");
        }
    }
}
