//! Live statistics and the numbers behind the reports, the same on every desk,
//! in the CLI and on the server: arrivals per 15 minutes per entrance,
//! checked in / expected per category, no-shows, zone visits (visitors per
//! hour, unique visitors, repeat visits, dwell time, anonymous counts,
//! occupancy now and at its peak), duplicates caught and per-device activity.
//!
//! Everything is computed from the local tables that the change log
//! materialises, so an island host offline sees true numbers for their
//! island, and totals converge once desks sync (the log converges).
//!
//! Rules that every figure follows:
//! - annulled check-ins never count;
//! - a person counts once per day however many desks admitted them;
//!   admissions beyond the first at once-per-day entrances are duplicates;
//! - time buckets come from the check-in's own time (`at`, stamped by the
//!   desk from the caller's clock) in the event's time zone; the day is the
//!   event day the check-in was recorded for.
//!
//! [`StatsCache`] loads once (one pass over the check-ins) and then follows
//! the change log with [`StatsCache::refresh`], touching only what each new
//! change affects, so a dashboard refresh after a scan stays cheap.

use std::collections::BTreeMap;

use smallvec::SmallVec;

/// Maps keyed by ids: foldhash (fast, seeded per process) instead of SipHash;
/// loading the statistics hashes several ids per check-in.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::model::{CheckIn, Direction, LocationKind};
use crate::store::changes::Change;
use crate::store::facts::{RawCheckIn, read_checkins};
use crate::store::{Store, checkin_from_row, open_read_only};

/// Category code used for people admitted by a valid badge before their
/// details reached this desk.
pub const UNSYNCED_CATEGORY: &str = "";

/// One hour of the event day (local time) at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Local hour, 0–23.
    pub hour: u8,
    pub entries: u64,
    pub exits: u64,
}

/// One 15-minute slot at an entrance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarterCount {
    /// Minutes since local midnight at the start of the slot (0, 15, … 1425).
    pub minute: u32,
    /// People whose first admission of the day fell here (each person once).
    pub people: u64,
    /// Every admission here (re-entries and duplicates included).
    pub admissions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntranceStats {
    pub location_id: Uuid,
    pub name: String,
    /// People whose first admission of the day was here.
    pub people: u64,
    pub admissions: u64,
    pub exits: u64,
    /// Slots with any admission, in time order.
    pub quarters: Vec<QuarterCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryStats {
    /// Category code; [`UNSYNCED_CATEGORY`] for people not synced yet.
    pub code: String,
    pub label_ru: String,
    pub label_en: String,
    /// Valid that day and not revoked.
    pub expected: u64,
    /// Distinct people admitted at an entrance that day.
    pub checked_in: u64,
    /// Expected and not admitted.
    pub no_shows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneStats {
    pub location_id: Uuid,
    pub name: String,
    /// Entries (badge and anonymous) and exits per local hour, hours with any.
    pub hours: Vec<HourCount>,
    /// Every entry: badge scans and anonymous +1.
    pub entries: u64,
    pub exits: u64,
    /// Badge entries.
    pub badge_entries: u64,
    /// Distinct people who came in by badge.
    pub unique_visitors: u64,
    /// Badge entries beyond each person's first.
    pub repeat_visits: u64,
    pub anonymous_in: u64,
    pub anonymous_out: u64,
    /// Entries − exits, never below zero (as [`crate::engine::Counters`]).
    pub occupancy_now: u64,
    /// Most people inside at once, walking the entries and exits in time
    /// order (the running count never goes below zero).
    pub peak_occupancy: u64,
    pub peak_at: Option<DateTime<Utc>>,
    /// Badge visits where the same person's entry is followed by their exit.
    pub dwell_pairs: u64,
    /// Median of those visits' lengths in seconds (lower middle for an even count).
    pub dwell_median_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceActivity {
    pub device_id: Uuid,
    pub name: String,
    /// Check-ins recorded by this device (entries, exits, anonymous counts;
    /// annulled ones left out).
    pub checkins: u64,
    /// Of these, admissions of a person at an entrance.
    pub admissions: u64,
    /// Its latest check-in that day, annulled or not.
    pub last_at: Option<DateTime<Utc>>,
}

/// Everything about one event day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    pub day: NaiveDate,
    pub expected: u64,
    /// Distinct people admitted at any entrance (unsynced people included).
    pub checked_in: u64,
    pub no_shows: u64,
    /// People admitted more than once at once-per-day entrances (see
    /// [`Store::duplicates_on`]).
    pub duplicates: u64,
    pub categories: Vec<CategoryStats>,
    pub entrances: Vec<EntranceStats>,
    pub zones: Vec<ZoneStats>,
    pub devices: Vec<DeviceActivity>,
    /// Participants' proposals taken at the islands that day.
    #[serde(default)]
    pub proposals: crate::store::proposals::ProposalStats,
}

/// The statistics of an event: one entry per day asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub event_id: Uuid,
    pub event_name: String,
    pub timezone: String,
    pub generated_at: DateTime<Utc>,
    pub days: Vec<DayStats>,
}

impl Stats {
    pub fn day(&self, day: NaiveDate) -> Option<&DayStats> {
        self.days.iter().find(|d| d.day == day)
    }
}

impl Store {
    /// Full statistics for `day`, or for every event day (and any other day
    /// with check-ins) when `None`. One pass over the check-ins.
    pub fn stats(&self, day: Option<NaiveDate>, now: DateTime<Utc>) -> Result<Stats> {
        StatsCache::load(self)?.stats(self, day, now)
    }
}

// ---- the aggregator -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct AttInfo {
    cat: usize,
    /// Bit i: valid on event day i.
    days: u64,
    revoked: bool,
}

