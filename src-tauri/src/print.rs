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

/// Send `pdf` to `printer` (or CUPS's default) with `lp`; without `lp`,
/// open it with the system handler.
pub fn send(pdf: &Path, printer: Option<&str>, copies_title: &str) -> CmdResult<Sent> {
    let mut lp = Command::new("lp");
    if let Some(p) = printer.filter(|p| !p.is_empty()) {
        lp.arg("-d").arg(p);
    }
    lp.arg("-t").arg(copies_title).arg(pdf);
    match lp.output() {
        Ok(o) if o.status.success() => return Ok(Sent::Printed),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
            return Err(CmdError::new(
                "print_failed",
                format!(
                    "the printer refused the badge ({}); check the printer and try again — the PDF is saved at {}",
                    if err.is_empty() {
                        format!("lp exited with {}", o.status)
                    } else {
                        err
                    },
                    pdf.display()
                ),
            ));
        }
        Err(_) => {} // no lp: fall back to the viewer
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
