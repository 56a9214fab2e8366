//! `cargo xtask rehearsal [--short]`: a forum day against real processes on
//! loopback. One binary, several roles:
//!
//! * `checkin-rehearsal run [--short]` — the director: starts everything,
//!   plays the day, injects the faults, checks the result, prints a table and
//!   exits non-zero if a check fails.
//! * `checkin-rehearsal server DB ADDR` — the central sync server.
//! * `checkin-rehearsal hub DESK_DB HUB_DB ADDR UPSTREAM` — a hall hub run by
//!   the coordinator desk whose database is DESK_DB (`checkin_server::hub`,
//!   the code behind `checkin hub`).
//! * `checkin-rehearsal desk DB INTERNET HUB SKEW_MS` — one desk: the core's
//!   `Store` and the app's background sync (`checkin_sync::spawn`), driven
//!   by lines on stdin (`scan N TOKEN LOCATION`, `dup N ATTENDEE`, `status N`,
//!   `report N`), answering on stdout only after the write is on disk.
//!
//! The "internet" is a fault proxy in the director between everyone and the
//! central server; the hub is on the hall's side of it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkin_core::model::Direction;
use checkin_core::store::Store;
use checkin_core::store::changes::Change;
use checkin_sync::client::{Desk, Pairing, pair_desk_pinned};
use checkin_sync::protocol::{PairingCodeRequest, Role};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;
use uuid::Uuid;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("server") => run_server(&args[1..]),
        Some("hub") => run_hub(&args[1..]),
        Some("desk") => run_desk(&args[1..]),
        Some("run") => direct(args.iter().any(|a| a == "--short")),
        _ => {
            eprintln!("usage: checkin-rehearsal run [--short] (see cargo xtask rehearsal)");
            Err("unknown command".into())
        }
    };
    match code {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("rehearsal: {e}");
            std::process::exit(2);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ----- the server and hub processes -------------------------------------------

fn run_server(args: &[String]) -> Res<bool> {
    let (db, addr) = (&args[0], &args[1]);
    runtime().block_on(async {
        let storage = Arc::new(checkin_server::storage::sqlite::SqliteStorage::open(db.as_ref())?);
        // HTTPS with a certificate of its own, as `checkin serve` does; the
        // desks pin its fingerprint (what the pairing link carries).
        let server = checkin_server::Server::bind_scheme(storage, addr, None, "https").await?;
        let tls = checkin_server::tls::Identity::load_or_create(
            &PathBuf::from(format!("{db}.tls")),
            &["127.0.0.1".into()],
        )?;
        println!("FP {}", tls.fingerprint()?);
        if let Ok(Some(code)) = server.bootstrap_code().await {
            println!("BOOTSTRAP {}", code.code);
        }
        println!("READY https://{}", server.addr);
        server.run_tls_identity(&tls, true).await?;
        Ok(true)
    })
}

fn run_hub(args: &[String]) -> Res<bool> {
    let (desk_db, hub_db, addr, upstream) = (&args[0], &args[1], &args[2], &args[3]);
    let store = Store::open_local(desk_db.as_ref(), "hub", Utc::now())?;
    let pairing = Pairing::load(&store)?.ok_or("the hub's desk is not paired")?;
    let store = Arc::new(Mutex::new(store));
    runtime().block_on(async {
        let hub = checkin_server::hub::Hub::start(checkin_server::hub::HubConfig {
            upstream: upstream.clone(),
            token: pairing.token.clone(),
            upstream_fp: pairing.server_fp.clone(),
            event_id: pairing.event_id,
            listen: addr.clone(),
            data: PathBuf::from(hub_db),
            public_url: None,
            mdns: None,
        })
        .await?;
        // The coordinator desk running the hub authorises it, as the app
        // does: desks use it once they have its key (a restarted hub keeps
        // its key, so it is published once).
        let mut pairing = pairing;
        pairing.server = upstream.clone();
        let desk = Desk::new(store, pairing, Arc::new(Utc::now))?;
        desk.authorise_hub(hub.hub_id, &hub.secret(), &hub.tls_fingerprint, "Хаб зала", true)
            .await?;
        println!("READY {}", hub.url);
        std::future::pending::<()>().await;
        Ok(true)
    })
}

// ----- a desk process -----------------------------------------------------------

fn run_desk(args: &[String]) -> Res<bool> {
    let (db, internet, hub, skew) = (&args[0], &args[1], &args[2], args[3].parse::<i64>()?);
    let rt = runtime();
    let store = Store::open_local(db.as_ref(), "desk", Utc::now())?;
    let mut pairing = Pairing::load(&store)?.ok_or("the desk is not paired")?;
    pairing.server = internet.clone();
    let store = Arc::new(Mutex::new(store));
    let clock: checkin_sync::client::SystemClock =
        Arc::new(move || Utc::now() + chrono::Duration::milliseconds(skew));
    let desk = Desk::new(store.clone(), pairing, clock)?;
    desk.hubs.set_manual(Some(hub.clone()));
    let handle = rt.block_on(async { checkin_sync::spawn(desk) })?;
    // Scans are answered in order; questions (dup, status, report) on a
    // thread of their own, so they never wait behind a queue of scans.
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let answer = |out: &Mutex<std::io::Stdout>, line: &str, reply: Res<String>| {
        let reply = reply.unwrap_or_else(|e| {
            let n = line.split_whitespace().nth(1).unwrap_or("0");
            format!("error {n} {e}")
        });
        let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(o, "{reply}");
        let _ = o.flush();
    };
    let handle = Arc::new(handle);
    let (qtx, qrx) = std::sync::mpsc::channel::<String>();
    {
        let (store, handle, out) = (store.clone(), handle.clone(), out.clone());
        std::thread::spawn(move || {
            while let Ok(line) = qrx.recv() {
                answer(&out, &line, desk_command(&store, &handle, &line));
            }
        });
    }
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.starts_with("scan ") {
            answer(&out, &line, desk_command(&store, &handle, &line));
        } else {
            qtx.send(line)?;
        }
    }
    Ok(true)
}