#[derive(Debug, Clone, Copy)]
struct LocInfo {
    kind: LocationKind,
    reentry: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Adm {
    at_ms: i64,
    id: Uuid,
    loc: Uuid,
    /// At a once-per-day entrance (counts toward duplicates).
    once: bool,
}

#[derive(Debug, Default)]
struct LocAgg {
    hours_in: [u64; 24],
    hours_out: [u64; 24],
    q_people: Vec<u64>,
    q_adm: Vec<u64>,
    people_first: u64,
    badge_in: u64,
    badge_out: u64,
    anon_in: u64,
    anon_out: u64,
    /// Zones: each person's passages, (at_ms, in?) in time order.
    visitors: HashMap<Uuid, SmallVec<[(i64, bool); 2]>>,
    unique: u64,
    /// Zones: every passage (at_ms, +1/−1), sorted when not `dirty`.
    timeline: Vec<(i64, i8)>,
    dirty: bool,
    peak: u64,
    peak_at: Option<i64>,
    dwell_pairs: u64,
    dwell_median: Option<u64>,
}

#[derive(Debug, Default)]
struct DevAgg {
    checkins: u64,
    admissions: u64,
    last_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct DayAgg {
    /// Index into the event's days, if this is an event day.
    day_idx: Option<usize>,
    /// Per category index.
    expected: Vec<u64>,
    checked_in: Vec<u64>,
    checked_in_expected: Vec<u64>,
    people: HashMap<Uuid, SmallVec<[Adm; 1]>>,
    duplicates: u64,
    locs: HashMap<Uuid, LocAgg>,
    devices: HashMap<Uuid, DevAgg>,
}

fn bump(v: &mut Vec<u64>, i: usize, delta: i64) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] = v[i].saturating_add_signed(delta);
}

/// Aggregates that follow the change log. Load once, then call
/// [`StatsCache::refresh`] after each write or sync and [`StatsCache::stats`]
/// to read.
#[derive(Debug)]
pub struct StatsCache {
    event_id: Uuid,
    clock: LocalClock,
    event_days: Vec<NaiveDate>,
    cats: Vec<String>,
    attendees: HashMap<Uuid, AttInfo>,
    locs: HashMap<Uuid, LocInfo>,
    days: BTreeMap<NaiveDate, DayAgg>,
    /// Check-ins known to be annulled (never counted, or taken back).
    annulled: HashSet<Uuid>,
    last_seq: i64,
}

/// Minutes since local midnight of `at_ms` in `tz`.
pub fn local_minute(at_ms: i64, tz: &Tz) -> u32 {
    let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    let l = at.with_timezone(tz);
    l.hour() * 60 + l.minute()
}

/// [`local_minute`] for many check-ins: remembers the UTC offset of the last
/// 15-minute span it saw (check-ins come mostly in time order, and offsets
/// change at most a few times a year), instead of looking it up in the
/// zone's history for every check-in.
#[derive(Debug, Clone, Copy)]
struct LocalClock {
    tz: Tz,
    span: i64,
    offset_secs: i64,
}

impl LocalClock {
    const SPAN_MS: i64 = 15 * 60_000;

    fn new(tz: Tz) -> LocalClock {
        LocalClock {
            tz,
            span: i64::MIN,
            offset_secs: 0,
        }
    }

