//! Tests for `ocds::read` with real-shaped input (see tests/data/README.md for provenance).

use std::io::{BufReader, Read};

use ocds::read::{
    self, Format, InputKind, Item, ItemKind, ReadError, ReadOptions, Reader, ReleaseError,
};
use serde_json::Value;

const FTS: &[u8] = include_bytes!("data/fts_ocds_release_package_children_services.json");
const CF: &[u8] = include_bytes!("data/contracts_finder_ocds_search_page_excerpt_2022.json");

/// Split a reader's output into items, release errors and the fatal error (if any).
fn collect<R: std::io::BufRead>(
    reader: Reader<R>,
) -> (Vec<Item>, Vec<ReleaseError>, Option<read::FatalError>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut fatal = None;
    for r in reader {
        match r {
            Ok(i) => items.push(i),
            Err(ReadError::Release(e)) => errors.push(*e),
            Err(ReadError::Fatal(f)) => {
                assert!(fatal.is_none(), "two fatal errors");
                fatal = Some(f);
            }
        }
    }
    (items, errors, fatal)
}

fn read_all(bytes: &[u8]) -> (Vec<Item>, Vec<ReleaseError>, Option<read::FatalError>) {
    collect(Reader::new(bytes).expect("reader"))
}

#[test]
fn fts_release_package() {
    let mut reader = Reader::new(FTS).unwrap();
    assert_eq!(reader.kind(), InputKind::ReleasePackage);
    let keys: Vec<&str> = reader.metadata().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "uri",
            "version",
            "extensions",
            "publishedDate",
            "publisher",
            "license",
            "publicationPolicy"
        ]
    );
    let items: Vec<Item> = reader.by_ref().map(|r| r.unwrap()).collect();
    let whole: Value = serde_json::from_slice(FTS).unwrap();
    let expected = whole["releases"].as_array().unwrap();
    assert_eq!(items.len(), 17);
    assert_eq!(items.len(), expected.len());
    for (n, (item, want)) in items.iter().zip(expected).enumerate() {
        assert_eq!(&item.release, want);
        assert_eq!(item.position, n as u64 + 1);
        assert_eq!(item.kind, ItemKind::Release);
        assert!(item.warnings.is_empty());
        // Each release starts with '{' at the recorded offset.
        assert_eq!(FTS[item.start.offset as usize], b'{');
    }
    assert_eq!(items[0].line(), 26);
    assert!(items.windows(2).all(|w| w[0].line() < w[1].line()));
    // Key order inside a release is kept.
    let first_keys: Vec<&str> = items[0]
        .release
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .take(4)
        .collect();
    assert_eq!(first_keys, ["id", "tag", "date", "initiationType"]);
    let stats = reader.stats();
    assert_eq!((stats.items, stats.releases, stats.rejected), (17, 17, 0));
}

#[test]
fn cf_metadata_after_releases_is_kept() {
    let mut reader = Reader::new(CF).unwrap();
    assert!(!reader.metadata().contains_key("links"));
    let n = reader.by_ref().filter(|r| r.is_ok()).count();
    assert_eq!(n, 7);
    let md = reader.metadata();
    assert_eq!(md.keys().next_back().map(String::as_str), Some("links"));
    assert!(md["links"]["next"].as_str().unwrap().contains("cursor="));
    assert_eq!(md["publisher"]["name"], "Cabinet Office");
}

#[test]
fn json_lines_of_releases_with_a_broken_line() {
    let input = concat!(
        r#"{"ocid":"ocds-abcdef-1","id":"a","date":"2026-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"ocid":"ocds-abcdef-2","id":"b","tag":["plan"#,
        "\n",
        "\n",
        r#"{"ocid":"ocds-abcdef-3","id":"c","value":{"amount":12.50}}"#,
        "\r\n",
    );
    let reader = Reader::new(input.as_bytes()).unwrap();
    let (items, errors, fatal) = collect(reader);
    assert!(fatal.is_none());
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].release["id"], "a");
    assert_eq!((items[0].position, items[0].line()), (1, 1));
    assert_eq!(items[1].release["id"], "c");
    assert_eq!((items[1].position, items[1].line()), (3, 4));
    // Numbers as written.
    assert_eq!(
        serde_json::to_string(&items[1].release["value"]).unwrap(),
        r#"{"amount":12.50}"#
    );
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].position, errors[0].start.line), (2, 2));
    assert!(
        errors[0].message.contains("line 2"),
        "{}",
        errors[0].message
    );
}

