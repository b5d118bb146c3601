//! Byte-level structural scanner.
//!
//! It does not parse JSON: it only knows enough (strings, escapes, brackets, bare tokens) to cut
//! one complete value out of a [`BufRead`] as raw bytes, so that each release can be parsed on its
//! own and a big package never has to be held in memory. Numbers and literals are not checked
//! here; that is the element parser's job, where a bad token costs one release instead of the
//! whole stream.

use std::io::{self, BufRead};

/// A position in the input: byte offset (0-based), line and column (1-based; the column counts
/// bytes, like serde_json's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pos {
    /// Bytes before this position.
    pub offset: u64,
    /// 1-based line number (lines end at `\n`).
    pub line: u64,
    /// 1-based column, in bytes.
    pub column: u64,
}

impl Pos {
    /// The start of an input.
    pub const START: Pos = Pos {
        offset: 0,
        line: 1,
        column: 1,
    };

    /// Move past `bytes`.
    pub(crate) fn advance(&mut self, bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.line += bytes[..=last].iter().filter(|&&b| b == b'\n').count() as u64;
                self.column = (bytes.len() - last) as u64;
            }
            None => self.column += bytes.len() as u64,
        }
    }

    /// This position moved past `bytes`.
    pub(crate) fn after(mut self, bytes: &[u8]) -> Pos {
        self.advance(bytes);
        self
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.offset
        )
    }
}

/// A structural problem: where, and what.
#[derive(Debug)]
pub(crate) struct ScanError {
    pub pos: Pos,
    pub message: String,
}

impl ScanError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        ScanError {
            pos,
            message: message.into(),
        }
    }
}

pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes that end a bare token (number or literal).
pub(crate) fn is_delimiter(b: u8) -> bool {
    is_ws(b) || matches!(b, b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"')
}

/// Describe a byte for a message: printable ASCII as itself, anything else in hex.
pub(crate) fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02X}")
    }
}

/// Fill the reader's buffer, retrying on `Interrupted`. A free function over the source only, so
/// callers can update the position while holding the chunk.
fn fill<R: BufRead>(src: &mut R, pos: Pos) -> Result<&[u8], ScanError> {
    loop {
        match src.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ScanError::new(pos, format!("read error: {e}"))),
        }
    }
    // Borrow again outside the loop: returning the borrow from inside the loop is rejected by
    // the current borrow checker. The second call returns the already-filled buffer.
    src.fill_buf()
        .map_err(|e| ScanError::new(pos, format!("read error: {e}")))
}

pub(crate) struct Scanner<R> {
    src: R,
    pos: Pos,
    /// Largest value `read_value` may cut out; guards against an unterminated string or bracket
    /// swallowing the rest of a huge file into memory.
    limit: usize,
}

impl<R: BufRead> Scanner<R> {
    pub fn new(src: R, pos: Pos, limit: usize) -> Self {
        Scanner { src, pos, limit }
    }

    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// The next byte, without consuming it; `None` at the end of the input.
    pub fn peek(&mut self) -> Result<Option<u8>, ScanError> {
        Ok(fill(&mut self.src, self.pos)?.first().copied())
    }

    /// Consume one byte (after a successful `peek`), appending it to `out`.
    pub fn bump(&mut self, out: &mut Vec<u8>) -> Result<Option<u8>, ScanError> {
        let Some(b) = self.peek()? else {
            return Ok(None);
        };
        self.src.consume(1);
        self.pos.advance(&[b]);
        out.push(b);
        Ok(Some(b))
    }

    /// Consume `expected` or fail with a message naming `context`.
    pub fn expect(
        &mut self,
        expected: u8,
        context: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), ScanError> {
        match self.peek()? {
            Some(b) if b == expected => {
                self.bump(out)?;
                Ok(())
            }
            Some(b) => Err(ScanError::new(
                self.pos,
                format!(
                    "expected '{}' {context}, found {}",
                    expected as char,
                    describe_byte(b)
                ),
            )),
            None => Err(ScanError::new(
                self.pos,
                format!(
                    "unexpected end of input: expected '{}' {context}",
                    expected as char
                ),
            )),
        }
    }

    /// Skip JSON whitespace, appending it to `out` (callers that keep exact raw bytes need it).
    pub fn skip_ws(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        loop {
            let chunk = fill(&mut self.src, self.pos)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let n = chunk.iter().position(|&b| !is_ws(b)).unwrap_or(chunk.len());
            out.extend_from_slice(&chunk[..n]);
            self.pos.advance(&chunk[..n]);
            let whole = n == chunk.len();
            self.src.consume(n);
            if !whole {
                return Ok(());
            }
        }
    }

