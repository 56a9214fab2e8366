//! `checkin`: the command-line tool for coordinators and scripting. Every
//! command works on a local database (`--db`) and prints JSON with `--json`.
//!
//! This file parses the command line and dispatches; the commands live in
//! one module per group:
//! - [`event`]: `event`, `location`, `demo`;
//! - [`people`]: `attendee`, `search`;
//! - [`tables`]: `import`, `export`, `stats`;
//! - [`badges`]: `badge`, `badges`;
//! - [`desk`]: `scan`, `decode`, `admit`, `count`, `annul`, `desk`;
//! - [`net`]: `serve`, `pair`, `sync`, `hub`, `pairing-code`, `devices`;
//! - [`out`]: output helpers the others share.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use serde_json::json;

use checkin_core::store::Store;

mod badges;
mod desk;
mod event;
mod net;
mod out;
mod people;
mod proposals;
mod tables;

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
    Event(event::EventCmd),
    /// Add or list entrances and zones (islands).
    #[command(subcommand)]
    Location(event::LocationCmd),
    /// Add, list, edit or remove the event's categories (`--json` for scripts).
    #[command(subcommand)]
    Category(event::CategoryCmd),
    /// Participants' proposals taken at the islands: add, list, edit, the
    /// islands' topics, export (`--json` for scripts).
    #[command(subcommand)]
    Proposal(proposals::ProposalCmd),
    /// Import attendees from CSV or XLSX (re-import updates people in place).
    Import(tables::ImportArgs),
    /// Add a walk-in or show one attendee.
    #[command(subcommand)]
    Attendee(people::AttendeeCmd),
    /// Search by name (any script), organization, e-mail, phone or code.
    Search(people::SearchArgs),
    /// Badge tokens and QR codes.
    #[command(subcommand)]
    Badge(badges::BadgeCmd),
    /// Print-ready badge PDF: a batch (all or filtered) or named people; logs what was printed.
    Badges(badges::BadgesArgs),
    /// Check a scanned badge or ticket code in and print the verdict.
    Scan(desk::ScanArgs),
    /// Read the QR codes in image files (PNG or JPEG) and print what each
    /// holds; with an existing --db, also whether it is a badge of its event.
    /// Records nothing.
    Decode(desk::DecodeArgs),
    /// Check a person in by hand (found by id, ticket code or e-mail).
    Admit(desk::AdmitArgs),
    /// Count an anonymous visitor at a zone (+1 with `in`, −1 with `out`).
    Count(desk::CountArgs),
    /// Undo a check-in with a reason (`--last` for this desk's latest).
    Annul(desk::AnnulArgs),
    /// Statistics of a day (today by default; `--all-days` for every day):
    /// arrivals per 15 minutes, categories, no-shows, zones, duplicates, devices.
    Stats(tables::StatsArgs),
    /// Export a report: attendance, zone visits, no-shows (CSV or XLSX) or the
    /// day's one-page summary (HTML).
    Export(tables::ExportArgs),
    /// An interactive desk in the terminal: each line is a scan; `/text` searches;
    /// `+N` checks in the N-th search result; `undo REASON` undoes the last check-in.
    Desk(desk::DeskArgs),
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
    Demo(event::DemoArgs),
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
    if let Cmd::Decode(args) = &cli.cmd {
        // Decoding needs no database: open one only if it already exists.
        let store = if cli.db.exists() {
            Some(open(&cli, now)?)
        } else {
            None
        };
        return desk::decode_cmd(store.as_ref(), args, j);
    }
    let mut store = open(&cli, now)?;
    match &cli.cmd {
        Cmd::Serve(_) => unreachable!("handled above"),
        Cmd::Decode(_) => unreachable!("handled before the database is opened"),
        Cmd::Pair(args) => net::pair(store, args, j),
        Cmd::Sync(args) => net::sync(store, args, j),
        Cmd::Hub(args) => net::hub(store, args, j),
        Cmd::PairingCode(args) => net::pairing_code(store, args, j),
        Cmd::Devices(cmd) => net::devices(store, cmd, j),
        Cmd::Event(cmd) => event::run(&mut store, cmd, j, now),
        Cmd::Location(cmd) => event::location(&mut store, cmd, j, now),
        Cmd::Category(cmd) => event::category(&mut store, cmd, j, now),
        Cmd::Proposal(cmd) => proposals::proposal(&mut store, cmd, j, now),
        Cmd::Import(args) => tables::import_cmd(&mut store, args, j, now),
        Cmd::Attendee(cmd) => people::attendee(&mut store, cmd, j, now),
        Cmd::Search(args) => people::search(&store, args, j),
        Cmd::Badge(cmd) => badges::badge(&mut store, cmd, j, now),
        Cmd::Badges(args) => badges::badges_cmd(&mut store, args, j, now),
        Cmd::Scan(args) => desk::scan(&mut store, args, j, now),
        Cmd::Admit(args) => desk::admit(&mut store, args, j, now),
        Cmd::Count(args) => desk::count(&mut store, args, j, now),
        Cmd::Annul(args) => desk::annul(&mut store, args, j, now),
        Cmd::Stats(args) => tables::stats(&store, args, j, now),
        Cmd::Export(args) => tables::export(&store, args, j, now),
        Cmd::Desk(args) => desk::desk(&mut store, args, cli.now),
        Cmd::Demo(args) => event::demo(&mut store, args, j, now, &cli.db),
    }
}
