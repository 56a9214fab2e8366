//! Print-ready badge PDFs: Cyrillic names, the signed QR as vectors, three
//! layouts (A6 single badge, A4 sheets of 8 with cut marks, 62×100 mm label).
//!
//! Pure: [`render`] takes the event, the people with their signed tokens and
//! the options, and returns the PDF bytes. No clock, no files: the fonts
//! (Noto Sans 2.004, OFL, `assets/fonts/`) are compiled in, and krilla embeds
//! only the glyphs a document uses. Text is shaped with rustybuzz.
//!
//! Every drawing below works in millimetres (one page-level transform turns
//! them into PDF points). The QR is drawn in module units under one more
//! transform, dark modules as one path of row runs, inside a white square that
//! includes the 4-module quiet zone.
//!
//! This crate draws; it reads the core's model and asks the store which
//! badges a batch holds ([`render_badges`]), and nothing depends on it but the
//! shells that print (the app, the CLI). It must never depend on the sync
//! client, the server, the QR decoder or the table formats, and does no IO of
//! its own.

mod checklist;
mod proposals;
pub use checklist::{ChecklistLang, render_checklist};
pub use proposals::{ProposalEntry, ProposalsLang, render_island_proposals, render_proposals};

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use serde::Serialize;

use checkin_core::badge::{self, BadgeError, QUIET_ZONE};
use checkin_core::error::CoreError;
use checkin_core::model::{Category, Event};
use checkin_core::store::changes::PrintedBadge;
use checkin_core::store::{BadgeFilter, Store};

static REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Bold.ttf");

/// PDF points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;
/// Millimetres per typographic point (font sizes are given in points).
const MM_PER_PT: f32 = 25.4 / 72.0;
/// Baseline-to-baseline distance, in font sizes.
const LEADING: f32 = 1.15;
/// Progress is reported every this many badges (and at the end).
const PROGRESS_EVERY: usize = 100;

/// The badge layouts (the enum lives in the core: the print log names them).
pub use checkin_core::model::BadgeLayout as Layout;

/// Paper geometry of a [`Layout`].
pub trait LayoutGeometry {
    /// Badges on one page.
    fn per_page(self) -> usize;
    /// Page size in millimetres (width, height).
    fn page_mm(self) -> (f32, f32);
    /// Where the badges sit on a page, in the order they are filled:
    /// (left, top, width, height) in millimetres from the top-left corner.
    fn badge_cells_mm(self) -> Vec<(f32, f32, f32, f32)>;
}

impl LayoutGeometry for Layout {
    fn per_page(self) -> usize {
        let t = template(self);
        t.cols * t.rows
    }

    fn page_mm(self) -> (f32, f32) {
        let t = template(self);
        (t.page_w, t.page_h)
    }

    fn badge_cells_mm(self) -> Vec<(f32, f32, f32, f32)> {
        let t = template(self);
        (0..t.cols * t.rows)
            .map(|i| {
                let (col, row) = (i % t.cols, i / t.cols);
                (
                    t.origin.0 + col as f32 * t.badge_w,
                    t.origin.1 + row as f32 * t.badge_h,
                    t.badge_w,
                    t.badge_h,
                )
            })
            .collect()
    }
}

fn template(layout: Layout) -> &'static Template {
    match layout {
        Layout::A6 => &A6,
        Layout::A4x8 => &A4X8,
        Layout::Label62x100 => &LABEL,
    }
}

/// One badge to print: the person and their signed token (made by
/// [`Store::badges_to_print`]).
pub use checkin_core::store::BadgeData;

/// How to print.
#[derive(Debug, Clone)]
pub struct Options {
    pub layout: Layout,
    /// Optional event logo (PNG bytes), drawn in the badge header.
    pub logo_png: Option<Vec<u8>>,
}

impl Options {
    pub fn new(layout: Layout) -> Options {
        Options {
            layout,
            logo_png: None,
        }
    }
}

/// How far [`render`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Badges drawn so far.
    pub done: usize,
    pub total: usize,
    /// True once every badge is drawn and the file is being assembled
    /// (font subsetting, compression).
    pub finishing: bool,
}

