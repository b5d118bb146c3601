//! Lenient parsing of one OCDS release-package page from Find a Tender or Contracts Finder.
//!
//! Both feeds serve pages that a strict JSON parser rejects as a whole: numbers such as `1e9999`
//! or `000`, and (Contracts Finder) bytes that are not valid UTF-8. A strict parse would lose
//! the hundred good releases on the page for one bad one, so the page is first cut into its
//! releases by a structural scanner that only follows strings and brackets, and each release is
//! then parsed, repaired or quarantined on its own. Only a body that is not a release package at
//! all (cut short, an HTML error page, no `releases` array) fails the whole page.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::ops::Range;

use serde_json::Value;

/// One page of a release-package feed, after repair.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPage {
    /// The releases that parsed (after repair) and passed the minimal checks, in page order.
    pub releases: Vec<PageRelease>,
    /// The package's `links.next`, when it is a non-empty string (pagination extension).
    pub next: Option<String>,
    /// Releases that could not be used, with the reason.
    pub quarantined: Vec<Quarantined>,
    /// Human-readable notes of what was repaired on the page.
    pub repairs: Vec<String>,
}

/// A release as found on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRelease {
    /// Index in the page's `releases` array.
    pub position: usize,
    pub value: Value,
    /// What was repaired in this release's text before it parsed.
    pub repaired: Vec<String>,
}

/// A release that was set aside, with enough to find it again and to report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Index in the page's `releases` array.
    pub position: usize,
    pub ocid: Option<String>,
    pub id: Option<String>,
    pub reason: String,
    /// The release text as received (invalid UTF-8 replaced by U+FFFD, nothing else changed).
    pub raw: String,
}

/// A place in the body as received (before any repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset from the start of the body.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in bytes like serde_json does.
    pub column: usize,
}

