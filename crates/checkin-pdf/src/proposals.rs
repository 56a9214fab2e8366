//! "Proposals of island N": the island's proposals for the presentation at
//! the forum, grouped by topic (a proposal under its first topic; those
//! without one last), each with its title, author, topics and full text,
//! A4, flowing over as many pages as it takes. Contacts appear only where
//! the caller passes them (the author agreed).

use std::ops::Range;

use krilla::Document;
use krilla::geom::{Point, Transform};
use krilla::page::PageSettings;
use krilla::surface::Surface;

use super::{Face, LEADING, PT_PER_MM, PdfError, Rendered, Shaped, black, fill_of, rect};

/// One proposal as it is printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposalEntry {
    pub title: String,
    pub text: String,
    pub topics: Vec<String>,
    pub author: String,
    pub organization: Option<String>,
    /// Only when the author agreed to be contacted.
    pub contact: Option<String>,
    /// The status in the document's language ("в шорт-листе" …).
    pub status: String,
}

/// The document's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalsLang {
    Ru,
    En,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 16.0;
const BODY: f32 = 3.5;
const SMALL: f32 = 3.0;
const TITLE: f32 = 4.6;
const TOPIC: f32 = 5.6;

/// Greedy lines of `s` at `size` within `w`, breaking at spaces; a word
/// longer than the line is broken between glyphs.
fn wrap(s: &Shaped, w: f32, size: f32) -> Vec<Range<usize>> {
    let n = s.glyphs.len();
    let limit = w / size;
    let breaks = s.breaks();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut last_fit: Option<usize> = None;
    for &b in breaks.iter().chain(std::iter::once(&n)) {
        if s.width(start..b) <= limit {
            last_fit = Some(b);
            continue;
        }
        if let Some(f) = last_fit {
            lines.push(start..f);
            start = (f + 1).min(n);
        }
        // What is left up to `b` may itself be too long: cut by glyphs.
        while s.width(start..b) > limit {
            let mut end = start + 1;
            while end < b && s.width(start..end + 1) <= limit {
                end += 1;
            }
            lines.push(start..end);
            start = end;
        }
        last_fit = Some(b);
    }
    if start < n {
        lines.push(start..n);
    }
    lines
}

