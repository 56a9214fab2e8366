//! The IPC commands. Each one takes what the UI sends, adds the clock and
//! this desk's settings, calls the core and returns its answer. No logic of
//! the check-in itself lives here.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use uuid::Uuid;

use checkin_core::engine::{Counters, ScanOutcome};
use checkin_core::model::{Attendee, Device, Direction, Event, Location, Method};
use checkin_core::store::{ApplyOptions, ImportReport};
use checkin_core::views::{AttendeeFilter, AttendeePage, HourCount};
use checkin_tables::export::{ExportFormat, Lang, TableWriter};
use checkin_tables::import::{self, Field, ImportOptions, Preview};

use crate::{CmdError, CmdResult, Desk, Settings, Status, status_of};

/// Everything the UI needs to draw its first screen.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub event: Event,
    pub device: Device,
    pub locations: Vec<Location>,
    pub settings: Settings,
    pub attendees: u64,
    pub demo: bool,
    pub started_ms: i64,
    pub status: Status,
    pub data_dir: String,
    /// The current database file.
    pub database: String,
    /// Whether this desk can issue badges (holds the event's secret key).
    pub can_issue_badges: bool,
}

#[tauri::command]
pub async fn app_info(desk: State<'_, Desk>) -> CmdResult<AppInfo> {
    let status = status_of(&desk)?;
    let store = desk.store()?;
    let event = store
        .event()
        .cloned()
        .ok_or(checkin_core::error::CoreError::NoEvent)?;
    let locations = store.locations()?.to_vec();
    let can_issue_badges = store.can_issue_badges();
    Ok(AppInfo {
        event,
        device: store.device().clone(),
        locations,
        settings: desk.settings.lock().map(|s| s.clone()).unwrap_or_default(),
        attendees: store.attendee_count()?,
        demo: desk.is_demo(),
        started_ms: desk.started_ms,
        status,
        data_dir: desk.options.data_dir.display().to_string(),
        database: desk.db_path().display().to_string(),
        can_issue_badges,
    })
}

/// Save role, location and language. The location must exist and suit the role.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    desk: State<'_, Desk>,
    window: tauri::WebviewWindow<R>,
    mut settings: Settings,
) -> CmdResult<Settings> {
    let was_kiosk = desk.settings.lock().is_ok_and(|s| s.is_kiosk());
    // Which database is current is the app's business (join_event), not the form's.
    settings.database = desk.settings.lock().ok().and_then(|s| s.database.clone());
    if let Some(role) = settings.role.as_deref()
        && !matches!(role, "entrance" | "island" | "coordinator" | "kiosk")
    {
        return Err(CmdError::new(
            "invalid",
            format!("unknown role {role:?}: choose entrance, island, coordinator or kiosk"),
        ));
    }
    if was_kiosk && !settings.is_kiosk() {
        return Err(CmdError::new(
            "kiosk_locked",
            "this desk is a kiosk: leaving kiosk mode needs the coordinator's PIN",
        ));
    }
    if settings.is_kiosk() && !was_kiosk {
        let store = desk.store()?;
        if !store.kiosk_pin_set()? {
            return Err(CmdError::new(
                "no_kiosk_pin",
                "no kiosk PIN is set for this event: set one on the coordinator screen (Desks), then start the kiosk",
            ));
        }
        let entrance = settings
            .location_id
            .and_then(|id| store.location(&id.to_string()).ok())
            .is_some_and(|l| l.kind == checkin_core::model::LocationKind::Entrance);
        if !entrance {
            return Err(CmdError::new(
                "invalid",
                "a kiosk stands at an entrance: choose one",
            ));
        }
    }
    if !matches!(settings.language.as_str(), "ru" | "en") {
        return Err(CmdError::new("invalid", "language must be \"ru\" or \"en\""));
    }
    if !matches!(settings.badge_layout.as_str(), "a6" | "label-62x100") {
        return Err(CmdError::new(
            "invalid",
            "badge layout must be \"a6\" or \"label-62x100\"",
        ));
    }
    if let Some(id) = settings.location_id {
        desk.store()?.location(&id.to_string())?;
    }
    settings.save(&desk.options.config_dir)?;
    *desk
        .settings
        .lock()
        .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))? = settings.clone();
    if settings.is_kiosk() != was_kiosk {
        crate::kiosk_window(&window, settings.is_kiosk());
    }
    Ok(settings)
}

/// Whether the event has a kiosk PIN (a kiosk can be started and left).
#[tauri::command]
pub async fn kiosk_pin_set(desk: State<'_, Desk>) -> CmdResult<bool> {
    Ok(desk.store()?.kiosk_pin_set()?)
}

/// The coordinator sets the kiosks' exit PIN (synced as a hash only).
#[tauri::command]
pub async fn set_kiosk_pin(desk: State<'_, Desk>, pin: String) -> CmdResult<()> {
    let now = desk.now();
    {
        let mut store = desk.store()?;
        require_coordinator(&desk, &store, "setting the kiosk PIN")?;
        store.set_kiosk_pin(&pin, now)?;
    }
    desk.touched(now);
    Ok(())
}

