//! Sync between desks and the central server: the wire protocol
//! ([`protocol`]) and the desk's client ([`client`]). This crate is the only
//! part of a desk that does network IO; the core stays offline.

pub mod client;
pub mod protocol;

pub use client::{
    Connection, Desk, DeskClock, Pairing, SyncClient, SyncError, SyncHandle, SyncStatus, spawn,
};
pub use protocol::Role;
