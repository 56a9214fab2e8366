//! Sync integration tests: real servers on 127.0.0.1:0 (SQLite and
//! PostgreSQL, the same suite), real desk clients with their own databases.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use checkin_core::engine::Verdict;
use checkin_core::model::{Direction, Method};
use checkin_core::store::changes::{Change, ChangeEnvelope};
use checkin_sync::client::{Connection, SyncError};
use checkin_sync::protocol::{PROTOCOL_VERSION, PullResponse, Role};
use checkin_tests::proxy::Proxy;
use checkin_tests::{Backend, TestClock, TestDesk, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

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
    pairing_roles_and_revoked_devices,
    live_check_in_reaches_the_other_desk,
    two_offline_desks_admit_one_badge,
    retry_after_a_lost_acknowledgement,
    garbage_and_oversized_bodies_change_nothing,
    clock_skew_of_two_hours,
    faulty_network_loses_and_duplicates_nothing,
    random_interleavings_converge,
    server_statistics_match_a_synced_desk,
);

/// Every change the server holds for the event, in order.
async fn server_changes(desk: &TestDesk) -> Vec<checkin_core::store::changes::ChangeEnvelope> {
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

fn token_of(desk: &TestDesk, name: &str) -> (uuid::Uuid, String) {
    let s = desk.store();
    let (a, _) = s.search(name, 1).unwrap().into_iter().next().expect("person");
    (a.id, s.badge_token(a.id).unwrap())
}

fn refused_code(e: SyncError) -> (u16, String) {
    match e {
        SyncError::Refused { status, code, .. } => (status, code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn pairing_roles_and_revoked_devices(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 20).await;
    // The bootstrap code works once.
    let dir = tempfile::tempdir().unwrap();
    let other =
        checkin_core::store::Store::open_local(&dir.path().join("x.db"), "x", chrono::Utc::now()).unwrap();
    let other = std::sync::Mutex::new(other);
    let e = checkin_sync::client::pair_desk(&other, &server.url, &server.bootstrap)
        .await
        .unwrap_err();
    assert_eq!(
        refused_code(e),
        (403, "invalid_code".into()),
        "a used code is refused"
    );

    let vol = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 1",
        TestClock::default(),
    )
    .await;
    let host = TestDesk::join(&coord, &server.url, Role::Host, "Остров 1", TestClock::default()).await;
    assert_eq!(vol.store().event().unwrap().id, coord.desk.pairing.event_id);
    assert_eq!(vol.store().attendee_count().unwrap(), 20);

    // Only coordinators pair desks and see devices.
    for d in [&vol, &host] {
        let e = d
            .desk
            .client
            .create_pairing_code(&checkin_sync::protocol::PairingCodeRequest {
                event_id: d.desk.pairing.event_id,
                role: Role::Coordinator,
                ttl_minutes: None,
                device_id: None,
            })
            .await
            .unwrap_err();
        assert_eq!(refused_code(e), (403, "forbidden".into()));
        assert_eq!(
            refused_code(d.desk.client.devices().await.unwrap_err()),
            (403, "forbidden".into())
        );
    }
    let devices = coord.desk.client.devices().await.unwrap();
    let names: HashSet<_> = devices.iter().map(|d| d.name.as_str()).collect();
    assert!(
        names.contains("Стойка 1") && names.contains("Остров 1"),
        "{names:?}"
    );

    // A volunteer may not revoke people; a host may not edit attendees.
    let before = server_changes(&coord).await.len();
    let (anna, _) = token_of(&coord, "Чупшева");
    vol.store().set_revoked(anna, true, "test", vol.now()).unwrap();
    let (status, code) = refused_code(vol.desk.push_outbox().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let mut a = host.store().attendee(anna).unwrap().unwrap();
    a.organization = Some("changed by a host".into());
    host.store().save_attendee(a, host.now()).unwrap();
    assert_eq!(refused_code(host.desk.push_outbox().await.unwrap_err()).0, 403);
    assert_eq!(
        server_changes(&coord).await.len(),
        before,
        "a refused push stores nothing"
    );

    // No token, or a made-up one: 401 with the error shape.
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/v1/pull?event={}",
            server.url, coord.desk.pairing.event_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let r = http
        .get(format!(
            "{}/v1/pull?event={}",
            server.url, coord.desk.pairing.event_id
        ))
        .bearer_auth("AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A revoked desk is refused at once, and its live stream is cut.
    let vol2 = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 2",
        TestClock::default(),
    )
    .await;
    let vol2_id = vol2.store().device().id;
    let handle = checkin_sync::spawn(vol2.via(&server.url)).unwrap();
    let mut status = handle.status.clone();
    wait_for(&mut status, |s| s.connection == Connection::Online).await;
    coord.desk.client.revoke_device(vol2_id).await.unwrap();
    assert_eq!(
        refused_code(vol2.desk.pull_all().await.unwrap_err()),
        (403, "device_revoked".into())
    );
    wait_for(&mut status, |s| s.connection == Connection::Refused).await;
    handle.shutdown().await;

    // The OpenAPI document lists every route.
    let doc: serde_json::Value = http
        .get(format!("{}/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/health",
        "/v1/pair",
        "/v1/pairing-codes",
        "/v1/devices",
        "/v1/devices/{id}/revoke",
        "/v1/push",
        "/v1/pull",
        "/v1/live",
        "/v1/stats",
        "/v1/relay",
        "/v1/device-records",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi.json lacks {path}");
    }
}

async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<checkin_sync::SyncStatus>,
    f: impl Fn(&checkin_sync::SyncStatus) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f(&rx.borrow_and_update()) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "status never matched: {:?}", *rx.borrow());
        let _ = tokio::time::timeout(left, rx.changed()).await;
    }
}

async fn live_check_in_reaches_the_other_desk(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 50).await;
    let d1 = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 1",
        TestClock::default(),
    )
    .await;
    let d2 = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 2",
        TestClock::default(),
    )
    .await;
    let h1 = checkin_sync::spawn(d1.via(&server.url)).unwrap();
    let h2 = checkin_sync::spawn(d2.via(&server.url)).unwrap();
    for h in [&h1, &h2] {
        wait_for(&mut h.status.clone(), |s| s.connection == Connection::Online).await;
    }
    let door = d1.location("Вход A");
    let mut delays = Vec::new();
    let mut heard = h2.desk.subscribe_received();
    for name in ["Чупшева", "Смирнов", "Кузнецов", "John Smith"] {
        let (id, token) = token_of(&coord, name);
        let start = Instant::now();
        let out = d1.store().scan(&token, door, Direction::In, d1.now()).unwrap();
        assert_eq!(out.verdict.name(), "admitted");
        h1.kick();
        // The moment desk 2 hears of it (it may not have written it yet).
        loop {
            let batch = tokio::time::timeout(Duration::from_secs(5), heard.recv())
                .await
                .unwrap_or_else(|_| panic!("desk 2 never heard of {name}"))
                .unwrap();
            if batch
                .iter()
                .any(|c| matches!(&c.change, Change::CheckIn(ci) if ci.attendee_id == Some(id)))
            {
                break;
            }
        }
        delays.push(start.elapsed());
        // The same badge at desk 2 is already checked in, by desk 1.
        let again = d2.store().scan(&token, door, Direction::In, d2.now()).unwrap();
        match again.verdict {
            Verdict::AlreadyCheckedIn { first, .. } => assert_eq!(first.device_name, "Стойка 1"),
            v => panic!("expected already_checked_in, got {v:?}"),
        }
    }
    // Everything heard is written soon after, and nothing stays staged.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !checkin_core::store::inbox::lock(&d2.store().inbox()).is_empty() {
        assert!(Instant::now() < deadline, "desk 2 never wrote what it heard");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for name in ["Чупшева", "Смирнов", "Кузнецов", "John Smith"] {
        let (id, _) = token_of(&coord, name);
        let n = d2.store().checkins_of(id).unwrap().len();
        assert_eq!(
            n, 1,
            "{name}: desk 1's check-in is in desk 2's database, desk 2's refusal recorded none"
        );
    }
    let worst = delays.iter().max().unwrap();
    eprintln!("live delivery desk 1 → desk 2: {delays:?}");
    assert!(
        *worst < Duration::from_secs(1),
        "a check-in took {worst:?} to reach the other desk"
    );
    h1.shutdown().await;
    h2.shutdown().await;
}