/// One command of the director; an error is answered, never fatal.
fn desk_command(store: &Mutex<Store>, handle: &checkin_sync::SyncHandle, line: &str) -> Res<String> {
    let lock = || store.lock().unwrap_or_else(|p| p.into_inner());
    let parts: Vec<&str> = line.split_whitespace().collect();
    Ok(match parts.as_slice() {
        ["scan", n, token, location] => {
            let location: Uuid = location.parse()?;
            let now = handle.desk.now();
            let outcome = lock().scan(token, location, Direction::In, now)?;
            handle.kick();
            let id = match &outcome.verdict {
                checkin_core::engine::Verdict::Admitted { checkin_id, .. } => checkin_id.to_string(),
                _ => "-".into(),
            };
            format!("ok {n} {} {id}", outcome.verdict.name())
        }
        ["dup", n, attendee] => {
            let who: Uuid = attendee.parse()?;
            let s = lock();
            let day = s.day_of(handle.desk.now())?;
            let seen = s.duplicates_on(day)?.iter().any(|d| d.attendee_id == who);
            format!("dup {n} {seen}")
        }
        ["status", n] => {
            let st = handle.status.borrow().clone();
            format!(
                "status {n} {:?} {:?} {} | {}",
                st.route,
                st.connection,
                st.waiting,
                st.last_error.unwrap_or_default()
            )
        }
        ["report", n] => {
            let s = lock();
            let now = handle.desk.now();
            let c = s.counters(now)?;
            let dups: Vec<String> = s
                .duplicates_on(c.day)?
                .iter()
                .map(|d| d.attendee_id.to_string())
                .collect();
            let zones: Vec<String> = c
                .locations
                .iter()
                .map(|l| format!("{}={}", l.location_id, l.entries))
                .collect();
            format!(
                "report {n} {} {} {} {} {}",
                s.state_digest()?,
                c.checked_in,
                c.duplicates,
                if dups.is_empty() {
                    "-".into()
                } else {
                    dups.join(",")
                },
                zones.join(",")
            )
        }
        _ => return Err(format!("unknown command {line:?}").into()),
    })
}

// ----- the director ---------------------------------------------------------------

struct Plan {
    attendees: usize,
    /// Real seconds for the simulated day 09:00–18:00.
    day_secs: f64,
}

const DAY_MIN: f64 = 540.0; // 09:00–18:00
const ENTRANCE_DESKS: usize = 12;
const ISLAND_HOSTS: usize = 4;

/// Simulated minutes since 09:00 for a clock time.
fn at(h: u32, m: u32) -> f64 {
    ((h as f64) - 9.0) * 60.0 + m as f64
}

#[derive(Debug, Clone)]
enum Step {
    Scan { desk: usize, attendee: usize },
    Visit { host: usize, attendee: usize },
    InternetDown(bool),
    DupPair { a: usize, b: usize, with_hub: bool },
    KillDesk(usize),
    RestartDesk(usize),
    KillHub,
    RestartHub,
}

/// The director's side of a desk's stdin and stdout: commands are numbered,
/// answers are matched by number. Shared by the day's loop and watchers.
#[derive(Default)]
struct PipeInner {
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pending: Mutex<HashMap<u64, (String, oneshot::Sender<String>)>>,
    next: std::sync::atomic::AtomicU64,
}

type Pipe = Arc<PipeInner>;

/// Send a command; the answer comes on the returned receiver (dropped if
/// the desk dies first).
async fn send(pipe: &Pipe, cmd: &str) -> oneshot::Receiver<String> {
    let n = pipe.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let (tx, rx) = oneshot::channel();
    pipe.pending.lock().unwrap().insert(n, (cmd.to_string(), tx));
    let line = numbered(n, cmd);
    // A desk that is down gets it when it is back (the person waits).
    if let Some(s) = pipe.stdin.lock().await.as_mut() {
        let _ = s.write_all(line.as_bytes()).await;
    }
    rx
}

