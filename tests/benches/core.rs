//! `cargo xtask bench`: the core's speed targets on a forum-sized database
//! (100,000 attendees, 300,000 check-ins), and badge PDFs (10,000 on A4
//! sheets, one on demand), printed as a table.
//!
//! Run by `cargo bench` (full size, release). Under `cargo test` (no
//! `--bench` argument) it runs the same code on a small database as a smoke
//! test and checks nothing about speed.

use std::time::{Duration, Instant};

use checkin_core::demo;
use checkin_core::engine::Verdict;
use checkin_core::hlc::Hlc;
use checkin_core::model::{CheckIn, Device, Direction, LocationKind, Method, new_id};
use checkin_core::store::changes::{Change, ChangeEnvelope};
use checkin_core::store::{ApplyOptions, BadgeFilter, Store};
use checkin_pdf::{Layout, Options};
use checkin_scan::{self as scan, FrameDecoder, synthetic};
use checkin_search::transliterate;
use checkin_tables::import::{self, ImportOptions};
use chrono::{DateTime, TimeZone, Utc};

struct Sizes {
    attendees: usize,
    checkins: usize,
    scans: usize,
    queries: usize,
    import_rows: usize,
    badges: usize,
    on_demand: usize,
}

struct Row {
    name: String,
    n: usize,
    median: Duration,
    p99: Duration,
    target: String,
    ok: bool,
    note: String,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Reset the process's peak resident set (Linux; elsewhere a no-op) and
/// return the current one in KiB.
fn clear_peak_rss() -> Option<u64> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
    })
}

/// CPU seconds this process used so far, all threads (Linux; 0 elsewhere):
/// shows the work apart from the wall time when the machine is busy.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<String> = s
                .rsplit(')')
                .next()?
                .split_whitespace()
                .map(String::from)
                .collect();
            let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// How far the peak resident set rose over `base` (KiB), e.g. "+41 MiB".
