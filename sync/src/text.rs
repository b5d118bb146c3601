//! Text handling shared by the file parsers ([`crate::spend`], [`crate::grants`]): decoding a
//! published file's bytes, the physical line a CSV record starts on, and exact decimal amounts
//! in pence. Each parser keeps its own rules for what surrounds these (headers, signs, currency
//! words); only what both must do identically lives here.

use std::borrow::Cow;
use std::io::Read;

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

/// How much of a file [`StreamDecoder`] reads before it chooses the encoding and the line
/// endings. A cp1252 file shows its first `£` long before this in practice; past it, see
/// [`StreamDecoder`] for what a late non-UTF-8 byte does.
pub const DECODE_PREFIX_BYTES: usize = 1 << 20;

/// Bytes read from the source per refill once the prefix is decoded.
const DECODE_CHUNK_BYTES: usize = 1 << 16;

/// [`decode`] as a stream, so a file of any size is read in bounded memory: a [`Read`] of the
/// decoded UTF-8 text that also knows the physical line of any byte offset it has handed out
/// (what [`LineIndex`] does for a whole text).
///
/// The encoding is chosen from the first [`DECODE_PREFIX_BYTES`]: a UTF-8 byte-order mark is
/// stripped, invalid UTF-8 there makes the whole file Windows-1252, as [`decode`] does.
/// Otherwise the text is read as UTF-8 up to the first byte that is not valid UTF-8, and as
/// Windows-1252 from that byte on ([`StreamDecoder::encoding`] then says Windows-1252). When
/// everything before that byte is ASCII (the usual cp1252 file with a late `£`) this is exactly
/// the whole-file rule, since ASCII reads the same in both; a file whose earlier part has real
/// UTF-8 characters is mixed, and each part keeps its own characters.
///
/// A prefix with CRs but no LF (old Mac Excel exports) has its CRs read as LFs throughout, so
/// line numbers mean something.
pub struct StreamDecoder<R> {
    inner: R,
    encoding: Encoding,
    cr_as_lf: bool,
    /// Read but not yet decoded: the prefix at first, then at most an incomplete UTF-8
    /// sequence between refills.
    raw: Vec<u8>,
    eof: bool,
    /// Decoded text not yet handed out (`out[out_pos..]`); always valid UTF-8.
    out: Vec<u8>,
    out_pos: usize,
    /// Decoded bytes handed out so far.
    offset: u64,
    /// Runs of line-ending bytes handed out and not yet passed by [`StreamDecoder::line_at`]:
    /// (start, end exclusive, LFs up to the end).
    runs: std::collections::VecDeque<(u64, u64, u64)>,
    /// LFs handed out so far.
    newlines: u64,
    /// LFs before every run still in `runs`.
    newlines_before: u64,
}

impl<R: Read> StreamDecoder<R> {
    /// Reads the prefix and chooses the encoding; [`StreamDecoder::head`] is then the decoded
    /// prefix.
    pub fn new(mut inner: R) -> std::io::Result<Self> {
        let mut raw = Vec::new();
        (&mut inner)
            .take(DECODE_PREFIX_BYTES as u64)
            .read_to_end(&mut raw)?;
        let eof = raw.len() < DECODE_PREFIX_BYTES;
        let bom = raw.starts_with(b"\xEF\xBB\xBF");
        let body = &raw[if bom { 3 } else { 0 }..];
        let encoding = match std::str::from_utf8(body) {
            // An incomplete character at the cut is the prefix's end, not an invalid byte.
            Err(e) if e.error_len().is_some() || eof => Encoding::Windows1252,
            _ if bom => Encoding::Utf8Bom,
            _ => Encoding::Utf8,
        };
        let cr_as_lf = !body.contains(&b'\n') && body.contains(&b'\r');
        let mut decoder = StreamDecoder {
            inner,
            encoding,
            cr_as_lf,
            raw,
            eof,
            out: Vec::new(),
            out_pos: 0,
            offset: 0,
            runs: std::collections::VecDeque::new(),
            newlines: 0,
            newlines_before: 0,
        };
        if bom {
            decoder.raw.drain(..3);
        }
        decoder.decode_raw();
        Ok(decoder)
    }

