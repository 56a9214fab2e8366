//! Read-only views for the app's screens: visits per hour at an island,
//! arrivals per 15 minutes per entrance, and pages of the attendee table.
//! Like the rest of the core they take `now` from the caller.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::model::Attendee;
use crate::store::{ATTENDEE_SELECT, Store, attendee_from_row};

/// One hour of the event day (local time) at one location (shared with [`crate::stats`]).
pub use crate::stats::HourCount;

/// Which people the attendee table shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AttendeeFilter {
    /// Name, organisation, e-mail or code, any script (uses the search index).
    #[serde(default)]
    pub text: String,
    /// Category code, or empty for all.
    #[serde(default)]
    pub category: String,
    /// `all`, `checked_in` (today), `not_checked_in` (today), `revoked`.
    #[serde(default)]
    pub status: String,
}

/// One row of the attendee table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttendeeRow {
    #[serde(flatten)]
    pub attendee: Attendee,
    /// First admission at an entrance today, if any.
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Whether the person's current badge is in the print log.
    pub printed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttendeePage {
    /// Rows matching the filter in all.
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<AttendeeRow>,
}

impl Store {
    /// Entries and exits per local hour today at `location_id` (annulled ones
    /// left out). Hours with nothing are omitted.
    pub fn visits_per_hour(&self, location_id: Uuid, now: DateTime<Utc>) -> Result<Vec<HourCount>> {
        let tz = self.ctx()?.tz;
        let day = self.day_of(now)?;
        let mut st = self.conn.prepare_cached(
            "SELECT at_ms, direction FROM checkins
             WHERE location_id = ?1 AND day = ?2 AND annulled_by IS NULL",
        )?;
        let mut hours = [(0u64, 0u64); 24];
        let mut rows = st.query(params![location_id.to_string(), day.to_string()])?;
        while let Some(r) = rows.next()? {
            let ms: i64 = r.get(0)?;
            let dir: String = r.get(1)?;
            let Some(at) = DateTime::<Utc>::from_timestamp_millis(ms) else {
                continue;
            };
            let h = at.with_timezone(&tz).hour() as usize;
            if dir == "in" {
                hours[h].0 += 1;
            } else {
                hours[h].1 += 1;
            }
        }
        Ok(hours
            .iter()
            .enumerate()
            .filter(|(_, (i, o))| i + o > 0)
            .map(|(h, (i, o))| HourCount {
                hour: h as u8,
                entries: *i,
                exits: *o,
            })
            .collect())
    }

    /// Whether this desk holds the event's secret key (can issue badges).
    pub fn can_issue_badges(&self) -> bool {
        self.ctx.as_ref().is_some_and(|c| c.signing_key.is_some())
    }