impl Position {
    fn in_body(body: &[u8], offset: usize) -> Self {
        let before = &body[..offset.min(body.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Self {
            offset,
            line,
            column: offset - line_start + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {} (line {}, column {})",
            self.offset, self.line, self.column
        )
    }
}

/// The body is not a usable release package; nothing on it can be trusted.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The body ends before the package does: the transfer was cut, refetching may help.
    #[error("truncated page: the body ends {context} at {at}")]
    Truncated { context: String, at: Position },
    /// Not JSON at all, typically an HTML or plain-text error page served with status 200.
    #[error("not JSON: the body starts with {starts_with:?} at {at}")]
    NotJson { starts_with: String, at: Position },
    /// JSON, but without a `releases` array where a release package has one.
    #[error("not a release package: {found} at {at}")]
    NoReleases { found: String, at: Position },
    /// The package envelope itself is malformed, so the releases cannot be located reliably.
    #[error("malformed package: {message} at {at}")]
    Syntax { message: String, at: Position },
    /// Something follows the package (a second document, an error message appended by a proxy).
    #[error("trailing data after the package at {at}: {found:?}")]
    TrailingData { found: String, at: Position },
}

/// Parses one release-package page, keeping every release that can be used.
pub fn parse_package(body: &[u8]) -> Result<ParsedPage, PageError> {
    let envelope = scan_package(body)?;
    let mut page = ParsedPage {
        releases: Vec::new(),
        next: envelope.next,
        quarantined: Vec::new(),
        repairs: Vec::new(),
    };
    if envelope.bom {
        page.repairs
            .push("skipped a UTF-8 byte order mark".to_owned());
    }

    let mut utf8_positions = Vec::new();
    let mut number_notes = Vec::new();
    for (position, span) in envelope.releases.into_iter().enumerate() {
        let raw = &body[span];
        let invalid_utf8 = std::str::from_utf8(raw).is_err();
        if invalid_utf8 {
            utf8_positions.push(position);
        }
        match take_release(position, raw) {
            Ok(release) => {
                // The release's own UTF-8 note comes first; the page gets one for the whole body.
                let numbers = &release.repaired[usize::from(invalid_utf8)..];
                number_notes.extend(
                    numbers
                        .iter()
                        .map(|note| format!("release {position}: {note}")),
                );
                page.releases.push(release);
            }
            Err(quarantined) => page.quarantined.push(*quarantined),
        }
    }

    let replaced = invalid_utf8_sequences(body);
    if replaced > 0 {
        let mut note = utf8_note(replaced);
        if !utf8_positions.is_empty() {
            let list: Vec<String> = utf8_positions.iter().map(usize::to_string).collect();
            note.push_str(&format!(
                " (in release{} {})",
                plural(utf8_positions.len()),
                list.join(", ")
            ));
        }
        page.repairs.push(note);
    }
    page.repairs.extend(number_notes);
    Ok(page)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn utf8_note(replaced: usize) -> String {
    format!(
        "replaced {replaced} invalid UTF-8 byte sequence{} with U+FFFD",
        plural(replaced)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// The envelope: where the releases are, and `links.next`.

/// What the structural scan found: the byte range of each release element and the next link.
#[derive(Debug)]
struct Envelope {
    releases: Vec<Range<usize>>,
    next: Option<String>,
    bom: bool,
}

enum ReleasesField {
    Missing,
    NotArray(&'static str, usize),
    Array(Vec<Range<usize>>),
}

fn scan_package(body: &[u8]) -> Result<Envelope, PageError> {
    let mut s = Scanner { body, pos: 0 };
    let bom = body.starts_with(BOM);
    if bom {
        s.pos = BOM.len();
    }
    s.skip_ws();
    let start = s.pos;
    match s.peek() {
        None => {
            return Err(PageError::Truncated {
                context: "before the package starts (it is empty or blank)".to_owned(),
                at: s.position(body.len()),
            });
        }
        Some(b'{') => {}
        Some(b'[') => {
            return Err(PageError::NoReleases {
                found: "the top-level value is an array, not a package object".to_owned(),
                at: s.position(start),
            });
        }
        Some(_) => {
            let rest = &body[start..];
            return Err(
                if serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok() {
                    PageError::NoReleases {
                        found: format!("the top-level value is {}", kind_of_raw(rest)),
                        at: s.position(start),
                    }
                } else {
                    PageError::NotJson {
                        starts_with: snippet(rest),
                        at: s.position(start),
                    }
                },
            );
        }
    }

    let mut releases = ReleasesField::Missing;
    let mut next = None;
    let mut keys = Vec::new();
    s.members("the package object", &mut |s, key| {
        match key {
            Some("releases") => {
                let at = s.pos;
                if s.peek() == Some(b'[') {
                    releases = ReleasesField::Array(s.release_elements()?);
                } else {
                    let span = s.member_value("releases")?;
                    releases = ReleasesField::NotArray(kind_of_raw(&s.body[span]), at);
                }
            }
            Some("links") => next = s.links()?,
            _ => {
                s.member_value(key.unwrap_or("?"))?;
            }
        }
        if keys.len() < 12 {
            keys.push(key.unwrap_or("?").to_owned());
        }
        Ok(())
    })?;
    let end = s.pos;

    s.skip_ws();
    if s.pos < body.len() {
        return Err(PageError::TrailingData {
            found: snippet(&body[s.pos..]),
            at: s.position(s.pos),
        });
    }
    match releases {
        ReleasesField::Array(releases) => Ok(Envelope {
            releases,
            next,
            bom,
        }),
        ReleasesField::NotArray(kind, at) => Err(PageError::NoReleases {
            found: format!("`releases` is {kind}, not an array"),
            at: s.position(at),
        }),
        ReleasesField::Missing => Err(PageError::NoReleases {
            found: format!(
                "the package object has no `releases` key (keys: {})",
                keys.join(", ")
            ),
            at: s.position(end),
        }),
    }
}

/// Follows strings and bracket nesting only; what lies between is left to serde_json, one
/// release at a time.
struct Scanner<'a> {
    body: &'a [u8],
    pos: usize,
}

type Member<'c, 'a> = dyn FnMut(&mut Scanner<'a>, Option<&str>) -> Result<(), PageError> + 'c;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.body.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn position(&self, offset: usize) -> Position {
        Position::in_body(self.body, offset)
    }

    /// `what`: the structure that the body ends inside.
    fn truncated(&self, what: impl Display) -> PageError {
        PageError::Truncated {
            context: format!("inside {what}"),
            at: self.position(self.body.len()),
        }
    }

    fn syntax(&self, message: impl Into<String>, offset: usize) -> PageError {
        PageError::Syntax {
            message: message.into(),
            at: self.position(offset),
        }
    }

    /// Given the offset of an opening quote, the offset just after the closing one.
    fn string_end(&self, open: usize, inside: &dyn Fn() -> String) -> Result<usize, PageError> {
        match json_string_end(self.body, open) {
            Some(end) => Ok(end),
            None => Err(self.truncated(format!(
                "a string that starts at byte {open} in {}",
                inside()
            ))),
        }
    }

    /// Skips one value of unknown shape and returns its span. Scalars are not checked and
    /// the insides of arrays and objects are followed only for strings and brackets, so garbage
    /// inside a release ends up in its span and is reported by serde_json for that release
    /// alone. Stops at the end of the body after a complete scalar (or before any value):
    /// whether that is premature is for the caller to say.
    fn skip_value(&mut self, inside: &dyn Fn() -> String) -> Result<Range<usize>, PageError> {
        self.skip_ws();
        let start = self.pos;
        let mut closers: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                if closers.is_empty() {
                    return Ok(start..self.pos);
                }
                return Err(self.truncated(inside()));
            };
            match b {
                b'"' => self.pos = self.string_end(self.pos, inside)?,
                b'{' | b'[' => {
                    closers.push(if b == b'{' { b'}' } else { b']' });
                    self.pos += 1;
                }
                b'}' | b']' => match closers.last() {
                    None => return Ok(start..self.pos),
                    Some(&expected) if expected == b => {
                        closers.pop();
                        self.pos += 1;
                    }
                    Some(&expected) => {
                        return Err(self.syntax(
                            format!(
                                "`{}` where `{}` was expected, in {}",
                                b as char,
                                expected as char,
                                inside()
                            ),
                            self.pos,
                        ));
                    }
                },
                _ if !closers.is_empty() => self.pos += 1,
                b',' | b':' => return Ok(start..self.pos),
                _ => {
                    let len = self.body[self.pos..]
                        .iter()
                        .take_while(|b| !b" \t\n\r,:[]{}\"".contains(b))
                        .count();
                    self.pos += len;
                }
            }
            if closers.is_empty() {
                return Ok(start..self.pos);
            }
        }
    }

    /// Walks the members of the object whose `{` is at `pos`, handing each value to `member`
    /// (which must consume it) with its decoded key, and stops after the closing `}`.
    fn members(&mut self, what: &str, member: &mut Member<'_, 'a>) -> Result<(), PageError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            match self.peek() {
                None => return Err(self.truncated(what)),
                Some(b'"') => {}
                Some(other) => {
                    return Err(self.syntax(
                        format!("expected a key string in {what}, found `{}`", other as char),
                        key_start,
                    ));
                }
            }
            let key_end = self.string_end(key_start, &|| what.to_owned())?;
            let key = decode_string(&self.body[key_start..key_end]);
            self.pos = key_end;
            self.skip_ws();
            match self.peek() {
                None => return Err(self.truncated(what)),
                Some(b':') => self.pos += 1,
                Some(_) => {
                    return Err(
                        self.syntax(format!("expected `:` after a key in {what}"), self.pos)
                    );
                }
            }
            self.skip_ws();
            member(self, key.as_deref())?;
            self.skip_ws();
            match self.peek() {
                None => return Err(self.truncated(what)),
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(other) => {
                    return Err(self.syntax(
                        format!("expected `,` or `}}` in {what}, found `{}`", other as char),
                        self.pos,
                    ));
                }
            }
        }
    }

