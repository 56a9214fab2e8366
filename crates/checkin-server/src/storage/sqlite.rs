//! SQLite storage: one file, nothing to install. Writes go to one writer
//! thread that commits whatever pushes are waiting in one transaction (group
//! commit), so 50 desks pushing at once cost one fsync per round, not one per
//! desk. Reads use a small pool of read-only connections (WAL: readers never
//! block the writer).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use async_trait::async_trait;
use checkin_sync::protocol::{DeviceInfo, DeviceRecord};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::*;

const SCHEMA: &[&str] = &[
    r#"
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE INDEX changes_event_seq ON changes(event_id, seq);
CREATE TABLE pairing_codes (
    code_hash     TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    event_id      TEXT,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    paired_at_ms INTEGER NOT NULL,
    last_seen_ms INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0
);
"#,
    r#"
-- A hall hub's own bookkeeping: which changes came from the central server
-- (not relayed back), cursors, and the log's identity.
ALTER TABLE changes ADD COLUMN from_upstream INTEGER NOT NULL DEFAULT 0;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('log_id', lower(hex(randomblob(16))));
"#,
    r#"
-- Protocol 3: codes that re-pair one existing device, devices' public keys
-- (hex; empty for rows paired before), refused changes counted against
-- their author, and when a device was revoked. The server's secret key is
-- made on first use (meta 'server_secret').
ALTER TABLE pairing_codes ADD COLUMN device_id TEXT;
ALTER TABLE devices ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN revoked_at_ms INTEGER;
"#,
];

type Job = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> Box<dyn FnOnce(bool) + Send> + Send>;

pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    /// [`Storage::server_secret`] once read (it never changes once stored).
    secret: std::sync::OnceLock<[u8; 32]>,
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tx = conn.transaction()?;
    for (i, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()
}

impl SqliteStorage {
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        let mut conn = open(path)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StorageError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            writer: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
            secret: std::sync::OnceLock::new(),
        })
    }

    /// Run `f` in the writer's next transaction and wait for the commit.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |t| {
            // Each job runs in its own savepoint so one failing job does not
            // undo the others committed with it.
            let r = (|| {
                t.execute_batch("SAVEPOINT job")?;
                match f(t) {
                    Ok(v) => {
                        t.execute_batch("RELEASE job")?;
                        Ok(v)
                    }
                    Err(e) => {
                        t.execute_batch("ROLLBACK TO job; RELEASE job")?;
                        Err(e)
                    }
                }
            })();
            Box::new(move |committed: bool| {
                let r = match r {
                    Ok(_) if !committed => Err(StorageError::WorkerGone),
                    other => other.map_err(StorageError::from),
                };
                let _ = tx.send(r);
            })
        });
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StorageError::WorkerGone)?;
        rx.await.map_err(|_| StorageError::WorkerGone)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let path = self.path.clone();
        let (conn, r) = tokio::task::spawn_blocking(move || {
            let conn = match conn {
                Some(c) => c,
                None => match Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                ) {
                    Ok(c) => {
                        let _ = c.busy_timeout(std::time::Duration::from_secs(10));
                        c
                    }
                    Err(e) => return (None, Err(e)),
                },
            };
            let r = f(&conn);
            (Some(conn), r)
        })
        .await
        .map_err(|_| StorageError::WorkerGone)?;
        if let Some(c) = conn {
            let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < 16 {
                pool.push(c);
            }
        }
        Ok(r?)
    }
}

/// What a hall hub needs beyond [`Storage`]: changes from the central
/// server are marked so they are not relayed back, and the hub's cursors
/// live in `meta`.
impl SqliteStorage {
    /// Store changes pulled from the central server (idempotent by id, like
    /// [`Storage::push`]: an id stored with another body is a conflict, the
    /// stored change kept), marked as coming from upstream.
    pub async fn push_from_upstream(
        &self,
        event_id: Uuid,
        changes: Vec<NewChange>,
        now_ms: i64,
    ) -> Result<PushOutcome> {
        self.insert(event_id, changes, now_ms, true).await
    }

