//! QR decoding for the desk: webcam frames and image files.
//!
//! Built on `rxing` (a pure-Rust port of ZXing and ZXing-C++), tuned by
//! measurement on the ZXing black-box photos (see `docs/scanning.md`):
//! a cheap first pass, then fallback passes (other binarisers, the other
//! detector, scales, sharpening, smoothing, contrast stretch, inversion)
//! only when it fails. Every decoder call runs under `catch_unwind`, so a
//! decoder bug on a strange frame is a miss, never a crash.
//!
//! Results are byte-exact: [`Decoded::text`] is set only when the code says
//! unambiguously how to read its bytes (see `payload.rs`); otherwise the raw
//! bytes are returned and the text is `None`, never a guessed string.
//!
//! The decoder turns pixels into text and knows nothing of badges, the
//! store or the event: it must never depend on `checkin-core` or any other
//! crate of this workspace. Only the `synthetic` feature (frames with a
//! signed badge on them, for tests and benchmarks) borrows the core's
//! badge signing and QR matrix.

mod dedup;
mod payload;
mod prep;
#[cfg(feature = "synthetic")]
#[doc(hidden)]
pub mod synthetic;

use std::panic::{AssertUnwindSafe, catch_unwind};

use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{
    BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8Source, RXingResult, RXingResultMetadataType,
    RXingResultMetadataValue, Reader, multi::MultipleBarcodeReader,
};

pub use dedup::ScanDeduper;
/// The rule for a byte segment without a declared character set (UTF-8, or
/// strict Shift_JIS; otherwise no text). Public for the fuzz targets.
pub use payload::text_of_undeclared as text_of_bytes;
use prep::Grey;

/// One QR code found in an image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decoded {
    /// The content as text, when the code says unambiguously how to read it
    /// (numeric/alphanumeric/kanji modes, a declared character set, UTF-8 or
    /// strict Shift_JIS bytes). `None`: the bytes are not text we can name;
    /// treat the code as unreadable rather than guess.
    pub text: Option<String>,
    /// The content's bytes: the UTF-8 of `text` when there is text,
    /// otherwise the raw bytes as stored in the code.
    pub bytes: Vec<u8>,
    /// The code's outline in image pixels, clockwise from the top-left
    /// corner of the symbol as printed (approximate for strongly warped codes),
    /// for the UI to flash.
    pub corners: [(f32, f32); 4],
    /// Which decoding pass found it (for diagnostics and benchmarks).
    pub pass: &'static str,
}

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// One live webcam frame, every frame pass (about 5–7 ms on a 1280×720
    /// frame); a stream should use [`FrameDecoder`], which spreads these
    /// passes over successive frames.
    Frame,
    /// Photos and files: every fallback pass until one reads the code.
    #[default]
    Thorough,
}

/// Why an image could not be looked at (a code that is not found is not an
/// error: the result is empty).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(
        "the frame is {width}×{height} but has {len} bytes instead of width × height; pass 8-bit grey pixels, row by row"
    )]
    FrameSize { width: u32, height: u32, len: usize },
    #[error("could not read the image ({0}); use a PNG or JPEG file")]
    Image(#[from] image::ImageError),
}

/// Decodes the QR codes in an 8-bit grey frame (row-major, `width × height`
/// bytes), trying every fallback. See [`decode_luma_with`].
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> Result<Vec<Decoded>, ScanError> {
    decode_luma_with(width, height, luma, Effort::Thorough)
}

/// Decodes the QR codes in an 8-bit grey frame with the given effort.
/// Returns every code the first successful pass read (several codes in one
/// picture are all returned), or an empty list.
pub fn decode_luma_with(
    width: u32,
    height: u32,
    luma: &[u8],
    effort: Effort,
) -> Result<Vec<Decoded>, ScanError> {
    check_size(width, height, luma)?;
    if width < 21 || height < 21 {
        return Ok(Vec::new());
    }
    let grey = Grey::borrowed(width as usize, height as usize, luma);
    let passes = match effort {
        Effort::Frame if width as usize * height as usize <= 640 * 480 => SMALL_FRAME_PASSES,
        Effort::Frame => FRAME_PASSES,
        Effort::Thorough => THOROUGH_PASSES,
    };
    Ok(run_passes(&grey, passes))
}