    fn offset_secs(&self, at_ms: i64) -> i64 {
        let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
        i64::from(
            self.tz
                .offset_from_utc_datetime(&at.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    }

    fn minute(&mut self, at_ms: i64) -> u32 {
        let span = at_ms.div_euclid(Self::SPAN_MS);
        if span != self.span {
            let start = span.saturating_mul(Self::SPAN_MS);
            let offset = self.offset_secs(start);
            if offset != self.offset_secs(start.saturating_add(Self::SPAN_MS - 1)) {
                // The offset changes inside this span: no shortcut.
                return local_minute(at_ms, &self.tz);
            }
            self.span = span;
            self.offset_secs = offset;
        }
        let local_secs = at_ms.div_euclid(1000) + self.offset_secs;
        (local_secs.rem_euclid(86_400) / 60) as u32
    }
}

impl StatsCache {
    /// Read the event, attendees, locations and every check-in once.
    pub fn load(store: &Store) -> Result<StatsCache> {
        let ctx = store.ctx()?;
        let last_seq: i64 = store
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| r.get(0))?;
        let mut cache = StatsCache {
            event_id: ctx.event.id,
            clock: LocalClock::new(ctx.tz),
            event_days: ctx.event.days.clone(),
            cats: ctx.event.categories.iter().map(|c| c.code.clone()).collect(),
            attendees: HashMap::default(),
            locs: HashMap::default(),
            days: BTreeMap::new(),
            annulled: HashSet::default(),
            last_seq,
        };
        for (i, d) in cache.event_days.clone().into_iter().enumerate() {
            cache.days.insert(
                d,
                DayAgg {
                    day_idx: Some(i),
                    ..DayAgg::default()
                },
            );
        }
        cache.load_locations(store)?;
        let event_id = cache.event_id;
        let path = store.conn.path().filter(|p| !p.is_empty()).map(str::to_string);
        let people = match path {
            // For a database file, three threads: one reads and parses the
            // check-ins, one the attendees, and this one aggregates the
            // check-ins as they come (the attendees' categories are counted
            // at the end, per person). In memory (tests, the server's
            // replica) it is one loop after the other.
            Some(path) => std::thread::scope(|scope| -> Result<AttendeeTable> {
                let path = path.as_str();
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RawCheckIn>>(8);
                let reader = scope.spawn(move || -> Result<()> {
                    let conn = open_read_only(path)?;
                    let mut chunk = Vec::with_capacity(READ_CHUNK);
                    read_checkins(&conn, event_id, |row| {
                        chunk.push(row);
                        if chunk.len() == READ_CHUNK {
                            let full = std::mem::replace(&mut chunk, Vec::with_capacity(READ_CHUNK));
                            // The receiver only stops early on its own error.
                            let _ = tx.send(full);
                        }
                    })?;
                    if !chunk.is_empty() {
                        let _ = tx.send(chunk);
                    }
                    drop(tx);
                    Ok(())
                });
                let cats = cache.cats.clone();
                let event_days = cache.event_days.clone();
                let attendees = scope.spawn(move || -> Result<AttendeeTable> {
                    read_attendees(&open_read_only(path)?, event_id, cats, &event_days)
                });
                for chunk in rx {
                    for row in chunk {
                        cache.add_raw(row);
                    }
                }
                let failed = || CoreError::Invalid("reading the statistics failed; try again".into());
                reader.join().map_err(|_| failed())??;
                attendees.join().map_err(|_| failed())?
            })?,
            None => {
                read_checkins(&store.conn, event_id, |row| cache.add_raw(row))?;
                read_attendees(&store.conn, event_id, cache.cats.clone(), &cache.event_days)?
            }
        };
        cache.cats = people.cats;
        for info in people.attendees.values() {
            cache.expect(*info, 1);
        }
        cache.attendees = people.attendees;
        // Checked in per category: each person admitted that day, once.
        let unsynced = cache.cat_index(UNSYNCED_CATEGORY);
        for d in cache.days.values_mut() {
            for person in d.people.keys() {
                Self::tally_counts(
                    &mut d.checked_in,
                    &mut d.checked_in_expected,
                    d.day_idx,
                    cache.attendees.get(person).copied(),
                    unsynced,
                    1,
                );
            }
            d.locs.values_mut().for_each(Self::finalize);
        }
        Ok(cache)
    }

    fn add_raw(&mut self, r: RawCheckIn) {
        if r.annulled {
            // Never counted; still the device's activity.
            self.annulled.insert(r.id);
            let dev = self
                .days
                .entry(r.day)
                .or_default()
                .devices
                .entry(r.device_id)
                .or_default();
            dev.last_ms = dev.last_ms.max(Some(r.at_ms));
            return;
        }
        self.add(&r, 1, true);
    }

    fn load_locations(&mut self, store: &Store) -> Result<()> {
        let mut st = store
            .conn
            .prepare_cached("SELECT id, kind, allow_reentry FROM locations WHERE event_id = ?1")?;
        let mut rows = st.query(params![self.event_id.to_string()])?;
        self.locs.clear();
        while let Some(r) = rows.next()? {
            if let Ok(id) = Uuid::parse_str(text(r, 0)?) {
                self.locs.insert(
                    id,
                    LocInfo {
                        kind: LocationKind::parse(text(r, 1)?).unwrap_or(LocationKind::Zone),
                        reentry: r.get::<_, i64>(2)? != 0,
                    },
                );
            }
        }
        Ok(())
    }

    fn cat_index(&mut self, code: &str) -> usize {
        cat_index(&mut self.cats, code)
    }

    fn days_mask(&self, json: &str) -> u64 {
        days_mask(&self.event_days, json)
    }

    fn expected_on(info: &AttInfo, day_idx: Option<usize>) -> bool {
        match day_idx {
            Some(i) => !info.revoked && (i >= 64 || info.days & (1 << i) != 0),
            None => false,
        }
    }

    /// Add (`sign` 1) or take back (−1) a person's expected contribution on every day.
    fn expect(&mut self, info: AttInfo, sign: i64) {
        for d in self.days.values_mut() {
            if Self::expected_on(&info, d.day_idx) {
                bump(&mut d.expected, info.cat, sign);
            }
        }
    }

    /// The person's checked-in contribution on `day`.
    fn tally(day: &mut DayAgg, info: Option<AttInfo>, unsynced_cat: usize, sign: i64) {
        Self::tally_counts(
            &mut day.checked_in,
            &mut day.checked_in_expected,
            day.day_idx,
            info,
            unsynced_cat,
            sign,
        );
    }

    fn tally_counts(
        checked_in: &mut Vec<u64>,
        checked_in_expected: &mut Vec<u64>,
        day_idx: Option<usize>,
        info: Option<AttInfo>,
        unsynced_cat: usize,
        sign: i64,
    ) {
        match info {
            Some(info) => {
                bump(checked_in, info.cat, sign);
                if Self::expected_on(&info, day_idx) {
                    bump(checked_in_expected, info.cat, sign);
                }
            }
            None => bump(checked_in, unsynced_cat, sign),
        }
    }

    /// Count (`sign` 1) or take back (−1) one check-in.
    fn add(&mut self, r: &RawCheckIn, sign: i64, loading: bool) {
        let RawCheckIn {
            id,
            attendee_id,
            location_id,
            device_id,
            direction,
            at_ms,
            day,
            ..
        } = *r;
        let Some(loc) = self.locs.get(&location_id).copied() else {
            return;
        };
        let minute = self.clock.minute(at_ms);
        let d = self.days.entry(day).or_default();
        let hour = (minute / 60) as usize;
        let is_in = direction == Direction::In;
        let admission = is_in && loc.kind == LocationKind::Entrance && attendee_id.is_some();
        {
            let dev = d.devices.entry(device_id).or_default();
            dev.checkins = dev.checkins.saturating_add_signed(sign);
            if admission {
                dev.admissions = dev.admissions.saturating_add_signed(sign);
            }
            if sign > 0 {
                dev.last_ms = dev.last_ms.max(Some(at_ms));
            }
        }
        {
            let l = d.locs.entry(location_id).or_default();
            let h = if is_in { &mut l.hours_in } else { &mut l.hours_out };
            h[hour] = h[hour].saturating_add_signed(sign);
            let counter = match (attendee_id.is_some(), is_in) {
                (true, true) => &mut l.badge_in,
                (true, false) => &mut l.badge_out,
                (false, true) => &mut l.anon_in,
                (false, false) => &mut l.anon_out,
            };
            *counter = counter.saturating_add_signed(sign);
            if admission {
                bump(&mut l.q_adm, minute as usize / 15, sign);
            }
            if loc.kind == LocationKind::Zone {
                let delta: i8 = if is_in { 1 } else { -1 };
                if sign > 0 {
                    if loading {
                        l.timeline.push((at_ms, delta));
                    } else {
                        let at = l.timeline.partition_point(|e| *e <= (at_ms, delta));
                        l.timeline.insert(at, (at_ms, delta));
                    }
                } else {
                    let at = l.timeline.partition_point(|e| *e < (at_ms, delta));
                    if l.timeline.get(at) == Some(&(at_ms, delta)) {
                        l.timeline.remove(at);
                    }
                }
                l.dirty = true;
                if let Some(p) = attendee_id {
                    let v = l.visitors.entry(p).or_default();
                    let had = v.iter().any(|e| e.1);
                    if sign > 0 {
                        let at = v.partition_point(|e| *e <= (at_ms, is_in));
                        v.insert(at, (at_ms, is_in));
                    } else if let Some(i) = v.iter().position(|e| *e == (at_ms, is_in)) {
                        v.remove(i);
                    }
                    let has = v.iter().any(|e| e.1);
                    if v.is_empty() {
                        l.visitors.remove(&p);
                    }
                    match (had, has) {
                        (false, true) => l.unique += 1,
                        (true, false) => l.unique -= 1,
                        _ => {}
                    }
                }
            }
        }
        if !admission {
            return;
        }
        let Some(person) = attendee_id else { return };
        let d = self.days.entry(day).or_default();
        let adm = Adm {
            at_ms,
            id,
            loc: location_id,
            once: !loc.reentry,
        };
        let list = d.people.entry(person).or_default();
        let before_first = list.first().copied();
        let before_dup = list.iter().filter(|a| a.once).count() > 1;
        if sign > 0 {
            let at = list.partition_point(|a| *a < adm);
            list.insert(at, adm);
        } else if let Some(i) = list.iter().position(|a| a.id == id) {
            list.remove(i);
        }
        let after_first = list.first().copied();
        let after_dup = list.iter().filter(|a| a.once).count() > 1;
        if list.is_empty() {
            d.people.remove(&person);
        }
        if before_first != after_first {
            for (first, s) in [(before_first, -1), (after_first, 1)] {
                if let Some(f) = first {
                    let l = d.locs.entry(f.loc).or_default();
                    bump(&mut l.q_people, self.clock.minute(f.at_ms) as usize / 15, s);
                    l.people_first = l.people_first.saturating_add_signed(s);
                }
            }
        }
        // While loading, the attendees are not read yet: `load` counts each
        // admitted person's category at the end.
        if !loading {
            let delta = match (before_first.is_some(), after_first.is_some()) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
            if delta != 0 {
                let info = self.attendees.get(&person).copied();
                let unsynced = self.cat_index(UNSYNCED_CATEGORY);
                let d = self.days.entry(day).or_default();
                Self::tally(d, info, unsynced, delta);
            }
        }
        let d = self.days.entry(day).or_default();
        match (before_dup, after_dup) {
            (false, true) => d.duplicates += 1,
            (true, false) => d.duplicates -= 1,
            _ => {}
        }
    }

    fn add_checkin(&mut self, c: &CheckIn, sign: i64) {
        let r = RawCheckIn {
            id: c.id,
            attendee_id: c.attendee_id,
            location_id: c.location_id,
            device_id: c.device_id,
            direction: c.direction,
            at_ms: c.at.timestamp_millis(),
            day: c.day,
            annulled: c.annulled_by.is_some(),
        };
        self.add(&r, sign, false);
    }

    /// A person's details or revocation changed: move their contributions.
    fn update_attendee(&mut self, store: &Store, id: Uuid) -> Result<()> {
        let old = self.attendees.get(&id).copied();
        let new = match store.attendee(id)? {
            Some(a) if store.ctx()?.event.id == self.event_id => {
                let days = if a.days.is_empty() {
                    u64::MAX
                } else {
                    self.days_mask(&serde_json::to_string(&a.days).unwrap_or_default())
                };
                Some(AttInfo {
                    cat: self.cat_index(&a.category),
                    days,
                    revoked: a.revoked,
                })
            }
            _ => None,
        };
        let unsynced = self.cat_index(UNSYNCED_CATEGORY);
        if let Some(o) = old {
            self.expect(o, -1);
        }
        if let Some(n) = new {
            self.expect(n, 1);
            self.attendees.insert(id, n);
        } else {
            self.attendees.remove(&id);
        }
        for d in self.days.values_mut() {
            if d.people.contains_key(&id) {
                Self::tally(d, old, unsynced, -1);
                Self::tally(d, new, unsynced, 1);
            }
        }
        Ok(())
    }

    /// Follow the change log from where the cache stands: new check-ins,
    /// annulments, people, locations. Returns the changes read.
    pub fn refresh(&mut self, store: &Store) -> Result<usize> {
        let mut pending: Vec<Change> = Vec::new();
        let mut last = self.last_seq;
        {
            let mut st = store
                .conn
                .prepare_cached("SELECT seq, kind, payload FROM changes WHERE seq > ?1 ORDER BY seq")?;
            let mut rows = st.query(params![self.last_seq])?;
            while let Some(r) = rows.next()? {
                last = r.get(0)?;
                let kind = text(r, 1)?;
                if matches!(kind, "scan" | "badge_printed" | "badge_revoked" | "device") {
                    continue;
                }
                let change: Change = serde_json::from_str(text(r, 2)?)
                    .map_err(|e| CoreError::Invalid(format!("a change in the log is damaged: {e}")))?;
                pending.push(change);
            }
        }
        let n = pending.len();
        self.last_seq = last;
        if pending
            .iter()
            .any(|c| matches!(c, Change::Event(_) | Change::Location(_)))
        {
            // Rare (setup): start over.
            *self = StatsCache::load(store)?;
            return Ok(n);
        }
        // People first, then check-ins, then annulments: an annulment then
        // always finds its check-in counted (or already known as annulled).
        for c in &pending {
            match c {
                Change::Attendee(a) => self.update_attendee(store, a.id)?,
                Change::Revocation { attendee_id, .. } => self.update_attendee(store, *attendee_id)?,
                _ => {}
            }
        }
        for c in &pending {
            if let Change::CheckIn(c) = c
                && !self.annulled.contains(&c.id)
            {
                self.add_checkin(c, 1);
            }
        }
        for c in &pending {
            if let Change::Annulment(a) = c
                && self.annulled.insert(a.checkin_id)
            {
                let row = store
                    .conn
                    .prepare_cached(
                        "SELECT id, attendee_id, location_id, device_id, direction, method, at_ms, day, annulled_by
                         FROM checkins WHERE id = ?1",
                    )?
                    .query_row(params![a.checkin_id.to_string()], checkin_from_row)
                    .optional()?;
                if let Some(checkin) = row {
                    self.add_checkin(&checkin, -1);
                }
            }
        }
        Ok(n)
    }

    fn finalize(l: &mut LocAgg) {
        if !l.dirty {
            return;
        }
        l.timeline.sort_unstable();
        let (mut run, mut peak, mut peak_at) = (0i64, 0i64, None);
        for (at, d) in &l.timeline {
            run = (run + *d as i64).max(0);
            if run > peak {
                peak = run;
                peak_at = Some(*at);
            }
        }
        l.peak = peak as u64;
        l.peak_at = peak_at;
        let mut dwell: Vec<i64> = Vec::new();
        for v in l.visitors.values() {
            let mut open: Option<i64> = None;
            for (at, is_in) in v {
                match (is_in, open) {
                    (true, _) => open = Some(*at),
                    (false, Some(start)) => {
                        dwell.push((at - start) / 1000);
                        open = None;
                    }
                    (false, None) => {}
                }
            }
        }
        l.dwell_pairs = dwell.len() as u64;
        l.dwell_median = if dwell.is_empty() {
            None
        } else {
            let mid = (dwell.len() - 1) / 2;
            Some(*dwell.select_nth_unstable(mid).1 as u64)
        };
        l.dirty = false;
    }

    /// The statistics for `day` (or every day), named from `store`.
    pub fn stats(&mut self, store: &Store, day: Option<NaiveDate>, now: DateTime<Utc>) -> Result<Stats> {
        let ctx = store.ctx()?;
        let mut device_names: HashMap<Uuid, String> = HashMap::default();
        {
            let mut st = store.conn.prepare_cached("SELECT id, name FROM devices")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                if let Ok(id) = Uuid::parse_str(text(r, 0)?) {
                    device_names.insert(id, r.get(1)?);
                }
            }
        }
        let mut days = Vec::new();
        let wanted: Vec<NaiveDate> = match day {
            Some(d) => vec![d],
            None => self.days.keys().copied().collect(),
        };
        let empty = DayAgg::default();
        for d in wanted {
            if let Some(agg) = self.days.get_mut(&d) {
                agg.locs.values_mut().for_each(Self::finalize);
            }
            let agg = self.days.get(&d).unwrap_or(&empty);
            let get = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
            let mut categories = Vec::new();
            for (i, code) in self.cats.iter().enumerate() {
                let (expected, checked_in) = (get(&agg.expected, i), get(&agg.checked_in, i));
                let known = ctx.event.categories.iter().find(|c| &c.code == code);
                if known.is_none() && expected == 0 && checked_in == 0 {
                    continue;
                }
                let (ru, en) = match known {
                    Some(c) => (c.label_ru.clone(), c.label_en.clone()),
                    None if code == UNSYNCED_CATEGORY => {
                        ("не синхронизированы".into(), "not synced yet".into())
                    }
                    None => (code.clone(), code.clone()),
                };
                categories.push(CategoryStats {
                    code: code.clone(),
                    label_ru: ru,
                    label_en: en,
                    expected,
                    checked_in,
                    no_shows: expected.saturating_sub(get(&agg.checked_in_expected, i)),
                });
            }
            let expected: u64 = agg.expected.iter().sum();
            let no_shows = expected.saturating_sub(agg.checked_in_expected.iter().sum());
            let no_loc = LocAgg::default();
            let mut entrances = Vec::new();
            let mut zones = Vec::new();
            for loc in &ctx.locations {
                let l = agg.locs.get(&loc.id).unwrap_or(&no_loc);
                match loc.kind {
                    LocationKind::Entrance => {
                        let n = l.q_adm.len().max(l.q_people.len());
                        let quarters = (0..n)
                            .map(|i| QuarterCount {
                                minute: i as u32 * 15,
                                people: get(&l.q_people, i),
                                admissions: get(&l.q_adm, i),
                            })
                            .filter(|q| q.people + q.admissions > 0)
                            .collect();
                        entrances.push(EntranceStats {
                            location_id: loc.id,
                            name: loc.name.clone(),
                            people: l.people_first,
                            admissions: l.q_adm.iter().sum(),
                            exits: l.badge_out + l.anon_out,
                            quarters,
                        });
                    }
                    LocationKind::Zone => {
                        let entries = l.badge_in + l.anon_in;
                        let exits = l.badge_out + l.anon_out;
                        zones.push(ZoneStats {
                            location_id: loc.id,
                            name: loc.name.clone(),
                            hours: hours(l),
                            entries,
                            exits,
                            badge_entries: l.badge_in,
                            unique_visitors: l.unique,
                            repeat_visits: l.badge_in.saturating_sub(l.unique),
                            anonymous_in: l.anon_in,
                            anonymous_out: l.anon_out,
                            occupancy_now: entries.saturating_sub(exits),
                            peak_occupancy: l.peak,
                            peak_at: l.peak_at.and_then(DateTime::from_timestamp_millis),
                            dwell_pairs: l.dwell_pairs,
                            dwell_median_secs: l.dwell_median,
                        });
                    }
                }
            }
            let mut devices: Vec<DeviceActivity> = agg
                .devices
                .iter()
                .filter(|(_, a)| a.checkins > 0)
                .map(|(id, a)| DeviceActivity {
                    device_id: *id,
                    name: device_names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                    checkins: a.checkins,
                    admissions: a.admissions,
                    last_at: a.last_ms.and_then(DateTime::from_timestamp_millis),
                })
                .collect();
            devices.sort_by(|a, b| a.name.cmp(&b.name).then(a.device_id.cmp(&b.device_id)));
            days.push(DayStats {
                day: d,
                expected,
                checked_in: agg.checked_in.iter().sum(),
                no_shows,
                duplicates: agg.duplicates,
                categories,
                entrances,
                zones,
                devices,
                proposals: store.proposal_stats(d)?,
            });
        }
        Ok(Stats {
            event_id: ctx.event.id,
            event_name: ctx.event.name.clone(),
            timezone: ctx.event.timezone.clone(),
            generated_at: now,
            days,
        })
    }
}

