//! The core's error type. Every message says what to do next; `code()` gives
//! a stable machine-readable name for the UI (`{code, message}`).

use crate::badge::BadgeError;
use crate::roster::RowError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("database error: {0}. If this repeats, restart the app; the data on disk is safe")]
    Db(#[from] rusqlite::Error),

    #[error(
        "could not open or upgrade the database: {0}. Check the file path and that no other program has it open"
    )]
    Migration(#[from] rusqlite_migration::Error),

    #[error(
        "this database has no event yet: create one (`checkin event create --name … --days … --tz …`) or join an event"
    )]
    NoEvent,

    #[error("an event already exists in this database ({0}); use a new database file for another event")]
    EventExists(String),

    #[error("unknown location {0:?}: add it with `checkin location add` or pick one of: {1}")]
    UnknownLocation(String, String),

    #[error("a location named {0:?} already exists; choose another name")]
    LocationExists(String),

    #[error("no attendee matches {0:?}: search by name, e-mail or ticket code to find the right person")]
    UnknownAttendee(String),

    #[error("no check-in {0}: it may not have synced to this desk yet")]
    UnknownCheckIn(String),

    #[error("check-in {0} was already undone")]
    AlreadyAnnulled(String),

    #[error("{0}")]
    Invalid(String),

    /// Something named is not here (a proposal, an island); the message
    /// says what to do.
    #[error("{0}")]
    NotFound(String),

    #[error("{}", import_rejected_message(.0))]
    ImportRejected(Vec<RowError>),

    #[error(transparent)]
    Badge(#[from] BadgeError),

    #[error(
        "this desk has no badge key and cannot issue badges: connect it to the server once as a volunteer or coordinator desk (it then makes its own key), or print on the desk that created the event"
    )]
    NoSigningKey,

    #[error("could not write the export: {0}. Check that the folder exists and is writable")]
    Export(String),

    #[error("file error: {0}")]
    Io(#[from] std::io::Error),

    #[error(
        "search is still getting ready (reading the attendee list); scan badges meanwhile and search again in a moment"
    )]
    SearchNotReady,
}

fn import_rejected_message(errors: &[RowError]) -> String {
    let mut msg = format!(
        "the file was not imported: {} row(s) need fixing (nothing was changed). Fix them and import again",
        errors.len()
    );
    for e in errors.iter().take(20) {
        msg.push_str(&format!("\n  line {}: {}", e.line, e.message));
    }
    if errors.len() > 20 {
        msg.push_str(&format!("\n  … and {} more", errors.len() - 20));
    }
    msg
}

impl CoreError {
    /// Stable error code for UIs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Db(_) => "database",
            CoreError::Migration(_) => "migration",
            CoreError::NoEvent => "no_event",
            CoreError::EventExists(_) => "event_exists",
            CoreError::UnknownLocation(..) => "unknown_location",
            CoreError::LocationExists(_) => "location_exists",
            CoreError::UnknownAttendee(_) => "unknown_attendee",
            CoreError::UnknownCheckIn(_) => "unknown_checkin",
            CoreError::AlreadyAnnulled(_) => "already_annulled",
            CoreError::Invalid(_) => "invalid",
            CoreError::NotFound(_) => "not_found",
            CoreError::ImportRejected(_) => "import_rejected",
            CoreError::Badge(_) => "badge",
            CoreError::NoSigningKey => "no_signing_key",
            CoreError::Export(_) => "export",
            CoreError::Io(_) => "io",
            CoreError::SearchNotReady => "search_not_ready",
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