/// Wrong PINs in a row before the kiosk makes the next try wait.
const KIOSK_TRIES: u32 = 5;
/// How long it waits then, ms.
const KIOSK_WAIT_MS: i64 = 30_000;

/// Leave kiosk mode with the coordinator's PIN: back to the role choice.
#[tauri::command]
pub async fn leave_kiosk<R: Runtime>(
    desk: State<'_, Desk>,
    window: tauri::WebviewWindow<R>,
    pin: String,
) -> CmdResult<Settings> {
    let now_ms = desk.now().timestamp_millis();
    {
        let f = desk
            .kiosk_failures
            .lock()
            .map_err(|_| CmdError::new("internal", "kiosk state unavailable; restart the app"))?;
        if f.0 >= KIOSK_TRIES && now_ms - f.1 < KIOSK_WAIT_MS {
            return Err(CmdError::new(
                "kiosk_wait",
                format!(
                    "too many wrong PINs: try again in {} s",
                    (KIOSK_WAIT_MS - (now_ms - f.1)) / 1000 + 1
                ),
            ));
        }
    }
    let pin_ok = {
        let store = desk.store()?;
        store.check_kiosk_pin(&pin)?
    };
    let mut f = desk
        .kiosk_failures
        .lock()
        .map_err(|_| CmdError::new("internal", "kiosk state unavailable; restart the app"))?;
    if !pin_ok {
        *f = (f.0 + 1, now_ms);
        return Err(CmdError::new("wrong_pin", "that is not the kiosk PIN"));
    }
    *f = (0, 0);
    drop(f);
    let mut settings = desk
        .settings
        .lock()
        .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))?
        .clone();
    settings.role = None;
    settings.save(&desk.options.config_dir)?;
    *desk
        .settings
        .lock()
        .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))? = settings.clone();
    crate::kiosk_window(&window, false);
    Ok(settings)
}

fn direction(d: Option<String>) -> CmdResult<Direction> {
    match d.as_deref() {
        None => Ok(Direction::In),
        Some(s) => Direction::parse(s)
            .ok_or_else(|| CmdError::new("invalid", format!("direction {s:?}: use \"in\" or \"out\""))),
    }
}

/// A badge or ticket code from the hand scanner, the camera or typed in.
#[tauri::command]
pub async fn scan(
    desk: State<'_, Desk>,
    payload: String,
    location_id: Uuid,
    direction: Option<String>,
) -> CmdResult<ScanOutcome> {
    let dir = self::direction(direction)?;
    let now = desk.now();
    let t = std::time::Instant::now();
    let mut store = desk.store()?;
    let waited = t.elapsed();
    let out = store.scan(&payload, location_id, dir, now)?;
    drop(store);
    desk.touched(now);
    // A slow scan is worth a line in the log: waiting for the store, or the
    // write itself (the disk's fsync)?
    if t.elapsed() > std::time::Duration::from_millis(100) {
        eprintln!(
            "checkin-app: slow scan: {} ms waiting for the store, {} ms scanning and writing",
            waited.as_millis(),
            (t.elapsed() - waited).as_millis()
        );
    }
    Ok(out)
}

/// Manual check-in of a person picked from search.
#[tauri::command]
pub async fn check_in(
    desk: State<'_, Desk>,
    attendee_id: Uuid,
    location_id: Uuid,
    direction: Option<String>,
) -> CmdResult<ScanOutcome> {
    let dir = self::direction(direction)?;
    let now = desk.now();
    let out = desk
        .store()?
        .check_in_attendee(attendee_id, location_id, dir, Method::Search, now)?;
    desk.touched(now);
    Ok(out)
}

/// One search result, with whether the person is already in today.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRow {
    #[serde(flatten)]
    pub attendee: Attendee,
    pub checked_in_at: Option<chrono::DateTime<Utc>>,
}