/// What [`render`] made.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
    pub badges: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("nothing to print: no badge matches; check the filters (category, not printed, since)")]
    Empty,
    #[error("no proposals to print: check the island and the status chosen (declined ones are left out)")]
    NoProposals,
    #[error(
        "the logo could not be read as PNG ({0}); save it as a PNG file (RGB or RGBA, a few hundred pixels wide) and try again"
    )]
    Logo(String),
    #[error(transparent)]
    Qr(#[from] BadgeError),
    #[error("could not assemble the PDF ({0}); this is a bug, report it")]
    Write(String),
    /// Selecting or signing the badges of [`render_badges`] failed.
    #[error(transparent)]
    Store(#[from] CoreError),
}

impl PdfError {
    /// Stable error code for UIs and scripts: the store's own code when
    /// selecting or signing failed, otherwise `pdf`.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Store(e) => e.code(),
            _ => "pdf",
        }
    }
}

// ---- layouts ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Boxed {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

const fn bx(x: f32, y: f32, w: f32, h: f32) -> Boxed {
    Boxed { x, y, w, h }
}

/// Where everything goes, in millimetres. A badge's own coordinates start at
/// its top-left corner.
struct Template {
    page_w: f32,
    page_h: f32,
    cols: usize,
    rows: usize,
    badge_w: f32,
    badge_h: f32,
    /// Top-left corner of the first badge on the page.
    origin: (f32, f32),
    cut_marks: bool,
    /// Logo (left) and the event name and days.
    header: Boxed,
    logo_w: f32,
    event_pt: f32,
    days_pt: f32,
    /// Name, organization and position, one under the other.
    text: Boxed,
    name_pt: f32,
    org_pt: f32,
    position_pt: f32,
    /// QR square including its quiet zone.
    qr: (f32, f32, f32),
    /// The category band; its label is drawn inside.
    band: Boxed,
    band_pt: f32,
}

/// A4 portrait, 2 × 4 badges of 90×55 mm (business-card class).
static A4X8: Template = Template {
    page_w: 210.0,
    page_h: 297.0,
    cols: 2,
    rows: 4,
    badge_w: 90.0,
    badge_h: 55.0,
    origin: (15.0, 38.5),
    cut_marks: true,
    header: bx(4.0, 3.0, 82.0, 8.0),
    logo_w: 16.0,
    event_pt: 7.5,
    days_pt: 6.5,
    text: bx(4.0, 12.5, 53.0, 31.0),
    name_pt: 15.0,
    org_pt: 8.0,
    position_pt: 7.0,
    qr: (58.0, 12.0, 31.0),
    band: bx(0.0, 45.0, 90.0, 10.0),
    band_pt: 11.0,
};

/// A6 portrait, one badge per page.
static A6: Template = Template {
    page_w: 105.0,
    page_h: 148.0,
    cols: 1,
    rows: 1,
    badge_w: 105.0,
    badge_h: 148.0,
    origin: (0.0, 0.0),
    cut_marks: false,
    header: bx(7.0, 6.0, 91.0, 14.0),
    logo_w: 28.0,
    event_pt: 10.5,
    days_pt: 9.0,
    text: bx(7.0, 24.0, 91.0, 51.0),
    name_pt: 28.0,
    org_pt: 13.0,
    position_pt: 11.0,
    qr: (30.5, 77.0, 44.0),
    band: bx(0.0, 125.0, 105.0, 23.0),
    band_pt: 24.0,
};

/// 62×100 mm label, portrait.
static LABEL: Template = Template {
    page_w: 62.0,
    page_h: 100.0,
    cols: 1,
    rows: 1,
    badge_w: 62.0,
    badge_h: 100.0,
    origin: (0.0, 0.0),
    cut_marks: false,
    header: bx(4.0, 3.0, 54.0, 9.0),
    logo_w: 14.0,
    event_pt: 8.0,
    days_pt: 7.0,
    text: bx(4.0, 13.5, 54.0, 37.0),
    name_pt: 19.0,
    org_pt: 9.5,
    position_pt: 8.5,
    qr: (14.0, 52.0, 34.0),
    band: bx(0.0, 88.0, 62.0, 12.0),
    band_pt: 14.0,
};

// ---- text -------------------------------------------------------------------------------

