//! Badge printing: render a PDF with the core (off the scan lock), save it in
//! the data folder, send it to CUPS with `lp`, and only then log it as
//! printed. Without `lp` the PDF is opened with the system's viewer and the
//! volunteer confirms that it printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::{CmdError, CmdResult};

/// The printers CUPS knows (`lpstat -e`), and whether `lp` is there at all.
#[derive(Debug, Clone, Serialize)]
pub struct Printers {
    pub lp: bool,
    pub printers: Vec<String>,
}

fn runs(cmd: &str) -> bool {
    Command::new(cmd).arg("--help").output().is_ok()
}

pub fn printers() -> Printers {
    let lp = runs("lp");
    let printers = Command::new("lpstat")
        .arg("-e")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Printers { lp, printers }
}

/// How the PDF left the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sent {
    /// Accepted by CUPS (`lp` exited 0): logged as printed.
    Printed,
    /// Opened in the system's PDF viewer: printed once the volunteer confirms.
    Opened,
    /// Neither `lp` nor a viewer: the file is saved, nothing printed.
    Saved,
}

/// Printer trouble a volunteer can act on, found before the job is sent
/// (or from `lp`'s answer): the code says which, the message what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trouble {
    /// `printer_missing`, `printer_paused`, `printer_refused` or `print_failed`.
    pub code: &'static str,
    /// The queue's name; empty when no printer is set up at all.
    pub printer: String,
    pub message: String,
}

impl Trouble {
    /// The same trouble, saying where the badge PDF waits meanwhile.
    fn saved_at(mut self, pdf: &Path) -> Trouble {
        self.message = format!("{} — the PDF is saved at {}", self.message, pdf.display());
        self
    }
}

impl From<Trouble> for CmdError {
    fn from(t: Trouble) -> Self {
        CmdError::new(t.code, t.message)
    }
}

/// `cmd args…` in the C locale (CUPS translates its messages): stdout,
/// stderr and whether it succeeded; `None` when the command is not there.
fn cups(cmd: &str, args: &[&str]) -> Option<(String, String, bool)> {
    let o = Command::new(cmd).args(args).env("LC_ALL", "C").output().ok()?;
    Some((
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
        String::from_utf8_lossy(&o.stderr).trim().to_string(),
        o.status.success(),
    ))
}

fn missing(printer: &str) -> Trouble {
    if printer.is_empty() {
        Trouble {
            code: "printer_missing",
            printer: String::new(),
            message: "no printer is set up: choose one in this desk's settings, or set a default printer in the system's printer settings".into(),
        }
    } else {
        Trouble {
            code: "printer_missing",
            printer: printer.into(),
            message: format!(
                "the printer {printer:?} is not there: check that it is plugged in and switched on, or choose another in this desk's settings"
            ),
        }
    }
}

fn refused(printer: &str) -> Trouble {
    Trouble {
        code: "printer_refused",
        printer: printer.into(),
        message: format!(
            "the printer {printer:?} is refusing jobs: accept jobs again in the system's printer settings (or `cupsaccept {printer}`), then reprint"
        ),
    }
}

/// The queue a job goes to (`printer`, else CUPS's default) and whether it
/// can print now: there, not paused, accepting jobs. A paused queue would
/// take the job and hold it: the badge would come out later, unlogged.
pub fn check(printer: Option<&str>) -> Result<String, Trouble> {
    let name = match printer.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => p.to_string(),
        None => match cups("lpstat", &["-d"]) {
            Some((out, _, _)) => out
                .split_once("system default destination:")
                .map(|(_, d)| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .ok_or_else(|| missing(""))?,
            None => return Err(missing("")),
        },
    };
    let Some((out, err, ok)) = cups("lpstat", &["-p", &name]) else {
        return Err(missing(&name));
    };
    if !ok || out.is_empty() || err.contains("Invalid destination") || err.contains("not exist") {
        return Err(missing(&name));
    }
    if out.lines().any(|l| l.contains(" disabled")) {
        return Err(Trouble {
            code: "printer_paused",
            printer: name.clone(),
            message: format!(
                "the printer {name:?} is paused: resume it in the system's printer settings (or `cupsenable {name}`), then reprint"
            ),
        });
    }
    if let Some((out, _, _)) = cups("lpstat", &["-a", &name])
        && out.contains("not accepting")
    {
        return Err(refused(&name));
    }
    Ok(name)
}

