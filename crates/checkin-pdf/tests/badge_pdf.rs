//! Badge PDFs end to end: render a batch, rasterise it with `pdftoppm`
//! (poppler-utils, installed by `cargo xtask test`), decode every QR on every
//! page, verify each token and check each person in with it; `pdftotext`
//! shows the Cyrillic names intact.
//!
//! Set `CHECKIN_BADGE_PDF_DIR` to keep the PDFs and page images for a look.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use checkin_core::badge;
use checkin_core::demo;
use checkin_core::engine::Verdict;
use checkin_core::model::{Device, Direction, LocationKind, new_id};
use checkin_core::store::{BadgeFilter, Store};
use checkin_pdf::{self as pdf, Layout, LayoutGeometry, Options};
use chrono::{DateTime, TimeZone, Utc};

fn t0() -> DateTime<Utc> {
    // 10:00 Moscow on the demo's first day.
    Utc.with_ymd_and_hms(2026, 6, 2, 7, 0, 0).unwrap()
}

/// A store with the demo event, 12 generated people and the hard cases.
fn store() -> Store {
    let mut s = Store::open_in_memory(
        Device {
            id: new_id(t0()),
            name: "Печать".into(),
        },
        t0(),
    )
    .unwrap();
    demo::create_event(&mut s, 12, t0()).unwrap();
    let first_day = s.event().unwrap().days[0];
    let mut hard = demo::hard_badge_cases();
    hard[2].days = vec![first_day];
    s.add_attendees(hard, t0()).unwrap();
    s
}

fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("-v").output().is_ok();
    assert!(
        found,
        "`{name}` is not installed: the badge PDF tests need poppler-utils. \
         Run `cargo xtask test` (it installs it) or `sudo apt-get install poppler-utils`"
    );
    Command::new(name)
}

fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("CHECKIN_BADGE_PDF_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, PathBuf::from(d))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

/// Rasterise every page (greyscale PNG, `dpi`) and decode the QR of every
/// badge cell on it (one detection per cell: on a whole sheet the detector
/// may pair finder patterns of neighbouring codes into phantom grids).
/// Returns, per page, the payloads of the cells that hold a code.
fn qr_payloads(pdf: &Path, layout: Layout, dpi: u32) -> Vec<Vec<String>> {
    let stem = pdf.with_extension("");
    let status = tool("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png"])
        .arg(pdf)
        .arg(&stem)
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm failed on {}", pdf.display());
    let dir = pdf.parent().unwrap();
    let prefix = stem.file_name().unwrap().to_string_lossy().to_string();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{prefix}-")) && n.ends_with(".png")
        })
        .collect();
    pages.sort();
    let px = |mm: f32| (mm * dpi as f32 / 25.4).round() as u32;
    pages
        .iter()
        .map(|page| {
            let img = image::open(page).unwrap().to_luma8();
            let mut found = Vec::new();
            for (i, (x, y, w, h)) in layout.badge_cells_mm().into_iter().enumerate() {
                let (x, y) = (px(x), px(y));
                let (w, h) = (px(w).min(img.width() - x), px(h).min(img.height() - y));
                let cell = image::imageops::crop_imm(&img, x, y, w, h).to_image();
                let mut prepared = rqrr::PreparedImage::prepare(cell);
                let grids = prepared.detect_grids();
                assert!(
                    grids.len() <= 1,
                    "{} cell {i}: {} codes",
                    page.display(),
                    grids.len()
                );
                if let Some(g) = grids.first() {
                    let (_, content) = g.decode().unwrap_or_else(|e| {
                        panic!("{} cell {i}: the QR does not decode: {e:?}", page.display())
                    });
                    found.push(content);
                }
            }
            found
        })
        .collect()
}

