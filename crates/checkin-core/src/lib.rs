//! The check-in core: everything a desk decides and keeps, offline. The
//! model, the local SQLite store with its one change path, the check-in
//! engine, the hybrid logical clock, signed badge tokens, statistics and
//! the report tables.
//!
//! Rules (see ARCHITECTURE.md): no network, no Tauri, no HTTP; the caller
//! passes the clock (`now`), file paths and the device identity. It must
//! never depend on the sync client or the server, nor on the crates of the
//! desk's other trades: the QR decoder (`checkin-scan`), badge PDFs
//! (`checkin-pdf`) and the table formats (`checkin-tables`) sit above it, so
//! the central server links none of them. Its only crate of ours below it
//! is the search index (`checkin-search`), re-exported as [`search`].
//!
//! Inside, a module imports only from modules below it (`cargo xtask lint`
//! checks): `model`, `hlc`, `keyboard`, `badge`, `roster`, `error`, then
//! `change` and `claims` (what a change is, and what its sender may claim),
//! then `store`, then `engine`, `stats`, `views`, `reports` and `demo`.

pub mod badge;
pub mod change;
pub mod claims;
pub mod demo;
pub mod engine;
pub mod error;
pub mod hlc;
pub mod keyboard;
pub mod model;
pub mod reports;
pub mod roster;
pub use checkin_search as search;
pub mod stats;
pub mod store;
pub mod views;
