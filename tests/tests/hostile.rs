//! Hostile desks against a real server (SQLite and PostgreSQL, the same
//! suite): one legitimately paired volunteer desk, with its own token and
//! key, sends validly signed changes that claim what it may not. Each is
//! refused with its status and code, counted against the desk, and nothing
//! of it is stored or reaches another desk; the honest paths still work.

use checkin_core::change::{Annulment, Change, ChangeEnvelope, ScanRecord};
use checkin_core::hlc::Hlc;
use checkin_core::model::{Attendee, CheckIn, Device, Direction, Method, new_id_by};
use checkin_sync::protocol::{PROTOCOL_VERSION, PairingCodeRequest, PullResponse, Role};
use checkin_tests::{Backend, TestClock, TestDesk, TestServer};
use uuid::Uuid;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    )*};
}

both_backends!(
    authorship_inside_the_data,
    host_checks_in_only_at_zones,
    poisoned_clock,
    id_squatting,
    pairing_takeover,
    references_and_sizes,
    relay_refuses_one_by_one,
    audit_counts_refusals,
    proposals_by_role,
);

/// Every change the server holds for the event, in order.
async fn server_changes(desk: &TestDesk) -> Vec<ChangeEnvelope> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page: PullResponse = desk
            .desk
            .client
            .pull(desk.desk.pairing.event_id, after, 5000)
            .await
            .expect("pull");
        out.extend(page.changes);
        after = page.cursor;
        if !page.more {
            return out;
        }
    }
}

fn id_of(desk: &TestDesk) -> Uuid {
    desk.store().device().id
}

/// A fresh, unsigned change by `desk`, with an id made for it and its clock.
fn envelope(desk: &TestDesk, change: Change) -> ChangeEnvelope {
    let me = id_of(desk);
    let now = desk.now();
    ChangeEnvelope {
        id: new_id_by(me, now),
        event_id: desk.desk.pairing.event_id,
        hlc: Hlc {
            ms: now.timestamp_millis(),
            counter: 0,
            node: me,
        },
        device_id: me,
        change,
        sig: None,
    }
}

/// A check-in made by `desk` today (as far as its fields go).
fn checkin(desk: &TestDesk, attendee_id: Option<Uuid>, location_id: Uuid) -> CheckIn {
    let me = id_of(desk);
    let now = desk.now();
    let day = desk.store().day_of(now).unwrap();
    CheckIn {
        id: new_id_by(me, now),
        attendee_id,
        location_id,
        device_id: me,
        direction: Direction::In,
        method: Method::Search,
        at: now,
        day,
        annulled_by: None,
    }
}

fn scan(desk: &TestDesk, location_id: Uuid, payload: String) -> ScanRecord {
    let me = id_of(desk);
    let now = desk.now();
    ScanRecord {
        id: new_id_by(me, now),
        location_id,
        device_id: me,
        at_ms: now.timestamp_millis(),
        payload,
        verdict: "unknown".into(),
        reason: "не распознан".into(),
        attendee_id: None,
        checkin_id: None,
    }
}

/// POST a raw body to `path` with `desk`'s token: (status, error code).
async fn post_raw(server: &TestServer, desk: &TestDesk, path: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .bearer_auth(&desk.desk.pairing.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}

fn push_body(event_id: Uuid, changes: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "event_id": event_id,
        "changes": changes,
    }))
    .unwrap()
}

/// Sign `change` as `desk` and push it alone with `desk`'s token.
async fn push_signed(server: &TestServer, desk: &TestDesk, mut change: ChangeEnvelope) -> (u16, String) {
    desk.store().sign_as_this_desk(&mut change);
    let body = push_body(desk.desk.pairing.event_id, serde_json::json!([change]));
    post_raw(server, desk, "/v1/push", body).await
}

fn forbidden(code: &str) -> (u16, String) {
    (403, code.to_string())
}

fn bad(code: &str) -> (u16, String) {
    (400, code.to_string())
}

fn conflict(code: &str) -> (u16, String) {
    (409, code.to_string())
}

fn accepted() -> (u16, String) {
    (200, String::new())
}

/// The refusals the server counted against `device`.
async fn refused_count(coord: &TestDesk, device: Uuid) -> u64 {
    coord
        .desk
        .client
        .devices()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.id == device)
        .expect("the device is listed")
        .refused
}

