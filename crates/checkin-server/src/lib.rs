//! The central sync server (axum). It stores every desk's changes in one
//! ordered log per event and hands them out by cursor; it never interprets
//! more of a change than it needs to check who may send it. Storage is a
//! trait ([`storage::Storage`]) with SQLite and PostgreSQL implementations.
//!
//! It depends on the core (to check changes and compute statistics) and the
//! sync crate (protocol; with `hub`, the client that relays upstream), and
//! must never depend on the QR decoder, badge PDFs or table formats: a
//! server stores and relays, so `cargo tree -p checkin-server` lists no
//! krilla, rxing, calamine or rust_xlsxwriter (`cargo xtask lint` checks).
//!
//! Routes (see `openapi.json`, served at `/openapi.json`):
//! `GET /health`, `POST /v1/pair`, `POST /v1/pairing-codes`, `GET /v1/devices`,
//! `POST /v1/devices/{id}/revoke`, `POST /v1/push`, `GET /v1/pull`,
//! `GET /v1/live` (server-sent events), `GET /v1/stats` (statistics computed
//! by the core over the log, see [`stats`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use checkin_core::change::SERVER_AUTHOR;
use checkin_sync::protocol::*;
use futures_util::Stream;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use uuid::Uuid;

pub mod decode;
#[cfg(feature = "hub")]
pub mod hub;
pub mod stats;
pub mod storage;
#[cfg(feature = "tls")]
pub mod tls;

use storage::{NewDevice, NewPairing, Storage, StorageError};

/// The OpenAPI 3.1 document of this server's HTTP API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The shared state of one server instance.
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    /// Bumped after every stored push; live streams wait on it. Other
    /// instances' pushes are found by the streams' periodic poll.
    head: watch::Sender<u64>,
    /// The address desks should use (goes into pairing QR codes).
    pub public_url: String,
    /// The SHA-256 fingerprint of this server's TLS certificate, when it
    /// serves a self-signed one: pairing links carry it and desks pin it.
    pub tls_fingerprint: std::sync::RwLock<Option<String>>,
    /// In-memory replicas that answer `/v1/stats`.
    stats: stats::Replicas,
    /// Set when this instance is a hall hub (see [`hub`]).
    pub hub: Option<HubState>,
    /// Added to this machine's clock in every `server_time_ms`: a hub takes
    /// the central server's time, so desks on the hub agree with desks on
    /// the server.
    clock_offset_ms: AtomicI64,
}

