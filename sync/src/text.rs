//! Text handling shared by the file parsers ([`crate::spend`], [`crate::grants`]): decoding a
//! published file's bytes, the physical line a CSV record starts on, and exact decimal amounts
//! in pence. Each parser keeps its own rules for what surrounds these (headers, signs, currency
//! words); only what both must do identically lives here.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

/// Decodes a whole file: a UTF-8 byte-order mark is stripped, valid UTF-8 is used as is, and
/// anything else is Windows-1252, what Excel writes for "CSV" on a UK machine. The choice is
/// made for the file, not per line, because a cp1252 file is mostly valid ASCII with a handful of
/// `£`/`ú` bytes, so deciding line by line would mix encodings within one file.
pub fn decode(bytes: &[u8]) -> (Encoding, Cow<'_, str>) {
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    match std::str::from_utf8(body) {
        Ok(text) if bom => (Encoding::Utf8Bom, Cow::Borrowed(text)),
        Ok(text) => (Encoding::Utf8, Cow::Borrowed(text)),
        Err(_) => (
            Encoding::Windows1252,
            Cow::Owned(body.iter().map(|&b| cp1252(b)).collect()),
        ),
    }
}

/// Windows-1252: Latin-1 except for 0x80-0x9F. The five bytes it leaves undefined become
/// U+FFFD rather than invisible C1 controls, so a damaged name shows as damaged.
fn cp1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}',
        '\u{017D}', '\u{FFFD}', '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}',
        '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Physical (1-based) line numbers of CSV records. The `csv` reader stamps a record with its
/// position *before* it steps over the `\n` left from the previous `\r\n` and over any blank
/// lines, so its own line count can be short of the line the record's first cell is on.
pub struct LineIndex<'t> {
    text: &'t [u8],
    newlines: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    /// `text` must be exactly what the reader reads, since positions are byte offsets into it.
    pub fn new(text: &'t str) -> Self {
        let text = text.as_bytes();
        let newlines = (0..text.len()).filter(|&i| text[i] == b'\n').collect();
        LineIndex { text, newlines }
    }

    /// The line a record (or a reader error) starts on: the first byte at or after its position
    /// that is not a line ending.
    pub fn at(&self, position: &csv::Position) -> u64 {
        let byte = usize::try_from(position.byte()).unwrap_or(usize::MAX);
        let rest = self.text.get(byte..).unwrap_or_default();
        let start = byte
            + rest
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
        let line = self.newlines.partition_point(|&n| n < start) + 1;
        u64::try_from(line).unwrap_or(u64::MAX)
    }
}

/// Why [`decimal_pence`] could not read a number; each parser words it for its own reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PenceError {
    NotANumber,
    OutOfRange,
}

/// Reads an unsigned decimal in pounds as exact integer pence: digits, optionally grouped in
/// threes by commas, an optional fraction and an optional exponent (`1.5E+3`, `6.82121E-13`).
/// A bare point on either side (`.5`, `7.`) is accepted; a parser that must refuse it checks
/// first. Sign, currency and padding are the caller's to strip.
///
/// The value is taken from its digits, never through a float, so spreadsheet residues such as
/// `-571.7099999999999` round to the penny they meant; more than two decimals round half away
/// from zero.
pub fn decimal_pence(negative: bool, number: &str) -> Result<i64, PenceError> {
    use PenceError::{NotANumber, OutOfRange};
    let (mantissa, exponent) = match number.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, parse_exponent(exponent).ok_or(NotANumber)?),
        None => (number, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !thousands_grouped(whole)
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (whole.is_empty() && fraction.is_empty())
    {
        return Err(NotANumber);
    }

    let digits: Vec<i64> = whole
        .bytes()
        .filter(|b| *b != b',')
        .chain(fraction.bytes())
        .map(|b| i64::from(b - b'0'))
        .collect();
    let whole_digits = whole.bytes().filter(|b| *b != b',').count() as i64;
    // Position of the decimal point once the value is scaled to pence.
    let pence_point = whole_digits + exponent + 2;
    let digit = |i: i64| -> i64 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut pence: i64 = 0;
    for i in 0..pence_point.max(0) {
        pence = pence
            .checked_mul(10)
            .and_then(|p| p.checked_add(digit(i)))
            .ok_or(OutOfRange)?;
    }
    if digit(pence_point) >= 5 {
        pence = pence.checked_add(1).ok_or(OutOfRange)?;
    }
    Ok(if negative { -pence } else { pence })
}