    /// Changes desks pushed to this hub (not those from upstream), after
    /// `after`, at most `limit`: what the hub relays to the central server.
    pub async fn pull_local(&self, event_id: Uuid, after: i64, limit: usize) -> Result<Page> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body FROM changes WHERE event_id = ?1 AND seq > ?2 AND from_upstream = 0
                 ORDER BY seq LIMIT ?3",
            )?;
            page_of(
                st.query(params![event_id.to_string(), after, (limit + 1) as i64])?,
                after,
                limit,
            )
        })
        .await
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row(params![key], |r| r.get(0))
                .optional()
        })
        .await
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    async fn insert(
        &self,
        event_id: Uuid,
        changes: Vec<NewChange>,
        now_ms: i64,
        from_upstream: bool,
    ) -> Result<PushOutcome> {
        self.write(move |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO changes (id, event_id, device_id, kind, hlc, body, received_ms, from_upstream)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING",
            )?;
            let ev = event_id.to_string();
            let mut out = PushOutcome::default();
            for c in &changes {
                let id = c.id.to_string();
                let n = st.execute(params![
                    id,
                    ev,
                    c.device_id.to_string(),
                    c.kind,
                    c.hlc,
                    c.json,
                    now_ms,
                    from_upstream
                ])?;
                if n == 1 {
                    out.accepted += 1;
                    continue;
                }
                // Only rows not inserted are looked up (by the unique id):
                // a retry sends the same bytes; another body under a stored
                // id is refused and the stored change kept.
                let same: bool = tx
                    .prepare_cached("SELECT body = ?2 FROM changes WHERE id = ?1")?
                    .query_row(params![id, c.json], |r| r.get(0))?;
                if same {
                    out.duplicates += 1;
                } else {
                    out.conflicts.push(c.id);
                }
            }
            Ok(out)
        })
        .await
    }
}

fn page_of(mut rows: rusqlite::Rows<'_>, after: i64, limit: usize) -> rusqlite::Result<Page> {
    let mut page = Page {
        cursor: after,
        ..Page::default()
    };
    while let Some(r) = rows.next()? {
        if page.changes.len() == limit {
            page.more = true;
            break;
        }
        page.cursor = r.get(0)?;
        page.changes.push(r.get(1)?);
    }
    Ok(page)
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < 256 {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(t) => t,
            Err(_) => {
                for j in jobs {
                    drop(j);
                }
                continue;
            }
        };
        let replies: Vec<_> = jobs.into_iter().map(|j| j(&tx)).collect();
        let committed = tx.commit().is_ok();
        for reply in replies {
            reply(committed);
        }
    }
}

/// A device row as read ([`DEVICE_COLS`]).
struct DeviceRow {
    id: String,
    name: String,
    role: String,
    event_id: String,
    paired_at_ms: i64,
    last_seen_ms: Option<i64>,
    revoked: bool,
    public_key: String,
    refused: i64,
    revoked_at_ms: Option<i64>,
}

const DEVICE_COLS: &str =
    "id, name, role, event_id, paired_at_ms, last_seen_ms, revoked, public_key, refused, revoked_at_ms";

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        event_id: r.get(3)?,
        paired_at_ms: r.get(4)?,
        last_seen_ms: r.get(5)?,
        revoked: r.get(6)?,
        public_key: r.get(7)?,
        refused: r.get(8)?,
        revoked_at_ms: r.get(9)?,
    })
}

fn to_info(t: DeviceRow) -> Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: parse_uuid(&t.id)?,
        name: t.name,
        role: parse_role(&t.role)?,
        event_id: parse_uuid(&t.event_id)?,
        paired_at_ms: t.paired_at_ms,
        last_seen_ms: t.last_seen_ms,
        revoked: t.revoked,
        revoked_at_ms: t.revoked_at_ms,
        public_key: t.public_key,
        refused: u64::try_from(t.refused).unwrap_or(0),
    })
}