/// Decodes a live camera stream frame by frame within a few milliseconds
/// each, on the caller's thread (run it off the UI thread).
///
/// Every frame gets the cheap pass (local binariser at half resolution,
/// which reads ordinary badge codes); the costlier frame passes (full
/// resolution for codes down to 3.5 px per module, light-on-dark for phone
/// screens) take turns, one per frame, so each is tried at least every
/// other frame (within 70 ms at 30 frames per second) while no frame pays
/// for all of them. Use [`ScanDeduper`] on the results.
#[derive(Debug, Default, Clone)]
pub struct FrameDecoder {
    turn: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        FrameDecoder::default()
    }

    /// Decodes one 8-bit grey frame (row-major, `width × height` bytes).
    pub fn decode(&mut self, width: u32, height: u32, luma: &[u8]) -> Result<Vec<Decoded>, ScanError> {
        check_size(width, height, luma)?;
        if width < 21 || height < 21 {
            return Ok(Vec::new());
        }
        let grey = Grey::borrowed(width as usize, height as usize, luma);
        let passes = if width as usize * height as usize <= 640 * 480 {
            SMALL_FRAME_PASSES
        } else {
            FRAME_PASSES
        };
        let rotating = &passes[1..];
        let pick = [passes[0], rotating[self.turn % rotating.len()]];
        self.turn = self.turn.wrapping_add(1);
        Ok(run_passes(&grey, &pick))
    }
}

fn check_size(width: u32, height: u32, luma: &[u8]) -> Result<(), ScanError> {
    if luma.len() != width as usize * height as usize {
        return Err(ScanError::FrameSize {
            width,
            height,
            len: luma.len(),
        });
    }
    Ok(())
}

/// Decodes the QR codes in an image file's bytes (PNG or JPEG), trying the
/// grey image first and then each colour channel.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<Decoded>, ScanError> {
    let img = image::load_from_memory(bytes)?;
    let luma = img.to_luma8();
    let (w, h) = luma.dimensions();
    let found = decode_luma(w, h, luma.as_raw())?;
    if !found.is_empty() || w < 21 || h < 21 {
        return Ok(found);
    }
    if img.color().has_color() {
        let rgb = img.to_rgb8();
        for c in 0..3 {
            let channel: Vec<u8> = rgb.pixels().map(|p| p.0[c]).collect();
            let grey = Grey::new(w as usize, h as usize, channel);
            let found = run_passes(&grey, CHANNEL_PASSES);
            if !found.is_empty() {
                return Ok(found);
            }
        }
    }
    Ok(Vec::new())
}

/// An image transform before binarisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prep {
    Plain,
    Half,
    Double,
    Invert,
    HalfInvert,
    Sharpen,
    Smooth,
    Stretch,
    Otsu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bin {
    /// ZXing's local (8×8 block) binariser.
    Hybrid,
    /// One threshold per row from the histogram: the cheapest.
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detector {
    /// The ZXing-C++ port (concentric finder patterns, 4-corner outline).
    Cpp,
    /// The ZXing-Java port, with try-harder.
    Java,
}

/// One decoding attempt: transform, binariser, detector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    pub name: &'static str,
    pub prep: Prep,
    pub bin: Bin,
    pub det: Detector,
}

const fn pass(name: &'static str, prep: Prep, bin: Bin, det: Detector) -> Pass {
    Pass { name, prep, bin, det }
}

use Bin::{Global, Hybrid};
use Detector::{Cpp, Java};
use Prep::*;

/// Live frames larger than 640×480 (CPU time on 1280×720, one core, busy
/// machine): the local binariser at half resolution (1.5–2.5 ms, reads codes
/// down to about 4 px per module), the cheap global binariser at full
/// resolution (2–3.5 ms, reads the small codes), light-on-dark codes (phone
/// screens in dark mode) at half resolution (1–1.7 ms). [`FrameDecoder`]
/// runs the first on every frame and the others in turn.
const FRAME_PASSES: &[Pass] = &[
    pass("cpp-hybrid-half", Half, Hybrid, Cpp),
    pass("cpp-global", Plain, Global, Cpp),
    pass("cpp-global-half-invert", HalfInvert, Global, Cpp),
];

/// Live frames up to 640×480: full resolution is cheap enough.
const SMALL_FRAME_PASSES: &[Pass] = &[
    pass("cpp-hybrid", Plain, Hybrid, Cpp),
    pass("cpp-hybrid-invert", Invert, Hybrid, Cpp),
];

const THOROUGH_PASSES: &[Pass] = &[
    pass("cpp-hybrid", Plain, Hybrid, Cpp),
    pass("java-hybrid", Plain, Hybrid, Java),
    pass("cpp-global", Plain, Global, Cpp),
    pass("java-global", Plain, Global, Java),
    pass("cpp-hybrid-sharpen", Sharpen, Hybrid, Cpp),
    pass("cpp-hybrid-smooth", Smooth, Hybrid, Cpp),
    pass("cpp-hybrid-half", Half, Hybrid, Cpp),
    pass("cpp-hybrid-double", Double, Hybrid, Cpp),
    pass("cpp-hybrid-stretch", Stretch, Hybrid, Cpp),
    pass("cpp-otsu", Otsu, Global, Cpp),
    pass("cpp-hybrid-invert", Invert, Hybrid, Cpp),
];

