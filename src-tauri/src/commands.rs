//! The IPC commands. Each one takes what the UI sends, adds the clock and
//! this desk's settings, calls the core and returns its answer. No logic of
//! the check-in itself lives here.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use checkin_core::engine::{Counters, ScanOutcome};
use checkin_core::export::{ExportFormat, Lang};
use checkin_core::import::{self, Field, ImportOptions, Preview};
use checkin_core::model::{Attendee, Device, Direction, Event, Location, Method};
use checkin_core::store::{ApplyOptions, ImportReport};
use checkin_core::views::{Arrivals, AttendeeFilter, AttendeePage, HourCount};

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
    /// Whether this desk can issue badges (holds the event's secret key).
    pub can_issue_badges: bool,
}

#[tauri::command]
pub async fn app_info(desk: State<'_, Desk>) -> CmdResult<AppInfo> {
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
        demo: desk.demo,
        started_ms: desk.started_ms,
        status: status_of(&store)?,
        data_dir: desk.options.data_dir.display().to_string(),
        can_issue_badges,
    })
}

/// Save role, location and language. The location must exist and suit the role.
#[tauri::command]
pub async fn save_settings(desk: State<'_, Desk>, settings: Settings) -> CmdResult<Settings> {
    if let Some(role) = settings.role.as_deref()
        && !matches!(role, "entrance" | "island" | "coordinator")
    {
        return Err(CmdError::new(
            "invalid",
            format!("unknown role {role:?}: choose entrance, island or coordinator"),
        ));
    }
    if !matches!(settings.language.as_str(), "ru" | "en") {
        return Err(CmdError::new("invalid", "language must be \"ru\" or \"en\""));
    }
    if let Some(id) = settings.location_id {
        desk.store()?.location(&id.to_string())?;
    }
    settings.save(&desk.options.config_dir)?;
    *desk
        .settings
        .lock()
        .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))? = settings.clone();
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
    let now = Utc::now();
    let out = desk.store()?.scan(&payload, location_id, dir, now)?;
    desk.touched(now);
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
    let now = Utc::now();
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
    let day = store.day_of(Utc::now())?;
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
    let now = Utc::now();
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
    Ok(desk.store()?.counters(Utc::now())?)
}

/// An island's +1 / −1 for a visitor without a badge.
#[tauri::command]
pub async fn count_anonymous(
    desk: State<'_, Desk>,
    location_id: Uuid,
    direction: String,
) -> CmdResult<Counters> {
    let dir = self::direction(Some(direction))?;
    let now = Utc::now();
    let mut store = desk.store()?;
    store.count_anonymous(location_id, dir, now)?;
    desk.touched(now);
    Ok(store.counters(now)?)
}

#[tauri::command]
pub async fn hourly(desk: State<'_, Desk>, location_id: Uuid) -> CmdResult<Vec<HourCount>> {
    Ok(desk.store()?.visits_per_hour(location_id, Utc::now())?)
}

#[tauri::command]
pub async fn arrivals(desk: State<'_, Desk>) -> CmdResult<Vec<Arrivals>> {
    Ok(desk.store()?.arrivals_per_quarter(Utc::now())?)
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
    let now = Utc::now();
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
        .attendee_page(&filter.unwrap_or_default(), offset, limit, Utc::now())?)
}

#[tauri::command]
pub async fn set_revoked(
    desk: State<'_, Desk>,
    attendee_id: Uuid,
    revoked: bool,
    reason: String,
) -> CmdResult<Attendee> {
    let now = Utc::now();
    let a = desk.store()?.set_revoked(attendee_id, revoked, &reason, now)?;
    desk.touched(now);
    Ok(a)
}

#[tauri::command]
pub async fn save_attendee(desk: State<'_, Desk>, attendee: Attendee) -> CmdResult<Attendee> {
    let now = Utc::now();
    let a = desk.store()?.save_attendee(attendee, now)?;
    desk.touched(now);
    Ok(a)
}

/// Write the attendance table (CSV or XLSX, Russian or English headers)
/// into the data folder's `exports/`; returns the file's path.
#[tauri::command]
pub async fn export(desk: State<'_, Desk>, format: String, lang: String) -> CmdResult<String> {
    let fmt = ExportFormat::parse(&format)
        .ok_or_else(|| CmdError::new("invalid", format!("format {format:?}: use csv or xlsx")))?;
    let lang = Lang::parse(&lang).unwrap_or(Lang::Ru);
    let table = desk.store()?.attendance_table(lang)?;
    let dir = desk.options.data_dir.join("exports");
    std::fs::create_dir_all(&dir)?;
    let path = crate::export_path(&dir, "attendance", &format.to_ascii_lowercase(), Utc::now());
    table.save(&path, fmt)?;
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
        ..ImportOptions::default()
    })
}

/// The header, detected columns and first rows of a registration file.
#[tauri::command]
pub async fn import_preview(bytes: Vec<u8>, choice: Option<ImportChoice>) -> CmdResult<Preview> {
    let opts = import_options(&choice.unwrap_or_default())?;
    import::preview(&bytes, &opts, 20).map_err(|e| checkin_core::error::CoreError::from(e).into())
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
    pub errors: Vec<checkin_core::import::RowError>,
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
    let now = Utc::now();
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
    })
    .map_err(checkin_core::error::CoreError::from)?;
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
    Ok(ImportResult {
        errors: parsed.errors,
        report: Some(report),
    })
}

/// The UI reports that it is ready to scan; logged for the start-up budget.
#[tauri::command]
pub async fn mark_ready(desk: State<'_, Desk>, screen: String) -> CmdResult<i64> {
    let ms = Utc::now().timestamp_millis() - desk.started_ms;
    eprintln!("checkin-app: ready to scan ({screen}) {ms} ms after start");
    Ok(ms)
}