#[test]
fn json_lines_of_packages_like_ocdskit() {
    let input = concat!(
        r#"{"uri":"p1","releases":[{"ocid":"ocds-abcdef-1","id":"1"},{"ocid":"ocds-abcdef-1","id":"2"}]}"#,
        "\n",
        r#"{"uri":"p2","releases":[{"ocid":"ocds-abcdef-2","id":"3"}],"links":{"next":"n"}}"#,
        "\n",
    );
    let mut reader = Reader::new(input.as_bytes()).unwrap();
    let ids: Vec<Value> = reader
        .by_ref()
        .map(|r| r.unwrap().release["id"].clone())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(reader.kind(), InputKind::JsonLines);
    assert_eq!(reader.metadata()["uri"], "p2");
    assert_eq!(reader.metadata()["links"]["next"], "n");
}

#[test]
fn forced_json_lines_survives_a_broken_first_line() {
    let input = b"{\"id\": \"a\", \"x\": [}\n{\"id\": \"b\"}\n";
    let opts = ReadOptions {
        format: Format::JsonLines,
        ..ReadOptions::default()
    };
    let (items, errors, fatal) = collect(Reader::with_options(&input[..], opts).unwrap());
    assert!(fatal.is_none());
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].release["id"], "b");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].pos.line, errors[0].pos.column), (1, 19));
}

#[test]
fn array_of_releases_rejects_non_objects() {
    let input = br#"[
  {"ocid": "ocds-abcdef-1", "id": "1"},
  "not a release",
  {"ocid": "ocds-abcdef-1", "id": "2"}
]"#;
    let reader = Reader::new(&input[..]).unwrap();
    assert_eq!(reader.kind(), InputKind::ReleaseArray);
    let (items, errors, fatal) = collect(reader);
    assert!(fatal.is_none());
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].position, 3);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].start.line, 3);
    assert!(
        errors[0].message.contains("found a string"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[0].raw, b"\"not a release\"");
}

#[test]
fn single_release_document() {
    let input = b"\n\n{\n  \"ocid\": \"ocds-abcdef-1\",\n  \"id\": \"1\",\n  \"tender\": {\"id\": \"t\"}\n}\n\n";
    let reader = Reader::new(&input[..]).unwrap();
    assert_eq!(reader.kind(), InputKind::Release);
    assert!(reader.metadata().is_empty());
    let (items, errors, fatal) = collect(reader);
    assert!(errors.is_empty() && fatal.is_none());
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].line(), 3);
    assert_eq!(items[0].release["tender"]["id"], "t");
}

const RECORD_PACKAGE: &str = r#"{
  "uri": "https://example.org/records.json",
  "publisher": {"name": "Example"},
  "records": [
    {
      "ocid": "ocds-abcdef-1",
      "releases": [
        {"url": "https://example.org/r.json#1", "date": "2026-01-01T00:00:00Z", "tag": ["tender"]},
        {"ocid": "ocds-abcdef-1", "id": "2", "date": "2026-02-01T00:00:00Z", "tag": ["award"]}
      ],
      "compiledRelease": {"ocid": "ocds-abcdef-1", "id": "compiled", "tag": ["compiled"]}
    },
    {
      "releases": [
        {"ocid": "ocds-abcdef-2", "id": "3", "value": 000},
        {"ocid": "ocds-abcdef-2", "id": "4"}
      ],
      "ocid": "ocds-abcdef-2"
    }
  ],
  "version": "1.1"
}"#;