const CHANNEL_PASSES: &[Pass] = &[
    pass("channel-cpp-hybrid", Plain, Hybrid, Cpp),
    pass("channel-java-hybrid", Plain, Hybrid, Java),
];

/// All passes known, for the measurement tool.
#[doc(hidden)]
pub fn pass_names() -> Vec<&'static str> {
    ALL_PASSES.iter().map(|p| p.name).collect()
}

const ALL_PASSES: &[Pass] = &[
    pass("cpp-hybrid", Plain, Hybrid, Cpp),
    pass("java-hybrid", Plain, Hybrid, Java),
    pass("cpp-global", Plain, Global, Cpp),
    pass("java-global", Plain, Global, Java),
    pass("cpp-hybrid-sharpen", Sharpen, Hybrid, Cpp),
    pass("java-hybrid-sharpen", Sharpen, Hybrid, Java),
    pass("cpp-hybrid-smooth", Smooth, Hybrid, Cpp),
    pass("java-hybrid-smooth", Smooth, Hybrid, Java),
    pass("cpp-hybrid-half", Half, Hybrid, Cpp),
    pass("java-hybrid-half", Half, Hybrid, Java),
    pass("cpp-hybrid-double", Double, Hybrid, Cpp),
    pass("java-hybrid-double", Double, Hybrid, Java),
    pass("cpp-hybrid-stretch", Stretch, Hybrid, Cpp),
    pass("cpp-otsu", Otsu, Global, Cpp),
    pass("java-otsu", Otsu, Global, Java),
    pass("cpp-hybrid-invert", Invert, Hybrid, Cpp),
    pass("cpp-global-half", Half, Global, Cpp),
    pass("cpp-global-double", Double, Global, Cpp),
    pass("cpp-global-half-invert", HalfInvert, Global, Cpp),
];

/// Runs one named pass on a grey image (measurement tool only).
#[doc(hidden)]
pub fn decode_with_pass(width: u32, height: u32, luma: &[u8], name: &str) -> Vec<Decoded> {
    let Some(p) = ALL_PASSES.iter().find(|p| p.name == name) else {
        return Vec::new();
    };
    let grey = Grey::borrowed(width as usize, height as usize, luma);
    run_pass(&grey, p)
}

/// The first pass that reads a code as text wins; a code read only as
/// bytes (text `None`) is kept in case no later pass reads it as text (the
/// Java detector reports byte segments apart from kanji/hanzi segments, so
/// it can name text the C++ detector's flat bytes cannot).
fn run_passes(grey: &Grey, passes: &[Pass]) -> Vec<Decoded> {
    let mut bytes_only = Vec::new();
    for p in passes {
        let found = run_pass(grey, p);
        if found.iter().any(|d| d.text.is_some()) {
            return found;
        }
        if bytes_only.is_empty() {
            bytes_only = found;
        }
    }
    bytes_only
}

fn run_pass(grey: &Grey, p: &Pass) -> Vec<Decoded> {
    let (img, scale) = match p.prep {
        Plain => (None, 1.0),
        Half => (Some(grey.half()), 2.0),
        Double => {
            if grey.width * grey.height > 1_000_000 {
                return Vec::new();
            }
            (Some(grey.double()), 0.5)
        }
        Invert => (Some(grey.inverted()), 1.0),
        HalfInvert => (Some(grey.half().inverted()), 2.0),
        Sharpen => (Some(grey.sharpened()), 1.0),
        Smooth => (Some(grey.smoothed()), 1.0),
        Stretch => (Some(grey.stretched()), 1.0),
        Otsu => (Some(grey.thresholded(grey.otsu())), 1.0),
    };
    let img = img.as_ref().unwrap_or(grey);
    if img.width < 21 || img.height < 21 {
        return Vec::new();
    }
    let results = catch_unwind(AssertUnwindSafe(|| read(img, p.bin, p.det))).unwrap_or_default();
    results
        .iter()
        .filter(|r| *r.getBarcodeFormat() == BarcodeFormat::QR_CODE)
        .filter_map(|r| {
            let (text, bytes) = content(r, p.det)?;
            Some(Decoded {
                text,
                bytes,
                corners: corners(r, p.det, scale),
                pass: p.name,
            })
        })
        .collect()
}

fn read(img: &Grey, bin: Bin, det: Detector) -> Vec<RXingResult> {
    let Ok(source) = Luma8Source::new_with_slice(&img.data, img.width as u32, img.height as u32) else {
        return Vec::new();
    };
    match bin {
        Hybrid => read_bitmap(BinaryBitmap::new(HybridBinarizer::new(source)), det),
        Global => read_bitmap(BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), det),
    }
}