fn peak_rss_rise(base: Option<u64>) -> String {
    match (base, status_kib("VmHWM:")) {
        (Some(b), Some(p)) => format!("+{} MiB", p.saturating_sub(b) / 1024),
        _ => "?".into(),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            attendees: 100_000,
            checkins: 300_000,
            scans: 2_000,
            queries: 2_000,
            import_rows: 100_000,
            badges: 10_000,
            on_demand: 50,
        }
    } else {
        Sizes {
            attendees: 2_000,
            checkins: 6_000,
            scans: 50,
            queries: 50,
            import_rows: 2_000,
            badges: 200,
            on_demand: 5,
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // 10:00 Moscow on the first demo day.
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 6, 2, 7, 0, 0).unwrap();
    let mut rows = Vec::new();

    // ---- database of the forum's size ------------------------------------------------------
    let build = Instant::now();
    let mut store = Store::open_local(&dir.path().join("desk.db"), "bench desk", t0).expect("open");
    demo::create_event(&mut store, sizes.attendees, t0).expect("demo event");
    let attendees = store.attendees().expect("attendees");
    let locations = store.locations().expect("locations").to_vec();
    let entrances: Vec<_> = locations
        .iter()
        .filter(|l| l.kind == LocationKind::Entrance)
        .collect();
    let zones: Vec<_> = locations
        .iter()
        .filter(|l| l.kind == LocationKind::Zone)
        .collect();
    let event_id = store.event().unwrap().id;
    let day = store.day_of(t0).unwrap();
    // Check-ins synced from 12 other desks: the first half of the people came in
    // through an entrance, and islands saw repeat visits.
    let other = Device {
        id: new_id(t0),
        name: "other desk".into(),
    };
    let mut hlc = Hlc::zero(other.id);
    let mut changes = Vec::with_capacity(sizes.checkins);
    let admitted_half = attendees.len() / 2;
    for i in 0..sizes.checkins {
        let at = t0 - chrono::Duration::milliseconds((sizes.checkins - i) as i64 * 50);
        let (attendee, location) = if i < admitted_half {
            (&attendees[i], entrances[i % entrances.len()])
        } else {
            (&attendees[i % admitted_half], zones[i % zones.len()])
        };
        hlc = hlc.tick(at.timestamp_millis());
        changes.push(ChangeEnvelope {
            sig: None,
            id: new_id(at),
            event_id,
            hlc,
            device_id: other.id,
            change: Change::CheckIn(CheckIn {
                id: new_id(at),
                attendee_id: Some(attendee.id),
                location_id: location.id,
                device_id: other.id,
                direction: Direction::In,
                method: Method::Scan,
                at,
                day,
                annulled_by: None,
            }),
        });
    }
    store.apply_remote(&changes, t0).expect("check-ins");
    drop(changes);
    let build_time = build.elapsed();

    // ---- the event's own categories -------------------------------------------------------
    // 50 in all, as a registration export brings them: every fifth valid on
    // the first day only (today), every seventh on the second day only. The
    // people scanned below spread over them; every tenth carries a note for
    // the desk and the attention mark.
    let days = store.event().unwrap().days.clone();
    let mut codes: Vec<String> = store
        .categories()
        .unwrap()
        .iter()
        .map(|c| c.code.clone())
        .collect();
    let mut k = 0;
    while codes.len() < 50 {
        let valid = if k % 5 == 0 {
            vec![days[0]]
        } else if k % 7 == 0 && days.len() > 1 {
            vec![days[1]]
        } else {
            vec![]
        };
        let c = store
            .add_category(None, &format!("Делегация {k}"), None, None, valid, t0)
            .expect("category");
        codes.push(c.code);
        k += 1;
    }
    for i in 0..sizes.scans {
        let mut a = attendees[admitted_half + i].clone();
        a.category = codes[i % codes.len()].clone();
        if i % 10 == 0 {
            a.notes = Some("VIP — позвонить протоколу".into());
            a.attention = true;
        }
        store.save_attendee(a, t0).expect("attendee");
    }

    // ---- scan → durable verdict -------------------------------------------------------------
    let mut lat = Vec::with_capacity(sizes.scans);
    let mut admitted = 0;
    let mut other_day = 0;
    for i in 0..sizes.scans {
        // Mostly new arrivals, every fourth one a person already inside.
        let a = if i % 4 == 3 {
            &attendees[i % admitted_half]
        } else {
            &attendees[admitted_half + i]
        };
        let token = store.badge_token(a.id).expect("token");
        let now = t0 + chrono::Duration::milliseconds(i as i64 * 300);
        let start = Instant::now();
        let out = store
            .scan(&token, entrances[i % entrances.len()].id, Direction::In, now)
            .expect("scan");
        lat.push(start.elapsed());
        match out.verdict {
            Verdict::Admitted { .. } => admitted += 1,
            Verdict::NotValidToday { .. } => other_day += 1,
            _ => {}
        }
    }
    lat.sort();
    rows.push(Row {
        name: "scan → durable verdict".into(),
        n: sizes.scans,
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "p99 ≤ 5 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(5),
        note: format!(
            "{} attendees, {} categories (day-limited ones checked), every 10th with a note; \
             {admitted} admitted, {other_day} not valid today, rest already_checked_in; synchronous=FULL",
            attendees.len(),
            codes.len()
        ),
    });

    // ---- statistics ------------------------------------------------------------------------
    stats_rows(&mut rows, &mut store, &attendees, full, t0);

    // ---- search per keystroke -------------------------------------------------------------
    let mut lat = Vec::with_capacity(sizes.queries * 8);
    let mut first = 0;
    let mut full_queries = 0;
    let step = (attendees.len() / sizes.queries).max(1);
    for a in attendees.iter().step_by(step).take(sizes.queries) {
        // Type the surname and first name keystroke by keystroke, in Latin for every other person.
        let words: Vec<&str> = a.full_name.split_whitespace().take(2).collect();
        let typed = words.join(" ");
        let typed = if full_queries % 2 == 0 {
            transliterate(&typed)
        } else {
            typed
        };
        let chars: Vec<char> = typed.chars().collect();
        for k in 1..=chars.len() {
            let q: String = chars[..k].iter().collect();
            let start = Instant::now();
            let hits = store.search_ids(&q, 10);
            lat.push(start.elapsed());
            if k == chars.len() {
                full_queries += 1;
                // Namesakes are common: the person must be among the ones
                // with the best score.
                let top = hits.first().map(|h| h.score).unwrap_or(0.0);
                if hits.iter().any(|h| h.id == a.id && h.score >= top - 1e-6) {
                    first += 1;
                }
            }
        }
    }
    lat.sort();
    rows.push(Row {
        name: "search per keystroke".into(),
        n: lat.len(),
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "median ≤ 0.5 ms, p99 ≤ 5 ms".into(),
        ok: pct(&lat, 0.5) <= Duration::from_micros(500) && pct(&lat, 0.99) <= Duration::from_millis(5),
        note: format!("expected person ranked first on {first}/{full_queries} full names"),
    });

    // ---- proposals --------------------------------------------------------------------------
    proposal_rows(&mut rows, &mut store, &attendees, full, t0);

    // ---- import ---------------------------------------------------------------------------
    let mut csv = String::from("ФИО;Организация;Должность;Категория;Email;Телефон;Номер билета\n");
    for (i, a) in demo::attendees(sizes.import_rows, 99).iter().enumerate() {
        csv.push_str(&format!(
            "{};\"{}\";{};{};imp{i}@example.org;{};IMP-{i:06}\n",
            a.full_name,
            a.organization.as_deref().unwrap_or("").replace('"', "\"\""),
            a.position.as_deref().unwrap_or(""),
            a.category,
            a.phone.as_deref().unwrap_or("")
        ));
    }
    let mut fresh = Store::open_local(&dir.path().join("import.db"), "bench import", t0).expect("open");
    demo::create_event(&mut fresh, 0, t0).expect("event");
    let ev = fresh.event().unwrap().clone();
    let start = Instant::now();
    let parsed = import::parse(
        csv.as_bytes(),
        &ImportOptions::default(),
        &ev.categories,
        &ev.days,
        &mut |_| {},
    )
    .expect("parse");
    let parse_time = start.elapsed();
    let report = fresh
        .import(&parsed, ApplyOptions::default(), t0, &mut |_| {})
        .expect("import");
    let import_time = start.elapsed();
    let start = Instant::now();
    let pages = fresh.checkpoint().expect("checkpoint");
    let checkpoint_time = start.elapsed();
    rows.push(Row {
        name: "import CSV rows".into(),
        n: sizes.import_rows,
        median: import_time,
        p99: import_time,
        target: "≤ 3 s for 100,000".into(),
        ok: import_time <= Duration::from_secs(3),
        note: format!(
            "parse {} + durable write; {} created; then background checkpoint {} ({pages} pages)",
            ms(parse_time),
            report.created,
            ms(checkpoint_time)
        ),
    });

    // ---- QR decoding ------------------------------------------------------------------------
    scan_rows(&mut rows, full);
    // ---- badge PDFs -------------------------------------------------------------------------
    let mut printer = Store::open_local(&dir.path().join("badges.db"), "bench print", t0).expect("open");
    demo::create_event(&mut printer, sizes.badges - demo::hard_badge_cases().len(), t0).expect("event");
    printer
        .add_attendees(demo::hard_badge_cases(), t0)
        .expect("hard cases");
    let event = printer.event().unwrap().clone();
    let base_rss = clear_peak_rss();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let batch = printer
        .badges_to_print(&BadgeFilter::default())
        .expect("select and sign");
    let sign_time = start.elapsed();
    let mut reports = 0;
    let rendered = checkin_pdf::render(&event, &batch, &Options::new(Layout::A4x8), &mut |_| reports += 1)
        .expect("render");
    let batch_time = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let peak = peak_rss_rise(base_rss);
    let mib = rendered.pdf.len() as f64 / (1024.0 * 1024.0);
    rows.push(Row {
        name: "badges A4×8 PDF".into(),
        n: rendered.badges,
        median: batch_time,
        p99: batch_time,
        target: "≤ 5 s for 10,000, ≤ 12 MB".into(),
        ok: batch_time <= Duration::from_secs(5) && mib <= 12.0,
        note: format!(
            "select + sign {} + QR, layout, PDF; {cpu:.1} s CPU; {} pages, {mib:.1} MiB, peak RSS {peak}, {reports} progress calls",
            ms(sign_time),
            rendered.pages,
        ),
    });
    drop((batch, rendered));

    let ids: Vec<_> = printer
        .badge_selection(&BadgeFilter::default())
        .expect("select")
        .into_iter()
        .map(|a| a.id)
        .step_by((sizes.badges / sizes.on_demand).max(1))
        .take(sizes.on_demand)
        .collect();
    let mut lat = Vec::with_capacity(ids.len());
    let mut bytes = 0;
    for id in &ids {
        let start = Instant::now();
        let (one, printed) = checkin_pdf::render_badges(
            &printer,
            &BadgeFilter {
                attendees: vec![*id],
                ..BadgeFilter::default()
            },
            &Options::new(Layout::A6),
            &mut |_| {},
        )
        .expect("one badge");
        lat.push(start.elapsed());
        bytes = bytes.max(one.pdf.len());
        assert_eq!(printed.len(), 1);
    }
    lat.sort();
    rows.push(Row {
        name: "one badge A6 on demand".into(),
        n: lat.len(),
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "≤ 50 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(50),
        note: format!(
            "find, sign, QR, layout, subset fonts, PDF; ≤ {} KiB",
            bytes / 1024
        ),
    });

    // ---- table ----------------------------------------------------------------------------
    println!();
    println!(
        "database: {} attendees, {} check-ins (built in {:.1} s){}",
        sizes.attendees,
        sizes.checkins,
        build_time.as_secs_f64(),
        if full {
            ""
        } else {
            " — smoke run, not a measurement"
        }
    );
    println!(
        "| {:<24} | {:>7} | {:>11} | {:>11} | {:<28} | {:<4} | note",
        "benchmark", "n", "median", "p99", "target", "ok"
    );
    println!(
        "|{:-<26}|{:->9}|{:->13}|{:->13}|{:-<30}|{:-<6}|{:-<40}",
        "", "", "", "", "", "", ""
    );
    for r in &rows {
        println!(
            "| {:<24} | {:>7} | {:>11} | {:>11} | {:<28} | {:<4} | {}",
            r.name,
            r.n,
            ms(r.median),
            ms(r.p99),
            r.target,
            if r.ok { "yes" } else { "NO" },
            r.note
        );
    }
}

