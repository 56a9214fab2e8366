//! Generated demo data: a two-day event with entrances, four islands and
//! realistic Russian (and some Latin) names. Deterministic for a given seed,
//! so tests and benchmarks can rely on it.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Attendee, Event, LocationKind};
use crate::store::{NewEvent, Store};

const SURNAMES_M: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Федотов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Чернышёв",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
    "Воронин",
    "Климов",
    "Филатов",
    "Пономарёв",
    "Голубев",
    "Кудрявцев",
    "Прохоров",
    "Наумов",
    "Потапов",
    "Журавлёв",
    "Овчинников",
    "Трофимов",
    "Леонов",
    "Соболев",
    "Ермаков",
    "Колесников",
    "Гончаров",
    "Емельянов",
    "Никифоров",
    "Грачёв",
    "Котов",
    "Гришин",
    "Ефремов",
    "Архипов",
    "Громов",
    "Кириллов",
    "Малышев",
    "Панов",
    "Моисеев",
    "Румянцев",
    "Акимов",
    "Кондратьев",
    "Бирюков",
    "Горбунов",
    "Анисимов",
    "Еремин",
    "Тихомиров",
    "Галкин",
    "Лукьянов",
    "Михеев",
    "Скворцов",
    "Юдин",
    "Белоусов",
    "Нестеров",
    "Симонов",
    "Прокофьев",
    "Харитонов",
    "Князев",
    "Цветков",
    "Левин",
    "Митрофанов",
    "Воронов",
    "Аксёнов",
    "Софронов",
    "Мальцев",
    "Логинов",
    "Горшков",
    "Савин",
    "Краснов",
    "Майоров",
    "Демидов",
    "Елисеев",
    "Рыбаков",
    "Сафонов",
    "Плотников",
    "Дёмин",
    "Хохлов",
    "Фадеев",
    "Молчанов",
    "Игнатов",
    "Литвинов",
    "Ершов",
    "Ушаков",
    "Дементьев",
    "Рябов",
    "Мухин",
    "Калашников",
    "Леонтьев",
    "Лобанов",
    "Кузин",
    "Корнеев",
    "Евдокимов",
    "Бородин",
    "Платонов",
    "Некрасов",
    "Балашов",
    "Бобров",
    "Жданов",
    "Блинов",
    "Игнатьев",
    "Коротков",
    "Муравьёв",
    "Крюков",
    "Беляков",
    "Богомолов",
    "Дроздов",
    "Лавров",
    "Зуев",
    "Петухов",
    "Ларин",
    "Никулин",
    "Серов",
    "Терентьев",
    "Зотов",
    "Устинов",
    "Фокин",
    "Самойлов",
    "Константинов",
    "Сахаров",
    "Шишкин",
    "Самсонов",
    "Черкасов",
    "Чистяков",
    "Носов",
    "Спиридонов",
    "Карасёв",
    "Авдеев",
    "Воронцов",
    "Зверев",
    "Владимиров",
    "Селезнёв",
    "Нечаев",
    "Кудряшов",
    "Седов",
    "Фирсов",
    "Андрианов",
    "Панин",
    "Головин",
    "Терехов",
    "Ульянов",
    "Шестаков",
    "Агеев",
    "Никонов",
    "Селиванов",
    "Баженов",
    "Гордеев",
    "Кожевников",
    "Пахомов",
    "Зимин",
    "Костин",
    "Широков",
    "Филимонов",
    "Ларионов",
    "Овсянников",
    "Сазонов",
    "Суворов",
    "Нефёдов",
    "Корнилов",
    "Любимов",
    "Львов",
    "Горбачёв",
    "Копылов",
    "Лукин",
    "Токарев",
    "Кулешов",
    "Шилов",
    "Большаков",
    "Панкратов",
    "Родин",
    "Шаповалов",
    "Покровский",
    "Бочаров",
    "Никольский",
    "Маркин",
    "Горелов",
    "Агафонов",
    "Березин",
    "Ермолаев",
    "Зубков",
    "Куприянов",
    "Трифонов",
    "Масленников",
    "Круглов",
    "Третьяков",
    "Колосов",
    "Рожков",
    "Артамонов",
    "Шмелёв",
    "Лаптев",
    "Лапшин",
    "Федосеев",
    "Зиновьев",
    "Зорин",
    "Уткин",
    "Столяров",
    "Зубов",
    "Ткачёв",
    "Дорофеев",
    "Антипов",
    "Завьялов",
    "Свиридов",
    "Золотарёв",
    "Кулаков",
    "Мещеряков",
    "Макеев",
    "Дьяконов",
    "Гуляев",
    "Петровский",
    "Бондарев",
    "Поздняков",
    "Панфилов",
    "Кочетков",
    "Суханов",
    "Рыжов",
    "Старостин",
    "Калмыков",
    "Колесов",
    "Золотов",
    "Кравцов",
    "Субботин",
    "Шубин",
    "Щукин",
    "Лосев",
    "Винокуров",
    "Лапин",
    "Парфёнов",
    "Исаков",
    "Голованов",
    "Коровин",
    "Розанов",
    "Артёмов",
    "Козырев",
    "Русаков",
    "Алёшин",
    "Крючков",
    "Булгаков",
    "Кошелев",
    "Сычёв",
    "Синицын",
    "Чупшев",
    "Тюрин",
    "Шарапов",
    "Яшин",
    "Ломакин",
    "Рябинин",
];