#[test]
fn record_package_embedded_linked_and_compiled() {
    let opts = ReadOptions {
        compiled_releases: true,
        ..ReadOptions::default()
    };
    let mut reader = Reader::with_options(RECORD_PACKAGE.as_bytes(), opts).unwrap();
    assert_eq!(reader.kind(), InputKind::RecordPackage);
    let results: Vec<_> = reader.by_ref().collect();
    let kinds: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(i) => format!(
                "{:?}:{}",
                i.kind,
                i.release.get("id").unwrap_or(&Value::Null)
            ),
            Err(e) => format!("error:{}", e.is_fatal()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "LinkedRelease:null",
            "Release:\"2\"",
            "CompiledRelease:\"compiled\"",
            "error:false",
            "Release:\"4\""
        ]
    );
    let Ok(linked) = &results[0] else { panic!() };
    assert_eq!(
        linked.record.as_ref().unwrap().ocid.as_deref(),
        Some("ocds-abcdef-1")
    );
    assert_eq!(linked.line(), 8);
    // ocid comes after releases in record 2 and is still attached.
    let Ok(last) = &results[4] else { panic!() };
    let rec = last.record.as_ref().unwrap();
    assert_eq!((rec.index, rec.ocid.as_deref()), (2, Some("ocds-abcdef-2")));
    let Err(ReadError::Release(bad)) = &results[3] else {
        panic!()
    };
    assert_eq!((bad.pos.line, bad.pos.column), (15, 55));
    let md: Vec<&str> = reader.metadata().keys().map(String::as_str).collect();
    assert_eq!(md, ["uri", "publisher", "version"]);
    let s = reader.stats();
    assert_eq!(
        (
            s.records,
            s.releases,
            s.linked_releases,
            s.compiled_releases,
            s.rejected
        ),
        (2, 2, 1, 1, 1)
    );
}

#[test]
fn leading_zero_number_rejects_only_that_release() {
    let input = b"{\"releases\": [\n  {\"id\": \"1\"},\n  {\"id\": \"2\", \"tender\": {\"value\": {\"amount\": 000}}},\n  {\"id\": \"3\"}\n]}";
    let (items, errors, fatal) = read_all(input);
    assert!(fatal.is_none());
    let ids: Vec<&Value> = items.iter().map(|i| &i.release["id"]).collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(items[1].position, 3);
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(e.position, 2);
    assert_eq!((e.pos.line, e.pos.column), (3, 46));
    assert!(e.message.contains("'000'"), "{}", e.message);
    assert!(e.message.contains("line 3, column 46"), "{}", e.message);
    assert!(e.message.contains("/tender/value/amount"), "{}", e.message);
    assert!(e.message.contains("leading zeros"), "{}", e.message);
    // The raw bytes are there for quarantine.
    assert!(e.raw.starts_with(b"{\"id\": \"2\""));
    let shown = e.to_string();
    assert!(shown.contains("item 2"), "{shown}");
}

#[test]
fn other_invalid_numbers_are_rejected_with_reasons() {
    for (token, hint) in [
        ("NaN", "NaN and Infinity"),
        ("-Infinity", "NaN and Infinity"),
        ("+1", "leading '+'"),
        (".5", "before the decimal point"),
        ("0123", "leading zeros"),
    ] {
        let input = format!("[{{\"id\": \"1\", \"n\": {token}}}, {{\"id\": \"2\"}}]");
        let (items, errors, fatal) = read_all(input.as_bytes());
        assert!(fatal.is_none(), "{token}");
        assert_eq!(items.len(), 1, "{token}");
        assert_eq!(errors.len(), 1, "{token}");
        assert!(
            errors[0].message.contains(hint),
            "{token}: {}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains(&format!("'{token}'")),
            "{}",
            errors[0].message
        );
    }
}

