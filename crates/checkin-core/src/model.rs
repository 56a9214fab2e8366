//! Domain types shared by every part of the core. Plain data: no IO here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new time-ordered id (UUIDv7) for `now`. The core never reads the clock
/// itself, so the caller's `now` seeds the timestamp part. Ids made on one
/// thread within the same millisecond still ascend (a counter follows the
/// timestamp), so a bulk import appends to the B-tree instead of splitting
/// pages at random places.
pub fn new_id(now: DateTime<Utc>) -> Uuid {
    thread_local! {
        static CONTEXT: uuid::ContextV7 = const { uuid::ContextV7::new() };
    }
    let ms = now.timestamp_millis().max(0) as u64;
    CONTEXT.with(|ctx| {
        let ts = uuid::Timestamp::from_unix(ctx, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
        Uuid::new_v7(ts)
    })
}

/// A time-ordered id (UUIDv7, like [`new_id`]) that names the desk that
/// made it: its last 32 bits are a tag computed from `author` and the rest
/// of the id, so [`made_by`] can tell whose it is. Ids of changes and of
/// what a change creates (check-ins, scans, annulments, print jobs) are made
/// this way, so a desk that reads another desk's id cannot push a change of
/// its own under it (see `docs/security.md`, "Id squatting").
pub fn new_id_by(author: Uuid, now: DateTime<Utc>) -> Uuid {
    let mut bytes = *new_id(now).as_bytes();
    let tag = id_tag(author, &bytes);
    bytes[12..].copy_from_slice(&tag);
    Uuid::from_bytes(bytes)
}

/// Whether `id` was made by `author` with [`new_id_by`].
pub fn made_by(id: Uuid, author: Uuid) -> bool {
    let bytes = id.as_bytes();
    bytes[12..] == id_tag(author, bytes)
}

fn id_tag(author: Uuid, id: &[u8; 16]) -> [u8; 4] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"checkin-id-v1");
    h.update(author.as_bytes());
    h.update(&id[..12]);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// What a paired device may do. The central server gives a desk its role
/// when it pairs; every receiver checks a change against its author's role
/// ([`crate::claims`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Entrance desks: check-ins, annulments, walk-in registrations and
    /// their badges (signed with the desk's own key).
    Volunteer,
    /// Island hosts: zone counts and participants' proposals at their islands.
    Host,
    /// Import, edit, revoke, print, export, pair and revoke devices.
    Coordinator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Volunteer => "volunteer",
            Role::Host => "host",
            Role::Coordinator => "coordinator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_lowercase().as_str() {
            "volunteer" => Some(Role::Volunteer),
            "host" => Some(Role::Host),
            "coordinator" => Some(Role::Coordinator),
            _ => None,
        }
    }

    /// Whether this role may send a change of `kind` (see `Change::kind`).
    /// `enrolled` is the central server's own and no device's.
    pub fn may_push(self, kind: &str) -> bool {
        match self {
            Role::Coordinator => kind != "enrolled",
            Role::Volunteer => matches!(
                kind,
                "checkin" | "annulment" | "scan" | "attendee" | "device" | "badge_printed" | "device_key"
            ),
            Role::Host => matches!(
                kind,
                "checkin" | "annulment" | "scan" | "device" | "proposal" | "proposal_edit"
            ),
        }
    }
}

/// One event (the forum). Days are calendar dates in the event's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub name: String,
    pub days: Vec<NaiveDate>,
    /// IANA time zone name, e.g. `Europe/Moscow`.
    pub timezone: String,
    pub categories: Vec<Category>,
}

/// Attendee category (participant, speaker, press, …) with its badge colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Stable code used in data: `participant`, `speaker`, `press`, `organizer`, `volunteer`, `vip`.
    pub code: String,
    pub label_ru: String,
    pub label_en: String,
    /// Badge band colour, `#rrggbb`.
    pub color: String,
    /// Days people of this category are admitted (e.g. press on day 2
    /// only); empty means every day of the event. A person's own days
    /// narrow it further.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<NaiveDate>,
}

