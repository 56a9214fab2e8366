//! The proposals export as a coordinator opens it in a spreadsheet: the
//! XLSX read back cell by cell holds an author's e-mail or phone only where
//! they agreed to be contacted, and its header says so.

use calamine::{Reader, Xlsx};
use chrono::{TimeZone, Utc};

use checkin_core::model::{Attendee, Device, ProposalAuthor};
use checkin_core::reports::Lang;
use checkin_core::store::Store;
use checkin_core::store::proposals::{NewProposal, ProposalFilter};
use checkin_tables::export::TableWriter;

#[test]
fn contacts_only_with_consent_in_the_xlsx() {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap();
    let mut s = Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(now),
            name: "Координатор".into(),
        },
        now,
    )
    .unwrap();
    checkin_core::demo::create_event(&mut s, 10, now).unwrap();
    let island = s.location("Остров 1").unwrap().id;
    let person = |s: &mut Store, name: &str, email: &str, phone: &str| {
        s.save_attendee(
            Attendee {
                full_name: name.into(),
                category: "participant".into(),
                email: Some(email.into()),
                phone: Some(phone.into()),
                ..Attendee::default()
            },
            now,
        )
        .unwrap()
    };
    let yes = person(&mut s, "Согласная Анна", "anna@example.org", "+7 900 000-00-01");
    let no = person(&mut s, "Несогласный Пётр", "petr@example.org", "+7 900 000-00-02");
    for (who, consent) in [(yes.id, true), (no.id, false)] {
        s.add_proposal(
            NewProposal {
                island_id: island,
                author: ProposalAuthor {
                    attendee_id: Some(who),
                    ..ProposalAuthor::default()
                },
                title: "Идея".into(),
                text: "Текст".into(),
                topics: vec![],
                consent,
            },
            now,
        )
        .unwrap();
    }
    s.add_proposal(
        NewProposal {
            island_id: island,
            author: ProposalAuthor {
                name: Some("Гость Без Бейджа".into()),
                contact: Some("guest@example.org".into()),
                ..ProposalAuthor::default()
            },
            title: "Ещё идея".into(),
            text: String::new(),
            topics: vec![],
            consent: false,
        },
        now,
    )
    .unwrap();
    let table = s.proposals_table(&ProposalFilter::default(), Lang::En).unwrap();
    let bytes = table.to_xlsx().unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][4], "Contact (only with the author's consent)");
    assert_eq!(rows.len(), 4);
    let cell = |name: &str| rows.iter().find(|r| r[2] == name).unwrap()[4].clone();
    assert_eq!(cell("Согласная Анна"), "anna@example.org, +7 900 000-00-01");
    assert_eq!(cell("Несогласный Пётр"), "");
    assert_eq!(cell("Гость Без Бейджа"), "");
    let all = rows.concat().join("|");
    assert!(!all.contains("petr@") && !all.contains("000-00-02") && !all.contains("guest@"));
}
