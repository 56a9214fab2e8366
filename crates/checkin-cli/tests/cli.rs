//! The `checkin` binary as a coordinator or script uses it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-06-02T07:00:00Z"; // 10:00 in Moscow, day 1

struct Cli {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("forum.db");
        Cli { _dir: dir, db }
    }

    fn dir(&self) -> &Path {
        self._dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_checkin"))
            .arg("--db")
            .arg(&self.db)
            .args(["--now", NOW])
            .args(args)
            .output()
            .unwrap()
    }

    /// Run with --json and expect success.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "checkin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "checkin {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn setup(&self) {
        self.json(&[
            "event",
            "create",
            "--name",
            "Форум",
            "--days",
            "2026-06-02,2026-06-03",
            "--tz",
            "Europe/Moscow",
        ]);
        self.json(&["location", "add", "Вход A", "--kind", "entrance"]);
        self.json(&["location", "add", "Остров 1", "--kind", "zone"]);
    }
}

#[test]
fn event_import_search_badge_scan_annul_stats_export() {
    let cli = Cli::new();
    cli.setup();
    let csv = cli.dir().join("list.csv");
    std::fs::write(
        &csv,
        "ФИО;Организация;Категория;Email;Номер билета\n\
         Чупшева Анна Сергеевна;Фонд «Добро»;Спикер;anna@example.org;T-1\n\
         Смирнов Алексей;НИУ ВШЭ;;alexey@example.org;T-2\n",
    )
    .unwrap();
    let report = cli.json(&["import", csv.to_str().unwrap()]);
    assert_eq!(report["created"], 2);
    // A re-import changes nobody and duplicates nobody.
    let again = cli.json(&["import", csv.to_str().unwrap()]);
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2))
    );

    let hits = cli.json(&["search", "chupsheva"]);
    assert_eq!(hits[0]["attendee"]["full_name"], "Чупшева Анна Сергеевна");

    let token = cli.json(&["badge", "token", "T-1"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("CK"));
    let png = cli.dir().join("anna.png");
    cli.json(&["badge", "qr", "T-1", "--out", png.to_str().unwrap()]);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let svg = cli.dir().join("anna.svg");
    cli.json(&["badge", "qr", "anna@example.org", "--out", svg.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    let v = cli.json(&["scan", &token, "--location", "Вход A"]);
    assert_eq!(v["verdict"], "admitted");
    assert_eq!(v["attendee"]["full_name"], "Чупшева Анна Сергеевна");
    let v = cli.json(&["scan", &token, "--location", "вход a"]);
    assert_eq!(v["verdict"], "already_checked_in");
    assert_eq!(v["first"]["location_name"], "Вход A");
    let v = cli.json(&["scan", "garbage-code", "--location", "Вход A"]);
    assert_eq!(v["verdict"], "unknown_badge");

    let v = cli.json(&["admit", "T-2", "--location", "Вход A"]);
    assert_eq!(v["verdict"], "admitted");
    let stats = cli.json(&["stats"]);
    assert_eq!(stats["days"].as_array().map(Vec::len), Some(1), "{stats}");
    let today = &stats["days"][0];
    assert_eq!(
        (today["checked_in"].as_u64(), today["expected"].as_u64()),
        (Some(2), Some(2))
    );
    cli.json(&["annul", "--last", "--reason", "wrong person"]);
    assert_eq!(cli.json(&["stats"])["days"][0]["checked_in"], 1);
    let all = cli.json(&["stats", "--all-days"]);
    assert!(all["days"].as_array().is_some_and(|d| !d.is_empty()), "{all}");

    let xlsx = cli.dir().join("attendance.xlsx");
    let out = cli.json(&["export", "--format", "xlsx", "--out", xlsx.to_str().unwrap()]);
    assert_eq!(out["rows"], 2);
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let text: Vec<String> = range
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(text.contains(&"Чупшева Анна Сергеевна".to_string()));
    assert!(text.iter().any(|c| c.starts_with("10:00 (Вход A)")), "{text:?}");
    let csv_out = cli.dir().join("attendance.csv");
    cli.json(&[
        "export",
        "--format",
        "csv",
        "--out",
        csv_out.to_str().unwrap(),
        "--lang",
        "en",
    ]);
    let bytes = std::fs::read(&csv_out).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFFull name,"));

    // Reports: no-shows name the person not admitted; the summary is HTML
    // with Cyrillic intact; HTML is only for the summary.
    let no_shows = cli.dir().join("no-shows.csv");
    let out = cli.json(&[
        "export",
        "--report",
        "no-shows",
        "--format",
        "csv",
        "--out",
        no_shows.to_str().unwrap(),
    ]);
    assert_eq!(out["rows"], 1, "{out}");
    let text = String::from_utf8(std::fs::read(&no_shows).unwrap()).unwrap();
    assert!(!text.contains("Чупшева"), "{text}");
    let zones = cli.dir().join("zones.xlsx");
    cli.json(&[
        "export",
        "--report",
        "zones",
        "--anonymous",
        "--format",
        "xlsx",
        "--out",
        zones.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&zones).unwrap().starts_with(b"PK"));
    let summary = cli.dir().join("summary.html");
    cli.json(&[
        "export",
        "--report",
        "summary",
        "--format",
        "html",
        "--out",
        summary.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&summary).unwrap();
    assert!(html.contains("<svg") && html.contains("Вход A"), "{html}");
    let err = cli.fails(&["export", "--format", "html", "--out", summary.to_str().unwrap()]);
    assert!(err.contains("--report summary --format html"), "{err}");
}

#[test]
fn a_bad_file_changes_nothing_and_names_the_lines() {
    let cli = Cli::new();
    cli.setup();
    let csv = cli.dir().join("bad.csv");
    std::fs::write(
        &csv,
        "ФИО,Email\nИванов Иван,ivan@example.org\n,nobody@example.org\nПетров Пётр,not-an-email\n",
    )
    .unwrap();
    let err = cli.fails(&["import", csv.to_str().unwrap()]);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    let shown = cli.json(&["event", "show"]);
    assert_eq!(shown["attendees"], 0);
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let cli = Cli::new();
    let err = cli.fails(&["stats"]);
    assert!(err.contains("checkin event create"), "{err}");
    cli.setup();
    let err = cli.fails(&["scan", "X", "--location", "Nowhere"]);
    assert!(
        err.contains("Вход A"),
        "the message lists the known locations: {err}"
    );
    let out = cli.run(&["--json", "badge", "token", "nobody@example.org"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "unknown_attendee");
    let err = cli.fails(&[
        "event",
        "create",
        "--name",
        "X",
        "--days",
        "2026-06-02",
        "--tz",
        "Mars/Olympus",
    ]);
    assert!(
        err.contains("event already exists") || err.contains("time zone"),
        "{err}"
    );
}

#[test]
fn walk_in_revoke_and_anonymous_counts() {
    let cli = Cli::new();
    cli.setup();
    let a = cli.json(&[
        "attendee",
        "add",
        "--name",
        "Илья Кузнецов",
        "--category",
        "press",
        "--ticket",
        "W-1",
    ]);
    assert_eq!(a["category"], "press");
    let token = cli.json(&["badge", "token", "W-1"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    cli.json(&["attendee", "revoke", "W-1", "--reason", "duplicate"]);
    assert_eq!(
        cli.json(&["scan", &token, "--location", "Вход A"])["verdict"],
        "revoked"
    );
    cli.json(&["attendee", "restore", "W-1"]);
    assert_eq!(
        cli.json(&["scan", &token, "--location", "Вход A"])["verdict"],
        "admitted"
    );
    for _ in 0..3 {
        cli.json(&["count", "--location", "Остров 1"]);
    }
    let v = cli.json(&["count", "--location", "Остров 1", "--direction", "out"]);
    assert_eq!(v["location"]["occupancy"], 2);
}

#[test]
fn decode_reads_badge_images_and_says_whose_badge_it_is() {
    let cli = Cli::new();
    cli.setup();
    cli.json(&["attendee", "add", "--name", "Чупшева Анна", "--ticket", "T-1"]);
    let token = cli.json(&["badge", "token", "T-1"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let png = cli.dir().join("badge.png");
    cli.json(&[
        "badge",
        "qr",
        "T-1",
        "--out",
        png.to_str().unwrap(),
        "--scale",
        "4",
    ]);
    let out = cli.json(&["decode", png.to_str().unwrap()]);
    let code = &out[0]["codes"][0];
    assert_eq!(code["text"], token.as_str());
    assert_eq!(code["badge"]["status"], "valid");
    assert_eq!(code["badge"]["full_name"], "Чупшева Анна");

    // Without a database: just the content, and no database is created.
    let nowhere = cli.dir().join("none.db");
    let out = Command::new(env!("CARGO_BIN_EXE_checkin"))
        .arg("--db")
        .arg(&nowhere)
        .args(["--json", "decode"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["codes"][0]["text"], token.as_str());
    assert!(v[0]["codes"][0]["badge"].is_null());
    assert!(!nowhere.exists(), "decode must not create a database");

    // An image without a code: reported, and a non-zero exit status.
    let blank = cli.dir().join("blank.png");
    image::GrayImage::from_pixel(100, 100, image::Luma([255]))
        .save(&blank)
        .unwrap();
    let err = cli.fails(&["decode", blank.to_str().unwrap()]);
    assert!(err.contains("no QR code"), "{err}");
}

#[test]
fn badges_batch_not_printed_and_on_demand() {
    let cli = Cli::new();
    cli.json(&["demo", "--attendees", "20"]);
    let out = cli.dir().join("batch.pdf");
    let out_s = out.to_str().unwrap();

    // A proof print logs nothing.
    let v = cli.json(&["badges", "--out", out_s, "--layout", "a4-8", "--no-log"]);
    assert_eq!(v["badges"], 20);
    assert_eq!(v["pages"], 3);
    assert!(v["print_id"].is_null());
    let pdf = std::fs::read(&out).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));

    // Speakers, then "not yet printed" leaves them out.
    let v = cli.json(&["badges", "--out", out_s, "--category", "speaker"]);
    let speakers = v["badges"].as_u64().unwrap();
    assert!(speakers >= 1 && v["print_id"].is_string());
    let v = cli.json(&[
        "badges",
        "--out",
        out_s,
        "--not-printed",
        "--layout",
        "label-62x100",
    ]);
    assert_eq!(v["badges"].as_u64().unwrap(), 20 - speakers);
    assert_eq!(v["layout"], "label-62x100");
    let err = cli.fails(&["badges", "--out", out_s, "--not-printed"]);
    assert!(err.contains("nothing to print"), "{err}");

    // A reprint on demand for one person, by ticket code.
    let v = cli.json(&[
        "badges",
        "--out",
        out_s,
        "--layout",
        "a6",
        "--attendee",
        "T-000001",
    ]);
    assert_eq!((v["badges"].as_u64(), v["pages"].as_u64()), (Some(1), Some(1)));

    // Added since tomorrow: nobody yet.
    let err = cli.fails(&["badges", "--out", out_s, "--since", "2026-06-03"]);
    assert!(err.contains("nothing to print"), "{err}");
    let err = cli.fails(&["badges", "--out", out_s, "--since", "yesterday"]);
    assert!(err.contains("write a date"), "{err}");
    let err = cli.fails(&["badges", "--out", out_s, "--category", "guest"]);
    assert!(err.contains("use one of"), "{err}");
}

/// A server started by `checkin serve`, stopped when dropped.
struct Served {
    child: std::process::Child,
    url: String,
    bootstrap: String,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Served {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkin"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("server.db"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut url, mut bootstrap) = (None, None);
        while bootstrap.is_none() {
            let line = lines
                .next()
                .expect("the server printed its address and code")
                .unwrap();
            if let Some(u) = line.strip_prefix("checkin server listening on ") {
                url = Some(u.trim().to_string());
            }
            // The pairing link, with the server's certificate fingerprint.
            if let Some(rest) = line.trim().strip_prefix("checkin pair ") {
                bootstrap = Some(rest.trim().trim_matches('\'').to_string());
            }
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Served {
            child,
            url: url.expect("address"),
            bootstrap: bootstrap.unwrap(),
            _dir: dir,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn served_statistics_and_names_stay_with_coordinators() {
    let server = Served::start();
    let coord = Cli::new();
    coord.json(&["demo", "--attendees", "20"]);
    // `checkin serve` speaks TLS with a certificate of its own; the link
    // carries its fingerprint, and a link with another one is refused.
    assert!(server.url.starts_with("https://"), "{}", server.url);
    assert!(server.bootstrap.contains("&fp="), "{}", server.bootstrap);
    let (head, fp) = server.bootstrap.split_once("&fp=").unwrap();
    let wrong = format!("{head}&fp={}", "0".repeat(64));
    let err = coord.fails(&["pair", &wrong]);
    assert!(err.contains("not the one this desk was paired with"), "{err}");
    assert_eq!(fp.len(), 64);
    let paired = coord.json(&["pair", &server.bootstrap]);
    assert_eq!(paired["role"], "coordinator");
    let code = coord.json(&["pairing-code", "--role", "volunteer"]);
    let vol = Cli::new();
    let paired = vol.json(&["pair", code["pairing_uri"].as_str().unwrap()]);
    assert_eq!(paired["role"], "volunteer");

    // The volunteer desk admits a person and uploads; the server counts them.
    assert_eq!(
        vol.json(&["admit", "T-000001", "--location", "Вход A"])["verdict"],
        "admitted"
    );
    vol.json(&["sync"]);
    let stats = coord.json(&["stats", "--server", "--day", "2026-06-02"]);
    assert_eq!(stats["days"][0]["checked_in"], 1, "{stats}");
    assert_eq!(stats["days"][0]["expected"], 20);
    let text = String::from_utf8(coord.run(&["stats", "--server", "--day", "2026-06-02"]).stdout).unwrap();
    assert!(text.contains("checked in 1 / expected 20"), "{text}");

    // A volunteer's database gives counts, not names.
    let out = vol.dir().join("people.csv");
    let err = vol.fails(&["export", "--format", "csv", "--out", out.to_str().unwrap()]);
    assert!(err.contains("holds names") && err.contains("volunteer"), "{err}");
    assert!(!out.exists(), "nothing written");
    vol.json(&[
        "export",
        "--report",
        "zones",
        "--anonymous",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = vol.fails(&["stats", "--server"]);
    assert!(err.contains("coordinator"), "{err}");
}

#[test]
fn categories_are_added_listed_edited_and_removed() {
    let cli = Cli::new();
    cli.setup();
    let smi = cli.json(&[
        "category",
        "add",
        "СМИ",
        "--en",
        "Media",
        "--color",
        "#F9A825",
        "--days",
        "2026-06-03",
    ]);
    assert_eq!(smi["code"], "smi");
    assert_eq!(smi["color"], "#f9a825");
    assert_eq!(smi["days"], serde_json::json!(["2026-06-03"]));
    let list = cli.json(&["category", "list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "smi")
        .expect("listed");
    assert_eq!(row["attendees"], 0);

    let err = cli.fails(&["category", "add", "смИ"]);
    assert!(err.contains("already exists"), "{err}");
    let err = cli.fails(&["category", "add", "Эксперт", "--days", "2026-07-01"]);
    assert!(err.contains("not a day of the event"), "{err}");

    let edited = cli.json(&["category", "edit", "Media", "--ru", "Пресс-пул", "--every-day"]);
    assert_eq!(edited["label_ru"], "Пресс-пул");
    assert!(edited.get("days").is_none(), "every day again: {edited}");

    cli.json(&[
        "attendee",
        "add",
        "--name",
        "Журналистова Анна",
        "--category",
        "smi",
    ]);
    let err = cli.fails(&["category", "remove", "smi"]);
    assert!(err.contains("move them to another category first"), "{err}");
    let text = cli.run(&["category", "list"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("smi\tПресс-пул\tMedia\t#f9a825\tevery day\t1"),
        "{text}"
    );
    cli.json(&["category", "add", "Эксперт"]);
    let removed = cli.json(&["category", "remove", "эксперт"]);
    assert_eq!(removed["code"], "ekspert");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    let cli = Cli::new();
    cli.json(&["demo", "--attendees", "2000"]);
    // `checkin search а --limit 2000 --json | head -1`: far more than a pipe
    // holds, and the reader goes after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_checkin"))
        .arg("--db")
        .arg(&cli.db)
        .args(["--now", NOW, "--json", "search", "а", "--limit", "2000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

#[test]
fn the_paper_checklist_is_a_pdf_of_everyone() {
    let cli = Cli::new();
    cli.json(&["demo", "--attendees", "120"]);
    let out = cli.dir().join("checklist.pdf");
    let r = cli.json(&[
        "export",
        "--report",
        "checklist",
        "--format",
        "pdf",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r["people"], 120);
    assert!(
        r["pages"].as_u64().unwrap() >= 6,
        "a page per category at least: {r}"
    );
    assert!(std::fs::read(&out).unwrap().starts_with(b"%PDF"));
    let err = cli.fails(&[
        "export",
        "--report",
        "checklist",
        "--format",
        "csv",
        "--out",
        "x.csv",
    ]);
    assert!(err.contains("--report checklist --format pdf"), "{err}");
}

#[test]
fn proposals_are_taken_listed_edited_and_exported_with_contacts_only_by_consent() {
    let cli = Cli::new();
    cli.setup();
    let topics = cli.json(&["proposal", "topics", "Остров 1", "Город", "Экология"]);
    assert_eq!(topics, serde_json::json!(["Город", "Экология"]));
    let anna = cli.json(&[
        "attendee",
        "add",
        "--name",
        "Чупшева Анна",
        "--email",
        "anna@example.org",
    ]);
    let anna_id = anna["id"].as_str().unwrap().to_string();
    let hers = cli.json(&[
        "proposal",
        "add",
        "--island",
        "Остров 1",
        "--author",
        "anna@example.org",
        "--title",
        "Зелёные крыши",
        "--text",
        "Для школ и поликлиник",
        "--topic",
        "экология",
        "--consent",
    ]);
    assert_eq!(hers["author"]["attendee_id"], anna_id.as_str());
    assert_eq!(hers["topics"], serde_json::json!(["Экология"]));
    let his = cli.json(&[
        "proposal",
        "add",
        "--island",
        "Остров 1",
        "--name",
        "Smith John",
        "--contact",
        "+7 999 000-00-00",
        "--title",
        "Bike lanes",
    ]);
    assert_eq!(his["consent"], false);
    let err = cli.fails(&[
        "proposal",
        "add",
        "--island",
        "Вход A",
        "--name",
        "X",
        "--title",
        "Y",
    ]);
    assert!(err.contains("islands"), "{err}");
    let err = cli.fails(&[
        "proposal",
        "add",
        "--island",
        "Остров 1",
        "--name",
        "X",
        "--title",
        "Y",
        "--topic",
        "Космос",
    ]);
    assert!(err.contains("Город, Экология"), "{err}");

    let found = cli.json(&["proposal", "list", "--query", "крыши"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], hers["id"]);
    let found = cli.json(&["proposal", "list", "--query", "chupsheva"]);
    assert_eq!(found[0]["id"], hers["id"], "the author's name in Latin letters");

    let id = hers["id"].as_str().unwrap();
    let edited = cli.json(&[
        "proposal",
        "edit",
        id,
        "--status",
        "shortlisted",
        "--text",
        "Для всех школ",
    ]);
    assert_eq!(edited["status"], "shortlisted");
    assert_eq!(edited["text"], "Для всех школ");
    assert_eq!(edited["title"], "Зелёные крыши");
    let short = cli.json(&["proposal", "list", "--status", "shortlisted"]);
    assert_eq!(short.as_array().unwrap().len(), 1);
    let err = cli.fails(&["proposal", "edit", id]);
    assert!(err.contains("nothing to change"), "{err}");

    let stats = cli.json(&["stats"]);
    let day = &stats["days"][0]["proposals"];
    assert_eq!(day["total"], 2, "{day}");
    assert_eq!(day["islands"][0]["name"], "Остров 1");
    assert_eq!(day["islands"][0]["total"], 2);
    assert_eq!(
        day["topics"][0],
        serde_json::json!({"topic": "Экология", "count": 1})
    );
    assert_eq!(
        day["statuses"][1],
        serde_json::json!({"status": "shortlisted", "count": 1})
    );
    let text = String::from_utf8(cli.run(&["stats"]).stdout).unwrap();
    assert!(text.contains("proposals      2"), "{text}");

    let out = cli.dir().join("proposals.csv");
    let done = cli.json(&["proposal", "export", "--out", out.to_str().unwrap()]);
    assert_eq!(done["proposals"], 2);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.contains("Контакт (только с согласия автора)"), "{csv}");
    assert!(csv.contains("anna@example.org"), "she agreed: {csv}");
    assert!(!csv.contains("999"), "he did not: {csv}");
    assert!(csv.contains("в шорт-листе"));
    let pdf = cli.dir().join("island.pdf");
    let err = cli.fails(&["proposal", "export", "--out", pdf.to_str().unwrap()]);
    assert!(err.contains("--island"), "{err}");
    let done = cli.json(&[
        "proposal",
        "export",
        "--out",
        pdf.to_str().unwrap(),
        "--island",
        "Остров 1",
    ]);
    assert_eq!(done["proposals"], 2);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
}