fn numbered(n: u64, cmd: &str) -> String {
    match cmd.split_once(' ') {
        Some((verb, rest)) => format!("{verb} {n} {rest}\n"),
        None => format!("{cmd} {n}\n"),
    }
}

/// One desk process.
struct DeskProc {
    name: String,
    db: PathBuf,
    skew_ms: i64,
    location: Uuid,
    child: Option<Child>,
    pipe: Pipe,
}

#[derive(Default)]
struct Truth {
    /// Check-in ids acknowledged as admitted, with the desk.
    acked: Vec<(usize, Uuid)>,
    admitted_people: HashSet<usize>,
    rescans: u64,
    zone_visits: BTreeMap<Uuid, u64>,
    dup_people: Vec<(Uuid, bool)>,
    dup_times: Vec<(bool, Option<Duration>)>,
    unanswered: u64,
    verdicts: BTreeMap<String, u64>,
}

struct World {
    exe: PathBuf,
    dir: PathBuf,
    internet: checkin_tests::proxy::Proxy,
    hub_child: Option<Child>,
    hub_addr: String,
    hub_url: String,
    desks: Vec<DeskProc>,
    tokens: Vec<String>,
    people: Vec<Uuid>,
    truth: Arc<Mutex<Truth>>,
    upstream: String,
}

async fn start_line(exe: &Path, args: &[&str], log: &Path) -> Res<(Child, String, Option<String>)> {
    start_line_fp(exe, args, log).await.map(|(c, u, b, _)| (c, u, b))
}

/// [`start_line`], also returning the certificate fingerprint a server
/// prints (`FP …`).
async fn start_line_fp(
    exe: &Path,
    args: &[&str],
    log: &Path,
) -> Res<(Child, String, Option<String>, Option<String>)> {
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut bootstrap = None;
    let mut fp = None;
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .map_err(|_| format!("{args:?} did not start in 60 s (see {})", log.display()))??
            .ok_or_else(|| format!("{args:?} exited at start (see {})", log.display()))?;
        if let Some(c) = line.strip_prefix("BOOTSTRAP ") {
            bootstrap = Some(c.to_string());
        }
        if let Some(f) = line.strip_prefix("FP ") {
            fp = Some(f.to_string());
        }
        if let Some(url) = line.strip_prefix("READY ") {
            return Ok((child, url.to_string(), bootstrap, fp));
        }
    }
}

impl World {
    async fn start_hub(&mut self) -> Res<()> {
        let desk_db = self.dir.join("hub-desk.db");
        let hub_db = self.dir.join("hub.db");
        let (child, url, _) = start_line(
            &self.exe,
            &[
                "hub",
                desk_db.to_str().unwrap(),
                hub_db.to_str().unwrap(),
                &self.hub_addr,
                &self.internet.url,
            ],
            &self.dir.join("hub.log"),
        )
        .await?;
        self.hub_addr = url.trim_start_matches("https://").to_string();
        self.hub_url = url;
        self.hub_child = Some(child);
        Ok(())
    }

    async fn kill_hub(&mut self) {
        if let Some(mut c) = self.hub_child.take() {
            let _ = c.kill().await; // SIGKILL
        }
    }

    async fn start_desk(&mut self, i: usize) -> Res<()> {
        let d = &mut self.desks[i];
        let log = self.dir.join(format!("desk-{i}.log"));
        let mut child = Command::new(&self.exe)
            .args([
                "desk",
                d.db.to_str().unwrap(),
                &self.internet.url,
                &self.hub_url,
                &d.skew_ms.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log)?)
            .kill_on_drop(true)
            .spawn()?;
        let mut stdin = child.stdin.take();
        // What it was asked and never answered before it died, again.
        let mut again: Vec<(u64, String)> = d
            .pipe
            .pending
            .lock()
            .unwrap()
            .iter()
            .map(|(n, (cmd, _))| (*n, cmd.clone()))
            .collect();
        again.sort();
        if let Some(s) = stdin.as_mut() {
            for (n, cmd) in &again {
                s.write_all(numbered(*n, cmd).as_bytes()).await?;
            }
        }
        *d.pipe.stdin.lock().await = stdin;
        let stdout = child.stdout.take().unwrap();
        d.child = Some(child);
        let pipe = d.pipe.clone();
        let truth = self.truth.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let parts: Vec<&str> = line.split_whitespace().collect();
                let Some(n) = parts.get(1).and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                let entry = pipe.pending.lock().unwrap().remove(&n);
                if let Some((_, tx)) = entry {
                    let _ = tx.send(line.clone());
                }
                if parts[0] == "error" {
                    eprintln!("desk answered: {line}");
                    truth.lock().unwrap().unanswered += 1;
                }
            }
        });
        Ok(())
    }

    async fn send(&mut self, i: usize, cmd: &str) -> oneshot::Receiver<String> {
        send(&self.desks[i].pipe, cmd).await
    }

    async fn ask(&mut self, i: usize, cmd: &str) -> Res<String> {
        let rx = self.send(i, cmd).await;
        Ok(tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .map_err(|_| format!("{} did not answer {cmd}", self.desks[i].name))??)
    }

    /// SIGKILL a desk; what it was asked and did not answer stays pending
    /// and is asked again when it is back. Returns how many.
    async fn kill_desk(&mut self, i: usize) -> usize {
        let d = &mut self.desks[i];
        *d.pipe.stdin.lock().await = None;
        if let Some(mut c) = d.child.take() {
            let _ = c.kill().await; // SIGKILL
        }
        d.pipe.pending.lock().unwrap().len()
    }
}

