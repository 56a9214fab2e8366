//! `checkin`: the command-line tool for coordinators and scripting. Every
//! command works on a local database (`--db`) and prints JSON with `--json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use uuid::Uuid;

use checkin_core::engine::{ScanOutcome, Verdict};
use checkin_core::model::{Attendee, Direction, LocationKind, Method};
use checkin_core::store::{ApplyOptions, BadgeFilter, NewEvent, Store};
use checkin_core::{badge, demo};
use checkin_pdf::{Layout, Options};
use checkin_tables::export::{ExportFormat, Lang, TableWriter};
use checkin_tables::import::{self, Field, ImportOptions};

mod net;

#[derive(Parser)]
#[command(
    name = "checkin",
    version,
    about = "Offline event check-in: events, attendees, badges, scans."
)]
struct Cli {
    /// The local database file (created when missing).
    #[arg(long, global = true, env = "CHECKIN_DB", default_value = "checkin.db")]
    db: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Name this desk gets when the database is new.
    #[arg(long, global = true, default_value = "cli")]
    device_name: String,
    /// Pretend the time is this (RFC 3339), for rehearsals and scripts.
    #[arg(long, global = true, hide = true, env = "CHECKIN_NOW")]
    now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create or show the event.
    #[command(subcommand)]
    Event(EventCmd),
    /// Add or list entrances and zones (islands).
    #[command(subcommand)]
    Location(LocationCmd),
    /// Import attendees from CSV or XLSX (re-import updates people in place).
    Import(ImportArgs),
    /// Add a walk-in or show one attendee.
    #[command(subcommand)]
    Attendee(AttendeeCmd),
    /// Search by name (any script), organization, e-mail, phone or code.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Badge tokens and QR codes.
    #[command(subcommand)]
    Badge(BadgeCmd),
    /// Print-ready badge PDF: a batch (all or filtered) or named people; logs what was printed.
    Badges(BadgesArgs),
    /// Check a scanned badge or ticket code in and print the verdict.
    Scan {
        payload: String,
        #[arg(long)]
        location: String,
        #[arg(long, value_enum, default_value_t = Dir::In)]
        direction: Dir,
    },
    /// Read the QR codes in image files (PNG or JPEG) and print what each
    /// holds; with an existing --db, also whether it is a badge of its event.
    /// Records nothing.
    Decode {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Check a person in by hand (found by id, ticket code or e-mail).
    Admit {
        attendee: String,
        #[arg(long)]
        location: String,
        #[arg(long, value_enum, default_value_t = Dir::In)]
        direction: Dir,
    },
    /// Count an anonymous visitor at a zone (+1 with `in`, −1 with `out`).
    Count {
        #[arg(long)]
        location: String,
        #[arg(long, value_enum, default_value_t = Dir::In)]
        direction: Dir,
    },
    /// Undo a check-in with a reason (`--last` for this desk's latest).
    Annul {
        checkin: Option<Uuid>,
        #[arg(long, conflicts_with = "checkin")]
        last: bool,
        #[arg(long)]
        reason: String,
    },
    /// Statistics of a day (today by default; `--all-days` for every day):
    /// arrivals per 15 minutes, categories, no-shows, zones, duplicates, devices.
    Stats {
        #[arg(long)]
        day: Option<NaiveDate>,
        #[arg(long, conflicts_with = "day")]
        all_days: bool,
        /// Ask the server (this desk's pairing; coordinators only): everything
        /// every desk has uploaded, not just what this desk holds.
        #[arg(long)]
        server: bool,
    },
    /// Export a report: attendance, zone visits, no-shows (CSV or XLSX) or the
    /// day's one-page summary (HTML).
    Export {
        #[arg(long, value_enum, default_value_t = ReportArg::Attendance)]
        report: ReportArg,
        #[arg(long, value_enum)]
        format: Fmt,
        /// Day for zones, no-shows and summary (today by default).
        #[arg(long)]
        day: Option<NaiveDate>,
        /// Zone visits without names (counts per zone and hour).
        #[arg(long)]
        anonymous: bool,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = LangArg::Ru)]
        lang: LangArg,
    },
    /// An interactive desk in the terminal: each line is a scan; `/text` searches;
    /// `+N` checks in the N-th search result; `undo REASON` undoes the last check-in.
    Desk {
        #[arg(long)]
        location: String,
    },
    /// Run the central sync server (SQLite by default, PostgreSQL with --database-url).
    Serve(net::ServeArgs),
    /// Pair this desk with a server, using a code or the pairing QR's text.
    Pair(net::PairArgs),
    /// Sync with the server once (push, then pull), or keep syncing with --watch.
    Sync(net::SyncArgs),
    /// Run the hall's hub on this coordinator desk: desks sync through it
    /// while the internet is down; it relays to the central server.
    Hub(net::HubArgs),
    /// Make a one-time pairing code for another desk (coordinator desks).
    PairingCode(net::PairingCodeArgs),
    /// List or revoke the event's paired devices (coordinator desks).
    #[command(subcommand)]
    Devices(net::DevicesCmd),
    /// Create a demo event with generated attendees in an empty database.
    Demo {
        #[arg(long, default_value_t = 2000)]
        attendees: usize,
    },
}

