//! Reports as tables: attendance, zone visits (named, or anonymous per zone
//! and hour) and no-shows, read from the store with Russian or English
//! headers. Writing them as CSV, XLSX or the HTML summary is the table
//! formats crate's trade (`checkin-tables`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::model::Attendee;
use crate::store::{ATTENDEE_SELECT, Store, attendee_from_row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Which report to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// One row per person with each day's first arrival. Personal data.
    Attendance,
    /// Zone passages with names, or (anonymous) per zone and hour without.
    Zones,
    /// People expected on a day who did not come. Personal data.
    NoShows,
    /// The one-page HTML summary of a day with its charts. No names.
    Summary,
}

impl Report {
    pub fn parse(s: &str) -> Option<Report> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "attendance" => Some(Report::Attendance),
            "zones" => Some(Report::Zones),
            "no-shows" => Some(Report::NoShows),
            "summary" => Some(Report::Summary),
            _ => None,
        }
    }

    /// Whether the report holds names: only the coordinator role may export
    /// it (callers check the role; the core has no notion of users).
    pub fn is_personal(self, anonymous: bool) -> bool {
        match self {
            Report::Attendance | Report::NoShows => true,
            Report::Zones => !anonymous,
            Report::Summary => false,
        }
    }
}

/// A sheet of text cells with a header row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Store {
    /// Attendance: one row per person, with the first entrance time of each
    /// event day (local time and where), or empty for a no-show that day.
    pub fn attendance_table(&self, lang: Lang) -> Result<Table> {
        let ctx = self.ctx()?;
        let tz = ctx.tz;
        let mut first: HashMap<(Uuid, NaiveDate), (i64, String)> = HashMap::new();
        {
            let mut st = self.conn.prepare(
                "SELECT c.attendee_id, c.day, c.at_ms, l.name FROM checkins c JOIN locations l ON l.id = c.location_id
                 WHERE c.attendee_id IS NOT NULL AND c.direction = 'in' AND c.annulled_by IS NULL
                   AND l.kind = 'entrance' AND c.event_id = ?1
                 ORDER BY c.at_ms, c.id",
            )?;
            let mut rows = st.query(params![ctx.event.id.to_string()])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let day: String = r.get(1)?;
                let (Ok(id), Ok(day)) = (id.parse::<Uuid>(), day.parse::<NaiveDate>()) else {
                    continue;
                };
                first.entry((id, day)).or_insert((r.get(2)?, r.get(3)?));
            }
        }
        let ru = lang == Lang::Ru;
        let mut headers: Vec<String> = if ru {
            [
                "ФИО",
                "Имя латиницей",
                "Организация",
                "Должность",
                "Категория",
                "Email",
                "Телефон",
                "Номера билетов",
                "Отозван",
            ]
        } else {
            [
                "Full name",
                "Latin name",
                "Organization",
                "Position",
                "Category",
                "Email",
                "Phone",
                "Ticket codes",
                "Revoked",
            ]
        }
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in &ctx.event.days {
            headers.push(if ru {
                format!("Пришёл {}", d.format("%d.%m.%Y"))
            } else {
                format!("Arrived {d}")
            });
        }
        let labels: HashMap<&str, &str> = ctx
            .event
            .categories
            .iter()
            .map(|c| {
                (
                    c.code.as_str(),
                    if ru {
                        c.label_ru.as_str()
                    } else {
                        c.label_en.as_str()
                    },
                )
            })
            .collect();
        let mut rows = Vec::new();
        for a in self.attendees()? {
            let mut row = vec![
                a.full_name.clone(),
                a.latin_name.clone().unwrap_or_default(),
                a.organization.clone().unwrap_or_default(),
                a.position.clone().unwrap_or_default(),
                labels
                    .get(a.category.as_str())
                    .copied()
                    .unwrap_or(&a.category)
                    .to_string(),
                a.email.clone().unwrap_or_default(),
                a.phone.clone().unwrap_or_default(),
                a.ticket_codes.join(", "),
                match (a.revoked, ru) {
                    (true, true) => "да".into(),
                    (true, false) => "yes".into(),
                    (false, _) => String::new(),
                },
            ];
            for d in &ctx.event.days {
                row.push(match first.get(&(a.id, *d)) {
                    Some((ms, loc)) => {
                        let t = DateTime::<Utc>::from_timestamp_millis(*ms).unwrap_or_default();
                        format!("{} ({loc})", t.with_timezone(&tz).format("%H:%M"))
                    }
                    None => String::new(),
                });
            }
            rows.push(row);
        }
        Ok(Table {
            title: if ru {
                "Посещаемость".into()
            } else {
                "Attendance".into()
            },
            headers,
            rows,
        })
    }
}

