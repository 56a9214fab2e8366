//! `tauri::test`: the command names the UI calls, their argument names and
//! the `{code, message}` error shape, through Tauri's real IPC layer on a
//! mock runtime (no display needed).

use chrono::Utc;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use checkin_app::{Desk, Options, command_names, with_commands};

fn app(
    dir: &std::path::Path,
) -> (
    App<tauri::test::MockRuntime>,
    WebviewWindow<tauri::test::MockRuntime>,
) {
    let desk = Desk::open(
        Options {
            data_dir: dir.to_path_buf(),
            config_dir: dir.to_path_buf(),
            demo_size: 50,
        },
        Utc::now(),
        Utc::now().timestamp_millis(),
    )
    .unwrap();
    let app = with_commands(mock_builder())
        .manage(desk)
        .manage(checkin_app::camera::Camera::default())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, webview)
}

fn call(w: &WebviewWindow<tauri::test::MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    call_with(w, cmd, InvokeBody::Json(args), Default::default())
}

fn call_with(
    w: &WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    body: InvokeBody,
    headers: tauri::http::HeaderMap,
) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body,
            headers,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn frame_headers(w: u32, h: u32) -> tauri::http::HeaderMap {
    let mut m = tauri::http::HeaderMap::new();
    m.insert("x-frame-width", w.to_string().parse().unwrap());
    m.insert("x-frame-height", h.to_string().parse().unwrap());
    m
}

