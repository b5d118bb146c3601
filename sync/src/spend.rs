//! Parser for one Local Government Transparency Code "spend over £500" CSV file.
//!
//! Councils publish these monthly or quarterly with drifting headers, three encodings, two date
//! styles, padded and float-artefact amounts, blank and total rows and redaction markers (see
//! `uk-feeds.md` §3.4, measured on Devon CC's 184 files). [`SpendReader`] reads one file from
//! any reader a record at a time, in bounded memory, turning it into typed rows and accounting
//! for every data record it did not turn into a row, so an import can report exactly what it
//! dropped and why; [`parse_spend`] collects the same from bytes in memory. Neither touches a
//! database.
//!
//! # Rules
//!
//! * **Encoding** (see [`StreamDecoder`]): a UTF-8 byte-order mark is stripped; invalid UTF-8 in
//!   the first MiB makes the *whole* file Windows-1252 (a cp1252 file is usually valid ASCII with
//!   a handful of `£`/`ú` bytes, so decoding per line would mix encodings within one file);
//!   otherwise the file is UTF-8 up to its first invalid byte, if any, and Windows-1252 from
//!   there on, which for an all-ASCII start is the same whole-file rule.
//! * **Header**: the first record, within the first [`HEADER_SEARCH_RECORDS`], in which at least
//!   two of the three required columns (date, amount, supplier) are recognised; title lines above
//!   it are ignored. If only two are recognised the file is rejected as
//!   [`SpendError::MissingColumn`] rather than searched further, because a header that names a
//!   date and a supplier but no amount is the header, just an unusable one. Header cells are
//!   compared after keeping only ASCII letters and digits, lower-cased, so ` Amount `,
//!   `Amount (£)`, `Net Amount £`, `NetAmount`, `Net_Amount` and a mis-decoded `amount (Â£)` all
//!   read as `netamount`/`amount`. When several columns map to one field the synonym listed first
//!   in [`SYNONYMS`] wins (ties: the leftmost column) and the others are reported unmapped; for
//!   amounts the net/excluding-VAT column is preferred over an including-VAT one, because the
//!   Code's "amount" is net of recoverable VAT.
//! * **Rows**: every cell is trimmed and an empty cell is `None`. A record is *skipped* (with a
//!   reason) when it is blank, a repeat of the header, has none of date, amount and supplier (for
//!   instance only Body and Name of Body), or is a total row: no date, no supplier but an amount;
//!   or no readable date and a whole cell reading `Total`, `Totals`, `Grand total`, `Sub-total`,
//!   `Total for …` (a row with a real date is data even so). A record is
//!   *rejected* when it is data but its date or amount is empty or cannot be read. A missing
//!   supplier on an otherwise valid row is kept as `supplier_name: None`, `supplier_redacted:
//!   false`: the payment is real even if the council left the name out.
//! * **Dates** (see [`parse_date`]): `dd/mm/yyyy`, `d/m/yyyy`, `dd/mm/yy` (read as 20yy),
//!   `dd-mm-yyyy`, `dd.mm.yyyy`, `yyyy-mm-dd`, `yyyy/mm/dd`, `dd-Mon-yyyy`, `dd Mon yyyy`
//!   (English month names or three-letter abbreviations, any case), each optionally followed by a
//!   time (` 00:00:00`, ` 00:00`, `T00:00:00Z`), which is ignored. Day-first only: a UK file's
//!   `05/13/2019` is an error, not 13 May.
//! * **Amounts** (see [`parse_amount`]): exact decimal text to integer pence; `£`/`GBP`, thousands
//!   commas (groups of three only, so a decimal comma `12,5` is an error rather than 125),
//!   padding and stray quotes are ignored; `-12`, `12-`, `(12)` and `12 CR` are negative and a
//!   trailing `DR` is ignored; more than two decimals round half away from zero
//!   (`-571.7099999999999` is -57171 pence); exponent forms are expanded exactly, so the E-13
//!   residues of netting rows become 0.
//! * **Redaction** (see [`is_redaction_marker`]): whole-cell markers and the whole *words*
//!   `redacted`/`redaction`/`withheld`, never substrings, so `REDACTIVE PUBLISHING LIMITED` is a
//!   supplier. A redacted supplier, or one whose creditor-type column says the payee is an
//!   individual (Devon's `INDV`), becomes `supplier_name: None` with `supplier_redacted: true`; a
//!   marker in the invoice number makes `invoice_number` `None`.
//! * **Line numbers** are the physical line (1-based) where the record starts, as counted by the
//!   `csv` reader, so a quoted cell spanning lines moves every later number. A file with no LF at
//!   all but CRs (old Mac Excel exports) is read as if its CRs were LFs, so its line numbers mean
//!   something (decided from the first MiB).
//!
//! # Row hash
//!
//! [`SpendRow::row_hash`] is the lower-case hex SHA-256 of the UTF-8 string
//!
//! ```text
//! ocreg-spend-v1 US date US amount_pence US transaction_number US supplier US body_code
//!   US body_name US expense_area US expense_type
//! ```
//!
//! where `US` is U+001F (a separator that never occurs in a cell), `date` is `yyyy-mm-dd`,
//! `amount_pence` is the signed decimal integer, and every text field is the trimmed cell with
//! runs of whitespace collapsed to one space and upper-cased (so a republished file that changed
//! only case or padding still matches), or the empty string when absent. `supplier` is
//! `[REDACTED]` for a redacted row, so the hash neither depends on the council's marker wording
//! nor encodes an individual's name. The invoice number is left out on purpose: Devon dropped the
//! column in 2025, and older files put client surnames in it.
//!
//! Split lines and genuine repeats can share every key field, so the *n*-th repeat (n ≥ 1) of the
//! same key within one file hashes the key followed by `US #n`. The first occurrence hashes the
//! bare key. Hashes are therefore unique within a file and identical when the same file is
//! imported again.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::NaiveDate;
use register::digest::sha256_hex as hex_sha256;