async fn two_offline_desks_admit_one_badge(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 30).await;
    let d1 = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 1",
        TestClock::default(),
    )
    .await;
    let d2 = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 2",
        TestClock::default(),
    )
    .await;
    let (anna, token) = token_of(&coord, "Чупшева");
    // Both offline: both admit, both keep the record.
    let o1 = d1
        .store()
        .scan(&token, d1.location("Вход A"), Direction::In, d1.now())
        .unwrap();
    let o2 = d2
        .store()
        .scan(&token, d2.location("Вход B"), Direction::In, d2.now())
        .unwrap();
    assert_eq!((o1.verdict.name(), o2.verdict.name()), ("admitted", "admitted"));
    for d in [&d1, &d2, &coord, &d1] {
        d.desk.sync_once().await.unwrap();
    }
    for d in [&d1, &d2, &coord] {
        let s = d.store();
        let day = s.day_of(d.now()).unwrap();
        let dups = s.duplicates_on(day).unwrap();
        assert_eq!(dups.len(), 1, "one duplicate");
        assert_eq!(dups[0].attendee_id, anna);
        assert_eq!(dups[0].admissions.len(), 2);
        let c = s.counters(d.now()).unwrap();
        assert_eq!(c.checked_in, 1, "counted once");
        assert_eq!(c.duplicates, 1);
        drop(s);
    }
    assert_eq!(d1.digest(), d2.digest());
    assert_eq!(d1.digest(), coord.digest());
    // The first admission is the same everywhere.
    let first = |d: &TestDesk| {
        let s = d.store();
        let day = s.day_of(d.now()).unwrap();
        s.duplicates_on(day).unwrap()[0].admissions[0].checkin_id
    };
    assert_eq!(first(&d1), first(&d2));
}

