//! Statistics for coordinator desks (`GET /v1/stats`), and what the claims
//! check of a push knows about the event ([`Replicas::with_facts`]).
//!
//! The claims check needs only which attendees, locations and check-ins
//! exist and the event's days: a [`Known`] per event, caught up from the
//! stored log by parsing what arrived since (no database writes), behind its
//! own lock, so pushes never wait on a statistics replica applying changes.
//!
//! The server stores changes without interpreting them; to answer with
//! statistics it keeps, per event asked about, a *replica*: an in-memory core
//! [`Store`] that applies the event's log with the same `apply` every desk
//! uses, and a [`StatsCache`] that follows it. So the numbers are the ones a
//! fully synced desk computes, by the same code. A replica is built from
//! storage on first use (and again after a restart); later requests only
//! apply what arrived since. It is a cache: losing it loses nothing, and each
//! of several PostgreSQL-backed instances keeps its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use checkin_core::claims::{Facts, Known};
use checkin_core::model::Device;
use checkin_core::stats::{Stats, StatsCache};
use checkin_core::store::Store;
use checkin_core::store::changes::ChangeEnvelope;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::storage::{Storage, StorageError};

/// Changes read from storage per step while catching up.
const PAGE: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the server could not compute statistics: {0}; try again, or restart the server to rebuild them")]
    Core(#[from] checkin_core::error::CoreError),
    #[error("a stored change is damaged ({0}); the statistics cannot be computed")]
    Damaged(String),
    #[error("no desk has uploaded this event yet: sync the coordinator desk first")]
    NoEvent,
}

struct Replica {
    store: Store,
    cache: Option<StatsCache>,
    cursor: i64,
}

/// Which days a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// Today in the event's time zone.
    Today,
    One(NaiveDate),
    /// Every event day, and any other day with check-ins.
    All,
}

/// The replicas of one server instance, one per event.
#[derive(Default)]
pub struct Replicas {
    events: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Option<Replica>>>>>,
    facts: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<KnownSoFar>>>>,
}

/// What the stored log of one event says, up to `cursor`.
#[derive(Default)]
struct KnownSoFar {
    known: Known,
    cursor: i64,
}

impl Replicas {
    /// The replica of `event_id`, caught up with storage, locked for the
    /// caller (one request per event catches up at a time; the others wait
    /// and then find little or nothing to apply).
    async fn caught_up(
        &self,
        storage: &dyn Storage,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(tokio::sync::OwnedMutexGuard<Option<Replica>>, Replica), StatsError> {
        let slot = {
            let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
            events.entry(event_id).or_default().clone()
        };
        let mut guard = slot.lock_owned().await;
        let mut replica = match guard.take() {
            Some(r) => r,
            None => Replica {
                store: tokio::task::spawn_blocking(move || {
                    Store::open_in_memory(
                        Device {
                            id: Uuid::now_v7(),
                            name: "server replica".into(),
                        },
                        now,
                    )
                })
                .await
                .expect("opening an in-memory database does not panic")?,
                cache: None,
                cursor: 0,
            },
        };
        loop {
            let page = match storage.pull(event_id, replica.cursor, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    *guard = Some(replica);
                    return Err(e.into());
                }
            };
            let changes = page
                .changes
                .iter()
                .map(|j| {
                    serde_json::from_str::<ChangeEnvelope>(j).map_err(|e| StatsError::Damaged(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let more = page.more;
            let cursor = page.cursor;
            if !changes.is_empty() {
                // Stored changes were checked when they were pushed: the
                // replica (never paired) applies them as they are.
                replica = run_blocking(move || {
                    replica.store.apply_remote(&changes, now)?;
                    replica.cursor = cursor;
                    Ok(replica)
                })
                .await?;
            } else {
                replica.cursor = cursor;
            }
            if !more {
                break;
            }
        }
        Ok((guard, replica))
    }

    /// Run `f` over what the event's stored log says (for the claims check
    /// of a push: which attendees, locations and check-ins exist). One
    /// check per event at a time, so two pushes never both count on the
    /// same log; the caller stores what `f` admitted before the next push
    /// of the same desk.
    pub async fn with_facts<R: Send + 'static>(
        &self,
        storage: &dyn Storage,
        event_id: Uuid,
        f: impl FnOnce(&dyn Facts) -> R + Send + 'static,
    ) -> Result<R, StatsError> {
        let slot = {
            let mut facts = self.facts.lock().unwrap_or_else(|p| p.into_inner());
            facts.entry(event_id).or_default().clone()
        };
        let mut guard = slot.lock_owned().await;
        loop {
            let page = storage.pull(event_id, guard.cursor, PAGE).await?;
            let more = page.more;
            let cursor = page.cursor;
            if !page.changes.is_empty() {
                let mut so_far = std::mem::take(&mut *guard);
                so_far = tokio::task::spawn_blocking(move || {
                    for j in &page.changes {
                        let env = serde_json::from_str::<ChangeEnvelope>(j)
                            .map_err(|e| StatsError::Damaged(e.to_string()))?;
                        so_far.known.note(&env);
                    }
                    Ok::<_, StatsError>(so_far)
                })
                .await
                .expect("reading stored changes does not panic")?;
                *guard = so_far;
            }
            guard.cursor = cursor;
            if !more {
                break;
            }
        }
        let so_far = std::mem::take(&mut *guard);
        let (so_far, out) = tokio::task::spawn_blocking(move || {
            let out = f(&so_far.known);
            (so_far, out)
        })
        .await
        .expect("checking changes does not panic");
        *guard = so_far;
        Ok(out)
    }

    /// Statistics of `event_id` for `days`, after
    /// applying whatever storage holds beyond the replica's cursor.
    pub async fn stats(
        &self,
        storage: &dyn Storage,
        event_id: Uuid,
        days: Days,
        now: DateTime<Utc>,
    ) -> Result<Stats, StatsError> {
        let (mut guard, replica) = self.caught_up(storage, event_id, now).await?;
        let (replica, result) = tokio::task::spawn_blocking(move || {
            let mut replica = replica;
            let result = (|| {
                if replica.store.event().is_none() {
                    return Err(StatsError::NoEvent);
                }
                let cache = match replica.cache.as_mut() {
                    Some(c) => {
                        c.refresh(&replica.store)?;
                        c
                    }
                    None => replica.cache.insert(StatsCache::load(&replica.store)?),
                };
                let day = match days {
                    Days::Today => Some(replica.store.day_of(now)?),
                    Days::One(d) => Some(d),
                    Days::All => None,
                };
                Ok(cache.stats(&replica.store, day, now)?)
            })();
            (replica, result)
        })
        .await
        .expect("statistics do not panic");
        *guard = Some(replica);
        result
    }
}

async fn run_blocking(
    f: impl FnOnce() -> Result<Replica, StatsError> + Send + 'static,
) -> Result<Replica, StatsError> {
    tokio::task::spawn_blocking(f)
        .await
        .expect("applying changes does not panic")
}
