//! Categories belong to the event: coordinators add, rename, recolour,
//! limit to days and remove them, as `category` changes that sync like any
//! other (last writer wins per code), and verdicts follow a category's days.

use chrono::{DateTime, Duration, TimeZone, Utc};

use checkin_core::engine::Verdict;
use checkin_core::model::{Attendee, Device, Direction};
use checkin_core::store::Store;
use checkin_core::store::categories::CategoryPatch;
use checkin_core::store::changes::ChangeEnvelope;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    // Moscow is UTC+3: 09:00 UTC is noon at the venue.
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

/// A coordinator desk with the forum's two days and one entrance.
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

fn door(s: &Store) -> uuid::Uuid {
    s.location("Вход A").unwrap().id
}

#[test]
fn a_category_valid_on_one_day_admits_only_that_day() {
    let mut s = forum();
    let smi = s
        .add_category(
            None,
            "СМИ",
            Some("Media"),
            None,
            vec![at(3, 9).date_naive()],
            at(2, 9),
        )
        .unwrap();
    assert_eq!(smi.code, "smi");
    assert_eq!(smi.color, "#607d8b", "a neutral colour when none was chosen");
    let a = s
        .save_attendee(
            Attendee {
                full_name: "Журналистова Анна".into(),
                category: "smi".into(),
                ..Attendee::default()
            },
            at(2, 9),
        )
        .unwrap();
    let token = s.badge_token(a.id).unwrap();
    let day1 = s.scan(&token, door(&s), Direction::In, at(2, 9)).unwrap();
    match &day1.verdict {
        Verdict::NotValidToday { valid_days, .. } => assert_eq!(valid_days, &vec![at(3, 9).date_naive()]),
        v => panic!("day 1 should refuse media: {v:?}"),
    }
    assert!(day1.reason.contains("СМИ"), "{}", day1.reason);
    let day2 = s.scan(&token, door(&s), Direction::In, at(3, 9)).unwrap();
    assert!(matches!(day2.verdict, Verdict::Admitted { .. }), "{day2:?}");

    // Every day again: admitted on day 1 too (another person, same category).
    s.edit_category(
        "СМИ",
        CategoryPatch {
            days: Some(vec![]),
            ..CategoryPatch::default()
        },
        at(3, 10),
    )
    .unwrap();
    let b = s
        .save_attendee(
            Attendee {
                full_name: "Фотографов Илья".into(),
                category: "smi".into(),
                ..Attendee::default()
            },
            at(3, 10),
        )
        .unwrap();
    let token = s.badge_token(b.id).unwrap();
    let out = s.scan(&token, door(&s), Direction::In, at(3, 11)).unwrap();
    assert!(matches!(out.verdict, Verdict::Admitted { .. }), "{out:?}");
}

#[test]
fn edits_sync_and_the_last_writer_wins_whatever_the_order() {
    let mut a = forum();
    let mut b = desk("Второй координатор");
    b.apply_remote(&all_changes(&a), at(2, 9)).unwrap();
    assert_eq!(b.categories().unwrap().len(), a.categories().unwrap().len());

    let first = a
        .edit_category(
            "press",
            CategoryPatch {
                label_ru: Some("Пресс-служба".into()),
                color: Some("#112233".into()),
                ..CategoryPatch::default()
            },
            at(2, 9),
        )
        .unwrap();
    let later = b
        .edit_category(
            "Пресса",
            CategoryPatch {
                label_en: Some("Media".into()),
                ..CategoryPatch::default()
            },
            at(2, 9) + Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(first.code, later.code);
    let from_a = all_changes(&a);
    let from_b = all_changes(&b);
    a.apply_remote(&from_b, at(2, 10)).unwrap();
    b.apply_remote(&from_a, at(2, 10)).unwrap();
    let pa = a.find_category("press").unwrap().unwrap();
    let pb = b.find_category("press").unwrap().unwrap();
    assert_eq!(pa, pb, "both desks end with the same category");
    // The whole category is one value: the later edit wins as it was made.
    assert_eq!(pa.label_ru, "Пресса");
    assert_eq!(pa.label_en, "Media");
    assert_eq!(
        a.categories().unwrap(),
        b.categories().unwrap(),
        "same list, same order"
    );
}

#[test]
fn only_an_unused_category_is_removed_and_names_do_not_repeat() {
    let mut s = forum();
    let e = s
        .add_category(None, "Пресса", Some("Journalists"), None, vec![], at(2, 9))
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = s
        .add_category(None, "Эксперт", None, Some("red"), vec![], at(2, 9))
        .unwrap_err();
    assert!(e.to_string().contains("#rrggbb"), "{e}");
    let e = s
        .add_category(None, "Эксперт", None, None, vec![at(9, 9).date_naive()], at(2, 9))
        .unwrap_err();
    assert!(e.to_string().contains("not a day of the event"), "{e}");

    let expert = s
        .add_category(None, "Эксперт", Some("Expert"), Some("#00897B"), vec![], at(2, 9))
        .unwrap();
    assert_eq!(expert.color, "#00897b");
    let person = s
        .save_attendee(
            Attendee {
                full_name: "Знающий Пётр".into(),
                category: expert.code.clone(),
                ..Attendee::default()
            },
            at(2, 9),
        )
        .unwrap();
    let e = s.remove_category("эксперт", at(2, 9)).unwrap_err();
    assert!(
        e.to_string().contains("move them to another category first"),
        "{e}"
    );

    let mut moved = person.clone();
    moved.category = "participant".into();
    s.save_attendee(moved, at(2, 10)).unwrap();
    s.remove_category("Expert", at(2, 10)).unwrap();
    assert!(s.find_category("expert").unwrap().is_none());

    // Gone on another desk too, and the name can be used again.
    let mut other = desk("Стойка");
    other.apply_remote(&all_changes(&s), at(2, 11)).unwrap();
    assert!(other.find_category("Эксперт").unwrap().is_none());
    s.add_category(None, "Эксперт", None, None, vec![], at(2, 11))
        .unwrap();
    other.apply_remote(&all_changes(&s), at(2, 12)).unwrap();
    assert!(other.find_category("Эксперт").unwrap().is_some());
}
