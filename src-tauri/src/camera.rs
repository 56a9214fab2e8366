//! The webcam viewfinder's Rust side: grey frames arrive as a raw IPC body
//! (no JSON, no base64) and are decoded with the core's [`FrameDecoder`] on
//! a blocking worker thread, never on the UI's or the event loop's. One
//! frame at a time: a frame that arrives while another is being decoded is
//! dropped at once (the next one is fresher anyway). The same code seen
//! again within [`DEDUP_WINDOW_MS`] is one scan ([`ScanDeduper`]); the UI
//! sends a fresh code down the same `scan` command as a hand scanner.
//!
//! Also here: the answer to WebKitGTK's permission requests (the camera, and
//! nothing else).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tauri::State;
use tauri::ipc::{InvokeBody, Request};
use tauri::webview::{PermissionKind, PermissionResponse};

use checkin_scan::{FrameDecoder, ScanDeduper};

use crate::{CmdError, CmdResult};

/// The same code seen again within this many milliseconds of its last
/// sighting is the same scan (a badge held in front of the camera).
pub const DEDUP_WINDOW_MS: i64 = 3000;

/// Largest frame accepted (a 4K frame; the UI sends at most 1280×720).
const MAX_PIXELS: usize = 3840 * 2160;

/// WebKitGTK asks before a page may use a device: the viewfinder needs the
/// camera; the microphone, screen capture, location, notifications and the
/// rest stay refused.
pub fn permission(kind: PermissionKind) -> PermissionResponse {
    match kind {
        PermissionKind::Camera => PermissionResponse::Allow,
        _ => PermissionResponse::Deny,
    }
}

/// Managed state: the decoder and the de-duplicator of the one viewfinder.
#[derive(Default)]
pub struct Camera {
    busy: Arc<AtomicBool>,
    inner: Arc<Mutex<Decoding>>,
    /// Frames decoded and dropped, for the diagnostics the UI shows.
    decoded: Arc<AtomicU64>,
    dropped: AtomicU64,
}

struct Decoding {
    decoder: FrameDecoder,
    dedup: ScanDeduper,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            decoder: FrameDecoder::new(),
            dedup: ScanDeduper::new(chrono::Duration::milliseconds(DEDUP_WINDOW_MS)),
        }
    }
}

/// One code found in a frame.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrameCode {
    /// The code's text; `None` when its bytes are not text we can name
    /// (the UI says "unreadable code" and scans nothing).
    pub text: Option<String>,
    /// The outline in frame pixels, clockwise from the symbol's top-left.
    pub corners: [(f32, f32); 4],
    /// True the first time the code is seen (within the de-dup window):
    /// scan it. False: the same badge still in view.
    pub fresh: bool,
}

/// The answer for one frame.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrameScan {
    /// The frame was not looked at: another one was being decoded.
    pub dropped: bool,
    pub codes: Vec<FrameCode>,
    /// Decoding time in milliseconds (0 when dropped).
    pub decode_ms: f64,
    pub frames_decoded: u64,
    pub frames_dropped: u64,
}

