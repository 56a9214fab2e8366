//! A real CUPS print server with a virtual PDF printer (cups-pdf) for the
//! tests that print: the scheduler is started if none is running, a queue
//! `CheckinPDF` is made, and what it prints lands as PDF files in the
//! printing user's `~/PDF/`. Facts: `../shared/notes/cups-and-chromium.md`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The queue the tests print to.
pub const QUEUE: &str = "CheckinPDF";

pub struct Cups {
    /// The scheduler this run started (stopped on drop), if it started one.
    started: Option<Child>,
    /// Where cups-pdf writes the jobs of this user.
    pub out_dir: PathBuf,
}

fn running() -> bool {
    Command::new("lpstat")
        .arg("-r")
        .env("LC_ALL", "C")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("scheduler is running"))
        .unwrap_or(false)
}

fn run(cmd: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .with_context(|| {
            format!("running {cmd}: is CUPS installed (apt-get install cups printer-driver-cups-pdf)?")
        })?;
    if !out.status.success() {
        bail!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Cups {
    pub fn start() -> Result<Cups> {
        let started = if running() {
            None
        } else {
            let child = Command::new("cupsd")
                .arg("-f")
                .env("LC_ALL", "C")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting cupsd: is CUPS installed (apt-get install cups)?")?;
            let t = Instant::now();
            while !running() {
                if t.elapsed() > Duration::from_secs(15) {
                    bail!("cupsd did not answer within 15 s");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Some(child)
        };
        run(
            "lpadmin",
            &[
                "-p",
                QUEUE,
                "-E",
                "-v",
                "cups-pdf:/",
                "-m",
                "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd",
                "-o",
                "printer-is-shared=false",
            ],
        )?;
        run("cupsenable", &[QUEUE])?;
        run("cupsaccept", &[QUEUE])?;
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/root".into());
        let out_dir = home.join("PDF");
        Ok(Cups { started, out_dir })
    }
}

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = run("lpadmin", &["-x", QUEUE]);
        if let Some(mut child) = self.started.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}