#[test]
fn camera_frames_travel_as_raw_bytes_and_a_held_badge_is_one_scan() {
    use checkin_scan::synthetic;
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let frame = synthetic::webcam_frame(220.0, 11);
    let r = call_with(
        &w,
        "decode_frame",
        InvokeBody::Raw(frame.clone()),
        frame_headers(1280, 720),
    )
    .unwrap();
    assert_eq!(r["dropped"], false);
    let codes = r["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 1, "{r}");
    assert_eq!(codes[0]["fresh"], true);
    assert_eq!(codes[0]["text"], synthetic::sample_token(11));
    assert_eq!(codes[0]["corners"].as_array().unwrap().len(), 4);
    // The same badge in the next frame: seen, not scanned again.
    let r = call_with(
        &w,
        "decode_frame",
        InvokeBody::Raw(frame.clone()),
        frame_headers(1280, 720),
    )
    .unwrap();
    assert_eq!(r["codes"][0]["fresh"], false);
    // After camera_reset it is new again.
    call(&w, "camera_reset", json!({})).unwrap();
    let r = call_with(
        &w,
        "decode_frame",
        InvokeBody::Raw(frame),
        frame_headers(1280, 720),
    )
    .unwrap();
    assert_eq!(r["codes"][0]["fresh"], true);

    // Bad frames are refused with a clear {code, message}.
    let e = call_with(
        &w,
        "decode_frame",
        InvokeBody::Raw(vec![0; 100]),
        frame_headers(1280, 720),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_frame");
    assert!(
        e["message"].as_str().unwrap().contains("one grey byte per pixel"),
        "{e}"
    );
    let e = call_with(
        &w,
        "decode_frame",
        InvokeBody::Raw(vec![0; 100]),
        Default::default(),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid_frame");
    let e = call(&w, "decode_frame", json!({"frame": [1, 2, 3]})).unwrap_err();
    assert_eq!(e["code"], "invalid_frame");
}

#[test]
fn every_listed_command_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    for name in command_names::ALL {
        // Unregistered commands fail with a plain string, not our {code, message}.
        if let Err(e) = call(&w, name, json!({})) {
            assert!(
                e.get("code").is_some() || e.as_str().is_some_and(|s| !s.contains("not found")),
                "command {name} is not registered: {e}"
            );
        }
    }
    let e = call(&w, "no_such_command", json!({})).unwrap_err();
    assert!(e.as_str().unwrap_or_default().contains("not found"), "{e}");
}

#[test]
fn desk_flow_and_error_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());

    let info = call(&w, "app_info", json!({})).unwrap();
    assert_eq!(info["demo"], true);
    assert_eq!(info["settings"]["language"], "ru");
    assert_eq!(info["status"]["mode"], "standalone");
    let door = info["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Вход A")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let island = info["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Остров 1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Settings persist to the config folder.
    let saved = call(
        &w,
        "save_settings",
        json!({"settings": {"role": "entrance", "location_id": door, "language": "en", "sound": false}}),
    )
    .unwrap();
    assert_eq!(saved["language"], "en");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(on_disk["role"], "entrance");

    // Ticket code scan, then the same again.
    let v = call(
        &w,
        "scan",
        json!({"payload": "T-000001", "locationId": door, "direction": "in"}),
    )
    .unwrap();
    assert_eq!(v["verdict"], "admitted");
    assert_eq!(v["attendee"]["full_name"], "Чупшева Анна Сергеевна");
    let v = call(&w, "scan", json!({"payload": "T-000001", "locationId": door})).unwrap();
    assert_eq!(v["verdict"], "already_checked_in");
    assert_eq!(v["first"]["location_name"], "Вход A");
    let v = call(&w, "scan", json!({"payload": "garbage\u{7}", "locationId": door})).unwrap();
    assert_eq!(v["verdict"], "malformed");

    // Search across scripts, then manual check-in.
    let hits = call(&w, "search", json!({"query": "smirnov", "limit": 5})).unwrap();
    let smirnov = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["full_name"] == "Смирнов Алексей Викторович")
        .expect("Смирнов found by Latin spelling");
    assert!(smirnov["checked_in_at"].is_null());
    let v = call(
        &w,
        "check_in",
        json!({"attendeeId": smirnov["id"], "locationId": door}),
    )
    .unwrap();
    assert_eq!(v["verdict"], "admitted");

    let c = call(&w, "counters", json!({})).unwrap();
    assert_eq!(c["checked_in"], 2);

    // Undo needs a reason; the error has the {code, message} shape.
    let e = call(&w, "undo_last", json!({"reason": "  "})).unwrap_err();
    assert_eq!(e["code"], "invalid");
    assert!(e["message"].as_str().unwrap().contains("say why"));
    let u = call(&w, "undo_last", json!({"reason": "wrong person"})).unwrap();
    assert_eq!(u["attendee_name"], "Смирнов Алексей Викторович");

    // Island counts.
    let c = call(
        &w,
        "count_anonymous",
        json!({"locationId": island, "direction": "in"}),
    )
    .unwrap();
    let l = c["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location_id"] == island.as_str())
        .unwrap();
    assert_eq!(l["occupancy"], 1);
    let e = call(
        &w,
        "count_anonymous",
        json!({"locationId": door, "direction": "in"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid");
    let hours = call(&w, "hourly", json!({"locationId": island})).unwrap();
    assert_eq!(hours.as_array().unwrap().len(), 1);

    // Unknown location and bad arguments.
    let e = call(
        &w,
        "scan",
        json!({"payload": "T-000002", "locationId": "00000000-0000-0000-0000-000000000000"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "unknown_location");
    let e = call(
        &w,
        "scan",
        json!({"payload": "T-000002", "locationId": door, "direction": "sideways"}),
    )
    .unwrap_err();
    assert_eq!(
        e,
        json!({"code": "invalid", "message": "direction \"sideways\": use \"in\" or \"out\""})
    );

    // Table, walk-in, export.
    let page = call(
        &w,
        "attendees",
        json!({"filter": {"text": "", "category": "", "status": "checked_in"}, "offset": 0, "limit": 10}),
    )
    .unwrap();
    assert_eq!(page["total"], 1);
    let walked = call(
        &w,
        "walk_in",
        json!({"person": {"full_name": "Петров Пётр", "category": "participant"}, "locationId": door}),
    )
    .unwrap();
    assert!(walked["token"].as_str().unwrap().starts_with("CK"));
    assert_eq!(walked["outcome"]["verdict"], "admitted");

    // Statistics follow each change (the cache refreshes incrementally).
    let st = call(&w, "stats", json!({})).unwrap();
    let today = &st["days"][0];
    assert_eq!(today["checked_in"], 2, "Чупшева and the walk-in; Смирнов undone");
    let zone = today["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == "Остров 1")
        .unwrap();
    assert_eq!(
        (zone["anonymous_in"].as_u64(), zone["occupancy_now"].as_u64()),
        (Some(1), Some(1))
    );
    call(&w, "scan", json!({"payload": "T-000003", "locationId": door})).unwrap();
    assert_eq!(call(&w, "stats", json!({})).unwrap()["days"][0]["checked_in"], 3);
    let all = call(&w, "stats", json!({"day": "all"})).unwrap();
    assert_eq!(all["days"].as_array().unwrap().len(), 2, "both demo days");
    let e = call(&w, "stats", json!({"day": "tomorrowish"})).unwrap_err();
    assert_eq!(e["code"], "invalid");

    // Reports with names only from a coordinator desk; counts without names
    // and the summary from any desk.
    let e = call(&w, "export", json!({"format": "csv", "lang": "ru"})).unwrap_err();
    assert_eq!(e["code"], "forbidden");
    let e = call(
        &w,
        "export",
        json!({"format": "xlsx", "lang": "ru", "report": "no-shows"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "forbidden");
    let path = call(
        &w,
        "export",
        json!({"format": "csv", "lang": "en", "report": "zones", "anonymous": true}),
    )
    .unwrap();
    let text = std::fs::read_to_string(path.as_str().unwrap()).unwrap();
    assert!(text.contains("Остров 1") && !text.contains("Чупшева"), "{text}");
    let path = call(
        &w,
        "export",
        json!({"format": "html", "lang": "ru", "report": "summary"}),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(path.as_str().unwrap())
            .unwrap()
            .contains("<svg")
    );
    call(
        &w,
        "save_settings",
        json!({"settings": {"role": "coordinator", "language": "en", "sound": false}}),
    )
    .unwrap();
    let path = call(&w, "export", json!({"format": "csv", "lang": "ru"})).unwrap();
    assert!(std::path::Path::new(path.as_str().unwrap()).exists());
    let path = call(
        &w,
        "export",
        json!({"format": "xlsx", "lang": "ru", "report": "no-shows"}),
    )
    .unwrap();
    assert!(std::path::Path::new(path.as_str().unwrap()).exists());
    let e = call(
        &w,
        "export",
        json!({"format": "csv", "lang": "ru", "report": "everything"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "invalid");
}

#[test]
fn hall_hub_needs_a_paired_coordinator_desk() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(dir.path());
    let v = call(&w, "hub_state", json!({})).unwrap();
    assert_eq!(
        (&v["available"], &v["running"], &v["port"], &v["manual"]),
        (&json!(false), &json!(false), &json!(8788), &Value::Null),
        "{v}"
    );
    for (cmd, args) in [
        ("start_hub", json!({"port": 0})),
        ("set_hub_address", json!({"address": "10.0.0.7:8788"})),
    ] {
        let e = call(&w, cmd, args).unwrap_err();
        assert_eq!(e["code"], "not_paired", "{cmd}: {e}");
        assert!(e["message"].as_str().unwrap().contains("join an event"), "{e}");
    }
    // Stopping a hub that does not run is harmless and remembered.
    let v = call(&w, "stop_hub", json!({})).unwrap();
    assert_eq!(v["running"], false);
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("settings.json")).unwrap()).unwrap();
    assert_eq!(on_disk["hub"], false);
}

/// The capability grants every command the UI may call and nothing more: a
/// command missing here is refused in the real app (not under `tauri::test`).
#[test]
fn the_desk_capability_grants_exactly_the_listed_commands() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/desk.json");
    let cap: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut granted: Vec<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| !p.starts_with("core:"))
        .map(str::to_string)
        .collect();
    let mut listed: Vec<String> = command_names::ALL
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    granted.sort();
    listed.sort();
    assert_eq!(
        granted, listed,
        "capabilities/desk.json and command_names::ALL differ"
    );
}