/// A font twice over: krilla's for drawing, rustybuzz's for shaping.
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
    /// Ascender in em.
    ascent: f32,
}

impl Face {
    fn new(data: &'static [u8]) -> Result<Face, PdfError> {
        let font =
            Font::new(data.into(), 0).ok_or_else(|| PdfError::Write("bundled font unreadable".into()))?;
        let shaper = rustybuzz::Face::from_slice(data, 0)
            .ok_or_else(|| PdfError::Write("bundled font unreadable".into()))?;
        let ascent = shaper.ascender() as f32 / shaper.units_per_em() as f32;
        Ok(Face { font, shaper, ascent })
    }

    /// Shape one run of text (one script, left to right) at 1 em.
    fn shape(&self, text: &str) -> Shaped {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let out = rustybuzz::shape(&self.shaper, &[], buffer);
        let upem = self.shaper.units_per_em() as f32;
        let infos = out.glyph_infos();
        let positions = out.glyph_positions();
        let mut glyphs = Vec::with_capacity(infos.len());
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            let end = infos[i + 1..]
                .iter()
                .map(|n| n.cluster as usize)
                .find(|c| *c != start)
                .unwrap_or(text.len());
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / upem,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end,
                None,
            ));
        }
        Shaped {
            text: text.to_string(),
            glyphs,
        }
    }
}

/// Shaped text at 1 em (advances in em).
#[derive(Clone)]
struct Shaped {
    text: String,
    glyphs: Vec<KrillaGlyph>,
}

impl Shaped {
    fn width(&self, glyphs: Range<usize>) -> f32 {
        self.glyphs[glyphs].iter().map(|g| g.x_advance).sum()
    }

