//! Lossless, tolerant, streaming reading of OCDS input.
//!
//! [`Reader`] takes any [`BufRead`] and yields releases one at a time as
//! `Result<Item, ReadError>`. It detects the input kind from the data itself:
//!
//! | input | detected as | yields |
//! | --- | --- | --- |
//! | object with a `releases` array | [`InputKind::ReleasePackage`] | each release |
//! | object with a `records` array | [`InputKind::RecordPackage`] | each embedded release of each record; linked releases (`{url, date, tag}`) as [`ItemKind::LinkedRelease`]; `compiledRelease` as [`ItemKind::CompiledRelease`] if [`ReadOptions::compiled_releases`] is set |
//! | array | [`InputKind::ReleaseArray`] | each element |
//! | any other object | [`InputKind::Release`] | that object |
//! | several values, one per line (or concatenated) | [`InputKind::JsonLines`] | as above, per value; a line may be a release, a release package or a record package (as `ocdskit` writes them) |
//!
//! Package metadata (every field except `releases`/`records`, in document order) is available
//! from [`Reader::metadata`]: fields that precede the array as soon as the reader is created,
//! fields that follow it (e.g. Contracts Finder's `links`) once iteration has finished. For JSON
//! Lines it is the metadata of the most recent package line.
//!
//! # Streaming
//!
//! A package is never parsed as a whole. A byte-level scanner that knows only strings, escapes
//! and bracket depth cuts each element of the top-level `releases` (or `records`) array out of
//! the stream as raw bytes; each element is then parsed on its own. Memory is bounded by the
//! largest single release (or record), not the file; [`ReadOptions::max_item_bytes`] caps even
//! that. JSON Lines are read line by line.
//!
//! # Repair and reject policy
//!
//! *Lossless:* unknown fields are kept, key order is kept, and numbers keep their text
//! (serde_json's `arbitrary_precision`): `0.10`, `-0.000100` and
//! `123456789012345678901234567890` re-serialise byte for byte and `1e9999` is not turned into
//! infinity or rejected. One spelling is canonicalised by serde_json itself while parsing, with
//! no public API to avoid it: exponents are written `e` with an explicit sign, so `1e9999`
//! re-serialises as `1e+9999` and `2E-3` as `2e-3` (same number, same digits). Nothing else is
//! normalised.
//!
//! *Tolerant, per release:* a problem inside one release costs at most that release. The
//! iterator yields a [`ReadError::Release`] for it (with the raw bytes, for quarantine) and
//! carries on with the next one.
//!
//! | problem inside a release | action |
//! | --- | --- |
//! | number JSON forbids: leading zeros (`000`, `0123`), `NaN`, `Infinity`, `+1`, `.5`, `1.` | **reject the release**, naming the offending text, its line:column and field. A repair would have to guess: `000` is probably 0, but `0123` may be a code whose zero matters (and turning it into a string changes its type), and `NaN` has no JSON value at all. One rule for all of them is predictable; silently changing a number is worse than quarantining one release, which the caller keeps (raw bytes included) and the publisher can fix. (`1e9999` is valid JSON syntax and is kept.) |
//! | invalid UTF-8 bytes in a string | **repair**: each invalid sequence becomes U+FFFD and the release gets a [`Warning`] with the field's JSON pointer and position. Feeds do publish cp1252 bytes in descriptions (e.g. Contracts Finder); losing a whole release for one byte would be worse, and the warning keeps the repair visible. |
//! | raw control characters (tab, newline...) inside a string | **repair**: escaped, so the text is exactly what was published; a [`Warning`] says so. |
//! | any other syntax error (missing comma, bad escape, unpaired surrogate...) | **reject the release**, with line:column. |
//! | valid JSON that is not an object | **reject the release**, saying what it was. |
//!
//! *Fatal, for the envelope only:* the stream ends with a [`ReadError::Fatal`] (or
//! [`Reader::new`] fails) when the structure around the releases is broken, so that the next
//! release can no longer be found: input that is not JSON, a truncated file, mismatched
//! brackets, a missing comma between elements. It says where (byte offset and line:column).
//! Everything yielded before it stands. A leading UTF-8 byte order mark is skipped; UTF-16 input
//! is refused.
//!
//! In JSON Lines each line is its own envelope: a broken line becomes one [`ReadError::Release`]
//! and reading continues on the next line. Automatic detection treats input as JSON Lines when a
//! second value follows a first value that fit on one line; pass [`Format::JsonLines`] to be
//! sure (then a broken first line is not fatal either).
//!
//! A package field other than `releases`/`records` that cannot be parsed is left out of the
//! metadata and reported in [`Reader::envelope_warnings`].
//!
//! Positions: lines and columns are 1-based, columns count bytes; offsets are 0-based bytes.

mod parse;
mod scan;

