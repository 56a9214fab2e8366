//! One scan per code: a badge held in front of the camera is seen in many
//! frames, and a hand scanner may send the same code twice.

use chrono::{DateTime, Duration, Utc};

/// Remembers recently seen codes so that the same code seen again within
/// `window` of its last sighting counts as one scan. The caller passes the
/// time (`now`); the deduper has no clock of its own.
#[derive(Debug, Clone)]
pub struct ScanDeduper {
    window: Duration,
    /// (code bytes, last seen), a handful at most.
    seen: Vec<(Vec<u8>, DateTime<Utc>)>,
}

impl ScanDeduper {
    /// Codes seen again within `window` of their last sighting are repeats.
    /// Three seconds suits a desk: long enough to cover a badge held still,
    /// short enough that a person scanning again on purpose is heard.
    pub fn new(window: Duration) -> Self {
        ScanDeduper {
            window,
            seen: Vec::new(),
        }
    }

    /// Whether `code` (a payload's bytes, or its text's bytes) is a new scan
    /// at `now`. Every sighting, new or repeat, restarts the code's window,
    /// so a badge held in view for a minute is one scan. A clock that jumps
    /// back counts as "just seen".
    pub fn is_new(&mut self, code: &[u8], now: DateTime<Utc>) -> bool {
        let window = self.window;
        self.seen
            .retain(|(_, at)| now.signed_duration_since(*at) < window);
        if let Some(entry) = self.seen.iter_mut().find(|(c, _)| c == code) {
            if now > entry.1 {
                entry.1 = now;
            }
            return false;
        }
        self.seen.push((code.to_vec(), now));
        true
    }

    /// Forgets every code (for example after the desk changes location).
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

impl Default for ScanDeduper {
    fn default() -> Self {
        ScanDeduper::new(Duration::seconds(3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, 7, 0, 0).unwrap() + Duration::milliseconds(ms)
    }

    #[test]
    fn same_code_within_the_window_is_one_scan() {
        let mut d = ScanDeduper::new(Duration::seconds(3));
        assert!(d.is_new(b"CKAAA", t(0)));
        assert!(!d.is_new(b"CKAAA", t(500)));
        assert!(d.is_new(b"CKBBB", t(600)), "another code is a new scan");
        // Held in view: every sighting extends the window.
        for ms in (1000..10_000).step_by(1000) {
            assert!(!d.is_new(b"CKAAA", t(ms)));
        }
        // Gone for longer than the window: a new scan.
        assert!(d.is_new(b"CKAAA", t(13_500)));
        // A clock that jumps back is not a new scan.
        assert!(!d.is_new(b"CKAAA", t(12_000)));
        d.clear();
        assert!(d.is_new(b"CKAAA", t(12_100)));
    }
}