#[test]
fn invalid_utf8_is_repaired_and_reported() {
    // 0xE9 is "é" in cp1252: a real Contracts Finder failure mode.
    let mut input =
        b"{\"releases\": [\n{\"id\": \"1\",\n \"tender\": {\"description\": \"Caf".to_vec();
    input.push(0xE9);
    input.extend_from_slice(b" services\", \"items\": [{\"description\": \"ok\"}]}}\n]}");
    let (items, errors, fatal) = read_all(&input);
    assert!(fatal.is_none() && errors.is_empty());
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(
        item.release["tender"]["description"],
        "Caf\u{FFFD} services"
    );
    assert_eq!(item.warnings.len(), 1);
    let w = &item.warnings[0];
    assert_eq!(w.pointer, "/tender/description");
    assert_eq!(w.pos.offset, 58);
    assert_eq!((w.pos.line, w.pos.column), (3, 32));
    assert!(w.message.contains("U+FFFD"), "{}", w.message);
}

#[test]
fn huge_exponent_is_kept_as_written() {
    let release = r#"{"ocid":"ocds-abcdef-1","id":"1","tender":{"value":{"amount":1e9999,"currency":"GBP"},"n":-0.000100,"big":123456789012345678901234567890,"e":2E-3}}"#;
    let input = format!("{{\"releases\": [{release}]}}");
    let (items, errors, fatal) = read_all(input.as_bytes());
    assert!(fatal.is_none() && errors.is_empty());
    let out = serde_json::to_string(&items[0].release).unwrap();
    // Digits, sign, decimal places and exponent are kept as written; the only change is
    // serde_json's canonical exponent spelling ("e", explicit sign), which it applies while
    // parsing and which no public serde_json API avoids. See the module documentation.
    assert_eq!(
        out,
        release.replace("1e9999", "1e+9999").replace("2E-3", "2e-3")
    );
    // From then on it is stable, byte for byte.
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), out);
    assert!(
        items[0].release["tender"]["value"]["amount"]
            .as_f64()
            .is_none()
    );
}

#[test]
fn truncated_package_is_fatal_after_the_releases_before_it() {
    let cut = &FTS[..FTS.len() * 2 / 3];
    let (items, errors, fatal) = read_all(cut);
    assert!(errors.is_empty());
    // Every release that ended before the cut was yielded, and nothing else.
    let whole: Value = serde_json::from_slice(FTS).unwrap();
    let all = whole["releases"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    for (item, want) in items.iter().zip(all) {
        assert_eq!(&item.release, want);
    }
    let fatal = fatal.expect("fatal error");
    assert_eq!(fatal.pos.offset, cut.len() as u64);
    let last_line = cut.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    assert_eq!(fatal.pos.line, last_line);
    let shown = fatal.to_string();
    assert!(shown.contains(&format!("line {last_line}")), "{shown}");
    assert!(shown.contains("unexpected end of input"), "{shown}");
}

#[test]
fn truncated_between_releases_names_the_array() {
    let input = b"{\"releases\": [{\"id\": \"1\"},\n  {\"id\": \"2\"}\n";
    let (items, _, fatal) = read_all(input);
    assert_eq!(items.len(), 2);
    let f = fatal.unwrap();
    assert!(f.message.contains("'releases' array"), "{}", f.message);
    assert!(f.message.contains("truncated"), "{}", f.message);
}

#[test]
fn missing_comma_between_releases_is_fatal() {
    let input = b"[{\"id\": \"1\"} {\"id\": \"2\"}]";
    let (items, _, fatal) = read_all(input);
    assert_eq!(items.len(), 1);
    let f = fatal.unwrap();
    assert_eq!(f.pos.column, 14);
    assert!(f.message.contains("expected ',' or ']'"), "{}", f.message);
}

#[test]
fn strings_with_brackets_and_escaped_quotes() {
    let input = br#"{"note": "a } ] \" [ {", "releases": [
 {"id": "1", "title": "Lot [1] {\"quoted\"} \\", "x": ["]", "}"]},
 {"id": "2", "title": "\\\"]}"}
], "after": "}]"}"#;
    let mut reader = Reader::new(&input[..]).unwrap();
    let items: Vec<Item> = reader.by_ref().map(|r| r.unwrap()).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].release["title"], "Lot [1] {\"quoted\"} \\");
    assert_eq!(items[0].release["x"][1], "}");
    assert_eq!(items[1].release["title"], "\\\"]}");
    assert_eq!(reader.metadata()["note"], "a } ] \" [ {");
    assert_eq!(reader.metadata()["after"], "}]");
}