pub use crate::text::Encoding;
use crate::text::{PenceError, StreamDecoder, decimal_pence};

/// How far down the file the header may be. Title lines above it are a handful at most, and
/// a file with no recognisable header in its first fifty records is not a spend file, so there
/// is no point reading a large wrong file to the end before saying so.
pub const HEADER_SEARCH_RECORDS: u64 = 50;

/// One payment line of a spend file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub body_name: Option<String>,
    /// The `Body` column: a DCLG code or a URI for the publishing body.
    pub body_code: Option<String>,
    pub date: NaiveDate,
    pub transaction_number: Option<String>,
    /// For de-duplication inside the importer only: older files put client names in it.
    pub invoice_number: Option<String>,
    /// Exact integer pence; negatives are credit notes, reversals and recoveries.
    pub amount_pence: i64,
    /// `None` when redacted, when the payee is an individual, or when the cell is empty.
    pub supplier_name: Option<String>,
    pub supplier_redacted: bool,
    /// The council's own creditor number, not a Companies House or charity number.
    pub supplier_id: Option<String>,
    pub vat_number: Option<String>,
    pub expense_area: Option<String>,
    pub expense_type: Option<String>,
    pub expense_code: Option<String>,
    pub description: Option<String>,
    /// See the module documentation for exactly what is hashed.
    pub row_hash: String,
}

/// A record deliberately not imported: blank, total, repeated header or no payment fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

/// A data record whose date or amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendFile {
    pub encoding: Encoding,
    pub header_line: u64,
    /// Every header cell as written, with the field it was mapped to (see [`SYNONYMS`]), or
    /// `None` when unknown or when another column won that field.
    pub columns: Vec<(String, Option<&'static str>)>,
    pub rows: Vec<SpendRow>,
    pub skipped: Vec<SkippedRow>,
    pub rejected: Vec<RejectedRow>,
}

impl SpendFile {
    /// Data records read after the header: rows, skipped and rejected together.
    pub fn rows_read(&self) -> u64 {
        (self.rows.len() + self.skipped.len() + self.rejected.len()) as u64
    }
}

/// The file as a whole cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error("the file is empty")]
    Empty,
    #[error("not a CSV file: {0}")]
    NotCsv(String),
    #[error("line {line}: not readable as CSV: {message}")]
    Csv { line: u64, message: String },
    #[error(
        "no header row found in the first {searched} records: a spend file needs a {}, an {} \
         and a {}; line {first_line_number} was `{first_line}`",
        Field::Date.describe(), Field::Amount.describe(), Field::SupplierName.describe()
    )]
    NoHeader {
        searched: u64,
        first_line_number: u64,
        first_line: String,
    },
    #[error(
        "line {line}: the header row has no {}; headers seen: {}",
        .missing.join(" and no "),
        .headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingColumn {
        line: u64,
        /// Each missing field described with example header names.
        missing: Vec<String>,
        headers: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    BodyCode,
    BodyName,
    Date,
    TransactionNumber,
    InvoiceNumber,
    Amount,
    SupplierName,
    SupplierId,
    VatNumber,
    ExpenseArea,
    ExpenseType,
    ExpenseCode,
    Description,
    /// Not a [`SpendRow`] field: read only to withhold the names of individual payees.
    CreditorType,
}

const FIELD_COUNT: usize = 14;