/// The dashboard's statistics over the forum's database plus 100,000 zone
/// events (badge in/out pairs and anonymous counts from island desks): a full
/// computation, then a refresh after each new scan.
fn stats_rows(
    rows: &mut Vec<Row>,
    store: &mut Store,
    attendees: &[checkin_core::model::Attendee],
    full: bool,
    t0: DateTime<Utc>,
) {
    let zone_events = if full { 100_000 } else { 2_000 };
    let zones: Vec<_> = store
        .locations()
        .expect("locations")
        .iter()
        .filter(|l| l.kind == LocationKind::Zone)
        .cloned()
        .collect();
    let entrance = store
        .locations()
        .expect("locations")
        .iter()
        .find(|l| l.kind == LocationKind::Entrance)
        .cloned()
        .expect("entrance");
    let event_id = store.event().unwrap().id;
    let day = store.day_of(t0).unwrap();
    let island = Device {
        id: new_id(t0),
        name: "island desk".into(),
    };
    let mut hlc = Hlc::zero(island.id);
    let mut changes = Vec::with_capacity(zone_events);
    for i in 0..zone_events {
        // Pairs: a person (or an anonymous visitor, every fifth) goes in, and
        // comes out 3–40 minutes later.
        let pair = i / 2;
        let start = t0 - chrono::Duration::seconds((zone_events - i) as i64 * 3);
        let at = if i % 2 == 0 {
            start
        } else {
            start + chrono::Duration::minutes(3 + (pair % 38) as i64)
        };
        let attendee_id = (pair % 5 != 0).then(|| attendees[pair % attendees.len()].id);
        hlc = hlc.tick(at.timestamp_millis());
        changes.push(ChangeEnvelope {
            sig: None,
            id: new_id(at),
            event_id,
            hlc,
            device_id: island.id,
            change: Change::CheckIn(CheckIn {
                id: new_id(at),
                attendee_id,
                location_id: zones[pair % zones.len()].id,
                device_id: island.id,
                direction: if i % 2 == 0 { Direction::In } else { Direction::Out },
                method: Method::Scan,
                at,
                day,
                annulled_by: None,
            }),
        });
    }
    store.apply_remote(&changes, t0).expect("zone events");
    drop(changes);

    let runs = if full { 7 } else { 2 };
    let mut lat = Vec::with_capacity(runs);
    let mut summary = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let s = store.stats(Some(day), t0).expect("stats");
        lat.push(start.elapsed());
        let d = &s.days[0];
        summary = format!(
            "{} checked in, {} zone entries, {} duplicates",
            d.checked_in,
            d.zones.iter().map(|z| z.entries).sum::<u64>(),
            d.duplicates
        );
    }
    lat.sort();
    rows.push(Row {
        name: "stats full dashboard".into(),
        n: runs,
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "≤ 200 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(200),
        note: format!("one day; {summary}"),
    });

    let mut cache = checkin_core::stats::StatsCache::load(store).expect("cache");
    let n = if full { 500 } else { 20 };
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let now = t0 + chrono::Duration::seconds(3600 + i as i64);
        let a = &attendees[attendees.len() - 1 - i];
        if i % 2 == 0 {
            store
                .check_in_attendee(a.id, entrance.id, Direction::In, Method::Search, now)
                .expect("admit");
        } else {
            store
                .count_anonymous(zones[i % zones.len()].id, Direction::In, now)
                .expect("count");
        }
        let start = Instant::now();
        cache.refresh(store).expect("refresh");
        let s = cache.stats(store, Some(day), now).expect("stats");
        lat.push(start.elapsed());
        assert!(s.days[0].checked_in > 0);
    }
    lat.sort();
    rows.push(Row {
        name: "stats refresh per event".into(),
        n,
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "≤ 20 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(20),
        note: format!("{zone_events} zone events; refresh from the change log + full Stats"),
    });
}

