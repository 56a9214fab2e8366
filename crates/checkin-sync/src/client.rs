//! The desk's sync client. The only code on a desk that touches the network.
//!
//! [`SyncClient`] does single steps (pair, push, pull) and [`spawn`] runs the
//! background task a desk keeps alive: push the outbox, pull what it missed,
//! then listen live; on any failure it goes offline, backs off with jitter and
//! tries again. The desk never waits for it: scans write locally and call
//! [`SyncHandle::kick`].

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use checkin_core::error::CoreError;
use checkin_core::model::Device;
use checkin_core::store::Store;
use checkin_core::store::changes::ChangeEnvelope;
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use rand::Rng;
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::discovery::HubDirectory;
use crate::protocol::*;

/// Keys this client keeps in the desk's `meta` table.
pub mod keys {
    pub const SERVER: &str = "sync.server";
    pub const TOKEN: &str = "sync.token";
    pub const ROLE: &str = "sync.role";
    pub const EVENT: &str = "sync.event_id";
    /// The pinned fingerprint of the server's TLS certificate.
    pub const SERVER_FP: &str = "sync.server_fp";
    pub const CURSOR: &str = "sync.cursor";
    pub const OFFSET: &str = "sync.clock_offset_ms";
    pub const LAST_SYNC: &str = "sync.last_sync_ms";
    /// A hall hub's address given by hand (tried before the central server).
    pub const HUB: &str = "sync.hub";
    /// The highest local change sequence number the central server has
    /// acknowledged itself (a hub's acknowledgement does not move it).
    pub const CENTRAL_SEQ: &str = "sync.central_seq";
    /// Prefix of a hub log's cursor: `sync.cursor.hub.<log id>`.
    pub const HUB_CURSOR_PREFIX: &str = "sync.cursor.hub.";
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "cannot reach the server {server}: {cause}; the desk keeps working offline and retries by itself"
    )]
    Unreachable {
        server: String,
        /// The error and its causes, in words.
        cause: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server sent something this desk cannot read: {0}; update the app or the server")]
    Protocol(String),
    #[error("this desk is not paired with a server: pair it with a code from the coordinator")]
    NotPaired,
    #[error("refused to send: {0}")]
    Insecure(String),
    #[error("{server} showed a TLS certificate this desk does not trust: {cause}")]
    Untrusted { server: String, cause: String },
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl SyncError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            SyncError::Unreachable { .. } => "offline",
            SyncError::Refused { code, .. } => code,
            SyncError::Protocol(_) => "protocol",
            SyncError::NotPaired => "not_paired",
            SyncError::Insecure(_) => "insecure",
            SyncError::Untrusted { .. } => "untrusted_server",
            SyncError::Core(e) => e.code(),
        }
    }

    /// Whether retrying can help (the network; a reference that another
    /// desk's change, on its way through a hub, will bring; a clock that is
    /// set right), or a person must act.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Unreachable { .. } => true,
            SyncError::Refused { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(code.as_str(), "unknown_reference" | "clock_ahead")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// Where this desk syncs to and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub server: String,
    pub token: String,
    pub role: Role,
    pub event_id: Uuid,
    /// The fingerprint of the server's self-signed certificate (hex), from
    /// the pairing link: the desk trusts only that certificate.
    pub server_fp: Option<String>,
}

impl Pairing {
    /// The pairing saved in the desk's database, if any.
    pub fn load(store: &Store) -> Result<Option<Pairing>> {
        let (Some(server), Some(token), Some(role), Some(event)) = (
            store.meta(keys::SERVER)?,
            store.meta(keys::TOKEN)?,
            store.meta(keys::ROLE)?,
            store.meta(keys::EVENT)?,
        ) else {
            return Ok(None);
        };
        let role = Role::parse(&role).ok_or_else(|| SyncError::Protocol(format!("unknown role {role:?}")))?;
        let event_id = event
            .parse()
            .map_err(|_| SyncError::Protocol(format!("bad event id {event:?}")))?;
        Ok(Some(Pairing {
            server,
            token,
            role,
            event_id,
            server_fp: store.meta(keys::SERVER_FP)?,
        }))
    }

    pub fn save(&self, store: &mut Store) -> Result<()> {
        store.set_meta(keys::SERVER, Some(&self.server))?;
        store.set_meta(keys::TOKEN, Some(&self.token))?;
        store.set_meta(keys::ROLE, Some(self.role.as_str()))?;
        store.set_meta(keys::EVENT, Some(&self.event_id.to_string()))?;
        store.set_meta(keys::SERVER_FP, self.server_fp.as_deref())?;
        Ok(())
    }

    /// A client for the central server, pinned to its certificate when the
    /// pairing link named one.
    pub fn client(&self) -> SyncClient {
        SyncClient::pinned(
            &self.server,
            Some(&self.token),
            self.server_fp.as_deref().and_then(crate::tls::parse_fingerprint),
        )
    }
}

/// A desk's clock corrected by what the server said the time was, so that a
/// desk whose clock is hours off stamps its check-ins and edits with the
/// server's time once it has talked to the server once.
#[derive(Debug, Default)]
pub struct DeskClock {
    offset_ms: AtomicI64,
}

impl DeskClock {
    pub fn new(offset_ms: i64) -> DeskClock {
        DeskClock {
            offset_ms: AtomicI64::new(offset_ms),
        }
    }

    /// The corrected time for a system clock reading.
    pub fn correct(&self, system_now: DateTime<Utc>) -> DateTime<Utc> {
        system_now + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    fn observe(&self, sent: DateTime<Utc>, received: DateTime<Utc>, server_ms: i64) {
        let mid = sent.timestamp_millis() + (received - sent).num_milliseconds() / 2;
        self.offset_ms.store(server_ms - mid, Ordering::Relaxed);
    }
}

/// The system clock, or a test's clock.
pub type SystemClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Push bodies from this size (bytes of JSON) on are sent gzip-compressed.
pub const GZIP_PUSH_FROM: usize = 16 * 1024;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .expect("compressing into memory cannot fail")
}

/// How a client proves who it is.
#[derive(Clone)]
enum Auth {
    None,
    /// The central server: the device token.
    Bearer(String),
    /// A hall hub: a fresh signature by the desk's key for that hub's key
    /// on every request. The token never goes to a hub.
    Hub(Box<HubAuth>),
}

#[derive(Clone)]
struct HubAuth {
    signer: checkin_core::change::IdentitySigner,
    hub_key: [u8; 32],
    event_id: Uuid,
    device_id: Uuid,
    /// The desk's corrected clock (the hub checks the signature's time).
    now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
}

#[derive(Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    server: String,
    auth: Auth,
    /// Set when this client must not send anything: it would carry a
    /// credential over plain HTTP to another machine.
    insecure: Option<String>,
}

/// Environment variable that lets a desk send its token over plain HTTP to
/// another machine: for tests only, and loud about it.
pub const INSECURE_HTTP_ENV: &str = "CHECKIN_INSECURE_HTTP";

impl SyncClient {
    pub fn new(server: &str, token: Option<&str>) -> SyncClient {
        Self::with_timeouts(server, token, Duration::from_secs(3), Duration::from_secs(30))
    }

