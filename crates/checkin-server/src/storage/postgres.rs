//! PostgreSQL storage, for deployments that outgrow one machine: several
//! server instances share one database. Pushes to one event are serialised
//! by a transaction-scoped advisory lock, so sequence numbers become visible
//! in order and a pull cursor never skips a change committed late.

use async_trait::async_trait;
use checkin_sync::protocol::{DeviceInfo, DeviceRecord};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use super::*;

const SCHEMA: &[&str] = &[
    r#"
CREATE TABLE changes (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX changes_event_seq ON changes(event_id, seq);
CREATE TABLE pairing_codes (
    code_hash     TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    event_id      TEXT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    paired_at_ms BIGINT NOT NULL,
    last_seen_ms BIGINT,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);
"#,
    r#"
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO server_meta (key, value) VALUES ('log_id', md5(random()::text || clock_timestamp()::text));
"#,
    r#"
-- Protocol 3: codes that re-pair one existing device, devices' public keys
-- (hex; empty for rows paired before), refused changes counted against
-- their author, and when a device was revoked. The server's secret key is
-- made on first use (server_meta 'server_secret').
ALTER TABLE pairing_codes ADD COLUMN device_id TEXT;
ALTER TABLE devices ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN revoked_at_ms BIGINT;
"#,
];

pub struct PgStorage {
    pool: Pool,
    /// [`Storage::server_secret`] once read (it never changes once stored).
    secret: std::sync::OnceLock<[u8; 32]>,
}

fn pool_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Pool(e.to_string())
}

impl PgStorage {
    /// Connect to `url` (`postgres://user:pass@host/db`) and bring the
    /// schema up to date (several instances may start at once).
    pub async fn connect(url: &str) -> Result<PgStorage> {
        let config: tokio_postgres::Config = url.parse()?;
        let mgr = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr).max_size(16).build().map_err(pool_err)?;
        let s = PgStorage {
            pool,
            secret: std::sync::OnceLock::new(),
        };
        s.migrate().await?;
        Ok(s)
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let tx = c.transaction().await?;
        // One instance migrates at a time.
        tx.execute("SELECT pg_advisory_xact_lock(727274)", &[]).await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .await?;
        let version: i32 = tx
            .query_opt("SELECT version FROM schema_version", &[])
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0);
        for (i, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await?;
            tx.execute("DELETE FROM schema_version", &[]).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&((i + 1) as i32)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Remove every table (tests only: a fresh database per test).
    pub async fn reset(url: &str) -> Result<()> {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(
                "DROP TABLE IF EXISTS changes, pairing_codes, devices, server_meta, schema_version CASCADE",
            )
            .await?;
        Ok(())
    }
}

const DEVICE_COLS: &str =
    "id, name, role, event_id, paired_at_ms, last_seen_ms, revoked, public_key, refused, revoked_at_ms";

fn to_info(r: &Row) -> Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: parse_uuid(r.get(0))?,
        name: r.get(1),
        role: parse_role(r.get(2))?,
        event_id: parse_uuid(r.get(3))?,
        paired_at_ms: r.get(4),
        last_seen_ms: r.get(5),
        revoked: r.get(6),
        public_key: r.get(7),
        refused: u64::try_from(r.get::<_, i64>(8)).unwrap_or(0),
        revoked_at_ms: r.get(9),
    })
}

