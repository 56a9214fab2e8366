//! The hall hub: a real central server and a real hub on 127.0.0.1:0, the
//! internet between them (and between desks and the server) a fault proxy
//! that can go down, real desks with their own databases and background
//! sync tasks choosing by themselves between hub, server and offline.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use checkin_core::model::Direction;
use checkin_core::store::changes::{Change, ChangeEnvelope};
use checkin_server::hub::Upstream;
use checkin_sync::client::{Route, SyncError};
use checkin_sync::protocol::{PullResponse, Role};
use checkin_sync::{Connection, SyncHandle};
use checkin_tests::proxy::Proxy;
use checkin_tests::{Backend, TestClock, TestDesk, TestHub, TestServer, wait_status};

/// Every change the central server holds for the event, in order.
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

fn token_of(desk: &TestDesk, name: &str) -> (uuid::Uuid, String) {
    let s = desk.store();
    let (a, _) = s.search(name, 1).unwrap().into_iter().next().expect("person");
    (a.id, s.badge_token(a.id).unwrap())
}

/// A desk's background sync through `internet` (its central-server
/// address), with `hub` as its hand-given hub address.
fn start_desk(d: &TestDesk, internet: &str, hub: Option<&str>) -> SyncHandle {
    let desk = d.via(internet);
    desk.hubs.set_manual(hub.map(str::to_string));
    checkin_sync::spawn(desk).unwrap()
}

async fn on_route(h: &SyncHandle, route: Route) {
    wait_status(&mut h.status.clone(), |s| {
        s.connection == Connection::Online && s.route == route
    })
    .await;
}

/// The world of one test: server, the internet as a proxy, coordinator,
/// a second coordinator desk that runs the hub, and the hub.
struct Hall {
    _server: TestServer,
    internet: Proxy,
    coord: TestDesk,
    hub_desk: TestDesk,
    hub: Option<TestHub>,
    dir: tempfile::TempDir,
}

impl Hall {
    async fn new(attendees: usize) -> Hall {
        let server = TestServer::start(Backend::Sqlite).await.unwrap();
        let internet = Proxy::start(&server.url).await;
        let coord = TestDesk::coordinator(&server, attendees).await;
        let hub_desk = TestDesk::join(
            &coord,
            &server.url,
            Role::Coordinator,
            "Хаб зала",
            TestClock::default(),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        Hall {
            _server: server,
            internet,
            coord,
            hub_desk,
            hub: None,
            dir,
        }
    }

    async fn join(&self, role: Role, name: &str) -> TestDesk {
        TestDesk::join(
            &self.coord,
            &self.coord.desk.pairing.server,
            role,
            name,
            TestClock::default(),
        )
        .await
    }

    /// Start the hub (on `listen`) and wait until it talked to the server.
    async fn start_hub(&mut self, listen: &str, db: &str) -> String {
        let mut hub = TestHub::start(
            &self.hub_desk,
            &self.internet.url,
            &self.dir.path().join(db),
            listen,
        )
        .await;
        if !self
            .internet
            .faults
            .down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            hub.wait_upstream(Upstream::Online).await;
        }
        let url = hub.url.clone();
        self.hub = Some(hub);
        url
    }

    fn internet_down(&self, down: bool) {
        self.internet.faults.set_down(down);
    }
}

async fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

fn checkin_id(o: &checkin_core::engine::ScanOutcome) -> Option<uuid::Uuid> {
    match &o.verdict {
        checkin_core::engine::Verdict::Admitted { checkin_id, .. } => Some(*checkin_id),
        _ => None,
    }
}

