//! Check-ins received from other desks and not yet written to this desk's
//! database.
//!
//! Under a burst (fifty desks pushing at once) writing what arrives takes a
//! desk longer than receiving it: every check-in lands in several indexes.
//! The sync client stages each received page here the moment it is parsed,
//! then applies it to the database in chunks. Verdicts consult the inbox as
//! well as the database, so a badge used at desk 1 shows
//! `already_checked_in` at desk 2 as soon as desk 2 has heard of it, not
//! once its disk has caught up.
//!
//! The inbox is memory only and holds nothing that is not kept elsewhere:
//! the sync cursor moves only when a page is in the database, so after a
//! crash the same pages are fetched again. Applying a change takes it out
//! of the inbox ([`super::Store::apply_remote`]); a sync client that drops
//! pages it had staged (the connection broke) clears it.
//!
//! Locking: the inbox has its own lock, so staging never waits for the
//! store (which may be busy applying). The store takes the inbox's lock while
//! it holds its own, never the other way round.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use uuid::Uuid;

use super::changes::{Change, ChangeEnvelope};
use crate::model::CheckIn;

/// The inbox as the store and the sync client share it.
pub type SharedInbox = Arc<Mutex<Inbox>>;

/// Received check-ins by person (anonymous counts need no verdict), and
/// the check-ins received annulments point at.
#[derive(Debug, Default)]
pub struct Inbox {
    by_attendee: HashMap<Uuid, Vec<CheckIn>>,
    annulled: HashSet<Uuid>,
}

/// Lock an inbox; a panic elsewhere while it was held leaves plain data
/// that is still usable.
pub fn lock(inbox: &Mutex<Inbox>) -> MutexGuard<'_, Inbox> {
    inbox.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inbox {
    /// Note check-ins and annulments of `changes` (other kinds are not
    /// needed for verdicts and wait for the database). Returns how many were
    /// staged.
    pub fn stage(&mut self, changes: &[ChangeEnvelope]) -> usize {
        let mut n = 0;
        for env in changes {
            match &env.change {
                Change::CheckIn(c) => {
                    if let Some(a) = c.attendee_id {
                        let list = self.by_attendee.entry(a).or_default();
                        if !list.iter().any(|x| x.id == c.id) {
                            list.push(c.clone());
                            n += 1;
                        }
                    }
                }
                Change::Annulment(an) if self.annulled.insert(an.checkin_id) => n += 1,
                _ => {}
            }
        }
        n
    }

    /// Forget `changes`: they are in the database now.
    pub fn unstage(&mut self, changes: &[ChangeEnvelope]) {
        if self.is_empty() {
            return;
        }
        for env in changes {
            match &env.change {
                Change::CheckIn(c) => {
                    if let Some(a) = c.attendee_id
                        && let Some(list) = self.by_attendee.get_mut(&a)
                    {
                        list.retain(|x| x.id != c.id);
                        if list.is_empty() {
                            self.by_attendee.remove(&a);
                        }
                    }
                }
                Change::Annulment(an) => {
                    self.annulled.remove(&an.checkin_id);
                }
                _ => {}
            }
        }
    }

    /// Forget everything staged (pages were dropped before being applied).
    pub fn clear(&mut self) {
        *self = Inbox::default();
    }

    /// Whether nothing waits for the database.
    pub fn is_empty(&self) -> bool {
        self.by_attendee.is_empty() && self.annulled.is_empty()
    }

    /// One person's staged check-ins of `day` that no staged annulment
    /// undoes.
    pub(crate) fn checkins_of(&self, attendee_id: Uuid, day: NaiveDate) -> Vec<CheckIn> {
        self.by_attendee
            .get(&attendee_id)
            .map(|list| {
                list.iter()
                    .filter(|c| c.day == day && !self.annulled.contains(&c.id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a staged annulment undoes this check-in.
    pub(crate) fn is_annulled(&self, checkin_id: Uuid) -> bool {
        self.annulled.contains(&checkin_id)
    }
}
