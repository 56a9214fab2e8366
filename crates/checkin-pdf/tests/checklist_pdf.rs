//! The paper checklist as a person reads it: `pdftotext` (poppler-utils,
//! installed by `cargo xtask test`) finds every category's people in
//! alphabetical order with their ticket codes and notes, revoked people
//! left out, Cyrillic and Latin alike.

use std::process::Command;

use chrono::{TimeZone, Utc};

use checkin_core::demo;
use checkin_core::model::{Attendee, Device};
use checkin_core::store::Store;
use checkin_pdf::{ChecklistLang, render_checklist};

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`pdftotext` is not installed ({e}): the checklist test needs poppler-utils. \
                 Run `cargo xtask test` (it installs it) or `sudo apt-get install poppler-utils`"
            )
        });
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_category_alphabetical_with_codes_and_notes_and_no_revoked() {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
    let mut s = Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(now),
            name: "Координатор".into(),
        },
        now,
    )
    .unwrap();
    demo::create_event(&mut s, 150, now).unwrap();
    let revoked = s.find_attendee("T-000010").unwrap();
    s.set_revoked(revoked.id, true, "дубликат", now).unwrap();
    s.save_attendee(
        Attendee {
            full_name: "Ёлкина Ольга".into(),
            category: "speaker".into(),
            notes: Some("проводить в зелёную комнату".into()),
            attention: true,
            ticket_codes: vec!["S-777".into()],
            ..Attendee::default()
        },
        now,
    )
    .unwrap();
    let people = s.attendees().unwrap();
    let pdf = render_checklist(s.event().unwrap(), &people, ChecklistLang::Ru).unwrap();
    assert_eq!(pdf.badges, people.len() - 1, "everyone but the revoked person");
    let text = text_of(&pdf.pdf);
    assert!(text.contains("Список для отметки — Спикер / Speaker"), "{text}");
    assert!(text.contains("Ёлкина Ольга") && text.contains("S-777"));
    assert!(text.contains("! проводить в зелёную комнату"));
    assert!(!text.contains("T-000010"), "the revoked person is not listed");
    assert!(text.contains("T-000011"));
    assert!(text.contains("John Smith"));
    assert!(text.contains(&format!("Стр. 1 из {}", pdf.pages)));

    // Alphabetical within a category (ё sorts as е).
    let speakers: Vec<&Attendee> = {
        let mut v: Vec<&Attendee> = people
            .iter()
            .filter(|a| a.category == "speaker" && !a.revoked)
            .collect();
        v.sort_by_key(|a| a.full_name.to_lowercase().replace('ё', "е"));
        v
    };
    let positions: Vec<usize> = speakers
        .iter()
        .map(|a| {
            text.find(&a.full_name)
                .unwrap_or_else(|| panic!("{} listed", a.full_name))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "speakers in order: {positions:?}"
    );

    let en = render_checklist(s.event().unwrap(), &people, ChecklistLang::En).unwrap();
    assert!(text_of(&en.pdf).contains("Check-in list — Speaker / Спикер"));
}
