//! The check-in engine: a scan (or a pick from search) in, one verdict out,
//! recorded with its reason and durable on disk before it is returned.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::badge::{self, TokenError};
use crate::error::{CoreError, Result};
use crate::model::{Attendee, CheckIn, Direction, Location, LocationKind, Method, new_id_by};
use crate::store::changes::{Annulment, Change, ScanRecord};
use crate::store::{EventCtx, Store, checkin_from_row, parse_uuid};

/// Longest payload a scan accepts; anything longer is not a badge.
pub const MAX_PAYLOAD: usize = 1024;

/// Who the verdict is about, as the verdict card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttendeeSummary {
    pub id: Uuid,
    pub full_name: String,
    pub latin_name: Option<String>,
    pub organization: Option<String>,
    pub position: Option<String>,
    pub category: String,
    pub category_label_ru: String,
    pub category_label_en: String,
    pub category_color: String,
    /// The note for the desk, shown in its own band on the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Hold the card (with its own sound) until the volunteer dismisses it.
    pub attention: bool,
}

/// The first passage that makes a new one a repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorCheckIn {
    pub checkin_id: Uuid,
    pub at: DateTime<Utc>,
    pub location_id: Uuid,
    pub location_name: String,
    pub device_id: Uuid,
    pub device_name: String,
}

/// One verdict. Serialised with a `verdict` field naming it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Let in. `attendee` is `None` for a validly signed badge of a person
    /// this desk has not synced yet. `visit` counts passages here today.
    Admitted {
        attendee: Option<AttendeeSummary>,
        checkin_id: Uuid,
        direction: Direction,
        visit: u32,
    },
    AlreadyCheckedIn {
        attendee: Option<AttendeeSummary>,
        first: PriorCheckIn,
    },
    NotValidToday {
        attendee: Option<AttendeeSummary>,
        valid_days: Vec<NaiveDate>,
    },
    Revoked {
        attendee: Option<AttendeeSummary>,
    },
    UnknownBadge,
    WrongEvent,
    InvalidSignature,
    Malformed,
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Admitted { .. } => "admitted",
            Verdict::AlreadyCheckedIn { .. } => "already_checked_in",
            Verdict::NotValidToday { .. } => "not_valid_today",
            Verdict::Revoked { .. } => "revoked",
            Verdict::UnknownBadge => "unknown_badge",
            Verdict::WrongEvent => "wrong_event",
            Verdict::InvalidSignature => "invalid_signature",
            Verdict::Malformed => "malformed",
        }
    }

    pub fn is_admitted(&self) -> bool {
        matches!(self, Verdict::Admitted { .. })
    }
}

/// A verdict with its recorded reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanOutcome {
    pub scan_id: Uuid,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Plain words for the volunteer (English; the UI translates by verdict).
    pub reason: String,
    pub day: NaiveDate,
    pub location_id: Uuid,
}

/// Per-location figures for one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationCounter {
    pub location_id: Uuid,
    pub name: String,
    pub kind: LocationKind,
    /// Distinct people who came in here today.
    pub people: u64,
    /// Every passage in (repeat visits and anonymous counts included).
    pub entries: u64,
    pub exits: u64,
    pub anonymous_in: u64,
    pub anonymous_out: u64,
    /// Inside now (zones): entries − exits, never below zero.
    pub occupancy: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub day: NaiveDate,
    /// People expected today (valid today, not revoked).
    pub expected: u64,
    /// Distinct people admitted at any entrance today.
    pub checked_in: u64,
    /// People admitted more than once today at once-per-day entrances (two
    /// desks that were offline at the same time). Each counts once above.
    pub duplicates: u64,
    pub locations: Vec<LocationCounter>,
}

/// A person admitted more than once on one day at once-per-day entrances:
/// every admission is kept, the first (by time, then id — the same on every
/// desk) is the real one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub attendee_id: Uuid,
    pub full_name: Option<String>,
    pub day: NaiveDate,
    /// Oldest first.
    pub admissions: Vec<PriorCheckIn>,
}

enum Subject {
    Known(Box<Attendee>),
    /// Signed badge of a person not on this desk yet.
    Unsynced {
        id: Uuid,
        days_mask: u16,
    },
}

impl Subject {
    fn id(&self) -> Uuid {
        match self {
            Subject::Known(a) => a.id,
            Subject::Unsynced { id, .. } => *id,
        }
    }
}

/// Whose key a badge's signature verifies under.
enum Signers {
    /// No key with the badge's key id is known here (yet).
    Unknown,
    /// Keys with that id are known, and none verifies the signature.
    None,
    /// The event's key.
    Event,
    /// A desk key, bound to these desks (one, unless desks share a secret).
    Desks(Vec<Uuid>),
}

fn signers(ctx: &EventCtx, token: &badge::SignedToken) -> Signers {
    let key_id = token.claims.key_id;
    if badge::DEVICE_KEY_IDS.contains(&key_id) {
        let mut known = false;
        let mut desks = Vec::new();
        for k in ctx.device_keys.iter().filter(|k| k.key_id == key_id) {
            known = true;
            if token.verify(&k.public) {
                desks.push(k.device_id);
            }
        }
        return match (known, desks.is_empty()) {
            (false, _) => Signers::Unknown,
            (true, true) => Signers::None,
            (true, false) => Signers::Desks(desks),
        };
    }
    match ctx.public_keys.get(&key_id) {
        None => Signers::Unknown,
        Some(pk) if token.verify(pk) => Signers::Event,
        Some(_) => Signers::None,
    }
}