const FIRST_M: &[(&str, &str)] = &[
    ("Александр", "Александрович"),
    ("Алексей", "Алексеевич"),
    ("Андрей", "Андреевич"),
    ("Артём", "Артёмович"),
    ("Борис", "Борисович"),
    ("Вадим", "Вадимович"),
    ("Виктор", "Викторович"),
    ("Владимир", "Владимирович"),
    ("Дмитрий", "Дмитриевич"),
    ("Евгений", "Евгеньевич"),
    ("Иван", "Иванович"),
    ("Игорь", "Игоревич"),
    ("Илья", "Ильич"),
    ("Кирилл", "Кириллович"),
    ("Максим", "Максимович"),
    ("Михаил", "Михайлович"),
    ("Николай", "Николаевич"),
    ("Олег", "Олегович"),
    ("Павел", "Павлович"),
    ("Роман", "Романович"),
    ("Сергей", "Сергеевич"),
    ("Юрий", "Юрьевич"),
    ("Ярослав", "Ярославович"),
    ("Фёдор", "Фёдорович"),
];

const FIRST_F: &[&str] = &[
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Екатерина",
    "Светлана",
    "Юлия",
    "Анастасия",
    "Дарья",
    "Ксения",
    "Полина",
    "Алёна",
    "Виктория",
    "Софья",
    "Вера",
    "Людмила",
    "Галина",
    "Надежда",
    "Марина",
    "Валерия",
    "Яна",
];

const LATIN: &[(&str, &str)] = &[
    ("John", "Smith"),
    ("Emma", "Schmidt"),
    ("Luca", "Rossi"),
    ("Marie", "Dubois"),
    ("Carlos", "García"),
    ("Mei", "Chen"),
    ("Ahmed", "Hassan"),
    ("Anna", "Nowak"),
];

const ORGS: &[&str] = &[
    "Фонд «Добро»",
    "АНО «Город для всех»",
    "МГУ им. М. В. Ломоносова",
    "Сбер",
    "Благотворительный фонд «Вера»",
    "Агентство стратегических инициатив",
    "НИУ ВШЭ",
    "Фонд президентских грантов",
    "Яндекс",
    "Росмолодёжь",
    "Волонтёры Победы",
    "ООО «Социальные технологии»",
    "Правительство Москвы",
    "Мосволонтёр",
    "Фонд «Жизнь как чудо»",
    "Red Cross",
    "UNICEF",
];

const POSITIONS: &[&str] = &[
    "Директор",
    "Руководитель проекта",
    "Координатор",
    "Аналитик",
    "Волонтёр",
    "Студент",
    "Основатель",
    "Эксперт",
    "Журналист",
    "Менеджер программ",
];

/// A tiny deterministic PRNG (SplitMix64): demo data must not depend on the OS.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

fn feminine(surname: &str) -> String {
    if let Some(stem) = surname.strip_suffix("ский") {
        format!("{stem}ская")
    } else if surname.ends_with("ов")
        || surname.ends_with("ев")
        || surname.ends_with("ёв")
        || surname.ends_with("ин")
        || surname.ends_with("ын")
    {
        format!("{surname}а")
    } else {
        surname.to_string()
    }
}

