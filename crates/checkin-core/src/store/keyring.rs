//! Who may author changes here, and with which key: the central server's
//! key (the trust anchor, saved when the desk paired) and the devices it
//! enrolled (role, public key) with their revocations. Every change that
//! arrives is screened against it ([`Keyring::screen`]) before it is staged
//! or written: a valid signature by a known author, and the claims
//! [`crate::claims::check`] can decide without the database.
//!
//! Shared like the inbox (its own lock, taken by the sync client's reader
//! while the store may be busy writing). It only ever learns from changes
//! it verified: enrolments signed by the server key, revocations signed by
//! a coordinator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::change::{Change, ChangeEnvelope, SERVER_AUTHOR, SignatureError, verify_all};
use crate::claims::{self, Author, Refusal};
use crate::hlc::Hlc;
use crate::model::Role;

pub type SharedKeyring = Arc<Mutex<Keyring>>;

/// Lock a keyring (plain data: usable after a panic elsewhere).
pub fn lock(k: &Mutex<Keyring>) -> MutexGuard<'_, Keyring> {
    k.lock().unwrap_or_else(|p| p.into_inner())
}

/// A device the server enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDevice {
    pub public: [u8; 32],
    pub role: Role,
    pub revoked_at_ms: Option<i64>,
    /// The enrolment's timestamp (a later one replaces it).
    pub hlc: Hlc,
}

#[derive(Debug, Default, Clone)]
pub struct Keyring {
    /// `None`: this database was never paired, so nothing arrives to check
    /// (a desk applies remote changes only from a server it paired with).
    pub server: Option<[u8; 32]>,
    pub devices: HashMap<Uuid, KnownDevice>,
    /// Changes whose signature was verified recently (a digest of the
    /// signed bytes, signature and key), so a page screened as it arrived
    /// is not verified again when it is written.
    verified: std::collections::HashSet<[u8; 32]>,
}

/// Most remembered verified signatures.
const VERIFIED_MAX: usize = 50_000;

/// What screening a page left: the changes to stage and write, and the ones
/// refused (to report).
#[derive(Debug, Default)]
pub struct Screened {
    pub(crate) accepted: Vec<ChangeEnvelope>,
    pub refused: Vec<Refusal>,
}

impl Screened {
    pub fn accepted(&self) -> &[ChangeEnvelope] {
        &self.accepted
    }
}

/// Meta key of the server's public key (hex).
pub const SERVER_KEY: &str = "trust.server_key";

