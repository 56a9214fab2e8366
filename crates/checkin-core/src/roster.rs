//! The registration list as the store takes it: rows read and checked from
//! the registration system's export (by `checkin-tables`), the problems found
//! per row, and progress. Types only; [`crate::store::Store::import`] applies
//! a [`ParsedFile`].

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    FullName,
    LastName,
    FirstName,
    MiddleName,
    LatinName,
    Organization,
    Position,
    Category,
    Email,
    Phone,
    TicketCode,
    Days,
    Notes,
    /// Attention at the desk: a mark ("да", "VIP", "x") or a note for it.
    Attention,
}

impl Field {
    /// Every field, in the order the mapping screen lists them.
    pub const ALL: [Field; 14] = [
        Field::FullName,
        Field::LastName,
        Field::FirstName,
        Field::MiddleName,
        Field::LatinName,
        Field::Organization,
        Field::Position,
        Field::Category,
        Field::Email,
        Field::Phone,
        Field::TicketCode,
        Field::Days,
        Field::Notes,
        Field::Attention,
    ];

    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::FullName => "full_name",
            Field::LastName => "last_name",
            Field::FirstName => "first_name",
            Field::MiddleName => "middle_name",
            Field::LatinName => "latin_name",
            Field::Organization => "organization",
            Field::Position => "position",
            Field::Category => "category",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::TicketCode => "ticket_code",
            Field::Days => "days",
            Field::Notes => "notes",
            Field::Attention => "attention",
        }
    }

    /// The inverse of [`Field::as_str`].
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The usual Russian column header for the field.
    pub fn label_ru(self) -> &'static str {
        match self {
            Field::FullName => "ФИО",
            Field::LastName => "Фамилия",
            Field::FirstName => "Имя",
            Field::MiddleName => "Отчество",
            Field::LatinName => "Имя латиницей",
            Field::Organization => "Организация",
            Field::Position => "Должность",
            Field::Category => "Категория",
            Field::Email => "Email",
            Field::Phone => "Телефон",
            Field::TicketCode => "Номер билета",
            Field::Days => "Дни",
            Field::Notes => "Примечание",
            Field::Attention => "Внимание",
        }
    }

    /// The usual English column header for the field.
    pub fn label_en(self) -> &'static str {
        match self {
            Field::FullName => "Full name",
            Field::LastName => "Last name",
            Field::FirstName => "First name",
            Field::MiddleName => "Middle name",
            Field::LatinName => "Latin name",
            Field::Organization => "Organization",
            Field::Position => "Position",
            Field::Category => "Category",
            Field::Email => "Email",
            Field::Phone => "Phone",
            Field::TicketCode => "Ticket code",
            Field::Days => "Days",
            Field::Notes => "Notes",
            Field::Attention => "Attention",
        }
    }

    /// A column that can hold (part of) the name.
    pub fn is_name(self) -> bool {
        matches!(self, Field::FullName | Field::LastName | Field::FirstName)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_en())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Xlsx,
}

/// One person from the file, cleaned and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    /// Physical line in the CSV file, or the sheet row number in XLSX (1-based).
    pub line: usize,
    /// "Фамилия Имя Отчество", inner whitespace collapsed.
    pub full_name: String,
    pub latin_name: Option<String>,
    pub organization: Option<String>,
    pub position: Option<String>,
    /// A category code of the event (the default category `participant` when the cell is empty).
    pub category: String,
    /// Lower-cased.
    pub email: Option<String>,
    /// As written, trimmed.
    pub phone: Option<String>,
    pub ticket_codes: Vec<String>,
    /// Sorted event days; empty means every day of the event (the cell was
    /// empty or said "все"/"all"), as in [`crate::model::Attendee::days`].
    pub days: Vec<NaiveDate>,
    pub notes: Option<String>,
    /// The attention column: `Some(true)` marked, `Some(false)` explicitly
    /// not, `None` no column or an empty cell (a re-import keeps the mark).
    pub attention: Option<bool>,
}

/// A problem with one row; the whole file is refused while there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Physical line in the CSV file, or the sheet row number in XLSX (1-based).
    pub line: usize,
    /// What is wrong and what to fix, in plain words.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A parsed registration file (what `checkin_tables::import::parse` returns).
#[derive(Debug, Clone, Serialize)]
pub struct ParsedFile {
    pub format: FileFormat,
    /// CSV only: `"utf-8"`, `"windows-1251"`, `"utf-16le"`, …
    pub encoding: Option<&'static str>,
    /// CSV only.
    pub delimiter: Option<char>,
    /// XLSX only: the sheet that was read.
    pub sheet: Option<String>,
    /// Line (CSV) or row (XLSX) of the header row.
    pub header_line: usize,
    /// The header row, trimmed.
    pub headers: Vec<String>,
    /// The field of each column (same length as `headers`).
    pub columns: Vec<Option<Field>>,
    /// Rows without errors, in file order.
    pub rows: Vec<ImportRow>,
    /// Row problems, ordered by line. A row with errors is not in `rows`.
    pub errors: Vec<RowError>,
    /// Category values the event does not have and no mapping named, in
    /// the order first seen: importing creates each as a new category (its
    /// rows carry the value as written until then).
    pub new_categories: Vec<CategoryValue>,
    /// Category values the mapping sent to an existing category.
    pub mapped_categories: Vec<CategoryValue>,
}

/// One category value of a registration file and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryValue {
    /// As written in the file (first spelling seen).
    pub value: String,
    /// How many rows carry it.
    pub rows: usize,
    /// The category's code: the mapping's target, or for a new category the
    /// code it will get.
    pub code: String,
}

impl ParsedFile {
    /// True when the file can be applied as it is.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Progress of parsing and of [`crate::store::Store::import`], for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    /// Data rows read so far.
    pub rows_done: usize,
    /// Data rows in the file when known: XLSX always, CSV at the final call.
    pub rows_total: Option<usize>,
}
