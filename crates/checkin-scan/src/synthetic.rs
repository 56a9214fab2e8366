//! Deterministic synthetic camera frames for tests and benchmarks: a QR
//! code drawn at any (fractional) module size into a grey frame with an
//! uneven background and sensor noise.

use checkin_core::badge;

/// A deterministic xorshift generator (no dependency, same frames everywhere).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Roughly normal noise in -2σ..2σ (sum of four uniforms).
    fn noise(&mut self, sigma: f32) -> f32 {
        let s: f32 = (0..4).map(|_| (self.next() % 1000) as f32 / 1000.0).sum();
        (s - 2.0) * sigma * 1.7
    }
}

/// A `width × height` grey frame: a soft diagonal light gradient, a few
/// darker rectangles (a desk, a sleeve) and noise of `noise` grey levels.
pub fn background(width: usize, height: usize, noise: f32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let rects: Vec<(usize, usize, usize, usize, f32)> = (0..6)
        .map(|_| {
            let x = (rng.next() % width as u64) as usize;
            let y = (rng.next() % height as u64) as usize;
            let w = 40 + (rng.next() % (width as u64 / 3)) as usize;
            let h = 40 + (rng.next() % (height as u64 / 3)) as usize;
            let shade = 40.0 + (rng.next() % 120) as f32;
            (x, y, w, h, shade)
        })
        .collect();
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let mut v = 90.0 + 80.0 * (x + y) as f32 / (width + height) as f32;
            for &(rx, ry, rw, rh, shade) in &rects {
                if x >= rx && x < rx + rw && y >= ry && y < ry + rh {
                    v = v * 0.5 + shade * 0.5;
                }
            }
            v += rng.noise(noise);
            out.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Draws the QR code of `text` (with its 4-module quiet zone) into `frame`
/// with its top-left corner at (`x0`, `y0`) and `module` pixels per module
/// (fractional sizes are area-sampled), dark = `dark`, light = `light`.
#[allow(clippy::too_many_arguments)]
pub fn draw_qr(
    frame: &mut [u8],
    width: usize,
    text: &str,
    x0: f32,
    y0: f32,
    module: f32,
    dark: u8,
    light: u8,
) -> Result<(), badge::BadgeError> {
    let (n, modules) = badge::qr_matrix(text)?;
    let quiet = badge::QUIET_ZONE as f32;
    let total = (n as f32 + 2.0 * quiet) * module;
    let height = frame.len() / width;
    let (xs, ys) = (x0.max(0.0) as usize, y0.max(0.0) as usize);
    let (xe, ye) = (
        ((x0 + total).ceil() as usize).min(width),
        ((y0 + total).ceil() as usize).min(height),
    );
    const SS: usize = 4;
    for y in ys..ye {
        for x in xs..xe {
            let mut dark_hits = 0;
            for sy in 0..SS {
                for sx in 0..SS {
                    let px = x as f32 + (sx as f32 + 0.5) / SS as f32 - x0;
                    let py = y as f32 + (sy as f32 + 0.5) / SS as f32 - y0;
                    let mx = (px / module - quiet).floor();
                    let my = (py / module - quiet).floor();
                    if mx >= 0.0
                        && my >= 0.0
                        && (mx as usize) < n
                        && (my as usize) < n
                        && modules[my as usize * n + mx as usize]
                    {
                        dark_hits += 1;
                    }
                }
            }
            let f = dark_hits as f32 / (SS * SS) as f32;
            frame[y * width + x] = (light as f32 * (1.0 - f) + dark as f32 * f).round() as u8;
        }
    }
    Ok(())
}

/// A signed-looking badge token for tests and benchmarks (fixed key, so the
/// same every run).
pub fn sample_token(n: u128) -> String {
    let secret = [7u8; 32];
    badge::sign(
        &badge::BadgeClaims {
            key_id: 1,
            event_tag: badge::event_tag(uuid::Uuid::from_u128(42)),
            attendee_id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
            days_mask: badge::ALL_DAYS,
            issue: 0,
        },
        &secret,
    )
}

/// A 1280×720 webcam-like grey frame with one badge QR about `size` pixels
/// wide (quiet zone included) near the centre, or none when `size` is 0.
pub fn webcam_frame(size: f32, seed: u64) -> Vec<u8> {
    let (w, h) = (1280, 720);
    let mut frame = background(w, h, 6.0, seed);
    if size > 0.0 {
        let token = sample_token(seed as u128);
        let n =
            badge::qr_matrix(&token).map(|(n, _)| n).unwrap_or(41) as f32 + 2.0 * badge::QUIET_ZONE as f32;
        let module = size / n;
        let x0 = 500.0 + (seed % 97) as f32;
        let y0 = 200.0 + (seed % 53) as f32;
        let _ = draw_qr(&mut frame, w, &token, x0, y0, module, 30, 215);
    }
    frame
}