/// What a hub instance knows about itself, for `/health`.
pub struct HubState {
    pub event_id: Uuid,
    /// The hub's Ed25519 public key (a coordinator published it as a
    /// `hub_key` change); desks sign their proofs for it.
    pub public_key: [u8; 32],
    pub upstream_online: AtomicBool,
    /// 0: never.
    pub upstream_last_ms: AtomicI64,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, public_url: String) -> Arc<AppState> {
        Arc::new(AppState {
            storage,
            head: watch::channel(0).0,
            public_url,
            tls_fingerprint: Default::default(),
            stats: stats::Replicas::default(),
            hub: None,
            clock_offset_ms: AtomicI64::new(0),
        })
    }

    /// The state of a hall hub serving `event_id` with the key `public_key`.
    pub fn new_hub(
        storage: Arc<dyn Storage>,
        public_url: String,
        event_id: Uuid,
        public_key: [u8; 32],
    ) -> Arc<AppState> {
        Arc::new(AppState {
            storage,
            head: watch::channel(0).0,
            public_url,
            tls_fingerprint: Default::default(),
            stats: stats::Replicas::default(),
            hub: Some(HubState {
                event_id,
                public_key,
                upstream_online: AtomicBool::new(false),
                upstream_last_ms: AtomicI64::new(0),
            }),
            clock_offset_ms: AtomicI64::new(0),
        })
    }

    /// This server's time: the machine's clock, corrected on a hub.
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// The fingerprint pairing links carry (a self-signed certificate).
    pub fn set_tls_fingerprint(&self, fp: Option<String>) {
        *self.tls_fingerprint.write().unwrap_or_else(|p| p.into_inner()) = fp;
    }

    pub fn set_clock_offset_ms(&self, offset: i64) {
        self.clock_offset_ms.store(offset, Ordering::Relaxed);
    }

    /// Wake the live streams: new changes were stored (a hub calls this
    /// after storing what it pulled from the central server).
    pub fn changed(&self) {
        self.head.send_modify(|h| *h += 1);
    }

    /// A receiver that sees every [`AppState::changed`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Refuse what only the central server may do (a hub cannot pair or
    /// revoke: its device list is a copy).
    fn central_only(&self, what: &str) -> ApiResult<()> {
        if self.hub.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "hub",
                format!("this is a hall hub: {what} on the central server"),
            ));
        }
        Ok(())
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An API error: `{"error": {"code", "message"}}` with an HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            format!("the server's database failed: {e}; desks keep their changes and retry"),
        )
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn hash_secret(s: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(s.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source works");
    b
}

/// A new device token: 32 random bytes, base32.
pub fn new_token() -> String {
    data_encoding::BASE32_NOPAD.encode(&random_bytes::<32>())
}

const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A new pairing code `XXXX-XXXX` (31 unambiguous characters: ~40 bits).
pub fn new_pairing_code() -> String {
    let b = random_bytes::<8>();
    let chars: String = b
        .iter()
        .map(|x| CODE_ALPHABET[*x as usize % CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// Codes are compared without dashes, spaces or case; O/0 and I/1/L read alike.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// Create a pairing code and store its hash.
pub async fn issue_pairing_code(
    state: &AppState,
    role: Role,
    event_id: Option<Uuid>,
    ttl_minutes: u32,
) -> ApiResult<PairingCode> {
    issue_pairing_code_for(state, role, event_id, ttl_minutes, None).await
}

/// [`issue_pairing_code`], for re-pairing one existing device when
/// `device_id` is set.
pub async fn issue_pairing_code_for(
    state: &AppState,
    role: Role,
    event_id: Option<Uuid>,
    ttl_minutes: u32,
    device_id: Option<Uuid>,
) -> ApiResult<PairingCode> {
    let code = new_pairing_code();
    let now = now_ms();
    let expires = now + i64::from(ttl_minutes) * 60_000;
    state
        .storage
        .create_pairing(NewPairing {
            code_hash: hash_secret(&normalise_code(&code)),
            role,
            event_id,
            created_at_ms: now,
            expires_at_ms: expires,
            device_id,
        })
        .await?;
    let fp = state
        .tls_fingerprint
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let uri = pairing_uri(&state.public_url, &code, fp.as_deref());
    let qr_svg = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Ok(PairingCode {
        code,
        role,
        event_id: event_id.unwrap_or_default(),
        expires_at_ms: expires,
        pairing_uri: uri,
        qr_svg,
    })
}

/// The authenticated device of a request. The central server takes the
/// device's bearer token; a hall hub takes only a desk's signature made for
/// this hub's key ([`decode::hub_proof`]) and never a token, so nothing a
/// desk shows a hub works anywhere else.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<DeviceInfo> {
    check_version(headers)?;
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let device = if let Some(hub) = &state.hub {
        let proof = decode::hub_proof(auth, &hub.public_key, hub.event_id, state.now_ms())?;
        let device = state
            .storage
            .devices()
            .await?
            .into_iter()
            .find(|d| d.id == proof.device && d.event_id == hub.event_id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "this hub does not know the desk yet: sync once with the central server, or wait for the hub to hear of it",
                )
            })?;
        if !proof.verify(&device.public_key) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the desk's signature does not match its key: pair this desk again",
            ));
        }
        device
    } else {
        let token = auth
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "no device token: pair this desk with a code from the coordinator",
                )
            })?;
        state
            .storage
            .device_by_token(&hash_secret(token))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "unknown device token: pair this desk again with a new code",
                )
            })?
    };
    if device.revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "this desk was revoked by a coordinator: ask them for a new pairing code",
        ));
    }
    Ok(device)
}

