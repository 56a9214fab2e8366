//! Import of the registration list: CSV or XLSX in, checked rows out.
//!
//! The parser never touches the database. [`parse`] turns the file into
//! [`ImportRow`]s plus [`RowError`]s; the caller shows the errors, refuses the
//! file while there are any, and otherwise applies all rows in one
//! transaction. [`preview`] reads only the head of the file for the
//! column-mapping screen.
//!
//! What is understood:
//! * XLSX (detected by the zip magic `PK\x03\x04`, read with calamine): the
//!   chosen sheet, or the first visible one; line numbers are the sheet's row
//!   numbers as Excel shows them.
//! * CSV: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1251 (anything
//!   that is not valid UTF-8); `,`, `;` or tab as the delimiter, sniffed from
//!   the header line (an Excel `sep=;` first line is honoured); quoted fields
//!   may hold delimiters and line breaks. Line numbers are physical lines of
//!   the file, so a quoted line break moves the next rows down as an editor
//!   would show them.
//! * The header row is the first non-empty row with a name column among the
//!   first [`HEADER_SEARCH_ROWS`] non-empty rows (title lines above the table
//!   are skipped); headers are matched in Russian and English ignoring case,
//!   spaces and punctuation. [`ImportOptions::mapping`] overrides detection.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, DataRef, Reader, SheetType, SheetVisible, Xlsx};
use chrono::{Datelike, NaiveDate};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1251};
use serde::{Deserialize, Serialize};

use checkin_core::model::Category;
pub use checkin_core::roster::{
    CategoryValue, Field, FileFormat, ImportProgress, ImportRow, ParsedFile, RowError,
};

/// How many non-empty rows at the top are searched for the header row.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The progress callback is called after every this many rows (and at the end).
pub const PROGRESS_EVERY: usize = 1000;

/// The category given to rows whose category cell is empty.
pub const DEFAULT_CATEGORY: &str = "participant";

/// Choices the coordinator made on the import screen; all optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Explicit mapping: column header text (as in the file) or 0-based column
    /// index as a string → field. Overrides detection for those columns (and
    /// takes the field away from any column detection gave it to).
    pub mapping: Vec<(String, Field)>,
    /// `"utf-8"` or `"windows-1251"` (any WHATWG label works, e.g. `cp1251`,
    /// `koi8-r`, `utf-16le`); `None` detects: BOM, else valid UTF-8, else
    /// Windows-1251.
    pub encoding: Option<String>,
    /// CSV delimiter; `None` sniffs `,`, `;` or tab from the header line.
    pub delimiter: Option<u8>,
    /// XLSX sheet name; `None` takes the first visible sheet.
    pub sheet: Option<String>,
    /// Category values of the file → an existing category (code, Russian or
    /// English name), e.g. `("СМИ", "press")`. Case and ё/е do not matter.
    /// Values neither known nor mapped become new categories.
    #[serde(default)]
    pub category_map: Vec<(String, String)>,
}

/// What [`preview`] shows on the import screen.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub format: FileFormat,
    pub encoding: Option<&'static str>,
    pub delimiter: Option<char>,
    /// XLSX only: the sheet shown.
    pub sheet: Option<String>,
    /// XLSX only: every sheet of the workbook, to choose from.
    pub sheets: Vec<String>,
    pub header_line: usize,
    pub headers: Vec<String>,
    /// Detected (or mapped) field of each column.
    pub columns: Vec<Option<Field>>,
    /// False when no column holds names: [`parse`] would refuse the file
    /// until a mapping says where the names are.
    pub name_found: bool,
    /// The first data rows, cells trimmed, as many cells as the row has.
    pub rows: Vec<Vec<String>>,
    /// The line (CSV) or row (XLSX) number of each of `rows`.
    pub lines: Vec<usize>,
}

/// A problem with the file as a whole; nothing can be imported from it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty: it has no header row and no people; check that you picked the right file")]
    Empty,
    #[error(
        "this file is neither CSV nor XLSX (it holds binary data); export the list from Excel or the registration system as .xlsx or as CSV"
    )]
    NotTabular,
    #[error(
        "this is an old Excel 97-2003 workbook (.xls); open it in Excel and save it as .xlsx or as CSV (UTF-8)"
    )]
    OldExcel,
    #[error("this is an OpenDocument spreadsheet (.ods); open it and save it as .xlsx or as CSV (UTF-8)")]
    Ods,
    #[error(
        "the XLSX workbook could not be read ({0}); open it in Excel and save it again as .xlsx, or export the sheet as CSV"
    )]
    Xlsx(String),
    #[error(
        "the CSV file could not be read ({0}); open it in a spreadsheet program and export it again as CSV"
    )]
    Csv(String),
    #[error("unknown encoding \"{0}\": use utf-8 or windows-1251, or leave the encoding unset to detect it")]
    UnknownEncoding(String),
    #[error(
        "the file is not valid UTF-8 (the first bad byte is on line {line}); choose the windows-1251 encoding, or leave the encoding unset to detect it"
    )]
    NotUtf8 { line: usize },
    #[error(
        "{0:?} cannot be the delimiter; use ',', ';' or a tab, or leave the delimiter unset to detect it"
    )]
    BadDelimiter(char),
    #[error("the workbook has no sheet \"{name}\"; its sheets are {sheets:?}")]
    NoSuchSheet { name: String, sheets: Vec<String> },
    #[error(
        "no column with people's names: found headers {found:?}; expected ФИО or Фамилия/Имя/Отчество (or Full name / Last name, First name); pass a mapping to say which column holds the name"
    )]
    NoNameColumn { found: Vec<String> },
    #[error(
        "the mapping names the column \"{key}\", but the file has no such column; the headers are {headers:?} (a 0-based column number works too)"
    )]
    UnknownColumn { key: String, headers: Vec<String> },
    #[error("the mapping gives the column \"{column}\" two fields ({first} and {second}); keep one")]
    ColumnMappedTwice {
        column: String,
        first: Field,
        second: Field,
    },
    #[error(
        "the category mapping sends \"{value}\" to \"{target}\", which is not a category of the event; {known}"
    )]
    UnknownMapTarget {
        value: String,
        target: String,
        known: String,
    },
    #[error("the mapping puts {field} in two columns (\"{first}\" and \"{second}\"); keep one column")]
    FieldMappedTwice {
        field: Field,
        first: String,
        second: String,
    },
}

impl ImportError {
    /// Stable error code for UIs and scripts.
    pub fn code(&self) -> &'static str {
        "import"
    }
}

/// Parses a whole registration file. `categories` and `event_days` come from
/// the event; `progress` is called every [`PROGRESS_EVERY`] rows and at the end.
///
/// Detects XLSX by the zip magic `PK\x03\x04`, otherwise CSV.
pub fn parse(
    bytes: &[u8],
    opts: &ImportOptions,
    categories: &[Category],
    event_days: &[NaiveDate],
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ParsedFile, ImportError> {
    match open(bytes, opts)? {
        Opened::Csv(csv) => {
            let mut src = CsvSource::new(&csv.text, csv.delimiter, csv.skip_first_line);
            let body = read_table(&mut src, opts, categories, event_days, progress)?;
            Ok(body.into_parsed(
                FileFormat::Csv,
                Some(csv.encoding),
                Some(char::from(csv.delimiter)),
                None,
            ))
        }
        Opened::Xlsx(x) => {
            let mut src = xlsx_source(&x.cells);
            let body = read_table(&mut src, opts, categories, event_days, progress)?;
            Ok(body.into_parsed(FileFormat::Xlsx, None, None, Some(x.sheet)))
        }
    }
}

/// Reads the header and the first `n` data rows for the import screen. Unlike
/// [`parse`], a file without a recognisable name column is not an error here:
/// `name_found` is false and the coordinator maps the columns by hand.
pub fn preview(bytes: &[u8], opts: &ImportOptions, n: usize) -> Result<Preview, ImportError> {
    match open(bytes, opts)? {
        Opened::Csv(csv) => {
            let mut src = CsvSource::new(&csv.text, csv.delimiter, csv.skip_first_line);
            let mut p = preview_table(&mut src, opts, n)?;
            p.format = FileFormat::Csv;
            p.encoding = Some(csv.encoding);
            p.delimiter = Some(char::from(csv.delimiter));
            Ok(p)
        }
        Opened::Xlsx(x) => {
            let mut src = xlsx_source(&x.cells);
            let mut p = preview_table(&mut src, opts, n)?;
            p.sheet = Some(x.sheet);
            p.sheets = x.sheets;
            Ok(p)
        }
    }
}

/// The field a header names, if it is one of the known headers (Russian or
/// English, ignoring case, spaces and punctuation; a trailing note in
/// parentheses such as "Телефон (мобильный)" is ignored too).
pub fn detect_field(header: &str) -> Option<Field> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    if let Some(f) = lookup_alias(&key) {
        return Some(f);
    }
    let without_parens = strip_parenthesized(header);
    if without_parens.len() != header.len() {
        return lookup_alias(&header_key(&without_parens));
    }
    None
}

// ---------------------------------------------------------------------------
// Header detection and mapping