#[test]
fn bom_and_leading_whitespace_are_skipped() {
    let mut input = vec![0xEF, 0xBB, 0xBF];
    input.extend_from_slice(b" \r\n\t {\"releases\": [{\"id\": \"1\"}]}");
    let (items, errors, fatal) = read_all(&input);
    assert!(errors.is_empty() && fatal.is_none());
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].line(), 2);
}

#[test]
fn not_json_at_all_fails_with_position() {
    let err = Reader::new(&b"\n  <html><body>502 Bad Gateway</body></html>"[..])
        .err()
        .expect("error");
    assert_eq!((err.pos.line, err.pos.column, err.pos.offset), (2, 3, 3));
    assert!(err.message.contains("'<'"), "{}", err.message);
    let err = Reader::new(&b"   "[..]).err().expect("error");
    assert!(err.message.contains("empty"), "{}", err.message);
    let err = Reader::new(&[0xFF, 0xFE, b'{', 0][..])
        .err()
        .expect("error");
    assert!(err.message.contains("UTF-16"), "{}", err.message);
}

#[test]
fn control_characters_in_strings_are_escaped_with_a_warning() {
    let input = b"[{\"id\": \"1\", \"description\": \"line one\nline two\tend\"}]";
    let (items, errors, _) = read_all(input);
    assert!(errors.is_empty());
    assert_eq!(items[0].release["description"], "line one\nline two\tend");
    assert_eq!(items[0].warnings.len(), 1);
    assert_eq!(items[0].warnings[0].pointer, "/description");
    assert!(items[0].warnings[0].message.contains("U+000A"));
}

#[test]
fn other_syntax_errors_reject_the_release_with_position() {
    let input =
        b"[\n{\"id\": \"1\", \"a\": \"\\x\"},\n{\"id\": \"2\", \"a\" 1},\n{\"id\": \"3\"}\n]";
    let (items, errors, fatal) = read_all(input);
    assert!(fatal.is_none());
    assert_eq!(items.len(), 1);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].pos.line, 2);
    assert!(
        errors[0].message.contains("escape"),
        "{}",
        errors[0].message
    );
    assert_eq!((errors[1].pos.line, errors[1].pos.column), (3, 17));
}

#[test]
fn unreadable_metadata_field_is_reported_not_fatal() {
    let input = b"{\"uri\": \"u\", \"count\": 007, \"releases\": [{\"id\": \"1\"}]}";
    let mut reader = Reader::new(&input[..]).unwrap();
    assert_eq!(reader.by_ref().count(), 1);
    assert_eq!(reader.metadata().len(), 1);
    assert_eq!(reader.envelope_warnings().len(), 1);
    assert_eq!(reader.envelope_warnings()[0].pointer, "/count");
}

#[test]
fn concatenated_pretty_documents() {
    let input = b"{\n \"id\": \"1\"\n}\n{\n \"id\": \"2\"\n}\n";
    let mut reader = Reader::new(&input[..]).unwrap();
    let ids: Vec<Value> = reader
        .by_ref()
        .map(|r| r.unwrap().release["id"].clone())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(reader.kind(), InputKind::JsonLines);
    let opts = ReadOptions {
        format: Format::Json,
        ..ReadOptions::default()
    };
    let (items, _, fatal) = collect(Reader::with_options(&input[..], opts).unwrap());
    assert_eq!(items.len(), 1);
    assert!(fatal.unwrap().message.contains("after the end"));
}

/// A `Read` that hands out at most `chunk` bytes per call and counts what it handed out.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
    served: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.served.set(self.served.get() + n);
        Ok(n)
    }
}