    /// When the person was first admitted at an entrance on `day`, if at all.
    pub fn checked_in_at(&self, attendee_id: Uuid, day: NaiveDate) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT min(c.at_ms) FROM checkins c JOIN locations l ON l.id = c.location_id
                 WHERE c.attendee_id = ?1 AND c.day = ?2 AND c.direction = 'in'
                 AND c.annulled_by IS NULL AND l.kind = 'entrance'",
            )?
            .query_row(params![attendee_id.to_string(), day.to_string()], |r| r.get(0))?;
        Ok(ms.and_then(DateTime::<Utc>::from_timestamp_millis))
    }

    /// A page of the attendee table, sorted by name (or by search rank when
    /// `filter.text` is set).
    pub fn attendee_page(
        &self,
        filter: &AttendeeFilter,
        offset: u64,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<AttendeePage> {
        let event_id = self.ctx()?.event.id.to_string();
        let day: NaiveDate = self.day_of(now)?;
        let day_s = day.to_string();
        let limit = limit.min(1000);
        let checked_in = "EXISTS (SELECT 1 FROM checkins c JOIN locations l ON l.id = c.location_id
            WHERE c.attendee_id = a.id AND c.day = ?2 AND c.direction = 'in'
            AND c.annulled_by IS NULL AND l.kind = 'entrance')";
        let revoked = "coalesce((SELECT r.revoked FROM revocations r WHERE r.attendee_id = a.id), 0) = 1";
        let mut conds = vec![
            "a.event_id = ?1".to_string(),
            "(?3 = '' OR a.category = ?3)".to_string(),
        ];
        match filter.status.as_str() {
            "checked_in" => conds.push(checked_in.to_string()),
            "not_checked_in" => conds.push(format!("NOT {checked_in}")),
            "revoked" => conds.push(revoked.to_string()),
            _ => {}
        }
        let text = filter.text.trim();
        let (total, attendees): (u64, Vec<Attendee>) = if text.is_empty() {
            let where_ = conds.join(" AND ");
            let total: i64 = self
                .conn
                .prepare_cached(&format!("SELECT count(*) FROM attendees a WHERE {where_}"))?
                .query_row(params![event_id, day_s, filter.category], |r| r.get(0))?;
            let mut st = self.conn.prepare_cached(&format!(
                "{ATTENDEE_SELECT} WHERE {where_} ORDER BY a.full_name, a.id LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = st
                .query_map(
                    params![event_id, day_s, filter.category, limit as i64, offset as i64],
                    attendee_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            (total as u64, rows)
        } else {
            // Rank by the search index, then apply the other filters.
            let where_ = conds.join(" AND ");
            let mut st = self
                .conn
                .prepare_cached(&format!("{ATTENDEE_SELECT} WHERE a.id = ?4 AND {where_}"))?;
            let mut matching = Vec::new();
            for hit in self.search_ids(text, 500) {
                let mut rows = st.query_map(
                    params![event_id, day_s, filter.category, hit.id.to_string()],
                    attendee_from_row,
                )?;
                if let Some(a) = rows.next() {
                    matching.push(a?);
                }
            }
            let total = matching.len() as u64;
            let page = matching
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .collect();
            (total, page)
        };
        let mut rows = Vec::with_capacity(attendees.len());
        for a in attendees {
            rows.push(AttendeeRow {
                checked_in_at: self.checked_in_at(a.id, day)?,
                printed: self.badge_printed(a.id, a.badge_issue)?,
                attendee: a,
            });
        }
        Ok(AttendeePage { total, offset, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::model::{Device, Direction, Method, new_id};
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-06-02 h:m Moscow time (UTC+3).
        Utc.with_ymd_and_hms(2026, 6, 2, h - 3, m, 0).unwrap()
    }

    #[test]
    fn hours_quarters_and_pages() {
        let now = at(8, 0);
        let dev = Device {
            id: new_id(now),
            name: "Desk".into(),
        };
        let mut s = Store::open_in_memory(dev, now).unwrap();
        demo::create_event(&mut s, 50, now).unwrap();
        let door = s.location("Вход A").unwrap();
        let island = s.location("Остров 1").unwrap();
        let people = s.attendees().unwrap();
        for (i, a) in people.iter().take(5).enumerate() {
            s.check_in_attendee(a.id, door.id, Direction::In, Method::Search, at(9, i as u32 * 10))
                .unwrap();
        }
        s.count_anonymous(island.id, Direction::In, at(10, 5)).unwrap();
        s.count_anonymous(island.id, Direction::In, at(11, 5)).unwrap();
        s.count_anonymous(island.id, Direction::Out, at(11, 6)).unwrap();

        let hours = s.visits_per_hour(island.id, at(12, 0)).unwrap();
        assert_eq!(
            hours,
            vec![
                HourCount {
                    hour: 10,
                    entries: 1,
                    exits: 0
                },
                HourCount {
                    hour: 11,
                    entries: 1,
                    exits: 1
                }
            ]
        );
        // The dashboard's arrivals come from `stats`, bucketed the same way:
        // 9:00, 9:10 → 9:00 slot; 9:20 → 9:15; 9:30, 9:40 → 9:30.
        let stats = s.stats(Some(s.day_of(at(12, 0)).unwrap()), at(12, 0)).unwrap();
        let a = stats.days[0]
            .entrances
            .iter()
            .find(|a| a.name == "Вход A")
            .unwrap();
        let slots: Vec<(u32, u64)> = a.quarters.iter().map(|q| (q.minute, q.admissions)).collect();
        assert_eq!(slots, vec![(540, 2), (555, 1), (570, 2)]);

        let all = s
            .attendee_page(&AttendeeFilter::default(), 0, 20, at(12, 0))
            .unwrap();
        assert_eq!((all.total, all.rows.len()), (50, 20));
        let f = AttendeeFilter {
            status: "checked_in".into(),
            ..Default::default()
        };
        let checked = s.attendee_page(&f, 0, 100, at(12, 0)).unwrap();
        assert_eq!(checked.total, 5);
        assert!(checked.rows.iter().all(|r| r.checked_in_at.is_some()));
        let f = AttendeeFilter {
            text: "chupsheva".into(),
            ..Default::default()
        };
        let found = s.attendee_page(&f, 0, 10, at(12, 0)).unwrap();
        assert_eq!(found.rows[0].attendee.full_name, "Чупшева Анна Сергеевна");
    }
}
