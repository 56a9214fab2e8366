//! Exports: a plain table written as CSV (UTF-8 with BOM, so Excel shows
//! Cyrillic correctly) or XLSX (rust_xlsxwriter).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::store::Store;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
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

impl Table {
    /// CSV with a UTF-8 BOM and `;`-free comma separation, every field quoted when needed.
    pub fn write_csv(&self, mut out: impl Write) -> Result<()> {
        out.write_all(b"\xEF\xBB\xBF")?;
        let mut w = csv::Writer::from_writer(out);
        let map = |e: csv::Error| CoreError::Export(e.to_string());
        w.write_record(&self.headers).map_err(map)?;
        for r in &self.rows {
            w.write_record(r).map_err(map)?;
        }
        w.flush()?;
        Ok(())
    }

    /// XLSX bytes: bold frozen header row, autofilter, fitted column widths.
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        let map = |e: rust_xlsxwriter::XlsxError| CoreError::Export(e.to_string());
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let title: String = self
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if !title.is_empty() {
            ws.set_name(&title).map_err(map)?;
        }
        let bold = Format::new().set_bold();
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(map)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v).map_err(map)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(map)?;
        if !self.headers.is_empty() {
            ws.autofilter(0, 0, self.rows.len() as u32, self.headers.len() as u16 - 1)
                .map_err(map)?;
        }
        ws.autofit();
        wb.save_to_buffer().map_err(map)
    }

    pub fn save(&self, path: &Path, format: ExportFormat) -> Result<()> {
        let map = |e: std::io::Error| CoreError::Export(format!("{}: {e}", path.display()));
        match format {
            ExportFormat::Csv => {
                let f = std::fs::File::create(path).map_err(map)?;
                let mut buf = std::io::BufWriter::new(f);
                self.write_csv(&mut buf)?;
                buf.flush().map_err(map)?;
                buf.get_ref().sync_all().map_err(map)?;
            }
            ExportFormat::Xlsx => std::fs::write(path, self.to_xlsx()?).map_err(map)?,
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_starts_with_bom_and_keeps_cyrillic() {
        let t = Table {
            title: "t".into(),
            headers: vec!["ФИО".into(), "Организация".into()],
            rows: vec![vec!["Чупшева Анна".into(), "ООО \"Ромашка\", отдел".into()]],
        };
        let mut buf = Vec::new();
        t.write_csv(&mut buf).unwrap();
        assert!(buf.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(buf[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "ФИО,Организация\nЧупшева Анна,\"ООО \"\"Ромашка\"\", отдел\"\n"
        );
    }

    #[test]
    fn xlsx_reads_back_with_calamine() {
        use calamine::{Reader, Xlsx};
        let t = Table {
            title: "Посещаемость".into(),
            headers: vec!["ФИО".into(), "Пришёл".into()],
            rows: vec![
                vec!["Чупшева Анна".into(), "09:14 (Вход A)".into()],
                vec!["Ilya Ivanov".into(), String::new()],
            ],
        };
        let bytes = t.to_xlsx().unwrap();
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["Посещаемость".to_string()]);
        let range = wb.worksheet_range("Посещаемость").unwrap();
        let cells: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(cells[0], vec!["ФИО", "Пришёл"]);
        assert_eq!(cells[1], vec!["Чупшева Анна", "09:14 (Вход A)"]);
        assert_eq!(cells[2][0], "Ilya Ivanov");
    }
}