    /// Cut out one complete JSON value (object, array, string or bare token) starting at the
    /// next byte, appending its exact bytes to `out`.
    pub fn read_value(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        match self.peek()? {
            None => Err(ScanError::new(
                self.pos,
                "unexpected end of input: expected a value",
            )),
            Some(b'{' | b'[' | b'"') => self.read_delimited(out),
            Some(b) if is_delimiter(b) => Err(ScanError::new(
                self.pos,
                format!("expected a value, found {}", describe_byte(b)),
            )),
            Some(_) => self.read_bare(out),
        }
    }

    fn read_bare(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        let start_len = out.len();
        loop {
            let chunk = fill(&mut self.src, self.pos)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let end = chunk.iter().position(|&b| is_delimiter(b));
            let n = end.unwrap_or(chunk.len());
            out.extend_from_slice(&chunk[..n]);
            self.pos.advance(&chunk[..n]);
            self.src.consume(n);
            if end.is_some() {
                return Ok(());
            }
            if out.len() - start_len > self.limit {
                return Err(ScanError::new(self.pos, "token too long"));
            }
        }
    }

    fn read_delimited(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        let start = self.pos;
        let start_len = out.len();
        // Closers expected, innermost last.
        let mut stack: Vec<u8> = Vec::new();
        let mut in_string = false;
        let mut escape = false;
        loop {
            let pos = self.pos;
            let chunk = match self.src.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ScanError::new(pos, format!("read error: {e}"))),
            };
            if chunk.is_empty() {
                let what = if in_string {
                    "a string"
                } else if stack.last() == Some(&b']') {
                    "an array"
                } else {
                    "an object"
                };
                return Err(ScanError::new(
                    pos,
                    format!("unexpected end of input inside {what} (the value starts at {start})"),
                ));
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if in_string {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                        if stack.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' => stack.push(b'}'),
                    b'[' => stack.push(b']'),
                    b'}' | b']' => {
                        if stack.pop() != Some(b) {
                            return Err(ScanError::new(
                                pos.after(&chunk[..i]),
                                format!("mismatched '{}' (the value starts at {start})", b as char),
                            ));
                        }
                        if stack.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let n = end.unwrap_or(chunk.len());
            out.extend_from_slice(&chunk[..n]);
            self.pos.advance(&chunk[..n]);
            self.src.consume(n);
            if end.is_some() {
                return Ok(());
            }
            if out.len() - start_len > self.limit {
                return Err(ScanError::new(
                    start,
                    format!(
                        "value larger than the {} byte limit (unterminated string or bracket?)",
                        self.limit
                    ),
                ));
            }
        }
    }

    /// Read up to and including the next `\n` (or to the end of the input) into `out`.
    /// Returns false at the end of the input.
    pub fn read_line(&mut self, out: &mut Vec<u8>) -> Result<bool, ScanError> {
        let start = self.pos;
        let start_len = out.len();
        loop {
            let chunk = fill(&mut self.src, self.pos)?;
            if chunk.is_empty() {
                return Ok(out.len() > start_len);
            }
            let end = chunk.iter().position(|&b| b == b'\n').map(|i| i + 1);
            let n = end.unwrap_or(chunk.len());
            out.extend_from_slice(&chunk[..n]);
            self.pos.advance(&chunk[..n]);
            self.src.consume(n);
            if end.is_some() {
                return Ok(true);
            }
            if out.len() - start_len > self.limit {
                return Err(ScanError::new(
                    start,
                    format!("line longer than the {} byte limit", self.limit),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_advance_counts_lines_and_columns() {
        let p = Pos::START.after(b"ab\ncd");
        assert_eq!((p.offset, p.line, p.column), (5, 2, 3));
        let p = p.after(b"x");
        assert_eq!((p.offset, p.line, p.column), (6, 2, 4));
    }

    #[test]
    fn read_value_tracks_strings_and_escapes() {
        let input: &[u8] = br#"{"a":"}]\"[{","b":[1,{"c":"\\"}]} , 5"#;
        let mut sc = Scanner::new(input, Pos::START, 1 << 20);
        let mut out = Vec::new();
        sc.read_value(&mut out).unwrap();
        assert_eq!(out, br#"{"a":"}]\"[{","b":[1,{"c":"\\"}]}"#);
    }

    #[test]
    fn mismatch_is_reported_where_it_happens() {
        let mut sc = Scanner::new(&b"[1,\n{]"[..], Pos::START, 1 << 20);
        let err = sc.read_value(&mut Vec::new()).unwrap_err();
        assert_eq!((err.pos.line, err.pos.column), (2, 2));
    }
}