    /// A client with its own connect and request timeouts (a hub on the
    /// local network answers fast or not at all).
    pub fn with_timeouts(
        server: &str,
        token: Option<&str>,
        connect: Duration,
        request: Duration,
    ) -> SyncClient {
        Self::build(
            server,
            token.map_or(Auth::None, |t| Auth::Bearer(t.to_string())),
            None,
            connect,
            request,
        )
    }

    /// A client for the central server that trusts only the certificate
    /// with this fingerprint (a self-signed one, from the pairing link);
    /// `None`: the usual certificate authorities.
    pub fn pinned(server: &str, token: Option<&str>, fingerprint: Option<[u8; 32]>) -> SyncClient {
        Self::build(
            server,
            token.map_or(Auth::None, |t| Auth::Bearer(t.to_string())),
            fingerprint.map(|f| vec![f]),
            Duration::from_secs(3),
            Duration::from_secs(30),
        )
    }

    fn build(
        server: &str,
        auth: Auth,
        pins: Option<Vec<[u8; 32]>>,
        connect: Duration,
        request: Duration,
    ) -> SyncClient {
        let server = server.trim().trim_end_matches('/').to_string();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .gzip(true);
        if let Some(pins) = pins {
            builder = builder.use_preconfigured_tls(crate::tls::pinned_config(pins));
        }
        let http = builder.build().expect("the HTTP client builds");
        let plain_remote = server.starts_with("http://") && !crate::tls::is_loopback(&server);
        let insecure = match (&auth, plain_remote) {
            (Auth::None, _) | (_, false) => None,
            _ if std::env::var(INSECURE_HTTP_ENV).as_deref() == Ok("1") => {
                eprintln!(
                    "WARNING: {INSECURE_HTTP_ENV}=1: this desk sends its credentials over plain HTTP to {server}; anyone on the network can read and reuse them. For tests only."
                );
                None
            }
            _ => Some(format!(
                "{server} is plain HTTP on another machine: the desk's token would travel in clear over the venue network. Use the https:// address from the pairing link or QR (it carries the server's fingerprint)"
            )),
        };
        SyncClient {
            http,
            server,
            auth,
            insecure,
        }
    }

    /// A client for a hall hub whose key is `hub_key`: every request carries
    /// the desk's signature for that key (see `protocol::hub_auth_header`),
    /// never its token.
    /// The hub's TLS certificate must be the one whose fingerprint the
    /// coordinator published with the key.
    #[allow(clippy::too_many_arguments)]
    pub fn for_hub(
        url: &str,
        signer: checkin_core::change::IdentitySigner,
        hub_key: [u8; 32],
        tls_fingerprint: [u8; 32],
        event_id: Uuid,
        device_id: Uuid,
        now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> SyncClient {
        Self::build(
            url,
            Auth::Hub(Box::new(HubAuth {
                signer,
                hub_key,
                event_id,
                device_id,
                now_ms,
            })),
            Some(vec![tls_fingerprint]),
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
    }

    /// A client without credentials that trusts only the given
    /// certificates (asking a hub who it is).
    pub fn probe(url: &str, fingerprints: Vec<[u8; 32]>) -> SyncClient {
        Self::build(
            url,
            Auth::None,
            Some(fingerprints),
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .header(VERSION_HEADER, PROTOCOL_VERSION.to_string());
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
            Auth::Hub(h) => {
                let ts = (h.now_ms)();
                rb = rb.header(
                    reqwest::header::AUTHORIZATION,
                    hub_auth_header(&h.signer, &h.hub_key, h.event_id, h.device_id, ts),
                );
            }
        }
        rb
    }

    async fn send<T: serde::de::DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T> {
        if let Some(why) = &self.insecure {
            return Err(SyncError::Insecure(why.clone()));
        }
        let resp = rb.send().await.map_err(|e| self.unreachable(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => (b.error.code, b.error.message),
                Err(_) => (
                    "http".to_string(),
                    String::from_utf8_lossy(&bytes).chars().take(300).collect(),
                ),
            };
            return Err(SyncError::Refused {
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))
    }

    fn unreachable(&self, e: reqwest::Error) -> SyncError {
        let mut cause = e.to_string();
        let mut next = std::error::Error::source(&e);
        while let Some(c) = next {
            cause.push_str(": ");
            cause.push_str(&c.to_string());
            next = c.source();
        }
        if cause.contains("not the one this desk was paired with") {
            return SyncError::Untrusted {
                server: self.server.clone(),
                cause,
            };
        }
        SyncError::Unreachable {
            server: self.server.clone(),
            cause,
            source: e,
        }
    }

    pub async fn health(&self) -> Result<Health> {
        self.send(self.request(reqwest::Method::GET, "/health")).await
    }

    /// Trade a one-time pairing code for a device token, registering the
    /// desk's public key.
    pub async fn pair(
        &self,
        code: &str,
        device: &Device,
        event_id: Option<Uuid>,
        public_key: &[u8; 32],
    ) -> Result<PairResponse> {
        let body = PairRequest {
            code: code.trim().to_string(),
            device_id: device.id,
            device_name: device.name.clone(),
            event_id,
            public_key: data_encoding::HEXLOWER.encode(public_key),
        };
        self.send(self.request(reqwest::Method::POST, "/v1/pair").json(&body))
            .await
    }

    pub async fn create_pairing_code(&self, req: &PairingCodeRequest) -> Result<PairingCode> {
        self.send(self.request(reqwest::Method::POST, "/v1/pairing-codes").json(req))
            .await
    }

    pub async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        self.send(self.request(reqwest::Method::GET, "/v1/devices")).await
    }

    pub async fn revoke_device(&self, id: Uuid) -> Result<DeviceInfo> {
        self.send(self.request(reqwest::Method::POST, &format!("/v1/devices/{id}/revoke")))
            .await
    }

    /// The event's statistics as the server computes them from everything
    /// uploaded (coordinators only). `day`: `YYYY-MM-DD`, `all`, or `None`
    /// for today in the event's time zone.
    pub async fn stats(&self, event_id: Uuid, day: Option<&str>) -> Result<checkin_core::stats::Stats> {
        let mut q = vec![("event", event_id.to_string())];
        if let Some(d) = day {
            q.push(("day", d.to_string()));
        }
        self.send(self.request(reqwest::Method::GET, "/v1/stats").query(&q))
            .await
    }

    pub async fn push(&self, event_id: Uuid, changes: Vec<ChangeEnvelope>) -> Result<PushResponse> {
        let body = PushRequest {
            protocol: PROTOCOL_VERSION,
            event_id,
            changes,
        };
        let json = serde_json::to_vec(&body).map_err(|e| SyncError::Protocol(e.to_string()))?;
        let rb = self
            .request(reqwest::Method::POST, "/v1/push")
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        // Venue Wi-Fi is slow: a big push goes gzip-compressed (check-ins
        // shrink about tenfold); a small one is not worth the CPU.
        let rb = if json.len() >= GZIP_PUSH_FROM {
            rb.header(reqwest::header::CONTENT_ENCODING, "gzip")
                .body(gzip(&json))
        } else {
            rb.body(json)
        };
        self.send(rb).await
    }

    pub async fn pull(&self, event_id: Uuid, after: i64, limit: usize) -> Result<PullResponse> {
        self.send(self.request(reqwest::Method::GET, "/v1/pull").query(&[
            ("event", event_id.to_string()),
            ("after", after.to_string()),
            ("limit", limit.to_string()),
        ]))
        .await
    }

    /// A hub hands over changes other desks gave it (coordinator token).
    pub async fn relay(&self, event_id: Uuid, changes: Vec<ChangeEnvelope>) -> Result<PushResponse> {
        let body = PushRequest {
            protocol: PROTOCOL_VERSION,
            event_id,
            changes,
        };
        self.send(self.request(reqwest::Method::POST, "/v1/relay").json(&body))
            .await
    }

    /// The event's devices with token hashes, for a hub (coordinator token).
    pub async fn device_records(&self) -> Result<Vec<DeviceRecord>> {
        self.send(self.request(reqwest::Method::GET, "/v1/device-records"))
            .await
    }

    /// Open the live stream of changes after `after`.
    pub async fn live(&self, event_id: Uuid, after: i64) -> Result<LiveStream> {
        if let Some(why) = &self.insecure {
            return Err(SyncError::Insecure(why.clone()));
        }
        let resp = self
            .request(reqwest::Method::GET, "/v1/live")
            .query(&[("event", event_id.to_string()), ("after", after.to_string())])
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body: Option<ErrorBody> = resp.json().await.ok();
            let (code, message) = body
                .map(|b| (b.error.code, b.error.message))
                .unwrap_or_else(|| ("http".into(), format!("HTTP {status}")));
            return Err(SyncError::Refused {
                status,
                code,
                message,
            });
        }
        Ok(LiveStream {
            client: self.clone(),
            stream: Box::pin(resp.bytes_stream().map(|r| r.map(|b| b.to_vec()))),
            buf: Vec::new(),
            start: 0,
            ended: false,
        })
    }
}

type ByteStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// A server's live stream (server-sent events), read page by page.
pub struct LiveStream {
    client: SyncClient,
    stream: ByteStream,
    buf: Vec<u8>,
    /// Where the first event not read yet starts in `buf`.
    start: usize,
    /// The server ended the stream (it is not polled again).
    ended: bool,
}

impl LiveStream {
    /// The next page of changes; `None` when the server ended the stream.
    /// Silence longer than [`LIVE_SILENCE`] is an error: the connection is
    /// dead even if TCP has not noticed. Cancel-safe: a partial event stays
    /// in the buffer.
    pub async fn next_page(&mut self) -> Result<Option<PullResponse>> {
        loop {
            if let Some(page) = self.buffered_page()? {
                return Ok(Some(page));
            }
            if self.ended {
                return Ok(None);
            }
            match tokio::time::timeout(LIVE_SILENCE, self.stream.next()).await {
                Err(_) => return Err(SyncError::Protocol("the live stream went quiet".into())),
                Ok(None) => self.ended = true,
                Ok(Some(Err(e))) => return Err(self.client.unreachable(e)),
                Ok(Some(Ok(chunk))) => self.buf.extend_from_slice(&chunk),
            }
        }
    }

