//! Sync between desks and the central server or a hall hub: the wire
//! protocol ([`protocol`]), the desk's client ([`client`]) and finding hubs
//! on the local network ([`discovery`]). This crate is the only part of a
//! desk that does network IO; the core stays offline.

pub mod client;
pub mod discovery;
pub mod protocol;

pub use client::{
    Connection, Desk, DeskClock, Link, Pairing, Route, SyncClient, SyncError, SyncHandle, SyncStatus, spawn,
};
pub use protocol::Role;
