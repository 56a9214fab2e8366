//! The registration-list reader (`checkin_tables::import`) on CSV-like bytes:
//! encodings, delimiters, quotes, headers in Russian and English, bad rows.
//! The first byte picks the import options.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&opts, bytes)) = data.split_first() else {
        return;
    };
    checkin_fuzz::check_import(bytes, &checkin_fuzz::options(opts));
});
