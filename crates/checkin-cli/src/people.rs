//! `checkin attendee` and `checkin search`: walk-ins, one attendee,
//! revocations, and finding people.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use serde_json::json;

use checkin_core::model::Attendee;
use checkin_core::store::Store;

use crate::out::print;

#[derive(Subcommand)]
pub(crate) enum AttendeeCmd {
    /// Register a walk-in.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        latin_name: Option<String>,
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        position: Option<String>,
        #[arg(long, default_value = "participant")]
        category: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long = "ticket")]
        tickets: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        days: Vec<NaiveDate>,
    },
    Show {
        attendee: String,
    },
    /// Refuse this person's badges and tickets from now on.
    Revoke {
        attendee: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Undo a revocation.
    Restore {
        attendee: String,
    },
}

#[derive(clap::Args)]
pub(crate) struct SearchArgs {
    query: String,
    #[arg(long, default_value_t = 10)]
    limit: usize,
}

pub(crate) fn attendee(store: &mut Store, cmd: &AttendeeCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        AttendeeCmd::Add {
            name,
            latin_name,
            organization,
            position,
            category,
            email,
            phone,
            tickets,
            days,
        } => {
            let a = store.save_attendee(
                Attendee {
                    full_name: name.clone(),
                    latin_name: latin_name.clone(),
                    organization: organization.clone(),
                    position: position.clone(),
                    category: category.clone(),
                    email: email.clone(),
                    phone: phone.clone(),
                    ticket_codes: tickets.clone(),
                    days: days.clone(),
                    ..Attendee::default()
                },
                now,
            )?;
            print(j, json!(a), || format!("registered {} ({})", a.full_name, a.id));
        }
        AttendeeCmd::Show { attendee } => {
            let a = store.find_attendee(attendee)?;
            let checkins = store.checkins_of(a.id)?;
            print(j, json!({"attendee": a, "checkins": checkins}), || {
                format!(
                    "{}\n{}\norganization: {}\ncategory: {}\ntickets: {}\nrevoked: {}\ncheck-ins: {}",
                    a.full_name,
                    a.id,
                    a.organization.clone().unwrap_or_default(),
                    a.category,
                    a.ticket_codes.join(", "),
                    a.revoked,
                    checkins.len()
                )
            });
        }
        AttendeeCmd::Revoke { attendee, reason } => {
            let id = store.find_attendee(attendee)?.id;
            let a = store.set_revoked(id, true, reason, now)?;
            print(j, json!(a), || format!("revoked {}", a.full_name));
        }
        AttendeeCmd::Restore { attendee } => {
            let id = store.find_attendee(attendee)?.id;
            let a = store.set_revoked(id, false, "restored", now)?;
            print(j, json!(a), || format!("restored {}", a.full_name));
        }
    }
    Ok(())
}

pub(crate) fn search(store: &Store, args: &SearchArgs, j: bool) -> Result<()> {
    let hits = store.search(&args.query, args.limit)?;
    let v: Vec<_> = hits
        .iter()
        .map(|(a, s)| json!({"score": s, "attendee": a}))
        .collect();
    print(j, json!(v), || {
        if hits.is_empty() {
            "no matches".into()
        } else {
            hits.iter()
                .map(|(a, s)| {
                    format!(
                        "{s:.2}\t{}\t{}\t{}",
                        a.full_name,
                        a.organization.clone().unwrap_or_default(),
                        a.id
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}
