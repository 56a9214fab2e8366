//! Sync benchmark (`cargo xtask bench`): a real server on loopback, real
//! HTTP clients. For each storage backend (PostgreSQL when `CHECKIN_TEST_PG`
//! is set): 50 desks push 2,000 signed check-ins each at once (throughput),
//! then 1,000 each paced at the 5,000 check-ins/s target; one more desk
//! listens live and we measure how long each check-in takes to reach it and
//! how long its own scans take meanwhile; a new desk downloads 20,000
//! attendees. `--quick` (or running under `cargo test`)
//! uses small sizes as a smoke run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkin_core::hlc::Hlc;
use checkin_core::model::{CheckIn, Device, Direction, Method, new_id};
use checkin_core::store::changes::{Change, ChangeEnvelope};
use checkin_sync::client::SyncClient;
use checkin_sync::protocol::{PairingCodeRequest, Role};
use checkin_tests::{Backend, TestClock, TestDesk, TestServer};
use chrono::Utc;
use uuid::Uuid;

struct Sizes {
    desks: usize,
    per_desk: usize,
    batch: usize,
    attendees: usize,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// What one burst measured (durations sorted).
struct Burst {
    total: usize,
    throughput: f64,
    failed: usize,
    push_lat: Vec<Duration>,
    live: Vec<Duration>,
    stored: Vec<Duration>,
    scan_lat: Vec<Duration>,
}

/// `sizes.desks` freshly paired desks push `per_desk` signed check-ins each
/// in batches of `sizes.batch`, as fast as the server takes them or, with
/// `pace`, at that many check-ins a second; one more desk listens live and
/// scans badges meanwhile.
async fn burst(
    server: &TestServer,
    coord: &TestDesk,
    people: &[Uuid],
    sizes: &Sizes,
    per_desk: usize,
    pace: Option<f64>,
) -> Burst {
    let event_id = coord.desk.pairing.event_id;
    let door = coord.location("Вход A");
    let day = coord.store().day_of(Utc::now()).unwrap();
    // The listening desk: when does each check-in arrive?
    let listener = TestDesk::join(
        coord,
        &server.url,
        Role::Volunteer,
        "Слушатель",
        TestClock::default(),
    )
    .await;
    let handle = checkin_sync::spawn(listener.via(&server.url)).unwrap();
    let mut status = handle.status.clone();
    while status.borrow_and_update().connection != checkin_sync::Connection::Online {
        status.changed().await.unwrap();
    }
    let sent: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let total = sizes.desks * per_desk;
    // Two moments per check-in: the listening desk knows it (staged in its
    // inbox, so its verdicts count it) and has written it to its database.
    let collect = |mut rx: tokio::sync::broadcast::Receiver<Vec<ChangeEnvelope>>| {
        let arrived: Arc<Mutex<Vec<(Uuid, Instant)>>> = Arc::default();
        let task = {
            let arrived = arrived.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while n < total {
                    let Ok(batch) = rx.recv().await else { break };
                    let now = Instant::now();
                    let mut a = arrived.lock().unwrap();
                    for c in batch {
                        if let Change::CheckIn(ci) = c.change {
                            a.push((ci.id, now));
                            n += 1;
                        }
                    }
                }
            })
        };
        (arrived, task)
    };
    let (known, known_task) = collect(handle.desk.subscribe_received());
    let (written, written_task) = collect(handle.desk.subscribe());

    // 50 desks, each paired for real, each with its own check-ins.
    let mut clients = Vec::new();
    for i in 0..sizes.desks {
        let code = coord
            .desk
            .client
            .create_pairing_code(&PairingCodeRequest {
                event_id,
                role: Role::Volunteer,
                ttl_minutes: None,
                device_id: None,
            })
            .await
            .unwrap();
        let device = Device {
            id: new_id(Utc::now()),
            name: format!("Стойка {i}"),
        };
        let (secret, public) = checkin_core::badge::generate_keypair().unwrap();
        let resp = SyncClient::new(&server.url, None)
            .pair(&code.code, &device, None, &public)
            .await
            .unwrap();
        let batches: Vec<Vec<ChangeEnvelope>> = (0..per_desk)
            .map(|k| {
                let now = Utc::now();
                let hlc = Hlc {
                    ms: now.timestamp_millis(),
                    counter: k as u32,
                    node: device.id,
                };
                let mut env = ChangeEnvelope {
                    sig: None,
                    id: checkin_core::model::new_id_by(device.id, now),
                    event_id,
                    hlc,
                    device_id: device.id,
                    change: Change::CheckIn(CheckIn {
                        id: checkin_core::model::new_id_by(device.id, now),
                        attendee_id: Some(people[(i * per_desk + k) % people.len()]),
                        location_id: door,
                        device_id: device.id,
                        direction: Direction::In,
                        method: Method::Scan,
                        at: now,
                        day,
                        annulled_by: None,
                    }),
                };
                env.sign(&secret);
                env
            })
            .collect::<Vec<_>>()
            .chunks(sizes.batch)
            .map(|c| c.to_vec())
            .collect();
        clients.push((SyncClient::new(&server.url, Some(&resp.token)), batches));
    }
    // Meanwhile a volunteer keeps scanning badges at the listening desk
    // (every 20 ms, durable verdicts): how long its own scans take while
    // the burst is received and written.
    let scanning = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let scanner = {
        let store = listener.store.clone();
        let tokens: Vec<String> = people
            .iter()
            .take(500)
            .map(|id| coord.store().badge_token(*id).unwrap())
            .collect();
        let scanning = scanning.clone();
        tokio::task::spawn_blocking(move || {
            let mut lat = Vec::new();
            let mut i = 0;
            while scanning.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let out =
                    store
                        .lock()
                        .unwrap()
                        .scan(&tokens[i % tokens.len()], door, Direction::In, Utc::now());
                lat.push(t.elapsed());
                assert!(out.is_ok(), "a scan failed during the burst: {out:?}");
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            lat
        })
    };
    let start = Instant::now();
    // Paced: each desk sends a batch every `every`, the desks spread evenly
    // over it, so the server is offered `pace` check-ins a second.
    let every = pace.map(|rate| Duration::from_secs_f64(sizes.desks as f64 * sizes.batch as f64 / rate));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, (client, batches))| {
            let sent = sent.clone();
            let first = every.map(|e| start + e.mul_f64(i as f64 / sizes.desks as f64));
            tokio::spawn(async move {
                let mut failed = 0;
                let mut lat = Vec::new();
                for (k, batch) in batches.into_iter().enumerate() {
                    if let (Some(first), Some(every)) = (first, every) {
                        tokio::time::sleep_until((first + every * k as u32).into()).await;
                    }
                    let t = Instant::now();
                    {
                        let mut s = sent.lock().unwrap();
                        for c in &batch {
                            if let Change::CheckIn(ci) = &c.change {
                                s.insert(ci.id, t);
                            }
                        }
                    }
                    if client.push(event_id, batch).await.is_err() {
                        failed += 1;
                    }
                    lat.push(t.elapsed());
                }
                (failed, lat)
            })
        })
        .collect();
    let mut failed = 0;
    let mut push_lat = Vec::new();
    for t in tasks {
        let (f, l) = t.await.unwrap();
        failed += f;
        push_lat.extend(l);
    }
    let push_time = start.elapsed();
    let _ = tokio::time::timeout(Duration::from_secs(30), known_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), written_task).await;
    scanning.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut scan_lat = scanner.await.unwrap();
    scan_lat.sort();
    handle.shutdown().await;
    push_lat.sort();
    let sent = sent.lock().unwrap();
    let delays = |arrived: &Mutex<Vec<(Uuid, Instant)>>| {
        let mut d: Vec<Duration> = arrived
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(id, at)| sent.get(id).map(|s| at.saturating_duration_since(*s)))
            .collect();
        d.sort();
        d
    };
    let live = delays(&known);
    let stored = delays(&written);
    Burst {
        total,
        throughput: total as f64 / push_time.as_secs_f64(),
        failed,
        push_lat,
        live,
        stored,
        scan_lat,
    }
}