/// Render the proposals of one island (`entries` in the order to print
/// within each topic).
pub fn render_proposals(
    event_name: &str,
    island: &str,
    entries: &[ProposalEntry],
    lang: ProposalsLang,
) -> Result<Rendered, PdfError> {
    if entries.is_empty() {
        return Err(PdfError::NoProposals);
    }
    let ru = lang == ProposalsLang::Ru;
    // Topics in order of first appearance; "no topic" last.
    let mut groups: Vec<(String, Vec<&ProposalEntry>)> = Vec::new();
    let mut loose = Vec::new();
    for e in entries {
        match e.topics.first() {
            Some(t) => match groups.iter_mut().find(|g| &g.0 == t) {
                Some(g) => g.1.push(e),
                None => groups.push((t.clone(), vec![e])),
            },
            None => loose.push(e),
        }
    }
    if !loose.is_empty() {
        groups.push((
            if ru {
                "Без темы".into()
            } else {
                "No topic".into()
            },
            loose,
        ));
    }

    let regular = Face::new(super::REGULAR_TTF)?;
    let bold = Face::new(super::BOLD_TTF)?;
    let width = PAGE_W - 2.0 * MARGIN;
    let bottom = PAGE_H - 2.0 * MARGIN - 8.0;
    let settings = PageSettings::from_wh(PAGE_W * PT_PER_MM, PAGE_H * PT_PER_MM)
        .ok_or_else(|| PdfError::Write("bad page size".into()))?;
    let mut doc = Document::new();

    // Lay everything out first as (page, y, face, shaped, size, lines,
    // x, band?) items, then draw page by page.
    enum Item {
        Text {
            bold: bool,
            shaped: Shaped,
            size: f32,
            lines: Vec<Range<usize>>,
            x: f32,
            y: f32,
        },
        Band {
            y: f32,
            h: f32,
        },
    }
    let mut pages: Vec<Vec<Item>> = vec![Vec::new()];
    let mut y = 0.0f32;
    let put = |pages: &mut Vec<Vec<Item>>,
               y: &mut f32,
               bold_face: bool,
               text: &str,
               size: f32,
               x: f32,
               keep: f32| {
        let face = if bold_face { &bold } else { &regular };
        for para in text.split('\n') {
            let shaped = face.shape(para);
            let lines = if para.trim().is_empty() {
                std::iter::once(0..0).collect()
            } else {
                wrap(&shaped, width - x, size)
            };
            let line_h = LEADING * size;
            let mut rest = lines.as_slice();
            while !rest.is_empty() {
                let room = ((bottom - *y) / line_h).floor().max(0.0) as usize;
                // A heading keeps `keep` mm of what follows on its page.
                if room == 0 || (keep > 0.0 && *y + line_h * rest.len() as f32 + keep > bottom && *y > 0.0) {
                    pages.push(Vec::new());
                    *y = 0.0;
                    continue;
                }
                let take = room.min(rest.len());
                pages.last_mut().expect("a page").push(Item::Text {
                    bold: bold_face,
                    shaped: shaped.clone(),
                    size,
                    lines: rest[..take].to_vec(),
                    x,
                    y: *y,
                });
                *y += line_h * take as f32;
                rest = &rest[take..];
            }
        }
    };
    let heading = if ru {
        format!("Предложения острова «{island}»")
    } else {
        format!("Proposals of island \"{island}\"")
    };
    put(&mut pages, &mut y, true, &heading, 6.5, 0.0, 0.0);
    y += 1.5;
    let count = if ru {
        format!("{event_name} · предложений: {}", entries.len())
    } else {
        format!("{event_name} · {} proposals", entries.len())
    };
    put(&mut pages, &mut y, false, &count, SMALL, 0.0, 0.0);
    y += 4.0;
    let mut n = 0;
    for (topic, list) in &groups {
        y += 2.0;
        let band_y = y;
        put(
            &mut pages,
            &mut y,
            true,
            &format!("{topic} — {}", list.len()),
            TOPIC,
            3.0,
            30.0,
        );
        let band_h = y - band_y;
        if let Some(p) = pages.last_mut() {
            // The band goes where the topic's line landed (it may have moved
            // to a new page).
            if let Some(Item::Text { y: ty, .. }) = p.last() {
                let ty = *ty;
                p.push(Item::Band {
                    y: ty,
                    h: band_h.max(LEADING * TOPIC),
                });
            }
        }
        y += 2.0;
        for e in list {
            n += 1;
            put(
                &mut pages,
                &mut y,
                true,
                &format!("{n}. {}", e.title),
                TITLE,
                0.0,
                15.0,
            );
            let mut who = e.author.clone();
            if let Some(o) = e.organization.as_deref().filter(|o| !o.is_empty()) {
                who.push_str(&format!(" · {o}"));
            }
            if let Some(c) = e.contact.as_deref().filter(|c| !c.is_empty()) {
                who.push_str(&format!(" · {c}"));
            }
            let mut meta = vec![who];
            if e.topics.len() > 1 {
                meta.push(e.topics.join(", "));
            }
            if !e.status.is_empty() {
                meta.push(e.status.clone());
            }
            put(&mut pages, &mut y, false, &meta.join(" — "), SMALL, 5.0, 0.0);
            if !e.text.trim().is_empty() {
                y += 1.0;
                put(&mut pages, &mut y, false, e.text.trim(), BODY, 5.0, 0.0);
            }
            y += 5.0;
        }
    }

    let total = pages.len();
    for (i, items) in pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut s: Surface<'_> = page.surface();
        s.push_transform(&Transform::from_scale(PT_PER_MM, PT_PER_MM));
        s.push_transform(&Transform::from_translate(MARGIN, MARGIN));
        for item in items {
            if let Item::Band { y, h } = item {
                rect(&mut s, 0.0, *y, 1.6, *h, fill_of(0x15, 0x65, 0xc0));
            }
        }
        s.set_fill(Some(black()));
        for item in items {
            if let Item::Text {
                bold: b,
                shaped,
                size,
                lines,
                x,
                y,
            } = item
            {
                let face = if *b { &bold } else { &regular };
                for (k, line) in lines.iter().enumerate() {
                    if line.is_empty() {
                        continue;
                    }
                    let baseline = y + face.ascent * size + k as f32 * LEADING * size;
                    s.draw_glyphs(
                        Point::from_xy(*x, baseline),
                        &shaped.glyphs[line.clone()],
                        face.font.clone(),
                        &shaped.text,
                        *size,
                        false,
                    );
                }
            }
        }
        let foot = if ru {
            format!("{heading} — стр. {} из {total}", i + 1)
        } else {
            format!("{heading} — page {} of {total}", i + 1)
        };
        let shaped = regular.shape(&foot);
        let size = 2.8;
        let w = shaped.width(0..shaped.glyphs.len()) * size;
        s.draw_glyphs(
            Point::from_xy(((width - w) / 2.0).max(0.0), PAGE_H - 2.0 * MARGIN - 2.0),
            &shaped.glyphs,
            regular.font.clone(),
            &shaped.text,
            size,
            false,
        );
        s.pop();
        s.pop();
        s.finish();
        page.finish();
    }
    let pdf = doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))?;
    Ok(Rendered {
        pdf,
        pages: total,
        badges: entries.len(),
    })
}

