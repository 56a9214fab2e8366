//! The paper fallback: an alphabetical A4 list per category with ticket
//! code, organization, the note for the desk and a tick box, for the moment
//! when every laptop is down. Revoked people are left out. Each category
//! starts on a new page; the column heads repeat on every page.

use krilla::Document;
use krilla::geom::{Rect, Transform};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;

use checkin_core::model::{Attendee, Event};

use super::{
    Align, Face, PT_PER_MM, PdfError, Rendered, Shaper, black, draw_fitted, fill_of, fit, parse_color, rect,
};

/// The language of the list's own words (names stay as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecklistLang {
    Ru,
    En,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 12.0;
const HEAD_H: f32 = 22.0;
const ROW_H: f32 = 7.0;
const FOOT_H: f32 = 8.0;
/// Text size in the rows, millimetres (about 9 pt); long text shrinks.
const ROW_TEXT: f32 = 3.2;

/// Columns: (x from the left margin, width), in millimetres.
const BOX: (f32, f32) = (0.0, 7.0);
const NUM: (f32, f32) = (7.0, 9.0);
const NAME: (f32, f32) = (16.0, 56.0);
const ORG: (f32, f32) = (73.0, 45.0);
const CODE: (f32, f32) = (119.0, 22.0);
const NOTE: (f32, f32) = (142.0, 44.0);

fn rows_per_page() -> usize {
    ((PAGE_H - 2.0 * MARGIN - HEAD_H - FOOT_H - ROW_H) / ROW_H) as usize
}

/// Sort key: lower case, ё as е (Russian dictionary order, close enough).
fn key(name: &str) -> String {
    name.to_lowercase().replace('ё', "е")
}

/// Render the checklist of `people` (all categories of `event` that have
/// someone in them, in the event's order; people of a category the event
/// does not list come last under their code).
pub fn render_checklist(
    event: &Event,
    people: &[Attendee],
    lang: ChecklistLang,
) -> Result<Rendered, PdfError> {
    /// Code, heading, band colour, people.
    type Group<'p> = (String, String, (u8, u8, u8), Vec<&'p Attendee>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for c in &event.categories {
        let label = match lang {
            ChecklistLang::Ru => format!("{} / {}", c.label_ru, c.label_en),
            ChecklistLang::En => format!("{} / {}", c.label_en, c.label_ru),
        };
        groups.push((c.code.clone(), label, parse_color(&c.color), Vec::new()));
    }
    for a in people.iter().filter(|a| !a.revoked) {
        match groups.iter_mut().find(|g| g.0 == a.category) {
            Some(g) => g.3.push(a),
            None => groups.push((
                a.category.clone(),
                a.category.clone(),
                (0x60, 0x7d, 0x8b),
                vec![a],
            )),
        }
    }
    groups.retain(|g| !g.3.is_empty());
    if groups.is_empty() {
        return Err(PdfError::Empty);
    }
    for g in &mut groups {
        g.3.sort_by_cached_key(|a| (key(&a.full_name), a.ticket_codes.first().cloned()));
    }

    let regular = Face::new(super::REGULAR_TTF)?;
    let bold = Face::new(super::BOLD_TTF)?;
    let mut reg = Shaper::new(&regular);
    let mut bld = Shaper::new(&bold);
    let words = Words::new(lang);
    let per_page = rows_per_page();
    let total_pages: usize = groups.iter().map(|g| g.3.len().div_ceil(per_page)).sum();
    let mut doc = Document::new();
    let settings = PageSettings::from_wh(PAGE_W * PT_PER_MM, PAGE_H * PT_PER_MM)
        .ok_or_else(|| PdfError::Write("bad page size".into()))?;
    let mut page_no = 0;
    let mut listed = 0;
    for (_, label, colour, list) in &groups {
        for (part, chunk) in list.chunks(per_page).enumerate() {
            page_no += 1;
            let mut page = doc.start_page_with(settings.clone());
            let mut s = page.surface();
            s.push_transform(&Transform::from_scale(PT_PER_MM, PT_PER_MM));
            s.push_transform(&Transform::from_translate(MARGIN, MARGIN));
            let width = PAGE_W - 2.0 * MARGIN;
            // Header: the category's band colour, the event, the category.
            rect(
                &mut s,
                0.0,
                0.0,
                4.0,
                HEAD_H - 4.0,
                fill_of(colour.0, colour.1, colour.2),
            );
            s.set_fill(Some(black()));
            let title = bld.get(&event.name).clone();
            let f = fit(&title, width - 8.0, 5.0, 1);
            draw_fitted(&mut s, &bold, &title, &f, (7.0, width - 8.0, 0.0), Align::Left);
            let sub = format!("{} — {label} — {} {}", words.title, list.len(), words.people);
            let sub_s = bld.get(&sub).clone();
            let f = fit(&sub_s, width - 8.0, 4.2, 1);
            draw_fitted(&mut s, &bold, &sub_s, &f, (7.0, width - 8.0, 6.5), Align::Left);
            let hint = if part == 0 {
                words.hint.to_string()
            } else {
                format!("{} ({})", words.hint, words.continued)
            };
            let hint_s = reg.get(&hint).clone();
            let f = fit(&hint_s, width - 8.0, 3.0, 1);
            draw_fitted(
                &mut s,
                &regular,
                &hint_s,
                &f,
                (7.0, width - 8.0, 12.5),
                Align::Left,
            );

            // Column heads.
            let top = HEAD_H;
            rect(&mut s, 0.0, top, width, ROW_H, fill_of(0xe8, 0xea, 0xed));
            s.set_fill(Some(black()));
            for (col, text) in [
                (NUM, "№"),
                (NAME, words.name),
                (ORG, words.org),
                (CODE, words.code),
                (NOTE, words.note),
            ] {
                cell(&mut s, &bold, &mut bld, text, col, top);
            }
            for (i, a) in chunk.iter().enumerate() {
                let y = top + ROW_H * (i as f32 + 1.0);
                if i % 2 == 1 {
                    rect(&mut s, 0.0, y, width, ROW_H, fill_of(0xf5, 0xf6, 0xf7));
                    s.set_fill(Some(black()));
                }
                tick_box(&mut s, y);
                let n = part * per_page + i + 1;
                cell(&mut s, &regular, &mut reg, &n.to_string(), NUM, y);
                cell(&mut s, &bold, &mut bld, &a.full_name, NAME, y);
                cell(
                    &mut s,
                    &regular,
                    &mut reg,
                    a.organization.as_deref().unwrap_or(""),
                    ORG,
                    y,
                );
                cell(&mut s, &regular, &mut reg, &a.ticket_codes.join(", "), CODE, y);
                let note = match (&a.notes, a.attention) {
                    (Some(n), true) => format!("! {n}"),
                    (Some(n), false) => n.clone(),
                    (None, true) => "!".into(),
                    (None, false) => String::new(),
                };
                if a.attention {
                    cell(&mut s, &bold, &mut bld, &note, NOTE, y);
                } else {
                    cell(&mut s, &regular, &mut reg, &note, NOTE, y);
                }
                listed += 1;
            }
            // Footer: page x of y.
            let foot = format!("{} {page_no} {} {total_pages}", words.page, words.of);
            let foot_s = reg.get(&foot).clone();
            let f = fit(&foot_s, width, 3.0, 1);
            draw_fitted(
                &mut s,
                &regular,
                &foot_s,
                &f,
                (0.0, width, PAGE_H - 2.0 * MARGIN - FOOT_H + 3.0),
                Align::Center,
            );
            s.pop();
            s.pop();
            s.finish();
            page.finish();
        }
    }
    let pdf = doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))?;
    Ok(Rendered {
        pdf,
        pages: page_no,
        badges: listed,
    })
}