/// Header synonyms per field in order of preference, written as header cells compare: ASCII
/// letters and digits only, lower-cased (`Net Amount £` is `netamount`).
///
/// Deliberately absent: `Total` and `Value` (too vague to be the amount), `Cost centre` (an
/// organisational unit, not the subjective expense code), `VAT` (the irrecoverable VAT amount,
/// not a registration number).
pub const SYNONYMS: &[(&str, &[&str])] = &[
    ("body_code", &["body", "bodycode", "bodyuri", "bodyid"]),
    (
        "body_name",
        &[
            "nameofbody",
            "bodyname",
            "organisationname",
            "organizationname",
            "authorityname",
            "councilname",
            "organisation",
        ],
    ),
    (
        "date",
        &[
            "date",
            "paymentdate",
            "datepaid",
            "paiddate",
            "dateofpayment",
            "transactiondate",
            "dateoftransaction",
            "dateincurred",
            "postingdate",
            "invoicedate",
        ],
    ),
    (
        "transaction_number",
        &[
            "transactionnumber",
            "transactionno",
            "transno",
            "transactionnum",
            "transactionid",
            "transactionreference",
            "transactionref",
        ],
    ),
    (
        "invoice_number",
        &[
            "invoicenumber",
            "invoiceno",
            "invoiceref",
            "invoicereference",
            "invoiceid",
        ],
    ),
    (
        "amount",
        &[
            "netamount",
            "amountexcvat",
            "amountexvat",
            "amountexcludingvat",
            "sumofamountexcvat",
            "amount",
            "amountgbp",
            "paymentamount",
            "transactionamount",
            "amountpaid",
            "netvalue",
            "paymentvalue",
            "transactionvalue",
            "sumofamount",
            "grossamount",
            "amountincvat",
            "amountincludingvat",
            "sumofamountincvat",
        ],
    ),
    (
        "supplier_name",
        &[
            "suppliername",
            "supplier",
            "beneficiary",
            "beneficiaryname",
            "benificiaryname",
            "benificiary",
            "payee",
            "payeename",
            "vendorname",
            "vendor",
            "creditorname",
            "merchantname",
            "merchant",
        ],
    ),
    (
        "supplier_id",
        &[
            "supplierid",
            "creditorid",
            "vendorid",
            "payeeid",
            "suppliernumber",
            "supplierno",
            "suppliercode",
            "supplierref",
            "supplierreference",
            "creditornumber",
            "creditorno",
            "vendornumber",
            "vendorno",
        ],
    ),
    (
        "vat_number",
        &[
            "vatregno",
            "vatregistrationnumber",
            "vatregistrationno",
            "vatregnumber",
            "vatnumber",
            "vatno",
            "suppliervatnumber",
            "suppliervatregno",
        ],
    ),
    (
        "expense_area",
        &[
            "expensearea",
            "servicearea",
            "serviceareacategorisation",
            "serviceareacategorization",
            "department",
            "directorate",
            "service",
            "servicedivisioncategorisation",
            "responsibleunit",
        ],
    ),
    (
        "expense_type",
        &[
            "expensetype",
            "expensestype",
            "expendituretype",
            "expenditurecategory",
            "procurementcategory",
            "detailedexpensestype",
            "detailedexpensetype",
            "merchantcategory",
        ],
    ),
    (
        "expense_code",
        &[
            "expensecode",
            "expensescode",
            "expenditurecode",
            "subjectivecode",
            "accountcode",
        ],
    ),
    (
        "description",
        &[
            "extendeddescription",
            "description",
            "narrative",
            "purpose",
            "purposeofexpenditure",
            "summaryofpurpose",
            "transactiondescription",
            "paymentdescription",
            "details",
        ],
    ),
    (
        "creditor_type",
        &["creditortype", "suppliertype", "vendortype", "payeetype"],
    ),
];

const ALL_FIELDS: [Field; FIELD_COUNT] = [
    Field::BodyCode,
    Field::BodyName,
    Field::Date,
    Field::TransactionNumber,
    Field::InvoiceNumber,
    Field::Amount,
    Field::SupplierName,
    Field::SupplierId,
    Field::VatNumber,
    Field::ExpenseArea,
    Field::ExpenseType,
    Field::ExpenseCode,
    Field::Description,
    Field::CreditorType,
];

const REQUIRED: [Field; 3] = [Field::Date, Field::Amount, Field::SupplierName];

impl Field {
    /// [`ALL_FIELDS`] and [`SYNONYMS`] are in the same order, so the discriminant indexes both.
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        SYNONYMS[self.index()].0
    }

    fn synonyms(self) -> &'static [&'static str] {
        SYNONYMS[self.index()].1
    }

    fn describe(self) -> &'static str {
        match self {
            Field::Date => "date column (e.g. `Date`, `Payment Date`, `Transaction Date`)",
            Field::Amount => "amount column (e.g. `Amount`, `Net Amount £`, `Amount (£)`)",
            Field::SupplierName => {
                "supplier column (e.g. `Supplier Name`, `Supplier`, `Beneficiary`, `Payee`)"
            }
            _ => self.name(),
        }
    }
}

/// Header cells compared on ASCII letters and digits only, lower-cased: padding, case, `£`,
/// brackets, underscores and internal spaces all vary between months of one publisher.
fn header_key(cell: &str) -> String {
    cell.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn lookup_header(key: &str) -> Option<(Field, usize)> {
    ALL_FIELDS.iter().find_map(|&field| {
        field
            .synonyms()
            .iter()
            .position(|s| *s == key)
            .map(|rank| (field, rank))
    })
}

struct Layout {
    /// Column index per field, indexed by [`Field::index`].
    cols: [Option<usize>; FIELD_COUNT],
    /// Field per column, for [`SpendFile::columns`].
    by_column: Vec<Option<Field>>,
    /// Header cells trimmed, to name columns in messages.
    names: Vec<String>,
    /// [`header_key`] of every header cell, to recognise a repeated header.
    keys: Vec<String>,
}

impl Layout {
    fn from_record(record: &csv::StringRecord) -> Layout {
        let keys: Vec<String> = record.iter().map(header_key).collect();
        let mut best: [Option<(usize, usize)>; FIELD_COUNT] = [None; FIELD_COUNT];
        for (col, key) in keys.iter().enumerate() {
            if let Some((field, rank)) = lookup_header(key) {
                let slot = &mut best[field.index()];
                if slot.is_none_or(|(best_rank, _)| rank < best_rank) {
                    *slot = Some((rank, col));
                }
            }
        }
        let cols = best.map(|b| b.map(|(_, col)| col));
        let mut by_column = vec![None; keys.len()];
        for field in ALL_FIELDS {
            if let Some(col) = cols[field.index()] {
                by_column[col] = Some(field);
            }
        }
        Layout {
            cols,
            by_column,
            names: record.iter().map(|c| c.trim().to_owned()).collect(),
            keys,
        }
    }

    fn col(&self, field: Field) -> Option<usize> {
        self.cols[field.index()]
    }

    fn required_found(&self) -> usize {
        REQUIRED.iter().filter(|f| self.col(**f).is_some()).count()
    }

    fn column_name(&self, field: Field) -> &str {
        self.col(field)
            .and_then(|c| self.names.get(c))
            .map_or(field.name(), String::as_str)
    }

    fn cell<'r>(&self, record: &'r csv::StringRecord, field: Field) -> Option<&'r str> {
        self.col(field).and_then(|c| non_empty(record.get(c)))
    }

    fn is_repeated_header(&self, record: &csv::StringRecord) -> bool {
        REQUIRED.iter().all(|&field| {
            self.col(field).is_some_and(|c| {
                record.get(c).map(header_key).as_deref() == self.keys.get(c).map(String::as_str)
            })
        })
    }
}