/// Check-ins per message from the reading thread to the aggregating one.
const READ_CHUNK: usize = 4096;

/// The attendees as the statistics need them, and the category codes
/// (the event's, then any other code an attendee has).
struct AttendeeTable {
    attendees: HashMap<Uuid, AttInfo>,
    cats: Vec<String>,
}

fn read_attendees(
    conn: &rusqlite::Connection,
    event_id: Uuid,
    mut cats: Vec<String>,
    event_days: &[NaiveDate],
) -> Result<AttendeeTable> {
    // `+a.event_id`: read the table straight through (a desk holds one
    // event) rather than through the event index and a lookup per row.
    let mut st = conn.prepare(
        "SELECT a.id, a.category, a.days, coalesce(r.revoked, 0) FROM attendees a
         LEFT JOIN revocations r ON r.attendee_id = a.id WHERE +a.event_id = ?1",
    )?;
    let mut rows = st.query(params![event_id.to_string()])?;
    let mut attendees = HashMap::default();
    // Few distinct lists of days: parse each once.
    let mut masks: HashMap<String, u64> = HashMap::default();
    while let Some(r) = rows.next()? {
        let Ok(id) = Uuid::parse_str(text(r, 0)?) else {
            continue;
        };
        let days = text(r, 2)?;
        let days = match masks.get(days) {
            Some(m) => *m,
            None => *masks
                .entry(days.to_string())
                .or_insert_with(|| days_mask(event_days, days)),
        };
        let info = AttInfo {
            cat: cat_index(&mut cats, text(r, 1)?),
            days,
            revoked: r.get::<_, i64>(3)? != 0,
        };
        attendees.insert(id, info);
    }
    Ok(AttendeeTable { attendees, cats })
}