/// Record a scan's answer in the ground truth.
fn record_scan(truth: &Mutex<Truth>, desk: usize, attendee: Option<usize>, zone: Option<Uuid>, answer: &str) {
    let parts: Vec<&str> = answer.split_whitespace().collect();
    let mut t = truth.lock().unwrap();
    let verdict = parts.get(2).copied().unwrap_or("?").to_string();
    *t.verdicts.entry(verdict.clone()).or_default() += 1;
    if verdict == "admitted" {
        if let Some(id) = parts.get(3).and_then(|s| s.parse::<Uuid>().ok()) {
            t.acked.push((desk, id));
        }
        match zone {
            Some(z) => *t.zone_visits.entry(z).or_default() += 1,
            None => {
                if let Some(a) = attendee {
                    t.admitted_people.insert(a);
                }
            }
        }
    } else if verdict == "already_checked_in" && zone.is_none() {
        t.rescans += 1;
        if let Some(a) = attendee {
            t.admitted_people.insert(a);
        }
    }
}

fn direct(short: bool) -> Res<bool> {
    let plan = if short {
        Plan {
            attendees: 1_000,
            day_secs: 90.0,
        }
    } else {
        Plan {
            attendees: 8_000,
            day_secs: 900.0,
        }
    };
    runtime().block_on(rehearse(plan, short))
}