/// Clears `busy` when the decode ends, however it ends.
struct Release(Arc<AtomicBool>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Camera {
    /// Decode one frame (`width × height` 8-bit grey bytes, row by row) and
    /// de-duplicate what it holds. Runs on the calling thread: the command
    /// calls it on a blocking worker.
    fn decode_now(
        inner: &Mutex<Decoding>,
        width: u32,
        height: u32,
        grey: &[u8],
        now: DateTime<Utc>,
    ) -> CmdResult<(Vec<FrameCode>, f64)> {
        let mut d = inner
            .lock()
            .map_err(|_| CmdError::new("internal", "the camera decoder failed; restart the app"))?;
        let t = std::time::Instant::now();
        let found = d
            .decoder
            .decode(width, height, grey)
            .map_err(|e| CmdError::new("invalid_frame", e.to_string()))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let codes = found
            .into_iter()
            .map(|c| FrameCode {
                fresh: c.text.is_some() && d.dedup.is_new(&c.bytes, now),
                text: c.text,
                corners: c.corners,
            })
            .collect();
        Ok((codes, ms))
    }

    /// Forget the codes seen (the desk moved, or the camera was switched).
    pub fn reset(&self) {
        if let Ok(mut d) = self.inner.lock() {
            d.dedup.clear();
        }
    }
}

fn dimension(req: &Request<'_>, name: &str) -> CmdResult<u32> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| n > 0 && n <= 8192)
        .ok_or_else(|| {
            CmdError::new(
                "invalid_frame",
                format!("the frame's {name} header is missing or not a size in pixels; send the frame from the viewfinder"),
            )
        })
}

/// A camera frame: the raw body is the grey pixels, the headers
/// `x-frame-width` and `x-frame-height` give the size.
#[tauri::command]
pub async fn decode_frame(request: Request<'_>, camera: State<'_, Camera>) -> CmdResult<FrameScan> {
    let width = dimension(&request, "x-frame-width")?;
    let height = dimension(&request, "x-frame-height")?;
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(CmdError::new(
            "invalid_frame",
            "a frame is sent as raw bytes (a Uint8Array body), not JSON",
        ));
    };
    let pixels = width as usize * height as usize;
    if pixels > MAX_PIXELS || bytes.len() != pixels {
        return Err(CmdError::new(
            "invalid_frame",
            format!(
                "the frame is {width}×{height} but has {} bytes; send one grey byte per pixel, at most 3840×2160",
                bytes.len()
            ),
        ));
    }
    let answer = |dropped: bool, codes: Vec<FrameCode>, decode_ms: f64| FrameScan {
        dropped,
        codes,
        decode_ms,
        frames_decoded: camera.decoded.load(Ordering::Relaxed),
        frames_dropped: camera.dropped.load(Ordering::Relaxed),
    };
    if camera.busy.swap(true, Ordering::AcqRel) {
        camera.dropped.fetch_add(1, Ordering::Relaxed);
        return Ok(answer(true, Vec::new(), 0.0));
    }
    let release = Release(camera.busy.clone());
    let grey = bytes.clone();
    let inner = camera.inner.clone();
    let decoded = camera.decoded.clone();
    let (codes, ms) = tauri::async_runtime::spawn_blocking(move || {
        let _release = release;
        let out = Camera::decode_now(&inner, width, height, &grey, Utc::now());
        decoded.fetch_add(1, Ordering::Relaxed);
        out
    })
    .await
    .map_err(|e| {
        CmdError::new(
            "internal",
            format!("the camera decoder stopped ({e}); restart the app"),
        )
    })??;
    Ok(answer(false, codes, ms))
}

/// Forget the codes seen so far (camera switched or viewfinder restarted).
#[tauri::command]
pub async fn camera_reset(camera: State<'_, Camera>) -> CmdResult<()> {
    camera.reset();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkin_scan::synthetic;

    #[test]
    fn only_the_camera_is_allowed() {
        assert!(matches!(
            permission(PermissionKind::Camera),
            PermissionResponse::Allow
        ));
        for k in [
            PermissionKind::Microphone,
            PermissionKind::DisplayCapture,
            PermissionKind::Geolocation,
            PermissionKind::Notifications,
            PermissionKind::Other,
        ] {
            assert!(matches!(permission(k), PermissionResponse::Deny), "{k:?}");
        }
    }

    #[test]
    fn a_code_held_in_view_is_one_scan_until_it_has_been_away() {
        let inner = Mutex::new(Decoding::default());
        let frame = synthetic::webcam_frame(200.0, 7);
        let t0 = Utc::now();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        let (first, _) = Camera::decode_now(&inner, 1280, 720, &frame, at(0)).unwrap();
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(first[0].fresh);
        assert!(first[0].text.is_some());
        // Seen again and again while held still: not fresh.
        for ms in [100, 1500, 4000] {
            let (again, _) = Camera::decode_now(&inner, 1280, 720, &frame, at(ms)).unwrap();
            assert!(again.iter().all(|c| !c.fresh), "{ms} ms: {again:?}");
        }
        // Away for longer than the window, then shown again: a new scan.
        let (back, _) =
            Camera::decode_now(&inner, 1280, 720, &frame, at(4000 + DEDUP_WINDOW_MS + 10)).unwrap();
        assert!(back[0].fresh);
        // An empty frame finds nothing.
        let empty = synthetic::background(1280, 720, 4.0, 3);
        let (none, _) = Camera::decode_now(&inner, 1280, 720, &empty, at(9000)).unwrap();
        assert!(none.is_empty());
    }
}
