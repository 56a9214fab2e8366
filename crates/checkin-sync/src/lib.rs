//! Sync between desks and the central server: the wire protocol
//! ([`protocol`]) and the desk's client ([`client`]). This crate is the only
//! part of a desk that does network IO; the core stays offline. Feature
//! `client` (default) is the client; without it only the protocol types.

#[cfg(feature = "client")]
pub mod client;
pub mod protocol;

#[cfg(feature = "client")]
pub use client::{
    Connection, Desk, DeskClock, Pairing, SyncClient, SyncError, SyncHandle, SyncStatus, spawn,
};
pub use protocol::Role;