fn to_record(r: &Row) -> Result<DeviceRecord> {
    Ok(DeviceRecord {
        id: parse_uuid(r.get(0))?,
        name: r.get(1),
        role: parse_role(r.get(2))?,
        event_id: parse_uuid(r.get(3))?,
        paired_at_ms: r.get(4),
        revoked: r.get(6),
        public_key: r.get(7),
        revoked_at_ms: r.get(9),
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
impl Storage for PgStorage {
    async fn push(&self, event_id: Uuid, changes: Vec<NewChange>, now_ms: i64) -> Result<PushOutcome> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let tx = c.transaction().await?;
        let ev = event_id.to_string();
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&ev])
            .await?;
        let ids: Vec<String> = changes.iter().map(|c| c.id.to_string()).collect();
        let devices: Vec<String> = changes.iter().map(|c| c.device_id.to_string()).collect();
        let kinds: Vec<&str> = changes.iter().map(|c| c.kind.as_str()).collect();
        let hlcs: Vec<&str> = changes.iter().map(|c| c.hlc.as_str()).collect();
        let bodies: Vec<&str> = changes.iter().map(|c| c.json.as_str()).collect();
        // One statement for the whole batch; WITH ORDINALITY keeps the order
        // the desk sent them in.
        let inserted = tx
            .query(
                "INSERT INTO changes (id, event_id, device_id, kind, hlc, body, received_ms)
                 SELECT u.id, $1, u.device_id, u.kind, u.hlc, u.body, $7
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                      WITH ORDINALITY AS u(id, device_id, kind, hlc, body, n)
                 ORDER BY u.n
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id",
                &[&ev, &ids, &devices, &kinds, &hlcs, &bodies, &now_ms],
            )
            .await?;
        let mut out = PushOutcome {
            accepted: inserted.len(),
            ..PushOutcome::default()
        };
        if inserted.len() < changes.len() {
            // The first of each inserted id is the one stored; every other
            // change is compared with what is stored under its id (one
            // indexed query): the same bytes are a retry, another body a
            // conflict (not stored, the stored change kept).
            let mut fresh: std::collections::HashSet<String> = inserted.iter().map(|r| r.get(0)).collect();
            let rest: Vec<usize> = (0..changes.len()).filter(|&i| !fresh.remove(&ids[i])).collect();
            let wanted: Vec<&str> = rest.iter().map(|&i| ids[i].as_str()).collect();
            let stored: std::collections::HashMap<String, String> = tx
                .query(
                    "SELECT id, body FROM changes WHERE id = ANY($1::text[])",
                    &[&wanted],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            for i in rest {
                match stored.get(&ids[i]) {
                    Some(body) if *body == changes[i].json => out.duplicates += 1,
                    _ => out.conflicts.push(changes[i].id),
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn pull(&self, event_id: Uuid, after: i64, limit: usize) -> Result<Page> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                "SELECT seq, body FROM changes WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&event_id.to_string(), &after, &((limit + 1) as i64)],
            )
            .await?;
        let mut page = Page {
            cursor: after,
            ..Page::default()
        };
        for r in rows {
            if page.changes.len() == limit {
                page.more = true;
                break;
            }
            page.cursor = r.get(0);
            page.changes.push(r.get(1));
        }
        Ok(page)
    }

    async fn create_pairing(&self, p: NewPairing) -> Result<()> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "INSERT INTO pairing_codes (code_hash, role, event_id, created_at_ms, expires_at_ms, device_id)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &p.code_hash,
                &p.role.as_str(),
                &p.event_id.map(|e| e.to_string()),
                &p.created_at_ms,
                &p.expires_at_ms,
                &p.device_id.map(|d| d.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    async fn redeem_pairing(&self, code_hash: &str, now_ms: i64) -> Result<Option<Redeemed>> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let row = c
            .query_opt(
                "UPDATE pairing_codes SET used_at_ms = $2
                 WHERE code_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2
                 RETURNING role, event_id, device_id",
                &[&code_hash, &now_ms],
            )
            .await?;
        row.map(|r| {
            Ok(Redeemed {
                role: parse_role(r.get(0))?,
                event_id: r.get::<_, Option<&str>>(1).map(parse_uuid).transpose()?,
                device_id: r.get::<_, Option<&str>>(2).map(parse_uuid).transpose()?,
            })
        })
        .transpose()
    }

    async fn save_device(&self, d: NewDevice, replace: bool) -> Result<Saved> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let tx = c.transaction().await?;
        let id = d.id.to_string();
        let key = data_encoding::HEXLOWER.encode(&d.public_key);
        let role = d.role.as_str();
        let ev = d.event_id.to_string();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
            [&id, &d.name, &role, &ev, &d.token_hash, &d.paired_at_ms, &key];
        // A concurrent insert of the same id makes this one wait for it and
        // then do nothing: never two rows, never an overwrite.
        let inserted = tx
            .execute(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, public_key, revoked)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE)
                 ON CONFLICT (id) DO NOTHING",
                &params,
            )
            .await?;
        let saved = if inserted == 1 {
            Saved::Inserted
        } else if replace {
            // Re-pairing this device: new name, token and key; a revoked
            // device stays revoked.
            tx.execute(
                "UPDATE devices SET name = $2, role = $3, event_id = $4, token_hash = $5,
                   paired_at_ms = $6, public_key = $7
                 WHERE id = $1",
                &params,
            )
            .await?;
            Saved::Replaced
        } else {
            Saved::Taken
        };
        tx.commit().await?;
        Ok(saved)
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceInfo>> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let row = c
            .query_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )
            .await?;
        row.as_ref().map(to_info).transpose()
    }

    async fn touch_device(&self, id: Uuid, now_ms: i64) -> Result<()> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "UPDATE devices SET last_seen_ms = $2 WHERE id = $1",
            &[&id.to_string(), &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                &format!("SELECT {DEVICE_COLS} FROM devices ORDER BY paired_at_ms, id"),
                &[],
            )
            .await?;
        rows.iter().map(to_info).collect()
    }

    async fn revoke_device(&self, id: Uuid) -> Result<Option<DeviceInfo>> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let row = c
            .query_opt(
                // The first revocation's time is kept.
                &format!(
                    "UPDATE devices SET revoked = TRUE, revoked_at_ms = coalesce(revoked_at_ms, $2)
                     WHERE id = $1 RETURNING {DEVICE_COLS}"
                ),
                &[&id.to_string(), &wall_ms()],
            )
            .await?;
        row.as_ref().map(to_info).transpose()
    }

    async fn has_coordinator(&self) -> Result<bool> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let row = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE role = 'coordinator' AND NOT revoked)",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn log_id(&self) -> Result<String> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let row = c
            .query_opt("SELECT value FROM server_meta WHERE key = 'log_id'", &[])
            .await?;
        row.map(|r| r.get(0))
            .ok_or_else(|| StorageError::Corrupt("the server database has no log id".into()))
    }

    async fn device_records(&self, event_id: Uuid) -> Result<Vec<DeviceRecord>> {
        let c = self.pool.get().await.map_err(pool_err)?;
        let rows = c
            .query(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE event_id = $1 ORDER BY paired_at_ms, id"),
                &[&event_id.to_string()],
            )
            .await?;
        rows.iter().map(to_record).collect()
    }

    async fn mirror_devices(&self, records: Vec<DeviceRecord>) -> Result<()> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let tx = c.transaction().await?;
        // Mirrored rows are never authenticated by token: their token hash
        // is one no token hashes to (a real one is 64 hex digits).
        let st = tx
            .prepare(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked,
                   public_key, revoked_at_ms)
                 VALUES ($1, $2, $3, $4, 'mirror:' || $1::text, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   event_id = excluded.event_id, token_hash = excluded.token_hash,
                   paired_at_ms = excluded.paired_at_ms, revoked = excluded.revoked,
                   public_key = excluded.public_key, revoked_at_ms = excluded.revoked_at_ms",
            )
            .await?;
        for d in &records {
            tx.execute(
                &st,
                &[
                    &d.id.to_string(),
                    &d.name,
                    &d.role.as_str(),
                    &d.event_id.to_string(),
                    &d.paired_at_ms,
                    &d.revoked,
                    &d.public_key.to_ascii_lowercase(),
                    &d.revoked_at_ms,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn count_refused(&self, device_id: Uuid, n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let c = self.pool.get().await.map_err(pool_err)?;
        // Saturating: bigint overflow would be an error.
        c.execute(
            "UPDATE devices SET refused = CASE WHEN refused > 9223372036854775807 - $2
               THEN 9223372036854775807 ELSE refused + $2 END
             WHERE id = $1",
            &[&device_id.to_string(), &n],
        )
        .await?;
        Ok(())
    }

    async fn server_secret(&self) -> Result<[u8; 32]> {
        if let Some(s) = self.secret.get() {
            return Ok(*s);
        }
        let c = self.pool.get().await.map_err(pool_err)?;
        let read = "SELECT value FROM server_meta WHERE key = 'server_secret'";
        let hex: String = match c.query_opt(read, &[]).await? {
            Some(r) => r.get(0),
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| {
                    StorageError::Corrupt(format!("the operating system's random source failed: {e}"))
                })?;
                // Several instances may start at once: the first insert
                // wins (the others wait for it, then do nothing), and every
                // instance reads back the one stored.
                c.execute(
                    "INSERT INTO server_meta (key, value) VALUES ('server_secret', $1)
                     ON CONFLICT (key) DO NOTHING",
                    &[&data_encoding::HEXLOWER.encode(&fresh)],
                )
                .await?;
                c.query_one(read, &[]).await?.get(0)
            }
        };
        let secret = secret_from_hex(&hex)?;
        Ok(*self.secret.get_or_init(|| secret))
    }
}