    /// Glyph indices of spaces, where a line may break.
    fn breaks(&self) -> Vec<usize> {
        self.glyphs
            .iter()
            .enumerate()
            .filter(|(_, g)| self.text[g.text_range.clone()].chars().all(char::is_whitespace))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Lines (glyph ranges) and the font size (mm) that fit a box.
struct Fitted {
    lines: Vec<Range<usize>>,
    size: f32,
}

/// The largest size up to `max_size` (mm) at which `s` fits `w` wide and
/// `max_lines` high, wrapping at spaces into at most two lines. Never cuts
/// text off: a long unbreakable name only gets smaller. Two lines are chosen
/// only when they allow a clearly larger size than one.
fn fit(s: &Shaped, w: f32, max_size: f32, max_lines: usize) -> Fitted {
    let n = s.glyphs.len();
    let whole = s.width(0..n);
    let one = if whole > 0.0 {
        (w / whole).min(max_size)
    } else {
        max_size
    };
    let mut best = Fitted {
        lines: std::iter::once(0..n).collect(),
        size: one,
    };
    if one >= max_size || max_lines < 2 {
        return best;
    }
    for b in s.breaks() {
        let (a, c) = (0..b, b + 1..n);
        let widest = s.width(a.clone()).max(s.width(c.clone()));
        if widest <= 0.0 {
            continue;
        }
        let size = (w / widest).min(max_size);
        if size > best.size * 1.08 && (best.lines.len() == 1 || size > best.size) {
            best = Fitted {
                lines: vec![a, c],
                size,
            };
        }
    }
    if max_lines > 2 {
        // More lines: the largest size at which greedy wrapping needs at most
        // `max_lines` lines (bisection on the size).
        let breaks = s.breaks();
        let wrap = |size: f32| -> Vec<Range<usize>> {
            let limit = w / size;
            let mut lines = Vec::new();
            let (mut start, mut last_fit) = (0, None);
            for &b in breaks.iter().chain(std::iter::once(&n)) {
                if s.width(start..b) <= limit {
                    last_fit = Some(b);
                } else if let Some(f) = last_fit {
                    lines.push(start..f);
                    start = f + 1;
                    last_fit = (s.width(start..b) <= limit).then_some(b);
                    if last_fit.is_none() {
                        return vec![0..0; max_lines + 1];
                    }
                } else {
                    return vec![0..0; max_lines + 1];
                }
            }
            lines.push(start..n);
            lines
        };
        let (mut lo, mut hi) = (best.size, max_size);
        for _ in 0..24 {
            let mid = (lo + hi) / 2.0;
            if wrap(mid).len() <= max_lines {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let lines = wrap(lo);
        if lo > best.size * 1.08 && lines.len() <= max_lines {
            best = Fitted { lines, size: lo };
        }
    }
    best
}

/// Shaping cache: organizations, positions and labels repeat across badges.
struct Shaper<'f> {
    face: &'f Face,
    cache: HashMap<String, Shaped>,
}

impl<'f> Shaper<'f> {
    fn new(face: &'f Face) -> Self {
        Shaper {
            face,
            cache: HashMap::new(),
        }
    }

    fn get(&mut self, text: &str) -> &Shaped {
        if !self.cache.contains_key(text) {
            let shaped = self.face.shape(text);
            self.cache.insert(text.to_string(), shaped);
        }
        &self.cache[text]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
}

/// Draws fitted text in the column `x`, `w` wide, with its top at `top`;
/// returns the height used.
fn draw_fitted(
    surface: &mut Surface<'_>,
    face: &Face,
    s: &Shaped,
    fitted: &Fitted,
    (x, w, top): (f32, f32, f32),
    align: Align,
) -> f32 {
    let size = fitted.size;
    for (i, line) in fitted.lines.iter().enumerate() {
        let line_w = s.width(line.clone()) * size;
        let dx = match align {
            Align::Left => 0.0,
            Align::Center => ((w - line_w) / 2.0).max(0.0),
        };
        let baseline = top + face.ascent * size + i as f32 * LEADING * size;
        surface.draw_glyphs(
            Point::from_xy(x + dx, baseline),
            &s.glyphs[line.clone()],
            face.font.clone(),
            &s.text,
            size,
            false,
        );
    }
    fitted.lines.len() as f32 * LEADING * size
}

// ---- colours and shapes -----------------------------------------------------------------

fn parse_color(hex: &str) -> (u8, u8, u8) {
    let h = hex.trim().trim_start_matches('#');
    let c = |i: usize| h.get(i..i + 2).and_then(|x| u8::from_str_radix(x, 16).ok());
    match (h.len(), c(0), c(2), c(4)) {
        (6, Some(r), Some(g), Some(b)) => (r, g, b),
        _ => (0x60, 0x60, 0x60),
    }
}

fn fill_of(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        ..Fill::default()
    }
}

fn black() -> Fill {
    fill_of(0, 0, 0)
}

/// Black or white, whichever reads better on `rgb`.
fn text_on(r: u8, g: u8, b: u8) -> Fill {
    let lum = 0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32;
    if lum > 150.0 {
        black()
    } else {
        fill_of(255, 255, 255)
    }
}

fn rect(surface: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, fill: Fill) {
    let mut pb = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x, y, w, h) {
        pb.push_rect(r);
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(fill));
        surface.draw_path(&path);
    }
}

/// The QR as vectors: a white square with the quiet zone, then each row's
/// dark runs as strokes one module wide (butt caps), in module units: one
/// transform scales the code to size, and each row's path sits under its own
/// translation, so every run reads `a 0 m b 0 l`. That repetition is what
/// makes a sheet of codes compress well: 10,000 badges stay under 12 MB,
/// where one path of rectangles with row coordinates took 30 MB.
fn draw_qr(surface: &mut Surface<'_>, width: usize, modules: &[bool], x: f32, y: f32, size: f32) {
    let total = (width + 2 * QUIET_ZONE) as f32;
    let module = size / total;
    let q = QUIET_ZONE as f32;
    surface.push_transform(&Transform::from_row(module, 0.0, 0.0, module, x, y));
    rect(surface, 0.0, 0.0, total, total, fill_of(255, 255, 255));
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: rgb::Color::new(0, 0, 0).into(),
        // A hair over one module, so that rows drawn as separate paths
        // overlap and no anti-aliased seam shows between them on screen.
        width: 1.04,
        line_cap: LineCap::Butt,
        ..Stroke::default()
    }));
    for (row, line) in modules.chunks(width).enumerate() {
        let mut pb = PathBuilder::new();
        let mut col = 0;
        while col < width {
            if !line[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < width && line[col] {
                col += 1;
            }
            pb.move_to(start as f32, 0.0);
            pb.line_to(col as f32, 0.0);
        }
        if let Some(path) = pb.finish() {
            surface.push_transform(&Transform::from_translate(q, q + row as f32 + 0.5));
            surface.draw_path(&path);
            surface.pop();
        }
    }
    surface.set_stroke(None);
    surface.pop();
}