impl Keyring {
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Keyring> {
        let server = conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                params![SERVER_KEY],
                |r| r.get::<_, String>(0),
            )
            .ok()
            .and_then(|h| crate::change::unhex32(&h));
        let revoked: HashMap<Uuid, i64> = conn
            .prepare("SELECT device_id, at_ms FROM revoked_devices")?
            .query_map([], |r| Ok((super::parse_uuid(r, 0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut devices = HashMap::new();
        let mut st = conn.prepare("SELECT device_id, role, public_key, hlc FROM enrolled_devices")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id = super::parse_uuid(r, 0)?;
            let (Some(role), Ok(public), Ok(hlc)) = (
                Role::parse(&r.get::<_, String>(1)?),
                <[u8; 32]>::try_from(r.get::<_, Vec<u8>>(2)?.as_slice()),
                r.get::<_, String>(3)?.parse::<Hlc>(),
            ) else {
                continue;
            };
            devices.insert(
                id,
                KnownDevice {
                    public,
                    role,
                    revoked_at_ms: revoked.get(&id).copied(),
                    hlc,
                },
            );
        }
        Ok(Keyring {
            server,
            devices,
            verified: Default::default(),
        })
    }

    /// Whether changes are checked here (the database was paired).
    pub fn checks(&self) -> bool {
        self.server.is_some()
    }

    pub fn author(&self, id: Uuid) -> Option<Author> {
        if id == SERVER_AUTHOR {
            return self.server.map(|_| Author::Server);
        }
        self.devices.get(&id).map(|d| Author::Device {
            id,
            role: d.role,
            revoked_at_ms: d.revoked_at_ms,
        })
    }

    fn key_of(&self, id: Uuid) -> Option<[u8; 32]> {
        if id == SERVER_AUTHOR {
            self.server
        } else {
            self.devices.get(&id).map(|d| d.public)
        }
    }

    /// Verify the signatures of `changes` (in one batch) and the claims that
    /// need no database, learning enrolments and revocations as they pass.
    /// A database that was never paired takes everything as it is.
    pub fn screen(&mut self, changes: Vec<ChangeEnvelope>, now_ms: i64) -> Screened {
        if !self.checks() {
            return Screened {
                accepted: changes,
                refused: Vec::new(),
            };
        }
        // Enrolments first, one by one with the server key: the changes of
        // a desk enrolled in this very page are verified with its key.
        let server = self.server.expect("checked above");
        for env in &changes {
            if let Change::Enrolled(e) = &env.change
                && env.device_id == SERVER_AUTHOR
                && env.verify(&server).is_ok()
                && !env.hlc.too_far_ahead(now_ms)
                && let (Some(public), true) = (e.public(), e.device_id != SERVER_AUTHOR)
            {
                let known = self.devices.get(&e.device_id).copied();
                if known.is_none_or(|k| k.hlc < env.hlc) {
                    self.devices.insert(
                        e.device_id,
                        KnownDevice {
                            public,
                            role: e.role,
                            revoked_at_ms: known.and_then(|k| k.revoked_at_ms),
                            hlc: env.hlc,
                        },
                    );
                }
            }
        }
        let digests: Vec<Option<[u8; 32]>> = changes
            .iter()
            .map(|e| {
                let key = self.key_of(e.device_id)?;
                let sig = e.sig.as_ref()?;
                use sha2::{Digest, Sha256};
                let mut h = Sha256::new();
                h.update(e.signed_bytes());
                h.update(sig.as_bytes());
                h.update(key);
                Some(h.finalize().into())
            })
            .collect();
        let fresh: Vec<usize> = (0..changes.len())
            .filter(|&i| digests[i].is_none_or(|d| !self.verified.contains(&d)))
            .collect();
        let items: Vec<(&ChangeEnvelope, Option<[u8; 32]>)> = fresh
            .iter()
            .map(|&i| (&changes[i], self.key_of(changes[i].device_id)))
            .collect();
        let fresh_verdicts = verify_all(&items);
        drop(items);
        let mut verdicts: Vec<Result<(), SignatureError>> = vec![Ok(()); changes.len()];
        for (i, v) in fresh.into_iter().zip(fresh_verdicts) {
            if v.is_ok() {
                if self.verified.len() >= VERIFIED_MAX {
                    self.verified.clear();
                }
                if let Some(d) = digests[i] {
                    self.verified.insert(d);
                }
            }
            verdicts[i] = v;
        }
        let mut out = Screened::default();
        for (env, verdict) in changes.into_iter().zip(verdicts) {
            let Some(author) = self.author(env.device_id) else {
                out.refused.push(Refusal {
                    change: env.id,
                    author: env.device_id,
                    code: "unknown_author",
                    message: format!(
                        "the change's author {} was not enrolled by the central server: it is forged, or this desk has not heard of the desk yet",
                        env.device_id
                    ),
                });
                continue;
            };
            if let Err(e) = verdict {
                out.refused.push(Refusal {
                    change: env.id,
                    author: env.device_id,
                    code: match e {
                        SignatureError::Missing => "unsigned",
                        _ => "bad_signature",
                    },
                    message: e.to_string(),
                });
                continue;
            }
            if let Err(r) = claims::check(&author, &env, None, now_ms) {
                out.refused.push(r);
                continue;
            }
            if let Change::DeviceRevoked { device_id, at_ms, .. } = &env.change
                && let Some(d) = self.devices.get_mut(device_id)
            {
                d.revoked_at_ms = Some(d.revoked_at_ms.map_or(*at_ms, |t| t.min(*at_ms)));
            }
            out.accepted.push(env);
        }
        out
    }
}