    /// The next page merged with every page already received (up to
    /// [`LIVE_BATCH_BYTES`]): under load pages arrive faster than one commit
    /// each, so a hub stores them as one and a desk hands them on in one
    /// message (it writes them in chunks of its own). Cancel-safe
    /// like [`LiveStream::next_page`]: after that await nothing waits.
    pub async fn next_batch(&mut self) -> Result<Option<PullResponse>> {
        let Some(mut merged) = self.next_page().await? else {
            return Ok(None);
        };
        while !self.ended && self.buf.len() - self.start < LIVE_BATCH_BYTES {
            match self.stream.next().now_or_never() {
                Some(Some(Ok(more))) => self.buf.extend_from_slice(&more),
                Some(Some(Err(e))) => return Err(self.client.unreachable(e)),
                Some(None) => self.ended = true,
                None => break,
            }
        }
        while let Some(page) = self.buffered_page()? {
            merged.changes.extend(page.changes);
            merged.cursor = page.cursor;
            merged.more = page.more;
            merged.server_time_ms = page.server_time_ms;
        }
        Ok(Some(merged))
    }

    /// A complete page already in the buffer (keep-alive comments skipped).
    fn buffered_page(&mut self) -> Result<Option<PullResponse>> {
        // Events are read from `start` on and the buffer is shortened once
        // per call, not once per event (many pages in a few MiB).
        let mut page = None;
        while let Some(end) = find_event_end(&self.buf[self.start..]) {
            let raw = &self.buf[self.start..self.start + end];
            self.start += end;
            if let Some(data) = sse_data(raw) {
                page = Some(serde_json::from_str(&data).map_err(|e| SyncError::Protocol(e.to_string()))?);
                break;
            }
        }
        if self.start > 0 && (self.start == self.buf.len() || self.start >= LIVE_BATCH_BYTES) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(page)
    }
}

/// The server sends a keep-alive at least this often; silence longer than
/// this means the connection is dead even if TCP has not noticed.
pub const LIVE_SILENCE: Duration = Duration::from_secs(12);
/// How much already-received live data is applied in one transaction.
pub const LIVE_BATCH_BYTES: usize = 4 << 20;
/// Live batches read and parsed ahead of the one being applied.
const LIVE_PAGES_AHEAD: usize = 4;

/// Received changes written in one transaction at most: the store is
/// locked meanwhile, so the desk's own scans wait for one chunk at most.
/// Measured in the sync bench (50 desks pushing ~50,000 check-ins/s, the
/// listening desk scanning every 20 ms): chunks of 2,000 kept its scans
/// waiting up to 172 ms (p99), 1,000 up to 78 ms, 500 up to 47 ms at the
/// cost of a slower write (p99 written 1.8 / 2.2 / 2.7 s).
const LIVE_APPLY_CHUNK: usize = 1_000;
/// Received changes waiting to be written beyond which the stream is not
/// read (the server and TCP hold the rest): bounds the memory a burst takes.
/// Until then whatever arrives is heard (staged) at once; beyond it, heard
/// only as the backlog drains (at 50,000 the bench's 50-desk burst reached
/// it and heard p99 grew from ~0.1 to ~0.45 s).
const LIVE_BACKLOG_MAX: usize = 200_000;

/// Received pages not yet written, as one run of changes with each page's
/// cursor at the place its changes end.
#[derive(Default)]
struct Backlog {
    changes: std::collections::VecDeque<ChangeEnvelope>,
    /// (changes taken when this page is complete, its cursor)
    ends: std::collections::VecDeque<(usize, i64)>,
    taken: usize,
}

impl Backlog {
    fn push(&mut self, page: PullResponse) {
        self.changes.extend(page.changes);
        self.ends
            .push_back((self.taken + self.changes.len(), page.cursor));
    }

    fn len(&self) -> usize {
        self.changes.len()
    }

