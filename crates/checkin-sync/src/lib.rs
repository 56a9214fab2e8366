//! Sync between desks and the central server or a hall hub: the wire
//! protocol ([`protocol`]), the desk's client ([`client`]) and finding hubs
//! on the local network ([`discovery`]). This crate is the only part of a
//! desk that does network IO; the core stays offline. Feature `client`
//! (default) is the client and discovery; without it only the protocol types.
//!
//! It depends on the core and nothing else of ours. It must never depend on
//! the server, nor on the desk's other trades (the QR decoder, badge PDFs,
//! table formats): the server and the hall hub link this crate, and they
//! must stay free of those (`cargo xtask lint`).

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod discovery;
pub mod protocol;
#[cfg(feature = "client")]
pub mod tls;

#[cfg(feature = "client")]
pub use client::{
    Connection, Desk, DeskClock, Link, Pairing, Route, SyncClient, SyncError, SyncHandle, SyncStatus, spawn,
};
pub use protocol::Role;
