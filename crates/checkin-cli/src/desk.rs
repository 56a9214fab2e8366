//! What a desk does: `checkin scan`, `decode`, `admit`, `count`, `annul`,
//! and the interactive `checkin desk` loop.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde_json::json;
use uuid::Uuid;

use checkin_core::badge;
use checkin_core::engine::{ScanOutcome, Verdict};
use checkin_core::model::{Attendee, Direction, Method};
use checkin_core::store::Store;

use crate::out::{hex, outln, print};

#[derive(clap::Args)]
pub(crate) struct ScanArgs {
    payload: String,
    #[arg(long)]
    location: String,
    #[arg(long, value_enum, default_value_t = Dir::In)]
    direction: Dir,
}

#[derive(clap::Args)]
pub(crate) struct DecodeArgs {
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct AdmitArgs {
    attendee: String,
    #[arg(long)]
    location: String,
    #[arg(long, value_enum, default_value_t = Dir::In)]
    direction: Dir,
}

#[derive(clap::Args)]
pub(crate) struct CountArgs {
    #[arg(long)]
    location: String,
    #[arg(long, value_enum, default_value_t = Dir::In)]
    direction: Dir,
}

#[derive(clap::Args)]
pub(crate) struct AnnulArgs {
    checkin: Option<Uuid>,
    #[arg(long, conflicts_with = "checkin")]
    last: bool,
    #[arg(long)]
    reason: String,
}

#[derive(clap::Args)]
pub(crate) struct DeskArgs {
    #[arg(long)]
    location: String,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Dir {
    In,
    Out,
}

impl From<Dir> for Direction {
    fn from(d: Dir) -> Self {
        match d {
            Dir::In => Direction::In,
            Dir::Out => Direction::Out,
        }
    }
}

pub(crate) fn scan(store: &mut Store, args: &ScanArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let loc = store.location(&args.location)?;
    let out = store.scan(&args.payload, loc.id, args.direction.into(), now)?;
    print_outcome(j, &out);
    Ok(())
}

pub(crate) fn admit(store: &mut Store, args: &AdmitArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let loc = store.location(&args.location)?;
    let a = store.find_attendee(&args.attendee)?;
    let out = store.check_in_attendee(a.id, loc.id, args.direction.into(), Method::Search, now)?;
    print_outcome(j, &out);
    Ok(())
}

pub(crate) fn count(store: &mut Store, args: &CountArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let loc = store.location(&args.location)?;
    let c = store.count_anonymous(loc.id, args.direction.into(), now)?;
    let counters = store.counters(now)?;
    let here = counters
        .locations
        .iter()
        .find(|l| l.location_id == loc.id)
        .cloned();
    print(j, json!({"checkin": c, "location": here}), || match &here {
        Some(h) => format!(
            "{}: {} in, {} out, {} inside now",
            h.name, h.entries, h.exits, h.occupancy
        ),
        None => "counted".into(),
    });
    Ok(())
}

pub(crate) fn annul(store: &mut Store, args: &AnnulArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let id = match (args.checkin, args.last) {
        (Some(id), _) => id,
        (None, true) => {
            store
                .last_checkin()?
                .ok_or_else(|| anyhow!("this desk has no check-in to undo"))?
                .id
        }
        (None, false) => bail!("name the check-in to undo, or pass --last for this desk's latest"),
    };
    let annulment = store.annul(id, &args.reason, now)?;
    print(j, json!({"checkin_id": id, "annulment_id": annulment}), || {
        format!("check-in {id} undone")
    });
    Ok(())
}

pub(crate) fn desk(store: &mut Store, args: &DeskArgs, fixed_now: Option<DateTime<Utc>>) -> Result<()> {
    use std::io::BufRead;
    let loc = store.location(&args.location)?;
    let clock = || fixed_now.unwrap_or_else(Utc::now);
    let show_counts = |store: &Store| -> Result<()> {
        let c = store.counters(clock())?;
        outln!(
            "[{}] checked in {} / expected {}",
            loc.name,
            c.checked_in,
            c.expected
        );
        Ok(())
    };
    let e = store
        .event()
        .ok_or(checkin_core::error::CoreError::NoEvent)?
        .clone();
    outln!("{} — {}", e.name, loc.name);
    if let Some((a, _)) = store.search("Чупшева", 1)?.first()
        && let Ok(token) = store.badge_token(a.id)
    {
        outln!("try scanning {}'s badge:\n{token}", a.full_name);
    }
    show_counts(store)?;
    let mut last_results: Vec<Attendee> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let result = (|| -> Result<()> {
            if let Some(q) = line.strip_prefix('/') {
                last_results = store.search(q, 8)?.into_iter().map(|(a, _)| a).collect();
                for (i, a) in last_results.iter().enumerate() {
                    outln!(
                        "  +{}  {}  {}",
                        i + 1,
                        a.full_name,
                        a.organization.clone().unwrap_or_default()
                    );
                }
                if last_results.is_empty() {
                    outln!("  no matches");
                }
            } else if let Some(n) = line.strip_prefix('+').and_then(|n| n.parse::<usize>().ok()) {
                let a = last_results
                    .get(n.wrapping_sub(1))
                    .ok_or_else(|| anyhow!("no search result {n}; search first with /name"))?;
                let out = store.check_in_attendee(a.id, loc.id, Direction::In, Method::Search, clock())?;
                print_outcome(false, &out);
                show_counts(store)?;
            } else if let Some(reason) = line.strip_prefix("undo") {
                let last = store
                    .last_checkin()?
                    .ok_or_else(|| anyhow!("this desk has no check-in to undo"))?;
                let reason = if reason.trim().is_empty() {
                    "undone at the desk"
                } else {
                    reason
                };
                store.annul(last.id, reason, clock())?;
                outln!("undone");
                show_counts(store)?;
            } else {
                let out = store.scan(line, loc.id, Direction::In, clock())?;
                print_outcome(false, &out);
                show_counts(store)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!("error: {e:#}");
        }
    }
    Ok(())
}

/// What a decoded code is for the event in `store`.
fn badge_status(store: &Store, text: &str) -> Result<serde_json::Value> {
    let Some(event) = store.event() else {
        return Ok(json!({"status": "no_event"}));
    };
    let token = match badge::decode(text) {
        Ok(t) => t,
        Err(badge::TokenError::NotAToken) => return Ok(json!({"status": "not_a_badge"})),
        Err(e) => return Ok(json!({"status": "malformed", "reason": e.to_string()})),
    };
    if token.claims.event_tag != badge::event_tag(event.id) {
        return Ok(json!({"status": "wrong_event"}));
    }
    if !token.verify_with_keys(&store.public_keys()?) {
        return Ok(json!({"status": "invalid_signature"}));
    }
    let attendee = store.attendee(token.claims.attendee_id)?;
    Ok(json!({
        "status": "valid",
        "attendee_id": token.claims.attendee_id,
        "full_name": attendee.map(|a| a.full_name),
        "issue": token.claims.issue,
    }))
}

pub(crate) fn decode_cmd(store: Option<&Store>, args: &DecodeArgs, j: bool) -> Result<()> {
    let images = &args.images;
    let mut unread = 0;
    let mut all = Vec::new();
    for path in images {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let start = std::time::Instant::now();
        let found = checkin_scan::decode_image(&bytes).with_context(|| path.display().to_string())?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if found.iter().all(|d| d.text.is_none()) {
            unread += 1;
        }
        let mut codes = Vec::new();
        for d in &found {
            let badge = match (store, &d.text) {
                (Some(s), Some(t)) => Some(badge_status(s, t)?),
                _ => None,
            };
            codes.push(json!({
                "text": d.text,
                "bytes_hex": if d.text.is_none() { Some(hex(&d.bytes)) } else { None },
                "corners": d.corners,
                "pass": d.pass,
                "badge": badge,
            }));
        }
        if !j {
            let mut s = format!("{} ({ms:.1} ms): ", path.display());
            if found.is_empty() {
                s.push_str("no QR code found");
            }
            for (i, (d, c)) in found.iter().zip(&codes).enumerate() {
                if i > 0 {
                    s.push_str("\n  and: ");
                }
                match &d.text {
                    Some(t) => s.push_str(&format!("{t:?}")),
                    None => s.push_str(&format!(
                        "bytes {} (not text in a known character set)",
                        hex(&d.bytes)
                    )),
                }
                if let Some(status) = c["badge"]["status"].as_str() {
                    s.push_str(&format!("\n  badge: {status}"));
                    if let Some(name) = c["badge"]["full_name"].as_str() {
                        s.push_str(&format!(" ({name})"));
                    }
                }
            }
            outln!("{s}");
        }
        all.push(json!({"image": path, "codes": codes, "ms": (ms * 1000.0).round() / 1000.0}));
    }
    if j {
        outln!("{}", serde_json::to_string_pretty(&all).expect("json"));
    }
    if unread > 0 {
        bail!(
            "{unread} of {} images had no QR code readable as text; retake the photo closer, flatter and better lit",
            images.len()
        );
    }
    Ok(())
}

fn print_outcome(j: bool, out: &ScanOutcome) {
    print(j, json!(out), || {
        let who = |a: &Option<checkin_core::engine::AttendeeSummary>| {
            a.as_ref()
                .map(|a| {
                    format!(
                        "{}{} — {}",
                        a.full_name,
                        a.organization
                            .as_ref()
                            .map(|o| format!(", {o}"))
                            .unwrap_or_default(),
                        a.category_label_en
                    )
                })
                .unwrap_or_else(|| "(details not synced yet)".into())
        };
        let head = match &out.verdict {
            Verdict::Admitted { attendee, .. } => format!("ADMITTED  {}", who(attendee)),
            Verdict::AlreadyCheckedIn { attendee, .. } => format!("ALREADY CHECKED IN  {}", who(attendee)),
            Verdict::NotValidToday { attendee, .. } => format!("NOT VALID TODAY  {}", who(attendee)),
            Verdict::Revoked { attendee } => format!("REVOKED  {}", who(attendee)),
            Verdict::UnknownBadge => "UNKNOWN BADGE".into(),
            Verdict::WrongEvent => "WRONG EVENT".into(),
            Verdict::InvalidSignature => "INVALID SIGNATURE".into(),
            Verdict::Malformed => "MALFORMED".into(),
        };
        format!("{head}\n{}", out.reason)
    });
}
