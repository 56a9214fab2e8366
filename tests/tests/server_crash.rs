//! The server is killed with SIGKILL while desks push, and started again on
//! the same address: every change a desk recorded reaches the server exactly
//! once, with no help from anyone. On SQLite and on PostgreSQL (a fresh
//! database on `CHECKIN_TEST_PG`; skipped without it).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use checkin_core::model::Direction;
use checkin_core::store::changes::Change;
use checkin_sync::protocol::Role;
use checkin_tests::{TestClock, TestDesk, pg_test_database};

#[allow(clippy::zombie_processes)] // the caller kills and waits for it
fn start(db: &str, addr: &str) -> (Child, String, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_checkin-test-server"))
        .arg(db)
        .arg(addr)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut bootstrap = None;
    loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(code) = line.strip_prefix("BOOTSTRAP ") {
            bootstrap = Some(code.to_string());
        }
        if let Some(url) = line.strip_prefix("READY ") {
            return (child, url.to_string(), bootstrap);
        }
    }
}

fn kill_9(child: &mut Child) {
    let ok = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_server_killed_during_pushes_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    killed_during_pushes(db.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_server_killed_during_pushes_loses_and_duplicates_nothing() {
    let Some(url) = pg_test_database().await else {
        return;
    };
    killed_during_pushes(&url).await;
}

/// `db`: the server's SQLite file or PostgreSQL URL, kept across restarts.
async fn killed_during_pushes(db: &str) {
    let (mut server, url, code) = start(db, "127.0.0.1:0");
    let addr = url.trim_start_matches("http://").to_string();
    let coord = TestDesk::coordinator_with_code(&url, &code.unwrap(), 20, TestClock::default()).await;
    let desks = [
        TestDesk::join(&coord, &url, Role::Host, "Остров 1", TestClock::default()).await,
        TestDesk::join(&coord, &url, Role::Host, "Остров 2", TestClock::default()).await,
    ];
    const PER_DESK: usize = 2500;
    let t0 = Instant::now();
    for d in &desks {
        let zone = d.location("Остров 1");
        for _ in 0..PER_DESK {
            d.store().count_anonymous(zone, Direction::In, d.now()).unwrap();
        }
    }
    eprintln!("recorded in {:?}", t0.elapsed());
    // Both desks push (1,000 changes per request) and retry until done.
    let pushers: Vec<_> = desks
        .iter()
        .map(|d| {
            let desk = d.via(&url);
            tokio::spawn(async move {
                let mut failures = 0;
                loop {
                    match desk.push_outbox().await {
                        Ok(_) => return failures,
                        Err(_) => {
                            failures += 1;
                            tokio::time::sleep(Duration::from_millis(30)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut kills = 0;
    let waiting = || -> u64 {
        desks
            .iter()
            .map(|d| d.store().outbox_status().unwrap().waiting)
            .sum()
    };
    for delay in [40u64, 120, 60] {
        // Kill while pushes flow: the first kill once a push has gone
        // through (each desk signs its changes before it sends, which takes
        // a while on a busy machine), the next ones once the server, back,
        // took one again. A fixed delay from the start could fall before
        // the first request.
        let before = waiting();
        let until = Instant::now() + Duration::from_secs(30);
        while waiting() == before && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if waiting() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        kill_9(&mut server);
        kills += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        server = start(db, &addr).0;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failures = 0;
    for p in pushers {
        let left = deadline.saturating_duration_since(Instant::now());
        failures += tokio::time::timeout(left, p)
            .await
            .expect("pushes finish")
            .unwrap();
    }
    eprintln!("pushed in {:?}", t0.elapsed());
    eprintln!("{kills} kills, {failures} failed pushes retried");
    assert!(
        failures > 0,
        "the kills never hit a push: the test proved nothing"
    );
    for d in &desks {
        assert_eq!(d.store().outbox_status().unwrap().waiting, 0);
    }
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let page = coord
            .desk
            .client
            .pull(coord.desk.pairing.event_id, after, 5000)
            .await
            .unwrap();
        ids.extend(page.changes.iter().filter_map(|c| match &c.change {
            Change::CheckIn(ci) => Some(ci.id),
            _ => None,
        }));
        after = page.cursor;
        if !page.more {
            break;
        }
    }
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), 2 * PER_DESK, "every recorded count on the server");
    assert_eq!(unique.len(), ids.len(), "exactly once");
    kill_9(&mut server);
}
