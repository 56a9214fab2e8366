//! The sync protocol, version 1: the JSON bodies desks and servers exchange.
//! See `docs/sync-protocol.md` and the OpenAPI document the server serves at
//! `/openapi.json`.

use checkin_core::store::changes::ChangeEnvelope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Sent in every push and pull; a server refuses versions it does not speak.
/// Version 2 added gzip request bodies and desks' own badge keys
/// (`device_key`, `device_revoked` changes): desks and servers of version 1
/// cannot read those. Version 3 signs every change (`sig`), adds the
/// server's `enrolled` and the coordinators' `hub_key` changes, author-bound
/// ids, and hubs that desks prove themselves to by signature, never by
/// token (see `docs/security.md`). Version 4 adds the coordinators'
/// `category` changes (the event's own categories, edited one by one).
pub const PROTOCOL_VERSION: u32 = 6;
/// Header carrying [`PROTOCOL_VERSION`] on every request.
pub const VERSION_HEADER: &str = "x-checkin-protocol";
/// Most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 1000;
/// Largest request body a server accepts (bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest page a pull returns.
pub const MAX_PULL_LIMIT: usize = 5000;

/// What a paired device may do (the core's, since every receiver checks
/// changes against their author's role).
pub use checkin_core::model::Role;

/// The `Authorization` scheme a desk proves itself to a hall hub with. A
/// desk never sends its central-server token to a hub.
pub const HUB_AUTH_SCHEME: &str = "CheckinDesk ";

/// What a desk signs to prove itself to a hall hub: bound to that hub's key
/// and the event, and to a time the hub checks (at most 5 minutes off), so
/// it is worth nothing at the central server, at another hub, or later.
pub fn hub_auth_message(hub_key: &[u8; 32], event_id: Uuid, device_id: Uuid, ts_ms: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(96);
    m.extend_from_slice(b"checkin-hub-auth-v1\0");
    m.extend_from_slice(hub_key);
    m.extend_from_slice(event_id.as_bytes());
    m.extend_from_slice(device_id.as_bytes());
    m.extend_from_slice(&ts_ms.to_be_bytes());
    m
}

