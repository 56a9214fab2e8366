//! The check-in core: everything a desk does, offline.
//!
//! Rules (see ARCHITECTURE.md): no network, no Tauri, no HTTP; the caller
//! passes the clock (`now`), file paths and the device identity.

pub mod badge;
pub mod demo;
pub mod engine;
pub mod error;
pub mod export;
pub mod hlc;
pub mod import;
pub mod model;
pub mod pdf;
pub mod scan;
pub mod search;
pub mod stats;
pub mod store;
pub mod views;