    /// The next chunk of at most `max` changes, with the cursor of the last
    /// page it completes (none when it ends inside a page).
    fn take(&mut self, max: usize) -> Option<(Vec<ChangeEnvelope>, Option<i64>)> {
        if self.changes.is_empty() && self.ends.is_empty() {
            return None;
        }
        let n = self.changes.len().min(max);
        let chunk: Vec<ChangeEnvelope> = self.changes.drain(..n).collect();
        self.taken += n;
        let mut cursor = None;
        while let Some(&(end, c)) = self.ends.front() {
            if end > self.taken {
                break;
            }
            cursor = Some(c);
            self.ends.pop_front();
        }
        Some((chunk, cursor))
    }
}

/// Empties the inbox when dropped (the live stream's staged pages go with
/// it).
struct ClearOnDrop(checkin_core::store::inbox::SharedInbox);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        checkin_core::store::inbox::lock(&self.0).clear();
    }
}

/// Keep the clock offset and the time of the last sync (durably).
fn note_server_seen(s: &mut Store, offset_ms: i64, now_ms: i64) -> Result<()> {
    s.set_meta(keys::OFFSET, Some(&offset_ms.to_string()))?;
    s.set_meta(keys::LAST_SYNC, Some(&now_ms.to_string()))?;
    Ok(())
}

fn join_failed(e: tokio::task::JoinError) -> SyncError {
    SyncError::Core(CoreError::Invalid(format!(
        "applying changes failed ({e}); restart the app"
    )))
}

/// Aborts a task when dropped (the live stream's reader ends with `live`).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn find_event_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2)
}

fn sse_data(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    (!data.is_empty()).then_some(data)
}

/// Pair this desk: trade the code, save the pairing in the desk's database.
pub async fn pair_desk(store: &Mutex<Store>, server: &str, code: &str) -> Result<Pairing> {
    pair_desk_pinned(store, server, code, None).await
}

/// [`pair_desk`] with the server's certificate fingerprint from the pairing
/// link: the desk talks to the server only if it shows that certificate
/// (a wrong one fails with a message that says so).
pub async fn pair_desk_pinned(
    store: &Mutex<Store>,
    server: &str,
    code: &str,
    fingerprint: Option<&str>,
) -> Result<Pairing> {
    let pin = match fingerprint {
        None => None,
        Some(fp) => Some(crate::tls::parse_fingerprint(fp).ok_or_else(|| {
            SyncError::Protocol(format!(
                "the pairing link's fingerprint {fp:?} is not 64 hex digits: scan the QR again"
            ))
        })?),
    };
    let (device, local_event, public) = {
        let s = lock(store);
        (s.device().clone(), s.event().map(|e| e.id), s.identity_public())
    };
    let client = SyncClient::pinned(server, None, pin);
    let resp = client.pair(code, &device, local_event, &public).await?;
    let server_key: [u8; 32] = data_encoding::HEXLOWER_PERMISSIVE
        .decode(resp.server_key.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SyncError::Protocol("the server sent no valid key of its own".into()))?;
    let pairing = Pairing {
        server: client.server().to_string(),
        token: resp.token,
        role: resp.role,
        event_id: resp.event_id,
        server_fp: pin.map(|p| data_encoding::HEXLOWER.encode(&p)),
    };
    let mut s = lock(store);
    if let Some(ev) = s.event()
        && ev.id != resp.event_id
    {
        return Err(SyncError::Core(CoreError::Invalid(format!(
            "this desk's database holds another event ({}); pair it with a new, empty database",
            ev.name
        ))));
    }
    pairing.save(&mut s)?;
    s.set_server_key(&server_key)?;
    s.set_meta(keys::CURSOR, None)?;
    // A newly paired desk owes the central server all it has.
    s.set_meta(keys::CENTRAL_SEQ, Some("0"))?;
    Ok(pairing)
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    // A panic while holding the lock leaves SQLite consistent (every write is
    // a transaction), so the store is safe to use again.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one sync round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoundReport {
    pub pushed: usize,
    pub pulled: usize,
    pub applied: usize,
}

/// Which way a desk syncs: straight to the central server, through a hall
/// hub, or not at all right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Server,
    Hub,
    None,
}

/// One server a desk can sync with. Each server numbers its own log, so
/// each link has its own cursor key: the central server's is `sync.cursor`,
/// a hub's is `sync.cursor.hub.<its log id>` (a hub started on a new
/// database is a new log, read from the start).
#[derive(Clone)]
pub struct Link {
    pub route: Route,
    pub client: SyncClient,
    cursor_key: String,
}

impl Link {
    pub fn url(&self) -> &str {
        self.client.server()
    }
}

/// One desk's sync work, usable step by step (CLI, tests) or from [`spawn`].
pub struct Desk {
    pub store: Arc<Mutex<Store>>,
    pub pairing: Pairing,
    /// The central server.
    pub client: SyncClient,
    pub clock: Arc<DeskClock>,
    pub system_clock: SystemClock,
    /// Hall hubs this desk may sync through (manual address, mDNS).
    pub hubs: Arc<HubDirectory>,
    applied_tx: broadcast::Sender<Vec<ChangeEnvelope>>,
    received_tx: broadcast::Sender<Vec<ChangeEnvelope>>,
}

impl Desk {
    pub fn new(store: Arc<Mutex<Store>>, pairing: Pairing, system_clock: SystemClock) -> Result<Desk> {
        let (offset, hub) = {
            let s = lock(&store);
            (
                s.meta(keys::OFFSET)?.and_then(|s| s.parse().ok()).unwrap_or(0),
                s.meta(keys::HUB)?,
            )
        };
        let client = pairing.client();
        Ok(Desk {
            store,
            pairing,
            client,
            clock: Arc::new(DeskClock::new(offset)),
            system_clock,
            hubs: Arc::new(HubDirectory::with_manual(hub)),
            applied_tx: broadcast::channel(256).0,
            received_tx: broadcast::channel(256).0,
        })
    }