/// The wall clock in ms (when a device is revoked; the trait passes no time).
fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The stored hex of [`Storage::server_secret`] as bytes.
fn secret_from_hex(hex: &str) -> Result<[u8; 32]> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| StorageError::Corrupt("the server secret is not 32 bytes of hex".into()))
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn push(&self, event_id: Uuid, changes: Vec<NewChange>, now_ms: i64) -> Result<PushOutcome> {
        self.insert(event_id, changes, now_ms, false).await
    }

    async fn pull(&self, event_id: Uuid, after: i64, limit: usize) -> Result<Page> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body FROM changes WHERE event_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            page_of(
                st.query(params![event_id.to_string(), after, (limit + 1) as i64])?,
                after,
                limit,
            )
        })
        .await
    }

    async fn create_pairing(&self, p: NewPairing) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO pairing_codes (code_hash, role, event_id, created_at_ms, expires_at_ms, device_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    p.code_hash,
                    p.role.as_str(),
                    p.event_id.map(|e| e.to_string()),
                    p.created_at_ms,
                    p.expires_at_ms,
                    p.device_id.map(|d| d.to_string())
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeem_pairing(&self, code_hash: &str, now_ms: i64) -> Result<Option<Redeemed>> {
        let code_hash = code_hash.to_string();
        let row: Option<(String, Option<String>, Option<String>)> = self
            .write(move |tx| {
                tx.query_row(
                    "UPDATE pairing_codes SET used_at_ms = ?2
                     WHERE code_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2
                     RETURNING role, event_id, device_id",
                    params![code_hash, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
            })
            .await?;
        row.map(|(role, ev, device)| {
            Ok(Redeemed {
                role: parse_role(&role)?,
                event_id: ev.map(|e| parse_uuid(&e)).transpose()?,
                device_id: device.map(|d| parse_uuid(&d)).transpose()?,
            })
        })
        .transpose()
    }

    async fn save_device(&self, d: NewDevice, replace: bool) -> Result<Saved> {
        // One job, so one savepoint: the insert and the replacement are one
        // atomic step.
        self.write(move |tx| {
            let id = d.id.to_string();
            let key = data_encoding::HEXLOWER.encode(&d.public_key);
            let inserted = tx.execute(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, public_key, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)
                 ON CONFLICT(id) DO NOTHING",
                params![
                    id,
                    d.name,
                    d.role.as_str(),
                    d.event_id.to_string(),
                    d.token_hash,
                    d.paired_at_ms,
                    key
                ],
            )?;
            if inserted == 1 {
                return Ok(Saved::Inserted);
            }
            if !replace {
                return Ok(Saved::Taken);
            }
            // Re-pairing this device: new name, token and key; a revoked
            // device stays revoked.
            tx.execute(
                "UPDATE devices SET name = ?2, role = ?3, event_id = ?4, token_hash = ?5,
                   paired_at_ms = ?6, public_key = ?7
                 WHERE id = ?1",
                params![
                    id,
                    d.name,
                    d.role.as_str(),
                    d.event_id.to_string(),
                    d.token_hash,
                    d.paired_at_ms,
                    key
                ],
            )?;
            Ok(Saved::Replaced)
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceInfo>> {
        let token_hash = token_hash.to_string();
        let row = self
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE token_hash = ?1"
                ))?
                .query_row(params![token_hash], device_from_row)
                .optional()
            })
            .await?;
        row.map(to_info).transpose()
    }

    async fn touch_device(&self, id: Uuid, now_ms: i64) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE devices SET last_seen_ms = ?2 WHERE id = ?1",
                params![id.to_string(), now_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let rows = self
            .read(|c| {
                c.prepare_cached(&format!(
                    "SELECT {DEVICE_COLS} FROM devices ORDER BY paired_at_ms, id"
                ))?
                .query_map([], device_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter().map(to_info).collect()
    }

    async fn revoke_device(&self, id: Uuid) -> Result<Option<DeviceInfo>> {
        let row = self
            .write(move |tx| {
                // The first revocation's time is kept.
                tx.query_row(
                    &format!(
                        "UPDATE devices SET revoked = 1, revoked_at_ms = coalesce(revoked_at_ms, ?2)
                         WHERE id = ?1 RETURNING {DEVICE_COLS}"
                    ),
                    params![id.to_string(), wall_ms()],
                    device_from_row,
                )
                .optional()
            })
            .await?;
        row.map(to_info).transpose()
    }

    async fn has_coordinator(&self) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE role = 'coordinator' AND revoked = 0)",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn log_id(&self) -> Result<String> {
        self.meta("log_id")
            .await?
            .ok_or_else(|| StorageError::Corrupt("the server database has no log id".into()))
    }

    async fn device_records(&self, event_id: Uuid) -> Result<Vec<DeviceRecord>> {
        let rows = self
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE event_id = ?1 ORDER BY paired_at_ms, id"
                ))?
                .query_map(params![event_id.to_string()], device_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|d| {
                Ok(DeviceRecord {
                    id: parse_uuid(&d.id)?,
                    name: d.name,
                    role: parse_role(&d.role)?,
                    event_id: parse_uuid(&d.event_id)?,
                    public_key: d.public_key,
                    paired_at_ms: d.paired_at_ms,
                    revoked: d.revoked,
                    revoked_at_ms: d.revoked_at_ms,
                })
            })
            .collect()
    }

    async fn mirror_devices(&self, records: Vec<DeviceRecord>) -> Result<()> {
        self.write(move |tx| {
            // A hub authenticates desks by signature, never by token: the
            // mirrored rows get a token hash no token hashes to (a real one
            // is 64 hex digits), which also replaces any real hash an older
            // hub mirrored. The hub's own refused counts stay.
            let mut st = tx.prepare_cached(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked,
                   public_key, revoked_at_ms)
                 VALUES (?1, ?2, ?3, ?4, 'mirror:' || ?1, ?5, ?6, ?7, ?8)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   event_id = excluded.event_id, token_hash = excluded.token_hash,
                   paired_at_ms = excluded.paired_at_ms, revoked = excluded.revoked,
                   public_key = excluded.public_key, revoked_at_ms = excluded.revoked_at_ms",
            )?;
            for d in &records {
                st.execute(params![
                    d.id.to_string(),
                    d.name,
                    d.role.as_str(),
                    d.event_id.to_string(),
                    d.paired_at_ms,
                    d.revoked,
                    d.public_key.to_ascii_lowercase(),
                    d.revoked_at_ms
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn count_refused(&self, device_id: Uuid, n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.write(move |tx| {
            // Saturating: an overflowing SQLite integer would turn into a real.
            tx.execute(
                "UPDATE devices SET refused = CASE WHEN refused > 9223372036854775807 - ?2
                   THEN 9223372036854775807 ELSE refused + ?2 END
                 WHERE id = ?1",
                params![device_id.to_string(), n],
            )?;
            Ok(())
        })
        .await
    }

    async fn server_secret(&self) -> Result<[u8; 32]> {
        if let Some(s) = self.secret.get() {
            return Ok(*s);
        }
        let hex = match self.meta("server_secret").await? {
            Some(hex) => hex,
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| {
                    StorageError::Corrupt(format!("the operating system's random source failed: {e}"))
                })?;
                let fresh = data_encoding::HEXLOWER.encode(&fresh);
                // Kept if another call made one first: the first one stays.
                self.write(move |tx| {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('server_secret', ?1)
                         ON CONFLICT(key) DO NOTHING",
                        params![fresh],
                    )?;
                    tx.query_row("SELECT value FROM meta WHERE key = 'server_secret'", [], |r| {
                        r.get(0)
                    })
                })
                .await?
            }
        };
        let secret = secret_from_hex(&hex)?;
        Ok(*self.secret.get_or_init(|| secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkin_sync::protocol::Role;

    /// A database file in the temp dir, removed (with its WAL) when dropped.
    struct TempDb(PathBuf);

    impl TempDb {
        fn new() -> TempDb {
            TempDb(std::env::temp_dir().join(format!("checkin-storage-{}.db", Uuid::now_v7())))
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
            }
        }
    }

    fn device(id: Uuid, event_id: Uuid, name: &str, token_hash: &str, key: u8) -> NewDevice {
        NewDevice {
            id,
            name: name.into(),
            role: Role::Volunteer,
            event_id,
            token_hash: token_hash.into(),
            paired_at_ms: 1_000 + key as i64,
            public_key: [key; 32],
        }
    }

    fn change(id: Uuid, device_id: Uuid, json: &str) -> NewChange {
        NewChange {
            id,
            device_id,
            kind: "checkin".into(),
            hlc: "0000000001000-000000-x".into(),
            json: json.into(),
        }
    }

    #[tokio::test]
    async fn pairing_codes_carry_the_device_they_re_pair() {
        let db = TempDb::new();
        let s = SqliteStorage::open(&db.0).unwrap();
        let (ev, dev) = (Uuid::now_v7(), Uuid::now_v7());
        for (code, device_id) in [("plain", None), ("again", Some(dev))] {
            s.create_pairing(NewPairing {
                code_hash: code.into(),
                role: Role::Host,
                event_id: Some(ev),
                created_at_ms: 1,
                expires_at_ms: 100,
                device_id,
            })
            .await
            .unwrap();
        }
        let r = s.redeem_pairing("plain", 50).await.unwrap().unwrap();
        assert_eq!((r.role, r.event_id, r.device_id), (Role::Host, Some(ev), None));
        let r = s.redeem_pairing("again", 50).await.unwrap().unwrap();
        assert_eq!(r.device_id, Some(dev));
        assert!(
            s.redeem_pairing("again", 50).await.unwrap().is_none(),
            "used once"
        );
    }

    #[tokio::test]
    async fn pairing_never_overwrites_a_device_unless_replacing_it() {
        let db = TempDb::new();
        let s = SqliteStorage::open(&db.0).unwrap();
        let (ev, id) = (Uuid::now_v7(), Uuid::now_v7());

        let saved = s
            .save_device(device(id, ev, "desk 1", "hash-1", 1), false)
            .await
            .unwrap();
        assert_eq!(saved, Saved::Inserted);
        let first = s.device_by_token("hash-1").await.unwrap().unwrap();
        assert_eq!(first.public_key, "01".repeat(32));
        assert_eq!((first.refused, first.revoked_at_ms), (0, None));

        // Same id, no code for it: nothing changes, the old token still works.
        let saved = s
            .save_device(device(id, ev, "intruder", "hash-2", 2), false)
            .await
            .unwrap();
        assert_eq!(saved, Saved::Taken);
        assert!(s.device_by_token("hash-2").await.unwrap().is_none());
        let still = s.device_by_token("hash-1").await.unwrap().unwrap();
        assert_eq!(
            (still.name.as_str(), still.public_key.as_str()),
            ("desk 1", first.public_key.as_str())
        );
        assert_eq!(s.devices().await.unwrap().len(), 1);

        // Revoked, then re-paired with a code for it: new name, token and
        // key; still revoked, at the same time.
        let revoked = s.revoke_device(id).await.unwrap().unwrap();
        let at = revoked.revoked_at_ms.expect("revocation time");
        assert!(revoked.revoked && at > 1_600_000_000_000);
        let mut again = device(id, ev, "desk 1b", "hash-3", 3);
        again.role = Role::Host;
        assert_eq!(s.save_device(again, true).await.unwrap(), Saved::Replaced);
        assert!(
            s.device_by_token("hash-1").await.unwrap().is_none(),
            "old token gone"
        );
        let now = s.device_by_token("hash-3").await.unwrap().unwrap();
        assert_eq!(now.name, "desk 1b");
        assert_eq!(now.role, Role::Host);
        assert_eq!(now.public_key, "03".repeat(32));
        assert_eq!(now.paired_at_ms, 1_003);
        assert!(now.revoked);
        assert_eq!(now.revoked_at_ms, Some(at));
        // Revoking again keeps the first time.
        let twice = s.revoke_device(id).await.unwrap().unwrap();
        assert_eq!(twice.revoked_at_ms, Some(at));

        // replace with no row yet simply inserts.
        let other = Uuid::now_v7();
        let saved = s
            .save_device(device(other, ev, "desk 2", "hash-4", 4), true)
            .await
            .unwrap();
        assert_eq!(saved, Saved::Inserted);
        assert_eq!(s.devices().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn refused_changes_are_counted() {
        let db = TempDb::new();
        let s = SqliteStorage::open(&db.0).unwrap();
        let (ev, id) = (Uuid::now_v7(), Uuid::now_v7());
        s.save_device(device(id, ev, "desk", "hash", 7), false)
            .await
            .unwrap();
        s.count_refused(id, 3).await.unwrap();
        s.count_refused(id, 0).await.unwrap();
        s.count_refused(id, 2).await.unwrap();
        s.count_refused(Uuid::now_v7(), 5).await.unwrap(); // unknown: no error
        assert_eq!(s.device_by_token("hash").await.unwrap().unwrap().refused, 5);
        s.count_refused(id, u64::MAX).await.unwrap();
        assert_eq!(
            s.devices().await.unwrap()[0].refused,
            i64::MAX as u64,
            "saturates"
        );
    }

    #[tokio::test]
    async fn the_server_secret_is_made_once_and_kept() {
        let db = TempDb::new();
        let s = SqliteStorage::open(&db.0).unwrap();
        let a = s.server_secret().await.unwrap();
        assert_ne!(a, [0; 32]);
        assert_eq!(s.server_secret().await.unwrap(), a);
        drop(s);
        let s = SqliteStorage::open(&db.0).unwrap();
        assert_eq!(s.server_secret().await.unwrap(), a, "same after reopening");
        assert_eq!(
            s.meta("server_secret").await.unwrap(),
            Some(data_encoding::HEXLOWER.encode(&a))
        );
        let other = TempDb::new();
        let o = SqliteStorage::open(&other.0).unwrap();
        assert_ne!(o.server_secret().await.unwrap(), a, "one per storage");
    }

    #[tokio::test]
    async fn a_stored_id_with_another_body_is_a_conflict() {
        let db = TempDb::new();
        let s = SqliteStorage::open(&db.0).unwrap();
        let (ev, dev) = (Uuid::now_v7(), Uuid::now_v7());
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let out = s
            .push(
                ev,
                vec![change(a, dev, r#"{"a":1}"#), change(b, dev, r#"{"b":1}"#)],
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            PushOutcome {
                accepted: 2,
                duplicates: 0,
                conflicts: vec![]
            }
        );

        let out = s
            .push(
                ev,
                vec![
                    change(a, dev, r#"{"a":1}"#),  // a retry
                    change(b, dev, r#"{"b":2}"#),  // another body
                    change(b, dev, r#"{"b":1} "#), // not byte-identical either
                    change(c, dev, r#"{"c":1}"#),
                    change(c, dev, r#"{"c":1}"#), // twice in one push
                    change(c, dev, r#"{"c":9}"#),
                ],
                20,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            PushOutcome {
                accepted: 1,
                duplicates: 2,
                conflicts: vec![b, b, c]
            }
        );
        let page = s.pull(ev, 0, 100).await.unwrap();
        assert_eq!(
            page.changes,
            [r#"{"a":1}"#, r#"{"b":1}"#, r#"{"c":1}"#],
            "stored ones kept"
        );

        // From upstream: the same rule.
        let d = Uuid::now_v7();
        let out = s
            .push_from_upstream(
                ev,
                vec![
                    change(a, dev, r#"{"a":1}"#),
                    change(b, dev, "{}"),
                    change(d, dev, r#"{"d":1}"#),
                ],
                30,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            PushOutcome {
                accepted: 1,
                duplicates: 1,
                conflicts: vec![b]
            }
        );
        assert_eq!(s.pull_local(ev, 0, 100).await.unwrap().changes.len(), 3);
        assert_eq!(s.pull(ev, 0, 100).await.unwrap().changes.len(), 4);
    }

    #[tokio::test]
    async fn mirrored_devices_carry_keys_and_no_token() {
        let server_db = TempDb::new();
        let server = SqliteStorage::open(&server_db.0).unwrap();
        let (ev, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        server
            .save_device(device(a, ev, "a", "hash-a", 0xab), false)
            .await
            .unwrap();
        server
            .save_device(device(b, ev, "b", "hash-b", 0xcd), false)
            .await
            .unwrap();
        server
            .save_device(
                device(Uuid::now_v7(), Uuid::now_v7(), "elsewhere", "hash-x", 1),
                false,
            )
            .await
            .unwrap();
        server.revoke_device(b).await.unwrap();
        let records = server.device_records(ev).await.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].public_key, "ab".repeat(32));
        assert!(!records[0].revoked && records[0].revoked_at_ms.is_none());
        assert!(records[1].revoked && records[1].revoked_at_ms.is_some());

        let hub_db = TempDb::new();
        let hub = SqliteStorage::open(&hub_db.0).unwrap();
        // A row an older hub mirrored with the real token hash.
        hub.save_device(device(a, ev, "a", "hash-a", 0xab), false)
            .await
            .unwrap();
        hub.mirror_devices(records.clone()).await.unwrap();
        hub.mirror_devices(records.clone()).await.unwrap(); // again: an update
        assert_eq!(hub.device_records(ev).await.unwrap(), records);
        assert!(
            hub.device_by_token("hash-a").await.unwrap().is_none(),
            "old hash replaced"
        );
        assert!(hub.device_by_token("hash-b").await.unwrap().is_none());
        let token_hashes: Vec<String> = hub
            .read(|c| {
                c.prepare("SELECT token_hash FROM devices ORDER BY paired_at_ms")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .await
            .unwrap();
        assert_eq!(token_hashes, [format!("mirror:{a}"), format!("mirror:{b}")]);
    }

    #[tokio::test]
    async fn devices_of_an_older_database_read_with_an_empty_key() {
        let db = TempDb::new();
        {
            let conn = open(&db.0).unwrap();
            for sql in &SCHEMA[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
                 VALUES ('0190b1a0-0000-7000-8000-000000000001', 'old', 'volunteer',
                         '0190b1a0-0000-7000-8000-000000000002', 'old-hash', 5, 1);
                 INSERT INTO pairing_codes (code_hash, role, event_id, created_at_ms, expires_at_ms)
                 VALUES ('old-code', 'host', NULL, 1, 100);",
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&db.0).unwrap();
        let d = s.device_by_token("old-hash").await.unwrap().unwrap();
        assert_eq!(
            (d.public_key.as_str(), d.refused, d.revoked, d.revoked_at_ms),
            ("", 0, true, None)
        );
        let r = s.redeem_pairing("old-code", 50).await.unwrap().unwrap();
        assert_eq!((r.event_id, r.device_id), (None, None));
    }
}
