// The app's IPC commands: the UI's contract. build.rs generates an
// `allow-<name>` permission for each; `capabilities/desk.json` grants them;
// a test pins this list to the handler.
pub const ALL: &[&str] = &[
    "app_info",
    "save_settings",
    "scan",
    "check_in",
    "search",
    "undo_last",
    "counters",
    "count_anonymous",
    "hourly",
    "arrivals",
    "walk_in",
    "attendees",
    "set_revoked",
    "save_attendee",
    "export",
    "import_preview",
    "import_apply",
    "mark_ready",
];