    /// Corrected now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.correct((self.system_clock)())
    }

    /// Changes from other desks as they are applied here (for the UI).
    pub fn subscribe(&self) -> broadcast::Receiver<Vec<ChangeEnvelope>> {
        self.applied_tx.subscribe()
    }

    /// Changes from other desks as they arrive on the live stream: staged in
    /// the store's inbox, so verdicts already count them, and not yet
    /// written (that follows, see [`Desk::subscribe`]).
    pub fn subscribe_received(&self) -> broadcast::Receiver<Vec<ChangeEnvelope>> {
        self.received_tx.subscribe()
    }

    /// Remember a hub address given by hand (`None` forgets it); the sync
    /// task tries it before the central server from its next round on.
    pub fn set_manual_hub(&self, url: Option<&str>) -> Result<()> {
        let url = url.map(crate::discovery::normalise_url).filter(|u| !u.is_empty());
        lock(&self.store).set_meta(keys::HUB, url.as_deref())?;
        self.hubs.set_manual(url);
        Ok(())
    }

    /// The central server as a link.
    pub fn central(&self) -> Link {
        Link {
            route: Route::Server,
            client: self.client.clone(),
            cursor_key: keys::CURSOR.to_string(),
        }
    }

    /// A hub as a link, after asking it who it is: it must be a hub of this
    /// desk's event, name its log, and hold a key a coordinator of the event
    /// authorised (learnt by sync). Anything else is ignored and noted for
    /// Diagnostics. The desk proves itself to the hub with a signature made
    /// for that hub's key; its token never goes to a hub.
    pub async fn hub_link(&self, url: &str) -> Result<Link> {
        // A hub speaks only TLS (an address typed as http:// means it).
        let url = &crate::discovery::normalise_url(url);
        let (authorised, signer, device_id) = {
            let s = lock(&self.store);
            (s.authorised_hubs()?, s.identity_signer(), s.device().id)
        };
        if authorised.is_empty() {
            self.hubs.note_unknown(url);
            return Err(SyncError::Protocol(format!(
                "no hall hub is authorised for this event yet, so the one at {url} was ignored: a coordinator starts the hub, and desks learn of it by sync"
            )));
        }
        // Only a server holding one of the authorised hubs' certificates
        // gets past the TLS handshake.
        let probe = SyncClient::probe(url, authorised.iter().map(|h| h.tls_fp).collect());
        let health = match tokio::time::timeout(Duration::from_secs(3), probe.health()).await {
            Err(_) => return Err(SyncError::Protocol(format!("the hub at {url} does not answer"))),
            Ok(Err(SyncError::Untrusted { .. })) => {
                self.hubs.note_unknown(url);
                return Err(SyncError::Untrusted {
                    server: url.clone(),
                    cause: "an unknown hub announced itself there and was ignored: its certificate is not one a coordinator of this event authorised".into(),
                });
            }
            Ok(r) => r?,
        };
        let hub = health
            .hub
            .ok_or_else(|| SyncError::Protocol(format!("{url} is not a hall hub")))?;
        if hub.event_id != self.pairing.event_id {
            return Err(SyncError::Protocol(format!(
                "the hub at {url} serves another event"
            )));
        }
        let log = health
            .log_id
            .ok_or_else(|| SyncError::Protocol(format!("the hub at {url} names no log")))?;
        let key = data_encoding::HEXLOWER_PERMISSIVE
            .decode(hub.public_key.as_bytes())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        let Some(hub_record) = key.and_then(|k| authorised.iter().find(|h| h.public_key == k)) else {
            self.hubs.note_unknown(url);
            return Err(SyncError::Protocol(format!(
                "an unknown hub announced itself at {url} and was ignored: no coordinator of this event authorised its key"
            )));
        };
        Ok(Link {
            route: Route::Hub,
            client: SyncClient::for_hub(
                url,
                signer,
                hub_record.public_key,
                hub_record.tls_fp,
                self.pairing.event_id,
                device_id,
                {
                    let (clock, system) = (self.clock.clone(), self.system_clock.clone());
                    Arc::new(move || clock.correct(system()).timestamp_millis())
                },
            ),
            cursor_key: format!("{}{log}", keys::HUB_CURSOR_PREFIX),
        })
    }

    /// Whether the hub at `url` would take this desk now (it answers and
    /// knows this desk's token).
    async fn hub_usable(&self, url: &str) -> bool {
        let Ok(link) = self.hub_link(url).await else {
            return false;
        };
        tokio::time::timeout(
            Duration::from_secs(3),
            link.client.pull(self.pairing.event_id, i64::MAX, 1),
        )
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false)
    }

    /// The highest local sequence number the central server is known to
    /// have. Before hubs existed every pushed change went to the central
    /// server, so a database without the key counts everything before its
    /// first unpushed change.
    fn central_seq(s: &Store) -> Result<i64> {
        if let Some(v) = s.meta(keys::CENTRAL_SEQ)?.and_then(|v| v.parse().ok()) {
            return Ok(v);
        }
        Ok(match s.outbox(1)?.first() {
            Some((seq, _)) => seq - 1,
            None => s.outbox_status()?.last_seq,
        })
    }

    /// Push to the central server: everything local it is not known to have
    /// (the outbox, and what only a hub acknowledged: if that hub never
    /// reached the server, nothing is lost). Safe to repeat: the server
    /// ignores change ids it already has.
    pub async fn push_outbox(&self) -> Result<usize> {
        let mut pushed = 0;
        loop {
            let batch = {
                let s = lock(&self.store);
                let after = Self::central_seq(&s)?;
                s.local_changes_after(after, MAX_PUSH_CHANGES)?
            };
            let Some(&(last_seq, _)) = batch.last() else {
                return Ok(pushed);
            };
            let n = batch.len();
            let changes = batch.into_iter().map(|(_, c)| c).collect();
            let sent = (self.system_clock)();
            let resp = self.client.push(self.pairing.event_id, changes).await?;
            self.clock
                .observe(sent, (self.system_clock)(), resp.server_time_ms);
            let mut s = lock(&self.store);
            s.mark_pushed(last_seq)?;
            s.set_meta(keys::CENTRAL_SEQ, Some(&last_seq.to_string()))?;
            pushed += n;
        }
    }

    /// Push the outbox to a hub. The hub relays it; the central server's
    /// watermark stays where it is until this desk talks to it again.
    async fn push_to_hub(&self, link: &Link) -> Result<usize> {
        let mut pushed = 0;
        loop {
            let batch = lock(&self.store).outbox(MAX_PUSH_CHANGES)?;
            let Some(&(last_seq, _)) = batch.last() else {
                return Ok(pushed);
            };
            let n = batch.len();
            let changes = batch.into_iter().map(|(_, c)| c).collect();
            let sent = (self.system_clock)();
            let resp = link.client.push(self.pairing.event_id, changes).await?;
            self.clock
                .observe(sent, (self.system_clock)(), resp.server_time_ms);
            lock(&self.store).mark_pushed(last_seq)?;
            pushed += n;
        }
    }

    pub async fn push_via(&self, link: &Link) -> Result<usize> {
        match link.route {
            Route::Hub => self.push_to_hub(link).await,
            _ => self.push_outbox().await,
        }
    }

    fn cursor(&self, key: &str) -> Result<i64> {
        Ok(lock(&self.store)
            .meta(key)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Apply one page from a server and move that server's cursor, in that
    /// order, so a crash between the two only re-applies (idempotent)
    /// changes.
    async fn apply_page(&self, page: PullResponse, cursor_key: &str) -> Result<usize> {
        Ok(self
            .spawn_apply(page.changes, Some(page.cursor), cursor_key)
            .await
            .map_err(join_failed)??
            .0)
    }

    /// Apply changes (and, when given, move the cursor in the same
    /// transaction) on a blocking thread, not on the async runtime's worker:
    /// the SQLite work takes tens of milliseconds for a big page, and the
    /// desk's UI commands and, on a coordinator desk, the hall hub's server
    /// share those workers and would stall behind it.
    fn spawn_apply(
        &self,
        changes: Vec<ChangeEnvelope>,
        cursor: Option<i64>,
        cursor_key: &str,
    ) -> JoinHandle<Result<(usize, u64)>> {
        let store = self.store.clone();
        let applied_tx = self.applied_tx.clone();
        let cursor_key = cursor_key.to_string();
        let now = self.now();
        tokio::task::spawn_blocking(move || {
            // Screened before the store is locked, so the desk's own scans
            // never wait on signatures (a page screened as it arrived is
            // found in the keyring's cache of verified signatures).
            let keyring = lock(&store).keyring();
            let screened =
                checkin_core::store::keyring::lock(&keyring).screen(changes.clone(), now.timestamp_millis());
            let mut s = lock(&store);
            let cursor = cursor.map(|c| c.to_string());
            let applied =
                s.apply_screened_and_set(screened, cursor.as_deref().map(|c| (cursor_key.as_str(), c)), now)?;
            let own = s.device().id;
            // For the status bar, while the store is at hand.
            let waiting = s.outbox_status()?.waiting;
            drop(s);
            if applied > 0 && applied_tx.receiver_count() > 0 {
                let others: Vec<ChangeEnvelope> =
                    changes.into_iter().filter(|c| c.device_id != own).collect();
                if !others.is_empty() {
                    let _ = applied_tx.send(others);
                }
            }
            Ok((applied, waiting))
        })
    }

    /// Pull every page after the saved cursor from the central server.
    pub async fn pull_all(&self) -> Result<(usize, usize)> {
        self.pull_all_via(&self.central()).await
    }

    /// Pull every page after this link's cursor.
    pub async fn pull_all_via(&self, link: &Link) -> Result<(usize, usize)> {
        let (mut pulled, mut applied) = (0, 0);
        loop {
            let after = self.cursor(&link.cursor_key)?;
            let sent = (self.system_clock)();
            let page = link
                .client
                .pull(self.pairing.event_id, after, MAX_PULL_LIMIT)
                .await?;
            self.clock
                .observe(sent, (self.system_clock)(), page.server_time_ms);
            pulled += page.changes.len();
            let more = page.more;
            applied += self.apply_page(page, &link.cursor_key).await?;
            if !more {
                return Ok((pulled, applied));
            }
        }
    }

    /// Push, then pull, with the central server: one full round.
    pub async fn sync_once(&self) -> Result<RoundReport> {
        self.sync_once_via(&self.central()).await
    }

    /// Push, then pull, over one link. A desk that can print badges
    /// (volunteer or coordinator) and has no key yet makes its own once the
    /// event is here, and pushes it at once.
    pub async fn sync_once_via(&self, link: &Link) -> Result<RoundReport> {
        let mut pushed = self.push_via(link).await?;
        let (pulled, applied) = self.pull_all_via(link).await?;
        if self.ensure_badge_key()?.is_some() {
            pushed += self.push_via(link).await?;
        }
        self.saw_server()?;
        Ok(RoundReport {
            pushed,
            pulled,
            applied,
        })
    }

    /// This desk's own badge key, made when the desk's role prints badges
    /// and it cannot sign yet (see `Store::ensure_badge_key`). Returns the
    /// new key id.
    pub fn ensure_badge_key(&self) -> Result<Option<u8>> {
        if !matches!(self.pairing.role, Role::Volunteer | Role::Coordinator) {
            return Ok(None);
        }
        let now = self.now();
        let mut s = lock(&self.store);
        if s.event().is_none() {
            return Ok(None);
        }
        Ok(s.ensure_badge_key(now)?)
    }

    /// Authorise (or with `active: false` withdraw) a hall hub this
    /// coordinator desk runs: its key goes into the change log as a
    /// `hub_key` change, and up to the central server now if it answers
    /// (else with the next push). Desks talk to the hub once they have it.
    pub async fn authorise_hub(
        &self,
        hub_id: Uuid,
        secret: &[u8; 32],
        tls_fingerprint: &str,
        name: &str,
        active: bool,
    ) -> Result<()> {
        let now = self.now();
        lock(&self.store).record_hub_key(hub_id, secret, tls_fingerprint, name, active, now)?;
        match self.push_outbox().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_transient() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Revoke a desk (coordinators): the server cuts it off at once, then
    /// the revocation goes into the change log, so every desk refuses badges
    /// signed with that desk's key that it had not logged as printed.
    pub async fn revoke_device(&self, device_id: Uuid, reason: &str) -> Result<DeviceInfo> {
        let info = self.client.revoke_device(device_id).await?;
        let now = self.now();
        lock(&self.store).record_device_revoked(device_id, reason, now)?;
        self.push_outbox().await?;
        Ok(info)
    }

    fn saw_server(&self) -> Result<()> {
        note_server_seen(
            &mut lock(&self.store),
            self.clock.offset_ms(),
            self.now().timestamp_millis(),
        )
    }

    /// Listen to a link's live stream until it ends, goes quiet for too
    /// long, a push fails, `stop` is set, or (on the central server) a hub
    /// becomes usable. Pushes whenever kicked.
    async fn live(&self, link: &Link, kick: &Notify, stop: &AtomicBool, status: &StatusCell) -> Result<()> {
        let after = self.cursor(&link.cursor_key)?;
        let mut stream = link.client.live(self.pairing.event_id, after).await?;
        // The stream is read and parsed by a task of its own, so pages keep
        // arriving while earlier ones are written.
        let (page_tx, mut pages) =
            tokio::sync::mpsc::channel::<Result<Option<PullResponse>>>(LIVE_PAGES_AHEAD);
        let reader = tokio::spawn(async move {
            loop {
                let next = stream.next_batch().await;
                let last = !matches!(next, Ok(Some(_)));
                if page_tx.send(next).await.is_err() || last {
                    return;
                }
            }
        });
        let _stop_reader = AbortOnDrop(reader);
        // What arrives is staged in the inbox at once (verdicts count it from
        // then on) and written in chunks; what is still staged when this
        // returns was never written, and the cursor says so: forget it.
        let inbox = lock(&self.store).inbox();
        let _forget = ClearOnDrop(inbox.clone());
        let mut backlog = Backlog::default();
        let mut applying: Option<JoinHandle<Result<(usize, u64)>>> = None;
        let result = self
            .live_loop(
                link,
                kick,
                stop,
                status,
                &mut pages,
                &inbox,
                &mut backlog,
                &mut applying,
            )
            .await;
        // A chunk being written finishes first (its cursor stays in order).
        if let Some(h) = applying.take() {
            let _ = h.await;
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn live_loop(
        &self,
        link: &Link,
        kick: &Notify,
        stop: &AtomicBool,
        status: &StatusCell,
        pages: &mut tokio::sync::mpsc::Receiver<Result<Option<PullResponse>>>,
        inbox: &checkin_core::store::inbox::SharedInbox,
        backlog: &mut Backlog,
        applying: &mut Option<JoinHandle<Result<(usize, u64)>>>,
    ) -> Result<()> {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut probe = tokio::time::interval(HUB_PROBE);
        probe.tick().await;
        let mut hubs = self.hubs.watch();
        let on_server = link.route == Route::Server;
        let (own, keyring) = {
            let s = lock(&self.store);
            (s.device().id, s.keyring())
        };
        let mut bookkeeping: Option<JoinHandle<Result<u64>>> = None;
        let mut pushing: Option<
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize>> + Send + '_>>,
        > = None;
        let mut push_again = false;
        // Set when the stream ended or failed: write what arrived, then stop.
        let mut ended: Option<Result<()>> = None;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if applying.is_none() {
                if let Some((changes, cursor)) = backlog.take(LIVE_APPLY_CHUNK) {
                    *applying = Some(self.spawn_apply(changes, cursor, &link.cursor_key));
                } else if let Some(end) = ended.take() {
                    return end;
                }
            }
            tokio::select! {
                next = pages.recv(), if ended.is_none() && backlog.len() < LIVE_BACKLOG_MAX => {
                    match next {
                        Some(Ok(Some(mut page))) => {
                            self.clock.observe((self.system_clock)(), (self.system_clock)(), page.server_time_ms);
                            // Only what its author signed and may claim is
                            // staged for verdicts; the rest is refused (and
                            // reported) when the page is written.
                            // Verifying a page's signatures is CPU work:
                            // off the async workers, so the desk's own scans
                            // and the stream are not held up by it.
                            let (changes, now_ms, kr) =
                                (std::mem::take(&mut page.changes), self.now().timestamp_millis(), keyring.clone());
                            let screened = tokio::task::spawn_blocking(move || {
                                checkin_core::store::keyring::lock(&kr).screen(changes, now_ms)
                            })
                            .await
                            .map_err(join_failed)?;
                            page.changes = screened.accepted().to_vec();
                            if !screened.refused.is_empty() {
                                let _ = lock(&self.store).note_refused(&screened.refused, self.now());
                            }
                            checkin_core::store::inbox::lock(inbox).stage(&page.changes);
                            if self.received_tx.receiver_count() > 0 {
                                let others: Vec<ChangeEnvelope> =
                                    page.changes.iter().filter(|c| c.device_id != own).cloned().collect();
                                if !others.is_empty() {
                                    let _ = self.received_tx.send(others);
                                }
                            }
                            backlog.push(page);
                        }
                        Some(Err(e)) => ended = Some(Err(e)),
                        Some(Ok(None)) | None => ended = Some(Ok(())),
                    }
                }
                done = async { applying.as_mut().expect("guarded").await }, if applying.is_some() => {
                    *applying = None;
                    let (_, waiting) = done.map_err(join_failed)??;
                    status.online(self, waiting, link);
                }
                _ = kick.notified() => {
                    // Pushed beside the stream, not in its way (a push to a
                    // busy server takes a round trip or more).
                    if pushing.is_none() {
                        pushing = Some(Box::pin(self.push_via(link)));
                    } else {
                        push_again = true;
                    }
                }
                pushed = async { pushing.as_mut().expect("guarded").await }, if pushing.is_some() => {
                    pushing = None;
                    if pushed? > 0 {
                        status.synced(self, false, link)?;
                    }
                    if std::mem::take(&mut push_again) {
                        pushing = Some(Box::pin(self.push_via(link)));
                    }
                }
                _ = tick.tick(), if bookkeeping.is_none() => {
                    // Note the clock offset and the last sync durably, and
                    // see what waits to go up: on a blocking thread, not
                    // awaited here, since the store may be busy writing a
                    // chunk and the stream must keep being staged.
                    let (offset, now) = (self.clock.offset_ms(), self.now().timestamp_millis());
                    let store = self.store.clone();
                    bookkeeping = Some(tokio::task::spawn_blocking(move || -> Result<u64> {
                        let mut s = lock(&store);
                        note_server_seen(&mut s, offset, now)?;
                        Ok(s.outbox_status()?.waiting)
                    }));
                }
                done = async { bookkeeping.as_mut().expect("guarded").await }, if bookkeeping.is_some() => {
                    bookkeeping = None;
                    let waiting = done.map_err(join_failed)??;
                    if waiting > 0 && pushing.is_none() {
                        pushing = Some(Box::pin(self.push_via(link)));
                    }
                    status.online(self, waiting, link);
                }
                _ = probe.tick(), if on_server => {
                    if self.any_hub_usable().await {
                        return Ok(());
                    }
                }
                changed = hubs.changed(), if on_server => {
                    if changed.is_ok() && self.any_hub_usable().await {
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn any_hub_usable(&self) -> bool {
        for url in self.hubs.candidates() {
            if self.hub_usable(&url).await {
                return true;
            }
        }
        false
    }

    /// Choose a link and do a full round on it: the first hub that works,
    /// else the central server. All errors when none works.
    async fn connect(&self) -> std::result::Result<Link, Vec<SyncError>> {
        let mut errors = Vec::new();
        for url in self.hubs.candidates() {
            let round = async {
                let link = self.hub_link(&url).await?;
                self.sync_once_via(&link).await?;
                Ok::<_, SyncError>(link)
            }
            .await;
            match round {
                Ok(link) => return Ok(link),
                Err(e) => errors.push(e),
            }
        }
        let central = self.central();
        match self.sync_once_via(&central).await {
            Ok(_) => Ok(central),
            Err(e) => {
                errors.push(e);
                Err(errors)
            }
        }
    }
}

/// How often a desk on the central server checks whether a hub is back.
const HUB_PROBE: Duration = Duration::from_secs(5);

/// Online or not: what the status bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Connecting,
    Online,
    Offline,
    /// The server refused this desk (revoked, or a person must act).
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub connection: Connection,
    /// The server in use (central or hub), or the central one when offline.
    pub server: String,
    /// Through which: the central server, a hall hub, or none.
    pub route: Route,
    pub role: Role,
    /// Local changes waiting to upload.
    pub waiting: u64,
    pub last_sync_ms: Option<i64>,
    pub clock_offset_ms: i64,
    pub last_error: Option<String>,
}

struct StatusCell {
    tx: watch::Sender<SyncStatus>,
}

impl StatusCell {
    fn set(&self, f: impl FnOnce(&mut SyncStatus)) {
        self.tx.send_modify(f);
    }

    /// Show the desk as online and up to date over `link`. `persist` also
    /// writes the clock offset and last-sync time to the database (two
    /// durable writes), which the live path leaves to its 2-second tick.
    fn synced(&self, desk: &Desk, persist: bool, link: &Link) -> Result<()> {
        if persist {
            desk.saw_server()?;
        }
        let waiting = lock(&desk.store).outbox_status()?.waiting;
        self.online(desk, waiting, link);
        Ok(())
    }

    /// Show the desk as online and up to date over `link`, with `waiting`
    /// uploads (read by the caller).
    fn online(&self, desk: &Desk, waiting: u64, link: &Link) {
        let now = desk.now().timestamp_millis();
        let offset = desk.clock.offset_ms();
        self.set(|s| {
            s.connection = Connection::Online;
            s.route = link.route;
            if s.server != link.url() {
                s.server = link.url().to_string();
            }
            s.waiting = waiting;
            s.last_sync_ms = Some(now);
            s.clock_offset_ms = offset;
            s.last_error = None;
        });
    }
}

/// The running background sync of one desk.
pub struct SyncHandle {
    pub status: watch::Receiver<SyncStatus>,
    pub desk: Arc<Desk>,
    kick: Arc<Notify>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl SyncHandle {
    /// Tell the task there is something new to upload.
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Stop the task (the outbox stays on disk for next time).
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.kick.notify_one();
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Back-off after failures: 0.5 s doubling to 15 s, with ±50 % jitter so
/// desks that lost the network together do not come back in lockstep.
pub fn backoff(failures: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << failures.min(5)).min(15_000);
    let jitter = rand::rng().random_range(0.5..1.5);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// Whether an error means a person must act (the desk is revoked, or the
/// central server refused it), rather than the network or a hub being away.
fn needs_a_person(e: &SyncError, from_hub: bool) -> bool {
    match e {
        SyncError::Refused { code, .. } if code == "device_revoked" => true,
        _ if from_hub => false,
        e => !e.is_transient() && !matches!(e, SyncError::Protocol(_)),
    }
}

/// Start the background sync task for a paired desk (needs a tokio runtime).
///
/// Every round it tries the hubs it knows (manual address, then mDNS), then
/// the central server, and stays on the first that works: on a hub until the
/// hub goes away, on the central server until a hub becomes usable (checked
/// every 5 s and whenever discovery finds one).
pub fn spawn(desk: Desk) -> Result<SyncHandle> {
    let waiting = lock(&desk.store).outbox_status()?.waiting;
    let last_sync_ms = lock(&desk.store)
        .meta(keys::LAST_SYNC)?
        .and_then(|s| s.parse().ok());
    let (tx, rx) = watch::channel(SyncStatus {
        connection: Connection::Connecting,
        server: desk.pairing.server.clone(),
        route: Route::None,
        role: desk.pairing.role,
        waiting,
        last_sync_ms,
        clock_offset_ms: desk.clock.offset_ms(),
        last_error: None,
    });
    let desk = Arc::new(desk);
    let kick = Arc::new(Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let (desk, kick, stop) = (desk.clone(), kick.clone(), stop.clone());
        tokio::spawn(async move {
            let status = StatusCell { tx };
            let mut failures = 0u32;
            let mut hubs = desk.hubs.watch();
            while !stop.load(Ordering::Relaxed) {
                let started = std::time::Instant::now();
                let outcome = match desk.connect().await {
                    Ok(link) => {
                        let live = async {
                            status.synced(&desk, true, &link)?;
                            desk.live(&link, &kick, &stop, &status).await
                        }
                        .await;
                        Ok((link, live))
                    }
                    Err(errors) => Err(errors),
                };
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let waiting = lock(&desk.store).outbox_status().map(|o| o.waiting).unwrap_or(0);
                let wait = match outcome {
                    Ok((link, live)) => {
                        // The link broke (or a better one appeared): look
                        // again at once, unless it broke right away.
                        let error = live.err().map(|e| e.to_string());
                        let from = link.route;
                        status.set(|s| {
                            s.connection = Connection::Connecting;
                            s.route = Route::None;
                            s.last_error = error.map(|e| {
                                format!(
                                    "{} {}: {e}",
                                    if from == Route::Hub { "hub" } else { "server" },
                                    link.url()
                                )
                            });
                            s.waiting = waiting;
                        });
                        if started.elapsed() > Duration::from_secs(2) {
                            failures = 0;
                            continue;
                        }
                        failures += 1;
                        backoff(failures)
                    }
                    Err(errors) => {
                        let hubs_tried = errors.len() - 1;
                        let refused = errors
                            .iter()
                            .enumerate()
                            .any(|(i, e)| needs_a_person(e, i < hubs_tried));
                        // Show the central server's error: it is the one a
                        // person can act on.
                        let error = errors.last().map(|e| e.to_string());
                        let connection = if refused {
                            Connection::Refused
                        } else {
                            Connection::Offline
                        };
                        status.set(|s| {
                            s.connection = connection;
                            s.route = Route::None;
                            s.server = desk.pairing.server.clone();
                            s.last_error = error;
                            s.waiting = waiting;
                        });
                        failures += 1;
                        if refused {
                            Duration::from_secs(30)
                        } else {
                            backoff(failures)
                        }
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = kick.notified() => {}
                    _ = hubs.changed() => {}
                }
            }
        })
    };
    Ok(SyncHandle {
        status: rx,
        desk,
        kick,
        stop,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks cut pages anywhere; a cursor goes with the chunk that
    /// completes its page, never earlier.
    #[test]
    fn backlog_chunks_carry_the_cursor_of_completed_pages_only() {
        use checkin_core::hlc::Hlc;
        use checkin_core::store::changes::Change;
        let t = Utc::now();
        let change = |i: u32| ChangeEnvelope {
            sig: None,
            id: checkin_core::model::new_id(t),
            event_id: Uuid::nil(),
            hlc: Hlc {
                ms: t.timestamp_millis(),
                counter: i,
                node: Uuid::nil(),
            },
            device_id: Uuid::nil(),
            change: Change::DeviceRevoked {
                device_id: Uuid::nil(),
                reason: String::new(),
                at_ms: 0,
            },
        };
        let page = |n: u32, cursor: i64| PullResponse {
            changes: (0..n).map(change).collect(),
            cursor,
            more: false,
            server_time_ms: 0,
        };
        let mut b = Backlog::default();
        assert!(b.take(10).is_none());
        b.push(page(3, 30));
        b.push(page(4, 70));
        b.push(page(0, 71));
        b.push(page(2, 90));
        assert_eq!(b.len(), 9);
        let sizes_and_cursors: Vec<(usize, Option<i64>)> = std::iter::from_fn(|| b.take(2))
            .map(|(c, cur)| (c.len(), cur))
            .collect();
        // 2 | 1+1 (page 1 done) | 2 | 1 (page 2 done, and the empty page 3) +1 | 1 (page 4 done)
        assert_eq!(
            sizes_and_cursors,
            vec![(2, None), (2, Some(30)), (2, None), (2, Some(71)), (1, Some(90))]
        );
        assert!(b.take(2).is_none());
        b.push(page(0, 95));
        assert_eq!(b.take(2).map(|(c, cur)| (c.len(), cur)), Some((0, Some(95))));
    }

    #[test]
    fn sse_frames_are_split_and_read() {
        let buf = b": keep-alive\n\nevent: changes\ndata: {\"a\":1}\n\npartial";
        let end = find_event_end(buf).unwrap();
        assert_eq!(sse_data(&buf[..end]), None);
        let rest = &buf[end..];
        let end2 = find_event_end(rest).unwrap();
        assert_eq!(sse_data(&rest[..end2]).as_deref(), Some("{\"a\":1}"));
        assert_eq!(find_event_end(&rest[end2..]), None);
    }

    /// A desk never sends its token over plain HTTP to another machine;
    /// this machine (tests, a server on the same laptop) is fine.
    #[tokio::test]
    async fn no_token_in_clear_to_another_machine() {
        let e = SyncClient::new("http://10.0.0.5:8787", Some("secret"))
            .health()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "insecure");
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(!e.is_transient());
        // This machine is fine (tests, a server on the same laptop).
        let e = SyncClient::new("http://127.0.0.1:9", Some("secret"))
            .health()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "offline");
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        for f in 0..20 {
            let d = backoff(f).as_millis();
            let base = (500u128 << f.min(5)).min(15_000);
            assert!(d >= base / 2 && d <= base * 3 / 2, "{f}: {d}");
        }
    }

    #[test]
    fn the_desk_clock_follows_the_server() {
        let c = DeskClock::new(0);
        let sent = DateTime::from_timestamp_millis(1_000_000).unwrap();
        let received = DateTime::from_timestamp_millis(1_000_100).unwrap();
        // The server is two hours ahead of this desk.
        c.observe(sent, received, 1_000_050 + 7_200_000);
        assert_eq!(c.offset_ms(), 7_200_000);
        assert_eq!(c.correct(sent).timestamp_millis(), 1_000_000 + 7_200_000);
    }
}