#[test]
fn large_package_is_read_incrementally() {
    const N: usize = 50_000;
    let mut input = String::from("{\"uri\": \"https://example.org/big.json\", \"releases\": [\n");
    for i in 0..N {
        if i > 0 {
            input.push_str(",\n");
        }
        input.push_str(&format!(
            r#"{{"ocid":"ocds-abcdef-{}","id":"{i}","date":"2026-01-01T00:00:00Z","tag":["tender"],"tender":{{"title":"Lot \"{i}\" [x]","value":{{"amount":{i}.50}}}}}}"#,
            i / 3
        ));
    }
    input.push_str("\n], \"version\": \"1.1\"}\n");
    let bytes = input.as_bytes();
    let served = std::rc::Rc::new(std::cell::Cell::new(0));
    let src = BufReader::with_capacity(
        64,
        Trickle {
            data: bytes,
            chunk: 7,
            served: served.clone(),
        },
    );
    let mut reader = Reader::new(src).unwrap();
    let first = reader.next().unwrap().unwrap();
    assert_eq!(first.release["id"], "0");
    // Only a few hundred bytes were pulled from the source to yield the first release.
    assert!(served.get() < 1024, "read {} bytes", served.get());
    let mut count = 1;
    for r in reader.by_ref() {
        let item = r.unwrap();
        assert_eq!(item.position, count + 1);
        assert_eq!(item.line(), count + 2);
        count += 1;
        if count == 25_000 {
            // Halfway through the items, about halfway through the input.
            let frac = served.get() as f64 / bytes.len() as f64;
            assert!((0.45..0.55).contains(&frac), "{frac}");
        }
    }
    assert_eq!(count as usize, N);
    assert_eq!(served.get(), bytes.len());
    assert_eq!(reader.metadata()["version"], "1.1");
    assert_eq!(reader.stats().releases, N as u64);
}

fn deferred(bytes: &[u8]) -> Reader<&[u8]> {
    Reader::with_options(
        bytes,
        ReadOptions {
            defer_parse: true,
            ..ReadOptions::default()
        },
    )
    .expect("reader")
}

#[test]
fn deferred_parse_yields_the_same_releases() {
    let (eager, _, _) = read_all(FTS);
    let (lazy, errors, fatal) = collect(deferred(FTS));
    assert!(errors.is_empty() && fatal.is_none());
    assert_eq!(eager.len(), lazy.len());
    for (eager, mut lazy) in eager.into_iter().zip(lazy) {
        assert!(lazy.release.is_null() && lazy.raw.is_some());
        assert_eq!(lazy.ocid, eager.ocid);
        assert_eq!(lazy.ocid.as_deref(), eager.release["ocid"].as_str());
        read::parse_deferred(&mut lazy).unwrap();
        assert!(lazy.raw.is_none());
        assert_eq!(lazy.release, eager.release);
    }
}

#[test]
fn deferred_parse_still_rejects_and_repairs() {
    let input = b"{\"ocid\":\"ocds-abcdef-1\",\"id\":\"1\",\"value\":000}\n\
{\"ocid\":\"ocds-abcdef-2\",\"id\":\"2\",\"title\":\"caf\xe9\"}\n\
{\"ocid\":\"ocds-abcdef-3\",\"id\":\"3\"}\n";
    let (items, errors, fatal) = collect(
        Reader::with_options(
            &input[..],
            ReadOptions {
                defer_parse: true,
                format: Format::JsonLines,
                ..ReadOptions::default()
            },
        )
        .unwrap(),
    );
    assert!(fatal.is_none());
    assert_eq!(errors.len(), 1, "the release with 000 is rejected");
    assert!(errors[0].message.contains("000"), "{}", errors[0].message);
    let mut items = items;
    assert_eq!(items.len(), 2);
    for item in &mut items {
        read::parse_deferred(item).unwrap();
    }
    assert_eq!(items[0].release["title"], "caf\u{fffd}");
    assert_eq!(items[0].warnings.len(), 1, "the repair is reported");
    assert_eq!(items[1].ocid.as_deref(), Some("ocds-abcdef-3"));
}