    /// Skips the value of an envelope member we do not read.
    fn member_value(&mut self, key: &str) -> Result<Range<usize>, PageError> {
        let inside = || format!("the value of `{key}`");
        let span = self.skip_value(&inside)?;
        if span.is_empty() && self.pos < self.body.len() {
            return Err(self.syntax(format!("missing value for `{key}`"), span.start));
        }
        Ok(span)
    }

    /// Reads `links.next` when `links` is an object; any other `links` is skipped.
    fn links(&mut self) -> Result<Option<String>, PageError> {
        if self.peek() != Some(b'{') {
            self.member_value("links")?;
            return Ok(None);
        }
        let mut next = None;
        self.members("the `links` object", &mut |s, key| {
            if key == Some("next") && s.peek() == Some(b'"') {
                let start = s.pos;
                s.pos = s.string_end(start, &|| "`links.next`".to_owned())?;
                next = decode_string(&s.body[start..s.pos])
                    .map(|url| url.trim().to_owned())
                    .filter(|url| !url.is_empty());
            } else {
                s.member_value(key.unwrap_or("?"))?;
            }
            Ok(())
        })?;
        Ok(next)
    }

    /// The span of each element of the array whose `[` is at `pos`; stops after the `]`.
    fn release_elements(&mut self) -> Result<Vec<Range<usize>>, PageError> {
        let mut spans = Vec::new();
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(spans);
        }
        loop {
            let index = spans.len();
            let inside = || format!("release {index} of the `releases` array");
            let mut span = self.skip_value(&inside)?;
            // Whatever follows a release up to the next `,` or `]` is taken as part of it, so
            // that serde_json rejects that release and not the page.
            loop {
                self.skip_ws();
                match self.peek() {
                    None => return Err(self.truncated("the `releases` array")),
                    Some(b',') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b']') => {
                        self.pos += 1;
                        spans.push(span);
                        return Ok(spans);
                    }
                    Some(b'}') => {
                        return Err(
                            self.syntax("`}` closes nothing in the `releases` array", self.pos)
                        );
                    }
                    Some(_) => {
                        let more = self.skip_value(&inside)?;
                        if more.is_empty() {
                            self.pos += 1;
                        }
                        span.end = self.pos;
                    }
                }
            }
            spans.push(span);
        }
    }
}

/// Given the offset of an opening quote, the offset just after the closing one, if any.
fn json_string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A JSON string token (quotes included) as text, or `None` when it does not decode.
fn decode_string(raw: &[u8]) -> Option<String> {
    serde_json::from_str(&lossy(raw).0).ok()
}

fn kind_of_raw(raw: &[u8]) -> &'static str {
    match raw.first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "not a JSON value",
    }
}

/// The start of some bytes, readable in an error message.
fn snippet(bytes: &[u8]) -> String {
    const CHARS: usize = 80;
    let head = &bytes[..bytes.len().min(4 * CHARS)];
    let text = lossy(head)
        .0
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > CHARS || head.len() < bytes.len() {
        let mut cut: String = text.chars().take(CHARS).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------------
// UTF-8.

/// Decodes as UTF-8, replacing each invalid sequence with U+FFFD like
/// `String::from_utf8_lossy`, and counts the replacements.
fn lossy(bytes: &[u8]) -> (Cow<'_, str>, usize) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), 0);
    }
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut replaced = 0;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            text.push('\u{FFFD}');
            replaced += 1;
        }
    }
    (Cow::Owned(text), replaced)
}

fn invalid_utf8_sequences(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .filter(|chunk| !chunk.invalid().is_empty())
        .count()
}

// ---------------------------------------------------------------------------------------------
// One release.