async fn retry_after_a_lost_acknowledgement(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 10).await;
    let d = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 1",
        TestClock::default(),
    )
    .await;
    let zone = d.location("Остров 1");
    for _ in 0..5 {
        d.store().count_anonymous(zone, Direction::In, d.now()).unwrap();
    }
    let batch: Vec<_> = d
        .store()
        .outbox(100)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert!(batch.len() >= 5);
    let first = d
        .desk
        .client
        .push(d.desk.pairing.event_id, batch.clone())
        .await
        .unwrap();
    assert_eq!((first.accepted, first.duplicates), (batch.len(), 0));
    // The reply was "lost": the desk sends the same batch again.
    let retry = d
        .desk
        .client
        .push(d.desk.pairing.event_id, batch.clone())
        .await
        .unwrap();
    assert_eq!((retry.accepted, retry.duplicates), (0, batch.len()));
    let on_server = server_changes(&coord).await;
    let checkins = on_server
        .iter()
        .filter(|c| matches!(c.change, Change::CheckIn(_)) && c.device_id == d.store().device().id)
        .count();
    assert_eq!(checkins, 5);
    let ids: HashSet<_> = on_server.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), on_server.len(), "no change id twice");
}

async fn garbage_and_oversized_bodies_change_nothing(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 10).await;
    let d = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Стойка 1",
        TestClock::default(),
    )
    .await;
    let before = server_changes(&coord).await.len();
    let http = reqwest::Client::new();
    let token = d.desk.pairing.token.clone();
    let push = |body: Vec<u8>| {
        http.post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let expect = async |r: reqwest::Response, status: u16, code: &str| {
        assert_eq!(r.status().as_u16(), status);
        let body: serde_json::Value = r.json().await.expect("a JSON error body");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    };
    expect(
        push(b"not json at all".to_vec()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    expect(
        push(vec![0xff, 0xfe, 0x00, 0x13]).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    expect(
        push(format!(r#"{{"protocol":{PROTOCOL_VERSION},"event_id":"nope","changes":[]}}"#).into_bytes())
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;
    // The server answers 413 without reading the body and closes the
    // connection: send it on a client of its own so the next request does
    // not land on that closing connection (hyper: IncompleteMessage).
    let oversized = reqwest::Client::new()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 9 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    expect(oversized, 413, "too_large").await;
    let event_id = d.desk.pairing.event_id;
    let wrong_version = serde_json::json!({"protocol": 99, "event_id": event_id, "changes": []});
    expect(
        push(serde_json::to_vec(&wrong_version).unwrap()).await.unwrap(),
        400,
        "protocol_version",
    )
    .await;
    // Gzip bodies: a damaged one, one that unpacks past the limit, an
    // encoding the server does not speak; then a good one.
    let gzip = |bytes: &[u8]| {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    };
    let push_encoded = |encoding: &'static str, body: Vec<u8>| {
        http.post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(body)
            .send()
    };
    expect(
        push_encoded("gzip", b"\x1f\x8b broken".to_vec()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    let bomb = gzip(&vec![b' '; 9 * 1024 * 1024]);
    assert!(bomb.len() < 100_000);
    expect(push_encoded("gzip", bomb).await.unwrap(), 413, "too_large").await;
    expect(
        push_encoded("br", b"{}".to_vec()).await.unwrap(),
        415,
        "unsupported_encoding",
    )
    .await;
    let empty = serde_json::json!({"protocol": PROTOCOL_VERSION, "event_id": event_id, "changes": []});
    let r = push_encoded("gzip", gzip(&serde_json::to_vec(&empty).unwrap()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    // A good change next to a forged one (made by another device): nothing stored.
    d.store()
        .count_anonymous(d.location("Остров 2"), Direction::In, d.now())
        .unwrap();
    let mut batch: Vec<_> = d
        .store()
        .outbox(10)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let mut forged = batch[0].clone();
    forged.id = checkin_core::model::new_id(d.now());
    forged.device_id = coord.store().device().id;
    batch.push(forged);
    let body = serde_json::json!({"protocol": PROTOCOL_VERSION, "event_id": event_id, "changes": batch});
    expect(
        push(serde_json::to_vec(&body).unwrap()).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    let r = http
        .get(format!("{}/v1/pull?event=garbage", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect(r, 400, "bad_request").await;
    assert_eq!(server_changes(&coord).await.len(), before, "nothing stored");
    // The desk itself still syncs fine afterwards.
    d.desk.sync_once().await.unwrap();
    assert_eq!(d.store().outbox_status().unwrap().waiting, 0);
}

async fn clock_skew_of_two_hours(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 10).await;
    let two_h = 2 * 3600 * 1000;
    let ahead = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Спешит",
        TestClock::skewed(two_h),
    )
    .await;
    let behind = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Отстаёт",
        TestClock::skewed(-two_h),
    )
    .await;
    // After one sync both desks know the server's time.
    for d in [&ahead, &behind] {
        let err = (d.now() - chrono::Utc::now()).num_milliseconds().abs();
        assert!(err < 2000, "{} ms off after sync", err);
    }
    let (anna, token) = token_of(&coord, "Чупшева");
    // Two rounds, each desk edits last once: the later edit (in real time) wins everywhere.
    for (first, second, expected) in [(&ahead, &behind, "Отстаёт"), (&behind, &ahead, "Спешит")]
    {
        for (d, org) in [(first, "first"), (second, "second")] {
            let mut a = d.store().attendee(anna).unwrap().unwrap();
            a.organization = Some(format!("{org} {}", d.store().device().name));
            d.store().save_attendee(a, d.now()).unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        for d in [first, second, &coord, first] {
            d.desk.sync_once().await.unwrap();
        }
        for d in [&ahead, &behind, &coord] {
            let org = d.store().attendee(anna).unwrap().unwrap().organization.unwrap();
            assert_eq!(org, format!("second {expected}"));
        }
    }
    // A check-in from the fast desk carries the real time.
    let out = ahead
        .store()
        .scan(&token, ahead.location("Вход A"), Direction::In, ahead.now())
        .unwrap();
    assert_eq!(out.verdict.name(), "admitted");
    let c = ahead.store().checkins_of(anna).unwrap().pop().unwrap();
    assert!((c.at - chrono::Utc::now()).num_seconds().abs() < 5);
    assert_eq!(ahead.digest(), {
        for d in [&ahead, &behind, &coord, &ahead] {
            d.desk.sync_once().await.unwrap();
        }
        behind.digest()
    });
}

async fn faulty_network_loses_and_duplicates_nothing(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 200).await;
    let proxy = Proxy::start(&server.url).await;
    let mut desks = Vec::new();
    for i in 0..3 {
        desks.push(
            TestDesk::join(
                &coord,
                &server.url,
                Role::Volunteer,
                &format!("Стойка {i}"),
                TestClock::default(),
            )
            .await,
        );
    }
    let faults = &proxy.faults;
    faults
        .drop_permille
        .store(200, std::sync::atomic::Ordering::Relaxed);
    faults
        .cut_permille
        .store(300, std::sync::atomic::Ordering::Relaxed);
    faults
        .max_delay_ms
        .store(20, std::sync::atomic::Ordering::Relaxed);
    // Clients keep connections alive, so few new ones may open: cut the
    // first two for sure, the rest at random.
    faults.cut_next.store(2, std::sync::atomic::Ordering::Relaxed);
    let handles: Vec<_> = desks
        .iter()
        .map(|d| checkin_sync::spawn(d.via(&proxy.url)).unwrap())
        .collect();
    let people = coord.store().attendees().unwrap();
    let mut admitted = 0;
    for round in 0..40 {
        for (i, d) in desks.iter().enumerate() {
            let a = &people[round * 3 + i];
            let out = d
                .store()
                .check_in_attendee(a.id, d.location("Вход A"), Direction::In, Method::Search, d.now())
                .unwrap();
            if out.verdict.name() == "admitted" {
                admitted += 1;
            }
            handles[i].kick();
        }
        if round == 20 {
            // The network goes down entirely for a while.
            faults.down.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if round == 28 {
            faults.down.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    assert_eq!(admitted, 120);
    faults.calm();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let waiting: u64 = desks
            .iter()
            .map(|d| d.store().outbox_status().unwrap().waiting)
            .sum();
        if waiting == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{waiting} changes never uploaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for h in handles {
        h.shutdown().await;
    }
    let on_server = server_changes(&coord).await;
    let checkins: Vec<_> = on_server
        .iter()
        .filter_map(|c| match &c.change {
            Change::CheckIn(ci) => Some(ci.id),
            _ => None,
        })
        .collect();
    let unique: HashSet<_> = checkins.iter().collect();
    assert_eq!(checkins.len(), 120, "every acknowledged check-in on the server");
    assert_eq!(unique.len(), 120, "exactly once");
    for d in desks.iter().chain([&coord]) {
        d.desk.sync_once().await.unwrap();
    }
    let digest = coord.digest();
    for d in &desks {
        assert_eq!(d.digest(), digest, "desk converged");
    }
    eprintln!(
        "proxy faults: {} connections refused, {} replies cut",
        faults.drops.load(std::sync::atomic::Ordering::Relaxed),
        faults.cuts.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(faults.cuts.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

/// One step of a random interleaving. Desks: 0 the coordinator, 1 and 2
/// volunteers, 3 an island host.
#[derive(Debug, Clone)]
enum Op {
    Scan {
        desk: usize,
        person: usize,
    },
    Zone {
        desk: usize,
        person: usize,
    },
    UndoLast {
        desk: usize,
    },
    /// An edit on the coordinator or a volunteer desk (hosts do not edit).
    Edit {
        desk: usize,
        person: usize,
        org: u8,
    },
    Revoke {
        person: usize,
        revoked: bool,
    },
    Sync {
        desk: usize,
    },
    /// A hostile desk (0: a volunteer, 1: an island host; both paired as
    /// honest ones are, with their own token and key) pushes one change it
    /// signs itself, so the signature is good and the claims check is what
    /// must refuse it.
    Hostile {
        desk: usize,
        attack: Attack,
        person: usize,
    },
}

/// What a hostile desk tries. Each is one push (or, for `AlteredRelay`,
/// one relay) the server must refuse whole.
#[derive(Debug, Clone, Copy)]
enum Attack {
    /// A check-in naming an honest desk's device id in its data.
    ForeignDevice { victim: usize },
    /// A change stamped `minutes` (an hour or more) ahead.
    ClockAhead { minutes: i64 },
    /// The id of an honest desk's change read from the server's log (or,
    /// `inner`, the id of an honest check-in inside it) for its own.
    ReusedId { pick: usize, inner: bool },
    /// A check-in at an entrance, always by the hostile island host.
    HostAtEntrance,
    /// An annulment of a check-in nobody made.
    UnknownAnnulment,
    /// A check-in `days` before the first (negative) or after the last
    /// event day.
    BadDay { days: i64 },
    /// An honest desk's signed change from the server's log, altered (`how`:
    /// its clock, a byte of its signature, its HLC counter) and handed to
    /// `/v1/relay` with a coordinator's token, as a rogue hub would.
    AlteredRelay { pick: usize, how: u8 },
}

fn attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        (0..4usize).prop_map(|victim| Attack::ForeignDevice { victim }),
        (60..2_880i64).prop_map(|minutes| Attack::ClockAhead { minutes }),
        (any::<usize>(), any::<bool>()).prop_map(|(pick, inner)| Attack::ReusedId { pick, inner }),
        Just(Attack::HostAtEntrance),
        Just(Attack::UnknownAnnulment),
        prop_oneof![-1_000..0i64, 1..1_000i64].prop_map(|days| Attack::BadDay { days }),
        (any::<usize>(), 0..3u8).prop_map(|(pick, how)| Attack::AlteredRelay { pick, how }),
    ]
}

const PEOPLE: usize = 8;

fn op() -> impl Strategy<Value = Op> {
    let desk = 0..4usize;
    let person = 0..PEOPLE;
    prop_oneof![
        3 => (desk.clone(), person.clone()).prop_map(|(desk, person)| Op::Scan { desk, person }),
        1 => (desk.clone(), person.clone()).prop_map(|(desk, person)| Op::Zone { desk, person }),
        1 => desk.clone().prop_map(|desk| Op::UndoLast { desk }),
        1 => (0..3usize, person.clone(), any::<u8>())
            .prop_map(|(desk, person, org)| Op::Edit { desk, person, org }),
        1 => (person.clone(), any::<bool>()).prop_map(|(person, revoked)| Op::Revoke { person, revoked }),
        3 => desk.prop_map(|desk| Op::Sync { desk }),
        1 => (0..2usize, attack(), person)
            .prop_map(|(desk, attack, person)| Op::Hostile { desk, attack, person }),
    ]
}

/// Random plans of up to 60 steps, shrunk to a minimal failing plan. Cases:
/// 6, or `CHECKIN_CONVERGENCE_CASES`.
async fn random_interleavings_converge(b: Backend) {
    if b == Backend::Postgres && checkin_tests::pg_admin_url().is_none() {
        eprintln!("SKIPPED: PostgreSQL tests need CHECKIN_TEST_PG=postgres://…");
        return;
    }
    let cases: u32 = std::env::var("CHECKIN_CONVERGENCE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    let plans = proptest::collection::vec(op(), 1..60);
    let result =
        tokio::task::block_in_place(|| runner.run(&plans, |plan| handle.block_on(converges(b, plan))));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, plan)) => {
            panic!("desks diverged: {why}\nsmallest failing plan: {plan:#?}")
        }
        Err(e) => panic!("{e}"),
    }
}

/// Runs `plan` on a fresh server with four honest desks (and up to two
/// hostile ones, paired when the plan first uses them), syncs every honest
/// desk twice and checks that every honest desk holds the same state and the
/// same counts, that every honest change is on the server, and that every
/// hostile attempt was refused, counted against its desk and reached no one.
async fn converges(b: Backend, plan: Vec<Op>) -> Result<(), TestCaseError> {
    let server = TestServer::start(b).await.expect("the backend was checked");
    let coord = TestDesk::coordinator(&server, PEOPLE).await;
    let mut desks = vec![];
    for i in 0..3 {
        let role = if i == 2 { Role::Host } else { Role::Volunteer };
        desks.push(TestDesk::join(&coord, &server.url, role, &format!("D{i}"), TestClock::default()).await);
    }
    let all: Vec<&TestDesk> = std::iter::once(&coord).chain(desks.iter()).collect();
    let honest: Vec<uuid::Uuid> = all.iter().map(|d| d.store().device().id).collect();
    let people = coord.store().attendees().unwrap();
    // Every change an honest desk made: what its outbox holds before each sync.
    let mut made: HashSet<uuid::Uuid> = HashSet::new();
    let mut hostile: [Option<TestDesk>; 2] = [None, None];
    // Direct pushes refused, per hostile desk; altered relays refused, per
    // honest author named in them.
    let mut pushes = [0u64; 2];
    let mut relayed: std::collections::HashMap<uuid::Uuid, u64> = Default::default();
    // Every hostile attempt, to look for on the server afterwards.
    let mut attempts: Vec<ChangeEnvelope> = vec![];
    for op in &plan {
        match op.clone() {
            Op::Scan { desk, person } if desk != 3 => {
                let d = all[desk];
                let token = coord.store().badge_token(people[person].id).unwrap();
                d.store()
                    .scan(&token, d.location("Вход A"), Direction::In, d.now())
                    .unwrap();
            }
            Op::Scan { desk, person } | Op::Zone { desk, person } => {
                let d = all[desk];
                let token = coord.store().badge_token(people[person].id).unwrap();
                d.store()
                    .scan(&token, d.location("Остров 1"), Direction::In, d.now())
                    .unwrap();
            }
            Op::UndoLast { desk } => {
                let d = all[desk];
                let last = d.store().last_checkin().unwrap();
                if let Some(c) = last {
                    d.store().annul(c.id, "проба", d.now()).unwrap();
                }
            }
            Op::Edit { desk, person, org } => {
                let d = all[desk];
                let mut a = d.store().attendee(people[person].id).unwrap().unwrap();
                a.organization = Some(format!("org {org}"));
                d.store().save_attendee(a, d.now()).unwrap();
            }
            Op::Revoke { person, revoked } => {
                coord
                    .store()
                    .set_revoked(people[person].id, revoked, "проба", coord.now())
                    .unwrap();
            }
            Op::Sync { desk } => {
                sync_tracked(all[desk], &mut made).await;
            }
            Op::Hostile {
                desk,
                attack: Attack::AlteredRelay { pick, how },
                ..
            } => {
                // Not a push of the hostile desk: a coordinator's token
                // relays it, as a rogue hub would.
                let _ = desk;
                let log = server_changes(&coord).await;
                let theirs: Vec<_> = log.iter().filter(|e| honest.contains(&e.device_id)).collect();
                let mut forged = theirs[pick % theirs.len()].clone();
                match how {
                    0 => forged.hlc.ms -= 1,
                    1 => {
                        let mut sig = forged.sig.take().expect("a stored change is signed").into_bytes();
                        sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
                        forged.sig = Some(String::from_utf8(sig).unwrap());
                    }
                    _ => forged.hlc.counter += 1,
                }
                let answer = coord
                    .desk
                    .client
                    .relay(coord.desk.pairing.event_id, vec![forged.clone()])
                    .await
                    .expect("a relay is answered change by change");
                let codes: Vec<_> = answer.refused.iter().map(|r| (r.id, r.code.as_str())).collect();
                prop_assert_eq!(answer.accepted, 0, "altered relay taken: {:?}", answer);
                prop_assert_eq!(
                    codes,
                    vec![(forged.id, "bad_signature")],
                    "altered relay ({}): {:?}",
                    how,
                    answer
                );
                *relayed.entry(forged.device_id).or_default() += 1;
                attempts.push(forged);
            }
            Op::Hostile { desk, attack, person } => {
                // The island host is the one that tries an entrance.
                let desk = if matches!(attack, Attack::HostAtEntrance) {
                    1
                } else {
                    desk
                };
                if hostile[desk].is_none() {
                    let (role, name) = [(Role::Volunteer, "H0"), (Role::Host, "H1")][desk];
                    hostile[desk] =
                        Some(TestDesk::join(&coord, &server.url, role, name, TestClock::default()).await);
                }
                let h = hostile[desk].as_ref().unwrap();
                let me = h.store().device().id;
                let place = if desk == 1 && !matches!(attack, Attack::HostAtEntrance) {
                    "Остров 1"
                } else {
                    "Вход A"
                };
                let mut c = own_checkin(h, people[person].id, h.location(place));
                let expected: (u16, &str) = match attack {
                    Attack::ForeignDevice { victim } => {
                        c.device_id = honest[victim];
                        (403, "not_the_author")
                    }
                    Attack::ClockAhead { .. } => (409, "clock_ahead"),
                    Attack::ReusedId { .. } => (403, "id_not_yours"),
                    Attack::HostAtEntrance => (403, "forbidden"),
                    Attack::UnknownAnnulment => (409, "unknown_reference"),
                    Attack::BadDay { days } => {
                        let event_days = h.store().event().unwrap().days.clone();
                        let (first, last) = (event_days[0], *event_days.last().unwrap());
                        c.day = if days < 0 { first } else { last } + chrono::Duration::days(days);
                        (400, "bad_day")
                    }
                    Attack::AlteredRelay { .. } => unreachable!(),
                };
                let mut env = envelope_by(h, Change::CheckIn(c));
                match attack {
                    Attack::ClockAhead { minutes } => env.hlc.ms += minutes * 60_000,
                    Attack::ReusedId { pick, inner } => {
                        let log = server_changes(h).await;
                        let theirs: Vec<_> = log.iter().filter(|e| honest.contains(&e.device_id)).collect();
                        let checkins: Vec<uuid::Uuid> = theirs
                            .iter()
                            .filter_map(|e| match &e.change {
                                Change::CheckIn(c) => Some(c.id),
                                _ => None,
                            })
                            .collect();
                        match (&mut env.change, inner && !checkins.is_empty()) {
                            (Change::CheckIn(c), true) => c.id = checkins[pick % checkins.len()],
                            _ => env.id = theirs[pick % theirs.len()].id,
                        }
                    }
                    Attack::UnknownAnnulment => {
                        let now = h.now();
                        env.change = Change::Annulment(checkin_core::change::Annulment {
                            id: checkin_core::model::new_id_by(me, now),
                            checkin_id: checkin_core::model::new_id_by(me, now),
                            reason: "проба".into(),
                            device_id: me,
                            at_ms: now.timestamp_millis(),
                        });
                    }
                    _ => {}
                }
                h.store().sign_as_this_desk(&mut env);
                let got = push_raw(&server, h, &env).await;
                prop_assert!(
                    (400..500).contains(&got.0),
                    "hostile push {:?} by H{} answered {:?}",
                    attack,
                    desk,
                    got
                );
                prop_assert_eq!(
                    (got.0, got.1.as_str()),
                    expected,
                    "hostile push {:?} by H{}",
                    attack,
                    desk
                );
                pushes[desk] += 1;
                attempts.push(env);
            }
        }
    }
    for _ in 0..2 {
        for d in &all {
            sync_tracked(d, &mut made).await;
        }
    }
    let digest = coord.digest();
    for (i, d) in desks.iter().enumerate() {
        prop_assert_eq!(
            d.digest(),
            digest.clone(),
            "desk {} differs from the coordinator",
            i + 1
        );
    }
    // Counters agree too: every count counts a person once.
    let counts: Vec<_> = all
        .iter()
        .map(|d| d.store().counters(d.now()).unwrap().checked_in)
        .collect();
    prop_assert!(
        counts.windows(2).all(|w| w[0] == w[1]),
        "checked-in counts {:?}",
        counts
    );
    // No honest change lost: every one is on the server, none waits.
    let on_server = server_changes(&coord).await;
    let stored: HashSet<uuid::Uuid> = on_server.iter().map(|e| e.id).collect();
    let lost: Vec<_> = made.iter().filter(|id| !stored.contains(id)).collect();
    prop_assert!(lost.is_empty(), "honest changes not on the server: {:?}", lost);
    for (i, d) in all.iter().enumerate() {
        prop_assert_eq!(
            d.store().outbox_status().unwrap().waiting,
            0,
            "desk {} has changes waiting",
            i
        );
        // The server refused every forged change, so no honest desk ever
        // received one to refuse.
        let refused = d.store().refused_changes().unwrap();
        prop_assert!(refused.is_empty(), "desk {} refused {:?}", i, refused);
    }
    // Nothing hostile was stored: no stored change is an attempted one
    // (signature included: an altered relay may differ only there).
    let attempted: HashSet<String> = attempts
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    for e in &on_server {
        let key = serde_json::to_string(e).unwrap();
        prop_assert!(!attempted.contains(&key), "a hostile change was stored: {:?}", e);
    }
    // Each refusal counted against the desk answerable for it: the desk
    // that pushed a forged claim; for an altered relay (not what its named
    // author signed) the hub that relayed it, here the coordinator's desk,
    // never the honest author it names (docs/security.md, "Audit").
    let devices = coord.desk.client.devices().await.unwrap();
    let refused_of = |id: uuid::Uuid| devices.iter().find(|d| d.id == id).map(|d| d.refused);
    for (i, h) in hostile.iter().enumerate() {
        if let Some(h) = h {
            let id = h.store().device().id;
            prop_assert_eq!(refused_of(id), Some(pushes[i]), "refusals counted against H{}", i);
        }
    }
    let relays: u64 = relayed.values().sum();
    let coord_id = coord.store().device().id;
    for (i, id) in honest.iter().enumerate() {
        prop_assert_eq!(
            refused_of(*id),
            Some(if *id == coord_id { relays } else { 0 }),
            "refusals counted against honest desk {}",
            i
        );
    }
    Ok(())
}

/// Sync an honest desk, noting first every change it is about to push.
async fn sync_tracked(d: &TestDesk, made: &mut HashSet<uuid::Uuid>) {
    made.extend(d.store().outbox(100_000).unwrap().into_iter().map(|(_, e)| e.id));
    d.desk.sync_once().await.unwrap();
}

/// A check-in `desk` could honestly make now: its own id, device and day.
fn own_checkin(
    desk: &TestDesk,
    attendee: uuid::Uuid,
    location_id: uuid::Uuid,
) -> checkin_core::model::CheckIn {
    let me = desk.store().device().id;
    let now = desk.now();
    let day = desk.store().day_of(now).unwrap();
    checkin_core::model::CheckIn {
        id: checkin_core::model::new_id_by(me, now),
        attendee_id: Some(attendee),
        location_id,
        device_id: me,
        direction: Direction::In,
        method: Method::Search,
        at: now,
        day,
        annulled_by: None,
    }
}

/// An unsigned change by `desk`, with an id made for it and its clock.
fn envelope_by(desk: &TestDesk, change: Change) -> ChangeEnvelope {
    let me = desk.store().device().id;
    let now = desk.now();
    ChangeEnvelope {
        id: checkin_core::model::new_id_by(me, now),
        event_id: desk.desk.pairing.event_id,
        hlc: checkin_core::hlc::Hlc {
            ms: now.timestamp_millis(),
            counter: 0,
            node: me,
        },
        device_id: me,
        change,
        sig: None,
    }
}

/// Push `env` alone, as it is, with `desk`'s token: (status, error code).
async fn push_raw(server: &TestServer, desk: &TestDesk, env: &ChangeEnvelope) -> (u16, String) {
    let body = serde_json::to_vec(&serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "event_id": desk.desk.pairing.event_id,
        "changes": [env],
    }))
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&desk.desk.pairing.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default();
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_share_one_database() {
    let Some(a) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let b = a.another_instance().await;
    let coord = TestDesk::coordinator(&a, 20).await;
    let d1 = TestDesk::join(&coord, &a.url, Role::Volunteer, "через A", TestClock::default()).await;
    let d2 = TestDesk::join(&coord, &b.url, Role::Volunteer, "через B", TestClock::default()).await;
    let h2 = checkin_sync::spawn(d2.via(&b.url)).unwrap();
    wait_for(&mut h2.status.clone(), |s| s.connection == Connection::Online).await;
    let (anna, token) = token_of(&coord, "Чупшева");
    d1.store()
        .scan(&token, d1.location("Вход A"), Direction::In, d1.now())
        .unwrap();
    let start = Instant::now();
    d1.desk.sync_once().await.unwrap();
    while d2.store().checkins_of(anna).unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "instance B never served desk 1's check-in"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("across instances: {:?}", start.elapsed());
    h2.shutdown().await;
    d2.desk.sync_once().await.unwrap();
    d1.desk.sync_once().await.unwrap();
    assert_eq!(d1.digest(), d2.digest());
}

/// `GET /v1/stats`: the server's numbers are the ones a fully synced desk
/// computes (same core code over the same log), they follow new uploads,
/// and only coordinators get them.
async fn server_statistics_match_a_synced_desk(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 30).await;
    let (vol, host) = (
        TestDesk::join(
            &coord,
            &server.url,
            Role::Volunteer,
            "Стойка 1",
            TestClock::default(),
        )
        .await,
        TestDesk::join(&coord, &server.url, Role::Host, "Остров 1", TestClock::default()).await,
    );
    let event = coord.desk.pairing.event_id;
    let e = coord.desk.client.stats(event, None).await.unwrap();
    assert_eq!(e.days.len(), 1);
    assert_eq!((e.days[0].checked_in, e.days[0].expected), (0, 30));

    // Admissions at two desks (one badge at both while offline: a
    // duplicate), island counts with a badge and anonymous.
    let (_, anna) = token_of(&coord, "Чупшева");
    let others: Vec<String> = {
        let s = coord.store();
        s.attendees()
            .unwrap()
            .iter()
            .take(3)
            .map(|a| s.badge_token(a.id).unwrap())
            .collect()
    };
    for t in others.iter().chain([&anna]) {
        let o = vol
            .store()
            .scan(t, vol.location("Вход A"), Direction::In, vol.now())
            .unwrap();
        assert!(o.verdict.is_admitted(), "{:?}", o.verdict);
    }
    coord
        .store()
        .scan(&anna, coord.location("Вход B"), Direction::In, coord.now())
        .unwrap();
    let island = host.location("Остров 1");
    host.store()
        .scan(&others[0], island, Direction::In, host.now())
        .unwrap();
    for dir in [Direction::In, Direction::In, Direction::Out] {
        host.store().count_anonymous(island, dir, host.now()).unwrap();
    }
    for d in [&vol, &host, &coord] {
        d.desk.sync_once().await.unwrap();
    }
    coord.desk.sync_once().await.unwrap();

    let day = coord.store().day_of(coord.now()).unwrap();
    let local = coord.store().stats(Some(day), coord.now()).unwrap();
    let remote = coord
        .desk
        .client
        .stats(event, Some(&day.to_string()))
        .await
        .unwrap();
    assert_eq!(remote.event_id, event);
    assert_eq!(remote.days, local.days, "the server counts as a synced desk does");
    let today = &remote.days[0];
    assert_eq!((today.checked_in, today.duplicates), (4, 1));
    let zone = today.zones.iter().find(|z| z.name == "Остров 1").unwrap();
    assert_eq!(
        (zone.unique_visitors, zone.anonymous_in, zone.anonymous_out),
        (1, 2, 1)
    );
    assert_eq!(zone.occupancy_now, 2);

    // A new upload is in the next answer (incremental).
    {
        let mut s = vol.store();
        let last = s.last_checkin().unwrap().expect("Anna's admission at desk 1");
        s.annul(last.id, "wrong person", vol.now()).unwrap();
    }
    vol.desk.sync_once().await.unwrap();
    let all = coord.desk.client.stats(event, Some("all")).await.unwrap();
    let today = all.days.iter().find(|d| d.day == day).unwrap();
    assert_eq!(
        (today.checked_in, today.duplicates),
        (4, 0),
        "Anna stays admitted by the coordinator desk; no duplicate left"
    );

    // Only coordinators; clear 4xx for nonsense.
    assert_eq!(
        refused_code(vol.desk.client.stats(event, None).await.unwrap_err()),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused_code(
            coord
                .desk
                .client
                .stats(event, Some("yesterday"))
                .await
                .unwrap_err()
        ),
        (400, "bad_request".into())
    );
    assert_eq!(
        refused_code(
            coord
                .desk
                .client
                .stats(uuid::Uuid::nil(), None)
                .await
                .unwrap_err()
        )
        .0,
        403
    );
}
