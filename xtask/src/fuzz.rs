//! The fuzz targets in `fuzz/` (libFuzzer through `cargo fuzz`), on the
//! stable toolchain. Without a sanitizer cargo-fuzz passes only stable
//! codegen flags (SanitizerCoverage through `-Cpasses=sancov-module`); with
//! AddressSanitizer it passes `-Zsanitizer=address`, which stable rustc
//! takes under `RUSTC_BOOTSTRAP=1`. `cargo xtask test` runs every target
//! briefly ([`short_run`]); `cargo xtask fuzz` is the long run ([`long_run`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, project_root, step, target_dir};

/// The cargo-fuzz release the commands are written for; installed with
/// `cargo install --locked` when missing or different.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every fuzz target (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "badge_token",
    "import_csv",
    "import_xlsx",
    "sync_push",
    "sync_pair",
    "scan_text",
];

/// Seconds each target runs in `cargo xtask test`.
const SHORT_SECS: u64 = 12;
/// Seconds each target runs in `cargo xtask fuzz` unless `--secs` says otherwise.
const LONG_SECS: u64 = 600;

/// How the targets are built. The short run skips AddressSanitizer (our
/// code and its dependencies are safe Rust, where panics, overflow checks
/// and the targets' own assertions find the bugs) and builds with 16
/// codegen units: half the build time of the long run's default.
#[derive(Clone, Copy)]
enum Build {
    Short,
    Long,
}

impl Build {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Build::Short => &["--sanitizer", "none", "--codegen-units", "16"],
            Build::Long => &["--sanitizer", "address"],
        }
    }

    /// The short run builds into the workspace's target folder (under
    /// `x86_64-unknown-linux-gnu/`, apart from the normal builds), the long
    /// run into `fuzz-asan/` in it, so neither rebuilds the other's
    /// dependencies with its flags.
    fn target_dir(self) -> PathBuf {
        match self {
            Build::Short => target_dir(),
            Build::Long => target_dir().join("fuzz-asan"),
        }
    }
}

fn cargo_fuzz(sub: &str, build: Build) -> Command {
    let mut c = cargo();
    c.current_dir(project_root())
        .args(["fuzz", sub, "--fuzz-dir", "fuzz", "--target-dir"])
        .arg(build.target_dir())
        .args(build.flags());
    if let Build::Long = build {
        c.env("RUSTC_BOOTSTRAP", "1");
    }
    c
}

/// `cargo fuzz` of [`CARGO_FUZZ_VERSION`], installed from crates.io when
/// missing.
fn ensure_cargo_fuzz() -> Result<()> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if installed.ends_with(CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    step(
        &format!("cargo install cargo-fuzz {CARGO_FUZZ_VERSION}"),
        cargo().args([
            "install",
            "cargo-fuzz",
            "--version",
            &format!("={CARGO_FUZZ_VERSION}"),
            "--locked",
        ]),
    )
}

/// Input folders for one target: the corpus libFuzzer grows (first, the
/// only one it writes to), then the committed seeds and, when there are any,
/// the committed inputs of crashes fixed before.
fn corpus_args(target: &str, corpus: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let fuzz = project_root().join("fuzz");
    let mut dirs = vec![corpus.to_path_buf(), fuzz.join("seeds").join(target)];
    let regressions = fuzz.join("regressions").join(target);
    if regressions.is_dir() {
        dirs.push(regressions);
    }
    Ok(dirs)
}

fn run_target(target: &str, build: Build, secs: u64, corpus: &Path) -> Result<()> {
    let artifacts = project_root().join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let mut cmd = cargo_fuzz("run", build);
    cmd.arg(target)
        .args(corpus_args(target, corpus)?)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-rss_limit_mb=2048", "-timeout=20", "-print_final_stats=1"]);
    step(&format!("fuzz {target} for {secs} s"), &mut cmd).with_context(|| {
        format!(
            "fuzz target {target} failed: the input is in {} (replay it with `cargo fuzz run --fuzz-dir fuzz --sanitizer none {target} <file>`); \
             fix the bug, add a regression test to the normal test suite and commit the input under fuzz/regressions/{target}/",
            artifacts.display()
        )
    })
}

/// Build every target once, then run each for [`SHORT_SECS`] on a scratch
/// corpus (seeds and regressions included): the fuzz step of `cargo xtask test`.
pub fn short_run() -> Result<()> {
    let started = Instant::now();
    ensure_cargo_fuzz()?;
    step("build the fuzz targets", &mut cargo_fuzz("build", Build::Short))?;
    let built = started.elapsed();
    let scratch = target_dir().join("fuzz-corpus");
    for target in TARGETS {
        run_target(target, Build::Short, SHORT_SECS, &scratch.join(target))?;
    }
    eprintln!(
        "==> fuzzing: {:.0} s in all ({:.0} s building), {} targets × {SHORT_SECS} s",
        started.elapsed().as_secs_f64(),
        built.as_secs_f64(),
        TARGETS.len()
    );
    Ok(())
}

/// `cargo xtask fuzz [--secs N] [TARGET...]`: the long run, with
/// AddressSanitizer, each target in turn for N seconds, growing the corpus
/// in `fuzz/corpus/<target>` (kept between runs, not committed).
/// `cargo xtask fuzz --short` is the short run of `cargo xtask test` alone.
pub fn long_run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--short") {
        return short_run();
    }
    let mut secs = LONG_SECS;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => {
                secs = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--secs needs a number of seconds, e.g. --secs 3600")?;
            }
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!(
                "unknown fuzz argument {other:?}: use --secs N and target names ({})",
                TARGETS.join(", ")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    ensure_cargo_fuzz()?;
    step(
        "build the fuzz targets (AddressSanitizer)",
        &mut cargo_fuzz("build", Build::Long),
    )?;
    let corpus = project_root().join("fuzz/corpus");
    for target in targets {
        run_target(target, Build::Long, secs, &corpus.join(target))?;
    }
    Ok(())
}