impl Store {
    /// The refusal for a badge signed with the key of a revoked desk, unless
    /// the print log shows that desk printed this badge (logged before it
    /// was cut off: a revoked desk cannot push any more).
    fn revoked_signer(
        &self,
        desks: &[Uuid],
        attendee_id: Uuid,
        issue: u8,
    ) -> Result<Option<(Verdict, String)>> {
        let ctx = self.ctx()?;
        let Some((device_id, revoked)) = desks
            .iter()
            .find_map(|d| ctx.revoked_devices.get(d).map(|r| (*d, r)))
        else {
            return Ok(None);
        };
        let mut printed = self.conn.prepare_cached(
            "SELECT 1 FROM badge_prints WHERE attendee_id = ?1 AND issue = ?2 AND device_id = ?3 LIMIT 1",
        )?;
        for d in desks {
            if printed
                .query_row(params![attendee_id.to_string(), issue, d.to_string()], |_| Ok(()))
                .optional()?
                .is_some()
            {
                return Ok(None);
            }
        }
        let desk: String = self
            .conn
            .prepare_cached("SELECT name FROM devices WHERE id = ?1")?
            .query_row(params![device_id.to_string()], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| device_id.to_string());
        let attendee = self.attendee(attendee_id)?.map(|a| self.summary(&a));
        let since = DateTime::from_timestamp_millis(revoked.at_ms)
            .map(|t| t.with_timezone(&ctx.tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        Ok(Some((
            Verdict::Revoked { attendee },
            format!(
                "badge made at the desk \"{desk}\", which a coordinator revoked on {since} ({}), and not in its print log: check the person's ID and print a new badge",
                revoked.reason
            ),
        )))
    }

    fn summary(&self, a: &Attendee) -> AttendeeSummary {
        let cat = self
            .ctx
            .as_ref()
            .and_then(|c| c.event.categories.iter().find(|c| c.code == a.category));
        AttendeeSummary {
            id: a.id,
            full_name: a.full_name.clone(),
            latin_name: a.latin_name.clone(),
            organization: a.organization.clone(),
            position: a.position.clone(),
            category: a.category.clone(),
            category_label_ru: cat
                .map(|c| c.label_ru.clone())
                .unwrap_or_else(|| a.category.clone()),
            category_label_en: cat
                .map(|c| c.label_en.clone())
                .unwrap_or_else(|| a.category.clone()),
            category_color: cat.map(|c| c.color.clone()).unwrap_or_else(|| "#607d8b".into()),
            note: a.notes.clone(),
            attention: a.attention,
        }
    }

    fn location_by_id(&self, id: Uuid) -> Result<Location> {
        self.location(&id.to_string())
    }

    /// A badge or ticket code read at `location_id`. Always returns a verdict
    /// (bad input is a verdict, not an error) and records it durably.
    pub fn scan(
        &mut self,
        payload: &str,
        location_id: Uuid,
        direction: Direction,
        now: DateTime<Utc>,
    ) -> Result<ScanOutcome> {
        let location = self.location_by_id(location_id)?;
        let day = self.day_of(now)?;
        let stored_payload: String = payload.chars().take(200).collect();
        let classified = self.classify(payload, day)?;
        let subject = match classified {
            Ok(subject) => subject,
            Err((verdict, reason)) => {
                return self.record_verdict(&location, None, verdict, reason, stored_payload, day, now);
            }
        };
        self.decide(
            subject,
            &location,
            direction,
            Method::Scan,
            stored_payload,
            day,
            now,
        )
    }

    /// Check a person in picked from search (or typed by hand).
    pub fn check_in_attendee(
        &mut self,
        attendee_id: Uuid,
        location_id: Uuid,
        direction: Direction,
        method: Method,
        now: DateTime<Utc>,
    ) -> Result<ScanOutcome> {
        let location = self.location_by_id(location_id)?;
        let day = self.day_of(now)?;
        let a = self
            .attendee(attendee_id)?
            .ok_or_else(|| CoreError::UnknownAttendee(attendee_id.to_string()))?;
        if let Some(refusal) = self.refusal_for(&a, None, day)? {
            let (verdict, reason) = refusal;
            return self.record_verdict(&location, Some(a.id), verdict, reason, String::new(), day, now);
        }
        self.decide(
            Subject::Known(Box::new(a)),
            &location,
            direction,
            method,
            String::new(),
            day,
            now,
        )
    }

    /// An anonymous +1 (in) or −1 (out) at a zone, for visitors without a badge.
    pub fn count_anonymous(
        &mut self,
        location_id: Uuid,
        direction: Direction,
        now: DateTime<Utc>,
    ) -> Result<CheckIn> {
        let location = self.location_by_id(location_id)?;
        if location.kind != LocationKind::Zone {
            return Err(CoreError::Invalid(format!(
                "{} is an entrance; anonymous counts are for zones (islands)",
                location.name
            )));
        }
        let day = self.day_of(now)?;
        let c = CheckIn {
            id: new_id_by(self.device.id, now),
            attendee_id: None,
            location_id,
            device_id: self.device.id,
            direction,
            method: Method::Manual,
            at: now,
            day,
            annulled_by: None,
        };
        let rec = c.clone();
        self.write(now, |w| w.record(Change::CheckIn(rec)).map(|_| ()))?;
        Ok(c)
    }

    /// Undo a check-in, with a reason. The record stays, marked annulled.
    pub fn annul(&mut self, checkin_id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<Uuid> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CoreError::Invalid(
                "say why the check-in is undone (e.g. \"scanned the wrong badge\")".into(),
            ));
        }
        let annulled: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT annulled_by FROM checkins WHERE id = ?1")?
            .query_row(params![checkin_id.to_string()], |r| r.get(0))
            .optional()?;
        match annulled {
            None => return Err(CoreError::UnknownCheckIn(checkin_id.to_string())),
            Some(Some(_)) => return Err(CoreError::AlreadyAnnulled(checkin_id.to_string())),
            Some(None) => {}
        }
        let an = Annulment {
            id: new_id_by(self.device.id, now),
            checkin_id,
            reason: reason.to_string(),
            device_id: self.device.id,
            at_ms: now.timestamp_millis(),
        };
        let id = an.id;
        self.write(now, |w| w.record(Change::Annulment(an)).map(|_| ()))?;
        Ok(id)
    }

