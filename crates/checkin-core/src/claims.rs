//! What a sender may claim: the one check every receiver runs on every
//! change before applying or storing it — the central server and a hall hub
//! on every push and relay, and every desk on every change it pulls. Pure:
//! what the receiver already knows comes in through [`Facts`], the clock as
//! `now_ms`. The `sync_push` fuzz target runs it.
//!
//! A signature (see [`crate::change::ChangeEnvelope::verify`]) says who made
//! a change; this decides whether that author may say what it says:
//!
//! * the author is who the receiver thinks sent it, and its role may send
//!   this kind of change; a revoked desk's changes made after its
//!   revocation are refused;
//! * ids are the author's own ([`crate::model::made_by`]): the change's,
//!   and those of the check-in, scan, annulment or print job it creates;
//! * every device id inside the data is the author's; a desk renames only
//!   itself (a coordinator may rename any);
//! * a host checks in and scans only at zones;
//! * what it refers to exists (attendee, location, check-in to annul), or
//!   arrived earlier in the same push ([`Overlay`]); a check-in's day is an
//!   event day; a check-in arrives not yet annulled;
//! * its timestamp is not more than [`MAX_SKEW_MS`] ahead of the receiver;
//! * every text field is within its bound ([`limits`]).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::change::{Change, ChangeEnvelope, SERVER_AUTHOR};
use crate::hlc::{Hlc, MAX_SKEW_MS};
use crate::model::{LocationKind, Role, made_by};

/// Longest text per field, in characters (bytes for scan payloads).
pub mod limits {
    pub const NAME: usize = 300;
    pub const SHORT: usize = 100;
    pub const CODE: usize = 64;
    pub const EMAIL: usize = 254;
    pub const NOTES: usize = 2_000;
    pub const REASON: usize = 500;
    /// A QR payload as scanned (badge tokens are ~100 bytes; e-mail QR
    /// codes carry a URL or a ticket code).
    pub const PAYLOAD_BYTES: usize = 4_096;
    pub const TICKET_CODES: usize = 20;
    pub const DAYS: usize = 31;
    pub const CATEGORIES: usize = 200;
    pub const BADGES_PER_PRINT: usize = 20_000;
    pub const KEYS_PER_EVENT: usize = 256;
    /// A proposal's title and text (a page or two of typing at a stand).
    pub const PROPOSAL_TITLE: usize = 300;
    pub const PROPOSAL_TEXT: usize = 10_000;
    /// Topics per island and per proposal.
    pub const TOPICS: usize = 30;
}

/// Who made a change, as the receiver knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The central server itself (enrolments).
    Server,
    Device {
        id: Uuid,
        role: Role,
        /// When a coordinator revoked it.
        revoked_at_ms: Option<i64>,
    },
}

impl Author {
    fn id(&self) -> Uuid {
        match self {
            Author::Server => SERVER_AUTHOR,
            Author::Device { id, .. } => *id,
        }
    }
}

/// What the receiver knows of the event, as far as checks need it.
pub trait Facts {
    /// The event's days; `None` while the receiver has no event.
    fn event_days(&self) -> Option<Vec<NaiveDate>>;
    fn location_kind(&self, id: Uuid) -> Option<LocationKind>;
    fn attendee_exists(&self, id: Uuid) -> bool;
    fn checkin_exists(&self, id: Uuid) -> bool;
    /// The island (zone) of a proposal the receiver holds.
    fn proposal_island(&self, id: Uuid) -> Option<Uuid>;
}

/// Why a change is refused: a stable code and a message that says what to
/// do. Refused changes are never applied, stored or taken into a clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {change}: {message}")]
pub struct Refusal {
    pub change: Uuid,
    /// The author the change names.
    pub author: Uuid,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(env: &ChangeEnvelope, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            change: env.id,
            author: env.device_id,
            code,
            message: message.into(),
        }
    }
}

/// What a stream of accepted changes created, as far as checks need it: the
/// event's days, locations, attendees and check-ins. An [`Overlay`] keeps
/// one for the changes of a push before the one being checked; the central
/// server keeps one per event, caught up from its stored log, instead of a
/// whole replica database.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// Last writer wins by HLC, as a desk's database has it.
    days: Option<(Hlc, Vec<NaiveDate>)>,
    locations: HashMap<Uuid, (Hlc, LocationKind)>,
    attendees: HashSet<Uuid>,
    checkins: HashSet<Uuid>,
    /// Proposals and their islands.
    proposals: HashMap<Uuid, Uuid>,
}

