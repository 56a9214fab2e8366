//! What a change is: the envelope every desk signs and the kinds of change
//! it can carry. Plain data and pure checks; applying a change is the
//! store's (`store::changes`), deciding whether its sender may claim it is
//! [`crate::claims`]'s.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::hlc::Hlc;
use crate::model::{Attendee, CategoryEdit, CheckIn, Device, Event, Location, Role};

/// The author id of changes the central server makes itself
/// ([`Change::Enrolled`]), signed with the server's key.
pub const SERVER_AUTHOR: Uuid = Uuid::nil();

/// A change with the metadata every desk needs to apply it the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEnvelope {
    /// Idempotency key: applying the same id twice changes nothing. Made by
    /// `model::new_id_by` for the author, so no one else can use it.
    pub id: Uuid,
    pub event_id: Uuid,
    pub hlc: Hlc,
    /// The author: the desk that made the change ([`SERVER_AUTHOR`] for the
    /// server's own).
    pub device_id: Uuid,
    #[serde(flatten)]
    pub change: Change,
    /// The author's Ed25519 signature over [`ChangeEnvelope::signed_bytes`],
    /// base64. Made when the change leaves its desk; a receiver verifies it
    /// with the author's key (from the server's enrolment) before anything
    /// else, so whoever relays a change cannot alter or invent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// Prepended to what an author signs; never the prefix of another signed
/// message of this project (badges, desk key proofs, hub key proofs).
pub const CHANGE_DOMAIN: &[u8] = b"checkin-change-v1\0";

/// The envelope without its signature, as signed.
#[derive(Serialize)]
struct Unsigned<'a> {
    id: &'a Uuid,
    event_id: &'a Uuid,
    hlc: &'a Hlc,
    device_id: &'a Uuid,
    #[serde(flatten)]
    change: &'a Change,
}

/// Why a change's signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the change carries no signature: update the desk that made it")]
    Missing,
    #[error("the signature is not 64 bytes of base64")]
    Malformed,
    #[error("the author's key is not a valid Ed25519 key")]
    BadKey,
    #[error("the signature does not match the change and its author: it was altered, or forged")]
    Invalid,
}

impl ChangeEnvelope {
    /// What the author signs: [`CHANGE_DOMAIN`] and the envelope's JSON
    /// without `sig`, as this crate writes it (a receiver re-writes the
    /// change it parsed, so any edit that changes what it means changes
    /// these bytes).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(CHANGE_DOMAIN);
        serde_json::to_writer(
            &mut out,
            &Unsigned {
                id: &self.id,
                event_id: &self.event_id,
                hlc: &self.hlc,
                device_id: &self.device_id,
                change: &self.change,
            },
        )
        .expect("plain data always serialises");
        out
    }

    /// Sign as the author whose secret key this is.
    pub fn sign(&mut self, secret: &[u8; 32]) {
        let sig = SigningKey::from_bytes(secret).sign(&self.signed_bytes());
        self.sig = Some(data_encoding::BASE64.encode(&sig.to_bytes()));
    }

    fn signature(&self) -> Result<Signature, SignatureError> {
        let sig = self.sig.as_deref().ok_or(SignatureError::Missing)?;
        let bytes: [u8; 64] = data_encoding::BASE64
            .decode(sig.as_bytes())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureError::Malformed)?;
        Ok(Signature::from_bytes(&bytes))
    }

    /// Check the signature against the author's public key.
    pub fn verify(&self, public: &[u8; 32]) -> Result<(), SignatureError> {
        let key = VerifyingKey::from_bytes(public).map_err(|_| SignatureError::BadKey)?;
        key.verify_strict(&self.signed_bytes(), &self.signature()?)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Check a detached Ed25519 signature (a desk proving itself to a hub).
pub fn verify_detached(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(public)
        .ok()
        .filter(|k| !k.is_weak())
        .is_some_and(|k| k.verify_strict(msg, &Signature::from_bytes(sig)).is_ok())
}

/// A desk's identity key in a form the sync client can sign with, without
/// reaching into the store (see `Store::identity_signer`).
#[derive(Clone)]
pub struct IdentitySigner(SigningKey);

impl IdentitySigner {
    pub fn new(secret: &[u8; 32]) -> IdentitySigner {
        IdentitySigner(SigningKey::from_bytes(secret))
    }
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}

impl std::fmt::Debug for IdentitySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentitySigner({})", hex(&self.public()))
    }
}