fn has_duplicate(d: &TestDesk, who: uuid::Uuid) -> bool {
    let s = d.store();
    let day = s.day_of(d.now()).unwrap();
    s.duplicates_on(day).unwrap().iter().any(|x| x.attendee_id == who)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn desks_sync_through_the_hub_while_the_internet_is_down() {
    let mut hall = Hall::new(120).await;
    let d1 = hall.join(Role::Volunteer, "Вход A, стойка 1").await;
    let d2 = hall.join(Role::Volunteer, "Вход B, стойка 2").await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub.db").await;
    let h1 = start_desk(&d1, &hall.internet.url, Some(&hub_url));
    let h2 = start_desk(&d2, &hall.internet.url, Some(&hub_url));
    on_route(&h1, Route::Hub).await;
    on_route(&h2, Route::Hub).await;
    assert_eq!(h1.status.borrow().server, hub_url, "the status names the hub");

    hall.internet_down(true);
    hall.hub.as_mut().unwrap().wait_upstream(Upstream::Offline).await;

    // The same badge at two desks within a second: both admit (no desk
    // waits for anyone), and both know it is a duplicate within a second.
    let (anna, token) = token_of(&hall.coord, "Чупшева");
    let o1 = d1
        .store()
        .scan(&token, d1.location("Вход A"), Direction::In, d1.now())
        .unwrap();
    let o2 = d2
        .store()
        .scan(&token, d2.location("Вход B"), Direction::In, d2.now())
        .unwrap();
    h1.kick();
    h2.kick();
    assert_eq!((o1.verdict.name(), o2.verdict.name()), ("admitted", "admitted"));
    let t = wait_until(
        "duplicate seen at both desks via the hub",
        Duration::from_secs(1),
        || has_duplicate(&d1, anna) && has_duplicate(&d2, anna),
    )
    .await;
    eprintln!("cross-desk duplicate seen at both desks after {t:?} (internet down, via the hub)");

    // Then the two desks admit each their own people, offline from the
    // internet, live through the hub.
    let people = hall.coord.store().attendees().unwrap();
    let mut acknowledged = HashSet::new();
    for (i, a) in people.iter().enumerate().skip(1).take(60) {
        let (d, h) = if i % 2 == 0 { (&d1, &h1) } else { (&d2, &h2) };
        let out = d
            .store()
            .check_in_attendee(
                a.id,
                d.location("Вход A"),
                Direction::In,
                checkin_core::model::Method::Search,
                d.now(),
            )
            .unwrap();
        if let Some(c) = checkin_id(&out) {
            acknowledged.insert(c);
        }
        h.kick();
    }
    wait_until("both desks know everything", Duration::from_secs(10), || {
        d1.digest() == d2.digest()
    })
    .await;
    for h in [&h1, &h2] {
        assert_eq!(h.status.borrow().route, Route::Hub, "still on the hub");
    }
    let before = server_changes(&hall.coord).await.len();

    // The internet comes back: the hub relays, the server has every
    // check-in exactly once.
    hall.internet_down(false);
    hall.hub.as_mut().unwrap().wait_upstream(Upstream::Online).await;
    let expected = acknowledged.len() + 2;
    let deadline = Instant::now() + Duration::from_secs(20);
    let on_server = loop {
        let all = server_changes(&hall.coord).await;
        let n = all
            .iter()
            .filter(|c| matches!(c.change, Change::CheckIn(_)))
            .count();
        if n >= expected {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "server has {n} of {expected} check-ins"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(on_server.len() > before);
    let ids: Vec<_> = on_server.iter().map(|c| c.id).collect();
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no change twice on the server");
    let checkins: HashSet<_> = on_server
        .iter()
        .filter_map(|c| match &c.change {
            Change::CheckIn(ci) => Some(ci.id),
            _ => None,
        })
        .collect();
    assert_eq!(checkins.len(), expected, "exactly the desks' check-ins");
    assert!(acknowledged.is_subset(&checkins), "every acknowledged check-in");
    h1.shutdown().await;
    h2.shutdown().await;
    // Desks that never talked to the server themselves converge with it.
    hall.coord.desk.sync_once().await.unwrap();
    assert_eq!(d1.digest(), hall.coord.digest());
    assert!(
        has_duplicate(&hall.coord, anna),
        "the server's desks see the duplicate too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_hub_dies_desks_go_to_the_server_and_come_back() {
    let mut hall = Hall::new(60).await;
    let d1 = hall.join(Role::Volunteer, "Стойка 1").await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub.db").await;
    let addr = hall.hub.as_ref().unwrap().addr();
    let h1 = start_desk(&d1, &hall.internet.url, Some(&hub_url));
    on_route(&h1, Route::Hub).await;
    let people = hall.coord.store().attendees().unwrap();
    let admit = |i: usize| {
        let out = d1
            .store()
            .check_in_attendee(
                people[i].id,
                d1.location("Вход A"),
                Direction::In,
                checkin_core::model::Method::Search,
                d1.now(),
            )
            .unwrap();
        checkin_id(&out).unwrap()
    };
    let first = admit(0);
    h1.kick();

    // The hub dies (its runtime is dropped: every socket closes at once).
    let t0 = Instant::now();
    hall.hub.take().unwrap().kill();
    on_route(&h1, Route::Server).await;
    eprintln!("desk on the central server {:?} after the hub died", t0.elapsed());
    assert_eq!(h1.status.borrow().server, hall.internet.url);
    let second = admit(1);
    h1.kick();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids: HashSet<uuid::Uuid> = server_changes(&hall.coord)
            .await
            .iter()
            .filter_map(|x| match &x.change {
                Change::CheckIn(ci) => Some(ci.id),
                _ => None,
            })
            .collect();
        if ids.contains(&first) && ids.contains(&second) {
            break;
        }
        assert!(Instant::now() < deadline, "check-ins never reached the server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The hub comes back on the same address, with the internet down: it
    // still knows the desk (device records on disk) and the desk returns.
    hall.internet_down(true);
    let back = hall.start_hub(&addr, "hub.db").await;
    assert_eq!(back, hub_url);
    let t1 = Instant::now();
    on_route(&h1, Route::Hub).await;
    eprintln!("desk back on the hub {:?} after it restarted", t1.elapsed());
    admit(2);
    h1.kick();
    wait_until("desk uploaded to the hub", Duration::from_secs(5), || {
        d1.store().outbox_status().unwrap().waiting == 0
    })
    .await;
    h1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_desk_is_refused_by_the_hub_after_it_syncs() {
    let mut hall = Hall::new(20).await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub.db").await;
    let d = hall.join(Role::Volunteer, "Потерянная стойка").await;
    let internet = hall.internet.url.clone();
    let at_hub = |d: &TestDesk| {
        let link_desk = d.via(&internet);
        let hub_url = hub_url.clone();
        async move {
            let link = link_desk.hub_link(&hub_url).await.unwrap();
            link_desk.pull_all_via(&link).await
        }
    };
    // The hub learns the new desk at its next refresh (every 5 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    while at_hub(&d).await.is_err() {
        assert!(Instant::now() < deadline, "the hub never accepted the new desk");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let id = d.store().device().id;
    hall.coord.desk.client.revoke_device(id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let refused = loop {
        match at_hub(&d).await {
            Err(SyncError::Refused { status, code, .. }) => break (status, code),
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => {
                assert!(Instant::now() < deadline, "the hub still takes the revoked desk");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(refused, (403, "device_revoked".to_string()));
    // The revocation is on the hub's disk: it holds with the internet down
    // and the hub restarted.
    hall.internet_down(true);
    let addr = hall.hub.as_ref().unwrap().addr();
    hall.hub.take().unwrap().kill();
    hall.start_hub(&addr, "hub.db").await;
    assert!(matches!(
        at_hub(&d).await,
        Err(SyncError::Refused { status: 403, .. })
    ));
    // The background task shows the desk as refused, not merely offline.
    let h = start_desk(&d, &hall.internet.url, Some(&hub_url));
    wait_status(&mut h.status.clone(), |s| s.connection == Connection::Refused).await;
    h.shutdown().await;
    // A hub takes no token at all (a desk proves itself by signature), so
    // a coordinator's token shown to a hub opens nothing there.
    let fp = checkin_sync::tls::parse_fingerprint(&hall.hub.as_ref().unwrap().tls_fingerprint);
    let with_token = checkin_sync::SyncClient::pinned(&hub_url, Some(&hall.hub_desk.desk.pairing.token), fp);
    match with_token.devices().await {
        Err(SyncError::Refused {
            status: 401, code, ..
        }) => assert_eq!(code, "unauthenticated"),
        other => panic!("a hub must not take a token: {other:?}"),
    }
    // Pairing and revoking are for the central server only.
    let hub_client = hall.hub_desk.desk.hub_link(&hub_url).await.unwrap().client;
    match hub_client.revoke_device(id).await {
        Err(SyncError::Refused {
            status: 409, code, ..
        }) => assert_eq!(code, "hub"),
        other => panic!("a hub must not revoke: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moving_between_hub_and_server_skips_and_loses_nothing() {
    let mut hall = Hall::new(40).await;
    let a = hall.join(Role::Volunteer, "Всегда на сервере").await;
    let b = hall.join(Role::Volunteer, "Кочует").await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub1.db").await;
    let addr = hall.hub.as_ref().unwrap().addr();
    let bd = b.via(&hall.internet.url);
    let central = bd.central();
    // Desks learn that the hub is authorised by sync.
    bd.sync_once_via(&central).await.unwrap();
    let zone_a = a.location("Остров 1");
    let zone_b = b.location("Остров 2");
    let count = |d: &TestDesk, zone| {
        d.store().count_anonymous(zone, Direction::In, d.now()).unwrap();
    };
    // B alternates between hub and server while A and B keep counting.
    for round in 0..6 {
        for _ in 0..7 {
            count(&a, zone_a);
            count(&b, zone_b);
        }
        a.desk.sync_once().await.unwrap();
        if round % 2 == 0 {
            let link = bd.hub_link(&hub_url).await.unwrap();
            // The hub may not have A's newest changes yet; it will.
            bd.sync_once_via(&link).await.unwrap();
        } else {
            bd.sync_once_via(&central).await.unwrap();
        }
    }
    // B's last round was on the server: the server has all of B's
    // changes, however many only the hub had acknowledged before.
    // Now the hub dies for good before relaying B's newest counts, and a
    // new hub on a fresh database (a new log) takes its address.
    hall.internet_down(true);
    for _ in 0..5 {
        count(&b, zone_b);
    }
    let link = bd.hub_link(&hub_url).await.unwrap();
    bd.sync_once_via(&link).await.unwrap();
    assert_eq!(
        b.store().outbox_status().unwrap().waiting,
        0,
        "the hub acknowledged"
    );
    hall.hub.take().unwrap().kill();
    hall.internet_down(false);
    let new_url = hall.start_hub(&addr, "hub2.db").await;
    // The new hub has a key of its own: B hears of it by pulling (only
    // pulling: what only the dead hub had stays B's to re-send).
    bd.pull_all_via(&central).await.unwrap();
    let new_link = bd.hub_link(&new_url).await.unwrap();
    // On the new hub's log B starts from the beginning of that log and
    // misses none of A's changes.
    for _ in 0..3 {
        count(&a, zone_a);
    }
    a.desk.sync_once().await.unwrap();
    let zone_in = |d: &TestDesk, zone| {
        let s = d.store();
        let c = s.counters(d.now()).unwrap();
        c.locations
            .iter()
            .find(|l| l.location_id == zone)
            .unwrap()
            .anonymous_in
    };
    assert_eq!(zone_in(&a, zone_a), 6 * 7 + 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        bd.sync_once_via(&new_link).await.unwrap();
        if zone_in(&b, zone_a) == zone_in(&a, zone_a) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B on the new hub never caught up with A"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The five counts only the dead hub had reach the server when B talks
    // to it directly: B re-sends what no server acknowledged itself.
    bd.sync_once_via(&central).await.unwrap();
    a.desk.sync_once().await.unwrap();
    bd.sync_once_via(&central).await.unwrap();
    assert_eq!(a.digest(), b.digest());
    let on_server = server_changes(&hall.coord).await;
    let counts = on_server
        .iter()
        .filter(|c| matches!(c.change, Change::CheckIn(_)))
        .count();
    assert_eq!(counts, 6 * 14 + 5 + 3, "every count on the server");
    let ids: HashSet<_> = on_server.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), on_server.len(), "exactly once");
    let mine = b.store().device().id;
    let b_on_server = on_server.iter().filter(|c| c.device_id == mine).count();
    assert!(b_on_server >= 6 * 7 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_desk_finds_the_hub_by_mdns_on_loopback() {
    use checkin_sync::discovery::{HubDirectory, MdnsOptions, browse};
    let mut hall = Hall::new(10).await;
    // A port of its own and loopback only: nothing leaves this machine.
    let opts = MdnsOptions {
        port: 15353 + (std::process::id() % 1000) as u16,
        loopback_only: true,
    };
    let cfg = checkin_server::hub::HubConfig {
        upstream: hall.internet.url.clone(),
        token: hall.hub_desk.desk.pairing.token.clone(),
        upstream_fp: None,
        event_id: hall.hub_desk.desk.pairing.event_id,
        listen: "127.0.0.1:0".into(),
        data: hall.dir.path().join("hub.db"),
        public_url: None,
        mdns: Some((opts, "Зал 1".into())),
    };
    let hub = TestHub::start_with(cfg);
    hub.authorise(&hall.hub_desk, true).await;
    let dir = std::sync::Arc::new(HubDirectory::default());
    let _browser = browse(opts, hall.coord.desk.pairing.event_id, dir.clone()).unwrap();
    let t = wait_until("the hub is found", Duration::from_secs(15), || {
        dir.candidates().contains(&hub.url)
    })
    .await;
    eprintln!("hub found by mDNS in {t:?}");
    // A hub of another event is not offered.
    let other = browse(
        opts,
        uuid::Uuid::nil(),
        std::sync::Arc::new(HubDirectory::default()),
    )
    .unwrap();
    drop(other);
    hall.hub = Some(hub);
    let d = hall.join(Role::Host, "Остров").await;
    let desk = d.via(&hall.internet.url);
    for url in dir.candidates() {
        desk.hubs.found("mdns", &url);
    }
    let h = checkin_sync::spawn(desk).unwrap();
    wait_status(&mut h.status.clone(), |s| s.route == Route::Hub).await;
    h.shutdown().await;
}

/// A "hub" an attacker runs on the venue's Wi-Fi: answers `/health` as a
/// hub of the event (the event id is in every real hub's mDNS
/// announcement) and logs every request line, header and body it gets.
struct Rogue {
    url: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Rogue {
    /// `tls`: serve HTTPS with a certificate of its own (else plain HTTP);
    /// `claims_key`: the hub key it names in `/health` (a real hub's, to
    /// pass for it).
    async fn start(event_id: uuid::Uuid, claims_key: &str, tls: bool) -> Rogue {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, Uri};
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let health = serde_json::json!({
            "status": "ok", "protocol": checkin_sync::protocol::PROTOCOL_VERSION, "version": "0.1.0",
            "server_time_ms": 0, "log_id": "rogue",
            "hub": {"event_id": event_id, "upstream_online": true, "upstream_last_ms": null, "public_key": claims_key}
        });
        let l = log.clone();
        let app =
            axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let l = l.clone();
                let health = health.clone();
                async move {
                    let mut entry = format!("{method} {uri}");
                    for (k, v) in &headers {
                        entry.push_str(&format!("\n{k}: {}", v.to_str().unwrap_or("?")));
                    }
                    entry.push_str(&format!("\n\n{}", String::from_utf8_lossy(&body)));
                    l.lock().unwrap().push(entry);
                    axum::Json(health)
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = if tls {
            let id = checkin_server::tls::Identity::generate(&[]).unwrap();
            let config = id.server_config().unwrap();
            tokio::spawn(async move {
                let _ = checkin_server::serve_tls(listener, app, config).await;
            })
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        };
        let scheme = if tls { "https" } else { "http" };
        Rogue {
            url: format!("{scheme}://{addr}"),
            log,
            task,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The attack of the issue "Trust on the venue network": a rogue hub gets
/// nothing reusable, no desk applies anything it sends, desks keep syncing
/// through the real hub or the server meanwhile; and a hub the event
/// withdraws is dropped within one sync round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rogue_hub_gets_nothing_and_a_withdrawn_hub_is_dropped() {
    let mut hall = Hall::new(20).await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub.db").await;
    let d = hall.join(Role::Volunteer, "Стойка у входа").await;
    let event_id = d.desk.pairing.event_id;
    let real_key = {
        let health = checkin_sync::SyncClient::probe(
            &hub_url,
            vec![checkin_sync::tls::parse_fingerprint(&hall.hub.as_ref().unwrap().tls_fingerprint).unwrap()],
        )
        .health()
        .await
        .unwrap();
        health.hub.unwrap().public_key
    };
    // One rogue speaks plain HTTP with a key of its own; the other speaks
    // TLS and claims the real hub's key (it has not its certificate).
    let plain = Rogue::start(event_id, &"ab".repeat(32), false).await;
    let posing = Rogue::start(event_id, &real_key, true).await;
    for rogue in [&plain, &posing] {
        let e = d
            .desk
            .hub_link(&rogue.url)
            .await
            .err()
            .expect("a rogue hub is refused");
        eprintln!("{}: {e}", rogue.url);
    }
    let unknown: Vec<String> = d.desk.hubs.unknown().into_iter().map(|(u, _)| u).collect();
    assert!(
        unknown.contains(&posing.url),
        "Diagnostics lists the rogue: {unknown:?}"
    );
    // A desk that has only the rogue as its hub keeps working through the
    // central server: it admits someone, and the check-in reaches the server.
    let h = start_desk(&d, &hall.internet.url, Some(&posing.url));
    on_route(&h, Route::Server).await;
    let (person, token) = token_of(&d, "а");
    let door = d.location("Вход A");
    assert_eq!(
        d.store()
            .scan(&token, door, Direction::In, d.now())
            .unwrap()
            .verdict
            .name(),
        "admitted"
    );
    h.kick();
    wait_until("the check-in is on the server", Duration::from_secs(15), || {
        d.store().outbox_status().unwrap().waiting == 0
    })
    .await;
    assert!(
        server_changes(&hall.coord)
            .await
            .iter()
            .any(|c| matches!(&c.change, Change::CheckIn(ci) if ci.attendee_id == Some(person)))
    );
    h.shutdown().await;
    // What the rogues got: no request with a credential (the TLS handshake
    // fails before any request is sent, since neither holds a certificate a
    // coordinator published).
    let token = &d.desk.pairing.token;
    for rogue in [&plain, &posing] {
        for r in rogue.requests() {
            assert!(!r.to_ascii_lowercase().contains("authorization"), "{r}");
            assert!(!r.contains(token.as_str()), "{r}");
        }
        eprintln!("{} received {} requests", rogue.url, rogue.requests().len());
    }
    // What a desk shows the real hub is worth nothing at the central server.
    let (signer, device_id) = {
        let s = d.store();
        (s.identity_signer(), s.device().id)
    };
    let proof = checkin_sync::protocol::hub_auth_header(
        &signer,
        &checkin_sync::tls::parse_fingerprint(&real_key).unwrap(),
        event_id,
        device_id,
        chrono::Utc::now().timestamp_millis(),
    );
    let r = reqwest::Client::new()
        .get(format!("{}/v1/devices", hall.internet.url))
        .header("authorization", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The desk uses the real hub; then the coordinator withdraws it, and
    // one sync round later the desk no longer does.
    let link = d.desk.hub_link(&hub_url).await.expect("the real hub is trusted");
    // The hub hears of the new desk at its next refresh (every 5 s).
    let t = Instant::now();
    while let Err(e) = d.desk.sync_once_via(&link).await {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the hub never took the desk: {e}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    hall.hub.as_ref().unwrap().authorise(&hall.hub_desk, false).await;
    d.desk.sync_once().await.unwrap();
    let e = d
        .desk
        .hub_link(&hub_url)
        .await
        .err()
        .expect("a withdrawn hub is dropped");
    eprintln!("withdrawn: {e}");
}

/// A hub applies the same claims check as the central server (the same
/// function): a paired volunteer's forged claims pushed to the hub are
/// refused there, counted, and never reach the other desks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hub_refuses_what_the_server_would() {
    let mut hall = Hall::new(10).await;
    let hub_url = hall.start_hub("127.0.0.1:0", "hub.db").await;
    let v = hall.join(Role::Volunteer, "Любопытный волонтёр").await;
    let link = v.desk.hub_link(&hub_url).await.unwrap();
    let t = Instant::now();
    while let Err(e) = v.desk.sync_once_via(&link).await {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the hub never took the desk: {e}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let coord_id = hall.coord.store().device().id;
    let event_id = v.desk.pairing.event_id;
    // A real check-in of the volunteer's, made into claims it may not make.
    let (_, token) = token_of(&v, "а");
    let door = v.location("Вход A");
    v.store().scan(&token, door, Direction::In, v.now()).unwrap();
    let mine = v
        .store()
        .outbox(100)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .find(|e| matches!(e.change, Change::CheckIn(_)))
        .unwrap();
    let forge = |f: &dyn Fn(&mut ChangeEnvelope)| {
        let mut e = mine.clone();
        e.id = checkin_core::model::new_id_by(e.device_id, v.now());
        f(&mut e);
        v.store().sign_as_this_desk(&mut e);
        e
    };
    let as_coordinator = forge(&|e| {
        if let Change::CheckIn(c) = &mut e.change {
            c.device_id = coord_id;
        }
    });
    let ahead = forge(&|e| e.hlc.ms += 3_600_000);
    // A volunteer's desk may not take down proposals, at the hub either.
    let vid = v.store().device().id;
    let island = v.location("Остров 1");
    let proposal = forge(&|e| {
        e.change = Change::Proposal(checkin_core::model::Proposal {
            id: checkin_core::model::new_id_by(vid, v.now()),
            island_id: island,
            author: checkin_core::model::ProposalAuthor {
                name: Some("Гость".into()),
                ..Default::default()
            },
            title: "Идея".into(),
            text: String::new(),
            topics: vec![],
            consent: false,
            status: checkin_core::model::ProposalStatus::New,
            status_by: None,
            status_at_ms: None,
            device_id: vid,
            at_ms: v.now().timestamp_millis(),
        });
    });
    for (env, code) in [
        (as_coordinator, "not_the_author"),
        (ahead, "clock_ahead"),
        (proposal, "forbidden"),
    ] {
        match link.client.push(event_id, vec![env]).await {
            Err(SyncError::Refused { code: c, .. }) => assert_eq!(c, code),
            other => panic!("the hub took a forged claim: {other:?}"),
        }
    }
    // The honest check-in goes through the hub as usual.
    v.desk.sync_once_via(&link).await.unwrap();
    assert_eq!(v.store().outbox_status().unwrap().waiting, 0);
}
