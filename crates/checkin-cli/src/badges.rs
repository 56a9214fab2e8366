//! `checkin badge` (one person's token and QR code, replacements) and
//! `checkin badges` (print-ready PDF batches).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use checkin_core::badge;
use checkin_core::store::{BadgeFilter, Store};
use checkin_pdf::{Layout, Options};

use crate::out::print;

#[derive(Subcommand)]
pub(crate) enum BadgeCmd {
    /// Print the signed badge token.
    Token { attendee: String },
    /// Write the badge QR code as PNG or SVG (by the file extension).
    Qr {
        attendee: String,
        #[arg(long)]
        out: PathBuf,
        /// PNG pixels per module.
        #[arg(long, default_value_t = 8)]
        scale: u32,
    },
    /// Replace a lost badge: the old one is refused from now on.
    Replace {
        attendee: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(clap::Args)]
pub(crate) struct BadgesArgs {
    /// The PDF file to write.
    #[arg(long)]
    out: PathBuf,
    /// a4-8: A4 sheets of 8 (90×55 mm, cut marks); a6: one badge per A6 page;
    /// label-62x100: 62×100 mm labels.
    #[arg(long, value_enum, default_value_t = LayoutArg::A48)]
    layout: LayoutArg,
    /// Only this category (participant, speaker, press, organizer, volunteer, vip).
    #[arg(long)]
    category: Option<String>,
    /// Only badges no desk has printed yet (a replacement badge counts as new).
    #[arg(long)]
    not_printed: bool,
    /// Only people added since this date (YYYY-MM-DD, event time zone) or time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// This person only (id, ticket code or e-mail); repeat for several. Walk-ins and reprints.
    #[arg(long = "attendee", conflicts_with_all = ["category", "not_printed", "since"])]
    attendees: Vec<String>,
    /// Event logo for the badge header (PNG).
    #[arg(long)]
    logo: Option<PathBuf>,
    /// Don't log these badges as printed (a proof print).
    #[arg(long)]
    no_log: bool,
    /// Send the PDF to a printer with CUPS `lp` once written.
    #[arg(long)]
    print: bool,
    /// The CUPS printer for --print (default: the system's default printer).
    #[arg(long, requires = "print")]
    printer: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LayoutArg {
    #[value(name = "a4-8")]
    A48,
    #[value(name = "a6")]
    A6,
    #[value(name = "label-62x100")]
    Label62x100,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::A48 => Layout::A4x8,
            LayoutArg::A6 => Layout::A6,
            LayoutArg::Label62x100 => Layout::Label62x100,
        }
    }
}

pub(crate) fn badge(store: &mut Store, cmd: &BadgeCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        BadgeCmd::Token { attendee } => {
            let a = store.find_attendee(attendee)?;
            let token = store.badge_token(a.id)?;
            print(j, json!({"attendee_id": a.id, "token": token}), || token.clone());
        }
        BadgeCmd::Qr { attendee, out, scale } => {
            let a = store.find_attendee(attendee)?;
            let token = store.badge_token(a.id)?;
            write_qr(&token, out, *scale)?;
            print(
                j,
                json!({"attendee_id": a.id, "token": token, "out": out}),
                || format!("wrote {} for {}", out.display(), a.full_name),
            );
        }
        BadgeCmd::Replace { attendee, reason } => {
            let a = store.find_attendee(attendee)?;
            let token = store.replace_badge(a.id, reason, now)?;
            print(j, json!({"attendee_id": a.id, "token": token}), || {
                format!("old badge of {} revoked; new token:\n{token}", a.full_name)
            });
        }
    }
    Ok(())
}

pub(crate) fn badges_cmd(store: &mut Store, args: &BadgesArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let event = store
        .event()
        .ok_or(checkin_core::error::CoreError::NoEvent)?
        .clone();
    let added_since = match args.since.as_deref() {
        None => None,
        Some(s) => Some(parse_since(s, &event.timezone)?),
    };
    let mut ids = Vec::with_capacity(args.attendees.len());
    for key in &args.attendees {
        ids.push(store.find_attendee(key)?.id);
    }
    let filter = BadgeFilter {
        category: args.category.clone(),
        not_printed: args.not_printed,
        added_since,
        attendees: ids,
    };
    let logo_png = match &args.logo {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("reading the logo {}", p.display()))?),
        None => None,
    };
    let layout: Layout = args.layout.into();
    let options = Options { layout, logo_png };
    let started = std::time::Instant::now();
    let (rendered, printed) = checkin_pdf::render_badges(store, &filter, &options, &mut |p| {
        if p.total >= 500 && (p.finishing || p.done.is_multiple_of(1000)) {
            if p.finishing {
                eprintln!("badges: {}/{} drawn, writing the PDF…", p.done, p.total);
            } else {
                eprintln!("badges: {}/{}", p.done, p.total);
            }
        }
    })?;
    std::fs::write(&args.out, &rendered.pdf).with_context(|| format!("writing {}", args.out.display()))?;
    if args.print {
        let mut lp = std::process::Command::new("lp");
        if let Some(p) = &args.printer {
            lp.args(["-d", p]);
        }
        let status = lp.arg(&args.out).status().map_err(|e| {
            anyhow!(
                "could not run `lp` ({e}); install CUPS (apt-get install cups-client) or print {} from a PDF viewer",
                args.out.display()
            )
        })?;
        if !status.success() {
            bail!(
                "`lp` failed ({status}); check the printer name with `lpstat -p`, or print {} from a PDF viewer. Nothing was logged as printed",
                args.out.display()
            );
        }
    }
    let print_id = if args.no_log {
        None
    } else {
        Some(store.record_printed(&printed, layout, now)?)
    };
    print(
        j,
        json!({
            "out": args.out,
            "layout": layout.as_str(),
            "badges": rendered.badges,
            "pages": rendered.pages,
            "bytes": rendered.pdf.len(),
            "seconds": started.elapsed().as_secs_f64(),
            "print_id": print_id,
            "sent_to_printer": args.print,
        }),
        || {
            format!(
                "wrote {} ({} badges, {} pages, {} KiB, {layout}){}{}",
                args.out.display(),
                rendered.badges,
                rendered.pages,
                rendered.pdf.len() / 1024,
                if args.print { "; sent to the printer" } else { "" },
                if print_id.is_some() {
                    "; logged as printed"
                } else {
                    "; not logged as printed (--no-log)"
                }
            )
        },
    );
    Ok(())
}

/// `--since`: a date (midnight in the event's time zone) or an RFC 3339 time.
fn parse_since(s: &str, tz: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let date: NaiveDate = s.trim().parse().map_err(|_| {
        anyhow!("--since {s:?}: write a date (2026-06-01) or a time (2026-06-01T18:00:00+03:00)")
    })?;
    let tz: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| anyhow!("the event's time zone {tz:?} is unknown"))?;
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let local = midnight
        .and_local_timezone(tz)
        .earliest()
        .ok_or_else(|| anyhow!("--since {s:?}: midnight does not exist in {tz}; give a time instead"))?;
    Ok(local.with_timezone(&Utc))
}

fn write_qr(token: &str, out: &Path, scale: u32) -> Result<()> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "png" => badge::qr_png(token, scale)?,
        "svg" => badge::qr_svg(token)?.into_bytes(),
        _ => bail!("{}: the file name must end in .png or .svg", out.display()),
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