fn draw_cut_marks(surface: &mut Surface<'_>, t: &Template) {
    let (x0, y0) = t.origin;
    let x1 = x0 + t.cols as f32 * t.badge_w;
    let y1 = y0 + t.rows as f32 * t.badge_h;
    let (gap, len) = (2.0, 7.0);
    let mut pb = PathBuilder::new();
    for c in 0..=t.cols {
        let x = x0 + c as f32 * t.badge_w;
        pb.move_to(x, y0 - gap - len);
        pb.line_to(x, y0 - gap);
        pb.move_to(x, y1 + gap);
        pb.line_to(x, y1 + gap + len);
    }
    for r in 0..=t.rows {
        let y = y0 + r as f32 * t.badge_h;
        pb.move_to(x0 - gap - len, y);
        pb.line_to(x0 - gap, y);
        pb.move_to(x1 + gap, y);
        pb.line_to(x1 + gap + len, y);
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            paint: rgb::Color::new(0, 0, 0).into(),
            width: 0.25 * MM_PER_PT,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

// ---- days -------------------------------------------------------------------------------

const MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// Dates as people write them on a badge: "2–3 июня 2026",
/// "30 июня – 1 июля 2026", "2, 4 июня 2026".
pub fn format_days(days: &[NaiveDate]) -> String {
    let mut days = days.to_vec();
    days.sort_unstable();
    days.dedup();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return String::new();
    };
    let same_year = first.year() == last.year();
    let day_month = |d: &NaiveDate| format!("{} {}", d.day(), MONTHS_GENITIVE[d.month0() as usize]);
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in &days {
        match ranges.last_mut() {
            Some((_, end)) if end.succ_opt() == Some(*d) => *end = *d,
            _ => ranges.push((*d, *d)),
        }
    }
    let mut out = String::new();
    for (i, (a, b)) in ranges.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let next_same_month = ranges
            .get(i + 1)
            .is_some_and(|(n, _)| n.month() == b.month() && n.year() == b.year());
        if a == b {
            if next_same_month {
                let _ = write!(out, "{}", a.day());
            } else {
                out.push_str(&day_month(a));
            }
        } else if a.month() == b.month() {
            if next_same_month {
                let _ = write!(out, "{}–{}", a.day(), b.day());
            } else {
                let _ = write!(out, "{}–{}", a.day(), day_month(b));
            }
        } else {
            let _ = write!(out, "{} – {}", day_month(a), day_month(b));
        }
        if !same_year {
            let _ = write!(out, " {}", b.year());
        }
    }
    if same_year {
        let _ = write!(out, " {}", first.year());
    }
    out
}

// ---- the document -----------------------------------------------------------------------

/// Everything shared by all badges of one document.
struct Common<'a> {
    t: &'static Template,
    regular: &'a Face,
    bold: &'a Face,
    logo: Option<(Image, f32, f32)>,
    event_name: Shaped,
    event_fit: Fitted,
    days: Shaped,
    days_fit: Fitted,
    header_x: f32,
    header_w: f32,
    categories: &'a [Category],
    event_days: &'a [NaiveDate],
}

/// Select, sign and render a batch in one call (the store's
/// [`Store::badges_to_print`], then [`render`]). Records nothing: call
/// [`Store::record_printed`] once the file went to the printer.
pub fn render_badges(
    store: &Store,
    filter: &BadgeFilter,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Rendered, Vec<PrintedBadge>), PdfError> {
    let badges = store.badges_to_print(filter)?;
    let event = store.event().ok_or(CoreError::NoEvent)?;
    let rendered = render(event, &badges, options, progress)?;
    let printed = badges
        .iter()
        .map(|b| PrintedBadge {
            attendee_id: b.attendee.id,
            issue: b.attendee.badge_issue,
        })
        .collect();
    Ok((rendered, printed))
}

