//! `checkin import`, `checkin export` and `checkin stats`: attendee lists
//! in, reports and statistics out.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::ValueEnum;
use serde_json::json;

use checkin_core::stats::Stats;
use checkin_core::store::{ApplyOptions, Store};
use checkin_tables::export::{ExportFormat, Lang, TableWriter};
use checkin_tables::import::{self, Field, ImportOptions};

use crate::out::print;

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
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
    /// Send a category value of the file to an existing category,
    /// VALUE=CATEGORY (code or name), e.g. "СМИ=press"; repeat or separate
    /// by commas. Values neither known nor mapped become new categories.
    #[arg(long = "category-map", value_parser = parse_category_map, value_delimiter = ',')]
    category_map: Vec<(String, String)>,
    /// Import good rows and skip bad ones instead of refusing the file.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Check the file and show what would happen, change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
pub(crate) struct StatsArgs {
    #[arg(long)]
    day: Option<NaiveDate>,
    #[arg(long, conflicts_with = "day")]
    all_days: bool,
    /// Ask the server (this desk's pairing; coordinators only): everything
    /// every desk has uploaded, not just what this desk holds.
    #[arg(long)]
    server: bool,
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
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
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Fmt {
    Csv,
    Xlsx,
    Html,
    /// The paper checklist (`--report checklist`).
    Pdf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportArg {
    Attendance,
    Zones,
    NoShows,
    Summary,
    /// An alphabetical A4 list per category with a tick box (PDF), for
    /// when every laptop is down.
    Checklist,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LangArg {
    Ru,
    En,
}

/// `VALUE=CATEGORY` of `--category-map`.
fn parse_category_map(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((v, c)) if !v.trim().is_empty() && !c.trim().is_empty() => {
            Ok((v.trim().to_string(), c.trim().to_string()))
        }
        _ => Err(format!("{s:?}: write VALUE=CATEGORY, e.g. \"СМИ=press\"")),
    }
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

pub(crate) fn import_cmd(store: &mut Store, args: &ImportArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
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
        category_map: args.category_map.clone(),
    };
    let event = store
        .event()
        .ok_or(checkin_core::error::CoreError::NoEvent)?
        .clone();
    let parsed = import::parse(&bytes, &opts, &event.categories, &event.days, &mut |_| {})?;
    if args.dry_run {
        print(
            j,
            json!({
                "rows": parsed.rows.len(),
                "errors": parsed.errors,
                "columns": parsed.columns,
                "headers": parsed.headers,
                "new_categories": parsed.new_categories,
                "mapped_categories": parsed.mapped_categories,
            }),
            || {
                let mut s = format!(
                    "{} rows readable, {} with errors",
                    parsed.rows.len(),
                    parsed.errors.len()
                );
                for v in &parsed.new_categories {
                    s.push_str(&format!(
                        "\n  category \"{}\" ({} rows) is not in the event: it will be created as \"{}\" ({}); or map it with --category-map \"{}=<category>\"",
                        v.value, v.rows, v.value, v.code, v.value
                    ));
                }
                for v in &parsed.mapped_categories {
                    s.push_str(&format!(
                        "\n  category \"{}\" ({} rows) goes to {}",
                        v.value, v.rows, v.code
                    ));
                }
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
        for c in &report.categories_created {
            s.push_str(&format!(
                "\n  new category \"{}\" ({}): rename or recolour it with `checkin category edit {}`",
                c.label_ru, c.code, c.code
            ));
        }
        for v in &report.categories_mapped {
            s.push_str(&format!(
                "\n  category \"{}\" ({} rows) went to {}",
                v.value, v.rows, v.code
            ));
        }
        for e in &report.skipped {
            s.push_str(&format!("\n  skipped line {}: {}", e.line, e.message));
        }
        s
    });
    Ok(())
}

/// `checkin stats`; with `--server`, the statistics come from this desk's
/// server (for a day or `all`).
pub(crate) fn stats(store: &Store, args: &StatsArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    if args.server {
        let day = match (args.day, args.all_days) {
            (Some(d), _) => Some(d.to_string()),
            (None, true) => Some("all".to_string()),
            (None, false) => None,
        };
        let stats = crate::net::server_stats(store, day.as_deref())?;
        print(j, json!(stats), || stats_text(&stats));
        return Ok(());
    }
    let day = if args.all_days {
        None
    } else {
        Some(args.day.unwrap_or(store.day_of(now)?))
    };
    let stats = store.stats(day, now)?;
    print(j, json!(stats), || stats_text(&stats));
    Ok(())
}

pub(crate) fn export(store: &Store, args: &ExportArgs, j: bool, now: DateTime<Utc>) -> Result<()> {
    let ExportArgs {
        report,
        format,
        day,
        anonymous,
        out,
        lang,
    } = args;
    let lang = match lang {
        LangArg::Ru => Lang::Ru,
        LangArg::En => Lang::En,
    };
    // Names leave only through a coordinator's database: a desk
    // paired as volunteer or host exports counts, not people.
    let kind = match report {
        ReportArg::Attendance | ReportArg::Checklist => checkin_tables::export::Report::Attendance,
        ReportArg::Zones => checkin_tables::export::Report::Zones,
        ReportArg::NoShows => checkin_tables::export::Report::NoShows,
        ReportArg::Summary => checkin_tables::export::Report::Summary,
    };
    if kind.is_personal(*anonymous)
        && let Some(p) = checkin_sync::client::Pairing::load(store)?
        && p.role != checkin_sync::protocol::Role::Coordinator
    {
        bail!(
            "this report holds names and this database belongs to a {} desk: export it from a coordinator's database, or use --report zones --anonymous / --report summary",
            p.role.as_str()
        );
    }
    if *report == ReportArg::Checklist || *format == Fmt::Pdf {
        if *report != ReportArg::Checklist || *format != Fmt::Pdf {
            bail!(
                "the paper checklist is written as PDF (--report checklist --format pdf); tables as csv or xlsx"
            );
        }
        let event = store.event().ok_or(checkin_core::error::CoreError::NoEvent)?;
        let people = store.attendees()?;
        let lang = match lang {
            Lang::Ru => checkin_pdf::ChecklistLang::Ru,
            Lang::En => checkin_pdf::ChecklistLang::En,
        };
        let pdf = checkin_pdf::render_checklist(event, &people, lang)?;
        std::fs::write(out, &pdf.pdf).with_context(|| format!("writing {}", out.display()))?;
        print(
            j,
            json!({"out": out, "pages": pdf.pages, "people": pdf.badges}),
            || {
                format!(
                    "wrote {} ({} people on {} pages)",
                    out.display(),
                    pdf.badges,
                    pdf.pages
                )
            },
        );
        return Ok(());
    }
    let day = match day {
        Some(d) => *d,
        None => store.day_of(now)?,
    };
    if *report == ReportArg::Summary || *format == Fmt::Html {
        if *report != ReportArg::Summary || *format != Fmt::Html {
            bail!("the summary is written as HTML (--report summary --format html); tables as csv or xlsx");
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
        ReportArg::Summary | ReportArg::Checklist => unreachable!("handled above"),
    };
    table.save(out, format)?;
    print(j, json!({"out": out, "rows": table.rows.len()}), || {
        format!("wrote {} ({} rows)", out.display(), table.rows.len())
    });
    Ok(())
}

/// `checkin stats` for people: each day, its categories, entrances, zones and devices.
fn stats_text(stats: &Stats) -> String {
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
        if d.proposals.total > 0 {
            let p = &d.proposals;
            let per_island: Vec<String> = p
                .islands
                .iter()
                .filter(|i| i.total > 0)
                .map(|i| format!("{} {}", i.name, i.total))
                .collect();
            let per_status: Vec<String> = p
                .statuses
                .iter()
                .map(|c| format!("{} {}", c.status.as_str(), c.count))
                .collect();
            s.push_str(&format!(
                "\n  proposals {:>6}  ({})  {}",
                p.total,
                per_island.join(", "),
                per_status.join(", ")
            ));
            if !p.topics.is_empty() {
                let topics: Vec<String> = p
                    .topics
                    .iter()
                    .map(|t| format!("{} {}", t.topic, t.count))
                    .collect();
                s.push_str(&format!("\n  topics    {}", topics.join(", ")));
            }
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
