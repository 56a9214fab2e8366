//! The one place every change passes through. A desk's own edits and the
//! changes it receives from other desks are both applied by [`apply`]; local
//! ones also land in the outbox (`changes` rows with origin `local`) that the
//! sync client ships. Applying is idempotent by change id and converges: the
//! result does not depend on the order changes arrive in.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::facts;
use crate::hlc::Hlc;
use crate::model::{Attendee, CheckIn, Device, Event, Location};

/// A change with the metadata every desk needs to apply it the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEnvelope {
    /// Idempotency key: applying the same id twice changes nothing.
    pub id: Uuid,
    pub event_id: Uuid,
    pub hlc: Hlc,
    pub device_id: Uuid,
    #[serde(flatten)]
    pub change: Change,
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
        }
    }
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

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data always serialises")
}

/// Apply one change and log it. Returns false when this change id was
/// already applied (a retry), in which case nothing changes.
pub fn apply(tx: &Transaction<'_>, env: &ChangeEnvelope, origin: Origin) -> rusqlite::Result<bool> {
    let payload = json(&env.change);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO changes (id, kind, entity_id, hlc, device_id, payload, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            env.id.to_string(),
            env.change.kind(),
            env.change.entity_id().to_string(),
            env.hlc.to_string(),
            env.device_id.to_string(),
            payload,
            match origin {
                Origin::Local => "local",
                Origin::Remote => "remote",
            }
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    materialise(tx, env)?;
    Ok(true)
}

fn materialise(tx: &Transaction<'_>, env: &ChangeEnvelope) -> rusqlite::Result<()> {
    let hlc = env.hlc.to_string();
    let event_id = env.event_id.to_string();
    match &env.change {
        Change::Event(rec) => {
            let e = &rec.event;
            tx.prepare_cached(
                "INSERT INTO events (id, name, days, timezone, categories, hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, days = excluded.days,
                   timezone = excluded.timezone, categories = excluded.categories, hlc = excluded.hlc
                 WHERE excluded.hlc > events.hlc",
            )?
            .execute(params![
                e.id.to_string(),
                e.name,
                json(&e.days),
                e.timezone,
                json(&e.categories),
                hlc
            ])?;
            for k in &rec.keys {
                if let Some(pk) = unhex32(&k.public_key) {
                    tx.prepare_cached(
                        "INSERT INTO event_keys (event_id, key_id, public_key) VALUES (?1, ?2, ?3)
                         ON CONFLICT(event_id, key_id) DO NOTHING",
                    )?
                    .execute(params![e.id.to_string(), k.key_id, pk.as_slice()])?;
                }
            }
        }
        Change::Location(l) => {
            tx.prepare_cached(
                "INSERT INTO locations (id, event_id, name, kind, allow_reentry, hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                   allow_reentry = excluded.allow_reentry, hlc = excluded.hlc
                 WHERE excluded.hlc > locations.hlc",
            )?
            .execute(params![
                l.id.to_string(),
                event_id,
                l.name,
                l.kind.as_str(),
                l.allow_reentry,
                hlc
            ])?;
        }
        Change::Device(d) => {
            tx.prepare_cached(
                "INSERT INTO devices (id, name, hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, hlc = excluded.hlc
                 WHERE excluded.hlc > devices.hlc",
            )?
            .execute(params![d.id.to_string(), d.name, hlc])?;
        }
        Change::Attendee(a) => {
            let id = a.id.to_string();
            let changed = tx
                .prepare_cached(
                    "INSERT INTO attendees (id, event_id, full_name, latin_name, organization, position, category,
                       email, phone, days, notes, badge_issue, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT(id) DO UPDATE SET full_name = excluded.full_name, latin_name = excluded.latin_name,
                       organization = excluded.organization, position = excluded.position,
                       category = excluded.category, email = excluded.email, phone = excluded.phone,
                       days = excluded.days, notes = excluded.notes,
                       badge_issue = max(attendees.badge_issue, excluded.badge_issue), hlc = excluded.hlc
                     WHERE excluded.hlc > attendees.hlc",
                )?
                .execute(params![
                    id,
                    event_id,
                    a.full_name,
                    a.latin_name,
                    a.organization,
                    a.position,
                    a.category,
                    a.email,
                    a.phone,
                    json(&a.days),
                    a.notes,
                    a.badge_issue,
                    hlc
                ])?;
            if changed > 0 {
                tx.prepare_cached("DELETE FROM ticket_codes WHERE attendee_id = ?1")?
                    .execute(params![id])?;
                for code in &a.ticket_codes {
                    // A code moves to whoever wrote it last.
                    tx.prepare_cached(
                        "INSERT INTO ticket_codes (event_id, code, attendee_id) VALUES (?1, ?2, ?3)
                         ON CONFLICT(event_id, code) DO UPDATE SET attendee_id = excluded.attendee_id",
                    )?
                    .execute(params![event_id, code, id])?;
                }
            } else {
                // Lost the last-writer race: a higher badge issue still counts.
                tx.prepare_cached("UPDATE attendees SET badge_issue = max(badge_issue, ?2) WHERE id = ?1")?
                    .execute(params![id, a.badge_issue])?;
            }
        }
        Change::Revocation {
            attendee_id,
            revoked,
            reason,
        } => {
            tx.prepare_cached(
                "INSERT INTO revocations (attendee_id, revoked, reason, hlc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(attendee_id) DO UPDATE SET revoked = excluded.revoked, reason = excluded.reason,
                   hlc = excluded.hlc
                 WHERE excluded.hlc > revocations.hlc",
            )?
            .execute(params![attendee_id.to_string(), revoked, reason, hlc])?;
        }
        Change::BadgeRevoked {
            attendee_id,
            issue,
            reason,
            at_ms,
        } => {
            tx.prepare_cached(
                "INSERT INTO revoked_badges (attendee_id, issue, reason, at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![attendee_id.to_string(), issue, reason, at_ms])?;
        }
        Change::CheckIn(c) => {
            // Check-ins only grow. An annulment that arrived first still applies.
            let annulled_by: Option<String> = tx
                .prepare_cached("SELECT id FROM annulments WHERE checkin_id = ?1 ORDER BY id LIMIT 1")?
                .query_row(params![c.id.to_string()], |r| r.get(0))
                .optional()?;
            tx.prepare_cached(
                "INSERT INTO checkins (id, event_id, attendee_id, location_id, device_id, direction, method,
                   at_ms, day, annulled_by, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                c.id.to_string(),
                event_id,
                c.attendee_id.map(|u| u.to_string()),
                c.location_id.to_string(),
                c.device_id.to_string(),
                c.direction.as_str(),
                c.method.as_str(),
                c.at.timestamp_millis(),
                c.day.to_string(),
                annulled_by,
                hlc
            ])?;
            tx.prepare_cached(
                "INSERT INTO checkin_facts (event, id, fact, flags)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT(event, id) DO NOTHING",
            )?
            .execute(params![
                env.event_id.as_bytes().as_slice(),
                c.id.as_bytes().as_slice(),
                facts::fact_bytes(c).as_slice(),
                facts::fact_flags(c.direction, annulled_by.is_some()),
            ])?;
        }
        Change::Annulment(a) => {
            tx.prepare_cached(
                "INSERT INTO annulments (id, checkin_id, reason, device_id, at_ms, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                a.id.to_string(),
                a.checkin_id.to_string(),
                a.reason,
                a.device_id.to_string(),
                a.at_ms,
                hlc
            ])?;
            // Two desks may undo the same check-in: the smallest id wins everywhere.
            tx.prepare_cached(
                "UPDATE checkins SET annulled_by = ?2
                 WHERE id = ?1 AND (annulled_by IS NULL OR annulled_by > ?2)",
            )?
            .execute(params![a.checkin_id.to_string(), a.id.to_string()])?;
            tx.prepare_cached("UPDATE checkin_facts SET flags = flags | 2 WHERE event = ?1 AND id = ?2")?
                .execute(params![
                    env.event_id.as_bytes().as_slice(),
                    a.checkin_id.as_bytes().as_slice()
                ])?;
        }
        Change::Scan(s) => {
            tx.prepare_cached(
                "INSERT INTO scans (id, event_id, location_id, device_id, at_ms, payload, verdict, reason,
                   attendee_id, checkin_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                s.id.to_string(),
                event_id,
                s.location_id.to_string(),
                s.device_id.to_string(),
                s.at_ms,
                s.payload,
                s.verdict,
                s.reason,
                s.attendee_id.map(|u| u.to_string()),
                s.checkin_id.map(|u| u.to_string())
            ])?;
        }
        Change::DeviceKey(k) => {
            // A key without a valid proof, or published for another desk,
            // is logged (so the log stays the same everywhere) but not trusted.
            if let Ok(public) = k.check(env.event_id, env.device_id) {
                tx.prepare_cached(
                    "INSERT INTO device_keys (event_id, public_key, device_id, key_id, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    event_id,
                    public.as_slice(),
                    k.device_id.to_string(),
                    k.key_id,
                    hlc
                ])?;
            }
        }
        Change::DeviceRevoked {
            device_id,
            reason,
            at_ms,
        } => {
            // The earliest revocation wins everywhere, whatever the order.
            tx.prepare_cached(
                "INSERT INTO revoked_devices (device_id, at_ms, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT(device_id) DO UPDATE SET at_ms = excluded.at_ms, reason = excluded.reason
                 WHERE (excluded.at_ms, excluded.reason) < (revoked_devices.at_ms, revoked_devices.reason)",
            )?
            .execute(params![device_id.to_string(), at_ms, reason])?;
        }
        Change::BadgePrinted(p) => {
            let print_id = p.id.to_string();
            let device_id = p.device_id.to_string();
            let mut st = tx.prepare_cached(
                "INSERT INTO badge_prints (print_id, attendee_id, issue, layout, device_id, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?;
            for b in &p.badges {
                st.execute(params![
                    print_id,
                    b.attendee_id.to_string(),
                    b.issue,
                    p.layout,
                    device_id,
                    p.at_ms
                ])?;
            }
        }
    }
    Ok(())
}