/// One line of text in a column of a row whose top is `y`, shrunk to fit.
fn cell(s: &mut Surface<'_>, face: &Face, shaper: &mut Shaper<'_>, text: &str, (x, w): (f32, f32), y: f32) {
    if text.is_empty() {
        return;
    }
    let shaped = shaper.get(text).clone();
    let f = fit(&shaped, w - 1.5, ROW_TEXT, 1);
    let top = y + (ROW_H - f.size * super::LEADING) / 2.0;
    draw_fitted(s, face, &shaped, &f, (x + 0.8, w - 1.5, top), Align::Left);
}

/// An empty square to tick by hand.
fn tick_box(s: &mut Surface<'_>, y: f32) {
    let side = 4.2;
    let (x, w) = BOX;
    let mut pb = krilla::geom::PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x + (w - side) / 2.0, y + (ROW_H - side) / 2.0, side, side) {
        pb.push_rect(r);
    }
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            paint: black().paint,
            width: 0.3,
            ..Stroke::default()
        }));
        s.draw_path(&path);
        s.set_stroke(None);
        s.set_fill(Some(black()));
    }
}

struct Words {
    title: &'static str,
    people: &'static str,
    hint: &'static str,
    continued: &'static str,
    name: &'static str,
    org: &'static str,
    code: &'static str,
    note: &'static str,
    page: &'static str,
    of: &'static str,
}

impl Words {
    fn new(lang: ChecklistLang) -> Words {
        match lang {
            ChecklistLang::Ru => Words {
                title: "Список для отметки",
                people: "чел.",
                hint: "Бумажный запасной вариант: отметьте пришедших галочкой, потом внесите отметки в программу",
                continued: "продолжение",
                name: "ФИО",
                org: "Организация",
                code: "Билет",
                note: "Примечание",
                page: "Стр.",
                of: "из",
            },
            ChecklistLang::En => Words {
                title: "Check-in list",
                people: "people",
                hint: "Paper fallback: tick who arrived, then enter the ticks into the app",
                continued: "continued",
                name: "Name",
                org: "Organization",
                code: "Ticket",
                note: "Note",
                page: "Page",
                of: "of",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_the_rows_between_header_and_footer() {
        let n = rows_per_page();
        assert!(n >= 30, "{n} rows per A4 page");
        let bottom = HEAD_H + ROW_H * (n as f32 + 1.0);
        assert!(bottom <= PAGE_H - 2.0 * MARGIN - FOOT_H, "{bottom}");
        assert!(NOTE.0 + NOTE.1 <= PAGE_W - 2.0 * MARGIN);
    }

    #[test]
    fn names_sort_with_yo_as_ye() {
        let mut names = vec!["Ёлкин", "Евдокимов", "Ершов", "Аксёнов"];
        names.sort_by_key(|n| key(n));
        assert_eq!(names, vec!["Аксёнов", "Евдокимов", "Ёлкин", "Ершов"]);
    }
}
