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
];

type Job = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> Box<dyn FnOnce(bool) + Send> + Send>;

pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
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
    /// [`Storage::push`]), marked as coming from upstream.
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
                let n = st.execute(params![
                    c.id.to_string(),
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
                } else {
                    out.duplicates += 1;
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

/// A device row as read: id, name, role, event, paired, last seen, revoked.
type DeviceRow = (String, String, String, String, i64, Option<i64>, bool);

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_info(t: DeviceRow) -> Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: parse_uuid(&t.0)?,
        name: t.1,
        role: parse_role(&t.2)?,
        event_id: parse_uuid(&t.3)?,
        paired_at_ms: t.4,
        last_seen_ms: t.5,
        revoked: t.6,
    })
}

const DEVICE_COLS: &str = "id, name, role, event_id, paired_at_ms, last_seen_ms, revoked";

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
                "INSERT INTO pairing_codes (code_hash, role, event_id, created_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.code_hash,
                    p.role.as_str(),
                    p.event_id.map(|e| e.to_string()),
                    p.created_at_ms,
                    p.expires_at_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeem_pairing(&self, code_hash: &str, now_ms: i64) -> Result<Option<Redeemed>> {
        let code_hash = code_hash.to_string();
        let row: Option<(String, Option<String>)> = self
            .write(move |tx| {
                tx.query_row(
                    "UPDATE pairing_codes SET used_at_ms = ?2
                     WHERE code_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2
                     RETURNING role, event_id",
                    params![code_hash, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
            })
            .await?;
        row.map(|(role, ev)| {
            Ok(Redeemed {
                role: parse_role(&role)?,
                event_id: ev.map(|e| parse_uuid(&e)).transpose()?,
            })
        })
        .transpose()
    }

    async fn save_device(&self, d: NewDevice) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   event_id = excluded.event_id, token_hash = excluded.token_hash,
                   paired_at_ms = excluded.paired_at_ms, revoked = 0",
                params![
                    d.id.to_string(),
                    d.name,
                    d.role.as_str(),
                    d.event_id.to_string(),
                    d.token_hash,
                    d.paired_at_ms
                ],
            )?;
            Ok(())
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
                tx.query_row(
                    &format!("UPDATE devices SET revoked = 1 WHERE id = ?1 RETURNING {DEVICE_COLS}"),
                    params![id.to_string()],
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
                c.prepare_cached(
                    "SELECT id, name, role, event_id, token_hash, paired_at_ms, revoked FROM devices
                     WHERE event_id = ?1 ORDER BY paired_at_ms, id",
                )?
                .query_map(params![event_id.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, bool>(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(id, name, role, ev, token_hash, paired_at_ms, revoked)| {
                Ok(DeviceRecord {
                    id: parse_uuid(&id)?,
                    name,
                    role: parse_role(&role)?,
                    event_id: parse_uuid(&ev)?,
                    token_hash,
                    paired_at_ms,
                    revoked,
                })
            })
            .collect()
    }

    async fn mirror_devices(&self, records: Vec<DeviceRecord>) -> Result<()> {
        self.write(move |tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   event_id = excluded.event_id, token_hash = excluded.token_hash,
                   paired_at_ms = excluded.paired_at_ms, revoked = excluded.revoked",
            )?;
            for d in &records {
                st.execute(params![
                    d.id.to_string(),
                    d.name,
                    d.role.as_str(),
                    d.event_id.to_string(),
                    d.token_hash,
                    d.paired_at_ms,
                    d.revoked
                ])?;
            }
            Ok(())
        })
        .await
    }
}
