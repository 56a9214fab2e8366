//! Cross-crate tests live in `tests/`; `src/bin/` holds helper processes
//! they start (a writer the crash test kills with SIGKILL, a server the sync
//! tests kill). This library is the sync tests' harness: real servers on
//! `127.0.0.1:0` (SQLite or PostgreSQL) and real desk clients.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use checkin_core::demo;
use checkin_core::store::Store;
use checkin_server::storage::Storage;
use checkin_sync::client::{Desk, Pairing, pair_desk};
use checkin_sync::protocol::{PairingCodeRequest, Role};
use chrono::{DateTime, Utc};

pub mod proxy;

/// Which storage a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests may use: `CHECKIN_TEST_PG` (set by
/// `cargo xtask test`, which starts a throw-away cluster), e.g.
/// `postgres://postgres@127.0.0.1:55432/postgres`.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("CHECKIN_TEST_PG").ok().filter(|s| !s.is_empty())
}

/// A fresh PostgreSQL database for one test, or `None` (with a message on
/// stderr) when no server is reachable.
pub async fn pg_test_database() -> Option<String> {
    let Some(admin) = pg_admin_url() else {
        eprintln!(
            "SKIPPED: PostgreSQL tests need CHECKIN_TEST_PG=postgres://… (cargo xtask test starts a throw-away cluster and sets it)"
        );
        return None;
    };
    let (client, conn) = match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL at {admin} is not reachable: {e}");
            return None;
        }
    };
    tokio::spawn(conn);
    let name = format!("checkin_test_{}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// A running server inside the test process.
pub struct TestServer {
    pub url: String,
    pub storage: Arc<dyn Storage>,
    pub bootstrap: String,
    pub database_url: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Start a server, or `None` if the backend is unavailable (PostgreSQL
    /// without a server: the test is skipped with a message).
    pub async fn start(backend: Backend) -> Option<TestServer> {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(pg_test_database().await?),
        };
        Some(Self::start_on(database_url, dir).await)
    }

    /// Another instance sharing this one's PostgreSQL database.
    pub async fn another_instance(&self) -> TestServer {
        Self::start_on(self.database_url.clone(), tempfile::tempdir().unwrap()).await
    }

    async fn start_on(database_url: Option<String>, dir: tempfile::TempDir) -> TestServer {
        let storage = checkin_server::open_storage(database_url.as_deref(), &dir.path().join("server.db"))
            .await
            .expect("open storage");
        let server = checkin_server::Server::bind(storage.clone(), "127.0.0.1:0", None)
            .await
            .expect("bind");
        let url = format!("http://{}", server.addr);
        let bootstrap = match server.bootstrap_code().await.expect("bootstrap") {
            Some(c) => c.code,
            None => String::new(),
        };
        tokio::spawn(server.run());
        TestServer {
            url,
            storage,
            bootstrap,
            database_url,
            _dir: dir,
        }
    }
}

/// A clock that can be skewed and moved by the test.
#[derive(Clone, Default)]
pub struct TestClock {
    skew_ms: Arc<AtomicI64>,
}

impl TestClock {
    pub fn skewed(ms: i64) -> TestClock {
        let c = TestClock::default();
        c.skew_ms.store(ms, Ordering::Relaxed);
        c
    }
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.skew_ms.load(Ordering::Relaxed))
    }
    pub fn as_system_clock(&self) -> checkin_sync::client::SystemClock {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

/// A desk: its own database in a temp dir, paired with a server.
pub struct TestDesk {
    pub store: Arc<Mutex<Store>>,
    pub desk: Desk,
    pub clock: TestClock,
    pub dir: tempfile::TempDir,
    /// Location ids by name, read once (so tests can name a location while
    /// holding the store's lock).
    locations: Vec<(String, uuid::Uuid)>,
}

fn locations_of(store: &Mutex<Store>) -> Vec<(String, uuid::Uuid)> {
    let s = store.lock().unwrap();
    s.locations()
        .map(|l| l.iter().map(|l| (l.name.clone(), l.id)).collect())
        .unwrap_or_default()
}

impl TestDesk {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    /// The time this desk uses for the core (its clock corrected by the server's).
    pub fn now(&self) -> DateTime<Utc> {
        self.desk.now()
    }

    /// A coordinator desk with a demo event of `attendees` people, paired
    /// with the server's bootstrap code and uploaded.
    pub async fn coordinator(server: &TestServer, attendees: usize) -> TestDesk {
        Self::coordinator_at(server, &server.url, attendees, TestClock::default()).await
    }

    pub async fn coordinator_at(
        server: &TestServer,
        url: &str,
        attendees: usize,
        clock: TestClock,
    ) -> TestDesk {
        Self::coordinator_with_code(url, &server.bootstrap, attendees, clock).await
    }

    /// A coordinator desk paired with `code` at `url`.
    pub async fn coordinator_with_code(
        url: &str,
        code: &str,
        attendees: usize,
        clock: TestClock,
    ) -> TestDesk {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_local(&dir.path().join("desk.db"), "Координатор", clock.now()).unwrap();
        demo::create_event(&mut store, attendees, clock.now()).unwrap();
        let store = Arc::new(Mutex::new(store));
        let pairing = pair_desk(&store, url, code).await.expect("pair coordinator");
        let desk = Desk::new(store.clone(), pairing, clock.as_system_clock()).unwrap();
        desk.sync_once().await.expect("upload the event");
        let locations = locations_of(&store);
        TestDesk {
            store,
            desk,
            clock,
            dir,
            locations,
        }
    }

    /// A new desk joining with a code made by `coordinator`.
    pub async fn join(
        coordinator: &TestDesk,
        url: &str,
        role: Role,
        name: &str,
        clock: TestClock,
    ) -> TestDesk {
        let code = coordinator
            .desk
            .client
            .create_pairing_code(&PairingCodeRequest {
                event_id: coordinator.desk.pairing.event_id,
                role,
                ttl_minutes: None,
                device_id: None,
            })
            .await
            .expect("pairing code");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_local(&dir.path().join("desk.db"), name, clock.now()).unwrap();
        let store = Arc::new(Mutex::new(store));
        let pairing = pair_desk(&store, url, &code.code).await.expect("pair desk");
        let desk = Desk::new(store.clone(), pairing, clock.as_system_clock()).unwrap();
        desk.sync_once().await.expect("first download");
        let locations = locations_of(&store);
        TestDesk {
            store,
            desk,
            clock,
            dir,
            locations,
        }
    }

    /// The same desk talking to the server through another address (a proxy).
    pub fn via(&self, url: &str) -> Desk {
        let p = &self.desk.pairing;
        let pairing = Pairing {
            server: url.to_string(),
            token: p.token.clone(),
            role: p.role,
            event_id: p.event_id,
            server_fp: p.server_fp.clone(),
        };
        Desk::new(self.store.clone(), pairing, self.clock.as_system_clock()).unwrap()
    }

    pub fn location(&self, name: &str) -> uuid::Uuid {
        self.locations
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no location {name}"))
    }

    /// A digest of what this desk knows: check-ins (id, annulled), attendee
    /// fields, revocations. Equal digests: converged.
    pub fn digest(&self) -> String {
        self.store().state_digest().unwrap()
    }
}

/// A hall hub in its own runtime on its own thread, so that killing it
/// drops every task and socket at once, like a process dying.
pub struct TestHub {
    pub url: String,
    pub data: std::path::PathBuf,
    pub status: tokio::sync::watch::Receiver<checkin_server::hub::HubStatus>,
    pub hub_id: uuid::Uuid,
    pub secret: [u8; 32],
    pub tls_fingerprint: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestHub {
    /// Start a hub run by `coordinator` (its token), relaying to `upstream`,
    /// on `listen` (`127.0.0.1:0` for any port) with its database at `data`.
    /// The coordinator authorises the hub (its key goes up to the central
    /// server, when it answers), as the app and the CLI do.
    pub async fn start(
        coordinator: &TestDesk,
        upstream: &str,
        data: &std::path::Path,
        listen: &str,
    ) -> TestHub {
        let cfg = checkin_server::hub::HubConfig {
            upstream: upstream.to_string(),
            token: coordinator.desk.pairing.token.clone(),
            upstream_fp: coordinator.desk.pairing.server_fp.clone(),
            event_id: coordinator.desk.pairing.event_id,
            listen: listen.to_string(),
            data: data.to_path_buf(),
            public_url: None,
            mdns: None,
        };
        let hub = Self::start_with(cfg);
        hub.authorise(coordinator, true).await;
        hub
    }

    /// Publish (or withdraw) this hub's key from `coordinator`'s desk.
    pub async fn authorise(&self, coordinator: &TestDesk, active: bool) {
        coordinator
            .desk
            .authorise_hub(
                self.hub_id,
                &self.secret,
                &self.tls_fingerprint,
                "test hub",
                active,
            )
            .await
            .expect("authorise the hub");
    }

    pub fn start_with(cfg: checkin_server::hub::HubConfig) -> TestHub {
        let data = cfg.data.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let hub = rt
                .block_on(checkin_server::hub::Hub::start(cfg))
                .expect("start the hub");
            ready_tx
                .send((
                    hub.url.clone(),
                    hub.status.clone(),
                    hub.hub_id,
                    hub.secret(),
                    hub.tls_fingerprint.clone(),
                ))
                .unwrap();
            let _ = stop_rx.recv();
            drop(hub);
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        });
        let (url, status, hub_id, secret, tls_fingerprint) = ready_rx.recv().expect("the hub starts");
        TestHub {
            url,
            data,
            status,
            hub_id,
            secret,
            tls_fingerprint,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The hub's address without the scheme (to start another on it).
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("https://").to_string()
    }

    /// Stop everything at once: listener, live streams, relay.
    pub fn kill(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Wait until the hub's link to the central server is `want`.
    pub async fn wait_upstream(&mut self, want: checkin_server::hub::Upstream) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.status.borrow_and_update().upstream != want {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "hub upstream never {want:?}: {:?}",
                *self.status.borrow()
            );
            let _ = tokio::time::timeout(left, self.status.changed()).await;
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Wait until a desk's sync status satisfies `f` (20 s at most).
pub async fn wait_status(
    rx: &mut tokio::sync::watch::Receiver<checkin_sync::SyncStatus>,
    f: impl Fn(&checkin_sync::SyncStatus) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f(&rx.borrow_and_update()) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "status never matched: {:?}", *rx.borrow());
        let _ = tokio::time::timeout(left, rx.changed()).await;
    }
}
