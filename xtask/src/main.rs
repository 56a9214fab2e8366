//! `cargo xtask …`: the project's set-up, run, test and bench commands.
//! They install what they need on Debian/Ubuntu (apt-get, with sudo when not
//! root), so a fresh clone needs only Rust, Node/npm, Python and git.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Debian packages `cargo xtask run` needs: WebKitGTK for the Tauri app.
const RUN_PACKAGES: &[&str] = &["pkg-config", "libwebkit2gtk-4.1-dev"];
/// Debian packages the tests need on top: WebKit's WebDriver and a virtual
/// display for the e2e run; poppler-utils (`pdftoppm`, `pdftotext`) for the
/// badge PDF round trip; postgresql for the sync suite's second backend;
/// CUPS with the cups-pdf virtual printer for the tests that print.
const TEST_PACKAGES: &[&str] = &[
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "webkit2gtk-driver",
    "xvfb",
    "xauth",
    "poppler-utils",
    "postgresql",
    "cups",
    "printer-driver-cups-pdf",
];

mod cups;
mod fuzz;
mod layers;
mod postgres;

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = project_root();
    env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("e2e") => {
            ensure_packages(TEST_PACKAGES)?;
            build_ui()?;
            e2e(&args[1..])
        }
        Some("bench") => bench(),
        Some("lint") => lint(),
        Some("fuzz") => fuzz::long_run(&args[1..]),
        Some("rehearsal") => rehearsal(args.iter().any(|a| a == "--short")),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 run     set up, build and start the desktop app (demo event in a local database)\n          \
                 (--terminal: the terminal desk instead)\n  \
                 test    set up and run every test, with fmt and clippy\n  \
                 e2e     only the end-to-end tests of the app (WebDriver, Xvfb); a test name filters\n  \
                 bench   run the benchmarks and print the results table\n  \
                 lint    cargo fmt --check, cargo clippy -D warnings, crate layering and the core's module order\n  \
                 fuzz    run the fuzz targets (cargo fuzz): [--secs N] [TARGET...], N seconds each (default 600);\n          \
                 --short: only the short run of `test`\n  \
                 rehearsal  a simulated forum day against real processes on loopback\n          \
                 (server, hall hub, 16 desks, scripted faults; --short: the CI version)"
            );
            bail!("unknown or missing command");
        }
    }
}

pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub(crate) fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn step(name: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {name}");
    let status = cmd.status().with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// Install missing Debian packages with apt-get (sudo when not root).
fn ensure_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        bail!(
            "missing system packages {missing:?} and no apt-get here: install them with your package manager"
        );
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| -> Command {
        let mut c = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.env("DEBIAN_FRONTEND", "noninteractive")
            .env("TMPDIR", "/var/tmp")
            .args(args);
        c
    };
    step("apt-get update", &mut apt(&["update", "-q"]))?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    step(&format!("apt-get install {}", missing.join(" ")), &mut apt(&args))
}

pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

fn npm() -> Command {
    let mut c = Command::new("npm");
    c.current_dir(project_root().join("ui"));
    c
}

/// Install the UI's locked dependencies and build it into `ui/dist`, which
/// the app binary embeds at compile time.
fn build_ui() -> Result<()> {
    // `npm ci` insists on lock entries for every platform's optional
    // packages, which a registry mirror may not list; `npm install` with the
    // committed lock installs the same pinned versions.
    if npm()
        .args(["ci", "--no-audit", "--no-fund"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("==> npm ci refused the lock file; installing the locked versions with npm install");
        step(
            "npm install (ui)",
            npm().args(["install", "--no-audit", "--no-fund"]),
        )?;
    }
    step("build the UI (tsc + vite)", npm().args(["run", "build"]))
}

fn run(extra: &[String]) -> Result<()> {
    if extra.first().map(String::as_str) == Some("--terminal") {
        return run_terminal(&extra[1..]);
    }
    ensure_packages(RUN_PACKAGES)?;
    build_ui()?;
    step(
        "build the desktop app (debug)",
        cargo().args(["build", "-p", "checkin-app"]),
    )?;
    if env::var_os("DISPLAY").is_none() && env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!(
            "no display (DISPLAY/WAYLAND_DISPLAY unset): start it from a desktop session, \
             under `xvfb-run -a cargo xtask run`, or use `cargo xtask run --terminal`"
        );
    }
    eprintln!(
        "==> start the app (with nothing configured it opens a demo event in a local database; \
         CHECKIN_DATA_DIR or --data-dir DIR chooses the folder)"
    );
    let status = Command::new(target_dir().join("debug/checkin-app"))
        .args(extra)
        .status()?;
    if !status.success() {
        bail!("the app exited with {status}");
    }
    Ok(())
}