fn cat_index(cats: &mut Vec<String>, code: &str) -> usize {
    match cats.iter().position(|c| c == code) {
        Some(i) => i,
        None => {
            cats.push(code.to_string());
            cats.len() - 1
        }
    }
}

/// Bit i: valid on event day i (a JSON list of dates; empty: every day).
fn days_mask(event_days: &[NaiveDate], json: &str) -> u64 {
    if json == "[]" {
        return u64::MAX;
    }
    let days: Vec<NaiveDate> = serde_json::from_str(json).unwrap_or_default();
    if days.is_empty() {
        return u64::MAX;
    }
    let mut m = 0;
    for d in days {
        if let Some(i) = event_days.iter().position(|e| *e == d)
            && i < 64
        {
            m |= 1 << i;
        }
    }
    m
}

fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn hours(l: &LocAgg) -> Vec<HourCount> {
    (0..24)
        .filter(|h| l.hours_in[*h] + l.hours_out[*h] > 0)
        .map(|h| HourCount {
            hour: h as u8,
            entries: l.hours_in[h],
            exits: l.hours_out[h],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::hlc::Hlc;
    use crate::model::{Device, Method, new_id};
    use crate::store::changes::{Annulment, ChangeEnvelope};
    use crate::store::facts::{FACT_ANNULLED, FACT_IN};
    use chrono::TimeZone;

    /// 2026-06-02 h:m Moscow time (UTC+3).
    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, h - 3, m, 0).unwrap()
    }

    fn day1() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 2).unwrap()
    }

    #[derive(Clone, Copy)]
    enum Ev {
        /// Person `p` admitted at an entrance by desk `desk` at h:m.
        Admit(usize, &'static str, usize, (u32, u32)),
        /// A passage at a zone: person (None: anonymous), direction, desk, h:m.
        Zone(Option<usize>, &'static str, Direction, usize, (u32, u32)),
        /// Undo the check-in made by the event at this index of the log.
        Annul(usize),
        /// Like `Admit`, from a desk whose clock ran `.4` hours ahead when it
        /// stamped its hybrid clock; the check-in time itself is right.
        SkewedAdmit(usize, &'static str, usize, (u32, u32), i64),
    }

    /// (entrance, [(slot minute, people, admissions)])
    type Quarters = Vec<(&'static str, Vec<(u32, u64, u64)>)>;

    #[derive(Default, Clone)]
    struct Expect {
        checked_in: u64,
        expected: u64,
        no_shows: u64,
        duplicates: u64,
        /// (entrance, [(slot minute, people, admissions)])
        quarters: Quarters,
        /// (zone, [unique, badge entries, repeat, anon in, anon out, occupancy now, peak, dwell pairs], dwell median s)
        zones: Vec<(&'static str, [u64; 8], Option<u64>)>,
        /// (desk index, check-ins, admissions)
        devices: Vec<(usize, u64, u64)>,
    }

    #[derive(Clone)]
    struct Case {
        name: &'static str,
        log: Vec<Ev>,
        expect: Expect,
    }

    fn cases() -> Vec<Case> {
        use Direction::{In, Out};
        use Ev::*;
        vec![
            Case {
                name: "two offline desks admit one badge: counted once, one duplicate",
                log: vec![
                    Admit(0, "Вход A", 1, (9, 1)),
                    Admit(0, "Вход B", 2, (9, 20)),
                    Admit(1, "Вход B", 2, (9, 16)),
                ],
                expect: Expect {
                    checked_in: 2,
                    expected: 19,
                    no_shows: 17,
                    duplicates: 1,
                    quarters: vec![("Вход A", vec![(540, 1, 1)]), ("Вход B", vec![(555, 1, 2)])],
                    devices: vec![(1, 1, 1), (2, 2, 2)],
                    ..Expect::default()
                },
            },
            Case {
                name: "annulled check-ins never count; the second admission becomes the first",
                log: vec![
                    Admit(0, "Вход A", 1, (9, 1)),
                    Admit(0, "Вход B", 2, (9, 40)),
                    Annul(0),
                    Admit(3, "Вход A", 1, (10, 0)),
                    Annul(3),
                ],
                expect: Expect {
                    checked_in: 1,
                    expected: 19,
                    no_shows: 18,
                    duplicates: 0,
                    quarters: vec![("Вход A", vec![]), ("Вход B", vec![(570, 1, 1)])],
                    devices: vec![(2, 1, 1)],
                    ..Expect::default()
                },
            },
            Case {
                name: "skewed desk clock: the bucket follows the check-in time",
                log: vec![
                    SkewedAdmit(2, "Вход A", 3, (9, 14), 3),
                    SkewedAdmit(4, "Вход A", 3, (9, 15), -2),
                ],
                expect: Expect {
                    checked_in: 2,
                    expected: 19,
                    no_shows: 17,
                    quarters: vec![("Вход A", vec![(540, 1, 1), (555, 1, 1)])],
                    devices: vec![(3, 2, 2)],
                    ..Expect::default()
                },
            },
            Case {
                name: "zone visits: unique, repeats, dwell, anonymous counts, peak",
                log: vec![
                    Zone(Some(0), "Остров 1", In, 1, (10, 0)),
                    Zone(Some(1), "Остров 1", In, 1, (10, 5)),
                    Zone(None, "Остров 1", In, 2, (10, 6)),
                    Zone(Some(0), "Остров 1", Out, 1, (10, 10)),
                    Zone(Some(0), "Остров 1", In, 1, (11, 0)),
                    Zone(Some(0), "Остров 1", Out, 1, (11, 30)),
                    Zone(None, "Остров 1", Out, 2, (11, 40)),
                    Zone(Some(5), "Остров 2", In, 2, (12, 0)),
                    Annul(7),
                ],
                expect: Expect {
                    checked_in: 0,
                    expected: 19,
                    no_shows: 19,
                    // person 0: 10:00→10:10 (600 s), 11:00→11:30 (1800 s): lower middle 600.
                    // inside: 10:00 1, 10:05 2, 10:06 3 (peak), 10:10 2, 11:00 3, 11:30 2, 11:40 1.
                    zones: vec![
                        ("Остров 1", [2, 3, 1, 1, 1, 1, 3, 2], Some(600)),
                        ("Остров 2", [0, 0, 0, 0, 0, 0, 0, 0], None),
                    ],
                    devices: vec![(1, 5, 0), (2, 2, 0)],
                    ..Expect::default()
                },
            },
        ]
    }

    struct World {
        store: Store,
        desks: Vec<(Device, Hlc)>,
        people: Vec<Uuid>,
        made: Vec<Option<Uuid>>,
        _dir: Option<tempfile::TempDir>,
    }

    fn world() -> World {
        world_in(false)
    }

    /// In memory, or in a database file (where loading reads the check-ins
    /// on a second connection and thread).
    fn world_in(file: bool) -> World {
        let now = at(8, 0);
        let dev = Device {
            id: new_id(now),
            name: "Desk 0".into(),
        };
        let dir = file.then(|| tempfile::tempdir().unwrap());
        let mut store = match &dir {
            Some(d) => Store::open(&d.path().join("desk.db"), dev, now).unwrap(),
            None => Store::open_in_memory(dev, now).unwrap(),
        };
        demo::create_event(&mut store, 20, now).unwrap();
        let people: Vec<Uuid> = store.attendees().unwrap().iter().map(|a| a.id).collect();
        // One person comes on day two only: 19 expected on day one.
        let mut later = store.attendee(people[19]).unwrap().unwrap();
        later.days = vec![day1() + chrono::Duration::days(1)];
        store.save_attendee(later, now).unwrap();
        let desks = (0..4)
            .map(|i| {
                let d = Device {
                    id: new_id(now),
                    name: format!("Desk {i}"),
                };
                let h = Hlc::zero(d.id);
                (d, h)
            })
            .collect();
        World {
            store,
            desks,
            people,
            made: Vec::new(),
            _dir: dir,
        }
    }

    impl World {
        fn push(&mut self, ev: Ev) {
            let event_id = self.store.event().unwrap().id;
            let (desk, change, when, skew) = match ev {
                Ev::Admit(p, door, desk, (h, m)) | Ev::SkewedAdmit(p, door, desk, (h, m), _) => {
                    let loc = self.store.location(door).unwrap();
                    let skew = if let Ev::SkewedAdmit(.., s) = ev { s } else { 0 };
                    let c = self.checkin(Some(self.people[p]), loc.id, Direction::In, desk, at(h, m));
                    (desk, Change::CheckIn(c), at(h, m), skew)
                }
                Ev::Zone(p, zone, dir, desk, (h, m)) => {
                    let loc = self.store.location(zone).unwrap();
                    let c = self.checkin(p.map(|p| self.people[p]), loc.id, dir, desk, at(h, m));
                    (desk, Change::CheckIn(c), at(h, m), 0)
                }
                Ev::Annul(i) => {
                    let target = self.made[i].unwrap();
                    let desk = 0;
                    let now = at(13, 0);
                    let an = Annulment {
                        id: new_id(now),
                        checkin_id: target,
                        reason: "wrong badge".into(),
                        device_id: self.desks[desk].0.id,
                        at_ms: now.timestamp_millis(),
                    };
                    (desk, Change::Annulment(an), now, 0)
                }
            };
            self.made.push(match &change {
                Change::CheckIn(c) => Some(c.id),
                _ => None,
            });
            let (dev, hlc) = &mut self.desks[desk];
            *hlc = hlc.tick((when + chrono::Duration::hours(skew)).timestamp_millis());
            let env = ChangeEnvelope {
                sig: None,
                id: new_id(when),
                event_id,
                hlc: *hlc,
                device_id: dev.id,
                change,
            };
            self.store.apply_remote(&[env], when).unwrap();
        }

        fn checkin(
            &self,
            attendee_id: Option<Uuid>,
            location_id: Uuid,
            direction: Direction,
            desk: usize,
            when: DateTime<Utc>,
        ) -> CheckIn {
            CheckIn {
                id: new_id(when),
                attendee_id,
                location_id,
                device_id: self.desks[desk].0.id,
                direction,
                method: Method::Scan,
                at: when,
                day: day1(),
                annulled_by: None,
            }
        }
    }

    fn check(case: &Case, w: &World, s: &Stats) {
        let d = s.day(day1()).unwrap();
        let e = &case.expect;
        let name = case.name;
        assert_eq!(
            (d.checked_in, d.expected, d.no_shows, d.duplicates),
            (e.checked_in, e.expected, e.no_shows, e.duplicates),
            "{name}: checked in, expected, no-shows, duplicates"
        );
        assert_eq!(
            d.duplicates,
            w.store.duplicates_on(day1()).unwrap().len() as u64,
            "{name}: same as duplicates_on"
        );
        let counters = w.store.counters(at(14, 0)).unwrap();
        assert_eq!(
            (counters.checked_in, counters.expected),
            (d.checked_in, d.expected),
            "{name}: same as counters"
        );
        assert_eq!(
            d.categories.iter().map(|c| c.checked_in).sum::<u64>(),
            d.checked_in
        );
        assert_eq!(d.categories.iter().map(|c| c.no_shows).sum::<u64>(), d.no_shows);
        for (door, want) in &e.quarters {
            let got = d.entrances.iter().find(|x| x.name == *door).unwrap();
            let got: Vec<(u32, u64, u64)> = got
                .quarters
                .iter()
                .map(|q| (q.minute, q.people, q.admissions))
                .collect();
            assert_eq!(&got, want, "{name}: quarters at {door}");
        }
        for (zone, want, median) in &e.zones {
            let z = d.zones.iter().find(|x| x.name == *zone).unwrap();
            let got = [
                z.unique_visitors,
                z.badge_entries,
                z.repeat_visits,
                z.anonymous_in,
                z.anonymous_out,
                z.occupancy_now,
                z.peak_occupancy,
                z.dwell_pairs,
            ];
            assert_eq!(&got, want, "{name}: zone {zone}");
            assert_eq!(z.dwell_median_secs, *median, "{name}: dwell at {zone}");
            let c = counters.locations.iter().find(|l| l.name == *zone).unwrap();
            assert_eq!(
                (c.entries, c.exits, c.occupancy),
                (z.entries, z.exits, z.occupancy_now),
                "{name}: zone {zone} same as counters"
            );
        }
        let mut devices: Vec<(usize, u64, u64)> = d
            .devices
            .iter()
            .map(|a| {
                let i = w.desks.iter().position(|(dv, _)| dv.id == a.device_id).unwrap();
                (i, a.checkins, a.admissions)
            })
            .collect();
        devices.sort();
        assert_eq!(devices, e.devices, "{name}: devices");
    }

    #[test]
    fn table_of_logs_with_known_answers() {
        for (case, file) in cases().into_iter().flat_map(|c| [(c.clone(), false), (c, true)]) {
            // Incremental: a cache loaded before the log, refreshed after each change.
            let mut w = world_in(file);
            let mut cache = StatsCache::load(&w.store).unwrap();
            for ev in case.log.clone() {
                w.push(ev);
                cache.refresh(&w.store).unwrap();
            }
            let incremental = cache.stats(&w.store, Some(day1()), at(14, 0)).unwrap();
            check(&case, &w, &incremental);
            // From scratch: the same answer.
            let full = w.store.stats(Some(day1()), at(14, 0)).unwrap();
            check(&case, &w, &full);
            assert_eq!(
                incremental, full,
                "{}: incremental = full (file: {file})",
                case.name
            );
        }
    }

    #[test]
    fn local_clock_matches_the_zone_history() {
        // Across Berlin's spring and autumn changes, Kathmandu's +5:45 and
        // Moscow; times in random order so the remembered span changes.
        for zone in [
            "Europe/Berlin",
            "Asia/Kathmandu",
            "Europe/Moscow",
            "America/St_Johns",
        ] {
            let tz: Tz = zone.parse().unwrap();
            let mut clock = LocalClock::new(tz);
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for base in [
                Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 6, 2, 20, 0, 0).unwrap(),
            ] {
                for i in 0..20_000i64 {
                    // Every 37 s through the change, then random jumps within ±6 h.
                    let at_ms = if i < 10_000 {
                        base.timestamp_millis() + i * 37_000 + i % 1000
                    } else {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        base.timestamp_millis() + (x % 43_200_000) as i64 - 21_600_000
                    };
                    assert_eq!(clock.minute(at_ms), local_minute(at_ms, &tz), "{zone} at {at_ms}");
                }
            }
        }
    }

    /// The migration that created `checkin_facts` copied the check-ins a
    /// database already had; it must give the rows the write path gives.
    #[test]
    fn facts_copied_by_the_migration_equal_the_written_ones() {
        let mut w = world();
        let case = cases()
            .into_iter()
            .find(|c| c.log.iter().any(|e| matches!(e, Ev::Annul(_))))
            .unwrap();
        for ev in case.log {
            w.push(ev);
        }
        w.push(Ev::Zone(None, "Остров 1", Direction::Out, 3, (11, 5)));
        let rows = |w: &World| -> Vec<Vec<rusqlite::types::Value>> {
            let mut st = w
                .store
                .conn
                .prepare("SELECT * FROM checkin_facts ORDER BY event, id")
                .unwrap();
            st.query_map([], |r| (0..4).map(|i| r.get(i)).collect())
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        let written = rows(&w);
        assert_eq!(written.len(), 4);
        assert!(
            written
                .iter()
                .any(|r| r[3] == rusqlite::types::Value::Integer(FACT_IN | FACT_ANNULLED))
        );
        // Both migrations again, from the `checkins` rows: V5 copies them
        // into the old layout, V6 packs that.
        w.store.conn.execute("DROP TABLE checkin_facts", []).unwrap();
        w.store
            .conn
            .execute_batch(crate::store::schema::V5_CHECKIN_FACTS)
            .unwrap();
        w.store
            .conn
            .execute_batch(crate::store::schema::V6_PACKED_FACTS)
            .unwrap();
        assert_eq!(rows(&w), written);
    }

    #[test]
    fn order_of_arrival_does_not_matter() {
        // The same log applied in reverse order (desks syncing late) gives the same stats.
        for case in cases() {
            if case.log.iter().any(|e| matches!(e, Ev::Annul(_))) {
                continue;
            }
            let mut w = world();
            let mut cache = StatsCache::load(&w.store).unwrap();
            for ev in case.log.iter().rev() {
                w.push(*ev);
                cache.refresh(&w.store).unwrap();
            }
            let s = cache.stats(&w.store, Some(day1()), at(14, 0)).unwrap();
            check(&case, &w, &s);
        }
    }

    #[test]
    fn revocation_and_unsynced_people_move_between_categories() {
        let mut w = world();
        let mut cache = StatsCache::load(&w.store).unwrap();
        w.push(Ev::Admit(0, "Вход A", 1, (9, 0)));
        cache.refresh(&w.store).unwrap();
        let before = cache.stats(&w.store, Some(day1()), at(9, 5)).unwrap();
        assert_eq!((before.days[0].expected, before.days[0].no_shows), (19, 18));
        let p0 = w.people[0];
        let p1 = w.people[1];
        w.store.set_revoked(p1, true, "test", at(9, 10)).unwrap();
        w.store.set_revoked(p0, true, "test", at(9, 10)).unwrap();
        cache.refresh(&w.store).unwrap();
        let after = cache.stats(&w.store, Some(day1()), at(9, 15)).unwrap();
        // Two fewer expected; the revoked person who came still counts as checked in.
        assert_eq!(
            (
                after.days[0].expected,
                after.days[0].checked_in,
                after.days[0].no_shows
            ),
            (17, 1, 17)
        );
        assert_eq!(after, w.store.stats(Some(day1()), at(9, 15)).unwrap());
    }
}
