//! A desk opens a big database without waiting for the search index
//! (`Store::open_local_deferred`), builds it on another connection
//! (`Store::load_search_index`) and hands it over; nothing changed in the
//! meantime is missing from it. Counters keep the expected attendance in a
//! cache that every attendee change clears.

use chrono::Utc;

use checkin_core::engine::Verdict;
use checkin_core::model::{Attendee, Direction};
use checkin_core::store::Store;

fn demo(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("checkin.db");
    let mut s = Store::open_local(&path, "Стойка", Utc::now()).unwrap();
    checkin_core::demo::create_event(&mut s, n, Utc::now()).unwrap();
    path
}

fn door(s: &Store) -> uuid::Uuid {
    s.locations()
        .unwrap()
        .iter()
        .find(|l| l.name == "Вход A")
        .unwrap()
        .id
}

#[test]
fn deferred_index_scans_at_once_and_misses_nothing_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo(dir.path(), 500);
    let now = Utc::now();
    let mut s = Store::open_local_deferred(&path, "Стойка", now).unwrap();
    assert!(!s.search_ready());
    let e = s.search("chupsheva", 5).unwrap_err();
    assert_eq!(e.code(), "search_not_ready");
    assert!(e.to_string().contains("scan badges meanwhile"), "{e}");
    assert!(s.search_ids("chupsheva", 5).is_empty());

    // Scanning works before the index exists.
    let first = s.find_attendee("T-000001").unwrap();
    let token = s.badge_token(first.id).unwrap();
    let out = s.scan(&token, door(&s), Direction::In, now).unwrap();
    assert!(matches!(out.verdict, Verdict::Admitted { .. }), "{out:?}");

    // The index is read from a snapshot; then a walk-in is added and someone
    // is renamed before it is installed.
    let index = Store::load_search_index(&path).unwrap();
    assert_eq!(index.len(), 500);
    let walk_in = s
        .save_attendee(
            Attendee {
                full_name: "Запоздалова Ирина".into(),
                category: "participant".into(),
                ..Attendee::default()
            },
            now,
        )
        .unwrap();
    let mut renamed = s.find_attendee("T-000002").unwrap();
    let old_name = renamed.full_name.clone();
    renamed.full_name = "Переименованный Пётр".into();
    s.save_attendee(renamed.clone(), now).unwrap();

    assert!(s.install_search_index(index).unwrap());
    assert!(s.search_ready());
    let hits = s.search("Запоздалова", 5).unwrap();
    assert_eq!(hits.first().map(|(a, _)| a.id), Some(walk_in.id));
    let hits = s.search("Переименованный", 5).unwrap();
    assert_eq!(hits.first().map(|(a, _)| a.id), Some(renamed.id));
    let hits = s.search(&old_name, 50).unwrap();
    assert!(
        hits.iter().all(|(a, _)| a.id != renamed.id),
        "the old name no longer finds the renamed person"
    );
    let hits = s.search("chupsheva", 5).unwrap();
    assert!(hits.iter().any(|(a, _)| a.full_name.starts_with("Чупшева")));

    // A second index is refused: the store has one.
    assert!(
        !s.install_search_index(Store::load_search_index(&path).unwrap())
            .unwrap()
    );
}

#[test]
fn a_reload_while_deferred_builds_the_index_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo(dir.path(), 50);
    let mut s = Store::open_local_deferred(&path, "Стойка", Utc::now()).unwrap();
    s.reload().unwrap();
    assert!(s.search_ready());
    assert!(!s.search("chupsheva", 5).unwrap().is_empty());
    let late = Store::load_search_index(&path).unwrap();
    assert!(!s.install_search_index(late).unwrap(), "a stale index is dropped");
}

#[test]
fn expected_attendance_follows_attendee_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo(dir.path(), 200);
    let now = Utc::now();
    let mut s = Store::open_local(&path, "Стойка", now).unwrap();
    let before = s.counters(now).unwrap().expected;
    assert!(before > 0);
    // Asked again (after every scan): the same figure.
    assert_eq!(s.counters(now).unwrap().expected, before);
    s.save_attendee(
        Attendee {
            full_name: "Новикова Ольга".into(),
            category: "participant".into(),
            ..Attendee::default()
        },
        now,
    )
    .unwrap();
    assert_eq!(s.counters(now).unwrap().expected, before + 1);
    let someone = s.find_attendee("T-000003").unwrap();
    s.set_revoked(someone.id, true, "дубликат", now).unwrap();
    assert_eq!(s.counters(now).unwrap().expected, before);
}

#[test]
fn the_log_is_copied_back_on_a_connection_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo(dir.path(), 100);
    let now = Utc::now();
    let mut s = Store::open_local_deferred(&path, "Стойка", now).unwrap();
    s.set_cache_size_kib(8 * 1024).unwrap();
    let a = s.find_attendee("T-000007").unwrap();
    let token = s.badge_token(a.id).unwrap();
    s.scan(&token, door(&s), Direction::In, now).unwrap();
    // The store stays open and usable; the copy happens beside it.
    let copied = Store::checkpoint_file(&path).unwrap();
    assert!(copied > 0, "the scan's pages were copied into the database");
    let again = s.scan(&token, door(&s), Direction::In, now).unwrap();
    assert!(
        matches!(again.verdict, Verdict::AlreadyCheckedIn { .. }),
        "{again:?}"
    );
    assert!(Store::checkpoint_file(&dir.path().join("missing.db")).is_err());
}
