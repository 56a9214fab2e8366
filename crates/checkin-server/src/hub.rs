//! A hall hub: the same sync service as the central server (this crate's
//! router over a SQLite [`SqliteStorage`]), run by a coordinator desk on the
//! local network so the desks of a hall keep seeing each other while the
//! internet is down.
//!
//! * Desks push to and pull from the hub exactly as from the central server;
//!   the hub numbers changes in its own log (its own `log_id`), so a desk
//!   keeps one cursor per log and can move between hub and server freely.
//! * The hub relays upstream whenever the central server is reachable:
//!   changes desks gave it go up through `POST /v1/relay` (idempotent by
//!   change id), changes from the central server come down by pull and live
//!   stream and are stored marked `from_upstream`, so they are never sent
//!   back. Both directions keep their cursors in the hub's database and move
//!   them only after the other side has the changes: a hub killed at any
//!   moment re-sends or re-stores (harmless duplicates), never skips.
//! * It authenticates desks with the central server's device records
//!   (token hashes, roles, revocations), fetched with the coordinator's
//!   token on every round and every 5 s while connected, and kept on disk:
//!   a hub restarted while the internet is down still knows every desk. A
//!   revocation reaches the hub at its next refresh.
//! * Pairing and revoking stay on the central server (the hub answers
//!   `409 hub`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use checkin_core::store::changes::ChangeEnvelope;
use checkin_sync::SyncError;
use checkin_sync::client::{SyncClient, backoff};
use checkin_sync::discovery::{self, Advertisement, MdnsOptions};
use checkin_sync::protocol::{MAX_PULL_LIMIT, MAX_PUSH_CHANGES};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::storage::sqlite::SqliteStorage;
use crate::storage::{NewChange, Storage, StorageError};
use crate::{AppState, now_ms, router};

/// How often a connected hub refreshes device records and pushes what is
/// waiting, even when nothing woke it.
const REFRESH: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the hub's database: {0}")]
    Storage(#[from] StorageError),
    #[error("cannot listen on {addr}: {source}; choose another --listen address or port")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Discovery(#[from] discovery::DiscoveryError),
    #[error("the hub database {0} belongs to another event: give this event's hub a new --data file")]
    OtherEvent(PathBuf),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// How a hub is started.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The central server.
    pub upstream: String,
    /// The token of the coordinator device running the hub.
    pub token: String,
    /// The central server's pinned certificate fingerprint (hex), from the
    /// coordinator desk's pairing; `None`: the usual certificate authorities.
    pub upstream_fp: Option<String>,
    pub event_id: Uuid,
    /// Where desks reach it, e.g. `0.0.0.0:8788` (port 0: any free port).
    pub listen: String,
    /// The hub's own SQLite file.
    pub data: PathBuf,
    /// The address to announce, when not `https://{bound address}`.
    pub public_url: Option<String>,
    /// Announce the hub by mDNS under this instance name.
    pub mdns: Option<(MdnsOptions, String)>,
}

/// The hub's link to the central server, for the coordinator's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    Connecting,
    Online,
    Offline,
    /// The central server refused the hub's coordinator token.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubStatus {
    pub url: String,
    pub upstream: Upstream,
    pub upstream_url: String,
    /// Changes relayed to the central server since start.
    pub relayed: u64,
    /// Changes received from the central server since start.
    pub received: u64,
    /// Devices the hub can authenticate.
    pub devices: usize,
    pub last_upstream_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A running hub. Dropping it does not stop it; call [`Hub::shutdown`].
pub struct Hub {
    pub addr: SocketAddr,
    pub url: String,
    /// The hub's id and key pair, made with its database. The coordinator
    /// desk that runs it publishes the public key (`Store::record_hub_key`
    /// with [`Hub::secret`]); desks talk to it only once they have that.
    pub hub_id: Uuid,
    secret: [u8; 32],
    /// SHA-256 of the hub's TLS certificate (hex), published with its key.
    pub tls_fingerprint: String,
    pub state: Arc<AppState>,
    pub status: watch::Receiver<HubStatus>,
    server: JoinHandle<()>,
    relay: JoinHandle<()>,
    advertisement: Option<Advertisement>,
}