/// Known headers, already in [`header_key`] form.
const ALIASES: &[(&str, Field)] = &[
    // Full name
    ("фио", Field::FullName),
    ("фамилияимяотчество", Field::FullName),
    ("фамилияимя", Field::FullName),
    ("фамилияиимя", Field::FullName),
    ("имяфамилия", Field::FullName),
    ("имяифамилия", Field::FullName),
    ("полноеимя", Field::FullName),
    ("фиоучастника", Field::FullName),
    ("фиополностью", Field::FullName),
    ("фамилияиимяотчество", Field::FullName),
    ("имяотчествофамилия", Field::FullName),
    ("имяфамилияотчество", Field::FullName),
    ("фамилияимяучастника", Field::FullName),
    ("имяифамилияучастника", Field::FullName),
    ("firstandlastname", Field::FullName),
    ("lastandfirstname", Field::FullName),
    ("nameandsurname", Field::FullName),
    ("surnameandname", Field::FullName),
    ("name", Field::FullName),
    ("fullname", Field::FullName),
    ("participantname", Field::FullName),
    ("attendeename", Field::FullName),
    // Name parts
    ("фамилия", Field::LastName),
    ("lastname", Field::LastName),
    ("surname", Field::LastName),
    ("familyname", Field::LastName),
    ("имя", Field::FirstName),
    ("firstname", Field::FirstName),
    ("givenname", Field::FirstName),
    ("forename", Field::FirstName),
    ("отчество", Field::MiddleName),
    ("middlename", Field::MiddleName),
    ("patronymic", Field::MiddleName),
    // Latin spelling
    ("имялатиницей", Field::LatinName),
    ("фиолатиницей", Field::LatinName),
    ("имянаанглийском", Field::LatinName),
    ("фионаанглийском", Field::LatinName),
    ("латиницей", Field::LatinName),
    ("latinname", Field::LatinName),
    ("nameinlatin", Field::LatinName),
    ("englishname", Field::LatinName),
    ("nameinenglish", Field::LatinName),
    // Organization
    ("организация", Field::Organization),
    ("компания", Field::Organization),
    ("организациякомпания", Field::Organization),
    ("названиеорганизации", Field::Organization),
    ("местоработы", Field::Organization),
    ("organization", Field::Organization),
    ("organisation", Field::Organization),
    ("company", Field::Organization),
    ("companyname", Field::Organization),
    ("employer", Field::Organization),
    ("affiliation", Field::Organization),
    // Position
    ("должность", Field::Position),
    ("position", Field::Position),
    ("title", Field::Position),
    ("jobtitle", Field::Position),
    // Category
    ("категория", Field::Category),
    ("тип", Field::Category),
    ("категорияучастника", Field::Category),
    ("типучастника", Field::Category),
    ("category", Field::Category),
    ("type", Field::Category),
    ("participanttype", Field::Category),
    ("attendeetype", Field::Category),
    // … and the names registration systems give it.
    ("статусучастника", Field::Category),
    ("рольучастника", Field::Category),
    ("роль", Field::Category),
    ("рольнафоруме", Field::Category),
    ("группа", Field::Category),
    ("группаучастников", Field::Category),
    ("типбилета", Field::Category),
    ("категориябилета", Field::Category),
    ("видбилета", Field::Category),
    ("типрегистрации", Field::Category),
    ("категорияучастия", Field::Category),
    ("формаучастия", Field::Category),
    ("tickettype", Field::Category),
    ("ticketcategory", Field::Category),
    ("registrationtype", Field::Category),
    ("participantcategory", Field::Category),
    ("attendeecategory", Field::Category),
    ("role", Field::Category),
    // E-mail
    ("email", Field::Email),
    ("emailaddress", Field::Email),
    ("mail", Field::Email),
    ("элпочта", Field::Email),
    ("электроннаяпочта", Field::Email),
    ("почта", Field::Email),
    ("адресэлектроннойпочты", Field::Email),
    ("емейл", Field::Email),
    ("имейл", Field::Email),
    // Phone
    ("телефон", Field::Phone),
    ("тел", Field::Phone),
    ("мобильный", Field::Phone),
    ("мобильныйтелефон", Field::Phone),
    ("номертелефона", Field::Phone),
    ("контактныйтелефон", Field::Phone),
    ("phone", Field::Phone),
    ("phonenumber", Field::Phone),
    ("mobile", Field::Phone),
    ("mobilephone", Field::Phone),
    ("telephone", Field::Phone),
    ("tel", Field::Phone),
    // Ticket
    ("номербилета", Field::TicketCode),
    ("билет", Field::TicketCode),
    ("билеты", Field::TicketCode),
    ("кодбилета", Field::TicketCode),
    ("номерабилетов", Field::TicketCode),
    ("номерзаказа", Field::TicketCode),
    ("кодзаказа", Field::TicketCode),
    ("штрихкод", Field::TicketCode),
    ("ticket", Field::TicketCode),
    ("tickets", Field::TicketCode),
    ("ticketcode", Field::TicketCode),
    ("ticketnumber", Field::TicketCode),
    ("ticketno", Field::TicketCode),
    ("ticketid", Field::TicketCode),
    ("ordercode", Field::TicketCode),
    ("ordernumber", Field::TicketCode),
    ("barcode", Field::TicketCode),
    // Days
    ("дни", Field::Days),
    ("день", Field::Days),
    ("дниучастия", Field::Days),
    ("днипосещения", Field::Days),
    ("датыучастия", Field::Days),
    ("days", Field::Days),
    ("day", Field::Days),
    ("dates", Field::Days),
    // Notes
    ("примечание", Field::Notes),
    ("примечания", Field::Notes),
    ("комментарий", Field::Notes),
    ("комментарии", Field::Notes),
    ("заметки", Field::Notes),
    ("notes", Field::Notes),
    ("внимание", Field::Attention),
    ("особоевнимание", Field::Attention),
    ("отметка", Field::Attention),
    ("важно", Field::Attention),
    ("флаг", Field::Attention),
    ("attention", Field::Attention),
    ("flag", Field::Attention),
    ("important", Field::Attention),
    ("note", Field::Notes),
    ("comment", Field::Notes),
    ("comments", Field::Notes),
    ("remarks", Field::Notes),
];

fn lookup_alias(key: &str) -> Option<Field> {
    ALIASES.iter().find(|(a, _)| *a == key).map(|&(_, f)| f)
}

/// Lower case, letters and digits only, `ё` → `е`, `№` → `номер`.
fn header_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '№' {
            out.push_str("номер");
            continue;
        }
        for l in c.to_lowercase() {
            if l.is_alphanumeric() {
                out.push(if l == 'ё' { 'е' } else { l });
            }
        }
    }
    out
}

fn strip_parenthesized(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Finds the column a mapping key names: the exact header, else a 0-based
/// index, else a header equal up to case, spaces and punctuation.
fn mapping_column(headers: &[String], key: &str, allow_index: bool) -> Option<usize> {
    let key = key.trim();
    if let Some(i) = headers.iter().position(|h| h == key) {
        return Some(i);
    }
    if allow_index
        && let Ok(i) = key.parse::<usize>()
        && i < headers.len()
    {
        return Some(i);
    }
    let k = header_key(key);
    if k.is_empty() {
        return None;
    }
    headers.iter().position(|h| header_key(h) == k)
}

/// Detected columns with the explicit mapping laid over them. When `strict`
/// is false (while looking for the header row) index keys and keys that name
/// no column are ignored instead of being errors.
fn resolve_columns(
    headers: &[String],
    mapping: &[(String, Field)],
    strict: bool,
) -> Result<Vec<Option<Field>>, ImportError> {
    let mut explicit: Vec<Option<Field>> = vec![None; headers.len()];
    for (key, field) in mapping {
        let Some(col) = mapping_column(headers, key, strict) else {
            if strict {
                return Err(ImportError::UnknownColumn {
                    key: key.clone(),
                    headers: headers.to_vec(),
                });
            }
            continue;
        };
        if let Some(prev) = explicit[col]
            && prev != *field
        {
            return Err(ImportError::ColumnMappedTwice {
                column: headers[col].clone(),
                first: prev,
                second: *field,
            });
        }
        if let Some(other) = explicit
            .iter()
            .enumerate()
            .position(|(i, f)| i != col && *f == Some(*field))
        {
            return Err(ImportError::FieldMappedTwice {
                field: *field,
                first: headers[other].clone(),
                second: headers[col].clone(),
            });
        }
        explicit[col] = Some(*field);
    }
    // Detection fills the other columns; a field goes to the first column
    // that names it, unless the mapping already put it somewhere.
    let mut taken: HashSet<Field> = explicit.iter().flatten().copied().collect();
    Ok(explicit
        .into_iter()
        .zip(headers)
        .map(|(e, h)| e.or_else(|| detect_field(h).filter(|f| taken.insert(*f))))
        .collect())
}

fn has_name(columns: &[Option<Field>]) -> bool {
    columns.iter().flatten().any(|f| f.is_name())
}

fn non_empty_headers(headers: &[String]) -> Vec<String> {
    headers.iter().filter(|h| !h.is_empty()).cloned().collect()
}

// ---------------------------------------------------------------------------
// Opening the file

struct CsvText<'a> {
    text: Cow<'a, str>,
    encoding: &'static str,
    delimiter: u8,
    skip_first_line: bool,
}

struct XlsxSheet {
    /// The sheet's non-empty cells `(row, column, value)`, 0-based, in row
    /// and then column order. Kept sparse: one stray cell far down or right
    /// (say in XFD1048576, a valid cell) must not make a dense table of
    /// billions of cells, which is what the XLSX reader's own `Range` does.
    cells: Vec<(u32, u32, Data)>,
    sheet: String,
    sheets: Vec<String>,
}

/// Columns in an Excel sheet (A to XFD): a cell further right cannot be in a
/// real workbook, and is left out.
const XLSX_COLUMNS: u32 = 16_384;

enum Opened<'a> {
    Csv(CsvText<'a>),
    Xlsx(XlsxSheet),
}

fn open<'a>(bytes: &'a [u8], opts: &ImportOptions) -> Result<Opened<'a>, ImportError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return open_xlsx(bytes, opts).map(Opened::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ImportError::OldExcel);
    }
    let (text, encoding) = decode(bytes, opts)?;
    let text = if text.contains('\r') && !text.contains('\n') {
        // Classic Mac line ends: make line numbers count.
        Cow::Owned(text.replace('\r', "\n"))
    } else {
        text
    };
    let (sniffed, skip_first_line) = sniff_delimiter(&text);
    let delimiter = match opts.delimiter {
        Some(d) if !d.is_ascii() || matches!(d, b'"' | b'\n' | b'\r') => {
            return Err(ImportError::BadDelimiter(char::from(d)));
        }
        Some(d) => d,
        None => sniffed,
    };
    Ok(Opened::Csv(CsvText {
        text,
        encoding,
        delimiter,
        skip_first_line,
    }))
}

fn encoding_name(enc: &'static Encoding) -> &'static str {
    if enc == UTF_8 {
        "utf-8"
    } else if enc == WINDOWS_1251 {
        "windows-1251"
    } else if enc == UTF_16LE {
        "utf-16le"
    } else if enc == UTF_16BE {
        "utf-16be"
    } else {
        enc.name()
    }
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn decode<'a>(bytes: &'a [u8], opts: &ImportOptions) -> Result<(Cow<'a, str>, &'static str), ImportError> {
    if let Some(label) = opts.encoding.as_deref().map(str::trim)
        && !label.is_empty()
    {
        let enc = match label.to_ascii_lowercase().as_str() {
            "1251" | "cp-1251" | "win1251" | "win-1251" => WINDOWS_1251,
            "utf8" => UTF_8,
            l => Encoding::for_label_no_replacement(l.as_bytes())
                .ok_or_else(|| ImportError::UnknownEncoding(label.to_owned()))?,
        };
        let body = match Encoding::for_bom(bytes) {
            Some((bom_enc, len)) if bom_enc == enc => &bytes[len..],
            _ => bytes,
        };
        if enc == UTF_8 {
            return match std::str::from_utf8(body) {
                Ok(s) => Ok((Cow::Borrowed(s), "utf-8")),
                Err(e) => Err(ImportError::NotUtf8 {
                    line: line_of(body, e.valid_up_to()),
                }),
            };
        }
        let (text, _) = enc.decode_without_bom_handling(body);
        return Ok((text, encoding_name(enc)));
    }
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[len..]);
        return Ok((text, encoding_name(enc)));
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(ImportError::NotTabular);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((Cow::Borrowed(s), "utf-8")),
        Err(_) => {
            let (text, _) = WINDOWS_1251.decode_without_bom_handling(bytes);
            Ok((text, "windows-1251"))
        }
    }
}

/// The delimiter of the first non-blank line that has one of `;`, tab, `,`
/// outside quotes (the most frequent wins; ties prefer tab, then `;`), and
/// whether the first line is an Excel `sep=X` hint to skip.
fn sniff_delimiter(text: &str) -> (u8, bool) {
    let first = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
    if first.len() == 5 && first.is_char_boundary(4) && first[..4].eq_ignore_ascii_case("sep=") {
        let d = first.as_bytes()[4];
        if d.is_ascii() && !matches!(d, b'"' | b'\n' | b'\r') {
            return (d, true);
        }
    }
    const CANDIDATES: [u8; 3] = [b'\t', b';', b','];
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut lines = 0;
    let pick = |counts: &[usize; 3]| {
        let mut best = 0;
        for i in 1..3 {
            if counts[i] > counts[best] {
                best = i;
            }
        }
        CANDIDATES[best]
    };
    for &b in text.as_bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if counts.iter().any(|&c| c > 0) {
                    return (pick(&counts), false);
                }
                lines += 1;
                if lines >= 4 * HEADER_SEARCH_ROWS {
                    break;
                }
            }
            _ if in_quotes => {}
            b'\t' => counts[0] += 1,
            b';' => counts[1] += 1,
            b',' => counts[2] += 1,
            _ => {}
        }
    }
    if counts.iter().any(|&c| c > 0) {
        (pick(&counts), false)
    } else {
        (b',', false)
    }
}

fn open_xlsx(bytes: &[u8], opts: &ImportOptions) -> Result<XlsxSheet, ImportError> {
    if bytes.len() > 38 && bytes[30..].starts_with(b"mimetypeapplication/vnd.oasis.opendocument") {
        return Err(ImportError::Ods);
    }
    // The XLSX reader (calamine 0.38) panics on some damaged workbooks, e.g.
    // on a cell reference with too many letters (an arithmetic overflow the
    // `import_xlsx` fuzz target found). A damaged file is a clear error, not
    // a crash of the desk.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_xlsx(bytes, opts))).unwrap_or_else(|_| {
        Err(ImportError::Xlsx(
            "the workbook is damaged (its sheet data could not be read)".into(),
        ))
    })
}

