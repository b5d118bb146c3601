//! Parse one element (a release, a record, a metadata value) from its raw bytes, applying the
//! repair/reject policy documented on [`crate::read`].

use serde_json::Value;

use super::Warning;
use super::scan::{Pos, is_delimiter};

/// Why an element was rejected, and where.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub pos: Pos,
    pub message: String,
}

/// Parse `raw` (which starts at `start` in the input). Fast path: well-formed input goes straight
/// to serde_json. Only when that fails is the element re-scanned to repair what the policy allows
/// (invalid UTF-8, raw control characters in strings) and to explain what it rejects.
pub(crate) fn parse_element(raw: &[u8], start: Pos) -> Result<(Value, Vec<Warning>), Rejection> {
    if let Ok(v) = serde_json::from_slice::<Value>(raw) {
        return Ok((v, Vec::new()));
    }
    let diag = diagnose(raw);
    if let Some(bad) = diag.bad_token {
        let text = String::from_utf8_lossy(&raw[bad.offset..bad.offset + bad.len]);
        let pos = start.after(&raw[..bad.offset]);
        let at = if bad.pointer.is_empty() {
            String::new()
        } else {
            format!(" in {}", bad.pointer)
        };
        return Err(Rejection {
            pos,
            message: format!(
                "invalid token '{}' at line {}, column {}{at}: {}",
                truncate(&text, 40),
                pos.line,
                pos.column,
                bad.reason
            ),
        });
    }
    match serde_json::from_slice::<Value>(&diag.repaired) {
        Ok(v) => {
            let warnings = diag
                .repairs
                .into_iter()
                .map(|r| {
                    let pos = start.after(&raw[..r.offset]);
                    Warning {
                        pointer: r.pointer,
                        pos,
                        message: r.message,
                    }
                })
                .collect();
            Ok((v, warnings))
        }
        Err(e) => {
            let repaired_offset = offset_of(&diag.repaired, e.line(), e.column());
            let orig = map_back(&diag.checkpoints, repaired_offset).min(raw.len());
            let pos = start.after(&raw[..orig]);
            Err(Rejection {
                pos,
                message: format!(
                    "invalid JSON at line {}, column {}: {}",
                    pos.line,
                    pos.column,
                    serde_message(&e)
                ),
            })
        }
    }
}

/// serde_json's message without its own " at line L column C" suffix (which is relative to the
/// element, not the input).
pub(crate) fn serde_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Byte offset of serde_json's (1-based line, byte column) in `bytes`. Column 0 means "before
/// the first byte of the line" in serde_json's convention.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut line_start = 0;
    let mut current = 1;
    for (i, &b) in bytes.iter().enumerate() {
        if current == line {
            break;
        }
        if b == b'\n' {
            current += 1;
            line_start = i + 1;
        }
    }
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// Map an offset in the repaired bytes back to the raw bytes using (raw, repaired) checkpoints
/// recorded after each edit.
fn map_back(checkpoints: &[(usize, usize)], repaired: usize) -> usize {
    let idx = checkpoints.partition_point(|&(_, r)| r <= repaired);
    if idx == 0 {
        return repaired;
    }
    let (raw, rep) = checkpoints[idx - 1];
    raw + (repaired - rep)
}

struct BadToken {
    offset: usize,
    len: usize,
    pointer: String,
    reason: &'static str,
}

struct RawRepair {
    offset: usize,
    pointer: String,
    message: String,
}

struct Diagnosis {
    repaired: Vec<u8>,
    repairs: Vec<RawRepair>,
    bad_token: Option<BadToken>,
    /// (raw offset, repaired offset) after each edit, increasing.
    checkpoints: Vec<(usize, usize)>,
}

enum Frame {
    Object { key: Option<String>, want_key: bool },
    Array { index: usize },
}

fn pointer(stack: &[Frame]) -> String {
    let mut p = String::new();
    for f in stack {
        match f {
            Frame::Object { key: Some(k), .. } => {
                p.push('/');
                p.push_str(&escape_pointer(k));
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                p.push('/');
                p.push_str(&index.to_string());
            }
        }
    }
    p
}

