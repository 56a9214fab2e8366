//! Participants' proposals, taken down at the islands' stands and carried to
//! the organisers. A proposal is created by a `proposal` change (always
//! `new`, by the desk it names); every later edit is a `proposal_edit`
//! whose fields are each a last-writer-wins register by HLC, so an edit of
//! the text on one desk and a status change on another both survive.
//! Deleting is a status (`declined`), never a lost row. Titles and texts
//! are searched by substring in any script (FTS5 trigram index, schema V10);
//! authors by the attendees' any-script name search.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::Store;
use crate::change::Change;
use crate::claims::limits;
use crate::error::{CoreError, Result};
use crate::hlc::Hlc;
use crate::model::{
    IslandTopics, LocationKind, Proposal, ProposalAuthor, ProposalEdit, ProposalPatch, ProposalStatus,
    new_id_by,
};

/// The registers of a proposal, each with its own HLC.
pub const FIELDS: [&str; 6] = ["author", "title", "text", "topics", "consent", "status"];

/// A proposal as the host types it at the stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewProposal {
    pub island_id: Uuid,
    pub author: ProposalAuthor,
    pub title: String,
    pub text: String,
    pub topics: Vec<String>,
    pub consent: bool,
}

/// Which proposals a list holds; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposalFilter {
    pub island_id: Option<Uuid>,
    pub topic: Option<String>,
    pub status: Option<ProposalStatus>,
    /// Taken down on this event day (the event's time zone).
    pub day: Option<NaiveDate>,
    /// Words of the title or text (substring, any script, from three
    /// characters), or the author's name (the attendees' search, Cyrillic
    /// or Latin, from the first letter).
    pub query: Option<String>,
    /// At most this many, newest first (a screen's list); `None`: all.
    pub limit: Option<usize>,
}