#[tauri::command]
pub async fn search(desk: State<'_, Desk>, query: String, limit: Option<usize>) -> CmdResult<Vec<SearchRow>> {
    let store = desk.store()?;
    let day = store.day_of(desk.now())?;
    let mut out = Vec::new();
    for (a, _) in store.search(&query, limit.unwrap_or(12).min(100))? {
        out.push(SearchRow {
            checked_in_at: store.checked_in_at(a.id, day)?,
            attendee: a,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub checkin_id: Uuid,
    pub annulment_id: Uuid,
    pub attendee_name: Option<String>,
}

/// Undo this desk's last check-in, with a reason.
#[tauri::command]
pub async fn undo_last(desk: State<'_, Desk>, reason: String) -> CmdResult<Undone> {
    let now = desk.now();
    let mut store = desk.store()?;
    let last = store
        .last_checkin()?
        .ok_or_else(|| CmdError::new("nothing_to_undo", "this desk has no check-in to undo"))?;
    let annulment_id = store.annul(last.id, &reason, now)?;
    desk.touched(now);
    let attendee_name = match last.attendee_id {
        Some(id) => store.attendee(id)?.map(|a| a.full_name),
        None => None,
    };
    Ok(Undone {
        checkin_id: last.id,
        annulment_id,
        attendee_name,
    })
}

#[tauri::command]
pub async fn counters(desk: State<'_, Desk>) -> CmdResult<Counters> {
    Ok(desk.store()?.counters(desk.now())?)
}

/// An island's +1 / −1 for a visitor without a badge.
#[tauri::command]
pub async fn count_anonymous(
    desk: State<'_, Desk>,
    location_id: Uuid,
    direction: String,
) -> CmdResult<Counters> {
    let dir = self::direction(Some(direction))?;
    let now = desk.now();
    let mut store = desk.store()?;
    store.count_anonymous(location_id, dir, now)?;
    desk.touched(now);
    Ok(store.counters(now)?)
}

#[tauri::command]
pub async fn hourly(desk: State<'_, Desk>, location_id: Uuid) -> CmdResult<Vec<HourCount>> {
    Ok(desk.store()?.visits_per_hour(location_id, desk.now())?)
}

/// What the walk-in form sends.
#[derive(Debug, Clone, Deserialize)]
pub struct WalkIn {
    pub full_name: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
    pub category: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WalkedIn {
    pub attendee: Attendee,
    /// The new badge's token (empty when this desk cannot issue badges).
    pub token: String,
    /// The check-in at this desk's entrance.
    pub outcome: Option<ScanOutcome>,
}

/// Register a walk-in, issue the badge, and check the person in here.
#[tauri::command]
pub async fn walk_in(
    desk: State<'_, Desk>,
    person: WalkIn,
    location_id: Option<Uuid>,
) -> CmdResult<WalkedIn> {
    let now = desk.now();
    let mut store = desk.store()?;
    let blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let attendee = store.save_attendee(
        Attendee {
            full_name: person.full_name,
            organization: blank(person.organization),
            position: blank(person.position),
            category: person.category,
            email: blank(person.email),
            phone: blank(person.phone),
            ..Attendee::default()
        },
        now,
    )?;
    let token = store.badge_token(attendee.id).unwrap_or_default();
    let outcome = match location_id {
        Some(l) => Some(store.check_in_attendee(attendee.id, l, Direction::In, Method::Manual, now)?),
        None => None,
    };
    desk.touched(now);
    Ok(WalkedIn {
        attendee,
        token,
        outcome,
    })
}

#[tauri::command]
pub async fn attendees(
    desk: State<'_, Desk>,
    filter: Option<AttendeeFilter>,
    offset: u64,
    limit: u64,
) -> CmdResult<AttendeePage> {
    Ok(desk
        .store()?
        .attendee_page(&filter.unwrap_or_default(), offset, limit, desk.now())?)
}

#[tauri::command]
pub async fn set_revoked(
    desk: State<'_, Desk>,
    attendee_id: Uuid,
    revoked: bool,
    reason: String,
) -> CmdResult<Attendee> {
    let now = desk.now();
    let a = desk.store()?.set_revoked(attendee_id, revoked, &reason, now)?;
    desk.touched(now);
    Ok(a)
}

#[tauri::command]
pub async fn save_attendee(desk: State<'_, Desk>, attendee: Attendee) -> CmdResult<Attendee> {
    let now = desk.now();
    let a = desk.store()?.save_attendee(attendee, now)?;
    desk.touched(now);
    Ok(a)
}

/// Which day(s) the UI asks about: `None` today (event time zone), `all`,
/// or `YYYY-MM-DD`.
fn days_arg(
    store: &checkin_core::store::Store,
    day: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> CmdResult<Option<chrono::NaiveDate>> {
    match day.map(str::trim) {
        None | Some("") => Ok(Some(store.day_of(now)?)),
        Some("all") => Ok(None),
        Some(d) => d
            .parse()
            .map(Some)
            .map_err(|_| CmdError::new("invalid", format!("day {d:?}: use YYYY-MM-DD or all"))),
    }
}

/// The dashboard's statistics (see `checkin_core::stats`), from a cache
/// that follows the change log: the first call reads every check-in once,
/// later calls only what changed since.
#[tauri::command]
pub async fn stats(desk: State<'_, Desk>, day: Option<String>) -> CmdResult<checkin_core::stats::Stats> {
    let now = desk.now();
    let store = desk.store()?;
    let day = days_arg(&store, day.as_deref(), now)?;
    let mut cache = desk.stats.lock().map_err(|_| {
        CmdError::new(
            "internal",
            "statistics unavailable after an error; restart the app",
        )
    })?;
    // Keyed by this database's device id: joining an event swaps in another
    // database whose change log starts afresh.
    let key = store.device().id;
    let cache = match cache.as_mut() {
        Some((k, c)) if *k == key => {
            c.refresh(&store)?;
            c
        }
        _ => {
            &mut cache
                .insert((key, checkin_core::stats::StatsCache::load(&store)?))
                .1
        }
    };
    Ok(cache.stats(&store, day, now)?)
}

/// Write a report into the data folder's `exports/` and return its path:
/// `attendance`, `zones` (with names, or per zone and hour when
/// `anonymous`), `no-shows` as CSV or XLSX; `summary` as HTML. Reports with
/// names need a coordinator desk (and, when paired, the coordinator role).
#[tauri::command]
pub async fn export(
    desk: State<'_, Desk>,
    format: String,
    lang: String,
    report: Option<String>,
    anonymous: Option<bool>,
    day: Option<String>,
) -> CmdResult<String> {
    use checkin_tables::export::Report;
    let report_name = report.unwrap_or_else(|| "attendance".into());
    if report_name == "checklist" {
        return export_checklist(&desk, &lang).await;
    }
    let report = Report::parse(&report_name).ok_or_else(|| {
        CmdError::new(
            "invalid",
            format!("report {report_name:?}: use attendance, zones, no-shows or summary"),
        )
    })?;
    let anonymous = anonymous.unwrap_or(false);
    let lang = Lang::parse(&lang).unwrap_or(Lang::Ru);
    let now = desk.now();
    let store = desk.store()?;
    if report.is_personal(anonymous) && !is_coordinator_desk(&desk, &store) {
        return Err(CmdError::new(
            "forbidden",
            "this report holds names: export it from a coordinator desk (zone counts without names and the summary are open to every desk)",
        ));
    }
    let day = match days_arg(&store, day.as_deref(), now)? {
        Some(d) => d,
        None => return Err(CmdError::new("invalid", "reports are per day: name one day")),
    };
    let dir = desk.options.data_dir.join("exports");
    std::fs::create_dir_all(&dir)?;
    let stem = match report {
        Report::Attendance => "attendance".to_string(),
        Report::Zones if anonymous => format!("zones-anonymous-{day}"),
        Report::Zones => format!("zones-{day}"),
        Report::NoShows => format!("no-shows-{day}"),
        Report::Summary => format!("summary-{day}"),
    };
    if report == Report::Summary {
        let stats = store.stats(Some(day), now)?;
        let html = checkin_tables::export::summary_html(&stats, &stats.days[0], lang);
        let path = crate::export_path(&dir, &stem, "html", now);
        std::fs::write(&path, html)?;
        return Ok(path.display().to_string());
    }
    let fmt = ExportFormat::parse(&format)
        .ok_or_else(|| CmdError::new("invalid", format!("format {format:?}: use csv or xlsx")))?;
    let table = match report {
        Report::Attendance => store.attendance_table(lang)?,
        Report::Zones => store.zone_visits_table(Some(day), lang, anonymous, now)?,
        Report::NoShows => store.no_shows_table(day, lang)?,
        Report::Summary => unreachable!("written above"),
    };
    drop(store);
    let path = crate::export_path(&dir, &stem, &format.to_ascii_lowercase(), now);
    table.save(&path, fmt)?;
    Ok(path.display().to_string())
}

/// The paper fallback: every attendee on an alphabetical A4 list per
/// category (coordinator desks only: it holds names). Rendered off the
/// store's lock.
async fn export_checklist(desk: &Desk, lang: &str) -> CmdResult<String> {
    let now = desk.now();
    let (event, people) = {
        let store = desk.store()?;
        require_coordinator(desk, &store, "the paper checklist")?;
        let event = store
            .event()
            .cloned()
            .ok_or(checkin_core::error::CoreError::NoEvent)?;
        (event, store.attendees()?)
    };
    let lang = match Lang::parse(lang).unwrap_or(Lang::Ru) {
        Lang::Ru => checkin_pdf::ChecklistLang::Ru,
        Lang::En => checkin_pdf::ChecklistLang::En,
    };
    let dir = desk.options.data_dir.join("exports");
    std::fs::create_dir_all(&dir)?;
    let path = crate::export_path(&dir, "checklist", "pdf", now);
    let out = path.clone();
    tauri::async_runtime::spawn_blocking(move || -> CmdResult<()> {
        let pdf = checkin_pdf::render_checklist(&event, &people, lang)?;
        std::fs::write(&out, &pdf.pdf)?;
        Ok(())
    })
    .await
    .map_err(|e| CmdError::new("internal", e.to_string()))??;
    Ok(path.display().to_string())
}

/// The coordinator's choices on the import screen.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImportChoice {
    /// Column header (or 0-based index as text) → field code.
    #[serde(default)]
    pub mapping: Vec<(String, String)>,
    #[serde(default)]
    pub skip_bad_rows: bool,
    /// Category value of the file → existing category code; values not
    /// named here and not known become new categories.
    #[serde(default)]
    pub category_map: Vec<(String, String)>,
}

/// A category with how many attendees are in it.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    #[serde(flatten)]
    pub category: checkin_core::model::Category,
    pub attendees: u64,
}

/// This desk is set up as a coordinator and, if paired, paired as one.
fn is_coordinator_desk(desk: &Desk, store: &checkin_core::store::Store) -> bool {
    let desk_role = desk.settings.lock().ok().and_then(|s| s.role.clone());
    let paired_role = checkin_sync::client::Pairing::load(store)
        .ok()
        .flatten()
        .map(|p| p.role);
    desk_role.as_deref() == Some("coordinator")
        && !paired_role.is_some_and(|r| r != checkin_sync::protocol::Role::Coordinator)
}

pub(crate) fn require_coordinator(
    desk: &Desk,
    store: &checkin_core::store::Store,
    what: &str,
) -> CmdResult<()> {
    if !is_coordinator_desk(desk, store) {
        return Err(CmdError::new(
            "forbidden",
            format!("{what} is for coordinator desks: ask the coordinator"),
        ));
    }
    Ok(())
}

/// The event's categories with their attendee counts.
#[tauri::command]
pub async fn categories(desk: State<'_, Desk>) -> CmdResult<Vec<CategoryRow>> {
    let store = desk.store()?;
    let counts = store.category_counts()?;
    Ok(store
        .categories()?
        .iter()
        .map(|c| CategoryRow {
            category: c.clone(),
            attendees: counts.get(&c.code).copied().unwrap_or(0),
        })
        .collect())
}

/// What the category form sends: `code` empty to add, else the category
/// to edit.
#[derive(Debug, Clone, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    pub code: Option<String>,
    pub label_ru: String,
    pub label_en: String,
    pub color: String,
    #[serde(default)]
    pub days: Vec<chrono::NaiveDate>,
}

/// Add a category, or change one (names, colour, days).
#[tauri::command]
pub async fn save_category(
    desk: State<'_, Desk>,
    form: CategoryForm,
) -> CmdResult<checkin_core::model::Category> {
    let now = desk.now();
    let mut store = desk.store()?;
    require_coordinator(&desk, &store, "editing categories")?;
    let c = match form.code.as_deref().filter(|c| !c.is_empty()) {
        None => store.add_category(
            None,
            &form.label_ru,
            Some(&form.label_en),
            Some(&form.color),
            form.days,
            now,
        )?,
        Some(code) => store.edit_category(
            code,
            checkin_core::store::categories::CategoryPatch {
                label_ru: Some(form.label_ru),
                label_en: Some(form.label_en),
                color: Some(form.color),
                days: Some(form.days),
            },
            now,
        )?,
    };
    drop(store);
    desk.touched(now);
    Ok(c)
}

/// Remove a category nobody is in.
#[tauri::command]
pub async fn remove_category(
    desk: State<'_, Desk>,
    code: String,
) -> CmdResult<checkin_core::model::Category> {
    let now = desk.now();
    let mut store = desk.store()?;
    require_coordinator(&desk, &store, "removing categories")?;
    let c = store.remove_category(&code, now)?;
    drop(store);
    desk.touched(now);
    Ok(c)
}

/// The category values of a registration file the event does not have
/// (each with its rows and the code it would get) and those the mapping
/// sends elsewhere, for the import screen's choices.
#[derive(Debug, Clone, Serialize)]
pub struct ImportCategories {
    pub new_categories: Vec<checkin_core::roster::CategoryValue>,
    pub mapped_categories: Vec<checkin_core::roster::CategoryValue>,
    pub rows: usize,
    pub errors: usize,
}

#[tauri::command]
pub async fn import_categories(
    desk: State<'_, Desk>,
    bytes: Vec<u8>,
    choice: Option<ImportChoice>,
) -> CmdResult<ImportCategories> {
    let opts = import_options(&choice.unwrap_or_default())?;
    let event = desk
        .store()?
        .event()
        .cloned()
        .ok_or(checkin_core::error::CoreError::NoEvent)?;
    let parsed = import::parse(&bytes, &opts, &event.categories, &event.days, &mut |_| {})?;
    Ok(ImportCategories {
        new_categories: parsed.new_categories,
        mapped_categories: parsed.mapped_categories,
        rows: parsed.rows.len(),
        errors: parsed.errors.len(),
    })
}

fn import_options(choice: &ImportChoice) -> CmdResult<ImportOptions> {
    let mut mapping = Vec::new();
    for (col, field) in &choice.mapping {
        let f = Field::parse(field).ok_or_else(|| {
            CmdError::new(
                "invalid",
                format!("unknown field {field:?} in the column mapping"),
            )
        })?;
        mapping.push((col.clone(), f));
    }
    Ok(ImportOptions {
        mapping,
        category_map: choice.category_map.clone(),
        ..ImportOptions::default()
    })
}

/// The header, detected columns and first rows of a registration file.
#[tauri::command]
pub async fn import_preview(bytes: Vec<u8>, choice: Option<ImportChoice>) -> CmdResult<Preview> {
    let opts = import_options(&choice.unwrap_or_default())?;
    import::preview(&bytes, &opts, 20).map_err(CmdError::from)
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportProgressMsg {
    pub stage: &'static str,
    pub rows_done: usize,
    pub rows_total: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportResult {
    /// Rows with errors: when not empty (and not skipping), nothing was imported.
    pub errors: Vec<checkin_tables::import::RowError>,
    pub report: Option<ImportReport>,
}

/// Parse and apply a registration file, reporting progress on `progress`.
#[tauri::command]
pub async fn import_apply(
    desk: State<'_, Desk>,
    bytes: Vec<u8>,
    choice: ImportChoice,
    progress: tauri::ipc::Channel<ImportProgressMsg>,
) -> CmdResult<ImportResult> {
    let opts = import_options(&choice)?;
    let now = desk.now();
    let mut store = desk.store()?;
    let event = store
        .event()
        .cloned()
        .ok_or(checkin_core::error::CoreError::NoEvent)?;
    let parsed = import::parse(&bytes, &opts, &event.categories, &event.days, &mut |p| {
        let _ = progress.send(ImportProgressMsg {
            stage: "read",
            rows_done: p.rows_done,
            rows_total: p.rows_total,
        });
    })?;
    if !parsed.errors.is_empty() && !choice.skip_bad_rows {
        return Ok(ImportResult {
            errors: parsed.errors,
            report: None,
        });
    }
    let report = store.import(
        &parsed,
        ApplyOptions {
            skip_bad_rows: choice.skip_bad_rows,
        },
        now,
        &mut |p| {
            let _ = progress.send(ImportProgressMsg {
                stage: "write",
                rows_done: p.rows_done,
                rows_total: p.rows_total,
            });
        },
    )?;
    store.checkpoint()?;
    drop(store);
    desk.touched(now);
    Ok(ImportResult {
        errors: parsed.errors,
        report: Some(report),
    })
}

/// The UI reports that it is ready to scan; logged for the start-up budget.
#[tauri::command]
pub async fn mark_ready(desk: State<'_, Desk>, screen: String) -> CmdResult<i64> {
    let ms = chrono::Utc::now().timestamp_millis() - desk.started_ms;
    eprintln!("checkin-app: ready to scan ({screen}) {ms} ms after start");
    Ok(ms)
}

/// What the join form sends: the pairing text (`checkin://pair?server=…&code=…`)
/// or the server and the code typed separately, and this desk's name.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JoinRequest {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub desk_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    pub event_id: Uuid,
    pub role: String,
    pub server: String,
    pub database: String,
    /// Whether the event has arrived from the server yet.
    pub event_ready: bool,
}

fn nonblank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn remove_db_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
}

/// Join an event: pair a NEW database with the server (the demo or any
/// other event's database is never paired), make it this desk's current
/// database (`event-<id>.db`, remembered in the settings), start syncing and
/// wait a little for the event to arrive.
#[tauri::command]
pub async fn join_event<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
    join: JoinRequest,
) -> CmdResult<Joined> {
    if desk.sync_handle().is_some() {
        return Err(CmdError::new(
            "already_paired",
            "this desk already syncs with a server",
        ));
    }
    let (server, code, fingerprint) = match nonblank(join.text) {
        Some(text) if text.starts_with("checkin://") => checkin_sync::protocol::parse_pairing_uri(&text)
            .map(|l| (l.server, l.code, l.fingerprint))
            .ok_or_else(|| {
                CmdError::new(
                    "invalid",
                    "this is not a pairing text: it looks like checkin://pair?server=…&code=…",
                )
            })?,
        other => {
            let server = nonblank(join.server).ok_or_else(|| {
                CmdError::new("invalid", "enter the server address, e.g. https://10.0.0.5:8787")
            })?;
            let code = nonblank(join.code)
                .or(other)
                .ok_or_else(|| CmdError::new("invalid", "enter the pairing code from the coordinator"))?;
            (server, code, None)
        }
    };
    let server = if server.contains("://") {
        server
    } else {
        format!("https://{server}")
    };
    let name = nonblank(join.desk_name).unwrap_or_else(crate::default_desk_name);
    let now = chrono::Utc::now();
    let dir = desk.options.data_dir.clone();
    let tmp = dir.join(format!("joining-{}.db", Uuid::now_v7()));
    let fresh = std::sync::Mutex::new(checkin_core::store::Store::open_local(&tmp, &name, now)?);
    let pairing =
        match checkin_sync::client::pair_desk_pinned(&fresh, &server, &code, fingerprint.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                drop(fresh);
                remove_db_files(&tmp);
                return Err(e.into());
            }
        };
    drop(fresh); // closes the database (SQLite folds the WAL back in)
    let mut file = format!("event-{}.db", pairing.event_id);
    if dir.join(&file).exists() {
        file = format!(
            "event-{}-{}.db",
            pairing.event_id,
            &Uuid::now_v7().to_string()[..8]
        );
    }
    let path = dir.join(&file);
    for suffix in ["", "-wal", "-shm"] {
        let mut from = tmp.as_os_str().to_owned();
        from.push(suffix);
        let mut to = path.as_os_str().to_owned();
        to.push(suffix);
        if std::path::Path::new(&from).exists() {
            std::fs::rename(&from, &to)?;
        }
    }
    let store = checkin_core::store::Store::open_local(&path, &name, now)?;
    *desk.store()? = store;
    desk.demo.store(false, std::sync::atomic::Ordering::Relaxed);
    {
        let mut s = desk
            .settings
            .lock()
            .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))?;
        s.database = Some(file);
        s.role = None;
        s.location_id = None;
        s.save(&desk.options.config_dir)?;
    }
    crate::start_sync(&app, &desk)?;
    let mut event_ready = false;
    for _ in 0..100 {
        if desk.store()?.event().is_some() {
            event_ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(Joined {
        event_id: pairing.event_id,
        role: pairing.role.as_str().to_string(),
        server: pairing.server,
        database: path.display().to_string(),
        event_ready,
    })
}

fn sync_client(desk: &Desk) -> CmdResult<(checkin_sync::client::SyncClient, Uuid)> {
    let h = desk.sync_handle().ok_or_else(|| {
        CmdError::new(
            "not_paired",
            "this desk is not connected to a server: join an event first",
        )
    })?;
    Ok((h.desk.client.clone(), h.desk.pairing.event_id))
}

/// The event's paired desks (coordinator desks only; the server checks).
#[tauri::command]
pub async fn devices(desk: State<'_, Desk>) -> CmdResult<Vec<checkin_sync::protocol::DeviceInfo>> {
    let (client, _) = sync_client(&desk)?;
    Ok(client.devices().await?)
}

/// Revoke a desk on the server, then log it so every desk refuses the
/// badges its key signed that it had not logged as printed.
#[tauri::command]
pub async fn revoke_device(
    desk: State<'_, Desk>,
    device_id: Uuid,
) -> CmdResult<checkin_sync::protocol::DeviceInfo> {
    let h = desk.sync_handle().ok_or_else(|| {
        CmdError::new(
            "not_paired",
            "this desk is not connected to a server: join an event first",
        )
    })?;
    Ok(h.desk.revoke_device(device_id, "").await?)
}

/// A one-time code (and its QR as SVG) for pairing another desk.
#[tauri::command]
pub async fn create_pairing_code(
    desk: State<'_, Desk>,
    role: String,
) -> CmdResult<checkin_sync::protocol::PairingCode> {
    let role = checkin_sync::protocol::Role::parse(&role).ok_or_else(|| {
        CmdError::new(
            "invalid",
            format!("role {role:?}: use volunteer, host or coordinator"),
        )
    })?;
    let (client, event_id) = sync_client(&desk)?;
    Ok(client
        .create_pairing_code(&checkin_sync::protocol::PairingCodeRequest {
            event_id,
            role,
            ttl_minutes: None,
            device_id: None,
        })
        .await?)
}

/// The printers CUPS offers (`lpstat -e`) and whether `lp` exists.
#[tauri::command]
pub async fn printers() -> CmdResult<crate::print::Printers> {
    tauri::async_runtime::spawn_blocking(crate::print::printers)
        .await
        .map_err(|e| CmdError::new("internal", e.to_string()))
}

/// A badge PDF that went out (or was opened for the volunteer to print).
#[derive(Debug, Clone, Serialize)]
pub struct PrintJob {
    /// Confirm an `opened` job with `confirm_printed(job)`.
    pub job: Uuid,
    pub pdf: String,
    pub badges: usize,
    pub pages: usize,
    pub sent: crate::print::Sent,
    /// The print log entry, once logged.
    pub print_id: Option<Uuid>,
}

fn badge_error(e: checkin_core::error::CoreError) -> CmdError {
    if matches!(e, checkin_core::error::CoreError::NoSigningKey) {
        CmdError::new(
            "no_signing_key",
            "this desk has no badge key yet: it makes one when it first syncs with the server as a volunteer or coordinator desk; connect it once, or print at the coordinator desk",
        )
    } else {
        e.into()
    }
}

/// Select and sign under the store lock, render off it (a batch of thousands
/// must not hold up scans), save, send, and log as printed only when CUPS
/// took the job.
async fn print_badges(
    desk: &Desk,
    filter: checkin_core::store::BadgeFilter,
    layout: checkin_pdf::Layout,
    stem: String,
    reason: Option<String>,
) -> CmdResult<PrintJob> {
    let now = desk.now();
    let (event, badges) = {
        let store = desk.store()?;
        let event = store
            .event()
            .cloned()
            .ok_or(checkin_core::error::CoreError::NoEvent)?;
        (event, store.badges_to_print(&filter).map_err(badge_error)?)
    };
    let printed: Vec<checkin_core::store::changes::PrintedBadge> = badges
        .iter()
        .map(|b| checkin_core::store::changes::PrintedBadge {
            attendee_id: b.attendee.id,
            issue: b.attendee.badge_issue,
        })
        .collect();
    let path = crate::print::pdf_path(&desk.options.data_dir, &stem, now)?;
    let printer = desk.settings.lock().ok().and_then(|s| s.printer.clone());
    let (rendered, sent) = {
        let path = path.clone();
        let title = stem.clone();
        tauri::async_runtime::spawn_blocking(move || -> CmdResult<_> {
            let rendered =
                checkin_pdf::render(&event, &badges, &checkin_pdf::Options::new(layout), &mut |_| {})?;
            std::fs::write(&path, &rendered.pdf)?;
            let sent = crate::print::send(&path, printer.as_deref(), &title)?;
            Ok((rendered, sent))
        })
        .await
        .map_err(|e| CmdError::new("internal", e.to_string()))??
    };
    let job = Uuid::now_v7();
    let print_id = if sent == crate::print::Sent::Printed {
        let id = desk
            .store()?
            .record_printed_because(&printed, layout, reason.as_deref(), now)?;
        desk.touched(now);
        Some(id)
    } else {
        if let Ok(mut p) = desk.pending_prints.lock() {
            p.insert(job, (printed, layout, reason));
        }
        None
    };
    Ok(PrintJob {
        job,
        pdf: path.display().to_string(),
        badges: rendered.badges,
        pages: rendered.pages,
        sent,
        print_id,
    })
}

fn desk_layout(desk: &Desk) -> checkin_pdf::Layout {
    desk.settings
        .lock()
        .ok()
        .and_then(|s| checkin_pdf::Layout::parse(&s.badge_layout))
        .unwrap_or(checkin_pdf::Layout::A6)
}

/// One person's badge (a walk-in, a reprint) on this desk's badge layout.
/// A badge the print log already holds is printed again only with a
/// reason (`reprint_reason` asks for one), which goes into the print log.
#[tauri::command]
pub async fn print_badge(
    desk: State<'_, Desk>,
    attendee_id: Uuid,
    reason: Option<String>,
) -> CmdResult<PrintJob> {
    let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let (name, last) = {
        let store = desk.store()?;
        let a = store
            .attendee(attendee_id)?
            .ok_or_else(|| CmdError::new("not_found", "no such attendee"))?;
        let last = store
            .print_log(attendee_id)?
            .into_iter()
            .rfind(|p| p.issue == a.badge_issue);
        (a.full_name, last)
    };
    if let (Some(p), None) = (&last, &reason) {
        return Err(CmdError::new(
            "reprint_reason",
            format!(
                "{name}'s badge was printed at {} on {}: say why it is printed again (lost, damaged, a misprint)",
                p.at.format("%H:%M %d.%m"),
                p.device_name.as_deref().unwrap_or("another desk")
            ),
        ));
    }
    let filter = checkin_core::store::BadgeFilter {
        attendees: vec![attendee_id],
        ..Default::default()
    };
    let reason = if last.is_some() { reason } else { None };
    print_badges(&desk, filter, desk_layout(&desk), format!("badge-{name}"), reason).await
}

/// What printing at admission did.
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionPrint {
    /// `printed` (CUPS took it), `opened` / `saved` (see [`crate::print::Sent`]),
    /// `already` (the print log has it, or it is printing now), or `off`
    /// (this desk does not print at admission).
    pub state: &'static str,
    pub job: Option<PrintJob>,
}

/// Someone was just admitted: print their badge if this desk prints at
/// admission and no desk has printed it yet (the print log decides, as
/// synced). A printer's trouble comes back as the error (`printer_paused`,
/// `printer_missing`, `printer_refused`, `print_failed`); the scan is
/// already recorded and the next one is not held up.
#[tauri::command]
pub async fn print_at_admission(desk: State<'_, Desk>, attendee_id: Uuid) -> CmdResult<AdmissionPrint> {
    if !desk.settings.lock().is_ok_and(|s| s.prints_on_admit()) {
        return Ok(AdmissionPrint {
            state: "off",
            job: None,
        });
    }
    let name = {
        let store = desk.store()?;
        let a = store
            .attendee(attendee_id)?
            .ok_or_else(|| CmdError::new("not_found", "no such attendee"))?;
        if store.badge_printed(attendee_id, a.badge_issue)? {
            return Ok(AdmissionPrint {
                state: "already",
                job: None,
            });
        }
        a.full_name
    };
    // One print per person at a time: a second scan while the first is
    // printing prints nothing.
    if !desk
        .printing
        .lock()
        .map_err(|_| CmdError::new("internal", "print state unavailable; restart the app"))?
        .insert(attendee_id)
    {
        return Ok(AdmissionPrint {
            state: "already",
            job: None,
        });
    }
    let filter = checkin_core::store::BadgeFilter {
        attendees: vec![attendee_id],
        ..Default::default()
    };
    let job = print_badges(&desk, filter, desk_layout(&desk), format!("badge-{name}"), None).await;
    if let Ok(mut p) = desk.printing.lock() {
        p.remove(&attendee_id);
    }
    if let Err(e) = &job {
        eprintln!("checkin-app: print at admission failed: {}", e.code);
    }
    let job = job?;
    let state = match job.sent {
        crate::print::Sent::Printed => "printed",
        crate::print::Sent::Opened => "opened",
        crate::print::Sent::Saved => "saved",
    };
    Ok(AdmissionPrint {
        state,
        job: Some(job),
    })
}

/// The coordinator's batch: a category and/or only badges not printed yet.
#[tauri::command]
pub async fn print_batch(
    desk: State<'_, Desk>,
    category: Option<String>,
    not_printed: bool,
    layout: String,
) -> CmdResult<PrintJob> {
    let layout = checkin_pdf::Layout::parse(&layout).ok_or_else(|| {
        CmdError::new(
            "invalid",
            format!("layout {layout:?}: use a6, a4-8 or label-62x100"),
        )
    })?;
    let category = category.filter(|c| !c.is_empty());
    let stem = format!("badges-{}", category.as_deref().unwrap_or("all"));
    let filter = checkin_core::store::BadgeFilter {
        category,
        not_printed,
        ..Default::default()
    };
    print_badges(&desk, filter, layout, stem, None).await
}

/// The volunteer saw an opened badge PDF come out of the printer: log it.
#[tauri::command]
pub async fn confirm_printed(desk: State<'_, Desk>, job: Uuid) -> CmdResult<Uuid> {
    let (printed, layout, reason) = desk
        .pending_prints
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&job))
        .ok_or_else(|| CmdError::new("not_found", "no such print job waiting for confirmation"))?;
    let now = desk.now();
    let id = desk
        .store()?
        .record_printed_because(&printed, layout, reason.as_deref(), now)?;
    desk.touched(now);
    Ok(id)
}
