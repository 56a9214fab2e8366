//! `checkin_facts`: one packed row per check-in beside `checkins`, written in
//! the same transaction by [`super::changes`] and read back whole by the
//! statistics load. The packing and its reading live here, with the store
//! that writes them (migrations V5 and V6 convert older rows).

use chrono::{Datelike, NaiveDate};
use rusqlite::params;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{CheckIn, Direction};

/// One check-in as the statistics need it: a fact unpacked.
#[derive(Clone, Copy)]
pub(crate) struct RawCheckIn {
    pub(crate) id: Uuid,
    pub(crate) attendee_id: Option<Uuid>,
    pub(crate) location_id: Uuid,
    pub(crate) device_id: Uuid,
    pub(crate) direction: Direction,
    pub(crate) at_ms: i64,
    pub(crate) day: NaiveDate,
    pub(crate) annulled: bool,
}

/// `checkin_facts.flags`: bit 0 an entry, bit 1 annulled.
pub(crate) const FACT_IN: i64 = 1;
pub(crate) const FACT_ANNULLED: i64 = 2;

pub(crate) fn fact_flags(direction: Direction, annulled: bool) -> i64 {
    let mut f = 0;
    if direction == Direction::In {
        f |= FACT_IN;
    }
    if annulled {
        f |= FACT_ANNULLED;
    }
    f
}

/// Days since 1970-01-01 (`checkin_facts.day`).
pub(crate) fn epoch_day(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

/// 1970-01-01 counted from 0001-01-01 as day 1.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

pub(crate) fn day_from_epoch(n: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(n + EPOCH_DAYS_FROM_CE).ok()?)
}

/// Length of a packed fact ([`fact_bytes`]).
const FACT_LEN: usize = 76;

/// One check-in as `checkin_facts.fact` holds it: id, attendee (all zero for
/// an anonymous count), location, device (16 bytes each), `at_ms` (8 bytes)
/// and the day as days since 1970-01-01 (4 bytes), big-endian.
pub(crate) fn fact_bytes(c: &CheckIn) -> [u8; FACT_LEN] {
    let mut b = [0u8; FACT_LEN];
    b[0..16].copy_from_slice(c.id.as_bytes());
    if let Some(a) = c.attendee_id {
        b[16..32].copy_from_slice(a.as_bytes());
    }
    b[32..48].copy_from_slice(c.location_id.as_bytes());
    b[48..64].copy_from_slice(c.device_id.as_bytes());
    b[64..72].copy_from_slice(&c.at.timestamp_millis().to_be_bytes());
    b[72..76].copy_from_slice(&(epoch_day(c.day) as i32).to_be_bytes());
    b
}

fn uuid_at(b: &[u8; FACT_LEN], at: usize) -> Uuid {
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[at..at + 16]);
    Uuid::from_bytes(u)
}

/// Read every check-in of `event_id` from `checkin_facts`, parsed, in
/// storage order.
pub(crate) fn read_checkins(
    conn: &rusqlite::Connection,
    event_id: Uuid,
    mut f: impl FnMut(RawCheckIn),
) -> Result<()> {
    let mut st = conn.prepare("SELECT fact, flags FROM checkin_facts WHERE event = ?1")?;
    let mut rows = st.query(params![event_id.as_bytes().as_slice()])?;
    let mut last_day: Option<(i32, NaiveDate)> = None;
    while let Some(r) = rows.next()? {
        let rusqlite::types::ValueRef::Blob(b) = r.get_ref(0)? else {
            continue;
        };
        let Ok(b) = <&[u8; FACT_LEN]>::try_from(b) else {
            continue;
        };
        let n = i32::from_be_bytes([b[72], b[73], b[74], b[75]]);
        let day = match last_day {
            Some((k, d)) if k == n => d,
            _ => {
                let Some(d) = day_from_epoch(i64::from(n)) else {
                    continue;
                };
                last_day = Some((n, d));
                d
            }
        };
        let flags: i64 = r.get(1)?;
        let attendee = uuid_at(b, 16);
        f(RawCheckIn {
            id: uuid_at(b, 0),
            attendee_id: (!attendee.is_nil()).then_some(attendee),
            location_id: uuid_at(b, 32),
            device_id: uuid_at(b, 48),
            direction: if flags & FACT_IN != 0 {
                Direction::In
            } else {
                Direction::Out
            },
            at_ms: i64::from_be_bytes([b[64], b[65], b[66], b[67], b[68], b[69], b[70], b[71]]),
            day,
            annulled: flags & FACT_ANNULLED != 0,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_days_round_trip() {
        let day1 = NaiveDate::from_ymd_opt(2026, 6, 2).unwrap();
        for d in [
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
            day1,
            NaiveDate::from_ymd_opt(2400, 2, 29).unwrap(),
        ] {
            assert_eq!(day_from_epoch(epoch_day(d)), Some(d));
        }
        assert_eq!(epoch_day(day1), 20_606);
    }
}