struct Scene {
    server: TestServer,
    coord: TestDesk,
    volunteer: TestDesk,
}

async fn scene(b: Backend, attendees: usize) -> Option<Scene> {
    let server = TestServer::start(b).await?;
    let coord = TestDesk::coordinator(&server, attendees).await;
    let volunteer = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Вход A, стойка 3",
        TestClock::default(),
    )
    .await;
    Some(Scene {
        server,
        coord,
        volunteer,
    })
}

fn some_attendee(desk: &TestDesk) -> Uuid {
    desk.store().attendees().unwrap()[0].id
}

/// Attack 1: Device ids inside the data name the author: a volunteer cannot record
/// a check-in, scan or annulment as the coordinator's, nor rename it.
async fn authorship_inside_the_data(b: Backend) {
    let Some(Scene {
        server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let cid = id_of(&coord);
    let coord_name = coord.store().device().name.clone();
    let entrance = v.location("Вход A");
    let person = some_attendee(&v);

    let mut c = checkin(&v, Some(person), entrance);
    c.device_id = cid;
    let e = envelope(&v, Change::CheckIn(c));
    assert_eq!(
        push_signed(&server, &v, e).await,
        forbidden("not_the_author"),
        "check-in"
    );

    let mut s = scan(&v, entrance, "garbage".into());
    s.device_id = cid;
    let e = envelope(&v, Change::Scan(s));
    assert_eq!(
        push_signed(&server, &v, e).await,
        forbidden("not_the_author"),
        "scan"
    );

    // The coordinator's own check-in, annulled in the coordinator's name.
    let real = {
        let now = coord.now();
        let mut s = coord.store();
        s.check_in_attendee(person, entrance, Direction::In, Method::Search, now)
            .unwrap();
        s.last_checkin().unwrap().expect("a check-in")
    };
    coord.desk.sync_once().await.unwrap();
    let before = server_changes(&coord).await.len();
    let me = id_of(&v);
    let an = Annulment {
        id: new_id_by(me, v.now()),
        checkin_id: real.id,
        reason: "ошибка".into(),
        device_id: cid,
        at_ms: v.now().timestamp_millis(),
    };
    let e = envelope(&v, Change::Annulment(an));
    assert_eq!(
        push_signed(&server, &v, e).await,
        forbidden("not_the_author"),
        "annulment"
    );

    let rename = Change::Device(Device {
        id: cid,
        name: "Захвачен".into(),
    });
    assert_eq!(
        push_signed(&server, &v, envelope(&v, rename)).await,
        forbidden("not_the_author"),
        "device rename"
    );

    // Nothing stored, nothing reaches the coordinator.
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");
    coord.desk.sync_once().await.unwrap();
    assert_eq!(coord.store().device().name, coord_name);
    assert!(
        coord.store().checkins_of(person).unwrap()[0]
            .annulled_by
            .is_none(),
        "the coordinator's check-in is not annulled"
    );
    // The same changes in the volunteer's own name are taken (the refusals
    // above were for the claim, not for how the changes were built).
    let own = envelope(&v, Change::Scan(scan(&v, entrance, "garbage".into())));
    assert_eq!(push_signed(&server, &v, own).await, accepted());
    let rename = Change::Device(Device {
        id: me,
        name: "Вход A, стойка 3 (новая)".into(),
    });
    assert_eq!(push_signed(&server, &v, envelope(&v, rename)).await, accepted());
    assert_eq!(server_changes(&coord).await.len(), before + 2);
    assert!(refused_count(&coord, me).await >= 4);
}

/// Attack 2: An island host records check-ins only at zones.
async fn host_checks_in_only_at_zones(b: Backend) {
    let Some(Scene { server, coord, .. }) = scene(b, 10).await else {
        return;
    };
    let host = TestDesk::join(&coord, &server.url, Role::Host, "Остров 1", TestClock::default()).await;
    let before = server_changes(&coord).await.len();
    coord.desk.sync_once().await.unwrap();
    let digest = coord.digest();
    let entrance = host.location("Вход A");
    let person = some_attendee(&host);

    let named = envelope(&host, Change::CheckIn(checkin(&host, Some(person), entrance)));
    assert_eq!(
        push_signed(&server, &host, named).await,
        forbidden("forbidden"),
        "named check-in at an entrance"
    );
    let anonymous = envelope(&host, Change::CheckIn(checkin(&host, None, entrance)));
    assert_eq!(
        push_signed(&server, &host, anonymous).await,
        forbidden("forbidden"),
        "anonymous count at an entrance"
    );
    let at_entrance = envelope(&host, Change::Scan(scan(&host, entrance, "x".into())));
    assert_eq!(
        push_signed(&server, &host, at_entrance).await,
        forbidden("forbidden"),
        "scan at an entrance"
    );
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");
    coord.desk.sync_once().await.unwrap();
    assert_eq!(coord.digest(), digest, "the coordinator sees nothing new");
    assert!(coord.store().checkins_of(person).unwrap().is_empty());

    // At its zone the host is heard.
    let zone = host.location("Остров 1");
    let ok = envelope(&host, Change::CheckIn(checkin(&host, Some(person), zone)));
    assert_eq!(push_signed(&server, &host, ok).await, accepted());
    assert!(refused_count(&coord, id_of(&host)).await >= 3);
}

/// Attack 3: A clock far ahead, or an HLC that does not parse, is refused; the
/// honest last-writer-wins order is not disturbed.
async fn poisoned_clock(b: Backend) {
    let Some(Scene {
        server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let before = server_changes(&coord).await.len();
    let entrance = v.location("Вход A");

    let mut ahead = envelope(&v, Change::Scan(scan(&v, entrance, "x".into())));
    ahead.hlc.ms += 3_600_000;
    assert_eq!(push_signed(&server, &v, ahead).await, conflict("clock_ahead"));

    let mut rolled = envelope(&v, Change::Scan(scan(&v, entrance, "x".into())));
    v.store().sign_as_this_desk(&mut rolled);
    let mut json = serde_json::to_value(&rolled).unwrap();
    json["hlc"] =
        serde_json::Value::String(format!("{:013}-{}-{}", rolled.hlc.ms, u32::MAX, rolled.hlc.node));
    let body = push_body(v.desk.pairing.event_id, serde_json::json!([json]));
    assert_eq!(
        post_raw(&server, &v, "/v1/push", body).await,
        bad("bad_request"),
        "a counter of 4294967295 does not parse"
    );
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");

    // Honest path: the coordinator revokes, then restores a person; the
    // volunteer desk follows both (the restore, written last, wins).
    let person = some_attendee(&coord);
    let now = coord.now();
    coord
        .store()
        .set_revoked(person, true, "потерял бейдж", now)
        .unwrap();
    coord.desk.sync_once().await.unwrap();
    v.desk.sync_once().await.unwrap();
    assert!(v.store().attendee(person).unwrap().unwrap().revoked);
    let now = coord.now();
    coord.store().set_revoked(person, false, "нашёлся", now).unwrap();
    coord.desk.sync_once().await.unwrap();
    v.desk.sync_once().await.unwrap();
    assert!(
        !v.store().attendee(person).unwrap().unwrap().revoked,
        "the restore reached the other desk"
    );
    let other = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Вход B",
        TestClock::default(),
    )
    .await;
    assert!(!other.store().attendee(person).unwrap().unwrap().revoked);
    v.desk.sync_once().await.unwrap();
    assert_eq!(other.digest(), v.digest(), "converged");
}

/// Attack 4: A change id, or a check-in id, read from another desk's pending
/// change cannot be taken; the real author's change is still stored.
async fn id_squatting(b: Backend) {
    let Some(Scene {
        server,
        coord,
        volunteer: attacker,
    }) = scene(b, 10).await
    else {
        return;
    };
    let victim = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Вход B",
        TestClock::default(),
    )
    .await;
    let door = victim.location("Вход B");
    // The victim registers a walk-in and checks her in, still offline.
    let walk_in = {
        let now = victim.now();
        let mut s = victim.store();
        let a = s
            .save_attendee(
                Attendee {
                    full_name: "Новикова Анна".into(),
                    category: "participant".into(),
                    ..Attendee::default()
                },
                now,
            )
            .unwrap();
        s.check_in_attendee(a.id, door, Direction::In, Method::Search, now)
            .unwrap();
        a.id
    };
    let pending: Vec<ChangeEnvelope> = victim
        .store()
        .outbox(100)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let theirs = pending
        .iter()
        .find_map(|e| match &e.change {
            Change::CheckIn(c) if c.attendee_id == Some(walk_in) => Some((e.id, c.clone())),
            _ => None,
        })
        .expect("the victim's check-in is pending");
    let before = server_changes(&coord).await.len();
    let person = some_attendee(&attacker);

    // Its change id.
    let mut e = envelope(&attacker, Change::CheckIn(checkin(&attacker, Some(person), door)));
    e.id = theirs.0;
    assert_eq!(
        push_signed(&server, &attacker, e).await,
        forbidden("id_not_yours"),
        "the change id"
    );
    // Its check-in id, under a change id of the attacker's own.
    let mut c = checkin(&attacker, Some(person), door);
    c.id = theirs.1.id;
    let e = envelope(&attacker, Change::CheckIn(c));
    assert_eq!(
        push_signed(&server, &attacker, e).await,
        forbidden("id_not_yours"),
        "the check-in id"
    );
    // Its very check-in, re-signed as the attacker's.
    let mut e = envelope(&attacker, Change::CheckIn(theirs.1.clone()));
    e.id = theirs.0;
    if let Change::CheckIn(c) = &mut e.change {
        c.device_id = id_of(&attacker);
    }
    assert_eq!(
        push_signed(&server, &attacker, e).await,
        forbidden("id_not_yours"),
        "the whole check-in"
    );
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");

    // The real author pushes: stored, and the walk-in and her check-in
    // reach the coordinator.
    victim.desk.sync_once().await.unwrap();
    assert_eq!(victim.store().outbox_status().unwrap().waiting, 0);
    let stored = server_changes(&coord).await;
    assert!(
        stored.iter().any(|e| e.id == theirs.0),
        "the victim's change is stored"
    );
    coord.desk.sync_once().await.unwrap();
    let s = coord.store();
    assert_eq!(
        s.attendee(walk_in).unwrap().expect("the walk-in").full_name,
        "Новикова Анна"
    );
    let cs = s.checkins_of(walk_in).unwrap();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].id, theirs.1.id);
    assert_eq!(cs[0].device_id, id_of(&victim));
}

