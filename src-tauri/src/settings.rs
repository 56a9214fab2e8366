//! This desk's choices (role, location, language), kept as a small JSON file
//! in the app's config folder so they survive a restart.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `entrance`, `island`, `coordinator` or `kiosk` (self-service at an
    /// entrance; left only with the coordinator's PIN); `None` until the
    /// first-run screen.
    pub role: Option<String>,
    /// The entrance or island this desk stands at.
    pub location_id: Option<Uuid>,
    /// `ru` (default) or `en`.
    pub language: String,
    /// Play a sound for each verdict.
    pub sound: bool,
    /// The current database's file name in the data folder: `checkin.db`
    /// (standalone / demo) or `event-<id>.db` after joining an event.
    pub database: Option<String>,
    /// Badge page for walk-ins and reprints: `a6` or `label-62x100`.
    pub badge_layout: String,
    /// CUPS printer name; `None` prints to CUPS's default printer.
    pub printer: Option<String>,
    /// The viewfinder's camera (the webview's device id); `None`: the first
    /// camera found; `"off"`: no viewfinder.
    pub camera: Option<String>,
    /// Run the hall hub on this (coordinator) desk, started with the app.
    pub hub: bool,
    /// The hub's port.
    pub hub_port: u16,
    /// An entrance desk prints a person's badge when it admits them and the
    /// print log (every desk's, once synced) has no print of it yet. A
    /// kiosk always does.
    pub print_on_admit: bool,
}

pub const DEFAULT_DATABASE: &str = "checkin.db";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            role: None,
            location_id: None,
            language: "ru".into(),
            sound: true,
            database: None,
            badge_layout: "a6".into(),
            printer: None,
            camera: None,
            hub: false,
            hub_port: crate::hub::DEFAULT_PORT,
            print_on_admit: false,
        }
    }
}

pub const FILE: &str = "settings.json";

impl Settings {
    /// Whether this desk is a self-service kiosk.
    pub fn is_kiosk(&self) -> bool {
        self.role.as_deref() == Some("kiosk")
    }

    /// Whether admitting someone prints their badge (when not printed yet).
    pub fn prints_on_admit(&self) -> bool {
        self.is_kiosk() || (self.print_on_admit && self.role.as_deref() == Some("entrance"))
    }

    pub fn database_file(&self) -> String {
        self.database.clone().unwrap_or_else(|| DEFAULT_DATABASE.into())
    }

    pub fn path(config_dir: &Path) -> PathBuf {
        config_dir.join(FILE)
    }

    /// The saved settings, or the defaults when there are none (or the file
    /// is unreadable: the first-run screen then asks again).
    pub fn load(config_dir: &Path) -> Settings {
        std::fs::read(Self::path(config_dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write atomically (temp file + rename) so a crash never leaves half a file.
    pub fn save(&self, config_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(config_dir)?;
        let tmp = config_dir.join(format!("{FILE}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, Self::path(config_dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            role: Some("island".into()),
            location_id: Some(Uuid::nil()),
            language: "en".into(),
            sound: false,
            database: Some("event-x.db".into()),
            badge_layout: "label-62x100".into(),
            printer: Some("Zebra".into()),
            hub: true,
            hub_port: 9000,
            camera: Some("cam-2".into()),
            print_on_admit: true,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        std::fs::write(Settings::path(dir.path()), "{not json").unwrap();
        assert_eq!(Settings::load(dir.path()).language, "ru");
    }
}