#[derive(Subcommand)]
enum EventCmd {
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
enum LocationCmd {
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

#[derive(clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// Column mapping, HEADER=FIELD (or INDEX=FIELD), e.g. "Participant=full_name".
    #[arg(long = "map", value_parser = parse_mapping)]
    mapping: Vec<(String, Field)>,
    /// utf-8 or windows-1251 (detected when omitted).
    #[arg(long)]
    encoding: Option<String>,
    /// Field delimiter: ',', ';' or 'tab' (detected when omitted).
    #[arg(long)]
    delimiter: Option<String>,
    /// XLSX sheet (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Import good rows and skip bad ones instead of refusing the file.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Check the file and show what would happen, change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
struct BadgesArgs {
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
enum LayoutArg {
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

#[derive(Subcommand)]
enum AttendeeCmd {
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

#[derive(Subcommand)]
enum BadgeCmd {
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

#[derive(Clone, Copy, ValueEnum)]
enum Dir {
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

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Entrance,
    Zone,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fmt {
    Csv,
    Xlsx,
    Html,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportArg {
    Attendance,
    Zones,
    NoShows,
    Summary,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Ru,
    En,
}

fn parse_mapping(s: &str) -> Result<(String, Field), String> {
    let (col, field) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: write the mapping as COLUMN=FIELD, e.g. \"Участник=full_name\""))?;
    let field: Field = serde_json::from_value(json!(field.trim())).map_err(|_| {
        format!(
            "{field:?} is not a field; use one of: full_name, last_name, first_name, middle_name, latin_name, \
             organization, position, category, email, phone, ticket_code, days, notes"
        )
    })?;
    Ok((col.trim().to_string(), field))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_out = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json_out {
                let code = error_code(&e);
                eprintln!(
                    "{}",
                    json!({"error": {"code": code, "message": format!("{e:#}")}})
                );
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The stable code of the library error behind `e` (`error` when none).
fn error_code(e: &anyhow::Error) -> &'static str {
    if let Some(c) = e.downcast_ref::<checkin_core::error::CoreError>() {
        c.code()
    } else if let Some(p) = e.downcast_ref::<checkin_pdf::PdfError>() {
        p.code()
    } else if let Some(i) = e.downcast_ref::<checkin_tables::import::ImportError>() {
        i.code()
    } else {
        "error"
    }
}

fn print(json_out: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(&value).expect("json"));
    } else {
        println!("{}", text());
    }
}

fn open(cli: &Cli, now: DateTime<Utc>) -> Result<Store> {
    Store::open_local(&cli.db, &cli.device_name, now)
        .with_context(|| format!("opening the database {}", cli.db.display()))
}

fn run(cli: Cli) -> Result<()> {
    let now = cli.now.unwrap_or_else(Utc::now);
    let j = cli.json;
    if let Cmd::Serve(args) = &cli.cmd {
        return net::serve(args);
    }
    if let Cmd::Decode { images } = &cli.cmd {
        // Decoding needs no database: open one only if it already exists.
        let store = if cli.db.exists() {
            Some(open(&cli, now)?)
        } else {
            None
        };
        return decode_cmd(store.as_ref(), images, j);
    }
    let mut store = open(&cli, now)?;
    match &cli.cmd {
        Cmd::Serve(_) => unreachable!("handled above"),
        Cmd::Pair(args) => return net::pair(store, args, j),
        Cmd::Sync(args) => return net::sync(store, args, j),
        Cmd::Hub(args) => return net::hub(store, args, j),
        Cmd::PairingCode(args) => return net::pairing_code(store, args, j),
        Cmd::Devices(cmd) => return net::devices(store, cmd, j),
        Cmd::Event(EventCmd::Create { name, days, tz }) => {
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
        Cmd::Event(EventCmd::Show) => {
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
        Cmd::Event(EventCmd::RotateKey) => {
            let k = store.rotate_key(now)?;
            print(j, json!({"key_id": k}), || {
                format!("new signing key {k}; older badges stay valid")
            });
        }
        Cmd::Location(LocationCmd::Add { name, kind, reentry }) => {
            let kind = match kind {
                Kind::Entrance => LocationKind::Entrance,
                Kind::Zone => LocationKind::Zone,
            };
            let l = store.add_location(name, kind, *reentry, now)?;
            print(j, json!(l), || {
                format!("added {} {:?} ({})", l.kind.as_str(), l.name, l.id)
            });
        }
        Cmd::Location(LocationCmd::List) => {
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
        Cmd::Import(args) => import_cmd(&mut store, args, j, now)?,
        Cmd::Attendee(AttendeeCmd::Add {
            name,
            latin_name,
            organization,
            position,
            category,
            email,
            phone,
            tickets,
            days,
        }) => {
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
        Cmd::Attendee(AttendeeCmd::Show { attendee }) => {
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
        Cmd::Attendee(AttendeeCmd::Revoke { attendee, reason }) => {
            let id = store.find_attendee(attendee)?.id;
            let a = store.set_revoked(id, true, reason, now)?;
            print(j, json!(a), || format!("revoked {}", a.full_name));
        }
        Cmd::Attendee(AttendeeCmd::Restore { attendee }) => {
            let id = store.find_attendee(attendee)?.id;
            let a = store.set_revoked(id, false, "restored", now)?;
            print(j, json!(a), || format!("restored {}", a.full_name));
        }
        Cmd::Search { query, limit } => {
            let hits = store.search(query, *limit)?;
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
        }
        Cmd::Badge(BadgeCmd::Token { attendee }) => {
            let a = store.find_attendee(attendee)?;
            let token = store.badge_token(a.id)?;
            print(j, json!({"attendee_id": a.id, "token": token}), || token.clone());
        }
        Cmd::Badge(BadgeCmd::Qr { attendee, out, scale }) => {
            let a = store.find_attendee(attendee)?;
            let token = store.badge_token(a.id)?;
            write_qr(&token, out, *scale)?;
            print(
                j,
                json!({"attendee_id": a.id, "token": token, "out": out}),
                || format!("wrote {} for {}", out.display(), a.full_name),
            );
        }
        Cmd::Badge(BadgeCmd::Replace { attendee, reason }) => {
            let a = store.find_attendee(attendee)?;
            let token = store.replace_badge(a.id, reason, now)?;
            print(j, json!({"attendee_id": a.id, "token": token}), || {
                format!("old badge of {} revoked; new token:\n{token}", a.full_name)
            });
        }
        Cmd::Badges(args) => badges_cmd(&mut store, args, j, now)?,
        Cmd::Scan {
            payload,
            location,
            direction,
        } => {
            let loc = store.location(location)?;
            let out = store.scan(payload, loc.id, (*direction).into(), now)?;
            print_outcome(j, &out);
        }
        Cmd::Admit {
            attendee,
            location,
            direction,
        } => {
            let loc = store.location(location)?;
            let a = store.find_attendee(attendee)?;
            let out = store.check_in_attendee(a.id, loc.id, (*direction).into(), Method::Search, now)?;
            print_outcome(j, &out);
        }
        Cmd::Count { location, direction } => {
            let loc = store.location(location)?;
            let c = store.count_anonymous(loc.id, (*direction).into(), now)?;
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
        }
        Cmd::Annul {
            checkin,
            last,
            reason,
        } => {
            let id = match (checkin, last) {
                (Some(id), _) => *id,
                (None, true) => {
                    store
                        .last_checkin()?
                        .ok_or_else(|| anyhow!("this desk has no check-in to undo"))?
                        .id
                }
                (None, false) => bail!("name the check-in to undo, or pass --last for this desk's latest"),
            };
            let annulment = store.annul(id, reason, now)?;
            print(j, json!({"checkin_id": id, "annulment_id": annulment}), || {
                format!("check-in {id} undone")
            });
        }
        Cmd::Stats {
            day,
            all_days,
            server,
        } => {
            if *server {
                let day = match (day, all_days) {
                    (Some(d), _) => Some(d.to_string()),
                    (None, true) => Some("all".to_string()),
                    (None, false) => None,
                };
                let stats = net::server_stats(&store, day.as_deref())?;
                print(j, json!(stats), || stats_text(&stats));
                return Ok(());
            }
            let day = if *all_days {
                None
            } else {
                Some(day.unwrap_or(store.day_of(now)?))
            };
            let stats = store.stats(day, now)?;
            print(j, json!(stats), || stats_text(&stats));
        }
        Cmd::Export {
            report,
            format,
            day,
            anonymous,
            out,
            lang,
        } => {
            let lang = match lang {
                LangArg::Ru => Lang::Ru,
                LangArg::En => Lang::En,
            };
            // Names leave only through a coordinator's database: a desk
            // paired as volunteer or host exports counts, not people.
            let kind = match report {
                ReportArg::Attendance => checkin_tables::export::Report::Attendance,
                ReportArg::Zones => checkin_tables::export::Report::Zones,
                ReportArg::NoShows => checkin_tables::export::Report::NoShows,
                ReportArg::Summary => checkin_tables::export::Report::Summary,
            };
            if kind.is_personal(*anonymous)
                && let Some(p) = checkin_sync::client::Pairing::load(&store)?
                && p.role != checkin_sync::protocol::Role::Coordinator
            {
                bail!(
                    "this report holds names and this database belongs to a {} desk: export it from a coordinator's database, or use --report zones --anonymous / --report summary",
                    p.role.as_str()
                );
            }
            let day = match day {
                Some(d) => *d,
                None => store.day_of(now)?,
            };
            if *report == ReportArg::Summary || *format == Fmt::Html {
                if *report != ReportArg::Summary || *format != Fmt::Html {
                    bail!(
                        "the summary is written as HTML (--report summary --format html); tables as csv or xlsx"
                    );
                }
                let stats = store.stats(Some(day), now)?;
                let html = checkin_tables::export::summary_html(&stats, &stats.days[0], lang);
                std::fs::write(out, html).with_context(|| format!("writing {}", out.display()))?;
                print(j, json!({"out": out, "day": day}), || {
                    format!("wrote {} (summary of {day})", out.display())
                });
                return Ok(());
            }
            let format = match format {
                Fmt::Csv => ExportFormat::Csv,
                _ => ExportFormat::Xlsx,
            };
            let table = match report {
                ReportArg::Attendance => store.attendance_table(lang)?,
                ReportArg::Zones => store.zone_visits_table(Some(day), lang, *anonymous, now)?,
                ReportArg::NoShows => store.no_shows_table(day, lang)?,
                ReportArg::Summary => unreachable!("handled above"),
            };
            table.save(out, format)?;
            print(j, json!({"out": out, "rows": table.rows.len()}), || {
                format!("wrote {} ({} rows)", out.display(), table.rows.len())
            });
        }
        Cmd::Decode { .. } => unreachable!("handled before the database is opened"),
        Cmd::Desk { location } => desk(&mut store, location, cli.now)?,
        Cmd::Demo { attendees } => {
            let e = demo::create_event(&mut store, *attendees, now)?;
            print(j, json!({"event": e, "attendees": attendees}), || {
                format!(
                    "created demo event {:?} with {attendees} attendees in {}",
                    e.name,
                    cli.db.display()
                )
            });
        }
    }
    Ok(())
}

fn desk(store: &mut Store, location: &str, fixed_now: Option<DateTime<Utc>>) -> Result<()> {
    use std::io::BufRead;
    let loc = store.location(location)?;
    let clock = || fixed_now.unwrap_or_else(Utc::now);
    let show_counts = |store: &Store| -> Result<()> {
        let c = store.counters(clock())?;
        println!(
            "[{}] checked in {} / expected {}",
            loc.name, c.checked_in, c.expected
        );
        Ok(())
    };
    let e = store
        .event()
        .ok_or(checkin_core::error::CoreError::NoEvent)?
        .clone();
    println!("{} — {}", e.name, loc.name);
    if let Some((a, _)) = store.search("Чупшева", 1)?.first()
        && let Ok(token) = store.badge_token(a.id)
    {
        println!("try scanning {}'s badge:\n{token}", a.full_name);
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
                    println!(
                        "  +{}  {}  {}",
                        i + 1,
                        a.full_name,
                        a.organization.clone().unwrap_or_default()
                    );
                }
                if last_results.is_empty() {
                    println!("  no matches");
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
                println!("undone");
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

fn import_cmd(store: &mut Store, args: &ImportArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => bail!("delimiter {d:?}: use ',', ';' or 'tab'"),
    };
    let opts = ImportOptions {
        mapping: args.mapping.clone(),
        encoding: args.encoding.clone(),
        delimiter,
        sheet: args.sheet.clone(),
    };
    let event = store
        .event()
        .ok_or(checkin_core::error::CoreError::NoEvent)?
        .clone();
    let parsed = import::parse(&bytes, &opts, &event.categories, &event.days, &mut |_| {})?;
    if args.dry_run {
        print(
            j,
            json!({"rows": parsed.rows.len(), "errors": parsed.errors, "columns": parsed.columns, "headers": parsed.headers}),
            || {
                let mut s = format!(
                    "{} rows readable, {} with errors",
                    parsed.rows.len(),
                    parsed.errors.len()
                );
                for e in &parsed.errors {
                    s.push_str(&format!("\n  line {}: {}", e.line, e.message));
                }
                s
            },
        );
        return Ok(());
    }
    let report = store.import(
        &parsed,
        ApplyOptions {
            skip_bad_rows: args.skip_bad_rows,
        },
        now,
        &mut |_| {},
    )?;
    print(j, json!(report), || {
        let mut s = format!(
            "imported {}: {} new, {} updated, {} unchanged",
            args.file.display(),
            report.created,
            report.updated,
            report.unchanged
        );
        for e in &report.skipped {
            s.push_str(&format!("\n  skipped line {}: {}", e.line, e.message));
        }
        s
    });
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

fn decode_cmd(store: Option<&Store>, images: &[PathBuf], j: bool) -> Result<()> {
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
            println!("{s}");
        }
        all.push(json!({"image": path, "codes": codes, "ms": (ms * 1000.0).round() / 1000.0}));
    }
    if j {
        println!("{}", serde_json::to_string_pretty(&all).expect("json"));
    }
    if unread > 0 {
        bail!(
            "{unread} of {} images had no QR code readable as text; retake the photo closer, flatter and better lit",
            images.len()
        );
    }
    Ok(())
}

fn badges_cmd(store: &mut Store, args: &BadgesArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `checkin stats` for people: each day, its categories, entrances, zones and devices.
fn stats_text(stats: &checkin_core::stats::Stats) -> String {
    let mut s = String::new();
    for d in &stats.days {
        s.push_str(&format!(
            "{}: checked in {} / expected {}, no-shows {}, duplicates {}",
            d.day, d.checked_in, d.expected, d.no_shows, d.duplicates
        ));
        for c in &d.categories {
            s.push_str(&format!(
                "\n  {:<20} {:>6} / {:>6}",
                c.label_en, c.checked_in, c.expected
            ));
        }
        for e in &d.entrances {
            let peak = e.quarters.iter().max_by_key(|q| q.people);
            s.push_str(&format!(
                "\n  {:<12} entrance  people {:>6}  admissions {:>6}{}",
                e.name,
                e.people,
                e.admissions,
                peak.map(|q| format!(
                    "  busiest {:02}:{:02} ({})",
                    q.minute / 60,
                    q.minute % 60,
                    q.people
                ))
                .unwrap_or_default()
            ));
        }
        for z in &d.zones {
            s.push_str(&format!(
                    "\n  {:<12} zone  in {:>6}  out {:>6}  unique {:>6}  repeat {:>6}  anon +{}/-{}  inside {:>5}  peak {:>5}  median stay {}",
                    z.name,
                    z.entries,
                    z.exits,
                    z.unique_visitors,
                    z.repeat_visits,
                    z.anonymous_in,
                    z.anonymous_out,
                    z.occupancy_now,
                    z.peak_occupancy,
                    z.dwell_median_secs.map(|s| format!("{} min", s / 60)).unwrap_or("-".into())
                ));
        }
        for dev in &d.devices {
            s.push_str(&format!(
                "\n  device {:<20} check-ins {:>6}  admissions {:>6}",
                dev.name, dev.checkins, dev.admissions
            ));
        }
        s.push('\n');
    }
    s.trim_end().to_string()
}