impl Category {
    /// The categories a new event starts with.
    pub fn defaults() -> Vec<Category> {
        [
            ("participant", "Участник", "Participant", "#2e7d32"),
            ("speaker", "Спикер", "Speaker", "#c62828"),
            ("press", "Пресса", "Press", "#f9a825"),
            ("organizer", "Организатор", "Organizer", "#1565c0"),
            ("volunteer", "Волонтёр", "Volunteer", "#ef6c00"),
            ("vip", "VIP", "VIP", "#6a1b9a"),
        ]
        .into_iter()
        .map(|(code, ru, en, color)| Category {
            code: code.into(),
            label_ru: ru.into(),
            label_en: en.into(),
            color: color.into(),
            days: Vec::new(),
        })
        .collect()
    }

    /// The colour a category gets when nobody chose one (a neutral grey).
    pub const NEUTRAL_COLOR: &'static str = "#607d8b";

    /// Whether people of this category are admitted on `day`.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }

    /// A code for a category named `name` (Latin letters, digits and `_`;
    /// Cyrillic transliterated), unique among `taken`.
    pub fn code_for(name: &str, taken: &[&str]) -> String {
        let latin = checkin_search::transliterate(&name.to_lowercase());
        let mut code: String = latin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        while code.contains("__") {
            code = code.replace("__", "_");
        }
        let mut code = code.trim_matches('_').chars().take(40).collect::<String>();
        if code.is_empty() {
            code = "category".into();
        }
        let base = code.clone();
        let mut n = 2;
        while taken.contains(&code.as_str()) {
            code = format!("{base}_{n}");
            n += 1;
        }
        code
    }
}

/// Whether `s` is a colour written `#rrggbb`.
pub fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A coordinator's edit of one category (`category` change), last writer
/// wins per code. `removed` takes it out of the event; the same code may be
/// added again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryEdit {
    #[serde(flatten)]
    pub category: Category,
    #[serde(default)]
    pub removed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// A door: people are admitted once per day unless re-entry is allowed.
    Entrance,
    /// An island inside the venue: every visit counts, repeat visits too.
    Zone,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Entrance => "entrance",
            LocationKind::Zone => "zone",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entrance" => Some(LocationKind::Entrance),
            "zone" => Some(LocationKind::Zone),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub kind: LocationKind,
    /// Entrances only: admit the same person again on the same day.
    pub allow_reentry: bool,
}

/// A person expected at the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Attendee {
    pub id: Uuid,
    pub full_name: String,
    /// Optional Latin spelling as the person writes it (passport, e-mail).
    pub latin_name: Option<String>,
    pub organization: Option<String>,
    pub position: Option<String>,
    /// Category code; see [`Category::code`].
    pub category: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Days the badge is valid; empty means every day of the event.
    pub days: Vec<NaiveDate>,
    /// Ticket codes from the registration system, accepted at the desk like a badge.
    pub ticket_codes: Vec<String>,
    /// A note for the desk ("VIP — call the protocol officer"): shown on
    /// every verdict about the person.
    pub notes: Option<String>,
    /// Hold the verdict card (with its own sound) until the volunteer
    /// dismisses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attention: bool,
    pub revoked: bool,
    /// Badge generation. A replacement badge (lost badge) raises it; badges
    /// with a lower issue are refused as revoked.
    pub badge_issue: u8,
}

/// The search index reads names and identifiers through this.
impl checkin_search::Searchable for Attendee {
    fn id(&self) -> Uuid {
        self.id
    }
    fn full_name(&self) -> &str {
        &self.full_name
    }
    fn latin_name(&self) -> Option<&str> {
        self.latin_name.as_deref()
    }
    fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }
    fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
    fn ticket_codes(&self) -> &[String] {
        &self.ticket_codes
    }
}

impl Attendee {
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A QR badge or ticket code read by a scanner or camera.
    Scan,
    /// Picked from the search list by a volunteer.
    Search,
    /// Typed or tapped by hand (island +1/−1 counts, corrections).
    Manual,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Scan => "scan",
            Method::Search => "search",
            Method::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "scan" => Some(Method::Scan),
            "search" => Some(Method::Search),
            "manual" => Some(Method::Manual),
            _ => None,
        }
    }
}