async fn run(backend: Backend, sizes: &Sizes) -> Option<Vec<String>> {
    let server = TestServer::start(backend).await?;
    let build = Instant::now();
    let coord = TestDesk::coordinator(&server, sizes.attendees).await;
    let upload = build.elapsed();
    let event_id = coord.desk.pairing.event_id;
    let people: Vec<Uuid> = coord.store().attendees().unwrap().iter().map(|a| a.id).collect();

    // A new desk's first full download.
    let start = Instant::now();
    let fresh = TestDesk::join(
        &coord,
        &server.url,
        Role::Volunteer,
        "Новая стойка",
        TestClock::default(),
    )
    .await;
    let first_sync = start.elapsed();
    let raw = SyncClient::new(&server.url, Some(&fresh.desk.pairing.token));
    let start = Instant::now();
    let mut after = 0;
    let mut pulled = 0;
    loop {
        let page = raw.pull(event_id, after, 5000).await.unwrap();
        pulled += page.changes.len();
        after = page.cursor;
        if !page.more {
            break;
        }
    }
    let download = start.elapsed();

    // At full speed: what the server takes. Then paced at the target
    // (5,000 check-ins a second): how long each takes to reach a listening
    // desk when the server is not saturated.
    let full = burst(&server, &coord, &people, sizes, sizes.per_desk, None).await;
    let paced = burst(&server, &coord, &people, sizes, sizes.per_desk / 2, Some(5_000.0)).await;
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let yes = |b: bool| if b { "yes" } else { "NO" };
    Some(vec![
        format!(
            "| {name:<10} | push throughput          | {:>9.0} check-ins/s | ≥ 5,000/s           | {:<4} | signed, verified; {} desks × {} in batches of {} at full speed; {} failed requests; push p99 {}",
            full.throughput,
            yes(full.throughput >= 5000.0 && full.failed == 0),
            sizes.desks,
            sizes.per_desk,
            sizes.batch,
            full.failed,
            ms(pct(&full.push_lat, 0.99))
        ),
        format!(
            "| {name:<10} | live delivery at 5,000/s | {:>19} | p99 ≤ 1 s           | {:<4} | push sent → the listening desk's verdicts count it; {} check-ins offered at 5,000/s ({:.0}/s taken); median {}; {}/{} arrived; written to its database: p99 {}; at full speed: p99 {}, median {}, written p99 {}",
            ms(pct(&paced.live, 0.99)),
            yes(pct(&paced.live, 0.99) <= Duration::from_secs(1) && paced.live.len() == paced.total),
            paced.total,
            paced.throughput,
            ms(pct(&paced.live, 0.5)),
            paced.live.len(),
            paced.total,
            ms(pct(&paced.stored, 0.99)),
            ms(pct(&full.live, 0.99)),
            ms(pct(&full.live, 0.5)),
            ms(pct(&full.stored, 0.99)),
        ),
        format!(
            "| {name:<10} | listening desk's scans   | {:>19} | p99 ≤ 100 ms        | {:<4} | its own scans (durable verdicts, every 20 ms) while the 5,000/s burst arrives and is written; median {}, max {}, {} scans; at full speed: p99 {}, max {}",
            ms(pct(&paced.scan_lat, 0.99)),
            yes(pct(&paced.scan_lat, 0.99) <= Duration::from_millis(100)),
            ms(pct(&paced.scan_lat, 0.5)),
            ms(paced.scan_lat.last().copied().unwrap_or_default()),
            paced.scan_lat.len(),
            ms(pct(&full.scan_lat, 0.99)),
            ms(full.scan_lat.last().copied().unwrap_or_default()),
        ),
        format!(
            "| {name:<10} | download {} attendees | {:>19} | ≤ 2 s (compressed)  | {:<4} | {pulled} changes over HTTP (gzip); pair + download + apply into the desk's SQLite {}; coordinator upload {}",
            sizes.attendees,
            ms(download),
            yes(download <= Duration::from_secs(2)),
            ms(first_sync),
            ms(upload),
        ),
    ])
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench") || std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            desks: 4,
            per_desk: 50,
            batch: 10,
            attendees: 200,
        }
    } else {
        Sizes {
            desks: 50,
            per_desk: 2000,
            batch: 50,
            // `CHECKIN_BENCH_ATTENDEES=100000`: the forum's full list.
            attendees: std::env::var("CHECKIN_BENCH_ATTENDEES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        match rt.block_on(run(backend, &sizes)) {
            Some(r) => rows.extend(r),
            None => rows.push(format!(
                "| {backend:?} | skipped: no PostgreSQL (cargo xtask bench starts one) |"
            )),
        }
    }
    println!();
    println!(
        "sync: server and all clients on this machine's 2 cores, loopback{}",
        if quick {
            " — smoke run, not a measurement"
        } else {
            ""
        }
    );
    println!(
        "| backend    | benchmark                |              result | target              | ok   | note"
    );
    println!(
        "|------------|--------------------------|---------------------|---------------------|------|-----"
    );
    for r in rows {
        println!("{r}");
    }
}
