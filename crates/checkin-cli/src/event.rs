//! `checkin event`, `checkin location`, `checkin category` and `checkin
//! demo`: the event, its entrances and zones, its categories, and a
//! generated demo event.

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use checkin_core::demo;
use checkin_core::model::{Category, LocationKind};
use checkin_core::store::categories::CategoryPatch;
use checkin_core::store::{NewEvent, Store};

use crate::out::{hex, print};

#[derive(Subcommand)]
pub(crate) enum EventCmd {
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated dates, e.g. 2026-06-02,2026-06-03.
        #[arg(long, value_delimiter = ',')]
        days: Vec<NaiveDate>,
        #[arg(long, default_value = "Europe/Moscow")]
        tz: String,
    },
    Show,
    /// Add a new signing key (old badges stay valid).
    RotateKey,
}

#[derive(Subcommand)]
pub(crate) enum LocationCmd {
    Add {
        name: String,
        #[arg(long, value_enum, default_value_t = Kind::Entrance)]
        kind: Kind,
        /// Entrances: let people in again the same day.
        #[arg(long)]
        reentry: bool,
    },
    List,
}

#[derive(Subcommand)]
pub(crate) enum CategoryCmd {
    /// Add a category, e.g. `checkin category add СМИ --en Media --color '#f9a825' --days 2026-06-03`.
    Add {
        /// Its name in Russian.
        name: String,
        /// Its name in English (the Russian one when not given).
        #[arg(long)]
        en: Option<String>,
        /// Its code in data (made from the name when not given).
        #[arg(long)]
        code: Option<String>,
        /// Badge band colour, #rrggbb (a neutral grey when not given).
        #[arg(long)]
        color: Option<String>,
        /// Comma-separated event days it is admitted on (every day when not given).
        #[arg(long, value_delimiter = ',')]
        days: Vec<NaiveDate>,
    },
    List,
    /// Rename, recolour or set the days of a category (by code or name).
    Edit {
        category: String,
        /// New name in Russian.
        #[arg(long)]
        ru: Option<String>,
        /// New name in English.
        #[arg(long)]
        en: Option<String>,
        #[arg(long)]
        color: Option<String>,
        /// Comma-separated event days it is admitted on.
        #[arg(long, value_delimiter = ',', conflicts_with = "every_day")]
        days: Option<Vec<NaiveDate>>,
        /// Admitted on every day of the event again.
        #[arg(long)]
        every_day: bool,
    },
    /// Remove a category nobody is in (by code or name).
    Remove {
        category: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    Entrance,
    Zone,
}

#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    #[arg(long, default_value_t = 2000)]
    attendees: usize,
}

pub(crate) fn run(store: &mut Store, cmd: &EventCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        EventCmd::Create { name, days, tz } => {
            let e = store.create_event(
                NewEvent {
                    name: name.clone(),
                    days: days.clone(),
                    timezone: tz.clone(),
                    categories: vec![],
                },
                now,
            )?;
            print(j, json!(e), || format!("created event {:?} ({})", e.name, e.id));
        }
        EventCmd::Show => {
            let e = store
                .event()
                .ok_or(checkin_core::error::CoreError::NoEvent)?
                .clone();
            let keys: Vec<_> = store
                .public_keys()?
                .into_iter()
                .map(|(k, pk)| json!({"key_id": k, "public_key": hex(&pk)}))
                .collect();
            let n = store.attendee_count()?;
            print(
                j,
                json!({"event": e, "public_keys": keys, "attendees": n, "locations": store.locations()?}),
                || {
                    format!(
                        "{} ({})\ndays: {}\ntime zone: {}\nattendees: {n}\nlocations: {}",
                        e.name,
                        e.id,
                        e.days
                            .iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.timezone,
                        store
                            .locations()
                            .map(|ls| ls.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join(", "))
                            .unwrap_or_default()
                    )
                },
            );
        }
        EventCmd::RotateKey => {
            let k = store.rotate_key(now)?;
            print(j, json!({"key_id": k}), || {
                format!("new signing key {k}; older badges stay valid")
            });
        }
    }
    Ok(())
}

pub(crate) fn location(store: &mut Store, cmd: &LocationCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        LocationCmd::Add { name, kind, reentry } => {
            let kind = match kind {
                Kind::Entrance => LocationKind::Entrance,
                Kind::Zone => LocationKind::Zone,
            };
            let l = store.add_location(name, kind, *reentry, now)?;
            print(j, json!(l), || {
                format!("added {} {:?} ({})", l.kind.as_str(), l.name, l.id)
            });
        }
        LocationCmd::List => {
            let ls = store.locations()?.to_vec();
            print(j, json!(ls), || {
                ls.iter()
                    .map(|l| {
                        format!(
                            "{}\t{}\t{}{}",
                            l.id,
                            l.kind.as_str(),
                            l.name,
                            if l.allow_reentry { "\t(re-entry)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

fn category_line(c: &Category) -> String {
    let days = if c.days.is_empty() {
        "every day".to_string()
    } else {
        c.days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")
    };
    format!("{}\t{}\t{}\t{}\t{days}", c.code, c.label_ru, c.label_en, c.color)
}

pub(crate) fn category(store: &mut Store, cmd: &CategoryCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        CategoryCmd::Add {
            name,
            en,
            code,
            color,
            days,
        } => {
            let c = store.add_category(
                code.as_deref(),
                name,
                en.as_deref(),
                color.as_deref(),
                days.clone(),
                now,
            )?;
            print(j, json!(c), || format!("added category {}", category_line(&c)));
        }
        CategoryCmd::List => {
            let all = store.categories()?.to_vec();
            let counts = store.category_counts()?;
            let rows: Vec<_> = all
                .iter()
                .map(|c| {
                    let mut v = json!(c);
                    v["attendees"] = json!(counts.get(&c.code).copied().unwrap_or(0));
                    v
                })
                .collect();
            print(j, json!(rows), || {
                all.iter()
                    .map(|c| {
                        format!(
                            "{}\t{}",
                            category_line(c),
                            counts.get(&c.code).copied().unwrap_or(0)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        CategoryCmd::Edit {
            category,
            ru,
            en,
            color,
            days,
            every_day,
        } => {
            let patch = CategoryPatch {
                label_ru: ru.clone(),
                label_en: en.clone(),
                color: color.clone(),
                days: if *every_day {
                    Some(Vec::new())
                } else {
                    days.clone()
                },
            };
            let c = store.edit_category(category, patch, now)?;
            print(j, json!(c), || format!("changed category {}", category_line(&c)));
        }
        CategoryCmd::Remove { category } => {
            let c = store.remove_category(category, now)?;
            print(j, json!(c), || {
                format!("removed category {} ({})", c.label_ru, c.code)
            });
        }
    }
    Ok(())
}

/// `checkin demo`; `db` is the database file, named in the message.
pub(crate) fn demo(store: &mut Store, args: &DemoArgs, j: bool, now: DateTime<Utc>, db: &Path) -> Result<()> {
    let attendees = args.attendees;
    let e = demo::create_event(store, attendees, now)?;
    print(j, json!({"event": e, "attendees": attendees}), || {
        format!(
            "created demo event {:?} with {attendees} attendees in {}",
            e.name,
            db.display()
        )
    });
    Ok(())
}
