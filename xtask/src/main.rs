//! `cargo xtask …`: the project's set-up, run, test and bench commands.
//! They install what they need on Debian/Ubuntu (apt-get, with sudo when not
//! root), so a fresh clone needs only Rust, Node/npm, Python and git.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Debian packages the tests need (beyond a C compiler, which Rust needs anyway):
/// poppler-utils gives `pdftoppm` and `pdftotext` for the badge PDF round trip;
/// postgresql for the sync suite's second storage backend.
const TEST_PACKAGES: &[&str] = &["poppler-utils", "postgresql"];
/// Debian packages `cargo xtask run` needs.
const RUN_PACKAGES: &[&str] = &[];

mod postgres;

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = project_root();
    env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(),
        Some("lint") => lint(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 run     set up, build and start the desk on a demo event (local SQLite)\n  \
                 test    set up and run every test, with fmt and clippy\n  \
                 bench   run the benchmarks and print the results table\n  \
                 lint    cargo fmt --check and cargo clippy -D warnings"
            );
            bail!("unknown or missing command");
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn step(name: &str, cmd: &mut Command) -> Result<()> {
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

fn run(extra: &[String]) -> Result<()> {
    ensure_packages(RUN_PACKAGES)?;
    step(
        "build the checkin CLI",
        cargo().args(["build", "--release", "-p", "checkin-cli"]),
    )?;
    let bin = project_root().join("target/release/checkin");
    let data = env::var_os("CHECKIN_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target/demo"));
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

fn lint() -> Result<()> {
    step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy",
        cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )
}

fn test() -> Result<()> {
    ensure_packages(TEST_PACKAGES)?;
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
    let mut test = cargo();
    test.args(["test", "--workspace", "--all-targets"]);
    if let Some(c) = &pg {
        test.env("CHECKIN_TEST_PG", &c.url);
    }
    step("cargo test", &mut test)?;
    drop(pg);
    step("doc tests", cargo().args(["test", "--workspace", "--doc"]))
}

fn bench() -> Result<()> {
    ensure_packages(TEST_PACKAGES)?;
    step(
        "core benchmarks (release)",
        cargo().args(["bench", "-p", "checkin-core", "--bench", "core"]),
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