/// Every code the detector finds (the C++ port finds several per image).
fn read_bitmap<B: Binarizer>(mut bitmap: BinaryBitmap<B>, det: Detector) -> Vec<RXingResult> {
    let mut hints = DecodeHints {
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        ..DecodeHints::default()
    };
    match det {
        Cpp => QrReader
            .decode_multiple_with_hints(&mut bitmap, &hints)
            .unwrap_or_default(),
        Java => {
            hints.TryHarder = Some(true);
            QRCodeReader
                .decode_with_hints(&mut bitmap, &hints)
                .into_iter()
                .collect()
        }
    }
}

/// The symbology identifier's modifier says whether the code declared its
/// character set with an ECI (`]Q2`, `]Q4`, `]Q6`).
fn has_eci(result: &RXingResult) -> bool {
    match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => {
            matches!(s.as_str(), "]Q2" | "]Q4" | "]Q6")
        }
        _ => false,
    }
}

/// (text, bytes) by the rules in `payload.rs`; `None` when the result is not
/// to be trusted at all.
fn content(result: &RXingResult, det: Detector) -> Option<(Option<String>, Vec<u8>)> {
    let text = result.getText();
    if has_eci(result) {
        // Read in the declared character set.
        return Some((Some(text.to_string()), text.as_bytes().to_vec()));
    }
    match det {
        // The C++ port returns the content's bytes as stored.
        Cpp => {
            let raw = result.getRawBytes();
            match payload::text_of_undeclared(raw) {
                Some(t) if t == text => {
                    let bytes = t.as_bytes().to_vec();
                    Some((Some(t), bytes))
                }
                // Our reading and the decoder's disagree: bytes only.
                _ => Some((None, raw.to_vec())),
            }
        }
        // The Java port returns codewords; its byte segments are in the metadata.
        Java => {
            let segments = match result
                .getRXingResultMetadata()
                .get(&RXingResultMetadataType::BYTE_SEGMENTS)
            {
                Some(RXingResultMetadataValue::ByteSegments(s)) => s.clone(),
                _ => Vec::new(),
            };
            let all_read = segments.iter().all(|seg| match payload::text_of_undeclared(seg) {
                Some(t) => text.contains(&t),
                None => false,
            });
            if all_read {
                Some((Some(text.to_string()), text.as_bytes().to_vec()))
            } else {
                Some((None, segments.concat()))
            }
        }
    }
}

/// The same four points, the first kept first, the others in clockwise order
/// around their centre (image coordinates: y down), so the outline never
/// crosses itself.
fn clockwise(pts: [(f32, f32); 4]) -> [(f32, f32); 4] {
    let cx = pts.iter().map(|p| p.0).sum::<f32>() / 4.0;
    let cy = pts.iter().map(|p| p.1).sum::<f32>() / 4.0;
    let angle = |p: &(f32, f32)| {
        let a = (p.1 - cy).atan2(p.0 - cx) - (pts[0].1 - cy).atan2(pts[0].0 - cx);
        a.rem_euclid(std::f32::consts::TAU)
    };
    let mut out = pts;
    out.sort_by(|a, b| angle(a).total_cmp(&angle(b)));
    out
}

/// The symbol's four corners, clockwise from its top-left, in the caller's
/// pixel coordinates.
fn corners(result: &RXingResult, det: Detector, scale: f32) -> [(f32, f32); 4] {
    let p: Vec<(f32, f32)> = result
        .getPoints()
        .iter()
        .map(|p| (p.x * scale, p.y * scale))
        .collect();
    match (det, p.len()) {
        (Cpp, 4..) => clockwise([p[0], p[1], p[2], p[3]]),
        (_, 3..) => {
            // Finder-pattern centres: bottom-left, top-left, top-right. Their
            // corners lie about 3.5 modules further out; a version-3 code
            // (29 modules) is assumed for the module size.
            let (bl, tl, tr) = (p[0], p[1], p[2]);
            let k = 3.5 / 22.0;
            let out = |c: (f32, f32), a: (f32, f32), b: (f32, f32)| {
                (
                    c.0 + (c.0 - a.0) * k + (c.0 - b.0) * k,
                    c.1 + (c.1 - a.1) * k + (c.1 - b.1) * k,
                )
            };
            let br = (tr.0 + bl.0 - tl.0, tr.1 + bl.1 - tl.1);
            [out(tl, tr, bl), out(tr, tl, br), out(br, bl, tr), out(bl, br, tl)]
        }
        _ => {
            let first = p.first().copied().unwrap_or_default();
            [first; 4]
        }
    }
}