fn require(device: &DeviceInfo, role: Role) -> ApiResult<()> {
    if device.role == role {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this needs the {} role and this desk is a {}: ask a coordinator",
            role.as_str(),
            device.role.as_str()
        )))
    }
}

fn check_version(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get(VERSION_HEADER).map(|v| v.to_str().unwrap_or("?")) {
        None => Ok(()),
        Some(v) if v == PROTOCOL_VERSION.to_string() => Ok(()),
        Some(v) => Err(ApiError::bad(
            "protocol_version",
            format!(
                "this server speaks sync protocol {PROTOCOL_VERSION}, the desk sent {v}: update whichever of the two is older (desks and server go together)"
            ),
        )),
    }
}

fn content_encoding(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    headers
        .get(header::CONTENT_ENCODING)
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::bad(
                    "bad_request",
                    "the Content-Encoding header is not text: send gzip or nothing",
                )
            })
        })
        .transpose()
}

fn body_or_limit(body: Result<Bytes, axum::extract::rejection::BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            decode::too_large()
        } else {
            ApiError::bad("bad_request", e.body_text())
        }
    })
}

async fn health(State(state): State<Arc<AppState>>) -> ApiResult<Json<Health>> {
    let log_id = state.storage.log_id().await?;
    Ok(Json(Health {
        status: "ok".into(),
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        server_time_ms: state.now_ms(),
        log_id: Some(log_id),
        hub: state.hub.as_ref().map(|h| HubHealth {
            event_id: h.event_id,
            upstream_online: h.upstream_online.load(Ordering::Relaxed),
            upstream_last_ms: Some(h.upstream_last_ms.load(Ordering::Relaxed)).filter(|&t| t > 0),
            public_key: data_encoding::HEXLOWER.encode(&h.public_key),
        }),
    }))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn pair(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<PairResponse>> {
    check_version(&headers)?;
    state.central_only("pair desks")?;
    let (req, code) = decode::pair_request(content_encoding(&headers)?, &body_or_limit(body)?)?;
    let invalid = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_code",
            "this pairing code is unknown, used or expired: ask the coordinator for a new one",
        )
    };
    let code = code.ok_or_else(invalid)?;
    let redeemed = state
        .storage
        .redeem_pairing(&hash_secret(&code), now_ms())
        .await?
        .ok_or_else(invalid)?;
    let event_id = match (redeemed.event_id, req.event_id) {
        (Some(e), _) => e,
        (None, Some(e)) => e,
        (None, None) => {
            return Err(ApiError::bad(
                "no_event",
                "this first coordinator desk has no event yet: create the event on it, then pair again with a new code",
            ));
        }
    };
    if redeemed.device_id.is_some_and(|d| d != req.device_id) {
        return Err(invalid());
    }
    let public_key: [u8; 32] = data_encoding::HEXLOWER_PERMISSIVE
        .decode(req.public_key.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad(
                "bad_request",
                "the desk's public key is not 32 bytes of hex: update the app",
            )
        })?;
    let token = new_token();
    let paired_at = now_ms();
    let saved = state
        .storage
        .save_device(
            NewDevice {
                id: req.device_id,
                name: req.device_name.clone(),
                role: redeemed.role,
                event_id,
                token_hash: hash_secret(&token),
                paired_at_ms: paired_at,
                public_key,
            },
            redeemed.device_id == Some(req.device_id),
        )
        .await?;
    if saved == storage::Saved::Taken {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "device_exists",
            "a desk with this id is already paired, and this code was not made for it: pair from a new, empty database, or ask the coordinator for a re-pairing code for that desk",
        ));
    }
    // The enrolment goes into the event's log, signed by this server: every
    // desk learns the new desk's role and key from it, through hubs too.
    let secret = state.storage.server_secret().await?;
    let now = state.now_ms();
    let mut env = checkin_core::change::ChangeEnvelope {
        id: checkin_core::model::new_id_by(SERVER_AUTHOR, chrono::Utc::now()),
        event_id,
        hlc: checkin_core::hlc::Hlc {
            ms: now,
            counter: 0,
            node: SERVER_AUTHOR,
        },
        device_id: SERVER_AUTHOR,
        change: checkin_core::change::Change::Enrolled(checkin_core::change::Enrollment {
            device_id: req.device_id,
            role: redeemed.role,
            public_key: data_encoding::HEXLOWER.encode(&public_key),
            name: req.device_name.clone(),
            at_ms: paired_at,
        }),
        sig: None,
    };
    env.sign(&secret);
    state
        .storage
        .push(event_id, vec![decode::row(&env)], paired_at)
        .await?;
    state.changed();
    Ok(Json(PairResponse {
        device_id: req.device_id,
        token,
        role: redeemed.role,
        event_id,
        server_time_ms: state.now_ms(),
        server_key: data_encoding::HEXLOWER.encode(&checkin_core::badge::public_from_secret(&secret)),
    }))
}