/// Run with `CHECKIN_TEST_PG=postgres://…` (as `cargo xtask test` sets it);
/// skipped with a message without it. Each test gets a database of its own.
#[cfg(test)]
mod tests {
    use super::*;
    use checkin_sync::protocol::Role;

    /// A fresh database on the `CHECKIN_TEST_PG` server, dropped by
    /// [`TestDb::drop_now`] at the end of a test that passed.
    struct TestDb {
        admin: String,
        name: String,
        url: String,
    }

    impl TestDb {
        async fn new() -> Option<TestDb> {
            let Some(admin) = std::env::var("CHECKIN_TEST_PG").ok().filter(|s| !s.is_empty()) else {
                eprintln!("SKIPPED: PostgreSQL tests need CHECKIN_TEST_PG=postgres://…");
                return None;
            };
            let name = format!("checkin_unit_{}", Uuid::now_v7().simple());
            Self::admin(&admin)
                .await
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            let url = format!("{base}/{name}");
            Some(TestDb { admin, name, url })
        }

        async fn admin(url: &str) -> tokio_postgres::Client {
            let (client, conn) = tokio_postgres::connect(url, NoTls)
                .await
                .expect("CHECKIN_TEST_PG is reachable");
            tokio::spawn(conn);
            client
        }

        async fn drop_now(self) {
            let _ = Self::admin(&self.admin)
                .await
                .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .await;
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
    async fn pairing_never_overwrites_a_device_unless_replacing_it() {
        let Some(db) = TestDb::new().await else { return };
        let s = PgStorage::connect(&db.url).await.unwrap();
        let (ev, id) = (Uuid::now_v7(), Uuid::now_v7());

        for (code, device_id) in [("plain", None), ("again", Some(id))] {
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
        assert_eq!(
            s.redeem_pairing("again", 50).await.unwrap().unwrap().device_id,
            Some(id)
        );
        assert!(
            s.redeem_pairing("again", 50).await.unwrap().is_none(),
            "used once"
        );

        let saved = s
            .save_device(device(id, ev, "desk 1", "hash-1", 1), false)
            .await
            .unwrap();
        assert_eq!(saved, Saved::Inserted);
        let first = s.device_by_token("hash-1").await.unwrap().unwrap();
        assert_eq!(first.public_key, "01".repeat(32));
        assert_eq!((first.refused, first.revoked_at_ms), (0, None));

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
        assert_eq!((now.name.as_str(), now.role), ("desk 1b", Role::Host));
        assert_eq!(now.public_key, "03".repeat(32));
        assert_eq!(now.paired_at_ms, 1_003);
        assert!(now.revoked);
        assert_eq!(now.revoked_at_ms, Some(at));
        assert_eq!(
            s.revoke_device(id).await.unwrap().unwrap().revoked_at_ms,
            Some(at)
        );

        let saved = s
            .save_device(device(Uuid::now_v7(), ev, "desk 2", "hash-4", 4), true)
            .await
            .unwrap();
        assert_eq!(saved, Saved::Inserted);
        assert_eq!(s.devices().await.unwrap().len(), 2);
        drop(s);
        db.drop_now().await;
    }

    #[tokio::test]
    async fn refused_changes_are_counted() {
        let Some(db) = TestDb::new().await else { return };
        let s = PgStorage::connect(&db.url).await.unwrap();
        let (ev, id) = (Uuid::now_v7(), Uuid::now_v7());
        s.save_device(device(id, ev, "desk", "hash", 7), false)
            .await
            .unwrap();
        s.count_refused(id, 3).await.unwrap();
        s.count_refused(id, 0).await.unwrap();
        s.count_refused(id, 2).await.unwrap();
        s.count_refused(Uuid::now_v7(), 5).await.unwrap();
        assert_eq!(s.device_by_token("hash").await.unwrap().unwrap().refused, 5);
        s.count_refused(id, u64::MAX).await.unwrap();
        assert_eq!(
            s.devices().await.unwrap()[0].refused,
            i64::MAX as u64,
            "saturates"
        );
        drop(s);
        db.drop_now().await;
    }

    #[tokio::test]
    async fn the_server_secret_is_made_once_and_shared() {
        let Some(db) = TestDb::new().await else { return };
        // Several instances starting at once all get the same one.
        let instances = futures_util::future::join_all((0..4).map(|_| PgStorage::connect(&db.url))).await;
        let instances: Vec<PgStorage> = instances.into_iter().map(|s| s.unwrap()).collect();
        let secrets = futures_util::future::join_all(instances.iter().map(|s| s.server_secret())).await;
        let a = *secrets[0].as_ref().unwrap();
        assert_ne!(a, [0; 32]);
        for s in &secrets {
            assert_eq!(*s.as_ref().unwrap(), a);
        }
        drop(instances);
        let s = PgStorage::connect(&db.url).await.unwrap();
        assert_eq!(s.server_secret().await.unwrap(), a, "same after reconnecting");
        drop(s);
        db.drop_now().await;
    }

    #[tokio::test]
    async fn a_stored_id_with_another_body_is_a_conflict() {
        let Some(db) = TestDb::new().await else { return };
        let s = PgStorage::connect(&db.url).await.unwrap();
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
                    change(a, dev, r#"{"a":1}"#),
                    change(b, dev, r#"{"b":2}"#),
                    change(b, dev, r#"{"b":1} "#),
                    change(c, dev, r#"{"c":1}"#),
                    change(c, dev, r#"{"c":1}"#),
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
        drop(s);
        db.drop_now().await;
    }

    #[tokio::test]
    async fn mirrored_devices_carry_keys_and_no_token() {
        let Some(db) = TestDb::new().await else { return };
        let s = PgStorage::connect(&db.url).await.unwrap();
        let (ev, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        s.save_device(device(a, ev, "a", "hash-a", 0xab), false)
            .await
            .unwrap();
        s.save_device(device(b, ev, "b", "hash-b", 0xcd), false)
            .await
            .unwrap();
        s.revoke_device(b).await.unwrap();
        let records = s.device_records(ev).await.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].public_key, "ab".repeat(32));
        assert!(!records[0].revoked && records[0].revoked_at_ms.is_none());
        assert!(records[1].revoked && records[1].revoked_at_ms.is_some());

        let mut moved = records.clone();
        moved[0].name = "a, renamed".into();
        s.mirror_devices(moved.clone()).await.unwrap();
        s.mirror_devices(moved.clone()).await.unwrap();
        assert_eq!(s.device_records(ev).await.unwrap(), moved);
        assert!(
            s.device_by_token("hash-a").await.unwrap().is_none(),
            "no token on a mirror"
        );
        drop(s);
        db.drop_now().await;
    }

    #[tokio::test]
    async fn devices_of_an_older_database_read_with_an_empty_key() {
        let Some(db) = TestDb::new().await else { return };
        {
            let c = TestDb::admin(&db.url).await;
            c.batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                .await
                .unwrap();
            for sql in &SCHEMA[..2] {
                c.batch_execute(sql).await.unwrap();
            }
            c.batch_execute(
                "INSERT INTO schema_version (version) VALUES (2);
                 INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
                 VALUES ('0190b1a0-0000-7000-8000-000000000001', 'old', 'volunteer',
                         '0190b1a0-0000-7000-8000-000000000002', 'old-hash', 5, TRUE);",
            )
            .await
            .unwrap();
        }
        let s = PgStorage::connect(&db.url).await.unwrap();
        let d = s.device_by_token("old-hash").await.unwrap().unwrap();
        assert_eq!(
            (d.public_key.as_str(), d.refused, d.revoked, d.revoked_at_ms),
            ("", 0, true, None)
        );
        drop(s);
        db.drop_now().await;
    }
}