fn read_xlsx(bytes: &[u8], opts: &ImportOptions) -> Result<XlsxSheet, ImportError> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| ImportError::Xlsx(e.to_string()))?;
    let sheets = wb.sheet_names();
    let sheet = match opts.sheet.as_deref().map(str::trim) {
        Some(want) if !want.is_empty() => sheets
            .iter()
            .find(|s| s.as_str() == want)
            .or_else(|| sheets.iter().find(|s| eq_fold(s.trim(), want)))
            .cloned()
            .ok_or_else(|| ImportError::NoSuchSheet {
                name: want.to_owned(),
                sheets: sheets.clone(),
            })?,
        _ => wb
            .sheets_metadata()
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
            .map(|s| s.name.clone())
            .or_else(|| sheets.first().cloned())
            .ok_or(ImportError::Empty)?,
    };
    let mut cells = Vec::new();
    match wb.worksheet_cells_reader(&sheet) {
        Ok(mut reader) => {
            while let Some(cell) = reader.next_cell().map_err(|e| ImportError::Xlsx(e.to_string()))? {
                let (row, col) = cell.get_position();
                if col < XLSX_COLUMNS && !matches!(cell.get_value(), DataRef::Empty) {
                    cells.push((row, col, Data::from(cell.get_value().clone())));
                }
            }
        }
        // A chart sheet holds no table: the file reads as empty.
        Err(calamine::XlsxError::NotAWorksheet(_)) => {}
        Err(e) => return Err(ImportError::Xlsx(e.to_string())),
    }
    cells.sort_by_key(|&(row, col, _)| (row, col));
    Ok(XlsxSheet { cells, sheet, sheets })
}

// ---------------------------------------------------------------------------
// Row sources

/// One row's cells, whatever the file format.
trait Cells {
    fn count(&self) -> usize;
    fn cell(&self, i: usize) -> &str;
    fn is_blank(&self) -> bool {
        (0..self.count()).all(|i| self.cell(i).trim().is_empty())
    }
    fn to_strings(&self) -> Vec<String> {
        (0..self.count()).map(|i| self.cell(i).to_owned()).collect()
    }
}

/// Fields of a record read from text that was valid UTF-8; delimiters and
/// quotes are ASCII, so every field is valid UTF-8 too.
impl Cells for csv::ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }
    fn cell(&self, i: usize) -> &str {
        self.get(i)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
    fn is_blank(&self) -> bool {
        let bytes = self.as_slice();
        if bytes.iter().any(|b| b.is_ascii() && !b.is_ascii_whitespace()) {
            return false;
        }
        (0..self.len()).all(|i| self.cell(i).trim().is_empty())
    }
}

impl Cells for [String] {
    fn count(&self) -> usize {
        self.len()
    }
    fn cell(&self, i: usize) -> &str {
        self.get(i).map_or("", String::as_str)
    }
}

impl Cells for [Cow<'_, str>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn cell(&self, i: usize) -> &str {
        self.get(i).map_or("", |c| c.as_ref())
    }
}

/// A stream of rows with their line numbers.
trait Source {
    type Row: Cells + ?Sized;
    /// Moves to the next row; false at the end.
    fn advance(&mut self) -> Result<bool, ImportError>;
    fn line(&self) -> usize;
    fn row(&self) -> &Self::Row;
    /// Rows read so far (CSV counts blank lines too; an XLSX row without
    /// cells is not a row).
    fn consumed(&self) -> usize;
    /// Rows in the whole file, when known without reading it.
    fn total(&self) -> Option<usize>;
}

struct CsvSource<'a> {
    bytes: &'a [u8],
    rdr: csv::Reader<&'a [u8]>,
    rec: csv::ByteRecord,
    line: usize,
    /// Where the last record ended (byte offset) and the line number there.
    scanned: usize,
    scanned_line: usize,
    consumed: usize,
    skip_first_line: bool,
}

impl<'a> CsvSource<'a> {
    fn new(text: &'a str, delimiter: u8, skip_first_line: bool) -> Self {
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        CsvSource {
            bytes: text.as_bytes(),
            rdr,
            rec: csv::ByteRecord::new(),
            line: 0,
            scanned: 0,
            scanned_line: 1,
            consumed: 0,
            skip_first_line,
        }
    }
}

impl Source for CsvSource<'_> {
    type Row = csv::ByteRecord;

    fn advance(&mut self) -> Result<bool, ImportError> {
        loop {
            if !self
                .rdr
                .read_byte_record(&mut self.rec)
                .map_err(|e| ImportError::Csv(e.to_string()))?
            {
                return Ok(false);
            }
            // The reader's own record position points at blank lines skipped
            // before the record: the record starts at the first byte after
            // the previous one that is not a line break. (Counting back from
            // the record's end miscounts when a quote is never closed: the
            // last line break is then inside the field.)
            let end = (self.rdr.position().byte() as usize).clamp(self.scanned, self.bytes.len());
            let gap = &self.bytes[self.scanned..end];
            let start = self.scanned
                + gap
                    .iter()
                    .position(|b| !matches!(b, b'\r' | b'\n'))
                    .unwrap_or(gap.len());
            self.line = self.scanned_line + line_breaks(self.bytes, self.scanned..start);
            self.scanned_line = self.line + line_breaks(self.bytes, start..end);
            self.scanned = end;
            if self.skip_first_line && self.line == 1 {
                self.skip_first_line = false;
                continue;
            }
            self.skip_first_line = false;
            self.consumed += 1;
            return Ok(true);
        }
    }
    fn line(&self) -> usize {
        self.line
    }
    fn row(&self) -> &csv::ByteRecord {
        &self.rec
    }
    fn consumed(&self) -> usize {
        self.consumed
    }
    fn total(&self) -> Option<usize> {
        None
    }
}

/// Line breaks in `bytes[range]` as the CSV reader sees them: LF, CR LF,
/// and a lone CR (which ends a record too, even in a file with LF lines).
fn line_breaks(bytes: &[u8], range: std::ops::Range<usize>) -> usize {
    range
        .filter(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

struct XlsxSource<'r> {
    cells: &'r [(u32, u32, Data)],
    next: usize,
    row: Vec<Cow<'r, str>>,
    line: usize,
    consumed: usize,
    /// Rows with at least one cell.
    rows: usize,
}

fn xlsx_source(cells: &[(u32, u32, Data)]) -> XlsxSource<'_> {
    XlsxSource {
        cells,
        next: 0,
        row: Vec::new(),
        line: 0,
        consumed: 0,
        rows: cells.chunk_by(|a, b| a.0 == b.0).count(),
    }
}

