//! The desktop shell: a thin layer of Tauri commands over `checkin-core`.
//!
//! Rules (see ARCHITECTURE.md): every command delegates to the core's
//! [`Store`] held in managed state; the shell only supplies what the core
//! must not own itself — the clock (`now`), file paths and this desk's
//! settings. Errors reach the UI as `{code, message}` ([`CmdError`]).

pub mod command_names {
    include!("command_names.rs");
}
mod commands;
pub mod settings;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tauri::{Emitter, Manager, Runtime};

use checkin_core::error::CoreError;
use checkin_core::store::Store;

pub use commands::*;
pub use settings::Settings;

/// The error every command returns: a stable code and words for the volunteer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CmdError {
    pub code: String,
    pub message: String,
}

impl CmdError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CmdError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<CoreError> for CmdError {
    fn from(e: CoreError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

impl From<std::io::Error> for CmdError {
    fn from(e: std::io::Error) -> Self {
        CmdError::new("io", e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CmdError>;

/// Where this desk keeps its files and how it was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The local database and exports live here.
    pub data_dir: PathBuf,
    /// `settings.json` lives here.
    pub config_dir: PathBuf,
    /// Attendees in a generated demo event when the database has no event.
    pub demo_size: usize,
}

/// The app's managed state.
pub struct Desk {
    pub store: Mutex<Store>,
    pub settings: Mutex<Settings>,
    pub options: Options,
    /// Whether this run generated the demo event.
    pub demo: bool,
    /// Unix ms when the process started (for start-to-ready).
    pub started_ms: i64,
    /// Unix ms of the last change made at this desk (the checkpoint waits for a lull).
    pub last_write_ms: AtomicI64,
    /// Unix ms of the last WAL checkpoint.
    pub last_checkpoint_ms: AtomicI64,
}

impl Desk {
    /// Open (or create) the local database; with no event in it, create the
    /// demo event so a newcomer sees the desk working at once.
    pub fn open(options: Options, now: DateTime<Utc>, started_ms: i64) -> CmdResult<Desk> {
        std::fs::create_dir_all(&options.data_dir)?;
        std::fs::create_dir_all(&options.config_dir)?;
        let db = options.data_dir.join("checkin.db");
        let mut store = Store::open_local(&db, &default_desk_name(), now)?;
        let mut demo = false;
        if store.event().is_none() {
            checkin_core::demo::create_event(&mut store, options.demo_size, now)?;
            store.checkpoint()?;
            demo = true;
        }
        let settings = Settings::load(&options.config_dir);
        Ok(Desk {
            store: Mutex::new(store),
            settings: Mutex::new(settings),
            options,
            demo,
            started_ms,
            last_write_ms: AtomicI64::new(0),
            last_checkpoint_ms: AtomicI64::new(now.timestamp_millis()),
        })
    }

    pub fn store(&self) -> CmdResult<std::sync::MutexGuard<'_, Store>> {
        self.store.lock().map_err(|_| {
            CmdError::new(
                "internal",
                "the database is unavailable after an error; restart the app",
            )
        })
    }

    pub fn touched(&self, now: DateTime<Utc>) {
        self.last_write_ms
            .store(now.timestamp_millis(), Ordering::Relaxed);
    }
}

fn default_desk_name() -> String {
    std::env::var("CHECKIN_DESK_NAME").unwrap_or_else(|_| "Демо-стойка".into())
}

/// Command-line options of the app binary: `--data-dir PATH` (database and
/// settings in one folder; also `CHECKIN_DATA_DIR`) and `--demo-size N`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub data_dir: Option<PathBuf>,
    pub demo_size: Option<usize>,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut out = Args {
            data_dir: std::env::var_os("CHECKIN_DATA_DIR").map(PathBuf::from),
            demo_size: None,
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--data-dir" => out.data_dir = it.next().map(PathBuf::from),
                "--demo-size" => out.demo_size = it.next().and_then(|n| n.parse().ok()),
                _ => {}
            }
        }
        out
    }
}