fn non_empty(cell: Option<&str>) -> Option<&str> {
    cell.map(str::trim).filter(|s| !s.is_empty())
}

/// Parses one spend file held in memory. See the module documentation for the rules; this
/// collects what [`SpendReader`] yields.
pub fn parse_spend(bytes: &[u8]) -> Result<SpendFile, SpendError> {
    let mut reader = SpendReader::new(bytes)?;
    let mut file = SpendFile {
        encoding: reader.encoding(),
        header_line: reader.header_line(),
        columns: reader.columns().to_vec(),
        rows: Vec::new(),
        skipped: Vec::new(),
        rejected: Vec::new(),
    };
    while let Some(record) = reader.next_record()? {
        match record {
            SpendRecord::Row(row) => file.rows.push(*row),
            SpendRecord::Skipped(skip) => file.skipped.push(skip),
            SpendRecord::Rejected(reject) => file.rejected.push(reject),
        }
    }
    file.encoding = reader.encoding();
    Ok(file)
}

/// One data record of a spend file, as [`SpendReader`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendRecord {
    Row(Box<SpendRow>),
    Skipped(SkippedRow),
    Rejected(RejectedRow),
}

/// Reads a spend file record by record from any reader, in bounded memory: the encoding and
/// header come from the start of the file ([`StreamDecoder`], [`HEADER_SEARCH_RECORDS`]), then
/// each [`SpendReader::next_record`] decodes and classifies one more record. The one thing that
/// grows with the file is the set of row keys seen (16 bytes a row), which numbers repeats
/// (see the module documentation); a real monthly file has thousands of rows.
pub struct SpendReader<R: Read> {
    reader: csv::Reader<StreamDecoder<R>>,
    record: csv::StringRecord,
    layout: Layout,
    header_line: u64,
    columns: Vec<(String, Option<&'static str>)>,
    /// The first 128 bits of every bare key hash seen in this file.
    seen: HashSet<u128>,
    /// How often a key seen more than once has been seen (rare: split lines).
    repeats: HashMap<u128, u32>,
}

impl<R: Read> SpendReader<R> {
    /// Reads the start of the file and finds its header; errors are about the file as a whole.
    pub fn new(source: R) -> Result<Self, SpendError> {
        let decoder = StreamDecoder::new(source).map_err(|e| SpendError::Csv {
            line: 0,
            message: e.to_string(),
        })?;
        let head = decoder.head();
        if decoder.prefix_is_whole() && head.trim().is_empty() {
            return Err(SpendError::Empty);
        }
        // The prefix's raw bytes are gone; what the sniffer looks for is ASCII, which reads
        // the same decoded.
        sniff_not_csv(head.as_bytes())?;
        let first_line = first_line(head);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(decoder);
        let mut record = csv::StringRecord::new();

        let mut searched = 0;
        let (layout, header_line) = loop {
            if !read_record(&mut reader, &mut record)? || searched == HEADER_SEARCH_RECORDS {
                let (first_line_number, first_line) = first_line;
                return Err(SpendError::NoHeader {
                    searched,
                    first_line_number,
                    first_line,
                });
            }
            searched += 1;
            let line = line_of(&mut reader, &record);
            if is_blank(&record) {
                continue;
            }
            let layout = Layout::from_record(&record);
            if layout.required_found() >= 2 {
                break (layout, line);
            }
        };
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|f| layout.col(**f).is_none())
            .map(|f| f.describe().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(SpendError::MissingColumn {
                line: header_line,
                missing,
                headers: layout.names,
            });
        }
        let columns = record
            .iter()
            .zip(&layout.by_column)
            .map(|(name, field)| (name.to_owned(), field.map(Field::name)))
            .collect();
        Ok(SpendReader {
            reader,
            record,
            layout,
            header_line,
            columns,
            seen: HashSet::new(),
            repeats: HashMap::new(),
        })
    }

