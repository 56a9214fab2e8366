//! Walk-in badges at volunteer desks, through a real server (SQLite and
//! PostgreSQL): a volunteer desk makes its own badge key when it joins,
//! registers a walk-in and prints the badge; another desk admits it. A
//! revoked desk's badges are refused, except those it logged as printed;
//! the server takes a desk key only from the desk it belongs to.

use checkin_core::badge;
use checkin_core::model::{Attendee, Direction, new_id};
use checkin_core::store::changes::{Change, ChangeEnvelope, PrintedBadge};
use checkin_pdf::Layout;
use checkin_sync::protocol::{PROTOCOL_VERSION, Role};
use checkin_tests::{Backend, TestClock, TestDesk, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    walk_in_badges_from_a_volunteer_desk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    walk_in_badges_from_a_volunteer_desk(Backend::Postgres).await;
}

/// Registers a walk-in at `desk`, signs the badge with the desk's key and,
/// when `printed`, logs it as printed (as the app does once CUPS took it).
fn walk_in(desk: &TestDesk, name: &str, printed: bool) -> String {
    let now = desk.now();
    let mut s = desk.store();
    let a = s
        .save_attendee(
            Attendee {
                full_name: name.into(),
                category: "participant".into(),
                ..Attendee::default()
            },
            now,
        )
        .unwrap();
    let token = s.badge_token(a.id).expect("the volunteer desk signs");
    if printed {
        s.record_printed(
            &[PrintedBadge {
                attendee_id: a.id,
                issue: a.badge_issue,
            }],
            Layout::A6,
            now,
        )
        .unwrap();
    }
    token
}

fn verdict(desk: &TestDesk, token: &str, location: &str) -> (String, String) {
    let out = desk
        .store()
        .scan(token, desk.location(location), Direction::In, desk.now())
        .unwrap();
    (out.verdict.name().to_string(), out.reason)
}

async fn walk_in_badges_from_a_volunteer_desk(b: Backend) {
    let Some(server) = TestServer::start(b).await else {
        return;
    };
    let coord = TestDesk::coordinator(&server, 10).await;
    let volunteer = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Вход A, стойка 2",
        TestClock::default(),
    )
    .await;
    let host = TestDesk::join(&coord, &server.url, Role::Host, "Остров 1", TestClock::default()).await;
    // Joining gave the volunteer desk a key of its own; hosts do not print.
    assert!(volunteer.store().can_issue_badges());
    assert!(!host.store().can_issue_badges());

    let printed = walk_in(&volunteer, "Печатнова Ольга", true);
    let unlogged = walk_in(&volunteer, "Лесная Мария", false);
    let key_id = badge::decode(&printed).unwrap().claims.key_id;
    assert!(badge::DEVICE_KEY_IDS.contains(&key_id), "key id {key_id}");
    volunteer.desk.sync_once().await.unwrap();

    // Another entrance desk that joins now admits the walk-in by name.
    let other = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Вход B",
        TestClock::default(),
    )
    .await;
    let out = other
        .store()
        .scan(&printed, other.location("Вход B"), Direction::In, other.now())
        .unwrap();
    match &out.verdict {
        checkin_core::engine::Verdict::Admitted {
            attendee: Some(a), ..
        } => assert_eq!(a.full_name, "Печатнова Ольга"),
        v => panic!("{v:?}: {}", out.reason),
    }

    // The server takes a desk key only from its own desk, with its proof,
    // and from roles that print.
    refused_pushes(&server, &coord, &volunteer, &host).await;

    // The coordinator revokes the volunteer desk: cut off at the server, and
    // its unlogged badges refused everywhere once the revocation syncs.
    let volunteer_id = volunteer.store().device().id;
    coord
        .desk
        .revoke_device(volunteer_id, "ноутбук украден")
        .await
        .unwrap();
    assert!(
        volunteer.desk.sync_once().await.is_err(),
        "a revoked desk is cut off"
    );
    host.desk.sync_once().await.unwrap();
    let (v, reason) = verdict(&host, &unlogged, "Остров 1");
    assert_eq!(v, "revoked", "{reason}");
    assert!(
        reason.contains("Вход A, стойка 2") && reason.contains("ноутбук украден"),
        "{reason}"
    );
    // What it printed and logged before it was revoked still gets in.
    let (v, reason) = verdict(&host, &printed, "Остров 1");
    assert_eq!(v, "admitted", "{reason}");
    coord.desk.sync_once().await.unwrap();
    let (v, _) = verdict(&coord, &unlogged, "Вход A");
    assert_eq!(v, "revoked");
}