/// Render badges into one PDF. `progress` is called every 100 badges and once
/// more when the file is being assembled.
pub fn render(
    event: &Event,
    badges: &[BadgeData],
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Rendered, PdfError> {
    if badges.is_empty() {
        return Err(PdfError::Empty);
    }
    let t = template(options.layout);
    let regular = Face::new(REGULAR_TTF)?;
    let bold = Face::new(BOLD_TTF)?;

    let logo = match &options.logo_png {
        None => None,
        Some(png) => {
            let image = Image::from_png(png.clone().into(), true).map_err(PdfError::Logo)?;
            let (pw, ph) = image.size();
            if pw == 0 || ph == 0 {
                return Err(PdfError::Logo("the image is empty".into()));
            }
            let (max_w, max_h) = (t.logo_w, t.header.h);
            let scale = (max_w / pw as f32).min(max_h / ph as f32);
            Some((image, pw as f32 * scale, ph as f32 * scale))
        }
    };
    let (header_x, header_w) = match &logo {
        Some((_, w, _)) => (t.header.x + w + 2.0, t.header.w - w - 2.0),
        None => (t.header.x, t.header.w),
    };
    let event_name = bold.shape(&event.name);
    let event_fit = fit(&event_name, header_w, t.event_pt * MM_PER_PT, 1);
    let days = regular.shape(&format_days(&event.days));
    let days_fit = fit(&days, header_w, t.days_pt * MM_PER_PT, 1);
    let common = Common {
        t,
        regular: &regular,
        bold: &bold,
        logo,
        event_name,
        event_fit,
        days,
        days_fit,
        header_x,
        header_w,
        categories: &event.categories,
        event_days: &event.days,
    };

    let mut doc = Document::new();
    let per_page = t.cols * t.rows;
    let page_size = PageSettings::from_wh(t.page_w * PT_PER_MM, t.page_h * PT_PER_MM)
        .ok_or_else(|| PdfError::Write("bad page size".into()))?;
    let mut regular_cache = Shaper::new(&regular);
    let mut bold_cache = Shaper::new(&bold);
    let mut pages = 0;
    // QR codes are made on worker threads (badge i on worker i % n) while
    // this thread lays out and draws; krilla compresses finished pages on
    // its own threads. A single badge needs no helpers.
    let workers = if badges.len() < 64 { 0 } else { QR_WORKERS };
    std::thread::scope(|scope| -> Result<(), PdfError> {
        let mut queues = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<QrResult>(256);
            scope.spawn(move || {
                for b in badges.iter().skip(w).step_by(workers) {
                    if tx.send(badge::qr_matrix(&b.token)).is_err() {
                        break;
                    }
                }
            });
            queues.push(rx);
        }
        let next_qr = |i: usize, token: &str| -> QrResult {
            match queues.get(i % workers.max(1)) {
                Some(rx) => rx
                    .recv()
                    .map_err(|_| BadgeError::QrTooLong(token.len()))
                    .and_then(|r| r),
                None => badge::qr_matrix(token),
            }
        };
        for (p, chunk) in badges.chunks(per_page).enumerate() {
            let mut page = doc.start_page_with(page_size.clone());
            let mut surface = page.surface();
            surface.push_transform(&Transform::from_scale(PT_PER_MM, PT_PER_MM));
            if t.cut_marks {
                draw_cut_marks(&mut surface, t);
            }
            for (i, b) in chunk.iter().enumerate() {
                let done = p * per_page + i + 1;
                let (width, modules) = next_qr(done - 1, &b.token)?;
                let (col, row) = (i % t.cols, i / t.cols);
                let x = t.origin.0 + col as f32 * t.badge_w;
                let y = t.origin.1 + row as f32 * t.badge_h;
                surface.push_transform(&Transform::from_translate(x, y));
                draw_badge(&mut surface, &common, b, &mut regular_cache, &mut bold_cache);
                let (qx, qy, qs) = t.qr;
                draw_qr(&mut surface, width, &modules, qx, qy, qs);
                surface.pop();
                if done.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        done,
                        total: badges.len(),
                        finishing: false,
                    });
                }
            }
            surface.pop();
            surface.finish();
            page.finish();
            pages += 1;
        }
        Ok(())
    })?;
    progress(Progress {
        done: badges.len(),
        total: badges.len(),
        finishing: true,
    });
    let pdf = doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))?;
    Ok(Rendered {
        pdf,
        pages,
        badges: badges.len(),
    })
}