    /// This desk's most recent check-in that is not undone (for "undo last").
    pub fn last_checkin(&self) -> Result<Option<CheckIn>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, attendee_id, location_id, device_id, direction, method, at_ms, day, annulled_by
             FROM checkins WHERE device_id = ?1 AND annulled_by IS NULL ORDER BY at_ms DESC, hlc DESC LIMIT 1",
        )?;
        Ok(st
            .query_row(params![self.device.id.to_string()], checkin_from_row)
            .optional()?)
    }

    /// Whether a check-in is in this database (annulled or not).
    pub fn checkin_exists(&self, id: Uuid) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM checkins WHERE id = ?1")?
            .query_row(params![id.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// SQLite's own consistency check of the database file.
    pub fn integrity_ok(&self) -> Result<bool> {
        let r: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }

    /// Check-ins of one person, oldest first.
    pub fn checkins_of(&self, attendee_id: Uuid) -> Result<Vec<CheckIn>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, attendee_id, location_id, device_id, direction, method, at_ms, day, annulled_by
             FROM checkins WHERE attendee_id = ?1 ORDER BY at_ms, id",
        )?;
        let rows = st
            .query_map(params![attendee_id.to_string()], checkin_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Checked in today / expected, overall and per location.
    pub fn counters(&self, now: DateTime<Utc>) -> Result<Counters> {
        let ctx = self.ctx()?;
        let day = self.day_of(now)?;
        let ev = ctx.event.id.to_string();
        let day_s = day.to_string();
        let expected: i64 = match self.expected_cache.get() {
            Some((d, n)) if d == day => n as i64,
            _ => {
                let n: i64 = if ctx.event.days.contains(&day) {
                    self.conn.prepare_cached(
                        "SELECT count(*) FROM attendees a WHERE a.event_id = ?1 AND (a.days = '[]' OR instr(a.days, ?2) > 0)
                         AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.attendee_id = a.id AND r.revoked = 1)",
                    )?
                    .query_row(params![ev, format!("\"{day_s}\"")], |r| r.get(0))?
                } else {
                    0
                };
                self.expected_cache.set(Some((day, n as u64)));
                n
            }
        };
        let checked_in: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(DISTINCT c.attendee_id) FROM checkins c JOIN locations l ON l.id = c.location_id
                 WHERE c.day = ?1 AND c.direction = 'in' AND c.annulled_by IS NULL
                 AND c.attendee_id IS NOT NULL AND l.kind = 'entrance'",
            )?
            .query_row(params![day_s], |r| r.get(0))?;
        let mut locations = Vec::with_capacity(ctx.locations.len());
        let mut st = self.conn.prepare_cached(
            "SELECT count(DISTINCT CASE WHEN direction = 'in' THEN attendee_id END),
                    coalesce(sum(direction = 'in'), 0), coalesce(sum(direction = 'out'), 0),
                    coalesce(sum(direction = 'in' AND attendee_id IS NULL), 0),
                    coalesce(sum(direction = 'out' AND attendee_id IS NULL), 0)
             FROM checkins WHERE location_id = ?1 AND day = ?2 AND annulled_by IS NULL",
        )?;
        for l in &ctx.locations {
            let (people, entries, exits, anonymous_in, anonymous_out) =
                st.query_row(params![l.id.to_string(), day_s], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                        r.get::<_, i64>(4)? as u64,
                    ))
                })?;
            locations.push(LocationCounter {
                location_id: l.id,
                name: l.name.clone(),
                kind: l.kind,
                people,
                entries,
                exits,
                anonymous_in,
                anonymous_out,
                occupancy: entries.saturating_sub(exits),
            });
        }
        let duplicates = self.duplicates_on(day)?.len() as u64;
        Ok(Counters {
            day,
            expected: expected as u64,
            checked_in: checked_in as u64,
            duplicates,
            locations,
        })
    }

    /// Everyone admitted twice or more on `day` at once-per-day entrances.
    pub fn duplicates_on(&self, day: NaiveDate) -> Result<Vec<Duplicate>> {
        let mut st = self.conn.prepare_cached(
            "SELECT c.attendee_id, a.full_name, c.id, c.at_ms, c.location_id, l.name, c.device_id,
                    coalesce(d.name, c.device_id)
             FROM checkins c JOIN locations l ON l.id = c.location_id
             LEFT JOIN devices d ON d.id = c.device_id LEFT JOIN attendees a ON a.id = c.attendee_id
             WHERE c.day = ?1 AND c.direction = 'in' AND c.annulled_by IS NULL AND c.attendee_id IS NOT NULL
               AND l.kind = 'entrance' AND l.allow_reentry = 0
               AND c.attendee_id IN (
                 SELECT c2.attendee_id FROM checkins c2 JOIN locations l2 ON l2.id = c2.location_id
                 WHERE c2.day = ?1 AND c2.direction = 'in' AND c2.annulled_by IS NULL
                   AND c2.attendee_id IS NOT NULL AND l2.kind = 'entrance' AND l2.allow_reentry = 0
                 GROUP BY c2.attendee_id HAVING count(*) > 1)
             ORDER BY c.attendee_id, c.at_ms, c.id",
        )?;
        let mut rows = st.query(params![day.to_string()])?;
        let mut out: Vec<Duplicate> = Vec::new();
        while let Some(r) = rows.next()? {
            let attendee_id = parse_uuid(r, 0)?;
            let admission = prior_from_row(r, 2)?;
            match out.last_mut() {
                Some(d) if d.attendee_id == attendee_id => d.admissions.push(admission),
                _ => out.push(Duplicate {
                    attendee_id,
                    full_name: r.get(1)?,
                    day,
                    admissions: vec![admission],
                }),
            }
        }
        Ok(out)
    }

    /// Turn a payload into the person it names, or into a refusal.
    #[allow(clippy::type_complexity)]
    fn classify(&self, payload: &str, day: NaiveDate) -> Result<Result<Subject, (Verdict, String)>> {
        let ctx = self.ctx()?;
        let trimmed = payload.trim();
        if trimmed.is_empty() {
            return Ok(Err((
                Verdict::Malformed,
                "empty scan: scan the badge again".into(),
            )));
        }
        if payload.len() > MAX_PAYLOAD || trimmed.chars().any(|c| c.is_control()) {
            return Ok(Err((
                Verdict::Malformed,
                "this is not a badge code (too long or contains control characters)".into(),
            )));
        }
        // A hand scanner typing with the Russian layout active sends ЙЦУКЕН
        // letters for QWERTY keys: map back when that yields a badge token
        // or a known ticket code (and the text as typed is no ticket code).
        let mapped;
        let trimmed = if trimmed
            .chars()
            .any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
        {
            let fixed = crate::keyboard::fix_keyboard_layout(trimmed);
            if badge::decode(&fixed).is_ok()
                || (self.attendee_by_ticket(trimmed)?.is_none() && self.attendee_by_ticket(&fixed)?.is_some())
            {
                mapped = fixed;
                mapped.as_str()
            } else {
                trimmed
            }
        } else {
            trimmed
        };
        match badge::decode(trimmed) {
            Ok(token) => {
                let c = token.claims;
                if c.event_tag != ctx.tag {
                    return Ok(Err((
                        Verdict::WrongEvent,
                        "this badge belongs to another event".into(),
                    )));
                }
                let signers = match signers(ctx, &token) {
                    Signers::Unknown => {
                        return Ok(Err((
                            Verdict::InvalidSignature,
                            format!(
                                "badge signed with key {} which this desk does not know: it may be forged, or this desk needs to sync",
                                c.key_id
                            ),
                        )));
                    }
                    Signers::None => {
                        return Ok(Err((
                            Verdict::InvalidSignature,
                            "badge signature is not valid: the badge is forged or altered; ask for ID and find the person by name".into(),
                        )));
                    }
                    Signers::Event => Vec::new(),
                    Signers::Desks(desks) => desks,
                };
                if let Some(refusal) = self.revoked_signer(&signers, c.attendee_id, c.issue)? {
                    return Ok(Err(refusal));
                }
                match self.attendee(c.attendee_id)? {
                    Some(a) => Ok(match self.refusal_for(&a, Some(c.issue), day)? {
                        Some(refusal) => Err(refusal),
                        None => Ok(Subject::Known(Box::new(a))),
                    }),
                    None => {
                        if self.badge_revoked(c.attendee_id, c.issue)? {
                            return Ok(Err((
                                Verdict::Revoked { attendee: None },
                                "this badge was revoked".into(),
                            )));
                        }
                        if !ctx.event.days.contains(&day)
                            || !badge::mask_allows(c.days_mask, &ctx.event.days, day)
                        {
                            return Ok(Err((
                                Verdict::NotValidToday {
                                    attendee: None,
                                    valid_days: ctx
                                        .event
                                        .days
                                        .iter()
                                        .copied()
                                        .filter(|d| badge::mask_allows(c.days_mask, &ctx.event.days, *d))
                                        .collect(),
                                },
                                format!("badge is not valid on {day}"),
                            )));
                        }
                        Ok(Ok(Subject::Unsynced {
                            id: c.attendee_id,
                            days_mask: c.days_mask,
                        }))
                    }
                }
            }
            Err(TokenError::NotAToken) => match self.attendee_by_ticket(trimmed)? {
                Some(a) => Ok(match self.refusal_for(&a, None, day)? {
                    Some(refusal) => Err(refusal),
                    None => Ok(Subject::Known(Box::new(a))),
                }),
                None => Ok(Err((
                    Verdict::UnknownBadge,
                    "no badge or ticket with this code: find the person by name, or register them".into(),
                ))),
            },
            Err(e @ (TokenError::Malformed(_) | TokenError::UnsupportedVersion(_))) => {
                // A registration ticket may happen to start with our prefix.
                match self.attendee_by_ticket(trimmed)? {
                    Some(a) => Ok(match self.refusal_for(&a, None, day)? {
                        Some(refusal) => Err(refusal),
                        None => Ok(Subject::Known(Box::new(a))),
                    }),
                    None => Ok(Err((Verdict::Malformed, e.to_string()))),
                }
            }
        }
    }

    fn attendee_by_ticket(&self, code: &str) -> Result<Option<Attendee>> {
        let ev = self.ctx()?.event.id.to_string();
        let mut st = self
            .conn
            .prepare_cached("SELECT attendee_id FROM ticket_codes WHERE event_id = ?1 AND code = ?2")?;
        let mut id: Option<String> = st.query_row(params![ev, code], |r| r.get(0)).optional()?;
        if id.is_none() {
            // Scanners with Caps Lock on change the case of letters.
            id = self
                .conn
                .prepare_cached(
                    "SELECT attendee_id FROM ticket_codes WHERE event_id = ?1 AND code = ?2 COLLATE NOCASE LIMIT 1",
                )?
                .query_row(params![ev, code], |r| r.get(0))
                .optional()?;
        }
        match id.and_then(|s| s.parse().ok()) {
            Some(id) => self.attendee(id),
            None => Ok(None),
        }
    }

    fn badge_revoked(&self, attendee_id: Uuid, issue: u8) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM revoked_badges WHERE attendee_id = ?1 AND issue = ?2")?
            .query_row(params![attendee_id.to_string(), issue], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Why a known person may not come in today, if they may not.
    fn refusal_for(
        &self,
        a: &Attendee,
        issue: Option<u8>,
        day: NaiveDate,
    ) -> Result<Option<(Verdict, String)>> {
        let ctx = self.ctx()?;
        let summary = Some(self.summary(a));
        if a.revoked {
            return Ok(Some((
                Verdict::Revoked { attendee: summary },
                "this person's registration was revoked: send them to the coordinator".into(),
            )));
        }
        if let Some(issue) = issue {
            if self.badge_revoked(a.id, issue)? {
                return Ok(Some((
                    Verdict::Revoked { attendee: summary },
                    "this badge was revoked: send the person to the coordinator".into(),
                )));
            }
            if issue < a.badge_issue {
                return Ok(Some((
                    Verdict::Revoked { attendee: summary },
                    "this badge was replaced by a newer one: ask for the new badge or send the person to the coordinator".into(),
                )));
            }
        }
        // Not today: the person's category (limited to days), or the person.
        let not_today = |valid_days: Vec<NaiveDate>, why: &dyn Fn(&str) -> String| {
            let list = valid_days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let reason = why(&list);
            Ok(Some((
                Verdict::NotValidToday {
                    attendee: summary.clone(),
                    valid_days,
                },
                reason,
            )))
        };
        let category = ctx.event.categories.iter().find(|c| c.code == a.category);
        if let Some(c) = category
            && ctx.event.days.contains(&day)
            && a.valid_on(day)
            && !c.valid_on(day)
        {
            let valid_days: Vec<NaiveDate> = c.days.iter().copied().filter(|d| a.valid_on(*d)).collect();
            return not_today(valid_days, &|list| {
                format!(
                    "the category \"{}\" is admitted only on {list}, not on {day}: send the person to the coordinator",
                    c.label_ru
                )
            });
        }
        if !ctx.event.days.contains(&day) || !a.valid_on(day) {
            let valid_days = if a.days.is_empty() {
                ctx.event.days.clone()
            } else {
                a.days.clone()
            };
            return not_today(valid_days, &|list| format!("not valid on {day}; valid on {list}"));
        }
        Ok(None)
    }

    /// The day's first entrance check-in of a person that is not undone: in
    /// the database or in the inbox of received ones (see
    /// [`crate::store::inbox`]), ordered the same way on every desk.
    fn first_entrance_today(&self, attendee_id: Uuid, day: NaiveDate) -> Result<Option<PriorCheckIn>> {
        let inbox = crate::store::inbox::lock(&self.inbox);
        let mut st = self.conn.prepare_cached(
            "SELECT c.id, c.at_ms, c.location_id, coalesce(l.name, '?'), c.device_id, coalesce(d.name, c.device_id)
             FROM checkins c JOIN locations l ON l.id = c.location_id LEFT JOIN devices d ON d.id = c.device_id
             WHERE c.attendee_id = ?1 AND c.day = ?2 AND c.direction = 'in' AND c.annulled_by IS NULL
               AND l.kind = 'entrance'
             ORDER BY c.at_ms, c.id",
        )?;
        let mut rows = st.query(params![attendee_id.to_string(), day.to_string()])?;
        let mut first = None;
        while let Some(r) = rows.next()? {
            let prior = prior_from_row(r, 0)?;
            // An undo received but not yet written still counts.
            if !inbox.is_annulled(prior.checkin_id) {
                first = Some(prior);
                break;
            }
        }
        let ctx = self.ctx()?;
        let received = inbox
            .checkins_of(attendee_id, day)
            .into_iter()
            .filter(|c| {
                c.direction == Direction::In
                    && ctx
                        .locations
                        .iter()
                        .any(|l| l.id == c.location_id && l.kind == LocationKind::Entrance)
            })
            .min_by_key(|c| (c.at.timestamp_millis(), c.id));
        drop(inbox);
        let Some(c) = received else { return Ok(first) };
        if let Some(f) = &first
            && (f.at.timestamp_millis(), f.checkin_id) <= (c.at.timestamp_millis(), c.id)
        {
            return Ok(first);
        }
        let device_name: Option<String> = self
            .conn
            .prepare_cached("SELECT name FROM devices WHERE id = ?1")?
            .query_row(params![c.device_id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(Some(PriorCheckIn {
            checkin_id: c.id,
            at: c.at,
            location_id: c.location_id,
            location_name: ctx
                .locations
                .iter()
                .find(|l| l.id == c.location_id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| "?".into()),
            device_id: c.device_id,
            device_name: device_name.unwrap_or_else(|| c.device_id.to_string()),
        }))
    }

    /// Received passages of a person here today not yet in the database
    /// (they count as visits like the written ones).
    fn received_visits(
        &self,
        attendee_id: Uuid,
        location_id: Uuid,
        day: NaiveDate,
        direction: Direction,
    ) -> Result<i64> {
        let staged: Vec<CheckIn> = {
            let inbox = crate::store::inbox::lock(&self.inbox);
            if inbox.is_empty() {
                return Ok(0);
            }
            inbox
                .checkins_of(attendee_id, day)
                .into_iter()
                .filter(|c| c.location_id == location_id && c.direction == direction)
                .collect()
        };
        let mut n = 0;
        for c in staged {
            if !self.checkin_exists(c.id)? {
                n += 1;
            }
        }
        Ok(n)
    }

    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        subject: Subject,
        location: &Location,
        direction: Direction,
        method: Method,
        payload: String,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ScanOutcome> {
        let attendee_id = subject.id();
        let summary = match &subject {
            Subject::Known(a) => Some(self.summary(a)),
            Subject::Unsynced { .. } => None,
        };
        let once_per_day =
            location.kind == LocationKind::Entrance && direction == Direction::In && !location.allow_reentry;
        if once_per_day && let Some(first) = self.first_entrance_today(attendee_id, day)? {
            let reason = format!(
                "already checked in today at {} ({}) by {}",
                first.location_name,
                first.at.with_timezone(&self.ctx()?.tz).format("%H:%M"),
                first.device_name
            );
            let verdict = Verdict::AlreadyCheckedIn {
                attendee: summary,
                first,
            };
            return self.record_verdict(location, Some(attendee_id), verdict, reason, payload, day, now);
        }
        let visit: i64 = self
            .conn
            .prepare_cached(
                // `+location_id`: look people up by the (attendee, day) index, never
                // by walking every check-in at this location today.
                "SELECT count(*) FROM checkins WHERE attendee_id = ?1 AND +location_id = ?2 AND day = ?3
                 AND direction = ?4 AND annulled_by IS NULL",
            )?
            .query_row(
                params![
                    attendee_id.to_string(),
                    location.id.to_string(),
                    day.to_string(),
                    direction.as_str()
                ],
                |r| r.get::<_, i64>(0),
            )?
            + self.received_visits(attendee_id, location.id, day, direction)?;
        let checkin = CheckIn {
            id: new_id_by(self.device.id, now),
            attendee_id: Some(attendee_id),
            location_id: location.id,
            device_id: self.device.id,
            direction,
            method,
            at: now,
            day,
            annulled_by: None,
        };
        let reason = match (&subject, direction) {
            (Subject::Unsynced { days_mask, .. }, _) => format!(
                "valid badge (days mask {days_mask:#06x}); this person's details reach this desk at the next sync"
            ),
            (_, Direction::Out) => "checked out".to_string(),
            _ if visit > 0 => format!("visit {} today", visit + 1),
            _ => "first entry today".to_string(),
        };
        let verdict = Verdict::Admitted {
            attendee: summary,
            checkin_id: checkin.id,
            direction,
            visit: (visit + 1) as u32,
        };
        let scan = ScanRecord {
            id: new_id_by(self.device.id, now),
            location_id: location.id,
            device_id: self.device.id,
            at_ms: now.timestamp_millis(),
            payload,
            verdict: verdict.name().into(),
            reason: reason.clone(),
            attendee_id: Some(attendee_id),
            checkin_id: Some(checkin.id),
        };
        let scan_id = scan.id;
        self.write(now, |w| {
            w.record(Change::CheckIn(checkin))?;
            w.record(Change::Scan(scan))?;
            Ok(())
        })?;
        Ok(ScanOutcome {
            scan_id,
            verdict,
            reason,
            day,
            location_id: location.id,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn record_verdict(
        &mut self,
        location: &Location,
        attendee_id: Option<Uuid>,
        verdict: Verdict,
        reason: String,
        payload: String,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ScanOutcome> {
        let scan = ScanRecord {
            id: new_id_by(self.device.id, now),
            location_id: location.id,
            device_id: self.device.id,
            at_ms: now.timestamp_millis(),
            payload,
            verdict: verdict.name().into(),
            reason: reason.clone(),
            attendee_id,
            checkin_id: None,
        };
        let scan_id = scan.id;
        self.write(now, |w| w.record(Change::Scan(scan)).map(|_| ()))?;
        Ok(ScanOutcome {
            scan_id,
            verdict,
            reason,
            day,
            location_id: location.id,
        })
    }
}

/// A check-in as a verdict names it, from six columns starting at `at`: id,
/// at_ms, location id, location name, device id, device name.
fn prior_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PriorCheckIn> {
    Ok(PriorCheckIn {
        checkin_id: parse_uuid(r, at)?,
        at: DateTime::from_timestamp_millis(r.get(at + 1)?).unwrap_or_default(),
        location_id: parse_uuid(r, at + 2)?,
        location_name: r.get(at + 3)?,
        device_id: parse_uuid(r, at + 4)?,
        device_name: r.get(at + 5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attendee, Device, new_id};
    use crate::store::NewEvent;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-06-02 h:m Moscow time (UTC+3).
        Utc.with_ymd_and_hms(2026, 6, 2, h - 3, m, 0).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    struct Fixture {
        store: Store,
        door: Location,
        door_b: Location,
        island: Location,
        anna: Attendee,
    }

    fn fixture() -> Fixture {
        let now = at(8, 0);
        let device = Device {
            id: new_id(now),
            name: "Desk 1".into(),
        };
        let mut store = Store::open_in_memory(device, now).unwrap();
        store
            .create_event(
                NewEvent {
                    name: "Forum".into(),
                    days: vec![day(2), day(3)],
                    timezone: "Europe/Moscow".into(),
                    categories: vec![],
                },
                now,
            )
            .unwrap();
        let door = store
            .add_location("Вход A", LocationKind::Entrance, false, now)
            .unwrap();
        let door_b = store
            .add_location("Вход B", LocationKind::Entrance, false, now)
            .unwrap();
        let island = store
            .add_location("Остров 1", LocationKind::Zone, false, now)
            .unwrap();
        let anna = store
            .save_attendee(
                Attendee {
                    full_name: "Чупшева Анна".into(),
                    organization: Some("Фонд «Добро»".into()),
                    category: "speaker".into(),
                    ticket_codes: vec!["TIX-1".into()],
                    ..Attendee::default()
                },
                now,
            )
            .unwrap();
        Fixture {
            store,
            door,
            door_b,
            island,
            anna,
        }
    }

    fn scan(store: &mut Store, payload: &str, loc: Uuid, now: DateTime<Utc>) -> ScanOutcome {
        store.scan(payload, loc, Direction::In, now).unwrap()
    }

    #[test]
    fn first_scan_admits_with_name_and_category() {
        let mut f = fixture();
        let token = f.store.badge_token(f.anna.id).unwrap();
        let out = scan(&mut f.store, &token, f.door.id, at(9, 0));
        match &out.verdict {
            Verdict::Admitted { attendee, visit, .. } => {
                let a = attendee.as_ref().unwrap();
                assert_eq!(a.full_name, "Чупшева Анна");
                assert_eq!(a.organization.as_deref(), Some("Фонд «Добро»"));
                assert_eq!(a.category_label_ru, "Спикер");
                assert_eq!(*visit, 1);
            }
            v => panic!("expected admitted, got {v:?}"),
        }
        assert_eq!(serde_json::to_value(&out).unwrap()["verdict"], "admitted");
    }

    #[test]
    fn second_scan_at_any_entrance_is_already_checked_in_with_when_and_where() {
        let mut f = fixture();
        let token = f.store.badge_token(f.anna.id).unwrap();
        scan(&mut f.store, &token, f.door.id, at(9, 0));
        let out = scan(&mut f.store, &token, f.door_b.id, at(9, 5));
        match &out.verdict {
            Verdict::AlreadyCheckedIn { first, .. } => {
                assert_eq!(first.location_name, "Вход A");
                assert_eq!(first.device_name, "Desk 1");
                assert_eq!(first.at, at(9, 0));
            }
            v => panic!("expected already_checked_in, got {v:?}"),
        }
        assert!(out.reason.contains("09:00"), "{}", out.reason);
        // The next day is a new day.
        let next = scan(
            &mut f.store,
            &token,
            f.door.id,
            at(9, 0) + chrono::Duration::days(1),
        );
        assert_eq!(next.verdict.name(), "admitted");
        let c = f.store.counters(at(10, 0)).unwrap();
        assert_eq!(c.checked_in, 1);
        assert_eq!(c.expected, 1);
    }

    #[test]
    fn reentry_location_admits_again_and_zones_count_repeat_visits() {
        let mut f = fixture();
        let vip_door = f
            .store
            .add_location("VIP", LocationKind::Entrance, true, at(8, 0))
            .unwrap();
        let token = f.store.badge_token(f.anna.id).unwrap();
        assert_eq!(
            scan(&mut f.store, &token, vip_door.id, at(9, 0)).verdict.name(),
            "admitted"
        );
        let again = scan(&mut f.store, &token, vip_door.id, at(12, 0));
        assert!(matches!(again.verdict, Verdict::Admitted { visit: 2, .. }));
        for (i, m) in [10, 20, 30].into_iter().enumerate() {
            let out = scan(&mut f.store, &token, f.island.id, at(11, m));
            assert!(
                matches!(out.verdict, Verdict::Admitted { visit, .. } if visit == i as u32 + 1),
                "{out:?}"
            );
        }
        let c = f.store.counters(at(13, 0)).unwrap();
        let island = c.locations.iter().find(|l| l.location_id == f.island.id).unwrap();
        assert_eq!((island.people, island.entries), (1, 3));
    }

    #[test]
    fn not_valid_today_revoked_unknown_wrong_event_forged_malformed() {
        let mut f = fixture();
        let now = at(9, 0);
        // Valid only on day 2 of the event.
        let mut bob = f
            .store
            .save_attendee(
                Attendee {
                    full_name: "Bob".into(),
                    category: "participant".into(),
                    days: vec![day(3)],
                    ..Attendee::default()
                },
                now,
            )
            .unwrap();
        let bob_token = f.store.badge_token(bob.id).unwrap();
        let out = scan(&mut f.store, &bob_token, f.door.id, now);
        assert!(
            matches!(&out.verdict, Verdict::NotValidToday { valid_days, .. } if valid_days == &vec![day(3)])
        );

        bob.days.clear();
        f.store.save_attendee(bob.clone(), now).unwrap();
        f.store
            .set_revoked(bob.id, true, "duplicate registration", now)
            .unwrap();
        assert_eq!(
            scan(&mut f.store, &bob_token, f.door.id, now).verdict.name(),
            "revoked"
        );
        // An edit after the revocation does not undo it.
        let mut edited = f.store.attendee(bob.id).unwrap().unwrap();
        edited.organization = Some("ACME".into());
        f.store.save_attendee(edited, now).unwrap();
        assert_eq!(
            scan(&mut f.store, &bob_token, f.door.id, now).verdict.name(),
            "revoked"
        );

        assert_eq!(
            scan(&mut f.store, "SOMETHING-ELSE", f.door.id, now)
                .verdict
                .name(),
            "unknown_badge"
        );
        assert_eq!(scan(&mut f.store, "", f.door.id, now).verdict.name(), "malformed");
        assert_eq!(
            scan(&mut f.store, "CK12345", f.door.id, now).verdict.name(),
            "malformed"
        );
        assert_eq!(
            scan(&mut f.store, "bad\u{7}code", f.door.id, now).verdict.name(),
            "malformed"
        );

        // A badge of another event, signed with that event's key.
        let (secret, _) = badge::generate_keypair().unwrap();
        let foreign = badge::sign(
            &badge::BadgeClaims {
                key_id: 1,
                event_tag: badge::event_tag(Uuid::from_u128(42)),
                attendee_id: f.anna.id,
                days_mask: badge::ALL_DAYS,
                issue: 0,
            },
            &secret,
        );
        assert_eq!(
            scan(&mut f.store, &foreign, f.door.id, now).verdict.name(),
            "wrong_event"
        );

        // Our event tag but a forger's key.
        let tag = badge::event_tag(f.store.event().unwrap().id);
        let forged = badge::sign(
            &badge::BadgeClaims {
                key_id: 1,
                event_tag: tag,
                attendee_id: f.anna.id,
                days_mask: badge::ALL_DAYS,
                issue: 0,
            },
            &secret,
        );
        assert_eq!(
            scan(&mut f.store, &forged, f.door.id, now).verdict.name(),
            "invalid_signature"
        );
        let unknown_key = badge::sign(
            &badge::BadgeClaims {
                key_id: 9,
                event_tag: tag,
                attendee_id: f.anna.id,
                days_mask: badge::ALL_DAYS,
                issue: 0,
            },
            &secret,
        );
        assert_eq!(
            scan(&mut f.store, &unknown_key, f.door.id, now).verdict.name(),
            "invalid_signature"
        );

        // Nobody was admitted by any of that, and every attempt was recorded.
        assert_eq!(f.store.counters(now).unwrap().checked_in, 0);
        let recorded: i64 = f
            .store
            .conn
            .query_row(
                "SELECT count(*) FROM scans WHERE verdict != 'admitted'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(recorded, 10);
    }

    #[test]
    fn ticket_codes_from_the_registration_system_are_accepted() {
        let mut f = fixture();
        let out = scan(&mut f.store, " TIX-1\r\n", f.door.id, at(9, 0));
        assert_eq!(out.verdict.name(), "admitted");
        // Caps lock on the scanner.
        let again = scan(&mut f.store, "tix-1", f.door_b.id, at(9, 1));
        assert_eq!(again.verdict.name(), "already_checked_in");
    }

    #[test]
    fn a_badge_typed_with_the_russian_layout_active_is_admitted() {
        let mut f = fixture();
        let token = f.store.badge_token(f.anna.id).unwrap();
        // What a keyboard-mode scanner types with ЙЦУКЕН active.
        let garbled = russian_layout(&token);
        assert!(garbled.starts_with("СЛ"), "{garbled}");
        let out = scan(&mut f.store, &format!("{garbled}\r\n"), f.door.id, at(9, 0));
        assert_eq!(out.verdict.name(), "admitted", "{out:?}");
        // Caps Lock as well: lower-case Cyrillic.
        let out = scan(&mut f.store, &garbled.to_lowercase(), f.door_b.id, at(9, 1));
        assert_eq!(out.verdict.name(), "already_checked_in", "{out:?}");
        // A garbled ticket code reads too.
        let out = scan(&mut f.store, &russian_layout("TIX-1"), f.door.id, at(9, 2));
        assert_ne!(out.verdict.name(), "unknown_badge", "{out:?}");
        // Cyrillic that maps to nothing known stays unknown.
        let out = scan(&mut f.store, "ПРИВЕТ", f.door.id, at(9, 3));
        assert_eq!(out.verdict.name(), "unknown_badge");
    }

    /// QWERTY → ЙЦУКЕН, the inverse of `keyboard::fix_keyboard_layout` for letters.
    fn russian_layout(s: &str) -> String {
        let us = "QWERTYUIOPASDFGHJKLZXCVBNMqwertyuiopasdfghjklzxcvbnm";
        let ru = "ЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬйцукенгшщзфывапролдячсмить";
        s.chars()
            .map(|c| {
                us.chars()
                    .position(|u| u == c)
                    .map(|i| ru.chars().nth(i).unwrap())
                    .unwrap_or(c)
            })
            .collect()
    }

    #[test]
    fn a_replaced_badge_is_refused_and_the_new_one_admits() {
        let mut f = fixture();
        let old = f.store.badge_token(f.anna.id).unwrap();
        let new = f.store.replace_badge(f.anna.id, "lost", at(8, 30)).unwrap();
        assert_ne!(old, new);
        assert_eq!(
            scan(&mut f.store, &old, f.door.id, at(9, 0)).verdict.name(),
            "revoked"
        );
        assert_eq!(
            scan(&mut f.store, &new, f.door.id, at(9, 1)).verdict.name(),
            "admitted"
        );
    }

    #[test]
    fn rotated_keys_keep_old_badges_valid() {
        let mut f = fixture();
        let old = f.store.badge_token(f.anna.id).unwrap();
        let k = f.store.rotate_key(at(8, 10)).unwrap();
        assert_eq!(k, 2);
        let new = f.store.badge_token(f.anna.id).unwrap();
        assert_ne!(old, new);
        assert_eq!(badge::decode(&new).unwrap().claims.key_id, 2);
        assert_eq!(
            scan(&mut f.store, &old, f.door.id, at(9, 0)).verdict.name(),
            "admitted"
        );
        assert_eq!(
            scan(&mut f.store, &new, f.door_b.id, at(9, 1)).verdict.name(),
            "already_checked_in"
        );
    }

    #[test]
    fn a_badge_issued_after_the_last_sync_is_admitted_offline() {
        let mut f = fixture();
        let tag = badge::event_tag(f.store.event().unwrap().id);
        let (key_id, secret) = f.store.ctx.as_ref().unwrap().signing_key.unwrap();
        let stranger = new_id(at(8, 50));
        let token = badge::sign(
            &badge::BadgeClaims {
                key_id,
                event_tag: tag,
                attendee_id: stranger,
                days_mask: badge::ALL_DAYS,
                issue: 0,
            },
            &secret,
        );
        let out = scan(&mut f.store, &token, f.door.id, at(9, 0));
        assert!(
            matches!(out.verdict, Verdict::Admitted { attendee: None, .. }),
            "{out:?}"
        );
        assert_eq!(
            scan(&mut f.store, &token, f.door.id, at(9, 1)).verdict.name(),
            "already_checked_in"
        );
        // Only valid on day 2: refused today from the mask alone.
        let day2_only = badge::sign(
            &badge::BadgeClaims {
                key_id,
                event_tag: tag,
                attendee_id: new_id(at(8, 51)),
                days_mask: 0b10,
                issue: 0,
            },
            &secret,
        );
        assert_eq!(
            scan(&mut f.store, &day2_only, f.door.id, at(9, 2)).verdict.name(),
            "not_valid_today"
        );
    }

    /// "Undo last" picks the check-in recorded last even when several share
    /// one millisecond (check-in ids are not ordered within a millisecond
    /// across processes; the desk's hybrid clock is).
    #[test]
    fn last_checkin_is_the_last_recorded_within_one_millisecond() {
        let mut f = fixture();
        let mut ids = Vec::new();
        for n in 0..20 {
            let person = f
                .store
                .save_attendee(
                    Attendee {
                        full_name: format!("Гость {n}"),
                        category: "participant".into(),
                        ..Attendee::default()
                    },
                    at(8, 30),
                )
                .unwrap();
            // Each on a fresh thread, as each CLI call is a fresh process:
            // the id generator's in-millisecond counter starts anew.
            let (store, door) = (&mut f.store, f.door.id);
            let out = std::thread::scope(|s| {
                s.spawn(|| {
                    store
                        .check_in_attendee(person.id, door, Direction::In, Method::Search, at(9, 0))
                        .unwrap()
                })
                .join()
                .unwrap()
            });
            let Verdict::Admitted { checkin_id, .. } = out.verdict else {
                panic!("{out:?}")
            };
            ids.push(checkin_id);
            assert_eq!(f.store.last_checkin().unwrap().unwrap().id, checkin_id);
        }
        // Undoing walks back through them in order.
        for id in ids.iter().rev().take(5) {
            assert_eq!(f.store.last_checkin().unwrap().unwrap().id, *id);
            f.store.annul(*id, "test", at(9, 1)).unwrap();
        }
    }

    #[test]
    fn manual_check_in_and_annul_with_a_reason() {
        let mut f = fixture();
        let out = f
            .store
            .check_in_attendee(f.anna.id, f.door.id, Direction::In, Method::Search, at(9, 0))
            .unwrap();
        let Verdict::Admitted { checkin_id, .. } = out.verdict else {
            panic!("{out:?}")
        };
        assert_eq!(f.store.counters(at(9, 1)).unwrap().checked_in, 1);
        assert!(f.store.annul(checkin_id, "  ", at(9, 1)).is_err());
        assert_eq!(f.store.last_checkin().unwrap().unwrap().id, checkin_id);
        f.store.annul(checkin_id, "wrong person", at(9, 1)).unwrap();
        assert!(matches!(
            f.store.annul(checkin_id, "again", at(9, 2)),
            Err(CoreError::AlreadyAnnulled(_))
        ));
        assert_eq!(f.store.counters(at(9, 2)).unwrap().checked_in, 0);
        // After an undo the person can be admitted again.
        let token = f.store.badge_token(f.anna.id).unwrap();
        assert_eq!(
            scan(&mut f.store, &token, f.door.id, at(9, 3)).verdict.name(),
            "admitted"
        );
    }

    #[test]
    fn anonymous_zone_counts_give_occupancy() {
        let mut f = fixture();
        for _ in 0..5 {
            f.store
                .count_anonymous(f.island.id, Direction::In, at(11, 0))
                .unwrap();
        }
        f.store
            .count_anonymous(f.island.id, Direction::Out, at(11, 5))
            .unwrap();
        f.store
            .count_anonymous(f.island.id, Direction::Out, at(11, 6))
            .unwrap();
        assert!(
            f.store
                .count_anonymous(f.door.id, Direction::In, at(11, 0))
                .is_err()
        );
        let c = f.store.counters(at(11, 10)).unwrap();
        let l = c.locations.iter().find(|l| l.location_id == f.island.id).unwrap();
        assert_eq!(
            (l.anonymous_in, l.anonymous_out, l.occupancy, l.people),
            (5, 2, 3, 0)
        );
    }

    #[test]
    fn every_change_lands_in_the_outbox() {
        let mut f = fixture();
        let before = f.store.outbox_status().unwrap().waiting;
        let token = f.store.badge_token(f.anna.id).unwrap();
        scan(&mut f.store, &token, f.door.id, at(9, 0));
        let after = f.store.outbox_status().unwrap().waiting;
        assert_eq!(after, before + 2, "a check-in and its scan record");
        let outbox = f.store.outbox(1000).unwrap();
        assert!(outbox.iter().any(|(_, e)| matches!(e.change, Change::CheckIn(_))));
        let last = outbox.last().unwrap().0;
        f.store.mark_pushed(last).unwrap();
        assert_eq!(f.store.outbox_status().unwrap().waiting, 0);
    }

    #[test]
    fn remote_changes_apply_once_and_in_any_order() {
        let mut a = fixture();
        let token = a.store.badge_token(a.anna.id).unwrap();
        scan(&mut a.store, &token, a.door.id, at(9, 0));
        let out = a
            .store
            .check_in_attendee(a.anna.id, a.island.id, Direction::In, Method::Search, at(9, 1))
            .unwrap();
        let Verdict::Admitted { checkin_id, .. } = out.verdict else {
            panic!()
        };
        a.store.annul(checkin_id, "mistake", at(9, 2)).unwrap();
        let changes: Vec<_> = a
            .store
            .outbox(10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();

        let other = Device {
            id: new_id(at(8, 0)),
            name: "Desk 2".into(),
        };
        let mut forward = Store::open_in_memory(other.clone(), at(8, 0)).unwrap();
        assert_eq!(forward.apply_remote(&changes, at(10, 0)).unwrap(), changes.len());
        assert_eq!(
            forward.apply_remote(&changes, at(10, 0)).unwrap(),
            0,
            "a retry changes nothing"
        );
        let mut reversed_changes = changes.clone();
        // Keep the event first (it must exist), then everything else backwards.
        reversed_changes[1..].reverse();
        let mut backward = Store::open_in_memory(other, at(8, 0)).unwrap();
        backward.apply_remote(&reversed_changes, at(10, 0)).unwrap();
        for s in [&forward, &backward] {
            let c = s.counters(at(10, 0)).unwrap();
            assert_eq!(c.checked_in, 1);
            let island = c.locations.iter().find(|l| l.name == "Остров 1").unwrap();
            assert_eq!(island.entries, 0, "the annulled visit does not count");
            assert_eq!(s.attendee(a.anna.id).unwrap().unwrap().full_name, "Чупшева Анна");
        }
        // A desk that only has public keys validates badges but cannot issue them.
        assert!(matches!(
            forward.badge_token(a.anna.id),
            Err(CoreError::NoSigningKey)
        ));
        assert_eq!(
            forward
                .scan(&token, a.door_b.id, Direction::In, at(10, 5))
                .unwrap()
                .verdict
                .name(),
            "already_checked_in"
        );
    }

    /// A received check-in that is only staged (not yet written) already
    /// decides verdicts: same answer before and after it is applied, and an
    /// undo received with it lifts it.
    #[test]
    fn staged_checkins_decide_verdicts_before_they_are_written() {
        let mut a = fixture();
        let token = a.store.badge_token(a.anna.id).unwrap();
        let setup: Vec<_> = a
            .store
            .outbox(10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let mut b = Store::open_in_memory(
            Device {
                id: new_id(at(8, 0)),
                name: "Desk 2".into(),
            },
            at(8, 0),
        )
        .unwrap();
        b.apply_remote(&setup, at(8, 30)).unwrap();

        // Desk 1 admits Anna at door A and counts her on the island; desk 2 has
        // heard of it but its disk has not caught up.
        scan(&mut a.store, &token, a.door.id, at(9, 0));
        a.store
            .check_in_attendee(a.anna.id, a.island.id, Direction::In, Method::Search, at(9, 1))
            .unwrap();
        let received: Vec<_> = a
            .store
            .outbox(10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| !setup.iter().any(|s| s.id == e.id))
            .collect();
        let inbox = b.inbox();
        assert_eq!(crate::store::inbox::lock(&inbox).stage(&received), 2);
        assert!(!b.checkin_exists(received[0].change.entity_id()).unwrap());

        let out = scan(&mut b, &token, a.door_b.id, at(9, 5));
        let Verdict::AlreadyCheckedIn { first, .. } = &out.verdict else {
            panic!("a staged check-in must decide the verdict: {:?}", out.verdict)
        };
        assert_eq!(first.location_name, "Вход A");
        assert_eq!(first.device_name, "Desk 1");
        assert_eq!(first.at, at(9, 0));
        // The island visit received counts as a visit here too.
        let visit = b
            .check_in_attendee(a.anna.id, a.island.id, Direction::In, Method::Search, at(9, 6))
            .unwrap();
        let Verdict::Admitted { visit, .. } = visit.verdict else {
            panic!()
        };
        assert_eq!(visit, 2, "second island visit (one received, one here)");

        // Writing the page empties the inbox and the answer stays the same.
        b.apply_remote(&received, at(9, 7)).unwrap();
        assert!(crate::store::inbox::lock(&inbox).is_empty());
        assert_eq!(
            scan(&mut b, &token, a.door_b.id, at(9, 8)).verdict.name(),
            "already_checked_in"
        );

        // A staged undo of a written check-in lifts it (desk 1 undid the
        // admission; desk 2 hears the undo before it writes it).
        let Some(first) = b
            .checkins_of(a.anna.id)
            .unwrap()
            .into_iter()
            .find(|c| c.location_id == a.door.id)
        else {
            panic!()
        };
        a.store.annul(first.id, "wrong badge", at(9, 9)).unwrap();
        let undo: Vec<_> = a
            .store
            .outbox(10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| matches!(e.change, Change::Annulment(_)))
            .collect();
        crate::store::inbox::lock(&inbox).stage(&undo);
        assert_eq!(
            scan(&mut b, &token, a.door_b.id, at(9, 10)).verdict.name(),
            "admitted"
        );
        b.apply_remote(&undo, at(9, 11)).unwrap();
        assert!(crate::store::inbox::lock(&inbox).is_empty());
    }

    /// Everything `from` recorded, applied at `to` (what a sync round does).
    fn sync(from: &Store, to: &mut Store, now: DateTime<Utc>) {
        let changes: Vec<_> = from
            .outbox(100_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        to.apply_remote(&changes, now).unwrap();
    }

    fn joined_desk(coordinator: &Store, name: &str) -> Store {
        let device = Device {
            id: new_id(at(8, 0)),
            name: name.into(),
        };
        let mut desk = Store::open_in_memory(device, at(8, 0)).unwrap();
        sync(coordinator, &mut desk, at(8, 1));
        desk
    }

    fn walk_in(desk: &mut Store, name: &str) -> (Attendee, String) {
        let a = desk
            .save_attendee(
                Attendee {
                    full_name: name.into(),
                    category: "participant".into(),
                    ..Attendee::default()
                },
                at(8, 30),
            )
            .unwrap();
        let token = desk.badge_token(a.id).unwrap();
        (a, token)
    }

    #[test]
    fn a_volunteer_desk_signs_walk_in_badges_with_its_own_key() {
        let mut coord = fixture();
        let mut volunteer = joined_desk(&coord.store, "Стойка 2");
        // Joined desks hold only the event's public key...
        assert!(!volunteer.can_issue_badges());
        assert!(matches!(
            volunteer.badge_token(coord.anna.id),
            Err(CoreError::NoSigningKey)
        ));
        // ...until they make their own; the creating desk keeps its event key.
        assert_eq!(coord.store.ensure_badge_key(at(8, 2)).unwrap(), None);
        let key_id = volunteer.ensure_badge_key(at(8, 2)).unwrap().unwrap();
        assert!(badge::DEVICE_KEY_IDS.contains(&key_id));
        assert_eq!(
            volunteer.ensure_badge_key(at(8, 3)).unwrap(),
            None,
            "one key per desk"
        );
        assert!(volunteer.can_issue_badges());
        let (olga, token) = walk_in(&mut volunteer, "Печатнова Ольга");
        assert_eq!(badge::decode(&token).unwrap().claims.key_id, key_id);
        // The volunteer desk itself admits the walk-in (at an island here,
        // so the entrances below see a first admission).
        assert_eq!(
            scan(&mut volunteer, &token, coord.island.id, at(9, 0))
                .verdict
                .name(),
            "admitted"
        );
        // A desk that has not synced the volunteer's key yet cannot tell the
        // badge from a forgery, and says to sync.
        let mut third = joined_desk(&coord.store, "Стойка 3");
        let out = scan(&mut third, &token, coord.door.id, at(9, 1));
        assert_eq!(out.verdict.name(), "invalid_signature");
        assert!(out.reason.contains("needs to sync"), "{}", out.reason);
        // Once the key has synced it admits the walk-in, known or not yet.
        sync(&volunteer, &mut third, at(9, 2));
        sync(&volunteer, &mut coord.store, at(9, 2));
        let out = scan(&mut coord.store, &token, coord.door_b.id, at(9, 3));
        match &out.verdict {
            Verdict::Admitted {
                attendee: Some(a), ..
            } => assert_eq!(a.id, olga.id),
            other => panic!("{other:?}"),
        }
        let mut fourth = joined_desk(&coord.store, "Стойка 4");
        let (_, second_token) = walk_in(&mut volunteer, "Лесная Мария");
        let dk: Vec<_> = volunteer
            .outbox(1000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| matches!(e.change, Change::DeviceKey(_)))
            .collect();
        fourth.apply_remote(&dk, at(9, 4)).unwrap();
        assert!(matches!(
            scan(&mut fourth, &second_token, coord.door.id, at(9, 5)).verdict,
            Verdict::Admitted { attendee: None, .. }
        ));
        // Another secret under the same desk key id is a forgery.
        let forged = badge::sign(
            &badge::decode(&second_token).unwrap().claims,
            &badge::generate_keypair().unwrap().0,
        );
        assert_eq!(
            scan(&mut coord.store, &forged, coord.door.id, at(9, 6))
                .verdict
                .name(),
            "invalid_signature"
        );
    }

    #[test]
    fn a_revoked_desks_badges_are_refused_unless_it_logged_them_as_printed() {
        let mut coord = fixture();
        let mut volunteer = joined_desk(&coord.store, "Стойка 2");
        volunteer.ensure_badge_key(at(8, 2)).unwrap().unwrap();
        let (printed, printed_token) = walk_in(&mut volunteer, "Печатнова Ольга");
        volunteer
            .record_printed(
                &[crate::store::changes::PrintedBadge {
                    attendee_id: printed.id,
                    issue: printed.badge_issue,
                }],
                crate::model::BadgeLayout::A6,
                at(8, 31),
            )
            .unwrap();
        let (_, unlogged_token) = walk_in(&mut volunteer, "Лесная Мария");
        sync(&volunteer, &mut coord.store, at(8, 40));
        let mut other = joined_desk(&coord.store, "Стойка 3");
        sync(&volunteer, &mut other, at(8, 41));
        let before_revocation: Vec<_> = coord
            .store
            .outbox(100_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        coord
            .store
            .record_device_revoked(volunteer.device().id, "ноутбук украден", at(8, 45))
            .unwrap();
        sync(&coord.store, &mut other, at(8, 46));
        let door = coord.door.id;
        for desk in [&mut coord.store, &mut other] {
            let out = scan(desk, &unlogged_token, door, at(9, 0));
            match &out.verdict {
                Verdict::Revoked { attendee } => {
                    // The coordinator knows who it is; the other desk may not.
                    assert!(attendee.as_ref().is_none_or(|a| a.full_name == "Лесная Мария"));
                }
                other => panic!("{other:?}"),
            }
            assert!(out.reason.contains("Стойка 2"), "{}", out.reason);
            assert!(out.reason.contains("ноутбук украден"), "{}", out.reason);
            // What it printed and logged before it was revoked still admits.
            assert_eq!(
                scan(desk, &printed_token, door, at(9, 1)).verdict.name(),
                "admitted"
            );
        }
        // Two revocations of one desk: the earliest wins whatever the order.
        let first = coord
            .store
            .outbox(100_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .find(|e| matches!(e.change, Change::DeviceRevoked { .. }))
            .unwrap();
        let mut earlier = first.clone();
        earlier.id = new_id(at(8, 50));
        if let Change::DeviceRevoked { at_ms, reason, .. } = &mut earlier.change {
            *at_ms -= 60_000;
            *reason = "раньше".into();
        }
        let mut digests = Vec::new();
        for order in [[&first, &earlier], [&earlier, &first]] {
            let device = Device {
                id: new_id(at(8, 0)),
                name: "Стойка 5".into(),
            };
            let mut desk = Store::open_in_memory(device, at(8, 0)).unwrap();
            desk.apply_remote(&before_revocation, at(9, 0)).unwrap();
            desk.apply_remote(&[order[0].clone(), order[1].clone()], at(9, 0))
                .unwrap();
            assert_eq!(
                desk.ctx()
                    .unwrap()
                    .revoked_devices
                    .values()
                    .next()
                    .unwrap()
                    .reason,
                "раньше"
            );
            digests.push(desk.state_digest().unwrap());
        }
        assert_eq!(digests[0], digests[1]);
    }

    #[test]
    fn a_desk_key_published_for_another_desk_or_without_proof_is_not_trusted() {
        let coord = fixture();
        let mut volunteer = joined_desk(&coord.store, "Стойка 2");
        volunteer.ensure_badge_key(at(8, 2)).unwrap();
        let (_, token) = walk_in(&mut volunteer, "Печатнова Ольга");
        let published = volunteer
            .outbox(1000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .find(|e| matches!(e.change, Change::DeviceKey(_)))
            .unwrap();
        let Change::DeviceKey(key) = &published.change else {
            unreachable!()
        };
        let thief = new_id(at(8, 5));
        let mut stolen = published.clone();
        stolen.id = new_id(at(8, 6));
        stolen.device_id = thief;
        let mut renamed = key.clone();
        renamed.device_id = thief;
        let mut claimed = published.clone();
        claimed.id = new_id(at(8, 7));
        claimed.device_id = thief;
        claimed.change = Change::DeviceKey(renamed);
        let mut unproven = published.clone();
        unproven.id = new_id(at(8, 8));
        let mut bad = key.clone();
        bad.proof = "00".repeat(64);
        unproven.change = Change::DeviceKey(bad);
        for forged in [stolen, claimed, unproven] {
            let mut desk = joined_desk(&coord.store, "Стойка 3");
            desk.apply_remote(std::slice::from_ref(&forged), at(8, 9))
                .unwrap();
            assert_eq!(
                scan(&mut desk, &token, coord.door.id, at(9, 0)).verdict.name(),
                "invalid_signature",
                "{forged:?}"
            );
        }
    }

    /// Found with the `sync_push` fuzz target (see `hlc.rs`), then as an
    /// attack: a change stamped at the end of time. A counter no clock can
    /// write does not even parse; a far-future time that does is applied by
    /// an unpaired store (nothing to check against) but never taken into
    /// the desk's clock, so its own edits keep winning as they should.
    #[test]
    fn a_change_from_the_far_future_does_not_move_the_clock() {
        assert!(
            "9999999999999-4294967295-01900000-0000-7000-8000-000000000002"
                .parse::<crate::hlc::Hlc>()
                .is_err()
        );
        let f = fixture();
        let mut other = joined_desk(&f.store, "Desk 2");
        let mut env = f.store.outbox(1).unwrap().remove(0).1;
        env.id = new_id(at(8, 5));
        env.hlc = "9999999999999-999999-01900000-0000-7000-8000-000000000002"
            .parse()
            .unwrap();
        assert_eq!(other.apply_remote(&[env], at(9, 0)).unwrap(), 1);
        let token = f.store.badge_token(f.anna.id).unwrap();
        assert_eq!(
            scan(&mut other, &token, f.door.id, at(9, 2)).verdict.name(),
            "admitted"
        );
        let last = other.outbox(1000).unwrap().pop().unwrap().1;
        assert_eq!(last.hlc.ms, at(9, 2).timestamp_millis());
    }
}