/// Pushes the server must refuse, each stored nowhere.
async fn refused_pushes(server: &TestServer, coord: &TestDesk, volunteer: &TestDesk, host: &TestDesk) {
    let event_id = coord.desk.pairing.event_id;
    let published: ChangeEnvelope = {
        let mut after = 0;
        let mut found = None;
        loop {
            let page = coord.desk.client.pull(event_id, after, 5000).await.unwrap();
            let vid = volunteer.store().device().id;
            found = found.or_else(|| {
                page.changes
                    .iter()
                    .find(|c| c.device_id == vid && matches!(c.change, Change::DeviceKey(_)))
                    .cloned()
            });
            after = page.cursor;
            if !page.more {
                break;
            }
        }
        found.expect("the volunteer's key is on the server")
    };
    let Change::DeviceKey(key) = &published.change else {
        unreachable!()
    };
    let http = reqwest::Client::new();
    // Each hostile change is signed by the desk that pushes it, with ids
    // made for the author it names: what the claims check sees is the claim.
    let push = async |desk: &TestDesk, mut change: ChangeEnvelope| {
        desk.store().sign_as_this_desk(&mut change);
        let body =
            serde_json::json!({"protocol": PROTOCOL_VERSION, "event_id": event_id, "changes": [change]});
        let r = http
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&desk.desk.pairing.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        (status, body["error"]["code"].as_str().unwrap_or("").to_string())
    };
    let fresh = |mut env: ChangeEnvelope, device: uuid::Uuid, change: Change| {
        env.id = checkin_core::model::new_id_by(device, coord.now());
        env.device_id = device;
        env.change = change;
        env
    };
    let vid = volunteer.store().device().id;
    let hid = host.store().device().id;
    let cid = coord.store().device().id;
    // The volunteer republishes its key as the coordinator's.
    let mut theirs = key.clone();
    theirs.device_id = cid;
    assert_eq!(
        push(
            volunteer,
            fresh(published.clone(), vid, Change::DeviceKey(theirs))
        )
        .await,
        (403, "not_the_author".into())
    );
    // Its own key with a proof that does not verify.
    let mut unproven = key.clone();
    unproven.proof = "00".repeat(64);
    assert_eq!(
        push(
            volunteer,
            fresh(published.clone(), vid, Change::DeviceKey(unproven))
        )
        .await,
        (400, "bad_key".into())
    );
    // A host desk with a well-made key of its own: hosts do not print.
    let (secret, public) = badge::generate_keypair().unwrap();
    let host_key = checkin_core::store::changes::DeviceKey {
        device_id: hid,
        key_id: 200,
        public_key: data_hex(&public),
        proof: data_hex(&badge::device_key_proof(&secret, event_id, hid, 200)),
    };
    assert_eq!(
        push(host, fresh(published.clone(), hid, Change::DeviceKey(host_key))).await,
        (403, "forbidden".into())
    );
    // A print logged in another desk's name (the print log vouches for
    // badges of revoked desks).
    let print = Change::BadgePrinted(checkin_core::store::changes::BadgePrint {
        id: new_id(coord.now()),
        device_id: cid,
        at_ms: 0,
        layout: "a6".into(),
        badges: vec![],
        reason: None,
    });
    assert_eq!(
        push(volunteer, fresh(published.clone(), vid, print)).await,
        (403, "not_the_author".into())
    );
    // Only a coordinator revokes desks.
    let revoke = Change::DeviceRevoked {
        device_id: cid,
        reason: "попытка".into(),
        at_ms: 0,
    };
    assert_eq!(
        push(volunteer, fresh(published.clone(), vid, revoke)).await,
        (403, "forbidden".into())
    );
}

fn data_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
