//! Server storage behind one trait, with two implementations that pass the
//! same test suite: SQLite (embedded default) and PostgreSQL. The server
//! keeps no state of its own beyond this, so several PostgreSQL-backed
//! instances can run behind one load balancer.

use async_trait::async_trait;
use checkin_sync::protocol::{DeviceInfo, DeviceRecord, Role};
use uuid::Uuid;

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error("the storage worker stopped: restart the server")]
    WorkerGone,
    #[error("the database holds something unexpected: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// One change as the server stores it: the envelope's JSON as received, plus
/// the columns it is looked up by.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub id: Uuid,
    pub device_id: Uuid,
    pub kind: String,
    pub hlc: String,
    pub json: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    /// Ids already stored with another body (JSON) than the one pushed now:
    /// not stored, the stored one kept.
    pub conflicts: Vec<Uuid>,
}

/// A page of stored changes (their JSON), oldest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub changes: Vec<String>,
    /// The sequence number of the last change in the page (or `after`).
    pub cursor: i64,
    pub more: bool,
}

#[derive(Debug, Clone)]
pub struct NewPairing {
    pub code_hash: String,
    pub role: Role,
    /// `None`: a bootstrap code for the first coordinator, who brings the event.
    pub event_id: Option<Uuid>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// Set for a code that re-pairs this existing device (and only it).
    pub device_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Redeemed {
    pub role: Role,
    pub event_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub event_id: Uuid,
    pub token_hash: String,
    pub paired_at_ms: i64,
    /// Ed25519, 32 bytes.
    pub public_key: [u8; 32],
}

/// What [`Storage::save_device`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new device row.
    Inserted,
    /// The existing row of this device, re-paired (new token and key).
    Replaced,
    /// A device with this id exists and the code was not issued for it:
    /// nothing changed.
    Taken,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Store changes not seen before (by id), in one transaction. Every
    /// change gets the next sequence number of the server; a change id seen
    /// before is a duplicate and is not stored again.
    async fn push(&self, event_id: Uuid, changes: Vec<NewChange>, now_ms: i64) -> Result<PushOutcome>;

    /// Changes of `event_id` after sequence `after`, at most `limit`.
    async fn pull(&self, event_id: Uuid, after: i64, limit: usize) -> Result<Page>;

    async fn create_pairing(&self, p: NewPairing) -> Result<()>;

    /// Use a pairing code once: `None` if unknown, used or expired.
    async fn redeem_pairing(&self, code_hash: &str, now_ms: i64) -> Result<Option<Redeemed>>;

    /// Register a new device. Never overwrites another device: when the id
    /// exists, the row is replaced only with `replace` (a code issued for
    /// that device), else [`Saved::Taken`] and nothing changes.
    async fn save_device(&self, d: NewDevice, replace: bool) -> Result<Saved>;

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceInfo>>;

    async fn touch_device(&self, id: Uuid, now_ms: i64) -> Result<()>;

    async fn devices(&self) -> Result<Vec<DeviceInfo>>;

    /// Revoke a device: its token is refused from now on.
    async fn revoke_device(&self, id: Uuid) -> Result<Option<DeviceInfo>>;

    /// Whether any coordinator device exists (else the server offers a
    /// bootstrap code).
    async fn has_coordinator(&self) -> Result<bool>;

    /// The identity of this storage's change log, made once with the
    /// storage: a cursor is only meaningful in the log that numbered it.
    async fn log_id(&self) -> Result<String>;

    /// The devices of one event with their token hashes (what a hub needs
    /// to authenticate them while the central server is out of reach).
    async fn device_records(&self, event_id: Uuid) -> Result<Vec<DeviceRecord>>;

    /// Take device records from the central server as they are (a hub's
    /// mirror): new devices, keys, roles and revocations.
    async fn mirror_devices(&self, records: Vec<DeviceRecord>) -> Result<()>;

    /// Count `n` more refused changes against a device (audit trail; shown
    /// as `refused` in [`DeviceInfo`]).
    async fn count_refused(&self, device_id: Uuid, n: u64) -> Result<()>;

    /// This server's Ed25519 secret key, made once with the storage (so
    /// every instance over one PostgreSQL database signs with the same).
    async fn server_secret(&self) -> Result<[u8; 32]>;
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| StorageError::Corrupt(format!("unknown role {s:?}")))
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    s.parse()
        .map_err(|_| StorageError::Corrupt(format!("bad id {s:?}")))
}