    /// The encoding read so far (see the type's documentation for a late switch).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The decoded text not yet read: right after [`StreamDecoder::new`], the decoded prefix
    /// (the whole file when it is shorter than [`DECODE_PREFIX_BYTES`]).
    pub fn head(&self) -> &str {
        std::str::from_utf8(&self.out[self.out_pos..]).unwrap_or_default()
    }

    /// Whether the whole file fitted in the prefix.
    pub fn prefix_is_whole(&self) -> bool {
        self.eof && self.raw.is_empty()
    }

    /// The physical (1-based) line of the first byte at or after `byte` (an offset into the
    /// decoded text) that is not a line ending, as [`LineIndex::at`]. Offsets must not go
    /// backwards between calls, which is how a CSV reader's records come.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(_, end, through)) = self.runs.front() {
            if end > byte {
                break;
            }
            self.newlines_before = through;
            self.runs.pop_front();
        }
        match self.runs.front() {
            Some(&(start, _, through)) if start <= byte => through + 1,
            _ => self.newlines_before + 1,
        }
    }

    fn decode_raw(&mut self) {
        let start = self.out.len();
        if self.encoding == Encoding::Windows1252 {
            push_cp1252(&mut self.out, &self.raw);
            self.raw.clear();
        } else {
            match std::str::from_utf8(&self.raw) {
                Ok(_) => {
                    self.out.extend_from_slice(&self.raw);
                    self.raw.clear();
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    self.out.extend_from_slice(&self.raw[..valid]);
                    if e.error_len().is_none() && !self.eof {
                        self.raw.drain(..valid);
                    } else {
                        self.encoding = Encoding::Windows1252;
                        push_cp1252(&mut self.out, &self.raw[valid..]);
                        self.raw.clear();
                    }
                }
            }
        }
        if self.cr_as_lf {
            for b in &mut self.out[start..] {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
    }

    /// Decodes more of the source into `out`; false at the end of the file.
    fn refill(&mut self) -> std::io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.eof && self.raw.is_empty() {
                return Ok(false);
            }
            if !self.eof {
                let have = self.raw.len();
                self.raw.resize(have + DECODE_CHUNK_BYTES, 0);
                let n = loop {
                    match self.inner.read(&mut self.raw[have..]) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                self.raw.truncate(have + n.as_ref().map_or(0, |n| *n));
                let n = n?;
                self.eof = n == 0;
            }
            self.decode_raw();
        }
        Ok(true)
    }

    /// Notes the line endings of `out[from..to]`, about to be handed out.
    fn note_line_endings(&mut self, from: usize, to: usize) {
        for (i, &b) in self.out[from..to].iter().enumerate() {
            if b != b'\n' && b != b'\r' {
                continue;
            }
            let at = self.offset + i as u64;
            self.newlines += u64::from(b == b'\n');
            match self.runs.back_mut() {
                Some(run) if run.1 == at => {
                    run.1 = at + 1;
                    run.2 = self.newlines;
                }
                _ => self.runs.push_back((at, at + 1, self.newlines)),
            }
        }
    }
}

impl<R: Read> std::io::Read for StreamDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_pos == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        let (from, to) = (self.out_pos, self.out_pos + n);
        buf[..n].copy_from_slice(&self.out[from..to]);
        self.note_line_endings(from, to);
        self.out_pos = to;
        self.offset += n as u64;
        Ok(n)
    }
}

fn push_cp1252(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut utf8 = [0; 4];
    for &b in bytes {
        if b.is_ascii() {
            out.push(b);
        } else {
            out.extend_from_slice(cp1252(b).encode_utf8(&mut utf8).as_bytes());
        }
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