impl Known {
    /// Remember what an accepted change creates.
    pub fn note(&mut self, env: &ChangeEnvelope) {
        match &env.change {
            Change::Event(rec) if self.days.as_ref().is_none_or(|(at, _)| *at < env.hlc) => {
                self.days = Some((env.hlc, rec.event.days.clone()));
            }
            Change::Location(l) => {
                let slot = self.locations.entry(l.id).or_insert((env.hlc, l.kind));
                if slot.0 < env.hlc {
                    *slot = (env.hlc, l.kind);
                }
            }
            Change::Attendee(a) => {
                self.attendees.insert(a.id);
            }
            Change::CheckIn(c) => {
                self.checkins.insert(c.id);
            }
            Change::Proposal(p) => {
                self.proposals.insert(p.id, p.island_id);
            }
            _ => {}
        }
    }

    /// How many things it knows (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.locations.len()
            + self.attendees.len()
            + self.checkins.len()
            + self.proposals.len()
            + usize::from(self.days.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Facts for Known {
    fn event_days(&self) -> Option<Vec<NaiveDate>> {
        self.days.as_ref().map(|(_, d)| d.clone())
    }
    fn location_kind(&self, id: Uuid) -> Option<LocationKind> {
        self.locations.get(&id).map(|(_, k)| *k)
    }
    fn attendee_exists(&self, id: Uuid) -> bool {
        self.attendees.contains(&id)
    }
    fn checkin_exists(&self, id: Uuid) -> bool {
        self.checkins.contains(&id)
    }
    fn proposal_island(&self, id: Uuid) -> Option<Uuid> {
        self.proposals.get(&id).copied()
    }
}

/// The facts, plus what earlier changes of the same push or page created.
pub struct Overlay<'a> {
    base: &'a dyn Facts,
    added: Known,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Facts) -> Overlay<'a> {
        Overlay {
            base,
            added: Known::default(),
        }
    }

    /// Remember what an accepted change creates, for the changes after it.
    pub fn note(&mut self, env: &ChangeEnvelope) {
        self.added.note(env);
    }

    /// [`check`] against the facts and this overlay, and on success
    /// [`Overlay::note`] it.
    pub fn admit(&mut self, author: &Author, env: &ChangeEnvelope, now_ms: i64) -> Result<(), Refusal> {
        check(author, env, Some(&*self), now_ms)?;
        self.note(env);
        Ok(())
    }
}

impl Facts for Overlay<'_> {
    fn event_days(&self) -> Option<Vec<NaiveDate>> {
        self.added.event_days().or_else(|| self.base.event_days())
    }
    fn location_kind(&self, id: Uuid) -> Option<LocationKind> {
        self.added
            .location_kind(id)
            .or_else(|| self.base.location_kind(id))
    }
    fn attendee_exists(&self, id: Uuid) -> bool {
        self.added.attendee_exists(id) || self.base.attendee_exists(id)
    }
    fn checkin_exists(&self, id: Uuid) -> bool {
        self.added.checkin_exists(id) || self.base.checkin_exists(id)
    }
    fn proposal_island(&self, id: Uuid) -> Option<Uuid> {
        self.added
            .proposal_island(id)
            .or_else(|| self.base.proposal_island(id))
    }
}

fn too_long(s: &str, max: usize) -> bool {
    // Cheap first: a string of at most `max` bytes has at most `max` chars.
    s.len() > max && s.chars().count() > max
}

fn bounded(env: &ChangeEnvelope, field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if too_long(s, max) {
        return Err(Refusal::new(
            env,
            "too_long",
            format!("{field} is longer than {max} characters: shorten it"),
        ));
    }
    Ok(())
}

fn bounded_opt(env: &ChangeEnvelope, field: &str, s: &Option<String>, max: usize) -> Result<(), Refusal> {
    s.as_deref().map_or(Ok(()), |s| bounded(env, field, s, max))
}