fn parse_exponent(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    // Four digits are far beyond any amount; the limit keeps the digit loop short.
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Digits, optionally grouped in threes by commas; anything else (`12,5`) may be a decimal comma
/// and is not a UK amount.
fn thousands_grouped(whole: &str) -> bool {
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !whole.contains(',') {
        return all_digits(whole);
    }
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or_default();
    (1..=3).contains(&first.len())
        && all_digits(first)
        && groups.all(|g| g.len() == 3 && all_digits(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1252_high_range_and_latin1() {
        assert_eq!(cp1252(0x80), '€');
        assert_eq!(cp1252(0x85), '…');
        assert_eq!(cp1252(0x92), '’');
        assert_eq!(cp1252(0x96), '–');
        assert_eq!(cp1252(0x9F), 'Ÿ');
        for undefined in [0x81, 0x8D, 0x8F, 0x90, 0x9D] {
            assert_eq!(cp1252(undefined), '\u{FFFD}');
        }
        assert_eq!(cp1252(0xA3), '£');
        assert_eq!(cp1252(0xFA), 'ú');
        assert_eq!(cp1252(b'A'), 'A');
    }

    #[test]
    fn cp1252_bytes_decode() {
        assert_eq!(
            decode(b"\xa3100 \x96 caf\xe9"),
            (Encoding::Windows1252, "£100 – café".into())
        );
        assert_eq!(decode(b"\xEF\xBB\xBFId"), (Encoding::Utf8Bom, "Id".into()));
        assert_eq!(decode(b"Id"), (Encoding::Utf8, "Id".into()));
    }

    #[test]
    fn record_lines_count_crlf_blank_lines_and_quoted_line_breaks() {
        let text = "a,b\r\n1,\"x\r\ny\"\r\n\r\n\r\n2,z\r\n3,w\n4,v";
        let lines = LineIndex::new(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let found: Vec<(String, u64)> = reader
            .records()
            .map(|r| {
                let r = r.expect("a record");
                (r[0].to_owned(), lines.at(r.position().expect("a position")))
            })
            .collect();
        let expected = [("a", 1), ("1", 2), ("2", 6), ("3", 7), ("4", 8)]
            .map(|(cell, line)| (cell.to_owned(), line))
            .to_vec();
        assert_eq!(found, expected);
    }

    #[test]
    fn decimals_become_pence_rounded_half_away_from_zero() {
        let cases = [
            (false, "3028.63", 302_863),
            (false, "1,234,567.89", 123_456_789),
            (false, ".5", 50),
            (false, "7.", 700),
            (false, "1,000e3", 100_000_000),
            (false, "0.005", 1),
            (true, "0.005", -1),
            (true, "2.675", -268),
            (false, "0.0049", 0),
            (true, "5.68434E-13", 0),
            (false, "0E+9999", 0),
        ];
        for (negative, number, pence) in cases {
            assert_eq!(decimal_pence(negative, number), Ok(pence), "{number:?}");
        }
        for number in [
            "", ".", "12,5", "1,23,456", ",123", "1,2345", "1.2.3", "1e", "1e99999", "+5", " 5",
        ] {
            assert_eq!(
                decimal_pence(false, number),
                Err(PenceError::NotANumber),
                "{number:?}"
            );
        }
        assert_eq!(decimal_pence(false, "1E+30"), Err(PenceError::OutOfRange));
    }
}