fn take_release(position: usize, raw: &[u8]) -> Result<PageRelease, Box<Quarantined>> {
    let (text, replaced) = lossy(raw);
    let mut repaired = Vec::new();
    if replaced > 0 {
        repaired.push(utf8_note(replaced));
    }
    let quarantine = |reason: String, ocid: Option<String>, id: Option<String>| {
        Box::new(Quarantined {
            position,
            ocid,
            id,
            reason,
            raw: text.clone().into_owned(),
        })
    };

    let value = match serde_json::from_str::<Value>(&text) {
        Ok(value) => value,
        // Repairs are looked for only when the release does not parse: every number they fix
        // makes serde_json fail, so a release that parses has none to fix.
        Err(first) => {
            let scan = scan_release(&text);
            let parsed = if scan.notes.is_empty() {
                Err(first)
            } else {
                serde_json::from_str::<Value>(&scan.text)
            };
            match parsed {
                Ok(value) => {
                    repaired.extend(scan.notes);
                    value
                }
                Err(error) => {
                    // serde_json's line and column count from the start of the release.
                    let reason = if error.line() > 0 {
                        format!("invalid JSON: {error} of the release")
                    } else {
                        format!("invalid JSON: {error}")
                    };
                    return Err(quarantine(reason, scan.ocid, scan.id));
                }
            }
        }
    };

    let problems = release_problems(&value);
    if !problems.is_empty() {
        let field = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        return Err(quarantine(problems.join("; "), field("ocid"), field("id")));
    }
    Ok(PageRelease {
        position,
        value,
        repaired,
    })
}

/// Why a parsed release cannot be used; empty when it can.
fn release_problems(value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut pointer = String::new();
    out_of_range_numbers(value, &mut pointer, &mut problems);

    let Some(release) = value.as_object() else {
        problems.push(format!("the release is {}, not an object", kind_of(value)));
        return problems;
    };
    for key in ["ocid", "id"] {
        match release.get(key) {
            None => problems.push(format!("/{key} is missing")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                problems.push(format!("/{key} is empty"));
            }
            Some(Value::String(_)) => {}
            Some(other) => problems.push(format!("/{key} is {}, not a string", kind_of(other))),
        }
    }
    match release.get("date") {
        None => problems.push("/date is missing".to_owned()),
        Some(Value::String(date)) => {
            if chrono::DateTime::parse_from_rfc3339(date).is_err() {
                problems.push(format!("/date is not an RFC 3339 date-time: {date:?}"));
            }
        }
        Some(other) => problems.push(format!("/date is {}, not a string", kind_of(other))),
    }
    match release.get("tag") {
        None => problems.push("/tag is missing".to_owned()),
        Some(Value::Array(tags)) if tags.is_empty() => {
            problems.push("/tag is an empty array".to_owned());
        }
        Some(Value::Array(tags)) => {
            for (i, tag) in tags.iter().enumerate() {
                if !matches!(tag, Value::String(s) if !s.trim().is_empty()) {
                    problems.push(format!("/tag/{i} is not a non-empty string"));
                }
            }
        }
        Some(other) => problems.push(format!("/tag is {}, not an array", kind_of(other))),
    }
    problems
}

/// With `arbitrary_precision`, serde_json accepts `1e9999` and keeps its text; such a number
/// has no f64 value, and no honest finite stand-in exists, so the release cannot be used.
fn out_of_range_numbers(value: &Value, pointer: &mut String, found: &mut Vec<String>) {
    match value {
        Value::Number(n) if n.as_f64().is_none_or(|f| !f.is_finite()) => {
            let at = if pointer.is_empty() {
                "the release itself"
            } else {
                pointer.as_str()
            };
            found.push(format!("number out of range at {at}"));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                out_of_range_numbers(item, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let len = pointer.len();
                push_pointer_token(pointer, key);
                out_of_range_numbers(member, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn push_pointer_token(pointer: &mut String, key: &str) {
    pointer.push('/');
    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A release's text with its numbers repaired, and what could be read of it without parsing.
struct ReleaseScan {
    text: String,
    notes: Vec<String>,
    ocid: Option<String>,
    id: Option<String>,
}

enum Frame {
    Object {
        key: Option<String>,
        expecting_key: bool,
    },
    Array {
        index: usize,
    },
}

/// Tokenises a release's text (which need not be valid JSON), tracking the JSON pointer of each
/// value so that repairs can say where they happened: rewrites numbers with superfluous leading
/// zeros outside strings, and picks up the top-level `ocid` and `id` strings for quarantine
/// reports.
fn scan_release(text: &str) -> ReleaseScan {
    let bytes = text.as_bytes();
    let mut scan = ReleaseScan {
        text: String::with_capacity(text.len()),
        notes: Vec::new(),
        ocid: None,
        id: None,
    };
    let mut copied = 0;
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = json_string_end(bytes, i).unwrap_or(bytes.len());
                let token = &text[i..end];
                match stack.as_mut_slice() {
                    [
                        ..,
                        Frame::Object {
                            key,
                            expecting_key: true,
                        },
                    ] => *key = serde_json::from_str(token).ok(),
                    [Frame::Object { key: Some(key), .. }] => {
                        let slot = match key.as_str() {
                            "ocid" => Some(&mut scan.ocid),
                            "id" => Some(&mut scan.id),
                            _ => None,
                        };
                        if let Some(slot) = slot.filter(|slot| slot.is_none()) {
                            *slot = serde_json::from_str::<String>(token)
                                .ok()
                                .filter(|s| !s.trim().is_empty());
                        }
                    }
                    _ => {}
                }
                i = end;
            }
            b'{' => {
                stack.push(Frame::Object {
                    key: None,
                    expecting_key: true,
                });
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array { index: 0 });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array { index }) => *index += 1,
                    Some(Frame::Object { key, expecting_key }) => {
                        *key = None;
                        *expecting_key = true;
                    }
                    None => {}
                }
                i += 1;
            }
            b':' => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = false;
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = bytes[i..]
                    .iter()
                    .take_while(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
                    .count();
                let token = &text[i..i + len];
                if let Some(fixed) = without_leading_zeros(token) {
                    let at =
                        pointer_of(&stack).unwrap_or_else(|| format!("byte {i} of the release"));
                    scan.notes.push(format!(
                        "number {token} at {at} had superfluous leading zeros; read as {fixed}"
                    ));
                    scan.text.push_str(&text[copied..i]);
                    scan.text.push_str(&fixed);
                    copied = i + len;
                }
                i += len;
            }
            _ => i += 1,
        }
    }
    scan.text.push_str(&text[copied..]);
    scan
}