type QrResult = Result<(usize, Vec<bool>), BadgeError>;

/// Threads making QR codes for a batch (the machine has at least two cores;
/// more workers than cores only adds switching).
const QR_WORKERS: usize = 2;

fn draw_badge(
    surface: &mut Surface<'_>,
    c: &Common<'_>,
    b: &BadgeData,
    regular: &mut Shaper<'_>,
    bold: &mut Shaper<'_>,
) {
    let t = c.t;
    let a = &b.attendee;

    // Header: logo, event name, days.
    if let Some((image, w, h)) = &c.logo
        && let Some(size) = Size::from_wh(*w, *h)
    {
        surface.push_transform(&Transform::from_translate(
            t.header.x,
            t.header.y + (t.header.h - h) / 2.0,
        ));
        surface.draw_image(image.clone(), size);
        surface.pop();
    }
    surface.set_fill(Some(fill_of(0x33, 0x33, 0x33)));
    let used = draw_fitted(
        surface,
        c.bold,
        &c.event_name,
        &c.event_fit,
        (c.header_x, c.header_w, t.header.y),
        Align::Left,
    );
    draw_fitted(
        surface,
        c.regular,
        &c.days,
        &c.days_fit,
        (c.header_x, c.header_w, t.header.y + used + 0.3),
        Align::Left,
    );

    // Name, organization, position: each fits its own share of the box, so
    // the whole block never overflows; shorter text moves the next one up.
    let text = t.text;
    let mut top = text.y;
    surface.set_fill(Some(black()));
    let name = c.bold.shape(&a.full_name);
    let name_fit = fit(&name, text.w, t.name_pt * MM_PER_PT, 2);
    top += draw_fitted(
        surface,
        c.bold,
        &name,
        &name_fit,
        (text.x, text.w, top),
        Align::Left,
    );
    top += t.name_pt * MM_PER_PT * 0.25;
    surface.set_fill(Some(fill_of(0x22, 0x22, 0x22)));
    if let Some(org) = a.organization.as_deref().filter(|s| !s.is_empty()) {
        let s = regular.get(org);
        let f = fit(s, text.w, t.org_pt * MM_PER_PT, 3);
        top += draw_fitted(surface, c.regular, s, &f, (text.x, text.w, top), Align::Left);
        top += t.org_pt * MM_PER_PT * 0.2;
    }
    if let Some(pos) = a.position.as_deref().filter(|s| !s.is_empty()) {
        surface.set_fill(Some(fill_of(0x55, 0x55, 0x55)));
        let s = regular.get(pos);
        let f = fit(s, text.w, t.position_pt * MM_PER_PT, 2);
        draw_fitted(surface, c.regular, s, &f, (text.x, text.w, top), Align::Left);
    }

    // Category band with its label; restricted days on the right.
    let category = c.categories.iter().find(|k| k.code == a.category);
    let (r, g, bl) = parse_color(category.map(|k| k.color.as_str()).unwrap_or("#606060"));
    let band = t.band;
    rect(surface, band.x, band.y, band.w, band.h, fill_of(r, g, bl));
    let label = category
        .map(|k| k.label_ru.to_uppercase())
        .unwrap_or_else(|| a.category.to_uppercase());
    let pad = 4.0_f32.min(band.w * 0.06);
    let restricted = !a.days.is_empty() && a.days.len() < c.event_days.len();
    let mut label_w = band.w - 2.0 * pad;
    let ink = text_on(r, g, bl);
    if restricted {
        let d = regular.get(&format!("только {}", format_days(&a.days))).clone();
        let size = (t.band_pt * 0.55) * MM_PER_PT;
        let f = fit(&d, band.w * 0.4, size, 1);
        let w = d.width(0..d.glyphs.len()) * f.size;
        surface.set_fill(Some(ink.clone()));
        let top = band.y + (band.h - f.size) / 2.0 - 0.15 * f.size;
        draw_fitted(
            surface,
            c.regular,
            &d,
            &f,
            (band.x + band.w - pad - w, w, top),
            Align::Left,
        );
        label_w -= w + 2.0;
    }
    let s = bold.get(&label);
    let f = fit(s, label_w, t.band_pt * MM_PER_PT, 1);
    surface.set_fill(Some(ink));
    let top = band.y + (band.h - f.size) / 2.0 - 0.2 * f.size;
    let align = if restricted { Align::Left } else { Align::Center };
    let x = if restricted { band.x + pad } else { band.x };
    let w = if restricted { label_w } else { band.w };
    draw_fitted(surface, c.bold, s, &f, (x, w, top), align);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn days_read_like_a_badge() {
        assert_eq!(format_days(&[d(6, 3), d(6, 2)]), "2–3 июня 2026");
        assert_eq!(format_days(&[d(6, 2)]), "2 июня 2026");
        assert_eq!(format_days(&[d(6, 30), d(7, 1)]), "30 июня – 1 июля 2026");
        assert_eq!(format_days(&[d(6, 2), d(6, 4)]), "2, 4 июня 2026");
        assert_eq!(format_days(&[d(6, 2), d(6, 3), d(7, 9)]), "2–3 июня, 9 июля 2026");
        assert_eq!(format_days(&[]), "");
    }

    #[test]
    fn layouts_parse_and_fit_their_pages() {
        for l in Layout::ALL {
            assert_eq!(Layout::parse(l.as_str()), Some(l));
            let t = template(l);
            assert!(t.origin.0 + t.cols as f32 * t.badge_w <= t.page_w);
            assert!(t.origin.1 + t.rows as f32 * t.badge_h <= t.page_h);
            let (qx, qy, qs) = t.qr;
            assert!(
                qx + qs <= t.badge_w && qy + qs <= t.band.y,
                "{l}: QR overlaps the band"
            );
            assert!(t.text.y + t.text.h <= t.band.y);
            // Name (2 lines), organization (3), position (2) fit the text box at full size.
            let need = ((2.0 * LEADING + 0.25) * t.name_pt
                + (3.0 * LEADING + 0.2) * t.org_pt
                + 2.0 * LEADING * t.position_pt)
                * MM_PER_PT;
            assert!(
                need <= t.text.h + 0.5,
                "{l}: text box {} mm, needs {need} mm",
                t.text.h
            );
        }
        assert_eq!(Layout::parse("a5"), None);
        assert_eq!(Layout::A4x8.per_page(), 8);
    }

    #[test]
    fn long_names_wrap_then_shrink_never_overflow() {
        let face = Face::new(BOLD_TTF).unwrap();
        let w = 53.0;
        let max = 15.0 * MM_PER_PT;
        let short = face.shape("Иванов Иван");
        let f = fit(&short, w, max, 2);
        assert_eq!(f.lines.len(), 1);
        assert_eq!(f.size, max);
        let long = face.shape("Константинопольская-Задунайская Анастасия-Виктория Александровна");
        let f = fit(&long, w, max, 2);
        assert_eq!(f.lines.len(), 2);
        for line in &f.lines {
            assert!(long.width(line.clone()) * f.size <= w + 1e-3);
        }
        let word = face.shape("Оченьдлиннаяфамилиябезпробеловникакнепереносится");
        let f = fit(&word, w, max, 2);
        assert_eq!(f.lines.len(), 1);
        assert!(word.width(0..word.glyphs.len()) * f.size <= w + 1e-3);
        assert!(f.size < max);
        let org = Face::new(REGULAR_TTF).unwrap().shape(
            "Федеральное государственное бюджетное образовательное учреждение высшего образования \
             «Московский государственный университет имени М. В. Ломоносова»",
        );
        let two = fit(&org, w, max, 2);
        let three = fit(&org, w, max, 3);
        assert_eq!(three.lines.len(), 3);
        assert!(three.size > two.size);
        for line in &three.lines {
            assert!(org.width(line.clone()) * three.size <= w + 1e-3);
        }
        let covered: usize = three.lines.iter().map(|l| l.len()).sum::<usize>() + 2;
        assert_eq!(
            covered,
            org.glyphs.len(),
            "every glyph but the two breaking spaces is drawn"
        );
    }
}
