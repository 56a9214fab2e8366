//! The registration-list reader on XLSX workbooks. Even first byte: the rest
//! is a whole file (zip and all). Odd: the rest is a sheet's XML and its
//! shared strings (split at `checkin_fuzz::PART_SEPARATOR`), packed into a
//! valid workbook so the mutations reach the XML and cell readers.

#![no_main]

use checkin_tables::import::ImportOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let opts = ImportOptions {
        sheet: (mode & 2 == 2).then(|| "Лист1".into()),
        ..ImportOptions::default()
    };
    if mode & 1 == 0 {
        checkin_fuzz::check_import(rest, &opts);
        return;
    }
    let sep = checkin_fuzz::PART_SEPARATOR;
    let (sheet, strings) = match rest.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&rest[..i], &rest[i + sep.len()..]),
        None => (rest, &b""[..]),
    };
    checkin_fuzz::check_import(&checkin_fuzz::xlsx_package(sheet, strings), &opts);
});