/// Attack 5: A pairing code cannot take over a paired desk's id.
async fn pairing_takeover(b: Backend) {
    let Some(Scene { server, coord, .. }) = scene(b, 5).await else {
        return;
    };
    let cid = id_of(&coord);
    let devices_before = coord.desk.client.devices().await.unwrap();
    let code = coord
        .desk
        .client
        .create_pairing_code(&PairingCodeRequest {
            event_id: coord.desk.pairing.event_id,
            role: Role::Volunteer,
            ttl_minutes: None,
            device_id: None,
        })
        .await
        .unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "code": code.code,
        "device_id": cid,
        "device_name": "Координатор",
        "public_key": "ab".repeat(32),
    }))
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/pair", server.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (status, json["error"]["code"].as_str().unwrap_or("")),
        (409, "device_exists"),
        "{json}"
    );
    assert!(json.get("token").is_none(), "no token handed out");
    // The coordinator keeps its token, role and key.
    coord.desk.sync_once().await.expect("the coordinator still syncs");
    let after = coord.desk.client.devices().await.unwrap();
    assert_eq!(after.len(), devices_before.len(), "no device added");
    let me = after.iter().find(|d| d.id == cid).unwrap();
    let was = devices_before.iter().find(|d| d.id == cid).unwrap();
    assert_eq!(me.public_key, was.public_key);
    assert_eq!(me.role, Role::Coordinator);
    assert!(!me.revoked);
}