    /// The file's encoding as read so far: a late non-UTF-8 byte turns it to Windows-1252.
    pub fn encoding(&self) -> Encoding {
        self.reader.get_ref().encoding()
    }

    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    /// Every header cell as written, with the field it was mapped to (see [`SYNONYMS`]).
    pub fn columns(&self) -> &[(String, Option<&'static str>)] {
        &self.columns
    }

    /// The next data record, `None` at the end of the file; an error is a file that stops
    /// being readable as CSV.
    pub fn next_record(&mut self) -> Result<Option<SpendRecord>, SpendError> {
        if !read_record(&mut self.reader, &mut self.record)? {
            return Ok(None);
        }
        let line = line_of(&mut self.reader, &self.record);
        Ok(Some(match classify(&self.layout, &self.record, line) {
            Outcome::Row(mut row) => {
                let key = u128::from_str_radix(&row.row_hash[..32], 16).unwrap_or_default();
                if !self.seen.insert(key) {
                    let repeats = self.repeats.entry(key).or_insert(0);
                    *repeats += 1;
                    row.row_hash = repeat_hash(&row.row_hash, *repeats);
                }
                SpendRecord::Row(row)
            }
            Outcome::Skipped(reason) => SpendRecord::Skipped(SkippedRow {
                line,
                reason: format!("line {line}: {reason}"),
            }),
            Outcome::Rejected(reason) => SpendRecord::Rejected(RejectedRow {
                line,
                reason: format!("line {line}: {reason}"),
            }),
        }))
    }
}

fn line_of<R: Read>(reader: &mut csv::Reader<StreamDecoder<R>>, record: &csv::StringRecord) -> u64 {
    let byte = record.position().map_or(0, csv::Position::byte);
    reader.get_mut().line_at(byte)
}

fn read_record<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::StringRecord,
) -> Result<bool, SpendError> {
    reader.read_record(record).map_err(|e| SpendError::Csv {
        line: e.position().map_or(0, csv::Position::line),
        message: e.to_string(),
    })
}

fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|c| c.trim().is_empty())
}

/// The first non-blank line of the text (number and up to 120 characters), for
/// [`SpendError::NoHeader`].
fn first_line(text: &str) -> (u64, String) {
    let (index, first) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .unwrap_or((0, ""));
    let mut first_line: String = first.trim().chars().take(120).collect();
    if first.trim().chars().count() > 120 {
        first_line.push('…');
    }
    (index as u64 + 1, first_line)
}

/// Refuses the documents councils most often serve in place of a CSV, which would otherwise
/// surface as a confusing "no header row" error.
fn sniff_not_csv(bytes: &[u8]) -> Result<(), SpendError> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.starts_with(b"PK\x03\x04") {
        return Err(SpendError::NotCsv(
            "it is a ZIP archive (an .xlsx or .ods workbook?)".into(),
        ));
    }
    if head.starts_with(b"%PDF") {
        return Err(SpendError::NotCsv("it is a PDF document".into()));
    }
    if head.contains(&0) {
        return Err(SpendError::NotCsv(
            "it contains NUL bytes (a binary file such as an .xls workbook?)".into(),
        ));
    }
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = start.trim_ascii_start();
    let lower: Vec<u8> = start.iter().take(256).map(u8::to_ascii_lowercase).collect();
    let markup = [&b"<!doctype"[..], b"<html", b"<?xml", b"<head", b"<body"];
    if markup.iter().any(|m| lower.starts_with(m)) {
        return Err(SpendError::NotCsv(
            "it is an HTML or XML page (an error or landing page?)".into(),
        ));
    }
    if start.starts_with(b"{") {
        return Err(SpendError::NotCsv("it is a JSON document".into()));
    }
    Ok(())
}

enum Outcome {
    Row(Box<SpendRow>),
    Skipped(String),
    Rejected(String),
}

fn classify(layout: &Layout, record: &csv::StringRecord, line: u64) -> Outcome {
    if is_blank(record) {
        return Outcome::Skipped("blank row".into());
    }
    if layout.is_repeated_header(record) {
        return Outcome::Skipped("repeated header row".into());
    }
    let date_text = layout.cell(record, Field::Date);
    let amount_text = layout.cell(record, Field::Amount);
    let supplier_text = layout.cell(record, Field::SupplierName);
    if date_text.is_none() && amount_text.is_none() && supplier_text.is_none() {
        return Outcome::Skipped("no date, amount or supplier".into());
    }
    let date = date_text.map(parse_date);
    // The label may sit in the date column itself (`Total,,£1,000.00`), so a date that does not
    // parse does not rule a total row out; a real date does, since suppliers can be called
    // "Total" something.
    if date.is_none_or(|d| d.is_none())
        && let Some(label) = record.iter().map(str::trim).find(|c| is_total_label(c))
    {
        return Outcome::Skipped(format!("total row (`{label}`)"));
    }
    if let (None, None, Some(amount)) = (date_text, supplier_text, amount_text) {
        return Outcome::Skipped(format!(
            "total row (amount `{amount}` with no date or supplier)"
        ));
    }

    let date = match (date_text, date.flatten()) {
        (None, _) => Err(format!(
            "date is empty (column {})",
            layout.column_name(Field::Date)
        )),
        (Some(_), Some(date)) => Ok(date),
        (Some(text), None) => Err(format!(
            "date `{text}` is not a date (column {})",
            layout.column_name(Field::Date)
        )),
    };
    let amount = match amount_text {
        None => Err(format!(
            "amount is empty (column {})",
            layout.column_name(Field::Amount)
        )),
        Some(text) => parse_amount(text).map_err(|problem| {
            format!(
                "amount `{text}` {problem} (column {})",
                layout.column_name(Field::Amount)
            )
        }),
    };
    let (date, amount_pence) = match (date, amount) {
        (Ok(date), Ok(amount)) => (date, amount),
        (Err(d), Err(a)) => return Outcome::Rejected(format!("{d}; {a}")),
        (Err(e), _) | (_, Err(e)) => return Outcome::Rejected(e),
    };

    let individual = layout
        .cell(record, Field::CreditorType)
        .is_some_and(is_individual_creditor_type);
    let supplier_redacted = individual || supplier_text.is_some_and(is_redaction_marker);
    let text = |field| layout.cell(record, field).map(str::to_owned);
    let mut row = SpendRow {
        line,
        body_name: text(Field::BodyName),
        body_code: text(Field::BodyCode),
        date,
        transaction_number: text(Field::TransactionNumber),
        invoice_number: layout
            .cell(record, Field::InvoiceNumber)
            .filter(|c| !is_redaction_marker(c))
            .map(str::to_owned),
        amount_pence,
        supplier_name: supplier_text
            .filter(|_| !supplier_redacted)
            .map(str::to_owned),
        supplier_redacted,
        supplier_id: text(Field::SupplierId),
        vat_number: text(Field::VatNumber),
        expense_area: text(Field::ExpenseArea),
        expense_type: text(Field::ExpenseType),
        expense_code: text(Field::ExpenseCode),
        description: text(Field::Description),
        row_hash: String::new(),
    };
    row.row_hash = key_hash(&row);
    Outcome::Row(Box::new(row))
}