async fn pairing_codes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<PairingCode>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    state.central_only("make pairing codes")?;
    let body = body_or_limit(body)?;
    let req: PairingCodeRequest =
        serde_json::from_slice(&decode::body_bytes(content_encoding(&headers)?, &body)?)
            .map_err(|e| ApiError::bad("bad_request", format!("the request body is not valid: {e}")))?;
    if req.event_id != device.event_id {
        return Err(ApiError::forbidden(
            "a coordinator pairs desks for their own event only",
        ));
    }
    let ttl = req.ttl_minutes.unwrap_or(30);
    if !(1..=1440).contains(&ttl) {
        return Err(ApiError::bad(
            "bad_request",
            "ttl_minutes must be between 1 and 1440",
        ));
    }
    if let Some(id) = req.device_id {
        let known = state.storage.devices().await?.into_iter().find(|d| d.id == id);
        if known.is_none_or(|d| d.event_id != device.event_id) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such device at this event to re-pair: refresh the device list",
            ));
        }
    }
    Ok(Json(
        issue_pairing_code_for(&state, req.role, Some(req.event_id), ttl, req.device_id).await?,
    ))
}

async fn devices(State(state): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Json<Vec<DeviceInfo>>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    let all = state.storage.devices().await?;
    Ok(Json(
        all.into_iter()
            .filter(|d| d.event_id == device.event_id)
            .collect(),
    ))
}

async fn revoke_device(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceInfo>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    state.central_only("revoke desks")?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::bad("bad_request", "the device id is not a UUID"))?;
    let target = state.storage.devices().await?.into_iter().find(|d| d.id == id);
    match target {
        Some(t) if t.event_id == device.event_id => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such device at this event: refresh the device list",
            ));
        }
    }
    let revoked = state.storage.revoke_device(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such device: refresh the device list",
        )
    })?;
    Ok(Json(revoked))
}

async fn push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<PushResponse>> {
    let device = authenticate(&state, &headers).await?;
    let req = decode::push_request(content_encoding(&headers)?, &body_or_limit(body)?)?;
    // Check every change before storing any: a bad push stores nothing.
    // Signatures first, on a blocking thread and outside the event's lock
    // (they need nothing of the event); then the claims, under it.
    let now = state.now_ms();
    let event_id = req.event_id;
    let req = Arc::new(req);
    let (sender, signed_req) = (device.clone(), req.clone());
    let signed = tokio::task::spawn_blocking(move || decode::signed_push(&sender, &signed_req))
        .await
        .expect("verifying signatures does not panic");
    let checked = match signed {
        Err(e) => Err(e),
        Ok(()) => {
            let sender = device.clone();
            state
                .stats
                .with_facts(state.storage.as_ref(), event_id, move |facts| {
                    decode::claimed_push(&sender, &req, facts, now)
                })
                .await?
        }
    };
    let rows = match checked {
        Ok(rows) => rows,
        Err((e, refusal)) => {
            if refusal.is_some() {
                state.storage.count_refused(device.id, 1).await?;
            }
            return Err(e);
        }
    };
    store_admitted(&state, &device, event_id, rows, Vec::new()).await
}