/// The pointer of the value being read, when the scan knows every step of it.
fn pointer_of(stack: &[Frame]) -> Option<String> {
    let mut pointer = String::new();
    for frame in stack {
        match frame {
            Frame::Array { index } => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
            Frame::Object {
                key: Some(key),
                expecting_key: false,
            } => push_pointer_token(&mut pointer, key),
            Frame::Object { .. } => return None,
        }
    }
    (!pointer.is_empty()).then_some(pointer)
}

/// `007` → `7`, `000` → `0`, `-00.5` → `-0.5`; `None` when there is nothing to strip or the
/// result would still not be a JSON number.
fn without_leading_zeros(token: &str) -> Option<String> {
    let (sign, unsigned) = match token.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", token),
    };
    let int_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if int_len < 2 || !unsigned.starts_with('0') {
        return None;
    }
    let digits = unsigned[..int_len].trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let fixed = format!("{sign}{digits}{}", &unsigned[int_len..]);
    serde_json::from_str::<serde_json::Number>(&fixed)
        .is_ok()
        .then_some(fixed)
}

#[cfg(test)]
mod tests {
    //! The two real pages are the Find a Tender and Contracts Finder excerpts in
    //! `fixtures/demo` (OGL v3); the broken pages are written by hand after the hazards seen in
    //! the real feeds (kingfisher-collect issues #592, #1004, #1270).

    use super::*;

    const FTS: &[u8] =
        include_bytes!("../../fixtures/demo/fts_ocds_release_package_children_services.json");
    const CF: &[u8] =
        include_bytes!("../../fixtures/demo/contracts_finder_ocds_search_page_excerpt_2022.json");
    const CF_NEXT: &str = "https://www.contractsfinder.service.gov.uk/Published/Notices/OCDS/Search?publishedTo=2022-10-20T09:43:52+01:00&limit=100&cursor=cHVibGlzaGVkVG89MjAyMi0xMC0yMFQwOTo0Mzo1MiswMTowMHxsaW1pdD0xMDB8bmV4dEN1cnNvcj00ODA3NjE=";

    /// A minimal valid release, as text.
    fn release(n: usize, extra: &str) -> String {
        format!(
            r#"{{"ocid": "ocds-test-{n}", "id": "notice-{n}", "date": "2026-08-12T11:56:48+01:00", "tag": ["tender"]{extra}}}"#
        )
    }

    fn page(releases: &[String]) -> Vec<u8> {
        format!(
            "{{\n  \"version\": \"1.1\",\n  \"releases\": [\n    {}\n  ]\n}}\n",
            releases.join(",\n    ")
        )
        .into_bytes()
    }

    fn positions(page: &ParsedPage) -> Vec<usize> {
        page.releases.iter().map(|r| r.position).collect()
    }

    fn whole(body: &[u8]) -> Value {
        serde_json::from_slice(body).expect("the sample is valid JSON")
    }

    #[test]
    fn find_a_tender_sample_parses_fully_without_next() {
        let page = parse_package(FTS).unwrap();
        assert_eq!(page.releases.len(), 17);
        assert!(page.quarantined.is_empty(), "{:?}", page.quarantined);
        assert!(page.repairs.is_empty(), "{:?}", page.repairs);
        assert_eq!(page.next, None);
        assert_eq!(positions(&page), (0..17).collect::<Vec<_>>());
        let ids: Vec<&str> = page
            .releases
            .iter()
            .map(|r| r.value["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids[0], "076678-2026");
        assert_eq!(ids[16], "075563-2026");
        assert!(page.releases.iter().all(|r| r.repaired.is_empty()));
    }

    #[test]
    fn contracts_finder_sample_parses_fully_with_next() {
        let page = parse_package(CF).unwrap();
        assert_eq!(page.releases.len(), 7);
        assert!(page.quarantined.is_empty(), "{:?}", page.quarantined);
        assert!(page.repairs.is_empty());
        assert_eq!(page.next.as_deref(), Some(CF_NEXT));
        assert_eq!(
            page.releases[6].value["id"],
            "cbe8c5c5-929b-4fe1-9dc2-87125e4ad652-582257"
        );
    }

    #[test]
    fn kept_releases_reserialise_like_their_raw_slices() {
        for body in [FTS, CF] {
            let spans = scan_package(body).unwrap().releases;
            let page = parse_package(body).unwrap();
            let reference = whole(body);
            assert_eq!(spans.len(), page.releases.len());
            for (release, span) in page.releases.iter().zip(spans) {
                let slice = &body[span];
                assert_eq!(slice.first(), Some(&b'{'));
                assert_eq!(slice.last(), Some(&b'}'));
                let from_slice: Value = serde_json::from_slice(slice).unwrap();
                // Strings, not values: `Value`'s equality ignores key order.
                let text = serde_json::to_string(&release.value).unwrap();
                assert_eq!(text, serde_json::to_string(&from_slice).unwrap());
                assert_eq!(
                    text,
                    serde_json::to_string(&reference["releases"][release.position]).unwrap()
                );
            }
        }
        // The first FTS release does not start with `ocid`: its own key order must survive.
        let page = parse_package(FTS).unwrap();
        let keys: Vec<&str> = page.releases[0]
            .value
            .as_object()
            .unwrap()
            .keys()
            .take(4)
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "tag", "date", "initiationType"]);
    }

