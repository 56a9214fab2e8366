//! Proposals taken at the islands: two desks offline, edits that meet,
//! statuses with who and when, topics, search in any script.

use chrono::{DateTime, Duration, TimeZone, Utc};

use checkin_core::model::{Device, ProposalAuthor, ProposalPatch, ProposalStatus};
use checkin_core::store::Store;
use checkin_core::store::changes::ChangeEnvelope;
use checkin_core::store::proposals::{NewProposal, ProposalFilter};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
}

fn desk(name: &str) -> Store {
    Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(at(1, 9)),
            name: name.into(),
        },
        at(1, 9),
    )
    .unwrap()
}

fn all_changes(s: &Store) -> Vec<ChangeEnvelope> {
    s.local_changes_after(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

/// A coordinator with the forum (200 people) and topics on the first island,
/// and two island desks that synced once.
fn forum() -> (Store, Store, Store, uuid::Uuid) {
    let mut coord = desk("Координатор");
    checkin_core::demo::create_event(&mut coord, 200, at(2, 7)).unwrap();
    let island = coord.location("Остров 1").unwrap().id;
    coord
        .set_island_topics(
            island,
            &[
                "Волонтёрство".into(),
                "Город".into(),
                "Экология".into(),
                "город".into(),
            ],
            at(2, 7),
        )
        .unwrap();
    let mut a = desk("Остров 1, стойка 1");
    let mut b = desk("Остров 1, стойка 2");
    a.apply_remote(&all_changes(&coord), at(2, 7)).unwrap();
    b.apply_remote(&all_changes(&coord), at(2, 7)).unwrap();
    (coord, a, b, island)
}

fn idea(island: uuid::Uuid, attendee: uuid::Uuid, title: &str) -> NewProposal {
    NewProposal {
        island_id: island,
        author: ProposalAuthor {
            attendee_id: Some(attendee),
            ..ProposalAuthor::default()
        },
        title: title.into(),
        text: "Пилот в трёх районах, затем по всему городу.".into(),
        topics: vec!["волонтёрство".into()],
        consent: false,
    }
}

#[test]
fn two_desks_offline_then_edits_and_statuses_meet() {
    let (mut coord, mut a, mut b, island) = forum();
    assert_eq!(
        a.island_topics(island).unwrap(),
        ["Волонтёрство", "Город", "Экология"],
        "duplicates folded"
    );
    let person = a.find_attendee("T-000001").unwrap();

    // Offline, both desks take a proposal from the same person.
    let pa = a
        .add_proposal(
            idea(island, person.id, "Волонтёрские центры в каждом районе"),
            at(2, 9),
        )
        .unwrap();
    let pb = b
        .add_proposal(idea(island, person.id, "Экотропа в парке"), at(2, 9))
        .unwrap();
    assert_eq!(pa.topics, ["Волонтёрство"], "topics as the island names them");
    assert_eq!(pa.status, ProposalStatus::New);
    assert_eq!(a.proposals_today(island, at(2, 10)).unwrap(), 1);

    // Sync (twice over: the second time changes nothing).
    for _ in 0..2 {
        let (from_a, from_b) = (all_changes(&a), all_changes(&b));
        coord.apply_remote(&from_a, at(2, 10)).unwrap();
        coord.apply_remote(&from_b, at(2, 10)).unwrap();
        a.apply_remote(&from_b, at(2, 10)).unwrap();
        b.apply_remote(&from_a, at(2, 10)).unwrap();
    }
    for s in [&coord, &a, &b] {
        let all = s.proposals(&ProposalFilter::default()).unwrap();
        assert_eq!(all.len(), 2, "both, once");
    }

    // Desk A edits the text; the coordinator shortlists it, a minute later,
    // without having seen the edit. Both survive everywhere.
    a.edit_proposal(
        pa.id,
        ProposalPatch {
            text: Some("Сеть центров: пилот в Басманном районе.".into()),
            topics: Some(vec!["Город".into(), "Волонтёрство".into()]),
            ..ProposalPatch::default()
        },
        at(2, 11),
    )
    .unwrap();
    coord
        .set_proposal_status(
            pa.id,
            ProposalStatus::Shortlisted,
            at(2, 11) + Duration::minutes(1),
        )
        .unwrap();
    let (from_a, from_c) = (all_changes(&a), all_changes(&coord));
    coord.apply_remote(&from_a, at(2, 12)).unwrap();
    a.apply_remote(&from_c, at(2, 12)).unwrap();
    b.apply_remote(&from_a, at(2, 12)).unwrap();
    b.apply_remote(&from_c, at(2, 12)).unwrap();
    let seen: Vec<_> = [&coord, &a, &b]
        .iter()
        .map(|s| s.proposal(pa.id).unwrap().unwrap())
        .collect();
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], seen[2]);
    let p = &seen[0];
    assert_eq!(p.text, "Сеть центров: пилот в Басманном районе.");
    assert_eq!(p.topics, ["Город", "Волонтёрство"]);
    assert_eq!(p.status, ProposalStatus::Shortlisted);
    assert_eq!(p.status_by, Some(coord.device().id), "who");
    assert_eq!(
        p.status_at_ms,
        Some((at(2, 11) + Duration::minutes(1)).timestamp_millis()),
        "when"
    );
    assert_eq!(p.title, pa.title, "fields nobody edited stay");

    // An older edit that arrives late does not undo a newer one.
    b.edit_proposal(
        pa.id,
        ProposalPatch {
            text: Some("Старый черновик".into()),
            ..ProposalPatch::default()
        },
        at(2, 10),
    )
    .unwrap();
    // (b's clock has seen 12:00 through the HLC, so its edit is newer:
    // last writer wins by HLC, not by wall clock.)
    let from_b = all_changes(&b);
    a.apply_remote(&from_b, at(2, 13)).unwrap();
    assert_eq!(a.proposal(pa.id).unwrap().unwrap().text, "Старый черновик");

    // Declining is a status; the row stays.
    a.set_proposal_status(pb.id, ProposalStatus::Declined, at(2, 14))
        .unwrap();
    assert_eq!(a.proposals(&ProposalFilter::default()).unwrap().len(), 2);
    let declined = a
        .proposals(&ProposalFilter {
            status: Some(ProposalStatus::Declined),
            ..ProposalFilter::default()
        })
        .unwrap();
    assert_eq!(declined.iter().map(|p| p.id).collect::<Vec<_>>(), [pb.id]);
}

