//! A push body as the sync server decodes it (`checkin_server::decode`):
//! Content-Encoding (plain, gzip, damaged gzip, unknown), JSON, protocol
//! version, limits, the claims check (`checkin_core::claims`, run on every
//! parsed change as it is, and by the server's `admit_push` on the changes
//! signed with the desk's key, so the fuzzer's changes get past the
//! signature) for a desk of some role. What the server admits goes into the
//! log every desk applies, so an admitted push is also applied to a fresh
//! desk database: it must not crash a desk.

#![no_main]

use std::io::Write;

use checkin_core::claims::{self, Author, Facts};
use checkin_core::hlc::Hlc;
use checkin_core::model::LocationKind;
use checkin_core::model::Device;
use checkin_core::store::Store;
use checkin_core::store::changes::ChangeEnvelope;
use checkin_server::decode;
use checkin_sync::protocol::{DeviceInfo, MAX_PUSH_CHANGES, PROTOCOL_VERSION, Role};
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

/// The ids the seed pushes use (fuzz/seeds/sync_push).
const EVENT: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const DEVICE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

/// The desk's identity key (the fuzzer's changes are signed with it).
const SECRET: [u8; 32] = [7; 32];

/// A receiver that knows every id, with the event on 2–3 June 2026.
struct Known;
impl Facts for Known {
    fn event_days(&self) -> Option<Vec<chrono::NaiveDate>> {
        Some(vec![
            chrono::NaiveDate::from_ymd_opt(2026, 6, 2).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 6, 3).unwrap(),
        ])
    }
    fn location_kind(&self, id: Uuid) -> Option<LocationKind> {
        Some(if id.as_u128() % 2 == 0 {
            LocationKind::Entrance
        } else {
            LocationKind::Zone
        })
    }
    fn attendee_exists(&self, _: Uuid) -> bool {
        true
    }
    fn checkin_exists(&self, _: Uuid) -> bool {
        true
    }
    /// Every proposal is known, at an island (an odd id is a zone).
    fn proposal_island(&self, id: Uuid) -> Option<Uuid> {
        Some(Uuid::from_u128(id.as_u128() | 1))
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let packed;
    let (encoding, body) = match mode & 3 {
        0 => (None, body),
        1 => {
            packed = gzip(body);
            (Some("gzip"), &packed[..])
        }
        2 => (Some("gzip"), body),
        _ => (Some("deflate"), body),
    };
    let role = match (mode >> 2) % 3 {
        0 => Role::Volunteer,
        1 => Role::Host,
        _ => Role::Coordinator,
    };
    let device = DeviceInfo {
        id: DEVICE,
        name: "Вход A".into(),
        role,
        event_id: EVENT,
        paired_at_ms: 0,
        last_seen_ms: None,
        revoked: false,
        revoked_at_ms: None,
        public_key: data_encoding::HEXLOWER.encode(&checkin_core::badge::public_from_secret(&SECRET)),
        refused: 0,
    };
    let req = match decode::push_request(encoding, body) {
        Ok(req) => req,
        Err(e) => {
            assert!(e.status.is_client_error(), "{e:?}");
            assert!(e.message.len() > 10);
            return;
        }
    };
    assert_eq!(req.protocol, PROTOCOL_VERSION);
    assert!(req.changes.len() <= MAX_PUSH_CHANGES);
    let now_ms = Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap().timestamp_millis();
    let author = Author::Device {
        id: DEVICE,
        role,
        revoked_at_ms: None,
    };
    // The claims check on every change as it came, against what knows
    // everything and what knows nothing: refusals, never a panic.
    for env in &req.changes {
        if let Err(r) = claims::check(&author, env, Some(&Known), now_ms) {
            assert!(decode::refusal_status(r.code).is_client_error());
            assert!(r.message.len() > 10, "{r:?}");
        }
        let _ = claims::check(&author, env, None, now_ms);
    }
    let mut req = req;
    for env in &mut req.changes {
        env.sign(&SECRET);
    }
    let rows = match decode::admit_push(&device, &req, &Known, now_ms) {
        Ok(rows) => rows,
        Err((e, _)) => {
            assert!(e.status.is_client_error(), "{e:?}");
            return;
        }
    };
    assert_eq!(rows.len(), req.changes.len());
    for (row, env) in rows.iter().zip(&req.changes) {
        assert_eq!(env.device_id, DEVICE);
        assert_eq!(env.event_id, EVENT);
        assert!(role.may_push(&row.kind));
        // What the server stores reads back as what was sent.
        let back: ChangeEnvelope = serde_json::from_str(&row.json).expect("stored JSON reads back");
        assert_eq!(&back, env);
        assert_eq!(row.hlc.parse::<Hlc>().expect("stored HLC parses"), env.hlc);
    }
    if req.changes.is_empty() {
        return;
    }
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap();
    let desk = Device {
        id: Uuid::from_u128(3),
        name: "Стойка 2".into(),
    };
    let mut store = Store::open_in_memory(desk, now).expect("a desk database");
    // Errors are fine (the desk retries and reports); a panic is a crash at
    // every desk of the event.
    let _ = store.apply_remote(&req.changes, now);
    let _ = store.counters(now);
});