/// Store the checked rows of a push or relay (idempotent by change id: the
/// very same change again is a duplicate; another body under a stored id
/// is a conflict, refused and counted), wake the live streams, note that
/// the sender was seen, and answer.
async fn store_admitted(
    state: &AppState,
    sender: &DeviceInfo,
    event_id: Uuid,
    rows: Vec<storage::NewChange>,
    mut refusals: Vec<checkin_core::claims::Refusal>,
) -> ApiResult<Json<PushResponse>> {
    let now = now_ms();
    let authors: std::collections::HashMap<Uuid, Uuid> = rows.iter().map(|r| (r.id, r.device_id)).collect();
    let outcome = if rows.is_empty() {
        Default::default()
    } else {
        state.storage.push(event_id, rows, now).await?
    };
    if outcome.accepted > 0 {
        state.changed();
    }
    for id in &outcome.conflicts {
        refusals.push(checkin_core::claims::Refusal {
            change: *id,
            author: authors.get(id).copied().unwrap_or(sender.id),
            code: "conflict",
            message: "another change is stored under this id: the stored one is kept, this one refused"
                .into(),
        });
    }
    let mut per_author: std::collections::HashMap<Uuid, u64> = std::collections::HashMap::new();
    for r in &refusals {
        *per_author.entry(r.author).or_default() += 1;
    }
    for (author, n) in per_author {
        state.storage.count_refused(author, n).await?;
    }
    state.storage.touch_device(sender.id, now).await?;
    Ok(Json(PushResponse {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        server_time_ms: state.now_ms(),
        refused: refusals.iter().map(decode::refused).collect(),
    }))
}

/// `POST /v1/relay`: a hub (a coordinator device) hands over changes other
/// desks gave it. Each is checked against its own author (signature, role,
/// revocation as of its time, claims); the good ones are stored, the others
/// refused one by one, so one forged change never holds up the rest.
async fn relay(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<PushResponse>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    state.central_only("relay changes")?;
    // Unpacked, parsed, versioned and bounded as a push is.
    let req = decode::push_request(content_encoding(&headers)?, &body_or_limit(body)?)?;
    if req.event_id != device.event_id {
        return Err(ApiError::forbidden("this hub is paired with another event"));
    }
    let devices: std::collections::HashMap<Uuid, DeviceInfo> = state
        .storage
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let now = state.now_ms();
    let event_id = req.event_id;
    let changes = Arc::new(req.changes);
    let to_verify = changes.clone();
    let signed = tokio::task::spawn_blocking(move || decode::signed_relayed(&devices, event_id, &to_verify))
        .await
        .expect("verifying signatures does not panic");
    let (rows, refusals) = state
        .stats
        .with_facts(state.storage.as_ref(), event_id, move |facts| {
            decode::claimed_relayed(&changes, &signed, facts, now)
        })
        .await?;
    // A change that is not what its named author signed (or names no
    // device of the event) is the relaying hub's doing: counted against the
    // hub's coordinator desk, never against the honest desk it names. A
    // change its author did sign, claiming what it may not, is the author's.
    let mut refusals = refusals;
    for r in &mut refusals {
        if matches!(r.code, "bad_signature" | "unknown_author" | "wrong_event") {
            r.author = device.id;
        }
    }
    store_admitted(&state, &device, event_id, rows, refusals).await
}

/// `GET /v1/device-records`: the event's devices with token hashes and
/// revocations, for a hub to authenticate desks while the internet is down.
async fn device_records(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<DeviceRecord>>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    state.central_only("device records come")?;
    Ok(Json(state.storage.device_records(device.event_id).await?))
}