/// The proposals of one day in numbers (dashboard, `/v1/stats`, summary).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProposalStats {
    pub total: u64,
    /// Per island (every zone, also with none), in the locations' order.
    pub islands: Vec<IslandProposals>,
    /// Per topic, most first (a proposal counts under each of its topics).
    pub topics: Vec<TopicCount>,
    /// Per status, in the order new, shortlisted, presented, declined.
    pub statuses: Vec<StatusCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IslandProposals {
    pub location_id: Uuid,
    pub name: String,
    pub total: u64,
    /// Local hours that had proposals: (hour, count).
    pub hours: Vec<(u8, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicCount {
    pub topic: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusCount {
    pub status: ProposalStatus,
    pub count: u64,
}

/// Apply a `proposal_edit` to the row: each field only when this edit's HLC
/// is newer than the one that last wrote it. A status carries who set it
/// (the edit's desk) and when (its HLC's time).
pub(crate) fn apply_edit(
    tx: &Transaction<'_>,
    e: &ProposalEdit,
    hlc: &Hlc,
    device: Uuid,
) -> rusqlite::Result<()> {
    let id = e.id.to_string();
    let Some(stamps) = tx
        .prepare_cached("SELECT field_hlc FROM proposals WHERE id = ?1")?
        .query_row(params![id], |r| r.get::<_, String>(0))
        .optional()?
    else {
        // The claims check refuses edits of unknown proposals; a desk that
        // applies one anyway (an import of an old log) keeps it logged only.
        return Ok(());
    };
    let mut stamps: BTreeMap<String, String> = serde_json::from_str(&stamps).unwrap_or_default();
    let at = hlc.to_string();
    let mut newer = |field: &str| {
        if stamps.get(field).is_none_or(|old| *old < at) {
            stamps.insert(field.to_string(), at.clone());
            true
        } else {
            false
        }
    };
    let p = &e.patch;
    if let Some(a) = &p.author
        && newer("author")
    {
        tx.prepare_cached("UPDATE proposals SET author = ?2, attendee_id = ?3 WHERE id = ?1")?
            .execute(params![id, json(a), a.attendee_id.map(|a| a.to_string())])?;
    }
    if let Some(t) = &p.title
        && newer("title")
    {
        tx.prepare_cached("UPDATE proposals SET title = ?2 WHERE id = ?1")?
            .execute(params![id, t])?;
    }
    if let Some(t) = &p.text
        && newer("text")
    {
        tx.prepare_cached("UPDATE proposals SET text = ?2 WHERE id = ?1")?
            .execute(params![id, t])?;
    }
    if let Some(t) = &p.topics
        && newer("topics")
    {
        tx.prepare_cached("UPDATE proposals SET topics = ?2 WHERE id = ?1")?
            .execute(params![id, json(t)])?;
    }
    if let Some(c) = p.consent
        && newer("consent")
    {
        tx.prepare_cached("UPDATE proposals SET consent = ?2 WHERE id = ?1")?
            .execute(params![id, c])?;
    }
    if let Some(s) = p.status
        && newer("status")
    {
        tx.prepare_cached(
            "UPDATE proposals SET status = ?2, status_by = ?3, status_at_ms = ?4 WHERE id = ?1",
        )?
        .execute(params![id, s.as_str(), device.to_string(), hlc.ms])?;
    }
    tx.prepare_cached("UPDATE proposals SET field_hlc = ?2 WHERE id = ?1")?
        .execute(params![id, serde_json::to_string(&stamps).expect("plain data")])?;
    if p.title.is_some() || p.text.is_some() || p.author.is_some() {
        reindex(tx, e.id)?;
    }
    Ok(())
}

/// Text folded for search: lower case, ё as е, spaces collapsed.
fn fold(s: &str) -> String {
    super::categories::fold(s)
}

/// Write the proposal's folded title and text into the trigram index.
pub(crate) fn reindex(tx: &Transaction<'_>, id: Uuid) -> rusqlite::Result<()> {
    let Some((rowid, title, text, author)) = tx
        .prepare_cached("SELECT rowid, title, text, author FROM proposals WHERE id = ?1")?
        .query_row(params![id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?
    else {
        return Ok(());
    };
    // A typed author (no badge) is found by what was typed.
    let author: ProposalAuthor = serde_json::from_str(&author).unwrap_or_default();
    let typed = [author.name, author.organization]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    tx.prepare_cached("DELETE FROM proposals_fts WHERE rowid = ?1")?
        .execute(params![rowid])?;
    tx.prepare_cached("INSERT INTO proposals_fts (rowid, body) VALUES (?1, ?2)")?
        .execute(params![rowid, fold(&format!("{title}\n{text}\n{typed}"))])?;
    Ok(())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data always serialises")
}

fn row_to_proposal(r: &rusqlite::Row<'_>) -> rusqlite::Result<Proposal> {
    let uuid = |i: usize| -> rusqlite::Result<Uuid> {
        let s: String = r.get(i)?;
        Uuid::parse_str(&s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let opt_uuid = |i: usize| -> rusqlite::Result<Option<Uuid>> {
        Ok(r.get::<_, Option<String>>(i)?
            .and_then(|s| Uuid::parse_str(&s).ok()))
    };
    let author: String = r.get(2)?;
    let topics: String = r.get(5)?;
    let status: String = r.get(7)?;
    Ok(Proposal {
        id: uuid(0)?,
        island_id: uuid(1)?,
        author: serde_json::from_str(&author).unwrap_or_default(),
        title: r.get(3)?,
        text: r.get(4)?,
        topics: serde_json::from_str(&topics).unwrap_or_default(),
        consent: r.get(6)?,
        status: ProposalStatus::parse(&status).unwrap_or_default(),
        status_by: opt_uuid(8)?,
        status_at_ms: r.get(9)?,
        device_id: uuid(10)?,
        at_ms: r.get(11)?,
    })
}

const COLUMNS: &str = "p.id, p.island_id, p.author, p.title, p.text, p.topics, p.consent, p.status, \
                       p.status_by, p.status_at_ms, p.device_id, p.at_ms";

fn trimmed(s: &str) -> String {
    s.trim().to_string()
}

fn clean_author(a: ProposalAuthor) -> ProposalAuthor {
    let keep = |s: Option<String>| s.map(|s| trimmed(&s)).filter(|s| !s.is_empty());
    ProposalAuthor {
        attendee_id: a.attendee_id,
        name: keep(a.name),
        organization: keep(a.organization),
        contact: keep(a.contact),
    }
}

impl Store {
    /// The island (a zone) `id` names, or a message that says what to pick.
    fn island(&self, id: Uuid) -> Result<()> {
        let kind = self
            .conn
            .query_row(
                "SELECT kind FROM locations WHERE id = ?1",
                params![id.to_string()],
                |r| r.get::<_, String>(0),
            )
            .optional()?;
        match kind.as_deref().and_then(LocationKind::parse) {
            Some(LocationKind::Zone) => Ok(()),
            Some(_) => Err(CoreError::Invalid(
                "proposals are taken at islands (zones), not at entrances: choose an island".into(),
            )),
            None => Err(CoreError::NotFound(format!(
                "no island {id}: sync the event's locations first"
            ))),
        }
    }

    /// The topics the coordinator set for an island (empty: none yet).
    pub fn island_topics(&self, island_id: Uuid) -> Result<Vec<String>> {
        let topics: Option<String> = self
            .conn
            .query_row(
                "SELECT topics FROM island_topics WHERE island_id = ?1",
                params![island_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(topics
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Set an island's topics (a coordinator's act; the shell checks the role).
    pub fn set_island_topics(
        &mut self,
        island_id: Uuid,
        topics: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        self.island(island_id)?;
        let mut seen = HashSet::new();
        let topics: Vec<String> = topics
            .iter()
            .map(|t| trimmed(t))
            .filter(|t| !t.is_empty() && seen.insert(fold(t)))
            .collect();
        if topics.len() > limits::TOPICS {
            return Err(CoreError::Invalid(format!(
                "an island has at most {} topics",
                limits::TOPICS
            )));
        }
        if let Some(t) = topics.iter().find(|t| t.chars().count() > limits::SHORT) {
            return Err(CoreError::Invalid(format!(
                "the topic {t:?} is longer than {} characters: shorten it",
                limits::SHORT
            )));
        }
        let change = IslandTopics {
            island_id,
            topics: topics.clone(),
        };
        self.write(now, |w| w.record(Change::IslandTopics(change)).map(|_| ()))?;
        Ok(topics)
    }

    /// The island's topics `topics` names (case-insensitive), or which exist.
    fn known_topics(&self, island_id: Uuid, topics: &[String]) -> Result<Vec<String>> {
        let known = self.island_topics(island_id)?;
        let mut out = Vec::new();
        for t in topics.iter().map(|t| trimmed(t)).filter(|t| !t.is_empty()) {
            let Some(k) = known.iter().find(|k| fold(k) == fold(&t)) else {
                return Err(CoreError::Invalid(if known.is_empty() {
                    format!("the island has no topics yet, so {t:?} cannot be one: a coordinator sets them")
                } else {
                    format!(
                        "{t:?} is not one of the island's topics: use {}",
                        known.join(", ")
                    )
                }));
            };
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        Ok(out)
    }

    fn check_text(title: &str, text: &str) -> Result<()> {
        if title.chars().count() > limits::PROPOSAL_TITLE {
            return Err(CoreError::Invalid(format!(
                "a title is at most {} characters: shorten it",
                limits::PROPOSAL_TITLE
            )));
        }
        if text.chars().count() > limits::PROPOSAL_TEXT {
            return Err(CoreError::Invalid(format!(
                "a proposal's text is at most {} characters: shorten it or split it in two",
                limits::PROPOSAL_TEXT
            )));
        }
        Ok(())
    }

    fn check_author(&self, a: &ProposalAuthor) -> Result<()> {
        match a.attendee_id {
            Some(id) if self.attendee(id)?.is_none() => Err(CoreError::NotFound(format!(
                "no attendee {id}: scan the badge again or type the author's name"
            ))),
            Some(_) => Ok(()),
            None if a.name.is_none() => Err(CoreError::Invalid(
                "a proposal needs its author: scan the badge, find the person, or type a name".into(),
            )),
            None => {
                for (what, v, max) in [
                    ("name", &a.name, limits::NAME),
                    ("organization", &a.organization, limits::NAME),
                    ("contact", &a.contact, limits::EMAIL),
                ] {
                    if v.as_ref().is_some_and(|v| v.chars().count() > max) {
                        return Err(CoreError::Invalid(format!(
                            "the author's {what} is at most {max} characters"
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// Take down a proposal at this desk: durable (and in the outbox) when
    /// this returns.
    pub fn add_proposal(&mut self, new: NewProposal, now: DateTime<Utc>) -> Result<Proposal> {
        self.island(new.island_id)?;
        let author = clean_author(new.author);
        self.check_author(&author)?;
        let (title, text) = (trimmed(&new.title), new.text.trim().to_string());
        if title.is_empty() && text.is_empty() {
            return Err(CoreError::Invalid("a proposal needs a title or a text".into()));
        }
        Self::check_text(&title, &text)?;
        let topics = self.known_topics(new.island_id, &new.topics)?;
        let device = self.device.id;
        let p = Proposal {
            id: new_id_by(device, now),
            island_id: new.island_id,
            author,
            title,
            text,
            topics,
            consent: new.consent,
            status: ProposalStatus::New,
            status_by: None,
            status_at_ms: None,
            device_id: device,
            at_ms: now.timestamp_millis(),
        };
        let out = p.clone();
        self.write(now, |w| w.record(Change::Proposal(p)).map(|_| ()))?;
        Ok(out)
    }

    /// Edit a proposal; only the fields the patch names change.
    pub fn edit_proposal(&mut self, id: Uuid, patch: ProposalPatch, now: DateTime<Utc>) -> Result<Proposal> {
        let current = self
            .proposal(id)?
            .ok_or_else(|| CoreError::NotFound(format!("no proposal {id}")))?;
        let mut patch = patch;
        if let Some(a) = patch.author.take() {
            let a = clean_author(a);
            self.check_author(&a)?;
            patch.author = Some(a);
        }
        patch.title = patch.title.map(|t| trimmed(&t));
        patch.text = patch.text.map(|t| t.trim().to_string());
        Self::check_text(
            patch.title.as_deref().unwrap_or(""),
            patch.text.as_deref().unwrap_or(""),
        )?;
        if let Some(t) = patch.topics.take() {
            patch.topics = Some(self.known_topics(current.island_id, &t)?);
        }
        if patch.is_empty() {
            return Ok(current);
        }
        self.write(now, |w| {
            w.record(Change::ProposalEdit(ProposalEdit { id, patch }))
                .map(|_| ())
        })?;
        self.proposal(id)?
            .ok_or_else(|| CoreError::NotFound(format!("no proposal {id}")))
    }

    /// Shortlist, mark presented, decline (or back to new).
    pub fn set_proposal_status(
        &mut self,
        id: Uuid,
        status: ProposalStatus,
        now: DateTime<Utc>,
    ) -> Result<Proposal> {
        self.edit_proposal(
            id,
            ProposalPatch {
                status: Some(status),
                ..ProposalPatch::default()
            },
            now,
        )
    }

    pub fn proposal(&self, id: Uuid) -> Result<Option<Proposal>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM proposals p WHERE p.id = ?1"))?
            .query_row(params![id.to_string()], row_to_proposal)
            .optional()?)
    }

    /// Proposals the filter lets through, newest first.
    pub fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<Proposal>> {
        let mut sql = format!("SELECT {COLUMNS} FROM proposals p WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(i) = filter.island_id {
            arg(&mut sql, " AND p.island_id = ?", i.to_string().into());
        }
        if let Some(s) = filter.status {
            arg(&mut sql, " AND p.status = ?", s.as_str().to_string().into());
        }
        if let Some(day) = filter.day {
            let tz = self.ctx()?.tz;
            let start = tz
                .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .map(|t| t.timestamp_millis())
                .unwrap_or(0);
            arg(&mut sql, " AND p.at_ms >= ?", start.into());
            arg(&mut sql, " AND p.at_ms < ?", (start + 86_400_000).into());
        }
        if let Some(t) = filter.topic.as_deref().map(fold).filter(|t| !t.is_empty()) {
            // Topics are written as the island names them: match any
            // island's spelling of it (folded: SQLite's lower() knows only
            // ASCII).
            let mut names: Vec<String> = vec![filter.topic.clone().unwrap_or_default().trim().to_string()];
            let mut st = self.conn.prepare_cached("SELECT topics FROM island_topics")?;
            for list in st.query_map([], |r| r.get::<_, String>(0))? {
                let list: Vec<String> = serde_json::from_str(&list?).unwrap_or_default();
                names.extend(list.into_iter().filter(|x| fold(x) == t));
            }
            arg(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM json_each(p.topics) t WHERE t.value IN (SELECT value FROM json_each(?)))",
                json(&names).into(),
            );
        }
        if let Some(q) = filter.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            // The candidates, as one set of row ids the query looks up (so
            // SQLite reads only them, then sorts them by time):
            let mut any: Vec<String> = Vec::new();
            // title, text and a typed author: a substring, any script, from
            // three characters on (the trigram index's unit);
            let folded = fold(q);
            if folded.chars().count() >= 3 {
                args.push(format!("\"{}\"", folded.replace('"', "\"\"")).into());
                // A screen's list of every island needs the newest matches
                // only: the index walks back from the newest rows and stops
                // (rows are written in about the order they were taken). With
                // another filter, every match is looked at, so that none the
                // filter wants is missed.
                let unfiltered = filter.island_id.is_none()
                    && filter.status.is_none()
                    && filter.day.is_none()
                    && filter.topic.as_deref().is_none_or(|t| t.trim().is_empty());
                let newest = match filter.limit {
                    Some(n) if unfiltered => format!(" ORDER BY rowid DESC LIMIT {}", n.saturating_mul(2)),
                    _ => String::new(),
                };
                any.push(format!(
                    "SELECT * FROM (SELECT rowid FROM proposals_fts WHERE proposals_fts MATCH ?{}{newest})",
                    args.len()
                ));
            }
            // authors who are attendees: the name search across scripts.
            if let Ok(found) = self.search(q, 50) {
                let ids: Vec<String> = found.into_iter().map(|(a, _)| a.id.to_string()).collect();
                if !ids.is_empty() {
                    args.push(json(&ids).into());
                    any.push(format!(
                        "SELECT rowid FROM proposals WHERE attendee_id IN (SELECT value FROM json_each(?{}))",
                        args.len()
                    ));
                }
            }
            if any.is_empty() {
                sql.push_str(" AND 0");
            } else {
                sql.push_str(&format!(" AND p.rowid IN ({})", any.join(" UNION ")));
            }
        }
        sql.push_str(" ORDER BY p.at_ms DESC, p.id DESC");
        if let Some(n) = filter.limit {
            args.push((n as i64).into());
            sql.push_str(&format!(" LIMIT ?{}", args.len()));
        }
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), row_to_proposal)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The day's proposals per island and hour, per topic and per status.
    pub fn proposal_stats(&self, day: NaiveDate) -> Result<ProposalStats> {
        let tz = self.ctx()?.tz;
        let list = self.proposals(&ProposalFilter {
            day: Some(day),
            ..ProposalFilter::default()
        })?;
        let mut islands: Vec<IslandProposals> = self
            .locations()?
            .iter()
            .filter(|l| l.kind == LocationKind::Zone)
            .map(|l| IslandProposals {
                location_id: l.id,
                name: l.name.clone(),
                ..IslandProposals::default()
            })
            .collect();
        let mut topics: BTreeMap<String, u64> = BTreeMap::new();
        let mut statuses = [0u64; 4];
        for p in &list {
            use chrono::Timelike;
            let hour = DateTime::<Utc>::from_timestamp_millis(p.at_ms)
                .unwrap_or_default()
                .with_timezone(&tz)
                .hour() as u8;
            if let Some(i) = islands.iter_mut().find(|i| i.location_id == p.island_id) {
                i.total += 1;
                match i.hours.iter_mut().find(|(h, _)| *h == hour) {
                    Some((_, n)) => *n += 1,
                    None => i.hours.push((hour, 1)),
                }
            }
            for t in &p.topics {
                *topics.entry(t.clone()).or_default() += 1;
            }
            let k = ProposalStatus::ALL
                .iter()
                .position(|s| *s == p.status)
                .unwrap_or(0);
            statuses[k] += 1;
        }
        for i in &mut islands {
            i.hours.sort();
        }
        let mut topics: Vec<TopicCount> = topics
            .into_iter()
            .map(|(topic, count)| TopicCount { topic, count })
            .collect();
        topics.sort_by(|a, b| b.count.cmp(&a.count).then(a.topic.cmp(&b.topic)));
        Ok(ProposalStats {
            total: list.len() as u64,
            islands,
            topics,
            statuses: ProposalStatus::ALL
                .iter()
                .zip(statuses)
                .map(|(s, count)| StatusCount { status: *s, count })
                .collect(),
        })
    }

    /// How many proposals an island took on the day `now` falls on.
    pub fn proposals_today(&self, island_id: Uuid, now: DateTime<Utc>) -> Result<u64> {
        let day = self.day_of(now)?;
        Ok(self
            .proposals(&ProposalFilter {
                island_id: Some(island_id),
                day: Some(day),
                ..ProposalFilter::default()
            })?
            .len() as u64)
    }
}