/// The ZXing black-box photos (`../shared/testdata/qr-zxing` beside the
/// repository): how many read, and the time per image; then 1280×720 grey
/// webcam frames with a ~200 px badge QR and without one, at frame effort.
fn scan_rows(rows: &mut Vec<Row>, full: bool) {
    let root = std::env::var_os("CHECKIN_QR_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/qr-zxing")
        });
    let mut images = Vec::new();
    for set in 1..=4 {
        let Ok(dir) = std::fs::read_dir(root.join(format!("qrcode-{set}"))) else {
            continue;
        };
        let mut pngs: Vec<_> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        pngs.sort();
        for png in pngs {
            let expected = std::fs::read(png.with_extension("txt")).unwrap_or_default();
            let bytes = std::fs::read(&png).expect("test image");
            let grey = image::load_from_memory(&bytes).expect("png").to_luma8();
            images.push((grey, expected));
        }
    }
    if !full {
        images.truncate(8);
    }
    if images.is_empty() {
        rows.push(Row {
            name: "QR photo (ZXing set)".into(),
            n: 0,
            median: Duration::ZERO,
            p99: Duration::ZERO,
            target: "≥ 135 of 145 read".into(),
            ok: false,
            note: format!("test set missing at {}", root.display()),
        });
    } else {
        let (mut lat, mut read) = (Vec::with_capacity(images.len()), 0);
        for (grey, expected) in &images {
            let start = cpu_time();
            let found = scan::decode_luma(grey.width(), grey.height(), grey.as_raw()).expect("decode");
            lat.push(cpu_time() - start);
            if found
                .iter()
                .any(|d| d.text.as_deref().map(str::as_bytes) == Some(&expected[..]))
            {
                read += 1;
            }
        }
        lat.sort();
        rows.push(Row {
            name: "QR photo (ZXing set)".into(),
            n: images.len(),
            median: pct(&lat, 0.5),
            p99: pct(&lat, 0.99),
            target: "≥ 135 of 145 read".into(),
            ok: !full || read >= 135,
            note: format!(
                "{read} of {} read as expected (ZXing-C++ 3.1: 131); thread CPU time per grey image, all fallbacks; mean {}",
                images.len(),
                ms(lat.iter().sum::<Duration>() / lat.len() as u32)
            ),
        });
    }

    let (kinds, reps) = if full { (20u64, 10) } else { (2, 1) };
    for (name, size) in [("720p frame, 200 px QR", 200.0f32), ("720p frame, empty", 0.0)] {
        let frames: Vec<Vec<u8>> = (1..=kinds)
            .map(|seed| synthetic::webcam_frame(size, seed))
            .collect();
        let (mut lat, mut read) = (Vec::new(), 0);
        let mut decoder = FrameDecoder::new();
        for _ in 0..reps {
            for frame in &frames {
                let start = cpu_time();
                let found = decoder.decode(1280, 720, frame).expect("decode");
                lat.push(cpu_time() - start);
                read += found.iter().filter(|d| d.text.is_some()).count();
            }
        }
        lat.sort();
        rows.push(Row {
            name: name.into(),
            n: lat.len(),
            median: pct(&lat, 0.5),
            p99: pct(&lat, 0.99),
            target: "median ≤ 5 ms, 1 thread".into(),
            // The smoke run (debug build under `cargo test`) measures nothing.
            ok: !full || pct(&lat, 0.5) <= Duration::from_millis(5),
            note: format!(
                "{read} of {} frames read a code; FrameDecoder, thread CPU time",
                lat.len()
            ),
        });
    }
}