const HASH_SEPARATOR: char = '\u{1F}';

fn key_hash(row: &SpendRow) -> String {
    use std::fmt::Write;
    // Built in one buffer: this runs for every row of every file.
    let mut key = String::with_capacity(160);
    key.push_str("ocreg-spend-v1");
    key.push(HASH_SEPARATOR);
    let _ = write!(key, "{}", row.date.format("%Y-%m-%d"));
    key.push(HASH_SEPARATOR);
    let _ = write!(key, "{}", row.amount_pence);
    push_hash_text(&mut key, row.transaction_number.as_deref());
    if row.supplier_redacted {
        key.push(HASH_SEPARATOR);
        key.push_str("[REDACTED]");
    } else {
        push_hash_text(&mut key, row.supplier_name.as_deref());
    }
    push_hash_text(&mut key, row.body_code.as_deref());
    push_hash_text(&mut key, row.body_name.as_deref());
    push_hash_text(&mut key, row.expense_area.as_deref());
    push_hash_text(&mut key, row.expense_type.as_deref());
    hex_sha256(key.as_bytes())
}

/// Appends the separator and the hashed form of a text field: whitespace runs collapsed to one
/// space, upper-cased (`str::to_uppercase` maps character by character, as here).
fn push_hash_text(key: &mut String, value: Option<&str>) {
    key.push(HASH_SEPARATOR);
    for (i, word) in value.unwrap_or_default().split_whitespace().enumerate() {
        if i > 0 {
            key.push(' ');
        }
        if word.is_ascii() {
            key.extend(word.bytes().map(|b| char::from(b.to_ascii_uppercase())));
        } else {
            key.extend(word.chars().flat_map(char::to_uppercase));
        }
    }
}

/// The hash of the n-th repeat is derived from the first one's, which already commits to the
/// whole key, so the key string need not be kept.
fn repeat_hash(first: &str, n: u32) -> String {
    hex_sha256(format!("{first}{HASH_SEPARATOR}#{n}").as_bytes())
}

fn is_total_label(cell: &str) -> bool {
    let key = header_key(cell);
    matches!(
        key.as_str(),
        "total"
            | "totals"
            | "grandtotal"
            | "subtotal"
            | "totalspend"
            | "totalexpenditure"
            | "totalamount"
            | "totalpayments"
            | "overalltotal"
    ) || key.starts_with("totalfor")
        || key.starts_with("grandtotal")
}

/// Lower-cased words of a cell, punctuation (any dash, brackets, stars) acting as a separator.
fn words(cell: &str) -> Vec<String> {
    cell.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a supplier or invoice cell is a redaction marker rather than a name.
///
/// Matches whole words or the whole cell, never substrings: a real supplier may well be
/// called "Redactive" or "Individual Care Ltd", while a marker is a phrase standing alone.
pub fn is_redaction_marker(cell: &str) -> bool {
    let cell = cell.trim();
    if !cell.is_empty() && cell.chars().all(|c| matches!(c, '*' | '#')) {
        return true;
    }
    if cell.chars().count() >= 3 && cell.chars().all(|c| matches!(c, 'x' | 'X')) {
        return true;
    }
    let words = words(cell);
    if words
        .iter()
        .any(|w| matches!(w.as_str(), "redacted" | "redaction" | "withheld"))
    {
        return true;
    }
    matches!(
        words.join(" ").as_str(),
        "personal data"
            | "personal information"
            | "personal details"
            | "personal"
            | "individual"
            | "individuals"
            | "an individual"
            | "private individual"
            | "private individuals"
            | "private person"
            | "data protection"
            | "data protection act"
            | "dpa"
            | "gdpr"
            | "not disclosed"
            | "undisclosed"
            | "not published"
            | "removed"
            | "confidential"
            | "commercial in confidence"
            | "commercially confidential"
            | "commercially sensitive"
    )
}

/// Creditor-type values (Devon: `INDV`) meaning the payee is a private individual, whose name
/// the register must not republish even when the council did.
fn is_individual_creditor_type(cell: &str) -> bool {
    matches!(
        words(cell).join(" ").as_str(),
        "indv" | "indiv" | "individual" | "individuals" | "private individual" | "person"
    )
}

/// Reads a spend-file date; see the module documentation for the accepted forms.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date_part = strip_time(text)?;
    let (year, month, day) = numeric_date(&date_part).or_else(|| named_month_date(&date_part))?;
    NaiveDate::from_ymd_opt(year, month, day)
}

