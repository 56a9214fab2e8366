//! Applying a parsed registration list: one transaction, people matched by
//! ticket code then e-mail and updated in place, never duplicated.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, normalise_attendee};
use crate::error::{CoreError, Result};
use crate::model::{Attendee, Category, CategoryEdit, new_id};
use crate::roster::{CategoryValue, ImportProgress, ImportRow, ParsedFile, RowError};
use crate::store::changes::Change;

/// Page cache while an import's transaction is open (negative: KiB).
const IMPORT_CACHE_KIB: i64 = -(512 * 1024);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyOptions {
    /// Import the good rows and skip the bad ones instead of refusing the file.
    pub skip_bad_rows: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows skipped (only with `skip_bad_rows`).
    pub skipped: Vec<RowError>,
    /// Categories the file named that the event did not have, created.
    pub categories_created: Vec<Category>,
    /// Category values sent to existing categories by the mapping.
    pub categories_mapped: Vec<CategoryValue>,
}

impl Store {
    /// Apply a parsed file. With errors in it (and no `skip_bad_rows`) nothing
    /// changes and the errors come back by line number.
    pub fn import(
        &mut self,
        parsed: &ParsedFile,
        opts: ApplyOptions,
        now: DateTime<Utc>,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let mut errors = parsed.errors.clone();
        let existing = self.attendees()?;
        let mut by_id: HashMap<Uuid, Attendee> = HashMap::with_capacity(existing.len());
        let mut by_code: HashMap<String, Uuid> = HashMap::new();
        let mut by_email: HashMap<String, Uuid> = HashMap::new();
        for a in existing {
            for c in &a.ticket_codes {
                by_code.insert(c.clone(), a.id);
            }
            if let Some(e) = &a.email {
                by_email.entry(e.clone()).or_insert(a.id);
            }
            by_id.insert(a.id, a);
        }

        // A value the event does not have becomes a category: its rows carry
        // the value until here.
        let new_code: HashMap<&str, &str> = parsed
            .new_categories
            .iter()
            .map(|v| (v.value.as_str(), v.code.as_str()))
            .collect();
        let mut claimed: HashMap<Uuid, usize> = HashMap::new();
        let mut plan: Vec<(Attendee, bool)> = Vec::with_capacity(parsed.rows.len());
        let mut unchanged = 0;
        for row in &parsed.rows {
            let matched = row
                .ticket_codes
                .iter()
                .find_map(|c| by_code.get(c).copied())
                .or_else(|| row.email.as_ref().and_then(|e| by_email.get(e).copied()));
            if let Some(id) = matched
                && let Some(first) = claimed.insert(id, row.line)
            {
                errors.push(RowError {
                    line: row.line,
                    message: format!(
                        "matches the same person as line {first} (same ticket code or e-mail); merge the two rows"
                    ),
                });
                continue;
            }
            // A ticket code that belongs to someone else than the matched person.
            if let Some(code) = row
                .ticket_codes
                .iter()
                .find(|c| by_code.get(*c).is_some_and(|owner| Some(*owner) != matched))
            {
                errors.push(RowError {
                    line: row.line,
                    message: format!(
                        "ticket code {code:?} already belongs to another person; check the code"
                    ),
                });
                continue;
            }
            let (mut a, is_new) = match matched.and_then(|id| by_id.get(&id)) {
                Some(old) => (old.clone(), false),
                None => (
                    Attendee {
                        id: new_id(now),
                        ..Attendee::default()
                    },
                    true,
                ),
            };
            let before = a.clone();
            fill(&mut a, row);
            if let Some(code) = new_code.get(row.category.as_str()) {
                a.category = (*code).to_string();
            }
            normalise_attendee(&mut a);
            if !is_new && a == before {
                unchanged += 1;
                continue;
            }
            plan.push((a, is_new));
        }

        if !errors.is_empty() && !opts.skip_bad_rows {
            errors.sort_by_key(|e| e.line);
            return Err(CoreError::ImportRejected(errors));
        }
        errors.sort_by_key(|e| e.line);

        let total = plan.len();
        let known: Vec<String> = self.categories()?.iter().map(|c| c.code.clone()).collect();
        let created: Vec<Category> = parsed
            .new_categories
            .iter()
            .filter(|v| !known.contains(&v.code) && plan.iter().any(|(a, _)| a.category == v.code))
            .map(|v| Category {
                code: v.code.clone(),
                label_ru: v.value.chars().take(crate::claims::limits::SHORT).collect(),
                label_en: v.value.chars().take(crate::claims::limits::SHORT).collect(),
                color: Category::NEUTRAL_COLOR.into(),
                days: Vec::new(),
            })
            .collect();
        let mut report = ImportReport {
            unchanged,
            skipped: errors,
            categories_created: created.clone(),
            categories_mapped: parsed.mapped_categories.clone(),
            ..ImportReport::default()
        };
        // The search index is updated on a second thread while SQLite writes;
        // if the transaction fails, the index is rebuilt from the database.
        self.ensure_index()?;
        self.expected_cache.set(None);
        let mut index = std::mem::take(&mut self.index);
        // A big file dirties more pages than the default cache holds; spilling
        // them mid-transaction costs a third of the time.
        self.conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
        // The commit is durable in the write-ahead log; copying that log into
        // the database is left to [`Store::checkpoint`] (the app runs it in the
        // background, the CLI when it closes the database).
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;

        let (written, index_ok) = std::thread::scope(|scope| {
            let indexer = scope.spawn(|| {
                for (a, _) in &plan {
                    index.upsert(a);
                }
            });
            let written = self.write(now, |w| {
                for category in &created {
                    w.record(Change::Category(CategoryEdit {
                        category: category.clone(),
                        removed: false,
                    }))?;
                }
                for (i, (a, is_new)) in plan.iter().enumerate() {
                    w.record(Change::Attendee(a.clone()))?;
                    if *is_new {
                        report.created += 1;
                    } else {
                        report.updated += 1;
                    }
                    if (i + 1) % 1000 == 0 {
                        progress(ImportProgress {
                            rows_done: i + 1,
                            rows_total: Some(total),
                        });
                    }
                }
                Ok(())
            });
            (written, indexer.join().is_ok())
        });
        self.index = index;
        let restored = self
            .conn
            .pragma_update(None, "cache_size", super::CACHE_KIB)
            .and_then(|()| {
                self.conn
                    .pragma_update(None, "wal_autocheckpoint", super::WAL_AUTOCHECKPOINT_PAGES)
            });
        if written.is_err() || !index_ok {
            // The index is only a cache of the database: rebuild it from what
            // is really there.
            self.reload()?;
        } else if let Some(ctx) = self.ctx.as_mut() {
            ctx.event.categories.extend(created);
        }
        written?;
        restored?;
        progress(ImportProgress {
            rows_done: total,
            rows_total: Some(total),
        });
        Ok(report)
    }
}

/// Copy a row's fields onto an attendee. Empty cells don't erase what the
/// desk already knows, except days, where empty means "every day".
fn fill(a: &mut Attendee, row: &ImportRow) {
    a.full_name = row.full_name.clone();
    let keep = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
    a.latin_name = keep(&row.latin_name, &a.latin_name);
    a.organization = keep(&row.organization, &a.organization);
    a.position = keep(&row.position, &a.position);
    a.email = keep(&row.email, &a.email);
    a.phone = keep(&row.phone, &a.phone);
    a.notes = keep(&row.notes, &a.notes);
    if let Some(attention) = row.attention {
        a.attention = attention;
    }
    a.category = row.category.clone();
    a.days = row.days.clone();
    for c in &row.ticket_codes {
        if !a.ticket_codes.contains(c) {
            a.ticket_codes.push(c.clone());
        }
    }
}