/// RFC 6901 escaping of one reference token.
pub(crate) fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Sorted, non-overlapping ranges of invalid UTF-8 in `raw`.
fn invalid_utf8(raw: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match std::str::from_utf8(&raw[i..]) {
            Ok(_) => break,
            Err(e) => {
                let bad = i + e.valid_up_to();
                let len = e.error_len().unwrap_or(raw.len() - bad);
                out.push(bad..bad + len);
                i = bad + len;
            }
        }
    }
    out
}

/// Walk the element tracking the JSON pointer of each string and token, copying it into a
/// repaired buffer.
fn diagnose(raw: &[u8]) -> Diagnosis {
    let bad_utf8 = invalid_utf8(raw);
    let mut next_bad = 0; // index into bad_utf8
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut repairs = Vec::new();
    let mut checkpoints = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'{' => {
                stack.push(Frame::Object {
                    key: None,
                    want_key: true,
                });
                out.push(b);
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array { index: 0 });
                out.push(b);
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                out.push(b);
                i += 1;
            }
            b':' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
                out.push(b);
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Object { key, want_key }) => {
                        *key = None;
                        *want_key = true;
                    }
                    Some(Frame::Array { index }) => *index += 1,
                    None => {}
                }
                out.push(b);
                i += 1;
            }
            b'"' => {
                let is_key = matches!(stack.last(), Some(Frame::Object { want_key: true, .. }));
                let content_start = out.len() + 1;
                out.push(b'"');
                i += 1;
                let mut bad_count = 0;
                let mut first_bad = None;
                let mut controls: Vec<u8> = Vec::new();
                let mut first_control = None;
                while i < raw.len() {
                    let c = raw[i];
                    if next_bad < bad_utf8.len() && bad_utf8[next_bad].start == i {
                        let r = bad_utf8[next_bad].clone();
                        next_bad += 1;
                        bad_count += 1;
                        first_bad.get_or_insert(i);
                        out.extend_from_slice("\u{FFFD}".as_bytes());
                        i = r.end;
                        checkpoints.push((i, out.len()));
                        continue;
                    }
                    match c {
                        b'"' => break,
                        b'\\' => {
                            out.push(c);
                            i += 1;
                            // The escaped byte is copied verbatim; serde_json judges the escape.
                            if i < raw.len()
                                && !(next_bad < bad_utf8.len() && bad_utf8[next_bad].start == i)
                            {
                                out.push(raw[i]);
                                i += 1;
                            }
                        }
                        0x00..=0x1F => {
                            first_control.get_or_insert(i);
                            if !controls.contains(&c) {
                                controls.push(c);
                            }
                            let esc = match c {
                                b'\n' => "\\n".to_string(),
                                b'\r' => "\\r".to_string(),
                                b'\t' => "\\t".to_string(),
                                _ => format!("\\u{c:04x}"),
                            };
                            out.extend_from_slice(esc.as_bytes());
                            i += 1;
                            checkpoints.push((i, out.len()));
                        }
                        _ => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                let content = out[content_start..].to_vec();
                if i < raw.len() {
                    out.push(b'"');
                    i += 1;
                }
                let text = decode_string(&content);
                let here = if is_key {
                    let mut p = pointer(&stack);
                    p.push('/');
                    p.push_str(&escape_pointer(&text));
                    p
                } else {
                    pointer(&stack)
                };
                if let Some(off) = first_bad {
                    let what = if is_key { "field name" } else { "string" };
                    repairs.push(RawRepair {
                        offset: off,
                        pointer: here.clone(),
                        message: format!(
                            "invalid UTF-8 in {what}: {bad_count} byte sequence(s) replaced with U+FFFD (first at byte {off} of the release)"
                        ),
                    });
                }
                if let Some(off) = first_control {
                    let names: Vec<String> =
                        controls.iter().map(|c| format!("U+{c:04X}")).collect();
                    repairs.push(RawRepair {
                        offset: off,
                        pointer: here,
                        message: format!(
                            "raw control character(s) {} in a string escaped (the text is unchanged)",
                            names.join(", ")
                        ),
                    });
                }
                if is_key && let Some(Frame::Object { key, .. }) = stack.last_mut() {
                    *key = Some(text);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push(b);
                i += 1;
            }
            _ => {
                let start = i;
                while i < raw.len() && !is_delimiter(raw[i]) {
                    i += 1;
                }
                let token = &raw[start..i];
                if let Err(reason) = check_literal(token) {
                    return Diagnosis {
                        repaired: out,
                        repairs,
                        bad_token: Some(BadToken {
                            offset: start,
                            len: token.len(),
                            pointer: pointer(&stack),
                            reason,
                        }),
                        checkpoints,
                    };
                }
                out.extend_from_slice(token);
            }
        }
    }
    Diagnosis {
        repaired: out,
        repairs,
        bad_token: None,
        checkpoints,
    }
}