impl Hub {
    /// Open the hub's database, listen, start relaying (needs a tokio
    /// runtime) and, when asked, announce the hub by mDNS.
    pub async fn start(cfg: HubConfig) -> Result<Hub, HubError> {
        let storage = Arc::new(SqliteStorage::open(&cfg.data)?);
        match storage.meta("event_id").await? {
            Some(e) if e != cfg.event_id.to_string() => return Err(HubError::OtherEvent(cfg.data.clone())),
            Some(_) => {}
            None => storage.set_meta("event_id", &cfg.event_id.to_string()).await?,
        }
        let (hub_id, secret) = hub_identity(&storage).await?;
        let public_key = checkin_core::badge::public_from_secret(&secret);
        let tls = hub_certificate(&storage).await?;
        let tls_fingerprint = tls.fingerprint()?;
        let tls_config = tls.server_config()?;
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|source| HubError::Listen {
                addr: cfg.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| HubError::Listen {
            addr: cfg.listen.clone(),
            source,
        })?;
        let url = cfg
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://{addr}"));
        let state = AppState::new_hub(storage.clone(), url.clone(), cfg.event_id, public_key);
        let app = router(state.clone());
        // Only TLS, with the certificate whose fingerprint the coordinator
        // publishes: desks pin it, so nothing else can pass for this hub.
        let server = tokio::spawn(async move {
            let _ = crate::serve_tls(listener, app, tls_config).await;
        });
        let devices = storage.devices().await?.len();
        let (tx, status) = watch::channel(HubStatus {
            url: url.clone(),
            upstream: Upstream::Connecting,
            upstream_url: cfg.upstream.clone(),
            relayed: 0,
            received: 0,
            devices,
            last_upstream_ms: None,
            last_error: None,
        });
        let relay = Relay {
            storage,
            state: state.clone(),
            client: SyncClient::pinned(
                &cfg.upstream,
                Some(&cfg.token),
                cfg.upstream_fp
                    .as_deref()
                    .and_then(checkin_sync::tls::parse_fingerprint),
            ),
            event_id: cfg.event_id,
            status: tx,
        };
        let relay = tokio::spawn(relay.run());
        let advertisement = match &cfg.mdns {
            Some((opts, name)) => {
                let addrs: Vec<IpAddr> = if addr.ip().is_unspecified() {
                    Vec::new()
                } else {
                    vec![addr.ip()]
                };
                Some(discovery::advertise(
                    *opts,
                    name,
                    cfg.event_id,
                    addr.port(),
                    &addrs,
                )?)
            }
            None => None,
        };
        Ok(Hub {
            addr,
            url,
            hub_id,
            secret,
            tls_fingerprint,
            state,
            status,
            server,
            relay,
            advertisement,
        })
    }

    /// The hub's secret key: for the coordinator's desk to prove, when it
    /// publishes the hub's key, that the key is held.
    pub fn secret(&self) -> [u8; 32] {
        self.secret
    }

    pub fn public_key(&self) -> [u8; 32] {
        checkin_core::badge::public_from_secret(&self.secret)
    }

    /// Whether the hub is announced by mDNS.
    pub fn announced(&self) -> bool {
        self.advertisement.is_some()
    }

    /// Stop serving and relaying (the database keeps everything).
    pub async fn shutdown(self) {
        drop(self.advertisement);
        self.relay.abort();
        self.server.abort();
        let _ = self.relay.await;
        let _ = self.server.await;
    }
}