pub use scan::Pos;

use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;
use std::ops::Range;

use serde_json::{Map, Value};

use parse::{escape_pointer, parse_element};
use scan::{ScanError, Scanner, describe_byte, is_ws};

/// What the input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// An object with a `releases` array.
    ReleasePackage,
    /// An object with a `records` array.
    RecordPackage,
    /// A JSON array of releases.
    ReleaseArray,
    /// A single release object.
    Release,
    /// Several top-level values: JSON Lines (or concatenated JSON).
    JsonLines,
}

/// How to split the input into top-level values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide from the data (see the module documentation).
    #[default]
    Auto,
    /// Exactly one JSON document; anything after it is a fatal error.
    Json,
    /// One value per line; a broken line is rejected on its own.
    JsonLines,
}

/// Reader settings.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// How to split the input.
    pub format: Format,
    /// Also yield each record's `compiledRelease` (as [`ItemKind::CompiledRelease`]).
    pub compiled_releases: bool,
    /// Largest single element (release, record, JSON Lines line) accepted, in bytes. Bounds
    /// memory when an unterminated string or bracket would otherwise swallow the input.
    pub max_item_bytes: usize,
    /// Hand releases over unparsed: [`Item::raw`] holds their bytes and [`Item::release`] is
    /// `null` until [`parse_deferred`] parses them. For callers that parse on other threads or
    /// later (`ocreg compile` groups releases by ocid first). Only the `ocid` (and, inside
    /// records, whether the release is linked) is read up front, which costs a fraction of a
    /// full parse. Releases that need repair or rejection are handled at once, as usual.
    pub defer_parse: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: Format::Auto,
            compiled_releases: false,
            max_item_bytes: 256 * 1024 * 1024,
            defer_parse: false,
        }
    }
}

/// What an [`Item`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A release (from a release package, an array, a single document, a JSON Lines line, or
    /// embedded in a record).
    Release,
    /// A record's linked release (`{url, date, tag}`): a pointer to a release published
    /// elsewhere, **not** the release itself.
    LinkedRelease,
    /// A record's `compiledRelease` (only with [`ReadOptions::compiled_releases`]).
    CompiledRelease,
}

/// The record an item came from (record packages only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// 1-based index of the record in the input.
    pub index: u64,
    /// The record's `ocid`, if it is a string.
    pub ocid: Option<String>,
}

/// A repair made while reading (or, in [`Reader::envelope_warnings`], a package field left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// RFC 6901 pointer of the affected field, relative to the release (or to the package, for
    /// envelope warnings).
    pub pointer: String,
    /// Where in the input.
    pub pos: Pos,
    /// What was done.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer} at {}: {}", self.pos, self.message)
    }
}

/// One release read from the input.
#[derive(Debug, Clone)]
pub struct Item {
    /// The parsed release, exactly as published (key order and number text kept).
    pub release: Value,
    /// What `release` holds.
    pub kind: ItemKind,
    /// 1-based position among everything the reader yielded (errors included).
    pub position: u64,
    /// Where the release starts in the input.
    pub start: Pos,
    /// Repairs made to this release; empty for clean input.
    pub warnings: Vec<Warning>,
    /// The record it came from, for record packages.
    pub record: Option<RecordRef>,
    /// The release's `ocid`, when it is a string.
    pub ocid: Option<String>,
    /// The unparsed release, with [`ReadOptions::defer_parse`] (then `release` is `null`).
    pub raw: Option<Vec<u8>>,
}

impl Item {
    /// 1-based line on which the release starts.
    pub fn line(&self) -> u64 {
        self.start.line
    }
}

/// One release (or record, or JSON Lines line) that could not be read. The reader continues.
#[derive(Debug, Clone)]
pub struct ReleaseError {
    /// 1-based position among everything the reader yielded.
    pub position: u64,
    /// Where the element starts.
    pub start: Pos,
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, for a person.
    pub message: String,
    /// The element's raw bytes, for quarantine.
    pub raw: Vec<u8>,
    /// The record it came from, for record packages.
    pub record: Option<RecordRef>,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item {} (starting at line {}, column {}) rejected: {}",
            self.position, self.start.line, self.start.column, self.message
        )
    }
}

impl std::error::Error for ReleaseError {}

/// The input's structure is broken; nothing more can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatalError {
    /// Where reading stopped.
    pub pos: Pos,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for FatalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read OCDS input at {}: {}",
            self.pos, self.message
        )
    }
}

impl std::error::Error for FatalError {}

impl From<ScanError> for FatalError {
    fn from(e: ScanError) -> Self {
        FatalError {
            pos: e.pos,
            message: e.message,
        }
    }
}