    #[test]
    fn number_out_of_range_quarantines_only_its_release() {
        let body = page(&[
            release(1, ""),
            release(
                2,
                r#", "tender": {"value": {"amount": 1e9999}}, "planning": {"budget": {"amounts": [1, -1e400]}}"#,
            ),
            release(3, ""),
        ]);
        let page = parse_package(&body).unwrap();
        assert_eq!(positions(&page), [0, 2]);
        assert_eq!(page.quarantined.len(), 1);
        let q = &page.quarantined[0];
        assert_eq!(q.position, 1);
        assert_eq!(
            q.reason,
            "number out of range at /tender/value/amount; number out of range at /planning/budget/amounts/1"
        );
        assert_eq!(q.ocid.as_deref(), Some("ocds-test-2"));
        assert_eq!(q.id.as_deref(), Some("notice-2"));
        assert!(q.raw.starts_with("{\"ocid\": \"ocds-test-2\""));
        assert!(q.raw.contains("1e9999") && q.raw.ends_with('}'));
    }

    #[test]
    fn leading_zeros_are_repaired_and_noted() {
        let body = page(&[
            release(1, ""),
            release(
                2,
                r#", "title": "000", "tender": {"value": {"amount": 000}, "lots": [{"n": 1}, {"n": 007}]}, "x": -00.5, "a/b~c": 00e2"#,
            ),
        ]);
        let page = parse_package(&body).unwrap();
        assert!(page.quarantined.is_empty(), "{:?}", page.quarantined);
        let repaired = &page.releases[1];
        let value = &repaired.value;
        assert_eq!(
            value.pointer("/tender/value/amount").unwrap().as_u64(),
            Some(0)
        );
        assert_eq!(value.pointer("/tender/lots/1/n").unwrap().as_u64(), Some(7));
        assert_eq!(value["x"].as_f64(), Some(-0.5));
        assert_eq!(value["a/b~c"].as_f64(), Some(0.0));
        // Digits inside strings are text, not numbers.
        assert_eq!(value["title"], "000");
        assert_eq!(
            repaired.repaired,
            [
                "number 000 at /tender/value/amount had superfluous leading zeros; read as 0",
                "number 007 at /tender/lots/1/n had superfluous leading zeros; read as 7",
                "number -00.5 at /x had superfluous leading zeros; read as -0.5",
                "number 00e2 at /a~1b~0c had superfluous leading zeros; read as 0e2",
            ]
        );
        assert!(page.releases[0].repaired.is_empty());
        assert_eq!(page.repairs.len(), 4);
        assert!(page.repairs[0].starts_with("release 1: number 000 at /tender/value/amount"));
    }