/// The status bar's truth. Until the sync client lands this desk is
/// standalone on its local database; `waiting` is the real outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `standalone` (no server configured).
    pub mode: &'static str,
    pub server: Option<String>,
    pub waiting: u64,
    pub last_sync: Option<DateTime<Utc>>,
}

pub fn status_of(store: &Store) -> CmdResult<Status> {
    Ok(Status {
        mode: "standalone",
        server: None,
        waiting: store.outbox_status()?.waiting,
        last_sync: None,
    })
}

/// Background work off the scan path: copy SQLite's write-ahead log into the
/// database when the desk has been quiet for a moment, and push the status
/// bar's figures to the UI as `status` events.
fn spawn_housekeeping<R: Runtime>(app: tauri::AppHandle<R>) {
    std::thread::Builder::new()
        .name("housekeeping".into())
        .spawn(move || {
            let mut tick: u64 = 0;
            loop {
                std::thread::sleep(Duration::from_millis(500));
                tick += 1;
                let desk = app.state::<Desk>();
                let now = Utc::now().timestamp_millis();
                let last_write = desk.last_write_ms.load(Ordering::Relaxed);
                let last_cp = desk.last_checkpoint_ms.load(Ordering::Relaxed);
                if last_write > last_cp
                    && now - last_write > 1500
                    && let Ok(mut store) = desk.store.try_lock()
                {
                    let _ = store.checkpoint();
                    desk.last_checkpoint_ms.store(now, Ordering::Relaxed);
                }
                if tick.is_multiple_of(10)
                    && let Ok(store) = desk.store.try_lock()
                    && let Ok(s) = status_of(&store)
                {
                    let _ = app.emit("status", s);
                }
            }
        })
        .expect("start the housekeeping thread");
}

/// Where the app keeps its files: `--data-dir` puts everything in one folder;
/// otherwise the user's data and config folders for this app.
pub fn resolve_options<R: Runtime>(app: &tauri::App<R>, args: &Args) -> CmdResult<Options> {
    let (data_dir, config_dir) = match &args.data_dir {
        Some(d) => (d.clone(), d.clone()),
        None => (
            app.path()
                .app_data_dir()
                .map_err(|e| CmdError::new("io", format!("no data folder for the app: {e}")))?,
            app.path()
                .app_config_dir()
                .map_err(|e| CmdError::new("io", format!("no config folder for the app: {e}")))?,
        ),
    };
    Ok(Options {
        data_dir,
        config_dir,
        demo_size: args.demo_size.unwrap_or(2000),
    })
}

/// Register the commands (and nothing else) on a builder. The real app and
/// the `tauri::test` tests use the same list.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::save_settings,
        commands::scan,
        commands::check_in,
        commands::search,
        commands::undo_last,
        commands::counters,
        commands::count_anonymous,
        commands::hourly,
        commands::arrivals,
        commands::walk_in,
        commands::attendees,
        commands::set_revoked,
        commands::save_attendee,
        commands::export,
        commands::import_preview,
        commands::import_apply,
        commands::mark_ready,
    ])
}

/// Start the app.
pub fn run() {
    let started_ms = Utc::now().timestamp_millis();
    let args = Args::parse(std::env::args().skip(1));
    with_commands(tauri::Builder::default())
        .setup(move |app| {
            let options = resolve_options(app, &args).map_err(|e| e.message)?;
            let desk = Desk::open(options, Utc::now(), started_ms).map_err(|e| e.message)?;
            eprintln!(
                "checkin-app: database {} ({})",
                desk.options.data_dir.join("checkin.db").display(),
                if desk.demo {
                    "new demo event"
                } else {
                    "existing event"
                }
            );
            app.manage(desk);
            spawn_housekeeping(app.handle().clone());
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the check-in app");
}

/// A file name that is safe on every OS.
pub fn export_path(dir: &Path, stem: &str, ext: &str, now: DateTime<Utc>) -> PathBuf {
    dir.join(format!("{stem}-{}.{ext}", now.format("%Y%m%d-%H%M%S")))
}
