//! The desktop shell: a thin layer of Tauri commands over `checkin-core`.
//!
//! Rules (see ARCHITECTURE.md): every command delegates to the core's
//! [`Store`] held in managed state; the shell only supplies what the core
//! must not own itself — the clock (`now`), file paths and this desk's
//! settings. Errors reach the UI as `{code, message}` ([`CmdError`]).

pub mod command_names {
    include!("command_names.rs");
}
pub mod camera;
mod commands;
pub mod hub;
pub mod print;
pub mod proposals;
pub mod settings;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tauri::{Emitter, Manager, Runtime};

use checkin_core::error::CoreError;
use checkin_core::store::Store;
use checkin_sync::client::{Connection, Pairing, Route, SyncError, SyncHandle};

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

impl From<checkin_pdf::PdfError> for CmdError {
    fn from(e: checkin_pdf::PdfError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

impl From<checkin_tables::import::ImportError> for CmdError {
    fn from(e: checkin_tables::import::ImportError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

impl From<SyncError> for CmdError {
    fn from(e: SyncError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

impl From<std::io::Error> for CmdError {
    fn from(e: std::io::Error) -> Self {
        CmdError::new("io", e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CmdError>;

pub type PendingPrints = std::collections::HashMap<
    uuid::Uuid,
    (
        Vec<checkin_core::store::changes::PrintedBadge>,
        checkin_pdf::Layout,
        Option<String>,
    ),
>;

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

/// SQLite page cache of the desk's connection (KiB).
pub const DESK_CACHE_KIB: u32 = 4 * 1024;

/// The app's managed state.
pub struct Desk {
    /// Shared with the sync task ([`checkin_sync::client::Desk`]). Joining an
    /// event swaps in the new event's database under the same lock.
    pub store: Arc<Mutex<Store>>,
    pub settings: Mutex<Settings>,
    pub options: Options,
    /// Whether the current database holds the generated demo event.
    pub demo: AtomicBool,
    /// The background sync, once this desk is paired with a server.
    pub sync: Mutex<Option<Arc<SyncHandle>>>,
    /// Badge PDFs opened in a viewer, logged as printed once confirmed.
    pub pending_prints: Mutex<PendingPrints>,
    /// Attendees whose badge is being printed at admission right now (a
    /// second admission meanwhile prints nothing).
    pub printing: Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// Wrong kiosk PINs in a row, and when the last one was typed (Unix ms).
    pub kiosk_failures: Mutex<(u32, i64)>,
    /// Unix ms when the process started (for start-to-ready).
    pub started_ms: i64,
    /// Unix ms of the last change made at this desk (the checkpoint waits for a lull).
    pub last_write_ms: AtomicI64,
    /// Unix ms of the last WAL checkpoint.
    pub last_checkpoint_ms: AtomicI64,
    /// The dashboard's statistics, following the change log (keyed by the
    /// database's device id; see `commands::stats`).
    pub stats: Mutex<Option<(uuid::Uuid, checkin_core::stats::StatsCache)>>,
    /// The hall hub, when this coordinator desk runs it (see [`hub`]).
    pub hub: tokio::sync::Mutex<Option<checkin_server::hub::Hub>>,
}

impl Desk {
    /// Open (or create) the local database; with no event in it, create the
    /// demo event so a newcomer sees the desk working at once. The search
    /// index is not built here (seconds with 100,000 attendees): the desk
    /// scans at once, and [`build_search_index`] builds it in the background.
    pub fn open(options: Options, now: DateTime<Utc>, started_ms: i64) -> CmdResult<Desk> {
        std::fs::create_dir_all(&options.data_dir)?;
        std::fs::create_dir_all(&options.config_dir)?;
        let settings = Settings::load(&options.config_dir);
        let db = options.data_dir.join(settings.database_file());
        let mut store = Store::open_local_deferred(&db, &default_desk_name(), now)?;
        // The operating system caches the file too; a smaller SQLite cache
        // keeps the desk's memory low at 100,000 attendees.
        store.set_cache_size_kib(DESK_CACHE_KIB)?;
        let mut demo = false;
        // A paired database waits for its event from the server; only an
        // unpaired, empty one gets the demo event.
        if store.event().is_none() && Pairing::load(&store)?.is_none() {
            checkin_core::demo::create_event(&mut store, options.demo_size, now)?;
            store.checkpoint()?;
            demo = true;
        }
        Ok(Desk {
            store: Arc::new(Mutex::new(store)),
            settings: Mutex::new(settings),
            options,
            demo: AtomicBool::new(demo),
            sync: Mutex::new(None),
            pending_prints: Mutex::new(Default::default()),
            printing: Mutex::new(Default::default()),
            kiosk_failures: Mutex::new((0, 0)),
            started_ms,
            last_write_ms: AtomicI64::new(0),
            last_checkpoint_ms: AtomicI64::new(now.timestamp_millis()),
            stats: Mutex::new(None),
            hub: tokio::sync::Mutex::new(None),
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

    /// The current database file.
    pub fn db_path(&self) -> PathBuf {
        let file = self
            .settings
            .lock()
            .map(|s| s.database_file())
            .unwrap_or_else(|_| settings::DEFAULT_DATABASE.into());
        self.options.data_dir.join(file)
    }

    /// A local write happened: remember it for the checkpoint and wake the
    /// sync task (never waits for the network).
    pub fn touched(&self, now: DateTime<Utc>) {
        self.last_write_ms
            .store(now.timestamp_millis(), Ordering::Relaxed);
        if let Some(h) = self.sync_handle() {
            h.kick();
        }
    }

    pub fn sync_handle(&self) -> Option<Arc<SyncHandle>> {
        self.sync.lock().ok().and_then(|g| g.clone())
    }

    /// The time for every core call: the server-corrected clock when paired.
    pub fn now(&self) -> DateTime<Utc> {
        match self.sync_handle() {
            Some(h) => h.desk.now(),
            None => Utc::now(),
        }
    }

    pub fn is_demo(&self) -> bool {
        self.demo.load(Ordering::Relaxed)
    }
}

/// Build the search index on a thread of its own, at low priority so the
/// window and the scan path come first, then hand it to the store and tell
/// the UI (`search-ready`). Memory the build used temporarily goes back to
/// the system.
pub fn build_search_index<R: Runtime>(app: &tauri::AppHandle<R>) {
    let desk = app.state::<Desk>();
    if desk.store().map(|s| s.search_ready()).unwrap_or(true) {
        return;
    }
    let path = desk.db_path();
    let app = app.clone();
    std::thread::Builder::new()
        .name("search-index".into())
        .spawn(move || {
            lower_thread_priority();
            let t = std::time::Instant::now();
            let built = Store::load_search_index(&path).map_err(CmdError::from);
            let desk = app.state::<Desk>();
            let installed = built.and_then(|index| {
                let mut store = desk.store()?;
                Ok(store.install_search_index(index)?)
            });
            release_free_memory();
            match installed {
                Ok(true) => eprintln!(
                    "checkin-app: search index ready in {} ms",
                    t.elapsed().as_millis()
                ),
                Ok(false) => {}
                Err(e) => eprintln!("checkin-app: search index not built: {}", e.message),
            }
            let _ = app.emit("search-ready", ());
        })
        .expect("start the search-index thread");
}

/// Nice the calling thread (Linux: per thread) so that background work
/// yields to the UI and the scan path.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (who = 0) only changes its nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Give freed heap pages back to the system (glibc keeps them otherwise):
/// building the index allocates and frees far more than it keeps.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// At most two malloc arenas (glibc makes up to eight per core, one per
/// thread that allocates while another holds an arena). Each keeps the
/// memory its thread freed, so the app's dozen GTK, WebKit, Tokio and
/// background threads each held a few MB apart; the desk's threads rarely
/// allocate at the same moment, so they lose nothing by sharing. Must run
/// before other threads start.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Start the background sync if the current database is paired, on Tauri's
/// async runtime, and forward its status and other desks' changes to the UI
/// (`status` and `changes` events). Returns whether sync runs.
pub fn start_sync<R: Runtime>(app: &tauri::AppHandle<R>, desk: &Desk) -> CmdResult<bool> {
    if desk.sync_handle().is_some() {
        return Ok(true);
    }
    let Some(pairing) = Pairing::load(&*desk.store()?)? else {
        return Ok(false);
    };
    let event_id = pairing.event_id;
    let sync_desk = checkin_sync::client::Desk::new(desk.store.clone(), pairing, Arc::new(Utc::now))?;
    // Look for the hall's hub by mDNS (CHECKIN_MDNS=off: not at all); the
    // browser lives as long as the status task below.
    let browser = checkin_sync::discovery::MdnsOptions::from_env()
        .and_then(|o| checkin_sync::discovery::browse(o, event_id, sync_desk.hubs.clone()).ok());
    let rt = tauri::async_runtime::handle();
    let handle = {
        let _enter = rt.inner().enter();
        Arc::new(checkin_sync::spawn(sync_desk)?)
    };
    *desk
        .sync
        .lock()
        .map_err(|_| CmdError::new("internal", "sync state unavailable; restart the app"))? =
        Some(handle.clone());
    let mut status = handle.status.clone();
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        let _browser = browser;
        loop {
            let desk = a.state::<Desk>();
            if let Ok(s) = status_of(&desk) {
                let _ = a.emit("status", s);
            }
            if status.changed().await.is_err() {
                break;
            }
        }
    });
    let mut changes = handle.desk.subscribe();
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let n = match changes.recv().await {
                Ok(c) => c.len(),
                Err(RecvError::Lagged(n)) => n as usize,
                Err(RecvError::Closed) => break,
            };
            let _ = a.emit("changes", n);
        }
    });
    Ok(true)
}

pub fn default_desk_name() -> String {
    std::env::var("CHECKIN_DESK_NAME").unwrap_or_else(|_| "Демо-стойка".into())
}

/// Command-line options of the app binary: `--data-dir PATH` (database and
/// settings in one folder; also `CHECKIN_DATA_DIR`), `--demo-size N` and
/// `--mock-camera` (WebKit's generated test camera, for tests and demos
/// on machines without one).
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub data_dir: Option<PathBuf>,
    pub demo_size: Option<usize>,
    pub mock_camera: bool,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut out = Args {
            data_dir: std::env::var_os("CHECKIN_DATA_DIR").map(PathBuf::from),
            demo_size: None,
            mock_camera: false,
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--data-dir" => out.data_dir = it.next().map(PathBuf::from),
                "--demo-size" => out.demo_size = it.next().and_then(|n| n.parse().ok()),
                "--mock-camera" => out.mock_camera = true,
                _ => {}
            }
        }
        out
    }
}

/// The status bar's truth: standalone, or the sync task's connection state;
/// `waiting` is always the real outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `standalone` (not paired), `connecting`, `online`, `offline` or `refused`.
    pub mode: &'static str,
    pub server: Option<String>,
    /// `server`, `hub` (the hall's hub) or `none`; `null` when standalone.
    pub route: Option<Route>,
    pub waiting: u64,
    pub last_sync: Option<DateTime<Utc>>,
    /// The role the server gave this desk (`volunteer`, `host`, `coordinator`).
    pub sync_role: Option<String>,
    pub last_error: Option<String>,
    pub clock_offset_ms: i64,
    /// Addresses where a hub announced itself that no coordinator of this
    /// event authorised: ignored, shown as a warning.
    pub unknown_hubs: Vec<String>,
    /// Changes from other desks this desk refused (forged, altered, or
    /// claiming what their author may not).
    pub refused: u64,
}

pub fn status_of(desk: &Desk) -> CmdResult<Status> {
    let (waiting, refused) = {
        let s = desk.store()?;
        (s.outbox_status()?.waiting, s.refused_count()?)
    };
    Ok(match desk.sync_handle() {
        None => Status {
            mode: "standalone",
            server: None,
            route: None,
            waiting,
            last_sync: None,
            sync_role: None,
            last_error: None,
            clock_offset_ms: 0,
            unknown_hubs: Vec::new(),
            refused,
        },
        Some(h) => {
            let s = h.status.borrow().clone();
            Status {
                mode: match s.connection {
                    Connection::Connecting => "connecting",
                    Connection::Online => "online",
                    Connection::Offline => "offline",
                    Connection::Refused => "refused",
                },
                server: Some(s.server),
                route: Some(s.route),
                waiting,
                last_sync: s.last_sync_ms.and_then(DateTime::from_timestamp_millis),
                sync_role: Some(s.role.as_str().to_string()),
                last_error: s.last_error,
                clock_offset_ms: s.clock_offset_ms,
                unknown_hubs: h.desk.hubs.unknown().into_iter().map(|(url, _)| url).collect(),
                refused,
            }
        }
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
                // On a connection of its own: a scan never waits for the copy.
                if last_write > last_cp && now - last_write > 1500 {
                    let _ = Store::checkpoint_file(&desk.db_path());
                    desk.last_checkpoint_ms.store(now, Ordering::Relaxed);
                }
                if tick.is_multiple_of(4)
                    && let Ok(s) = status_of(&desk)
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
        commands::stats,
        commands::walk_in,
        commands::attendees,
        commands::set_revoked,
        commands::save_attendee,
        commands::export,
        commands::import_preview,
        commands::import_apply,
        commands::import_categories,
        commands::categories,
        commands::save_category,
        commands::remove_category,
        commands::mark_ready,
        commands::join_event,
        commands::devices,
        commands::revoke_device,
        commands::create_pairing_code,
        commands::printers,
        commands::print_badge,
        commands::print_batch,
        commands::confirm_printed,
        commands::print_at_admission,
        commands::kiosk_pin_set,
        commands::set_kiosk_pin,
        commands::leave_kiosk,
        proposals::add_proposal,
        proposals::edit_proposal,
        proposals::proposals,
        proposals::island_proposals,
        proposals::set_island_topics,
        proposals::save_proposal_draft,
        proposals::proposal_draft,
        proposals::discard_proposal_draft,
        proposals::export_proposals,
        proposals::proposals_pdf,
        camera::decode_frame,
        camera::camera_reset,
        hub::hub_state,
        hub::start_hub,
        hub::stop_hub,
        hub::set_hub_address,
    ])
}

/// Start the app.
pub fn run() {
    let started_ms = Utc::now().timestamp_millis();
    limit_malloc_arenas();
    #[cfg(target_os = "linux")]
    keep_gl_out_of_ui_process();
    let args = Args::parse(std::env::args().skip(1));
    with_commands(tauri::Builder::default())
        .manage(camera::Camera::default())
        // The viewfinder's getUserMedia: camera yes, anything else no.
        .on_permission_request(|_, kind| camera::permission(kind))
        .setup(move |app| {
            configure_webview(app, args.mock_camera);
            let options = resolve_options(app, &args).map_err(|e| e.message)?;
            let desk = Desk::open(options, Utc::now(), started_ms).map_err(|e| e.message)?;
            eprintln!(
                "checkin-app: database {} ({})",
                desk.db_path().display(),
                if desk.is_demo() {
                    "new demo event"
                } else {
                    "existing event"
                }
            );
            app.manage(desk);
            let desk = app.state::<Desk>();
            match start_sync(app.handle(), &desk) {
                Ok(true) => hub::resume(app.handle()),
                Ok(false) => {}
                Err(e) => eprintln!("checkin-app: sync not started: {}", e.message),
            }
            if desk.settings.lock().is_ok_and(|s| s.is_kiosk())
                && let Some(w) = app.get_webview_window("main")
            {
                kiosk_window(&w, true);
            }
            build_search_index(app.handle());
            spawn_housekeeping(app.handle().clone());
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the check-in app");
}

/// A kiosk fills the screen (and leaves it when it stops being one). A
/// window manager may refuse; the kiosk still works in a window.
pub fn kiosk_window<R: Runtime>(window: &tauri::WebviewWindow<R>, on: bool) {
    if let Err(e) = window.set_fullscreen(on) {
        eprintln!("checkin-app: kiosk full screen {on}: {e}");
    }
}

/// WebKitGTK: media capture on (the viewfinder's getUserMedia); with
/// `--mock-camera`, WebKit's generated test camera instead of real devices.
/// The page is drawn without GPU compositing (it is a few boxes of text and
/// one video): measured under Xvfb, compositing costs the web process about
/// 100 MB and slows the start; `CHECKIN_GPU=1` turns it back on.
fn configure_webview<R: Runtime>(app: &tauri::App<R>, mock_camera: bool) {
    #[cfg(target_os = "linux")]
    if let Some(w) = app.get_webview_window("main") {
        let gpu = gpu_compositing();
        let _ = w.with_webview(move |wv| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = wv.inner().settings() {
                if !gpu {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
                settings.set_enable_media_stream(true);
                if mock_camera {
                    settings.set_enable_mock_capture_devices(true);
                }
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (app, mock_camera);
}

/// `CHECKIN_GPU=1`: draw the page with GPU compositing.
fn gpu_compositing() -> bool {
    std::env::var("CHECKIN_GPU").is_ok_and(|v| v == "1")
}

/// Keep Mesa's OpenGL driver, and the libLLVM it links (about 50 MB resident),
/// out of this process while the page is drawn without GPU compositing (the
/// default, see [`configure_webview`]). Nothing here draws with OpenGL then:
/// GTK 3 paints the window with cairo and the web process hands over the
/// page as a bitmap. Yet GDK probes GLX when it opens the display, and WebKit
/// initialises EGL in this process, and either loads the driver.
///
/// Both read their switch once per process — GDK parses `GDK_GL` in
/// `gtk_init`, libglvnd's libEGL lists its vendors at the first EGL call — so
/// the switches are set only for that moment and the environment is restored
/// before Tauri creates the window: the WebKit web process, started later,
/// inherits it unchanged and opens EGL as usual (it needs it; with no EGL
/// vendor it aborts). Only on X11 (what the tests run under); with
/// `CHECKIN_GPU=1`, or when the user set either variable, nothing changes.
#[cfg(target_os = "linux")]
fn keep_gl_out_of_ui_process() {
    use std::env;
    const GDK_GL: &str = "GDK_GL";
    const EGL_VENDORS: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";
    let wayland = env::var_os("WAYLAND_DISPLAY").is_some()
        && !env::var("GDK_BACKEND").is_ok_and(|b| b.starts_with("x11"));
    if gpu_compositing()
        || wayland
        || env::var_os("DISPLAY").is_none()
        || env::var_os(GDK_GL).is_some()
        || env::var_os(EGL_VENDORS).is_some()
    {
        return;
    }
    // SAFETY: called first thing in `run`, before any other thread exists,
    // so nothing reads the environment concurrently.
    unsafe {
        env::set_var(GDK_GL, "disable");
        env::set_var(EGL_VENDORS, "");
    }
    freeze_egl_vendor_list();
    let gtk = gtk::init();
    // SAFETY: as above; still the only thread.
    unsafe {
        env::remove_var(GDK_GL);
        env::remove_var(EGL_VENDORS);
    }
    // Tauri starts GTK again (a no-op once it runs) and reports failure itself.
    if let Err(e) = gtk {
        eprintln!("checkin-app: GTK did not start: {e}");
    }
}

/// Make libEGL (libglvnd) read its vendor list now: `eglQueryString` on no
/// display is the cheapest call that does. Without libEGL there is nothing to
/// keep out.
#[cfg(target_os = "linux")]
fn freeze_egl_vendor_list() {
    type QueryString = unsafe extern "C" fn(*mut libc::c_void, i32) -> *const libc::c_char;
    const EGL_EXTENSIONS: i32 = 0x3055;
    // SAFETY: dlopen/dlsym with constant C strings; the symbol has the C
    // signature of eglQueryString(EGLDisplay, EGLint) from EGL 1.0, and
    // EGL_NO_DISPLAY (null) is a valid display for EGL_EXTENSIONS. The handle
    // stays open: WebKit links the same library.
    unsafe {
        let lib = libc::dlopen(c"libEGL.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if lib.is_null() {
            return;
        }
        let sym = libc::dlsym(lib, c"eglQueryString".as_ptr());
        if !sym.is_null() {
            let query: QueryString = std::mem::transmute(sym);
            query(std::ptr::null_mut(), EGL_EXTENSIONS);
        }
    }
}

/// A file name that is safe on every OS.
pub fn export_path(dir: &Path, stem: &str, ext: &str, now: DateTime<Utc>) -> PathBuf {
    dir.join(format!("{stem}-{}.{ext}", now.format("%Y%m%d-%H%M%S")))
}