async fn rehearse(plan: Plan, short: bool) -> Res<bool> {
    let started = Instant::now();
    let run_start: DateTime<Utc> = Utc::now();
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().to_path_buf();
    let exe = std::env::current_exe()?;
    eprintln!(
        "rehearsal{}: {} attendees, the day 09:00–18:00 in {} s, files in {}",
        if short { " (short)" } else { "" },
        plan.attendees,
        plan.day_secs,
        dir.display()
    );

    // The central server (a process) and the internet (a proxy here).
    let (server, server_url, bootstrap, server_fp) = start_line_fp(
        &exe,
        &["server", dir.join("server.db").to_str().unwrap(), "127.0.0.1:0"],
        &dir.join("server.log"),
    )
    .await?;
    let internet = checkin_tests::proxy::Proxy::start(&server_url).await;

    // The coordinator creates the event and uploads it.
    let now = Utc::now();
    let mut coord = Store::open_local(&dir.join("coord.db"), "Координатор", now)?;
    checkin_core::demo::create_event(&mut coord, plan.attendees, now)?;
    let coord = Arc::new(Mutex::new(coord));
    let pairing = pair_desk_pinned(
        &coord,
        &server_url,
        &bootstrap.ok_or("no bootstrap code")?,
        server_fp.as_deref(),
    )
    .await?;
    let coord_desk = Desk::new(coord.clone(), pairing, Arc::new(Utc::now))?;
    coord_desk.sync_once().await?;
    let (people, tokens, entrances, islands, today) = {
        let s = coord.lock().unwrap();
        let today = s.day_of(Utc::now())?;
        let mut people = Vec::new();
        let mut tokens = Vec::new();
        for a in s.attendees()? {
            if a.revoked || !(a.days.is_empty() || a.days.contains(&today)) {
                continue;
            }
            tokens.push(s.badge_token(a.id)?);
            people.push(a.id);
        }
        let locs = s.locations()?;
        let by_name = |n: &str| locs.iter().find(|l| l.name == n).map(|l| l.id).unwrap();
        let entrances = [by_name("Вход A"), by_name("Вход B")];
        let islands: Vec<Uuid> = (1..=4).map(|i| by_name(&format!("Остров {i}"))).collect();
        (people, tokens, entrances, islands, today)
    };
    eprintln!(
        "event uploaded: {} people valid today ({today}) [{:.1} s]",
        people.len(),
        started.elapsed().as_secs_f64()
    );

    // Pair the hub's coordinator desk and 16 desks (each its own database).
    let mut desks = Vec::new();
    let mut pair_jobs = Vec::new();
    let names: Vec<(String, Role, Uuid, i64)> = (0..ENTRANCE_DESKS)
        .map(|i| {
            let loc = entrances[i / 6];
            // Desk 5's clock is two hours fast.
            let skew = if i == 5 { 2 * 3600 * 1000 } else { 0 };
            (
                format!("Вход {}, стойка {}", if i < 6 { "A" } else { "B" }, i + 1),
                Role::Volunteer,
                loc,
                skew,
            )
        })
        .chain((0..ISLAND_HOSTS).map(|i| (format!("Остров {}", i + 1), Role::Host, islands[i], 0)))
        .chain(std::iter::once((
            "Хаб зала".to_string(),
            Role::Coordinator,
            Uuid::nil(),
            0,
        )))
        .collect();
    for (i, (name, role, _, _)) in names.iter().enumerate() {
        let code = coord_desk
            .client
            .create_pairing_code(&PairingCodeRequest {
                event_id: coord_desk.pairing.event_id,
                role: *role,
                ttl_minutes: None,
                device_id: None,
            })
            .await?;
        let db = if i == names.len() - 1 {
            dir.join("hub-desk.db")
        } else {
            dir.join(format!("desk-{i}.db"))
        };
        let (name, url, fp) = (name.clone(), server_url.clone(), server_fp.clone());
        pair_jobs.push(tokio::spawn(async move {
            let store = Store::open_local(&db, &name, Utc::now())?;
            let store = Arc::new(Mutex::new(store));
            let p = pair_desk_pinned(&store, &url, &code.code, fp.as_deref()).await?;
            Desk::new(store, p, Arc::new(Utc::now))?.sync_once().await?;
            Ok::<_, checkin_sync::SyncError>(db)
        }));
    }
    for (i, job) in pair_jobs.into_iter().enumerate() {
        let db = job.await??;
        let (name, _, location, skew_ms) = names[i].clone();
        if i < names.len() - 1 {
            desks.push(DeskProc {
                name,
                db,
                skew_ms,
                location,
                child: None,
                pipe: Default::default(),
            });
        }
    }
    eprintln!(
        "16 desks and the hub's desk paired [{:.1} s]",
        started.elapsed().as_secs_f64()
    );

    let mut w = World {
        exe,
        dir: dir.clone(),
        internet,
        hub_child: None,
        hub_addr: "127.0.0.1:0".into(),
        hub_url: String::new(),
        desks,
        tokens,
        people: people.clone(),
        truth: Default::default(),
        upstream: server_url.clone(),
    };
    w.start_hub().await?;
    for i in 0..w.desks.len() {
        w.start_desk(i).await?;
    }
    // Everyone on the hub before the doors open.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut on_hub = 0;
        for i in 0..w.desks.len() {
            if w.ask(i, "status").await?.contains("Hub Online") {
                on_hub += 1;
            }
        }
        if on_hub == w.desks.len() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {on_hub} of 16 desks reached the hub").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "hub at {}; all 16 desks on it [{:.1} s]",
        w.hub_url,
        started.elapsed().as_secs_f64()
    );

    // The day's script.
    let mut rng = StdRng::seed_from_u64(20_260_602);
    let mut steps: Vec<(f64, Step)> = Vec::new();
    let n = people.len();
    // Two people are kept for the scripted duplicates.
    let dup_people = [n - 1, n - 2, n - 3, n - 4];
    let arriving = (n - 4) * 92 / 100;
    let mut order: Vec<usize> = (0..n - 4).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    for &p in order.iter().take(arriving) {
        // 75 % in the morning peak (≈ normal around 10:00), the rest 09:00–14:00.
        let t = if rng.random_bool(0.75) {
            let u: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
            (at(10, 0) + u * 25.0).clamp(0.0, at(13, 0))
        } else {
            rng.random_range(0.0..at(14, 0))
        };
        let desk = rng.random_range(0..ENTRANCE_DESKS);
        steps.push((t, Step::Scan { desk, attendee: p }));
        if rng.random_bool(0.03) {
            steps.push((t + 0.2, Step::Scan { desk, attendee: p }));
        }
        // Islands all day: ~1.5 visits each after arriving.
        let visits = (0..3).filter(|_| rng.random_bool(0.5)).count();
        for _ in 0..visits {
            let v = rng.random_range(t + 5.0..DAY_MIN.max(t + 6.0)).min(DAY_MIN - 1.0);
            steps.push((
                v,
                Step::Visit {
                    host: rng.random_range(0..ISLAND_HOSTS),
                    attendee: p,
                },
            ));
        }
    }
    // The internet goes at the peak for 30 minutes; the hub keeps the hall
    // together until it is killed too, then comes back after the internet.
    steps.push((at(9, 40), Step::InternetDown(true)));
    // Three times one badge at two desks at once via the hub (the median
    // counts: one slow moment of a loaded machine is not the hub's speed).
    for (t, a, b) in [(at(9, 42), 0, 7), (at(9, 46), 1, 8), (at(9, 54), 2, 9)] {
        steps.push((t, Step::DupPair { a, b, with_hub: true }));
    }
    steps.push((at(9, 48), Step::KillDesk(3)));
    steps.push((at(9, 50), Step::RestartDesk(3)));
    steps.push((at(10, 0), Step::KillHub));
    steps.push((
        at(10, 2),
        Step::DupPair {
            a: 4,
            b: 10,
            with_hub: false,
        },
    ));
    steps.push((at(10, 10), Step::InternetDown(false)));
    steps.push((at(10, 20), Step::RestartHub));
    steps.push((at(11, 0), Step::KillDesk(7)));
    steps.push((at(11, 2), Step::RestartDesk(7)));
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let planned_scans = steps.iter().filter(|s| matches!(s.1, Step::Scan { .. })).count();
    let planned_visits = steps.iter().filter(|s| matches!(s.1, Step::Visit { .. })).count();
    eprintln!("script: {arriving} arrivals, {planned_scans} entrance scans, {planned_visits} island visits");

    let real = |sim: f64| Duration::from_secs_f64(sim / DAY_MIN * plan.day_secs);
    let day0 = Instant::now();
    let mut answers: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut sent_scans = 0usize;
    let mut dup_index = 0;
    let mut faults: Vec<String> = Vec::new();
    for (t, step) in steps {
        let due = day0 + real(t);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        match step {
            Step::Scan { desk, attendee } => {
                sent_scans += 1;
                let cmd = format!("scan {} {}", w.tokens[attendee], w.desks[desk].location);
                let rx = w.send(desk, &cmd).await;
                let truth = w.truth.clone();
                answers.push(tokio::spawn(async move {
                    if let Ok(a) = rx.await {
                        record_scan(&truth, desk, Some(attendee), None, &a);
                    }
                }));
            }
            Step::Visit { host, attendee } => {
                sent_scans += 1;
                let d = ENTRANCE_DESKS + host;
                let zone = w.desks[d].location;
                let cmd = format!("scan {} {zone}", w.tokens[attendee]);
                let rx = w.send(d, &cmd).await;
                let truth = w.truth.clone();
                answers.push(tokio::spawn(async move {
                    if let Ok(a) = rx.await {
                        record_scan(&truth, d, None, Some(zone), &a);
                    }
                }));
            }
            Step::InternetDown(down) => {
                w.internet.faults.set_down(down);
                faults.push(format!(
                    "{:>5.1} s  internet {}",
                    day0.elapsed().as_secs_f64(),
                    if down { "down" } else { "back" }
                ));
            }
            Step::KillDesk(i) => {
                // A burst at the desk, then SIGKILL while it is scanning.
                // (Walk-ups from the no-shows, so nobody arrives twice.)
                let mut rxs = Vec::new();
                for k in 0..6 {
                    let who = order[arriving + k + i * 10];
                    let cmd = format!("scan {} {}", w.tokens[who], w.desks[i].location);
                    rxs.push((who, w.send(i, &cmd).await));
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
                let unanswered = w.kill_desk(i).await;
                sent_scans += 6;
                faults.push(format!(
                    "{:>5.1} s  desk {} SIGKILLed mid-scan ({unanswered} scans in its queue unanswered, asked again when it is back)",
                    day0.elapsed().as_secs_f64(),
                    i + 1,
                ));
                for (who, rx) in rxs {
                    let truth = w.truth.clone();
                    answers.push(tokio::spawn(async move {
                        if let Ok(a) = rx.await {
                            record_scan(&truth, i, Some(who), None, &a);
                        }
                    }));
                }
            }
            Step::RestartDesk(i) => {
                // The people whose scan was never answered show their
                // badge again (start_desk sends what is pending).
                w.start_desk(i).await?;
                faults.push(format!(
                    "{:>5.1} s  desk {} restarted",
                    day0.elapsed().as_secs_f64(),
                    i + 1
                ));
            }
            Step::KillHub => {
                w.kill_hub().await;
                faults.push(format!("{:>5.1} s  hub SIGKILLed", day0.elapsed().as_secs_f64()));
            }
            Step::RestartHub => {
                w.start_hub().await?;
                faults.push(format!("{:>5.1} s  hub restarted", day0.elapsed().as_secs_f64()));
            }
            Step::DupPair { a, b, with_hub } => {
                let who = dup_people[dup_index];
                dup_index += 1;
                let token = w.tokens[who].clone();
                let (la, lb) = (w.desks[a].location, w.desks[b].location);
                sent_scans += 2;
                let ra = w.send(a, &format!("scan {token} {la}")).await;
                let rb = w.send(b, &format!("scan {token} {lb}")).await;
                let (xa, xb) = (ra.await?, rb.await?);
                let t0 = Instant::now();
                record_scan(&w.truth, a, Some(who), None, &xa);
                record_scan(&w.truth, b, Some(who), None, &xb);
                let both = xa.contains(" admitted ") && xb.contains(" admitted ");
                let id = w.people[who];
                w.truth.lock().unwrap().dup_people.push((id, both));
                faults.push(format!(
                    "{:>5.1} s  one badge at desks {} and {} at once ({}): {} / {}",
                    day0.elapsed().as_secs_f64(),
                    a + 1,
                    b + 1,
                    if with_hub {
                        "via the hub"
                    } else {
                        "no hub, no internet"
                    },
                    xa.split_whitespace().nth(2).unwrap_or("?"),
                    xb.split_whitespace().nth(2).unwrap_or("?")
                ));
                // Watch for the duplicate at both desks while the day goes on.
                let (pa, pb) = (w.desks[a].pipe.clone(), w.desks[b].pipe.clone());
                let truth = w.truth.clone();
                answers.push(tokio::spawn(async move {
                    let seen = if both {
                        dup_seen(&pa, &pb, id, t0).await
                    } else {
                        Some(Duration::ZERO)
                    };
                    truth.lock().unwrap().dup_times.push((with_hub, seen));
                }));
            }
        }
    }
    eprintln!(
        "day played in {:.1} s; waiting for every answer",
        day0.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(200);
    for a in answers {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, a).await;
    }
    // Everything uploaded and everyone converged.
    let settle = Instant::now();
    let mut digests;
    loop {
        let mut waiting = 0u64;
        for i in 0..w.desks.len() {
            let s = w.ask(i, "status").await?;
            waiting += s
                .split(" | ")
                .next()
                .and_then(|x| x.split_whitespace().last())
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
        coord_desk.sync_once().await?;
        digests = Vec::new();
        for i in 0..w.desks.len() {
            let r = w.ask(i, "report").await?;
            digests.push(r.split_whitespace().nth(2).unwrap_or("").to_string());
        }
        let server_digest = coord.lock().unwrap().state_digest()?;
        if waiting == 0 && digests.iter().all(|d| *d == server_digest) {
            break;
        }
        if settle.elapsed() > Duration::from_secs(120) {
            eprintln!("not converged after 120 s ({waiting} changes waiting)");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let converge_secs = settle.elapsed().as_secs_f64();

    // ----- checks -----------------------------------------------------------
    let truth = std::mem::take(&mut *w.truth.lock().unwrap());
    let mut rows: Vec<(String, String, String, bool)> = Vec::new();
    let mut check = |name: &str, expected: String, got: String, ok: bool| {
        rows.push((name.to_string(), expected, got, ok));
    };

    // The server's log, read in full.
    let mut server_changes = Vec::new();
    let mut after = 0;
    loop {
        let page = coord_desk
            .client
            .pull(coord_desk.pairing.event_id, after, 5000)
            .await?;
        server_changes.extend(page.changes);
        after = page.cursor;
        if !page.more {
            break;
        }
    }
    let change_ids: HashSet<Uuid> = server_changes.iter().map(|c| c.id).collect();
    let mut checkin_count: HashMap<Uuid, u32> = HashMap::new();
    let mut skewed_off = 0;
    let skewed_desk = {
        let s = Store::open_local(&w.desks[5].db, "x", Utc::now())?;
        s.device().id
    };
    let run_end = Utc::now();
    for c in &server_changes {
        if let Change::CheckIn(ci) = &c.change {
            *checkin_count.entry(ci.id).or_default() += 1;
            if c.device_id == skewed_desk
                && (ci.at < run_start - chrono::Duration::minutes(1)
                    || ci.at > run_end + chrono::Duration::minutes(1))
            {
                skewed_off += 1;
            }
        }
    }
    let acked: HashSet<Uuid> = truth.acked.iter().map(|(_, id)| *id).collect();
    let missing = acked.iter().filter(|id| !checkin_count.contains_key(id)).count();
    let twice = checkin_count.values().filter(|&&n| n > 1).count();
    check(
        "acknowledged check-ins on the server",
        format!("{} present once", acked.len()),
        format!("{missing} missing, {twice} twice"),
        missing == 0 && twice == 0,
    );
    check(
        "no change stored twice on the server",
        format!("{} changes", server_changes.len()),
        format!("{} distinct", change_ids.len()),
        change_ids.len() == server_changes.len(),
    );
    let server_digest = coord.lock().unwrap().state_digest()?;
    let converged = digests.iter().filter(|d| **d == server_digest).count();
    check(
        "every desk converged with the server",
        "16 of 16".into(),
        format!("{converged} of 16 ({converge_secs:.1} s after the day)"),
        converged == 16,
    );
    // Counts against the ground truth, at every desk.
    let expected_dups = truth.dup_people.iter().filter(|(_, both)| *both).count() as u64;
    let expected_people = truth.admitted_people.len() as u64;
    let mut bad_counts = Vec::new();
    let mut bad_dups = Vec::new();
    let mut bad_zones = Vec::new();
    for i in 0..w.desks.len() {
        let r = w.ask(i, "report").await?;
        let p: Vec<&str> = r.split_whitespace().collect();
        let (checked_in, dups): (u64, u64) = (p[3].parse()?, p[4].parse()?);
        if checked_in != expected_people {
            bad_counts.push(format!("desk {}: {checked_in}", i + 1));
        }
        let listed: HashSet<&str> = p[5].split(',').collect();
        let flagged = truth
            .dup_people
            .iter()
            .filter(|(_, both)| *both)
            .all(|(id, _)| listed.contains(id.to_string().as_str()));
        if dups != expected_dups || !flagged {
            bad_dups.push(format!("desk {}: {dups}", i + 1));
        }
        let zones: HashMap<&str, u64> = p[6]
            .split(',')
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k, v.parse().unwrap_or(0))))
            .collect();
        for (z, n) in &truth.zone_visits {
            if zones.get(z.to_string().as_str()) != Some(n) {
                bad_zones.push(format!("desk {}", i + 1));
                break;
            }
        }
    }
    check(
        "people checked in (every desk)",
        format!("{expected_people}"),
        if bad_counts.is_empty() {
            format!("{expected_people}")
        } else {
            bad_counts.join("; ")
        },
        bad_counts.is_empty() && expected_people as usize >= arriving,
    );
    check(
        "cross-desk duplicates flagged (every desk)",
        format!("{expected_dups}"),
        if bad_dups.is_empty() {
            format!("{expected_dups}")
        } else {
            bad_dups.join("; ")
        },
        bad_dups.is_empty(),
    );
    let visits: u64 = truth.zone_visits.values().sum();
    check(
        "island visits per island (every desk)",
        format!("{visits} in 4 islands"),
        if bad_zones.is_empty() {
            format!("{visits}")
        } else {
            format!("differ at {}", bad_zones.join(", "))
        },
        bad_zones.is_empty() && visits as usize == planned_visits,
    );
    check(
        "every scan answered",
        format!("{sent_scans}"),
        format!(
            "{} ({} errors)",
            truth.verdicts.values().sum::<u64>(),
            truth.unanswered
        ),
        truth.unanswered == 0 && truth.verdicts.values().sum::<u64>() as usize == sent_scans,
    );
    check(
        "desk with its clock 2 h fast stamps real time",
        "0 check-ins off".into(),
        format!("{skewed_off} off"),
        skewed_off == 0,
    );
    let fmt = |d: &Option<Duration>| match d {
        Some(d) => format!("{:.3} s", d.as_secs_f64()),
        None => "never".into(),
    };
    let mut via_hub: Vec<Option<Duration>> = truth.dup_times.iter().filter(|t| t.0).map(|t| t.1).collect();
    via_hub.sort_by_key(|d| d.unwrap_or(Duration::MAX));
    let median = via_hub.get(via_hub.len() / 2).copied().flatten();
    check(
        "duplicate detected, internet down, hub up",
        "median < 1 s".into(),
        format!(
            "median {} ({})",
            fmt(&median),
            via_hub.iter().map(fmt).collect::<Vec<_>>().join(", ")
        ),
        via_hub.len() == 3 && median.is_some_and(|d| d < Duration::from_secs(1)),
    );
    for (_, seen) in truth.dup_times.iter().filter(|t| !t.0) {
        check(
            "duplicate detected, internet and hub down",
            "when a link returns".into(),
            fmt(seen),
            seen.is_some(),
        );
    }

    println!();
    println!("Rehearsal{} — faults:", if short { " (short)" } else { "" });
    for f in &faults {
        println!("  {f}");
    }
    println!(
        "  verdicts: {}",
        truth
            .verdicts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("| check | expected | measured | result |");
    println!("|---|---|---|---|");
    let mut all_ok = true;
    for (name, expected, got, ok) in &rows {
        all_ok &= ok;
        println!(
            "| {name} | {expected} | {got} | {} |",
            if *ok { "PASS" } else { "FAIL" }
        );
    }
    println!();
    println!(
        "{} passed, {} failed ({:.0} s in all)",
        rows.iter().filter(|r| r.3).count(),
        rows.iter().filter(|r| !r.3).count(),
        started.elapsed().as_secs_f64()
    );
    let _ = &w.upstream;
    for i in 0..w.desks.len() {
        w.kill_desk(i).await;
    }
    w.kill_hub().await;
    drop(server);
    Ok(all_ok)
}

/// Poll two desks until both list `who` as a duplicate (three minutes at
/// most): how long after `t0` that took.
async fn dup_seen(a: &Pipe, b: &Pipe, who: Uuid, t0: Instant) -> Option<Duration> {
    let cmd = format!("dup {who}");
    let mut seen: [Option<Duration>; 2] = [None, None];
    let mut shown = false;
    while t0.elapsed() < Duration::from_secs(180) {
        for (k, p) in [a, b].into_iter().enumerate() {
            if seen[k].is_none()
                && let Ok(Ok(ans)) = tokio::time::timeout(Duration::from_secs(5), send(p, &cmd).await).await
                && ans.ends_with("true")
            {
                seen[k] = Some(t0.elapsed());
            }
        }
        if let [Some(x), Some(y)] = seen {
            eprintln!("duplicate {who}: seen at the desks after {x:?} and {y:?}");
            return Some(x.max(y));
        }
        if !shown && t0.elapsed() > Duration::from_secs(1) {
            shown = true;
            for p in [a, b] {
                if let Ok(Ok(st)) =
                    tokio::time::timeout(Duration::from_secs(5), send(p, "status").await).await
                {
                    eprintln!("duplicate {who} not seen after 1 s: {st} (seen: {seen:?})");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}