/// An error item from the [`Reader`] iterator.
#[derive(Debug, Clone)]
pub enum ReadError {
    /// One element rejected; iteration continues. (Boxed: it carries the raw bytes and would
    /// otherwise make every `Result` the iterator yields much larger.)
    Release(Box<ReleaseError>),
    /// The envelope is broken; this is the last item.
    Fatal(FatalError),
}

impl ReadError {
    /// Whether this ends the stream.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ReadError::Fatal(_))
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Release(e) => e.fmt(f),
            ReadError::Fatal(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Release(e) => Some(e.as_ref()),
            ReadError::Fatal(e) => Some(e),
        }
    }
}

/// Counters over what has been yielded so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Items yielded, errors included (the last `position`).
    pub items: u64,
    /// [`ItemKind::Release`] items.
    pub releases: u64,
    /// [`ItemKind::LinkedRelease`] items.
    pub linked_releases: u64,
    /// [`ItemKind::CompiledRelease`] items.
    pub compiled_releases: u64,
    /// Records seen (record packages).
    pub records: u64,
    /// [`ReadError::Release`] items.
    pub rejected: u64,
    /// Items that carry repair warnings.
    pub repaired: u64,
}

/// Streaming OCDS reader; see the [module documentation](self).
///
/// ```
/// use ocds::read::{Reader, ItemKind};
/// let input = br#"{"uri": "u", "releases": [{"ocid": "ocds-abcdef-1", "id": "1"}]}"#;
/// let mut reader = Reader::new(&input[..]).unwrap();
/// assert_eq!(reader.metadata()["uri"], "u");
/// for item in reader.by_ref() {
///     let item = item.unwrap();
///     assert_eq!(item.kind, ItemKind::Release);
///     assert_eq!(item.release["id"], "1");
/// }
/// ```
pub struct Reader<R> {
    engine: Engine<R>,
}

impl<R: BufRead> Reader<R> {
    /// Start reading with default options. Reads up to the first release, so that
    /// [`kind`](Self::kind) and the metadata before the releases are known.
    pub fn new(src: R) -> Result<Self, FatalError> {
        Self::with_options(src, ReadOptions::default())
    }

    /// Start reading with `options`.
    pub fn with_options(src: R, options: ReadOptions) -> Result<Self, FatalError> {
        let mut engine = Engine::new(src, Pos::START, options, false, Stats::default());
        engine.step()?;
        Ok(Reader { engine })
    }

    /// What the input is (known once the reader is created). A second top-level value turns
    /// any kind into [`InputKind::JsonLines`].
    pub fn kind(&self) -> InputKind {
        // Always set by a successful start; JSON Lines is the honest answer for "several
        // values, none seen yet".
        self.engine.kind.unwrap_or(InputKind::JsonLines)
    }

    /// Package metadata (see the module documentation for when it is complete).
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.engine.metadata
    }

    /// Take the package metadata.
    pub fn into_metadata(self) -> Map<String, Value> {
        self.engine.metadata
    }

    /// Repairs in, and fields left out of, the package metadata.
    pub fn envelope_warnings(&self) -> &[Warning] {
        &self.engine.envelope_warnings
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.engine.stats
    }

    /// How far into the input the reader is.
    pub fn pos(&self) -> Pos {
        self.engine.scan.pos()
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Item, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.engine.next()
    }
}

/// Parses a release handed over unparsed ([`ReadOptions::defer_parse`]) into `item.release`,
/// under the same repair/reject policy as the reader. Items already parsed are left as they are.
pub fn parse_deferred(item: &mut Item) -> Result<(), Box<ReleaseError>> {
    let Some(raw) = item.raw.take() else {
        return Ok(());
    };
    let reject = |pos: Pos, message: String, raw: Vec<u8>| {
        Box::new(ReleaseError {
            position: item.position,
            start: item.start,
            pos,
            message,
            raw,
            record: item.record.clone(),
        })
    };
    match parse_element(&raw, item.start) {
        Ok((value @ Value::Object(_), warnings)) => {
            item.release = value;
            item.warnings = warnings;
            Ok(())
        }
        Ok((other, _)) => Err(reject(
            item.start,
            format!(
                "expected a release (a JSON object), found {}",
                type_name(&other)
            ),
            raw,
        )),
        Err(rej) => Err(reject(rej.pos, rej.message, raw)),
    }
}

/// What [`ReadOptions::defer_parse`] reads of a release up front.
struct Probe {
    ocid: Option<String>,
    has_id: bool,
    has_url: bool,
    is_package: bool,
}

/// A JSON Lines line that is one clean object and not a package: a release. `None` sends the
/// line through the general path, which splits packages, repairs or explains.
fn line_release(line: &[u8]) -> Option<Probe> {
    let first = line.iter().position(|&b| !is_ws(b))?;
    if line[first] != b'{' {
        return None;
    }
    probe(line).filter(|p| !p.is_package)
}