/// One recorded passage: a person (or an anonymous visitor) at a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    pub id: Uuid,
    /// `None` for anonymous zone counts (+1 / −1 taps).
    pub attendee_id: Option<Uuid>,
    pub location_id: Uuid,
    pub device_id: Uuid,
    pub direction: Direction,
    pub method: Method,
    pub at: DateTime<Utc>,
    /// The event day (in the event's time zone) this check-in counts for.
    pub day: NaiveDate,
    /// Set when the check-in was undone; the id of the annulment.
    pub annulled_by: Option<Uuid>,
}

/// A desk or server that records changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub name: String,
}

/// Paper and arrangement of printed badges: named in the print log; the
/// badge PDF crate (`checkin-pdf`) knows their geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BadgeLayout {
    /// One 105×148 mm badge per A6 page: desk printers, walk-ins.
    #[serde(rename = "a6")]
    A6,
    /// A4 sheets of 8 badges of 90×55 mm (2 × 4) with cut marks: batches.
    #[serde(rename = "a4-8")]
    A4x8,
    /// 62×100 mm pages for continuous label printers (62 mm rolls).
    #[serde(rename = "label-62x100")]
    Label62x100,
}

impl BadgeLayout {
    pub const ALL: [BadgeLayout; 3] = [BadgeLayout::A4x8, BadgeLayout::A6, BadgeLayout::Label62x100];

    /// The name used on the command line and in the print log.
    pub fn as_str(self) -> &'static str {
        match self {
            BadgeLayout::A6 => "a6",
            BadgeLayout::A4x8 => "a4-8",
            BadgeLayout::Label62x100 => "label-62x100",
        }
    }

    pub fn parse(s: &str) -> Option<BadgeLayout> {
        BadgeLayout::ALL.into_iter().find(|l| l.as_str() == s.trim())
    }
}

impl std::fmt::Display for BadgeLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a participant's proposal stands on its way to the plenary.
/// Deleting is a status ([`ProposalStatus::Declined`]), never a lost row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    #[default]
    New,
    Shortlisted,
    Presented,
    Declined,
}

impl ProposalStatus {
    pub const ALL: [ProposalStatus; 4] = [
        ProposalStatus::New,
        ProposalStatus::Shortlisted,
        ProposalStatus::Presented,
        ProposalStatus::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::New => "new",
            ProposalStatus::Shortlisted => "shortlisted",
            ProposalStatus::Presented => "presented",
            ProposalStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<ProposalStatus> {
        ProposalStatus::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim().to_lowercase())
    }
}

/// Who made a proposal: an attendee (found by badge scan or search), or a
/// person without a badge, with what they typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalAuthor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendee_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// An e-mail or phone, as the person gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A participant's proposal, taken down at an island's stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: Uuid,
    /// The island (a zone) where it was taken down.
    pub island_id: Uuid,
    pub author: ProposalAuthor,
    pub title: String,
    pub text: String,
    /// Of the island's topics, several allowed.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The author agreed to be contacted (off unless they said yes).
    #[serde(default)]
    pub consent: bool,
    #[serde(default)]
    pub status: ProposalStatus,
    /// The desk that set the status and when (Unix ms); absent while new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_by: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at_ms: Option<i64>,
    /// The host desk that took it down, and when (Unix ms).
    pub device_id: Uuid,
    pub at_ms: i64,
}

/// What an edit of a proposal changes; `None` keeps the field. Each field
/// is its own last-writer-wins register (by the edit's HLC), so an edit on
/// one desk and a status change on another both survive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<ProposalAuthor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<bool>,
    /// Who set it and when come from the edit itself (its desk and HLC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProposalStatus>,
}

impl ProposalPatch {
    pub fn is_empty(&self) -> bool {
        self == &ProposalPatch::default()
    }
}

/// An edit of one proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalEdit {
    pub id: Uuid,
    #[serde(flatten)]
    pub patch: ProposalPatch,
}

/// The topics a coordinator sets for one island (last writer wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IslandTopics {
    pub island_id: Uuid,
    pub topics: Vec<String>,
}