impl<'r> Source for XlsxSource<'r> {
    type Row = [Cow<'r, str>];

    /// The next row that has cells (rows without any are skipped, as blank
    /// rows are), its cells at their own column indices (0 = A).
    fn advance(&mut self) -> Result<bool, ImportError> {
        let Some(&(row, _, _)) = self.cells.get(self.next) else {
            return Ok(false);
        };
        self.row.clear();
        while let Some((r, col, value)) = self.cells.get(self.next)
            && *r == row
        {
            let col = *col as usize;
            if self.row.len() <= col {
                self.row.resize(col + 1, Cow::Borrowed(""));
            }
            self.row[col] = data_str(value);
            self.next += 1;
        }
        self.line = row as usize + 1;
        self.consumed += 1;
        Ok(true)
    }
    fn line(&self) -> usize {
        self.line
    }
    fn row(&self) -> &[Cow<'r, str>] {
        &self.row
    }
    fn consumed(&self) -> usize {
        self.consumed
    }
    fn total(&self) -> Option<usize> {
        Some(self.rows)
    }
}

/// A cell as the coordinator sees it: whole numbers without `.0`, dates as
/// ISO dates.
fn data_str(d: &Data) -> Cow<'_, str> {
    match d {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cow::Borrowed(s),
        Data::Empty => Cow::Borrowed(""),
        Data::Int(i) => Cow::Owned(i.to_string()),
        Data::Float(f) => Cow::Owned(if f.fract() == 0.0 && f.abs() < 1e15 {
            (*f as i64).to_string()
        } else {
            f.to_string()
        }),
        Data::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            Cow::Owned(if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            })
        }
        Data::DateTime(dt) => Cow::Owned(dt.as_f64().to_string()),
        Data::Error(e) => Cow::Owned(e.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Table reading

struct Head {
    header_line: usize,
    /// Rows consumed from the source up to and including the header row.
    header_consumed: usize,
    headers: Vec<String>,
    columns: Vec<Option<Field>>,
    /// Non-blank rows already read after the header row.
    pending: Vec<(usize, Vec<String>)>,
}

/// Reads up to [`HEADER_SEARCH_ROWS`] non-blank rows and picks the header:
/// the first with a name column (by detection or mapping), else the first.
fn find_head<S: Source>(src: &mut S, mapping: &[(String, Field)]) -> Result<Head, ImportError> {
    let mut rows: Vec<(usize, usize, Vec<String>)> = Vec::new();
    while rows.len() < HEADER_SEARCH_ROWS && src.advance()? {
        if !src.row().is_blank() {
            rows.push((src.line(), src.consumed(), src.row().to_strings()));
        }
    }
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    let at = rows
        .iter()
        .position(|(_, _, cells)| {
            let headers: Vec<String> = cells.iter().map(|h| collapse(h)).collect();
            resolve_columns(&headers, mapping, false).is_ok_and(|c| has_name(&c))
        })
        .unwrap_or(0);
    let mut rest = rows.split_off(at);
    let (header_line, header_consumed, raw_headers) = rest.remove(0);
    let headers: Vec<String> = raw_headers.iter().map(|h| collapse(h)).collect();
    let columns = resolve_columns(&headers, mapping, true)?;
    Ok(Head {
        header_line,
        header_consumed,
        headers,
        columns,
        pending: rest.into_iter().map(|(l, _, c)| (l, c)).collect(),
    })
}

struct TableBody {
    header_line: usize,
    headers: Vec<String>,
    columns: Vec<Option<Field>>,
    rows: Vec<ImportRow>,
    errors: Vec<RowError>,
    new_categories: Vec<CategoryValue>,
    mapped_categories: Vec<CategoryValue>,
}

impl TableBody {
    fn into_parsed(
        self,
        format: FileFormat,
        encoding: Option<&'static str>,
        delimiter: Option<char>,
        sheet: Option<String>,
    ) -> ParsedFile {
        ParsedFile {
            format,
            encoding,
            delimiter,
            sheet,
            header_line: self.header_line,
            headers: self.headers,
            columns: self.columns,
            rows: self.rows,
            errors: self.errors,
            new_categories: self.new_categories,
            mapped_categories: self.mapped_categories,
        }
    }
}

fn read_table<S: Source>(
    src: &mut S,
    opts: &ImportOptions,
    categories: &[Category],
    event_days: &[NaiveDate],
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<TableBody, ImportError> {
    let head = find_head(src, &opts.mapping)?;
    if !has_name(&head.columns) {
        return Err(ImportError::NoNameColumn {
            found: non_empty_headers(&head.headers),
        });
    }
    let rows_total = src.total().map(|t| t.saturating_sub(head.header_consumed));
    let map = category_map(&opts.category_map, categories)?;
    let mut b = Builder::new(&head.headers, &head.columns, categories, event_days);
    b.category_map = map;
    for (line, cells) in &head.pending {
        b.push(*line, cells.as_slice());
    }
    let mut done = src.consumed() - head.header_consumed;
    while src.advance()? {
        b.push(src.line(), src.row());
        done += 1;
        if done.is_multiple_of(PROGRESS_EVERY) {
            progress(ImportProgress {
                rows_done: done,
                rows_total,
            });
        }
    }
    progress(ImportProgress {
        rows_done: done,
        rows_total: Some(done),
    });
    let (rows, errors, new_categories, mapped_categories) = b.finish();
    Ok(TableBody {
        header_line: head.header_line,
        headers: head.headers,
        columns: head.columns,
        rows,
        errors,
        new_categories,
        mapped_categories,
    })
}

/// The category mapping with each target resolved to a code (folded value →
/// code). A target that is not a category refuses the import.
fn category_map(
    map: &[(String, String)],
    categories: &[Category],
) -> Result<Vec<(String, String)>, ImportError> {
    map.iter()
        .map(|(value, target)| {
            let found = categories.iter().find(|c| {
                eq_fold(target.trim(), &c.code)
                    || eq_fold(target.trim(), &c.label_ru)
                    || eq_fold(target.trim(), &c.label_en)
            });
            match found {
                Some(c) => Ok((checkin_core::store::categories::fold(value), c.code.clone())),
                None => Err(ImportError::UnknownMapTarget {
                    value: value.clone(),
                    target: target.clone(),
                    known: known_categories(categories),
                }),
            }
        })
        .collect()
}

/// "use one of: Участник / Participant, …" for messages.
fn known_categories(categories: &[Category]) -> String {
    if categories.is_empty() {
        return "the event has no categories yet; add them with `checkin category add`".into();
    }
    let list: Vec<String> = categories
        .iter()
        .map(|c| {
            let mut s = c.label_ru.clone();
            if !eq_fold(&c.label_en, &c.label_ru) {
                s.push_str(" / ");
                s.push_str(&c.label_en);
            }
            if !eq_fold(&c.code, &c.label_en) && !eq_fold(&c.code, &c.label_ru) {
                s.push_str(" / ");
                s.push_str(&c.code);
            }
            s
        })
        .collect();
    format!("use one of: {}", list.join(", "))
}

fn preview_table<S: Source>(src: &mut S, opts: &ImportOptions, n: usize) -> Result<Preview, ImportError> {
    let head = find_head(src, &opts.mapping)?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (line, cells) in head.pending.into_iter().take(n) {
        lines.push(line);
        rows.push(cells.iter().map(|c| c.trim().to_owned()).collect());
    }
    while rows.len() < n && src.advance()? {
        if !src.row().is_blank() {
            lines.push(src.line());
            let row = src.row();
            rows.push((0..row.count()).map(|i| row.cell(i).trim().to_owned()).collect());
        }
    }
    Ok(Preview {
        format: FileFormat::Xlsx,
        encoding: None,
        delimiter: None,
        sheet: None,
        sheets: Vec::new(),
        header_line: head.header_line,
        name_found: has_name(&head.columns),
        headers: head.headers,
        columns: head.columns,
        rows,
        lines,
    })
}

// ---------------------------------------------------------------------------
// Row checking

/// What a category cell names.
#[derive(Debug, Clone, Copy)]
enum CategoryMatch {
    /// An event category (index into `categories`).
    Known(usize),
    /// Mapped (index into `mapped_categories`).
    Mapped(usize),
    /// A new category (index into `new_categories`).
    New(usize),
}

struct Builder<'a> {
    /// Column index of each field, by `Field as usize`.
    cols: [Option<usize>; 14],
    categories: &'a [Category],
    event_days: &'a [NaiveDate],
    missing_name: String,
    rows: Vec<ImportRow>,
    errors: Vec<RowError>,
    /// Ticket code → first line it was seen on.
    tickets: FastMap<String, usize>,
    /// E-mail of a row without ticket codes → its line.
    ticketless_emails: FastMap<String, usize>,
    /// Category cell text (trimmed) → what it is.
    category_memo: FastMap<String, CategoryMatch>,
    /// Folded value → code, from [`ImportOptions::category_map`].
    category_map: Vec<(String, String)>,
    /// Values neither known nor mapped, and mapped ones, by folded value,
    /// in the order first seen.
    new_categories: Vec<(String, CategoryValue)>,
    mapped_categories: Vec<(String, CategoryValue)>,
    /// Lines whose row was accepted before a later row clashed with it.
    clashed: HashSet<usize>,
    days_hint: Option<String>,
}

impl<'a> Builder<'a> {
    fn new(
        headers: &[String],
        columns: &[Option<Field>],
        categories: &'a [Category],
        event_days: &'a [NaiveDate],
    ) -> Self {
        let mut cols = [None; 14];
        for (i, f) in columns.iter().enumerate() {
            if let Some(f) = f {
                cols[*f as usize] = Some(i);
            }
        }
        let header = |f: Field| cols[f as usize].map(|i| format!("\"{}\"", headers[i]));
        let missing_name = match header(Field::FullName) {
            Some(h) => format!("the name is missing: fill in the {h} column"),
            None => {
                let parts: Vec<String> = [Field::LastName, Field::FirstName]
                    .into_iter()
                    .filter_map(header)
                    .collect();
                format!("the name is missing: fill in {}", parts.join(" and "))
            }
        };
        Builder {
            cols,
            categories,
            event_days,
            missing_name,
            rows: Vec::new(),
            errors: Vec::new(),
            tickets: FastMap::default(),
            ticketless_emails: FastMap::default(),
            category_memo: FastMap::default(),
            category_map: Vec::new(),
            new_categories: Vec::new(),
            mapped_categories: Vec::new(),
            clashed: HashSet::new(),
            days_hint: None,
        }
    }

    fn error(&mut self, line: usize, message: String) {
        self.errors.push(RowError { line, message });
    }

    fn push<C: Cells + ?Sized>(&mut self, line: usize, row: &C) {
        if row.is_blank() {
            return;
        }
        let cols = self.cols;
        let get = |f: Field| cols[f as usize].map_or("", |i| row.cell(i));
        let errors_before = self.errors.len();

        let mut full_name = collapse(get(Field::FullName));
        if full_name.is_empty() {
            for part in [Field::LastName, Field::FirstName, Field::MiddleName] {
                for word in get(part).split_whitespace() {
                    if !full_name.is_empty() {
                        full_name.push(' ');
                    }
                    full_name.push_str(word);
                }
            }
        }
        if full_name.is_empty() {
            let msg = self.missing_name.clone();
            self.error(line, msg);
        }

        let category = match self.match_category(get(Field::Category)) {
            Ok(code) => code,
            Err(msg) => {
                self.error(line, msg);
                String::new()
            }
        };

        let raw_email = get(Field::Email).trim();
        let email = if raw_email.is_empty() {
            None
        } else {
            let e = raw_email.to_lowercase();
            if email_ok(&e) {
                Some(e)
            } else if raw_email.matches('@').count() > 1 {
                self.error(
                    line,
                    format!(
                        "the e-mail cell holds more than one address (\"{raw_email}\"): keep one address per person"
                    ),
                );
                None
            } else {
                self.error(
                    line,
                    format!("e-mail \"{raw_email}\" is not valid: write it like name@example.ru"),
                );
                None
            }
        };

        let mut ticket_codes: Vec<String> = Vec::new();
        for code in get(Field::TicketCode)
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|c| !c.is_empty())
        {
            if !ticket_codes.iter().any(|t| t == code) {
                ticket_codes.push(code.to_owned());
            }
        }

        let days = self.parse_days(line, get(Field::Days));

        // Clashes with earlier rows.
        for code in &ticket_codes {
            if let Some(&first) = self.tickets.get(code.as_str()) {
                self.error(
                    line,
                    format!(
                        "ticket code \"{code}\" is also on line {first}; a ticket code belongs to one person: remove the repeated row or correct the code"
                    ),
                );
                self.error(
                    first,
                    format!(
                        "ticket code \"{code}\" is repeated on line {line}; a ticket code belongs to one person: remove the repeated row or correct the code"
                    ),
                );
                self.clashed.insert(first);
            } else {
                self.tickets.insert(code.clone(), line);
            }
        }
        if ticket_codes.is_empty()
            && let Some(e) = &email
        {
            if let Some(&first) = self.ticketless_emails.get(e.as_str()) {
                let why = "and neither row has a ticket code; if it is the same person, remove one row, otherwise give each row its ticket code";
                self.error(line, format!("e-mail \"{e}\" is also on line {first} {why}"));
                self.error(first, format!("e-mail \"{e}\" is also on line {line} {why}"));
                self.clashed.insert(first);
            } else {
                self.ticketless_emails.insert(e.clone(), line);
            }
        }

        if self.errors.len() != errors_before {
            return;
        }
        let (attention, attention_note) = attention_cell(get(Field::Attention));
        let notes = match (attention_note, non_empty_str(get(Field::Notes).trim())) {
            (Some(a), Some(n)) if a != n => Some(format!("{a}; {n}")),
            (a, n) => a.or(n),
        };
        self.rows.push(ImportRow {
            line,
            full_name,
            latin_name: non_empty(collapse(get(Field::LatinName))),
            organization: non_empty(collapse(get(Field::Organization))),
            position: non_empty(collapse(get(Field::Position))),
            category,
            email,
            phone: non_empty_str(get(Field::Phone).trim()),
            ticket_codes,
            days,
            notes,
            attention,
        });
    }

    #[allow(clippy::type_complexity)]
    fn finish(
        mut self,
    ) -> (
        Vec<ImportRow>,
        Vec<RowError>,
        Vec<CategoryValue>,
        Vec<CategoryValue>,
    ) {
        if !self.clashed.is_empty() {
            let clashed = &self.clashed;
            self.rows.retain(|r| !clashed.contains(&r.line));
        }
        // Stable: a line's own errors stay in the order they were found.
        self.errors.sort_by_key(|e| e.line);
        (
            self.rows,
            self.errors,
            self.new_categories.into_iter().map(|(_, v)| v).collect(),
            self.mapped_categories.into_iter().map(|(_, v)| v).collect(),
        )
    }

    /// The category code of a row's cell: an event category (by code or
    /// name), the mapping's target, or — for a value neither knows — the
    /// value itself, noted as a new category to create.
    fn match_category(&mut self, raw: &str) -> Result<String, String> {
        let v = raw.trim();
        if v.is_empty() {
            return Ok(DEFAULT_CATEGORY.to_owned());
        }
        let found = match self.category_memo.get(v) {
            Some(found) => *found,
            None => {
                let found = self.classify_category(v);
                self.category_memo.insert(v.to_owned(), found);
                found
            }
        };
        Ok(match found {
            CategoryMatch::Known(i) => self.categories[i].code.clone(),
            CategoryMatch::Mapped(i) => {
                self.mapped_categories[i].1.rows += 1;
                self.mapped_categories[i].1.code.clone()
            }
            CategoryMatch::New(i) => {
                self.new_categories[i].1.rows += 1;
                self.new_categories[i].1.value.clone()
            }
        })
    }

    fn classify_category(&mut self, v: &str) -> CategoryMatch {
        if let Some(i) = self
            .categories
            .iter()
            .position(|c| eq_fold(v, &c.code) || eq_fold(v, &c.label_ru) || eq_fold(v, &c.label_en))
        {
            return CategoryMatch::Known(i);
        }
        let key = checkin_core::store::categories::fold(v);
        if let Some(code) = self
            .category_map
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| c.clone())
        {
            let i = match self.mapped_categories.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    self.mapped_categories.push((
                        key,
                        CategoryValue {
                            value: v.to_owned(),
                            rows: 0,
                            code,
                        },
                    ));
                    self.mapped_categories.len() - 1
                }
            };
            return CategoryMatch::Mapped(i);
        }
        let i = match self.new_categories.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let taken: Vec<&str> = self
                    .categories
                    .iter()
                    .map(|c| c.code.as_str())
                    .chain(self.new_categories.iter().map(|(_, n)| n.code.as_str()))
                    .collect();
                let code = Category::code_for(v, &taken);
                self.new_categories.push((
                    key,
                    CategoryValue {
                        value: v.to_owned(),
                        rows: 0,
                        code,
                    },
                ));
                self.new_categories.len() - 1
            }
        };
        CategoryMatch::New(i)
    }

    fn days_hint(&mut self) -> String {
        let days = self.event_days;
        self.days_hint
            .get_or_insert_with(|| {
                if days.is_empty() {
                    return "the event has no days set yet".into();
                }
                let list: Vec<String> = days
                    .iter()
                    .enumerate()
                    .map(|(i, d)| format!("{} = {}", i + 1, d.format("%Y-%m-%d")))
                    .collect();
                format!("the event days are {}", list.join(", "))
            })
            .clone()
    }

    fn parse_days(&mut self, line: usize, raw: &str) -> Vec<NaiveDate> {
        let v = raw.trim();
        if v.is_empty()
            || ["все", "all", "все дни", "all days"]
                .iter()
                .any(|a| eq_fold(v, a))
        {
            return Vec::new();
        }
        let mut days = Vec::new();
        for token in v
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            match day_token(token, self.event_days) {
                DayToken::Day(d) if self.event_days.contains(&d) => days.push(d),
                DayToken::Day(d) => {
                    let hint = self.days_hint();
                    self.error(
                        line,
                        format!(
                            "day \"{token}\" ({}) is not an event day; {hint}",
                            d.format("%Y-%m-%d")
                        ),
                    );
                }
                DayToken::NotEventDay => {
                    let hint = self.days_hint();
                    self.error(line, format!("day \"{token}\" is not an event day; {hint}"));
                }
                DayToken::NotADate => self.error(
                    line,
                    format!(
                        "day \"{token}\" is not a date: write days as 2026-06-02, 02.06.2026, 02.06 or day numbers 1, 2 (separated by commas)"
                    ),
                ),
            }
        }
        days.sort_unstable();
        days.dedup();
        days
    }
}