/// The `Authorization` header value for a hub.
pub fn hub_auth_header(
    signer: &checkin_core::change::IdentitySigner,
    hub_key: &[u8; 32],
    event_id: Uuid,
    device_id: Uuid,
    ts_ms: i64,
) -> String {
    let sig = signer.sign(&hub_auth_message(hub_key, event_id, device_id, ts_ms));
    format!(
        "{HUB_AUTH_SCHEME}device={device_id},ts={ts_ms},sig={}",
        data_encoding::BASE64.encode(&sig)
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairRequest {
    /// The one-time code from the coordinator (`XXXX-XXXX`).
    pub code: String,
    /// The desk's own device id (from its local database).
    pub device_id: Uuid,
    pub device_name: String,
    /// The event this desk brings (only with the server's bootstrap code,
    /// which pairs the first coordinator before any event exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// The desk's Ed25519 public key (32 bytes, hex): it signs every change
    /// the desk sends, and proves the desk to hall hubs.
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairResponse {
    pub device_id: Uuid,
    /// Bearer token for every later request. Shown once; the server keeps
    /// only its hash.
    pub token: String,
    pub role: Role,
    pub event_id: Uuid,
    pub server_time_ms: i64,
    /// The central server's Ed25519 public key (32 bytes, hex): the desk
    /// trusts the enrolments it signs, and through them every other desk's
    /// changes.
    pub server_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairingCodeRequest {
    pub event_id: Uuid,
    pub role: Role,
    /// Minutes the code stays valid (default 30, at most 1440).
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
    /// A code for re-pairing this existing device (a desk that lost its
    /// token): only then may a pairing name a device id that exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairingCode {
    pub code: String,
    pub role: Role,
    pub event_id: Uuid,
    pub expires_at_ms: i64,
    /// `checkin://pair?server=…&code=…`, what the QR holds.
    pub pairing_uri: String,
    /// The pairing URI as an SVG QR code.
    pub qr_svg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub event_id: Uuid,
    pub changes: Vec<ChangeEnvelope>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    /// Changes stored now.
    pub accepted: usize,
    /// Changes the server already had (a retry): not stored again.
    pub duplicates: usize,
    pub server_time_ms: i64,
    /// Changes refused one by one (a relay, or an id already stored with
    /// another body): never stored, counted against their author.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedChange>,
}

/// One change a server refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    pub id: Uuid,
    pub author: Uuid,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<ChangeEnvelope>,
    /// Pass back as `after` for the next page.
    pub cursor: i64,
    /// More changes wait after this page.
    pub more: bool,
    pub server_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub event_id: Uuid,
    pub paired_at_ms: i64,
    pub last_seen_ms: Option<i64>,
    pub revoked: bool,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
    /// The device's Ed25519 public key (hex), from pairing.
    pub public_key: String,
    /// Changes of this device the server or a hub refused (forged claims,
    /// bad signatures, clocks far ahead, reused ids): a desk that keeps
    /// sending them should be revoked.
    #[serde(default)]
    pub refused: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub protocol: u32,
    pub version: String,
    pub server_time_ms: i64,
    /// Identity of this server's change log (random, made with its storage).
    /// Pull cursors are numbers in one log: a desk keeps one cursor per log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// Set when this is a hall hub rather than the central server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubHealth>,
}

/// What a hall hub says about itself in `/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubHealth {
    /// The one event this hub serves.
    pub event_id: Uuid,
    /// Whether the hub reaches the central server right now.
    pub upstream_online: bool,
    /// When the hub last completed a round with the central server.
    pub upstream_last_ms: Option<i64>,
    /// The hub's public key (hex): a desk talks to it only when a
    /// coordinator authorised this key, and signs its proof for it.
    pub public_key: String,
}

/// A device as the central server shares it with a hub (a coordinator
/// device): enough to check desks' signatures while the internet is down.
/// Holds the public key, never anything derived from the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub event_id: Uuid,
    /// Ed25519, 32 bytes, hex.
    pub public_key: String,
    pub paired_at_ms: i64,
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

/// Every error a server returns: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// What a pairing link (the pairing QR) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingLink {
    pub server: String,
    pub code: String,
    /// The SHA-256 fingerprint (hex) of the server's self-signed TLS
    /// certificate: the desk pins it.
    pub fingerprint: Option<String>,
}

/// Parse `checkin://pair?server=…&code=…[&fp=…]` (what the pairing QR
/// holds).
pub fn parse_pairing_uri(uri: &str) -> Option<PairingLink> {
    let rest = uri.trim().strip_prefix("checkin://pair?")?;
    let mut server = None;
    let mut code = None;
    let mut fingerprint = None;
    for part in rest.split('&') {
        let (k, v) = part.split_once('=')?;
        let v = percent_decode(v)?;
        match k {
            "server" => server = Some(v),
            "code" => code = Some(v),
            "fp" => fingerprint = Some(v.to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(PairingLink {
        server: server?,
        code: code?,
        fingerprint,
    })
}

pub fn pairing_uri(server: &str, code: &str, fingerprint: Option<&str>) -> String {
    let mut uri = format!(
        "checkin://pair?server={}&code={}",
        percent_encode(server),
        percent_encode(code)
    );
    if let Some(fp) = fingerprint {
        uri.push_str("&fp=");
        uri.push_str(&percent_encode(fp));
    }
    uri
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_uri_round_trips() {
        let uri = pairing_uri("http://10.0.0.5:8787/base path", "ABCD-2345", None);
        assert_eq!(
            parse_pairing_uri(&uri),
            Some(PairingLink {
                server: "http://10.0.0.5:8787/base path".into(),
                code: "ABCD-2345".into(),
                fingerprint: None
            })
        );
        let fp = "ab".repeat(32);
        let uri = pairing_uri("https://10.0.0.5:8787", "ABCD-2345", Some(&fp));
        assert!(uri.ends_with(&format!("&fp={fp}")));
        assert_eq!(parse_pairing_uri(&uri).unwrap().fingerprint, Some(fp));
        assert_eq!(parse_pairing_uri("https://example.org"), None);
        assert_eq!(parse_pairing_uri("checkin://pair?server=x"), None);
    }

    #[test]
    fn roles_limit_what_may_be_pushed() {
        assert!(Role::Coordinator.may_push("event"));
        assert!(Role::Volunteer.may_push("checkin"));
        assert!(Role::Volunteer.may_push("attendee"));
        assert!(!Role::Volunteer.may_push("revocation"));
        assert!(!Role::Volunteer.may_push("event"));
        assert!(!Role::Host.may_push("attendee"));
        assert!(Role::Host.may_push("checkin"));
        // Volunteer desks print walk-in badges with their own key; only a
        // coordinator revokes a desk.
        assert!(Role::Volunteer.may_push("device_key"));
        assert!(Role::Coordinator.may_push("device_key"));
        assert!(!Role::Host.may_push("device_key"));
        assert!(!Role::Volunteer.may_push("device_revoked"));
        assert!(Role::Coordinator.may_push("device_revoked"));
    }
}