/// Decide whether `author` may claim `env`, given what the receiver knows.
/// Without `facts`, only what needs none (author, role, ids, clock, sizes):
/// a desk checks that much as a page arrives, and the rest as it writes it.
pub fn check(
    author: &Author,
    env: &ChangeEnvelope,
    facts: Option<&dyn Facts>,
    now_ms: i64,
) -> Result<(), Refusal> {
    let kind = env.change.kind();
    if env.device_id != author.id() {
        return Err(Refusal::new(
            env,
            "not_the_author",
            "the change names another author than the desk that sent it; a desk sends only its own changes",
        ));
    }
    if env.hlc.too_far_ahead(now_ms) {
        return Err(Refusal::new(
            env,
            "clock_ahead",
            format!(
                "the change is stamped {} s ahead of this receiver's clock (at most {} s are accepted): set the desk's clock right; its changes wait until then",
                (env.hlc.ms - now_ms) / 1000,
                MAX_SKEW_MS / 1000
            ),
        ));
    }
    let (me, role) = match *author {
        Author::Server => {
            return match &env.change {
                Change::Enrolled(e) => {
                    bounded(env, "the desk name", &e.name, limits::SHORT)?;
                    e.public().map(|_| ()).ok_or_else(|| {
                        Refusal::new(env, "bad_key", "the enrolled key is not 32 bytes of hex")
                    })
                }
                _ => Err(Refusal::new(
                    env,
                    "forbidden",
                    format!("the server makes only enrolments, not {kind} changes"),
                )),
            };
        }
        Author::Device {
            id,
            role,
            revoked_at_ms,
        } => {
            if let Some(at) = revoked_at_ms
                && env.hlc.ms >= at
            {
                return Err(Refusal::new(
                    env,
                    "device_revoked",
                    "the change was made after a coordinator revoked its desk",
                ));
            }
            (id, role)
        }
    };
    if !role.may_push(kind) {
        return Err(Refusal::new(
            env,
            "forbidden",
            format!(
                "a {} desk may not send {kind} changes: ask a coordinator",
                role.as_str()
            ),
        ));
    }
    if !made_by(env.id, me) {
        return Err(Refusal::new(
            env,
            "id_not_yours",
            "the change id was not made by its author (an id read elsewhere and reused); the change is refused and reported",
        ));
    }
    let own = |what: &str, device: Uuid| {
        if device == me {
            Ok(())
        } else {
            Err(Refusal::new(
                env,
                "not_the_author",
                format!("the {what} names another desk than its author: a desk records only its own"),
            ))
        }
    };
    let own_id = |what: &str, id: Uuid| {
        if made_by(id, me) {
            Ok(())
        } else {
            Err(Refusal::new(
                env,
                "id_not_yours",
                format!("the {what}'s id was not made by its author"),
            ))
        }
    };
    // With no facts, references are taken as they are (checked later).
    let location = |id: Uuid| match facts {
        None => Ok(None),
        Some(f) => f.location_kind(id).map(Some).ok_or_else(|| {
            Refusal::new(
                env,
                "unknown_reference",
                format!("location {id} is unknown here: sync the event's locations first"),
            )
        }),
    };
    let attendee = |id: Uuid| {
        if facts.is_none_or(|f| f.attendee_exists(id)) {
            Ok(())
        } else {
            Err(Refusal::new(
                env,
                "unknown_reference",
                format!("attendee {id} is unknown here: push the attendee before what refers to them"),
            ))
        }
    };
    let at_zone = |kind: Option<LocationKind>, what: &str| {
        if role == Role::Host && kind.is_some_and(|k| k != LocationKind::Zone) {
            Err(Refusal::new(
                env,
                "forbidden",
                format!("an island host's desk records {what} only at zones, not at entrances"),
            ))
        } else {
            Ok(())
        }
    };
    // Proposals live at islands: a zone of the event (whoever writes them).
    let island = |kind: Option<LocationKind>| {
        if kind.is_some_and(|k| k != LocationKind::Zone) {
            Err(Refusal::new(
                env,
                "bad_request",
                "proposals are taken at islands (zones), not at entrances",
            ))
        } else {
            Ok(())
        }
    };
    match &env.change {
        Change::Event(rec) => {
            if rec.event.id != env.event_id {
                return Err(Refusal::new(
                    env,
                    "wrong_event",
                    "an event change must describe its own event",
                ));
            }
            bounded(env, "the event name", &rec.event.name, limits::NAME)?;
            bounded(env, "the time zone", &rec.event.timezone, limits::CODE)?;
            if rec.event.days.len() > limits::DAYS
                || rec.event.categories.len() > limits::CATEGORIES
                || rec.keys.len() > limits::KEYS_PER_EVENT
            {
                return Err(Refusal::new(
                    env,
                    "too_long",
                    format!(
                        "an event has at most {} days, {} categories and {} keys",
                        limits::DAYS,
                        limits::CATEGORIES,
                        limits::KEYS_PER_EVENT
                    ),
                ));
            }
            for c in &rec.event.categories {
                category(env, c)?;
            }
        }
        Change::Location(l) => bounded(env, "the location name", &l.name, limits::NAME)?,
        Change::Device(d) => {
            if d.id != me && role != Role::Coordinator {
                return Err(Refusal::new(
                    env,
                    "not_the_author",
                    "a desk renames only itself; a coordinator renames others",
                ));
            }
            bounded(env, "the desk name", &d.name, limits::SHORT)?;
        }
        Change::Attendee(a) => {
            bounded(env, "the full name", &a.full_name, limits::NAME)?;
            bounded_opt(env, "the Latin name", &a.latin_name, limits::NAME)?;
            bounded_opt(env, "the organization", &a.organization, limits::NAME)?;
            bounded_opt(env, "the position", &a.position, limits::NAME)?;
            bounded(env, "the category", &a.category, limits::CODE)?;
            bounded_opt(env, "the e-mail", &a.email, limits::EMAIL)?;
            bounded_opt(env, "the phone", &a.phone, limits::CODE)?;
            bounded_opt(env, "the notes", &a.notes, limits::NOTES)?;
            if a.days.len() > limits::DAYS || a.ticket_codes.len() > limits::TICKET_CODES {
                return Err(Refusal::new(
                    env,
                    "too_long",
                    format!(
                        "a person has at most {} days and {} ticket codes",
                        limits::DAYS,
                        limits::TICKET_CODES
                    ),
                ));
            }
            for t in &a.ticket_codes {
                bounded(env, "a ticket code", t, limits::NAME)?;
            }
        }
        Change::Revocation {
            attendee_id, reason, ..
        }
        | Change::BadgeRevoked {
            attendee_id, reason, ..
        } => {
            bounded(env, "the reason", reason, limits::REASON)?;
            attendee(*attendee_id)?;
        }
        Change::CheckIn(c) => {
            own("check-in", c.device_id)?;
            own_id("check-in", c.id)?;
            if c.annulled_by.is_some() {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a check-in arrives not annulled; an annulment is a change of its own",
                ));
            }
            let kind = location(c.location_id)?;
            at_zone(kind, "check-ins")?;
            if let Some(a) = c.attendee_id {
                attendee(a)?;
            }
            match facts.map(|f| f.event_days()) {
                None => {}
                Some(Some(days)) if days.contains(&c.day) => {}
                Some(Some(_)) => {
                    return Err(Refusal::new(
                        env,
                        "bad_day",
                        format!("{} is not a day of the event", c.day),
                    ));
                }
                Some(None) => {
                    return Err(Refusal::new(
                        env,
                        "unknown_reference",
                        "the event is unknown here: sync the event first",
                    ));
                }
            }
        }
        Change::Annulment(a) => {
            own("annulment", a.device_id)?;
            own_id("annulment", a.id)?;
            bounded(env, "the reason", &a.reason, limits::REASON)?;
            if facts.is_some_and(|f| !f.checkin_exists(a.checkin_id)) {
                return Err(Refusal::new(
                    env,
                    "unknown_reference",
                    format!(
                        "check-in {} is unknown here: push it before its annulment",
                        a.checkin_id
                    ),
                ));
            }
        }
        Change::Scan(s) => {
            own("scan", s.device_id)?;
            own_id("scan", s.id)?;
            if s.payload.len() > limits::PAYLOAD_BYTES {
                return Err(Refusal::new(
                    env,
                    "too_long",
                    format!("a scanned code is at most {} bytes", limits::PAYLOAD_BYTES),
                ));
            }
            bounded(env, "the verdict", &s.verdict, limits::CODE)?;
            bounded(env, "the reason", &s.reason, limits::REASON)?;
            let kind = location(s.location_id)?;
            at_zone(kind, "scans")?;
        }
        Change::BadgePrinted(p) => {
            own("print job", p.device_id)?;
            own_id("print job", p.id)?;
            bounded(env, "the layout", &p.layout, limits::CODE)?;
            if p.badges.len() > limits::BADGES_PER_PRINT {
                return Err(Refusal::new(
                    env,
                    "too_long",
                    format!("a print job holds at most {} badges", limits::BADGES_PER_PRINT),
                ));
            }
            if let Some(reason) = &p.reason {
                bounded(env, "the reprint reason", reason, limits::REASON)?;
            }
            for b in &p.badges {
                attendee(b.attendee_id)?;
            }
        }
        Change::DeviceKey(k) => {
            own("badge key", k.device_id)?;
            k.check(env.event_id, me)
                .map_err(|why| Refusal::new(env, "bad_key", format!("the desk's badge key: {why}")))?;
        }
        Change::DeviceRevoked { reason, .. } => bounded(env, "the reason", reason, limits::REASON)?,
        Change::Enrolled(_) => {
            return Err(Refusal::new(
                env,
                "forbidden",
                "only the central server enrols desks",
            ));
        }
        Change::HubKey(h) => {
            bounded(env, "the hub name", &h.name, limits::SHORT)?;
            if h.tls_fp.len() != 64 || !h.tls_fp.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Refusal::new(
                    env,
                    "bad_key",
                    "the hub's certificate fingerprint is not 64 hex digits",
                ));
            }
            h.check(env.event_id, me)
                .map_err(|why| Refusal::new(env, "bad_key", format!("the hub key: {why}")))?;
        }
        Change::Category(edit) => {
            category(env, &edit.category)?;
            if !crate::model::is_color(&edit.category.color) {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a category colour is written #rrggbb",
                ));
            }
            if edit.category.code.is_empty()
                || !edit
                    .category
                    .code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a category code is Latin letters, digits, '_' and '-'",
                ));
            }
            if let Some(facts) = facts
                && let Some(days) = facts.event_days()
                && let Some(day) = edit.category.days.iter().find(|d| !days.contains(d))
            {
                return Err(Refusal::new(
                    env,
                    "bad_day",
                    format!("the category's day {day} is not a day of the event"),
                ));
            }
        }
        Change::Proposal(p) => {
            own("proposal", p.device_id)?;
            own_id("proposal", p.id)?;
            if p.status != crate::model::ProposalStatus::New
                || p.status_by.is_some()
                || p.status_at_ms.is_some()
            {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a proposal is created new; its status changes by proposal_edit",
                ));
            }
            proposal_fields(
                env,
                &crate::model::ProposalPatch {
                    author: Some(p.author.clone()),
                    title: Some(p.title.clone()),
                    text: Some(p.text.clone()),
                    topics: Some(p.topics.clone()),
                    consent: None,
                    status: None,
                },
            )?;
            if let Some(a) = p.author.attendee_id {
                attendee(a)?;
            }
            island(location(p.island_id)?)?;
        }
        Change::ProposalEdit(e) => {
            if e.patch.is_empty() {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a proposal edit changes something",
                ));
            }
            proposal_fields(env, &e.patch)?;
            if let Some(a) = e.patch.author.as_ref().and_then(|a| a.attendee_id) {
                attendee(a)?;
            }
            if let Some(f) = facts {
                let Some(at) = f.proposal_island(e.id) else {
                    return Err(Refusal::new(
                        env,
                        "unknown_reference",
                        format!(
                            "proposal {} is unknown here: push the proposal before its edits",
                            e.id
                        ),
                    ));
                };
                island(location(at)?)?;
            }
        }
        Change::IslandTopics(t) => {
            if t.topics.len() > limits::TOPICS {
                return Err(Refusal::new(
                    env,
                    "too_long",
                    format!("an island has at most {} topics", limits::TOPICS),
                ));
            }
            for topic in &t.topics {
                bounded(env, "a topic", topic, limits::SHORT)?;
            }
            island(location(t.island_id)?)?;
        }
        Change::KioskPin(pin) => {
            if !pin.hash_ok() {
                return Err(Refusal::new(
                    env,
                    "bad_request",
                    "a kiosk PIN travels only as an Argon2id hash (PHC string, at most 200 characters)",
                ));
            }
        }
    }
    Ok(())
}