enum DayToken {
    Day(NaiveDate),
    NotEventDay,
    NotADate,
}

/// One entry of the days cell: `2026-06-02`, `02.06.2026`, `02.06.26`,
/// `02.06` (matched to an event day) or a 1-based day number.
fn day_token(token: &str, event_days: &[NaiveDate]) -> DayToken {
    let t = token.trim_end_matches('.');
    let num = |s: &str| -> Option<u32> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return match num(t).map(|n| n as usize) {
            Some(n) if (1..=event_days.len()).contains(&n) => DayToken::Day(event_days[n - 1]),
            _ => DayToken::NotEventDay,
        };
    }
    let date = if t.contains('-') {
        let mut it = t.split('-');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(y), Some(m), Some(d), None) if y.len() == 4 => {
                (|| NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?))()
            }
            _ => None,
        }
    } else {
        let mut it = t.split('.');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(d), Some(m), None, None) => match (num(d), num(m)) {
                (Some(d), Some(m)) => {
                    return match event_days.iter().find(|e| e.day() == d && e.month() == m) {
                        Some(e) => DayToken::Day(*e),
                        None if NaiveDate::from_ymd_opt(2000, m, d).is_some() => DayToken::NotEventDay,
                        None => DayToken::NotADate,
                    };
                }
                _ => None,
            },
            (Some(d), Some(m), Some(y), None) if y.len() == 2 || y.len() == 4 => (|| {
                let y = num(y)? as i32;
                let y = if y < 100 { 2000 + y } else { y };
                NaiveDate::from_ymd_opt(y, num(m)?, num(d)?)
            })(),
            _ => None,
        }
    };
    match date {
        Some(d) => DayToken::Day(d),
        None => DayToken::NotADate,
    }
}

// ---------------------------------------------------------------------------
// Small text helpers

/// A fast non-cryptographic hasher (FxHash) for the per-file duplicate maps;
/// the keys come from the coordinator's own file, so hash flooding is moot.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn finish(&self) -> u64 {
        // The multiplications only carry low bits upwards; fold the high
        // bits back down so that hashbrown's bucket index sees them.
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (h >> 29)
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Trimmed, runs of whitespace (line breaks too) turned into one space.
fn collapse(s: &str) -> String {
    let t = s.trim();
    // Fast path: no whitespace but single ASCII spaces. Non-ASCII whitespace
    // (NBSP, U+2000…, U+3000, …) starts with one of these UTF-8 lead bytes;
    // Cyrillic (0xD0/0xD1) does not.
    let mut prev_space = false;
    let clean = t.bytes().all(|b| {
        let ok = match b {
            b' ' => !prev_space,
            b'\t' | b'\n' | b'\r' | 0x0B | 0x0C | 0xC2 | 0xE1 | 0xE2 | 0xE3 => false,
            _ => true,
        };
        prev_space = b == b' ';
        ok
    });
    if clean {
        return t.to_owned();
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn non_empty_str(s: &str) -> Option<String> {
    if s.is_empty() { None } else { Some(s.to_owned()) }
}

fn fold(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l })
}

/// Equal ignoring case, and `ё` = `е` ("Волонтер" is "Волонтёр").
fn eq_fold(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.chars().flat_map(fold).eq(b.chars().flat_map(fold))
}

/// An attention cell: a yes/no mark, or text, which marks the person and
/// is also the note for the desk ("VIP — call the protocol officer").
fn attention_cell(cell: &str) -> (Option<bool>, Option<String>) {
    let v = collapse(cell);
    if v.is_empty() {
        return (None, None);
    }
    let f = v.to_lowercase();
    match f.as_str() {
        "нет" | "no" | "0" | "false" | "-" | "—" | "n" | "н" | "ложь" => (Some(false), None),
        "да" | "yes" | "1" | "true" | "x" | "х" | "+" | "v" | "y" | "д" | "✓" | "✔" | "истина" | "*" => {
            (Some(true), None)
        }
        _ => (Some(true), Some(v)),
    }
}

