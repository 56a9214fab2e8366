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
];

pub struct PgStorage {
    pool: Pool,
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
        let s = PgStorage { pool };
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

const DEVICE_COLS: &str = "id, name, role, event_id, paired_at_ms, last_seen_ms, revoked";

fn to_info(r: &Row) -> Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: parse_uuid(r.get(0))?,
        name: r.get(1),
        role: parse_role(r.get(2))?,
        event_id: parse_uuid(r.get(3))?,
        paired_at_ms: r.get(4),
        last_seen_ms: r.get(5),
        revoked: r.get(6),
    })
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
        let accepted = tx
            .execute(
                "INSERT INTO changes (id, event_id, device_id, kind, hlc, body, received_ms)
                 SELECT u.id, $1, u.device_id, u.kind, u.hlc, u.body, $7
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                      WITH ORDINALITY AS u(id, device_id, kind, hlc, body, n)
                 ORDER BY u.n
                 ON CONFLICT (id) DO NOTHING",
                &[&ev, &ids, &devices, &kinds, &hlcs, &bodies, &now_ms],
            )
            .await? as usize;
        tx.commit().await?;
        Ok(PushOutcome {
            accepted,
            duplicates: changes.len() - accepted,
        })
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
            "INSERT INTO pairing_codes (code_hash, role, event_id, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &p.code_hash,
                &p.role.as_str(),
                &p.event_id.map(|e| e.to_string()),
                &p.created_at_ms,
                &p.expires_at_ms,
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
                 RETURNING role, event_id",
                &[&code_hash, &now_ms],
            )
            .await?;
        row.map(|r| {
            Ok(Redeemed {
                role: parse_role(r.get(0))?,
                event_id: r.get::<_, Option<&str>>(1).map(parse_uuid).transpose()?,
            })
        })
        .transpose()
    }

    async fn save_device(&self, d: NewDevice) -> Result<()> {
        let c = self.pool.get().await.map_err(pool_err)?;
        c.execute(
            "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
             VALUES ($1, $2, $3, $4, $5, $6, FALSE)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
               event_id = excluded.event_id, token_hash = excluded.token_hash,
               paired_at_ms = excluded.paired_at_ms, revoked = FALSE",
            &[
                &d.id.to_string(),
                &d.name,
                &d.role.as_str(),
                &d.event_id.to_string(),
                &d.token_hash,
                &d.paired_at_ms,
            ],
        )
        .await?;
        Ok(())
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
                &format!("UPDATE devices SET revoked = TRUE WHERE id = $1 RETURNING {DEVICE_COLS}"),
                &[&id.to_string()],
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
                "SELECT id, name, role, event_id, token_hash, paired_at_ms, revoked FROM devices
                 WHERE event_id = $1 ORDER BY paired_at_ms, id",
                &[&event_id.to_string()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRecord {
                    id: parse_uuid(r.get(0))?,
                    name: r.get(1),
                    role: parse_role(r.get(2))?,
                    event_id: parse_uuid(r.get(3))?,
                    token_hash: r.get(4),
                    paired_at_ms: r.get(5),
                    revoked: r.get(6),
                })
            })
            .collect()
    }

    async fn mirror_devices(&self, records: Vec<DeviceRecord>) -> Result<()> {
        let mut c = self.pool.get().await.map_err(pool_err)?;
        let tx = c.transaction().await?;
        for d in &records {
            tx.execute(
                "INSERT INTO devices (id, name, role, event_id, token_hash, paired_at_ms, revoked)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                   event_id = excluded.event_id, token_hash = excluded.token_hash,
                   paired_at_ms = excluded.paired_at_ms, revoked = excluded.revoked",
                &[
                    &d.id.to_string(),
                    &d.name,
                    &d.role.as_str(),
                    &d.event_id.to_string(),
                    &d.token_hash,
                    &d.paired_at_ms,
                    &d.revoked,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
