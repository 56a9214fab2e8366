//! Cheap grey-image transforms the decoder's fallback passes use: scaling,
//! inversion, sharpening, smoothing and contrast stretching. All work on
//! row-major 8-bit luma buffers and allocate a new buffer.

use std::borrow::Cow;

/// A row-major 8-bit grey image, borrowed from the caller or made here.
#[derive(Debug, Clone)]
pub(crate) struct Grey<'a> {
    pub width: usize,
    pub height: usize,
    pub data: Cow<'a, [u8]>,
}

impl<'a> Grey<'a> {
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Grey<'static> {
        debug_assert_eq!(data.len(), width * height);
        Grey {
            width,
            height,
            data: Cow::Owned(data),
        }
    }

    pub fn borrowed(width: usize, height: usize, data: &'a [u8]) -> Grey<'a> {
        debug_assert_eq!(data.len(), width * height);
        Grey {
            width,
            height,
            data: Cow::Borrowed(data),
        }
    }

    /// Half size, each pixel the mean of a 2×2 block.
    pub fn half(&self) -> Grey<'static> {
        let (w, h) = (self.width / 2, self.height / 2);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            let r0 = &self.data[2 * y * self.width..];
            let r1 = &self.data[(2 * y + 1) * self.width..];
            for x in 0..w {
                let s = r0[2 * x] as u16 + r0[2 * x + 1] as u16 + r1[2 * x] as u16 + r1[2 * x + 1] as u16;
                out.push(((s + 2) / 4) as u8);
            }
        }
        Grey::new(w, h, out)
    }

    /// Double size, bilinear.
    pub fn double(&self) -> Grey<'static> {
        let (w, h) = (self.width * 2, self.height * 2);
        let mut out = vec![0u8; w * h];
        let px = |x: usize, y: usize| {
            self.data[y.min(self.height - 1) * self.width + x.min(self.width - 1)] as u16
        };
        for y in 0..h {
            let (sy, fy) = (y / 2, y % 2);
            for x in 0..w {
                let (sx, fx) = (x / 2, x % 2);
                let v = match (fx, fy) {
                    (0, 0) => 4 * px(sx, sy),
                    (1, 0) => 2 * (px(sx, sy) + px(sx + 1, sy)),
                    (0, _) => 2 * (px(sx, sy) + px(sx, sy + 1)),
                    _ => px(sx, sy) + px(sx + 1, sy) + px(sx, sy + 1) + px(sx + 1, sy + 1),
                };
                out[y * w + x] = ((v + 2) / 4) as u8;
            }
        }
        Grey::new(w, h, out)
    }

    /// Light on dark becomes dark on light.
    pub fn inverted(&self) -> Grey<'static> {
        Grey::new(
            self.width,
            self.height,
            self.data.iter().map(|v| 255 - v).collect(),
        )
    }

    /// 3×3 filter with integer `kernel` (row-major) divided by `div`; edges copied.
    fn filter3(&self, kernel: [i32; 9], div: i32) -> Grey<'static> {
        let (w, h) = (self.width, self.height);
        let mut out = self.data.to_vec();
        if w < 3 || h < 3 {
            return Grey::new(w, h, out);
        }
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let mut s = 0i32;
                for (k, weight) in kernel.iter().enumerate() {
                    let (dx, dy) = (k % 3, k / 3);
                    s += weight * self.data[(y + dy - 1) * w + x + dx - 1] as i32;
                }
                out[y * w + x] = (s / div).clamp(0, 255) as u8;
            }
        }
        Grey::new(w, h, out)
    }

    /// Unsharp-style sharpening.
    pub fn sharpened(&self) -> Grey<'static> {
        self.filter3([0, -1, 0, -1, 8, -1, 0, -1, 0], 4)
    }

    /// 3×3 box-ish smoothing against sensor noise and halftone dots.
    pub fn smoothed(&self) -> Grey<'static> {
        self.filter3([1, 2, 1, 2, 4, 2, 1, 2, 1], 16)
    }

    /// Stretches the 1st..99th percentile of grey levels to 0..255.
    pub fn stretched(&self) -> Grey<'static> {
        let mut hist = [0usize; 256];
        for &v in self.data.iter() {
            hist[v as usize] += 1;
        }
        let n = self.data.len();
        let (mut lo, mut hi, mut acc) = (0usize, 255usize, 0usize);
        for (i, c) in hist.iter().enumerate() {
            acc += c;
            if acc * 100 >= n {
                lo = i;
                break;
            }
        }
        acc = 0;
        for (i, c) in hist.iter().enumerate().rev() {
            acc += c;
            if acc * 100 >= n {
                hi = i;
                break;
            }
        }
        if hi <= lo + 1 {
            return Grey::new(self.width, self.height, self.data.to_vec());
        }
        let span = (hi - lo) as f32;
        let lut: Vec<u8> = (0..256)
            .map(|v| (((v as f32 - lo as f32) / span) * 255.0).clamp(0.0, 255.0) as u8)
            .collect();
        Grey::new(
            self.width,
            self.height,
            self.data.iter().map(|&v| lut[v as usize]).collect(),
        )
    }

    /// Thresholded at `t` into pure black and white.
    pub fn thresholded(&self, t: u8) -> Grey<'static> {
        Grey::new(
            self.width,
            self.height,
            self.data.iter().map(|&v| if v < t { 0 } else { 255 }).collect(),
        )
    }

    /// Otsu's global threshold.
    pub fn otsu(&self) -> u8 {
        let mut hist = [0u64; 256];
        for &v in self.data.iter() {
            hist[v as usize] += 1;
        }
        let total = self.data.len() as f64;
        let sum: f64 = hist.iter().enumerate().map(|(i, c)| i as f64 * *c as f64).sum();
        let (mut sum_b, mut w_b, mut best, mut best_t) = (0.0, 0.0, 0.0, 128u8);
        for (t, c) in hist.iter().enumerate() {
            w_b += *c as f64;
            if w_b == 0.0 {
                continue;
            }
            let w_f = total - w_b;
            if w_f == 0.0 {
                break;
            }
            sum_b += t as f64 * *c as f64;
            let (m_b, m_f) = (sum_b / w_b, (sum - sum_b) / w_f);
            let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
            if between > best {
                best = between;
                best_t = t as u8;
            }
        }
        best_t
    }
}