/// A plausible single address: `local@domain.tld`, no spaces or separators.
fn email_ok(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        && !e.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    ',' | ';' | '<' | '>' | '(' | ')' | '[' | ']' | '"' | '\\' | ':'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/import/",
                $name
            ))
        };
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn event_days() -> Vec<NaiveDate> {
        vec![d(6, 2), d(6, 3)]
    }

    fn run(bytes: &[u8], opts: &ImportOptions) -> Result<ParsedFile, ImportError> {
        parse(bytes, opts, &Category::defaults(), &event_days(), &mut |_| {})
    }

    fn parse_ok(bytes: &[u8]) -> ParsedFile {
        run(bytes, &ImportOptions::default()).expect("file parses")
    }

    /// A row with every optional field empty.
    fn row(line: usize, name: &str) -> ImportRow {
        ImportRow {
            line,
            full_name: name.into(),
            latin_name: None,
            organization: None,
            position: None,
            category: "participant".into(),
            email: None,
            phone: None,
            ticket_codes: vec![],
            days: vec![],
            notes: None,
            attention: None,
        }
    }

    #[test]
    fn attention_column_marks_people_and_its_text_is_the_note() {
        let csv = "ФИО;Внимание;Примечание\nА;да;\nБ;VIP — позвонить протоколу;зелёная комната\nВ;нет;\nГ;;только примечание\n";
        let f = parse_ok(csv.as_bytes());
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        let got: Vec<(Option<bool>, Option<&str>)> =
            f.rows.iter().map(|r| (r.attention, r.notes.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (Some(true), None),
                (Some(true), Some("VIP — позвонить протоколу; зелёная комната")),
                (Some(false), None),
                (None, Some("только примечание")),
            ]
        );
    }

    fn s(v: &str) -> Option<String> {
        Some(v.into())
    }

    fn codes(v: &[&str]) -> Vec<String> {
        v.iter().map(|c| c.to_string()).collect()
    }

    fn errors(f: &ParsedFile) -> Vec<(usize, &str)> {
        f.errors.iter().map(|e| (e.line, e.message.as_str())).collect()
    }

    /// Found by the `import_xlsx` fuzz target: a cell reference with too many
    /// letters made the XLSX reader overflow and panic; the import refuses
    /// the damaged workbook with a message instead.
    #[test]
    fn a_damaged_cell_reference_is_an_error_not_a_crash() {
        let e = run(fixture!("bad_cell_reference.xlsx"), &ImportOptions::default()).unwrap_err();
        assert!(matches!(e, ImportError::Xlsx(_)), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("damaged") && msg.contains("save it again"), "{msg}");
        assert!(preview(fixture!("bad_cell_reference.xlsx"), &ImportOptions::default(), 5).is_err());
    }

    /// One stray cell in the sheet's last cell (XFD1048576, a valid cell)
    /// made the XLSX reader allocate a table of 17 billion cells and abort
    /// the process (a hand-made input run through the `import_xlsx` fuzz
    /// target while looking into the finding above).
    /// Cells are kept sparse; rows keep their sheet row numbers.
    #[test]
    fn a_cell_in_the_last_row_and_column_does_not_exhaust_memory() {
        let f = parse_ok(fixture!("far_cell.xlsx"));
        assert_eq!(f.headers, ["ФИО"]);
        let lines: Vec<_> = f.rows.iter().map(|r| (r.line, r.full_name.as_str())).collect();
        assert_eq!(lines, [(2, "Иванов Иван"), (1_048_576, "Петров Пётр")]);
        let p = preview(fixture!("far_cell.xlsx"), &ImportOptions::default(), 5).unwrap();
        assert_eq!(p.lines, [2, 1_048_576]);
    }

    /// Found by the `import_csv` fuzz target: a quote never closed takes the
    /// rest of the file into its field, line break included, and the row
    /// was reported on line 1, above its header; so was a row after a header
    /// ended by a lone CR.
    #[test]
    fn a_quote_never_closed_keeps_its_row_on_its_own_line() {
        let f = run(
            b"Full name,Organization,Category,Email,Days\r\nIvan Ivanov,\"nt,ivan@example.org,\r\n",
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(f.header_line, 1);
        assert_eq!(f.rows.len(), 1, "{:?}", f.errors);
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(f.rows[0].organization.as_deref(), Some("nt,ivan@example.org,"));
        // A lone CR ends the header line (the reader takes it as a line
        // break, even with LF elsewhere in the file).
        let f = run(
            b"Full name,Organization,Category,Email,Days\rIvanov,\"nt,ivan@example.org,\r\n",
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!((f.header_line, f.rows[0].line), (1, 2));
        // Blank lines before and a quoted line break inside still count.
        let f = parse_ok("ФИО;Организация\n\n\r\n\"Иванов\nИван\";\"ООО\n\n\"\n\nПетров;\"x".as_bytes());
        let lines: Vec<_> = f.rows.iter().map(|r| (r.line, r.full_name.as_str())).collect();
        assert_eq!(lines, [(4, "Иванов Иван"), (9, "Петров")]);
    }

    #[test]
    fn utf8_bom_semicolon_fixture() {
        let f = parse_ok(fixture!("utf8_bom_semicolon.csv"));
        assert_eq!(f.format, FileFormat::Csv);
        assert_eq!(f.encoding, Some("utf-8"));
        assert_eq!(f.delimiter, Some(';'));
        assert_eq!(f.header_line, 1);
        assert_eq!(f.headers[0], "ФИО", "BOM is stripped from the first header");
        assert_eq!(
            f.columns,
            vec![
                Some(Field::FullName),
                Some(Field::Organization),
                Some(Field::Position),
                Some(Field::Category),
                Some(Field::Email),
                Some(Field::Phone),
                Some(Field::TicketCode),
            ]
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    organization: s("ООО \"Ромашка\"; филиал Москва"),
                    position: s("Директор"),
                    category: "speaker".into(),
                    email: s("ivanov@example.ru"),
                    phone: s("+7 (916) 123-45-67"),
                    ticket_codes: codes(&["T-0001"]),
                    ..row(2, "Иванов Иван Иванович")
                },
                // The quoted line break above moves this row to line 4.
                ImportRow {
                    organization: s("АНО «Развитие»"),
                    email: s("maria@example.ru"),
                    ticket_codes: codes(&["T-0002", "T-0003"]),
                    ..row(4, "Петрова Мария Сергеевна")
                },
                // Line 5 is ";;;;;;" and line 6 is empty: both skipped.
                ImportRow {
                    category: "vip".into(),
                    phone: s("8 800 555-35-35"),
                    ticket_codes: codes(&["T-0004"]),
                    ..row(7, "Сидоров Пётр")
                },
            ]
        );
    }

    #[test]
    fn cp1251_semicolon_fixture() {
        let bytes = fixture!("cp1251_semicolon.csv");
        assert_eq!(bytes[0], 0xD4, "the fixture is cp1251: Ф is 0xD4");
        let f = parse_ok(bytes);
        assert_eq!(f.encoding, Some("windows-1251"));
        assert_eq!(f.delimiter, Some(';'));
        assert_eq!(
            f.columns,
            vec![
                Some(Field::LastName),
                Some(Field::FirstName),
                Some(Field::MiddleName),
                Some(Field::Organization),
                Some(Field::Category),
                Some(Field::Email),
                Some(Field::Days),
                Some(Field::Notes),
            ]
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    organization: s("Минтруд России"),
                    email: s("smirnov@mintrud.ru"),
                    days: vec![d(6, 2)],
                    ..row(2, "Смирнов Алексей Петрович")
                },
                ImportRow {
                    organization: s("Фонд «Жизнь»"),
                    category: "volunteer".into(),
                    days: vec![d(6, 2), d(6, 3)],
                    notes: s("Нужен пропуск на парковку"),
                    ..row(3, "Кузнецова Ольга")
                },
                ImportRow {
                    category: "press".into(),
                    email: s("fedorov@ria.ru"),
                    days: vec![d(6, 3)],
                    ..row(4, "Фёдоров Фёдор Фёдорович")
                },
            ]
        );
    }

    #[test]
    fn utf8_comma_english_fixture() {
        let f = parse_ok(fixture!("utf8_comma_english.csv"));
        assert_eq!(f.encoding, Some("utf-8"));
        assert_eq!(f.delimiter, Some(','));
        assert_eq!(
            f.columns,
            vec![
                Some(Field::LastName),
                Some(Field::FirstName),
                Some(Field::MiddleName),
                Some(Field::LatinName),
                Some(Field::Organization),
                Some(Field::Position),
                Some(Field::Category),
                Some(Field::Email),
                Some(Field::Phone),
                Some(Field::TicketCode),
                Some(Field::Days),
                Some(Field::Notes),
            ]
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    latin_name: s("Dmitry Orlov"),
                    organization: s("Acme, Inc."),
                    position: s("CTO"),
                    category: "speaker".into(),
                    email: s("dmitry@acme.com"),
                    phone: s("+1 555 0100"),
                    ticket_codes: codes(&["A100", "A101"]),
                    days: vec![d(6, 2), d(6, 3)],
                    notes: s("Needs \"wheelchair\" access"),
                    ..row(2, "Orlov Dmitry")
                },
                ImportRow {
                    latin_name: s("Anna Belova"),
                    organization: s("Фонд"),
                    position: s("Аналитик"),
                    email: s("anna@fond.org"),
                    ticket_codes: codes(&["A102"]),
                    ..row(3, "Белова Анна Игоревна")
                },
            ]
        );
    }

    #[test]
    fn tab_separated_fixture() {
        let f = parse_ok(fixture!("tab_separated.tsv"));
        assert_eq!(f.delimiter, Some('\t'));
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    organization: s("МГУ"),
                    category: "speaker".into(),
                    email: s("ivan@msu.ru"),
                    phone: s("89161112233"),
                    ticket_codes: codes(&["TK-1", "TK-2"]),
                    ..row(2, "Иван Петров")
                },
                ImportRow {
                    category: "organizer".into(),
                    notes: s("Позвонить\nдо начала"),
                    ..row(3, "Мария Иванова")
                },
                ImportRow {
                    organization: s("BBC"),
                    category: "press".into(),
                    email: s("peter.smith@bbc.co.uk"),
                    ticket_codes: codes(&["TK-3"]),
                    ..row(5, "Peter Smith")
                },
            ]
        );
    }

    #[test]
    fn broken_rows_fixture() {
        let f = parse_ok(fixture!("broken_rows.csv"));
        let repeat = "a ticket code belongs to one person: remove the repeated row or correct the code";
        let same_mail = "and neither row has a ticket code; if it is the same person, remove one row, otherwise give each row its ticket code";
        let days = "the event days are 1 = 2026-06-02, 2 = 2026-06-03";
        assert_eq!(
            errors(&f),
            vec![
                (
                    2,
                    format!("ticket code \"B-1\" is repeated on line 6; {repeat}").as_str()
                ),
                (3, "the name is missing: fill in the \"ФИО\" column"),
                (
                    4,
                    "e-mail \"bad-email@\" is not valid: write it like name@example.ru"
                ),
                (
                    6,
                    format!("ticket code \"B-1\" is also on line 2; {repeat}").as_str()
                ),
                (
                    7,
                    format!("day \"05.06.2026\" (2026-06-05) is not an event day; {days}").as_str()
                ),
                (
                    8,
                    format!("e-mail \"same@example.ru\" is also on line 9 {same_mail}").as_str()
                ),
                (
                    9,
                    format!("e-mail \"same@example.ru\" is also on line 8 {same_mail}").as_str()
                ),
                // The name on lines 11-12 holds a quoted line break.
                (11, format!("day \"3\" is not an event day; {days}").as_str()),
            ]
        );
        // Only rows without problems are returned; line 2 is out because of
        // the clash with line 6, line 10 shares an e-mail but has a ticket.
        assert_eq!(
            f.rows,
            vec![
                // An unknown category is no longer an error: a new one.
                ImportRow {
                    category: "Гость".into(),
                    email: s("guest@example.ru"),
                    ticket_codes: codes(&["B-4"]),
                    ..row(5, "Неизвестная Категория")
                },
                ImportRow {
                    email: s("same@example.ru"),
                    ticket_codes: codes(&["B-6"]),
                    ..row(10, "С Билетом")
                },
                ImportRow {
                    email: s("last@example.ru"),
                    ticket_codes: codes(&["B-8"]),
                    ..row(13, "Последний Ряд")
                },
            ]
        );
        assert!(!f.is_clean());
        assert_eq!(
            f.errors[1].to_string(),
            "line 3: the name is missing: fill in the \"ФИО\" column"
        );
        assert_eq!(f.new_categories.len(), 1);
        assert_eq!(f.new_categories[0].value, "Гость");
    }

    #[test]
    fn attendees_xlsx_fixture() {
        let f = parse_ok(fixture!("attendees.xlsx"));
        assert_eq!(f.format, FileFormat::Xlsx);
        assert_eq!((f.encoding, f.delimiter), (None, None));
        assert_eq!(f.sheet.as_deref(), Some("Участники"));
        // Row 1 is a title, row 2 is empty: the header is found on row 3.
        assert_eq!(f.header_line, 3);
        assert_eq!(f.headers[0], "ФИО");
        assert_eq!(f.columns[7], Some(Field::Days));
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    organization: s("ООО \"Ромашка\""),
                    position: s("Директор"),
                    category: "speaker".into(),
                    email: s("ivanov@example.ru"),
                    // Numbers in cells come without ".0"; the date cell is a date.
                    phone: s("79161234567"),
                    ticket_codes: codes(&["1001"]),
                    days: vec![d(6, 2)],
                    ..row(4, "Иванов Иван Иванович")
                },
                ImportRow {
                    phone: s("+7 916 000-00-00"),
                    ticket_codes: codes(&["T-2", "T-3"]),
                    days: vec![d(6, 2), d(6, 3)],
                    ..row(5, "Петрова Мария")
                },
                ImportRow {
                    category: "vip".into(),
                    ticket_codes: codes(&["T-4"]),
                    ..row(7, "Сидоров Пётр")
                },
            ]
        );
    }

    #[test]
    fn xlsx_sheet_option() {
        let opts = ImportOptions {
            sheet: Some("volunteers".into()),
            ..Default::default()
        };
        let f = run(fixture!("attendees.xlsx"), &opts).unwrap();
        assert_eq!(f.sheet.as_deref(), Some("Volunteers"));
        assert_eq!(
            f.rows,
            vec![ImportRow {
                category: "volunteer".into(),
                phone: s("+44 20 7946 0000"),
                ..row(2, "Anna Lee")
            }]
        );

        let opts = ImportOptions {
            sheet: Some("Лист1".into()),
            ..Default::default()
        };
        let err = run(fixture!("attendees.xlsx"), &opts).unwrap_err();
        assert!(matches!(err, ImportError::NoSuchSheet { .. }));
        assert_eq!(
            err.to_string(),
            "the workbook has no sheet \"Лист1\"; its sheets are [\"Участники\", \"Volunteers\"]"
        );
    }

    #[test]
    fn xlsx_skips_hidden_first_sheet_and_formats_cells() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let hidden = wb.add_worksheet();
        hidden.set_name("Служебный").unwrap();
        hidden.write_string(0, 0, "не то").unwrap();
        hidden.set_hidden(true);
        let ws = wb.add_worksheet();
        ws.set_active(true);
        ws.set_name("Лист1").unwrap();
        for (c, h) in ["Фамилия", "Имя", "Телефон", "Билет", "Дни"].iter().enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "Ким").unwrap();
        ws.write_string(1, 1, "Ли").unwrap();
        ws.write_number(1, 2, 89_161_234_567.0).unwrap();
        ws.write_number(1, 3, 12.5).unwrap();
        let date = Format::new().set_num_format("dd.mm.yyyy");
        ws.write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(2026, 6, 3).unwrap(), &date)
            .unwrap();
        ws.write_string(2, 0, "Ан").unwrap();
        ws.write_boolean(2, 3, true).unwrap();
        ws.write_datetime_with_format(2, 4, ExcelDateTime::from_ymd(2026, 6, 9).unwrap(), &date)
            .unwrap();
        let bytes = wb.save_to_buffer().unwrap();

        let f = parse_ok(&bytes);
        assert_eq!(f.sheet.as_deref(), Some("Лист1"));
        assert_eq!(
            f.rows,
            vec![ImportRow {
                phone: s("89161234567"),
                ticket_codes: codes(&["12.5"]),
                days: vec![d(6, 3)],
                ..row(2, "Ким Ли")
            }]
        );
        assert_eq!(
            errors(&f),
            vec![(
                3,
                "day \"2026-06-09\" (2026-06-09) is not an event day; the event days are 1 = 2026-06-02, 2 = 2026-06-03"
            )]
        );

        let p = preview(&bytes, &ImportOptions::default(), 10).unwrap();
        assert_eq!(p.sheets, vec!["Служебный".to_string(), "Лист1".to_string()]);
        assert_eq!(p.sheet.as_deref(), Some("Лист1"));
        assert_eq!(p.rows[1], vec!["Ан", "", "", "TRUE", "2026-06-09"]);
        assert_eq!(p.lines, vec![2, 3]);
    }

    #[test]
    fn xlsx_column_indices_are_the_sheets_own() {
        use rust_xlsxwriter::Workbook;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        // Column A and rows 1-2 are empty; the table starts at C3.
        ws.write_string(2, 2, "Участник").unwrap();
        ws.write_string(2, 3, "Билет").unwrap();
        ws.write_string(3, 2, "Орлова Ирина").unwrap();
        ws.write_string(3, 3, "Q-1").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let opts = ImportOptions {
            mapping: vec![("2".into(), Field::FullName)],
            ..Default::default()
        };
        let f = run(&bytes, &opts).unwrap();
        assert_eq!(f.header_line, 3);
        assert_eq!(f.headers, vec!["", "", "Участник", "Билет"]);
        assert_eq!(
            f.rows,
            vec![ImportRow {
                ticket_codes: codes(&["Q-1"]),
                ..row(4, "Орлова Ирина")
            }]
        );
    }

    #[test]
    fn mapping_overrides_detection() {
        let csv = "Участник;Почта;Email;Код\nИванов Иван;a@x.ru;b@y.ru;K1\n";
        // Nothing is detected as a name; "Почта" and "Email" both look like
        // e-mail (the first wins).
        let err = run(csv.as_bytes(), &ImportOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no column with people's names: found headers [\"Участник\", \"Почта\", \"Email\", \"Код\"]; \
             expected ФИО or Фамилия/Имя/Отчество (or Full name / Last name, First name); \
             pass a mapping to say which column holds the name"
        );
        let p = preview(csv.as_bytes(), &ImportOptions::default(), 5).unwrap();
        assert!(!p.name_found);
        assert_eq!(p.columns, vec![None, Some(Field::Email), None, None]);

        let opts = ImportOptions {
            mapping: vec![
                ("участник".into(), Field::FullName), // by header, any case
                ("Email".into(), Field::Email),       // takes e-mail away from "Почта"
                ("3".into(), Field::TicketCode),      // by 0-based index
            ],
            ..Default::default()
        };
        let f = run(csv.as_bytes(), &opts).unwrap();
        assert_eq!(
            f.columns,
            vec![
                Some(Field::FullName),
                None,
                Some(Field::Email),
                Some(Field::TicketCode)
            ]
        );
        assert_eq!(
            f.rows,
            vec![ImportRow {
                email: s("b@y.ru"),
                ticket_codes: codes(&["K1"]),
                ..row(2, "Иванов Иван")
            }]
        );
        let p = preview(csv.as_bytes(), &opts, 5).unwrap();
        assert!(p.name_found);
        assert_eq!(p.columns, f.columns);

        // A detected column can be given another field.
        let opts = ImportOptions {
            mapping: vec![("0".into(), Field::FullName), ("Почта".into(), Field::Notes)],
            ..Default::default()
        };
        let f = run(csv.as_bytes(), &opts).unwrap();
        assert_eq!(f.rows[0].notes, s("a@x.ru"));
        assert_eq!(f.rows[0].email, s("b@y.ru"));
    }

    #[test]
    fn bad_mappings_are_file_errors() {
        let csv = "ФИО;Email\nИванов;a@x.ru\n".as_bytes();
        let with = |mapping: Vec<(&str, Field)>| {
            let opts = ImportOptions {
                mapping: mapping.into_iter().map(|(k, f)| (k.into(), f)).collect(),
                ..Default::default()
            };
            run(csv, &opts).unwrap_err()
        };
        let e = with(vec![("Телефон", Field::Phone)]);
        assert_eq!(
            e.to_string(),
            "the mapping names the column \"Телефон\", but the file has no such column; \
             the headers are [\"ФИО\", \"Email\"] (a 0-based column number works too)"
        );
        assert!(matches!(
            with(vec![("7", Field::Phone)]),
            ImportError::UnknownColumn { .. }
        ));
        assert!(matches!(
            with(vec![("ФИО", Field::FullName), ("Email", Field::FullName)]),
            ImportError::FieldMappedTwice {
                field: Field::FullName,
                ..
            }
        ));
        assert!(matches!(
            with(vec![("ФИО", Field::FullName), ("0", Field::Notes)]),
            ImportError::ColumnMappedTwice { .. }
        ));
    }

    #[test]
    fn header_detection() {
        for (h, f) in [
            ("ФИО", Field::FullName),
            ("Ф.И.О.", Field::FullName),
            ("  full   NAME ", Field::FullName),
            ("Name", Field::FullName),
            ("Фамилия", Field::LastName),
            ("Last name", Field::LastName),
            ("Имя", Field::FirstName),
            ("First_Name", Field::FirstName),
            ("Отчество", Field::MiddleName),
            ("Patronymic", Field::MiddleName),
            ("Middle name", Field::MiddleName),
            ("Имя латиницей", Field::LatinName),
            ("Latin name", Field::LatinName),
            ("Компания", Field::Organization),
            ("Organisation", Field::Organization),
            ("Должность", Field::Position),
            ("Title", Field::Position),
            ("Тип", Field::Category),
            ("CATEGORY", Field::Category),
            ("E-mail", Field::Email),
            ("Эл. почта", Field::Email),
            ("Почта", Field::Email),
            ("Телефон (мобильный)", Field::Phone),
            ("Mobile", Field::Phone),
            ("№ билета", Field::TicketCode),
            ("Код билета", Field::TicketCode),
            ("Ticket No.", Field::TicketCode),
            ("Order code", Field::TicketCode),
            ("Дни", Field::Days),
            ("Комментарий", Field::Notes),
            ("Notes", Field::Notes),
        ] {
            assert_eq!(detect_field(h), Some(f), "{h}");
        }
        for h in ["", "Город", "Дата регистрации", "()"] {
            assert_eq!(detect_field(h), None, "{h}");
        }
        for f in Field::ALL {
            assert_eq!(detect_field(f.label_ru()), Some(f), "{f}");
            assert_eq!(detect_field(f.label_en()), Some(f), "{f}");
            assert_eq!(Field::parse(f.as_str()), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
    }

    #[test]
    fn day_parsing() {
        let parse_days = |cell: &str| {
            let csv = format!("ФИО;Дни\nИванов;\"{cell}\"\n");
            let f = parse_ok(csv.as_bytes());
            match f.rows.first() {
                Some(r) => Ok(r.days.clone()),
                None => Err(f.errors.into_iter().map(|e| e.message).collect::<Vec<_>>()),
            }
        };
        let both = Ok(vec![d(6, 2), d(6, 3)]);
        assert_eq!(parse_days(""), Ok(vec![]));
        assert_eq!(parse_days("Все"), Ok(vec![]));
        assert_eq!(parse_days("all days"), Ok(vec![]));
        assert_eq!(parse_days("1"), Ok(vec![d(6, 2)]));
        assert_eq!(parse_days("2, 1"), both);
        assert_eq!(parse_days("1;2"), both);
        assert_eq!(parse_days("1 2 2"), both);
        assert_eq!(parse_days("2026-06-03"), Ok(vec![d(6, 3)]));
        assert_eq!(parse_days("02.06.2026; 3.6.2026"), both);
        assert_eq!(parse_days("02.06.26"), Ok(vec![d(6, 2)]));
        assert_eq!(parse_days("02.06, 03.06."), both);
        assert_eq!(
            parse_days("0"),
            Err(vec![
                "day \"0\" is not an event day; the event days are 1 = 2026-06-02, 2 = 2026-06-03"
                    .to_string()
            ])
        );
        assert_eq!(
            parse_days("04.06"),
            Err(vec![
                "day \"04.06\" is not an event day; the event days are 1 = 2026-06-02, 2 = 2026-06-03"
                    .to_string()
            ])
        );
        assert_eq!(
            parse_days("2025-06-02"),
            Err(vec![
                "day \"2025-06-02\" (2025-06-02) is not an event day; the event days are 1 = 2026-06-02, 2 = 2026-06-03"
                    .to_string()
            ])
        );
        let not_a_date = |t: &str| {
            format!(
                "day \"{t}\" is not a date: write days as 2026-06-02, 02.06.2026, 02.06 or day numbers 1, 2 (separated by commas)"
            )
        };
        assert_eq!(parse_days("2 июня"), Err(vec![not_a_date("июня")]));
        assert_eq!(parse_days("31.02.2026"), Err(vec![not_a_date("31.02.2026")]));
        assert_eq!(parse_days("32.06"), Err(vec![not_a_date("32.06")]));
        assert_eq!(parse_days("2026-6"), Err(vec![not_a_date("2026-6")]));
        assert_eq!(
            parse_days("1, x, 9").unwrap_err().len(),
            2,
            "every bad day is reported"
        );
    }

    #[test]
    fn category_matching() {
        let cat = |cell: &str| {
            let csv = format!("ФИО;Категория\nИванов;{cell}\n");
            let f = parse_ok(csv.as_bytes());
            match f.rows.first() {
                Some(r) => Ok(r.category.clone()),
                None => Err(f.errors[0].message.clone()),
            }
        };
        for (cell, code) in [
            ("", "participant"),
            ("Спикер", "speaker"),
            ("speaker", "speaker"),
            ("SPEAKER", "speaker"),
            ("  спикер ", "speaker"),
            ("Волонтёр", "volunteer"),
            ("волонтер", "volunteer"),
            ("ПРЕССА", "press"),
            ("Organizer", "organizer"),
            ("vip", "vip"),
            ("участник", "participant"),
        ] {
            assert_eq!(cat(cell), Ok(code.to_string()), "{cell:?}");
        }
        // A value the event does not have is taken, noted as a new category.
        assert_eq!(cat("Гость"), Ok("Гость".to_string()));
        let f = parse_ok("ФИО;Категория\nА;СМИ\nБ;сми\nВ;Эксперт\nГ;Спикер\n".as_bytes());
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(
            f.rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(),
            vec!["СМИ", "СМИ", "Эксперт", "speaker"],
            "spellings of one value become one"
        );
        assert_eq!(
            f.new_categories,
            vec![
                CategoryValue {
                    value: "СМИ".into(),
                    rows: 2,
                    code: "smi".into()
                },
                CategoryValue {
                    value: "Эксперт".into(),
                    rows: 1,
                    code: "ekspert".into()
                },
            ]
        );

        // Mapped to existing categories instead (by code or name, any case).
        let opts = ImportOptions {
            category_map: vec![
                ("сми".into(), "Пресса".into()),
                ("ЭКСПЕРТ".into(), "speaker".into()),
            ],
            ..ImportOptions::default()
        };
        let f = parse(
            "ФИО;Категория\nА;СМИ\nБ;Смёрш\nВ;Эксперт\n".as_bytes(),
            &opts,
            &Category::defaults(),
            &[],
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            f.rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(),
            vec!["press", "Смёрш", "speaker"]
        );
        assert_eq!(f.mapped_categories.len(), 2);
        assert_eq!(f.mapped_categories[0].code, "press");
        assert_eq!(f.new_categories.len(), 1);
        let bad = ImportOptions {
            category_map: vec![("СМИ".into(), "Журналисты".into())],
            ..ImportOptions::default()
        };
        let e = parse(
            "ФИО;Категория\nА;СМИ\n".as_bytes(),
            &bad,
            &Category::defaults(),
            &[],
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a category of the event"), "{e}");

        // The event's own categories, with a code unlike its labels.
        let cats = vec![Category {
            code: "guest".into(),
            label_ru: "Гость".into(),
            label_en: "Visitor".into(),
            color: "#000000".into(),
            days: Vec::new(),
        }];
        let csv = "ФИО;Категория\nА;ГОСТЬ\nБ;visitor\nВ;Guest\nГ;Спикер\n";
        let f = parse(csv.as_bytes(), &Default::default(), &cats, &[], &mut |_| {}).unwrap();
        assert_eq!(
            f.rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(),
            vec!["guest", "guest", "guest", "Спикер"]
        );
        assert_eq!(f.new_categories[0].code, "spiker");
    }

    #[test]
    fn names_emails_tickets_and_phones_are_cleaned() {
        let csv = "Фамилия;Имя;Отчество;Email;Телефон;Билет;Организация\n\
                   \"  Иванов \";\"Иван\u{a0} \";Иванович;\"  IVAN@Mail.RU \";\" 8 (916) 000-00-00 \";\"A1, A2;A3\tA1\";\" ООО   «Ромашка» \"\n\
                   ;Мария;;;;;\n\
                   Петров;;;two@x.ru, three@x.ru;;;\n\
                   Сидоров;;;no-at-sign;;;\n";
        let f = parse_ok(csv.as_bytes());
        assert_eq!(
            f.rows,
            vec![
                ImportRow {
                    email: s("ivan@mail.ru"),
                    phone: s("8 (916) 000-00-00"),
                    ticket_codes: codes(&["A1", "A2", "A3"]),
                    organization: s("ООО «Ромашка»"),
                    ..row(2, "Иванов Иван Иванович")
                },
                row(3, "Мария"),
            ]
        );
        assert_eq!(
            errors(&f),
            vec![
                (
                    4,
                    "the e-mail cell holds more than one address (\"two@x.ru, three@x.ru\"): keep one address per person"
                ),
                (
                    5,
                    "e-mail \"no-at-sign\" is not valid: write it like name@example.ru"
                ),
            ]
        );

        let f = parse_ok("Фамилия;Имя\n;\n;  \nx;\n\"\";\" \"\n;y\n".as_bytes());
        assert_eq!(f.rows, vec![row(4, "x"), row(6, "y")]);

        let f = parse_ok("Фамилия;Имя;Email\n;;a@b.ru\n".as_bytes());
        assert_eq!(
            errors(&f),
            vec![(2, "the name is missing: fill in \"Фамилия\" and \"Имя\"")]
        );
    }

    #[test]
    fn email_validation() {
        for ok in [
            "a@b.ru",
            "ivan.petrov+forum@mail.example.com",
            "иван@почта.рф",
            "a_b-c@x-y.org",
        ] {
            assert!(email_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.ru",
            "a@b",
            "a@b.",
            "a@.ru",
            "a@b..ru",
            "a b@c.ru",
            "a@b@c.ru",
            ".a@b.ru",
            "a.@b.ru",
            "a..b@c.ru",
            "a@-b.ru",
            "a@b.ru;",
            "<a@b.ru>",
        ] {
            assert!(!email_ok(bad), "{bad}");
        }
    }

    #[test]
    fn repeated_ticket_codes_and_shared_emails() {
        let csv = "ФИО;Email;Билет\n\
                   А;shared@x.ru;T1\n\
                   Б;shared@x.ru;T2\n\
                   В;;T1\n\
                   Г;;t1\n\
                   Д;;T1 T3\n";
        let f = parse_ok(csv.as_bytes());
        // Same e-mail with different tickets is fine; codes are compared as
        // written ("t1" is another code); every repeat of T1 is reported on
        // its own line and on the first line.
        assert_eq!(f.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(
            f.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 2, 4, 6]
        );
        assert!(f.errors[0].message.contains("repeated on line 4"));
        assert!(f.errors[1].message.contains("repeated on line 6"));
    }

    #[test]
    fn encodings() {
        let cp = fixture!("cp1251_semicolon.csv");
        let force = |enc: &str| ImportOptions {
            encoding: Some(enc.into()),
            ..Default::default()
        };
        assert_eq!(
            run(cp, &force("utf-8")).unwrap_err().to_string(),
            "the file is not valid UTF-8 (the first bad byte is on line 1); choose the windows-1251 encoding, \
             or leave the encoding unset to detect it"
        );
        for label in ["windows-1251", "CP1251", "1251"] {
            let f = run(cp, &force(label)).unwrap();
            assert_eq!(f.encoding, Some("windows-1251"));
            assert_eq!(f.rows.len(), 3);
        }
        assert!(matches!(
            run(cp, &force("klingon")).unwrap_err(),
            ImportError::UnknownEncoding(_)
        ));

        // UTF-8 forced to windows-1251 gives mojibake, not an error.
        let utf = fixture!("utf8_comma_english.csv");
        let f = run(utf, &force("windows-1251")).unwrap();
        assert!(f.rows[1].full_name.starts_with("Р‘РµР»РѕРІР° РђРЅРЅР°"));

        // Excel's "Unicode text": UTF-16LE with BOM, tab separated.
        let text = "ФИО\tEmail\r\nЁлкина Ёлка\tE@X.RU\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let f = parse_ok(&bytes);
        assert_eq!(f.encoding, Some("utf-16le"));
        assert_eq!(f.delimiter, Some('\t'));
        assert_eq!(
            f.rows,
            vec![ImportRow {
                email: s("e@x.ru"),
                ..row(2, "Ёлкина Ёлка")
            }]
        );

        // KOI8-R through a WHATWG label.
        let (koi, _, _) = encoding_rs::KOI8_R.encode("ФИО\nЩукин\n");
        let f = run(&koi, &force("koi8-r")).unwrap();
        assert_eq!(f.encoding, Some("KOI8-R"));
        assert_eq!(f.rows, vec![row(2, "Щукин")]);
    }

    #[test]
    fn delimiters() {
        // Sniffed from the header line, not from data.
        let f = parse_ok("ФИО,Организация\nИванов;Петров,ООО \"Ромашка\"\n".as_bytes());
        assert_eq!(f.delimiter, Some(','));
        assert_eq!(f.rows[0].full_name, "Иванов;Петров");
        // Override.
        let opts = ImportOptions {
            delimiter: Some(b'|'),
            ..Default::default()
        };
        let f = run("ФИО|Email\nИванов, Иван|i@x.ru\n".as_bytes(), &opts).unwrap();
        assert_eq!(f.delimiter, Some('|'));
        assert_eq!(f.rows[0].full_name, "Иванов, Иван");
        let opts = ImportOptions {
            delimiter: Some(b'"'),
            ..Default::default()
        };
        assert!(matches!(
            run(b"a", &opts).unwrap_err(),
            ImportError::BadDelimiter('"')
        ));
        // Excel's "sep=" hint line.
        let f = parse_ok("sep=,\r\nФИО,Email\r\nИванов;И,i@x.ru\r\n".as_bytes());
        assert_eq!(f.delimiter, Some(','));
        assert_eq!(f.header_line, 2);
        assert_eq!(
            f.rows,
            vec![ImportRow {
                email: s("i@x.ru"),
                ..row(3, "Иванов;И")
            }]
        );
        // One column, no delimiter at all.
        let f = parse_ok("ФИО\nИванов Иван\n\nПетров Пётр".as_bytes());
        assert_eq!(f.rows, vec![row(2, "Иванов Иван"), row(4, "Петров Пётр")]);
        // Old Mac line ends.
        let f = parse_ok("ФИО;Email\rА;a@x.ru\rБ;b@x.ru\r".as_bytes());
        assert_eq!(f.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn title_lines_above_the_header_are_skipped() {
        let csv = "Список участников;;\n\
                   Форум 2026;;\n\
                   \n\
                   ФИО;Организация;Email\n\
                   Иванов;ООО;i@x.ru\n";
        let f = parse_ok(csv.as_bytes());
        assert_eq!(f.header_line, 4);
        assert_eq!(f.headers, vec!["ФИО", "Организация", "Email"]);
        assert_eq!(
            f.rows,
            vec![ImportRow {
                organization: s("ООО"),
                email: s("i@x.ru"),
                ..row(5, "Иванов")
            }]
        );
    }

    #[test]
    fn line_numbers_past_the_header_search() {
        // Rows 2..=11 are read while looking for the header; the rest are
        // streamed. Both paths must agree on lines and keep line breaks in notes.
        let mut csv = String::from("ФИО;Примечание\r\n");
        for i in 0..30 {
            csv.push_str(&format!("Человек {i};\"первая\r\nвторая\"\r\n"));
            if i % 7 == 0 {
                csv.push_str("\r\n");
            }
        }
        let f = parse_ok(csv.as_bytes());
        assert!(f.errors.is_empty());
        let mut line = 2;
        for (i, r) in f.rows.iter().enumerate() {
            assert_eq!(r.full_name, format!("Человек {i}"));
            assert_eq!(r.line, line, "row {i}");
            assert_eq!(r.notes.as_deref(), Some("первая\r\nвторая"));
            line += 2 + usize::from(i % 7 == 0);
        }
    }

    #[test]
    fn file_level_errors() {
        let opts = ImportOptions::default();
        for empty in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b";;;\r\n;;\r\n", b"   \n\t\n"] {
            assert!(matches!(run(empty, &opts), Err(ImportError::Empty)), "{empty:?}");
        }
        assert!(matches!(
            run(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", &opts),
            Err(ImportError::NotTabular)
        ));
        assert!(matches!(
            run(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0", &opts),
            Err(ImportError::OldExcel)
        ));
        assert!(matches!(
            run(b"PK\x03\x04garbage", &opts),
            Err(ImportError::Xlsx(_))
        ));
        let mut ods = b"PK\x03\x04".to_vec();
        ods.resize(30, 0);
        ods.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet");
        assert!(matches!(run(&ods, &opts), Err(ImportError::Ods)));
        // Header only: no rows, no errors.
        let f = parse_ok(b"Full name;Email\n");
        assert!(f.rows.is_empty() && f.errors.is_empty());
    }

    #[test]
    fn progress_is_reported() {
        let mut csv = String::from("ФИО\n");
        for i in 0..2500 {
            csv.push_str(&format!("Человек {i}\n"));
        }
        let mut calls = Vec::new();
        let f = parse(
            csv.as_bytes(),
            &ImportOptions::default(),
            &Category::defaults(),
            &event_days(),
            &mut |p| calls.push(p),
        )
        .unwrap();
        assert_eq!(f.rows.len(), 2500);
        let p = |done, total| ImportProgress {
            rows_done: done,
            rows_total: total,
        };
        assert_eq!(calls, vec![p(1000, None), p(2000, None), p(2500, Some(2500))]);

        let mut calls = Vec::new();
        parse(
            fixture!("attendees.xlsx"),
            &ImportOptions::default(),
            &Category::defaults(),
            &event_days(),
            &mut |p| calls.push(p),
        )
        .unwrap();
        // Four rows below the header, one of them without any cell: that one
        // is not read at all (a blank CSV line would be read and skipped).
        assert_eq!(calls, vec![p(3, Some(3))]);
    }

    #[test]
    fn preview_shows_the_head_of_the_file() {
        let p = preview(fixture!("utf8_bom_semicolon.csv"), &ImportOptions::default(), 2).unwrap();
        assert_eq!(p.format, FileFormat::Csv);
        assert_eq!(p.encoding, Some("utf-8"));
        assert_eq!(p.delimiter, Some(';'));
        assert_eq!(p.header_line, 1);
        assert!(p.name_found);
        assert_eq!(p.headers.len(), 7);
        assert_eq!(p.columns[6], Some(Field::TicketCode));
        assert_eq!(p.lines, vec![2, 4]);
        assert_eq!(p.rows[0][1], "ООО \"Ромашка\";\r\nфилиал Москва");
        assert_eq!(
            p.rows[1],
            vec![
                "Петрова  Мария   Сергеевна",
                "АНО «Развитие»",
                "",
                "",
                "maria@example.ru",
                "",
                "T-0002, T-0003"
            ]
        );
        let p = preview(fixture!("cp1251_semicolon.csv"), &Default::default(), 100).unwrap();
        assert_eq!(p.rows.len(), 3);
        assert_eq!(p.encoding, Some("windows-1251"));
        assert!(p.sheets.is_empty());
        assert!(matches!(
            preview(b"", &Default::default(), 5),
            Err(ImportError::Empty)
        ));
    }

    #[test]
    fn parsed_file_serializes() {
        let f = parse_ok(fixture!("tab_separated.tsv"));
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["format"], "csv");
        assert_eq!(v["delimiter"], "\t");
        assert_eq!(v["columns"][0], "full_name");
        assert_eq!(v["rows"][0]["ticket_codes"][1], "TK-2");
        let o: ImportOptions = serde_json::from_str(
            r#"{"mapping":[["ФИО","full_name"],["3","ticket_code"]],"encoding":null,"delimiter":59,"sheet":null}"#,
        )
        .unwrap();
        assert_eq!(o.mapping[1], ("3".to_string(), Field::TicketCode));
        assert_eq!(o.delimiter, Some(b';'));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = run(&bytes, &ImportOptions::default());
            let _ = preview(&bytes, &ImportOptions::default(), 5);
        }

        #[test]
        fn parse_never_panics_on_zip_like_input(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut bytes = b"PK\x03\x04".to_vec();
            bytes.extend_from_slice(&tail);
            let _ = run(&bytes, &ImportOptions::default());
        }

        #[test]
        fn parse_never_panics_on_csv_like_input(
            text in "(ФИО|Фамилия|Имя|Email|Дни|Категория|Билет|[ ;,\t\"\r\n]|[a-zА-я0-9@.\\-]{0,6}|\u{a0}|ё){0,80}",
            delimiter in proptest::option::of(prop_oneof![Just(b';'), Just(b','), Just(b'\t')]),
            encoding in proptest::option::of(prop_oneof![Just("utf-8".to_string()), Just("windows-1251".to_string())]),
        ) {
            let opts = ImportOptions { delimiter, encoding, ..Default::default() };
            if let Ok(f) = run(text.as_bytes(), &opts) {
                // Every row and error points into the file (CR LF, LF and a
                // lone CR each end a line, as in text editors).
                let lines = text.replace("\r\n", "\n").replace('\r', "\n").split('\n').count();
                for r in &f.rows {
                    prop_assert!(r.line >= 1 && r.line <= lines, "row line {} of {}", r.line, lines);
                    prop_assert!(!r.full_name.is_empty());
                }
                for e in &f.errors {
                    prop_assert!(e.line >= 1 && e.line <= lines, "error line {} of {}", e.line, lines);
                }
            }
            let _ = preview(text.as_bytes(), &opts, 3);
        }
    }
}