#[test]
fn what_a_desk_refuses_to_take_down() {
    let (_, mut a, _, island) = forum();
    let person = a.find_attendee("T-000002").unwrap();
    let entrance = a.location("Вход A").unwrap().id;
    let e = a
        .add_proposal(idea(entrance, person.id, "Идея"), at(2, 9))
        .unwrap_err();
    assert!(e.to_string().contains("islands"), "{e}");
    let mut no_author = idea(island, person.id, "Идея");
    no_author.author = ProposalAuthor::default();
    assert!(
        a.add_proposal(no_author, at(2, 9))
            .unwrap_err()
            .to_string()
            .contains("author")
    );
    let mut empty = idea(island, person.id, "  ");
    empty.text = " ".into();
    assert!(a.add_proposal(empty, at(2, 9)).is_err());
    let mut odd_topic = idea(island, person.id, "Идея");
    odd_topic.topics = vec!["Космос".into()];
    let e = a.add_proposal(odd_topic, at(2, 9)).unwrap_err();
    assert!(e.to_string().contains("Волонтёрство, Город, Экология"), "{e}");
    let mut long = idea(island, person.id, "Идея");
    long.text = "я".repeat(10_001);
    assert!(a.add_proposal(long, at(2, 9)).is_err());
    assert!(
        a.proposals(&ProposalFilter::default()).unwrap().is_empty(),
        "nothing stored"
    );
}

#[test]
fn found_by_words_in_any_script_and_by_author() {
    let (_, mut a, _, island) = forum();
    let person = a.find_attendee("T-000003").unwrap();
    let p1 = a
        .add_proposal(idea(island, person.id, "Зелёные крыши для школ"), at(2, 9))
        .unwrap();
    let walk_up = a
        .add_proposal(
            NewProposal {
                island_id: island,
                author: ProposalAuthor {
                    name: Some("Smith John".into()),
                    organization: Some("ACME".into()),
                    contact: Some("john@example.org".into()),
                    ..ProposalAuthor::default()
                },
                title: "Bike lanes on the ring road".into(),
                text: "Велодорожки вдоль Садового кольца".into(),
                topics: vec![],
                consent: true,
            },
            at(2, 10),
        )
        .unwrap();
    let find = |q: &str| -> Vec<uuid::Uuid> {
        a.proposals(&ProposalFilter {
            query: Some(q.into()),
            ..ProposalFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
    };
    assert_eq!(find("крыши"), [p1.id], "a word inside the title");
    assert_eq!(find("ЗЕЛЁНЫЕ"), [p1.id], "case");
    assert_eq!(find("садового"), [walk_up.id], "inside the text");
    assert_eq!(find("lanes"), [walk_up.id]);
    assert_eq!(find("smith"), [walk_up.id], "a typed author");
    let surname = person.full_name.split_whitespace().next().unwrap().to_string();
    assert!(find(&surname).contains(&p1.id), "an attendee author by name");
    let latin = checkin_core::search::transliterate(&surname);
    assert!(find(&latin).contains(&p1.id), "… and in Latin letters: {latin}");
    assert!(find("ничего такого").is_empty());
    // A screen's limited list, with and without another filter.
    let limited = |island_id| {
        a.proposals(&ProposalFilter {
            query: Some("Велодорожки".into()),
            island_id,
            limit: Some(1),
            ..ProposalFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(limited(None), [walk_up.id]);
    assert_eq!(limited(Some(island)), [walk_up.id]);
    let by_topic = a
        .proposals(&ProposalFilter {
            topic: Some("ВОЛОНТЁРСТВО".into()),
            ..ProposalFilter::default()
        })
        .unwrap();
    assert_eq!(by_topic.iter().map(|p| p.id).collect::<Vec<_>>(), [p1.id]);
    let day2 = a
        .proposals(&ProposalFilter {
            day: Some(at(2, 9).date_naive()),
            ..ProposalFilter::default()
        })
        .unwrap();
    assert_eq!(day2.len(), 2);
    let day3 = a
        .proposals(&ProposalFilter {
            day: Some(at(3, 9).date_naive()),
            ..ProposalFilter::default()
        })
        .unwrap();
    assert!(day3.is_empty());

    // In the numbers: per island and hour, per topic, per status.
    let stats = a.stats(Some(at(2, 9).date_naive()), at(2, 12)).unwrap();
    let p = &stats.days[0].proposals;
    assert_eq!(p.total, 2);
    let first = p.islands.iter().find(|i| i.location_id == island).unwrap();
    // 09:00 and 10:00 UTC are 12:00 and 13:00 in Moscow.
    assert_eq!(first.hours, [(12, 1), (13, 1)]);
    assert_eq!(p.islands.iter().map(|i| i.total).sum::<u64>(), 2);
    assert_eq!(p.topics.len(), 1);
    assert_eq!(
        (p.topics[0].topic.as_str(), p.topics[0].count),
        ("Волонтёрство", 1)
    );
    assert_eq!(p.statuses[0].count, 2, "both new");
}