/// Reads `ocid`, and whether `id` and `url` are present, skipping everything else. `None` when
/// the bytes are not clean JSON: the caller then takes the full path, which repairs or explains.
fn probe(raw: &[u8]) -> Option<Probe> {
    use serde::de::IgnoredAny;
    #[derive(serde::Deserialize)]
    struct Fields {
        ocid: Option<Value>,
        id: Option<IgnoredAny>,
        url: Option<IgnoredAny>,
        releases: Option<IgnoredAny>,
        records: Option<IgnoredAny>,
    }
    let fields: Fields = serde_json::from_slice(raw).ok()?;
    Some(Probe {
        is_package: fields.releases.is_some() || fields.records.is_some(),
        ocid: fields.ocid.and_then(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        }),
        has_id: fields.id.is_some(),
        has_url: fields.url.is_some(),
    })
}

/// Read from a byte slice.
pub fn from_slice(bytes: &[u8]) -> Result<Reader<&[u8]>, FatalError> {
    Reader::new(bytes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elems {
    Releases,
    Records,
}

impl Elems {
    fn name(self) -> &'static str {
        match self {
            Elems::Releases => "releases",
            Elems::Records => "records",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    FirstOrEnd,
    CommaOrEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// After a complete top-level value.
    Between,
    /// Inside the top-level array, or the package's releases/records array.
    Array {
        elems: Elems,
        in_package: bool,
        expect: Expect,
        open: Pos,
    },
    /// Package members after the releases/records array.
    PackageTail,
    /// JSON Lines: one value per line.
    Lines,
    Done,
}

struct Engine<R> {
    scan: Scanner<R>,
    opts: ReadOptions,
    /// Reading one JSON Lines line: no BOM, no further line splitting.
    nested: bool,
    state: State,
    kind: Option<InputKind>,
    metadata: Map<String, Value>,
    envelope_warnings: Vec<Warning>,
    pending: VecDeque<Result<Item, ReadError>>,
    stats: Stats,
    /// Top-level values started.
    values: u64,
    value_start: Pos,
    value_end: Pos,
    buf: Vec<u8>,
}

impl<R: BufRead> Engine<R> {
    fn new(src: R, pos: Pos, opts: ReadOptions, nested: bool, stats: Stats) -> Self {
        let limit = opts.max_item_bytes;
        Engine {
            scan: Scanner::new(src, pos, limit),
            opts,
            nested,
            state: State::Start,
            kind: None,
            metadata: Map::new(),
            envelope_warnings: Vec::new(),
            pending: VecDeque::new(),
            stats,
            values: 0,
            value_start: pos,
            value_end: pos,
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> Option<Result<Item, ReadError>> {
        loop {
            if let Some(x) = self.pending.pop_front() {
                return Some(x);
            }
            if self.state == State::Done {
                return None;
            }
            if let Err(e) = self.step() {
                self.state = State::Done;
                self.pending.push_back(Err(ReadError::Fatal(e.into())));
            }
        }
    }

    fn step(&mut self) -> Result<(), ScanError> {
        match self.state {
            State::Start => self.start(),
            State::Between => self.between(),
            State::Array {
                elems,
                in_package,
                expect,
                open,
            } => self.array_step(elems, in_package, expect, open),
            State::PackageTail => self.tail_step(),
            State::Lines => self.line_step(),
            State::Done => Ok(()),
        }
    }

    fn start(&mut self) -> Result<(), ScanError> {
        let mut scratch = Vec::new();
        if !self.nested {
            match self.scan.peek()? {
                Some(0xEF) => {
                    let pos = self.scan.pos();
                    self.scan.bump(&mut scratch)?;
                    for want in [0xBB, 0xBF] {
                        if self.scan.bump(&mut scratch)? != Some(want) {
                            return Err(ScanError {
                                pos,
                                message: "the input is not JSON (it starts with a broken byte order mark)".into(),
                            });
                        }
                    }
                }
                Some(0xFE | 0xFF | 0x00) => {
                    return Err(ScanError {
                        pos: self.scan.pos(),
                        message: "the input looks like UTF-16 or UTF-32; OCDS JSON must be UTF-8"
                            .into(),
                    });
                }
                _ => {}
            }
        }
        if self.opts.format == Format::JsonLines && !self.nested {
            self.kind = Some(InputKind::JsonLines);
            self.state = State::Lines;
            return Ok(());
        }
        self.scan.skip_ws(&mut scratch)?;
        if self.scan.peek()?.is_none() {
            return Err(ScanError {
                pos: self.scan.pos(),
                message: "the input is empty (no JSON value)".into(),
            });
        }
        self.begin_value()
    }

    fn set_kind(&mut self, kind: InputKind) {
        if self.values == 1 {
            self.kind = Some(kind);
        }
    }

    fn begin_value(&mut self) -> Result<(), ScanError> {
        self.values += 1;
        self.value_start = self.scan.pos();
        match self.scan.peek()? {
            Some(b'{') => self.object(),
            Some(b'[') => {
                let open = self.scan.pos();
                self.scan.bump(&mut Vec::new())?;
                self.set_kind(InputKind::ReleaseArray);
                self.state = State::Array {
                    elems: Elems::Releases,
                    in_package: false,
                    expect: Expect::FirstOrEnd,
                    open,
                };
                Ok(())
            }
            Some(b) => Err(ScanError {
                pos: self.scan.pos(),
                message: format!(
                    "expected an OCDS release, package or array of releases (a JSON object or array), found {}",
                    describe_byte(b)
                ),
            }),
            None => Err(ScanError {
                pos: self.scan.pos(),
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn finish_value(&mut self) {
        self.value_end = self.scan.pos();
        self.state = State::Between;
    }

    fn between(&mut self) -> Result<(), ScanError> {
        self.scan.skip_ws(&mut Vec::new())?;
        let Some(b) = self.scan.peek()? else {
            self.state = State::Done;
            return Ok(());
        };
        if self.nested || self.opts.format == Format::Json {
            return Err(ScanError {
                pos: self.scan.pos(),
                message: format!(
                    "unexpected {} after the end of the JSON value",
                    describe_byte(b)
                ),
            });
        }
        self.kind = Some(InputKind::JsonLines);
        if self.values == 1 && self.value_start.line == self.value_end.line {
            // The first value fitted on one line: JSON Lines, where each line stands alone.
            self.state = State::Lines;
            Ok(())
        } else {
            // Concatenated multi-line documents: keep cutting values out of the stream.
            self.begin_value()
        }
    }

    fn read_key(&mut self, raw: &mut Vec<u8>) -> Result<String, ScanError> {
        match self.scan.peek()? {
            Some(b'"') => {}
            Some(b) => {
                return Err(ScanError {
                    pos: self.scan.pos(),
                    message: format!(
                        "expected a field name in double quotes, found {}",
                        describe_byte(b)
                    ),
                });
            }
            None => {
                return Err(ScanError {
                    pos: self.scan.pos(),
                    message: "unexpected end of input: expected a field name".into(),
                });
            }
        }
        let start = raw.len();
        self.scan.read_value(raw)?;
        Ok(decode_key(&raw[start..]))
    }

    /// A top-level object: a package if it has a `releases`/`records` array, else a release.
    /// Members are kept raw until that is known.
    fn object(&mut self) -> Result<(), ScanError> {
        let start = self.scan.pos();
        let mut raw = Vec::new();
        let mut members: Vec<(String, Range<usize>, Pos)> = Vec::new();
        self.scan.bump(&mut raw)?;
        loop {
            self.scan.skip_ws(&mut raw)?;
            if members.is_empty() && self.scan.peek()? == Some(b'}') {
                self.scan.bump(&mut raw)?;
                break;
            }
            let key = self.read_key(&mut raw)?;
            self.scan.skip_ws(&mut raw)?;
            self.scan.expect(b':', "after a field name", &mut raw)?;
            self.scan.skip_ws(&mut raw)?;
            let vpos = self.scan.pos();
            let elems = match key.as_str() {
                "releases" => Some(Elems::Releases),
                "records" => Some(Elems::Records),
                _ => None,
            };
            if let Some(elems) = elems
                && self.scan.peek()? == Some(b'[')
            {
                self.scan.bump(&mut Vec::new())?;
                self.set_kind(match elems {
                    Elems::Releases => InputKind::ReleasePackage,
                    Elems::Records => InputKind::RecordPackage,
                });
                // Metadata is that of the latest package (JSON Lines or concatenated input).
                self.metadata = Map::new();
                for (k, range, pos) in members {
                    self.add_metadata(k, &raw[range], pos);
                }
                self.state = State::Array {
                    elems,
                    in_package: true,
                    expect: Expect::FirstOrEnd,
                    open: vpos,
                };
                return Ok(());
            }
            let vstart = raw.len();
            self.scan.read_value(&mut raw)?;
            members.push((key, vstart..raw.len(), vpos));
            self.scan.skip_ws(&mut raw)?;
            match self.scan.peek()? {
                Some(b',') => {
                    self.scan.bump(&mut raw)?;
                }
                Some(b'}') => {
                    self.scan.bump(&mut raw)?;
                    break;
                }
                Some(b) => {
                    return Err(ScanError {
                        pos: self.scan.pos(),
                        message: format!(
                            "expected ',' or '}}' after a field value, found {}",
                            describe_byte(b)
                        ),
                    });
                }
                None => {
                    return Err(ScanError {
                        pos: self.scan.pos(),
                        message: format!(
                            "unexpected end of input inside the object that starts at {start}"
                        ),
                    });
                }
            }
        }
        if let Some((k, _, pos)) = members
            .iter()
            .find(|(k, ..)| k == "releases" || k == "records")
        {
            return Err(ScanError {
                pos: *pos,
                message: format!("the package's '{k}' is not an array"),
            });
        }
        self.set_kind(InputKind::Release);
        let item = self.release_item(&raw, start, None, ItemKind::Release);
        self.pending.push_back(item);
        self.finish_value();
        Ok(())
    }

    fn add_metadata(&mut self, key: String, raw: &[u8], pos: Pos) {
        let prefix = format!("/{}", escape_pointer(&key));
        match parse_element(raw, pos) {
            Ok((value, warnings)) => {
                for mut w in warnings {
                    w.pointer = format!("{prefix}{}", w.pointer);
                    self.envelope_warnings.push(w);
                }
                self.metadata.insert(key, value);
            }
            Err(rej) => self.envelope_warnings.push(Warning {
                pointer: prefix,
                pos: rej.pos,
                message: format!(
                    "package field '{key}' could not be read and was left out: {}",
                    rej.message
                ),
            }),
        }
    }

    fn array_step(
        &mut self,
        elems: Elems,
        in_package: bool,
        expect: Expect,
        open: Pos,
    ) -> Result<(), ScanError> {
        let mut scratch = Vec::new();
        self.scan.skip_ws(&mut scratch)?;
        let name = if in_package {
            format!("the '{}' array", elems.name())
        } else {
            "the top-level array".to_string()
        };
        match (expect, self.scan.peek()?) {
            (_, None) => {
                return Err(ScanError {
                    pos: self.scan.pos(),
                    message: format!(
                        "unexpected end of input: {name} (opened at line {}, column {}) is not closed; the input looks truncated",
                        open.line, open.column
                    ),
                });
            }
            (_, Some(b']')) => {
                self.scan.bump(&mut scratch)?;
                if in_package {
                    self.state = State::PackageTail;
                } else {
                    self.finish_value();
                }
                return Ok(());
            }
            (Expect::FirstOrEnd, Some(_)) => {}
            (Expect::CommaOrEnd, Some(b',')) => {
                self.scan.bump(&mut scratch)?;
                self.scan.skip_ws(&mut scratch)?;
            }
            (Expect::CommaOrEnd, Some(b)) => {
                return Err(ScanError {
                    pos: self.scan.pos(),
                    message: format!(
                        "expected ',' or ']' after an element of {name}, found {}",
                        describe_byte(b)
                    ),
                });
            }
        }
        let start = self.scan.pos();
        let mut raw = std::mem::take(&mut self.buf);
        raw.clear();
        self.scan.read_value(&mut raw)?;
        match elems {
            Elems::Releases => {
                let item = self.release_item(&raw, start, None, ItemKind::Release);
                self.pending.push_back(item);
            }
            Elems::Records => self.record(&raw, start),
        }
        self.buf = raw;
        self.state = State::Array {
            elems,
            in_package,
            expect: Expect::CommaOrEnd,
            open,
        };
        Ok(())
    }

    fn tail_step(&mut self) -> Result<(), ScanError> {
        let mut scratch = Vec::new();
        self.scan.skip_ws(&mut scratch)?;
        match self.scan.peek()? {
            Some(b'}') => {
                self.scan.bump(&mut scratch)?;
                self.finish_value();
                Ok(())
            }
            Some(b',') => {
                self.scan.bump(&mut scratch)?;
                self.scan.skip_ws(&mut scratch)?;
                let key = self.read_key(&mut scratch)?;
                self.scan.skip_ws(&mut scratch)?;
                self.scan.expect(b':', "after a field name", &mut scratch)?;
                self.scan.skip_ws(&mut scratch)?;
                let pos = self.scan.pos();
                let mut raw = Vec::new();
                self.scan.read_value(&mut raw)?;
                self.add_metadata(key, &raw, pos);
                Ok(())
            }
            Some(b) => Err(ScanError {
                pos: self.scan.pos(),
                message: format!(
                    "expected ',' or '}}' in the package, found {}",
                    describe_byte(b)
                ),
            }),
            None => Err(ScanError {
                pos: self.scan.pos(),
                message: format!(
                    "unexpected end of input: the package that starts at line {}, column {} is not closed",
                    self.value_start.line, self.value_start.column
                ),
            }),
        }
    }

    fn line_step(&mut self) -> Result<(), ScanError> {
        let start = self.scan.pos();
        let mut line = std::mem::take(&mut self.buf);
        line.clear();
        if !self.scan.read_line(&mut line)? {
            self.state = State::Done;
            return Ok(());
        }
        if line.iter().all(|&b| is_ws(b)) {
            self.buf = line;
            return Ok(());
        }
        // Fast path: a line holding one clean release object (the usual case) becomes an item
        // without the byte-by-byte scan that splitting packages needs.
        if let Some(probe) = line_release(&line) {
            let item = self.release_item_probed(&line, start, None, ItemKind::Release, Some(probe));
            self.pending.push_back(item);
            self.buf = line;
            return Ok(());
        }
        let opts = ReadOptions {
            format: Format::Json,
            ..self.opts.clone()
        };
        let mut inner = Engine::new(&line[..], start, opts, true, self.stats);
        while let Some(result) = inner.next() {
            match result {
                Err(ReadError::Fatal(f)) => {
                    inner.stats.items += 1;
                    inner.stats.rejected += 1;
                    self.pending
                        .push_back(Err(ReadError::Release(Box::new(ReleaseError {
                            position: inner.stats.items,
                            start,
                            pos: f.pos,
                            message: format!(
                                "line {} is not a valid JSON value: {}",
                                start.line, f.message
                            ),
                            raw: line.clone(),
                            record: None,
                        }))));
                }
                other => self.pending.push_back(other),
            }
        }
        self.stats = inner.stats;
        if matches!(
            inner.kind,
            Some(InputKind::ReleasePackage | InputKind::RecordPackage)
        ) {
            self.metadata = inner.metadata;
            self.envelope_warnings.extend(inner.envelope_warnings);
        }
        self.buf = line;
        Ok(())
    }

    fn release_item(
        &mut self,
        raw: &[u8],
        start: Pos,
        record: Option<RecordRef>,
        kind: ItemKind,
    ) -> Result<Item, ReadError> {
        let probe = if self.opts.defer_parse {
            probe(raw)
        } else {
            None
        };
        self.release_item_probed(raw, start, record, kind, probe)
    }

    /// As [`Self::release_item`], with the element already probed (`None`: parse it in full).
    fn release_item_probed(
        &mut self,
        raw: &[u8],
        start: Pos,
        record: Option<RecordRef>,
        kind: ItemKind,
        probe: Option<Probe>,
    ) -> Result<Item, ReadError> {
        self.stats.items += 1;
        let position = self.stats.items;
        let reject = |stats: &mut Stats, pos: Pos, message: String, record: Option<RecordRef>| {
            stats.rejected += 1;
            Err(ReadError::Release(Box::new(ReleaseError {
                position,
                start,
                pos,
                message,
                raw: raw.to_vec(),
                record,
            })))
        };
        if self.opts.defer_parse
            && let Some(probe) = probe
        {
            let kind = if record.is_some()
                && kind == ItemKind::Release
                && !probe.has_id
                && probe.has_url
            {
                ItemKind::LinkedRelease
            } else {
                kind
            };
            self.count_kind(kind);
            return Ok(Item {
                release: Value::Null,
                kind,
                position,
                start,
                warnings: Vec::new(),
                record,
                ocid: probe.ocid,
                raw: Some(raw.to_vec()),
            });
        }
        match parse_element(raw, start) {
            Ok((Value::Object(map), warnings)) => {
                let kind = if record.is_some()
                    && kind == ItemKind::Release
                    && !map.contains_key("id")
                    && map.contains_key("url")
                {
                    ItemKind::LinkedRelease
                } else {
                    kind
                };
                self.count_kind(kind);
                if !warnings.is_empty() {
                    self.stats.repaired += 1;
                }
                let ocid = map.get("ocid").and_then(Value::as_str).map(str::to_owned);
                Ok(Item {
                    release: Value::Object(map),
                    kind,
                    position,
                    start,
                    warnings,
                    record,
                    ocid,
                    raw: None,
                })
            }
            Ok((other, _)) => reject(
                &mut self.stats,
                start,
                format!(
                    "expected a release (a JSON object), found {}",
                    type_name(&other)
                ),
                record,
            ),
            Err(rej) => reject(&mut self.stats, rej.pos, rej.message, record),
        }
    }

    fn count_kind(&mut self, kind: ItemKind) {
        match kind {
            ItemKind::Release => self.stats.releases += 1,
            ItemKind::LinkedRelease => self.stats.linked_releases += 1,
            ItemKind::CompiledRelease => self.stats.compiled_releases += 1,
        }
    }

    fn record(&mut self, raw: &[u8], start: Pos) {
        self.stats.records += 1;
        let index = self.stats.records;
        let parts = match scan_record(raw, start, self.opts.max_item_bytes) {
            Ok(p) => p,
            Err(e) => {
                self.stats.items += 1;
                self.stats.rejected += 1;
                self.pending
                    .push_back(Err(ReadError::Release(Box::new(ReleaseError {
                        position: self.stats.items,
                        start,
                        pos: e.pos,
                        message: format!("record {index} could not be read: {}", e.message),
                        raw: raw.to_vec(),
                        record: Some(RecordRef { index, ocid: None }),
                    }))));
                return;
            }
        };
        let rref = RecordRef {
            index,
            ocid: parts.ocid,
        };
        for (range, pos) in parts.releases {
            let item = self.release_item(&raw[range], pos, Some(rref.clone()), ItemKind::Release);
            self.pending.push_back(item);
        }
        if let Some(pos) = parts.releases_not_array {
            self.stats.items += 1;
            self.stats.rejected += 1;
            self.pending
                .push_back(Err(ReadError::Release(Box::new(ReleaseError {
                    position: self.stats.items,
                    start,
                    pos,
                    message: format!("record {index}: 'releases' is not an array"),
                    raw: raw.to_vec(),
                    record: Some(rref.clone()),
                }))));
        }
        if self.opts.compiled_releases
            && let Some((range, pos)) = parts.compiled
        {
            let item = self.release_item(&raw[range], pos, Some(rref), ItemKind::CompiledRelease);
            self.pending.push_back(item);
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decode a raw JSON string (with quotes) for use as a key; lossy if it is malformed.
fn decode_key(raw: &[u8]) -> String {
    serde_json::from_slice::<String>(raw).unwrap_or_else(|_| {
        let inner = raw
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_suffix(b"\""))
            .unwrap_or(raw);
        String::from_utf8_lossy(inner).into_owned()
    })
}

#[derive(Default)]
struct RecordParts {
    ocid: Option<String>,
    releases: Vec<(Range<usize>, Pos)>,
    releases_not_array: Option<Pos>,
    compiled: Option<(Range<usize>, Pos)>,
}

/// Find a record's `ocid`, its `releases` elements and its `compiledRelease` as ranges of `raw`,
/// so each release can be parsed (and rejected) on its own.
fn scan_record(raw: &[u8], start: Pos, limit: usize) -> Result<RecordParts, ScanError> {
    let mut sc = Scanner::new(raw, start, limit);
    let mut scratch = Vec::new();
    let mut parts = RecordParts::default();
    let idx = |p: Pos| (p.offset - start.offset) as usize;
    if sc.peek()? != Some(b'{') {
        return Err(ScanError {
            pos: start,
            message: "a record must be a JSON object".into(),
        });
    }
    sc.bump(&mut scratch)?;
    let mut first = true;
    loop {
        sc.skip_ws(&mut scratch)?;
        if first && sc.peek()? == Some(b'}') {
            break;
        }
        first = false;
        if sc.peek()? != Some(b'"') {
            return Err(ScanError {
                pos: sc.pos(),
                message: "expected a field name in double quotes".into(),
            });
        }
        scratch.clear();
        sc.read_value(&mut scratch)?;
        let key = decode_key(&scratch);
        sc.skip_ws(&mut scratch)?;
        sc.expect(b':', "after a field name", &mut scratch)?;
        sc.skip_ws(&mut scratch)?;
        let vpos = sc.pos();
        match key.as_str() {
            "releases" if sc.peek()? == Some(b'[') => {
                sc.bump(&mut scratch)?;
                sc.skip_ws(&mut scratch)?;
                if sc.peek()? == Some(b']') {
                    sc.bump(&mut scratch)?;
                } else {
                    loop {
                        let epos = sc.pos();
                        scratch.clear();
                        sc.read_value(&mut scratch)?;
                        parts.releases.push((idx(epos)..idx(sc.pos()), epos));
                        sc.skip_ws(&mut scratch)?;
                        match sc.peek()? {
                            Some(b',') => {
                                sc.bump(&mut scratch)?;
                                sc.skip_ws(&mut scratch)?;
                            }
                            Some(b']') => {
                                sc.bump(&mut scratch)?;
                                break;
                            }
                            _ => {
                                return Err(ScanError {
                                    pos: sc.pos(),
                                    message: "expected ',' or ']' in the record's releases".into(),
                                });
                            }
                        }
                    }
                }
            }
            _ => {
                scratch.clear();
                sc.read_value(&mut scratch)?;
                let range = idx(vpos)..idx(sc.pos());
                match key.as_str() {
                    "releases" => parts.releases_not_array = Some(vpos),
                    "compiledRelease" => parts.compiled = Some((range, vpos)),
                    "ocid" => parts.ocid = serde_json::from_slice::<String>(&raw[range]).ok(),
                    _ => {}
                }
            }
        }
        sc.skip_ws(&mut scratch)?;
        match sc.peek()? {
            Some(b',') => {
                sc.bump(&mut scratch)?;
            }
            Some(b'}') => break,
            _ => {
                return Err(ScanError {
                    pos: sc.pos(),
                    message: "expected ',' or '}' in the record".into(),
                });
            }
        }
    }
    Ok(parts)
}