/// CPU time of the calling thread: on a machine shared with other builds,
/// wall time would measure them too.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Proposals at the islands: saving one (durable), searching 20,000 of them
/// keystroke by keystroke, and the PDF of 2,000 for one island.
fn proposal_rows(
    rows: &mut Vec<Row>,
    store: &mut Store,
    attendees: &[checkin_core::model::Attendee],
    full: bool,
    t0: DateTime<Utc>,
) {
    use checkin_core::model::{LocationKind, ProposalAuthor};
    use checkin_core::store::proposals::{NewProposal, ProposalFilter};
    let (total, pdf_n) = if full { (20_000, 2_000) } else { (600, 200) };
    let islands: Vec<_> = store
        .locations()
        .unwrap()
        .iter()
        .filter(|l| l.kind == LocationKind::Zone)
        .map(|l| l.id)
        .collect();
    let topics: Vec<String> = [
        "Город",
        "Экология",
        "Волонтёрство",
        "Образование",
        "Здоровье",
        "Культура",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    for i in &islands {
        store.set_island_topics(*i, &topics, t0).expect("topics");
    }
    // A vocabulary of a few hundred words, as people write (taken from the
    // demo's organizations and positions, which are varied Russian text):
    // titles of 2–3 words, texts of 12–60, so a word is in a few percent of
    // the proposals, not in every one.
    let mut vocab: Vec<String> = attendees
        .iter()
        .take(5_000)
        .flat_map(|a| {
            [a.organization.clone(), a.position.clone()]
                .into_iter()
                .flatten()
                .flat_map(|t| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        })
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| w.chars().count() >= 4)
        .collect();
    vocab.sort();
    vocab.dedup();
    let pick = |i: usize, k: usize| {
        vocab[(i.wrapping_mul(2_654_435_761) >> 7).wrapping_add(k * 7919) % vocab.len()].as_str()
    };
    let mut lat = Vec::with_capacity(total);
    for i in 0..total {
        let island = if i < pdf_n {
            islands[0]
        } else {
            islands[1 + i % (islands.len() - 1)]
        };
        let title = (0..2 + i % 2).map(|k| pick(i, k)).collect::<Vec<_>>().join(" ");
        let text = (0..12 + (i * 13) % 48)
            .map(|k| pick(i, k + 3))
            .collect::<Vec<_>>()
            .join(" ");
        let new = NewProposal {
            island_id: island,
            author: ProposalAuthor {
                attendee_id: Some(attendees[i % attendees.len()].id),
                ..ProposalAuthor::default()
            },
            title,
            text,
            topics: vec![
                topics[i % topics.len()].clone(),
                topics[(i + 2) % topics.len()].clone(),
            ],
            consent: i % 3 == 0,
        };
        let now = t0 + chrono::Duration::milliseconds(i as i64 * 1_000);
        let start = Instant::now();
        store.add_proposal(new, now).expect("proposal");
        lat.push(start.elapsed());
    }
    lat.sort();
    rows.push(Row {
        name: "proposal saved → durable".into(),
        n: lat.len(),
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "p99 ≤ 5 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(5),
        note: "add_proposal: checks, outbox, FTS5 trigram index; synchronous=FULL".into(),
    });

    // Search: a coordinator types words of titles and texts, and authors'
    // names, one keystroke at a time.
    let mut lat = Vec::new();
    let mut found = 0;
    let queries: Vec<String> = (0..16)
        .map(|k| pick(k * 997, k % 3).to_string())
        .chain(
            attendees
                .iter()
                .take(total)
                .step_by(total / 8)
                .take(8)
                .map(|a| a.full_name.split_whitespace().next().unwrap_or("").to_string()),
        )
        .collect();
    for q in &queries {
        let chars: Vec<char> = q.chars().collect();
        for k in 1..=chars.len() {
            let typed: String = chars[..k].iter().collect();
            let start = Instant::now();
            let hits = store
                .proposals(&ProposalFilter {
                    query: Some(typed),
                    limit: Some(300),
                    ..ProposalFilter::default()
                })
                .expect("search");
            lat.push(start.elapsed());
            if k == chars.len() && !hits.is_empty() {
                found += 1;
            }
        }
    }
    lat.sort();
    rows.push(Row {
        name: "proposal search keystroke".into(),
        n: lat.len(),
        median: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        target: "p99 ≤ 20 ms".into(),
        ok: pct(&lat, 0.99) <= Duration::from_millis(20),
        note: format!(
            "{total} proposals; titles and texts (FTS5 trigram, from 3 letters) and authors (name index); the newest 300 as the screen lists them; {found}/{} words found",
            queries.len()
        ),
    });

    // The island's PDF for the presentation.
    let filter = ProposalFilter {
        island_id: Some(islands[0]),
        ..ProposalFilter::default()
    };
    let start = Instant::now();
    let pdf =
        checkin_pdf::render_island_proposals(store, &filter, checkin_pdf::ProposalsLang::Ru).expect("pdf");
    let took = start.elapsed();
    rows.push(Row {
        name: "proposals PDF of an island".into(),
        n: pdf.badges,
        median: took,
        p99: took,
        target: "≤ 3 s for 2,000".into(),
        ok: took <= Duration::from_secs(3),
        note: format!(
            "{} proposals grouped by topic, {} pages, {} KiB",
            pdf.badges,
            pdf.pages,
            pdf.pdf.len() / 1024
        ),
    });
}