/// A proposal's fields within their bounds.
fn proposal_fields(env: &ChangeEnvelope, p: &crate::model::ProposalPatch) -> Result<(), Refusal> {
    if let Some(a) = &p.author {
        bounded_opt(env, "the author's name", &a.name, limits::NAME)?;
        bounded_opt(env, "the author's organization", &a.organization, limits::NAME)?;
        bounded_opt(env, "the author's contact", &a.contact, limits::EMAIL)?;
    }
    if let Some(t) = &p.title {
        bounded(env, "the proposal's title", t, limits::PROPOSAL_TITLE)?;
    }
    if let Some(t) = &p.text {
        bounded(env, "the proposal's text", t, limits::PROPOSAL_TEXT)?;
    }
    if let Some(topics) = &p.topics {
        if topics.len() > limits::TOPICS {
            return Err(Refusal::new(
                env,
                "too_long",
                format!("a proposal has at most {} topics", limits::TOPICS),
            ));
        }
        for t in topics {
            bounded(env, "a topic", t, limits::SHORT)?;
        }
    }
    Ok(())
}

/// A category's fields within their bounds, its code plain and its colour
/// `#rrggbb`.
fn category(env: &ChangeEnvelope, c: &crate::model::Category) -> Result<(), Refusal> {
    bounded(env, "a category code", &c.code, limits::CODE)?;
    bounded(env, "a category name", &c.label_ru, limits::SHORT)?;
    bounded(env, "a category name", &c.label_en, limits::SHORT)?;
    bounded(env, "a category colour", &c.color, limits::CODE)?;
    if c.days.len() > limits::DAYS {
        return Err(Refusal::new(
            env,
            "too_long",
            format!("a category has at most {} days", limits::DAYS),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;

    fn location(kind: LocationKind, ms: i64) -> ChangeEnvelope {
        let node = Uuid::from_u128(7);
        ChangeEnvelope {
            id: Uuid::now_v7(),
            event_id: Uuid::from_u128(1),
            hlc: Hlc { ms, counter: 0, node },
            device_id: node,
            change: Change::Location(Location {
                id: Uuid::from_u128(42),
                name: "Вход А".into(),
                kind,
                allow_reentry: false,
            }),
            sig: None,
        }
    }

    #[test]
    fn known_keeps_the_last_writer_by_hlc_not_by_arrival() {
        let mut known = Known::default();
        assert!(known.is_empty());
        known.note(&location(LocationKind::Zone, 2_000));
        // An older edit that arrives later does not win.
        known.note(&location(LocationKind::Entrance, 1_000));
        assert_eq!(known.location_kind(Uuid::from_u128(42)), Some(LocationKind::Zone));
        known.note(&location(LocationKind::Entrance, 3_000));
        assert_eq!(
            known.location_kind(Uuid::from_u128(42)),
            Some(LocationKind::Entrance)
        );
        assert_eq!(known.len(), 1);
        assert!(!known.attendee_exists(Uuid::from_u128(42)));
    }

    #[test]
    fn an_overlay_sees_its_own_changes_first_and_then_the_base() {
        let mut base = Known::default();
        base.note(&location(LocationKind::Zone, 2_000));
        let mut overlay = Overlay::new(&base);
        assert_eq!(
            overlay.location_kind(Uuid::from_u128(42)),
            Some(LocationKind::Zone)
        );
        overlay.note(&location(LocationKind::Entrance, 3_000));
        assert_eq!(
            overlay.location_kind(Uuid::from_u128(42)),
            Some(LocationKind::Entrance)
        );
        assert_eq!(base.location_kind(Uuid::from_u128(42)), Some(LocationKind::Zone));
    }
}
