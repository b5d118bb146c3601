//! `parse_spend` against byte-exact excerpts of Devon CC's published files and against
//! synthetic files that gather the messiness seen at other councils into one place.

use chrono::NaiveDate;
use sync::spend::{Encoding, SpendError, SpendFile, SpendRow, parse_spend};

const DEVON_2026_03: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/samples/devon_spend_over_500_2026-03_excerpt.csv"
));
const DEVON_2019_05: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/samples/devon_spend_over_500_2019-05_excerpt.csv"
));
const DEVON_2011_12: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/samples/devon_spend_over_500_2011-12_excerpt_cp1252.csv"
));

fn parse(bytes: &[u8]) -> SpendFile {
    match parse_spend(bytes) {
        Ok(file) => file,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn row(file: &SpendFile, line: u64) -> &SpendRow {
    file.rows
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no row at line {line}"))
}

fn lines(file: &SpendFile) -> Vec<u64> {
    file.rows.iter().map(|r| r.line).collect()
}

fn skipped(file: &SpendFile) -> Vec<(u64, &str)> {
    file.skipped
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect()
}

fn rejected(file: &SpendFile) -> Vec<(u64, &str)> {
    file.rejected
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect()
}

fn columns(file: &SpendFile) -> Vec<(&str, Option<&str>)> {
    file.columns
        .iter()
        .map(|(name, field)| (name.as_str(), *field))
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn devon_2026_03_padded_amounts_and_total_row() {
    let file = parse(DEVON_2026_03);
    assert_eq!(file.encoding, Encoding::Utf8Bom);
    assert_eq!(file.header_line, 1);
    assert_eq!(
        columns(&file),
        vec![
            ("Body", Some("body_code")),
            ("Name of Body", Some("body_name")),
            ("Date", Some("date")),
            ("Transaction number", Some("transaction_number")),
            (" Amount ", Some("amount")),
            ("Supplier name", Some("supplier_name")),
            ("Supplier ID", Some("supplier_id")),
            ("VAT reg no", Some("vat_number")),
            ("Expense area", Some("expense_area")),
            ("Expense type", Some("expense_type")),
            ("Expense code", Some("expense_code")),
            ("Costcuk", None),
            ("Creditor type", Some("creditor_type")),
        ]
    );
    assert_eq!(lines(&file), (2..=12).collect::<Vec<u64>>());
    assert_eq!(
        skipped(&file),
        vec![(
            13,
            "line 13: total row (amount `57,492,900.67` with no date or supplier)"
        )]
    );
    assert!(file.rejected.is_empty());
    assert_eq!(file.rows_read(), 12);

    let padded = row(&file, 5);
    assert_eq!(
        padded,
        &SpendRow {
            line: 5,
            body_name: some("Devon County Council"),
            body_code: some("18"),
            date: date(2026, 3, 2),
            transaction_number: some("22076262"),
            invoice_number: None,
            amount_pence: 639_000,
            supplier_name: some("SOUTHWEST INTERVENTION SERVICES"),
            supplier_redacted: false,
            supplier_id: some("333291"),
            vat_number: some("440830321"),
            expense_area: some("Children's Social Care"),
            expense_type: some("Community based care"),
            expense_code: some("A61200"),
            description: None,
            row_hash: padded.row_hash.clone(),
        }
    );
    assert_eq!(padded.row_hash.len(), 64);

    assert_eq!(row(&file, 2).amount_pence, 51_989);
    assert_eq!(row(&file, 2).date, date(2026, 3, 2));
    assert_eq!(row(&file, 10).amount_pence, 14_402_000);
    assert_eq!(row(&file, 10).date, date(2026, 3, 3));
    assert_eq!(row(&file, 12).amount_pence, 58_046);
    assert_eq!(row(&file, 12).date, date(2026, 3, 4));
    assert_eq!(
        row(&file, 9).expense_type.as_deref(),
        Some("Property Repairs, Maintenance & Alterations (Reactive)")
    );
    let total: i64 = file.rows.iter().map(|r| r.amount_pence).sum();
    assert_eq!(total, 19_375_399);
}

#[test]
fn devon_2019_05_iso_dates_float_artefacts_and_redaction() {
    let file = parse(DEVON_2019_05);
    assert_eq!(file.encoding, Encoding::Utf8Bom);
    assert_eq!(file.header_line, 1);
    assert_eq!(
        file.columns[4],
        ("Invoice Number".to_owned(), Some("invoice_number"))
    );
    assert_eq!(
        file.columns[8],
        ("Vat Reg No".to_owned(), Some("vat_number"))
    );
    assert_eq!(lines(&file), (2..=10).collect::<Vec<u64>>());
    assert!(file.skipped.is_empty());
    assert!(file.rejected.is_empty());
    assert_eq!(file.rows_read(), 9);

    let first = row(&file, 2);
    assert_eq!(first.date, date(2019, 5, 1));
    assert_eq!(first.amount_pence, 50_094);
    assert_eq!(first.supplier_name.as_deref(), Some("KINGSBRIDGE ACADEMY"));
    assert_eq!(first.invoice_number.as_deref(), Some("EYP000000153603"));
    assert!(!first.supplier_redacted);

    assert_eq!(row(&file, 4).amount_pence, -2_248_976);
    assert_eq!(row(&file, 5).amount_pence, -57_171);
    assert_eq!(row(&file, 8).amount_pence, -50_994);
    assert_eq!(row(&file, 8).date, date(2019, 5, 2));
    assert_eq!(row(&file, 10).date, date(2019, 5, 3));
    assert_eq!(row(&file, 10).amount_pence, 51_830);

    let redacted: Vec<u64> = file
        .rows
        .iter()
        .filter(|r| r.supplier_redacted)
        .map(|r| r.line)
        .collect();
    assert_eq!(redacted, vec![3, 7, 9, 10]);
    assert!(
        file.rows
            .iter()
            .filter(|r| r.supplier_redacted)
            .all(|r| r.supplier_name.is_none())
    );

    let both = row(&file, 7);
    assert_eq!(both.amount_pence, 48_000);
    assert_eq!(both.supplier_name, None);
    assert_eq!(both.invoice_number, None);
    assert_eq!(both.supplier_id.as_deref(), Some("344696"));
    assert_eq!(both.transaction_number.as_deref(), Some("P2P40115794"));
    // Only the supplier is redacted here, so the invoice reference survives.
    assert_eq!(
        row(&file, 3).invoice_number.as_deref(),
        Some("EYP000000153605")
    );
    assert_eq!(
        row(&file, 3).expense_type.as_deref(),
        Some("Grants & Cont to Vol, comm & soc ent")
    );
}

#[test]
fn devon_2011_12_cp1252_blank_rows_and_exponent_residue() {
    let file = parse(DEVON_2011_12);
    assert_eq!(file.encoding, Encoding::Windows1252);
    assert_eq!(file.header_line, 1);
    assert_eq!(lines(&file), (2..=7).collect::<Vec<u64>>());
    assert_eq!(
        skipped(&file),
        vec![(8, "line 8: blank row"), (9, "line 9: blank row")]
    );
    assert!(file.rejected.is_empty());
    assert_eq!(file.rows_read(), 8);

    let first = row(&file, 2);
    assert_eq!(first.date, date(2011, 12, 1));
    assert_eq!(first.amount_pence, 71_227);
    assert_eq!(first.invoice_number.as_deref(), Some("52007754/1"));
    assert_eq!(
        first.expense_area.as_deref(),
        Some("Children & Younger Persons")
    );
    assert_eq!(row(&file, 3).amount_pence, 145_500);
    assert_eq!(row(&file, 4).amount_pence, -317_600);
    assert_eq!(row(&file, 5).amount_pence, -106_259);

    let residue = row(&file, 6);
    assert_eq!(residue.date, date(2011, 12, 5));
    assert_eq!(residue.amount_pence, 0);
    assert_eq!(residue.supplier_name, None);
    assert!(residue.supplier_redacted);
    assert_eq!(residue.invoice_number.as_deref(), Some("LTD.008"));

    let accented = row(&file, 7);
    assert_eq!(accented.date, date(2011, 12, 19));
    assert_eq!(accented.amount_pence, 158_916);
    assert_eq!(
        accented.invoice_number.as_deref(),
        Some("R\u{fa}INV/00007356")
    );
    assert_eq!(accented.invoice_number.as_deref(), Some("RúINV/00007356"));
    assert_eq!(
        accented.supplier_name.as_deref(),
        Some("ACTION FOR CHILDREN")
    );
}

/// Line 1 is a title, line 2 empty, the header is line 3, and the record at line 4 spans two
/// physical lines, so every later line number would be off by one if records were counted.
const MESSY: &str = "Spend over £500, Example Borough Council, April 2024\r\n\
\r\n\
Payment Date,Beneficiary,Net Amount £,Service Area,Narrative,Trans No,Amount inc VAT\r\n\
01/04/2024,REDACTIVE PUBLISHING LIMITED,\"(1,234.50)\",Libraries,\"Journals\r\nand binding\",T1,\"(1,481.40)\"\r\n\
02/04/2024,Acme Ltd,12.00 CR,Highways,Grit refund,T2,14.40 CR\r\n\
31/02/2024,Acme Ltd,100.00,Highways,Grit,T3,120.00\r\n\
03/04/2024,Acme Ltd,abc,Highways,Grit,T4,\r\n\
Payment Date,Beneficiary,Net Amount £,Service Area,Narrative,Trans No,Amount inc VAT\r\n\
04/04/2024,Redacted – personal data,£600.00,Adult Care,Support,T5,£720.00\r\n\
,,,,,,\r\n\
Total,,\"£1,000.00\",,,,\r\n\
,,,,Carried forward,,\r\n\
5 Apr 2024,Acme Ltd,,Highways,Grit,T6,\r\n\
yesterday,Acme Ltd,1.2.3,Highways,Grit,T7,\r\n\
2024-04-06,,50.00,Highways,,T8\r\n";

#[test]
fn messy_file_synonyms_signs_and_physical_line_numbers() {
    let file = parse(MESSY.as_bytes());
    assert_eq!(file.encoding, Encoding::Utf8);
    assert_eq!(file.header_line, 3);
    assert_eq!(
        columns(&file),
        vec![
            ("Payment Date", Some("date")),
            ("Beneficiary", Some("supplier_name")),
            ("Net Amount £", Some("amount")),
            ("Service Area", Some("expense_area")),
            ("Narrative", Some("description")),
            ("Trans No", Some("transaction_number")),
            ("Amount inc VAT", None),
        ]
    );
    assert_eq!(lines(&file), vec![4, 6, 10, 16]);
    let amounts: Vec<i64> = file.rows.iter().map(|r| r.amount_pence).collect();
    assert_eq!(amounts, vec![-123_450, -1_200, 60_000, 5_000]);

    let redactive = row(&file, 4);
    assert_eq!(
        redactive.supplier_name.as_deref(),
        Some("REDACTIVE PUBLISHING LIMITED")
    );
    assert!(!redactive.supplier_redacted);
    assert_eq!(redactive.date, date(2024, 4, 1));
    assert_eq!(
        redactive.description.as_deref(),
        Some("Journals\r\nand binding")
    );
    assert_eq!(redactive.transaction_number.as_deref(), Some("T1"));

    let redacted = row(&file, 10);
    assert_eq!(redacted.supplier_name, None);
    assert!(redacted.supplier_redacted);
    assert_eq!(redacted.expense_area.as_deref(), Some("Adult Care"));

    let unnamed = row(&file, 16);
    assert_eq!(unnamed.supplier_name, None);
    assert!(!unnamed.supplier_redacted);
    assert_eq!(unnamed.date, date(2024, 4, 6));

    assert_eq!(
        skipped(&file),
        vec![
            (9, "line 9: repeated header row"),
            (11, "line 11: blank row"),
            (12, "line 12: total row (`Total`)"),
            (13, "line 13: no date, amount or supplier"),
        ]
    );
    assert_eq!(
        rejected(&file),
        vec![
            (
                7,
                "line 7: date `31/02/2024` is not a date (column Payment Date)"
            ),
            (
                8,
                "line 8: amount `abc` is not a number (column Net Amount £)"
            ),
            (14, "line 14: amount is empty (column Net Amount £)"),
            (
                15,
                "line 15: date `yesterday` is not a date (column Payment Date); \
                 amount `1.2.3` is not a number (column Net Amount £)"
            ),
        ]
    );
    assert_eq!(file.rows_read(), 12);
}

#[test]
fn cp1252_header_and_supplier_are_decoded() {
    let bytes = b"Date paid,Supplier,Amount (\xa3),Purpose\r\n\
                  01/05/2024,Caf\xe9 \x96 Bistro,\xa3500.00,Lunch \x93club\x94\r\n";
    let file = parse(bytes);
    assert_eq!(file.encoding, Encoding::Windows1252);
    assert_eq!(file.columns[2], ("Amount (£)".to_owned(), Some("amount")));
    assert_eq!(file.columns[0], ("Date paid".to_owned(), Some("date")));
    let only = row(&file, 2);
    assert_eq!(only.supplier_name.as_deref(), Some("Café – Bistro"));
    assert_eq!(only.description.as_deref(), Some("Lunch “club”"));
    assert_eq!(only.amount_pence, 50_000);
    assert_eq!(only.date, date(2024, 5, 1));
}

#[test]
fn net_amount_preferred_over_gross_and_first_listed_synonym_wins() {
    let bytes = "Service_Area_Categorisation,Responsible_Unit,Expenses_Type,Detailed_Expenses_Type,\
Expense_Code,Narrative,Date,Transaction_Number,SumOfAmount_Inc_VAT,SumOfAmount_Exc_VAT,Supplier_Name,Supplier_ID\n\
Housing,Repairs,Materials,Timber,4001,Boards,15/06/2023,TN1,\"1,200.00\",\"1,000.00\",Timber Co,S9\n";
    let file = parse(bytes.as_bytes());
    assert_eq!(
        columns(&file),
        vec![
            ("Service_Area_Categorisation", Some("expense_area")),
            ("Responsible_Unit", None),
            ("Expenses_Type", Some("expense_type")),
            ("Detailed_Expenses_Type", None),
            ("Expense_Code", Some("expense_code")),
            ("Narrative", Some("description")),
            ("Date", Some("date")),
            ("Transaction_Number", Some("transaction_number")),
            ("SumOfAmount_Inc_VAT", None),
            ("SumOfAmount_Exc_VAT", Some("amount")),
            ("Supplier_Name", Some("supplier_name")),
            ("Supplier_ID", Some("supplier_id")),
        ]
    );
    let only = row(&file, 2);
    assert_eq!(only.amount_pence, 100_000);
    assert_eq!(only.expense_area.as_deref(), Some("Housing"));
    assert_eq!(only.expense_type.as_deref(), Some("Materials"));
    assert_eq!(only.supplier_id.as_deref(), Some("S9"));
}

#[test]
fn individual_creditor_type_withholds_the_name() {
    let bytes = b"Date,Supplier Name,Amount,Creditor Type\n\
                  01/04/2024,Jane Smith,600,INDV\n\
                  01/04/2024,Smith Builders Ltd,700,BUSN\n";
    let file = parse(bytes);
    let person = row(&file, 2);
    assert_eq!(person.supplier_name, None);
    assert!(person.supplier_redacted);
    let firm = row(&file, 3);
    assert_eq!(firm.supplier_name.as_deref(), Some("Smith Builders Ltd"));
    assert!(!firm.supplier_redacted);
}

#[test]
fn line_numbers_count_empty_lines_and_bare_cr_endings() {
    let file = parse(b"Date,Supplier,Amount\r01/04/2024,A,1\r02/04/2024,B,2.5\r");
    assert_eq!(file.header_line, 1);
    assert_eq!(lines(&file), vec![2, 3]);
    assert_eq!(row(&file, 3).amount_pence, 250);

    let file = parse(b"\n\nDate,Supplier,Amount\n\n\n01/04/2024,A,1\n\r\n02/04/2024,B,2\n");
    assert_eq!(file.header_line, 3);
    assert_eq!(lines(&file), vec![6, 8]);
}

#[test]
fn missing_amount_column_is_named() {
    let err = parse_spend(b"Date,Supplier name,Expense area\n01/04/2024,Acme,Roads\n")
        .expect_err("no amount column");
    match &err {
        SpendError::MissingColumn {
            line,
            missing,
            headers,
        } => {
            assert_eq!(*line, 1);
            assert_eq!(
                missing,
                &vec!["amount column (e.g. `Amount`, `Net Amount £`, `Amount (£)`)".to_owned()]
            );
            assert_eq!(headers, &vec!["Date", "Supplier name", "Expense area"]);
        }
        other => panic!("expected MissingColumn, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "line 1: the header row has no amount column (e.g. `Amount`, `Net Amount £`, \
         `Amount (£)`); headers seen: `Date`, `Supplier name`, `Expense area`"
    );
}

#[test]
fn file_without_header_reports_first_line() {
    let err = parse_spend(b"\n\nhello,world\nfoo,bar\n").expect_err("no header");
    assert_eq!(
        err.to_string(),
        "no header row found in the first 2 records: a spend file needs a date column (e.g. \
         `Date`, `Payment Date`, `Transaction Date`), an amount column (e.g. `Amount`, \
         `Net Amount £`, `Amount (£)`) and a supplier column (e.g. `Supplier Name`, `Supplier`, \
         `Beneficiary`, `Payee`); line 3 was `hello,world`"
    );

    let mut late = "title\n".repeat(50);
    late.push_str("Date,Supplier,Amount\n01/04/2024,A,1\n");
    assert!(matches!(
        parse_spend(late.as_bytes()),
        Err(SpendError::NoHeader { searched: 50, .. })
    ));
    let mut in_time = "title\n".repeat(49);
    in_time.push_str("Date,Supplier,Amount\n01/04/2024,A,1\n");
    assert_eq!(parse(in_time.as_bytes()).header_line, 50);
}

#[test]
fn documents_that_are_not_csv_are_refused() {
    assert!(matches!(parse_spend(b""), Err(SpendError::Empty)));
    assert!(matches!(
        parse_spend(b"\xEF\xBB\xBF\r\n  \r\n"),
        Err(SpendError::Empty)
    ));
    let cases: [(&[u8], &str); 4] = [
        (
            b"PK\x03\x04\x14\x00",
            "not a CSV file: it is a ZIP archive (an .xlsx or .ods workbook?)",
        ),
        (b"%PDF-1.7\n", "not a CSV file: it is a PDF document"),
        (
            b"\xD0\xCF\x11\xE0\x00\x00",
            "not a CSV file: it contains NUL bytes (a binary file such as an .xls workbook?)",
        ),
        (
            b"\n  <!DOCTYPE html><html><body>Not found</body></html>",
            "not a CSV file: it is an HTML or XML page (an error or landing page?)",
        ),
    ];
    for (bytes, message) in cases {
        let err = parse_spend(bytes).expect_err("not csv");
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn row_hashes_are_stable_and_follow_the_amount() {
    let first = parse(DEVON_2026_03);
    let again = parse(DEVON_2026_03);
    let hashes = |f: &SpendFile| {
        f.rows
            .iter()
            .map(|r| r.row_hash.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(&first), hashes(&again));
    let mut unique = hashes(&first);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 11);

    let text = std::str::from_utf8(DEVON_2026_03).expect("utf-8 fixture");
    assert_eq!(text.matches(" 519.89 ").count(), 1);
    let changed = parse(text.replace(" 519.89 ", " 519.90 ").as_bytes());
    assert_eq!(row(&changed, 2).amount_pence, 51_990);
    assert_ne!(row(&changed, 2).row_hash, row(&first, 2).row_hash);
    assert_eq!(hashes(&changed)[1..], hashes(&first)[1..]);

    // Padding and case are normalised away, so a republished file still matches.
    let recased = parse(text.replace("TRIP COMMUNITY", "Trip  Community").as_bytes());
    assert_eq!(row(&recased, 2).row_hash, row(&first, 2).row_hash);
}

#[test]
fn identical_rows_get_distinct_hashes() {
    let one = parse(b"Date,Supplier,Amount\n01/04/2024,Acme,600\n");
    let three = parse(
        b"Date,Supplier,Amount\n01/04/2024,Acme,600\n01/04/2024,Acme,600\n01/04/2024,Acme,600\n",
    );
    let hashes: Vec<&str> = three.rows.iter().map(|r| r.row_hash.as_str()).collect();
    assert_eq!(hashes.len(), 3);
    assert_eq!(hashes[0], one.rows[0].row_hash);
    assert_ne!(hashes[0], hashes[1]);
    assert_ne!(hashes[1], hashes[2]);
    assert_ne!(hashes[0], hashes[2]);
}

#[test]
fn redacted_supplier_hash_ignores_marker_wording() {
    let a = parse("Date,Supplier,Amount\n01/04/2024,REDACTED UNDER DP ACT,600\n".as_bytes());
    let b = parse("Date,Supplier,Amount\n01/04/2024,Redacted – personal data,600\n".as_bytes());
    assert!(a.rows[0].supplier_redacted);
    assert_eq!(a.rows[0].row_hash, b.rows[0].row_hash);
}

/// Past the prefix the encoding is chosen from, a first non-UTF-8 byte turns the rest of an
/// all-ASCII file to cp1252, exactly as deciding for the whole file does; line numbers stay
/// physical across the decoder's and the CSV reader's buffers.
#[test]
fn a_late_cp1252_byte_in_a_large_file_is_still_cp1252() {
    let mut bytes = b"Date,Supplier,Amount\r\n".to_vec();
    let mut rows = 0;
    while bytes.len() < (1 << 20) + 100_000 {
        rows += 1;
        bytes.extend_from_slice(format!("01/04/2024,Plain {rows} Ltd,12.00\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n02/04/2024,Caf\xe9 \x96 \xa3 Ltd,13.00\r\n");
    let file = parse(&bytes);
    assert_eq!(file.encoding, Encoding::Windows1252);
    assert_eq!(file.rows.len(), rows + 1);
    assert_eq!(lines(&file)[..3], [2, 3, 4]);
    let last = file.rows.last().expect("rows");
    assert_eq!(last.line, rows as u64 + 3);
    assert_eq!(last.supplier_name.as_deref(), Some("Café – £ Ltd"));
    assert_eq!(
        row(&file, rows as u64 + 1).supplier_name,
        some(&format!("Plain {rows} Ltd"))
    );
    let utf8 = bytes.len() - 24;
    assert_eq!(parse(&bytes[..utf8]).encoding, Encoding::Utf8);
}