    #[test]
    fn leading_zeros_after_a_syntax_error_are_still_quarantined() {
        let body = page(&[release(1, r#", "n": 007 "m": 1"#)]);
        let page = parse_package(&body).unwrap();
        assert!(page.releases.is_empty());
        assert!(
            page.quarantined[0]
                .reason
                .starts_with("invalid JSON: expected `,` or `}`"),
            "{}",
            page.quarantined[0].reason
        );
        assert!(page.repairs.is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_noted() {
        let mut body = Vec::new();
        body.extend_from_slice(b"{\"releases\": [");
        body.extend_from_slice(release(1, "").as_bytes());
        body.extend_from_slice(b", ");
        // A lead byte without its continuation, then a lone cp1252 `\xfa` (u acute).
        body.extend_from_slice(release(2, ", \"title\": \"Caf\u{1}\"").as_bytes());
        let at = body.windows(4).position(|w| w == b"Caf\x01").unwrap() + 3;
        body.splice(at..at + 1, b"\xc3\x28 Pe\xf1a \xfa".iter().copied());
        body.extend_from_slice(b", ");
        body.extend_from_slice(release(3, ", \"title\": \"Caf\u{e9}\"").as_bytes());
        body.extend_from_slice(b"]}");
        assert!(std::str::from_utf8(&body).is_err());

        let page = parse_package(&body).unwrap();
        assert_eq!(positions(&page), [0, 1, 2]);
        let kept = &page.releases[1];
        assert_eq!(kept.value["title"], "Caf\u{FFFD}( Pe\u{FFFD}a \u{FFFD}");
        assert_eq!(
            kept.repaired,
            ["replaced 3 invalid UTF-8 byte sequences with U+FFFD"]
        );
        // Genuine UTF-8 is left alone.
        assert_eq!(page.releases[2].value["title"], "Caf\u{e9}");
        assert!(page.releases[0].repaired.is_empty() && page.releases[2].repaired.is_empty());
        assert_eq!(
            page.repairs,
            ["replaced 3 invalid UTF-8 byte sequences with U+FFFD (in release 1)"]
        );
    }

    #[test]
    fn invalid_utf8_in_a_real_page_keeps_the_page() {
        // Contracts Finder mojibake: the en dash of cp1252 (0x96) where UTF-8 was expected.
        let mut body = CF.to_vec();
        let at = body
            .windows(23)
            .position(|w| w == b"Domestic Abuse Support ")
            .unwrap();
        body[at + 14] = 0x96;
        let page = parse_package(&body).unwrap();
        assert_eq!(page.releases.len(), 7);
        assert_eq!(
            page.releases[2].value["tender"]["title"],
            "Domestic Abuse\u{FFFD}Support Service"
        );
        assert_eq!(page.releases[2].repaired.len(), 1);
        assert_eq!(
            page.repairs,
            ["replaced 1 invalid UTF-8 byte sequence with U+FFFD (in release 2)"]
        );
        assert_eq!(page.next.as_deref(), Some(CF_NEXT));
    }

    fn assert_truncated(body: &[u8], cut: usize) {
        match parse_package(&body[..cut]) {
            Err(PageError::Truncated { at, .. }) => assert_eq!(at.offset, cut),
            other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
        }
    }

    #[test]
    fn truncated_bodies_are_truncated_errors() {
        let find = |needle: &[u8]| {
            FTS.windows(needle.len())
                .position(|w| w == needle)
                .unwrap_or_else(|| panic!("{needle:?} not in the sample"))
        };
        let last_brace = FTS.iter().rposition(|&b| b == b'}').unwrap();
        let curly = find("’".as_bytes());
        let cuts = [
            0,
            1,
            find(b"Norfolk County Council") + 3, // inside a string
            find(b"\"releases\"") + 4,           // inside a key
            find(b"\"releases\"") + 10,          // after the key, before `:`
            find(b"\"releases\": [") + 13,       // just inside the array
            find(b"\"version\": \"1.1\"") + 12,  // inside an envelope value
            curly + 1,                           // inside a multi-byte character
            last_brace - 2,                      // just before the `]` of the releases
            last_brace - 1,                      // just after it
            last_brace,                          // just before the final `}`
        ];
        for cut in cuts {
            assert_truncated(FTS, cut);
        }
        // Every prefix of a real page, not only the hand-picked ones.
        let cf_end = CF.iter().rposition(|&b| b == b'}').unwrap();
        for cut in (0..=cf_end).step_by(53) {
            assert_truncated(CF, cut);
        }
        assert!(parse_package(&CF[..=cf_end]).is_ok());

        let err = parse_package(&FTS[..last_brace]).unwrap_err().to_string();
        assert_eq!(
            parse_package(b" \n").unwrap_err().to_string(),
            "truncated page: the body ends before the package starts (it is empty or blank) at byte 2 (line 2, column 1)"
        );
        assert!(
            err.starts_with("truncated page: the body ends inside the package object at byte"),
            "{err}"
        );
        let err = parse_package(&FTS[..find(b"Norfolk County Council") + 3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("a string that starts at byte"), "{err}");
        assert!(err.contains("release 0 of the `releases` array"), "{err}");
    }

    #[test]
    fn html_error_page_is_not_json() {
        let body = b"\r\n  <html><head><title>Request forbidden</title></head>\n<body>The request rate limit may have been exceeded</body></html>";
        let err = parse_package(body).unwrap_err();
        assert!(matches!(err, PageError::NotJson { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "not JSON: the body starts with \"<html><head><title>Request forbidden</title></head> <body>The request rate limit…\" at byte 4 (line 2, column 3)"
        );
        let plain = parse_package(b"Rate limit of 12 exceeded. Please retry after 120 seconds.")
            .unwrap_err();
        assert!(
            plain.to_string().contains("\"Rate limit of 12 exceeded."),
            "{plain}"
        );
    }

    #[test]
    fn a_syntax_error_quarantines_one_release() {
        let broken = release(
            2,
            r#", "tender": {"title": "Foster care" "status": "active"}"#,
        );
        let body = page(&[release(1, ""), broken.clone(), release(3, "")]);
        let page = parse_package(&body).unwrap();
        assert_eq!(positions(&page), [0, 2]);
        let q = &page.quarantined[0];
        assert_eq!(q.position, 1);
        assert_eq!(
            q.reason,
            "invalid JSON: expected `,` or `}` at line 1 column 133 of the release"
        );
        assert_eq!(&broken[132..140], "\"status\"");
        // Recovered from the text, since there is no parsed value to read them from.
        assert_eq!(q.ocid.as_deref(), Some("ocds-test-2"));
        assert_eq!(q.id.as_deref(), Some("notice-2"));
        assert_eq!(q.raw, broken);
    }

    #[test]
    fn release_checks_name_the_pointer() {
        let body = page(&[
            r#"{"ocid": "ocds-test-1", "id": "notice-1", "tag": ["tender"]}"#.to_owned(),
            r#"{"ocid": "", "id": 5, "date": "12/08/2026", "tag": []}"#.to_owned(),
            r#"{"id": "n", "date": "2026-08-12T11:56:48Z", "tag": "tender"}"#.to_owned(),
            r#"{"ocid": "o", "id": "n", "date": "2026-08-12", "tag": ["tender", 3]}"#.to_owned(),
            r#"["not", "a", "release"]"#.to_owned(),
            release(6, ""),
        ]);
        let page = parse_package(&body).unwrap();
        assert_eq!(positions(&page), [5]);
        let reasons: Vec<&str> = page.quarantined.iter().map(|q| q.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "/date is missing",
                "/ocid is empty; /id is a number, not a string; /date is not an RFC 3339 date-time: \"12/08/2026\"; /tag is an empty array",
                "/ocid is missing; /tag is a string, not an array",
                "/date is not an RFC 3339 date-time: \"2026-08-12\"; /tag/1 is not a non-empty string",
                "the release is an array, not an object",
            ]
        );
        assert_eq!(page.quarantined[0].ocid.as_deref(), Some("ocds-test-1"));
        assert_eq!(page.quarantined[1].ocid, None);
        assert_eq!(page.quarantined[1].id, None);
        assert_eq!(page.quarantined[2].id.as_deref(), Some("n"));
    }

    #[test]
    fn trailing_data_after_the_package_is_an_error() {
        let mut body = CF.to_vec();
        body.extend_from_slice(b"\n<!-- served by cache-7 -->\n");
        let err = parse_package(&body).unwrap_err();
        assert!(matches!(err, PageError::TrailingData { .. }), "{err:?}");
        assert!(
            err.to_string().contains("<!-- served by cache-7 -->"),
            "{err}"
        );
        let mut twice = FTS.to_vec();
        twice.extend_from_slice(FTS);
        assert!(matches!(
            parse_package(&twice),
            Err(PageError::TrailingData { .. })
        ));
    }

    #[test]
    fn bodies_without_a_releases_array_are_errors() {
        let cases: [(&[u8], &str); 4] = [
            (
                br#"{"uri": "x", "version": "1.1"}"#,
                "not a release package: the package object has no `releases` key (keys: uri, version) at byte 30 (line 1, column 31)",
            ),
            (
                b"{\n\"releases\": null}",
                "not a release package: `releases` is null, not an array at byte 14 (line 2, column 13)",
            ),
            (
                br#"[{"ocid": "x"}]"#,
                "not a release package: the top-level value is an array, not a package object at byte 0 (line 1, column 1)",
            ),
            (
                br#""Service Unavailable""#,
                "not a release package: the top-level value is a string at byte 0 (line 1, column 1)",
            ),
        ];
        for (body, message) in cases {
            let err = parse_package(body).unwrap_err();
            assert!(matches!(err, PageError::NoReleases { .. }), "{err:?}");
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn envelope_syntax_errors_give_line_and_column() {
        let err = parse_package(b"{\n  \"version\": \"1.1\"\n  \"releases\": []\n}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed package: expected `,` or `}` in the package object, found `\"` at byte 23 (line 3, column 3)"
        );
        // A bracket that closes the wrong thing leaves no way to find where the release ends.
        let err = parse_package(br#"{"releases": [{"ocid": [1}]}"#).unwrap_err();
        assert!(matches!(err, PageError::Syntax { .. }), "{err:?}");
        assert!(err.to_string().contains("in release 0"), "{err}");
    }

    #[test]
    fn links_next_is_read_only_from_the_package() {
        let read = |body: &str| parse_package(body.as_bytes()).unwrap().next;
        assert_eq!(
            read(r#"{"releases": [], "links": {"next": "https:\/\/x\/p?cursor=A\u003d"}}"#)
                .as_deref(),
            Some("https://x/p?cursor=A=")
        );
        assert_eq!(
            read(r#"{"links": {"prev": "a", "next": "b"}, "releases": []}"#).as_deref(),
            Some("b")
        );
        assert_eq!(read(r#"{"releases": [], "links": {"next": ""}}"#), None);
        assert_eq!(read(r#"{"releases": [], "links": {"next": null}}"#), None);
        assert_eq!(read(r#"{"releases": [], "links": []}"#), None);
        let inner = page(&[release(1, r#", "links": {"next": "https://elsewhere"}"#)]);
        let parsed = parse_package(&inner).unwrap();
        assert_eq!(parsed.next, None);
        assert_eq!(parsed.releases.len(), 1);
    }

    #[test]
    fn empty_release_list_and_byte_order_mark() {
        let page = parse_package(b"\xEF\xBB\xBF{\"releases\": []}\n").unwrap();
        assert!(page.releases.is_empty() && page.quarantined.is_empty());
        assert_eq!(page.repairs, ["skipped a UTF-8 byte order mark"]);
        // A stray comma leaves an empty element: reported, not silently dropped.
        let page =
            parse_package(format!("{{\"releases\": [{},]}}", release(1, "")).as_bytes()).unwrap();
        assert_eq!(positions(&page), [0]);
        assert_eq!(page.quarantined[0].position, 1);
        assert!(
            page.quarantined[0].reason.starts_with("invalid JSON: EOF"),
            "{}",
            page.quarantined[0].reason
        );
    }
}
