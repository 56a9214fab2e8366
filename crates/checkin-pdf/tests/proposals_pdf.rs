//! "Proposals of island N" as a person reads it (`pdftotext`, poppler-utils,
//! installed by `cargo xtask test`): grouped by topic, full texts, declined
//! ones left out, and an author's e-mail or phone only where they agreed.

use std::process::Command;

use chrono::{TimeZone, Utc};

use checkin_core::demo;
use checkin_core::model::{Attendee, Device, ProposalAuthor, ProposalStatus};
use checkin_core::store::Store;
use checkin_core::store::proposals::{NewProposal, ProposalFilter};
use checkin_pdf::{ProposalsLang, render_island_proposals};

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proposals.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`pdftotext` is not installed ({e}): this test needs poppler-utils. \
                 Run `cargo xtask test` (it installs it) or `sudo apt-get install poppler-utils`"
            )
        });
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn grouped_by_topic_with_contacts_only_by_consent() {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap();
    let mut s = Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(now),
            name: "Координатор".into(),
        },
        now,
    )
    .unwrap();
    demo::create_event(&mut s, 20, now).unwrap();
    let island = s.location("Остров 1").unwrap().id;
    s.set_island_topics(island, &["Город".into(), "Экология".into()], now)
        .unwrap();
    let agrees = s
        .save_attendee(
            Attendee {
                full_name: "Согласная Анна".into(),
                category: "participant".into(),
                email: Some("anna@example.org".into()),
                ..Attendee::default()
            },
            now,
        )
        .unwrap();
    let refuses = s
        .save_attendee(
            Attendee {
                full_name: "Несогласный Пётр".into(),
                category: "participant".into(),
                email: Some("petr@example.org".into()),
                phone: Some("+7 900 111-22-33".into()),
                ..Attendee::default()
            },
            now,
        )
        .unwrap();
    let long_text = "Первый абзац о зелёных крышах.\nВторой абзац: ".to_string() + &"детали ".repeat(1300);
    let add =
        |s: &mut Store, who: ProposalAuthor, title: &str, text: &str, topics: &[&str], consent: bool| {
            s.add_proposal(
                NewProposal {
                    island_id: island,
                    author: who,
                    title: title.into(),
                    text: text.into(),
                    topics: topics.iter().map(|t| t.to_string()).collect(),
                    consent,
                },
                now,
            )
            .unwrap()
        };
    let by = |id| ProposalAuthor {
        attendee_id: Some(id),
        ..ProposalAuthor::default()
    };
    add(
        &mut s,
        by(agrees.id),
        "Зелёные крыши",
        &long_text,
        &["Экология"],
        true,
    );
    add(
        &mut s,
        by(refuses.id),
        "Велодорожки",
        "Вдоль Садового кольца",
        &["Город"],
        false,
    );
    add(
        &mut s,
        ProposalAuthor {
            name: Some("Smith John".into()),
            contact: Some("john@example.org".into()),
            ..ProposalAuthor::default()
        },
        "Street art",
        "Murals on the ring road",
        &[],
        false,
    );
    let gone = add(&mut s, by(agrees.id), "Снятое предложение", "—", &["Город"], true);
    s.set_proposal_status(gone.id, ProposalStatus::Declined, now)
        .unwrap();

    let filter = ProposalFilter {
        island_id: Some(island),
        ..ProposalFilter::default()
    };
    let pdf = render_island_proposals(&s, &filter, ProposalsLang::Ru).unwrap();
    assert!(
        pdf.pages >= 2,
        "the long text flows onto a second page: {}",
        pdf.pages
    );
    assert_eq!(pdf.badges, 3, "declined left out");
    let text = text_of(&pdf.pdf);
    assert!(text.contains("Предложения острова «Остров 1»"), "{text}");
    let (eco, city, none) = (
        text.find("Экология — 1").expect("the topic Экология"),
        text.find("Город — 1").expect("the topic Город"),
        text.find("Без темы — 1").expect("no topic last"),
    );
    assert!(
        eco < city && city < none,
        "in order of first appearance, no topic last"
    );
    assert!(text.contains("Зелёные крыши") && text.contains("Второй абзац"));
    assert!(text.contains("anna@example.org"), "she agreed");
    assert!(
        !text.contains("petr@example.org") && !text.contains("111-22-33"),
        "he did not"
    );
    assert!(!text.contains("john@example.org"), "nor did he");
    assert!(!text.contains("Снятое предложение"));

    // The table export follows the same rule (read back as the CSV it writes).
    let table = s
        .proposals_table(&filter, checkin_core::reports::Lang::Ru)
        .unwrap();
    let all: String = table.rows.iter().flatten().cloned().collect::<Vec<_>>().join("|");
    assert!(all.contains("anna@example.org"));
    assert!(!all.contains("petr@example.org") && !all.contains("john@example.org"));
}
