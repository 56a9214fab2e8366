//! The one place every change passes through. A desk's own edits and the
//! changes it receives from other desks are both applied by [`apply`]; local
//! ones also land in the outbox (`changes` rows with origin `local`) that the
//! sync client ships. Applying is idempotent by change id and converges: the
//! result does not depend on the order changes arrive in. The change types
//! themselves live in [`crate::change`] and are re-exported here.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::facts;
pub use crate::change::*;

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
                       email, phone, days, notes, badge_issue, hlc, attention)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT(id) DO UPDATE SET full_name = excluded.full_name, latin_name = excluded.latin_name,
                       organization = excluded.organization, position = excluded.position,
                       category = excluded.category, email = excluded.email, phone = excluded.phone,
                       days = excluded.days, notes = excluded.notes, attention = excluded.attention,
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
                    hlc,
                    a.attention
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
        Change::Enrolled(e) => {
            if let Some(public) = e.public() {
                tx.prepare_cached(
                    "INSERT INTO enrolled_devices (device_id, role, public_key, name, hlc) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(device_id) DO UPDATE SET role = excluded.role, public_key = excluded.public_key,
                       name = excluded.name, hlc = excluded.hlc
                     WHERE excluded.hlc > enrolled_devices.hlc",
                )?
                .execute(params![
                    e.device_id.to_string(),
                    e.role.as_str(),
                    public.as_slice(),
                    e.name,
                    hlc
                ])?;
            }
        }
        Change::Category(edit) => {
            let c = &edit.category;
            tx.prepare_cached(
                "INSERT INTO categories (event_id, code, label_ru, label_en, color, days, removed, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(event_id, code) DO UPDATE SET label_ru = excluded.label_ru,
                   label_en = excluded.label_en, color = excluded.color, days = excluded.days,
                   removed = excluded.removed, hlc = excluded.hlc
                 WHERE excluded.hlc > categories.hlc",
            )?
            .execute(params![
                event_id,
                c.code,
                c.label_ru,
                c.label_en,
                c.color,
                json(&c.days),
                edit.removed,
                hlc
            ])?;
        }
        Change::Proposal(p) => {
            let stamps: std::collections::BTreeMap<&str, &str> = super::proposals::FIELDS
                .iter()
                .map(|f| (*f, hlc.as_str()))
                .collect();
            tx.prepare_cached(
                "INSERT INTO proposals (id, island_id, author, attendee_id, title, text, topics, consent,
                   status, device_id, at_ms, field_hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', ?9, ?10, ?11) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                p.id.to_string(),
                p.island_id.to_string(),
                json(&p.author),
                p.author.attendee_id.map(|a| a.to_string()),
                p.title,
                p.text,
                json(&p.topics),
                p.consent,
                p.device_id.to_string(),
                p.at_ms,
                json(&stamps)
            ])?;
            super::proposals::reindex(tx, p.id)?;
        }
        Change::ProposalEdit(e) => {
            super::proposals::apply_edit(tx, e, &env.hlc, env.device_id)?;
        }
        Change::IslandTopics(t) => {
            tx.prepare_cached(
                "INSERT INTO island_topics (island_id, topics, hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT(island_id) DO UPDATE SET topics = excluded.topics, hlc = excluded.hlc
                 WHERE excluded.hlc > island_topics.hlc",
            )?
            .execute(params![t.island_id.to_string(), json(&t.topics), hlc])?;
        }
        Change::KioskPin(pin) => {
            tx.prepare_cached(
                "INSERT INTO kiosk_pin (event_id, hash, hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT(event_id) DO UPDATE SET hash = excluded.hash, hlc = excluded.hlc
                 WHERE excluded.hlc > kiosk_pin.hlc",
            )?
            .execute(params![event_id, pin.hash, hlc])?;
        }
        Change::HubKey(h) => {
            // Like a desk key: logged everywhere, trusted only with its proof.
            if let Ok(public) = h.check(env.event_id, env.device_id) {
                tx.prepare_cached(
                    "INSERT INTO hub_keys (hub_id, public_key, coordinator_id, name, tls_fp, active, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(hub_id) DO UPDATE SET public_key = excluded.public_key,
                       coordinator_id = excluded.coordinator_id, name = excluded.name,
                       tls_fp = excluded.tls_fp, active = excluded.active, hlc = excluded.hlc
                     WHERE excluded.hlc > hub_keys.hlc",
                )?
                .execute(params![
                    h.hub_id.to_string(),
                    public.as_slice(),
                    env.device_id.to_string(),
                    h.name,
                    h.tls_fp.to_ascii_lowercase(),
                    h.active,
                    hlc
                ])?;
            }
        }
        Change::BadgePrinted(p) => {
            let print_id = p.id.to_string();
            let device_id = p.device_id.to_string();
            let mut st = tx.prepare_cached(
                "INSERT INTO badge_prints (print_id, attendee_id, issue, layout, device_id, at_ms, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?;
            for b in &p.badges {
                st.execute(params![
                    print_id,
                    b.attendee_id.to_string(),
                    b.issue,
                    p.layout,
                    device_id,
                    p.at_ms,
                    p.reason
                ])?;
            }
        }
    }
    Ok(())
}