/// Decode the (repaired) content of a string for use in a pointer; falls back to the raw text
/// when an escape is malformed.
fn decode_string(content: &[u8]) -> String {
    let mut quoted = Vec::with_capacity(content.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(content);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(content).into_owned())
}

/// Check a bare token against the JSON grammar for numbers and literals. The error explains the
/// most likely cause.
pub(crate) fn check_literal(t: &[u8]) -> Result<(), &'static str> {
    if matches!(t, b"true" | b"false" | b"null") {
        return Ok(());
    }
    match t {
        b"NaN" | b"-NaN" | b"Infinity" | b"-Infinity" | b"+Infinity" => {
            return Err(
                "NaN and Infinity are not JSON numbers; the release was rejected rather than guessing a value",
            );
        }
        _ => {}
    }
    let Some(&first) = t.first() else {
        return Err("empty token");
    };
    if first == b'+' {
        return Err(
            "a leading '+' is not allowed in JSON numbers; the release was rejected rather than guessing a value",
        );
    }
    if !(first == b'-' || first.is_ascii_digit() || first == b'.') {
        return Err(
            if t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                "not a JSON value (strings must be in double quotes; literals are true, false and null)"
            } else {
                "not a JSON value"
            },
        );
    }
    let mut i = usize::from(first == b'-');
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < t.len() && t[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    match t.get(i) {
        Some(b'0') => {
            i += 1;
            if t.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(
                    "leading zeros are not allowed in JSON numbers; the release was rejected rather than guessing whether a number or a code was meant",
                );
            }
        }
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        Some(b'.') => {
            return Err(
                "a digit is required before the decimal point in JSON numbers; the release was rejected rather than guessing a value",
            );
        }
        _ => return Err("not a valid JSON number"),
    }
    if t.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return Err("a digit is required after the decimal point in JSON numbers");
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Err("an exponent needs digits");
        }
    }
    if i == t.len() {
        Ok(())
    } else {
        Err("not a valid JSON number")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        for ok in [
            "0", "-0", "1", "1.5", "1e9999", "-1.25E-7", "true", "null", "10",
        ] {
            assert!(check_literal(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in [
            "000", "0123", "NaN", "Infinity", "+1", ".5", "1.", "1e", "True", "-", "01.5",
        ] {
            assert!(check_literal(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_number_is_located() {
        let raw = b"{\"a\": {\"b\": [1, 000]}}";
        let err = parse_element(raw, Pos::START).unwrap_err();
        assert!(err.message.contains("'000'"), "{}", err.message);
        assert!(err.message.contains("/a/b/1"), "{}", err.message);
        assert_eq!(err.pos.column, 17);
    }

    #[test]
    fn invalid_utf8_is_repaired_with_pointer() {
        let raw = b"{\"x\": 1, \"d\": \"caf\xe9 ok\"}";
        let (v, w) = parse_element(raw, Pos::START).unwrap();
        assert_eq!(v["d"], "caf\u{FFFD} ok");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].pointer, "/d");
        assert_eq!(w[0].pos.offset, 18);
    }

    #[test]
    fn syntax_error_position_maps_back_through_repairs() {
        // A raw newline in a string (repaired to "\n") shifts lines in the repaired copy; the
        // reported position must still be the one in the original input.
        let raw = b"{\"d\": \"a\nb\",\n \"e\": 1 \"f\": 2}";
        let err = parse_element(raw, Pos::START).unwrap_err();
        assert_eq!((err.pos.line, err.pos.column), (3, 9), "{}", err.message);
    }
}