/// `n` generated attendees (ids nil: the store assigns them). The first few
/// are fixed people the demo and the tests look for: Анна Чупшева, Алексей
/// Смирнов, Илья Кузнецов, John Smith.
pub fn attendees(n: usize, seed: u64) -> Vec<Attendee> {
    let mut rng = Rng(seed);
    let fixed: [(&str, Option<&str>, &str, &str); 4] = [
        ("Чупшева Анна Сергеевна", None, "speaker", "Фонд «Добро»"),
        ("Смирнов Алексей Викторович", None, "participant", "НИУ ВШЭ"),
        ("Кузнецов Илья Андреевич", None, "press", "РИА Новости"),
        ("John Smith", Some("John Smith"), "vip", "UNICEF"),
    ];
    let cats = [
        "participant",
        "participant",
        "participant",
        "participant",
        "participant",
        "participant",
        "speaker",
        "press",
        "organizer",
        "volunteer",
        "vip",
    ];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut a = Attendee {
            category: "participant".into(),
            ..Attendee::default()
        };
        if let Some((name, latin, cat, org)) = fixed.get(i) {
            a.full_name = name.to_string();
            a.latin_name = latin.map(str::to_string);
            a.category = cat.to_string();
            a.organization = Some(org.to_string());
        } else if rng.below(40) == 0 {
            let (f, l) = rng.pick(LATIN);
            a.full_name = format!("{f} {l}");
            a.latin_name = Some(a.full_name.clone());
            a.category = rng.pick(&cats).to_string();
            a.organization = Some(rng.pick(ORGS).to_string());
        } else {
            let surname = rng.pick(SURNAMES_M);
            a.full_name = if rng.below(2) == 0 {
                let (f, p) = rng.pick(FIRST_M);
                format!("{surname} {f} {p}")
            } else {
                let f = rng.pick(FIRST_F);
                let (_, p) = rng.pick(FIRST_M);
                let p = p.replace("вич", "вна").replace("Ильич", "Ильинична");
                format!("{} {f} {p}", feminine(surname))
            };
            a.category = rng.pick(&cats).to_string();
            a.organization = Some(rng.pick(ORGS).to_string());
        }
        a.position = Some(rng.pick(POSITIONS).to_string());
        a.email = Some(format!("guest{:06}@example.org", i + 1));
        a.phone = Some(format!(
            "+7 9{:02} {:03}-{:02}-{:02}",
            rng.below(100),
            rng.below(1000),
            rng.below(100),
            rng.below(100)
        ));
        a.ticket_codes = vec![format!("T-{:06}", i + 1)];
        // A few people the desk must notice (T-000007 among them).
        if i % 997 == 6 {
            a.notes = Some(
                [
                    "VIP — встретить и позвонить протоколу",
                    "Спикер — проводить в зелёную комнату",
                    "Нужен доступ для коляски",
                ][(i / 997) % 3]
                    .to_string(),
            );
            a.attention = true;
        }
        out.push(a);
    }
    out
}

/// Create the demo event in an empty store: today and tomorrow (in Moscow
/// time), two entrances, four islands, `n` attendees.
pub fn create_event(store: &mut Store, n: usize, now: DateTime<Utc>) -> Result<Event> {
    let tz: Tz = chrono_tz::Europe::Moscow;
    let today = now.with_timezone(&tz).date_naive();
    let event = store.create_event(
        NewEvent {
            name: "Форум социальных решений (демо)".into(),
            days: vec![today, today + Duration::days(1)],
            timezone: tz.name().into(),
            categories: vec![],
        },
        now,
    )?;
    store.add_location("Вход A", LocationKind::Entrance, false, now)?;
    store.add_location("Вход B", LocationKind::Entrance, false, now)?;
    for i in 1..=4 {
        store.add_location(&format!("Остров {i}"), LocationKind::Zone, false, now)?;
    }
    store.add_attendees(attendees(n, 2026), now)?;
    Ok(event)
}

/// People whose badges are hard to lay out: very long double-barrelled
/// names, one long unbreakable word, Ё/Щ/Ю, a long organization, a badge
/// valid on one day only (`days` empty here; set it to one event day). Ids nil.
pub fn hard_badge_cases() -> Vec<Attendee> {
    let person = |name: &str, org: &str, position: &str, category: &str| Attendee {
        full_name: name.into(),
        organization: Some(org.into()),
        position: Some(position.into()),
        category: category.into(),
        ..Attendee::default()
    };
    vec![
        person(
            "Константинопольская-Задунайская Анастасия-Виктория Александровна",
            "Федеральное государственное бюджетное образовательное учреждение высшего образования «Московский государственный университет имени М. В. Ломоносова»",
            "Заместитель руководителя департамента международного сотрудничества и развития волонтёрских программ",
            "speaker",
        ),
        person(
            "Христорождественский Вольдемар Аполлинариевич",
            "АНО «Центр социальных инноваций»",
            "Директор",
            "press",
        ),
        person(
            "Ёлкина-Щербакова Юлия Эдуардовна",
            "Фонд «Добро»",
            "Координатор",
            "volunteer",
        ),
        person(
            "Длиннофамильнаяпредлиннаяфамилиябезпробелов Ия",
            "ООО «Ъ»",
            "",
            "organizer",
        ),
        person("Ли Юй", "Сбер", "Аналитик", "vip"),
    ]
}

/// A nil id, for callers that build attendees by hand.
pub fn unassigned() -> Uuid {
    Uuid::nil()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_has_the_fixed_people() {
        let a = attendees(500, 7);
        let b = attendees(500, 7);
        assert_eq!(a, b);
        assert_eq!(a[0].full_name, "Чупшева Анна Сергеевна");
        assert!(a.iter().any(|x| x.full_name.contains("ова ")));
        let codes: std::collections::HashSet<_> = a.iter().map(|x| x.ticket_codes[0].clone()).collect();
        assert_eq!(codes.len(), 500);
    }
}
