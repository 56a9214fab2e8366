//! The table formats: the registration system's export read in
//! ([`import`]: CSV or XLSX, encoding and delimiter detection, Russian and
//! English header recognition, per-row errors) and reports written out
//! ([`export`]: CSV with a BOM, XLSX, the one-page HTML summary).
//!
//! Pure: bytes in, checked rows out; tables in, bytes out. It reads the
//! core's model types (categories, the parsed-row types the store applies,
//! report tables, statistics) and never opens a database itself. It must
//! never depend on the sync client, the server, the QR decoder or the badge
//! PDFs, and nothing on the server side depends on it.

pub mod export;
pub mod import;