/// Attack 6: References must exist, days be event days, check-ins arrive
/// unannulled and fields stay within their bounds.
async fn references_and_sizes(b: Backend) {
    let Some(Scene {
        server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let before = server_changes(&coord).await.len();
    coord.desk.sync_once().await.unwrap();
    let digest = coord.digest();
    let door = v.location("Вход A");
    let person = some_attendee(&v);

    let e = envelope(
        &v,
        Change::CheckIn(checkin(
            &v,
            Some(checkin_core::model::new_id(chrono::Utc::now())),
            door,
        )),
    );
    assert_eq!(
        push_signed(&server, &v, e).await,
        conflict("unknown_reference"),
        "unknown attendee"
    );
    let e = envelope(
        &v,
        Change::CheckIn(checkin(
            &v,
            Some(person),
            checkin_core::model::new_id(chrono::Utc::now()),
        )),
    );
    assert_eq!(
        push_signed(&server, &v, e).await,
        conflict("unknown_reference"),
        "unknown location"
    );
    let mut c = checkin(&v, Some(person), door);
    c.day = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
    assert_eq!(
        push_signed(&server, &v, envelope(&v, Change::CheckIn(c))).await,
        bad("bad_day")
    );
    let mut c = checkin(&v, Some(person), door);
    c.annulled_by = Some(new_id_by(id_of(&v), v.now()));
    assert_eq!(
        push_signed(&server, &v, envelope(&v, Change::CheckIn(c))).await,
        bad("bad_request"),
        "annulled_by preset"
    );
    // 7 MB in one field: under the 8 MiB body limit, over the payload bound.
    let big = envelope(&v, Change::Scan(scan(&v, door, "x".repeat(7_000_000))));
    assert_eq!(
        push_signed(&server, &v, big).await,
        bad("too_long"),
        "a 7 MB payload"
    );
    // 9 MB: over the body limit.
    let huge = envelope(&v, Change::Scan(scan(&v, door, "x".repeat(9_000_000))));
    assert_eq!(
        push_signed(&server, &v, huge).await,
        (413, "too_large".into()),
        "a 9 MB body"
    );
    // The kiosks' exit PIN: a volunteer may not set it, and a coordinator's
    // change carrying a PIN in clear (not an Argon2id hash) is refused.
    let pin = |hash: &str| {
        Change::KioskPin(checkin_core::change::KioskPin {
            hash: hash.into(),
            at_ms: 0,
        })
    };
    assert_eq!(
        push_signed(
            &server,
            &v,
            envelope(&v, pin("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$AAAA"))
        )
        .await,
        forbidden("forbidden"),
        "a volunteer's kiosk PIN"
    );
    assert_eq!(
        push_signed(&server, &coord, envelope(&coord, pin("1234"))).await,
        bad("bad_request"),
        "a PIN in clear"
    );
    // A reprint whose reason is over its bound.
    let print = Change::BadgePrinted(checkin_core::store::changes::BadgePrint {
        id: new_id_by(id_of(&v), v.now()),
        device_id: id_of(&v),
        at_ms: 0,
        layout: "a6".into(),
        badges: vec![checkin_core::store::changes::PrintedBadge {
            attendee_id: person,
            issue: 0,
        }],
        reason: Some("потерян ".repeat(100)),
    });
    assert_eq!(
        push_signed(&server, &v, envelope(&v, print)).await,
        bad("too_long"),
        "a reprint reason of 800 characters"
    );
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");
    coord.desk.sync_once().await.unwrap();
    assert_eq!(coord.digest(), digest, "the coordinator sees nothing new");
    assert!(coord.store().checkins_of(person).unwrap().is_empty());

    // The same check-in, well made, is taken.
    let ok = envelope(&v, Change::CheckIn(checkin(&v, Some(person), door)));
    assert_eq!(push_signed(&server, &v, ok).await, accepted());
}

/// Attack 7: A hub relays changes one by one: a revoked desk's change made after
/// its revocation is refused and counted, a change signed by one desk in
/// another's name is refused, the good ones are stored.
async fn relay_refuses_one_by_one(b: Backend) {
    let Some(Scene {
        server: _server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let vid = id_of(&v);
    let event_id = coord.desk.pairing.event_id;
    let zone = v.location("Остров 2");
    // Made (and signed) while the desk was trusted, relayed later.
    let mut earlier = envelope(&v, Change::CheckIn(checkin(&v, None, zone)));
    earlier.hlc.ms -= 60_000;
    v.store().sign_as_this_desk(&mut earlier);
    coord.desk.revoke_device(vid, "ноутбук украден").await.unwrap();
    coord.desk.sync_once().await.unwrap();
    let before = server_changes(&coord).await.len();
    let refused_before = refused_count(&coord, vid).await;

    let mut good = envelope(&coord, Change::CheckIn(checkin(&coord, None, zone)));
    coord.store().sign_as_this_desk(&mut good);
    let mut late = envelope(&v, Change::CheckIn(checkin(&v, None, zone)));
    late.hlc.ms += 1_000;
    v.store().sign_as_this_desk(&mut late);
    // The volunteer's key signing a change in the coordinator's name.
    let mut forged = envelope(&coord, Change::CheckIn(checkin(&coord, None, zone)));
    v.store().sign_as_this_desk(&mut forged);

    let answer = coord
        .desk
        .client
        .relay(
            event_id,
            vec![good.clone(), late.clone(), forged.clone(), earlier.clone()],
        )
        .await
        .expect("a relay is answered change by change");
    assert_eq!(answer.accepted, 2, "{answer:?}");
    let codes: Vec<(Uuid, &str)> = answer.refused.iter().map(|r| (r.id, r.code.as_str())).collect();
    assert_eq!(
        codes,
        vec![(late.id, "device_revoked"), (forged.id, "bad_signature")],
        "{answer:?}"
    );
    let stored = server_changes(&coord).await;
    assert_eq!(stored.len(), before + 2);
    assert!(stored.iter().any(|e| e.id == good.id));
    assert!(stored.iter().any(|e| e.id == earlier.id));
    assert!(!stored.iter().any(|e| e.id == late.id || e.id == forged.id));
    assert!(
        refused_count(&coord, vid).await > refused_before,
        "the revoked desk's refusal is counted"
    );
}

/// Attack 8: Every refused claim is counted against the desk that pushed it, and
/// the coordinator sees the count; honest desks stay at zero.
async fn audit_counts_refusals(b: Backend) {
    let Some(Scene {
        server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let vid = id_of(&v);
    assert_eq!(refused_count(&coord, vid).await, 0);
    let door = v.location("Вход A");
    let person = some_attendee(&v);
    let cid = id_of(&coord);

    let mut c = checkin(&v, Some(person), door);
    c.device_id = cid;
    assert_eq!(
        push_signed(&server, &v, envelope(&v, Change::CheckIn(c))).await,
        forbidden("not_the_author")
    );
    let mut ahead = envelope(&v, Change::Scan(scan(&v, door, "x".into())));
    ahead.hlc.ms += 3_600_000;
    assert_eq!(push_signed(&server, &v, ahead).await, conflict("clock_ahead"));
    let e = envelope(
        &v,
        Change::CheckIn(checkin(
            &v,
            Some(checkin_core::model::new_id(chrono::Utc::now())),
            door,
        )),
    );
    assert_eq!(push_signed(&server, &v, e).await, conflict("unknown_reference"));
    let revoke = Change::DeviceRevoked {
        device_id: cid,
        reason: "попытка".into(),
        at_ms: 0,
    };
    assert_eq!(
        push_signed(&server, &v, envelope(&v, revoke)).await,
        forbidden("forbidden")
    );
    // A change not signed at all.
    let unsigned = envelope(&v, Change::Scan(scan(&v, door, "x".into())));
    let body = push_body(v.desk.pairing.event_id, serde_json::json!([unsigned]));
    assert_eq!(
        post_raw(&server, &v, "/v1/push", body).await,
        forbidden("bad_signature")
    );

    let devices = coord.desk.client.devices().await.unwrap();
    let attacker = devices.iter().find(|d| d.id == vid).unwrap();
    assert_eq!(attacker.refused, 5, "{attacker:?}");
    let me = devices.iter().find(|d| d.id == cid).unwrap();
    assert_eq!(me.refused, 0, "the coordinator is not blamed");
    // The attacker's own honest sync still works.
    v.desk.sync_once().await.unwrap();
}

/// A participant's proposal (`proposal`, `proposal_edit`, `island_topics`):
/// a volunteer desk may write none; a host writes proposals only at islands
/// and may not set topics; an edit of a proposal the server does not hold
/// is refused; a revoked host's new proposal is refused; the honest host's
/// proposal and edit are stored and reach the coordinator.
async fn proposals_by_role(b: Backend) {
    use checkin_core::model::{
        IslandTopics, Proposal, ProposalAuthor, ProposalEdit, ProposalPatch, ProposalStatus,
    };
    let Some(Scene {
        server,
        coord,
        volunteer: v,
    }) = scene(b, 10).await
    else {
        return;
    };
    let host = TestDesk::join(&coord, &server.url, Role::Host, "Остров 1", TestClock::default()).await;
    coord.desk.sync_once().await.unwrap();
    let island = host.location("Остров 1");
    let entrance = host.location("Вход A");
    let person = some_attendee(&host);
    let proposal = |desk: &TestDesk, island_id: Uuid| {
        let me = id_of(desk);
        Proposal {
            id: new_id_by(me, desk.now()),
            island_id,
            author: ProposalAuthor {
                attendee_id: Some(person),
                ..ProposalAuthor::default()
            },
            title: "Волонтёрские центры".into(),
            text: "В каждом районе".into(),
            topics: vec![],
            consent: true,
            status: ProposalStatus::New,
            status_by: None,
            status_at_ms: None,
            device_id: me,
            at_ms: desk.now().timestamp_millis(),
        }
    };
    let before = server_changes(&coord).await.len();

    let e = envelope(&v, Change::Proposal(proposal(&v, island)));
    assert_eq!(
        push_signed(&server, &v, e).await,
        forbidden("forbidden"),
        "a volunteer's proposal"
    );
    let e = envelope(&host, Change::Proposal(proposal(&host, entrance)));
    assert_eq!(
        push_signed(&server, &host, e).await,
        bad("bad_request"),
        "at an entrance"
    );
    let mut shortlisted = proposal(&host, island);
    shortlisted.status = ProposalStatus::Shortlisted;
    let e = envelope(&host, Change::Proposal(shortlisted));
    assert_eq!(
        push_signed(&server, &host, e).await,
        bad("bad_request"),
        "created shortlisted"
    );
    let mut long = proposal(&host, island);
    long.text = "я".repeat(10_001);
    let e = envelope(&host, Change::Proposal(long));
    assert_eq!(
        push_signed(&server, &host, e).await,
        bad("too_long"),
        "10,001 characters"
    );
    let topics = Change::IslandTopics(IslandTopics {
        island_id: island,
        topics: vec!["Город".into()],
    });
    assert_eq!(
        push_signed(&server, &host, envelope(&host, topics)).await,
        forbidden("forbidden"),
        "a host's topics"
    );
    let edit = |id: Uuid| {
        Change::ProposalEdit(ProposalEdit {
            id,
            patch: ProposalPatch {
                status: Some(ProposalStatus::Shortlisted),
                ..ProposalPatch::default()
            },
        })
    };
    let ghost = new_id_by(id_of(&host), host.now());
    assert_eq!(
        push_signed(&server, &host, envelope(&host, edit(ghost))).await,
        conflict("unknown_reference"),
        "an edit of no proposal"
    );
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");

    // The honest host: a proposal, then an edit; the coordinator gets both.
    let ok = proposal(&host, island);
    assert_eq!(
        push_signed(&server, &host, envelope(&host, Change::Proposal(ok.clone()))).await,
        accepted()
    );
    assert_eq!(
        push_signed(&server, &host, envelope(&host, edit(ok.id))).await,
        accepted()
    );
    // A volunteer may not edit it either.
    assert_eq!(
        push_signed(&server, &v, envelope(&v, edit(ok.id))).await,
        forbidden("forbidden"),
        "a volunteer's edit"
    );
    coord.desk.sync_once().await.unwrap();
    let seen = coord
        .store()
        .proposal(ok.id)
        .unwrap()
        .expect("the coordinator holds it");
    assert_eq!(seen.status, ProposalStatus::Shortlisted);
    assert_eq!(seen.status_by, Some(id_of(&host)));
    // The server's statistics count it (one, shortlisted, at its island).
    let day = host.store().day_of(host.now()).unwrap().to_string();
    let stats = coord
        .desk
        .client
        .stats(coord.desk.pairing.event_id, Some(&day))
        .await
        .unwrap();
    let p = &stats.days[0].proposals;
    assert_eq!(p.total, 1, "{p:?}");
    assert_eq!(
        p.islands.iter().find(|i| i.location_id == island).unwrap().total,
        1
    );
    assert_eq!(p.statuses[1].count, 1, "shortlisted");

    // Revoked: the host's next proposal is refused.
    coord
        .desk
        .revoke_device(id_of(&host), "ноутбук украден")
        .await
        .unwrap();
    let mut late = envelope(&host, Change::Proposal(proposal(&host, island)));
    late.hlc.ms += 1_000;
    assert_eq!(
        push_signed(&server, &host, late).await.1,
        "device_revoked",
        "a revoked host's proposal"
    );
}