fn is_time(text: &str, iso_suffix: bool) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.contains(':')
        && text.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(c, ':' | '.')
                || (iso_suffix && matches!(c, 'Z' | 'z' | '+' | '-'))
        })
}

/// Removes a trailing time of day, which spreadsheet exports add as ` 00:00:00`.
fn strip_time(text: &str) -> Option<String> {
    if let Some((date, time)) = text.split_once(['T', 't'])
        && date.len() == 10
        && date.as_bytes()[4] == b'-'
    {
        return is_time(time, true).then(|| date.to_owned());
    }
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if words.len() >= 3
        && matches!(
            words[words.len() - 1].to_ascii_lowercase().as_str(),
            "am" | "pm"
        )
        && is_time(words[words.len() - 2], false)
    {
        words.truncate(words.len() - 2);
    } else if words.len() >= 2 && is_time(words[words.len() - 1], false) {
        words.pop();
    }
    Some(words.join(" "))
}

fn numeric_part(text: &str, lengths: &[usize]) -> Option<u32> {
    (lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn year_part(text: &str) -> Option<i32> {
    let year = numeric_part(text, &[2, 4])?;
    let year = i32::try_from(year).ok()?;
    Some(if text.len() == 2 { 2000 + year } else { year })
}

fn numeric_date(text: &str) -> Option<(i32, u32, u32)> {
    let separator = text.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, '/' | '-' | '.') {
        return None;
    }
    let mut parts = text.split(separator);
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if a.len() == 4 {
        let year = i32::try_from(numeric_part(a, &[4])?).ok()?;
        Some((year, numeric_part(b, &[1, 2])?, numeric_part(c, &[1, 2])?))
    } else {
        Some((
            year_part(c)?,
            numeric_part(b, &[1, 2])?,
            numeric_part(a, &[1, 2])?,
        ))
    }
}

fn named_month_date(text: &str) -> Option<(i32, u32, u32)> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let mut parts = text.split([' ', '-', '/']).filter(|p| !p.is_empty());
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let month = month.to_lowercase();
    let index = MONTHS.iter().position(|full| {
        month.len() >= 3
            && (*full == month || full[..3] == month || (month == "sept" && *full == "september"))
    })?;
    Some((
        year_part(year)?,
        index as u32 + 1,
        numeric_part(day, &[1, 2])?,
    ))
}

/// Reads a spend-file amount as exact integer pence; see the module documentation.
///
/// The error is the phrase that completes "amount `…` …".
pub fn parse_amount(text: &str) -> Result<i64, &'static str> {
    const NOT_A_NUMBER: &str = "is not a number";
    let (negative, number) = strip_amount_decorations(text).ok_or(NOT_A_NUMBER)?;
    // Exponent forms are spreadsheet output, which never groups digits, so a cell with both is
    // something else.
    if number.contains(',') && number.contains(['e', 'E']) {
        return Err(NOT_A_NUMBER);
    }
    decimal_pence(negative, number).map_err(|e| match e {
        PenceError::NotANumber => NOT_A_NUMBER,
        PenceError::OutOfRange => "is out of range",
    })
}