/// Verify many signed changes at once, each with its author's key. Batch
/// verification (about half the cost of one by one) when all are good;
/// when the batch fails, each is checked alone so the answer says which.
/// `None` for a key: the author is unknown.
///
/// A large set (a page of a download or a live stream) is split across the
/// machine's cores, each part one batch.
pub fn verify_all(items: &[(&ChangeEnvelope, Option<[u8; 32]>)]) -> Vec<Result<(), SignatureError>> {
    /// Below this, one batch on this thread: a thread costs more than it saves.
    const PARALLEL_FROM: usize = 512;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if items.len() < PARALLEL_FROM || threads < 2 {
        return verify_batch(items);
    }
    let part = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(part)
            .map(|chunk| scope.spawn(move || verify_batch(chunk)))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("verifying signatures does not panic"))
            .collect()
    })
}

/// [`verify_all`] on this thread, as one batch.
fn verify_batch(items: &[(&ChangeEnvelope, Option<[u8; 32]>)]) -> Vec<Result<(), SignatureError>> {
    let mut out: Vec<Result<(), SignatureError>> = Vec::with_capacity(items.len());
    let mut messages = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    let mut batch_of = Vec::with_capacity(items.len());
    // A page holds many changes of few authors: each key is decompressed
    // once (about a fifth of the cost of a change in a batch).
    let mut decompressed: std::collections::HashMap<[u8; 32], Option<VerifyingKey>> =
        std::collections::HashMap::new();
    for (i, (env, key)) in items.iter().enumerate() {
        let prepared = (|| {
            let key = key.ok_or(SignatureError::BadKey)?;
            let key = (*decompressed
                .entry(key)
                .or_insert_with(|| VerifyingKey::from_bytes(&key).ok().filter(|k| !k.is_weak())))
            .ok_or(SignatureError::BadKey)?;
            Ok((key, env.signature()?))
        })();
        match prepared {
            Ok((key, sig)) => {
                messages.push(env.signed_bytes());
                sigs.push(sig);
                keys.push(key);
                batch_of.push(i);
                out.push(Ok(()));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    if keys.is_empty() {
        return out;
    }
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    if ed25519_dalek::verify_batch(&refs, &sigs, &keys).is_err() {
        for (j, &i) in batch_of.iter().enumerate() {
            if keys[j].verify_strict(refs[j], &sigs[j]).is_err() {
                out[i] = Err(SignatureError::Invalid);
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Change {
    Event(EventRecord),
    Location(Location),
    Device(Device),
    /// Attendee fields, last writer wins by HLC. Never changes `revoked`.
    Attendee(Attendee),
    /// Revoke or restore a person. Ordered only against other revocations,
    /// so an edit never undoes a revocation.
    Revocation {
        attendee_id: Uuid,
        revoked: bool,
        reason: String,
    },
    /// One badge (attendee + issue) is no longer accepted.
    BadgeRevoked {
        attendee_id: Uuid,
        issue: u8,
        reason: String,
        at_ms: i64,
    },
    CheckIn(CheckIn),
    Annulment(Annulment),
    Scan(ScanRecord),
    /// Badges sent to print (or into a PDF for printing): the print log.
    /// Only grows; a badge counts as printed once any desk has logged it.
    BadgePrinted(BadgePrint),
    /// A desk's own badge key (walk-in badges at volunteer desks), bound to
    /// the desk that sends it. Desks take it only with a valid proof.
    DeviceKey(DeviceKey),
    /// A coordinator revoked a desk: badges signed with its keys are refused
    /// from now on, except those the print log shows it printed. Only grows.
    DeviceRevoked {
        device_id: Uuid,
        reason: String,
        at_ms: i64,
    },
    /// The central server paired a device: its role and the public key its
    /// changes are signed with. Made and signed by the server only
    /// ([`SERVER_AUTHOR`]); a desk trusts it because it holds the server's
    /// key from pairing.
    Enrolled(Enrollment),
    /// A coordinator authorised (or, with `active: false`, withdrew) a hall
    /// hub: desks talk to a hub only over TLS whose key is an active one of
    /// these, from a coordinator who is not revoked.
    HubKey(HubKey),
    /// A coordinator added, edited or removed one of the event's categories
    /// (last writer wins per code; see [`crate::model::CategoryEdit`]).
    Category(CategoryEdit),
    /// A coordinator set the kiosks' exit PIN (see [`KioskPin`]).
    KioskPin(KioskPin),
    /// A participant's proposal as an island's host (or a coordinator) took
    /// it down; always created `new`, by the desk it names.
    Proposal(crate::model::Proposal),
    /// An edit of a proposal: each field last writer wins by HLC; a status
    /// is set by the edit's desk at the edit's time.
    ProposalEdit(crate::model::ProposalEdit),
    /// A coordinator set an island's topics (last writer wins per island).
    IslandTopics(crate::model::IslandTopics),
}

/// A paired device as the central server vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: Uuid,
    pub role: Role,
    /// The device's Ed25519 public key, 32 bytes, hex.
    pub public_key: String,
    pub name: String,
    pub at_ms: i64,
}

impl Enrollment {
    pub fn public(&self) -> Option<[u8; 32]> {
        unhex32(&self.public_key)
    }
}

/// A hall hub's key as a coordinator publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubKey {
    /// The hub's own id (made when the coordinator started it).
    pub hub_id: Uuid,
    /// The hub's Ed25519 public key (its TLS certificate's key), 32 bytes, hex.
    pub public_key: String,
    /// [`hub_key_proof`] by the hub's secret key, 64 bytes, hex.
    pub proof: String,
    /// The name shown in Diagnostics.
    pub name: String,
    /// SHA-256 of the hub's TLS certificate (hex): desks pin it.
    pub tls_fp: String,
    /// `false`: the hub was stopped for good.
    pub active: bool,
}

/// Prepended to what a hub key signs to prove it is held.
pub const HUB_KEY_DOMAIN: &[u8] = b"checkin-hub-key-v1\0";

fn hub_key_message(event_id: Uuid, coordinator: Uuid, hub_id: Uuid, public: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(HUB_KEY_DOMAIN.len() + 80);
    msg.extend_from_slice(HUB_KEY_DOMAIN);
    msg.extend_from_slice(event_id.as_bytes());
    msg.extend_from_slice(coordinator.as_bytes());
    msg.extend_from_slice(hub_id.as_bytes());
    msg.extend_from_slice(public);
    msg
}

/// The hub key's proof that it is held, bound to the event, the
/// coordinator who authorises it and the hub's id.
pub fn hub_key_proof(secret: &[u8; 32], event_id: Uuid, coordinator: Uuid, hub_id: Uuid) -> [u8; 64] {
    let key = SigningKey::from_bytes(secret);
    let public = key.verifying_key().to_bytes();
    key.sign(&hub_key_message(event_id, coordinator, hub_id, &public))
        .to_bytes()
}

impl HubKey {
    /// The public key, when the proof binds it to this event, coordinator
    /// and hub.
    pub fn check(&self, event_id: Uuid, coordinator: Uuid) -> Result<[u8; 32], String> {
        let public = unhex32(&self.public_key).ok_or("the hub key is not 32 bytes of hex")?;
        let proof: [u8; 64] = data_encoding::HEXLOWER_PERMISSIVE
            .decode(self.proof.as_bytes())
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or("the hub key's proof is not 64 bytes of hex")?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| "the hub key is not an Ed25519 key")?;
        if key.is_weak() {
            return Err("the hub key is weak".into());
        }
        key.verify_strict(
            &hub_key_message(event_id, coordinator, self.hub_id, &public),
            &Signature::from_bytes(&proof),
        )
        .map_err(|_| "the hub key's proof does not match".to_string())?;
        Ok(public)
    }
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Event(_) => "event",
            Change::Location(_) => "location",
            Change::Device(_) => "device",
            Change::Attendee(_) => "attendee",
            Change::Revocation { .. } => "revocation",
            Change::BadgeRevoked { .. } => "badge_revoked",
            Change::CheckIn(_) => "checkin",
            Change::Annulment(_) => "annulment",
            Change::Scan(_) => "scan",
            Change::BadgePrinted(_) => "badge_printed",
            Change::DeviceKey(_) => "device_key",
            Change::DeviceRevoked { .. } => "device_revoked",
            Change::Enrolled(_) => "enrolled",
            Change::HubKey(_) => "hub_key",
            Change::Category(_) => "category",
            Change::KioskPin(_) => "kiosk_pin",
            Change::Proposal(_) => "proposal",
            Change::ProposalEdit(_) => "proposal_edit",
            Change::IslandTopics(_) => "island_topics",
        }
    }

    pub fn entity_id(&self) -> Uuid {
        match self {
            Change::Event(e) => e.event.id,
            Change::Location(l) => l.id,
            Change::Device(d) => d.id,
            Change::Attendee(a) => a.id,
            Change::Revocation { attendee_id, .. } => *attendee_id,
            Change::BadgeRevoked { attendee_id, .. } => *attendee_id,
            Change::CheckIn(c) => c.id,
            Change::Annulment(a) => a.id,
            Change::Scan(s) => s.id,
            Change::BadgePrinted(p) => p.id,
            Change::DeviceKey(k) => k.device_id,
            Change::DeviceRevoked { device_id, .. } => *device_id,
            Change::Enrolled(e) => e.device_id,
            Change::HubKey(h) => h.hub_id,
            Change::Category(c) => category_entity(&c.category.code),
            Change::KioskPin(_) => kiosk_pin_entity(),
            Change::Proposal(p) => p.id,
            Change::ProposalEdit(e) => e.id,
            Change::IslandTopics(t) => t.island_id,
        }
    }
}

/// The entity id of a category in the change log: a name-based UUID of
/// its code, the same on every desk.
pub fn category_entity(code: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("checkin-category:{code}").as_bytes(),
    )
}

/// The entity id of the kiosk PIN in the change log (one per event).
pub fn kiosk_pin_entity() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, b"checkin-kiosk-pin")
}