#[derive(Deserialize)]
struct PullQuery {
    event: Uuid,
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

fn page_json(page: &storage::Page, server_time_ms: i64) -> String {
    let mut s = String::with_capacity(page.changes.iter().map(|c| c.len() + 1).sum::<usize>() + 96);
    s.push_str("{\"changes\":[");
    for (i, c) in page.changes.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(c);
    }
    s.push_str(&format!(
        "],\"cursor\":{},\"more\":{},\"server_time_ms\":{}}}",
        page.cursor, page.more, server_time_ms
    ));
    s
}

fn pull_query(q: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<PullQuery> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad(
            "bad_request",
            format!("{}; expected ?event=<uuid>&after=<cursor>", e.body_text()),
        )
    })
}

async fn pull(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let device = authenticate(&state, &headers).await?;
    let q = pull_query(q)?;
    if q.event != device.event_id {
        return Err(ApiError::forbidden("this desk is paired with another event"));
    }
    let limit = q.limit.unwrap_or(MAX_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    let page = state.storage.pull(q.event, q.after.max(0), limit).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        page_json(&page, state.now_ms()),
    )
        .into_response())
}

#[derive(Deserialize)]
struct StatsQuery {
    event: Uuid,
    /// `YYYY-MM-DD`, `all`, or absent for today in the event's time zone.
    day: Option<String>,
}

impl From<stats::StatsError> for ApiError {
    fn from(e: stats::StatsError) -> ApiError {
        match e {
            stats::StatsError::Storage(e) => e.into(),
            stats::StatsError::NoEvent => ApiError::new(StatusCode::NOT_FOUND, "no_event", e.to_string()),
            e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "stats", e.to_string()),
        }
    }
}

/// The event's statistics (coordinators only), computed by the core from the
/// stored log: the same numbers a fully synced desk shows.
async fn get_stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<checkin_core::stats::Stats>> {
    let device = authenticate(&state, &headers).await?;
    require(&device, Role::Coordinator)?;
    let q = q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad(
            "bad_request",
            format!("{}; expected ?event=<uuid>&day=<YYYY-MM-DD|all>", e.body_text()),
        )
    })?;
    if q.event != device.event_id {
        return Err(ApiError::forbidden("this desk is paired with another event"));
    }
    let days = match q.day.as_deref().map(str::trim) {
        None | Some("") | Some("today") => stats::Days::Today,
        Some("all") => stats::Days::All,
        Some(d) => stats::Days::One(d.parse().map_err(|_| {
            ApiError::bad(
                "bad_request",
                format!("day {d:?} is not a date: use YYYY-MM-DD or all"),
            )
        })?),
    };
    let stats = state
        .stats
        .stats(state.storage.as_ref(), q.event, days, chrono::Utc::now())
        .await?;
    Ok(Json(stats))
}

/// How often a live stream looks for changes pushed to other instances.
const LIVE_POLL: Duration = Duration::from_millis(1000);

async fn live(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let device = authenticate(&state, &headers).await?;
    let q = pull_query(q)?;
    if q.event != device.event_id {
        return Err(ApiError::forbidden("this desk is paired with another event"));
    }
    let device_id = device.id;
    let mut head = state.head.subscribe();
    let stream = async_stream(move |tx| async move {
        let mut cursor = q.after.max(0);
        let mut checked = std::time::Instant::now();
        loop {
            // A revoked desk is cut off within a second, not at its next
            // request (checked at most once a second: a busy hub wakes
            // every stream on every push).
            if checked.elapsed() >= LIVE_POLL {
                checked = std::time::Instant::now();
                match state.storage.devices().await {
                    Ok(all) if all.iter().any(|d| d.id == device_id && !d.revoked) => {}
                    _ => return,
                }
            }
            loop {
                let page = match state.storage.pull(q.event, cursor, MAX_PULL_LIMIT).await {
                    Ok(p) => p,
                    Err(_) => return,
                };
                if page.changes.is_empty() {
                    break;
                }
                cursor = page.cursor;
                let more = page.more;
                if tx
                    .send(
                        SseEvent::default()
                            .event("changes")
                            .data(page_json(&page, state.now_ms())),
                    )
                    .await
                    .is_err()
                {
                    return;
                }
                if !more {
                    break;
                }
            }
            let _ = tokio::time::timeout(LIVE_POLL, head.changed()).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(4))))
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(f(tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint: see /openapi.json",
    )
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/v1/pair", post(pair))
        .route("/v1/pairing-codes", post(pairing_codes))
        .route("/v1/devices", get(devices))
        .route("/v1/devices/{id}/revoke", post(revoke_device))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/live", get(live))
        .route("/v1/stats", get(get_stats))
        .route("/v1/relay", post(relay))
        .route("/v1/device-records", get(device_records))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}

/// Serve `app` over TLS on `listener`.
#[cfg(feature = "tls")]
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_config(config);
    axum_server::from_tcp_rustls(listener.into_std()?, config)
        .serve(app.into_make_service())
        .await
}