/// The terminal desk (`checkin desk`) on a demo database in target/demo.
fn run_terminal(extra: &[String]) -> Result<()> {
    step(
        "build the checkin CLI",
        cargo().args(["build", "--release", "-p", "checkin-cli"]),
    )?;
    let bin = target_dir().join("release/checkin");
    let data = env::var_os("CHECKIN_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("demo"));
    std::fs::create_dir_all(&data)?;
    let db = data.join("checkin.db");
    let db_arg = db.to_string_lossy().to_string();
    if !db.exists() {
        step(
            "create the demo event",
            Command::new(&bin).args(["--db", &db_arg, "--device-name", "Демо-стойка", "demo"]),
        )?;
    }
    step(
        "event",
        Command::new(&bin).args(["--db", &db_arg, "event", "show"]),
    )?;
    eprintln!("==> desk (scan a badge or type a ticket code; /name searches; Ctrl-D quits)");
    let mut desk = Command::new(&bin);
    desk.args(["--db", &db_arg, "desk", "--location", "Вход A"])
        .args(extra);
    let status = desk.status()?;
    if !status.success() {
        bail!("the desk exited with {status}");
    }
    Ok(())
}

/// `tauri-driver` (the WebDriver bridge for Tauri apps): on PATH, in
/// ~/.cargo/bin, or installed now with cargo.
fn ensure_tauri_driver() -> Result<PathBuf> {
    let works = |p: &Path| {
        Command::new(p)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    let installed = cargo_home.join("bin/tauri-driver");
    if works(&installed) {
        return Ok(installed);
    }
    if works(Path::new("tauri-driver")) {
        return Ok(PathBuf::from("tauri-driver"));
    }
    step(
        "cargo install tauri-driver",
        cargo().args(["install", "tauri-driver", "--version", "^2", "--locked"]),
    )?;
    Ok(installed)
}

fn lint() -> Result<()> {
    step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy",
        cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    eprintln!("==> layering (ARCHITECTURE.md, \"Rules per crate\")");
    layers::check_crates()?;
    layers::check_core_modules(&project_root())
}

fn test() -> Result<()> {
    ensure_packages(TEST_PACKAGES)?;
    // The UI first: the app binary embeds ui/dist when it is compiled.
    build_ui()?;
    step("ui: vitest", npm().args(["test"]))?;
    lint()?;
    // The sync suite runs against both storage backends; PostgreSQL comes
    // from a throw-away cluster that lives as long as this function.
    let pg = match postgres::Cluster::start() {
        Ok(c) => {
            eprintln!("==> PostgreSQL test cluster at {}", c.url);
            Some(c)
        }
        Err(e) => {
            eprintln!("==> no PostgreSQL test cluster ({e:#}): the PostgreSQL tests will skip");
            None
        }
    };
    // The app's printer-trouble test pauses and rejects a real CUPS queue.
    let cups = cups::Cups::start()?;
    let mut test = cargo();
    test.args(["test", "--workspace", "--all-targets"])
        .env("CHECKIN_TEST_PRINTER", cups::QUEUE);
    if let Some(c) = &pg {
        test.env("CHECKIN_TEST_PG", &c.url);
    }
    step("cargo test", &mut test)?;
    drop(pg);
    drop(cups);
    // Built by the test step above (`--all-targets` builds the test crate's
    // binaries): run it as it is, so CI adds only its run time.
    run_rehearsal(true)?;
    step("doc tests", cargo().args(["test", "--workspace", "--doc"]))?;
    fuzz::short_run()?;
    e2e(&[])
}

/// The end-to-end tests of the real app binary under Xvfb; `filter` picks
/// tests by name (e.g. `camera_viewfinder`).
fn e2e(filter: &[String]) -> Result<()> {
    let driver = ensure_tauri_driver()?;
    // The printing test prints through a real CUPS queue.
    let cups = cups::Cups::start()?;
    eprintln!(
        "==> CUPS queue {} (PDFs in {})",
        cups::QUEUE,
        cups.out_dir.display()
    );
    step(
        "end-to-end (WebDriver, Xvfb)",
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24"])
            .arg(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "test",
                "-p",
                "checkin-app",
                "--test",
                "e2e",
                "--",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .args(filter)
            .env("TAURI_DRIVER", driver)
            .env("CHECKIN_TEST_PRINTER", cups::QUEUE)
            .env("CHECKIN_TEST_PRINT_DIR", &cups.out_dir)
            // The app looks for hubs by mDNS: no multicast from tests.
            .env("CHECKIN_MDNS", "off"),
    )?;
    drop(cups);
    eprintln!(
        "==> e2e screenshots and timings: {}",
        target_dir().join("e2e-screenshots").display()
    );
    Ok(())
}

/// The forum-day rehearsal (`tests/src/bin/checkin-rehearsal.rs`): real
/// server, hub and desk processes on loopback, faults on a script, a table
/// of checks; fails if any check fails.
fn rehearsal(short: bool) -> Result<()> {
    step(
        "build the rehearsal",
        cargo().args(["build", "-p", "checkin-tests", "--bin", "checkin-rehearsal"]),
    )?;
    run_rehearsal(short)
}

fn run_rehearsal(short: bool) -> Result<()> {
    let mut cmd = Command::new(target_dir().join("debug/checkin-rehearsal"));
    cmd.arg("run");
    if short {
        cmd.arg("--short");
    }
    let started = std::time::Instant::now();
    step(if short { "rehearsal (short)" } else { "rehearsal" }, &mut cmd)?;
    eprintln!("==> rehearsal took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn bench() -> Result<()> {
    ensure_packages(TEST_PACKAGES)?;
    step(
        "core benchmarks (release)",
        cargo().args(["bench", "-p", "checkin-tests", "--bench", "core"]),
    )?;
    let pg = postgres::Cluster::start()
        .map_err(|e| eprintln!("==> no PostgreSQL ({e:#}): its rows are skipped"))
        .ok();
    let mut sync = cargo();
    sync.args(["bench", "-p", "checkin-tests", "--bench", "sync"]);
    if let Some(c) = &pg {
        sync.env("CHECKIN_TEST_PG", &c.url);
    }
    step("sync benchmarks (release)", &mut sync)
}