/// An event with its public keys (secret keys never travel in changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub event: Event,
    pub keys: Vec<PublicKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    pub key_id: u8,
    /// 32 bytes, hex.
    pub public_key: String,
}

/// A desk's badge key as published (see `docs/badge-format.md`, "Desk keys").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// The desk that holds the secret: the change's own `device_id`.
    pub device_id: Uuid,
    /// 128–255 ([`crate::badge::DEVICE_KEY_IDS`]).
    pub key_id: u8,
    /// 32 bytes, hex.
    pub public_key: String,
    /// [`crate::badge::device_key_proof`], 64 bytes, hex.
    pub proof: String,
}

impl DeviceKey {
    /// Whether this key may be trusted as `env`'s: bound to the desk that
    /// made the change, for its event, with a proof made by the secret key.
    pub fn check(&self, event_id: Uuid, sender: Uuid) -> Result<[u8; 32], String> {
        if self.device_id != sender {
            return Err("a desk publishes only its own badge key".into());
        }
        let public = unhex32(&self.public_key).ok_or("the public key is not 32 bytes of hex")?;
        let proof: [u8; 64] = data_encoding::HEXLOWER_PERMISSIVE
            .decode(self.proof.as_bytes())
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or("the proof is not 64 bytes of hex")?;
        crate::badge::check_device_key(event_id, self.device_id, self.key_id, &public, &proof)
            .map_err(|e| e.to_string())?;
        Ok(public)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annulment {
    pub id: Uuid,
    pub checkin_id: Uuid,
    pub reason: String,
    pub device_id: Uuid,
    pub at_ms: i64,
}

/// One scan attempt and its verdict, kept whatever the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub id: Uuid,
    pub location_id: Uuid,
    pub device_id: Uuid,
    pub at_ms: i64,
    pub payload: String,
    pub verdict: String,
    pub reason: String,
    pub attendee_id: Option<Uuid>,
    pub checkin_id: Option<Uuid>,
}

/// One print job: the badges in it, where and when it was printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgePrint {
    pub id: Uuid,
    pub device_id: Uuid,
    pub at_ms: i64,
    /// `a6`, `a4-8` or `label-62x100` (see [`crate::pdf::Layout`]).
    pub layout: String,
    pub badges: Vec<PrintedBadge>,
    /// Why a badge already printed was printed again (lost, damaged, a
    /// misprint), as the volunteer gave it; absent for a first print.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The PIN that takes a kiosk out of kiosk mode, as a coordinator set it:
/// only its Argon2id hash (PHC string) travels. Last writer wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskPin {
    pub hash: String,
    pub at_ms: i64,
}

impl KioskPin {
    /// Longest hash a `kiosk_pin` change may carry (a PHC string is ~100).
    pub const HASH_MAX: usize = 200;

    /// Whether the hash is an Argon2id PHC string within bounds.
    pub fn hash_ok(&self) -> bool {
        self.hash.len() <= Self::HASH_MAX
            && argon2::password_hash::PasswordHash::new(&self.hash)
                .is_ok_and(|h| h.algorithm == argon2::ARGON2ID_IDENT && h.salt.is_some() && h.hash.is_some())
    }
}

/// A badge is a person at one issue: a replacement badge is a new badge that
/// has not been printed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedBadge {
    pub attendee_id: Uuid,
    pub issue: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    Remote,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

pub(crate) fn unhex32(s: &str) -> Option<[u8; 32]> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .ok()?
        .try_into()
        .ok()
}
