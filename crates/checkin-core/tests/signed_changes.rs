//! Signed changes as a desk receives them: a change altered anywhere (one
//! byte of its JSON) or claimed by another author is refused; the very
//! change as its author signed it passes. A proptest over every kind of
//! change a desk makes.

use checkin_core::change::{Change, ChangeEnvelope, Enrollment, SERVER_AUTHOR};
use checkin_core::demo;
use checkin_core::model::{Device, Direction, Role};
use checkin_core::store::Store;
use checkin_core::store::keyring::{Keyring, KnownDevice};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap()
}

/// A coordinator desk that made one change of (nearly) every kind, signed
/// as they leave its outbox, and a keyring that knows it and another desk.
fn changes() -> (Vec<ChangeEnvelope>, Keyring, Uuid) {
    let mut store = Store::open_in_memory(
        Device {
            id: Uuid::now_v7(),
            name: "Координатор".into(),
        },
        now(),
    )
    .unwrap();
    demo::create_event(&mut store, 5, now()).unwrap();
    let people = store.attendees().unwrap();
    let door = store.location("Вход A").unwrap().id;
    let island = store.location("Остров 1").unwrap().id;
    let token = store.badge_token(people[0].id).unwrap();
    let out = store.scan(&token, door, Direction::In, now()).unwrap();
    store.count_anonymous(island, Direction::In, now()).unwrap();
    let checkin = store
        .outbox(10_000)
        .unwrap()
        .into_iter()
        .rev()
        .find_map(|(_, e)| match e.change {
            Change::CheckIn(c) if c.attendee_id.is_some() => Some(c.id),
            _ => None,
        })
        .unwrap();
    store.annul(checkin, "ошибка", now()).unwrap();
    store.set_revoked(people[1].id, true, "потерян", now()).unwrap();
    let _ = out;
    let envs: Vec<ChangeEnvelope> = store
        .outbox(10_000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let mut keyring = Keyring::default();
    keyring.server = Some([9; 32]);
    let me = store.device().id;
    keyring.devices.insert(
        me,
        KnownDevice {
            public: store.identity_public(),
            role: Role::Coordinator,
            revoked_at_ms: None,
            hlc: "0000000000000-000000-00000000-0000-0000-0000-000000000000"
                .parse()
                .unwrap(),
        },
    );
    let other = Uuid::now_v7();
    keyring.devices.insert(
        other,
        KnownDevice {
            public: checkin_core::badge::public_from_secret(&[5; 32]),
            role: Role::Volunteer,
            revoked_at_ms: None,
            hlc: "0000000000000-000000-00000000-0000-0000-0000-000000000000"
                .parse()
                .unwrap(),
        },
    );
    (envs, keyring, other)
}

#[test]
fn every_kind_passes_as_signed() {
    let (envs, mut keyring, _) = changes();
    let kinds: std::collections::BTreeSet<&str> = envs.iter().map(|e| e.change.kind()).collect();
    for k in [
        "event",
        "location",
        "attendee",
        "checkin",
        "scan",
        "annulment",
        "revocation",
    ] {
        assert!(kinds.contains(k), "no {k} change in {kinds:?}");
    }
    let n = envs.len();
    let s = keyring.screen(envs, now().timestamp_millis());
    assert_eq!(s.accepted().len(), n, "{:?}", s.refused);
    // An enrolment by anyone but the server is refused, and by the server
    // only with the server's key.
    let mut fake = s.accepted()[0].clone();
    fake.device_id = SERVER_AUTHOR;
    fake.change = Change::Enrolled(Enrollment {
        device_id: Uuid::now_v7(),
        role: Role::Coordinator,
        public_key: "11".repeat(32),
        name: "захват".into(),
        at_ms: 0,
    });
    fake.sign(&[8; 32]);
    let s = keyring.screen(vec![fake], now().timestamp_millis());
    assert_eq!(s.refused.len(), 1);
    assert_eq!(s.refused[0].code, "bad_signature");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// One byte of a signed change's JSON changed: either it no longer
    /// reads, or it reads as the very same change, or it is refused.
    #[test]
    fn one_byte_changed_is_refused(pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (envs, mut keyring, _) = changes();
        let env = pick.get(&envs).clone();
        let mut json = serde_json::to_vec(&env).unwrap();
        let i = at.index(json.len());
        prop_assume!(json[i] != byte);
        json[i] = byte;
        let Ok(altered) = serde_json::from_slice::<ChangeEnvelope>(&json) else {
            return Ok(());
        };
        if altered == env {
            return Ok(());
        }
        let s = keyring.screen(vec![altered.clone()], now().timestamp_millis());
        prop_assert!(s.accepted().is_empty(), "accepted an altered change: {altered:?}");
    }

    /// A change relayed with another desk's author is refused.
    #[test]
    fn another_author_is_refused(pick in any::<prop::sample::Index>()) {
        let (envs, mut keyring, other) = changes();
        let mut env = pick.get(&envs).clone();
        env.device_id = other;
        let s = keyring.screen(vec![env], now().timestamp_millis());
        prop_assert!(s.accepted().is_empty());
        prop_assert_eq!(s.refused[0].code, "bad_signature");
    }
}