/// Storage chosen from the command line: a PostgreSQL URL or a SQLite file.
pub async fn open_storage(
    database_url: Option<&str>,
    sqlite_path: &std::path::Path,
) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match database_url {
        #[cfg(feature = "postgres")]
        Some(url) => Arc::new(storage::postgres::PgStorage::connect(url).await?),
        #[cfg(not(feature = "postgres"))]
        Some(_) => {
            return Err(StorageError::Pool(
                "this server was built without PostgreSQL (feature `postgres`): use the SQLite file".into(),
            ));
        }
        None => Arc::new(storage::sqlite::SqliteStorage::open(sqlite_path)?),
    })
}

/// A server bound to an address, ready to run.
pub struct Server {
    pub state: Arc<AppState>,
    pub listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
}

impl Server {
    /// Bind `listen` (port 0 picks a free port). `public_url` defaults to
    /// `http://{bound address}`.
    pub async fn bind(
        storage: Arc<dyn Storage>,
        listen: &str,
        public_url: Option<String>,
    ) -> std::io::Result<Server> {
        Self::bind_scheme(storage, listen, public_url, "http").await
    }

    /// [`Server::bind`], the public address defaulting to
    /// `{scheme}://{bound address}`.
    pub async fn bind_scheme(
        storage: Arc<dyn Storage>,
        listen: &str,
        public_url: Option<String>,
        scheme: &str,
    ) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(
            storage,
            public_url.unwrap_or_else(|| format!("{scheme}://{addr}")),
        );
        Ok(Server {
            state,
            listener,
            addr,
        })
    }

    /// A one-time code for the first coordinator desk, when there is none yet.
    pub async fn bootstrap_code(&self) -> Result<Option<PairingCode>, ApiError> {
        if self.state.storage.has_coordinator().await? {
            return Ok(None);
        }
        issue_pairing_code(&self.state, Role::Coordinator, None, 24 * 60)
            .await
            .map(Some)
    }

    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(self.listener, router(self.state)).await
    }

    /// Serve HTTPS with a certificate and key in PEM files (rustls).
    #[cfg(feature = "tls")]
    pub async fn run_tls(self, cert: &std::path::Path, key: &std::path::Path) -> std::io::Result<()> {
        let identity = tls::Identity {
            cert_pem: std::fs::read_to_string(cert)?,
            key_pem: std::fs::read_to_string(key)?,
        };
        self.run_tls_identity(&identity, false).await
    }

    /// Serve HTTPS with `identity`. With `pin`, pairing links carry the
    /// certificate's fingerprint (a self-signed certificate desks pin).
    #[cfg(feature = "tls")]
    pub async fn run_tls_identity(self, identity: &tls::Identity, pin: bool) -> std::io::Result<()> {
        let config = identity.server_config().map_err(std::io::Error::other)?;
        if pin {
            self.state
                .set_tls_fingerprint(Some(identity.fingerprint().map_err(std::io::Error::other)?));
        }
        serve_tls(self.listener, router(self.state), config).await
    }
}
