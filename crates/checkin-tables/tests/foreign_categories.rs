//! A registration export names its categories its own way (СМИ, Эксперт,
//! Модератор, Региональная команда …): the import takes the file as it is,
//! creating or mapping each unknown value, in Windows-1251 CSV and in XLSX;
//! a dry run (parse only) changes nothing; a re-import creates nothing twice.

use chrono::{TimeZone, Utc};

use checkin_core::model::Device;
use checkin_core::store::{ApplyOptions, Store};
use checkin_tables::import::{self, ImportOptions};

fn forum() -> Store {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
    let mut s = Store::open_in_memory(
        Device {
            id: checkin_core::model::new_id(now),
            name: "Координатор".into(),
        },
        now,
    )
    .unwrap();
    checkin_core::demo::create_event(&mut s, 0, Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).unwrap()).unwrap();
    s
}

/// The export as the registration system writes it: cp1251, `;`, its own
/// header for the category («Статус участника») and its own values.
fn cp1251_export() -> Vec<u8> {
    let mut text = String::from("Фамилия Имя Отчество;Организация;Статус участника;E-mail;Номер билета\r\n");
    let statuses = [
        "СМИ",
        "Эксперт",
        "сми",
        "Модератор",
        "Участник",
        "Региональная команда",
        "эксперт",
    ];
    for i in 0..252 {
        text.push_str(&format!(
            "Участников{i} Иван;Фонд {i};{};p{i}@example.ru;R-{i:04}\r\n",
            statuses[i % statuses.len()]
        ));
    }
    let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!bad);
    bytes.into_owned()
}

fn xlsx_export() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["ФИО", "Тип билета", "Email"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (name, kind)) in [
        ("Модераторова Анна", "Модератор"),
        ("Партнёров Олег", "Партнёр"),
        ("Делегатова Вера", "Делегация"),
    ]
    .iter()
    .enumerate()
    {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *name).unwrap();
        sheet.write_string(r, 1, *kind).unwrap();
        sheet.write_string(r, 2, format!("x{r}@example.ru")).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn unknown_categories_are_created_or_mapped_and_never_twice() {
    let mut s = forum();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    let before = s.categories().unwrap().to_vec();
    let opts = ImportOptions {
        category_map: vec![("СМИ".into(), "press".into())],
        ..ImportOptions::default()
    };
    let bytes = cp1251_export();

    // The dry run: what would happen, per value, and nothing changes.
    let parsed = import::parse(&bytes, &opts, &before, &s.event().unwrap().days, &mut |_| {}).unwrap();
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rows.len(), 252);
    let new: Vec<(&str, usize, &str)> = parsed
        .new_categories
        .iter()
        .map(|v| (v.value.as_str(), v.rows, v.code.as_str()))
        .collect();
    assert_eq!(
        new,
        vec![
            ("Эксперт", 72, "ekspert"),
            ("Модератор", 36, "moderator"),
            ("Региональная команда", 36, "regionalnaya_komanda"),
        ]
    );
    assert_eq!(parsed.mapped_categories.len(), 1);
    assert_eq!(parsed.mapped_categories[0].rows, 72, "СМИ and сми");
    assert_eq!(s.categories().unwrap(), &before[..], "parsing changed nothing");
    assert_eq!(s.attendee_count().unwrap(), 0);

    let report = s
        .import(&parsed, ApplyOptions::default(), now, &mut |_| {})
        .unwrap();
    assert_eq!(report.created, 252);
    let created: Vec<&str> = report
        .categories_created
        .iter()
        .map(|c| c.label_ru.as_str())
        .collect();
    assert_eq!(created, vec!["Эксперт", "Модератор", "Региональная команда"]);
    assert_eq!(report.categories_mapped[0].code, "press");
    let counts = s.category_counts().unwrap();
    assert_eq!(counts["press"], 72);
    assert_eq!(counts["ekspert"], 72);
    assert_eq!(counts["participant"], 36);
    let expert = s.find_category("ЭКСПЕРТ").unwrap().unwrap();
    assert_eq!(expert.color, "#607d8b");

    // The same file again: everything is known now.
    let again = import::parse(
        &bytes,
        &opts,
        s.categories().unwrap(),
        &s.event().unwrap().days,
        &mut |_| {},
    )
    .unwrap();
    assert!(again.new_categories.is_empty(), "{:?}", again.new_categories);
    let report = s
        .import(&again, ApplyOptions::default(), now, &mut |_| {})
        .unwrap();
    assert_eq!((report.created, report.updated, report.unchanged), (0, 0, 252));
    assert!(report.categories_created.is_empty());
    assert_eq!(s.categories().unwrap().len(), before.len() + 3);

    // An XLSX with «Тип билета»: one value known by now, two new.
    let x = import::parse(
        &xlsx_export(),
        &ImportOptions::default(),
        s.categories().unwrap(),
        &s.event().unwrap().days,
        &mut |_| {},
    )
    .unwrap();
    let report = s.import(&x, ApplyOptions::default(), now, &mut |_| {}).unwrap();
    let created: Vec<&str> = report
        .categories_created
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(created, vec!["partnyor", "delegatsiya"]);
    let anna = s.search("Модераторова", 1).unwrap();
    assert_eq!(anna[0].0.category, "moderator");
}