/// The proposals of the island `filter` names, from the store: declined
/// ones left out (unless the filter asks for them), oldest first within a
/// topic, contacts only where the author agreed.
pub fn render_island_proposals(
    store: &checkin_core::store::Store,
    filter: &checkin_core::store::proposals::ProposalFilter,
    lang: ProposalsLang,
) -> Result<Rendered, PdfError> {
    use checkin_core::model::ProposalStatus;
    let island_id = filter.island_id.ok_or_else(|| {
        PdfError::Store(checkin_core::error::CoreError::Invalid(
            "choose the island whose proposals to print".into(),
        ))
    })?;
    let island = store
        .locations()?
        .iter()
        .find(|l| l.id == island_id)
        .map(|l| l.name.clone())
        .unwrap_or_default();
    let event_name = store.event().map(|e| e.name.clone()).unwrap_or_default();
    let mut list = store.proposals(filter)?;
    list.reverse();
    let ru = lang == ProposalsLang::Ru;
    let mut entries = Vec::with_capacity(list.len());
    for p in list {
        if p.status == ProposalStatus::Declined && filter.status != Some(ProposalStatus::Declined) {
            continue;
        }
        let attendee = match p.author.attendee_id {
            Some(id) => store.attendee(id)?,
            None => None,
        };
        let (author, organization, contact) = match attendee {
            Some(a) => (
                a.full_name,
                a.organization,
                [a.email, a.phone]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => (
                p.author.name.clone().unwrap_or_default(),
                p.author.organization.clone(),
                p.author.contact.clone().unwrap_or_default(),
            ),
        };
        let status = match (ru, p.status) {
            (_, ProposalStatus::New) => String::new(),
            (true, ProposalStatus::Shortlisted) => "в шорт-листе".into(),
            (true, ProposalStatus::Presented) => "представлено".into(),
            (true, ProposalStatus::Declined) => "отклонено".into(),
            (false, s) => s.as_str().into(),
        };
        entries.push(ProposalEntry {
            title: p.title,
            text: p.text,
            topics: p.topics,
            author,
            organization,
            contact: (p.consent && !contact.is_empty()).then_some(contact),
            status,
        });
    }
    render_proposals(&event_name, &island, &entries, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_spaces_and_long_words_break() {
        let face = Face::new(crate::REGULAR_TTF).unwrap();
        let s = face.shape("Волонтёрские центры в каждом районе города");
        let lines = wrap(&s, 40.0, 4.0);
        assert!(lines.len() >= 2, "{lines:?}");
        for l in &lines {
            assert!(s.width(l.clone()) * 4.0 <= 40.0 + 1e-3);
        }
        let long = face.shape(&"Ж".repeat(200));
        let lines = wrap(&long, 40.0, 4.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(|l| l.len()).sum::<usize>(), 200, "nothing lost");
    }
}