/// The hub's id and secret key, made once and kept in its database.
async fn hub_identity(storage: &SqliteStorage) -> Result<(Uuid, [u8; 32]), StorageError> {
    let id = storage.meta("hub.id").await?.and_then(|v| v.parse().ok());
    let secret = storage.meta("hub.secret").await?.and_then(|v| {
        data_encoding::HEXLOWER
            .decode(v.as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
    });
    if let (Some(id), Some(secret)) = (id, secret) {
        return Ok((id, secret));
    }
    let id = Uuid::now_v7();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random source works");
    storage
        .set_meta("hub.secret", &data_encoding::HEXLOWER.encode(&secret))
        .await?;
    storage.set_meta("hub.id", &id.to_string()).await?;
    Ok((id, secret))
}

/// The hub's TLS certificate, made once and kept in its database (so its
/// fingerprint, which desks pin, stays the same across restarts).
async fn hub_certificate(storage: &SqliteStorage) -> Result<crate::tls::Identity, HubError> {
    if let (Some(cert_pem), Some(key_pem)) = (
        storage.meta("hub.tls_cert").await?,
        storage.meta("hub.tls_key").await?,
    ) {
        return Ok(crate::tls::Identity { cert_pem, key_pem });
    }
    let id = crate::tls::Identity::generate(&["checkin-hub".into()])?;
    storage.set_meta("hub.tls_key", &id.key_pem).await?;
    storage.set_meta("hub.tls_cert", &id.cert_pem).await?;
    Ok(id)
}

/// A stored change as the storage takes it.
pub(crate) fn to_row(env: &ChangeEnvelope) -> NewChange {
    NewChange {
        id: env.id,
        device_id: env.device_id,
        kind: env.change.kind().to_string(),
        hlc: env.hlc.to_string(),
        json: serde_json::to_string(env).expect("a change serialises"),
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the hub's database holds a change it cannot read: {0}")]
    Corrupt(String),
}

struct Relay {
    storage: Arc<SqliteStorage>,
    state: Arc<AppState>,
    client: SyncClient,
    event_id: Uuid,
    status: watch::Sender<HubStatus>,
}

const RELAY_CURSOR: &str = "relay.cursor";

impl Relay {
    async fn run(self) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let result = self.round().await;
            let hub = self.state.hub.as_ref().expect("a hub's state");
            hub.upstream_online.store(false, Ordering::Relaxed);
            let (upstream, error) = match &result {
                Ok(()) => (Upstream::Connecting, None),
                Err(RelayError::Sync(e)) if !e.is_transient() && !matches!(e, SyncError::Protocol(_)) => {
                    (Upstream::Refused, Some(e.to_string()))
                }
                Err(e) => (Upstream::Offline, Some(e.to_string())),
            };
            self.status.send_modify(|s| {
                s.upstream = upstream;
                s.last_error = error;
            });
            failures = if started.elapsed() > Duration::from_secs(5) {
                1
            } else {
                failures + 1
            };
            let wait = if upstream == Upstream::Refused {
                Duration::from_secs(30)
            } else {
                backoff(failures)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Catch up both ways, then follow the central server live, relaying
    /// whenever a desk pushes to the hub.
    async fn round(&self) -> Result<(), RelayError> {
        let sent = now_ms();
        let health = self.client.health().await?;
        let received = now_ms();
        self.state
            .set_clock_offset_ms(health.server_time_ms - (sent + received) / 2);
        // A cursor counts in one log: a central server on a new database
        // starts a new one.
        let cursor_key = format!(
            "upstream.cursor.{}",
            health.log_id.as_deref().unwrap_or("central")
        );
        let mut head = self.state.subscribe();
        self.refresh_devices().await?;
        self.push_up().await?;
        self.pull_down(&cursor_key).await?;
        self.online();
        let after = self.cursor(&cursor_key).await?;
        let mut stream = self.client.live(self.event_id, after).await?;
        let mut tick = tokio::time::interval(REFRESH);
        tick.tick().await;
        loop {
            tokio::select! {
                page = stream.next_page() => {
                    let Some(page) = page? else { return Ok(()) };
                    self.store_down(page.changes, page.cursor, &cursor_key).await?;
                    self.online();
                }
                changed = head.changed() => {
                    if changed.is_ok() {
                        self.push_up().await?;
                    }
                }
                _ = tick.tick() => {
                    self.refresh_devices().await?;
                    self.push_up().await?;
                    self.online();
                }
            }
        }
    }

    fn online(&self) {
        let now = self.state.now_ms();
        if let Some(hub) = &self.state.hub {
            hub.upstream_online.store(true, Ordering::Relaxed);
            hub.upstream_last_ms.store(now, Ordering::Relaxed);
        }
        self.status.send_modify(|s| {
            s.upstream = Upstream::Online;
            s.last_upstream_ms = Some(now);
            s.last_error = None;
        });
    }

    async fn cursor(&self, key: &str) -> Result<i64, RelayError> {
        Ok(self
            .storage
            .meta(key)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Take the central server's device records (new desks, new tokens,
    /// revocations).
    async fn refresh_devices(&self) -> Result<(), RelayError> {
        let records: Vec<_> = self
            .client
            .device_records()
            .await?
            .into_iter()
            .filter(|d| d.event_id == self.event_id)
            .collect();
        let n = records.len();
        self.storage.mirror_devices(records).await?;
        self.status.send_modify(|s| s.devices = n);
        Ok(())
    }

    /// Relay what desks gave the hub, oldest first; the cursor moves only
    /// after the central server acknowledged.
    async fn push_up(&self) -> Result<(), RelayError> {
        loop {
            let after = self.cursor(RELAY_CURSOR).await?;
            let page = self
                .storage
                .pull_local(self.event_id, after, MAX_PUSH_CHANGES)
                .await?;
            if page.changes.is_empty() {
                return Ok(());
            }
            let changes = page
                .changes
                .iter()
                .map(|j| {
                    serde_json::from_str::<ChangeEnvelope>(j).map_err(|e| RelayError::Corrupt(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let n = changes.len() as u64;
            self.client.relay(self.event_id, changes).await?;
            self.storage
                .set_meta(RELAY_CURSOR, &page.cursor.to_string())
                .await?;
            self.status.send_modify(|s| s.relayed += n);
            if !page.more {
                return Ok(());
            }
        }
    }

    /// Store what the central server has after the cursor.
    async fn pull_down(&self, cursor_key: &str) -> Result<(), RelayError> {
        loop {
            let after = self.cursor(cursor_key).await?;
            let page = self.client.pull(self.event_id, after, MAX_PULL_LIMIT).await?;
            let more = page.more;
            self.store_down(page.changes, page.cursor, cursor_key).await?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Store changes from upstream, then move the cursor (a crash in
    /// between stores them again as duplicates), then wake the desks.
    async fn store_down(
        &self,
        changes: Vec<ChangeEnvelope>,
        cursor: i64,
        cursor_key: &str,
    ) -> Result<(), RelayError> {
        if !changes.is_empty() {
            let rows = changes
                .iter()
                .filter(|c| c.event_id == self.event_id)
                .map(to_row)
                .collect();
            let out = self
                .storage
                .push_from_upstream(self.event_id, rows, now_ms())
                .await?;
            if out.accepted > 0 {
                self.state.changed();
                self.status.send_modify(|s| s.received += out.accepted as u64);
            }
        }
        self.storage.set_meta(cursor_key, &cursor.to_string()).await?;
        Ok(())
    }
}
