//! The scanned-text path: the byte rules for QR payloads
//! (`scan::text_of_bytes`), the Russian-layout fix (`fix_keyboard_layout`),
//! and a desk's whole scan (`Store::scan`) of whatever a scanner typed: a
//! verdict every time, never an error or a panic.

#![no_main]

use std::cell::RefCell;

use checkin_core::demo;
use checkin_core::model::{Device, Direction};
use checkin_scan as scan;
use checkin_core::store::Store;
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

struct Desk {
    store: Store,
    entrance: Uuid,
    zone: Uuid,
    scans: usize,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap()
}

fn new_desk() -> Desk {
    let device = Device {
        id: Uuid::from_u128(1),
        name: "Вход A".into(),
    };
    let mut store = Store::open_in_memory(device, now()).unwrap();
    demo::create_event(&mut store, 20, now()).unwrap();
    let entrance = store.location("Вход A").unwrap().id;
    let zone = store.location("Остров 1").unwrap().id;
    Desk {
        store,
        entrance,
        zone,
        scans: 0,
    }
}

thread_local! {
    static DESK: RefCell<Desk> = RefCell::new(new_desk());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    match scan::text_of_bytes(bytes) {
        Some(text) => {
            if let Ok(utf8) = std::str::from_utf8(bytes) {
                assert_eq!(text, utf8);
            } else {
                assert!(!text.contains('\u{FFFD}'), "a guessed string: {text:?}");
            }
        }
        None => assert!(std::str::from_utf8(bytes).is_err()),
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let fixed = checkin_core::keyboard::fix_keyboard_layout(text);
    assert_eq!(fixed.chars().count(), text.chars().count());
    if !text
        .chars()
        .any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
    {
        assert_eq!(fixed, text);
    }
    DESK.with(|desk| {
        let mut desk = desk.borrow_mut();
        // A fresh database now and then, so a long run does not fill memory.
        if desk.scans >= 20_000 {
            *desk = new_desk();
        }
        desk.scans += 1;
        let location = if mode & 1 == 0 { desk.entrance } else { desk.zone };
        let direction = if mode & 2 == 0 {
            Direction::In
        } else {
            Direction::Out
        };
        let outcome = desk
            .store
            .scan(text, location, direction, now())
            .expect("a scan always gives a verdict");
        assert_eq!(outcome.location_id, location);
        assert!(!outcome.reason.is_empty());
    });
});