/// Strips currency, padding, quotes and sign notation; returns whether the amount is negative
/// and the bare number, or `None` when the sign notation contradicts itself (`-(12)`).
fn strip_amount_decorations(text: &str) -> Option<(bool, &str)> {
    let mut rest = text;
    let mut negations = 0;
    loop {
        let before = rest.len();
        rest = rest.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        if let Some(r) = rest.strip_prefix('£') {
            rest = r;
        } else if let Some(r) = strip_prefix_ignore_case(rest, "GBP") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix(['-', '\u{2212}']) {
            rest = r;
            negations += 1;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            rest = r;
            negations += 1;
        } else if let Some(r) = strip_suffix_ignore_case(rest, "CR") {
            rest = r;
            negations += 1;
        } else if let Some(r) = strip_suffix_ignore_case(rest, "DR") {
            rest = r;
        } else if let Some(r) = rest.strip_suffix(['-', '\u{2212}']) {
            rest = r;
            negations += 1;
        }
        if rest.len() == before {
            break;
        }
    }
    (negations <= 1).then_some((negations == 1, rest))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let tail = text.get(split..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..split])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_exact_pence() {
        let cases = [
            ("712.27", 71227),
            ("1455", 145500),
            ("-1062.59", -106259),
            (" 6,390.00 ", 639000),
            ("\" 144,020.00 \"", 14402000),
            ("£1,234.5", 123450),
            ("GBP 10", 1000),
            ("-£12.00", -1200),
            ("£-12.00", -1200),
            ("(1,234.50)", -123450),
            ("12.00 CR", -1200),
            ("12.00cr", -1200),
            ("12.00 DR", 1200),
            ("12.00-", -1200),
            ("+3.10", 310),
            (".5", 50),
            ("7.", 700),
            ("73423.70999999999", 7342371),
            ("-571.7099999999999", -57171),
            ("-509.93999999999994", -50994),
            ("0.005", 1),
            ("-0.005", -1),
            ("0.0049", 0),
            ("6.82121E-13", 0),
            ("-5.68434E-13", 0),
            ("1.5E+3", 150000),
            ("1.5e3", 150000),
            ("2E-2", 2),
            ("5E-3", 1),
            ("0E+9999", 0),
        ];
        for (text, pence) in cases {
            assert_eq!(parse_amount(text), Ok(pence), "{text:?}");
        }
    }

    #[test]
    fn amounts_that_are_not_numbers_are_errors() {
        for text in [
            "",
            "abc",
            "12,5",
            "1,23.00",
            "1,2345",
            "1.2.3",
            "1.5E",
            "1,000E3",
            "-(12.00)",
            "--5",
            "12 34",
            "£",
            "1.00 CR CR",
            ".",
            "12.3,4",
        ] {
            assert_eq!(parse_amount(text), Err("is not a number"), "{text:?}");
        }
        assert_eq!(parse_amount("1E+30"), Err("is out of range"));
        assert_eq!(parse_amount("99999999999999999999"), Err("is out of range"));
    }

    #[test]
    fn date_forms() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let cases = [
            ("01/12/2011", d(2011, 12, 1)),
            ("1/2/2019", d(2019, 2, 1)),
            ("05/03/19", d(2019, 3, 5)),
            ("2019-05-01", d(2019, 5, 1)),
            ("2019-05-01 00:00:00", d(2019, 5, 1)),
            ("2019/05/31", d(2019, 5, 31)),
            ("01/05/2019 13:45", d(2019, 5, 1)),
            ("01/05/2019 1:45:00 PM", d(2019, 5, 1)),
            ("2019-05-01T00:00:00Z", d(2019, 5, 1)),
            ("2019-05-01T00:00:00.000+01:00", d(2019, 5, 1)),
            ("31-12-2020", d(2020, 12, 31)),
            ("31.12.2020", d(2020, 12, 31)),
            ("03-OCT-2019", d(2019, 10, 3)),
            ("3 oct 2019", d(2019, 10, 3)),
            ("3 October 2019", d(2019, 10, 3)),
            ("3 Sept 2019", d(2019, 9, 3)),
            ("03-Oct-19", d(2019, 10, 3)),
        ];
        for (text, date) in cases {
            assert_eq!(parse_date(text), date, "{text:?}");
            assert!(date.is_some(), "{text:?}");
        }
        for text in [
            "31/02/2019",
            "05/13/2019",
            "2019-13-01",
            "20190501",
            "01/05/019",
            "3 Octo 2019",
            "3 Oc 2019",
            "2019-05-01 garbage",
            "2019-05-01Tnoon",
            "yesterday",
            "01/05/2019/1",
            "43586",
        ] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn redaction_markers_match_words_not_substrings() {
        for marker in [
            "REDACTED UNDER DP ACT",
            "Redacted – personal data",
            "Redacted - personal data",
            "Redacted — personal data",
            "redacted personal data",
            "REDACTED",
            "[redacted]",
            "Personal data",
            "Personal Information",
            "Withheld",
            "Name withheld",
            "Individual",
            "Private individual",
            "*****",
            "XXXX",
        ] {
            assert!(is_redaction_marker(marker), "{marker:?}");
        }
        for supplier in [
            "REDACTIVE PUBLISHING LIMITED",
            "Individual Care Services Ltd",
            "Personal Data Solutions Ltd",
            "UNREDACTED MEDIA",
            "XL Hire",
            "",
        ] {
            assert!(!is_redaction_marker(supplier), "{supplier:?}");
        }
    }

    #[test]
    fn synonym_table_is_unambiguous_and_aligned() {
        let mut seen = std::collections::HashSet::new();
        for (_, synonyms) in SYNONYMS {
            for s in *synonyms {
                assert_eq!(header_key(s), *s, "{s} is not in header_key form");
                assert!(seen.insert(*s), "{s} maps to two fields");
            }
        }
        for field in ALL_FIELDS {
            assert_eq!(SYNONYMS[field.index()].0, field.name());
        }
        assert_eq!(SYNONYMS.len(), FIELD_COUNT);
        assert_eq!(Field::CreditorType.name(), "creditor_type");
        assert_eq!(Field::SupplierName.name(), "supplier_name");
    }

    #[test]
    fn header_keys_ignore_padding_case_and_punctuation() {
        for (cell, key) in [
            (" Amount ", "amount"),
            ("Amount (£)", "amount"),
            ("amount (Â£)", "amount"),
            ("Net Amount £", "netamount"),
            ("NetAmount", "netamount"),
            ("SumOfAmount_Exc_VAT", "sumofamountexcvat"),
            ("Name of  Body", "nameofbody"),
        ] {
            assert_eq!(header_key(cell), key);
        }
    }

    #[test]
    fn row_hash_is_hex_sha256_of_the_documented_key() {
        let row = SpendRow {
            line: 2,
            body_name: Some("Devon  County Council".into()),
            body_code: Some("18".into()),
            date: NaiveDate::from_ymd_opt(2019, 5, 1).unwrap_or_default(),
            transaction_number: Some("t1".into()),
            invoice_number: Some("not hashed".into()),
            amount_pence: -57171,
            supplier_name: Some("Acme Ltd".into()),
            supplier_redacted: false,
            supplier_id: None,
            vat_number: None,
            expense_area: None,
            expense_type: Some("IT".into()),
            expense_code: None,
            description: None,
            row_hash: String::new(),
        };
        let key = "ocreg-spend-v1\u{1f}2019-05-01\u{1f}-57171\u{1f}T1\u{1f}ACME LTD\u{1f}18\
                   \u{1f}DEVON COUNTY COUNCIL\u{1f}\u{1f}IT";
        assert_eq!(key_hash(&row), hex_sha256(key.as_bytes()));
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