fn pdftotext(pdf: &Path) -> String {
    let out = tool("pdftotext").arg("-raw").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).unwrap()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a4_batch_round_trip_decode_verify_check_in() {
    let (_keep, dir) = out_dir();
    let mut s = store();
    let batch = s.badges_to_print(&BadgeFilter::default()).unwrap();
    assert_eq!(batch.len(), 17);
    let mut progress = Vec::new();
    let (rendered, printed) = pdf::render_badges(
        &s,
        &BadgeFilter::default(),
        &Options::new(Layout::A4x8),
        &mut |p| progress.push(p),
    )
    .unwrap();
    assert_eq!(rendered.pages, 3);
    assert_eq!(rendered.badges, 17);
    assert!(progress.last().unwrap().finishing);
    let path = dir.join("a4-8.pdf");
    std::fs::write(&path, &rendered.pdf).unwrap();

    // Every badge's QR decodes, to exactly the tokens of the batch, 8 a sheet.
    let pages = qr_payloads(&path, Layout::A4x8, 200);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![8, 8, 1]);
    let found: BTreeSet<String> = pages.into_iter().flatten().collect();
    let expected: BTreeSet<String> = batch.iter().map(|b| b.token.clone()).collect();
    assert_eq!(found, expected);

    // Each token verifies with the event's public keys and checks its person in.
    let keys = s.public_keys().unwrap();
    let entrance = s
        .locations()
        .unwrap()
        .iter()
        .find(|l| l.kind == LocationKind::Entrance)
        .unwrap()
        .id;
    for (i, token) in found.iter().enumerate() {
        let decoded = badge::decode(token).unwrap();
        assert!(decoded.verify_with_keys(&keys));
        let now = t0() + chrono::Duration::seconds(i as i64);
        let out = s.scan(token, entrance, Direction::In, now).unwrap();
        match out.verdict {
            Verdict::Admitted { attendee, .. } => {
                assert_eq!(attendee.unwrap().id, decoded.claims.attendee_id)
            }
            other => panic!("{token}: {other:?}"),
        }
    }

    // The names come out of the PDF as text, Cyrillic intact, wrapped or not.
    let text = squash(&pdftotext(&path));
    for b in &batch {
        assert!(
            text.contains(&b.attendee.full_name),
            "{} not in the text",
            b.attendee.full_name
        );
    }
    assert!(text.contains("Форум социальных решений (демо)"));
    assert!(text.contains("2–3 июня 2026"));
    assert!(text.contains("СПИКЕР") && text.contains("ВОЛОНТЁР"));
    // Fonts are subset: the two bundled fonts alone weigh about 1 MB.
    assert!(rendered.pdf.len() < 200_000, "{} bytes", rendered.pdf.len());

    // Logged as printed: a "not yet printed" batch is then empty.
    s.record_printed(&printed, Layout::A4x8, t0()).unwrap();
    let err = pdf::render_badges(
        &s,
        &BadgeFilter {
            not_printed: true,
            ..BadgeFilter::default()
        },
        &Options::new(Layout::A4x8),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("nothing to print"), "{err}");
}

#[test]
fn single_badges_a6_and_label_decode_with_logo() {
    let (_keep, dir) = out_dir();
    let s = store();
    // A logo: a red disc on a transparent square (a QR would be decoded too).
    let logo_img = image::RgbaImage::from_fn(120, 120, |x, y| {
        let (dx, dy) = (x as i32 - 60, y as i32 - 60);
        if dx * dx + dy * dy < 55 * 55 {
            image::Rgba([0xc6, 0x28, 0x28, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut logo = Vec::new();
    logo_img
        .write_to(&mut std::io::Cursor::new(&mut logo), image::ImageFormat::Png)
        .unwrap();
    // The longest name, a one-day badge and a short one.
    let people: Vec<_> = s
        .attendees()
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.full_name.starts_with("Константинопольская")
                || a.full_name.starts_with("Ёлкина")
                || a.full_name == "Ли Юй"
        })
        .map(|a| a.id)
        .collect();
    assert_eq!(people.len(), 3);
    let filter = BadgeFilter {
        attendees: people,
        ..BadgeFilter::default()
    };
    let keys = s.public_keys().unwrap();
    for layout in [Layout::A6, Layout::Label62x100] {
        let options = Options {
            layout,
            logo_png: Some(logo.clone()),
        };
        let (rendered, printed) = pdf::render_badges(&s, &filter, &options, &mut |_| {}).unwrap();
        assert_eq!((rendered.pages, printed.len()), (3, 3));
        let path = dir.join(format!("{layout}.pdf"));
        std::fs::write(&path, &rendered.pdf).unwrap();
        let pages = qr_payloads(&path, layout, 150);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 1, 1],
            "{layout}"
        );
        for (page, p) in pages.iter().zip(&printed) {
            let token = badge::decode(&page[0]).unwrap();
            assert!(token.verify_with_keys(&keys));
            assert_eq!(token.claims.attendee_id, p.attendee_id);
        }
        let text = squash(&pdftotext(&path));
        assert!(
            text.contains("Константинопольская-Задунайская Анастасия-Виктория Александровна"),
            "{text}"
        );
        assert!(text.contains("Ёлкина-Щербакова Юлия Эдуардовна"));
        assert!(text.contains("2 июня 2026"));
    }
}

#[test]
fn bad_logo_and_empty_batch_say_what_to_do() {
    let s = store();
    let event = s.event().unwrap().clone();
    let badges = s.badges_to_print(&BadgeFilter::default()).unwrap();
    let err = pdf::render(
        &event,
        &badges[..1],
        &Options {
            layout: Layout::A6,
            logo_png: Some(b"not a png".to_vec()),
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("save it as a PNG"), "{err}");
    let err = pdf::render(&event, &[], &Options::new(Layout::A6), &mut |_| {}).unwrap_err();
    assert!(matches!(err, pdf::PdfError::Empty));
}
