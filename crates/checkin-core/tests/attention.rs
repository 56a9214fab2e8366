//! A person with a note for the desk and the attention mark carries both on
//! every verdict that names them: admitted, already inside, not valid today,
//! revoked; by badge, by ticket code and by manual check-in.

use chrono::{DateTime, TimeZone, Utc};

use checkin_core::engine::{AttendeeSummary, Verdict};
use checkin_core::model::{Attendee, Device, Direction, Method};
use checkin_core::store::Store;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
}

fn summary(v: &Verdict) -> &AttendeeSummary {
    match v {
        Verdict::Admitted { attendee, .. }
        | Verdict::AlreadyCheckedIn { attendee, .. }
        | Verdict::NotValidToday { attendee, .. }
        | Verdict::Revoked { attendee } => attendee.as_ref().expect("the verdict names the person"),
        v => panic!("no person in {v:?}"),
    }
}

#[test]
fn the_note_and_the_mark_are_on_every_verdict_about_the_person() {
    let mut s = Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(at(1, 9)),
            name: "Вход".into(),
        },
        at(1, 9),
    )
    .unwrap();
    checkin_core::demo::create_event(&mut s, 0, at(2, 9)).unwrap();
    let door = s.location("Вход A").unwrap().id;
    let vip = s
        .save_attendee(
            Attendee {
                full_name: "Важная Персона".into(),
                category: "vip".into(),
                notes: Some("VIP — позвонить протоколу".into()),
                attention: true,
                days: vec![at(2, 9).date_naive()],
                ticket_codes: vec!["T-VIP-1".into()],
                ..Attendee::default()
            },
            at(2, 9),
        )
        .unwrap();
    let plain = s
        .save_attendee(
            Attendee {
                full_name: "Обычный Участник".into(),
                category: "participant".into(),
                ..Attendee::default()
            },
            at(2, 9),
        )
        .unwrap();
    let token = s.badge_token(vip.id).unwrap();
    let check = |v: &Verdict| {
        let p = summary(v);
        assert!(p.attention, "{v:?}");
        assert_eq!(p.note.as_deref(), Some("VIP — позвонить протоколу"), "{v:?}");
    };

    let first = s.scan(&token, door, Direction::In, at(2, 9)).unwrap();
    assert!(matches!(first.verdict, Verdict::Admitted { .. }));
    check(&first.verdict);
    let again = s.scan("T-VIP-1", door, Direction::In, at(2, 10)).unwrap();
    assert!(
        matches!(again.verdict, Verdict::AlreadyCheckedIn { .. }),
        "{again:?}"
    );
    check(&again.verdict);
    let day2 = s.scan(&token, door, Direction::In, at(3, 9)).unwrap();
    assert!(matches!(day2.verdict, Verdict::NotValidToday { .. }), "{day2:?}");
    check(&day2.verdict);
    let manual = s
        .check_in_attendee(vip.id, door, Direction::In, Method::Manual, at(2, 11))
        .unwrap();
    check(&manual.verdict);
    s.set_revoked(vip.id, true, "дубликат", at(2, 12)).unwrap();
    let revoked = s.scan(&token, door, Direction::In, at(2, 13)).unwrap();
    assert!(matches!(revoked.verdict, Verdict::Revoked { .. }), "{revoked:?}");
    check(&revoked.verdict);

    // Someone without either carries neither.
    let t = s.badge_token(plain.id).unwrap();
    let out = s.scan(&t, door, Direction::In, at(2, 9)).unwrap();
    let p = summary(&out.verdict);
    assert!(!p.attention && p.note.is_none(), "{out:?}");

    // Search marks people with a note.
    let found = s.search("Важная", 5).unwrap();
    assert!(found[0].0.attention && found[0].0.notes.is_some());
}
