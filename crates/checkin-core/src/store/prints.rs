//! Badge printing: which badges to print (all, by category, not yet printed,
//! added since a time, or named people) and the print log, which is recorded
//! through the change log so that every desk knows what was printed.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use super::changes::{BadgePrint, Change, PrintedBadge};
use super::{ATTENDEE_SELECT, Store, attendee_from_row, parse_uuid};
use crate::badge;
use crate::error::{CoreError, Result};
use crate::model::BadgeLayout as Layout;
use crate::model::{Attendee, new_id_by};

/// Which badges a batch holds. The default is everyone who is not revoked.
#[derive(Debug, Clone, Default)]
pub struct BadgeFilter {
    /// Only this category (code, e.g. `speaker`).
    pub category: Option<String>,
    /// Only badges no desk has printed yet. A replacement badge (a higher
    /// issue) counts as not printed.
    pub not_printed: bool,
    /// Only people added (registered or imported as new) at or after this
    /// time; read from the time-ordered attendee id, so a later edit or
    /// re-import of the same person does not count as new.
    pub added_since: Option<DateTime<Utc>>,
    /// These people only, in this order (a walk-in, a reprint); the filters
    /// above are then ignored.
    pub attendees: Vec<Uuid>,
}

/// One badge to print: the person and their signed token, as
/// [`Store::badges_to_print`] gives them to the badge PDF renderer.
#[derive(Debug, Clone)]
pub struct BadgeData {
    pub attendee: Attendee,
    pub token: String,
}

/// One line of the print log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintRecord {
    pub print_id: Uuid,
    pub attendee_id: Uuid,
    pub issue: u8,
    pub layout: String,
    pub device_id: Uuid,
    /// The desk's name, where this desk knows it.
    pub device_name: Option<String>,
    pub at: DateTime<Utc>,
    /// Why it was printed again, when it was a reprint.
    pub reason: Option<String>,
}

/// The smallest UUIDv7 text for `t`: ids made at or after `t` compare
/// greater or equal as text (lower-case hex, time first).
fn v7_floor(t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis().max(0) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        (ms >> 16) & 0xffff_ffff,
        ms & 0xffff
    )
}