/// Send `pdf` to `printer` (or CUPS's default) with `lp` once [`check`]
/// found it ready; without `lp`, open it with the system handler.
pub fn send(pdf: &Path, printer: Option<&str>, copies_title: &str) -> CmdResult<Sent> {
    if runs("lp") {
        let name = check(printer).map_err(|t| t.saved_at(pdf))?;
        let (_, err, ok) = cups(
            "lp",
            &["-d", &name, "-t", copies_title, &pdf.display().to_string()],
        )
        .ok_or_else(|| missing(&name))?;
        if ok {
            return Ok(Sent::Printed);
        }
        if err.contains("not accepting") {
            return Err(refused(&name).saved_at(pdf).into());
        }
        if err.contains("does not exist") || err.contains("Invalid destination") {
            return Err(missing(&name).saved_at(pdf).into());
        }
        return Err(Trouble {
            code: "print_failed",
            printer: name,
            message: format!(
                "the printer refused the badge ({}); check the printer and try again — the PDF is saved at {}",
                if err.is_empty() { "lp failed".into() } else { err },
                pdf.display()
            ),
        }
        .into());
    }
    for (cmd, args) in [("xdg-open", vec![]), ("gio", vec!["open"])] {
        if let Ok(s) = Command::new(cmd).args(&args).arg(pdf).status()
            && s.success()
        {
            return Ok(Sent::Opened);
        }
    }
    Ok(Sent::Saved)
}

/// A file name for a badge PDF in `<data>/badges/`.
pub fn pdf_path(data_dir: &Path, stem: &str, now: chrono::DateTime<chrono::Utc>) -> std::io::Result<PathBuf> {
    let dir = data_dir.join("badges");
    std::fs::create_dir_all(&dir)?;
    let safe: String = stem
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' })
        .take(60)
        .collect();
    Ok(crate::export_path(&dir, &safe, "pdf", now))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts the queue back as it was, even when an assertion fails.
    struct Restore(&'static str, String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = cups(self.0, &[&self.1]);
        }
    }

    fn admin(cmd: &'static str, queue: &str) -> Restore {
        let (_, err, ok) = cups(cmd, &[queue]).unwrap_or_else(|| panic!("{cmd} is not installed"));
        assert!(ok, "{cmd} {queue}: {err}");
        let undo = match cmd {
            "cupsdisable" => "cupsenable",
            "cupsreject" => "cupsaccept",
            _ => unreachable!(),
        };
        Restore(undo, queue.to_string())
    }

    /// Against the real CUPS queue `cargo xtask test` starts (its name in
    /// `CHECKIN_TEST_PRINTER`): a missing printer, a paused queue and a queue
    /// that refuses jobs each come back as their own code, before anything
    /// is sent; the healthy queue takes the job.
    #[test]
    fn printer_trouble_against_a_real_queue() {
        let Ok(queue) = std::env::var("CHECKIN_TEST_PRINTER") else {
            eprintln!("skipped: CHECKIN_TEST_PRINTER is not set (cargo xtask test starts CUPS and sets it)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("badge.pdf");
        std::fs::write(&pdf, b"%PDF-1.4\n%%EOF\n").unwrap();

        let e = check(Some("NoSuchPrinter-4711")).unwrap_err();
        assert_eq!(
            (e.code, e.printer.as_str()),
            ("printer_missing", "NoSuchPrinter-4711")
        );
        assert!(e.message.contains("plugged in"), "{}", e.message);
        let e = send(&pdf, Some("NoSuchPrinter-4711"), "t").unwrap_err();
        assert_eq!(e.code, "printer_missing");

        {
            let _paused = admin("cupsdisable", &queue);
            let e = check(Some(&queue)).unwrap_err();
            assert_eq!(e.code, "printer_paused", "{}", e.message);
            assert!(
                e.message.contains(&format!("cupsenable {queue}")),
                "{}",
                e.message
            );
            assert_eq!(send(&pdf, Some(&queue), "t").unwrap_err().code, "printer_paused");
        }
        {
            let _rejecting = admin("cupsreject", &queue);
            let e = check(Some(&queue)).unwrap_err();
            assert_eq!(e.code, "printer_refused", "{}", e.message);
            assert_eq!(send(&pdf, Some(&queue), "t").unwrap_err().code, "printer_refused");
        }
        assert_eq!(check(Some(&queue)).unwrap(), queue);
    }
}
