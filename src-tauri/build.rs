//! Generates the app's command permissions: the capability file
//! (`capabilities/desk.json`) then allows exactly the commands the UI uses.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(checkin_app_commands::ALL)),
    )
    .expect("tauri-build");
}

mod checkin_app_commands {
    include!("src/command_names.rs");
}