fn headers(ru: bool, h: &[(&str, &str)]) -> Vec<String> {
    h.iter()
        .map(|(r, e)| if ru { r.to_string() } else { e.to_string() })
        .collect()
}

impl Store {
    /// People expected on `day` (valid that day, not revoked) who were not
    /// admitted at any entrance, by name.
    pub fn no_shows(&self, day: NaiveDate) -> Result<Vec<Attendee>> {
        let ctx = self.ctx()?;
        if !ctx.event.days.contains(&day) {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare(&format!(
            "{ATTENDEE_SELECT} WHERE a.event_id = ?1 AND (a.days = '[]' OR instr(a.days, ?2) > 0)
             AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.attendee_id = a.id AND r.revoked = 1)
             AND NOT EXISTS (SELECT 1 FROM checkins c JOIN locations l ON l.id = c.location_id
               WHERE c.attendee_id = a.id AND c.day = ?3 AND c.direction = 'in'
               AND c.annulled_by IS NULL AND l.kind = 'entrance')
             ORDER BY a.full_name, a.id"
        ))?;
        let rows = st
            .query_map(
                params![ctx.event.id.to_string(), format!("\"{day}\""), day.to_string()],
                attendee_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// No-shows of `day` as a table.
    pub fn no_shows_table(&self, day: NaiveDate, lang: Lang) -> Result<Table> {
        let ru = lang == Lang::Ru;
        let cats = &self.ctx()?.event.categories;
        let rows = self
            .no_shows(day)?
            .into_iter()
            .map(|a| {
                let cat = cats
                    .iter()
                    .find(|c| c.code == a.category)
                    .map(|c| {
                        if ru {
                            c.label_ru.clone()
                        } else {
                            c.label_en.clone()
                        }
                    })
                    .unwrap_or(a.category.clone());
                vec![
                    a.full_name,
                    a.organization.unwrap_or_default(),
                    cat,
                    a.email.unwrap_or_default(),
                    a.phone.unwrap_or_default(),
                    a.ticket_codes.join(", "),
                ]
            })
            .collect();
        Ok(Table {
            title: if ru {
                format!("Не пришли {}", day.format("%d.%m.%Y"))
            } else {
                format!("No-shows {day}")
            },
            headers: headers(
                ru,
                &[
                    ("ФИО", "Full name"),
                    ("Организация", "Organization"),
                    ("Категория", "Category"),
                    ("Email", "Email"),
                    ("Телефон", "Phone"),
                    ("Номера билетов", "Ticket codes"),
                ],
            ),
            rows,
        })
    }

    /// Zone visits on `day` (or every day). With names: one row per passage
    /// (annulled ones left out). `anonymous`: one row per zone and hour with
    /// counts only, no personal data.
    pub fn zone_visits_table(
        &self,
        day: Option<NaiveDate>,
        lang: Lang,
        anonymous: bool,
        now: DateTime<Utc>,
    ) -> Result<Table> {
        let ru = lang == Lang::Ru;
        let title = if ru {
            "Посещения зон"
        } else {
            "Zone visits"
        }
        .to_string();
        if anonymous {
            let stats = self.stats(day, now)?;
            let mut rows = Vec::new();
            for d in &stats.days {
                for z in &d.zones {
                    for h in &z.hours {
                        rows.push(vec![
                            d.day.to_string(),
                            z.name.clone(),
                            format!("{:02}:00", h.hour),
                            h.entries.to_string(),
                            h.exits.to_string(),
                        ]);
                    }
                }
            }
            return Ok(Table {
                title,
                headers: headers(
                    ru,
                    &[
                        ("День", "Day"),
                        ("Зона", "Zone"),
                        ("Час", "Hour"),
                        ("Вошли", "Entries"),
                        ("Вышли", "Exits"),
                    ],
                ),
                rows,
            });
        }
        let ctx = self.ctx()?;
        let tz = ctx.tz;
        let mut st = self.conn.prepare(
            "SELECT c.day, c.at_ms, l.name, c.direction, a.full_name, a.organization, a.category,
                    coalesce(d.name, c.device_id)
             FROM checkins c JOIN locations l ON l.id = c.location_id
             LEFT JOIN attendees a ON a.id = c.attendee_id LEFT JOIN devices d ON d.id = c.device_id
             WHERE c.event_id = ?1 AND l.kind = 'zone' AND c.annulled_by IS NULL AND (?2 = '' OR c.day = ?2)
             ORDER BY c.at_ms, c.id",
        )?;
        let day_s = day.map(|d| d.to_string()).unwrap_or_default();
        let mut q = st.query(params![ctx.event.id.to_string(), day_s])?;
        let mut rows = Vec::new();
        while let Some(r) = q.next()? {
            let at = DateTime::<Utc>::from_timestamp_millis(r.get(1)?).unwrap_or_default();
            let dir: String = r.get(3)?;
            let name: Option<String> = r.get(4)?;
            rows.push(vec![
                r.get::<_, String>(0)?,
                at.with_timezone(&tz).format("%H:%M:%S").to_string(),
                r.get(2)?,
                match (dir.as_str(), ru) {
                    ("in", true) => "вход".into(),
                    ("in", false) => "in".into(),
                    (_, true) => "выход".into(),
                    (_, false) => "out".into(),
                },
                name.unwrap_or_else(|| {
                    if ru {
                        "аноним".into()
                    } else {
                        "anonymous".into()
                    }
                }),
                r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                r.get(7)?,
            ]);
        }
        Ok(Table {
            title,
            headers: headers(
                ru,
                &[
                    ("День", "Day"),
                    ("Время", "Time"),
                    ("Зона", "Zone"),
                    ("Направление", "Direction"),
                    ("ФИО", "Full name"),
                    ("Организация", "Organization"),
                    ("Категория", "Category"),
                    ("Устройство", "Device"),
                ],
            ),
            rows,
        })
    }
}

impl Store {
    /// The proposals a filter lets through, one row each, oldest first:
    /// island, time, author, title, text, topics, status. The author's
    /// contact (an attendee's e-mail and phone, or what a person without a
    /// badge gave) is filled in only where the author agreed to be
    /// contacted, and the column's header says so.
    pub fn proposals_table(
        &self,
        filter: &crate::store::proposals::ProposalFilter,
        lang: Lang,
    ) -> Result<Table> {
        let ru = lang == Lang::Ru;
        let ctx = self.ctx()?;
        let tz = ctx.tz;
        let names: HashMap<Uuid, String> = self.locations()?.iter().map(|l| (l.id, l.name.clone())).collect();
        let mut list = self.proposals(filter)?;
        list.reverse();
        let mut rows = Vec::with_capacity(list.len());
        for p in list {
            let attendee = match p.author.attendee_id {
                Some(id) => self.attendee(id)?,
                None => None,
            };
            let (who, org) = match &attendee {
                Some(a) => (a.full_name.clone(), a.organization.clone().unwrap_or_default()),
                None => (
                    p.author.name.clone().unwrap_or_default(),
                    p.author.organization.clone().unwrap_or_default(),
                ),
            };
            let contact = if !p.consent {
                String::new()
            } else {
                match &attendee {
                    Some(a) => [a.email.clone(), a.phone.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => p.author.contact.clone().unwrap_or_default(),
                }
            };
            let at = DateTime::<Utc>::from_timestamp_millis(p.at_ms)
                .unwrap_or_default()
                .with_timezone(&tz);
            let status = match (ru, p.status) {
                (true, crate::model::ProposalStatus::New) => "новое",
                (true, crate::model::ProposalStatus::Shortlisted) => "в шорт-листе",
                (true, crate::model::ProposalStatus::Presented) => "представлено",
                (true, crate::model::ProposalStatus::Declined) => "отклонено",
                (false, s) => s.as_str(),
            };
            rows.push(vec![
                names.get(&p.island_id).cloned().unwrap_or_default(),
                at.format("%d.%m.%Y %H:%M").to_string(),
                who,
                org,
                contact,
                p.title,
                p.text,
                p.topics.join(", "),
                status.to_string(),
            ]);
        }
        Ok(Table {
            title: if ru {
                "Предложения".into()
            } else {
                "Proposals".into()
            },
            headers: headers(
                ru,
                &[
                    ("Остров", "Island"),
                    ("Время", "Time"),
                    ("Автор", "Author"),
                    ("Организация", "Organization"),
                    (
                        "Контакт (только с согласия автора)",
                        "Contact (only with the author's consent)",
                    ),
                    ("Название", "Title"),
                    ("Текст", "Text"),
                    ("Темы", "Topics"),
                    ("Статус", "Status"),
                ],
            ),
            rows,
        })
    }
}
