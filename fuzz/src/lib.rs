//! What the fuzz targets share: the event they import into, the import
//! invariants, and the XLSX package the structured XLSX inputs are wrapped in.

use std::io::Write;

use checkin_tables::import::{self, Field, ImportOptions};
use checkin_core::model::Category;
use chrono::NaiveDate;

/// The days of the event every import is read against.
pub fn event_days() -> Vec<NaiveDate> {
    vec![
        NaiveDate::from_ymd_opt(2026, 6, 2).unwrap(),
        NaiveDate::from_ymd_opt(2026, 6, 3).unwrap(),
    ]
}

/// Import options chosen by one input byte: encoding, delimiter, a mapping.
pub fn options(b: u8) -> ImportOptions {
    ImportOptions {
        encoding: match b & 0b11 {
            0 => None,
            1 => Some("utf-8".into()),
            2 => Some("windows-1251".into()),
            _ => Some("utf-16le".into()),
        },
        delimiter: match (b >> 2) & 0b111 {
            0 | 1 | 2 => None,
            3 => Some(b','),
            4 => Some(b';'),
            5 => Some(b'\t'),
            6 => Some(b'"'),
            _ => Some(0xD0),
        },
        mapping: match (b >> 5) & 0b11 {
            0 | 1 => vec![],
            2 => vec![("0".into(), Field::FullName)],
            _ => vec![("ФИО".into(), Field::FullName), ("1".into(), Field::Email)],
        },
        sheet: (b >> 7 == 1).then(|| "Лист1".into()),
        // Category values sent to existing categories (or, for the second,
        // to one that does not exist: a file-level refusal).
        category_map: match (b >> 5) & 0b11 {
            1 => vec![("СМИ".into(), "press".into())],
            2 => vec![("Эксперт".into(), "нет такой".into())],
            _ => vec![],
        },
    }
}

/// The XLSX reader (calamine 0.38) panics on some damaged workbooks, and
/// `import` contains that with `catch_unwind` (the workbook is refused as
/// damaged). libFuzzer's panic hook aborts on every panic, caught or not:
/// let the ones from the reader's own code unwind to that `catch_unwind`,
/// where the target then checks the refusal like any other error.
fn let_reader_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("/calamine-")) {
                return;
            }
            abort(info);
        }));
    });
}

/// Parses and previews `bytes`; whatever the file holds, this returns (no
/// panic) and a parsed file keeps the promises `ParsedFile` documents.
pub fn check_import(bytes: &[u8], opts: &ImportOptions) {
    let_reader_panics_unwind();
    let categories = Category::defaults();
    let days = event_days();
    let mut last_progress = 0;
    let parsed = import::parse(bytes, opts, &categories, &days, &mut |p| {
        assert!(p.rows_done >= last_progress, "progress went back");
        last_progress = p.rows_done;
    });
    match parsed {
        Ok(file) => {
            assert_eq!(file.columns.len(), file.headers.len());
            assert!(
                file.rows.windows(2).all(|w| w[0].line < w[1].line),
                "rows out of order"
            );
            assert!(
                file.errors.windows(2).all(|w| w[0].line <= w[1].line),
                "errors out of order"
            );
            for row in &file.rows {
                assert!(row.line > file.header_line, "row {} above the header", row.line);
                assert!(
                    !row.full_name.trim().is_empty(),
                    "row {} without a name",
                    row.line
                );
                assert_eq!(
                    row.full_name,
                    row.full_name.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                // An event category, or a value the import will create.
                assert!(
                    categories.iter().any(|c| c.code == row.category)
                        || file.new_categories.iter().any(|v| v.value == row.category),
                    "{}",
                    row.category
                );
                assert!(row.days.iter().all(|d| days.contains(d)), "{:?}", row.days);
                assert!(row.days.windows(2).all(|w| w[0] < w[1]));
                if let Some(e) = &row.email {
                    assert_eq!(e, &e.to_lowercase());
                }
            }
            for e in &file.errors {
                assert!(!e.message.is_empty());
            }
            // New categories: distinct codes the event does not have, each
            // seen on a row; mapped ones go to event categories.
            let mut codes = std::collections::HashSet::new();
            for v in &file.new_categories {
                assert!(v.rows > 0 && !v.value.trim().is_empty(), "{v:?}");
                assert!(!categories.iter().any(|c| c.code == v.code), "{v:?}");
                assert!(codes.insert(v.code.clone()), "code {} twice", v.code);
                assert!(
                    v.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{v:?}"
                );
            }
            for v in &file.mapped_categories {
                assert!(categories.iter().any(|c| c.code == v.code), "{v:?}");
            }
        }
        Err(e) => assert!(e.to_string().len() > 10, "{e:?} has no message"),
    }
    if let Ok(p) = import::preview(bytes, opts, 5) {
        assert_eq!(p.columns.len(), p.headers.len());
        assert_eq!(p.rows.len(), p.lines.len());
        assert!(p.rows.len() <= 5);
    }
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// Separates the sheet XML from the shared strings XML in a structured input.
pub const PART_SEPARATOR: &[u8] = b"\n--shared-strings--\n";

/// A one-sheet XLSX package around `sheet_xml` and `shared_strings_xml`
/// (stored, not compressed, so the fuzzer's bytes reach the XML readers
/// instead of failing the zip checksums).
pub fn xlsx_package(sheet_xml: &[u8], shared_strings_xml: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml),
        ("xl/sharedStrings.xml", shared_strings_xml),
    ] {
        zip.start_file(name, stored).expect("zip entry");
        zip.write_all(body).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}