impl Store {
    /// The people a batch prints, by name. Revoked people are left out of
    /// filtered batches; naming a revoked person is an error.
    pub fn badge_selection(&self, filter: &BadgeFilter) -> Result<Vec<Attendee>> {
        let ctx = self.ctx()?;
        if !filter.attendees.is_empty() {
            let mut out = Vec::with_capacity(filter.attendees.len());
            for id in &filter.attendees {
                let a = self
                    .attendee(*id)?
                    .ok_or_else(|| CoreError::UnknownAttendee(id.to_string()))?;
                if a.revoked {
                    return Err(CoreError::Invalid(format!(
                        "{} is revoked and gets no badge; restore them first (`checkin attendee restore`)",
                        a.full_name
                    )));
                }
                out.push(a);
            }
            return Ok(out);
        }
        if let Some(cat) = &filter.category
            && !ctx.event.categories.iter().any(|c| &c.code == cat)
        {
            let known: Vec<&str> = ctx.event.categories.iter().map(|c| c.code.as_str()).collect();
            return Err(CoreError::Invalid(format!(
                "unknown category {cat:?}; use one of: {}",
                known.join(", ")
            )));
        }
        let mut st = self.conn.prepare(&format!(
            "{ATTENDEE_SELECT} WHERE a.event_id = ?1
               AND (?2 IS NULL OR a.category = ?2)
               AND (?3 IS NULL OR a.id >= ?3)
               AND coalesce((SELECT r.revoked FROM revocations r WHERE r.attendee_id = a.id), 0) = 0
               AND (?4 = 0 OR NOT EXISTS (SELECT 1 FROM badge_prints p
                                          WHERE p.attendee_id = a.id AND p.issue = a.badge_issue))
             ORDER BY a.full_name, a.id"
        ))?;
        let rows = st
            .query_map(
                params![
                    ctx.event.id.to_string(),
                    filter.category,
                    filter.added_since.map(v7_floor),
                    filter.not_printed
                ],
                attendee_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The signed token of an attendee as they are now (needs the secret key).
    pub(crate) fn token_for(&self, a: &Attendee) -> Result<String> {
        let ctx = self.ctx()?;
        let (key_id, secret) = ctx.signing_key.ok_or(CoreError::NoSigningKey)?;
        let claims = badge::BadgeClaims {
            key_id,
            event_tag: ctx.tag,
            attendee_id: a.id,
            days_mask: badge::days_mask(&ctx.event.days, &a.days),
            issue: a.badge_issue,
        };
        Ok(badge::sign(&claims, &secret))
    }

    /// The selected people with their signed tokens, ready for `checkin_pdf::render`.
    /// A large batch is signed on two threads.
    pub fn badges_to_print(&self, filter: &BadgeFilter) -> Result<Vec<BadgeData>> {
        let people = self.badge_selection(filter)?;
        let ctx = self.ctx()?;
        let (key_id, secret) = ctx.signing_key.ok_or(CoreError::NoSigningKey)?;
        let (tag, days) = (ctx.tag, &ctx.event.days);
        let sign = |a: Attendee| {
            let claims = badge::BadgeClaims {
                key_id,
                event_tag: tag,
                attendee_id: a.id,
                days_mask: badge::days_mask(days, &a.days),
                issue: a.badge_issue,
            };
            BadgeData {
                token: badge::sign(&claims, &secret),
                attendee: a,
            }
        };
        if people.len() < 256 {
            return Ok(people.into_iter().map(sign).collect());
        }
        let mut people = people;
        let second = people.split_off(people.len() / 2);
        let (mut out, rest) = std::thread::scope(|scope| {
            let other = scope.spawn(|| second.into_iter().map(sign).collect::<Vec<_>>());
            let first: Vec<_> = people.into_iter().map(sign).collect();
            (first, other.join().expect("signing thread"))
        });
        out.extend(rest);
        Ok(out)
    }

    /// Log a print job (this desk, `now`), so that a batch of "not yet
    /// printed" leaves these badges out from now on, on every desk once
    /// synced. Returns the print job's id.
    pub fn record_printed(
        &mut self,
        badges: &[PrintedBadge],
        layout: Layout,
        now: DateTime<Utc>,
    ) -> Result<Uuid> {
        self.record_printed_because(badges, layout, None, now)
    }

    /// [`Store::record_printed`] with the reason a volunteer gave for
    /// printing a badge again (kept in the print log).
    pub fn record_printed_because(
        &mut self,
        badges: &[PrintedBadge],
        layout: Layout,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Uuid> {
        if badges.is_empty() {
            return Err(CoreError::Invalid("no badges to log as printed".into()));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > crate::claims::limits::REASON) {
            return Err(CoreError::Invalid(format!(
                "a reprint reason is at most {} characters: shorten it",
                crate::claims::limits::REASON
            )));
        }
        let print = BadgePrint {
            id: new_id_by(self.device.id, now),
            device_id: self.device.id,
            at_ms: now.timestamp_millis(),
            layout: layout.as_str().to_string(),
            badges: badges.to_vec(),
            reason: reason.map(str::to_string),
        };
        let id = print.id;
        self.write(now, |w| w.record(Change::BadgePrinted(print)).map(|_| ()))?;
        Ok(id)
    }

    /// Whether badge `issue` of the attendee is in the print log.
    pub fn badge_printed(&self, attendee_id: Uuid, issue: u8) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM badge_prints WHERE attendee_id = ?1 AND issue = ?2 LIMIT 1")?
            .exists(params![attendee_id.to_string(), issue])?)
    }

    /// When and where an attendee's badges were printed, oldest first.
    pub fn print_log(&self, attendee_id: Uuid) -> Result<Vec<PrintRecord>> {
        let mut st = self.conn.prepare_cached(
            "SELECT p.print_id, p.attendee_id, p.issue, p.layout, p.device_id, d.name, p.at_ms, p.reason
             FROM badge_prints p LEFT JOIN devices d ON d.id = p.device_id
             WHERE p.attendee_id = ?1 ORDER BY p.at_ms, p.print_id",
        )?;
        let rows = st
            .query_map(params![attendee_id.to_string()], |r| {
                let at_ms: i64 = r.get(6)?;
                Ok(PrintRecord {
                    print_id: parse_uuid(r, 0)?,
                    attendee_id: parse_uuid(r, 1)?,
                    issue: r.get(2)?,
                    layout: r.get(3)?,
                    device_id: parse_uuid(r, 4)?,
                    device_name: r.get(5)?,
                    at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default(),
                    reason: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::model::{Device, new_id};
    use crate::store::changes::ChangeEnvelope;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    fn store(n: usize) -> Store {
        let mut s = Store::open_in_memory(
            Device {
                id: new_id(t0()),
                name: "Стойка 1".into(),
            },
            t0(),
        )
        .unwrap();
        demo::create_event(&mut s, n, t0()).unwrap();
        s
    }

    fn printed(list: &[Attendee]) -> Vec<PrintedBadge> {
        list.iter()
            .map(|a| PrintedBadge {
                attendee_id: a.id,
                issue: a.badge_issue,
            })
            .collect()
    }

    #[test]
    fn v7_floor_orders_ids_by_time() {
        let t = t0();
        let before = new_id(t - Duration::milliseconds(1)).to_string();
        let at = new_id(t).to_string();
        let after = new_id(t + Duration::days(3)).to_string();
        let floor = v7_floor(t);
        assert!(before < floor, "{before} < {floor}");
        assert!(at >= floor && after >= floor);
    }

    #[test]
    fn not_printed_never_reprints_and_a_replacement_is_new() {
        let mut s = store(30);
        let all = s.badge_selection(&BadgeFilter::default()).unwrap();
        assert_eq!(all.len(), 30);
        let speakers = s
            .badge_selection(&BadgeFilter {
                category: Some("speaker".into()),
                ..BadgeFilter::default()
            })
            .unwrap();
        assert!(!speakers.is_empty() && speakers.iter().all(|a| a.category == "speaker"));

        let now = t0() + Duration::hours(1);
        let id = s.record_printed(&printed(&all[..10]), Layout::A4x8, now).unwrap();
        let not_printed = BadgeFilter {
            not_printed: true,
            ..BadgeFilter::default()
        };
        let rest = s.badge_selection(&not_printed).unwrap();
        assert_eq!(rest.len(), 20);
        assert!(rest.iter().all(|a| !all[..10].iter().any(|p| p.id == a.id)));

        let log = s.print_log(all[0].id).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].print_id, id);
        assert_eq!(log[0].layout, "a4-8");
        assert_eq!(log[0].device_name.as_deref(), Some("Стойка 1"));
        assert_eq!(log[0].at, now);

        // A lost badge is replaced: the new badge is not printed yet.
        s.replace_badge(all[0].id, "lost", now).unwrap();
        let rest = s.badge_selection(&not_printed).unwrap();
        assert_eq!(rest.len(), 21);
        // Revoked people get no badge in a batch, and naming them is refused.
        s.set_revoked(all[1].id, true, "test", now).unwrap();
        assert_eq!(s.badge_selection(&BadgeFilter::default()).unwrap().len(), 29);
        let err = s
            .badge_selection(&BadgeFilter {
                attendees: vec![all[1].id],
                ..BadgeFilter::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("restore"), "{err}");

        // The log travels as a change and applies idempotently elsewhere.
        let outbox: Vec<ChangeEnvelope> = s.outbox(1000).unwrap().into_iter().map(|(_, e)| e).collect();
        assert!(outbox.iter().any(|e| matches!(e.change, Change::BadgePrinted(_))));
        let mut other = Store::open_in_memory(
            Device {
                id: new_id(t0()),
                name: "Стойка 2".into(),
            },
            t0(),
        )
        .unwrap();
        other.apply_remote(&outbox, now).unwrap();
        assert_eq!(other.apply_remote(&outbox, now).unwrap(), 0);
        assert_eq!(other.print_log(all[2].id).unwrap().len(), 1);
        assert_eq!(other.badge_selection(&not_printed).unwrap().len(), 21);
    }

    #[test]
    fn added_since_and_unknown_category() {
        let mut s = store(5);
        let later = t0() + Duration::days(1);
        let walk_in = s
            .save_attendee(
                Attendee {
                    full_name: "Новикова Мария Петровна".into(),
                    category: "participant".into(),
                    ..Attendee::default()
                },
                later,
            )
            .unwrap();
        let since = s
            .badge_selection(&BadgeFilter {
                added_since: Some(later - Duration::minutes(1)),
                ..BadgeFilter::default()
            })
            .unwrap();
        assert_eq!(since.iter().map(|a| a.id).collect::<Vec<_>>(), vec![walk_in.id]);
        let err = s
            .badge_selection(&BadgeFilter {
                category: Some("guest".into()),
                ..BadgeFilter::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("speaker"), "{err}");
    }
}
