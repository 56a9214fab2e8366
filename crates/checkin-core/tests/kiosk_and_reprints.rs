//! The kiosks' exit PIN travels as a hash and the newest one wins on every
//! desk; a reprint keeps its reason in the print log, on every desk.

use chrono::{DateTime, Duration, TimeZone, Utc};

use checkin_core::change::Change;
use checkin_core::model::{Attendee, BadgeLayout, Device};
use checkin_core::store::Store;
use checkin_core::store::changes::{ChangeEnvelope, PrintedBadge};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
}

fn desk(name: &str) -> Store {
    Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(at(1, 9)),
            name: name.into(),
        },
        at(1, 9),
    )
    .unwrap()
}

fn forum() -> Store {
    let mut s = desk("Координатор");
    checkin_core::demo::create_event(&mut s, 0, at(2, 9)).unwrap();
    s
}

fn all_changes(s: &Store) -> Vec<ChangeEnvelope> {
    s.local_changes_after(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

#[test]
fn the_pin_is_a_hash_and_the_newest_wins_on_every_desk() {
    let mut a = forum();
    assert!(!a.kiosk_pin_set().unwrap());
    assert!(!a.check_kiosk_pin("").unwrap(), "no PIN: nothing opens");
    assert!(a.set_kiosk_pin("12", at(2, 9)).is_err(), "too short");
    a.set_kiosk_pin("2468", at(2, 9)).unwrap();
    assert!(a.check_kiosk_pin("2468").unwrap());
    assert!(a.check_kiosk_pin(" 2468 ").unwrap(), "spaces around are forgiven");
    assert!(!a.check_kiosk_pin("1357").unwrap());

    // Only the hash is in the log.
    let log = all_changes(&a);
    let pins: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.change {
            Change::KioskPin(p) => Some(p.hash.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(pins.len(), 1);
    assert!(pins[0].starts_with("$argon2id$") && !pins[0].contains("2468"));

    let mut kiosk = desk("Киоск");
    kiosk.apply_remote(&log, at(2, 9)).unwrap();
    assert!(kiosk.check_kiosk_pin("2468").unwrap());

    // Two coordinators change it; whichever order the kiosk hears them in,
    // the later one counts.
    let mut b = desk("Второй координатор");
    b.apply_remote(&log, at(2, 9)).unwrap();
    a.set_kiosk_pin("1111", at(2, 10)).unwrap();
    b.set_kiosk_pin("2222", at(2, 10) + Duration::minutes(1)).unwrap();
    let (from_a, from_b) = (all_changes(&a), all_changes(&b));
    kiosk.apply_remote(&from_b, at(2, 11)).unwrap();
    kiosk.apply_remote(&from_a, at(2, 11)).unwrap();
    assert!(kiosk.check_kiosk_pin("2222").unwrap());
    assert!(!kiosk.check_kiosk_pin("1111").unwrap());
    a.apply_remote(&from_b, at(2, 11)).unwrap();
    assert!(a.check_kiosk_pin("2222").unwrap());
}

#[test]
fn a_reprint_keeps_its_reason_in_the_print_log_everywhere() {
    let mut a = forum();
    let person = a
        .save_attendee(
            Attendee {
                full_name: "Иванова Мария".into(),
                category: "participant".into(),
                ..Attendee::default()
            },
            at(2, 9),
        )
        .unwrap();
    let badge = [PrintedBadge {
        attendee_id: person.id,
        issue: person.badge_issue,
    }];
    assert!(!a.badge_printed(person.id, person.badge_issue).unwrap());
    a.record_printed(&badge, BadgeLayout::A6, at(2, 9)).unwrap();
    assert!(a.badge_printed(person.id, person.badge_issue).unwrap());
    let long = "x".repeat(501);
    assert!(
        a.record_printed_because(&badge, BadgeLayout::A6, Some(&long), at(2, 10))
            .is_err()
    );
    a.record_printed_because(&badge, BadgeLayout::A6, Some("  потеряла бейдж "), at(2, 10))
        .unwrap();
    let mut b = desk("Вход Б");
    b.apply_remote(&all_changes(&a), at(2, 11)).unwrap();
    for s in [&a, &b] {
        let log = s.print_log(person.id).unwrap();
        let reasons: Vec<_> = log.iter().map(|p| p.reason.as_deref()).collect();
        assert_eq!(reasons, [None, Some("потеряла бейдж")]);
    }
}
